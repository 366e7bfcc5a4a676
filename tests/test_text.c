/*
 * test_text.c - the text vectorizers of models/text (made by
 * models/make_text.py with Debian's scikit-learn) and of ../shared/realworld:
 * documents in, sparse rows out, compared entry by entry with what
 * scikit-learn's transform() returned (same non-zeros, values within 1e-9).
 * Also: the tokenizer's Unicode behaviour on fixed strings, MurmurHash3
 * against sklearn.utils.murmurhash3_32 values, invalid UTF-8 refused.
 *
 * Pipelines ending in a classifier are checked through the public model API
 * in test_text_model.c.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "util_test.h"
#include "../runtime/text_engine.h"
#include "../runtime/text_internal.h"

#define REL 1e-9
#define ABS 1e-12

/* A vectorizer, optionally followed by TfidfTransformer (a Pipeline). */
typedef struct chain {
    ckpt_text_vec v[4];
    int n;
} chain;

static ckpt_status chain_load(ckpt_file *f, const ckpt_value *root, chain *c, ckpt_error *err)
{
    memset(c, 0, sizeof *c);
    const char *cls = ckpt_value_class(root);
    if (cls && strstr(cls, "Pipeline")) {
        const ckpt_value *steps = ckpt_value_attr(root, "steps");
        for (size_t i = 0; i < ckpt_value_len(steps) && c->n < 4; i++) {
            const ckpt_value *est = ckpt_value_item(ckpt_value_item(steps, i), 1);
            if (!ckpt_text_knows(ckpt_value_class(est)))
                return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "step %zu is not text", i);
            ckpt_status st = ckpt_text_vec_load(f, est, &c->v[c->n], err);
            if (st != CKPT_OK)
                return st;
            c->n++;
        }
        return c->n ? CKPT_OK : ckpt_error_set(err, CKPT_E_MODEL, -1, "empty pipeline");
    }
    ckpt_status st = ckpt_text_vec_load(f, root, &c->v[0], err);
    if (st == CKPT_OK)
        c->n = 1;
    return st;
}

static void chain_free(chain *c)
{
    for (int i = 0; i < c->n; i++)
        ckpt_text_vec_free(&c->v[i]);
}

static ckpt_status chain_run(const chain *c, const char *const *docs, size_t n, ckpt_text_csr *out,
                             ckpt_error *err)
{
    ckpt_text_ws ws;
    memset(&ws, 0, sizeof ws);
    ckpt_status st = ckpt_text_vec_transform_docs(&c->v[0], &ws, docs, NULL, n, out, err);
    for (int i = 1; st == CKPT_OK && i < c->n; i++)
        st = ckpt_text_tfidf_inplace(&c->v[i], out, err);
    ckpt_text_ws_free(&ws);
    return st;
}

/* Compare a CSR with {"sparse_coo": true, shape, row, col, data}. */
static void check_sparse(const char *what, const ckpt_text_csr *m, const cJSON *exp)
{
    const cJSON *shape = cJSON_GetObjectItem(exp, "shape");
    const cJSON *rows = cJSON_GetObjectItem(exp, "row");
    const cJSON *cols = cJSON_GetObjectItem(exp, "col");
    const cJSON *data = cJSON_GetObjectItem(exp, "data");
    CHECKF(cJSON_IsTrue(cJSON_GetObjectItem(exp, "sparse_coo")), "%s: sparse form", what);
    CHECKF(m->rows == cJSON_GetArrayItem(shape, 0)->valuedouble &&
               m->cols == cJSON_GetArrayItem(shape, 1)->valuedouble,
           "%s: shape %lldx%lld vs %gx%g", what, (long long)m->rows, (long long)m->cols,
           cJSON_GetArrayItem(shape, 0)->valuedouble, cJSON_GetArrayItem(shape, 1)->valuedouble);
    int ne = cJSON_GetArraySize(data);
    CHECKF((size_t)ne == m->nnz, "%s: %zu stored entries vs %d", what, m->nnz, ne);
    int bad = 0;
    const cJSON *r = rows ? rows->child : NULL, *c = cols ? cols->child : NULL,
                *d = data ? data->child : NULL;
    for (; r && c && d && !bad; r = r->next, c = c->next, d = d->next) {
        int64_t row = (int64_t)r->valuedouble, col = (int64_t)c->valuedouble;
        int found = 0;
        if (row >= 0 && row < m->rows)
            for (int64_t k = m->indptr[row]; k < m->indptr[row + 1]; k++)
                if (m->indices[k] == col) {
                    found = 1;
                    if (!tu_close(m->data[k], d->valuedouble, REL, ABS)) {
                        CHECKF(0, "%s: [%lld,%lld] %.17g vs %.17g", what, (long long)row,
                               (long long)col, m->data[k], d->valuedouble);
                        bad = 1;
                    }
                    break;
                }
        if (!found) {
            CHECKF(0, "%s: entry [%lld,%lld] missing", what, (long long)row, (long long)col);
            bad = 1;
        }
    }
    CHECKF(!bad, "%s: every entry matches", what);
}

static void run_doc(const char *path, const cJSON *doc, const char *what)
{
    const cJSON *exp = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "outputs"), "transform");
    if (!exp)
        return; /* classifier pipelines: test_text_model.c */
    ckpt_file *f = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_open(path, NULL, &f, &err);
    CHECKF(st == CKPT_OK, "%s: open -> %s (%s)", what, ckpt_status_str(st), err.message);
    if (st != CKPT_OK)
        return;
    chain c;
    st = chain_load(f, ckpt_file_root(f), &c, &err);
    CHECKF(st == CKPT_OK, "%s: load -> %s (%s)", what, ckpt_status_str(st), err.message);
    if (st == CKPT_OK) {
        const cJSON *inputs = cJSON_GetObjectItem(doc, "inputs");
        size_t n = (size_t)cJSON_GetArraySize(inputs);
        const char **docs = calloc(n + 1, sizeof *docs);
        size_t i = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, inputs) docs[i++] = s->valuestring;
        ckpt_text_csr out;
        memset(&out, 0, sizeof out);
        st = chain_run(&c, docs, n, &out, &err);
        CHECKF(st == CKPT_OK, "%s: transform -> %s (%s)", what, ckpt_status_str(st), err.message);
        if (st == CKPT_OK)
            check_sparse(what, &out, exp);
        ckpt_text_csr_free(&out);
        free(docs);
    }
    chain_free(&c);
    ckpt_close(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fixtures(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_model_path("text"));
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "models/text exists");
    if (!d)
        return;
    char *names[256];
    int nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    CHECKF(nn >= 20, "at least 20 text fixtures (%d)", nn);
    for (int i = 0; i < nn; i++) {
        char p[1400], base[256];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        cJSON *doc = tu_load_json(p);
        if (doc) {
            const char *ext[] = {".pkl", ".joblib"};
            for (int k = 0; k < 2; k++) {
                char mp[1800], what[300];
                snprintf(mp, sizeof mp, "%s/%s%s", dir, base, ext[k]);
                snprintf(what, sizeof what, "%s%s", base, ext[k]);
                run_doc(mp, doc, what);
            }
            cJSON_Delete(doc);
        }
        free(names[i]);
    }
}

static void realworld(void)
{
    static const char *const files[] = {
        "danish45007__NLP-Deployment-Herok__tranform.pkl",
        "jhklarcher__detector-fake-news__tfidf_vectorizer.pkl.z",
    };
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real-world vectorizers not checked");
        return;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char fp[1200], jp[1200];
        snprintf(fp, sizeof fp, "%s/files/%s", tu_realworld_dir, files[i]);
        snprintf(jp, sizeof jp, "%s/expected/%s.json", tu_realworld_dir, files[i]);
        cJSON *doc = tu_load_json(jp);
        if (!doc)
            continue;
        run_doc(fp, doc, files[i]);
        cJSON_Delete(doc);
    }
}

/* Tokens of one document joined with '|'. */
static ckpt_status collect(void *user, const uint8_t *feat, size_t len, ckpt_error *err)
{
    (void)err;
    char *buf = user;
    size_t o = strlen(buf);
    if (o + len + 2 < 512) {
        memcpy(buf + o, feat, len);
        buf[o + len] = '|';
        buf[o + len + 1] = 0;
    }
    return CKPT_OK;
}

static void tokenizer(void)
{
    /* expected strings are what sklearn's build_analyzer() returns for these
       documents (CountVectorizer(ngram_range=(1, 2)) and default), joined with '|' */
    static const struct {
        int ngmax;
        const char *doc, *want;
    } cases[] = {
        {1, "The quick brown fox", "the|quick|brown|fox|"},
        {1, "a b c de", "de|"},
        {1, "\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\x99\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3",
         /* ΟΔΟΣ ΣΙΣΥΦΟΣ -> οδος σισυφος (final sigma) */
         "\xce\xbf\xce\xb4\xce\xbf\xcf\x82|\xcf\x83\xce\xb9\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82|"},
        /* İstanbul lowers to i + U+0307 (not \w): the token is "stanbul" */
        {1, "\xc4\xb0stanbul", "stanbul|"},
        {1, "under_score 42 x\xc2\xb2", "under_score|42|x\xc2\xb2|"},
        {2, "one two three", "one|two|three|one two|two three|"},
        {1, "\xe6\x9c\xba\xe5\x99\xa8\xe5\xad\xa6\xe4\xb9\xa0", "\xe6\x9c\xba\xe5\x99\xa8\xe5\xad\xa6\xe4\xb9\xa0|"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ckpt_text_analyzer a = {1, 2, 1, cases[i].ngmax, NULL};
        ckpt_text_ws ws;
        memset(&ws, 0, sizeof ws);
        char got[512] = "";
        ckpt_status st = ckpt_text_analyze(&a, &ws, (const uint8_t *)cases[i].doc,
                                           strlen(cases[i].doc), collect, got, NULL);
        CHECK_STATUS(st, CKPT_OK);
        CHECKF(strcmp(got, cases[i].want) == 0, "tokens of case %zu: %s vs %s", i, got,
               cases[i].want);
        ckpt_text_ws_free(&ws);
    }
    /* invalid UTF-8 is refused like bytes.decode('utf-8') */
    static const char *const badutf[] = {"ab\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                         "abc\xe2\x82"};
    for (size_t i = 0; i < sizeof badutf / sizeof badutf[0]; i++) {
        ckpt_text_analyzer a = {1, 2, 1, 1, NULL};
        ckpt_text_ws ws;
        memset(&ws, 0, sizeof ws);
        char got[512] = "";
        ckpt_error err;
        ckpt_error_clear(&err);
        ckpt_status st = ckpt_text_analyze(&a, &ws, (const uint8_t *)badutf[i], strlen(badutf[i]),
                                           collect, got, &err);
        CHECKF(st == CKPT_E_INPUT, "invalid UTF-8 case %zu -> %s", i, ckpt_status_str(st));
        ckpt_text_ws_free(&ws);
    }
    /* sklearn.utils.murmurhash3_32(s, seed=0) for these strings */
    static const struct {
        const char *s;
        int32_t h;
    } mm[] = {{"", 0}, {"a", 1009084850}, {"hello", 613153351}, {"the quick", -112969417},
              {"\xc3\xa9t\xc3\xa9", 865297935}};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        int32_t h = (int32_t)ckpt_text_murmur3_32((const uint8_t *)mm[i].s, strlen(mm[i].s), 0);
        CHECKF(h == mm[i].h, "murmurhash3_32(%s) = %d, sklearn %d", mm[i].s, h, mm[i].h);
    }
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tokenizer();
    fixtures();
    realworld();
    return tu_finish();
}
