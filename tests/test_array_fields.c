/*
 * test_array_fields.c - element readers of the public API against values numpy
 * holds (models/fields/, made by models/make_fields.py):
 *   ckpt_array_get_f64 / ckpt_array_get_i64 on plain arrays (int64 extremes,
 *   uint64 above INT64_MAX, big-endian float64 with inf/nan/-0.0, float16,
 *   complex, bool), and ckpt_array_field_f64 / ckpt_array_field_i64 on every
 *   field of structured arrays: sklearn tree nodes, a record with a field of
 *   every numeric kind plus bytes / subarray / nested fields, the same in big-
 *   endian order and in Fortran order (strided element walk).
 * Also the argument checks: unresolved data, element out of range, a field
 * that is not one of the array's own, NULL out.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "util_test.h"

static const char *FIXTURES[] = {"tree_nodes", "mixed",   "mixed_be", "mixed_fortran",
                                 "plain_i8",   "plain_u8", "plain_f8", "plain_f2",
                                 "plain_c16",  "plain_b1"};

/* Same double: bit for bit (so -0.0 != 0.0), NaN equal to NaN. */
static int same_f64(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Expected f64 entry: a repr string, or "TYPE". */
static void check_f64(const char *what, uint64_t k, ckpt_status st, double got, const cJSON *e)
{
    const char *s = cJSON_GetStringValue(e);
    if (!s) {
        CHECKF(0, "%s[%llu]: expected value missing", what, (unsigned long long)k);
        return;
    }
    if (strcmp(s, "TYPE") == 0) {
        CHECKF(st == CKPT_E_TYPE, "%s[%llu]: status %d, want CKPT_E_TYPE", what,
               (unsigned long long)k, (int)st);
        return;
    }
    double want = strtod(s, NULL);
    CHECKF(st == CKPT_OK && same_f64(got, want), "%s[%llu]: status %d, %.17g, want %s", what,
           (unsigned long long)k, (int)st, got, s);
}

/* Expected i64 entry: a decimal string, "RANGE" or "TYPE". */
static void check_i64(const char *what, uint64_t k, ckpt_status st, int64_t got, const cJSON *e)
{
    const char *s = cJSON_GetStringValue(e);
    if (!s) {
        CHECKF(0, "%s[%llu]: expected value missing", what, (unsigned long long)k);
        return;
    }
    if (strcmp(s, "TYPE") == 0 || strcmp(s, "RANGE") == 0) {
        ckpt_status want = s[0] == 'T' ? CKPT_E_TYPE : CKPT_E_RANGE;
        CHECKF(st == want, "%s[%llu]: status %d, want %s", what, (unsigned long long)k, (int)st,
               s);
        return;
    }
    errno = 0;
    long long want = strtoll(s, NULL, 10);
    CHECK(errno == 0);
    CHECKF(st == CKPT_OK && got == (int64_t)want, "%s[%llu]: status %d, %lld, want %s", what,
           (unsigned long long)k, (int)st, (long long)got, s);
}

static void check_fixture(const char *name, const ckpt_field_info *foreign)
{
    char rel[128];
    snprintf(rel, sizeof rel, "fields/%s.json", name);
    cJSON *js = tu_load_json(tu_model_path(rel));
    snprintf(rel, sizeof rel, "fields/%s.npy", name);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK_STATUS(ckpt_open(tu_model_path(rel), NULL, &f, &err), CKPT_OK);
    if (!js || !f) {
        cJSON_Delete(js);
        ckpt_close(f);
        return;
    }
    CHECK_EQ_INT(ckpt_file_array_count(f), 1);
    const ckpt_array_info *a = ckpt_file_array(f, 0);
    const cJSON *shape = cJSON_GetObjectItem(js, "shape");
    CHECK_EQ_INT(a->ndim, cJSON_GetArraySize(shape));
    for (uint32_t d = 0; d < a->ndim && d < (uint32_t)cJSON_GetArraySize(shape); d++)
        CHECK_EQ_INT(a->shape[d], cJSON_GetArrayItem(shape, (int)d)->valueint);
    const cJSON *fields = cJSON_GetObjectItem(js, "fields");
    int64_t iv = 0;
    double dv = 0;

    /* not resolved yet: nothing to read */
    CHECK(isnan(ckpt_array_get_f64(f, 0, 0)));
    CHECK_STATUS(ckpt_array_get_i64(f, 0, 0, &iv), CKPT_E_ARG);
    if (fields)
        CHECK_STATUS(ckpt_array_field_f64(f, 0, 0, &a->dtype->fields[0], &dv), CKPT_E_ARG);
    const void *data;
    CHECK_STATUS(ckpt_array_data(f, 0, &data, &err), CKPT_OK);

    uint64_t n = a->nelems;
    if (!fields) {
        const cJSON *ef = cJSON_GetObjectItem(js, "f64"), *ei = cJSON_GetObjectItem(js, "i64");
        CHECK_EQ_INT(cJSON_GetArraySize(ef), n);
        for (uint64_t k = 0; k < n; k++) {
            double d = ckpt_array_get_f64(f, 0, k);
            check_f64(name, k, CKPT_OK, d, cJSON_GetArrayItem(ef, (int)k));
            ckpt_status st = ckpt_array_get_i64(f, 0, k, &iv);
            check_i64(name, k, st, iv, cJSON_GetArrayItem(ei, (int)k));
        }
        CHECK(isnan(ckpt_array_get_f64(f, 0, n)));
        CHECK_STATUS(ckpt_array_get_i64(f, 0, n, &iv), CKPT_E_ARG);
        CHECK_STATUS(ckpt_array_get_i64(f, 0, 0, NULL), CKPT_E_ARG);
        CHECK_STATUS(ckpt_array_get_i64(f, 1, 0, &iv), CKPT_E_ARG);
        CHECK_STATUS(ckpt_array_field_i64(f, 0, 0, foreign, &iv), CKPT_E_ARG);
        cJSON_Delete(js);
        ckpt_close(f);
        return;
    }

    /* structured: the element itself is no number */
    CHECK(isnan(ckpt_array_get_f64(f, 0, 0)));
    CHECK_STATUS(ckpt_array_get_i64(f, 0, 0, &iv), CKPT_E_TYPE);
    CHECK_EQ_INT(a->dtype->nfields, cJSON_GetArraySize(fields));
    const cJSON *fe;
    cJSON_ArrayForEach(fe, fields) {
        char what[160];
        snprintf(what, sizeof what, "%s.%s", name, fe->string);
        const ckpt_field_info *fi = ckpt_dtype_field(a->dtype, fe->string);
        CHECKF(fi != NULL, "%s: field found", what);
        if (!fi)
            continue;
        const cJSON *ef = cJSON_GetObjectItem(fe, "f64"), *ei = cJSON_GetObjectItem(fe, "i64");
        CHECK_EQ_INT(cJSON_GetArraySize(ef), n);
        for (uint64_t k = 0; k < n; k++) {
            dv = NAN;
            ckpt_status st = ckpt_array_field_f64(f, 0, k, fi, &dv);
            check_f64(what, k, st, dv, cJSON_GetArrayItem(ef, (int)k));
            iv = 0;
            st = ckpt_array_field_i64(f, 0, k, fi, &iv);
            check_i64(what, k, st, iv, cJSON_GetArrayItem(ei, (int)k));
        }
        CHECK_STATUS(ckpt_array_field_f64(f, 0, n, fi, &dv), CKPT_E_ARG);
        CHECK_STATUS(ckpt_array_field_i64(f, 0, n, fi, &iv), CKPT_E_ARG);
        CHECK_STATUS(ckpt_array_field_i64(f, 0, 0, fi, NULL), CKPT_E_ARG);
        CHECK_STATUS(ckpt_array_field_f64(f, 0, 0, fi, NULL), CKPT_E_ARG);
        /* an equal copy is still not one of the array's fields */
        ckpt_field_info copy = *fi;
        CHECK_STATUS(ckpt_array_field_i64(f, 0, 0, &copy, &iv), CKPT_E_ARG);
    }
    CHECK_STATUS(ckpt_array_field_f64(f, 0, 0, NULL, &dv), CKPT_E_ARG);
    if (foreign)
        CHECK_STATUS(ckpt_array_field_f64(f, 0, 0, foreign, &dv), CKPT_E_ARG);
    cJSON_Delete(js);
    ckpt_close(f);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    /* a field of another file's dtype, to be refused by every fixture */
    ckpt_file *other = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK_STATUS(ckpt_open(tu_model_path("fields/tree_nodes.npy"), NULL, &other, &err), CKPT_OK);
    const ckpt_field_info *foreign =
        other ? ckpt_dtype_field(ckpt_file_array(other, 0)->dtype, "threshold") : NULL;
    CHECK(foreign != NULL);
    for (size_t i = 0; i < sizeof FIXTURES / sizeof *FIXTURES; i++)
        check_fixture(FIXTURES[i], strcmp(FIXTURES[i], "tree_nodes") == 0 ? NULL : foreign);
    ckpt_close(other);
    return tu_finish();
}
