/*
 * scan_internal.h - what the scanner's files share (loader/scan*.c).
 *
 *   scan.c         API, report, findings, container detection and dispatch
 *   scan_pickle.c  one pickle: machine pass (on_global, joblib after_build)
 *                  + disassembler pass with a symbolic stack; streams of pickles
 *   scan_zip.c     zip central directory / local headers, members
 *   scan_codec.c   bounded decompression (zlib, gzip, bz2, xz, lzma, lz4)
 *   scan_rules.c   allowlist / denylist
 */
#ifndef CKPT_SCAN_INTERNAL_H
#define CKPT_SCAN_INTERNAL_H

#include "ckpt/ckpt_scan.h"
#include "loader_internal.h"

/* limits of the scanner itself (the rest comes from ckpt_limits) */
#define CKPT__SCAN_NAME_MAX 512            /* bytes of a module/name kept */
#define CKPT__SCAN_MAX_FINDINGS 20000      /* distinct findings listed */
#define CKPT__SCAN_MAX_PICKLES_STREAM 1024 /* consecutive pickles in one stream */
#define CKPT__SCAN_MAX_NEST 4              /* containers inside containers */
#define CKPT__SCAN_MAX_MEMBERS (1u << 20)  /* zip / tar members */
#define CKPT__SCAN_MAX_REGIONS (1u << 22)  /* joblib inline arrays in one pickle */
#define CKPT__SCAN_MAX_TRACKED (1u << 18)  /* values the NEWOBJ_EX pattern check tracks in
                                              one pickle (64 B each); past it nothing is
                                              recognised (the globals stay dangerous) */
#define CKPT__SCAN_MAX_PENDING 4096        /* held-back partial/getattr findings per pickle */
#define CKPT__SCAN_MEMO_MIN (1u << 16)     /* machine passes: memo keys allowed below max(this, bytes left) */

/* scan_stream flags */
#define CKPT__SF_JOBLIB 1u  /* recognise joblib NumpyArrayWrapper inline data */

typedef struct ckpt__scan_str {
    struct ckpt__scan_str *next;
    size_t size;
} ckpt__scan_str;

/* judge cache: one entry per distinct plain (module, name) of a scan */
#define CKPT__SCAN_JC_SLOTS 64
#define CKPT__SCAN_JC_KEY 96     /* "module\0name" bytes kept */
#define CKPT__SCAN_JC_CANON 128  /* canonical "module.name" bytes kept */
typedef struct ckpt__scan_jc {
    uint32_t hash;
    uint8_t used, verdict;
    const char *reason;  /* static */
    char key[CKPT__SCAN_JC_KEY];
    char canon[CKPT__SCAN_JC_CANON];
} ckpt__scan_jc;

typedef struct ckpt__scan {
    ckpt_allocator alloc;
    ckpt_limits limits;
    ckpt_scan_report *r;
    int nomem;                 /* an allocation failed: the scan returns CKPT_E_NOMEM */
    uint64_t decompressed;     /* bytes decompressed so far (budget: max_decompressed) */
    int depth;                 /* container nesting */
    ckpt_graph *names;         /* canonical names (scan_pickle.c); freed by the scan */
    ckpt__scan_jc jc[CKPT__SCAN_JC_SLOTS];
} ckpt__scan;

struct ckpt_scan_report {
    ckpt_allocator alloc;
    ckpt_verdict verdict;
    const char *container;
    size_t npickles;
    ckpt_scan_finding *f;
    size_t n, cap;
    uint64_t *hash;            /* open addressing: finding index + 1, 0 empty */
    size_t hash_cap;
    int truncated;             /* findings were dropped (CKPT__SCAN_MAX_FINDINGS) */
    ckpt__scan_str *strs;      /* owned strings */
};

/* Add a finding (strings copied; NULL -> "").  Duplicates (same kind,
   severity, member, module, name) are folded into the first one.  Updates the
   verdict.  Allocation failure sets s->nomem. */
void ckpt__scan_add(ckpt__scan *s, ckpt_finding_kind kind, ckpt_verdict sev, const char *module,
                    const char *name, const char *global, uint8_t opcode, int64_t offset,
                    const char *member, uint64_t pickle_start, int32_t ext, const char *reason);
/* Same with a printf-formatted reason. */
void ckpt__scan_addf(ckpt__scan *s, ckpt_finding_kind kind, ckpt_verdict sev, int64_t offset,
                     const char *member, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Any blob: detect the container by its bytes and scan what is inside. */
void ckpt__scan_blob(ckpt__scan *s, const uint8_t *buf, size_t len, const char *member);
/* A stream of pickles from `start`: the first `primary` pickles must parse
   (else UNVERIFIABLE); later ones are scanned opportunistically (a failure
   keeps only DANGEROUS findings: the bytes may just be data). */
void ckpt__scan_stream(ckpt__scan *s, const uint8_t *buf, size_t len, size_t start,
                       const char *member, unsigned flags, int primary);
/* One pickle at `start`; *end after its STOP.  Returns CKPT_OK when the pickle
   was walked to its STOP by both passes. */
ckpt_status ckpt__scan_pickle(ckpt__scan *s, const uint8_t *buf, size_t len, size_t start,
                              const char *member, unsigned flags, int primary, size_t *end);
/* Zip archive (npz, torch zip, TorchScript, anything). */
void ckpt__scan_zip(ckpt__scan *s, const uint8_t *buf, size_t len, const char *member);
/* 1 if an end-of-central-directory record is found near the end. */
int ckpt__scan_has_eocd(const uint8_t *buf, size_t len);
/* Decompress a whole stream of `codec` ("gzip", "zlib", "bz2", "xz", "lzma", "lz4",
   "deflate" = raw), at most `max_out` bytes.  On success *out (s->alloc) holds
   *out_len bytes; *over is set when the output would exceed max_out (then the
   first max_out bytes are returned).  Errors are recorded as findings by the caller. */
ckpt_status ckpt__scan_decompress(ckpt__scan *s, const char *codec, const uint8_t *in, size_t in_len,
                                  uint64_t max_out, uint8_t **out, size_t *out_len, int *over,
                                  ckpt_error *err);

/* Rules: judge a global (raw spelling + canonical key). */
ckpt_verdict ckpt__scan_judge(const char *module, const char *name, const char *canonical,
                              const char **reason);

/* Escape a raw name for display: printable ASCII kept, other bytes \xNN,
   truncated to CKPT__SCAN_NAME_MAX.  `out` has CKPT__SCAN_NAME_MAX * 4 + 1 bytes. */
void ckpt__scan_escape(const uint8_t *p, size_t n, char *out);

#endif
