/*
 * text_load.c - read CountVectorizer / TfidfVectorizer / HashingVectorizer /
 * TfidfTransformer state from the pickle graph into a ckpt_text_vec.
 *
 * Supported: analyzer='word', no custom tokenizer/preprocessor, token_pattern
 * (?u)\b\w\w+\b (the default) or (?u)\b\w+\b (with or without the (?u) flag,
 * which is the default for str patterns), lowercase, strip_accents=None,
 * stop_words None / 'english' / a list, ngram_range, binary, vocabulary_
 * (values may be Python ints or numpy scalars), idf_ or _idf_diag (a scipy
 * dia_matrix, scikit-learn < 1.3), norm, use_idf, sublinear_tf, n_features,
 * alternate_sign.  Anything else is CKPT_E_UNSUPPORTED with the reason.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text_engine.h"
#include "tree_internal.h"

#define TEXT_MAX_VOCAB ((int64_t)1 << 28)

static int cls_is(const char *cls, const char *name)
{
    if (!cls || strncmp(cls, "sklearn.", 8) != 0)
        return 0;
    const char *dot = strrchr(cls, '.');
    return dot && strcmp(dot + 1, name) == 0;
}

int ckpt_text_knows(const char *cls)
{
    return cls_is(cls, "CountVectorizer") || cls_is(cls, "TfidfVectorizer") ||
           cls_is(cls, "HashingVectorizer") || cls_is(cls, "TfidfTransformer");
}

static int is_none(const ckpt_value *v) { return !v || ckpt_value_kind(v) == CKPT_K_NONE; }

static int bool_attr(const ckpt_value *est, const char *name, int dflt)
{
    const ckpt_value *v = ckpt_value_attr(est, name);
    int64_t i;
    if (!v || ckpt_tree_num_i64(v, &i) != 0)
        return dflt;
    return i != 0;
}

static ckpt_status unsupported(ckpt_error *err, const char *cls, const char *what)
{
    return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s: %s is not supported", cls, what);
}

static ckpt_status read_norm(const ckpt_value *est, const char *cls, int *norm, ckpt_error *err)
{
    const ckpt_value *n = ckpt_value_attr(est, "norm");
    if (is_none(n))
        *norm = 0;
    else if (ckpt_value_is_str(n, "l2"))
        *norm = 2;
    else if (ckpt_value_is_str(n, "l1"))
        *norm = 1;
    else
        return unsupported(err, cls, "this norm");
    return CKPT_OK;
}

static ckpt_status read_analyzer(const ckpt_value *est, const char *cls, ckpt_text_vec *v,
                                 ckpt_error *err)
{
    const ckpt_value *an = ckpt_value_attr(est, "analyzer");
    if (an && !ckpt_value_is_str(an, "word"))
        return unsupported(err, cls, "an analyzer other than 'word'");
    if (!is_none(ckpt_value_attr(est, "tokenizer")))
        return unsupported(err, cls, "a custom tokenizer");
    if (!is_none(ckpt_value_attr(est, "preprocessor")))
        return unsupported(err, cls, "a custom preprocessor");
    if (!is_none(ckpt_value_attr(est, "strip_accents")))
        return unsupported(err, cls, "strip_accents");
    const ckpt_value *inp = ckpt_value_attr(est, "input");
    if (inp && !ckpt_value_is_str(inp, "content"))
        return unsupported(err, cls, "input other than 'content'");
    const ckpt_value *tp = ckpt_value_attr(est, "token_pattern");
    v->an.min_token_cps = 2;
    if (tp) {
        size_t n;
        const uint8_t *s = ckpt_value_bytes(tp, &n);
        if (ckpt_value_kind(tp) != CKPT_K_STR)
            return unsupported(err, cls, "a non-string token_pattern");
        if (n >= 4 && memcmp(s, "(?u)", 4) == 0) {
            s += 4;
            n -= 4;
        }
        if (n == 9 && memcmp(s, "\\b\\w\\w+\\b", 9) == 0)
            v->an.min_token_cps = 2;
        else if (n == 7 && memcmp(s, "\\b\\w+\\b", 7) == 0)
            v->an.min_token_cps = 1;
        else
            return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1,
                                  "%s: token_pattern %.*s is not supported (only \\b\\w\\w+\\b "
                                  "and \\b\\w+\\b)",
                                  cls, (int)(n > 80 ? 80 : n), (const char *)s);
    }
    v->an.lowercase = bool_attr(est, "lowercase", 1);
    v->an.ngram_min = v->an.ngram_max = 1;
    const ckpt_value *ng = ckpt_value_attr(est, "ngram_range");
    if (ng) {
        int64_t a, b;
        if (ckpt_value_len(ng) != 2 || ckpt_tree_num_i64(ckpt_value_item(ng, 0), &a) != 0 ||
            ckpt_tree_num_i64(ckpt_value_item(ng, 1), &b) != 0 || a < 1 || b < a || b > 64)
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: bad ngram_range", cls);
        v->an.ngram_min = (int)a;
        v->an.ngram_max = (int)b;
    }
    const ckpt_value *sw = ckpt_value_attr(est, "stop_words");
    if (!is_none(sw)) {
        if (ckpt_value_is_str(sw, "english")) {
            if (ckpt_text_map_english(&v->stop) != 0)
                return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        } else {
            ckpt_kind k = ckpt_value_kind(sw);
            if (k != CKPT_K_LIST && k != CKPT_K_TUPLE && k != CKPT_K_SET && k != CKPT_K_FROZENSET)
                return unsupported(err, cls, "this stop_words value");
            for (size_t i = 0; i < ckpt_value_len(sw); i++) {
                const ckpt_value *w = ckpt_value_item(sw, i);
                size_t n;
                const uint8_t *s = ckpt_value_bytes(w, &n);
                if (ckpt_value_kind(w) != CKPT_K_STR)
                    return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: a stop word is not a str",
                                          cls);
                if (ckpt_text_map_put(&v->stop, s, n, 1, NULL) < 0)
                    return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            }
        }
        v->an.stop = &v->stop;
    }
    v->binary = bool_attr(est, "binary", 0);
    return CKPT_OK;
}

static ckpt_status read_vocab(ckpt_file *f, const ckpt_value *est, const char *cls,
                              ckpt_text_vec *v, ckpt_error *err)
{
    (void)f;
    const ckpt_value *voc = ckpt_value_attr(est, "vocabulary_");
    if (ckpt_value_kind(voc) != CKPT_K_DICT)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: vocabulary_ missing (not fitted?)", cls);
    size_t n = ckpt_value_len(voc);
    if ((int64_t)n > TEXT_MAX_VOCAB)
        return ckpt_error_set(err, CKPT_E_LIMIT, -1, "%s: vocabulary of %zu terms", cls, n);
    for (size_t i = 0; i < n; i++) {
        const ckpt_value *k = ckpt_value_dict_key(voc, i);
        int64_t col;
        size_t kl;
        const uint8_t *ks = ckpt_value_bytes(k, &kl);
        if (ckpt_value_kind(k) != CKPT_K_STR ||
            ckpt_tree_num_i64(ckpt_value_dict_val(voc, i), &col) != 0 || col < 0 ||
            col >= (int64_t)n)
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: vocabulary_ entry %zu is malformed",
                                  cls, i);
        int r = ckpt_text_map_put(&v->vocab, ks, kl, col, NULL);
        if (r < 0)
            return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        if (r == 1)
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: duplicate vocabulary term", cls);
    }
    v->n_features = (int64_t)n;
    return CKPT_OK;
}

/* TfidfTransformer state (standalone, or TfidfVectorizer._tfidf). */
static ckpt_status read_tfidf(ckpt_file *f, const ckpt_value *tf, const char *cls,
                              ckpt_text_vec *v, int64_t n_features, ckpt_error *err)
{
    ckpt_status st = read_norm(tf, cls, &v->norm, err);
    if (st != CKPT_OK)
        return st;
    v->use_idf = bool_attr(tf, "use_idf", 1);
    v->sublinear_tf = bool_attr(tf, "sublinear_tf", 0);
    if (!v->use_idf)
        return CKPT_OK;
    const ckpt_value *idf = ckpt_value_attr(tf, "idf_");
    const ckpt_value *src = idf;
    int64_t want = n_features;
    if (is_none(idf)) {
        /* scikit-learn < 1.3: a scipy.sparse dia_matrix whose data row is idf */
        const ckpt_value *dia = ckpt_value_attr(tf, "_idf_diag");
        src = ckpt_value_attr(dia, "data");
        if (!src)
            return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: neither idf_ nor _idf_diag", cls);
    }
    const ckpt_array_info *a;
    size_t idx;
    st = ckpt_tree_array(f, src, &idx, &a, err);
    if (st != CKPT_OK)
        return st;
    int64_t n = a->ndim == 2 ? a->shape[1] : (a->ndim == 1 ? a->shape[0] : -1);
    if (a->ndim == 2 && a->shape[0] != 1)
        n = -1;
    if (n < 0 || (want >= 0 && n != want) || n > TEXT_MAX_VOCAB)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: idf has %lld entries, expected %lld",
                              cls, (long long)n, (long long)want);
    v->idf = malloc((size_t)(n ? n : 1) * sizeof *v->idf);
    if (!v->idf)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    for (int64_t k = 0; k < n; k++)
        v->idf[k] = ckpt_array_get_f64(f, idx, (uint64_t)k);
    if (want < 0)
        v->n_features = n;
    return CKPT_OK;
}

ckpt_status ckpt_text_vec_load(ckpt_file *f, const ckpt_value *est, ckpt_text_vec *v,
                               ckpt_error *err)
{
    memset(v, 0, sizeof *v);
    const char *cls = ckpt_value_class(est);
    ckpt_status st;
    if (cls_is(cls, "TfidfTransformer")) {
        v->kind = CKPT_TEXT_TFIDF;
        v->n_features = -1;
        st = read_tfidf(f, est, cls, v, -1, err);
        if (st == CKPT_OK && !v->use_idf)
            v->n_features = 0; /* any width */
    } else if (cls_is(cls, "HashingVectorizer")) {
        v->kind = CKPT_TEXT_HASHING;
        st = read_analyzer(est, cls, v, err);
        int64_t nf;
        if (st == CKPT_OK &&
            (ckpt_tree_num_i64(ckpt_value_attr(est, "n_features"), &nf) != 0 || nf < 1 ||
             nf > INT32_MAX))
            st = ckpt_error_set(err, CKPT_E_MODEL, -1, "%s: bad n_features", cls);
        if (st == CKPT_OK) {
            v->n_features = nf;
            v->alternate_sign = bool_attr(est, "alternate_sign", 1);
            if (bool_attr(est, "non_negative", 0))
                st = unsupported(err, cls, "non_negative=True (scikit-learn < 0.21)");
        }
        if (st == CKPT_OK)
            st = read_norm(est, cls, &v->norm, err);
    } else if (cls_is(cls, "CountVectorizer") || cls_is(cls, "TfidfVectorizer")) {
        int tfidf = cls_is(cls, "TfidfVectorizer");
        v->kind = tfidf ? CKPT_TEXT_TFIDF_VEC : CKPT_TEXT_COUNT;
        st = read_analyzer(est, cls, v, err);
        if (st == CKPT_OK)
            st = read_vocab(f, est, cls, v, err);
        if (st == CKPT_OK && tfidf) {
            const ckpt_value *tf = ckpt_value_attr(est, "_tfidf");
            st = read_tfidf(f, tf ? tf : est, cls, v, v->n_features, err);
        }
    } else {
        st = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s is not a text vectorizer",
                            cls ? cls : "?");
    }
    if (st != CKPT_OK)
        ckpt_text_vec_free(v);
    return st;
}
