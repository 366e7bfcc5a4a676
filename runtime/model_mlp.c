/*
 * model_mlp.c - MLPClassifier / MLPRegressor: coefs_[i] (n_in x n_out),
 * intercepts_[i]; hidden `activation` identity / logistic / tanh / relu,
 * out_activation_ identity / logistic / softmax.  Binary classifiers predict
 * classes_[p > 0.5] (LabelBinarizer's threshold), multiclass the first argmax.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define CKPT_RT_MAX_LAYERS 1024

typedef enum act { A_IDENTITY, A_LOGISTIC, A_TANH, A_RELU, A_SOFTMAX } act;

typedef struct mlp_impl {
    int64_t nl;             /* weight layers */
    double **W, **b;
    int64_t *in, *outw;     /* layer widths */
    int64_t maxw;
    act hidden, outa;
    int is_clf, binary;
    /* every coefs_[i] float32 (fitted on float32): float32 rows run the whole
       forward pass in float32; intercepts_ are added in place (a float64
       intercept array is added in float64 and rounded back, as NumPy's
       in-place += does) */
    float **W32, **b32;
    int *b_f64;
} mlp_impl;

static void mlp_free(void *p)
{
    mlp_impl *m = p;
    for (int64_t i = 0; m->W && i < m->nl; i++) {
        free(m->W[i]);
        free(m->b[i]);
    }
    for (int64_t i = 0; m->W32 && i < m->nl; i++) {
        free(m->W32[i]);
        free(m->b32[i]);
    }
    free(m->W32);
    free(m->b32);
    free(m->b_f64);
    free(m->W);
    free(m->b);
    free(m->in);
    free(m->outw);
    free(m);
}

static void apply_act(act a, double *x, int64_t n, int64_t w)
{
    int64_t t = n * w;
    switch (a) {
    case A_LOGISTIC:
        for (int64_t i = 0; i < t; i++)
            x[i] = ckpt_k_expit(x[i]);
        break;
    case A_TANH:
        for (int64_t i = 0; i < t; i++)
            x[i] = tanh(x[i]);
        break;
    case A_RELU:
        for (int64_t i = 0; i < t; i++)
            x[i] = x[i] > 0 ? x[i] : 0.0;
        break;
    case A_SOFTMAX:
        for (int64_t r = 0; r < n; r++)
            ckpt_k_softmax(x + r * w, w);
        break;
    default:
        break;
    }
}

/* float32 activations, as scikit-learn applies them to a float32 array:
   scipy's expit (1 / (1 + expf(-x))), np.tanh (NumPy's own float32 tanh),
   np.maximum(x, 0), and
   inplace_softmax (x - max, NumPy's exp, / pairwise row sum). */
static void apply_act_f32(act a, float *x, int64_t n, int64_t w)
{
    int64_t t = n * w;
    switch (a) {
    case A_LOGISTIC:
        for (int64_t i = 0; i < t; i++)
            x[i] = ckpt_k_expitf(x[i]);
        break;
    case A_TANH:
        for (int64_t i = 0; i < t; i++)
            x[i] = ckpt_k_nptanhf(x[i]);
        break;
    case A_RELU:
        for (int64_t i = 0; i < t; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case A_SOFTMAX:
        for (int64_t r = 0; r < n; r++)
            ckpt_k_softmaxf(x + r * w, w);
        break;
    default:
        break;
    }
}

#define MLP_STACK_DOUBLES 512 /* per scratch buffer: 4 KiB */

static ckpt_status mlp_run_f32(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                               const ckpt_output *out, ckpt_error *err)
{
    const mlp_impl *m = e->impl;
    const int64_t chunk = CKPT_RT_CHUNK_ROWS;
    const int64_t n = in->n_rows;
    int64_t cn = n < chunk ? n : chunk;
    float sa[MLP_STACK_DOUBLES], sb[MLP_STACK_DOUBLES];
    const int on_stack = (uint64_t)cn * (uint64_t)m->maxw <= MLP_STACK_DOUBLES;
    float *A = on_stack ? sa : ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, sizeof(float));
    float *B = on_stack ? sb : ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, sizeof(float));
    if (!A || !B) {
        if (!on_stack) {
            free(A);
            free(B);
        }
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    const int64_t ow = m->outw[m->nl - 1];
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t nn = n - r0 < chunk ? n - r0 : chunk;
        const float *src = in->dense32 + r0 * m->in[0];
        float *dst = A;
        for (int64_t l = 0; l < m->nl; l++) {
            const int64_t w = m->outw[l];
            ckpt_k_sgemm_nn(src, nn, m->in[l], m->W32[l], w, m->b_f64[l] ? NULL : m->b32[l], dst);
            if (m->b_f64[l])
                for (int64_t r = 0; r < nn; r++)
                    for (int64_t j = 0; j < w; j++)
                        dst[r * w + j] = (float)((double)dst[r * w + j] + m->b[l][j]);
            apply_act_f32(l + 1 < m->nl ? m->hidden : m->outa, dst, nn, w);
            src = dst;
            dst = dst == A ? B : A;
        }
        const float *y = src;
        if (!m->is_clf) {
            for (int64_t i = 0; i < nn * ow; i++)
                out->values[r0 * ow + i] = (double)y[i];
            continue;
        }
        for (int64_t r = 0; r < nn; r++) {
            const float *yr = y + r * ow;
            if (meth == CKPT_METHOD_PREDICT) {
                int64_t best = 0;
                if (m->binary) {
                    best = yr[0] > 0.5f ? 1 : 0;
                } else {
                    for (int64_t k = 1; k < ow; k++)
                        if (yr[k] > yr[best])
                            best = k;
                }
                out->labels[r0 + r] = best;
                continue;
            }
            const int64_t K = e->labels.n;
            const int lg = meth == CKPT_METHOD_PREDICT_LOG_PROBA;
            double *P = out->values + (r0 + r) * K;
            if (m->binary) {
                const float p0 = 1.0f - yr[0];
                P[0] = lg ? (double)ckpt_k_nplogf(p0) : (double)p0;
                P[1] = lg ? (double)ckpt_k_nplogf(yr[0]) : (double)yr[0];
            } else {
                for (int64_t k = 0; k < K; k++)
                    P[k] = lg ? (double)ckpt_k_nplogf(yr[k]) : (double)yr[k];
            }
        }
    }
    if (!on_stack) {
        free(A);
        free(B);
    }
    return CKPT_OK;
}

static ckpt_status mlp_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                           const ckpt_output *out, ckpt_error *err)
{
    const mlp_impl *m = e->impl;
    if (!in->dense && in->dense32 && m->W32)
        return mlp_run_f32(e, meth, in, out, err);
    const int64_t chunk = CKPT_RT_CHUNK_ROWS;
    const int64_t n = in->n_rows;
    int64_t cn = n < chunk ? n : chunk;
    /* small calls (one row, narrow layers) use the stack: no allocation */
    double sa[MLP_STACK_DOUBLES], sb[MLP_STACK_DOUBLES];
    const int on_stack = (uint64_t)cn * (uint64_t)m->maxw <= MLP_STACK_DOUBLES;
    double *A = on_stack ? sa : ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, sizeof(double));
    double *B = on_stack ? sb : ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, sizeof(double));
    if (!A || !B) {
        if (!on_stack) {
            free(A);
            free(B);
        }
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    const int64_t ow = m->outw[m->nl - 1];
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t nn = n - r0 < chunk ? n - r0 : chunk;
        const double *src = in->dense + r0 * m->in[0];
        double *dst = A;
        for (int64_t l = 0; l < m->nl; l++) {
            ckpt_k_gemm_nn(src, nn, m->in[l], m->W[l], m->outw[l], m->b[l], dst);
            apply_act(l + 1 < m->nl ? m->hidden : m->outa, dst, nn, m->outw[l]);
            src = dst;
            dst = dst == A ? B : A;
        }
        const double *y = src;
        if (!m->is_clf) {
            memcpy(out->values + r0 * ow, y, (size_t)(nn * ow) * sizeof(double));
            continue;
        }
        for (int64_t r = 0; r < nn; r++) {
            const double *yr = y + r * ow;
            if (meth == CKPT_METHOD_PREDICT) {
                out->labels[r0 + r] = m->binary ? (yr[0] > 0.5 ? 1 : 0) : ckpt_k_argmax(yr, ow);
                continue;
            }
            int64_t K = e->labels.n;
            double *P = out->values + (r0 + r) * K;
            if (m->binary) {
                P[0] = 1.0 - yr[0];
                P[1] = yr[0];
            } else {
                memcpy(P, yr, (size_t)K * sizeof(double));
            }
            if (meth == CKPT_METHOD_PREDICT_LOG_PROBA)
                for (int64_t k = 0; k < K; k++)
                    P[k] = log(P[k]);
        }
    }
    if (!on_stack) {
        free(A);
        free(B);
    }
    return CKPT_OK;
}

static const ckpt_est_vt mlp_vt = {mlp_run, mlp_free};

static int parse_act(const char *s, act *a)
{
    static const char *const names[] = {"identity", "logistic", "tanh", "relu", "softmax"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *a = (act)i;
            return 0;
        }
    return -1;
}

ckpt_status ckpt_rt_build_mlp(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    const char *cls = ckpt_value_class(obj);
    const ckpt_value *cw = ckpt_value_attr(obj, "coefs_");
    const ckpt_value *cb = ckpt_value_attr(obj, "intercepts_");
    if (ckpt_value_kind(cw) != CKPT_K_LIST || ckpt_value_kind(cb) != CKPT_K_LIST ||
        ckpt_value_len(cw) != ckpt_value_len(cb) || ckpt_value_len(cw) == 0 ||
        ckpt_value_len(cw) > CKPT_RT_MAX_LAYERS)
        return ckpt_rt_fail(ctx, obj, "coefs_ / intercepts_ are not matching lists");
    mlp_impl *m = calloc(1, sizeof *m);
    ckpt_labels labels = {0};
    ckpt_status st = CKPT_OK;
    if (!m)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    m->nl = (int64_t)ckpt_value_len(cw);
    m->W = calloc((size_t)m->nl, sizeof *m->W);
    m->b = calloc((size_t)m->nl, sizeof *m->b);
    m->in = calloc((size_t)m->nl, sizeof *m->in);
    m->outw = calloc((size_t)m->nl, sizeof *m->outw);
    if (!m->W || !m->b || !m->in || !m->outw)
        goto nomem;
    int all_f32 = 1;
    m->b_f64 = calloc((size_t)m->nl, sizeof *m->b_f64);
    if (!m->b_f64)
        goto nomem;
    for (int64_t l = 0; l < m->nl; l++) {
        ckpt_rt_arr w, b;
        if ((st = ckpt_rt_arr_value(ctx, ckpt_value_item(cw, (size_t)l), "coefs_", &w)) != CKPT_OK)
            goto fail;
        if ((st = ckpt_rt_arr_value(ctx, ckpt_value_item(cb, (size_t)l), "intercepts_", &b)) !=
            CKPT_OK) {
            free(w.d);
            goto fail;
        }
        m->W[l] = w.d;
        m->b[l] = b.d;
        if (w.ndim != 2 || (int64_t)b.n != w.shape[1] || (l > 0 && w.shape[0] != m->outw[l - 1])) {
            st = ckpt_rt_fail(ctx, obj, "layer %lld: coefs_ / intercepts_ shapes disagree",
                              (long long)l);
            goto fail;
        }
        all_f32 &= w.dtype == CKPT_DT_FLOAT32;
        m->b_f64[l] = !ckpt_rt_keeps_f32(&b);
        m->in[l] = w.shape[0];
        m->outw[l] = w.shape[1];
        if (m->outw[l] > m->maxw)
            m->maxw = m->outw[l];
    }
    if (all_f32) {
        m->W32 = calloc((size_t)m->nl, sizeof *m->W32);
        m->b32 = calloc((size_t)m->nl, sizeof *m->b32);
        if (!m->W32 || !m->b32)
            goto nomem;
        for (int64_t l = 0; l < m->nl; l++) {
            ckpt_rt_arr w = {0}, b = {0};
            w.d = m->W[l];
            w.n = (uint64_t)m->in[l] * (uint64_t)m->outw[l];
            b.d = m->b[l];
            b.n = (uint64_t)m->outw[l];
            m->W32[l] = ckpt_rt_to_f32(&w);
            m->b32[l] = ckpt_rt_to_f32(&b);
            if (!m->W32[l] || !m->b32[l])
                goto nomem;
        }
    }
    char s[32] = "relu";
    ckpt_rt_attr_str(obj, "activation", s, sizeof s);
    if (parse_act(s, &m->hidden) || m->hidden == A_SOFTMAX) {
        st = ckpt_rt_fail(ctx, obj, "activation '%s'", s);
        goto fail;
    }
    strcpy(s, "identity");
    ckpt_rt_attr_str(obj, "out_activation_", s, sizeof s);
    if (parse_act(s, &m->outa)) {
        st = ckpt_rt_fail(ctx, obj, "out_activation_ '%s'", s);
        goto fail;
    }
    const char *dot = strrchr(cls, '.');
    m->is_clf = strcmp(dot ? dot + 1 : cls, "MLPClassifier") == 0;
    int64_t ow = m->outw[m->nl - 1];
    if (m->is_clf) {
        const ckpt_value *cv = ckpt_value_attr(obj, "classes_");
        if (!cv)
            cv = ckpt_value_attr(ckpt_value_attr(obj, "_label_binarizer"), "classes_");
        if ((st = ckpt_rt_labels(ctx, cv, &labels)) != CKPT_OK)
            goto fail;
        char yt[32] = "";
        ckpt_rt_attr_str(ckpt_value_attr(obj, "_label_binarizer"), "y_type_", yt, sizeof yt);
        if (strncmp(yt, "multilabel", 10) == 0) {
            st = ckpt_rt_fail(ctx, obj, "multilabel MLPClassifier is not supported");
            goto fail;
        }
        if (labels.n == 2 && ow == 1)
            m->binary = 1;
        else if (labels.n != ow) {
            st = ckpt_rt_fail(ctx, obj, "%lld classes but %lld outputs", (long long)labels.n,
                              (long long)ow);
            goto fail;
        }
    }
    ckpt_est *e = ckpt_est_new(&mlp_vt, m, cls);
    if (!e) {
        ckpt_labels_free(&labels);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    e->n_features = m->in[0];
    if (m->W32) {
        /* the forward pass stays in X's dtype: float32 rows give float32 */
        e->fit_f32 = 1;
        e->takes_f32 = 1;
        for (int q = 0; q < CKPT_METHOD__COUNT; q++)
            e->out_f32[q] = CKPT_RT_F32_FROM32;
    }
    if (m->is_clf) {
        e->is_clf = 1;
        e->labels = labels;
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_LABEL, 1);
        ckpt_est_method(e, CKPT_METHOD_PREDICT_PROBA, CKPT_OUT_F64, e->labels.n);
        ckpt_est_method(e, CKPT_METHOD_PREDICT_LOG_PROBA, CKPT_OUT_F64, e->labels.n);
    } else {
        e->n_outputs = ow;
        ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_F64, ow);
    }
    *out = e;
    return CKPT_OK;
nomem:
    st = ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
fail:
    ckpt_labels_free(&labels);
    mlp_free(m);
    return st;
}
