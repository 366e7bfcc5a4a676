/*
 * util_torch.h - the expected-tensor checker shared by test_torch.c (zip
 * archives, TorchScript) and test_torch_legacy.c (legacy stream, tar form,
 * sharded indexes).
 *
 * `want` is the "tensors" list of a JSON that PyTorch wrote beside a fixture
 * (models/make_torch.py) or of a realworld expected file; only the fields
 * present are compared: name (in order), dtype, shape, unavailable, strides
 * (elements), storage_offset, requires_grad, storage_group, values, sum,
 * sum_abs, sum_imag.  Every tensor's data is resolved (ckpt_array_data) and
 * read element by element (ckpt_array_get_f64).
 */
#ifndef CKPT_UTIL_TORCH_H
#define CKPT_UTIL_TORCH_H

#include "ckpt/ckpt_file.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tu_tensor_opts {
    /* the file's bytes: contiguous data at a known (non-zero) file offset
       must equal them there (NULL: no comparison) */
    const uint8_t *file;
    size_t file_len;
    int file_is_source;   /* `file` is the buffer the file was opened from:
                             mapped data must point into it at file_offset */
    int copied;           /* the archive's records must be copied (will_copy at open, COPIED after) */
    int big;              /* big-endian archive (no byte comparison, no shared-base check) */
    int aligned_records;  /* records are 64-byte aligned (zip): an aligned view is planned
                             zero-copy at open and mapped; views of one storage resolve
                             through one base */
    unsigned copy_align;  /* alignment every copy must have (16 or more) */
} tu_tensor_opts;

/* Address of element k (C order of the logical shape) of resolved data. */
const uint8_t *tu_elem_ptr(const ckpt_array_info *ai, const void *d, uint64_t k);
/* 1 if the array's strides are C-contiguous for its shape. */
int tu_is_c_contig(const ckpt_array_info *ai);
/* Offset and strides of the view keep 16-byte alignment inside its storage. */
int tu_view_aligned(const ckpt_array_info *ai);

/* Open models/<rel> in one of the three ways the tests try: mode 0 mapped,
   1 read (CKPT_OPEN_NO_MMAP), 2 ckpt_open_memory on a malloc'd copy of
   `bytes` (*copy receives it: free it after ckpt_close; NULL otherwise).
   `label` receives "name[mmap|read|memory]"; a failed open is a failed check. */
ckpt_status tu_open_mode(const char *rel, const char *name, int mode, const uint8_t *bytes, size_t len,
                         ckpt_file **f, uint8_t **copy, char *label, size_t label_cap);

/* Compare the tensors of f with `want`; failures are reported with `label`. */
void tu_check_tensors(ckpt_file *f, const cJSON *want, const char *label, const tu_tensor_opts *o);

#endif
