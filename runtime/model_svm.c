/*
 * model_svm.c - libsvm models as scikit-learn runs them: SVC, NuSVC (one-vs-one
 * votes, decision_function 'ovr' / 'ovo', Platt probabilities with libsvm's
 * pairwise coupling), SVR, NuSVR, OneClassSVM; kernels linear, poly, rbf,
 * sigmoid computed like libsvm (rbf from explicit differences, poly by powi).
 *
 * State (by name): support_vectors_, _dual_coef_ and _intercept_ (libsvm's
 * signs; the public dual_coef_/intercept_ are negated for binary SVC),
 * _n_support (n_support_ before 0.23), _probA/_probB (probA_/probB_ before
 * 1.0), _gamma (or a numeric gamma), kernel, degree, coef0,
 * decision_function_shape, break_ties, offset_ (OneClassSVM).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

typedef enum svm_kind { SVM_CLF, SVM_REG, SVM_ONECLASS } svm_kind;
typedef enum svm_kernel { K_LINEAR, K_POLY, K_RBF, K_SIGMOID } svm_kernel;

typedef struct svm_impl {
    svm_kind kind;
    svm_kernel kernel;
    double gamma, coef0;
    int degree;
    int64_t d, n_sv, n_class;   /* n_class: classifiers, else 2 (one decision) */
    double *sv;                 /* n_sv x d */
    double *svT;                /* rbf: d x n_sv (transposed, for the blocked distances) */
    double *coef;               /* (n_class-1) x n_sv */
    double *rho;                /* n_pairs: -_intercept_ */
    int64_t *start, *count;     /* per class */
    double *probA, *probB;      /* n_pairs or NULL */
    int ovr, break_ties;
    double offset;              /* OneClassSVM offset_ */
} svm_impl;

static void svm_free(void *p)
{
    svm_impl *m = p;
    free(m->sv);
    free(m->svT);
    free(m->coef);
    free(m->rho);
    free(m->start);
    free(m->count);
    free(m->probA);
    free(m->probB);
    free(m);
}

static double powi(double base, int times)
{
    double tmp = base, ret = 1.0;
    for (int t = times; t > 0; t /= 2) {
        if (t % 2 == 1)
            ret *= tmp;
        tmp = tmp * tmp;
    }
    return ret;
}

/* kernel values of x against every support vector */
static void kvalues(const svm_impl *m, const double *x, double *kv)
{
    const int64_t d = m->d;
    if (m->svT) {
        /* rbf: the same squared differences summed in the same order, 16
           support vectors at a time, then exp(-gamma * sum) four at a time */
        int64_t s0 = 0;
        for (; s0 + 16 <= m->n_sv; s0 += 16)
            ckpt_k_sqdist_block16(x, m->svT, m->n_sv, d, s0, kv + s0);
        for (int64_t s = s0; s < m->n_sv; s++) {
            double acc = 0.0;
            for (int64_t c = 0; c < d; c++) {
                double z = x[c] - m->svT[c * m->n_sv + s];
                acc += z * z;
            }
            kv[s] = acc;
        }
        const double ng = -m->gamma;
        for (int64_t s = 0; s < m->n_sv; s++)
            kv[s] = ng * kv[s];
        ckpt_k_exp_inplace(kv, m->n_sv);
        return;
    }
    for (int64_t s = 0; s < m->n_sv; s++) {
        const double *v = m->sv + s * d;
        double acc = 0.0;
        if (m->kernel == K_RBF) {
            for (int64_t c = 0; c < d; c++) {
                double z = x[c] - v[c];
                acc += z * z;
            }
            kv[s] = exp(-m->gamma * acc);
            continue;
        }
        for (int64_t c = 0; c < d; c++)
            acc += x[c] * v[c];
        switch (m->kernel) {
        case K_LINEAR:
            kv[s] = acc;
            break;
        case K_POLY:
            kv[s] = powi(m->gamma * acc + m->coef0, m->degree);
            break;
        default:
            kv[s] = tanh(m->gamma * acc + m->coef0);
            break;
        }
    }
}

/* libsvm svm_predict_values: pairwise decisions (classification) or the
   single decision sum - rho */
static void dec_values(const svm_impl *m, const double *kv, double *dec)
{
    if (m->kind != SVM_CLF) {
        double s = 0;
        for (int64_t i = 0; i < m->n_sv; i++)
            s += m->coef[i] * kv[i];
        dec[0] = s - m->rho[0];
        return;
    }
    int64_t p = 0;
    for (int64_t i = 0; i < m->n_class; i++)
        for (int64_t j = i + 1; j < m->n_class; j++) {
            double s = 0;
            const double *c1 = m->coef + (j - 1) * m->n_sv;
            const double *c2 = m->coef + i * m->n_sv;
            for (int64_t k = 0; k < m->count[i]; k++)
                s += c1[m->start[i] + k] * kv[m->start[i] + k];
            for (int64_t k = 0; k < m->count[j]; k++)
                s += c2[m->start[j] + k] * kv[m->start[j] + k];
            dec[p] = s - m->rho[p];
            p++;
        }
}

static double sigmoid_predict(double dv, double A, double B)
{
    double f = dv * A + B;
    if (f >= 0)
        return exp(-f) / (1.0 + exp(-f));
    return 1.0 / (1 + exp(f));
}

/* libsvm multiclass_probability (Wu, Lin, Weng pairwise coupling); Q is k*k scratch */
static void multiclass_probability(int64_t k, const double *r, double *p, double *Q, double *Qp)
{
    int64_t max_iter = k > 100 ? k : 100;
    double eps = 0.005 / (double)k;
    for (int64_t t = 0; t < k; t++) {
        p[t] = 1.0 / (double)k;
        Q[t * k + t] = 0;
        for (int64_t j = 0; j < t; j++) {
            Q[t * k + t] += r[j * k + t] * r[j * k + t];
            Q[t * k + j] = Q[j * k + t];
        }
        for (int64_t j = t + 1; j < k; j++) {
            Q[t * k + t] += r[j * k + t] * r[j * k + t];
            Q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    for (int64_t iter = 0; iter < max_iter; iter++) {
        double pQp = 0;
        for (int64_t t = 0; t < k; t++) {
            Qp[t] = 0;
            for (int64_t j = 0; j < k; j++)
                Qp[t] += Q[t * k + j] * p[j];
            pQp += p[t] * Qp[t];
        }
        double max_error = 0;
        for (int64_t t = 0; t < k; t++) {
            double e = fabs(Qp[t] - pQp);
            if (e > max_error)
                max_error = e;
        }
        if (max_error < eps)
            break;
        for (int64_t t = 0; t < k; t++) {
            double diff = (-Qp[t] + pQp) / Q[t * k + t];
            p[t] += diff;
            pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
            for (int64_t j = 0; j < k; j++) {
                Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
                p[j] /= (1 + diff);
            }
        }
    }
}

static ckpt_status svm_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                           const ckpt_output *out, ckpt_error *err)
{
    const svm_impl *m = e->impl;
    const int64_t K = m->n_class, np = m->kind == SVM_CLF ? K * (K - 1) / 2 : 1;
    double *kv = ckpt_rt_calloc((uint64_t)m->n_sv + (uint64_t)np + 2 * (uint64_t)K * (uint64_t)K +
                                    2 * (uint64_t)K + 1,
                                sizeof(double));
    int64_t *votes = ckpt_rt_calloc((uint64_t)K + 1, sizeof(int64_t));
    if (!kv || !votes) {
        free(kv);
        free(votes);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    double *dec = kv + m->n_sv, *R = dec + np, *Q = R + K * K, *Qp = Q + K * K, *sc = Qp + K;
    for (int64_t r = 0; r < in->n_rows; r++) {
        kvalues(m, in->dense + r * m->d, kv);
        dec_values(m, kv, dec);
        if (m->kind == SVM_REG) {
            out->values[r] = dec[0];
            continue;
        }
        if (m->kind == SVM_ONECLASS) {
            if (meth == CKPT_METHOD_PREDICT)
                out->labels[r] = dec[0] > 0 ? 1 : -1;
            else if (meth == CKPT_METHOD_DECISION_FUNCTION)
                out->values[r] = dec[0];
            else
                out->values[r] = dec[0] + m->offset;
            continue;
        }
        if (meth == CKPT_METHOD_DECISION_FUNCTION ||
            (meth == CKPT_METHOD_PREDICT && m->break_ties && m->ovr && K > 2)) {
            if (K == 2) {
                if (meth == CKPT_METHOD_DECISION_FUNCTION)
                    out->values[r] = -dec[0];
                continue;
            }
            if (!m->ovr) {
                memcpy(out->values + r * np, dec, (size_t)np * sizeof *dec);
                continue;
            }
            /* sklearn _ovr_decision_function(dec < 0, -dec, K) */
            for (int64_t i = 0; i < K; i++)
                sc[i] = Qp[i] = 0; /* sc: confidences, Qp: votes */
            int64_t p = 0;
            for (int64_t i = 0; i < K; i++)
                for (int64_t j = i + 1; j < K; j++, p++) {
                    sc[i] += dec[p];
                    sc[j] -= dec[p];
                    if (dec[p] < 0)
                        Qp[j] += 1;
                    else
                        Qp[i] += 1;
                }
            double *o = meth == CKPT_METHOD_DECISION_FUNCTION ? out->values + r * K : R;
            for (int64_t i = 0; i < K; i++)
                o[i] = Qp[i] + sc[i] / (3 * (fabs(sc[i]) + 1));
            if (meth == CKPT_METHOD_PREDICT)
                out->labels[r] = ckpt_k_argmax(o, K);
            continue;
        }
        if (meth == CKPT_METHOD_PREDICT) {
            memset(votes, 0, (size_t)K * sizeof *votes);
            int64_t p = 0;
            for (int64_t i = 0; i < K; i++)
                for (int64_t j = i + 1; j < K; j++, p++)
                    votes[dec[p] > 0 ? i : j]++;
            int64_t best = 0;
            for (int64_t i = 1; i < K; i++)
                if (votes[i] > votes[best])
                    best = i;
            out->labels[r] = best;
            continue;
        }
        /* probabilities */
        const double min_prob = 1e-7;
        int64_t p = 0;
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = i + 1; j < K; j++, p++) {
                double q = sigmoid_predict(dec[p], m->probA[p], m->probB[p]);
                q = q < min_prob ? min_prob : q;
                q = q > 1 - min_prob ? 1 - min_prob : q;
                R[i * K + j] = q;
                R[j * K + i] = 1 - q;
            }
        double *P = out->values + r * K;
        multiclass_probability(K, R, P, Q, Qp);
        if (meth == CKPT_METHOD_PREDICT_LOG_PROBA)
            for (int64_t i = 0; i < K; i++)
                P[i] = log(P[i]);
    }
    free(kv);
    free(votes);
    return CKPT_OK;
}

static const ckpt_est_vt svm_vt = {svm_run, svm_free};

static const char *short_name(const char *cls)
{
    const char *d = strrchr(cls, '.');
    return d ? d + 1 : cls;
}

ckpt_status ckpt_rt_build_svm(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    const char *cls = ckpt_value_class(obj);
    const char *sn = short_name(cls);
    ckpt_rt_arr sv = {0}, dual = {0}, icpt = {0}, nsup = {0}, pa = {0}, pb = {0};
    ckpt_labels labels = {0};
    ckpt_status st;
    svm_impl *m = calloc(1, sizeof *m);
    if (!m)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    m->kind = (strcmp(sn, "SVC") == 0 || strcmp(sn, "NuSVC") == 0) ? SVM_CLF
              : strcmp(sn, "OneClassSVM") == 0                     ? SVM_ONECLASS
                                                                   : SVM_REG;
    char kern[32] = "rbf";
    ckpt_rt_attr_str(obj, "kernel", kern, sizeof kern);
    if (strcmp(kern, "linear") == 0)
        m->kernel = K_LINEAR;
    else if (strcmp(kern, "poly") == 0)
        m->kernel = K_POLY;
    else if (strcmp(kern, "rbf") == 0)
        m->kernel = K_RBF;
    else if (strcmp(kern, "sigmoid") == 0)
        m->kernel = K_SIGMOID;
    else {
        st = ckpt_rt_fail(ctx, obj, "kernel '%s' is not supported (precomputed or callable)",
                          kern);
        goto fail;
    }
    if (ckpt_rt_attr_bool(obj, "_sparse", 0)) {
        st = ckpt_rt_fail(ctx, obj, "SVMs fitted on sparse data are not supported");
        goto fail;
    }
    if (ckpt_rt_attr_f64(ctx, obj, "_gamma", &m->gamma) &&
        ckpt_rt_attr_f64(ctx, obj, "gamma", &m->gamma)) {
        st = ckpt_rt_fail(ctx, obj, "no numeric _gamma / gamma");
        goto fail;
    }
    int64_t deg = 3;
    ckpt_rt_attr_i64(ctx, obj, "degree", &deg);
    if (deg < 0 || deg > 1000) {
        st = ckpt_rt_fail(ctx, obj, "degree %lld", (long long)deg);
        goto fail;
    }
    m->degree = (int)deg;
    m->coef0 = 0;
    ckpt_rt_attr_f64(ctx, obj, "coef0", &m->coef0);
    if ((st = ckpt_rt_arr_attr(ctx, obj, "support_vectors_", &sv)) != CKPT_OK)
        goto fail;
    const char *dn = ckpt_value_attr(obj, "_dual_coef_") ? "_dual_coef_" : "dual_coef_";
    if ((st = ckpt_rt_arr_attr(ctx, obj, dn, &dual)) != CKPT_OK)
        goto fail;
    const char *in_ = ckpt_value_attr(obj, "_intercept_") ? "_intercept_" : "intercept_";
    if ((st = ckpt_rt_arr_attr(ctx, obj, in_, &icpt)) != CKPT_OK)
        goto fail;
    if (sv.ndim != 2 || dual.ndim != 2 || sv.shape[0] != dual.shape[1]) {
        st = ckpt_rt_fail(ctx, obj, "support_vectors_ / dual_coef_ shapes disagree");
        goto fail;
    }
    m->n_sv = sv.shape[0];
    m->d = sv.shape[1];
    m->sv = sv.d;
    sv.d = NULL;
    if (m->kernel == K_RBF && m->n_sv > 0) {
        m->svT = ckpt_rt_calloc((uint64_t)m->n_sv * (uint64_t)m->d + 1, sizeof(double));
        if (!m->svT) {
            st = ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
            goto fail;
        }
        for (int64_t s = 0; s < m->n_sv; s++)
            for (int64_t c = 0; c < m->d; c++)
                m->svT[c * m->n_sv + s] = m->sv[s * m->d + c];
    }
    m->coef = dual.d;
    dual.d = NULL;
    if (m->kind == SVM_CLF) {
        if ((st = ckpt_rt_labels(ctx, ckpt_value_attr(obj, "classes_"), &labels)) != CKPT_OK)
            goto fail;
        m->n_class = labels.n;
    } else {
        m->n_class = 2;
    }
    int64_t K = m->n_class, np = m->kind == SVM_CLF ? K * (K - 1) / 2 : 1;
    if (K < 2 || dual.shape[0] != K - 1 || (int64_t)icpt.n != np) {
        st = ckpt_rt_fail(ctx, obj, "%lld classes, but dual_coef_ has %lld rows and intercept %llu",
                          (long long)K, (long long)dual.shape[0], (unsigned long long)icpt.n);
        goto fail;
    }
    m->rho = icpt.d;
    icpt.d = NULL;
    for (int64_t p = 0; p < np; p++)
        m->rho[p] = -m->rho[p];
    m->start = ckpt_rt_calloc((uint64_t)K, sizeof(int64_t));
    m->count = ckpt_rt_calloc((uint64_t)K, sizeof(int64_t));
    if (!m->start || !m->count)
        goto nomem;
    if (m->kind == SVM_CLF) {
        const char *nn = ckpt_value_attr(obj, "_n_support") ? "_n_support" : "n_support_";
        if ((st = ckpt_rt_arr_attr(ctx, obj, nn, &nsup)) != CKPT_OK)
            goto fail;
        if ((int64_t)nsup.n != K) {
            st = ckpt_rt_fail(ctx, obj, "n_support has %llu entries for %lld classes",
                              (unsigned long long)nsup.n, (long long)K);
            goto fail;
        }
        int64_t acc = 0;
        for (int64_t i = 0; i < K; i++) {
            double c = nsup.d[i];
            if (!(c >= 0 && c <= (double)m->n_sv) || c != floor(c) || acc + (int64_t)c > m->n_sv) {
                st = ckpt_rt_fail(ctx, obj, "n_support does not add up to the support vectors");
                goto fail;
            }
            m->start[i] = acc;
            m->count[i] = (int64_t)c;
            acc += (int64_t)c;
        }
        if (acc != m->n_sv) {
            st = ckpt_rt_fail(ctx, obj, "n_support does not add up to the support vectors");
            goto fail;
        }
        const char *an = ckpt_value_attr(obj, "_probA") ? "_probA" : "probA_";
        const char *bn = ckpt_value_attr(obj, "_probB") ? "_probB" : "probB_";
        if (ckpt_value_attr(obj, an) && ckpt_value_attr(obj, bn)) {
            if ((st = ckpt_rt_arr_attr(ctx, obj, an, &pa)) != CKPT_OK ||
                (st = ckpt_rt_arr_attr(ctx, obj, bn, &pb)) != CKPT_OK)
                goto fail;
            if ((int64_t)pa.n == np && (int64_t)pb.n == np) {
                m->probA = pa.d;
                m->probB = pb.d;
                pa.d = pb.d = NULL;
            }
        }
        char shape[8] = "ovr";
        ckpt_rt_attr_str(obj, "decision_function_shape", shape, sizeof shape);
        m->ovr = strcmp(shape, "ovo") != 0;
        m->break_ties = ckpt_rt_attr_bool(obj, "break_ties", 0);
    } else {
        m->count[0] = m->n_sv;
        m->count[1] = 0;
        if (m->kind == SVM_ONECLASS && ckpt_rt_attr_f64(ctx, obj, "offset_", &m->offset))
            m->offset = m->rho[0]; /* offset_ = -intercept_ = rho */
    }
    free(nsup.d);
    free(pa.d);
    free(pb.d);
    ckpt_est *e = ckpt_est_new(&svm_vt, m, cls);
    if (!e) {
        ckpt_labels_free(&labels);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    e->n_features = m->d;
    if (m->kind == SVM_CLF) {
        e->is_clf = 1;
        e->labels = labels;
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_LABEL, 1);
        ckpt_est_method(e, CKPT_METHOD_DECISION_FUNCTION, CKPT_OUT_F64,
                        K == 2 ? 1 : m->ovr ? K : np);
        if (m->probA) {
            ckpt_est_method(e, CKPT_METHOD_PREDICT_PROBA, CKPT_OUT_F64, K);
            ckpt_est_method(e, CKPT_METHOD_PREDICT_LOG_PROBA, CKPT_OUT_F64, K);
        }
    } else if (m->kind == SVM_ONECLASS) {
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_INT, 1);
        ckpt_est_method(e, CKPT_METHOD_DECISION_FUNCTION, CKPT_OUT_F64, 1);
        ckpt_est_method(e, CKPT_METHOD_SCORE_SAMPLES, CKPT_OUT_F64, 1);
    } else {
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_F64, 1);
    }
    *out = e;
    return CKPT_OK;
nomem:
    st = ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
fail:
    free(sv.d);
    free(dual.d);
    free(icpt.d);
    free(nsup.d);
    free(pa.d);
    free(pb.d);
    ckpt_labels_free(&labels);
    svm_free(m);
    return st;
}
