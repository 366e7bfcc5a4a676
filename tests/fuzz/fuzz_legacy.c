/* libFuzzer target: the legacy torch reader (a stream of pickles starting with the magic number). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (fz_starts(d, n, "\x80\x02\x8a\x0a", 4)) fz_open(d, n);
    return 0;
}
