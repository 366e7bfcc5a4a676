#define _DEFAULT_SOURCE /* mkstemp, mkdtemp */
#include "util_test.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tu_passed, tu_failed, tu_skipped;
const char *tu_src_dir = ".";
const char *tu_realworld_dir = NULL;

void tu_init(int argc, char **argv) {
    if (argc > 1) tu_src_dir = argv[1];
    if (argc > 2) {
        struct stat st;
        char buf[4096];
        snprintf(buf, sizeof buf, "%s/manifest.json", argv[2]);
        if (stat(buf, &st) == 0) tu_realworld_dir = argv[2];
    }
}

int tu_finish(void) {
    if (tu_passed + tu_failed == 0) {
        printf("no check ran\n");
        return 1;
    }
    if (tu_skipped)
        printf("%d passed, %d failed, %d skipped\n", tu_passed, tu_failed, tu_skipped);
    else
        printf("%d passed, %d failed\n", tu_passed, tu_failed);
    return tu_failed ? 1 : 0;
}

void tu_check(int ok, const char *file, int line, const char *fmt, ...) {
    if (ok) {
        tu_passed++;
        return;
    }
    tu_failed++;
    fprintf(stdout, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void tu_skip(const char *why) {
    tu_skipped++;
    printf("SKIP: %s\n", why);
}

const char *tu_path(const char *dir, const char *rel) {
    static char bufs[8][4096];
    static int slot;
    char *b = bufs[slot++ & 7];
    snprintf(b, 4096, "%s/%s", dir, rel);
    return b;
}

const char *tu_model_path(const char *rel) {
    static char bufs[8][4096];
    static int slot;
    char *b = bufs[slot++ & 7];
    snprintf(b, 4096, "%s/models/%s", tu_src_dir, rel);
    return b;
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) != 0) { fclose(fp); return NULL; }
    long n = ftell(fp);
    if (n < 0) { fclose(fp); return NULL; }
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    if (!buf) { fclose(fp); return NULL; }
    if (n && fread(buf, 1, (size_t)n, fp) != (size_t)n) { free(buf); fclose(fp); return NULL; }
    fclose(fp);
    buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

cJSON *tu_load_json(const char *path) {
    size_t n;
    char *s = tu_read_file(path, &n);
    if (!s) {
        tu_check(0, __FILE__, __LINE__, "cannot read %s", path);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(s, n);
    free(s);
    if (!j) tu_check(0, __FILE__, __LINE__, "bad JSON in %s", path);
    return j;
}

int tu_close(double a, double b, double rel, double abs_tol) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
    return d <= rel * m + abs_tol;
}

static int tmp_template(char *buf, size_t size, const char *prefix) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int n = snprintf(buf, size, "%s/%sXXXXXX", dir, prefix);
    return n > 0 && (size_t)n < size;
}

int tu_mkstemp(char *buf, size_t size, const char *prefix) {
    return tmp_template(buf, size, prefix) ? mkstemp(buf) : -1;
}

char *tu_mkdtemp(char *buf, size_t size, const char *prefix) {
    return tmp_template(buf, size, prefix) ? mkdtemp(buf) : NULL;
}

void tu_buf_put(tu_buf *b, const void *src, size_t n) {
    if (n > SIZE_MAX / 2 - b->n) abort();
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n) nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np) abort();
        b->p = np;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
