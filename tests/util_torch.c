/*
 * util_torch.c - the expected-tensor checker shared by the torch tests
 * (see util_torch.h).
 */
#include "util_torch.h"
#include "util_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

const uint8_t *tu_elem_ptr(const ckpt_array_info *ai, const void *d, uint64_t k) {
    int64_t off = 0;
    for (uint32_t j = ai->ndim; j-- > 0;) {
        uint64_t dim = (uint64_t)ai->shape[j];
        off += (int64_t)(k % dim) * ai->strides[j];
        k /= dim;
    }
    return (const uint8_t *)d + off;
}

int tu_is_c_contig(const ckpt_array_info *ai) {
    int64_t s = (int64_t)ai->dtype->itemsize;
    for (uint32_t j = ai->ndim; j-- > 0;) {
        if (ai->shape[j] != 1 && ai->strides[j] != s) return 0;
        s *= ai->shape[j];
    }
    return 1;
}

int tu_view_aligned(const ckpt_array_info *ai) {
    uint64_t is = ai->dtype->itemsize;
    if ((ai->storage_offset * is) % 16) return 0;
    uint64_t al = is >= 8 ? 8 : is;
    if (ai->dtype->type == CKPT_DT_COMPLEX64) al = 4;
    if (ai->dtype->type == CKPT_DT_COMPLEX128) al = 8;
    for (uint32_t k = 0; k < ai->ndim; k++)
        if (ai->shape[k] > 1 && llabs(ai->strides[k]) % (long long)al) return 0;
    return 1;
}

ckpt_status tu_open_mode(const char *rel, const char *name, int mode, const uint8_t *bytes, size_t len,
                         ckpt_file **f, uint8_t **copy, char *label, size_t label_cap) {
    ckpt_error err;
    ckpt_status st;
    *f = NULL;
    *copy = NULL;
    snprintf(label, label_cap, "%s[%s]", name, mode == 0 ? "mmap" : mode == 1 ? "read" : "memory");
    if (mode == 2) {
        *copy = malloc(len ? len : 1);
        if (!*copy) {
            CHECKF(0, "%s: out of memory", label);
            return CKPT_E_NOMEM;
        }
        memcpy(*copy, bytes, len);
        st = ckpt_open_memory(*copy, len, NULL, f, &err);
    } else {
        ckpt_open_opts o = ckpt_open_opts_default();
        o.flags = mode == 1 ? CKPT_OPEN_NO_MMAP : 0;
        st = ckpt_open(tu_model_path(rel), &o, f, &err);
    }
    CHECKF(st == CKPT_OK, "%s: open: %s", label, st == CKPT_OK ? "" : err.message);
    return st;
}

/* Two tensors view one storage: same key and same member (shards and legacy
   files name the member their storages live in). */
static int same_storage(const ckpt_array_info *a, const ckpt_array_info *b) {
    if (!a->storage_key || !b->storage_key || strcmp(a->storage_key, b->storage_key)) return 0;
    if (!a->member || !b->member) return !a->member && !b->member;
    return strcmp(a->member, b->member) == 0;
}

/* Values, sums: every element through ckpt_array_get_f64, the imaginary
   parts of complex elements from the resolved data. */
static void check_values(ckpt_file *f, size_t i, const ckpt_array_info *ai, const void *d, const cJSON *w,
                         const char *label, const char *name) {
    long double sum = 0, sum_abs = 0, sum_imag = 0;
    const cJSON *vals = item(w, "values");
    int vals_ok = !vals || (uint64_t)cJSON_GetArraySize(vals) == ai->nelems;
    for (uint64_t k = 0; k < ai->nelems; k++) {
        double x = ckpt_array_get_f64(f, i, k);
        sum += x;
        sum_abs += fabs(x);
        if (ai->dtype->type == CKPT_DT_COMPLEX64) {
            float im;
            memcpy(&im, tu_elem_ptr(ai, d, k) + 4, 4);
            sum_imag += im;
        } else if (ai->dtype->type == CKPT_DT_COMPLEX128) {
            double im;
            memcpy(&im, tu_elem_ptr(ai, d, k) + 8, 8);
            sum_imag += im;
        }
        if (vals && vals_ok) {
            const cJSON *v = cJSON_GetArrayItem(vals, (int)k);
            double want_v = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            vals_ok = x == want_v || (isnan(x) && isnan(want_v));
            if (!vals_ok)
                printf("  %s:%s value %llu: %.17g want %.17g\n", label, name, (unsigned long long)k, x, want_v);
        }
    }
    if (vals) CHECKF(vals_ok, "%s:%s values differ", label, name);
    double tol = 1e-10 * (double)sum_abs + 1e-12;
    const cJSON *ws = item(w, "sum");
    if (ws) CHECKF(tu_close((double)sum, ws->valuedouble, 1e-9, tol), "%s:%s sum %.17g want %.17g", label, name,
                   (double)sum, ws->valuedouble);
    const cJSON *wa = item(w, "sum_abs");
    if (wa) CHECKF(tu_close((double)sum_abs, wa->valuedouble, 1e-9, tol), "%s:%s sum_abs %.17g want %.17g", label,
                   name, (double)sum_abs, wa->valuedouble);
    const cJSON *wi = item(w, "sum_imag");
    if (wi) CHECKF(tu_close((double)sum_imag, wi->valuedouble, 1e-9, 1e-9), "%s:%s sum_imag %.17g want %.17g",
                   label, name, (double)sum_imag, wi->valuedouble);
}

void tu_check_tensors(ckpt_file *f, const cJSON *want, const char *label, const tu_tensor_opts *o) {
    size_t n = (size_t)cJSON_GetArraySize(want);
    unsigned copy_align = o->copy_align < 16 ? 16 : o->copy_align;
    CHECKF(ckpt_file_array_count(f) == n, "%s: %zu tensors, want %zu", label, ckpt_file_array_count(f), n);
    if (ckpt_file_array_count(f) < n) n = ckpt_file_array_count(f);
    for (size_t i = 0; i < n; i++) { /* nothing was read at open; the plan is said */
        const ckpt_array_info *ai = ckpt_file_array(f, i);
        CHECKF(ai->state == CKPT_DATA_UNRESOLVED || ai->state == CKPT_DATA_UNAVAILABLE,
               "%s:%s resolved at open (state %d)", label, ai->path, (int)ai->state);
        if (ai->state != CKPT_DATA_UNRESOLVED || ai->nbytes == 0) continue;
        if (o->copied)
            CHECKF(ai->will_copy && ai->note, "%s:%s should say it will be copied", label, ai->path);
        else if (o->aligned_records && tu_view_aligned(ai))
            CHECKF(!ai->will_copy, "%s:%s should be zero-copy (%s)", label, ai->path, ai->note ? ai->note : "");
    }
    int groups[256];
    const uint8_t *base[256];
    for (size_t i = 0; i < n; i++) {
        const cJSON *w = cJSON_GetArrayItem(want, (int)i);
        const ckpt_array_info *ai = ckpt_file_array(f, i);
        if (i < 256) groups[i] = -1, base[i] = NULL;
        const char *name = item(w, "name")->valuestring;
        CHECKF(strcmp(ai->path, name) == 0, "%s: tensor %zu is '%s', want '%s'", label, i, ai->path, name);
        const char *dt = item(w, "dtype")->valuestring;
        if (strncmp(dt, "torch.", 6) == 0) dt += 6;
        CHECKF(strcmp(ckpt_dtype_name(ai->dtype->type), dt) == 0, "%s:%s dtype %s want %s", label, name,
               ckpt_dtype_name(ai->dtype->type), dt);
        const cJSON *shape = item(w, "shape");
        int sn = cJSON_GetArraySize(shape);
        int shape_ok = (int)ai->ndim == sn;
        for (int k = 0; shape_ok && k < sn; k++)
            shape_ok = ai->shape[k] == (int64_t)cJSON_GetArrayItem(shape, k)->valuedouble;
        CHECKF(shape_ok, "%s:%s shape differs", label, name);
        if (!shape_ok) continue;
        CHECK(ai->is_tensor);
        if (cJSON_IsTrue(item(w, "unavailable"))) {
            CHECKF(ai->state == CKPT_DATA_UNAVAILABLE && ai->note && strstr(ai->note, "unsupported"),
                   "%s:%s should be unavailable with a note", label, name);
            const void *d = (const void *)1;
            ckpt_error e;
            CHECKF(ckpt_array_data(f, i, &d, &e) == CKPT_E_UNSUPPORTED && d == NULL,
                   "%s:%s data of an unavailable tensor", label, name);
            continue;
        }
        uint64_t is = ai->dtype->itemsize;
        const cJSON *strides = item(w, "strides");
        if (strides) {
            int ok = cJSON_GetArraySize(strides) == sn;
            for (int k = 0; ok && k < sn; k++)
                ok = ai->strides[k] == (int64_t)cJSON_GetArrayItem(strides, k)->valuedouble * (int64_t)is;
            CHECKF(ok, "%s:%s strides differ", label, name);
        }
        const cJSON *so = item(w, "storage_offset");
        if (so) CHECKF(ai->storage_offset == (uint64_t)so->valuedouble, "%s:%s storage offset %llu want %g",
                       label, name, (unsigned long long)ai->storage_offset, so->valuedouble);
        const cJSON *rg = item(w, "requires_grad");
        if (rg) CHECKF(ai->requires_grad == cJSON_IsTrue(rg), "%s:%s requires_grad", label, name);
        const cJSON *grp = item(w, "storage_group");
        if (grp && i < 256) {
            groups[i] = (int)grp->valuedouble;
            for (size_t j = 0; j < i; j++) {
                const ckpt_array_info *aj = ckpt_file_array(f, j);
                if (groups[j] < 0) continue;
                int same = same_storage(ai, aj);
                CHECKF(same == (groups[j] == groups[i]), "%s: %s and %s %s share a storage", label, name,
                       aj->path, same ? "should not" : "should");
            }
        }
        int contig = tu_is_c_contig(ai); /* as stored (a gathered copy rewrites the strides) */
        int aligned = tu_view_aligned(ai);
        const void *d = NULL;
        ckpt_error err;
        ckpt_status st = ckpt_array_data(f, i, &d, &err);
        CHECKF(st == CKPT_OK, "%s:%s data: %s", label, name, st == CKPT_OK ? "" : err.message);
        if (st != CKPT_OK) continue;
        ai = ckpt_file_array(f, i);
        if (ai->state == CKPT_DATA_MAPPED)
            CHECKF((uintptr_t)d % 16 == 0, "%s:%s mapped pointer %p unaligned", label, name, d);
        else
            CHECKF(ai->state == CKPT_DATA_COPIED && (uintptr_t)d % copy_align == 0, "%s:%s copy %p (want %u-byte aligned)",
                   label, name, d, copy_align);
        if (ai->nbytes) {
            if (o->copied) CHECKF(ai->state == CKPT_DATA_COPIED, "%s:%s should be a copy", label, name);
            else if (o->aligned_records && aligned)
                CHECKF(ai->state == CKPT_DATA_MAPPED, "%s:%s should be zero-copy", label, name);
        }
        if (ai->state == CKPT_DATA_MAPPED && o->file && o->file_is_source && ai->nbytes) /* into the file bytes */
            CHECKF((const uint8_t *)d == o->file + ai->file_offset, "%s:%s pointer is not file + %llu", label, name,
                   (unsigned long long)ai->file_offset);
        if (o->file && ai->nbytes && contig && ai->file_offset && !o->big) {
            int in = ai->file_offset <= o->file_len && ai->nbytes <= o->file_len - ai->file_offset;
            CHECKF(in && memcmp(o->file + ai->file_offset, d, (size_t)ai->nbytes) == 0,
                   "%s:%s data differs from the file bytes at offset %llu", label, name,
                   (unsigned long long)ai->file_offset);
        }
        /* views of one storage: one mapping / one aligned buffer */
        if (o->aligned_records && i < 256 && aligned && !o->big && ai->nbytes) {
            base[i] = (const uint8_t *)d - ai->storage_offset * is;
            for (size_t j = 0; j < i; j++) {
                const ckpt_array_info *aj = ckpt_file_array(f, j);
                if (!base[j] || !same_storage(ai, aj)) continue;
                CHECKF(base[j] == base[i], "%s: %s and %s view one storage through different buffers", label,
                       aj->path, name);
            }
        }
        check_values(f, i, ai, d, w, label, name);
    }
}
