/*
 * replay_main.c - runs a libFuzzer target without libFuzzer, so ctest
 * exercises every target in the normal (sanitizer) build:
 *
 *   replay_<name> <corpus dir> <models dir> [more files or dirs ...]
 *
 * Every regular file under the arguments (recursively, explicit stack) is fed
 * to LLVMFuzzerTestOneInput.  Targets that define `ckpt_fuzz_mutate` also get,
 * for every file of at most REPLAY_SMALL bytes, every prefix and every
 * single-byte corruption (two values per byte), and for larger files the
 * prefixes at REPLAY_CUTS evenly spaced lengths: all must fail cleanly.
 * A crash, a sanitizer report or a leak fails the test.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
extern const int ckpt_fuzz_mutate __attribute__((weak));

#define REPLAY_MAX_FILE ((size_t)32 << 20)
#define REPLAY_SMALL 512
#define REPLAY_CUTS 64
#define REPLAY_MAX_DIRS 4096

static size_t nfiles, nruns;

/* ASan: every input allocates afresh, and with the default 256 MB quarantine
   each allocation lands on never-touched memory (page faults and fill: about
   half the run time).  A 32 MB quarantine still catches a use-after-free
   within one input.  ASAN_OPTIONS overrides it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=32"; }

static void run(const uint8_t *d, size_t n) {
    /* a private copy of exactly n bytes so ASan sees reads past the end */
    uint8_t *c = malloc(n ? n : 1);
    if (!c) return;
    memcpy(c, d, n);
    LLVMFuzzerTestOneInput(c, n);
    free(c);
    nruns++;
}

/* generator scripts, expected-output JSON and notes are replayed once, not mutated */
static int is_text(const char *path) {
    static const char *const suf[] = {".json", ".py", ".md", ".txt", ".csv"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof suf / sizeof suf[0]; i++) {
        size_t m = strlen(suf[i]);
        if (n >= m && strcmp(path + n - m, suf[i]) == 0) return 1;
    }
    return 0;
}

static void feed(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || (size_t)st.st_size > REPLAY_MAX_FILE) {
        fclose(fp);
        return;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *d = malloc(n ? n : 1);
    if (!d || fread(d, 1, n, fp) != n) {
        free(d);
        fclose(fp);
        return;
    }
    fclose(fp);
    nfiles++;
    run(d, n);
    if (&ckpt_fuzz_mutate && ckpt_fuzz_mutate && !is_text(path)) {
        if (n <= REPLAY_SMALL) {
            for (size_t k = 0; k < n; k++) run(d, k);
            for (size_t k = 0; k < n; k++) {
                uint8_t keep = d[k];
                d[k] = (uint8_t)(keep ^ 0xff);
                run(d, n);
                d[k] = keep;
            }
        } else {
            for (size_t k = 0; k < REPLAY_CUTS; k++) run(d, n / REPLAY_CUTS * k + k % 7);
        }
    }
    free(d);
}

static void walk(const char *root) {
    char **stack = malloc(REPLAY_MAX_DIRS * sizeof *stack);
    if (!stack) return;
    int sp = 0;
    stack[sp++] = strdup(root);
    while (sp > 0) {
        char *p = stack[--sp];
        struct stat st;
        if (p && stat(p, &st) == 0) {
            if (S_ISREG(st.st_mode)) {
                feed(p);
            } else if (S_ISDIR(st.st_mode)) {
                DIR *dir = opendir(p);
                struct dirent *de;
                while (dir && (de = readdir(dir))) {
                    if (de->d_name[0] == '.') continue;
                    size_t l = strlen(p) + strlen(de->d_name) + 2;
                    char *c = malloc(l);
                    if (!c) continue;
                    snprintf(c, l, "%s/%s", p, de->d_name);
                    if (sp < REPLAY_MAX_DIRS) stack[sp++] = c;
                    else free(c);
                }
                if (dir) closedir(dir);
            }
        }
        free(p);
    }
    free(stack);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) walk(argv[i]);
    printf("%s: %zu files, %zu inputs replayed\n", argv[0], nfiles, nruns);
    return nfiles ? 0 : 1;
}
