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
} lin_impl;

static void lin_free(void *p)
{
    lin_impl *m = p;
    free(m->W);
    free(m->b);
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

static ckpt_status lin_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                           const ckpt_output *out, ckpt_error *err)
{
    const lin_impl *m = e->impl;
    const int64_t n = in->n_rows;
    const int64_t K = e->labels.n;
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
                       (labels.n <= 2 || strcmp(solver, "liblinear") == 0));
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
    ckpt_est *e = ckpt_est_new(&lin_vt, m, cls);
    m = NULL;
    if (!e)
        goto nomem;
    e->n_features = e->impl ? ((lin_impl *)e->impl)->d : 0;
    e->accepts_csr = 1;
    const lin_impl *mm = e->impl;
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
