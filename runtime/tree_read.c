/*
 * tree_read.c - reading numbers and arrays out of estimator state for the
 * tree, ensemble and text code: Python ints/floats/bools, numpy scalars
 * (numpy.core.multiarray.scalar(dtype, bytes)), and arrays resolved through
 * the file's array table (their elements are read with the public
 * ckpt_array_get_f64 / _i64 / ckpt_array_field_*).
 */
#include <math.h>
#include <string.h>

#include "tree_internal.h"

/* numpy scalar payload: bytes, or _codecs.encode(str, 'latin1') (protocols 0-2). */
static int scalar_bytes(const ckpt_value *b, uint8_t *out, size_t want)
{
    size_t len = 0;
    const uint8_t *p = NULL;
    if (ckpt_value_kind(b) == CKPT_K_BYTES || ckpt_value_kind(b) == CKPT_K_BYTEARRAY) {
        p = ckpt_value_bytes(b, &len);
        if (len != want)
            return -1;
        memcpy(out, p, want);
        return 0;
    }
    if (ckpt_value_kind(b) == CKPT_K_OBJECT) {
        const char *cn = ckpt_value_canonical(ckpt_value_callable(b));
        if (!cn || strcmp(cn, "_codecs.encode") != 0)
            return -1;
        const ckpt_value *s = ckpt_value_item(ckpt_value_args(b), 0);
        if (ckpt_value_kind(s) != CKPT_K_STR)
            return -1;
        p = ckpt_value_bytes(s, &len);
        size_t n = 0, i = 0;
        while (i < len && n < want) { /* UTF-8 of code points < 256 -> latin-1 */
            uint8_t c = p[i];
            if (c < 0x80) {
                out[n++] = c;
                i++;
            } else if ((c & 0xE0) == 0xC0 && i + 1 < len && c <= 0xC3) {
                out[n++] = (uint8_t)(((c & 0x1F) << 6) | (p[i + 1] & 0x3F));
                i += 2;
            } else {
                return -1;
            }
        }
        return (n == want && i == len) ? 0 : -1;
    }
    return -1;
}

/* Decode numpy.core.multiarray.scalar(dtype, data) for b1/i1..i8/u1..u8/f4/f8. */
static int numpy_scalar(const ckpt_value *v, int64_t *iv, double *dv, int *is_float)
{
    const char *cn = ckpt_value_canonical(ckpt_value_callable(v));
    if (!cn || strcmp(cn, "numpy.core.multiarray.scalar") != 0)
        return -1;
    const ckpt_value *args = ckpt_value_args(v);
    const ckpt_value *dt = ckpt_value_item(args, 0);
    const ckpt_value *dtn = ckpt_value_item(ckpt_value_args(dt), 0);
    size_t tl = 0;
    const uint8_t *t = ckpt_value_bytes(dtn, &tl);
    if (ckpt_value_kind(dtn) != CKPT_K_STR || tl < 2 || tl > 3)
        return -1;
    char kind = (char)t[0];
    int size = 0;
    for (size_t i = 1; i < tl; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        size = size * 10 + (t[i] - '0');
    }
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return -1;
    char order = '<';
    const ckpt_value *st = ckpt_value_state(dt);
    const ckpt_value *bo = ckpt_value_item(st, 1);
    if (ckpt_value_kind(bo) == CKPT_K_STR) {
        size_t bl = 0;
        const uint8_t *b = ckpt_value_bytes(bo, &bl);
        if (bl == 1)
            order = (char)b[0];
    }
    uint8_t raw[8];
    if (scalar_bytes(ckpt_value_item(args, 1), raw, (size_t)size) != 0)
        return -1;
    uint64_t u = 0;
    int big = (order == '>');
    for (int i = 0; i < size; i++) {
        int k = big ? i : size - 1 - i;
        u = (u << 8) | raw[k];
    }
    *is_float = 0;
    switch (kind) {
    case 'b':
    case 'u':
        if (kind == 'b' && size != 1)
            return -1;
        if (u > (uint64_t)INT64_MAX)
            return -1;
        *iv = (int64_t)u;
        *dv = (double)u;
        return 0;
    case 'i': {
        int64_t s;
        if (size == 8) {
            s = (int64_t)u;
        } else {
            uint64_t sign = (uint64_t)1 << (size * 8 - 1);
            s = (int64_t)(u ^ sign) - (int64_t)sign;
        }
        *iv = s;
        *dv = (double)s;
        return 0;
    }
    case 'f':
        *is_float = 1;
        if (size == 8) {
            double d;
            memcpy(&d, &u, 8);
            *dv = d;
        } else if (size == 4) {
            uint32_t w = (uint32_t)u;
            float fl;
            memcpy(&fl, &w, 4);
            *dv = fl;
        } else {
            return -1;
        }
        *iv = (int64_t)*dv;
        return 0;
    default:
        return -1;
    }
}

int ckpt_tree_num_i64(const ckpt_value *v, int64_t *out)
{
    switch (ckpt_value_kind(v)) {
    case CKPT_K_INT:
    case CKPT_K_BOOL:
        return ckpt_value_int64(v, out) == CKPT_OK ? 0 : -1;
    case CKPT_K_FLOAT: {
        double d = ckpt_value_float(v);
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != floor(d))
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    case CKPT_K_OBJECT: {
        int64_t i;
        double d;
        int isf;
        if (numpy_scalar(v, &i, &d, &isf) != 0)
            return -1;
        if (isf && (!(d >= -9.2e18 && d <= 9.2e18) || d != floor(d)))
            return -1;
        *out = isf ? (int64_t)d : i;
        return 0;
    }
    default:
        return -1;
    }
}

int ckpt_tree_num_f64(const ckpt_value *v, double *out)
{
    switch (ckpt_value_kind(v)) {
    case CKPT_K_INT:
    case CKPT_K_BOOL:
    case CKPT_K_FLOAT:
        *out = ckpt_value_float(v);
        return 0;
    case CKPT_K_OBJECT: {
        int64_t i;
        int isf;
        return numpy_scalar(v, &i, out, &isf);
    }
    default:
        return -1;
    }
}

ckpt_status ckpt_tree_array(ckpt_file *f, const ckpt_value *v, size_t *idx,
                            const ckpt_array_info **info, ckpt_error *err)
{
    if (!v || ckpt_file_array_of(f, v, idx) != CKPT_OK)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "expected a numpy array");
    const ckpt_array_info *a = ckpt_file_array(f, *idx);
    if (!a)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "array table entry missing");
    ckpt_status st = ckpt_array_data(f, *idx, NULL, err);
    if (st != CKPT_OK)
        return st;
    *info = a;
    return CKPT_OK;
}
