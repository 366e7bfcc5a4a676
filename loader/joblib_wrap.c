/*
 * joblib_wrap.c - joblib's array placeholders inside a pickle.
 *
 *   NumpyArrayWrapper (joblib >= 0.10; also under sklearn.externals.joblib):
 *     NEWOBJ + BUILD {subclass, shape, order, dtype, allow_mmap[,
 *     numpy_array_alignment_bytes]}; right after the BUILD opcode the stream
 *     holds, for joblib >= 1.2 (the state has numpy_array_alignment_bytes),
 *     one byte `pad` and `pad` padding bytes, then prod(shape) * itemsize raw
 *     bytes in `order`; object arrays are a nested protocol 2 pickle instead.
 *     The after_build hook skips these bytes and records them as the node's
 *     payload; the recognizer turns the node into an array over them.
 *   NDArrayWrapper (joblib < 0.10, multi-file): {filename, subclass,
 *     allow_mmap}; the array is the .npy file `filename` beside the pickle
 *     (a bare file name: anything with a path separator is refused).
 */
#include "numpy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JL_MAX_SIDECAR_NAME 255u

static int cls_is(const char *cls, const char *name) {
    static const char *mods[] = {"joblib.numpy_pickle.", "joblib.numpy_pickle_compat.",
                                 "sklearn.externals.joblib.numpy_pickle.",
                                 "sklearn.externals.joblib.numpy_pickle_compat."};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
        size_t ml = strlen(mods[i]);
        if (strncmp(cls, mods[i], ml) == 0 && strcmp(cls + ml, name) == 0) return 1;
    }
    return 0;
}

int ckpt__joblib_class(const ckpt_value *v) {
    if (ckpt_value_kind(v) != CKPT_K_OBJECT) return CKPT__JL_NONE;
    const char *cls = ckpt_value_class(v);
    if (!cls || !strstr(cls, "joblib")) return CKPT__JL_NONE;
    if (cls_is(cls, "NumpyArrayWrapper")) return CKPT__JL_WRAPPER;
    if (cls_is(cls, "NDArrayWrapper")) return CKPT__JL_ND;
    if (cls_is(cls, "ZNDArrayWrapper")) return CKPT__JL_ZND;
    return CKPT__JL_NONE;
}

/* shape, order, dtype of a NumpyArrayWrapper state */
typedef struct wrap_meta {
    int64_t shape[CKPT__NP_MAX_NDIM];
    uint32_t ndim;
    int fortran;
    int padded;
    const ckpt_dtype_info *dt;
} wrap_meta;

static ckpt_status wrap_meta_read(ckpt_file *f, const ckpt_value *obj, wrap_meta *m, ckpt_error *err) {
    const ckpt_value *state = ckpt_value_state(obj);
    if (ckpt_value_kind(state) != CKPT_K_DICT)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "joblib: NumpyArrayWrapper state is not a dict");
    ckpt_status st = ckpt__np_shape(f, ckpt_dict_get(state, "shape"), m->shape, &m->ndim, err);
    if (st != CKPT_OK) return st;
    const ckpt_value *order = ckpt_dict_get(state, "order");
    m->fortran = ckpt_value_is_str(order, "F");
    const ckpt_value *al = ckpt_dict_get(state, "numpy_array_alignment_bytes");
    m->padded = al && ckpt_value_kind(al) != CKPT_K_NONE;
    return ckpt__dtype_from_value(f, ckpt_dict_get(state, "dtype"), &m->dt, err);
}

static int disasm_cb(void *user, const ckpt_disasm_op *op) {
    (void)user;
    (void)op;
    return 0;
}

ckpt_status ckpt__joblib_after_build(void *user, ckpt_graph *g, ckpt_value *obj,
                                     const uint8_t *buf, size_t len, size_t *pos,
                                     ckpt_error *err) {
    (void)g;
    ckpt_file *f = user;
    if (ckpt__joblib_class(obj) != CKPT__JL_WRAPPER) return CKPT_OK;
    uint64_t here = *pos;
    if (ckpt_value_payload(obj, NULL, NULL))
        return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)here, "joblib: a NumpyArrayWrapper built twice");
    wrap_meta m;
    ckpt_status st = wrap_meta_read(f, obj, &m, err);
    if (st != CKPT_OK) {
        if (err && err->offset < 0) err->offset = (int64_t)here;
        return st;
    }
    if (f->format == CKPT_FMT_PICKLE) f->format = CKPT_FMT_JOBLIB;
    if (ckpt__dtype_has_object(m.dt)) {
        /* a nested pickle: find its end without building it (built by the recognizer) */
        ckpt_pickle_info info;
        /* f->map, not buf: buf may be a window that holds only the opcodes read so far
           (fmt_pickle.c's sparse read); same offsets, the whole file */
        if (f->map_len != len) return ckpt_error_set(err, CKPT_E_ARG, (int64_t)here, "joblib: input length mismatch");
        st = ckpt_pickle_disasm(f->map, f->map_len, *pos, disasm_cb, NULL, &info, err);
        if (st != CKPT_OK) return st;
        ckpt_value_set_payload(obj, here, info.end - here);
        *pos = (size_t)info.end;
        return CKPT_OK;
    }
    uint64_t off = here, nbytes = m.dt->itemsize, end;
    for (uint32_t k = 0; k < m.ndim; k++)
        if (!ckpt__mul_ok(nbytes, (uint64_t)m.shape[k], &nbytes))
            return ckpt_error_set(err, CKPT_E_RANGE, (int64_t)here, "joblib: array size overflows");
    if (m.padded) {
        if (off >= len)
            return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)off, "joblib: missing padding length byte");
        uint64_t pad = buf[off];
        off += 1 + pad;
        if (off > len)
            return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)here, "joblib: padding runs past the end");
    }
    if (!ckpt__add_ok(off, nbytes, &end) || end > len)
        return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)off,
                              "joblib: array data of %llu bytes runs past the end of the stream",
                              (unsigned long long)nbytes);
    ckpt_value_set_payload(obj, off, nbytes);
    *pos = (size_t)end;
    return CKPT_OK;
}

static int fail(ckpt_error *err, const char *path, ckpt_status st) {
    if (err && !err->member[0]) ckpt_error_member(err, path);
    return (int)st;
}

static int recognize_wrapper(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err) {
    uint64_t off, n;
    if (!ckpt_value_payload(v, &off, &n))
        return fail(err, path, ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                              "joblib: no array data followed the wrapper at '%s'", path));
    if (off > f->map_len || n > f->map_len - off)
        return fail(err, path, ckpt_error_set(err, CKPT_E_BOUNDS, (int64_t)off, "joblib: payload outside the file"));
    wrap_meta m;
    ckpt_status st = wrap_meta_read(f, v, &m, err);
    if (st != CKPT_OK) return fail(err, path, st);
    if (ckpt__dtype_has_object(m.dt)) {
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        st = ckpt_pickle_load(f->graph, f->map, (size_t)(off + n), (size_t)off, NULL, &root, &info, err);
        if (st != CKPT_OK) return fail(err, path, st);
        /* listed under the wrapper: that is the node the graph holds at `path` */
        int rc = ckpt__recognize_nested_array(f, root, v, path, err);
        if (rc == 0)
            return fail(err, path, ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)off,
                                                  "joblib: the object array pickle at '%s' is not an array", path));
        return rc;
    }
    ckpt__np_src src;
    memset(&src, 0, sizeof src);
    src.p = f->map + off;
    src.n = n;
    st = ckpt__np_add(f, path, v, m.dt, m.ndim, m.shape, m.fortran, &src, NULL, err);
    return st == CKPT_OK ? 1 : fail(err, path, st);
}

/* ---- pre-0.10 sidecar .npy ---- */

static ckpt_status sidecar_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    ckpt_status st = ckpt__check_span(a, 0, a->src_len, err);
    if (st != CKPT_OK) return st;
    size_t al = f->min_align > 64 ? f->min_align : 64;
    if (!ckpt__dtype_needs_swap(a->info.dtype) && ((uintptr_t)a->src % al) == 0) {
        a->data = a->src; /* inside the buffer we read the sidecar into (a->copy) */
        a->info.state = CKPT_DATA_COPIED;
        return CKPT_OK;
    }
    /* copy_in copies from src before releasing the old a->copy (the sidecar buffer) */
    st = ckpt__array_copy_in(f, a, a->src, a->info.nbytes, 1, err);
    if (st != CKPT_OK) return st;
    a->src = NULL;
    a->data = a->copy;
    a->info.state = CKPT_DATA_COPIED;
    return CKPT_OK;
}

static int recognize_nd(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err) {
    const ckpt_value *state = ckpt_value_state(v);
    const ckpt_value *fn = ckpt_dict_get(state, "filename");
    size_t nl = 0;
    const char *name = (const char *)ckpt_value_bytes(fn, &nl);
    if (ckpt_value_kind(fn) != CKPT_K_STR || !name || nl == 0 || nl > JL_MAX_SIDECAR_NAME ||
        memchr(name, '/', nl) || memchr(name, '\\', nl) || memchr(name, 0, nl) ||
        (nl == 1 && name[0] == '.') || (nl == 2 && name[0] == '.' && name[1] == '.'))
        return fail(err, path, ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                              "joblib: NDArrayWrapper at '%s' has no plain file name", path));
    if (f->format == CKPT_FMT_PICKLE || f->format == CKPT_FMT_JOBLIB) f->format = CKPT_FMT_JOBLIB_MULTI;
    if (!f->path) {
        ckpt__file_add_fact(f, "sidecar not opened (memory input)", path);
        return 0;
    }
    const char *slash = strrchr(f->path, '/');
    size_t dl = slash ? (size_t)(slash - f->path) + 1 : 0;
    char full[4096];
    if (dl + nl + 1 > sizeof full)
        return fail(err, path, ckpt_error_set(err, CKPT_E_LIMIT, -1, "joblib: sidecar path too long"));
    memcpy(full, f->path, dl);
    memcpy(full + dl, name, nl);
    full[dl + nl] = 0;
    int fd;
    do {
        fd = open(full, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        ckpt_error_member(err, full);
        return fail(err, path, ckpt_error_set(err, CKPT_E_IO, -1, "joblib: cannot open sidecar '%s': %s",
                                              full, strerror(errno)));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > f->limits.max_memory ||
        (uint64_t)sb.st_size > SIZE_MAX - 64) {
        close(fd);
        return fail(err, path, ckpt_error_set(err, CKPT_E_IO, -1, "joblib: sidecar '%s' unusable", full));
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = ckpt__aligned_alloc(&f->alloc, size ? size : 1, f->min_align);
    if (!buf) {
        close(fd);
        return fail(err, path, ckpt_error_set(err, CKPT_E_NOMEM, -1, "joblib: out of memory"));
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    ckpt__npy_header h;
    ckpt_status st = ckpt__npy_parse(f, buf, got, &h, err);
    ckpt__array *a = NULL;
    if (st == CKPT_OK) st = ckpt__npy_add(f, path, v, &h, buf + h.data_off, got - h.data_off, NULL, &a, err);
    if (st != CKPT_OK || !a || a->info.state == CKPT_DATA_UNAVAILABLE) {
        ckpt__aligned_free(&f->alloc, buf);
        if (a) a->src = NULL;
        return st == CKPT_OK ? 1 : fail(err, path, st);
    }
    a->copy = buf; /* owned by the record; freed with it */
    a->resolve = sidecar_resolve;
    a->info.will_copy = 1;
    a->info.note = "pre-0.10 joblib: data read from the sidecar .npy";
    return 1;
}

int ckpt__joblib_recognize(ckpt_file *f, ckpt_value *v, const char *path, int cls, ckpt_error *err) {
    switch (cls) {
    case CKPT__JL_WRAPPER: return recognize_wrapper(f, v, path, err);
    case CKPT__JL_ND: return recognize_nd(f, v, path, err);
    default: return 0; /* ZNDArrayWrapper (zlib sidecars): not listed */
    }
}
