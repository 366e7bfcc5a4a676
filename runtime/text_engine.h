/*
 * text_engine.h - string map, analyzer and vectorizer engine (runtime/text*.c).
 *
 * A ckpt_text_vec is the prediction-time state of one CountVectorizer,
 * TfidfVectorizer, HashingVectorizer or TfidfTransformer, read from the
 * pickle once; transforming documents then allocates nothing per call beyond
 * the growth of the caller's workspace and output CSR.
 */
#ifndef CKPT_TEXT_ENGINE_H
#define CKPT_TEXT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt_common.h"
#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"
#include "ckpt/ckpt_pickle.h"

/* Grow *p (elements of `elem` bytes) to hold `need`; 0 ok, -1 overflow/NOMEM. */
int ckpt_text_grow(void **p, size_t *cap, size_t need, size_t elem);

/* ---- byte-string -> int64 map (open addressing) */
typedef struct ckpt_text_map_ent {
    size_t off, len;
    uint64_t hash;
    int64_t value;
} ckpt_text_map_ent;

typedef struct ckpt_text_map {
    int64_t *slots; /* entry index or -1 */
    size_t nslots;
    ckpt_text_map_ent *ents;
    size_t count, ents_cap;
    uint8_t *keys;
    size_t keys_len, keys_cap;
} ckpt_text_map;

/* 0 inserted, 1 key existed (*existing = its value, not replaced), -1 NOMEM. */
int ckpt_text_map_put(ckpt_text_map *m, const uint8_t *key, size_t len, int64_t value,
                      int64_t *existing);
/* 1 found (*value set when non-NULL), 0 absent. */
int ckpt_text_map_get(const ckpt_text_map *m, const uint8_t *key, size_t len, int64_t *value);
void ckpt_text_map_free(ckpt_text_map *m);
/* Add sklearn's ENGLISH_STOP_WORDS. */
int ckpt_text_map_english(ckpt_text_map *m);

/* ---- analyzer (analyzer='word') */
typedef struct ckpt_text_analyzer {
    int lowercase;
    int min_token_cps;       /* 2 for (?u)\b\w\w+\b, 1 for (?u)\b\w+\b */
    int ngram_min, ngram_max;
    const ckpt_text_map *stop; /* NULL: no stop words */
} ckpt_text_analyzer;

/* Per-thread scratch; zero-initialize, reuse across calls, ckpt_text_ws_free. */
typedef struct ckpt_text_ws {
    uint32_t *cps;
    size_t cps_cap;
    uint32_t *low;
    size_t low_cap;
    uint8_t *tok;
    size_t tok_cap;
    size_t *tok_off;
    size_t tok_off_cap, ntok;
    uint8_t *gram;
    size_t gram_cap;
    int64_t *cols; /* one document's feature columns before sorting */
    size_t cols_cap;
    double *vals;
    size_t vals_cap;
} ckpt_text_ws;

void ckpt_text_ws_free(ckpt_text_ws *w);

typedef ckpt_status (*ckpt_text_emit_fn)(void *user, const uint8_t *feat, size_t len,
                                         ckpt_error *err);

/* Run the analyzer over one UTF-8 document, calling emit for every feature
   (token or n-gram) in scikit-learn's order.  CKPT_E_INPUT on invalid UTF-8. */
ckpt_status ckpt_text_analyze(const ckpt_text_analyzer *a, ckpt_text_ws *w, const uint8_t *doc,
                              size_t len, ckpt_text_emit_fn emit, void *user, ckpt_error *err);

/* ---- CSR matrix of float64 (the vectorizers' output): the public ckpt_csr,
   grown with realloc like ckpt_model_run's CSR outputs */
typedef ckpt_csr ckpt_text_csr;

/* The public ckpt_csr_free (a ckpt_text_csr is a ckpt_csr). */
static inline void ckpt_text_csr_free(ckpt_text_csr *m)
{
    ckpt_csr_free(m);
}

/* ---- one vectorizer / transformer */
typedef enum ckpt_text_kind {
    CKPT_TEXT_COUNT = 1,   /* CountVectorizer */
    CKPT_TEXT_TFIDF_VEC,   /* TfidfVectorizer (count + tfidf) */
    CKPT_TEXT_HASHING,     /* HashingVectorizer */
    CKPT_TEXT_TFIDF        /* TfidfTransformer (sparse in, sparse out) */
} ckpt_text_kind;

typedef struct ckpt_text_vec {
    ckpt_text_kind kind;
    ckpt_text_analyzer an;
    ckpt_text_map vocab;      /* COUNT / TFIDF_VEC */
    ckpt_text_map stop;       /* owned stop words (an.stop points here or is NULL) */
    int64_t n_features;       /* columns of the output */
    int binary;
    /* tf-idf part (TFIDF_VEC, TFIDF) */
    int use_idf, sublinear_tf;
    double *idf;              /* n_features, when use_idf */
    int norm;                 /* 0 none, 1 l1, 2 l2 (TFIDF_VEC, TFIDF, HASHING) */
    /* hashing */
    int alternate_sign;
} ckpt_text_vec;

void ckpt_text_vec_free(ckpt_text_vec *v);

/* 1 if cls (canonical "module.Name") is CountVectorizer, TfidfVectorizer,
   HashingVectorizer or TfidfTransformer. */
int ckpt_text_knows(const char *cls);
/* Read one of those from its graph node (runtime/text_load.c). */
ckpt_status ckpt_text_vec_load(ckpt_file *f, const ckpt_value *est, ckpt_text_vec *v,
                               ckpt_error *err);

/* Documents -> CSR (appends rows to out, which may start zeroed). */
ckpt_status ckpt_text_vec_transform_docs(const ckpt_text_vec *v, ckpt_text_ws *w,
                                         const char *const *docs, const size_t *lens,
                                         size_t ndocs, ckpt_text_csr *out, ckpt_error *err);
/* TfidfTransformer on a CSR in place (its column count must be n_features). */
ckpt_status ckpt_text_tfidf_inplace(const ckpt_text_vec *v, ckpt_text_csr *m, ckpt_error *err);

#endif
