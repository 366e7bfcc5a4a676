#!/bin/bash
# bench_runtime.sh - ckpt_model_run vs scikit-learn (and the torch layer stack vs PyTorch),
# same models, same inputs, one run.
#
#   tools/bench/bench_runtime.sh [BUILD_DIR] [REPEATS] [ROWS] [KNN_ROWS]
#
# 1. builds bench_runtime in BUILD_DIR (default <repo>/build-runtime-rel, Release, no
#    sanitizers);
# 2. fits and writes the models and inputs with tools/bench/bench_runtime_gen.py (our own
#    data, fixed seeds; Debian's /usr/bin/python3) into $CKPT_BENCH_DIR (default
#    /tmp/ckpt-bench-runtime), never into git: LogisticRegression, MLPClassifier (64, 32),
#    SVC (rbf), KNeighborsClassifier (k=5, 5000 points), a torch Linear 20-256-256-3 stack;
# 3. times single-row latency (per call, best of REPEATS x 200 calls) and batch time (ROWS
#    rows, default 1e6; KNN: KNN_ROWS, default 1e5, because scikit-learn needs minutes for
#    1e6 x 5000 distances) in ckpt and in scikit-learn / PyTorch;
# 4. prints a table: ratio = Python seconds / ckpt seconds (the issue's bar: single row
#    >= 30x, batch >= 1x).
# Not part of ctest: timings are printed, never asserted.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-runtime-rel}
REPEATS=${2:-3}
ROWS=${3:-1000000}
KNN_ROWS=${4:-100000}
OUT=${CKPT_BENCH_DIR:-/tmp/ckpt-bench-runtime}
PY=/usr/bin/python3

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCKPT_SANITIZE=OFF \
        -DCKPT_BUILD_TESTS=OFF -DCKPT_ALLOC_FAIL=OFF -DCKPT_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$BUILD" --target bench_runtime -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_runtime -type f -perm -u+x | head -1)

"$PY" "$SRC/tools/bench/bench_runtime_gen.py" "$OUT" "$ROWS" "$KNN_ROWS"

CK=$(mktemp); PYT=$(mktemp)
trap 'rm -f "$CK" "$PYT"' EXIT
"$BIN" -r "$REPEATS" "$OUT" >"$CK"
"$PY" "$SRC/tools/bench/bench_runtime_gen.py" --time "$OUT" "$REPEATS" >"$PYT"

read -r _ _ NSV <"$OUT/meta.txt"
echo "ckpt_model_run vs scikit-learn $("$PY" -c 'import sklearn; print(sklearn.__version__)') /" \
     "PyTorch $("$PY" -c 'import torch; print(torch.__version__)') (best of $REPEATS; $(nproc) cores;" \
     "SVC has $NSV support vectors)"
awk -F'\t' '
  NR == FNR { ps[$1] = $2; pb[$1] = $3; next }
  BEGIN {
    what["lr"] = "LogisticRegression predict_proba"; what["mlp"] = "MLPClassifier(64,32) predict_proba"
    what["svc"] = "SVC rbf decision_function"; what["knn"] = "KNeighbors k=5 predict_proba"
    what["torch"] = "torch Linear 20-256-256-3 stack"
    printf "| %-36s | %9s | %11s | %11s | %7s | %10s | %10s | %7s |\n", "model", "batch rows",
           "py 1 row us", "ckpt 1row us", "ratio", "py batch s", "ckpt batch s", "ratio"
    printf "|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------------", "-----------:",
           "------------:", "-------------:", "--------:", "-----------:", "-------------:", "--------:"
  }
  {
    printf "| %-36s | %10d | %11.1f | %12.2f | %6.1fx | %10.3f | %12.3f | %6.2fx |\n", what[$1], $4,
           ps[$1] * 1e6, $2 * 1e6, ps[$1] / $2, pb[$1], $3, pb[$1] / $3
  }
' "$PYT" "$CK"
