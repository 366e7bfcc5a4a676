/*
 * bench_torch_legacy.c - time ckpt_open of a (legacy / sharded) torch file,
 * and open + reaching every tensor's data pointer.
 *
 *   bench_torch_legacy [-r REPEATS] [-m open|ptrs] FILE
 *
 * Prints (tab separated): name, bytes of the file, tensors, best open seconds,
 * best open+pointers seconds (0 with -m open), peak RSS in KiB of this
 * process.  With -m open nothing but metadata is touched, so the peak RSS is
 * what opening costs; run one mode per process.  Public API only.
 */
#include "ckpt/ckpt_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_clock.h"

int main(int argc, char **argv) {
    int reps = 3, ptrs = 1;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) ptrs = strcmp(argv[++i], "ptrs") == 0;
        else path = argv[i];
    }
    if (!path || reps < 1) {
        fprintf(stderr, "usage: bench_torch_legacy [-r REPEATS] [-m open|ptrs] FILE\n");
        return 2;
    }
    double best_open = 1e30, best_all = 1e30;
    size_t n = 0;
    for (int r = 0; r < reps; r++) {
        ckpt_file *f = NULL;
        ckpt_error err;
        double t0 = bench_now();
        if (ckpt_open(path, NULL, &f, &err) != CKPT_OK) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            return 1;
        }
        double t1 = bench_now();
        n = ckpt_file_array_count(f);
        if (ptrs) {
            for (size_t i = 0; i < n; i++) {
                const void *d;
                if (ckpt_file_array(f, i)->state != CKPT_DATA_UNAVAILABLE &&
                    ckpt_array_data(f, i, &d, &err) != CKPT_OK) {
                    fprintf(stderr, "%s: %s\n", path, err.message);
                    return 1;
                }
            }
        }
        double t2 = bench_now();
        ckpt_close(f);
        if (t1 - t0 < best_open) best_open = t1 - t0;
        if (t2 - t0 < best_all) best_all = t2 - t0;
    }
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *base = strrchr(path, '/');
    printf("%s\t%lld\t%zu\t%.6f\t%.6f\t%ld\n", base ? base + 1 : path, bytes, n, best_open,
           ptrs ? best_all : 0.0, ru.ru_maxrss);
    return 0;
}
