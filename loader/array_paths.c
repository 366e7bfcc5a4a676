/*
 * array_paths.c - find the arrays/tensors in a pickle graph and name them by
 * dotted paths.
 *
 * The walk is a pre-order depth-first traversal with an explicit stack (no
 * recursion), a visited set on ckpt_value_id (a shared node is reached once:
 * the first path wins) and the limits.max_depth bound (deeper nesting is a
 * CKPT_E_LIMIT error).  At every container/object node the recognizers are
 * asked in turn (numpy, then torch); a node they turn into an array is not
 * descended into, except that the items of an object-dtype array (graph
 * values, e.g. the trees of a gradient-boosting `estimators_`) are walked
 * under "<array path>.<i>.<j>" (numpy's multi-index).  Scalars (None, bool, int, float, str, bytes, globals,
 * buffers) are never pushed.
 *
 * Path segments:
 *   dict            str key as is; int key in decimal; True/False/None;
 *                   any other key "#i" (i = position of the pair in the dict)
 *   list/tuple/set  the item index
 *   object          args items by index (namedtuple-like NEWOBJ), NEWOBJ_EX
 *                   kwargs by name, attributes of each BUILD state (a dict, or
 *                   both dicts of a (dict, slotstate) tuple); any other state
 *                   value is walked under the object's own path; items
 *                   APPENDed/SETITEMed on it (list / OrderedDict subclasses)
 *                   by index / key; a BUILD_ONLY wrapper's target under the
 *                   object's own path.
 * The root's path is `prefix` ("" for the main pickle: a pickled bare array
 * gets the empty path).
 */
#include "loader_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CKPT__WALK_INITIAL_FRAMES 64u
#define CKPT__WALK_INITIAL_ARENA 1024u
/* Object-array items get a multi-index path segment up to this many dims. */
#define CKPT__WALK_MAX_INDEX_DIMS 8u

typedef struct walk_frame {
    ckpt_value *v;
    size_t path_off; /* into the arena; NUL-terminated */
    size_t path_len;
    size_t arena_top; /* arena length just after this frame was pushed */
    uint32_t depth;
} walk_frame;

typedef struct walker {
    ckpt_file *f;
    walk_frame *frames;
    size_t n, cap;
    char *arena;
    size_t alen, acap;
    uint8_t *seen; /* bitmap on node id */
    size_t seen_bytes;
    /* the frame whose children are being pushed */
    size_t parent_off, parent_len;
    uint32_t parent_depth;
} walker;

static ckpt_status arena_reserve(walker *w, size_t extra) {
    uint64_t need;
    if (!ckpt__add_ok(w->alen, extra, &need) || need > SIZE_MAX / 2) return CKPT_E_NOMEM;
    if (need <= w->acap) return CKPT_OK;
    size_t ncap = w->acap ? w->acap : CKPT__WALK_INITIAL_ARENA;
    while (ncap < need) ncap *= 2;
    char *na = ckpt__realloc(&w->f->alloc, w->arena, w->acap, ncap);
    if (!na) return CKPT_E_NOMEM;
    w->arena = na;
    w->acap = ncap;
    return CKPT_OK;
}

/* Push child `v` whose path is parent + "." + seg (seg of seg_len bytes);
   `same_path` pushes it under the parent's own path. */
static ckpt_status push(walker *w, ckpt_value *v, const char *seg, size_t seg_len, int same_path) {
    switch (ckpt_value_kind(v)) {
    case CKPT_K_NONE: case CKPT_K_BOOL: case CKPT_K_INT: case CKPT_K_FLOAT: case CKPT_K_STR:
    case CKPT_K_BYTES: case CKPT_K_BYTEARRAY: case CKPT_K_GLOBAL: case CKPT_K_BUFFER:
        return CKPT_OK; /* never an array, nothing below */
    default:
        break;
    }
    if (!v) return CKPT_OK;
    uint64_t id = ckpt_value_id(v);
    if (id / 8 < w->seen_bytes && (w->seen[id / 8] >> (id % 8) & 1)) return CKPT_OK;
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : CKPT__WALK_INITIAL_FRAMES;
        if (ncap > SIZE_MAX / sizeof(walk_frame)) return CKPT_E_NOMEM;
        walk_frame *nf = ckpt__realloc(&w->f->alloc, w->frames, w->cap * sizeof(walk_frame),
                                       ncap * sizeof(walk_frame));
        if (!nf) return CKPT_E_NOMEM;
        w->frames = nf;
        w->cap = ncap;
    }
    walk_frame *fr = &w->frames[w->n];
    fr->v = v;
    fr->depth = w->parent_depth + 1;
    if (same_path) {
        fr->path_off = w->parent_off;
        fr->path_len = w->parent_len;
    } else {
        size_t dot = w->parent_len ? 1 : 0;
        ckpt_status st = arena_reserve(w, w->parent_len + dot + seg_len + 1);
        if (st != CKPT_OK) return st;
        char *d = w->arena + w->alen;
        memmove(d, w->arena + w->parent_off, w->parent_len);
        if (dot) d[w->parent_len] = '.';
        memcpy(d + w->parent_len + dot, seg, seg_len);
        d[w->parent_len + dot + seg_len] = '\0';
        fr->path_off = w->alen;
        fr->path_len = w->parent_len + dot + seg_len;
        w->alen += fr->path_len + 1;
    }
    fr->arena_top = w->alen;
    w->n++;
    return CKPT_OK;
}

static ckpt_status push_index(walker *w, ckpt_value *v, size_t i) {
    char seg[32];
    int n = snprintf(seg, sizeof seg, "%zu", i);
    return push(w, v, seg, (size_t)n, 0);
}

/* Path segment of a dict key; `pos` is the pair's position (fallback "#pos"). */
static ckpt_status push_keyed(walker *w, ckpt_value *v, const ckpt_value *key, size_t pos) {
    char seg[48];
    int n;
    int64_t iv;
    switch (ckpt_value_kind(key)) {
    case CKPT_K_STR: {
        size_t len;
        const uint8_t *p = ckpt_value_bytes(key, &len);
        const void *nul = memchr(p, 0, len);
        if (nul) len = (size_t)((const uint8_t *)nul - p);
        return push(w, v, (const char *)p, len, 0);
    }
    case CKPT_K_BOOL:
        return push(w, v, ckpt_value_bool(key) ? "True" : "False", ckpt_value_bool(key) ? 4 : 5, 0);
    case CKPT_K_NONE:
        return push(w, v, "None", 4, 0);
    case CKPT_K_INT:
        if (ckpt_value_int64(key, &iv) == CKPT_OK) {
            n = snprintf(seg, sizeof seg, "%" PRId64, iv);
            return push(w, v, seg, (size_t)n, 0);
        }
        break;
    default:
        break;
    }
    n = snprintf(seg, sizeof seg, "#%zu", pos);
    return push(w, v, seg, (size_t)n, 0);
}

static ckpt_status push_dict_pairs_rev(walker *w, const ckpt_value *d) {
    for (size_t i = ckpt_value_len(d); i-- > 0;) {
        ckpt_status st = push_keyed(w, ckpt_value_dict_val(d, i), ckpt_value_dict_key(d, i), i);
        if (st != CKPT_OK) return st;
    }
    return CKPT_OK;
}

static ckpt_status push_items_rev(walker *w, const ckpt_value *c) {
    for (size_t i = ckpt_value_len(c); i-- > 0;) {
        ckpt_status st = push_index(w, ckpt_value_item(c, i), i);
        if (st != CKPT_OK) return st;
    }
    return CKPT_OK;
}

/* One BUILD state, children pushed in reverse. */
static ckpt_status push_state_rev(walker *w, ckpt_value *s) {
    ckpt_kind k = ckpt_value_kind(s);
    if (k == CKPT_K_DICT) return push_dict_pairs_rev(w, s);
    if (k == CKPT_K_TUPLE && ckpt_value_len(s) == 2) {
        ckpt_value *d0 = ckpt_value_item(s, 0), *d1 = ckpt_value_item(s, 1);
        ckpt_kind k0 = ckpt_value_kind(d0), k1 = ckpt_value_kind(d1);
        if ((k0 == CKPT_K_DICT || k0 == CKPT_K_NONE) && (k1 == CKPT_K_DICT || k1 == CKPT_K_NONE)) {
            ckpt_status st = CKPT_OK;
            if (k1 == CKPT_K_DICT) st = push_dict_pairs_rev(w, d1);
            if (st == CKPT_OK && k0 == CKPT_K_DICT) st = push_dict_pairs_rev(w, d0);
            return st;
        }
    }
    return push(w, s, NULL, 0, 1);
}

/* Children of an unrecognised node, pushed in reverse so they pop in order. */
static ckpt_status push_children(walker *w, ckpt_value *v) {
    ckpt_status st = CKPT_OK;
    switch (ckpt_value_kind(v)) {
    case CKPT_K_DICT:
        return push_dict_pairs_rev(w, v);
    case CKPT_K_LIST: case CKPT_K_TUPLE: case CKPT_K_SET: case CKPT_K_FROZENSET:
        return push_items_rev(w, v);
    case CKPT_K_OBJECT: {
        ckpt_value *t = ckpt_value_build_target(v);
        if (t) st = push(w, t, NULL, 0, 1);
        ckpt_value *od = ckpt_value_obj_dict(v);
        if (st == CKPT_OK && od) st = push_dict_pairs_rev(w, od);
        ckpt_value *ol = ckpt_value_obj_list(v);
        if (st == CKPT_OK && ol) st = push_items_rev(w, ol);
        for (size_t i = ckpt_value_state_count(v); st == CKPT_OK && i-- > 0;)
            st = push_state_rev(w, ckpt_value_state_at(v, i));
        ckpt_value *kw = ckpt_value_kwargs(v);
        if (st == CKPT_OK && ckpt_value_kind(kw) == CKPT_K_DICT) st = push_dict_pairs_rev(w, kw);
        ckpt_value *args = ckpt_value_args(v);
        if (st == CKPT_OK && args) {
            if (ckpt_value_kind(args) == CKPT_K_TUPLE) st = push_items_rev(w, args);
            else st = push(w, args, NULL, 0, 1);
        }
        return st;
    }
    default:
        return CKPT_OK; /* PERSID and the rest: nothing to descend into */
    }
}

/* Items of an object-dtype array, under "<path>.<i>.<j>..." (numpy's
   multi-index; a flat index beyond CKPT__WALK_MAX_INDEX_DIMS dims; the
   array's own path for 0-d), pushed in reverse. */
static ckpt_status push_object_items_rev(walker *w, const ckpt__array *a) {
    if (a->info.dtype->type != CKPT_DT_OBJECT || !a->obj_items) return CKPT_OK;
    size_t n = ckpt_value_len(a->obj_items);
    if ((uint64_t)n > a->info.nelems) n = (size_t)a->info.nelems;
    uint32_t nd = a->info.ndim;
    for (size_t k = n; k-- > 0;) {
        ckpt_value *item = ckpt_value_item(a->obj_items, k);
        ckpt_status st;
        if (nd == 0) {
            st = push(w, item, NULL, 0, 1);
        } else if (nd > CKPT__WALK_MAX_INDEX_DIMS) {
            st = push_index(w, item, k);
        } else {
            char seg[CKPT__WALK_MAX_INDEX_DIMS * 21 + 1];
            size_t len = sizeof seg - 1;
            uint64_t rem = k;
            seg[len] = '\0';
            for (uint32_t d = nd; d-- > 0;) {
                uint64_t dim = (uint64_t)a->info.shape[d];
                uint64_t ix = dim ? rem % dim : 0;
                rem = dim ? rem / dim : 0;
                do {
                    seg[--len] = (char)('0' + ix % 10);
                    ix /= 10;
                } while (ix);
                if (d) seg[--len] = '.';
            }
            st = push(w, item, seg + len, sizeof seg - 1 - len, 0);
        }
        if (st != CKPT_OK) return st;
    }
    return CKPT_OK;
}

static ckpt_status mark_seen(walker *w, uint64_t id) {
    if (id / 8 >= w->seen_bytes) {
        uint64_t want = id / 8 + 1;
        size_t ncap = w->seen_bytes ? w->seen_bytes : 64;
        while (ncap < want) {
            if (ncap > SIZE_MAX / 2) return CKPT_E_NOMEM;
            ncap *= 2;
        }
        uint8_t *ns = ckpt__realloc(&w->f->alloc, w->seen, w->seen_bytes, ncap);
        if (!ns) return CKPT_E_NOMEM;
        memset(ns + w->seen_bytes, 0, ncap - w->seen_bytes);
        w->seen = ns;
        w->seen_bytes = ncap;
    }
    w->seen[id / 8] |= (uint8_t)(1u << (id % 8));
    return CKPT_OK;
}

static const ckpt__recognizer recognizers[] = {ckpt__recognize_numpy, ckpt__recognize_torch};

ckpt_status ckpt__walk_arrays(ckpt_file *f, ckpt_value *root, const char *prefix, ckpt_error *err) {
    if (!f) return ckpt_error_set(err, CKPT_E_ARG, -1, "walk: no file");
    if (!root) return CKPT_OK;
    if (!prefix) prefix = "";
    walker w;
    memset(&w, 0, sizeof w);
    w.f = f;
    ckpt_status st = CKPT_OK;
    /* visited bitmap sized for the graph (grown if a recognizer adds nodes) */
    st = mark_seen(&w, ckpt_graph_node_count(f->graph));
    if (st == CKPT_OK) memset(w.seen, 0, w.seen_bytes);
    /* the root frame: its path is the prefix */
    size_t plen = strlen(prefix);
    if (st == CKPT_OK) st = arena_reserve(&w, plen + 1);
    if (st == CKPT_OK) {
        memcpy(w.arena, prefix, plen + 1);
        w.alen = plen + 1;
        w.parent_off = 0;
        w.parent_len = plen;
        w.parent_depth = 0;
        st = push(&w, root, NULL, 0, 1);
        if (st == CKPT_OK && w.n) w.frames[0].depth = 0;
    }
    if (st != CKPT_OK) {
        st = ckpt_error_set(err, st, -1, "out of memory walking the graph");
        goto done;
    }
    while (w.n) {
        walk_frame fr = w.frames[--w.n];
        /* arena above this frame's push point belongs to frames already popped */
        w.alen = fr.arena_top;
        uint64_t id = ckpt_value_id(fr.v);
        if (id / 8 < w.seen_bytes && (w.seen[id / 8] >> (id % 8) & 1)) continue;
        if (mark_seen(&w, id) != CKPT_OK) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory walking the graph");
            goto done;
        }
        const char *path = w.arena + fr.path_off;
        if (fr.depth > f->limits.max_depth) {
            ckpt_error_member(err, path);
            st = ckpt_error_set(err, CKPT_E_LIMIT, -1,
                                "object graph nested deeper than %u levels at '%s'",
                                (unsigned)f->limits.max_depth, path);
            goto done;
        }
        if (ckpt_file_array_of(f, fr.v, NULL) == CKPT_OK) continue; /* added by an earlier walk */
        int taken = 0;
        size_t before = f->n_arrays;
        for (size_t r = 0; r < sizeof recognizers / sizeof recognizers[0]; r++) {
            int rc = recognizers[r](f, fr.v, path, err);
            if (rc < 0) {
                st = (ckpt_status)rc;
                if (err && !err->member[0]) ckpt_error_member(err, path);
                goto done;
            }
            if (rc > 0) {
                taken = 1;
                break;
            }
        }
        w.parent_off = fr.path_off;
        w.parent_len = fr.path_len;
        w.parent_depth = fr.depth;
        if (taken) {
            /* object arrays (GradientBoosting's estimators_, ...): their items
               are graph values that may hold arrays */
            for (size_t ai = f->n_arrays; st == CKPT_OK && ai-- > before;)
                st = push_object_items_rev(&w, &f->arrays[ai]);
            if (st != CKPT_OK) {
                st = ckpt_error_set(err, st, -1, "out of memory walking the graph");
                goto done;
            }
            continue;
        }
        st = push_children(&w, fr.v);
        if (st != CKPT_OK) {
            st = ckpt_error_set(err, st, -1, "out of memory walking the graph");
            goto done;
        }
    }
done:
    ckpt__free(&f->alloc, w.frames, w.cap * sizeof(walk_frame));
    ckpt__free(&f->alloc, w.arena, w.acap);
    ckpt__free(&f->alloc, w.seen, w.seen_bytes);
    return st;
}
