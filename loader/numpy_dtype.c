/*
 * numpy_dtype.c - NumPy dtypes: from type strings ("<f8", "|S5", "<M8[ns]")
 * and from pickled numpy.dtype objects (REDUCE numpy.dtype(typestr, align,
 * copy) + BUILD state), including structured dtypes (names, offsets, nested
 * fields), subarrays, byte order and datetime units; and byte swapping of
 * data stored in a non-native order.
 *
 * Descriptions live in f->graph's arena (freed by ckpt_close).  Nested dtype
 * objects are resolved with an explicit stack bounded by limits.max_depth;
 * shared (memoized) dtype nodes are described once per call.
 */
#include "loader_internal.h"
#include "numpy_internal.h"
#include "pickle_internal.h" /* ckpt__g_alloc: the graph arena */

#include <stdio.h>
#include <string.h>

typedef struct ckpt__dtype {
    ckpt_dtype_info info;          /* first member: a ckpt_dtype_info* is a ckpt__dtype* */
    const ckpt_dtype_info *base;   /* subarray: the base element; NULL otherwise */
    char unit[24];
} ckpt__dtype;

#define NP_MAX_UNIT 16          /* characters in a datetime unit ("10ms") */
#define NP_MAX_TYPESTR 64       /* characters in a numpy type string */

/* ---- builtin simple types ---- */

#define B(t, bo, sz, s) {{t, bo, sz, s, NULL, 0, NULL, 0, NULL}, NULL, {0}}
static const ckpt__dtype builtin_tab[CKPT_DT__COUNT] = {
    [CKPT_DT_BOOL] = B(CKPT_DT_BOOL, '|', 1, "|b1"),
    [CKPT_DT_INT8] = B(CKPT_DT_INT8, '|', 1, "|i1"),
    [CKPT_DT_INT16] = B(CKPT_DT_INT16, '<', 2, "<i2"),
    [CKPT_DT_INT32] = B(CKPT_DT_INT32, '<', 4, "<i4"),
    [CKPT_DT_INT64] = B(CKPT_DT_INT64, '<', 8, "<i8"),
    [CKPT_DT_UINT8] = B(CKPT_DT_UINT8, '|', 1, "|u1"),
    [CKPT_DT_UINT16] = B(CKPT_DT_UINT16, '<', 2, "<u2"),
    [CKPT_DT_UINT32] = B(CKPT_DT_UINT32, '<', 4, "<u4"),
    [CKPT_DT_UINT64] = B(CKPT_DT_UINT64, '<', 8, "<u8"),
    [CKPT_DT_FLOAT16] = B(CKPT_DT_FLOAT16, '<', 2, "<f2"),
    [CKPT_DT_BFLOAT16] = B(CKPT_DT_BFLOAT16, '<', 2, "<bf16"),
    [CKPT_DT_FLOAT32] = B(CKPT_DT_FLOAT32, '<', 4, "<f4"),
    [CKPT_DT_FLOAT64] = B(CKPT_DT_FLOAT64, '<', 8, "<f8"),
    [CKPT_DT_COMPLEX64] = B(CKPT_DT_COMPLEX64, '<', 8, "<c8"),
    [CKPT_DT_COMPLEX128] = B(CKPT_DT_COMPLEX128, '<', 16, "<c16"),
    [CKPT_DT_OBJECT] = B(CKPT_DT_OBJECT, '|', 8, "|O"),
    [CKPT_DT_DATETIME64] = B(CKPT_DT_DATETIME64, '<', 8, "<M8"),
    [CKPT_DT_TIMEDELTA64] = B(CKPT_DT_TIMEDELTA64, '<', 8, "<m8"),
    [CKPT_DT_QINT8] = B(CKPT_DT_QINT8, '|', 1, "|qi1"),
    [CKPT_DT_QUINT8] = B(CKPT_DT_QUINT8, '|', 1, "|qu1"),
    [CKPT_DT_QINT32] = B(CKPT_DT_QINT32, '<', 4, "<qi4"),
    [CKPT_DT_QUINT4X2] = B(CKPT_DT_QUINT4X2, '|', 1, "|qu4x2"),
};
#undef B

const ckpt_dtype_info *ckpt__dtype_builtin(ckpt_dtype t) {
    if ((int)t <= 0 || t >= CKPT_DT__COUNT || builtin_tab[t].info.type != t) return NULL;
    return &builtin_tab[t].info;
}

const ckpt_dtype_info *ckpt__dtype_base(const ckpt_dtype_info *dt) {
    if (!dt) return NULL;
    const ckpt__dtype *d = (const ckpt__dtype *)dt;
    return d->base ? d->base : dt;
}

int ckpt__dtype_has_object(const ckpt_dtype_info *dt) {
    if (!dt) return 0;
    if (dt->type == CKPT_DT_OBJECT) return 1;
    /* fields: nested dtypes were built bottom-up; check one level per field
       plus the base, every nested description already knows via its type
       or fields, so walk with an explicit stack */
    const ckpt_dtype_info *stack[64];
    size_t sp = 0;
    stack[sp++] = dt;
    while (sp) {
        const ckpt_dtype_info *d = ckpt__dtype_base(stack[--sp]);
        if (d->type == CKPT_DT_OBJECT) return 1;
        for (uint32_t i = 0; i < d->nfields; i++) {
            const ckpt_dtype_info *fd = d->fields[i].dtype;
            if (fd->type == CKPT_DT_OBJECT) return 1;
            if (fd->nfields || ((const ckpt__dtype *)fd)->base) {
                if (sp == 64) return 1; /* too deep to tell: treat as object (refuses raw access) */
                stack[sp++] = fd;
            }
        }
    }
    return 0;
}

/* ---- allocation in the graph arena ---- */

static ckpt_status need_graph(ckpt_file *f, ckpt_error *err) {
    if (f->graph) return CKPT_OK;
    ckpt_status st = ckpt_graph_new(&f->limits, &f->alloc, CKPT_GRAPH_BORROW_INPUT, &f->graph);
    if (st != CKPT_OK) return ckpt_error_set(err, st, -1, "dtype: cannot create the graph arena");
    return CKPT_OK;
}

static void *galloc(ckpt_file *f, size_t n) {
    void *p = ckpt__g_alloc(f->graph, n ? n : 1);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

static ckpt__dtype *new_dtype(ckpt_file *f) { return galloc(f, sizeof(ckpt__dtype)); }

/* ---- type strings ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Fixed type from kind letter + size in bytes; INVALID if none. */
static ckpt_dtype kind_type(char k, uint64_t sz) {
    switch (k) {
    case 'b': return sz == 1 ? CKPT_DT_BOOL : CKPT_DT_INVALID;
    case 'i':
        return sz == 1 ? CKPT_DT_INT8 : sz == 2 ? CKPT_DT_INT16 : sz == 4 ? CKPT_DT_INT32
               : sz == 8 ? CKPT_DT_INT64 : CKPT_DT_INVALID;
    case 'u':
        return sz == 1 ? CKPT_DT_UINT8 : sz == 2 ? CKPT_DT_UINT16 : sz == 4 ? CKPT_DT_UINT32
               : sz == 8 ? CKPT_DT_UINT64 : CKPT_DT_INVALID;
    case 'f':
        return sz == 2 ? CKPT_DT_FLOAT16 : sz == 4 ? CKPT_DT_FLOAT32 : sz == 8 ? CKPT_DT_FLOAT64
               : CKPT_DT_INVALID;
    case 'c': return sz == 8 ? CKPT_DT_COMPLEX64 : sz == 16 ? CKPT_DT_COMPLEX128 : CKPT_DT_INVALID;
    case 'M': return sz == 8 ? CKPT_DT_DATETIME64 : CKPT_DT_INVALID;
    case 'm': return sz == 8 ? CKPT_DT_TIMEDELTA64 : CKPT_DT_INVALID;
    case 'O': return sz == 8 || sz == 0 ? CKPT_DT_OBJECT : CKPT_DT_INVALID;
    default: return CKPT_DT_INVALID;
    }
}

/* Single-character numpy type codes (np.dtype('d') ...). */
static int typecode(char c, char *kind, uint64_t *sz) {
    static const char codes[] = "?bBhHiIlLqQefdFDO";
    static const char kinds[] = "biuiuiuiuiufffccO";
    static const uint8_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 8, 8, 2, 4, 8, 8, 16, 8};
    const char *p = strchr(codes, c);
    if (!c || !p) return 0;
    *kind = kinds[p - codes];
    *sz = sizes[p - codes];
    return 1;
}

static int valid_unit(const char *u, size_t n) {
    static const char *units[] = {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns",
                                  "ps", "fs", "as", "generic", "\xce\xbcs"};
    size_t i = 0;
    while (i < n && is_digit(u[i])) i++;
    if (i == n || n - i > 8) return 0;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k]) == n - i && memcmp(units[k], u + i, n - i) == 0) return 1;
    return 0;
}

static int one_byte(ckpt_dtype t) {
    return t == CKPT_DT_BOOL || t == CKPT_DT_INT8 || t == CKPT_DT_UINT8 || t == CKPT_DT_BYTES ||
           t == CKPT_DT_VOID || t == CKPT_DT_OBJECT;
}

/* Fill str and byteorder of a simple (non-structured) description. */
static void set_str(ckpt__dtype *d, char endian) {
    ckpt_dtype_info *i = &d->info;
    char bo = (endian == '>') ? '>' : '<';
    if (one_byte(i->type) || (i->itemsize <= 1 && i->type != CKPT_DT_UNICODE)) bo = '|';
    i->byteorder = bo;
    unsigned long long sz = (unsigned long long)i->itemsize;
    switch (i->type) {
    case CKPT_DT_BOOL: snprintf(i->str, sizeof i->str, "|b1"); break;
    case CKPT_DT_INT8: case CKPT_DT_INT16: case CKPT_DT_INT32: case CKPT_DT_INT64:
        snprintf(i->str, sizeof i->str, "%ci%llu", bo, sz); break;
    case CKPT_DT_UINT8: case CKPT_DT_UINT16: case CKPT_DT_UINT32: case CKPT_DT_UINT64:
        snprintf(i->str, sizeof i->str, "%cu%llu", bo, sz); break;
    case CKPT_DT_FLOAT16: case CKPT_DT_FLOAT32: case CKPT_DT_FLOAT64:
        snprintf(i->str, sizeof i->str, "%cf%llu", bo, sz); break;
    case CKPT_DT_COMPLEX64: case CKPT_DT_COMPLEX128:
        snprintf(i->str, sizeof i->str, "%cc%llu", bo, sz); break;
    case CKPT_DT_UNICODE: snprintf(i->str, sizeof i->str, "%cU%llu", bo, sz / 4); break;
    case CKPT_DT_BYTES: snprintf(i->str, sizeof i->str, "|S%llu", sz); break;
    case CKPT_DT_VOID: snprintf(i->str, sizeof i->str, "|V%llu", sz); break;
    case CKPT_DT_OBJECT: snprintf(i->str, sizeof i->str, "|O"); break;
    case CKPT_DT_DATETIME64: case CKPT_DT_TIMEDELTA64:
        if (i->unit)
            snprintf(i->str, sizeof i->str, "%c%c8[%s]", bo,
                     i->type == CKPT_DT_DATETIME64 ? 'M' : 'm', i->unit);
        else
            snprintf(i->str, sizeof i->str, "%c%c8", bo, i->type == CKPT_DT_DATETIME64 ? 'M' : 'm');
        break;
    default: snprintf(i->str, sizeof i->str, "|V%llu", sz); break;
    }
}

typedef struct typestr {
    char endian;        /* '<' '>' '|' '=' or 0 */
    char kind;          /* b i u f c U S V O M m */
    uint64_t size;      /* from the digits (U: characters), 0 if none */
    int has_size;
    const char *unit;   /* inside [...] or NULL */
    size_t unit_len;
} typestr;

static ckpt_status parse_typestr(const char *s, size_t n, typestr *t, ckpt_error *err) {
    memset(t, 0, sizeof *t);
    if (n == 0 || n > NP_MAX_TYPESTR)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad type string length %zu", n);
    size_t i = 0;
    if (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=') t->endian = s[i++];
    if (i == n) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: type string has no kind");
    char k = s[i++];
    if (k == 'a') k = 'S';
    if (i == n && !strchr("USVMm", k)) {
        uint64_t sz;
        if (!typecode(k, &t->kind, &sz))
            return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "dtype: unknown type code '%c'", k);
        t->size = sz;
        t->has_size = 1;
        return CKPT_OK;
    }
    if (!strchr("biufcUSVOMm", k))
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "dtype: unsupported type string '%.*s'",
                              (int)n, s);
    t->kind = k;
    uint64_t v = 0;
    size_t d0 = i;
    while (i < n && is_digit(s[i])) {
        if (!ckpt__mul_ok(v, 10, &v) || !ckpt__add_ok(v, (uint64_t)(s[i] - '0'), &v))
            return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: size overflows");
        i++;
    }
    if (i > d0) {
        t->size = v;
        t->has_size = 1;
    }
    if (i < n && s[i] == '[' && (k == 'M' || k == 'm')) {
        size_t u0 = ++i;
        while (i < n && s[i] != ']') i++;
        if (i == n || i == u0 || i - u0 > NP_MAX_UNIT || !valid_unit(s + u0, i - u0))
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad datetime unit in '%.*s'",
                                  (int)n, s);
        t->unit = s + u0;
        t->unit_len = i - u0;
        i++;
    }
    if (i != n)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: trailing characters in '%.*s'",
                              (int)n, s);
    return CKPT_OK;
}

/* Description of a simple type.  `elsize` > 0 overrides the size for flexible
   kinds (bytes); unit may be NULL. */
static ckpt_status make_simple(ckpt_file *f, const typestr *t, char endian, int64_t elsize,
                               const char *unit, size_t unit_len, const ckpt_dtype_info **out,
                               ckpt_error *err) {
    ckpt_dtype type;
    uint64_t itemsize;
    switch (t->kind) {
    case 'U':
        type = CKPT_DT_UNICODE;
        if (elsize > 0) {
            if (elsize % 4) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: U itemsize %lld not a multiple of 4", (long long)elsize);
            itemsize = (uint64_t)elsize;
        } else if (!ckpt__mul_ok(t->size, 4, &itemsize))
            return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: U size overflows");
        break;
    case 'S': type = CKPT_DT_BYTES; itemsize = elsize > 0 ? (uint64_t)elsize : t->size; break;
    case 'V': type = CKPT_DT_VOID; itemsize = elsize > 0 ? (uint64_t)elsize : t->size; break;
    case 'O': type = CKPT_DT_OBJECT; itemsize = 8; break;
    case 'M': case 'm':
        if (t->has_size && t->size != 8)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: datetime size %llu", (unsigned long long)t->size);
        type = t->kind == 'M' ? CKPT_DT_DATETIME64 : CKPT_DT_TIMEDELTA64;
        itemsize = 8;
        break;
    default:
        type = kind_type(t->kind, t->size);
        if (type == CKPT_DT_INVALID)
            return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "dtype: unsupported type %c%llu",
                                  t->kind, (unsigned long long)t->size);
        itemsize = t->size;
        if (elsize > 0 && (uint64_t)elsize != itemsize)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: itemsize %lld does not match %c%llu",
                                  (long long)elsize, t->kind, (unsigned long long)t->size);
    }
    if (!unit && t->unit) {
        unit = t->unit;
        unit_len = t->unit_len;
    }
    if (unit && (type != CKPT_DT_DATETIME64 && type != CKPT_DT_TIMEDELTA64)) unit = NULL;
    if (unit && (unit_len == 7 && memcmp(unit, "generic", 7) == 0)) unit = NULL;
    if (unit && (unit_len >= sizeof ((ckpt__dtype *)0)->unit || !valid_unit(unit, unit_len)))
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad datetime unit");
    /* shared, static descriptions for the common native types */
    if (!unit && (endian != '>' || one_byte(type)) && type != CKPT_DT_UNICODE &&
        type != CKPT_DT_BYTES && type != CKPT_DT_VOID && ckpt__dtype_builtin(type)) {
        *out = ckpt__dtype_builtin(type);
        return CKPT_OK;
    }
    ckpt_status st = need_graph(f, err);
    if (st != CKPT_OK) return st;
    ckpt__dtype *d = new_dtype(f);
    if (!d) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
    d->info.type = type;
    d->info.itemsize = itemsize;
    if (unit) {
        memcpy(d->unit, unit, unit_len);
        d->unit[unit_len] = 0;
        d->info.unit = d->unit;
    }
    set_str(d, endian);
    *out = &d->info;
    return CKPT_OK;
}

ckpt_status ckpt__dtype_from_str(ckpt_file *f, const char *s, size_t n, const ckpt_dtype_info **out,
                                 ckpt_error *err) {
    typestr t;
    ckpt_status st = parse_typestr(s, n, &t, err);
    if (st != CKPT_OK) return st;
    if ((t.kind == 'U' || t.kind == 'S' || t.kind == 'V') && !t.has_size) t.size = 0;
    return make_simple(f, &t, t.endian, -1, NULL, 0, out, err);
}

/* ---- numpy.dtype graph nodes ---- */

typedef struct dparse {
    typestr ts;
    char endian;
    const ckpt_value *subarray;   /* (base dtype, shape) or NULL */
    const ckpt_value *names;      /* tuple of str or NULL */
    const ckpt_value *fields;     /* dict or NULL */
    int version;
    int64_t elsize;
    const ckpt_value *metadata;   /* version 4: 9th item */
} dparse;

static int is_none(const ckpt_value *v) { return !v || ckpt_value_kind(v) == CKPT_K_NONE; }

static int str_or_bytes(const ckpt_value *v, const char **p, size_t *n) {
    ckpt_kind k = ckpt_value_kind(v);
    if (k == CKPT_K_OBJECT) { /* protocol 0-2 bytes: _codecs.encode(str, 'latin1'), ASCII only here */
        const char *c = ckpt_value_canonical(ckpt_value_callable(v));
        const ckpt_value *a = ckpt_value_args(v);
        if (!c || strcmp(c, "_codecs.encode") != 0 || ckpt_value_len(a) != 2) return 0;
        v = ckpt_value_item(a, 0);
        k = ckpt_value_kind(v);
        if (k != CKPT_K_STR) return 0;
        *p = (const char *)ckpt_value_bytes(v, n);
        for (size_t i = 0; i < *n; i++)
            if ((unsigned char)(*p)[i] >= 0x80) return 0;
        return 1;
    }
    if (k != CKPT_K_STR && k != CKPT_K_BYTES) return 0;
    *p = (const char *)ckpt_value_bytes(v, n);
    return *p != NULL || *n == 0;
}

static ckpt_status decode_dtype(const ckpt_value *v, dparse *d, ckpt_error *err) {
    memset(d, 0, sizeof *d);
    d->elsize = -1;
    const char *can = ckpt_value_kind(v) == CKPT_K_OBJECT ? ckpt_value_canonical(ckpt_value_callable(v)) : NULL;
    if (!can || strcmp(can, "numpy.dtype") != 0)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: value is not a numpy.dtype (%s)",
                              can ? can : ckpt_kind_name(ckpt_value_kind(v)));
    const ckpt_value *args = ckpt_value_args(v);
    const char *s;
    size_t n;
    if (ckpt_value_kind(args) != CKPT_K_TUPLE || ckpt_value_len(args) < 1 ||
        !str_or_bytes(ckpt_value_item(args, 0), &s, &n))
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: numpy.dtype arguments are not (typestr, ...)");
    ckpt_status st = parse_typestr(s, n, &d->ts, err);
    if (st != CKPT_OK) return st;
    d->endian = d->ts.endian ? d->ts.endian : '=';
    const ckpt_value *state = ckpt_value_state(v);
    if (!state) return CKPT_OK;
    if (ckpt_value_kind(state) != CKPT_K_TUPLE)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: state is not a tuple");
    size_t len = ckpt_value_len(state), i = 0;
    int64_t ver = 0;
    if (len < 5 || len > 9)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: state tuple of %zu items", len);
    if (len >= 6) {
        if (ckpt_value_int64(ckpt_value_item(state, 0), &ver) != CKPT_OK || ver < 0 || ver > 4)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad state version");
        i = 1;
    }
    d->version = (int)ver;
    const char *e;
    size_t en;
    if (!str_or_bytes(ckpt_value_item(state, i), &e, &en) || en != 1 || !strchr("<>|=", e[0]))
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad byte order in state");
    d->endian = e[0];
    d->subarray = ckpt_value_item(state, i + 1);
    if (len >= 7) {
        d->names = ckpt_value_item(state, i + 2);
        d->fields = ckpt_value_item(state, i + 3);
        i += 4;
    } else {
        d->fields = ckpt_value_item(state, i + 2);
        i += 3;
    }
    if (ckpt_value_int64(ckpt_value_item(state, i), &d->elsize) != CKPT_OK)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad elsize in state");
    if (len == 9) d->metadata = ckpt_value_item(state, 8);
    if (is_none(d->subarray)) d->subarray = NULL;
    if (is_none(d->names)) d->names = NULL;
    if (is_none(d->fields)) d->fields = NULL;
    if (d->fields && ckpt_value_kind(d->fields) != CKPT_K_DICT)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: fields is not a dict");
    if (d->fields && !d->names) {
        /* versions 0/1: the names tuple is fields[-1] */
        for (size_t k = 0; k < ckpt_value_len(d->fields); k++) {
            int64_t key;
            if (ckpt_value_int64(ckpt_value_dict_key(d->fields, k), &key) == CKPT_OK && key == -1) {
                d->names = ckpt_value_dict_val(d->fields, k);
                break;
            }
        }
        if (!d->names) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: fields without names");
    }
    if (d->names && (ckpt_value_kind(d->names) != CKPT_K_TUPLE || !d->fields))
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad names/fields");
    if (d->subarray && (ckpt_value_kind(d->subarray) != CKPT_K_TUPLE || ckpt_value_len(d->subarray) != 2))
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad subarray");
    return CKPT_OK;
}

/* Child dtype node k of a decoded dtype: 0 = subarray base, then field dtypes. */
static size_t n_children(const dparse *d) {
    return (d->subarray ? 1 : 0) + (d->names ? ckpt_value_len(d->names) : 0);
}

static const ckpt_value *field_tuple(const dparse *d, size_t k) {
    const ckpt_value *nm = ckpt_value_item(d->names, k);
    const char *s;
    size_t n;
    if (!str_or_bytes(nm, &s, &n)) return NULL;
    for (size_t j = 0; j < ckpt_value_len(d->fields); j++) {
        const char *ks;
        size_t kn;
        if (str_or_bytes(ckpt_value_dict_key(d->fields, j), &ks, &kn) && kn == n &&
            memcmp(ks, s, n) == 0)
            return ckpt_value_dict_val(d->fields, j);
    }
    return NULL;
}

static const ckpt_value *child(const dparse *d, size_t k) {
    if (d->subarray) {
        if (k == 0) return ckpt_value_item(d->subarray, 0);
        k--;
    }
    const ckpt_value *t = field_tuple(d, k);
    if (ckpt_value_kind(t) != CKPT_K_TUPLE || ckpt_value_len(t) < 2) return NULL;
    return ckpt_value_item(t, 0);
}

/* id -> description map for one resolution (open addressing). */
typedef struct dmap {
    uint64_t *keys; /* id + 1, 0 = empty */
    const ckpt_dtype_info **vals;
    size_t cap, n;
} dmap;

static const ckpt_dtype_info *dmap_get(const dmap *m, const ckpt_value *v) {
    if (!m->cap) return NULL;
    uint64_t key = ckpt_value_id(v) + 1;
    for (size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) return m->vals[i];
        if (!m->keys[i]) return NULL;
    }
}

static int dmap_put(ckpt_file *f, dmap *m, const ckpt_value *v, const ckpt_dtype_info *dt) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        uint64_t *nk = ckpt__calloc(&f->alloc, nc, sizeof *nk);
        const ckpt_dtype_info **nv = ckpt__calloc(&f->alloc, nc, sizeof *nv);
        if (!nk || !nv) {
            ckpt__free(&f->alloc, nk, nc * sizeof *nk);
            ckpt__free(&f->alloc, (void *)nv, nc * sizeof *nv);
            return 0;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t j = (size_t)(m->keys[i] * 0x9E3779B97F4A7C15ull) & (nc - 1);
            while (nk[j]) j = (j + 1) & (nc - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        ckpt__free(&f->alloc, m->keys, m->cap * sizeof *m->keys);
        ckpt__free(&f->alloc, (void *)m->vals, m->cap * sizeof *m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = nc;
    }
    uint64_t key = ckpt_value_id(v) + 1;
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->n++;
    m->keys[i] = key;
    m->vals[i] = dt;
    return 1;
}

static ckpt_status read_shape(const ckpt_value *sv, int64_t *shape, uint32_t *ndim, uint32_t max,
                              ckpt_error *err) {
    int64_t x;
    if (ckpt_value_kind(sv) == CKPT_K_INT) {
        if (ckpt_value_int64(sv, &x) != CKPT_OK || x < 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad subarray shape");
        shape[0] = x;
        *ndim = 1;
        return CKPT_OK;
    }
    if (ckpt_value_kind(sv) != CKPT_K_TUPLE && ckpt_value_kind(sv) != CKPT_K_LIST)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: subarray shape is not a tuple");
    size_t n = ckpt_value_len(sv);
    if (n > max) return ckpt_error_set(err, CKPT_E_LIMIT, -1, "dtype: subarray has %zu dims", n);
    for (size_t i = 0; i < n; i++) {
        if (ckpt_value_int64(ckpt_value_item(sv, i), &x) != CKPT_OK || x < 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad subarray dimension");
        shape[i] = x;
    }
    *ndim = (uint32_t)n;
    return CKPT_OK;
}

/* Build the description of a decoded dtype whose children are all in `m`. */
static ckpt_status build_dtype(ckpt_file *f, const dparse *d, const dmap *m,
                               const ckpt_dtype_info **out, ckpt_error *err) {
    ckpt_status st;
    if (d->subarray) {
        const ckpt_dtype_info *base = dmap_get(m, ckpt_value_item(d->subarray, 0));
        int64_t shape[2 * CKPT_DEFAULT_MAX_NDIM];
        uint32_t nd = 0, max = f->limits.max_ndim < CKPT_DEFAULT_MAX_NDIM ? f->limits.max_ndim
                                                                           : CKPT_DEFAULT_MAX_NDIM;
        st = read_shape(ckpt_value_item(d->subarray, 1), shape, &nd, max, err);
        if (st != CKPT_OK) return st;
        const ckpt__dtype *bd = (const ckpt__dtype *)base;
        if (bd->base) { /* nested subarray: shapes concatenate */
            if (nd + base->sub_ndim > max)
                return ckpt_error_set(err, CKPT_E_LIMIT, -1, "dtype: subarray has too many dims");
            memcpy(shape + nd, base->sub_shape, base->sub_ndim * sizeof *shape);
            nd += base->sub_ndim;
            base = bd->base;
        }
        uint64_t count = 1;
        for (uint32_t i = 0; i < nd; i++)
            if (!ckpt__mul_ok(count, (uint64_t)shape[i], &count))
                return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: subarray size overflows");
        uint64_t total;
        if (!ckpt__mul_ok(count, base->itemsize, &total))
            return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: subarray size overflows");
        if (d->elsize > 0 && (uint64_t)d->elsize != total)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: subarray itemsize %lld != %llu",
                                  (long long)d->elsize, (unsigned long long)total);
        ckpt__dtype *nd_ = new_dtype(f);
        int64_t *ss = nd ? galloc(f, nd * sizeof *ss) : NULL;
        if (!nd_ || (nd && !ss)) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
        nd_->info = *base;
        nd_->base = base;
        if (base->unit) {
            snprintf(nd_->unit, sizeof nd_->unit, "%s", base->unit);
            nd_->info.unit = nd_->unit;
        }
        nd_->info.itemsize = total;
        if (nd) memcpy(ss, shape, nd * sizeof *ss);
        nd_->info.sub_ndim = nd;
        nd_->info.sub_shape = ss;
        snprintf(nd_->info.str, sizeof nd_->info.str, "|V%llu", (unsigned long long)total);
        *out = &nd_->info;
        return CKPT_OK;
    }
    if (d->names) {
        size_t n = ckpt_value_len(d->names);
        if (d->elsize < 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: structured dtype without elsize");
        if (n > UINT32_MAX || n > f->limits.max_container)
            return ckpt_error_set(err, CKPT_E_LIMIT, -1, "dtype: %zu fields", n);
        ckpt__dtype *sd = new_dtype(f);
        ckpt_field_info *fi = n ? galloc(f, n * sizeof *fi) : NULL;
        if (!sd || (n && !fi)) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
        for (size_t k = 0; k < n; k++) {
            const char *s;
            size_t sn;
            const ckpt_value *t = field_tuple(d, k);
            int64_t off;
            if (!str_or_bytes(ckpt_value_item(d->names, k), &s, &sn) || memchr(s, 0, sn) || !t ||
                ckpt_value_kind(t) != CKPT_K_TUPLE || ckpt_value_len(t) < 2 ||
                ckpt_value_int64(ckpt_value_item(t, 1), &off) != CKPT_OK || off < 0)
                return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad field %zu", k);
            const ckpt_dtype_info *fd = dmap_get(m, ckpt_value_item(t, 0));
            uint64_t end;
            if (!fd || !ckpt__add_ok((uint64_t)off, fd->itemsize, &end) || end > (uint64_t)d->elsize)
                return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                      "dtype: field '%.*s' lies outside the %lld-byte record",
                                      (int)(sn > 64 ? 64 : sn), s, (long long)d->elsize);
            char *name = galloc(f, sn + 1);
            if (!name) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
            memcpy(name, s, sn);
            fi[k].name = name;
            fi[k].offset = (uint64_t)off;
            fi[k].dtype = fd;
        }
        sd->info.type = CKPT_DT_VOID;
        sd->info.byteorder = '|';
        sd->info.itemsize = (uint64_t)d->elsize;
        sd->info.nfields = (uint32_t)n;
        sd->info.fields = fi;
        snprintf(sd->info.str, sizeof sd->info.str, "|V%lld", (long long)d->elsize);
        *out = &sd->info;
        return CKPT_OK;
    }
    /* simple; datetime unit from the version 4 metadata ({}, (unit, num, den, events)) */
    const char *unit = NULL;
    size_t unit_len = 0;
    char ubuf[NP_MAX_UNIT + 24];
    if ((d->ts.kind == 'M' || d->ts.kind == 'm') && d->metadata &&
        ckpt_value_kind(d->metadata) == CKPT_K_TUPLE && ckpt_value_len(d->metadata) == 2) {
        const ckpt_value *dt = ckpt_value_item(d->metadata, 1);
        const char *us;
        size_t un;
        int64_t num = 1;
        if (ckpt_value_kind(dt) == CKPT_K_TUPLE && ckpt_value_len(dt) >= 2 &&
            str_or_bytes(ckpt_value_item(dt, 0), &us, &un) && un > 0 && un <= NP_MAX_UNIT &&
            ckpt_value_int64(ckpt_value_item(dt, 1), &num) == CKPT_OK && num >= 1 &&
            num <= 99999999) {
            int k = num == 1 ? snprintf(ubuf, sizeof ubuf, "%.*s", (int)un, us)
                             : snprintf(ubuf, sizeof ubuf, "%lld%.*s", (long long)num, (int)un, us);
            unit = ubuf;
            unit_len = (size_t)k;
        } else {
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad datetime metadata");
        }
    }
    typestr ts = d->ts;
    if ((ts.kind == 'U' || ts.kind == 'S' || ts.kind == 'V') && !ts.has_size) ts.size = 0;
    return make_simple(f, &ts, d->endian, d->elsize, unit, unit_len, out, err);
}

ckpt_status ckpt__dtype_from_value(ckpt_file *f, const ckpt_value *v, const ckpt_dtype_info **out,
                                   ckpt_error *err) {
    ckpt_status st = need_graph(f, err);
    if (st != CKPT_OK) return st;
    dmap m = {0};
    typedef struct frame {
        const ckpt_value *v;
        size_t next; /* next child to check */
    } frame;
    size_t cap = 16, sp = 0;
    frame *stack = ckpt__malloc(&f->alloc, cap * sizeof *stack);
    if (!stack) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
    stack[sp++] = (frame){v, 0};
    while (sp) {
        frame *fr = &stack[sp - 1];
        dparse d;
        st = decode_dtype(fr->v, &d, err);
        if (st != CKPT_OK) goto done;
        size_t nc = n_children(&d);
        const ckpt_value *pending = NULL;
        while (fr->next < nc) {
            const ckpt_value *c = child(&d, fr->next);
            if (!c) {
                st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad field/subarray entry");
                goto done;
            }
            if (dmap_get(&m, c)) {
                fr->next++;
                continue;
            }
            pending = c;
            break;
        }
        if (pending) {
            for (size_t i = 0; i < sp; i++)
                if (stack[i].v == pending) {
                    st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: contains itself");
                    goto done;
                }
            if (sp >= f->limits.max_depth) {
                st = ckpt_error_set(err, CKPT_E_LIMIT, -1, "dtype: nesting deeper than %u",
                                    f->limits.max_depth);
                goto done;
            }
            if (sp == cap) {
                frame *ns = ckpt__realloc(&f->alloc, stack, cap * sizeof *stack, 2 * cap * sizeof *stack);
                if (!ns) {
                    st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
                    goto done;
                }
                stack = ns;
                cap *= 2;
            }
            stack[sp++] = (frame){pending, 0};
            continue;
        }
        const ckpt_dtype_info *dt;
        st = build_dtype(f, &d, &m, &dt, err);
        if (st != CKPT_OK) goto done;
        if (!dmap_put(f, &m, fr->v, dt)) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
            goto done;
        }
        sp--;
        if (!sp) *out = dt;
    }
    st = CKPT_OK;
done:
    ckpt__free(&f->alloc, stack, cap * sizeof *stack);
    ckpt__free(&f->alloc, m.keys, m.cap * sizeof *m.keys);
    ckpt__free(&f->alloc, (void *)m.vals, m.cap * sizeof *m.vals);
    return st;
}

/* ---- byte swapping ---- */

/* Width of the units to swap in a leaf type; 0 if none. */
static uint64_t swap_width(const ckpt_dtype_info *d) {
    switch (d->type) {
    case CKPT_DT_INT16: case CKPT_DT_UINT16: case CKPT_DT_FLOAT16: case CKPT_DT_BFLOAT16: return 2;
    case CKPT_DT_INT32: case CKPT_DT_UINT32: case CKPT_DT_FLOAT32: case CKPT_DT_QINT32: return 4;
    case CKPT_DT_INT64: case CKPT_DT_UINT64: case CKPT_DT_FLOAT64: return 8;
    case CKPT_DT_DATETIME64: case CKPT_DT_TIMEDELTA64: return 8;
    case CKPT_DT_COMPLEX64: return 4;
    case CKPT_DT_COMPLEX128: return 8;
    case CKPT_DT_UNICODE: return 4;
    default: return 0;
    }
}

typedef struct swap_run {
    uint64_t off, width, count;
} swap_run;

typedef struct swap_plan {
    swap_run *runs;
    size_t n, cap;
} swap_plan;

static int plan_add(ckpt_file *f, swap_plan *p, uint64_t off, uint64_t w, uint64_t count) {
    if (p->n && p->runs[p->n - 1].width == w &&
        p->runs[p->n - 1].off + p->runs[p->n - 1].width * p->runs[p->n - 1].count == off) {
        p->runs[p->n - 1].count += count;
        return 1;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        swap_run *r = ckpt__realloc(&f->alloc, p->runs, p->cap * sizeof *r, nc * sizeof *r);
        if (!r) return 0;
        p->runs = r;
        p->cap = nc;
    }
    p->runs[p->n++] = (swap_run){off, w, count};
    return 1;
}

/* Leaves of dt that are stored big-endian, as runs relative to one item. */
static ckpt_status make_plan(ckpt_file *f, const ckpt_dtype_info *dt, swap_plan *p, ckpt_error *err) {
    typedef struct it {
        const ckpt_dtype_info *d;
        uint64_t off;
    } it;
    size_t cap = 16, sp = 0;
    it *st = ckpt__malloc(&f->alloc, cap * sizeof *st);
    if (!st) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "byteswap: out of memory");
    ckpt_status rc = CKPT_OK;
    uint64_t work = 0, limit = dt->itemsize + 64;
    st[sp++] = (it){dt, 0};
    while (sp) {
        it cur = st[--sp];
        if (++work > limit) { /* more pieces than bytes: overlapping or degenerate fields */
            rc = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "byteswap: dtype too irregular");
            break;
        }
        const ckpt_dtype_info *b = ckpt__dtype_base(cur.d);
        uint64_t reps = b->itemsize ? cur.d->itemsize / b->itemsize : 0;
        if (!b->nfields) {
            uint64_t w = swap_width(b);
            if (w && b->byteorder == '>' && !plan_add(f, p, cur.off, w, cur.d->itemsize / w)) {
                rc = ckpt_error_set(err, CKPT_E_NOMEM, -1, "byteswap: out of memory");
                break;
            }
            continue;
        }
        for (uint64_t r = reps; r-- > 0;) {
            for (uint32_t k = b->nfields; k-- > 0;) {
                if (sp == cap) {
                    it *ns = ckpt__realloc(&f->alloc, st, cap * sizeof *st, 2 * cap * sizeof *st);
                    if (!ns) {
                        rc = ckpt_error_set(err, CKPT_E_NOMEM, -1, "byteswap: out of memory");
                        goto out;
                    }
                    st = ns;
                    cap *= 2;
                }
                st[sp++] = (it){b->fields[k].dtype, cur.off + r * b->itemsize + b->fields[k].offset};
            }
            if (++work > limit) {
                rc = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "byteswap: dtype too irregular");
                goto out;
            }
        }
    }
out:
    ckpt__free(&f->alloc, st, cap * sizeof *st);
    return rc;
}

int ckpt__dtype_needs_swap(const ckpt_dtype_info *dt) {
    if (!dt) return 0;
    const ckpt_dtype_info *b = ckpt__dtype_base(dt);
    if (!b->nfields) return b->byteorder == '>' && swap_width(b) != 0;
    /* structured: any big-endian leaf (explicit stack) */
    const ckpt_dtype_info *stack[64];
    size_t sp = 0;
    stack[sp++] = b;
    while (sp) {
        const ckpt_dtype_info *d = ckpt__dtype_base(stack[--sp]);
        if (!d->nfields) {
            if (d->byteorder == '>' && swap_width(d)) return 1;
            continue;
        }
        for (uint32_t i = 0; i < d->nfields; i++) {
            const ckpt_dtype_info *fd = ckpt__dtype_base(d->fields[i].dtype);
            if (!fd->nfields) {
                if (fd->byteorder == '>' && swap_width(fd)) return 1;
            } else if (sp < 64) {
                stack[sp++] = fd;
            } else {
                return 1; /* too deep to tell cheaply: let the swap plan decide */
            }
        }
    }
    return 0;
}

static void swap_units(uint8_t *p, uint64_t w, uint64_t count) {
    for (uint64_t i = 0; i < count; i++, p += w) {
        for (uint64_t a = 0, b = w - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
    }
}

ckpt_status ckpt__dtype_byteswap(ckpt_file *f, const ckpt_dtype_info *dt, uint8_t *p, uint64_t nelems,
                                 ckpt_error *err) {
    if (!ckpt__dtype_needs_swap(dt) || nelems == 0 || dt->itemsize == 0) return CKPT_OK;
    const ckpt_dtype_info *b = ckpt__dtype_base(dt);
    if (!b->nfields) {
        uint64_t w = swap_width(b), total;
        if (!ckpt__mul_ok(nelems, dt->itemsize, &total))
            return ckpt_error_set(err, CKPT_E_RANGE, -1, "byteswap: size overflows");
        swap_units(p, w, total / w);
        return CKPT_OK;
    }
    swap_plan plan = {0};
    ckpt_status st = make_plan(f, dt, &plan, err);
    if (st == CKPT_OK) {
        for (uint64_t e = 0; e < nelems; e++) {
            uint8_t *item = p + e * dt->itemsize;
            for (size_t r = 0; r < plan.n; r++)
                swap_units(item + plan.runs[r].off, plan.runs[r].width, plan.runs[r].count);
        }
    }
    ckpt__free(&f->alloc, plan.runs, plan.cap * sizeof *plan.runs);
    return st;
}

/* ---- builders for .npy descr lists (numpy_internal.h) ---- */

ckpt_status ckpt__dtype_make_struct(ckpt_file *f, uint32_t n, const char *const *names,
                                    const size_t *name_lens, const uint64_t *offsets,
                                    const ckpt_dtype_info *const *dts, uint64_t itemsize,
                                    const ckpt_dtype_info **out, ckpt_error *err) {
    ckpt_status st = need_graph(f, err);
    if (st != CKPT_OK) return st;
    ckpt__dtype *sd = new_dtype(f);
    ckpt_field_info *fi = n ? galloc(f, (size_t)n * sizeof *fi) : NULL;
    if (!sd || (n && !fi)) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
    for (uint32_t k = 0; k < n; k++) {
        uint64_t end;
        if (!ckpt__add_ok(offsets[k], dts[k]->itemsize, &end) || end > itemsize ||
            memchr(names[k], 0, name_lens[k]))
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "dtype: bad field %u", k);
        char *nm = galloc(f, name_lens[k] + 1);
        if (!nm) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
        memcpy(nm, names[k], name_lens[k]);
        fi[k].name = nm;
        fi[k].offset = offsets[k];
        fi[k].dtype = dts[k];
    }
    sd->info.type = CKPT_DT_VOID;
    sd->info.byteorder = '|';
    sd->info.itemsize = itemsize;
    sd->info.nfields = n;
    sd->info.fields = fi;
    snprintf(sd->info.str, sizeof sd->info.str, "|V%llu", (unsigned long long)itemsize);
    *out = &sd->info;
    return CKPT_OK;
}

ckpt_status ckpt__dtype_make_subarray(ckpt_file *f, const ckpt_dtype_info *base, uint32_t ndim,
                                      const int64_t *shape, const ckpt_dtype_info **out,
                                      ckpt_error *err) {
    ckpt_status st = need_graph(f, err);
    if (st != CKPT_OK) return st;
    if (ndim == 0) {
        *out = base;
        return CKPT_OK;
    }
    uint64_t count = 1, total;
    for (uint32_t i = 0; i < ndim; i++)
        if (shape[i] < 0 || !ckpt__mul_ok(count, (uint64_t)shape[i], &count))
            return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: subarray size overflows");
    const ckpt__dtype *bd = (const ckpt__dtype *)base;
    uint32_t bnd = bd->base ? base->sub_ndim : 0;
    if (bd->base) base = bd->base;
    for (uint32_t i = 0; i < bnd; i++)
        if (!ckpt__mul_ok(count, (uint64_t)((const ckpt__dtype *)bd)->info.sub_shape[i], &count))
            return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: subarray size overflows");
    if (!ckpt__mul_ok(count, base->itemsize, &total))
        return ckpt_error_set(err, CKPT_E_RANGE, -1, "dtype: subarray size overflows");
    ckpt__dtype *d = new_dtype(f);
    int64_t *ss = galloc(f, (size_t)(ndim + bnd) * sizeof *ss);
    if (!d || !ss) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "dtype: out of memory");
    memcpy(ss, shape, ndim * sizeof *ss);
    if (bnd) memcpy(ss + ndim, bd->info.sub_shape, bnd * sizeof *ss);
    d->info = *base;
    d->base = base;
    if (base->unit) {
        snprintf(d->unit, sizeof d->unit, "%s", base->unit);
        d->info.unit = d->unit;
    }
    d->info.itemsize = total;
    d->info.sub_ndim = ndim + bnd;
    d->info.sub_shape = ss;
    snprintf(d->info.str, sizeof d->info.str, "|V%llu", (unsigned long long)total);
    *out = &d->info;
    return CKPT_OK;
}
