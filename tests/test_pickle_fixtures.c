/*
 * test_pickle_fixtures.c - the pickle machine against CPython, fixture by fixture.
 *
 * For every models/pickles/NAME.json (ug_list_fixtures):
 *   - every pickle of NAME.pkl is loaded in sequence (start = previous end) into one
 *     graph and compared with the JSON value (ug_compare); info.start / info.end /
 *     info.protocol are checked against the JSON;
 *   - this is done twice: (A) graph flags 0, out-of-band buffers NAME.bufK supplied
 *     through the next_buffer hook (UG_BUFFER_DATA); (B) CKPT_GRAPH_BORROW_INPUT and
 *     no hooks at all (UG_BUFFER_NODATA);
 *   - info.ops and info.opcode_count[] must equal what pickletools.genops listed in
 *     NAME.dis.json for that pickle (a linear machine executes every opcode once);
 *   - ckpt_pickle_disasm must list exactly the (offset, opcode name) pairs of
 *     NAME.dis.json and the same start/end/protocol.
 *
 * info.protocol: the JSON "protocol" when the pickle has PROTO; otherwise the
 * header promises "0/1 guessed by opcodes", so 1 when an opcode of protocol >= 1
 * was used (JSON max_opcode_proto >= 1), else 0.
 *
 * Disassembly arguments (NAME.dis.json has repr(arg) as pickletools prints it).
 * Compared exactly:
 *   - "" for opcodes without argument (and MEMOIZE);
 *   - integer arguments (PROTO, FRAME, PUT/GET and their binary forms, INT/BININT*,
 *     LONG/LONG1/LONG4, EXT1/2/4): the decimal text, and INT's "True"/"False";
 *   - str/bytes arguments (STRING, BINSTRING, SHORT_BINSTRING, UNICODE, BINUNICODE,
 *     SHORT_BINUNICODE, BINUNICODE8, PERSID, GLOBAL, INST, SHORT_BINBYTES, BINBYTES,
 *     BINBYTES8, BYTEARRAY8) when the repr is "simple": '...', b'...' or
 *     bytearray(b'...') whose body is printable ASCII without backslash or quotes.
 * Compared by value: FLOAT / BINFLOAT (strtod of both texts equal, nan == nan),
 * because a correct shortest-repr printer is not required of a C disassembler.
 * Not compared: str/bytes reprs with escapes, quotes or non-ASCII (Python's repr
 * quoting and str.isprintable rules); for those the argument must just be non-empty.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_pickle.h"
#include "util_graph.h"
#include "util_test.h"

typedef struct oob {
    uint8_t **data;
    size_t *len;
    size_t n;
    size_t calls;
} oob;

static ckpt_status next_buffer_cb(void *user, size_t index, const uint8_t **data, size_t *len,
                                  ckpt_error *err) {
    oob *o = user;
    o->calls++;
    if (index >= o->n)
        return ckpt_error_set(err, CKPT_E_NOTFOUND, -1, "test: no out-of-band buffer %zu", index);
    *data = o->data[index];
    *len = o->len[index];
    return CKPT_OK;
}

typedef struct dis_op {
    uint64_t offset;
    uint8_t code;
    char name[24];
    char *arg;
} dis_op;

typedef struct dis_list {
    dis_op *ops;
    size_t n, cap;
    int oom;
    int bad_name; /* op->name missing / different from ckpt_opcode_name(op->code) */
} dis_list;

static int dis_cb(void *user, const ckpt_disasm_op *op) {
    dis_list *d = user;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 256;
        dis_op *no = realloc(d->ops, nc * sizeof *no);
        if (!no) {
            d->oom = 1;
            return 1;
        }
        d->ops = no;
        d->cap = nc;
    }
    dis_op *o = &d->ops[d->n++];
    o->offset = op->offset;
    o->code = op->code;
    snprintf(o->name, sizeof o->name, "%s", op->name ? op->name : "(null)");
    if (!op->name || !ckpt_opcode_name(op->code) || strcmp(op->name, ckpt_opcode_name(op->code)))
        d->bad_name = 1;
    o->arg = strdup(op->arg ? op->arg : "(null)");
    if (!o->arg) d->oom = 1;
    return 0;
}

static void dis_free(dis_list *d) {
    for (size_t i = 0; i < d->n; i++) free(d->ops[i].arg);
    free(d->ops);
    memset(d, 0, sizeof *d);
}

static int in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
}

static const char *const INT_OPS[] = {"PROTO", "FRAME", "PUT", "GET", "BINPUT", "BINGET",
                                      "LONG_BINPUT", "LONG_BINGET", "INT", "BININT", "BININT1",
                                      "BININT2", "LONG", "LONG1", "LONG4", "EXT1", "EXT2", "EXT4",
                                      NULL};
static const char *const FLOAT_OPS[] = {"FLOAT", "BINFLOAT", NULL};
static const char *const TEXT_OPS[] = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE",
                                       "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "PERSID",
                                       "GLOBAL", "INST", "SHORT_BINBYTES", "BINBYTES",
                                       "BINBYTES8", "BYTEARRAY8", NULL};

/* '...' / b'...' / bytearray(b'...') with a printable ASCII body, no \ ' or ". */
static int simple_repr(const char *s) {
    size_t n = strlen(s);
    const char *body;
    size_t bl;
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
        body = s + 1;
        bl = n - 2;
    } else if (n >= 3 && s[0] == 'b' && s[1] == '\'' && s[n - 1] == '\'') {
        body = s + 2;
        bl = n - 3;
    } else if (n >= 14 && strncmp(s, "bytearray(b'", 12) == 0 && strcmp(s + n - 2, "')") == 0) {
        body = s + 12;
        bl = n - 14;
    } else {
        return 0;
    }
    for (size_t i = 0; i < bl; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c < 0x20 || c > 0x7e || c == '\\' || c == '\'' || c == '"') return 0;
    }
    return 1;
}

static int float_text_eq(const char *a, const char *b) {
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (ea == a || eb == b || *ea || *eb) return 0;
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return x == y && signbit(x) == signbit(y);
}

static size_t n_arg_exact, n_arg_float, n_arg_loose;

/* Compare one disassembled pickle with the dis.json list for it. */
static void check_disasm(const char *name, size_t k, const dis_list *d, const cJSON *exp) {
    size_t ne = (size_t)cJSON_GetArraySize(exp);
    CHECKF(d->n == ne, "%s pickle %zu: disasm lists %zu ops, pickletools %zu", name, k, d->n, ne);
    CHECKF(!d->bad_name, "%s pickle %zu: disasm op->name differs from ckpt_opcode_name", name, k);
    size_t i = 0;
    int bad = 0;
    for (const cJSON *e = exp ? exp->child : NULL; e && i < d->n && !bad; e = e->next, i++) {
        const dis_op *o = &d->ops[i];
        double off = cJSON_GetArrayItem(e, 0)->valuedouble;
        const char *en = cJSON_GetArrayItem(e, 1)->valuestring;
        const char *ea = cJSON_GetArrayItem(e, 2)->valuestring;
        if ((uint64_t)off != o->offset || strcmp(en, o->name) != 0) {
            CHECKF(0, "%s pickle %zu op %zu: expected (%.0f, %s), got (%llu, %s)", name, k, i, off,
                   en, (unsigned long long)o->offset, o->name);
            bad = 1;
            break;
        }
        int ok;
        if (ea[0] == '\0' && !in_list(en, INT_OPS) && !in_list(en, TEXT_OPS) &&
            !in_list(en, FLOAT_OPS)) {
            ok = o->arg[0] == '\0';
            n_arg_exact++;
        } else if (in_list(en, INT_OPS)) {
            ok = strcmp(ea, o->arg) == 0;
            n_arg_exact++;
        } else if (in_list(en, FLOAT_OPS)) {
            ok = float_text_eq(ea, o->arg);
            n_arg_float++;
        } else if (in_list(en, TEXT_OPS) && simple_repr(ea)) {
            ok = strcmp(ea, o->arg) == 0;
            n_arg_exact++;
        } else {
            ok = o->arg[0] != '\0';
            n_arg_loose++;
        }
        if (!ok) {
            CHECKF(0, "%s pickle %zu op %zu (%s at %llu): arg expected [%s], got [%s]", name, k, i,
                   en, (unsigned long long)o->offset, ea, o->arg);
            bad = 1;
        }
    }
    if (!bad && d->n == ne) CHECK(1);
}

/* ---- JSON without cJSON's nesting limit ----
 * cJSON_Parse refuses more than CJSON_NESTING_LIMIT (1000) levels, and the *_deep
 * fixtures (a list nested 600 deep = 1200 JSON levels) need more.  When cJSON_Parse
 * fails, the file is parsed here with an explicit stack into ordinary cJSON nodes. */
static void put_utf8(char **o, unsigned long cp) {
    unsigned char *q = (unsigned char *)*o;
    if (cp < 0x80) {
        *q++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *q++ = (unsigned char)(0xc0 | (cp >> 6));
        *q++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *q++ = (unsigned char)(0xe0 | (cp >> 12));
        *q++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *q++ = (unsigned char)(0xf0 | (cp >> 18));
        *q++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *q++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)q;
}

static int hex4(const char *p, unsigned long *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = (c >= '0' && c <= '9') ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) return 0;
        *v = *v * 16 + (unsigned long)d;
    }
    return 1;
}

/* *pp at the opening quote; malloc'd UTF-8 string, *pp after the closing quote. */
static char *json_string(const char **pp) {
    const char *p = *pp + 1, *e = p;
    while (*e && *e != '"') e += (*e == '\\' && e[1]) ? 2 : 1;
    if (*e != '"') return NULL;
    char *out = malloc((size_t)(e - p) + 1), *o = out; /* escapes never grow */
    if (!out) return NULL;
    while (p < e) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        char c = p[1];
        p += 2;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned long cp, lo;
            if (e - p < 4 || !hex4(p, &cp)) { free(out); return NULL; }
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                hex4(p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = c; break; /* " \ / */
        }
    }
    *o = '\0';
    *pp = e + 1;
    return out;
}

static cJSON *json_parse_deep(const char *s) {
    cJSON **stk = NULL, *root = NULL;
    size_t ns = 0, cap = 0;
    char *key = NULL;
    int after = 0; /* 0: a value is expected, 1: a value was just completed */
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
        cJSON *top = ns ? stk[ns - 1] : NULL;
        if (after) {
            if (!top) {
                if (*p) goto fail;
                free(stk);
                return root;
            }
            if (*p == ',') {
                p++;
                after = 0;
            } else if ((cJSON_IsArray(top) && *p == ']') || (cJSON_IsObject(top) && *p == '}')) {
                p++;
                ns--;
            } else {
                goto fail;
            }
            continue;
        }
        if (top && cJSON_IsObject(top) && !key) {
            if (*p == '}' && !top->child) {
                p++;
                ns--;
                after = 1;
                continue;
            }
            if (*p != '"' || !(key = json_string(&p))) goto fail;
            while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
            if (*p++ != ':') goto fail;
            continue;
        }
        if (top && cJSON_IsArray(top) && *p == ']' && !top->child) {
            p++;
            ns--;
            after = 1;
            continue;
        }
        cJSON *v = NULL;
        int container = 0;
        if (*p == '{' || *p == '[') {
            v = *p == '{' ? cJSON_CreateObject() : cJSON_CreateArray();
            p++;
            container = 1;
        } else if (*p == '"') {
            char *str = json_string(&p);
            if (!str) goto fail;
            v = cJSON_CreateString(str);
            free(str);
        } else if (strncmp(p, "true", 4) == 0) {
            v = cJSON_CreateTrue();
            p += 4;
        } else if (strncmp(p, "false", 5) == 0) {
            v = cJSON_CreateFalse();
            p += 5;
        } else if (strncmp(p, "null", 4) == 0) {
            v = cJSON_CreateNull();
            p += 4;
        } else {
            char *end;
            double d = strtod(p, &end);
            if (end == p) goto fail;
            v = cJSON_CreateNumber(d);
            p = end;
        }
        if (!v) goto fail;
        if (!top) {
            root = v;
        } else if (cJSON_IsObject(top)) {
            cJSON_AddItemToObject(top, key, v);
            free(key);
            key = NULL;
        } else {
            cJSON_AddItemToArray(top, v);
        }
        if (container) {
            if (ns == cap) {
                size_t nc = cap ? cap * 2 : 64;
                cJSON **n2 = realloc(stk, nc * sizeof *n2);
                if (!n2) goto fail;
                stk = n2;
                cap = nc;
            }
            stk[ns++] = v;
        } else {
            after = 1;
        }
    }
fail:
    free(key);
    free(stk);
    cJSON_Delete(root);
    return NULL;
}

/* cJSON_Parse, falling back to json_parse_deep for nesting beyond cJSON's limit. */
static cJSON *load_json_any(const char *path) {
    size_t n = 0;
    char *txt = tu_read_file(path, &n);
    if (!txt) {
        CHECKF(0, "cannot read %s", path);
        return NULL;
    }
    cJSON *j = cJSON_Parse(txt);
    if (!j) j = json_parse_deep(txt);
    CHECKF(j != NULL, "cannot parse %s", path);
    free(txt);
    return j;
}

static int expected_protocol(const cJSON *p) {
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "protocol");
    if (cJSON_IsNumber(pr)) return pr->valueint;
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(p, "max_opcode_proto");
    return (cJSON_IsNumber(mx) && mx->valueint >= 1) ? 1 : 0;
}

/* Per-opcode counts of one dis.json pickle (by the byte at each offset). */
static void count_dis(const cJSON *dis_p, const uint8_t *pkl, size_t len, uint64_t counts[256],
                      uint64_t *total) {
    memset(counts, 0, 256 * sizeof counts[0]);
    *total = 0;
    for (const cJSON *e = dis_p ? dis_p->child : NULL; e; e = e->next) {
        double off = cJSON_GetArrayItem(e, 0)->valuedouble;
        if (off >= 0 && (size_t)off < len) counts[pkl[(size_t)off]]++;
        (*total)++;
    }
}

static void run_fixture(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "pickles/%s.json", name);
    cJSON *j = load_json_any(tu_model_path(rel));
    snprintf(rel, sizeof rel, "pickles/%s.dis.json", name);
    cJSON *dj = tu_load_json(tu_model_path(rel));
    if (!j || !dj) {
        CHECKF(0, "%s: JSON missing", name);
        cJSON_Delete(j);
        cJSON_Delete(dj);
        return;
    }
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(j, "file");
    const cJSON *pickles = cJSON_GetObjectItemCaseSensitive(j, "pickles");
    const cJSON *dis_pickles = cJSON_GetObjectItemCaseSensitive(dj, "pickles");
    const cJSON *bufs = cJSON_GetObjectItemCaseSensitive(j, "buffers");
    snprintf(rel, sizeof rel, "pickles/%s", cJSON_IsString(file) ? file->valuestring : "?");
    size_t len = 0;
    uint8_t *pkl = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(pkl != NULL, "%s: cannot read %s", name, rel);
    size_t np = (size_t)cJSON_GetArraySize(pickles);
    CHECKF(np >= 1 && (size_t)cJSON_GetArraySize(dis_pickles) == np,
           "%s: %zu pickles in JSON, %d in dis.json", name, np, cJSON_GetArraySize(dis_pickles));

    oob o = {0};
    o.n = (size_t)cJSON_GetArraySize(bufs);
    if (o.n) {
        o.data = calloc(o.n, sizeof *o.data);
        o.len = calloc(o.n, sizeof *o.len);
        size_t i = 0;
        for (const cJSON *b = bufs->child; b; b = b->next, i++) {
            snprintf(rel, sizeof rel, "pickles/%s", b->valuestring);
            o.data[i] = (uint8_t *)tu_read_file(tu_model_path(rel), &o.len[i]);
            CHECKF(o.data[i] != NULL, "%s: cannot read %s", name, rel);
        }
    }

    for (int mode = 0; pkl && mode < 2; mode++) {
        ckpt_graph *g = NULL;
        ckpt_status st = ckpt_graph_new(NULL, NULL, mode ? CKPT_GRAPH_BORROW_INPUT : 0, &g);
        CHECK_STATUS(st, CKPT_OK);
        if (st != CKPT_OK) break;
        ckpt_pickle_hooks hooks;
        memset(&hooks, 0, sizeof hooks);
        hooks.user = &o;
        hooks.next_buffer = next_buffer_cb;
        o.calls = 0;
        size_t pos = 0, k = 0;
        const cJSON *dp = dis_pickles ? dis_pickles->child : NULL;
        for (const cJSON *p = pickles ? pickles->child : NULL; p; p = p->next, k++) {
            ckpt_value *root = NULL;
            ckpt_pickle_info info;
            ckpt_error err;
            memset(&info, 0xa5, sizeof info);
            ckpt_error_clear(&err);
            st = ckpt_pickle_load(g, pkl, len, pos, mode ? NULL : &hooks, &root, &info, &err);
            CHECKF(st == CKPT_OK, "%s pickle %zu (mode %d): status %d: %s", name, k, mode, (int)st,
                   err.message);
            if (st != CKPT_OK) break;
            double es = cJSON_GetObjectItemCaseSensitive(p, "start")->valuedouble;
            double ee = cJSON_GetObjectItemCaseSensitive(p, "end")->valuedouble;
            CHECKF(info.start == (uint64_t)es, "%s pickle %zu: start %llu, expected %.0f", name, k,
                   (unsigned long long)info.start, es);
            CHECKF(info.end == (uint64_t)ee, "%s pickle %zu: end %llu, expected %.0f", name, k,
                   (unsigned long long)info.end, ee);
            CHECKF(info.protocol == expected_protocol(p), "%s pickle %zu: protocol %d, expected %d",
                   name, k, info.protocol, expected_protocol(p));
            uint64_t want[256], total, sum = 0;
            count_dis(dp, pkl, len, want, &total);
            int cnt_ok = 1;
            for (int c = 0; c < 256; c++) {
                sum += info.opcode_count[c];
                if (info.opcode_count[c] != want[c]) {
                    CHECKF(0, "%s pickle %zu: opcode 0x%02x executed %llu times, pickletools %llu",
                           name, k, c, (unsigned long long)info.opcode_count[c],
                           (unsigned long long)want[c]);
                    cnt_ok = 0;
                    break;
                }
            }
            if (cnt_ok) CHECK(1);
            CHECKF(info.ops == total && sum == total, "%s pickle %zu: ops %llu (sum %llu), want %llu",
                   name, k, (unsigned long long)info.ops, (unsigned long long)sum,
                   (unsigned long long)total);

            char msg[512];
            char path[64];
            snprintf(path, sizeof path, "pickles[%zu]", k);
            int same = ug_compare(g, root, cJSON_GetObjectItemCaseSensitive(p, "value"),
                                  mode ? UG_BUFFER_NODATA : UG_BUFFER_DATA, path, msg, sizeof msg);
            CHECKF(same, "%s (mode %d): %s", name, mode, msg);

            if (mode == 0) {
                dis_list d = {0};
                ckpt_pickle_info di;
                ckpt_error derr;
                memset(&di, 0, sizeof di);
                ckpt_error_clear(&derr);
                ckpt_status ds = ckpt_pickle_disasm(pkl, len, pos, dis_cb, &d, &di, &derr);
                CHECKF(ds == CKPT_OK && !d.oom, "%s pickle %zu: disasm status %d: %s", name, k,
                       (int)ds, derr.message);
                CHECKF(di.start == info.start && di.end == info.end &&
                           di.protocol == info.protocol,
                       "%s pickle %zu: disasm start/end/protocol %llu/%llu/%d vs load %llu/%llu/%d",
                       name, k, (unsigned long long)di.start, (unsigned long long)di.end,
                       di.protocol, (unsigned long long)info.start, (unsigned long long)info.end,
                       info.protocol);
                check_disasm(name, k, &d, dp);
                dis_free(&d);
            }
            pos = (size_t)info.end;
            if (dp) dp = dp->next;
        }
        if (k == np) {
            CHECKF(pos == len, "%s: last pickle ends at %zu, file has %zu bytes", name, pos, len);
            /* every NEXT_BUFFER asked the hook exactly once per buffer record */
            if (mode == 0) CHECKF(o.calls == o.n, "%s: next_buffer called %zu times for %zu buffers",
                                  name, o.calls, o.n);
        }
        ckpt_graph_free(g);
    }
    for (size_t i = 0; i < o.n; i++) free(o.data[i]);
    free(o.data);
    free(o.len);
    free(pkl);
    cJSON_Delete(j);
    cJSON_Delete(dj);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    char **names = NULL;
    size_t n = ug_list_fixtures(tu_model_path("pickles"), &names);
    CHECKF(n >= 100, "only %zu pickle fixtures found", n);
    for (size_t i = 0; i < n; i++) run_fixture(names[i]);
    printf("%zu fixtures; disasm args compared exactly %zu, as float values %zu, loosely %zu\n", n,
           n_arg_exact, n_arg_float, n_arg_loose);
    CHECK(n_arg_exact > 1000 && n_arg_float > 0);
    ug_free_names(names, n);
    return tu_finish();
}
