#!/bin/bash
# bench_torch.sh - ckpt vs torch.load on PyTorch zip checkpoints, one run.
#
#   tools/bench/bench_torch.sh [BUILD_DIR] [REPEATS]
#
# 1. builds bench_torch in BUILD_DIR (default <repo>/build-bench, Release, no sanitizers);
# 2. writes the inputs with tools/bench/bench_torch_gen.py into $CKPT_BENCH_DIR
#    (default /tmp/ckpt-bench; ~510 MB, not in git): a GPT-2-small-shaped state_dict
#    (148 tensors, ~498 MB) and a 20 000-tensor one (~8 MB);
# 3. per file: in process, ckpt_open alone and ckpt_open + every tensor's data pointer
#    (median of REPEATS, bench_torch), and torch.load (median of REPEATS, python);
#    whole process, `bench_torch -1 FILE` against `python3 -c "import torch; torch.load(FILE)"`
#    (median of REPEATS, wall clock from the shell); memory: VmRSS right after ckpt_open
#    (nothing read), VmHWM of the open, VmRSS after every pointer, peak RSS of the
#    torch.load process; ckpt_file_verify (CRC-32 of every record, reads every byte) once;
# 4. prints a table with ratios torch / ckpt, and the issue's bars next to them.
#    Never asserted (not in ctest).
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
cmake --build "$BUILD" --target bench_torch -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_torch -type f -perm -u+x | head -1)
"$PY" "$SRC/tools/bench/bench_torch_gen.py" "$OUT" >/dev/null

# median wall-clock seconds of a command run REPEATS times (output discarded)
wall() {
  local ts=() t0 t1
  for _ in $(seq "$REPEATS"); do
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    ts+=("$(( t1 - t0 ))")
  done
  printf "%s\n" "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.6f", m / 1e9}'
}

CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "machine: $CPU, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "ckpt_open + every tensor pointer vs torch $("$PY" -c 'import torch; print(torch.__version__)') torch.load (median of $REPEATS; files in page cache)"
printf "%-12s %6s %6s %9s %9s %8s %8s %8s %8s %9s %8s %9s %8s %8s %8s %s\n" file MB tensors ckpt_open ckpt_ptrs \
  us/tensor rssOpnMB hwmOpnMB rssPtrMB torch_s torch_MB ratio_in proc_ck proc_pt ratio_pr "mapped/copied"
for f in "$OUT"/gpt2_zip.pt "$OUT"/many_zip.pt; do
  cat "$f" >/dev/null # page cache, for both sides alike
  CK=$("$BIN" -r "$REPEATS" -v "$f")
  TL=$("$PY" - "$REPEATS" "$f" <<'PYEOF'
import gc, resource, sys, time, torch
reps, path = int(sys.argv[1]), sys.argv[2]
ts = []
for _ in range(reps):
    gc.collect()
    t0 = time.perf_counter()
    obj = torch.load(path, map_location="cpu")
    ts.append(time.perf_counter() - t0)
    del obj
ts.sort()
n = len(ts)
med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
print("%.6f\t%d" % (med, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
PYEOF
)
  PC=$(wall "$BIN" -1 "$f")
  PT=$(wall "$PY" -c 'import sys, torch; torch.load(sys.argv[1], map_location="cpu")' "$f")
  echo -e "$CK\t$TL\t$PC\t$PT" | awk -F'\t' '{
    # 1 name 2 bytes 3 arrays 4 open 5 open+ptrs 6 rss_open 7 hwm_open 8 rss_ptrs 9 hwm_ptrs 10 mapped
    # 11 copied 12 verify 13 maxrss 14 rss_base 15 torch_s 16 torch_rss 17 proc_ckpt 18 proc_torch
    printf "%-12s %6.1f %6d %9.5f %9.5f %8.2f %8.1f %8.1f %8.1f %9.4f %8.1f %8.0fx %8.4f %8.4f %7.1fx %d/%d\n",
      $1, $2/1048576, $3, $4, $5, ($3 > 0 ? 1e6 * $4 / $3 : 0), $6/1024, $7/1024, $8/1024, $15, $16/1024,
      ($5 > 0 ? $15 / $5 : 0), $17, $18, ($17 > 0 ? $18 / $17 : 0), $10, $11; base = $14; v = $12; mb = $2/1048576 }
    END { printf "             (bench_torch process before any open: VmRSS %.1f MB; ckpt_file_verify, CRC-32 of every record: %.3f s, %.0f MB/s)\n",
      base/1024, v, (v > 0 ? mb / v : 0) }'
done
echo "ratio_in = torch.load / (ckpt_open + every pointer), in process; ratio_pr = whole processes"
echo "(python3 -c 'import torch; torch.load(F)' vs bench_torch -1 F, process start to exit)."
echo "rssOpnMB = VmRSS right after ckpt_open (nothing read), hwmOpnMB = peak during the open,"
echo "rssPtrMB = VmRSS after every pointer; torch_MB = peak RSS of the torch.load process."
echo "bars (issue 4): open time ~ tensor count, not bytes (us/tensor); >= 500x on gpt2_zip.pt; RSS < 16 MB unread."
