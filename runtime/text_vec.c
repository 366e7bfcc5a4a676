/*
 * text_vec.c - documents -> sparse rows for CountVectorizer, TfidfVectorizer,
 * HashingVectorizer, and the TfidfTransformer step, as scikit-learn computes
 * them:
 *   count:   vocabulary_[feature] per analyzer feature, summed per column,
 *            columns sorted (X.sort_indices()); binary -> 1.
 *   hashing: h = murmurhash3_32(feature utf-8, seed 0) as int32,
 *            col = |h| % n_features (h == INT32_MIN handled like sklearn),
 *            value -1 when alternate_sign and h < 0; sum_duplicates (explicit
 *            zeros kept); binary -> 1; then normalize.
 *   tf-idf:  sublinear: log(x) + 1; x *= idf_[col]; normalize l1 / l2 per row
 *            (zero rows left alone), like sklearn.preprocessing.normalize.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text_engine.h"
#include "text_internal.h"

void ckpt_text_vec_free(ckpt_text_vec *v)
{
    if (!v)
        return;
    ckpt_text_map_free(&v->vocab);
    ckpt_text_map_free(&v->stop);
    free(v->idf);
    memset(v, 0, sizeof *v);
}

typedef struct emit_ctx {
    const ckpt_text_vec *v;
    ckpt_text_ws *w;
    size_t n; /* keys collected for this document */
} emit_ctx;

/* Key = col * 2 + (negative ? 1 : 0): sorting the keys sorts by column. */
static ckpt_status emit_feature(void *user, const uint8_t *feat, size_t len, ckpt_error *err)
{
    emit_ctx *c = user;
    int64_t key;
    if (c->v->kind == CKPT_TEXT_HASHING) {
        int32_t h = (int32_t)ckpt_text_murmur3_32(feat, len, 0);
        int64_t nf = c->v->n_features;
        int64_t col;
        if (h == INT32_MIN)
            col = (INT32_MAX - (nf - 1)) % nf;
        else
            col = (int64_t)(h < 0 ? -(int64_t)h : h) % nf;
        key = col * 2 + ((c->v->alternate_sign && h < 0) ? 1 : 0);
    } else {
        int64_t col;
        if (!ckpt_text_map_get(&c->v->vocab, feat, len, &col))
            return CKPT_OK; /* out of vocabulary */
        key = col * 2;
    }
    if (ckpt_text_grow((void **)&c->w->cols, &c->w->cols_cap, c->n + 1, sizeof(int64_t)) != 0)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "text: out of memory (features)");
    c->w->cols[c->n++] = key;
    return CKPT_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void sort_keys(int64_t *k, size_t n)
{
    if (n < 24) {
        for (size_t i = 1; i < n; i++) {
            int64_t x = k[i];
            size_t j = i;
            while (j > 0 && k[j - 1] > x) {
                k[j] = k[j - 1];
                j--;
            }
            k[j] = x;
        }
    } else {
        qsort(k, n, sizeof *k, cmp_i64);
    }
}

static void normalize_row(double *d, size_t n, int norm)
{
    if (norm == 0 || n == 0)
        return;
    double s = 0.0;
    if (norm == 1) {
        for (size_t i = 0; i < n; i++)
            s += fabs(d[i]);
    } else {
        for (size_t i = 0; i < n; i++)
            s += d[i] * d[i];
        s = sqrt(s);
    }
    if (s == 0.0)
        return;
    for (size_t i = 0; i < n; i++)
        d[i] /= s;
}

static void tfidf_row(const ckpt_text_vec *v, const int64_t *idx, double *d, size_t n)
{
    if (v->sublinear_tf)
        for (size_t i = 0; i < n; i++)
            d[i] = log(d[i]) + 1.0;
    if (v->use_idf && v->idf)
        for (size_t i = 0; i < n; i++)
            d[i] = d[i] * v->idf[idx[i]];
    normalize_row(d, n, v->norm);
}

static int csr_reserve(ckpt_text_csr *m, size_t extra_nnz, size_t extra_rows)
{
    if (m->nnz > SIZE_MAX - extra_nnz)
        return -1;
    size_t need = m->nnz + extra_nnz;
    if (need > m->cap) {
        size_t cap = m->cap;
        size_t cap2 = cap;
        if (ckpt_text_grow((void **)&m->indices, &cap, need, sizeof *m->indices) != 0 ||
            ckpt_text_grow((void **)&m->data, &cap2, need, sizeof *m->data) != 0)
            return -1;
        m->cap = cap < cap2 ? cap : cap2;
    }
    size_t rneed = (size_t)m->rows + extra_rows + 1;
    if (ckpt_text_grow((void **)&m->indptr, &m->indptr_cap, rneed, sizeof *m->indptr) != 0)
        return -1;
    if (m->rows == 0)
        m->indptr[0] = 0;
    return 0;
}

ckpt_status ckpt_text_vec_transform_docs(const ckpt_text_vec *v, ckpt_text_ws *w,
                                         const char *const *docs, const size_t *lens,
                                         size_t ndocs, ckpt_text_csr *out, ckpt_error *err)
{
    if (!v || !w || !out || (ndocs && !docs) || v->kind == CKPT_TEXT_TFIDF)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "text: bad arguments to transform");
    if (v->n_features <= 0)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "text: vectorizer has no features");
    out->cols = v->n_features;
    for (size_t d = 0; d < ndocs; d++) {
        emit_ctx c = {v, w, 0};
        const char *doc = docs[d] ? docs[d] : "";
        size_t len = lens ? lens[d] : strlen(doc);
        ckpt_status st = ckpt_text_analyze(&v->an, w, (const uint8_t *)doc, len, emit_feature, &c,
                                           err);
        if (st != CKPT_OK)
            return st;
        sort_keys(w->cols, c.n);
        if (csr_reserve(out, c.n, 1) != 0)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "text: out of memory (output)");
        size_t start = out->nnz, k = 0;
        while (k < c.n) {
            int64_t col = w->cols[k] >> 1;
            double val = 0.0;
            while (k < c.n && (w->cols[k] >> 1) == col) {
                val += (w->cols[k] & 1) ? -1.0 : 1.0;
                k++;
            }
            if (v->binary)
                val = 1.0;
            out->indices[out->nnz] = col;
            out->data[out->nnz] = val;
            out->nnz++;
        }
        size_t n = out->nnz - start;
        if (v->kind == CKPT_TEXT_TFIDF_VEC)
            tfidf_row(v, out->indices + start, out->data + start, n);
        else if (v->kind == CKPT_TEXT_HASHING)
            normalize_row(out->data + start, n, v->norm);
        out->rows++;
        out->indptr[out->rows] = (int64_t)out->nnz;
    }
    return CKPT_OK;
}

ckpt_status ckpt_text_tfidf_inplace(const ckpt_text_vec *v, ckpt_text_csr *m, ckpt_error *err)
{
    if (!v || !m)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "text: bad arguments to tf-idf");
    if (v->use_idf && v->idf && m->cols != v->n_features)
        return ckpt_error_set(err, CKPT_E_INPUT, -1,
                              "tf-idf: input has %lld features, idf_ has %lld",
                              (long long)m->cols, (long long)v->n_features);
    for (int64_t r = 0; r < m->rows; r++) {
        int64_t a = m->indptr[r], b = m->indptr[r + 1];
        for (int64_t k = a; k < b; k++)
            if (m->indices[k] < 0 || m->indices[k] >= m->cols)
                return ckpt_error_set(err, CKPT_E_INPUT, -1, "tf-idf: column out of range");
        tfidf_row(v, m->indices + a, m->data + a, (size_t)(b - a));
    }
    return CKPT_OK;
}
