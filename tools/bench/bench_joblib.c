/*
 * bench_joblib.c - time ckpt_open + reaching every array's data pointer, and
 * (for compressed files) the codec's own decompression of the same bytes.
 *
 *   bench_joblib [-r REPEATS] FILE...
 *
 * Prints per file (tab separated): name, bytes, arrays, median open seconds,
 * median open+pointers seconds, median codec-only seconds (0 if
 * uncompressed), peak RSS in KiB of this process after the ckpt runs, median
 * codec-only seconds with transparent huge pages on its output buffer.  Run
 * one file per process for a meaningful peak.  Public API only.
 */
#include "ckpt/ckpt_file.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "bench_clock.h"

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    rewind(fp);
    unsigned char *b = malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, fp) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

/* The codec alone: decompress the whole file into one growing buffer
   (huge: with transparent huge pages asked for on it, as ckpt does). */
static double codec_only(const char *path, int huge) {
    unsigned char magic[4] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    size_t got = fread(magic, 1, 4, fp);
    fclose(fp);
    if (got < 4 || !(memcmp(magic, "\x04\x22\x4d\x18", 4) == 0 || magic[0] == 0x78 ||
                     (magic[0] == 0x1f && magic[1] == 0x8b)))
        return 0; /* not compressed: nothing to compare with (and no need to read it all) */
    size_t n;
    unsigned char *in = slurp(path, &n);
    if (!in) return 0;
    size_t cap = n * 4 + (1 << 20), len = 0;
    double t0 = bench_now();
    unsigned char *out = malloc(cap);
    if (huge) {
        uintptr_t h = (uintptr_t)2 << 20, a0 = ((uintptr_t)out + h - 1) & ~(h - 1), e = ((uintptr_t)out + cap) & ~(h - 1);
        if (e > a0) madvise((void *)a0, e - a0, MADV_HUGEPAGE);
    }
    if (n >= 4 && memcmp(in, "\x04\x22\x4d\x18", 4) == 0) {
        LZ4F_dctx *dc;
        LZ4F_createDecompressionContext(&dc, LZ4F_VERSION);
        size_t used = 0;
        for (;;) {
            if (len == cap) out = realloc(out, cap *= 2);
            size_t ia = n - used, oa = cap - len;
            size_t r = LZ4F_decompress(dc, out + len, &oa, in + used, &ia, NULL);
            used += ia;
            len += oa;
            if (LZ4F_isError(r) || r == 0) break;
        }
        LZ4F_freeDecompressionContext(dc);
    } else if (n >= 2 && (in[0] == 0x78 || (in[0] == 0x1f && in[1] == 0x8b))) {
        z_stream z;
        memset(&z, 0, sizeof z);
        inflateInit2(&z, in[0] == 0x78 ? 15 : 31);
        z.next_in = in;
        z.avail_in = (uInt)n;
        for (;;) {
            if (len == cap) out = realloc(out, cap *= 2);
            z.next_out = out + len;
            z.avail_out = (uInt)(cap - len);
            int r = inflate(&z, Z_NO_FLUSH);
            len = cap - z.avail_out;
            if (r != Z_OK) break;
        }
        inflateEnd(&z);
    } else {
        free(in);
        free(out);
        return 0;
    }
    double t = bench_now() - t0;
    free(in);
    free(out);
    return t;
}

#define MAX_REPS 101

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

int main(int argc, char **argv) {
    int reps = 5, a = 1;
    if (argc > 2 && !strcmp(argv[1], "-r")) {
        reps = atoi(argv[2]);
        if (reps < 1) reps = 1;
        if (reps > MAX_REPS) reps = MAX_REPS;
        a = 3;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: bench_joblib [-r REPEATS] FILE...\n");
        return 2;
    }
    for (; a < argc; a++) {
        double t_open[MAX_REPS], t_all[MAX_REPS], t_codec[MAX_REPS], t_huge[MAX_REPS];
        size_t arrays = 0;
        uint64_t bytes = 0;
        /* run -1: the peak RSS of ckpt alone (untimed); then ckpt and the codec
           alternately, so that a busy machine slows both alike */
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        for (int r = -1; r < reps; r++) {
            ckpt_file *f;
            ckpt_error err;
            double t0 = bench_now();
            if (ckpt_open(argv[a], NULL, &f, &err) != CKPT_OK) {
                fprintf(stderr, "bench_joblib: %s: %s\n", argv[a], err.message);
                return 1;
            }
            double t1 = bench_now();
            arrays = ckpt_file_array_count(f);
            for (size_t i = 0; i < arrays; i++) {
                const void *d;
                if (ckpt_file_array(f, i)->dtype->type == CKPT_DT_OBJECT) continue;
                if (ckpt_array_data(f, i, &d, &err) != CKPT_OK) {
                    fprintf(stderr, "bench_joblib: %s: %s\n", argv[a], err.message);
                    return 1;
                }
            }
            double t2 = bench_now();
            bytes = ckpt_file_size(f);
            ckpt_close(f);
            if (r < 0) {
                getrusage(RUSAGE_SELF, &ru); /* peak of ckpt, before the codec-only runs read the file */
                continue;
            }
            t_open[r] = t1 - t0;
            t_all[r] = t2 - t0;
            t_codec[r] = codec_only(argv[a], 0);
            t_huge[r] = codec_only(argv[a], 1);
        }
        const char *name = strrchr(argv[a], '/');
        printf("%s\t%llu\t%zu\t%.6f\t%.6f\t%.6f\t%ld\t%.6f\n", name ? name + 1 : argv[a], (unsigned long long)bytes,
               arrays, median(t_open, reps), median(t_all, reps), median(t_codec, reps), ru.ru_maxrss,
               median(t_huge, reps));
    }
    return 0;
}
