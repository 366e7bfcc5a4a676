/*
 * util_model.c - compare ckpt_model outputs with scikit-learn's JSON.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util_model.h"
#include "util_test.h"

static double jnum(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? 1.0 : 0.0;
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "inf") == 0)
            return INFINITY;
        if (strcmp(v->valuestring, "-inf") == 0)
            return -INFINITY;
    }
    return NAN; /* null */
}

/* Dense matrix from rows / flat list / sparse_coo; cols = 1 for a flat list. */
static double *jdense(const cJSON *v, int64_t *n, int64_t *d)
{
    *n = *d = 0;
    if (cJSON_IsObject(v)) {
        const cJSON *shape = cJSON_GetObjectItem(v, "shape");
        const cJSON *row = cJSON_GetObjectItem(v, "row"), *col = cJSON_GetObjectItem(v, "col"),
                    *data = cJSON_GetObjectItem(v, "data");
        if (!shape || cJSON_GetArraySize(shape) != 2 || !row || !col || !data)
            return NULL;
        *n = (int64_t)cJSON_GetArrayItem(shape, 0)->valuedouble;
        *d = (int64_t)cJSON_GetArrayItem(shape, 1)->valuedouble;
        double *x = calloc((size_t)(*n * *d) + 1, sizeof *x);
        if (!x)
            return NULL;
        int nz = cJSON_GetArraySize(data);
        for (int i = 0; i < nz; i++) {
            int64_t r = (int64_t)cJSON_GetArrayItem(row, i)->valuedouble;
            int64_t c = (int64_t)cJSON_GetArrayItem(col, i)->valuedouble;
            if (r >= 0 && r < *n && c >= 0 && c < *d)
                x[r * *d + c] += jnum(cJSON_GetArrayItem(data, i));
        }
        return x;
    }
    if (!cJSON_IsArray(v))
        return NULL;
    *n = cJSON_GetArraySize(v);
    const cJSON *first = cJSON_GetArrayItem(v, 0);
    *d = cJSON_IsArray(first) ? cJSON_GetArraySize(first) : 1;
    double *x = calloc((size_t)(*n * *d) + 1, sizeof *x);
    if (!x)
        return NULL;
    int64_t r = 0;
    for (const cJSON *it = v->child; it; it = it->next, r++) {
        if (cJSON_IsArray(it)) {
            if (cJSON_GetArraySize(it) != *d) {
                free(x);
                return NULL;
            }
            int64_t c = 0;
            for (const cJSON *z = it->child; z; z = z->next, c++)
                x[r * *d + c] = jnum(z);
        } else {
            x[r * *d] = jnum(it);
        }
    }
    return x;
}

double *tum_dense_inputs(const cJSON *doc, int64_t *n, int64_t *d)
{
    return jdense(cJSON_GetObjectItem(doc, "inputs"), n, d);
}

static int label_equal(const ckpt_model *m, int64_t idx, const cJSON *want)
{
    size_t len = 0;
    const char *s = ckpt_model_class_str(m, idx, &len);
    if (!s)
        return 0;
    switch (ckpt_model_label_kind(m)) {
    case CKPT_LABEL_STR:
        return cJSON_IsString(want) && strcmp(want->valuestring, s) == 0;
    case CKPT_LABEL_BOOL:
        return cJSON_IsBool(want) && (cJSON_IsTrue(want) ? 1 : 0) == ckpt_model_class_int(m, idx);
    case CKPT_LABEL_INT:
        return cJSON_IsNumber(want) && want->valuedouble == (double)ckpt_model_class_int(m, idx);
    case CKPT_LABEL_FLOAT:
        return cJSON_IsNumber(want) && want->valuedouble == ckpt_model_class_float(m, idx);
    default:
        return 0;
    }
}

int tum_check_model(const ckpt_model *m, const cJSON *doc, const char *what, double rel,
                    double abs_tol)
{
    const cJSON *outs = cJSON_GetObjectItem(doc, "outputs");
    const cJSON *ins = cJSON_GetObjectItem(doc, "inputs");
    const cJSON *dt = cJSON_GetObjectItem(doc, "dtype");
    int f32 = cJSON_IsString(dt) && strcmp(dt->valuestring, "float32") == 0;
    int compared = 0;
    ckpt_input in;
    memset(&in, 0, sizeof in);
    double *X = NULL;
    float *X32 = NULL;
    const char **docs = NULL;
    int64_t n = 0, d = 0;
    const cJSON *first = cJSON_GetArrayItem(ins, 0);
    if (cJSON_IsArray(ins) && cJSON_IsString(first)) {
        n = cJSON_GetArraySize(ins);
        docs = calloc((size_t)n + 1, sizeof *docs);
        int64_t i = 0;
        for (const cJSON *it = ins->child; it; it = it->next)
            docs[i++] = it->valuestring;
        in.kind = CKPT_IN_TEXT;
        in.docs = docs;
    } else {
        X = jdense(ins, &n, &d);
        CHECKF(X != NULL, "%s: inputs unreadable", what);
        if (!X)
            return 0;
        in.kind = CKPT_IN_DENSE;
        in.n_cols = d;
        if (f32) {
            X32 = malloc((size_t)(n * d + 1) * sizeof *X32);
            for (int64_t i = 0; i < n * d; i++)
                X32[i] = (float)X[i];
            in.dense32 = X32;
        } else {
            in.dense = X;
        }
    }
    in.n_rows = n;
    for (const cJSON *o = outs ? outs->child : NULL; o; o = o->next) {
        ckpt_method meth;
        if (ckpt_method_parse(o->string, &meth) != CKPT_OK) {
            CHECKF(0, "%s: unknown method %s", what, o->string);
            continue;
        }
        ckpt_out_kind kind = ckpt_model_out_kind(m, meth);
        int64_t cols = ckpt_model_out_cols(m, meth);
        CHECKF(kind != CKPT_OUT_NONE, "%s: model lacks %s", what, o->string);
        if (kind == CKPT_OUT_NONE)
            continue;
        ckpt_output out;
        memset(&out, 0, sizeof out);
        ckpt_csr csr;
        memset(&csr, 0, sizeof csr);
        int64_t cells = n * (cols > 0 ? cols : 1);
        if (kind == CKPT_OUT_LABEL || kind == CKPT_OUT_INT)
            out.labels = calloc((size_t)cells + 1, sizeof(int64_t));
        else if (kind == CKPT_OUT_F64)
            out.values = calloc((size_t)cells + 1, sizeof(double));
        else
            out.csr = &csr;
        ckpt_error err;
        ckpt_error_clear(&err);
        ckpt_status st = ckpt_model_run(m, meth, &in, &out, &err);
        CHECKF(st == CKPT_OK, "%s: %s failed: %s", what, o->string, err.message);
        if (st == CKPT_OK) {
            compared++;
            if (kind == CKPT_OUT_LABEL) {
                int bad = 0;
                int64_t i = 0;
                for (const cJSON *w = o->child; w; w = w->next, i++)
                    if (i >= n || !label_equal(m, out.labels[i], w)) {
                        if (!bad)
                            CHECKF(0, "%s: %s row %lld: label %s differs", what, o->string,
                                   (long long)i,
                                   i < n ? ckpt_model_class_str(m, out.labels[i], NULL) : "?");
                        bad = 1;
                    }
                CHECKF(!bad && i == n, "%s: %s labels (%lld rows)", what, o->string,
                       (long long)i);
            } else {
                int64_t en = 0, ed = 0;
                double *want = jdense(o, &en, &ed);
                double *got = NULL;
                int64_t gd = cols;
                if (kind == CKPT_OUT_F64) {
                    got = out.values;
                } else if (kind == CKPT_OUT_INT) {
                    got = calloc((size_t)cells + 1, sizeof *got);
                    for (int64_t i = 0; i < cells; i++)
                        got[i] = (double)out.labels[i];
                } else {
                    gd = csr.cols;
                    got = calloc((size_t)(csr.rows * csr.cols) + 1, sizeof *got);
                    for (int64_t r = 0; r < csr.rows; r++)
                        for (int64_t p = csr.indptr[r]; p < csr.indptr[r + 1]; p++)
                            got[r * csr.cols + csr.indices[p]] += csr.data[p];
                    CHECKF(csr.rows == n, "%s: %s CSR rows %lld", what, o->string,
                           (long long)csr.rows);
                }
                int ok = want && en * ed == n * gd;
                CHECKF(ok, "%s: %s shape: expected %lld x %lld, got %lld x %lld", what,
                       o->string, (long long)en, (long long)ed, (long long)n, (long long)gd);
                if (ok) {
                    int bad = 0;
                    for (int64_t i = 0; i < en * ed && !bad; i++)
                        if (!tu_close(got[i], want[i], rel, abs_tol)) {
                            CHECKF(0, "%s: %s element %lld (row %lld): %.17g vs expected %.17g",
                                   what, o->string, (long long)i, (long long)(i / (ed ? ed : 1)),
                                   got[i], want[i]);
                            bad = 1;
                        }
                    if (!bad)
                        CHECKF(1, "%s: %s", what, o->string);
                }
                if (got != out.values)
                    free(got);
                free(want);
            }
        }
        free(out.labels);
        free(out.values);
        ckpt_csr_free(&csr);
    }
    free(X);
    free(X32);
    free(docs);
    return compared;
}
