#!/usr/bin/python3
"""Generate the tree / ensemble fixtures in models/trees/.

Run with Debian's interpreter only:  /usr/bin/python3 models/make_trees.py

For every fixture NAME it writes
  NAME.pkl      pickle.dump(model, protocol=4)
  NAME.joblib   joblib.dump(model) (uncompressed: arrays inline in the pickle)
  NAME.json     {"kind": "sklearn", "class", "sklearn_version", "input_kind": "numeric",
                 "n_features", "inputs": rows, "outputs": {method: result}}
Inputs are lists of rows; NaN is written as null.  Outputs are what scikit-learn
(Debian's python3-sklearn) computed on exactly those inputs: labels as JSON
strings/ints, probabilities and values as float64 (repr, round-trips), `apply`
as leaf indices.  Every model is fitted with fixed seeds: re-running rewrites
identical files.

The inputs are random rows plus rows placed exactly on, and one float64 ulp /
one float32 ulp around, split thresholds of the first tree, so that the
float32 cast and the `<=` direction of the traversal are exercised.
"""
import json
import math
import os
import pickle
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trees")


def jsonable(a):
    """numpy output -> JSON value (NaN -> null, numpy scalars -> Python)."""
    if isinstance(a, np.ndarray):
        return [jsonable(x) for x in a]
    if isinstance(a, (list, tuple)):
        return [jsonable(x) for x in a]
    if isinstance(a, (np.floating, float)):
        f = float(a)
        return None if math.isnan(f) else f
    if isinstance(a, (np.integer,)):
        return int(a)
    if isinstance(a, (np.bool_,)):
        return bool(a)
    if isinstance(a, np.str_):
        return str(a)
    return a


def boundary_rows(model_tree, base_row, n_nodes=4):
    """Rows with one feature on / around a split threshold of `model_tree`."""
    t = model_tree.tree_
    rows = []
    internal = [i for i in range(t.node_count) if t.children_left[i] != -1][:n_nodes]
    for node in internal:
        f = int(t.feature[node])
        thr = float(t.threshold[node])
        f32 = float(np.float32(thr))
        for v in (thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf), f32,
                  float(np.nextafter(np.float32(thr), np.float32(np.inf)))):
            r = base_row.copy()
            r[f] = float(v)
            rows.append(r)
    return rows


def make_inputs(n_features, first_tree=None, seed=1, n_random=14, nan=False, scale=1.5):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_random, n_features)) * scale
    rows = [r for r in X]
    if first_tree is not None:
        rows += boundary_rows(first_tree, X[0].copy())
    X = np.array(rows, dtype=np.float64)
    if nan:
        X[1, 0] = np.nan
        X[3, :] = np.nan
        X[5, n_features - 1] = np.nan
    return X


def dump(name, model, X, methods, extra=None):
    path = os.path.join(OUT, name)
    with open(path + ".pkl", "wb") as fh:
        pickle.dump(model, fh, protocol=4)
    import joblib
    joblib.dump(model, path + ".joblib")
    outs = {}
    for m in methods:
        r = getattr(model, m)(X)
        if isinstance(r, list):
            r = np.array(r)
        outs[m] = jsonable(np.asarray(r))
    cls = type(model)
    doc = {
        "kind": "sklearn",
        "class": cls.__module__ + "." + cls.__name__,
        "sklearn_version": __import__("sklearn").__version__,
        "input_kind": "numeric",
        "n_features": int(X.shape[1]),
        "inputs": jsonable(X),
        "outputs": outs,
    }
    if extra:
        doc.update(extra)
    with open(path + ".json", "w") as fh:
        json.dump(doc, fh, sort_keys=False)
        fh.write("\n")
    print("wrote", name, ", ".join(methods))


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    from sklearn.datasets import make_classification, make_regression
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import (AdaBoostClassifier, AdaBoostRegressor, BaggingClassifier,
                                  BaggingRegressor, ExtraTreesClassifier, ExtraTreesRegressor,
                                  GradientBoostingClassifier, GradientBoostingRegressor,
                                  HistGradientBoostingClassifier,
                                  HistGradientBoostingRegressor, IsolationForest,
                                  RandomForestClassifier, RandomForestRegressor,
                                  VotingClassifier, VotingRegressor)
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith((".pkl", ".joblib", ".json")):
            os.remove(os.path.join(OUT, fn))

    NF = 6
    Xb, yb = make_classification(n_samples=160, n_features=NF, n_informative=4, n_redundant=1,
                                 n_classes=2, random_state=0)
    Xm, ym = make_classification(n_samples=180, n_features=NF, n_informative=4, n_redundant=1,
                                 n_classes=3, n_clusters_per_class=1, random_state=1)
    names = np.array(["cat", "dog", "\u00e9meu"])
    ym_s = names[ym]
    Xr, yr = make_regression(n_samples=160, n_features=NF, n_informative=4, noise=5.0,
                             random_state=2)
    yr2 = np.c_[yr, 0.5 * yr + Xr[:, 0] * 10]

    clf_methods = ["predict", "predict_proba"]
    tree_methods = ["apply"]

    # ---- single trees
    m = DecisionTreeClassifier(max_depth=6, random_state=0).fit(Xb, yb)
    dump("dt_clf_binary", m, make_inputs(NF, m), clf_methods + tree_methods)
    m = DecisionTreeClassifier(max_depth=6, random_state=0).fit(Xm, ym_s)
    dump("dt_clf_multi_str", m, make_inputs(NF, m), clf_methods + tree_methods)
    m = DecisionTreeClassifier(max_depth=4, random_state=0,
                               class_weight={0: 1.0, 1: 3.0}).fit(Xb, yb)
    dump("dt_clf_weighted", m, make_inputs(NF, m), clf_methods + tree_methods)
    m = DecisionTreeRegressor(max_depth=6, random_state=0).fit(Xr, yr)
    dump("dt_reg", m, make_inputs(NF, m), ["predict"] + tree_methods)
    m = DecisionTreeRegressor(max_depth=5, random_state=0).fit(Xr, yr2)
    dump("dt_reg_multiout", m, make_inputs(NF, m), ["predict"] + tree_methods)

    # ---- forests
    m = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=0).fit(Xb, yb)
    dump("rf_clf_binary", m, make_inputs(NF, m.estimators_[0]), clf_methods + tree_methods)
    m = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=0).fit(Xm, ym_s)
    dump("rf_clf_multi_str", m, make_inputs(NF, m.estimators_[0]), clf_methods + tree_methods)
    m = RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0).fit(Xr, yr)
    dump("rf_reg", m, make_inputs(NF, m.estimators_[0]), ["predict"] + tree_methods)
    m = ExtraTreesClassifier(n_estimators=8, max_depth=6, random_state=0).fit(Xm, ym_s)
    dump("et_clf_multi_str", m, make_inputs(NF, m.estimators_[0]), clf_methods + tree_methods)
    m = ExtraTreesRegressor(n_estimators=8, max_depth=6, random_state=0).fit(Xr, yr)
    dump("et_reg", m, make_inputs(NF, m.estimators_[0]), ["predict"] + tree_methods)

    # ---- gradient boosting (classifier: every init_)
    gbc = dict(n_estimators=12, max_depth=3, learning_rate=0.3, random_state=0)
    gb_methods = clf_methods + ["decision_function"]
    for name, X, y, kw in [
        ("gb_clf_binary", Xb, yb, {}),
        ("gb_clf_binary_zero", Xb, yb, {"init": "zero"}),
        ("gb_clf_binary_exp", Xb, yb, {"loss": "exponential"}),
        ("gb_clf_binary_dummy", Xb, yb, {"init": DummyClassifier(strategy="prior")}),
        ("gb_clf_binary_lr", Xb, yb, {"init": LogisticRegression(random_state=0)}),
        ("gb_clf_multi_str", Xm, ym_s, {}),
        ("gb_clf_multi_zero", Xm, ym_s, {"init": "zero"}),
        ("gb_clf_multi_lr", Xm, ym_s, {"init": LogisticRegression(random_state=0)}),
        ("gb_clf_multi_subsample", Xm, ym, {"subsample": 0.7, "max_features": 3}),
    ]:
        m = GradientBoostingClassifier(**gbc, **kw).fit(X, y)
        dump(name, m, make_inputs(NF, m.estimators_[0, 0]), gb_methods + tree_methods)
    gbr = dict(n_estimators=12, max_depth=3, learning_rate=0.2, random_state=0)
    for name, kw in [
        ("gb_reg_squared_error", {"loss": "squared_error"}),
        ("gb_reg_absolute_error", {"loss": "absolute_error"}),
        ("gb_reg_huber", {"loss": "huber", "alpha": 0.85}),
        ("gb_reg_quantile", {"loss": "quantile", "alpha": 0.8}),
        ("gb_reg_zero", {"init": "zero"}),
        ("gb_reg_dummy_median", {"init": DummyRegressor(strategy="median")}),
        ("gb_reg_linear_init", {"init": LinearRegression()}),
    ]:
        m = GradientBoostingRegressor(**gbr, **kw).fit(Xr, yr)
        dump(name, m, make_inputs(NF, m.estimators_[0, 0]), ["predict"] + tree_methods)

    # ---- histogram gradient boosting: NaN and categorical features
    rng = np.random.RandomState(3)
    Xh = Xb.copy()
    Xh[rng.rand(*Xh.shape) < 0.1] = np.nan
    Xh[:, 2] = rng.randint(0, 7, size=len(Xh)).astype(float)   # categorical, 7 levels
    yh = ((np.nan_to_num(Xh[:, 0]) + (Xh[:, 2] % 3 == 1) * 1.5) > 0.3).astype(int)
    Xhm = Xm.copy()
    Xhm[rng.rand(*Xhm.shape) < 0.1] = np.nan
    Xhm[:, 4] = rng.randint(0, 12, size=len(Xhm)).astype(float)
    Xhm[rng.rand(len(Xhm)) < 0.05, 4] = np.nan

    def hgb_inputs(cat_cols, ncats):
        X = make_inputs(NF, None, seed=4, n_random=20, nan=True)
        r = np.random.RandomState(5)
        for c, k in zip(cat_cols, ncats):
            X[:, c] = r.randint(0, k + 2, size=len(X)).astype(float)  # k, k+1 unseen
            X[7, c] = np.nan
        return X

    hgbc = dict(max_iter=15, max_leaf_nodes=8, learning_rate=0.3, random_state=0)
    m = HistGradientBoostingClassifier(**hgbc, categorical_features=[2]).fit(Xh, yh)
    dump("hgb_clf_binary_cat", m, hgb_inputs([2], [7]), gb_methods)
    m = HistGradientBoostingClassifier(**hgbc).fit(Xh, yh)
    dump("hgb_clf_binary_nan", m, hgb_inputs([], []), gb_methods)
    m = HistGradientBoostingClassifier(**hgbc, categorical_features=[4]).fit(Xhm, ym_s)
    dump("hgb_clf_multi_str_cat", m, hgb_inputs([4], [12]), gb_methods)
    Xhr = Xr.copy()
    Xhr[rng.rand(*Xhr.shape) < 0.1] = np.nan
    Xhr[:, 1] = rng.randint(0, 5, size=len(Xhr)).astype(float)
    yhr = yr + Xhr[:, 1] * 20
    m = HistGradientBoostingRegressor(**hgbc, categorical_features=[1]).fit(Xhr, yhr)
    dump("hgb_reg_cat", m, hgb_inputs([1], [5]), ["predict"])
    m = HistGradientBoostingRegressor(**hgbc, loss="absolute_error").fit(Xhr, yhr)
    dump("hgb_reg_absolute_error", m, hgb_inputs([], []), ["predict"])
    m = HistGradientBoostingRegressor(**hgbc, loss="poisson").fit(Xhr, np.abs(yhr) / 10)
    dump("hgb_reg_poisson", m, hgb_inputs([], []), ["predict"])
    m = HistGradientBoostingRegressor(**hgbc, loss="quantile", quantile=0.3).fit(Xhr, yhr)
    dump("hgb_reg_quantile", m, hgb_inputs([], []), ["predict"])

    # ---- AdaBoost
    ab_methods = clf_methods + ["decision_function"]
    for name, X, y, alg in [("ada_clf_binary_samme", Xb, yb, "SAMME"),
                            ("ada_clf_binary_sammer", Xb, yb, "SAMME.R"),
                            ("ada_clf_multi_str_samme", Xm, ym_s, "SAMME"),
                            ("ada_clf_multi_str_sammer", Xm, ym_s, "SAMME.R")]:
        m = AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=10,
                               algorithm=alg, random_state=0).fit(X, y)
        dump(name, m, make_inputs(NF, m.estimators_[0]), ab_methods)
    m = AdaBoostRegressor(DecisionTreeRegressor(max_depth=3), n_estimators=10,
                          random_state=0).fit(Xr, yr)
    dump("ada_reg", m, make_inputs(NF, m.estimators_[0]), ["predict"])

    # ---- Bagging (feature subsets, bootstrap features)
    m = BaggingClassifier(DecisionTreeClassifier(max_depth=4), n_estimators=6,
                          max_features=0.7, bootstrap_features=True, random_state=0).fit(Xm, ym_s)
    dump("bag_clf_multi_str", m, make_inputs(NF), clf_methods)
    m = BaggingRegressor(DecisionTreeRegressor(max_depth=4), n_estimators=6, max_features=4,
                         random_state=0).fit(Xr, yr)
    dump("bag_reg", m, make_inputs(NF), ["predict"])

    # ---- Voting
    ests = [("dt", DecisionTreeClassifier(max_depth=3, random_state=0)),
            ("rf", RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0)),
            ("lr", LogisticRegression(random_state=0))]
    m = VotingClassifier(ests, voting="hard").fit(Xm, ym_s)
    dump("vote_clf_hard", m, make_inputs(NF), ["predict"])
    m = VotingClassifier(ests, voting="soft", weights=[2, 1, 1]).fit(Xm, ym_s)
    dump("vote_clf_soft", m, make_inputs(NF), clf_methods)
    m = VotingClassifier([("dt", DecisionTreeClassifier(max_depth=3, random_state=0)),
                          ("nb", GaussianNB()),
                          ("gb", GradientBoostingClassifier(n_estimators=5, random_state=0))],
                         voting="hard", weights=[1, 1, 2]).fit(Xb, yb)
    dump("vote_clf_hard_weighted", m, make_inputs(NF), ["predict"])
    m = VotingRegressor([("dt", DecisionTreeRegressor(max_depth=4, random_state=0)),
                         ("lin", LinearRegression()),
                         ("rf", RandomForestRegressor(n_estimators=4, max_depth=3,
                                                      random_state=0))],
                        weights=[1, 2, 1]).fit(Xr, yr)
    dump("vote_reg", m, make_inputs(NF), ["predict"])

    # ---- IsolationForest
    if_methods = ["predict", "decision_function", "score_samples"]
    m = IsolationForest(n_estimators=10, max_samples=64, random_state=0).fit(Xb)
    dump("iforest", m, make_inputs(NF, m.estimators_[0], scale=3.0), if_methods)
    m = IsolationForest(n_estimators=10, max_samples=40, max_features=0.5, contamination=0.1,
                        random_state=0).fit(Xr)
    dump("iforest_features", m, make_inputs(NF, scale=3.0), if_methods)


if __name__ == "__main__":
    main()
