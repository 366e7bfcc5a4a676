/* test_scan_corrupt_3.c - single-byte corruptions of small model files, part 4 of
   CORRUPT_PARTS (see test_scan_hardening.h). */
#include "test_scan_hardening.h"

int main(int argc, char **argv) {
    tu_init(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_corruptions(3);
    return tu_finish();
}
