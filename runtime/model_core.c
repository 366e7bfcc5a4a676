/*
 * model_core.c - the public model API (ckpt_model.h) over internal
 * estimators (ckpt_est): building through the registry, input checks and
 * conversions, queries, running (rows split over threads for big batches).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_internal.h"

struct ckpt_model {
    ckpt_est *est;
    int n_threads;
};

/* Rows per thread below which a batch is not split. */
#define CKPT_RT_THREAD_MIN_ROWS 4096
#define CKPT_RT_MAX_THREADS 64

static const char *const method_names[CKPT_METHOD__COUNT] = {
    "predict", "predict_proba", "decision_function", "transform", "predict_log_proba",
    "score_samples", "apply"};

const char *ckpt_method_name(ckpt_method m)
{
    return (unsigned)m < CKPT_METHOD__COUNT ? method_names[m] : NULL;
}

ckpt_status ckpt_method_parse(const char *name, ckpt_method *out)
{
    for (int i = 0; name && i < CKPT_METHOD__COUNT; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *out = (ckpt_method)i;
            return CKPT_OK;
        }
    return CKPT_E_ARG;
}

void ckpt_csr_free(ckpt_csr *m)
{
    if (!m)
        return;
    free(m->indptr);
    free(m->indices);
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- estimators */

ckpt_est *ckpt_est_new(const ckpt_est_vt *vt, void *impl, const char *cls)
{
    ckpt_est *e = calloc(1, sizeof *e);
    if (!e) {
        if (vt && vt->free_impl && impl)
            vt->free_impl(impl);
        return NULL;
    }
    e->vt = vt;
    e->impl = impl;
    e->n_features = -1;
    e->n_outputs = 1;
    if (cls) {
        size_t n = strlen(cls);
        if (n >= sizeof e->cls)
            n = sizeof e->cls - 1;
        memcpy(e->cls, cls, n);
    }
    return e;
}

void ckpt_est_free(ckpt_est *e)
{
    if (!e)
        return;
    if (e->vt && e->vt->free_impl && e->impl)
        e->vt->free_impl(e->impl);
    ckpt_labels_free(&e->labels);
    free(e);
}

void ckpt_est_method(ckpt_est *e, ckpt_method m, ckpt_out_kind kind, int64_t cols)
{
    if ((unsigned)m < CKPT_METHOD__COUNT) {
        e->out_kind[m] = kind;
        e->out_cols[m] = kind == CKPT_OUT_NONE ? 0 : cols;
    }
}

static const char *short_name(const char *cls)
{
    const char *dot = strrchr(cls, '.');
    return dot ? dot + 1 : cls;
}

ckpt_status ckpt_est_build(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *where,
                           ckpt_est **out)
{
    *out = NULL;
    char saved[sizeof ctx->where];
    memcpy(saved, ctx->where, sizeof saved);
    if (where) {
        size_t n = strlen(where);
        if (n >= sizeof ctx->where)
            n = sizeof ctx->where - 1;
        memcpy(ctx->where, where, n);
        ctx->where[n] = 0;
    }
    ckpt_status st;
    const char *cls = ckpt_value_class(obj);
    if (ckpt_value_kind(obj) != CKPT_K_OBJECT || !cls) {
        st = ckpt_error_set(ctx->err, CKPT_E_MODEL, -1, "%s%sis not an estimator object (%s)",
                            ctx->where, ctx->where[0] ? ": " : "",
                            ckpt_kind_name(ckpt_value_kind(obj)));
        goto done;
    }
    if (ctx->depth >= ctx->max_nesting) {
        st = ckpt_error_set(ctx->err, CKPT_E_LIMIT, -1,
                            "%s: estimators nested deeper than %u (%s)", ctx->where,
                            ctx->max_nesting, cls);
        goto done;
    }
    const ckpt_est_entry *hit = NULL;
    if (strncmp(cls, "sklearn.", 8) == 0) {
        const char *sn = short_name(cls);
        for (size_t i = 0; i < ckpt_est_registry_count; i++)
            if (strcmp(ckpt_est_registry[i].name, sn) == 0) {
                hit = &ckpt_est_registry[i];
                break;
            }
    }
    if (!hit) {
        st = ckpt_error_set(ctx->err, CKPT_E_MODEL, -1, "%s%sestimator %s is not supported",
                            ctx->where, ctx->where[0] ? ": " : "", cls);
        goto done;
    }
    ctx->depth++;
    st = hit->build(ctx, obj, out);
    ctx->depth--;
    if (st == CKPT_OK && !*out)
        st = ckpt_error_set(ctx->err, CKPT_E_MODEL, -1, "%s: builder made nothing (%s)",
                            ctx->where, cls);
done:
    memcpy(ctx->where, saved, sizeof saved);
    if (st != CKPT_OK && ctx->err && ctx->err->member[0] == 0 && where)
        ckpt_error_member(ctx->err, where);
    return st;
}

/* ---------------------------------------------------------------- input checks */

/* A NaN or infinity at (row, column): fine for a NaN when the estimator takes
   NaN, otherwise an input error naming the row. */
static int bad_value(const ckpt_est *e, int is_nan, int64_t base, int64_t r, int64_t c,
                     ckpt_error *err)
{
    if (is_nan && e->allow_nan)
        return 0;
    ckpt_error_set(err, CKPT_E_INPUT, base + r, "row %lld, column %lld: %s, which %s cannot take",
                   (long long)(base + r), (long long)c, is_nan ? "NaN" : "infinity", e->cls);
    return 1;
}

static ckpt_status check_dense(const ckpt_est *e, const double *X, int64_t n, int64_t d,
                               int64_t base, ckpt_error *err)
{
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < d; c++) {
            const double v = X[r * d + c];
            if (v - v != 0.0 && bad_value(e, v != v, base, r, c, err)) /* NaN or inf */
                return CKPT_E_INPUT;
        }
    return CKPT_OK;
}

static ckpt_status check_dense32(const ckpt_est *e, const float *X, int64_t n, int64_t d,
                                 int64_t base, ckpt_error *err)
{
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < d; c++) {
            const float v = X[r * d + c];
            if (v - v != 0.0f && bad_value(e, v != v, base, r, c, err)) /* NaN or inf */
                return CKPT_E_INPUT;
        }
    return CKPT_OK;
}

static ckpt_status check_csr(const ckpt_est *e, const ckpt_csr *m, int64_t n, int64_t base,
                             ckpt_error *err)
{
    if (!m || m->rows != n || m->cols < 0 || !m->indptr || m->indptr[0] != 0)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "CSR input: bad shape or indptr");
    for (int64_t r = 0; r < n; r++) {
        int64_t a = m->indptr[r], b = m->indptr[r + 1];
        if (b < a || (uint64_t)b > m->nnz)
            return ckpt_error_set(err, CKPT_E_INPUT, base + r, "row %lld: CSR indptr out of order",
                                  (long long)(base + r));
        for (int64_t p = a; p < b; p++) {
            if (m->indices[p] < 0 || m->indices[p] >= m->cols)
                return ckpt_error_set(err, CKPT_E_INPUT, base + r,
                                      "row %lld: column index %lld out of range",
                                      (long long)(base + r), (long long)m->indices[p]);
            const double v = m->data[p];
            if (v - v != 0.0 && !(v != v && e->allow_nan))
                return ckpt_error_set(err, CKPT_E_INPUT, base + r,
                                      "row %lld, column %lld: %s, which %s cannot take",
                                      (long long)(base + r), (long long)m->indices[p],
                                      v != v ? "NaN" : "infinity", e->cls);
        }
    }
    return CKPT_OK;
}

static double *densify(const ckpt_csr *m, ckpt_error *err)
{
    double *d = ckpt_rt_calloc((uint64_t)m->rows * (uint64_t)(m->cols ? m->cols : 1),
                               sizeof(double));
    if (!d) {
        ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory densifying %lld x %lld input",
                       (long long)m->rows, (long long)m->cols);
        return NULL;
    }
    for (int64_t r = 0; r < m->rows; r++)
        for (int64_t p = m->indptr[r]; p < m->indptr[r + 1]; p++)
            d[r * m->cols + m->indices[p]] += m->data[p];
    return d;
}

ckpt_status ckpt_est_run(const ckpt_est *e, ckpt_method m, const ckpt_input *in,
                         const ckpt_output *out, ckpt_error *err)
{
    if (!e || !in || !out || (unsigned)m >= CKPT_METHOD__COUNT || in->n_rows < 0)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "bad arguments");
    if (e->out_kind[m] == CKPT_OUT_NONE)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s has no %s", e->cls,
                              ckpt_method_name(m));
    switch (e->out_kind[m]) {
    case CKPT_OUT_LABEL:
    case CKPT_OUT_INT:
        if (!out->labels && in->n_rows)
            return ckpt_error_set(err, CKPT_E_ARG, -1, "%s: output.labels is NULL",
                                  ckpt_method_name(m));
        break;
    case CKPT_OUT_F64:
        if (!out->values && in->n_rows)
            return ckpt_error_set(err, CKPT_E_ARG, -1, "%s: output.values is NULL",
                                  ckpt_method_name(m));
        break;
    case CKPT_OUT_CSR:
        if (!out->csr)
            return ckpt_error_set(err, CKPT_E_ARG, -1, "%s: output.csr is NULL",
                                  ckpt_method_name(m));
        break;
    default:
        break;
    }
    if (e->in_kind == CKPT_IN_TEXT) {
        if (in->kind != CKPT_IN_TEXT || (in->n_rows && !in->docs))
            return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s takes text documents", e->cls);
        return e->vt->run(e, m, in, out, err);
    }
    if (in->kind == CKPT_IN_TEXT)
        return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s takes numeric rows, not text", e->cls);
    if (e->n_features >= 0 && in->n_cols != e->n_features)
        return ckpt_error_set(err, CKPT_E_INPUT, 0, "X has %lld features, but %s expects %lld",
                              (long long)in->n_cols, e->cls, (long long)e->n_features);
    if (in->n_cols < 0)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "negative column count");
    uint64_t cells;
    if (ckpt_rt_mul((uint64_t)in->n_rows, (uint64_t)in->n_cols, &cells) ||
        cells > SIZE_MAX / sizeof(double))
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "input too large");
    if (in->n_rows == 0)
        return e->vt->run(e, m, in, out, err);
    ckpt_input local = *in;
    double *tmp = NULL;
    ckpt_status st;
    if (in->kind == CKPT_IN_CSR) {
        if (!in->csr || in->csr->cols != in->n_cols)
            return ckpt_error_set(err, CKPT_E_ARG, -1, "CSR input: shape does not match n_cols");
        st = check_csr(e, in->csr, in->n_rows, in->row_base, err);
        if (st != CKPT_OK)
            return st;
        if (!e->accepts_csr) {
            tmp = densify(in->csr, err);
            if (!tmp)
                return CKPT_E_NOMEM;
            local.kind = CKPT_IN_DENSE;
            local.dense = tmp;
            local.csr = NULL;
        }
    } else if (!in->dense && in->dense32 && e->takes_f32) {
        /* float32 rows go to the estimator as they are (float32 arithmetic) */
        return check_dense32(e, in->dense32, in->n_rows, in->n_cols, in->row_base, err) == CKPT_OK
                   ? e->vt->run(e, m, in, out, err)
                   : CKPT_E_INPUT;
    } else {
        if (!in->dense && in->dense32) {
            tmp = ckpt_rt_calloc(cells, sizeof(double));
            if (!tmp)
                return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            for (uint64_t i = 0; i < cells; i++)
                tmp[i] = in->dense32[i];
            local.dense = tmp;
            local.dense32 = NULL;
        }
        if (!local.dense)
            return ckpt_error_set(err, CKPT_E_ARG, -1, "dense input is NULL");
        st = check_dense(e, local.dense, in->n_rows, in->n_cols, in->row_base, err);
        if (st != CKPT_OK) {
            free(tmp);
            return st;
        }
    }
    st = e->vt->run(e, m, &local, out, err);
    free(tmp);
    return st;
}

ckpt_status ckpt_est_run_f64(const ckpt_est *e, ckpt_method m, const ckpt_input *in, double *out,
                             ckpt_error *err)
{
    if (!e || (unsigned)m >= CKPT_METHOD__COUNT)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "bad arguments");
    ckpt_output o = {0};
    int64_t cols = e->out_cols[m];
    uint64_t cells;
    if (ckpt_rt_mul((uint64_t)(in->n_rows > 0 ? in->n_rows : 0), (uint64_t)cols, &cells))
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "output too large");
    switch (e->out_kind[m]) {
    case CKPT_OUT_F64:
        o.values = out;
        return ckpt_est_run(e, m, in, &o, err);
    case CKPT_OUT_LABEL:
    case CKPT_OUT_INT: {
        o.labels = ckpt_rt_calloc(cells, sizeof(int64_t));
        if (!o.labels)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        ckpt_status st = ckpt_est_run(e, m, in, &o, err);
        if (st == CKPT_OK)
            for (uint64_t i = 0; i < cells; i++)
                out[i] = (double)o.labels[i];
        free(o.labels);
        return st;
    }
    case CKPT_OUT_CSR: {
        ckpt_csr c = {0};
        o.csr = &c;
        ckpt_status st = ckpt_est_run(e, m, in, &o, err);
        if (st == CKPT_OK) {
            if (c.rows != in->n_rows || c.cols != cols) {
                st = ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: sparse output of wrong shape",
                                    e->cls);
            } else {
                memset(out, 0, (size_t)cells * sizeof(double));
                for (int64_t r = 0; r < c.rows; r++)
                    for (int64_t p = c.indptr[r]; p < c.indptr[r + 1]; p++)
                        out[r * cols + c.indices[p]] += c.data[p];
            }
        }
        ckpt_csr_free(&c);
        return st;
    }
    default:
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s has no %s", e->cls,
                              ckpt_method_name(m));
    }
}

/* ---------------------------------------------------------------- float32 */

int ckpt_est_out_is_f32(const ckpt_est *e, ckpt_method m, int in32)
{
    if (!e || (unsigned)m >= CKPT_METHOD__COUNT)
        return 0;
    return (e->out_f32[m] & (in32 ? CKPT_RT_F32_FROM32 : CKPT_RT_F32_FROM64)) != 0;
}

int ckpt_rt_keeps_f32(const ckpt_rt_arr *a)
{
    if (a->ndim == 0)
        return 1; /* NumPy 1.x value-based casting: scalars keep the array's kind */
    switch (a->dtype) {
    case CKPT_DT_FLOAT32:
    case CKPT_DT_FLOAT16:
    case CKPT_DT_BFLOAT16:
    case CKPT_DT_BOOL:
    case CKPT_DT_INT8:
    case CKPT_DT_UINT8:
    case CKPT_DT_INT16:
    case CKPT_DT_UINT16:
        return 1;
    default:
        return 0;
    }
}

float *ckpt_rt_to_f32(const ckpt_rt_arr *a)
{
    float *f = ckpt_rt_calloc(a->n ? a->n : 1, sizeof(float));
    if (f)
        for (uint64_t i = 0; i < a->n; i++)
            f[i] = (float)a->d[i];
    return f;
}

/* ---------------------------------------------------------------- model */

ckpt_model_opts ckpt_model_opts_default(void)
{
    ckpt_model_opts o;
    memset(&o, 0, sizeof o);
    o.max_nesting = CKPT_MODEL_DEFAULT_MAX_NESTING;
    return o;
}

/* Walk a dotted path from the root: dict keys, list/tuple indices, object
   attributes (and items of OrderedDict-like objects).  Iterative. */
static const ckpt_value *walk_path(const ckpt_value *v, const char *path)
{
    const char *p = path;
    char seg[256];
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof seg)
            return NULL;
        memcpy(seg, p, n);
        seg[n] = 0;
        p += n + (dot ? 1 : 0);
        ckpt_kind k = ckpt_value_kind(v);
        char *end = NULL;
        long long idx = strtoll(seg, &end, 10);
        int is_num = end && *end == 0 && seg[0] != '+';
        if (k == CKPT_K_DICT) {
            v = ckpt_dict_get(v, seg);
        } else if (k == CKPT_K_LIST || k == CKPT_K_TUPLE) {
            if (!is_num || idx < 0 || (size_t)idx >= ckpt_value_len(v))
                return NULL;
            v = ckpt_value_item(v, (size_t)idx);
        } else if (k == CKPT_K_OBJECT) {
            const ckpt_value *a = ckpt_value_attr(v, seg);
            if (!a && ckpt_value_obj_dict(v))
                a = ckpt_dict_get(ckpt_value_obj_dict(v), seg);
            if (!a && ckpt_value_obj_list(v) && is_num && idx >= 0 &&
                (size_t)idx < ckpt_value_len(ckpt_value_obj_list(v)))
                a = ckpt_value_item(ckpt_value_obj_list(v), (size_t)idx);
            v = a;
        } else {
            return NULL;
        }
    }
    return v;
}

static int auto_threads(void);

ckpt_status ckpt_model_wrap(ckpt_est *e, const ckpt_model_opts *opts, ckpt_model **out,
                            ckpt_error *err)
{
    ckpt_model *m = calloc(1, sizeof *m);
    if (!m) {
        ckpt_est_free(e);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    m->est = e;
    /* resolved once here: sysconf() reads sysfs, far too slow for every call */
    m->n_threads = opts && opts->n_threads > 0 ? opts->n_threads : auto_threads();
    *out = m;
    return CKPT_OK;
}

ckpt_status ckpt_model_build(ckpt_file *f, const char *path, const ckpt_model_opts *opts,
                             ckpt_model **out, ckpt_error *err)
{
    if (!out)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "out is NULL");
    *out = NULL;
    if (!f)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "file is NULL");
    const ckpt_value *root = ckpt_file_root(f);
    if (!root)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "the file holds no pickled object");
    const ckpt_value *v = root;
    if (path && *path) {
        v = walk_path(root, path);
        if (!v) {
            ckpt_error_set(err, CKPT_E_NOTFOUND, -1, "no value at path '%s'", path);
            ckpt_error_member(err, path);
            return CKPT_E_NOTFOUND;
        }
    }
    ckpt_build_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.f = f;
    ctx.err = err;
    ctx.max_nesting = opts && opts->max_nesting ? opts->max_nesting
                                                : CKPT_MODEL_DEFAULT_MAX_NESTING;
    ctx.n_threads = opts ? opts->n_threads : 0;
    ckpt_est *e = NULL;
    ckpt_status st = ckpt_est_build(&ctx, v, path && *path ? path : NULL, &e);
    if (st != CKPT_OK)
        return st;
    return ckpt_model_wrap(e, opts, out, err);
}

void ckpt_model_free(ckpt_model *m)
{
    if (!m)
        return;
    ckpt_est_free(m->est);
    free(m);
}

const char *ckpt_model_class(const ckpt_model *m) { return m ? m->est->cls : NULL; }
ckpt_in_kind ckpt_model_input_kind(const ckpt_model *m)
{
    return m ? m->est->in_kind : CKPT_IN_DENSE;
}
int64_t ckpt_model_n_features(const ckpt_model *m)
{
    return m && m->est->in_kind != CKPT_IN_TEXT ? m->est->n_features : -1;
}
int64_t ckpt_model_n_outputs(const ckpt_model *m) { return m ? m->est->n_outputs : 0; }
int ckpt_model_is_classifier(const ckpt_model *m) { return m ? m->est->is_clf : 0; }

ckpt_dtype ckpt_model_fit_dtype(const ckpt_model *m)
{
    return m && m->est->fit_f32 ? CKPT_DT_FLOAT32 : CKPT_DT_FLOAT64;
}

ckpt_dtype ckpt_model_compute_dtype(const ckpt_model *m, ckpt_method method, ckpt_dtype in)
{
    if (!m || (unsigned)method >= CKPT_METHOD__COUNT ||
        (m->est->out_kind[method] != CKPT_OUT_F64 && m->est->out_kind[method] != CKPT_OUT_CSR))
        return CKPT_DT_INVALID;
    if (in != CKPT_DT_FLOAT32 && in != CKPT_DT_FLOAT64)
        return CKPT_DT_INVALID;
    return ckpt_est_out_is_f32(m->est, method, in == CKPT_DT_FLOAT32) ? CKPT_DT_FLOAT32
                                                                       : CKPT_DT_FLOAT64;
}

ckpt_out_kind ckpt_model_out_kind(const ckpt_model *m, ckpt_method method)
{
    return m && (unsigned)method < CKPT_METHOD__COUNT ? m->est->out_kind[method] : CKPT_OUT_NONE;
}
int64_t ckpt_model_out_cols(const ckpt_model *m, ckpt_method method)
{
    return m && (unsigned)method < CKPT_METHOD__COUNT ? m->est->out_cols[method] : 0;
}
int64_t ckpt_model_n_classes(const ckpt_model *m) { return m ? m->est->labels.n : 0; }
ckpt_label_kind ckpt_model_label_kind(const ckpt_model *m)
{
    return m ? m->est->labels.kind : CKPT_LABEL_NONE;
}
int64_t ckpt_model_class_int(const ckpt_model *m, int64_t i)
{
    return m && i >= 0 && i < m->est->labels.n ? m->est->labels.i[i] : 0;
}
double ckpt_model_class_float(const ckpt_model *m, int64_t i)
{
    return m && i >= 0 && i < m->est->labels.n ? m->est->labels.f[i] : NAN;
}
const char *ckpt_model_class_str(const ckpt_model *m, int64_t i, size_t *len)
{
    if (!m || i < 0 || i >= m->est->labels.n) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = m->est->labels.len[i];
    return m->est->labels.s[i];
}

/* ---------------------------------------------------------------- running */

typedef struct run_job {
    const ckpt_est *e;
    ckpt_method method;
    ckpt_input in;
    ckpt_output out;
    ckpt_error err;
    ckpt_status st;
} run_job;

static void *run_thread(void *arg)
{
    run_job *j = arg;
    ckpt_error_clear(&j->err);
    j->st = ckpt_est_run(j->e, j->method, &j->in, &j->out, &j->err);
    return NULL;
}

static int auto_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

ckpt_status ckpt_model_run(const ckpt_model *m, ckpt_method method, const ckpt_input *in,
                           const ckpt_output *out, ckpt_error *err)
{
    if (!m || !in || !out)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "ckpt_model_run: NULL argument");
    if ((unsigned)method >= CKPT_METHOD__COUNT)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "invalid method %d", (int)method);
    const ckpt_est *e = m->est;
    ckpt_out_kind ok = e->out_kind[method];
    int nt = m->n_threads;
    if (nt > CKPT_RT_MAX_THREADS)
        nt = CKPT_RT_MAX_THREADS;
    /* Split dense batches over threads; CSR / text outputs and small batches
       run in the caller's thread. */
    if (nt <= 1 || ok == CKPT_OUT_CSR || ok == CKPT_OUT_NONE || in->kind != CKPT_IN_DENSE ||
        in->n_rows < 2 * CKPT_RT_THREAD_MIN_ROWS || in->n_cols <= 0)
        return ckpt_est_run(e, method, in, out, err);
    int64_t per = (in->n_rows + nt - 1) / nt;
    if (per < CKPT_RT_THREAD_MIN_ROWS) {
        per = CKPT_RT_THREAD_MIN_ROWS;
        nt = (int)((in->n_rows + per - 1) / per);
    }
    run_job jobs[CKPT_RT_MAX_THREADS];
    pthread_t tid[CKPT_RT_MAX_THREADS];
    int started[CKPT_RT_MAX_THREADS] = {0};
    int64_t cols = e->out_cols[method];
    for (int t = 0; t < nt; t++) {
        int64_t r0 = t * per, r1 = r0 + per < in->n_rows ? r0 + per : in->n_rows;
        run_job *j = &jobs[t];
        memset(j, 0, sizeof *j);
        j->e = e;
        j->method = method;
        j->in = *in;
        j->in.n_rows = r1 - r0;
        j->in.row_base = in->row_base + r0;
        if (in->dense)
            j->in.dense = in->dense + r0 * in->n_cols;
        if (in->dense32)
            j->in.dense32 = in->dense32 + r0 * in->n_cols;
        if (out->labels)
            j->out.labels = out->labels + r0 * cols;
        if (out->values)
            j->out.values = out->values + r0 * cols;
        if (t > 0 && pthread_create(&tid[t], NULL, run_thread, j) == 0)
            started[t] = 1;
    }
    /* chunk 0, and any chunk whose thread could not start, run here */
    for (int t = 0; t < nt; t++)
        if (!started[t])
            run_thread(&jobs[t]);
    ckpt_status st = CKPT_OK;
    for (int t = 0; t < nt; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
    }
    for (int t = 0; t < nt; t++) {
        if (jobs[t].st != CKPT_OK) { /* the first failing chunk: lowest rows */
            st = jobs[t].st;
            if (err)
                *err = jobs[t].err;
            break;
        }
    }
    return st;
}

ckpt_status ckpt_model_predict(const ckpt_model *m, ckpt_method method, const double *X,
                               int64_t n_rows, int64_t n_cols, double *out, ckpt_error *err)
{
    if (!m)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "model is NULL");
    if ((unsigned)method >= CKPT_METHOD__COUNT)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "invalid method %d", (int)method);
    ckpt_input in;
    memset(&in, 0, sizeof in);
    in.kind = CKPT_IN_DENSE;
    in.n_rows = n_rows;
    in.n_cols = n_cols;
    in.dense = X;
    if (m->est->out_kind[method] == CKPT_OUT_F64) {
        ckpt_output o = {0};
        o.values = out;
        return ckpt_model_run(m, method, &in, &o, err);
    }
    return ckpt_est_run_f64(m->est, method, &in, out, err);
}
