/*
 * model_preproc.c - transformers: StandardScaler, MinMaxScaler, MaxAbsScaler,
 * RobustScaler, Normalizer, PolynomialFeatures, SimpleImputer, OneHotEncoder
 * and OrdinalEncoder (numeric categories), PCA (whiten), TruncatedSVD.
 * Arithmetic in scikit-learn's order (subtract then divide, products left
 * to right), state read by attribute name.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define CKPT_RT_MAX_POLY_OUT ((int64_t)1 << 24)

typedef enum pp_kind {
    PP_STANDARD, PP_MINMAX, PP_MAXABS, PP_ROBUST, PP_NORMALIZER, PP_POLY, PP_IMPUTER,
    PP_ONEHOT, PP_ORDINAL, PP_PCA, PP_TSVD
} pp_kind;

typedef struct pp_impl {
    pp_kind kind;
    int64_t d, out_d;
    double *a, *b;          /* per-feature: mean/center/min/stat ; scale */
    int has_a, has_b;
    double lo, hi;          /* MinMaxScaler clip range */
    int clip;
    int norm;               /* Normalizer: 1 l1, 2 l2, 3 max */
    /* PolynomialFeatures: out_d terms of terms_len[t] indices */
    int64_t *term_off;      /* out_d + 1 */
    int64_t *term_idx;
    /* SimpleImputer */
    double missing;         /* NaN means NaN */
    int64_t *keep;          /* kept input columns (out_d) */
    /* encoders */
    double **cats;          /* per feature sorted categories */
    int64_t *ncat;
    int64_t *col0;          /* first output column of feature j */
    int64_t *drop;          /* category index dropped per feature, -1 none */
    int ignore_unknown;     /* onehot 'ignore' / ordinal use_encoded_value */
    double unknown_value;
    int sparse_out;
    /* PCA / SVD */
    double *W;              /* out_d x d */
    /* float32 PCA / TruncatedSVD (components_ float32, mean_ keeping
       float32): W32, a32 (mean), b32 (np.sqrt(explained_variance_) in
       float32, or b_f64: divide in float64 and round, as NumPy's in-place /=) */
    float *W32, *a32, *b32;
    int b_f64;
} pp_impl;

static void pp_free(void *p)
{
    pp_impl *m = p;
    free(m->a);
    free(m->b);
    free(m->term_off);
    free(m->term_idx);
    free(m->keep);
    if (m->cats)
        for (int64_t j = 0; j < m->d; j++)
            free(m->cats[j]);
    free(m->cats);
    free(m->ncat);
    free(m->col0);
    free(m->drop);
    free(m->W);
    free(m->W32);
    free(m->a32);
    free(m->b32);
    free(m);
}

/* index of x in sorted cats (exact match, NaN matches NaN), -1 if absent */
static int64_t find_cat(const double *c, int64_t n, double x)
{
    if (x != x)
        return n > 0 && c[n - 1] != c[n - 1] ? n - 1 : -1;
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && c[lo] == x ? lo : -1;
}

static ckpt_status grow_csr(ckpt_csr *o, size_t need)
{
    if (need <= o->cap)
        return CKPT_OK;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < need)
        cap *= 2;
    int64_t *ni = realloc(o->indices, cap * sizeof *ni);
    if (!ni)
        return CKPT_E_NOMEM;
    o->indices = ni;
    double *nd = realloc(o->data, cap * sizeof *nd);
    if (!nd)
        return CKPT_E_NOMEM;
    o->data = nd;
    o->cap = cap;
    return CKPT_OK;
}

/* float32 rows, the way scikit-learn 1.2 transforms a float32 array: every
   in-place operation on X's float32 copy is one NumPy ufunc call (computed in
   float64 when the fitted array is float64, then rounded to float32; for a
   float32 operand the result is the same correctly rounded float32), so each
   step rounds to float32. */
static ckpt_status pp_run_f32(const ckpt_est *e, const ckpt_input *in, const ckpt_output *out,
                              ckpt_error *err)
{
    const pp_impl *m = e->impl;
    const int64_t n = in->n_rows, d = m->d, od = m->out_d;
    const float *X = in->dense32;
    if (m->kind == PP_PCA || m->kind == PP_TSVD) {
        /* X - mean_ (float32), X @ components_.T (sgemm), /= sqrt(ev) */
        float *src = ckpt_rt_calloc((uint64_t)n * (uint64_t)d + 1, sizeof(float));
        float *dst = ckpt_rt_calloc((uint64_t)n * (uint64_t)od + 1, sizeof(float));
        if (!src || !dst) {
            free(src);
            free(dst);
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        }
        for (int64_t i = 0; i < n * d; i++)
            src[i] = m->a32 ? X[i] - m->a32[i % d] : X[i];
        ckpt_k_sgemm_nt(src, n, d, m->W32, od, NULL, dst);
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < od; j++) {
                float v = dst[r * od + j];
                if (m->b32)
                    v = v / m->b32[j];
                else if (m->b_f64)
                    v = (float)((double)v / m->b[j]);
                out->values[r * od + j] = (double)v;
            }
        free(src);
        free(dst);
        return CKPT_OK;
    }
    for (int64_t r = 0; r < n; r++) {
        const float *x = X + r * d;
        double *o = out->values + r * od;
        switch (m->kind) {
        case PP_STANDARD:
        case PP_ROBUST:
            for (int64_t c = 0; c < d; c++) {
                float v = x[c];
                if (m->has_a)
                    v = (float)((double)v - m->a[c]);
                if (m->has_b)
                    v = (float)((double)v / m->b[c]);
                o[c] = (double)v;
            }
            break;
        case PP_MINMAX:
            for (int64_t c = 0; c < d; c++) {
                float v = (float)((double)x[c] * m->b[c]);
                v = (float)((double)v + m->a[c]);
                if (m->clip) {
                    const float lo = (float)m->lo, hi = (float)m->hi;
                    v = v < lo ? lo : v > hi ? hi : v;
                }
                o[c] = (double)v;
            }
            break;
        case PP_MAXABS:
            for (int64_t c = 0; c < d; c++)
                o[c] = (double)(float)((double)x[c] / m->b[c]);
            break;
        case PP_NORMALIZER: {
            /* sklearn.preprocessing.normalize: l1 np.abs(X).sum(axis=1), l2
               row_norms (einsum, then np.sqrt), max np.max(abs(X), axis=1);
               zeros -> 1; X /= norms */
            float s = 0.0f;
            if (m->norm == 2) {
                s = sqrtf(ckpt_k_einsum_sqf(x, d));
            } else if (m->norm == 1) {
                float tmp[64];
                float acc = 0.0f;
                /* pairwise sum of |x| in blocks: exact NumPy order for d <= 64 */
                if (d <= 64) {
                    for (int64_t c = 0; c < d; c++)
                        tmp[c] = fabsf(x[c]);
                    acc = ckpt_k_sumf(tmp, d);
                } else {
                    float *t = malloc((size_t)d * sizeof *t);
                    if (!t)
                        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
                    for (int64_t c = 0; c < d; c++)
                        t[c] = fabsf(x[c]);
                    acc = ckpt_k_sumf(t, d);
                    free(t);
                }
                s = acc;
            } else {
                for (int64_t c = 0; c < d; c++)
                    if (fabsf(x[c]) > s)
                        s = fabsf(x[c]);
            }
            if (s == 0.0f)
                s = 1.0f;
            for (int64_t c = 0; c < d; c++)
                o[c] = (double)(x[c] / s);
            break;
        }
        case PP_POLY:
            /* PolynomialFeatures: a degree-k column is (degree k-1 column of
               the later features) * x[first]: products right to left */
            for (int64_t t = 0; t < od; t++) {
                float v = 1.0f;
                int64_t a = m->term_off[t], b = m->term_off[t + 1];
                if (b > a) {
                    v = x[m->term_idx[b - 1]];
                    for (int64_t k = b - 2; k >= a; k--)
                        v = v * x[m->term_idx[k]];
                }
                o[t] = (double)v;
            }
            break;
        case PP_IMPUTER:
            /* X[missing] = statistics_ (float64 cast to float32) */
            for (int64_t j = 0; j < od; j++) {
                int64_t c = m->keep[j];
                float v = x[c];
                int miss = m->missing != m->missing ? v != v : (double)v == m->missing;
                o[j] = miss ? (double)(float)m->a[c] : (double)v;
            }
            break;
        default:
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: no float32 path", e->cls);
        }
    }
    return CKPT_OK;
}

static ckpt_status pp_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                          const ckpt_output *out, ckpt_error *err)
{
    const pp_impl *m = e->impl;
    if (in->kind == CKPT_IN_DENSE && !in->dense && in->dense32)
        return pp_run_f32(e, in, out, err);
    const int64_t n = in->n_rows, d = m->d, od = m->out_d;
    const double *X = in->dense;
    ckpt_csr *cs = NULL;
    if (m->kind == PP_ONEHOT && m->sparse_out) {
        cs = out->csr;
        cs->rows = n;
        cs->cols = od;
        cs->nnz = 0;
        if ((size_t)n + 1 > cs->indptr_cap) {
            int64_t *p = realloc(cs->indptr, ((size_t)n + 1) * sizeof *p);
            if (!p)
                return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            cs->indptr = p;
            cs->indptr_cap = (size_t)n + 1;
        }
        cs->indptr[0] = 0;
    }
    if (m->kind == PP_PCA || m->kind == PP_TSVD) {
        double *tmp = NULL;
        const double *src = X;
        if (m->kind == PP_PCA && m->has_a) {
            tmp = ckpt_rt_calloc((uint64_t)n * (uint64_t)d, sizeof(double));
            if (!tmp && n)
                return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            for (int64_t r = 0; r < n; r++)
                for (int64_t c = 0; c < d; c++)
                    tmp[r * d + c] = X[r * d + c] - m->a[c];
            src = tmp;
        }
        ckpt_k_gemm_nt(src, n, d, m->W, od, NULL, out->values);
        free(tmp);
        if (m->has_b)
            for (int64_t r = 0; r < n; r++)
                for (int64_t j = 0; j < od; j++)
                    out->values[r * od + j] /= m->b[j];
        return CKPT_OK;
    }
    for (int64_t r = 0; r < n; r++) {
        const double *x = X + r * d;
        double *o = cs ? NULL : out->values + r * od;
        switch (m->kind) {
        case PP_STANDARD:
        case PP_ROBUST:
            for (int64_t c = 0; c < d; c++) {
                double v = x[c];
                if (m->has_a)
                    v -= m->a[c];
                if (m->has_b)
                    v /= m->b[c];
                o[c] = v;
            }
            break;
        case PP_MINMAX:
            for (int64_t c = 0; c < d; c++) {
                double v = x[c] * m->b[c] + m->a[c];
                if (m->clip)
                    v = v < m->lo ? m->lo : v > m->hi ? m->hi : v;
                o[c] = v;
            }
            break;
        case PP_MAXABS:
            for (int64_t c = 0; c < d; c++)
                o[c] = x[c] / m->b[c];
            break;
        case PP_NORMALIZER: {
            double s = 0;
            for (int64_t c = 0; c < d; c++) {
                double v = x[c];
                if (m->norm == 1)
                    s += fabs(v);
                else if (m->norm == 2)
                    s += v * v;
                else if (fabs(v) > s)
                    s = fabs(v);
            }
            if (m->norm == 2)
                s = sqrt(s);
            if (s == 0)
                s = 1;
            for (int64_t c = 0; c < d; c++)
                o[c] = x[c] / s;
            break;
        }
        case PP_POLY:
            for (int64_t t = 0; t < od; t++) {
                double v = 1.0;
                int64_t a = m->term_off[t], b = m->term_off[t + 1];
                if (b > a) {
                    v = x[m->term_idx[a]];
                    for (int64_t k = a + 1; k < b; k++)
                        v *= x[m->term_idx[k]];
                }
                o[t] = v;
            }
            break;
        case PP_IMPUTER:
            for (int64_t j = 0; j < od; j++) {
                int64_t c = m->keep[j];
                double v = x[c];
                int miss = m->missing != m->missing ? v != v : v == m->missing;
                o[j] = miss ? m->a[c] : v;
            }
            break;
        case PP_ORDINAL:
            for (int64_t c = 0; c < d; c++) {
                int64_t k = find_cat(m->cats[c], m->ncat[c], x[c]);
                if (k < 0 && !m->ignore_unknown)
                    return ckpt_error_set(err, CKPT_E_INPUT, in->row_base + r,
                                          "row %lld, column %lld: unknown category %.17g",
                                          (long long)(in->row_base + r), (long long)c, x[c]);
                o[c] = k < 0 ? m->unknown_value : (double)k;
            }
            break;
        case PP_ONEHOT:
            if (o)
                memset(o, 0, (size_t)od * sizeof *o);
            for (int64_t c = 0; c < d; c++) {
                int64_t k = find_cat(m->cats[c], m->ncat[c], x[c]);
                if (k < 0 && !m->ignore_unknown)
                    return ckpt_error_set(err, CKPT_E_INPUT, in->row_base + r,
                                          "row %lld, column %lld: unknown category %.17g",
                                          (long long)(in->row_base + r), (long long)c, x[c]);
                if (k < 0 || k == m->drop[c])
                    continue;
                int64_t col = m->col0[c] + (m->drop[c] >= 0 && k > m->drop[c] ? k - 1 : k);
                if (o) {
                    o[col] = 1.0;
                } else {
                    if (grow_csr(cs, cs->nnz + 1) != CKPT_OK)
                        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
                    cs->indices[cs->nnz] = col;
                    cs->data[cs->nnz] = 1.0;
                    cs->nnz++;
                }
            }
            if (cs)
                cs->indptr[r + 1] = (int64_t)cs->nnz;
            break;
        default:
            break;
        }
    }
    (void)meth;
    return CKPT_OK;
}

static const ckpt_est_vt pp_vt = {pp_run, pp_free};

static int sn_is(const char *cls, const char *name)
{
    const char *dot = strrchr(cls, '.');
    return strcmp(dot ? dot + 1 : cls, name) == 0;
}

/* optional per-feature array attribute (None allowed -> *has = 0) */
static ckpt_status opt_vec_dt(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name,
                              double **out, int *has, int64_t *d, int *keeps_f32)
{
    const ckpt_value *v = ckpt_value_attr(obj, name);
    *has = 0;
    if (!v || ckpt_value_kind(v) == CKPT_K_NONE)
        return CKPT_OK;
    ckpt_rt_arr a;
    ckpt_status st = ckpt_rt_arr_value(ctx, v, name, &a);
    if (st != CKPT_OK)
        return st;
    if (a.ndim > 1 || (*d >= 0 && (int64_t)a.n != *d)) {
        free(a.d);
        return ckpt_rt_fail(ctx, obj, "%s has %llu values for %lld features", name,
                            (unsigned long long)a.n, (long long)*d);
    }
    *d = (int64_t)a.n;
    *out = a.d;
    *has = 1;
    if (keeps_f32)
        *keeps_f32 = ckpt_rt_keeps_f32(&a);
    return CKPT_OK;
}

static ckpt_status opt_vec(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name,
                           double **out, int *has, int64_t *d)
{
    return opt_vec_dt(ctx, obj, name, out, has, d, NULL);
}

/* PolynomialFeatures terms in sklearn's _combinations order */
static ckpt_status poly_terms(ckpt_build_ctx *ctx, const ckpt_value *obj, pp_impl *m,
                              int64_t mind, int64_t maxd, int inter, int bias)
{
    int64_t d = m->d;
    if (maxd < 0 || maxd > 64 || d < 1)
        return ckpt_rt_fail(ctx, obj, "degree %lld for %lld features", (long long)maxd,
                            (long long)d);
    int64_t cap_terms = 64, cap_idx = 256, nt = 0, ni = 0;
    m->term_off = malloc((size_t)(cap_terms + 1) * sizeof(int64_t));
    m->term_idx = malloc((size_t)cap_idx * sizeof(int64_t));
    int64_t *cur = calloc((size_t)maxd + 1, sizeof(int64_t));
    if (!m->term_off || !m->term_idx || !cur) {
        free(cur);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    m->term_off[0] = 0;
    int64_t start = mind > 1 ? mind : 1;
    for (int64_t deg = bias ? 0 : start; deg <= maxd; deg = deg == 0 ? start : deg + 1) {
        /* first combination of size deg */
        for (int64_t i = 0; i < deg; i++)
            cur[i] = inter ? i : 0;
        if (inter && deg > d)
            continue;
        for (;;) {
            if (nt >= CKPT_RT_MAX_POLY_OUT) {
                free(cur);
                return ckpt_rt_fail(ctx, obj, "more than %lld output features",
                                    (long long)CKPT_RT_MAX_POLY_OUT);
            }
            if (nt + 1 >= cap_terms) {
                cap_terms *= 2;
                int64_t *p = realloc(m->term_off, (size_t)(cap_terms + 1) * sizeof *p);
                if (!p) {
                    free(cur);
                    return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
                }
                m->term_off = p;
            }
            if (ni + deg > cap_idx) {
                while (ni + deg > cap_idx)
                    cap_idx *= 2;
                int64_t *p = realloc(m->term_idx, (size_t)cap_idx * sizeof *p);
                if (!p) {
                    free(cur);
                    return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
                }
                m->term_idx = p;
            }
            for (int64_t i = 0; i < deg; i++)
                m->term_idx[ni++] = cur[i];
            m->term_off[++nt] = ni;
            /* next combination (lexicographic) */
            int64_t i = deg - 1;
            if (inter) {
                while (i >= 0 && cur[i] == d - deg + i)
                    i--;
                if (i < 0)
                    break;
                cur[i]++;
                for (int64_t k = i + 1; k < deg; k++)
                    cur[k] = cur[k - 1] + 1;
            } else {
                while (i >= 0 && cur[i] == d - 1)
                    i--;
                if (i < 0)
                    break;
                cur[i]++;
                for (int64_t k = i + 1; k < deg; k++)
                    cur[k] = cur[i];
            }
        }
    }
    free(cur);
    m->out_d = nt;
    return CKPT_OK;
}

ckpt_status ckpt_rt_build_preproc(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    const char *cls = ckpt_value_class(obj);
    pp_impl *m = calloc(1, sizeof *m);
    if (!m)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    ckpt_status st = CKPT_OK;
    int64_t d = -1;
    int allow_nan = 1;
    int fit_f32 = 0; /* a fitted array is float32 (MinMax/MaxAbs scale_, Robust center_) */
    if (sn_is(cls, "StandardScaler") || sn_is(cls, "RobustScaler")) {
        m->kind = sn_is(cls, "StandardScaler") ? PP_STANDARD : PP_ROBUST;
        const char *an = m->kind == PP_STANDARD ? "mean_" : "center_";
        if ((st = opt_vec_dt(ctx, obj, an, &m->a, &m->has_a, &d, &fit_f32)) != CKPT_OK ||
            (st = opt_vec(ctx, obj, "scale_", &m->b, &m->has_b, &d)) != CKPT_OK)
            goto fail;
        if (m->kind == PP_STANDARD && !ckpt_rt_attr_bool(obj, "with_mean", 1))
            m->has_a = 0;
        if (m->kind == PP_STANDARD && !ckpt_rt_attr_bool(obj, "with_std", 1))
            m->has_b = 0;
        if (m->kind == PP_ROBUST && !ckpt_rt_attr_bool(obj, "with_centering", 1))
            m->has_a = 0;
        if (m->kind == PP_ROBUST && !ckpt_rt_attr_bool(obj, "with_scaling", 1))
            m->has_b = 0;
        if (d < 0 && ckpt_rt_attr_i64(ctx, obj, "n_features_in_", &d))
            d = -1;
        m->out_d = d;
    } else if (sn_is(cls, "MinMaxScaler")) {
        m->kind = PP_MINMAX;
        if ((st = opt_vec(ctx, obj, "min_", &m->a, &m->has_a, &d)) != CKPT_OK ||
            (st = opt_vec_dt(ctx, obj, "scale_", &m->b, &m->has_b, &d, &fit_f32)) != CKPT_OK)
            goto fail;
        if (!m->has_a || !m->has_b) {
            st = ckpt_rt_fail(ctx, obj, "min_ / scale_ missing");
            goto fail;
        }
        m->clip = ckpt_rt_attr_bool(obj, "clip", 0);
        ckpt_rt_arr fr = {0};
        if (m->clip) {
            if ((st = ckpt_rt_arr_attr(ctx, obj, "feature_range", &fr)) != CKPT_OK)
                goto fail;
            if (fr.n != 2) {
                free(fr.d);
                st = ckpt_rt_fail(ctx, obj, "feature_range is not a pair");
                goto fail;
            }
            m->lo = fr.d[0];
            m->hi = fr.d[1];
            free(fr.d);
        }
        m->out_d = d;
    } else if (sn_is(cls, "MaxAbsScaler")) {
        m->kind = PP_MAXABS;
        if ((st = opt_vec_dt(ctx, obj, "scale_", &m->b, &m->has_b, &d, &fit_f32)) != CKPT_OK)
            goto fail;
        if (!m->has_b) {
            st = ckpt_rt_fail(ctx, obj, "scale_ missing");
            goto fail;
        }
        m->out_d = d;
    } else if (sn_is(cls, "Normalizer")) {
        m->kind = PP_NORMALIZER;
        allow_nan = 0;
        char norm[8] = "l2";
        ckpt_rt_attr_str(obj, "norm", norm, sizeof norm);
        m->norm = strcmp(norm, "l1") == 0 ? 1 : strcmp(norm, "l2") == 0 ? 2
                                            : strcmp(norm, "max") == 0 ? 3 : 0;
        if (!m->norm) {
            st = ckpt_rt_fail(ctx, obj, "norm '%s'", norm);
            goto fail;
        }
        if (ckpt_rt_attr_i64(ctx, obj, "n_features_in_", &d))
            d = -1;
        m->out_d = d;
    } else if (sn_is(cls, "PolynomialFeatures")) {
        m->kind = PP_POLY;
        allow_nan = 0;
        if (ckpt_rt_attr_i64(ctx, obj, "n_features_in_", &d) &&
            ckpt_rt_attr_i64(ctx, obj, "n_input_features_", &d)) {
            st = ckpt_rt_fail(ctx, obj, "n_features_in_ missing");
            goto fail;
        }
        m->d = d;
        int64_t mind = 0, maxd = 2;
        if (ckpt_rt_attr_i64(ctx, obj, "_max_degree", &maxd)) {
            if (ckpt_rt_attr_i64(ctx, obj, "degree", &maxd)) {
                st = ckpt_rt_fail(ctx, obj, "degree is not an int (tuple degrees need _max_degree)");
                goto fail;
            }
        }
        ckpt_rt_attr_i64(ctx, obj, "_min_degree", &mind);
        st = poly_terms(ctx, obj, m, mind, maxd, ckpt_rt_attr_bool(obj, "interaction_only", 0),
                        ckpt_rt_attr_bool(obj, "include_bias", 1));
        if (st != CKPT_OK)
            goto fail;
        int64_t want;
        if (ckpt_rt_attr_i64(ctx, obj, "n_output_features_", &want) == 0 && want != m->out_d) {
            st = ckpt_rt_fail(ctx, obj, "n_output_features_ %lld but %lld terms", (long long)want,
                              (long long)m->out_d);
            goto fail;
        }
    } else if (sn_is(cls, "SimpleImputer")) {
        m->kind = PP_IMPUTER;
        if (ckpt_rt_attr_bool(obj, "add_indicator", 0)) {
            st = ckpt_rt_fail(ctx, obj, "add_indicator=True is not supported");
            goto fail;
        }
        if ((st = opt_vec(ctx, obj, "statistics_", &m->a, &m->has_a, &d)) != CKPT_OK)
            goto fail;
        if (!m->has_a) {
            st = ckpt_rt_fail(ctx, obj, "statistics_ missing");
            goto fail;
        }
        m->missing = NAN;
        const ckpt_value *mv = ckpt_value_attr(obj, "missing_values");
        if (mv && ckpt_rt_value_f64(ctx, mv, &m->missing)) {
            st = ckpt_rt_fail(ctx, obj, "missing_values is not a number");
            goto fail;
        }
        allow_nan = m->missing != m->missing;
        int keep_empty = ckpt_rt_attr_bool(obj, "keep_empty_features", 0);
        m->keep = ckpt_rt_calloc((uint64_t)d, sizeof(int64_t));
        if (!m->keep)
            goto nomem;
        int64_t k = 0;
        for (int64_t c = 0; c < d; c++)
            if (keep_empty || m->a[c] == m->a[c])
                m->keep[k++] = c;
        m->out_d = k;
    } else if (sn_is(cls, "OneHotEncoder") || sn_is(cls, "OrdinalEncoder")) {
        m->kind = sn_is(cls, "OneHotEncoder") ? PP_ONEHOT : PP_ORDINAL;
        if (ckpt_rt_attr_bool(obj, "_infrequent_enabled", 0)) {
            st = ckpt_rt_fail(ctx, obj, "infrequent categories are not supported");
            goto fail;
        }
        const ckpt_value *cv = ckpt_value_attr(obj, "categories_");
        if (ckpt_value_kind(cv) != CKPT_K_LIST) {
            st = ckpt_rt_fail(ctx, obj, "categories_ is not a list");
            goto fail;
        }
        d = (int64_t)ckpt_value_len(cv);
        m->cats = ckpt_rt_calloc((uint64_t)d, sizeof(double *));
        m->ncat = ckpt_rt_calloc((uint64_t)d, sizeof(int64_t));
        m->col0 = ckpt_rt_calloc((uint64_t)d, sizeof(int64_t));
        m->drop = ckpt_rt_calloc((uint64_t)d, sizeof(int64_t));
        if (!m->cats || !m->ncat || !m->col0 || !m->drop)
            goto nomem;
        m->d = d;
        const ckpt_value *dv = ckpt_value_attr(obj, "drop_idx_");
        ckpt_rt_arr dr = {0};
        int has_drop = dv && ckpt_value_kind(dv) != CKPT_K_NONE;
        if (has_drop && m->kind == PP_ONEHOT) {
            /* an array of indices; an object array with None entries is not read here */
            if ((st = ckpt_rt_arr_value(ctx, dv, "drop_idx_", &dr)) != CKPT_OK)
                goto fail;
            if ((int64_t)dr.n != d) {
                free(dr.d);
                st = ckpt_rt_fail(ctx, obj, "drop_idx_ has %llu entries", (unsigned long long)dr.n);
                goto fail;
            }
        }
        int64_t col = 0;
        for (int64_t j = 0; j < d; j++) {
            ckpt_rt_arr c;
            char what[48];
            snprintf(what, sizeof what, "categories_[%lld]", (long long)j);
            if ((st = ckpt_rt_arr_value(ctx, ckpt_value_item(cv, (size_t)j), what, &c)) !=
                CKPT_OK) {
                free(dr.d);
                st = ckpt_rt_fail(ctx, obj, "%s is not numeric (string categories are not supported)",
                                  what);
                goto fail;
            }
            for (uint64_t i = 1; i < c.n; i++)
                if (!(c.d[i - 1] < c.d[i]) && c.d[i] == c.d[i]) {
                    free(c.d);
                    free(dr.d);
                    st = ckpt_rt_fail(ctx, obj, "%s is not sorted", what);
                    goto fail;
                }
            m->cats[j] = c.d;
            m->ncat[j] = (int64_t)c.n;
            m->col0[j] = col;
            m->drop[j] = -1;
            if (dr.d) {
                double x = dr.d[j];
                if (x == x) {
                    if (!(x >= 0 && x < (double)c.n)) {
                        free(dr.d);
                        st = ckpt_rt_fail(ctx, obj, "drop_idx_[%lld] out of range", (long long)j);
                        goto fail;
                    }
                    m->drop[j] = (int64_t)x;
                }
            }
            col += (int64_t)c.n - (m->drop[j] >= 0 ? 1 : 0);
        }
        free(dr.d);
        char hu[32] = "error";
        ckpt_rt_attr_str(obj, "handle_unknown", hu, sizeof hu);
        if (m->kind == PP_ONEHOT) {
            m->ignore_unknown = strcmp(hu, "ignore") == 0 || strcmp(hu, "infrequent_if_exist") == 0;
            const ckpt_value *sp = ckpt_value_attr(obj, "sparse_output");
            if (!sp || ckpt_value_kind(sp) != CKPT_K_BOOL)
                sp = ckpt_value_attr(obj, "sparse");
            m->sparse_out = ckpt_value_kind(sp) == CKPT_K_BOOL ? ckpt_value_bool(sp) : 1;
            m->out_d = col;
        } else {
            m->ignore_unknown = strcmp(hu, "use_encoded_value") == 0;
            m->unknown_value = NAN;
            ckpt_rt_attr_f64(ctx, obj, "unknown_value", &m->unknown_value);
            m->out_d = d;
        }
        allow_nan = 0;
    } else if (sn_is(cls, "PCA") || sn_is(cls, "TruncatedSVD") ||
               sn_is(cls, "IncrementalPCA")) {
        m->kind = sn_is(cls, "TruncatedSVD") ? PP_TSVD : PP_PCA;
        allow_nan = 0;
        ckpt_rt_arr comp;
        if ((st = ckpt_rt_arr_attr(ctx, obj, "components_", &comp)) != CKPT_OK)
            goto fail;
        if (comp.ndim != 2) {
            free(comp.d);
            st = ckpt_rt_fail(ctx, obj, "components_ is not 2-d");
            goto fail;
        }
        m->W = comp.d;
        m->out_d = comp.shape[0];
        d = comp.shape[1];
        int mean_f32 = 1, ev_f32 = 1;
        if (m->kind == PP_PCA) {
            if ((st = opt_vec_dt(ctx, obj, "mean_", &m->a, &m->has_a, &d, &mean_f32)) != CKPT_OK)
                goto fail;
            if (ckpt_rt_attr_bool(obj, "whiten", 0)) {
                int64_t k = m->out_d;
                if ((st = opt_vec_dt(ctx, obj, "explained_variance_", &m->b, &m->has_b, &k,
                                     &ev_f32)) != CKPT_OK)
                    goto fail;
                /* np.sqrt of the stored array: a float32 sqrt for float32
                   explained_variance_ (also when X is float64) */
                for (int64_t j = 0; m->has_b && j < k; j++)
                    m->b[j] = ev_f32 ? (double)(float)sqrt(m->b[j]) : sqrt(m->b[j]);
            }
        }
        /* float32 components_: (X - mean_) @ components_.T stays float32
           when mean_ does (NumPy promotion) */
        if (comp.dtype == CKPT_DT_FLOAT32 && (!m->has_a || mean_f32)) {
            ckpt_rt_arr t = {0};
            t.d = m->W;
            t.n = (uint64_t)m->out_d * (uint64_t)d;
            if (!(m->W32 = ckpt_rt_to_f32(&t)))
                goto nomem;
            if (m->has_a) {
                t.d = m->a;
                t.n = (uint64_t)d;
                if (!(m->a32 = ckpt_rt_to_f32(&t)))
                    goto nomem;
            }
            if (m->has_b && ev_f32) { /* sqrt of float32 = float32 sqrt, exactly */
                t.d = m->b;
                t.n = (uint64_t)m->out_d;
                if (!(m->b32 = ckpt_rt_to_f32(&t)))
                    goto nomem;
            } else if (m->has_b) {
                m->b_f64 = 1;
            }
        }
    } else {
        st = ckpt_rt_fail(ctx, obj, "not a known transformer");
        goto fail;
    }
    if (m->kind != PP_POLY && m->kind != PP_ONEHOT && m->kind != PP_ORDINAL)
        m->d = d;
    if (m->d < 0) { /* Normalizer from before 0.24 has no n_features_in_ */
        st = ckpt_rt_fail(ctx, obj, "number of features unknown (no n_features_in_)");
        goto fail;
    }
    ckpt_est *e = ckpt_est_new(&pp_vt, m, cls);
    if (!e)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    e->n_features = m->d;
    e->allow_nan = allow_nan;
    e->n_outputs = m->out_d;
    /* float32 rows: scalers, Normalizer, PolynomialFeatures and SimpleImputer
       transform a float32 copy of X (float32 out whatever their state's
       dtype); PCA / TruncatedSVD when components_ is float32; the encoders
       give float64 */
    if (m->kind == PP_PCA || m->kind == PP_TSVD) {
        e->takes_f32 = e->fit_f32 = m->W32 != NULL;
    } else if (m->kind != PP_ONEHOT && m->kind != PP_ORDINAL) {
        e->takes_f32 = 1;
        e->fit_f32 = fit_f32 && m->kind != PP_STANDARD;
    }
    if (e->takes_f32)
        e->out_f32[CKPT_METHOD_TRANSFORM] = CKPT_RT_F32_FROM32;
    ckpt_est_method(e, CKPT_METHOD_TRANSFORM, m->sparse_out ? CKPT_OUT_CSR : CKPT_OUT_F64,
                    m->out_d);
    *out = e;
    return CKPT_OK;
nomem:
    st = ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
fail:
    pp_free(m);
    return st;
}
