/*
 * ckpt-info - look inside a checkpoint without running it.
 *
 *   ckpt-info [options] FILE...
 *
 * Prints what the file is (container, codec, pickle protocol, top-level
 * value, scikit-learn class and version), an outline of the object graph
 * (shared references printed once, cycles never followed, no recursion), the
 * arrays / tensors it holds, and on request statistics, a pickletools-style
 * disassembly, a CRC check of zip records, a safety verdict, or all of it as
 * one JSON document.  Only the public headers (include/ckpt) are used.
 */
#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_pickle.h"
#include "ckpt/ckpt_scan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ckpt_tool_print_version(const char *tool);

/* Exit codes (README): 0 ok; 1 a file failed to open; 2 usage.  With --scan the
   verdict's code is used instead: 0 safe, 1 dangerous, 2 unverifiable, 3 unknown. */
#define EXIT_LOAD 1
#define EXIT_USAGE 2

#define DEFAULT_DEPTH 3u
#define DEFAULT_ITEMS 8u
#define TREE_DEPTH 64u
#define TREE_ITEMS 100000u
#define STR_SHOW 60u

typedef struct opts {
    int tree, disasm, json, stats, no_mmap, scan, verify, arrays_only;
    unsigned depth, items;
} opts;

static void usage(FILE *o) {
    fprintf(o,
            "usage: ckpt-info [options] FILE...\n"
            "Describe a checkpoint (pickle, joblib, .npy/.npz, PyTorch) without executing it.\n\n"
            "  --tree         full outline of the object graph (depth %u, all items)\n"
            "  --depth N      outline depth limit (default %u)\n"
            "  --items N      items shown per container (default %u)\n"
            "  --arrays       arrays/tensors only (no outline)\n"
            "  --stats        sum, min, max, mean (float64) of every numeric array (reads data)\n"
            "  --disasm       opcode listing of the main pickle, like pickletools.dis\n"
            "  --scan         safety verdict: exit 0 safe, 3 unknown, 1 dangerous, 2 unverifiable\n"
            "  --verify       CRC-32 of every zip record against the zip directory, read every array\n"
            "  --no-mmap      read the file instead of mapping it\n"
            "  --json         one JSON document per file with all of the above\n"
            "  --help, --version\n",
            TREE_DEPTH, DEFAULT_DEPTH, DEFAULT_ITEMS);
}

/* ------------------------------------------------------------ small helpers */

/* Printable, escaped, truncated copy of bytes (for str/bytes display). */
static void show_bytes(char *out, size_t cap, const uint8_t *p, size_t n, int is_str) {
    size_t o = 0;
    if (cap < 8) { if (cap) out[0] = 0; return; }
    out[o++] = is_str ? '\'' : 'b';
    if (!is_str) out[o++] = '\'';
    size_t shown = 0;
    for (size_t i = 0; i < n && o + 8 < cap && shown < STR_SHOW; i++, shown++) {
        uint8_t c = p[i];
        if (c == '\\' || c == '\'') { out[o++] = '\\'; out[o++] = (char)c; }
        else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c < 0x20 || c == 0x7f || (!is_str && c >= 0x80))
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else out[o++] = (char)c; /* UTF-8 of a str passes through */
    }
    if (shown < n && o + 4 < cap) { memcpy(out + o, "...", 3); o += 3; }
    if (o + 1 < cap) out[o++] = '\'';
    out[o] = 0;
}

static void int_text(const ckpt_value *v, char *out, size_t cap) {
    int64_t x;
    if (ckpt_value_int64(v, &x) == CKPT_OK) snprintf(out, cap, "%lld", (long long)x);
    else {
        size_t n;
        ckpt_value_int_bytes(v, &n);
        snprintf(out, cap, "<int of %zu bytes, ~%.6g>", n, ckpt_value_float(v));
    }
}

static const char *shape_text(const ckpt_array_info *a, char *out, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "(");
    for (uint32_t k = 0; k < a->ndim && o < cap; k++)
        o += (size_t)snprintf(out + o, cap - o, "%s%lld", k ? ", " : "", (long long)a->shape[k]);
    if (a->ndim == 1 && o < cap) o += (size_t)snprintf(out + o, cap - o, ",");
    if (o < cap) snprintf(out + o, cap - o, ")");
    return out;
}

static const char *state_text(ckpt_data_state s, int will_copy) {
    switch (s) {
    case CKPT_DATA_MAPPED: return "mapped";
    case CKPT_DATA_COPIED: return "copied";
    case CKPT_DATA_UNAVAILABLE: return "unavailable";
    default: return will_copy ? "will copy" : "zero-copy";
    }
}

/* The short description of a node used by the outline and the JSON. */
static void describe(const ckpt_file *f, const ckpt_value *v, char *out, size_t cap) {
    char tmp[256];
    size_t n;
    size_t ai;
    if (ckpt_file_array_of(f, v, &ai) == CKPT_OK) {
        const ckpt_array_info *a = ckpt_file_array(f, ai);
        snprintf(out, cap, "%s %s %s", a->is_tensor ? "tensor" : "ndarray", a->dtype->str,
                 shape_text(a, tmp, sizeof tmp));
        return;
    }
    switch (ckpt_value_kind(v)) {
    case CKPT_K_NONE: snprintf(out, cap, "None"); break;
    case CKPT_K_BOOL: snprintf(out, cap, "%s", ckpt_value_bool(v) ? "True" : "False"); break;
    case CKPT_K_INT: int_text(v, out, cap); break;
    case CKPT_K_FLOAT: {
        double d = ckpt_value_float(v);
        for (int prec = 1; prec <= 17; prec++) { /* shortest text that reads back exactly */
            snprintf(out, cap, "%.*g", prec, d);
            if (strtod(out, NULL) == d || d != d) break;
        }
        if (isfinite(d) && !strpbrk(out, ".e")) strncat(out, ".0", cap - strlen(out) - 1);
        break;
    }
    case CKPT_K_STR:
    case CKPT_K_BYTES:
    case CKPT_K_BYTEARRAY: {
        const uint8_t *p = ckpt_value_bytes(v, &n);
        if (ckpt_value_kind(v) == CKPT_K_STR) show_bytes(out, cap, p, n, 1);
        else {
            show_bytes(tmp, sizeof tmp, p, n, 0);
            snprintf(out, cap, "%s%s (%zu bytes)", ckpt_value_kind(v) == CKPT_K_BYTEARRAY ? "bytearray " : "",
                     tmp, n);
        }
        break;
    }
    case CKPT_K_TUPLE:
    case CKPT_K_LIST:
    case CKPT_K_SET:
    case CKPT_K_FROZENSET:
    case CKPT_K_DICT:
        snprintf(out, cap, "%s (%zu item%s)", ckpt_kind_name(ckpt_value_kind(v)), ckpt_value_len(v),
                 ckpt_value_len(v) == 1 ? "" : "s");
        break;
    case CKPT_K_GLOBAL:
        if (ckpt_value_canonical(v)) snprintf(out, cap, "global %s", ckpt_value_canonical(v));
        else snprintf(out, cap, "global <extension code %d>", (int)ckpt_value_ext_code(v));
        break;
    case CKPT_K_OBJECT: {
        const char *cls = ckpt_value_class(v);
        ckpt_value *ver = ckpt_value_attr(v, "_sklearn_version");
        if (ckpt_value_call_kind(v) == CKPT_CALL_BUILD_ONLY)
            snprintf(out, cap, "BUILD applied to a %s", ckpt_kind_name(ckpt_value_kind(ckpt_value_build_target(v))));
        else if (ver && ckpt_value_kind(ver) == CKPT_K_STR) {
            const uint8_t *p = ckpt_value_bytes(ver, &n);
            snprintf(out, cap, "object %s (sklearn %.*s)", cls ? cls : "?", (int)(n < 40 ? n : 40), (const char *)p);
        } else snprintf(out, cap, "object %s", cls ? cls : "<non-global callable>");
        break;
    }
    case CKPT_K_PERSID: snprintf(out, cap, "persistent id"); break;
    case CKPT_K_BUFFER: snprintf(out, cap, "out-of-band buffer #%zu%s", ckpt_value_buffer_index(v),
                                 ckpt_value_buffer_readonly(v) ? " (read-only)" : ""); break;
    default: snprintf(out, cap, "?"); break;
    }
}

/* ------------------------------------------------------------ outline walk */

/* Children of a node for the outline: (label, child) pairs. */
typedef struct child {
    char label[96];
    const ckpt_value *v;
} child;

typedef struct kids {
    child *c;
    size_t n, cap;
    size_t total; /* children that exist (n may be cut at `items`) */
} kids;

static void kid(kids *k, unsigned items, const ckpt_value *v, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#include <stdarg.h>
static void kid(kids *k, unsigned items, const ckpt_value *v, const char *fmt, ...) {
    k->total++;
    if (!v || k->n >= items) return;
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 16;
        child *c = realloc(k->c, nc * sizeof *c);
        if (!c) return;
        k->c = c;
        k->cap = nc;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->c[k->n].label, sizeof k->c[k->n].label, fmt, ap);
    va_end(ap);
    k->c[k->n].v = v;
    k->n++;
}

static void key_label(const ckpt_value *key, char *out, size_t cap) {
    size_t n;
    if (ckpt_value_kind(key) == CKPT_K_STR) {
        const uint8_t *p = ckpt_value_bytes(key, &n);
        snprintf(out, cap, "%.*s", (int)(n < 80 ? n : 80), (const char *)p);
    } else {
        char d[128];
        describe(NULL, key, d, sizeof d);
        /* "[d]", cut to the column (cap - 1 characters) like snprintf would */
        if (!cap) return;
        size_t dl = strlen(d), n = dl + 2 < cap ? dl + 2 : cap - 1;
        if (n) out[0] = '[';
        if (n > 1) memcpy(out + 1, d, n - 1 < dl ? n - 1 : dl);
        if (n == dl + 2) out[dl + 1] = ']';
        out[n] = 0;
    }
}

static void children(const ckpt_value *v, unsigned items, kids *k) {
    char kl[100];
    k->n = k->total = 0;
    switch (ckpt_value_kind(v)) {
    case CKPT_K_TUPLE:
    case CKPT_K_LIST:
    case CKPT_K_SET:
    case CKPT_K_FROZENSET:
        for (size_t i = 0; i < ckpt_value_len(v); i++) kid(k, items, ckpt_value_item(v, i), "%zu", i);
        break;
    case CKPT_K_DICT:
        for (size_t i = 0; i < ckpt_value_len(v); i++) {
            key_label(ckpt_value_dict_key(v, i), kl, sizeof kl);
            kid(k, items, ckpt_value_dict_val(v, i), "%s", kl);
        }
        break;
    case CKPT_K_OBJECT: {
        ckpt_value *args = ckpt_value_args(v);
        if (args && !(ckpt_value_kind(args) == CKPT_K_TUPLE && ckpt_value_len(args) == 0))
            kid(k, items, args, "(args)");
        if (ckpt_value_kwargs(v)) kid(k, items, ckpt_value_kwargs(v), "(kwargs)");
        if (ckpt_value_build_target(v)) kid(k, items, ckpt_value_build_target(v), "(target)");
        for (size_t s = 0; s < ckpt_value_state_count(v); s++) {
            ckpt_value *st = ckpt_value_state_at(v, s);
            if (ckpt_value_kind(st) == CKPT_K_DICT) { /* attributes inline */
                for (size_t i = 0; i < ckpt_value_len(st); i++) {
                    key_label(ckpt_value_dict_key(st, i), kl, sizeof kl);
                    kid(k, items, ckpt_value_dict_val(st, i), ".%s", kl);
                }
            } else kid(k, items, st, "(state)");
        }
        if (ckpt_value_obj_list(v)) kid(k, items, ckpt_value_obj_list(v), "(items)");
        if (ckpt_value_obj_dict(v)) {
            ckpt_value *d = ckpt_value_obj_dict(v);
            for (size_t i = 0; i < ckpt_value_len(d); i++) {
                key_label(ckpt_value_dict_key(d, i), kl, sizeof kl);
                kid(k, items, ckpt_value_dict_val(d, i), "%s", kl);
            }
        }
        break;
    }
    case CKPT_K_PERSID: kid(k, items, ckpt_value_persid(v), "(pid)"); break;
    default: break;
    }
}

static int is_tracked(const ckpt_value *v) {
    ckpt_kind k = ckpt_value_kind(v);
    return k == CKPT_K_LIST || k == CKPT_K_DICT || k == CKPT_K_SET || k == CKPT_K_FROZENSET ||
           k == CKPT_K_OBJECT || k == CKPT_K_BYTEARRAY || (k == CKPT_K_TUPLE && ckpt_value_len(v) > 0);
}

typedef struct frame {
    const ckpt_value *v;
    unsigned depth;
    char label[96];
    cJSON *jparent; /* JSON: array to append this node to */
} frame;

/* Pre-order walk with an explicit stack; prints text or builds JSON. */
static void outline(const ckpt_file *f, const ckpt_value *root, const opts *o, cJSON *jout) {
    uint64_t nn = ckpt_graph_node_count(ckpt_file_graph(f));
    unsigned char *seen = calloc(nn ? (size_t)nn : 1, 1);
    frame *st = malloc(64 * sizeof *st);
    size_t ns = 0, cap = 64;
    kids k = {0};
    if (!seen || !st) { fprintf(stderr, "ckpt-info: out of memory\n"); free(seen); free(st); return; }
    st[ns].v = root;
    st[ns].depth = 0;
    snprintf(st[ns].label, sizeof st[ns].label, "root");
    st[ns].jparent = jout;
    ns++;
    char desc[512];
    while (ns) {
        frame fr = st[--ns];
        if (!fr.v) { /* "... N more" marker (text mode) */
            printf("%*s%s\n", 2 * (int)fr.depth + 2, "", fr.label);
            continue;
        }
        uint64_t id = ckpt_value_id(fr.v);
        int tracked = is_tracked(fr.v);
        cJSON *jn = NULL;
        if (tracked && id < nn && seen[id]) {
            if (jout) {
                jn = cJSON_CreateObject();
                cJSON_AddStringToObject(jn, "label", fr.label);
                cJSON_AddNumberToObject(jn, "ref", (double)id);
                cJSON_AddItemToArray(fr.jparent, jn);
            } else printf("%*s%s: <ref #%llu>\n", 2 * (int)fr.depth + 2, "", fr.label, (unsigned long long)id);
            continue;
        }
        if (tracked && id < nn) seen[id] = 1;
        describe(f, fr.v, desc, sizeof desc);
        size_t ai;
        int is_array = ckpt_file_array_of(f, fr.v, &ai) == CKPT_OK;
        children(fr.v, o->items, &k);
        if (is_array) k.n = k.total = 0;
        if (jout) {
            jn = cJSON_CreateObject();
            cJSON_AddStringToObject(jn, "label", fr.label);
            cJSON_AddStringToObject(jn, "kind", is_array ? "array" : ckpt_kind_name(ckpt_value_kind(fr.v)));
            cJSON_AddStringToObject(jn, "summary", desc);
            if (tracked) cJSON_AddNumberToObject(jn, "id", (double)id);
            if (is_array) cJSON_AddStringToObject(jn, "path", ckpt_file_array(f, ai)->path);
            cJSON_AddItemToArray(fr.jparent, jn);
        } else {
            if (tracked) printf("%*s%s: %s  #%llu\n", 2 * (int)fr.depth + 2, "", fr.label, desc, (unsigned long long)id);
            else printf("%*s%s: %s\n", 2 * (int)fr.depth + 2, "", fr.label, desc);
        }
        if (k.total == 0) continue;
        if (fr.depth + 1 > o->depth) {
            if (jout) cJSON_AddBoolToObject(jn, "truncated", 1);
            else printf("%*s...\n", 2 * (int)fr.depth + 4, "");
            continue;
        }
        cJSON *jkids = NULL;
        if (jout) {
            jkids = cJSON_AddArrayToObject(jn, "children");
            if (k.total > k.n) cJSON_AddNumberToObject(jn, "omitted", (double)(k.total - k.n));
        } else if (k.total > k.n) {
            /* printed after the shown children: push a marker frame first */
            if (ns == cap) {
                frame *n2 = realloc(st, cap * 2 * sizeof *st);
                if (!n2) break;
                st = n2;
                cap *= 2;
            }
            st[ns].v = NULL;
            st[ns].depth = fr.depth + 1;
            snprintf(st[ns].label, sizeof st[ns].label, "... %zu more", k.total - k.n);
            st[ns].jparent = NULL;
            ns++;
        }
        for (size_t i = k.n; i-- > 0;) {
            if (ns == cap) {
                frame *n2 = realloc(st, cap * 2 * sizeof *st);
                if (!n2) { i = 0; break; }
                st = n2;
                cap *= 2;
            }
            st[ns].v = k.c[i].v;
            st[ns].depth = fr.depth + 1;
            memcpy(st[ns].label, k.c[i].label, sizeof st[ns].label);
            st[ns].jparent = jkids;
            ns++;
        }
    }
    free(k.c);
    free(st);
    free(seen);
}


/* ------------------------------------------------------------ disassembly */

typedef struct dis_ctx {
    cJSON *arr;
} dis_ctx;

static int dis_cb(void *user, const ckpt_disasm_op *op) {
    dis_ctx *d = user;
    if (d->arr) {
        cJSON *o = cJSON_CreateArray();
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)op->offset));
        cJSON_AddItemToArray(o, cJSON_CreateString(op->name));
        cJSON_AddItemToArray(o, cJSON_CreateString(op->arg));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)op->depth));
        cJSON_AddItemToArray(d->arr, o);
        return 0;
    }
    char code[8];
    if (op->code >= 0x20 && op->code < 0x7f && op->code != '\\' && op->code != '\'')
        snprintf(code, sizeof code, "'%c'", op->code);
    else snprintf(code, sizeof code, "\\x%02x", op->code);
    printf("%8llu: %-6s %*s%-18s %s%s[depth %lld]\n", (unsigned long long)op->offset, code,
           2 * op->mark_level, "", op->name, op->arg, op->arg[0] ? "  " : "", (long long)op->depth);
    return 0;
}

/* ------------------------------------------------------------ per file */

typedef struct stats {
    double sum, min, max, mean;
    uint64_t n, nan;
} stats;

/* bool, ints, floats; datetime64/timedelta64 as their int64 counts in their unit */
static int is_numeric(ckpt_dtype t) {
    return (t >= CKPT_DT_BOOL && t <= CKPT_DT_FLOAT64) || t == CKPT_DT_DATETIME64 || t == CKPT_DT_TIMEDELTA64;
}

static ckpt_status array_stats(ckpt_file *f, size_t i, stats *s, ckpt_error *err) {
    const void *data;
    ckpt_status st = ckpt_array_data(f, i, &data, err);
    if (st != CKPT_OK) return st;
    const ckpt_array_info *a = ckpt_file_array(f, i);
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    for (uint64_t k = 0; k < a->nelems; k++) {
        double x = ckpt_array_get_f64(f, i, k);
        if (isnan(x)) { s->nan++; continue; }
        s->sum += x;
        if (x < s->min) s->min = x;
        if (x > s->max) s->max = x;
        s->n++;
    }
    s->mean = s->n ? s->sum / (double)s->n : NAN;
    if (!s->n) s->min = s->max = NAN;
    return CKPT_OK;
}

static void json_num(cJSON *o, const char *k, double x) {
    if (isfinite(x)) cJSON_AddNumberToObject(o, k, x);
    else cJSON_AddStringToObject(o, k, isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
}

static const char *top_class(const ckpt_value *root) {
    return ckpt_value_kind(root) == CKPT_K_OBJECT ? ckpt_value_class(root) : NULL;
}

static int do_scan(const char *path, const opts *o, cJSON *jdoc) {
    ckpt_scan_report *r = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_scan_file(path, NULL, &r, &err);
    if (st != CKPT_OK) {
        fprintf(stderr, "ckpt-info: %s: scan failed: %s (%s)\n", path, err.message, ckpt_status_str(st));
        return 2;
    }
    ckpt_verdict v = ckpt_scan_verdict(r);
    cJSON *js = NULL;
    if (jdoc) {
        js = cJSON_AddObjectToObject(jdoc, "scan");
        cJSON_AddStringToObject(js, "verdict", ckpt_verdict_name(v));
        cJSON_AddStringToObject(js, "container", ckpt_scan_container(r) ? ckpt_scan_container(r) : "");
        cJSON_AddNumberToObject(js, "pickles", (double)ckpt_scan_pickle_count(r));
        cJSON *arr = cJSON_AddArrayToObject(js, "findings");
        for (size_t i = 0; i < ckpt_scan_finding_count(r); i++) {
            const ckpt_scan_finding *fd = ckpt_scan_finding_at(r, i);
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "kind", ckpt_finding_kind_name(fd->kind));
            cJSON_AddStringToObject(x, "severity", ckpt_verdict_name(fd->severity));
            cJSON_AddStringToObject(x, "global", fd->global ? fd->global : "");
            cJSON_AddStringToObject(x, "opcode", fd->opcode_name ? fd->opcode_name : "");
            cJSON_AddNumberToObject(x, "offset", (double)fd->offset);
            cJSON_AddStringToObject(x, "member", fd->member ? fd->member : "");
            cJSON_AddStringToObject(x, "reason", fd->reason ? fd->reason : "");
            cJSON_AddItemToArray(arr, x);
        }
    } else {
        printf("scan: %s (%s, %zu pickle%s)\n", ckpt_verdict_name(v),
               ckpt_scan_container(r) ? ckpt_scan_container(r) : "?", ckpt_scan_pickle_count(r),
               ckpt_scan_pickle_count(r) == 1 ? "" : "s");
        for (size_t i = 0; i < ckpt_scan_finding_count(r); i++) {
            const ckpt_scan_finding *fd = ckpt_scan_finding_at(r, i);
            if (fd->severity == CKPT_VERDICT_SAFE && !o->tree) continue;
            printf("  %-12s %-14s %s%s%s at offset %lld%s%s: %s\n", ckpt_verdict_name(fd->severity),
                   ckpt_finding_kind_name(fd->kind), fd->global ? fd->global : "",
                   fd->opcode_name && fd->opcode_name[0] ? " by " : "", fd->opcode_name ? fd->opcode_name : "",
                   (long long)fd->offset, fd->member && fd->member[0] ? " in " : "",
                   fd->member ? fd->member : "", fd->reason ? fd->reason : "");
        }
    }
    int code = ckpt_verdict_exit_code(v);
    ckpt_scan_free(r);
    return code;
}

/* --verify: a progress bar on stderr, only on a terminal and for big files. */
#define VERIFY_BAR_MIN ((uint64_t)64 << 20)
#define VERIFY_BAR_WIDTH 40

typedef struct vbar {
    int on;
    unsigned last_pct;
} vbar;

static void verify_progress(void *user, uint64_t done, uint64_t total) {
    vbar *b = user;
    if (total <= VERIFY_BAR_MIN || !isatty(STDERR_FILENO)) return;
    unsigned pct = (unsigned)(done >= total ? 100 : done * 100 / total);
    if (b->on && pct == b->last_pct && done < total) return;
    b->on = 1;
    b->last_pct = pct;
    char bar[VERIFY_BAR_WIDTH + 1];
    unsigned fill = pct * VERIFY_BAR_WIDTH / 100;
    for (unsigned i = 0; i < VERIFY_BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[VERIFY_BAR_WIDTH] = 0;
    fprintf(stderr, "\rverify [%s] %3u%% %llu/%llu MB", bar, pct, (unsigned long long)(done >> 20),
            (unsigned long long)(total >> 20));
    if (done >= total) fprintf(stderr, "\n");
    fflush(stderr);
}

/* Run ckpt_file_verify and print / record its result; EXIT_LOAD if it failed. */
static int do_verify(const char *path, ckpt_file *f, cJSON *jdoc) {
    vbar b = {0, 0};
    ckpt_verify_report r;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_file_verify(f, verify_progress, &b, &r, &err);
    if (b.on && b.last_pct < 100) fprintf(stderr, "\n");
    if (jdoc) {
        cJSON *jv = cJSON_AddObjectToObject(jdoc, "verify");
        cJSON_AddStringToObject(jv, "status", ckpt_status_str(st));
        cJSON_AddBoolToObject(jv, "ok", st == CKPT_OK);
        cJSON_AddBoolToObject(jv, "checksums", r.has_checksums);
        cJSON_AddNumberToObject(jv, "containers", (double)r.containers);
        cJSON_AddNumberToObject(jv, "unchecked_files", (double)r.unchecked_files);
        cJSON_AddNumberToObject(jv, "members", (double)r.members);
        cJSON_AddNumberToObject(jv, "members_bad", (double)r.members_bad);
        cJSON_AddNumberToObject(jv, "members_failed", (double)r.members_failed);
        cJSON_AddNumberToObject(jv, "bytes", (double)r.bytes);
        cJSON_AddNumberToObject(jv, "arrays", (double)r.arrays);
        cJSON_AddNumberToObject(jv, "arrays_failed", (double)r.arrays_failed);
        cJSON_AddNumberToObject(jv, "arrays_unavailable", (double)r.arrays_unavailable);
        cJSON *jm = cJSON_AddArrayToObject(jv, "mismatches");
        for (size_t i = 0; i < r.n_mismatches; i++) {
            char hex[16];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "member", r.mismatches[i].member);
            snprintf(hex, sizeof hex, "%08x", (unsigned)r.mismatches[i].expected);
            cJSON_AddStringToObject(x, "expected_crc32", hex);
            snprintf(hex, sizeof hex, "%08x", (unsigned)r.mismatches[i].actual);
            cJSON_AddStringToObject(x, "actual_crc32", hex);
            cJSON_AddNumberToObject(x, "size", (double)r.mismatches[i].size);
            cJSON_AddItemToArray(jm, x);
        }
        if (st != CKPT_OK) {
            cJSON_AddStringToObject(jv, "message", err.message);
            cJSON_AddStringToObject(jv, "member", err.member);
        }
    } else {
        if (r.has_checksums)
            printf("verify: %s: CRC-32 of %llu zip member%s (%llu bytes) in %llu archive%s: %llu mismatch%s, %llu "
                   "unreadable\n",
                   st == CKPT_OK ? "OK" : "FAILED", (unsigned long long)r.members, r.members == 1 ? "" : "s",
                   (unsigned long long)r.bytes, (unsigned long long)r.containers, r.containers == 1 ? "" : "s",
                   (unsigned long long)r.members_bad, r.members_bad == 1 ? "" : "es",
                   (unsigned long long)r.members_failed);
        else
            printf("verify: %s: no checksum to verify in this format (%s)\n", st == CKPT_OK ? "OK" : "FAILED",
                   ckpt_format_name(ckpt_file_format(f)));
        if (r.has_checksums && r.unchecked_files)
            printf("verify: %llu shard%s without checksums\n", (unsigned long long)r.unchecked_files,
                   r.unchecked_files == 1 ? "" : "s");
        for (size_t i = 0; i < r.n_mismatches; i++)
            printf("verify: mismatch in %s: CRC-32 %08x, zip directory says %08x (%llu bytes)\n",
                   r.mismatches[i].member, (unsigned)r.mismatches[i].actual, (unsigned)r.mismatches[i].expected,
                   (unsigned long long)r.mismatches[i].size);
        printf("verify: %llu array%s read, %llu failed, %llu without data access\n", (unsigned long long)r.arrays,
               r.arrays == 1 ? "" : "s", (unsigned long long)r.arrays_failed,
               (unsigned long long)r.arrays_unavailable);
    }
    if (st != CKPT_OK) {
        fprintf(stderr, "ckpt-info: %s: verify: %s (%s", path, err.message, ckpt_status_str(st));
        if (err.member[0]) fprintf(stderr, ", member %s", err.member);
        fprintf(stderr, ")\n");
        return EXIT_LOAD;
    }
    return 0;
}

static int info_file(const char *path, const opts *o, cJSON *jall) {
    cJSON *jdoc = jall ? cJSON_CreateObject() : NULL;
    if (jdoc) {
        cJSON_AddItemToArray(jall, jdoc);
        cJSON_AddStringToObject(jdoc, "file", path);
    }
    int scan_code = -1;
    if (o->scan) {
        /* the scanner never builds values: it runs first and on any file */
        if (!jdoc) printf("file: %s\n", path);
        scan_code = do_scan(path, o, jdoc);
        if (!o->tree && !o->disasm && !o->stats && !o->verify && !o->arrays_only) return scan_code;
    }
    ckpt_open_opts oo = ckpt_open_opts_default();
    if (o->no_mmap) oo.flags |= CKPT_OPEN_NO_MMAP;
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(path, &oo, &f, &err);
    if (st != CKPT_OK) {
        /* the loader already names the file in pickle-stream errors */
        size_t plen = strlen(path);
        int named = strncmp(err.message, path, plen) == 0 && err.message[plen] == ':';
        if (named) fprintf(stderr, "ckpt-info: %s (%s", err.message, ckpt_status_str(st));
        else fprintf(stderr, "ckpt-info: %s: %s (%s", path, err.message, ckpt_status_str(st));
        if (err.offset >= 0) fprintf(stderr, ", offset %lld", (long long)err.offset);
        if (err.member[0]) fprintf(stderr, ", member %s", err.member);
        fprintf(stderr, ")\n");
        if (jdoc) {
            cJSON *je = cJSON_AddObjectToObject(jdoc, "error");
            cJSON_AddStringToObject(je, "status", ckpt_status_str(st));
            cJSON_AddStringToObject(je, "message", err.message);
            cJSON_AddNumberToObject(je, "offset", (double)err.offset);
            cJSON_AddStringToObject(je, "member", err.member);
        }
        return scan_code >= 0 ? scan_code : EXIT_LOAD;
    }
    ckpt_value *root = ckpt_file_root(f);
    const char *cls = top_class(root);
    ckpt_value *ver = ckpt_value_kind(root) == CKPT_K_OBJECT ? ckpt_value_attr(root, "_sklearn_version") : NULL;
    char verbuf[64] = "";
    if (ver && ckpt_value_kind(ver) == CKPT_K_STR) {
        size_t n;
        const uint8_t *p = ckpt_value_bytes(ver, &n);
        snprintf(verbuf, sizeof verbuf, "%.*s", (int)(n < 60 ? n : 60), (const char *)p);
    }
    char desc[512];
    describe(f, root, desc, sizeof desc);
    size_t na = ckpt_file_array_count(f);
    if (jdoc) {
        cJSON_AddStringToObject(jdoc, "format", ckpt_format_name(ckpt_file_format(f)));
        if (ckpt_file_codec(f)) cJSON_AddStringToObject(jdoc, "codec", ckpt_file_codec(f));
        cJSON_AddNumberToObject(jdoc, "size", (double)ckpt_file_size(f));
        cJSON_AddBoolToObject(jdoc, "mapped", ckpt_file_is_mapped(f));
        if (ckpt_file_protocol(f) >= 0) cJSON_AddNumberToObject(jdoc, "protocol", ckpt_file_protocol(f));
        cJSON_AddNumberToObject(jdoc, "pickles", (double)ckpt_file_pickle_count(f));
        if (root) {
            cJSON *jt = cJSON_AddObjectToObject(jdoc, "top_level");
            cJSON_AddStringToObject(jt, "kind", ckpt_kind_name(ckpt_value_kind(root)));
            if (cls) cJSON_AddStringToObject(jt, "class", cls);
            cJSON_AddStringToObject(jt, "summary", desc);
        }
        if (cls && verbuf[0]) {
            cJSON *js = cJSON_AddObjectToObject(jdoc, "sklearn");
            cJSON_AddStringToObject(js, "class", cls);
            cJSON_AddStringToObject(js, "version", verbuf);
        }
        cJSON *jf = cJSON_AddObjectToObject(jdoc, "facts");
        for (size_t i = 0; i < ckpt_file_fact_count(f); i++)
            cJSON_AddStringToObject(jf, ckpt_file_fact_key(f, i), ckpt_file_fact_value(f, i));
    } else {
        if (!o->scan) printf("file: %s\n", path);
        printf("format: %s%s%s\n", ckpt_format_name(ckpt_file_format(f)), ckpt_file_codec(f) ? ", codec " : "",
               ckpt_file_codec(f) ? ckpt_file_codec(f) : "");
        printf("size: %llu bytes (%s)\n", (unsigned long long)ckpt_file_size(f),
               ckpt_file_is_mapped(f) ? "mapped" : "read into memory");
        if (ckpt_file_protocol(f) >= 0) printf("pickle protocol: %d\n", ckpt_file_protocol(f));
        if (ckpt_file_pickle_count(f) > 1) printf("pickles: %zu\n", ckpt_file_pickle_count(f));
        if (root) printf("top level: %s\n", desc);
        if (cls && verbuf[0]) printf("scikit-learn: %s, saved by version %s\n", cls, verbuf);
        for (size_t i = 0; i < ckpt_file_fact_count(f); i++)
            printf("%s: %s\n", ckpt_file_fact_key(f, i), ckpt_file_fact_value(f, i));
    }

    /* outline */
    if (root && !o->arrays_only) {
        if (jdoc) {
            cJSON *jo = cJSON_AddArrayToObject(jdoc, "outline");
            outline(f, root, o, jo);
        } else {
            printf("outline:\n");
            outline(f, root, o, NULL);
        }
    }

    /* arrays */
    int rc = o->verify ? do_verify(path, f, jdoc) : 0;
    if (na) {
        cJSON *ja = jdoc ? cJSON_AddArrayToObject(jdoc, "arrays") : NULL;
        uint64_t total_bytes = 0, total_elems = 0, tensors = 0, tensor_elems = 0;
        uint64_t by_dtype[CKPT_DT__COUNT] = {0};
        if (!jdoc)
            printf("arrays (%zu):\n  %-40s %-8s %-18s %12s %12s  %-9s %s\n", na, "path", "dtype", "shape", "elements",
                   "bytes", "data", "storage");
        for (size_t i = 0; i < na; i++) {
            const ckpt_array_info *a = ckpt_file_array(f, i);
            char sh[256];
            shape_text(a, sh, sizeof sh);
            total_bytes += a->nbytes;
            total_elems += a->nelems;
            tensors += a->is_tensor != 0;
            if (a->is_tensor) tensor_elems += a->nelems;
            if ((unsigned)a->dtype->type < CKPT_DT__COUNT) by_dtype[a->dtype->type] += a->nbytes;
            stats s;
            int have_stats = 0;
            ckpt_error aerr;
            ckpt_error_clear(&aerr);
            if ((o->stats || o->verify) && a->state != CKPT_DATA_UNAVAILABLE && a->dtype->type != CKPT_DT_OBJECT) {
                ckpt_status ast;
                if (o->stats && is_numeric(a->dtype->type)) {
                    ast = array_stats(f, i, &s, &aerr);
                    have_stats = ast == CKPT_OK;
                } else {
                    const void *data;
                    ast = ckpt_array_data(f, i, &data, &aerr);
                }
                if (ast != CKPT_OK) {
                    fprintf(stderr, "ckpt-info: %s: array %s: %s (%s)\n", path, a->path, aerr.message, ckpt_status_str(ast));
                    rc = EXIT_LOAD;
                }
                a = ckpt_file_array(f, i);
            }
            const char *state = state_text(a->state, a->will_copy);
            if (ja) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "path", a->path);
                cJSON_AddStringToObject(x, "dtype", ckpt_dtype_name(a->dtype->type));
                cJSON_AddStringToObject(x, "descr", a->dtype->str);
                cJSON *jsh = cJSON_AddArrayToObject(x, "shape");
                cJSON *jst = cJSON_AddArrayToObject(x, "strides");
                for (uint32_t k = 0; k < a->ndim; k++) {
                    cJSON_AddItemToArray(jsh, cJSON_CreateNumber((double)a->shape[k]));
                    cJSON_AddItemToArray(jst, cJSON_CreateNumber((double)a->strides[k]));
                }
                cJSON_AddNumberToObject(x, "elements", (double)a->nelems);
                cJSON_AddNumberToObject(x, "bytes", (double)a->nbytes);
                cJSON_AddStringToObject(x, "data", state);
                if (a->fortran) cJSON_AddBoolToObject(x, "fortran", 1);
                if (a->is_tensor) {
                    cJSON_AddBoolToObject(x, "tensor", 1);
                    if (a->requires_grad) cJSON_AddBoolToObject(x, "requires_grad", 1);
                    if (a->storage_key) cJSON_AddStringToObject(x, "storage", a->storage_key);
                    cJSON_AddNumberToObject(x, "storage_offset", (double)a->storage_offset);
                }
                if (a->member) cJSON_AddStringToObject(x, "member", a->member);
                cJSON_AddNumberToObject(x, "file_offset", (double)a->file_offset);
                if (a->note) cJSON_AddStringToObject(x, "note", a->note);
                if (have_stats) {
                    cJSON *js = cJSON_AddObjectToObject(x, "stats");
                    json_num(js, "sum", s.sum);
                    json_num(js, "min", s.min);
                    json_num(js, "max", s.max);
                    json_num(js, "mean", s.mean);
                    if (s.nan) cJSON_AddNumberToObject(js, "nan", (double)s.nan);
                }
                cJSON_AddItemToArray(ja, x);
            } else {
                printf("  %-40s %-8s %-18s %12llu %12llu  %-9s", a->path, ckpt_dtype_name(a->dtype->type), sh,
                       (unsigned long long)a->nelems, (unsigned long long)a->nbytes, state);
                if (a->is_tensor && a->storage_key)
                    printf(" %s+%llu", a->storage_key, (unsigned long long)a->storage_offset);
                if (a->note) printf("  (%s)", a->note);
                if (have_stats)
                    printf("\n  %-40s sum=%.10g min=%.10g max=%.10g mean=%.10g%s", "", s.sum, s.min, s.max, s.mean,
                           s.nan ? " (NaNs skipped)" : "");
                printf("\n");
            }
        }
        if (jdoc) {
            cJSON *jt = cJSON_AddObjectToObject(jdoc, "totals");
            cJSON_AddNumberToObject(jt, "arrays", (double)na);
            cJSON_AddNumberToObject(jt, "tensors", (double)tensors);
            cJSON_AddNumberToObject(jt, "parameters", (double)tensor_elems);
            cJSON_AddNumberToObject(jt, "elements", (double)total_elems);
            cJSON_AddNumberToObject(jt, "bytes", (double)total_bytes);
            cJSON *jb = cJSON_AddObjectToObject(jt, "bytes_by_dtype");
            for (int t = 0; t < CKPT_DT__COUNT; t++)
                if (by_dtype[t]) cJSON_AddNumberToObject(jb, ckpt_dtype_name((ckpt_dtype)t), (double)by_dtype[t]);
        } else {
            if (tensors)
                printf("total: %zu array%s (%llu tensor%s, %llu parameters in tensors), %llu elements, %llu bytes:", na,
                       na == 1 ? "" : "s", (unsigned long long)tensors, tensors == 1 ? "" : "s",
                       (unsigned long long)tensor_elems, (unsigned long long)total_elems, (unsigned long long)total_bytes);
            else
                printf("total: %zu array%s, %llu elements, %llu bytes:", na, na == 1 ? "" : "s",
                       (unsigned long long)total_elems, (unsigned long long)total_bytes);
            for (int t = 0; t < CKPT_DT__COUNT; t++)
                if (by_dtype[t]) printf(" %s %llu", ckpt_dtype_name((ckpt_dtype)t), (unsigned long long)by_dtype[t]);
            printf("\n");
        }
    }

    /* disassembly of every pickle of the (main) file: only for pickle-based formats */
    if (o->disasm) {
        ckpt_format fm = ckpt_file_format(f);
        if (fm == CKPT_FMT_PICKLE || fm == CKPT_FMT_JOBLIB || fm == CKPT_FMT_TORCH_LEGACY) {
            size_t len;
            FILE *fp = fopen(path, "rb");
            uint8_t *buf = NULL;
            if (fp) {
                fseek(fp, 0, SEEK_END);
                long sz = ftell(fp);
                fseek(fp, 0, SEEK_SET);
                buf = sz > 0 ? malloc((size_t)sz) : NULL;
                len = buf && fread(buf, 1, (size_t)sz, fp) == (size_t)sz ? (size_t)sz : 0;
                fclose(fp);
                dis_ctx d = {jdoc ? cJSON_AddArrayToObject(jdoc, "disasm") : NULL};
                if (!jdoc) printf("disassembly:\n");
                ckpt_pickle_info info;
                ckpt_error derr;
                ckpt_error_clear(&derr);
                ckpt_status dst = len ? ckpt_pickle_disasm(buf, len, 0, dis_cb, &d, &info, &derr) : CKPT_E_IO;
                if (dst != CKPT_OK) {
                    fprintf(stderr, "ckpt-info: %s: disassembly stopped: %s\n", path, derr.message);
                    rc = EXIT_LOAD;
                } else if (!jdoc) {
                    printf("highest protocol among opcodes: %d; %llu opcodes; pickle ends at offset %llu of %zu\n",
                           info.protocol, (unsigned long long)info.ops, (unsigned long long)info.end, len);
                }
            }
            free(buf);
        } else if (!jdoc) {
            printf("disassembly: not a single pickle stream (%s); use --scan to walk every pickle inside\n",
                   ckpt_format_name(fm));
        }
    }
    ckpt_close(f);
    if (scan_code > 0) return scan_code;
    return rc;
}

int main(int argc, char **argv) {
    opts o;
    memset(&o, 0, sizeof o);
    o.depth = DEFAULT_DEPTH;
    o.items = DEFAULT_ITEMS;
    int depth_set = 0, items_set = 0;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { first_file = i + 1; break; }
        if (a[0] != '-' || a[1] == '\0') { first_file = i; break; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return 0; }
        if (strcmp(a, "--version") == 0) { ckpt_tool_print_version("ckpt-info"); return 0; }
        if (strcmp(a, "--tree") == 0) o.tree = 1;
        else if (strcmp(a, "--disasm") == 0) o.disasm = 1;
        else if (strcmp(a, "--json") == 0) o.json = 1;
        else if (strcmp(a, "--stats") == 0) o.stats = 1;
        else if (strcmp(a, "--no-mmap") == 0) o.no_mmap = 1;
        else if (strcmp(a, "--scan") == 0) o.scan = 1;
        else if (strcmp(a, "--verify") == 0) o.verify = 1;
        else if (strcmp(a, "--arrays") == 0) o.arrays_only = 1;
        else if ((strcmp(a, "--depth") == 0 || strcmp(a, "--items") == 0) && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long v = strtoul(argv[i + 1], &end, 10);
            if (errno || *end || v > 100000) {
                fprintf(stderr, "ckpt-info: bad value for %s: %s\n", a, argv[i + 1]);
                return EXIT_USAGE;
            }
            if (a[2] == 'd') { o.depth = (unsigned)v; depth_set = 1; }
            else { o.items = (unsigned)v; items_set = 1; }
            i++;
        } else {
            fprintf(stderr, "ckpt-info: unknown option %s (try --help)\n", a);
            return EXIT_USAGE;
        }
    }
    if (o.tree) {
        if (!depth_set) o.depth = TREE_DEPTH;
        if (!items_set) o.items = TREE_ITEMS;
    }
    if (first_file >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cJSON *jall = o.json ? cJSON_CreateArray() : NULL;
    int rc = 0;
    for (int i = first_file; i < argc; i++) {
        int r = info_file(argv[i], &o, jall);
        if (r > rc) rc = r;
        if (!o.json && i + 1 < argc) printf("\n");
    }
    if (jall) {
        cJSON *out = cJSON_GetArraySize(jall) == 1 ? cJSON_DetachItemFromArray(jall, 0) : jall;
        char *s = cJSON_Print(out);
        if (s) {
            puts(s);
            cJSON_free(s);
        }
        if (out != jall) cJSON_Delete(out);
        cJSON_Delete(jall);
    }
    return rc;
}
