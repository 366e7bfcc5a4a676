/*
 * ckpt_model.h - run a loaded estimator: scikit-learn models and torch layer
 * stacks predicted in C (OpenBLAS), with scikit-learn's arithmetic.
 *
 * A model is BUILT once from an opened ckpt_file: the estimator's state is
 * read by attribute name from the (inert) pickle graph, validated (shapes,
 * counts, indices) and COPIED into native buffers owned by the model.  After
 * ckpt_model_build returns, the model never touches the file again: the file
 * may be closed while the model lives on.  Nothing in the file is executed.
 *
 * Threads: a built model is read-only.  ckpt_model_run and every query may be
 * called from any number of threads at once on the same model.  Scratch memory
 * is per call.
 *
 * Inputs are batches of rows: dense float64 or float32 row-major
 * n x n_features, a CSR sparse matrix, or UTF-8 documents (text vectorizers).
 * Outputs go to buffers the CALLER owns:
 *   CKPT_OUT_LABEL  int64 class INDEX per row (into the model's classes; use
 *                   ckpt_model_class_* for the label itself)
 *   CKPT_OUT_INT    int64 per row and column (KMeans cluster, tree leaf index)
 *   CKPT_OUT_F64    float64 n x cols, row-major
 *   CKPT_OUT_CSR    a ckpt_csr the caller owns; ckpt grows its arrays
 *                   (free them with ckpt_csr_free)
 *
 * Errors: an estimator ckpt does not implement fails with CKPT_E_MODEL and a
 * message naming its class (and the path where it sits); it is never
 * mis-predicted.  Bad input fails with CKPT_E_INPUT naming the row (and column).
 */
#ifndef CKPT_MODEL_H
#define CKPT_MODEL_H

#include "ckpt_common.h"
#include "ckpt_file.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_model ckpt_model;

/* Methods, named like scikit-learn's.  Values never renumbered. */
typedef enum ckpt_method {
    CKPT_METHOD_PREDICT = 0,
    CKPT_METHOD_PREDICT_PROBA,
    CKPT_METHOD_DECISION_FUNCTION,
    CKPT_METHOD_TRANSFORM,
    CKPT_METHOD_PREDICT_LOG_PROBA,
    CKPT_METHOD_SCORE_SAMPLES,
    CKPT_METHOD_APPLY,            /* trees: leaf indices */
    CKPT_METHOD__COUNT
} ckpt_method;

/* "predict", "predict_proba", ... ; NULL for an invalid value. */
CKPT_API const char *ckpt_method_name(ckpt_method m);
/* Parse a name; CKPT_E_ARG if unknown. */
CKPT_API ckpt_status ckpt_method_parse(const char *name, ckpt_method *out);

typedef enum ckpt_out_kind {
    CKPT_OUT_NONE = 0,   /* the model has no such method */
    CKPT_OUT_LABEL,      /* int64 class index, 1 column */
    CKPT_OUT_INT,        /* int64 values */
    CKPT_OUT_F64,        /* float64 values */
    CKPT_OUT_CSR         /* sparse float64 (ckpt_csr) */
} ckpt_out_kind;

typedef enum ckpt_in_kind {
    CKPT_IN_DENSE = 0,   /* float64 rows (or float32: ckpt_input.dense32) */
    CKPT_IN_CSR,         /* sparse rows */
    CKPT_IN_TEXT         /* UTF-8 documents */
} ckpt_in_kind;

/* Compressed sparse rows of float64.  Column indices are sorted within a row
   on output; on input they must be in [0, cols) (any order, no duplicates
   required).  When ckpt fills a ckpt_csr it grows the arrays with realloc and
   records the capacities; the caller releases them with ckpt_csr_free. */
typedef struct ckpt_csr {
    int64_t rows, cols;
    int64_t *indptr;     /* rows + 1 */
    int64_t *indices;    /* nnz */
    double *data;        /* nnz */
    size_t nnz;
    size_t cap;          /* capacity of indices/data (ckpt-filled only) */
    size_t indptr_cap;   /* capacity of indptr (ckpt-filled only) */
} ckpt_csr;

/* Free the arrays of a ckpt-filled CSR and zero it.  NULL allowed. */
CKPT_API void ckpt_csr_free(ckpt_csr *m);

/* One batch of input.  Zero-initialize, then set `kind`, `n_rows` and the
   fields of that kind. */
typedef struct ckpt_input {
    ckpt_in_kind kind;
    int64_t n_rows;
    int64_t n_cols;              /* DENSE / CSR: columns (must equal n_features) */
    const double *dense;         /* DENSE: n_rows * n_cols, row-major */
    const float *dense32;        /* DENSE alternative: float32 rows (float32 arithmetic where
                                    scikit-learn has it, see ckpt_model_compute_dtype) */
    const ckpt_csr *csr;         /* CSR: rows == n_rows, cols == n_cols */
    const char *const *docs;     /* TEXT: n_rows documents, UTF-8 */
    const size_t *doc_lens;      /* TEXT: their lengths (NULL: NUL-terminated) */
    int64_t row_base;            /* number of the first row in error messages (usually 0) */
} ckpt_input;

/* Where the output goes.  Set the member matching ckpt_model_out_kind(); it
   must have room for n_rows * ckpt_model_out_cols() elements (CSR: any
   zeroed or previously filled ckpt_csr; it is overwritten). */
typedef struct ckpt_output {
    int64_t *labels;     /* CKPT_OUT_LABEL / CKPT_OUT_INT */
    double *values;      /* CKPT_OUT_F64 */
    ckpt_csr *csr;       /* CKPT_OUT_CSR */
} ckpt_output;

/* Build options. */
typedef struct ckpt_model_opts {
    int n_threads;          /* rows split over this many threads for large
                               batches; 0 = automatic, 1 = none */
    uint32_t max_nesting;   /* Pipeline / ColumnTransformer / ensemble depth;
                               0 = CKPT_MODEL_DEFAULT_MAX_NESTING */
} ckpt_model_opts;

#define CKPT_MODEL_DEFAULT_MAX_NESTING 16u

CKPT_API ckpt_model_opts ckpt_model_opts_default(void);

/*
 * Build a model from the estimator at `path` in f: NULL or "" means the root
 * object; otherwise a dotted path as ckpt_file lists it ("steps.1.1",
 * "model", "best_estimator_").  Array data is resolved as needed (this
 * mutates f: do not share f with other threads during the call).  `opts` may
 * be NULL.  On failure *out is NULL and err says why (CKPT_E_MODEL naming the
 * class for unsupported or inconsistent estimators).
 */
CKPT_API ckpt_status ckpt_model_build(ckpt_file *f, const char *path, const ckpt_model_opts *opts,
                                      ckpt_model **out, ckpt_error *err);

/*
 * Build a torch layer stack from a state_dict in f.  `spec` lists the Linear
 * layers by prefix, each optionally followed by ':' and the activation applied
 * after it: "net.0:relu,net.2:tanh,net.4".  Activations: relu, gelu (erf
 * form), tanh, sigmoid, softmax (over the row), identity.  Weights are
 * `<prefix>.weight` (out x in) and optional `<prefix>.bias`.  Like PyTorch:
 * a stack with any float64 tensor computes in float64 (others widened);
 * otherwise in float32 (float16 / bfloat16 widened to float32 exactly, input
 * rows rounded to float32).  The model's one method is CKPT_METHOD_PREDICT
 * with CKPT_OUT_F64 (float32 results widened exactly).
 */
CKPT_API ckpt_status ckpt_model_build_layers(ckpt_file *f, const char *spec,
                                             const ckpt_model_opts *opts, ckpt_model **out,
                                             ckpt_error *err);

CKPT_API void ckpt_model_free(ckpt_model *m);

/* ---- what the model takes and gives ---- */

/* Canonical class of the top estimator ("sklearn.pipeline.Pipeline",
   "torch.layers" for a layer stack). */
CKPT_API const char *ckpt_model_class(const ckpt_model *m);
/* Kind of input the model takes. */
CKPT_API ckpt_in_kind ckpt_model_input_kind(const ckpt_model *m);
/* Number of input columns (DENSE/CSR), -1 when the model takes text. */
CKPT_API int64_t ckpt_model_n_features(const ckpt_model *m);
/* Columns of predict() for regressors (1 for single output); 1 for classifiers. */
CKPT_API int64_t ckpt_model_n_outputs(const ckpt_model *m);
CKPT_API int ckpt_model_is_classifier(const ckpt_model *m);

/* float32, the way scikit-learn does it.  A model keeps the dtypes of its
   stored state.  Given float32 rows (ckpt_input.dense32), every estimator
   whose scikit-learn counterpart computes in float32 (NumPy's promotion of
   the input with its stored arrays: float32 coef_ / coefs_ / components_ /
   cluster_centers_ ..., or an in-place transform of a float32 copy of X)
   computes in float32 too: same operations, same OpenBLAS calls, same
   elementwise functions.  The float32 results are written to the float64
   output buffers widened exactly.  Float64 rows (ckpt_input.dense) are
   computed in float64, with float32 state widened, as NumPy does.
   fit_dtype: CKPT_DT_FLOAT32 when the model's floating-point state shows it
   was fitted on float32 data (some estimator in it stores float32
   parameters), else CKPT_DT_FLOAT64.  Some estimators keep float64 state
   even when fitted on float32 (StandardScaler, GaussianNB, LogisticRegression
   lbfgs, SVC...): those report FLOAT64.
   compute_dtype: the dtype of `method`'s float result (CKPT_DT_FLOAT32 or
   CKPT_DT_FLOAT64) for input rows of dtype `in` (FLOAT32 or FLOAT64), exactly
   scikit-learn 1.2's; CKPT_DT_INVALID for label/int outputs, a method the
   model lacks, or another `in`. */
CKPT_API ckpt_dtype ckpt_model_fit_dtype(const ckpt_model *m);
CKPT_API ckpt_dtype ckpt_model_compute_dtype(const ckpt_model *m, ckpt_method method,
                                             ckpt_dtype in);

/* What `method` writes: kind (CKPT_OUT_NONE if the model lacks it) and
   columns per row (CSR: the matrix's column count). */
CKPT_API ckpt_out_kind ckpt_model_out_kind(const ckpt_model *m, ckpt_method method);
CKPT_API int64_t ckpt_model_out_cols(const ckpt_model *m, ckpt_method method);

/* Class labels (classifiers).  n_classes is 0 for other models. */
typedef enum ckpt_label_kind {
    CKPT_LABEL_NONE = 0,
    CKPT_LABEL_INT,
    CKPT_LABEL_FLOAT,
    CKPT_LABEL_BOOL,
    CKPT_LABEL_STR
} ckpt_label_kind;

CKPT_API int64_t ckpt_model_n_classes(const ckpt_model *m);
CKPT_API ckpt_label_kind ckpt_model_label_kind(const ckpt_model *m);
/* Label i as int64 (INT, BOOL), double (INT, FLOAT, BOOL), or text: STR as
   stored (UTF-8, *len bytes, NUL-terminated), others as Python's str() would
   print them ("3", "0.5", "True").  Out-of-range i: 0 / NaN / NULL. */
CKPT_API int64_t ckpt_model_class_int(const ckpt_model *m, int64_t i);
CKPT_API double ckpt_model_class_float(const ckpt_model *m, int64_t i);
CKPT_API const char *ckpt_model_class_str(const ckpt_model *m, int64_t i, size_t *len);

/* ---- prediction (thread-safe on one model) ---- */

/* Run `method` on a batch.  CKPT_E_UNSUPPORTED if the model lacks the method,
   CKPT_E_INPUT for bad input (wrong column count, NaN/inf where the model
   cannot take it): the message names the row, and err->offset is that row's
   number (row_base + index) instead of a byte offset. */
CKPT_API ckpt_status ckpt_model_run(const ckpt_model *m, ckpt_method method, const ckpt_input *in,
                                    const ckpt_output *out, ckpt_error *err);

/* Convenience: dense float64 rows in, float64 out (any method whose kind is
   CKPT_OUT_F64; LABEL/INT results are written as their index / value). */
CKPT_API ckpt_status ckpt_model_predict(const ckpt_model *m, ckpt_method method, const double *X,
                                        int64_t n_rows, int64_t n_cols, double *out,
                                        ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CKPT_MODEL_H */
