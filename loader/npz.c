/*
 * npz.c - .npz archives (np.savez / np.savez_compressed): a zip of .npy
 * members.  ckpt__open_zip (zip.c) hands over the libzip archive when every
 * member is a .npy; each member "NAME.npy" becomes the array "NAME".
 *
 * Stored members are described in place: the .npy header is parsed from the
 * mapping at the member's data offset (read from its local header, found
 * through the central directory, ZIP64 included) and the data are handed out
 * zero-copy when aligned.  Deflated members: at open only the .npy header is
 * inflated; the data are inflated at ckpt_array_data() straight into a 64-byte
 * aligned buffer, bounded by limits.max_decompressed and the member's
 * declared size, and the member's CRC-32 is checked.
 */
#include "numpy_internal.h"
#include "pickle_internal.h" /* ckpt__g_alloc: per-member records in the graph arena */
#include "zip_lib.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define NPZ_EOCD_SCAN (65535u + 22u)
#define NPZ_INFLATE_CHUNK ((size_t)1 << 20)

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

typedef struct npz_member {
    uint64_t data_off;     /* compressed data in f->map */
    uint64_t comp_size, size;
    uint32_t crc;
    uint64_t npy_off;      /* offset of the array data inside the uncompressed member */
} npz_member;

/* Local header offsets of the central directory entries, in order. */
static ckpt_status central_offsets(ckpt_file *f, uint64_t *offs, uint64_t n, ckpt_error *err) {
    const uint8_t *m = f->map;
    size_t len = f->map_len;
    if (len < 22) return ckpt_error_set(err, CKPT_E_TRUNCATED, -1, "npz: no end of central directory");
    size_t lo = len > NPZ_EOCD_SCAN ? len - NPZ_EOCD_SCAN : 0, e = len - 22 + 1;
    while (e-- > lo)
        if (memcmp(m + e, "PK\5\6", 4) == 0) break;
    if (e < lo || memcmp(m + e, "PK\5\6", 4) != 0)
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: no end of central directory");
    uint64_t cd = rd32(m + e + 16), count = rd16(m + e + 10);
    if ((cd == 0xFFFFFFFFu || count == 0xFFFF) && e >= 20 && memcmp(m + e - 20, "PK\6\7", 4) == 0) {
        uint64_t z64 = rd64(m + e - 20 + 8);
        if (z64 > len || len - z64 < 56 || memcmp(m + z64, "PK\6\6", 4) != 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)z64, "npz: bad ZIP64 end record");
        count = rd64(m + z64 + 32);
        cd = rd64(m + z64 + 48);
    }
    if (count < n) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: central directory has too few entries");
    uint64_t p = cd;
    for (uint64_t i = 0; i < n; i++) {
        if (p > len || len - p < 46 || memcmp(m + p, "PK\1\2", 4) != 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)p, "npz: bad central directory entry %llu",
                                  (unsigned long long)i);
        uint64_t nl = rd16(m + p + 28), xl = rd16(m + p + 30), cl = rd16(m + p + 32);
        uint64_t off = rd32(m + p + 42);
        if (len - p - 46 < nl + xl + cl)
            return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)p, "npz: truncated central directory");
        if (off == 0xFFFFFFFFu) { /* ZIP64 extra: [size][comp][offset] present when saturated */
            const uint8_t *x = m + p + 46 + nl, *xe = x + xl;
            int found = 0;
            while (xe - x >= 4) {
                uint16_t id = rd16(x), sz = rd16(x + 2);
                if ((size_t)(xe - x - 4) < sz) break;
                if (id == 1) {
                    size_t k = 0;
                    if (rd32(m + p + 24) == 0xFFFFFFFFu) k += 8;
                    if (rd32(m + p + 20) == 0xFFFFFFFFu) k += 8;
                    if (k + 8 <= sz) {
                        off = rd64(x + 4 + k);
                        found = 1;
                    }
                    break;
                }
                x += 4 + sz;
            }
            if (!found) return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)p, "npz: ZIP64 offset missing");
        }
        offs[i] = off;
        p += 46 + nl + xl + cl;
    }
    return CKPT_OK;
}

/* Inflate (raw deflate) from `in` into out[0..want), skipping the first
   `skip` output bytes; on success *crc is updated over skip+want bytes and
   *done tells whether the stream ended exactly there. */
static ckpt_status inflate_part(const uint8_t *in, uint64_t in_len, uint64_t skip, uint8_t *out,
                                uint64_t want, int need_end, uint32_t *crc, ckpt_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "npz: inflate init failed");
    uint8_t scratch[4096];
    uint64_t produced = 0, used = 0, total = skip + want;
    uLong c = crc32(0L, Z_NULL, 0);
    ckpt_status st = CKPT_OK;
    int ended = 0;
    while (produced < total || (need_end && !ended)) {
        uint8_t *dst;
        size_t room;
        if (produced < skip) {
            dst = scratch;
            room = skip - produced < sizeof scratch ? (size_t)(skip - produced) : sizeof scratch;
        } else if (produced < total) {
            dst = out + (produced - skip);
            room = total - produced < NPZ_INFLATE_CHUNK ? (size_t)(total - produced) : NPZ_INFLATE_CHUNK;
        } else {
            dst = scratch; /* must be nothing left */
            room = 1;
        }
        size_t ia = in_len - used < NPZ_INFLATE_CHUNK ? (size_t)(in_len - used) : NPZ_INFLATE_CHUNK;
        z.next_in = (Bytef *)(uintptr_t)(in + used);
        z.avail_in = (uInt)ia;
        z.next_out = dst;
        z.avail_out = (uInt)room;
        int r = inflate(&z, Z_NO_FLUSH);
        used += ia - z.avail_in;
        size_t got = room - z.avail_out;
        if (produced >= total && got) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: member inflates to more than its declared size");
            break;
        }
        c = crc32(c, dst, (uInt)got);
        produced += got;
        if (r == Z_STREAM_END) {
            ended = 1;
            if (produced < total) st = ckpt_error_set(err, CKPT_E_TRUNCATED, -1, "npz: member inflates to less than its declared size");
            break;
        }
        if (r == Z_BUF_ERROR && used == in_len && got == 0) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, -1, "npz: deflated member is truncated");
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            st = ckpt_error_set(err, CKPT_E_CODEC, -1, "npz: %s", z.msg ? z.msg : "corrupt deflate data");
            break;
        }
    }
    inflateEnd(&z);
    if (crc) *crc = (uint32_t)c;
    return st;
}

static ckpt_status deflated_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    const npz_member *mb = a->fmt;
    if (mb->size > f->limits.max_decompressed)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "npz: member of %llu bytes exceeds max_decompressed",
                              (unsigned long long)mb->size);
    ckpt_status st = ckpt__array_copy_in(f, a, NULL, a->info.nbytes, 0, err);
    if (st != CKPT_OK) return st;
    uint32_t crc;
    uint64_t rest = mb->size - mb->npy_off; /* array bytes plus anything after them */
    if (rest != a->info.nbytes) {
        ckpt_error_member(err, a->info.member);
        return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: member '%s' holds %llu data bytes, shape needs %llu",
                              a->info.member, (unsigned long long)rest, (unsigned long long)a->info.nbytes);
    }
    st = inflate_part(f->map + mb->data_off, mb->comp_size, mb->npy_off, a->copy, a->info.nbytes, 1, &crc, err);
    if (st == CKPT_OK && crc != mb->crc)
        st = ckpt_error_set(err, CKPT_E_CRC, -1, "npz: CRC mismatch in member '%s'", a->info.member);
    if (st != CKPT_OK) {
        ckpt_error_member(err, a->info.member);
        return st;
    }
    st = ckpt__dtype_byteswap(f, a->info.dtype, a->copy, a->info.nelems, err);
    if (st != CKPT_OK) return st;
    a->data = a->copy;
    a->info.state = CKPT_DATA_COPIED;
    return CKPT_OK;
}

ckpt_status ckpt__open_npz(ckpt_file *f, void *za_, ckpt_error *err) {
    zip_t *za = za_;
    /* a caller's own zip_t (tests make one): the table must be there too */
    ckpt_status ls = ckpt__zip_lib_load("to read an .npz archive", err);
    if (ls != CKPT_OK) return ls;
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: cannot list members");
    if ((uint64_t)n > f->limits.max_arrays)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "npz: %lld members", (long long)n);
    f->format = CKPT_FMT_NPZ;
    if (!f->graph) {
        ckpt_status st = ckpt_graph_new(&f->limits, &f->alloc, 0, &f->graph);
        if (st != CKPT_OK) return ckpt_error_set(err, st, -1, "npz: cannot create the arena");
    }
    uint64_t *offs = ckpt__calloc(&f->alloc, (size_t)(n ? n : 1), sizeof *offs);
    if (!offs) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "npz: out of memory");
    ckpt_status st = central_offsets(f, offs, (uint64_t)n, err);
    for (zip_int64_t i = 0; st == CKPT_OK && i < n; i++) {
        zip_stat_t sb;
        zip_stat_init(&sb);
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_NAME) ||
            !(sb.valid & ZIP_STAT_SIZE) || !(sb.valid & ZIP_STAT_COMP_SIZE) || !(sb.valid & ZIP_STAT_COMP_METHOD)) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: cannot stat member %lld", (long long)i);
            break;
        }
        const uint8_t *m = f->map;
        uint64_t lh = offs[i];
        if (lh > f->map_len || f->map_len - lh < 30 || memcmp(m + lh, "PK\3\4", 4) != 0) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)lh, "npz: bad local header of '%s'", sb.name);
            break;
        }
        uint64_t data_off = lh + 30 + rd16(m + lh + 26) + rd16(m + lh + 28);
        if (data_off > f->map_len || f->map_len - data_off < sb.comp_size) {
            ckpt_error_member(err, sb.name);
            st = ckpt_error_set(err, CKPT_E_BOUNDS, (int64_t)data_off, "npz: member '%s' runs past the end", sb.name);
            break;
        }
        size_t nl = strlen(sb.name);
        char *path = ckpt__g_alloc(f->graph, nl + 1);
        npz_member *mb = ckpt__g_alloc(f->graph, sizeof *mb);
        if (!path || !mb) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "npz: out of memory");
            break;
        }
        memcpy(path, sb.name, nl + 1);
        const char *member = path; /* the member name; the array path drops ".npy" */
        char *apath = ckpt__g_alloc(f->graph, nl + 1);
        if (!apath) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "npz: out of memory");
            break;
        }
        memcpy(apath, sb.name, nl + 1);
        if (nl > 4 && strcmp(apath + nl - 4, ".npy") == 0) apath[nl - 4] = 0;
        ckpt__npy_header h;
        ckpt__array *a = NULL;
        if (sb.comp_method == ZIP_CM_STORE) {
            if (sb.comp_size != sb.size) {
                st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)data_off, "npz: stored member '%s' sizes differ", member);
                break;
            }
            st = ckpt__npy_parse(f, m + data_off, (size_t)sb.size, &h, err);
            if (st == CKPT_OK)
                st = ckpt__npy_add(f, apath, NULL, &h, m + data_off + h.data_off, sb.size - h.data_off, member, &a, err);
            if (st == CKPT_OK && a) a->info.file_offset = data_off + h.data_off;
        } else if (sb.comp_method == ZIP_CM_DEFLATE) {
            /* inflate just enough for the header */
            uint8_t head[12];
            uint64_t hn = sb.size < sizeof head ? sb.size : sizeof head;
            st = inflate_part(m + data_off, sb.comp_size, 0, head, hn, 0, NULL, err);
            if (st != CKPT_OK) break;
            uint64_t hl = 0;
            if (hn >= 10 && head[6] == 1) hl = 10 + (uint64_t)rd16(head + 8);
            else if (hn >= 12) hl = 12 + (uint64_t)rd32(head + 8);
            if (hl == 0 || hl > CKPT__NPY_MAX_HEADER + 12 || hl > sb.size) {
                st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "npz: member '%s' is not a .npy", member);
                break;
            }
            uint8_t *hb = ckpt__malloc(&f->alloc, (size_t)hl);
            if (!hb) {
                st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "npz: out of memory");
                break;
            }
            st = inflate_part(m + data_off, sb.comp_size, 0, hb, hl, 0, NULL, err);
            if (st == CKPT_OK) st = ckpt__npy_parse(f, hb, (size_t)hl, &h, err);
            ckpt__free(&f->alloc, hb, (size_t)hl);
            if (st != CKPT_OK) break;
            /* describe the array without data; the resolver inflates it */
            st = ckpt__npy_add(f, apath, NULL, &h, (const uint8_t *)"", sb.size - h.data_off, member, &a, err);
            if (st == CKPT_OK && a && a->info.state == CKPT_DATA_UNRESOLVED) {
                mb->data_off = data_off;
                mb->comp_size = sb.comp_size;
                mb->size = sb.size;
                mb->crc = (sb.valid & ZIP_STAT_CRC) ? sb.crc : 0;
                mb->npy_off = h.data_off;
                a->src = NULL;
                a->src_len = 0;
                a->fmt = mb;
                a->resolve = deflated_resolve;
                a->info.will_copy = 1;
                a->info.note = "deflated .npz member: inflated into an aligned buffer";
            }
        } else {
            st = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "npz: member '%s' uses compression method %u",
                                member, (unsigned)sb.comp_method);
        }
        if (st != CKPT_OK) ckpt_error_member(err, member);
    }
    ckpt__free(&f->alloc, offs, (size_t)(n ? n : 1) * sizeof *offs);
    return st;
}
