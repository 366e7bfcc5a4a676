/*
 * model_compose.c - Pipeline (any depth through the registry, 'passthrough'
 * and None steps skipped) and ColumnTransformer (integer / slice / boolean
 * column selections, 'drop', 'passthrough', remainder; dense or sparse
 * output as sparse_output_ says).
 *
 * Sub-estimators are built with ckpt_est_build (nesting bounded by
 * ckpt_model_opts.max_nesting) and named by their path in messages
 * ("steps.1.1", "transformers_.0.1").  Dense batches go through a pipeline in
 * blocks of CKPT_RT_PIPE_ROWS rows so intermediate buffers stay small.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define CKPT_RT_PIPE_ROWS 4096

/* ---------------------------------------------------------------- Pipeline */

typedef struct pipe_impl {
    ckpt_est **steps;
    int64_t n;
} pipe_impl;

static void pipe_free(void *p)
{
    pipe_impl *m = p;
    for (int64_t i = 0; i < m->n; i++)
        ckpt_est_free(m->steps[i]);
    free(m->steps);
    free(m);
}

/* Run one block (all steps).  Float32 rows stay float32 from step to step
   as long as each step's transform gives float32 (scikit-learn's dtype): the
   next step then gets them as float32 rows. */
static ckpt_status pipe_block(const pipe_impl *m, ckpt_method meth, const ckpt_input *in,
                              const ckpt_output *out, ckpt_error *err)
{
    ckpt_input cur = *in;
    double *buf = NULL;
    float *buf32 = NULL;
    ckpt_csr csr = {0};
    ckpt_status st = CKPT_OK;
    int in32 = in->kind == CKPT_IN_DENSE && !in->dense && in->dense32;
    for (int64_t i = 0; i + 1 < m->n && st == CKPT_OK; i++) {
        const ckpt_est *s = m->steps[i];
        ckpt_out_kind k = s->out_kind[CKPT_METHOD_TRANSFORM];
        int64_t cols = s->out_cols[CKPT_METHOD_TRANSFORM];
        ckpt_output o = {0};
        double *nbuf = NULL;
        ckpt_csr ncsr = {0};
        if (k == CKPT_OUT_CSR) {
            o.csr = &ncsr;
        } else {
            nbuf = ckpt_rt_calloc((uint64_t)cur.n_rows * (uint64_t)cols + 1, sizeof(double));
            if (!nbuf) {
                st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
                break;
            }
            o.values = nbuf;
        }
        st = ckpt_est_run(s, CKPT_METHOD_TRANSFORM, &cur, &o, err);
        free(buf);
        free(buf32);
        buf32 = NULL;
        ckpt_csr_free(&csr);
        buf = nbuf;
        csr = ncsr;
        ckpt_input next;
        memset(&next, 0, sizeof next);
        next.n_rows = in->n_rows;
        next.n_cols = cols;
        next.row_base = in->row_base;
        in32 = in32 && k != CKPT_OUT_CSR && ckpt_est_out_is_f32(s, CKPT_METHOD_TRANSFORM, 1);
        if (k == CKPT_OUT_CSR) {
            next.kind = CKPT_IN_CSR;
            next.csr = &csr;
        } else if (in32 && st == CKPT_OK && m->steps[i + 1]->takes_f32) {
            /* float32 values (widened exactly) back to float32 rows */
            uint64_t cells = (uint64_t)cur.n_rows * (uint64_t)cols;
            buf32 = ckpt_rt_calloc(cells + 1, sizeof(float));
            if (!buf32) {
                st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
                break;
            }
            for (uint64_t c = 0; c < cells; c++)
                buf32[c] = (float)buf[c];
            next.kind = CKPT_IN_DENSE;
            next.dense32 = buf32;
        } else {
            next.kind = CKPT_IN_DENSE;
            next.dense = buf;
        }
        cur = next;
    }
    if (st == CKPT_OK)
        st = ckpt_est_run(m->steps[m->n - 1], meth, &cur, out, err);
    free(buf);
    free(buf32);
    ckpt_csr_free(&csr);
    return st;
}

static ckpt_status pipe_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                            const ckpt_output *out, ckpt_error *err)
{
    const pipe_impl *m = e->impl;
    int64_t cols = e->out_cols[meth];
    if (e->out_kind[meth] == CKPT_OUT_CSR || in->kind == CKPT_IN_CSR ||
        in->n_rows <= CKPT_RT_PIPE_ROWS)
        return pipe_block(m, meth, in, out, err);
    for (int64_t r0 = 0; r0 < in->n_rows; r0 += CKPT_RT_PIPE_ROWS) {
        int64_t nn = in->n_rows - r0 < CKPT_RT_PIPE_ROWS ? in->n_rows - r0 : CKPT_RT_PIPE_ROWS;
        ckpt_input sub = *in;
        sub.n_rows = nn;
        sub.row_base = in->row_base + r0;
        if (in->kind == CKPT_IN_TEXT) {
            sub.docs = in->docs + r0;
            if (in->doc_lens)
                sub.doc_lens = in->doc_lens + r0;
        } else if (in->dense) {
            sub.dense = in->dense + r0 * in->n_cols;
        } else {
            sub.dense32 = in->dense32 + r0 * in->n_cols;
        }
        ckpt_output o = {0};
        if (out->labels)
            o.labels = out->labels + r0 * cols;
        if (out->values)
            o.values = out->values + r0 * cols;
        ckpt_status st = pipe_block(m, meth, &sub, &o, err);
        if (st != CKPT_OK)
            return st;
    }
    return CKPT_OK;
}

static const ckpt_est_vt pipe_vt = {pipe_run, pipe_free};

static int is_skip(const ckpt_value *v)
{
    return !v || ckpt_value_kind(v) == CKPT_K_NONE || ckpt_value_is_str(v, "passthrough");
}

ckpt_status ckpt_rt_build_pipeline(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    const ckpt_value *steps = ckpt_value_attr(obj, "steps");
    if (ckpt_value_kind(steps) != CKPT_K_LIST && ckpt_value_kind(steps) != CKPT_K_TUPLE)
        return ckpt_rt_fail(ctx, obj, "steps is not a list");
    size_t ns = ckpt_value_len(steps);
    if (ns == 0 || ns > CKPT_RT_MAX_STEPS)
        return ckpt_rt_fail(ctx, obj, "%zu steps", ns);
    pipe_impl *m = calloc(1, sizeof *m);
    if (!m || !(m->steps = calloc(ns, sizeof *m->steps))) {
        free(m);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    char base[sizeof ctx->where];
    memcpy(base, ctx->where, sizeof base);
    ckpt_status st = CKPT_OK;
    for (size_t i = 0; i < ns; i++) {
        const ckpt_value *pair = ckpt_value_item(steps, i);
        if ((ckpt_value_kind(pair) != CKPT_K_TUPLE && ckpt_value_kind(pair) != CKPT_K_LIST) ||
            ckpt_value_len(pair) != 2) {
            st = ckpt_rt_fail(ctx, obj, "step %zu is not a (name, estimator) pair", i);
            goto fail;
        }
        const ckpt_value *est = ckpt_value_item(pair, 1);
        if (is_skip(est))
            continue;
        char where[sizeof ctx->where + 64];
        snprintf(where, sizeof where, "%s%ssteps.%zu.1", base, base[0] ? "." : "", i);
        st = ckpt_est_build(ctx, est, where, &m->steps[m->n]);
        if (st != CKPT_OK)
            goto fail;
        m->n++;
    }
    if (m->n == 0) {
        st = ckpt_rt_fail(ctx, obj, "every step is 'passthrough'");
        goto fail;
    }
    for (int64_t i = 0; i + 1 < m->n; i++) {
        const ckpt_est *s = m->steps[i];
        if (s->out_kind[CKPT_METHOD_TRANSFORM] == CKPT_OUT_NONE) {
            st = ckpt_rt_fail(ctx, obj, "step %lld (%s) has no transform", (long long)i, s->cls);
            goto fail;
        }
        const ckpt_est *nx = m->steps[i + 1];
        if (nx->in_kind == CKPT_IN_TEXT ||
            (nx->n_features >= 0 && nx->n_features != s->out_cols[CKPT_METHOD_TRANSFORM])) {
            st = ckpt_rt_fail(ctx, obj, "step %lld gives %lld columns, step %lld takes %lld",
                              (long long)i, (long long)s->out_cols[CKPT_METHOD_TRANSFORM],
                              (long long)i + 1, (long long)nx->n_features);
            goto fail;
        }
    }
    const ckpt_est *first = m->steps[0], *last = m->steps[m->n - 1];
    ckpt_est *e = ckpt_est_new(&pipe_vt, m, ckpt_value_class(obj));
    if (!e)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    e->in_kind = first->in_kind;
    e->n_features = first->n_features;
    e->allow_nan = first->allow_nan;
    e->accepts_csr = 1; /* each step converts for itself */
    e->is_clf = last->is_clf;
    e->n_outputs = last->n_outputs;
    if (ckpt_labels_copy(&e->labels, &last->labels)) {
        ckpt_est_free(e);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    for (int k = 0; k < CKPT_METHOD__COUNT; k++)
        ckpt_est_method(e, (ckpt_method)k, last->out_kind[k], last->out_cols[k]);
    /* float32: the pipeline takes float32 rows and hands them on; the dtype
       of a result follows the chain (each step's dtype for the one before) */
    e->takes_f32 = 1;
    const pipe_impl *pm = e->impl;
    for (int64_t i = 0; i < pm->n; i++)
        e->fit_f32 |= pm->steps[i]->fit_f32;
    for (int from32 = 0; from32 < 2; from32++) {
        int dt32 = from32;
        for (int64_t i = 0; i + 1 < pm->n; i++)
            dt32 = pm->steps[i]->out_kind[CKPT_METHOD_TRANSFORM] == CKPT_OUT_F64 &&
                   ckpt_est_out_is_f32(pm->steps[i], CKPT_METHOD_TRANSFORM, dt32);
        for (int k = 0; k < CKPT_METHOD__COUNT; k++)
            if (ckpt_est_out_is_f32(last, (ckpt_method)k, dt32))
                e->out_f32[k] |= from32 ? CKPT_RT_F32_FROM32 : CKPT_RT_F32_FROM64;
    }
    *out = e;
    return CKPT_OK;
fail:
    pipe_free(m);
    return st;
}

/* ---------------------------------------------------------------- ColumnTransformer */

typedef struct ct_part {
    ckpt_est *est;      /* NULL: passthrough */
    int64_t *cols;
    int64_t ncols;
    int64_t out_cols;
} ct_part;

typedef struct ct_impl {
    ct_part *parts;
    int64_t n;
    int64_t d, out_d;
    int sparse;
} ct_impl;

static void ct_free(void *p)
{
    ct_impl *m = p;
    for (int64_t i = 0; i < m->n; i++) {
        ckpt_est_free(m->parts[i].est);
        free(m->parts[i].cols);
    }
    free(m->parts);
    free(m);
}

static ckpt_status csr_push(ckpt_csr *o, int64_t col, double v)
{
    if (o->nnz + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        int64_t *ni = realloc(o->indices, cap * sizeof *ni);
        if (!ni)
            return CKPT_E_NOMEM;
        o->indices = ni;
        double *nd = realloc(o->data, cap * sizeof *nd);
        if (!nd)
            return CKPT_E_NOMEM;
        o->data = nd;
        o->cap = cap;
    }
    o->indices[o->nnz] = col;
    o->data[o->nnz] = v;
    o->nnz++;
    return CKPT_OK;
}

static ckpt_status ct_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                          const ckpt_output *out, ckpt_error *err)
{
    const ct_impl *m = e->impl;
    const int64_t n = in->n_rows, od = m->out_d;
    (void)meth;
    double *dense = m->sparse ? ckpt_rt_calloc((uint64_t)n * (uint64_t)od + 1, sizeof(double))
                              : out->values;
    if (!dense)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    ckpt_status st = CKPT_OK;
    int64_t c0 = 0;
    /* float32 rows: each transformer gets its columns as float32 rows (its
       own dtype rules apply), passthrough columns stay float32 values */
    const int in32 = !in->dense && in->dense32;
    for (int64_t p = 0; p < m->n && st == CKPT_OK; p++) {
        const ct_part *pt = &m->parts[p];
        double *sub = ckpt_rt_calloc((uint64_t)n * (uint64_t)pt->ncols + 1, sizeof(double));
        double *res = NULL;
        const int sub_f32 = in32 && pt->est && pt->est->takes_f32;
        float *sub32 = sub_f32 ? ckpt_rt_calloc((uint64_t)n * (uint64_t)pt->ncols + 1,
                                                sizeof(float))
                               : NULL;
        if (!sub || (sub_f32 && !sub32)) {
            free(sub);
            free(sub32);
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            break;
        }
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < pt->ncols; j++) {
                const int64_t at = r * m->d + pt->cols[j];
                sub[r * pt->ncols + j] = in32 ? (double)in->dense32[at] : in->dense[at];
                if (sub32)
                    sub32[r * pt->ncols + j] = in->dense32[at];
            }
        if (pt->est) {
            res = ckpt_rt_calloc((uint64_t)n * (uint64_t)pt->out_cols + 1, sizeof(double));
            if (!res) {
                free(sub);
                st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
                break;
            }
            ckpt_input si;
            memset(&si, 0, sizeof si);
            si.kind = CKPT_IN_DENSE;
            si.n_rows = n;
            si.n_cols = pt->ncols;
            if (sub32)
                si.dense32 = sub32;
            else
                si.dense = sub;
            si.row_base = in->row_base;
            st = ckpt_est_run_f64(pt->est, CKPT_METHOD_TRANSFORM, &si, res, err);
        }
        free(sub32);
        const double *src = res ? res : sub;
        for (int64_t r = 0; r < n && st == CKPT_OK; r++)
            memcpy(dense + r * od + c0, src + r * pt->out_cols,
                   (size_t)pt->out_cols * sizeof(double));
        c0 += pt->out_cols;
        free(sub);
        free(res);
    }
    if (m->sparse && st == CKPT_OK) {
        ckpt_csr *o = out->csr;
        o->rows = n;
        o->cols = od;
        o->nnz = 0;
        if ((size_t)n + 1 > o->indptr_cap) {
            int64_t *ip = realloc(o->indptr, ((size_t)n + 1) * sizeof *ip);
            if (!ip)
                st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            else {
                o->indptr = ip;
                o->indptr_cap = (size_t)n + 1;
            }
        }
        if (st == CKPT_OK) {
            o->indptr[0] = 0;
            for (int64_t r = 0; r < n && st == CKPT_OK; r++) {
                for (int64_t c = 0; c < od; c++)
                    if (dense[r * od + c] != 0 && csr_push(o, c, dense[r * od + c]) != CKPT_OK) {
                        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
                        break;
                    }
                o->indptr[r + 1] = (int64_t)o->nnz;
            }
        }
    }
    if (m->sparse)
        free(dense);
    return st;
}

static const ckpt_est_vt ct_vt = {ct_run, ct_free};

/* Column selection -> indices.  ints (list/tuple/array), bool mask, slice. */
static ckpt_status ct_columns(ckpt_build_ctx *ctx, const ckpt_value *obj, const ckpt_value *sel,
                              int64_t d, int64_t **cols, int64_t *nc)
{
    *cols = NULL;
    *nc = 0;
    const char *cn = ckpt_value_class(sel);
    if (cn && strcmp(cn, "builtins.slice") == 0) {
        const ckpt_value *a = ckpt_value_args(sel);
        int64_t v[3] = {0, d, 1};
        int has[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++) {
            const ckpt_value *x = ckpt_value_item(a, (size_t)k);
            if (x && ckpt_value_kind(x) != CKPT_K_NONE) {
                if (ckpt_value_int64(x, &v[k]) != CKPT_OK)
                    return ckpt_rt_fail(ctx, obj, "slice with a non-integer bound");
                has[k] = 1;
            }
        }
        if (v[2] != 1)
            return ckpt_rt_fail(ctx, obj, "slice with step %lld", (long long)v[2]);
        int64_t lo = has[0] ? v[0] : 0, hi = has[1] ? v[1] : d;
        if (lo < 0) lo += d;
        if (hi < 0) hi += d;
        lo = lo < 0 ? 0 : lo > d ? d : lo;
        hi = hi < 0 ? 0 : hi > d ? d : hi;
        *nc = hi > lo ? hi - lo : 0;
        *cols = ckpt_rt_calloc((uint64_t)*nc + 1, sizeof(int64_t));
        if (!*cols)
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        for (int64_t i = 0; i < *nc; i++)
            (*cols)[i] = lo + i;
        return CKPT_OK;
    }
    ckpt_kind k = ckpt_value_kind(sel);
    if (k == CKPT_K_INT) {
        int64_t c;
        if (ckpt_value_int64(sel, &c) != CKPT_OK || c < -d || c >= d)
            return ckpt_rt_fail(ctx, obj, "column index out of range");
        *cols = malloc(sizeof(int64_t));
        if (!*cols)
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        (*cols)[0] = c < 0 ? c + d : c;
        *nc = 1;
        return CKPT_OK;
    }
    if ((k == CKPT_K_LIST || k == CKPT_K_TUPLE) && ckpt_value_len(sel) > 0 &&
        ckpt_value_kind(ckpt_value_item(sel, 0)) == CKPT_K_STR)
        return ckpt_rt_fail(ctx, obj, "columns selected by name need a DataFrame (not supported)");
    ckpt_rt_arr a;
    ckpt_status st = ckpt_rt_arr_value(ctx, sel, "columns", &a);
    if (st != CKPT_OK)
        return ckpt_rt_fail(ctx, obj, "column selection is not a list of integers");
    int is_mask = a.dtype == CKPT_DT_BOOL;
    if (k == CKPT_K_LIST && a.n > 0 && ckpt_value_kind(ckpt_value_item(sel, 0)) == CKPT_K_BOOL)
        is_mask = 1;
    if (is_mask && (int64_t)a.n != d) {
        free(a.d);
        return ckpt_rt_fail(ctx, obj, "boolean column mask of length %llu for %lld columns",
                            (unsigned long long)a.n, (long long)d);
    }
    *cols = ckpt_rt_calloc(a.n + 1, sizeof(int64_t));
    if (!*cols) {
        free(a.d);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    for (uint64_t i = 0; i < a.n; i++) {
        if (is_mask) {
            if (a.d[i] != 0)
                (*cols)[(*nc)++] = (int64_t)i;
            continue;
        }
        double c = a.d[i];
        if (c != floor(c) || c < (double)-d || c >= (double)d) {
            free(a.d);
            free(*cols);
            *cols = NULL;
            return ckpt_rt_fail(ctx, obj, "column index %g out of range", c);
        }
        (*cols)[(*nc)++] = (int64_t)(c < 0 ? c + (double)d : c);
    }
    free(a.d);
    return CKPT_OK;
}

ckpt_status ckpt_rt_build_column_transformer(ckpt_build_ctx *ctx, const ckpt_value *obj,
                                             ckpt_est **out)
{
    const ckpt_value *tr = ckpt_value_attr(obj, "transformers_");
    if (ckpt_value_kind(tr) != CKPT_K_LIST)
        return ckpt_rt_fail(ctx, obj, "transformers_ is not a list");
    int64_t d;
    if (ckpt_rt_attr_i64(ctx, obj, "n_features_in_", &d) &&
        ckpt_rt_attr_i64(ctx, obj, "_n_features", &d))
        return ckpt_rt_fail(ctx, obj, "n_features_in_ missing");
    if (d < 0 || d > CKPT_RT_MAX_FEATURES)
        return ckpt_rt_fail(ctx, obj, "n_features_in_ %lld", (long long)d);
    size_t nt = ckpt_value_len(tr);
    if (nt > CKPT_RT_MAX_STEPS)
        return ckpt_rt_fail(ctx, obj, "%zu transformers", nt);
    ct_impl *m = calloc(1, sizeof *m);
    if (!m || !(m->parts = calloc(nt + 1, sizeof *m->parts))) {
        free(m);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    m->d = d;
    char base[sizeof ctx->where];
    memcpy(base, ctx->where, sizeof base);
    ckpt_status st = CKPT_OK;
    for (size_t i = 0; i < nt; i++) {
        const ckpt_value *t = ckpt_value_item(tr, i);
        if ((ckpt_value_kind(t) != CKPT_K_TUPLE && ckpt_value_kind(t) != CKPT_K_LIST) ||
            ckpt_value_len(t) != 3) {
            st = ckpt_rt_fail(ctx, obj, "transformers_[%zu] is not (name, transformer, columns)", i);
            goto fail;
        }
        const ckpt_value *est = ckpt_value_item(t, 1);
        if (ckpt_value_is_str(est, "drop"))
            continue;
        ct_part *pt = &m->parts[m->n];
        st = ct_columns(ctx, obj, ckpt_value_item(t, 2), d, &pt->cols, &pt->ncols);
        if (st != CKPT_OK)
            goto fail;
        if (pt->ncols == 0) { /* empty selections are skipped, like sklearn */
            free(pt->cols);
            pt->cols = NULL;
            continue;
        }
        m->n++;
        if (ckpt_value_is_str(est, "passthrough")) {
            pt->out_cols = pt->ncols;
        } else {
            char where[sizeof ctx->where + 64];
            snprintf(where, sizeof where, "%s%stransformers_.%zu.1", base, base[0] ? "." : "", i);
            st = ckpt_est_build(ctx, est, where, &pt->est);
            if (st != CKPT_OK)
                goto fail;
            if (pt->est->out_kind[CKPT_METHOD_TRANSFORM] == CKPT_OUT_NONE ||
                (pt->est->n_features >= 0 && pt->est->n_features != pt->ncols)) {
                st = ckpt_rt_fail(ctx, obj, "transformer %zu (%s) does not fit its %lld columns",
                                  i, pt->est->cls, (long long)pt->ncols);
                goto fail;
            }
            pt->out_cols = pt->est->out_cols[CKPT_METHOD_TRANSFORM];
        }
        m->out_d += pt->out_cols;
    }
    m->sparse = ckpt_rt_attr_bool(obj, "sparse_output_", 0);
    ckpt_est *e = ckpt_est_new(&ct_vt, m, ckpt_value_class(obj));
    if (!e)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    e->n_features = d;
    e->allow_nan = 1; /* each transformer checks its own columns */
    e->n_outputs = m->out_d;
    ckpt_est_method(e, CKPT_METHOD_TRANSFORM, m->sparse ? CKPT_OUT_CSR : CKPT_OUT_F64, m->out_d);
    /* float32: the output is np.hstack / sparse.hstack of the parts, float32
       only when every part is (passthrough columns keep X's dtype) */
    e->takes_f32 = 1;
    const ct_impl *cm = e->impl;
    for (int from32 = 0; from32 < 2; from32++) {
        int all32 = cm->n > 0;
        for (int64_t i = 0; i < cm->n; i++) {
            const ckpt_est *pe = cm->parts[i].est;
            if (pe)
                e->fit_f32 |= pe->fit_f32;
            all32 &= pe ? ckpt_est_out_is_f32(pe, CKPT_METHOD_TRANSFORM, from32) : from32;
        }
        if (all32)
            e->out_f32[CKPT_METHOD_TRANSFORM] |= from32 ? CKPT_RT_F32_FROM32 : CKPT_RT_F32_FROM64;
    }
    *out = e;
    return CKPT_OK;
fail:
    ct_free(m);
    return st;
}
