#!/bin/bash
# bench_pickle.sh - ckpt_pickle_load vs CPython's pickle.loads on the same bytes, one run.
#
#   tools/bench/bench_pickle.sh [BUILD_DIR] [REPEATS] [ROUNDS] [COLD]
#
# 1. builds bench_pickle in BUILD_DIR (default <repo>/build-bench, Release, no sanitizers);
# 2. writes the inputs with tools/bench/bench_pickle_gen.py (our own data, fixed seed,
#    tens of MB, so they live in $CKPT_BENCH_DIR, default /tmp/ckpt-bench, not in git);
# 3. times ckpt (median of REPEATS, graph creation + every pickle of the file; str/bytes
#    copied, and again with CKPT_GRAPH_BORROW_INPUT) and CPython's C unpickler
#    (pickle.loads, median of REPEATS, gc disabled while timing) on the same files;
#    ROUNDS times alternately (ckpt, then CPython), so that a busy machine
#    slows both alike; each side's time is the median over all its runs;
# 4. prints a table: ratio = CPython seconds / ckpt seconds (the issue's bar: >= 2),
#    medians (min in parentheses); the machine (CPU, cores, load) above it;
# 5. cold: COLD fresh processes per file and side, the first load only (what a
#    program that opens one checkpoint sees), medians and ratios.
# Not part of ctest: timings are printed, never asserted.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
REPEATS=${2:-5}
ROUNDS=${3:-3}
OUT=${CKPT_BENCH_DIR:-/tmp/ckpt-bench}
PY=/usr/bin/python3

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCKPT_SANITIZE=OFF \
        -DCKPT_BUILD_TESTS=OFF -DCKPT_ALLOC_FAIL=OFF >/dev/null
fi
cmake --build "$BUILD" --target bench_pickle -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_pickle -type f -perm -u+x | head -1)

"$PY" "$SRC/tools/bench/bench_pickle_gen.py" "$OUT" >/dev/null
FILES=("$OUT"/*.pkl)

CK=$(mktemp); PYT=$(mktemp); CKR=$(mktemp); PYR=$(mktemp)
trap 'rm -f "$CK" "$PYT" "$CKR" "$PYR"' EXIT
for round in $(seq "$ROUNDS"); do
  "$BIN" -r "$REPEATS" -a "${FILES[@]}" >>"$CKR"
  "$PY" - "$REPEATS" "${FILES[@]}" >>"$PYR" <<'PYEOF'
import gc, os, pickle, sys, time
reps = int(sys.argv[1])
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        data = f.read()
    for _ in range(reps):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        obj = pickle.loads(data)
        t1 = time.perf_counter()
        gc.enable()
        del obj
        print("%s\t%.6f" % (os.path.basename(path), t1 - t0))
PYEOF
done
# every run -> per file: median and min (ckpt: copy and borrow variants)
"$PY" - "$CKR" "$PYR" "$CK" "$PYT" <<'PYEOF'
import sys
def med(v):
    v = sorted(v); n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
ck, py = {}, {}
meta = {}
for line in open(sys.argv[1]):
    name, size, ops, variant, t = line.split("\t")
    meta[name] = (size, ops)
    ck.setdefault((name, variant), []).append(float(t))
for line in open(sys.argv[2]):
    name, t = line.split("\t")
    py.setdefault(name, []).append(float(t))
with open(sys.argv[3], "w") as out:
    for name in sorted(meta):
        c, b = ck[(name, "copy")], ck[(name, "borrow")]
        out.write("%s\t%s\t%s\t%.6f\t%.6f\t0\t0\t%.6f\n" % (name, meta[name][0], meta[name][1], med(c), med(b), min(c)))
with open(sys.argv[4], "w") as out:
    for name in sorted(py):
        out.write("%s\t%.6f\t%.6f\n" % (name, med(py[name]), min(py[name])))
PYEOF

CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "machine: $CPU, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "ckpt_pickle_load vs CPython $("$PY" -c 'import sys; print(sys.version.split()[0])') pickle.loads (median of $ROUNDS x $REPEATS runs each, alternating; min in parentheses)"
awk -F'\t' '
  NR == FNR { py[$1] = $2; pymin[$1] = $3; next }
  BEGIN { printf "%-18s %6s %9s %19s %19s %9s %8s %8s %5s\n", "file", "MB", "opcodes", "cpython_s (min)", "ckpt_s (min)", "borrow_s", "ratio", "ratio_b", ">=2x" }
  {
    p = py[$1]; r = (p > 0 && $4 > 0) ? p / $4 : 0; rb = (p > 0 && $5 > 0) ? p / $5 : 0
    printf "%-18s %6.1f %9d %9.4f (%7.4f) %9.4f (%7.4f) %9.4f %7.2fx %7.2fx %5s\n", $1, $2 / 1048576, $3, p, pymin[$1], $4, $8, $5, r, rb, (r >= 2 ? "yes" : "NO")
    n++; lr += log(r); lb += log(rb); tp += p; tc += $4; if (r < 2) miss++
  }
  END { if (n) printf "%-18s %6s %9s %9.4f %9s %9.4f %9s %9s %7.2fx %8s  (geomean %.2fx, borrow %.2fx; %d below 2x)\n", "total", "", "", tp, "", tc, "", "", tp / tc, "", exp(lr / n), exp(lb / n), miss }
' "$PYT" "$CK"

# Cold: the first load in a fresh process (allocator and page tables cold on both sides).
COLD=${4:-3}
CKC=$(mktemp); PYC=$(mktemp)
trap 'rm -f "$CK" "$PYT" "$CKR" "$PYR" "$CKC" "$PYC"' EXIT
for round in $(seq "$COLD"); do
  for f in "${FILES[@]}"; do
    "$BIN" -r 1 -a "$f" | awk -F'\t' '$4 == "copy" { print $1 "\t" $5 }' >>"$CKC"
    "$PY" - "$f" >>"$PYC" <<'PYEOF'
import os, pickle, sys, time
data = open(sys.argv[1], "rb").read()
t0 = time.perf_counter()
obj = pickle.loads(data)
print("%s\t%.6f" % (os.path.basename(sys.argv[1]), time.perf_counter() - t0))
PYEOF
  done
done
echo
echo "cold: first load in a fresh process, median of $COLD processes each"
"$PY" - "$CKC" "$PYC" <<'PYEOF'
import sys
def med(v):
    v = sorted(v); n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
ck, py = {}, {}
for path, d in ((sys.argv[1], ck), (sys.argv[2], py)):
    for line in open(path):
        name, t = line.split("\t")
        d.setdefault(name, []).append(float(t))
print("%-18s %10s %10s %8s %5s" % ("file", "cpython_s", "ckpt_s", "ratio", ">=2x"))
for name in sorted(ck):
    p, c = med(py[name]), med(ck[name])
    print("%-18s %10.4f %10.4f %7.2fx %5s" % (name, p, c, p / c, "yes" if p / c >= 2 else "NO"))
PYEOF
