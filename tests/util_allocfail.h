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

void tu_allocfail_open(const char *what, const char *path, const uint8_t *mem, size_t len);

#endif
