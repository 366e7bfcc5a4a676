/*
 * bench_torch.c - time ckpt_open + reaching every tensor's data pointer on
 * PyTorch zip checkpoints, and the memory it takes.
 *
 *   bench_torch [-r REPEATS] [-v] FILE...     measure (tab-separated line per file)
 *   bench_torch -1 FILE                       open + every pointer once, exit
 *                                             (the shell times the whole process)
 *
 * Per file: name, bytes, arrays, median open s, median open+pointers s,
 * VmRSS KiB right after the first open (nothing read yet), VmHWM KiB of the
 * open alone, VmRSS KiB after every pointer, VmHWM KiB of open+pointers,
 * arrays mapped (zero-copy), arrays copied, ckpt_file_verify seconds (-v; 0
 * otherwise: it reads every byte), process ru_maxrss KiB, VmRSS KiB of the
 * process before its first open (libraries, no checkpoint), fastest and
 * slowest open+pointers s of the REPEATS (spread inside this process).  The
 * first run is untimed and gives the memory figures (peak reset through
 * /proc/self/clear_refs between phases).  Public API only.
 */
#include "ckpt/ckpt_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_clock.h"

#define MAX_REPS 201

/* "VmRSS:" / "VmHWM:" of /proc/self/status in KiB (0 if unknown). */
static long status_kb(const char *key) {
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) return 0;
    char line[256];
    long v = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, key, kl) == 0) {
            v = strtol(line + kl, NULL, 10);
            break;
        }
    fclose(fp);
    return v;
}

/* Reset VmHWM to the current RSS (Linux >= 4.0). */
static void reset_peak(void) {
    FILE *fp = fopen("/proc/self/clear_refs", "w");
    if (!fp) return;
    fputs("5", fp);
    fclose(fp);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Every array's data pointer; counts mapped / copied. */
static int all_pointers(ckpt_file *f, const char *path, size_t *mapped, size_t *copied) {
    size_t n = ckpt_file_array_count(f);
    ckpt_error err;
    *mapped = *copied = 0;
    for (size_t i = 0; i < n; i++) {
        const ckpt_array_info *a = ckpt_file_array(f, i);
        if (a->dtype->type == CKPT_DT_OBJECT || a->state == CKPT_DATA_UNAVAILABLE) continue;
        const void *d;
        if (ckpt_array_data(f, i, &d, &err) != CKPT_OK) {
            fprintf(stderr, "bench_torch: %s: %s: %s\n", path, a->path, err.message);
            return 0;
        }
        a = ckpt_file_array(f, i);
        *mapped += a->state == CKPT_DATA_MAPPED;
        *copied += a->state == CKPT_DATA_COPIED;
    }
    return 1;
}

int main(int argc, char **argv) {
    int reps = 5, a = 1, once = 0, verify = 0;
    while (a < argc && argv[a][0] == '-') {
        if (!strcmp(argv[a], "-r") && a + 1 < argc) {
            reps = atoi(argv[a + 1]);
            if (reps < 1) reps = 1;
            if (reps > MAX_REPS) reps = MAX_REPS;
            a += 2;
        } else if (!strcmp(argv[a], "-1")) {
            once = 1;
            a++;
        } else if (!strcmp(argv[a], "-v")) {
            verify = 1;
            a++;
        } else {
            break;
        }
    }
    if (a >= argc) {
        fprintf(stderr, "usage: bench_torch [-r REPEATS] [-v] FILE... | bench_torch -1 FILE\n");
        return 2;
    }
    long rss_base = status_kb("VmRSS:"); /* the process before any open */
    for (; a < argc; a++) {
        ckpt_file *f;
        ckpt_error err;
        size_t mapped = 0, copied = 0;
        if (once) {
            if (ckpt_open(argv[a], NULL, &f, &err) != CKPT_OK) {
                fprintf(stderr, "bench_torch: %s: %s\n", argv[a], err.message);
                return 1;
            }
            int ok = all_pointers(f, argv[a], &mapped, &copied);
            ckpt_close(f);
            if (!ok) return 1;
            continue;
        }
        double t_open[MAX_REPS], t_all[MAX_REPS];
        size_t arrays = 0;
        uint64_t bytes = 0;
        long rss_open = 0, hwm_open = 0, rss_ptrs = 0, hwm_ptrs = 0;
        for (int r = -1; r < reps; r++) {
            if (r < 0) reset_peak();
            double t0 = bench_now();
            if (ckpt_open(argv[a], NULL, &f, &err) != CKPT_OK) {
                fprintf(stderr, "bench_torch: %s: %s\n", argv[a], err.message);
                return 1;
            }
            double t1 = bench_now();
            if (r < 0) {
                rss_open = status_kb("VmRSS:");
                hwm_open = status_kb("VmHWM:");
            }
            arrays = ckpt_file_array_count(f);
            if (!all_pointers(f, argv[a], &mapped, &copied)) return 1;
            double t2 = bench_now();
            if (r < 0) {
                rss_ptrs = status_kb("VmRSS:");
                hwm_ptrs = status_kb("VmHWM:");
            }
            bytes = ckpt_file_size(f);
            ckpt_close(f);
            if (r < 0) continue;
            t_open[r] = t1 - t0;
            t_all[r] = t2 - t0;
        }
        double t_verify = 0;
        if (verify) {
            if (ckpt_open(argv[a], NULL, &f, &err) != CKPT_OK) return 1;
            ckpt_verify_report rep;
            double t0 = bench_now();
            ckpt_status st = ckpt_file_verify(f, NULL, NULL, &rep, &err);
            t_verify = bench_now() - t0;
            if (st != CKPT_OK) fprintf(stderr, "bench_torch: %s: verify: %s\n", argv[a], err.message);
            ckpt_close(f);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        const char *name = strrchr(argv[a], '/');
        double med_open = median(t_open, reps), med_all = median(t_all, reps); /* sorts t_all */
        printf("%s\t%llu\t%zu\t%.6f\t%.6f\t%ld\t%ld\t%ld\t%ld\t%zu\t%zu\t%.6f\t%ld\t%ld\t%.6f\t%.6f\n",
               name ? name + 1 : argv[a], (unsigned long long)bytes, arrays, med_open, med_all, rss_open, hwm_open,
               rss_ptrs, hwm_ptrs, mapped, copied, t_verify, ru.ru_maxrss, rss_base, t_all[0], t_all[reps - 1]);
    }
    return 0;
}
