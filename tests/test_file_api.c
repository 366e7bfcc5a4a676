/*
 * test_file_api.c - the file layer: ckpt_open / ckpt_open_memory / NO_MMAP on
 * every pickle fixture (format, protocol, pickles and root graph checked
 * against the CPython JSON of models/pickles), open errors (missing file,
 * directory, empty, garbage, truncated), and the array table: add_array
 * validation (negative dims, ndim limit, overflowing shapes, max_arrays),
 * ckpt__check_span, lookups by path / node, and data resolution (mapped vs
 * copied, min_align, byte swap, strided gather, negative strides, bounds,
 * element conversion of every numeric dtype).
 */
#include "loader_internal.h"
#include "util_graph.h"
#include "util_test.h"
#include "util_allocfail.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ fixtures */

static int expected_protocol(const cJSON *p) {
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "protocol");
    if (cJSON_IsNumber(pr)) return pr->valueint;
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(p, "max_opcode_proto");
    return (cJSON_IsNumber(mx) && mx->valueint >= 1) ? 1 : 0;
}

/* Kind name of the root VALUE of pickle k, read from the JSON text (used when
   the JSON nests deeper than cJSON parses): the first "t" after the k-th
   "value" key is the root's. */
static int root_kind_from_text(const char *txt, int k, char *out, size_t n) {
    const char *p = txt;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, "\"value\":");
        if (!p) return 0;
        p += 8;
    }
    p = strstr(p, "\"t\":\"");
    if (!p) return 0;
    p += 5;
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < n) {
        out[i] = p[i];
        i++;
    }
    out[i] = '\0';
    return 1;
}

static int has_fact(const ckpt_file *f, const char *key) {
    for (size_t i = 0; i < ckpt_file_fact_count(f); i++)
        if (strcmp(ckpt_file_fact_key(f, i), key) == 0) return 1;
    return 0;
}

/* One way of opening: 0 ckpt_open, 1 ckpt_open NO_MMAP, 2 ckpt_open_memory. */
static void check_fixture(const char *name, int mode) {
    static const char *const modes[] = {"mmap", "no-mmap", "memory"};
    char rel[512];
    snprintf(rel, sizeof rel, "pickles/%s.pkl", name);
    const char *pkl_path = tu_model_path(rel);
    snprintf(rel, sizeof rel, "pickles/%s.json", name);
    const char *json_path = tu_model_path(rel);
    size_t pkl_len = 0, json_len = 0;
    char *pkl = tu_read_file(pkl_path, &pkl_len);
    char *txt = tu_read_file(json_path, &json_len);
    CHECKF(pkl && txt, "%s: cannot read fixture files", name);
    if (!pkl || !txt) {
        free(pkl);
        free(txt);
        return;
    }
    cJSON *j = cJSON_Parse(txt); /* NULL for the deep fixtures (cJSON nesting limit) */

    ckpt_open_opts o = ckpt_open_opts_default();
    if (mode == 1) o.flags |= CKPT_OPEN_NO_MMAP;
    ckpt_file *f = NULL;
    ckpt_error e;
    ckpt_status st = mode == 2 ? ckpt_open_memory(pkl, pkl_len, &o, &f, &e)
                               : ckpt_open(pkl_path, &o, &f, &e);
    CHECKF(st == CKPT_OK && f, "%s (%s): open failed: %s (%s)", name, modes[mode],
           ckpt_status_str(st), e.message);
    if (st != CKPT_OK) goto out;

    CHECKF(ckpt_file_format(f) == CKPT_FMT_PICKLE, "%s (%s): format %s", name, modes[mode],
           ckpt_format_name(ckpt_file_format(f)));
    CHECKF(strcmp(ckpt_format_name(ckpt_file_format(f)), "pickle") == 0, "%s: format name", name);
    CHECKF(ckpt_file_codec(f) == NULL, "%s: codec", name);
    CHECKF(ckpt_file_size(f) == pkl_len, "%s (%s): size %llu vs %zu", name, modes[mode],
           (unsigned long long)ckpt_file_size(f), pkl_len);
    CHECKF(ckpt_file_is_mapped(f) == (mode == 0), "%s (%s): is_mapped %d", name, modes[mode],
           ckpt_file_is_mapped(f));
    CHECKF(ckpt_file_graph(f) != NULL, "%s: graph", name);
    CHECKF(ckpt_file_array_count(f) == 0, "%s: %zu arrays in a plain-value pickle", name,
           ckpt_file_array_count(f));
    CHECKF(ckpt_file_root(f) == ckpt_file_pickle_root(f, 0), "%s: root is pickle 0", name);

    if (j) {
        const cJSON *pickles = cJSON_GetObjectItemCaseSensitive(j, "pickles");
        int np = cJSON_GetArraySize(pickles);
        CHECKF((int)ckpt_file_pickle_count(f) == np, "%s (%s): %zu pickles, expected %d", name,
               modes[mode], ckpt_file_pickle_count(f), np);
        const cJSON *p0 = cJSON_GetArrayItem(pickles, 0);
        CHECKF(ckpt_file_protocol(f) == expected_protocol(p0), "%s: protocol %d, expected %d", name,
               ckpt_file_protocol(f), expected_protocol(p0));
        int bufs = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "buffers")) > 0;
        for (int k = 0; k < np && k < (int)ckpt_file_pickle_count(f); k++) {
            const cJSON *pk = cJSON_GetArrayItem(pickles, k);
            char msg[512], where[64];
            snprintf(where, sizeof where, "pickle%d", k);
            int ok = ug_compare(ckpt_file_graph(f), ckpt_file_pickle_root(f, (size_t)k),
                                cJSON_GetObjectItemCaseSensitive(pk, "value"),
                                bufs ? UG_BUFFER_NODATA : 0, where, msg, sizeof msg);
            CHECKF(ok, "%s (%s): %s", name, modes[mode], msg);
        }
        /* bytes after the last pickle are reported as a fact, never an error */
        const cJSON *last = cJSON_GetArrayItem(pickles, np - 1);
        double end = cJSON_GetObjectItemCaseSensitive(last, "end")->valuedouble;
        CHECKF(has_fact(f, "trailing bytes") == (end < (double)pkl_len),
               "%s: trailing-bytes fact %d, last end %.0f of %zu", name, has_fact(f, "trailing bytes"),
               end, pkl_len);
    } else {
        /* too deep for cJSON: root kind from the text, and the same graph as the machine */
        char kind[32];
        CHECKF(root_kind_from_text(txt, 0, kind, sizeof kind), "%s: no root kind in JSON", name);
        CHECKF(strcmp(kind, ckpt_kind_name(ckpt_value_kind(ckpt_file_root(f)))) == 0,
               "%s: root kind %s, expected %s", name,
               ckpt_kind_name(ckpt_value_kind(ckpt_file_root(f))), kind);
        ckpt_graph *g = NULL;
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        CHECK_STATUS(ckpt_graph_new(NULL, NULL, 0, &g), CKPT_OK);
        CHECK_STATUS(ckpt_pickle_load(g, (const uint8_t *)pkl, pkl_len, 0, NULL, &root, &info, NULL),
                     CKPT_OK);
        CHECKF(ckpt_graph_node_count(g) == ckpt_graph_node_count(ckpt_file_graph(f)),
               "%s: %llu nodes via the file, %llu via the machine", name,
               (unsigned long long)ckpt_graph_node_count(ckpt_file_graph(f)),
               (unsigned long long)ckpt_graph_node_count(g));
        CHECKF(ckpt_file_protocol(f) == info.protocol, "%s: protocol", name);
        ckpt_graph_free(g);
    }
out:
    ckpt_close(f);
    cJSON_Delete(j);
    free(pkl);
    free(txt);
}

static void test_fixtures(void) {
    char **names = NULL;
    size_t n = ug_list_fixtures(tu_model_path("pickles"), &names);
    CHECKF(n >= 100, "only %zu pickle fixtures found", n);
    for (size_t i = 0; i < n; i++)
        for (int mode = 0; mode < 3; mode++) check_fixture(names[i], mode);
    ug_free_names(names, n);
}

/* ------------------------------------------------------------ open errors */

static char tmpdir[256];

static const char *write_tmp(const char *name, const void *data, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    if (n) fwrite(data, 1, n, fp);
    fclose(fp);
    return path;
}

static void expect_open_fails(const char *what, const void *data, size_t n, ckpt_status want) {
    ckpt_file *f = (ckpt_file *)1;
    ckpt_error e;
    ckpt_status st = ckpt_open_memory(data, n, NULL, &f, &e);
    CHECKF(st == want, "%s (memory): got %s (%s), want %s", what, ckpt_status_str(st), e.message,
           ckpt_status_str(want));
    CHECKF(f == NULL, "%s: handle not NULL on failure", what);
    CHECKF(e.status == st && e.message[0], "%s: error detail not filled", what);
    const char *path = write_tmp("case.bin", data, n);
    f = (ckpt_file *)1;
    st = ckpt_open(path, NULL, &f, &e);
    CHECKF(st == want, "%s (file): got %s (%s)", what, ckpt_status_str(st), e.message);
    CHECKF(f == NULL, "%s (file): handle not NULL on failure", what);
    CHECKF(strstr(e.message, "case.bin") != NULL, "%s (file): message lacks the path: %s", what,
           e.message);
}

static void test_open_errors(void) {
    ckpt_file *f = (ckpt_file *)1;
    ckpt_error e;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/does-not-exist.pkl", tmpdir);
    ckpt_status st = ckpt_open(missing, NULL, &f, &e);
    CHECK_STATUS(st, CKPT_E_IO);
    CHECK(f == NULL);
    CHECKF(strstr(e.message, missing) != NULL, "missing-file message lacks the path: %s", e.message);
    CHECK_STATUS(e.status, CKPT_E_IO);

    st = ckpt_open(tmpdir, NULL, &f, &e); /* a directory */
    CHECK_STATUS(st, CKPT_E_IO);
    CHECK(strstr(e.message, tmpdir) != NULL);

    CHECK_STATUS(ckpt_open(NULL, NULL, &f, &e), CKPT_E_ARG);
    CHECK_STATUS(ckpt_open_memory(NULL, 5, NULL, &f, &e), CKPT_E_ARG);
    ckpt_open_opts o = ckpt_open_opts_default();
    o.min_align = 24;
    CHECK_STATUS(ckpt_open_memory("\x80\x02N.", 4, &o, &f, &e), CKPT_E_ARG);

    expect_open_fails("empty file", "", 0, CKPT_E_TRUNCATED);
    expect_open_fails("garbage", "\x01\x02\x03\x04garbage", 11, CKPT_E_FORMAT);
    expect_open_fails("bad protocol", "\x80\x07N.", 4, CKPT_E_FORMAT);
    /* a JSON document: from memory refused with a hint (a sharded index needs
       its path); as a file not named *.index.json it is an unknown format */
    st = ckpt_open_memory("{\"weight_map\": {}}", 18, NULL, &f, &e);
    CHECK_STATUS(st, CKPT_E_UNSUPPORTED);
    st = ckpt_open(write_tmp("model.json", "{\"weight_map\": {}}", 18), NULL, &f, &e);
    CHECK_STATUS(st, CKPT_E_FORMAT);

    /* every proper prefix of a real fixture fails cleanly, through the file layer */
    size_t n = 0;
    char *pkl = tu_read_file(tu_model_path("pickles/p4_objects.pkl"), &n);
    CHECKF(pkl && n > 10, "cannot read p4_objects.pkl");
    if (pkl) {
        int all_failed = 1, all_null = 1;
        for (size_t k = 0; k < n; k++) {
            f = (ckpt_file *)1;
            st = ckpt_open_memory(pkl, k, NULL, &f, &e);
            if (st == CKPT_OK) all_failed = 0;
            if (f != NULL) {
                all_null = 0;
                if (st == CKPT_OK) ckpt_close(f);
            }
        }
        CHECK(all_failed);
        CHECK(all_null);
        /* a truncated file on disk names the file */
        const char *path = write_tmp("truncated.pkl", pkl, n / 2);
        st = ckpt_open(path, NULL, &f, &e);
        CHECKF(st == CKPT_E_TRUNCATED, "truncated file: %s (%s)", ckpt_status_str(st), e.message);
        CHECKF(strstr(e.message, "truncated.pkl") != NULL, "message lacks the path: %s", e.message);
        free(pkl);
    }
}

/* ------------------------------------------------------------ detection */

static void test_detection(void) {
    /* Each magic is dispatched to its format's opener; openers not written
       yet answer UNSUPPORTED, written ones reject these stubs as malformed.
       Either way the format/codec chosen by detection must not be "pickle". */
    static const struct {
        const char *what;
        const char *bytes;
        size_t n;
    } cases[] = {
        {"zip", "PK\x03\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 30},
        {"npy", "\x93NUMPY\x01\x00\x04\x00{}  ", 14},
        {"gzip", "\x1f\x8b\x08\x00\0\0\0\0\0\0\0\0", 12},
        {"zlib", "\x78\x9c\x03\x00\x00\x00\x00\x01", 8},
        {"xz", "\xfd" "7zXZ\x00\x00\x04", 8},
        {"lz4", "\x04\x22\x4d\x18\x64\x40\xa7", 7},
        {"bz2", "BZh91AY&SY\0\0\0\0", 14},
        {"joblib ZF", "ZF0x10          x\x9c", 19},
        {"legacy torch magic", "\x80\x02\x8a\x0a" "l\xfc\x9c" "F\xf9 j\xa8" "P\x19.", 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ckpt_file *f = (ckpt_file *)1;
        ckpt_error e;
        ckpt_status st = ckpt_open_memory(cases[i].bytes, cases[i].n, NULL, &f, &e);
        CHECKF(st != CKPT_OK, "%s stub opened", cases[i].what);
        CHECKF(f == NULL, "%s: handle on failure", cases[i].what);
        /* the pickle machine would report an opcode error at offset 0/1; a
           dispatched opener never says "opcode" */
        CHECKF(st != CKPT_E_OPCODE && st != CKPT_E_STACK, "%s went to the pickle machine: %s",
               cases[i].what, e.message);
    }
    /* bz2 magic needs the block signature: "BZh" alone is a pickle BINBYTES */
    /* tar: 'ustar' at 257 */
    char tar[600];
    memset(tar, 0, sizeof tar);
    memcpy(tar, "sys_info", 8);
    memcpy(tar + 257, "ustar", 5);
    ckpt_file *f = (ckpt_file *)1;
    ckpt_error e;
    ckpt_status st = ckpt_open_memory(tar, sizeof tar, NULL, &f, &e);
    CHECK(st != CKPT_OK && f == NULL);
    CHECKF(st != CKPT_E_OPCODE && st != CKPT_E_STACK, "tar went to the pickle machine: %s", e.message);

    CHECK(strcmp(ckpt_format_name(CKPT_FMT_TORCH_ZIP), "torch-zip") == 0);
    CHECK(strcmp(ckpt_format_name((ckpt_format)99), "unknown") == 0);
    CHECK(strcmp(ckpt_dtype_name(CKPT_DT_BFLOAT16), "bfloat16") == 0);
    CHECK(strcmp(ckpt_dtype_name(CKPT_DT_QUINT4X2), "quint4x2") == 0);
    CHECK(strcmp(ckpt_dtype_name((ckpt_dtype)-3), "invalid") == 0);
}

/* ------------------------------------------------------------ array table */

static ckpt_file *tiny_file(const ckpt_open_opts *o) {
    /* protocol 2: {'a': [None]} */
    static const char pk[] = "\x80\x02}q\x00X\x01\x00\x00\x00" "aq\x01]q\x02Nas.";
    ckpt_file *f = NULL;
    ckpt_error e;
    ckpt_status st = ckpt_open_memory(pk, sizeof pk - 1, o, &f, &e);
    CHECKF(st == CKPT_OK, "tiny pickle: %s", e.message);
    return f;
}

static const ckpt_dtype_info *dt_of(ckpt_file *f, const char *s) {
    const ckpt_dtype_info *dt = NULL;
    ckpt_error e;
    ckpt_status st = ckpt__dtype_from_str(f, s, strlen(s), &dt, &e);
    CHECKF(st == CKPT_OK && dt, "dtype %s: %s", s, e.message);
    return dt;
}

static void test_add_array_checks(void) {
    ckpt_open_opts o = ckpt_open_opts_default();
    o.limits.max_ndim = 4;
    o.limits.max_arrays = 3;
    ckpt_file *f = tiny_file(&o);
    if (!f) return;
    const ckpt_dtype_info *f8 = dt_of(f, "<f8");
    ckpt_error e;
    ckpt__array *a = (ckpt__array *)1;

    int64_t neg[2] = {3, -1};
    CHECK_STATUS(ckpt__file_add_array(f, "neg", NULL, f8, 2, neg, NULL, &a, &e), CKPT_E_FORMAT);
    CHECK(a == NULL);
    CHECK(strcmp(e.member, "neg") == 0);
    int64_t five[5] = {1, 1, 1, 1, 1};
    CHECK_STATUS(ckpt__file_add_array(f, "deep", NULL, f8, 5, five, NULL, &a, &e), CKPT_E_LIMIT);
    int64_t big[2] = {INT64_MAX, 3};
    CHECK_STATUS(ckpt__file_add_array(f, "ovf", NULL, f8, 2, big, NULL, &a, &e), CKPT_E_RANGE);
    int64_t bytes_ovf[2] = {(int64_t)1 << 31, (int64_t)1 << 30}; /* 2^61 elems * 8 bytes = 2^64 */
    CHECK_STATUS(ckpt__file_add_array(f, "ovf2", NULL, f8, 2, bytes_ovf, NULL, &a, &e), CKPT_E_RANGE);
    int64_t zero_big[3] = {0, (int64_t)1 << 40, (int64_t)1 << 30}; /* like numpy: 0 dims skipped */
    CHECK_STATUS(ckpt__file_add_array(f, "zero_ovf", NULL, f8, 3, zero_big, NULL, &a, &e), CKPT_E_RANGE);
    CHECK_EQ_INT(ckpt_file_array_count(f), 0);

    int64_t empty[2] = {0, 5};
    CHECK_STATUS(ckpt__file_add_array(f, "empty", NULL, f8, 2, empty, NULL, &a, &e), CKPT_OK);
    CHECK_EQ_INT(a->info.nelems, 0);
    CHECK_EQ_INT(a->info.nbytes, 0);
    CHECK_EQ_INT(a->info.strides[0], 40); /* numpy: (40, 8) */
    CHECK_EQ_INT(a->info.strides[1], 8);
    int64_t sh[2] = {2, 3};
    CHECK_STATUS(ckpt__file_add_array(f, "m", ckpt_file_root(f), f8, 2, sh, NULL, &a, &e), CKPT_OK);
    CHECK_EQ_INT(a->info.nelems, 6);
    CHECK_EQ_INT(a->info.nbytes, 48);
    CHECK_EQ_INT(a->info.strides[0], 24);
    CHECK_EQ_INT(a->info.fortran, 0);
    int64_t fst[2] = {8, 16};
    CHECK_STATUS(ckpt__file_add_array(f, "m", NULL, f8, 2, sh, fst, &a, &e), CKPT_OK); /* same path */
    CHECK_EQ_INT(a->info.fortran, 1);
    CHECK_STATUS(ckpt__file_add_array(f, "x", NULL, f8, 0, NULL, NULL, &a, &e), CKPT_E_LIMIT);
    CHECK(strstr(e.message, "3") != NULL);

    size_t idx = 99;
    CHECK_STATUS(ckpt_file_find_array(f, "m", &idx), CKPT_OK);
    CHECK_EQ_INT(idx, 1); /* first path wins */
    CHECK_STATUS(ckpt_file_find_array(f, "empty", &idx), CKPT_OK);
    CHECK_EQ_INT(idx, 0);
    CHECK_STATUS(ckpt_file_find_array(f, "nope", &idx), CKPT_E_NOTFOUND);
    CHECK_STATUS(ckpt_file_array_of(f, ckpt_file_root(f), &idx), CKPT_OK);
    CHECK_EQ_INT(idx, 1);
    CHECK_STATUS(ckpt_file_array_of(f, ckpt_dict_get(ckpt_file_root(f), "a"), &idx), CKPT_E_NOTFOUND);
    CHECK(ckpt_file_array(f, 3) == NULL);
    CHECK(strcmp(ckpt_file_array(f, 2)->path, "m") == 0);

    /* facts */
    CHECK_STATUS(ckpt__file_add_fact(f, "k", "v"), CKPT_OK);
    CHECK_EQ_INT(ckpt_file_fact_count(f), 1);
    CHECK(strcmp(ckpt_file_fact_key(f, 0), "k") == 0 && strcmp(ckpt_file_fact_value(f, 0), "v") == 0);
    CHECK(ckpt_file_fact_key(f, 1) == NULL);
    ckpt_close(f);

    /* many arrays: hash tables grow, every path and node found again */
    f = tiny_file(NULL);
    if (!f) return;
    f8 = dt_of(f, "<f8");
    int ok = 1;
    for (int i = 0; i < 5000 && ok; i++) {
        char p[32];
        snprintf(p, sizeof p, "layer.%d.weight", i);
        int64_t d1[1] = {i};
        ok = ckpt__file_add_array(f, p, NULL, f8, 1, d1, NULL, NULL, &e) == CKPT_OK;
    }
    CHECK(ok);
    for (int i = 0; i < 5000 && ok; i++) {
        char p[32];
        snprintf(p, sizeof p, "layer.%d.weight", i);
        size_t ix;
        ok = ckpt_file_find_array(f, p, &ix) == CKPT_OK && ix == (size_t)i &&
             ckpt_file_array(f, ix)->shape[0] == i;
    }
    CHECK(ok);
    ckpt_close(f);
}

static void test_check_span(void) {
    ckpt_file *f = tiny_file(NULL);
    if (!f) return;
    const ckpt_dtype_info *f8 = dt_of(f, "<f8");
    ckpt_error e;
    ckpt__array *a;
    int64_t s3[1] = {3}, st8[1] = {8}, stn[1] = {-8};
    CHECK_STATUS(ckpt__file_add_array(f, "p", NULL, f8, 1, s3, st8, &a, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 0, 24, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 0, 23, &e), CKPT_E_BOUNDS);
    CHECK(strcmp(e.member, "p") == 0);
    CHECK_STATUS(ckpt__check_span(a, 8, 32, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, UINT64_MAX - 4, UINT64_MAX, &e), CKPT_E_BOUNDS);
    CHECK_STATUS(ckpt__file_add_array(f, "n", NULL, f8, 1, s3, stn, &a, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 16, 24, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 8, 24, &e), CKPT_E_BOUNDS);
    CHECK_STATUS(ckpt__check_span(a, 16, 23, &e), CKPT_E_BOUNDS);
    int64_t sh[2] = {(int64_t)1 << 30, (int64_t)1 << 20}, hs[2] = {(int64_t)1 << 62, 8};
    CHECK_STATUS(ckpt__file_add_array(f, "huge", NULL, f8, 2, sh, hs, &a, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 0, UINT64_MAX, &e), CKPT_E_BOUNDS);
    int64_t mn[1] = {2}, mns[1] = {INT64_MIN};
    CHECK_STATUS(ckpt__file_add_array(f, "min", NULL, f8, 1, mn, mns, &a, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 0, UINT64_MAX, &e), CKPT_E_BOUNDS);
    int64_t z[1] = {0};
    CHECK_STATUS(ckpt__file_add_array(f, "zero", NULL, f8, 1, z, NULL, &a, &e), CKPT_OK);
    CHECK_STATUS(ckpt__check_span(a, 100, 0, &e), CKPT_OK); /* nothing is read */
    ckpt_close(f);
}

static uint16_t be16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }

static void test_resolve(void) {
    ckpt_file *f = tiny_file(NULL);
    if (!f) return;
    ckpt_error e;
    ckpt__array *a;
    size_t idx;
    const void *d;
    /* 8 doubles in a 64-byte aligned buffer */
    double *buf = aligned_alloc(64, 128);
    static const double vals[8] = {1.5, -2.0, 3.25, 1e300, -0.0, 7.0, 8.5, -9.75};
    memcpy(buf, vals, sizeof vals);
    const ckpt_dtype_info *f8 = dt_of(f, "<f8");

    /* aligned, native: zero-copy */
    int64_t s4[1] = {4};
    CHECK_STATUS(ckpt__file_add_array(f, "mapped", NULL, f8, 1, s4, NULL, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)buf;
    a->src_len = 64;
    /* unaligned: copied */
    int64_t s3[1] = {3};
    CHECK_STATUS(ckpt__file_add_array(f, "unaligned", NULL, f8, 1, s3, NULL, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)(buf + 1);
    a->src_len = 56;
    /* strided, aligned: zero-copy with strides kept */
    int64_t s2[1] = {2}, st16[1] = {16};
    CHECK_STATUS(ckpt__file_add_array(f, "strided", NULL, f8, 1, s2, st16, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)buf;
    a->src_len = 64;
    /* strided, unaligned: gathered into C order */
    CHECK_STATUS(ckpt__file_add_array(f, "gather", NULL, f8, 1, s2, st16, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)(buf + 1);
    a->src_len = 56;
    /* Fortran 2x2 at an unaligned start: dense copy keeps the Fortran strides */
    int64_t s22[2] = {2, 2}, fst[2] = {8, 16};
    CHECK_STATUS(ckpt__file_add_array(f, "fortran", NULL, f8, 2, s22, fst, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)(buf + 1);
    a->src_len = 56;
    /* negative stride, element 0 at offset 16 */
    int64_t stn[1] = {-8};
    CHECK_STATUS(ckpt__file_add_array(f, "reversed", NULL, f8, 1, s3, stn, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)buf;
    a->src_base = 16;
    a->src_len = 24;
    /* past the end */
    int64_t s9[1] = {9};
    CHECK_STATUS(ckpt__file_add_array(f, "oob", NULL, f8, 1, s9, NULL, &a, &e), CKPT_OK);
    a->src = (const uint8_t *)buf;
    a->src_len = 64;
    /* no data source */
    CHECK_STATUS(ckpt__file_add_array(f, "nodata", NULL, f8, 1, s3, NULL, &a, &e), CKPT_OK);
    /* big-endian doubles */
    uint8_t *bebuf = aligned_alloc(64, 64);
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++) bebuf[i * 8 + b] = ((const uint8_t *)&vals[i])[7 - b];
    CHECK_STATUS(ckpt__file_add_array(f, "bigendian", NULL, dt_of(f, ">f8"), 1, s3, NULL, &a, &e),
                 CKPT_OK);
    a->src = bebuf;
    a->src_len = 24;
    /* empty */
    int64_t s0[1] = {0};
    CHECK_STATUS(ckpt__file_add_array(f, "empty", NULL, f8, 1, s0, NULL, &a, &e), CKPT_OK);

    ckpt__file_plan_arrays(f);
    CHECK_STATUS(ckpt_file_find_array(f, "mapped", &idx), CKPT_OK);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->will_copy, 0);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(d == (const void *)buf);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->state, CKPT_DATA_MAPPED);
    for (int k = 0; k < 4; k++) CHECK(ckpt_array_get_f64(f, idx, (uint64_t)k) == vals[k]);
    CHECK(isnan(ckpt_array_get_f64(f, idx, 4)));

    CHECK_STATUS(ckpt_file_find_array(f, "unaligned", &idx), CKPT_OK);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->will_copy, 1);
    CHECK(isnan(ckpt_array_get_f64(f, idx, 0))); /* not resolved yet */
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(d != NULL && ((uintptr_t)d % 64) == 0);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->state, CKPT_DATA_COPIED);
    CHECK(ckpt_file_array(f, idx)->note != NULL);
    for (int k = 0; k < 3; k++) CHECK(ckpt_array_get_f64(f, idx, (uint64_t)k) == vals[k + 1]);

    CHECK_STATUS(ckpt_file_find_array(f, "strided", &idx), CKPT_OK);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(d == (const void *)buf);
    CHECK(ckpt_array_get_f64(f, idx, 1) == vals[2]);

    CHECK_STATUS(ckpt_file_find_array(f, "gather", &idx), CKPT_OK);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->will_copy, 1);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(((uintptr_t)d % 64) == 0);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->strides[0], 8);
    CHECK(((const double *)d)[0] == vals[1] && ((const double *)d)[1] == vals[3]);

    CHECK_STATUS(ckpt_file_find_array(f, "fortran", &idx), CKPT_OK);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->fortran, 1);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(((uintptr_t)d % 64) == 0);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->strides[1], 16);
    /* C order of the logical shape: [0,0]=buf[1] [0,1]=buf[3] [1,0]=buf[2] [1,1]=buf[4] */
    CHECK(ckpt_array_get_f64(f, idx, 0) == vals[1]);
    CHECK(ckpt_array_get_f64(f, idx, 1) == vals[3]);
    CHECK(ckpt_array_get_f64(f, idx, 2) == vals[2]);
    CHECK(ckpt_array_get_f64(f, idx, 3) == vals[4]);

    CHECK_STATUS(ckpt_file_find_array(f, "reversed", &idx), CKPT_OK);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(d == (const void *)(buf + 2));
    CHECK(ckpt_array_get_f64(f, idx, 0) == vals[2] && ckpt_array_get_f64(f, idx, 2) == vals[0]);

    CHECK_STATUS(ckpt_file_find_array(f, "oob", &idx), CKPT_OK);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_E_BOUNDS);
    CHECK(d == NULL);
    CHECK(strcmp(e.member, "oob") == 0);

    CHECK_STATUS(ckpt_file_find_array(f, "nodata", &idx), CKPT_OK);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_E_UNSUPPORTED);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->state, CKPT_DATA_UNAVAILABLE);

    CHECK_STATUS(ckpt_file_find_array(f, "bigendian", &idx), CKPT_OK);
    CHECK_EQ_INT(ckpt_file_array(f, idx)->will_copy, 1);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(d != (const void *)bebuf && ((uintptr_t)d % 64) == 0);
    for (int k = 0; k < 3; k++) CHECK(ckpt_array_get_f64(f, idx, (uint64_t)k) == vals[k]);
    CHECK(ckpt_file_array(f, idx)->dtype->byteorder == '>'); /* as stored in the file */

    CHECK_STATUS(ckpt_file_find_array(f, "empty", &idx), CKPT_OK);
    CHECK_STATUS(ckpt_array_data(f, idx, &d, &e), CKPT_OK);
    CHECK(d != NULL);

    /* load_all reports the out-of-bounds array (and skips the unavailable one) */
    CHECK_STATUS(ckpt_file_load_all(f, &e), CKPT_E_BOUNDS);
    ckpt_close(f);

    /* min_align 4096 forces copies aligned to it */
    ckpt_open_opts o = ckpt_open_opts_default();
    o.min_align = 4096;
    f = tiny_file(&o);
    if (f) {
        uint8_t *page = aligned_alloc(4096, 8192);
        memcpy(page + 64, vals, sizeof vals);
        CHECK_STATUS(ckpt__file_add_array(f, "a", NULL, dt_of(f, "<f8"), 1, s4, NULL, &a, &e),
                     CKPT_OK);
        a->src = page + 64;
        a->src_len = 64;
        CHECK_STATUS(ckpt__file_add_array(f, "b", NULL, dt_of(f, "<f8"), 1, s4, NULL, &a, &e),
                     CKPT_OK);
        a->src = page;
        a->src_len = 8192;
        ckpt__file_plan_arrays(f);
        CHECK_EQ_INT(ckpt_file_array(f, 0)->will_copy, 1);
        CHECK_EQ_INT(ckpt_file_array(f, 1)->will_copy, 0);
        CHECK_STATUS(ckpt_file_load_all(f, &e), CKPT_OK);
        CHECK_STATUS(ckpt_array_data(f, 0, &d, &e), CKPT_OK);
        CHECK(((uintptr_t)d % 4096) == 0 && ((const double *)d)[3] == vals[3]);
        CHECK_STATUS(ckpt_array_data(f, 1, &d, &e), CKPT_OK);
        CHECK(d == (const void *)page);
        ckpt_close(f);
        free(page);
    }
    free(buf);
    free(bebuf);
}

/* Element conversion for each numeric dtype.  Expected values are the IEEE /
   two's complement meaning of the bytes (float16 0x3c00 = 1, 0x7bff = 65504,
   0x0001 = 2^-24; bfloat16 0x3f80 = 1, 0xc040 = -3). */
static void test_get_f64(void) {
    ckpt_file *f = tiny_file(NULL);
    if (!f) return;
    ckpt_error e;
    ckpt__array *a;
    const void *d;
    _Alignas(64) static uint8_t mem[64 * 16];
    struct {
        const char *dt;
        size_t n;
        double want[5];
        uint8_t bytes[40];
    } cases[] = {
        {"|b1", 3, {0, 1, 1}, {0, 1, 2}},
        {"|i1", 3, {-1, 127, -128}, {0xff, 0x7f, 0x80}},
        {"|u1", 2, {255, 7}, {0xff, 7}},
        {"<i2", 2, {-2, 258}, {0xfe, 0xff, 0x02, 0x01}},
        {"<u2", 1, {65535}, {0xff, 0xff}},
        {"<i4", 1, {-65536}, {0x00, 0x00, 0xff, 0xff}},
        {"<u4", 1, {4000000000.0}, {0x00, 0x28, 0x6b, 0xee}},
        {"<i8", 1, {-1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {"<u8", 1, {18446744073709551615.0}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {"<f2", 5, {1.0, -2.0, 65504.0, 5.960464477539063e-08, INFINITY},
         {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c}},
        {"<f4", 1, {0.5}, {0x00, 0x00, 0x00, 0x3f}},
        {"<c8", 1, {2.0}, {0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x80, 0x3f}}, /* 2+1j: real part */
    };
    size_t nc = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < nc; i++) {
        memcpy(mem + 64 * i, cases[i].bytes, 40);
        int64_t sh[1] = {(int64_t)cases[i].n};
        CHECK_STATUS(ckpt__file_add_array(f, cases[i].dt, NULL, dt_of(f, cases[i].dt), 1, sh, NULL,
                                          &a, &e), CKPT_OK);
        a->src = mem + 64 * i;
        a->src_len = 64;
    }
    /* bfloat16 via the builtin description */
    static const uint8_t bf[4] = {0x80, 0x3f, 0x40, 0xc0};
    memcpy(mem + 64 * nc, bf, 4);
    int64_t sh2[1] = {2};
    CHECK_STATUS(ckpt__file_add_array(f, "bf16", NULL, ckpt__dtype_builtin(CKPT_DT_BFLOAT16), 1, sh2,
                                      NULL, &a, &e), CKPT_OK);
    a->src = mem + 64 * nc;
    a->src_len = 64;
    /* big-endian float16 is swapped into a copy */
    uint16_t beh[2] = {be16(0x3c00), be16(0xc000)};
    memcpy(mem + 64 * (nc + 1), beh, 4);
    CHECK_STATUS(ckpt__file_add_array(f, ">f2", NULL, dt_of(f, ">f2"), 1, sh2, NULL, &a, &e),
                 CKPT_OK);
    a->src = mem + 64 * (nc + 1);
    a->src_len = 64;

    CHECK_STATUS(ckpt_file_load_all(f, &e), CKPT_OK);
    for (size_t i = 0; i < nc; i++) {
        for (size_t k = 0; k < cases[i].n; k++) {
            double got = ckpt_array_get_f64(f, i, k);
            CHECKF(got == cases[i].want[k], "%s[%zu]: %.17g, want %.17g", cases[i].dt, k, got,
                   cases[i].want[k]);
        }
    }
    CHECK(ckpt_array_get_f64(f, nc, 0) == 1.0 && ckpt_array_get_f64(f, nc, 1) == -3.0);
    CHECK_STATUS(ckpt_array_data(f, nc + 1, &d, &e), CKPT_OK);
    CHECK(d != (const void *)(mem + 64 * (nc + 1)));
    CHECK(ckpt_array_get_f64(f, nc + 1, 0) == 1.0 && ckpt_array_get_f64(f, nc + 1, 1) == -2.0);
    CHECK(isnan(ckpt_array_get_f64(f, nc + 5, 0)));
    ckpt_close(f);
}

static void test_object_array(void) {
    ckpt_file *f = tiny_file(NULL);
    if (!f) return;
    ckpt_error e;
    ckpt__array *a;
    const void *d;
    int64_t sh[1] = {1};
    CHECK_STATUS(ckpt__file_add_array(f, "obj", NULL, ckpt__dtype_builtin(CKPT_DT_OBJECT), 1, sh,
                                      NULL, &a, &e), CKPT_OK);
    a->obj_items = ckpt_dict_get(ckpt_file_root(f), "a"); /* [None] */
    CHECK_STATUS(ckpt_array_data(f, 0, &d, &e), CKPT_E_TYPE);
    CHECK(ckpt_value_kind(ckpt_array_object_item(f, 0, 0)) == CKPT_K_NONE &&
          ckpt_array_object_item(f, 0, 0) != NULL);
    CHECK(ckpt_array_object_item(f, 0, 1) == NULL);
    CHECK(isnan(ckpt_array_get_f64(f, 0, 0)));
    CHECK_STATUS(ckpt_file_load_all(f, &e), CKPT_OK); /* object arrays are skipped */
    ckpt_close(f);
}

/* ------------------------------------------------------------ path walk */

/* models/files/walk_pN: arrays placed by make_files.py under every kind of
   path; the JSON lists them in graph pre-order with the path each must get. */
static void test_walk(void) {
    static const int protos[] = {2, 4, 5};
    for (size_t pi = 0; pi < sizeof protos / sizeof protos[0]; pi++) {
        char rel[64];
        snprintf(rel, sizeof rel, "files/walk_p%d.json", protos[pi]);
        cJSON *j = tu_load_json(tu_model_path(rel));
        if (!j) continue;
        snprintf(rel, sizeof rel, "files/walk_p%d.pkl", protos[pi]);
        const char *path = tu_model_path(rel);
        ckpt_file *f = NULL;
        ckpt_error e;
        ckpt_status st = ckpt_open(path, NULL, &f, &e);
        CHECKF(st == CKPT_OK, "%s: %s", path, e.message);
        if (st != CKPT_OK) {
            cJSON_Delete(j);
            continue;
        }
        CHECK_EQ_INT(ckpt_file_protocol(f), protos[pi]);
        const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(j, "arrays");
        size_t n = (size_t)cJSON_GetArraySize(arrays);
        CHECKF(ckpt_file_array_count(f) == n, "walk_p%d: %zu arrays, expected %zu", protos[pi],
               ckpt_file_array_count(f), n);
        for (size_t i = 0; i < n && i < ckpt_file_array_count(f); i++) {
            const cJSON *x = cJSON_GetArrayItem(arrays, (int)i);
            const char *want = cJSON_GetObjectItemCaseSensitive(x, "path")->valuestring;
            const ckpt_array_info *ai = ckpt_file_array(f, i);
            CHECKF(strcmp(ai->path, want) == 0, "walk_p%d array %zu: path '%s', expected '%s'",
                   protos[pi], i, ai->path, want);
            CHECKF(strcmp(ai->dtype->str,
                          cJSON_GetObjectItemCaseSensitive(x, "dtype")->valuestring) == 0,
                   "walk_p%d %s: dtype %s", protos[pi], want, ai->dtype->str);
            const cJSON *shape = cJSON_GetObjectItemCaseSensitive(x, "shape");
            int shape_ok = ai->ndim == (uint32_t)cJSON_GetArraySize(shape);
            for (uint32_t k = 0; shape_ok && k < ai->ndim; k++)
                shape_ok = ai->shape[k] == (int64_t)cJSON_GetArrayItem(shape, (int)k)->valuedouble;
            CHECKF(shape_ok, "walk_p%d %s: shape", protos[pi], want);
            size_t ix = 99999;
            CHECKF(ckpt_file_find_array(f, want, &ix) == CKPT_OK && ix == i, "walk_p%d: find '%s'",
                   protos[pi], want);
            ix = 99999;
            CHECKF(ai->value && ckpt_file_array_of(f, ai->value, &ix) == CKPT_OK && ix == i,
                   "walk_p%d: array_of '%s'", protos[pi], want);
            const void *d;
            st = ckpt_array_data(f, i, &d, &e);
            CHECKF(st == CKPT_OK || ai->dtype->type == CKPT_DT_OBJECT, "walk_p%d %s: data: %s",
                   protos[pi], want, e.message);
            const cJSON *vals = cJSON_GetObjectItemCaseSensitive(x, "values");
            if (cJSON_IsNull(vals)) { /* object array: items are graph values */
                CHECKF(ai->dtype->type == CKPT_DT_OBJECT, "walk_p%d %s: not object", protos[pi], want);
                CHECKF(st == CKPT_E_TYPE, "walk_p%d %s: data of an object array", protos[pi], want);
                int items_ok = ai->nelems > 0;
                for (uint64_t k = 0; items_ok && k < ai->nelems; k++)
                    items_ok = ckpt_array_object_item(f, i, k) != NULL;
                CHECKF(items_ok, "walk_p%d %s: object items", protos[pi], want);
                continue;
            }
            int vals_ok = (int)ai->nelems == cJSON_GetArraySize(vals);
            for (uint64_t k = 0; vals_ok && k < ai->nelems; k++)
                vals_ok = ckpt_array_get_f64(f, i, k) == cJSON_GetArrayItem(vals, (int)k)->valuedouble;
            CHECKF(vals_ok, "walk_p%d %s: values differ", protos[pi], want);
        }
        /* the shared array ("again" is the same object as "w") is listed once */
        size_t ix;
        CHECK_STATUS(ckpt_file_find_array(f, "again", &ix), CKPT_E_NOTFOUND);
        ckpt_close(f);

        /* max_depth bounds the walk: "model.sub.x" is 3 levels deep */
        ckpt_open_opts o = ckpt_open_opts_default();
        o.limits.max_depth = 2;
        f = (ckpt_file *)1;
        st = ckpt_open(path, &o, &f, &e);
        CHECKF(st == CKPT_E_LIMIT && f == NULL, "walk_p%d with max_depth 2: %s (%s)", protos[pi],
               ckpt_status_str(st), e.message);
        o.limits.max_depth = 3;
        st = ckpt_open(path, &o, &f, &e);
        CHECKF(st == CKPT_OK, "walk_p%d with max_depth 3: %s", protos[pi], e.message);
        if (st == CKPT_OK) ckpt_close(f);
        cJSON_Delete(j);
    }
}

/* ------------------------------------------------------------ allocation failure */

/* Open from memory, resolve every array, close. */
static ckpt_status open_and_load(tu_counting *c, const char *buf, size_t n, size_t min_align,
                                 ckpt_error *e) {
    ckpt_allocator a = tu_counting_allocator(c);
    ckpt_open_opts o = ckpt_open_opts_default();
    o.alloc = &a;
    o.min_align = min_align;
    ckpt_file *f = NULL;
    ckpt_status st = ckpt_open_memory(buf, n, &o, &f, e);
    if (st != CKPT_OK) {
        CHECKF(f == NULL, "handle left on failure");
        return st;
    }
    st = ckpt_file_load_all(f, e);
    ckpt_close(f);
    return st;
}

/* Every allocation of open + load_all + close may fail: NOMEM, nothing leaks,
   every free is given the size that was allocated. */
static void test_allocfail(void) {
    static const char *const files[] = {"files/walk_p4.pkl", "files/walk_p2.pkl",
                                        "pickles/p2_objects.pkl", "pickles/multi_concat.pkl"};
    for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
        size_t n = 0;
        char *buf = tu_read_file(tu_model_path(files[fi]), &n);
        CHECKF(buf != NULL, "cannot read %s", files[fi]);
        if (!buf) continue;
        /* min_align 4096 makes the walk fixture's arrays copies (more allocations) */
        size_t align = fi == 1 ? 4096 : 0;
        tu_counting c = {0, -1, 0, 0};
        ckpt_error e;
        ckpt_status st = open_and_load(&c, buf, n, align, &e);
        CHECKF(st == CKPT_OK, "%s: %s", files[fi], e.message);
        CHECKF(c.live == 0 && c.bad_size == 0, "%s: live %lld bad sizes %lld", files[fi], c.live,
               c.bad_size);
        long long total = c.calls;
        int all_nomem = 1, clean = 1;
        for (long long k = 0; k < total; k++) {
            tu_counting ck = {0, k, 0, 0};
            st = open_and_load(&ck, buf, n, align, &e);
            if (st != CKPT_E_NOMEM) {
                if (all_nomem)
                    printf("%s: allocation %lld failing gave %s (%s)\n", files[fi], k,
                           ckpt_status_str(st), e.message);
                all_nomem = 0;
            }
            if (ck.live != 0 || ck.bad_size != 0) {
                if (clean)
                    printf("%s: allocation %lld failing: live %lld bad sizes %lld\n", files[fi], k,
                           ck.live, ck.bad_size);
                clean = 0;
            }
        }
        CHECKF(total > 5, "%s: only %lld allocations", files[fi], total);
        CHECKF(all_nomem, "%s: some failing allocation did not give NOMEM", files[fi]);
        CHECKF(clean, "%s: leak or wrong free size under allocation failure", files[fi]);
        free(buf);
    }
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    if (!tu_mkdtemp(tmpdir, sizeof tmpdir, "ckpt_test_file_api.")) {
        CHECKF(0, "mkdtemp failed");
        return tu_finish();
    }
    test_fixtures();
    test_open_errors();
    test_detection();
    test_add_array_checks();
    test_check_span();
    test_resolve();
    test_get_f64();
    test_object_array();
    test_walk();
    test_allocfail();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", tmpdir);
    return tu_finish();
}
