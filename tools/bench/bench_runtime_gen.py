#!/usr/bin/python3
"""Inputs for tools/bench/bench_runtime.sh and the Python side of the timing.

  bench_runtime_gen.py OUTDIR ROWS KNN_ROWS      write models + inputs (fixed seeds)
  bench_runtime_gen.py --time OUTDIR REPEATS [NAME]   time scikit-learn / PyTorch on them
                                                      (NAME: that model only, e.g. torch)

Models (our own data, fixed seeds; files go to OUTDIR, never to git), 20 features, 3 classes,
fitted on 5000 rows of make_classification:
  lr.pkl     LogisticRegression (multinomial, lbfgs)            predict_proba
  mlp.pkl    MLPClassifier(hidden_layer_sizes=(64, 32), relu)  predict_proba
  svc.pkl    SVC(kernel='rbf', C=1) fitted on the first 2000 rows  decision_function (ovr)
  knn.pkl    KNeighborsClassifier(n_neighbors=5), 5000 points   predict_proba
  torch.pkl  a torch state_dict (Linear 20-256-256-3, relu, relu; float32) pickled as NumPy
             arrays, run as the layer stack net.0:relu,net.2:relu,net.4 vs torch.nn.Sequential
Inputs: X.f64 (ROWS x 20 float64, little-endian, row-major); the KNN batch uses the first
KNN_ROWS rows (scikit-learn needs minutes for 1e6 KNN queries: 5e9 distances).
Timing output, one line per model: name  single_row_s  batch_s  batch_rows
(single row: best of REPEATS x CALLS calls on one row, per call; batch: best of REPEATS
over the batch; PyTorch in float32 under torch.no_grad(), one row as a (1, 20) tensor).
"""
import collections
import os
import pickle
import sys
import time
import warnings

import numpy as np

NF = 20
SPEC = "net.0:relu,net.2:relu,net.4"


def gen(outdir, rows, knn_rows):
    import torch
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC
    warnings.simplefilter("ignore")  # MLP ConvergenceWarning: 200 iterations are enough here
    os.makedirs(outdir, exist_ok=True)
    X, y = make_classification(n_samples=5000, n_features=NF, n_informative=10, n_classes=3,
                               random_state=0)
    models = {
        "lr": LogisticRegression(max_iter=500).fit(X, y),
        "mlp": MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=200,
                             random_state=0).fit(X, y),
        "svc": SVC(kernel="rbf", C=1.0).fit(X[:2000], y[:2000]),
        "knn": KNeighborsClassifier(n_neighbors=5).fit(X, y),
    }
    for name, m in models.items():
        with open(os.path.join(outdir, name + ".pkl"), "wb") as f:
            pickle.dump(m, f, protocol=4)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(NF, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 3))
    sd = collections.OrderedDict(("net." + k, v.detach().numpy())
                                 for k, v in net.state_dict().items())
    with open(os.path.join(outdir, "torch.pkl"), "wb") as f:
        pickle.dump(sd, f, protocol=4)
    Xb = np.random.RandomState(3).standard_normal((rows, NF)) * 2
    Xb.astype("<f8").tofile(os.path.join(outdir, "X.f64"))
    with open(os.path.join(outdir, "meta.txt"), "w") as f:
        f.write("%d %d %d\n" % (rows, knn_rows, len(models["svc"].support_)))


def best(fn, reps):
    b = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def timing(outdir, reps, only=None):
    import torch
    X = np.fromfile(os.path.join(outdir, "X.f64"), dtype="<f8").reshape(-1, NF)
    with open(os.path.join(outdir, "meta.txt")) as f:
        rows, knn_rows, _ = (int(v) for v in f.read().split())
    calls = 200
    for name, method in (("lr", "predict_proba"), ("mlp", "predict_proba"),
                         ("svc", "decision_function"), ("knn", "predict_proba")):
        if only and name != only:
            continue
        with open(os.path.join(outdir, name + ".pkl"), "rb") as f:
            m = pickle.load(f)  # our own file, written above
        fn = getattr(m, method)
        data = X[:knn_rows] if name == "knn" else X
        one = X[:1]
        single = best(lambda: [fn(one) for _ in range(calls)], reps) / calls
        batch = best(lambda: fn(data), reps)
        print("%s\t%.9f\t%.6f\t%d" % (name, single, batch, len(data)), flush=True)
    if only and only != "torch":
        return
    with open(os.path.join(outdir, "torch.pkl"), "rb") as f:
        sd = pickle.load(f)  # our own file, written above
    net = torch.nn.Sequential(torch.nn.Linear(NF, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 3))
    net.load_state_dict({k[len("net."):]: torch.from_numpy(v) for k, v in sd.items()})
    net.eval()
    with torch.no_grad():
        # the caller's float64 rows, converted as a user would (counted in the time)
        def run(a):
            return net(torch.from_numpy(a).float()).numpy()
        one = X[:1]
        single = best(lambda: [run(one) for _ in range(calls)], reps) / calls
        batch = best(lambda: run(X), reps)
    print("torch\t%.9f\t%.6f\t%d" % (single, batch, len(X)), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--time":
        timing(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        gen(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
