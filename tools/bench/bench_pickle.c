/*
 * bench_pickle - time ckpt_pickle_load on pickle files (benchmark, not a test).
 *
 *   bench_pickle [-r REPEATS] FILE...
 *
 * For each file: read it into memory, then REPEATS times (best time kept)
 * create a graph, run every pickle of the file, and free the graph.  Two
 * variants: flags 0 (str/bytes copied into the graph, like CPython makes
 * objects) and CKPT_GRAPH_BORROW_INPUT.  Prints one tab-separated line per file:
 *   name  bytes  ops  best_load_s  best_load_borrow_s  free_s  graph_bytes
 * tools/bench/bench_pickle.sh joins this with CPython's pickle.loads timings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt_pickle.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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
    double t0 = now();
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
    double t1 = now();
    *mem = ckpt_graph_memory(g);
    ckpt_graph_free(g);
    double t2 = now();
    *load_s = t1 - t0;
    *free_s = t2 - t1;
    *ops = total_ops;
    return 1;
}

int main(int argc, char **argv) {
    int repeats = 5, first = 1;
    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        repeats = atoi(argv[2]);
        if (repeats < 1) repeats = 1;
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: bench_pickle [-r REPEATS] FILE...\n");
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
        double best[2] = {1e30, 1e30}, best_free = 1e30;
        uint64_t ops = 0, mem = 0;
        int ok = 1;
        for (int v = 0; v < 2 && ok; v++) {
            for (int r = 0; r < repeats && ok; r++) {
                double ls, fs;
                ok = run_once(buf, len, v ? CKPT_GRAPH_BORROW_INPUT : 0, &ls, &fs, &ops, &mem);
                if (ls < best[v]) best[v] = ls;
                if (v == 0 && fs < best_free) best_free = fs;
            }
        }
        if (ok)
            printf("%s\t%zu\t%llu\t%.6f\t%.6f\t%.6f\t%llu\n", name, len, (unsigned long long)ops,
                   best[0], best[1], best_free, (unsigned long long)mem);
        else
            rc = 1;
        fflush(stdout);
        free(buf);
    }
    return rc;
}
