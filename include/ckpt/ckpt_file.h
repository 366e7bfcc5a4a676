/*
 * ckpt_file.h - open a checkpoint of any supported format and reach its arrays
 * and tensors.
 *
 * Opening costs time proportional to the metadata: the file is mapped, the
 * pickle(s) are run, arrays are *described*; no array data is read until
 * ckpt_array_data() asks for it.  Data pointers handed out are aligned to at
 * least 16 bytes when they point into the mapping ("mapped", zero-copy) and 64
 * bytes when ckpt made a copy ("copied": compressed, unaligned, big-endian or
 * re-zipped data).  ckpt_open_opts.min_align may demand more, forcing copies.
 *
 * Threads: a ckpt_file may be read by several threads at once only after its
 * arrays' data was resolved (ckpt_file_load_all); ckpt_array_data() on an
 * unresolved array mutates the handle.
 */
#ifndef CKPT_FILE_H
#define CKPT_FILE_H

#include "ckpt_common.h"
#include "ckpt_pickle.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_file ckpt_file;

typedef enum ckpt_format {
    CKPT_FMT_UNKNOWN = 0,
    CKPT_FMT_PICKLE,        /* plain pickle (pickle.dump) */
    CKPT_FMT_JOBLIB,        /* joblib.dump, uncompressed (arrays inline after BUILD) */
    CKPT_FMT_JOBLIB_ZLIB_OLD, /* pre-0.10 joblib "ZF" compressed */
    CKPT_FMT_JOBLIB_MULTI,  /* pre-0.10 joblib with .npy sidecar files */
    CKPT_FMT_NPY,
    CKPT_FMT_NPZ,
    CKPT_FMT_TORCH_ZIP,     /* torch >= 1.6 zip archive */
    CKPT_FMT_TORCH_LEGACY,  /* torch < 1.6 stream of pickles + raw storages */
    CKPT_FMT_TORCH_TAR,     /* very old tar form */
    CKPT_FMT_TORCHSCRIPT,   /* zip with constants.pkl/code/: tensors listed, code not run */
    CKPT_FMT_SHARDED        /* *.index.json with weight_map over shard files */
} ckpt_format;

CKPT_API const char *ckpt_format_name(ckpt_format f); /* "pickle", "joblib", "torch-zip", ... */

/* Element types.  Values never renumbered. */
typedef enum ckpt_dtype {
    CKPT_DT_INVALID = 0,
    CKPT_DT_BOOL, CKPT_DT_INT8, CKPT_DT_INT16, CKPT_DT_INT32, CKPT_DT_INT64,
    CKPT_DT_UINT8, CKPT_DT_UINT16, CKPT_DT_UINT32, CKPT_DT_UINT64,
    CKPT_DT_FLOAT16, CKPT_DT_BFLOAT16, CKPT_DT_FLOAT32, CKPT_DT_FLOAT64,
    CKPT_DT_COMPLEX64, CKPT_DT_COMPLEX128,
    CKPT_DT_UNICODE,     /* numpy 'U': fixed width UCS-4 */
    CKPT_DT_BYTES,       /* numpy 'S': fixed width bytes */
    CKPT_DT_VOID,        /* numpy 'V': structured (fields) or raw */
    CKPT_DT_OBJECT,      /* numpy 'O': items are graph values (ckpt_array_object_item) */
    CKPT_DT_DATETIME64, CKPT_DT_TIMEDELTA64,
    CKPT_DT_QINT8, CKPT_DT_QUINT8, CKPT_DT_QINT32, CKPT_DT_QUINT4X2, /* torch quantized */
    CKPT_DT__COUNT
} ckpt_dtype;

CKPT_API const char *ckpt_dtype_name(ckpt_dtype t);  /* "float32", "bfloat16", ... */

typedef struct ckpt_dtype_info ckpt_dtype_info;

typedef struct ckpt_field_info {
    const char *name;
    uint64_t offset;                 /* byte offset inside the record */
    const ckpt_dtype_info *dtype;
} ckpt_field_info;

struct ckpt_dtype_info {
    ckpt_dtype type;
    char byteorder;         /* '<', '>' or '|' (not applicable) as stored in the FILE */
    uint64_t itemsize;      /* bytes per element */
    char str[48];           /* numpy-style descr: "<f8", "|b1", "<U5", "|V56", "<M8[ns]" */
    const char *unit;       /* datetime64/timedelta64 unit ("ns", "D", ...) or NULL */
    uint32_t nfields;       /* structured: number of fields, in numpy's `names` order */
    const ckpt_field_info *fields;
    uint32_t sub_ndim;      /* subarray dtype (e.g. ('<f8', (2,3))): its shape */
    const int64_t *sub_shape;
};

/* Field of a structured dtype by name, NULL if absent. */
CKPT_API const ckpt_field_info *ckpt_dtype_field(const ckpt_dtype_info *dt, const char *name);

typedef enum ckpt_data_state {
    CKPT_DATA_UNRESOLVED = 0, /* described only; ckpt_array_data() will map or copy */
    CKPT_DATA_MAPPED,         /* pointer into the file mapping (zero-copy) */
    CKPT_DATA_COPIED,         /* aligned copy owned by the file handle */
    CKPT_DATA_UNAVAILABLE     /* quantized / sparse / meta / missing: see `note` */
} ckpt_data_state;

typedef struct ckpt_array_info {
    const char *path;           /* dotted path: "coef_", "steps.0.1.mean_", "net.0.weight" */
    const ckpt_value *value;    /* graph node it was made from (NULL for .npy/.npz) */
    const ckpt_dtype_info *dtype;
    uint32_t ndim;
    const int64_t *shape;
    const int64_t *strides;     /* in BYTES, like numpy (torch's element strides * itemsize) */
    uint64_t nelems;
    uint64_t nbytes;            /* nelems * itemsize */
    int fortran;                /* numpy Fortran order */
    int is_tensor;              /* made by a torch rebuild function */
    int requires_grad;
    const char *storage_key;    /* torch storage key ("0", "1", ...) or NULL */
    uint64_t storage_offset;    /* torch: in elements */
    const char *member;         /* archive member / file holding the data, or NULL */
    uint64_t file_offset;       /* offset of the first byte in that member/file, if known */
    int will_copy;              /* 1 if ckpt_array_data() must copy (compressed,
                                   unaligned, big-endian, strided beyond storage...) */
    ckpt_data_state state;
    const char *note;           /* why data is unavailable / copied, or NULL */
} ckpt_array_info;

/* Open flags. */
#define CKPT_OPEN_NO_MMAP  1u   /* read the file into memory instead of mapping it */

typedef struct ckpt_open_opts {
    ckpt_limits limits;         /* start from ckpt_limits_default() */
    const ckpt_allocator *alloc;/* NULL: malloc */
    unsigned flags;
    size_t min_align;           /* minimum alignment of data pointers; 0 = 16 */
} ckpt_open_opts;

CKPT_API ckpt_open_opts ckpt_open_opts_default(void);

/* Open a file (format detected from its bytes; a *.index.json opens a sharded
   checkpoint).  `opts` may be NULL.  On failure *out is NULL and err says why. */
CKPT_API ckpt_status ckpt_open(const char *path, const ckpt_open_opts *opts, ckpt_file **out,
                               ckpt_error *err);
/* Open from memory.  The buffer must stay valid and unchanged until ckpt_close. */
CKPT_API ckpt_status ckpt_open_memory(const void *buf, size_t len, const ckpt_open_opts *opts,
                                      ckpt_file **out, ckpt_error *err);
CKPT_API void ckpt_close(ckpt_file *f);

CKPT_API ckpt_format ckpt_file_format(const ckpt_file *f);
/* Codec of a compressed container ("zlib", "gzip", "bz2", "xz", "lzma", "lz4") or NULL. */
CKPT_API const char *ckpt_file_codec(const ckpt_file *f);
CKPT_API int ckpt_file_protocol(const ckpt_file *f);      /* main pickle's protocol, -1 if none */
CKPT_API ckpt_value *ckpt_file_root(const ckpt_file *f);   /* main pickle's value, NULL if none */
CKPT_API ckpt_graph *ckpt_file_graph(const ckpt_file *f);
CKPT_API uint64_t ckpt_file_size(const ckpt_file *f);      /* bytes of the (main) file */
CKPT_API int ckpt_file_is_mapped(const ckpt_file *f);
/* Extra pickles in the file (legacy torch: magic, protocol, sys_info, main, keys). */
CKPT_API size_t ckpt_file_pickle_count(const ckpt_file *f);
CKPT_API ckpt_value *ckpt_file_pickle_root(const ckpt_file *f, size_t i);
/* Free-form facts for display ("torch version": "3", "byteorder": "little", ...). */
CKPT_API size_t ckpt_file_fact_count(const ckpt_file *f);
CKPT_API const char *ckpt_file_fact_key(const ckpt_file *f, size_t i);
CKPT_API const char *ckpt_file_fact_value(const ckpt_file *f, size_t i);

/* Arrays / tensors, in graph order (first path wins for shared nodes). */
CKPT_API size_t ckpt_file_array_count(const ckpt_file *f);
CKPT_API const ckpt_array_info *ckpt_file_array(const ckpt_file *f, size_t i);
/* Index of the array with this path; CKPT_E_NOTFOUND. */
CKPT_API ckpt_status ckpt_file_find_array(const ckpt_file *f, const char *path, size_t *index);
/* Index of the array made from graph node v (e.g. an estimator attribute). */
CKPT_API ckpt_status ckpt_file_array_of(const ckpt_file *f, const ckpt_value *v, size_t *index);

/* Resolve and return the data of array i: bounds-checked against its storage
   / member / file, byte-swapped into an aligned native-order copy if stored
   big-endian.  The pointer lives until ckpt_close.  For object arrays use
   ckpt_array_object_item instead. */
CKPT_API ckpt_status ckpt_array_data(ckpt_file *f, size_t i, const void **data, ckpt_error *err);
/* Resolve every array (then the handle is read-only and may be shared). */
CKPT_API ckpt_status ckpt_file_load_all(ckpt_file *f, ckpt_error *err);
/* Object-dtype arrays: item k (in C order of the logical shape). */
CKPT_API ckpt_value *ckpt_array_object_item(const ckpt_file *f, size_t i, uint64_t k);

/* Convenience: element k (C order of the logical shape, honouring strides) of
   a numeric/bool array converted to double, after ckpt_array_data succeeded. */
CKPT_API double ckpt_array_get_f64(const ckpt_file *f, size_t i, uint64_t k);
/* Element k as int64: integer, bool and datetime64/timedelta64 types exactly,
   float types only when the value is integral and inside int64.  CKPT_E_ARG:
   no such array/element, data not resolved, out NULL; CKPT_E_TYPE: complex,
   string, object, structured or subarray dtype; CKPT_E_RANGE: uint64 above
   INT64_MAX, a fractional / non-finite / too large float. */
CKPT_API ckpt_status ckpt_array_get_i64(const ckpt_file *f, size_t i, uint64_t k, int64_t *out);
/* Structured (record) arrays: field `field` of element k, converted like
   ckpt_array_get_f64 / ckpt_array_get_i64 (same statuses; field_f64 gives
   CKPT_E_TYPE for a non-numeric field instead of NaN).  `field` must be one
   of ckpt_file_array(f, i)->dtype->fields, e.g. from ckpt_dtype_field(dtype,
   "threshold"), else CKPT_E_ARG; a field that is itself structured or a
   subarray is CKPT_E_TYPE; one reaching past the record CKPT_E_BOUNDS. */
CKPT_API ckpt_status ckpt_array_field_f64(const ckpt_file *f, size_t i, uint64_t k,
                                          const ckpt_field_info *field, double *out);
CKPT_API ckpt_status ckpt_array_field_i64(const ckpt_file *f, size_t i, uint64_t k,
                                          const ckpt_field_info *field, int64_t *out);

/* ---- integrity check (loader/verify.c) ----
   Zip containers (torch zip, TorchScript, .npz, and the zip shards of a
   sharded checkpoint): the CRC-32 of every member's uncompressed bytes is
   computed (streamed in chunks: stored members straight from the file,
   deflated ones inflated) and compared with the central directory.  Every
   format: every array's data is resolved (ckpt_array_data; bounds checked).
   Other containers carry no checksum (has_checksums 0, said so).
   Returns CKPT_OK when everything matched; CKPT_E_CRC when a member's CRC-32
   (or size) differs (err names the first such member, offset = its data);
   another status when a member cannot be read or an array cannot be
   resolved.  The report is filled in every case (rep may be NULL). */
#define CKPT_VERIFY_MAX_MISMATCHES 8

typedef struct ckpt_verify_mismatch {
    char member[256];        /* member name ("shard/member" for a shard's) */
    uint32_t expected;       /* CRC-32 from the central directory */
    uint32_t actual;         /* CRC-32 of the bytes read */
    uint64_t size;           /* uncompressed bytes read */
} ckpt_verify_mismatch;

typedef struct ckpt_verify_report {
    int has_checksums;       /* 1 if at least one zip container was checked */
    uint64_t containers;     /* zip files checked (1, or one per zip shard) */
    uint64_t unchecked_files;/* files without checksums (non-zip main file / shards) */
    uint64_t members;        /* zip members checked */
    uint64_t members_bad;    /* members whose CRC-32 or size differ */
    uint64_t members_failed; /* members that could not be read (codec, bounds) */
    uint64_t bytes;          /* uncompressed member bytes checksummed */
    uint64_t arrays;         /* arrays resolved */
    uint64_t arrays_failed;  /* arrays whose data could not be resolved */
    uint64_t arrays_unavailable; /* quantized / sparse / meta / object: not read */
    size_t n_mismatches;     /* first CKPT_VERIFY_MAX_MISMATCHES bad members */
    ckpt_verify_mismatch mismatches[CKPT_VERIFY_MAX_MISMATCHES];
} ckpt_verify_report;

/* Progress: `done` of `total` bytes (checksummed member bytes, then array
   bytes).  Called at most once per chunk (a few MB). */
typedef void (*ckpt_verify_progress_fn)(void *user, uint64_t done, uint64_t total);

CKPT_API ckpt_status ckpt_file_verify(ckpt_file *f, ckpt_verify_progress_fn cb, void *user,
                                      ckpt_verify_report *rep, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CKPT_FILE_H */
