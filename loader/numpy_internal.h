/*
 * numpy_internal.h - what the NumPy / joblib / .npy / .npz readers share
 * (numpy.c, npy.c, npz.c, joblib.c and fmt_pickle.c's joblib hook).
 */
#ifndef CKPT_NUMPY_INTERNAL_H
#define CKPT_NUMPY_INTERNAL_H

#include "loader_internal.h"

/* Largest .npy header accepted (numpy itself refuses more than 10000 bytes
   unless asked; versions 2/3 allow 4 GiB: we bound it). */
#define CKPT__NPY_MAX_HEADER ((size_t)1 << 20)
/* Dimensions a .npy shape / pickled shape may have (further bounded by limits.max_ndim). */
#define CKPT__NP_MAX_NDIM 64u

/* A parsed .npy header. */
typedef struct ckpt__npy_header {
    int major, minor;
    uint64_t data_off;              /* offset of the data from the start of the .npy */
    const ckpt_dtype_info *dtype;   /* subarray dtypes already expanded into shape */
    uint32_t ndim;
    int64_t shape[2 * CKPT__NP_MAX_NDIM];
    int fortran;
} ckpt__npy_header;

/* Parse the header of a .npy held in p[0..n) (n may be just a prefix as long
   as it covers the header).  Dtype descriptions go to f's arena. */
ckpt_status ckpt__npy_parse(ckpt_file *f, const uint8_t *p, size_t n, ckpt__npy_header *h,
                            ckpt_error *err);

/* Add an array described by a .npy header whose data are `avail` bytes at
   `data` (which live as long as f).  `member` (may be NULL) names the archive
   member / file.  Object-dtype .npy (a pickle) is listed as unavailable.
   `value`: the graph node it stands for (a joblib NDArrayWrapper), or NULL. */
ckpt_status ckpt__npy_add(ckpt_file *f, const char *path, const ckpt_value *value,
                          const ckpt__npy_header *h, const uint8_t *data, uint64_t avail,
                          const char *member, ckpt__array **out, ckpt_error *err);

/* Fortran-order byte strides for shape (ndim entries) and itemsize. */
void ckpt__np_fortran_strides(uint32_t ndim, const int64_t *shape, uint64_t itemsize,
                              int64_t *strides);

/* Where the bytes of a pickled/joblib array are. */
typedef struct ckpt__np_src {
    const uint8_t *p;           /* bytes (or latin-1 text as UTF-8 when latin1) */
    uint64_t n;
    int latin1;                 /* protocol 0-2 str data: decoded at resolve */
    int missing;                /* out-of-band buffer not supplied */
    size_t buffer_index;
    const ckpt_value *items;    /* object arrays: LIST/TUPLE of the items */
} ckpt__np_src;

/* Add a NumPy array (subarray dtypes expanded, Fortran strides, checks the
   data length against the shape).  `value` is the graph node. */
ckpt_status ckpt__np_add(ckpt_file *f, const char *path, const ckpt_value *value,
                         const ckpt_dtype_info *dt, uint32_t ndim, const int64_t *shape,
                         int fortran, const ckpt__np_src *src, ckpt__array **out,
                         ckpt_error *err);
/* Read a shape (tuple/list of ints, or one int) into shape[CKPT__NP_MAX_NDIM]. */
ckpt_status ckpt__np_shape(ckpt_file *f, const ckpt_value *sv, int64_t *shape, uint32_t *ndim,
                           ckpt_error *err);

/* Structured dtype from fields (names not NUL-terminated; offsets checked
   against itemsize) and subarray dtype from a base; both in f's arena. */
ckpt_status ckpt__dtype_make_struct(ckpt_file *f, uint32_t n, const char *const *names,
                                    const size_t *name_lens, const uint64_t *offsets,
                                    const ckpt_dtype_info *const *dts, uint64_t itemsize,
                                    const ckpt_dtype_info **out, ckpt_error *err);
ckpt_status ckpt__dtype_make_subarray(ckpt_file *f, const ckpt_dtype_info *base, uint32_t ndim,
                                      const int64_t *shape, const ckpt_dtype_info **out,
                                      ckpt_error *err);

/* The root `root` of a nested pickle holding one ndarray (joblib's object
   arrays), listed under the graph node `as` (the NumpyArrayWrapper that sits
   in the graph), so ckpt_file_array_of(as) finds it.  1 added, 0 root is not
   a _reconstruct'ed ndarray, negative status on error. */
int ckpt__recognize_nested_array(ckpt_file *f, ckpt_value *root, const ckpt_value *as,
                                 const char *path, ckpt_error *err);

/* joblib class names (canonical "module.name"), 0 if not one of them. */
enum { CKPT__JL_NONE = 0, CKPT__JL_WRAPPER, CKPT__JL_ND, CKPT__JL_ZND };
int ckpt__joblib_class(const ckpt_value *v);

/* Recognizer part for joblib wrappers (numpy.c calls it): 1 added, 0 not one,
   negative status on error. */
int ckpt__joblib_recognize(ckpt_file *f, ckpt_value *v, const char *path, int cls,
                           ckpt_error *err);

/* The after_build hook for NumpyArrayWrapper: consumes the raw bytes (or the
   nested object pickle) that follow the BUILD and records them as the
   wrapper's payload.  `user` is the ckpt_file. */
ckpt_status ckpt__joblib_after_build(void *user, ckpt_graph *g, ckpt_value *obj,
                                     const uint8_t *buf, size_t len, size_t *pos,
                                     ckpt_error *err);

/* fmt_pickle.c's sparse pread windows, for tests: smallest mapped file read
   that way (8 MB), first window (16 KB), first window after a jump (512 B),
   chunk size (64 KB).  Tests shrink them to run every fixture through
   windows that move, jump and change chunks. */
extern size_t ckpt__sparse_min, ckpt__sparse_first, ckpt__sparse_win, ckpt__sparse_chunk;

#endif
