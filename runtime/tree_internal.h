/*
 * tree_internal.h - decision-tree traversal shared by runtime/tree*.c and
 * runtime/ensemble*.c.
 *
 * A ckpt_tree is a compact native copy of one sklearn.tree._tree.Tree (or one
 * HistGradientBoosting TreePredictor), validated once at load time so that the
 * hot loop needs no checks:
 *   - every internal node has 0 <= feature < n_features,
 *   - children are strictly greater than their parent and < n_nodes (that is
 *     how scikit-learn numbers nodes), so a walk ends in <= n_nodes steps;
 *   - leaves have left == -1.
 * Node fields are read BY NAME from the structured dtype of `nodes`
 * (ckpt_dtype_field + ckpt_array_field_*), so missing_go_to_left
 * (sklearn >= 1.3) and record-size changes are handled.
 */
#ifndef CKPT_TREE_INTERNAL_H
#define CKPT_TREE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt_common.h"
#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_pickle.h"

/* Limits (hostile input): nodes per tree, outputs x classes per node. */
#define CKPT_TREE_MAX_NODES   ((int64_t)1 << 31)
#define CKPT_TREE_MAX_VALUES  ((int64_t)1 << 20)   /* n_outputs * max_n_classes */

typedef struct ckpt_tree_node {
    double thr;        /* threshold (CART: compared with the float32 input) */
    int32_t left;      /* -1 for a leaf */
    int32_t right;
    int32_t feature;
    uint8_t miss_left; /* NaN goes left (only meaningful when has_missing) */
    uint8_t is_cat;    /* HGB categorical split */
    uint16_t pad;
    uint32_t bitset;   /* HGB: row of raw_left_cat_bitsets */
} ckpt_tree_node;

/* Compact nodes for the batch kernels (built at load from the validated
   nodes).  A leaf points to itself through both children, so a walk can run
   branch-free until no row moves.  `feat` bit 31: NaN goes left. */
#define CKPT_FNODE_NAN_LEFT 0x80000000u
typedef struct ckpt_fnode {     /* CART: float32 rows */
    float thr;                  /* largest float32 <= the double threshold: for a
                                   float32 x, x <= thr  <=>  (double)x <= threshold */
    uint32_t feat;
    int32_t child[2];           /* [0] left, [1] right */
} ckpt_fnode;
typedef struct ckpt_hnode {     /* HGB numeric splits: float64 rows */
    double thr;
    uint32_t feat;
    int32_t child[2];
    uint32_t pad;
} ckpt_hnode;

typedef struct ckpt_tree {
    int64_t n_nodes;
    int64_t n_features;
    int64_t n_outputs;
    int64_t n_classes;         /* max_n_classes (1 for regressors) */
    int has_missing;           /* nodes carry missing_go_to_left */
    ckpt_tree_node *nodes;
    double *value;             /* n_nodes * n_outputs * n_classes */
    double *pnorm;             /* classifiers: value / sum(value) per node (sum 0 -> 1),
                                  exactly sklearn's predict_proba row; else NULL */
    int64_t *n_node_samples;   /* CART only (IsolationForest) */
    int32_t *depth;            /* node depth (IsolationForest path length) */
    /* HGB only */
    uint32_t *cat_bitsets;     /* n_bitsets * 8 (raw_left_cat_bitsets) */
    int64_t n_bitsets;
    /* batch kernels: CART trees have `fast`, HGB predictors without
       categorical splits `hfast` (else NULL: the per-node walk is used) */
    ckpt_fnode *fast;
    ckpt_hnode *hfast;
    int32_t min_leaf_depth;    /* steps every row takes before any can stop */
    double *leaf_term;         /* IsolationForest: per node (depth + 1 + c(n_node_samples))
                                  - 1, sklearn's per-tree path-length term; else NULL */
} ckpt_tree;

void ckpt_tree_free(ckpt_tree *t);
/* Fill t->pnorm (single-output classification trees). */
ckpt_status ckpt_tree_normalize(ckpt_tree *t, ckpt_error *err);

/* Read a sklearn.tree._tree.Tree object node (REDUCE Tree(n_features, n_classes,
   n_outputs) + BUILD {node_count, nodes, values}). */
ckpt_status ckpt_tree_load(ckpt_file *f, const ckpt_value *tree_obj, ckpt_tree *out,
                           ckpt_error *err);

/* Read an HGB TreePredictor object node (nodes + raw_left_cat_bitsets);
   n_features bounds feature_idx. */
ckpt_status ckpt_tree_load_hgb(ckpt_file *f, const ckpt_value *pred_obj, int64_t n_features,
                               ckpt_tree *out, ckpt_error *err);

/* Leaf reached by one float32 row (CART: <= goes left, NaN by missing_go_to_left). */
static inline int64_t ckpt_tree_leaf32(const ckpt_tree *t, const float *x)
{
    const ckpt_tree_node *nd = t->nodes;
    int64_t i = 0;
    while (nd[i].left >= 0) {
        double v = (double)x[nd[i].feature];
        if (v <= nd[i].thr)
            i = nd[i].left;
        else if (v != v && nd[i].miss_left)
            i = nd[i].left;
        else
            i = nd[i].right;
    }
    return i;
}

/* Leaves of nb float32 rows (row r at x + r * stride), several rows walked
   in lockstep (branch-free, leaves self-looping) so that their memory
   latencies overlap.  may_nan = 0 promises the rows hold no NaN (the
   comparison then skips the missing-value test). */
void ckpt_tree_leaves32(const ckpt_tree *t, const float *x, int64_t stride, int64_t nb,
                        int may_nan, int32_t *leaf);
/* Same for HGB predictors on float64 rows. */
void ckpt_tree_leaves_hgb(const ckpt_tree *t, const double *x, int64_t stride, int64_t nb,
                          const uint32_t *known_cat, const int32_t *cat_map, int may_nan,
                          int32_t *leaf);
/* Leaves of ONE row in nt trees (tree t's leaf at leaf[t * ostride]), 16
   trees walked in lockstep: the latency path of single-row calls. */
void ckpt_trees_row_leaves32(const ckpt_tree *trees, int64_t nt, const float *x, int may_nan,
                             int32_t *leaf, int64_t ostride);
void ckpt_trees_row_leaves_hgb(const ckpt_tree *trees, int64_t nt, const double *x,
                               const uint32_t *known_cat, const int32_t *cat_map, int may_nan,
                               int32_t *leaf, int64_t ostride);
/* 1 if any of the n values is NaN. */
int ckpt_tree_any_nan_f32(const float *x, int64_t n);
int ckpt_tree_any_nan_f64(const double *x, int64_t n);

/* HGB leaf from a float64 row (known_cat: per-feature 8-word bitsets of known
   categories, or NULL when there are no categorical features). */
int64_t ckpt_tree_leaf_hgb(const ckpt_tree *t, const double *x, const uint32_t *known_cat,
                           const int32_t *cat_map);

/* Depth of the leaf reached (IsolationForest): number of edges from the root. */
int64_t ckpt_tree_depth_of(const ckpt_tree *t, int64_t leaf);

/* X (n x nf float64, row-major) -> float32 like numpy's astype(float32) with
   sklearn's finiteness check: NaN allowed only if allow_nan, infinity (and
   values too large for float32) always rejected with CKPT_E_INPUT. */
ckpt_status ckpt_tree_to_f32(const double *X, int64_t n, int64_t nf, float *out, int allow_nan,
                             ckpt_error *err);

/* ---- small helpers for reading estimator state (runtime/tree_read.c) ---- */

/* int/float/bool or numpy scalar -> int64 / double.  0 ok, -1 not a number. */
int ckpt_tree_num_i64(const ckpt_value *v, int64_t *out);
int ckpt_tree_num_f64(const ckpt_value *v, double *out);
/* Array made from graph node v: its index in the file's array table and its
   info, data resolved (read elements with ckpt_array_get_f64 / _i64 and
   ckpt_array_field_f64 / _i64), or CKPT_E_*. */
ckpt_status ckpt_tree_array(ckpt_file *f, const ckpt_value *v, size_t *idx,
                            const ckpt_array_info **info, ckpt_error *err);

#endif
