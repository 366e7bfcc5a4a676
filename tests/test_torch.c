/*
 * test_torch.c - PyTorch zip archives and TorchScript (loader/zip.c,
 * loader/torch.c).
 *
 *  - every zip-format fixture of models/torch (format "torch-zip" or
 *    "torchscript" in its JSON, made by models/make_torch.py with torch 1.13):
 *    names in order, dtypes, shapes, strides, storage offsets, shared storages,
 *    requires_grad, sums, values, unavailable special tensors; opened mapped,
 *    read (no mmap) and from memory; nothing is resolved at open; zero-copy
 *    for stored aligned records (pointer into the file bytes), copies for
 *    deflated / unaligned / big-endian ones (will_copy said at open); views of
 *    one storage share one mapping / one aligned buffer.
 *  - every prefix of small archives fails cleanly; every byte flip of small
 *    archives fails or opens and loads cleanly; hand-made corruptions with
 *    their status (local name differs, local extra past the end, byteorder,
 *    corrupt deflate data).
 *  - every allocation of open + load of small archives fails once: NOMEM,
 *    nothing left allocated (libzip's own allocations are not counted).
 *  - a 1 GiB stored record (sparse file) opens and its first tensor
 *    resolves without reading the record (RSS).
 *  - ../shared/realworld (skipped, visibly, when absent): every "torch zip"
 *    file against expected/NAME.json; the old TorchScript (model.json)
 *    archive: tensors listed, data equal to the member bytes read by libzip.
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
#include <zip.h>

static char tmpdir[256];

/* ------------------------------------------------------------------ helpers */

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static const char *fact(const ckpt_file *f, const char *key) {
    for (size_t i = 0; i < ckpt_file_fact_count(f); i++)
        if (strcmp(ckpt_file_fact_key(f, i), key) == 0) return ckpt_file_fact_value(f, i);
    return NULL;
}

/* ------------------------------------------------------------------ fixtures */

static int fixture(const char *name) {
    char rel[256], jrel[256];
    snprintf(rel, sizeof rel, "torch/%s", name);
    snprintf(jrel, sizeof jrel, "torch/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(jrel));
    if (!doc) return 0;
    const char *fmt = item(doc, "format")->valuestring;
    if (strcmp(fmt, "torch-zip") != 0 && strcmp(fmt, "torchscript") != 0) {
        cJSON_Delete(doc);
        return 0;
    }
    int copied = cJSON_IsTrue(item(doc, "copied"));
    int big = strcmp(item(doc, "byteorder")->valuestring, "big") == 0;
    size_t len;
    uint8_t *bytes = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(bytes != NULL, "read %s", rel);
    for (int mode = 0; mode < 3 && bytes; mode++) {
        ckpt_file *f;
        uint8_t *copy;
        char label[300];
        ckpt_status st = tu_open_mode(rel, name, mode, bytes, len, &f, &copy, label, sizeof label);
        if (st == CKPT_OK) {
            CHECKF(strcmp(ckpt_format_name(ckpt_file_format(f)), fmt) == 0, "%s: format %s want %s", label,
                   ckpt_format_name(ckpt_file_format(f)), fmt);
            CHECKF(ckpt_file_protocol(f) == (int)item(doc, "protocol")->valuedouble, "%s: protocol %d", label,
                   ckpt_file_protocol(f));
            const char *bo = fact(f, "byteorder");
            CHECKF(bo && strcmp(bo, big ? "big" : "little") == 0, "%s: byteorder fact %s", label, bo ? bo : "-");
            if (strcmp(fmt, "torchscript") == 0) {
                const char *c = fact(f, "TorchScript code");
                CHECKF(c && strstr(c, "not executed"), "%s: no fact saying TorchScript is not executed", label);
                CHECKF(ckpt_file_pickle_count(f) == 2, "%s: %zu pickles (data + constants)", label,
                       ckpt_file_pickle_count(f));
            }
            if (copied) CHECKF(fact(f, "copied records") != NULL, "%s: no 'copied records' fact", label);
            /* mapped / read: the bytes by offset; memory: mapped data points into the buffer */
            tu_tensor_opts to = {mode == 2 ? copy : bytes, len, mode == 2, copied, big, 1, 16};
            tu_check_tensors(f, item(doc, "tensors"), label, &to);
            ckpt_close(f);
        }
        free(copy);
    }
    free(bytes);
    cJSON_Delete(doc);
    return 1;
}

/* ------------------------------------------------------------------ hostile input */

static ckpt_status open_mutant(const uint8_t *b, size_t n, ckpt_error *err, ckpt_status *load_st) {
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, b, n);
    ckpt_file *f = NULL;
    ckpt_status st = ckpt_open_memory(c, n, NULL, &f, err);
    if (load_st) *load_st = CKPT_OK;
    if (st == CKPT_OK) {
        ckpt_error e2;
        ckpt_status ls = ckpt_file_load_all(f, &e2);
        if (load_st) *load_st = ls;
        if (ls != CKPT_OK) CHECKF(e2.message[0], "load_all failed without a message");
        ckpt_close(f);
    } else {
        CHECKF(f == NULL && err->status == st && err->message[0], "failed open leaves a handle or no message");
    }
    free(c);
    return st;
}

static void prefixes(const char *rel) {
    size_t n;
    uint8_t *b = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    if (!b) {
        CHECKF(0, "read %s", rel);
        return;
    }
    size_t bad = 0, first_bad = 0, truncated = 0;
    for (size_t L = 0; L < n; L++) {
        ckpt_error err;
        ckpt_status st = open_mutant(b, L, &err, NULL);
        if (st == CKPT_OK && bad++ == 0) first_bad = L;
        if (st == CKPT_E_TRUNCATED) truncated++;
    }
    CHECKF(bad == 0, "%s: %zu prefixes opened (first of %zu bytes)", rel, bad, first_bad);
    CHECKF(truncated > n / 2, "%s: only %zu of %zu prefixes say TRUNCATED", rel, truncated, n);
    free(b);
}

static void flips(const char *rel) {
    size_t n;
    uint8_t *b = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    if (!b) return;
    size_t failed = 0, load_failed = 0;
    for (size_t i = 0; i < n; i++) {
        b[i] ^= 0xff;
        ckpt_error err;
        ckpt_status ls;
        if (open_mutant(b, n, &err, &ls) != CKPT_OK) failed++;
        else if (ls != CKPT_OK) load_failed++;
        b[i] ^= 0xff;
    }
    printf("%s: %zu byte flips: %zu refused at open, %zu refused at load, the rest opened\n", rel, n, failed,
           load_failed);
    CHECKF(failed > 0, "%s: no flip was refused", rel);
    free(b);
}

/* Offset of the local header of member `name` (first match), or -1. */
static long local_header(const uint8_t *b, size_t n, const char *name) {
    size_t nl = strlen(name);
    for (size_t i = 0; i + 30 + nl <= n; i++) {
        if (memcmp(b + i, "PK\3\4", 4) != 0) continue;
        if ((size_t)(b[i + 26] | b[i + 27] << 8) == nl && memcmp(b + i + 30, name, nl) == 0) return (long)i;
    }
    return -1;
}

static void expect_corrupt(const char *rel, const char *member, int what, ckpt_status want, const char *label) {
    size_t n;
    uint8_t *b = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    if (!b) {
        CHECKF(0, "read %s", rel);
        return;
    }
    long lh = local_header(b, n, member);
    CHECKF(lh >= 0, "%s: no local header for %s", rel, member);
    if (lh < 0) {
        free(b);
        return;
    }
    size_t nl = strlen(member), xl = (size_t)(b[lh + 28] | b[lh + 29] << 8);
    size_t data = (size_t)lh + 30 + nl + xl;
    switch (what) {
    case 0: b[lh + 30 + nl - 1] ^= 0x01; break;          /* local name differs */
    case 1: b[lh + 28] = 0xff, b[lh + 29] = 0xff; break; /* extra field past the end */
    case 2: b[data + 2] = 'p', b[data + 3] = 'p'; break; /* byteorder "lipple" */
    case 4: for (size_t k = 0; k < 4 && data + k < n; k++) b[data + k] ^= 0x5a; break; /* deflate data */
    default: break;
    }
    ckpt_error err;
    ckpt_status ls;
    ckpt_status st = open_mutant(b, n, &err, &ls);
    if (what == 4) { /* opens (nothing read), fails when the record is inflated */
        CHECKF(st == CKPT_OK, "%s: %s: open %d (%s)", rel, label, (int)st, st ? err.message : "");
        CHECKF(ls == want || ls == CKPT_E_CRC || ls == CKPT_E_CODEC, "%s: %s: load status %d", rel, label, (int)ls);
    } else {
        CHECKF(st == want, "%s: %s: status %d want %d (%s)", rel, label, (int)st, (int)want,
               st ? err.message : "opened");
    }
    free(b);
}

/* ------------------------------------------------------------------ allocation failures */


static void allocfail_files(void) {
    static const char *const files[] = {"torch/sd_linear.pt", "torch/views_deflated.pt",
                                        "torch/views_stored_unaligned.pt", "torch/be_views.pt",
                                        "torch/script_net.pt", "torch/special.pt"};
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

/* ------------------------------------------------------------------ a 1 GiB record */

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static long rss_kb(void) {
    FILE *fp = fopen("/proc/self/statm", "r");
    long pages = -1, res = -1;
    if (!fp) return -1;
    if (fscanf(fp, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(fp);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* sd_linear.pt's data.pkl and records, with data/0 grown to 1 GiB (a hole). */
static void big_record(void) {
    zip_t *z = zip_open(tu_model_path("torch/sd_linear.pt"), ZIP_RDONLY, NULL);
    CHECK(z != NULL);
    if (!z) return;
    const char *names[] = {"sd_linear/data.pkl", "sd_linear/data/0", "sd_linear/data/1", "sd_linear/data/2",
                           "sd_linear/data/3"};
    uint8_t *data[5] = {0};
    uint64_t sizes[5] = {0};
    for (int i = 0; i < 5; i++) {
        zip_stat_t sb;
        zip_file_t *zf = NULL;
        if (zip_stat(z, names[i], 0, &sb) == 0 && (zf = zip_fopen(z, names[i], 0))) {
            data[i] = malloc(sb.size + 1);
            sizes[i] = (uint64_t)zip_fread(zf, data[i], sb.size);
            zip_fclose(zf);
        }
        CHECKF(data[i] != NULL, "read %s", names[i]);
    }
    zip_discard(z);
    const uint64_t big = (uint64_t)1 << 30;
    const char *path = tu_path(tmpdir, "big.pt");
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    CHECK(fd >= 0);
    uint8_t cdir[5 * 128];
    size_t cl = 0;
    uint64_t pos = 0;
    int ok = fd >= 0;
    for (int i = 0; i < 5 && ok; i++) {
        uint64_t size = i == 1 ? big : sizes[i];
        size_t nl = strlen(names[i]);
        size_t pad = (64 - (pos + 30 + nl + 4) % 64) % 64 + 4; /* torch-style "FB" padding */
        uint8_t h[30 + 64 + 64];
        memset(h, 0, sizeof h);
        put32(h, 0x04034b50);
        put16(h + 4, 20);
        put32(h + 18, (uint32_t)size);
        put32(h + 22, (uint32_t)size);
        put16(h + 26, (unsigned)nl);
        put16(h + 28, (unsigned)pad);
        memcpy(h + 30, names[i], nl);
        put16(h + 30 + nl, 0x4246);
        put16(h + 30 + nl + 2, (unsigned)(pad - 4));
        ok = pwrite(fd, h, 30 + nl + pad, (off_t)pos) == (ssize_t)(30 + nl + pad);
        uint8_t *c = cdir + cl;
        memset(c, 0, 46);
        put32(c, 0x02014b50);
        put16(c + 4, 20);
        put16(c + 6, 20);
        put32(c + 20, (uint32_t)size);
        put32(c + 24, (uint32_t)size);
        put16(c + 28, (unsigned)nl);
        put32(c + 42, (uint32_t)pos);
        memcpy(c + 46, names[i], nl);
        cl += 46 + nl;
        pos += 30 + nl + pad;
        /* data/0: its 128 real bytes, then a hole up to 1 GiB */
        if (ok) ok = pwrite(fd, data[i], (size_t)sizes[i], (off_t)pos) == (ssize_t)sizes[i];
        pos += size;
    }
    uint8_t e[22];
    memset(e, 0, sizeof e);
    put32(e, 0x06054b50);
    put16(e + 8, 5);
    put16(e + 10, 5);
    put32(e + 12, (uint32_t)cl);
    put32(e + 16, (uint32_t)pos);
    if (ok) ok = pwrite(fd, cdir, cl, (off_t)pos) == (ssize_t)cl && pwrite(fd, e, 22, (off_t)(pos + cl)) == 22;
    if (fd >= 0) close(fd);
    CHECKF(ok, "write %s", path);
    for (int i = 0; i < 5; i++) free(data[i]);
    if (!ok) return;
    long before = rss_kb();
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open(path, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "big.pt: %s", st ? err.message : "");
    if (st == CKPT_OK) {
        size_t idx;
        const void *d = NULL;
        CHECK_STATUS(ckpt_file_find_array(f, "net.0.weight", &idx), CKPT_OK);
        CHECK_STATUS(ckpt_array_data(f, idx, &d, &err), CKPT_OK);
        CHECK(ckpt_file_array(f, idx)->state == CKPT_DATA_MAPPED);
        long after = rss_kb();
        printf("1 GiB record: RSS grew by %ld KiB while open with its first tensor resolved\n", after - before);
        CHECKF(after - before < 64 * 1024, "RSS grew by %ld KiB", after - before);
        ckpt_close(f);
    }
    unlink(path);
}

/* ------------------------------------------------------------------ real world */

static void realworld(void) {
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real torch zip / TorchScript files not checked");
        return;
    }
    cJSON *man = tu_load_json(tu_path(tu_realworld_dir, "manifest.json"));
    if (!man) return;
    const cJSON *list = cJSON_IsArray(man) ? man : item(man, "files");
    const cJSON *e;
    int zips = 0, scripts = 0;
    cJSON_ArrayForEach(e, list) {
        const cJSON *c = item(e, "container");
        if (!cJSON_IsString(c)) continue;
        int is_zip = strcmp(c->valuestring, "torch zip") == 0;
        int is_ts = strncmp(c->valuestring, "torchscript", 11) == 0;
        if (!is_zip && !is_ts) continue;
        const char *name = item(e, "name")->valuestring;
        char rel[1024], exp[1024];
        snprintf(rel, sizeof rel, "files/%s", name);
        snprintf(exp, sizeof exp, "expected/%s.json", name);
        size_t len;
        uint8_t *bytes = (uint8_t *)tu_read_file(tu_path(tu_realworld_dir, rel), &len);
        ckpt_file *f = NULL;
        ckpt_error err;
        ckpt_status st = ckpt_open(tu_path(tu_realworld_dir, rel), NULL, &f, &err);
        CHECKF(st == CKPT_OK, "%s: %s", name, st ? err.message : "");
        if (st == CKPT_OK && is_zip) {
            zips++;
            CHECKF(ckpt_file_format(f) == CKPT_FMT_TORCH_ZIP, "%s: format %s", name, ckpt_format_name(ckpt_file_format(f)));
            struct stat sb;
            if (stat(tu_path(tu_realworld_dir, exp), &sb) == 0) {
                cJSON *doc = tu_load_json(tu_path(tu_realworld_dir, exp));
                tu_tensor_opts to = {NULL, len, 0, 0, 0, 1, 16};
                if (doc) tu_check_tensors(f, item(doc, "tensors"), name, &to);
                cJSON_Delete(doc);
            } else {
                CHECKF(0, "%s: expected JSON missing", name);
            }
        } else if (st == CKPT_OK) {
            /* old TorchScript: no Python oracle; every tensor's data must equal its
               member's bytes as libzip reads them, and nothing is executed */
            scripts++;
            CHECKF(ckpt_file_format(f) == CKPT_FMT_TORCHSCRIPT, "%s: format %s", name,
                   ckpt_format_name(ckpt_file_format(f)));
            const char *cf = fact(f, "TorchScript code");
            CHECKF(cf && strstr(cf, "not executed"), "%s: no 'not executed' fact", name);
            CHECKF(ckpt_file_array_count(f) > 0, "%s: no tensors", name);
            zip_t *z = zip_open(tu_path(tu_realworld_dir, rel), ZIP_RDONLY, NULL);
            CHECK(z != NULL);
            const char *top = fact(f, "top folder");
            for (size_t i = 0; z && top && i < ckpt_file_array_count(f); i++) {
                const ckpt_array_info *ai = ckpt_file_array(f, i);
                CHECKF(ai->is_tensor && ai->path[0] && ai->dtype->type == CKPT_DT_FLOAT32, "%s: tensor %zu", name, i);
                const void *d;
                if (ckpt_array_data(f, i, &d, &err) != CKPT_OK) {
                    CHECKF(0, "%s:%s: %s", name, ai->path, err.message);
                    continue;
                }
                char mem[512];
                snprintf(mem, sizeof mem, "%s/%s", top, ai->storage_key);
                zip_stat_t zs;
                zip_file_t *zf = NULL;
                uint8_t *raw = NULL;
                if (zip_stat(z, mem, 0, &zs) == 0 && (zf = zip_fopen(z, mem, 0))) {
                    raw = malloc(zs.size + 1);
                    CHECK((uint64_t)zip_fread(zf, raw, zs.size) == zs.size);
                    zip_fclose(zf);
                }
                CHECKF(raw != NULL, "%s: member %s", name, mem);
                if (raw && ai->storage_offset == 0 && tu_is_c_contig(ai))
                    CHECKF(ai->nbytes <= zs.size && memcmp(raw, d, (size_t)ai->nbytes) == 0,
                           "%s:%s differs from %s", name, ai->path, mem);
                else if (raw)
                    CHECKF(0, "%s:%s: a view (offset %llu) in the old TorchScript file", name, ai->path,
                           (unsigned long long)ai->storage_offset);
                free(raw);
                /* parameter names are module paths: "conv1.weight" */
                CHECKF(strchr(ai->path, '.') != NULL, "%s: name '%s' is not a dotted path", name, ai->path);
            }
            if (z) zip_discard(z);
        }
        ckpt_close(f);
        free(bytes);
    }
    CHECKF(zips > 0 && scripts > 0, "real world: %d torch zip, %d TorchScript files", zips, scripts);
    printf("real-world files checked: %d torch zip, %d TorchScript\n", zips, scripts);
    cJSON_Delete(man);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    if (!tu_mkdtemp(tmpdir, sizeof tmpdir, "ckpt_torchzip_")) {
        CHECKF(0, "mkdtemp");
        return tu_finish();
    }
    size_t n;
    char *index = tu_read_file(tu_model_path("torch/INDEX"), &n);
    CHECK(index != NULL);
    int count = 0;
    for (char *line = index ? strtok(index, "\n") : NULL; line; line = strtok(NULL, "\n"))
        count += fixture(line);
    free(index);
    CHECKF(count >= 15, "only %d zip fixtures", count);
    printf("zip-format fixtures checked: %d\n", count);

    prefixes("torch/sd_linear.pt");
    prefixes("torch/views_deflated.pt");
    prefixes("torch/views_zip64.pt");
    prefixes("torch/hand_v3.pt");
    flips("torch/sd_linear.pt");
    flips("torch/views_deflated.pt");
    flips("torch/views_zip64.pt");
    expect_corrupt("torch/sd_linear.pt", "sd_linear/data/0", 0, CKPT_E_FORMAT, "local name differs");
    expect_corrupt("torch/sd_linear.pt", "sd_linear/data/3", 1, CKPT_E_TRUNCATED, "local extra past the end");
    expect_corrupt("torch/hand_v3.pt", "hand_v3/byteorder", 2, CKPT_E_FORMAT, "byteorder lipple");
    expect_corrupt("torch/views_deflated.pt", "views/data/0", 4, CKPT_E_CODEC, "corrupt deflate data");
    allocfail_files();
    big_record();
    realworld();
    rmdir(tmpdir);
    return tu_finish();
}
