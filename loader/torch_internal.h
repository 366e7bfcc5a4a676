/*
 * torch_internal.h - what the PyTorch readers share: torch.c (tensor
 * recognizer, storage table, persistent_load hook), zip.c (zip archives and
 * TorchScript), torch_legacy.c (legacy stream and tar forms).
 *
 * Storages.  Every container reader fills one table of storages, keyed by a
 * string: the record name relative to the archive's top folder for zip files
 * ("data/0", "constants/3"), the storage key itself for the legacy and tar
 * forms.  A storage is either in place (`data` points into f->map, `nbytes`
 * available) or compressed in a zip (inflated once, on first use, into an
 * aligned buffer owned by the table, shared by every tensor that views it).
 *
 * Tensors.  The main pickle keeps BINPERSID ids as inert PERSID nodes; the
 * recognizer (ckpt__recognize_torch) turns every torch rebuild call into an
 * array whose source is its storage: src = storage bytes, src_len = storage
 * bytes, src_base = storage_offset * itemsize, so the generic resolve of
 * array_table.c maps it (aligned, native) or copies it.  Every view is
 * bounds-checked against its storage when it is described.
 */
#ifndef CKPT_TORCH_INTERNAL_H
#define CKPT_TORCH_INTERNAL_H

#include "loader_internal.h"

/* Bytes of a small metadata record (byteorder, version, ...) that are read. */
#define CKPT__TORCH_SMALL_RECORD 256u

typedef struct ckpt__tstorage {
    const char *key;          /* table key (graph arena) */
    size_t key_len;           /* bytes of key */
    const char *member;       /* archive member / description for messages (graph arena) */
    const uint8_t *data;      /* in place: bytes in f->map; compressed: NULL until inflated */
    uint64_t nbytes;          /* bytes of the storage (uncompressed) */
    uint64_t file_offset;     /* offset of the (possibly compressed) bytes in f->map */
    int compressed;           /* zip member that is not stored */
    uint64_t zip_index;       /* central-directory (= libzip) index of the member (compressed only) */
    void *copy;               /* inflated bytes (ckpt__aligned_free) */
    ckpt_dtype elem;          /* element type seen in a persistent id (INVALID: none yet) */
    uint64_t elem_size;       /* bytes per element of that type */
    int defined;              /* 1 once a container reader gave the bytes */
    int copy_whole;           /* in place (file_offset) but unaligned: copied once, on first
                                 use, into an aligned buffer (st->copy) shared by its views */
} ckpt__tstorage;

/* Inflate a compressed storage into st->copy (zip.c). */
typedef ckpt_status (*ckpt__tinflate_fn)(ckpt_file *f, ckpt__tstorage *st, ckpt_error *err);

typedef struct ckpt__torch {
    ckpt__tstorage *st;       /* storages */
    size_t n, cap;
    uint64_t *slots;          /* open addressing: index + 1, 0 = empty */
    size_t nslots;
    int big_endian;           /* data in records is big-endian (byteorder "big") */
    const ckpt_dtype_info *be_dtype[CKPT_DT__COUNT]; /* big-endian descriptions, made once */
    void *za;                 /* zip_t * for inflating (zip.c): opened on first need, or NULL */
    uint64_t zip_entries;     /* entries of the zip's own central-directory walk (zip.c) */
    const char *zip_top;      /* top folder with its '/' (graph arena; zip.c) */
    ckpt__tinflate_fn inflate;
    void *owned;              /* an inflated pickle the graph borrows from */
    size_t owned_len;
    const char *dir;          /* record folder that persistent ids refer to ("data/") */
    /* old tar form: tensors sorted by key (strcmp order, unique; torch_legacy.c) */
    struct ckpt__ttensor *tt;
    size_t ntt;
    void (*extra_free)(ckpt_file *f); /* format-specific cleanup (zip.c) */
} ckpt__torch;

/* Old tar form: one tensor described in the `tensors` member. */
typedef struct ckpt__ttensor {
    const char *key;          /* decimal key (graph arena) */
    const char *storage;      /* storage key */
    uint32_t ndim;
    const int64_t *shape, *strides; /* elements (graph arena) */
    int64_t offset;
} ckpt__ttensor;

/* Create the torch state and attach it to f (f->fmt_state, f->fmt_free). */
ckpt_status ckpt__torch_attach(ckpt_file *f, ckpt__torch **out, ckpt_error *err);
/* The torch state of f, or NULL when f is not a torch file. */
ckpt__torch *ckpt__torch_of(const ckpt_file *f);
/* Find or add a storage by key (key copied into the graph arena).  *added
   (may be NULL) tells whether it is new. */
ckpt_status ckpt__torch_storage(ckpt_file *f, ckpt__torch *t, const char *key, size_t key_len,
                                ckpt__tstorage **out, int *added, ckpt_error *err);
ckpt__tstorage *ckpt__torch_find(const ckpt__torch *t, const char *key, size_t key_len);
/* Element type and size of a storage class global (torch.FloatStorage,
   torch.cuda.HalfStorage, torch.storage.UntypedStorage (uint8), ...); 0 if
   not one. */
int ckpt__torch_storage_type(const ckpt_value *g, ckpt_dtype *type, uint64_t *elem_size);
/* Element size of a dtype (bool..complex128, quantized). */
uint64_t ckpt__torch_elem_size(ckpt_dtype t);

/* Run one pickle of a torch file with the persistent_load hook that records
   the element type of every ('storage', type, key, ...) id.  `dir` is
   prepended to storage keys to form table keys ("data/" for zip archives,
   "" for legacy).  The graph is f->graph (made if missing, borrowing input). */
ckpt_status ckpt__torch_pickle(ckpt_file *f, ckpt__torch *t, const uint8_t *buf, size_t len,
                               size_t start, const char *dir, ckpt_value **root,
                               ckpt_pickle_info *info, ckpt_error *err);

/* Walk `root` for tensors under `prefix` with storage keys relative to
   `dir` (see ckpt__torch_pickle). */
ckpt_status ckpt__torch_walk(ckpt_file *f, ckpt__torch *t, ckpt_value *root, const char *prefix,
                             const char *dir, ckpt_error *err);

/* Called by each torch opener after it succeeded: releases the storage
   table when no tensor resolves through it later (see torch.c). */
void ckpt__torch_opened(ckpt_file *f);

/* Add a tensor over storage `s` (shape/strides in elements).  Used by the
   recognizer and by readers that describe tensors outside pickles (old
   TorchScript model.json, old tar form).  value may be NULL. */
ckpt_status ckpt__torch_add_tensor(ckpt_file *f, ckpt__torch *t, const char *path,
                                   const ckpt_value *value, ckpt_dtype type, ckpt__tstorage *s,
                                   int64_t offset, uint32_t ndim, const int64_t *shape,
                                   const int64_t *strides, int requires_grad, ckpt_error *err);

#endif
