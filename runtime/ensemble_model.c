/*
 * ensemble_model.c - the tree-family estimators (runtime/ensemble_*.c) as
 * registry entries of the runtime core (model_internal.h).
 *
 * One build function serves every class in ckpt_tm_knows(); estimators the
 * tree code does not implement itself (a LogisticRegression init_, Voting
 * members, a Bagging base estimator) are built by the core's registry
 * (ckpt_est_build) and run through ckpt_est_run_f64.
 */
#include <stdlib.h>
#include <string.h>

#include "ensemble_impl.h"
#include "model_internal.h"

/* ---------------------------------------------------------------- members via the core */

typedef struct sub_impl {
    ckpt_est *e;
} sub_impl;

static ckpt_status sub_run_in(void *impl, ckpt_tm_method method, const double *X,
                              const float *X32, int64_t n, int64_t nf, double *out,
                              ckpt_error *err)
{
    const sub_impl *s = impl;
    ckpt_method m;
    switch (method) {
    case CKPT_TM_PREDICT:
        m = CKPT_METHOD_PREDICT;
        break;
    case CKPT_TM_PROBA:
        m = CKPT_METHOD_PREDICT_PROBA;
        break;
    case CKPT_TM_DECISION:
        m = CKPT_METHOD_DECISION_FUNCTION;
        break;
    default:
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s: method not available", s->e->cls);
    }
    if (s->e->out_kind[m] == CKPT_OUT_NONE)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s has no %s", s->e->cls,
                              ckpt_method_name(m));
    ckpt_input in;
    memset(&in, 0, sizeof in);
    in.kind = CKPT_IN_DENSE;
    in.n_rows = n;
    in.n_cols = nf;
    in.dense = X;
    in.dense32 = X32;
    return ckpt_est_run_f64(s->e, m, &in, out, err);
}

static ckpt_status sub_run(void *impl, ckpt_tm_method method, const double *X, int64_t n,
                           int64_t nf, double *out, ckpt_error *err)
{
    return sub_run_in(impl, method, X, NULL, n, nf, out, err);
}

/* float32 rows reach the member as float32 (ckpt_input.dense32): an
   estimator that computes in float32 where scikit-learn does (a float32
   LinearRegression init_) does so; the others widen them exactly */
static ckpt_status sub_run32(void *impl, ckpt_tm_method method, const float *X, int64_t n,
                             int64_t nf, double *out, ckpt_error *err)
{
    return sub_run_in(impl, method, NULL, X, n, nf, out, err);
}

static void sub_free(void *impl)
{
    sub_impl *s = impl;
    if (s)
        ckpt_est_free(s->e);
    free(s);
}

static ckpt_status sub_loader(void *user, ckpt_file *f, const ckpt_value *est, ckpt_tm_sub *out,
                              ckpt_error *err)
{
    (void)f;
    (void)err;
    ckpt_build_ctx *ctx = user;
    ckpt_est *e = NULL;
    ckpt_status st = ckpt_est_build(ctx, est, ctx->where, &e);
    if (st != CKPT_OK)
        return st;
    if (e->in_kind != CKPT_IN_DENSE || e->n_features < 0) {
        ckpt_est_free(e);
        return ckpt_rt_fail(ctx, est, "member does not take dense rows");
    }
    sub_impl *s = calloc(1, sizeof *s);
    if (!s) {
        ckpt_est_free(e);
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    }
    s->e = e;
    out->impl = s;
    out->run = sub_run;
    out->run32 = sub_run32;
    out->free = sub_free;
    out->is_classifier = e->is_clf;
    out->n_classes = e->is_clf ? e->labels.n : 0;
    out->n_outputs = e->is_clf ? 1 : (e->n_outputs > 0 ? e->n_outputs : 1);
    out->n_features = e->n_features;
    /* a member without predict_proba (SVC(probability=False), ...) is used
       through predict where sklearn does so (Bagging votes) */
    return CKPT_OK;
}

/* ---------------------------------------------------------------- the estimator */

#define TM_LABEL_STACK 512 /* label / leaf cells converted on the stack */

static ckpt_status tm_est_run(const ckpt_est *e, ckpt_method method, const ckpt_input *in,
                              const ckpt_output *out, ckpt_error *err)
{
    const ckpt_tm *m = e->impl;
    ckpt_tm_method tm;
    switch (method) {
    case CKPT_METHOD_PREDICT:
        tm = CKPT_TM_PREDICT;
        break;
    case CKPT_METHOD_PREDICT_PROBA:
        tm = CKPT_TM_PROBA;
        break;
    case CKPT_METHOD_DECISION_FUNCTION:
        tm = CKPT_TM_DECISION;
        break;
    case CKPT_METHOD_SCORE_SAMPLES:
        tm = CKPT_TM_SCORE_SAMPLES;
        break;
    case CKPT_METHOD_APPLY:
        tm = CKPT_TM_APPLY;
        break;
    default:
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s has no %s", e->cls,
                              ckpt_method_name(method));
    }
    if (in->kind != CKPT_IN_DENSE || !in->dense)
        return ckpt_error_set(err, CKPT_E_INPUT, -1, "%s takes dense float64 rows", e->cls);
    ckpt_out_kind ok = e->out_kind[method];
    if (ok == CKPT_OUT_F64)
        return ckpt_tm_run(m, tm, in->dense, in->n_rows, in->n_cols, out->values, err);
    /* LABEL / INT: computed as doubles (exact small integers), then converted;
       small batches (a single row) on the stack: no allocation per call */
    int64_t cols = e->out_cols[method];
    uint64_t cells;
    if (ckpt_rt_mul((uint64_t)in->n_rows, (uint64_t)cols, &cells) != 0)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "output too large");
    double small[TM_LABEL_STACK];
    double *tmp = cells <= TM_LABEL_STACK ? small : ckpt_rt_calloc(cells, sizeof *tmp);
    if (!tmp)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    ckpt_status st = ckpt_tm_run(m, tm, in->dense, in->n_rows, in->n_cols, tmp, err);
    if (st == CKPT_OK)
        for (uint64_t k = 0; k < cells; k++)
            out->labels[k] = (int64_t)tmp[k];
    if (tmp != small)
        free(tmp);
    return st;
}

static void tm_free_impl(void *impl) { ckpt_tm_free(impl); }

static const ckpt_est_vt tm_vt = {tm_est_run, tm_free_impl};

/* NaN reaches the traversal only where the model can route it. */
static int tm_allow_nan(const ckpt_tm *m)
{
    if (m->kind == TM_HGB_CLF || m->kind == TM_HGB_REG)
        return 1;
    if (m->kind == TM_DT_CLF || m->kind == TM_DT_REG || m->kind == TM_FOREST_CLF ||
        m->kind == TM_FOREST_REG) {
        for (int64_t i = 0; i < m->n_trees; i++)
            if (!m->trees[i].has_missing)
                return 0;
        return 1;
    }
    return 0;
}

ckpt_status ckpt_build_tree_family(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out)
{
    *out = NULL;
    ckpt_tm_ctx tctx = {ctx->f, sub_loader, ctx, ctx->n_threads};
    ckpt_tm *m = NULL;
    ckpt_status st = ckpt_tm_load(&tctx, obj, &m, ctx->err);
    if (st != CKPT_OK) {
        if (st == CKPT_E_UNSUPPORTED)
            st = ckpt_rt_fail(ctx, obj, "%s", ctx->err ? ctx->err->message : "unsupported");
        return st;
    }
    const char *cls = ckpt_value_class(obj);
    ckpt_est *e = ckpt_est_new(&tm_vt, m, cls ? cls : "sklearn.tree");
    if (!e)
        return ckpt_error_set(ctx->err, CKPT_E_NOMEM, -1, "out of memory");
    e->in_kind = CKPT_IN_DENSE;
    e->accepts_csr = 0;
    e->allow_nan = tm_allow_nan(m);
    e->n_features = m->n_features;
    e->is_clf = m->is_clf;
    e->n_outputs = m->is_clf ? 1 : m->n_outputs;
    if (m->is_clf) {
        st = ckpt_rt_labels(ctx, m->classes, &e->labels);
        if (st == CKPT_OK && e->labels.n != m->n_classes)
            st = ckpt_rt_fail(ctx, obj, "classes_ has %lld labels, the model %lld",
                              (long long)e->labels.n, (long long)m->n_classes);
        if (st != CKPT_OK) {
            ckpt_est_free(e);
            return st;
        }
    }
    m->classes = NULL; /* the graph is not used after build */
    static const struct {
        ckpt_method m;
        ckpt_tm_method tm;
    } map[] = {{CKPT_METHOD_PREDICT, CKPT_TM_PREDICT},
               {CKPT_METHOD_PREDICT_PROBA, CKPT_TM_PROBA},
               {CKPT_METHOD_DECISION_FUNCTION, CKPT_TM_DECISION},
               {CKPT_METHOD_SCORE_SAMPLES, CKPT_TM_SCORE_SAMPLES},
               {CKPT_METHOD_APPLY, CKPT_TM_APPLY}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        int64_t cols = ckpt_tm_out_cols(m, map[i].tm);
        if (cols <= 0)
            continue;
        ckpt_out_kind k = CKPT_OUT_F64;
        if (map[i].m == CKPT_METHOD_PREDICT && m->is_clf)
            k = CKPT_OUT_LABEL;
        else if (map[i].m == CKPT_METHOD_APPLY ||
                 (map[i].m == CKPT_METHOD_PREDICT && m->kind == TM_IFOREST))
            k = CKPT_OUT_INT;
        ckpt_est_method(e, map[i].m, k, cols);
    }
    *out = e;
    return CKPT_OK;
}
