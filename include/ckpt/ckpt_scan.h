/*
 * ckpt_scan.h - tell what a checkpoint would do if Python loaded it, without
 * loading it.
 *
 * The scanner finds every pickle in a file (after each STOP, in every zip
 * member that starts like a pickle whatever its name, legacy torch's several
 * pickles, joblib's inline object-array pickles, .npy object arrays, inside
 * compressed joblib files) and judges every global reference it meets
 * (GLOBAL, STACK_GLOBAL, INST, EXT1/2/4) against an allowlist of data
 * constructors and a denylist of code-running callables.  Each pickle is walked
 * twice: by the pickle machine (whose on_global hook resolves memo-sourced and
 * computed STACK_GLOBAL operands exactly as Python would) and by the
 * disassembler with a symbolic stack (which keeps going past semantic errors),
 * and the findings of both are kept.  Nothing is ever executed.
 *
 * Verdict, from best to worst:
 *   SAFE          only allowlisted globals (NumPy/torch/joblib/scikit-learn data
 *                 constructors, a few builtins types, OrderedDict ...)
 *   UNKNOWN       other globals (e.g. a user's own classes): listed, not judged
 *   UNVERIFIABLE  a stream that is truncated or broken, a container that is
 *                 encrypted, unsupported, inconsistent or over a limit:
 *                 never reported as safe
 *   DANGEROUS     a global that can run code, touch files, network or
 *                 processes, import modules or reach attributes
 * The file's verdict is the worst of its findings.
 *
 * One structure of dangerous globals is recognised: pickle writes objects with
 * __getnewargs_ex__ at protocols 2-3 as functools.partial(getattr(C,
 * '__new__'), C, *args, **kwargs) called with ().  When every use of those
 * functools.partial / builtins.getattr globals in the pickle is exactly that
 * (partial state consistent, partial called once with (), nothing reused),
 * they are reported SAFE with a reason naming the pattern, and the verdict is
 * that of NEWOBJ of the classes (their own findings); any deviation keeps
 * them DANGEROUS.
 *
 * Threads: no global state; reports are independent.
 */
#ifndef CKPT_SCAN_H
#define CKPT_SCAN_H

#include "ckpt_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ordered by severity: a larger value is worse.  Never renumbered. */
typedef enum ckpt_verdict {
    CKPT_VERDICT_SAFE = 0,
    CKPT_VERDICT_UNKNOWN = 1,
    CKPT_VERDICT_UNVERIFIABLE = 2,
    CKPT_VERDICT_DANGEROUS = 3
} ckpt_verdict;

/* "safe", "unknown", "unverifiable", "dangerous". */
CKPT_API const char *ckpt_verdict_name(ckpt_verdict v);
/* Process exit code used by `ckpt-info --scan`: safe 0, dangerous 1,
   unverifiable 2, unknown 3. */
CKPT_API int ckpt_verdict_exit_code(ckpt_verdict v);

typedef enum ckpt_finding_kind {
    CKPT_FIND_GLOBAL = 0,     /* a global reference with a module and a name */
    CKPT_FIND_EXT,            /* EXT1/2/4: a code from copyreg's extension registry */
    CKPT_FIND_DYNAMIC_GLOBAL, /* STACK_GLOBAL whose operands are not string constants */
    CKPT_FIND_PARSE_ERROR,    /* a pickle that could not be walked to its STOP */
    CKPT_FIND_CONTAINER,      /* archive / compression anomaly (names, flags, CRC, limits) */
    CKPT_FIND_NOTE            /* information only (severity SAFE) */
} ckpt_finding_kind;

/* "global", "ext", "dynamic-global", "parse-error", "container", "note". */
CKPT_API const char *ckpt_finding_kind_name(ckpt_finding_kind k);

/* One finding.  Strings are owned by the report (valid until ckpt_scan_free)
   and never NULL ("" when not applicable). */
typedef struct ckpt_scan_finding {
    ckpt_finding_kind kind;
    ckpt_verdict severity;
    const char *module;      /* as written in the file (non-printable bytes escaped \xNN) */
    const char *name;
    const char *global;      /* canonical "module.name" (Python 2 names mapped) */
    uint8_t opcode;          /* opcode byte, 0 if none */
    const char *opcode_name; /* "GLOBAL", "STACK_GLOBAL", "INST", "EXT1" ... or "" */
    int64_t offset;          /* byte offset of the opcode in its member's (decompressed)
                                stream, or of the anomaly; -1 if none */
    const char *member;      /* where: "" for the file itself, "archive/data.pkl",
                                "<zlib>", "archive/x.npz/arr_0.npy" for nested */
    uint64_t pickle_start;   /* offset of the pickle the finding is in */
    int32_t ext_code;        /* EXT1/2/4 code, else 0 */
    const char *reason;      /* why this severity, in words */
} ckpt_scan_finding;

typedef struct ckpt_scan_report ckpt_scan_report;

typedef struct ckpt_scan_opts {
    ckpt_limits limits;          /* start from ckpt_limits_default() */
    const ckpt_allocator *alloc; /* NULL: malloc */
    unsigned flags;              /* none yet; 0 */
} ckpt_scan_opts;

CKPT_API ckpt_scan_opts ckpt_scan_opts_default(void);

/* Scan a file / a buffer.  Returns CKPT_OK whenever a report was made, also
   for broken input (whose verdict is then UNVERIFIABLE); an error status only
   for an unreadable file, an invalid argument or an allocation failure, with
   *out NULL.  `opts` may be NULL.  Free the report with ckpt_scan_free. */
CKPT_API ckpt_status ckpt_scan_file(const char *path, const ckpt_scan_opts *opts,
                                    ckpt_scan_report **out, ckpt_error *err);
CKPT_API ckpt_status ckpt_scan_memory(const void *buf, size_t len, const ckpt_scan_opts *opts,
                                      ckpt_scan_report **out, ckpt_error *err);
CKPT_API void ckpt_scan_free(ckpt_scan_report *r);

CKPT_API ckpt_verdict ckpt_scan_verdict(const ckpt_scan_report *r);
/* Container the scanner recognized: "pickle", "joblib", "zip", "npy", "torch-legacy",
   "gzip", "zlib", "bz2", "xz", "lzma", "lz4", "tar", ... */
CKPT_API const char *ckpt_scan_container(const ckpt_scan_report *r);
/* Pickles walked (every stream, member and nested pickle). */
CKPT_API size_t ckpt_scan_pickle_count(const ckpt_scan_report *r);
CKPT_API size_t ckpt_scan_finding_count(const ckpt_scan_report *r);
CKPT_API const ckpt_scan_finding *ckpt_scan_finding_at(const ckpt_scan_report *r, size_t i);

/* Judge one global by itself (the rules the scanner applies to every global).
   `module`/`name` as written in a pickle; *reason (may be NULL) receives a
   static explanation.  Never SAFE for names outside the allowlist. */
CKPT_API ckpt_verdict ckpt_scan_classify(const char *module, const char *name,
                                         const char **reason);

#ifdef __cplusplus
}
#endif
#endif /* CKPT_SCAN_H */
