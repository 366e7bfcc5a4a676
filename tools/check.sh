#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh Debian machine:
#   1. install what is missing (apt; needs root or sudo),
#   2. configure a Debug build with AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. build everything and run every ctest test,
#   4. build the libFuzzer targets with clang and run each for a fixed time (tests/fuzz/run_fuzz.sh).
# Usage: bash tools/check.sh [BUILD_DIR]   (default: build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-ci}
bash tools/setup-debian.sh
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCKPT_SANITIZE=ON -DCKPT_BUILD_BENCH=ON
cmake --build "$BUILD" -j"$JOBS"
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS"
# libFuzzer targets (clang, ASan+UBSan): each runs CKPT_FUZZ_SECONDS (20) over models/ seeds
bash tests/fuzz/run_fuzz.sh "${BUILD}-fuzz" "${CKPT_FUZZ_SECONDS:-20}"
