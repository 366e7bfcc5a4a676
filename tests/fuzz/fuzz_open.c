/* libFuzzer target: the whole open path (format detection, every reader) and the scanner. */
#include "fuzz_common.h"

/* the replay driver also feeds prefixes and corruptions of every seed */
const int ckpt_fuzz_mutate = 1;

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    fz_open(d, n);
    fz_scan(d, n);
    return 0;
}
