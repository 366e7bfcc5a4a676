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
#define CKPT__VF_TRIM 32u      /* LIST/DICT/SET/FROZENSET/TUPLE: item block listed in graph->trim */
/* per-kind bits (the same bit means different things for different kinds) */
#define CKPT__VF_INLINE 64u    /* TUPLE: items right after the header, length in n32 (fixed size) */
#define CKPT__VF_EXT 64u       /* OBJECT: u.ox.x (the extension, holding the callable) replaces u.o.callable */
#define CKPT__VF_LONG 128u     /* STR/BYTES/BYTEARRAY: length in u.s.len (> UINT32_MAX), else in n32 */

/* The parts of an object most objects never use (a REDUCE/NEWOBJ without
   state), made when one is first set (arena memory, zeroed). */
typedef struct ckpt__objx {
    ckpt_value *callable;    /* moved here from the node when the extension is made */
    ckpt_value **states;     /* BUILD states in order */
    uint32_t nstates, capstates;
    ckpt_value *kwargs;      /* NEWOBJ_EX */
    ckpt_value *list, *dict; /* APPEND(S) / SETITEM(S) made on the object */
    ckpt_value *target;      /* BUILD_ONLY: the value BUILD was applied to */
    uint64_t pay_off, pay_len;
} ckpt__objx;

/* hash index of a DICT / SET / FROZENSET (made once it has 8 entries) */
typedef struct ckpt__cindex {
    uint64_t *slots;   /* slot -> key hash << 32 | (position + 1), 0 empty */
    size_t cap;        /* power of two */
} ckpt__cindex;

/* Nodes are allocated with the size their kind needs (16-byte header + 8 for
   a float, small int, str/bytes (pointer; length in n32) or PERSID, + 16 for
   an object, + 8 per item for a tuple of up to CKPT__TUPLE_INLINE_MAX items
   (inline), + 32 for other containers): big graphs are dominated by node
   memory (first-touch page faults).  Only the union member of the node's kind
   may be touched, and tuples / strings only through ckpt__c_len/ckpt__c_items
   and ckpt__s_len. */
struct ckpt_value {
    uint8_t kind;
    uint8_t call;   /* ckpt_call_kind (OBJECT) */
    uint8_t flags;
    uint8_t iblen;  /* INT (small): minimal two's complement length */
    uint32_t hash;
    uint32_t id;
    uint32_t n32;   /* inline TUPLE: length; STR/BYTES/BYTEARRAY without CKPT__VF_LONG: length */
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
            size_t len; /* only with CKPT__VF_LONG (32-byte node) */
        } s;
        struct {        /* not for inline tuples (their items follow the header) */
            ckpt_value **items; /* DICT: key, value, key, value ... */
            size_t len;         /* items (DICT: pairs) */
            size_t cap;         /* allocated item slots */
            ckpt__cindex *index;
        } c;
        struct {
            const char *module, *name, *canonical;
            int32_t ext;
        } g;
        struct {                   /* OBJECT without CKPT__VF_EXT */
            ckpt_value *callable, *args;
        } o;
        struct {                   /* OBJECT with CKPT__VF_EXT (made when a state, kwargs, */
            ckpt__objx *x;         /* list, dict or target is first set); args stay in u.o.args */
            ckpt_value *args_;
        } ox;
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
    uint64_t chunk_nodes;   /* nnodes when the chunks were last trimmed (chunk sizes grow from there) */
    struct ckpt__trimblk *trim; /* containers whose item block is big (looked at after a load) */
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
    case CKPT_K_PERSID:
    case CKPT_K_STR: /* short form (ckpt__g_str) */
    case CKPT_K_BYTES:
    case CKPT_K_BYTEARRAY: return hdr + 8;
    case CKPT_K_OBJECT: return hdr + sizeof v->u.o;
    case CKPT_K_GLOBAL: return (hdr + sizeof v->u.g + 7) & ~(size_t)7;
    case CKPT_K_BUFFER: return hdr + sizeof v->u.buf;
    default: return hdr + sizeof v->u.c;
    }
}

/* a zeroed node of the kind's size with the next id: inline bump allocation
   from the current chunk, ckpt__g_node_sized when it is used up */
CKPT__ALWAYS_INLINE ckpt_value *ckpt__g_node_n(ckpt_graph *g, ckpt_kind kind, size_t size) {
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
CKPT__ALWAYS_INLINE ckpt_value *ckpt__g_node(ckpt_graph *g, ckpt_kind kind) {
    return ckpt__g_node_n(g, kind, ckpt__node_size(kind));
}

/* Tuples of up to this many items are one node with the items inline
   (CKPT__VF_INLINE, never grown); longer ones have a separate item block. */
#define CKPT__TUPLE_INLINE_MAX 64

/* items / length of any container (inline tuples included) */
CKPT__ALWAYS_INLINE size_t ckpt__c_len(const ckpt_value *v) {
    return (v->flags & CKPT__VF_INLINE) ? v->n32 : v->u.c.len;
}
CKPT__ALWAYS_INLINE ckpt_value **ckpt__c_items(const ckpt_value *v) {
    return (v->flags & CKPT__VF_INLINE) ? (ckpt_value **)(void *)((uint8_t *)(uintptr_t)v + offsetof(ckpt_value, u))
                                        : v->u.c.items;
}
/* a tuple of n items copied from items (n <= CKPT__TUPLE_INLINE_MAX: inline) */
ckpt_value *ckpt__g_tuple(ckpt_graph *g, ckpt_value *const *items, size_t n);

/* length of a STR / BYTES / BYTEARRAY node */
CKPT__ALWAYS_INLINE size_t ckpt__s_len(const ckpt_value *v) {
    return (v->flags & CKPT__VF_LONG) ? v->u.s.len : v->n32;
}
/* STR / BYTES / BYTEARRAY node of length len pointing at p (24 bytes; 32 when
   len does not fit 32 bits) */
CKPT__ALWAYS_INLINE ckpt_value *ckpt__g_str(ckpt_graph *g, ckpt_kind kind, const uint8_t *p, size_t len) {
    const size_t hdr = offsetof(ckpt_value, u);
    int lng = (uint64_t)len > UINT32_MAX;
    ckpt_value *v = ckpt__g_node_n(g, kind, lng ? hdr + 16 : hdr + 8);
    if (!v) return NULL;
    v->u.s.p = p;
    if (lng) {
        v->flags |= CKPT__VF_LONG;
        v->u.s.len = len;
    } else {
        v->n32 = (uint32_t)len;
    }
    return v;
}
/* the object's extension (made on first need); NULL when out of memory */
ckpt__objx *ckpt__objx_get(ckpt_graph *g, ckpt_value *obj);
/* an object's extension or NULL, and its callable */
CKPT__ALWAYS_INLINE ckpt__objx *ckpt__objx_of(const ckpt_value *obj) {
    return (obj->flags & CKPT__VF_EXT) ? obj->u.ox.x : NULL;
}
CKPT__ALWAYS_INLINE ckpt_value *ckpt__obj_callable(const ckpt_value *obj) {
    return (obj->flags & CKPT__VF_EXT) ? obj->u.ox.x->callable : obj->u.o.callable;
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

/* a block of the list of containers to look at after a load (arena memory:
   a heap block here would sit above a growing item block and keep the
   allocator from growing it in place) */
#define CKPT__TRIMBLK_N 30
typedef struct ckpt__trimblk {
    struct ckpt__trimblk *next;
    size_t n;
    ckpt_value *c[CKPT__TRIMBLK_N];
} ckpt__trimblk;

/* After a load: big containers' item blocks cut to their length, and the
   unused whole pages of the current mmap'd node chunk unmapped (later nodes
   start new chunks, small again).  Best effort: nothing fails. */
void ckpt__g_trim(ckpt_graph *g);

/* containers; CKPT_E_NOMEM / CKPT_E_LIMIT on failure */
ckpt_status ckpt__c_append(ckpt_graph *g, ckpt_value *c, ckpt_value *item);
ckpt_status ckpt__c_reserve(ckpt_graph *g, ckpt_value *c, size_t extra);
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
