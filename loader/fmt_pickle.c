/*
 * fmt_pickle.c - plain pickle files (pickle.dump) and, through the hooks,
 * uncompressed joblib files.
 *
 * The main pickle runs over the file bytes (graph created with
 * CKPT_GRAPH_BORROW_INPUT: str/bytes payloads point into f->map, which lives
 * as long as the handle).  Its root becomes f->root, then the path walk lists
 * the arrays.
 *
 * More pickles back to back (pickle.dump called several times on one file)
 * are loaded too and listed by ckpt_file_pickle_count/root; their arrays are
 * not walked.  Bytes after the last pickle that do not form a pickle are
 * recorded as the fact "trailing bytes" (not an error).
 *
 * Hooks: pickle_hooks() below is the one place that fills the
 * ckpt_pickle_hooks for the main pickle; format-specific behaviour (joblib's
 * after_build consuming inline array bytes, ...) is added there.
 */
#include "loader_internal.h"
#include "numpy_internal.h"
#include "pickle_internal.h" /* ckpt__pickle_load_windowed */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Upper bound on extra pickles read after the main one. */
#define CKPT__MAX_EXTRA_PICKLES 4096u

/* State shared with the hooks during one open. */
typedef struct pickle_ctx {
    ckpt_file *f;
} pickle_ctx;

/* joblib: NumpyArrayWrapper's raw bytes (or nested object pickle) follow its
   BUILD inside the stream; numpy_internal.h / joblib_wrap.c. */
static ckpt_status joblib_after_build(void *user, ckpt_graph *g, ckpt_value *obj,
                                      const uint8_t *buf, size_t len, size_t *pos,
                                      ckpt_error *err) {
    pickle_ctx *ctx = user;
    return ckpt__joblib_after_build(ctx->f, g, obj, buf, len, pos, err);
}

/* The hooks for the main pickle.  Extend here. */
static void pickle_hooks(pickle_ctx *ctx, ckpt_pickle_hooks *h) {
    memset(h, 0, sizeof *h);
    h->user = ctx;
    h->after_build = joblib_after_build;
}

static int looks_like_pickle(const uint8_t *p, size_t n) {
    if (n == 0) return 0;
    if (p[0] == 0x80) return n >= 2 && p[1] <= 5;
    return ckpt_opcode_name(p[0]) != NULL && ckpt_opcode_proto(p[0]) <= 1;
}

/* Read further pickles after `pos`; never fails the open except on NOMEM. */
static ckpt_status load_extra(ckpt_file *f, size_t pos, ckpt_error *err) {
    size_t count = 0;
    while (pos < f->map_len) {
        if (count == CKPT__MAX_EXTRA_PICKLES || !looks_like_pickle(f->map + pos, f->map_len - pos))
            break;
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        ckpt_error e2;
        ckpt_error_clear(&e2);
        ckpt_status st = ckpt_pickle_load(f->graph, f->map, f->map_len, pos, NULL, &root, &info, &e2);
        if (st == CKPT_E_NOMEM) return ckpt_error_set(err, st, e2.offset, "%s", e2.message);
        if (st != CKPT_OK || info.end <= pos) break;
        st = ckpt__file_add_pickle(f, root);
        if (st != CKPT_OK) return ckpt_error_set(err, st, -1, "out of memory");
        pos = (size_t)info.end;
        count++;
    }
    if (pos < f->map_len) {
        char v[64];
        snprintf(v, sizeof v, "%zu at offset %zu", f->map_len - pos, pos);
        if (ckpt__file_add_fact(f, "trailing bytes", v) != CKPT_OK)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    return CKPT_OK;
}

/* ---- sparse read of big uncompressed joblib files ----
 *
 * An uncompressed joblib file is a pickle with each array's raw bytes inline;
 * the after_build hook jumps over them.  Parsing it through the mapping
 * would fault in (and count as resident) the page-cache folio around every
 * array header: with 2 MB folios that is most of the file, and each fault
 * costs far more than reading the few hundred bytes of opcodes.  So the
 * machine reads through windows: the byte ranges it asks for are read with
 * pread into small packed chunks (windows start at WIN_MIN bytes and double
 * while the machine reads on; after a jump over array bytes the next window
 * starts right after the bytes the machine consumed, so the opcodes of
 * hundreds of arrays share a few pages).  Array data pointers still point
 * into f->map.  The chunks live as long as the handle (str/bytes of the
 * graph borrow from them).  Used only for mapped files of at least
 * SPARSE_MIN bytes that mention NumpyArrayWrapper in their first SPARSE_PEEK
 * bytes; on any read error a window is copied from f->map instead. */
#define SPARSE_MIN ((size_t)8 << 20)
#define SPARSE_PEEK ((size_t)16 << 10)
#define WIN_MIN ((size_t)512)
#define WIN_MAX ((size_t)1 << 20)
#define SPARSE_CHUNK ((size_t)64 << 10)

typedef struct sp_chunk {
    struct sp_chunk *next;
    size_t cap;
} sp_chunk; /* followed by cap bytes */

typedef struct sparse {
    ckpt_file *f;
    int fd;
    size_t len;      /* file length */
    sp_chunk *chunks; /* newest first; the current window is in chunks */
    uint8_t *mem;    /* chunks' bytes */
    size_t lo;       /* file offset of mem[at] */
    size_t at;       /* where the window starts in mem */
    size_t win;
    size_t first;    /* bytes of the first window (from offset 0) */
} sparse;

static void sparse_read(sparse *sp, uint8_t *dst, size_t from, size_t to) {
    size_t got = ckpt__pread_upto(sp->fd, dst, to - from, from);
    if (from + got < to) memcpy(dst + got, sp->f->map + from + got, to - from - got);
}

size_t ckpt__sparse_min = SPARSE_MIN;
size_t ckpt__sparse_first = SPARSE_PEEK;
size_t ckpt__sparse_win = WIN_MIN;
size_t ckpt__sparse_chunk = SPARSE_CHUNK;

static int sparse_chunk(sparse *sp, size_t need) {
    size_t cap = need > ckpt__sparse_chunk ? need : ckpt__sparse_chunk;
    if (cap > SIZE_MAX - sizeof(sp_chunk)) return 0;
    sp_chunk *c = ckpt__malloc(&sp->f->alloc, sizeof *c + cap);
    if (!c) return 0;
    c->next = sp->chunks;
    c->cap = cap;
    sp->chunks = c;
    sp->mem = (uint8_t *)(c + 1);
    return 1;
}

static void sparse_refill(void *user, size_t pos, size_t want_end, const uint8_t **buf, size_t *avail) {
    sparse *sp = user;
    size_t have = *avail; /* window holds [lo, have); [pos, have) must be kept */
    if (want_end > sp->len) want_end = sp->len;
    int jump = pos >= have;
    size_t from = jump ? pos : have;
    if (want_end <= from) return;
    sp->win = jump ? ckpt__sparse_win : (sp->win * 2 > WIN_MAX ? WIN_MAX : sp->win * 2);
    if (sp->win == 0) sp->win = 1;
    size_t to = sp->len - from < sp->win ? sp->len : from + sp->win;
    if (to < want_end) to = want_end;
    /* where the new bytes go: right after the window's consumed/kept bytes */
    size_t keep = jump ? 0 : have - pos;
    size_t start = sp->at + ((jump ? have : pos) - sp->lo); /* mem offset of pos (or of the skip) */
    if (have < sp->lo || start > sp->chunks->cap) return; /* cannot happen: windows only move on */
    if (sp->chunks->cap - start < keep + (to - from)) {
        uint8_t *old = sp->mem + start;
        if (!sparse_chunk(sp, keep + (to - from))) return;
        if (keep) memcpy(sp->mem, old, keep);
        start = 0;
    }
    sparse_read(sp, sp->mem + start + keep, from, to);
    sp->at = start;
    sp->lo = pos;
    *buf = (const uint8_t *)((uintptr_t)(sp->mem + start) - pos);
    *avail = to;
}

static void sparse_free(ckpt_file *f) {
    sparse *sp = f->fmt_state;
    if (!sp) return;
    for (sp_chunk *c = sp->chunks; c;) {
        sp_chunk *n = c->next;
        ckpt__free(&f->alloc, c, sizeof *c + c->cap);
        c = n;
    }
    if (sp->fd >= 0) close(sp->fd);
    ckpt__free(&f->alloc, sp, sizeof *sp);
}

/* The sparse reader for f when it pays (see above), else NULL; the first
   window (from offset 0) is read. */
static sparse *sparse_make(ckpt_file *f) {
    if (!f->is_mmap || !f->path || f->map_len < ckpt__sparse_min || f->map_len == 0 || f->fmt_state ||
        f->fmt_free)
        return NULL;
    int fd;
    do {
        fd = open(f->path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return NULL;
    struct stat sb;
    sparse *sp = NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != f->map_len) goto no;
    sp = ckpt__malloc(&f->alloc, sizeof *sp);
    if (!sp) goto no;
    memset(sp, 0, sizeof *sp);
    sp->f = f;
    sp->fd = fd;
    sp->len = f->map_len;
    sp->first = sp->len < SPARSE_PEEK ? sp->len : SPARSE_PEEK;
    sp->win = sp->first;
    if (!sparse_chunk(sp, sp->first)) goto no;
    sparse_read(sp, sp->mem, 0, sp->first);
    static const char needle[] = "NumpyArrayWrapper";
    if (!memmem(sp->mem, sp->first, needle, sizeof needle - 1)) goto no;
    if (sp->first > ckpt__sparse_first && ckpt__sparse_first > 0) sp->first = ckpt__sparse_first; /* tests */
    return sp;
no:
    if (sp) {
        sp->fd = -1;
        f->fmt_state = sp;
        sparse_free(f);
        f->fmt_state = NULL;
    }
    close(fd);
    return NULL;
}

ckpt_status ckpt__open_pickle(ckpt_file *f, ckpt_error *err) {
    ckpt_status st = CKPT_OK;
    if (!f->graph) /* a format layer may have made it already (e.g. for dtypes) */
        st = ckpt_graph_new(&f->limits, &f->alloc, CKPT_GRAPH_BORROW_INPUT, &f->graph);
    if (st != CKPT_OK) return ckpt_error_set(err, st, -1, "cannot create the object graph");
    pickle_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.f = f;
    ckpt_pickle_hooks hooks;
    pickle_hooks(&ctx, &hooks);
    ckpt_pickle_info info;
    ckpt_value *root = NULL;
    sparse *sp = sparse_make(f);
    if (sp) {
        f->fmt_state = sp; /* released with the handle, also on failure */
        f->fmt_free = sparse_free;
        ckpt__refill rf = {f->map, sp, sparse_refill};
        st = ckpt__pickle_load_windowed(f->graph, sp->mem, sp->first, sp->len, &rf, 0, &hooks, &root, &info, err);
        close(sp->fd);
        sp->fd = -1;
    } else {
        st = ckpt_pickle_load(f->graph, f->map, f->map_len, 0, &hooks, &root, &info, err);
    }
    if (st != CKPT_OK) return st;
    if (f->format == CKPT_FMT_UNKNOWN) f->format = CKPT_FMT_PICKLE;
    f->root = root;
    f->protocol = info.protocol;
    st = ckpt__file_add_pickle(f, root);
    if (st != CKPT_OK) return ckpt_error_set(err, st, -1, "out of memory");
    st = load_extra(f, (size_t)info.end, err);
    if (st != CKPT_OK) return st;
    return ckpt__walk_arrays(f, root, "", err);
}
