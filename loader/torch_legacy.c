/*
 * torch_legacy.c - the PyTorch containers older than the zip format.
 *
 * Legacy stream (torch < 1.6, or _use_new_zipfile_serialization=False):
 *   pickle  magic number 0x1950a86a20f9469cfc6c
 *   pickle  protocol version 1001
 *   pickle  sys_info {protocol_version, little_endian, type_sizes}
 *   pickle  the object, storages as persistent ids
 *           ('storage', <Storage class>, key, location, numel, view_metadata)
 *   pickle  list of storage keys, in the order of the raw records
 *   records one per key: int64 numel (little-endian) + numel * element size
 *           bytes, the element size being that of the storage class seen for
 *           the key in the object pickle (torch's _legacy_load does the same).
 * The records are located by skipping each by its size, every size checked
 * against the file; no storage byte is read.
 *
 * Tar form (torch < 0.4): a tar archive with members
 *   sys_info  one pickle
 *   storages  pickle count; per storage: pickle (key, location, Storage class),
 *             int64 numel + raw bytes; then pickle [(view key, root key,
 *             offset, numel), ...] (storage views)
 *   tensors   pickle count; per tensor: pickle (key, storage key, Tensor class),
 *             int32 ndim, 4 unused bytes, int64 sizes[ndim], int64
 *             strides[ndim], int64 storage offset
 *   pickle    the object; tensors are persistent ids str(tensor key)
 * (torch/serialization.py, legacy_load / _legacy_load.)
 */
#include "torch_internal.h"
#include "pickle_internal.h" /* ckpt__g_alloc / ckpt__g_copy */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT__TORCH_LEGACY_PROTOCOL 1001
/* Bytes of a tar header block / data padding unit. */
#define CKPT__TAR_BLOCK 512u
/* Tar headers looked at before giving up (a tar of millions of members is not a checkpoint). */
#define CKPT__TAR_MAX_HEADERS (1u << 20)
/* Longest member name kept (GNU 'L' / PAX path). */
#define CKPT__TAR_MAX_NAME 4096u
/* Longest storage/tensor key of the tar form, rendered as text. */
#define CKPT__LEGACY_MAX_KEY 512u

/* Storage size headers of a mapped file are read with pread while ckpt_open
   runs (f->fd_plus1), through a window of 4 KB that doubles (to 64 KB) while
   the headers follow each other closely: a page fault through the mapping
   costs ~10 us here and maps 64 KB around it, a pread ~1 us, and the records'
   pages never become resident (only the pickles in front of them are read
   through the mapping, and recorded for the page drop of file_open.c). */
#define CKPT__LEGACY_WIN_MIN ((size_t)4 << 10)
#define CKPT__LEGACY_WIN_MAX ((size_t)64 << 10)

static const uint8_t legacy_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static ckpt_status nomem(ckpt_error *err) {
    return ckpt_error_set(err, CKPT_E_NOMEM, -1, "torch: out of memory");
}

/* A pickle of the container failed: name it in the message and the member,
   and report a malformed opcode stream as a malformed container (the pickle
   machine's detail stays in the message).  Other statuses (TRUNCATED, NOMEM,
   LIMIT, ...) are kept. */
static ckpt_status pickle_failed(ckpt_file *f, ckpt_error *err, ckpt_status st, const char *what) {
    if (st == CKPT_E_OPCODE || st == CKPT_E_STACK || st == CKPT_E_MARK || st == CKPT_E_MEMO)
        st = CKPT_E_FORMAT;
    if (err) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s: %s: %.*s",
                 f->format == CKPT_FMT_TORCH_TAR ? "torch tar" : "torch legacy", what,
                 (int)(sizeof msg - 96), err->message);
        memcpy(err->message, msg, sizeof msg);
        err->status = st;
    }
    ckpt_error_member(err, what);
    return st;
}

/* One plain pickle (no hooks) at buf[pos]; *end = offset after STOP. */
static ckpt_status plain_pickle(ckpt_file *f, const uint8_t *buf, size_t len, size_t pos,
                                const char *what, ckpt_value **root, size_t *end, ckpt_error *err) {
    ckpt_pickle_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    ckpt_pickle_info info;
    ckpt_status st = ckpt_pickle_load(f->graph, buf, len, pos, &hooks, root, &info, err);
    if (st != CKPT_OK) return pickle_failed(f, err, st, what);
    *end = (size_t)info.end;
    return CKPT_OK;
}

/* sys_info dict -> facts (little_endian, type sizes). */
static ckpt_status sys_info_facts(ckpt_file *f, const ckpt_value *si, ckpt_error *err) {
    if (ckpt_value_kind(si) != CKPT_K_DICT) return CKPT_OK;
    const ckpt_value *le = ckpt_dict_get(si, "little_endian");
    if (ckpt_value_kind(le) == CKPT_K_BOOL &&
        ckpt__file_add_fact(f, "sys_info little_endian", ckpt_value_bool(le) ? "True" : "False") != CKPT_OK)
        return nomem(err);
    const ckpt_value *ts = ckpt_dict_get(si, "type_sizes");
    if (ckpt_value_kind(ts) == CKPT_K_DICT) {
        const ckpt_value *lg = ckpt_dict_get(ts, "long");
        int64_t v;
        if (ckpt_value_int64(lg, &v) == CKPT_OK) {
            char b[32];
            snprintf(b, sizeof b, "%lld", (long long)v);
            if (ckpt__file_add_fact(f, "sys_info sizeof(long)", b) != CKPT_OK) return nomem(err);
        }
    }
    return CKPT_OK;
}

/* ================================================================ legacy stream */

typedef struct hdr_reader {
    int fd;                /* -1: read f->map */
    uint8_t *buf;          /* CKPT__LEGACY_WIN_MAX bytes, made on first pread */
    size_t wstart, wlen;   /* file bytes held in buf */
    size_t win;            /* bytes of the next window */
} hdr_reader;

/* The 8 bytes at pos (pos + 8 <= f->map_len, checked by the caller). */
static ckpt_status hdr_at(ckpt_file *f, hdr_reader *r, size_t pos, const uint8_t **out, ckpt_error *err) {
    if (r->fd < 0) {
        *out = f->map + pos;
        return CKPT_OK;
    }
    if (r->buf && pos >= r->wstart && pos - r->wstart <= r->wlen && r->wlen - (pos - r->wstart) >= 8) {
        *out = r->buf + (pos - r->wstart);
        return CKPT_OK;
    }
    if (!r->buf) {
        r->buf = ckpt__malloc(&f->alloc, CKPT__LEGACY_WIN_MAX);
        if (!r->buf) return nomem(err);
        r->win = CKPT__LEGACY_WIN_MIN;
    } else if (pos - r->wstart <= 2 * r->wlen) { /* close behind the last window: dense records */
        r->win = r->win * 2 > CKPT__LEGACY_WIN_MAX ? CKPT__LEGACY_WIN_MAX : r->win * 2;
    } else {
        r->win = CKPT__LEGACY_WIN_MIN;
    }
    size_t n = f->map_len - pos < r->win ? f->map_len - pos : r->win;
    size_t got = ckpt__pread_upto(r->fd, r->buf, n, pos);
    if (got < 8) {
        r->wlen = 0;
        return ckpt_error_set(err, CKPT_E_IO, (int64_t)pos, "torch legacy: cannot read the storage header at %zu",
                              pos);
    }
    r->wstart = pos;
    r->wlen = got;
    *out = r->buf;
    return CKPT_OK;
}

/* Headers are read with pread (nothing of the records through the mapping). */
static int r_fd_ok(const ckpt_file *f) { return f->is_mmap && f->fd_plus1 > 0; }

/* The storage records after the key list at `pos` (legacy stream). */
static ckpt_status legacy_records(ckpt_file *f, ckpt__torch *t, const ckpt_value *keys, size_t at, size_t *ppos,
                                  ckpt_error *err) {
    const size_t len = f->map_len;
    size_t pos = *ppos;
    hdr_reader r = {r_fd_ok(f) ? f->fd_plus1 - 1 : -1, NULL, 0, 0, 0};
    ckpt_status st = CKPT_OK;
    size_t nkeys = ckpt_value_len(keys);
    for (size_t i = 0; i < nkeys && st == CKPT_OK; i++) {
        const ckpt_value *kv = ckpt_value_item(keys, i);
        size_t kl = 0;
        const uint8_t *kb = ckpt_value_kind(kv) == CKPT_K_STR ? ckpt_value_bytes(kv, &kl) : NULL;
        if (!kb) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)at, "torch legacy: storage key %zu is a %s, not a str",
                                i, ckpt_kind_name(ckpt_value_kind(kv)));
            break;
        }
        ckpt__tstorage *s = ckpt__torch_find(t, (const char *)kb, kl);
        if (!s || s->elem == CKPT_DT_INVALID || !s->elem_size) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)pos,
                                "torch legacy: storage '%.*s' is listed but no tensor uses it "
                                "(its element size, needed to find the next record, is unknown)",
                                (int)(kl > 64 ? 64 : kl), (const char *)kb);
            break;
        }
        if (len - pos < 8) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)pos,
                                "torch legacy: file ends before the size of storage '%s' (record %zu of %zu)",
                                s->key, i + 1, nkeys);
            break;
        }
        const uint8_t *h = NULL;
        st = hdr_at(f, &r, pos, &h, err);
        if (st != CKPT_OK) break;
        uint64_t numel = le64(h), nbytes;
        if (numel > (uint64_t)INT64_MAX || !ckpt__mul_ok(numel, s->elem_size, &nbytes)) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)pos, "torch legacy: storage '%s' has an invalid size %llu",
                                s->key, (unsigned long long)numel);
            break;
        }
        if (nbytes > (uint64_t)(len - pos - 8)) {
            st = ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)pos,
                                "torch legacy: storage '%s' needs %llu bytes at offset %zu but the "
                                "file has %zu left",
                                s->key, (unsigned long long)nbytes, pos + 8, len - pos - 8);
            break;
        }
        s->data = f->map + pos + 8;
        s->nbytes = nbytes;
        s->file_offset = pos + 8;
        s->defined = 1;
        pos += 8 + (size_t)nbytes;
    }
    if (r.buf) ckpt__free(&f->alloc, r.buf, CKPT__LEGACY_WIN_MAX);
    *ppos = pos;
    return st;
}

ckpt_status ckpt__open_torch_legacy(ckpt_file *f, ckpt_error *err) {
    ckpt__torch *t;
    ckpt_status st = ckpt__torch_attach(f, &t, err);
    if (st != CKPT_OK) return st;
    f->format = CKPT_FMT_TORCH_LEGACY;
    const uint8_t *buf = f->map;
    size_t len = f->map_len, pos = 0;
    ckpt_value *v = NULL;

    /* magic number */
    st = plain_pickle(f, buf, len, pos, "magic number pickle", &v, &pos, err);
    if (st != CKPT_OK) return st;
    size_t ml = 0;
    const uint8_t *mb = ckpt_value_kind(v) == CKPT_K_INT ? ckpt_value_int_bytes(v, &ml) : NULL;
    if (!mb || ml != sizeof legacy_magic || memcmp(mb, legacy_magic, ml) != 0)
        return ckpt_error_set(err, CKPT_E_FORMAT, 0, "torch legacy: invalid magic number");
    if (ckpt__file_add_pickle(f, v) != CKPT_OK) return nomem(err);

    /* protocol version */
    size_t at = pos;
    st = plain_pickle(f, buf, len, pos, "protocol version pickle", &v, &pos, err);
    if (st != CKPT_OK) return st;
    int64_t pv;
    if (ckpt_value_int64(v, &pv) != CKPT_OK || pv != CKPT__TORCH_LEGACY_PROTOCOL)
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, (int64_t)at,
                              "torch legacy: protocol version is not %d", CKPT__TORCH_LEGACY_PROTOCOL);
    if (ckpt__file_add_pickle(f, v) != CKPT_OK) return nomem(err);

    /* sys_info */
    st = plain_pickle(f, buf, len, pos, "sys_info pickle", &v, &pos, err);
    if (st != CKPT_OK) return st;
    if (ckpt__file_add_pickle(f, v) != CKPT_OK) return nomem(err);
    st = sys_info_facts(f, v, err);
    if (st != CKPT_OK) return st;

    /* the object */
    ckpt_value *root = NULL;
    ckpt_pickle_info info;
    st = ckpt__torch_pickle(f, t, buf, len, pos, "", &root, &info, err);
    if (st != CKPT_OK) return pickle_failed(f, err, st, "main pickle");
    pos = (size_t)info.end;
    f->root = root;
    f->protocol = info.protocol;
    if (ckpt__file_add_pickle(f, root) != CKPT_OK) return nomem(err);

    /* storage keys, then the records */
    at = pos;
    ckpt_value *keys = NULL;
    st = plain_pickle(f, buf, len, pos, "storage key list", &keys, &pos, err);
    if (st != CKPT_OK) return st;
    if (ckpt__file_add_pickle(f, keys) != CKPT_OK) return nomem(err);
    ckpt_kind kk = ckpt_value_kind(keys);
    if (kk != CKPT_K_LIST && kk != CKPT_K_TUPLE)
        return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)at,
                              "torch legacy: storage key list is a %s, not a list",
                              ckpt_kind_name(kk));
    /* everything in front of the records was read through the mapping */
    if (r_fd_ok(f)) ckpt__file_touched(f, 0, pos);
    st = legacy_records(f, t, keys, at, &pos, err);
    if (st != CKPT_OK) return st;
    if (pos < len) {
        char b[32];
        snprintf(b, sizeof b, "%zu", len - pos);
        if (ckpt__file_add_fact(f, "trailing bytes", b) != CKPT_OK) return nomem(err);
    }
    st = ckpt__torch_walk(f, t, root, "", "", err);
    if (st == CKPT_OK) ckpt__torch_opened(f);
    return st;
}

/* ================================================================ tar form */

typedef struct tar_member {
    const char *name;
    const uint8_t *data;
    size_t len;
    size_t off;     /* offset of data in f->map */
    int found;
} tar_member;

enum { TM_SYS_INFO, TM_STORAGES, TM_TENSORS, TM_PICKLE, TM__COUNT };
static const char *const tar_names[TM__COUNT] = {"sys_info", "storages", "tensors", "pickle"};

/* Octal (NUL/space terminated) or base-256 number field. */
static int tar_number(const uint8_t *p, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (p[0] & 0x80) { /* base-256: big-endian, first byte's top bit is the flag */
        if (p[0] != 0x80) return 0; /* negative or > 2^88: refuse */
        for (size_t i = 1; i < n; i++) {
            if (v >> 56) return 0;
            v = (v << 8) | p[i];
        }
        *out = v;
        return 1;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == 0)) i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (v >> 60) return 0;
        v = (v << 3) | (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != 0) return 0;
    *out = v;
    return 1;
}

static int tar_checksum_ok(const uint8_t *h) {
    uint64_t want;
    if (!tar_number(h + 148, 8, &want)) return 0;
    uint64_t u = 0;
    int64_t s = 0;
    for (size_t i = 0; i < CKPT__TAR_BLOCK; i++) {
        uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
        u += c;
        s += (int8_t)c;
    }
    return u == want || (uint64_t)s == want;
}

/* PAX records "LEN key=value\n": path and size. */
static int pax_parse(const uint8_t *p, size_t n, const uint8_t **path, size_t *path_len,
                     uint64_t *size, int *has_size) {
    size_t i = 0;
    while (i < n) {
        size_t rl = 0, j = i;
        while (j < n && p[j] >= '0' && p[j] <= '9') {
            if (rl > (SIZE_MAX - 9) / 10) return 0;
            rl = rl * 10 + (size_t)(p[j] - '0');
            j++;
        }
        if (j == i || j >= n || p[j] != ' ' || rl > n - i || rl < j - i + 3) {
            /* trailing NUL padding is tolerated */
            while (i < n && p[i] == 0) i++;
            return i == n;
        }
        const uint8_t *kv = p + j + 1, *end = p + i + rl - 1; /* end: the '\n' */
        if (*end != '\n') return 0;
        const uint8_t *eq = memchr(kv, '=', (size_t)(end - kv));
        if (!eq) return 0;
        size_t kl = (size_t)(eq - kv);
        const uint8_t *val = eq + 1;
        size_t vl = (size_t)(end - val);
        if (kl == 4 && memcmp(kv, "path", 4) == 0) {
            *path = val;
            *path_len = vl;
        } else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
            uint64_t v = 0;
            if (vl == 0) return 0;
            for (size_t k = 0; k < vl; k++) {
                if (val[k] < '0' || val[k] > '9' || v > (UINT64_MAX - 9) / 10) return 0;
                v = v * 10 + (uint64_t)(val[k] - '0');
            }
            *size = v;
            *has_size = 1;
        }
        i += rl;
    }
    return 1;
}

/* Find the four members (the last of each name wins, like tarfile). */
static ckpt_status tar_scan(ckpt_file *f, tar_member *m, ckpt_error *err) {
    const uint8_t *buf = f->map;
    size_t len = f->map_len, pos = 0;
    const uint8_t *lname = NULL; /* pending long name (GNU 'L' or PAX path) */
    size_t lname_len = 0;
    uint64_t pax_size = 0;
    int has_pax_size = 0;
    for (uint32_t nh = 0;; nh++) {
        if (nh == CKPT__TAR_MAX_HEADERS)
            return ckpt_error_set(err, CKPT_E_LIMIT, (int64_t)pos, "torch tar: more than %u members",
                                  CKPT__TAR_MAX_HEADERS);
        if (len - pos < CKPT__TAR_BLOCK) break; /* end (tarfile stops at a short header too) */
        const uint8_t *h = buf + pos;
        int zero = 1;
        for (size_t i = 0; i < CKPT__TAR_BLOCK && zero; i++) zero = h[i] == 0;
        if (zero) break;
        if (!tar_checksum_ok(h))
            return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)pos, "torch tar: bad header checksum");
        uint64_t size;
        if (!tar_number(h + 124, 12, &size))
            return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)pos + 124, "torch tar: bad member size");
        uint8_t type = h[156];
        if (has_pax_size && type != 'x' && type != 'g') size = pax_size;
        size_t data = pos + CKPT__TAR_BLOCK;
        if (size > (uint64_t)(len - data))
            return ckpt_error_set(err, CKPT_E_TRUNCATED, (int64_t)pos,
                                  "torch tar: member of %llu bytes at offset %zu runs past the end "
                                  "of the file (%zu bytes)",
                                  (unsigned long long)size, data, len);
        if (type == 'x') {
            if (!pax_parse(buf + data, (size_t)size, &lname, &lname_len, &pax_size, &has_pax_size))
                return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)data, "torch tar: bad PAX header");
        } else if (type == 'L') {
            lname = buf + data;
            lname_len = (size_t)size;
            const uint8_t *z = memchr(lname, 0, lname_len);
            if (z) lname_len = (size_t)(z - lname);
        } else if (type == 'g' || type == 'K') {
            /* global PAX header, GNU long link name: nothing we use */
        } else {
            char name[CKPT__TAR_MAX_NAME + 1];
            size_t nl = 0;
            if (lname) {
                nl = lname_len > CKPT__TAR_MAX_NAME ? CKPT__TAR_MAX_NAME : lname_len;
                memcpy(name, lname, nl);
            } else {
                const uint8_t *z;
                size_t pl = 0;
                if (memcmp(h + 257, "ustar", 5) == 0) {
                    z = memchr(h + 345, 0, 155);
                    pl = z ? (size_t)(z - (h + 345)) : 155;
                }
                if (pl) {
                    memcpy(name, h + 345, pl);
                    name[pl] = '/';
                    nl = pl + 1;
                }
                z = memchr(h, 0, 100);
                size_t bl = z ? (size_t)(z - h) : 100;
                memcpy(name + nl, h, bl);
                nl += bl;
            }
            name[nl] = 0;
            if (type == '0' || type == 0 || type == '7') {
                for (int k = 0; k < TM__COUNT; k++) {
                    if (strcmp(name, tar_names[k]) == 0) {
                        m[k].name = tar_names[k];
                        m[k].data = buf + data;
                        m[k].len = (size_t)size;
                        m[k].off = data;
                        m[k].found = 1;
                    }
                }
            }
            lname = NULL;
            lname_len = 0;
            has_pax_size = 0;
        }
        uint64_t padded = (size + CKPT__TAR_BLOCK - 1) / CKPT__TAR_BLOCK * CKPT__TAR_BLOCK;
        if (padded > (uint64_t)(len - data)) break; /* last member's padding cut: nothing follows */
        pos = data + (size_t)padded;
    }
    for (int k = 0; k < TM__COUNT; k++)
        if (!m[k].found)
            return ckpt_error_set(err, CKPT_E_FORMAT, -1, "torch tar: member '%s' is missing",
                                  tar_names[k]);
    return CKPT_OK;
}

/* An int or str key as text. */
static int key_text(const ckpt_value *v, char *buf, size_t cap, size_t *len) {
    int64_t i;
    if (ckpt_value_kind(v) == CKPT_K_INT && ckpt_value_int64(v, &i) == CKPT_OK) {
        int n = snprintf(buf, cap, "%lld", (long long)i);
        if (n < 0 || (size_t)n >= cap) return 0;
        *len = (size_t)n;
        return 1;
    }
    if (ckpt_value_kind(v) == CKPT_K_STR) {
        size_t n;
        const uint8_t *p = ckpt_value_bytes(v, &n);
        if (n == 0 || n >= cap || memchr(p, 0, n)) return 0;
        memcpy(buf, p, n);
        buf[n] = 0;
        *len = n;
        return 1;
    }
    return 0;
}

/* Count pickle at the start of a member, bounded by `max`. */
static ckpt_status tar_count(ckpt_file *f, const tar_member *m, size_t *pos, uint64_t max,
                             uint64_t *count, ckpt_error *err) {
    ckpt_value *v;
    ckpt_status st = plain_pickle(f, m->data, m->len, *pos, m->name, &v, pos, err);
    if (st != CKPT_OK) return st;
    int64_t n;
    if (ckpt_value_int64(v, &n) != CKPT_OK || n < 0) {
        ckpt_error_member(err, m->name);
        return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)m->off, "torch tar: '%s' count is not a non-negative int",
                              m->name);
    }
    if ((uint64_t)n > max) {
        ckpt_error_member(err, m->name);
        return ckpt_error_set(err, CKPT_E_LIMIT, (int64_t)m->off,
                              "torch tar: '%s' declares %lld entries (at most %llu fit)", m->name,
                              (long long)n, (unsigned long long)max);
    }
    *count = (uint64_t)n;
    return CKPT_OK;
}

static ckpt_status tar_fail(ckpt_error *err, const tar_member *m, ckpt_status s, size_t pos,
                            const char *what) {
    ckpt_error_member(err, m->name);
    return ckpt_error_set(err, s, (int64_t)(m->off + pos), "torch tar: '%s': %s", m->name, what);
}

static ckpt_status tar_storages(ckpt_file *f, ckpt__torch *t, const tar_member *m, ckpt_error *err) {
    size_t pos = 0;
    uint64_t count;
    uint64_t max = f->limits.max_arrays < m->len / 8 ? f->limits.max_arrays : m->len / 8;
    ckpt_status st = tar_count(f, m, &pos, max, &count, err);
    if (st != CKPT_OK) return st;
    for (uint64_t i = 0; i < count; i++) {
        ckpt_value *d;
        st = plain_pickle(f, m->data, m->len, pos, m->name, &d, &pos, err);
        if (st != CKPT_OK) return st;
        if (ckpt_value_kind(d) != CKPT_K_TUPLE || ckpt_value_len(d) != 3)
            return tar_fail(err, m, CKPT_E_FORMAT, pos, "storage entry is not (key, location, type)");
        char kb[CKPT__LEGACY_MAX_KEY];
        size_t kl;
        if (!key_text(ckpt_value_item(d, 0), kb, sizeof kb, &kl))
            return tar_fail(err, m, CKPT_E_FORMAT, pos, "storage key is not an int or str");
        ckpt_dtype type;
        uint64_t es;
        if (!ckpt__torch_storage_type(ckpt_value_item(d, 2), &type, &es) || !es)
            return tar_fail(err, m, CKPT_E_UNSUPPORTED, pos, "unknown storage type");
        if (m->len - pos < 8) return tar_fail(err, m, CKPT_E_TRUNCATED, pos, "storage size cut off");
        uint64_t numel = le64(m->data + pos), nbytes;
        if (numel > (uint64_t)INT64_MAX || !ckpt__mul_ok(numel, es, &nbytes))
            return tar_fail(err, m, CKPT_E_FORMAT, pos, "invalid storage size");
        if (nbytes > (uint64_t)(m->len - pos - 8))
            return tar_fail(err, m, CKPT_E_TRUNCATED, pos, "storage bytes run past the member's end");
        ckpt__tstorage *s;
        st = ckpt__torch_storage(f, t, kb, kl, &s, NULL, err);
        if (st != CKPT_OK) return st;
        s->elem = type;
        s->elem_size = es;
        s->data = m->data + pos + 8;
        s->nbytes = nbytes;
        s->file_offset = m->off + pos + 8;
        s->member = m->name;
        s->defined = 1;
        pos += 8 + (size_t)nbytes;
    }
    /* storage views: (view key, root key, offset, numel) */
    ckpt_value *views;
    st = plain_pickle(f, m->data, m->len, pos, m->name, &views, &pos, err);
    if (st != CKPT_OK) return st;
    ckpt_kind vk = ckpt_value_kind(views);
    if (vk != CKPT_K_LIST && vk != CKPT_K_TUPLE)
        return tar_fail(err, m, CKPT_E_FORMAT, pos, "storage views are not a list");
    for (size_t i = 0; i < ckpt_value_len(views); i++) {
        const ckpt_value *e = ckpt_value_item(views, i);
        char vb[CKPT__LEGACY_MAX_KEY], rb[CKPT__LEGACY_MAX_KEY];
        size_t vl, rl;
        int64_t off, n;
        if (ckpt_value_kind(e) != CKPT_K_TUPLE || ckpt_value_len(e) != 4 ||
            !key_text(ckpt_value_item(e, 0), vb, sizeof vb, &vl) ||
            !key_text(ckpt_value_item(e, 1), rb, sizeof rb, &rl) ||
            ckpt_value_int64(ckpt_value_item(e, 2), &off) != CKPT_OK || off < 0 ||
            ckpt_value_int64(ckpt_value_item(e, 3), &n) != CKPT_OK || n < 0)
            return tar_fail(err, m, CKPT_E_FORMAT, pos, "storage view is not (key, root, offset, numel)");
        ckpt__tstorage *root = ckpt__torch_find(t, rb, rl);
        if (!root || !root->defined)
            return tar_fail(err, m, CKPT_E_FORMAT, pos, "storage view of an unknown storage");
        uint64_t ob, nb, eb;
        if (!ckpt__mul_ok((uint64_t)off, root->elem_size, &ob) ||
            !ckpt__mul_ok((uint64_t)n, root->elem_size, &nb) || !ckpt__add_ok(ob, nb, &eb) ||
            eb > root->nbytes)
            return tar_fail(err, m, CKPT_E_BOUNDS, pos, "storage view outside its root storage");
        const uint8_t *rdata = root->data;
        uint64_t roff = root->file_offset;
        ckpt_dtype rt = root->elem;
        uint64_t res = root->elem_size;
        ckpt__tstorage *s;
        st = ckpt__torch_storage(f, t, vb, vl, &s, NULL, err); /* may move `root` */
        if (st != CKPT_OK) return st;
        s->elem = rt;
        s->elem_size = res;
        s->data = rdata + ob;
        s->nbytes = nb;
        s->file_offset = roff + ob;
        s->member = m->name;
        s->defined = 1;
    }
    return CKPT_OK;
}

static int tt_cmp(const void *a, const void *b) {
    return strcmp(((const ckpt__ttensor *)a)->key, ((const ckpt__ttensor *)b)->key);
}

static ckpt_status tar_tensors(ckpt_file *f, ckpt__torch *t, const tar_member *m, ckpt_error *err) {
    size_t pos = 0;
    uint64_t count;
    /* each tensor takes a pickle (>= 3 bytes) and >= 16 bytes of dims */
    uint64_t max = f->limits.max_arrays < m->len / 19 ? f->limits.max_arrays : m->len / 19;
    ckpt_status st = tar_count(f, m, &pos, max, &count, err);
    if (st != CKPT_OK) return st;
    if (count == 0) return CKPT_OK;
    ckpt__ttensor *tt = ckpt__calloc(&f->alloc, (size_t)count, sizeof *tt);
    if (!tt) return nomem(err);
    t->tt = tt;
    t->ntt = (size_t)count;
    for (uint64_t i = 0; i < count; i++) {
        ckpt_value *d;
        st = plain_pickle(f, m->data, m->len, pos, m->name, &d, &pos, err);
        if (st != CKPT_OK) return st;
        char kb[CKPT__LEGACY_MAX_KEY], sb[CKPT__LEGACY_MAX_KEY];
        size_t kl, sl;
        if (ckpt_value_kind(d) != CKPT_K_TUPLE || ckpt_value_len(d) != 3 ||
            !key_text(ckpt_value_item(d, 0), kb, sizeof kb, &kl) ||
            !key_text(ckpt_value_item(d, 1), sb, sizeof sb, &sl))
            return tar_fail(err, m, CKPT_E_FORMAT, pos, "tensor entry is not (key, storage key, type)");
        ckpt__tstorage *s = ckpt__torch_find(t, sb, sl);
        if (!s) return tar_fail(err, m, CKPT_E_FORMAT, pos, "tensor of an unknown storage");
        if (m->len - pos < 8) return tar_fail(err, m, CKPT_E_TRUNCATED, pos, "tensor dimensions cut off");
        uint32_t nd32 = le32(m->data + pos);
        if ((int32_t)nd32 < 0) return tar_fail(err, m, CKPT_E_FORMAT, pos, "negative number of dimensions");
        if (nd32 > f->limits.max_ndim) return tar_fail(err, m, CKPT_E_LIMIT, pos, "too many dimensions");
        pos += 8;
        size_t need = ((size_t)nd32 * 2 + 1) * 8;
        if (m->len - pos < need) return tar_fail(err, m, CKPT_E_TRUNCATED, pos, "tensor sizes cut off");
        int64_t *dims = ckpt__g_alloc(f->graph, (size_t)(nd32 ? nd32 : 1) * 2 * sizeof(int64_t));
        char *key = (char *)ckpt__g_copy(f->graph, (const uint8_t *)kb, kl);
        if (!dims || !key) return nomem(err);
        for (uint32_t k = 0; k < 2 * nd32; k++) dims[k] = (int64_t)le64(m->data + pos + 8u * k);
        int64_t off = (int64_t)le64(m->data + pos + 16u * nd32);
        pos += need;
        tt[i].key = key;
        tt[i].storage = s->key;
        tt[i].ndim = nd32;
        tt[i].shape = dims;
        tt[i].strides = dims + nd32;
        tt[i].offset = off;
    }
    /* sorted for the recognizer's binary search; a key listed twice is refused */
    qsort(tt, (size_t)count, sizeof *tt, tt_cmp);
    for (size_t i = 1; i < (size_t)count; i++)
        if (strcmp(tt[i - 1].key, tt[i].key) == 0) {
            ckpt_error_member(err, m->name);
            return ckpt_error_set(err, CKPT_E_FORMAT, (int64_t)m->off,
                                  "torch tar: 'tensors': tensor key '%s' is listed twice", tt[i].key);
        }
    return CKPT_OK;
}

ckpt_status ckpt__open_torch_tar(ckpt_file *f, ckpt_error *err) {
    ckpt__torch *t;
    ckpt_status st = ckpt__torch_attach(f, &t, err);
    if (st != CKPT_OK) return st;
    f->format = CKPT_FMT_TORCH_TAR;
    tar_member m[TM__COUNT];
    memset(m, 0, sizeof m);
    st = tar_scan(f, m, err);
    if (st != CKPT_OK) return st;

    ckpt_value *si;
    size_t end;
    st = plain_pickle(f, m[TM_SYS_INFO].data, m[TM_SYS_INFO].len, 0, "sys_info", &si, &end, err);
    if (st != CKPT_OK) return st;
    if (ckpt__file_add_pickle(f, si) != CKPT_OK) return nomem(err);
    st = sys_info_facts(f, si, err);
    if (st != CKPT_OK) return st;

    st = tar_storages(f, t, &m[TM_STORAGES], err);
    if (st != CKPT_OK) return st;
    st = tar_tensors(f, t, &m[TM_TENSORS], err);
    if (st != CKPT_OK) return st;

    ckpt_value *root = NULL;
    ckpt_pickle_info info;
    st = ckpt__torch_pickle(f, t, m[TM_PICKLE].data, m[TM_PICKLE].len, 0, "", &root, &info, err);
    if (st != CKPT_OK) return pickle_failed(f, err, st, "pickle");
    f->root = root;
    f->protocol = info.protocol;
    if (ckpt__file_add_pickle(f, root) != CKPT_OK) return nomem(err);
    st = ckpt__torch_walk(f, t, root, "", "", err);
    if (st == CKPT_OK) ckpt__torch_opened(f);
    return st;
}
