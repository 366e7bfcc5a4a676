/*
 * bench_trees - time ckpt_model_run on the models bench_trees_gen.py wrote
 * (benchmark, not a test).
 *
 *   bench_trees [-r REPEATS] DIR
 *
 * DIR holds rf.pkl, hgb.pkl, tfidf.pkl, X.f64 (rows x 20 float64) and docs.txt.
 * For each model: build it once, then single-row latency (best of REPEATS x
 * 200 calls on one row, per call) and batch time (best of REPEATS over every
 * row / document), predict_proba into a caller buffer.  Prints one
 * tab-separated line per model:  name  single_row_s  batch_s  batch_rows
 * tools/bench/bench_trees.sh joins it with scikit-learn's timings.
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

static int bench(const char *dir, const char *name, const ckpt_input *batch, const ckpt_input *one,
                 int reps)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.pkl", dir, name);
    ckpt_file *f = NULL;
    ckpt_model *m = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    if (ckpt_open(path, NULL, &f, &err) != CKPT_OK ||
        ckpt_model_build(f, NULL, NULL, &m, &err) != CKPT_OK) {
        fprintf(stderr, "%s: %s\n", name, err.message);
        ckpt_close(f);
        return 1;
    }
    ckpt_close(f);
    int64_t cols = ckpt_model_out_cols(m, CKPT_METHOD_PREDICT_PROBA);
    double *out = malloc((size_t)(batch->n_rows * cols) * sizeof *out);
    ckpt_output o = {NULL, out, NULL};
    double best1 = 1e30, bestb = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        for (int c = 0; c < CALLS; c++)
            if (ckpt_model_run(m, CKPT_METHOD_PREDICT_PROBA, one, &o, &err) != CKPT_OK) {
                fprintf(stderr, "%s: %s\n", name, err.message);
                return 1;
            }
        double t = (bench_now() - t0) / CALLS;
        best1 = t < best1 ? t : best1;
    }
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (ckpt_model_run(m, CKPT_METHOD_PREDICT_PROBA, batch, &o, &err) != CKPT_OK) {
            fprintf(stderr, "%s: %s\n", name, err.message);
            return 1;
        }
        double t = bench_now() - t0;
        bestb = t < bestb ? t : bestb;
    }
    printf("%s\t%.9f\t%.6f\t%lld\n", name, best1, bestb, (long long)batch->n_rows);
    free(out);
    ckpt_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 3, a = 1;
    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        reps = atoi(argv[2]);
        a = 3;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: bench_trees [-r REPEATS] DIR\n");
        return 2;
    }
    const char *dir = argv[a];
    char path[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/X.f64", dir);
    char *xb = read_all(path, &len);
    snprintf(path, sizeof path, "%s/docs.txt", dir);
    size_t dlen;
    char *db = read_all(path, &dlen);
    if (!xb || !db) {
        fprintf(stderr, "missing inputs in %s\n", dir);
        return 1;
    }
    int64_t rows = (int64_t)(len / (NF * sizeof(double)));
    ckpt_input dense = {CKPT_IN_DENSE, rows, NF, (const double *)xb, NULL, NULL, NULL, NULL, 0};
    ckpt_input dense1 = dense;
    dense1.n_rows = 1;
    /* documents: split lines in place */
    int64_t nd = 0;
    for (size_t i = 0; i < dlen; i++)
        nd += db[i] == '\n';
    const char **docs = malloc((size_t)(nd + 1) * sizeof *docs);
    int64_t k = 0;
    char *p = db;
    for (size_t i = 0; i < dlen; i++)
        if (db[i] == '\n') {
            db[i] = 0;
            docs[k++] = p;
            p = db + i + 1;
        }
    ckpt_input text = {CKPT_IN_TEXT, nd, 0, NULL, NULL, NULL, docs, NULL, 0};
    ckpt_input text1 = text;
    text1.n_rows = 1;
    int rc = bench(dir, "rf", &dense, &dense1, reps);
    rc |= bench(dir, "hgb", &dense, &dense1, reps);
    rc |= bench(dir, "tfidf", &text, &text1, reps);
    free(docs);
    free(xb);
    free(db);
    return rc;
}
