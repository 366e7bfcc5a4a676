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

#include <stdio.h>
#include <string.h>

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
    st = ckpt_pickle_load(f->graph, f->map, f->map_len, 0, &hooks, &root, &info, err);
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
