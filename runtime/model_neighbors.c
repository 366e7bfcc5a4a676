/*
 * model_neighbors.c - KNeighborsClassifier / KNeighborsRegressor (uniform and
 * distance weights; euclidean, manhattan, chebyshev, minkowski p) and
 * KMeans / MiniBatchKMeans (predict: first nearest center; transform:
 * euclidean distances).  Distances are computed directly (no
 * |x|^2 - 2xy + |y|^2 cancellation); neighbors in increasing distance, ties
 * by training index.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

typedef enum metric { M_EUCLID, M_MANHATTAN, M_CHEBYSHEV, M_MINKOWSKI } metric;

typedef struct knn_impl {
    double *X;          /* n_fit x d */
    double *y;          /* classifier: class index; regressor: n_fit x t */
    double *XT;     /* euclidean: _fit_X transposed (d x n), for the blocked distance loop */
    int64_t n, d, k, t;
    metric met;
    double p;
    int distance_w;
    int is_clf;
    int64_t K;
    int y_f32;          /* regressor _y is float32: the uniform mean is float32 */
} knn_impl;

#define KNN_BLOCK 16   /* candidates per distance block */

static void knn_free(void *p)
{
    knn_impl *m = p;
    free(m->X);
    free(m->XT);
    free(m->y);
    free(m);
}

static double dist(const knn_impl *m, const double *a, const double *b)
{
    double s = 0;
    switch (m->met) {
    case M_EUCLID:
        for (int64_t c = 0; c < m->d; c++) {
            double z = a[c] - b[c];
            s += z * z;
        }
        return sqrt(s);
    case M_MANHATTAN:
        for (int64_t c = 0; c < m->d; c++)
            s += fabs(a[c] - b[c]);
        return s;
    case M_CHEBYSHEV:
        for (int64_t c = 0; c < m->d; c++) {
            double z = fabs(a[c] - b[c]);
            if (z > s)
                s = z;
        }
        return s;
    default:
        for (int64_t c = 0; c < m->d; c++)
            s += pow(fabs(a[c] - b[c]), m->p);
        return pow(s, 1.0 / m->p);
    }
}

/* Keep the k smallest (dd, i) pairs sorted in nd/ni; earlier i wins ties. */
static int64_t knn_insert(double *nd, int64_t *ni, int64_t k, int64_t have, double dd, int64_t i)
{
    if (have == k && !(dd < nd[k - 1]))
        return have;
    int64_t j = have < k ? have++ : k - 1;
    while (j > 0 && nd[j - 1] > dd) {
        nd[j] = nd[j - 1];
        ni[j] = ni[j - 1];
        j--;
    }
    nd[j] = dd;
    ni[j] = i;
    return have;
}

/* Squared euclidean distances of x to candidates j0 .. j0+KNN_BLOCK-1 of the
   transposed training set XT (d x n).  Fixed-width lanes: the compiler keeps
   them in vector registers. */
CKPT_RT_CLONES static void sq_block(const double *restrict x, const double *restrict XT,
                                    int64_t n, int64_t d, int64_t j0, double *restrict acc)
{
#if CKPT_RT_V4 && KNN_BLOCK == 16
    ckpt_v4d a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    for (int64_t t = 0; t < d; t++) {
        const ckpt_v4d xt = {x[t], x[t], x[t], x[t]};
        const double *row = XT + t * n + j0;
        ckpt_v4d z0, z1, z2, z3;
        CKPT_V4_LOAD(z0, row);
        CKPT_V4_LOAD(z1, row + 4);
        CKPT_V4_LOAD(z2, row + 8);
        CKPT_V4_LOAD(z3, row + 12);
        z0 = xt - z0;
        z1 = xt - z1;
        z2 = xt - z2;
        z3 = xt - z3;
        a0 += z0 * z0;
        a1 += z1 * z1;
        a2 += z2 * z2;
        a3 += z3 * z3;
    }
    CKPT_V4_STORE(acc, a0);
    CKPT_V4_STORE(acc + 4, a1);
    CKPT_V4_STORE(acc + 8, a2);
    CKPT_V4_STORE(acc + 12, a3);
#else
    for (int q = 0; q < KNN_BLOCK; q++)
        acc[q] = 0.0;
    for (int64_t t = 0; t < d; t++) {
        const double xt = x[t];
        const double *restrict row = XT + t * n + j0;
        for (int q = 0; q < KNN_BLOCK; q++) {
            const double z = xt - row[q];
            acc[q] += z * z;
        }
    }
#endif
}

static ckpt_status knn_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                           const ckpt_output *out, ckpt_error *err)
{
    const knn_impl *m = e->impl;
    const int64_t k = m->k;
    double *nd = ckpt_rt_calloc((uint64_t)k * 2 + (uint64_t)m->K + (uint64_t)m->t + 1,
                                sizeof(double));
    int64_t *ni = ckpt_rt_calloc((uint64_t)k + 1, sizeof(int64_t));
    if (!nd || !ni) {
        free(nd);
        free(ni);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    double *w = nd + k, *acc = w + k;
    /* rows in groups of 4 share the pass over the training set */
    const int64_t n4 = m->XT && in->n_rows >= 4 ? in->n_rows / 4 * 4 : 0;
    double *D4 = n4 ? ckpt_rt_calloc((uint64_t)m->n * 4, sizeof(double)) : NULL;
    if (n4 && !D4) {
        free(nd);
        free(ni);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    for (int64_t r = 0; r < in->n_rows; r++) {
        if (r == n4 && D4) { /* the last 1..3 rows: one at a time */
            free(D4);
            D4 = NULL;
        }
        const double *x = in->dense + r * m->d;
        int64_t have = 0;
        if (D4) {
            /* batches: 4 rows' distances at once (same sums), then select per row */
            if (r % 4 == 0)
                ckpt_k_sqdist_rows4(x, m->XT, m->n, m->d, D4);
            const double *Dr = D4 + (r % 4) * m->n;
            for (int64_t i = 0; i < m->n; i++)
                have = knn_insert(nd, ni, k, have, Dr[i], i);
            for (int64_t j = 0; j < have; j++)
                nd[j] = sqrt(nd[j]);
        } else if (m->XT) {
            /* squared distances, KNN_BLOCK candidates at a time (each summed over the
               features in order, as dist() does); sqrt only for the k kept */
            double blk[KNN_BLOCK];
            for (int64_t i0 = 0; i0 < m->n; i0 += KNN_BLOCK) {
                int64_t nb = m->n - i0 < KNN_BLOCK ? m->n - i0 : KNN_BLOCK;
                if (nb == KNN_BLOCK)
                    sq_block(x, m->XT, m->n, m->d, i0, blk);
                else
                    for (int64_t q = 0; q < nb; q++) {
                        double s = 0.0;
                        for (int64_t c = 0; c < m->d; c++) {
                            const double z = x[c] - m->XT[c * m->n + i0 + q];
                            s += z * z;
                        }
                        blk[q] = s;
                    }
                for (int64_t q = 0; q < nb; q++)
                    have = knn_insert(nd, ni, k, have, blk[q], i0 + q);
            }
            for (int64_t j = 0; j < have; j++)
                nd[j] = sqrt(nd[j]);
        } else {
            for (int64_t i = 0; i < m->n; i++)
                have = knn_insert(nd, ni, k, have, dist(m, x, m->X + i * m->d), i);
        }
        int zero = 0;
        for (int64_t j = 0; j < k; j++)
            zero |= nd[j] == 0;
        for (int64_t j = 0; j < k; j++)
            w[j] = !m->distance_w ? 1.0 : zero ? (nd[j] == 0 ? 1.0 : 0.0) : 1.0 / nd[j];
        if (m->is_clf) {
            for (int64_t c = 0; c < m->K; c++)
                acc[c] = 0;
            for (int64_t j = 0; j < k; j++)
                acc[(int64_t)m->y[ni[j]]] += w[j];
            if (meth == CKPT_METHOD_PREDICT) {
                out->labels[r] = ckpt_k_argmax(acc, m->K);
            } else {
                double s = 0;
                for (int64_t c = 0; c < m->K; c++)
                    s += acc[c];
                if (s == 0)
                    s = 1;
                for (int64_t c = 0; c < m->K; c++)
                    out->values[r * m->K + c] = acc[c] / s;
            }
            continue;
        }
        if (!m->distance_w && m->y_f32) {
            /* np.mean(_y[neigh_ind], axis=1) of float32 _y: a float32 sum in
               neighbor order, then / k in float32 (for float32 and float64 rows) */
            for (int64_t c = 0; c < m->t; c++) {
                float s = 0.0f;
                for (int64_t j = 0; j < k; j++)
                    s += (float)m->y[ni[j] * m->t + c];
                out->values[r * m->t + c] = (double)(s / (float)k);
            }
            continue;
        }
        double ws = 0;
        for (int64_t j = 0; j < k; j++)
            ws += w[j];
        for (int64_t c = 0; c < m->t; c++) {
            double s = 0;
            for (int64_t j = 0; j < k; j++)
                s += m->distance_w ? m->y[ni[j] * m->t + c] * w[j] : m->y[ni[j] * m->t + c];
            out->values[r * m->t + c] = m->distance_w ? s / ws : s / (double)k;
        }
    }
    free(D4);
    free(nd);
    free(ni);
    return CKPT_OK;
}

static const ckpt_est_vt knn_vt = {knn_run, knn_free};

ckpt_status ckpt_rt_build_knn(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    const char *cls = ckpt_value_class(obj);
    knn_impl *m = calloc(1, sizeof *m);
    ckpt_labels labels = {0};
    ckpt_rt_arr X = {0}, y = {0};
    ckpt_status st;
    if (!m)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    m->is_clf = strstr(cls, "Classifier") != NULL;
    if ((st = ckpt_rt_arr_attr(ctx, obj, "_fit_X", &X)) != CKPT_OK)
        goto fail;
    if ((st = ckpt_rt_arr_attr(ctx, obj, "_y", &y)) != CKPT_OK)
        goto fail;
    if (X.ndim != 2 || X.shape[0] < 1 || y.shape[0] != X.shape[0] || y.ndim > 2) {
        st = ckpt_rt_fail(ctx, obj, "_fit_X / _y shapes disagree");
        goto fail;
    }
    m->n = X.shape[0];
    m->d = X.shape[1];
    m->t = y.ndim == 2 ? y.shape[1] : 1;
    m->X = X.d;
    m->y = y.d;
    X.d = y.d = NULL;
    m->y_f32 = !m->is_clf && y.dtype == CKPT_DT_FLOAT32;
    if (ckpt_rt_attr_i64(ctx, obj, "n_neighbors", &m->k) || m->k < 1 || m->k > m->n) {
        st = ckpt_rt_fail(ctx, obj, "n_neighbors %lld for %lld samples", (long long)m->k,
                          (long long)m->n);
        goto fail;
    }
    char w[16] = "uniform";
    if (ckpt_value_attr(obj, "weights") && !ckpt_rt_attr_str(obj, "weights", w, sizeof w) &&
        ckpt_value_kind(ckpt_value_attr(obj, "weights")) != CKPT_K_NONE) {
        st = ckpt_rt_fail(ctx, obj, "callable weights are not supported");
        goto fail;
    }
    if (strcmp(w, "distance") == 0)
        m->distance_w = 1;
    else if (strcmp(w, "uniform") != 0) {
        st = ckpt_rt_fail(ctx, obj, "weights '%s'", w);
        goto fail;
    }
    char met[32] = "";
    if (!ckpt_rt_attr_str(obj, "effective_metric_", met, sizeof met))
        ckpt_rt_attr_str(obj, "metric", met, sizeof met);
    m->p = 2;
    const ckpt_value *mp = ckpt_value_attr(obj, "effective_metric_params_");
    if (!(mp && ckpt_dict_get(mp, "p") && ckpt_rt_value_f64(ctx, ckpt_dict_get(mp, "p"), &m->p) == 0))
        ckpt_rt_attr_f64(ctx, obj, "p", &m->p);
    if (strcmp(met, "euclidean") == 0 || strcmp(met, "l2") == 0)
        m->met = M_EUCLID;
    else if (strcmp(met, "manhattan") == 0 || strcmp(met, "cityblock") == 0 ||
             strcmp(met, "l1") == 0)
        m->met = M_MANHATTAN;
    else if (strcmp(met, "chebyshev") == 0 || strcmp(met, "infinity") == 0)
        m->met = M_CHEBYSHEV;
    else if (strcmp(met, "minkowski") == 0) {
        m->met = m->p == 2 ? M_EUCLID : m->p == 1 ? M_MANHATTAN
                 : isinf(m->p)                    ? M_CHEBYSHEV
                                                  : M_MINKOWSKI;
        if (!(m->p > 0)) {
            st = ckpt_rt_fail(ctx, obj, "minkowski p = %g", m->p);
            goto fail;
        }
    } else {
        st = ckpt_rt_fail(ctx, obj, "metric '%s' is not supported", met);
        goto fail;
    }
    if (m->is_clf) {
        if (m->t != 1) {
            st = ckpt_rt_fail(ctx, obj, "multi-output KNeighborsClassifier is not supported");
            goto fail;
        }
        if ((st = ckpt_rt_labels(ctx, ckpt_value_attr(obj, "classes_"), &labels)) != CKPT_OK)
            goto fail;
        m->K = labels.n;
        for (int64_t i = 0; i < m->n; i++)
            if (!(m->y[i] >= 0 && m->y[i] < (double)m->K) || m->y[i] != floor(m->y[i])) {
                st = ckpt_rt_fail(ctx, obj, "_y[%lld] is not a class index", (long long)i);
                goto fail;
            }
    }
    if (m->met == M_EUCLID) {
        m->XT = ckpt_rt_calloc((uint64_t)m->n * (uint64_t)m->d + 1, sizeof(double));
        if (!m->XT) {
            st = ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < m->n; i++)
            for (int64_t c = 0; c < m->d; c++)
                m->XT[c * m->n + i] = m->X[i * m->d + c];
    }
    ckpt_est *e = ckpt_est_new(&knn_vt, m, cls);
    if (!e) {
        ckpt_labels_free(&labels);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    e->n_features = m->d;
    if (m->is_clf) {
        e->is_clf = 1;
        e->labels = labels;
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_LABEL, 1);
        ckpt_est_method(e, CKPT_METHOD_PREDICT_PROBA, CKPT_OUT_F64, m->K);
    } else {
        e->n_outputs = m->t;
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_F64, m->t);
        if (m->y_f32 && !m->distance_w)
            e->out_f32[CKPT_METHOD_PREDICT] = CKPT_RT_F32_FROM32 | CKPT_RT_F32_FROM64;
    }
    e->fit_f32 = X.dtype == CKPT_DT_FLOAT32;
    *out = e;
    return CKPT_OK;
fail:
    free(X.d);
    free(y.d);
    ckpt_labels_free(&labels);
    knn_free(m);
    return st;
}

/* ---------------------------------------------------------------- KMeans */

typedef struct km_impl {
    double *C;
    int64_t k, d;
    double *CC;         /* float32 centers: row_norms(centers)**2 in float64 (NumPy order) */
    float *C32, *CC32;  /* float32 centers and their float32 row_norms**2 (predict) */
} km_impl;

static void km_free(void *p)
{
    km_impl *m = p;
    free(m->C);
    free(m->CC);
    free(m->C32);
    free(m->CC32);
    free(m);
}

/* KMeans.transform of float32 rows with float32 cluster_centers_:
   euclidean_distances -> _euclidean_distances_upcast: rows and centers
   upcast to float64, -2 X.C^T (dgemm as NumPy calls it) + ||x||^2 + ||c||^2
   (einsum row norms), cast to float32, max(., 0), np.sqrt in float32. */
static ckpt_status km_transform_f32(const km_impl *m, const ckpt_input *in, double *out,
                                    ckpt_error *err)
{
    const int64_t n = in->n_rows, d = m->d, k = m->k;
    double *X = ckpt_rt_calloc((uint64_t)n * (uint64_t)d + 1, sizeof(double));
    double *P = ckpt_rt_calloc((uint64_t)n * (uint64_t)k + 1, sizeof(double));
    if (!X || !P) {
        free(X);
        free(P);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    for (int64_t i = 0; i < n * d; i++)
        X[i] = (double)in->dense32[i];
    ckpt_k_np_dgemm_nt(X, n, d, m->C, k, P);
    for (int64_t r = 0; r < n; r++) {
        const double xx = ckpt_k_einsum_sq(X + r * d, d);
        for (int64_t j = 0; j < k; j++) {
            double v = -2.0 * P[r * k + j];
            v += xx;
            v += m->CC[j];
            float f = (float)v;
            f = f > 0.0f ? f : 0.0f;
            out[r * k + j] = (double)sqrtf(f);
        }
    }
    free(X);
    free(P);
    return CKPT_OK;
}

/* KMeans.predict of float32 rows with float32 centers: scikit-learn's
   lloyd_iter_chunked_dense (update_centers=False): chunks of 256 rows, P =
   ||c||^2 (float32 einsum) then sgemm(-2, X, C^T, 1, P), first strict
   minimum. */
#define KM_CHUNK 256
static ckpt_status km_predict_f32(const km_impl *m, const ckpt_input *in, int64_t *labels,
                                  ckpt_error *err)
{
    const int64_t n = in->n_rows, d = m->d, k = m->k;
    const int64_t cn = n < KM_CHUNK ? n : KM_CHUNK;
    float *P = ckpt_rt_calloc((uint64_t)cn * (uint64_t)k + 1, sizeof(float));
    if (!P)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t r0 = 0; r0 < n; r0 += cn) {
        const int64_t nn = n - r0 < cn ? n - r0 : cn;
        for (int64_t i = 0; i < nn; i++)
            memcpy(P + i * k, m->CC32, (size_t)k * sizeof(float));
        if (d > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)nn, (blasint)k,
                        (blasint)d, -2.0f, in->dense32 + r0 * d, (blasint)d, m->C32, (blasint)d,
                        1.0f, P, (blasint)k);
        for (int64_t i = 0; i < nn; i++) {
            const float *p = P + i * k;
            int64_t best = 0;
            for (int64_t j = 1; j < k; j++)
                if (p[j] < p[best])
                    best = j;
            labels[r0 + i] = best;
        }
    }
    free(P);
    return CKPT_OK;
}

static ckpt_status km_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                          const ckpt_output *out, ckpt_error *err)
{
    const km_impl *m = e->impl;
    if (meth == CKPT_METHOD_TRANSFORM && m->CC && !in->dense && in->dense32)
        return km_transform_f32(m, in, out->values, err);
    if (meth == CKPT_METHOD_PREDICT && m->C32 && !in->dense && in->dense32)
        return km_predict_f32(m, in, out->labels, err);
    ckpt_input w = *in;
    double *wide = NULL;
    if (!in->dense && in->dense32) { /* predict: labels from float64 distances */
        wide = ckpt_rt_calloc((uint64_t)in->n_rows * (uint64_t)m->d + 1, sizeof(double));
        if (!wide)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        for (int64_t i = 0; i < in->n_rows * m->d; i++)
            wide[i] = (double)in->dense32[i];
        w.dense = wide;
        in = &w;
    }
    double *D = ckpt_rt_calloc((uint64_t)m->k, sizeof(double));
    if (!D) {
        free(wide);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    for (int64_t r = 0; r < in->n_rows; r++) {
        double *dst = meth == CKPT_METHOD_TRANSFORM ? out->values + r * m->k : D;
        ckpt_k_sqdist(in->dense + r * m->d, 1, m->C, m->k, m->d, dst);
        if (meth == CKPT_METHOD_TRANSFORM) {
            for (int64_t j = 0; j < m->k; j++)
                dst[j] = sqrt(dst[j]);
        } else {
            int64_t best = 0;
            for (int64_t j = 1; j < m->k; j++)
                if (dst[j] < dst[best])
                    best = j;
            out->labels[r] = best;
        }
    }
    free(D);
    free(wide);
    return CKPT_OK;
}

static const ckpt_est_vt km_vt = {km_run, km_free};

ckpt_status ckpt_rt_build_kmeans(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    ckpt_rt_arr c;
    ckpt_status st = ckpt_rt_arr_attr(ctx, obj, "cluster_centers_", &c);
    if (st != CKPT_OK)
        return st;
    if (c.ndim != 2 || c.shape[0] < 1) {
        free(c.d);
        return ckpt_rt_fail(ctx, obj, "cluster_centers_ is not a non-empty 2-d array");
    }
    km_impl *m = calloc(1, sizeof *m);
    if (!m) {
        free(c.d);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    m->C = c.d;
    m->k = c.shape[0];
    m->d = c.shape[1];
    if (c.dtype == CKPT_DT_FLOAT32) {
        m->CC = ckpt_rt_calloc((uint64_t)m->k, sizeof(double));
        if (!m->CC) {
            km_free(m);
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        }
        for (int64_t j = 0; j < m->k; j++)
            m->CC[j] = ckpt_k_einsum_sq(m->C + j * m->d, m->d);
        ckpt_rt_arr t = {0};
        t.d = m->C;
        t.n = (uint64_t)m->k * (uint64_t)m->d;
        m->C32 = ckpt_rt_to_f32(&t);
        m->CC32 = ckpt_rt_calloc((uint64_t)m->k, sizeof(float));
        if (!m->C32 || !m->CC32) {
            km_free(m);
            return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
        }
        for (int64_t j = 0; j < m->k; j++)
            m->CC32[j] = ckpt_k_einsum_sqf(m->C32 + j * m->d, m->d);
    }
    ckpt_est *e = ckpt_est_new(&km_vt, m, ckpt_value_class(obj));
    if (!e)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    e->n_features = m->d;
    if (m->CC) {
        e->fit_f32 = 1;
        e->takes_f32 = 1;
        e->out_f32[CKPT_METHOD_TRANSFORM] = CKPT_RT_F32_FROM32;
    }
    ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_INT, 1);
    ckpt_est_method(e, CKPT_METHOD_TRANSFORM, CKPT_OUT_F64, m->k);
    *out = e;
    return CKPT_OK;
}
