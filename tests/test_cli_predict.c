/*
 * test_cli_predict.c - ckpt-predict as a user runs it, on the fixtures of
 * models/sklearn, models/trees, models/text (made by scikit-learn 1.2.1) and
 * models/layers (PyTorch 1.13): every method Python ran is run through the
 * binary with --json on the fixture's inputs written as CSV (every other
 * fixture with a header line, NaN as "nan") or as one document per line
 * (--text on every other text fixture), and compared with Python's outputs:
 * labels identical (strings, ints, bools), numbers within 1e-9 relative
 * (float32 sklearn fixtures: rows given with --dtype float32, float32 results within
 * 4 float32 ulps and float64 ones at 1e-9, then --dtype float64 against the
 * float64-row outputs; other float32 / float16 / bfloat16 models 1e-5; GradientBoosting with a
 * float32-fitted linear init_ at 1e-9 too: its init_ gets float32 rows, as in
 * scikit-learn), the output's shape
 * (1-D / 2-D like scikit-learn's), sparse outputs in the sparse_coo form.
 * The plain-text output has one line per row whose numbers read back to
 * exactly the --json numbers (shortest round-trip text, <= 17 digits).
 * Errors: wrong column count, a non-number, NaN for a model that cannot take
 * it: exit 1 and the message names the row and its line.  Usage errors exit
 * 2; --help / --version exit 0.  The binary is found next to this test in the
 * build tree (<build>/tests/../tools/ckpt-predict).
 */
#include "util_model.h"
#include "util_test.h"

#include "ckpt/ckpt_common.h"
#include "ckpt/ckpt_file.h"

#include <cjson/cJSON.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tool[4096];
static char tmpdir[256];
static int runs;

/* Run ckpt-predict with args (already quoted); stderr merged into the
   captured output when want_err, else discarded.  malloc'd output. */
static char *run(const char *args, int want_err, int *code)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' %s %s", tool, args, want_err ? "2>&1" : "2>/dev/null");
    runs++;
    FILE *p = popen(cmd, "r");
    if (!p) {
        *code = -1;
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while (out && (got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 4096) {
            char *o2 = realloc(out, cap * 2);
            if (!o2) {
                free(out);
                out = NULL;
                break;
            }
            out = o2;
            cap *= 2;
        }
    }
    if (out)
        out[n] = 0;
    int st = pclose(p);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* ---------------------------------------------------------------- compare */

static int is_label_method(const char *m)
{
    return strcmp(m, "predict") == 0 || strcmp(m, "apply") == 0;
}

/* One expected scalar vs one got scalar. */

static int same_scalar(const cJSON *want, const cJSON *got, const char *method, double rel)
{
    if (cJSON_IsString(want)) {
        if (strcmp(want->valuestring, "inf") == 0 || strcmp(want->valuestring, "-inf") == 0)
            return cJSON_IsString(got) && strcmp(got->valuestring, want->valuestring) == 0;
        return cJSON_IsString(got) && strcmp(got->valuestring, want->valuestring) == 0;
    }
    if (cJSON_IsBool(want))
        return cJSON_IsBool(got) && cJSON_IsTrue(want) == cJSON_IsTrue(got);
    if (cJSON_IsNull(want))
        return cJSON_IsNull(got);
    if (!cJSON_IsNumber(want) || !cJSON_IsNumber(got))
        return 0;
    double w = want->valuedouble, g = got->valuedouble;
    if (is_label_method(method) && w == floor(w) && fabs(w) < 1e15)
        return g == w; /* integer labels, cluster ids, leaf indices: identical */
    return tu_close(g, w, rel, rel * 0.1);
}

/* Dense values of a sparse_coo object (rows x cols), NULL if malformed. */
static double *coo_dense(const cJSON *o, int64_t *rows, int64_t *cols)
{
    const cJSON *flag = cJSON_GetObjectItem(o, "sparse_coo");
    const cJSON *shape = cJSON_GetObjectItem(o, "shape");
    const cJSON *r = cJSON_GetObjectItem(o, "row"), *c = cJSON_GetObjectItem(o, "col"),
                *d = cJSON_GetObjectItem(o, "data");
    if (!cJSON_IsTrue(flag) || cJSON_GetArraySize(shape) != 2 || !cJSON_IsArray(r) ||
        !cJSON_IsArray(c) || !cJSON_IsArray(d))
        return NULL;
    int nz = cJSON_GetArraySize(d);
    if (cJSON_GetArraySize(r) != nz || cJSON_GetArraySize(c) != nz)
        return NULL;
    *rows = (int64_t)cJSON_GetArrayItem(shape, 0)->valuedouble;
    *cols = (int64_t)cJSON_GetArrayItem(shape, 1)->valuedouble;
    if (*rows < 0 || *cols < 0 || *rows > 100000 || *cols > 100000000)
        return NULL;
    double *x = calloc((size_t)(*rows * *cols) + 1, sizeof *x);
    if (!x)
        return NULL;
    const cJSON *ri = r->child, *ci = c->child, *di = d->child;
    for (; di; ri = ri->next, ci = ci->next, di = di->next) {
        int64_t rr = (int64_t)ri->valuedouble, cc = (int64_t)ci->valuedouble;
        if (rr < 0 || rr >= *rows || cc < 0 || cc >= *cols) {
            free(x);
            return NULL;
        }
        x[rr * *cols + cc] += di->valuedouble;
    }
    return x;
}

#define MAX_ROW_LEAVES 4096

/* The scalars of a nested array, depth-first (depth <= 3); count or -1. */
static int leaves(const cJSON *v, const cJSON **out, int n, int depth)
{
    if (!cJSON_IsArray(v)) {
        if (n >= MAX_ROW_LEAVES)
            return -1;
        out[n] = v;
        return n + 1;
    }
    if (depth > 3)
        return -1;
    for (const cJSON *it = v->child; it && n >= 0; it = it->next)
        n = leaves(it, out, n, depth + 1);
    return n;
}

/* got (the "outputs" of ckpt-predict --json) against want (Python's), for
   the input rows kept[0..nk) of want. */
static void compare(const char *what, const char *method, const cJSON *want, const cJSON *got,
                    const int64_t *kept, int64_t nk, double rel)
{
    if (cJSON_IsObject(want)) {
        int64_t wr = 0, wc = 0, gr = 0, gc = 0;
        double *w = coo_dense(want, &wr, &wc);
        double *g = coo_dense(got, &gr, &gc);
        CHECKF(g != NULL, "%s %s: output is not {\"sparse_coo\": true, shape, row, col, data}",
               what, method);
        CHECKF(w && g && gr == nk && gc == wc, "%s %s: sparse shape %lld x %lld, want %lld x %lld",
               what, method, (long long)gr, (long long)gc, (long long)nk, (long long)wc);
        if (w && g && gr == nk && gc == wc) {
            int64_t bad = 0;
            for (int64_t i = 0; i < nk; i++)
                for (int64_t j = 0; j < wc; j++)
                    if (!tu_close(g[i * gc + j], w[kept[i] * wc + j], rel, rel * 0.1))
                        bad++;
            CHECKF(bad == 0, "%s %s: %lld sparse values differ", what, method, (long long)bad);
        }
        free(w);
        free(g);
        return;
    }
    CHECKF(cJSON_IsArray(got) && cJSON_GetArraySize(got) == nk, "%s %s: %d output rows, want %lld",
           what, method, cJSON_GetArraySize(got), (long long)nk);
    if (!cJSON_IsArray(got) || cJSON_GetArraySize(got) != nk)
        return;
    int64_t bad = 0, shape_bad = 0;
    const cJSON *g = got->child;
    for (int64_t i = 0; i < nk; i++, g = g->next) {
        const cJSON *w = cJSON_GetArrayItem(want, (int)kept[i]);
        if (cJSON_IsArray(w)) {
            /* a row; GradientBoosting apply() rows are (n_estimators, K): compare flattened */
            const cJSON *wl[MAX_ROW_LEAVES], *gl[MAX_ROW_LEAVES];
            int nw = leaves(w, wl, 0, 0), ng = leaves(g, gl, 0, 0);
            if (!cJSON_IsArray(g) || nw < 0 || nw != ng) {
                shape_bad++;
                continue;
            }
            for (int k = 0; k < nw; k++)
                if (!same_scalar(wl[k], gl[k], method, rel)) {
                    if (!bad)
                        CHECKF(0, "%s %s row %lld item %d: %.17g vs expected %.17g", what, method,
                               (long long)kept[i], k, gl[k]->valuedouble, wl[k]->valuedouble);
                    bad++;
                }
        } else {
            if (cJSON_IsArray(g)) {
                shape_bad++;
                continue;
            }
            if (!same_scalar(w, g, method, rel)) {
                if (!bad)
                    CHECKF(0, "%s %s row %lld: %s / %.17g vs expected %s / %.17g", what, method,
                           (long long)kept[i], cJSON_IsString(g) ? g->valuestring : "",
                           g->valuedouble, cJSON_IsString(w) ? w->valuestring : "",
                           w->valuedouble);
                bad++;
            }
        }
    }
    CHECKF(shape_bad == 0, "%s %s: %lld rows shaped unlike scikit-learn's (1-D vs 2-D)", what,
           method, (long long)shape_bad);
    CHECKF(bad == 0, "%s %s: %lld values differ", what, method, (long long)bad);
}

/* The plain output: one line per row, fields that read back to exactly the
   --json values (numbers: <= 17 significant digits). */
static void check_plain(const char *what, const char *args, const cJSON *jout, int64_t nk)
{
    int code;
    char *out = run(args, 0, &code);
    CHECKF(out && code == 0, "%s: plain run exit %d", what, code);
    if (!out || code != 0) {
        free(out);
        return;
    }
    int64_t lines = 0;
    int64_t bad = 0;
    const cJSON *row = cJSON_IsArray(jout) ? jout->child : NULL;
    char *next = out;
    while (*next) {
        char *ln = next;
        char *nl = strchr(ln, '\n');
        if (nl) {
            *nl = 0;
            next = nl + 1;
        } else {
            next = ln + strlen(ln);
        }
        lines++;
        if (!row) /* sparse: "col:value col:value" */
            continue;
        const cJSON *lv[MAX_ROW_LEAVES];
        int nl_ = leaves(row, lv, 0, 0), k = 0;
        char *fs = NULL;
        for (char *fld = strtok_r(ln, ",", &fs); fld; fld = strtok_r(NULL, ",", &fs), k++) {
            if (k >= nl_) {
                bad++;
                break;
            }
            const cJSON *item = lv[k];
            if (cJSON_IsNumber(item)) {
                char *end;
                double v = strtod(fld, &end);
                int digits = 0, lead = 1;
                for (const char *p = fld; *p && *p != 'e'; p++) {
                    if (*p >= '1' && *p <= '9')
                        lead = 0;
                    digits += *p >= '0' && *p <= '9' && !lead;
                }
                /* <= 17 significant digits (trailing ".0" of integers aside) */
                if (*end || v != item->valuedouble || digits > 17 + 1)
                    bad++;
            } else if (cJSON_IsString(item)) {
                if (strcmp(fld, item->valuestring) != 0)
                    bad++;
            } else if (cJSON_IsBool(item)) {
                if (strcmp(fld, cJSON_IsTrue(item) ? "True" : "False") != 0)
                    bad++;
            } else if (cJSON_IsNull(item)) {
                if (strcmp(fld, "nan") != 0)
                    bad++;
            }
        }
        if (k != nl_)
            bad++;
        row = row->next;
    }
    CHECKF(lines == nk, "%s: plain output has %lld lines for %lld rows", what, (long long)lines,
           (long long)nk);
    CHECKF(bad == 0, "%s: %lld plain fields do not read back to the --json values", what,
           (long long)bad);
    free(out);
}

/* ---------------------------------------------------------------- fixtures */

static int exists(const char *p)
{
    return access(p, R_OK) == 0;
}

static void one(const char *dir, const char *name, int idx, int use_pt)
{
    char rel[512], what[600];
    snprintf(rel, sizeof rel, "%s/%s.json", dir, name);
    cJSON *doc = tu_load_json(tu_model_path(rel));
    if (!doc)
        return;
    const cJSON *outs = cJSON_GetObjectItem(doc, "outputs");
    const cJSON *ins = cJSON_GetObjectItem(doc, "inputs");
    const cJSON *spec = cJSON_GetObjectItem(doc, "spec");
    const cJSON *dt = cJSON_GetObjectItem(doc, "dtype");
    double rel_tol = cJSON_IsString(dt) && strcmp(dt->valuestring, "float64") != 0 ? 1e-5 : 1e-9;
    const char *model = NULL;
    static const char *exts[] = {".pkl", ".joblib", ".pt"};
    for (size_t e = 0; e < sizeof exts / sizeof *exts && !model; e++) {
        if (strcmp(exts[e], ".pt") == 0 && !use_pt)
            continue;
        if (use_pt && strcmp(exts[e], ".pt") != 0)
            continue;
        snprintf(rel, sizeof rel, "%s/%s%s", dir, name, exts[e]);
        if (exists(tu_model_path(rel)))
            model = tu_model_path(rel);
    }
    snprintf(what, sizeof what, "%s/%s%s", dir, name, use_pt ? ".pt" : "");
    if (!model && cJSON_IsString(spec)) {
        cJSON_Delete(doc); /* bfloat16 has no NumPy dtype: that fixture is .pt only */
        return;
    }
    CHECKF(model != NULL, "%s: no model file", what);
    if (!model) {
        cJSON_Delete(doc);
        return;
    }
    char mcopy[4096];
    snprintf(mcopy, sizeof mcopy, "%s", model);

    /* the input file */
    char inpath[512];
    snprintf(inpath, sizeof inpath, "%s/in_%d", tmpdir, idx);
    int text = cJSON_IsArray(ins) && cJSON_IsString(cJSON_GetArrayItem(ins, 0));
    int64_t n = cJSON_GetArraySize(ins), nk = 0, d = 0;
    int64_t *kept = calloc((size_t)(n > 0 ? n : 1) + 1, sizeof *kept);
    size_t cap = 1 << 16, len = 0;
    char *body = malloc(cap);
    int header = 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int k_ = snprintf(body + len, cap - len, __VA_ARGS__);                                     \
        while (k_ >= 0 && (size_t)k_ >= cap - len) {                                               \
            cap *= 2;                                                                              \
            body = realloc(body, cap);                                                             \
            k_ = snprintf(body + len, cap - len, __VA_ARGS__);                                     \
        }                                                                                          \
        len += (size_t)k_;                                                                         \
    } while (0)
    if (text) {
        int64_t i = 0;
        for (const cJSON *it = ins->child; it; it = it->next, i++) {
            if (strpbrk(it->valuestring, "\r\n"))
                continue; /* one document per line cannot hold a line break */
            kept[nk++] = i;
            APPEND("%s\n", it->valuestring);
        }
    } else {
        double *X = tum_dense_inputs(doc, &n, &d);
        CHECKF(X != NULL, "%s: inputs", what);
        header = idx % 2 == 0;
        if (header)
            for (int64_t c = 0; c < d; c++)
                APPEND("%sfeature_%lld", c ? "," : "", (long long)c);
        if (header)
            APPEND("\n");
        for (int64_t r = 0; X && r < n; r++) {
            kept[nk++] = r;
            for (int64_t c = 0; c < d; c++) {
                double v = X[r * d + c];
                if (v != v)
                    APPEND("%snan", c ? "," : "");
                else
                    APPEND("%s%.17g", c ? "," : "", v);
            }
            APPEND("\n");
        }
        free(X);
    }
#undef APPEND
    CHECKF(write_file(inpath, body) == 0, "%s: write %s", what, inpath);
    free(body);

    char extra[1024] = "";
    if (cJSON_IsString(spec))
        snprintf(extra, sizeof extra, "--layers '%s'", spec->valuestring);
    else if (text && idx % 2)
        snprintf(extra, sizeof extra, "--text");
    int plain_done = 0;
    /* float32 fixtures (scikit-learn's result dtypes recorded): rows read as
       float32 (--dtype float32) must give float32 results within 4 float32
       ulps (relative 4 * 2^-23) where scikit-learn's are float32, 1e-9 where
       they are float64; then the same rows as float64 (--dtype float64)
       against scikit-learn's float64-row outputs */
    const cJSON *odt = cJSON_GetObjectItem(doc, "output_dtypes");
    const cJSON *outs64 = cJSON_GetObjectItem(doc, "outputs_f64in");
    const cJSON *odt64 = cJSON_GetObjectItem(doc, "output_dtypes_f64in");
    for (int pass = 0; pass < (odt && outs64 ? 2 : 1); pass++)
    for (const cJSON *o = (pass ? outs64 : outs) ? (pass ? outs64 : outs)->child : NULL; o;
         o = o->next) {
        char args[8192];
        char extra2[1100];
        double tol = rel_tol;
        if (odt) {
            const cJSON *mdt = cJSON_GetObjectItem(pass ? odt64 : odt, o->string);
            int is32 = cJSON_IsString(mdt) && strcmp(mdt->valuestring, "float32") == 0;
            tol = is32 ? 4 * ldexp(1.0, -23) : 1e-9;
            snprintf(extra2, sizeof extra2, "%s --dtype %s", extra, pass ? "float64" : "float32");
        } else {
            snprintf(extra2, sizeof extra2, "%s", extra);
        }
        /* every third run reads standard input */
        if (idx % 3 == 0)
            snprintf(args, sizeof args, "'%s' %s --method %s --json < '%s'", mcopy, extra2,
                     o->string, inpath);
        else
            snprintf(args, sizeof args, "'%s' %s --method %s --json --input '%s'", mcopy, extra2,
                     o->string, inpath);
        int code;
        char *out = run(args, 0, &code);
        cJSON *j = out ? cJSON_Parse(out) : NULL;
        free(out);
        CHECKF(code == 0 && j, "%s %s: exit %d, %s", what, o->string, code, j ? "JSON" : "no JSON");
        if (j) {
            const cJSON *jm = cJSON_GetObjectItem(j, "method");
            CHECKF(cJSON_IsString(jm) && strcmp(jm->valuestring, o->string) == 0,
                   "%s: \"method\" is %s", what, cJSON_IsString(jm) ? jm->valuestring : "?");
            const cJSON *jo = cJSON_GetObjectItem(j, "outputs");
            compare(what, o->string, o, jo, kept, nk, tol);
            if (!plain_done) {
                snprintf(args, sizeof args, "'%s' %s --method %s --input '%s'", mcopy, extra2,
                         o->string, inpath);
                char w2[700];
                snprintf(w2, sizeof w2, "%s %s", what, o->string);
                check_plain(w2, args, jo, nk);
                plain_done = 1;
            }
        }
        cJSON_Delete(j);
    }
    unlink(inpath);
    free(kept);
    cJSON_Delete(doc);
}

/* Every NAME.json with "outputs" in models/<dir> (sorted by the shell). */
static int fixtures(const char *dir, int idx)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && ls *.json 2>/dev/null", tu_model_path(dir));
    FILE *p = popen(cmd, "r");
    CHECKF(p != NULL, "list %s", dir);
    if (!p)
        return idx;
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        size_t l = strlen(line);
        if (l < 6)
            continue;
        line[l - 5] = 0; /* strip .json */
        char rel[600];
        snprintf(rel, sizeof rel, "%s/%s.json", dir, line);
        char *txt = tu_read_file(tu_model_path(rel), NULL);
        int has = txt && strstr(txt, "\"outputs\"");
        free(txt);
        if (!has)
            continue;
        /* layer stacks: the state_dict pickled (.pkl) and as torch.save (.pt) */
        if (strcmp(dir, "layers") == 0)
            one(dir, line, idx++, 1);
        one(dir, line, idx++, 0);
        count++;
    }
    pclose(p);
    CHECKF(count > 0, "%s: fixtures found", dir);
    printf("%-8s %d fixtures through ckpt-predict\n", dir, count);
    return idx;
}

/* ---------------------------------------------------------------- errors */

static void expect_error(const char *model_rel, const char *csv, const char *args_extra,
                         int want_code, const char *must1, const char *must2, const char *what)
{
    char inpath[512];
    snprintf(inpath, sizeof inpath, "%s/err.csv", tmpdir);
    CHECKF(write_file(inpath, csv) == 0, "write %s", inpath);
    char args[8192];
    snprintf(args, sizeof args, "'%s' %s --input '%s'", tu_model_path(model_rel), args_extra,
             inpath);
    int code;
    char *out = run(args, 1, &code);
    CHECKF(code == want_code && out && (!must1 || strstr(out, must1)) &&
               (!must2 || strstr(out, must2)),
           "%s: exit %d (want %d), message: %s", what, code, want_code, out ? out : "(none)");
    free(out);
    unlink(inpath);
}

static void errors_and_usage(void)
{
    /* lr_binary takes 6 columns */
    const char *ok_rows = "0.5,1,2,3,4,5\n1,2,3,4,5,6\n";
    char csv[1024];
    snprintf(csv, sizeof csv, "a,b,c,d,e,f\n%s\n1,2,3\n", ok_rows); /* blank line 4 skipped */
    expect_error("sklearn/lr_binary.pkl", csv, "", 1, "row 3 (line 5)", "3 columns",
                 "wrong column count");
    snprintf(csv, sizeof csv, "%s1,2,x7,4,5,6\n", ok_rows);
    expect_error("sklearn/lr_binary.pkl", csv, "", 1, "row 3 (line 3), column 3", "'x7'",
                 "non-number");
    snprintf(csv, sizeof csv, "%s1,2,,4,5,6\n", ok_rows);
    expect_error("sklearn/lr_binary.pkl", csv, "", 1, "row 3 (line 3), column 3",
                 "not a number", "empty field");
    snprintf(csv, sizeof csv, "h1,h2,h3,h4,h5,h6\n%s1,2,nan,4,5,6\n", ok_rows);
    expect_error("sklearn/lr_binary.pkl", csv, "", 1, "line 4: row 3", "NaN", "NaN for LR");
    snprintf(csv, sizeof csv, "%s1,2,inf,4,5,6\n", ok_rows);
    expect_error("sklearn/lr_binary.pkl", csv, "--method predict_proba", 1, "row 3",
                 "infinity", "inf for LR");
    /* a header is skipped, nothing else: the same rows give the same output */
    int c1, c2;
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/h1.csv", tmpdir);
    snprintf(p2, sizeof p2, "%s/h2.csv", tmpdir);
    snprintf(csv, sizeof csv, "x1, x2 ,\"x3\",x4,x5,x6\n%s", ok_rows);
    write_file(p1, csv);
    write_file(p2, ok_rows);
    char a1[8192], a2[8192];
    snprintf(a1, sizeof a1, "'%s' --method predict_proba --input '%s'",
             tu_model_path("sklearn/lr_binary.pkl"), p1);
    snprintf(a2, sizeof a2, "'%s' --method predict_proba --input '%s'",
             tu_model_path("sklearn/lr_binary.pkl"), p2);
    char *o1 = run(a1, 0, &c1), *o2 = run(a2, 0, &c2);
    CHECKF(c1 == 0 && c2 == 0 && o1 && o2 && strcmp(o1, o2) == 0 && strchr(o1, '\n') &&
               strchr(strchr(o1, '\n') + 1, '\n'),
           "header line skipped: same two output rows (%s | %s)", o1 ? o1 : "", o2 ? o2 : "");
    free(o1);
    free(o2);
    unlink(p1);
    unlink(p2);

    /* (NaN where the model takes it: the hgb_*_nan fixtures below) */
    char a3[8192];
    int code;
    snprintf(a3, sizeof a3, "'%s' --help", tu_model_path("sklearn/lr_binary.pkl"));
    char *out = run(a3, 0, &code);
    CHECKF(code == 0 && out && strstr(out, "usage: ckpt-predict") && strstr(out, "--text"),
           "--help exit 0 (%d)", code);
    free(out);
    out = run("--version", 0, &code);
    CHECKF(code == 0 && out && strncmp(out, "ckpt-predict (ckpt) ", 20) == 0,
           "--version: %s", out ? out : "");
    free(out);
    out = run("", 1, &code);
    CHECKF(code == 2 && out && strstr(out, "usage"), "no MODEL: exit %d", code);
    free(out);
    snprintf(a3, sizeof a3, "'%s' --bogus", tu_model_path("sklearn/lr_binary.pkl"));
    out = run(a3, 1, &code);
    CHECKF(code == 2 && out && strstr(out, "--bogus"), "unknown option: exit %d", code);
    free(out);
    snprintf(a3, sizeof a3, "'%s' --method fly", tu_model_path("sklearn/lr_binary.pkl"));
    out = run(a3, 1, &code);
    CHECKF(code == 2 && out && strstr(out, "fly"), "unknown method: exit %d", code);
    free(out);
    snprintf(a3, sizeof a3, "'%s' --method predict_proba < /dev/null",
             tu_model_path("sklearn/ridge.pkl"));
    out = run(a3, 1, &code);
    CHECKF(code == 1 && out && strstr(out, "has no method predict_proba"),
           "Ridge has no predict_proba: exit %d %s", code, out ? out : "");
    free(out);
    snprintf(a3, sizeof a3, "'%s' --text < /dev/null", tu_model_path("sklearn/lr_binary.pkl"));
    out = run(a3, 1, &code);
    CHECKF(code == 2 && out && strstr(out, "takes numeric rows"), "--text on LR: exit %d", code);
    free(out);
    snprintf(a3, sizeof a3, "'%s/does-not-exist.pkl' < /dev/null", tmpdir);
    out = run(a3, 1, &code);
    CHECKF(code == 1 && out && strstr(out, "does-not-exist.pkl"), "missing file: exit %d", code);
    free(out);
    snprintf(a3, sizeof a3, "'%s' --input '%s/none.csv'", tu_model_path("sklearn/lr_binary.pkl"),
             tmpdir);
    out = run(a3, 1, &code);
    CHECKF(code == 1 && out && strstr(out, "none.csv"), "missing input: exit %d", code);
    free(out);
    /* no rows at all: empty output, valid JSON */
    snprintf(a3, sizeof a3, "'%s' --json --method predict_proba < /dev/null",
             tu_model_path("sklearn/lr_binary.pkl"));
    out = run(a3, 0, &code);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    CHECKF(code == 0 && j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "outputs")) == 0,
           "no input rows: %s", out ? out : "");
    cJSON_Delete(j);
    free(out);
    /* --dtype: auto is the fitted dtype (lr_saga_f32: float32 coef_ -> float32 rows,
       the same output as --dtype float32; different from --dtype float64); bad value */
    {
        char *o3[3];
        char dtcsv[600];
        snprintf(dtcsv, sizeof dtcsv, "%s/dtype.csv", tmpdir);
        CHECK(write_file(dtcsv, "0.1,-1.3,2.7,0.33,1.1,-0.7\n1.9,0.2,-2.1,3.3,-0.1,0.6\n") == 0);
        static const char *dts[3] = {"", "--dtype float32", "--dtype=float64"};
        for (int q = 0; q < 3; q++) {
            snprintf(a3, sizeof a3, "'%s' %s --method decision_function --input '%s'",
                     tu_model_path("sklearn/lr_saga_f32.pkl"), dts[q], dtcsv);
            o3[q] = run(a3, 0, &code);
            CHECKF(code == 0 && o3[q] && *o3[q], "%s: exit %d", dts[q], code);
        }
        CHECKF(o3[0] && o3[1] && strcmp(o3[0], o3[1]) == 0, "--dtype auto = float32 for lr_saga_f32");
        CHECKF(o3[0] && o3[2] && strcmp(o3[0], o3[2]) != 0,
               "--dtype float64 computes in float64 (other digits)");
        for (int q = 0; q < 3; q++)
            free(o3[q]);
        unlink(dtcsv);
        snprintf(a3, sizeof a3, "'%s' --dtype float16 < /dev/null",
                 tu_model_path("sklearn/lr_saga_f32.pkl"));
        out = run(a3, 1, &code);
        CHECKF(code == 2 && out && strstr(out, "float16"), "--dtype float16: exit %d", code);
        free(out);
    }
    /* the layer stack: a bad spec names the layer */
    snprintf(a3, sizeof a3, "'%s' --layers net.0:relu,nosuch.9 < /dev/null",
             tu_model_path("layers/mlp_relu_tanh_f32.pkl"));
    out = run(a3, 1, &code);
    CHECKF(code == 1 && out && strstr(out, "nosuch.9"), "bad --layers spec: exit %d %s", code,
           out ? out : "");
    free(out);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(tool, sizeof tool, "%s/../tools/ckpt-predict", dirname(self));
    CHECKF(exists(tool), "ckpt-predict found at %s", tool);
    if (!exists(tool))
        return tu_finish();
    CHECKF(tu_mkdtemp(tmpdir, sizeof tmpdir, "ckpt_cli_predict_") != NULL, "mkdtemp");

    errors_and_usage();
    int idx = 0;
    idx = fixtures("sklearn", idx);
    idx = fixtures("trees", idx);
    idx = fixtures("text", idx);
    idx = fixtures("layers", idx);
    printf("%d runs of ckpt-predict\n", runs);
    rmdir(tmpdir);
    return tu_finish();
}
