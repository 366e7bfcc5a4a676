#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, and run each one for a fixed time over seeds
# from models/ (every model file, not the JSON/scripts) and its corpus
# tests/fuzz/corpus/<name>/.  Any crash, sanitizer report, leak, timeout or
# out-of-memory fails the run; the input is left in BUILD/fuzz-artifacts/.
#
# Usage: bash tests/fuzz/run_fuzz.sh [BUILD_DIR] [SECONDS_PER_TARGET]
#        (defaults: build-fuzz, $CKPT_FUZZ_SECONDS or 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-fuzz}
SECS=${2:-${CKPT_FUZZ_SECONDS:-20}}
JOBS=$(nproc 2>/dev/null || echo 2)
[ "$JOBS" -gt 2 ] && JOBS=2

targets=()
for src in tests/fuzz/fuzz_*.c; do
  n=$(basename "$src" .c)
  targets+=("$n")
done

CC=${CC_FUZZ:-clang} cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPT_SANITIZE=ON \
  -DCKPT_FUZZ=ON -DCKPT_BUILD_BENCH=OFF -DCKPT_BUILD_TOOLS=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}"

# seeds: every model file (generated fixtures and malicious samples), flattened
seeds="$BUILD/fuzz-seeds"
rm -rf "$seeds" "$BUILD/fuzz-work" "$BUILD/fuzz-artifacts"
mkdir -p "$seeds" "$BUILD/fuzz-artifacts"
i=0
while IFS= read -r -d '' f; do
  i=$((i + 1))
  cp "$f" "$seeds/$i-$(basename "$f")"
done < <(find models -type f ! -name '*.json' ! -name '*.py' ! -name '*.md' ! -name INDEX -print0 | sort -z)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for n in "${targets[@]}"; do
  short=${n#fuzz_}
  work="$BUILD/fuzz-work/$short"
  mkdir -p "$work"
  corpus="tests/fuzz/corpus/$short"
  [ -d "$corpus" ] || corpus=""
  start=$(date +%s)
  if "$BUILD/tests/$n" -max_total_time="$SECS" -max_len=262144 -timeout=10 -rss_limit_mb=2560 \
       -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-artifacts/$short-" \
       "$work" "$seeds" $corpus >"$BUILD/fuzz-$short.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/fuzz-$short.log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $short: ${SECS}s, $runs runs, $(( $(date +%s) - start ))s wall, no findings"
  else
    echo "fuzz $short: FINDING (log: $BUILD/fuzz-$short.log)"
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$BUILD/fuzz-$short.log" | head -20 || true
    failed+=("$short")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${SECS}s each, no findings"
