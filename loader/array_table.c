/*
 * array_table.c - the per-file table of arrays/tensors: adding records
 * (metadata only, every dimension checked), lookup by path and by graph node,
 * lazy data resolution (zero-copy pointer into the file when aligned and in
 * native byte order, otherwise an aligned native-order copy), and element
 * access as double / int64, also of one field of a structured element.
 *
 * Lookup tables (open addressing, linear probing, load factor <= 3/4):
 *   f->by_value: (ckpt_value_id + 1) << 32 | array index; 0 marks an empty slot.
 *   f->by_path:  array index + 1 keyed by a hash of the path; 0 = empty.
 * Both are maintained by ckpt__file_add_array, so the const accessors never
 * mutate the handle (safe to share after ckpt_file_load_all).
 */
#include "loader_internal.h"

#include <math.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Initial sizes of the growing tables. */
#define CKPT__ARRAYS_INITIAL 16u
#define CKPT__HASH_INITIAL 32u

/* ---------------------------------------------------------------- hashing */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t str_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

/* by_path slot: the high 32 bits of the path's hash, then index + 1 in the
   low 32 bits (0 = empty); the stored hash places the slot and skips the
   string comparison of a colliding path, so growing needs no string at all.
   Indices stay below UINT32_MAX (checked when a record is added). */
#define PSLOT(h32, i) (((uint64_t)(h32) << 32) | ((uint64_t)(i) + 1))
#define PSLOT_HASH(s) ((uint32_t)((s) >> 32))
#define PSLOT_INDEX(s) ((size_t)(uint32_t)(s) - 1)
#define CKPT__MAX_RECORDS ((uint64_t)UINT32_MAX - 1)
/* by_value slot: node id + 1 (< 2^32: ids are 32-bit) in the high bits, index in the low */
#define VSLOT(key, i) (((uint64_t)(key) << 32) | (uint64_t)(i))
#define VSLOT_KEY(s) ((s) >> 32)
#define VSLOT_INDEX(s) ((size_t)(uint32_t)(s))

static uint32_t path_hash32(const char *s) { return (uint32_t)(str_hash(s) >> 32); }

/* Both tables with `cap` slots (a power of two), moving the old entries
   (unique already: no comparisons). */
static ckpt_status rehash(ckpt_file *f, size_t cap) {
    uint64_t *bv = ckpt__calloc(&f->alloc, cap, sizeof(uint64_t));
    uint64_t *bp = ckpt__calloc(&f->alloc, cap, sizeof(uint64_t));
    if (!bv || !bp) {
        ckpt__free(&f->alloc, bv, cap * sizeof(uint64_t));
        ckpt__free(&f->alloc, bp, cap * sizeof(uint64_t));
        return CKPT_E_NOMEM;
    }
    size_t mask = cap - 1;
    for (size_t k = 0; k < f->by_value_cap; k++) {
        uint64_t e = f->by_value[k];
        if (!e) continue;
        size_t s = (size_t)mix64(VSLOT_KEY(e)) & mask;
        while (bv[s]) s = (s + 1) & mask;
        bv[s] = e;
    }
    for (size_t k = 0; k < f->by_path_cap; k++) {
        uint64_t e = f->by_path[k];
        if (!e) continue;
        size_t s = (size_t)PSLOT_HASH(e) & mask;
        while (bp[s]) s = (s + 1) & mask;
        bp[s] = e;
    }
    ckpt__free(&f->alloc, f->by_value, f->by_value_cap * sizeof(uint64_t));
    ckpt__free(&f->alloc, f->by_path, f->by_path_cap * sizeof(uint64_t));
    f->by_value = bv;
    f->by_path = bp;
    f->by_value_cap = cap;
    f->by_path_cap = cap;
    return CKPT_OK;
}

/* Tables big enough for `n` records at a load factor <= 3/4 (the slots
   carry hash bits or the whole key: a probe rarely leaves the slot array). */
static ckpt_status index_room(ckpt_file *f, uint64_t n) {
    if (n * 4 <= (uint64_t)f->by_path_cap * 3) return CKPT_OK;
    size_t cap = f->by_path_cap ? f->by_path_cap : CKPT__HASH_INITIAL;
    while (n * 4 > (uint64_t)cap * 3) {
        if (cap > SIZE_MAX / 4 / sizeof(uint64_t)) return CKPT_E_NOMEM;
        cap *= 2;
    }
    return rehash(f, cap);
}

/* Insert record `i` (already in f->arrays) into both tables: the first
   record of a node and the first record of a path win. */
static ckpt_status index_insert(ckpt_file *f, size_t i) {
    ckpt_status st = index_room(f, (uint64_t)f->n_arrays);
    if (st != CKPT_OK) return st;
    size_t mask = f->by_path_cap - 1;
    const ckpt__array *a = &f->arrays[i];
    if (a->info.value) {
        uint64_t key = ckpt_value_id(a->info.value) + 1;
        size_t s = (size_t)mix64(key) & mask;
        int dup = 0;
        while (f->by_value[s]) {
            if (VSLOT_KEY(f->by_value[s]) == key) {
                dup = 1;
                break;
            }
            s = (s + 1) & mask;
        }
        if (!dup) f->by_value[s] = VSLOT(key, i);
    }
    uint32_t h = path_hash32(a->path);
    size_t s = (size_t)h & mask;
    while (f->by_path[s]) {
        uint64_t e = f->by_path[s];
        if (PSLOT_HASH(e) == h && strcmp(f->arrays[PSLOT_INDEX(e)].path, a->path) == 0) return CKPT_OK;
        s = (s + 1) & mask;
    }
    f->by_path[s] = PSLOT(h, i);
    return CKPT_OK;
}

/* ---------------------------------------------------------------- adding */

/* Shape, strides and path of every record live in bump blocks owned by the
   file (one allocator call per block instead of three per record; released
   together at close).  Block: this header, then the bytes. */
typedef struct meta_block {
    struct meta_block *next;
    size_t size; /* bytes of the whole block */
} meta_block;
#define CKPT__META_MIN ((size_t)16 << 10)
#define CKPT__META_MAX ((size_t)1 << 20)

/* n bytes, 8-aligned; NULL when out of memory. */
static void *meta_alloc(ckpt_file *f, size_t n) {
    if (n > SIZE_MAX - 7 - sizeof(meta_block)) return NULL;
    n = (n + 7) & ~(size_t)7;
    if (f->meta_left < n) {
        /* blocks grow with the table: few allocations for big files */
        size_t want = CKPT__META_MIN;
        if (f->n_arrays <= CKPT__META_MAX / 64 && f->n_arrays * 64 > want) want = f->n_arrays * 64;
        else if (f->n_arrays > CKPT__META_MAX / 64) want = CKPT__META_MAX;
        if (want < n + sizeof(meta_block)) want = n + sizeof(meta_block);
        meta_block *b = ckpt__malloc(&f->alloc, want);
        if (!b) return NULL;
        b->next = f->meta_blocks;
        b->size = want;
        f->meta_blocks = b;
        f->meta_p = (uint8_t *)(b + 1);
        f->meta_left = want - sizeof(meta_block);
    }
    void *p = f->meta_p;
    f->meta_p += n;
    f->meta_left -= n;
    return p;
}

static void array_release(ckpt_file *f, ckpt__array *a) {
    /* shape, strides and path stay in the meta blocks until close */
    ckpt__aligned_free(&f->alloc, a->copy);
    memset(a, 0, sizeof *a);
}

void ckpt__file_free_arrays(ckpt_file *f) {
    for (size_t i = 0; i < f->n_arrays; i++) array_release(f, &f->arrays[i]);
    ckpt__table_free(f, f->arrays, f->cap_arrays * sizeof(ckpt__array));
    ckpt__free(&f->alloc, f->by_value, f->by_value_cap * sizeof(uint64_t));
    ckpt__free(&f->alloc, f->by_path, f->by_path_cap * sizeof(uint64_t));
    for (meta_block *b = f->meta_blocks; b;) {
        meta_block *next = b->next;
        ckpt__free(&f->alloc, b, b->size);
        b = next;
    }
    f->meta_blocks = NULL;
    f->meta_p = NULL;
    f->meta_left = 0;
    f->arrays = NULL;
    f->by_value = f->by_path = NULL;
    f->n_arrays = f->cap_arrays = f->by_value_cap = f->by_path_cap = 0;
}

/* With the C library's allocator on Linux, a big table (the array records,
   the torch storage table) is its own anonymous mapping that starts on a
   2 MB boundary and asks for transparent huge pages.  On the VMs measured a
   4 KB page fault costs ~10 us: a 3.8 MB table touched page by page took
   ~10 ms, in huge pages ~0.3 ms (an unaligned mapping gets huge pages only
   for the 2 MB ranges it covers whole: ~4.5 ms).  Tables from 1.75 MB are
   mapped; one of at most 2 MB is one whole huge page (<= 1/8 wasted), a
   bigger one whole 4 KB pages: huge pages for its aligned 2 MB ranges and,
   when the caller is about to fill it (a reserve), the 4 KB tail populated
   in one call (~1 us per page instead of a ~10 us fault each) rather than
   rounded up to a huge page that would stay resident unused.  Whether a
   table is mapped, and how long its mapping is, follow from its byte size
   alone. */
#if defined(__linux__) && defined(MREMAP_MAYMOVE)
#define CKPT__HUGE ((size_t)2 << 20)
#define CKPT__TABLE_MAP (CKPT__HUGE - CKPT__HUGE / 8)
#define TABLE_PAGES(n) (((n) + (size_t)4095) & ~(size_t)4095)
static int table_mapped(const ckpt_file *f, size_t bytes) {
    return !f->alloc.realloc_fn && bytes >= CKPT__TABLE_MAP && bytes <= SIZE_MAX / 2;
}

/* Bytes of the mapping of a mapped table of `bytes`. */
static size_t table_map_len(size_t bytes) {
    return bytes <= CKPT__HUGE ? CKPT__HUGE : TABLE_PAGES(bytes);
}

/* Fault in [p, p + len) now (huge pages where whole ones fit). */
static void populate(void *p, size_t len) {
#ifdef MADV_POPULATE_WRITE
    if (len) (void)madvise(p, len, MADV_POPULATE_WRITE); /* older kernels: EINVAL, faults later */
#else
    (void)p;
    (void)len;
#endif
}

/* A fresh mapping of `len` bytes (a multiple of 4 KB) at a 2 MB boundary. */
static void *map_aligned(size_t len) {
    size_t span = len + CKPT__HUGE; /* len <= SIZE_MAX / 2 + 4 KB: no overflow */
    uint8_t *q = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) return NULL;
    uintptr_t a = ((uintptr_t)q + CKPT__HUGE - 1) & ~(uintptr_t)(CKPT__HUGE - 1);
    size_t head = (size_t)(a - (uintptr_t)q), tail = span - head - len;
    if (head) munmap(q, head);
    if (tail) munmap((uint8_t *)a + len, tail);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, len, MADV_HUGEPAGE); /* advice: without it the table still works */
#endif
    return (void *)a;
}
#endif

/* ckpt__table_realloc; `fill`: the caller writes all new_bytes soon. */
static void *table_resize(ckpt_file *f, void *p, size_t old_bytes, size_t new_bytes, int fill) {
#ifdef CKPT__TABLE_MAP
    int old_mapped = p && table_mapped(f, old_bytes);
    if (table_mapped(f, new_bytes)) {
        size_t nmap = table_map_len(new_bytes);
        if (old_mapped) {
            size_t omap = table_map_len(old_bytes);
            if (omap == nmap) return p;
            uint8_t *q = mremap(p, omap, nmap, 0); /* in place (keeps the 2 MB start) */
            if (q != MAP_FAILED) {
                if (fill && nmap > omap && nmap > CKPT__HUGE) populate(q + omap, nmap - omap);
                return q;
            }
        }
        void *q = map_aligned(nmap);
        if (!q) return NULL;
        if (fill && nmap > CKPT__HUGE) populate(q, nmap);
        if (p) {
            memcpy(q, p, old_bytes < new_bytes ? old_bytes : new_bytes);
            ckpt__table_free(f, p, old_bytes);
        }
        return q;
    }
    if (old_mapped) { /* a mapped table shrinking below the threshold */
        void *q = ckpt__malloc(&f->alloc, new_bytes);
        if (!q) return NULL;
        memcpy(q, p, new_bytes < old_bytes ? new_bytes : old_bytes);
        ckpt__table_free(f, p, old_bytes);
        return q;
    }
#else
    (void)fill;
#endif
    return ckpt__realloc(&f->alloc, p, old_bytes, new_bytes);
}

void *ckpt__table_realloc(ckpt_file *f, void *p, size_t old_bytes, size_t new_bytes) {
    return table_resize(f, p, old_bytes, new_bytes, 0);
}

void ckpt__table_free(ckpt_file *f, void *p, size_t bytes) {
    if (!p) return;
#ifdef CKPT__TABLE_MAP
    if (table_mapped(f, bytes)) {
        munmap(p, table_map_len(bytes));
        return;
    }
#endif
    ckpt__free(&f->alloc, p, bytes);
}

/* Records for at least `want` in all (realloc of the table); `fill`: a
   reserve of records about to be added. */
static ckpt_status table_room(ckpt_file *f, size_t want, int fill) {
    if (want <= f->cap_arrays) return CKPT_OK;
    if (want > SIZE_MAX / sizeof(ckpt__array)) return CKPT_E_NOMEM;
    ckpt__array *na = table_resize(f, f->arrays, f->cap_arrays * sizeof(ckpt__array),
                                   want * sizeof(ckpt__array), fill);
    if (!na) return CKPT_E_NOMEM;
    f->arrays = na;
    f->cap_arrays = want;
    return CKPT_OK;
}

ckpt_status ckpt__file_reserve_arrays(ckpt_file *f, size_t n) {
    if (!f) return CKPT_E_ARG;
    uint64_t room = f->limits.max_arrays > f->n_arrays ? f->limits.max_arrays - f->n_arrays : 0;
    if (room > CKPT__MAX_RECORDS - f->n_arrays) room = CKPT__MAX_RECORDS - f->n_arrays;
    if ((uint64_t)n > room) n = (size_t)room;
    if (n == 0) return CKPT_OK;
    ckpt_status st = table_room(f, f->n_arrays + n, 1);
    if (st == CKPT_OK) st = index_room(f, (uint64_t)f->n_arrays + n);
    return st;
}

static int strides_c_contig(uint32_t ndim, const int64_t *shape, const int64_t *strides,
                            uint64_t itemsize) {
    uint64_t want = itemsize;
    for (uint32_t k = ndim; k-- > 0;) {
        if (shape[k] == 1) continue; /* stride of a length-1 axis is irrelevant */
        if (strides[k] < 0 || (uint64_t)strides[k] != want) return 0;
        want *= (uint64_t)shape[k]; /* shape product checked by the caller */
    }
    return 1;
}

static int strides_f_contig(uint32_t ndim, const int64_t *shape, const int64_t *strides,
                            uint64_t itemsize) {
    uint64_t want = itemsize;
    for (uint32_t k = 0; k < ndim; k++) {
        if (shape[k] == 1) continue;
        if (strides[k] < 0 || (uint64_t)strides[k] != want) return 0;
        want *= (uint64_t)shape[k];
    }
    return 1;
}

ckpt_status ckpt__file_add_array(ckpt_file *f, const char *path, const ckpt_value *value,
                                 const ckpt_dtype_info *dtype, uint32_t ndim, const int64_t *shape,
                                 const int64_t *strides, ckpt__array **out, ckpt_error *err) {
    if (out) *out = NULL;
    if (!path) path = "";
    if (!f || !dtype)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "add array '%s': no file or dtype", path);
    if (ndim > f->limits.max_ndim) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_LIMIT, -1,
                              "array '%s': %u dimensions exceed the limit of %u", path,
                              (unsigned)ndim, (unsigned)f->limits.max_ndim);
    }
    if (ndim && !shape) return ckpt_error_set(err, CKPT_E_ARG, -1, "array '%s': no shape", path);
    if ((uint64_t)f->n_arrays >= f->limits.max_arrays) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "more than %llu arrays in one file",
                              (unsigned long long)f->limits.max_arrays);
    }
    /* dims >= 0; element count and byte size must fit; so must every C stride
       (computed with zero dims counted as 1, like numpy) as an int64. */
    uint64_t nelems = 1, span = dtype->itemsize;
    int zero = 0;
    for (uint32_t k = 0; k < ndim; k++) {
        if (shape[k] < 0) {
            ckpt_error_member(err, path);
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "array '%s': dimension %u is negative (%lld)",
                                  path, (unsigned)k, (long long)shape[k]);
        }
        if (shape[k] == 0) zero = 1;
        uint64_t d = shape[k] ? (uint64_t)shape[k] : 1;
        if (!ckpt__mul_ok(nelems, d, &nelems) || !ckpt__mul_ok(span, d, &span) ||
            span > (uint64_t)INT64_MAX) {
            ckpt_error_member(err, path);
            return ckpt_error_set(err, CKPT_E_RANGE, -1,
                                  "array '%s': shape too large (element count or byte size overflows)",
                                  path);
        }
    }
    if (zero) nelems = 0;
    uint64_t nbytes = nelems * dtype->itemsize; /* <= span, cannot overflow */

    if ((uint64_t)f->n_arrays >= CKPT__MAX_RECORDS) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "more than %llu arrays in one file",
                              (unsigned long long)CKPT__MAX_RECORDS);
    }
    if (f->n_arrays == f->cap_arrays) {
        size_t ncap = f->cap_arrays ? f->cap_arrays * 2 : CKPT__ARRAYS_INITIAL;
        if (ncap < f->cap_arrays || table_room(f, ncap, 0) != CKPT_OK)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory adding array '%s'", path);
    }
    ckpt__array *a = &f->arrays[f->n_arrays];
    memset(a, 0, sizeof *a);
    uint32_t nd = ndim ? ndim : 1;
    size_t plen = strlen(path);
    /* nd <= max_ndim (a uint32): 16 * nd cannot overflow next to a path that is in memory */
    size_t dims_bytes = (size_t)nd * 2 * sizeof(int64_t);
    uint8_t *meta = plen < SIZE_MAX - dims_bytes ? meta_alloc(f, dims_bytes + plen + 1) : NULL;
    if (!meta) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory adding array '%s'", path);
    a->shape = (int64_t *)meta;
    a->strides = a->shape + nd;
    a->path = (char *)(meta + dims_bytes);
    memcpy(a->path, path, plen + 1);
    a->shape[0] = a->strides[0] = 0;
    a->info.ndim = ndim;
    if (ndim) memcpy(a->shape, shape, ndim * sizeof(int64_t));
    if (strides) {
        memcpy(a->strides, strides, ndim * sizeof(int64_t));
    } else {
        uint64_t st = dtype->itemsize;
        for (uint32_t k = ndim; k-- > 0;) {
            a->strides[k] = (int64_t)st; /* st <= span <= INT64_MAX */
            st *= shape[k] ? (uint64_t)shape[k] : 1;
        }
    }
    /* a->path/shape/strides/dtype are info's own pointers (loader_internal.h) */
    a->info.value = value;
    a->info.dtype = dtype; /* lifetime managed by whoever made it */
    a->info.nelems = nelems;
    a->info.nbytes = nbytes;
    a->info.fortran = ndim > 1 && nelems > 1 &&
                      !strides_c_contig(ndim, a->shape, a->strides, dtype->itemsize) &&
                      strides_f_contig(ndim, a->shape, a->strides, dtype->itemsize);
    a->info.state = CKPT_DATA_UNRESOLVED;
    f->n_arrays++;
    ckpt_status st = index_insert(f, f->n_arrays - 1);
    if (st != CKPT_OK) {
        f->n_arrays--;
        array_release(f, a);
        return ckpt_error_set(err, st, -1, "out of memory indexing array '%s'", path);
    }
    if (out) *out = a;
    return CKPT_OK;
}

ckpt_status ckpt__file_add_fact(ckpt_file *f, const char *key, const char *value) {
    if (!f || !key) return CKPT_E_ARG;
    if (!value) value = "";
    if (f->n_facts * 2 + 2 > f->cap_facts) {
        size_t ncap = f->cap_facts ? f->cap_facts * 2 : 16;
        if (ncap > SIZE_MAX / sizeof(char *)) return CKPT_E_NOMEM;
        char **nf = ckpt__realloc(&f->alloc, f->facts, f->cap_facts * sizeof(char *),
                                  ncap * sizeof(char *));
        if (!nf) return CKPT_E_NOMEM;
        f->facts = nf;
        f->cap_facts = ncap;
    }
    char *k = ckpt__strdup(&f->alloc, key);
    char *v = ckpt__strdup(&f->alloc, value);
    if (!k || !v) {
        if (k) ckpt__free(&f->alloc, k, strlen(k) + 1);
        if (v) ckpt__free(&f->alloc, v, strlen(v) + 1);
        return CKPT_E_NOMEM;
    }
    f->facts[2 * f->n_facts] = k;
    f->facts[2 * f->n_facts + 1] = v;
    f->n_facts++;
    return CKPT_OK;
}

ckpt_status ckpt__file_add_pickle(ckpt_file *f, ckpt_value *root) {
    if (!f) return CKPT_E_ARG;
    if (f->n_pickles == f->cap_pickles) {
        size_t ncap = f->cap_pickles ? f->cap_pickles * 2 : 4;
        if (ncap > SIZE_MAX / sizeof(ckpt_value *)) return CKPT_E_NOMEM;
        ckpt_value **np = ckpt__realloc(&f->alloc, f->pickles, f->cap_pickles * sizeof(ckpt_value *),
                                        ncap * sizeof(ckpt_value *));
        if (!np) return CKPT_E_NOMEM;
        f->pickles = np;
        f->cap_pickles = ncap;
    }
    f->pickles[f->n_pickles++] = root;
    return CKPT_OK;
}

/* ---------------------------------------------------------------- alignment */

/* Bytes of one scalar unit of a non-structured dtype (1 = byte data). */
static uint64_t swap_unit(const ckpt_dtype_info *dt) {
    switch (dt->type) {
    case CKPT_DT_INT16: case CKPT_DT_UINT16: case CKPT_DT_FLOAT16: case CKPT_DT_BFLOAT16:
        return 2;
    case CKPT_DT_INT32: case CKPT_DT_UINT32: case CKPT_DT_FLOAT32: case CKPT_DT_QINT32:
    case CKPT_DT_UNICODE: case CKPT_DT_COMPLEX64:
        return 4;
    case CKPT_DT_INT64: case CKPT_DT_UINT64: case CKPT_DT_FLOAT64: case CKPT_DT_COMPLEX128:
    case CKPT_DT_DATETIME64: case CKPT_DT_TIMEDELTA64:
        return 8;
    default:
        return 1;
    }
}

static size_t copy_align(const ckpt_file *f) {
    size_t al = f->min_align > 64 ? f->min_align : 64;
    return al;
}

ckpt_status ckpt__array_copy_in(ckpt_file *f, ckpt__array *a, const uint8_t *src, uint64_t n,
                                int byteswap, ckpt_error *err) {
    if (n > SIZE_MAX - 64) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "array '%s': %llu bytes do not fit in memory",
                              a->path, (unsigned long long)n);
    }
    /* Copies count against max_memory: a view whose elements overlap (stride 0,
       hostile shapes) can describe far more bytes than its storage holds. */
    if (n > f->limits.max_memory || f->copied_bytes > f->limits.max_memory - n) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_LIMIT, -1,
                              "array '%s': copying %llu bytes would exceed max_memory (%llu; %llu already copied)",
                              a->path, (unsigned long long)n, (unsigned long long)f->limits.max_memory,
                              (unsigned long long)f->copied_bytes);
    }
    uint8_t *buf = ckpt__aligned_alloc(&f->alloc, n ? (size_t)n : 1, copy_align(f));
    if (!buf) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "array '%s': cannot allocate %llu bytes",
                              a->path, (unsigned long long)n);
    }
    if (n && src) memcpy(buf, src, (size_t)n);
    if (byteswap && n && a->info.dtype->itemsize) {
        ckpt_status st = ckpt__dtype_byteswap(f, a->info.dtype, buf, n / a->info.dtype->itemsize, err);
        if (st != CKPT_OK) {
            ckpt__aligned_free(&f->alloc, buf);
            ckpt_error_member(err, a->path);
            return st;
        }
    }
    ckpt__aligned_free(&f->alloc, a->copy);
    a->copy = buf;
    a->data = buf;
    a->info.state = CKPT_DATA_COPIED;
    f->copied_bytes += n; /* never given back before close: a conservative bound */
    return CKPT_OK;
}

/* ---------------------------------------------------------------- bounds */

static uint64_t abs64(int64_t v) { return v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v; }

/* Lowest and one-past-highest byte touched relative to element 0 (lo <= 0 as a
   magnitude `below`, `above` >= itemsize).  0 on overflow. */
static int span_of(const ckpt__array *a, uint64_t *below, uint64_t *above) {
    uint64_t lo = 0, hi = a->info.dtype->itemsize;
    for (uint32_t k = 0; k < a->info.ndim; k++) {
        if (a->shape[k] <= 1) continue;
        uint64_t ext;
        if (!ckpt__mul_ok((uint64_t)(a->shape[k] - 1), abs64(a->strides[k]), &ext)) return 0;
        if (a->strides[k] < 0) {
            if (!ckpt__add_ok(lo, ext, &lo)) return 0;
        } else if (!ckpt__add_ok(hi, ext, &hi)) {
            return 0;
        }
    }
    *below = lo;
    *above = hi;
    return 1;
}

ckpt_status ckpt__check_span(const ckpt__array *a, uint64_t base, uint64_t avail,
                             ckpt_error *err) {
    if (!a || !a->info.dtype) return ckpt_error_set(err, CKPT_E_ARG, -1, "check span: no array");
    if (a->info.nelems == 0) return CKPT_OK; /* nothing is read */
    uint64_t below, above, end;
    if (!span_of(a, &below, &above) || !ckpt__add_ok(base, above, &end)) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_BOUNDS, -1,
                              "array '%s': shape and strides overflow the address range", a->path);
    }
    if (below > base || end > avail) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_BOUNDS, -1,
                              "array '%s' needs bytes [%s%llu, %llu) around offset %llu but only %llu "
                              "are available",
                              a->path, below > base ? "-" : "",
                              (unsigned long long)(below > base ? below - base : base - below),
                              (unsigned long long)end, (unsigned long long)base,
                              (unsigned long long)avail);
    }
    return CKPT_OK;
}

/* ---------------------------------------------------------------- lookups */

size_t ckpt_file_array_count(const ckpt_file *f) { return f ? f->n_arrays : 0; }

const ckpt_array_info *ckpt_file_array(const ckpt_file *f, size_t i) {
    if (!f || i >= f->n_arrays) return NULL;
    return &f->arrays[i].info;
}

ckpt_status ckpt_file_find_array(const ckpt_file *f, const char *path, size_t *index) {
    if (!f || !path) return CKPT_E_ARG;
    if (!f->by_path_cap) return CKPT_E_NOTFOUND;
    size_t mask = f->by_path_cap - 1;
    uint32_t h = path_hash32(path);
    size_t s = (size_t)h & mask;
    while (f->by_path[s]) {
        uint64_t e = f->by_path[s];
        size_t i = PSLOT_INDEX(e);
        if (PSLOT_HASH(e) == h && strcmp(f->arrays[i].path, path) == 0) {
            if (index) *index = i;
            return CKPT_OK;
        }
        s = (s + 1) & mask;
    }
    return CKPT_E_NOTFOUND;
}

ckpt_status ckpt_file_array_of(const ckpt_file *f, const ckpt_value *v, size_t *index) {
    if (!f || !v) return CKPT_E_ARG;
    if (!f->by_value_cap) return CKPT_E_NOTFOUND;
    uint64_t key = ckpt_value_id(v) + 1;
    size_t mask = f->by_value_cap - 1;
    size_t s = (size_t)mix64(key) & mask;
    while (f->by_value[s]) {
        if (VSLOT_KEY(f->by_value[s]) == key) {
            size_t i = VSLOT_INDEX(f->by_value[s]);
            if (f->arrays[i].info.value != v) return CKPT_E_NOTFOUND; /* id of another graph */
            if (index) *index = i;
            return CKPT_OK;
        }
        s = (s + 1) & mask;
    }
    return CKPT_E_NOTFOUND;
}

/* ---------------------------------------------------------------- data */

/* Natural alignment an element access needs (power of two, <= 8). */
static uint64_t elem_align(const ckpt_dtype_info *dt) {
    uint64_t u = swap_unit(dt);
    if (dt->nfields || u <= 1) return 1;
    return u;
}

static int strides_aligned(const ckpt__array *a) {
    uint64_t al = elem_align(a->info.dtype);
    for (uint32_t k = 0; k < a->info.ndim; k++)
        if (a->shape[k] > 1 && abs64(a->strides[k]) % al) return 0;
    return 1;
}

static int is_dense(const ckpt__array *a) {
    uint64_t is = a->info.dtype->itemsize;
    return strides_c_contig(a->info.ndim, a->shape, a->strides, is) ||
           strides_f_contig(a->info.ndim, a->shape, a->strides, is);
}

static size_t map_align(const ckpt_file *f) { return f->min_align > 16 ? f->min_align : 16; }

/* What the generic resolve will do: 0 map, 1 dense copy, 2 gather copy. */
static int generic_plan(const ckpt_file *f, const ckpt__array *a, const char **note) {
    const uint8_t *p = a->src + a->src_base;
    int swap = ckpt__dtype_needs_swap(a->info.dtype);
    if (!swap && ((uintptr_t)p % map_align(f)) == 0 && strides_aligned(a)) {
        *note = NULL;
        return 0;
    }
    if (is_dense(a)) {
        *note = swap ? "stored in foreign byte order: swapped into an aligned copy"
                     : "unaligned in the file: copied to an aligned buffer";
        return 1;
    }
    *note = swap ? "strided and in foreign byte order: gathered into a C-order native copy"
                 : "strided and unaligned: gathered into a C-order aligned copy";
    return 2;
}

void ckpt__file_plan_arrays(ckpt_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_arrays; i++) {
        ckpt__array *a = &f->arrays[i];
        if (a->resolve || a->info.state != CKPT_DATA_UNRESOLVED) continue;
        if (a->info.dtype->type == CKPT_DT_OBJECT) {
            a->info.will_copy = 0;
            continue;
        }
        if (a->info.nbytes == 0) {
            a->info.will_copy = 1;
            a->info.note = "empty array";
            continue;
        }
        if (!a->src) {
            if (!a->info.note) a->info.note = "no data in the file";
            continue;
        }
        const char *note;
        int plan = generic_plan(f, a, &note);
        a->info.will_copy = plan != 0;
        a->info.note = note;
    }
}

/* Gather into a C-order copy, swap, and rewrite the strides to describe it. */
static ckpt_status gather_copy(ckpt_file *f, ckpt__array *a, const uint8_t *p0, int swap,
                               ckpt_error *err) {
    uint64_t is = a->info.dtype->itemsize;
    uint32_t nd = a->info.ndim;
    int64_t *ix = ckpt__calloc(&f->alloc, nd ? nd : 1, sizeof(int64_t));
    if (!ix) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory gathering '%s'", a->path);
    ckpt_status st = ckpt__array_copy_in(f, a, NULL, a->info.nbytes, 0, err);
    if (st != CKPT_OK) {
        ckpt__free(&f->alloc, ix, (nd ? nd : 1) * sizeof(int64_t));
        return st;
    }
    uint8_t *dst = a->copy;
    const uint8_t *p = p0;
    for (uint64_t e = 0; e < a->info.nelems; e++) {
        memcpy(dst + e * is, p, (size_t)is);
        /* advance the multi-index in C order (pointer stays inside the checked span) */
        for (uint32_t k = nd; k-- > 0;) {
            if (++ix[k] < a->shape[k]) {
                p += a->strides[k];
                break;
            }
            p -= (a->shape[k] - 1) * a->strides[k];
            ix[k] = 0;
        }
    }
    ckpt__free(&f->alloc, ix, (nd ? nd : 1) * sizeof(int64_t));
    if (swap) {
        st = ckpt__dtype_byteswap(f, a->info.dtype, dst, a->info.nelems, err);
        if (st != CKPT_OK) {
            ckpt__aligned_free(&f->alloc, a->copy);
            a->copy = NULL;
            a->data = NULL;
            a->info.state = CKPT_DATA_UNRESOLVED;
            ckpt_error_member(err, a->path);
            return st;
        }
    }
    uint64_t s = is;
    for (uint32_t k = nd; k-- > 0;) {
        a->strides[k] = (int64_t)s;
        s *= a->shape[k] ? (uint64_t)a->shape[k] : 1;
    }
    a->info.fortran = 0;
    return CKPT_OK;
}

static ckpt_status generic_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    if (a->info.nbytes == 0) {
        ckpt_status st = ckpt__array_copy_in(f, a, NULL, 0, 0, err);
        if (st == CKPT_OK) a->info.note = "empty array";
        return st;
    }
    if (!a->src) {
        a->info.state = CKPT_DATA_UNAVAILABLE;
        if (!a->info.note) a->info.note = "no data in the file";
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "array '%s': %s", a->path, a->info.note);
    }
    ckpt_status st = ckpt__check_span(a, a->src_base, a->src_len, err);
    if (st != CKPT_OK) return st;
    const uint8_t *p = a->src + a->src_base;
    const char *note;
    int plan = generic_plan(f, a, &note);
    int swap = ckpt__dtype_needs_swap(a->info.dtype);
    if (plan == 0) {
        a->data = p;
        a->info.state = CKPT_DATA_MAPPED;
        a->info.will_copy = 0;
        a->info.note = NULL;
        return CKPT_OK;
    }
    if (plan == 1) {
        /* dense (C or Fortran, non-negative strides): one block from element 0 */
        st = ckpt__array_copy_in(f, a, p, a->info.nbytes, swap, err);
        if (st != CKPT_OK) return st;
    } else {
        st = gather_copy(f, a, p, swap, err);
        if (st != CKPT_OK) return st;
    }
    a->info.will_copy = 1;
    a->info.note = note;
    return CKPT_OK;
}

ckpt_status ckpt_array_data(ckpt_file *f, size_t i, const void **data, ckpt_error *err) {
    if (data) *data = NULL;
    if (!f || i >= f->n_arrays)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "array index %zu out of range", i);
    ckpt__array *a = &f->arrays[i];
    switch (a->info.state) {
    case CKPT_DATA_MAPPED:
    case CKPT_DATA_COPIED:
        if (data) *data = a->data;
        return CKPT_OK;
    case CKPT_DATA_UNAVAILABLE:
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "array '%s': data unavailable (%s)",
                              a->path, a->info.note ? a->info.note : "no data");
    case CKPT_DATA_UNRESOLVED:
        break;
    }
    if (a->info.dtype->type == CKPT_DT_OBJECT) {
        ckpt_error_member(err, a->path);
        return ckpt_error_set(err, CKPT_E_TYPE, -1,
                              "array '%s' has dtype object: use ckpt_array_object_item", a->path);
    }
    ckpt_status st;
    if (a->resolve) {
        st = a->resolve(f, a, err);
        if (st == CKPT_OK && a->info.state == CKPT_DATA_UNRESOLVED)
            a->info.state = a->copy ? CKPT_DATA_COPIED : CKPT_DATA_MAPPED;
        if (st == CKPT_OK && !a->data)
            st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "array '%s': resolver gave no data", a->path);
    } else {
        st = generic_resolve(f, a, err);
    }
    if (st != CKPT_OK) {
        if (err && !err->member[0]) ckpt_error_member(err, a->path);
        return st;
    }
    if (data) *data = a->data;
    return CKPT_OK;
}

ckpt_status ckpt_file_load_all(ckpt_file *f, ckpt_error *err) {
    if (!f) return ckpt_error_set(err, CKPT_E_ARG, -1, "no file");
    for (size_t i = 0; i < f->n_arrays; i++) {
        ckpt__array *a = &f->arrays[i];
        if (a->info.dtype->type == CKPT_DT_OBJECT || a->info.state == CKPT_DATA_UNAVAILABLE) continue;
        ckpt_status st = ckpt_array_data(f, i, NULL, err);
        if (st != CKPT_OK && a->info.state != CKPT_DATA_UNAVAILABLE) return st;
    }
    if (err) ckpt_error_clear(err);
    return CKPT_OK;
}

ckpt_value *ckpt_array_object_item(const ckpt_file *f, size_t i, uint64_t k) {
    if (!f || i >= f->n_arrays) return NULL;
    const ckpt__array *a = &f->arrays[i];
    if (a->info.dtype->type != CKPT_DT_OBJECT || !a->obj_items || k >= a->info.nelems) return NULL;
    if (k >= ckpt_value_len(a->obj_items)) return NULL;
    return ckpt_value_item(a->obj_items, (size_t)k);
}

/* ---------------------------------------------------------------- elements */

static double half_to_double(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0) v = ldexp((double)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp((double)(m | 0x400), e - 25);
    return s ? -v : v;
}

static double bf16_to_double(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float fl;
    memcpy(&fl, &u, 4);
    return fl;
}

/* Element k (C order of the logical shape, honouring strides) of a resolved
   array, or NULL (no such array / element, data not resolved). */
static const uint8_t *elem_ptr(const ckpt_file *f, size_t i, uint64_t k, const ckpt__array **out) {
    if (!f || i >= f->n_arrays) return NULL;
    const ckpt__array *a = &f->arrays[i];
    if (!a->data || k >= a->info.nelems ||
        (a->info.state != CKPT_DATA_MAPPED && a->info.state != CKPT_DATA_COPIED))
        return NULL;
    int64_t off = 0;
    if (a->info.ndim == 1) { /* the common case, without a division */
        off = (int64_t)k * a->strides[0];
    } else {
        uint64_t rem = k;
        for (uint32_t d = a->info.ndim; d-- > 0;) {
            uint64_t n = (uint64_t)a->shape[d];
            if (n == 1) continue;
            uint64_t ix = rem % n;
            rem /= n;
            off += (int64_t)ix * a->strides[d];
        }
    }
    *out = a;
    return (const uint8_t *)a->data + off;
}

/* What scalar_read found. */
typedef enum scalar_kind {
    SC_NONE = 0, /* not a plain numeric type (string, object, record, subarray) */
    SC_INT,      /* integer / bool / datetime: *iv exact */
    SC_UINT64,   /* uint64: *uv exact */
    SC_FLOAT,    /* float16/bfloat16/float32/float64: *dv */
    SC_COMPLEX   /* complex: the real part in *dv */
} scalar_kind;

/* Decode the scalar of dtype dt at p (native order). */
static scalar_kind scalar_read(const ckpt_dtype_info *dt, const uint8_t *p, int64_t *iv,
                               uint64_t *uv, double *dv) {
    union {
        uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
        float f32;
    } v;
    if (dt->nfields || dt->sub_ndim) return SC_NONE;
    size_t is = (size_t)dt->itemsize;
    switch (dt->type) {
    case CKPT_DT_BOOL:
        memcpy(&v.u8, p, 1);
        *iv = v.u8 != 0;
        return SC_INT;
    case CKPT_DT_INT8: case CKPT_DT_QINT8:
        memcpy(&v.i8, p, 1);
        *iv = v.i8;
        return SC_INT;
    case CKPT_DT_UINT8: case CKPT_DT_QUINT8: case CKPT_DT_QUINT4X2:
        memcpy(&v.u8, p, 1);
        *iv = v.u8;
        return SC_INT;
    case CKPT_DT_INT16:
        if (is < 2) break;
        memcpy(&v.i16, p, 2);
        *iv = v.i16;
        return SC_INT;
    case CKPT_DT_UINT16:
        if (is < 2) break;
        memcpy(&v.u16, p, 2);
        *iv = v.u16;
        return SC_INT;
    case CKPT_DT_INT32: case CKPT_DT_QINT32:
        if (is < 4) break;
        memcpy(&v.i32, p, 4);
        *iv = v.i32;
        return SC_INT;
    case CKPT_DT_UINT32:
        if (is < 4) break;
        memcpy(&v.u32, p, 4);
        *iv = v.u32;
        return SC_INT;
    case CKPT_DT_INT64: case CKPT_DT_DATETIME64: case CKPT_DT_TIMEDELTA64:
        if (is < 8) break;
        memcpy(iv, p, 8);
        return SC_INT;
    case CKPT_DT_UINT64:
        if (is < 8) break;
        memcpy(uv, p, 8);
        return SC_UINT64;
    case CKPT_DT_FLOAT16:
        if (is < 2) break;
        memcpy(&v.u16, p, 2);
        *dv = half_to_double(v.u16);
        return SC_FLOAT;
    case CKPT_DT_BFLOAT16:
        if (is < 2) break;
        memcpy(&v.u16, p, 2);
        *dv = bf16_to_double(v.u16);
        return SC_FLOAT;
    case CKPT_DT_FLOAT32: case CKPT_DT_COMPLEX64:
        if (is < 4) break;
        memcpy(&v.f32, p, 4);
        *dv = v.f32;
        return dt->type == CKPT_DT_FLOAT32 ? SC_FLOAT : SC_COMPLEX;
    case CKPT_DT_FLOAT64: case CKPT_DT_COMPLEX128:
        if (is < 8) break;
        memcpy(dv, p, 8);
        return dt->type == CKPT_DT_FLOAT64 ? SC_FLOAT : SC_COMPLEX;
    default:
        break;
    }
    return SC_NONE;
}

/* As double (complex: the real part); -1 when not numeric. */
static int scalar_f64(const ckpt_dtype_info *dt, const uint8_t *p, double *out) {
    int64_t iv;
    uint64_t uv;
    switch (scalar_read(dt, p, &iv, &uv, out)) {
    case SC_INT: *out = (double)iv; return 0;
    case SC_UINT64: *out = (double)uv; return 0;
    case SC_FLOAT: case SC_COMPLEX: return 0;
    default: return -1;
    }
}

/* As int64: integers exactly, floats when integral and inside int64.
   CKPT_E_TYPE: complex or not numeric; CKPT_E_RANGE: the value is no int64. */
static ckpt_status scalar_i64(const ckpt_dtype_info *dt, const uint8_t *p, int64_t *out) {
    uint64_t uv;
    double d;
    switch (scalar_read(dt, p, out, &uv, &d)) {
    case SC_INT:
        return CKPT_OK;
    case SC_UINT64:
        if (uv > (uint64_t)INT64_MAX) return CKPT_E_RANGE;
        *out = (int64_t)uv;
        return CKPT_OK;
    case SC_FLOAT:
        if (!(d >= -0x1p63 && d < 0x1p63) || floor(d) != d) return CKPT_E_RANGE;
        *out = (int64_t)d;
        return CKPT_OK;
    default:
        return CKPT_E_TYPE;
    }
}

double ckpt_array_get_f64(const ckpt_file *f, size_t i, uint64_t k) {
    const ckpt__array *a;
    const uint8_t *p = elem_ptr(f, i, k, &a);
    double d;
    if (!p || scalar_f64(a->info.dtype, p, &d) != 0) return NAN;
    return d;
}

ckpt_status ckpt_array_get_i64(const ckpt_file *f, size_t i, uint64_t k, int64_t *out) {
    const ckpt__array *a;
    const uint8_t *p = elem_ptr(f, i, k, &a);
    if (!out || !p) return CKPT_E_ARG;
    return scalar_i64(a->info.dtype, p, out);
}

/* The bytes of `field` inside element k of structured array i, with the
   field's dtype; the field must be one of the array dtype's own fields. */
static ckpt_status field_ptr(const ckpt_file *f, size_t i, uint64_t k,
                             const ckpt_field_info *field, const uint8_t **p) {
    const ckpt__array *a;
    const uint8_t *rec = elem_ptr(f, i, k, &a);
    if (!rec || !field) return CKPT_E_ARG;
    const ckpt_dtype_info *dt = a->info.dtype;
    /* one of dt->fields: compared as addresses (no pointer arithmetic on a
       pointer that may belong to another object) */
    uintptr_t base = (uintptr_t)dt->fields, at = (uintptr_t)field;
    if (!dt->fields || at < base || (at - base) % sizeof *field ||
        (at - base) / sizeof *field >= dt->nfields)
        return CKPT_E_ARG;
    const ckpt_dtype_info *fd = field->dtype;
    if (!fd) return CKPT_E_TYPE;
    if (fd->itemsize > dt->itemsize || field->offset > dt->itemsize - fd->itemsize)
        return CKPT_E_BOUNDS;
    *p = rec + field->offset;
    return CKPT_OK;
}

ckpt_status ckpt_array_field_f64(const ckpt_file *f, size_t i, uint64_t k,
                                 const ckpt_field_info *field, double *out) {
    const uint8_t *p;
    if (!out) return CKPT_E_ARG;
    ckpt_status st = field_ptr(f, i, k, field, &p);
    if (st != CKPT_OK) return st;
    return scalar_f64(field->dtype, p, out) == 0 ? CKPT_OK : CKPT_E_TYPE;
}

ckpt_status ckpt_array_field_i64(const ckpt_file *f, size_t i, uint64_t k,
                                 const ckpt_field_info *field, int64_t *out) {
    const uint8_t *p;
    if (!out) return CKPT_E_ARG;
    ckpt_status st = field_ptr(f, i, k, field, &p);
    if (st != CKPT_OK) return st;
    return scalar_i64(field->dtype, p, out);
}
