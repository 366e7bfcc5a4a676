/*
 * util_graph.c - compare a ckpt graph with the JSON form of models/README.md.
 *
 * Walk: every node to compare is a frame {graph node, JSON node, parent frame,
 * label}; frames are kept (for the path of a mismatch) and an explicit stack
 * of frame indices gives the pre-order, children pushed in reverse.  Tracked
 * JSON nodes (containers, objects, buffers) must map to graph nodes not seen
 * before; {"t":"ref","id":N} must be the very node mapped for id N.
 */
#include "util_graph.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ug_frame {
    const ckpt_value *v;
    const cJSON *e;
    size_t parent; /* SIZE_MAX for the root */
    char label[48];
} ug_frame;

typedef struct ug_walk {
    const ckpt_graph *g;
    unsigned flags;
    ug_frame *frames;
    size_t nf, capf;
    size_t *stack;
    size_t ns, caps;
    unsigned char *seen; /* graph node id -> matched a tracked JSON node */
    uint64_t nseen;
    const ckpt_value **ids; /* JSON id -> graph node */
    size_t nids;
    const char *root_path;
    char *msg;
    size_t msg_size;
} ug_walk;

int ug_hex_decode(const char *hex, uint8_t **out, size_t *len) {
    size_t n = hex ? strlen(hex) : 0;
    *out = NULL;
    *len = 0;
    if (n % 2) return 0;
    if (n == 0) return 1;
    uint8_t *b = malloc(n / 2);
    if (!b) return 0;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            unsigned d;
            if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
            else { free(b); return 0; }
            v = v * 16 + d;
        }
        b[i] = (uint8_t)v;
    }
    *out = b;
    *len = n / 2;
    return 1;
}

static const char *jstr(const cJSON *e, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static const cJSON *jget(const cJSON *e, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(e, key);
}

static const char *kname(const ckpt_value *v) {
    if (!v) return "NULL";
    const char *s = ckpt_kind_name(ckpt_value_kind(v));
    return s ? s : "?";
}

/* Write "path: message" for frame `fi` (or the root when fi == SIZE_MAX). */
static int fail(ug_walk *w, size_t fi, const char *fmt, ...) {
    size_t depth = 0;
    for (size_t i = fi; i != SIZE_MAX; i = w->frames[i].parent) depth++;
    size_t *chain = depth ? malloc(depth * sizeof *chain) : NULL;
    size_t k = depth;
    if (chain)
        for (size_t i = fi; i != SIZE_MAX; i = w->frames[i].parent) chain[--k] = i;
    size_t off = 0;
    int r = snprintf(w->msg, w->msg_size, "%s", w->root_path);
    off = r > 0 ? (size_t)r : 0;
    for (size_t j = 0; chain && j < depth && off < w->msg_size; j++) {
        r = snprintf(w->msg + off, w->msg_size - off, "%s", w->frames[chain[j]].label);
        if (r > 0) off += (size_t)r;
    }
    free(chain);
    if (off < w->msg_size) {
        r = snprintf(w->msg + off, w->msg_size - off, ": ");
        if (r > 0) off += (size_t)r;
    }
    if (off < w->msg_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg + off, w->msg_size - off, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* Append a frame (not yet on the stack); SIZE_MAX when out of memory. */
static size_t add_frame(ug_walk *w, const ckpt_value *v, const cJSON *e, size_t parent,
                        const char *fmt, ...) {
    if (w->nf == w->capf) {
        size_t cap = w->capf ? w->capf * 2 : 256;
        ug_frame *f = realloc(w->frames, cap * sizeof *f);
        if (!f) return SIZE_MAX;
        w->frames = f;
        w->capf = cap;
    }
    ug_frame *f = &w->frames[w->nf];
    f->v = v;
    f->e = e;
    f->parent = parent;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->label, sizeof f->label, fmt, ap);
    va_end(ap);
    return w->nf++;
}

static int push_range(ug_walk *w, size_t first, size_t count) {
    if (count > SIZE_MAX / 2 - w->ns) return 0;
    if (w->ns + count > w->caps) {
        size_t cap = w->caps ? w->caps : 256;
        while (cap < w->ns + count) cap *= 2;
        size_t *s = realloc(w->stack, cap * sizeof *s);
        if (!s) return 0;
        w->stack = s;
        w->caps = cap;
    }
    for (size_t i = count; i-- > 0;) w->stack[w->ns++] = first + i; /* reverse: pre-order */
    return 1;
}

/* Label of a dict value: ["key"] for str keys, [#i] otherwise. */
static void dict_label(char *buf, size_t n, const cJSON *key, size_t i) {
    const char *s = jstr(key, "v");
    const char *t = jstr(key, "t");
    if (t && strcmp(t, "str") == 0 && s) snprintf(buf, n, "[\"%.24s\"]", s);
    else snprintf(buf, n, "[#%zu]", i);
}

static int bytes_eq_hex(const uint8_t *p, size_t n, const char *hex, char *why, size_t wn) {
    uint8_t *want;
    size_t wl;
    if (!ug_hex_decode(hex, &want, &wl)) {
        snprintf(why, wn, "bad hex in JSON");
        return 0;
    }
    int ok = wl == n && (n == 0 || (p && memcmp(p, want, n) == 0));
    if (!ok) {
        size_t i = 0;
        while (i < n && i < wl && p && p[i] == want[i]) i++;
        snprintf(why, wn, "expected %zu bytes, got %zu (first difference at byte %zu)", wl, n, i);
    }
    free(want);
    return ok;
}

static int str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/*
 * Compare a leaf (none/bool/int/float/str/bytes/bytearray/global).  Returns 1
 * when equal, 0 with `why` filled, -1 when `e` is not a leaf kind.
 */
static int cmp_leaf(const ckpt_value *v, const cJSON *e, char *why, size_t wn) {
    const char *t = jstr(e, "t");
    ckpt_kind k = ckpt_value_kind(v);
    if (!t) {
        snprintf(why, wn, "JSON node without \"t\"");
        return 0;
    }
#define WANT_KIND(kind_)                                                                      \
    do {                                                                                      \
        if (!v || k != (kind_)) {                                                             \
            snprintf(why, wn, "expected %s, got %s", t, kname(v));                          \
            return 0;                                                                         \
        }                                                                                     \
    } while (0)
    if (strcmp(t, "none") == 0) {
        WANT_KIND(CKPT_K_NONE);
        return 1;
    }
    if (strcmp(t, "bool") == 0) {
        WANT_KIND(CKPT_K_BOOL);
        int want = cJSON_IsTrue(jget(e, "v"));
        if (!!ckpt_value_bool(v) != want) {
            snprintf(why, wn, "expected bool %s", want ? "True" : "False");
            return 0;
        }
        return 1;
    }
    if (strcmp(t, "int") == 0) {
        WANT_KIND(CKPT_K_INT);
        const char *dec = jstr(e, "v");
        size_t blen = 0;
        const uint8_t *b = ckpt_value_int_bytes(v, &blen);
        char sub[160];
        if (!bytes_eq_hex(b, blen, jstr(e, "hex"), sub, sizeof sub)) {
            snprintf(why, wn, "int %.60s: two's complement bytes differ: %s", dec ? dec : "?",
                     sub);
            return 0;
        }
        char *end = NULL;
        errno = 0;
        long long want = strtoll(dec ? dec : "", &end, 10);
        int fits = dec && *dec && errno == 0 && end && *end == '\0';
        int64_t got = 0;
        ckpt_status st = ckpt_value_int64(v, &got);
        if (fits && (st != CKPT_OK || got != (int64_t)want)) {
            snprintf(why, wn, "int %s: ckpt_value_int64 gave status %d value %lld", dec, (int)st,
                     (long long)got);
            return 0;
        }
        if (!fits && st != CKPT_E_RANGE) {
            snprintf(why, wn, "int %.60s does not fit int64 but ckpt_value_int64 gave status %d",
                     dec ? dec : "?", (int)st);
            return 0;
        }
        return 1;
    }
    if (strcmp(t, "float") == 0) {
        WANT_KIND(CKPT_K_FLOAT);
        const char *s = jstr(e, "v");
        double want = strtod(s ? s : "nan", NULL), got = ckpt_value_float(v);
        int ok = (isnan(want) && isnan(got)) || memcmp(&want, &got, sizeof want) == 0;
        if (!ok) {
            snprintf(why, wn, "expected float %s, got %.17g", s ? s : "?", got);
            return 0;
        }
        return 1;
    }
    if (strcmp(t, "str") == 0 || strcmp(t, "bytes") == 0 || strcmp(t, "bytearray") == 0) {
        ckpt_kind want = t[0] == 's' ? CKPT_K_STR : strcmp(t, "bytes") == 0 ? CKPT_K_BYTES
                                                                           : CKPT_K_BYTEARRAY;
        WANT_KIND(want);
        size_t n = 0;
        const uint8_t *p = ckpt_value_bytes(v, &n);
        char sub[160];
        if (!bytes_eq_hex(p, n, jstr(e, "hex"), sub, sizeof sub)) {
            const char *txt = jstr(e, "v");
            snprintf(why, wn, "%s %s%.40s%s: %s", t, txt ? "\"" : "", txt ? txt : "",
                     txt ? "\"" : "", sub);
            return 0;
        }
        return 1;
    }
    if (strcmp(t, "global") == 0) {
        WANT_KIND(CKPT_K_GLOBAL);
        const char *mod = jstr(e, "module"), *name = jstr(e, "name");
        const cJSON *ext = jget(e, "ext");
        if (cJSON_IsNumber(ext)) {
            /* the extension registry is Python process state: only the code is in the file */
            if (ckpt_value_ext_code(v) != (int32_t)ext->valuedouble) {
                snprintf(why, wn, "expected extension code %d, got %d", (int)ext->valuedouble,
                         (int)ckpt_value_ext_code(v));
                return 0;
            }
            return 1;
        }
        if (!str_eq(ckpt_value_module(v), mod) || !str_eq(ckpt_value_name(v), name)) {
            const char *gm = ckpt_value_module(v), *gn = ckpt_value_name(v);
            snprintf(why, wn, "expected global %s.%s, got %s.%s", mod ? mod : "?",
                     name ? name : "?", gm ? gm : "(null)", gn ? gn : "(null)");
            return 0;
        }
        char canon[512];
        const char *want_c = jstr(e, "canonical");
        if (!want_c) {
            snprintf(canon, sizeof canon, "%s.%s", mod, name);
            want_c = canon;
        }
        if (!str_eq(ckpt_value_canonical(v), want_c)) {
            const char *gc = ckpt_value_canonical(v);
            snprintf(why, wn, "global %.60s.%.60s: expected canonical %.80s, got %.80s", mod, name, want_c,
                     gc ? gc : "(null)");
            return 0;
        }
        if (ckpt_value_ext_code(v) != 0) {
            snprintf(why, wn, "global %s.%s has extension code %d", mod, name,
                     (int)ckpt_value_ext_code(v));
            return 0;
        }
        return 1;
    }
#undef WANT_KIND
    return -1;
}

/* Unordered match of a set whose expected items are all leaves; -1 if not all leaves. */
static int cmp_set_leaves(ug_walk *w, size_t fi) {
    const ckpt_value *v = w->frames[fi].v;
    const cJSON *items = jget(w->frames[fi].e, "items");
    size_t n = (size_t)cJSON_GetArraySize(items);
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        const char *t = jstr(it, "t");
        if (!t || strcmp(t, "tuple") == 0 || strcmp(t, "frozenset") == 0 ||
            strcmp(t, "ref") == 0 || strcmp(t, "object") == 0 || strcmp(t, "persid") == 0 ||
            strcmp(t, "list") == 0 || strcmp(t, "dict") == 0 || strcmp(t, "set") == 0 ||
            strcmp(t, "buffer") == 0 || strcmp(t, "bytearray") == 0)
            return -1;
    }
    unsigned char *used = calloc(n ? n : 1, 1);
    if (!used) return fail(w, fi, "out of memory");
    size_t j = 0;
    cJSON_ArrayForEach(it, items) {
        char why[256];
        size_t a = 0;
        for (; a < n; a++)
            if (!used[a] && cmp_leaf(ckpt_value_item(v, a), it, why, sizeof why) == 1) break;
        if (a == n) {
            char *txt = cJSON_PrintUnformatted(it);
            fail(w, fi, "set item #%zu %.120s not found in the graph's set", j,
                 txt ? txt : "?");
            free(txt);
            free(used);
            return 0;
        }
        used[a] = 1;
        j++;
    }
    free(used);
    return 1;
}

static int is_tracked(const char *t, const cJSON *e) {
    if (strcmp(t, "tuple") == 0) return cJSON_GetArraySize(jget(e, "items")) > 0;
    return strcmp(t, "list") == 0 || strcmp(t, "dict") == 0 || strcmp(t, "set") == 0 ||
           strcmp(t, "frozenset") == 0 || strcmp(t, "bytearray") == 0 ||
           strcmp(t, "object") == 0 || strcmp(t, "buffer") == 0;
}

/* Identity bookkeeping for a tracked JSON node. */
static int track(ug_walk *w, size_t fi) {
    const ckpt_value *v = w->frames[fi].v;
    uint64_t id = ckpt_value_id(v);
    if (id >= w->nseen)
        return fail(w, fi, "node id %llu >= ckpt_graph_node_count %llu", (unsigned long long)id,
                    (unsigned long long)w->nseen);
    if (w->seen[id])
        return fail(w, fi, "%s node #%llu is shared here, but Python has a distinct object",
                    kname(v), (unsigned long long)id);
    w->seen[id] = 1;
    const cJSON *jid = jget(w->frames[fi].e, "id");
    if (cJSON_IsNumber(jid)) {
        double d = jid->valuedouble;
        if (d < 0 || d > 1e7) return fail(w, fi, "bad JSON id");
        size_t n = (size_t)d;
        if (n >= w->nids) {
            size_t cap = n + 64;
            const ckpt_value **ids = realloc((void *)w->ids, cap * sizeof *ids);
            if (!ids) return fail(w, fi, "out of memory");
            for (size_t i = w->nids; i < cap; i++) ids[i] = NULL;
            w->ids = ids;
            w->nids = cap;
        }
        w->ids[n] = v;
    }
    return 1;
}

/* Add frames for the items of a JSON array against graph container `c` (item i,
   or key/value of pair i); frames are contiguous, *count is increased. */
static int add_items(ug_walk *w, size_t fi, const ckpt_value *c, const cJSON *items, int pairs,
                     const char *prefix, size_t *count) {
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        size_t a, b = 0;
        if (pairs) {
            char lab[64];
            dict_label(lab, sizeof lab, cJSON_GetArrayItem(it, 0), i);
            a = add_frame(w, ckpt_value_dict_key(c, i), cJSON_GetArrayItem(it, 0), fi,
                          "%s.key[%zu]", prefix, i);
            if (a != SIZE_MAX)
                b = add_frame(w, ckpt_value_dict_val(c, i), cJSON_GetArrayItem(it, 1), fi, "%s%s",
                              prefix, lab);
            *count += 2;
        } else {
            a = add_frame(w, ckpt_value_item(c, i), it, fi, "%s[%zu]", prefix, i);
            *count += 1;
        }
        if (a == SIZE_MAX || b == SIZE_MAX) return fail(w, fi, "out of memory");
        i++;
    }
    return 1;
}

static const char *call_name(ckpt_call_kind c) {
    switch (c) {
    case CKPT_CALL_REDUCE: return "reduce";
    case CKPT_CALL_NEWOBJ: return "newobj";
    case CKPT_CALL_NEWOBJ_EX: return "newobj_ex";
    case CKPT_CALL_INST: return "inst";
    case CKPT_CALL_OBJ: return "obj";
    case CKPT_CALL_BUILD_ONLY: return "build_only";
    }
    return "?";
}

static int visit_object(ug_walk *w, size_t fi) {
    const ckpt_value *v = w->frames[fi].v;
    const cJSON *e = w->frames[fi].e;
    const char *call = jstr(e, "call");
    if (!str_eq(call, call_name(ckpt_value_call_kind(v))))
        return fail(w, fi, "expected call kind %s, got %s", call ? call : "?",
                    call_name(ckpt_value_call_kind(v)));
    const cJSON *kw = jget(e, "kwargs");
    int has_kw = kw && !cJSON_IsNull(kw);
    if (!has_kw && ckpt_value_kwargs(v))
        return fail(w, fi, "object has kwargs (%s), Python had none", kname(ckpt_value_kwargs(v)));
    const cJSON *states = jget(e, "state"), *li = jget(e, "listitems"), *di = jget(e, "dictitems");
    size_t ns = (size_t)cJSON_GetArraySize(states);
    if (ckpt_value_state_count(v) != ns)
        return fail(w, fi, "expected %zu BUILD states, got %zu", ns, ckpt_value_state_count(v));
    const ckpt_value *ol = ckpt_value_obj_list(v), *od = ckpt_value_obj_dict(v);
    size_t nl = (size_t)cJSON_GetArraySize(li), nd = (size_t)cJSON_GetArraySize(di);
    if (nl == 0 && ol && ckpt_value_len(ol) != 0)
        return fail(w, fi, "object has %zu appended items, Python had none", ckpt_value_len(ol));
    if (nl && (!ol || ckpt_value_kind(ol) != CKPT_K_LIST || ckpt_value_len(ol) != nl))
        return fail(w, fi, "expected %zu appended items, got %s of %zu", nl, kname(ol),
                    ckpt_value_len(ol));
    if (nd == 0 && od && ckpt_value_len(od) != 0)
        return fail(w, fi, "object has %zu set items, Python had none", ckpt_value_len(od));
    if (nd && (!od || ckpt_value_kind(od) != CKPT_K_DICT || ckpt_value_len(od) != nd))
        return fail(w, fi, "expected %zu set items, got %s of %zu", nd, kname(od),
                    ckpt_value_len(od));
    /* children in pre-order: callable, args, kwargs, states, listitems, dictitems */
    size_t first = w->nf, count = 2;
    int ok = add_frame(w, ckpt_value_callable(v), jget(e, "callable"), fi, ".callable") != SIZE_MAX;
    ok = ok && add_frame(w, ckpt_value_args(v), jget(e, "args"), fi, ".args") != SIZE_MAX;
    if (ok && has_kw) {
        ok = add_frame(w, ckpt_value_kwargs(v), kw, fi, ".kwargs") != SIZE_MAX;
        count++;
    }
    for (size_t i = 0; ok && i < ns; i++, count++)
        ok = add_frame(w, ckpt_value_state_at(v, i), cJSON_GetArrayItem(states, (int)i), fi,
                       ".state[%zu]", i) != SIZE_MAX;
    if (!ok) return fail(w, fi, "out of memory");
    if (nl && !add_items(w, fi, ol, li, 0, ".listitems", &count)) return 0;
    if (nd && !add_items(w, fi, od, di, 1, ".dictitems", &count)) return 0;
    if (!push_range(w, first, count)) return fail(w, fi, "out of memory");
    return 1;
}

static int visit(ug_walk *w, size_t fi) {
    const ckpt_value *v = w->frames[fi].v;
    const cJSON *e = w->frames[fi].e;
    const char *t = jstr(e, "t");
    if (!t) return fail(w, fi, "JSON node without \"t\"");
    if (strcmp(t, "ref") == 0) {
        const cJSON *jid = jget(e, "id");
        size_t n = cJSON_IsNumber(jid) && jid->valuedouble >= 0 ? (size_t)jid->valuedouble : 0;
        if (n >= w->nids || !w->ids[n]) return fail(w, fi, "JSON ref %zu before its node", n);
        if (v != w->ids[n])
            return fail(w, fi, "expected the node of id %zu (%s #%llu), got %s #%llu", n,
                        kname(w->ids[n]), (unsigned long long)ckpt_value_id(w->ids[n]), kname(v),
                        (unsigned long long)ckpt_value_id(v));
        return 1;
    }
    char why[400];
    int r = cmp_leaf(v, e, why, sizeof why);
    if (r == 0) return fail(w, fi, "%s", why);
    if (r == 1) {
        if (strcmp(t, "bytearray") == 0) return track(w, fi);
        return 1;
    }
    static const struct { const char *t; ckpt_kind k; } kinds[] = {
        {"tuple", CKPT_K_TUPLE}, {"list", CKPT_K_LIST}, {"dict", CKPT_K_DICT},
        {"set", CKPT_K_SET}, {"frozenset", CKPT_K_FROZENSET}, {"object", CKPT_K_OBJECT},
        {"persid", CKPT_K_PERSID}, {"buffer", CKPT_K_BUFFER}};
    size_t ki = 0;
    while (ki < sizeof kinds / sizeof kinds[0] && strcmp(kinds[ki].t, t) != 0) ki++;
    if (ki == sizeof kinds / sizeof kinds[0]) return fail(w, fi, "unknown JSON kind %s", t);
    if (!v || ckpt_value_kind(v) != kinds[ki].k)
        return fail(w, fi, "expected %s, got %s", t, kname(v));
    if (is_tracked(t, e) && !track(w, fi)) return 0;
    if (strcmp(t, "object") == 0) return visit_object(w, fi);
    if (strcmp(t, "persid") == 0) {
        size_t c = add_frame(w, ckpt_value_persid(v), jget(e, "pid"), fi, ".pid");
        if (c == SIZE_MAX || !push_range(w, c, 1)) return fail(w, fi, "out of memory");
        return 1;
    }
    if (strcmp(t, "buffer") == 0) {
        const cJSON *idx = jget(e, "index");
        size_t want = cJSON_IsNumber(idx) ? (size_t)idx->valuedouble : 0;
        if (ckpt_value_buffer_index(v) != want)
            return fail(w, fi, "expected buffer index %zu, got %zu", want,
                        ckpt_value_buffer_index(v));
        int ro = cJSON_IsTrue(jget(e, "readonly"));
        if (!!ckpt_value_buffer_readonly(v) != ro)
            return fail(w, fi, "expected buffer %s", ro ? "readonly" : "writable");
        size_t n = 0;
        const uint8_t *p = ckpt_value_buffer_data(v, &n);
        if ((w->flags & UG_BUFFER_NODATA) && (p || n))
            return fail(w, fi, "buffer has data although none was supplied");
        if (w->flags & UG_BUFFER_DATA) {
            const char *hex = jstr(e, "hex");
            if (!p && hex && hex[0]) return fail(w, fi, "buffer has no data");
            if (!bytes_eq_hex(p, n, hex, why, sizeof why)) return fail(w, fi, "buffer %s", why);
        }
        return 1;
    }
    const cJSON *items = jget(e, "items");
    size_t n = (size_t)cJSON_GetArraySize(items);
    if (ckpt_value_len(v) != n)
        return fail(w, fi, "expected %s of %zu, got %zu", t, n, ckpt_value_len(v));
    if (strcmp(t, "set") == 0 || strcmp(t, "frozenset") == 0) {
        r = cmp_set_leaves(w, fi);
        if (r >= 0) return r;
    }
    size_t first = w->nf, count = 0;
    if (!add_items(w, fi, v, items, strcmp(t, "dict") == 0, "", &count)) return 0;
    if (!push_range(w, first, count)) return fail(w, fi, "out of memory");
    return 1;
}

int ug_compare(const ckpt_graph *g, const ckpt_value *root, const cJSON *expect, unsigned flags,
               const char *path, char *msg, size_t msg_size) {
    ug_walk w;
    memset(&w, 0, sizeof w);
    w.g = g;
    w.flags = flags;
    w.root_path = path ? path : "value";
    w.msg = msg;
    w.msg_size = msg_size;
    if (msg_size) msg[0] = '\0';
    w.nseen = ckpt_graph_node_count(g);
    w.seen = calloc(w.nseen ? (size_t)w.nseen : 1, 1);
    int ok = w.seen != NULL;
    if (!ok) snprintf(msg, msg_size, "out of memory");
    size_t r0 = ok ? add_frame(&w, root, expect, SIZE_MAX, "%s", "") : SIZE_MAX;
    if (ok && (r0 == SIZE_MAX || !push_range(&w, r0, 1))) {
        snprintf(msg, msg_size, "out of memory");
        ok = 0;
    }
    while (ok && w.ns > 0) {
        size_t fi = w.stack[--w.ns];
        ok = visit(&w, fi);
    }
    free(w.frames);
    free(w.stack);
    free(w.seen);
    free((void *)w.ids);
    return ok;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ug_list_fixtures(const char *dir, char ***names) {
    *names = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0, cap = 0;
    char **v = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        if (l > 9 && strcmp(de->d_name + l - 9, ".dis.json") == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) break;
            v = nv;
        }
        v[n] = malloc(l - 4);
        if (!v[n]) break;
        memcpy(v[n], de->d_name, l - 5);
        v[n][l - 5] = '\0';
        n++;
    }
    closedir(d);
    if (n) qsort(v, n, sizeof *v, cmp_names);
    *names = v;
    return n;
}

void ug_free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}
