/*
 * npy.c - the .npy format (versions 1.0, 2.0, 3.0): magic "\x93NUMPY", major,
 * minor, little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0), then a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}
 * padded with spaces and a '\n', then the data.
 *
 * The literal is read by a strict parser (str, int, True/False/None, tuple,
 * list, dict; nothing is evaluated), iterative with its nesting bounded by
 * limits.max_depth.  A descr is a type string or a list of (name, format[,
 * shape]) fields (format possibly a nested list; name '' with a void format is
 * padding; (title, name) pairs keep the name), like numpy's descr_to_dtype.
 */
#include "numpy_internal.h"

#include <stdio.h>
#include <string.h>

enum { L_STR = 1, L_INT, L_TRUE, L_FALSE, L_NONE, L_TUPLE, L_LIST, L_DICT };

#define NO_NODE UINT32_MAX

typedef struct lnode {
    uint8_t kind;
    uint8_t comma;      /* container: a ',' followed the last item */
    uint32_t parent, first, last, next, count;
    const char *s;      /* L_STR: decoded UTF-8 (into lit.sbuf) */
    size_t slen;
    int64_t i;
} lnode;

typedef struct lit {
    ckpt_file *f;
    lnode *n;
    size_t count, cap;
    char *sbuf;
    size_t sused, scap;
} lit;

static void lit_free(lit *L) {
    ckpt__free(&L->f->alloc, L->n, L->cap * sizeof *L->n);
    ckpt__free(&L->f->alloc, L->sbuf, L->scap);
}

static uint32_t lit_new(lit *L, uint8_t kind, uint32_t parent) {
    if (L->count == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 32;
        if (nc >= NO_NODE) return NO_NODE;
        lnode *nn = ckpt__realloc(&L->f->alloc, L->n, L->cap * sizeof *nn, nc * sizeof *nn);
        if (!nn) return NO_NODE;
        L->n = nn;
        L->cap = nc;
    }
    uint32_t id = (uint32_t)L->count++;
    lnode *x = &L->n[id];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->parent = parent;
    x->first = x->last = x->next = NO_NODE;
    if (parent != NO_NODE) {
        lnode *p = &L->n[parent];
        if (p->last != NO_NODE) L->n[p->last].next = id;
        else p->first = id;
        p->last = id;
        p->count++;
        p->comma = 0;
    }
    return id;
}

static void put_utf8(char *d, size_t *o, uint32_t cp) {
    if (cp < 0x80) d[(*o)++] = (char)cp;
    else if (cp < 0x800) {
        d[(*o)++] = (char)(0xC0 | (cp >> 6));
        d[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        d[(*o)++] = (char)(0xE0 | (cp >> 12));
        d[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        d[(*o)++] = (char)(0xF0 | (cp >> 18));
        d[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        d[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted Python str at s[*i] (quote already checked).  latin1: header bytes
   are latin-1 (versions 1/2), else UTF-8 (version 3). */
static int parse_str(lit *L, const char *s, size_t n, size_t *i, int latin1, const char **out,
                     size_t *olen) {
    char q = s[(*i)++];
    char *d = L->sbuf + L->sused;
    size_t o = 0;
    while (*i < n && s[*i] != q) {
        unsigned char c = (unsigned char)s[*i];
        if (c == '\n') return 0;
        if (c != '\\') {
            if (latin1) put_utf8(d, &o, c);
            else d[o++] = (char)c;
            (*i)++;
            continue;
        }
        if (++*i >= n) return 0;
        char e = s[(*i)++];
        uint32_t cp;
        int digits = 0;
        switch (e) {
        case '\\': case '\'': case '"': cp = (uint32_t)e; break;
        case 'n': cp = '\n'; break;
        case 't': cp = '\t'; break;
        case 'r': cp = '\r'; break;
        case '0': cp = 0; break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default: return 0;
        }
        if (digits) {
            if (n - *i < (size_t)digits) return 0;
            cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = hexval(s[*i + (size_t)k]);
                if (h < 0) return 0;
                cp = cp * 16 + (uint32_t)h;
            }
            *i += (size_t)digits;
            if (cp > 0x10FFFF) return 0;
        }
        put_utf8(d, &o, cp);
    }
    if (*i >= n) return 0;
    (*i)++;
    *out = d;
    *olen = o;
    L->sused += o;
    return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Parse the whole literal; returns the root node or NO_NODE (err set). */
static uint32_t parse_literal(lit *L, const char *s, size_t n, int latin1, ckpt_error *err) {
    /* decoded strings never exceed 4 bytes per 1..2 source characters: 2n+1 suffices */
    L->scap = 2 * n + 1;
    L->sbuf = ckpt__malloc(&L->f->alloc, L->scap);
    if (!L->sbuf) {
        ckpt_error_set(err, CKPT_E_NOMEM, -1, "npy: out of memory");
        return NO_NODE;
    }
    uint32_t cur = NO_NODE, root = NO_NODE, depth = 0;
    int want_value = 1;
    size_t i = 0;
    for (;;) {
        while (i < n && is_space(s[i])) i++;
        if (want_value) {
            if (i >= n) goto bad;
            char c = s[i];
            if (cur != NO_NODE && (c == ')' || c == ']' || c == '}')) {
                lnode *p = &L->n[cur];
                if (p->count && !p->comma) goto bad; /* "(1 ]" style handled below; here after ','/open */
                if ((p->kind == L_DICT && c != '}') || (p->kind == L_LIST && c != ']') ||
                    (p->kind == L_TUPLE && c != ')') || (p->kind == L_DICT && p->count % 2))
                    goto bad;
                i++;
                cur = p->parent;
                depth--;
                want_value = 0;
                continue;
            }
            if (cur != NO_NODE && L->n[cur].count && !L->n[cur].comma &&
                !(L->n[cur].kind == L_DICT && L->n[cur].count % 2))
                goto bad;
            uint32_t id;
            if (c == '{' || c == '(' || c == '[') {
                if (++depth > L->f->limits.max_depth) {
                    ckpt_error_set(err, CKPT_E_LIMIT, (int64_t)i, "npy: header nested deeper than %u",
                                   L->f->limits.max_depth);
                    return NO_NODE;
                }
                id = lit_new(L, c == '{' ? L_DICT : c == '(' ? L_TUPLE : L_LIST, cur);
                if (id == NO_NODE) goto nomem;
                i++;
                if (root == NO_NODE) root = id;
                cur = id;
                continue; /* still want a value (or a close) */
            }
            if (c == '\'' || c == '"') {
                const char *str;
                size_t sl;
                if (!parse_str(L, s, n, &i, latin1, &str, &sl)) goto bad;
                id = lit_new(L, L_STR, cur);
                if (id == NO_NODE) goto nomem;
                L->n[id].s = str;
                L->n[id].slen = sl;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                int neg = c == '-';
                if (neg) i++;
                if (i >= n || s[i] < '0' || s[i] > '9') goto bad;
                uint64_t v = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (!ckpt__mul_ok(v, 10, &v) || !ckpt__add_ok(v, (uint64_t)(s[i] - '0'), &v) ||
                        v > (uint64_t)INT64_MAX) {
                        ckpt_error_set(err, CKPT_E_RANGE, (int64_t)i, "npy: integer too large in header");
                        return NO_NODE;
                    }
                    i++;
                }
                if (i < n && s[i] == 'L') i++; /* Python 2 long */
                id = lit_new(L, L_INT, cur);
                if (id == NO_NODE) goto nomem;
                L->n[id].i = neg ? -(int64_t)v : (int64_t)v;
            } else if (n - i >= 4 && memcmp(s + i, "True", 4) == 0) {
                i += 4;
                if ((id = lit_new(L, L_TRUE, cur)) == NO_NODE) goto nomem;
            } else if (n - i >= 5 && memcmp(s + i, "False", 5) == 0) {
                i += 5;
                if ((id = lit_new(L, L_FALSE, cur)) == NO_NODE) goto nomem;
            } else if (n - i >= 4 && memcmp(s + i, "None", 4) == 0) {
                i += 4;
                if ((id = lit_new(L, L_NONE, cur)) == NO_NODE) goto nomem;
            } else {
                goto bad;
            }
            if (root == NO_NODE) root = id;
            want_value = 0;
            continue;
        }
        /* after a value */
        if (cur == NO_NODE) {
            if (i != n) goto bad;
            return root;
        }
        if (i >= n) goto bad;
        lnode *p = &L->n[cur];
        char c = s[i++];
        if (c == ',') {
            if (p->kind == L_DICT && p->count % 2) goto bad;
            p->comma = 1;
            want_value = 1;
        } else if (c == ':') {
            if (p->kind != L_DICT || p->count % 2 == 0) goto bad;
            want_value = 1;
        } else if ((c == ')' && p->kind == L_TUPLE) || (c == ']' && p->kind == L_LIST) ||
                   (c == '}' && p->kind == L_DICT && p->count % 2 == 0)) {
            if (p->kind == L_TUPLE && p->count == 1 && !p->comma) goto bad; /* "(x)" is not a tuple */
            cur = p->parent;
            depth--;
        } else {
            goto bad;
        }
    }
bad:
    ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)i, "npy: header is not a valid literal (at character %zu)", i);
    return NO_NODE;
nomem:
    ckpt_error_set(err, CKPT_E_NOMEM, -1, "npy: out of memory");
    return NO_NODE;
}

static uint32_t dict_get(const lit *L, uint32_t d, const char *key) {
    size_t kl = strlen(key);
    for (uint32_t k = L->n[d].first; k != NO_NODE; k = L->n[L->n[k].next].next) {
        const lnode *kn = &L->n[k];
        if (kn->kind == L_STR && kn->slen == kl && memcmp(kn->s, key, kl) == 0) return kn->next;
    }
    return NO_NODE;
}

static ckpt_status read_shape(const lit *L, uint32_t t, int64_t *shape, uint32_t *nd, uint32_t max,
                              ckpt_error *err) {
    if (L->n[t].kind == L_INT) { /* numpy accepts a bare int nowhere here, but be exact */
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: shape is not a tuple");
    }
    if (L->n[t].kind != L_TUPLE && L->n[t].kind != L_LIST)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: shape is not a tuple");
    if (L->n[t].count > max)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "npy: %u dimensions exceed the limit of %u",
                              L->n[t].count, max);
    uint32_t k = 0;
    for (uint32_t c = L->n[t].first; c != NO_NODE; c = L->n[c].next) {
        if (L->n[c].kind != L_INT || L->n[c].i < 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: dimension %u is not a size", k);
        shape[k++] = L->n[c].i;
    }
    *nd = k;
    return CKPT_OK;
}

/* descr (str or field list) -> dtype, nested lists with an explicit stack. */
typedef struct dframe {
    uint32_t list;      /* L_LIST node */
    uint32_t cur;       /* current field tuple */
    uint64_t offset;
    uint32_t n, cap;
    const char **names;
    size_t *lens;
    uint64_t *offs;
    const ckpt_dtype_info **dts;
} dframe;

static void dframe_free(ckpt_file *f, dframe *d) {
    ckpt__free(&f->alloc, (void *)d->names, d->cap * sizeof *d->names);
    ckpt__free(&f->alloc, d->lens, d->cap * sizeof *d->lens);
    ckpt__free(&f->alloc, d->offs, d->cap * sizeof *d->offs);
    ckpt__free(&f->alloc, (void *)d->dts, d->cap * sizeof *d->dts);
}

static int dframe_push_field(ckpt_file *f, dframe *d, const char *nm, size_t nl, const ckpt_dtype_info *dt) {
    if (d->n == d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 8;
        /* all four grow together or none does (one capacity frees them) */
        const char **a = ckpt__malloc(&f->alloc, nc * sizeof *a);
        size_t *b = ckpt__malloc(&f->alloc, nc * sizeof *b);
        uint64_t *c = ckpt__malloc(&f->alloc, nc * sizeof *c);
        const ckpt_dtype_info **e = ckpt__malloc(&f->alloc, nc * sizeof *e);
        if (!a || !b || !c || !e) {
            ckpt__free(&f->alloc, (void *)a, nc * sizeof *a);
            ckpt__free(&f->alloc, b, nc * sizeof *b);
            ckpt__free(&f->alloc, c, nc * sizeof *c);
            ckpt__free(&f->alloc, (void *)e, nc * sizeof *e);
            return 0;
        }
        if (d->n) {
            memcpy((void *)a, (const void *)d->names, d->n * sizeof *a);
            memcpy(b, d->lens, d->n * sizeof *b);
            memcpy(c, d->offs, d->n * sizeof *c);
            memcpy((void *)e, (const void *)d->dts, d->n * sizeof *e);
        }
        dframe_free(f, d);
        d->names = a;
        d->lens = b;
        d->offs = c;
        d->dts = e;
        d->cap = nc;
    }
    d->names[d->n] = nm;
    d->lens[d->n] = nl;
    d->offs[d->n] = d->offset;
    d->dts[d->n] = dt;
    d->n++;
    return 1;
}

static ckpt_status descr_dtype(ckpt_file *f, const lit *L, uint32_t descr, const ckpt_dtype_info **out,
                               ckpt_error *err) {
    const lnode *dn = &L->n[descr];
    if (dn->kind == L_STR) return ckpt__dtype_from_str(f, dn->s, dn->slen, out, err);
    if (dn->kind != L_LIST) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: descr is not a str or list");
    size_t cap = 8, sp = 0;
    dframe *st = ckpt__calloc(&f->alloc, cap, sizeof *st);
    if (!st) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "npy: out of memory");
    ckpt_status rc = CKPT_OK;
    st[sp++] = (dframe){.list = descr, .cur = dn->first};
    const ckpt_dtype_info *done = NULL; /* result of a finished nested list */
    while (sp) {
        dframe *fr = &st[sp - 1];
        if (fr->cur == NO_NODE) {
            rc = ckpt__dtype_make_struct(f, fr->n, fr->names, fr->lens, fr->offs, fr->dts, fr->offset,
                                         &done, err);
            dframe_free(f, fr);
            sp--;
            if (rc != CKPT_OK) break;
            if (!sp) {
                *out = done;
                break;
            }
            continue; /* parent consumes `done` for its current field */
        }
        const lnode *t = &L->n[fr->cur];
        if (t->kind != L_TUPLE || (t->count != 2 && t->count != 3)) {
            rc = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: descr field is not (name, format[, shape])");
            break;
        }
        uint32_t nm = t->first, fmt = L->n[nm].next, shp = L->n[fmt].next;
        const ckpt_dtype_info *dt = NULL;
        if (L->n[fmt].kind == L_LIST) {
            if (!done) { /* descend */
                if (sp >= L->f->limits.max_depth) {
                    rc = ckpt_error_set(err, CKPT_E_LIMIT, -1, "npy: descr nested too deep");
                    break;
                }
                if (sp == cap) {
                    dframe *ns = ckpt__realloc(&f->alloc, st, cap * sizeof *st, 2 * cap * sizeof *st);
                    if (!ns) {
                        rc = ckpt_error_set(err, CKPT_E_NOMEM, -1, "npy: out of memory");
                        break;
                    }
                    st = ns;
                    cap *= 2;
                    fr = &st[sp - 1];
                }
                st[sp++] = (dframe){.list = fmt, .cur = L->n[fmt].first};
                continue;
            }
            dt = done;
            done = NULL;
        } else if (L->n[fmt].kind == L_STR) {
            rc = ckpt__dtype_from_str(f, L->n[fmt].s, L->n[fmt].slen, &dt, err);
            if (rc != CKPT_OK) break;
        } else {
            rc = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: field format is not a str or list");
            break;
        }
        if (shp != NO_NODE) {
            int64_t sh[CKPT__NP_MAX_NDIM];
            uint32_t snd;
            if (L->n[shp].kind == L_INT) {
                if (L->n[shp].i < 0) {
                    rc = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: bad field shape");
                    break;
                }
                sh[0] = L->n[shp].i;
                snd = 1;
            } else {
                rc = read_shape(L, shp, sh, &snd, CKPT__NP_MAX_NDIM, err);
                if (rc != CKPT_OK) break;
            }
            rc = ckpt__dtype_make_subarray(f, dt, snd, sh, &dt, err);
            if (rc != CKPT_OK) break;
        }
        const lnode *nn = &L->n[nm];
        if (nn->kind == L_TUPLE && nn->count == 2) nn = &L->n[L->n[nn->first].next]; /* (title, name) */
        if (nn->kind != L_STR) {
            rc = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npy: field name is not a str");
            break;
        }
        int pad = nn->slen == 0 && dt->type == CKPT_DT_VOID && !dt->nfields && !dt->sub_ndim;
        if (!pad && !dframe_push_field(f, fr, nn->s, nn->slen, dt)) {
            rc = ckpt_error_set(err, CKPT_E_NOMEM, -1, "npy: out of memory");
            break;
        }
        if (!ckpt__add_ok(fr->offset, dt->itemsize, &fr->offset)) {
            rc = ckpt_error_set(err, CKPT_E_RANGE, -1, "npy: record size overflows");
            break;
        }
        fr->cur = t->next;
    }
    while (sp) dframe_free(f, &st[--sp]);
    ckpt__free(&f->alloc, st, cap * sizeof *st);
    return rc;
}

ckpt_status ckpt__npy_parse(ckpt_file *f, const uint8_t *p, size_t n, ckpt__npy_header *h,
                            ckpt_error *err) {
    memset(h, 0, sizeof *h);
    if (n < 10 || memcmp(p, "\x93NUMPY", 6) != 0)
        return ckpt_error_set(err, n < 10 ? CKPT_E_TRUNCATED : CKPT_E_FORMAT, 0, "npy: bad magic");
    h->major = p[6];
    h->minor = p[7];
    uint64_t hl, start;
    if (h->major == 1) {
        hl = (uint64_t)p[8] | (uint64_t)p[9] << 8;
        start = 10;
    } else if (h->major == 2 || h->major == 3) {
        if (n < 12) return ckpt_error_set(err, CKPT_E_TRUNCATED, 8, "npy: truncated header length");
        hl = (uint64_t)p[8] | (uint64_t)p[9] << 8 | (uint64_t)p[10] << 16 | (uint64_t)p[11] << 24;
        start = 12;
    } else {
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, 6, "npy: version %d.%d", h->major, h->minor);
    }
    if (hl > CKPT__NPY_MAX_HEADER)
        return ckpt_error_set(err, CKPT_E_LIMIT, 8, "npy: header of %llu bytes", (unsigned long long)hl);
    if (n - start < hl) return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)start, "npy: truncated header");
    h->data_off = start + hl;
    lit L = {.f = f};
    uint32_t root = parse_literal(&L, (const char *)p + start, (size_t)hl, h->major < 3, err);
    ckpt_status st = CKPT_OK;
    if (root == NO_NODE) {
        st = err ? err->status : CKPT_E_FORMAT;
        if (err) err->offset = err->offset >= 0 ? err->offset + (int64_t)start : -1;
        goto out;
    }
    if (L.n[root].kind != L_DICT || L.n[root].count != 6) {
        st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)start,
                            "npy: header must be a dict of descr, fortran_order and shape");
        goto out;
    }
    uint32_t d = dict_get(&L, root, "descr"), fo = dict_get(&L, root, "fortran_order"),
             sh = dict_get(&L, root, "shape");
    if (d == NO_NODE || fo == NO_NODE || sh == NO_NODE ||
        (L.n[fo].kind != L_TRUE && L.n[fo].kind != L_FALSE)) {
        st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)start,
                            "npy: header must be a dict of descr, fortran_order and shape");
        goto out;
    }
    h->fortran = L.n[fo].kind == L_TRUE;
    uint32_t max = f->limits.max_ndim < CKPT__NP_MAX_NDIM ? f->limits.max_ndim : CKPT__NP_MAX_NDIM;
    st = read_shape(&L, sh, h->shape, &h->ndim, max, err);
    if (st != CKPT_OK) goto out;
    st = descr_dtype(f, &L, d, &h->dtype, err);
out:
    lit_free(&L);
    return st;
}

static ckpt_status npy_pickled_note(ckpt__array *a) {
    a->info.state = CKPT_DATA_UNAVAILABLE;
    a->info.note = "object .npy: its data is a pickle (not loaded)";
    return CKPT_OK;
}

ckpt_status ckpt__npy_add(ckpt_file *f, const char *path, const ckpt_value *value,
                          const ckpt__npy_header *h, const uint8_t *data, uint64_t avail,
                          const char *member, ckpt__array **out, ckpt_error *err) {
    ckpt__np_src src;
    memset(&src, 0, sizeof src);
    ckpt__array *a;
    int obj = ckpt__dtype_has_object(h->dtype);
    if (obj) {
        /* describe it without data */
        ckpt_status st = ckpt__file_add_array(f, path, value, ckpt__dtype_base(h->dtype), h->ndim,
                                              h->shape, NULL, &a, err);
        if (st != CKPT_OK) return st;
        if (out) *out = a;
        return npy_pickled_note(a);
    }
    src.p = data;
    src.n = avail;
    /* trailing bytes after the array are allowed: hand over exactly nbytes */
    uint64_t nbytes = 1;
    int ok = 1;
    for (uint32_t k = 0; k < h->ndim; k++)
        if (!ckpt__mul_ok(nbytes, (uint64_t)h->shape[k], &nbytes)) ok = 0;
    if (!ok || !ckpt__mul_ok(nbytes, h->dtype->itemsize, &nbytes)) {
        ckpt_error_member(err, member ? member : path);
        return ckpt_error_set(err, CKPT_E_RANGE, -1, "npy '%s': shape too large (byte size overflows)", path);
    }
    if (nbytes <= avail)
        src.n = nbytes;
    else {
        ckpt_error_member(err, member ? member : path);
        return ckpt_error_set(err, CKPT_E_TRUNCATED, -1,
                              "npy '%s': %llu data bytes, fewer than the shape needs", path,
                              (unsigned long long)avail);
    }
    ckpt_status st = ckpt__np_add(f, path, value, h->dtype, h->ndim, h->shape, h->fortran, &src, &a, err);
    if (st != CKPT_OK) return st;
    a->info.member = member;
    if (out) *out = a;
    return CKPT_OK;
}

ckpt_status ckpt__open_npy(ckpt_file *f, ckpt_error *err) {
    ckpt__npy_header h;
    ckpt_status st = ckpt__npy_parse(f, f->map, f->map_len, &h, err);
    if (st != CKPT_OK) return st;
    f->format = CKPT_FMT_NPY;
    char v[32];
    snprintf(v, sizeof v, "%d.%d", h.major, h.minor);
    if (ckpt__file_add_fact(f, "npy version", v) != CKPT_OK)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    return ckpt__npy_add(f, "", NULL, &h, f->map + h.data_off, f->map_len - h.data_off, NULL, NULL, err);
}
