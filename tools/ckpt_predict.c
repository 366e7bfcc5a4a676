/*
 * ckpt-predict - run a checkpoint's model on CSV rows.
 *
 *   ckpt-predict MODEL [--method predict|predict_proba|decision_function|transform|...]
 *                [--input FILE.csv|-] [--path DOTTED.PATH] [--layers SPEC] [--json]
 *
 * Input: CSV rows of numbers (a non-numeric first line is a header and is
 * skipped; "nan" is NaN).  Models that take text read one document per line.
 * Output: one line per input row (labels as text, numbers with %.17g, sparse
 * rows as col:value pairs), or with --json
 *   {"method": M, "outputs": [...]}  with sparse outputs as
 *   {"sparse_coo": true, "shape": [n, m], "row": [...], "col": [...], "data": [...]}.
 * Errors name the input line: wrong column count, a non-number, NaN where the
 * model cannot take it.  Exit status: 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_file.h"
#include "ckpt/ckpt_model.h"

void ckpt_tool_print_version(const char *tool);

#define MAX_INPUT_BYTES ((size_t)1 << 34)

static void usage(FILE *o)
{
    fprintf(o, "usage: ckpt-predict MODEL [--method NAME] [--input FILE.csv|-] [--path P]\n"
               "                    [--layers SPEC] [--json]\n"
               "  --method   predict (default), predict_proba, predict_log_proba,\n"
               "             decision_function, transform, score_samples, apply\n"
               "  --input    CSV rows of numbers (default: standard input)\n"
               "  --path     dotted path of the estimator inside the file (default: root)\n"
               "  --layers   torch state_dict layer stack, e.g. net.0:relu,net.2:tanh,net.4\n"
               "  --json     print {\"method\": ..., \"outputs\": [...]}\n");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= MAX_INPUT_BYTES) {
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

/* split buf into lines in place; returns count, fills *lines, *lineno (1-based) */
static size_t split_lines(char *buf, char ***lines, int64_t **linenos)
{
    size_t cap = 1024, n = 0;
    int64_t no = 0;
    *lines = malloc(cap * sizeof **lines);
    *linenos = malloc(cap * sizeof **linenos);
    char *p = buf;
    while (*lines && *linenos && *p) {
        char *e = strchr(p, '\n');
        if (e)
            *e = 0;
        no++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = 0;
        if (l > 0) {
            if (n == cap) {
                cap *= 2;
                char **nl = realloc(*lines, cap * sizeof *nl);
                int64_t *nn = nl ? realloc(*linenos, cap * sizeof *nn) : NULL;
                if (!nl || !nn) {
                    free(nl ? nl : *lines);
                    free(*linenos);
                    *lines = NULL;
                    *linenos = NULL;
                    return 0;
                }
                *lines = nl;
                *linenos = nn;
            }
            (*lines)[n] = p;
            (*linenos)[n] = no;
            n++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

/* parse one CSV field; 0 ok */
static int parse_num(const char *s, const char *e, double *out)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '"'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '"'))
        e--;
    if (s == e)
        return -1;
    char tmp[128];
    size_t n = (size_t)(e - s);
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end != 0)
        return -1;
    *out = v;
    return 0;
}

static int count_fields(const char *line)
{
    int n = 1;
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

static void print_num(double v, int json)
{
    if (json && v != v)
        fputs("null", stdout);
    else if (json && isinf(v))
        fputs(v > 0 ? "\"inf\"" : "\"-inf\"", stdout);
    else
        printf("%.17g", v);
}

static void print_label(const ckpt_model *m, int64_t idx, int json)
{
    size_t len = 0;
    const char *s = ckpt_model_class_str(m, idx, &len);
    if (!s)
        s = "?";
    if (!json) {
        fwrite(s, 1, len, stdout);
        return;
    }
    switch (ckpt_model_label_kind(m)) {
    case CKPT_LABEL_STR:
        json_str(s, len);
        break;
    case CKPT_LABEL_BOOL:
        fputs(ckpt_model_class_int(m, idx) ? "true" : "false", stdout);
        break;
    case CKPT_LABEL_INT:
        printf("%lld", (long long)ckpt_model_class_int(m, idx));
        break;
    default:
        print_num(ckpt_model_class_float(m, idx), 1);
        break;
    }
}

int main(int argc, char **argv)
{
    const char *model = NULL, *input = "-", *path = NULL, *layers = NULL, *mname = "predict";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            ckpt_tool_print_version("ckpt-predict");
            return 0;
        } else if ((strcmp(a, "--method") == 0 || strcmp(a, "--input") == 0 ||
                    strcmp(a, "--path") == 0 || strcmp(a, "--layers") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'm')
                mname = v;
            else if (a[2] == 'i')
                input = v;
            else if (a[2] == 'p')
                path = v;
            else
                layers = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ckpt-predict: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (!model) {
            model = a;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!model) {
        usage(stderr);
        return 2;
    }
    ckpt_method method;
    if (ckpt_method_parse(mname, &method) != CKPT_OK) {
        fprintf(stderr, "ckpt-predict: unknown method '%s'\n", mname);
        return 2;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_file *f = NULL;
    ckpt_status st = ckpt_open(model, NULL, &f, &err);
    if (st != CKPT_OK) {
        fprintf(stderr, "ckpt-predict: %s: %s\n", model, err.message);
        return 1;
    }
    ckpt_model *m = NULL;
    st = layers ? ckpt_model_build_layers(f, layers, NULL, &m, &err)
                : ckpt_model_build(f, path, NULL, &m, &err);
    ckpt_close(f);
    if (st != CKPT_OK) {
        fprintf(stderr, "ckpt-predict: %s: %s\n", model, err.message);
        return 1;
    }
    int rc = 1;
    size_t len = 0;
    char *buf = NULL, **lines = NULL;
    int64_t *linenos = NULL;
    double *X = NULL;
    ckpt_output out;
    memset(&out, 0, sizeof out);
    ckpt_csr csr;
    memset(&csr, 0, sizeof csr);
    ckpt_out_kind ok = ckpt_model_out_kind(m, method);
    if (ok == CKPT_OUT_NONE) {
        fprintf(stderr, "ckpt-predict: %s (%s) has no method %s\n", model, ckpt_model_class(m),
                mname);
        goto done;
    }
    buf = read_all(input, &len);
    if (!buf) {
        fprintf(stderr, "ckpt-predict: cannot read input %s\n", input);
        goto done;
    }
    size_t nl = split_lines(buf, &lines, &linenos);
    if (!lines) {
        fprintf(stderr, "ckpt-predict: out of memory\n");
        goto done;
    }
    ckpt_input in;
    memset(&in, 0, sizeof in);
    size_t first = 0;
    int64_t n, d = ckpt_model_n_features(m);
    if (ckpt_model_input_kind(m) == CKPT_IN_TEXT) {
        in.kind = CKPT_IN_TEXT;
        in.docs = (const char *const *)lines;
        n = (int64_t)nl;
    } else {
        if (nl > 0 && !line_is_numeric(lines[0]))
            first = 1; /* header */
        n = (int64_t)(nl - first);
        if (d < 0)
            d = n > 0 ? count_fields(lines[first]) : 0;
        X = calloc((size_t)(n * d) + 1, sizeof *X);
        if (!X) {
            fprintf(stderr, "ckpt-predict: out of memory\n");
            goto done;
        }
        for (int64_t r = 0; r < n; r++) {
            const char *p = lines[first + (size_t)r];
            int64_t lineno = linenos[first + (size_t)r];
            int nf = count_fields(p);
            if (nf != d) {
                fprintf(stderr, "ckpt-predict: line %lld: %d columns, the model takes %lld\n",
                        (long long)lineno, nf, (long long)d);
                goto done;
            }
            for (int64_t c = 0; c < d; c++) {
                const char *e = strchr(p, ',');
                if (!e)
                    e = p + strlen(p);
                if (parse_num(p, e, &X[r * d + c])) {
                    fprintf(stderr, "ckpt-predict: line %lld, column %lld: '%.*s' is not a number\n",
                            (long long)lineno, (long long)c + 1, (int)(e - p > 40 ? 40 : e - p), p);
                    goto done;
                }
                p = *e ? e + 1 : e;
            }
        }
        in.kind = CKPT_IN_DENSE;
        in.dense = X;
        in.n_cols = d;
    }
    in.n_rows = n;
    int64_t cols = ckpt_model_out_cols(m, method);
    if (ok == CKPT_OUT_LABEL || ok == CKPT_OUT_INT)
        out.labels = calloc((size_t)(n * cols) + 1, sizeof(int64_t));
    else if (ok == CKPT_OUT_F64)
        out.values = calloc((size_t)(n * cols) + 1, sizeof(double));
    else
        out.csr = &csr;
    if ((ok == CKPT_OUT_LABEL || ok == CKPT_OUT_INT) ? !out.labels
        : ok == CKPT_OUT_F64                         ? !out.values
                                                     : 0) {
        fprintf(stderr, "ckpt-predict: out of memory\n");
        goto done;
    }
    st = ckpt_model_run(m, method, &in, &out, &err);
    if (st != CKPT_OK) {
        if (st == CKPT_E_INPUT && err.offset >= 0 && err.offset < n)
            fprintf(stderr, "ckpt-predict: line %lld: %s\n",
                    (long long)linenos[first + (size_t)err.offset], err.message);
        else
            fprintf(stderr, "ckpt-predict: %s\n", err.message);
        goto done;
    }
    /* scalars for one-column predict / decision / score, rows otherwise */
    int scalar = cols == 1 && method != CKPT_METHOD_TRANSFORM &&
                 method != CKPT_METHOD_PREDICT_PROBA && method != CKPT_METHOD_PREDICT_LOG_PROBA;
    if (json)
        printf("{\"method\": \"%s\", \"outputs\": ", mname);
    if (ok == CKPT_OUT_CSR) {
        if (json) {
            printf("{\"sparse_coo\": true, \"shape\": [%lld, %lld], \"row\": [", (long long)csr.rows,
                   (long long)csr.cols);
            for (int64_t r = 0, k = 0; r < csr.rows; r++)
                for (int64_t p = csr.indptr[r]; p < csr.indptr[r + 1]; p++, k++)
                    printf("%s%lld", k ? ", " : "", (long long)r);
            fputs("], \"col\": [", stdout);
            for (size_t p = 0; p < csr.nnz; p++)
                printf("%s%lld", p ? ", " : "", (long long)csr.indices[p]);
            fputs("], \"data\": [", stdout);
            for (size_t p = 0; p < csr.nnz; p++) {
                fputs(p ? ", " : "", stdout);
                print_num(csr.data[p], 1);
            }
            fputs("]}", stdout);
        } else {
            for (int64_t r = 0; r < csr.rows; r++) {
                for (int64_t p = csr.indptr[r]; p < csr.indptr[r + 1]; p++) {
                    printf("%s%lld:", p > csr.indptr[r] ? " " : "", (long long)csr.indices[p]);
                    print_num(csr.data[p], 0);
                }
                putchar('\n');
            }
        }
    } else {
        if (json)
            putchar('[');
        for (int64_t r = 0; r < n; r++) {
            if (json && r)
                fputs(", ", stdout);
            if (json && !scalar)
                putchar('[');
            for (int64_t c = 0; c < cols; c++) {
                if (c)
                    fputs(json ? ", " : ",", stdout);
                if (ok == CKPT_OUT_LABEL)
                    print_label(m, out.labels[r * cols + c], json);
                else if (ok == CKPT_OUT_INT)
                    printf("%lld", (long long)out.labels[r * cols + c]);
                else
                    print_num(out.values[r * cols + c], json);
            }
            if (json && !scalar)
                putchar(']');
            if (!json)
                putchar('\n');
        }
        if (json)
            putchar(']');
    }
    if (json)
        puts("}");
    rc = 0;
done:
    free(out.labels);
    free(out.values);
    ckpt_csr_free(&csr);
    free(X);
    free(lines);
    free(linenos);
    free(buf);
    ckpt_model_free(m);
    return rc;
}
