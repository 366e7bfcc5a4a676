/*
 * bench_pickle - time ckpt_pickle_load on pickle files (benchmark, not a test).
 *
 *   bench_pickle [-r REPEATS] [-a] FILE...
 *
 * For each file: read it into memory, then REPEATS times (median time kept)
 * create a graph, run every pickle of the file, and free the graph.  Two
 * variants: flags 0 (str/bytes copied into the graph, like CPython makes
 * objects) and CKPT_GRAPH_BORROW_INPUT.  Prints one tab-separated line per file:
 *   name  bytes  ops  median_load_s  median_load_borrow_s  median_free_s  graph_bytes  min_load_s
 * With -a, every run instead: name  bytes  ops  copy|borrow  load_s.
 * tools/bench/bench_pickle.sh joins this with CPython's pickle.loads timings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt_pickle.h"

#include "bench_clock.h"

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : (1u << 20);
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    fclose(fp);
    *len = n;
    return buf;
}

/* One run: all pickles of the file.  Returns load seconds (free not included). */
static int run_once(const unsigned char *buf, size_t len, unsigned flags, double *load_s,
                    double *free_s, uint64_t *ops, uint64_t *mem) {
    ckpt_limits lim = ckpt_limits_default();
    lim.max_memory = (uint64_t)64 << 30;
    ckpt_graph *g = NULL;
    double t0 = bench_now();
    if (ckpt_graph_new(&lim, NULL, flags, &g) != CKPT_OK) return 0;
    size_t pos = 0;
    uint64_t total_ops = 0;
    while (pos < len) {
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        ckpt_error err;
        ckpt_status st = ckpt_pickle_load(g, buf, len, pos, NULL, &root, &info, &err);
        if (st != CKPT_OK) {
            fprintf(stderr, "bench_pickle: load failed at %zu: %s\n", pos, err.message);
            ckpt_graph_free(g);
            return 0;
        }
        total_ops += info.ops;
        pos = (size_t)info.end;
    }
    double t1 = bench_now();
    *mem = ckpt_graph_memory(g);
    ckpt_graph_free(g);
    double t2 = bench_now();
    *load_s = t1 - t0;
    *free_s = t2 - t1;
    *ops = total_ops;
    return 1;
}

#define MAX_REPEATS 101

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

int main(int argc, char **argv) {
    int repeats = 5, first = 1, all = 0;
    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        repeats = atoi(argv[2]);
        if (repeats < 1) repeats = 1;
        if (repeats > MAX_REPEATS) repeats = MAX_REPEATS;
        first = 3;
    }
    if (first < argc && strcmp(argv[first], "-a") == 0) {
        all = 1;
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: bench_pickle [-r REPEATS] [-a] FILE...\n");
        return 2;
    }
    int rc = 0;
    for (int a = first; a < argc; a++) {
        size_t len = 0;
        unsigned char *buf = read_all(argv[a], &len);
        if (!buf) {
            fprintf(stderr, "bench_pickle: cannot read %s\n", argv[a]);
            rc = 1;
            continue;
        }
        const char *name = strrchr(argv[a], '/');
        name = name ? name + 1 : argv[a];
        double t[2][MAX_REPEATS], tf[MAX_REPEATS];
        uint64_t ops = 0, mem = 0;
        int ok = 1;
        for (int v = 0; v < 2 && ok; v++) {
            for (int r = 0; r < repeats && ok; r++) {
                double ls = 0, fs = 0;
                ok = run_once(buf, len, v ? CKPT_GRAPH_BORROW_INPUT : 0, &ls, &fs, &ops, &mem);
                t[v][r] = ls;
                if (v == 0) tf[r] = fs;
            }
        }
        if (ok && all) {
            for (int v = 0; v < 2; v++)
                for (int r = 0; r < repeats; r++)
                    printf("%s\t%zu\t%llu\t%s\t%.6f\n", name, len, (unsigned long long)ops, v ? "borrow" : "copy",
                           t[v][r]);
        } else if (ok) {
            double m0 = median(t[0], repeats), m1 = median(t[1], repeats), mf = median(tf, repeats);
            printf("%s\t%zu\t%llu\t%.6f\t%.6f\t%.6f\t%llu\t%.6f\n", name, len, (unsigned long long)ops,
                   m0, m1, mf, (unsigned long long)mem, t[0][0]);
        }
        else
            rc = 1;
        fflush(stdout);
        free(buf);
    }
    return rc;
}
