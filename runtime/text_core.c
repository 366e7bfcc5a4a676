/*
 * text_core.c - Unicode classification, UTF-8, MurmurHash3, the string map and
 * the word analyzer used by the text vectorizers.
 *
 * The analyzer reproduces scikit-learn's build_analyzer() for analyzer='word':
 *   doc.lower()                      (CPython str.lower, final sigma included)
 *   re.findall(r"(?u)\b\w\w+\b")     (maximal runs of \w of >= 2 code points)
 *   drop stop words, then word n-grams joined with ' ' (_word_ngrams order).
 * No recursion; every buffer grows with checked arithmetic.
 */
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "text_engine.h"

/* ---------------------------------------------------------------- Unicode */

int ckpt_text_is_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               c == '_';
    size_t lo = 0, hi = ckpt_text_word_range_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < ckpt_text_word_ranges[mid].lo)
            hi = mid;
        else if (c > ckpt_text_word_ranges[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int ckpt_text_lower_cp(uint32_t c, uint32_t out[3])
{
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    if (c == 0x3A3) { /* context-free answer; ckpt_text_lower_doc applies the rule */
        out[0] = 0x3C3;
        return 1;
    }
    size_t lo = 0, hi = ckpt_text_lower_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t k = ckpt_text_lower_map[mid].cp;
        if (c < k)
            hi = mid;
        else if (c > k)
            lo = mid + 1;
        else {
            int n = 0;
            for (int i = 0; i < 3 && ckpt_text_lower_map[mid].to[i]; i++)
                out[n++] = ckpt_text_lower_map[mid].to[i];
            return n ? n : (out[0] = c, 1);
        }
    }
    out[0] = c;
    return 1;
}

int ckpt_text_sigma_class(uint32_t c)
{
    size_t lo = 0, hi = ckpt_text_sigma_range_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < ckpt_text_sigma_ranges[mid].lo)
            hi = mid;
        else if (c > ckpt_text_sigma_ranges[mid].hi)
            lo = mid + 1;
        else
            return ckpt_text_sigma_ranges[mid].cls;
    }
    return 0;
}

/* CPython's handle_capital_sigma (Objects/unicodeobject.c). */
static uint32_t final_sigma(const uint32_t *s, size_t n, size_t i)
{
    size_t j = i;
    uint32_t c = 0;
    int found = 0;
    while (j > 0) {
        c = s[--j];
        if (ckpt_text_sigma_class(c) != 2) {
            found = 1;
            break;
        }
    }
    int fin = found && ckpt_text_sigma_class(c) == 1;
    if (fin && i + 1 < n) {
        size_t k;
        for (k = i + 1; k < n; k++) {
            c = s[k];
            if (ckpt_text_sigma_class(c) != 2)
                break;
        }
        fin = (k == n) || ckpt_text_sigma_class(c) != 1;
    }
    return fin ? 0x3C2 : 0x3C3;
}

/* ---------------------------------------------------------------- UTF-8 */

int ckpt_text_utf8_next(const uint8_t *s, size_t len, size_t *pos, uint32_t *cp)
{
    size_t p = *pos;
    if (p >= len)
        return -1;
    uint8_t b0 = s[p];
    if (b0 < 0x80) {
        *cp = b0;
        *pos = p + 1;
        return 0;
    }
    int need;
    uint32_t c, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        c = b0 & 0x1F;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        c = b0 & 0x0F;
        min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        c = b0 & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    if (len - p - 1 < (size_t)need)
        return -1;
    for (int k = 1; k <= need; k++) {
        uint8_t b = s[p + (size_t)k];
        if ((b & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    *pos = p + 1 + (size_t)need;
    return 0;
}

size_t ckpt_text_utf8_put(uint32_t c, uint8_t *o)
{
    if (c < 0x80) {
        o[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (uint8_t)(0xC0 | (c >> 6));
        o[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (c >> 12));
        o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (c >> 18));
    o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- MurmurHash3 */

static uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

uint32_t ckpt_text_murmur3_32(const uint8_t *key, size_t len, uint32_t seed)
{
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t nblocks = len / 4;
    for (size_t i = 0; i < nblocks; i++) {
        uint32_t k = (uint32_t)key[4 * i] | ((uint32_t)key[4 * i + 1] << 8) |
                     ((uint32_t)key[4 * i + 2] << 16) | ((uint32_t)key[4 * i + 3] << 24);
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    const uint8_t *tail = key + nblocks * 4;
    uint32_t k1 = 0;
    switch (len & 3) {
    case 3:
        k1 ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        k1 ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        k1 ^= tail[0];
        k1 *= c1;
        k1 = rotl32(k1, 15);
        k1 *= c2;
        h ^= k1;
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* ---------------------------------------------------------------- growth helper */

int ckpt_text_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return -1;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* ---------------------------------------------------------------- string map */

static uint64_t str_hash(const uint8_t *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

void ckpt_text_map_free(ckpt_text_map *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m->ents);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

static int map_rehash(ckpt_text_map *m, size_t nslots)
{
    int64_t *s = malloc(nslots * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < nslots; i++)
        s[i] = -1;
    for (size_t e = 0; e < m->count; e++) {
        size_t i = (size_t)m->ents[e].hash & (nslots - 1);
        while (s[i] >= 0)
            i = (i + 1) & (nslots - 1);
        s[i] = (int64_t)e;
    }
    free(m->slots);
    m->slots = s;
    m->nslots = nslots;
    return 0;
}

int ckpt_text_map_put(ckpt_text_map *m, const uint8_t *key, size_t len, int64_t value,
                      int64_t *existing)
{
    uint64_t h = str_hash(key, len);
    if (existing)
        *existing = -1;
    if (m->nslots) {
        size_t i = (size_t)h & (m->nslots - 1);
        while (m->slots[i] >= 0) {
            const ckpt_text_map_ent *e = &m->ents[m->slots[i]];
            if (e->hash == h && e->len == len && memcmp(m->keys + e->off, key, len) == 0) {
                if (existing)
                    *existing = e->value;
                return 1;
            }
            i = (i + 1) & (m->nslots - 1);
        }
    }
    if (m->count >= (size_t)INT64_MAX / 2)
        return -1;
    if ((m->count + 1) * 2 > m->nslots) {
        size_t ns = m->nslots ? m->nslots * 2 : 64;
        while ((m->count + 1) * 2 > ns)
            ns *= 2;
        if (map_rehash(m, ns) != 0)
            return -1;
    }
    if (len > SIZE_MAX - m->keys_len)
        return -1;
    if (ckpt_text_grow((void **)&m->keys, &m->keys_cap, m->keys_len + len + 1, 1) != 0 ||
        ckpt_text_grow((void **)&m->ents, &m->ents_cap, m->count + 1, sizeof *m->ents) != 0)
        return -1;
    if (len)
        memcpy(m->keys + m->keys_len, key, len);
    ckpt_text_map_ent *e = &m->ents[m->count];
    e->off = m->keys_len;
    e->len = len;
    e->hash = h;
    e->value = value;
    m->keys_len += len;
    size_t i = (size_t)h & (m->nslots - 1);
    while (m->slots[i] >= 0)
        i = (i + 1) & (m->nslots - 1);
    m->slots[i] = (int64_t)m->count;
    m->count++;
    return 0;
}

int ckpt_text_map_get(const ckpt_text_map *m, const uint8_t *key, size_t len, int64_t *value)
{
    if (!m || !m->nslots)
        return 0;
    uint64_t h = str_hash(key, len);
    size_t i = (size_t)h & (m->nslots - 1);
    while (m->slots[i] >= 0) {
        const ckpt_text_map_ent *e = &m->ents[m->slots[i]];
        if (e->hash == h && e->len == len && memcmp(m->keys + e->off, key, len) == 0) {
            if (value)
                *value = e->value;
            return 1;
        }
        i = (i + 1) & (m->nslots - 1);
    }
    return 0;
}

int ckpt_text_map_english(ckpt_text_map *m)
{
    for (size_t i = 0; i < ckpt_text_english_stop_word_count; i++) {
        const char *w = ckpt_text_english_stop_words[i];
        if (ckpt_text_map_put(m, (const uint8_t *)w, strlen(w), 1, NULL) < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- analyzer */

void ckpt_text_ws_free(ckpt_text_ws *w)
{
    if (!w)
        return;
    free(w->cps);
    free(w->low);
    free(w->tok);
    free(w->tok_off);
    free(w->gram);
    free(w->cols);
    free(w->vals);
    memset(w, 0, sizeof *w);
}

ckpt_status ckpt_text_analyze(const ckpt_text_analyzer *a, ckpt_text_ws *w, const uint8_t *doc,
                              size_t len, ckpt_text_emit_fn emit, void *user, ckpt_error *err)
{
    /* 1. decode (strict UTF-8, like bytes.decode('utf-8')) */
    size_t n = 0, pos = 0;
    if (ckpt_text_grow((void **)&w->cps, &w->cps_cap, len + 1, sizeof *w->cps) != 0)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "text: out of memory for %zu bytes", len);
    while (pos < len) {
        uint32_t c;
        size_t at = pos;
        if (ckpt_text_utf8_next(doc, len, &pos, &c) != 0)
            return ckpt_error_set(err, CKPT_E_INPUT, (int64_t)at,
                                  "text: invalid UTF-8 at byte %zu of the document", at);
        w->cps[n++] = c;
    }
    /* 2. lowercase (up to 3 code points each) */
    const uint32_t *s = w->cps;
    size_t m = n;
    if (a->lowercase) {
        if (n > SIZE_MAX / 3 ||
            ckpt_text_grow((void **)&w->low, &w->low_cap, 3 * n + 1, sizeof *w->low) != 0)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "text: out of memory lowercasing");
        m = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t c = w->cps[i];
            if (c == 0x3A3) {
                w->low[m++] = final_sigma(w->cps, n, i);
            } else {
                uint32_t o[3];
                int k = ckpt_text_lower_cp(c, o);
                for (int j = 0; j < k; j++)
                    w->low[m++] = o[j];
            }
        }
        s = w->low;
    }
    /* 3. tokens: maximal runs of \w with >= min_token_cps code points */
    w->ntok = 0;
    size_t tlen = 0;
    if (m > SIZE_MAX / 4 ||
        ckpt_text_grow((void **)&w->tok, &w->tok_cap, 4 * m + 1, 1) != 0 ||
        ckpt_text_grow((void **)&w->tok_off, &w->tok_off_cap, m + 2, sizeof *w->tok_off) != 0)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "text: out of memory tokenizing");
    w->tok_off[0] = 0;
    size_t i = 0;
    while (i < m) {
        if (!ckpt_text_is_word(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < m && ckpt_text_is_word(s[j]))
            j++;
        if (j - i >= (size_t)a->min_token_cps) {
            size_t start = tlen;
            for (size_t k = i; k < j; k++)
                tlen += ckpt_text_utf8_put(s[k], w->tok + tlen);
            if (a->stop && ckpt_text_map_get(a->stop, w->tok + start, tlen - start, NULL)) {
                tlen = start; /* stop word: dropped before n-grams */
            } else {
                w->ntok++;
                w->tok_off[w->ntok] = tlen;
            }
        }
        i = j;
    }
    /* 4. n-grams, in _word_ngrams order */
    size_t nt = w->ntok;
    int nmin = a->ngram_min < 1 ? 1 : a->ngram_min;
    for (size_t g = (size_t)nmin; g <= (size_t)a->ngram_max && g <= nt; g++) {
        for (size_t t = 0; t + g <= nt; t++) {
            const uint8_t *p = w->tok + w->tok_off[t];
            size_t plen = w->tok_off[t + g] - w->tok_off[t];
            if (g > 1) {
                /* join with single spaces: token bytes are contiguous, so copy
                   each token and put a space between */
                size_t need = plen + (g - 1);
                if (ckpt_text_grow((void **)&w->gram, &w->gram_cap, need + 1, 1) != 0)
                    return ckpt_error_set(err, CKPT_E_NOMEM, -1, "text: out of memory (n-gram)");
                size_t q = 0;
                for (size_t u = t; u < t + g; u++) {
                    size_t ul = w->tok_off[u + 1] - w->tok_off[u];
                    if (u > t)
                        w->gram[q++] = ' ';
                    memcpy(w->gram + q, w->tok + w->tok_off[u], ul);
                    q += ul;
                }
                p = w->gram;
                plen = q;
            }
            ckpt_status st = emit(user, p, plen, err);
            if (st != CKPT_OK)
                return st;
        }
    }
    return CKPT_OK;
}
