/*
 * torch.c - PyTorch tensors inside pickles: the storage table, the
 * persistent_load hook, and the tensor recognizer of the path walk.
 *
 * Rebuild calls understood (canonical names):
 *   torch._utils._rebuild_tensor(storage, offset, size, stride)
 *   torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta])
 *   torch._utils._rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, meta])
 *   torch._utils._rebuild_parameter(tensor, requires_grad, hooks)
 *   torch._utils._rebuild_parameter_with_state(tensor, requires_grad, hooks, state)
 *   torch._tensor._rebuild_from_type_v2(func, type, args, state)
 * and, listed with CKPT_DATA_UNAVAILABLE and a note (no data handed out):
 *   _rebuild_qtensor (quantized), _rebuild_sparse_tensor / _rebuild_sparse_csr_tensor,
 *   _rebuild_meta_tensor_no_storage, and tensors of other devices.
 *
 * Storages arrive as persistent ids ('storage', <storage class>, key,
 * location, numel[, view_metadata]): numel counts elements of the class's
 * type (bytes for UntypedStorage).  Offsets and strides are in elements and
 * become bytes here; every view is bounds-checked against its storage.
 */
#include "torch_internal.h"
#include "pickle_internal.h" /* ckpt__g_alloc / ckpt__g_copy: strings in the graph arena */

#include <stdio.h>
#include <string.h>

/* Wrappers (_rebuild_parameter, _rebuild_from_type_v2) unwrapped at most this deep. */
#define CKPT__TORCH_MAX_WRAP 8u
#define CKPT__TORCH_INITIAL_STORAGES 16u

/* ---------------------------------------------------------------- state */

/* The storage table, its hash slots and the copies made on first use. */
static void storages_free(ckpt_file *f, ckpt__torch *t) {
    for (size_t i = 0; i < t->n; i++) ckpt__aligned_free(&f->alloc, t->st[i].copy);
    ckpt__table_free(f, t->st, t->cap * sizeof *t->st);
    ckpt__free(&f->alloc, t->slots, t->nslots * sizeof *t->slots);
    t->st = NULL;
    t->slots = NULL;
    t->n = t->cap = t->nslots = 0;
}

static void torch_free(ckpt_file *f) {
    ckpt__torch *t = f->fmt_state;
    if (!t) return;
    if (t->extra_free) t->extra_free(f);
    storages_free(f, t);
    if (t->owned) ckpt__free(&f->alloc, t->owned, t->owned_len);
    ckpt__free(&f->alloc, t->tt, t->ntt * sizeof *t->tt);
    ckpt__free(&f->alloc, t, sizeof *t);
    f->fmt_state = NULL;
}

ckpt_status ckpt__torch_attach(ckpt_file *f, ckpt__torch **out, ckpt_error *err) {
    if (f->fmt_state) {
        if (f->fmt_free == torch_free) {
            *out = f->fmt_state;
            return CKPT_OK;
        }
        return ckpt_error_set(err, CKPT_E_ARG, -1, "torch: file already has format state");
    }
    if (!f->graph) {
        ckpt_status st = ckpt_graph_new(&f->limits, &f->alloc, CKPT_GRAPH_BORROW_INPUT, &f->graph);
        if (st != CKPT_OK) return ckpt_error_set(err, st, -1, "torch: cannot create the object graph");
    }
    ckpt__torch *t = ckpt__calloc(&f->alloc, 1, sizeof *t);
    if (!t) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
    t->dir = "";
    f->fmt_state = t;
    f->fmt_free = torch_free;
    *out = t;
    return CKPT_OK;
}

ckpt__torch *ckpt__torch_of(const ckpt_file *f) {
    if (!f || f->fmt_free != torch_free) return NULL;
    return f->fmt_state;
}

/* ---------------------------------------------------------------- storage table */

static uint64_t key_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    return h;
}

/* slot: the low 32 bits of the key's hash in the high 32 bits (it places the
   slot, and a colliding key is skipped without touching its record), then
   index + 1 (0 = empty).  Indices stay below UINT32_MAX (checked on add). */
#define TSLOT(h32, i) (((uint64_t)(h32) << 32) | ((uint64_t)(i) + 1))
#define TSLOT_HASH(v) ((uint32_t)((v) >> 32))
#define TSLOT_INDEX(v) ((size_t)(uint32_t)(v) - 1)
#define CKPT__TORCH_MAX_STORAGES ((uint64_t)UINT32_MAX - 1)

ckpt__tstorage *ckpt__torch_find(const ckpt__torch *t, const char *key, size_t key_len) {
    if (!t || !t->nslots) return NULL;
    size_t mask = t->nslots - 1;
    uint32_t h = (uint32_t)key_hash(key, key_len);
    for (size_t s = (size_t)h & mask;; s = (s + 1) & mask) {
        uint64_t v = t->slots[s];
        if (!v) return NULL;
        if (TSLOT_HASH(v) != h) continue;
        ckpt__tstorage *st = &t->st[TSLOT_INDEX(v)];
        if (st->key_len == key_len && memcmp(st->key, key, key_len) == 0) return st;
    }
}

static ckpt_status rehash(ckpt_file *f, ckpt__torch *t, size_t nslots) {
    uint64_t *ns = ckpt__calloc(&f->alloc, nslots, sizeof *ns);
    if (!ns) return CKPT_E_NOMEM;
    size_t mask = nslots - 1;
    for (size_t k = 0; k < t->nslots; k++) { /* keys are unique: moved without comparisons */
        uint64_t v = t->slots[k];
        if (!v) continue;
        size_t s = (size_t)TSLOT_HASH(v) & mask;
        while (ns[s]) s = (s + 1) & mask;
        ns[s] = v;
    }
    ckpt__free(&f->alloc, t->slots, t->nslots * sizeof *t->slots);
    t->slots = ns;
    t->nslots = nslots;
    return CKPT_OK;
}

ckpt_status ckpt__torch_storage(ckpt_file *f, ckpt__torch *t, const char *key, size_t key_len,
                                ckpt__tstorage **out, int *added, ckpt_error *err) {
    if (added) *added = 0;
    ckpt__tstorage *s = ckpt__torch_find(t, key, key_len);
    if (s) {
        *out = s;
        return CKPT_OK;
    }
    if ((uint64_t)t->n >= f->limits.max_arrays)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "torch: more than %llu storages",
                              (unsigned long long)f->limits.max_arrays);
    if ((uint64_t)t->n >= CKPT__TORCH_MAX_STORAGES)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "torch: more than %llu storages",
                              (unsigned long long)CKPT__TORCH_MAX_STORAGES);
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : CKPT__TORCH_INITIAL_STORAGES;
        /* a zip archive's entry count (its own directory walk, bounded there by
           max_arrays + 64) sizes the first table: no regrowth for big archives */
        if (!t->cap && t->zip_entries > ncap && t->zip_entries <= f->limits.max_arrays &&
            t->zip_entries <= CKPT__TORCH_MAX_STORAGES)
            ncap = (size_t)t->zip_entries;
        if (ncap > SIZE_MAX / sizeof *t->st) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
        ckpt__tstorage *ns = ckpt__table_realloc(f, t->st, t->cap * sizeof *t->st, ncap * sizeof *ns);
        if (!ns) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
        t->st = ns;
        t->cap = ncap;
    }
    if ((uint64_t)(t->n + 1) * 4 > (uint64_t)t->nslots * 3) { /* load factor <= 3/4 */
        size_t nslots = t->nslots ? t->nslots * 2 : 2 * CKPT__TORCH_INITIAL_STORAGES;
        while ((uint64_t)t->cap * 4 > (uint64_t)nslots * 3 && nslots < SIZE_MAX / 4 / sizeof *t->slots)
            nslots *= 2; /* room for the whole table */
        if (rehash(f, t, nslots) != CKPT_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
    }
    char *k = (char *)ckpt__g_copy(f->graph, (const uint8_t *)key, key_len);
    if (!k) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
    s = &t->st[t->n];
    memset(s, 0, sizeof *s);
    s->key = k;
    s->key_len = key_len;
    s->member = k;
    size_t mask = t->nslots - 1;
    uint32_t h = (uint32_t)key_hash(key, key_len);
    size_t slot = (size_t)h & mask;
    while (t->slots[slot]) slot = (slot + 1) & mask;
    t->slots[slot] = TSLOT(h, t->n);
    t->n++;
    if (added) *added = 1;
    *out = s;
    return CKPT_OK;
}

/* The end of a successful open: every tensor is described.  A tensor over a
   storage stored in place and aligned reads it through its own src/src_len/
   src_base (generic resolve); only tensors left to lazy_resolve (compressed
   or unaligned records, inflated / copied on first use) still need their
   storage record.  When none does, the table and its slots are released
   (20 000 storages: 1.9 MB + 256 KB); its keys stay in the graph arena, where
   the arrays' storage_key / member point.  Otherwise it is kept whole. */
static ckpt_status lazy_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err);

void ckpt__torch_opened(ckpt_file *f) {
    ckpt__torch *t = ckpt__torch_of(f);
    if (!t || !t->st) return;
    for (size_t i = 0; i < f->n_arrays; i++)
        if (f->arrays[i].resolve == lazy_resolve) return;
    uintptr_t lo = (uintptr_t)t->st, hi = (uintptr_t)(t->st + t->cap);
    for (size_t i = 0; i < f->n_arrays; i++) { /* no record keeps a pointer into the table */
        uintptr_t p = (uintptr_t)f->arrays[i].fmt;
        if (p >= lo && p < hi) f->arrays[i].fmt = NULL;
    }
    storages_free(f, t); /* no copies yet: nothing was lazy */
}

/* ---------------------------------------------------------------- types */

uint64_t ckpt__torch_elem_size(ckpt_dtype t) {
    switch (t) {
    case CKPT_DT_BOOL: case CKPT_DT_INT8: case CKPT_DT_UINT8: case CKPT_DT_QINT8:
    case CKPT_DT_QUINT8: case CKPT_DT_QUINT4X2:
        return 1;
    case CKPT_DT_INT16: case CKPT_DT_FLOAT16: case CKPT_DT_BFLOAT16: return 2;
    case CKPT_DT_INT32: case CKPT_DT_FLOAT32: case CKPT_DT_QINT32: return 4;
    case CKPT_DT_INT64: case CKPT_DT_FLOAT64: case CKPT_DT_COMPLEX64: return 8;
    case CKPT_DT_COMPLEX128: return 16;
    default: return 0;
    }
}

static const struct {
    const char *name;
    ckpt_dtype type;
} storage_names[] = {
    {"FloatStorage", CKPT_DT_FLOAT32},   {"DoubleStorage", CKPT_DT_FLOAT64},
    {"HalfStorage", CKPT_DT_FLOAT16},    {"BFloat16Storage", CKPT_DT_BFLOAT16},
    {"LongStorage", CKPT_DT_INT64},      {"IntStorage", CKPT_DT_INT32},
    {"ShortStorage", CKPT_DT_INT16},     {"CharStorage", CKPT_DT_INT8},
    {"ByteStorage", CKPT_DT_UINT8},      {"BoolStorage", CKPT_DT_BOOL},
    {"ComplexFloatStorage", CKPT_DT_COMPLEX64}, {"ComplexDoubleStorage", CKPT_DT_COMPLEX128},
    {"QInt8Storage", CKPT_DT_QINT8},     {"QUInt8Storage", CKPT_DT_QUINT8},
    {"QInt32Storage", CKPT_DT_QINT32},   {"QUInt4x2Storage", CKPT_DT_QUINT4X2},
    {"UntypedStorage", CKPT_DT_UINT8},
};

int ckpt__torch_storage_type(const ckpt_value *g, ckpt_dtype *type, uint64_t *elem_size) {
    if (ckpt_value_kind(g) != CKPT_K_GLOBAL) return 0;
    const char *m = ckpt_value_module(g), *n = ckpt_value_name(g);
    if (!m || !n) return 0;
    if (strcmp(m, "torch") != 0 && strcmp(m, "torch.cuda") != 0 && strcmp(m, "torch.storage") != 0)
        return 0;
    for (size_t i = 0; i < sizeof storage_names / sizeof storage_names[0]; i++) {
        if (strcmp(n, storage_names[i].name) == 0) {
            if (strcmp(m, "torch.storage") == 0 && storage_names[i].type != CKPT_DT_UINT8) return 0;
            *type = storage_names[i].type;
            *elem_size = ckpt__torch_elem_size(*type);
            return 1;
        }
    }
    return 0;
}

static const struct {
    const char *name;
    ckpt_dtype type;
} dtype_names[] = {
    {"float32", CKPT_DT_FLOAT32}, {"float", CKPT_DT_FLOAT32},     {"float64", CKPT_DT_FLOAT64},
    {"double", CKPT_DT_FLOAT64},  {"float16", CKPT_DT_FLOAT16},   {"half", CKPT_DT_FLOAT16},
    {"bfloat16", CKPT_DT_BFLOAT16}, {"int64", CKPT_DT_INT64},     {"long", CKPT_DT_INT64},
    {"int32", CKPT_DT_INT32},     {"int", CKPT_DT_INT32},         {"int16", CKPT_DT_INT16},
    {"short", CKPT_DT_INT16},     {"int8", CKPT_DT_INT8},         {"uint8", CKPT_DT_UINT8},
    {"bool", CKPT_DT_BOOL},       {"complex64", CKPT_DT_COMPLEX64}, {"cfloat", CKPT_DT_COMPLEX64},
    {"complex128", CKPT_DT_COMPLEX128}, {"cdouble", CKPT_DT_COMPLEX128},
    {"qint8", CKPT_DT_QINT8},     {"quint8", CKPT_DT_QUINT8},     {"qint32", CKPT_DT_QINT32},
    {"quint4x2", CKPT_DT_QUINT4X2},
};

/* torch.float32 ... -> type; INVALID if not a torch dtype global. */
static ckpt_dtype dtype_global(const ckpt_value *g) {
    if (ckpt_value_kind(g) != CKPT_K_GLOBAL) return CKPT_DT_INVALID;
    const char *m = ckpt_value_module(g), *n = ckpt_value_name(g);
    if (!m || !n || strcmp(m, "torch") != 0) return CKPT_DT_INVALID;
    for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
        if (strcmp(n, dtype_names[i].name) == 0) return dtype_names[i].type;
    return CKPT_DT_INVALID;
}

/* Description of `type` as stored in this file (big-endian archives). */
static const ckpt_dtype_info *file_dtype(ckpt_file *f, ckpt__torch *t, ckpt_dtype type,
                                         ckpt_error *err) {
    const ckpt_dtype_info *nat = ckpt__dtype_builtin(type);
    if (!nat) {
        ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "torch: no description of dtype %s",
                       ckpt_dtype_name(type));
        return NULL;
    }
    if (!t || !t->big_endian || ckpt__torch_elem_size(type) <= 1 || type == CKPT_DT_QINT32)
        return nat;
    if (t->be_dtype[type]) return t->be_dtype[type];
    const char *s;
    switch (type) {
    case CKPT_DT_INT16: s = ">i2"; break;
    case CKPT_DT_INT32: s = ">i4"; break;
    case CKPT_DT_INT64: s = ">i8"; break;
    case CKPT_DT_FLOAT16: case CKPT_DT_BFLOAT16: s = ">f2"; break;
    case CKPT_DT_FLOAT32: s = ">f4"; break;
    case CKPT_DT_FLOAT64: s = ">f8"; break;
    case CKPT_DT_COMPLEX64: s = ">c8"; break;
    case CKPT_DT_COMPLEX128: s = ">c16"; break;
    default: return nat;
    }
    const ckpt_dtype_info *d = NULL;
    if (ckpt__dtype_from_str(f, s, strlen(s), &d, err) != CKPT_OK) return NULL;
    if (type == CKPT_DT_BFLOAT16) {
        /* a fresh description in the arena (never the shared builtin: '>' is
           not native): same swap width, bfloat16 type */
        ckpt_dtype_info *m = (ckpt_dtype_info *)d;
        m->type = CKPT_DT_BFLOAT16;
        snprintf(m->str, sizeof m->str, ">bf16");
    }
    t->be_dtype[type] = d;
    return d;
}

/* ---------------------------------------------------------------- persistent ids */

typedef struct pid_info {
    ckpt_dtype type;      /* storage element type */
    uint64_t elem_size;
    const uint8_t *key;
    size_t key_len;
    uint64_t numel;       /* as declared (elements of `type`) */
    int64_t view_offset;  /* legacy view_metadata: offset in elements, 0 if none */
    int has_view;
    uint64_t view_numel;
} pid_info;

/* Parse ('storage', class, key, location, numel[, view_metadata]).  0 if not one. */
static int parse_pid(const ckpt_value *pid, pid_info *pi) {
    memset(pi, 0, sizeof *pi);
    if (ckpt_value_kind(pid) != CKPT_K_TUPLE) return 0;
    size_t n = ckpt_value_len(pid);
    if (n < 5 || !ckpt_value_is_str(ckpt_value_item(pid, 0), "storage")) return 0;
    if (!ckpt__torch_storage_type(ckpt_value_item(pid, 1), &pi->type, &pi->elem_size)) return 0;
    const ckpt_value *k = ckpt_value_item(pid, 2);
    if (ckpt_value_kind(k) == CKPT_K_STR) {
        pi->key = ckpt_value_bytes(k, &pi->key_len);
        if (pi->key_len == 0 || memchr(pi->key, 0, pi->key_len)) return 0;
    } else {
        return 0;
    }
    int64_t numel;
    if (ckpt_value_int64(ckpt_value_item(pid, 4), &numel) != CKPT_OK || numel < 0) return 0;
    pi->numel = (uint64_t)numel;
    if (n >= 6) {
        const ckpt_value *vm = ckpt_value_item(pid, 5);
        if (ckpt_value_kind(vm) == CKPT_K_TUPLE && ckpt_value_len(vm) == 3) {
            int64_t off, vn;
            if (ckpt_value_int64(ckpt_value_item(vm, 1), &off) != CKPT_OK || off < 0 ||
                ckpt_value_int64(ckpt_value_item(vm, 2), &vn) != CKPT_OK || vn < 0)
                return 0;
            pi->has_view = 1;
            pi->view_offset = off;
            pi->view_numel = (uint64_t)vn;
        } else if (ckpt_value_kind(vm) != CKPT_K_NONE) {
            return 0;
        }
    }
    return 1;
}

typedef struct hook_ctx {
    ckpt_file *f;
    ckpt__torch *t;
    const char *dir;
} hook_ctx;

/* Table key = dir + key, in a stack buffer or NULL if too long. */
static int table_key(const char *dir, const uint8_t *key, size_t key_len, char *buf, size_t cap,
                     size_t *len) {
    size_t dl = strlen(dir);
    if (dl + key_len + 1 > cap) return 0;
    memcpy(buf, dir, dl);
    memcpy(buf + dl, key, key_len);
    buf[dl + key_len] = 0;
    *len = dl + key_len;
    return 1;
}

#define CKPT__TORCH_MAX_KEY 512u

static ckpt_status torch_persistent_load(void *user, ckpt_graph *g, ckpt_value *pid,
                                         ckpt_value **out, ckpt_error *err) {
    (void)g;
    hook_ctx *h = user;
    *out = NULL; /* keep the inert PERSID node: the recognizer reads it */
    pid_info pi;
    if (!parse_pid(pid, &pi)) {
        /* ('module', <class>, source file, source): the class itself, as torch's
           persistent_load returns it (an inert GLOBAL: nothing is imported);
           unknown ids stay inert PERSID nodes */
        if (ckpt_value_kind(pid) == CKPT_K_TUPLE && ckpt_value_len(pid) >= 2 &&
            ckpt_value_is_str(ckpt_value_item(pid, 0), "module") &&
            ckpt_value_kind(ckpt_value_item(pid, 1)) == CKPT_K_GLOBAL)
            *out = ckpt_value_item(pid, 1);
        return CKPT_OK;
    }
    char kb[CKPT__TORCH_MAX_KEY];
    size_t kl;
    if (!table_key(h->dir, pi.key, pi.key_len, kb, sizeof kb, &kl))
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "torch: storage key of %zu bytes is too long",
                              pi.key_len);
    ckpt__tstorage *s;
    ckpt_status st = ckpt__torch_storage(h->f, h->t, kb, kl, &s, NULL, err);
    if (st != CKPT_OK) return st;
    if (s->elem == CKPT_DT_INVALID) {
        s->elem = pi.type;
        s->elem_size = pi.elem_size;
    } else if (s->elem_size != pi.elem_size && !s->defined) {
        /* the legacy reader needs one element size per storage to find the
           next one; torch refuses such files too */
        return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                              "torch: storage '%s' is used with element sizes %llu and %llu", kb,
                              (unsigned long long)s->elem_size, (unsigned long long)pi.elem_size);
    }
    return CKPT_OK;
}

ckpt_status ckpt__torch_pickle(ckpt_file *f, ckpt__torch *t, const uint8_t *buf, size_t len,
                               size_t start, const char *dir, ckpt_value **root,
                               ckpt_pickle_info *info, ckpt_error *err) {
    hook_ctx h = {f, t, dir ? dir : ""};
    ckpt_pickle_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.user = &h;
    hooks.persistent_load = torch_persistent_load;
    return ckpt_pickle_load(f->graph, buf, len, start, &hooks, root, info, err);
}

ckpt_status ckpt__torch_walk(ckpt_file *f, ckpt__torch *t, ckpt_value *root, const char *prefix,
                             const char *dir, ckpt_error *err) {
    const char *saved = t->dir;
    t->dir = dir ? dir : "";
    /* one tensor per storage is the common case: size the array table once
       (a hint; it still grows, and the walk's limits are unchanged) */
    if (t->n > f->n_arrays && ckpt__file_reserve_arrays(f, t->n - f->n_arrays) != CKPT_OK) {
        t->dir = saved;
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory for %zu tensor records", t->n);
    }
    ckpt_status st = ckpt__walk_arrays(f, root, prefix, err);
    t->dir = saved;
    return st;
}

/* ---------------------------------------------------------------- tensors */

#define NOTE_COMPRESSED "compressed record: inflated once into an aligned buffer shared by its views"
#define NOTE_UNALIGNED "unaligned record (re-zipped archive?): copied once into an aligned buffer shared by its views"

/* Compressed (or unaligned, copy_whole) storage: inflate/copy it once
   (shared), then let the generic resolve map into that buffer or gather
   from it. */
static ckpt_status lazy_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    ckpt__torch *t = ckpt__torch_of(f);
    ckpt__tstorage *s = a->fmt;
    if (!t || !s) return ckpt_error_set(err, CKPT_E_ARG, -1, "torch: tensor without storage");
    if (!s->data && s->copy_whole) {
        /* stored but unaligned: one aligned copy shared by every view */
        uint64_t end;
        if (!ckpt__add_ok(s->file_offset, s->nbytes, &end) || end > f->map_len || s->nbytes > SIZE_MAX - 64)
            return ckpt_error_set(err, CKPT_E_BOUNDS, (int64_t)s->file_offset,
                                  "torch: storage '%s' runs past the end of the file", s->member);
        size_t al = f->min_align > 64 ? f->min_align : 64;
        void *buf = ckpt__aligned_alloc(&f->alloc, s->nbytes ? (size_t)s->nbytes : 1, al);
        if (!buf) {
            ckpt_error_member(err, s->member);
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: cannot allocate %llu bytes for storage '%s'",
                                  (unsigned long long)s->nbytes, s->member);
        }
        if (s->nbytes) memcpy(buf, f->map + s->file_offset, (size_t)s->nbytes);
        s->copy = buf;
        s->data = buf;
    }
    if (!s->data) {
        if (!t->inflate)
            return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "torch: storage '%s' cannot be inflated",
                                  s->member);
        ckpt_status st = t->inflate(f, s, err);
        if (st != CKPT_OK) {
            ckpt_error_member(err, s->member);
            return st;
        }
    }
    a->src = s->data;
    a->resolve = NULL;
    ckpt_status st = ckpt_array_data(f, (size_t)(a - f->arrays), NULL, err);
    if (st != CKPT_OK) {
        a->src = NULL;
        a->resolve = lazy_resolve;
        return st;
    }
    if (a->info.state == CKPT_DATA_MAPPED) {
        /* points into the storage's aligned buffer, shared with its other views */
        a->info.state = CKPT_DATA_COPIED;
        a->info.note = s->copy_whole ? NOTE_UNALIGNED : NOTE_COMPRESSED;
    }
    a->info.will_copy = 1;
    return CKPT_OK;
}

ckpt_status ckpt__torch_add_tensor(ckpt_file *f, ckpt__torch *t, const char *path,
                                   const ckpt_value *value, ckpt_dtype type, ckpt__tstorage *s,
                                   int64_t offset, uint32_t ndim, const int64_t *shape,
                                   const int64_t *strides, int requires_grad, ckpt_error *err) {
    const ckpt_dtype_info *dt = file_dtype(f, t, type, err);
    if (!dt) return err ? err->status : CKPT_E_UNSUPPORTED;
    uint64_t is = dt->itemsize;
    if (ndim > f->limits.max_ndim) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "tensor '%s': %u dimensions exceed the limit of %u",
                              path, (unsigned)ndim, (unsigned)f->limits.max_ndim);
    }
    int64_t bstr[CKPT_DEFAULT_MAX_NDIM];
    int64_t *bs = bstr;
    if (ndim > CKPT_DEFAULT_MAX_NDIM) {
        bs = ckpt__calloc(&f->alloc, ndim, sizeof *bs);
        if (!bs) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
    }
    ckpt_status st = CKPT_OK;
    for (uint32_t k = 0; k < ndim && st == CKPT_OK; k++) {
        uint64_t b;
        if (strides[k] < 0 || !ckpt__mul_ok((uint64_t)strides[k], is, &b) || b > (uint64_t)INT64_MAX)
            st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "tensor '%s': stride %lld of dimension %u is invalid",
                                path, (long long)strides[k], (unsigned)k);
        else
            bs[k] = (int64_t)b;
    }
    uint64_t base = 0;
    if (st == CKPT_OK && (offset < 0 || !ckpt__mul_ok((uint64_t)offset, is, &base)))
        st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "tensor '%s': storage offset %lld is invalid", path,
                            (long long)offset);
    ckpt__array *a = NULL;
    if (st == CKPT_OK) st = ckpt__file_add_array(f, path, value, dt, ndim, shape, bs, &a, err);
    if (bs != bstr) ckpt__free(&f->alloc, bs, ndim * sizeof *bs);
    if (st != CKPT_OK) {
        ckpt_error_member(err, path);
        return st;
    }
    a->info.is_tensor = 1;
    a->info.requires_grad = requires_grad;
    a->info.storage_key = s->key;
    a->info.storage_offset = (uint64_t)offset;
    a->info.member = s->member;
    a->src_base = base;
    a->src_len = s->nbytes;
    a->fmt = s;
    if (!s->defined) {
        a->info.state = CKPT_DATA_UNAVAILABLE;
        a->info.note = "storage record missing from the file";
        return CKPT_OK;
    }
    /* every view inside its storage, checked now (no data is read) */
    st = ckpt__check_span(a, base, s->nbytes, err);
    if (st != CKPT_OK) {
        ckpt_error_member(err, path);
        return ckpt_error_set(err, CKPT_E_BOUNDS, -1,
                              "tensor '%s' (offset %lld, %s) does not fit in its storage '%s' of %llu bytes",
                              path, (long long)offset, ckpt_dtype_name(type), s->member,
                              (unsigned long long)s->nbytes);
    }
    if (!s->compressed) a->info.file_offset = s->file_offset + base;
    if (s->compressed || (s->copy_whole && !s->data)) {
        a->src = NULL;
        a->resolve = lazy_resolve;
        a->info.will_copy = 1;
        a->info.note = s->copy_whole ? NOTE_UNALIGNED : NOTE_COMPRESSED;
    } else {
        a->src = s->data;
    }
    return CKPT_OK;
}

/* An array that is listed but whose data ckpt does not hand out. */
static int add_unavailable(ckpt_file *f, const char *path, const ckpt_value *value, ckpt_dtype type,
                           uint32_t ndim, const int64_t *shape, const char *note, ckpt_error *err) {
    const ckpt_dtype_info *dt = ckpt__dtype_builtin(type);
    if (!dt) dt = ckpt__dtype_builtin(CKPT_DT_UINT8);
    ckpt__array *a = NULL;
    ckpt_status st = ckpt__file_add_array(f, path, value, dt, ndim, shape, NULL, &a, err);
    if (st != CKPT_OK) return (int)st;
    a->info.is_tensor = 1;
    a->info.state = CKPT_DATA_UNAVAILABLE;
    a->info.note = note;
    return 1;
}

/* Shape/stride tuple (or torch.Size(tuple)) into out[max]; -1 on bad input. */
static int read_dims(const ckpt_value *v, int64_t *out, uint32_t max, uint32_t *n) {
    if (ckpt_value_kind(v) == CKPT_K_OBJECT) { /* torch.Size((2, 3)) */
        const char *c = ckpt_value_canonical(ckpt_value_callable(v));
        const ckpt_value *args = ckpt_value_args(v);
        if (!c || strcmp(c, "torch.Size") != 0 || ckpt_value_len(args) != 1) return -1;
        v = ckpt_value_item(args, 0);
    }
    ckpt_kind k = ckpt_value_kind(v);
    if (k != CKPT_K_TUPLE && k != CKPT_K_LIST) return -1;
    size_t len = ckpt_value_len(v);
    if (len > max) return -2;
    for (size_t i = 0; i < len; i++) {
        int64_t x;
        if (ckpt_value_int64(ckpt_value_item(v, i), &x) != CKPT_OK || x < 0) return -1;
        out[i] = x;
    }
    *n = (uint32_t)len;
    return 0;
}

static int canon_eq(const char *c, const char *name) { return c && strcmp(c, name) == 0; }

static int fail(ckpt_error *err, const char *path, ckpt_status s, const char *what) {
    ckpt_error_member(err, path);
    return (int)ckpt_error_set(err, s, -1, "tensor '%s': %s", path, what);
}

/* The dense rebuilds: _rebuild_tensor(_v2/_v3). */
static int dense(ckpt_file *f, ckpt__torch *t, const ckpt_value *value, const char *path,
                 const ckpt_value *args, int v3, int rg, ckpt_error *err) {
    size_t n = ckpt_value_len(args);
    if (ckpt_value_kind(args) != CKPT_K_TUPLE || n < 4 || (v3 && n < 7))
        return fail(err, path, CKPT_E_FORMAT, "rebuild arguments are not (storage, offset, size, stride, ...)");
    const ckpt_value *sv = ckpt_value_item(args, 0);
    int64_t offset;
    if (ckpt_value_int64(ckpt_value_item(args, 1), &offset) != CKPT_OK || offset < 0)
        return fail(err, path, CKPT_E_FORMAT, "storage offset is not a non-negative int");
    int64_t shape[CKPT_DEFAULT_MAX_NDIM], strides[CKPT_DEFAULT_MAX_NDIM];
    uint32_t nd = 0, ns = 0;
    uint32_t maxd = f->limits.max_ndim < CKPT_DEFAULT_MAX_NDIM ? f->limits.max_ndim : CKPT_DEFAULT_MAX_NDIM;
    int r = read_dims(ckpt_value_item(args, 2), shape, maxd, &nd);
    if (r == -2) return fail(err, path, CKPT_E_LIMIT, "too many dimensions");
    if (r < 0) return fail(err, path, CKPT_E_FORMAT, "size is not a tuple of non-negative ints");
    r = read_dims(ckpt_value_item(args, 3), strides, maxd, &ns);
    if (r == -2) return fail(err, path, CKPT_E_LIMIT, "too many dimensions");
    if (r < 0 || ns != nd) return fail(err, path, CKPT_E_FORMAT, "stride does not match size");
    if (n >= 5 && !v3) {
        const ckpt_value *g = ckpt_value_item(args, 4);
        if (ckpt_value_kind(g) == CKPT_K_BOOL && rg < 0) rg = ckpt_value_bool(g);
    } else if (v3) {
        const ckpt_value *g = ckpt_value_item(args, 4);
        if (ckpt_value_kind(g) == CKPT_K_BOOL && rg < 0) rg = ckpt_value_bool(g);
    }
    if (ckpt_value_kind(sv) != CKPT_K_PERSID)
        return fail(err, path, CKPT_E_FORMAT, "storage is not a persistent id");
    pid_info pi;
    if (!parse_pid(ckpt_value_persid(sv), &pi))
        return fail(err, path, CKPT_E_FORMAT, "storage id is not ('storage', type, key, location, numel)");
    ckpt_dtype type = pi.type;
    if (v3) {
        type = dtype_global(ckpt_value_item(args, 6));
        if (type == CKPT_DT_INVALID) return fail(err, path, CKPT_E_UNSUPPORTED, "unknown dtype in _rebuild_tensor_v3");
    }
    if (type == CKPT_DT_QINT8 || type == CKPT_DT_QUINT8 || type == CKPT_DT_QINT32 || type == CKPT_DT_QUINT4X2)
        return add_unavailable(f, path, value, type, nd, shape,
                               "quantized storage without quantizer: unsupported for data access", err);
    char kb[CKPT__TORCH_MAX_KEY];
    size_t kl;
    if (!table_key(t ? t->dir : "", pi.key, pi.key_len, kb, sizeof kb, &kl))
        return fail(err, path, CKPT_E_FORMAT, "storage key too long");
    ckpt__tstorage *s = t ? ckpt__torch_find(t, kb, kl) : NULL;
    if (!s || !s->defined)
        return add_unavailable(f, path, value, type, nd, shape,
                               "storage data not in this file (pickle without its archive)", err);
    /* the declared storage must be inside its record */
    uint64_t declared;
    if (!ckpt__mul_ok(pi.numel, pi.elem_size, &declared) || declared > s->nbytes) {
        ckpt_error_member(err, path);
        return (int)ckpt_error_set(err, CKPT_E_BOUNDS, -1,
                                   "tensor '%s': storage '%s' declares %llu elements of %llu bytes but "
                                   "holds %llu bytes",
                                   path, s->member, (unsigned long long)pi.numel,
                                   (unsigned long long)pi.elem_size, (unsigned long long)s->nbytes);
    }
    if (pi.has_view) { /* legacy storage view: a window of the root storage */
        uint64_t vo, ve;
        if (!ckpt__mul_ok((uint64_t)pi.view_offset, pi.elem_size, &vo) ||
            !ckpt__mul_ok(pi.view_numel, pi.elem_size, &ve) || !ckpt__add_ok(vo, ve, &ve) ||
            ve > s->nbytes)
            return fail(err, path, CKPT_E_BOUNDS, "storage view outside its root storage");
        uint64_t is = ckpt__torch_elem_size(type);
        if (!is || vo % is) return fail(err, path, CKPT_E_FORMAT, "storage view not aligned to its elements");
        if (!ckpt__add_ok((uint64_t)offset, vo / is, (uint64_t *)&offset) || offset < 0)
            return fail(err, path, CKPT_E_RANGE, "storage offset overflows");
    }
    ckpt_status st = ckpt__torch_add_tensor(f, t, path, value, type, s, offset, nd, shape, strides,
                                            rg > 0, err);
    return st == CKPT_OK ? 1 : (int)st;
}

/* Old tar form: a PERSID whose id is a tensor key (t->tt is sorted by key,
   strcmp order, keys unique: binary search). */
static int tar_tensor(ckpt_file *f, ckpt__torch *t, ckpt_value *v, const char *path, ckpt_error *err) {
    const ckpt_value *id = ckpt_value_persid(v);
    size_t kl;
    const uint8_t *k = NULL;
    if (ckpt_value_kind(id) != CKPT_K_STR) return 0;
    k = ckpt_value_bytes(id, &kl);
    for (size_t lo = 0, hi = t->ntt; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2, ml = strlen(t->tt[mid].key);
        int c = memcmp(t->tt[mid].key, k, ml < kl ? ml : kl);
        if (c == 0) c = (ml > kl) - (ml < kl);
        if (c != 0) {
            if (c < 0) lo = mid + 1;
            else hi = mid;
            continue;
        }
        const ckpt__ttensor *tt = &t->tt[mid];
        ckpt__tstorage *s = ckpt__torch_find(t, tt->storage, strlen(tt->storage));
        if (!s) return fail(err, path, CKPT_E_FORMAT, "tensor refers to a missing storage");
        ckpt_status st = ckpt__torch_add_tensor(f, t, path, v, s->elem, s, tt->offset, tt->ndim,
                                                tt->shape, tt->strides, 0, err);
        return st == CKPT_OK ? 1 : (int)st;
    }
    return 0;
}

int ckpt__recognize_torch(ckpt_file *f, ckpt_value *v, const char *path, ckpt_error *err) {
    ckpt__torch *t = ckpt__torch_of(f);
    ckpt_kind kind = ckpt_value_kind(v);
    if (kind == CKPT_K_PERSID) return t && t->ntt ? tar_tensor(f, t, v, path, err) : 0;
    if (kind != CKPT_K_OBJECT) return 0;
    const char *fn = ckpt_value_canonical(ckpt_value_callable(v));
    if (ckpt_global_role_of(fn) != CKPT_GR_TORCH_TENSOR &&
        !canon_eq(fn, "torch._utils._rebuild_device_tensor_from_numpy") &&
        !canon_eq(fn, "torch._utils._rebuild_sparse_csr_tensor") &&
        !canon_eq(fn, "torch._utils._rebuild_wrapper_subclass") &&
        !canon_eq(fn, "torch._utils._rebuild_xla_tensor"))
        return 0;
    const ckpt_value *args = ckpt_value_args(v);
    int rg = -1;
    for (unsigned depth = 0;; depth++) {
        if (depth == CKPT__TORCH_MAX_WRAP)
            return fail(err, path, CKPT_E_LIMIT, "tensor wrappers nested too deep");
        if (canon_eq(fn, "torch._utils._rebuild_parameter") ||
            canon_eq(fn, "torch._utils._rebuild_parameter_with_state")) {
            if (ckpt_value_kind(args) != CKPT_K_TUPLE || ckpt_value_len(args) < 2)
                return fail(err, path, CKPT_E_FORMAT, "bad _rebuild_parameter arguments");
            const ckpt_value *inner = ckpt_value_item(args, 0);
            const ckpt_value *g = ckpt_value_item(args, 1);
            if (ckpt_value_kind(g) == CKPT_K_BOOL && rg < 0) rg = ckpt_value_bool(g);
            if (ckpt_value_kind(inner) != CKPT_K_OBJECT)
                return fail(err, path, CKPT_E_FORMAT, "parameter data is not a tensor");
            fn = ckpt_value_canonical(ckpt_value_callable(inner));
            args = ckpt_value_args(inner);
            continue;
        }
        if (canon_eq(fn, "torch._tensor._rebuild_from_type_v2")) {
            if (ckpt_value_kind(args) != CKPT_K_TUPLE || ckpt_value_len(args) < 3)
                return fail(err, path, CKPT_E_FORMAT, "bad _rebuild_from_type_v2 arguments");
            fn = ckpt_value_canonical(ckpt_value_item(args, 0));
            args = ckpt_value_item(args, 2);
            continue;
        }
        break;
    }
    int64_t shape[CKPT_DEFAULT_MAX_NDIM];
    uint32_t nd = 0;
    uint32_t maxd = f->limits.max_ndim < CKPT_DEFAULT_MAX_NDIM ? f->limits.max_ndim : CKPT_DEFAULT_MAX_NDIM;
    if (canon_eq(fn, "torch._utils._rebuild_tensor_v2") || canon_eq(fn, "torch._utils._rebuild_tensor"))
        return dense(f, t, v, path, args, 0, rg, err);
    if (canon_eq(fn, "torch._utils._rebuild_tensor_v3")) return dense(f, t, v, path, args, 1, rg, err);
    if (canon_eq(fn, "torch._utils._rebuild_qtensor")) {
        ckpt_dtype type = CKPT_DT_QINT8;
        uint64_t es;
        const ckpt_value *sv = ckpt_value_item(args, 0);
        pid_info pi;
        if (ckpt_value_kind(sv) == CKPT_K_PERSID && parse_pid(ckpt_value_persid(sv), &pi)) type = pi.type;
        (void)es;
        if (read_dims(ckpt_value_item(args, 2), shape, maxd, &nd) < 0) nd = 0;
        return add_unavailable(f, path, v, type, nd, shape,
                               "quantized tensor: unsupported for data access", err);
    }
    if (canon_eq(fn, "torch._utils._rebuild_sparse_tensor") ||
        canon_eq(fn, "torch._utils._rebuild_sparse_csr_tensor")) {
        /* (layout, (indices, values, size)) or (layout, (crow, col, values, size)) */
        const ckpt_value *data = ckpt_value_item(args, 1);
        size_t dn = ckpt_value_len(data);
        ckpt_dtype type = CKPT_DT_FLOAT32;
        if (ckpt_value_kind(data) == CKPT_K_TUPLE && dn >= 3) {
            if (read_dims(ckpt_value_item(data, dn - 1), shape, maxd, &nd) < 0) nd = 0;
            const ckpt_value *vals = ckpt_value_item(data, dn - 2);
            const ckpt_value *va = ckpt_value_args(vals);
            /* the values tensor's storage type gives the dtype */
            for (unsigned d = 0; d < CKPT__TORCH_MAX_WRAP && ckpt_value_kind(vals) == CKPT_K_OBJECT; d++) {
                const ckpt_value *sv = ckpt_value_item(va, 0);
                pid_info pi;
                if (ckpt_value_kind(sv) == CKPT_K_PERSID && parse_pid(ckpt_value_persid(sv), &pi)) {
                    type = pi.type;
                    break;
                }
                vals = sv;
                va = ckpt_value_args(vals);
            }
        }
        return add_unavailable(f, path, v, type, nd, shape,
                               "sparse tensor: unsupported for data access", err);
    }
    if (canon_eq(fn, "torch._utils._rebuild_meta_tensor_no_storage")) {
        ckpt_dtype type = dtype_global(ckpt_value_item(args, 0));
        if (type == CKPT_DT_INVALID) type = CKPT_DT_FLOAT32;
        if (read_dims(ckpt_value_item(args, 1), shape, maxd, &nd) < 0) nd = 0;
        return add_unavailable(f, path, v, type, nd, shape,
                               "meta tensor (no data): unsupported for data access", err);
    }
    return add_unavailable(f, path, v, CKPT_DT_UINT8, 0, shape,
                           "tensor rebuilt by a function ckpt does not run: unsupported for data access",
                           err);
}
