#!/bin/bash
# bench_joblib.sh - ckpt vs joblib on the same files, one run.
#
#   tools/bench/bench_joblib.sh [BUILD_DIR] [REPEATS]
#
# 1. builds bench_joblib in BUILD_DIR (default <repo>/build-bench, Release, no sanitizers);
# 2. writes the inputs with tools/bench/bench_joblib_gen.py into $CKPT_BENCH_DIR
#    (default /tmp/ckpt-bench; ~700 MB, not in git);
# 3. per file, each in its own process (for peak RSS): ckpt_open + every array's
#    data pointer (median of REPEATS), the codec alone for compressed files,
#    joblib.load(mmap_mode='r') and joblib.load (median of REPEATS);
# 4. prints a table with ratios = joblib seconds / ckpt seconds and, for
#    compressed files, ckpt / codec-only time (the issue's bar: <= 1.10).
#    Peak RSS (ru_maxrss) of each process, MB.  Never asserted (not in ctest).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
REPEATS=${2:-5}
OUT=${CKPT_BENCH_DIR:-/tmp/ckpt-bench}
PY=/usr/bin/python3

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCKPT_SANITIZE=OFF \
        -DCKPT_BUILD_TESTS=OFF -DCKPT_ALLOC_FAIL=OFF >/dev/null
fi
cmake --build "$BUILD" --target bench_joblib -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_joblib -type f -perm -u+x | head -1)
"$PY" "$SRC/tools/bench/bench_joblib_gen.py" "$OUT" >/dev/null

CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "machine: $CPU, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "ckpt_open + every array pointer vs joblib $("$PY" -c 'import joblib; print(joblib.__version__)') (median of $REPEATS; files in page cache)"
printf "%-24s %6s %6s %9s %9s %9s %9s %9s %9s %7s %7s %7s %8s %8s %s\n" file MB arrays ckpt_open ckpt_ptrs codec_s codec_thp \
  jl_mmap_s jl_load_s ck_rss mm_rss ld_rss vs_mmap vs_load "ckpt/codec (thp)"
for f in "$OUT"/arrays_500mb.joblib "$OUT"/arrays_100mb_250.joblib "$OUT"/arrays_tiny_250.joblib "$OUT"/arrays_100mb.*.joblib; do
  CK=$("$BIN" -r "$REPEATS" "$f")
  for mode in mmap load; do
    "$PY" -W ignore - "$REPEATS" "$f" $mode >"$OUT/.jl_$mode" <<'PYEOF'
import gc, resource, sys, time, joblib
reps, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
compressed = open(path, "rb").read(4)[:1] in (b"\x78", b"\x1f", b"\x04")
if mode == "mmap" and compressed:  # joblib ignores mmap_mode for compressed files
    print("nan\t0")
    sys.exit()
ts = []
for _ in range(reps):
    gc.collect()
    t0 = time.perf_counter()
    obj = joblib.load(path, mmap_mode="r" if mode == "mmap" else None)
    ts.append(time.perf_counter() - t0)
    del obj
ts.sort()
n = len(ts)
med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
print("%.6f\t%d" % (med, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
PYEOF
  done
  echo -e "$CK\t$(cat "$OUT/.jl_mmap")\t$(cat "$OUT/.jl_load")" | awk -F'\t' '{
    # 1 name 2 bytes 3 arrays 4 open 5 open+ptrs 6 codec 7 rss 8 codec_thp 9 mmap_s 10 mmap_rss 11 load_s 12 load_rss
    rm = ($5 > 0 && $9 != "nan" && $9 > 0) ? sprintf("%7.0fx", $9 / $5) : "      -"
    rl = ($5 > 0) ? sprintf("%7.0fx", $11 / $5) : "      -"
    mm = ($9 != "nan" && $9 > 0) ? sprintf("%9.5f", $9) : "        -"
    mr = ($10 > 0) ? sprintf("%7.1f", $10 / 1024) : "      -"
    cs = ($6 > 0) ? sprintf("%9.5f %9.5f", $6, $8) : "        -         -"
    printf "%-24s %6.1f %6d %9.5f %9.5f %s %s %9.5f %7.1f %s %7.1f %s %s", $1, $2/1048576, $3, $4, $5, cs, mm, $11, $7/1024, mr, $12/1024, rm, rl
    if ($6 > 0) printf "  %.2f (%.2f)", $5 / $6, $5 / $8
    printf "\n" }'
done
rm -f "$OUT/.jl_mmap" "$OUT/.jl_load"
echo "vs_mmap / vs_load = joblib.load(mmap_mode='r') / joblib.load time over ckpt (open + every pointer);"
echo "codec_s / codec_thp = the codec alone decompressing the same file into malloc'd memory / with transparent huge"
echo "pages asked for (as ckpt does); ckpt/codec = ckpt open+pointers over those; rss = peak of each process, MB"
