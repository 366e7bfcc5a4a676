/*
 * model_linear.c - linear models: d = X . coef_^T + intercept_.
 *
 * Classifiers (LogisticRegression, RidgeClassifier, SGDClassifier,
 * Perceptron, LinearSVC): binary predict classes_[d > 0], multiclass first
 * argmax.  Probabilities as scikit-learn: LogisticRegression multinomial ->
 * softmax (binary: softmax([-d, d])), one-vs-rest (multi_class 'ovr', or
 * 'auto' with liblinear or two classes, and SGD log_loss) -> expit
 * normalized per row; SGD modified_huber -> (clip(d, -1, 1) + 1) / 2
 * normalized (all-zero rows become uniform).
 * Regressors (LinearRegression, Ridge, Lasso, ElasticNet, SGDRegressor,
 * LinearSVR): coef_ (d,) -> one column, (t, d) -> t columns.
 * Sparse (CSR) rows are taken directly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

typedef enum lin_proba {
    LP_NONE = 0,
    LP_OVR,         /* expit, normalized */
    LP_SOFTMAX,     /* multinomial */
    LP_MHUBER
} lin_proba;

typedef struct lin_impl {
    double *W;      /* k x d */
    double *b;      /* k */
    int64_t k, d;
    int is_clf;
    int binary;     /* classifier with one decision column */
    lin_proba proba;
    /* float32 coef_ (fitted on float32 by a solver that keeps the dtype):
       float32 rows are computed X32 @ W32.T in float32, then + intercept_ in
       float32 (b_f32) or, for a float64 intercept_ array, in float64 */
    float *W32, *b32;
    int b_f32;
} lin_impl;

static void lin_free(void *p)
{
    lin_impl *m = p;
    free(m->W);
    free(m->b);
    free(m->W32);
    free(m->b32);
    free(m);
}

/* decision values, n x k */
static void lin_decision(const lin_impl *m, const ckpt_input *in, int64_t r0, int64_t n,
                         double *out)
{
    if (in->kind == CKPT_IN_CSR) {
        ckpt_csr sub = *in->csr;
        sub.rows = n;
        sub.indptr = in->csr->indptr + r0;
        /* indptr values stay absolute: indices/data are shared */
        ckpt_k_csr_gemm_nt(&sub, m->W, m->k, m->b, out);
    } else {
        ckpt_k_gemm_nt(in->dense + r0 * m->d, n, m->d, m->W, m->k, m->b, out);
    }
}

static void proba_rows(const lin_impl *m, const double *dec, int64_t n, double *P, int64_t K)
{
    for (int64_t r = 0; r < n; r++) {
        double *p = P + r * K;
        const double *d = dec + r * m->k;
        if (m->binary) {
            double q;
            switch (m->proba) {
            case LP_SOFTMAX: {
                double t[2] = {-d[0], d[0]};
                ckpt_k_softmax(t, 2);
                p[0] = t[0];
                p[1] = t[1];
                continue;
            }
            case LP_MHUBER: {
                double c = d[0] < -1 ? -1 : d[0] > 1 ? 1 : d[0];
                q = (c + 1.0) / 2.0;
                break;
            }
            default:
                q = ckpt_k_expit(d[0]);
                break;
            }
            p[0] = 1.0 - q;
            p[1] = q;
            continue;
        }
        if (m->proba == LP_SOFTMAX) {
            memcpy(p, d, (size_t)K * sizeof *p);
            ckpt_k_softmax(p, K);
            continue;
        }
        double s = 0;
        for (int64_t j = 0; j < K; j++) {
            if (m->proba == LP_MHUBER) {
                double c = d[j] < -1 ? -1 : d[j] > 1 ? 1 : d[j];
                p[j] = (c + 1.0) / 2.0;
            } else {
                p[j] = ckpt_k_expit(d[j]);
            }
            s += p[j];
        }
        if (m->proba == LP_MHUBER && s == 0) {
            for (int64_t j = 0; j < K; j++)
                p[j] = 1.0 / (double)K;
            continue;
        }
        for (int64_t j = 0; j < K; j++)
            p[j] /= s;
    }
}

/* Probabilities from float32 decisions, in float32 as scikit-learn 1.2:
   ovr (_predict_proba_lr): expit in place, binary vstack([1 - p, p]),
   multiclass p /= p.sum(axis=1); multinomial: softmax (binary on
   np.c_[-d, d]).  (modified_huber belongs to SGD, whose coef_ is float64.) */
static void proba_rows_f32(const lin_impl *m, const float *dec, int64_t n, double *P, int64_t K,
                           int log_p, float *row)
{
    float t[2];
    for (int64_t r = 0; r < n; r++) {
        double *p = P + r * K;
        const float *d = dec + r * m->k;
        if (m->binary) {
            float p0, p1;
            if (m->proba == LP_SOFTMAX) {
                t[0] = -d[0];
                t[1] = d[0];
                ckpt_k_softmaxf(t, 2);
                p0 = t[0];
                p1 = t[1];
            } else {
                p1 = ckpt_k_expitf(d[0]);
                p0 = 1.0f - p1;
            }
            p[0] = log_p ? (double)ckpt_k_nplogf(p0) : (double)p0;
            p[1] = log_p ? (double)ckpt_k_nplogf(p1) : (double)p1;
            continue;
        }
        if (m->proba == LP_SOFTMAX) {
            memcpy(row, d, (size_t)K * sizeof *row);
            ckpt_k_softmaxf(row, K);
        } else {
            for (int64_t j = 0; j < K; j++)
                row[j] = ckpt_k_expitf(d[j]);
            const float s = ckpt_k_sumf(row, K);
            for (int64_t j = 0; j < K; j++)
                row[j] /= s;
        }
        for (int64_t j = 0; j < K; j++)
            p[j] = log_p ? (double)ckpt_k_nplogf(row[j]) : (double)row[j];
    }
}

#define LIN_STACK_FLOATS 256

/* float32 rows through float32 coef_ (the caller checked in->dense32 and
   m->W32) */
static ckpt_status lin_run_f32(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                               const ckpt_output *out, ckpt_error *err)
{
    const lin_impl *m = e->impl;
    const int64_t n = in->n_rows;
    const int64_t K = e->labels.n;
    const int64_t chunk = CKPT_RT_CHUNK_ROWS;
    const int64_t cn = n < chunk ? n : chunk;
    float sbuf[LIN_STACK_FLOATS], srow[LIN_STACK_FLOATS];
    const int on_stack = (uint64_t)cn * (uint64_t)m->k <= LIN_STACK_FLOATS;
    float *dec = on_stack ? sbuf : ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->k, sizeof(float));
    float *row = K <= LIN_STACK_FLOATS ? srow : ckpt_rt_calloc((uint64_t)K, sizeof(float));
    double *dd = NULL;
    if (!dec || !row) {
        if (!on_stack)
            free(dec);
        if (row != srow)
            free(row);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    if (!m->b_f32) { /* float64 intercept_ array: float32 product + float64 intercept */
        dd = ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->k, sizeof(double));
        if (!dd) {
            if (!on_stack)
                free(dec);
            if (row != srow)
                free(row);
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        }
    }
    const int dec_only = meth == CKPT_METHOD_DECISION_FUNCTION ||
                         (!m->is_clf && meth == CKPT_METHOD_PREDICT);
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const int64_t nn = n - r0 < chunk ? n - r0 : chunk;
        ckpt_k_sgemm_nt(in->dense32 + r0 * m->d, nn, m->d, m->W32, m->k,
                        m->b_f32 ? m->b32 : NULL, dec);
        if (dd) {
            for (int64_t r = 0; r < nn; r++)
                for (int64_t j = 0; j < m->k; j++)
                    dd[r * m->k + j] = (double)dec[r * m->k + j] + m->b[j];
            if (dec_only) {
                memcpy(out->values + r0 * m->k, dd, (size_t)(nn * m->k) * sizeof(double));
            } else if (meth == CKPT_METHOD_PREDICT) {
                for (int64_t r = 0; r < nn; r++)
                    out->labels[r0 + r] = m->binary ? (dd[r] > 0 ? 1 : 0)
                                                    : ckpt_k_argmax(dd + r * m->k, m->k);
            } else {
                double *P = out->values + r0 * K;
                proba_rows(m, dd, nn, P, K);
                if (meth == CKPT_METHOD_PREDICT_LOG_PROBA)
                    for (int64_t i = 0; i < nn * K; i++)
                        P[i] = log(P[i]);
            }
            continue;
        }
        if (dec_only) {
            double *o = out->values + r0 * m->k;
            for (int64_t i = 0; i < nn * m->k; i++)
                o[i] = (double)dec[i];
        } else if (meth == CKPT_METHOD_PREDICT) {
            for (int64_t r = 0; r < nn; r++) {
                const float *dr = dec + r * m->k;
                int64_t best = 0;
                if (m->binary) {
                    best = dr[0] > 0.0f ? 1 : 0;
                } else {
                    for (int64_t j = 1; j < m->k; j++)
                        if (dr[j] > dr[best])
                            best = j;
                }
                out->labels[r0 + r] = best;
            }
        } else {
            proba_rows_f32(m, dec, nn, out->values + r0 * K, K,
                           meth == CKPT_METHOD_PREDICT_LOG_PROBA, row);
        }
    }
    if (!on_stack)
        free(dec);
    if (row != srow)
        free(row);
    free(dd);
    return CKPT_OK;
}

static ckpt_status lin_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                           const ckpt_output *out, ckpt_error *err)
{
    const lin_impl *m = e->impl;
    const int64_t n = in->n_rows;
    const int64_t K = e->labels.n;
    if (in->kind == CKPT_IN_DENSE && !in->dense && in->dense32 && m->W32)
        return lin_run_f32(e, meth, in, out, err);
    if (meth == CKPT_METHOD_DECISION_FUNCTION || (!m->is_clf && meth == CKPT_METHOD_PREDICT)) {
        lin_decision(m, in, 0, n, out->values);
        return CKPT_OK;
    }
    const int64_t chunk = CKPT_RT_CHUNK_ROWS;
    double *dec = ckpt_rt_calloc((uint64_t)(n < chunk ? n : chunk) * (uint64_t)m->k,
                                 sizeof(double));
    if (!dec)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t nn = n - r0 < chunk ? n - r0 : chunk;
        lin_decision(m, in, r0, nn, dec);
        if (meth == CKPT_METHOD_PREDICT) {
            for (int64_t r = 0; r < nn; r++)
                out->labels[r0 + r] = m->binary ? (dec[r] > 0 ? 1 : 0)
                                                : ckpt_k_argmax(dec + r * m->k, m->k);
        } else {
            double *P = out->values + r0 * K;
            proba_rows(m, dec, nn, P, K);
            if (meth == CKPT_METHOD_PREDICT_LOG_PROBA)
                for (int64_t i = 0; i < nn * K; i++)
                    P[i] = log(P[i]);
        }
    }
    free(dec);
    return CKPT_OK;
}

static const ckpt_est_vt lin_vt = {lin_run, lin_free};

static int cls_is(const char *cls, const char *name)
{
    const char *dot = strrchr(cls, '.');
    return strcmp(dot ? dot + 1 : cls, name) == 0;
}

static ckpt_status lin_build(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out,
                             int is_clf)
{
    const char *cls = ckpt_value_class(obj);
    ckpt_rt_arr coef = {0}, icpt = {0};
    ckpt_labels labels = {0};
    lin_impl *m = NULL;
    ckpt_status st = ckpt_rt_arr_attr(ctx, obj, "coef_", &coef);
    if (st != CKPT_OK)
        return st;
    if (coef.ndim != 1 && coef.ndim != 2) {
        st = ckpt_rt_fail(ctx, obj, "coef_ has %u dimensions", coef.ndim);
        goto fail;
    }
    m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->d = coef.ndim == 1 ? coef.shape[0] : coef.shape[1];
    m->k = coef.ndim == 1 ? 1 : coef.shape[0];
    if (m->k < 1 || m->d < 1 || m->d > CKPT_RT_MAX_FEATURES) {
        st = ckpt_rt_fail(ctx, obj, "coef_ has shape %lld x %lld", (long long)m->k,
                          (long long)m->d);
        goto fail;
    }
    m->W = coef.d;
    coef.d = NULL;
    m->b = ckpt_rt_calloc((uint64_t)m->k, sizeof(double));
    if (!m->b)
        goto nomem;
    const ckpt_value *iv = ckpt_value_attr(obj, "intercept_");
    if (iv) {
        st = ckpt_rt_arr_value(ctx, iv, "intercept_", &icpt);
        if (st != CKPT_OK)
            goto fail;
        if (icpt.n == (uint64_t)m->k) {
            memcpy(m->b, icpt.d, (size_t)m->k * sizeof(double));
        } else if (icpt.n == 1) {
            for (int64_t j = 0; j < m->k; j++)
                m->b[j] = icpt.d[0];
        } else {
            st = ckpt_rt_fail(ctx, obj, "intercept_ has %llu values for %lld outputs",
                              (unsigned long long)icpt.n, (long long)m->k);
            goto fail;
        }
    }
    /* float32 coef_: keep a float32 copy for float32 rows (NumPy promotion) */
    int b_f32 = !iv || icpt.ndim == 0 || ckpt_rt_keeps_f32(&icpt);
    if (coef.dtype == CKPT_DT_FLOAT32) {
        ckpt_rt_arr w = {0};
        w.d = m->W;
        w.n = (uint64_t)m->k * (uint64_t)m->d;
        ckpt_rt_arr bb = {0};
        bb.d = m->b;
        bb.n = (uint64_t)m->k;
        m->W32 = ckpt_rt_to_f32(&w);
        m->b32 = ckpt_rt_to_f32(&bb);
        if (!m->W32 || !m->b32)
            goto nomem;
        m->b_f32 = b_f32;
    }
    m->is_clf = is_clf;
    if (is_clf) {
        const ckpt_value *cv = ckpt_value_attr(obj, "classes_");
        if (!cv) /* RidgeClassifier: classes_ is a property of _label_binarizer */
            cv = ckpt_value_attr(ckpt_value_attr(obj, "_label_binarizer"), "classes_");
        if (!cv) {
            st = ckpt_rt_fail(ctx, obj, "attribute classes_ is missing");
            goto fail;
        }
        st = ckpt_rt_labels(ctx, cv, &labels);
        if (st != CKPT_OK)
            goto fail;
        if (labels.n == 2 && m->k == 1) {
            m->binary = 1;
        } else if (labels.n != m->k || labels.n < 2) {
            st = ckpt_rt_fail(ctx, obj, "%lld classes but coef_ has %lld rows",
                              (long long)labels.n, (long long)m->k);
            goto fail;
        }
        char mc[32] = "", solver[32] = "", loss[32] = "";
        if (cls_is(cls, "LogisticRegression") || cls_is(cls, "LogisticRegressionCV")) {
            ckpt_rt_attr_str(obj, "multi_class", mc, sizeof mc);
            ckpt_rt_attr_str(obj, "solver", solver, sizeof solver);
            int ovr = strcmp(mc, "ovr") == 0 || strcmp(mc, "warn") == 0 ||
                      (strcmp(mc, "multinomial") != 0 &&
                       (labels.n <= 2 || strcmp(solver, "liblinear") == 0 ||
                        strcmp(solver, "newton-cholesky") == 0));
            /* pickles from before 0.22 default to 'ovr' (multi_class absent = 'ovr' there) */
            if (!mc[0] && ckpt_rt_sklearn_version(obj) < 2200 && ckpt_rt_sklearn_version(obj))
                ovr = 1;
            m->proba = ovr ? LP_OVR : LP_SOFTMAX;
        } else if (cls_is(cls, "SGDClassifier")) {
            ckpt_rt_attr_str(obj, "loss", loss, sizeof loss);
            if (strcmp(loss, "log_loss") == 0 || strcmp(loss, "log") == 0)
                m->proba = LP_OVR;
            else if (strcmp(loss, "modified_huber") == 0)
                m->proba = LP_MHUBER;
        }
    }
    if (m->proba == LP_MHUBER && m->W32) {
        /* SGD's coef_ is float64; a float32 one would need SGD's float64
           probability arrays: compute such a model in float64 */
        free(m->W32);
        free(m->b32);
        m->W32 = m->b32 = NULL;
    }
    ckpt_est *e = ckpt_est_new(&lin_vt, m, cls);
    m = NULL;
    if (!e)
        goto nomem;
    e->n_features = e->impl ? ((lin_impl *)e->impl)->d : 0;
    e->accepts_csr = 1;
    const lin_impl *mm = e->impl;
    if (mm->W32) {
        e->fit_f32 = 1;
        e->takes_f32 = 1;
        const unsigned char f = mm->b_f32 ? CKPT_RT_F32_FROM32 : 0;
        for (int q = 0; q < CKPT_METHOD__COUNT; q++)
            e->out_f32[q] = f;
    }
    if (is_clf) {
        e->is_clf = 1;
        e->labels = labels;
        memset(&labels, 0, sizeof labels);
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_LABEL, 1);
        ckpt_est_method(e, CKPT_METHOD_DECISION_FUNCTION, CKPT_OUT_F64, mm->k);
        if (mm->proba != LP_NONE) {
            ckpt_est_method(e, CKPT_METHOD_PREDICT_PROBA, CKPT_OUT_F64, e->labels.n);
            ckpt_est_method(e, CKPT_METHOD_PREDICT_LOG_PROBA, CKPT_OUT_F64, e->labels.n);
        }
    } else {
        e->n_outputs = mm->k;
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_F64, mm->k);
    }
    free(icpt.d);
    *out = e;
    return CKPT_OK;
nomem:
    st = ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
fail:
    free(coef.d);
    free(icpt.d);
    ckpt_labels_free(&labels);
    if (m)
        lin_free(m);
    return st;
}

ckpt_status ckpt_rt_build_linear_clf(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    return lin_build(ctx, obj, out, 1);
}

ckpt_status ckpt_rt_build_linear_reg(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    return lin_build(ctx, obj, out, 0);
}
