#!/usr/bin/env bash
# Install the build into a temporary prefix, then build a small program against
# the installed tree twice: with pkg-config and with find_package(ckpt).  Both
# must open a fixture and print its top-level kind and protocol.
# Args: <source dir> <realworld dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null

for f in include/ckpt/ckpt_common.h include/ckpt/ckpt_pickle.h include/ckpt/ckpt_file.h bin/ckpt-info; do
  [ -e "$PREFIX/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
PC=$(find "$PREFIX" -name ckpt.pc | head -1)
[ -n "$PC" ] || { echo "FAIL: ckpt.pc not installed"; exit 1; }
CFG=$(find "$PREFIX" -name ckptConfig.cmake | head -1)
[ -n "$CFG" ] || { echo "FAIL: ckptConfig.cmake not installed"; exit 1; }

cat > "$WORK/app.c" <<'C'
#include <ckpt/ckpt_file.h>
#include <stdio.h>
int main(int argc, char **argv) {
    ckpt_file *f; ckpt_error err;
    if (argc < 2 || ckpt_open(argv[1], NULL, &f, &err) != CKPT_OK) { fprintf(stderr, "open failed\n"); return 1; }
    printf("%s %s protocol %d version %s\n", ckpt_format_name(ckpt_file_format(f)),
           ckpt_kind_name(ckpt_value_kind(ckpt_file_root(f))), ckpt_file_protocol(f), ckpt_version_string());
    ckpt_close(f);
    return 0;
}
C
FIXTURE=$SRC/models/pickles/p4_containers.pkl
# a sanitizer build installs a sanitized library: the consumer must use the same runtime
SANFLAGS=""
if grep -q "^CKPT_SANITIZE:BOOL=ON" "$BUILD/CMakeCache.txt" 2>/dev/null; then
  SANFLAGS="-fsanitize=address,undefined"
fi
WANT="pickle list protocol 4 version"

# 1. pkg-config (shared library, run with LD_LIBRARY_PATH)
export PKG_CONFIG_PATH=$(dirname "$PC")
cc $SANFLAGS -o "$WORK/app_pc" "$WORK/app.c" $(pkg-config --cflags --libs ckpt)
LIBDIR=$(pkg-config --variable=libdir ckpt)
OUT=$(LD_LIBRARY_PATH=$LIBDIR "$WORK/app_pc" "$FIXTURE")
echo "pkg-config: $OUT"
case "$OUT" in "$WANT"*) ;; *) echo "FAIL: pkg-config program printed '$OUT'"; exit 1 ;; esac

# 2. find_package(ckpt) + ckpt::ckpt
mkdir -p "$WORK/cm"
cp "$WORK/app.c" "$WORK/cm/app.c"
cat > "$WORK/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(ckpt_consumer C)
find_package(ckpt REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE ckpt::ckpt)
CM
cmake -S "$WORK/cm" -B "$WORK/cm/build" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_FLAGS="$SANFLAGS" >/dev/null
cmake --build "$WORK/cm/build" >/dev/null
OUT=$(LD_LIBRARY_PATH=$LIBDIR "$WORK/cm/build/app" "$FIXTURE")
echo "find_package: $OUT"
case "$OUT" in "$WANT"*) ;; *) echo "FAIL: find_package program printed '$OUT'"; exit 1 ;; esac

# 3. the installed ckpt-info runs
"$PREFIX/bin/ckpt-info" --version | grep -q "ckpt-info (ckpt)" || { echo "FAIL: installed ckpt-info"; exit 1; }
echo "install test passed"
