/*
 * test_numpy_fixtures.c - every fixture of models/numpy/ (made by
 * models/make_numpy.py from NumPy 1.24 / joblib 1.2 / sklearn 1.2.1) opens and
 * its arrays match what NumPy reported: dtype string, itemsize, byte order,
 * unit, fields (names, offsets, field dtypes), shape, strides, element count,
 * the native bytes in C order (raw_hex / field_hex), values and sums through
 * ckpt_array_get_f64, object items, zero-copy where the file allows it
 * (MAPPED, 16-aligned) and 64-aligned copies otherwise.
 */
#include "util_test.h"

#include "ckpt/ckpt_file.h"
#include "loader_internal.h" /* ckpt__open_npz: .npz opened directly over libzip (see open_npz) */

#include <zip.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int hexdig(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Bytes of array i in C order of its logical shape (honouring strides), item
   slice [off, off+len) of every element. */
static unsigned char *gather(const ckpt_array_info *ai, const void *data, uint64_t off, uint64_t len) {
    uint64_t n = ai->nelems;
    unsigned char *out = malloc(n * len + 1);
    if (!out) return NULL;
    for (uint64_t k = 0; k < n; k++) {
        int64_t o = 0;
        uint64_t rem = k;
        for (uint32_t d = ai->ndim; d-- > 0;) {
            uint64_t dim = (uint64_t)ai->shape[d];
            o += (int64_t)(rem % dim) * ai->strides[d];
            rem /= dim;
        }
        memcpy(out + k * len, (const unsigned char *)data + o + off, len);
    }
    return out;
}

static int same_hex(const unsigned char *b, size_t n, const char *hex) {
    if (strlen(hex) != 2 * n) return 0;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(hexdig(hex[2 * i]) * 16 + hexdig(hex[2 * i + 1]))) return 0;
    return 1;
}

static double jnum(const cJSON *v) {
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "nan")) return NAN;
        if (!strcmp(v->valuestring, "inf")) return INFINITY;
        if (!strcmp(v->valuestring, "-inf")) return -INFINITY;
        return strtod(v->valuestring, NULL);
    }
    return NAN;
}

static void check_dtype(const char *where, const ckpt_dtype_info *dt, const cJSON *jd) {
    const char *str = cJSON_GetObjectItem(jd, "str")->valuestring;
    CHECKF(strcmp(dt->str, str) == 0, "%s: dtype %s, want %s", where, dt->str, str);
    CHECKF(dt->itemsize == (uint64_t)cJSON_GetObjectItem(jd, "itemsize")->valuedouble,
           "%s: itemsize %llu", where, (unsigned long long)dt->itemsize);
    const cJSON *unit = cJSON_GetObjectItem(jd, "unit");
    if (unit)
        CHECKF(dt->unit && strcmp(dt->unit, unit->valuestring) == 0, "%s: unit %s want %s", where,
               dt->unit ? dt->unit : "(none)", unit->valuestring);
    const cJSON *bo = cJSON_GetObjectItem(jd, "byteorder");
    if (bo && !cJSON_GetObjectItem(jd, "fields") && !cJSON_GetObjectItem(jd, "sub_shape"))
        CHECKF(dt->byteorder == bo->valuestring[0], "%s: byteorder %c want %s", where, dt->byteorder,
               bo->valuestring);
    const cJSON *ss = cJSON_GetObjectItem(jd, "sub_shape");
    if (ss) {
        CHECKF(dt->sub_ndim == (uint32_t)cJSON_GetArraySize(ss), "%s: sub_ndim %u", where, dt->sub_ndim);
        for (int k = 0; k < cJSON_GetArraySize(ss) && k < (int)dt->sub_ndim; k++)
            CHECK_EQ_INT(dt->sub_shape[k], cJSON_GetArrayItem(ss, k)->valuedouble);
    }
    const cJSON *fields = cJSON_GetObjectItem(jd, "fields");
    if (fields) {
        CHECKF(dt->nfields == (uint32_t)cJSON_GetArraySize(fields), "%s: %u fields", where, dt->nfields);
        for (int k = 0; k < cJSON_GetArraySize(fields) && k < (int)dt->nfields; k++) {
            const cJSON *jf = cJSON_GetArrayItem(fields, k);
            const char *nm = cJSON_GetObjectItem(jf, "name")->valuestring;
            CHECKF(strcmp(dt->fields[k].name, nm) == 0, "%s: field %d %s want %s", where, k,
                   dt->fields[k].name, nm);
            CHECK(ckpt_dtype_field(dt, nm) == &dt->fields[k]);
            CHECK_EQ_INT(dt->fields[k].offset, cJSON_GetObjectItem(jf, "offset")->valuedouble);
            char w2[256];
            snprintf(w2, sizeof w2, "%s.%s", where, nm);
            /* one level of nesting is enough for our fixtures; deeper: same call */
            check_dtype(w2, dt->fields[k].dtype, cJSON_GetObjectItem(jf, "dtype"));
        }
    } else {
        CHECKF(dt->nfields == 0, "%s: unexpected fields", where);
    }
}

static void check_items(const char *where, ckpt_file *f, size_t i, const cJSON *items) {
    for (int k = 0; k < cJSON_GetArraySize(items); k++) {
        const cJSON *it = cJSON_GetArrayItem(items, k);
        const char *kind = cJSON_GetObjectItem(it, "kind")->valuestring;
        ckpt_value *v = ckpt_array_object_item(f, i, (uint64_t)k);
        CHECKF(v != NULL, "%s: object item %d missing", where, k);
        if (!v) continue;
        if (!strcmp(kind, "none")) CHECKF(ckpt_value_kind(v) == CKPT_K_NONE, "%s[%d] none", where, k);
        else if (!strcmp(kind, "str")) {
            CHECKF(ckpt_value_is_str(v, cJSON_GetObjectItem(it, "value")->valuestring), "%s[%d] str", where, k);
        } else if (!strcmp(kind, "int")) {
            const char *want = cJSON_GetObjectItem(it, "value")->valuestring;
            CHECKF(ckpt_value_kind(v) == CKPT_K_INT, "%s[%d] int kind", where, k);
            int64_t x;
            if (ckpt_value_int64(v, &x) == CKPT_OK) {
                CHECKF(x == strtoll(want, NULL, 10), "%s[%d] int %lld want %s", where, k, (long long)x, want);
            } else {
                CHECKF(ckpt_value_float(v) == strtod(want, NULL), "%s[%d] big int", where, k);
            }
        } else if (!strcmp(kind, "float")) {
            CHECKF(ckpt_value_kind(v) == CKPT_K_FLOAT &&
                       ckpt_value_float(v) == jnum(cJSON_GetObjectItem(it, "value")),
                   "%s[%d] float", where, k);
        }
    }
}

/* The graph node at a dotted path (dict keys, list/tuple indices, object
   attributes), NULL if a step does not resolve. */
static const ckpt_value *node_at(const ckpt_value *root, const char *path) {
    const ckpt_value *v = root;
    char seg[256];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof seg) return NULL;
        memcpy(seg, path, n);
        seg[n] = 0;
        path += n + (dot ? 1 : 0);
        ckpt_kind k = ckpt_value_kind(v);
        if (k == CKPT_K_DICT) {
            v = ckpt_dict_get(v, seg);
        } else if (k == CKPT_K_LIST || k == CKPT_K_TUPLE) {
            char *end;
            unsigned long ix = strtoul(seg, &end, 10);
            v = *end || ix >= ckpt_value_len(v) ? NULL : ckpt_value_item(v, ix);
        } else if (k == CKPT_K_OBJECT) {
            v = ckpt_value_attr(v, seg);
        } else {
            v = NULL;
        }
    }
    return v;
}

/* Array i is listed under the node the graph holds at its path: for a joblib
   wrapper (object arrays too, whose data is a nested pickle) that is the
   NumpyArrayWrapper node, so ckpt_file_array_of(node) finds it. */
static void check_node(const char *where, const ckpt_file *f, const char *path, size_t i) {
    const ckpt_value *root = ckpt_file_root(f);
    if (!root || !*path) return; /* .npy / .npz: arrays are not graph nodes */
    const ckpt_value *node = node_at(root, path);
    CHECKF(node != NULL, "%s: no graph node at the path", where);
    size_t j = (size_t)-1;
    ckpt_status st = node ? ckpt_file_array_of(f, node, &j) : CKPT_E_NOTFOUND;
    CHECKF(st == CKPT_OK && j == i, "%s: ckpt_file_array_of(node at path) -> %s, index %zu want %zu",
           where, ckpt_status_str(st), j, i);
    if (st == CKPT_OK) CHECKF(ckpt_file_array(f, j)->value == node, "%s: record's node", where);
}

static void check_array(const char *file, ckpt_file *f, const cJSON *ja, int compressed) {
    const char *path = cJSON_GetObjectItem(ja, "path")->valuestring;
    char where[512];
    snprintf(where, sizeof where, "%s:%s", file, path);
    size_t i;
    ckpt_status st = ckpt_file_find_array(f, path, &i);
    CHECKF(st == CKPT_OK, "%s: array not found", where);
    if (st != CKPT_OK) return;
    check_node(where, f, path, i);
    const ckpt_array_info *ai = ckpt_file_array(f, i);
    check_dtype(where, ai->dtype, cJSON_GetObjectItem(ja, "dtype"));
    const cJSON *shape = cJSON_GetObjectItem(ja, "shape"), *strides = cJSON_GetObjectItem(ja, "strides");
    CHECKF(ai->ndim == (uint32_t)cJSON_GetArraySize(shape), "%s: ndim %u", where, ai->ndim);
    for (int k = 0; k < cJSON_GetArraySize(shape) && k < (int)ai->ndim; k++) {
        CHECKF(ai->shape[k] == (int64_t)cJSON_GetArrayItem(shape, k)->valuedouble, "%s: shape[%d]", where, k);
        CHECKF(ai->strides[k] == (int64_t)cJSON_GetArrayItem(strides, k)->valuedouble,
               "%s: strides[%d] %lld want %g", where, k, (long long)ai->strides[k],
               cJSON_GetArrayItem(strides, k)->valuedouble);
    }
    CHECKF(ai->nelems == (uint64_t)cJSON_GetObjectItem(ja, "nelems")->valuedouble, "%s: nelems", where);
    CHECKF(ai->nbytes == (uint64_t)cJSON_GetObjectItem(ja, "nbytes")->valuedouble, "%s: nbytes", where);
    CHECKF(ai->fortran == cJSON_IsTrue(cJSON_GetObjectItem(ja, "fortran")), "%s: fortran %d", where, ai->fortran);
    const cJSON *items = cJSON_GetObjectItem(ja, "items");
    if (items) {
        CHECKF(ai->dtype->type == CKPT_DT_OBJECT, "%s: object dtype", where);
        check_items(where, f, i, items);
        return;
    }
    const void *data = NULL;
    ckpt_error err;
    st = ckpt_array_data(f, i, &data, &err);
    CHECKF(st == CKPT_OK, "%s: data: %s", where, st == CKPT_OK ? "" : err.message);
    if (st != CKPT_OK) return;
    ai = ckpt_file_array(f, i);
    if (ai->state == CKPT_DATA_MAPPED)
        CHECKF((uintptr_t)data % 16 == 0 && !compressed, "%s: mapped pointer %p misaligned", where, data);
    else
        CHECKF(ai->state == CKPT_DATA_COPIED && (uintptr_t)data % 64 == 0, "%s: copy %p state %d", where,
               data, ai->state);
    const cJSON *em = cJSON_GetObjectItem(ja, "expect_mapped");
    if (em && !cJSON_IsNull(em))
        CHECKF((ai->state == CKPT_DATA_MAPPED) == cJSON_IsTrue(em), "%s: state %d, expected %s", where,
               ai->state, cJSON_IsTrue(em) ? "mapped" : "copied");
    const cJSON *raw = cJSON_GetObjectItem(ja, "raw_hex");
    if (raw) {
        unsigned char *b = gather(ai, data, 0, ai->dtype->itemsize);
        CHECKF(b && same_hex(b, ai->nbytes, raw->valuestring), "%s: bytes differ", where);
        free(b);
    }
    const cJSON *fh = cJSON_GetObjectItem(ja, "field_hex");
    if (fh) {
        for (cJSON *c = fh->child; c; c = c->next) {
            const ckpt_field_info *fi = ckpt_dtype_field(ai->dtype, c->string);
            CHECKF(fi != NULL, "%s: field %s", where, c->string);
            if (!fi) continue;
            unsigned char *b = gather(ai, data, fi->offset, fi->dtype->itemsize);
            CHECKF(b && same_hex(b, ai->nelems * fi->dtype->itemsize, c->valuestring),
                   "%s: field %s bytes differ", where, c->string);
            free(b);
        }
    }
    const cJSON *vals = cJSON_GetObjectItem(ja, "values"), *idx = cJSON_GetObjectItem(ja, "index");
    if (vals && idx) {
        int cplx = ai->dtype->type == CKPT_DT_COMPLEX64 || ai->dtype->type == CKPT_DT_COMPLEX128;
        for (int k = 0; k < cJSON_GetArraySize(idx); k++) {
            uint64_t e = (uint64_t)cJSON_GetArrayItem(idx, k)->valuedouble;
            const cJSON *jv = cJSON_GetArrayItem(vals, k);
            double want = cplx ? jnum(cJSON_GetArrayItem(jv, 0)) : jnum(jv);
            double got = ckpt_array_get_f64(f, i, e);
            CHECKF(tu_close(got, want, 0, 0) || (isnan(got) && isnan(want)), "%s[%llu]: %.17g want %.17g",
                   where, (unsigned long long)e, got, want);
        }
        const cJSON *sum = cJSON_GetObjectItem(ja, "sum");
        if (sum && !cplx) {
            double s = 0, sa = 0; /* summation order differs from numpy's: tolerance on sum |x| */
            for (uint64_t e = 0; e < ai->nelems; e++) {
                double x = ckpt_array_get_f64(f, i, e);
                s += x;
                sa += fabs(x);
            }
            CHECKF(tu_close(s, jnum(sum), 1e-12, 1e-12 * sa) || (isinf(s) && s == jnum(sum)) ||
                       (isnan(s) && isnan(jnum(sum))),
                   "%s: sum %.17g want %.17g", where, s, jnum(sum));
        }
    }
}

/* .npz through ckpt__open_npz with our own libzip handle over the bytes, so the
   npz reader is tested on its own (ckpt_open reaches it through zip.c). */
static ckpt_status open_npz(const char *path, ckpt_file **out, ckpt_error *err) {
    size_t len;
    char *buf = tu_read_file(path, &len);
    if (!buf) return ckpt_error_set(err, CKPT_E_IO, -1, "cannot read %s", path);
    ckpt_file *f = calloc(1, sizeof *f);
    f->limits = ckpt_limits_default();
    f->min_align = 16;
    f->protocol = -1;
    f->map = (const uint8_t *)buf;
    f->map_len = len;
    f->owned = buf; /* freed by ckpt_close with the default allocator */
    f->owned_len = len + 1;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *zs = zip_source_buffer_create(buf, len, 0, &ze);
    zip_t *za = zs ? zip_open_from_source(zs, ZIP_RDONLY, &ze) : NULL;
    ckpt_status st = za ? ckpt__open_npz(f, za, err) : ckpt_error_set(err, CKPT_E_FORMAT, -1, "libzip");
    if (za) zip_discard(za);
    else if (zs) zip_source_free(zs);
    zip_error_fini(&ze);
    if (st == CKPT_OK) ckpt__file_plan_arrays(f);
    if (st != CKPT_OK) {
        ckpt_close(f);
        f = NULL;
    }
    *out = f;
    return st;
}

/* Protocol 5 with out-of-band buffers supplied through the pickle machine's
   next_buffer hook (ckpt_open has no way to take them): the buffers are the
   fixture's NAME.bufK files. */
typedef struct oob_bufs {
    char *data[16];
    size_t len[16];
    size_t n;
} oob_bufs;

static ckpt_status oob_next(void *user, size_t index, const uint8_t **data, size_t *len, ckpt_error *err) {
    oob_bufs *b = user;
    (void)err;
    if (index < b->n) {
        *data = (const uint8_t *)b->data[index];
        *len = b->len[index];
    }
    return CKPT_OK;
}

static void check_oob_supplied(const cJSON *doc, const char *file) {
    oob_bufs b;
    memset(&b, 0, sizeof b);
    const cJSON *bl = cJSON_GetObjectItem(doc, "buffers");
    for (int k = 0; k < cJSON_GetArraySize(bl) && k < 16; k++) {
        char rel[512];
        snprintf(rel, sizeof rel, "numpy/%s", cJSON_GetArrayItem(bl, k)->valuestring);
        b.data[k] = tu_read_file(tu_model_path(rel), &b.len[k]);
        CHECK(b.data[k] != NULL);
        b.n++;
    }
    char rel[512];
    snprintf(rel, sizeof rel, "numpy/%s", file);
    size_t len;
    char *buf = tu_read_file(tu_model_path(rel), &len);
    CHECK(buf != NULL);
    ckpt_file *f = calloc(1, sizeof *f);
    f->limits = ckpt_limits_default();
    f->min_align = 16;
    f->map = (const uint8_t *)buf;
    f->map_len = len;
    f->owned = buf;
    f->owned_len = len + 1;
    ckpt_error err;
    ckpt_status st = ckpt_graph_new(&f->limits, NULL, CKPT_GRAPH_BORROW_INPUT, &f->graph);
    ckpt_pickle_hooks h;
    memset(&h, 0, sizeof h);
    h.user = &b;
    h.next_buffer = oob_next;
    ckpt_value *root = NULL;
    if (st == CKPT_OK) st = ckpt_pickle_load(f->graph, f->map, f->map_len, 0, &h, &root, NULL, &err);
    if (st == CKPT_OK) st = ckpt__walk_arrays(f, root, "", &err);
    CHECKF(st == CKPT_OK, "%s with buffers: %s", file, st == CKPT_OK ? "" : err.message);
    if (st == CKPT_OK) {
        ckpt__file_plan_arrays(f);
        const cJSON *arrays = cJSON_GetObjectItem(doc, "arrays");
        for (int k = 0; k < cJSON_GetArraySize(arrays); k++) check_array(file, f, cJSON_GetArrayItem(arrays, k), 0);
    }
    ckpt_close(f);
    for (size_t k = 0; k < b.n; k++) free(b.data[k]);
}

static void check_file(const char *name) {
    char jrel[512];
    snprintf(jrel, sizeof jrel, "numpy/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(jrel));
    if (!doc) return;
    const char *file = cJSON_GetObjectItem(doc, "file")->valuestring;
    char frel[512];
    snprintf(frel, sizeof frel, "numpy/%s", file);
    ckpt_file *f = NULL;
    ckpt_error err;
    size_t fl = strlen(file);
    ckpt_status st = fl > 4 && !strcmp(file + fl - 4, ".npz") ? open_npz(tu_model_path(frel), &f, &err)
                                                              : ckpt_open(tu_model_path(frel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s [%s]", file, st == CKPT_OK ? "" : err.message,
           st == CKPT_OK ? "" : err.member);
    if (st == CKPT_OK) {
        const cJSON *cls = cJSON_GetObjectItem(doc, "class");
        if (cls) {
            const char *got = ckpt_value_class(ckpt_file_root(f));
            CHECKF(got && strcmp(got, cls->valuestring) == 0, "%s: class %s", file, got ? got : "(none)");
        }
        const cJSON *codec = cJSON_GetObjectItem(doc, "codec");
        int compressed = codec && cJSON_IsString(codec);
        if (compressed)
            CHECKF(ckpt_file_codec(f) && strcmp(ckpt_file_codec(f), codec->valuestring) == 0,
                   "%s: codec %s", file, ckpt_file_codec(f) ? ckpt_file_codec(f) : "(none)");
        const cJSON *fmt = cJSON_GetObjectItem(doc, "format");
        const char *want_fmt = fmt->valuestring;
        const char *got_fmt = ckpt_format_name(ckpt_file_format(f));
        if (!strcmp(want_fmt, "joblib-zf")) want_fmt = "joblib-zlib-old";
        CHECKF(strcmp(got_fmt, want_fmt) == 0, "%s: format %s want %s", file, got_fmt, want_fmt);
        const cJSON *arrays = cJSON_GetObjectItem(doc, "arrays");
        int oob = cJSON_GetObjectItem(doc, "buffers") != NULL;
        for (int k = 0; k < cJSON_GetArraySize(arrays); k++) {
            const cJSON *ja = cJSON_GetArrayItem(arrays, k);
            if (oob && !cJSON_GetObjectItem(ja, "items")) {
                /* out-of-band buffers are not supplied by ckpt_open: described, data unavailable */
                size_t i;
                const char *path = cJSON_GetObjectItem(ja, "path")->valuestring;
                CHECKF(ckpt_file_find_array(f, path, &i) == CKPT_OK, "%s:%s listed", file, path);
                const void *d;
                CHECKF(ckpt_array_data(f, i, &d, &err) == CKPT_E_UNSUPPORTED &&
                           ckpt_file_array(f, i)->state == CKPT_DATA_UNAVAILABLE,
                       "%s:%s unavailable", file, path);
                continue;
            }
            check_array(file, f, ja, compressed);
        }
        ckpt_close(f);
        if (oob) check_oob_supplied(doc, file);
    }
    cJSON_Delete(doc);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    cJSON *index = tu_load_json(tu_model_path("numpy/index.json"));
    CHECK(index != NULL);
    if (!index) return tu_finish();
    const char *only = getenv("CKPT_TEST_ONLY");
    for (int k = 0; k < cJSON_GetArraySize(index); k++) {
        const char *name = cJSON_GetArrayItem(index, k)->valuestring;
        if (only && !strstr(name, only)) continue;
        int before = tu_failed;
        check_file(name);
        printf("%-28s %s\n", name, tu_failed == before ? "ok" : "FAILED");
    }
    cJSON_Delete(index);
    return tu_finish();
}
