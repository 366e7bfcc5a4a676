/*
 * tree_read.c - reading numbers and arrays out of estimator state for the
 * tree, ensemble and text code: Python ints/floats/bools, numpy scalars
 * (numpy.core.multiarray.scalar(dtype, bytes)), and arrays resolved through
 * the file's array table (their elements are read with the public
 * ckpt_array_get_f64 / _i64 / ckpt_array_field_*).
 */
#include <math.h>

#include "model_internal.h" /* ckpt_rt_value_f64: numbers and numpy scalars */
#include "tree_internal.h"

/* Python int/bool exactly; float, numpy scalar (numpy.core.multiarray.scalar,
   decoded by the runtime's ckpt_rt_value_f64) only when integral. */
int ckpt_tree_num_i64(const ckpt_value *v, int64_t *out)
{
    ckpt_kind k = ckpt_value_kind(v);
    if (k == CKPT_K_INT || k == CKPT_K_BOOL)
        return ckpt_value_int64(v, out) == CKPT_OK ? 0 : -1;
    double d;
    if ((k != CKPT_K_FLOAT && k != CKPT_K_OBJECT) || ckpt_rt_value_f64(NULL, v, &d) != 0 ||
        !(d >= -9.2e18 && d <= 9.2e18) || d != floor(d))
        return -1;
    *out = (int64_t)d;
    return 0;
}

int ckpt_tree_num_f64(const ckpt_value *v, double *out)
{
    ckpt_kind k = ckpt_value_kind(v);
    if (k != CKPT_K_INT && k != CKPT_K_BOOL && k != CKPT_K_FLOAT && k != CKPT_K_OBJECT)
        return -1;
    return ckpt_rt_value_f64(NULL, v, out);
}

ckpt_status ckpt_tree_array(ckpt_file *f, const ckpt_value *v, size_t *idx,
                            const ckpt_array_info **info, ckpt_error *err)
{
    if (!v || ckpt_file_array_of(f, v, idx) != CKPT_OK)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "expected a numpy array");
    const ckpt_array_info *a = ckpt_file_array(f, *idx);
    if (!a)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "array table entry missing");
    ckpt_status st = ckpt_array_data(f, *idx, NULL, err);
    if (st != CKPT_OK)
        return st;
    *info = a;
    return CKPT_OK;
}
