/*
 * test_numpy_hostile.c - the NumPy/joblib/.npy readers on hostile input:
 *   - decompression bombs for every codec -> CKPT_E_LIMIT (max_decompressed)
 *   - every prefix of fixture files fails cleanly (status and error detail)
 *   - byte flips in fixtures never crash (open, resolve every array)
 *   - .npy headers: one hand-made bad header per failure class
 *   - a pre-0.10 sidecar name that leaves the directory is refused
 */
#include "util_test.h"

#include "ckpt/ckpt_file.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BOMB_BYTES ((size_t)64 << 20) /* 64 MiB of zeros */
#define BOMB_LIMIT ((uint64_t)1 << 20)

static ckpt_status open_mem(const void *p, size_t n, uint64_t max_dec, ckpt_error *err, ckpt_file **out) {
    ckpt_open_opts o = ckpt_open_opts_default();
    if (max_dec) o.limits.max_decompressed = max_dec;
    ckpt_file *f = NULL;
    ckpt_status st = ckpt_open_memory(p, n, &o, &f, err);
    if (out) *out = f;
    else if (f) ckpt_close(f);
    return st;
}

static void bombs(void) {
    unsigned char *zeros = calloc(1, BOMB_BYTES);
    size_t cap = BOMB_BYTES / 64 + (1 << 16);
    unsigned char *c = malloc(cap);
    CHECK(zeros && c);
    ckpt_error err;
    /* zlib and gzip */
    for (int gz = 0; gz < 2; gz++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 9, Z_DEFLATED, gz ? 16 + 15 : 15, 9, Z_DEFAULT_STRATEGY);
        z.next_in = zeros;
        z.avail_in = (uInt)BOMB_BYTES;
        z.next_out = c;
        z.avail_out = (uInt)cap;
        CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
        size_t n = cap - z.avail_out;
        deflateEnd(&z);
        ckpt_status st = open_mem(c, n, BOMB_LIMIT, &err, NULL);
        CHECKF(st == CKPT_E_LIMIT, "%s bomb: %d %s", gz ? "gzip" : "zlib", st, err.message);
    }
    /* bz2 */
    unsigned int bn = (unsigned int)cap;
    CHECK(BZ2_bzBuffToBuffCompress((char *)c, &bn, (char *)zeros, (unsigned)BOMB_BYTES, 9, 0, 0) == BZ_OK);
    CHECKF(open_mem(c, bn, BOMB_LIMIT, &err, NULL) == CKPT_E_LIMIT, "bz2 bomb: %s", err.message);
    /* xz */
    size_t xn = 0;
    CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, zeros, BOMB_BYTES, c, &xn, cap) == LZMA_OK);
    CHECKF(open_mem(c, xn, BOMB_LIMIT, &err, NULL) == CKPT_E_LIMIT, "xz bomb: %s", err.message);
    /* lz4 frame */
    size_t lcap = LZ4F_compressFrameBound(BOMB_BYTES, NULL);
    unsigned char *lc = malloc(lcap);
    size_t ln = LZ4F_compressFrame(lc, lcap, zeros, BOMB_BYTES, NULL);
    CHECK(!LZ4F_isError(ln));
    CHECKF(open_mem(lc, ln, BOMB_LIMIT, &err, NULL) == CKPT_E_LIMIT, "lz4 bomb: %s", err.message);
    /* the same bombs open (as far as the pickle layer) with the default limit: the
       zeros are not a pickle, so the error is a pickle error, not LIMIT */
    ckpt_status st = open_mem(lc, ln, 0, &err, NULL);
    CHECKF(st != CKPT_OK && st != CKPT_E_LIMIT, "lz4 zeros with default limit: %d", st);
    free(lc);
    /* ZF header declaring more than the limit */
    const char zf[] = "ZF0xffffffffffff     x\x9c\x03\x00\x00\x00\x00\x01";
    CHECKF(open_mem(zf, sizeof zf - 1, BOMB_LIMIT, &err, NULL) == CKPT_E_LIMIT, "ZF declared size: %s", err.message);
    free(zeros);
    free(c);
}

static void prefixes_and_flips(const char *rel) {
    size_t n;
    char *buf = tu_read_file(tu_model_path(rel), &n);
    CHECKF(buf != NULL, "read %s", rel);
    if (!buf) return;
    ckpt_error err;
    ckpt_file *f = NULL;
    CHECKF(open_mem(buf, n, 0, &err, &f) == CKPT_OK, "%s whole: %s", rel, err.message);
    if (f) ckpt_close(f);
    size_t step = n / 300 + 1, bad = 0;
    for (size_t k = 0; k < n; k += (k < 64 ? 1 : step)) {
        char *p = malloc(k + 1);
        memcpy(p, buf, k);
        ckpt_status st = open_mem(p, k, 0, &err, NULL);
        if (st == CKPT_OK || err.status != st || !err.message[0]) {
            bad++;
            if (bad < 4) printf("  %s prefix %zu: status %d, detail %d '%s'\n", rel, k, st, err.status, err.message);
        }
        free(p);
    }
    CHECKF(bad == 0, "%s: %zu prefixes did not fail cleanly", rel, bad);
    /* flips: whatever happens must be clean (sanitizers watch) */
    unsigned seed = 12345;
    for (int t = 0; t < 200; t++) {
        char *p = malloc(n);
        memcpy(p, buf, n);
        for (int j = 0; j < 3; j++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            p[pos] ^= (char)(1 + (seed >> 16) % 255);
        }
        ckpt_status st = open_mem(p, n, 0, &err, &f);
        if (st == CKPT_OK) {
            for (size_t i = 0; i < ckpt_file_array_count(f); i++) {
                const void *d;
                if (ckpt_array_data(f, i, &d, &err) == CKPT_OK)
                    for (uint64_t e = 0; e < ckpt_file_array(f, i)->nelems && e < 8; e++)
                        (void)ckpt_array_get_f64(f, i, e);
            }
            ckpt_close(f);
        } else {
            CHECKF(err.status == st, "%s flip %d: detail %d for status %d", rel, t, err.status, st);
        }
        free(p);
    }
    free(buf);
}

static ckpt_status npy_with_header(const char *hdr, uint64_t data_bytes, ckpt_error *err) {
    size_t hl = strlen(hdr);
    size_t n = 10 + hl + data_bytes;
    unsigned char *p = calloc(1, n + 1);
    memcpy(p, "\x93NUMPY\x01\x00", 8);
    p[8] = (unsigned char)(hl & 0xff);
    p[9] = (unsigned char)(hl >> 8);
    memcpy(p + 10, hdr, hl);
    ckpt_status st = open_mem(p, n, 0, err, NULL);
    free(p);
    return st;
}

static void npy_headers(void) {
    ckpt_error err;
    struct {
        const char *hdr;
        uint64_t data;
        ckpt_status want;
    } cases[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", 24, CKPT_OK},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", 23, CKPT_E_TRUNCATED},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}\n", 24, CKPT_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False}\n", 24, CKPT_E_FORMAT},
        {"{'descr': __import__('os').system('x'), 'fortran_order': False, 'shape': (3,)}\n", 24, CKPT_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}\n", 24, CKPT_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3)}\n", 24, CKPT_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}\n", 24, CKPT_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}\n", 24,
         CKPT_E_RANGE},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}\n", 24, CKPT_E_RANGE},
        {"{'descr': '<f16', 'fortran_order': False, 'shape': (3,)}\n", 48, CKPT_E_UNSUPPORTED},
        {"{'descr': '<M8[lightyears]', 'fortran_order': False, 'shape': (3,)}\n", 24, CKPT_E_FORMAT},
        {"{'descr': [('a', '<i4'), ('b', [('c', '<f8')])], 'fortran_order': False, 'shape': (1,)}\n", 12,
         CKPT_OK},
        {"{'descr': [('a', '<i4'), ('b')], 'fortran_order': False, 'shape': (1,)}\n", 12, CKPT_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), \n", 24, CKPT_E_FORMAT},
        {"{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}\n", 24, CKPT_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ckpt_status st = npy_with_header(cases[i].hdr, cases[i].data, &err);
        CHECKF(st == cases[i].want, "npy header %zu: %d want %d (%s)", i, st, cases[i].want, err.message);
    }
    /* nesting deeper than max_depth */
    char deep[8192];
    size_t k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{'descr': ");
    for (int i = 0; i < 2000; i++) deep[k++] = '[';
    deep[k] = 0;
    strcat(deep, "\n");
    CHECKF(npy_with_header(deep, 0, &err) == CKPT_E_LIMIT, "deep npy header: %s", err.message);
}

static void sidecar_escape(void) {
    size_t n;
    char *buf = tu_read_file(tu_model_path("numpy/jl_old_multi.pkl"), &n);
    CHECK(buf != NULL);
    if (!buf) return;
    /* "jl_old_multi.pkl_01.npy" -> "../old_multi.pkl_01.npy" (same length) */
    char *hit = memmem(buf, n, "jl_old_multi.pkl_01.npy", 23);
    CHECK(hit != NULL);
    if (hit) memcpy(hit, "../", 3);
    char tmpl[4096];
    int fd = tu_mkstemp(tmpl, sizeof tmpl, "ckpt_numpy_sidecar");
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, buf, n) == (ssize_t)n);
        close(fd);
        ckpt_file *f = NULL;
        ckpt_error err;
        ckpt_status st = ckpt_open(tmpl, NULL, &f, &err);
        CHECKF(st == CKPT_E_FORMAT, "sidecar '../' name: %d %s", st, err.message);
        if (f) ckpt_close(f);
        unlink(tmpl);
    }
    free(buf);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    bombs();
    const char *files[] = {"numpy/p2_arrays.pkl", "numpy/p4_arrays.pkl", "numpy/p5_arrays.pkl",
                           "numpy/jl_plain.joblib", "numpy/jl_nopad.joblib", "numpy/jl_zlib.joblib",
                           "numpy/jl_gzip.joblib", "numpy/jl_bz2.joblib", "numpy/jl_xz.joblib",
                           "numpy/jl_lzma.joblib", "numpy/jl_lz4.joblib", "numpy/jl_old_zf.pkl",
                           "numpy/npy_struct_nested.npy", "numpy/npy_v3_utf8.npy", "numpy/sk_forest.joblib"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) prefixes_and_flips(files[i]);
    npy_headers();
    sidecar_escape();
    return tu_finish();
}
