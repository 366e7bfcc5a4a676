/*
 * ckpt-predict - run a checkpoint's model on CSV rows (or text documents).
 *
 *   ckpt-predict MODEL [--method predict|predict_proba|decision_function|transform|...]
 *                [--input FILE.csv|-] [--text] [--path DOTTED.PATH] [--layers SPEC]
 *                [--dtype auto|float32|float64] [--json]
 *
 * Input: CSV rows of numbers, one row per line (fields may be quoted or padded
 * with blanks; "nan" / "inf" are read like Python's float()).  A non-numeric
 * first line is a header and is skipped; blank lines are skipped.  When the
 * model's first step is a text vectorizer it takes one UTF-8 document per
 * line instead (--text says so explicitly; an empty line is an empty
 * document; no header).
 * Output: one line per input row (labels as text, numbers printed like
 * Python's repr(): the shortest text that reads back to the same double,
 * fields separated by ','; sparse rows as "col:value" pairs separated by
 * blanks), or with --json
 *   {"method": M, "outputs": [...]}   (labels as JSON strings / numbers /
 *   booleans, NaN as null, infinities as "inf" / "-inf"), sparse outputs as
 *   {"sparse_coo": true, "shape": [n, m], "row": [...], "col": [...], "data": [...]}.
 * --dtype: the dtype the CSV rows are read into (each field is parsed as a
 * double, then rounded to float32 when float32, as np.asarray(rows,
 * dtype=np.float32) would).  auto (the default) is the dtype the model was
 * fitted in (ckpt_model_fit_dtype): a model with float32 state gets float32
 * rows and computes in float32 wherever scikit-learn does; results are
 * printed as the exact double value of the float32 result.
 * Errors name the input row (and its line in the file): wrong column count,
 * a non-number, NaN where the model cannot take it.
 * Exit status: 0 ok, 1 error (model, input), 2 usage.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"

void ckpt_tool_print_version(const char *tool);

/* Hostile / accidental input bounds. */
#define MAX_INPUT_BYTES ((size_t)1 << 36)  /* 64 GiB of CSV */
#define MAX_FIELD_CHARS 255                /* one numeric field, blanks/quotes stripped */
#define MAX_COLUMNS     ((int64_t)1 << 31) /* columns of a row when the model does not say */
#define SHOW_FIELD      40                 /* characters of a bad field quoted in messages */

static void usage(FILE *o)
{
    fprintf(o,
            "usage: ckpt-predict MODEL [--method NAME] [--input FILE.csv|-] [--text]\n"
            "                    [--path P] [--layers SPEC] [--dtype auto|float32|float64] [--json]\n"
            "Run the scikit-learn model (or torch layer stack) in MODEL on CSV rows.\n"
            "  --method   predict (default), predict_proba, decision_function, transform,\n"
            "             predict_log_proba, score_samples, apply\n"
            "  --input    CSV rows of numbers, one row per line; a non-numeric first line\n"
            "             is a header and is skipped (default: standard input, also '-')\n"
            "  --text     one document per line (models whose first step is a text\n"
            "             vectorizer; they read documents even without --text)\n"
            "  --path     dotted path of the estimator inside the file (default: root)\n"
            "  --layers   torch state_dict layer stack, e.g. net.0:relu,net.2:tanh,net.4\n"
            "             (activations: relu gelu tanh sigmoid softmax identity)\n"
            "  --dtype    dtype of the CSV rows: auto (default: the dtype the model was fitted\n"
            "             in, float32 when its state is float32), float32 or float64.\n"
            "             float32 rows compute in float32 wherever scikit-learn does\n"
            "  --json     print {\"method\": ..., \"outputs\": [...]}; sparse outputs as\n"
            "             {\"sparse_coo\": true, \"shape\": [n, m], \"row\", \"col\", \"data\"}\n"
            "  --help, --version\n"
            "Output: one line per input row; numbers print like Python's repr().\n"
            "Exit status: 0 ok, 1 error (model or input; the message names the row), 2 usage.\n");
}

/* ------------------------------------------------------------------ input */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - n < 2) {
            if (cap >= MAX_INPUT_BYTES) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
                errno = EIO;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

typedef struct lines {
    char **p;       /* NUL-terminated in place */
    size_t *len;
    int64_t *no;    /* 1-based line number in the input */
    size_t n, cap;
} lines;

static int lines_push(lines *L, char *p, size_t len, int64_t no)
{
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 1024;
        char **np = realloc(L->p, cap * sizeof *np);
        if (!np)
            return -1;
        L->p = np;
        size_t *nl = realloc(L->len, cap * sizeof *nl);
        if (!nl)
            return -1;
        L->len = nl;
        int64_t *nn = realloc(L->no, cap * sizeof *nn);
        if (!nn)
            return -1;
        L->no = nn;
        L->cap = cap;
    }
    L->p[L->n] = p;
    L->len[L->n] = len;
    L->no[L->n] = no;
    L->n++;
    return 0;
}

static void lines_free(lines *L)
{
    free(L->p);
    free(L->len);
    free(L->no);
}

/* Split buf (len bytes, NUL at buf[len]) into lines in place.  keep_empty:
   text documents (an empty line is an empty document; the final newline does
   not start another); otherwise blank lines are dropped.  0 ok, -1 NOMEM. */
static int split_lines(char *buf, size_t len, int keep_empty, lines *L)
{
    int64_t no = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        *e = 0;
        no++;
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r')
            p[--l] = 0;
        int blank = 1;
        for (size_t i = 0; i < l && blank; i++)
            blank = p[i] == ' ' || p[i] == '\t';
        if ((keep_empty || !blank) && lines_push(L, p, l, no))
            return -1;
        p = e + 1;
    }
    return 0;
}

/* One CSV field [s, e) as a double, like Python's float(): surrounding blanks
   and one pair of double quotes allowed; "nan", "inf", "infinity" in any case.
   0 ok, -1 not a number. */
static int parse_num(const char *s, const char *e, double *out)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
    }
    if (s == e || e - s > MAX_FIELD_CHARS)
        return -1;
    char tmp[MAX_FIELD_CHARS + 1];
    size_t n = (size_t)(e - s);
    memcpy(tmp, s, n);
    tmp[n] = 0;
    /* strtod also takes hex floats and "nan(...)": Python's float() does not */
    const char *q = tmp + (tmp[0] == '+' || tmp[0] == '-');
    if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
        return -1;
    if (strchr(tmp, '('))
        return -1;
    char *end;
    double v = strtod(tmp, &end);
    if (end == tmp || *end != 0)
        return -1;
    *out = v;
    return 0;
}

static int64_t count_fields(const char *line)
{
    int64_t n = 1;
    for (const char *p = line; *p; p++)
        n += *p == ',';
    return n;
}

static int line_is_numeric(const char *line)
{
    const char *p = line;
    for (;;) {
        const char *c = strchr(p, ',');
        const char *e = c ? c : p + strlen(p);
        double v;
        if (parse_num(p, e, &v))
            return 0;
        if (!c)
            return 1;
        p = c + 1;
    }
}

/* ----------------------------------------------------------------- output */

/* v as Python's repr(float) prints it: the shortest digits that read back to
   v, positional for 1e-4 <= |v| < 1e16 (with ".0" for integers), otherwise
   d.ddde+XX. */
static void repr_double(double v, char *out, size_t cap)
{
    if (v != v) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "inf" : "-inf");
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(e, sizeof e, "%.16e", v);
    /* e = [-]D[.DDD]e(+|-)XX */
    const char *s = e;
    int neg = *s == '-';
    if (neg)
        s++;
    char digits[24];
    size_t nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && nd < sizeof digits - 1)
            digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    int exp10 = *s == 'e' ? atoi(s + 1) : 0;
    char *o = out;
    size_t left = cap;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(o, left, __VA_ARGS__);                                                   \
        if (k_ < 0 || (size_t)k_ >= left) {                                                        \
            o += left ? left - 1 : 0;                                                              \
            left = left ? 1 : 0;                                                                   \
        } else {                                                                                   \
            o += k_;                                                                               \
            left -= (size_t)k_;                                                                    \
        }                                                                                          \
    } while (0)
    if (neg)
        PUT("-");
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                PUT("%c", (size_t)i < nd ? digits[i] : '0');
            PUT(".");
            if ((size_t)exp10 + 1 < nd)
                PUT("%s", digits + exp10 + 1);
            else
                PUT("0");
        } else {
            PUT("0.");
            for (int i = 0; i < -exp10 - 1; i++)
                PUT("0");
            PUT("%s", digits);
        }
    } else {
        PUT("%c", digits[0]);
        if (nd > 1)
            PUT(".%s", digits + 1);
        PUT("e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
#undef PUT
}

static void print_num(double v, int json)
{
    if (json && v != v) {
        fputs("null", stdout);
        return;
    }
    if (json && isinf(v)) {
        fputs(v > 0 ? "\"inf\"" : "\"-inf\"", stdout);
        return;
    }
    char b[48];
    repr_double(v, b, sizeof b);
    fputs(b, stdout);
}

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_label(const ckpt_model *m, int64_t idx, int json)
{
    ckpt_label_kind k = ckpt_model_label_kind(m);
    size_t len = 0;
    const char *s = ckpt_model_class_str(m, idx, &len);
    if (!s) {
        s = "?";
        len = 1;
    }
    if (k == CKPT_LABEL_FLOAT) {
        print_num(ckpt_model_class_float(m, idx), json);
        return;
    }
    if (!json) {
        fwrite(s, 1, len, stdout);
        return;
    }
    switch (k) {
    case CKPT_LABEL_BOOL:
        fputs(ckpt_model_class_int(m, idx) ? "true" : "false", stdout);
        break;
    case CKPT_LABEL_INT:
        printf("%lld", (long long)ckpt_model_class_int(m, idx));
        break;
    default:
        json_str(s, len);
        break;
    }
}

static void print_csr(const ckpt_csr *csr, int json)
{
    if (json) {
        printf("{\"sparse_coo\": true, \"shape\": [%lld, %lld], \"row\": [", (long long)csr->rows,
               (long long)csr->cols);
        size_t k = 0;
        for (int64_t r = 0; r < csr->rows; r++)
            for (int64_t p = csr->indptr[r]; p < csr->indptr[r + 1]; p++, k++)
                printf("%s%lld", k ? ", " : "", (long long)r);
        fputs("], \"col\": [", stdout);
        for (size_t p = 0; p < csr->nnz; p++)
            printf("%s%lld", p ? ", " : "", (long long)csr->indices[p]);
        fputs("], \"data\": [", stdout);
        for (size_t p = 0; p < csr->nnz; p++) {
            fputs(p ? ", " : "", stdout);
            print_num(csr->data[p], 1);
        }
        fputs("]}", stdout);
        return;
    }
    for (int64_t r = 0; r < csr->rows; r++) {
        for (int64_t p = csr->indptr[r]; p < csr->indptr[r + 1]; p++) {
            printf("%s%lld:", p > csr->indptr[r] ? " " : "", (long long)csr->indices[p]);
            print_num(csr->data[p], 0);
        }
        putchar('\n');
    }
}

/* ------------------------------------------------------------------- main */

typedef struct args {
    const char *model, *input, *path, *layers, *method, *dtype;
    int json, text;
} args;

/* 0 ok, 1 exit 0 (help/version printed), 2 usage error */
static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->input = "-";
    a->method = "predict";
    a->dtype = "auto";
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = NULL;
        if (strcmp(s, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(s, "--text") == 0) {
            a->text = 1;
        } else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(s, "--version") == 0) {
            ckpt_tool_print_version("ckpt-predict");
            return 1;
        } else if (strcmp(s, "--method") == 0) {
            slot = &a->method;
        } else if (strcmp(s, "--input") == 0) {
            slot = &a->input;
        } else if (strcmp(s, "--path") == 0) {
            slot = &a->path;
        } else if (strcmp(s, "--layers") == 0) {
            slot = &a->layers;
        } else if (strcmp(s, "--dtype") == 0) {
            slot = &a->dtype;
        } else if (strncmp(s, "--", 2) == 0 && strchr(s, '=')) {
            /* --name=value */
            const char *eq = strchr(s, '=');
            size_t k = (size_t)(eq - s);
            if (k == 8 && strncmp(s, "--method", k) == 0)
                a->method = eq + 1;
            else if (k == 7 && strncmp(s, "--input", k) == 0)
                a->input = eq + 1;
            else if (k == 6 && strncmp(s, "--path", k) == 0)
                a->path = eq + 1;
            else if (k == 8 && strncmp(s, "--layers", k) == 0)
                a->layers = eq + 1;
            else if (k == 7 && strncmp(s, "--dtype", k) == 0)
                a->dtype = eq + 1;
            else {
                fprintf(stderr, "ckpt-predict: unknown option %s\n", s);
                return 2;
            }
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ckpt-predict: unknown option %s\n", s);
            return 2;
        } else if (!a->model) {
            a->model = s;
        } else {
            fprintf(stderr, "ckpt-predict: more than one MODEL (%s)\n", s);
            return 2;
        }
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ckpt-predict: %s needs a value\n", s);
                return 2;
            }
            *slot = argv[++i];
        }
    }
    if (!a->model) {
        fprintf(stderr, "ckpt-predict: no MODEL given\n");
        return 2;
    }
    if (a->layers && a->path) {
        fprintf(stderr, "ckpt-predict: --layers and --path exclude each other\n");
        return 2;
    }
    if (strcmp(a->dtype, "auto") != 0 && strcmp(a->dtype, "float32") != 0 &&
        strcmp(a->dtype, "float64") != 0) {
        fprintf(stderr, "ckpt-predict: --dtype must be auto, float32 or float64, not '%s'\n",
                a->dtype);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    args a;
    int pa = parse_args(argc, argv, &a);
    if (pa == 1)
        return 0;
    if (pa == 2) {
        usage(stderr);
        return 2;
    }
    ckpt_method method;
    if (ckpt_method_parse(a.method, &method) != CKPT_OK) {
        fprintf(stderr, "ckpt-predict: unknown method '%s'\n", a.method);
        usage(stderr);
        return 2;
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);

    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_file *f = NULL;
    ckpt_status st = ckpt_open(a.model, NULL, &f, &err);
    if (st != CKPT_OK) {
        fprintf(stderr, "ckpt-predict: %s: %s\n", a.model, err.message);
        return 1;
    }
    ckpt_model *m = NULL;
    st = a.layers ? ckpt_model_build_layers(f, a.layers, NULL, &m, &err)
                  : ckpt_model_build(f, a.path, NULL, &m, &err);
    ckpt_close(f);
    if (st != CKPT_OK) {
        fprintf(stderr, "ckpt-predict: %s: %s\n", a.model, err.message);
        return 1;
    }

    int rc = 1;
    size_t len = 0;
    char *buf = NULL;
    lines L;
    memset(&L, 0, sizeof L);
    double *X = NULL;
    float *X32 = NULL;
    ckpt_output out;
    memset(&out, 0, sizeof out);
    ckpt_csr csr;
    memset(&csr, 0, sizeof csr);
    const int text_model = ckpt_model_input_kind(m) == CKPT_IN_TEXT;
    ckpt_out_kind ok = ckpt_model_out_kind(m, method);
    if (ok == CKPT_OUT_NONE) {
        fprintf(stderr, "ckpt-predict: %s (%s) has no method %s\n", a.model, ckpt_model_class(m),
                a.method);
        goto done;
    }
    if (a.text && !text_model) {
        fprintf(stderr,
                "ckpt-predict: --text: %s (%s) takes numeric rows, not text documents\n",
                a.model, ckpt_model_class(m));
        rc = 2;
        goto done;
    }
    errno = 0;
    buf = read_all(a.input, &len);
    if (!buf) {
        fprintf(stderr, "ckpt-predict: cannot read input %s: %s\n",
                strcmp(a.input, "-") == 0 ? "(standard input)" : a.input, strerror(errno));
        goto done;
    }
    if (split_lines(buf, len, text_model, &L)) {
        fprintf(stderr, "ckpt-predict: out of memory\n");
        goto done;
    }
    ckpt_input in;
    memset(&in, 0, sizeof in);
    size_t first = 0;
    int64_t n, d = ckpt_model_n_features(m);
    if (text_model) {
        in.kind = CKPT_IN_TEXT;
        in.docs = (const char *const *)L.p;
        in.doc_lens = L.len;
        n = (int64_t)L.n;
    } else {
        if (L.n > 0 && !line_is_numeric(L.p[0]))
            first = 1; /* header */
        n = (int64_t)(L.n - first);
        if (d < 0)
            d = n > 0 ? count_fields(L.p[first]) : 0;
        if (d > MAX_COLUMNS || (d > 0 && n > (int64_t)(SIZE_MAX / sizeof(double)) / d)) {
            fprintf(stderr, "ckpt-predict: input too large (%lld rows x %lld columns)\n",
                    (long long)n, (long long)d);
            goto done;
        }
        X = malloc((size_t)(n * d) * sizeof *X + sizeof *X);
        if (!X) {
            fprintf(stderr, "ckpt-predict: out of memory\n");
            goto done;
        }
        for (int64_t r = 0; r < n; r++) {
            const char *p = L.p[first + (size_t)r];
            long long lineno = (long long)L.no[first + (size_t)r];
            int64_t nf = count_fields(p);
            if (nf != d) {
                fprintf(stderr,
                        "ckpt-predict: row %lld (line %lld): %lld columns, but %s takes %lld\n",
                        (long long)r + 1, lineno, (long long)nf, ckpt_model_class(m),
                        (long long)d);
                goto done;
            }
            for (int64_t c = 0; c < d; c++) {
                const char *e = strchr(p, ',');
                if (!e)
                    e = p + strlen(p);
                if (parse_num(p, e, &X[r * d + c])) {
                    int show = (int)(e - p > SHOW_FIELD ? SHOW_FIELD : e - p);
                    fprintf(stderr,
                            "ckpt-predict: row %lld (line %lld), column %lld: '%.*s%s' is not "
                            "a number\n",
                            (long long)r + 1, lineno, (long long)c + 1, show, p,
                            e - p > SHOW_FIELD ? "..." : "");
                    goto done;
                }
                p = *e ? e + 1 : e;
            }
        }
        in.kind = CKPT_IN_DENSE;
        in.dense = X;
        in.n_cols = d;
        const int use32 = strcmp(a.dtype, "float32") == 0 ||
                          (strcmp(a.dtype, "auto") == 0 && ckpt_model_fit_dtype(m) == CKPT_DT_FLOAT32);
        if (use32) {
            X32 = malloc((size_t)(n * d) * sizeof *X32 + sizeof *X32);
            if (!X32) {
                fprintf(stderr, "ckpt-predict: out of memory\n");
                goto done;
            }
            for (int64_t i = 0; i < n * d; i++)
                X32[i] = (float)X[i]; /* like np.asarray(X, dtype=np.float32) */
            in.dense = NULL;
            in.dense32 = X32;
        }
    }
    in.n_rows = n;
    in.row_base = 1; /* messages count rows from 1, like the ones above */
    int64_t cols = ckpt_model_out_cols(m, method);
    if (cols < 0)
        cols = 0;
    if (cols > 0 && n > (int64_t)(SIZE_MAX / sizeof(double)) / cols) {
        fprintf(stderr, "ckpt-predict: output too large\n");
        goto done;
    }
    if (ok == CKPT_OUT_LABEL || ok == CKPT_OUT_INT) {
        out.labels = malloc((size_t)(n * cols) * sizeof(int64_t) + sizeof(int64_t));
        if (!out.labels) {
            fprintf(stderr, "ckpt-predict: out of memory\n");
            goto done;
        }
    } else if (ok == CKPT_OUT_F64) {
        out.values = malloc((size_t)(n * cols) * sizeof(double) + sizeof(double));
        if (!out.values) {
            fprintf(stderr, "ckpt-predict: out of memory\n");
            goto done;
        }
    } else {
        out.csr = &csr;
    }
    st = ckpt_model_run(m, method, &in, &out, &err);
    if (st != CKPT_OK) {
        int64_t r = err.offset - 1;
        if (st == CKPT_E_INPUT && r >= 0 && r < n)
            fprintf(stderr, "ckpt-predict: line %lld: %s\n",
                    (long long)L.no[first + (size_t)r], err.message);
        else
            fprintf(stderr, "ckpt-predict: %s\n", err.message);
        goto done;
    }
    /* scikit-learn's shapes: 1-D for one-column predict / decision_function /
       score_samples / apply, 2-D for probabilities, transforms and the rest;
       a torch layer stack always gives (n, out) like the module */
    int flat = cols == 1 && !a.layers && method != CKPT_METHOD_TRANSFORM &&
               method != CKPT_METHOD_PREDICT_PROBA && method != CKPT_METHOD_PREDICT_LOG_PROBA;
    if (a.json)
        printf("{\"method\": \"%s\", \"outputs\": ", ckpt_method_name(method));
    if (ok == CKPT_OUT_CSR) {
        print_csr(&csr, a.json);
    } else {
        if (a.json)
            putchar('[');
        for (int64_t r = 0; r < n; r++) {
            if (a.json && r)
                fputs(", ", stdout);
            if (a.json && !flat)
                putchar('[');
            for (int64_t c = 0; c < cols; c++) {
                if (c)
                    fputs(a.json ? ", " : ",", stdout);
                if (ok == CKPT_OUT_LABEL)
                    print_label(m, out.labels[r * cols + c], a.json);
                else if (ok == CKPT_OUT_INT)
                    printf("%lld", (long long)out.labels[r * cols + c]);
                else
                    print_num(out.values[r * cols + c], a.json);
            }
            if (a.json && !flat)
                putchar(']');
            if (!a.json)
                putchar('\n');
        }
        if (a.json)
            putchar(']');
    }
    if (a.json)
        puts("}");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ckpt-predict: cannot write the output: %s\n", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(out.labels);
    free(out.values);
    ckpt_csr_free(&csr);
    free(X);
    free(X32);
    lines_free(&L);
    free(buf);
    ckpt_model_free(m);
    return rc;
}
