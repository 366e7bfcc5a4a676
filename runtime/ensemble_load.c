/*
 * ensemble_load.c - read tree-family estimators from their pickled state.
 *
 * Classes are matched on "sklearn.<any module>.<Name>" so that every module
 * layout (sklearn.tree.tree, sklearn.tree._classes, sklearn.ensemble.forest,
 * sklearn.ensemble._forest, ...) loads.  Nesting (a Voting ensemble holding a
 * GradientBoosting holding a LogisticRegression init_) is bounded by
 * CKPT_TM_MAX_NESTING.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ensemble_impl.h"

/* "sklearn.<...>.<name>" */
static int cls_is(const char *cls, const char *name)
{
    if (!cls || strncmp(cls, "sklearn.", 8) != 0)
        return 0;
    const char *dot = strrchr(cls, '.');
    return dot && strcmp(dot + 1, name) == 0;
}

static const char *const known_classes[] = {
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
    "ExtraTreeRegressor", "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor", "GradientBoostingClassifier",
    "GradientBoostingRegressor", "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor", "AdaBoostClassifier", "AdaBoostRegressor",
    "BaggingClassifier", "BaggingRegressor", "VotingClassifier", "VotingRegressor",
    "IsolationForest", "DummyClassifier", "DummyRegressor", NULL};

int ckpt_tm_knows(const char *cls)
{
    for (int i = 0; known_classes[i]; i++)
        if (cls_is(cls, known_classes[i]))
            return 1;
    return 0;
}

void ckpt_tm_free(ckpt_tm *m)
{
    if (!m)
        return;
    for (int64_t i = 0; i < m->n_trees; i++)
        ckpt_tree_free(&m->trees[i]);
    free(m->trees);
    ckpt_tm_free(m->init);
    free(m->baseline);
    free(m->known_cat);
    free(m->cat_map);
    for (int64_t i = 0; i < m->n_members; i++) {
        ckpt_tm_free(m->members[i]);
        if (m->feats)
            free(m->feats[i]);
        if (m->cls_map)
            free(m->cls_map[i]);
    }
    if (m->kind == TM_IFOREST && m->feats)
        for (int64_t i = 0; i < m->n_trees; i++)
            free(m->feats[i]);
    free(m->members);
    free(m->feats);
    free(m->n_feats);
    free(m->cls_map);
    free(m->weights);
    free(m->constant);
    if (m->kind == TM_SUB && m->sub.free)
        m->sub.free(m->sub.impl);
    free(m);
}

int ckpt_tm_is_classifier(const ckpt_tm *m) { return m->is_clf; }
int64_t ckpt_tm_n_features(const ckpt_tm *m) { return m->n_features; }
int64_t ckpt_tm_n_classes(const ckpt_tm *m) { return m->n_classes; }
const ckpt_value *ckpt_tm_classes(const ckpt_tm *m) { return m->classes; }

/* ---------------------------------------------------------------- helpers */

typedef struct lctx {
    const ckpt_tm_ctx *c;
    int depth;
    ckpt_error *err;
} lctx;

static ckpt_status load_any(lctx *L, const ckpt_value *est, ckpt_tm **out);

static ckpt_status bad(lctx *L, const char *what, const char *cls)
{
    return ckpt_error_set(L->err, CKPT_E_MODEL, -1, "%s: %s", cls ? cls : "estimator", what);
}

/* A sequence of objects: list/tuple, or a numpy object array. */
static ckpt_status seq_len(lctx *L, const ckpt_value *v, int64_t *n, size_t *arr)
{
    *arr = (size_t)-1;
    ckpt_kind k = ckpt_value_kind(v);
    if (k == CKPT_K_LIST || k == CKPT_K_TUPLE) {
        *n = (int64_t)ckpt_value_len(v);
        return CKPT_OK;
    }
    size_t idx;
    if (v && ckpt_file_array_of(L->c->f, v, &idx) == CKPT_OK) {
        const ckpt_array_info *a = ckpt_file_array(L->c->f, idx);
        if (a && a->dtype && a->dtype->type == CKPT_DT_OBJECT) {
            *arr = idx;
            *n = (int64_t)a->nelems;
            return CKPT_OK;
        }
    }
    return ckpt_error_set(L->err, CKPT_E_MODEL, -1, "expected a list or object array");
}

static const ckpt_value *seq_item(lctx *L, const ckpt_value *v, size_t arr, int64_t i)
{
    if (arr == (size_t)-1)
        return ckpt_value_item(v, (size_t)i);
    return ckpt_array_object_item(L->c->f, arr, (uint64_t)i);
}

/* Length of a 1-D array (classes_). */
static ckpt_status array_len(lctx *L, const ckpt_value *v, int64_t *n)
{
    size_t idx;
    if (!v || ckpt_file_array_of(L->c->f, v, &idx) != CKPT_OK)
        return ckpt_error_set(L->err, CKPT_E_MODEL, -1, "classes_ is not an array");
    const ckpt_array_info *a = ckpt_file_array(L->c->f, idx);
    if (!a || a->ndim != 1)
        return ckpt_error_set(L->err, CKPT_E_UNSUPPORTED, -1,
                              "multi-output classifiers are not supported");
    *n = a->shape[0];
    return CKPT_OK;
}

/* Numeric array -> malloc'd doubles (exactly `want` elements unless want < 0). */
static ckpt_status array_f64(lctx *L, const ckpt_value *v, int64_t want, double **out, int64_t *n)
{
    const ckpt_array_info *a;
    size_t idx;
    ckpt_status st = ckpt_tree_array(L->c->f, v, &idx, &a, L->err);
    if (st != CKPT_OK)
        return st;
    if ((want >= 0 && (int64_t)a->nelems != want) || a->nelems > (uint64_t)CKPT_TM_MAX_ESTIMATORS * 64)
        return ckpt_error_set(L->err, CKPT_E_MODEL, -1, "array has %llu elements, expected %lld",
                              (unsigned long long)a->nelems, (long long)want);
    double *p = malloc((a->nelems ? a->nelems : 1) * sizeof *p);
    if (!p)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (uint64_t k = 0; k < a->nelems; k++)
        p[k] = ckpt_array_get_f64(L->c->f, idx, k);
    *out = p;
    if (n)
        *n = (int64_t)a->nelems;
    return CKPT_OK;
}

static ckpt_status array_i64(lctx *L, const ckpt_value *v, int64_t **out, int64_t *n)
{
    const ckpt_array_info *a;
    size_t idx;
    ckpt_status st = ckpt_tree_array(L->c->f, v, &idx, &a, L->err);
    if (st != CKPT_OK)
        return st;
    if (a->nelems > (uint64_t)INT32_MAX)
        return ckpt_error_set(L->err, CKPT_E_LIMIT, -1, "index array too long");
    int64_t *p = malloc((a->nelems ? a->nelems : 1) * sizeof *p);
    if (!p)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (uint64_t k = 0; k < a->nelems; k++) {
        if (ckpt_array_get_i64(L->c->f, idx, k, &p[k]) != CKPT_OK) {
            free(p);
            return ckpt_error_set(L->err, CKPT_E_MODEL, -1, "index array holds a non-integer");
        }
    }
    *out = p;
    *n = (int64_t)a->nelems;
    return CKPT_OK;
}

static int str_attr(const ckpt_value *est, const char *name, const char *want)
{
    return ckpt_value_is_str(ckpt_value_attr(est, name), want);
}

static ckpt_status n_features_of(lctx *L, const ckpt_value *est, int64_t *nf)
{
    const char *names[] = {"n_features_in_", "_n_features", "n_features_", "n_features", NULL};
    for (int i = 0; names[i]; i++)
        if (ckpt_tree_num_i64(ckpt_value_attr(est, names[i]), nf) == 0 && *nf > 0 &&
            *nf <= INT32_MAX)
            return CKPT_OK;
    return bad(L, "n_features_in_ missing", ckpt_value_class(est));
}

static ckpt_tm *tm_new(tm_kind kind)
{
    ckpt_tm *m = calloc(1, sizeof *m);
    if (m)
        m->kind = kind;
    return m;
}

/* ---------------------------------------------------------------- trees */

static ckpt_status load_tree_est(lctx *L, const ckpt_value *est, ckpt_tree *t, int64_t *ncls)
{
    ckpt_status st = ckpt_tree_load(L->c->f, ckpt_value_attr(est, "tree_"), t, L->err);
    if (st != CKPT_OK)
        return st;
    if (ncls) {
        st = array_len(L, ckpt_value_attr(est, "classes_"), ncls);
        if (st == CKPT_OK && (*ncls < 1 || *ncls != t->n_classes || t->n_outputs != 1))
            st = bad(L, "classes_ does not match tree_.value", ckpt_value_class(est));
        if (st == CKPT_OK)
            st = ckpt_tree_normalize(t, L->err);
        if (st != CKPT_OK)
            ckpt_tree_free(t);
    }
    return st;
}

static ckpt_status load_dt(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    m->trees = calloc(1, sizeof *m->trees);
    if (!m->trees)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    ckpt_status st = load_tree_est(L, est, &m->trees[0], m->is_clf ? &m->n_classes : NULL);
    if (st != CKPT_OK)
        return st;
    m->n_trees = 1;
    m->n_features = m->trees[0].n_features;
    m->n_outputs = m->trees[0].n_outputs;
    return CKPT_OK;
}

/* A list of tree estimators (forests, IsolationForest). */
static ckpt_status load_tree_list(lctx *L, const ckpt_value *list, ckpt_tm *m, int clf)
{
    int64_t n;
    size_t arr;
    ckpt_status st = seq_len(L, ckpt_value_attr(list, "estimators_"), &n, &arr);
    if (st != CKPT_OK)
        return st;
    const ckpt_value *ests = ckpt_value_attr(list, "estimators_");
    if (n < 1 || n > CKPT_TM_MAX_ESTIMATORS)
        return bad(L, "estimators_ is empty or too long", ckpt_value_class(list));
    m->trees = calloc((size_t)n, sizeof *m->trees);
    if (!m->trees)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        int64_t nc = 0;
        st = load_tree_est(L, seq_item(L, ests, arr, i), &m->trees[i], clf ? &nc : NULL);
        if (st != CKPT_OK)
            return st;
        m->n_trees = i + 1;
        if (clf && nc != m->n_classes)
            return bad(L, "a tree has a different number of classes", ckpt_value_class(list));
        if (i > 0 && (m->trees[i].n_outputs != m->trees[0].n_outputs))
            return bad(L, "trees disagree on n_outputs", ckpt_value_class(list));
    }
    m->n_outputs = m->trees[0].n_outputs;
    return CKPT_OK;
}

static ckpt_status load_forest(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    ckpt_status st = n_features_of(L, est, &m->n_features);
    if (st == CKPT_OK && m->is_clf)
        st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes);
    if (st == CKPT_OK)
        st = load_tree_list(L, est, m, m->is_clf);
    for (int64_t i = 0; st == CKPT_OK && i < m->n_trees; i++)
        if (m->trees[i].n_features != m->n_features)
            st = bad(L, "a tree has a different n_features", ckpt_value_class(est));
    return st;
}

/* ---------------------------------------------------------------- gradient boosting */

static ckpt_status load_gb(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st = n_features_of(L, est, &m->n_features);
    if (st != CKPT_OK)
        return st;
    if (m->is_clf) {
        if ((st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes)) != CKPT_OK)
            return st;
        if (m->n_classes < 2 || m->n_classes > CKPT_TM_MAX_BOOST_CLASSES)
            return bad(L, "fewer than 2 or too many classes", cls);
        if (str_attr(est, "loss", "exponential"))
            m->loss = TM_LOSS_EXPONENTIAL;
        else if (str_attr(est, "loss", "deviance") || str_attr(est, "loss", "log_loss"))
            m->loss = m->n_classes == 2 ? TM_LOSS_BINOMIAL : TM_LOSS_MULTINOMIAL;
        else
            return bad(L, "unknown loss", cls);
        m->K = m->n_classes == 2 ? 1 : m->n_classes;
    } else {
        m->loss = TM_LOSS_IDENTITY;
        m->K = 1;
        m->n_outputs = 1;
    }
    if (ckpt_tree_num_f64(ckpt_value_attr(est, "learning_rate"), &m->learning_rate) != 0)
        return bad(L, "learning_rate missing", cls);
    const ckpt_value *ests = ckpt_value_attr(est, "estimators_");
    size_t idx;
    if (!ests || ckpt_file_array_of(L->c->f, ests, &idx) != CKPT_OK)
        return bad(L, "estimators_ is not an array", cls);
    const ckpt_array_info *a = ckpt_file_array(L->c->f, idx);
    if (!a || a->ndim != 2 || a->shape[1] != m->K || a->shape[0] < 1 ||
        a->shape[0] > CKPT_TM_MAX_ESTIMATORS / m->K || a->dtype->type != CKPT_DT_OBJECT)
        return bad(L, "estimators_ shape does not match the loss", cls);
    m->n_stages = a->shape[0];
    int64_t n = m->n_stages * m->K;
    m->trees = calloc((size_t)n, sizeof *m->trees);
    if (!m->trees)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        st = load_tree_est(L, ckpt_array_object_item(L->c->f, idx, (uint64_t)i), &m->trees[i],
                           NULL);
        if (st != CKPT_OK)
            return st;
        m->n_trees = i + 1;
        if (m->trees[i].n_features != m->n_features || m->trees[i].n_outputs != 1 ||
            m->trees[i].n_classes != 1)
            return bad(L, "a stage tree does not match", cls);
    }
    const ckpt_value *init = ckpt_value_attr(est, "init_");
    if (ckpt_value_is_str(init, "zero")) {
        m->init_zero = 1;
        return CKPT_OK;
    }
    if (!init || ckpt_value_kind(init) != CKPT_K_OBJECT)
        return bad(L, "init_ is neither 'zero' nor an estimator", cls);
    const char *icls = ckpt_value_class(init);
    if (icls && strstr(icls, "gradient_boosting.") &&
        (strstr(icls, "Estimator") || strstr(icls, "estimator")))
        return ckpt_error_set(L->err, CKPT_E_UNSUPPORTED, -1,
                              "%s: init_ %s (scikit-learn < 0.21) is not supported", cls, icls);
    st = load_any(L, init, &m->init);
    if (st != CKPT_OK)
        return st;
    if (m->is_clf && (!m->init->is_clf || m->init->n_classes != m->n_classes))
        return bad(L, "init_ does not predict the same classes", cls);
    if (!m->is_clf && (m->init->is_clf || m->init->n_outputs != 1))
        return bad(L, "init_ is not a single-output regressor", cls);
    return CKPT_OK;
}

/* ---------------------------------------------------------------- HGB */

static ckpt_status load_hgb(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st = n_features_of(L, est, &m->n_features);
    if (st != CKPT_OK)
        return st;
    const ckpt_value *pre = ckpt_value_attr(est, "_preprocessor");
    if (pre && ckpt_value_kind(pre) != CKPT_K_NONE)
        return ckpt_error_set(L->err, CKPT_E_UNSUPPORTED, -1,
                              "%s: categorical_features='from_dtype' preprocessing", cls);
    if (ckpt_tree_num_i64(ckpt_value_attr(est, "n_trees_per_iteration_"), &m->K) != 0 ||
        m->K < 1 || m->K > CKPT_TM_MAX_CLASSES)
        return bad(L, "n_trees_per_iteration_ missing", cls);
    if (m->is_clf) {
        if ((st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes)) != CKPT_OK)
            return st;
        if (!((m->K == 1 && m->n_classes == 2) || (m->K > 1 && m->K == m->n_classes)) ||
            m->n_classes > CKPT_TM_MAX_BOOST_CLASSES)
            return bad(L, "classes_ and n_trees_per_iteration_ disagree", cls);
        m->loss = m->K == 1 ? TM_LOSS_BINOMIAL : TM_LOSS_MULTINOMIAL;
    } else {
        m->n_outputs = 1;
        if (m->K != 1)
            return bad(L, "regressor with several trees per iteration", cls);
        m->loss = (str_attr(est, "loss", "poisson") || str_attr(est, "loss", "gamma"))
                      ? TM_LOSS_EXP_LINK
                      : TM_LOSS_IDENTITY;
    }
    /* baseline: array of K values (shape (1,K) or (K,1)), or a number */
    const ckpt_value *bv = ckpt_value_attr(est, "_baseline_prediction");
    m->baseline = calloc((size_t)m->K, sizeof *m->baseline);
    if (!m->baseline)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    if (ckpt_tree_num_f64(bv, &m->baseline[0]) != 0 || m->K != 1) {
        double *b;
        if ((st = array_f64(L, bv, m->K, &b, NULL)) != CKPT_OK)
            return st;
        memcpy(m->baseline, b, (size_t)m->K * sizeof *b);
        free(b);
    }
    /* known categories per categorical feature */
    const ckpt_value *bm = ckpt_value_attr(est, "_bin_mapper");
    const ckpt_value *isc = ckpt_value_attr(bm, "is_categorical_");
    if (isc && ckpt_value_kind(isc) != CKPT_K_NONE) {
        double *flags;
        if ((st = array_f64(L, isc, m->n_features, &flags, NULL)) != CKPT_OK)
            return st;
        const ckpt_value *thr = ckpt_value_attr(bm, "bin_thresholds_");
        int64_t nthr;
        size_t arr;
        m->cat_map = malloc((size_t)m->n_features * sizeof *m->cat_map);
        int64_t ncat = 0;
        for (int64_t j = 0; j < m->n_features; j++)
            ncat += flags[j] != 0.0;
        m->known_cat = calloc((size_t)(ncat ? ncat : 1) * 8, sizeof *m->known_cat);
        st = (m->cat_map && m->known_cat) ? seq_len(L, thr, &nthr, &arr)
                                          : ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
        if (st == CKPT_OK && nthr != m->n_features)
            st = bad(L, "bin_thresholds_ length differs from n_features", cls);
        int64_t c = 0;
        for (int64_t j = 0; st == CKPT_OK && j < m->n_features; j++) {
            m->cat_map[j] = -1;
            if (flags[j] == 0.0)
                continue;
            m->cat_map[j] = (int32_t)c;
            double *cats;
            int64_t nc;
            st = array_f64(L, seq_item(L, thr, arr, j), -1, &cats, &nc);
            for (int64_t k = 0; st == CKPT_OK && k < nc; k++) {
                if (!(cats[k] >= 0.0 && cats[k] < 256.0))
                    continue;
                unsigned b = (unsigned)cats[k];
                m->known_cat[c * 8 + (b >> 5)] |= 1u << (b & 31);
            }
            if (st == CKPT_OK)
                free(cats);
            c++;
        }
        free(flags);
        if (st != CKPT_OK)
            return st;
    }
    /* predictors: list (iterations) of lists (K) of TreePredictor */
    const ckpt_value *preds = ckpt_value_attr(est, "_predictors");
    int64_t n_iter;
    size_t arr;
    if ((st = seq_len(L, preds, &n_iter, &arr)) != CKPT_OK)
        return st;
    if (n_iter < 0 || n_iter > CKPT_TM_MAX_ESTIMATORS / m->K)
        return bad(L, "too many iterations", cls);
    m->n_stages = n_iter;
    m->trees = calloc((size_t)(n_iter * m->K > 0 ? n_iter * m->K : 1), sizeof *m->trees);
    if (!m->trees)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t i = 0; i < n_iter; i++) {
        const ckpt_value *it = seq_item(L, preds, arr, i);
        int64_t nk;
        size_t arr2;
        if ((st = seq_len(L, it, &nk, &arr2)) != CKPT_OK)
            return st;
        if (nk != m->K)
            return bad(L, "an iteration does not hold n_trees_per_iteration_ predictors", cls);
        for (int64_t k = 0; k < m->K; k++) {
            st = ckpt_tree_load_hgb(L->c->f, seq_item(L, it, arr2, k), m->n_features,
                                    &m->trees[i * m->K + k], L->err);
            if (st != CKPT_OK)
                return st;
            m->n_trees++;
            const ckpt_tree *t = &m->trees[i * m->K + k];
            for (int64_t q = 0; q < t->n_nodes; q++)
                if (t->nodes[q].left >= 0 && t->nodes[q].is_cat &&
                    (!m->cat_map || m->cat_map[t->nodes[q].feature] < 0))
                    return bad(L, "categorical split on a feature that is not categorical", cls);
        }
    }
    return CKPT_OK;
}

/* ---------------------------------------------------------------- members */

static ckpt_status load_members(lctx *L, const ckpt_value *ests, ckpt_tm *m)
{
    int64_t n;
    size_t arr;
    ckpt_status st = seq_len(L, ests, &n, &arr);
    if (st != CKPT_OK)
        return st;
    if (n < 1 || n > CKPT_TM_MAX_ESTIMATORS)
        return bad(L, "estimators_ is empty or too long", NULL);
    m->members = calloc((size_t)n, sizeof *m->members);
    if (!m->members)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        st = load_any(L, seq_item(L, ests, arr, i), &m->members[i]);
        m->n_members = i + 1;
        if (st != CKPT_OK)
            return st;
    }
    return CKPT_OK;
}

static ckpt_status load_ada(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st = n_features_of(L, est, &m->n_features);
    if (st == CKPT_OK && m->is_clf)
        st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes);
    if (st == CKPT_OK)
        st = load_members(L, ckpt_value_attr(est, "estimators_"), m);
    if (st != CKPT_OK)
        return st;
    int64_t nw;
    if ((st = array_f64(L, ckpt_value_attr(est, "estimator_weights_"), -1, &m->weights, &nw)) !=
        CKPT_OK)
        return st;
    if (nw < m->n_members)
        return bad(L, "fewer estimator_weights_ than estimators_", cls);
    m->weight_sum = 0.0;
    for (int64_t i = 0; i < nw; i++)
        m->weight_sum += m->weights[i];
    m->samme_r = str_attr(est, "algorithm", "SAMME.R");
    m->n_outputs = 1;
    for (int64_t i = 0; i < m->n_members; i++) {
        const ckpt_tm *e = m->members[i];
        if (e->n_features != m->n_features || e->is_clf != m->is_clf ||
            (m->is_clf && e->n_classes != m->n_classes) || (!m->is_clf && e->n_outputs != 1))
            return bad(L, "a member does not match the ensemble", cls);
    }
    if (m->is_clf && m->n_classes < 2)
        return bad(L, "fewer than 2 classes", cls);
    return CKPT_OK;
}

static ckpt_status load_bag(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st = n_features_of(L, est, &m->n_features);
    if (st == CKPT_OK && m->is_clf)
        st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes);
    if (st == CKPT_OK)
        st = load_members(L, ckpt_value_attr(est, "estimators_"), m);
    if (st != CKPT_OK)
        return st;
    if (ckpt_tree_num_i64(ckpt_value_attr(est, "n_estimators"), &m->n_estimators_param) != 0 ||
        m->n_estimators_param < 1)
        return bad(L, "n_estimators missing", cls);
    m->n_outputs = 1;
    const ckpt_value *fv = ckpt_value_attr(est, "estimators_features_");
    int64_t nfv;
    size_t arr;
    if ((st = seq_len(L, fv, &nfv, &arr)) != CKPT_OK)
        return st;
    if (nfv != m->n_members)
        return bad(L, "estimators_features_ length differs", cls);
    m->feats = calloc((size_t)m->n_members, sizeof *m->feats);
    m->n_feats = calloc((size_t)m->n_members, sizeof *m->n_feats);
    m->cls_map = calloc((size_t)m->n_members, sizeof *m->cls_map);
    if (!m->feats || !m->n_feats || !m->cls_map)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t i = 0; i < m->n_members; i++) {
        const ckpt_tm *e = m->members[i];
        if ((st = array_i64(L, seq_item(L, fv, arr, i), &m->feats[i], &m->n_feats[i])) != CKPT_OK)
            return st;
        for (int64_t k = 0; k < m->n_feats[i]; k++)
            if (m->feats[i][k] < 0 || m->feats[i][k] >= m->n_features)
                return bad(L, "estimators_features_ index out of range", cls);
        if (e->n_features != m->n_feats[i] || e->is_clf != m->is_clf)
            return bad(L, "a member does not match its feature subset", cls);
        if (m->is_clf) {
            /* member classes_ are indices into the ensemble's classes_ */
            const ckpt_value *mc = ckpt_tm_classes(e);
            int64_t nmc = 0;
            if (!mc || (st = array_i64(L, mc, &m->cls_map[i], &nmc)) != CKPT_OK)
                return st != CKPT_OK ? st : bad(L, "member has no classes_", cls);
            if (nmc != e->n_classes)
                return bad(L, "member classes_ mismatch", cls);
            for (int64_t k = 0; k < nmc; k++)
                if (m->cls_map[i][k] < 0 || m->cls_map[i][k] >= m->n_classes)
                    return bad(L, "member class outside the ensemble's classes", cls);
        } else if (e->n_outputs != 1) {
            return bad(L, "multi-output member", cls);
        }
    }
    return CKPT_OK;
}

static ckpt_status load_vote(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st = CKPT_OK;
    if (m->is_clf)
        st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes);
    if (st == CKPT_OK)
        st = load_members(L, ckpt_value_attr(est, "estimators_"), m);
    if (st != CKPT_OK)
        return st;
    m->soft = str_attr(est, "voting", "soft");
    m->n_outputs = 1;
    m->n_features = m->members[0]->n_features;
    for (int64_t i = 0; i < m->n_members; i++) {
        const ckpt_tm *e = m->members[i];
        if (e->n_features != m->n_features || e->is_clf != m->is_clf ||
            (m->is_clf && e->n_classes != m->n_classes) || (!m->is_clf && e->n_outputs != 1))
            return bad(L, "a member does not match the ensemble", cls);
    }
    /* weights: None, or one per *named* estimator, with 'drop' ones removed */
    const ckpt_value *w = ckpt_value_attr(est, "weights");
    if (w && ckpt_value_kind(w) != CKPT_K_NONE) {
        const ckpt_value *named = ckpt_value_attr(est, "estimators");
        size_t nn = ckpt_value_len(named), nw = ckpt_value_len(w);
        int64_t nwa = -1;
        double *wa = NULL;
        if (ckpt_value_kind(w) != CKPT_K_LIST && ckpt_value_kind(w) != CKPT_K_TUPLE) {
            if ((st = array_f64(L, w, -1, &wa, &nwa)) != CKPT_OK)
                return st;
            nw = (size_t)nwa;
        }
        if (nw != nn) {
            free(wa);
            return bad(L, "weights and estimators differ in length", cls);
        }
        m->weights = malloc((size_t)m->n_members * sizeof *m->weights);
        if (!m->weights) {
            free(wa);
            return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
        }
        int64_t j = 0;
        for (size_t i = 0; i < nn; i++) {
            const ckpt_value *pair = ckpt_value_item(named, i);
            if (ckpt_value_is_str(ckpt_value_item(pair, 1), "drop"))
                continue;
            double x;
            if (wa)
                x = wa[i];
            else if (ckpt_tree_num_f64(ckpt_value_item(w, i), &x) != 0)
                x = NAN;
            if (j >= m->n_members || !(x == x)) {
                free(wa);
                return bad(L, "weights do not match the fitted estimators", cls);
            }
            m->weights[j++] = x;
        }
        free(wa);
        if (j != m->n_members)
            return bad(L, "weights do not match the fitted estimators", cls);
        m->weight_sum = 0.0;
        for (int64_t i = 0; i < m->n_members; i++)
            m->weight_sum += m->weights[i];
    }
    return CKPT_OK;
}

static ckpt_status load_iforest(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st = n_features_of(L, est, &m->n_features);
    if (st == CKPT_OK)
        st = load_tree_list(L, est, m, 0);
    if (st != CKPT_OK)
        return st;
    double max_samples;
    if (ckpt_tree_num_f64(ckpt_value_attr(est, "offset_"), &m->offset) != 0 ||
        ckpt_tree_num_f64(ckpt_value_attr(est, "max_samples_"), &max_samples) != 0)
        return bad(L, "offset_ / max_samples_ missing", cls);
    m->denom = (double)m->n_trees * ckpt_tm_avg_path_length(max_samples);
    int64_t maxf = m->n_features;
    ckpt_tree_num_i64(ckpt_value_attr(est, "_max_features"), &maxf);
    m->n_outputs = 1;
    m->feats = calloc((size_t)m->n_trees, sizeof *m->feats);
    m->n_feats = calloc((size_t)m->n_trees, sizeof *m->n_feats);
    if (!m->feats || !m->n_feats)
        return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
    const ckpt_value *fv = ckpt_value_attr(est, "estimators_features_");
    int subsample = maxf != m->n_features;
    int64_t nfv = 0;
    size_t arr = (size_t)-1;
    if (subsample && ((st = seq_len(L, fv, &nfv, &arr)) != CKPT_OK || nfv != m->n_trees))
        return st != CKPT_OK ? st : bad(L, "estimators_features_ length differs", cls);
    for (int64_t i = 0; i < m->n_trees; i++) {
        if (!subsample) {
            m->n_feats[i] = m->n_features;
            if (m->trees[i].n_features != m->n_features)
                return bad(L, "a tree has a different n_features", cls);
            continue;
        }
        if ((st = array_i64(L, seq_item(L, fv, arr, i), &m->feats[i], &m->n_feats[i])) != CKPT_OK)
            return st;
        if (m->n_feats[i] != m->trees[i].n_features)
            return bad(L, "feature subset does not match its tree", cls);
        for (int64_t k = 0; k < m->n_feats[i]; k++)
            if (m->feats[i][k] < 0 || m->feats[i][k] >= m->n_features)
                return bad(L, "estimators_features_ index out of range", cls);
    }
    for (int64_t i = 0; i < m->n_trees; i++) {
        ckpt_tree *t = &m->trees[i];
        if (!t->n_node_samples)
            return bad(L, "tree nodes lack n_node_samples", cls);
        /* the block kernel walks whole rows: a subset tree's node features are
           mapped to the input's columns (the per-row walk keeps the subset) */
        if (m->feats[i] && t->fast)
            for (int64_t j = 0; j < t->n_nodes; j++) {
                uint32_t f = t->fast[j].feat & ~CKPT_FNODE_NAN_LEFT;
                t->fast[j].feat = (t->fast[j].feat & CKPT_FNODE_NAN_LEFT) |
                                  (uint32_t)m->feats[i][f]; /* f < n_feats[i], checked */
            }
        t->leaf_term = malloc((size_t)t->n_nodes * sizeof *t->leaf_term);
        if (!t->leaf_term)
            return ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
        for (int64_t j = 0; j < t->n_nodes; j++) /* sklearn: (path + c(n_leaf)) - 1 */
            t->leaf_term[j] = ((double)(t->depth[j] + 1) +
                               ckpt_tm_avg_path_length((double)t->n_node_samples[j])) -
                              1.0;
    }
    return CKPT_OK;
}

static ckpt_status load_dummy(lctx *L, const ckpt_value *est, ckpt_tm *m)
{
    const char *cls = ckpt_value_class(est);
    ckpt_status st;
    int64_t nf = 0;
    n_features_of(L, est, &nf); /* Dummy ignores X; keep 0 when absent */
    m->n_features = nf;
    if (m->is_clf) {
        const ckpt_value *strat = ckpt_value_attr(est, "_strategy");
        if (!strat || ckpt_value_kind(strat) != CKPT_K_STR)
            strat = ckpt_value_attr(est, "strategy");
        int prior = ckpt_value_is_str(strat, "prior");
        int mf = ckpt_value_is_str(strat, "most_frequent");
        if (!prior && !mf)
            return ckpt_error_set(L->err, CKPT_E_UNSUPPORTED, -1,
                                  "%s: only strategy 'prior' and 'most_frequent' are supported",
                                  cls);
        if ((st = array_len(L, ckpt_value_attr(est, "classes_"), &m->n_classes)) != CKPT_OK)
            return st;
        if ((st = array_f64(L, ckpt_value_attr(est, "class_prior_"), m->n_classes, &m->constant,
                            NULL)) != CKPT_OK)
            return st;
        if (mf) { /* one-hot at the first maximum */
            int64_t best = 0;
            for (int64_t k = 1; k < m->n_classes; k++)
                if (m->constant[k] > m->constant[best])
                    best = k;
            for (int64_t k = 0; k < m->n_classes; k++)
                m->constant[k] = k == best ? 1.0 : 0.0;
        }
        return CKPT_OK;
    }
    int64_t n;
    if ((st = array_f64(L, ckpt_value_attr(est, "constant_"), -1, &m->constant, &n)) != CKPT_OK)
        return st;
    if (n < 1)
        return bad(L, "empty constant_", cls);
    m->n_outputs = n;
    return CKPT_OK;
}

/* ---------------------------------------------------------------- dispatch */

static ckpt_status load_any(lctx *L, const ckpt_value *est, ckpt_tm **out)
{
    *out = NULL;
    if (L->depth >= CKPT_TM_MAX_NESTING)
        return ckpt_error_set(L->err, CKPT_E_LIMIT, -1, "estimators nested deeper than %d",
                              CKPT_TM_MAX_NESTING);
    const char *cls = ckpt_value_class(est);
    ckpt_tm *m = NULL;
    ckpt_status st;
    L->depth++;
    if (!ckpt_tm_knows(cls)) {
        if (!L->c->sub_loader) {
            st = ckpt_error_set(L->err, CKPT_E_UNSUPPORTED, -1, "estimator %s is not supported",
                                cls ? cls : "(not an object)");
            goto done;
        }
        m = tm_new(TM_SUB);
        if (!m) {
            st = ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
            goto done;
        }
        st = L->c->sub_loader(L->c->user, L->c->f, est, &m->sub, L->err);
        if (st == CKPT_OK) {
            m->is_clf = m->sub.is_classifier;
            m->n_classes = m->sub.n_classes;
            m->n_outputs = m->sub.n_outputs ? m->sub.n_outputs : 1;
            m->n_features = m->sub.n_features;
            m->classes = ckpt_value_attr(est, "classes_");
        }
        goto done;
    }
    int clf = strstr(cls, "Classifier") != NULL;
    tm_kind kind;
    if (cls_is(cls, "DecisionTreeClassifier") || cls_is(cls, "ExtraTreeClassifier"))
        kind = TM_DT_CLF;
    else if (cls_is(cls, "DecisionTreeRegressor") || cls_is(cls, "ExtraTreeRegressor"))
        kind = TM_DT_REG;
    else if (strstr(cls, "RandomForest") || strstr(cls, "ExtraTrees"))
        kind = clf ? TM_FOREST_CLF : TM_FOREST_REG;
    else if (strstr(cls, "HistGradientBoosting"))
        kind = clf ? TM_HGB_CLF : TM_HGB_REG;
    else if (strstr(cls, "GradientBoosting"))
        kind = clf ? TM_GB_CLF : TM_GB_REG;
    else if (strstr(cls, "AdaBoost"))
        kind = clf ? TM_ADA_CLF : TM_ADA_REG;
    else if (strstr(cls, "Bagging"))
        kind = clf ? TM_BAG_CLF : TM_BAG_REG;
    else if (strstr(cls, "Voting"))
        kind = clf ? TM_VOTE_CLF : TM_VOTE_REG;
    else if (strstr(cls, "IsolationForest"))
        kind = TM_IFOREST;
    else
        kind = clf ? TM_DUMMY_CLF : TM_DUMMY_REG;
    m = tm_new(kind);
    if (!m) {
        st = ckpt_error_set(L->err, CKPT_E_NOMEM, -1, "out of memory");
        goto done;
    }
    m->is_clf = clf;
    m->n_threads = L->c->n_threads;
    if (m->n_threads <= 0) { /* automatic: resolved once here, not per call */
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        m->n_threads = nc < 1 ? 1 : (nc > CKPT_TM_AUTO_THREADS ? CKPT_TM_AUTO_THREADS : (int)nc);
    }
    m->classes = clf ? ckpt_value_attr(est, "classes_") : NULL;
    switch (kind) {
    case TM_DT_CLF:
    case TM_DT_REG:
        st = load_dt(L, est, m);
        break;
    case TM_FOREST_CLF:
    case TM_FOREST_REG:
        st = load_forest(L, est, m);
        break;
    case TM_GB_CLF:
    case TM_GB_REG:
        st = load_gb(L, est, m);
        break;
    case TM_HGB_CLF:
    case TM_HGB_REG:
        st = load_hgb(L, est, m);
        break;
    case TM_ADA_CLF:
    case TM_ADA_REG:
        st = load_ada(L, est, m);
        break;
    case TM_BAG_CLF:
    case TM_BAG_REG:
        st = load_bag(L, est, m);
        break;
    case TM_VOTE_CLF:
    case TM_VOTE_REG:
        st = load_vote(L, est, m);
        break;
    case TM_IFOREST:
        st = load_iforest(L, est, m);
        break;
    default:
        st = load_dummy(L, est, m);
        break;
    }
done:
    L->depth--;
    if (st != CKPT_OK) {
        ckpt_tm_free(m);
        if (L->err && !L->err->member[0] && cls)
            ckpt_error_member(L->err, cls);
        return st;
    }
    *out = m;
    return CKPT_OK;
}

ckpt_status ckpt_tm_load(const ckpt_tm_ctx *ctx, const ckpt_value *est, ckpt_tm **out,
                         ckpt_error *err)
{
    if (!ctx || !ctx->f || !est || !out)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "ckpt_tm_load: NULL argument");
    lctx L = {ctx, 0, err};
    return load_any(&L, est, out);
}

double ckpt_tm_avg_path_length(double n)
{
    if (n <= 1.0)
        return 0.0;
    if (n == 2.0)
        return 1.0;
    return 2.0 * (log(n - 1.0) + 0.5772156649015329) - 2.0 * (n - 1.0) / n;
}
