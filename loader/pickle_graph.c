/*
 * pickle_graph.c - the inert object graph: node arena, containers with
 * Python key equality, and the public accessors of ckpt_pickle.h.
 *
 * Memory: every allocation of a graph is a block with a header linked into
 * the graph's list, so ckpt_graph_free releases everything, and the bytes are
 * counted against limits.max_memory.  Nodes come from chunks of 256.
 */
#include "pickle_internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#define CKPT_HAVE_MMAP_CHUNKS 1
#endif

typedef struct ghdr {
    struct ghdr *prev, *next;
    size_t size; /* payload bytes */
    size_t map;  /* bytes of its own anonymous mapping (big blocks), 0 = from the allocator */
} ghdr;

typedef struct mchunk {
    struct mchunk *next;
    size_t size;
} mchunk;
#define DICT_INDEX_MIN 8
/* index slot: key hash in the high 32 bits, position + 1 in the low 32 (0 = empty) */
#define SLOT(h, pos) (((uint64_t)(h) << 32) | (uint64_t)((pos) + 1))
#define SLOT_HASH(s) ((uint32_t)((s) >> 32))
#define SLOT_POS(s) ((size_t)(uint32_t)(s) - 1)
#define SLOT_MAX_POS ((size_t)UINT32_MAX - 1)

/* ------------------------------------------------------------------ memory */

/* With the default allocator on Linux, blocks of at least BIG_BLOCK bytes
   (list/dict item arrays of big containers, the machine's stack and memo) are
   their own anonymous mappings, grown with mremap: the kernel moves page
   table entries instead of realloc copying (and re-faulting) the whole array
   each time it doubles, and ask for transparent huge pages.  glibc's own
   mmap threshold rises to 32 MB after the first big free, so without this a
   second load copies every array; below 32 MB glibc's heap is kept (reused
   warm by later loads: mapping 2 MB+ blocks ourselves made a cold first load
   ~10% faster but repeated loads of dict-heavy pickles 2-4x slower). */
#if defined(CKPT_HAVE_MMAP_CHUNKS) && defined(MREMAP_MAYMOVE)
#define CKPT_HAVE_BIG_BLOCKS 1
#define BIG_BLOCK ((size_t)32 << 20)
#define PAGE_ROUND(n) (((n) + (size_t)4095) & ~(size_t)4095)
#define INDEX_BIG ((size_t)2 << 20)
#else
#define BIG_BLOCK SIZE_MAX
#define INDEX_BIG SIZE_MAX
#endif

static void block_link(ckpt_graph *g, ghdr *h) {
    h->prev = NULL;
    h->next = g->allocs;
    if (g->allocs) ((ghdr *)g->allocs)->prev = h;
    g->allocs = h;
}

static void block_release(ckpt_graph *g, ghdr *h) {
#ifdef CKPT_HAVE_BIG_BLOCKS
    if (h->map) {
        munmap(h, h->map);
        return;
    }
#endif
    ckpt__free(&g->alloc, h, h->size + sizeof(ghdr));
}

/* A block; with the default allocator its own (huge-page) mapping from big_min bytes. */
static void *g_alloc_min(ckpt_graph *g, size_t n, size_t big_min) {
    uint64_t total;
    if (!ckpt__add_ok(n, sizeof(ghdr), &total) || total > SIZE_MAX - 4096) return NULL;
    if (g->mem + total > g->limits.max_memory || g->mem + total < g->mem) {
        g->limit_hit = 1;
        return NULL;
    }
    ghdr *h = NULL;
    size_t map = 0;
#ifdef CKPT_HAVE_BIG_BLOCKS
    if (!g->alloc.realloc_fn && total >= big_min) {
        map = PAGE_ROUND((size_t)total);
        void *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
        if (map >= ((size_t)2 << 20)) madvise(p, map, MADV_HUGEPAGE);
#endif
        h = p;
    }
#endif
    if (!h) h = ckpt__realloc(&g->alloc, NULL, 0, (size_t)total);
    if (!h) return NULL;
    h->size = n;
    h->map = map;
    block_link(g, h);
    g->mem += total;
    return h + 1;
}

void *ckpt__g_alloc(ckpt_graph *g, size_t n) { return g_alloc_min(g, n, BIG_BLOCK); }

void *ckpt__g_realloc(ckpt_graph *g, void *p, size_t n) {
    if (!p) return ckpt__g_alloc(g, n);
    ghdr *h = (ghdr *)p - 1;
    uint64_t total;
    if (!ckpt__add_ok(n, sizeof(ghdr), &total) || total > SIZE_MAX - 4096) return NULL;
    uint64_t old_total = h->size + sizeof(ghdr);
    if (total > old_total && g->mem + (total - old_total) > g->limits.max_memory) {
        g->limit_hit = 1;
        return NULL;
    }
    ghdr *prev = h->prev, *next = h->next;
    ghdr *nh = NULL;
#ifdef CKPT_HAVE_BIG_BLOCKS
    if (!g->alloc.realloc_fn && (h->map || total >= BIG_BLOCK)) {
        if (h->map && total >= BIG_BLOCK) { /* mapping -> mapping: no copy */
            size_t map = PAGE_ROUND((size_t)total);
            void *q = map == h->map ? (void *)h : mremap(h, h->map, map, MREMAP_MAYMOVE);
            if (q == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
            if (map >= ((size_t)2 << 20)) madvise(q, map, MADV_HUGEPAGE);
#endif
            nh = q;
            nh->map = map;
        } else { /* crossing BIG_BLOCK: a new block and one copy */
            void *q = ckpt__g_alloc(g, n);
            if (!q) return NULL;
            memcpy(q, p, h->size < n ? h->size : n);
            ckpt__g_free(g, p);
            return q;
        }
    }
#endif
    if (!nh) {
        nh = ckpt__realloc(&g->alloc, h, (size_t)old_total, (size_t)total);
        if (!nh) return NULL;
    }
    if (prev) prev->next = nh;
    else g->allocs = nh;
    if (next) next->prev = nh;
    g->mem = g->mem - old_total + total;
    nh->size = n;
    return nh + 1;
}

void ckpt__g_free(ckpt_graph *g, void *p) {
    if (!p) return;
    ghdr *h = (ghdr *)p - 1;
    if (h->prev) h->prev->next = h->next;
    else g->allocs = h->next;
    if (h->next) h->next->prev = h->prev;
    g->mem -= h->size + sizeof(ghdr);
    block_release(g, h);
}

uint8_t *ckpt__g_copy(ckpt_graph *g, const uint8_t *p, size_t n) {
    if (n == SIZE_MAX) return NULL;
    uint8_t *d = ckpt__g_arena(g, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, p, n);
    d[n] = 0;
    return d;
}

#define NODE_HDR offsetof(ckpt_value, u)
_Static_assert(offsetof(ckpt_value, u) + 8 == CKPT__NODE_SMALL, "small node size");
_Static_assert(offsetof(ckpt_value, u.o.args) == offsetof(ckpt_value, u.ox.args_), "object args slot");
#define CHUNK_MIN ((size_t)16 << 10)
#define ARENA_MAX ((size_t)1 << 10) /* ckpt__g_arena: bigger requests are separate blocks */
#define CHUNK_MAX ((size_t)16 << 20)
#define TRIM_MIN ((size_t)64 << 10) /* item blocks from this size are trimmed after a load */


/* Refill the bump chunk so that it has at least `size` bytes (size <= CHUNK_MIN). */
static int chunk_refill(ckpt_graph *g, size_t size) {
    /* chunks grow with the graph so that big graphs make few large allocations
       (from the last trim: nodes made after a load start small again) */
    size_t n = (size_t)(g->nnodes - g->chunk_nodes) * 16;
    if (n < CHUNK_MIN) n = CHUNK_MIN;
    if (n > CHUNK_MAX) n = CHUNK_MAX;
    if (n < size) n = size;
    uint8_t *c = NULL;
#ifdef CKPT_HAVE_MMAP_CHUNKS
    /* Big chunks with the default allocator: anonymous mappings that may
       use transparent huge pages. */
    if (!g->alloc.realloc_fn && n >= ((size_t)512 << 10)) { /* from 512 KB: one 2 MB huge page */
        size_t bytes = (n + ((size_t)2 << 20) - 1) & ~(((size_t)2 << 20) - 1);
        if (g->mem + bytes > g->limits.max_memory) {
            g->limit_hit = 1;
            return 0;
        }
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
            madvise(p, bytes, MADV_HUGEPAGE);
#endif
            mchunk *mc = p;
            mc->next = g->mchunks;
            mc->size = bytes;
            g->mchunks = mc;
            g->mem += bytes;
            c = (uint8_t *)p + 64;
            n = bytes - 64;
        }
    }
#endif
    if (!c) c = ckpt__g_alloc(g, n);
    if (!c) return 0;
    g->chunk = c;
    g->chunk_left = n;
    return 1;
}

void *ckpt__g_arena(ckpt_graph *g, size_t n) {
    if (n > ARENA_MAX) return ckpt__g_alloc(g, n);
    n = (n + 7) & ~(size_t)7;
    if (g->chunk_left < n && !chunk_refill(g, n)) return NULL;
    void *p = g->chunk;
    g->chunk += n;
    g->chunk_left -= n;
    return p;
}

ckpt_value *ckpt__g_node_sized(ckpt_graph *g, ckpt_kind kind, size_t size) {
    size = (size + 7) & ~(size_t)7;
    if (g->nnodes >= UINT32_MAX - 1) { /* ids are 32-bit */
        g->limit_hit = 1;
        return NULL;
    }
    if (g->chunk_left < size && !chunk_refill(g, size)) return NULL;
    ckpt_value *v = (ckpt_value *)g->chunk;
    g->chunk += size;
    g->chunk_left -= size;
    memset(v, 0, size);
    v->kind = (uint8_t)kind;
    v->id = (uint32_t)g->nnodes++;
    return v;
}


static ckpt_status index_build(ckpt_graph *g, ckpt_value *c, size_t want, unsigned quarters);

void ckpt__g_trim(ckpt_graph *g) {
    int limit_hit = g->limit_hit; /* a failure here is no failure of the load */
    for (ckpt__trimblk *tb = g->trim; tb; tb = tb->next) {
        for (size_t i = 0; i < tb->n; i++) {
            ckpt_value *c = tb->c[i];
            c->flags &= (uint8_t)~CKPT__VF_TRIM;
            if (c->kind != CKPT_K_LIST && c->u.c.index) { /* dict/set index: load factor <= 3/4 */
                size_t cap = 16;
                while (cap * 3 < c->u.c.len * 4) cap *= 2;
                if (cap < c->u.c.index->cap) (void)index_build(g, c, c->u.c.len, 3); /* else keeps the old */
            }
            /* Item blocks are cut only when they are our own mappings (mremap, no
               copy).  glibc blocks are left alone: cutting a mapped one lowers
               glibc's dynamic mmap threshold below what the next load of the same
               pickle needs, and every later load then faults a fresh mapping in
               (repeated loads of a 200 000-key dict 2x slower). */
            size_t used = c->u.c.len * (c->kind == CKPT_K_DICT ? 2 : 1);
            if (!c->u.c.items || !((ghdr *)c->u.c.items - 1)->map || used * sizeof(ckpt_value *) < BIG_BLOCK ||
                (c->u.c.cap - used) * sizeof(ckpt_value *) < ((size_t)16 << 10))
                continue; /* (a mapping cut below BIG_BLOCK would be copied to the heap) */
            ckpt_value **ni = ckpt__g_realloc(g, c->u.c.items, used * sizeof *ni);
            if (ni) { /* else: keeps the bigger block */
                c->u.c.items = ni;
                c->u.c.cap = used;
            }
        }
    }
    g->trim = NULL; /* (the blocks stay in the arena) */
    g->limit_hit = limit_hit;
#ifdef CKPT_HAVE_MMAP_CHUNKS
    /* the current chunk, if it is the newest mapping: unmap its untouched whole pages */
    mchunk *mc = g->mchunks;
    if (mc && g->chunk > (uint8_t *)mc && g->chunk <= (uint8_t *)mc + mc->size) {
        uint8_t *end = (uint8_t *)mc + mc->size;
        uint8_t *cut = (uint8_t *)(((uintptr_t)g->chunk + 4095) & ~(uintptr_t)4095);
        if (cut < end && (size_t)(end - cut) >= ((size_t)64 << 10) && munmap(cut, (size_t)(end - cut)) == 0) {
            g->mem -= (uint64_t)(end - cut);
            mc->size = (size_t)(cut - (uint8_t *)mc);
            g->chunk_left = (size_t)(cut - g->chunk);
            g->chunk_nodes = g->nnodes;
        }
    }
#endif
}

ckpt_status ckpt_graph_new(const ckpt_limits *limits, const ckpt_allocator *alloc, unsigned flags,
                           ckpt_graph **out) {
    if (!out) return CKPT_E_ARG;
    *out = NULL;
    ckpt_allocator a = {0};
    if (alloc) a = *alloc;
    ckpt_graph *g = ckpt__realloc(&a, NULL, 0, sizeof *g);
    if (!g) return CKPT_E_NOMEM;
    memset(g, 0, sizeof *g);
    g->alloc = a;
    g->limits = limits ? *limits : ckpt_limits_default();
    g->flags = flags;
    g->none_node = ckpt__g_node(g, CKPT_K_NONE);
    g->true_node = ckpt__g_node(g, CKPT_K_BOOL);
    g->false_node = ckpt__g_node(g, CKPT_K_BOOL);
    g->empty_tuple = ckpt__g_tuple(g, NULL, 0);
    if (!g->none_node || !g->true_node || !g->false_node || !g->empty_tuple) {
        ckpt_graph_free(g);
        return CKPT_E_NOMEM;
    }
    g->true_node->u.b = 1;
    *out = g;
    return CKPT_OK;
}

void ckpt_graph_free(ckpt_graph *g) {
    if (!g) return;
#ifdef CKPT_HAVE_MMAP_CHUNKS
    for (mchunk *mc = g->mchunks; mc;) {
        mchunk *next = mc->next;
        munmap(mc, mc->size);
        mc = next;
    }
#endif
    ghdr *h = g->allocs;
    while (h) {
        ghdr *n = h->next;
        block_release(g, h);
        h = n;
    }
    ckpt_allocator a = g->alloc;
    ckpt__free(&a, g, sizeof *g);
}

uint64_t ckpt_graph_memory(const ckpt_graph *g) { return g ? g->mem : 0; }
const ckpt_limits *ckpt_graph_limits(const ckpt_graph *g) { return g ? &g->limits : NULL; }
uint64_t ckpt_graph_node_count(const ckpt_graph *g) { return g ? g->nnodes : 0; }

/* ------------------------------------------------------------------ ints */

static void small_bytes(ckpt_value *v) {
    int64_t x = v->u.i.v;
    /* minimal two's complement length: magnitude bits + a sign bit, in bytes */
    uint64_t mag = x < 0 ? ~(uint64_t)x : (uint64_t)x;
    int n = 0;
    if (x != 0) {
#if defined(__GNUC__)
        int bits = mag ? 64 - __builtin_clzll(mag) : 0;
#else
        int bits = 0;
        while (mag >> bits) bits++;
#endif
        n = bits / 8 + 1; /* (bits + 1 sign bit + 7) / 8 */
    }
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    for (int k = 0; k < 8; k++) v->u.i.small[k] = (uint8_t)((uint64_t)x >> (8 * k));
#endif
    v->iblen = (uint8_t)n;
}

ckpt_value *ckpt__int_from_i64(ckpt_graph *g, int64_t x) {
    if (x >= 0 && x < 256 && g->small_ints[x]) return g->small_ints[x];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    ckpt_value *v = ckpt__g_node_small(g, CKPT_K_INT);
#else
    ckpt_value *v = ckpt__g_node(g, CKPT_K_INT);
#endif
    if (!v) return NULL;
    v->u.i.v = x;
    small_bytes(v);
    if (x >= 0 && x < 256) g->small_ints[x] = v;
    return v;
}

ckpt_value *ckpt__int_from_le(ckpt_graph *g, const uint8_t *p, size_t n) {
    /* strip redundant sign-extension bytes */
    while (n > 1 && ((p[n - 1] == 0 && !(p[n - 2] & 0x80)) || (p[n - 1] == 0xff && (p[n - 2] & 0x80))))
        n--;
    if (n == 1 && p[0] == 0) n = 0;
    if (n <= 8) {
        uint64_t u = 0;
        for (size_t k = 0; k < n; k++) u |= (uint64_t)p[k] << (8 * k);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
        return ckpt__int_from_i64(g, (int64_t)u);
    }
    ckpt_value *v = ckpt__g_node_sized(g, CKPT_K_INT, NODE_HDR + sizeof v->u.i);
    if (!v) return NULL;
    uint8_t *b = ckpt__g_alloc(g, n);
    if (!b) return NULL;
    memcpy(b, p, n);
    v->flags |= CKPT__VF_BIG;
    v->u.i.big = b;
    v->u.i.biglen = n;
    v->u.i.v = (p[n - 1] & 0x80) ? INT64_MIN : INT64_MAX; /* saturated, for display */
    return v;
}

/* ------------------------------------------------------------------ hashing */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t seed) {
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    for (size_t k = 0; i + k < n; k++) w |= (uint64_t)p[i + k] << (8 * k);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return mix64(h);
}

static int is_hash_container(const ckpt_value *v) {
    return v->kind == CKPT_K_TUPLE || v->kind == CKPT_K_FROZENSET;
}

/* Hash of a node that is not a tuple/frozenset; sets flags. */
static void leaf_hash(ckpt_value *v) {
    uint64_t h = 0;
    switch ((ckpt_kind)v->kind) {
    case CKPT_K_NONE: h = 0x6e6f6e65; break;
    case CKPT_K_BOOL: h = mix64((uint64_t)v->u.b); break;
    case CKPT_K_INT:
        if (v->flags & CKPT__VF_BIG) h = hash_bytes(v->u.i.big, v->u.i.biglen, 'I');
        else h = mix64((uint64_t)v->u.i.v);
        break;
    case CKPT_K_FLOAT: {
        double f = v->u.f;
        if (f == f && floor(f) == f && f >= -9223372036854775808.0 && f < 9223372036854775808.0)
            h = mix64((uint64_t)(int64_t)f);
        else {
            uint64_t bits;
            memcpy(&bits, &f, 8);
            h = mix64(bits ^ 0xf10a7);
        }
        break;
    }
    case CKPT_K_STR: h = hash_bytes(v->u.s.p, ckpt__s_len(v), 's'); break;
    case CKPT_K_BYTES: h = hash_bytes(v->u.s.p, ckpt__s_len(v), 'b'); break;
    case CKPT_K_GLOBAL:
        if (v->u.g.module && v->u.g.name)
            h = hash_bytes((const uint8_t *)v->u.g.module, strlen(v->u.g.module), 'g') ^
                hash_bytes((const uint8_t *)v->u.g.name, strlen(v->u.g.name), 'n');
        else h = mix64((uint64_t)v->u.g.ext ^ 0xe87);
        break;
    case CKPT_K_OBJECT:
    case CKPT_K_PERSID:
    case CKPT_K_BUFFER: h = mix64(v->id ^ 0x1d); break; /* identity */
    default: v->flags |= CKPT__VF_UNHASHABLE; break;     /* list, dict, set, bytearray */
    }
    v->hash = (uint32_t)h;
    v->flags |= CKPT__VF_HASHED;
}

typedef struct hframe {
    ckpt_value *v;
    size_t i;
} hframe;

/* Python hash(): CKPT_E_TYPE when unhashable. Explicit stack for nested tuples. */
static ckpt_status value_hash(ckpt_graph *g, ckpt_value *v, uint64_t *out) {
    if (!(v->flags & CKPT__VF_HASHED)) {
        if (!is_hash_container(v)) {
            leaf_hash(v);
        } else {
            hframe *st = NULL;
            size_t n = 0, cap = 0;
            ckpt_status s = CKPT_OK;
#define HPUSH(node)                                                                         \
    do {                                                                                    \
        if (n == cap) {                                                                     \
            size_t nc = cap ? cap * 2 : 16;                                                 \
            hframe *ns = ckpt__realloc(&g->alloc, st, cap * sizeof *st, nc * sizeof *st);   \
            if (!ns) { s = CKPT_E_NOMEM; goto hdone; }                                      \
            st = ns;                                                                        \
            cap = nc;                                                                       \
        }                                                                                   \
        st[n].v = (node);                                                                   \
        st[n].i = 0;                                                                        \
        n++;                                                                                \
    } while (0)
            HPUSH(v);
            while (n) {
                hframe *f = &st[n - 1];
                ckpt_value *t = f->v;
                int pushed = 0;
                size_t tlen = ckpt__c_len(t);
                ckpt_value **titems = ckpt__c_items(t);
                while (f->i < tlen) {
                    ckpt_value *c = titems[f->i];
                    if (!(c->flags & CKPT__VF_HASHED)) {
                        if (is_hash_container(c)) {
                            HPUSH(c);
                            pushed = 1;
                            break;
                        }
                        leaf_hash(c);
                    }
                    f->i++;
                }
                if (pushed) continue;
                /* all children hashed: combine */
                uint64_t h = t->kind == CKPT_K_TUPLE ? 0x7475706cULL : 0x66726f7aULL;
                int unh = 0;
                for (size_t k = 0; k < tlen; k++) {
                    ckpt_value *c = titems[k];
                    if (c->flags & CKPT__VF_UNHASHABLE) unh = 1;
                    if (t->kind == CKPT_K_TUPLE) h = mix64(h * 31 + c->hash);
                    else h ^= mix64(c->hash);
                }
                t->hash = (uint32_t)mix64(h + tlen);
                t->flags |= CKPT__VF_HASHED | (unh ? CKPT__VF_UNHASHABLE : 0);
                n--;
            }
        hdone:
            ckpt__free(&g->alloc, st, cap * sizeof *st);
#undef HPUSH
            if (s != CKPT_OK) return s;
        }
    }
    if (v->flags & CKPT__VF_UNHASHABLE) return CKPT_E_TYPE;
    *out = v->hash;
    return CKPT_OK;
}

static int num_kind(const ckpt_value *v) {
    return v->kind == CKPT_K_BOOL || v->kind == CKPT_K_INT || v->kind == CKPT_K_FLOAT;
}

/* Python == for two hashable nodes whose hashes are computed.  depth bounds
   frozenset-in-frozenset comparisons; tuples are compared with a stack. */
static int values_equal(ckpt_graph *g, const ckpt_value *a, const ckpt_value *b, int depth);

static int scalar_equal(const ckpt_value *a, const ckpt_value *b) {
    if (num_kind(a) && num_kind(b)) {
        if (a->kind == CKPT_K_FLOAT || b->kind == CKPT_K_FLOAT) {
            if (a->kind == CKPT_K_FLOAT && b->kind == CKPT_K_FLOAT) return a->u.f == b->u.f;
            const ckpt_value *fl = a->kind == CKPT_K_FLOAT ? a : b;
            const ckpt_value *in = a->kind == CKPT_K_FLOAT ? b : a;
            if (in->kind == CKPT_K_INT && (in->flags & CKPT__VF_BIG)) return 0; /* documented */
            int64_t iv = in->kind == CKPT_K_BOOL ? in->u.b : in->u.i.v;
            double f = fl->u.f;
            if (!(f == f) || floor(f) != f || f < -9223372036854775808.0 ||
                f >= 9223372036854775808.0)
                return 0;
            return (int64_t)f == iv;
        }
        int abig = a->kind == CKPT_K_INT && (a->flags & CKPT__VF_BIG);
        int bbig = b->kind == CKPT_K_INT && (b->flags & CKPT__VF_BIG);
        if (abig || bbig) {
            if (!(abig && bbig)) return 0;
            return a->u.i.biglen == b->u.i.biglen &&
                   memcmp(a->u.i.big, b->u.i.big, a->u.i.biglen) == 0;
        }
        int64_t x = a->kind == CKPT_K_BOOL ? a->u.b : a->u.i.v;
        int64_t y = b->kind == CKPT_K_BOOL ? b->u.b : b->u.i.v;
        return x == y;
    }
    if (a->kind != b->kind) return 0;
    switch ((ckpt_kind)a->kind) {
    case CKPT_K_NONE: return 1;
    case CKPT_K_STR:
    case CKPT_K_BYTES:
    {
        size_t n = ckpt__s_len(a);
        return n == ckpt__s_len(b) && (n == 0 || memcmp(a->u.s.p, b->u.s.p, n) == 0);
    }
    case CKPT_K_GLOBAL:
        if (a->u.g.module && b->u.g.module && a->u.g.name && b->u.g.name)
            return strcmp(a->u.g.module, b->u.g.module) == 0 && strcmp(a->u.g.name, b->u.g.name) == 0;
        return a->u.g.ext == b->u.g.ext && !a->u.g.module && !b->u.g.module;
    default: return a == b;
    }
}

static int frozenset_equal(ckpt_graph *g, const ckpt_value *a, const ckpt_value *b, int depth) {
    if (a->u.c.len != b->u.c.len || a->hash != b->hash) return 0;
    for (size_t i = 0; i < a->u.c.len; i++) {
        int found = 0;
        for (size_t j = 0; j < b->u.c.len && !found; j++)
            if (a->u.c.items[i]->hash == b->u.c.items[j]->hash &&
                values_equal(g, a->u.c.items[i], b->u.c.items[j], depth + 1))
                found = 1;
        if (!found) return 0;
    }
    return 1;
}

static int values_equal(ckpt_graph *g, const ckpt_value *a, const ckpt_value *b, int depth) {
    if (a == b) return 1;
    if (a->hash != b->hash) return 0;
    if (depth > 64) return 0; /* frozensets nested deeper than this never compare equal */
    if (a->kind == CKPT_K_FROZENSET || b->kind == CKPT_K_FROZENSET)
        return a->kind == b->kind && frozenset_equal(g, a, b, depth);
    if (a->kind != CKPT_K_TUPLE || b->kind != CKPT_K_TUPLE) return scalar_equal(a, b);
    /* tuples: explicit stack of pairs */
    size_t cap = 16, n = 0;
    const ckpt_value **st = ckpt__realloc(&g->alloc, NULL, 0, cap * 2 * sizeof *st);
    if (!st) return 0;
    int eq = 1;
    st[0] = a;
    st[1] = b;
    n = 1;
    while (n && eq) {
        n--;
        const ckpt_value *x = st[2 * n], *y = st[2 * n + 1];
        if (x == y) continue;
        if (x->hash != y->hash) { eq = 0; break; }
        if (x->kind == CKPT_K_TUPLE && y->kind == CKPT_K_TUPLE) {
            size_t xn = ckpt__c_len(x);
            ckpt_value **xi = ckpt__c_items(x), **yi = ckpt__c_items(y);
            if (xn != ckpt__c_len(y)) { eq = 0; break; }
            for (size_t k = 0; k < xn; k++) {
                if (n == cap) {
                    const ckpt_value **ns =
                        ckpt__realloc(&g->alloc, st, cap * 2 * sizeof *st, cap * 4 * sizeof *st);
                    if (!ns) { eq = 0; break; }
                    st = ns;
                    cap *= 2;
                }
                st[2 * n] = xi[k];
                st[2 * n + 1] = yi[k];
                n++;
            }
        } else if (x->kind == CKPT_K_FROZENSET || y->kind == CKPT_K_FROZENSET) {
            eq = x->kind == y->kind && frozenset_equal(g, x, y, depth + 1);
        } else {
            eq = scalar_equal(x, y);
        }
    }
    ckpt__free(&g->alloc, st, cap * 2 * sizeof *st);
    return eq;
}

/* ------------------------------------------------------------------ containers */

ckpt_status ckpt__c_reserve(ckpt_graph *g, ckpt_value *c, size_t extra) {
    size_t per = c->kind == CKPT_K_DICT ? 2 : 1;
    uint64_t need;
    if (!ckpt__add_ok(c->u.c.len, extra, &need)) return CKPT_E_LIMIT;
    if (need > g->limits.max_container) return CKPT_E_LIMIT;
    need *= per;
    if (need <= c->u.c.cap) return CKPT_OK;
    uint64_t nc = c->u.c.cap ? c->u.c.cap : 4;
    while (nc < need) nc *= 2;
    uint64_t bytes;
    if (!ckpt__mul_ok(nc, sizeof(ckpt_value *), &bytes) || bytes > SIZE_MAX) return CKPT_E_LIMIT;
    ckpt_value **ni;
    if (bytes >= TRIM_MIN && !(c->flags & CKPT__VF_TRIM)) { /* listed for ckpt__g_trim */
        if (!g->trim || g->trim->n == CKPT__TRIMBLK_N) {
            ckpt__trimblk *tb = ckpt__g_arena(g, sizeof *tb);
            if (!tb) {
                if (g->limit_hit) {
                    g->limit_hit = 0;
                    return CKPT_E_LIMIT;
                }
                return CKPT_E_NOMEM;
            }
            tb->next = g->trim;
            tb->n = 0;
            g->trim = tb;
        }
        g->trim->c[g->trim->n++] = c;
        c->flags |= CKPT__VF_TRIM;
    }
    ni = ckpt__g_realloc(g, c->u.c.items, (size_t)bytes);
    if (!ni) {
        if (g->limit_hit) {
            g->limit_hit = 0;
            return CKPT_E_LIMIT;
        }
        return CKPT_E_NOMEM;
    }
    c->u.c.items = ni;
    c->u.c.cap = (size_t)nc;
    return CKPT_OK;
}

ckpt_value *ckpt__g_tuple(ckpt_graph *g, ckpt_value *const *items, size_t n) {
    if (n > g->limits.max_container) return NULL;
    ckpt_value *t;
    if (n <= CKPT__TUPLE_INLINE_MAX) {
        t = ckpt__g_node_n(g, CKPT_K_TUPLE, NODE_HDR + (n ? n : 1) * sizeof(ckpt_value *));
        if (!t) return NULL;
        t->flags |= CKPT__VF_INLINE;
        t->n32 = (uint32_t)n;
    } else {
        uint64_t bytes;
        if (!ckpt__mul_ok(n, sizeof(ckpt_value *), &bytes) || bytes > SIZE_MAX) return NULL;
        t = ckpt__g_node(g, CKPT_K_TUPLE);
        if (!t) return NULL;
        t->u.c.items = ckpt__g_alloc(g, (size_t)bytes); /* exactly n: tuples never grow */
        if (!t->u.c.items) return NULL;
        t->u.c.len = t->u.c.cap = n;
    }
    if (n) memcpy(ckpt__c_items(t), items, n * sizeof *items);
    return t;
}

ckpt__objx *ckpt__objx_get(ckpt_graph *g, ckpt_value *obj) {
    if (!(obj->flags & CKPT__VF_EXT)) {
        /* bump memory next to the nodes: no block header, no allocator call */
        ckpt__objx *x = ckpt__g_arena(g, sizeof *x);
        if (!x) return NULL;
        memset(x, 0, sizeof *x);
        x->callable = obj->u.o.callable;
        obj->u.ox.x = x;
        obj->flags |= CKPT__VF_EXT;
    }
    return obj->u.ox.x;
}

ckpt_status ckpt__c_append(ckpt_graph *g, ckpt_value *c, ckpt_value *item) {
    if (c->u.c.len >= c->u.c.cap) {
        ckpt_status s = ckpt__c_reserve(g, c, 1);
        if (s != CKPT_OK) return s;
    } else if (c->u.c.len >= g->limits.max_container) {
        return CKPT_E_LIMIT;
    }
    c->u.c.items[c->u.c.len++] = item;
    return CKPT_OK;
}

static ckpt_value *entry_key(const ckpt_value *c, size_t pos) {
    return c->kind == CKPT_K_DICT ? c->u.c.items[2 * pos] : c->u.c.items[pos];
}

/* A new index for `want` entries at a load factor <= quarters/4: 2 (1/2)
   while a load inserts (short linear probes: every insert first probes for
   the key), 3 (3/4) when ckpt__g_trim sizes it for lookups only. */
static ckpt_status index_build(ckpt_graph *g, ckpt_value *c, size_t want, unsigned quarters) {
    size_t cap = 16;
    while (cap * quarters < want * 4) cap *= 2;
    if (!c->u.c.index) {
        c->u.c.index = ckpt__g_alloc(g, sizeof(ckpt__cindex));
        if (!c->u.c.index) return CKPT_E_NOMEM;
        c->u.c.index->slots = NULL;
        c->u.c.index->cap = 0;
    }
    /* a new index at every doubling, never grown in place: from 2 MB a huge-page
       mapping (a cold load faulted every 4 KB of each new index) */
    uint64_t *idx = g_alloc_min(g, cap * sizeof *idx, INDEX_BIG);
    if (!idx) return CKPT_E_NOMEM;
    memset(idx, 0, cap * sizeof *idx);
    for (size_t p = 0; p < c->u.c.len; p++) {
        uint32_t h = entry_key(c, p)->hash;
        size_t slot = (size_t)h & (cap - 1);
        while (idx[slot]) slot = (slot + 1) & (cap - 1);
        idx[slot] = SLOT(h, p);
    }
    ckpt__g_free(g, c->u.c.index->slots);
    c->u.c.index->slots = idx;
    c->u.c.index->cap = cap;
    return CKPT_OK;
}

/* Find key (hash computed) -> position, or SIZE_MAX. */
static size_t table_find(ckpt_graph *g, const ckpt_value *c, const ckpt_value *k) {
    if (c->u.c.index) {
        const uint64_t *slots = c->u.c.index->slots;
        size_t mask = c->u.c.index->cap - 1, slot = (size_t)k->hash & mask;
        while (slots[slot]) {
            if (SLOT_HASH(slots[slot]) == k->hash) { /* the key node is read only on a hash match */
                size_t p = SLOT_POS(slots[slot]);
                const ckpt_value *e = entry_key(c, p);
                if (values_equal(g, e, k, 0)) return p;
            }
            slot = (slot + 1) & mask;
        }
        return SIZE_MAX;
    }
    for (size_t p = 0; p < c->u.c.len; p++) {
        const ckpt_value *e = entry_key(c, p);
        if (e->hash == k->hash && values_equal(g, e, k, 0)) return p;
    }
    return SIZE_MAX;
}

static ckpt_status table_insert_new(ckpt_graph *g, ckpt_value *c, ckpt_value *k, ckpt_value *v) {
    if (c->u.c.len >= SLOT_MAX_POS) return CKPT_E_LIMIT; /* positions are 32-bit in the index */
    ckpt_status s = ckpt__c_reserve(g, c, 1);
    if (s != CKPT_OK) return s;
    size_t p = c->u.c.len;
    if (c->kind == CKPT_K_DICT) {
        c->u.c.items[2 * p] = k;
        c->u.c.items[2 * p + 1] = v;
    } else {
        c->u.c.items[p] = k;
    }
    c->u.c.len++;
    if (c->u.c.index) {
        if (c->u.c.len * 2 > c->u.c.index->cap) return index_build(g, c, c->u.c.len, 2);
        uint64_t *slots = c->u.c.index->slots;
        size_t mask = c->u.c.index->cap - 1, slot = (size_t)k->hash & mask;
        while (slots[slot]) slot = (slot + 1) & mask;
        slots[slot] = SLOT(k->hash, p);
    } else if (c->u.c.len >= DICT_INDEX_MIN) {
        return index_build(g, c, c->u.c.len, 2);
    }
    return CKPT_OK;
}

ckpt_status ckpt__dict_set(ckpt_graph *g, ckpt_value *d, ckpt_value *k, ckpt_value *v) {
    uint64_t h;
    ckpt_status s = value_hash(g, k, &h);
    if (s != CKPT_OK) return s;
    size_t p = table_find(g, d, k);
    if (p != SIZE_MAX) {
        d->u.c.items[2 * p + 1] = v; /* Python keeps the first key object */
        return CKPT_OK;
    }
    return table_insert_new(g, d, k, v);
}

ckpt_status ckpt__set_add(ckpt_graph *g, ckpt_value *set, ckpt_value *item) {
    uint64_t h;
    ckpt_status s = value_hash(g, item, &h);
    if (s != CKPT_OK) return s;
    if (table_find(g, set, item) != SIZE_MAX) return CKPT_OK;
    s = table_insert_new(g, set, item, NULL);
    if (s == CKPT_OK) set->flags &= (uint8_t)~CKPT__VF_HASHED; /* frozenset hash covers items */
    return s;
}

/* ------------------------------------------------------------------ accessors */

static const char *const kind_names[CKPT_K__COUNT] = {
    "none", "bool", "int", "float", "str", "bytes", "bytearray", "tuple", "list",
    "dict", "set", "frozenset", "global", "object", "persid", "buffer"};

ckpt_kind ckpt_value_kind(const ckpt_value *v) { return v ? (ckpt_kind)v->kind : CKPT_K_NONE; }
const char *ckpt_kind_name(ckpt_kind k) {
    return (unsigned)k < CKPT_K__COUNT ? kind_names[k] : "?";
}
uint64_t ckpt_value_id(const ckpt_value *v) { return v ? v->id : UINT64_MAX; }

int ckpt_value_bool(const ckpt_value *v) { return v && v->kind == CKPT_K_BOOL ? v->u.b : 0; }

ckpt_status ckpt_value_int64(const ckpt_value *v, int64_t *out) {
    if (!v) return CKPT_E_TYPE;
    if (v->kind == CKPT_K_BOOL) {
        if (out) *out = v->u.b;
        return CKPT_OK;
    }
    if (v->kind != CKPT_K_INT) return CKPT_E_TYPE;
    if (v->flags & CKPT__VF_BIG) return CKPT_E_RANGE;
    if (out) *out = v->u.i.v;
    return CKPT_OK;
}

const uint8_t *ckpt_value_int_bytes(const ckpt_value *v, size_t *len) {
    if (!v || v->kind != CKPT_K_INT) {
        if (len) *len = 0;
        return NULL;
    }
    if (v->flags & CKPT__VF_BIG) {
        if (len) *len = v->u.i.biglen;
        return v->u.i.big;
    }
    if (len) *len = v->iblen;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (const uint8_t *)&v->u.i.v; /* an int64 in memory is its LE two's complement */
#else
    return v->u.i.small;
#endif
}

double ckpt_value_float(const ckpt_value *v) {
    if (!v) return NAN;
    switch ((ckpt_kind)v->kind) {
    case CKPT_K_FLOAT: return v->u.f;
    case CKPT_K_BOOL: return v->u.b;
    case CKPT_K_INT:
        if (v->flags & CKPT__VF_BIG) {
            /* LE two's complement -> double */
            const uint8_t *b = v->u.i.big;
            size_t n = v->u.i.biglen;
            int neg = (b[n - 1] & 0x80) != 0;
            double r = 0;
            for (size_t k = n; k-- > 0;) r = r * 256.0 + (neg ? (double)(uint8_t)~b[k] : b[k]);
            return neg ? -(r + 1) : r;
        }
        return (double)v->u.i.v;
    default: return NAN;
    }
}

const uint8_t *ckpt_value_bytes(const ckpt_value *v, size_t *len) {
    if (!v || (v->kind != CKPT_K_STR && v->kind != CKPT_K_BYTES && v->kind != CKPT_K_BYTEARRAY)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = ckpt__s_len(v);
    return v->u.s.p ? v->u.s.p : (const uint8_t *)"";
}

int ckpt_value_is_str(const ckpt_value *v, const char *s) {
    if (!v || v->kind != CKPT_K_STR || !s) return 0;
    size_t n = strlen(s);
    return ckpt__s_len(v) == n && (n == 0 || memcmp(v->u.s.p, s, n) == 0);
}

static int is_container(const ckpt_value *v) {
    return v && (v->kind == CKPT_K_TUPLE || v->kind == CKPT_K_LIST || v->kind == CKPT_K_DICT ||
                 v->kind == CKPT_K_SET || v->kind == CKPT_K_FROZENSET);
}

size_t ckpt_value_len(const ckpt_value *v) {
    if (is_container(v)) return ckpt__c_len(v);
    if (v && (v->kind == CKPT_K_STR || v->kind == CKPT_K_BYTES || v->kind == CKPT_K_BYTEARRAY))
        return ckpt__s_len(v);
    return 0;
}

ckpt_value *ckpt_value_item(const ckpt_value *v, size_t i) {
    if (!is_container(v) || v->kind == CKPT_K_DICT || i >= ckpt__c_len(v)) return NULL;
    return ckpt__c_items(v)[i];
}
ckpt_value *ckpt_value_dict_key(const ckpt_value *v, size_t i) {
    if (!v || v->kind != CKPT_K_DICT || i >= v->u.c.len) return NULL;
    return v->u.c.items[2 * i];
}
ckpt_value *ckpt_value_dict_val(const ckpt_value *v, size_t i) {
    if (!v || v->kind != CKPT_K_DICT || i >= v->u.c.len) return NULL;
    return v->u.c.items[2 * i + 1];
}

ckpt_value *ckpt_dict_get(const ckpt_value *d, const char *key) {
    if (!d || d->kind != CKPT_K_DICT || !key) return NULL;
    size_t n = strlen(key);
    if (d->u.c.index) {
        uint32_t h = (uint32_t)hash_bytes((const uint8_t *)key, n, 's');
        const uint64_t *slots = d->u.c.index->slots;
        size_t mask = d->u.c.index->cap - 1, slot = (size_t)h & mask;
        while (slots[slot]) {
            if (SLOT_HASH(slots[slot]) != h) {
                slot = (slot + 1) & mask;
                continue;
            }
            size_t p = SLOT_POS(slots[slot]);
            const ckpt_value *k = d->u.c.items[2 * p];
            if (k->kind == CKPT_K_STR && k->hash == h && ckpt__s_len(k) == n &&
                (n == 0 || memcmp(k->u.s.p, key, n) == 0))
                return d->u.c.items[2 * p + 1];
            slot = (slot + 1) & mask;
        }
        return NULL;
    }
    for (size_t p = 0; p < d->u.c.len; p++)
        if (ckpt_value_is_str(d->u.c.items[2 * p], key)) return d->u.c.items[2 * p + 1];
    return NULL;
}

const char *ckpt_value_module(const ckpt_value *v) {
    return v && v->kind == CKPT_K_GLOBAL ? v->u.g.module : NULL;
}
const char *ckpt_value_name(const ckpt_value *v) {
    return v && v->kind == CKPT_K_GLOBAL ? v->u.g.name : NULL;
}
const char *ckpt_value_canonical(const ckpt_value *v) {
    return v && v->kind == CKPT_K_GLOBAL ? v->u.g.canonical : NULL;
}
int32_t ckpt_value_ext_code(const ckpt_value *v) {
    return v && v->kind == CKPT_K_GLOBAL ? v->u.g.ext : 0;
}

static int is_obj(const ckpt_value *v) { return v && v->kind == CKPT_K_OBJECT; }
/* the object's extension, or NULL (not an object, or nothing rarely used set) */
static const ckpt__objx *objx(const ckpt_value *v) { return is_obj(v) ? ckpt__objx_of(v) : NULL; }
ckpt_call_kind ckpt_value_call_kind(const ckpt_value *v) {
    return is_obj(v) ? (ckpt_call_kind)v->call : CKPT_CALL_REDUCE;
}
ckpt_value *ckpt_value_callable(const ckpt_value *v) { return is_obj(v) ? ckpt__obj_callable(v) : NULL; }
ckpt_value *ckpt_value_args(const ckpt_value *v) { return is_obj(v) ? v->u.o.args : NULL; }
ckpt_value *ckpt_value_kwargs(const ckpt_value *v) { return objx(v) ? objx(v)->kwargs : NULL; }
ckpt_value *ckpt_value_state(const ckpt_value *v) {
    const ckpt__objx *o = objx(v);
    return o && o->nstates ? o->states[o->nstates - 1] : NULL;
}
size_t ckpt_value_state_count(const ckpt_value *v) { return objx(v) ? objx(v)->nstates : 0; }
ckpt_value *ckpt_value_state_at(const ckpt_value *v, size_t i) {
    const ckpt__objx *o = objx(v);
    return o && i < o->nstates ? o->states[i] : NULL;
}
ckpt_value *ckpt_value_obj_list(const ckpt_value *v) { return objx(v) ? objx(v)->list : NULL; }
ckpt_value *ckpt_value_obj_dict(const ckpt_value *v) { return objx(v) ? objx(v)->dict : NULL; }
ckpt_value *ckpt_value_build_target(const ckpt_value *v) { return objx(v) ? objx(v)->target : NULL; }

const char *ckpt_value_class(const ckpt_value *v) {
    if (!is_obj(v)) return NULL;
    const ckpt_value *c = ckpt__obj_callable(v);
    if (!c || c->kind != CKPT_K_GLOBAL || !c->u.g.canonical) return NULL;
    const char *can = c->u.g.canonical;
    if (strcmp(can, "copyreg._reconstructor") == 0 || strcmp(can, "copyreg.__newobj__") == 0 ||
        strcmp(can, "copyreg.__newobj_ex__") == 0) {
        const ckpt_value *a = v->u.o.args;
        const ckpt_value *a0 = a && a->kind == CKPT_K_TUPLE && ckpt__c_len(a) > 0 ? ckpt__c_items(a)[0] : NULL;
        if (a0 && a0->kind == CKPT_K_GLOBAL && a0->u.g.canonical) return a0->u.g.canonical;
    }
    return can;
}

ckpt_value *ckpt_value_attr(const ckpt_value *v, const char *name) {
    const ckpt__objx *o = objx(v);
    if (!o || !name) return NULL;
    for (size_t i = o->nstates; i-- > 0;) {
        const ckpt_value *st = o->states[i];
        if (!st) continue;
        if (st->kind == CKPT_K_DICT) {
            ckpt_value *r = ckpt_dict_get(st, name);
            if (r) return r;
        } else if (st->kind == CKPT_K_TUPLE && ckpt__c_len(st) == 2) {
            ckpt_value *const *it = ckpt__c_items(st);
            ckpt_value *r = ckpt_dict_get(it[1], name); /* slots win, applied last */
            if (!r) r = ckpt_dict_get(it[0], name);
            if (r) return r;
        }
    }
    return NULL;
}

ckpt_value *ckpt_value_persid(const ckpt_value *v) {
    return v && v->kind == CKPT_K_PERSID ? v->u.pid : NULL;
}
size_t ckpt_value_buffer_index(const ckpt_value *v) {
    return v && v->kind == CKPT_K_BUFFER ? v->u.buf.index : 0;
}
const uint8_t *ckpt_value_buffer_data(const ckpt_value *v, size_t *len) {
    if (!v || v->kind != CKPT_K_BUFFER || !v->u.buf.data) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->u.buf.len;
    return v->u.buf.data;
}
int ckpt_value_buffer_readonly(const ckpt_value *v) {
    return v && v->kind == CKPT_K_BUFFER && (v->flags & CKPT__VF_READONLY) ? 1 : 0;
}

/* The payload lives in the object's extension, which every object that BUILD
   was applied to has (the after_build hooks that attach payloads run then);
   on an object without one (no state, kwargs, list, dict) nothing can be
   allocated here (no graph) and the call is ignored. */
void ckpt_value_set_payload(ckpt_value *v, uint64_t offset, uint64_t len) {
    ckpt__objx *x = is_obj(v) ? ckpt__objx_of(v) : NULL;
    if (!x) return;
    v->flags |= CKPT__VF_PAYLOAD;
    x->pay_off = offset;
    x->pay_len = len;
}
int ckpt_value_payload(const ckpt_value *v, uint64_t *offset, uint64_t *len) {
    if (!is_obj(v) || !(v->flags & CKPT__VF_PAYLOAD)) return 0;
    if (offset) *offset = ckpt__objx_of(v)->pay_off;
    if (len) *len = ckpt__objx_of(v)->pay_len;
    return 1;
}

/* ------------------------------------------------------------------ constructors */

ckpt_value *ckpt_value_new_str(ckpt_graph *g, const char *s, size_t len) {
    if (!g || (!s && len)) return NULL;
    ckpt_value *v = ckpt__g_str(g, CKPT_K_STR, NULL, len);
    if (!v) return NULL;
    uint8_t *p = ckpt__g_copy(g, (const uint8_t *)s, len);
    if (!p) return NULL;
    v->u.s.p = p;
    return v;
}
ckpt_value *ckpt_value_new_int(ckpt_graph *g, int64_t i) { return g ? ckpt__int_from_i64(g, i) : NULL; }
ckpt_value *ckpt_value_new_none(ckpt_graph *g) { return g ? g->none_node : NULL; }

/* ------------------------------------------------------------------ UTF-8 */

int ckpt__utf8_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* fast path: 8 ASCII bytes */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        uint8_t c = p[i];
        if (c < 0x80) { i++; continue; }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
        else return 0;
        if (n - i - 1 < need) return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
        i += need + 1; /* surrogates (U+D800..DFFF) allowed: 'surrogatepass' */
    }
    return 1;
}
