/*
 * numpy.c - NumPy arrays inside pickles (the numpy recognizer of the path walk).
 *
 *   numpy.core.multiarray._reconstruct(cls, (0,), b'b') + BUILD state
 *       (version, shape, dtype, is_fortran, raw) or the older
 *       (shape, dtype, is_fortran, raw); raw is bytes, a latin-1 str (protocol
 *       0-2: _codecs.encode(str, 'latin1'), or a Python 2 STRING), or the list
 *       of items of an object array.
 *   numpy.core.numeric._frombuffer(buffer, dtype, shape, order)   (protocol 5;
 *       buffer in-band bytes/bytearray or an out-of-band BUFFER node)
 *   numpy.core.multiarray.scalar(dtype, bytes)   -> a 0-d array
 *   joblib wrappers -> joblib.c
 * numpy._core.* (NumPy >= 2) arrives folded to numpy.core.* by the graph.
 *
 * Nothing is read here beyond the metadata: data is resolved lazily by the
 * generic resolve (array_table.c: map when aligned and native, else copy) or,
 * for latin-1 text and decompressed containers, by the resolvers below.
 */
#include "numpy_internal.h"

#include <stdio.h>
#include <string.h>

static int canon_is(const ckpt_value *callable, const char *name) {
    const char *c = ckpt_value_canonical(callable);
    return c && strcmp(c, name) == 0;
}

void ckpt__np_fortran_strides(uint32_t ndim, const int64_t *shape, uint64_t itemsize,
                              int64_t *strides) {
    uint64_t st = itemsize;
    for (uint32_t k = 0; k < ndim; k++) {
        strides[k] = (int64_t)st; /* bounded by the byte size checked by add_array */
        st *= shape[k] ? (uint64_t)shape[k] : 1;
    }
}

ckpt_status ckpt__np_shape(ckpt_file *f, const ckpt_value *sv, int64_t *shape, uint32_t *ndim,
                           ckpt_error *err) {
    int64_t x;
    uint32_t max = f->limits.max_ndim < CKPT__NP_MAX_NDIM ? f->limits.max_ndim : CKPT__NP_MAX_NDIM;
    ckpt_kind k = ckpt_value_kind(sv);
    if (k == CKPT_K_INT) {
        if (ckpt_value_int64(sv, &x) != CKPT_OK || x < 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "numpy: bad shape");
        shape[0] = x;
        *ndim = 1;
        return CKPT_OK;
    }
    if (k != CKPT_K_TUPLE && k != CKPT_K_LIST)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "numpy: shape is a %s, not a tuple",
                              ckpt_kind_name(k));
    size_t n = ckpt_value_len(sv);
    if (n > max)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "numpy: %zu dimensions exceed the limit of %u",
                              n, max);
    for (size_t i = 0; i < n; i++) {
        if (ckpt_value_int64(ckpt_value_item(sv, i), &x) != CKPT_OK || x < 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "numpy: dimension %zu is not a size", i);
        shape[i] = x;
    }
    *ndim = (uint32_t)n;
    return CKPT_OK;
}

/* ---- resolvers ---- */

/* Protocol 0-2 data: UTF-8 text whose code points (< 256) are the bytes. */
static ckpt_status latin1_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    ckpt_status st = ckpt__array_copy_in(f, a, NULL, a->info.nbytes, 0, err);
    if (st != CKPT_OK) return st;
    uint8_t *d = a->copy;
    const uint8_t *s = a->src;
    uint64_t n = a->src_len, i = 0, o = 0;
    while (i < n && o < a->info.nbytes) {
        uint8_t c = s[i];
        if (c < 0x80) {
            d[o++] = c;
            i++;
        } else if ((c == 0xC2 || c == 0xC3) && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
            d[o++] = (uint8_t)(((c & 0x1F) << 6) | (s[i + 1] & 0x3F));
            i += 2;
        } else {
            break;
        }
    }
    if (i != n || o != a->info.nbytes) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                              "array '%s': latin-1 data holds %llu bytes of text, not the %llu the "
                              "shape needs (or a code point above 255)",
                              a->path, (unsigned long long)n, (unsigned long long)a->info.nbytes);
    }
    st = ckpt__dtype_byteswap(f, a->info.dtype, d, a->info.nelems, err);
    if (st != CKPT_OK) return st;
    a->data = d;
    a->info.state = CKPT_DATA_COPIED;
    return CKPT_OK;
}

/* Data inside a buffer ckpt decompressed: it is already a private copy; hand
   it out when suitably aligned and native, else copy. */
static ckpt_status decompressed_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    ckpt_status st = ckpt__check_span(a, 0, a->src_len, err);
    if (st != CKPT_OK) return st;
    size_t al = f->min_align > 64 ? f->min_align : 64;
    int swap = ckpt__dtype_needs_swap(a->info.dtype);
    if (!swap && ((uintptr_t)a->src % al) == 0) {
        a->data = a->src;
        a->info.state = CKPT_DATA_COPIED;
        return CKPT_OK;
    }
    st = ckpt__array_copy_in(f, a, a->src, a->info.nbytes, 0, err);
    if (st != CKPT_OK) return st;
    st = ckpt__dtype_byteswap(f, a->info.dtype, a->copy, a->info.nelems, err);
    if (st != CKPT_OK) return st;
    a->data = a->copy;
    a->info.state = CKPT_DATA_COPIED;
    return CKPT_OK;
}

/* ---- adding ---- */

ckpt_status ckpt__np_add(ckpt_file *f, const char *path, const ckpt_value *value,
                         const ckpt_dtype_info *dt, uint32_t ndim, const int64_t *shape_in,
                         int fortran, const ckpt__np_src *src, ckpt__array **out,
                         ckpt_error *err) {
    int64_t shape[2 * CKPT__NP_MAX_NDIM], strides[2 * CKPT__NP_MAX_NDIM];
    if (ndim > CKPT__NP_MAX_NDIM)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "array '%s': too many dimensions", path);
    if (ndim) memcpy(shape, shape_in, ndim * sizeof *shape);
    if (dt->sub_ndim) { /* numpy expands a subarray dtype into the array's shape */
        if (ndim + dt->sub_ndim > 2 * CKPT__NP_MAX_NDIM)
            return ckpt_error_set(err, CKPT_E_LIMIT, -1, "array '%s': too many dimensions", path);
        memcpy(shape + ndim, dt->sub_shape, dt->sub_ndim * sizeof *shape);
        ndim += dt->sub_ndim;
        dt = ckpt__dtype_base(dt);
    }
    int f_order = fortran && ndim > 1;
    if (f_order) ckpt__np_fortran_strides(ndim, shape, dt->itemsize, strides);
    ckpt__array *a;
    ckpt_status st = ckpt__file_add_array(f, path, value, dt, ndim, shape, f_order ? strides : NULL,
                                          &a, err);
    if (st != CKPT_OK) return st;
    if (out) *out = a;
    if (dt->type == CKPT_DT_OBJECT) {
        if (!src->items) {
            a->info.state = CKPT_DATA_UNAVAILABLE;
            a->info.note = "object array without its item list";
            return CKPT_OK;
        }
        if (ckpt_value_len(src->items) != a->info.nelems) {
            ckpt_error_member(err, path);
            return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                  "object array '%s' has %zu items for %llu elements", path,
                                  ckpt_value_len(src->items), (unsigned long long)a->info.nelems);
        }
        a->obj_items = src->items;
        return CKPT_OK;
    }
    if (ckpt__dtype_has_object(dt)) {
        a->info.state = CKPT_DATA_UNAVAILABLE;
        a->info.note = "structured dtype with object fields";
        return CKPT_OK;
    }
    if (src->items) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "array '%s': a list of items for dtype %s",
                              path, dt->str);
    }
    if (src->missing) {
        a->info.state = CKPT_DATA_UNAVAILABLE;
        a->info.note = "out-of-band buffer not supplied";
        return CKPT_OK;
    }
    if (src->latin1) {
        /* each byte is 1 or 2 UTF-8 bytes of text; exact length checked at resolve */
        if (src->n < a->info.nbytes || src->n / 2 > a->info.nbytes) {
            ckpt_error_member(err, path);
            return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                  "array '%s': %llu bytes of latin-1 text cannot hold %llu bytes",
                                  path, (unsigned long long)src->n,
                                  (unsigned long long)a->info.nbytes);
        }
        a->src = src->p;
        a->src_len = src->n;
        a->resolve = latin1_resolve;
        a->info.will_copy = 1;
        a->info.note = "protocol 0-2 text data: decoded into an aligned copy";
        return CKPT_OK;
    }
    if (src->n != a->info.nbytes) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                              "array '%s': %llu data bytes for shape and dtype %s needing %llu",
                              path, (unsigned long long)src->n, dt->str,
                              (unsigned long long)a->info.nbytes);
    }
    a->src = src->p;
    a->src_len = src->n;
    if (src->p && f->map && src->p >= f->map && src->p <= f->map + f->map_len) {
        a->info.file_offset = (uint64_t)(src->p - f->map);
        if (f->codec) { /* f->map holds decompressed bytes */
            a->resolve = decompressed_resolve;
            a->info.will_copy = 1;
            a->info.note = "compressed file: data in the decompressed buffer";
        }
    }
    return CKPT_OK;
}

/* Data of a pickled array: bytes / bytearray / str / _codecs.encode(str, 'latin1') /
   out-of-band buffer / list of items. */
static ckpt_status get_src(const ckpt_value *d, ckpt__np_src *s, ckpt_error *err) {
    memset(s, 0, sizeof *s);
    size_t n = 0;
    switch (ckpt_value_kind(d)) {
    case CKPT_K_BYTES:
    case CKPT_K_BYTEARRAY:
        s->p = ckpt_value_bytes(d, &n);
        s->n = n;
        return CKPT_OK;
    case CKPT_K_STR:
        s->p = ckpt_value_bytes(d, &n);
        s->n = n;
        s->latin1 = 1;
        return CKPT_OK;
    case CKPT_K_BUFFER:
        s->p = ckpt_value_buffer_data(d, &n);
        s->n = n;
        s->buffer_index = ckpt_value_buffer_index(d);
        s->missing = s->p == NULL;
        return CKPT_OK;
    case CKPT_K_LIST:
    case CKPT_K_TUPLE:
        s->items = d;
        return CKPT_OK;
    case CKPT_K_OBJECT: {
        const ckpt_value *args = ckpt_value_args(d);
        if (canon_is(ckpt_value_callable(d), "builtins.bytes") && /* protocol 0-2 b'' */
            ckpt_value_kind(args) == CKPT_K_TUPLE && ckpt_value_len(args) == 0) {
            s->p = (const uint8_t *)"";
            return CKPT_OK;
        }
        if (canon_is(ckpt_value_callable(d), "_codecs.encode") &&
            ckpt_value_kind(args) == CKPT_K_TUPLE && ckpt_value_len(args) == 2 &&
            ckpt_value_kind(ckpt_value_item(args, 0)) == CKPT_K_STR) {
            const ckpt_value *enc = ckpt_value_item(args, 1);
            if (ckpt_value_is_str(enc, "latin1") || ckpt_value_is_str(enc, "latin-1") ||
                ckpt_value_is_str(enc, "iso-8859-1") || ckpt_value_is_str(enc, "iso8859-1")) {
                s->p = ckpt_value_bytes(ckpt_value_item(args, 0), &n);
                s->n = n;
                s->latin1 = 1;
                return CKPT_OK;
            }
        }
        break;
    }
    default:
        break;
    }
    return ckpt_error_set(err, CKPT_E_FORMAT, -1, "numpy: array data is a %s",
                          ckpt_kind_name(ckpt_value_kind(d)));
}

static int truthy(const ckpt_value *v) {
    int64_t x;
    if (ckpt_value_kind(v) == CKPT_K_BOOL) return ckpt_value_bool(v);
    if (ckpt_value_int64(v, &x) == CKPT_OK) return x != 0;
    return 0;
}

/* A dtype that cannot be described (e.g. float128) leaves the node unlisted. */
static int dtype_or_skip(ckpt_file *f, const ckpt_value *dv, const ckpt_dtype_info **dt,
                         ckpt_status *st, ckpt_error *err) {
    *st = ckpt__dtype_from_value(f, dv, dt, err);
    if (*st == CKPT_E_UNSUPPORTED) {
        if (err) ckpt_error_clear(err);
        return 0;
    }
    return 1;
}

static int fail(ckpt_error *err, const char *path, ckpt_status st) {
    if (err && !err->member[0]) ckpt_error_member(err, path);
    return (int)st;
}

/* `as` is the graph node the array is listed under: v itself, or the joblib
   NumpyArrayWrapper whose nested pickle v is the root of. */
static int recognize_reconstruct(ckpt_file *f, ckpt_value *v, const ckpt_value *as, const char *path,
                                 ckpt_error *err) {
    const ckpt_value *state = ckpt_value_state(v);
    if (!state) return 0; /* an ndarray without state: nothing to describe */
    if (ckpt_value_kind(state) != CKPT_K_TUPLE ||
        (ckpt_value_len(state) != 5 && ckpt_value_len(state) != 4))
        return fail(err, path, ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                              "ndarray state of '%s' is not a 4- or 5-tuple", path));
    size_t o = ckpt_value_len(state) == 5 ? 1 : 0;
    int64_t shape[CKPT__NP_MAX_NDIM];
    uint32_t nd;
    ckpt_status st = ckpt__np_shape(f, ckpt_value_item(state, o), shape, &nd, err);
    if (st != CKPT_OK) return fail(err, path, st);
    const ckpt_dtype_info *dt;
    if (!dtype_or_skip(f, ckpt_value_item(state, o + 1), &dt, &st, err)) return 0;
    if (st != CKPT_OK) return fail(err, path, st);
    int fortran = truthy(ckpt_value_item(state, o + 2));
    ckpt__np_src src;
    st = get_src(ckpt_value_item(state, o + 3), &src, err);
    if (st != CKPT_OK) return fail(err, path, st);
    st = ckpt__np_add(f, path, as, dt, nd, shape, fortran, &src, NULL, err);
    return st == CKPT_OK ? 1 : fail(err, path, st);
}

static int recognize_frombuffer(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err) {
    const ckpt_value *args = ckpt_value_args(v);
    if (ckpt_value_kind(args) != CKPT_K_TUPLE || ckpt_value_len(args) != 4)
        return fail(err, path, ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                              "_frombuffer arguments of '%s' are not 4", path));
    int64_t shape[CKPT__NP_MAX_NDIM];
    uint32_t nd;
    ckpt_status st = ckpt__np_shape(f, ckpt_value_item(args, 2), shape, &nd, err);
    if (st != CKPT_OK) return fail(err, path, st);
    const ckpt_dtype_info *dt;
    if (!dtype_or_skip(f, ckpt_value_item(args, 1), &dt, &st, err)) return 0;
    if (st != CKPT_OK) return fail(err, path, st);
    const ckpt_value *order = ckpt_value_item(args, 3);
    int fortran = ckpt_value_is_str(order, "F");
    ckpt__np_src src;
    st = get_src(ckpt_value_item(args, 0), &src, err);
    if (st == CKPT_OK && (src.latin1 || src.items))
        st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "_frombuffer of '%s': not a buffer", path);
    if (st != CKPT_OK) return fail(err, path, st);
    st = ckpt__np_add(f, path, v, dt, nd, shape, fortran, &src, NULL, err);
    return st == CKPT_OK ? 1 : fail(err, path, st);
}

static int recognize_scalar(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err) {
    const ckpt_value *args = ckpt_value_args(v);
    if (ckpt_value_kind(args) != CKPT_K_TUPLE || ckpt_value_len(args) < 1) return 0;
    const ckpt_dtype_info *dt;
    ckpt_status st;
    if (!dtype_or_skip(f, ckpt_value_item(args, 0), &dt, &st, err)) return 0;
    if (st != CKPT_OK) return fail(err, path, st);
    if (ckpt__dtype_has_object(dt) || ckpt_value_len(args) != 2) return 0; /* object scalar: a plain value */
    ckpt__np_src src;
    st = get_src(ckpt_value_item(args, 1), &src, err);
    if (st == CKPT_OK && src.items)
        st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "scalar '%s': data is a list", path);
    if (st != CKPT_OK) return fail(err, path, st);
    st = ckpt__np_add(f, path, v, dt, 0, NULL, 0, &src, NULL, err);
    return st == CKPT_OK ? 1 : fail(err, path, st);
}

int ckpt__recognize_numpy(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err) {
    if (ckpt_value_kind(v) != CKPT_K_OBJECT) return 0;
    const ckpt_value *c = ckpt_value_callable(v);
    if (canon_is(c, "numpy.core.multiarray._reconstruct")) return recognize_reconstruct(f, v, v, path, err);
    if (canon_is(c, "numpy.core.numeric._frombuffer")) return recognize_frombuffer(f, v, path, err);
    if (canon_is(c, "numpy.core.multiarray.scalar")) return recognize_scalar(f, v, path, err);
    int jl = ckpt__joblib_class(v);
    if (jl) return ckpt__joblib_recognize(f, v, path, jl, err);
    return 0;
}

int ckpt__recognize_nested_array(ckpt_file *f, ckpt_value *root, const ckpt_value *as,
                                 const char *path, ckpt_error *err) {
    if (ckpt_value_kind(root) != CKPT_K_OBJECT ||
        !canon_is(ckpt_value_callable(root), "numpy.core.multiarray._reconstruct"))
        return 0;
    return recognize_reconstruct(f, root, as, path, err);
}
