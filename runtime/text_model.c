/*
 * text_model.c - text vectorizers as registry entries of the runtime core
 * (model_internal.h):
 *   CountVectorizer, TfidfVectorizer, HashingVectorizer: UTF-8 documents in
 *     (CKPT_IN_TEXT), transform -> CKPT_OUT_CSR with n_features columns;
 *   TfidfTransformer: CSR (or dense) rows in, transform -> CSR.
 * A Pipeline hands the CSR to its next step as CKPT_IN_CSR, never densified
 * here.  Scratch (tokenizer workspace) is per call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "text_engine.h"

static ckpt_status text_run(const ckpt_est *e, ckpt_method method, const ckpt_input *in,
                            const ckpt_output *out, ckpt_error *err)
{
    const ckpt_text_vec *v = e->impl;
    if (method != CKPT_METHOD_TRANSFORM)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s has no %s", e->cls,
                              ckpt_method_name(method));
    if (!out || !out->csr)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "%s: transform needs a CSR output", e->cls);
    ckpt_csr *o = out->csr;
    o->rows = 0;
    o->nnz = 0;
    if (v->kind != CKPT_TEXT_TFIDF) {
        if (in->kind != CKPT_IN_TEXT || (in->n_rows > 0 && !in->docs))
            return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s takes text documents", e->cls);
        ckpt_text_ws ws;
        memset(&ws, 0, sizeof ws);
        ckpt_status st = ckpt_text_vec_transform_docs(v, &ws, in->docs, in->doc_lens,
                                                      (size_t)in->n_rows, o, err);
        ckpt_text_ws_free(&ws);
        if (st == CKPT_E_INPUT && err)
            err->offset = -1;
        return st;
    }
    /* TfidfTransformer: copy the rows into the output CSR, then weight them */
    int64_t n = in->n_rows, nc = in->n_cols;
    if (v->use_idf && v->idf && nc != v->n_features)
        return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s: %lld columns, expected %lld", e->cls,
                              (long long)nc, (long long)v->n_features);
    uint64_t nnz = 0;
    if (in->kind == CKPT_IN_CSR) {
        const ckpt_csr *c = in->csr;
        if (!c || c->rows != n || c->cols != nc || !c->indptr || c->indptr[0] != 0 ||
            c->indptr[n] < 0)
            return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s: malformed CSR input", e->cls);
        nnz = (uint64_t)c->indptr[n];
    } else if (in->kind == CKPT_IN_DENSE && in->dense) {
        uint64_t cells;
        if (ckpt_rt_mul((uint64_t)n, (uint64_t)nc, &cells) != 0)
            return ckpt_error_set(err, CKPT_E_LIMIT, -1, "input too large");
        for (uint64_t k = 0; k < cells; k++)
            nnz += in->dense[k] != 0.0;
    } else {
        return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s takes sparse or dense rows", e->cls);
    }
    if (ckpt_text_grow((void **)&o->indices, &o->cap, nnz ? (size_t)nnz : 1, sizeof *o->indices) ||
        ckpt_text_grow((void **)&o->indptr, &o->indptr_cap, (size_t)n + 1, sizeof *o->indptr))
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    size_t dcap = 0;
    double *data = realloc(o->data, (nnz ? (size_t)nnz : 1) * sizeof *data);
    if (!data)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    o->data = data;
    dcap = nnz ? (size_t)nnz : 1;
    if (dcap < o->cap)
        o->cap = dcap;
    o->rows = n;
    o->cols = nc;
    o->indptr[0] = 0;
    size_t q = 0;
    for (int64_t r = 0; r < n; r++) {
        if (in->kind == CKPT_IN_CSR) {
            const ckpt_csr *c = in->csr;
            int64_t a = c->indptr[r], b = c->indptr[r + 1];
            if (a < 0 || b < a || (uint64_t)b > nnz)
                return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s: malformed CSR row %lld", e->cls,
                                      (long long)r);
            for (int64_t k = a; k < b; k++) {
                if (c->indices[k] < 0 || c->indices[k] >= nc)
                    return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s: column out of range in row %lld",
                                          e->cls, (long long)r);
                o->indices[q] = c->indices[k];
                o->data[q++] = c->data[k];
            }
        } else {
            for (int64_t j = 0; j < nc; j++) {
                double x = in->dense[r * nc + j];
                if (x != 0.0) {
                    o->indices[q] = j;
                    o->data[q++] = x;
                }
            }
        }
        o->indptr[r + 1] = (int64_t)q;
    }
    o->nnz = q;
    return ckpt_text_tfidf_inplace(v, o, err);
}

static void text_free_impl(void *impl)
{
    ckpt_text_vec_free(impl);
    free(impl);
}

static const ckpt_est_vt text_vt = {text_run, text_free_impl};

ckpt_status ckpt_build_text(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    *out = NULL;
    ckpt_text_vec *v = calloc(1, sizeof *v);
    if (!v)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    ckpt_status st = ckpt_text_vec_load(ctx->f, obj, v, ctx->err);
    if (st != CKPT_OK) {
        free(v);
        if (st == CKPT_E_UNSUPPORTED)
            st = ckpt_rt_fail(ctx, obj, "%s", ctx->err ? ctx->err->message : "unsupported");
        return st;
    }
    const char *cls = ckpt_value_class(obj);
    ckpt_est *e = ckpt_est_new(&text_vt, v, cls ? cls : "sklearn.feature_extraction.text");
    if (!e)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    if (v->kind == CKPT_TEXT_TFIDF) {
        e->in_kind = CKPT_IN_DENSE;
        e->accepts_csr = 1;
        e->n_features = (v->use_idf && v->idf) ? v->n_features : -1;
    } else {
        e->in_kind = CKPT_IN_TEXT;
        e->n_features = -1;
    }
    e->is_clf = 0;
    ckpt_est_method(e, CKPT_METHOD_TRANSFORM, CKPT_OUT_CSR,
                    (v->use_idf && v->idf) || v->kind != CKPT_TEXT_TFIDF ? v->n_features : -1);
    *out = e;
    return CKPT_OK;
}
