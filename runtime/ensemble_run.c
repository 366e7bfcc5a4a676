/*
 * ensemble_run.c - prediction for the tree-family estimators, reproducing
 * scikit-learn 1.2's arithmetic (and its summation order where it matters):
 *
 *   DecisionTree      proba = value[leaf] / sum(value[leaf]) (0 sum -> 1);
 *                     predict = first argmax of value[leaf]
 *   Forest            proba = (0 + p_1 + ... + p_n) / n; regressors likewise
 *   GradientBoosting  raw = init(X32) then raw += learning_rate * value[leaf]
 *                     stage by stage; binomial expit, multinomial softmax,
 *                     exponential expit(2 raw) with predict raw >= 0
 *   HistGB            raw = baseline + sum of leaf values (float64 input)
 *   AdaBoost          SAMME / SAMME.R decision / weight_sum; proba by softmax;
 *                     regressor: weighted median of member predictions
 *   Bagging           proba[:, member classes] += member proba; / n_estimators
 *   Voting            hard: weighted bincount argmax; soft: weighted average
 *   IsolationForest   2^-(sum(depth + c(n_leaf)) / (n_trees c(max_samples)))
 *
 * Rows of the direct tree kinds are split over threads for large batches;
 * the single-row path allocates nothing when n_features <= ROW_STACK.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ensemble_impl.h"
#include "model_internal.h" /* ckpt_k_expit / _softmax / _argmax */

#define ROW_STACK 1024          /* features converted on the stack */
#define CLS_STACK 256           /* classes accumulated on the stack */
#define PAR_MIN_WORK (1 << 16)  /* rows * trees before threads are used */
#define PAR_MAX_THREADS 16

static const double EPS32 = 1.1920928955078125e-07; /* np.finfo(np.float32).eps */
static const double EPS64 = 2.220446049250313e-16;

/* IsolationForest outputs from the summed path lengths of a row. */
static double iforest_out(const ckpt_tm *m, ckpt_tm_method method, double depths)
{
    double score = m->denom != 0.0 ? pow(2.0, -(depths / m->denom)) : pow(2.0, -1.0);
    double dec = -score - m->offset;
    if (method == CKPT_TM_SCORE_SAMPLES)
        return -score;
    if (method == CKPT_TM_DECISION)
        return dec;
    return dec < 0 ? -1.0 : 1.0;
}

int64_t ckpt_tm_out_cols(const ckpt_tm *m, ckpt_tm_method method)
{
    int64_t dec = (m->is_clf && m->n_classes == 2) ? 1 : m->n_classes;
    switch (method) {
    case CKPT_TM_PREDICT:
        return m->is_clf ? 1 : m->n_outputs;
    case CKPT_TM_PROBA:
        if (!m->is_clf || (m->kind == TM_VOTE_CLF && !m->soft))
            return 0;
        return m->n_classes;
    case CKPT_TM_DECISION:
        if (m->kind == TM_IFOREST)
            return 1;
        if (m->kind == TM_GB_CLF || m->kind == TM_HGB_CLF || m->kind == TM_ADA_CLF)
            return dec;
        return 0;
    case CKPT_TM_SCORE_SAMPLES:
        return m->kind == TM_IFOREST ? 1 : 0;
    case CKPT_TM_APPLY:
        if (m->kind == TM_DT_CLF || m->kind == TM_DT_REG || m->kind == TM_FOREST_CLF ||
            m->kind == TM_FOREST_REG || m->kind == TM_GB_CLF || m->kind == TM_GB_REG)
            return m->n_trees;
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------ direct tree kinds */

/* Normalized class row of a classification tree leaf (t->pnorm, made at load
   by ckpt_tree_normalize) added to acc. */
static void add_leaf_proba(const ckpt_tree *t, int64_t leaf, int64_t K, double *acc)
{
    const double *p = t->pnorm + leaf * t->n_classes; /* n_outputs == 1 */
    for (int64_t k = 0; k < K; k++)
        acc[k] += p[k];
}

/* GB raw prediction of one float32 row on top of raw[0..K) (init already in). */
static void gb_raw(const ckpt_tm *m, const float *x, double *raw)
{
    for (int64_t s = 0; s < m->n_stages; s++)
        for (int64_t k = 0; k < m->K; k++) {
            const ckpt_tree *t = &m->trees[s * m->K + k];
            int64_t leaf = ckpt_tree_leaf32(t, x);
            raw[k] += m->learning_rate * t->value[leaf];
        }
}

static void hgb_raw(const ckpt_tm *m, const double *x, double *raw)
{
    for (int64_t k = 0; k < m->K; k++)
        raw[k] = m->baseline[k];
    for (int64_t s = 0; s < m->n_stages; s++)
        for (int64_t k = 0; k < m->K; k++) {
            const ckpt_tree *t = &m->trees[s * m->K + k];
            raw[k] += t->value[ckpt_tree_leaf_hgb(t, x, m->known_cat, m->cat_map)];
        }
}

/* Raw scores -> output of a boosting classifier (GB / HGB). */
static void boost_clf_out(const ckpt_tm *m, ckpt_tm_method method, double *raw, double *o)
{
    int64_t C = m->n_classes;
    if (method == CKPT_TM_DECISION) {
        memcpy(o, raw, (size_t)m->K * sizeof *o);
        return;
    }
    double p[CLS_STACK];
    double *pr = (method == CKPT_TM_PROBA) ? o : p;
    if (m->loss == TM_LOSS_MULTINOMIAL) {
        memcpy(pr, raw, (size_t)C * sizeof *pr);
        ckpt_k_softmax(pr, C);
    } else {
        double p1 = ckpt_k_expit(m->loss == TM_LOSS_EXPONENTIAL ? 2.0 * raw[0] : raw[0]);
        pr[1] = p1;
        pr[0] = 1.0 - p1;
    }
    if (method == CKPT_TM_PREDICT) {
        if (m->loss == TM_LOSS_EXPONENTIAL)
            o[0] = raw[0] >= 0.0 ? 1.0 : 0.0;
        else
            o[0] = (double)ckpt_k_argmax(pr, C);
    }
}

typedef struct rows_job {
    const ckpt_tm *m;
    ckpt_tm_method method;
    const double *X;
    int64_t r0, r1, nf;
    double *out;
    const double *init_raw; /* GB: precomputed init rows, or NULL */
    int64_t init_stride;    /* K (a row per input row) or 0 (one row for all) */
    ckpt_status st;
    ckpt_error err;
} rows_job;

static int trees_allow_nan(const ckpt_tm *m)
{
    if (m->kind == TM_IFOREST || m->kind == TM_GB_CLF || m->kind == TM_GB_REG)
        return 0; /* these validate X with force_all_finite=True */
    for (int64_t i = 0; i < m->n_trees; i++)
        if (!m->trees[i].has_missing)
            return 0;
    return m->n_trees > 0;
}

static void run_rows(rows_job *J)
{
    const ckpt_tm *m = J->m;
    int64_t nf = J->nf, cols = ckpt_tm_out_cols(m, J->method);
    float xs[ROW_STACK];
    float *x = xs;
    double acc_s[CLS_STACK];
    double *acc = acc_s;
    int64_t K = m->is_clf ? m->n_classes : m->n_outputs;
    if (m->kind == TM_GB_CLF || m->kind == TM_GB_REG || m->kind == TM_HGB_CLF ||
        m->kind == TM_HGB_REG)
        K = m->K > K ? m->K : K;
    if (nf > ROW_STACK)
        x = malloc((size_t)nf * sizeof *x);
    if (K > CLS_STACK)
        acc = malloc((size_t)K * sizeof *acc);
    if (!x || !acc) {
        J->st = ckpt_error_set(&J->err, CKPT_E_NOMEM, -1, "out of memory");
        goto out;
    }
    int allow_nan = trees_allow_nan(m);
    for (int64_t r = J->r0; r < J->r1; r++) {
        const double *xr = J->X + r * nf;
        double *o = J->out + r * cols;
        if (m->kind == TM_HGB_CLF || m->kind == TM_HGB_REG) {
            hgb_raw(m, xr, acc);
            if (m->kind == TM_HGB_CLF)
                boost_clf_out(m, J->method, acc, o);
            else
                o[0] = m->loss == TM_LOSS_EXP_LINK ? exp(acc[0]) : acc[0];
            continue;
        }
        J->st = ckpt_tree_to_f32(xr, 1, nf, x, allow_nan, &J->err);
        if (J->st != CKPT_OK) {
            J->err.offset = -1;
            goto out;
        }
        if (J->method == CKPT_TM_APPLY) {
            for (int64_t t = 0; t < m->n_trees; t++)
                o[t] = (double)ckpt_tree_leaf32(&m->trees[t], x);
            continue;
        }
        switch (m->kind) {
        case TM_DT_CLF: {
            int64_t leaf = ckpt_tree_leaf32(&m->trees[0], x);
            if (J->method == CKPT_TM_PREDICT) {
                o[0] = (double)ckpt_k_argmax(m->trees[0].value + leaf * m->trees[0].n_classes, K);
            } else {
                memset(o, 0, (size_t)K * sizeof *o);
                add_leaf_proba(&m->trees[0], leaf, K, o);
            }
            break;
        }
        case TM_FOREST_CLF: {
            double *p = J->method == CKPT_TM_PROBA ? o : acc;
            memset(p, 0, (size_t)K * sizeof *p);
            for (int64_t t = 0; t < m->n_trees; t++)
                add_leaf_proba(&m->trees[t], ckpt_tree_leaf32(&m->trees[t], x), K, p);
            for (int64_t k = 0; k < K; k++)
                p[k] /= (double)m->n_trees;
            if (J->method == CKPT_TM_PREDICT)
                o[0] = (double)ckpt_k_argmax(p, K);
            break;
        }
        case TM_DT_REG:
        case TM_FOREST_REG: {
            int64_t no = m->n_outputs, nc = m->trees[0].n_classes;
            for (int64_t q = 0; q < no; q++)
                o[q] = 0.0;
            for (int64_t t = 0; t < m->n_trees; t++) {
                int64_t leaf = ckpt_tree_leaf32(&m->trees[t], x);
                for (int64_t q = 0; q < no; q++)
                    o[q] += m->trees[t].value[(leaf * no + q) * nc];
            }
            if (m->kind == TM_FOREST_REG)
                for (int64_t q = 0; q < no; q++)
                    o[q] /= (double)m->n_trees;
            break;
        }
        case TM_GB_CLF:
        case TM_GB_REG:
            for (int64_t k = 0; k < m->K; k++)
                acc[k] = J->init_raw ? J->init_raw[r * J->init_stride + k] : 0.0;
            gb_raw(m, x, acc);
            if (m->kind == TM_GB_CLF)
                boost_clf_out(m, J->method, acc, o);
            else
                o[0] = acc[0];
            break;
        case TM_IFOREST: {
            double depths = 0.0;
            float sub_s[ROW_STACK];
            for (int64_t t = 0; t < m->n_trees; t++) {
                const ckpt_tree *tr = &m->trees[t];
                const float *xt = x;
                if (m->feats[t]) {
                    /* trees of a feature subset have n_feats[t] <= nf features */
                    float *sub = (m->n_feats[t] <= ROW_STACK) ? sub_s : NULL;
                    if (!sub) {
                        J->st = ckpt_error_set(&J->err, CKPT_E_UNSUPPORTED, -1,
                                               "IsolationForest subset wider than %d", ROW_STACK);
                        goto out;
                    }
                    for (int64_t k = 0; k < m->n_feats[t]; k++)
                        sub[k] = x[m->feats[t][k]];
                    xt = sub;
                }
                int64_t leaf = ckpt_tree_leaf32(tr, xt);
                double path = (double)(ckpt_tree_depth_of(tr, leaf) + 1);
                depths += (path + ckpt_tm_avg_path_length((double)tr->n_node_samples[leaf])) - 1.0;
            }
            o[0] = iforest_out(m, J->method, depths);
            break;
        }
        default:
            J->st = ckpt_error_set(&J->err, CKPT_E_UNSUPPORTED, -1, "internal: kind %d", m->kind);
            goto out;
        }
    }
    J->st = CKPT_OK;
out:
    if (x != xs)
        free(x);
    if (acc != acc_s)
        free(acc);
}


/* ---- block path: rows in blocks, trees outermost inside a block, so each
   tree's nodes stay in cache while the block's rows go through it.  Every
   row still receives the trees' contributions in estimator order. */

#define BLK_ROWS 128        /* small batches: blocks on the stack */
#define BLK_ROWS_BIG 1024   /* large batches: one heap block per job, so the trees
                               are streamed through the cache once per 1024 rows */
#define BLK_BIG_X (1 << 18) /* floats of converted rows in a heap block (1 MiB) */
#define BLK_STACK_X 8192    /* floats of converted rows on the stack */
#define BLK_STACK_ACC 4096  /* accumulator doubles on the stack */
#define TINY_ROWS 16        /* blocks below this walk trees (not rows) in lockstep */
#define PRE_STACK 4096      /* their leaves (trees x rows) on the stack */

static int block_kind(const ckpt_tm *m, ckpt_tm_method method)
{
    if (method == CKPT_TM_APPLY)
        return 0;
    switch (m->kind) {
    case TM_DT_CLF:
    case TM_FOREST_CLF:
    case TM_DT_REG:
    case TM_FOREST_REG:
    case TM_GB_CLF:
    case TM_GB_REG:
    case TM_HGB_CLF:
    case TM_HGB_REG:
    case TM_IFOREST:
        return 1;
    default:
        return 0;
    }
}


static void run_blocks(rows_job *J)
{
    const ckpt_tm *m = J->m;
    int64_t nf = J->nf, cols = ckpt_tm_out_cols(m, J->method);
    int hgb = m->kind == TM_HGB_CLF || m->kind == TM_HGB_REG;
    int clf_tree = m->kind == TM_DT_CLF || m->kind == TM_FOREST_CLF;
    int reg_tree = m->kind == TM_DT_REG || m->kind == TM_FOREST_REG;
    int iforest = m->kind == TM_IFOREST;
    int64_t K = clf_tree ? m->n_classes : (reg_tree ? m->n_outputs : (iforest ? 1 : m->K));
    float xs[BLK_STACK_X];
    double accs[BLK_STACK_ACC];
    int32_t leafs_s[BLK_ROWS];
    int32_t pre_s[PRE_STACK];
    float *x = xs;
    double *acc = accs;
    int32_t *leafs = leafs_s;
    int64_t blk = BLK_ROWS;
    if (J->r1 - J->r0 > BLK_ROWS) {
        /* a large batch: bigger blocks on the heap (once per job, not per row) */
        blk = BLK_ROWS_BIG;
        while (blk > 1 && blk * nf > BLK_BIG_X)
            blk /= 2;
        x = hgb ? xs : malloc((size_t)(blk * nf) * sizeof *x);
        acc = malloc((size_t)(blk * K) * sizeof *acc);
        leafs = malloc((size_t)blk * sizeof *leafs);
    } else {
        while (blk > 1 && (blk * nf > BLK_STACK_X || blk * K > BLK_STACK_ACC))
            blk /= 2;
        if (blk * nf > BLK_STACK_X && !hgb)
            x = malloc((size_t)(blk * nf) * sizeof *x);
        if (blk * K > BLK_STACK_ACC)
            acc = malloc((size_t)(blk * K) * sizeof *acc);
    }
    if (!x || !acc || !leafs) {
        J->st = ckpt_error_set(&J->err, CKPT_E_NOMEM, -1, "out of memory");
        goto out;
    }
    int allow_nan = trees_allow_nan(m);
    for (int64_t r0 = J->r0; r0 < J->r1; r0 += blk) {
        int64_t nb = J->r1 - r0 < blk ? J->r1 - r0 : blk;
        const double *xb = J->X + r0 * nf;
        int may_nan = 0;
        if (!hgb) {
            J->st = ckpt_tree_to_f32(xb, nb, nf, x, allow_nan, &J->err);
            if (J->st != CKPT_OK)
                goto out;
            may_nan = allow_nan && ckpt_tree_any_nan_f32(x, nb * nf);
        } else {
            may_nan = ckpt_tree_any_nan_f64(xb, nb * nf);
        }
        /* tiny blocks (single rows): every tree's leaf of each row up front, 16
           trees walked in lockstep (pre[t * nb + r]); else tree by tree */
        const int32_t *pre = NULL;
        if (nb < TINY_ROWS && m->n_trees <= PRE_STACK / nb) {
            for (int64_t r = 0; r < nb; r++) {
                if (hgb)
                    ckpt_trees_row_leaves_hgb(m->trees, m->n_trees, xb + r * nf, m->known_cat,
                                              m->cat_map, may_nan, pre_s + r, nb);
                else
                    ckpt_trees_row_leaves32(m->trees, m->n_trees, x + r * nf, may_nan, pre_s + r,
                                            nb);
            }
            pre = pre_s;
        }
#define LEAVES32(t)                                                                             \
    (pre ? pre + (t) * nb : (ckpt_tree_leaves32(&m->trees[t], x, nf, nb, may_nan, leafs), leafs))
#define LEAVES_HGB(t)                                                                           \
    (pre ? pre + (t) * nb                                                                       \
         : (ckpt_tree_leaves_hgb(&m->trees[t], xb, nf, nb, m->known_cat, m->cat_map, may_nan,  \
                                 leafs),                                                        \
            leafs))
        if (iforest) {
            /* trees in estimator order, each row's terms summed in that order
               (subset trees' node features already point at input columns) */
            memset(acc, 0, (size_t)nb * sizeof *acc);
            for (int64_t t = 0; t < m->n_trees; t++) {
                const ckpt_tree *tr = &m->trees[t];
                const int32_t *lv = LEAVES32(t);
                for (int64_t r = 0; r < nb; r++)
                    acc[r] += tr->leaf_term[lv[r]];
            }
            for (int64_t r = 0; r < nb; r++)
                J->out[(r0 + r) * cols] = iforest_out(m, J->method, acc[r]);
        } else if (clf_tree) {
            memset(acc, 0, (size_t)(nb * K) * sizeof *acc);
            for (int64_t t = 0; t < m->n_trees; t++) {
                const ckpt_tree *tr = &m->trees[t];
                const int32_t *lv = LEAVES32(t);
                for (int64_t r = 0; r < nb; r++) {
                    const double *p = tr->pnorm + lv[r] * K;
                    double *a = acc + r * K;
                    for (int64_t k = 0; k < K; k++)
                        a[k] += p[k];
                }
            }
            for (int64_t r = 0; r < nb; r++) {
                double *a = acc + r * K, *o = J->out + (r0 + r) * cols;
                if (m->kind == TM_FOREST_CLF)
                    for (int64_t k = 0; k < K; k++)
                        a[k] /= (double)m->n_trees;
                if (J->method == CKPT_TM_PROBA)
                    memcpy(o, a, (size_t)K * sizeof *o);
                else if (m->kind == TM_DT_CLF)
                    o[0] = (double)ckpt_k_argmax(
                        m->trees[0].value + (pre ? pre[r] : leafs[r]) * K, K);
                else
                    o[0] = (double)ckpt_k_argmax(a, K);
            }
        } else if (reg_tree) {
            int64_t nc = m->trees[0].n_classes;
            memset(acc, 0, (size_t)(nb * K) * sizeof *acc);
            for (int64_t t = 0; t < m->n_trees; t++) {
                const ckpt_tree *tr = &m->trees[t];
                const int32_t *lv = LEAVES32(t);
                for (int64_t r = 0; r < nb; r++)
                    for (int64_t q = 0; q < K; q++)
                        acc[r * K + q] += tr->value[(lv[r] * K + q) * nc];
            }
            for (int64_t r = 0; r < nb; r++)
                for (int64_t q = 0; q < K; q++)
                    J->out[(r0 + r) * cols + q] =
                        m->kind == TM_FOREST_REG ? acc[r * K + q] / (double)m->n_trees
                                                 : acc[r * K + q];
        } else {
            /* GB / HGB: raw scores */
            for (int64_t r = 0; r < nb; r++)
                for (int64_t k = 0; k < K; k++)
                    acc[r * K + k] = hgb ? m->baseline[k]
                                         : (J->init_raw ? J->init_raw[(r0 + r) * J->init_stride + k]
                                                        : 0.0);
            for (int64_t s = 0; s < m->n_stages; s++)
                for (int64_t k = 0; k < K; k++) {
                    const ckpt_tree *tr = &m->trees[s * K + k];
                    if (hgb) {
                        const int32_t *lv = LEAVES_HGB(s * K + k);
                        for (int64_t r = 0; r < nb; r++)
                            acc[r * K + k] += tr->value[lv[r]];
                    } else {
                        const int32_t *lv = LEAVES32(s * K + k);
                        for (int64_t r = 0; r < nb; r++)
                            acc[r * K + k] += m->learning_rate * tr->value[lv[r]];
                    }
                }
            for (int64_t r = 0; r < nb; r++) {
                double *a = acc + r * K, *o = J->out + (r0 + r) * cols;
                if (m->is_clf)
                    boost_clf_out(m, J->method, a, o);
                else if (m->loss == TM_LOSS_EXP_LINK)
                    o[0] = exp(a[0]);
                else
                    o[0] = a[0];
            }
        }
    }
#undef LEAVES32
#undef LEAVES_HGB
    J->st = CKPT_OK;
out:
    if (x != xs)
        free(x);
    if (acc != accs)
        free(acc);
    if (leafs != leafs_s)
        free(leafs);
}

static void run_job(rows_job *J)
{
    if (block_kind(J->m, J->method))
        run_blocks(J);
    else
        run_rows(J);
}

static void *run_rows_thread(void *p)
{
    run_job(p);
    return NULL;
}

static ckpt_status run_direct(const ckpt_tm *m, ckpt_tm_method method, const double *X,
                              int64_t n, int64_t nf, double *out, const double *init_raw,
                              int64_t init_stride, ckpt_error *err)
{
    int64_t work = n * (m->n_trees ? m->n_trees : 1);
    int nth = 1;
    if (work >= PAR_MIN_WORK && n >= 64 && m->n_threads > 1)
        nth = m->n_threads < PAR_MAX_THREADS ? m->n_threads : PAR_MAX_THREADS;
    if (nth > n)
        nth = (int)n;
    rows_job jobs[PAR_MAX_THREADS];
    pthread_t tid[PAR_MAX_THREADS];
    int started[PAR_MAX_THREADS] = {0};
    for (int i = 0; i < nth; i++) {
        jobs[i] = (rows_job){m, method, X, n * i / nth, n * (i + 1) / nth, nf, out, init_raw,
                             init_stride, CKPT_OK, {0}};
        if (i > 0 && pthread_create(&tid[i], NULL, run_rows_thread, &jobs[i]) == 0)
            started[i] = 1;
    }
    run_job(&jobs[0]);
    for (int i = 1; i < nth; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            run_job(&jobs[i]); /* thread creation failed: do it here */
    }
    for (int i = 0; i < nth; i++)
        if (jobs[i].st != CKPT_OK) {
            if (err)
                *err = jobs[i].err;
            return jobs[i].st;
        }
    return CKPT_OK;
}

/* ------------------------------------------------------------ GB init */

/* Raw score row (K) of the init estimator's prediction / probabilities pr. */
static void gb_raw_of(const ckpt_tm *m, const double *pr, double *o)
{
    int64_t K = m->K;
    if (!m->is_clf) {
        o[0] = pr[0];
    } else if (m->loss == TM_LOSS_MULTINOMIAL) {
        for (int64_t k = 0; k < K; k++) {
            double q = pr[k] < EPS32 ? EPS32 : (pr[k] > 1 - EPS32 ? 1 - EPS32 : pr[k]);
            o[k] = log(q);
        }
    } else {
        double q = pr[1] < EPS32 ? EPS32 : (pr[1] > 1 - EPS32 ? 1 - EPS32 : pr[1]);
        o[0] = log(q / (1 - q));
        if (m->loss == TM_LOSS_EXPONENTIAL)
            o[0] = 0.5 * o[0];
    }
}

/* A wrapped (TM_SUB) estimator's feature count against X's (0: not recorded). */
static ckpt_status sub_features(const ckpt_tm *m, int64_t nf, ckpt_error *err) {
    if (nf != m->n_features && m->n_features > 0)
        return ckpt_error_set(err, CKPT_E_INPUT, -1, "X has %lld features, expected %lld", (long long)nf,
                              (long long)m->n_features);
    return CKPT_OK;
}

static ckpt_status gb_init_raw(const ckpt_tm *m, const double *X, int64_t n, int64_t nf,
                               double **raw_out, ckpt_error *err)
{
    *raw_out = NULL;
    if (m->init_zero)
        return CKPT_OK;
    int64_t K = m->K, C = m->is_clf ? m->n_classes : 1;
    double *raw = malloc((size_t)(n * K > 0 ? n * K : 1) * sizeof *raw);
    double *p = malloc((size_t)(n * C > 0 ? n * C : 1) * sizeof *p);
    double *x64 = NULL;
    ckpt_status st = CKPT_OK;
    if (!raw || !p) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        goto fail;
    }
    const ckpt_tm *ie = m->init;
    if (ie->kind == TM_DUMMY_CLF || ie->kind == TM_DUMMY_REG) {
        for (int64_t r = 0; r < n; r++)
            memcpy(p + r * C, ie->constant, (size_t)C * sizeof *p);
    } else {
        /* the init estimator sees the float32-validated X, as in sklearn
           (whole batch: a float32 linear init_ is one sgemm as NumPy's matmul) */
        float *x32 = malloc((size_t)(n * nf > 0 ? n * nf : 1) * sizeof *x32);
        if (!x32) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            goto fail;
        }
        st = ckpt_tree_to_f32(X, n, nf, x32, 0, err);
        ckpt_tm_method im = m->is_clf ? CKPT_TM_PROBA : CKPT_TM_PREDICT;
        if (st == CKPT_OK && ie->kind == TM_SUB && ie->sub.run32) {
            st = sub_features(ie, nf, err);
            if (st == CKPT_OK) st = ie->sub.run32(ie->sub.impl, im, x32, n, nf, p, err);
        } else if (st == CKPT_OK) {
            x64 = malloc((size_t)(n * nf > 0 ? n * nf : 1) * sizeof *x64);
            if (!x64)
                st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            for (int64_t k = 0; st == CKPT_OK && k < n * nf; k++)
                x64[k] = x32[k];
            if (st == CKPT_OK)
                st = ckpt_tm_run(ie, im, x64, n, nf, p, err);
        }
        free(x32);
        if (st != CKPT_OK)
            goto fail;
    }
    for (int64_t r = 0; r < n; r++)
        gb_raw_of(m, p + r * C, raw + r * K);
    free(p);
    free(x64);
    *raw_out = raw;
    return CKPT_OK;
fail:
    free(raw);
    free(p);
    free(x64);
    return st;
}

/* ------------------------------------------------------------ member ensembles */

/* Per-call scratch of the member ensembles: small requests (a single row)
   come from a buffer on the caller's stack, larger ones from the heap, so the
   single-row path allocates nothing. */
#define SCRATCH_BYTES 16384
typedef struct tm_scratch {
    _Alignas(16) unsigned char buf[SCRATCH_BYTES];
    size_t used;
} tm_scratch;

static void *scr_get(tm_scratch *s, int64_t count, size_t elem, int zero)
{
    if (count < 0 || (count > 0 && elem > SIZE_MAX / 2 / (uint64_t)count))
        return NULL;
    size_t bytes = (size_t)count * elem;
    size_t rounded = (bytes + 15) & ~(size_t)15;
    if (rounded <= SCRATCH_BYTES - s->used) {
        void *p = s->buf + s->used;
        s->used += rounded;
        if (zero)
            memset(p, 0, bytes);
        return p;
    }
    return zero ? calloc(bytes ? bytes : 1, 1) : malloc(bytes ? bytes : 1);
}

static void scr_put(tm_scratch *s, void *p)
{
    unsigned char *c = p;
    if (c && (c < s->buf || c >= s->buf + SCRATCH_BYTES))
        free(p);
}

static ckpt_status run_ada(const ckpt_tm *m, ckpt_tm_method method, const double *X, int64_t n,
                           int64_t nf, double *out, ckpt_error *err)
{
    int64_t C = m->n_classes, E = m->n_members;
    ckpt_status st = CKPT_OK;
    tm_scratch sc;
    sc.used = 0;
    if (!m->is_clf) { /* weighted median (AdaBoostRegressor._get_median_predict) */
        double *pred = scr_get(&sc, n * E, sizeof *pred, 0);
        double *col = scr_get(&sc, n, sizeof *col, 0);
        int64_t *idx = scr_get(&sc, E, sizeof *idx, 0);
        if (!pred || !col || !idx) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            goto reg_done;
        }
        for (int64_t e = 0; e < E && st == CKPT_OK; e++) {
            st = ckpt_tm_run(m->members[e], CKPT_TM_PREDICT, X, n, nf, col, err);
            for (int64_t r = 0; st == CKPT_OK && r < n; r++)
                pred[r * E + e] = col[r];
        }
        for (int64_t r = 0; st == CKPT_OK && r < n; r++) {
            const double *pr = pred + r * E;
            for (int64_t e = 0; e < E; e++) { /* insertion sort of indices by prediction */
                int64_t j = e;
                while (j > 0 && pr[idx[j - 1]] > pr[e]) {
                    idx[j] = idx[j - 1];
                    j--;
                }
                idx[j] = e;
            }
            double total = 0.0;
            for (int64_t e = 0; e < E; e++)
                total += m->weights[idx[e]];
            double cdf = 0.0;
            int64_t pick = E - 1;
            for (int64_t e = 0; e < E; e++) {
                cdf += m->weights[idx[e]];
                if (cdf >= 0.5 * total) {
                    pick = e;
                    break;
                }
            }
            out[r] = pr[idx[pick]];
        }
    reg_done:
        scr_put(&sc, pred);
        scr_put(&sc, col);
        scr_put(&sc, idx);
        return st;
    }
    double *dec = scr_get(&sc, n * C, sizeof *dec, 1);
    double *tmp = scr_get(&sc, n * C, sizeof *tmp, 0);
    if (!dec || !tmp) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        goto done;
    }
    for (int64_t e = 0; e < E; e++) {
        const ckpt_tm *me = m->members[e];
        if (m->samme_r) {
            if ((st = ckpt_tm_run(me, CKPT_TM_PROBA, X, n, nf, tmp, err)) != CKPT_OK)
                goto done;
            for (int64_t r = 0; r < n; r++) {
                double *p = tmp + r * C, s = 0.0;
                for (int64_t k = 0; k < C; k++) {
                    p[k] = log(p[k] < EPS64 ? EPS64 : p[k]);
                    s += p[k];
                }
                for (int64_t k = 0; k < C; k++)
                    dec[r * C + k] += (double)(C - 1) * (p[k] - (1.0 / (double)C) * s);
            }
        } else {
            if ((st = ckpt_tm_run(me, CKPT_TM_PREDICT, X, n, nf, tmp, err)) != CKPT_OK)
                goto done;
            for (int64_t r = 0; r < n; r++) {
                int64_t c = (int64_t)tmp[r];
                for (int64_t k = 0; k < C; k++)
                    dec[r * C + k] += (k == c ? 1.0 : 0.0) * m->weights[e];
            }
        }
    }
    for (int64_t r = 0; r < n; r++) {
        double *d = dec + r * C;
        for (int64_t k = 0; k < C; k++)
            d[k] /= m->weight_sum;
        if (C == 2) {
            double v = -d[0] + d[1];
            if (method == CKPT_TM_DECISION)
                out[r] = v;
            else if (method == CKPT_TM_PREDICT)
                out[r] = v > 0 ? 1.0 : 0.0;
            else {
                double p[2] = {-v / 2, v / 2};
                ckpt_k_softmax(p, 2);
                out[r * 2] = p[0];
                out[r * 2 + 1] = p[1];
            }
        } else if (method == CKPT_TM_DECISION) {
            memcpy(out + r * C, d, (size_t)C * sizeof *d);
        } else if (method == CKPT_TM_PREDICT) {
            out[r] = (double)ckpt_k_argmax(d, C);
        } else {
            for (int64_t k = 0; k < C; k++)
                out[r * C + k] = d[k] / (double)(C - 1);
            ckpt_k_softmax(out + r * C, C);
        }
    }
done:
    scr_put(&sc, dec);
    scr_put(&sc, tmp);
    return st;
}

static ckpt_status run_bag(const ckpt_tm *m, ckpt_tm_method method, const double *X, int64_t n,
                           int64_t nf, double *out, ckpt_error *err)
{
    int64_t C = m->is_clf ? m->n_classes : 1, E = m->n_members;
    ckpt_status st = CKPT_OK;
    int64_t max_nfe = 1, max_ce = 1;
    for (int64_t e = 0; e < E; e++) {
        int64_t ce = m->is_clf ? m->members[e]->n_classes : 1;
        max_nfe = m->n_feats[e] > max_nfe ? m->n_feats[e] : max_nfe;
        max_ce = ce > max_ce ? ce : max_ce;
    }
    tm_scratch sc;
    sc.used = 0;
    double *acc = scr_get(&sc, n * C, sizeof *acc, 1);
    double *sub = n <= INT64_MAX / max_nfe ? scr_get(&sc, n * max_nfe, sizeof *sub, 0) : NULL;
    double *tmp = n <= INT64_MAX / max_ce ? scr_get(&sc, n * max_ce, sizeof *tmp, 0) : NULL;
    if (!acc || !sub || !tmp) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        goto done;
    }
    for (int64_t e = 0; e < E; e++) {
        const ckpt_tm *me = m->members[e];
        int64_t nfe = m->n_feats[e], ce = m->is_clf ? me->n_classes : 1;
        for (int64_t r = 0; r < n; r++)
            for (int64_t k = 0; k < nfe; k++)
                sub[r * nfe + k] = X[r * nf + m->feats[e][k]];
        if (!m->is_clf) {
            if ((st = ckpt_tm_run(me, CKPT_TM_PREDICT, sub, n, nfe, tmp, err)) != CKPT_OK)
                goto done;
            for (int64_t r = 0; r < n; r++)
                acc[r] += tmp[r];
            continue;
        }
        if (ckpt_tm_out_cols(me, CKPT_TM_PROBA) == ce) {
            if ((st = ckpt_tm_run(me, CKPT_TM_PROBA, sub, n, nfe, tmp, err)) != CKPT_OK)
                goto done;
            for (int64_t r = 0; r < n; r++)
                for (int64_t k = 0; k < ce; k++)
                    acc[r * C + m->cls_map[e][k]] += tmp[r * ce + k];
        } else { /* no predict_proba: votes */
            if ((st = ckpt_tm_run(me, CKPT_TM_PREDICT, sub, n, nfe, tmp, err)) != CKPT_OK)
                goto done;
            for (int64_t r = 0; r < n; r++) {
                int64_t c = (int64_t)tmp[r];
                if (c >= 0 && c < ce)
                    acc[r * C + m->cls_map[e][c]] += 1.0;
            }
        }
    }
    for (int64_t r = 0; r < n; r++) {
        double *a = acc + r * C;
        for (int64_t k = 0; k < C; k++)
            a[k] /= (double)m->n_estimators_param;
        if (!m->is_clf)
            out[r] = a[0];
        else if (method == CKPT_TM_PROBA)
            memcpy(out + r * C, a, (size_t)C * sizeof *a);
        else
            out[r] = (double)ckpt_k_argmax(a, C);
    }
done:
    scr_put(&sc, acc);
    scr_put(&sc, sub);
    scr_put(&sc, tmp);
    return st;
}

static ckpt_status run_vote(const ckpt_tm *m, ckpt_tm_method method, const double *X, int64_t n,
                            int64_t nf, double *out, ckpt_error *err)
{
    int64_t C = m->is_clf ? m->n_classes : 1, E = m->n_members;
    int proba = m->is_clf && m->soft;
    int64_t cols = proba ? C : 1;
    ckpt_status st = CKPT_OK;
    tm_scratch sc;
    sc.used = 0;
    double *acc = scr_get(&sc, n * C, sizeof *acc, 1);
    double *tmp = scr_get(&sc, n * cols, sizeof *tmp, 0);
    if (!acc || !tmp) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        goto done;
    }
    for (int64_t e = 0; e < E; e++) {
        double w = m->weights ? m->weights[e] : 1.0;
        st = ckpt_tm_run(m->members[e], proba ? CKPT_TM_PROBA : CKPT_TM_PREDICT, X, n, nf, tmp,
                         err);
        if (st != CKPT_OK)
            goto done;
        for (int64_t r = 0; r < n; r++) {
            if (proba || !m->is_clf) {
                for (int64_t k = 0; k < cols; k++)
                    acc[r * C + k] += m->weights ? tmp[r * cols + k] * w : tmp[r * cols + k];
            } else {
                int64_t c = (int64_t)tmp[r];
                if (c < 0 || c >= C) {
                    st = ckpt_error_set(err, CKPT_E_MODEL, -1, "member predicted class %lld",
                                        (long long)c);
                    goto done;
                }
                acc[r * C + c] += w;
            }
        }
    }
    double scale = m->weights ? m->weight_sum : (double)E;
    for (int64_t r = 0; r < n; r++) {
        double *a = acc + r * C;
        if (!m->is_clf) {
            out[r] = a[0] / scale;
        } else if (!proba) {
            out[r] = (double)ckpt_k_argmax(a, C);
        } else {
            for (int64_t k = 0; k < C; k++)
                a[k] /= scale;
            if (method == CKPT_TM_PROBA)
                memcpy(out + r * C, a, (size_t)C * sizeof *a);
            else
                out[r] = (double)ckpt_k_argmax(a, C);
        }
    }
done:
    scr_put(&sc, acc);
    scr_put(&sc, tmp);
    return st;
}

/* ------------------------------------------------------------ entry */

ckpt_status ckpt_tm_run(const ckpt_tm *m, ckpt_tm_method method, const double *X, int64_t n,
                        int64_t nf, double *out, ckpt_error *err)
{
    if (!m || (n > 0 && (!X || !out)) || n < 0)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "ckpt_tm_run: bad arguments");
    if (m->kind == TM_SUB) {
        ckpt_status st = sub_features(m, nf, err);
        return st != CKPT_OK ? st : m->sub.run(m->sub.impl, method, X, n, nf, out, err);
    }
    int64_t cols = ckpt_tm_out_cols(m, method);
    if (cols <= 0)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "estimator has no such method");
    if (m->kind != TM_DUMMY_CLF && m->kind != TM_DUMMY_REG && nf != m->n_features)
        return ckpt_error_set(err, CKPT_E_INPUT, -1, "X has %lld features, expected %lld",
                              (long long)nf, (long long)m->n_features);
    if (n == 0)
        return CKPT_OK;
    if (n > INT64_MAX / (nf > cols ? (nf > 0 ? nf : 1) : cols) / 8)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "too many rows");
    switch (m->kind) {
    case TM_GB_CLF:
    case TM_GB_REG: {
        if (method == CKPT_TM_APPLY || m->init_zero)
            return run_direct(m, method, X, n, nf, out, NULL, 0, err);
        if (m->init->kind == TM_DUMMY_CLF || m->init->kind == TM_DUMMY_REG) {
            /* a constant init (the default 'prior' / mean / quantile ...): one raw
               row for every input row, on the stack (K <= CKPT_TM_MAX_BOOST_CLASSES) */
            double raw1[CKPT_TM_MAX_BOOST_CLASSES];
            gb_raw_of(m, m->init->constant, raw1);
            return run_direct(m, method, X, n, nf, out, raw1, 0, err);
        }
        double *raw;
        ckpt_status st = gb_init_raw(m, X, n, nf, &raw, err);
        if (st != CKPT_OK)
            return st;
        st = run_direct(m, method, X, n, nf, out, raw, m->K, err);
        free(raw);
        return st;
    }
    case TM_ADA_CLF:
    case TM_ADA_REG:
        return run_ada(m, method, X, n, nf, out, err);
    case TM_BAG_CLF:
    case TM_BAG_REG:
        return run_bag(m, method, X, n, nf, out, err);
    case TM_VOTE_CLF:
    case TM_VOTE_REG:
        return run_vote(m, method, X, n, nf, out, err);
    case TM_DUMMY_CLF:
        for (int64_t r = 0; r < n; r++) {
            if (method == CKPT_TM_PROBA)
                memcpy(out + r * m->n_classes, m->constant, (size_t)m->n_classes * sizeof *out);
            else
                out[r] = (double)ckpt_k_argmax(m->constant, m->n_classes);
        }
        return CKPT_OK;
    case TM_DUMMY_REG:
        for (int64_t r = 0; r < n; r++)
            memcpy(out + r * m->n_outputs, m->constant, (size_t)m->n_outputs * sizeof *out);
        return CKPT_OK;
    default:
        return run_direct(m, method, X, n, nf, out, NULL, 0, err);
    }
}
