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

/* runtime/model_svm.c, model_preproc.c, model_compose.c, model_mlp.c,
   model_neighbors.c, model_bayes.c */
ckpt_status ckpt_rt_build_svm(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_preproc(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_pipeline(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_column_transformer(ckpt_build_ctx *ctx, const ckpt_value *obj,
                                             ckpt_est **out);
ckpt_status ckpt_rt_build_mlp(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_knn(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_kmeans(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_rt_build_nb(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);

/* runtime/ensemble_model.c (trees, ensembles, Dummy), runtime/text_model.c */
ckpt_status ckpt_build_tree_family(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);
ckpt_status ckpt_build_text(ckpt_build_ctx *ctx, const ckpt_value *obj, ckpt_est **out);

const ckpt_est_entry ckpt_est_registry[] = {
    /* trees and ensembles */
    {"DecisionTreeClassifier", ckpt_build_tree_family},
    {"DecisionTreeRegressor", ckpt_build_tree_family},
    {"ExtraTreeClassifier", ckpt_build_tree_family},
    {"ExtraTreeRegressor", ckpt_build_tree_family},
    {"RandomForestClassifier", ckpt_build_tree_family},
    {"RandomForestRegressor", ckpt_build_tree_family},
    {"ExtraTreesClassifier", ckpt_build_tree_family},
    {"ExtraTreesRegressor", ckpt_build_tree_family},
    {"GradientBoostingClassifier", ckpt_build_tree_family},
    {"GradientBoostingRegressor", ckpt_build_tree_family},
    {"HistGradientBoostingClassifier", ckpt_build_tree_family},
    {"HistGradientBoostingRegressor", ckpt_build_tree_family},
    {"AdaBoostClassifier", ckpt_build_tree_family},
    {"AdaBoostRegressor", ckpt_build_tree_family},
    {"BaggingClassifier", ckpt_build_tree_family},
    {"BaggingRegressor", ckpt_build_tree_family},
    {"VotingClassifier", ckpt_build_tree_family},
    {"VotingRegressor", ckpt_build_tree_family},
    {"IsolationForest", ckpt_build_tree_family},
    {"DummyClassifier", ckpt_build_tree_family},
    {"DummyRegressor", ckpt_build_tree_family},
    /* text features */
    {"CountVectorizer", ckpt_build_text},
    {"TfidfVectorizer", ckpt_build_text},
    {"HashingVectorizer", ckpt_build_text},
    {"TfidfTransformer", ckpt_build_text},
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
    /* kernel SVMs */
    {"SVC", ckpt_rt_build_svm},
    {"NuSVC", ckpt_rt_build_svm},
    {"SVR", ckpt_rt_build_svm},
    {"NuSVR", ckpt_rt_build_svm},
    {"OneClassSVM", ckpt_rt_build_svm},
    /* preprocessing / decomposition */
    {"StandardScaler", ckpt_rt_build_preproc},
    {"MinMaxScaler", ckpt_rt_build_preproc},
    {"MaxAbsScaler", ckpt_rt_build_preproc},
    {"RobustScaler", ckpt_rt_build_preproc},
    {"Normalizer", ckpt_rt_build_preproc},
    {"PolynomialFeatures", ckpt_rt_build_preproc},
    {"SimpleImputer", ckpt_rt_build_preproc},
    {"OneHotEncoder", ckpt_rt_build_preproc},
    {"OrdinalEncoder", ckpt_rt_build_preproc},
    {"PCA", ckpt_rt_build_preproc},
    {"IncrementalPCA", ckpt_rt_build_preproc},
    {"TruncatedSVD", ckpt_rt_build_preproc},
    /* composition */
    {"Pipeline", ckpt_rt_build_pipeline},
    {"ColumnTransformer", ckpt_rt_build_column_transformer},
    /* neural nets, neighbors, Bayes, clustering */
    {"MLPClassifier", ckpt_rt_build_mlp},
    {"MLPRegressor", ckpt_rt_build_mlp},
    {"KNeighborsClassifier", ckpt_rt_build_knn},
    {"KNeighborsRegressor", ckpt_rt_build_knn},
    {"GaussianNB", ckpt_rt_build_nb},
    {"MultinomialNB", ckpt_rt_build_nb},
    {"ComplementNB", ckpt_rt_build_nb},
    {"BernoulliNB", ckpt_rt_build_nb},
    {"KMeans", ckpt_rt_build_kmeans},
    {"MiniBatchKMeans", ckpt_rt_build_kmeans},
};

const size_t ckpt_est_registry_count = sizeof ckpt_est_registry / sizeof ckpt_est_registry[0];
