/*
 * alloc.c - the one allocation wrapper.  Every byte ckpt allocates goes
 * through a ckpt_allocator (NULL = the C library).
 */
#include "loader_internal.h"

#include <stdlib.h>
#include <string.h>

void *ckpt__realloc(const ckpt_allocator *a, void *p, size_t old_size, size_t new_size) {
    if (new_size == 0) {
        ckpt__free(a, p, old_size);
        return NULL;
    }
    if (a && a->realloc_fn) return a->realloc_fn(a->user, p, old_size, new_size);
    return realloc(p, new_size);
}

void *ckpt__malloc(const ckpt_allocator *a, size_t n) {
    return ckpt__realloc(a, NULL, 0, n ? n : 1);
}

void *ckpt__calloc(const ckpt_allocator *a, size_t count, size_t size) {
    uint64_t n;
    if (!ckpt__mul_ok(count, size, &n) || n > SIZE_MAX) return NULL;
    void *p = ckpt__malloc(a, (size_t)n);
    if (p) memset(p, 0, (size_t)n);
    return p;
}

void ckpt__free(const ckpt_allocator *a, void *p, size_t size) {
    if (!p) return;
    if (a && a->free_fn) {
        a->free_fn(a->user, p, size);
        return;
    }
    if (a && a->realloc_fn) {
        a->realloc_fn(a->user, p, size, 0);
        return;
    }
    free(p);
}

/* Aligned block: [pad][header: raw pointer, total size][data...]. */
typedef struct ckpt__ahdr {
    void *raw;
    size_t total;
} ckpt__ahdr;

void *ckpt__aligned_alloc(const ckpt_allocator *a, size_t n, size_t align) {
    if (align < 64) align = 64;
    if (align & (align - 1)) return NULL;
    uint64_t total;
    if (!ckpt__add_ok(n, align, &total) || !ckpt__add_ok(total, sizeof(ckpt__ahdr), &total) ||
        total > SIZE_MAX)
        return NULL;
    uint8_t *raw = ckpt__malloc(a, (size_t)total);
    if (!raw) return NULL;
    uintptr_t start = (uintptr_t)raw + sizeof(ckpt__ahdr);
    uintptr_t aligned = (start + (align - 1)) & ~(uintptr_t)(align - 1);
    ckpt__ahdr h = {raw, (size_t)total};
    memcpy((uint8_t *)aligned - sizeof h, &h, sizeof h);
    return (void *)aligned;
}

void ckpt__aligned_free(const ckpt_allocator *a, void *p) {
    if (!p) return;
    ckpt__ahdr h;
    memcpy(&h, (uint8_t *)p - sizeof h, sizeof h);
    ckpt__free(a, h.raw, h.total);
}

char *ckpt__strdup(const ckpt_allocator *a, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = ckpt__malloc(a, n);
    if (d) memcpy(d, s, n);
    return d;
}
