/*
 * test_runtime_layers.c - torch layer stacks (ckpt_model_build_layers) on the
 * fixtures of models/layers (made by models/make_layers.py with torch 1.13):
 * the state_dict as torch.save zip (.pt) and as pickled NumPy arrays (.pkl),
 * outputs against PyTorch's forward pass: float64 stacks within 1e-9 relative,
 * float32 / float16 / bfloat16 ones (computed in float32) within 1e-5.
 * Bad specs fail with the right status.
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "util_model.h"
#include "util_test.h"

static void one(const char *name, const char *ext, const cJSON *doc)
{
    char rel[256], what[300];
    snprintf(rel, sizeof rel, "layers/%s%s", name, ext);
    snprintf(what, sizeof what, "%s%s", name, ext);
    FILE *probe = fopen(tu_model_path(rel), "rb");
    if (!probe)
        return; /* bf16 fixtures have no .pkl */
    fclose(probe);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(tu_model_path(rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s", what, err.message);
    if (st != CKPT_OK)
        return;
    const char *spec = cJSON_GetObjectItem(doc, "spec")->valuestring;
    ckpt_model *m = NULL;
    st = ckpt_model_build_layers(f, spec, NULL, &m, &err);
    CHECKF(st == CKPT_OK, "%s: build '%s': %s", what, spec, err.message);
    ckpt_close(f);
    if (st == CKPT_OK) {
        CHECK(strcmp(ckpt_model_class(m), "torch.layers") == 0);
        /* PyTorch computed float64 weights in float64, the others in float32 */
        const cJSON *dt = cJSON_GetObjectItem(doc, "dtype");
        int f64 = cJSON_IsString(dt) && strcmp(dt->valuestring, "float64") == 0;
        tum_check_model(m, doc, what, f64 ? 1e-9 : 1e-5, f64 ? 1e-10 : 1e-6);
    }
    ckpt_model_free(m);
}

static void errors(void)
{
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_model *m = NULL;
    CHECK_STATUS(ckpt_open(tu_model_path("layers/mlp_relu_tanh_f32.pkl"), NULL, &f, &err),
                 CKPT_OK);
    CHECK_STATUS(ckpt_model_build_layers(f, "net.0:swish", NULL, &m, &err), CKPT_E_ARG);
    CHECK_STATUS(ckpt_model_build_layers(f, "net.1", NULL, &m, &err), CKPT_E_MODEL);
    CHECKF(strstr(err.message, "net.1.weight") != NULL, "names the tensor: %s", err.message);
    CHECK_STATUS(ckpt_model_build_layers(f, "net.0,net.4", NULL, &m, &err), CKPT_E_MODEL);
    CHECK_STATUS(ckpt_model_build_layers(f, "", NULL, &m, &err), CKPT_E_ARG);
    CHECK(m == NULL);
    /* a single layer works and gives its own width */
    CHECK_STATUS(ckpt_model_build_layers(f, "net.0:relu", NULL, &m, &err), CKPT_OK);
    CHECK_EQ_INT(ckpt_model_n_features(m), 6);
    CHECK_EQ_INT(ckpt_model_out_cols(m, CKPT_METHOD_PREDICT), 16);
    ckpt_model_free(m);
    ckpt_close(f);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    size_t len = 0;
    char *index = tu_read_file(tu_model_path("layers/INDEX"), &len);
    CHECK(index != NULL);
    for (char *line = index ? strtok(index, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char rel[256];
        snprintf(rel, sizeof rel, "layers/%s.json", line);
        cJSON *doc = tu_load_json(tu_model_path(rel));
        if (!doc)
            continue;
        one(line, ".pkl", doc);
        one(line, ".pt", doc);
        cJSON_Delete(doc);
    }
    free(index);
    errors();
    return tu_finish();
}
