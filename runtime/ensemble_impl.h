/*
 * ensemble_impl.h - the ckpt_tm structure, shared by ensemble_load.c (reading
 * estimator state) and ensemble_run.c (prediction).  Private to runtime/.
 */
#ifndef CKPT_ENSEMBLE_IMPL_H
#define CKPT_ENSEMBLE_IMPL_H

#include "ensemble_internal.h"

typedef enum tm_kind {
    TM_DT_CLF = 1, /* DecisionTree / ExtraTree classifier */
    TM_DT_REG,
    TM_FOREST_CLF, /* RandomForest / ExtraTrees */
    TM_FOREST_REG,
    TM_GB_CLF,
    TM_GB_REG,
    TM_HGB_CLF,
    TM_HGB_REG,
    TM_ADA_CLF,
    TM_ADA_REG,
    TM_BAG_CLF,
    TM_BAG_REG,
    TM_VOTE_CLF,
    TM_VOTE_REG,
    TM_IFOREST,
    TM_DUMMY_CLF,
    TM_DUMMY_REG,
    TM_SUB /* run by the runtime core through ckpt_tm_sub */
} tm_kind;

typedef enum tm_loss {
    TM_LOSS_IDENTITY = 0, /* regression */
    TM_LOSS_EXP_LINK,     /* HGB poisson / gamma: exp(raw) */
    TM_LOSS_BINOMIAL,     /* expit */
    TM_LOSS_MULTINOMIAL,  /* softmax */
    TM_LOSS_EXPONENTIAL   /* GB exponential: expit(2 raw), predict raw >= 0 */
} tm_loss;

struct ckpt_tm {
    tm_kind kind;
    int is_clf;
    int n_threads;      /* threads for large batches (>= 1; "auto" resolved at load) */
    int64_t n_features;
    int64_t n_classes;  /* classifiers */
    int64_t n_outputs;  /* regressors (1 unless multi-output trees) */
    const ckpt_value *classes; /* classes_ node */

    /* trees: DT (1), forests, GB (n_stages * K, stage-major), HGB (n_iter * K),
       IsolationForest */
    ckpt_tree *trees;
    int64_t n_trees;
    int64_t K;          /* GB / HGB trees per stage */
    int64_t n_stages;

    /* GB */
    double learning_rate;
    tm_loss loss;
    int init_zero;
    ckpt_tm *init;      /* init_ estimator (Dummy, or a sub-estimator) */

    /* HGB */
    double *baseline;   /* K */
    uint32_t *known_cat;/* n_cat * 8 */
    int32_t *cat_map;   /* n_features: index into known_cat or -1 */

    /* members: AdaBoost, Bagging, Voting */
    ckpt_tm **members;
    int64_t n_members;
    double *weights;    /* AdaBoost estimator_weights_, Voting weights (or NULL) */
    double weight_sum;
    int samme_r;
    int soft;           /* Voting */
    int64_t n_estimators_param; /* Bagging: divide by this */

    /* Bagging / IsolationForest feature subsets (NULL entry: all features) */
    int64_t **feats;
    int64_t *n_feats;
    /* Bagging: member class index -> ensemble class index */
    int64_t **cls_map;

    /* IsolationForest */
    double offset;
    double denom;

    /* Dummy */
    double *constant;   /* classifier: proba row (n_classes); regressor: n_outputs */

    /* sub-estimator */
    ckpt_tm_sub sub;
};

/* sklearn's _average_path_length for one leaf size. */
double ckpt_tm_avg_path_length(double n);

#endif
