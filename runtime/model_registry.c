/*
 * model_registry.c - which estimator classes the runtime builds, and with
 * which function.  One line per class name (module ignored, any "sklearn."
 * module matches).  Engineers add their kinds here: declare the build function
 * below and add its line to the table.
 */
#include "model_internal.h"

/* runtime/model_linear.c */
ckpt_status ckpt_rt_build_linear_clf(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_linear_reg(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);

const ckpt_est_entry ckpt_est_registry[] = {
    /* linear */
    {"LogisticRegression", ckpt_rt_build_linear_clf},
    {"LogisticRegressionCV", ckpt_rt_build_linear_clf},
    {"RidgeClassifier", ckpt_rt_build_linear_clf},
    {"RidgeClassifierCV", ckpt_rt_build_linear_clf},
    {"SGDClassifier", ckpt_rt_build_linear_clf},
    {"Perceptron", ckpt_rt_build_linear_clf},
    {"PassiveAggressiveClassifier", ckpt_rt_build_linear_clf},
    {"LinearSVC", ckpt_rt_build_linear_clf},
    {"LinearRegression", ckpt_rt_build_linear_reg},
    {"Ridge", ckpt_rt_build_linear_reg},
    {"RidgeCV", ckpt_rt_build_linear_reg},
    {"Lasso", ckpt_rt_build_linear_reg},
    {"LassoCV", ckpt_rt_build_linear_reg},
    {"ElasticNet", ckpt_rt_build_linear_reg},
    {"ElasticNetCV", ckpt_rt_build_linear_reg},
    {"SGDRegressor", ckpt_rt_build_linear_reg},
    {"LinearSVR", ckpt_rt_build_linear_reg},
    {"HuberRegressor", ckpt_rt_build_linear_reg},
    {"BayesianRidge", ckpt_rt_build_linear_reg},
    {"PassiveAggressiveRegressor", ckpt_rt_build_linear_reg},
};

const size_t ckpt_est_registry_count = sizeof ckpt_est_registry / sizeof ckpt_est_registry[0];
