/*
 * util_allocfail.c - see util_allocfail.h.
 */
#include "util_allocfail.h"
#include "util_test.h"

#include "ckpt/ckpt_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define CNT_HDR 16

static void *c_realloc(void *user, void *ptr, size_t old_size, size_t new_size) {
    tu_counting *c = user;
    uint8_t *h = ptr ? (uint8_t *)ptr - CNT_HDR : NULL;
    size_t prev = 0;
    if (h) {
        memcpy(&prev, h, sizeof prev);
        if (prev != old_size) c->bad_size++;
    }
    if (new_size == 0) {
        if (h) {
            c->live--;
            free(h);
        }
        return NULL;
    }
    if (c->calls++ == c->fail_at) return NULL;
    uint8_t *nh = realloc(h, new_size + CNT_HDR);
    if (!nh) return NULL;
    memcpy(nh, &new_size, sizeof new_size);
    if (!h) c->live++;
    return nh + CNT_HDR;
}

static void c_free(void *user, void *ptr, size_t size) {
    tu_counting *c = user;
    if (!ptr) return;
    uint8_t *h = (uint8_t *)ptr - CNT_HDR;
    size_t sz;
    memcpy(&sz, h, sizeof sz);
    if (sz != size) c->bad_size++;
    c->live--;
    free(h);
}

ckpt_allocator tu_counting_allocator(tu_counting *c) {
    ckpt_allocator a = {c_realloc, c_free, c};
    return a;
}

/* Open (by path, or from `mem`) + load every tensor + close with allocation
   `fail_at` failing; returns the first failure. */
static ckpt_status counted_run(tu_counting *c, const char *path, const uint8_t *mem, size_t len,
                               ckpt_error *err) {
    ckpt_allocator a = tu_counting_allocator(c);
    ckpt_open_opts o = ckpt_open_opts_default();
    o.alloc = &a;
    ckpt_file *f = NULL;
    ckpt_status st = path ? ckpt_open(path, &o, &f, err) : ckpt_open_memory(mem, len, &o, &f, err);
    if (st != CKPT_OK) return st;
    for (size_t i = 0; i < ckpt_file_array_count(f) && st == CKPT_OK; i++)
        if (ckpt_file_array(f, i)->state != CKPT_DATA_UNAVAILABLE) st = ckpt_array_data(f, i, NULL, err);
    ckpt_close(f);
    return st;
}

/* Every allocation of opening and loading `what` fails cleanly: NOMEM with a
   message, nothing left allocated, every free given its block's size. */
void tu_allocfail_open(const char *what, const char *path, const uint8_t *mem, size_t len) {
    tu_counting c = {0, -1, 0, 0};
    ckpt_error err;
    ckpt_status st = counted_run(&c, path, mem, len, &err);
    CHECKF(st == CKPT_OK && c.live == 0 && c.bad_size == 0, "%s: counted run: status %d, %lld live, %lld bad sizes (%s)",
           what, (int)st, c.live, c.bad_size, st ? err.message : "");
    long long n = c.calls, bad = 0;
    for (long long k = 0; k < n; k++) {
        tu_counting d = {0, k, 0, 0};
        ckpt_error_clear(&err);
        st = counted_run(&d, path, mem, len, &err);
        int ok = st == CKPT_E_NOMEM && err.message[0] && d.live == 0 && d.bad_size == 0;
        if (!ok && bad++ < 5)
            printf("  %s: allocation %lld failing: status %d, %lld live, %lld bad sizes: %s\n", what, k, (int)st,
                   d.live, d.bad_size, err.message);
    }
    CHECKF(n > 0 && bad == 0, "%s: %lld of %lld allocation failures not clean", what, bad, n);
    printf("%s: %lld allocations, each failed once: %lld not clean\n", what, n, bad);
}

