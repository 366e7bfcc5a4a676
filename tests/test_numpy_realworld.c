/*
 * test_numpy_realworld.c - the third-party pickles / joblib files of
 * ../shared/realworld (skipped, visibly, when the folder is absent): every one
 * that is not a PyTorch file opens, lists its arrays, and every array's data
 * resolves (mapped pointers 16-aligned, copies 64-aligned) or its object
 * items are reachable.  Where expected/NAME.json names the estimator class and
 * an array giving n_features (coef_), those agree.  Pre-0.10 joblib files are
 * opened from NAME.sidecars/ where their .npy siblings are.
 */
#include "util_test.h"

#include "ckpt/ckpt_file.h"

#include <stdlib.h>
#include <string.h>

static const char *last_dot(const char *s) {
    const char *d = strrchr(s, '.');
    return d ? d + 1 : s;
}

static void check_one(const cJSON *entry) {
    const char *name = cJSON_GetObjectItem(entry, "name")->valuestring;
    const char *container = cJSON_GetObjectItem(entry, "container")->valuestring;
    if (strstr(container, "torch")) return; /* PyTorch files: the torch tests */
    char rel[1024];
    const cJSON *sidecars = cJSON_GetObjectItem(entry, "sidecars");
    if (sidecars && cJSON_GetArraySize(sidecars) > 0)
        snprintf(rel, sizeof rel, "files/%s.sidecars/%s", name,
                 cJSON_GetObjectItem(entry, "path")->valuestring);
    else
        snprintf(rel, sizeof rel, "files/%s", name);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open(tu_path(tu_realworld_dir, rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s", name, st == CKPT_OK ? "" : err.message);
    if (st != CKPT_OK) return;
    size_t n = ckpt_file_array_count(f), objects = 0, mapped = 0, copied = 0;
    const cJSON *naming = cJSON_GetObjectItem(entry, "numpy_naming");
    int has_numpy = naming && strcmp(naming->valuestring, "none") != 0;
    if (has_numpy) CHECKF(n > 0, "%s: no arrays listed", name);
    for (size_t i = 0; i < n; i++) {
        const ckpt_array_info *ai = ckpt_file_array(f, i);
        if (ai->dtype->type == CKPT_DT_OBJECT) {
            objects++;
            CHECKF(ai->nelems == 0 || ckpt_array_object_item(f, i, 0) != NULL, "%s:%s object item 0", name,
                   ai->path);
            continue;
        }
        const void *d = NULL;
        st = ckpt_array_data(f, i, &d, &err);
        CHECKF(st == CKPT_OK, "%s:%s data: %s", name, ai->path, st == CKPT_OK ? "" : err.message);
        if (st != CKPT_OK) continue;
        ai = ckpt_file_array(f, i);
        if (ai->state == CKPT_DATA_MAPPED) {
            mapped++;
            CHECKF((uintptr_t)d % 16 == 0, "%s:%s mapped %p", name, ai->path, d);
        } else {
            copied++;
            CHECKF(ai->state == CKPT_DATA_COPIED && (uintptr_t)d % 64 == 0, "%s:%s copy %p", name, ai->path, d);
        }
    }
    char exp[1024];
    snprintf(exp, sizeof exp, "expected/%s.json", name);
    FILE *probe = fopen(tu_path(tu_realworld_dir, exp), "rb");
    if (probe) {
        fclose(probe);
        cJSON *doc = tu_load_json(tu_path(tu_realworld_dir, exp));
        const cJSON *cls = doc ? cJSON_GetObjectItem(doc, "class") : NULL;
        if (cls && cJSON_IsString(cls)) {
            /* the file may name an older module (sklearn.linear_model.base): compare class names */
            const char *got = ckpt_value_class(ckpt_file_root(f));
            CHECKF(got && strcmp(last_dot(got), last_dot(cls->valuestring)) == 0, "%s: class %s want %s", name,
                   got ? got : "(none)", cls->valuestring);
        }
        const cJSON *src = doc ? cJSON_GetObjectItem(doc, "n_features_source") : NULL;
        const cJSON *nf = doc ? cJSON_GetObjectItem(doc, "n_features") : NULL;
        size_t k;
        if (src && cJSON_IsString(src) && nf && cJSON_IsNumber(nf) &&
            ckpt_file_find_array(f, src->valuestring, &k) == CKPT_OK) {
            const ckpt_array_info *ai = ckpt_file_array(f, k);
            CHECKF(ai->ndim >= 1 && ai->shape[ai->ndim - 1] == (int64_t)nf->valuedouble,
                   "%s: %s last dim vs n_features %g", name, src->valuestring, nf->valuedouble);
        } else if (src && cJSON_IsString(src) && strcmp(src->valuestring, "coef_") == 0) {
            CHECKF(0, "%s: array coef_ not listed", name);
        }
        cJSON_Delete(doc);
    }
    printf("%-60s %-8s %5zu arrays (%zu mapped, %zu copied, %zu object)\n", name,
           ckpt_format_name(ckpt_file_format(f)), n, mapped, copied, objects);
    ckpt_close(f);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real-world files not checked");
        CHECK(1); /* the harness needs one check; nothing else can be tested here */
        return tu_finish();
    }
    cJSON *man = tu_load_json(tu_path(tu_realworld_dir, "manifest.json"));
    CHECK(man != NULL);
    if (!man) return tu_finish();
    const cJSON *files = cJSON_GetObjectItem(man, "files");
    for (int i = 0; i < cJSON_GetArraySize(files); i++) check_one(cJSON_GetArrayItem(files, i));
    cJSON_Delete(man);
    return tu_finish();
}
