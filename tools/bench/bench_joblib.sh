#!/bin/bash
# bench_joblib.sh - ckpt vs joblib on the same files, one run.
#
#   tools/bench/bench_joblib.sh [BUILD_DIR] [REPEATS]
#
# 1. builds bench_joblib in BUILD_DIR (default <repo>/build-bench, Release, no sanitizers);
# 2. writes the inputs with tools/bench/bench_joblib_gen.py into $CKPT_BENCH_DIR
#    (default /tmp/ckpt-bench; ~600 MB, not in git);
# 3. per file, each in its own process (for peak RSS): ckpt_open + every array's
#    data pointer (best of REPEATS), the codec alone for compressed files,
#    joblib.load(mmap_mode='r') and joblib.load (best of REPEATS);
# 4. prints a table with ratios = joblib seconds / ckpt seconds and, for
#    compressed files, ckpt / codec-only time.  Never asserted (not in ctest).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
REPEATS=${2:-3}
OUT=${CKPT_BENCH_DIR:-/tmp/ckpt-bench}
PY=/usr/bin/python3

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCKPT_SANITIZE=OFF \
        -DCKPT_BUILD_TESTS=OFF -DCKPT_ALLOC_FAIL=OFF >/dev/null
fi
cmake --build "$BUILD" --target bench_joblib -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_joblib -type f -perm -u+x | head -1)
"$PY" "$SRC/tools/bench/bench_joblib_gen.py" "$OUT" >/dev/null

printf "%-26s %8s %7s %10s %10s %10s %10s %10s %9s %9s %9s %9s\n" file MB arrays ckpt_open ckpt_ptrs codec_s \
  jl_mmap_s jl_load_s ck_rssMB mm_rssMB ld_rssMB ratio
for f in "$OUT"/arrays_500mb.joblib "$OUT"/arrays_100mb.*.joblib; do
  CK=$("$BIN" -r "$REPEATS" "$f")
  MM=$("$PY" - "$REPEATS" "$f" mmap <<'PYEOF'
import gc, resource, sys, time, joblib
reps, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
best = 1e30
for _ in range(reps):
    gc.collect()
    t0 = time.perf_counter()
    try:
        obj = joblib.load(path, mmap_mode="r" if mode == "mmap" else None)
    except ValueError:  # joblib 1.2 cannot memory-map some compressed files
        best = float("nan")
        break
    best = min(best, time.perf_counter() - t0)
    del obj
print("%.6f\t%d" % (best, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
PYEOF
)
  LD=$("$PY" - "$REPEATS" "$f" load <<'PYEOF'
import gc, resource, sys, time, joblib
reps, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
best = 1e30
for _ in range(reps):
    gc.collect()
    t0 = time.perf_counter()
    obj = joblib.load(path, mmap_mode="r" if mode == "mmap" else None)
    best = min(best, time.perf_counter() - t0)
    del obj
print("%.6f\t%d" % (best, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
PYEOF
)
  echo -e "$CK\t$MM\t$LD" | awk -F'\t' '{
    r = ($5 > 0) ? $10 / $5 : 0
    printf "%-26s %8.1f %7d %10.5f %10.5f %10.5f %10.5f %10.5f %9.1f %9.1f %9.1f %8.0fx", $1, $2/1048576, $3, $4, $5, $6, $8, $10, $7/1024, $9/1024, $11/1024, r
    if ($6 > 0) printf "  (ckpt/codec %.2f)", $5 / $6
    printf "\n" }'
done
echo "ratio = joblib.load / ckpt (open + every pointer); ckpt/codec = ckpt time over the codec alone"
