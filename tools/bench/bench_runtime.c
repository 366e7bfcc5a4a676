/*
 * bench_runtime - time ckpt_model_run on the models bench_runtime_gen.py
 * wrote (benchmark, not a test).
 *
 *   bench_runtime [-r REPEATS] [-t THREADS] [-m NAME] DIR
 *
 * DIR holds lr.pkl, mlp.pkl, svc.pkl, knn.pkl, torch.pkl (a state_dict of
 * NumPy arrays), X.f64 (rows x 20 float64) and meta.txt (rows, KNN batch
 * rows, SVC support vectors).  For each model: build it once, then
 * single-row latency (best of REPEATS x 200 calls on one row, per call) and
 * batch time (best of REPEATS over the batch) of the method scikit-learn is
 * timed on (predict_proba; SVC decision_function; torch stack predict), into
 * a caller buffer.  Prints one tab-separated line per model:
 *   name  single_row_s  batch_s  batch_rows
 * tools/bench/bench_runtime.sh joins it with scikit-learn's / PyTorch's.
 * -m NAME times that model only (tools/bench/bench_runtime_layers.sh: torch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"

#include "bench_clock.h"

#define NF 20
#define CALLS 200
#define SPEC "net.0:relu,net.2:relu,net.4"

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    if (fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        return NULL;
    }
    long n = ftell(fp);
    rewind(fp);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

static int bench(const char *dir, const char *name, ckpt_method method, const double *X,
                 int64_t rows, int reps, int threads)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.pkl", dir, name);
    ckpt_file *f = NULL;
    ckpt_model *m = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_model_opts opts = ckpt_model_opts_default();
    opts.n_threads = threads;
    ckpt_status st = ckpt_open(path, NULL, &f, &err);
    if (st == CKPT_OK)
        st = strcmp(name, "torch") == 0 ? ckpt_model_build_layers(f, SPEC, &opts, &m, &err)
                                        : ckpt_model_build(f, NULL, &opts, &m, &err);
    ckpt_close(f);
    if (st != CKPT_OK) {
        fprintf(stderr, "%s: %s\n", name, err.message);
        return 1;
    }
    int64_t cols = ckpt_model_out_cols(m, method);
    double *out = malloc((size_t)(rows * cols) * sizeof *out);
    if (!out) {
        ckpt_model_free(m);
        return 1;
    }
    ckpt_output o = {NULL, out, NULL};
    ckpt_input batch = {CKPT_IN_DENSE, rows, NF, X, NULL, NULL, NULL, NULL, 0};
    ckpt_input one = batch;
    one.n_rows = 1;
    double best1 = 1e30, bestb = 1e30;
    int rc = 0;
    for (int r = 0; r < reps && !rc; r++) {
        double t0 = bench_now();
        for (int c = 0; c < CALLS && !rc; c++)
            rc = ckpt_model_run(m, method, &one, &o, &err) != CKPT_OK;
        double t = (bench_now() - t0) / CALLS;
        best1 = t < best1 ? t : best1;
    }
    for (int r = 0; r < reps && !rc; r++) {
        double t0 = bench_now();
        rc = ckpt_model_run(m, method, &batch, &o, &err) != CKPT_OK;
        double t = bench_now() - t0;
        bestb = t < bestb ? t : bestb;
    }
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.message);
    else
        printf("%s\t%.9f\t%.6f\t%lld\n", name, best1, bestb, (long long)rows);
    fflush(stdout);
    free(out);
    ckpt_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    int reps = 3, threads = 0, a = 1;
    const char *only = NULL;
    while (a + 1 < argc && argv[a][0] == '-') {
        if (strcmp(argv[a], "-r") == 0)
            reps = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "-t") == 0)
            threads = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "-m") == 0)
            only = argv[a + 1];
        else
            break;
        a += 2;
    }
    if (a >= argc || reps < 1) {
        fprintf(stderr, "usage: bench_runtime [-r REPEATS] [-t THREADS] [-m NAME] DIR\n");
        return 2;
    }
    const char *dir = argv[a];
    char path[1024];
    size_t len = 0, mlen = 0;
    snprintf(path, sizeof path, "%s/X.f64", dir);
    char *xb = read_all(path, &len);
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    char *meta = read_all(path, &mlen);
    long long rows_meta = 0, knn_rows = 0, nsv = 0;
    if (!xb || !meta || sscanf(meta, "%lld %lld %lld", &rows_meta, &knn_rows, &nsv) != 3) {
        fprintf(stderr, "missing inputs in %s\n", dir);
        free(xb);
        free(meta);
        return 1;
    }
    int64_t rows = (int64_t)(len / (NF * sizeof(double)));
    if (knn_rows > rows)
        knn_rows = rows;
    const double *X = (const double *)xb;
#define WANT(n) (!only || strcmp(only, n) == 0)
    int rc = 0;
    if (WANT("lr"))
        rc |= bench(dir, "lr", CKPT_METHOD_PREDICT_PROBA, X, rows, reps, threads);
    if (WANT("mlp"))
        rc |= bench(dir, "mlp", CKPT_METHOD_PREDICT_PROBA, X, rows, reps, threads);
    if (WANT("svc"))
        rc |= bench(dir, "svc", CKPT_METHOD_DECISION_FUNCTION, X, rows, reps, threads);
    if (WANT("knn"))
        rc |= bench(dir, "knn", CKPT_METHOD_PREDICT_PROBA, X, knn_rows, reps, threads);
    if (WANT("torch"))
        rc |= bench(dir, "torch", CKPT_METHOD_PREDICT, X, rows, reps, threads);
    free(xb);
    free(meta);
    return rc;
}
