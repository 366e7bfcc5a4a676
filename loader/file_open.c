/*
 * file_open.c - open a checkpoint: map (or read) the bytes, detect the format
 * from its first bytes, hand over to that format's opener, and the public
 * accessors of the file handle.
 *
 * Detection (first match wins; nothing is run to detect):
 *   path ends with ".index.json"            -> sharded (ckpt__open_sharded)
 *   "PK\3\4" / "PK\5\6"                     -> zip: npz, torch zip, torchscript
 *   "\x93NUMPY"                             -> .npy
 *   "ZF"                                    -> joblib pre-0.10 zlib
 *   1f 8b / "BZh[1-9]1AY&SY" / fd "7zXZ" 00 / 04 22 4d 18 / 5d 00 00 / zlib 78 xx
 *                                           -> joblib compressed (codec named)
 *   "ustar" at offset 257                   -> old torch tar
 *   legacy torch magic number pickle        -> ckpt__open_torch_legacy
 *   PROTO (0x80 n, n <= 5) or a protocol 0/1 opcode -> pickle (plain / joblib)
 *
 * After a successful open of a mapped file, the pages the reader touched
 * through the mapping (the pickle bytes, a zip's central directory, legacy
 * headers) are dropped from the process (MADV_DONTNEED on the read-only
 * private file mapping: nothing is lost, a later access re-faults the same
 * bytes from the page cache).  Strings the graph borrows from the file are
 * such accesses.  Memory buffers (ckpt_open_memory) and read() buffers
 * (CKPT_OPEN_NO_MMAP) are the caller's or hold the only copy: never touched.
 *
 * Legacy torch decision: file_open peeks at the bytes of the magic-number
 * pickle itself (PROTO 2..5, optional FRAME, LONG1 of the 10 magic bytes; or
 * the protocol 0/1 text "L119547037146038801333356L\n") and dispatches straight
 * to ckpt__open_torch_legacy.  No pickle is run for that, and fmt_pickle.c
 * needs no torch hook.
 */
#include "loader_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read() chunk when mmap is not used. */
#define CKPT__READ_CHUNK ((size_t)1 << 24)
/* Offset and bytes of the tar "ustar" magic. */
#define CKPT__TAR_MAGIC_OFF 257u

ckpt_open_opts ckpt_open_opts_default(void) {
    ckpt_open_opts o;
    memset(&o, 0, sizeof o);
    o.limits = ckpt_limits_default();
    o.alloc = NULL;
    o.flags = 0;
    o.min_align = 0;
    return o;
}

/* ---------------------------------------------------------------- names */

const char *ckpt_format_name(ckpt_format f) {
    switch (f) {
    case CKPT_FMT_UNKNOWN: return "unknown";
    case CKPT_FMT_PICKLE: return "pickle";
    case CKPT_FMT_JOBLIB: return "joblib";
    case CKPT_FMT_JOBLIB_ZLIB_OLD: return "joblib-zlib-old";
    case CKPT_FMT_JOBLIB_MULTI: return "joblib-multi";
    case CKPT_FMT_NPY: return "npy";
    case CKPT_FMT_NPZ: return "npz";
    case CKPT_FMT_TORCH_ZIP: return "torch-zip";
    case CKPT_FMT_TORCH_LEGACY: return "torch-legacy";
    case CKPT_FMT_TORCH_TAR: return "torch-tar";
    case CKPT_FMT_TORCHSCRIPT: return "torchscript";
    case CKPT_FMT_SHARDED: return "sharded";
    }
    return "unknown";
}

const char *ckpt_dtype_name(ckpt_dtype t) {
    static const char *const names[CKPT_DT__COUNT] = {
        "invalid", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64", "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
        "unicode", "bytes", "void", "object", "datetime64", "timedelta64", "qint8", "quint8",
        "qint32", "quint4x2"};
    if ((int)t < 0 || t >= CKPT_DT__COUNT || !names[t]) return "invalid";
    return names[t];
}

const ckpt_field_info *ckpt_dtype_field(const ckpt_dtype_info *dt, const char *name) {
    if (!dt || !name || !dt->fields) return NULL;
    for (uint32_t i = 0; i < dt->nfields; i++)
        if (dt->fields[i].name && strcmp(dt->fields[i].name, name) == 0) return &dt->fields[i];
    return NULL;
}

/* ---------------------------------------------------------------- handle */

static ckpt_status file_new(const ckpt_open_opts *opts, ckpt_file **out, ckpt_error *err) {
    ckpt_open_opts def;
    if (!opts) {
        def = ckpt_open_opts_default();
        opts = &def;
    }
    size_t al = opts->min_align ? opts->min_align : 16;
    if (al & (al - 1))
        return ckpt_error_set(err, CKPT_E_ARG, -1, "min_align %zu is not a power of two",
                              opts->min_align);
    ckpt_allocator a;
    memset(&a, 0, sizeof a);
    if (opts->alloc) a = *opts->alloc;
    ckpt_file *f = ckpt__calloc(&a, 1, sizeof *f);
    if (!f) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory opening a file");
    f->alloc = a;
    f->limits = opts->limits;
    f->flags = opts->flags;
    f->min_align = al;
    f->protocol = -1;
    f->format = CKPT_FMT_UNKNOWN;
    *out = f;
    return CKPT_OK;
}

void ckpt_close(ckpt_file *f) {
    if (!f) return;
    if (f->fmt_free) f->fmt_free(f);
    f->fmt_free = NULL;
    f->fmt_state = NULL;
    ckpt__file_free_arrays(f);
    for (size_t i = 0; i < 2 * f->n_facts; i++)
        ckpt__free(&f->alloc, f->facts[i], strlen(f->facts[i]) + 1);
    ckpt__free(&f->alloc, f->facts, f->cap_facts * sizeof(char *));
    ckpt__free(&f->alloc, f->pickles, f->cap_pickles * sizeof(ckpt_value *));
    ckpt_graph_free(f->graph);
    if (f->is_mmap && f->map) munmap((void *)f->map, f->map_len);
    if (f->owned) ckpt__free(&f->alloc, f->owned, f->owned_len);
    if (f->path) ckpt__free(&f->alloc, f->path, strlen(f->path) + 1);
    ckpt_allocator a = f->alloc;
    ckpt__free(&a, f, sizeof *f);
}

/* ---------------------------------------------------------------- detection */

static const uint8_t torch_magic_le[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                           0x20, 0x6a, 0xa8, 0x50, 0x19};
static const char torch_magic_text[] = "L119547037146038801333356L\n";

static int is_torch_legacy(const uint8_t *p, size_t n) {
    size_t tl = sizeof torch_magic_text - 1;
    if (n >= tl && memcmp(p, torch_magic_text, tl) == 0) return 1;
    size_t pos = 0;
    if (n < 2 || p[0] != 0x80 || p[1] < 2) return 0;
    pos = 2;
    if (n - pos >= 9 && p[pos] == 0x95) pos += 9; /* FRAME + 8-byte length */
    if (n - pos < 12 || p[pos] != 0x8a || p[pos + 1] != 10) return 0;
    return memcmp(p + pos + 2, torch_magic_le, 10) == 0;
}

/* A pickle can start here: PROTO with a known protocol, or an opcode of
   protocol 0/1 (those files have no PROTO). */
static int is_pickle_start(const uint8_t *p, size_t n) {
    if (n == 0) return 0;
    if (p[0] == 0x80) return n >= 2 && p[1] <= 5;
    return ckpt_opcode_name(p[0]) != NULL && ckpt_opcode_proto(p[0]) <= 1;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

static ckpt_status dispatch(ckpt_file *f, ckpt_error *err) {
    const uint8_t *p = f->map;
    size_t n = f->map_len;

    if (f->path && has_suffix(f->path, ".index.json")) {
        f->format = CKPT_FMT_SHARDED;
        return ckpt__open_sharded(f, err);
    }
    if (n == 0) return ckpt_error_set(err, CKPT_E_TRUNCATED, 0, "empty file");
    if (n >= 4 && p[0] == 'P' && p[1] == 'K' &&
        ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)))
        return ckpt__open_zip(f, err);
    if (n >= 6 && memcmp(p, "\x93NUMPY", 6) == 0) {
        f->format = CKPT_FMT_NPY;
        return ckpt__open_npy(f, err);
    }
    if (n >= 2 && p[0] == 'Z' && p[1] == 'F') {
        f->format = CKPT_FMT_JOBLIB_ZLIB_OLD;
        f->codec = "zlib";
        return ckpt__open_joblib_compressed(f, err);
    }
    const char *codec = NULL;
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) codec = "gzip";
    else if (n >= 10 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9' &&
             memcmp(p + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0)
        codec = "bz2";
    else if (n >= 6 && memcmp(p, "\xfd" "7zXZ\x00", 6) == 0) codec = "xz";
    else if (n >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0) codec = "lz4";
    else if (n >= 3 && p[0] == 0x5d && p[1] == 0 && p[2] == 0) codec = "lzma"; /* raw .lzma (alone) */
    else if (n >= 2 && p[0] == 0x78 && ((unsigned)p[0] * 256u + p[1]) % 31u == 0) codec = "zlib";
    if (codec) {
        f->format = CKPT_FMT_JOBLIB;
        f->codec = codec;
        return ckpt__open_joblib_compressed(f, err);
    }
    if (n >= CKPT__TAR_MAGIC_OFF + 5 && memcmp(p + CKPT__TAR_MAGIC_OFF, "ustar", 5) == 0) {
        f->format = CKPT_FMT_TORCH_TAR;
        return ckpt__open_torch_tar(f, err);
    }
    if (is_torch_legacy(p, n)) {
        f->format = CKPT_FMT_TORCH_LEGACY;
        return ckpt__open_torch_legacy(f, err);
    }
    if (is_pickle_start(p, n)) {
        f->format = CKPT_FMT_PICKLE;
        return ckpt__open_pickle(f, err);
    }
    if (p[0] == '{' && !f->path)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, 0,
                              "JSON input: a sharded *.index.json must be opened by path");
    char hex[3 * 8 + 1];
    size_t k = 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        static const char digits[] = "0123456789abcdef";
        hex[k++] = digits[p[i] >> 4];
        hex[k++] = digits[p[i] & 15];
        hex[k++] = ' ';
    }
    hex[k ? k - 1 : 0] = '\0';
    return ckpt_error_set(err, CKPT_E_FORMAT, 0, "unrecognised file format (first bytes: %s)", hex);
}

/* Run detection + opener on a handle whose bytes are in place. */
static ckpt_status finish_open(ckpt_file *f, ckpt_file **out, ckpt_error *err) {
    f->file_size = f->map_len;
    ckpt_status st = dispatch(f, err);
    if (st != CKPT_OK) {
        if (err && err->status == CKPT_OK) ckpt_error_set(err, st, -1, NULL);
        ckpt_close(f);
        return st;
    }
    ckpt__file_plan_arrays(f);
    *out = f;
    return CKPT_OK;
}

ckpt_status ckpt_open_memory(const void *buf, size_t len, const ckpt_open_opts *opts,
                             ckpt_file **out, ckpt_error *err) {
    ckpt_error_clear(err);
    if (out) *out = NULL;
    if (!out || (!buf && len))
        return ckpt_error_set(err, CKPT_E_ARG, -1, "ckpt_open_memory: NULL buffer or result");
    ckpt_file *f;
    ckpt_status st = file_new(opts, &f, err);
    if (st != CKPT_OK) return st;
    f->map = buf ? buf : (const uint8_t *)"";
    f->map_len = len;
    return finish_open(f, out, err);
}

/* Read the whole file into an owned buffer. */
static ckpt_status read_all(ckpt_file *f, int fd, uint64_t size, const char *path,
                            ckpt_error *err) {
    if (size > SIZE_MAX - 1 || size > f->limits.max_memory)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1,
                              "'%s': %llu bytes exceed the memory limit for reading a file", path,
                              (unsigned long long)size);
    size_t cap = (size_t)size ? (size_t)size : 1;
    uint8_t *buf = ckpt__malloc(&f->alloc, cap);
    if (!buf)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "'%s': cannot allocate %llu bytes", path,
                              (unsigned long long)size);
    size_t got = 0;
    while (got < (size_t)size) {
        size_t want = (size_t)size - got;
        if (want > CKPT__READ_CHUNK) want = CKPT__READ_CHUNK;
        ssize_t r = read(fd, buf + got, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ckpt__free(&f->alloc, buf, cap);
            return ckpt_error_set(err, CKPT_E_IO, -1, "cannot read '%s': %s", path, strerror(e));
        }
        if (r == 0) break; /* file shrank: use what is there */
        got += (size_t)r;
    }
    f->owned = buf;
    f->owned_len = cap;
    f->map = buf;
    f->map_len = got;
    return CKPT_OK;
}

/* Bytes the kernel may map around one read fault of a file mapping (Linux's
   default fault_around_bytes; the window is aligned to its size). */
#define CKPT__FAULT_AROUND ((uint64_t)64 << 10)

void ckpt__file_touched(ckpt_file *f, uint64_t off, uint64_t len) {
    if (!f || off >= f->map_len || len == 0) return;
    uint64_t end = len > f->map_len - off ? f->map_len : off + len;
    if (f->touch_n == CKPT__TOUCH_MAX) {
        f->touch_all = 1;
        return;
    }
    f->touch[f->touch_n].off = off;
    f->touch[f->touch_n].end = end;
    f->touch_n++;
}

size_t ckpt__pread_upto(int fd, uint8_t *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

void ckpt__file_touched_all(ckpt_file *f) {
    if (f) f->touch_all = 1;
}

/* Drop the mapped file pages the open read (see the top of this file): for a
   20 000-tensor torch zip that is the 1.9 MB pickle and the 1.4 MB central
   directory, counted in the process's resident memory until dropped.  A
   reader that recorded its ranges (ckpt__file_touched: the torch zip reader)
   gets just those advised, in whole fault-around windows; otherwise the
   whole mapping is.  Zapping mapped pages is not free (~0.1-0.2 ms per call
   on a VM, as much as opening the GPT-2 archive), so it is done only when
   at least ckpt__drop_min bytes are at stake. */
size_t ckpt__drop_min = CKPT__DROP_MIN;

static void drop_file_pages(ckpt_file *f) {
#ifdef MADV_DONTNEED
    if (!f->is_mmap || !f->map || f->map_len == 0) return;
    if (f->touch_n == 0 || f->touch_all) {
        if (f->map_len >= ckpt__drop_min)
            (void)madvise((void *)f->map, f->map_len, MADV_DONTNEED); /* advice only: failure changes nothing */
        return;
    }
    /* A read fault also maps the cached pages around it (Linux "fault-around",
       fault_around_bytes = 64 KB by default, an aligned window): whole aligned
       windows around each range (the mapping is page-aligned), merged when
       they overlap (ranges are recorded in file order or close to it). */
    const uint64_t win = CKPT__FAULT_AROUND;
    uint64_t lo[CKPT__TOUCH_MAX], hi[CKPT__TOUCH_MAX], total = 0;
    unsigned n = 0;
    for (unsigned i = 0; i < f->touch_n; i++) {
        uint64_t a = f->touch[i].off / win * win, b = (f->touch[i].end + win - 1) / win * win; /* end <= map_len */
        if (b > f->map_len) b = f->map_len;
        unsigned j = 0;
        while (j < n && (a > hi[j] || b < lo[j])) j++;
        if (j < n) { /* overlaps or touches window j: widen it */
            if (a < lo[j]) lo[j] = a;
            if (b > hi[j]) hi[j] = b;
        } else {
            lo[n] = a, hi[n] = b, n++;
        }
    }
    for (unsigned j = 0; j < n; j++) total += hi[j] - lo[j];
    if (total < ckpt__drop_min) return;
    for (unsigned j = 0; j < n; j++) (void)madvise((void *)(f->map + lo[j]), (size_t)(hi[j] - lo[j]), MADV_DONTNEED);
#else
    (void)f;
#endif
}

ckpt_status ckpt_open(const char *path, const ckpt_open_opts *opts, ckpt_file **out,
                      ckpt_error *err) {
    ckpt_error_clear(err);
    if (out) *out = NULL;
    if (!path || !out) return ckpt_error_set(err, CKPT_E_ARG, -1, "ckpt_open: NULL path or result");
    ckpt_file *f;
    ckpt_status st = file_new(opts, &f, err);
    if (st != CKPT_OK) return st;
    f->path = ckpt__strdup(&f->alloc, path);
    if (!f->path) {
        ckpt_close(f);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory opening '%s'", path);
    }
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        ckpt_close(f);
        return ckpt_error_set(err, CKPT_E_IO, -1, "cannot open '%s': %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        ckpt_close(f);
        return ckpt_error_set(err, CKPT_E_IO, -1, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        ckpt_close(f);
        return ckpt_error_set(err, CKPT_E_IO, -1, "'%s' is not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size > SIZE_MAX) {
        close(fd);
        ckpt_close(f);
        return ckpt_error_set(err, CKPT_E_IO, -1, "'%s' is too large to map", path);
    }
    int mapped = 0;
    if (!(f->flags & CKPT_OPEN_NO_MMAP) && size > 0) {
        void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            f->map = m;
            f->map_len = (size_t)size;
            f->is_mmap = 1;
            mapped = 1;
        } /* else fall back to read() */
    }
    if (!mapped) {
        st = read_all(f, fd, size, path, err);
        if (st != CKPT_OK) {
            close(fd);
            ckpt_close(f);
            return st;
        }
    }
    if (mapped) f->fd_plus1 = fd + 1; /* readers may pread headers (see loader_internal.h) */
    st = finish_open(f, out, err);
    if (st == CKPT_OK) {
        f->fd_plus1 = 0; /* on failure f is already closed */
        drop_file_pages(*out);
    }
    close(fd);
    if (st != CKPT_OK && err && !strstr(err->message, path)) {
        /* make sure the message names the file */
        char msg[sizeof err->message];
        size_t pl = strlen(path);
        if (pl > sizeof msg / 2) pl = sizeof msg / 2;
        snprintf(msg, sizeof msg, "%.*s: %.*s", (int)pl, path,
                 (int)(sizeof msg - pl - 3), err->message);
        memcpy(err->message, msg, sizeof msg);
    }
    return st;
}

/* ---------------------------------------------------------------- accessors */

ckpt_format ckpt_file_format(const ckpt_file *f) { return f ? f->format : CKPT_FMT_UNKNOWN; }
const char *ckpt_file_codec(const ckpt_file *f) { return f ? f->codec : NULL; }
int ckpt_file_protocol(const ckpt_file *f) { return f ? f->protocol : -1; }
ckpt_value *ckpt_file_root(const ckpt_file *f) { return f ? f->root : NULL; }
ckpt_graph *ckpt_file_graph(const ckpt_file *f) { return f ? f->graph : NULL; }
uint64_t ckpt_file_size(const ckpt_file *f) { return f ? f->file_size : 0; }
int ckpt_file_is_mapped(const ckpt_file *f) { return f ? f->is_mmap : 0; }
size_t ckpt_file_pickle_count(const ckpt_file *f) { return f ? f->n_pickles : 0; }

ckpt_value *ckpt_file_pickle_root(const ckpt_file *f, size_t i) {
    if (!f || i >= f->n_pickles) return NULL;
    return f->pickles[i];
}

size_t ckpt_file_fact_count(const ckpt_file *f) { return f ? f->n_facts : 0; }

const char *ckpt_file_fact_key(const ckpt_file *f, size_t i) {
    if (!f || i >= f->n_facts) return NULL;
    return f->facts[2 * i];
}

const char *ckpt_file_fact_value(const ckpt_file *f, size_t i) {
    if (!f || i >= f->n_facts) return NULL;
    return f->facts[2 * i + 1];
}
