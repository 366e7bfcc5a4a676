/*
 * util_allocfail.h - allocation-failure injection shared by the format tests:
 * tu_allocfail_open() opens `path` (or `mem`/`len` when path is NULL), reads
 * every available array and closes, once with a counting allocator and then
 * once per allocation with that allocation failing.  Each failing run must
 * end in CKPT_E_NOMEM with a message, nothing left allocated, and every free
 * given its block's size; the result is one CHECK per call.
 */
#ifndef CKPT_UTIL_ALLOCFAIL_H
#define CKPT_UTIL_ALLOCFAIL_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt_common.h"

/* Counting allocator: block sizes kept in a header; allocation number
   `fail_at` (0-based; -1: none) fails.  `live` blocks outstanding, `bad_size`
   frees/reallocs given a size other than the block's. */
typedef struct tu_counting {
    long long calls, fail_at, live, bad_size;
} tu_counting;

ckpt_allocator tu_counting_allocator(tu_counting *c);

void tu_allocfail_open(const char *what, const char *path, const uint8_t *mem, size_t len);

#endif
