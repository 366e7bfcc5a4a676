/* libFuzzer target: uncompressed joblib (a pickle with inline arrays). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n > 0 && d[0] == 0x80) fz_open(d, n);
    return 0;
}
