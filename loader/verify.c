/*
 * verify.c - ckpt_file_verify: CRC-32 of every zip member against the central
 * directory, and every array's data resolved.
 *
 * Zip containers (torch zip, TorchScript, .npz; the zip shards of a sharded
 * checkpoint) are walked through their own central directory (ZIP64 end
 * record and extra fields honoured), independently of how the format opener
 * read them.  For each member the local header is located and bounds-checked;
 * a stored member's bytes are checksummed in VERIFY_CHUNK pieces: read with
 * pread from the file when it is mmap'ed (a page fault per 4 KB-64 KB costs
 * far more than a copy on virtual machines: 500 MB in ~1.7 s through the
 * mapping, see bench_torch -v; and nothing is left resident), straight from
 * the mapping otherwise or when a read fails (pages then given back with
 * MADV_DONTNEED when mapped); other methods are streamed through libzip (zip_fopen_index)
 * into one chunk buffer, reading at most the declared size + 1 byte (a lying
 * size is a mismatch, a bomb cannot run on).  A member whose CRC-32 or size
 * differs is counted and the first CKPT_VERIFY_MAX_MISMATCHES are named in
 * the report; verification goes on through every member.
 *
 * Non-zip formats carry no checksum: only the arrays are resolved.
 *
 * Sharded checkpoints: the children are reached through the index's arrays
 * (sharded.c keeps the child ckpt_file of each listed tensor in `fmt`, and
 * every shard holds at least one listed tensor).
 */
#include "loader_internal.h"
#include "zip_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Bytes checksummed between progress calls (and size of the inflate buffer). */
#define VERIFY_CHUNK ((size_t)4 << 20)
/* End of central directory: 22 bytes + a comment of at most 65535. */
#define VERIFY_EOCD_SCAN (65535u + 22u)
#define VERIFY_CDIR_ENTRY 46u
#define VERIFY_LOCAL_HEADER 30u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

typedef struct vctx {
    const ckpt_allocator *alloc;
    ckpt_verify_progress_fn cb;
    void *user;
    uint64_t done, total;
    ckpt_verify_report *rep;
    ckpt_error crc_err;   /* first CRC/size mismatch */
    ckpt_error other_err; /* first other failure */
    ckpt_status other_st;
    uint8_t *buf;         /* VERIFY_CHUNK bytes, for inflated members */
} vctx;

static void progress(vctx *v, uint64_t n) {
    v->done += n;
    if (v->cb) v->cb(v->user, v->done, v->total);
}

/* Remember the first non-CRC failure (the message is already in `e`). */
static void fail_other(vctx *v, ckpt_status st, const ckpt_error *e) {
    if (v->other_st != CKPT_OK) return;
    v->other_st = st;
    v->other_err = *e;
}

/* One parsed central directory entry. */
typedef struct zentry {
    const uint8_t *name;
    size_t name_len;
    uint16_t method, flags;
    uint32_t crc;
    uint64_t comp_size, size, local;
} zentry;

typedef struct zdir {
    uint64_t cd, count, cd_end;
} zdir;

static ckpt_status find_dir(const uint8_t *m, size_t len, zdir *d, ckpt_error *err) {
    if (len < 22) return ckpt_error_set(err, CKPT_E_TRUNCATED, -1, "verify: no end of central directory");
    size_t lo = len > VERIFY_EOCD_SCAN ? len - VERIFY_EOCD_SCAN : 0, e = len - 22 + 1;
    int found = 0;
    while (e-- > lo) {
        if (memcmp(m + e, "PK\5\6", 4) == 0) {
            found = 1;
            break;
        }
    }
    if (!found) return ckpt_error_set(err, CKPT_E_FORMAT, -1, "verify: no end of central directory");
    uint64_t cd = rd32(m + e + 16), count = rd16(m + e + 10), cd_size = rd32(m + e + 12);
    uint64_t dir_end = e;
    if (e >= 20 && memcmp(m + e - 20, "PK\6\7", 4) == 0) {
        uint64_t z64 = rd64(m + e - 20 + 8);
        if (z64 > len || len - z64 < 56 || memcmp(m + z64, "PK\6\6", 4) != 0)
            return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)(e - 20), "verify: bad ZIP64 end record");
        count = rd64(m + z64 + 32);
        cd_size = rd64(m + z64 + 40);
        cd = rd64(m + z64 + 48);
        dir_end = z64;
    }
    uint64_t end;
    if (cd > dir_end || !ckpt__add_ok(cd, cd_size, &end) || end > dir_end)
        return ckpt_error_set(err, CKPT_E_BOUNDS, (int64_t)e, "verify: central directory outside the file");
    /* every entry takes at least VERIFY_CDIR_ENTRY bytes */
    if (count > cd_size / VERIFY_CDIR_ENTRY)
        return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)e,
                              "verify: %llu members cannot fit a central directory of %llu bytes",
                              (unsigned long long)count, (unsigned long long)cd_size);
    d->cd = cd;
    d->count = count;
    d->cd_end = end;
    return CKPT_OK;
}

/* Entry at *pos (advanced past it). */
static ckpt_status read_entry(const uint8_t *m, const zdir *d, uint64_t *pos, zentry *z, ckpt_error *err) {
    uint64_t p = *pos;
    if (p > d->cd_end || d->cd_end - p < VERIFY_CDIR_ENTRY || memcmp(m + p, "PK\1\2", 4) != 0)
        return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)p, "verify: bad central directory entry");
    uint64_t nl = rd16(m + p + 28), xl = rd16(m + p + 30), cl = rd16(m + p + 32);
    if (d->cd_end - p - VERIFY_CDIR_ENTRY < nl + xl + cl)
        return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)p, "verify: truncated central directory entry");
    z->flags = rd16(m + p + 8);
    z->method = rd16(m + p + 10);
    z->crc = rd32(m + p + 16);
    z->comp_size = rd32(m + p + 20);
    z->size = rd32(m + p + 24);
    z->local = rd32(m + p + 42);
    z->name = m + p + VERIFY_CDIR_ENTRY;
    z->name_len = (size_t)nl;
    if (z->size == 0xFFFFFFFFu || z->comp_size == 0xFFFFFFFFu || z->local == 0xFFFFFFFFu) {
        /* ZIP64 extra field: [size][comp size][local offset], each only when saturated */
        const uint8_t *x = m + p + VERIFY_CDIR_ENTRY + nl, *xe = x + xl;
        int found = 0;
        while (xe - x >= 4) {
            uint16_t id = rd16(x), sz = rd16(x + 2);
            if ((size_t)(xe - x - 4) < sz) break;
            if (id == 1) {
                size_t k = 0;
                uint64_t *fields[3] = {&z->size, &z->comp_size, &z->local};
                found = 1;
                for (int i = 0; i < 3; i++) {
                    if (*fields[i] != 0xFFFFFFFFu) continue;
                    if (k + 8 > sz) {
                        found = 0;
                        break;
                    }
                    *fields[i] = rd64(x + 4 + k);
                    k += 8;
                }
                break;
            }
            x += 4 + sz;
        }
        if (!found) return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)p, "verify: ZIP64 extra field missing");
    }
    *pos = p + VERIFY_CDIR_ENTRY + nl + xl + cl;
    return CKPT_OK;
}

static void member_name(char *out, size_t cap, const char *prefix, const zentry *z) {
    snprintf(out, cap, "%s%s%.*s", prefix ? prefix : "", prefix ? "/" : "",
             (int)(z->name_len > 1024 ? 1024 : z->name_len), (const char *)z->name);
}

static void mismatch(vctx *v, const char *prefix, const zentry *z, uint64_t data_off, uint32_t actual,
                     uint64_t got) {
    ckpt_verify_report *r = v->rep;
    char name[256];
    member_name(name, sizeof name, prefix, z);
    r->members_bad++;
    if (r->n_mismatches < CKPT_VERIFY_MAX_MISMATCHES) {
        ckpt_verify_mismatch *mm = &r->mismatches[r->n_mismatches++];
        memcpy(mm->member, name, sizeof mm->member);
        mm->expected = z->crc;
        mm->actual = actual;
        mm->size = got;
    }
    if (r->members_bad == 1) {
        if (got != z->size)
            ckpt_error_set(&v->crc_err, CKPT_E_CRC, (int64_t)data_off,
                           "verify: member '%s' holds %llu bytes, the central directory says %llu", name,
                           (unsigned long long)got, (unsigned long long)z->size);
        else
            ckpt_error_set(&v->crc_err, CKPT_E_CRC, (int64_t)data_off,
                           "verify: member '%s' has CRC-32 %08x, the central directory says %08x", name,
                           (unsigned)actual, (unsigned)z->crc);
        ckpt_error_member(&v->crc_err, name);
    }
}

/* Give pages back that were only read for the checksum (file-backed, clean). */
static void drop_pages(const uint8_t *p, size_t n) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0) return;
    uintptr_t a = ((uintptr_t)p + (uintptr_t)ps - 1) & ~(uintptr_t)(ps - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)(ps - 1);
    if (e > a) madvise((void *)a, (size_t)(e - a), MADV_DONTNEED);
}

/* Open libzip over the bytes once (for members that are not stored). */
static zip_t *open_za(const uint8_t *m, size_t len, ckpt_error *e) {
    if (ckpt__zip_lib_load("to check a member that is not stored", e) != CKPT_OK) return NULL;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(m, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!za) {
        ckpt_error_set(e, CKPT_E_FORMAT, -1, "verify: libzip cannot open the archive: %s", zip_error_strerror(&ze));
        if (src) zip_source_free(src);
    }
    zip_error_fini(&ze);
    return za;
}

/* Checksum a non-stored member through libzip. */
static void check_inflated(vctx *v, zip_t *za, uint64_t index, const char *prefix, const zentry *z,
                           uint64_t data_off) {
    char name[256];
    ckpt_error e;
    ckpt_error_clear(&e);
    member_name(name, sizeof name, prefix, z);
    const char *raw = zip_get_name(za, index, ZIP_FL_ENC_RAW);
    if (!raw || strlen(raw) != z->name_len || memcmp(raw, z->name, z->name_len) != 0) {
        ckpt_error_set(&e, CKPT_E_FORMAT, (int64_t)data_off,
                       "verify: member '%s': libzip lists a different member at index %llu", name,
                       (unsigned long long)index);
        ckpt_error_member(&e, name);
        v->rep->members_failed++;
        fail_other(v, e.status, &e);
        return;
    }
    zip_file_t *zf = zip_fopen_index(za, index, 0);
    if (!zf) {
        zip_error_t *ze = zip_get_error(za);
        int code = zip_error_code_zip(ze);
        ckpt_status st = code == ZIP_ER_COMPNOTSUPP || code == ZIP_ER_ENCRNOTSUPP || code == ZIP_ER_NOPASSWD
                             ? CKPT_E_UNSUPPORTED
                             : CKPT_E_CODEC;
        ckpt_error_set(&e, st, (int64_t)data_off, "verify: member '%s' (method %u) cannot be read: %s", name,
                       (unsigned)z->method, zip_error_strerror(ze));
        ckpt_error_member(&e, name);
        v->rep->members_failed++;
        fail_other(v, st, &e);
        return;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t got = 0, limit = z->size == UINT64_MAX ? UINT64_MAX : z->size + 1;
    int crc_error = 0, failed = 0;
    while (got < limit) {
        uint64_t want = limit - got < VERIFY_CHUNK ? limit - got : VERIFY_CHUNK;
        zip_int64_t n = zip_fread(zf, v->buf, want);
        if (n == 0) break;
        if (n < 0) {
            zip_error_t *ze = zip_file_get_error(zf);
            if (zip_error_code_zip(ze) == ZIP_ER_CRC) crc_error = 1; /* libzip agrees: compared below */
            else {
                ckpt_error_set(&e, CKPT_E_CODEC, (int64_t)data_off, "verify: member '%s' cannot be inflated: %s",
                               name, zip_error_strerror(ze));
                ckpt_error_member(&e, name);
                failed = 1;
            }
            break;
        }
        crc = crc32_z(crc, v->buf, (size_t)n);
        got += (uint64_t)n;
        progress(v, (uint64_t)n);
    }
    zip_fclose(zf);
    if (failed) {
        v->rep->members_failed++;
        fail_other(v, CKPT_E_CODEC, &e);
        return;
    }
    v->rep->bytes += got;
    /* crc_error: libzip saw a mismatch too (or one we did not: the stricter wins) */
    if ((uint32_t)crc != z->crc || got != z->size || crc_error)
        mismatch(v, prefix, z, data_off, (uint32_t)crc, got);
}

/* Read m[off..off+n) of the file behind the mapping into buf; 0 on failure. */
static int read_at(int fd, uint8_t *buf, size_t n, uint64_t off) { return ckpt__pread_upto(fd, buf, n, off) == n; }

/* The file behind a mapping, reopened for pread (-1: use the mapping). */
static int reopen(const char *path, int is_mmap, size_t len) {
    if (!is_mmap || !path) return -1;
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != (uint64_t)len) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The outcome of a verification: CKPT_E_CRC (with the first bad member's
   error) if any member's checksum or size differs, else the first other
   failure, else CKPT_OK. */
static ckpt_status verify_result(const vctx *v, ckpt_error *err) {
    if (v->rep->members_bad) {
        if (err) *err = v->crc_err;
        return CKPT_E_CRC;
    }
    if (v->other_st != CKPT_OK) {
        if (err) *err = v->other_err;
        return v->other_st;
    }
    return CKPT_OK;
}

/* Every member of the zip in m[0..len) (the mapping of `path` when is_mmap). */
static void verify_zip(vctx *v, const uint8_t *m, size_t len, int is_mmap, const char *path,
                       const char *prefix) {
    ckpt_error e;
    ckpt_error_clear(&e);
    zdir d;
    ckpt_status st = find_dir(m, len, &d, &e);
    if (st != CKPT_OK) {
        if (prefix) ckpt_error_member(&e, prefix);
        fail_other(v, st, &e);
        return;
    }
    v->rep->containers++;
    v->rep->has_checksums = 1;
    zip_t *za = NULL;
    int za_tried = 0;
    int fd = reopen(path, is_mmap, len);
    uint64_t pos = d.cd;
    for (uint64_t i = 0; i < d.count; i++) {
        zentry z;
        st = read_entry(m, &d, &pos, &z, &e);
        if (st != CKPT_OK) {
            if (prefix) ckpt_error_member(&e, prefix);
            fail_other(v, st, &e);
            break;
        }
        v->rep->members++;
        char name[256];
        member_name(name, sizeof name, prefix, &z);
        uint64_t lh = z.local, data_off, end;
        if (lh > len || len - lh < VERIFY_LOCAL_HEADER || memcmp(m + lh, "PK\3\4", 4) != 0) {
            ckpt_error_set(&e, CKPT_E_FORMAT, (int64_t)lh, "verify: member '%s': bad local header", name);
            ckpt_error_member(&e, name);
            v->rep->members_failed++;
            fail_other(v, CKPT_E_FORMAT, &e);
            continue;
        }
        data_off = lh + VERIFY_LOCAL_HEADER + rd16(m + lh + 26) + rd16(m + lh + 28);
        if (data_off > len || !ckpt__add_ok(data_off, z.comp_size, &end) || end > len) {
            ckpt_error_set(&e, CKPT_E_BOUNDS, (int64_t)data_off, "verify: member '%s' runs past the end of the file",
                           name);
            ckpt_error_member(&e, name);
            v->rep->members_failed++;
            fail_other(v, CKPT_E_BOUNDS, &e);
            continue;
        }
        if (z.method == 0 && !(z.flags & 1u)) {
            /* stored: the bytes are the data */
            uLong crc = crc32(0L, Z_NULL, 0);
            const uint8_t *p = m + data_off;
            for (uint64_t left = z.comp_size; left > 0;) {
                size_t n = left < VERIFY_CHUNK ? (size_t)left : VERIFY_CHUNK;
                if (fd >= 0 && read_at(fd, v->buf, n, (uint64_t)(p - m))) {
                    crc = crc32_z(crc, v->buf, n);
                } else {
                    crc = crc32_z(crc, p, n);
                    if (is_mmap) drop_pages(p, n);
                }
                p += n;
                left -= n;
                progress(v, n);
            }
            v->rep->bytes += z.comp_size;
            if ((uint32_t)crc != z.crc || z.comp_size != z.size)
                mismatch(v, prefix, &z, data_off, (uint32_t)crc, z.comp_size);
            continue;
        }
        if (!za_tried) {
            za_tried = 1;
            ckpt_error ze;
            ckpt_error_clear(&ze);
            za = open_za(m, len, &ze);
            if (!za) {
                if (prefix) ckpt_error_member(&ze, prefix);
                fail_other(v, ze.status, &ze);
            }
        }
        if (!za) {
            v->rep->members_failed++;
            continue;
        }
        check_inflated(v, za, i, prefix, &z, data_off);
    }
    if (za) zip_discard(za);
    if (fd >= 0) close(fd);
}

/* Sum of the declared sizes (progress total); 0 when the directory is bad. */
static uint64_t zip_total(const uint8_t *m, size_t len) {
    zdir d;
    if (find_dir(m, len, &d, NULL) != CKPT_OK) return 0;
    uint64_t pos = d.cd, t = 0;
    for (uint64_t i = 0; i < d.count; i++) {
        zentry z;
        if (read_entry(m, &d, &pos, &z, NULL) != CKPT_OK) break;
        if (!ckpt__add_ok(t, z.size, &t)) return UINT64_MAX;
    }
    return t;
}

static int is_zip_file(const ckpt_file *f) {
    if (!f->map || f->map_len < 4) return 0;
    if (f->format != CKPT_FMT_NPZ && f->format != CKPT_FMT_TORCH_ZIP && f->format != CKPT_FMT_TORCHSCRIPT) return 0;
    return memcmp(f->map, "PK\3\4", 4) == 0 || memcmp(f->map, "PK\5\6", 4) == 0;
}

ckpt_status ckpt__verify_zip_bytes(const void *buf, size_t len, ckpt_verify_report *rep, ckpt_error *err) {
    ckpt_verify_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    vctx v;
    memset(&v, 0, sizeof v);
    v.rep = rep;
    ckpt_error_clear(&v.crc_err);
    ckpt_error_clear(&v.other_err);
    v.buf = ckpt__malloc(NULL, VERIFY_CHUNK);
    if (!v.buf) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "verify: out of memory");
    verify_zip(&v, buf, len, 0, NULL, NULL);
    ckpt__free(NULL, v.buf, VERIFY_CHUNK);
    return verify_result(&v, err);
}

ckpt_status ckpt_file_verify(ckpt_file *f, ckpt_verify_progress_fn cb, void *user, ckpt_verify_report *rep,
                             ckpt_error *err) {
    ckpt_verify_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    if (!f) return ckpt_error_set(err, CKPT_E_ARG, -1, "verify: no file");
    vctx v;
    memset(&v, 0, sizeof v);
    v.alloc = &f->alloc;
    v.cb = cb;
    v.user = user;
    v.rep = rep;
    ckpt_error_clear(&v.crc_err);
    ckpt_error_clear(&v.other_err);

    /* the zip containers to check: the file itself, or the distinct shards */
    ckpt_file **kids = NULL;
    const char **kid_names = NULL;
    size_t nk = 0, capk = 0;
    ckpt_status st = CKPT_OK;
    if (f->format == CKPT_FMT_SHARDED) {
        for (size_t i = 0; i < f->n_arrays; i++) {
            ckpt_file *c = f->arrays[i].fmt;
            if (!c) continue;
            size_t k = nk;
            while (k > 0 && kids[k - 1] != c) k--;
            if (k > 0) continue;
            if (nk == capk) {
                size_t nc = capk ? capk * 2 : 8;
                ckpt_file **nkids = ckpt__realloc(&f->alloc, kids, capk * sizeof *kids, nc * sizeof *kids);
                if (!nkids) {
                    st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "verify: out of memory");
                    break;
                }
                kids = nkids;
                const char **nn = ckpt__realloc(&f->alloc, (void *)kid_names, capk * sizeof *kid_names,
                                                nc * sizeof *kid_names);
                if (!nn) {
                    st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "verify: out of memory");
                    break;
                }
                kid_names = nn;
                capk = nc;
            }
            kids[nk] = c;
            kid_names[nk] = f->arrays[i].info.member;
            nk++;
        }
    }
    if (st == CKPT_OK) {
        v.buf = ckpt__malloc(&f->alloc, VERIFY_CHUNK);
        if (!v.buf) st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "verify: out of memory");
    }
    if (st != CKPT_OK) {
        ckpt__free(&f->alloc, kids, capk * sizeof *kids);
        ckpt__free(&f->alloc, (void *)kid_names, capk * sizeof *kid_names);
        return st;
    }

    /* progress total: checksummed bytes when there are any, else array bytes */
    if (f->format == CKPT_FMT_SHARDED) {
        for (size_t k = 0; k < nk; k++)
            if (is_zip_file(kids[k])) ckpt__add_ok(v.total, zip_total(kids[k]->map, kids[k]->map_len), &v.total);
    } else if (is_zip_file(f)) {
        v.total = zip_total(f->map, f->map_len);
    }
    int count_arrays = v.total == 0;
    if (count_arrays)
        for (size_t i = 0; i < f->n_arrays; i++) ckpt__add_ok(v.total, f->arrays[i].info.nbytes, &v.total);
    if (cb) cb(user, 0, v.total);

    if (f->format == CKPT_FMT_SHARDED) {
        for (size_t k = 0; k < nk; k++) {
            if (is_zip_file(kids[k]))
                verify_zip(&v, kids[k]->map, kids[k]->map_len, kids[k]->is_mmap, kids[k]->path, kid_names[k]);
            else rep->unchecked_files++;
        }
    } else if (is_zip_file(f)) {
        verify_zip(&v, f->map, f->map_len, f->is_mmap, f->path, NULL);
    } else {
        rep->unchecked_files = 1;
    }

    /* every array's data */
    for (size_t i = 0; i < f->n_arrays; i++) {
        const ckpt_array_info *a = &f->arrays[i].info;
        if (a->state == CKPT_DATA_UNAVAILABLE || a->dtype->type == CKPT_DT_OBJECT) {
            rep->arrays_unavailable++;
        } else {
            const void *data;
            ckpt_error e;
            ckpt_error_clear(&e);
            ckpt_status ast = ckpt_array_data(f, i, &data, &e);
            if (ast != CKPT_OK) {
                if (f->arrays[i].info.state == CKPT_DATA_UNAVAILABLE) rep->arrays_unavailable++;
                else {
                    rep->arrays_failed++;
                    if (!e.member[0]) ckpt_error_member(&e, a->path);
                    fail_other(&v, ast, &e);
                }
            } else {
                rep->arrays++;
            }
        }
        if (count_arrays) progress(&v, a->nbytes);
    }
    if (!count_arrays && cb && v.done != v.total) cb(user, v.total, v.total);

    ckpt__free(&f->alloc, v.buf, VERIFY_CHUNK);
    ckpt__free(&f->alloc, kids, capk * sizeof *kids);
    ckpt__free(&f->alloc, (void *)kid_names, capk * sizeof *kid_names);
    return verify_result(&v, err);
}
