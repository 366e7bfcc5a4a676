/*
 * test_copy_limit.c - aligned copies made by ckpt_array_data() count against
 * limits.max_memory (a view whose elements overlap can describe far more
 * bytes than its file holds).  A big-endian .npy of 4 MiB (swapped into a
 * copy), written by the test, resolves under a 64 MiB budget with the right
 * values, and is refused as CKPT_E_LIMIT under a 3 MiB one (the graph of the
 * header fits, the copy does not); the message names max_memory.
 * Also: a raw .lzma stream whose 13-byte header declares a 1.9 GB dictionary
 * (found by fuzz_joblib_z, tests/fuzz/corpus/joblib_z/oom-lzma-dict-1.9g) is
 * refused by the loader as CKPT_E_LIMIT without allocating the dictionary.
 */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "util_test.h"

#define N_VALUES (512u * 1024u) /* 4 MiB of float64 */

static const char *write_npy(void) {
    static char path[4096];
    int fd = tu_mkstemp(path, sizeof path, "ckpt_copy_limit_");
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!fp) return NULL;
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '>f8', 'fortran_order': False, 'shape': (%u,), }", N_VALUES);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned hlen = (unsigned)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    fputc((int)(hlen & 0xff), fp);
    fputc((int)(hlen >> 8), fp);
    fwrite(hdr, 1, (size_t)n, fp);
    for (int i = 0; i < pad; i++) fputc(' ', fp);
    fputc('\n', fp);
    for (uint32_t i = 0; i < N_VALUES; i++) { /* value i, big-endian IEEE double */
        double d = (double)i;
        uint64_t u;
        memcpy(&u, &d, 8);
        for (int b = 7; b >= 0; b--) fputc((int)((u >> (8 * b)) & 0xff), fp);
    }
    return fclose(fp) == 0 ? path : NULL;
}

static ckpt_status open_with(const char *path, uint64_t max_memory, ckpt_file **f) {
    ckpt_open_opts o = ckpt_open_opts_default();
    o.limits.max_memory = max_memory;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(path, &o, f, &err);
    CHECKF(st == CKPT_OK, "open with max_memory %llu: %s", (unsigned long long)max_memory, err.message);
    return st;
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    const char *path = write_npy();
    CHECKF(path != NULL, "cannot write the temporary .npy");
    if (!path) return tu_finish();
    ckpt_file *f = NULL;
    ckpt_error err;
    const void *p = NULL;

    if (open_with(path, (uint64_t)64 << 20, &f) == CKPT_OK) {
        CHECK_EQ_INT(ckpt_file_array_count(f), 1);
        CHECK(ckpt_file_array(f, 0)->will_copy);
        ckpt_error_clear(&err);
        CHECK_STATUS(ckpt_array_data(f, 0, &p, &err), CKPT_OK);
        if (p) {
            const double *d = p;
            CHECK(d[0] == 0.0 && d[1] == 1.0 && d[N_VALUES - 1] == (double)(N_VALUES - 1));
        }
        CHECK(ckpt_file_array(f, 0)->state == CKPT_DATA_COPIED);
        ckpt_close(f);
    }

    if (open_with(path, (uint64_t)3 << 20, &f) == CKPT_OK) {
        ckpt_error_clear(&err);
        p = NULL;
        CHECK_STATUS(ckpt_array_data(f, 0, &p, &err), CKPT_E_LIMIT);
        CHECK(p == NULL);
        CHECKF(strstr(err.message, "max_memory") != NULL, "message: %s", err.message);
        CHECK(ckpt_file_array(f, 0)->state != CKPT_DATA_COPIED);
        ckpt_close(f);
    }
    remove(path);

    size_t zn = 0;
    char *z = tu_read_file(tu_path(tu_src_dir, "tests/fuzz/corpus/joblib_z/oom-lzma-dict-1.9g"), &zn);
    CHECKF(z != NULL, "lzma sample missing");
    if (z) {
        ckpt_error_clear(&err);
        f = NULL;
        ckpt_status st = ckpt_open_memory(z, zn, NULL, &f, &err);
        CHECK_STATUS(st, CKPT_E_LIMIT);
        CHECKF(strstr(err.message, "decoder memory") != NULL, "message: %s", err.message);
        CHECK(f == NULL);
        ckpt_close(f);
        free(z);
    }
    return tu_finish();
}
