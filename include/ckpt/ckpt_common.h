/*
 * ckpt_common.h - version, status codes, error detail, limits and allocator.
 *
 * Trust boundary: every byte given to ckpt is treated as hostile.  Nothing in a
 * file is ever executed; every length, offset and count is checked before use,
 * and every resource is bounded by the limits below.
 *
 * Threads: there is no global mutable state.  Different handles may be used
 * from different threads at once; one handle is not to be used by two threads
 * at once unless its documentation says so.
 */
#ifndef CKPT_COMMON_H
#define CKPT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CKPT_SHARED_BUILD)
#define CKPT_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(CKPT_SHARED_BUILD)
#define CKPT_API __attribute__((visibility("default")))
#else
#define CKPT_API
#endif

#define CKPT_VERSION_MAJOR 0
#define CKPT_VERSION_MINOR 1
#define CKPT_VERSION_PATCH 0
#define CKPT_VERSION_STRING "0.1.0"
#define CKPT_VERSION_NUMBER \
    (CKPT_VERSION_MAJOR * 10000 + CKPT_VERSION_MINOR * 100 + CKPT_VERSION_PATCH)

/* Runtime version: CKPT_VERSION_NUMBER of the library actually linked. */
CKPT_API unsigned ckpt_version_number(void);
CKPT_API const char *ckpt_version_string(void);

/*
 * Status codes.  0 is success, failures are negative.  Values are never
 * renumbered once released; new codes are appended before CKPT_E__LAST.
 */
typedef enum ckpt_status {
    CKPT_OK = 0,
    CKPT_E_NOMEM = -1,        /* allocation failed */
    CKPT_E_IO = -2,           /* open/read/mmap of a file failed */
    CKPT_E_TRUNCATED = -3,    /* input ends before a complete value */
    CKPT_E_FORMAT = -4,       /* bytes are not what the format requires */
    CKPT_E_OPCODE = -5,       /* unknown pickle opcode */
    CKPT_E_STACK = -6,        /* pickle stack underflow / wrong types on it */
    CKPT_E_MARK = -7,         /* MARK missing or misplaced */
    CKPT_E_MEMO = -8,         /* memo key missing / invalid */
    CKPT_E_LIMIT = -9,        /* a ckpt_limits bound was exceeded */
    CKPT_E_UNSUPPORTED = -10, /* valid input that ckpt does not handle */
    CKPT_E_NOTFOUND = -11,    /* name / path / member does not exist */
    CKPT_E_TYPE = -12,        /* value of the wrong kind for the request */
    CKPT_E_RANGE = -13,       /* number does not fit / index out of range */
    CKPT_E_BOUNDS = -14,      /* offset/size outside its containing buffer */
    CKPT_E_CODEC = -15,       /* decompression failed */
    CKPT_E_ARG = -16,         /* caller passed an invalid argument */
    CKPT_E_CRC = -17,         /* checksum mismatch */
    CKPT_E_MODEL = -18,       /* estimator state inconsistent / unsupported */
    CKPT_E_INPUT = -19,       /* bad input data given to a model */
    CKPT_E__LAST = -20
} ckpt_status;

/* Short constant description of a status ("memo key missing", ...). */
CKPT_API const char *ckpt_status_str(ckpt_status s);

/*
 * Error detail, owned by the caller (or embedded in a handle).  Functions that
 * fail fill it when it is non-NULL.  `offset` is the byte offset in the
 * current stream (pickle / archive member) or -1 when not applicable;
 * `member` names the archive member or path inside the checkpoint ("" if none).
 */
typedef struct ckpt_error {
    ckpt_status status;
    int64_t offset;
    char member[192];
    char message[320];
} ckpt_error;

/* Reset an error struct to "no error". */
CKPT_API void ckpt_error_clear(ckpt_error *err);

/*
 * Fill `err` (may be NULL) and return `s`.  The message is printf-formatted.
 * Used by all layers; exported so that the runtime and tools report errors
 * the same way.
 */
CKPT_API ckpt_status ckpt_error_set(ckpt_error *err, ckpt_status s, int64_t offset,
                                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Set err->member (truncated to fit). */
CKPT_API void ckpt_error_member(ckpt_error *err, const char *member);

/*
 * Allocator.  All memory ckpt allocates goes through one of these; NULL means
 * malloc/realloc/free.  `alloc_aligned` may be NULL (then ckpt over-allocates
 * through `realloc` and aligns by hand).
 */
typedef struct ckpt_allocator {
    void *(*realloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);
    void (*free_fn)(void *user, void *ptr, size_t size);
    void *user;
} ckpt_allocator;

/* Named default limits.  Every one can be changed per handle. */
#define CKPT_DEFAULT_MAX_STACK        (1u << 22)   /* pickle stack entries */
#define CKPT_DEFAULT_MAX_MARKS        (1u << 16)   /* MARK nesting depth */
#define CKPT_DEFAULT_MAX_MEMO         (1u << 24)   /* memo entries (largest index + 1) */
#define CKPT_DEFAULT_MAX_CONTAINER    (1u << 26)   /* items in one list/tuple/dict/set */
#define CKPT_DEFAULT_MAX_STRING       ((uint64_t)1 << 32) /* bytes in one str/bytes */
#define CKPT_DEFAULT_MAX_MEMORY       ((uint64_t)4 << 30) /* bytes allocated per handle */
#define CKPT_DEFAULT_MAX_OPS          ((uint64_t)1 << 32) /* opcodes executed per pickle */
#define CKPT_DEFAULT_MAX_DEPTH        1000u        /* depth of recursive walks (print, paths) */
#define CKPT_DEFAULT_MAX_NDIM         64u          /* dimensions of one array/tensor */
#define CKPT_DEFAULT_MAX_DECOMPRESSED ((uint64_t)8 << 30) /* output of one decompression */
#define CKPT_DEFAULT_MAX_ARRAYS       (1u << 22)   /* arrays/tensors listed per file */

typedef struct ckpt_limits {
    uint64_t max_stack;
    uint64_t max_marks;
    uint64_t max_memo;
    uint64_t max_container;
    uint64_t max_string;
    uint64_t max_memory;
    uint64_t max_ops;
    uint32_t max_depth;
    uint32_t max_ndim;
    uint64_t max_decompressed;
    uint64_t max_arrays;
} ckpt_limits;

/* The defaults above. */
CKPT_API ckpt_limits ckpt_limits_default(void);

#ifdef __cplusplus
}
#endif
#endif /* CKPT_COMMON_H */
