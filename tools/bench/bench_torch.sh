#!/bin/bash
# bench_torch.sh - ckpt vs torch.load on PyTorch zip checkpoints, alternating rounds.
#
#   tools/bench/bench_torch.sh [BUILD_DIR] [ROUNDS]
#   env: CKPT_REPS (ckpt repeats inside one bench_torch process per round, default 31),
#        TORCH_REPS (torch.load repeats per round, default 3), CKPT_BENCH_DIR (inputs)
#
# 1. builds bench_torch in BUILD_DIR (default <repo>/build-bench, Release, no sanitizers);
# 2. writes the inputs with tools/bench/bench_torch_gen.py into $CKPT_BENCH_DIR
#    (default /tmp/ckpt-bench; ~510 MB, not in git): a GPT-2-small-shaped state_dict
#    (148 tensors, ~498 MB) and a 20 000-tensor one (~8 MB);
# 3. one python driver (/usr/bin/python3, torch imported once) runs ROUNDS rounds (default 5) per
#    file; every round, back to back:
#      a. ckpt in process: `bench_torch -r CKPT_REPS FILE` (median of CKPT_REPS opens + every
#         tensor pointer, each open a fresh ckpt_open; memory figures from its untimed first open),
#      b. torch.load in process: median of TORCH_REPS torch.load(FILE, map_location="cpu") calls,
#      c. whole processes, one each: `bench_torch -1 FILE` and
#         `python3 -c "import torch; torch.load(FILE)"`, each timed from posix_spawn to waitpid by
#         bench_spawn (tools/bench/bench_spawn.c; not by this Python driver, whose own spawn costs
#         3-4 ms),
#    so both sides see the same machine load; the round's ratios are torch / ckpt.
#    Reported: median over rounds and [min-max] over rounds; load average before/after.
#    Also the process-start floor: `bench_torch` printing its usage (no open), and
#    ckpt_file_verify (CRC-32 of every record, reads every byte) once.
# 4. Never asserted (not in ctest): the bars of issue 4 are printed next to the numbers.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench}
ROUNDS=${2:-5}
OUT=${CKPT_BENCH_DIR:-/tmp/ckpt-bench}
PY=/usr/bin/python3

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCKPT_SANITIZE=OFF \
        -DCKPT_BUILD_TESTS=OFF -DCKPT_ALLOC_FAIL=OFF >/dev/null
fi
cmake --build "$BUILD" --target bench_torch bench_spawn -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_torch -type f -perm -u+x | head -1)
SPAWN=$(find "$BUILD" -name bench_spawn -type f -perm -u+x | head -1)
"$PY" "$SRC/tools/bench/bench_torch_gen.py" "$OUT" >/dev/null

CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "machine: $CPU, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB RAM, $(uname -sr)"
exec "$PY" - "$BIN" "$SPAWN" "$ROUNDS" "${CKPT_REPS:-31}" "${TORCH_REPS:-3}" "$OUT/gpt2_zip.pt" "$OUT/many_zip.pt" <<'PYEOF'
import gc, os, resource, statistics, subprocess, sys, time
import torch

binp, spawnp = sys.argv[1], sys.argv[2]
rounds, ckreps, threps = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
files = sys.argv[6:]
PY = "/usr/bin/python3"

def load():
    return open("/proc/loadavg").read().split()[:3]

def wall(cmd, ok_code=0):
    # spawn to exit, timed by bench_spawn (posix_spawn + waitpid in a small C
    # process): spawning from this torch-importing driver costs 3-4 ms by itself
    r = subprocess.run([spawnp, "-c", str(ok_code)] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("bench_torch.sh: %s: %s" % (cmd, r.stderr.strip()))
    return float(r.stdout.split()[0])

def med(v):
    return statistics.median(v)

def spread(v, fmt):
    return ("[" + fmt + "-" + fmt + "]") % (min(v), max(v))

print("torch %s torch.load vs ckpt_open + every tensor pointer; %d alternating rounds per file, "
      "ckpt median of %d per round, torch.load median of %d per round; files in page cache"
      % (torch.__version__, rounds, ckreps, threps))
print("load average before: %s" % " ".join(load()))
start = [wall([binp], ok_code=2) for _ in range(5)]
rows = []
for f in files:
    with open(f, "rb") as fp:  # page cache, for both sides alike
        while fp.read(1 << 24):
            pass
    ck, th, pc, pt, ck_in = [], [], [], [], []
    info = None
    for r in range(rounds):
        out = subprocess.run([binp, "-r", str(ckreps)] + (["-v"] if r == 0 else []) + [f],
                             check=True, capture_output=True, text=True).stdout.split("\t")
        c = float(out[4])
        ck.append(c)
        ck_in.append((float(out[14]), float(out[15])))
        if r == 0:
            info = out
        ts = []
        for _ in range(threps):
            gc.collect()
            t0 = time.perf_counter()
            obj = torch.load(f, map_location="cpu")
            ts.append(time.perf_counter() - t0)
            del obj
        th.append(med(ts))
        pc.append(wall([binp, "-1", f]))
        pt.append(wall([PY, "-c", "import sys, torch; torch.load(sys.argv[1], map_location='cpu')", f]))
    rows.append((f, info, ck, th, pc, pt, ck_in))
    gc.collect()
print("load average after:  %s" % " ".join(load()))
torch_maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

print()
print("%-12s %6s %7s | %-23s %-18s %-20s | %-22s %-21s %-18s | %s" % (
    "file", "MB", "tensors", "ckpt s (open+ptrs)", "torch.load s", "ratio in process",
    "ckpt process s", "torch process s", "ratio whole proc", "us/tensor"))
for f, info, ck, th, pc, pt, ck_in in rows:
    ratio = [t / c for t, c in zip(th, ck)]
    ratio_p = [t / c for t, c in zip(pt, pc)]
    n = int(info[2])
    print("%-12s %6.1f %7d | %.5f %-15s %.3f %-12s %6.0fx %-12s | %.4f %-15s %.3f %-13s %5.1fx %-11s | %.2f" % (
        os.path.basename(f), int(info[1]) / 1048576, n,
        med(ck), spread(ck, "%.5f"), med(th), spread(th, "%.2f"), med(ratio), spread(ratio, "%.0f"),
        med(pc), spread(pc, "%.3f"), med(pt), spread(pt, "%.2f"), med(ratio_p), spread(ratio_p, "%.0f"),
        1e6 * med(ck) / n if n else 0))
print()
print("memory (first open of each bench_torch run; process before any open: VmRSS %.1f MB):" % (int(rows[0][1][13]) / 1024))
for f, info, ck, th, pc, pt, ck_in in rows:
    print("  %-12s VmRSS after open (nothing read) %.1f MB, peak during open %.1f MB, after every pointer %.1f MB; "
          "mapped/copied %s/%s; ckpt_file_verify %.3f s (%.0f MB/s)" % (
              os.path.basename(f), int(info[5]) / 1024, int(info[6]) / 1024, int(info[7]) / 1024,
              info[9], info[10], float(info[11]), int(info[1]) / 1048576 / float(info[11]) if float(info[11]) else 0))
    print("  %-12s ckpt spread inside each round (fastest-slowest of %d): %s" % (
        "", ckreps, ", ".join("%.5f-%.5f" % x for x in ck_in)))
print("  torch.load driver process peak RSS (both files, all rounds): %.0f MB" % (torch_maxrss_kb / 1024))
print("process-start floor: bench_torch printing its usage (no open), median of 5: %.4f s [%.4f-%.4f]"
      % (med(start), min(start), max(start)))
print("ratios are torch / ckpt per round (same round = same machine load), then median [min-max] over rounds.")
print("bars (issue 4): open time ~ tensor count, not bytes (us/tensor); >= 500x on gpt2_zip.pt; RSS < 16 MB unread.")
PYEOF
