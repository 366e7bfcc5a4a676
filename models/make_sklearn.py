#!/usr/bin/python3
"""Generate the scikit-learn runtime fixtures in models/sklearn/.

Run with Debian's interpreter only:  /usr/bin/python3 models/make_sklearn.py

For every fixture NAME it writes
  NAME.pkl      pickle.dump(model, protocol=P)   (P cycles through 2, 3, 4, 5)
  NAME.joblib   joblib.dump(model)               (uncompressed: arrays inline)
  NAME.json     {"kind": "sklearn", "class", "sklearn_version", "input_kind": "numeric",
                 "dtype": "float64" | "float32", "n_features", "inputs": rows,
                 "outputs": {method: result}}
                float32 fixtures add "output_dtypes" {method: numpy dtype name of the
                result}, and "outputs_f64in" / "output_dtypes_f64in": the same for the
                inputs given as float64.
Inputs are lists of rows (NaN written as null).  Outputs are what scikit-learn
(Debian's python3-sklearn 1.2.1) computed on exactly those inputs (converted to
`dtype` first): predict labels as JSON ints/floats/bools/strings, everything
else float64 (repr, round-trips).  Sparse outputs use
{"sparse_coo": true, "shape": [n, m], "row": [...], "col": [...], "data": [...]}.
Fixed seeds everywhere: re-running rewrites identical files.
"""
import json
import math
import os
import pickle
import sys
import warnings

import numpy as np
import scipy.sparse as sp

warnings.filterwarnings("ignore")

import joblib  # noqa: E402
import sklearn  # noqa: E402
from sklearn import (cluster, compose, decomposition, impute, linear_model,  # noqa: E402
                     naive_bayes, neighbors, neural_network, pipeline, preprocessing, svm)
from sklearn.datasets import make_classification, make_regression  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sklearn")
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform",
           "score_samples")


def jsonable(a):
    if sp.issparse(a):
        c = a.tocoo()
        order = np.lexsort((c.col, c.row))
        return {"sparse_coo": True, "shape": [int(c.shape[0]), int(c.shape[1])],
                "row": [int(x) for x in c.row[order]], "col": [int(x) for x in c.col[order]],
                "data": [float(x) for x in c.data[order]]}
    if isinstance(a, np.ndarray):
        return [jsonable(x) for x in a]
    if isinstance(a, (list, tuple)):
        return [jsonable(x) for x in a]
    if isinstance(a, (np.bool_, bool)):
        return bool(a)
    if isinstance(a, (np.floating, float)):
        f = float(a)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(a, np.integer):
        return int(a)
    if isinstance(a, np.str_):
        return str(a)
    return a


FIXTURES = []


def fixture(name, model, X, y, Xt, dtype=np.float64, methods=METHODS):
    FIXTURES.append((name, model, X, y, Xt, dtype, methods))


def data_clf(n_classes, seed, n=240, d=6, labels=None):
    X, y = make_classification(n_samples=n, n_features=d, n_informative=4, n_redundant=1,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    Xt, _ = make_classification(n_samples=25, n_features=d, n_informative=4, n_redundant=1,
                                n_classes=n_classes, n_clusters_per_class=1,
                                random_state=seed + 1000)
    Xt = np.vstack([Xt, 3.0 * Xt[:3], np.zeros((1, d))])
    if labels is not None:
        y = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[y]
    return X, y, Xt


def data_reg(seed, n_targets=1, n=200, d=5):
    X, y = make_regression(n_samples=n, n_features=d, n_informative=4, n_targets=n_targets,
                           noise=0.5, random_state=seed)
    rng = np.random.RandomState(seed + 7)
    Xt = rng.normal(size=(25, d))
    return X, y, Xt


def define():
    lm = linear_model
    # ---- linear classifiers
    X2, y2, T2 = data_clf(2, 1)
    X3, y3, T3 = data_clf(3, 2)
    X4, y4, T4 = data_clf(4, 3)
    Xs, ys, Ts = data_clf(3, 4, labels=["setosa", "versicolor", "virginica"])
    Xb, yb, Tb = data_clf(2, 5, labels=[False, True])
    Xf, yf, Tf = data_clf(3, 6, labels=[-1.0, 2.0, 7.0])
    fixture("lr_binary", lm.LogisticRegression(), X2, y2, T2)
    fixture("lr_binary_liblinear", lm.LogisticRegression(solver="liblinear"), X2, y2, T2)
    fixture("lr_multinomial", lm.LogisticRegression(C=0.5), X3, y3, T3)
    fixture("lr_ovr_liblinear", lm.LogisticRegression(solver="liblinear"), X4, y4, T4)
    fixture("lr_ovr_lbfgs", lm.LogisticRegression(multi_class="ovr"), X3, y3, T3)
    fixture("lr_newton_cg", lm.LogisticRegression(solver="newton-cg"), X4, y4, T4)
    fixture("lr_sag_str", lm.LogisticRegression(solver="sag", max_iter=2000, random_state=0), Xs, ys, Ts)
    fixture("lr_saga_bool", lm.LogisticRegression(solver="saga", max_iter=2000, random_state=0), Xb, yb, Tb)
    fixture("lr_float_labels", lm.LogisticRegression(fit_intercept=False), Xf, yf, Tf)
    fixture("lr_f32", lm.LogisticRegression(), X3.astype(np.float32), y3, T3, dtype=np.float32)
    fixture("ridge_clf_binary", lm.RidgeClassifier(), X2, y2, T2)
    fixture("ridge_clf_multi_str", lm.RidgeClassifier(alpha=3.0), Xs, ys, Ts)
    fixture("sgd_hinge_multi", lm.SGDClassifier(random_state=0), X3, y3, T3)
    fixture("sgd_log_binary", lm.SGDClassifier(loss="log_loss", random_state=0), X2, y2, T2)
    fixture("sgd_log_multi", lm.SGDClassifier(loss="log_loss", random_state=0), X4, y4, T4)
    fixture("sgd_mhuber_multi", lm.SGDClassifier(loss="modified_huber", random_state=0),
            X3, y3, T3)
    fixture("sgd_mhuber_binary", lm.SGDClassifier(loss="modified_huber", random_state=0),
            X2, y2, T2)
    fixture("perceptron", lm.Perceptron(random_state=0), X3, y3, T3)
    fixture("linearsvc_binary", svm.LinearSVC(random_state=0, max_iter=5000), X2, y2, T2)
    fixture("linearsvc_multi_str", svm.LinearSVC(random_state=0, max_iter=5000), Xs, ys, Ts)
    # ---- linear regressors
    Xr, yr, Tr = data_reg(10)
    Xm, ym, Tm = data_reg(11, n_targets=3)
    fixture("linreg", lm.LinearRegression(), Xr, yr, Tr)
    fixture("linreg_multi", lm.LinearRegression(), Xm, ym, Tm)
    fixture("linreg_f32", lm.LinearRegression(), Xr.astype(np.float32), yr.astype(np.float32),
            Tr, dtype=np.float32)
    fixture("ridge", lm.Ridge(alpha=2.0), Xr, yr, Tr)
    fixture("ridge_multi", lm.Ridge(alpha=0.5), Xm, ym, Tm)
    fixture("lasso", lm.Lasso(alpha=0.1), Xr, yr, Tr)
    fixture("elasticnet", lm.ElasticNet(alpha=0.1, l1_ratio=0.3), Xr, yr, Tr)
    fixture("elasticnet_multi", lm.ElasticNet(alpha=0.1), Xm, ym, Tm)
    fixture("sgd_reg", lm.SGDRegressor(random_state=0), Xr, yr, Tr)
    fixture("linearsvr", svm.LinearSVR(random_state=0, max_iter=10000), Xr, yr, Tr)
    # ---- kernel SVMs
    for kern in ("linear", "poly", "rbf", "sigmoid"):
        kw = dict(kernel=kern, probability=True, random_state=0)
        if kern == "sigmoid":
            kw["gamma"] = 0.05
        fixture("svc_%s_binary" % kern, svm.SVC(**kw), X2, y2, T2)
        fixture("svc_%s_multi" % kern, svm.SVC(**kw), X4, y4, T4)
        fixture("svr_%s" % kern, svm.SVR(kernel=kern, C=10.0,
                                         gamma=0.05 if kern == "sigmoid" else "scale"),
                Xr, yr / 50.0, Tr)
    fixture("svc_rbf_ovo_str", svm.SVC(decision_function_shape="ovo", probability=True,
                                       random_state=0, gamma=0.3, C=2.0), Xs, ys, Ts)
    fixture("svc_rbf_noproba", svm.SVC(break_ties=True), X3, y3, T3)
    fixture("svc_poly_deg3_coef0", svm.SVC(kernel="poly", degree=3, coef0=1.0, gamma=0.2),
            X3, y3, T3)
    fixture("nusvc_rbf", svm.NuSVC(nu=0.3, probability=True, random_state=0), X3, y3, T3)
    fixture("nusvc_binary_bool", svm.NuSVC(nu=0.4, probability=True, random_state=0),
            Xb, yb, Tb)
    fixture("nusvr_rbf", svm.NuSVR(nu=0.4, C=5.0), Xr, yr / 50.0, Tr)
    fixture("oneclass_rbf", svm.OneClassSVM(nu=0.2, gamma=0.2), X3, None, T3)
    fixture("oneclass_poly", svm.OneClassSVM(nu=0.3, kernel="poly", degree=2), X3, None, T3)
    # ---- preprocessing
    rng = np.random.RandomState(20)
    P = rng.normal(size=(60, 4)) * [1.0, 10.0, 0.1, 5.0] + [0.0, 3.0, -1.0, 50.0]
    PT = rng.normal(size=(15, 4)) * [2.0, 10.0, 0.1, 5.0] + [0.5, 3.0, -1.0, 40.0]
    fixture("std_scaler", preprocessing.StandardScaler(), P, None, PT)
    fixture("std_scaler_nomean", preprocessing.StandardScaler(with_mean=False), P, None, PT)
    fixture("minmax", preprocessing.MinMaxScaler(feature_range=(-1, 2)), P, None, PT)
    fixture("minmax_clip", preprocessing.MinMaxScaler(clip=True), P, None, PT)
    fixture("maxabs", preprocessing.MaxAbsScaler(), P, None, PT)
    fixture("robust", preprocessing.RobustScaler(), P, None, PT)
    fixture("robust_nocenter", preprocessing.RobustScaler(with_centering=False,
                                                          quantile_range=(10, 90)), P, None, PT)
    for norm in ("l1", "l2", "max"):
        fixture("normalizer_%s" % norm, preprocessing.Normalizer(norm=norm), P, None, PT)
    fixture("poly2", preprocessing.PolynomialFeatures(degree=2), P, None, PT)
    fixture("poly3_inter", preprocessing.PolynomialFeatures(degree=3, interaction_only=True,
                                                            include_bias=False), P, None, PT)
    PN = P.copy()
    PN[rng.rand(*PN.shape) < 0.15] = np.nan
    PNT = PT.copy()
    PNT[rng.rand(*PNT.shape) < 0.2] = np.nan
    for strat in ("mean", "median", "most_frequent", "constant"):
        fixture("imputer_%s" % strat, impute.SimpleImputer(strategy=strat, fill_value=-7.0),
                np.round(PN, 1), None, np.round(PNT, 1))
    C = rng.randint(0, 4, size=(50, 3)).astype(float) * [1.0, 2.5, -1.0]
    CT = rng.randint(0, 5, size=(12, 3)).astype(float) * [1.0, 2.5, -1.0]
    CTk = rng.randint(0, 4, size=(12, 3)).astype(float) * [1.0, 2.5, -1.0]
    fixture("onehot_dense", preprocessing.OneHotEncoder(sparse_output=False), C, None, CTk)
    fixture("onehot_sparse_ignore", preprocessing.OneHotEncoder(handle_unknown="ignore"),
            C, None, CT)
    fixture("onehot_drop_first", preprocessing.OneHotEncoder(drop="first", sparse_output=False),
            C, None, CTk)
    fixture("ordinal", preprocessing.OrdinalEncoder(), C, None, CTk)
    fixture("ordinal_unknown", preprocessing.OrdinalEncoder(handle_unknown="use_encoded_value",
                                                            unknown_value=-1), C, None, CT)
    fixture("pca", decomposition.PCA(n_components=3), X4, None, T4)
    fixture("pca_whiten", decomposition.PCA(n_components=2, whiten=True), X4, None, T4)
    fixture("truncated_svd", decomposition.TruncatedSVD(n_components=3, random_state=0),
            X4, None, T4)
    # ---- composition
    fixture("pipe_scaler_lr", pipeline.make_pipeline(preprocessing.StandardScaler(),
                                                     lm.LogisticRegression()), X3, y3, T3)
    fixture("pipe_scaler_pca_svc", pipeline.make_pipeline(
        preprocessing.StandardScaler(), decomposition.PCA(n_components=4),
        svm.SVC(probability=True, random_state=0)), X4, y4, T4)
    fixture("pipe_passthrough_nested", pipeline.Pipeline([
        ("a", "passthrough"),
        ("inner", pipeline.Pipeline([("s", preprocessing.MinMaxScaler()), ("n", None)])),
        ("clf", lm.LogisticRegression())]), Xs, ys, Ts)
    fixture("pipe_transform_only", pipeline.make_pipeline(
        preprocessing.StandardScaler(), decomposition.PCA(n_components=2)), X3, None, T3)
    Xc = np.hstack([X3[:, :4], rng.randint(0, 3, size=(X3.shape[0], 2)).astype(float)])
    Tc = np.hstack([T3[:, :4], rng.randint(0, 3, size=(T3.shape[0], 2)).astype(float)])
    ct = compose.ColumnTransformer([
        ("num", preprocessing.StandardScaler(), [0, 1, 2]),
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), [4, 5])],
        remainder="passthrough")
    fixture("ct_remainder_lr", pipeline.make_pipeline(ct, lm.LogisticRegression(max_iter=500)),
            Xc, y3, Tc)
    ct2 = compose.ColumnTransformer([
        ("a", preprocessing.MinMaxScaler(), [3, 0]),
        ("b", "passthrough", [5]),
        ("c", "drop", [1])], remainder="drop")
    fixture("ct_drop", ct2, Xc, None, Tc)
    # ---- MLP
    for act in ("relu", "tanh", "logistic", "identity"):
        fixture("mlp_clf_%s" % act, neural_network.MLPClassifier(
            hidden_layer_sizes=(12, 7), activation=act, max_iter=300, random_state=0),
            X3, y3, T3)
    fixture("mlp_clf_binary_str", neural_network.MLPClassifier(
        hidden_layer_sizes=(10,), max_iter=300, random_state=1), X2,
        np.array(["no", "yes"], dtype=object)[y2], T2)
    fixture("mlp_reg", neural_network.MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=500,
                                                   random_state=0), Xr, yr / 50.0, Tr)
    fixture("mlp_reg_multi", neural_network.MLPRegressor(hidden_layer_sizes=(9,),
                                                         activation="tanh", max_iter=500,
                                                         random_state=0), Xm, ym / 50.0, Tm)
    fixture("mlp_clf_f32", neural_network.MLPClassifier(hidden_layer_sizes=(8,), max_iter=300,
                                                        random_state=0),
            X3.astype(np.float32), y3, T3, dtype=np.float32)
    # ---- neighbors
    for w in ("uniform", "distance"):
        for metric, p in (("minkowski", 2), ("minkowski", 1), ("minkowski", 3),
                          ("euclidean", 2), ("manhattan", 2), ("chebyshev", 2)):
            nm = "knn_clf_%s_%s%s" % (w, metric, p if metric == "minkowski" else "")
            fixture(nm, neighbors.KNeighborsClassifier(n_neighbors=5, weights=w, metric=metric,
                                                       p=p), X3, y3, T3)
        fixture("knn_reg_%s" % w, neighbors.KNeighborsRegressor(n_neighbors=4, weights=w),
                Xr, yr, Tr)
    fixture("knn_clf_str_brute", neighbors.KNeighborsClassifier(n_neighbors=3,
                                                                algorithm="brute"),
            Xs, ys, Ts)
    fixture("knn_reg_multi", neighbors.KNeighborsRegressor(n_neighbors=3), Xm, ym, Tm)
    # ---- naive Bayes
    Cnt = rng.poisson(2.0, size=(120, 8)).astype(float)
    yc = (Cnt[:, 0] + Cnt[:, 1] > Cnt[:, 2] + 2).astype(int) + (Cnt[:, 3] > 3).astype(int)
    CntT = rng.poisson(2.0, size=(20, 8)).astype(float)
    fixture("gnb", naive_bayes.GaussianNB(), X3, y3, T3)
    fixture("gnb_str", naive_bayes.GaussianNB(var_smoothing=1e-3), Xs, ys, Ts)
    fixture("mnb", naive_bayes.MultinomialNB(alpha=0.5), Cnt, yc, CntT)
    fixture("cnb", naive_bayes.ComplementNB(), Cnt, yc, CntT)
    fixture("cnb_norm", naive_bayes.ComplementNB(norm=True), Cnt, yc, CntT)
    fixture("bnb", naive_bayes.BernoulliNB(binarize=1.5), Cnt, yc, CntT)
    fixture("bnb_binary", naive_bayes.BernoulliNB(binarize=0.0), X2, y2, T2)
    # ---- clustering
    fixture("kmeans", cluster.KMeans(n_clusters=4, n_init=3, random_state=0), X3, None, T3)
    fixture("minibatch_kmeans", cluster.MiniBatchKMeans(n_clusters=3, n_init=3,
                                                        random_state=0), X4, None, T4)


def define_f32():
    """float32 fixtures, appended after define()'s so earlier files keep their
    pickle protocols.  Data as in define() (same seeds; P/PN/PT from the same
    RandomState sequence)."""
    lm = linear_model
    X2, y2, T2 = data_clf(2, 1)
    X3, y3, T3 = data_clf(3, 2)
    X4, y4, T4 = data_clf(4, 3)
    Xs, ys, Ts = data_clf(3, 4, labels=["setosa", "versicolor", "virginica"])
    Xr, yr, Tr = data_reg(10)
    Xm, ym, Tm = data_reg(11, n_targets=3)
    rng = np.random.RandomState(20)
    P = rng.normal(size=(60, 4)) * [1.0, 10.0, 0.1, 5.0] + [0.0, 3.0, -1.0, 50.0]
    PT = rng.normal(size=(15, 4)) * [2.0, 10.0, 0.1, 5.0] + [0.5, 3.0, -1.0, 40.0]
    PN = P.copy()
    PN[rng.rand(*PN.shape) < 0.15] = np.nan
    PNT = PT.copy()
    PNT[rng.rand(*PNT.shape) < 0.2] = np.nan
    # ---- float32 data: scikit-learn computes in float32 wherever its state
    # stays float32 (see /work/notes/issue5-f32.md for the table).  These
    # fixtures also record the dtype of every float output and the outputs
    # for the same rows given as float64.
    f4 = np.float32
    fixture("lr_saga_f32", lm.LogisticRegression(solver="saga", max_iter=3000, random_state=0),
            X3.astype(f4), y3, T3, dtype=f4)
    fixture("lr_newton_cg_binary_f32", lm.LogisticRegression(solver="newton-cg"),
            X2.astype(f4), y2, T2, dtype=f4)
    fixture("lr_sag_ovr_str_f32", lm.LogisticRegression(solver="sag", multi_class="ovr",
                                                        max_iter=3000, random_state=0),
            Xs.astype(f4), ys, Ts, dtype=f4)
    fixture("lr_newton_cg_multi_f32", lm.LogisticRegression(solver="newton-cg", C=0.3),
            X4.astype(f4), y4, T4, dtype=f4)
    fixture("ridge_clf_f32", lm.RidgeClassifier(alpha=2.0), X3.astype(f4), y3, T3, dtype=f4)
    fixture("ridge_clf_binary_f32", lm.RidgeClassifier(), X2.astype(f4), y2, T2, dtype=f4)
    fixture("ridge_multi_f32", lm.Ridge(alpha=0.5), Xm.astype(f4), ym.astype(f4), Tm, dtype=f4)
    fixture("lasso_f32", lm.Lasso(alpha=0.1), Xr.astype(f4), yr.astype(f4), Tr, dtype=f4)
    fixture("sgd_log_f32", lm.SGDClassifier(loss="log_loss", random_state=0), X3.astype(f4), y3,
            T3, dtype=f4)
    fixture("mlp_clf_tanh_binary_f32", neural_network.MLPClassifier(
        hidden_layer_sizes=(9, 5), activation="tanh", max_iter=300, random_state=0),
        X2.astype(f4), y2, T2, dtype=f4)
    fixture("mlp_clf_logistic_f32", neural_network.MLPClassifier(
        hidden_layer_sizes=(10,), activation="logistic", max_iter=300, random_state=0),
        X4.astype(f4), y4, T4, dtype=f4)
    fixture("mlp_reg_f32", neural_network.MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=500,
                                                       random_state=0),
            Xm.astype(f4), (ym / 50.0).astype(f4), Tm, dtype=f4)
    fixture("svc_rbf_f32", svm.SVC(probability=True, random_state=0), X3.astype(f4), y3, T3,
            dtype=f4)
    fixture("gnb_f32", naive_bayes.GaussianNB(), X3.astype(f4), y3, T3, dtype=f4)
    # ---- float32: preprocessing, composition, clustering, neighbors
    f4 = np.float32
    P4, PT4 = P.astype(f4), PT.astype(f4)
    fixture("std_scaler_f32", preprocessing.StandardScaler(), P4, None, PT4, dtype=f4)
    fixture("minmax_f32", preprocessing.MinMaxScaler(feature_range=(-1, 2)), P4, None, PT4,
            dtype=f4)
    fixture("maxabs_f32", preprocessing.MaxAbsScaler(), P4, None, PT4, dtype=f4)
    fixture("robust_f32", preprocessing.RobustScaler(), P4, None, PT4, dtype=f4)
    fixture("normalizer_l2_f32", preprocessing.Normalizer(), P4, None, PT4, dtype=f4)
    fixture("normalizer_l1_f32", preprocessing.Normalizer(norm="l1"), P4, None, PT4, dtype=f4)
    fixture("poly3_f32", preprocessing.PolynomialFeatures(degree=3), P4, None, PT4, dtype=f4)
    fixture("imputer_mean_f32", impute.SimpleImputer(strategy="mean"),
            np.round(PN, 1).astype(f4), None, np.round(PNT, 1).astype(f4), dtype=f4)
    fixture("pca_f32", decomposition.PCA(n_components=3), X4.astype(f4), None, T4, dtype=f4)
    fixture("pca_whiten_f32", decomposition.PCA(n_components=2, whiten=True), X4.astype(f4),
            None, T4, dtype=f4)
    fixture("truncated_svd_f32", decomposition.TruncatedSVD(n_components=3, random_state=0),
            X4.astype(f4), None, T4, dtype=f4)
    fixture("pipe_scaler_lr_saga_f32", pipeline.make_pipeline(
        preprocessing.StandardScaler(), lm.LogisticRegression(solver="saga", max_iter=3000,
                                                              random_state=0)),
        X3.astype(f4), y3, T3, dtype=f4)
    fixture("pipe_scaler_pca_mlp_f32", pipeline.make_pipeline(
        preprocessing.StandardScaler(), decomposition.PCA(n_components=4),
        neural_network.MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0)),
        X4.astype(f4), y4, T4, dtype=f4)
    fixture("kmeans_f32", cluster.KMeans(n_clusters=4, n_init=3, random_state=0),
            X3.astype(f4), None, T3, dtype=f4)
    fixture("knn_reg_f32", neighbors.KNeighborsRegressor(n_neighbors=4),
            Xr.astype(f4), yr.astype(f4), Tr, dtype=f4)
    fixture("knn_clf_f32", neighbors.KNeighborsClassifier(n_neighbors=5), X3.astype(f4), y3,
            T3, dtype=f4)
    # ColumnTransformer: float32 when every part is (scalers, passthrough);
    # float64 as soon as one part is (OneHotEncoder)
    rng2 = np.random.RandomState(21)
    Xc = np.hstack([X3[:, :4], rng2.randint(0, 3, size=(X3.shape[0], 2)).astype(float)])
    Tc = np.hstack([T3[:, :4], rng2.randint(0, 3, size=(T3.shape[0], 2)).astype(float)])
    fixture("ct_scalers_f32", compose.ColumnTransformer([
        ("s", preprocessing.StandardScaler(), [0, 1]),
        ("m", preprocessing.MinMaxScaler(), [2])], remainder="passthrough"),
        Xc.astype(f4), None, Tc, dtype=f4)
    fixture("ct_onehot_lr_saga_f32", pipeline.make_pipeline(compose.ColumnTransformer([
        ("num", preprocessing.RobustScaler(), [0, 1, 2, 3]),
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         [4, 5])]), lm.LogisticRegression(solver="saga", max_iter=3000, random_state=0)),
        Xc.astype(f4), y3, Tc, dtype=f4)
    fixture("ct_scalers_mlp_f32", pipeline.make_pipeline(compose.ColumnTransformer([
        ("s", preprocessing.StandardScaler(), [0, 1, 2, 3]),
        ("p", "passthrough", [4, 5])]), neural_network.MLPClassifier(
            hidden_layer_sizes=(6,), max_iter=300, random_state=0)),
        Xc.astype(f4), y3, Tc, dtype=f4)
    # KMeans near-ties: rows close to the midpoint of two centers where the
    # float64 distances pick another cluster than scikit-learn's float32
    # -2 x.c + |c|^2 (sgemm) does; the model is fitted here once to find them
    # (same seed: fixture() refits it identically)
    km = cluster.KMeans(n_clusters=4, n_init=3, random_state=0).fit(X3.astype(f4))
    C = km.cluster_centers_
    rngk = np.random.RandomState(33)
    ties = []
    for a in range(4):
        for b in range(a + 1, 4):
            mid = (C[a].astype(np.float64) + C[b]) / 2
            for _ in range(4000):
                x = (mid + rngk.normal(scale=1e-6, size=mid.shape)).astype(f4)
                d64 = ((x.astype(np.float64)[None, :] - C.astype(np.float64)) ** 2).sum(1)
                if int(np.argmin(d64)) != int(km.predict(x[None, :])[0]):
                    ties.append(x)
                    if len(ties) % 3 == 0:
                        break
    Tk = np.vstack([T3.astype(f4)] + ties[:12]) if ties else T3
    fixture("kmeans_ties_f32", cluster.KMeans(n_clusters=4, n_init=3, random_state=0),
            X3.astype(f4), None, Tk, dtype=f4, methods=("predict",))


def main():
    if sklearn.__version__ != "1.2.1":
        sys.exit("expected scikit-learn 1.2.1 (Debian), got %s" % sklearn.__version__)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    define()
    define_f32()
    index = []
    for k, (name, model, X, y, Xt, dtype, methods) in enumerate(FIXTURES):
        X = np.asarray(X, dtype=dtype)
        Xt = np.asarray(Xt, dtype=dtype)
        if y is None:
            model.fit(X)
        else:
            model.fit(X, y)
        proto = (2, 3, 4, 5)[k % 4]
        with open(os.path.join(OUT, name + ".pkl"), "wb") as fh:
            pickle.dump(model, fh, protocol=proto)
        joblib.dump(model, os.path.join(OUT, name + ".joblib"))
        outs = {}
        dtypes = {}
        outs64 = {}
        dtypes64 = {}
        for m in methods:
            # PCA's probabilistic score_samples is not implemented by the runtime
            if m == "score_samples" and not isinstance(model, svm.OneClassSVM):
                continue
            if not hasattr(model, m):
                continue
            try:
                r = getattr(model, m)(Xt)
            except Exception:  # e.g. predict_proba of SVC(probability=False)
                continue
            outs[m] = jsonable(r)
            if np.dtype(dtype) == np.float32:
                dtypes[m] = np.asarray(r.todense() if sp.issparse(r) else r).dtype.name
                try:
                    r64 = getattr(model, m)(np.asarray(Xt, dtype=np.float64))
                except ValueError:  # KMeans fitted on float32: predict needs float32
                    continue
                outs64[m] = jsonable(r64)
                dtypes64[m] = np.asarray(r64.todense() if sp.issparse(r64) else r64).dtype.name
        doc = {"kind": "sklearn", "class": type(model).__module__ + "." + type(model).__name__,
               "sklearn_version": sklearn.__version__, "input_kind": "numeric",
               "dtype": np.dtype(dtype).name, "n_features": int(X.shape[1]),
               "pickle_protocol": proto, "inputs": jsonable(Xt), "outputs": outs}
        if np.dtype(dtype) == np.float32:
            # dtype of each result for float32 rows; results and dtypes for
            # the same rows given as float64 (NumPy promotion with the state)
            doc["output_dtypes"] = dtypes
            doc["outputs_f64in"] = outs64
            doc["output_dtypes_f64in"] = dtypes64
        with open(os.path.join(OUT, name + ".json"), "w") as fh:
            json.dump(doc, fh, indent=None, separators=(",", ":"))
            fh.write("\n")
        index.append(name)
    # an estimator the runtime does not implement: must fail naming its class
    with open(os.path.join(OUT, "unsupported_dbscan.pkl"), "wb") as fh:
        pickle.dump(cluster.DBSCAN(eps=0.5).fit(FIXTURES[0][2]), fh, protocol=4)
    with open(os.path.join(OUT, "INDEX"), "w") as fh:
        fh.write("\n".join(index) + "\n")
    print("%d fixtures in %s" % (len(index), OUT))


if __name__ == "__main__":
    main()
