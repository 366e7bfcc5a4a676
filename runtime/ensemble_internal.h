/*
 * ensemble_internal.h - tree-family estimators (runtime/ensemble*.c):
 * DecisionTree*, ExtraTree*, RandomForest*, ExtraTrees*, GradientBoosting*,
 * HistGradientBoosting*, AdaBoost*, Bagging*, Voting*, IsolationForest and the
 * Dummy estimators GradientBoosting uses as init_.
 *
 * A ckpt_tm is loaded once from the estimator's graph node and is read-only
 * afterwards: several threads may run it at once.  Inputs are float64 rows
 * (n x n_features, row-major); outputs are float64:
 *   PREDICT        classifiers: class INDEX into classes_; regressors: value(s)
 *   PROBA          n x n_classes
 *   DECISION       n x 1 (binary / IsolationForest) or n x n_classes
 *   SCORE_SAMPLES  n x 1 (IsolationForest)
 *   APPLY          leaf indices: n x n_trees (x K for gradient boosting)
 * Estimators the tree code does not implement itself (a LogisticRegression as
 * GradientBoosting init_, members of a Voting ensemble, a Bagging base
 * estimator) come through ckpt_tm_ctx.sub_loader, supplied by the runtime.
 */
#ifndef CKPT_ENSEMBLE_INTERNAL_H
#define CKPT_ENSEMBLE_INTERNAL_H

#include "tree_internal.h"

#define CKPT_TM_MAX_NESTING 6        /* ensembles inside ensembles */
#define CKPT_TM_AUTO_THREADS 16      /* n_threads = 0: this many cores at most */
#define CKPT_TM_MAX_ESTIMATORS (1 << 20)
#define CKPT_TM_MAX_CLASSES (1 << 20)
#define CKPT_TM_MAX_BOOST_CLASSES 256 /* GB / HGB / AdaBoost classes (stack rows) */

typedef enum ckpt_tm_method {
    CKPT_TM_PREDICT = 0,
    CKPT_TM_PROBA,
    CKPT_TM_DECISION,
    CKPT_TM_SCORE_SAMPLES,
    CKPT_TM_APPLY
} ckpt_tm_method;

/* An estimator run by someone else (the runtime core). */
typedef struct ckpt_tm_sub {
    void *impl;
    /* method: CKPT_TM_PREDICT (class index / value) or CKPT_TM_PROBA */
    ckpt_status (*run)(void *impl, ckpt_tm_method method, const double *X, int64_t n,
                       int64_t nf, double *out, ckpt_error *err);
    /* the same on float32 rows (as scikit-learn hands them: GradientBoosting's
       init_ sees its float32-validated X); NULL: widen and use run */
    ckpt_status (*run32)(void *impl, ckpt_tm_method method, const float *X, int64_t n,
                         int64_t nf, double *out, ckpt_error *err);
    void (*free)(void *impl);
    int is_classifier;
    int64_t n_classes;   /* classifiers */
    int64_t n_outputs;   /* regressors */
    int64_t n_features;
} ckpt_tm_sub;

typedef struct ckpt_tm_ctx {
    ckpt_file *f;
    /* Load an estimator the tree code does not know; CKPT_E_UNSUPPORTED if
       the runtime does not know it either.  May be NULL. */
    ckpt_status (*sub_loader)(void *user, ckpt_file *f, const ckpt_value *est, ckpt_tm_sub *out,
                              ckpt_error *err);
    void *user;
    int n_threads;       /* rows over threads for large batches: 0 auto, 1 none */
} ckpt_tm_ctx;

typedef struct ckpt_tm ckpt_tm;

/* 1 if `cls` (canonical "module.Name") is a class this file loads. */
int ckpt_tm_knows(const char *cls);
/* Load the estimator object node `est`. */
ckpt_status ckpt_tm_load(const ckpt_tm_ctx *ctx, const ckpt_value *est, ckpt_tm **out,
                         ckpt_error *err);
void ckpt_tm_free(ckpt_tm *m);

int ckpt_tm_is_classifier(const ckpt_tm *m);
int64_t ckpt_tm_n_features(const ckpt_tm *m);
int64_t ckpt_tm_n_classes(const ckpt_tm *m);
/* Columns of `method`'s output, 0 when the estimator has no such method. */
int64_t ckpt_tm_out_cols(const ckpt_tm *m, ckpt_tm_method method);
/* The estimator's classes_ node (classifiers) or NULL. */
const ckpt_value *ckpt_tm_classes(const ckpt_tm *m);

/* Run `method` on n rows; out has n * ckpt_tm_out_cols(m, method) doubles. */
ckpt_status ckpt_tm_run(const ckpt_tm *m, ckpt_tm_method method, const double *X, int64_t n,
                        int64_t nf, double *out, ckpt_error *err);

#endif
