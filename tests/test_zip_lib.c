/*
 * test_zip_lib.c - libzip is loaded on first use, not linked
 * (loader/zip_lib.h, CMake option CKPT_LIBZIP_DLOPEN, the default).
 *
 * This program is not linked with libzip (it does not include <zip.h>; see
 * tests/CMakeLists.txt), so /proc/self/maps shows libzip only once the
 * library has loaded it:
 *  1. a stored PyTorch archive opens, its tensors match the JSON torch wrote
 *     (util_torch.c) and ckpt_file_verify passes, in the three open modes,
 *     with libzip never loaded;
 *  2. with the soname pointed at a library that does not exist
 *     (ckpt__zip_soname), everything that needs libzip fails with
 *     CKPT_E_UNSUPPORTED and an error naming the library, the purpose and the
 *     member, while nothing is leaked: an .npz, an archive whose pickle is
 *     deflated (the open fails), an archive whose records only are deflated
 *     (the open succeeds; the first use of a tensor fails, and so does
 *     verify); an archive the own directory walk refuses still gets the
 *     walk's verdict (it asks libzip only for a second opinion);
 *  3. with the real soname back, the same files open and read correctly (a
 *     failed load is not remembered), and libzip is now mapped.
 * Built with -DCKPT_LIBZIP_DLOPEN=OFF, only the checks of 3 run (libzip is
 * linked then, so mapped throughout).
 */
#include "util_test.h"
#include "util_torch.h"

#include "loader_internal.h"
#if CKPT_LIBZIP_DLOPEN
#include "zip_lib.h"
#endif

#include "ckpt/ckpt_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* 1 if a file named libzip.so* is mapped in this process, 0 if not, -1 if
   /proc/self/maps cannot be read. */
static int libzip_mapped(void) {
    FILE *fp = fopen("/proc/self/maps", "r");
    if (!fp) return -1;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, fp)) found = strstr(line, "/libzip.so") != NULL;
    fclose(fp);
    return found;
}

/* Open torch/<name> in every mode and compare its tensors with the JSON;
   verify must pass. */
static void torch_ok(const char *name) {
    char rel[256], jrel[256];
    snprintf(rel, sizeof rel, "torch/%s", name);
    snprintf(jrel, sizeof jrel, "torch/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(jrel));
    size_t len;
    uint8_t *bytes = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(doc && bytes, "read %s and its JSON", rel);
    for (int mode = 0; mode < 3 && doc && bytes; mode++) {
        ckpt_file *f;
        uint8_t *copy;
        char label[300];
        if (tu_open_mode(rel, name, mode, bytes, len, &f, &copy, label, sizeof label) != CKPT_OK) {
            free(copy);
            continue;
        }
        int copied = cJSON_IsTrue(item(doc, "copied"));
        tu_tensor_opts to = {mode == 2 ? copy : bytes, len, mode == 2, copied, 0, 1, 16};
        tu_check_tensors(f, item(doc, "tensors"), label, &to);
        ckpt_verify_report rep;
        ckpt_error verr;
        ckpt_status vs = ckpt_file_verify(f, NULL, NULL, &rep, &verr);
        CHECKF(vs == CKPT_OK && rep.has_checksums && rep.members_bad == 0 && rep.members_failed == 0,
               "%s: verify: %s", label, vs == CKPT_OK ? "" : verr.message);
        ckpt_close(f);
        free(copy);
    }
    free(bytes);
    cJSON_Delete(doc);
}

/* Open numpy/<name> and compare every array with the JSON numpy wrote:
   path, element count and the raw bytes. */
static void npz_ok(const char *name) {
    char rel[256], jrel[256];
    snprintf(rel, sizeof rel, "numpy/%s.npz", name);
    snprintf(jrel, sizeof jrel, "numpy/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(jrel));
    CHECKF(doc != NULL, "read %s", jrel);
    if (!doc) return;
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open(tu_model_path(rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s", rel, st == CKPT_OK ? "" : err.message);
    const cJSON *arrays = item(doc, "arrays");
    size_t n = f ? ckpt_file_array_count(f) : 0;
    CHECKF(!f || (int)n == cJSON_GetArraySize(arrays), "%s: %zu arrays, numpy wrote %d", rel, n,
           cJSON_GetArraySize(arrays));
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, arrays) {
        if (!f || i >= n) break;
        const ckpt_array_info *ai = ckpt_file_array(f, i);
        const cJSON *path = item(a, "path"), *hex = item(a, "raw_hex"), *ne = item(a, "nelems");
        CHECKF(cJSON_IsString(path) && strcmp(ai->path, path->valuestring) == 0, "%s[%zu]: path %s", rel, i,
               ai->path);
        CHECKF(cJSON_IsNumber(ne) && ai->nelems == (uint64_t)ne->valuedouble, "%s: %s: %llu elements", rel,
               ai->path, (unsigned long long)ai->nelems);
        const void *d = NULL;
        ckpt_status ds = ckpt_array_data(f, i, &d, &err);
        CHECKF(ds == CKPT_OK, "%s: %s: data: %s", rel, ai->path, ds == CKPT_OK ? "" : err.message);
        if (ds == CKPT_OK && cJSON_IsString(hex)) {
            /* numpy's tobytes(): C order of the logical shape, whatever the layout */
            size_t hl = strlen(hex->valuestring), isz = ai->dtype->itemsize;
            int same = hl == 2 * ai->nbytes;
            for (uint64_t k = 0; same && k < ai->nelems; k++) {
                const uint8_t *e = tu_elem_ptr(ai, d, k);
                for (size_t j = 0; same && j < isz; j++) {
                    unsigned b;
                    same = sscanf(hex->valuestring + 2 * (k * isz + j), "%2x", &b) == 1 && b == e[j];
                }
            }
            CHECKF(same, "%s: %s: bytes differ from numpy's", rel, ai->path);
        }
        i++;
    }
    ckpt_close(f);
    cJSON_Delete(doc);
}

#if CKPT_LIBZIP_DLOPEN
#define NO_SUCH "libckpt-test-no-such-libzip.so.0"

/* err must say that libzip (NO_SUCH) was needed and could not be loaded. */
static void check_no_lib(const char *what, ckpt_status st, const ckpt_error *err, const char *member) {
    CHECKF(st == CKPT_E_UNSUPPORTED, "%s: status %d, want CKPT_E_UNSUPPORTED", what, (int)st);
    if (st == CKPT_OK) return;
    CHECKF(strstr(err->message, "libzip (" NO_SUCH ") is needed") && strstr(err->message, "cannot be loaded"),
           "%s: message '%s'", what, err->message);
    if (member) CHECKF(strcmp(err->member, member) == 0, "%s: member '%s', want '%s'", what, err->member, member);
}

static void without_libzip(void) {
    ckpt__zip_soname = NO_SUCH;
    ckpt_file *f = NULL;
    ckpt_error err;

    ckpt_status st = ckpt_open(tu_model_path("numpy/npz_stored.npz"), NULL, &f, &err);
    CHECKF(f == NULL, "npz opened without libzip");
    check_no_lib("npz_stored.npz", st, &err, NULL);
    CHECKF(strstr(err.message, "to read this archive") != NULL, "npz: purpose missing: '%s'", err.message);

    st = ckpt_open(tu_model_path("torch/views_deflated.pt"), NULL, &f, &err);
    CHECKF(f == NULL, "deflated pickle opened without libzip");
    check_no_lib("views_deflated.pt", st, &err, "views/version"); /* the first member the open inflates */
    CHECKF(strstr(err.message, "to inflate a member") != NULL, "views_deflated: purpose missing: '%s'",
           err.message);

    /* pickle stored, records deflated: the open needs no libzip */
    st = ckpt_open(tu_model_path("torch/views_deflated_records.pt"), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "views_deflated_records.pt: open: %s", st == CKPT_OK ? "" : err.message);
    if (st == CKPT_OK) {
        size_t n = ckpt_file_array_count(f);
        CHECKF(n > 0, "views_deflated_records.pt: no tensors");
        const void *d = NULL;
        const ckpt_array_info *ai = n ? ckpt_file_array(f, 0) : NULL;
        CHECKF(!ai || ai->will_copy, "views_deflated_records.pt: %s not planned as a copy", ai ? ai->path : "");
        st = n ? ckpt_array_data(f, 0, &d, &err) : CKPT_E_NOTFOUND;
        CHECKF(d == NULL, "tensor data handed out without libzip");
        check_no_lib("views_deflated_records.pt: first tensor", st, &err, ai && ai->member ? ai->member : "?");
        ckpt_verify_report rep;
        st = ckpt_file_verify(f, NULL, NULL, &rep, &err);
        CHECKF(st != CKPT_OK && rep.members_failed > 0, "verify without libzip: status %d, %llu members failed",
               (int)st, (unsigned long long)rep.members_failed);
        CHECKF(strstr(err.message, NO_SUCH) != NULL, "verify without libzip: '%s'", err.message);
        ckpt_close(f);
    }

    /* a cut archive: the own walk refuses it, libzip would only be asked for its verdict */
    size_t len;
    uint8_t *bytes = (uint8_t *)tu_read_file(tu_model_path("torch/sd_linear.pt"), &len);
    CHECKF(bytes && len > 64, "read sd_linear.pt");
    if (bytes && len > 64) {
        f = NULL;
        st = ckpt_open_memory(bytes, len - 10, NULL, &f, &err);
        CHECKF(f == NULL && st != CKPT_OK && st != CKPT_E_UNSUPPORTED && !strstr(err.message, NO_SUCH),
               "cut sd_linear.pt without libzip: status %d '%s'", (int)st, st == CKPT_OK ? "" : err.message);
        ckpt_close(f);
    }
    free(bytes);
    CHECKF(libzip_mapped() == 0, "libzip mapped after failed loads");
    ckpt__zip_soname = CKPT_LIBZIP_SONAME;
}
#endif

int main(int argc, char **argv) {
    tu_init(argc, argv);
#if CKPT_LIBZIP_DLOPEN
    CHECKF(libzip_mapped() == 0, "libzip mapped before any open (maps: %d): is the test linked with it?",
           libzip_mapped());
    torch_ok("sd_linear.pt");
    torch_ok("views.pt");
    CHECKF(libzip_mapped() == 0, "libzip loaded by stored archives");
    without_libzip();
#endif
    npz_ok("npz_stored");
    npz_ok("npz_deflated");
    torch_ok("views_deflated.pt");
    torch_ok("views_deflated_records.pt");
    CHECKF(libzip_mapped() == 1, "libzip not mapped after inflating");
    return tu_finish();
}
