/*
 * model_internal.h - the runtime core shared by every runtime estimator
 * file.  Private to runtime/ (includes only the public headers in include/ckpt).
 *
 * An estimator kind is added by
 *   1. writing a build function  ckpt_status build(ckpt_build_ctx *ctx,
 *      const ckpt_value *obj, ckpt_est **out)  in its own file, which reads
 *      the state BY ATTRIBUTE NAME (ckpt_rt_* helpers below), copies it into
 *      an impl struct, and fills a ckpt_est (ckpt_est_new) with its methods;
 *   2. adding ONE line {"ClassName", build} to the table in
 *      runtime/model_registry.c (plus its extern declaration there).
 * Names are matched against the class name without its module, for any
 * module under "sklearn." (so sklearn.linear_model.logistic (<0.22) and
 * sklearn.linear_model._logistic both match "LogisticRegression").
 *
 * run() contract: `in` has already been checked by the core (n_cols ==
 * n_features, finite values unless allow_nan, CSR converted to dense unless
 * accepts_csr, float32 rows widened unless takes_f32: then in->dense is NULL
 * and in->dense32 holds them), out has room for n_rows * out_cols[method].
 * run() must not modify the ckpt_est (several threads call it at once) and
 * must free its scratch before returning.
 */
#ifndef CKPT_MODEL_INTERNAL_H
#define CKPT_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt_common.h"
#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "ckpt/ckpt_pickle.h"

/* Hostile-input bounds for estimator state. */
#define CKPT_RT_MAX_CLASSES    ((int64_t)1 << 24)
#define CKPT_RT_MAX_FEATURES   ((int64_t)1 << 31)
#define CKPT_RT_MAX_ELEMS      ((uint64_t)1 << 34)  /* elements of one copied array */
#define CKPT_RT_MAX_STEPS      4096                 /* Pipeline / ColumnTransformer steps */
#define CKPT_RT_MAX_LABEL_LEN  ((size_t)1 << 20)
#define CKPT_RT_CHUNK_ROWS     1024                 /* rows per scratch block */

/* Hot fixed-width loops are compiled twice on x86-64 with GCC (AVX2 and the
   baseline), the loader picks one at start-up (ifunc).  Same operations in the
   same order either way: results do not depend on the clone (no FMA: ISO C
   mode keeps -ffp-contract=off). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CKPT_RT_CLONES __attribute__((target_clones("avx2", "default"), noinline))
#else
#define CKPT_RT_CLONES
#endif

/* 4 doubles as one value (GCC / clang vector extensions): lane-wise + - *,
   exactly the scalar operations per lane.  CKPT_RT_V4 is 0 elsewhere (then
   the callers use plain loops). */
#if defined(__GNUC__)
#define CKPT_RT_V4 1
typedef double ckpt_v4d __attribute__((vector_size(32)));
/* macros, not functions: a vector passed by value changes ABI between the
   AVX2 and baseline clones */
#define CKPT_V4_LOAD(v, p) __builtin_memcpy(&(v), (p), sizeof(ckpt_v4d))
#define CKPT_V4_STORE(p, v) __builtin_memcpy((p), &(v), sizeof(ckpt_v4d))
#else
#define CKPT_RT_V4 0
#endif

/* Class labels copied out of classes_. */
typedef struct ckpt_labels {
    ckpt_label_kind kind;
    int64_t n;
    int64_t *i;      /* INT / BOOL */
    double *f;       /* every kind but STR: the numeric value */
    char **s;        /* text form, NUL-terminated (all kinds) */
    size_t *len;
} ckpt_labels;

void ckpt_labels_free(ckpt_labels *l);
/* Copy labels; 0 ok, -1 NOMEM. */
int ckpt_labels_copy(ckpt_labels *dst, const ckpt_labels *src);

typedef struct ckpt_est ckpt_est;

typedef struct ckpt_est_vt {
    ckpt_status (*run)(const ckpt_est *e, ckpt_method m, const ckpt_input *in,
                       const ckpt_output *out, ckpt_error *err);
    void (*free_impl)(void *impl);
} ckpt_est_vt;

struct ckpt_est {
    const ckpt_est_vt *vt;
    void *impl;
    char cls[160];               /* canonical class ("module.Name") */
    ckpt_in_kind in_kind;        /* CKPT_IN_DENSE (also takes CSR) or CKPT_IN_TEXT */
    int accepts_csr;             /* run() handles CKPT_IN_CSR itself */
    int allow_nan;               /* NaN in the input is legal (inf never is) */
    int64_t n_features;          /* -1: text, or unknown (stateless transformers) */
    int is_clf;
    int64_t n_outputs;           /* regressors: predict columns */
    ckpt_labels labels;          /* classifiers */
    ckpt_out_kind out_kind[CKPT_METHOD__COUNT];
    int64_t out_cols[CKPT_METHOD__COUNT];
    /* float32 (ckpt_model_fit_dtype / ckpt_model_compute_dtype).  All zero
       (the default) = float64 state, float64 arithmetic. */
    int fit_f32;                 /* the fitted floating-point state is float32 */
    int takes_f32;               /* run() takes float32 rows (in->dense32) itself;
                                    otherwise the core widens them to float64 */
    unsigned char out_f32[CKPT_METHOD__COUNT]; /* CKPT_RT_F32_* : result is float32 */
};

/* out_f32 flags: scikit-learn's result of the method is float32 (computed in
   float32; ckpt writes it widened exactly) for float32 / float64 input rows. */
#define CKPT_RT_F32_FROM32 1u
#define CKPT_RT_F32_FROM64 2u
/* 1 when e gives a float32 result for `m` on input rows that are float32 (in32). */
int ckpt_est_out_is_f32(const ckpt_est *e, ckpt_method m, int in32);
/* NumPy 1.x promotion of a float32 array with stored value a: 1 when the
   result stays float32 (a is a float32/float16/small-int array, or 0-d: a
   scalar never widens an array of its kind), 0 when it widens (float64 /
   int32+ arrays). */

/* New zeroed estimator (vt, impl set; cls copied).  NULL on NOMEM (then
   free_impl(impl) has been called). */
ckpt_est *ckpt_est_new(const ckpt_est_vt *vt, void *impl, const char *cls);
void ckpt_est_free(ckpt_est *e);
/* Declare a method. */
void ckpt_est_method(ckpt_est *e, ckpt_method m, ckpt_out_kind kind, int64_t cols);

/* Run a (child) estimator with the core's checks and conversions: dense32 ->
   dense, CSR -> dense when !accepts_csr, column count, finiteness. */
ckpt_status ckpt_est_run(const ckpt_est *e, ckpt_method m, const ckpt_input *in,
                         const ckpt_output *out, ckpt_error *err);
/* Same, always into float64: LABEL/INT results written as doubles, CSR
   densified.  out has n_rows * out_cols doubles. */
ckpt_status ckpt_est_run_f64(const ckpt_est *e, ckpt_method m, const ckpt_input *in, double *out,
                             ckpt_error *err);

/* Wrap a built estimator into a public model (takes ownership of e, also on
   failure). */
ckpt_status ckpt_model_wrap(ckpt_est *e, const ckpt_model_opts *opts, ckpt_model **out,
                            ckpt_error *err);

/* ---- building ---- */

typedef struct ckpt_build_ctx {
    ckpt_file *f;
    ckpt_error *err;
    uint32_t depth, max_nesting;
    int n_threads;
    char where[160];             /* path of the estimator being built, for messages */
} ckpt_build_ctx;

typedef ckpt_status (*ckpt_est_build_fn)(ckpt_build_ctx *ctx, const ckpt_value *obj,
                                         ckpt_est **out);

typedef struct ckpt_est_entry {
    const char *name;            /* class name without module */
    ckpt_est_build_fn build;
} ckpt_est_entry;

extern const ckpt_est_entry ckpt_est_registry[];
extern const size_t ckpt_est_registry_count;

/* Build the estimator object node `obj` (dispatch through the registry,
   nesting bounded by ctx->max_nesting).  `where` names it in messages
   ("steps.1.1"); may be NULL. */
ckpt_status ckpt_est_build(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *where,
                           ckpt_est **out);

/* CKPT_E_MODEL "<where>: <what> (<class>)". */
ckpt_status ckpt_rt_fail(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- reading estimator state by attribute name ---- */

/* A numeric array copied to float64 (any numeric dtype, any order, C order
   out).  Owned by whoever holds it: free(a->d). */
typedef struct ckpt_rt_arr {
    double *d;
    uint32_t ndim;
    int64_t shape[4];
    uint64_t n;
    ckpt_dtype dtype;            /* as stored */
} ckpt_rt_arr;

/* NumPy 1.x promotion of a float32 array with stored value a: 1 when the
   result stays float32 (a is a float32/float16/small-int array, or 0-d: a
   scalar never widens an array of its kind), 0 when it widens (float64 /
   int32+ arrays). */
int ckpt_rt_keeps_f32(const ckpt_rt_arr *a);
/* float copy of a->d (exact when a->dtype is float32); NULL on NOMEM. */
float *ckpt_rt_to_f32(const ckpt_rt_arr *a);

/* The attribute `name` of obj as a numeric array (a numpy array, a Python
   list/tuple of numbers, or a scalar -> ndim 0).  CKPT_E_MODEL if absent or
   not numeric; ndim > 4 rejected. */
ckpt_status ckpt_rt_arr_attr(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name,
                             ckpt_rt_arr *out);
/* Same for any value node. */
ckpt_status ckpt_rt_arr_value(ckpt_build_ctx *ctx, const ckpt_value *v, const char *what,
                              ckpt_rt_arr *out);
/* Number (int/float/bool, numpy scalar, 0-d or 1-element array) -> double. */
int ckpt_rt_value_f64(ckpt_build_ctx *ctx, const ckpt_value *v, double *out);
/* Attribute as a number: 0 ok, -1 absent/not a number (no error set). */
int ckpt_rt_attr_f64(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name, double *out);
int ckpt_rt_attr_i64(ckpt_build_ctx *ctx, const ckpt_value *obj, const char *name, int64_t *out);
/* Attribute as a str: 1 and a NUL-terminated copy into buf (truncated to cap)
   when it is a str, 0 otherwise. */
int ckpt_rt_attr_str(const ckpt_value *obj, const char *name, char *buf, size_t cap);
/* Attribute truthiness for bool/int/None: 1, 0, or `dflt` when absent. */
int ckpt_rt_attr_bool(const ckpt_value *obj, const char *name, int dflt);
/* _sklearn_version as major*10000 + minor*100 + patch; 0 when absent
   (pickles from before 0.18 have none). */
int ckpt_rt_sklearn_version(const ckpt_value *obj);

/* classes_ (array of int/float/bool/str/object, or a list) -> labels. */
ckpt_status ckpt_rt_labels(ckpt_build_ctx *ctx, const ckpt_value *v, ckpt_labels *out);

/* ---- numeric kernels (runtime/model_kernels.c) ---- */

/* out[n x k] = X[n x d] . W[k x d]^T (+ b[k] if b) ; BLAS dgemm. */
void ckpt_k_gemm_nt(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                    const double *b, double *out);
/* out[n x k] = X[n x d] . W[d x k] (+ b) */
void ckpt_k_gemm_nn(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                    const double *b, double *out);
/* CSR rows . W^T (W k x d) + b. */
void ckpt_k_csr_gemm_nt(const ckpt_csr *X, const double *W, int64_t k, const double *b,
                        double *out);
double ckpt_k_expit(double x);
/* Row-wise softmax in place (max subtracted, like scipy/sklearn). */
void ckpt_k_softmax(double *row, int64_t k);
/* Index of the first maximum. */
int64_t ckpt_k_argmax(const double *row, int64_t k);
/* Squared Euclidean distances out[n x m] between rows of X (n x d) and C
   (m x d), computed directly (no ||x||^2 - 2xc + ||c||^2 cancellation). */
/* Squared distances of x to candidates j0..j0+15 of XT (d x n, transposed). */
void ckpt_k_sqdist_block16(const double *x, const double *XT, int64_t n, int64_t d, int64_t j0,
                           double *out);
/* Squared distances of 4 rows (x, row stride d) to all n candidates of XT:
   D[r * n + j]. */
void ckpt_k_sqdist_rows4(const double *x, const double *XT, int64_t n, int64_t d, double *D);
/* v[i] = exp(v[i]) for i < n (vectorized; within 1 ulp of libm). */
void ckpt_k_exp_inplace(double *v, int64_t n);
void ckpt_k_sqdist(const double *X, int64_t n, const double *C, int64_t m, int64_t d,
                   double *out);

/* ---- float32 kernels: NumPy / scikit-learn float32 arithmetic ---- */

/* out[n x k] = X . W^T (W k x d), then + b in float32: the OpenBLAS call
   NumPy's matmul makes (sgemm; sgemv for one row or one column; sdot). */
void ckpt_k_sgemm_nt(const float *X, int64_t n, int64_t d, const float *W, int64_t k,
                     const float *b, float *out);
/* out[n x k] = X . W (W d x k, C order) (+ b), same rules. */
void ckpt_k_sgemm_nn(const float *X, int64_t n, int64_t d, const float *W, int64_t k,
                     const float *b, float *out);
/* scipy.special.expit for float32: 1 / (1 + expf(-x)). */
float ckpt_k_expitf(float x);
/* NumPy's float32 exp (its AVX2/AVX512F algorithm, same results). */
float ckpt_k_npexpf(float x);
/* NumPy's float32 log (its AVX2/AVX512F algorithm, same results). */
float ckpt_k_nplogf(float x);
/* NumPy's float32 tanh (its FMA3/AVX512 SVML-derived algorithm). */
float ckpt_k_nptanhf(float x);
/* NumPy's float32 sum of a contiguous row (pairwise, float32 accumulators). */
float ckpt_k_sumf(const float *a, int64_t n);
/* sklearn.utils.extmath.softmax on one float32 row, in place. */
void ckpt_k_softmaxf(float *row, int64_t k);

/* float64 X . W^T through the BLAS call NumPy's matmul makes (no + b). */
void ckpt_k_np_dgemm_nt(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                        double *out);
/* np.einsum("ij,ij->i") of one float64 / float32 row, NumPy's summation order. */
float ckpt_k_einsum_sqf(const float *x, int64_t d);
double ckpt_k_einsum_sq(const double *x, int64_t d);

/* Checked helpers. */
int ckpt_rt_mul(uint64_t a, uint64_t b, uint64_t *out);   /* 0 ok, -1 overflow */
void *ckpt_rt_calloc(uint64_t n, uint64_t size);           /* NULL on overflow/NOMEM */

#endif
