/*
 * pickle_disasm.c - the opcode table (pickletools order) and a disassembler
 * that walks one pickle without building values, rendering arguments the way
 * pickletools.dis prints them (Python repr).
 */
#include "pickle_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum argtype {
    A_NONE, A_U1, A_U2, A_I4, A_U4, A_U8, A_DEC_SHORT, A_DEC_LONG, A_LONG1, A_LONG4,
    A_STRINGNL, A_STRINGNL_NOESC, A_STRINGNL_PAIR, A_STRING4, A_STRING1, A_BYTES1, A_BYTES4,
    A_BYTES8, A_BYTEARRAY8, A_UNICODENL, A_UNICODE1, A_UNICODE4, A_UNICODE8, A_FLOATNL, A_FLOAT8
} argtype;

/* npop: values popped (-1: everything down to and including the MARK) */
typedef struct opinfo {
    uint8_t code;
    const char *name;
    int8_t proto;
    uint8_t arg;
    int8_t npop, npush;
} opinfo;

static const opinfo ops[] = {
    {'I', "INT", 0, A_DEC_SHORT, 0, 1},
    {'J', "BININT", 1, A_I4, 0, 1},
    {'K', "BININT1", 1, A_U1, 0, 1},
    {'M', "BININT2", 1, A_U2, 0, 1},
    {'L', "LONG", 0, A_DEC_LONG, 0, 1},
    {0x8a, "LONG1", 2, A_LONG1, 0, 1},
    {0x8b, "LONG4", 2, A_LONG4, 0, 1},
    {'S', "STRING", 0, A_STRINGNL, 0, 1},
    {'T', "BINSTRING", 1, A_STRING4, 0, 1},
    {'U', "SHORT_BINSTRING", 1, A_STRING1, 0, 1},
    {'B', "BINBYTES", 3, A_BYTES4, 0, 1},
    {'C', "SHORT_BINBYTES", 3, A_BYTES1, 0, 1},
    {0x8e, "BINBYTES8", 4, A_BYTES8, 0, 1},
    {0x96, "BYTEARRAY8", 5, A_BYTEARRAY8, 0, 1},
    {0x97, "NEXT_BUFFER", 5, A_NONE, 0, 1},
    {0x98, "READONLY_BUFFER", 5, A_NONE, 1, 1},
    {'N', "NONE", 0, A_NONE, 0, 1},
    {0x88, "NEWTRUE", 2, A_NONE, 0, 1},
    {0x89, "NEWFALSE", 2, A_NONE, 0, 1},
    {'V', "UNICODE", 0, A_UNICODENL, 0, 1},
    {0x8c, "SHORT_BINUNICODE", 4, A_UNICODE1, 0, 1},
    {'X', "BINUNICODE", 1, A_UNICODE4, 0, 1},
    {0x8d, "BINUNICODE8", 4, A_UNICODE8, 0, 1},
    {'F', "FLOAT", 0, A_FLOATNL, 0, 1},
    {'G', "BINFLOAT", 1, A_FLOAT8, 0, 1},
    {']', "EMPTY_LIST", 1, A_NONE, 0, 1},
    {'a', "APPEND", 0, A_NONE, 2, 1},
    {'e', "APPENDS", 1, A_NONE, -1, 0},
    {'l', "LIST", 0, A_NONE, -1, 1},
    {')', "EMPTY_TUPLE", 1, A_NONE, 0, 1},
    {'t', "TUPLE", 0, A_NONE, -1, 1},
    {0x85, "TUPLE1", 2, A_NONE, 1, 1},
    {0x86, "TUPLE2", 2, A_NONE, 2, 1},
    {0x87, "TUPLE3", 2, A_NONE, 3, 1},
    {'}', "EMPTY_DICT", 1, A_NONE, 0, 1},
    {'d', "DICT", 0, A_NONE, -1, 1},
    {'s', "SETITEM", 0, A_NONE, 3, 1},
    {'u', "SETITEMS", 1, A_NONE, -1, 0},
    {0x8f, "EMPTY_SET", 4, A_NONE, 0, 1},
    {0x90, "ADDITEMS", 4, A_NONE, -1, 0},
    {0x91, "FROZENSET", 4, A_NONE, -1, 1},
    {'0', "POP", 0, A_NONE, 1, 0},
    {'2', "DUP", 0, A_NONE, 1, 2},
    {'(', "MARK", 0, A_NONE, 0, 1},
    {'1', "POP_MARK", 1, A_NONE, -1, 0},
    {'g', "GET", 0, A_DEC_SHORT, 0, 1},
    {'h', "BINGET", 1, A_U1, 0, 1},
    {'j', "LONG_BINGET", 1, A_U4, 0, 1},
    {'p', "PUT", 0, A_DEC_SHORT, 0, 0},
    {'q', "BINPUT", 1, A_U1, 0, 0},
    {'r', "LONG_BINPUT", 1, A_U4, 0, 0},
    {0x94, "MEMOIZE", 4, A_NONE, 0, 0},
    {0x82, "EXT1", 2, A_U1, 0, 1},
    {0x83, "EXT2", 2, A_U2, 0, 1},
    {0x84, "EXT4", 2, A_I4, 0, 1},
    {'c', "GLOBAL", 0, A_STRINGNL_PAIR, 0, 1},
    {0x93, "STACK_GLOBAL", 4, A_NONE, 2, 1},
    {'R', "REDUCE", 0, A_NONE, 2, 1},
    {'b', "BUILD", 0, A_NONE, 2, 1},
    {'i', "INST", 0, A_STRINGNL_PAIR, -1, 1},
    {'o', "OBJ", 1, A_NONE, -1, 1},
    {0x81, "NEWOBJ", 2, A_NONE, 2, 1},
    {0x92, "NEWOBJ_EX", 4, A_NONE, 3, 1},
    {0x80, "PROTO", 2, A_U1, 0, 0},
    {'.', "STOP", 0, A_NONE, 1, 0},
    {0x95, "FRAME", 4, A_U8, 0, 0},
    {'P', "PERSID", 0, A_STRINGNL_NOESC, 0, 1},
    {'Q', "BINPERSID", 1, A_NONE, 1, 1},
};

#define NOPS ((int)(sizeof ops / sizeof ops[0]))

/* opcode byte -> index in ops[] + 1 (0: not an opcode); generated from pickletools.opcodes */
static const uint8_t op_index[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0, 44, 30,  0,  0,  0,  0, 65,  0,
    42, 45, 43,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0, 11, 12,  0,  0, 24, 25,  0,  1,  2,  3,  5,  4, 17,  0,
    67, 68, 58,  8,  9, 10, 20,  0, 22,  0,  0,  0,  0, 26,  0,  0,
     0, 27, 59, 56, 36, 28,  0, 46, 47, 60, 48,  0, 29,  0,  0, 61,
    49, 50, 51, 37, 31, 38,  0,  0,  0,  0,  0,  0,  0, 35,  0,  0,
    64, 62, 53, 54, 55, 32, 33, 34, 18, 19,  6,  7, 21, 23, 13, 39,
    40, 41, 63, 57, 52, 66, 14, 15, 16,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

static const opinfo *lookup(uint8_t c) { return op_index[c] ? &ops[op_index[c] - 1] : NULL; }

const char *ckpt_opcode_name(uint8_t code) {
    const opinfo *o = lookup(code);
    return o ? o->name : NULL;
}
int ckpt_opcode_proto(uint8_t code) {
    const opinfo *o = lookup(code);
    return o ? o->proto : -1;
}
int ckpt_opcode_count(void) { return NOPS; }
uint8_t ckpt_opcode_at(int i) { return i >= 0 && i < NOPS ? ops[i].code : 0; }

/* ------------------------------------------------------------ rendering */

#define MAX_RENDER (1u << 20) /* longer arguments are cut with "..." */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int full;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->full) return;
    if (b->n + n + 4 > MAX_RENDER) {
        b->full = 1;
        n = 0;
    }
    if (b->n + n + 4 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 4) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) { b->full = 1; return; }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    if (b->full) { memcpy(b->p + b->n, "...", 3); b->n += 3; }
    b->p[b->n] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#include <stdarg.h>
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_putn(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* decode one UTF-8 (surrogatepass) code point; returns bytes used (>=1) */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t c = s[0];
    size_t need = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    if (need >= n) { *cp = c; return 1; }
    uint32_t v = need == 0 ? c : need == 1 ? (c & 0x1fu) : need == 2 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t k = 1; k <= need; k++) v = (v << 6) | (s[k] & 0x3fu);
    *cp = v;
    return need + 1;
}

static int printable(uint32_t cp) {
    if (cp < 0x20 || cp == 0x7f) return 0;
    if (cp >= 0x80 && cp <= 0xa0) return 0;
    if (cp == 0xad) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff) return 0;
    if (cp >= 0xe000 && cp <= 0xf8ff) return 0; /* private use */
    return 1;
}

/* Python repr() of a str given as UTF-8 */
static void repr_str(sbuf *b, const uint8_t *s, size_t n) {
    int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    sb_putn(b, &q, 1);
    for (size_t i = 0; i < n && !b->full;) {
        uint32_t cp;
        size_t k = utf8_next(s + i, n - i, &cp);
        if (cp == (uint32_t)q || cp == '\\') { char e[2] = {'\\', (char)cp}; sb_putn(b, e, 2); }
        else if (cp == '\t') sb_puts(b, "\\t");
        else if (cp == '\n') sb_puts(b, "\\n");
        else if (cp == '\r') sb_puts(b, "\\r");
        else if (!printable(cp)) {
            if (cp < 0x100) sb_printf(b, "\\x%02x", cp);
            else if (cp < 0x10000) sb_printf(b, "\\u%04x", cp);
            else sb_printf(b, "\\U%08x", cp);
        } else sb_putn(b, (const char *)s + i, k);
        i += k;
    }
    sb_putn(b, &q, 1);
}

static void repr_latin1(sbuf *b, const uint8_t *s, size_t n) {
    /* transcode to UTF-8 then repr */
    uint8_t *t = malloc(n * 2 + 1);
    if (!t) { b->full = 1; return; }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80) t[o++] = s[i];
        else { t[o++] = (uint8_t)(0xc0 | (s[i] >> 6)); t[o++] = (uint8_t)(0x80 | (s[i] & 0x3f)); }
    }
    repr_str(b, t, o);
    free(t);
}

static void repr_bytes(sbuf *b, const uint8_t *s, size_t n) {
    int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    sb_putn(b, "b", 1);
    sb_putn(b, &q, 1);
    for (size_t i = 0; i < n && !b->full; i++) {
        uint8_t c = s[i];
        if (c == (uint8_t)q || c == '\\') { char e[2] = {'\\', (char)c}; sb_putn(b, e, 2); }
        else if (c == '\t') sb_puts(b, "\\t");
        else if (c == '\n') sb_puts(b, "\\n");
        else if (c == '\r') sb_puts(b, "\\r");
        else if (c < 0x20 || c >= 0x7f) sb_printf(b, "\\x%02x", c);
        else sb_putn(b, (const char *)&c, 1);
    }
    sb_putn(b, &q, 1);
}

/* repr(float): shortest string that round-trips, Python's formatting rules */
static void repr_float(sbuf *b, double d) {
    if (isnan(d)) { sb_puts(b, "nan"); return; }
    if (isinf(d)) { sb_puts(b, d < 0 ? "-inf" : "inf"); return; }
    char tmp[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    /* tmp = [-]D.DDDDe[+-]XX : digits and exponent */
    char digits[32];
    int nd = 0, neg = tmp[0] == '-';
    const char *q = tmp + neg;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    if (neg) sb_puts(b, "-");
    if (exp >= -5 && exp < 16) {
        if (exp < 0) {
            sb_puts(b, "0.");
            for (int k = 0; k < -exp - 1; k++) sb_puts(b, "0");
            sb_puts(b, digits);
        } else {
            for (int k = 0; k <= exp; k++) sb_putn(b, k < nd ? &digits[k] : "0", 1);
            sb_puts(b, ".");
            if (nd > exp + 1) sb_puts(b, digits + exp + 1);
            else sb_puts(b, "0");
        }
    } else {
        sb_putn(b, digits, 1);
        if (nd > 1) {
            sb_puts(b, ".");
            sb_puts(b, digits + 1);
        }
        sb_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
}

/* decimal of a little-endian two's complement integer: the magnitude in base-2^32
   limbs divided by 10^9 per pass (nine digits per pass over n/4 limbs; n <= 8192). */
static void repr_int_le(sbuf *b, const uint8_t *s, size_t n) {
    if (n == 0) { sb_puts(b, "0"); return; }
    if (n > 8192) { sb_printf(b, "<int of %zu bytes>", n); return; }
    int neg = (s[n - 1] & 0x80) != 0;
    size_t nl = (n + 3) / 4;
    /* digits <= n*8*log10(2) + 1; chunks of nine digits */
    size_t nc_max = (n * 8 * 30103 / 100000 + 1) / 9 + 2;
    uint32_t *mag = calloc(nl, sizeof *mag);
    uint32_t *chunk = malloc(nc_max * sizeof *chunk);
    if (!mag || !chunk) { free(mag); free(chunk); b->full = 1; return; }
    unsigned carry = 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t byte = s[i];
        if (neg) {
            unsigned t = (unsigned)(uint8_t)~s[i] + carry;
            byte = (uint8_t)t;
            carry = t >> 8;
        }
        mag[i / 4] |= (uint32_t)byte << (8 * (i % 4));
    }
    size_t len = nl, nc = 0;
    while (len > 0 && mag[len - 1] == 0) len--;
    while (len > 0 && nc < nc_max) {
        uint64_t rem = 0;
        for (size_t i = len; i-- > 0;) {
            uint64_t cur = (rem << 32) | mag[i];
            mag[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        chunk[nc++] = (uint32_t)rem;
        while (len > 0 && mag[len - 1] == 0) len--;
    }
    if (neg) sb_puts(b, "-");
    if (nc == 0) {
        sb_puts(b, "0");
    } else {
        sb_printf(b, "%u", (unsigned)chunk[nc - 1]);
        for (size_t i = nc - 1; i-- > 0;) sb_printf(b, "%09u", (unsigned)chunk[i]);
    }
    free(mag);
    free(chunk);
}

/* ------------------------------------------------------------ the walk */

typedef struct dwalk {
    const uint8_t *buf;
    size_t len, pos, op_off;
    const opinfo *op;
    ckpt_error *err;
} dwalk;

static ckpt_status dfail(dwalk *w, ckpt_status s, const char *what) {
    return ckpt_error_set(w->err, s, (int64_t)w->op_off, "%s at offset %zu: %s",
                          w->op ? w->op->name : "opcode", w->op_off, what);
}

static ckpt_status dneed(dwalk *w, uint64_t n) {
    if (w->len - w->pos < n) return dfail(w, CKPT_E_TRUNCATED, "argument runs past the end of the input");
    return CKPT_OK;
}

static ckpt_status dline(dwalk *w, const uint8_t **s, size_t *n) {
    const uint8_t *p = w->buf + w->pos;
    const uint8_t *nl = memchr(p, '\n', w->len - w->pos);
    if (!nl) return dfail(w, CKPT_E_TRUNCATED, "text argument has no terminating newline");
    *s = p;
    *n = (size_t)(nl - p);
    w->pos += *n + 1;
    return CKPT_OK;
}

static ckpt_status render_arg(dwalk *w, sbuf *b) {
    const uint8_t *p = w->buf + w->pos, *s = NULL;
    size_t n = 0;
    ckpt_status st = CKPT_OK;
    switch ((argtype)w->op->arg) {
    case A_NONE: break;
    case A_U1: if ((st = dneed(w, 1))) break; sb_printf(b, "%u", p[0]); w->pos += 1; break;
    case A_U2: if ((st = dneed(w, 2))) break; sb_printf(b, "%u", p[0] | (p[1] << 8)); w->pos += 2; break;
    case A_I4:
    case A_U4: {
        if ((st = dneed(w, 4))) break;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (w->op->arg == A_I4) sb_printf(b, "%d", (int32_t)u);
        else sb_printf(b, "%u", u);
        w->pos += 4;
        break;
    }
    case A_U8: {
        if ((st = dneed(w, 8))) break;
        uint64_t u = 0;
        for (int k = 7; k >= 0; k--) u = (u << 8) | p[k];
        sb_printf(b, "%llu", (unsigned long long)u);
        w->pos += 8;
        break;
    }
    case A_DEC_SHORT:
    case A_DEC_LONG:
        if ((st = dline(w, &s, &n))) break;
        if (w->op->arg == A_DEC_SHORT && n == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1')) {
            sb_puts(b, s[1] == '1' ? "True" : "False");
            break;
        }
        if (w->op->arg == A_DEC_LONG && n && s[n - 1] == 'L') n--;
        {
            /* normalise: sign, strip leading zeros */
            size_t i = 0;
            int neg = 0;
            if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
            while (i + 1 < n && s[i] == '0') i++;
            int zero = (n - i == 1 && s[i] == '0');
            if (neg && !zero) sb_puts(b, "-");
            sb_putn(b, (const char *)s + i, n - i);
        }
        break;
    case A_LONG1:
    case A_LONG4: {
        size_t hn = w->op->arg == A_LONG1 ? 1 : 4;
        if ((st = dneed(w, hn))) break;
        int64_t cnt = hn == 1 ? p[0] : (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        if (cnt < 0) { st = dfail(w, CKPT_E_FORMAT, "negative byte count"); break; }
        w->pos += hn;
        if ((st = dneed(w, (uint64_t)cnt))) break;
        repr_int_le(b, w->buf + w->pos, (size_t)cnt);
        w->pos += (size_t)cnt;
        break;
    }
    case A_STRINGNL:
        if ((st = dline(w, &s, &n))) break;
        if (n < 2 || s[0] != s[n - 1] || (s[0] != '\'' && s[0] != '"')) { st = dfail(w, CKPT_E_FORMAT, "STRING argument not quoted"); break; }
        {
            /* escape_decode then latin-1 */
            uint8_t *d = malloc(n);
            if (!d) { st = CKPT_E_NOMEM; break; }
            size_t o = 0;
            for (size_t i = 1; i < n - 1;) {
                if (s[i] != '\\' || i + 1 >= n - 1) { d[o++] = s[i++]; continue; }
                uint8_t c = s[i + 1];
                i += 2;
                switch (c) {
                case '\n': break;
                case 'n': d[o++] = '\n'; break;
                case 't': d[o++] = '\t'; break;
                case 'r': d[o++] = '\r'; break;
                case 'b': d[o++] = '\b'; break;
                case 'f': d[o++] = '\f'; break;
                case 'v': d[o++] = '\v'; break;
                case 'a': d[o++] = '\a'; break;
                case '\\': case '\'': case '"': d[o++] = c; break;
                case 'x':
                    if (i + 1 < n - 1 && isxdigit(s[i]) && isxdigit(s[i + 1])) {
                        char h[3] = {(char)s[i], (char)s[i + 1], 0};
                        d[o++] = (uint8_t)strtoul(h, NULL, 16);
                        i += 2;
                    } else { d[o++] = '\\'; d[o++] = 'x'; }
                    break;
                default:
                    if (c >= '0' && c <= '7') {
                        unsigned v = (unsigned)(c - '0');
                        for (int k = 0; k < 2 && i < n - 1 && s[i] >= '0' && s[i] <= '7'; k++) v = v * 8 + (unsigned)(s[i++] - '0');
                        d[o++] = (uint8_t)v;
                    } else { d[o++] = '\\'; d[o++] = c; }
                }
            }
            repr_latin1(b, d, o);
            free(d);
        }
        break;
    case A_STRINGNL_NOESC:
        if ((st = dline(w, &s, &n))) break;
        repr_latin1(b, s, n);
        break;
    case A_STRINGNL_PAIR: {
        const uint8_t *s2 = NULL;
        size_t n2 = 0;
        if ((st = dline(w, &s, &n)) || (st = dline(w, &s2, &n2))) break;
        uint8_t *t = malloc(n + n2 + 1);
        if (!t) { st = CKPT_E_NOMEM; break; }
        memcpy(t, s, n);
        t[n] = ' ';
        memcpy(t + n + 1, s2, n2);
        repr_latin1(b, t, n + n2 + 1);
        free(t);
        break;
    }
    case A_STRING4:
    case A_STRING1:
    case A_BYTES1:
    case A_BYTES4:
    case A_BYTES8:
    case A_BYTEARRAY8:
    case A_UNICODE1:
    case A_UNICODE4:
    case A_UNICODE8: {
        argtype t = (argtype)w->op->arg;
        size_t hn = (t == A_STRING1 || t == A_BYTES1 || t == A_UNICODE1) ? 1 : (t == A_BYTES8 || t == A_BYTEARRAY8 || t == A_UNICODE8) ? 8 : 4;
        if ((st = dneed(w, hn))) break;
        uint64_t cnt = 0;
        for (size_t k = hn; k-- > 0;) cnt = (cnt << 8) | p[k];
        if (t == A_STRING4 && (int32_t)cnt < 0) { st = dfail(w, CKPT_E_FORMAT, "negative length"); break; }
        w->pos += hn;
        if ((st = dneed(w, cnt))) break;
        const uint8_t *d = w->buf + w->pos;
        if (t == A_STRING4 || t == A_STRING1) repr_latin1(b, d, (size_t)cnt);
        else if (t == A_UNICODE1 || t == A_UNICODE4 || t == A_UNICODE8) {
            if (!ckpt__utf8_valid(d, (size_t)cnt)) { st = dfail(w, CKPT_E_FORMAT, "string is not valid UTF-8"); break; }
            repr_str(b, d, (size_t)cnt);
        } else if (t == A_BYTEARRAY8) {
            sb_puts(b, "bytearray(");
            repr_bytes(b, d, (size_t)cnt);
            sb_puts(b, ")");
        } else repr_bytes(b, d, (size_t)cnt);
        w->pos += (size_t)cnt;
        break;
    }
    case A_UNICODENL:
        if ((st = dline(w, &s, &n))) break;
        {
            /* raw-unicode-escape -> UTF-8 */
            uint8_t *d = malloc(n * 4 + 1);
            if (!d) { st = CKPT_E_NOMEM; break; }
            size_t o = 0;
            for (size_t i = 0; i < n;) {
                if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
                    size_t bs = 0;
                    for (size_t k = i; k > 0 && s[k - 1] == '\\'; k--) bs++;
                    if ((bs & 1) == 0) {
                        int nd = s[i + 1] == 'u' ? 4 : 8;
                        if (i + 2 + (size_t)nd <= n) {
                            char h[9];
                            memcpy(h, s + i + 2, (size_t)nd);
                            h[nd] = 0;
                            uint32_t cp = (uint32_t)strtoul(h, NULL, 16);
                            if (cp < 0x80) d[o++] = (uint8_t)cp;
                            else if (cp < 0x800) { d[o++] = (uint8_t)(0xc0 | (cp >> 6)); d[o++] = (uint8_t)(0x80 | (cp & 0x3f)); }
                            else if (cp < 0x10000) { d[o++] = (uint8_t)(0xe0 | (cp >> 12)); d[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); d[o++] = (uint8_t)(0x80 | (cp & 0x3f)); }
                            else { d[o++] = (uint8_t)(0xf0 | (cp >> 18)); d[o++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)); d[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); d[o++] = (uint8_t)(0x80 | (cp & 0x3f)); }
                            i += 2 + (size_t)nd;
                            continue;
                        }
                    }
                }
                if (s[i] < 0x80) d[o++] = s[i];
                else { d[o++] = (uint8_t)(0xc0 | (s[i] >> 6)); d[o++] = (uint8_t)(0x80 | (s[i] & 0x3f)); }
                i++;
            }
            repr_str(b, d, o);
            free(d);
        }
        break;
    case A_FLOATNL: {
        if ((st = dline(w, &s, &n))) break;
        char tmp[64];
        if (n >= sizeof tmp) { sb_putn(b, (const char *)s, n); break; }
        memcpy(tmp, s, n);
        tmp[n] = 0;
        repr_float(b, strtod(tmp, NULL));
        break;
    }
    case A_FLOAT8: {
        if ((st = dneed(w, 8))) break;
        uint64_t u = 0;
        for (int k = 0; k < 8; k++) u = (u << 8) | p[k];
        double d;
        memcpy(&d, &u, 8);
        repr_float(b, d);
        w->pos += 8;
        break;
    }
    }
    return st;
}

ckpt_status ckpt_pickle_disasm(const uint8_t *buf, size_t len, size_t start,
                               int (*cb)(void *user, const ckpt_disasm_op *op), void *user,
                               ckpt_pickle_info *info, ckpt_error *err) {
    if (info) {
        memset(info, 0, sizeof *info);
        info->start = start;
        info->protocol = 0;
    }
    if ((!buf && len) || start > len) return ckpt_error_set(err, CKPT_E_ARG, -1, "invalid argument");
    dwalk w = {buf, len, start, start, NULL, err};
    sbuf b = {0};
    int64_t depth = 0;
    int marks = 0, proto = -1, maxp = 0;
    /* mark positions are not needed for depth: count items since each MARK */
    int64_t *markdepth = NULL;
    size_t mcap = 0;
    ckpt_status st = CKPT_OK;
    uint64_t nops = 0;
    for (;;) {
        if (w.pos >= w.len) {
            w.op = NULL;
            w.op_off = w.pos;
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)w.pos, "input ends before STOP at offset %zu", w.pos);
            break;
        }
        w.op_off = w.pos;
        uint8_t code = w.buf[w.pos++];
        w.op = lookup(code);
        if (!w.op) {
            st = ckpt_error_set(err, CKPT_E_OPCODE, (int64_t)w.op_off, "unknown opcode byte 0x%02x at offset %zu", code, w.op_off);
            break;
        }
        if (w.op->proto > maxp) maxp = w.op->proto;
        nops++;
        if (info) info->opcode_count[code]++;
        b.n = 0;
        b.full = 0;
        if (b.p) b.p[0] = 0;
        if ((st = render_arg(&w, &b))) break;
        if (code == 0x80 && w.pos > 0) proto = w.buf[w.pos - 1];
        ckpt_disasm_op op = {w.op_off, code, w.op->name, b.p ? b.p : "", depth, marks};
        if (cb && cb(user, &op)) { st = CKPT_OK; break; }
        /* stack effect */
        if (code == '(') {
            if ((size_t)marks == mcap) {
                size_t nc = mcap ? mcap * 2 : 32;
                int64_t *nm = realloc(markdepth, nc * sizeof *nm);
                if (!nm) { st = CKPT_E_NOMEM; break; }
                markdepth = nm;
                mcap = nc;
            }
            markdepth[marks++] = depth;
            depth++;
        } else if (w.op->npop < 0) {
            if (marks > 0) depth = markdepth[--marks];
            else depth = 0;
            depth += w.op->npush;
        } else if (code == '0' && marks > 0 && depth == markdepth[marks - 1] + 1) {
            depth = markdepth[--marks]; /* POP of a MARK */
        } else {
            depth -= w.op->npop;
            if (depth < 0) depth = 0;
            depth += w.op->npush;
        }
        if (code == '.') break;
    }
    if (info) {
        info->end = w.pos;
        info->ops = nops;
        info->protocol = proto >= 0 ? proto : maxp;
    }
    free(b.p);
    free(markdepth);
    return st;
}
