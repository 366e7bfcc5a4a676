/* libFuzzer target: the torch zip reader (inputs that start like a zip). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (fz_starts(d, n, "PK", 2)) fz_open(d, n);
    return 0;
}
