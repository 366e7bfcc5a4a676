/*
 * test_runtime_realworld.c - the third-party scikit-learn files of
 * ../shared/realworld (pickled by scikit-learn 0.18 .. 1.8; skipped, visibly,
 * when the folder is absent).  Every file whose expected/NAME.json has
 * outputs (computed by scikit-learn 1.2.1) is built into a model and every
 * method listed there is run on the same inputs (dense rows, sparse_coo rows
 * for very wide models, text for vectorizers) and compared: labels identical,
 * numbers within 1e-9 relative (absolute floor 1e-10 for values near 0).
 * Files the expected JSON marks as skipped (an unfitted estimator) must fail
 * to build with CKPT_E_MODEL naming the class: never a model that
 * mis-predicts.  Pre-0.10 joblib files are opened from NAME.sidecars/.
 * Nothing here is ever loaded with Python.
 *
 * One documented deviation: a binary LogisticRegression pickled by
 * scikit-learn >= 1.5 stores multi_class='deprecated', which 1.5+ reads as
 * one-vs-rest (predict_proba = sigmoid(d)); the reference scikit-learn 1.2.1
 * predates that value and reads it as multinomial (softmax([-d, d]) =
 * sigmoid(2d)).  ckpt follows the version that saved the file, so for such a
 * file predict_proba is checked against sigmoid(d) of Python's
 * decision_function, and the reference's own probabilities are checked to be
 * sigmoid(2d) (the explanation must hold, or this fails).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "util_model.h"
#include "util_test.h"

static const char *last_dot(const char *s)
{
    const char *d = strrchr(s, '.');
    return d ? d + 1 : s;
}

static double sigm(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* The multi_class='deprecated' case above: take predict_proba out of doc's
   outputs (caller compares the rest) and check it here. */
static void check_deprecated_ovr(const ckpt_model *m, cJSON *doc, const char *name)
{
    cJSON *outs = cJSON_GetObjectItem(doc, "outputs");
    cJSON *proba = cJSON_DetachItemFromObject(outs, "predict_proba");
    const cJSON *dec = cJSON_GetObjectItem(outs, "decision_function");
    if (!proba)
        return;
    CHECKF(cJSON_IsArray(dec) && ckpt_model_n_classes(m) == 2,
           "%s: binary decision_function expected", name);
    int64_t n = 0, d = 0;
    double *X = tum_dense_inputs(doc, &n, &d);
    int nd = cJSON_GetArraySize(dec);
    double *pr = calloc((size_t)n * 2 + 1, sizeof *pr);
    CHECKF(X && pr && nd == n && cJSON_GetArraySize(proba) == n, "%s: inputs / outputs", name);
    if (X && pr && nd == n && cJSON_GetArraySize(proba) == n) {
        ckpt_error err;
        ckpt_error_clear(&err);
        ckpt_status st = ckpt_model_predict(m, CKPT_METHOD_PREDICT_PROBA, X, n, d, pr, &err);
        CHECKF(st == CKPT_OK, "%s: predict_proba: %s", name, err.message);
        int bad_ours = 0, bad_ref = 0;
        for (int64_t i = 0; i < n && st == CKPT_OK; i++) {
            double z = cJSON_GetArrayItem(dec, (int)i)->valuedouble;
            const cJSON *row = cJSON_GetArrayItem(proba, (int)i);
            double ref1 = cJSON_GetArrayItem(row, 1)->valuedouble;
            if (!tu_close(pr[2 * i + 1], sigm(z), 1e-9, 1e-12) ||
                !tu_close(pr[2 * i], 1.0 - sigm(z), 1e-9, 1e-12))
                bad_ours++;
            if (!tu_close(ref1, sigm(2 * z), 1e-9, 1e-12))
                bad_ref++;
        }
        CHECKF(!bad_ours, "%s: predict_proba is not sigmoid(decision) in %d rows", name, bad_ours);
        CHECKF(!bad_ref, "%s: the 1.2.1 reference is not sigmoid(2 decision) in %d rows", name,
               bad_ref);
        printf("%-62s note: multi_class='deprecated' read as ovr (the saving version's rule); "
               "1.2.1 reference read it as multinomial\n",
               name);
    }
    free(X);
    free(pr);
    cJSON_Delete(proba);
}

static void check_one(const cJSON *entry)
{
    const cJSON *jn = cJSON_GetObjectItem(entry, "name");
    if (!cJSON_IsString(jn))
        return;
    const char *name = jn->valuestring;
    char rel[1024];
    snprintf(rel, sizeof rel, "expected/%s.json", name);
    FILE *probe = fopen(tu_path(tu_realworld_dir, rel), "rb");
    if (!probe)
        return; /* no expected outputs: did not load in Python, or not a model */
    fclose(probe);
    cJSON *doc = tu_load_json(tu_path(tu_realworld_dir, rel));
    if (!doc)
        return;
    const cJSON *kind = cJSON_GetObjectItem(doc, "kind");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "sklearn") != 0) {
        cJSON_Delete(doc); /* torch tensors: the torch tests */
        return;
    }
    const cJSON *outputs = cJSON_GetObjectItem(doc, "outputs");
    const cJSON *cls = cJSON_GetObjectItem(doc, "class");
    const cJSON *sidecars = cJSON_GetObjectItem(entry, "sidecars");
    if (cJSON_GetArraySize(sidecars) > 0)
        snprintf(rel, sizeof rel, "files/%s.sidecars/%s", name,
                 cJSON_GetObjectItem(entry, "path")->valuestring);
    else
        snprintf(rel, sizeof rel, "files/%s", name);
    const cJSON *vers = cJSON_GetObjectItem(entry, "sklearn_versions");
    const char *ver = cJSON_IsString(cJSON_GetArrayItem(vers, 0))
                          ? cJSON_GetArrayItem(vers, 0)->valuestring
                          : "?";

    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(tu_path(tu_realworld_dir, rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s", name, err.message);
    if (st != CKPT_OK) {
        cJSON_Delete(doc);
        return;
    }
    ckpt_model *m = NULL;
    st = ckpt_model_build(f, NULL, NULL, &m, &err);
    int deprecated_mc =
        ckpt_value_is_str(ckpt_value_attr(ckpt_file_root(f), "multi_class"), "deprecated");
    ckpt_close(f); /* the model must not need the file */
    if (!cJSON_IsObject(outputs) || cJSON_GetArraySize(outputs) == 0) {
        /* Python computed nothing (e.g. an unfitted estimator): must not build */
        CHECKF(st == CKPT_E_MODEL && cJSON_IsString(cls) &&
                   strstr(err.message, last_dot(cls->valuestring)) != NULL,
               "%s: no expected outputs, so the build must fail naming %s (got status %d: %s)",
               name, cJSON_IsString(cls) ? cls->valuestring : "?", (int)st, err.message);
        printf("%-62s %-8s refused: %s\n", name, ver, err.message);
        ckpt_model_free(m);
        cJSON_Delete(doc);
        return;
    }
    CHECKF(st == CKPT_OK, "%s (sklearn %s): build: %s", name, ver, err.message);
    if (st == CKPT_OK) {
        CHECKF(cJSON_IsString(cls) &&
                   strcmp(last_dot(ckpt_model_class(m)), last_dot(cls->valuestring)) == 0,
               "%s: class %s", name, ckpt_model_class(m));
        const cJSON *nf = cJSON_GetObjectItem(doc, "n_features");
        if (cJSON_IsNumber(nf))
            CHECKF((double)ckpt_model_n_features(m) == nf->valuedouble, "%s: n_features %lld",
                   name, (long long)ckpt_model_n_features(m));
        int before = tu_failed;
        if (deprecated_mc && strcmp(last_dot(ckpt_model_class(m)), "LogisticRegression") == 0 &&
            ckpt_model_n_classes(m) == 2)
            check_deprecated_ovr(m, doc, name);
        int k = tum_check_model(m, doc, name, 1e-9, 1e-10);
        CHECKF(k == cJSON_GetArraySize(outputs), "%s: %d of %d methods compared", name, k,
               cJSON_GetArraySize(outputs));
        k += deprecated_mc; /* predict_proba, checked above */
        printf("%-62s %-8s %-40s %d methods %s\n", name, ver, last_dot(ckpt_model_class(m)), k,
               tu_failed == before ? "match" : "MISMATCH");
    }
    ckpt_model_free(m);
    cJSON_Delete(doc);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real-world scikit-learn files not checked");
        CHECK(1); /* the harness needs one check; nothing else can be tested here */
        return tu_finish();
    }
    cJSON *man = tu_load_json(tu_path(tu_realworld_dir, "manifest.json"));
    CHECK(man != NULL);
    if (!man)
        return tu_finish();
    const cJSON *files = cJSON_GetObjectItem(man, "files");
    for (int i = 0; i < cJSON_GetArraySize(files); i++)
        check_one(cJSON_GetArrayItem(files, i));
    cJSON_Delete(man);
    return tu_finish();
}
