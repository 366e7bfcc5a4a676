/* libFuzzer target: .npy and .npz. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (fz_starts(d, n, "\x93NUMPY", 6) || fz_starts(d, n, "PK", 2)) fz_open(d, n);
    return 0;
}
