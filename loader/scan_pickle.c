/*
 * scan_pickle.c - find every global a pickle refers to.
 *
 * Each pickle is walked twice and the findings of both walks are kept:
 *  1. the pickle machine (ckpt_pickle_load) with an on_global hook: it
 *     resolves STACK_GLOBAL operands exactly as Python would (strings from the
 *     memo, DUP, ...), reports operands that are not strings (computed by a
 *     call: DANGEROUS), and, with the joblib flag, an after_build hook skips
 *     the raw array bytes joblib writes after each NumpyArrayWrapper and scans
 *     the pickle it writes for object arrays;
 *  2. the disassembler (ckpt_pickle_disasm) with a small symbolic stack that
 *     tracks string constants through MARK/POP/DUP/PUT/GET: it reads GLOBAL,
 *     INST, EXT and STACK_GLOBAL names without executing any semantics, so it
 *     keeps going where the machine stops (a type error, a limit).
 * A joblib stream is also disassembled as a *plain* pickle (the way
 * pickle.load would read it, array bytes as opcodes) and anything dangerous
 * found that way is reported too.
 */
#include "scan_internal.h"
#include "pickle_internal.h"

#include <stdio.h>
#include <string.h>

/* symbolic stack slot */
enum { SL_OTHER = 0, SL_STR, SL_MARK };
typedef struct slot {
    uint8_t kind;
    const uint8_t *p; /* SL_STR: UTF-8 bytes (into the input, or a decoded copy) */
    size_t n;
    uint32_t id;      /* value identity for the NEWOBJ_EX pattern check (TV_* / tracked) */
} slot;

/* ---- the protocol-2/3 NEWOBJ_EX pattern ----
 *
 * pickle writes an object whose __reduce_ex__ asks for copyreg.__newobj_ex__
 * (classes with __getnewargs_ex__) at protocols 2 and 3 as
 *
 *   functools.partial(getattr(C, '__new__'))       REDUCE, REDUCE
 *     BUILD (F, (A0, *args), kwargs|None, None)   partial.__setstate__
 *   ()  REDUCE                                    the call: C.__new__(A0, *args, **kwargs)
 *
 * i.e. the globals functools.partial and builtins.getattr, rightly dangerous
 * by themselves.  Their findings are held back (pend) and, after a walk of
 * the pickle, given the NEWOBJ verdict of the classes only when every use of
 * that global is part of exactly this structure; any other use keeps them
 * DANGEROUS.  The walk gives values an identity (slot.id) through the stack
 * and the memo and counts every consumption of each (uses): a value is
 * consumed once per reference that an opcode pops (or that is left on the
 * stack at the end), so uses == the uses the pattern accounts for means
 * there is no other use anywhere.  Only what the pattern needs is tracked:
 * globals, calls of a partial/getattr global, tuples whose first item is
 * tracked; dicts, None, () and the string '__new__' are small identities. */
enum {
    TV_OTHER = 0,       /* untracked */
    TV_STR_NEW = 1,     /* a string constant '__new__' */
    TV_NONE = 2,
    TV_EMPTY_TUPLE = 3,
    TV_DICT_EMPTY = 4,  /* EMPTY_DICT / DICT with no items, nothing set yet */
    TV_DICT = 5,        /* a dict with items */
    TV_FIRST = 8        /* tracked values: id - TV_FIRST indexes pk.tv */
};
enum { TK_GLOBAL = 1, TK_TUPLE, TK_CALL };
enum { GC_OTHER = 0, GC_PLAIN, GC_PARTIAL, GC_GETATTR }; /* global category */
typedef struct tval {
    uint8_t kind, cat;
    uint32_t n;         /* TK_TUPLE: items (saturating) */
    uint32_t item[4];   /* TK_TUPLE: ids of the first items */
    uint32_t callable, args, state; /* TK_CALL; state: of the first BUILD */
    uint32_t uses, builds, mutated, called_empty, expected, ex;
    uint64_t off;       /* TK_GLOBAL: offset of its GLOBAL opcode */
} tval;

typedef struct pend {   /* a held-back functools.partial / builtins.getattr finding */
    uint64_t off;
    uint8_t op, view, cat;
    char module[24], name[24];
    const char *reason;
} pend;

typedef struct memo_ent {
    uint64_t key1; /* key + 1, 0 empty */
    slot v;
} memo_ent;

typedef struct dblock {
    struct dblock *next;
    size_t size, used;
} dblock;

typedef struct pk {
    ckpt__scan *s;
    const uint8_t *buf;
    size_t len, start;
    const char *member;
    int danger_only; /* emit DANGEROUS findings only (bytes that may be data) */
    int nomem;
    /* machine: offsets of STACK_GLOBALs it saw (ascending) */
    uint64_t *msg;
    size_t nmsg, capmsg;
    /* joblib inline regions [a, b) (ascending) */
    uint64_t *reg;
    size_t nreg, capreg;
    /* symbolic stack */
    slot *st;
    size_t sp, stcap;
    memo_ent *memo;
    size_t memo_cap, memo_count;
    dblock *blocks; /* decoded strings */
    int sym_limit;  /* symbolic walk stopped on a limit */
    int plain_view; /* disassembling a joblib stream as a plain pickle */
    /* NEWOBJ_EX pattern (see above) */
    pend *pend;
    size_t npend, cappend;
    int track;      /* give values identities in this walk */
    int track_fail; /* the table is full: nothing is recognised */
    int proto_ok;   /* 1: PROTO 2/3 seen and no other PROTO; -1: another PROTO */
    tval *tv;
    size_t ntv, captv;
} pk;

/* ---- small helpers ---- */

static int push_u64(pk *p, uint64_t **v, size_t *n, size_t *cap, uint64_t x) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        uint64_t *nv = ckpt__realloc(&p->s->alloc, *v, *cap * sizeof *nv, nc * sizeof *nv);
        if (!nv) {
            p->nomem = 1;
            return 0;
        }
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 1;
}

/* position of x in the ascending v[0..n), or SIZE_MAX */
static size_t find_u64(const uint64_t *v, size_t n, uint64_t x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == x ? lo : SIZE_MAX;
}

static int has_u64(const uint64_t *v, size_t n, uint64_t x) { return find_u64(v, n, x) != SIZE_MAX; }

static uint8_t *dalloc(pk *p, size_t n) {
    dblock *b = p->blocks;
    if (!b || b->size - b->used < n) {
        size_t sz = n + sizeof(dblock) > 65536 ? n + sizeof(dblock) : 65536;
        b = ckpt__malloc(&p->s->alloc, sz);
        if (!b) {
            p->nomem = 1;
            return NULL;
        }
        b->size = sz;
        b->used = sizeof(dblock);
        b->next = p->blocks;
        p->blocks = b;
    }
    uint8_t *r = (uint8_t *)b + b->used;
    b->used += n;
    return r;
}

static const char *canonical(pk *p, const char *m, const char *n) {
    ckpt__scan *s = p->s;
    if (s->names && ckpt_graph_memory(s->names) > ((uint64_t)16 << 20)) {
        ckpt_graph_free(s->names);
        s->names = NULL;
    }
    if (!s->names && ckpt_graph_new(NULL, &s->alloc, 0, &s->names) != CKPT_OK) {
        p->nomem = 1;
        return NULL;
    }
    const char *c = ckpt__canonical(s->names, m, n);
    if (!c) p->nomem = 1;
    return c;
}

/* ---- emitting findings ---- */

static const char *const VIEW_NOTE = " (seen when the joblib stream is read as a plain pickle)";

/* hold back a functools.partial / builtins.getattr GLOBAL (see pend) */
static void pend_add(pk *p, uint8_t op, uint64_t off, const char *em, const char *en,
                     const char *reason, int cat) {
    uint8_t view = (uint8_t)p->plain_view;
    for (size_t i = p->npend; i-- > 0;)
        if (p->pend[i].off == off && p->pend[i].view == view) return; /* machine + disassembler */
    if (p->npend == p->cappend) {
        size_t nc = p->cappend ? p->cappend * 2 : 8;
        pend *np = ckpt__realloc(&p->s->alloc, p->pend, p->cappend * sizeof *np, nc * sizeof *np);
        if (!np) {
            p->nomem = 1;
            return;
        }
        p->pend = np;
        p->cappend = nc;
    }
    pend *e = &p->pend[p->npend++];
    memset(e, 0, sizeof *e);
    e->off = off;
    e->op = op;
    e->view = view;
    snprintf(e->module, sizeof e->module, "%s", em);
    snprintf(e->name, sizeof e->name, "%s", en);
    e->reason = reason;
    e->cat = (uint8_t)cat;
}

/* Judge and report a global; returns its category for the pattern check
   (GC_PLAIN: a not-dangerous GLOBAL with a plain name). */
static int emit_global(pk *p, uint8_t op, uint64_t off, const uint8_t *m, size_t ml,
                       const uint8_t *n, size_t nl) {
    char em[CKPT__SCAN_NAME_MAX * 4 + 1], en[CKPT__SCAN_NAME_MAX * 4 + 1];
    ckpt__scan_escape(m, ml, em);
    ckpt__scan_escape(n, nl, en);
    const char *canon = NULL;
    char joined[sizeof em + sizeof en + 1];
    int plain = strlen(em) == ml && strlen(en) == nl; /* nothing escaped or truncated */
    const char *reason = "";
    ckpt_verdict v;
    /* judge cache: both walks (and every pickle of the scan) meet the same globals */
    ckpt__scan_jc *jc = NULL;
    uint32_t h = 2166136261u;
    if (plain && ml + nl + 2 <= CKPT__SCAN_JC_KEY) {
        for (size_t i = 0; i < ml; i++) h = (h ^ (uint8_t)em[i]) * 16777619u;
        h = (h ^ 0xffu) * 16777619u;
        for (size_t i = 0; i < nl; i++) h = (h ^ (uint8_t)en[i]) * 16777619u;
        jc = &p->s->jc[h % CKPT__SCAN_JC_SLOTS];
        if (!(jc->used && jc->hash == h && strcmp(jc->key, em) == 0 &&
              strcmp(jc->key + ml + 1, en) == 0))
            jc = NULL;
    }
    if (jc) {
        canon = jc->canon;
        v = (ckpt_verdict)jc->verdict;
        reason = jc->reason;
    } else {
        if (plain) canon = canonical(p, em, en);
        if (p->nomem) return GC_OTHER;
        if (!canon) {
            snprintf(joined, sizeof joined, "%s.%s", em, en);
            canon = joined;
        }
        v = ckpt__scan_judge(em, en, canon, &reason);
        if (plain && ml + nl + 2 <= CKPT__SCAN_JC_KEY && strlen(canon) < CKPT__SCAN_JC_CANON) {
            ckpt__scan_jc *e = &p->s->jc[h % CKPT__SCAN_JC_SLOTS];
            e->used = 1;
            e->hash = h;
            e->verdict = (uint8_t)v;
            e->reason = reason;
            memcpy(e->key, em, ml + 1);
            memcpy(e->key + ml + 1, en, nl + 1);
            memcpy(e->canon, canon, strlen(canon) + 1);
        }
    }
    if (!plain && v == CKPT_VERDICT_SAFE) {
        v = CKPT_VERDICT_UNKNOWN;
        reason = "name with non-printable or non-ASCII bytes";
    }
    if (ml > CKPT__SCAN_NAME_MAX || nl > CKPT__SCAN_NAME_MAX) {
        if (v < CKPT_VERDICT_UNKNOWN) v = CKPT_VERDICT_UNKNOWN;
        reason = "name longer than any Python global (shown truncated)";
    }
    int cat = GC_OTHER;
    if (op == 'c' && plain) {
        if (strcmp(canon, "functools.partial") == 0) cat = GC_PARTIAL;
        else if (strcmp(canon, "builtins.getattr") == 0) cat = GC_GETATTR;
        else if (v != CKPT_VERDICT_DANGEROUS) cat = GC_PLAIN;
    }
    if ((cat == GC_PARTIAL || cat == GC_GETATTR) && v == CKPT_VERDICT_DANGEROUS &&
        strlen(em) < sizeof ((pend *)0)->module && strlen(en) < sizeof ((pend *)0)->name &&
        p->npend < CKPT__SCAN_MAX_PENDING) {
        pend_add(p, op, off, em, en, reason, cat); /* judged after the walk */
        return cat;
    }
    if (p->danger_only && v != CKPT_VERDICT_DANGEROUS) return cat;
    char why[320];
    snprintf(why, sizeof why, "%s%s", reason, p->plain_view ? VIEW_NOTE : "");
    ckpt__scan_add(p->s, CKPT_FIND_GLOBAL, v, em, en, canon, op, (int64_t)off, p->member, p->start,
                   0, why);
    return cat;
}

static void emit_ext(pk *p, uint8_t op, uint64_t off) {
    if (p->danger_only) return;
    const uint8_t *a = p->buf + off + 1;
    int32_t code;
    if (op == 0x82) code = a[0];
    else if (op == 0x83) code = (int32_t)(a[0] | (a[1] << 8));
    else code = (int32_t)((uint32_t)a[0] | ((uint32_t)a[1] << 8) | ((uint32_t)a[2] << 16) |
                          ((uint32_t)a[3] << 24));
    char why[160];
    snprintf(why, sizeof why,
             "extension code %d: resolves to whatever copyreg.add_extension registered", (int)code);
    ckpt__scan_add(p->s, CKPT_FIND_EXT, CKPT_VERDICT_UNKNOWN, NULL, NULL, NULL, op, (int64_t)off,
                   p->member, p->start, code, why);
}

/* ---- machine pass hooks ---- */

static void on_global(void *user, const char *module, const char *name, uint8_t opcode,
                      uint64_t offset) {
    pk *p = user;
    if (p->nomem) return;
    if (opcode == 0x82 || opcode == 0x83 || opcode == 0x84) {
        emit_ext(p, opcode, offset);
        return;
    }
    if (opcode == 0x93 && !push_u64(p, &p->msg, &p->nmsg, &p->capmsg, offset)) return;
    if (!module || !name) {
        ckpt__scan_add(p->s, CKPT_FIND_DYNAMIC_GLOBAL, CKPT_VERDICT_DANGEROUS, NULL, NULL, NULL,
                       opcode, (int64_t)offset, p->member, p->start, 0,
                       "STACK_GLOBAL operands are not string constants (computed by a call)");
        return;
    }
    emit_global(p, opcode, offset, (const uint8_t *)module, strlen(module), (const uint8_t *)name,
                strlen(name));
}

static int64_t int_of(const ckpt_value *v, int64_t dflt) {
    int64_t x;
    return ckpt_value_int64(v, &x) == CKPT_OK ? x : dflt;
}

static ckpt_status after_build(void *user, ckpt_graph *g, ckpt_value *obj, const uint8_t *buf,
                               size_t len, size_t *pos, ckpt_error *err) {
    (void)g;
    pk *p = user;
    const char *cls = ckpt_value_class(obj);
    if (!cls || (strcmp(cls, "joblib.numpy_pickle.NumpyArrayWrapper") != 0 &&
                 strcmp(cls, "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper") != 0))
        return CKPT_OK;
    ckpt_value *st = ckpt_value_state(obj);
    ckpt_value *shape = ckpt_dict_get(st, "shape");
    ckpt_value *dt = ckpt_dict_get(st, "dtype");
    ckpt_value *descr = ckpt_value_item(ckpt_value_args(dt), 0);
    size_t dl = 0;
    const uint8_t *d = ckpt_value_bytes(descr, &dl);
    if (ckpt_value_kind(shape) != CKPT_K_TUPLE || ckpt_value_kind(descr) != CKPT_K_STR || !d || !dl)
        return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)*pos,
                              "joblib array wrapper without a shape tuple and a dtype");
    ckpt_value *dst = ckpt_value_state(dt);
    int64_t elsize = int_of(ckpt_value_item(dst, 5), -1);
    int64_t dflags = int_of(ckpt_value_item(dst, 7), 0);
    size_t region = *pos;
    if (d[0] == 'O' || (dflags & 1)) {
        /* object array: joblib wrote pickle.dump(array) here */
        size_t e = 0;
        ckpt_status rs = ckpt__scan_pickle(p->s, buf, len, *pos, p->member, 0, !p->danger_only, &e);
        if (rs != CKPT_OK)
            return ckpt_error_set(err, rs, (int64_t)*pos, "object array pickle at offset %zu does not parse",
                                  *pos);
        *pos = e;
    } else {
        uint64_t item = 0;
        if (elsize > 0) {
            item = (uint64_t)elsize;
        } else {
            size_t i = 0;
            while (i < dl && (d[i] == '<' || d[i] == '>' || d[i] == '|' || d[i] == '=')) i++;
            while (i < dl && ((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z'))) i++;
            for (; i < dl && d[i] >= '0' && d[i] <= '9'; i++)
                if (!ckpt__mul_ok(item, 10, &item) || !ckpt__add_ok(item, (uint64_t)(d[i] - '0'), &item))
                    return ckpt_error_set(err, CKPT_E_RANGE, (int64_t)*pos, "dtype size overflows");
            if (item == 0 && dl >= 1 && (d[dl - 1] == '?' || d[0] == 'b'))
                item = 1;
            if (item == 0)
                return ckpt_error_set(err, CKPT_E_UNSUPPORTED, (int64_t)*pos,
                                      "joblib array dtype '%.*s' has no known item size", (int)dl, d);
        }
        uint64_t n = item;
        for (size_t i = 0; i < ckpt_value_len(shape); i++) {
            int64_t dim = int_of(ckpt_value_item(shape, i), -1);
            if (dim < 0 || !ckpt__mul_ok(n, (uint64_t)dim, &n))
                return ckpt_error_set(err, CKPT_E_RANGE, (int64_t)*pos,
                                      "joblib array shape is negative or overflows");
        }
        ckpt_value *al = ckpt_dict_get(st, "numpy_array_alignment_bytes");
        uint64_t at = *pos;
        if (al && ckpt_value_kind(al) != CKPT_K_NONE) {
            if (at >= len)
                return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)at, "joblib padding byte missing");
            at += 1 + (uint64_t)buf[at];
        }
        uint64_t end;
        if (!ckpt__add_ok(at, n, &end) || end > len)
            return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)at,
                                  "joblib array data (%llu bytes) runs past the end",
                                  (unsigned long long)n);
        *pos = (size_t)end;
    }
    if (p->nreg / 2 >= CKPT__SCAN_MAX_REGIONS)
        return ckpt_error_set(err, CKPT_E_LIMIT, (int64_t)region, "too many joblib arrays");
    if (!push_u64(p, &p->reg, &p->nreg, &p->capreg, region) ||
        !push_u64(p, &p->reg, &p->nreg, &p->capreg, *pos))
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    return CKPT_OK;
}

/* ---- symbolic stack for the disassembler pass ---- */

static int spush(pk *p, slot v) {
    if (p->sp == p->stcap) {
        if (p->stcap >= p->s->limits.max_stack) {
            p->sym_limit = 1;
            return 0;
        }
        size_t nc = p->stcap ? p->stcap * 2 : 64;
        slot *ns = ckpt__realloc(&p->s->alloc, p->st, p->stcap * sizeof *ns, nc * sizeof *ns);
        if (!ns) {
            p->nomem = 1;
            return 0;
        }
        p->st = ns;
        p->stcap = nc;
    }
    p->st[p->sp++] = v;
    return 1;
}

static tval *tv_of(pk *p, uint32_t id) {
    return id >= TV_FIRST && id - TV_FIRST < p->ntv ? &p->tv[id - TV_FIRST] : NULL;
}

/* a reference to a value is consumed (popped, or left at the end) */
static void consume(pk *p, uint32_t id) {
    tval *t = tv_of(p, id);
    if (t) t->uses++;
}

/* a new tracked value; TV_OTHER when the table is full (then nothing is recognised) */
static uint32_t tv_new(pk *p, uint8_t kind) {
    if (!p->track) return TV_OTHER;
    if (p->ntv == p->captv) {
        if (p->captv >= CKPT__SCAN_MAX_TRACKED) {
            p->track_fail = 1;
            return TV_OTHER;
        }
        size_t nc = p->captv ? p->captv * 2 : 64;
        tval *nt = ckpt__realloc(&p->s->alloc, p->tv, p->captv * sizeof *nt, nc * sizeof *nt);
        if (!nt) {
            p->nomem = 1;
            return TV_OTHER;
        }
        p->tv = nt;
        p->captv = nc;
    }
    tval *t = &p->tv[p->ntv];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    return (uint32_t)(TV_FIRST + p->ntv++);
}

static slot spop(pk *p) {
    slot o = {SL_OTHER, NULL, 0, 0};
    if (!p->sp) return o;
    o = p->st[--p->sp];
    consume(p, o.id);
    return o;
}

/* pop to the MARK (or everything); *n items, the ids of the first ones in first[] */
static void pop_mark_items(pk *p, size_t *n, uint32_t first[4]) {
    size_t m = p->sp;
    while (m > 0 && p->st[m - 1].kind != SL_MARK) m--;
    size_t base = m > 0 ? m : 0; /* first item */
    if (n) *n = p->sp - base;
    for (size_t i = base; i < p->sp; i++) {
        if (first && i - base < 4) first[i - base] = p->st[i].id;
        consume(p, p->st[i].id);
    }
    p->sp = m > 0 ? m - 1 : 0;
}

static void pop_mark(pk *p) { pop_mark_items(p, NULL, NULL); }

/* the value on top is changed in place (BUILD, APPEND(S), SETITEM(S), ADDITEMS) */
static void mutate_top(pk *p, int added) {
    if (!p->sp) return;
    slot *t = &p->st[p->sp - 1];
    tval *v = tv_of(p, t->id);
    if (v) v->mutated++;
    else if (t->id == TV_DICT_EMPTY && added) t->id = TV_DICT;
    else if (t->id != TV_DICT_EMPTY && t->id != TV_DICT) t->id = TV_OTHER;
    t->kind = SL_OTHER;
    t->p = NULL;
    t->n = 0;
}

static memo_ent *memo_find(pk *p, uint64_t key, int insert) {
    if (insert && (p->memo_count + 1) * 2 > p->memo_cap) {
        size_t nc = p->memo_cap ? p->memo_cap * 2 : 64;
        memo_ent *nm = ckpt__calloc(&p->s->alloc, nc, sizeof *nm);
        if (!nm) {
            p->nomem = 1;
            return NULL;
        }
        for (size_t i = 0; i < p->memo_cap; i++) {
            if (!p->memo[i].key1) continue;
            size_t k = (size_t)(p->memo[i].key1 * 0x9E3779B97F4A7C15ull) & (nc - 1);
            while (nm[k].key1) k = (k + 1) & (nc - 1);
            nm[k] = p->memo[i];
        }
        ckpt__free(&p->s->alloc, p->memo, p->memo_cap * sizeof *p->memo);
        p->memo = nm;
        p->memo_cap = nc;
    }
    if (!p->memo_cap) return NULL;
    size_t k = (size_t)((key + 1) * 0x9E3779B97F4A7C15ull) & (p->memo_cap - 1);
    while (p->memo[k].key1) {
        if (p->memo[k].key1 == key + 1) return &p->memo[k];
        k = (k + 1) & (p->memo_cap - 1);
    }
    if (!insert) return NULL;
    if (p->memo_count >= p->s->limits.max_memo) {
        p->sym_limit = 1;
        return NULL;
    }
    p->memo[k].key1 = key + 1;
    p->memo[k].v.kind = SL_OTHER;
    p->memo_count++;
    return &p->memo[k];
}

static uint64_t le(const uint8_t *a, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | a[i];
    return v;
}

/* decimal argument of GET/PUT ("123\n"); UINT64_MAX if malformed */
static uint64_t dec_arg(const uint8_t *a, const uint8_t *end) {
    uint64_t v = 0;
    int any = 0;
    for (; a < end && *a != '\n'; a++) {
        if (*a < '0' || *a > '9' || v > (UINT64_MAX - 9) / 10) return UINT64_MAX;
        v = v * 10 + (uint64_t)(*a - '0');
        any = 1;
    }
    return any ? v : UINT64_MAX;
}

static size_t put_utf8(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xc0 | (cp >> 6)); o[1] = (uint8_t)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12)); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
        o[2] = (uint8_t)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18)); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 63)); o[3] = (uint8_t)(0x80 | (cp & 63));
    return 4;
}

static int hexv(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* UNICODE argument: raw-unicode-escape (\uXXXX, \UXXXXXXXX; other bytes latin-1) */
static slot dec_raw_unicode(pk *p, const uint8_t *a, size_t n) {
    slot r = {SL_STR, a, n, 0};
    int plain = 1;
    for (size_t i = 0; i < n; i++)
        if (a[i] >= 0x80 || a[i] == '\\') plain = 0;
    if (plain) return r;
    uint8_t *o = dalloc(p, n * 4 + 1);
    if (!o) return (slot){SL_OTHER, NULL, 0, 0};
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (a[i] == '\\' && i + 1 < n && (a[i + 1] == 'u' || a[i + 1] == 'U')) {
            int digits = a[i + 1] == 'u' ? 4 : 8;
            if (i + 2 + (size_t)digits > n) return (slot){SL_OTHER, NULL, 0, 0}; /* Python: error */
            uint32_t cp = 0;
            for (int j = 0; j < digits; j++) {
                int h = hexv(a[i + 2 + j]);
                if (h < 0) return (slot){SL_OTHER, NULL, 0, 0};
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10ffff) return (slot){SL_OTHER, NULL, 0, 0};
            k += put_utf8(o + k, cp);
            i += 2 + (size_t)digits;
        } else {
            k += put_utf8(o + k, a[i]);
            i++;
        }
    }
    r.p = o;
    r.n = k;
    return r;
}

/* STRING argument: quoted, with Python string escapes; decoded as ASCII/latin-1 */
static slot dec_string(pk *p, const uint8_t *a, size_t n) {
    slot bad = {SL_OTHER, NULL, 0, 0};
    if (n < 2 || a[0] != a[n - 1] || (a[0] != '\'' && a[0] != '"')) return bad;
    a++;
    n -= 2;
    uint8_t *o = dalloc(p, n * 2 + 1);
    if (!o) return bad;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c = a[i++];
        if (c == '\\' && i < n) {
            uint8_t e = a[i++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'a': c = 7; break;
            case 'b': c = 8; break;
            case 'f': c = 12; break;
            case 'v': c = 11; break;
            case '\\': case '\'': case '"': c = e; break;
            case '\n': continue;
            case 'x': {
                int h1 = i < n ? hexv(a[i]) : -1, h2 = i + 1 < n ? hexv(a[i + 1]) : -1;
                if (h1 < 0 || h2 < 0) return bad;
                c = (uint32_t)(h1 * 16 + h2);
                i += 2;
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    c = (uint32_t)(e - '0');
                    for (int j = 0; j < 2 && i < n && a[i] >= '0' && a[i] <= '7'; j++)
                        c = c * 8 + (uint32_t)(a[i++] - '0');
                    c &= 0xff;
                } else {
                    o[k++] = '\\';
                    c = e;
                }
            }
        }
        k += put_utf8(o + k, c);
    }
    return (slot){SL_STR, o, k, 0};
}

static slot latin1(pk *p, const uint8_t *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] >= 0x80) {
            uint8_t *o = dalloc(p, n * 2 + 1);
            if (!o) return (slot){SL_OTHER, NULL, 0, 0};
            size_t k = 0;
            for (size_t j = 0; j < n; j++) k += put_utf8(o + k, a[j]);
            return (slot){SL_STR, o, k, 0};
        }
    return (slot){SL_STR, a, n, 0};
}

static const uint8_t *line_end(const uint8_t *a, const uint8_t *end) {
    const uint8_t *nl = memchr(a, '\n', (size_t)(end - a));
    return nl ? nl : end;
}

/* a string constant slot, '__new__' given its identity */
static void spush_str(pk *p, slot v) {
    if (v.kind == SL_STR && v.n == 7 && memcmp(v.p, "__new__", 7) == 0) v.id = TV_STR_NEW;
    spush(p, v);
}

/* a tuple of the popped items: tracked when its first item is */
static uint32_t make_tuple(pk *p, size_t n, const uint32_t first[4]) {
    if (n == 0) return TV_EMPTY_TUPLE;
    if (first[0] < TV_FIRST) return TV_OTHER;
    uint32_t id = tv_new(p, TK_TUPLE);
    tval *t = tv_of(p, id);
    if (t) {
        t->n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
        for (size_t i = 0; i < 4 && i < n; i++) t->item[i] = first[i];
    }
    return id;
}

static void pop_tuple(pk *p, size_t n) {
    uint32_t first[4] = {0, 0, 0, 0};
    for (size_t i = n; i-- > 0;) first[i] = spop(p).id;
    spush(p, (slot){SL_OTHER, NULL, 0, make_tuple(p, n, first)});
}

static int dis_cb(void *user, const ckpt_disasm_op *op) {
    pk *p = user;
    const uint8_t *a = p->buf + op->offset + 1, *end = p->buf + p->len;
    slot other = {SL_OTHER, NULL, 0, 0};
    switch (op->code) {
    case 0x8c: spush_str(p, (slot){SL_STR, a + 1, a[0], 0}); break;          /* SHORT_BINUNICODE */
    case 'X': spush_str(p, (slot){SL_STR, a + 4, (size_t)le(a, 4), 0}); break; /* BINUNICODE */
    case 0x8d: spush_str(p, (slot){SL_STR, a + 8, (size_t)le(a, 8), 0}); break; /* BINUNICODE8 */
    case 'U': spush_str(p, latin1(p, a + 1, a[0])); break;               /* SHORT_BINSTRING */
    case 'T': spush_str(p, latin1(p, a + 4, (size_t)le(a, 4))); break;   /* BINSTRING */
    case 'V': {
        const uint8_t *e = line_end(a, end);
        spush_str(p, dec_raw_unicode(p, a, (size_t)(e - a)));
        break;
    }
    case 'S': {
        const uint8_t *e = line_end(a, end);
        spush_str(p, dec_string(p, a, (size_t)(e - a)));
        break;
    }
    case '(':
        spush(p, (slot){SL_MARK, NULL, 0, 0});
        break;
    case '0': (void)spop(p); break;  /* POP (a MARK too) */
    case '1': pop_mark(p); break;    /* POP_MARK */
    case '2': spush(p, p->sp ? p->st[p->sp - 1] : other); break; /* DUP */
    case 'p': case 'q': case 'r': case 0x94: {           /* PUT, BINPUT, LONG_BINPUT, MEMOIZE */
        uint64_t key = op->code == 'q' ? a[0]
                       : op->code == 'r' ? le(a, 4)
                       : op->code == 'p' ? dec_arg(a, end)
                                         : (uint64_t)p->memo_count;
        if (key == UINT64_MAX) break;
        memo_ent *m = memo_find(p, key, 1);
        if (m) m->v = p->sp ? p->st[p->sp - 1] : other;
        if (m && m->v.kind == SL_MARK) m->v = other;
        break;
    }
    case 'g': case 'h': case 'j': { /* GET, BINGET, LONG_BINGET */
        uint64_t key = op->code == 'h' ? a[0] : op->code == 'j' ? le(a, 4) : dec_arg(a, end);
        memo_ent *m = key == UINT64_MAX ? NULL : memo_find(p, key, 0);
        spush(p, m ? m->v : other);
        break;
    }
    case 'c': case 'i': { /* GLOBAL, INST: "module\nname\n" */
        const uint8_t *e1 = line_end(a, end);
        const uint8_t *b = e1 < end ? e1 + 1 : end;
        const uint8_t *e2 = line_end(b, end);
        int cat = emit_global(p, op->code, op->offset, a, (size_t)(e1 - a), b, (size_t)(e2 - b));
        if (op->code == 'i') {
            pop_mark(p);
            spush(p, other);
            break;
        }
        uint32_t id = tv_new(p, TK_GLOBAL);
        tval *t = tv_of(p, id);
        if (t) {
            t->cat = (uint8_t)cat;
            t->off = op->offset;
        }
        spush(p, (slot){SL_OTHER, NULL, 0, id});
        break;
    }
    case 0x93: { /* STACK_GLOBAL */
        slot n = spop(p), m = spop(p);
        if (m.kind == SL_STR && n.kind == SL_STR) {
            emit_global(p, op->code, op->offset, m.p, m.n, n.p, n.n);
        } else if (!has_u64(p->msg, p->nmsg, op->offset) && !p->danger_only) {
            /* the machine did not reach it (or it is seen in the plain view) */
            ckpt__scan_add(p->s, CKPT_FIND_DYNAMIC_GLOBAL, CKPT_VERDICT_UNVERIFIABLE, NULL, NULL,
                           NULL, op->code, (int64_t)op->offset, p->member, p->start, 0,
                           "STACK_GLOBAL operands could not be resolved to strings");
        }
        spush(p, other);
        break;
    }
    case 0x82: case 0x83: case 0x84:
        emit_ext(p, op->code, op->offset);
        spush(p, other);
        break;
    case ')': spush(p, (slot){SL_OTHER, NULL, 0, TV_EMPTY_TUPLE}); break; /* EMPTY_TUPLE */
    case 'N': spush(p, (slot){SL_OTHER, NULL, 0, TV_NONE}); break;        /* NONE */
    case '}': spush(p, (slot){SL_OTHER, NULL, 0, TV_DICT_EMPTY}); break;  /* EMPTY_DICT */
    case 0x85: pop_tuple(p, 1); break; /* TUPLE1 */
    case 0x86: pop_tuple(p, 2); break; /* TUPLE2 */
    case 0x87: pop_tuple(p, 3); break; /* TUPLE3 */
    case 't': {                        /* TUPLE */
        size_t n = 0;
        uint32_t first[4] = {0, 0, 0, 0};
        pop_mark_items(p, &n, first);
        spush(p, (slot){SL_OTHER, NULL, 0, make_tuple(p, n, first)});
        break;
    }
    case 'd': { /* DICT */
        size_t n = 0;
        pop_mark_items(p, &n, NULL);
        spush(p, (slot){SL_OTHER, NULL, 0, n ? TV_DICT : TV_DICT_EMPTY});
        break;
    }
    case 'R': { /* REDUCE: callable(*args) */
        slot args = spop(p), fn = spop(p);
        tval *f = tv_of(p, fn.id);
        uint32_t id = TV_OTHER;
        if (f) {
            if (args.id == TV_EMPTY_TUPLE) f->called_empty++;
            if (f->kind == TK_GLOBAL && (f->cat == GC_PARTIAL || f->cat == GC_GETATTR)) {
                id = tv_new(p, TK_CALL);
                tval *c = tv_of(p, id);
                if (c) {
                    c->callable = fn.id;
                    c->args = args.id;
                }
            }
        }
        spush(p, (slot){SL_OTHER, NULL, 0, id});
        break;
    }
    case 'b': { /* BUILD: state applied to the value below it */
        slot state = spop(p);
        tval *t = p->sp ? tv_of(p, p->st[p->sp - 1].id) : NULL;
        if (t) {
            if (t->builds++ == 0) t->state = state.id;
            p->st[p->sp - 1].kind = SL_OTHER; /* keeps its identity */
        } else {
            mutate_top(p, 1);
        }
        break;
    }
    /* pop to MARK, push one */
    case 'l': case 0x91: case 'o':
        pop_mark(p);
        spush(p, other);
        break;
    /* pop to MARK, the container below stays */
    case 'e': case 'u': case 0x90: {
        size_t n = 0;
        pop_mark_items(p, &n, NULL);
        mutate_top(p, n > 0);
        break;
    }
    case 'a': (void)spop(p); mutate_top(p, 1); break;                 /* APPEND */
    case 's': (void)spop(p); (void)spop(p); mutate_top(p, 1); break;  /* SETITEM */
    case '.': (void)spop(p); break;
    case 0x80: /* PROTO */
        if (a[0] == 2 || a[0] == 3) {
            if (p->proto_ok == 0) p->proto_ok = 1;
        } else {
            p->proto_ok = -1;
        }
        break;
    case 0x95: break; /* FRAME */
    /* pop n, push one */
    case 0x98: case 'Q': (void)spop(p); spush(p, other); break;
    case 0x81:
        (void)spop(p); (void)spop(p); spush(p, other);
        break;
    case 0x92:
        (void)spop(p); (void)spop(p); (void)spop(p); spush(p, other);
        break;
    default: /* every other opcode pushes one value */
        spush(p, other);
        break;
    }
    return p->nomem || p->sym_limit;
}


/* ---- the NEWOBJ_EX pattern: judging the held-back globals after a walk ---- */

static tval *tv_kind(pk *p, uint32_t id, uint8_t kind) {
    tval *t = tv_of(p, id);
    return t && t->kind == kind ? t : NULL;
}

/* a GLOBAL that may stand for a class: not dangerous, plain name, GLOBAL opcode */
static tval *plain_global(pk *p, uint32_t id) {
    tval *t = tv_kind(p, id, TK_GLOBAL);
    return t && t->cat == GC_PLAIN ? t : NULL;
}

/* F = getattr(C, '__new__') as a value: its own shape, not yet its uses */
static int f_shape(pk *p, tval *f) {
    tval *g = tv_kind(p, f->callable, TK_GLOBAL);
    tval *t2 = tv_kind(p, f->args, TK_TUPLE);
    return g && g->cat == GC_GETATTR && t2 && t2->n == 2 && t2->uses == 1 &&
           plain_global(p, t2->item[0]) && t2->item[1] == TV_STR_NEW && !f->builds && !f->mutated &&
           !f->called_empty;
}

/* P = partial(F) with BUILD (F, (A0, ...), kwargs|None, None|{}) called once with ();
   returns F's id, 0 if not */
static uint32_t p_shape(pk *p, tval *c) {
    tval *g = tv_kind(p, c->callable, TK_GLOBAL);
    tval *t1 = tv_kind(p, c->args, TK_TUPLE);
    tval *st = tv_kind(p, c->state, TK_TUPLE);
    if (!g || g->cat != GC_PARTIAL || !t1 || t1->n != 1 || t1->uses != 1 || !st || st->n != 4 ||
        st->uses != 1 || c->builds != 1 || c->mutated || c->uses != 1 || c->called_empty != 1)
        return 0;
    uint32_t fid = t1->item[0];
    tval *f = tv_kind(p, fid, TK_CALL);
    tval *args = tv_kind(p, st->item[1], TK_TUPLE);
    if (!f || st->item[0] != fid || !f_shape(p, f) || !args || args->n < 1 ||
        !plain_global(p, args->item[0]))
        return 0;
    uint32_t kw = st->item[2], dict = st->item[3];
    if (kw != TV_NONE && kw != TV_DICT_EMPTY && kw != TV_DICT) return 0;
    if (dict != TV_NONE && dict != TV_DICT_EMPTY) return 0;
    return fid;
}

/* "module.name" of the GLOBAL opcode at off */
static void global_text(pk *p, uint64_t off, char *out, size_t size) {
    const uint8_t *a = p->buf + off + 1, *end = p->buf + p->len;
    const uint8_t *e1 = line_end(a, end);
    const uint8_t *b = e1 < end ? e1 + 1 : end;
    const uint8_t *e2 = line_end(b, end);
    char em[CKPT__SCAN_NAME_MAX * 4 + 1], en[CKPT__SCAN_NAME_MAX * 4 + 1];
    ckpt__scan_escape(a, (size_t)(e1 - a), em);
    ckpt__scan_escape(b, (size_t)(e2 - b), en);
    snprintf(out, size, "%.100s.%.100s", em, en);
}

/* End of a walk of one view: decide every held-back global of that view. */
static void pattern_resolve(pk *p, uint8_t view) {
    for (size_t i = 0; i < p->sp; i++) consume(p, p->st[i].id); /* left on the stack */
    uint64_t *ok = NULL, *okix = NULL; /* offsets of the recognised globals, their tv index */
    size_t nok = 0, capok = 0, nokix = 0, capokix = 0;
    int any = 0;
    for (size_t i = 0; i < p->npend; i++) any |= p->pend[i].view == view;
    if (any && p->track && !p->track_fail && !p->sym_limit && p->proto_ok == 1) {
        for (size_t i = 0; i < p->ntv; i++) p->tv[i].expected = p->tv[i].ex = 0;
        /* each P in shape accounts for two uses of its F (T1 item, state item) */
        for (size_t i = 0; i < p->ntv; i++) {
            if (p->tv[i].kind != TK_CALL) continue;
            uint32_t fid = p_shape(p, &p->tv[i]);
            if (fid) tv_of(p, fid)->expected += 2;
        }
        /* a P counts when its F has no other use; then P accounts for one use of
           its partial global, and each such F for one use of its getattr global */
        for (size_t i = 0; i < p->ntv; i++) {
            if (p->tv[i].kind != TK_CALL) continue;
            uint32_t fid = p_shape(p, &p->tv[i]);
            tval *f = tv_of(p, fid);
            if (!f || f->uses != f->expected) continue;
            tval *gp = tv_of(p, p->tv[i].callable), *gf = tv_of(p, f->callable);
            gp->expected++;
            gp->ex = (uint32_t)(TV_FIRST + i);
            if (!f->ex) { /* one getattr call per F, however many P share it */
                f->ex = (uint32_t)(TV_FIRST + i);
                gf->expected++;
                gf->ex = f->ex;
            }
        }
        for (size_t i = 0; i < p->ntv && !p->nomem; i++) {
            tval *g = &p->tv[i];
            if (g->kind == TK_GLOBAL && (g->cat == GC_PARTIAL || g->cat == GC_GETATTR) &&
                g->expected && g->uses == g->expected && !g->builds && !g->mutated)
                if (push_u64(p, &ok, &nok, &capok, g->off)) /* ascending: walk order */
                    (void)push_u64(p, &okix, &nokix, &capokix, i);
        }
    }
    for (size_t i = 0; i < p->npend && !p->nomem; i++) {
        pend *e = &p->pend[i];
        if (e->view != view) continue;
        const char *canon = e->cat == GC_PARTIAL ? "functools.partial" : "builtins.getattr";
        char why[768];
        ckpt_verdict v = CKPT_VERDICT_DANGEROUS;
        size_t at = find_u64(ok, nok, e->off);
        if (at < nokix) {
            if (p->danger_only) continue;
            /* the example P this global belongs to: name its classes */
            tval *g = &p->tv[okix[at]];
            tval *pc = g ? tv_of(p, g->ex) : NULL;
            tval *f = pc ? tv_of(p, tv_of(p, pc->args)->item[0]) : NULL;
            char cn[220] = "?", an[220] = "?";
            if (f) global_text(p, tv_of(p, tv_of(p, f->args)->item[0])->off, cn, sizeof cn);
            if (pc) global_text(p, tv_of(p, tv_of(p, tv_of(p, pc->state)->item[1])->item[0])->off,
                                an, sizeof an);
            snprintf(why, sizeof why,
                     "protocol-2/3 NEWOBJ_EX pattern recognised (how pickle writes __getnewargs_ex__ "
                     "objects below protocol 4): functools.partial(getattr(%s, '__new__'), %s, *args, "
                     "**kwargs) called once with (), every use of this global part of it; judged as "
                     "NEWOBJ of those classes (see their findings)%s",
                     cn, an, view ? VIEW_NOTE : "");
            v = CKPT_VERDICT_SAFE;
        } else {
            snprintf(why, sizeof why, "%s%s", e->reason, view ? VIEW_NOTE : "");
        }
        ckpt__scan_add(p->s, CKPT_FIND_GLOBAL, v, e->module, e->name, canon, e->op, (int64_t)e->off,
                       p->member, p->start, 0, why);
    }
    ckpt__free(&p->s->alloc, ok, capok * sizeof *ok);
    ckpt__free(&p->s->alloc, okix, capokix * sizeof *okix);
}

static void sym_reset(pk *p) {
    p->sp = 0;
    if (p->memo) memset(p->memo, 0, p->memo_cap * sizeof *p->memo);
    p->memo_count = 0;
    p->ntv = 0;
    p->track_fail = 0;
    p->proto_ok = 0;
}

static void pk_free(pk *p) {
    const ckpt_allocator *a = &p->s->alloc;
    ckpt__free(a, p->msg, p->capmsg * sizeof *p->msg);
    ckpt__free(a, p->reg, p->capreg * sizeof *p->reg);
    ckpt__free(a, p->st, p->stcap * sizeof *p->st);
    ckpt__free(a, p->memo, p->memo_cap * sizeof *p->memo);
    ckpt__free(a, p->tv, p->captv * sizeof *p->tv);
    ckpt__free(a, p->pend, p->cappend * sizeof *p->pend);
    while (p->blocks) {
        dblock *n = p->blocks->next;
        ckpt__free(a, p->blocks, p->blocks->size);
        p->blocks = n;
    }
}

/* disassemble [start, len) skipping the joblib regions; CKPT_OK at STOP */
static ckpt_status dis_pass(pk *p, int use_regions, size_t *end, ckpt_error *e) {
    size_t seg = p->start;
    ckpt_pickle_info info;
    if (use_regions) {
        for (size_t i = 0; i + 1 < p->nreg; i += 2) {
            size_t ra = (size_t)p->reg[i], rb = (size_t)p->reg[i + 1];
            if (ra < seg) continue; /* nested inside an earlier region */
            ckpt_status st = ckpt_pickle_disasm(p->buf, ra, seg, dis_cb, p, &info, e);
            if (p->nomem || p->sym_limit) return CKPT_E_LIMIT;
            if (st == CKPT_OK) return ckpt_error_set(e, CKPT_E_FORMAT, (int64_t)info.end,
                                                     "STOP before joblib array data at %zu", ra);
            if (st != CKPT_E_TRUNCATED || e->offset != (int64_t)ra) return st;
            seg = rb;
        }
    }
    ckpt_status st = ckpt_pickle_disasm(p->buf, p->len, seg, dis_cb, p, &info, e);
    if (p->nomem) return CKPT_E_NOMEM;
    if (p->sym_limit)
        return ckpt_error_set(e, CKPT_E_LIMIT, -1, "symbolic stack or memo over the limits");
    *end = (size_t)info.end;
    return st;
}

ckpt_status ckpt__scan_pickle(ckpt__scan *s, const uint8_t *buf, size_t len, size_t start,
                              const char *member, unsigned flags, int primary, size_t *end) {
    *end = start;
    if (s->nomem) return CKPT_E_NOMEM;
    if (start >= len) return CKPT_E_TRUNCATED;
    pk p;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.buf = buf;
    p.len = len;
    p.start = start;
    p.member = member;
    ckpt_error me, de;
    ckpt_error_clear(&me);
    ckpt_error_clear(&de);
    /* The machine passes refuse memo keys past the bytes left (at least
       CKPT__SCAN_MEMO_MIN): picklers number memo entries 0, 1, 2 ... one per
       PUT, so a larger key only comes from a hand-made stream, and the
       machine's dense memo would zero 8 bytes per key below it (a 5-byte
       LONG_BINPUT could cost 128 MB).  Such a stream is then walked by the
       disassembler alone (hash memo, every global reported) and is
       unverifiable, never safe. */
    ckpt_limits ml = s->limits;
    uint64_t memo_cap = len - start > CKPT__SCAN_MEMO_MIN ? len - start : CKPT__SCAN_MEMO_MIN;
    if (ml.max_memo > memo_cap) ml.max_memo = memo_cap;
    if (!primary) {
        /* bytes that may be data: a full scan only if they are a complete pickle */
        ckpt_pickle_info pre;
        p.danger_only = ckpt_pickle_disasm(buf, len, start, NULL, NULL, &pre, NULL) != CKPT_OK;
        if (!p.danger_only) {
            /* the opcodes may line up by chance (float data of a torch storage
               record); a complete pickle must also run on the machine */
            ckpt_graph *pg = NULL;
            ckpt_status pst = ckpt_graph_new(&ml, &s->alloc, CKPT_GRAPH_BORROW_INPUT, &pg);
            if (pst == CKPT_OK) {
                ckpt_value *proot = NULL;
                pst = ckpt_pickle_load(pg, buf, len, start, NULL, &proot, &pre, NULL);
            }
            ckpt_graph_free(pg);
            if (pst == CKPT_E_NOMEM) {
                s->nomem = 1;
                return CKPT_E_NOMEM;
            }
            p.danger_only = pst != CKPT_OK;
        }
    }
    if (!p.danger_only) s->r->npickles++;

    /* 1. the machine */
    ckpt_graph *g = NULL;
    ckpt_status mst = ckpt_graph_new(&ml, &s->alloc, CKPT_GRAPH_BORROW_INPUT, &g);
    size_t mend = start;
    if (mst == CKPT_OK) {
        ckpt_pickle_hooks hooks;
        memset(&hooks, 0, sizeof hooks);
        hooks.user = &p;
        hooks.on_global = on_global;
        if (flags & CKPT__SF_JOBLIB) hooks.after_build = after_build;
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        mst = ckpt_pickle_load(g, buf, len, start, &hooks, &root, &info, &me);
        mend = (size_t)info.end;
    } else {
        ckpt_error_set(&me, mst, -1, "cannot create a graph");
    }
    ckpt_graph_free(g);
    if (mst == CKPT_E_NOMEM && !p.danger_only) p.nomem = 1;

    /* 2. the disassembler with its symbolic stack (values get identities for the
       NEWOBJ_EX pattern when the machine held back a global or did not finish) */
    size_t dend = start;
    p.track = p.npend > 0 || mst != CKPT_OK;
    ckpt_status dst = p.nomem ? CKPT_E_NOMEM : dis_pass(&p, 1, &dend, &de);
    if (dst == CKPT_E_NOMEM) p.nomem = 1;
    if (!p.nomem) pattern_resolve(&p, 0);

    /* 3. a joblib stream read as a plain pickle */
    if (p.nreg && !p.nomem) {
        int keep = p.danger_only;
        p.danger_only = 1;
        p.plain_view = 1;
        sym_reset(&p);
        p.track = 1;
        size_t e2;
        ckpt_error pe;
        ckpt_error_clear(&pe);
        if (dis_pass(&p, 0, &e2, &pe) == CKPT_E_NOMEM) p.nomem = 1;
        if (!p.nomem) pattern_resolve(&p, 1);
        p.danger_only = keep;
        p.plain_view = 0;
    }
    if (p.nomem) {
        s->nomem = 1;
        pk_free(&p);
        return CKPT_E_NOMEM;
    }

    ckpt_status rs = CKPT_OK;
    if (mst != CKPT_OK || dst != CKPT_OK || mend != dend) {
        rs = mst != CKPT_OK ? mst : dst != CKPT_OK ? dst : CKPT_E_FORMAT;
        const ckpt_error *e = mst != CKPT_OK ? &me : &de;
        if (!p.danger_only) {
            if (mst == CKPT_OK && dst == CKPT_OK)
                ckpt__scan_addf(s, CKPT_FIND_PARSE_ERROR, CKPT_VERDICT_UNVERIFIABLE, (int64_t)mend,
                                member, "pickle at %zu: machine and disassembler disagree on its end (%zu vs %zu)",
                                start, mend, dend);
            else
                ckpt__scan_addf(s, CKPT_FIND_PARSE_ERROR, CKPT_VERDICT_UNVERIFIABLE, e->offset, member,
                                "pickle at %zu cannot be walked to its STOP (%s): %s", start,
                                ckpt_status_str(rs), e->message);
        } else if (len - start >= 2 && buf[start] == 0x80 && buf[start + 1] >= 2 && buf[start + 1] <= 5) {
            ckpt__scan_addf(s, CKPT_FIND_NOTE, CKPT_VERDICT_SAFE, (int64_t)start, member,
                            "bytes at %zu start like a pickle but do not parse: treated as data", start);
        }
    } else if (p.danger_only) {
        rs = CKPT_E_FORMAT; /* cannot happen: the pre-check said it does not parse */
    }
    *end = mend;
    pk_free(&p);
    return s->nomem ? CKPT_E_NOMEM : rs;
}

void ckpt__scan_stream(ckpt__scan *s, const uint8_t *buf, size_t len, size_t start,
                       const char *member, unsigned flags, int primary) {
    size_t pos = start;
    for (int k = 0; pos < len && !s->nomem; k++) {
        if (k >= CKPT__SCAN_MAX_PICKLES_STREAM) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)pos, member,
                            "more than %d pickles in one stream", CKPT__SCAN_MAX_PICKLES_STREAM);
            return;
        }
        size_t end = pos;
        ckpt_status st = ckpt__scan_pickle(s, buf, len, pos, member, flags, k < primary, &end);
        if (st != CKPT_OK || end <= pos) return;
        pos = end;
    }
    if (pos >= len && primary > 0 && !s->nomem) {
        /* fewer pickles than the format needs is reported by the parse error of
           the missing one only when bytes remain; an exact end is fine */
    }
}
