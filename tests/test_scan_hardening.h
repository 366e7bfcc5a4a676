/*
 * test_scan_hardening.h - hostile bytes and failing allocations, whole open
 * path and scanner:
 *  - every single-byte corruption of every model file under models/ smaller
 *    than CORRUPT_MAX bytes (all formats, benign fixtures and malicious
 *    samples): each byte in turn set to 0x00, to 0xff, to itself xor 0x80 and
 *    to itself + 1 (values equal to the original skipped) is opened once
 *    (arrays resolved, object items touched) and scanned once: each either
 *    succeeds or returns an error status with a message; no crash, no
 *    sanitizer report, no leak (LSan at exit); bounded time is the ctest
 *    timeout (the slowest input is printed, no timing assertion);
 *  - allocation-failure injection on one representative file per format
 *    (pickle, joblib plain, joblib compressed, npy, npz, torch zip, legacy
 *    torch): a counting ckpt_allocator fails allocation k for every k below
 *    the count of a clean open (every k up to ALLOC_ALL, then ALLOC_ALL more
 *    spread over the rest); each open returns CKPT_E_NOMEM and nothing it
 *    allocated is left.  The same for ckpt_scan_memory.
 * The corruptions are split by a hash of the file name over CORRUPT_PARTS
 * tests (tests/test_scan_corrupt_<k>.c, run in parallel by ctest -j);
 * test_scan_hardening.c runs the allocation failures.
 * CKPT_HARDEN_ONLY=<substring> restricts the files (debugging).
 *
 * ASan: every input allocates afresh; with ASan's default 256 MB quarantine
 * each allocation lands on never-touched memory (page faults, fill), about
 * half of the run time.  These binaries ask for a 32 MB quarantine
 * (__asan_default_options below; ASAN_OPTIONS still overrides): a
 * use-after-free within one input (well under 32 MB of allocations) is still
 * caught.
 */
#ifndef CKPT_TEST_SCAN_HARDENING_H
#define CKPT_TEST_SCAN_HARDENING_H
#include "util_test.h"

#include <ckpt/ckpt_file.h>
#include <ckpt/ckpt_scan.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CORRUPT_MAX 1024   /* files smaller than this (bytes) are corrupted byte by byte */
#define CORRUPT_PARTS 4    /* tests/test_scan_corrupt_0.c .. _3.c */
#define ALLOC_ALL 400

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=32"; }
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int is_model(const char *name) {
    static const char *const suf[] = {".pkl", ".joblib", ".pt", ".bin", ".npy", ".npz", ".z"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suf / sizeof suf[0]; i++) {
        size_t m = strlen(suf[i]);
        if (n >= m && strcmp(name + n - m, suf[i]) == 0) return 1;
    }
    return 0;
}

/* open (default limits), touch everything, close; returns the open status */
static ckpt_status open_touch(const uint8_t *d, size_t n, const ckpt_allocator *a, int *bad) {
    ckpt_open_opts o = ckpt_open_opts_default();
    o.alloc = a;
    ckpt_file *f = NULL;
    ckpt_error e;
    ckpt_error_clear(&e);
    ckpt_status st = ckpt_open_memory(d, n, &o, &f, &e);
    if (st != CKPT_OK) {
        if (f || e.message[0] == '\0') *bad = 1;
        return st;
    }
    (void)ckpt_file_root(f);
    size_t na = ckpt_file_array_count(f);
    for (size_t i = 0; i < na; i++) {
        const ckpt_array_info *ai = ckpt_file_array(f, i);
        if (!ai) continue;
        if (ai->dtype && ai->dtype->type == CKPT_DT_OBJECT) {
            (void)ckpt_array_object_item(f, i, 0);
            continue;
        }
        const void *p = NULL;
        ckpt_error_clear(&e);
        if (ckpt_array_data(f, i, &p, &e) == CKPT_OK) {
            if (ai->nbytes && !p) *bad = 1;
        } else if (e.message[0] == '\0') {
            *bad = 1;
        }
    }
    ckpt_close(f);
    return st;
}

static void scan_one(const uint8_t *d, size_t n, int *bad) {
    ckpt_scan_report *r = NULL;
    ckpt_error e;
    ckpt_error_clear(&e);
    if (ckpt_scan_memory(d, n, NULL, &r, &e) != CKPT_OK) {
        *bad = 1; /* only NOMEM may fail a scan; verdicts carry everything else */
        return;
    }
    ckpt_scan_free(r);
}

typedef struct cstats {
    int files, bad;
    long long inputs, opened, slow; /* slow: inputs over 0.25 s */
    double slowest;
    char slow_name[512];
} cstats;

static void corrupt_file(cstats *cs, const char *rel) {
    size_t n = 0;
    uint8_t *orig = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    if (!orig) return;
    /* a private buffer of exactly n bytes: ASan sees any read past the end */
    uint8_t *d = malloc(n ? n : 1);
    memcpy(d, orig, n);
    cs->files++;
    for (size_t k = 0; k < n; k++) {
        uint8_t keep = d[k];
        const uint8_t vals[4] = {0x00, 0xff, (uint8_t)(keep ^ 0x80), (uint8_t)(keep + 1)};
        for (int v = 0; v < 4; v++) {
            int dup = vals[v] == keep;
            for (int u = 0; u < v; u++) dup |= vals[u] == vals[v];
            if (dup) continue;
            d[k] = vals[v];
            int bad = 0;
            double t0 = now();
            if (open_touch(d, n, NULL, &bad) == CKPT_OK) cs->opened++;
            scan_one(d, n, &bad);
            double dt = now() - t0;
            if (dt > 0.25) cs->slow++;
            if (dt > cs->slowest) {
                cs->slowest = dt;
                snprintf(cs->slow_name, sizeof cs->slow_name, "%s byte %zu = 0x%02x", rel, k, vals[v]);
            }
            cs->inputs++;
            if (bad) {
                cs->bad++;
                CHECKF(0, "%s: byte %zu set to 0x%02x: an error without a message or a failed scan",
                       rel, k, vals[v]);
            }
        }
        d[k] = keep;
    }
    free(d);
    free(orig);
}

typedef struct cfile {
    char *rel;
    long long size;
} cfile;

static int cfile_cmp(const void *a, const void *b) {
    const cfile *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1; /* biggest first */
    return strcmp(x->rel, y->rel);
}

/* Corrupt this part's share of the small model files under models/.  The
   files are dealt to CORRUPT_PARTS parts by estimated cost (an input costs
   about its size, a file has ~4 x size inputs: size^2), biggest first to
   the least loaded part, so the parts take about the same time; every part
   computes the same deal. */
static inline void test_corruptions(unsigned part) {
    cstats cs;
    memset(&cs, 0, sizeof cs);
    cfile *files = NULL;
    size_t nf = 0, capf = 0;
    char *stack[256];
    int sp = 0;
    stack[sp++] = strdup("");
    while (sp > 0) {
        char *dir = stack[--sp];
        DIR *dd = opendir(tu_model_path(dir));
        struct dirent *de;
        while (dd && (de = readdir(dd))) {
            if (de->d_name[0] == '.') continue;
            char rel[1024];
            snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", de->d_name);
            struct stat st;
            if (stat(tu_model_path(rel), &st) != 0) continue;
            if (S_ISDIR(st.st_mode)) {
                if (sp < 256) stack[sp++] = strdup(rel);
            } else if (is_model(de->d_name) && st.st_size > 0 && st.st_size < CORRUPT_MAX &&
                       (!getenv("CKPT_HARDEN_ONLY") || strstr(rel, getenv("CKPT_HARDEN_ONLY")))) {
                if (nf == capf) {
                    capf = capf ? capf * 2 : 256;
                    files = realloc(files, capf * sizeof *files);
                    if (!files) abort();
                }
                files[nf].rel = strdup(rel);
                files[nf++].size = (long long)st.st_size;
            }
        }
        if (dd) closedir(dd);
        free(dir);
    }
    qsort(files, nf, sizeof *files, cfile_cmp);
    long long load[CORRUPT_PARTS] = {0};
    long long bytes = 0;
    double t0 = now();
    for (size_t i = 0; i < nf; i++) {
        unsigned best = 0;
        for (unsigned k = 1; k < CORRUPT_PARTS; k++)
            if (load[k] < load[best]) best = k;
        load[best] += files[i].size * files[i].size;
        if (best == part) {
            corrupt_file(&cs, files[i].rel);
            bytes += files[i].size;
        }
        free(files[i].rel);
    }
    free(files);
    printf("corruptions part %u/%u: %d files < %d bytes (%lld bytes), %lld corrupted inputs opened "
           "and scanned (%lld still open), %.1f s, %lld inputs over 0.25 s, slowest %.4f s (%s)\n",
           part + 1, CORRUPT_PARTS, cs.files, CORRUPT_MAX, bytes, cs.inputs, cs.opened, now() - t0,
           cs.slow, cs.slowest, cs.slow_name);
    if (!getenv("CKPT_HARDEN_ONLY")) CHECK(cs.files > 0);
    CHECK_EQ_INT(cs.bad, 0);
}

/* ---- allocation failures ---- */

typedef struct counting {
    long long calls, fail_at, live, bad_size;
} counting;

#define HDR 16

static void *c_realloc(void *user, void *ptr, size_t old_size, size_t new_size) {
    counting *c = user;
    if (new_size == 0) {
        if (ptr) {
            uint8_t *h = (uint8_t *)ptr - HDR;
            size_t sz;
            memcpy(&sz, h, sizeof sz);
            if (sz != old_size) c->bad_size++;
            c->live--;
            free(h);
        }
        return NULL;
    }
    if (c->calls++ == c->fail_at) return NULL;
    uint8_t *h = NULL;
    if (ptr) {
        h = (uint8_t *)ptr - HDR;
        size_t prev;
        memcpy(&prev, h, sizeof prev);
        if (prev != old_size) c->bad_size++;
    }
    uint8_t *nh = realloc(h, new_size + HDR);
    if (!nh) return NULL;
    memcpy(nh, &new_size, sizeof new_size);
    if (!ptr) c->live++;
    return nh + HDR;
}

static void c_free(void *user, void *ptr, size_t size) {
    if (ptr) c_realloc(user, ptr, size, 0);
}

static ckpt_status open_counted(const uint8_t *d, size_t n, counting *c) {
    ckpt_allocator a = {c_realloc, c_free, c};
    ckpt_open_opts o = ckpt_open_opts_default();
    o.alloc = &a;
    ckpt_file *f = NULL;
    ckpt_error e;
    ckpt_error_clear(&e);
    ckpt_status st = ckpt_open_memory(d, n, &o, &f, &e);
    if (st == CKPT_OK) ckpt_close(f);
    return st;
}

static ckpt_status scan_counted(const uint8_t *d, size_t n, counting *c) {
    ckpt_allocator a = {c_realloc, c_free, c};
    ckpt_scan_opts o = ckpt_scan_opts_default();
    o.alloc = &a;
    ckpt_scan_report *r = NULL;
    ckpt_status st = ckpt_scan_memory(d, n, &o, &r, NULL);
    if (st == CKPT_OK) ckpt_scan_free(r);
    return st;
}

static void allocfail_one(const char *rel, int scan) {
    size_t n = 0;
    uint8_t *d = (uint8_t *)tu_read_file(tu_model_path(rel), &n);
    CHECKF(d != NULL, "%s readable", rel);
    if (!d) return;
    const char *what = scan ? "scan" : "open";
    counting c = {0, -1, 0, 0};
    ckpt_status st = scan ? scan_counted(d, n, &c) : open_counted(d, n, &c);
    CHECKF(st == CKPT_OK, "%s: clean %s fails (%s)", rel, what, ckpt_status_str(st));
    CHECKF(c.live == 0 && c.bad_size == 0, "%s: clean %s leaves %lld blocks, %lld wrong sizes", rel,
           what, c.live, c.bad_size);
    long long total = c.calls, tried = 0, wrong = 0, leaked = 0;
    long long step = total > 2 * ALLOC_ALL ? (total - ALLOC_ALL) / ALLOC_ALL : 1;
    for (long long k = 0; k < total; k += (k < ALLOC_ALL ? 1 : step)) {
        counting f = {0, k, 0, 0};
        ckpt_status s2 = scan ? scan_counted(d, n, &f) : open_counted(d, n, &f);
        tried++;
        if (s2 != CKPT_E_NOMEM) {
            if (wrong++ < 5)
                CHECKF(0, "%s: %s with allocation %lld failing returns %s, expected NOMEM", rel, what,
                       k, ckpt_status_str(s2));
        }
        if (f.live != 0 || f.bad_size != 0) {
            if (leaked++ < 5)
                CHECKF(0, "%s: %s with allocation %lld failing leaves %lld blocks (%lld wrong sizes)",
                       rel, what, k, f.live, f.bad_size);
        }
    }
    printf("allocfail %s %s: %lld allocations, %lld failure points tried, %lld not NOMEM, %lld leaking\n",
           what, rel, total, tried, wrong, leaked);
    CHECK(total > 0);
    free(d);
}

static inline void test_allocfail(void) {
    static const char *const files[] = {
        "pickles/p2_containers.pkl",      /* pickle */
        "pickles/p2_newobj_ex.pkl",       /* pickle: the scanner's NEWOBJ_EX pattern walk */
        "numpy/jl_plain.joblib",          /* joblib plain */
        "numpy/jl_zlib.joblib",           /* joblib compressed */
        "numpy/jl_lz4.joblib",
        "numpy/npy_struct.npy",           /* .npy */
        "numpy/npz_deflated.npz",         /* .npz */
        "torch/sd_linear.pt",             /* torch zip */
        "torch_legacy/legacy_p1.pt",      /* legacy torch */
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        allocfail_one(files[i], 0);
        allocfail_one(files[i], 1);
    }
}

#endif
