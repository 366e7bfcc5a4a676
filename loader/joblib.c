/*
 * joblib.c - compressed joblib files: the whole pickle stream (with joblib's
 * inline array bytes) is wrapped in zlib, gzip, bz2, xz, raw lzma ("alone")
 * or an lz4 frame; pre-0.10 files use "ZF" + the decompressed length in hex
 * (padded to 19 characters, sometimes one more space) + a zlib stream.
 *
 * The stream is decompressed into ONE buffer that grows by doubling and may
 * never exceed limits.max_decompressed (a decompression bomb is CKPT_E_LIMIT,
 * found while inflating, before the memory is spent).  That buffer then
 * replaces the file bytes (f->map, owned by the handle; the original mapping
 * is released) and the pickle reader runs over it.  Arrays inside it are
 * already private copies: handed out in place when 64-aligned, else copied.
 */
#include "numpy_internal.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#define JL_ZF_HEADER 21u                /* "ZF" + 19 characters of hex length */
#define JL_MIN_OUT ((size_t)1 << 16)    /* first output buffer */
#define JL_CHUNK ((size_t)1 << 30)      /* most bytes handed to a codec call */
/* Largest output per input byte of the codecs whose containers declare a
   size: a declared size beyond it is a lie and is not used to presize. */
#define JL_MAX_RATIO_DEFLATE 1032u
#define JL_MAX_RATIO_LZ4 256u

static uint32_t rd32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct outbuf {
    ckpt_file *f;
    uint8_t *p;
    size_t len, cap;
} outbuf;

/* The output buffer is written once, front to back: with the default
   allocator ask for transparent huge pages, so that filling 100 MB costs 50
   page faults instead of 25 000 (on virtual machines a fault costs tens of
   microseconds: that, not the codec, dominated decompression). */
static void want_huge_pages(outbuf *o) {
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;
    if (o->f->alloc.realloc_fn || o->cap < 2 * huge) return;
    uintptr_t a = ((uintptr_t)o->p + huge - 1) & ~(uintptr_t)(huge - 1);
    uintptr_t e = ((uintptr_t)o->p + o->cap) & ~(uintptr_t)(huge - 1);
    if (e > a) madvise((void *)a, (size_t)(e - a), MADV_HUGEPAGE);
#else
    (void)o;
#endif
}

/* Make room for at least one more byte: double, bounded by the limit. */
static ckpt_status grow(outbuf *o, ckpt_error *err) {
    uint64_t lim = o->f->limits.max_decompressed;
    if (o->cap >= lim)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1,
                              "decompressed data exceed the limit of %llu bytes (max_decompressed)",
                              (unsigned long long)lim);
    uint64_t nc = o->cap ? (uint64_t)o->cap * 2 : JL_MIN_OUT;
    if (nc > lim) nc = lim;
    if (nc > SIZE_MAX / 2) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "decompression buffer too large");
    uint8_t *np = ckpt__realloc(&o->f->alloc, o->p, o->cap, (size_t)nc);
    if (!np)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "cannot allocate %llu bytes to decompress",
                              (unsigned long long)nc);
    o->p = np;
    o->cap = (size_t)nc;
    want_huge_pages(o);
    return CKPT_OK;
}

/* First buffer: the expected size when the container says (ZF header, gzip
   ISIZE, lz4 content size) or 4x the input, within the limit; +1 so that the
   end of the stream is seen without another doubling. */
static ckpt_status presize(outbuf *o, uint64_t hint, ckpt_error *err) {
    uint64_t lim = o->f->limits.max_decompressed;
    if (hint < JL_MIN_OUT) hint = JL_MIN_OUT;
    if (hint >= lim) hint = lim;
    else hint++;
    if (hint > SIZE_MAX / 2) hint = SIZE_MAX / 2;
    o->p = ckpt__realloc(&o->f->alloc, NULL, 0, (size_t)hint);
    if (!o->p) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "cannot allocate %llu bytes to decompress",
                                     (unsigned long long)hint);
    o->cap = (size_t)hint;
    want_huge_pages(o);
    return CKPT_OK;
}

static ckpt_status run_zlib(outbuf *o, const uint8_t *in, size_t n, int window, ckpt_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, window) != Z_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "zlib: init failed");
    ckpt_status st = CKPT_OK;
    size_t used = 0;
    for (;;) {
        if (o->len == o->cap && (st = grow(o, err)) != CKPT_OK) break;
        size_t ia = n - used < JL_CHUNK ? n - used : JL_CHUNK, oa = o->cap - o->len < JL_CHUNK ? o->cap - o->len : JL_CHUNK;
        z.next_in = (Bytef *)(uintptr_t)(in + used);
        z.avail_in = (uInt)ia;
        z.next_out = o->p + o->len;
        z.avail_out = (uInt)oa;
        int r = inflate(&z, Z_NO_FLUSH);
        used += ia - z.avail_in;
        o->len += oa - z.avail_out;
        if (r == Z_STREAM_END) break;
        if (r == Z_BUF_ERROR && used == n && z.avail_out != 0) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)used, "zlib: compressed stream is truncated");
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            st = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)used, "zlib: %s", z.msg ? z.msg : "corrupt data");
            break;
        }
    }
    inflateEnd(&z);
    return st;
}

static ckpt_status run_bz2(outbuf *o, const uint8_t *in, size_t n, ckpt_error *err) {
    bz_stream b;
    memset(&b, 0, sizeof b);
    if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "bz2: init failed");
    ckpt_status st = CKPT_OK;
    size_t used = 0;
    for (;;) {
        if (o->len == o->cap && (st = grow(o, err)) != CKPT_OK) break;
        size_t ia = n - used < JL_CHUNK ? n - used : JL_CHUNK, oa = o->cap - o->len < JL_CHUNK ? o->cap - o->len : JL_CHUNK;
        b.next_in = (char *)(uintptr_t)(in + used);
        b.avail_in = (unsigned)ia;
        b.next_out = (char *)(o->p + o->len);
        b.avail_out = (unsigned)oa;
        int r = BZ2_bzDecompress(&b);
        used += ia - b.avail_in;
        o->len += oa - b.avail_out;
        if (r == BZ_STREAM_END) break;
        if (r != BZ_OK) {
            st = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)used, "bz2: corrupt data (%d)", r);
            break;
        }
        if (used == n && b.avail_out != 0) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)used, "bz2: compressed stream is truncated");
            break;
        }
    }
    BZ2_bzDecompressEnd(&b);
    return st;
}

static ckpt_status run_lzma(outbuf *o, const uint8_t *in, size_t n, int alone, ckpt_error *err) {
    lzma_stream z = LZMA_STREAM_INIT;
    uint64_t memlimit = CKPT__LZMA_MEMLIMIT < o->f->limits.max_memory ? CKPT__LZMA_MEMLIMIT : o->f->limits.max_memory;
    lzma_ret r = alone ? lzma_alone_decoder(&z, memlimit) : lzma_stream_decoder(&z, memlimit, 0);
    if (r != LZMA_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "lzma: init failed");
    ckpt_status st = CKPT_OK;
    z.next_in = in;
    z.avail_in = n;
    for (;;) {
        if (o->len == o->cap && (st = grow(o, err)) != CKPT_OK) break;
        size_t oa = o->cap - o->len;
        z.next_out = o->p + o->len;
        z.avail_out = oa;
        r = lzma_code(&z, LZMA_FINISH);
        o->len += oa - z.avail_out;
        if (r == LZMA_STREAM_END) break;
        if (r == LZMA_BUF_ERROR && z.avail_out != 0) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)(n - z.avail_in), "lzma: compressed stream is truncated");
            break;
        }
        if (r == LZMA_MEMLIMIT_ERROR) {
            st = ckpt_error_set(err, CKPT_E_LIMIT, (int64_t)(n - z.avail_in),
                                "lzma: the stream's dictionary needs more than %llu bytes of decoder memory",
                                (unsigned long long)memlimit);
            break;
        }
        if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
            st = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)(n - z.avail_in), "lzma: corrupt data (%d)", (int)r);
            break;
        }
    }
    lzma_end(&z);
    return st;
}

static ckpt_status run_lz4(outbuf *o, const uint8_t *in, size_t n, ckpt_error *err) {
    LZ4F_dctx *dc;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION)))
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "lz4: init failed");
    ckpt_status st = CKPT_OK;
    size_t used = 0;
    for (;;) {
        if (o->len == o->cap && (st = grow(o, err)) != CKPT_OK) break;
        size_t ia = n - used, oa = o->cap - o->len;
        size_t r = LZ4F_decompress(dc, o->p + o->len, &oa, in + used, &ia, NULL);
        used += ia;
        o->len += oa;
        if (LZ4F_isError(r)) {
            st = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)used, "lz4: %s", LZ4F_getErrorName(r));
            break;
        }
        if (r == 0) break; /* frame complete */
        if (used == n && oa == 0 && o->len < o->cap) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)used, "lz4: compressed stream is truncated");
            break;
        }
    }
    LZ4F_freeDecompressionContext(dc);
    return st;
}

ckpt_status ckpt__open_joblib_compressed(ckpt_file *f, ckpt_error *err) {
    const uint8_t *in = f->map;
    size_t n = f->map_len;
    const char *codec = f->codec ? f->codec : "";
    outbuf o = {f, NULL, 0, 0};
    ckpt_status st;
    uint64_t declared = 0;
    int zf = f->format == CKPT_FMT_JOBLIB_ZLIB_OLD;
    uint64_t hint = n > UINT64_MAX / 4 ? UINT64_MAX : (uint64_t)n * 4;
    if (!strcmp(codec, "gzip") && n >= 18) {
        uint64_t isize = rd32le(in + n - 4); /* size mod 2^32: a hint only */
        /* trusted only when deflate could produce it from n bytes (a truncated
           or hostile stream ends in any 4 bytes: never allocate for those) */
        if (isize > hint && isize / JL_MAX_RATIO_DEFLATE <= n) hint = isize;
    } else if (!strcmp(codec, "lz4")) {
        LZ4F_dctx *dc;
        if (!LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION))) {
            LZ4F_frameInfo_t fi;
            size_t consumed = n;
            if (!LZ4F_isError(LZ4F_getFrameInfo(dc, &fi, in, &consumed)) && fi.contentSize)
                if (fi.contentSize / JL_MAX_RATIO_LZ4 <= n) hint = fi.contentSize;
            LZ4F_freeDecompressionContext(dc);
        }
    }
    if (zf) {
        if (n < JL_ZF_HEADER) return ckpt_error_set(err, CKPT_E_TRUNCATED, 0, "ZF: truncated header");
        for (size_t i = 2; i < JL_ZF_HEADER; i++) { /* "0x..." then spaces */
            char c = (char)in[i];
            if (i < 4) {
                if (c != "0x"[i - 2]) return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)i, "ZF: bad length");
                continue;
            }
            if (c == ' ') continue;
            int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (h < 0 || declared >> 60) return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)i, "ZF: bad length");
            declared = declared * 16 + (uint64_t)h;
        }
        size_t start = JL_ZF_HEADER;
        if (start < n && in[start] == ' ') start++; /* joblib <= 0.8.4 wrote one more */
        if (declared > f->limits.max_decompressed)
            return ckpt_error_set(err, CKPT_E_LIMIT, 2, "ZF: declared size %llu exceeds max_decompressed",
                                  (unsigned long long)declared);
        st = presize(&o, declared / JL_MAX_RATIO_DEFLATE <= n ? declared : hint, err);
        if (st == CKPT_OK) st = run_zlib(&o, in + start, n - start, 15, err);
    } else if ((st = presize(&o, hint, err)) != CKPT_OK) {
        return st;
    } else if (!strcmp(codec, "zlib")) {
        st = run_zlib(&o, in, n, 15, err);
    } else if (!strcmp(codec, "gzip")) {
        st = run_zlib(&o, in, n, 16 + 15, err);
    } else if (!strcmp(codec, "bz2")) {
        st = run_bz2(&o, in, n, err);
    } else if (!strcmp(codec, "xz")) {
        st = run_lzma(&o, in, n, 0, err);
    } else if (!strcmp(codec, "lzma")) {
        st = run_lzma(&o, in, n, 1, err);
    } else if (!strcmp(codec, "lz4")) {
        st = run_lz4(&o, in, n, err);
    } else {
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, 0, "joblib: unknown codec '%s'", codec);
    }
    if (st == CKPT_OK && zf && o.len != declared)
        st = ckpt_error_set(err, CKPT_E_FORMAT, 2, "ZF: %zu bytes decompressed, header says %llu", o.len,
                            (unsigned long long)declared);
    if (st != CKPT_OK) {
        ckpt__free(&f->alloc, o.p, o.cap);
        return st;
    }
    /* the decompressed bytes become the file bytes */
    if (f->is_mmap && f->map) munmap((void *)(uintptr_t)f->map, f->map_len);
    else if (f->owned) ckpt__free(&f->alloc, f->owned, f->owned_len);
    f->is_mmap = 0;
    f->owned = o.p ? o.p : NULL;
    f->owned_len = o.cap;
    f->map = o.p ? o.p : (const uint8_t *)"";
    f->map_len = o.len;
    char v[64];
    snprintf(v, sizeof v, "%zu", o.len);
    if (ckpt__file_add_fact(f, "decompressed bytes", v) != CKPT_OK)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    if (o.len == 0) return ckpt_error_set(err, CKPT_E_TRUNCATED, 0, "joblib: empty decompressed stream");
    return ckpt__open_pickle(f, err);
}
