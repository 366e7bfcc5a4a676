#!/usr/bin/python3
"""Inputs for tools/bench/bench_trees.sh and scikit-learn's side of the timing.

  bench_trees_gen.py OUTDIR ROWS DOCS           write models + inputs (fixed seeds)
  bench_trees_gen.py --time OUTDIR REPEATS [NAME]   time scikit-learn on them (or on one)

Models (our own data, fixed seeds; files go to OUTDIR, not to git):
  rf.pkl    RandomForestClassifier(n_estimators=100), 20 features, 3 classes
  hgb.pkl   HistGradientBoostingClassifier(max_iter=100), 20 features, NaNs
  tfidf.pkl Pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression)
Inputs: X.f64 (ROWS x 20 float64, little-endian, row-major), docs.txt (DOCS lines).
Timing output, one line per model: name  single_row_s  batch_s  batch_rows
(single row: best of REPEATS x 200 calls of predict_proba on one row, per call;
batch: best of REPEATS predict_proba over all rows).
"""
import os
import pickle
import sys
import time

import numpy as np

NF = 20


def words(rng, n):
    syll = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "en", "qu", "\u00e9t", "\u00fcr"]
    vocab = ["".join(rng.choice(syll, size=rng.randint(1, 4))) for _ in range(4000)]
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    return vocab, p


def docs(rng, vocab, p, n):
    out = []
    for _ in range(n):
        k = rng.randint(5, 40)
        out.append(" ".join(rng.choice(vocab, size=k, p=p)))
    return out


def gen(outdir, rows, ndocs):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    os.makedirs(outdir, exist_ok=True)
    X, y = make_classification(n_samples=5000, n_features=NF, n_informative=10, n_classes=3,
                               random_state=0)
    rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    with open(os.path.join(outdir, "rf.pkl"), "wb") as f:
        pickle.dump(rf, f, protocol=4)
    Xn = X.copy()
    Xn[np.random.RandomState(1).rand(*X.shape) < 0.05] = np.nan
    hgb = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(Xn, y)
    with open(os.path.join(outdir, "hgb.pkl"), "wb") as f:
        pickle.dump(hgb, f, protocol=4)
    rng = np.random.RandomState(2)
    vocab, p = words(rng, 4000)
    train = docs(rng, vocab, p, 3000)
    labels = rng.randint(0, 4, size=len(train))
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=200))
    pipe.fit(train, labels)
    with open(os.path.join(outdir, "tfidf.pkl"), "wb") as f:
        pickle.dump(pipe, f, protocol=4)
    Xb = np.random.RandomState(3).standard_normal((rows, NF)) * 2
    Xb.astype("<f8").tofile(os.path.join(outdir, "X.f64"))
    with open(os.path.join(outdir, "docs.txt"), "w", encoding="utf-8") as f:
        for d in docs(rng, vocab, p, ndocs):
            f.write(d + "\n")


def best(fn, reps):
    b = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def timing(outdir, reps, only=None):
    X = np.fromfile(os.path.join(outdir, "X.f64"), dtype="<f8").reshape(-1, NF)
    with open(os.path.join(outdir, "docs.txt"), encoding="utf-8") as f:
        D = [line.rstrip("\n") for line in f]
    for name, data in (("rf", X), ("hgb", X), ("tfidf", D)):
        if only and name != only:
            continue
        with open(os.path.join(outdir, name + ".pkl"), "rb") as f:
            m = pickle.load(f)  # our own file, written above
        one = data[:1]
        calls = 200
        single = best(lambda: [m.predict_proba(one) for _ in range(calls)], reps) / calls
        batch = best(lambda: m.predict_proba(data), reps)
        print("%s\t%.9f\t%.6f\t%d" % (name, single, batch, len(data)))


if __name__ == "__main__":
    if sys.argv[1] == "--time":
        timing(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        gen(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
