/*
 * test_pickle_allocfail.c - every allocation of a pickle load can fail cleanly.
 *
 * A counting ckpt_allocator (given to ckpt_graph_new) records each block's size in
 * a header.  For every fixture, a first load counts the allocations N; then for
 * k = 0 .. N-1 (every k for the first 400, then about 400 spread over the rest) the
 * load is repeated with allocation number k failing.  Each such run must return
 * CKPT_E_NOMEM (from ckpt_graph_new or ckpt_pickle_load, the latter with a message
 * naming the opcode and offset), and after ckpt_graph_free no block may remain and
 * every free must have been given the size the block was allocated with.
 * A successful load, after ckpt_graph_free, also leaves nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_pickle.h"
#include "util_graph.h"
#include "util_test.h"

typedef struct counting {
    long long calls;     /* allocations (realloc with new size > 0) attempted */
    long long fail_at;   /* this allocation fails; -1: none */
    long long live;      /* blocks alive */
    long long live_bytes;
    long long bad_size;  /* frees/reallocs given a size different from the block's */
} counting;

#define HDR 16

static void *c_realloc(void *user, void *ptr, size_t old_size, size_t new_size) {
    counting *c = user;
    if (new_size == 0) { /* free through realloc */
        if (ptr) {
            uint8_t *h = (uint8_t *)ptr - HDR;
            size_t sz;
            memcpy(&sz, h, sizeof sz);
            if (sz != old_size) c->bad_size++;
            c->live--;
            c->live_bytes -= (long long)sz;
            free(h);
        }
        return NULL;
    }
    if (c->calls++ == c->fail_at) return NULL;
    uint8_t *h = NULL;
    size_t prev = 0;
    if (ptr) {
        h = (uint8_t *)ptr - HDR;
        memcpy(&prev, h, sizeof prev);
        if (prev != old_size) c->bad_size++;
    }
    uint8_t *nh = realloc(h, new_size + HDR);
    if (!nh) return NULL;
    memcpy(nh, &new_size, sizeof new_size);
    if (!ptr) c->live++;
    c->live_bytes += (long long)new_size - (long long)prev;
    return nh + HDR;
}

static void c_free(void *user, void *ptr, size_t size) {
    counting *c = user;
    if (!ptr) return;
    uint8_t *h = (uint8_t *)ptr - HDR;
    size_t sz;
    memcpy(&sz, h, sizeof sz);
    if (sz != size) c->bad_size++;
    c->live--;
    c->live_bytes -= (long long)sz;
    free(h);
}

/* Load every pickle of the file; returns the first non-OK status. */
static ckpt_status load_all(counting *c, const uint8_t *pkl, size_t len, size_t npickles,
                            ckpt_error *err) {
    ckpt_allocator a = {c_realloc, c_free, c};
    ckpt_graph *g = NULL;
    ckpt_error_clear(err);
    ckpt_status st = ckpt_graph_new(NULL, &a, 0, &g);
    if (st != CKPT_OK) return st;
    size_t pos = 0;
    for (size_t i = 0; i < npickles && st == CKPT_OK; i++) {
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        st = ckpt_pickle_load(g, pkl, len, pos, NULL, &root, &info, err);
        if (st == CKPT_OK) pos = (size_t)info.end;
    }
    ckpt_graph_free(g);
    return st;
}

static long long n_runs, n_fail_points;

static void run_fixture(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "pickles/%s.dis.json", name);
    cJSON *dj = tu_load_json(tu_model_path(rel));
    snprintf(rel, sizeof rel, "pickles/%s.pkl", name);
    size_t len = 0;
    uint8_t *pkl = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(dj && pkl, "%s: fixture files missing", name);
    if (!dj || !pkl) {
        cJSON_Delete(dj);
        free(pkl);
        return;
    }
    size_t np = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dj, "pickles"));

    counting c = {0, -1, 0, 0, 0};
    ckpt_error err;
    ckpt_status st = load_all(&c, pkl, len, np, &err);
    CHECKF(st == CKPT_OK, "%s: load with the counting allocator: %d %s", name, (int)st,
           err.message);
    CHECKF(c.live == 0 && c.live_bytes == 0 && c.bad_size == 0,
           "%s: after a good load: %lld blocks / %lld bytes left, %lld frees with a wrong size",
           name, c.live, c.live_bytes, c.bad_size);
    long long total = c.calls;
    CHECKF(total > 0, "%s: no allocation went through the allocator", name);

    int reported = 0;
    long long step = total <= 800 ? 1 : (total - 400) / 400 + 1;
    for (long long k = 0; k < total; k += (k < 400 ? 1 : step)) {
        counting f = {0, k, 0, 0, 0};
        st = load_all(&f, pkl, len, np, &err);
        n_runs++;
        n_fail_points++;
        int ok = st == CKPT_E_NOMEM && f.live == 0 && f.live_bytes == 0 && f.bad_size == 0;
        /* a failure inside the load (not in ckpt_graph_new) names opcode and offset */
        if (ok && err.status == CKPT_E_NOMEM && err.offset >= 0)
            ok = strstr(err.message, " at offset ") != NULL && err.offset <= (int64_t)len;
        if (!ok && reported++ < 3)
            CHECKF(0, "%s: allocation %lld of %lld failing: status %d (%s), %lld blocks / %lld "
                      "bytes left, %lld bad sizes",
                   name, k, total, (int)st, err.message, f.live, f.live_bytes, f.bad_size);
    }
    if (!reported) CHECK(1);
    cJSON_Delete(dj);
    free(pkl);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    char **names = NULL;
    size_t n = ug_list_fixtures(tu_model_path("pickles"), &names);
    CHECKF(n >= 100, "only %zu pickle fixtures found", n);
    for (size_t i = 0; i < n; i++) run_fixture(names[i]);
    ug_free_names(names, n);
    printf("%lld failing-allocation runs\n", n_runs);
    CHECK(n_fail_points > 1000);
    return tu_finish();
}
