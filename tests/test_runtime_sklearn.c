/*
 * test_runtime_sklearn.c - every fixture of models/sklearn (made by
 * models/make_sklearn.py with scikit-learn 1.2.1), as pickle and as joblib:
 * build the model, run every method scikit-learn ran, compare.  Labels must
 * be identical; float64 outputs within 1e-9 relative (1e-5 for float32
 * models), with an absolute floor of 1e-10 (1e-6) for values that are ~0.
 * Also: the model outlives its file, and unsupported estimators / paths fail
 * with an error naming them.
 * float32 fixtures also: every float result's dtype (ckpt_model_compute_dtype)
 * is scikit-learn's, for float32 and for float64 rows; float32 results are
 * float32 values within F32_MAX_ULPS float32 ulps of scikit-learn's, float64
 * ones within 1e-9.  A float64 computation fails this.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "util_model.h"
#include "util_test.h"

static void check_dtypes(const ckpt_model *m, const cJSON *doc, const char *what, int in32,
                         const char *outs_key, const char *dt_key);

static void one(const char *name, const char *ext)
{
    char rel[256], what[300];
    snprintf(rel, sizeof rel, "sklearn/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(rel));
    if (!doc)
        return;
    snprintf(rel, sizeof rel, "sklearn/%s%s", name, ext);
    snprintf(what, sizeof what, "%s%s", name, ext);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(tu_model_path(rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s", what, err.message);
    if (st != CKPT_OK) {
        cJSON_Delete(doc);
        return;
    }
    ckpt_model *m = NULL;
    st = ckpt_model_build(f, NULL, NULL, &m, &err);
    CHECKF(st == CKPT_OK, "%s: build: %s", what, err.message);
    ckpt_close(f); /* the model must not need the file any more */
    if (st == CKPT_OK) {
        const cJSON *dt = cJSON_GetObjectItem(doc, "dtype");
        int f32 = cJSON_IsString(dt) && strcmp(dt->valuestring, "float32") == 0;
        const cJSON *cls = cJSON_GetObjectItem(doc, "class");
        CHECKF(cJSON_IsString(cls) && strcmp(ckpt_model_class(m), cls->valuestring) == 0,
               "%s: class %s", what, ckpt_model_class(m));
        const cJSON *nf = cJSON_GetObjectItem(doc, "n_features");
        if (ckpt_model_n_features(m) >= 0)
            CHECKF((double)ckpt_model_n_features(m) == nf->valuedouble, "%s: n_features %lld",
                   what, (long long)ckpt_model_n_features(m));
        int k = tum_check_model(m, doc, what, f32 ? 1e-5 : 1e-9, f32 ? 1e-6 : 1e-10);
        CHECKF(k > 0, "%s: no method compared", what);
        if (f32) {
            check_dtypes(m, doc, what, 1, "outputs", "output_dtypes");
            check_dtypes(m, doc, what, 0, "outputs_f64in", "output_dtypes_f64in");
        } else {
            CHECKF(ckpt_model_fit_dtype(m) == CKPT_DT_FLOAT64, "%s: fitted in float64", what);
        }
    }
    ckpt_model_free(m);
    cJSON_Delete(doc);
}

/* ---- float32 (issue 5): scikit-learn's float32 arithmetic, not just 1e-5 ---- */

/* float32 results may differ from scikit-learn's by at most this many
   float32 ulps (of the larger of the two values), and must be float32 values
   (a float64 computation widened is almost never one). */
#define F32_MAX_ULPS 4

static int64_t ulps32(double a, double b)
{
    float fa = (float)a, fb = (float)b;
    if (fa == fb)
        return 0;
    if (fa != fa || fb != fb)
        return INT64_MAX;
    int32_t ia, ib;
    memcpy(&ia, &fa, 4);
    memcpy(&ib, &fb, 4);
    int64_t la = ia < 0 ? (int64_t)INT32_MIN - ia : ia, lb = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return la > lb ? la - lb : lb - la;
}

/* numbers of a 1-D or 2-D JSON array (null -> NaN), flattened */
static double *jnums(const cJSON *v, int64_t *count)
{
    int64_t n = 0;
    for (const cJSON *r = v ? v->child : NULL; r; r = r->next)
        n += cJSON_IsArray(r) ? cJSON_GetArraySize(r) : 1;
    double *out = calloc((size_t)n + 1, sizeof *out);
    int64_t i = 0;
    for (const cJSON *r = v ? v->child : NULL; r && out; r = r->next) {
        const cJSON *c = cJSON_IsArray(r) ? r->child : r;
        for (; c; c = cJSON_IsArray(r) ? c->next : NULL) {
            out[i++] = cJSON_IsNumber(c) ? c->valuedouble : NAN;
            if (!cJSON_IsArray(r))
                break;
        }
    }
    *count = i;
    return out;
}

static int stat_f32_checked, stat_f64_checked;
static int64_t stat_max_ulps;

/* Run every float method of doc[outs_key] on the inputs as float32 (in32)
   or float64 rows; dtype must be scikit-learn's (doc[dt_key]); float32
   results must be float32 values within F32_MAX_ULPS, float64 results within
   1e-9 relative. */
static void check_dtypes(const ckpt_model *m, const cJSON *doc, const char *what, int in32,
                         const char *outs_key, const char *dt_key)
{
    const cJSON *outs = cJSON_GetObjectItem(doc, outs_key);
    const cJSON *dts = cJSON_GetObjectItem(doc, dt_key);
    CHECKF(cJSON_IsObject(outs) && cJSON_IsObject(dts), "%s: %s / %s present", what, outs_key,
           dt_key);
    int64_t n = 0, d = 0;
    double *X = tum_dense_inputs(doc, &n, &d);
    float *X32 = malloc((size_t)(n * d + 1) * sizeof *X32);
    for (int64_t i = 0; X && X32 && i < n * d; i++)
        X32[i] = (float)X[i];
    ckpt_input in;
    memset(&in, 0, sizeof in);
    in.kind = CKPT_IN_DENSE;
    in.n_rows = n;
    in.n_cols = d;
    if (in32)
        in.dense32 = X32;
    else
        in.dense = X;
    for (const cJSON *o = outs ? outs->child : NULL; o && X && X32; o = o->next) {
        const cJSON *dt = cJSON_GetObjectItem(dts, o->string);
        if (!cJSON_IsString(dt))
            continue;
        int want32 = strcmp(dt->valuestring, "float32") == 0;
        int want64 = strcmp(dt->valuestring, "float64") == 0;
        ckpt_method meth;
        if (ckpt_method_parse(o->string, &meth) != CKPT_OK)
            continue;
        ckpt_out_kind kind = ckpt_model_out_kind(m, meth);
        if (!want32 && !want64) { /* labels / ints: no float dtype */
            CHECKF(kind == CKPT_OUT_LABEL || kind == CKPT_OUT_INT ||
                       ckpt_model_compute_dtype(m, meth, in32 ? CKPT_DT_FLOAT32
                                                              : CKPT_DT_FLOAT64) != CKPT_DT_FLOAT32,
                   "%s: %s is %s", what, o->string, dt->valuestring);
            continue;
        }
        if (kind != CKPT_OUT_F64 && kind != CKPT_OUT_CSR)
            continue; /* float labels (predict of a float-class classifier) */
        ckpt_dtype cd = ckpt_model_compute_dtype(m, meth, in32 ? CKPT_DT_FLOAT32 : CKPT_DT_FLOAT64);
        CHECKF(cd == (want32 ? CKPT_DT_FLOAT32 : CKPT_DT_FLOAT64),
               "%s: %s on %s rows: compute dtype %s, scikit-learn's is %s", what, o->string,
               in32 ? "float32" : "float64", ckpt_dtype_name(cd), dt->valuestring);
        int64_t cols = ckpt_model_out_cols(m, meth), en = 0;
        double *want = jnums(o, &en);
        double *got = calloc((size_t)(n * cols + 1), sizeof *got);
        ckpt_error err;
        ckpt_error_clear(&err);
        ckpt_status st;
        if (kind == CKPT_OUT_CSR) {
            ckpt_csr csr;
            memset(&csr, 0, sizeof csr);
            ckpt_output out = {0};
            out.csr = &csr;
            st = ckpt_model_run(m, meth, &in, &out, &err);
            for (int64_t r = 0; st == CKPT_OK && r < csr.rows; r++)
                for (int64_t p = csr.indptr[r]; p < csr.indptr[r + 1]; p++)
                    got[r * cols + csr.indices[p]] += csr.data[p];
            ckpt_csr_free(&csr);
        } else {
            ckpt_output out = {0};
            out.values = got;
            st = ckpt_model_run(m, meth, &in, &out, &err);
        }
        CHECKF(st == CKPT_OK, "%s: %s: %s", what, o->string, err.message);
        CHECKF(en == n * cols, "%s: %s: %lld values, expected %lld", what, o->string,
               (long long)(n * cols), (long long)en);
        int64_t worst = 0, worst_i = 0, not32 = -1, far64 = -1;
        for (int64_t i = 0; st == CKPT_OK && en == n * cols && i < en; i++) {
            if (want32) {
                if ((double)(float)got[i] != got[i] && got[i] == got[i] && not32 < 0)
                    not32 = i;
                int64_t u = ulps32(got[i], want[i]);
                if (u > worst) {
                    worst = u;
                    worst_i = i;
                }
            } else if (!tu_close(got[i], want[i], 1e-9, 1e-10) && far64 < 0) {
                far64 = i;
            }
        }
        if (want32) {
            stat_f32_checked++;
            if (worst > stat_max_ulps)
                stat_max_ulps = worst;
            CHECKF(not32 < 0, "%s: %s (%s rows): element %lld = %.17g is not a float32 value",
                   what, o->string, in32 ? "float32" : "float64", (long long)not32,
                   not32 >= 0 ? got[not32] : 0.0);
            CHECKF(worst <= F32_MAX_ULPS,
                   "%s: %s (%s rows): element %lld is %lld float32 ulps from scikit-learn's "
                   "(%.9g vs %.9g)", what, o->string, in32 ? "float32" : "float64",
                   (long long)worst_i, (long long)worst, got[worst_i], want[worst_i]);
            if (worst > 0)
                printf("# %s %s (%s rows): max %lld float32 ulps from scikit-learn\n", what,
                       o->string, in32 ? "float32" : "float64", (long long)worst);
        } else {
            stat_f64_checked++;
            CHECKF(far64 < 0, "%s: %s (%s rows): element %lld %.17g vs %.17g (1e-9)", what,
                   o->string, in32 ? "float32" : "float64", (long long)far64,
                   far64 >= 0 ? got[far64] : 0.0, far64 >= 0 ? want[far64] : 0.0);
        }
        free(want);
        free(got);
    }
    free(X);
    free(X32);
}

/* float32 batches split over threads: 20000 rows (the fixture's rows tiled)
   with 4 threads and with 1 give the same bits, and every row equals
   scikit-learn's float32 result for that row (the float32 paths do not
   depend on how rows are grouped into BLAS calls of 2+ rows). */
static void threads_f32(const char *name, const char *method)
{
    char rel[256];
    snprintf(rel, sizeof rel, "sklearn/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(rel));
    if (!doc)
        return;
    snprintf(rel, sizeof rel, "sklearn/%s.pkl", name);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_model *m1 = NULL, *m4 = NULL;
    CHECK_STATUS(ckpt_open(tu_model_path(rel), NULL, &f, &err), CKPT_OK);
    ckpt_model_opts o = ckpt_model_opts_default();
    o.n_threads = 1;
    CHECK_STATUS(ckpt_model_build(f, NULL, &o, &m1, &err), CKPT_OK);
    o.n_threads = 4;
    CHECK_STATUS(ckpt_model_build(f, NULL, &o, &m4, &err), CKPT_OK);
    ckpt_close(f);
    ckpt_method meth;
    ckpt_method_parse(method, &meth);
    int64_t n0 = 0, d = 0, en = 0;
    double *X = tum_dense_inputs(doc, &n0, &d);
    double *want = jnums(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "outputs"), method), &en);
    const int64_t n = 20000, cols = m1 ? ckpt_model_out_cols(m1, meth) : 0;
    float *X32 = malloc((size_t)(n * d) * sizeof *X32 + 4);
    double *a = calloc((size_t)(n * cols) + 1, sizeof *a), *b = calloc((size_t)(n * cols) + 1,
                                                                      sizeof *b);
    if (m1 && m4 && X && X32 && a && b && en == n0 * cols) {
        for (int64_t i = 0; i < n * d; i++)
            X32[i] = (float)X[(i / d) % n0 * d + i % d];
        ckpt_input in;
        memset(&in, 0, sizeof in);
        in.kind = CKPT_IN_DENSE;
        in.n_rows = n;
        in.n_cols = d;
        in.dense32 = X32;
        ckpt_output oa = {0}, ob = {0};
        oa.values = a;
        ob.values = b;
        CHECK_STATUS(ckpt_model_run(m1, meth, &in, &oa, &err), CKPT_OK);
        CHECK_STATUS(ckpt_model_run(m4, meth, &in, &ob, &err), CKPT_OK);
        CHECKF(memcmp(a, b, (size_t)(n * cols) * sizeof *a) == 0,
               "%s %s: 4 threads give the bits of 1 thread (%lld rows)", name, method,
               (long long)n);
        int64_t bad = -1;
        for (int64_t i = 0; i < n * cols && bad < 0; i++)
            if (a[i] != want[(i / cols) % n0 * cols + i % cols])
                bad = i;
        CHECKF(bad < 0, "%s %s: row %lld of a %lld-row float32 batch is scikit-learn's bits",
               name, method, (long long)(bad < 0 ? 0 : bad / cols), (long long)n);
    } else {
        CHECKF(0, "%s: setup", name);
    }
    free(X);
    free(X32);
    free(want);
    free(a);
    free(b);
    ckpt_model_free(m1);
    ckpt_model_free(m4);
    cJSON_Delete(doc);
}

static void errors(void)
{
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    /* a path that does not exist */
    CHECK_STATUS(ckpt_open(tu_model_path("sklearn/pipe_scaler_lr.pkl"), NULL, &f, &err), CKPT_OK);
    ckpt_model *m = NULL;
    CHECK_STATUS(ckpt_model_build(f, "steps.7.1", NULL, &m, &err), CKPT_E_NOTFOUND);
    CHECK(m == NULL);
    /* a sub-estimator by path */
    CHECK_STATUS(ckpt_model_build(f, "steps.1.1", NULL, &m, &err), CKPT_OK);
    CHECK(m && strstr(ckpt_model_class(m), "LogisticRegression"));
    /* wrong column count and NaN name the row */
    if (m) {
        double X[2 * 6] = {0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0.0 / 0.0};
        double out[2 * 3];
        CHECK_STATUS(ckpt_model_predict(m, CKPT_METHOD_PREDICT_PROBA, X, 2, 6, out, &err),
                     CKPT_E_INPUT);
        CHECKF(strstr(err.message, "row 1") && err.offset == 1, "NaN row named: %s",
               err.message);
        CHECK_STATUS(ckpt_model_predict(m, CKPT_METHOD_PREDICT_PROBA, X, 2, 5, out, &err),
                     CKPT_E_INPUT);
        CHECK_STATUS(ckpt_model_predict(m, CKPT_METHOD_TRANSFORM, X, 1, 6, out, &err),
                     CKPT_E_UNSUPPORTED);
    }
    ckpt_model_free(m);
    /* the root is a Pipeline; a non-estimator value fails with MODEL */
    CHECK_STATUS(ckpt_model_build(f, "steps.0", NULL, &m, &err), CKPT_E_MODEL);
    ckpt_close(f);
    /* an unsupported estimator is named */
    CHECK_STATUS(ckpt_open(tu_model_path("sklearn/unsupported_dbscan.pkl"), NULL, &f, &err),
                 CKPT_OK);
    CHECK_STATUS(ckpt_model_build(f, NULL, NULL, &m, &err), CKPT_E_MODEL);
    CHECKF(strstr(err.message, "sklearn.cluster._dbscan.DBSCAN") != NULL, "named: %s",
           err.message);
    ckpt_close(f);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    size_t len = 0;
    char *index = tu_read_file(tu_model_path("sklearn/INDEX"), &len);
    CHECK(index != NULL);
    for (char *line = index ? strtok(index, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        if (!*line)
            continue;
        one(line, ".pkl");
        one(line, ".joblib");
    }
    free(index);
    errors();
    threads_f32("lr_saga_f32", "predict_proba");
    threads_f32("mlp_clf_tanh_binary_f32", "predict_log_proba");
    threads_f32("pipe_scaler_pca_mlp_f32", "predict_proba");
    threads_f32("kmeans_f32", "transform");
    threads_f32("ct_scalers_f32", "transform");
    printf("# float32 fixtures: %d float32 results checked (max %lld ulps, bound %d), "
           "%d float64 results at 1e-9\n",
           stat_f32_checked, (long long)stat_max_ulps, F32_MAX_ULPS, stat_f64_checked);
    return tu_finish();
}
