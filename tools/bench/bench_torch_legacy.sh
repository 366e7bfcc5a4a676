#!/bin/bash
# bench_torch_legacy.sh - ckpt vs torch.load on PyTorch legacy-format files, one run.
#
#   tools/bench/bench_torch_legacy.sh [BUILD_DIR] [REPEATS]
#
# 1. builds bench_torch_legacy in BUILD_DIR (default <repo>/build-bench, Release, no sanitizers);
# 2. writes the inputs with tools/bench/bench_torch_legacy_gen.py into $CKPT_BENCH_DIR
#    (default /tmp/ckpt-bench; ~1 GB, not in git): a GPT-2-small-shaped state_dict
#    (~498 MB), a 20 000-tensor one, and the GPT-2 one as 4 legacy shards + index;
# 3. per file, each in its own process (for peak RSS): ckpt_open alone, ckpt_open +
#    every tensor's data pointer (legacy records are rarely 16-aligned: most pointers
#    are aligned copies, i.e. the data is read), and torch.load(map_location="cpu")
#    (best of REPEATS); the index is loaded in Python shard by shard;
# 4. prints a table with ratios torch.load / ckpt.  Never asserted (not in ctest).
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
cmake --build "$BUILD" --target bench_torch_legacy -j2 >/dev/null
BIN=$(find "$BUILD" -name bench_torch_legacy -type f -perm -u+x | head -1)
"$PY" "$SRC/tools/bench/bench_torch_legacy_gen.py" "$OUT" >/dev/null

printf "%-24s %8s %7s %10s %10s %10s %9s %9s %9s %10s %10s\n" file MB tensors ckpt_open ckpt_ptrs \
  torch_load ck_openMB ck_ptrsMB torch_MB open_ratio ptrs_ratio
for f in "$OUT"/gpt2_legacy.pt "$OUT"/many_legacy.pt "$OUT"/gpt2_sharded.index.json; do
  OP=$("$BIN" -r "$REPEATS" -m open "$f")
  PT=$("$BIN" -r "$REPEATS" -m ptrs "$f")
  TL=$("$PY" - "$REPEATS" "$f" <<'PYEOF'
import gc, json, os, resource, sys, time, torch
reps, path = int(sys.argv[1]), sys.argv[2]
def load(p):
    if p.endswith(".index.json"):
        d = os.path.dirname(p)
        wm = json.load(open(p))["weight_map"]
        out = {}
        for shard in dict.fromkeys(wm.values()):
            out.update(torch.load(os.path.join(d, shard), map_location="cpu"))
        return out
    return torch.load(p, map_location="cpu")
best = 1e30
for _ in range(reps):
    gc.collect()
    t0 = time.perf_counter()
    obj = load(path)
    best = min(best, time.perf_counter() - t0)
    del obj
print("%.6f\t%d" % (best, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
PYEOF
)
  echo -e "$OP\t$PT\t$TL" | awk -F'\t' '{
    printf "%-24s %8.1f %7d %10.5f %10.5f %10.5f %9.1f %9.1f %9.1f %9.0fx %9.1fx\n", $1, $2/1048576, $3, $4, $11, $13,
      $6/1024, $12/1024, $14/1024, ($4 > 0 ? $13/$4 : 0), ($11 > 0 ? $13/$11 : 0) }'
done
echo "open_ratio = torch.load / ckpt_open; ptrs_ratio = torch.load / (ckpt_open + every pointer)"
