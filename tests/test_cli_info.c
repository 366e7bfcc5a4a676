/*
 * test_cli_info.c - ckpt-info as a user runs it: its --json output against
 * what NumPy / scikit-learn / pickletools reported for the same files, its
 * exit codes, and --scan verdicts.  The binary is found next to this test in
 * the build tree (<build>/tests/../tools/ckpt-info).
 */
#include "util_test.h"

#include "ckpt/ckpt_common.h"

#include <cjson/cJSON.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tool[4096];
static const char *src;

/* Run ckpt-info with args; capture stdout (malloc'd) and the exit code. */
static char *run(const char *args, int *code) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", tool, args);
    FILE *p = popen(cmd, "r");
    if (!p) { *code = -1; return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while (out && (got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 4096) {
            char *o2 = realloc(out, cap * 2);
            if (!o2) { free(out); out = NULL; break; }
            out = o2;
            cap *= 2;
        }
    }
    if (out) out[n] = 0;
    int st = pclose(p);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* Run ckpt-info with args; capture stderr only (malloc'd) and the exit code. */
static char *run_stderr(const char *args, int *code) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1 >/dev/null", tool, args);
    FILE *p = popen(cmd, "r");
    if (!p) { *code = -1; return NULL; }
    char *out = calloc(1, 1 << 16);
    if (out) (void)fread(out, 1, (1 << 16) - 1, p);
    int st = pclose(p);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static size_t count_of(const char *hay, const char *needle) {
    size_t n = 0, len = strlen(needle);
    for (const char *s = hay; (s = strstr(s, needle)) != NULL; s += len) n++;
    return n;
}

/* A file that fails to open: one line on stderr naming the file once, what
   went wrong and the byte offset; a non-zero exit. */
static void check_open_error(void) {
    char tmp[4096];
    int fd = tu_mkstemp(tmp, sizeof tmp, "ckpt-test-cli-");
    CHECKF(fd >= 0, "mkstemp");
    if (fd < 0) return;
    FILE *in = fopen(tu_model_path("pickles/p4_containers.pkl"), "rb");
    unsigned char buf[24];
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (in) fclose(in);
    CHECKF(n == sizeof buf && write(fd, buf, n) == (ssize_t)n, "truncated copy written");
    close(fd);
    char args[4200];
    snprintf(args, sizeof args, "'%s'", tmp);
    int code;
    char *err = run_stderr(args, &code);
    CHECKF(code != 0 && err && count_of(err, tmp) == 1 && strstr(err, "offset"),
           "truncated pickle: exit %d, stderr names the file once with an offset: %s", code, err ? err : "(none)");
    free(err);
    err = run_stderr("/nonexistent/ckpt-missing.pkl", &code);
    CHECKF(code != 0 && err && count_of(err, "/nonexistent/ckpt-missing.pkl") >= 1 &&
               strncmp(err, "ckpt-info: /nonexistent/ckpt-missing.pkl: ", 42) == 0,
           "missing file: exit %d, stderr %s", code, err ? err : "(none)");
    free(err);
    unlink(tmp);
}

static cJSON *run_json(const char *args, int *code) {
    char *out = run(args, code);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    return j;
}

static const cJSON *find_array(const cJSON *arrays, const char *path) {
    const cJSON *a;
    cJSON_ArrayForEach(a, arrays) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "path");
        if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0) return a;
    }
    return NULL;
}

/* Arrays reported with --json --stats equal NumPy's description of the file. */
static void check_arrays(const char *rel, const char *expect_rel) {
    char args[2048];
    snprintf(args, sizeof args, "--json --stats '%s'", tu_model_path(rel));
    int code;
    cJSON *got = run_json(args, &code);
    cJSON *exp = tu_load_json(tu_model_path(expect_rel));
    CHECKF(got && code == 0, "%s: ckpt-info --json exit %d, %s", rel, code, got ? "JSON" : "no JSON");
    if (!got || !exp) goto done;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(exp, "format");
    const cJSON *gfmt = cJSON_GetObjectItemCaseSensitive(got, "format");
    if (cJSON_IsString(fmt))
        CHECKF(cJSON_IsString(gfmt) && strcmp(gfmt->valuestring, fmt->valuestring) == 0, "%s: format %s, want %s",
               rel, cJSON_IsString(gfmt) ? gfmt->valuestring : "?", fmt->valuestring);
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(exp, "class");
    if (cJSON_IsString(cls)) {
        const cJSON *sk = cJSON_GetObjectItemCaseSensitive(got, "sklearn");
        const cJSON *gc = cJSON_GetObjectItemCaseSensitive(sk, "class");
        const cJSON *gv = cJSON_GetObjectItemCaseSensitive(sk, "version");
        CHECKF(cJSON_IsString(gc) && strcmp(gc->valuestring, cls->valuestring) == 0, "%s: sklearn class", rel);
        CHECKF(cJSON_IsString(gv) && strcmp(gv->valuestring, "1.2.1") == 0, "%s: _sklearn_version", rel);
    }
    const cJSON *garr = cJSON_GetObjectItemCaseSensitive(got, "arrays");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(exp, "arrays")) {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
        const char *ps = cJSON_IsString(path) ? path->valuestring : "";
        const cJSON *g = find_array(garr, ps);
        CHECKF(g != NULL, "%s: array '%s' listed", rel, ps);
        if (!g) continue;
        n++;
        const cJSON *edt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "dtype"), "str");
        const cJSON *gdt = cJSON_GetObjectItemCaseSensitive(g, "descr");
        if (cJSON_IsString(edt))
            CHECKF(cJSON_IsString(gdt) && strcmp(gdt->valuestring, edt->valuestring) == 0, "%s:%s descr %s, want %s",
                   rel, ps, cJSON_IsString(gdt) ? gdt->valuestring : "?", edt->valuestring);
        const cJSON *esh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *gsh = cJSON_GetObjectItemCaseSensitive(g, "shape");
        int same = cJSON_GetArraySize(esh) == cJSON_GetArraySize(gsh);
        for (int k = 0; same && k < cJSON_GetArraySize(esh); k++)
            same = cJSON_GetArrayItem(esh, k)->valuedouble == cJSON_GetArrayItem(gsh, k)->valuedouble;
        CHECKF(same, "%s:%s shape", rel, ps);
        const cJSON *esum = cJSON_GetObjectItemCaseSensitive(e, "sum");
        const cJSON *gsum = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, "stats"), "sum");
        if (cJSON_IsNumber(esum) && isfinite(esum->valuedouble))
            CHECKF(cJSON_IsNumber(gsum) && tu_close(gsum->valuedouble, esum->valuedouble, 1e-9, 1e-9),
                   "%s:%s sum %.17g, want %.17g", rel, ps, cJSON_IsNumber(gsum) ? gsum->valuedouble : NAN,
                   esum->valuedouble);
    }
    CHECKF(n > 0, "%s: compared %d arrays", rel, n);
done:
    cJSON_Delete(got);
    cJSON_Delete(exp);
}

/* --disasm --json: (offset, opname) of every opcode equal to pickletools'. */
static void check_disasm(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "pickles/%s.dis.json", name);
    cJSON *exp = tu_load_json(tu_model_path(rel));
    char full[2048];
    snprintf(full, sizeof full, "--json --disasm --arrays '%s/models/pickles/%s.pkl'", src, name);
    int code;
    cJSON *got = run_json(full, &code);
    CHECKF(got && exp && code == 0, "%s: disasm ran (exit %d)", name, code);
    if (got && exp) {
        const cJSON *ops = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(exp, "pickles"), 0);
        const cJSON *gops = cJSON_GetObjectItemCaseSensitive(got, "disasm");
        CHECKF(cJSON_GetArraySize(ops) == cJSON_GetArraySize(gops), "%s: %d opcodes, want %d", name,
               cJSON_GetArraySize(gops), cJSON_GetArraySize(ops));
        int bad = 0;
        for (int i = 0; i < cJSON_GetArraySize(ops) && i < cJSON_GetArraySize(gops) && !bad; i++) {
            const cJSON *e = cJSON_GetArrayItem(ops, i), *g = cJSON_GetArrayItem(gops, i);
            if (cJSON_GetArrayItem(e, 0)->valuedouble != cJSON_GetArrayItem(g, 0)->valuedouble ||
                strcmp(cJSON_GetArrayItem(e, 1)->valuestring, cJSON_GetArrayItem(g, 1)->valuestring) != 0)
                bad = i + 1;
        }
        CHECKF(!bad, "%s: opcode %d differs from pickletools", name, bad - 1);
    }
    cJSON_Delete(got);
    cJSON_Delete(exp);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    src = argc > 1 ? argv[1] : ".";
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(tool, sizeof tool, "%s/../tools/ckpt-info", dirname(self));
    FILE *t = fopen(tool, "rb");
    CHECKF(t != NULL, "ckpt-info found at %s", tool);
    if (!t) return tu_finish();
    fclose(t);

    int code;
    char *out;
    /* exit codes */
    free(run("--help", &code));
    CHECK_EQ_INT(code, 0);
    free(run("--no-such-option x", &code));
    CHECK_EQ_INT(code, 2);
    free(run("", &code));
    CHECK_EQ_INT(code, 2);
    free(run("/nonexistent/model.pkl", &code));
    CHECK_EQ_INT(code, 1);
    out = run("--version", &code);
    CHECKF(code == 0 && out && strstr(out, ckpt_version_string()), "--version prints %s", ckpt_version_string());
    free(out);

    /* text outline: classes of the objects fixture, sklearn class and version */
    char args[2048];
    snprintf(args, sizeof args, "'%s'", tu_model_path("pickles/p4_objects.pkl"));
    out = run(args, &code);
    CHECKF(code == 0 && out && strstr(out, "object __main__.WithReduce") && strstr(out, "pickle protocol: 4"),
           "p4_objects outline names its classes and protocol");
    free(out);
    snprintf(args, sizeof args, "'%s'", tu_model_path("numpy/sk_logreg.joblib"));
    out = run(args, &code);
    CHECKF(code == 0 && out &&
               strstr(out, "scikit-learn: sklearn.linear_model._logistic.LogisticRegression, saved by version 1.2.1") &&
               strstr(out, "coef_"),
           "sk_logreg.joblib: class, version and arrays");
    free(out);

    /* shared references printed once: the list shared four times in p4_shared */
    snprintf(args, sizeof args, "--json --tree '%s'", tu_model_path("pickles/p4_shared.pkl"));
    out = run(args, &code);
    CHECKF(code == 0 && out && strstr(out, "\"ref\""), "p4_shared: later occurrences are references");
    free(out);

    /* arrays and stats against NumPy's own numbers */
    check_arrays("numpy/sk_logreg.joblib", "numpy/sk_logreg_joblib.json");
    check_arrays("numpy/sk_logreg.pkl", "numpy/sk_logreg_pkl.json");
    check_arrays("numpy/sk_pipeline.joblib", "numpy/sk_pipeline_joblib.json");
    check_arrays("numpy/npy_f8.npy", "numpy/npy_f8.json");
    check_arrays("numpy/npy_fortran_f8.npy", "numpy/npy_fortran_f8.json");
    check_arrays("numpy/jl_zlib.joblib", "numpy/jl_zlib.json");

    check_open_error();

    /* disassembly */
    check_disasm("p0_strings");
    check_disasm("p2_ints");
    check_disasm("p4_objects");
    check_disasm("p5_oob_buffers");

    /* --scan verdicts and exit codes */
    snprintf(args, sizeof args, "--scan '%s'", tu_model_path("pickles/p4_containers.pkl"));
    out = run(args, &code);
    CHECKF(code == 0 && out && strstr(out, "scan: safe"), "plain containers scan safe (exit %d)", code);
    free(out);
    snprintf(args, sizeof args, "--scan '%s'", tu_model_path("pickles/p4_objects.pkl"));
    out = run(args, &code);
    CHECKF(code == 3 && out && strstr(out, "__main__.WithReduce"), "user classes scan unknown (exit %d)", code);
    free(out);
    snprintf(args, sizeof args, "--scan --json '%s'", tu_model_path("numpy/sk_logreg.joblib"));
    cJSON *j = run_json(args, &code);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "scan"), "verdict");
    CHECKF(code == 0 && cJSON_IsString(v) && strcmp(v->valuestring, "safe") == 0, "sklearn joblib scans safe (exit %d)",
           code);
    cJSON_Delete(j);
    return tu_finish();
}
