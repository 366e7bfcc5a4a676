/* test_scan_hardening.c - allocation-failure injection per format (see test_scan_hardening.h). */
#include "test_scan_hardening.h"

int main(int argc, char **argv) {
    tu_init(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_allocfail();
    return tu_finish();
}
