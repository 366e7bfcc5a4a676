#!/bin/bash
# bench_runtime_layers.sh - the torch layer stack of bench_runtime.sh (Linear 20-256-256-3,
# relu, relu; a float32 state_dict) in ckpt vs PyTorch, for a shared machine: ROUNDS rounds,
# each timing ckpt then PyTorch (alternating), and the MEDIAN over rounds of each side's
# per-round figure (single row: best of 3 x 200 calls, per call; batch: best of 3).
#
#   tools/bench/bench_runtime_layers.sh [BUILD_DIR] [ROUNDS] [ROWS]
#
# BUILD_DIR as in bench_runtime.sh (Release, no sanitizers; default <repo>/build-runtime-rel).
# Models and inputs come from tools/bench/bench_runtime_gen.py in $CKPT_BENCH_DIR (default
# /tmp/ckpt-bench-runtime), written unless that directory already holds ROWS rows.
# ckpt runs with its default threads (rows split over the cores for big batches) and, as a
# second line, with one thread (-t 1); PyTorch uses torch.get_num_threads() threads (printed).
# The load average is printed before and after: other jobs inflate both sides.
# Not part of ctest: timings are printed, never asserted.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-runtime-rel}
ROUNDS=${2:-5}
ROWS=${3:-1000000}
OUT=${CKPT_BENCH_DIR:-/tmp/ckpt-bench-runtime}
PY=/usr/bin/python3

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCKPT_SANITIZE=OFF \
        -DCKPT_BUILD_TESTS=OFF -DCKPT_ALLOC_FAIL=OFF -DCKPT_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$BUILD" --target bench_runtime -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_runtime -type f -perm -u+x | head -1)

HAVE=0
[ -f "$OUT/meta.txt" ] && read -r HAVE _ _ <"$OUT/meta.txt"
if [ "$HAVE" != "$ROWS" ]; then
  "$PY" "$SRC/tools/bench/bench_runtime_gen.py" "$OUT" "$ROWS" 100000
fi

CK=$(mktemp); CK1=$(mktemp); PYT=$(mktemp)
trap 'rm -f "$CK" "$CK1" "$PYT"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  "$BIN" -r 3 -m torch "$OUT" >>"$CK"
  "$PY" "$SRC/tools/bench/bench_runtime_gen.py" --time "$OUT" 3 torch >>"$PYT"
  "$BIN" -r 3 -t 1 -m torch "$OUT" >>"$CK1"
  echo "round $r/$ROUNDS done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
PS=$(cut -f2 "$PYT" | med); PB=$(cut -f3 "$PYT" | med)
NT=$("$PY" -c 'import torch; print(torch.get_num_threads())')
echo "torch Linear 20-256-256-3 stack (float32): ckpt_model_run vs PyTorch" \
     "$("$PY" -c 'import torch; print(torch.__version__)') ($NT thread(s)); median of $ROUNDS rounds;" \
     "$(nproc) cores; $ROWS batch rows"
printf "| %-24s | %11s | %12s | %7s | %10s | %12s | %7s |\n" "ckpt threads" "py 1 row us" \
       "ckpt 1row us" "ratio" "py batch s" "ckpt batch s" "ratio"
printf "|%s|%s|%s|%s|%s|%s|%s|\n" "--------------------------" "------------:" "-------------:" \
       "--------:" "-----------:" "-------------:" "--------:"
for f in "$CK" "$CK1"; do
  CS=$(cut -f2 "$f" | med); CB=$(cut -f3 "$f" | med)
  what="default (auto)"; [ "$f" = "$CK1" ] && what="1 (-t 1)"
  awk -v w="$what" -v ps="$PS" -v pb="$PB" -v cs="$CS" -v cb="$CB" 'BEGIN {
    printf "| %-24s | %11.1f | %12.2f | %6.1fx | %10.3f | %12.3f | %6.2fx |\n", w, ps * 1e6,
           cs * 1e6, ps / cs, pb, cb, pb / cb }'
done
echo "per round (s): ckpt single / batch, ckpt -t 1, PyTorch:"
paste <(cut -f2,3 "$CK") <(cut -f2,3 "$CK1") <(cut -f2,3 "$PYT")
