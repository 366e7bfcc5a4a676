/*
 * scan_zip.c - every member of a zip archive, read through the central
 * directory and checked against its local header.
 *
 * Anomalies are findings: local and central names or flags or methods that
 * differ (readers disagree on what the member is), encryption, unknown
 * compression methods, sizes or CRCs that do not match, members out of
 * bounds, duplicate names, bytes before the first member.  Every member is
 * then scanned by its content, whatever its name: a pickle (names *.pkl /
 * *.pickle must parse; any other member counts only if it is a complete
 * pickle, or for DANGEROUS globals), a .npy, a nested zip.
 */
#include "scan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (rd16(p + 2) << 16); }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

#define EOCD_MIN 22u
#define EOCD_SEARCH (EOCD_MIN + 65535u)

/* offset of the EOCD record, or -1 */
static int64_t find_eocd(const uint8_t *b, size_t len) {
    if (len < EOCD_MIN) return -1;
    size_t lo = len > EOCD_SEARCH ? len - EOCD_SEARCH : 0;
    for (size_t i = len - EOCD_MIN + 1; i-- > lo;) {
        if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 5 && b[i + 3] == 6) {
            uint32_t clen = rd16(b + i + 20);
            if (i + EOCD_MIN + clen <= len) return (int64_t)i;
        }
    }
    return -1;
}

int ckpt__scan_has_eocd(const uint8_t *buf, size_t len) {
    int64_t e = find_eocd(buf, len);
    if (e < 0) return 0;
    uint64_t size = rd32(buf + e + 12), off = rd32(buf + e + 16);
    /* consistent directory only (random bytes rarely are) */
    return off + size <= (uint64_t)e && off + 4 <= (uint64_t)e &&
           (size == 0 || memcmp(buf + off, "PK\x01\x02", 4) == 0);
}

typedef struct zent {
    uint64_t hash;
    size_t idx;
    const uint8_t *name;
    size_t nlen;
} zent;

static int cmp_zent(const void *a, const void *b) {
    const zent *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static void scan_member(ckpt__scan *s, const uint8_t *d, size_t n, const char *inner,
                        const char *base) {
    int named_pickle = ends_with(base, ".pkl") || ends_with(base, ".pickle") ||
                       strcmp(base, "data.pkl") == 0;
    s->depth++;
    if (named_pickle) {
        ckpt__scan_stream(s, d, n, 0, inner, 0, 1);
    } else if (n >= 6 && memcmp(d, "\x93NUMPY", 6) == 0) {
        ckpt__scan_blob(s, d, n, inner);
    } else if (n >= 4 && d[0] == 'P' && d[1] == 'K' && d[2] == 3 && d[3] == 4) {
        ckpt__scan_blob(s, d, n, inner);
    } else if (n > 0) {
        ckpt__scan_stream(s, d, n, 0, inner, 0, 0);
    }
    s->depth--;
}

void ckpt__scan_zip(ckpt__scan *s, const uint8_t *b, size_t len, const char *member) {
    int64_t e = find_eocd(b, len);
    if (e < 0) {
        ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, -1, member,
                        "zip archive without an end-of-central-directory record");
        return;
    }
    uint64_t nent = rd16(b + e + 10), cdsize = rd32(b + e + 12), cdoff = rd32(b + e + 16);
    if (rd16(b + e + 4) != 0 || rd16(b + e + 6) != 0 || rd16(b + e + 8) != nent)
        ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, e, member,
                        "multi-disk zip archive");
    if ((nent == 0xffff || cdsize == 0xffffffffu || cdoff == 0xffffffffu) && e >= 20 &&
        memcmp(b + e - 20, "PK\x06\x07", 4) == 0) {
        uint64_t z = rd64(b + e - 20 + 8);
        if (z + 56 <= (uint64_t)e && memcmp(b + z, "PK\x06\x06", 4) == 0) {
            nent = rd64(b + z + 32);
            cdsize = rd64(b + z + 40);
            cdoff = rd64(b + z + 48);
        } else {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, e, member,
                            "zip64 end-of-directory record missing or out of bounds");
            return;
        }
    }
    uint64_t cdend;
    if (!ckpt__add_ok(cdoff, cdsize, &cdend) || cdend > len) {
        ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, e, member,
                        "zip central directory out of bounds");
        return;
    }
    if (nent > CKPT__SCAN_MAX_MEMBERS || nent > cdsize / 46 + 1) {
        ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, e, member,
                        "zip declares %llu members (limit %u or more than its directory holds)",
                        (unsigned long long)nent, CKPT__SCAN_MAX_MEMBERS);
        return;
    }
    zent *ents = nent ? ckpt__calloc(&s->alloc, (size_t)nent, sizeof *ents) : NULL;
    if (nent && !ents) {
        s->nomem = 1;
        return;
    }
    size_t nseen = 0;
    uint64_t pos = cdoff, first_local = UINT64_MAX;
    char esc[CKPT__SCAN_NAME_MAX * 4 + 1], lesc[CKPT__SCAN_NAME_MAX * 4 + 1];
    char inner[CKPT__SCAN_NAME_MAX * 4 + 256];
    for (uint64_t i = 0; i < nent && !s->nomem; i++) {
        if (pos + 46 > cdend || memcmp(b + pos, "PK\x01\x02", 4) != 0) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)pos, member,
                            "zip central directory entry %llu is malformed", (unsigned long long)i);
            break;
        }
        const uint8_t *c = b + pos;
        uint32_t flags = rd16(c + 8), method = rd16(c + 10), crc = rd32(c + 16);
        uint64_t csize = rd32(c + 20), usize = rd32(c + 24), lho = rd32(c + 42);
        uint32_t nl = rd16(c + 28), xl = rd16(c + 30), cl = rd16(c + 32);
        uint64_t next = pos + 46 + nl + xl + cl;
        if (next > cdend) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)pos, member,
                            "zip central directory entry %llu runs past the directory",
                            (unsigned long long)i);
            break;
        }
        const uint8_t *name = c + 46;
        /* zip64 extra field */
        for (uint64_t x = pos + 46 + nl; x + 4 <= pos + 46 + nl + xl;) {
            uint32_t id = rd16(b + x), sz = rd16(b + x + 2);
            if (x + 4 + sz > pos + 46 + nl + xl) break;
            if (id == 1) {
                const uint8_t *z = b + x + 4, *zend = z + sz;
                if (usize == 0xffffffffu && z + 8 <= zend) { usize = rd64(z); z += 8; }
                if (csize == 0xffffffffu && z + 8 <= zend) { csize = rd64(z); z += 8; }
                if (lho == 0xffffffffu && z + 8 <= zend) { lho = rd64(z); z += 8; }
            }
            x += 4 + sz;
        }
        pos = next;
        ckpt__scan_escape(name, nl, esc);
        if (strlen(esc) != nl) {
            /* non-printable or non-ASCII name: shown escaped */
        }
        if (member && *member)
            snprintf(inner, sizeof inner, "%s/%s", member, esc);
        else
            snprintf(inner, sizeof inner, "%s", esc);
        ents[nseen].hash = 1469598103934665603ull;
        for (uint32_t k = 0; k < nl; k++) ents[nseen].hash = (ents[nseen].hash ^ name[k]) * 1099511628211ull;
        ents[nseen].idx = nseen;
        ents[nseen].name = name;
        ents[nseen].nlen = nl;
        nseen++;

        /* local header */
        if (lho + 30 > len || memcmp(b + lho, "PK\x03\x04", 4) != 0) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "local header missing or out of bounds");
            continue;
        }
        if (lho < first_local) first_local = lho;
        const uint8_t *l = b + lho;
        uint32_t lflags = rd16(l + 6), lmethod = rd16(l + 8), lnl = rd16(l + 26), lxl = rd16(l + 28);
        if (lho + 30 + lnl + lxl > len) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "local header runs past the end");
            continue;
        }
        if (lnl != nl || memcmp(l + 30, name, nl) != 0) {
            ckpt__scan_escape(l + 30, lnl, lesc);
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "local header names the member '%s' (central directory and local header differ)",
                            lesc);
        }
        if ((lflags & ~8u) != (flags & ~8u) || lmethod != method)
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "local header flags/method (0x%x/%u) differ from the central directory (0x%x/%u)",
                            lflags, lmethod, flags, method);
        if (flags & 0x41) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "member is encrypted: its content cannot be checked");
            continue;
        }
        uint64_t dstart = lho + 30 + lnl + lxl, dend;
        if (!ckpt__add_ok(dstart, csize, &dend) || dend > len) {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "member data (%llu bytes) runs past the end", (unsigned long long)csize);
            continue;
        }
        const uint8_t *data = NULL;
        uint8_t *owned = NULL;
        size_t dlen = 0;
        if (method == 0) {
            if (csize != usize)
                ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                                "stored member with different sizes (%llu vs %llu)",
                                (unsigned long long)csize, (unsigned long long)usize);
            data = b + dstart;
            dlen = (size_t)csize;
        } else if (method == 8) {
            uint64_t budget = s->limits.max_decompressed > s->decompressed
                                  ? s->limits.max_decompressed - s->decompressed
                                  : 0;
            int over = 0;
            ckpt_error err;
            ckpt_error_clear(&err);
            ckpt_status st = ckpt__scan_decompress(s, "deflate", b + dstart, (size_t)csize, budget,
                                                   &owned, &dlen, &over, &err);
            if (st == CKPT_E_NOMEM) {
                s->nomem = 1;
                break;
            }
            if (st != CKPT_OK)
                ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)dstart,
                                inner, "deflate data cannot be decompressed: %s", err.message);
            if (over)
                ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)dstart,
                                inner, "member decompresses to more than the limit (bomb?)");
            else if (st == CKPT_OK && dlen != usize)
                ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)dstart,
                                inner, "member decompresses to %zu bytes, the directory says %llu",
                                dlen, (unsigned long long)usize);
            s->decompressed += dlen;
            data = owned;
        } else {
            ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                            "compression method %u not supported: content not checked", method);
            continue;
        }
        if (data) {
            uLong crc_calc = crc32(0L, Z_NULL, 0);
            size_t left = dlen;
            const uint8_t *q = data;
            while (left) {
                uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
                crc_calc = crc32(crc_calc, q, chunk);
                q += chunk;
                left -= chunk;
            }
            if ((uint32_t)crc_calc != crc)
                ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, (int64_t)lho, inner,
                                "CRC-32 mismatch (directory 0x%08x, data 0x%08x)", crc,
                                (unsigned)crc_calc);
            const char *slash = strrchr(esc, '/');
            scan_member(s, data, dlen, inner, slash ? slash + 1 : esc);
        }
        if (owned) ckpt__free(&s->alloc, owned, dlen ? dlen : 1);
    }
    if (!s->nomem && nseen > 1) {
        qsort(ents, nseen, sizeof *ents, cmp_zent);
        for (size_t i = 1; i < nseen; i++)
            if (ents[i].hash == ents[i - 1].hash && ents[i].nlen == ents[i - 1].nlen &&
                memcmp(ents[i].name, ents[i - 1].name, ents[i].nlen) == 0) {
                ckpt__scan_escape(ents[i].name, ents[i].nlen, esc);
                ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, -1, member,
                                "member name '%s' appears more than once (readers pick different ones)",
                                esc);
            }
    }
    if (!s->nomem && nseen != nent)
        ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, e, member,
                        "zip directory lists %zu of %llu members", nseen, (unsigned long long)nent);
    if (!s->nomem && first_local != UINT64_MAX && first_local > 0 && b[0] == 'P' && b[1] == 'K')
        ckpt__scan_addf(s, CKPT_FIND_CONTAINER, CKPT_VERDICT_UNVERIFIABLE, 0, member,
                        "%llu bytes before the first member", (unsigned long long)first_local);
    ckpt__free(&s->alloc, ents, (size_t)nent * sizeof *ents);
}
