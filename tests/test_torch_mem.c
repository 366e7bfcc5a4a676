/*
 * test_torch_mem.c - what an opened torch checkpoint keeps resident
 * (issue 4; loader/file_open.c, loader/torch.c, loader/array_table.c).
 *
 *  - A mapped file: after ckpt_open no page of the file mapping is present in
 *    the process (the pages the open read - pickle, central directory,
 *    headers - were dropped; /proc/self/pagemap bit 63), with the size
 *    threshold lowered to 0 for these small fixtures; with the default one
 *    (CKPT__DROP_MIN) a small file's pages are left mapped.  Afterwards the
 *    strings the graph borrows from the mapping (state-dict keys), every
 *    tensor's name, dtype, shape and values (util_torch.c against the JSON
 *    torch wrote) and ckpt_file_verify still read correctly: they re-fault
 *    the same bytes.
 *  - CKPT_OPEN_NO_MMAP and ckpt_open_memory: the buffer is untouched (every
 *    page still present, bytes unchanged), and the same checks pass.
 *  - A mapped legacy stream reads only its pickles through the mapping (the
 *    storage size headers by pread).
 *  - An array record does not store path/dtype/shape/strides twice.
 *  - Big tables (records, storages) are 2 MB-aligned mappings that keep
 *    their contents through growth and shrinking.
 *  - The torch storage table is released at the end of the open when no
 *    tensor needs it later (every record stored in place and aligned); it is
 *    kept when compressed or unaligned records are inflated / copied on first
 *    use, and those tensors still resolve.
 */
#include "util_test.h"
#include "util_torch.h"

#include "loader_internal.h"
#include "torch_internal.h"

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_pickle.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* Pages of [p, p + n) present in this process's page tables; -1 when
   /proc/self/pagemap cannot be read. */
static long present_pages(const void *p, size_t n) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0 || n == 0) return -1;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    uintptr_t first = (uintptr_t)p / (uintptr_t)ps, last = ((uintptr_t)p + n - 1) / (uintptr_t)ps;
    long present = 0;
    for (uintptr_t pg = first; pg <= last; pg++) {
        uint64_t e;
        if (pread(fd, &e, sizeof e, (off_t)(pg * sizeof e)) != (ssize_t)sizeof e) {
            present = -1;
            break;
        }
        if (e >> 63) present++;
    }
    close(fd);
    return present;
}

static long page_count(const void *p, size_t n) {
    long ps = sysconf(_SC_PAGESIZE);
    return (long)(((uintptr_t)p + n - 1) / (uintptr_t)ps - (uintptr_t)p / (uintptr_t)ps + 1);
}

/* A state dict's keys are borrowed from the pickle bytes (the file mapping
   when mapped): each equals the path of the array at the same index. */
static void check_keys(ckpt_file *f, const char *label) {
    const ckpt_value *root = ckpt_file_root(f);
    const ckpt_value *d = ckpt_value_kind(root) == CKPT_K_DICT ? root : ckpt_value_obj_dict(root);
    CHECKF(d != NULL, "%s: root is no dict", label);
    if (!d) return;
    size_t n = ckpt_value_len(d), inside = 0;
    CHECKF(n == ckpt_file_array_count(f), "%s: %zu keys for %zu arrays", label, n, ckpt_file_array_count(f));
    for (size_t i = 0; i < n && i < ckpt_file_array_count(f); i++) {
        size_t kl;
        const uint8_t *k = ckpt_value_bytes(ckpt_value_dict_key(d, i), &kl);
        const char *path = ckpt_file_array(f, i)->path;
        CHECKF(k && kl == strlen(path) && memcmp(k, path, kl) == 0, "%s: key %zu is not '%s'", label, i, path);
        if (k && k >= f->map && k < f->map + f->map_len) inside++;
    }
    /* borrowed from the file bytes, so reading them re-faulted dropped pages */
    CHECKF(inside == n, "%s: %zu of %zu keys borrowed from the file bytes", label, inside, n);
}

static void fixture(const char *name, int zip, int state_dict) {
    char rel[256], jrel[256];
    snprintf(rel, sizeof rel, "torch/%s", name);
    snprintf(jrel, sizeof jrel, "torch/%s.json", name);
    cJSON *doc = tu_load_json(tu_model_path(jrel));
    if (!doc) return;
    size_t len;
    uint8_t *bytes = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(bytes != NULL, "read %s", rel);
    int copied = cJSON_IsTrue(item(doc, "copied"));
    const cJSON *bo = item(doc, "byteorder");
    int big = cJSON_IsString(bo) && strcmp(bo->valuestring, "big") == 0;
    for (int mode = 0; mode < 3 && bytes; mode++) {
        ckpt_file *f;
        uint8_t *copy;
        char label[300];
        ckpt_status st = tu_open_mode(rel, name, mode, bytes, len, &f, &copy, label, sizeof label);
        if (st != CKPT_OK) {
            free(copy);
            continue;
        }
        CHECKF(ckpt_file_is_mapped(f) == (mode == 0), "%s: mapped %d", label, ckpt_file_is_mapped(f));
        long present = present_pages(f->map, f->map_len), pages = page_count(f->map, f->map_len);
        CHECKF(present >= 0, "%s: /proc/self/pagemap unreadable", label);
        if (mode == 0) {
            CHECKF(present == 0, "%s: %ld of %ld file pages still resident after the open", label, present, pages);
            if (ckpt_file_format(f) == CKPT_FMT_TORCH_LEGACY) {
                /* the legacy reader reads the records' size headers with pread: only the
                   pickles in front of the first record went through the mapping */
                uint64_t first = UINT64_MAX;
                for (size_t i = 0; i < ckpt_file_array_count(f); i++) {
                    const ckpt_array_info *a = ckpt_file_array(f, i);
                    if (a->state != CKPT_DATA_UNAVAILABLE && a->nbytes && a->file_offset < first)
                        first = a->file_offset;
                }
                CHECKF(!f->touch_all && f->touch_n == 1 && f->touch[0].off == 0 && first != UINT64_MAX &&
                           f->touch[0].end + 8 <= first,
                       "%s: mapping ranges read: %u (all %d), first [0, %llu), first record at %llu", label,
                       f->touch_n, f->touch_all, f->touch_n ? (unsigned long long)f->touch[0].end : 0ULL,
                       (unsigned long long)first);
            }
        } else {
            /* the caller's buffer / the read() buffer: left alone */
            CHECKF(present == pages, "%s: %ld of %ld buffer pages present after the open", label, present, pages);
            CHECKF(f->map_len == len && memcmp(f->map, bytes, len) == 0, "%s: buffer bytes changed by the open",
                   label);
            if (mode == 2) CHECKF(f->map == copy, "%s: not opened over the caller's buffer", label);
        }
        if (state_dict) check_keys(f, label);
        tu_tensor_opts to = zip ? (tu_tensor_opts){mode == 2 ? copy : bytes, len, mode == 2, copied, big, 1, 16}
                                : (tu_tensor_opts){bytes, len, 0, 0, 0, 0, 64};
        tu_check_tensors(f, item(doc, "tensors"), label, &to);
        ckpt_verify_report rep;
        ckpt_error verr;
        ckpt_status vs = ckpt_file_verify(f, NULL, NULL, &rep, &verr);
        CHECKF(vs == CKPT_OK, "%s: verify: %s", label, vs == CKPT_OK ? "" : verr.message);
        if (mode == 0) {
            present = present_pages(f->map, f->map_len);
            CHECKF(present > 0, "%s: reading names and data faulted no page of the mapping back", label);
        }
        ckpt_close(f);
        free(copy);
    }
    free(bytes);
    cJSON_Delete(doc);
}

/* models/torch/<name> mapped with the default options; NULL (a failed check) if it does not open. */
static ckpt_file *open_fixture(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "torch/%s", name);
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open(tu_model_path(rel), NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open: %s", name, st == CKPT_OK ? "" : err.message);
    return st == CKPT_OK ? f : NULL;
}

/* The storage table after the open: released when every record is stored
   in place and aligned; kept (and used) when records are inflated or copied
   on first use. */
static void storage_table(const char *name, int kept) {
    ckpt_file *f = open_fixture(name);
    if (!f) return;
    const ckpt__torch *t = ckpt__torch_of(f);
    CHECKF(t != NULL, "%s: no torch state", name);
    if (t && kept) {
        CHECKF(t->n > 0 && t->st != NULL, "%s: storage table released though records are copied on use", name);
    } else if (t) {
        CHECKF(t->n == 0 && t->st == NULL && t->slots == NULL, "%s: storage table of %zu kept after the open",
               name, t->n);
    }
    size_t n = ckpt_file_array_count(f), resolved = 0;
    for (size_t i = 0; i < n; i++) {
        const ckpt_array_info *a = ckpt_file_array(f, i);
        CHECKF(a->storage_key == NULL || a->storage_key[0], "%s: empty storage key", name);
        if (a->state == CKPT_DATA_UNAVAILABLE) continue;
        const void *d = NULL;
        ckpt_error e;
        ckpt_status ds = ckpt_array_data(f, i, &d, &e);
        CHECKF(ds == CKPT_OK && d != NULL, "%s: %s: %s", name, a->path, ds == CKPT_OK ? "no data" : e.message);
        if (ds == CKPT_OK) resolved++;
    }
    CHECKF(resolved > 0, "%s: nothing resolved", name);
    ckpt_close(f);
}

/* `count` array records added one by one (after a reserve of `reserve`
   when not 0) to a fresh file: every record and lookup reads back. */
static void records(size_t count, size_t reserve) {
    static const uint8_t none_pickle[] = {0x80, 2, 'N', '.'};
    const size_t huge = (size_t)2 << 20;
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open_memory(none_pickle, sizeof none_pickle, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "open a None pickle: %s", st == CKPT_OK ? "" : err.message);
    if (st != CKPT_OK) return;
    if (reserve) {
        CHECK_STATUS(ckpt__file_reserve_arrays(f, reserve), CKPT_OK);
        CHECKF(f->cap_arrays == reserve, "reserved %zu records, capacity %zu", reserve, f->cap_arrays);
    }
    const ckpt_dtype_info *dt = ckpt__dtype_builtin(CKPT_DT_FLOAT32);
    size_t added = 0;
    for (size_t i = 0; i < count; i++) {
        char path[32];
        snprintf(path, sizeof path, "t.%05zu", i);
        int64_t shape[2] = {(int64_t)i, 3};
        ckpt__array *a = NULL;
        st = ckpt__file_add_array(f, path, NULL, dt, 2, shape, NULL, &a, &err);
        if (st != CKPT_OK) break;
        added++;
    }
    CHECKF(added == count, "added %zu of %zu arrays: %s", added, count, st == CKPT_OK ? "" : err.message);
    CHECKF(((uintptr_t)f->arrays & (huge - 1)) == 0, "record table of %zu not on a 2 MB boundary", f->cap_arrays);
    size_t bad = 0;
    for (size_t i = 0; i < added; i++) {
        char path[32];
        snprintf(path, sizeof path, "t.%05zu", i);
        const ckpt_array_info *a = ckpt_file_array(f, i);
        size_t j = SIZE_MAX;
        if (!a || strcmp(a->path, path) != 0 || a->ndim != 2 || a->shape[0] != (int64_t)i || a->shape[1] != 3 ||
            a->strides[0] != 12 || a->strides[1] != 4 || a->dtype != dt || a->nelems != (uint64_t)i * 3 ||
            ckpt_file_find_array(f, path, &j) != CKPT_OK || j != i)
            bad++;
    }
    CHECKF(bad == 0, "%zu of %zu array records read back wrong (reserve %zu)", bad, added, reserve);
    ckpt_close(f);
}

/* ckpt__table_realloc (array_table.c): contents kept across growth and
   shrinking, through the size where a table becomes a 2 MB-aligned mapping
   (default allocator) and back; then 12 000 array records, in a table that
   moves from the heap to a mapping while it grows, and in one reserved for
   11 000 (mapped and populated at once) that grows past it. */
static void tables(void) {
    static const uint8_t none_pickle[] = {0x80, 2, 'N', '.'};
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_open_memory(none_pickle, sizeof none_pickle, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "open a None pickle: %s", st == CKPT_OK ? "" : err.message);
    if (st != CKPT_OK) return;
    const size_t huge = (size_t)2 << 20;
    const size_t sizes[] = {1000, (size_t)1 << 20, huge - huge / 8, 1900000, 3840000, 4200000, 9000000,
                            9000000 + 4096, 5000000, 1000000, 3000};
    uint8_t *p = NULL;
    size_t old = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *q = ckpt__table_realloc(f, p, old, n);
        CHECKF(q != NULL, "table of %zu bytes", n);
        if (!q) break;
        size_t keep = old < n ? old : n, bad = 0;
        for (size_t i = 0; i < keep; i++) bad += q[i] != (uint8_t)(i * 31u ^ (i >> 12));
        CHECKF(bad == 0, "table %zu -> %zu bytes: %zu bytes changed", old, n, bad);
        if (n >= huge - huge / 8)
            CHECKF(((uintptr_t)q & (huge - 1)) == 0, "mapped table of %zu bytes not on a 2 MB boundary", n);
        for (size_t i = 0; i < n; i++) q[i] = (uint8_t)(i * 31u ^ (i >> 12));
        p = q;
        old = n;
    }
    ckpt__table_free(f, p, old);
    ckpt_close(f);
    records(12000, 0);     /* grows from the heap into a mapping */
    records(12000, 11000); /* a reserve (mapped, populated), then growth past it */
}

/* With the default threshold (CKPT__DROP_MIN) a small file's few read pages
   are left mapped: dropping them would cost more than they hold. */
static void small_kept(const char *name) {
    ckpt_file *f = open_fixture(name);
    if (!f) return;
    CHECKF(f->map_len < CKPT__DROP_MIN, "%s: %zu bytes is not a small file", name, f->map_len);
    long present = present_pages(f->map, f->map_len);
    CHECKF(present > 0, "%s: the pages the open read were dropped below the threshold (%ld present)", name, present);
    ckpt_close(f);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    /* an array record is the public info plus its private source/resolve
       part (8 words): path, dtype, shape and strides are not stored twice */
    CHECKF(sizeof(ckpt__array) <= sizeof(ckpt_array_info) + 8 * sizeof(void *),
           "array record of %zu bytes (info %zu)", sizeof(ckpt__array), sizeof(ckpt_array_info));
    /* the fixtures are small: drop their pages whatever their size (the
       default threshold keeps them, checked by small_kept below) */
    size_t saved_drop_min = ckpt__drop_min;
    ckpt__drop_min = 0;
    /* zip archives: stored aligned, deflated, stored unaligned, ZIP64, TorchScript */
    fixture("sd_linear.pt", 1, 1);
    fixture("sd_conv.pt", 1, 1);
    fixture("sd_linear_p4.pt", 1, 1);
    fixture("dtypes.pt", 1, 0);
    fixture("views.pt", 1, 0);
    fixture("dtypes_deflated.pt", 1, 0);
    fixture("views_deflated.pt", 1, 0);
    fixture("views_stored_unaligned.pt", 1, 0);
    fixture("views_zip64.pt", 1, 0);
    fixture("script_net.pt", 1, 0);
    /* legacy stream and tar form */
    fixture("legacy_sd.pt", 0, 1);
    fixture("legacy_dtypes.pt", 0, 0);
    fixture("legacy_views.pt", 0, 0);
    fixture("tar_format.pt", 0, 0);
    ckpt__drop_min = saved_drop_min;
    small_kept("sd_linear.pt");
    small_kept("dtypes.pt");
    small_kept("legacy_sd.pt");

    tables();
    storage_table("sd_conv.pt", 0);
    storage_table("views.pt", 0);
    storage_table("script_net.pt", 0);
    storage_table("legacy_sd.pt", 0);
    storage_table("views_deflated.pt", 1);
    storage_table("views_stored_unaligned.pt", 1);
    return tu_finish();
}
