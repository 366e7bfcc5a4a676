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
 * machine reads through a "shadow": an untouched anonymous mapping of the
 * file's size in which only the byte ranges the machine asks for are filled
 * with pread (same offsets; windows of 4 KB doubling while reading on, back
 * to 4 KB after a jump).  Array data pointers still point into f->map.  The
 * shadow lives as long as the handle (str/bytes of the graph borrow from it).
 * Used only for mapped files of at least SHADOW_MIN bytes that mention
 * NumpyArrayWrapper in their first SHADOW_PEEK bytes. */
#define SHADOW_MIN ((size_t)8 << 20)
#define SHADOW_PEEK ((size_t)64 << 10)
#define SHADOW_WIN_MIN ((size_t)4 << 10)
#define SHADOW_WIN_MAX ((size_t)1 << 20)

typedef struct shadow {
    ckpt_file *f;
    int fd;
    uint8_t *buf;
    size_t len;
    size_t filled;  /* [.., filled) was filled last (from some start) */
    size_t win;
} shadow;

/* [from, to) of the shadow from the file; on any read failure from f->map */
static void shadow_fill(shadow *sh, size_t from, size_t to) {
    size_t at = from;
    while (at < to) {
        ssize_t r = pread(sh->fd, sh->buf + at, to - at, (off_t)at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        at += (size_t)r;
    }
    if (at < to) memcpy(sh->buf + at, sh->f->map + at, to - at);
}

static void shadow_refill(void *user, size_t pos, size_t want_end, size_t *avail) {
    shadow *sh = user;
    size_t from = pos > sh->filled ? pos : sh->filled;
    if (want_end > sh->len) want_end = sh->len;
    if (want_end <= from) { /* already there */
        if (from > *avail) *avail = from;
        return;
    }
    sh->win = pos > sh->filled ? SHADOW_WIN_MIN : (sh->win * 2 > SHADOW_WIN_MAX ? SHADOW_WIN_MAX : sh->win * 2);
    size_t to = sh->len - from < sh->win ? sh->len : from + sh->win;
    if (to < want_end) to = want_end;
    shadow_fill(sh, from, to);
    sh->filled = to;
    *avail = to;
}

static void shadow_free(ckpt_file *f) {
    shadow *sh = f->fmt_state;
    if (!sh) return;
    if (sh->buf) munmap(sh->buf, sh->len);
    ckpt__free(&f->alloc, sh, sizeof *sh);
}

/* A shadow for f when it pays (see above), else NULL. */
static shadow *shadow_make(ckpt_file *f) {
    if (!f->is_mmap || !f->path || f->map_len < SHADOW_MIN || f->fmt_state || f->fmt_free) return NULL;
    int fd;
    do {
        fd = open(f->path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return NULL;
    struct stat sb;
    shadow *sh = NULL;
    void *m = MAP_FAILED;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != f->map_len) goto no;
    m = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) goto no;
    sh = ckpt__malloc(&f->alloc, sizeof *sh);
    if (!sh) goto no;
    memset(sh, 0, sizeof *sh);
    sh->f = f;
    sh->fd = fd;
    sh->buf = m;
    sh->len = f->map_len;
    sh->win = SHADOW_WIN_MIN;
    sh->filled = SHADOW_PEEK < sh->len ? SHADOW_PEEK : sh->len;
    shadow_fill(sh, 0, sh->filled);
    static const char needle[] = "NumpyArrayWrapper";
    if (!memmem(sh->buf, sh->filled, needle, sizeof needle - 1)) goto no;
    return sh;
no:
    if (sh) ckpt__free(&f->alloc, sh, sizeof *sh);
    if (m != MAP_FAILED) munmap(m, f->map_len);
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
    shadow *sh = shadow_make(f);
    if (sh) {
        f->fmt_state = sh; /* released with the handle, also on failure */
        f->fmt_free = shadow_free;
        ckpt__refill rf = {sh, shadow_refill};
        st = ckpt__pickle_load_windowed(f->graph, sh->buf, sh->filled, sh->len, &rf, 0, &hooks, &root, &info, err);
        close(sh->fd);
        sh->fd = -1;
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
