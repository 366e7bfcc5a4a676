/*
 * test_pickle_malformed.c - hand-written hostile pickles, one per failure class.
 *
 * Each failing case asserts the exact status, err.status, err.offset (the offset of
 * the opcode at fault) and that err.message names the opcode and that offset (the
 * decimal offset appears as a number of its own).  Each input is copied into a buffer
 * of exactly its length (ASan sees any over-read); every graph is freed.
 *
 * Statuses chosen where CPython only says "UnpicklingError":
 *   stack underflow / wrong kind of value on the stack  -> CKPT_E_STACK
 *   (incl. STOP with only an open MARK: CPython "unpickling stack underflow")
 *   MARK needed but absent                              -> CKPT_E_MARK
 *   memo key absent                                     -> CKPT_E_MEMO
 *   memo index >= limits.max_memo, and every other limit -> CKPT_E_LIMIT
 *   length past the end of the input (FRAME, BINUNICODE, ...) -> CKPT_E_TRUNCATED
 *   negative length, invalid UTF-8, bad text numbers    -> CKPT_E_FORMAT
 *   PROTO > 5                                            -> CKPT_E_UNSUPPORTED
 *   byte that is no opcode                              -> CKPT_E_OPCODE
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_pickle.h"
#include "util_test.h"

#define S(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

typedef struct run {
    ckpt_graph *g;
    ckpt_value *root;
    ckpt_pickle_info info;
    ckpt_error err;
    ckpt_status st;
    uint8_t *copy;
} run;

/* Load `len` bytes (copied to an exact-size buffer) with optional limits/hooks. */
static void run_load(run *r, const uint8_t *bytes, size_t len, const ckpt_limits *lim,
                     unsigned flags, const ckpt_pickle_hooks *hooks) {
    memset(r, 0, sizeof *r);
    r->copy = malloc(len ? len : 1);
    if (!r->copy) {
        r->st = CKPT_E_NOMEM;
        return;
    }
    memcpy(r->copy, bytes, len);
    ckpt_error_clear(&r->err);
    r->st = ckpt_graph_new(lim, NULL, flags, &r->g);
    if (r->st != CKPT_OK) return;
    r->st = ckpt_pickle_load(r->g, r->copy, len, 0, hooks, &r->root, &r->info, &r->err);
}

static void run_done(run *r) {
    ckpt_graph_free(r->g);
    free(r->copy);
    memset(r, 0, sizeof *r);
}

/* 1 when `msg` contains the decimal `off` not adjacent to other digits. */
static int has_number(const char *msg, long long off) {
    char num[32];
    snprintf(num, sizeof num, "%lld", off);
    size_t nl = strlen(num);
    for (const char *p = strstr(msg, num); p; p = strstr(p + 1, num)) {
        int before = p > msg && p[-1] >= '0' && p[-1] <= '9';
        int after = p[nl] >= '0' && p[nl] <= '9';
        if (!before && !after) return 1;
    }
    return 0;
}

static void check_err(const char *what, const run *r, ckpt_status want, long long off,
                      const char *opname) {
    CHECKF(r->st == want, "%s: status %d (%s), expected %d (%s); message: %s", what, (int)r->st,
           ckpt_status_str(r->st), (int)want, ckpt_status_str(want), r->err.message);
    CHECKF(r->err.status == want, "%s: err.status %d", what, (int)r->err.status);
    CHECKF(r->err.offset == off, "%s: err.offset %lld, expected %lld (%s)", what,
           (long long)r->err.offset, off, r->err.message);
    if (opname)
        CHECKF(strstr(r->err.message, opname) != NULL, "%s: message does not name %s: %s", what,
               opname, r->err.message);
    CHECKF(has_number(r->err.message, off), "%s: message does not name offset %lld: %s", what, off,
           r->err.message);
}

static void expect_fail(const char *what, const uint8_t *bytes, size_t len, const ckpt_limits *lim,
                        ckpt_status want, long long off, const char *opname) {
    run r;
    run_load(&r, bytes, len, lim, 0, NULL);
    check_err(what, &r, want, off, opname);
    run_done(&r);
}

static void expect_ok(const char *what, const uint8_t *bytes, size_t len, const ckpt_limits *lim) {
    run r;
    run_load(&r, bytes, len, lim, 0, NULL);
    CHECKF(r.st == CKPT_OK && r.root != NULL && r.info.end == len, "%s: status %d: %s", what,
           (int)r.st, r.err.message);
    run_done(&r);
}

/* ---- growable byte buffer for generated pickles ---- */
typedef tu_buf bbuf;
static void bput(bbuf *b, const void *src, size_t n) { tu_buf_put(b, src, n); }
/* NUL-free literals only (bytes with \x00 go through bput with a length) */
static void bputs(bbuf *b, const char *s) { bput(b, s, strlen(s)); }
static void brep(bbuf *b, const void *src, size_t n, size_t times) {
    for (size_t i = 0; i < times; i++) bput(b, src, n);
}

/* ---- on_global recorder ---- */
typedef struct globrec {
    int calls;
    int null_names;
    uint8_t opcode;
    uint64_t offset;
} globrec;
static void on_global(void *user, const char *module, const char *name, uint8_t opcode,
                      uint64_t offset) {
    globrec *g = user;
    g->calls++;
    if (!module || !name) g->null_names++;
    g->opcode = opcode;
    g->offset = offset;
}

static void test_structure(void) {
    /* unknown opcode: 0xff and 'z' are not pickle opcodes */
    expect_fail("unknown opcode 0xff", S("\x80\x02\xff."), NULL, CKPT_E_OPCODE, 2, NULL);
    expect_fail("unknown opcode z", S("\x80\x02Nz."), NULL, CKPT_E_OPCODE, 3, NULL);
    {
        run r;
        run_load(&r, S("\x80\x02\xff."), NULL, 0, NULL);
        CHECKF(strstr(r.err.message, "0xff") || strstr(r.err.message, "0xFF") ||
                   strstr(r.err.message, "255"),
               "unknown opcode message names the byte: %s", r.err.message);
        run_done(&r);
    }
    /* stack underflow */
    expect_fail("POP on empty stack", S("\x80\x02" "0."), NULL, CKPT_E_STACK, 2, "POP");
    expect_fail("DUP on empty stack", S("\x80\x02" "2."), NULL, CKPT_E_STACK, 2, "DUP");
    expect_fail("BUILD with one item", S("\x80\x02" "Nb."), NULL, CKPT_E_STACK, 3, "BUILD");
    expect_fail("MEMOIZE on empty stack", S("\x80\x04\x94."), NULL, CKPT_E_STACK, 2, "MEMOIZE");
    expect_fail("BINPUT on empty stack", S("\x80\x02q\x00."), NULL, CKPT_E_STACK, 2, "BINPUT");
    expect_fail("STOP on empty stack", S("\x80\x02."), NULL, CKPT_E_STACK, 2, "STOP");
    expect_fail("REDUCE with one item", S("\x80\x02)R."), NULL, CKPT_E_STACK, 3, "REDUCE");
    expect_fail("TUPLE2 with one item", S("\x80\x02N\x86."), NULL, CKPT_E_STACK, 3, "TUPLE2");
    /* POP right after MARK discards the MARK (CPython's load_pop), a second POP then
       takes the None, and STOP finds the stack empty */
    {
        run r;
        run_load(&r, S("\x80\x02N(0."), NULL, 0, NULL);
        CHECKF(r.st == CKPT_OK && ckpt_value_kind(r.root) == CKPT_K_NONE,
               "POP after MARK pops the MARK: status %d: %s", (int)r.st, r.err.message);
        run_done(&r);
    }
    expect_fail("POP after MARK, POP, STOP", S("\x80\x02N(00."), NULL, CKPT_E_STACK, 6, "STOP");
    /* wrong kind of value */
    expect_fail("APPEND to int", S("\x80\x02K\x01K\x02" "a."), NULL, CKPT_E_STACK, 6, "APPEND");
    expect_fail("APPEND to tuple", S("\x80\x02)K\x02" "a."), NULL, CKPT_E_STACK, 5, "APPEND");
    expect_fail("SETITEM on list", S("\x80\x02]K\x01K\x02s."), NULL, CKPT_E_STACK, 7, "SETITEM");
    expect_fail("SETITEMS on int", S("\x80\x02K\x01(K\x01K\x02u."), NULL, CKPT_E_STACK, 9,
                "SETITEMS");
    expect_fail("ADDITEMS on list", S("\x80\x04](K\x01\x90."), NULL, CKPT_E_STACK, 6, "ADDITEMS");
    expect_fail("SETITEMS odd count", S("\x80\x02}(K\x01u."), NULL, CKPT_E_STACK, 6, "SETITEMS");
    /* MARK missing */
    expect_fail("APPENDS without MARK", S("\x80\x02]K\x01" "e."), NULL, CKPT_E_MARK, 5, "APPENDS");
    expect_fail("TUPLE without MARK", S("\x80\x02K\x01t."), NULL, CKPT_E_MARK, 4, "TUPLE");
    expect_fail("POP_MARK without MARK", S("\x80\x02N1."), NULL, CKPT_E_MARK, 3, "POP_MARK");
    expect_fail("DICT without MARK", S("\x80\x02K\x01K\x02" "d."), NULL, CKPT_E_MARK, 6, "DICT");
    /* MARK never closed at STOP: with nothing above the mark it is an underflow; with a
       value above it CPython returns that value (fixture hand_stop_leftover) */
    expect_fail("STOP with only an open MARK", S("\x80\x02(."), NULL, CKPT_E_STACK, 3, "STOP");
    {
        run r;
        run_load(&r, S("\x80\x02(K\x07."), NULL, 0, NULL);
        int64_t v = 0;
        CHECKF(r.st == CKPT_OK && ckpt_value_int64(r.root, &v) == CKPT_OK && v == 7,
               "value above an open MARK at STOP: status %d: %s", (int)r.st, r.err.message);
        run_done(&r);
    }
    /* memo */
    expect_fail("BINGET missing key", S("\x80\x02h\x05."), NULL, CKPT_E_MEMO, 2, "BINGET");
    expect_fail("LONG_BINGET missing key", S("\x80\x02Nq\x01j\x00\x00\x01\x00."), NULL,
                CKPT_E_MEMO, 5, "LONG_BINGET");
    expect_fail("GET missing key", S("(lp0\ng1\n."), NULL, CKPT_E_MEMO, 5, "GET");
    expect_fail("GET negative key", S("(lp0\ng-1\n."), NULL, CKPT_E_MEMO, 5, "GET");
    {
        /* huge LONG_BINPUT index: a limit, and no memo table of that size is made */
        run r;
        run_load(&r, S("\x80\x02Nr\xff\xff\xff\x7f."), NULL, 0, NULL);
        check_err("LONG_BINPUT 2^31-1", &r, CKPT_E_LIMIT, 3, "LONG_BINPUT");
        CHECKF(ckpt_graph_memory(r.g) < (1u << 20), "graph memory %llu after huge LONG_BINPUT",
               (unsigned long long)ckpt_graph_memory(r.g));
        run_done(&r);
        ckpt_limits lim = ckpt_limits_default();
        lim.max_memo = 100;
        expect_fail("BINPUT 100 with max_memo 100", S("\x80\x02Nqd."), &lim, CKPT_E_LIMIT, 3,
                    "BINPUT");
        expect_ok("BINPUT 99 with max_memo 100", S("\x80\x02Nqc."), &lim);
        expect_fail("PUT 100 text with max_memo 100", S("Np100\n."), &lim, CKPT_E_LIMIT, 1, "PUT");
    }
}

static void test_lengths(void) {
    expect_fail("BINUNICODE past end", S("\x80\x02X\x10\x00\x00\x00" "abc"), NULL,
                CKPT_E_TRUNCATED, 2, "BINUNICODE");
    expect_fail("BINUNICODE 4G-1 length", S("\x80\x02X\xff\xff\xff\xff" "abc."), NULL,
                CKPT_E_TRUNCATED, 2, "BINUNICODE");
    expect_fail("SHORT_BINBYTES past end", S("\x80\x03" "C\x05" "ab"), NULL, CKPT_E_TRUNCATED, 2,
                "SHORT_BINBYTES");
    expect_fail("BINBYTES8 2^31 length", S("\x80\x04\x8e\x00\x00\x00\x80\x00\x00\x00\x00" "ab."),
                NULL, CKPT_E_TRUNCATED, 2, "BINBYTES8");
    expect_fail("LONG1 past end", S("\x80\x02\x8a\x09\x01\x02"), NULL, CKPT_E_TRUNCATED, 2,
                "LONG1");
    expect_fail("FRAME past end", S("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N."), NULL,
                CKPT_E_TRUNCATED, 2, "FRAME");
    expect_fail("FRAME 2^63 length",
                S("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x80N."), NULL, CKPT_E_TRUNCATED, 2,
                "FRAME");
    /* negative lengths */
    expect_fail("LONG4 negative length", S("\x80\x02\x8b\xff\xff\xff\xff."), NULL, CKPT_E_FORMAT,
                2, "LONG4");
    expect_fail("BINSTRING negative length", S("T\xfe\xff\xff\xff" "ab."), NULL, CKPT_E_FORMAT, 0,
                "BINSTRING");
    /* invalid UTF-8 (CPython decodes with 'utf-8', 'surrogatepass') */
    expect_fail("BINUNICODE ff fe", S("\x80\x02X\x02\x00\x00\x00\xff\xfe."), NULL, CKPT_E_FORMAT,
                2, "BINUNICODE");
    expect_fail("SHORT_BINUNICODE overlong NUL", S("\x80\x04\x8c\x02\xc0\x80."), NULL,
                CKPT_E_FORMAT, 2, "SHORT_BINUNICODE");
    expect_fail("SHORT_BINUNICODE cut sequence", S("\x80\x04\x8c\x02\xe2\x82."), NULL,
                CKPT_E_FORMAT, 2, "SHORT_BINUNICODE");
    expect_fail("BINUNICODE above U+10FFFF", S("\x80\x02X\x04\x00\x00\x00\xf4\x90\x80\x80."), NULL,
                CKPT_E_FORMAT, 2, "BINUNICODE");
    {
        run r;
        run_load(&r, S("\x80\x04\x8c\x03\xed\xa0\x80."), NULL, 0, NULL);
        size_t n = 0;
        const uint8_t *p = ckpt_value_bytes(r.root, &n);
        CHECKF(r.st == CKPT_OK && ckpt_value_kind(r.root) == CKPT_K_STR && n == 3 && p &&
                   memcmp(p, "\xed\xa0\x80", 3) == 0,
               "lone surrogate (surrogatepass) loads as its 3 bytes: status %d: %s", (int)r.st,
               r.err.message);
        run_done(&r);
    }
    /* protocol-0 text forms that CPython rejects */
    expect_fail("INT not a number", S("Iabc\n."), NULL, CKPT_E_FORMAT, 0, "INT");
    expect_fail("FLOAT not a number", S("Fx1\n."), NULL, CKPT_E_FORMAT, 0, "FLOAT");
    expect_fail("STRING not quoted", S("Sabc\n."), NULL, CKPT_E_FORMAT, 0, "STRING");
    expect_fail("INT without newline", S("I12"), NULL, CKPT_E_TRUNCATED, 0, "INT");
    /* protocol */
    expect_fail("PROTO 6", S("\x80\x06N."), NULL, CKPT_E_UNSUPPORTED, 0, "PROTO");
    /* STACK_GLOBAL with non-str operands; on_global still sees it (NULL names) */
    {
        globrec gr = {0};
        ckpt_pickle_hooks h;
        memset(&h, 0, sizeof h);
        h.user = &gr;
        h.on_global = on_global;
        run r;
        run_load(&r, S("\x80\x04K\x01K\x02\x93."), NULL, 0, &h);
        check_err("STACK_GLOBAL ints", &r, CKPT_E_STACK, 6, "STACK_GLOBAL");
        CHECKF(gr.calls == 1 && gr.null_names == 1 && gr.opcode == 0x93 && gr.offset == 6,
               "on_global for bad STACK_GLOBAL: calls %d null %d op 0x%02x off %llu", gr.calls,
               gr.null_names, gr.opcode, (unsigned long long)gr.offset);
        run_done(&r);
        expect_fail("STACK_GLOBAL str and int", S("\x80\x04\x8c\x01" "aK\x02\x93."), NULL,
                    CKPT_E_STACK, 7, "STACK_GLOBAL");
        expect_fail("STACK_GLOBAL one item", S("\x80\x04\x8c\x01" "a\x93."), NULL, CKPT_E_STACK, 5,
                    "STACK_GLOBAL");
    }
}

static void test_limits(void) {
    bbuf b = {0};
    /* max_marks: 8 nested MARKs are fine, the 9th is not */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_marks = 8;
        bputs(&b, "\x80\x02");
        brep(&b, "(", 1, 8);
        brep(&b, "t", 1, 8);
        bputs(&b, ".");
        expect_ok("8 MARKs, max_marks 8", b.p, b.n, &lim);
        b.n = 0;
        bputs(&b, "\x80\x02");
        brep(&b, "(", 1, 9);
        brep(&b, "t", 1, 9);
        bputs(&b, ".");
        expect_fail("9 MARKs, max_marks 8", b.p, b.n, &lim, CKPT_E_LIMIT, 10, "MARK");
        /* deep nesting with the default limits: 70000 nested MARKs > 65536 */
        b.n = 0;
        bputs(&b, "\x80\x02");
        brep(&b, "(", 1, 70000);
        bputs(&b, "N.");
        expect_fail("70000 MARKs, default limits", b.p, b.n, NULL, CKPT_E_LIMIT,
                    2 + (long long)CKPT_DEFAULT_MAX_MARKS, "MARK");
    }
    /* max_stack: 16 values fit, the 17th does not */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_stack = 16;
        b.n = 0;
        bputs(&b, "\x80\x02");
        brep(&b, "N", 1, 16);
        bputs(&b, ".");
        expect_ok("16 values, max_stack 16", b.p, b.n, &lim);
        b.n = 0;
        bputs(&b, "\x80\x02");
        brep(&b, "N", 1, 17);
        bputs(&b, ".");
        expect_fail("17 values, max_stack 16", b.p, b.n, &lim, CKPT_E_LIMIT, 18, "NONE");
    }
    /* deep nesting needs neither stack nor marks when built through the memo: a chain of
       100000 lists, each appended to its parent, with max_stack 4 and max_marks 1 */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_stack = 4;
        lim.max_marks = 1;
        const uint32_t D = 100000;
        b.n = 0;
        bputs(&b, "\x80\x02]r");
        bput(&b, "\x00\x00\x00\x00", 4);
        for (uint32_t i = 1; i < D; i++) {
            uint8_t le[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
            bputs(&b, "]r");
            bput(&b, le, 4);
            bputs(&b, "a0j");
            bput(&b, le, 4);
        }
        bputs(&b, "0j");
        bput(&b, "\x00\x00\x00\x00", 4);
        bputs(&b, ".");
        run r;
        run_load(&r, b.p, b.n, &lim, 0, NULL);
        CHECKF(r.st == CKPT_OK, "memo chain of %u lists: status %d: %s", D, (int)r.st,
               r.err.message);
        uint32_t depth = 0;
        for (const ckpt_value *v = r.root; v && ckpt_value_len(v) == 1 && depth <= D;
             v = ckpt_value_item(v, 0))
            depth++;
        CHECKF(depth == D - 1, "memo chain depth %u, expected %u", depth, D - 1);
        run_done(&r);
    }
    /* max_ops: exactly max_ops opcodes are fine (the 7-op pickle below) */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_ops = 7;
        run r;
        run_load(&r, S("\x80\x02]K\x01" "aK\x02" "a."), &lim, 0, NULL);
        CHECKF(r.st == CKPT_OK && r.info.ops == 7, "7 ops with max_ops 7: status %d ops %llu",
               (int)r.st, (unsigned long long)r.info.ops);
        run_done(&r);
        lim.max_ops = 6;
        expect_fail("7 ops with max_ops 6", S("\x80\x02]K\x01" "aK\x02" "a."), &lim, CKPT_E_LIMIT,
                    9, "STOP");
    }
    /* max_memory: a 2 MB BINBYTES copied into a graph limited to 1 MB */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_memory = 1u << 20;
        b.n = 0;
        uint32_t n = 2u << 20;
        uint8_t hdr[5] = {'B', (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        bputs(&b, "\x80\x03");
        bput(&b, hdr, 5);
        brep(&b, "x", 1, n);
        bputs(&b, ".");
        expect_fail("BINBYTES 2 MB, max_memory 1 MB", b.p, b.n, &lim, CKPT_E_LIMIT, 2, "BINBYTES");
        /* many small values: 200000 list items in 1 MB of graph */
        b.n = 0;
        bputs(&b, "\x80\x02](");
        brep(&b, "K\x01", 2, 200000);
        bputs(&b, "e.");
        run r;
        run_load(&r, b.p, b.n, &lim, 0, NULL);
        CHECKF(r.st == CKPT_E_LIMIT && r.err.offset >= 2 && r.err.offset < (int64_t)b.n &&
                   has_number(r.err.message, r.err.offset),
               "200000 items in 1 MB: status %d offset %lld: %s", (int)r.st,
               (long long)r.err.offset, r.err.message);
        CHECKF(ckpt_graph_memory(r.g) <= lim.max_memory, "graph memory %llu over the limit",
               (unsigned long long)ckpt_graph_memory(r.g));
        run_done(&r);
    }
    /* max_container: 5 items fit, 6 do not (APPENDS, APPEND one by one, TUPLE, SETITEMS, ADDITEMS) */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_container = 5;
        expect_ok("APPENDS 5 items", S("\x80\x02](K\x01K\x02K\x03K\x04K\x05" "e."), &lim);
        expect_fail("APPENDS 6 items", S("\x80\x02](K\x01K\x02K\x03K\x04K\x05K\x06" "e."), &lim,
                    CKPT_E_LIMIT, 16, "APPENDS");
        expect_fail("APPEND 6th item", S("\x80\x02]K\x01" "aK\x01" "aK\x01" "aK\x01" "aK\x01" "aK\x01" "a."),
                    &lim, CKPT_E_LIMIT, 20, "APPEND");
        expect_fail("TUPLE 6 items", S("\x80\x02(K\x01K\x02K\x03K\x04K\x05K\x06t."), &lim,
                    CKPT_E_LIMIT, 15, "TUPLE");
        expect_fail("SETITEMS 6 pairs",
                    S("\x80\x02}(K\x01K\x01K\x02K\x01K\x03K\x01K\x04K\x01K\x05K\x01K\x06K\x01u."),
                    &lim, CKPT_E_LIMIT, 28, "SETITEMS");
        expect_fail("ADDITEMS 6 items", S("\x80\x04\x8f(K\x01K\x02K\x03K\x04K\x05K\x06\x90."), &lim,
                    CKPT_E_LIMIT, 16, "ADDITEMS");
    }
    /* max_string */
    {
        ckpt_limits lim = ckpt_limits_default();
        lim.max_string = 50;
        b.n = 0;
        bputs(&b, "\x80\x02X\x33");
        bput(&b, "\x00\x00\x00", 3);
        brep(&b, "a", 1, 51);
        bputs(&b, ".");
        expect_fail("BINUNICODE 51 bytes, max_string 50", b.p, b.n, &lim, CKPT_E_LIMIT, 2,
                    "BINUNICODE");
        b.n = 0;
        bputs(&b, "\x80\x02X\x32");
        bput(&b, "\x00\x00\x00", 3);
        brep(&b, "a", 1, 50);
        bputs(&b, ".");
        expect_ok("BINUNICODE 50 bytes, max_string 50", b.p, b.n, &lim);
        b.n = 0;
        bputs(&b, "\x80\x03" "B\x33");
        bput(&b, "\x00\x00\x00", 3);
        brep(&b, "a", 1, 51);
        bputs(&b, ".");
        expect_fail("BINBYTES 51 bytes, max_string 50", b.p, b.n, &lim, CKPT_E_LIMIT, 2,
                    "BINBYTES");
        b.n = 0;
        bputs(&b, "V");
        brep(&b, "a", 1, 51);
        bputs(&b, "\n.");
        expect_fail("UNICODE text 51 bytes, max_string 50", b.p, b.n, &lim, CKPT_E_LIMIT, 0,
                    "UNICODE");
    }
    free(b.p);
}

static void test_references(void) {
    /* a list appended to itself loads, and is its own item */
    {
        run r;
        run_load(&r, S("\x80\x02]q\x00h\x00" "a."), NULL, 0, NULL);
        CHECKF(r.st == CKPT_OK && ckpt_value_kind(r.root) == CKPT_K_LIST &&
                   ckpt_value_len(r.root) == 1 && ckpt_value_item(r.root, 0) == r.root,
               "self-containing list: status %d: %s", (int)r.st, r.err.message);
        run_done(&r);
    }
    bbuf b = {0};
    const size_t N = 1000000;
    /* BINGET bomb: one memoized list referenced 10^6 times */
    {
        bput(&b, "\x80\x02]]q\x00" "0(", 8);
        brep(&b, "h\x00", 2, N);
        bputs(&b, "e.");
        run r;
        run_load(&r, b.p, b.n, NULL, 0, NULL);
        CHECKF(r.st == CKPT_OK && ckpt_value_len(r.root) == N, "BINGET x 10^6: status %d: %s",
               (int)r.st, r.err.message);
        if (r.st == CKPT_OK && ckpt_value_len(r.root) == N) {
            uint64_t id0 = ckpt_value_id(ckpt_value_item(r.root, 0));
            size_t same = 0;
            for (size_t i = 0; i < N; i++) same += ckpt_value_id(ckpt_value_item(r.root, i)) == id0;
            CHECKF(same == N, "BINGET x 10^6: %zu of the items are the memoized list", same);
        }
        CHECKF(ckpt_graph_node_count(r.g) < 16, "BINGET x 10^6: %llu nodes",
               (unsigned long long)ckpt_graph_node_count(r.g));
        CHECKF(ckpt_graph_memory(r.g) < 40ull * N, "BINGET x 10^6: %llu bytes",
               (unsigned long long)ckpt_graph_memory(r.g));
        run_done(&r);
    }
    /* DUP bomb */
    {
        b.n = 0;
        bputs(&b, "\x80\x02](]");
        brep(&b, "2", 1, N - 1);
        bputs(&b, "e.");
        run r;
        run_load(&r, b.p, b.n, NULL, 0, NULL);
        CHECKF(r.st == CKPT_OK && ckpt_value_len(r.root) == N &&
                   ckpt_value_item(r.root, 0) == ckpt_value_item(r.root, N - 1),
               "DUP x 10^6: status %d: %s", (int)r.st, r.err.message);
        CHECKF(ckpt_graph_node_count(r.g) < 16, "DUP x 10^6: %llu nodes",
               (unsigned long long)ckpt_graph_node_count(r.g));
        CHECKF(ckpt_graph_memory(r.g) < 40ull * N, "DUP x 10^6: %llu bytes",
               (unsigned long long)ckpt_graph_memory(r.g));
        run_done(&r);
    }
    /* nested bomb: L0 = [], L(k+1) = [Lk] * 1000 for k < 4: 10^12 leaves if copied */
    {
        b.n = 0;
        bput(&b, "\x80\x02]q\x00", 5);
        for (int k = 0; k < 4; k++) {
            uint8_t get[2] = {'h', (uint8_t)k}, put[2] = {'q', (uint8_t)(k + 1)};
            bputs(&b, "(");
            brep(&b, get, 2, 1000);
            bputs(&b, "l");
            bput(&b, put, 2);
        }
        bputs(&b, ".");
        run r;
        run_load(&r, b.p, b.n, NULL, 0, NULL);
        CHECKF(r.st == CKPT_OK && ckpt_value_len(r.root) == 1000, "nested bomb: status %d: %s",
               (int)r.st, r.err.message);
        CHECKF(ckpt_graph_node_count(r.g) < 16, "nested bomb: %llu nodes",
               (unsigned long long)ckpt_graph_node_count(r.g));
        CHECKF(ckpt_graph_memory(r.g) < (1u << 20), "nested bomb: %llu bytes",
               (unsigned long long)ckpt_graph_memory(r.g));
        run_done(&r);
    }
    free(b.p);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    test_structure();
    test_lengths();
    test_limits();
    test_references();
    return tu_finish();
}
