/*
 * model_layers.c - torch layer stacks: a sequence of Linear layers read from
 * a state_dict (`<prefix>.weight` out x in, optional `<prefix>.bias`) with an
 * activation after each, given as a spec "net.0:relu,net.2:tanh,net.4".
 * float16 / bfloat16 / float32 weights are widened to float64 exactly; the
 * arithmetic is float64 (PyTorch's float32 results agree to ~1e-6).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define CKPT_RT_MAX_LAYER_SPEC 4096   /* bytes of a spec */
#define CKPT_RT_MAX_STACK 256         /* layers in a stack */

typedef enum lact { L_IDENTITY, L_RELU, L_GELU, L_TANH, L_SIGMOID, L_SOFTMAX } lact;

typedef struct layers_impl {
    int64_t nl, maxw;
    double **W, **b;
    int64_t *in, *outw;
    lact *act;
} layers_impl;

static void layers_free(void *p)
{
    layers_impl *m = p;
    for (int64_t i = 0; m->W && i < m->nl; i++) {
        free(m->W[i]);
        free(m->b[i]);
    }
    free(m->W);
    free(m->b);
    free(m->in);
    free(m->outw);
    free(m->act);
    free(m);
}

static ckpt_status layers_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                              const ckpt_output *out, ckpt_error *err)
{
    const layers_impl *m = e->impl;
    (void)meth;
    const int64_t chunk = CKPT_RT_CHUNK_ROWS, n = in->n_rows;
    int64_t cn = n < chunk ? n : chunk;
    double *A = ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, sizeof(double));
    double *B = ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, sizeof(double));
    if (!A || !B) {
        free(A);
        free(B);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    const int64_t ow = m->outw[m->nl - 1];
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t nn = n - r0 < chunk ? n - r0 : chunk;
        const double *src = in->dense + r0 * m->in[0];
        double *dst = A;
        for (int64_t l = 0; l < m->nl; l++) {
            const int64_t w = m->outw[l];
            ckpt_k_gemm_nt(src, nn, m->in[l], m->W[l], w, m->b[l], dst);
            int64_t t = nn * w;
            switch (m->act[l]) {
            case L_RELU:
                for (int64_t i = 0; i < t; i++)
                    dst[i] = dst[i] > 0 ? dst[i] : 0.0;
                break;
            case L_GELU:
                for (int64_t i = 0; i < t; i++)
                    dst[i] = 0.5 * dst[i] * (1.0 + erf(dst[i] / sqrt(2.0)));
                break;
            case L_TANH:
                for (int64_t i = 0; i < t; i++)
                    dst[i] = tanh(dst[i]);
                break;
            case L_SIGMOID:
                for (int64_t i = 0; i < t; i++)
                    dst[i] = ckpt_k_expit(dst[i]);
                break;
            case L_SOFTMAX:
                for (int64_t r = 0; r < nn; r++)
                    ckpt_k_softmax(dst + r * w, w);
                break;
            default:
                break;
            }
            src = dst;
            dst = dst == A ? B : A;
        }
        memcpy(out->values + r0 * ow, src, (size_t)(nn * ow) * sizeof(double));
    }
    free(A);
    free(B);
    return CKPT_OK;
}

static const ckpt_est_vt layers_vt = {layers_run, layers_free};

/* `<prefix>.<what>` as float64; want_ndim 2 (weight) or 1 (bias). */
static ckpt_status read_param(ckpt_file *f, const char *prefix, const char *what, int want_ndim,
                              int optional, double **out, int64_t shape[2], ckpt_error *err)
{
    char path[CKPT_RT_MAX_LAYER_SPEC + 16];
    snprintf(path, sizeof path, "%s.%s", prefix, what);
    *out = NULL;
    size_t idx;
    if (ckpt_file_find_array(f, path, &idx) != CKPT_OK) {
        if (optional)
            return CKPT_OK;
        ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: no tensor '%s'", path);
        ckpt_error_member(err, path);
        return CKPT_E_MODEL;
    }
    const ckpt_array_info *a = ckpt_file_array(f, idx);
    ckpt_dtype t = a->dtype->type;
    if (t != CKPT_DT_FLOAT16 && t != CKPT_DT_BFLOAT16 && t != CKPT_DT_FLOAT32 &&
        t != CKPT_DT_FLOAT64)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: '%s' has dtype %s", path,
                              ckpt_dtype_name(t));
    if ((int)a->ndim != want_ndim)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: '%s' has %u dimensions", path,
                              a->ndim);
    if (a->nelems > CKPT_RT_MAX_ELEMS)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: '%s' too large", path);
    const void *data;
    ckpt_status st = ckpt_array_data(f, idx, &data, err);
    if (st != CKPT_OK)
        return st;
    double *d = ckpt_rt_calloc(a->nelems + 1, sizeof(double));
    if (!d)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    for (uint64_t i = 0; i < a->nelems; i++)
        d[i] = ckpt_array_get_f64(f, idx, i);
    shape[0] = a->shape[0];
    shape[1] = want_ndim == 2 ? a->shape[1] : 1;
    *out = d;
    return CKPT_OK;
}

ckpt_status ckpt_model_build_layers(ckpt_file *f, const char *spec, const ckpt_model_opts *opts,
                                    ckpt_model **out, ckpt_error *err)
{
    if (!out)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "out is NULL");
    *out = NULL;
    if (!f || !spec || !*spec)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: file and spec are required");
    size_t sl = strlen(spec);
    if (sl >= CKPT_RT_MAX_LAYER_SPEC)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: spec longer than %d bytes",
                              CKPT_RT_MAX_LAYER_SPEC);
    layers_impl *m = calloc(1, sizeof *m);
    if (!m)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    m->W = calloc(CKPT_RT_MAX_STACK, sizeof *m->W);
    m->b = calloc(CKPT_RT_MAX_STACK, sizeof *m->b);
    m->in = calloc(CKPT_RT_MAX_STACK, sizeof *m->in);
    m->outw = calloc(CKPT_RT_MAX_STACK, sizeof *m->outw);
    m->act = calloc(CKPT_RT_MAX_STACK, sizeof *m->act);
    ckpt_status st = CKPT_OK;
    if (!m->W || !m->b || !m->in || !m->outw || !m->act) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        goto fail;
    }
    char buf[CKPT_RT_MAX_LAYER_SPEC];
    memcpy(buf, spec, sl + 1);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        if (m->nl >= CKPT_RT_MAX_STACK) {
            st = ckpt_error_set(err, CKPT_E_LIMIT, -1, "layer stack: more than %d layers",
                                CKPT_RT_MAX_STACK);
            goto fail;
        }
        char *colon = strchr(item, ':');
        lact a = L_IDENTITY;
        if (colon) {
            *colon = 0;
            const char *an = colon + 1;
            static const char *const names[] = {"identity", "relu", "gelu", "tanh", "sigmoid",
                                                "softmax"};
            int found = 0;
            for (int k = 0; k < 6; k++)
                if (strcmp(an, names[k]) == 0) {
                    a = (lact)k;
                    found = 1;
                }
            if (!found) {
                st = ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: unknown activation '%s'",
                                    an);
                goto fail;
            }
        }
        if (!*item) {
            st = ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: empty layer name in spec");
            goto fail;
        }
        int64_t ws[2], bs[2];
        int64_t l = m->nl;
        st = read_param(f, item, "weight", 2, 0, &m->W[l], ws, err);
        if (st == CKPT_OK)
            st = read_param(f, item, "bias", 1, 1, &m->b[l], bs, err);
        m->nl++;
        if (st != CKPT_OK)
            goto fail;
        m->outw[l] = ws[0];
        m->in[l] = ws[1];
        m->act[l] = a;
        if (ws[0] < 1 || ws[1] < 1 || (m->b[l] && bs[0] != ws[0]) ||
            (l > 0 && m->in[l] != m->outw[l - 1])) {
            st = ckpt_error_set(err, CKPT_E_MODEL, -1,
                                "layer stack: '%s' (%lld x %lld) does not follow the previous layer",
                                item, (long long)ws[0], (long long)ws[1]);
            goto fail;
        }
        if (ws[0] > m->maxw)
            m->maxw = ws[0];
    }
    if (m->nl == 0) {
        st = ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: no layers in spec");
        goto fail;
    }
    ckpt_est *e = ckpt_est_new(&layers_vt, m, "torch.layers");
    if (!e)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    e->n_features = m->in[0];
    e->n_outputs = m->outw[m->nl - 1];
    ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_F64, e->n_outputs);
    return ckpt_model_wrap(e, opts, out, err);
fail:
    layers_free(m);
    return st;
}
