/*
 * pickle_machine.c - the pickle virtual machine (protocols 0-5, all 68
 * opcodes).  It never executes anything: globals become GLOBAL nodes, calls
 * become OBJECT nodes, BUILD records the state.  Every read is bounds-checked,
 * every size checked against the graph's limits, the stack/mark/memo are
 * explicit arrays; nothing recurses on input depth.
 *
 * Semantics follow CPython's Lib/pickle.py (_Unpickler) and Modules/_pickle.c:
 * the stack above the last MARK is the "current frame" (POP on an empty frame
 * pops the MARK), MEMOIZE uses the number of memo entries as key, STOP takes
 * the top of the current frame and ignores what is left.  Text STRING /
 * BINSTRING / SHORT_BINSTRING are decoded as latin-1 into str (the
 * encoding="latin1" that NumPy and scikit-learn recommend for Python 2 files).
 */
#include "pickle_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CPython's sys.int_info.str_digits_check_threshold: longer decimal ints are refused. */
#define CKPT_MAX_INT_DIGITS 4300
/* Longest FLOAT text line accepted (repr of any double is far shorter). */
#define CKPT_MAX_FLOAT_TEXT 400

typedef struct machine {
    ckpt_graph *g;
    const uint8_t *buf;
    size_t len, pos, op_off;
    uint8_t op;
    const ckpt_pickle_hooks *hooks;
    ckpt_error *err;
    ckpt_value **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    ckpt_value ***memo;        /* blocks of MEMO_BLOCK entries, made on first use */
    size_t memo_blocks, memo_count; /* directory length; entries set */
    size_t nbuffers;
    int protocol, max_proto;
    int borrow;
    size_t total;              /* input length; bytes [0, len) are readable, len <= total */
    const ckpt__refill *rf;    /* makes more of [pos, total) readable; NULL: len == total */
} machine;

static ckpt_status fail(machine *m, ckpt_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static ckpt_status fail(machine *m, ckpt_status s, const char *fmt, ...) {
    if (!m->err) return s;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *name = ckpt_opcode_name(m->op);
    if (name)
        ckpt_error_set(m->err, s, (int64_t)m->op_off, "%s at offset %zu: %s", name, m->op_off, detail);
    else
        ckpt_error_set(m->err, s, (int64_t)m->op_off, "opcode 0x%02x at offset %zu: %s", m->op,
                       m->op_off, detail);
    return s;
}

static ckpt_status nomem(machine *m) {
    if (m->g->limit_hit) {
        m->g->limit_hit = 0;
        return fail(m, CKPT_E_LIMIT, "graph memory limit (%llu bytes) reached",
                    (unsigned long long)m->g->limits.max_memory);
    }
    return fail(m, CKPT_E_NOMEM, "out of memory");
}

/* ---------------------------------------------------------------- reading */

/* Ask the refill callback for bytes up to `want_end` (clamped to total).
   The window may move (m->buf changes: pointers to bytes at or past pos must
   be recomputed; bytes below pos stay where they are), and bytes below pos
   are never read again, so the callback may leave out what an after_build
   hook skipped. */
static void refill(machine *m, size_t want_end) {
    if (!m->rf || m->len >= m->total) return;
    if (want_end > m->total) want_end = m->total;
    if (want_end <= m->len) return;
    size_t avail = m->len;
    const uint8_t *base = m->buf;
    m->rf->fn(m->rf->user, m->pos, want_end, &base, &avail);
    if (avail > m->len && avail <= m->total && avail > m->pos) {
        m->buf = base;
        m->len = avail;
    }
}

static inline ckpt_status need(machine *m, size_t n) {
    if (m->pos > m->len || m->len - m->pos < n) {
        refill(m, n > m->total - m->pos ? m->total : m->pos + n);
        if (m->pos > m->len || m->len - m->pos < n)
            return fail(m, CKPT_E_TRUNCATED, "needs %zu argument bytes, %zu left", n, m->total - m->pos);
    }
    return CKPT_OK;
}

static inline uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd_u64(const uint8_t *p) {
    return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32;
}

/* A text line: [*line, *line + *n) without the '\n'; pos moves past it. */
static ckpt_status read_line(machine *m, const uint8_t **line, size_t *n) {
    const uint8_t *s = m->buf + m->pos;
    const uint8_t *nl = memchr(s, '\n', m->len - m->pos);
    while (!nl && m->rf && m->len < m->total) {
        size_t from = m->len, grow = m->len - m->pos < 4096 ? 4096 : m->len - m->pos;
        refill(m, grow > m->total - m->len ? m->total : m->len + grow);
        if (m->len == from) break;
        s = m->buf + m->pos; /* the window may have moved */
        nl = memchr(m->buf + from, '\n', m->len - from);
    }
    if (!nl) return fail(m, CKPT_E_TRUNCATED, "text argument has no terminating newline");
    *line = s;
    *n = (size_t)(nl - s);
    if (*n > m->g->limits.max_string)
        return fail(m, CKPT_E_LIMIT, "text argument of %zu bytes exceeds max_string", *n);
    m->pos += *n + 1;
    return CKPT_OK;
}

/* ---------------------------------------------------------------- stack */

static inline size_t cur_mark(const machine *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static ckpt_status push_slow(machine *m, ckpt_value *v) {
    if (!v) return nomem(m);
    if (m->sp == m->scap) {
        if (m->sp >= m->g->limits.max_stack)
            return fail(m, CKPT_E_LIMIT, "stack depth exceeds max_stack (%llu)",
                        (unsigned long long)m->g->limits.max_stack);
        size_t nc = m->scap ? m->scap * 2 : 64;
        if (nc > m->g->limits.max_stack) nc = (size_t)m->g->limits.max_stack;
        ckpt_value **ns = ckpt__g_realloc(m->g, m->stack, nc * sizeof *ns);
        if (!ns) return nomem(m);
        m->stack = ns;
        m->scap = nc;
    }
    m->stack[m->sp++] = v;
    return CKPT_OK;
}

CKPT__ALWAYS_INLINE ckpt_status push(machine *m, ckpt_value *v) {
    if (v && m->sp < m->scap) {
        m->stack[m->sp++] = v;
        return CKPT_OK;
    }
    return push_slow(m, v);
}

/* pop / top / pop_mark set their output on failure too (NULL / 0): gcc cannot
   see that fail() returns non-zero, and nothing reads a stale value */
static ckpt_status pop(machine *m, ckpt_value **out) {
    *out = NULL;
    if (m->sp <= cur_mark(m))
        return fail(m, CKPT_E_STACK, m->nmarks ? "no value on the stack above the last MARK"
                                               : "stack underflow");
    *out = m->stack[--m->sp];
    return CKPT_OK;
}

static ckpt_status top(machine *m, ckpt_value **out) {
    *out = NULL;
    if (m->sp <= cur_mark(m))
        return fail(m, CKPT_E_STACK, m->nmarks ? "no value on the stack above the last MARK"
                                               : "stack is empty");
    *out = m->stack[m->sp - 1];
    return CKPT_OK;
}

/* Items since the last MARK: stack[*first .. sp); the mark is removed and sp reset by caller. */
static ckpt_status pop_mark(machine *m, size_t *first) {
    *first = 0;
    if (!m->nmarks) return fail(m, CKPT_E_MARK, "no MARK on the stack");
    *first = m->marks[--m->nmarks];
    return CKPT_OK;
}

/* ---------------------------------------------------------------- values */

static ckpt_value *new_str_node(machine *m, ckpt_kind kind, const uint8_t *p, size_t n, int may_borrow) {
    ckpt_value *v = ckpt__g_str(m->g, kind, NULL, n);
    if (!v) return NULL;
    if (may_borrow && m->borrow) {
        /* windowed input: bytes (array data, numpy scalars) point into the
           file itself like without windows; str stays in the window (keys
           are compared later and their pages should not be touched) */
        if (m->rf && m->rf->file && kind != CKPT_K_STR)
            v->u.s.p = m->rf->file + ((uintptr_t)p - (uintptr_t)m->buf);
        else
            v->u.s.p = p;
    } else {
        uint8_t *c = ckpt__g_copy(m->g, p, n);
        if (!c) return NULL;
        v->u.s.p = c;
    }
    return v;
}

/* latin-1 bytes -> UTF-8 str node (borrowed when all ASCII) */
static ckpt_value *latin1_str(machine *m, const uint8_t *p, size_t n, int may_borrow) {
    size_t hi = 0;
    for (size_t i = 0; i < n; i++) hi += p[i] >> 7;
    if (!hi) return new_str_node(m, CKPT_K_STR, p, n, may_borrow);
    if (n > SIZE_MAX / 2) return NULL;
    ckpt_value *v = ckpt__g_str(m->g, CKPT_K_STR, NULL, n + hi);
    uint8_t *d = v ? ckpt__g_alloc(m->g, n + hi + 1) : NULL;
    if (!d) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x80) d[o++] = p[i];
        else {
            d[o++] = (uint8_t)(0xc0 | (p[i] >> 6));
            d[o++] = (uint8_t)(0x80 | (p[i] & 0x3f));
        }
    }
    d[o] = 0; /* o == n + hi */
    v->u.s.p = d;
    return v;
}

static size_t utf8_put(uint8_t *d, uint32_t cp) {
    if (cp < 0x80) { d[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) {
        d[0] = (uint8_t)(0xc0 | (cp >> 6));
        d[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (uint8_t)(0xe0 | (cp >> 12));
        d[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (uint8_t)(0xf0 | (cp >> 18));
    d[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* protocol 0 STRING: quoted, codecs.escape_decode, then latin-1 */
static ckpt_status op_string(machine *m) {
    const uint8_t *s;
    size_t n;
    ckpt_status st = read_line(m, &s, &n);
    if (st) return st;
    if (n < 2 || s[0] != s[n - 1] || (s[0] != '\'' && s[0] != '"'))
        return fail(m, CKPT_E_FORMAT, "the STRING argument must be quoted");
    s++;
    n -= 2;
    uint8_t *d = ckpt__realloc(&m->g->alloc, NULL, 0, n + 1);
    if (!d) return nomem(m);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') { d[o++] = s[i++]; continue; }
        if (++i >= n) {
            ckpt__free(&m->g->alloc, d, n + 1);
            return fail(m, CKPT_E_FORMAT, "trailing \\ in STRING");
        }
        uint8_t c = s[i++];
        switch (c) {
        case '\n': break;
        case '\\': d[o++] = '\\'; break;
        case '\'': d[o++] = '\''; break;
        case '"': d[o++] = '"'; break;
        case 'b': d[o++] = '\b'; break;
        case 'f': d[o++] = '\f'; break;
        case 't': d[o++] = '\t'; break;
        case 'n': d[o++] = '\n'; break;
        case 'r': d[o++] = '\r'; break;
        case 'v': d[o++] = '\v'; break;
        case 'a': d[o++] = '\a'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            unsigned v = (unsigned)(c - '0');
            for (int k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++) v = v * 8 + (unsigned)(s[i++] - '0');
            d[o++] = (uint8_t)v;
            break;
        }
        case 'x': {
            int h1 = i < n ? hexval(s[i]) : -1, h2 = i + 1 < n ? hexval(s[i + 1]) : -1;
            if (h1 < 0 || h2 < 0) {
                ckpt__free(&m->g->alloc, d, n + 1);
                return fail(m, CKPT_E_FORMAT, "invalid \\x escape in STRING at position %zu", i - 2);
            }
            d[o++] = (uint8_t)(h1 * 16 + h2);
            i += 2;
            break;
        }
        default:
            d[o++] = '\\';
            d[o++] = c;
            break;
        }
    }
    ckpt_value *v = latin1_str(m, d, o, 0);
    ckpt__free(&m->g->alloc, d, n + 1);
    return push(m, v);
}

/* protocol 0 UNICODE: raw-unicode-escape */
static ckpt_status op_unicode(machine *m) {
    const uint8_t *s;
    size_t n;
    ckpt_status st = read_line(m, &s, &n);
    if (st) return st;
    uint64_t cap64;
    if (!ckpt__mul_ok(n, 4, &cap64) || cap64 + 1 > SIZE_MAX) return fail(m, CKPT_E_LIMIT, "UNICODE too long");
    size_t cap = (size_t)cap64 + 1;
    uint8_t *d = ckpt__realloc(&m->g->alloc, NULL, 0, cap);
    if (!d) return nomem(m);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') { o += utf8_put(d + o, s[i++]); continue; }
        size_t bs = i;
        while (i < n && s[i] == '\\') i++;
        size_t count = i - bs;
        for (size_t k = 0; k < count; k++) d[o++] = '\\';
        if ((count & 1) == 0 || i >= n || (s[i] != 'u' && s[i] != 'U')) continue;
        o--; /* the escaping backslash */
        int digits = s[i] == 'u' ? 4 : 8;
        i++;
        uint32_t cp = 0;
        for (int k = 0; k < digits; k++) {
            int h = i < n ? hexval(s[i]) : -1;
            if (h < 0) {
                ckpt__free(&m->g->alloc, d, cap);
                return fail(m, CKPT_E_FORMAT, "truncated \\%c escape in UNICODE", digits == 4 ? 'u' : 'U');
            }
            cp = cp * 16 + (uint32_t)h;
            i++;
        }
        if (cp > 0x10ffff) {
            ckpt__free(&m->g->alloc, d, cap);
            return fail(m, CKPT_E_FORMAT, "\\U escape out of range in UNICODE");
        }
        o += utf8_put(d + o, cp);
    }
    ckpt_value *v = new_str_node(m, CKPT_K_STR, d, o, 0);
    ckpt__free(&m->g->alloc, d, cap);
    return push(m, v);
}

/* Decimal text (optional sign) -> int node; big values exact. */
static ckpt_status parse_decimal(machine *m, const uint8_t *s, size_t n, ckpt_value **out) {
    *out = NULL; /* also on failure */
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i >= n) return fail(m, CKPT_E_FORMAT, "invalid integer literal");
    size_t ndig = 0;
    for (size_t k = i; k < n; k++) {
        if (s[k] == '_' && k > i && k + 1 < n && s[k - 1] != '_') continue;
        if (s[k] < '0' || s[k] > '9') return fail(m, CKPT_E_FORMAT, "invalid integer literal");
        ndig++;
    }
    if (ndig > CKPT_MAX_INT_DIGITS)
        return fail(m, CKPT_E_LIMIT, "integer literal of %zu digits exceeds %d (CPython's limit)",
                    ndig, CKPT_MAX_INT_DIGITS);
    if (ndig <= 18) {
        int64_t v = 0;
        for (size_t k = i; k < n; k++)
            if (s[k] != '_') v = v * 10 + (s[k] - '0');
        *out = ckpt__int_from_i64(m->g, neg ? -v : v);
        return *out ? CKPT_OK : nomem(m);
    }
    /* base 2^32 limbs, little endian */
    size_t nl = ndig / 9 + 2;
    uint32_t *limb = ckpt__realloc(&m->g->alloc, NULL, 0, nl * sizeof *limb);
    if (!limb) return nomem(m);
    memset(limb, 0, nl * sizeof *limb);
    size_t used = 1;
    for (size_t k = i; k < n; k++) {
        if (s[k] == '_') continue;
        uint64_t carry = (uint64_t)(s[k] - '0');
        for (size_t j = 0; j < used; j++) {
            uint64_t t = (uint64_t)limb[j] * 10 + carry;
            limb[j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry) limb[used++] = (uint32_t)carry;
    }
    size_t nb = used * 4 + 1;
    uint8_t *b = ckpt__realloc(&m->g->alloc, NULL, 0, nb);
    if (!b) {
        ckpt__free(&m->g->alloc, limb, nl * sizeof *limb);
        return nomem(m);
    }
    for (size_t j = 0; j < used; j++)
        for (int k = 0; k < 4; k++) b[4 * j + (size_t)k] = (uint8_t)(limb[j] >> (8 * k));
    b[nb - 1] = 0;
    if (neg) { /* two's complement */
        int carry = 1;
        for (size_t j = 0; j < nb; j++) {
            unsigned t = (unsigned)(uint8_t)~b[j] + (unsigned)carry;
            b[j] = (uint8_t)t;
            carry = t >> 8;
        }
    }
    *out = ckpt__int_from_le(m->g, b, nb);
    ckpt__free(&m->g->alloc, b, nb);
    ckpt__free(&m->g->alloc, limb, nl * sizeof *limb);
    return *out ? CKPT_OK : nomem(m);
}

static ckpt_status op_int_text(machine *m, int is_long) {
    const uint8_t *s;
    size_t n;
    ckpt_status st = read_line(m, &s, &n);
    if (st) return st;
    if (!is_long && n == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1'))
        return push(m, s[1] == '1' ? m->g->true_node : m->g->false_node);
    if (is_long && n && s[n - 1] == 'L') n--;
    ckpt_value *v;
    st = parse_decimal(m, s, n, &v);
    if (st) return st;
    return push(m, v);
}

static ckpt_status op_float_text(machine *m) {
    const uint8_t *s;
    size_t n;
    ckpt_status st = read_line(m, &s, &n);
    if (st) return st;
    char tmp[CKPT_MAX_FLOAT_TEXT + 1];
    if (n == 0 || n > CKPT_MAX_FLOAT_TEXT) return fail(m, CKPT_E_FORMAT, "invalid FLOAT literal");
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
              c == 'i' || c == 'n' || c == 'f' || c == 'a' || c == 't' || c == 'y' || c == 'I' ||
              c == 'N' || c == 'F' || c == 'A' || c == 'T' || c == 'Y'))
            return fail(m, CKPT_E_FORMAT, "invalid FLOAT literal");
        tmp[i] = (char)c;
    }
    tmp[n] = 0;
    char *end = NULL;
    double d = strtod(tmp, &end);
    if (!end || *end != '\0') return fail(m, CKPT_E_FORMAT, "invalid FLOAT literal '%s'", tmp);
    ckpt_value *v = ckpt__g_node(m->g, CKPT_K_FLOAT);
    if (v) v->u.f = d;
    return push(m, v);
}

/* non-negative decimal for GET / PUT */
static ckpt_status memo_key_text(machine *m, uint64_t *key) {
    const uint8_t *s;
    size_t n;
    ckpt_status st = read_line(m, &s, &n);
    if (st) return st;
    if (n == 0 || n > 19) return fail(m, CKPT_E_MEMO, "invalid memo key");
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return fail(m, CKPT_E_MEMO, "invalid memo key");
        k = k * 10 + (uint64_t)(s[i] - '0');
    }
    *key = k;
    return CKPT_OK;
}

/* The memo is a directory of fixed blocks (one page of entries each): a
   growing memo never copies or re-zeroes what it holds, and sparse keys
   take only the blocks they touch. */
#define MEMO_BLOCK ((size_t)512)

static ckpt_status memo_put(machine *m, uint64_t key, ckpt_value *v) {
    if (key >= m->g->limits.max_memo)
        return fail(m, CKPT_E_LIMIT, "memo key %llu exceeds max_memo (%llu)", (unsigned long long)key,
                    (unsigned long long)m->g->limits.max_memo);
    uint64_t b = key / MEMO_BLOCK;
    if (b >= m->memo_blocks) {
        uint64_t nc = m->memo_blocks ? m->memo_blocks : 8;
        while (nc <= b) nc *= 2;
        if (nc > SIZE_MAX / sizeof(ckpt_value **)) return nomem(m);
        ckpt_value ***nd = ckpt__g_realloc(m->g, m->memo, (size_t)nc * sizeof *nd);
        if (!nd) return nomem(m);
        memset(nd + m->memo_blocks, 0, ((size_t)nc - m->memo_blocks) * sizeof *nd);
        m->memo = nd;
        m->memo_blocks = (size_t)nc;
    }
    ckpt_value **blk = m->memo[b];
    if (!blk) {
        blk = ckpt__g_alloc(m->g, MEMO_BLOCK * sizeof *blk);
        if (!blk) return nomem(m);
        memset(blk, 0, MEMO_BLOCK * sizeof *blk);
        m->memo[b] = blk;
    }
    ckpt_value **e = &blk[key % MEMO_BLOCK];
    if (!*e) m->memo_count++;
    *e = v;
    return CKPT_OK;
}

static ckpt_status memo_get(machine *m, uint64_t key) {
    uint64_t b = key / MEMO_BLOCK;
    ckpt_value *v = b < m->memo_blocks && m->memo[b] ? m->memo[b][key % MEMO_BLOCK] : NULL;
    if (!v) return fail(m, CKPT_E_MEMO, "memo key %llu not found", (unsigned long long)key);
    return push(m, v);
}

static ckpt_status op_put(machine *m, uint64_t key) {
    ckpt_value *v;
    ckpt_status st = top(m, &v);
    if (st) return st;
    return memo_put(m, key, v);
}

static ckpt_value *new_global(machine *m, const uint8_t *mod, size_t ml, const uint8_t *name, size_t nl) {
    ckpt_value *v = ckpt__g_node(m->g, CKPT_K_GLOBAL);
    if (!v) return NULL;
    uint8_t *a = ckpt__g_copy(m->g, mod, ml), *b = ckpt__g_copy(m->g, name, nl);
    if (!a || !b) return NULL;
    v->u.g.module = (const char *)a;
    v->u.g.name = (const char *)b;
    v->u.g.canonical = ckpt__canonical(m->g, (const char *)a, (const char *)b);
    if (!v->u.g.canonical) return NULL;
    return v;
}

static ckpt_status check_name(machine *m, const uint8_t *s, size_t n, const char *what) {
    if (memchr(s, 0, n)) return fail(m, CKPT_E_FORMAT, "%s contains a NUL byte", what);
    if (!ckpt__utf8_valid(s, n)) return fail(m, CKPT_E_FORMAT, "%s is not valid UTF-8", what);
    return CKPT_OK;
}

static void notify_global(machine *m, const char *mod, const char *name) {
    if (m->hooks && m->hooks->on_global)
        m->hooks->on_global(m->hooks->user, mod, name, m->op, m->op_off);
}

/* GLOBAL / INST: two text lines */
static ckpt_status read_global_text(machine *m, ckpt_value **out) {
    const uint8_t *mod, *name;
    size_t ml, nl;
    ckpt_status st = read_line(m, &mod, &ml);
    if (st) return st;
    st = read_line(m, &name, &nl);
    if (st) return st;
    if ((st = check_name(m, mod, ml, "module name")) || (st = check_name(m, name, nl, "global name")))
        return st;
    ckpt_value *v = new_global(m, mod, ml, name, nl);
    if (!v) return nomem(m);
    notify_global(m, v->u.g.module, v->u.g.name);
    *out = v;
    return CKPT_OK;
}

/* an OBJECT node (callable and args in the node; the extension made on first need) */
static ckpt_value *new_obj(machine *m, ckpt_call_kind call, ckpt_value *callable, ckpt_value *args) {
    ckpt_value *v = ckpt__g_node(m->g, CKPT_K_OBJECT);
    if (!v) return NULL;
    v->call = (uint8_t)call;
    v->u.o.callable = callable;
    v->u.o.args = args;
    return v;
}

/* &m->stack[i]; NULL while no stack was ever allocated (NULL + 0 is UB) */
static ckpt_value **stack_at(machine *m, size_t i) { return m->stack ? m->stack + i : NULL; }

static ckpt_value *tuple_from(machine *m, ckpt_value **items, size_t n) {
    if (n == 0) return m->g->empty_tuple;
    return ckpt__g_tuple(m->g, items, n);
}

static ckpt_status container_fail(machine *m, ckpt_status s, const char *what) {
    if (s == CKPT_E_TYPE) return fail(m, CKPT_E_TYPE, "unhashable %s", what);
    if (s == CKPT_E_LIMIT)
        return fail(m, CKPT_E_LIMIT, "container exceeds max_container (%llu) or max_memory",
                    (unsigned long long)m->g->limits.max_container);
    return nomem(m);
}

static ckpt_status add_pairs(machine *m, ckpt_value *d, ckpt_value **items, size_t n) {
    if (n & 1) return fail(m, CKPT_E_STACK, "odd number of items (%zu) for a dict", n);
    for (size_t i = 0; i < n; i += 2) {
        ckpt_status s = ckpt__dict_set(m->g, d, items[i], items[i + 1]);
        if (s) return container_fail(m, s, "dict key");
    }
    return CKPT_OK;
}

static ckpt_value *obj_list(machine *m, ckpt_value *obj) {
    ckpt__objx *x = ckpt__objx_get(m->g, obj);
    if (!x) return NULL;
    if (!x->list) x->list = ckpt__g_node(m->g, CKPT_K_LIST);
    return x->list;
}
static ckpt_value *obj_dict(machine *m, ckpt_value *obj) {
    ckpt__objx *x = ckpt__objx_get(m->g, obj);
    if (!x) return NULL;
    if (!x->dict) x->dict = ckpt__g_node(m->g, CKPT_K_DICT);
    return x->dict;
}

static ckpt_status extend(machine *m, ckpt_value *target, ckpt_value **items, size_t n) {
    ckpt_value *l = target;
    if (target->kind == CKPT_K_OBJECT) {
        l = obj_list(m, target);
        if (!l) return nomem(m);
    } else if (target->kind != CKPT_K_LIST) {
        return fail(m, CKPT_E_STACK, "cannot append to a %s", ckpt_kind_name((ckpt_kind)target->kind));
    }
    ckpt_status s = ckpt__c_reserve(m->g, l, n);
    if (s) return container_fail(m, s, "list");
    if (n) memcpy(l->u.c.items + l->u.c.len, items, n * sizeof *items);
    l->u.c.len += n;
    return CKPT_OK;
}

static ckpt_status set_items(machine *m, ckpt_value *target, ckpt_value **items, size_t n) {
    ckpt_value *d = target;
    if (target->kind == CKPT_K_OBJECT) {
        d = obj_dict(m, target);
        if (!d) return nomem(m);
    } else if (target->kind != CKPT_K_DICT) {
        return fail(m, CKPT_E_STACK, "cannot set items on a %s", ckpt_kind_name((ckpt_kind)target->kind));
    }
    return add_pairs(m, d, items, n);
}

static ckpt_status op_build(machine *m) {
    ckpt_value *state, *inst;
    ckpt_status st = pop(m, &state);
    if (st) return st;
    if ((st = top(m, &inst))) return st;
    if (inst->kind != CKPT_K_OBJECT) {
        ckpt_value *w = new_obj(m, CKPT_CALL_BUILD_ONLY, NULL, NULL);
        ckpt__objx *x = w ? ckpt__objx_get(m->g, w) : NULL;
        if (!x) return nomem(m);
        x->target = inst;
        m->stack[m->sp - 1] = w;
        inst = w;
    }
    ckpt__objx *o = ckpt__objx_get(m->g, inst);
    if (!o) return nomem(m);
    if (o->nstates == o->capstates) {
        if (o->capstates > UINT32_MAX / 2)
            return fail(m, CKPT_E_LIMIT, "more than %u BUILD states on one object", (unsigned)o->capstates);
        size_t nc = o->capstates ? (size_t)o->capstates * 2 : 1;
        ckpt_value **ns = ckpt__g_realloc(m->g, o->states, nc * sizeof *ns);
        if (!ns) return nomem(m);
        o->states = ns;
        o->capstates = (uint32_t)nc;
    }
    o->states[o->nstates++] = state;
    if (m->hooks && m->hooks->after_build) {
        size_t p = m->pos;
        /* a windowed input: the hook sees the whole length and may read the
           byte at pos (joblib's padding length) */
        refill(m, m->pos + 1);
        st = m->hooks->after_build(m->hooks->user, m->g, inst, m->buf, m->total, &p, m->err);
        if (st) return st;
        if (p < m->pos || p > m->total)
            return fail(m, CKPT_E_BOUNDS, "after_build hook moved the position outside the input");
        if (m->rf && p > m->len) m->len = m->pos; /* what the hook skipped is not in the window */
        m->pos = p;
    }
    return CKPT_OK;
}

static ckpt_status op_call(machine *m, ckpt_call_kind call) {
    ckpt_value *callable, *args, *kwargs = NULL;
    ckpt_status st;
    if (call == CKPT_CALL_NEWOBJ_EX && (st = pop(m, &kwargs))) return st;
    if ((st = pop(m, &args))) return st;
    if ((st = pop(m, &callable))) return st;
    ckpt_value *v = new_obj(m, call, callable, args);
    if (!v) return nomem(m);
    if (kwargs) {
        ckpt__objx *x = ckpt__objx_get(m->g, v);
        if (!x) return nomem(m);
        x->kwargs = kwargs;
    }
    return push(m, v);
}

static ckpt_status op_persid(machine *m, ckpt_value *pid) {
    ckpt_value *out = NULL;
    if (m->hooks && m->hooks->persistent_load) {
        ckpt_status st = m->hooks->persistent_load(m->hooks->user, m->g, pid, &out, m->err);
        if (st) {
            if (m->err && m->err->message[0] == '\0') fail(m, st, "persistent_load hook failed");
            return st;
        }
    }
    if (!out) {
        out = ckpt__g_node(m->g, CKPT_K_PERSID);
        if (out) out->u.pid = pid;
    }
    return push(m, out);
}

static ckpt_status op_ext(machine *m, int64_t code) {
    if (code <= 0) return fail(m, CKPT_E_FORMAT, "extension code %lld <= 0", (long long)code);
    ckpt_value *v = ckpt__g_node(m->g, CKPT_K_GLOBAL);
    if (!v) return nomem(m);
    v->u.g.ext = (int32_t)code;
    notify_global(m, NULL, NULL);
    return push(m, v);
}

/* ---------------------------------------------------------------- the loop */

ckpt_status ckpt_pickle_load(ckpt_graph *g, const uint8_t *buf, size_t len, size_t start,
                             const ckpt_pickle_hooks *hooks, ckpt_value **root,
                             ckpt_pickle_info *info, ckpt_error *err) {
    return ckpt__pickle_load_windowed(g, buf, len, len, NULL, start, hooks, root, info, err);
}

ckpt_status ckpt__pickle_load_windowed(ckpt_graph *g, const uint8_t *buf, size_t avail, size_t len,
                                       const ckpt__refill *rf, size_t start,
                                       const ckpt_pickle_hooks *hooks, ckpt_value **root,
                                       ckpt_pickle_info *info, ckpt_error *err) {
    if (root) *root = NULL;
    if (info) {
        memset(info, 0, sizeof *info);
        info->start = start;
    }
    if (!g || (!buf && len) || start > len || avail > len || (!rf && avail != len))
        return ckpt_error_set(err, CKPT_E_ARG, -1, "invalid argument");
    machine mm;
    memset(&mm, 0, sizeof mm);
    machine *m = &mm;
    m->g = g;
    m->buf = buf;
    m->len = avail;
    m->total = len;
    m->rf = rf;
    m->pos = start;
    m->hooks = hooks;
    m->err = err;
    m->borrow = (g->flags & CKPT_GRAPH_BORROW_INPUT) != 0;
    m->protocol = -1;
    const ckpt_limits *lim = &g->limits;
    uint64_t ops = 0;
    ckpt_status st = CKPT_OK;
    ckpt_value *v = NULL, *a = NULL, *b = NULL, *c = NULL;
    size_t first;

    for (;;) {
        /* windowed input: the opcode and up to 8 argument bytes in the window, so
           that `p` below stays valid through need() calls of <= 8 bytes */
        if (m->rf && (m->pos >= m->len || m->len - m->pos < 9)) refill(m, m->pos + 9);
        if (m->pos >= m->len) {
            m->op_off = m->pos;
            m->op = '.';
            st = fail(m, CKPT_E_TRUNCATED, "input ends before STOP");
            break;
        }
        m->op_off = m->pos;
        uint8_t op = m->buf[m->pos++];
        m->op = op;
        if (++ops > lim->max_ops) {
            st = fail(m, CKPT_E_LIMIT, "more than max_ops (%llu) opcodes", (unsigned long long)lim->max_ops);
            break;
        }
        if (info) info->opcode_count[op]++;
        if (m->protocol < 0) { /* only reported when no PROTO opcode names it */
            int proto = ckpt_opcode_proto(op);
            if (proto > m->max_proto) m->max_proto = proto;
        }
        const uint8_t *p = m->buf + m->pos;
        switch (op) {
        case '(': /* MARK */
            if (m->nmarks == m->mcap) {
                if (m->nmarks >= lim->max_marks) {
                    st = fail(m, CKPT_E_LIMIT, "MARK nesting exceeds max_marks (%llu)", (unsigned long long)lim->max_marks);
                    break;
                }
                size_t nc = m->mcap ? m->mcap * 2 : 32;
                if (nc > lim->max_marks) nc = (size_t)lim->max_marks;
                size_t *nmk = ckpt__g_realloc(g, m->marks, nc * sizeof *nmk);
                if (!nmk) { st = nomem(m); break; }
                m->marks = nmk;
                m->mcap = nc;
            }
            m->marks[m->nmarks++] = m->sp;
            break;
        case '.': /* STOP */
            if ((st = pop(m, &v))) break;
            if (root) *root = v;
            if (info) {
                info->end = m->pos;
                info->ops = ops;
                info->protocol = m->protocol >= 0 ? m->protocol : m->max_proto;
            }
            goto done;
        case '0': /* POP */
            if (m->sp > cur_mark(m)) m->sp--;
            else if (m->nmarks) m->nmarks--;
            else st = fail(m, CKPT_E_STACK, "stack underflow");
            break;
        case '1': /* POP_MARK */
            if ((st = pop_mark(m, &first))) break;
            m->sp = first;
            break;
        case '2': /* DUP */
            if ((st = top(m, &v))) break;
            st = push(m, v);
            break;
        case 'F': st = op_float_text(m); break;
        case 'I': st = op_int_text(m, 0); break;
        case 'L': st = op_int_text(m, 1); break;
        case 'N': st = push(m, g->none_node); break;
        case 0x88: st = push(m, g->true_node); break;
        case 0x89: st = push(m, g->false_node); break;
        case 'J': /* BININT */
            if ((st = need(m, 4))) break;
            m->pos += 4;
            st = push(m, ckpt__int_from_i64(g, (int32_t)rd_u32(p)));
            break;
        case 'K': /* BININT1 */
            if ((st = need(m, 1))) break;
            m->pos += 1;
            st = push(m, ckpt__int_from_i64(g, p[0]));
            break;
        case 'M': /* BININT2 */
            if ((st = need(m, 2))) break;
            m->pos += 2;
            st = push(m, ckpt__int_from_i64(g, (int64_t)(p[0] | (p[1] << 8))));
            break;
        case 0x8a: /* LONG1 */
        case 0x8b: { /* LONG4 */
            size_t hn = op == 0x8a ? 1 : 4;
            if ((st = need(m, hn))) break;
            int64_t n = op == 0x8a ? p[0] : (int32_t)rd_u32(p);
            if (n < 0) { st = fail(m, CKPT_E_FORMAT, "negative LONG4 byte count %lld", (long long)n); break; }
            m->pos += hn;
            if ((uint64_t)n > lim->max_string) { st = fail(m, CKPT_E_LIMIT, "integer of %lld bytes exceeds max_string", (long long)n); break; }
            if ((st = need(m, (size_t)n))) break;
            v = n ? ckpt__int_from_le(g, m->buf + m->pos, (size_t)n) : ckpt__int_from_i64(g, 0);
            m->pos += (size_t)n;
            st = push(m, v);
            break;
        }
        case 'G': { /* BINFLOAT, big endian */
            if ((st = need(m, 8))) break;
            uint64_t u = 0;
            for (int k = 0; k < 8; k++) u = (u << 8) | p[k];
            m->pos += 8;
            double d;
            memcpy(&d, &u, 8);
            v = ckpt__g_node_small(g, CKPT_K_FLOAT);
            if (v) v->u.f = d;
            st = push(m, v);
            break;
        }
        case 'S': st = op_string(m); break;
        case 'V': st = op_unicode(m); break;
        case 'T': /* BINSTRING */
        case 'U': /* SHORT_BINSTRING */
        case 'B': /* BINBYTES */
        case 'C': /* SHORT_BINBYTES */
        case 0x8e: /* BINBYTES8 */
        case 0x96: /* BYTEARRAY8 */
        case 'X': /* BINUNICODE */
        case 0x8c: /* SHORT_BINUNICODE */
        case 0x8d: { /* BINUNICODE8 */
            size_t hn = (op == 'U' || op == 'C' || op == 0x8c) ? 1 : (op == 0x8e || op == 0x96 || op == 0x8d) ? 8 : 4;
            if ((st = need(m, hn))) break;
            uint64_t n = hn == 1 ? p[0] : hn == 4 ? rd_u32(p) : rd_u64(p);
            if (op == 'T' && (int32_t)n < 0) { st = fail(m, CKPT_E_FORMAT, "negative BINSTRING length %d", (int32_t)n); break; }
            m->pos += hn;
            if (n > lim->max_string) {
                st = fail(m, CKPT_E_LIMIT, "length %llu exceeds max_string (%llu)", (unsigned long long)n, (unsigned long long)lim->max_string);
                break;
            }
            if ((st = need(m, (size_t)n))) break;
            const uint8_t *s = m->buf + m->pos;
            if (op == 'T' || op == 'U') v = latin1_str(m, s, (size_t)n, 1);
            else if (op == 'X' || op == 0x8c || op == 0x8d) {
                if (!ckpt__utf8_valid(s, (size_t)n)) { st = fail(m, CKPT_E_FORMAT, "string is not valid UTF-8"); break; }
                v = new_str_node(m, CKPT_K_STR, s, (size_t)n, 1);
            } else v = new_str_node(m, op == 0x96 ? CKPT_K_BYTEARRAY : CKPT_K_BYTES, s, (size_t)n, 1);
            m->pos += (size_t)n;
            st = push(m, v);
            break;
        }
        case 0x97: { /* NEXT_BUFFER */
            const uint8_t *data = NULL;
            size_t dlen = 0;
            size_t idx = m->nbuffers++;
            if (hooks && hooks->next_buffer) {
                st = hooks->next_buffer(hooks->user, idx, &data, &dlen, err);
                if (st) break;
            }
            v = ckpt__g_node(g, CKPT_K_BUFFER);
            if (v) {
                v->u.buf.index = idx;
                v->u.buf.data = data;
                v->u.buf.len = data ? dlen : 0;
            }
            st = push(m, v);
            break;
        }
        case 0x98: /* READONLY_BUFFER */
            if ((st = top(m, &v))) break;
            if (v->kind == CKPT_K_BUFFER) v->flags |= CKPT__VF_READONLY;
            else if (v->kind != CKPT_K_BYTES && v->kind != CKPT_K_BYTEARRAY)
                st = fail(m, CKPT_E_STACK, "READONLY_BUFFER on a %s", ckpt_kind_name((ckpt_kind)v->kind));
            break;
        case ']': st = push(m, ckpt__g_node(g, CKPT_K_LIST)); break;
        case '}': st = push(m, ckpt__g_node(g, CKPT_K_DICT)); break;
        case 0x8f: st = push(m, ckpt__g_node(g, CKPT_K_SET)); break;
        case ')': st = push(m, g->empty_tuple); break;
        case 'a': /* APPEND */
            if ((st = pop(m, &v)) || (st = top(m, &a))) break;
            st = extend(m, a, &v, 1);
            break;
        case 'e': /* APPENDS */
            if ((st = pop_mark(m, &first))) break;
            {
                size_t n = m->sp - first;
                m->sp = first;
                if ((st = top(m, &a))) break;
                st = extend(m, a, stack_at(m, first), n);
            }
            break;
        case 'l': /* LIST */
        case 't': /* TUPLE */
        case 0x91: /* FROZENSET */
        case 'd': /* DICT */
        case 'o': { /* OBJ */
            if ((st = pop_mark(m, &first))) break;
            size_t n = m->sp - first;
            ckpt_value **items = stack_at(m, first);
            m->sp = first;
            if (op == 't') { v = tuple_from(m, items, n); if (!v) { st = container_fail(m, n > lim->max_container ? CKPT_E_LIMIT : CKPT_E_NOMEM, "tuple"); break; } }
            else if (op == 'l') {
                v = ckpt__g_node(g, CKPT_K_LIST);
                if (!v) { st = nomem(m); break; }
                if ((st = extend(m, v, items, n))) break;
            } else if (op == 0x91) {
                v = ckpt__g_node(g, CKPT_K_FROZENSET);
                if (!v) { st = nomem(m); break; }
                for (size_t i = 0; i < n && !st; i++) {
                    ckpt_status s2 = ckpt__set_add(g, v, items[i]);
                    if (s2) st = container_fail(m, s2, "frozenset item");
                }
                if (st) break;
            } else if (op == 'd') {
                v = ckpt__g_node(g, CKPT_K_DICT);
                if (!v) { st = nomem(m); break; }
                if ((st = add_pairs(m, v, items, n))) break;
            } else { /* OBJ */
                if (n == 0) { st = fail(m, CKPT_E_STACK, "OBJ without a class after MARK"); break; }
                v = new_obj(m, CKPT_CALL_OBJ, items[0], NULL); /* ids: the object before its args */
                if (!v || !(v->u.o.args = tuple_from(m, items + 1, n - 1))) { st = nomem(m); break; }
            }
            st = push(m, v);
            break;
        }
        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: { /* TUPLE3 */
            size_t n = (size_t)(op - 0x84);
            if (m->sp - cur_mark(m) < n) { st = fail(m, CKPT_E_STACK, "needs %zu values above the last MARK", n); break; }
            m->sp -= n;
            v = tuple_from(m, stack_at(m, m->sp), n);
            st = push(m, v);
            break;
        }
        case 's': /* SETITEM */
            if ((st = pop(m, &b)) || (st = pop(m, &a)) || (st = top(m, &c))) break;
            {
                ckpt_value *kv[2] = {a, b};
                st = set_items(m, c, kv, 2);
            }
            break;
        case 'u': /* SETITEMS */
            if ((st = pop_mark(m, &first))) break;
            {
                size_t n = m->sp - first;
                m->sp = first;
                if ((st = top(m, &c))) break;
                st = set_items(m, c, stack_at(m, first), n);
            }
            break;
        case 0x90: /* ADDITEMS */
            if ((st = pop_mark(m, &first))) break;
            {
                size_t n = m->sp - first;
                m->sp = first;
                if ((st = top(m, &c))) break;
                if (c->kind == CKPT_K_SET) {
                    for (size_t i = 0; i < n && !st; i++) {
                        ckpt_status s2 = ckpt__set_add(g, c, m->stack[first + i]);
                        if (s2) st = container_fail(m, s2, "set item");
                    }
                } else if (c->kind == CKPT_K_OBJECT) {
                    st = extend(m, c, stack_at(m, first), n);
                } else {
                    st = fail(m, CKPT_E_STACK, "ADDITEMS on a %s", ckpt_kind_name((ckpt_kind)c->kind));
                }
            }
            break;
        case 'g': { /* GET */
            uint64_t key;
            if ((st = memo_key_text(m, &key))) break;
            st = memo_get(m, key);
            break;
        }
        case 'h': /* BINGET */
            if ((st = need(m, 1))) break;
            m->pos += 1;
            st = memo_get(m, p[0]);
            break;
        case 'j': /* LONG_BINGET */
            if ((st = need(m, 4))) break;
            m->pos += 4;
            st = memo_get(m, rd_u32(p));
            break;
        case 'p': { /* PUT */
            uint64_t key;
            if ((st = memo_key_text(m, &key))) break;
            st = op_put(m, key);
            break;
        }
        case 'q': /* BINPUT */
            if ((st = need(m, 1))) break;
            m->pos += 1;
            st = op_put(m, p[0]);
            break;
        case 'r': /* LONG_BINPUT */
            if ((st = need(m, 4))) break;
            m->pos += 4;
            st = op_put(m, rd_u32(p));
            break;
        case 0x94: /* MEMOIZE */
            st = op_put(m, m->memo_count);
            break;
        case 0x82: /* EXT1 */
            if ((st = need(m, 1))) break;
            m->pos += 1;
            st = op_ext(m, p[0]);
            break;
        case 0x83: /* EXT2 */
            if ((st = need(m, 2))) break;
            m->pos += 2;
            st = op_ext(m, p[0] | (p[1] << 8));
            break;
        case 0x84: /* EXT4 */
            if ((st = need(m, 4))) break;
            m->pos += 4;
            st = op_ext(m, (int32_t)rd_u32(p));
            break;
        case 'c': /* GLOBAL */
            if ((st = read_global_text(m, &v))) break;
            st = push(m, v);
            break;
        case 0x93: /* STACK_GLOBAL */
            if ((st = pop(m, &b)) || (st = pop(m, &a))) break;
            if (a->kind != CKPT_K_STR || b->kind != CKPT_K_STR) {
                notify_global(m, NULL, NULL);
                st = fail(m, CKPT_E_STACK, "STACK_GLOBAL operands must be str (got %s and %s)",
                          ckpt_kind_name((ckpt_kind)a->kind), ckpt_kind_name((ckpt_kind)b->kind));
                break;
            }
            if (memchr(a->u.s.p, 0, ckpt__s_len(a)) || memchr(b->u.s.p, 0, ckpt__s_len(b))) {
                notify_global(m, NULL, NULL);
                st = fail(m, CKPT_E_FORMAT, "STACK_GLOBAL name contains a NUL byte");
                break;
            }
            v = new_global(m, a->u.s.p, ckpt__s_len(a), b->u.s.p, ckpt__s_len(b));
            if (!v) { st = nomem(m); break; }
            notify_global(m, v->u.g.module, v->u.g.name);
            st = push(m, v);
            break;
        case 'R': st = op_call(m, CKPT_CALL_REDUCE); break;
        case 0x81: st = op_call(m, CKPT_CALL_NEWOBJ); break;
        case 0x92: st = op_call(m, CKPT_CALL_NEWOBJ_EX); break;
        case 'b': st = op_build(m); break;
        case 'i': { /* INST */
            ckpt_value *cls;
            if ((st = read_global_text(m, &cls))) break;
            if ((st = pop_mark(m, &first))) break;
            size_t n = m->sp - first;
            m->sp = first;
            v = new_obj(m, CKPT_CALL_INST, cls, NULL); /* ids: the object before its args */
            if (!v || !(v->u.o.args = tuple_from(m, stack_at(m, first), n))) { st = nomem(m); break; }
            st = push(m, v);
            break;
        }
        case 0x80: /* PROTO */
            if ((st = need(m, 1))) break;
            m->pos += 1;
            if (p[0] > 5) { st = fail(m, CKPT_E_UNSUPPORTED, "unsupported pickle protocol %u", p[0]); break; }
            m->protocol = p[0];
            break;
        case 0x95: { /* FRAME */
            if ((st = need(m, 8))) break;
            uint64_t n = rd_u64(p);
            m->pos += 8;
            if (n > m->total - m->pos)
                st = fail(m, CKPT_E_TRUNCATED, "frame of %llu bytes but only %zu left", (unsigned long long)n, m->total - m->pos);
            break;
        }
        case 'P': { /* PERSID */
            const uint8_t *s;
            size_t n;
            if ((st = read_line(m, &s, &n))) break;
            for (size_t i = 0; i < n; i++)
                if (s[i] >= 0x80) { st = fail(m, CKPT_E_FORMAT, "persistent IDs in protocol 0 must be ASCII strings"); break; }
            if (st) break;
            v = new_str_node(m, CKPT_K_STR, s, n, 1);
            if (!v) { st = nomem(m); break; }
            st = op_persid(m, v);
            break;
        }
        case 'Q': /* BINPERSID */
            if ((st = pop(m, &v))) break;
            st = op_persid(m, v);
            break;
        default:
            st = fail(m, CKPT_E_OPCODE, "unknown opcode byte 0x%02x", op);
            break;
        }
        if (st) break;
    }
done:
    if (info && st) {
        info->ops = ops;
        info->protocol = m->protocol >= 0 ? m->protocol : m->max_proto;
    }
    ckpt__g_free(g, m->stack);
    ckpt__g_free(g, m->marks);
    for (size_t b = 0; b < m->memo_blocks; b++) ckpt__g_free(g, m->memo[b]);
    ckpt__g_free(g, m->memo);
    ckpt__g_trim(g);
    if (st == CKPT_OK) ckpt_error_clear(err);
    return st;
}
