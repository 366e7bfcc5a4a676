/*
 * scan_codec.c - whole-stream decompression for the scanner, bounded by an
 * output budget (decompression bombs stop at the limit, flagged `over`).
 * gzip accepts several concatenated members like Python's gzip module.
 */
#include "scan_internal.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <string.h>
#include <zlib.h>

typedef struct obuf {
    ckpt__scan *s;
    uint8_t *p;
    size_t len, cap;
    uint64_t max;
    int over, nomem;
} obuf;

/* make room for at least one more byte; 0 when over budget or out of memory */
static int ob_room(obuf *o, size_t want) {
    if (o->cap - o->len >= want && o->cap > o->len) return 1;
    if (o->len >= o->max) {
        o->over = 1;
        return 0;
    }
    uint64_t nc = o->cap ? (uint64_t)o->cap * 2 : 65536;
    if (nc < o->len + want) nc = o->len + want;
    if (nc > o->max) nc = o->max;
    if (nc > SIZE_MAX) nc = SIZE_MAX;
    uint8_t *np = ckpt__realloc(&o->s->alloc, o->p, o->cap ? o->cap : 0, (size_t)nc);
    if (!np) {
        o->nomem = 1;
        return 0;
    }
    o->p = np;
    o->cap = (size_t)nc;
    return 1;
}

static ckpt_status zlib_like(obuf *o, const uint8_t *in, size_t n, int wbits, int multi,
                             ckpt_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, wbits) != Z_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "inflateInit failed");
    size_t pos = 0;
    ckpt_status rs = CKPT_OK;
    for (;;) {
        if (!ob_room(o, 1)) break;
        size_t inchunk = n - pos > (1u << 30) ? (1u << 30) : n - pos;
        size_t outchunk = o->cap - o->len > (1u << 30) ? (1u << 30) : o->cap - o->len;
        z.next_in = (Bytef *)(in + pos);
        z.avail_in = (uInt)inchunk;
        z.next_out = o->p + o->len;
        z.avail_out = (uInt)outchunk;
        int r = inflate(&z, Z_NO_FLUSH);
        pos += inchunk - z.avail_in;
        o->len += outchunk - z.avail_out;
        if (r == Z_STREAM_END) {
            /* another gzip member? */
            if (multi && n - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
                inflateReset(&z);
                continue;
            }
            break;
        }
        if (r == Z_BUF_ERROR && z.avail_in == 0 && pos >= n) {
            rs = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)pos, "compressed stream is truncated");
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            rs = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)pos, "inflate: %s", z.msg ? z.msg : "error");
            break;
        }
    }
    inflateEnd(&z);
    return rs;
}

static ckpt_status bz2(obuf *o, const uint8_t *in, size_t n, ckpt_error *err) {
    bz_stream z;
    memset(&z, 0, sizeof z);
    if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "bz2 init failed");
    size_t pos = 0;
    ckpt_status rs = CKPT_OK;
    for (;;) {
        if (!ob_room(o, 1)) break;
        size_t inchunk = n - pos > (1u << 30) ? (1u << 30) : n - pos;
        size_t outchunk = o->cap - o->len > (1u << 30) ? (1u << 30) : o->cap - o->len;
        z.next_in = (char *)(in + pos);
        z.avail_in = (unsigned)inchunk;
        z.next_out = (char *)(o->p + o->len);
        z.avail_out = (unsigned)outchunk;
        int r = BZ2_bzDecompress(&z);
        pos += inchunk - z.avail_in;
        o->len += outchunk - z.avail_out;
        if (r == BZ_STREAM_END) {
            if (n - pos >= 3 && memcmp(in + pos, "BZh", 3) == 0) {
                BZ2_bzDecompressEnd(&z);
                memset(&z, 0, sizeof z);
                if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "bz2 init failed");
                continue;
            }
            break;
        }
        if (r != BZ_OK) {
            rs = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)pos, "bz2 error %d", r);
            break;
        }
        if (pos >= n && z.avail_out != 0) {
            rs = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)pos, "bz2 stream is truncated");
            break;
        }
    }
    BZ2_bzDecompressEnd(&z);
    return rs;
}

static ckpt_status xz(obuf *o, const uint8_t *in, size_t n, int alone, ckpt_error *err) {
    lzma_stream z = LZMA_STREAM_INIT;
    lzma_ret r = alone ? lzma_alone_decoder(&z, CKPT__LZMA_MEMLIMIT)
                       : lzma_stream_decoder(&z, CKPT__LZMA_MEMLIMIT, LZMA_CONCATENATED);
    if (r != LZMA_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "lzma init failed");
    z.next_in = in;
    z.avail_in = n;
    ckpt_status rs = CKPT_OK;
    for (;;) {
        if (!ob_room(o, 1)) break;
        z.next_out = o->p + o->len;
        z.avail_out = o->cap - o->len;
        size_t before = z.avail_out;
        r = lzma_code(&z, z.avail_in ? LZMA_RUN : LZMA_FINISH);
        o->len += before - z.avail_out;
        if (r == LZMA_STREAM_END) break;
        if (r == LZMA_BUF_ERROR && z.avail_in == 0) {
            rs = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)(n - z.avail_in), "lzma stream is truncated");
            break;
        }
        if (r == LZMA_MEMLIMIT_ERROR) {
            rs = ckpt_error_set(err, CKPT_E_LIMIT, (int64_t)(n - z.avail_in),
                                "lzma stream needs more than %llu bytes of decoder memory",
                                (unsigned long long)CKPT__LZMA_MEMLIMIT);
            break;
        }
        if (r != LZMA_OK) {
            rs = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)(n - z.avail_in), "lzma error %d", (int)r);
            break;
        }
    }
    lzma_end(&z);
    return rs;
}

static ckpt_status lz4(obuf *o, const uint8_t *in, size_t n, ckpt_error *err) {
    LZ4F_dctx *d = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "lz4 init failed");
    size_t pos = 0;
    ckpt_status rs = CKPT_OK;
    for (;;) {
        if (!ob_room(o, 1)) break;
        size_t src = n - pos, dst = o->cap - o->len;
        size_t hint = LZ4F_decompress(d, o->p + o->len, &dst, in + pos, &src, NULL);
        pos += src;
        o->len += dst;
        if (LZ4F_isError(hint)) {
            rs = ckpt_error_set(err, CKPT_E_CODEC, (int64_t)pos, "lz4: %s", LZ4F_getErrorName(hint));
            break;
        }
        if (hint == 0) {
            if (pos < n && n - pos >= 4 && memcmp(in + pos, "\x04\x22\x4d\x18", 4) == 0) continue;
            break;
        }
        if (pos >= n && dst == 0) {
            rs = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)pos, "lz4 stream is truncated");
            break;
        }
    }
    LZ4F_freeDecompressionContext(d);
    return rs;
}

ckpt_status ckpt__scan_decompress(ckpt__scan *s, const char *codec, const uint8_t *in, size_t in_len,
                                  uint64_t max_out, uint8_t **out, size_t *out_len, int *over,
                                  ckpt_error *err) {
    obuf o = {s, NULL, 0, 0, max_out, 0, 0};
    ckpt_status st;
    if (strcmp(codec, "gzip") == 0) st = zlib_like(&o, in, in_len, 16 + 15, 1, err);
    else if (strcmp(codec, "zlib") == 0) st = zlib_like(&o, in, in_len, 15, 0, err);
    else if (strcmp(codec, "deflate") == 0) st = zlib_like(&o, in, in_len, -15, 0, err);
    else if (strcmp(codec, "bz2") == 0) st = bz2(&o, in, in_len, err);
    else if (strcmp(codec, "xz") == 0) st = xz(&o, in, in_len, 0, err);
    else if (strcmp(codec, "lzma") == 0) st = xz(&o, in, in_len, 1, err);
    else if (strcmp(codec, "lz4") == 0) st = lz4(&o, in, in_len, err);
    else st = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "codec %s not supported", codec);
    if (o.nomem) {
        ckpt__free(&s->alloc, o.p, o.cap);
        *out = NULL;
        *out_len = 0;
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory while decompressing");
    }
    /* shrink to the exact length so the caller frees (p, len) */
    if (o.p && o.len != o.cap) {
        if (o.len == 0) {
            ckpt__free(&s->alloc, o.p, o.cap);
            o.p = NULL;
        } else {
            uint8_t *np = ckpt__realloc(&s->alloc, o.p, o.cap, o.len);
            if (!np) {
                ckpt__free(&s->alloc, o.p, o.cap);
                *out = NULL;
                *out_len = 0;
                return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory while decompressing");
            }
            o.p = np;
        }
    }
    *out = o.p;
    *out_len = o.len;
    *over = o.over;
    return st;
}
