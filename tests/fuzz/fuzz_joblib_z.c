/* libFuzzer target: compressed joblib (zlib, gzip, bz2, xz, lzma, lz4, old ZF). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n > 1 && (d[0] == 0x78 || d[0] == 0x1f || d[0] == 'B' || d[0] == 0xfd || d[0] == 0x04 || d[0] == 0x5d || d[0] == 'Z')) fz_open(d, n);
    return 0;
}
