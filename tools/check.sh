#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh Debian machine:
#   1. install what is missing (apt; needs root or sudo),
#   2. configure a Debug build with AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. build everything and run every ctest test.
# Usage: bash tools/check.sh [BUILD_DIR]   (default: build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-ci}
bash tools/setup-debian.sh
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCKPT_SANITIZE=ON -DCKPT_BUILD_BENCH=ON
cmake --build "$BUILD" -j"$JOBS"
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS"
