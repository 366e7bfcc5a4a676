/*
 * test_trees.c - every tree / ensemble fixture in models/trees (made by
 * models/make_trees.py with Debian's scikit-learn) loaded from both its .pkl
 * and .joblib form, built through the public model API (the runtime core's
 * registry: tree-family members by the tree engine, other members -- a
 * LogisticRegression init_, Voting members -- by the core) and run on the
 * inputs scikit-learn saw: labels identical, probabilities / values within
 * 1e-9 relative, tree leaves (apply) exact; the same rows repeated over 4
 * threads give the single-threaded bits.
 * Then the tree files of ../shared/realworld: those with expected outputs
 * compared the same way; those Python could not load (newer layouts) built
 * and checked for internal consistency.
 * Last, hostile node arrays against the tree engine directly
 * (runtime/ensemble_internal.h): refused at load.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "util_model.h"
#include "util_test.h"
#include "../runtime/ensemble_internal.h"

#define REL 1e-9
#define ABS 1e-12

/* Rows of numbers (null = NaN) -> malloc'd row-major doubles. */
static double *json_matrix(const cJSON *rows, int64_t *n, int64_t *nf)
{
    *n = cJSON_GetArraySize(rows);
    *nf = *n ? cJSON_GetArraySize(cJSON_GetArrayItem(rows, 0)) : 0;
    double *X = malloc((size_t)(*n * *nf + 1) * sizeof *X);
    int64_t r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        int64_t c = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, row)
        {
            if (c < *nf)
                X[r * *nf + c] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            c++;
        }
        r++;
    }
    return X;
}

/* Numbers of a (nested) JSON array in order (null = NaN); count, or -1. */
static int64_t json_flatten(const cJSON *e, double *out, int64_t cap)
{
    const cJSON *stack[8];
    const cJSON *cur[8];
    int sp = 0;
    int64_t n = 0;
    if (!cJSON_IsArray(e)) {
        if (cap < 1)
            return -1;
        out[0] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        return 1;
    }
    stack[0] = e;
    cur[0] = e->child;
    sp = 1;
    while (sp > 0) {
        const cJSON *c = cur[sp - 1];
        if (!c) {
            sp--;
            continue;
        }
        cur[sp - 1] = c->next;
        if (cJSON_IsArray(c)) {
            if (sp == 8)
                return -1;
            stack[sp] = c;
            cur[sp] = c->child;
            sp++;
        } else {
            if (n >= cap)
                return -1;
            out[n++] = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        }
    }
    (void)stack;
    return n;
}

/* Methods a fixture's JSON lists, in the public API's terms. */
static const char *const method_names[] = {"predict", "predict_proba", "decision_function",
                                           "score_samples", "apply"};

/* Output of `meth` on (X, n, nf) as doubles (labels/ints converted); NULL on
   failure (reported). */
static double *run_as_f64(const ckpt_model *m, ckpt_method meth, const double *X, int64_t n,
                          int64_t nf, const char *what)
{
    int64_t cols = ckpt_model_out_cols(m, meth);
    ckpt_out_kind kind = ckpt_model_out_kind(m, meth);
    size_t cells = (size_t)(n * (cols > 0 ? cols : 1));
    double *out = calloc(cells + 1, sizeof *out);
    int64_t *iv = NULL;
    ckpt_output o;
    memset(&o, 0, sizeof o);
    if (kind == CKPT_OUT_LABEL || kind == CKPT_OUT_INT) {
        iv = calloc(cells + 1, sizeof *iv);
        o.labels = iv;
    } else {
        o.values = out;
    }
    ckpt_input in;
    memset(&in, 0, sizeof in);
    in.kind = CKPT_IN_DENSE;
    in.n_rows = n;
    in.n_cols = nf;
    in.dense = X;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_model_run(m, meth, &in, &o, &err);
    CHECKF(st == CKPT_OK, "%s: %s on %lld rows -> %s (%s)", what, ckpt_method_name(meth),
           (long long)n, ckpt_status_str(st), err.message);
    if (st == CKPT_OK && iv)
        for (size_t k = 0; k < cells; k++)
            out[k] = (double)iv[k];
    free(iv);
    if (st != CKPT_OK) {
        free(out);
        return NULL;
    }
    return out;
}

/* apply: leaf indices identical (the 1e-9 comparison of tum_check_model is
   exact for leaf numbers, this says so explicitly). */
static void check_apply_exact(const ckpt_model *m, const cJSON *doc, const char *what)
{
    const cJSON *exp = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "outputs"), "apply");
    if (!exp)
        return;
    CHECKF(ckpt_model_out_kind(m, CKPT_METHOD_APPLY) == CKPT_OUT_INT, "%s: apply gives ints",
           what);
    int64_t n, nf;
    double *X = json_matrix(cJSON_GetObjectItem(doc, "inputs"), &n, &nf);
    int64_t cols = ckpt_model_out_cols(m, CKPT_METHOD_APPLY);
    double *got = run_as_f64(m, CKPT_METHOD_APPLY, X, n, nf, what);
    double *want = malloc((size_t)(n * cols + 1) * sizeof *want);
    int bad = !got;
    for (int64_t r = 0; r < n && !bad; r++) {
        int64_t ec = json_flatten(cJSON_GetArrayItem(exp, (int)r), want + r * cols, cols);
        if (ec != cols) {
            CHECKF(0, "%s: apply row %lld has %lld leaves, expected %lld", what, (long long)r,
                   (long long)cols, (long long)ec);
            bad = 1;
        }
        for (int64_t c = 0; c < cols && !bad; c++)
            if (got[r * cols + c] != want[r * cols + c]) {
                CHECKF(0, "%s: apply [%lld,%lld] leaf %.17g, sklearn %.17g", what, (long long)r,
                       (long long)c, got[r * cols + c], want[r * cols + c]);
                bad = 1;
            }
    }
    CHECKF(!bad, "%s: apply leaves exact (%lld rows)", what, (long long)n);
    free(X);
    free(got);
    free(want);
}

/* The fixture's rows repeated to PAR_ROWS rows, run by a model built with 4
   threads: every method gives the single-threaded answers (the parallel row
   split of large batches, in the core and in the forests). */
#define PAR_ROWS 9000 /* > 2 x 4096: the core splits too (tree engine: >= 65536 rows x trees) */
static void check_parallel(ckpt_file *f, const ckpt_model *m1, const cJSON *doc, const char *what)
{
    ckpt_model_opts o = ckpt_model_opts_default();
    o.n_threads = 4;
    ckpt_model *m4 = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_model_build(f, NULL, &o, &m4, &err);
    CHECKF(st == CKPT_OK, "%s: build with 4 threads: %s", what, err.message);
    if (st != CKPT_OK)
        return;
    int64_t n, nf;
    double *X = json_matrix(cJSON_GetObjectItem(doc, "inputs"), &n, &nf);
    double *big = malloc((size_t)(PAR_ROWS * nf + 1) * sizeof *big);
    for (int64_t r = 0; r < PAR_ROWS; r++)
        memcpy(big + r * nf, X + (r % n) * nf, (size_t)nf * sizeof *big);
    const cJSON *outs = cJSON_GetObjectItem(doc, "outputs");
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++) {
        ckpt_method meth;
        if (!cJSON_GetObjectItem(outs, method_names[i]) ||
            ckpt_method_parse(method_names[i], &meth) != CKPT_OK)
            continue;
        int64_t cols = ckpt_model_out_cols(m1, meth);
        double *one = run_as_f64(m1, meth, X, n, nf, what);
        double *par = run_as_f64(m4, meth, big, PAR_ROWS, nf, what);
        /* labels and leaves bit-exact; values within 1e-12 (members run by BLAS --
           LogisticRegression, LinearRegression -- round by the batch's blocking) */
        ckpt_out_kind kind = ckpt_model_out_kind(m1, meth);
        int bad = !one || !par || cols <= 0, exact = kind != CKPT_OUT_F64;
        for (int64_t r = 0; r < PAR_ROWS && !bad; r++)
            for (int64_t c = 0; c < cols && !bad; c++) {
                double a = par[r * cols + c], b = one[(r % n) * cols + c];
                if (exact ? memcmp(&a, &b, sizeof a) != 0 : !tu_close(a, b, 1e-12, 1e-12)) {
                    CHECKF(0, "%s: %s [%lld,%lld] %.17g with 4 threads, %.17g with 1", what,
                           method_names[i], (long long)r, (long long)c, a, b);
                    bad = 1;
                }
            }
        CHECKF(!bad, "%s: %s on %d rows over 4 threads = single-threaded", what,
               method_names[i], PAR_ROWS);
        free(one);
        free(par);
    }
    free(big);
    free(X);
    ckpt_model_free(m4);
}

/* The same rows in batches of 1 and of 5 (the tiny-block path: trees walked in
   lockstep for each row) give the whole batch's answers, within abs_tol (0 but
   for a float32 linear init_, whose float32 products round differently for one
   row (sgemv) and a batch (sgemm), in scikit-learn as in ckpt). */
static void check_small_batches(const ckpt_model *m, const cJSON *doc, const char *what,
                                double abs_tol)
{
    int64_t n, nf;
    double *X = json_matrix(cJSON_GetObjectItem(doc, "inputs"), &n, &nf);
    const cJSON *outs = cJSON_GetObjectItem(doc, "outputs");
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++) {
        ckpt_method meth;
        if (!cJSON_GetObjectItem(outs, method_names[i]) ||
            ckpt_method_parse(method_names[i], &meth) != CKPT_OK)
            continue;
        int64_t cols = ckpt_model_out_cols(m, meth);
        int exact = ckpt_model_out_kind(m, meth) != CKPT_OUT_F64;
        double *all = run_as_f64(m, meth, X, n, nf, what);
        int bad = !all || cols <= 0;
        static const int64_t sizes[] = {1, 5};
        for (size_t z = 0; z < 2 && !bad; z++)
            for (int64_t r0 = 0; r0 < n && !bad; r0 += sizes[z]) {
                int64_t nb = n - r0 < sizes[z] ? n - r0 : sizes[z];
                double *part = run_as_f64(m, meth, X + r0 * nf, nb, nf, what);
                for (int64_t c = 0; part && c < nb * cols && !bad; c++) {
                    double a = part[c], b = all[r0 * cols + c];
                    if (exact ? memcmp(&a, &b, sizeof a) != 0
                              : !tu_close(a, b, 1e-12, abs_tol > 1e-12 ? abs_tol : 1e-12)) {
                        CHECKF(0, "%s: %s row %lld in batches of %lld: %.17g, whole batch %.17g",
                               what, method_names[i], (long long)(r0 + c / cols),
                               (long long)sizes[z], a, b);
                        bad = 1;
                    }
                }
                bad |= !part;
                free(part);
            }
        CHECKF(!bad, "%s: %s in batches of 1 and 5 = whole batch", what, method_names[i]);
        free(all);
    }
    free(X);
}

/* 1 if the model's init_ is a linear model whose coef_ is float32: fitted on
   the float32 X GradientBoosting hands it, it predicts in float32 in
   scikit-learn (X32 @ coef32 by BLAS sgemv/sgemm, whose rounding depends on
   the batch: for gb_reg_linear_init NumPy's row-by-row np.dot differs from
   its whole-batch matmul in 22 of 34 rows).  ckpt hands the init_ the same
   float32 rows and makes the same BLAS call for the whole batch, so the
   fixture's whole batch is compared at the usual 1e-9; only smaller batches
   of the same rows may differ, by float32 rounding of the init (4 float32
   ulps of its largest value). */
static int init_is_f32_linear(ckpt_file *f)
{
    const ckpt_value *init = ckpt_value_attr(ckpt_file_root(f), "init_");
    size_t idx;
    const ckpt_value *coef = init ? ckpt_value_attr(init, "coef_") : NULL;
    return coef && ckpt_file_array_of(f, coef, &idx) == CKPT_OK &&
           ckpt_file_array(f, idx)->dtype->type == CKPT_DT_FLOAT32;
}

/* Build through the public model API (the runtime core's registry: tree
   members by the tree engine, other members -- a LogisticRegression init_,
   GaussianNB / LinearRegression Voting members -- by the core) and compare
   every method sklearn computed. */
static void run_fixture(const char *path, const cJSON *doc, const char *what, int parallel)
{
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(path, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open -> %s (%s)", what, ckpt_status_str(st), err.message);
    if (st != CKPT_OK)
        return;
    ckpt_model_opts o = ckpt_model_opts_default();
    o.n_threads = 1;
    ckpt_model *m = NULL;
    st = ckpt_model_build(f, NULL, &o, &m, &err);
    CHECKF(st == CKPT_OK, "%s: build -> %s (%s)", what, ckpt_status_str(st), err.message);
    if (st == CKPT_OK) {
        /* apply (n x n_estimators [x K] leaves, 3-D for gradient boosting) is
           compared here, exactly; every other method by tum_check_model */
        cJSON *rest = cJSON_Duplicate(doc, 1);
        cJSON *outs = cJSON_GetObjectItem(rest, "outputs");
        int has_apply = cJSON_GetObjectItem(outs, "apply") != NULL;
        cJSON_DeleteItemFromObject(outs, "apply");
        double batch_tol = 0;
        if (init_is_f32_linear(f)) {
            /* 4 float32 ulps of the largest init value on these rows */
            ckpt_model *im = NULL;
            CHECKF(ckpt_model_build(f, "init_", &o, &im, &err) == CKPT_OK, "%s: init_: %s",
                   what, err.message);
            int64_t n, nf;
            double *X = json_matrix(cJSON_GetObjectItem(doc, "inputs"), &n, &nf);
            double *iv = im ? run_as_f64(im, CKPT_METHOD_PREDICT, X, n, nf, what) : NULL;
            double mx = 0;
            for (int64_t r = 0; iv && r < n; r++)
                mx = fabs(iv[r]) > mx ? fabs(iv[r]) : mx;
            batch_tol = 4.0 * mx / (1 << 23);
            printf("%s: note: init_ has float32 coef_ (sklearn predicts it in float32): "
                   "batches of 1 and 5 within %.3g (4 float32 ulps of max |init| %.6g)\n",
                   what, batch_tol, mx);
            free(iv);
            free(X);
            ckpt_model_free(im);
        }
        int k = tum_check_model(m, rest, what, REL, ABS);
        CHECKF(k == cJSON_GetArraySize(outs), "%s: %d of %d methods compared", what, k,
               cJSON_GetArraySize(outs));
        cJSON_Delete(rest);
        if (has_apply)
            check_apply_exact(m, doc, what);
        if (parallel) {
            check_parallel(f, m, doc, what);
            check_small_batches(m, doc, what, batch_tol);
        }
    }
    ckpt_model_free(m);
    ckpt_close(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fixtures(void)
{
    const char *dir = tu_model_path("trees");
    char dirbuf[1024];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    CHECKF(d != NULL, "models/trees exists");
    if (!d)
        return;
    char *names[512];
    int nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 512) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    CHECKF(nn >= 40, "at least 40 tree fixtures (%d)", nn);
    for (int i = 0; i < nn; i++) {
        char p[1400], base[256];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        snprintf(p, sizeof p, "%s/%s", dirbuf, names[i]);
        cJSON *doc = tu_load_json(p);
        if (doc) {
            const char *ext[] = {".pkl", ".joblib"};
            for (int k = 0; k < 2; k++) {
                char mp[1800], what[300];
                snprintf(mp, sizeof mp, "%s/%s%s", dirbuf, base, ext[k]);
                snprintf(what, sizeof what, "%s%s", base, ext[k]);
                run_fixture(mp, doc, what, k == 0);
            }
            cJSON_Delete(doc);
        }
        free(names[i]);
    }
}

/* 1 if the manifest entry is a tree / ensemble model (its classes name
   sklearn.tree or sklearn.ensemble). */
static int is_tree_entry(const cJSON *entry)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(entry, "globals"))
    {
        if (cJSON_IsString(g) && (strncmp(g->valuestring, "sklearn.tree.", 13) == 0 ||
                                  strncmp(g->valuestring, "sklearn.ensemble.", 17) == 0))
            return 1;
    }
    return 0;
}

/* A real-world tree model Python could not load (pickled by a newer
   scikit-learn, so there are no expected outputs): it must build, and its
   methods must agree with each other on deterministic rows: probabilities are
   a distribution, predict is their first argmax, apply gives one leaf per
   tree. */
static void self_consistent(const char *path, const char *what)
{
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(path, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open -> %s (%s)", what, ckpt_status_str(st), err.message);
    if (st != CKPT_OK)
        return;
    /* a Pipeline: its final (tree) step; the steps before it are the core's */
    char at[64] = "";
    const ckpt_value *root = ckpt_file_root(f);
    const char *cls = ckpt_value_class(root);
    size_t cl = cls ? strlen(cls) : 0;
    if (cl > 9 && strcmp(cls + cl - 9, ".Pipeline") == 0) {
        size_t ns = ckpt_value_len(ckpt_value_attr(root, "steps"));
        CHECKF(ns > 0, "%s: pipeline steps", what);
        snprintf(at, sizeof at, "steps.%zu.1", ns ? ns - 1 : 0);
        printf("%s: the pipeline's final step %s checked\n", what, at);
    }
    ckpt_model *m = NULL;
    st = ckpt_model_build(f, at, NULL, &m, &err);
    ckpt_close(f);
    CHECKF(st == CKPT_OK, "%s: build -> %s (%s)", what, ckpt_status_str(st), err.message);
    if (st != CKPT_OK)
        return;
    int64_t nf = ckpt_model_n_features(m), n = 200;
    CHECKF(nf > 0, "%s: %lld features", what, (long long)nf);
    double *X = malloc((size_t)(n * (nf > 0 ? nf : 1)) * sizeof *X);
    uint64_t s = 88172645463325252ULL;
    for (int64_t i = 0; i < n * nf; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        X[i] = (double)(s % 7); /* small integers: the file's features are codes 0/1/... */
        if (i % 3 == 0)
            X[i] = (double)(s % 1000) / 10.0 - 20.0;
    }
    if (ckpt_model_is_classifier(m) && nf > 0) {
        int64_t k = ckpt_model_n_classes(m);
        double *pr = run_as_f64(m, CKPT_METHOD_PREDICT_PROBA, X, n, nf, what);
        double *lb = run_as_f64(m, CKPT_METHOD_PREDICT, X, n, nf, what);
        int bad = !pr || !lb || k < 2, varied = 0;
        for (int64_t r = 0; r < n && !bad; r++) {
            double sum = 0;
            int64_t am = 0;
            for (int64_t c = 0; c < k; c++) {
                sum += pr[r * k + c];
                bad |= !(pr[r * k + c] >= 0 && pr[r * k + c] <= 1);
                if (pr[r * k + c] > pr[r * k + am])
                    am = c;
            }
            bad |= !tu_close(sum, 1.0, 1e-12, 1e-12) || lb[r] != (double)am;
            varied |= lb[r] != lb[0];
            if (bad)
                CHECKF(0, "%s: row %lld: proba sum %.17g, predict %g, argmax %lld", what,
                       (long long)r, sum, lb[r], (long long)am);
        }
        CHECKF(!bad, "%s: %lld rows: probabilities sum to 1, predict = argmax", what,
               (long long)n);
        CHECKF(varied, "%s: more than one class predicted over %lld rows", what, (long long)n);
        free(pr);
        free(lb);
    }
    if (ckpt_model_out_kind(m, CKPT_METHOD_APPLY) == CKPT_OUT_INT && nf > 0) {
        double *lv = run_as_f64(m, CKPT_METHOD_APPLY, X, n, nf, what);
        int64_t cols = ckpt_model_out_cols(m, CKPT_METHOD_APPLY);
        int bad = !lv || cols < 1;
        for (int64_t i = 0; i < n * cols && !bad; i++)
            bad = !(lv[i] >= 1); /* node 0 is the root, never a leaf of a fitted split tree */
        CHECKF(!bad, "%s: apply gives %lld leaves per row, none the root", what,
               (long long)cols);
        free(lv);
    }
    free(X);
    ckpt_model_free(m);
}

/* Tree / ensemble files of ../shared/realworld (test_runtime_realworld also
   compares the ones with expected outputs; here they additionally go through
   the 4-thread check). */
static void realworld(void)
{
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real-world tree files not checked");
        return;
    }
    cJSON *man = tu_load_json(tu_path(tu_realworld_dir, "manifest.json"));
    CHECK(man != NULL);
    if (!man)
        return;
    int seen = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(man, "files"))
    {
        const cJSON *jn = cJSON_GetObjectItem(entry, "name");
        const cJSON *safety = cJSON_GetObjectItem(entry, "safety");
        if (!cJSON_IsString(jn) || !is_tree_entry(entry) || !cJSON_IsString(safety) ||
            strcmp(safety->valuestring, "safe") != 0)
            continue;
        const char *name = jn->valuestring;
        char fp[1200], jp[1200];
        snprintf(fp, sizeof fp, "%s/files/%s", tu_realworld_dir, name);
        snprintf(jp, sizeof jp, "%s/expected/%s.json", tu_realworld_dir, name);
        FILE *probe = fopen(jp, "rb");
        seen++;
        if (probe) {
            fclose(probe);
            cJSON *doc = tu_load_json(jp);
            if (doc)
                run_fixture(fp, doc, name, 1);
            cJSON_Delete(doc);
        } else {
            self_consistent(fp, name);
        }
    }
    CHECKF(seen >= 3, "%d real-world tree files", seen);
    cJSON_Delete(man);
}

/* Load dt_reg.pkl from memory with one int64 field of node `node` replaced:
   the nodes' bytes are found in the pickle by content (node 0's record). */
static ckpt_status load_patched(char *buf, size_t len, const char *field, int64_t node,
                                int64_t value, int *patched)
{
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    *patched = 0;
    ckpt_status st = ckpt_open_memory(buf, len, NULL, &f, &err);
    if (st != CKPT_OK)
        return st;
    size_t idx;
    const ckpt_value *tree = ckpt_value_attr(ckpt_file_root(f), "tree_");
    const void *data = NULL;
    const ckpt_array_info *a = NULL;
    if (ckpt_file_array_of(f, ckpt_dict_get(ckpt_value_state(tree), "nodes"), &idx) == CKPT_OK &&
        ckpt_array_data(f, idx, &data, &err) == CKPT_OK)
        a = ckpt_file_array(f, idx);
    const ckpt_field_info *fi = a ? ckpt_dtype_field(a->dtype, field) : NULL;
    if (fi) {
        size_t rec = (size_t)a->dtype->itemsize;
        const char *hit = memmem(buf, len, data, rec * 2);
        if (hit) {
            size_t off = (size_t)(hit - buf) + (size_t)node * rec + fi->offset;
            ckpt_close(f);
            f = NULL;
            memcpy(buf + off, &value, 8);
            *patched = 1;
            st = ckpt_open_memory(buf, len, NULL, &f, &err);
            if (st != CKPT_OK)
                return st;
        }
    }
    ckpt_tm_ctx ctx = {f, NULL, NULL, 0};
    ckpt_tm *m = NULL;
    st = ckpt_tm_load(&ctx, ckpt_file_root(f), &m, &err);
    ckpt_tm_free(m);
    ckpt_close(f);
    return st;
}

/* Hostile trees: a child pointing back (a loop), a child past the end, a
   feature out of range -- all refused at load with CKPT_E_MODEL. */
static void hostile(void)
{
    static const struct {
        const char *field;
        int64_t node, value;
    } cases[] = {{"left_child", 1, 0},  {"right_child", 0, 0},
                 {"left_child", 0, 1000000}, {"feature", 0, 6}, {"feature", 0, -5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *buf = tu_read_file(tu_model_path("trees/dt_reg.pkl"), &len);
        CHECK(buf != NULL);
        if (!buf)
            return;
        int patched;
        ckpt_status st = load_patched(buf, len, cases[i].field, cases[i].node, cases[i].value,
                                      &patched);
        CHECKF(patched, "hostile %s: node records found in the pickle", cases[i].field);
        if (patched)
            CHECKF(st == CKPT_E_MODEL, "hostile %s[%lld]=%lld -> %s", cases[i].field,
                   (long long)cases[i].node, (long long)cases[i].value, ckpt_status_str(st));
        free(buf);
    }
}

/* Rows of nf features around every split of t: the split feature at the
   threshold (as float32 for CART: the float below, at and above it; as is
   for HGB: the double below, at, above), NaN when the tree routes missing
   values, other features pseudo-random.  *n rows into a malloc'd array. */
static double *split_rows(const ckpt_tree *t, int64_t nf, int64_t *n)
{
    int64_t cap = t->n_nodes * 4 + 1, k = 0;
    double *X = malloc((size_t)(cap * nf) * sizeof *X);
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int64_t i = 0; i < t->n_nodes; i++) {
        const ckpt_tree_node *nd = &t->nodes[i];
        if (nd->left < 0)
            continue;
        double at[4];
        int na = 3;
        if (t->hfast || (!t->fast && t->n_bitsets)) {
            at[0] = nextafter(nd->thr, -INFINITY);
            at[1] = nd->thr;
            at[2] = nextafter(nd->thr, INFINITY);
        } else {
            float f = (float)nd->thr;
            at[0] = nextafterf(f, -INFINITY);
            at[1] = f;
            at[2] = nextafterf(f, INFINITY);
        }
        if (t->has_missing)
            at[na++] = NAN;
        for (int a = 0; a < na; a++, k++)
            for (int64_t c = 0; c < nf; c++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                X[k * nf + c] = c == nd->feature ? at[a] : (double)(int64_t)(s % 2001) / 100.0 - 10.0;
            }
    }
    *n = k;
    return X;
}

/* The batch kernels (compact nodes, rows in lockstep) reach the same leaf as
   the per-node reference walk on rows sitting exactly on every threshold. */
static void kernels(void)
{
    static const char *const cart[] = {"trees/dt_reg.pkl", "trees/dt_clf_multi_str.pkl",
                                       "trees/rf_clf_binary.pkl"};
    static const char *const hgb[] = {"trees/hgb_clf_binary_nan.pkl", "trees/hgb_reg_cat.pkl"};
    for (size_t fi = 0; fi < 5; fi++) {
        int is_hgb = fi >= 3;
        const char *rel = is_hgb ? hgb[fi - 3] : cart[fi];
        ckpt_file *f = NULL;
        ckpt_error err;
        ckpt_error_clear(&err);
        CHECKF(ckpt_open(tu_model_path(rel), NULL, &f, &err) == CKPT_OK, "%s: %s", rel,
               err.message);
        if (!f)
            continue;
        const ckpt_value *root = ckpt_file_root(f);
        const ckpt_value *node;
        if (is_hgb) {
            const ckpt_value *preds = ckpt_value_attr(root, "_predictors");
            node = ckpt_value_item(ckpt_value_item(preds, 0), 0);
        } else if (ckpt_value_attr(root, "tree_")) {
            node = ckpt_value_attr(root, "tree_");
        } else {
            node = ckpt_value_attr(ckpt_value_item(ckpt_value_attr(root, "estimators_"), 0),
                                   "tree_");
        }
        int64_t nf = 0;
        ckpt_tree_num_i64(ckpt_value_attr(root, "n_features_in_"), &nf);
        ckpt_tree t;
        ckpt_status st = is_hgb ? ckpt_tree_load_hgb(f, node, nf, &t, &err)
                                : ckpt_tree_load(f, node, &t, &err);
        CHECKF(st == CKPT_OK, "%s: tree load: %s", rel, err.message);
        if (st == CKPT_OK) {
            if (!is_hgb)
                nf = t.n_features;
            int64_t n;
            double *X = split_rows(&t, nf, &n);
            float *x32 = malloc((size_t)(n * nf + 1) * sizeof *x32);
            for (int64_t i = 0; i < n * nf; i++)
                x32[i] = (float)X[i];
            int32_t *got = malloc((size_t)(n + 1) * sizeof *got);
            if (is_hgb)
                ckpt_tree_leaves_hgb(&t, X, nf, n, NULL, NULL, 1, got);
            else
                ckpt_tree_leaves32(&t, x32, nf, n, 1, got);
            int bad = 0;
            for (int64_t r = 0; r < n && !bad; r++) {
                int64_t want = is_hgb ? ckpt_tree_leaf_hgb(&t, X + r * nf, NULL, NULL)
                                      : ckpt_tree_leaf32(&t, x32 + r * nf);
                if (got[r] != want) {
                    CHECKF(0, "%s: row %lld at a threshold: batch leaf %d, reference %lld", rel,
                           (long long)r, got[r], (long long)want);
                    bad = 1;
                }
            }
            CHECKF(!bad && n >= 3, "%s: %lld rows on the thresholds: batch kernel = reference%s",
                   rel, (long long)n, t.fast || t.hfast ? "" : " (categorical: per-node walk)");
            free(X);
            free(x32);
            free(got);
            ckpt_tree_free(&t);
        }
        ckpt_close(f);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    fixtures();
    realworld();
    kernels();
    hostile();
    return tu_finish();
}
