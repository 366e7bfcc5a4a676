/*
 * test_pickle_layout.c - the compact node layouts of the pickle graph
 * (loader/pickle_internal.h) behave like the plain ones, and a big graph
 * takes the memory they promise.
 *
 * The pickles are assembled here opcode by opcode (the opcode bytes are those
 * of CPython's Lib/pickle.py; the shapes pickle, written to the file named by
 * $CKPT_LAYOUT_DUMP, disassembles cleanly with /usr/bin/python3's
 * pickletools.dis, which checks its stack and MARK use).  What each builds is
 * the pickle semantics ckpt documents (ckpt_pickle.h): calls and BUILD are
 * recorded, not run, so APPEND/SETITEM on an object and BUILD on a list are
 * inert records (Python would call methods that the made-up classes m.* lack).
 * Every check except the memory bound and the ignored payload on an object
 * without state also passes with the layout before this file:
 *   - tuples made by EMPTY_TUPLE, TUPLE1-3, TUPLE with 6, 64 (the largest
 *     inline tuple) and 65 items (a separate item block), as object args,
 *     dict keys (hash + equality) and frozenset items;
 *   - objects by REDUCE, NEWOBJ, NEWOBJ_EX (kwargs), OBJ, INST, with and
 *     without BUILD states, APPEND/SETITEM on an object, BUILD on a list
 *     (build target);
 *   - str/bytes of 0, 3 and 300 bytes (length in the node header), and one
 *     BINBYTES8 of 2^32 + 5 bytes borrowed from a sparse anonymous mapping
 *     (the length no longer fits the header: the long form);
 *   - a torch 1.13 style state_dict of 20 000 entries (protocol 2, the opcodes
 *     torch.save writes: a persistent-id 5-tuple, size/stride 1-tuples, an
 *     OrderedDict() REDUCE and a _rebuild_tensor_v2 REDUCE of a 6-tuple per
 *     entry): 9 nodes per entry and graph memory below 360 bytes per entry.
 *     The layout before this file (56-byte 1-tuples, 96-byte 6-tuples,
 *     80-byte objects, 32-byte strings, an index at load factor 1/2) took
 *     544 bytes of nodes per entry plus 16 of dict items and 26 of index.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ckpt/ckpt_pickle.h"
#include "util_test.h"

typedef tu_buf buf;
static void put(buf *b, const void *src, size_t n) { tu_buf_put(b, src, n); }
static void op(buf *b, uint8_t o) { put(b, &o, 1); }
static void u32(buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void int1(buf *b, uint8_t v) { /* BININT1 */
    op(b, 'K');
    op(b, v);
}
static void ustr(buf *b, const char *s, size_t n) { /* SHORT_BINUNICODE / BINUNICODE */
    if (n < 256) {
        op(b, 0x8c);
        op(b, (uint8_t)n);
    } else {
        op(b, 'X');
        u32(b, (uint32_t)n);
    }
    put(b, s, n);
}
static void ustrz(buf *b, const char *s) { ustr(b, s, strlen(s)); }
static void global(buf *b, const char *mod, const char *name) { /* GLOBAL */
    op(b, 'c');
    put(b, mod, strlen(mod));
    op(b, '\n');
    put(b, name, strlen(name));
    op(b, '\n');
}
static void lput(buf *b, uint32_t k) { op(b, 'r'); u32(b, k); } /* LONG_BINPUT */
static void lget(buf *b, uint32_t k) { op(b, 'j'); u32(b, k); } /* LONG_BINGET */

static int is_int(const ckpt_value *v, int64_t want) {
    int64_t x;
    return ckpt_value_kind(v) == CKPT_K_INT && ckpt_value_int64(v, &x) == CKPT_OK && x == want;
}
/* a tuple of the ints first, first+1, ... (n of them) */
static int is_int_tuple(const ckpt_value *t, size_t n, int64_t first) {
    if (ckpt_value_kind(t) != CKPT_K_TUPLE || ckpt_value_len(t) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_int(ckpt_value_item(t, i), first + (int64_t)i)) return 0;
    return ckpt_value_item(t, n) == NULL;
}

static ckpt_graph *load(const buf *b, unsigned flags, const ckpt_limits *lim, ckpt_value **root) {
    ckpt_graph *g = NULL;
    ckpt_error err;
    memset(&err, 0, sizeof err);
    CHECK_STATUS(ckpt_graph_new(lim, NULL, flags, &g), CKPT_OK);
    if (!g) return NULL;
    ckpt_status st = ckpt_pickle_load(g, b->p, b->n, 0, NULL, root, NULL, &err);
    CHECKF(st == CKPT_OK, "load: %s", err.message);
    if (st != CKPT_OK) {
        ckpt_graph_free(g);
        return NULL;
    }
    return g;
}

/* ------------------------------------------------------------------ shapes */

enum {
    C_EMPTY, C_T1, C_T2, C_T3, C_T6, C_T64, C_T65, C_REDUCE, C_BUILT, C_NEWOBJ_EX, C_OBJ, C_INST,
    C_NEWOBJ_ITEMS, C_BUILD_LIST, C_STR0, C_STR3, C_STR300, C_BYTES3, C_DICT, C_FROZENSET, C__N
};

static void check_shapes(void) {
    buf b = {0};
    char s300[300];
    for (int i = 0; i < 300; i++) s300[i] = (char)('a' + i % 26);
    op(&b, 0x80); op(&b, 4);       /* PROTO 4 */
    op(&b, ']');                   /* root list */
    op(&b, '(');                   /* MARK for APPENDS */
    op(&b, ')');                                              /* C_EMPTY */
    int1(&b, 1); op(&b, 0x85);                                /* C_T1 */
    int1(&b, 1); int1(&b, 2); op(&b, 0x86);                   /* C_T2 */
    int1(&b, 1); int1(&b, 2); int1(&b, 3); op(&b, 0x87);      /* C_T3 */
    op(&b, '('); for (int i = 1; i <= 6; i++) int1(&b, (uint8_t)i); op(&b, 't');   /* C_T6 */
    op(&b, '('); for (int i = 0; i < 64; i++) int1(&b, (uint8_t)i); op(&b, 't');   /* C_T64 */
    op(&b, '('); for (int i = 0; i < 65; i++) int1(&b, (uint8_t)i); op(&b, 't');   /* C_T65 */
    /* C_REDUCE: m.f(1,) */
    global(&b, "m", "f"); int1(&b, 1); op(&b, 0x85); op(&b, 'R');
    /* C_BUILT: m.C() with BUILD {'a': 1} then BUILD 2 */
    global(&b, "m", "C"); op(&b, ')'); op(&b, 'R');
    op(&b, '}'); ustrz(&b, "a"); int1(&b, 1); op(&b, 's'); op(&b, 'b');
    int1(&b, 2); op(&b, 'b');
    /* C_NEWOBJ_EX: cls, (7,), {'k': 8} */
    global(&b, "m", "K"); int1(&b, 7); op(&b, 0x85); op(&b, '}'); ustrz(&b, "k"); int1(&b, 8);
    op(&b, 's'); op(&b, 0x92);
    /* C_OBJ: MARK cls 1 2 OBJ */
    op(&b, '('); global(&b, "m", "O"); int1(&b, 1); int1(&b, 2); op(&b, 'o');
    /* C_INST: MARK 3 4 5 INST m I */
    op(&b, '('); int1(&b, 3); int1(&b, 4); int1(&b, 5); op(&b, 'i');
    put(&b, "m\nI\n", 4);
    /* C_NEWOBJ_ITEMS: NEWOBJ cls () then APPEND 5, APPENDS 6 7, SETITEM 'x' 9 */
    global(&b, "m", "L"); op(&b, ')'); op(&b, 0x81);
    int1(&b, 5); op(&b, 'a');
    op(&b, '('); int1(&b, 6); int1(&b, 7); op(&b, 'e');
    ustrz(&b, "x"); int1(&b, 9); op(&b, 's');
    /* C_BUILD_LIST: [10] BUILD {'s': 11} */
    op(&b, ']'); int1(&b, 10); op(&b, 'a');
    op(&b, '}'); ustrz(&b, "s"); int1(&b, 11); op(&b, 's'); op(&b, 'b');
    ustr(&b, "", 0);                                          /* C_STR0 */
    ustrz(&b, "abc");                                         /* C_STR3 */
    ustr(&b, s300, sizeof s300);                              /* C_STR300 */
    op(&b, 'C'); op(&b, 3); put(&b, "\x00\xff\x01", 3);       /* C_BYTES3 */
    /* C_DICT: {(1,2): 'a', (1,2): 'b', (1,(2,3)): 'c'} -> 2 keys, (1,2) -> 'b' */
    op(&b, '(');
    int1(&b, 1); int1(&b, 2); op(&b, 0x86); ustrz(&b, "a");
    int1(&b, 1); int1(&b, 2); op(&b, 0x86); ustrz(&b, "b");
    int1(&b, 1); int1(&b, 2); int1(&b, 3); op(&b, 0x86); op(&b, 0x86); ustrz(&b, "c");
    op(&b, 'd');
    /* C_FROZENSET: frozenset({(1,2), (1,2), (3,)}) -> 2 items */
    op(&b, '(');
    int1(&b, 1); int1(&b, 2); op(&b, 0x86);
    int1(&b, 1); int1(&b, 2); op(&b, 0x86);
    int1(&b, 3); op(&b, 0x85);
    op(&b, 0x91);
    op(&b, 'e'); /* APPENDS */
    op(&b, '.');
    const char *dump = getenv("CKPT_LAYOUT_DUMP"); /* the bytes, for pickletools */
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(b.p, 1, b.n, f);
            fclose(f);
        }
    }

    for (unsigned flags = 0; flags <= CKPT_GRAPH_BORROW_INPUT; flags++) {
        ckpt_value *root = NULL;
        ckpt_graph *g = load(&b, flags, NULL, &root);
        if (!g) continue;
        CHECK_EQ_INT(ckpt_value_len(root), C__N);
        ckpt_value *c[C__N];
        for (int i = 0; i < C__N; i++) c[i] = ckpt_value_item(root, (size_t)i);

        CHECK(is_int_tuple(c[C_EMPTY], 0, 0));
        CHECK(is_int_tuple(c[C_T1], 1, 1));
        CHECK(is_int_tuple(c[C_T2], 2, 1));
        CHECK(is_int_tuple(c[C_T3], 3, 1));
        CHECK(is_int_tuple(c[C_T6], 6, 1));
        CHECK(is_int_tuple(c[C_T64], 64, 0));
        CHECK(is_int_tuple(c[C_T65], 65, 0));
        CHECK(ckpt_value_dict_key(c[C_T6], 0) == NULL); /* not a dict */

        ckpt_value *o = c[C_REDUCE];
        CHECK_EQ_INT(ckpt_value_kind(o), CKPT_K_OBJECT);
        CHECK_EQ_INT(ckpt_value_call_kind(o), CKPT_CALL_REDUCE);
        CHECK(ckpt_value_class(o) && strcmp(ckpt_value_class(o), "m.f") == 0);
        CHECK(is_int_tuple(ckpt_value_args(o), 1, 1));
        CHECK(ckpt_value_state(o) == NULL && ckpt_value_state_count(o) == 0);
        CHECK(ckpt_value_kwargs(o) == NULL && ckpt_value_obj_list(o) == NULL &&
              ckpt_value_obj_dict(o) == NULL && ckpt_value_build_target(o) == NULL);
        CHECK(!ckpt_value_payload(o, NULL, NULL));
        ckpt_value_set_payload(o, 1, 2); /* no BUILD state (no extension): ignored, as documented */
        CHECK(!ckpt_value_payload(o, NULL, NULL));
        CHECK(ckpt_value_attr(o, "a") == NULL);

        o = c[C_BUILT];
        CHECK(ckpt_value_class(o) && strcmp(ckpt_value_class(o), "m.C") == 0);
        CHECK(ckpt_value_name(ckpt_value_callable(o)) && strcmp(ckpt_value_name(ckpt_value_callable(o)), "C") == 0);
        CHECK(is_int_tuple(ckpt_value_args(o), 0, 0));
        CHECK_EQ_INT(ckpt_value_state_count(o), 2);
        CHECK(is_int(ckpt_value_state(o), 2));
        CHECK_EQ_INT(ckpt_value_kind(ckpt_value_state_at(o, 0)), CKPT_K_DICT);
        CHECK(is_int(ckpt_value_attr(o, "a"), 1));
        CHECK(ckpt_value_kwargs(o) == NULL && ckpt_value_build_target(o) == NULL);
        /* a payload can be attached to an object that has state */
        ckpt_value_set_payload(o, 123, 45);
        uint64_t po = 0, pl = 0;
        CHECK(ckpt_value_payload(o, &po, &pl) && po == 123 && pl == 45);

        o = c[C_NEWOBJ_EX];
        CHECK_EQ_INT(ckpt_value_call_kind(o), CKPT_CALL_NEWOBJ_EX);
        CHECK(is_int_tuple(ckpt_value_args(o), 1, 7));
        CHECK(is_int(ckpt_dict_get(ckpt_value_kwargs(o), "k"), 8));
        CHECK(ckpt_value_class(o) && strcmp(ckpt_value_class(o), "m.K") == 0);
        CHECK(ckpt_value_state_count(o) == 0 && ckpt_value_obj_list(o) == NULL);

        o = c[C_OBJ];
        CHECK_EQ_INT(ckpt_value_call_kind(o), CKPT_CALL_OBJ);
        CHECK(ckpt_value_class(o) && strcmp(ckpt_value_class(o), "m.O") == 0);
        CHECK(is_int_tuple(ckpt_value_args(o), 2, 1));

        o = c[C_INST];
        CHECK_EQ_INT(ckpt_value_call_kind(o), CKPT_CALL_INST);
        CHECK(ckpt_value_class(o) && strcmp(ckpt_value_class(o), "m.I") == 0);
        CHECK(is_int_tuple(ckpt_value_args(o), 3, 3));
        CHECK(ckpt_value_id(ckpt_value_args(o)) > ckpt_value_id(o)); /* made after the object */

        o = c[C_NEWOBJ_ITEMS];
        CHECK_EQ_INT(ckpt_value_call_kind(o), CKPT_CALL_NEWOBJ);
        ckpt_value *l = ckpt_value_obj_list(o);
        CHECK(ckpt_value_len(l) == 3 && is_int(ckpt_value_item(l, 0), 5) &&
              is_int(ckpt_value_item(l, 1), 6) && is_int(ckpt_value_item(l, 2), 7));
        CHECK(is_int(ckpt_dict_get(ckpt_value_obj_dict(o), "x"), 9));
        CHECK(ckpt_value_class(o) && strcmp(ckpt_value_class(o), "m.L") == 0);
        CHECK(ckpt_value_state_count(o) == 0);

        o = c[C_BUILD_LIST];
        CHECK_EQ_INT(ckpt_value_call_kind(o), CKPT_CALL_BUILD_ONLY);
        ckpt_value *t = ckpt_value_build_target(o);
        CHECK(ckpt_value_kind(t) == CKPT_K_LIST && ckpt_value_len(t) == 1 && is_int(ckpt_value_item(t, 0), 10));
        CHECK(is_int(ckpt_value_attr(o, "s"), 11));
        CHECK(ckpt_value_callable(o) == NULL && ckpt_value_args(o) == NULL);

        size_t n = 99;
        const uint8_t *p = ckpt_value_bytes(c[C_STR0], &n);
        CHECK(p && n == 0 && ckpt_value_len(c[C_STR0]) == 0 && ckpt_value_is_str(c[C_STR0], ""));
        CHECK(ckpt_value_is_str(c[C_STR3], "abc") && ckpt_value_len(c[C_STR3]) == 3);
        p = ckpt_value_bytes(c[C_STR300], &n);
        CHECK(p && n == 300 && memcmp(p, s300, 300) == 0 && ckpt_value_len(c[C_STR300]) == 300);
        p = ckpt_value_bytes(c[C_BYTES3], &n);
        CHECK(ckpt_value_kind(c[C_BYTES3]) == CKPT_K_BYTES && p && n == 3 && memcmp(p, "\x00\xff\x01", 3) == 0);

        ckpt_value *d = c[C_DICT];
        CHECK_EQ_INT(ckpt_value_len(d), 2);
        CHECK(is_int_tuple(ckpt_value_dict_key(d, 0), 2, 1) &&
              ckpt_value_is_str(ckpt_value_dict_val(d, 0), "b"));
        ckpt_value *k1 = ckpt_value_dict_key(d, 1);
        CHECK(ckpt_value_len(k1) == 2 && is_int(ckpt_value_item(k1, 0), 1) &&
              is_int_tuple(ckpt_value_item(k1, 1), 2, 2) && ckpt_value_is_str(ckpt_value_dict_val(d, 1), "c"));

        ckpt_value *fs = c[C_FROZENSET];
        CHECK(ckpt_value_kind(fs) == CKPT_K_FROZENSET && ckpt_value_len(fs) == 2);
        CHECK(is_int_tuple(ckpt_value_item(fs, 0), 2, 1) && is_int_tuple(ckpt_value_item(fs, 1), 1, 3));
        ckpt_graph_free(g);
    }
    free(b.p);
}

/* BINBYTES8 of 2^32 + 5 bytes, borrowed from a sparse mapping (zero pages) */
static void check_long_bytes(void) {
    const uint64_t n = ((uint64_t)1 << 32) + 5;
    const size_t total = 2 + 1 + 8 + (size_t)n + 1;
    uint8_t *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECKF(m != MAP_FAILED, "mmap of %zu bytes (sparse) failed", total);
    if (m == MAP_FAILED) return;
    m[0] = 0x80;
    m[1] = 4;
    m[2] = 0x8e; /* BINBYTES8 */
    for (int k = 0; k < 8; k++) m[3 + k] = (uint8_t)(n >> (8 * k));
    m[11 + 3] = 7;         /* a byte of the payload */
    m[11 + n - 1] = 9;     /* its last byte */
    m[total - 1] = '.';
    ckpt_limits lim = ckpt_limits_default();
    lim.max_string = n;
    ckpt_graph *g = NULL;
    CHECK_STATUS(ckpt_graph_new(&lim, NULL, CKPT_GRAPH_BORROW_INPUT, &g), CKPT_OK);
    ckpt_value *root = NULL;
    ckpt_error err;
    memset(&err, 0, sizeof err);
    ckpt_status st = g ? ckpt_pickle_load(g, m, total, 0, NULL, &root, NULL, &err) : CKPT_E_NOMEM;
    CHECKF(st == CKPT_OK, "load of a %llu-byte BINBYTES8: %s", (unsigned long long)n, err.message);
    size_t len = 0;
    const uint8_t *p = ckpt_value_bytes(root, &len);
    CHECK(ckpt_value_kind(root) == CKPT_K_BYTES);
    CHECK((uint64_t)len == n && (uint64_t)ckpt_value_len(root) == n);
    CHECK(p == m + 11 && p && p[3] == 7 && p[n - 1] == 9);
    ckpt_graph_free(g);
    munmap(m, total);
}

/* ------------------------------------------------------------------ a torch-style state_dict */

#define SD_N 20000
#define SD_BYTES_PER_ENTRY 360 /* the layout: 304 of nodes + 16 of dict items + <= 16 of index */

static void check_state_dict(void) {
    buf b = {0};
    uint32_t memo = 0;
    char key[64];
    op(&b, 0x80); op(&b, 2);                                   /* PROTO 2 */
    global(&b, "collections", "OrderedDict"); const uint32_t m_od = memo; lput(&b, memo++);
    op(&b, ')'); op(&b, 'R'); lput(&b, memo++);                /* the state_dict */
    op(&b, '(');
    uint32_t m_rebuild = 0, m_storage = 0, m_float = 0, m_cpu = 0;
    for (int i = 0; i < SD_N; i++) {
        if (i && i % 1000 == 0) { op(&b, 'u'); op(&b, '('); } /* SETITEMS batches of 1000 */
        snprintf(key, sizeof key, "layer%d.weight", i);
        ustrz(&b, key); lput(&b, memo++);
        if (i == 0) { global(&b, "torch._utils", "_rebuild_tensor_v2"); m_rebuild = memo; lput(&b, memo++); }
        else lget(&b, m_rebuild);
        op(&b, '(');                                           /* the args */
        op(&b, '(');
        /* persistent id ('storage', torch.FloatStorage, '<i>', 'cpu', 4) */
        if (i == 0) { ustrz(&b, "storage"); m_storage = memo; lput(&b, memo++); }
        else lget(&b, m_storage);
        if (i == 0) { global(&b, "torch", "FloatStorage"); m_float = memo; lput(&b, memo++); }
        else lget(&b, m_float);
        snprintf(key, sizeof key, "%d", i);
        ustrz(&b, key); lput(&b, memo++);
        if (i == 0) { ustrz(&b, "cpu"); m_cpu = memo; lput(&b, memo++); }
        else lget(&b, m_cpu);
        int1(&b, 4);
        op(&b, 't'); lput(&b, memo++); op(&b, 'Q');            /* TUPLE, BINPERSID */
        int1(&b, 0);                                           /* storage offset */
        int1(&b, 4); op(&b, 0x85); lput(&b, memo++);           /* size */
        int1(&b, 1); op(&b, 0x85); lput(&b, memo++);           /* stride */
        op(&b, 0x89);                                          /* requires_grad False */
        lget(&b, m_od); op(&b, ')'); op(&b, 'R'); lput(&b, memo++); /* backward hooks */
        op(&b, 't'); lput(&b, memo++); op(&b, 'R'); lput(&b, memo++);
    }
    op(&b, 'u');
    op(&b, '.');

    ckpt_value *root = NULL;
    ckpt_graph *g = load(&b, CKPT_GRAPH_BORROW_INPUT, NULL, &root);
    if (g) {
        ckpt_value *d = ckpt_value_obj_dict(root);
        CHECK_EQ_INT(ckpt_value_len(d), SD_N);
        /* 9 nodes per entry; the rest: None/True/False/(), the small ints, globals, ... */
        uint64_t nodes = ckpt_graph_node_count(g);
        CHECKF(nodes >= 9u * SD_N && nodes < 9u * SD_N + 300, "node count %llu", (unsigned long long)nodes);
        ckpt_value *t = ckpt_dict_get(d, "layer12345.weight");
        CHECK(ckpt_value_class(t) && strcmp(ckpt_value_class(t), "torch._utils._rebuild_tensor_v2") == 0);
        ckpt_value *a = ckpt_value_args(t);
        CHECK_EQ_INT(ckpt_value_len(a), 6);
        ckpt_value *pid = ckpt_value_persid(ckpt_value_item(a, 0));
        CHECK(ckpt_value_len(pid) == 5 && ckpt_value_is_str(ckpt_value_item(pid, 2), "12345") &&
              ckpt_value_is_str(ckpt_value_item(pid, 0), "storage"));
        CHECK(is_int_tuple(ckpt_value_item(a, 2), 1, 4) && is_int_tuple(ckpt_value_item(a, 3), 1, 1));
        CHECK(ckpt_value_kind(ckpt_value_item(a, 4)) == CKPT_K_BOOL && !ckpt_value_bool(ckpt_value_item(a, 4)));
        CHECK(ckpt_value_call_kind(ckpt_value_item(a, 5)) == CKPT_CALL_REDUCE &&
              ckpt_value_state_count(ckpt_value_item(a, 5)) == 0);
        CHECK(ckpt_dict_get(d, "layer20000.weight") == NULL);
        uint64_t mem = ckpt_graph_memory(g);
        CHECKF(mem < (uint64_t)SD_BYTES_PER_ENTRY * SD_N, "graph memory %llu bytes for %d entries (%.1f per entry, bound %d)",
               (unsigned long long)mem, SD_N, (double)mem / SD_N, SD_BYTES_PER_ENTRY);
        printf("state_dict of %d entries: %llu nodes, graph memory %llu bytes (%.1f per entry)\n", SD_N,
               (unsigned long long)nodes, (unsigned long long)mem, (double)mem / SD_N);
        ckpt_graph_free(g);
    }
    /* the same under a memory limit just below what it needs: refused cleanly */
    ckpt_limits lim = ckpt_limits_default();
    lim.max_memory = 2u << 20;
    ckpt_graph *g2 = NULL;
    CHECK_STATUS(ckpt_graph_new(&lim, NULL, CKPT_GRAPH_BORROW_INPUT, &g2), CKPT_OK);
    if (g2) {
        ckpt_error err;
        memset(&err, 0, sizeof err);
        ckpt_status st = ckpt_pickle_load(g2, b.p, b.n, 0, NULL, &root, NULL, &err);
        CHECKF(st == CKPT_E_LIMIT, "2 MB limit: status %d (%s)", (int)st, err.message);
        CHECK(ckpt_graph_memory(g2) <= lim.max_memory);
        ckpt_graph_free(g2);
    }
    free(b.p);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    check_shapes();
    check_long_bytes();
    check_state_dict();
    return tu_finish();
}
