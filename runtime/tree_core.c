/*
 * tree_core.c - load sklearn.tree._tree.Tree and HistGradientBoosting
 * TreePredictor node arrays into validated native nodes, and walk them.
 *
 * CART trees (sklearn/tree/_tree.pyx apply_dense): the input row is float32;
 * `x <= threshold` (float32 promoted to double) goes left; NaN goes to
 * missing_go_to_left when the nodes carry it (sklearn >= 1.3), otherwise NaN
 * is rejected before traversal, as sklearn's check_array does.
 *
 * HGB predictors (_predictor.pyx _predict_one_from_raw_data): the row stays
 * float64; NaN follows missing_go_to_left; categorical splits go left when the
 * category is in the node's raw_left_cat_bitsets row, right when it is a known
 * category of the feature, else follow missing_go_to_left.  Category values
 * outside [0, 256) are treated as unknown (newer sklearn does the same;
 * 1.2's uint8 cast of such values is undefined behaviour in C).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tree_internal.h"

void ckpt_tree_free(ckpt_tree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->value);
    free(t->pnorm);
    free(t->n_node_samples);
    free(t->depth);
    free(t->cat_bitsets);
    free(t->fast);
    free(t->hfast);
    free(t->leaf_term);
    memset(t, 0, sizeof *t);
}

ckpt_status ckpt_tree_normalize(ckpt_tree *t, ckpt_error *err)
{
    if (t->n_outputs != 1)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "multi-output classification tree");
    int64_t K = t->n_classes;
    free(t->pnorm);
    t->pnorm = malloc((size_t)(t->n_nodes * K) * sizeof *t->pnorm);
    if (!t->pnorm)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "tree: out of memory");
    for (int64_t i = 0; i < t->n_nodes; i++) {
        const double *v = t->value + i * K;
        double s = 0.0;
        for (int64_t k = 0; k < K; k++)
            s += v[k];
        if (s == 0.0)
            s = 1.0;
        for (int64_t k = 0; k < K; k++)
            t->pnorm[i * K + k] = v[k] / s;
    }
    return CKPT_OK;
}

/* Look up a field of the `nodes` records (its values are read, and checked,
   by ckpt_array_field_f64 / _i64). */
static const ckpt_field_info *get_field(const ckpt_array_info *a, const char *name, int required,
                                        ckpt_error *err, ckpt_status *st)
{
    const ckpt_field_info *f = ckpt_dtype_field(a->dtype, name);
    if (!f && required)
        *st = ckpt_error_set(err, CKPT_E_MODEL, -1, "tree nodes: no field '%s' in dtype %s", name,
                             a->dtype->str);
    return f;
}

/* Field fl of node i as int64 / double; 0, or -1 with err naming the node. */
static int node_i64(ckpt_file *f, size_t idx, int64_t i, const ckpt_field_info *fl, int64_t *out,
                    ckpt_error *err)
{
    ckpt_status st = ckpt_array_field_i64(f, idx, (uint64_t)i, fl, out);
    if (st == CKPT_OK)
        return 0;
    ckpt_error_set(err, CKPT_E_MODEL, -1, "tree nodes: node %lld field '%s' unreadable (%s)",
                   (long long)i, fl->name, ckpt_status_str(st));
    return -1;
}

static int node_f64(ckpt_file *f, size_t idx, int64_t i, const ckpt_field_info *fl, double *out,
                    ckpt_error *err)
{
    ckpt_status st = ckpt_array_field_f64(f, idx, (uint64_t)i, fl, out);
    if (st == CKPT_OK)
        return 0;
    ckpt_error_set(err, CKPT_E_MODEL, -1, "tree nodes: node %lld field '%s' unreadable (%s)",
                   (long long)i, fl->name, ckpt_status_str(st));
    return -1;
}

/* The structured `nodes` array: 1-D records, data resolved. */
static ckpt_status nodes_array(ckpt_file *f, const ckpt_value *v, size_t *idx,
                               const ckpt_array_info **a, ckpt_error *err)
{
    ckpt_status st = ckpt_tree_array(f, v, idx, a, err);
    if (st != CKPT_OK)
        return st;
    const ckpt_array_info *ai = *a;
    if (ai->ndim != 1 || !ai->dtype || ai->dtype->type != CKPT_DT_VOID || !ai->dtype->nfields)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "tree nodes: expected a 1-D structured array");
    if ((int64_t)ai->nelems > CKPT_TREE_MAX_NODES || ai->nelems == 0)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "tree nodes: %llu nodes",
                              (unsigned long long)ai->nelems);
    return CKPT_OK;
}

/* Children strictly after the parent and inside the tree; depth per node. */
static ckpt_status check_topology(ckpt_tree *t, ckpt_error *err)
{
    int64_t n = t->n_nodes;
    t->depth = calloc((size_t)n, sizeof *t->depth);
    if (!t->depth)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "tree: out of memory");
    for (int64_t i = 0; i < n; i++) {
        const ckpt_tree_node *nd = &t->nodes[i];
        if (nd->left < 0)
            continue;
        if (nd->left <= i || nd->right <= i || nd->left >= n || nd->right >= n)
            return ckpt_error_set(err, CKPT_E_MODEL, -1,
                                  "tree: node %lld has children %d/%d outside (%lld, %lld)",
                                  (long long)i, nd->left, nd->right, (long long)i, (long long)n);
        if (nd->feature < 0 || nd->feature >= t->n_features)
            return ckpt_error_set(err, CKPT_E_MODEL, -1,
                                  "tree: node %lld splits on feature %d of %lld", (long long)i,
                                  nd->feature, (long long)t->n_features);
        t->depth[nd->left] = t->depth[i] + 1;
        t->depth[nd->right] = t->depth[i] + 1;
    }
    t->min_leaf_depth = INT32_MAX;
    for (int64_t i = 0; i < n; i++)
        if (t->nodes[i].left < 0 && t->depth[i] < t->min_leaf_depth)
            t->min_leaf_depth = t->depth[i];
    return CKPT_OK;
}

/* The largest float32 <= d (d itself when NaN). */
static float f32_floor(double d)
{
    float f = (float)d;
    if ((double)f > d)
        f = nextafterf(f, -INFINITY);
    return f;
}

/* Compact nodes of a validated tree: CART (float thresholds) or HGB. */
static ckpt_status build_fast(ckpt_tree *t, int hgb, ckpt_error *err)
{
    int64_t n = t->n_nodes;
    if (hgb) {
        for (int64_t i = 0; i < n; i++)
            if (t->nodes[i].is_cat)
                return CKPT_OK; /* categorical splits: the per-node walk */
        t->hfast = malloc((size_t)n * sizeof *t->hfast);
    } else {
        t->fast = malloc((size_t)n * sizeof *t->fast);
    }
    if (!t->fast && !t->hfast)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "tree: out of memory");
    for (int64_t i = 0; i < n; i++) {
        const ckpt_tree_node *nd = &t->nodes[i];
        int leaf = nd->left < 0;
        uint32_t feat = leaf ? 0u : (uint32_t)nd->feature;
        if (!leaf && t->has_missing && nd->miss_left)
            feat |= CKPT_FNODE_NAN_LEFT;
        int32_t l = leaf ? (int32_t)i : nd->left, r = leaf ? (int32_t)i : nd->right;
        if (hgb) {
            ckpt_hnode *o = &t->hfast[i];
            o->thr = nd->thr;
            o->feat = feat;
            o->child[0] = l;
            o->child[1] = r;
            o->pad = 0;
        } else {
            ckpt_fnode *o = &t->fast[i];
            o->thr = f32_floor(nd->thr);
            o->feat = feat;
            o->child[0] = l;
            o->child[1] = r;
        }
    }
    return CKPT_OK;
}

ckpt_status ckpt_tree_load(ckpt_file *f, const ckpt_value *obj, ckpt_tree *t, ckpt_error *err)
{
    memset(t, 0, sizeof *t);
    const char *cls = ckpt_value_class(obj);
    if (!cls || strcmp(cls, "sklearn.tree._tree.Tree") != 0)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "tree_: expected sklearn.tree._tree.Tree, got %s",
                              cls ? cls : "?");
    const ckpt_value *args = ckpt_value_args(obj);
    int64_t nf, nout;
    if (ckpt_value_len(args) < 3 || ckpt_tree_num_i64(ckpt_value_item(args, 0), &nf) != 0 ||
        ckpt_tree_num_i64(ckpt_value_item(args, 2), &nout) != 0 || nf <= 0 || nf > INT32_MAX ||
        nout <= 0 || nout > CKPT_TREE_MAX_VALUES)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "Tree: bad (n_features, n_classes, n_outputs)");
    const ckpt_value *state = ckpt_value_state(obj);
    const ckpt_array_info *na, *va;
    size_t ni, vi;
    ckpt_status st = nodes_array(f, ckpt_dict_get(state, "nodes"), &ni, &na, err);
    if (st != CKPT_OK)
        return st;
    st = ckpt_tree_array(f, ckpt_dict_get(state, "values"), &vi, &va, err);
    if (st != CKPT_OK)
        return st;
    int64_t n = (int64_t)na->nelems, node_count;
    if (ckpt_tree_num_i64(ckpt_dict_get(state, "node_count"), &node_count) == 0 && node_count != n)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "Tree: node_count %lld but %lld nodes",
                              (long long)node_count, (long long)n);
    if (va->ndim != 3 || va->shape[0] != n || va->shape[1] != nout || va->shape[2] <= 0 ||
        va->shape[1] * va->shape[2] > CKPT_TREE_MAX_VALUES)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "Tree: values shape does not match nodes");
    st = CKPT_OK;
    const ckpt_field_info *fl = get_field(na, "left_child", 1, err, &st);
    const ckpt_field_info *fr = get_field(na, "right_child", 1, err, &st);
    const ckpt_field_info *ff = get_field(na, "feature", 1, err, &st);
    const ckpt_field_info *ft = get_field(na, "threshold", 1, err, &st);
    const ckpt_field_info *fs = get_field(na, "n_node_samples", 0, err, &st);
    const ckpt_field_info *fm = get_field(na, "missing_go_to_left", 0, err, &st);
    if (st != CKPT_OK || !fl || !fr || !ff || !ft)
        return st != CKPT_OK ? st : ckpt_error_set(err, CKPT_E_MODEL, -1, "Tree: nodes fields");
    t->n_nodes = n;
    t->n_features = nf;
    t->n_outputs = nout;
    t->n_classes = va->shape[2];
    t->has_missing = fm != NULL;
    size_t nv = (size_t)n * (size_t)nout * (size_t)t->n_classes;
    t->nodes = calloc((size_t)n, sizeof *t->nodes);
    t->value = malloc(nv * sizeof *t->value);
    t->n_node_samples = fs ? calloc((size_t)n, sizeof *t->n_node_samples) : NULL;
    if (!t->nodes || !t->value || (fs && !t->n_node_samples)) {
        ckpt_tree_free(t);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "Tree: out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t l, r, feat, ms = 0, ns = 0;
        double thr;
        if (node_i64(f, ni, i, fl, &l, err) || node_i64(f, ni, i, fr, &r, err) ||
            node_i64(f, ni, i, ff, &feat, err) || node_f64(f, ni, i, ft, &thr, err) ||
            (fm && node_i64(f, ni, i, fm, &ms, err)) || (fs && node_i64(f, ni, i, fs, &ns, err))) {
            ckpt_tree_free(t);
            return CKPT_E_MODEL;
        }
        ckpt_tree_node *o = &t->nodes[i];
        if (l == -1 && r == -1) {
            o->left = o->right = -1;
            o->feature = 0;
        } else {
            if (l < 0 || r < 0 || l > INT32_MAX || r > INT32_MAX || feat < 0 || feat > INT32_MAX) {
                ckpt_tree_free(t);
                return ckpt_error_set(err, CKPT_E_MODEL, -1, "Tree: node %lld malformed",
                                      (long long)i);
            }
            o->left = (int32_t)l;
            o->right = (int32_t)r;
            o->feature = (int32_t)feat;
        }
        o->thr = thr;
        o->miss_left = ms != 0;
        if (t->n_node_samples)
            t->n_node_samples[i] = ns;
    }
    for (size_t k = 0; k < nv; k++)
        t->value[k] = ckpt_array_get_f64(f, vi, k);
    st = check_topology(t, err);
    if (st == CKPT_OK)
        st = build_fast(t, 0, err);
    if (st != CKPT_OK)
        ckpt_tree_free(t);
    return st;
}

ckpt_status ckpt_tree_load_hgb(ckpt_file *f, const ckpt_value *obj, int64_t n_features,
                               ckpt_tree *t, ckpt_error *err)
{
    memset(t, 0, sizeof *t);
    const ckpt_array_info *na;
    size_t ni;
    ckpt_status st = nodes_array(f, ckpt_value_attr(obj, "nodes"), &ni, &na, err);
    if (st != CKPT_OK)
        return st;
    st = CKPT_OK;
    const ckpt_field_info *fv = get_field(na, "value", 1, err, &st);
    const ckpt_field_info *ff = get_field(na, "feature_idx", 1, err, &st);
    const ckpt_field_info *ft = get_field(na, "num_threshold", 1, err, &st);
    const ckpt_field_info *fm = get_field(na, "missing_go_to_left", 1, err, &st);
    const ckpt_field_info *fl = get_field(na, "left", 1, err, &st);
    const ckpt_field_info *fr = get_field(na, "right", 1, err, &st);
    const ckpt_field_info *fi = get_field(na, "is_leaf", 1, err, &st);
    const ckpt_field_info *fc = get_field(na, "is_categorical", 0, err, &st);
    const ckpt_field_info *fb = get_field(na, "bitset_idx", 0, err, &st);
    if (st != CKPT_OK || !fv || !ff || !ft || !fm || !fl || !fr || !fi)
        return st != CKPT_OK ? st : ckpt_error_set(err, CKPT_E_MODEL, -1, "predictor fields");
    int64_t n = (int64_t)na->nelems;
    t->n_nodes = n;
    t->n_features = n_features;
    t->n_outputs = 1;
    t->n_classes = 1;
    t->has_missing = 1;
    t->nodes = calloc((size_t)n, sizeof *t->nodes);
    t->value = calloc((size_t)n, sizeof *t->value);
    if (!t->nodes || !t->value) {
        ckpt_tree_free(t);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "predictor: out of memory");
    }
    /* raw_left_cat_bitsets: (n_bitsets, 8) uint32, absent before 0.24 */
    const ckpt_value *bv = ckpt_value_attr(obj, "raw_left_cat_bitsets");
    if (bv && ckpt_value_kind(bv) != CKPT_K_NONE) {
        const ckpt_array_info *ba;
        size_t bi;
        st = ckpt_tree_array(f, bv, &bi, &ba, err);
        if (st != CKPT_OK) {
            ckpt_tree_free(t);
            return st;
        }
        if (ba->ndim != 2 || ba->shape[1] != 8 || ba->shape[0] < 0 || ba->shape[0] > (1 << 24)) {
            ckpt_tree_free(t);
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "predictor: bad raw_left_cat_bitsets");
        }
        t->n_bitsets = ba->shape[0];
        if (t->n_bitsets) {
            t->cat_bitsets = malloc((size_t)t->n_bitsets * 8 * sizeof *t->cat_bitsets);
            if (!t->cat_bitsets) {
                ckpt_tree_free(t);
                return ckpt_error_set(err, CKPT_E_NOMEM, -1, "predictor: out of memory");
            }
            for (int64_t k = 0; k < t->n_bitsets * 8; k++) {
                int64_t w;
                if (ckpt_array_get_i64(f, bi, (uint64_t)k, &w) != CKPT_OK || w < 0 ||
                    w > (int64_t)UINT32_MAX) {
                    ckpt_tree_free(t);
                    return ckpt_error_set(err, CKPT_E_MODEL, -1,
                                          "predictor: raw_left_cat_bitsets word %lld is no uint32",
                                          (long long)k);
                }
                t->cat_bitsets[k] = (uint32_t)w;
            }
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t l, r, feat, ms, leaf, cat = 0, bs = 0;
        double thr, val;
        if (node_f64(f, ni, i, fv, &val, err) || node_i64(f, ni, i, ff, &feat, err) ||
            node_f64(f, ni, i, ft, &thr, err) || node_i64(f, ni, i, fm, &ms, err) ||
            node_i64(f, ni, i, fl, &l, err) || node_i64(f, ni, i, fr, &r, err) ||
            node_i64(f, ni, i, fi, &leaf, err) || (fc && node_i64(f, ni, i, fc, &cat, err)) ||
            (fb && node_i64(f, ni, i, fb, &bs, err))) {
            ckpt_tree_free(t);
            return CKPT_E_MODEL;
        }
        ckpt_tree_node *o = &t->nodes[i];
        t->value[i] = val;
        o->thr = thr;
        o->miss_left = ms != 0;
        if (leaf) {
            o->left = o->right = -1;
            continue;
        }
        if (l < 0 || r < 0 || l > INT32_MAX || r > INT32_MAX || feat < 0 || feat > INT32_MAX ||
            (cat && (bs < 0 || bs >= t->n_bitsets))) {
            ckpt_tree_free(t);
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "predictor: node %lld malformed",
                                  (long long)i);
        }
        o->left = (int32_t)l;
        o->right = (int32_t)r;
        o->feature = (int32_t)feat;
        o->is_cat = cat != 0;
        o->bitset = (uint32_t)bs;
    }
    st = check_topology(t, err);
    if (st == CKPT_OK)
        st = build_fast(t, 1, err);
    if (st != CKPT_OK)
        ckpt_tree_free(t);
    return st;
}

static inline int in_bitset(const uint32_t *bs, unsigned v)
{
    return (bs[v >> 5] >> (v & 31)) & 1u;
}

int64_t ckpt_tree_leaf_hgb(const ckpt_tree *t, const double *x, const uint32_t *known_cat,
                           const int32_t *cat_map)
{
    const ckpt_tree_node *nd = t->nodes;
    int64_t i = 0;
    while (nd[i].left >= 0) {
        const ckpt_tree_node *c = &nd[i];
        double v = x[c->feature];
        if (v != v) {
            i = c->miss_left ? c->left : c->right;
        } else if (c->is_cat) {
            int32_t m = cat_map ? cat_map[c->feature] : -1;
            if (v >= 0.0 && v < 256.0) {
                unsigned b = (unsigned)v;
                if (in_bitset(t->cat_bitsets + (size_t)c->bitset * 8, b))
                    i = c->left;
                else if (m >= 0 && known_cat && in_bitset(known_cat + (size_t)m * 8, b))
                    i = c->right;
                else
                    i = c->miss_left ? c->left : c->right;
            } else {
                i = c->miss_left ? c->left : c->right;
            }
        } else {
            i = (v <= c->thr) ? c->left : c->right;
        }
    }
    return i;
}

#define LOCKSTEP 16

/* One branch-free step of a row: the child the row goes to.  NaN compares
   false, so it goes right unless the node sends missing values left (NAN
   variant; the plain one serves rows known to hold no NaN). */
#define FAST_STEP_NAN(nd, T, idx, xrow)                                                       \
    do {                                                                                      \
        uint32_t fm_ = (nd)[idx].feat;                                                        \
        T v_ = (xrow)[fm_ & ~CKPT_FNODE_NAN_LEFT];                                            \
        int right_ = !(v_ <= (nd)[idx].thr) & !((v_ != v_) & (int)(fm_ >> 31));               \
        (idx) = (nd)[idx].child[right_];                                                      \
    } while (0)
#define FAST_STEP_PLAIN(nd, T, idx, xrow)                                                     \
    do {                                                                                      \
        T v_ = (xrow)[(nd)[idx].feat & ~CKPT_FNODE_NAN_LEFT];                                 \
        (idx) = (nd)[idx].child[v_ > (nd)[idx].thr];                                          \
    } while (0)

/* Lockstep walk of nb rows over compact nodes (CART float32 rows or HGB
   float64 rows): min_depth steps unconditionally, then until no row moves. */
#define FAST_WALK(STEP, nd, T, x, stride, nb, min_depth, leaf)                                      \
    do {                                                                                      \
        int64_t r0_ = 0;                                                                      \
        for (; r0_ + LOCKSTEP <= (nb); r0_ += LOCKSTEP) {                                     \
            int32_t idx_[LOCKSTEP] = {0};                                                     \
            const T *xr_ = (x) + r0_ * (stride);                                              \
            for (int32_t d_ = 0; d_ < (min_depth); d_++)                                      \
                for (int j_ = 0; j_ < LOCKSTEP; j_++)                                         \
                    STEP(nd, T, idx_[j_], xr_ + j_ * (stride));                             \
            for (;;) {                                                                        \
                int32_t moved_ = 0;                                                           \
                for (int j_ = 0; j_ < LOCKSTEP; j_++) {                                       \
                    int32_t was_ = idx_[j_];                                                  \
                    STEP(nd, T, idx_[j_], xr_ + j_ * (stride));                             \
                    moved_ |= was_ ^ idx_[j_];                                                \
                }                                                                             \
                if (!moved_)                                                                  \
                    break;                                                                    \
            }                                                                                 \
            for (int j_ = 0; j_ < LOCKSTEP; j_++)                                             \
                (leaf)[r0_ + j_] = idx_[j_];                                                  \
        }                                                                                     \
        for (; r0_ < (nb); r0_++) {                                                           \
            const T *xr_ = (x) + r0_ * (stride);                                              \
            int32_t i_ = 0, was_;                                                             \
            do {                                                                              \
                was_ = i_;                                                                    \
                STEP(nd, T, i_, xr_);                                                       \
            } while (i_ != was_);                                                             \
            (leaf)[r0_] = i_;                                                                 \
        }                                                                                     \
    } while (0)

void ckpt_tree_leaves32(const ckpt_tree *t, const float *x, int64_t stride, int64_t nb,
                        int may_nan, int32_t *leaf)
{
    if (t->fast) {
        const ckpt_fnode *nd = t->fast;
        if (may_nan && t->has_missing)
            FAST_WALK(FAST_STEP_NAN, nd, float, x, stride, nb, t->min_leaf_depth, leaf);
        else
            FAST_WALK(FAST_STEP_PLAIN, nd, float, x, stride, nb, t->min_leaf_depth, leaf);
        return;
    }
    for (int64_t r = 0; r < nb; r++)
        leaf[r] = (int32_t)ckpt_tree_leaf32(t, x + r * stride);
}

void ckpt_tree_leaves_hgb(const ckpt_tree *t, const double *x, int64_t stride, int64_t nb,
                          const uint32_t *known_cat, const int32_t *cat_map, int may_nan,
                          int32_t *leaf)
{
    if (t->hfast) {
        const ckpt_hnode *nd = t->hfast;
        if (may_nan)
            FAST_WALK(FAST_STEP_NAN, nd, double, x, stride, nb, t->min_leaf_depth, leaf);
        else
            FAST_WALK(FAST_STEP_PLAIN, nd, double, x, stride, nb, t->min_leaf_depth, leaf);
        return;
    }
    /* categorical splits: one row at a time */
    for (int64_t r = 0; r < nb; r++)
        leaf[r] = (int32_t)ckpt_tree_leaf_hgb(t, x + r * stride, known_cat, cat_map);
}

/* One row through TG trees of compact nodes in lockstep. */
#define TG 16
#define GROUP_WALK(STEP, NT, T, FIELD, trees, t0, x, leaf, ostride)                            \
    do {                                                                                      \
        const NT *nds_[TG];                                                                   \
        int32_t idx_[TG];                                                                     \
        int32_t mind_ = INT32_MAX;                                                            \
        for (int j_ = 0; j_ < TG; j_++) {                                                     \
            nds_[j_] = (trees)[(t0) + j_].FIELD;                                              \
            idx_[j_] = 0;                                                                     \
            if ((trees)[(t0) + j_].min_leaf_depth < mind_)                                    \
                mind_ = (trees)[(t0) + j_].min_leaf_depth;                                    \
        }                                                                                     \
        for (int32_t d_ = 0; d_ < mind_; d_++)                                                \
            for (int j_ = 0; j_ < TG; j_++)                                                   \
                STEP(nds_[j_], T, idx_[j_], (x));                                             \
        for (;;) {                                                                            \
            int32_t moved_ = 0;                                                               \
            for (int j_ = 0; j_ < TG; j_++) {                                                 \
                int32_t was_ = idx_[j_];                                                      \
                STEP(nds_[j_], T, idx_[j_], (x));                                             \
                moved_ |= was_ ^ idx_[j_];                                                    \
            }                                                                                 \
            if (!moved_)                                                                      \
                break;                                                                        \
        }                                                                                     \
        for (int j_ = 0; j_ < TG; j_++)                                                       \
            (leaf)[((t0) + j_) * (ostride)] = idx_[j_];                                       \
    } while (0)

static int group_fast(const ckpt_tree *trees, int64_t t0, int hgb)
{
    for (int64_t j = 0; j < TG; j++)
        if (hgb ? !trees[t0 + j].hfast : !trees[t0 + j].fast)
            return 0;
    return 1;
}

void ckpt_trees_row_leaves32(const ckpt_tree *trees, int64_t nt, const float *x, int may_nan,
                             int32_t *leaf, int64_t ostride)
{
    int64_t t0 = 0;
    for (; t0 + TG <= nt; t0 += TG) {
        if (!group_fast(trees, t0, 0))
            break;

        if (may_nan)
            GROUP_WALK(FAST_STEP_NAN, ckpt_fnode, float, fast, trees, t0, x, leaf, ostride);
        else
            GROUP_WALK(FAST_STEP_PLAIN, ckpt_fnode, float, fast, trees, t0, x, leaf, ostride);
    }
    for (; t0 < nt; t0++)
        ckpt_tree_leaves32(&trees[t0], x, 0, 1, may_nan, &leaf[t0 * ostride]);
}

void ckpt_trees_row_leaves_hgb(const ckpt_tree *trees, int64_t nt, const double *x,
                               const uint32_t *known_cat, const int32_t *cat_map, int may_nan,
                               int32_t *leaf, int64_t ostride)
{
    int64_t t0 = 0;
    for (; t0 + TG <= nt; t0 += TG) {
        if (!group_fast(trees, t0, 1))
            break;
        if (may_nan)
            GROUP_WALK(FAST_STEP_NAN, ckpt_hnode, double, hfast, trees, t0, x, leaf, ostride);
        else
            GROUP_WALK(FAST_STEP_PLAIN, ckpt_hnode, double, hfast, trees, t0, x, leaf, ostride);
    }
    for (; t0 < nt; t0++)
        ckpt_tree_leaves_hgb(&trees[t0], x, 0, 1, known_cat, cat_map, may_nan,
                             &leaf[t0 * ostride]);
}

int ckpt_tree_any_nan_f32(const float *x, int64_t n)
{
    int nan = 0;
    for (int64_t i = 0; i < n; i++)
        nan |= x[i] != x[i];
    return nan;
}

int ckpt_tree_any_nan_f64(const double *x, int64_t n)
{
    int nan = 0;
    for (int64_t i = 0; i < n; i++)
        nan |= x[i] != x[i];
    return nan;
}

int64_t ckpt_tree_depth_of(const ckpt_tree *t, int64_t leaf)
{
    return (leaf >= 0 && leaf < t->n_nodes) ? t->depth[leaf] : 0;
}

ckpt_status ckpt_tree_to_f32(const double *X, int64_t n, int64_t nf, float *out, int allow_nan,
                             ckpt_error *err)
{
    /* the smallest double that rounds to +inf in float32 */
    const double big = 0x1.ffffffp127;
    size_t total = (size_t)n * (size_t)nf;
    for (size_t k = 0; k < total; k++) {
        double d = X[k];
        if (d != d) {
            if (!allow_nan)
                return ckpt_error_set(err, CKPT_E_INPUT, -1,
                                      "input contains NaN (row %lld, feature %lld)",
                                      (long long)(k / (size_t)nf), (long long)(k % (size_t)nf));
            out[k] = NAN;
            continue;
        }
        if (fabs(d) >= big)
            return ckpt_error_set(err, CKPT_E_INPUT, -1,
                                  "input contains infinity or a value too large for float32 "
                                  "(row %lld, feature %lld)",
                                  (long long)(k / (size_t)nf), (long long)(k % (size_t)nf));
        out[k] = (float)d;
    }
    return CKPT_OK;
}
