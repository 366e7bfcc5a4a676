/*
 * test_verify.c - ckpt_file_verify / ckpt__verify_zip_bytes against what
 * Python's zipfile computed (models/verify/expected.json, made by
 * models/make_verify.py): member counts and bytes of good archives, and the
 * exact member and CRC-32 values of two corruptions applied to temp copies:
 * a byte flipped inside a stored data record, and a deflated member's central
 * directory CRC changed (the libzip streaming path).  verify/zip64_stored.npz
 * is npz_stored.npz with a ZIP64 directory (extra fields, end record, locator).
 */
#include "loader_internal.h"
#include "util_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int write_file(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    int ok = fwrite(p, 1, n, fp) == n;
    return fclose(fp) == 0 && ok;
}

static int json_int(const cJSON *o, const char *k, long long *out) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x)) return 0;
    *out = (long long)x->valuedouble;
    return 1;
}

typedef struct prog {
    uint64_t calls, last_done, total;
    int monotone, total_changed;
} prog;

static void on_progress(void *user, uint64_t done, uint64_t total) {
    prog *p = user;
    if (p->calls && done < p->last_done) p->monotone = 0;
    if (p->calls && total != p->total) p->total_changed = 1;
    p->calls++;
    p->last_done = done;
    p->total = total;
}

/* A corruption from the JSON ("flip" or "cdcrc") applied to the bytes; both raw
   bytes and a file copy are then verified. */
static void check_corruption(const char *rel, const cJSON *c, const char *kind, const uint8_t *orig, size_t len) {
    long long off, expected, actual;
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(c, "member");
    CHECKF(json_int(c, "offset", &off) && json_int(c, "expected", &expected) && json_int(c, "actual", &actual) &&
               cJSON_IsString(jm),
           "%s %s: expected.json entry complete", rel, kind);
    if (!cJSON_IsString(jm) || off < 0 || (size_t)off >= len) return;
    uint8_t *b = malloc(len);
    CHECK(b != NULL);
    if (!b) return;
    memcpy(b, orig, len);
    if (strcmp(kind, "flip") == 0) b[off] ^= 0xFF;
    else {
        /* central directory CRC field: write the value Python gave */
        uint32_t v = (uint32_t)expected;
        for (int i = 0; i < 4; i++) b[off + i] = (uint8_t)(v >> (8 * i));
    }
    ckpt_verify_report rep;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt__verify_zip_bytes(b, len, &rep, &err);
    CHECKF(st == CKPT_E_CRC, "%s %s: raw bytes fail with CKPT_E_CRC (got %s: %s)", rel, kind,
           ckpt_status_str(st), err.message);
    CHECKF(strcmp(err.member, jm->valuestring) == 0, "%s %s: error names member '%s' (got '%s')", rel, kind,
           jm->valuestring, err.member);
    CHECKF(strstr(err.message, jm->valuestring) != NULL, "%s %s: message names the member: %s", rel, kind,
           err.message);
    CHECK_EQ_INT(rep.members_bad, 1);
    CHECK_EQ_INT(rep.members_failed, 0);
    CHECK_EQ_INT(rep.n_mismatches, 1);
    if (rep.n_mismatches >= 1) {
        CHECKF(strcmp(rep.mismatches[0].member, jm->valuestring) == 0, "%s %s: report names '%s' (got '%s')", rel,
               kind, jm->valuestring, rep.mismatches[0].member);
        CHECK_EQ_INT(rep.mismatches[0].expected, expected);
        CHECK_EQ_INT(rep.mismatches[0].actual, actual);
    }

    /* the same copy through a file and the public API */
    char name[300];
    snprintf(name, sizeof name, "%s/%s_%s", tmpdir, kind, strrchr(rel, '/') + 1);
    CHECK(write_file(name, b, len));
    ckpt_file *f = NULL;
    ckpt_error_clear(&err);
    st = ckpt_open(name, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s %s: the corrupted copy still opens (%s)", rel, kind, err.message);
    if (f) {
        ckpt_error_clear(&err);
        st = ckpt_file_verify(f, NULL, NULL, &rep, &err);
        CHECKF(st == CKPT_E_CRC, "%s %s: ckpt_file_verify gives CKPT_E_CRC (got %s: %s)", rel, kind,
               ckpt_status_str(st), err.message);
        CHECKF(strcmp(err.member, jm->valuestring) == 0, "%s %s: ckpt_file_verify names '%s' (got '%s')", rel, kind,
               jm->valuestring, err.member);
        CHECK_EQ_INT(rep.members_bad, 1);
        if (rep.n_mismatches) CHECK_EQ_INT(rep.mismatches[0].actual, actual);
        ckpt_close(f);
    }
    unlink(name);
    free(b);
}

static void check_fixture(const char *rel, const cJSON *e) {
    long long members, bytes;
    CHECKF(json_int(e, "members", &members) && json_int(e, "bytes", &bytes), "%s: expected entry", rel);
    CHECKF(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "testzip")), "%s: Python's testzip found it good", rel);
    size_t len;
    char *b = tu_read_file(tu_model_path(rel), &len);
    CHECKF(b != NULL, "read %s", rel);
    if (!b) return;
    ckpt_verify_report rep;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt__verify_zip_bytes(b, len, &rep, &err);
    CHECKF(st == CKPT_OK, "%s: raw bytes verify (%s)", rel, err.message);
    CHECK_EQ_INT(rep.members, members);
    CHECK_EQ_INT(rep.bytes, bytes);
    CHECK_EQ_INT(rep.members_bad, 0);
    CHECK_EQ_INT(rep.containers, 1);

    /* public API: checksums and every array */
    ckpt_file *f = NULL;
    ckpt_error_clear(&err);
    st = ckpt_open(tu_model_path(rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s opens (%s)", rel, err.message);
    if (f) {
        prog p = {0, 0, 0, 1, 0};
        ckpt_error_clear(&err);
        st = ckpt_file_verify(f, on_progress, &p, &rep, &err);
        CHECKF(st == CKPT_OK, "%s: ckpt_file_verify (%s)", rel, err.message);
        CHECK_EQ_INT(rep.has_checksums, 1);
        CHECK_EQ_INT(rep.members, members);
        CHECK_EQ_INT(rep.bytes, bytes);
        CHECK_EQ_INT(rep.arrays + rep.arrays_unavailable, ckpt_file_array_count(f));
        CHECK_EQ_INT(rep.arrays_failed, 0);
        CHECK(p.calls >= 2 && p.monotone && !p.total_changed);
        CHECK_EQ_INT(p.total, bytes);
        CHECK_EQ_INT(p.last_done, bytes);
        for (size_t i = 0; i < ckpt_file_array_count(f); i++) {
            const ckpt_array_info *a = ckpt_file_array(f, i);
            CHECKF(a->state != CKPT_DATA_UNRESOLVED, "%s: array %s resolved by verify", rel, a->path);
        }
        ckpt_close(f);
    }
    const char *kinds[] = {"flip", "cdcrc"};
    int any = 0;
    for (int k = 0; k < 2; k++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, kinds[k]);
        if (c) {
            any = 1;
            check_corruption(rel, c, kinds[k], (const uint8_t *)b, len);
        }
    }
    CHECKF(any, "%s: a corruption to check", rel);
    free(b);
}

/* A format without checksums: said so, and every array still read. */
static void check_no_checksum(const char *rel) {
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(tu_model_path(rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s opens (%s)", rel, err.message);
    if (!f) return;
    ckpt_verify_report rep;
    prog p = {0, 0, 0, 1, 0};
    st = ckpt_file_verify(f, on_progress, &p, &rep, &err);
    CHECKF(st == CKPT_OK, "%s: verify (%s)", rel, err.message);
    CHECK_EQ_INT(rep.has_checksums, 0);
    CHECK_EQ_INT(rep.unchecked_files, 1);
    CHECK_EQ_INT(rep.members, 0);
    CHECK(ckpt_file_array_count(f) > 0);
    CHECK_EQ_INT(rep.arrays + rep.arrays_unavailable, ckpt_file_array_count(f));
    uint64_t total = 0;
    for (size_t i = 0; i < ckpt_file_array_count(f); i++) {
        total += ckpt_file_array(f, i)->nbytes;
        CHECK(ckpt_file_array(f, i)->state != CKPT_DATA_UNRESOLVED);
    }
    CHECK(p.monotone && !p.total_changed);
    CHECK_EQ_INT(p.total, total);
    CHECK_EQ_INT(p.last_done, total);
    ckpt_close(f);
}

/* Sharded: each zip shard checked, members named "shard/member". */
static void check_sharded(const cJSON *j) {
    long long m1 = 0, m2 = 0, b1 = 0, b2 = 0;
    const cJSON *s1 = cJSON_GetObjectItemCaseSensitive(j, "torch/shard-00001-of-00002.bin");
    const cJSON *s2 = cJSON_GetObjectItemCaseSensitive(j, "torch/shard-00002-of-00002.bin");
    CHECK(json_int(s1, "members", &m1) && json_int(s2, "members", &m2) && json_int(s1, "bytes", &b1) &&
          json_int(s2, "bytes", &b2));
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(tu_model_path("torch/sharded.index.json"), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "sharded index opens (%s)", err.message);
    if (!f) return;
    ckpt_verify_report rep;
    st = ckpt_file_verify(f, NULL, NULL, &rep, &err);
    CHECKF(st == CKPT_OK, "sharded: verify (%s)", err.message);
    CHECK_EQ_INT(rep.containers, 2);
    CHECK_EQ_INT(rep.members, m1 + m2);
    CHECK_EQ_INT(rep.bytes, b1 + b2);
    CHECK_EQ_INT(rep.arrays, ckpt_file_array_count(f));
    ckpt_close(f);

    /* a flipped byte in shard 2's copy is named "shard/member" */
    const cJSON *flip = cJSON_GetObjectItemCaseSensitive(s2, "flip");
    long long off = -1, actual = 0;
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(flip, "member");
    CHECK(json_int(flip, "offset", &off) && json_int(flip, "actual", &actual) && cJSON_IsString(jm));
    if (!cJSON_IsString(jm)) return;
    const char *names[] = {"sharded.index.json", "shard-00001-of-00002.bin", "shard-00002-of-00002.bin"};
    for (int i = 0; i < 3; i++) {
        char rel[128], dst[400];
        snprintf(rel, sizeof rel, "torch/%s", names[i]);
        size_t n;
        char *b = tu_read_file(tu_model_path(rel), &n);
        CHECK(b != NULL);
        if (!b) return;
        if (i == 2 && off >= 0 && (size_t)off < n) b[off] ^= (char)0xFF;
        snprintf(dst, sizeof dst, "%s/%s", tmpdir, names[i]);
        CHECK(write_file(dst, b, n));
        free(b);
    }
    char idx[400], want[256];
    snprintf(idx, sizeof idx, "%s/sharded.index.json", tmpdir);
    snprintf(want, sizeof want, "shard-00002-of-00002.bin/%s", jm->valuestring);
    f = NULL;
    st = ckpt_open(idx, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "flipped sharded copy opens (%s)", err.message);
    if (f) {
        st = ckpt_file_verify(f, NULL, NULL, &rep, &err);
        CHECK_STATUS(st, CKPT_E_CRC);
        CHECKF(strcmp(err.member, want) == 0, "sharded: names '%s' (got '%s')", want, err.member);
        CHECK_EQ_INT(rep.containers, 2);
        CHECK_EQ_INT(rep.members_bad, 1);
        if (rep.n_mismatches) CHECK_EQ_INT(rep.mismatches[0].actual, actual);
        ckpt_close(f);
    }
    for (int i = 0; i < 3; i++) {
        char dst[400];
        snprintf(dst, sizeof dst, "%s/%s", tmpdir, names[i]);
        unlink(dst);
    }
}

/* Hostile directories fail cleanly. */
static void check_hostile(const uint8_t *orig, size_t len) {
    uint8_t *b = malloc(len);
    CHECK(b != NULL);
    if (!b) return;
    ckpt_verify_report rep;
    ckpt_error err;
    /* truncated before the end record */
    memcpy(b, orig, len);
    CHECK(ckpt__verify_zip_bytes(b, len / 2, &rep, &err) != CKPT_OK);
    /* member count far beyond the directory size */
    size_t e = len - 22;
    while (e > 0 && memcmp(b + e, "PK\5\6", 4) != 0) e--;
    CHECK(e > 0);
    b[e + 10] = 0xFF;
    b[e + 11] = 0xFE;
    CHECK_STATUS(ckpt__verify_zip_bytes(b, len, &rep, &err), CKPT_E_FORMAT);
    /* central directory offset past the end */
    memcpy(b, orig, len);
    b[e + 19] = 0x7F;
    CHECK_STATUS(ckpt__verify_zip_bytes(b, len, &rep, &err), CKPT_E_BOUNDS);
    free(b);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    CHECK(tu_mkdtemp(tmpdir, sizeof tmpdir, "ckpt_test_verify_") != NULL);
    cJSON *j = tu_load_json(tu_model_path("verify/expected.json"));
    CHECK(j != NULL);
    if (j) {
        const char *zips[] = {"numpy/npz_stored.npz", "numpy/npz_deflated.npz", "torch/dtypes.pt",
                              "torch/dtypes_deflated.pt", "torch/sd_linear.pt", "verify/zip64_stored.npz"};
        for (size_t i = 0; i < sizeof zips / sizeof *zips; i++)
            check_fixture(zips[i], cJSON_GetObjectItemCaseSensitive(j, zips[i]));
        size_t n;
        char *b = tu_read_file(tu_model_path("numpy/npz_stored.npz"), &n);
        if (b) check_hostile((const uint8_t *)b, n);
        free(b);
        check_sharded(j);
    }
    check_no_checksum("torch/legacy_sd.pt");
    check_no_checksum("numpy/npy_f8.npy");
    cJSON_Delete(j);
    rmdir(tmpdir);
    return tu_finish();
}
