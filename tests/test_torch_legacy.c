/*
 * test_torch_legacy.c - PyTorch legacy stream, old tar form and sharded
 * indexes (loader/torch_legacy.c, loader/sharded.c).
 *
 *  - models/torch/legacy_*.pt, tar_format.pt, sharded.index.json and
 *    the files of models/torch_legacy (models/make_torch_legacy.py) against the
 *    JSON that PyTorch 1.13 wrote beside them (models/make_torch.py): names in
 *    order, dtypes, shapes, strides, storage offsets, shared storages,
 *    requires_grad, sums, values; mapped, read (no mmap) and from memory;
 *    nothing is resolved at open; contiguous data equals the file bytes at
 *    the reported file offset.
 *  - every prefix of the legacy files and of the tar up to its last member
 *    fails cleanly; byte flips fail or open and load cleanly; one hand-made
 *    corruption per failure class with its status.
 *  - a storage of 1 GiB (a sparse file) opens without being read (peak RSS).
 *  - sharded: the fixture index over zip shards, an index mixing legacy
 *    shards (expected values from their own JSON), and the index errors
 *    (escaping names, missing shard, tensor not in its shard, listed twice,
 *    bad JSON prefixes) naming the shard.
 *  - every "torch legacy" file of ../shared/realworld (skipped, visibly, when
 *    the folder is absent) against expected/NAME.json.
 */
#include "util_test.h"
#include "util_allocfail.h"
#include "util_torch.h"

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_pickle.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* ------------------------------------------------------------------ helpers */

static int write_file(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    int ok = fwrite(p, 1, n, fp) == n;
    return fclose(fp) == 0 && ok;
}

static const char *tmp_path(const char *rel) { return tu_path(tmpdir, rel); }

static int copy_model(const char *rel, const char *dst_rel) {
    size_t n;
    char *b = tu_read_file(tu_model_path(rel), &n);
    if (!b) return 0;
    int ok = write_file(tmp_path(dst_rel), b, n);
    free(b);
    return ok;
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* Compare the tensors of f with `want` (util_torch.c); `file`/`file_len`:
   the bytes of the file the tensors live in (NULL: no file-offset check).
   Legacy storages are not aligned in the file; copies are 64-byte aligned. */
static void check_tensors(ckpt_file *f, const cJSON *want, const char *label, const uint8_t *file,
                          size_t file_len) {
    tu_tensor_opts to = {file, file_len, 0, 0, 0, 0, 64};
    tu_check_tensors(f, want, label, &to);
}

static ckpt_status open_mem(const uint8_t *p, size_t n, ckpt_file **f, ckpt_error *err) {
    return ckpt_open_memory(p, n, NULL, f, err);
}

/* ------------------------------------------------------------------ fixtures */

static void fixture(const char *dir, const char *name) {
    char rel[256], jrel[256];
    snprintf(rel, sizeof rel, "%s/%s", dir, name);
    snprintf(jrel, sizeof jrel, "%s/%s.json", dir, name);
    cJSON *doc = tu_load_json(tu_model_path(jrel));
    if (!doc) return;
    size_t len;
    uint8_t *bytes = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(bytes != NULL, "read %s", rel);
    for (int mode = 0; mode < 3 && bytes; mode++) {
        ckpt_file *f;
        uint8_t *copy;
        char label[300];
        if (mode == 2 && strstr(name, ".index.json")) break; /* a sharded index opens by path only */
        ckpt_status st = tu_open_mode(rel, name, mode, bytes, len, &f, &copy, label, sizeof label);
        if (st == CKPT_OK) {
            CHECKF(strcmp(ckpt_format_name(ckpt_file_format(f)), item(doc, "format")->valuestring) == 0,
                   "%s: format %s want %s", label, ckpt_format_name(ckpt_file_format(f)),
                   item(doc, "format")->valuestring);
            CHECKF(ckpt_file_protocol(f) == (int)item(doc, "protocol")->valuedouble, "%s: protocol %d", label,
                   ckpt_file_protocol(f));
            if (ckpt_file_format(f) == CKPT_FMT_TORCH_LEGACY)
                CHECKF(ckpt_file_pickle_count(f) == 5, "%s: %zu pickles", label, ckpt_file_pickle_count(f));
            const cJSON *rc = item(doc, "root_class"); /* a pickled module: ('module', cls, ...) ids */
            if (rc) {
                const char *got = ckpt_value_class(ckpt_file_root(f));
                CHECKF(got && strcmp(got, rc->valuestring) == 0, "%s: root class %s want %s", label,
                       got ? got : "(none)", rc->valuestring);
            }
            check_tensors(f, item(doc, "tensors"), label,
                          ckpt_file_format(f) == CKPT_FMT_SHARDED ? NULL : bytes, len);
            ckpt_close(f);
        }
        free(copy);
    }
    free(bytes);
    cJSON_Delete(doc);
}

/* ------------------------------------------------------------------ hostile input */

/* End offsets of the five pickles of a legacy file (ends[0..4]). */
static int pickle_ends(const uint8_t *b, size_t n, size_t ends[5]) {
    ckpt_graph *g = NULL;
    if (ckpt_graph_new(NULL, NULL, CKPT_GRAPH_BORROW_INPUT, &g) != CKPT_OK) return 0;
    size_t pos = 0;
    int ok = 1;
    for (int i = 0; i < 5 && ok; i++) {
        ckpt_value *root;
        ckpt_pickle_info info;
        ok = ckpt_pickle_load(g, b, n, pos, NULL, &root, &info, NULL) == CKPT_OK;
        pos = ends[i] = (size_t)info.end;
    }
    ckpt_graph_free(g);
    return ok;
}

/* Open a copy of exactly n bytes (so that a read past them is caught); on
   success load every tensor and close. */
static ckpt_status open_mutant(const uint8_t *b, size_t n, ckpt_error *err) {
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, b, n);
    ckpt_file *f = NULL;
    ckpt_status st = open_mem(c, n, &f, err);
    if (st == CKPT_OK) {
        ckpt_error e2;
        ckpt_file_load_all(f, &e2);
        ckpt_close(f);
    } else {
        CHECKF(f == NULL && err->status == st && err->message[0], "failed open leaves a handle or no message");
    }
    free(c);
    return st;
}

static void prefixes(const char *rel, size_t must_fail_below) {
    size_t n;
    uint8_t *b = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    if (!b) {
        CHECKF(0, "read %s", rel);
        return;
    }
    if (must_fail_below > n) must_fail_below = n;
    size_t bad = 0, first_bad = 0;
    for (size_t L = 0; L < must_fail_below; L++) {
        ckpt_error err;
        if (open_mutant(b, L, &err) == CKPT_OK && bad++ == 0) first_bad = L;
    }
    CHECKF(bad == 0, "%s: %zu prefixes opened (first of %zu bytes)", rel, bad, first_bad);
    free(b);
}

static void flips(const char *rel, size_t upto) {
    size_t n;
    uint8_t *b = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    if (!b) return;
    if (upto > n) upto = n;
    size_t failed = 0;
    for (size_t i = 0; i < upto; i++) {
        b[i] ^= 0xff;
        ckpt_error err;
        if (open_mutant(b, n, &err) != CKPT_OK) failed++;
        b[i] ^= 0xff;
    }
    /* a flip inside a pickle opcode stream is nearly always caught */
    CHECKF(failed > 0, "%s: no byte flip was detected", rel);
    free(b);
}

static void expect(const uint8_t *b, size_t n, ckpt_status want, const char *needle, const char *what) {
    ckpt_error err;
    ckpt_status st = open_mutant(b, n, &err);
    CHECKF(st == want, "%s: status %d want %d (%s)", what, (int)st, (int)want, st ? err.message : "opened");
    if (st != CKPT_OK && needle)
        CHECKF(strstr(err.message, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.message, needle);
}

static void legacy_corruptions(void) {
    size_t n;
    uint8_t *orig = (uint8_t *)tu_read_file(tu_model_path("torch/legacy_p4.pt"), &n);
    if (!orig) {
        CHECKF(0, "read legacy_p4.pt");
        return;
    }
    size_t ends[5];
    CHECK(pickle_ends(orig, n, ends));
    uint8_t *b = malloc(n + 64);
    size_t rec0 = ends[4];

    memcpy(b, orig, n);
    put_le64(b + rec0, (uint64_t)1 << 40);
    expect(b, n, CKPT_E_TRUNCATED, "storage '0'", "storage size past the end");

    memcpy(b, orig, n);
    put_le64(b + rec0, UINT64_MAX);
    expect(b, n, CKPT_E_FORMAT, "invalid size", "negative storage size");

    memcpy(b, orig, n);
    put_le64(b + rec0, (uint64_t)1 << 62); /* * 4 bytes overflows */
    expect(b, n, CKPT_E_FORMAT, "invalid size", "storage byte size overflows");

    /* protocol version 1001 -> 1002 */
    memcpy(b, orig, n);
    uint8_t *pv = memmem(b + ends[0], ends[1] - ends[0], "\xe9\x03", 2);
    CHECK(pv != NULL);
    if (pv) {
        pv[0] = 0xea;
        expect(b, n, CKPT_E_UNSUPPORTED, "protocol version", "protocol version 1002");
    }

    /* first key of the key list renamed to one no tensor uses */
    memcpy(b, orig, n);
    uint8_t *k = memmem(b + ends[3], ends[4] - ends[3], "\x8c\x01" "0", 3); /* SHORT_BINUNICODE "0" */
    if (!k) k = memmem(b + ends[3], ends[4] - ends[3], "X\x01\x00\x00\x00" "0", 6);
    CHECK(k != NULL);
    if (k) {
        k[k[0] == 'X' ? 5 : 2] = 'Z';
        expect(b, n, CKPT_E_FORMAT, "no tensor uses it", "unknown key in the key list");
    }

    /* last storage one element short (the file cut to match): its tensor
       no longer fits its storage */
    size_t pos = rec0, last = 0;
    for (int i = 0; i < 4; i++) { /* float32 storages */
        last = pos;
        pos += 8 + 4 * (size_t)get_le64(orig + pos);
    }
    CHECK(pos == n);
    memcpy(b, orig, n);
    put_le64(b + last, get_le64(orig + last) - 1);
    expect(b, n - 4, CKPT_E_BOUNDS, NULL, "storage shorter than its tensor");

    /* trailing bytes are tolerated (torch ignores them) and reported */
    memcpy(b, orig, n);
    memset(b + n, 0xab, 64);
    ckpt_file *f = NULL;
    ckpt_error err;
    uint8_t *c = malloc(n + 64);
    memcpy(c, b, n + 64);
    ckpt_status st = open_mem(c, n + 64, &f, &err);
    CHECKF(st == CKPT_OK, "trailing bytes: %s", st ? err.message : "");
    if (st == CKPT_OK) {
        int found = 0;
        for (size_t i = 0; i < ckpt_file_fact_count(f); i++)
            found |= strcmp(ckpt_file_fact_key(f, i), "trailing bytes") == 0 &&
                     strcmp(ckpt_file_fact_value(f, i), "64") == 0;
        CHECK(found);
        CHECK_EQ_INT(ckpt_file_array_count(f), 4);
        ckpt_close(f);
    }
    free(c);
    free(b);
    free(orig);
}

/* Data offset and size of tar member `name`; 0 if absent. */
static int tar_find(const uint8_t *b, size_t n, const char *name, size_t *off, size_t *size) {
    for (size_t pos = 0; pos + 512 <= n;) {
        const uint8_t *h = b + pos;
        if (h[0] == 0) return 0;
        size_t sz = (size_t)strtoull((const char *)h + 124, NULL, 8);
        if (strcmp((const char *)h, name) == 0) {
            *off = pos + 512;
            *size = sz;
            return 1;
        }
        pos += 512 + (sz + 511) / 512 * 512;
    }
    return 0;
}

static void tar_fix_checksum(uint8_t *h) {
    memset(h + 148, ' ', 8);
    unsigned s = 0;
    for (int i = 0; i < 512; i++) s += h[i];
    snprintf((char *)h + 148, 8, "%06o", s);
    h[155] = ' ';
}

static void tar_corruptions(void) {
    size_t n;
    uint8_t *orig = (uint8_t *)tu_read_file(tu_model_path("torch/tar_format.pt"), &n);
    if (!orig) {
        CHECKF(0, "read tar_format.pt");
        return;
    }
    size_t poff = 0, psz = 0, toff = 0, tsz = 0, soff = 0, ssz = 0;
    CHECK(tar_find(orig, n, "pickle", &poff, &psz));
    CHECK(tar_find(orig, n, "tensors", &toff, &tsz));
    CHECK(tar_find(orig, n, "storages", &soff, &ssz));
    /* every cut before the end of the last member fails */
    prefixes("torch/tar_format.pt", poff + psz);
    /* cuts in the end-of-archive padding still open */
    for (size_t L = poff + psz; L <= n; L += 97) {
        ckpt_error err;
        CHECKF(open_mutant(orig, L, &err) == CKPT_OK, "tar cut at %zu in the padding: %s", L, err.message);
    }
    uint8_t *b = malloc(n);

    memcpy(b, orig, n);
    b[0] ^= 0x20; /* name byte: checksum no longer matches */
    expect(b, n, CKPT_E_FORMAT, "checksum", "tar header checksum");

    memcpy(b, orig, n);
    b[poff - 512 + 5] = 'y'; /* "pickly" */
    tar_fix_checksum(b + poff - 512);
    expect(b, n, CKPT_E_FORMAT, "'pickle' is missing", "tar member missing");

    /* tensors member: count pickle, first entry pickle, then int32 ndim */
    ckpt_graph *g = NULL;
    CHECK(ckpt_graph_new(NULL, NULL, CKPT_GRAPH_BORROW_INPUT, &g) == CKPT_OK);
    ckpt_value *r;
    ckpt_pickle_info info;
    size_t p = 0;
    for (int i = 0; i < 2; i++) {
        CHECK(ckpt_pickle_load(g, orig + toff, tsz, p, NULL, &r, &info, NULL) == CKPT_OK);
        p = (size_t)info.end;
    }
    size_t nd_at = toff + p;
    {
        /* first tensor's key 10 -> 11, the key of the second */
        size_t e0 = 0;
        CHECK(ckpt_pickle_load(g, orig + toff, tsz, 0, NULL, &r, &info, NULL) == CKPT_OK);
        e0 = (size_t)info.end;
        memcpy(b, orig, n);
        uint8_t *k10 = memmem(b + toff + e0, p - e0, "K\x0a", 2);
        CHECK(k10 != NULL);
        if (k10) {
            k10[1] = 11;
            expect(b, n, CKPT_E_FORMAT, "listed twice", "tar tensor key listed twice");
        }
    }
    uint32_t nd = orig[nd_at];
    CHECK_EQ_INT(nd, 2);
    memcpy(b, orig, n);
    b[nd_at] = 0xe8;
    b[nd_at + 1] = 0x03; /* 1000 dimensions */
    expect(b, n, CKPT_E_LIMIT, "dimensions", "tar tensor with 1000 dimensions");
    memcpy(b, orig, n);
    memset(b + nd_at, 0xff, 4);
    expect(b, n, CKPT_E_FORMAT, "negative", "tar tensor with -1 dimensions");
    memcpy(b, orig, n);
    put_le64(b + nd_at + 8 + 32, 1000); /* storage offset past the storage */
    expect(b, n, CKPT_E_BOUNDS, NULL, "tar tensor outside its storage");

    /* storages member: count pickle, first entry, then int64 numel */
    p = 0;
    for (int i = 0; i < 2; i++) {
        CHECK(ckpt_pickle_load(g, orig + soff, ssz, p, NULL, &r, &info, NULL) == CKPT_OK);
        p = (size_t)info.end;
    }
    CHECK_EQ_INT(get_le64(orig + soff + p), 12);
    memcpy(b, orig, n);
    put_le64(b + soff + p, 1u << 20);
    expect(b, n, CKPT_E_TRUNCATED, "storage", "tar storage past its member");
    ckpt_graph_free(g);

    flips("torch/tar_format.pt", poff + psz);
    free(b);
    free(orig);
}

/* tar_pax.pt: the PAX "size" record wins over the ustar size field. */
static void tar_pax_size(void) {
    size_t n, off, sz;
    uint8_t *b = (uint8_t *)tu_read_file(tu_model_path("torch_legacy/tar_pax.pt"), &n);
    if (!b || !tar_find(b, n, "pickle", &off, &sz)) {
        CHECKF(0, "tar_pax.pt: no 'pickle' member");
        free(b);
        return;
    }
    uint8_t *h = b + off - 512;
    memcpy(h + 124, "00000000000", 12); /* ustar size 0; the PAX record says 105 */
    tar_fix_checksum(h);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = open_mem(b, n, &f, &err);
    CHECKF(st == CKPT_OK, "tar_pax.pt with ustar size 0: %s", st ? err.message : "");
    if (st == CKPT_OK) {
        CHECK_EQ_INT(ckpt_file_array_count(f), 3);
        ckpt_close(f);
    }
    free(b);
}

/* Resident set size now (KiB), from /proc/self/statm; -1 if unknown. */
static long rss_kb(void) {
    FILE *fp = fopen("/proc/self/statm", "r");
    long size = 0, res = -1;
    if (fp) {
        if (fscanf(fp, "%ld %ld", &size, &res) != 2) res = -1;
        fclose(fp);
    }
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A legacy file whose last storage is 1 GiB of hole: opening must not read it. */
static void sparse_storage(void) {
    size_t n;
    uint8_t *orig = (uint8_t *)tu_read_file(tu_model_path("torch/legacy_p4.pt"), &n);
    size_t ends[5];
    if (!orig || !pickle_ends(orig, n, ends)) {
        CHECKF(0, "legacy_p4.pt");
        free(orig);
        return;
    }
    size_t pos = ends[4], last = 0;
    for (int i = 0; i < 4; i++) {
        last = pos;
        pos += 8 + 4 * (size_t)get_le64(orig + pos);
    }
    const uint64_t extra = (uint64_t)1 << 28; /* elements: 1 GiB of float32 */
    put_le64(orig + last, get_le64(orig + last) + extra);
    const char *path = tmp_path("sparse.pt");
    int ok = write_file(path, orig, n) && truncate(path, (off_t)(n + 4 * extra)) == 0;
    free(orig);
    CHECKF(ok, "cannot write %s", path);
    if (!ok) return;
    long rss0 = rss_kb();
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open(path, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "sparse: %s", st ? err.message : "");
    if (st == CKPT_OK) {
        CHECK_EQ_INT(ckpt_file_array_count(f), 4);
        const void *d;
        size_t i;
        CHECK(ckpt_file_find_array(f, "net.2.bias", &i) == CKPT_OK);
        CHECK(ckpt_array_data(f, i, &d, &err) == CKPT_OK);
        long grew_kb = rss_kb() - rss0; /* while the file is open and mapped */
        CHECKF(rss0 > 0 && grew_kb < 64 * 1024, "opening a 1 GiB storage raised RSS by %ld KiB", grew_kb);
        printf("1 GiB sparse storage: open + one small tensor raised RSS by %ld KiB\n", grew_kb);
        ckpt_close(f);
    }
    unlink(path);
}

/* ------------------------------------------------------------------ allocation failures */


static void allocfail_files(void) {
    static const char *const files[] = {"torch/legacy_p4.pt", "torch/legacy_views.pt", "torch/tar_format.pt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t n;
        uint8_t *b = (uint8_t *)tu_read_file(tu_model_path(files[i]), &n);
        if (!b) {
            CHECKF(0, "read %s", files[i]);
            continue;
        }
        tu_allocfail_open(files[i], NULL, b, n);
        free(b);
    }
}

/* ------------------------------------------------------------------ sharded */

static ckpt_status open_index(const char *rel, const char *json, ckpt_file **f, ckpt_error *err) {
    const char *path = tmp_path(rel);
    if (!write_file(path, json, strlen(json))) {
        CHECKF(0, "write %s", path);
        return CKPT_E_IO;
    }
    *f = NULL;
    return ckpt_open(path, NULL, f, err);
}

static void expect_index(const char *json, ckpt_status want, const char *member, const char *what) {
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = open_index("bad.index.json", json, &f, &err);
    CHECKF(st == want, "%s: status %d want %d (%s)", what, (int)st, (int)want, st ? err.message : "opened");
    if (st == CKPT_OK) ckpt_close(f);
    else {
        CHECKF(f == NULL, "%s: handle left", what);
        if (member) {
            CHECKF(strcmp(err.member, member) == 0, "%s: member '%s' want '%s'", what, err.member, member);
            CHECKF(strstr(err.message, member) != NULL, "%s: message '%s' does not name '%s'", what, err.message,
                   member);
        }
    }
    unlink(tmp_path("bad.index.json"));
}

/* Append copies of `src` tensors to `dst`, storage groups shifted by `shift`. */
static void add_records(cJSON *dst, const cJSON *src, int shift) {
    const cJSON *t;
    cJSON_ArrayForEach(t, src) {
        cJSON *c = cJSON_Duplicate(t, 1);
        cJSON *g = cJSON_GetObjectItemCaseSensitive(c, "storage_group");
        if (g) cJSON_SetNumberValue(g, g->valuedouble + shift);
        cJSON_AddItemToArray(dst, c);
    }
}

static void sharded_mixed(void) {
    int ok = copy_model("torch/legacy_sd.pt", "legacy_sd.pt") && copy_model("torch/legacy_p4.pt", "legacy_p4.pt");
    mkdir(tmp_path("sub"), 0700);
    ok = ok && copy_model("torch/legacy_views.pt", "sub/legacy_views.pt") && copy_model("torch/dtypes.pt", "dtypes.pt");
    CHECKF(ok, "copy shards into %s", tmpdir);
    if (!ok) return;
    cJSON *a = tu_load_json(tu_model_path("torch/legacy_sd.pt.json"));
    cJSON *b = tu_load_json(tu_model_path("torch/legacy_p4.pt.json"));
    cJSON *c = tu_load_json(tu_model_path("torch/legacy_views.pt.json"));
    cJSON *z = tu_load_json(tu_model_path("torch/dtypes.pt.json")); /* a torch zip shard */
    if (!a || !b || !c || !z) {
        cJSON_Delete(a);
        cJSON_Delete(b);
        cJSON_Delete(c);
        cJSON_Delete(z);
        return;
    }
    /* index: every tensor of each shard, in its file's order */
    cJSON *idx = cJSON_CreateObject(), *wm = cJSON_AddObjectToObject(idx, "weight_map");
    cJSON *want = cJSON_CreateArray();
    const cJSON *docs[4] = {a, b, c, z};
    const char *files[4] = {"legacy_sd.pt", "legacy_p4.pt", "sub/legacy_views.pt", "dtypes.pt"};
    for (int d = 0; d < 4; d++) {
        const cJSON *t;
        cJSON_ArrayForEach(t, item(docs[d], "tensors"))
            cJSON_AddStringToObject(wm, item(t, "name")->valuestring, files[d]);
        add_records(want, item(docs[d], "tensors"), 1000 * d);
    }
    char *text = cJSON_Print(idx);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = open_index("mixed.index.json", text, &f, &err);
    CHECKF(st == CKPT_OK, "mixed index: %s", st ? err.message : "");
    if (st == CKPT_OK) {
        CHECK(ckpt_file_format(f) == CKPT_FMT_SHARDED);
        check_tensors(f, want, "mixed.index.json", NULL, 0);
        /* the zip shard's aligned records stay zero-copy through the index */
        size_t zmapped = 0;
        for (size_t i = 0; i < ckpt_file_array_count(f); i++) {
            const ckpt_array_info *ai = ckpt_file_array(f, i);
            zmapped += ai->member && strcmp(ai->member, "dtypes.pt") == 0 && ai->state == CKPT_DATA_MAPPED;
        }
        CHECKF(zmapped > 0, "no tensor of the zip shard is zero-copy through the index");
        /* the data is the shard's own */
        size_t i;
        const void *d;
        CHECK(ckpt_file_find_array(f, "emb.weight", &i) == CKPT_OK);
        CHECK(ckpt_array_data(f, i, &d, &err) == CKPT_OK);
        const ckpt_array_info *ai = ckpt_file_array(f, i);
        CHECK(ai->member && strcmp(ai->member, "legacy_sd.pt") == 0);
        ckpt_file *g = NULL;
        if (ckpt_open(tmp_path("legacy_sd.pt"), NULL, &g, &err) == CKPT_OK) {
            size_t j;
            const void *e;
            CHECK(ckpt_file_find_array(g, "emb.weight", &j) == CKPT_OK && ckpt_array_data(g, j, &e, &err) == CKPT_OK &&
                  memcmp(d, e, (size_t)ai->nbytes) == 0);
            ckpt_close(g);
        } else {
            CHECKF(0, "open shard directly: %s", err.message);
        }
        ckpt_close(f);
    }
    /* every cut of the index before its closing brace fails */
    size_t tl = strlen(text), close_at = (size_t)(strrchr(text, '}') - text);
    size_t opened = 0;
    for (size_t L = 0; L <= close_at; L++) {
        char save = text[L];
        text[L] = 0;
        st = open_index("cut.index.json", text, &f, &err);
        text[L] = save;
        if (st == CKPT_OK) {
            opened++;
            ckpt_close(f);
        } else if (!err.message[0]) {
            CHECKF(0, "cut index at %zu: no message", L);
        }
    }
    CHECKF(opened == 0, "%zu cuts of the index opened", opened);
    (void)tl;
    unlink(tmp_path("cut.index.json"));
    unlink(tmp_path("mixed.index.json"));
    cJSON_free(text);
    cJSON_Delete(idx);
    cJSON_Delete(want);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(z);

    /* every allocation of a three-shard index (legacy + zip) can fail cleanly */
    const char *small = "{\"weight_map\": {\"net.0.bias\": \"legacy_p4.pt\", \"emb.weight\": \"legacy_sd.pt\", "
                        "\"net.2.weight\": \"legacy_p4.pt\", \"f32\": \"dtypes.pt\"}}";
    if (write_file(tmp_path("small.index.json"), small, strlen(small)))
        tu_allocfail_open("small.index.json", tmp_path("small.index.json"), NULL, 0);
    /* opened by a bare relative name: shards are found beside it (the cwd) */
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) && chdir(tmpdir) == 0) {
        ckpt_file *r = NULL;
        st = ckpt_open("small.index.json", NULL, &r, &err);
        CHECKF(st == CKPT_OK, "relative index: %s", st ? err.message : "");
        if (st == CKPT_OK) {
            CHECK_EQ_INT(ckpt_file_array_count(r), 4);
            CHECK(ckpt_file_load_all(r, &err) == CKPT_OK);
            ckpt_close(r);
        }
        CHECK(chdir(cwd) == 0);
    }
    unlink(tmp_path("small.index.json"));

    /* a shard that is not torch (joblib): an object array's items reach through the index */
    if (copy_model("numpy/jl_plain.joblib", "jl_plain.joblib")) {
        ckpt_file *o = NULL, *g = NULL;
        st = open_index("obj.index.json", "{\"weight_map\": {\"O\": \"jl_plain.joblib\"}}", &o, &err);
        CHECKF(st == CKPT_OK, "object-array index: %s", st ? err.message : "");
        if (st == CKPT_OK && ckpt_open(tmp_path("jl_plain.joblib"), NULL, &g, &err) == CKPT_OK) {
            size_t j;
            CHECK(ckpt_file_find_array(g, "O", &j) == CKPT_OK);
            const ckpt_array_info *ai = ckpt_file_array(o, 0);
            CHECK(ai && ai->dtype->type == CKPT_DT_OBJECT && ai->nelems == 5);
            for (uint64_t k = 0; ai && k < ai->nelems; k++) {
                const ckpt_value *x = ckpt_array_object_item(o, 0, k), *y = ckpt_array_object_item(g, j, k);
                CHECKF(x && y && ckpt_value_kind(x) == ckpt_value_kind(y), "object item %llu", (unsigned long long)k);
            }
            ckpt_close(g);
        }
        ckpt_close(o);
        unlink(tmp_path("obj.index.json"));
        unlink(tmp_path("jl_plain.joblib"));
    } else {
        CHECKF(0, "copy jl_plain.joblib");
    }

    /* errors name the shard */
    expect_index("{\"weight_map\": {\"emb.weight\": \"../legacy_sd.pt\"}}", CKPT_E_FORMAT, "../legacy_sd.pt",
                 "shard escaping its directory");
    expect_index("{\"weight_map\": {\"emb.weight\": \"sub/../legacy_sd.pt\"}}", CKPT_E_FORMAT,
                 "sub/../legacy_sd.pt", "shard with a .. component");
    expect_index("{\"weight_map\": {\"emb.weight\": \"/etc/passwd\"}}", CKPT_E_FORMAT, "/etc/passwd",
                 "absolute shard path");
    expect_index("{\"weight_map\": {\"emb.weight\": \"./legacy_sd.pt\"}}", CKPT_E_FORMAT, "./legacy_sd.pt",
                 "shard with a . component");
    expect_index("{\"weight_map\": {\"emb.weight\": \"bad.index.json\"}}", CKPT_E_FORMAT, "bad.index.json",
                 "nested index");
    expect_index("{\"weight_map\": {\"emb.weight\": \"nope.pt\"}}", CKPT_E_IO, "nope.pt", "missing shard");
    expect_index("{\"weight_map\": {\"emb.weight\": \"model-00001-of-00002.safetensors\"}}", CKPT_E_UNSUPPORTED,
                 "model-00001-of-00002.safetensors", "safetensors shard");
    expect_index("{\"weight_map\": {\"no.such.tensor\": \"legacy_sd.pt\"}}", CKPT_E_FORMAT, "legacy_sd.pt",
                 "tensor not in its shard");
    expect_index("{\"weight_map\": {\"emb.weight\": \"legacy_sd.pt\", \"emb.weight\": \"legacy_sd.pt\"}}",
                 CKPT_E_FORMAT, "legacy_sd.pt", "tensor listed twice");
    expect_index("{\"weight_map\": {\"emb.weight\": 3}}", CKPT_E_FORMAT, NULL, "shard name not a string");
    expect_index("{\"metadata\": {}}", CKPT_E_FORMAT, NULL, "no weight_map");
    expect_index("[1, 2]", CKPT_E_FORMAT, NULL, "index not an object");
    expect_index("{\"weight_map\": {\"emb.weight\": \"legacy_sd.pt\"}", CKPT_E_FORMAT, NULL, "bad JSON");
    expect_index("{\"weight_map\": {}}", CKPT_OK, NULL, "empty weight_map");
    /* a corrupt shard: the error names it */
    size_t n;
    char *p4 = tu_read_file(tu_model_path("torch/legacy_p4.pt"), &n);
    if (p4 && write_file(tmp_path("cut.pt"), p4, n - 3))
        expect_index("{\"weight_map\": {\"net.0.weight\": \"cut.pt\"}}", CKPT_E_TRUNCATED, "cut.pt",
                     "truncated shard");
    free(p4);
    unlink(tmp_path("cut.pt"));
    unlink(tmp_path("legacy_sd.pt"));
    unlink(tmp_path("legacy_p4.pt"));
    unlink(tmp_path("sub/legacy_views.pt"));
    unlink(tmp_path("dtypes.pt"));
    rmdir(tmp_path("sub"));
}

/* ------------------------------------------------------------------ real world */

static void realworld(void) {
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real legacy torch files not checked");
        return;
    }
    cJSON *man = tu_load_json(tu_path(tu_realworld_dir, "manifest.json"));
    if (!man) return;
    const cJSON *list = cJSON_IsArray(man) ? man : item(man, "files");
    const cJSON *e;
    int seen = 0;
    cJSON_ArrayForEach(e, list) {
        const cJSON *c = item(e, "container");
        if (!cJSON_IsString(c) || strcmp(c->valuestring, "torch legacy") != 0) continue;
        const char *name = item(e, "name")->valuestring;
        char rel[1024], exp[1024];
        snprintf(rel, sizeof rel, "files/%s", name);
        snprintf(exp, sizeof exp, "expected/%s.json", name);
        cJSON *doc = tu_load_json(tu_path(tu_realworld_dir, exp));
        if (!doc) continue;
        seen++;
        size_t len;
        uint8_t *bytes = (uint8_t *)tu_read_file(tu_path(tu_realworld_dir, rel), &len);
        ckpt_file *f = NULL;
        ckpt_error err;
        ckpt_status st = ckpt_open(tu_path(tu_realworld_dir, rel), NULL, &f, &err);
        CHECKF(st == CKPT_OK, "%s: %s", name, st ? err.message : "");
        if (st == CKPT_OK) {
            CHECKF(ckpt_file_format(f) == CKPT_FMT_TORCH_LEGACY, "%s: format %s", name,
                   ckpt_format_name(ckpt_file_format(f)));
            check_tensors(f, item(doc, "tensors"), name, bytes, len);
            ckpt_close(f);
        }
        free(bytes);
        cJSON_Delete(doc);
    }
    CHECKF(seen > 0, "no 'torch legacy' file in the real-world manifest");
    printf("real-world legacy torch files checked: %d\n", seen);
    cJSON_Delete(man);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    if (!tu_mkdtemp(tmpdir, sizeof tmpdir, "ckpt_torchlegacy_")) {
        CHECKF(0, "mkdtemp");
        return tu_finish();
    }
    static const char *const fixtures[] = {"legacy_sd.pt", "legacy_views.pt", "legacy_dtypes.pt",
                                           "legacy_p4.pt", "tar_format.pt", "sharded.index.json"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) fixture("torch", fixtures[i]);
    /* models/make_torch_legacy.py */
    static const char *const extra[] = {"legacy_p1.pt",           "legacy_module.pt", "legacy_train.pt",
                                        "legacy_special.pt",      "legacy_storage_views.pt",
                                        "legacy_sharded.index.json", "tar_pax.pt", "tar_gnu.pt",
                                        "legacy_cuda.pt"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) fixture("torch_legacy", extra[i]);

    prefixes("torch/legacy_p4.pt", (size_t)-1);
    prefixes("torch/legacy_views.pt", (size_t)-1);
    prefixes("torch/legacy_dtypes.pt", (size_t)-1);
    prefixes("torch_legacy/legacy_p1.pt", (size_t)-1);
    prefixes("torch_legacy/legacy_special.pt", (size_t)-1);
    prefixes("torch_legacy/legacy_storage_views.pt", (size_t)-1);
    flips("torch_legacy/legacy_special.pt", (size_t)-1);
    flips("torch/legacy_p4.pt", (size_t)-1);
    flips("torch/legacy_views.pt", (size_t)-1);
    legacy_corruptions();
    tar_corruptions();
    tar_pax_size();
    sparse_storage();
    allocfail_files();
    sharded_mixed();
    realworld();
    rmdir(tmpdir);
    return tu_finish();
}
