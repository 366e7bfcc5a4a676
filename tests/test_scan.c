/*
 * test_scan.c - the scanner's verdicts:
 *  - every sample of models/malicious/manifest.json (hand-written by
 *    models/make_malicious.py, never unpickled) gets its expected verdict, and
 *    the global it is about is reported with that severity (and member);
 *  - every benign fixture under models/ is safe, except the hand-listed
 *    models/malicious/benign_exceptions.json entries (user classes, EXT codes);
 *  - files in ../shared/realworld are safe, or unknown where manifest.json says
 *    they name classes outside scikit-learn/NumPy/torch; never dangerous;
 *  - the rules by themselves (ckpt_scan_classify), finding offsets/opcodes.
 */
#include "util_test.h"

#include <ckpt/ckpt_scan.h>
#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static ckpt_verdict verdict_of(const char *s) {
    if (strcmp(s, "safe") == 0) return CKPT_VERDICT_SAFE;
    if (strcmp(s, "unknown") == 0) return CKPT_VERDICT_UNKNOWN;
    if (strcmp(s, "dangerous") == 0) return CKPT_VERDICT_DANGEROUS;
    return CKPT_VERDICT_UNVERIFIABLE;
}

static void print_report(const char *what, const ckpt_scan_report *r) {
    printf("  %s: %s (%zu findings)\n", what, ckpt_verdict_name(ckpt_scan_verdict(r)),
           ckpt_scan_finding_count(r));
    for (size_t i = 0; i < ckpt_scan_finding_count(r) && i < 12; i++) {
        const ckpt_scan_finding *f = ckpt_scan_finding_at(r, i);
        printf("    [%s] %s %s %s @%lld '%s': %s\n", ckpt_verdict_name(f->severity),
               ckpt_finding_kind_name(f->kind), f->opcode_name, f->global, (long long)f->offset,
               f->member, f->reason);
    }
}

static const ckpt_scan_finding *find_global(const ckpt_scan_report *r, const char *global) {
    for (size_t i = 0; i < ckpt_scan_finding_count(r); i++) {
        const ckpt_scan_finding *f = ckpt_scan_finding_at(r, i);
        if (strcmp(f->global, global) == 0) return f;
    }
    return NULL;
}

static void set_limit(ckpt_limits *l, const char *k, double v) {
    if (strcmp(k, "max_decompressed") == 0) l->max_decompressed = (uint64_t)v;
    else if (strcmp(k, "max_memory") == 0) l->max_memory = (uint64_t)v;
    else if (strcmp(k, "max_stack") == 0) l->max_stack = (uint64_t)v;
    else CHECKF(0, "unknown limit %s in the manifest", k);
}

static void test_malicious(void) {
    cJSON *m = tu_load_json(tu_model_path("malicious/manifest.json"));
    if (!m) return;
    cJSON *samples = cJSON_GetObjectItem(m, "samples");
    int n = 0, flagged = 0, dangerous_want = 0;
    cJSON *s;
    cJSON_ArrayForEach(s, samples) {
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(s, "file"));
        const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(s, "verdict"));
        const char *find = cJSON_GetStringValue(cJSON_GetObjectItem(s, "find"));
        const char *member = cJSON_GetStringValue(cJSON_GetObjectItem(s, "member"));
        cJSON *lim = cJSON_GetObjectItem(s, "limits");
        ckpt_scan_opts o = ckpt_scan_opts_default();
        cJSON *kv;
        cJSON_ArrayForEach(kv, lim) set_limit(&o.limits, kv->string, kv->valuedouble);
        char rel[512];
        snprintf(rel, sizeof rel, "malicious/%s", file);
        ckpt_scan_report *r = NULL;
        ckpt_error e;
        ckpt_error_clear(&e);
        ckpt_status st = ckpt_scan_file(tu_model_path(rel), &o, &r, &e);
        CHECKF(st == CKPT_OK, "%s: scan failed: %s", file, e.message);
        if (st != CKPT_OK) continue;
        n++;
        ckpt_verdict v = ckpt_scan_verdict(r), w = verdict_of(want);
        if (w != CKPT_VERDICT_SAFE) dangerous_want++;
        if (w != CKPT_VERDICT_SAFE && v == w) flagged++;
        CHECKF(v == w, "%s (%s): verdict %s, expected %s", file,
               cJSON_GetStringValue(cJSON_GetObjectItem(s, "technique")), ckpt_verdict_name(v), want);
        if (v != w) print_report(file, r);
        if (find) {
            const ckpt_scan_finding *f = find_global(r, find);
            CHECKF(f != NULL, "%s: %s not reported", file, find);
            if (f) {
                CHECKF(f->severity == w, "%s: %s reported as %s", file, find,
                       ckpt_verdict_name(f->severity));
                CHECKF(f->opcode != 0 && f->offset >= 0, "%s: %s without opcode/offset", file, find);
                if (member)
                    CHECKF(strcmp(f->member, member) == 0, "%s: %s in member '%s', expected '%s'",
                           file, find, f->member, member);
            }
        }
        /* the same through memory */
        size_t len = 0;
        char *buf = tu_read_file(tu_model_path(rel), &len);
        ckpt_scan_report *r2 = NULL;
        CHECK_STATUS(ckpt_scan_memory(buf, len, &o, &r2, NULL), CKPT_OK);
        CHECKF(ckpt_scan_verdict(r2) == v, "%s: memory scan differs", file);
        CHECK_EQ_INT(ckpt_scan_finding_count(r2), ckpt_scan_finding_count(r));
        ckpt_scan_free(r2);
        free(buf);
        ckpt_scan_free(r);
    }
    printf("malicious samples: %d scanned, %d of %d non-safe samples flagged as expected\n", n,
           flagged, dangerous_want);
    CHECK(n > 100);
    cJSON_Delete(m);
}

/* ---- benign fixtures ---- */

typedef struct walkst {
    cJSON *exc;
    int *used;
    int files, safe;
} walkst;

/* The benign sweep scans model files only: these extensions.  Generator
   scripts, expected-output JSON, notes, INDEX listings and out-of-band pickle
   buffers (NAME.bufK, raw data) are not checkpoints.  Any other name fails the
   test, so a new kind of fixture cannot go unscanned silently. */
static int model_name(const char *name) {
    static const char *const model[] = {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin",
                                        ".ckpt", ".npy", ".npz", ".z", ".gz", ".bz2",
                                        ".xz", ".lzma", ".lz4"};
    static const char *const other[] = {".json", ".py", ".md", ".txt", ".csv"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof model / sizeof model[0]; i++) {
        size_t m = strlen(model[i]);
        if (n >= m && strcmp(name + n - m, model[i]) == 0) return 1;
    }
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        size_t m = strlen(other[i]);
        if (n >= m && strcmp(name + n - m, other[i]) == 0) return 0;
    }
    const char *b = strstr(name, ".buf");
    if (b && b[4] >= '0' && b[4] <= '9') return 0;
    if (strcmp(name, "INDEX") == 0 || name[0] == '.') return 0;
    CHECKF(0, "models/: '%s' is neither a model file nor a known non-model file", name);
    return 0;
}

static void scan_benign(walkst *w, const char *rel) {
    ckpt_verdict want = CKPT_VERDICT_SAFE;
    int idx = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, w->exc) {
        if (fnmatch(cJSON_GetStringValue(cJSON_GetObjectItem(e, "glob")), rel, 0) == 0) {
            want = verdict_of(cJSON_GetStringValue(cJSON_GetObjectItem(e, "verdict")));
            w->used[idx] = 1;
            break;
        }
        idx++;
    }
    ckpt_scan_report *r = NULL;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_status st = ckpt_scan_file(tu_model_path(rel), NULL, &r, &err);
    CHECKF(st == CKPT_OK, "%s: %s", rel, err.message);
    if (st != CKPT_OK) return;
    w->files++;
    ckpt_verdict v = ckpt_scan_verdict(r);
    if (v == CKPT_VERDICT_SAFE) w->safe++;
    CHECKF(v == want, "benign %s: verdict %s, expected %s", rel, ckpt_verdict_name(v),
           ckpt_verdict_name(want));
    if (v != want) print_report(rel, r);
    ckpt_scan_free(r);
}

static void test_benign(void) {
    cJSON *ex = tu_load_json(tu_model_path("malicious/benign_exceptions.json"));
    if (!ex) return;
    walkst w = {cJSON_GetObjectItem(ex, "exceptions"), NULL, 0, 0};
    int nexc = cJSON_GetArraySize(w.exc);
    w.used = calloc((size_t)nexc + 1, sizeof *w.used);
    /* explicit stack of directories relative to models/ */
    char *stack[256];
    int sp = 0;
    stack[sp++] = strdup("");
    while (sp > 0) {
        char *dir = stack[--sp];
        DIR *d = opendir(tu_model_path(dir));
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (de->d_name[0] == '.') continue;
                char rel[1024];
                snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", de->d_name);
                struct stat stt;
                if (stat(tu_model_path(rel), &stt) != 0) continue;
                if (S_ISDIR(stt.st_mode)) {
                    if (strcmp(rel, "malicious") != 0 && sp < 256) stack[sp++] = strdup(rel);
                } else if (model_name(de->d_name)) {
                    scan_benign(&w, rel);
                }
            }
            closedir(d);
        }
        free(dir);
    }
    for (int i = 0; i < nexc; i++)
        CHECKF(w.used[i], "benign exception '%s' matches no file",
               cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(w.exc, i), "glob")));
    printf("benign fixtures: %d scanned, %d safe, %d listed exceptions\n", w.files, w.safe,
           w.files - w.safe);
    CHECK(w.files > 100);
    free(w.used);
    cJSON_Delete(ex);
}

static void test_realworld(void) {
    if (!tu_realworld_dir) {
        tu_skip("../shared/realworld is absent: real-world files not scanned");
        return;
    }
    cJSON *m = tu_load_json(tu_path(tu_realworld_dir, "manifest.json"));
    if (!m) return;
    cJSON *f;
    int n = 0, safe = 0, unknown = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
        const char *safety = cJSON_GetStringValue(cJSON_GetObjectItem(f, "safety"));
        char rel[1024];
        snprintf(rel, sizeof rel, "files/%s", name);
        ckpt_scan_report *r = NULL;
        ckpt_error e;
        ckpt_error_clear(&e);
        ckpt_status st = ckpt_scan_file(tu_path(tu_realworld_dir, rel), NULL, &r, &e);
        CHECKF(st == CKPT_OK, "%s: %s", name, e.message);
        if (st != CKPT_OK) continue;
        n++;
        ckpt_verdict v = ckpt_scan_verdict(r);
        ckpt_verdict want = strcmp(safety, "safe") == 0 ? CKPT_VERDICT_SAFE : CKPT_VERDICT_UNKNOWN;
        CHECKF(v == want, "realworld %s (safety %s): verdict %s", name, safety, ckpt_verdict_name(v));
        CHECKF(v != CKPT_VERDICT_DANGEROUS, "realworld %s reported dangerous", name);
        if (v != want) print_report(name, r);
        /* every global the manifest lists is among the findings */
        cJSON *g;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(f, "globals")) {
            const char *gn = cJSON_GetStringValue(g);
            /* the scanner reports canonical names: numpy._core -> numpy.core, Python 2 names mapped */
            char canon[512];
            if (strncmp(gn, "numpy._core.", 12) == 0) snprintf(canon, sizeof canon, "numpy.core.%s", gn + 12);
            else if (strncmp(gn, "__builtin__.", 12) == 0) snprintf(canon, sizeof canon, "builtins.%s", gn + 12);
            else if (strncmp(gn, "copy_reg.", 9) == 0) snprintf(canon, sizeof canon, "copyreg.%s", gn + 9);
            else snprintf(canon, sizeof canon, "%s", gn);
            CHECKF(find_global(r, canon) != NULL, "realworld %s: global %s not reported", name, gn);
        }
        if (v == CKPT_VERDICT_SAFE) safe++;
        if (v == CKPT_VERDICT_UNKNOWN) unknown++;
        ckpt_scan_free(r);
    }
    printf("realworld: %d files, %d safe, %d unknown\n", n, safe, unknown);
    CHECK(n > 20);
    cJSON_Delete(m);
}

static void test_rules(void) {
    static const struct {
        const char *m, *n;
        ckpt_verdict v;
    } t[] = {
        {"numpy.core.multiarray", "_reconstruct", CKPT_VERDICT_SAFE},
        {"numpy._core.multiarray", "_reconstruct", CKPT_VERDICT_SAFE},
        {"numpy", "dtype", CKPT_VERDICT_SAFE},
        {"numpy", "float64", CKPT_VERDICT_SAFE},
        {"torch._utils", "_rebuild_tensor_v2", CKPT_VERDICT_SAFE},
        {"torch", "BFloat16Storage", CKPT_VERDICT_SAFE},
        {"torch", "float32", CKPT_VERDICT_SAFE},
        {"collections", "OrderedDict", CKPT_VERDICT_SAFE},
        {"__builtin__", "set", CKPT_VERDICT_SAFE},
        {"copy_reg", "_reconstructor", CKPT_VERDICT_SAFE},
        {"_codecs", "encode", CKPT_VERDICT_SAFE},
        {"sklearn.tree._tree", "Tree", CKPT_VERDICT_SAFE},
        {"joblib.numpy_pickle", "NumpyArrayWrapper", CKPT_VERDICT_SAFE},
        {"scipy.sparse._csr", "csr_matrix", CKPT_VERDICT_SAFE},
        {"collections", "defaultdict", CKPT_VERDICT_UNKNOWN},
        {"__main__", "Net", CKPT_VERDICT_UNKNOWN},
        {"xgboost.core", "Booster", CKPT_VERDICT_UNKNOWN},
        {"torch.nn.modules.linear", "Linear", CKPT_VERDICT_UNKNOWN},
        {"os", "system", CKPT_VERDICT_DANGEROUS},
        {"os.path", "join", CKPT_VERDICT_DANGEROUS},
        {"posix", "system", CKPT_VERDICT_DANGEROUS},
        {"builtins", "getattr", CKPT_VERDICT_DANGEROUS},
        {"builtins", "print", CKPT_VERDICT_DANGEROUS},
        {"__builtin__", "eval", CKPT_VERDICT_DANGEROUS},
        {"__builtin__", "reduce", CKPT_VERDICT_DANGEROUS},
        {"copy_reg", "add_extension", CKPT_VERDICT_DANGEROUS},
        {"commands", "getoutput", CKPT_VERDICT_DANGEROUS},
        {"torch.storage", "_load_from_bytes", CKPT_VERDICT_DANGEROUS},
        {"torch", "os.system", CKPT_VERDICT_DANGEROUS},
        {"numpy", "load", CKPT_VERDICT_DANGEROUS},
        {"numpy.testing._private.utils", "runstring", CKPT_VERDICT_DANGEROUS},
        {"sklearn.externals.joblib", "load", CKPT_VERDICT_DANGEROUS},
        {"__main__", "__builtins__.exec", CKPT_VERDICT_DANGEROUS},
        {"builtins", "object.__subclasses__", CKPT_VERDICT_DANGEROUS},
        {"operator", "itemgetter", CKPT_VERDICT_DANGEROUS},
        {"mylib", "load", CKPT_VERDICT_DANGEROUS},
        /* torch data helpers on torch.load(weights_only=True)'s allowlist (torch 1.13) */
        {"torch.serialization", "_get_layout", CKPT_VERDICT_SAFE},
        {"torch.serialization", "load", CKPT_VERDICT_DANGEROUS},
        {"torch", "FloatTensor", CKPT_VERDICT_SAFE},
        {"torch.cuda", "LongTensor", CKPT_VERDICT_SAFE},
        {"torch.sparse", "DoubleTensor", CKPT_VERDICT_SAFE},
        {"torch", "EvilTensor", CKPT_VERDICT_UNKNOWN},
        /* TorchScript type names: unknown, but a dunder after __torch__ stays dangerous */
        {"__torch__", "Net", CKPT_VERDICT_UNKNOWN},
        {"__torch__.torch.nn.modules.linear.___torch_mangle_0", "Linear", CKPT_VERDICT_UNKNOWN},
        {"__torch__", "__builtins__.exec", CKPT_VERDICT_DANGEROUS},
        {"__torch__.__builtins__", "eval", CKPT_VERDICT_DANGEROUS},
        {"__torch__.os", "system", CKPT_VERDICT_DANGEROUS},
        {"x.__torch__", "Net", CKPT_VERDICT_DANGEROUS},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *why = NULL;
        ckpt_verdict v = ckpt_scan_classify(t[i].m, t[i].n, &why);
        CHECKF(v == t[i].v, "classify %s.%s = %s (%s), expected %s", t[i].m, t[i].n,
               ckpt_verdict_name(v), why ? why : "", ckpt_verdict_name(t[i].v));
        CHECKF(why && *why, "classify %s.%s gives a reason", t[i].m, t[i].n);
    }
    CHECK_EQ_INT(ckpt_verdict_exit_code(CKPT_VERDICT_SAFE), 0);
    CHECK_EQ_INT(ckpt_verdict_exit_code(CKPT_VERDICT_DANGEROUS), 1);
    CHECK_EQ_INT(ckpt_verdict_exit_code(CKPT_VERDICT_UNVERIFIABLE), 2);
    CHECK_EQ_INT(ckpt_verdict_exit_code(CKPT_VERDICT_UNKNOWN), 3);
}

/* offsets and opcodes point at the bytes of the global */
static void test_offsets(void) {
    static const struct {
        const char *file, *global, *needle;
        uint8_t op;
    } t[] = {
        {"p0_os_system.pkl", "os.system", "cos\nsystem\n", 'c'},
        {"after_stop_p2.pkl", "os.system", "cos\nsystem\n", 'c'},
        {"p0_inst_posix.pkl", "posix.system", "iposix\nsystem\n", 'i'},
        {"jl_global_after_array.joblib", "os.system", "cos\nsystem\n", 'c'},
        {"p4_memo_names.pkl", "posix.system", "\x93", 0x93},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "malicious/%s", t[i].file);
        size_t len = 0;
        char *buf = tu_read_file(tu_model_path(rel), &len);
        CHECKF(buf != NULL, "%s readable", t[i].file);
        if (!buf) continue;
        const char *at = memmem(buf, len, t[i].needle, strlen(t[i].needle));
        ckpt_scan_report *r = NULL;
        CHECK_STATUS(ckpt_scan_memory(buf, len, NULL, &r, NULL), CKPT_OK);
        const ckpt_scan_finding *f = r ? find_global(r, t[i].global) : NULL;
        CHECKF(f && at && f->offset == (int64_t)(at - buf) && f->opcode == t[i].op,
               "%s: %s at offset %lld opcode 0x%02x, expected %lld 0x%02x", t[i].file, t[i].global,
               f ? (long long)f->offset : -1LL, f ? f->opcode : 0, at ? (long long)(at - buf) : -1LL,
               t[i].op);
        ckpt_scan_free(r);
        free(buf);
    }
}

/* protocol-2/3 NEWOBJ_EX pattern (pickles/p2,p3_newobj_ex.pkl, written by pickle
   itself): functools.partial and builtins.getattr reported with the NEWOBJ
   verdict and the reason naming the pattern; the class stays unknown */
static void test_newobj_ex(void) {
    static const char *const files[] = {"pickles/p2_newobj_ex.pkl", "pickles/p3_newobj_ex.pkl"};
    static const char *const globals[] = {"functools.partial", "builtins.getattr"};
    for (size_t i = 0; i < 2; i++) {
        ckpt_scan_report *r = NULL;
        CHECK_STATUS(ckpt_scan_file(tu_model_path(files[i]), NULL, &r, NULL), CKPT_OK);
        if (!r) continue;
        CHECKF(ckpt_scan_verdict(r) == CKPT_VERDICT_UNKNOWN, "%s: %s", files[i],
               ckpt_verdict_name(ckpt_scan_verdict(r)));
        for (size_t k = 0; k < 2; k++) {
            const ckpt_scan_finding *f = find_global(r, globals[k]);
            CHECKF(f && f->severity == CKPT_VERDICT_SAFE && f->opcode == 'c' &&
                       strstr(f->reason, "NEWOBJ_EX pattern recognised") &&
                       strstr(f->reason, "getattr(__main__.WithNewArgsEx, '__new__'), __main__.WithNewArgsEx"),
                   "%s: %s not reported as the recognised pattern", files[i], globals[k]);
        }
        const ckpt_scan_finding *c = find_global(r, "__main__.WithNewArgsEx");
        CHECKF(c && c->severity == CKPT_VERDICT_UNKNOWN, "%s: class not unknown", files[i]);
        ckpt_scan_free(r);
    }
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    test_rules();
    test_offsets();
    test_newobj_ex();
    test_malicious();
    test_benign();
    test_realworld();
    return tu_finish();
}
