/*
 * model_read.c - reading estimator state out of the inert pickle graph BY
 * ATTRIBUTE NAME: numeric arrays copied to float64, Python / numpy scalars,
 * strings, _sklearn_version, and classes_ as labels.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

int ckpt_rt_mul(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

void *ckpt_rt_calloc(uint64_t n, uint64_t size)
{
    uint64_t t;
    if (ckpt_rt_mul(n, size, &t) || t > SIZE_MAX)
        return NULL;
    return calloc(n ? (size_t)n : 1, size ? (size_t)size : 1);
}

ckpt_status ckpt_rt_fail(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *cls = obj ? ckpt_value_class(obj) : NULL;
    ckpt_error_set(ctx->err, CKPT_E_MODEL, -1, "%s%s%s (%s)", ctx->where[0] ? ctx->where : "",
                   ctx->where[0] ? ": " : "", msg, cls ? cls : "?");
    if (ctx->err && ctx->where[0])
        ckpt_error_member(ctx->err, ctx->where);
    return CKPT_E_MODEL;
}

/* ---------------------------------------------------------------- numbers */

/* numpy.core.multiarray.scalar(dtype, bytes) -> double */
static int np_scalar(const ckpt_value *v, double *out)
{
    const char *cn = ckpt_value_canonical(ckpt_value_callable(v));
    if (!cn || strcmp(cn, "numpy.core.multiarray.scalar") != 0)
        return -1;
    const ckpt_value *args = ckpt_value_args(v);
    const ckpt_value *dt = ckpt_value_item(args, 0);
    const ckpt_value *raw = ckpt_value_item(args, 1);
    const ckpt_value *dtn = ckpt_value_item(ckpt_value_args(dt), 0);
    size_t tl = 0, bl = 0;
    const uint8_t *t = ckpt_value_bytes(dtn, &tl);
    if (ckpt_value_kind(dtn) != CKPT_K_STR || tl < 2 || tl > 3)
        return -1;
    uint8_t buf[8];
    const uint8_t *b = NULL;
    if (ckpt_value_kind(raw) == CKPT_K_BYTES) {
        b = ckpt_value_bytes(raw, &bl);
    } else if (ckpt_value_kind(raw) == CKPT_K_OBJECT) { /* _codecs.encode(str, 'latin1') */
        const char *en = ckpt_value_canonical(ckpt_value_callable(raw));
        const ckpt_value *s = ckpt_value_item(ckpt_value_args(raw), 0);
        if (!en || strcmp(en, "_codecs.encode") != 0 || ckpt_value_kind(s) != CKPT_K_STR)
            return -1;
        size_t sl = 0, i = 0;
        const uint8_t *p = ckpt_value_bytes(s, &sl);
        while (i < sl && bl < sizeof buf) {
            if (p[i] < 0x80) {
                buf[bl++] = p[i++];
            } else if ((p[i] & 0xE0) == 0xC0 && p[i] <= 0xC3 && i + 1 < sl) {
                buf[bl++] = (uint8_t)(((p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F));
                i += 2;
            } else {
                return -1;
            }
        }
        if (i != sl)
            return -1;
        b = buf;
    } else {
        return -1;
    }
    int size = 0;
    for (size_t i = 1; i < tl; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        size = size * 10 + (t[i] - '0');
    }
    if ((size_t)size != bl || bl > 8)
        return -1;
    char order = '<';
    const ckpt_value *bo = ckpt_value_item(ckpt_value_state(dt), 1);
    size_t ol = 0;
    const uint8_t *o = ckpt_value_bytes(bo, &ol);
    if (ckpt_value_kind(bo) == CKPT_K_STR && ol == 1)
        order = (char)o[0];
    uint8_t le[8];
    for (size_t i = 0; i < bl; i++)
        le[i] = order == '>' ? b[bl - 1 - i] : b[i];
    union { uint8_t u8; int8_t i8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
            int64_t i64; uint64_t u64; float f; double d; } u;
    memcpy(&u, le, bl);
    switch (t[0]) {
    case 'f':
        if (size == 8) { *out = u.d; return 0; }
        if (size == 4) { *out = u.f; return 0; }
        return -1;
    case 'i':
        *out = size == 1 ? u.i8 : size == 2 ? u.i16 : size == 4 ? u.i32 : (double)u.i64;
        return 0;
    case 'u':
        *out = size == 1 ? u.u8 : size == 2 ? u.u16 : size == 4 ? u.u32 : (double)u.u64;
        return 0;
    case 'b':
        if (size != 1)
            return -1;
        *out = u.u8 ? 1.0 : 0.0;
        return 0;
    default:
        return -1;
    }
}

int ckpt_rt_value_f64(ckpt_build_ctx *ctx, const ckpt_value *v, double *out)
{
    switch (ckpt_value_kind(v)) {
    case CKPT_K_BOOL:
    case CKPT_K_INT:
    case CKPT_K_FLOAT:
        *out = ckpt_value_float(v);
        return 0;
    case CKPT_K_OBJECT: {
        if (np_scalar(v, out) == 0)
            return 0;
        size_t idx;
        if (ctx && ckpt_file_array_of(ctx->f, v, &idx) == CKPT_OK) {
            const ckpt_array_info *a = ckpt_file_array(ctx->f, idx);
            const void *d;
            if (a && a->nelems == 1 && ckpt_array_data(ctx->f, idx, &d, NULL) == CKPT_OK) {
                double x = ckpt_array_get_f64(ctx->f, idx, 0);
                if (x == x || a->dtype->type == CKPT_DT_FLOAT64 ||
                    a->dtype->type == CKPT_DT_FLOAT32) {
                    *out = x;
                    return 0;
                }
            }
        }
        return -1;
    }
    default:
        return -1;
    }
}

int ckpt_rt_attr_f64(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name, double *out)
{
    const ckpt_value *v = ckpt_value_attr(obj, name);
    return v ? ckpt_rt_value_f64(ctx, v, out) : -1;
}

int ckpt_rt_attr_i64(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name, int64_t *out)
{
    const ckpt_value *v = ckpt_value_attr(obj, name);
    if (!v)
        return -1;
    if (ckpt_value_kind(v) == CKPT_K_INT || ckpt_value_kind(v) == CKPT_K_BOOL)
        return ckpt_value_int64(v, out) == CKPT_OK ? 0 : -1;
    double d;
    if (ckpt_rt_value_f64(ctx, v, &d) || !(d >= -9.2e18 && d <= 9.2e18) || d != floor(d))
        return -1;
    *out = (int64_t)d;
    return 0;
}

int ckpt_rt_attr_str(const ckpt_value *obj, const char *name, char *buf, size_t cap)
{
    const ckpt_value *v = ckpt_value_attr(obj, name);
    if (ckpt_value_kind(v) != CKPT_K_STR || cap == 0)
        return 0;
    size_t len = 0;
    const uint8_t *p = ckpt_value_bytes(v, &len);
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, p, len);
    buf[len] = 0;
    return 1;
}

int ckpt_rt_attr_bool(const ckpt_value *obj, const char *name, int dflt)
{
    const ckpt_value *v = ckpt_value_attr(obj, name);
    switch (ckpt_value_kind(v)) {
    case CKPT_K_BOOL:
        return ckpt_value_bool(v);
    case CKPT_K_INT: {
        int64_t i = 0;
        return ckpt_value_int64(v, &i) == CKPT_OK ? i != 0 : 1;
    }
    case CKPT_K_NONE:
        return 0;
    default: {
        double d;
        if (v && ckpt_rt_value_f64(NULL, v, &d) == 0)
            return d != 0;
        return dflt;
    }
    }
}

int ckpt_rt_sklearn_version(const ckpt_value *obj)
{
    char s[32];
    if (!ckpt_rt_attr_str(obj, "_sklearn_version", s, sizeof s))
        return 0;
    int part[3] = {0, 0, 0}, k = 0;
    for (const char *p = s; *p && k < 3; p++) {
        if (*p >= '0' && *p <= '9') {
            if (part[k] < 1000)
                part[k] = part[k] * 10 + (*p - '0');
        } else if (*p == '.') {
            k++;
        } else {
            break; /* "1.4rc1", "0.24.dev0" */
        }
    }
    return part[0] * 10000 + part[1] * 100 + part[2];
}

/* joblib object arrays (string classes_, drop_idx_) are registered under the
   nested pickle's node, not the NumpyArrayWrapper node the attribute holds:
   find them by path instead ("<where>.<attr>", the array table's naming). */
static ckpt_status wrapper_by_path(ckpt_build_ctx *ctx, const ckpt_value *v, const char *attr,
                                   size_t *idx)
{
    const char *cls = ckpt_value_class(v);
    if (!cls || !attr)
        return CKPT_E_NOTFOUND;
    /* joblib >= 0.10 NumpyArrayWrapper: object arrays are listed by path only;
       pre-0.10 NDArrayWrapper / ZNDArrayWrapper (data in a sidecar .npy): every
       dtype is listed by the path of the attribute holding the wrapper */
    int modern = strstr(cls, "NumpyArrayWrapper") != NULL;
    int old = strstr(cls, "NDArrayWrapper") != NULL;
    if (!modern && !old)
        return CKPT_E_NOTFOUND;
    char path[sizeof ctx->where + 64];
    snprintf(path, sizeof path, "%s%s%s", ctx->where, ctx->where[0] ? "." : "", attr);
    ckpt_status st = ckpt_file_find_array(ctx->f, path, idx);
    if (st == CKPT_OK && modern && ckpt_file_array(ctx->f, *idx)->dtype->type != CKPT_DT_OBJECT)
        return CKPT_E_NOTFOUND;
    return st;
}

/* ---------------------------------------------------------------- arrays */

static int is_numeric(ckpt_dtype t)
{
    return t == CKPT_DT_BOOL || (t >= CKPT_DT_INT8 && t <= CKPT_DT_FLOAT64);
}

ckpt_status ckpt_rt_arr_value(ckpt_build_ctx *ctx, const ckpt_value *v, const char *what,
                              ckpt_rt_arr *out)
{
    memset(out, 0, sizeof *out);
    ckpt_kind k = ckpt_value_kind(v);
    if (k == CKPT_K_LIST || k == CKPT_K_TUPLE) { /* list of numbers or of equal-length lists */
        size_t n = ckpt_value_len(v);
        size_t m = 0;
        int two = n > 0 && (ckpt_value_kind(ckpt_value_item(v, 0)) == CKPT_K_LIST ||
                            ckpt_value_kind(ckpt_value_item(v, 0)) == CKPT_K_TUPLE);
        if (two)
            m = ckpt_value_len(ckpt_value_item(v, 0));
        uint64_t tot = two ? 0 : n;
        if (two && ckpt_rt_mul(n, m, &tot))
            return ckpt_rt_fail(ctx, NULL, "%s: too large", what);
        if (tot > CKPT_RT_MAX_ELEMS)
            return ckpt_rt_fail(ctx, NULL, "%s: too large", what);
        out->d = ckpt_rt_calloc(tot, sizeof(double));
        if (!out->d)
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const ckpt_value *row = ckpt_value_item(v, i);
            if (two) {
                if ((ckpt_value_kind(row) != CKPT_K_LIST && ckpt_value_kind(row) != CKPT_K_TUPLE) ||
                    ckpt_value_len(row) != m)
                    goto bad;
                for (size_t j = 0; j < m; j++)
                    if (ckpt_rt_value_f64(ctx, ckpt_value_item(row, j), &out->d[i * m + j]))
                        goto bad;
            } else if (ckpt_rt_value_f64(ctx, row, &out->d[i])) {
                goto bad;
            }
        }
        out->ndim = two ? 2 : 1;
        out->shape[0] = (int64_t)n;
        out->shape[1] = (int64_t)m;
        out->n = tot;
        out->dtype = CKPT_DT_FLOAT64;
        return CKPT_OK;
    bad:
        free(out->d);
        out->d = NULL;
        return ckpt_rt_fail(ctx, NULL, "%s: list is not numeric / not rectangular", what);
    }
    size_t idx;
    if (k == CKPT_K_OBJECT && (ckpt_file_array_of(ctx->f, v, &idx) == CKPT_OK ||
                               wrapper_by_path(ctx, v, what, &idx) == CKPT_OK)) {
        const ckpt_array_info *a = ckpt_file_array(ctx->f, idx);
        if (a && a->dtype->type == CKPT_DT_OBJECT && a->ndim <= 1 &&
            a->nelems <= CKPT_RT_MAX_ELEMS) { /* numbers and None (-> NaN) */
            out->d = ckpt_rt_calloc(a->nelems, sizeof(double));
            if (!out->d)
                return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
            for (uint64_t i = 0; i < a->nelems; i++) {
                const ckpt_value *it = ckpt_array_object_item(ctx->f, idx, i);
                if (ckpt_value_kind(it) == CKPT_K_NONE) {
                    out->d[i] = NAN;
                } else if (ckpt_rt_value_f64(ctx, it, &out->d[i])) {
                    free(out->d);
                    out->d = NULL;
                    return ckpt_rt_fail(ctx, NULL, "%s: object array holds a non-number", what);
                }
            }
            out->ndim = a->ndim;
            out->shape[0] = a->ndim ? a->shape[0] : 1;
            out->n = a->nelems;
            out->dtype = CKPT_DT_OBJECT;
            return CKPT_OK;
        }
        if (!a || !is_numeric(a->dtype->type) || a->dtype->nfields || a->dtype->sub_ndim)
            return ckpt_rt_fail(ctx, NULL, "%s: array of dtype %s is not numeric", what,
                                a ? a->dtype->str : "?");
        if (a->ndim > 4)
            return ckpt_rt_fail(ctx, NULL, "%s: %u dimensions", what, a->ndim);
        if (a->nelems > CKPT_RT_MAX_ELEMS)
            return ckpt_rt_fail(ctx, NULL, "%s: too large", what);
        const void *data;
        ckpt_status st = ckpt_array_data(ctx->f, idx, &data, ctx->err);
        if (st != CKPT_OK)
            return st;
        out->d = ckpt_rt_calloc(a->nelems, sizeof(double));
        if (!out->d)
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        /* C-contiguous fast paths */
        int contig = 1;
        int64_t expect = (int64_t)a->dtype->itemsize;
        for (uint32_t d = a->ndim; d-- > 0;) {
            if (a->shape[d] > 1 && a->strides[d] != expect)
                contig = 0;
            expect *= a->shape[d];
        }
        if (contig && a->dtype->type == CKPT_DT_FLOAT64) {
            memcpy(out->d, data, (size_t)a->nelems * sizeof(double));
        } else if (contig && a->dtype->type == CKPT_DT_FLOAT32) {
            const float *s = data;
            for (uint64_t i = 0; i < a->nelems; i++)
                out->d[i] = s[i];
        } else {
            for (uint64_t i = 0; i < a->nelems; i++)
                out->d[i] = ckpt_array_get_f64(ctx->f, idx, i);
        }
        out->ndim = a->ndim;
        for (uint32_t d = 0; d < a->ndim; d++)
            out->shape[d] = a->shape[d];
        out->n = a->nelems;
        out->dtype = a->dtype->type;
        return CKPT_OK;
    }
    double x;
    if (ckpt_rt_value_f64(ctx, v, &x) == 0) {
        out->d = malloc(sizeof(double));
        if (!out->d)
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        out->d[0] = x;
        out->n = 1;
        out->ndim = 0;
        out->dtype = CKPT_DT_FLOAT64;
        return CKPT_OK;
    }
    return ckpt_rt_fail(ctx, NULL, "%s is not a numeric array (%s)", what,
                        ckpt_kind_name(ckpt_value_kind(v)));
}

ckpt_status ckpt_rt_arr_attr(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name,
                             ckpt_rt_arr *out)
{
    memset(out, 0, sizeof *out);
    const ckpt_value *v = ckpt_value_attr(obj, name);
    if (!v)
        return ckpt_rt_fail(ctx, obj, "attribute %s is missing", name);
    ckpt_status st = ckpt_rt_arr_value(ctx, v, name, out);
    if (st == CKPT_E_MODEL && ctx->err)
        ckpt_rt_fail(ctx, obj, "attribute %s is not a numeric array", name);
    return st;
}

/* ---------------------------------------------------------------- labels */

void ckpt_labels_free(ckpt_labels *l)
{
    if (!l)
        return;
    if (l->s)
        for (int64_t i = 0; i < l->n; i++)
            free(l->s[i]);
    free(l->s);
    free(l->len);
    free(l->i);
    free(l->f);
    memset(l, 0, sizeof *l);
}

static int labels_alloc(ckpt_labels *l, int64_t n)
{
    l->n = n;
    l->i = ckpt_rt_calloc((uint64_t)n, sizeof *l->i);
    l->f = ckpt_rt_calloc((uint64_t)n, sizeof *l->f);
    l->s = ckpt_rt_calloc((uint64_t)n, sizeof *l->s);
    l->len = ckpt_rt_calloc((uint64_t)n, sizeof *l->len);
    return (l->i && l->f && l->s && l->len) ? 0 : -1;
}

int ckpt_labels_copy(ckpt_labels *dst, const ckpt_labels *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->n == 0)
        return 0;
    if (labels_alloc(dst, src->n)) {
        ckpt_labels_free(dst);
        return -1;
    }
    dst->kind = src->kind;
    memcpy(dst->i, src->i, (size_t)src->n * sizeof *dst->i);
    memcpy(dst->f, src->f, (size_t)src->n * sizeof *dst->f);
    memcpy(dst->len, src->len, (size_t)src->n * sizeof *dst->len);
    for (int64_t k = 0; k < src->n; k++) {
        dst->s[k] = malloc(src->len[k] + 1);
        if (!dst->s[k]) {
            ckpt_labels_free(dst);
            return -1;
        }
        memcpy(dst->s[k], src->s[k], src->len[k] + 1);
    }
    return 0;
}

static int set_text(ckpt_labels *l, int64_t k, const char *p, size_t n)
{
    l->s[k] = malloc(n + 1);
    if (!l->s[k])
        return -1;
    memcpy(l->s[k], p, n);
    l->s[k][n] = 0;
    l->len[k] = n;
    return 0;
}

/* Python repr of a float, shortest round-trip ("0.5", "1e-05", "7.0"). */
static void py_float_str(double x, char *buf, size_t cap)
{
    if (x != x) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, cap, x > 0 ? "inf" : "-inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* Python: exponent when exp < -4 or >= 16; else plain with ".0" */
    int e10 = x != 0 ? (int)floor(log10(fabs(x))) : 0;
    if (e10 >= -4 && e10 < 16) {
        if (!strchr(buf, '.') && !strchr(buf, 'e')) {
            size_t n = strlen(buf);
            if (n + 2 < cap)
                memcpy(buf + n, ".0", 3);
        } else if (strchr(buf, 'e')) { /* %g chose an exponent: print plainly */
            char tmp[64];
            for (int prec = 0; prec <= 20; prec++) {
                snprintf(tmp, sizeof tmp, "%.*f", prec, x);
                if (strtod(tmp, NULL) == x)
                    break;
            }
            snprintf(buf, cap, "%s", tmp);
            if (!strchr(buf, '.')) {
                size_t n = strlen(buf);
                if (n + 2 < cap)
                    memcpy(buf + n, ".0", 3);
            }
        }
    } else {
        /* mantissa e+XX like Python: 1e+16, 1.5e-05 */
        char *e = strchr(buf, 'e');
        if (!e) {
            snprintf(buf, cap, "%.17e", x);
        } else if (e[1] == '+' || e[1] == '-') {
            char sign = e[1];
            const char *digits = e + 2;
            char tmp[16];
            int ev = atoi(digits);
            snprintf(tmp, sizeof tmp, "%c%02d", sign, ev);
            snprintf(e + 1, cap - (size_t)(e + 1 - buf), "%s", tmp);
        }
    }
}

/* UCS-4 code point to UTF-8; bytes written (0 for invalid). */
static size_t utf8_put(uint32_t c, char *o)
{
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    if (c < 0x110000) {
        o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
        return 4;
    }
    return 0;
}

/* One label from a graph value (object arrays, lists). */
static int label_from_value(ckpt_build_ctx *ctx, ckpt_labels *l, int64_t k, const ckpt_value *v,
                            ckpt_label_kind *kind)
{
    char buf[64];
    ckpt_kind vk = ckpt_value_kind(v);
    if (vk == CKPT_K_STR) {
        size_t n = 0;
        const uint8_t *p = ckpt_value_bytes(v, &n);
        if (n > CKPT_RT_MAX_LABEL_LEN)
            return -1;
        *kind = CKPT_LABEL_STR;
        l->f[k] = NAN;
        return set_text(l, k, (const char *)p, n);
    }
    if (vk == CKPT_K_BOOL) {
        *kind = *kind == CKPT_LABEL_NONE ? CKPT_LABEL_BOOL : *kind;
        l->i[k] = ckpt_value_bool(v);
        l->f[k] = (double)l->i[k];
        return set_text(l, k, l->i[k] ? "True" : "False", l->i[k] ? 4 : 5);
    }
    if (vk == CKPT_K_INT) {
        int64_t x;
        if (ckpt_value_int64(v, &x) != CKPT_OK)
            return -1;
        *kind = CKPT_LABEL_INT;
        l->i[k] = x;
        l->f[k] = (double)x;
        snprintf(buf, sizeof buf, "%lld", (long long)x);
        return set_text(l, k, buf, strlen(buf));
    }
    double d;
    if (ckpt_rt_value_f64(ctx, v, &d) == 0) {
        *kind = CKPT_LABEL_FLOAT;
        l->f[k] = d;
        l->i[k] = (d >= -9e18 && d <= 9e18) ? (int64_t)d : 0;
        py_float_str(d, buf, sizeof buf);
        return set_text(l, k, buf, strlen(buf));
    }
    return -1;
}

ckpt_status ckpt_rt_labels(ckpt_build_ctx *ctx, const ckpt_value *v, ckpt_labels *out)
{
    memset(out, 0, sizeof *out);
    ckpt_kind vk = ckpt_value_kind(v);
    size_t idx;
    const ckpt_array_info *a = NULL;
    int64_t n;
    if (vk == CKPT_K_LIST || vk == CKPT_K_TUPLE) {
        n = (int64_t)ckpt_value_len(v);
    } else if (vk == CKPT_K_OBJECT && (ckpt_file_array_of(ctx->f, v, &idx) == CKPT_OK ||
                                       wrapper_by_path(ctx, v, "classes_", &idx) == CKPT_OK)) {
        a = ckpt_file_array(ctx->f, idx);
        if (!a || a->ndim != 1)
            return ckpt_rt_fail(ctx, NULL, "classes_ is not a 1-d array");
        n = a->shape[0];
    } else {
        return ckpt_rt_fail(ctx, NULL, "classes_ is not an array (%s)",
                            ckpt_kind_name(vk));
    }
    if (n < 1 || n > CKPT_RT_MAX_CLASSES)
        return ckpt_rt_fail(ctx, NULL, "classes_ has %lld entries", (long long)n);
    if (labels_alloc(out, n)) {
        ckpt_labels_free(out);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    ckpt_label_kind kind = CKPT_LABEL_NONE;
    char buf[64];
    if (!a) {
        for (int64_t k = 0; k < n; k++) {
            ckpt_label_kind kk = CKPT_LABEL_NONE;
            if (label_from_value(ctx, out, k, ckpt_value_item(v, (size_t)k), &kk))
                goto bad;
            if (k > 0 && kk != kind)
                goto bad;
            kind = kk;
        }
        out->kind = kind;
        return CKPT_OK;
    }
    ckpt_dtype t = a->dtype->type;
    if (t == CKPT_DT_OBJECT) {
        for (int64_t k = 0; k < n; k++) {
            ckpt_label_kind kk = CKPT_LABEL_NONE;
            if (label_from_value(ctx, out, k, ckpt_array_object_item(ctx->f, idx, (uint64_t)k),
                                 &kk))
                goto bad;
            if (k > 0 && kk != kind) /* mixed kinds (e.g. 1 and 'a') */
                goto bad;
            kind = kk;
        }
        out->kind = kind;
        return CKPT_OK;
    }
    const void *data;
    ckpt_status st = ckpt_array_data(ctx->f, idx, &data, ctx->err);
    if (st != CKPT_OK) {
        ckpt_labels_free(out);
        return st;
    }
    if (t == CKPT_DT_UNICODE || t == CKPT_DT_BYTES) {
        uint64_t isz = a->dtype->itemsize;
        if (isz > CKPT_RT_MAX_LABEL_LEN)
            goto bad;
        char *tmp = malloc((size_t)isz * 4 + 1);
        if (!tmp)
            goto nomem;
        for (int64_t k = 0; k < n; k++) {
            const uint8_t *p = (const uint8_t *)data + k * a->strides[0];
            size_t o = 0;
            if (t == CKPT_DT_UNICODE) {
                for (uint64_t c = 0; c + 4 <= isz; c += 4) {
                    uint32_t cp;
                    memcpy(&cp, p + c, 4);
                    if (cp == 0)
                        break;
                    size_t w = utf8_put(cp, tmp + o);
                    if (!w) {
                        free(tmp);
                        goto bad;
                    }
                    o += w;
                }
            } else {
                while (o < isz && p[o])
                    o++;
                memcpy(tmp, p, o);
            }
            if (set_text(out, k, tmp, o)) {
                free(tmp);
                goto nomem;
            }
            out->f[k] = NAN;
        }
        free(tmp);
        out->kind = CKPT_LABEL_STR;
        return CKPT_OK;
    }
    if (!is_numeric(t))
        goto bad;
    int is_float = t == CKPT_DT_FLOAT16 || t == CKPT_DT_FLOAT32 || t == CKPT_DT_FLOAT64 ||
                   t == CKPT_DT_BFLOAT16;
    for (int64_t k = 0; k < n; k++) {
        double d = ckpt_array_get_f64(ctx->f, idx, (uint64_t)k);
        out->f[k] = d;
        if (t == CKPT_DT_BOOL) {
            out->i[k] = d != 0;
            if (set_text(out, k, d != 0 ? "True" : "False", d != 0 ? 4 : 5))
                goto nomem;
        } else if (is_float) {
            out->i[k] = (d >= -9e18 && d <= 9e18) ? (int64_t)d : 0;
            py_float_str(d, buf, sizeof buf);
            if (set_text(out, k, buf, strlen(buf)))
                goto nomem;
        } else {
            /* exact integers: re-read int64/uint64 without the double round trip */
            int64_t x = (int64_t)d;
            if (t == CKPT_DT_INT64 || t == CKPT_DT_UINT64)
                memcpy(&x, (const uint8_t *)data + k * a->strides[0], 8);
            out->i[k] = x;
            snprintf(buf, sizeof buf, t == CKPT_DT_UINT64 ? "%llu" : "%lld", (long long)x);
            if (set_text(out, k, buf, strlen(buf)))
                goto nomem;
        }
    }
    out->kind = t == CKPT_DT_BOOL ? CKPT_LABEL_BOOL : is_float ? CKPT_LABEL_FLOAT : CKPT_LABEL_INT;
    return CKPT_OK;
nomem:
    ckpt_labels_free(out);
    return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
bad:
    ckpt_labels_free(out);
    return ckpt_rt_fail(ctx, NULL, "classes_ holds labels of an unsupported or mixed kind");
}
