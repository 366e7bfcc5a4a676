/*
 * test_runtime_sklearn.c - every fixture of models/sklearn (made by
 * models/make_sklearn.py with scikit-learn 1.2.1), as pickle and as joblib:
 * build the model, run every method scikit-learn ran, compare.  Labels must
 * be identical; float64 outputs within 1e-9 relative (1e-5 for float32
 * models), with an absolute floor of 1e-10 (1e-6) for values that are ~0.
 * Also: the model outlives its file, and unsupported estimators / paths fail
 * with an error naming them.
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "util_model.h"
#include "util_test.h"

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
    }
    ckpt_model_free(m);
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
    return tu_finish();
}
