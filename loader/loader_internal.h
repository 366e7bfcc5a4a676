/*
 * loader_internal.h - what the format readers inside loader/ share.  Nothing
 * outside loader/ includes this (tools and runtime use include/ only).
 *
 * Open path (loader/file_open.c):
 *   map or read the file -> detect the format from its bytes -> call that
 *   format's open function, which runs the pickle(s) into f->graph, sets
 *   f->root, and adds arrays with ckpt__file_add_array() (metadata only).
 *   Data is resolved lazily by the array's `resolve` callback.
 *
 * Path walk (loader/array_paths.c): walks the graph from f->root with an explicit
 * stack, a visited set and the depth limit, builds dotted paths, and asks each
 * recognizer in turn whether a node is an array/tensor.
 */
#ifndef CKPT_LOADER_INTERNAL_H
#define CKPT_LOADER_INTERNAL_H

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_pickle.h"

#include <stddef.h>
#include <stdint.h>

/* ---- memory (loader/alloc.c) ---- */
void *ckpt__realloc(const ckpt_allocator *a, void *p, size_t old_size, size_t new_size);
void *ckpt__malloc(const ckpt_allocator *a, size_t n);
void *ckpt__calloc(const ckpt_allocator *a, size_t count, size_t size); /* overflow-checked */
void ckpt__free(const ckpt_allocator *a, void *p, size_t size);
/* 64-byte (or `align`, a power of two >= 64) aligned block; free with ckpt__aligned_free. */
void *ckpt__aligned_alloc(const ckpt_allocator *a, size_t n, size_t align);
void ckpt__aligned_free(const ckpt_allocator *a, void *p);
char *ckpt__strdup(const ckpt_allocator *a, const char *s);

/* Checked arithmetic: return 0 on overflow. */
static inline int ckpt__add_ok(uint64_t a, uint64_t b, uint64_t *r) {
    if (a > UINT64_MAX - b) return 0;
    *r = a + b;
    return 1;
}
static inline int ckpt__mul_ok(uint64_t a, uint64_t b, uint64_t *r) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *r = a * b;
    return 1;
}

/* ---- bounded reader cursor ---- */
typedef struct ckpt__cursor {
    const uint8_t *p;
    size_t len;
    size_t pos;
} ckpt__cursor;

static inline int ckpt__has(const ckpt__cursor *c, size_t n) { return c->len - c->pos >= n; }

/* ---- one array record ---- */
typedef struct ckpt__array ckpt__array;
typedef ckpt_status (*ckpt__resolve_fn)(ckpt_file *f, ckpt__array *a, ckpt_error *err);

struct ckpt__array {
    /* The public view.  path, dtype, shape and strides are also named here as
       writable pointers: the anonymous struct overlays the first members of
       ckpt_array_info (offsets checked below), so they are stored once. */
    union {
        ckpt_array_info info;
        struct {
            char *path;                 /* in the file's meta blocks (array_table.c) */
            const ckpt_value *value_;   /* = info.value */
            ckpt_dtype_info *dtype;     /* owned by the file (graph arena) or static */
            uint32_t ndim_;             /* = info.ndim */
            int64_t *shape;             /* ndim entries, meta blocks */
            int64_t *strides;           /* ndim entries, meta blocks, bytes */
        };
    };
    /* data source, interpreted by `resolve` (generic default: see below) */
    const uint8_t *src;         /* bytes of the data if known (into map/owned buffer) */
    uint64_t src_len;           /* bytes available at src (bound for strides) */
    uint64_t src_base;          /* offset of element 0 inside src (0 unless negative strides) */
    const ckpt_value *obj_items;/* OBJECT dtype: LIST/TUPLE holding the items in C order */
    ckpt__resolve_fn resolve;   /* NULL: generic resolve over src/src_len */
    void *fmt;                  /* format-private (e.g. torch storage index) */
    void *copy;                 /* aligned copy, if one was made (ckpt__aligned_free) */
    const void *data;           /* resolved pointer */
};
_Static_assert(offsetof(ckpt__array, path) == offsetof(ckpt__array, info.path) &&
                   offsetof(ckpt__array, value_) == offsetof(ckpt__array, info.value) &&
                   offsetof(ckpt__array, dtype) == offsetof(ckpt__array, info.dtype) &&
                   offsetof(ckpt__array, ndim_) == offsetof(ckpt__array, info.ndim) &&
                   offsetof(ckpt__array, shape) == offsetof(ckpt__array, info.shape) &&
                   offsetof(ckpt__array, strides) == offsetof(ckpt__array, info.strides),
               "ckpt__array: the private names must overlay ckpt_array_info");

/* Most memory the xz/lzma decoders may take (their dictionary is declared by
   the stream: a raw .lzma header can ask for 4 GiB in 13 bytes).  xz -9e
   needs 65 MiB; anything above is refused as CKPT_E_LIMIT. */
#define CKPT__LZMA_MEMLIMIT ((uint64_t)256 << 20)

/* Ranges a reader may record as read through the mapping (see ckpt_file.touch). */
#define CKPT__TOUCH_MAX 8

/* ---- the file handle ---- */
struct ckpt_file {
    ckpt_allocator alloc;
    ckpt_limits limits;
    unsigned flags;
    size_t min_align;
    char *path;                 /* NULL for memory */

    const uint8_t *map;         /* whole file bytes */
    size_t map_len;
    int is_mmap;                /* map came from mmap (munmap on close) */
    int fd_plus1;               /* file descriptor + 1 while ckpt_open runs the reader of an mmap'ed
                                   file (pread of scattered headers costs less than page faults), else 0 */
    /* Byte ranges the open read through the mapping, when the reader tracks
       them (ckpt__file_touched): ckpt_open drops only their pages afterwards.
       touch_n == 0 or touch_all: the whole mapping is dropped. */
    struct { uint64_t off, end; } touch[CKPT__TOUCH_MAX];
    unsigned touch_n;
    int touch_all;
    void *owned;                /* map came from a read/decompress buffer we own */
    size_t owned_len;

    ckpt_format format;
    const char *codec;          /* static string or NULL */
    int protocol;

    ckpt_graph *graph;
    ckpt_value *root;
    ckpt_value **pickles;       /* every pickle root in the file, in order */
    size_t n_pickles, cap_pickles;

    ckpt__array *arrays;
    size_t n_arrays, cap_arrays;
    /* value -> array index lookup (open addressing on ckpt_value_id, kept up to
       date by ckpt__file_add_array): pairs {id+1, index}, 0 = empty slot */
    uint64_t *by_value;
    size_t by_value_cap;        /* slots (pairs) */
    /* path -> array index (open addressing on a string hash): index+1, 0 = empty */
    uint64_t *by_path;
    size_t by_path_cap;
    /* bump blocks holding every record's shape, strides and path (array_table.c;
       released by ckpt__file_free_arrays) */
    void *meta_blocks;
    uint8_t *meta_p;
    size_t meta_left;
    uint64_t file_size;         /* bytes of the file as opened (before any decompression) */
    uint64_t copied_bytes;      /* aligned array copies made so far (bounded by limits.max_memory) */

    char **facts;               /* key, value, key, value ... */
    size_t n_facts, cap_facts;

    /* format-private state and its destructor */
    void *fmt_state;
    void (*fmt_free)(ckpt_file *f);
};

/* Add an array described by the caller; takes ownership of nothing: copies
   shape/strides/path.  `dtype` must live as long as f (use ckpt__dtype_*).
   strides may be NULL (C-contiguous computed).  On success *out (may be NULL)
   is the new record, whose src/resolve/fmt the caller then sets. Checks ndim,
   dims >= 0, element count and byte size overflow, limits.max_arrays. */
ckpt_status ckpt__file_add_array(ckpt_file *f, const char *path, const ckpt_value *value,
                                 const ckpt_dtype_info *dtype, uint32_t ndim, const int64_t *shape,
                                 const int64_t *strides, ckpt__array **out, ckpt_error *err);
/* Make room for `n` more array records (a capacity hint from the format
   reader; capped at limits.max_arrays; growth stays automatic). */
ckpt_status ckpt__file_reserve_arrays(ckpt_file *f, size_t n);
/* The open read [off, off + len) through the mapping (clamped to it).  A reader
   that records every range it reads lets ckpt_open drop just those pages (a
   page-table walk over a 500 MB mapping costs ~0.25 ms); past CKPT__TOUCH_MAX
   ranges, or after ckpt__file_touched_all (e.g. libzip read the archive), the
   whole mapping is dropped. */
void ckpt__file_touched(ckpt_file *f, uint64_t off, uint64_t len);
void ckpt__file_touched_all(ckpt_file *f);
/* pread up to n bytes at file offset off into buf, retrying short reads and
   EINTR; returns the bytes read (< n at end of file or on an error). */
size_t ckpt__pread_upto(int fd, uint8_t *buf, size_t n, uint64_t off);
/* Dropping read pages after an open is worth its cost (a TLB shoot-down per
   call) only from this many bytes of file (whole mapping) or of recorded
   ranges; tests lower ckpt__drop_min (file_open.c) to 0. */
#define CKPT__DROP_MIN ((size_t)256 << 10)
extern size_t ckpt__drop_min;
/* Record a displayable fact (copied). */
ckpt_status ckpt__file_add_fact(ckpt_file *f, const char *key, const char *value);
/* Remember another pickle root. */
ckpt_status ckpt__file_add_pickle(ckpt_file *f, ckpt_value *root);
/* Copy `n` bytes into an aligned buffer owned by the array (>= 64 bytes and
   min_align; src NULL leaves it uninitialised) and make it the array's data
   (state COPIED).  `byteswap`: convert whole items to native order with
   ckpt__dtype_byteswap (a no-op for native dtypes). */
ckpt_status ckpt__array_copy_in(ckpt_file *f, ckpt__array *a, const uint8_t *src, uint64_t n,
                                int byteswap, ckpt_error *err);
/* Check that an array with these shape/strides fits in `avail` bytes starting
   at byte offset `base` (negative strides allowed); CKPT_E_BOUNDS otherwise. */
ckpt_status ckpt__check_span(const ckpt__array *a, uint64_t base, uint64_t avail,
                             ckpt_error *err);
/* After a format opener succeeded: set info.will_copy/note of every array that
   uses the generic resolve (src/src_len), from alignment, byte order, strides. */
void ckpt__file_plan_arrays(ckpt_file *f);
/* A table of records (arrays, torch storages) of `new_bytes` (contents kept
   up to the smaller size; NULL when out of memory, p untouched): heap, or
   with the default allocator on Linux a 2 MB-aligned huge-page mapping for
   big ones.  Free with ckpt__table_free and the same byte size. */
void *ckpt__table_realloc(ckpt_file *f, void *p, size_t old_bytes, size_t new_bytes);
void ckpt__table_free(ckpt_file *f, void *p, size_t bytes);
/* Free every array record and the lookup tables (ckpt_close). */
void ckpt__file_free_arrays(ckpt_file *f);

/* ---- dtypes (loader/numpy_dtype.c) ----
   Descriptions made here live in f->graph (created if f has none yet), so they
   last until ckpt_close.  For a subarray dtype (e.g. ('<f8', (2,3))) `type`,
   `byteorder`, `unit` and `fields` describe the base element and `itemsize`
   is the whole subarray (numpy's dtype.itemsize). */
/* Native little-endian description of a fixed-size type (bool..complex128,
   bfloat16, datetime64/timedelta64 without unit, object); NULL otherwise. */
const ckpt_dtype_info *ckpt__dtype_builtin(ckpt_dtype t);
/* From a numpy type string: "<f8", "|b1", "f4", "<U5", "|S3", "|V16", "|O",
   "<M8[ns]", "d", "?" ... */
ckpt_status ckpt__dtype_from_str(ckpt_file *f, const char *s, size_t n,
                                 const ckpt_dtype_info **out, ckpt_error *err);
/* From a numpy.dtype graph node (REDUCE numpy.dtype(...) + BUILD state). */
ckpt_status ckpt__dtype_from_value(ckpt_file *f, const ckpt_value *v,
                                   const ckpt_dtype_info **out, ckpt_error *err);
/* Base element of a subarray dtype (dt itself when it is not one). */
const ckpt_dtype_info *ckpt__dtype_base(const ckpt_dtype_info *dt);
/* 1 if the dtype is or contains object items. */
int ckpt__dtype_has_object(const ckpt_dtype_info *dt);
/* 1 if data stored in this dtype must be byte-swapped to be native. */
int ckpt__dtype_needs_swap(const ckpt_dtype_info *dt);
/* Swap `nelems` items at p in place into native order (fields, complex halves,
   UCS-4 units, subarrays); no-op when not needed. */
ckpt_status ckpt__dtype_byteswap(ckpt_file *f, const ckpt_dtype_info *dt, uint8_t *p,
                                 uint64_t nelems, ckpt_error *err);

/* ---- format readers: probe (cheap, on the first bytes) and open ---- */
ckpt_status ckpt__open_pickle(ckpt_file *f, ckpt_error *err);       /* pickle + joblib */
ckpt_status ckpt__open_joblib_compressed(ckpt_file *f, ckpt_error *err);
ckpt_status ckpt__open_npy(ckpt_file *f, ckpt_error *err);
ckpt_status ckpt__open_zip(ckpt_file *f, ckpt_error *err);          /* npz / torch zip / torchscript */
ckpt_status ckpt__open_torch_legacy(ckpt_file *f, ckpt_error *err);
ckpt_status ckpt__open_torch_tar(ckpt_file *f, ckpt_error *err);
ckpt_status ckpt__open_sharded(ckpt_file *f, ckpt_error *err);
/* .npz: called by ckpt__open_zip (loader/zip.c) when every member is a .npy;
   `za` is the libzip archive (zip_t *) opened over f->map. */
ckpt_status ckpt__open_npz(ckpt_file *f, void *za, ckpt_error *err);

/* ---- verification (loader/verify.c) ----
   ckpt_file_verify's zip check over raw bytes (no ckpt_file: for tests). */
ckpt_status ckpt__verify_zip_bytes(const void *buf, size_t len, ckpt_verify_report *rep, ckpt_error *err);

/* ---- recognizers used by the path walk ---- */
/* Return 1 when `v` was turned into an array (added to f), 0 when it is not an
   array node (the walk then descends into it), negative status on error. */
typedef int (*ckpt__recognizer)(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err);
int ckpt__recognize_numpy(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err);
int ckpt__recognize_torch(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err);
/* Walk from `root` (prefix may be "" ) calling the recognizers. */
ckpt_status ckpt__walk_arrays(ckpt_file *f, ckpt_value *root, const char *prefix, ckpt_error *err);

#endif /* CKPT_LOADER_INTERNAL_H */
