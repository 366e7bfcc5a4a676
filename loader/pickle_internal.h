/*
 * pickle_internal.h - the node and graph layout shared by the pickle machine
 * (pickle_machine.c), the graph (pickle_graph.c) and the name registry
 * (pickle_names.c).  Other loader files use the public accessors only.
 */
#ifndef CKPT_PICKLE_INTERNAL_H
#define CKPT_PICKLE_INTERNAL_H

#include "loader_internal.h"

#include <stddef.h>
#include <string.h>

/* node flags */
#define CKPT__VF_BIG 1u        /* INT: value in u.i.big (does not fit int64) */
#define CKPT__VF_READONLY 2u   /* BUFFER: READONLY_BUFFER applied */
#define CKPT__VF_HASHED 4u     /* hash computed */
#define CKPT__VF_UNHASHABLE 8u /* list/dict/... or a tuple holding one */
#define CKPT__VF_PAYLOAD 16u   /* payload attached (OBJECT) */
#define CKPT__VF_ARENA 32u     /* container: items in arena memory (ckpt__g_arena), not a block */

/* the rarely used parts of an object, made when one is first set */
typedef struct ckpt__objx_more {
    ckpt_value *kwargs;      /* NEWOBJ_EX */
    ckpt_value *list, *dict; /* APPEND(S) / SETITEM(S) made on the object */
    ckpt_value *target;      /* BUILD_ONLY: the value BUILD was applied to */
} ckpt__objx_more;

typedef struct ckpt__objx {
    ckpt_value *callable, *args;
    ckpt_value **states;
    uint32_t nstates, capstates;
    ckpt__objx_more *more;   /* NULL: no kwargs, list, dict, target */
    uint64_t pay_off, pay_len;
} ckpt__objx;

/* hash index of a DICT / SET / FROZENSET (made once it has 8 entries) */
typedef struct ckpt__cindex {
    uint64_t *slots;   /* slot -> key hash << 32 | (position + 1), 0 empty */
    size_t cap;        /* power of two */
} ckpt__cindex;

/* Nodes are allocated with the size their kind needs (16-byte header + 8 for
   a float or small int, + 16 for str/bytes, + 32 for containers): big graphs
   are dominated by node memory (first-touch page faults).  Only the union
   member of the node's kind may be touched. */
struct ckpt_value {
    uint8_t kind;
    uint8_t call;   /* ckpt_call_kind (OBJECT) */
    uint8_t flags;
    uint8_t iblen;  /* INT (small): minimal two's complement length */
    uint32_t hash;
    uint32_t id;
    uint32_t spare_;
    union {
        int b;
        struct {
            int64_t v;
            uint8_t *big; /* minimal LE two's complement when CKPT__VF_BIG */
            size_t biglen;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
            uint8_t small[8]; /* big-endian hosts: LE bytes of v */
#endif
        } i;
        double f;
        struct {
            const uint8_t *p;
            size_t len;
        } s;
        struct {
            ckpt_value **items; /* DICT: key, value, key, value ... */
            size_t len;         /* items (DICT: pairs) */
            size_t cap;         /* allocated item slots */
            ckpt__cindex *index;
        } c;
        struct {
            const char *module, *name, *canonical;
            int32_t ext;
        } g;
        ckpt__objx *o;
        ckpt_value *pid;
        struct {
            size_t index;
            const uint8_t *data;
            size_t len;
        } buf;
    } u;
};

struct ckpt_graph {
    ckpt_allocator alloc;
    ckpt_limits limits;
    unsigned flags;
    uint64_t mem;
    uint64_t nnodes;
    void *allocs;           /* doubly linked list of allocation headers */
    uint8_t *chunk;         /* current node chunk (bump allocation) */
    size_t chunk_left;      /* bytes */
    void *mchunks;          /* mmap'd node chunks (default allocator only) */
    int limit_hit;          /* last failed allocation was refused by max_memory */
    ckpt_value *none_node, *true_node, *false_node, *empty_tuple;
    ckpt_value *small_ints[256]; /* 0..255 made once (like CPython's small int cache) */
};

/* graph memory (counted against limits.max_memory); NULL on failure */
void *ckpt__g_alloc(ckpt_graph *g, size_t n);
void *ckpt__g_realloc(ckpt_graph *g, void *p, size_t n);
void ckpt__g_free(ckpt_graph *g, void *p);
/* node with an explicit size (>= header + what the kind's fields need) */
ckpt_value *ckpt__g_node_sized(ckpt_graph *g, ckpt_kind kind, size_t size);

#if defined(__GNUC__)
#define CKPT__ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define CKPT__ALWAYS_INLINE static inline
#endif

/* bytes a node of this kind takes (a multiple of 8) */
CKPT__ALWAYS_INLINE size_t ckpt__node_size(ckpt_kind kind) {
    const size_t hdr = offsetof(ckpt_value, u);
    ckpt_value *v = NULL;
    (void)v;
    switch (kind) {
    case CKPT_K_INT:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return hdr + sizeof v->u.i.v;
#else
        return hdr + sizeof v->u.i;
#endif
    case CKPT_K_NONE:
    case CKPT_K_BOOL:
    case CKPT_K_FLOAT:
    case CKPT_K_OBJECT:
    case CKPT_K_PERSID: return hdr + 8;
    case CKPT_K_STR:
    case CKPT_K_BYTES:
    case CKPT_K_BYTEARRAY: return hdr + sizeof v->u.s;
    case CKPT_K_GLOBAL: return (hdr + sizeof v->u.g + 7) & ~(size_t)7;
    case CKPT_K_BUFFER: return hdr + sizeof v->u.buf;
    default: return hdr + sizeof v->u.c;
    }
}

/* a zeroed node of the kind's size with the next id: inline bump allocation
   from the current chunk, ckpt__g_node_sized when it is used up */
CKPT__ALWAYS_INLINE ckpt_value *ckpt__g_node(ckpt_graph *g, ckpt_kind kind) {
    size_t size = ckpt__node_size(kind);
    if (g->chunk_left >= size && g->nnodes < UINT32_MAX - 1) {
        ckpt_value *v = (ckpt_value *)g->chunk;
        g->chunk += size;
        g->chunk_left -= size;
        memset(v, 0, size);
        v->kind = (uint8_t)kind;
        v->id = (uint32_t)g->nnodes++;
        return v;
    }
    return ckpt__g_node_sized(g, kind, size);
}
/* Bump memory from the node chunks, 8-aligned, never freed or grown on its
   own (released with the graph; up to 1 KB, bigger requests fall back to
   ckpt__g_alloc). */
void *ckpt__g_arena(ckpt_graph *g, size_t n);
/* Node of a kind whose size is CKPT__NODE_SMALL (small INT on little-endian
   hosts, FLOAT, NONE, BOOL). */
#define CKPT__NODE_SMALL 24
#define ckpt__g_node_small(g, kind) ckpt__g_node((g), (kind))
/* copy bytes into the graph (NUL-terminated for convenience; arena memory) */
uint8_t *ckpt__g_copy(ckpt_graph *g, const uint8_t *p, size_t n);

/* containers; CKPT_E_NOMEM / CKPT_E_LIMIT on failure */
ckpt_status ckpt__c_append(ckpt_graph *g, ckpt_value *c, ckpt_value *item);
ckpt_status ckpt__c_reserve(ckpt_graph *g, ckpt_value *c, size_t extra);
/* room for exactly n items in an empty container that is unlikely to grow
   (tuples): small ones take arena memory (copied to a block if they grow) */
ckpt_status ckpt__c_init_fixed(ckpt_graph *g, ckpt_value *c, size_t n);
/* dict set with Python key equality; CKPT_E_TYPE for an unhashable key */
ckpt_status ckpt__dict_set(ckpt_graph *g, ckpt_value *d, ckpt_value *k, ckpt_value *v);
/* set add with Python equality (duplicates dropped) */
ckpt_status ckpt__set_add(ckpt_graph *g, ckpt_value *s, ckpt_value *item);

/* ints */
ckpt_value *ckpt__int_from_i64(ckpt_graph *g, int64_t v);
/* minimal-length copy of LE two's complement bytes */
ckpt_value *ckpt__int_from_le(ckpt_graph *g, const uint8_t *p, size_t n);

/* Windowed input (internal): the machine reads the input at file offsets
   through buf (buf + off is the byte at offset off) for offsets [.., avail).
   When it needs bytes past that it calls fn(user, pos, want_end, &buf,
   &avail): the callback makes at least [pos, want_end) readable, possibly at
   a new place (a new buf; bytes below pos must stay valid where they were:
   the graph may borrow them), and raises *avail (never past len).  Bytes
   below pos are never read again; after an after_build hook skipped bytes,
   *avail on entry is where the skip began.  If it cannot, it leaves *avail
   and the machine reports truncated input.  after_build hooks get len (the
   whole input) and a readable byte at pos.  Borrowed bytes/bytearray
   payloads point into `file` when set. */
typedef struct ckpt__refill {
    const uint8_t *file; /* whole input if addressable (borrowed bytes point here), or NULL */
    void *user;
    void (*fn)(void *user, size_t pos, size_t want_end, const uint8_t **buf, size_t *avail);
} ckpt__refill;
ckpt_status ckpt__pickle_load_windowed(ckpt_graph *g, const uint8_t *buf, size_t avail, size_t len,
                                       const ckpt__refill *rf, size_t start,
                                       const ckpt_pickle_hooks *hooks, ckpt_value **root,
                                       ckpt_pickle_info *info, ckpt_error *err);

/* canonical "module.name" (Python 2 names mapped, numpy._core folded); graph-owned */
const char *ckpt__canonical(ckpt_graph *g, const char *module, const char *name);

/* UTF-8 check allowing surrogates (Python's 'surrogatepass'); 1 if valid */
int ckpt__utf8_valid(const uint8_t *p, size_t n);

#endif
