/*
 * sharded.c - a `*.index.json` with a `weight_map` (as written by common
 * training libraries: {"metadata": {"total_size": N}, "weight_map":
 * {"tensor name": "shard file", ...}}) opened as one logical checkpoint.
 *
 * Ownership.  The index's handle owns one child ckpt_file per distinct shard
 * file (opened with the same options, each mapped or read on its own); the
 * children are closed by the format destructor.  Every tensor of the
 * weight_map becomes an array of the index's handle whose description is
 * copied from the child's array of the same path and whose data is resolved
 * through the child (ckpt_array_data on the child): pointers stay into the
 * child's mapping or its aligned copies, which live until ckpt_close of the
 * index.  Nothing of a shard's data is read at open.
 *
 * Rules.  Shard names are relative paths beside the index: no absolute path,
 * no "." / ".." / empty component, no backslash, no nested index.  Each
 * tensor is listed once and must exist in its shard; errors name the shard
 * (error member = the shard name as written in the weight_map); safetensors
 * shards are refused as unsupported.  Tensors
 * that a shard has but the weight_map does not list are not exposed (counted
 * in a fact).
 */
#include "loader_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* Largest index file parsed (real ones are well under a few MB). */
#define CKPT__SHARDED_MAX_INDEX ((size_t)256 << 20)
/* Longest shard name accepted. */
#define CKPT__SHARDED_MAX_NAME 1024u
#define CKPT__SHARDED_INITIAL 8u

typedef struct shard {
    char *name;       /* as written in the weight_map (f->alloc) */
    ckpt_file *file;  /* the opened shard */
    size_t used;      /* tensors taken from it */
} shard;

typedef struct sharded {
    shard *s;
    size_t n, cap;
} sharded;

static void sharded_free(ckpt_file *f) {
    sharded *sh = f->fmt_state;
    if (!sh) return;
    for (size_t i = 0; i < sh->n; i++) {
        ckpt_close(sh->s[i].file);
        ckpt__free(&f->alloc, sh->s[i].name, strlen(sh->s[i].name) + 1);
    }
    ckpt__free(&f->alloc, sh->s, sh->cap * sizeof *sh->s);
    ckpt__free(&f->alloc, sh, sizeof *sh);
    f->fmt_state = NULL;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

/* A relative path that stays inside the index's directory. */
static const char *bad_shard_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0) return "is empty";
    if (n > CKPT__SHARDED_MAX_NAME) return "is too long";
    if (s[0] == '/') return "is an absolute path";
    if (strchr(s, '\\')) return "contains a backslash";
    if (has_suffix(s, ".index.json")) return "is another index (nested indexes are not opened)";
    if (has_suffix(s, ".safetensors"))
        return "is a safetensors file (ckpt reads pickle-based checkpoints: torch zip / legacy)";
    for (const char *p = s;;) {
        const char *e = strchr(p, '/');
        size_t cl = e ? (size_t)(e - p) : strlen(p);
        if (cl == 0) return "has an empty path component";
        if ((cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.'))
            return "has a '.' or '..' component (it must stay beside the index)";
        if (!e) break;
        p = e + 1;
    }
    return NULL;
}

/* Put "shard 'name': " in front of the message (once) and name it as the member. */
static ckpt_status name_shard(ckpt_error *err, ckpt_status st, const char *name) {
    if (!err) return st;
    char msg[sizeof err->message];
    if (!strstr(err->message, name)) {
        snprintf(msg, sizeof msg, "shard '%.*s': %.*s", 128, name, (int)(sizeof msg - 144), err->message);
        memcpy(err->message, msg, sizeof msg);
    }
    ckpt_error_member(err, name);
    if (err->status == CKPT_OK) err->status = st;
    return st;
}

/* Data of a listed tensor: resolved by its shard. */
static ckpt_status shard_resolve(ckpt_file *f, ckpt__array *a, ckpt_error *err) {
    (void)f;
    ckpt_file *c = a->fmt;
    size_t i;
    if (!c || ckpt_file_find_array(c, a->path, &i) != CKPT_OK)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "tensor '%s': its shard lost it", a->path);
    const void *p = NULL;
    ckpt_status st = ckpt_array_data(c, i, &p, err);
    const ckpt_array_info *ci = ckpt_file_array(c, i);
    if (st != CKPT_OK) {
        if (ci->state == CKPT_DATA_UNAVAILABLE) {
            a->info.state = CKPT_DATA_UNAVAILABLE;
            a->info.note = ci->note;
        }
        return name_shard(err, st, a->info.member);
    }
    if (ci->ndim) memcpy(a->strides, ci->strides, ci->ndim * sizeof *a->strides);
    a->info.dtype = ci->dtype;
    a->info.fortran = ci->fortran;
    a->info.will_copy = ci->will_copy;
    a->info.note = ci->note;
    a->info.state = ci->state;
    a->data = p;
    return CKPT_OK;
}

/* The shard called `name`, opened on first use. */
static ckpt_status get_shard(ckpt_file *f, sharded *sh, const char *name, shard **out,
                             ckpt_error *err) {
    for (size_t i = sh->n; i-- > 0;) {
        if (strcmp(sh->s[i].name, name) == 0) {
            *out = &sh->s[i];
            return CKPT_OK;
        }
    }
    const char *why = bad_shard_name(name);
    if (why) {
        ckpt_error_member(err, name);
        return ckpt_error_set(err, has_suffix(name, ".safetensors") ? CKPT_E_UNSUPPORTED : CKPT_E_FORMAT,
                              -1, "sharded: shard file name '%.*s' %s", 128, name, why);
    }
    if (sh->n == sh->cap) {
        size_t ncap = sh->cap ? sh->cap * 2 : CKPT__SHARDED_INITIAL;
        if (ncap > SIZE_MAX / sizeof *sh->s) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "sharded: out of memory");
        shard *ns = ckpt__realloc(&f->alloc, sh->s, sh->cap * sizeof *sh->s, ncap * sizeof *ns);
        if (!ns) return ckpt_error_set(err, CKPT_E_NOMEM, -1, "sharded: out of memory");
        sh->s = ns;
        sh->cap = ncap;
    }
    /* path = directory of the index + name */
    const char *slash = f->path ? strrchr(f->path, '/') : NULL;
    size_t dl = slash ? (size_t)(slash - f->path) + 1 : 0, nl = strlen(name);
    char *path = ckpt__malloc(&f->alloc, dl + nl + 1);
    char *nm = ckpt__strdup(&f->alloc, name);
    if (!path || !nm) {
        ckpt__free(&f->alloc, path, dl + nl + 1);
        if (nm) ckpt__free(&f->alloc, nm, nl + 1);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "sharded: out of memory");
    }
    if (dl) memcpy(path, f->path, dl);
    memcpy(path + dl, name, nl + 1);
    ckpt_open_opts o = ckpt_open_opts_default();
    o.limits = f->limits;
    o.alloc = &f->alloc;
    o.flags = f->flags;
    o.min_align = f->min_align;
    ckpt_file *c = NULL;
    ckpt_status st = ckpt_open(path, &o, &c, err);
    ckpt__free(&f->alloc, path, dl + nl + 1);
    if (st != CKPT_OK) {
        ckpt__free(&f->alloc, nm, nl + 1);
        return name_shard(err, st, name);
    }
    shard *s = &sh->s[sh->n++];
    s->name = nm;
    s->file = c;
    s->used = 0;
    *out = s;
    return CKPT_OK;
}

/* One weight_map entry: tensor `name` from shard `sname`. */
static ckpt_status add_entry(ckpt_file *f, sharded *sh, const char *name, const char *sname,
                             ckpt_error *err) {
    size_t dup;
    if (ckpt_file_find_array(f, name, &dup) == CKPT_OK) {
        ckpt_error_member(err, sname);
        return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                              "sharded: tensor '%.*s' is listed twice in weight_map (again in '%.*s')",
                              96, name, 96, sname);
    }
    shard *s = NULL;
    ckpt_status st = get_shard(f, sh, sname, &s, err);
    if (st != CKPT_OK) return st;
    size_t i;
    if (ckpt_file_find_array(s->file, name, &i) != CKPT_OK) {
        ckpt_error_member(err, s->name);
        return ckpt_error_set(err, CKPT_E_FORMAT, -1,
                              "sharded: tensor '%.*s' is listed in weight_map but shard '%.*s' has no "
                              "such tensor",
                              96, name, 96, s->name);
    }
    const ckpt_array_info *ci = ckpt_file_array(s->file, i);
    ckpt__array *a;
    st = ckpt__file_add_array(f, name, NULL, ci->dtype, ci->ndim, ci->shape, ci->strides, &a, err);
    if (st != CKPT_OK) return name_shard(err, st, s->name);
    a->info.value = ci->value;
    a->obj_items = s->file->arrays[i].obj_items; /* object arrays: items in the shard's graph */
    a->info.fortran = ci->fortran;
    a->info.is_tensor = ci->is_tensor;
    a->info.requires_grad = ci->requires_grad;
    a->info.storage_key = ci->storage_key;
    a->info.storage_offset = ci->storage_offset;
    a->info.member = s->name;
    a->info.file_offset = ci->file_offset;
    a->info.will_copy = ci->will_copy;
    a->info.note = ci->note;
    if (ci->state == CKPT_DATA_UNAVAILABLE) a->info.state = CKPT_DATA_UNAVAILABLE;
    a->resolve = shard_resolve;
    a->fmt = s->file;
    s->used++;
    if (f->protocol < 0) f->protocol = ckpt_file_protocol(s->file);
    return CKPT_OK;
}

ckpt_status ckpt__open_sharded(ckpt_file *f, ckpt_error *err) {
    f->format = CKPT_FMT_SHARDED;
    if (f->fmt_state) return ckpt_error_set(err, CKPT_E_ARG, -1, "sharded: file already has format state");
    if (f->map_len == 0) return ckpt_error_set(err, CKPT_E_TRUNCATED, 0, "sharded: empty index file");
    if (f->map_len > CKPT__SHARDED_MAX_INDEX || f->map_len > f->limits.max_memory)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "sharded: index of %zu bytes is too large",
                              f->map_len);
    cJSON *j = cJSON_ParseWithLength((const char *)f->map, f->map_len);
    if (!j) {
        const char *e = cJSON_GetErrorPtr();
        int64_t off = -1;
        if (e && e >= (const char *)f->map && e <= (const char *)f->map + f->map_len)
            off = (int64_t)(e - (const char *)f->map);
        return ckpt_error_set(err, CKPT_E_FORMAT, off, "sharded: index is not valid JSON");
    }
    ckpt_status st = CKPT_OK;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
    if (!cJSON_IsObject(wm)) {
        st = ckpt_error_set(err, CKPT_E_FORMAT, -1, "sharded: index has no \"weight_map\" object");
        goto done;
    }
    sharded *sh = ckpt__calloc(&f->alloc, 1, sizeof *sh);
    if (!sh) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "sharded: out of memory");
        goto done;
    }
    f->fmt_state = sh;
    f->fmt_free = sharded_free;
    for (const cJSON *e = wm->child; e && st == CKPT_OK; e = e->next) {
        if (!e->string || !cJSON_IsString(e) || !e->valuestring) {
            st = ckpt_error_set(err, CKPT_E_FORMAT, -1,
                                "sharded: weight_map entry '%.*s' is not a file name string", 128,
                                e->string ? e->string : "");
            break;
        }
        st = add_entry(f, sh, e->string, e->valuestring, err);
    }
    if (st != CKPT_OK) goto done;
    char b[64];
    snprintf(b, sizeof b, "%zu", sh->n);
    if (ckpt__file_add_fact(f, "shards", b) != CKPT_OK) goto oom;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    const cJSON *ts = cJSON_IsObject(md) ? cJSON_GetObjectItemCaseSensitive(md, "total_size") : NULL;
    if (cJSON_IsNumber(ts)) {
        snprintf(b, sizeof b, "%.17g", ts->valuedouble);
        if (ckpt__file_add_fact(f, "index total_size", b) != CKPT_OK) goto oom;
    }
    uint64_t unlisted = 0, bytes = 0;
    for (size_t i = 0; i < sh->n; i++) {
        unlisted += ckpt_file_array_count(sh->s[i].file) - sh->s[i].used;
        bytes += ckpt_file_size(sh->s[i].file);
    }
    snprintf(b, sizeof b, "%llu", (unsigned long long)bytes);
    if (ckpt__file_add_fact(f, "shard bytes", b) != CKPT_OK) goto oom;
    if (unlisted) {
        snprintf(b, sizeof b, "%llu", (unsigned long long)unlisted);
        if (ckpt__file_add_fact(f, "shard tensors not in weight_map", b) != CKPT_OK) goto oom;
    }
    goto done;
oom:
    st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "sharded: out of memory");
done:
    cJSON_Delete(j);
    return st;
}
