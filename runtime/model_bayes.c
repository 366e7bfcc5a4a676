/*
 * model_bayes.c - naive Bayes: GaussianNB (theta_, var_ / sigma_ before 1.0,
 * class_prior_), MultinomialNB and ComplementNB (feature_log_prob_,
 * class_log_prior_), BernoulliNB (binarize, log(1 - exp(flp))).
 * predict = first argmax of the joint log likelihood; predict_log_proba =
 * jll - logsumexp(jll) (scipy's max-shifted form); predict_proba its exp.
 * Multinomial / Complement take CSR rows directly (text pipelines).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

typedef enum nb_kind { NB_GAUSS, NB_MULTI, NB_COMPLEMENT, NB_BERNOULLI } nb_kind;

typedef struct nb_impl {
    nb_kind kind;
    int64_t K, d;
    double *A;          /* GAUSS: theta (K x d); else feature_log_prob_ (or flp - neg) */
    double *B;          /* GAUSS: var (K x d) */
    double *prior;      /* GAUSS: log(class_prior_) + n_ij const; else per-class constant */
    double binarize;
    int has_binarize;
} nb_impl;

static void nb_free(void *p)
{
    nb_impl *m = p;
    free(m->A);
    free(m->B);
    free(m->prior);
    free(m);
}

static ckpt_status nb_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                          const ckpt_output *out, ckpt_error *err)
{
    const nb_impl *m = e->impl;
    const int64_t K = m->K, d = m->d, n = in->n_rows;
    double *J = ckpt_rt_calloc((uint64_t)(n < CKPT_RT_CHUNK_ROWS ? n : CKPT_RT_CHUNK_ROWS) *
                                       (uint64_t)K + (uint64_t)d + 1,
                               sizeof(double));
    if (!J)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    double *xb = J + (n < CKPT_RT_CHUNK_ROWS ? n : CKPT_RT_CHUNK_ROWS) * K;
    for (int64_t r0 = 0; r0 < n; r0 += CKPT_RT_CHUNK_ROWS) {
        int64_t nn = n - r0 < CKPT_RT_CHUNK_ROWS ? n - r0 : CKPT_RT_CHUNK_ROWS;
        if (m->kind == NB_GAUSS) {
            for (int64_t r = 0; r < nn; r++) {
                const double *x = in->dense + (r0 + r) * d;
                for (int64_t k = 0; k < K; k++) {
                    double s = 0;
                    for (int64_t c = 0; c < d; c++) {
                        double z = x[c] - m->A[k * d + c];
                        s += z * z / m->B[k * d + c];
                    }
                    J[r * K + k] = m->prior[k] - 0.5 * s;
                }
            }
        } else if (in->kind == CKPT_IN_CSR) {
            ckpt_csr sub = *in->csr;
            sub.rows = nn;
            sub.indptr = in->csr->indptr + r0;
            ckpt_k_csr_gemm_nt(&sub, m->A, K, m->prior, J);
        } else if (m->kind == NB_BERNOULLI && m->has_binarize) {
            for (int64_t r = 0; r < nn; r++) {
                const double *x = in->dense + (r0 + r) * d;
                for (int64_t c = 0; c < d; c++)
                    xb[c] = x[c] > m->binarize ? 1.0 : 0.0;
                ckpt_k_gemm_nt(xb, 1, d, m->A, K, m->prior, J + r * K);
            }
        } else {
            ckpt_k_gemm_nt(in->dense + r0 * d, nn, d, m->A, K, m->prior, J);
        }
        for (int64_t r = 0; r < nn; r++) {
            const double *j = J + r * K;
            if (meth == CKPT_METHOD_PREDICT) {
                out->labels[r0 + r] = ckpt_k_argmax(j, K);
                continue;
            }
            double mx = j[0];
            for (int64_t k = 1; k < K; k++)
                if (j[k] > mx)
                    mx = j[k];
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += exp(j[k] - mx);
            double lse = log(s) + mx;
            double *P = out->values + (r0 + r) * K;
            for (int64_t k = 0; k < K; k++)
                P[k] = meth == CKPT_METHOD_PREDICT_PROBA ? exp(j[k] - lse) : j[k] - lse;
        }
    }
    free(J);
    return CKPT_OK;
}

static const ckpt_est_vt nb_vt = {nb_run, nb_free};

ckpt_status ckpt_rt_build_nb(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    const char *cls = ckpt_value_class(obj);
    const char *sn = strrchr(cls, '.') ? strrchr(cls, '.') + 1 : cls;
    nb_impl *m = calloc(1, sizeof *m);
    ckpt_labels labels = {0};
    ckpt_rt_arr a = {0}, b = {0}, p = {0};
    ckpt_status st;
    if (!m)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    m->kind = strcmp(sn, "GaussianNB") == 0      ? NB_GAUSS
              : strcmp(sn, "MultinomialNB") == 0 ? NB_MULTI
              : strcmp(sn, "ComplementNB") == 0  ? NB_COMPLEMENT
                                                 : NB_BERNOULLI;
    if ((st = ckpt_rt_labels(ctx, ckpt_value_attr(obj, "classes_"), &labels)) != CKPT_OK)
        goto fail;
    m->K = labels.n;
    if (m->kind == NB_GAUSS) {
        if ((st = ckpt_rt_arr_attr(ctx, obj, "theta_", &a)) != CKPT_OK)
            goto fail;
        const char *vn = ckpt_value_attr(obj, "var_") ? "var_" : "sigma_";
        if ((st = ckpt_rt_arr_attr(ctx, obj, vn, &b)) != CKPT_OK)
            goto fail;
        if ((st = ckpt_rt_arr_attr(ctx, obj, "class_prior_", &p)) != CKPT_OK)
            goto fail;
    } else {
        if ((st = ckpt_rt_arr_attr(ctx, obj, "feature_log_prob_", &a)) != CKPT_OK)
            goto fail;
        if ((st = ckpt_rt_arr_attr(ctx, obj, "class_log_prior_", &p)) != CKPT_OK)
            goto fail;
    }
    if (a.ndim != 2 || a.shape[0] != m->K || (b.d && (b.ndim != 2 || b.n != a.n)) ||
        (int64_t)p.n != m->K) {
        st = ckpt_rt_fail(ctx, obj, "parameter shapes disagree with %lld classes", (long long)m->K);
        goto fail;
    }
    m->d = a.shape[1];
    m->A = a.d;
    m->B = b.d;
    m->prior = p.d;
    a.d = b.d = p.d = NULL;
    const int64_t K = m->K, d = m->d;
    if (m->kind == NB_GAUSS) {
        for (int64_t k = 0; k < K; k++) {
            double s = 0;
            for (int64_t c = 0; c < d; c++)
                s += log(2.0 * M_PI * m->B[k * d + c]);
            m->prior[k] = log(m->prior[k]) + -0.5 * s;
        }
    } else if (m->kind == NB_COMPLEMENT) {
        if (K != 1)
            for (int64_t k = 0; k < K; k++)
                m->prior[k] = 0;
    } else if (m->kind == NB_BERNOULLI) {
        const ckpt_value *bz = ckpt_value_attr(obj, "binarize");
        if (bz && ckpt_value_kind(bz) != CKPT_K_NONE) {
            if (ckpt_rt_value_f64(ctx, bz, &m->binarize)) {
                st = ckpt_rt_fail(ctx, obj, "binarize is not a number");
                goto fail;
            }
            m->has_binarize = 1;
        }
        for (int64_t k = 0; k < K; k++) {
            double s = 0;
            for (int64_t c = 0; c < d; c++) {
                double neg = log(1 - exp(m->A[k * d + c]));
                m->A[k * d + c] -= neg;
                s += neg;
            }
            m->prior[k] += s;
        }
    }
    ckpt_est *e = ckpt_est_new(&nb_vt, m, cls);
    if (!e) {
        ckpt_labels_free(&labels);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    e->n_features = d;
    e->accepts_csr = m->kind == NB_MULTI || m->kind == NB_COMPLEMENT;
    e->is_clf = 1;
    e->labels = labels;
    ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_LABEL, 1);
    ckpt_est_method(e, CKPT_METHOD_PREDICT_PROBA, CKPT_OUT_F64, K);
    ckpt_est_method(e, CKPT_METHOD_PREDICT_LOG_PROBA, CKPT_OUT_F64, K);
    *out = e;
    return CKPT_OK;
fail:
    free(a.d);
    free(b.d);
    free(p.d);
    ckpt_labels_free(&labels);
    nb_free(m);
    return st;
}
