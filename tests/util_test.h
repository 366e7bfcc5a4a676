/*
 * util_test.h - the tiny harness every tests/test_*.c uses.
 *
 *   int main(int argc, char **argv) {
 *       tu_init(argc, argv);            // argv[1] = source dir, argv[2] = realworld dir
 *       CHECK(x == 1);
 *       CHECK_EQ_INT(a, b); CHECK_STATUS(st, CKPT_OK); CHECK_NEAR(a, b, rel);
 *       return tu_finish();             // prints "N passed, N failed"; exit 1 on failure
 *   }
 *
 * A skipped check is printed as SKIP with its reason and counted; tu_finish
 * fails the test if nothing at all was checked.
 */
#ifndef CKPT_UTIL_TEST_H
#define CKPT_UTIL_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <cjson/cJSON.h>

extern int tu_passed, tu_failed, tu_skipped;
extern const char *tu_src_dir;       /* project root */
extern const char *tu_realworld_dir; /* ../shared/realworld or NULL if absent */

void tu_init(int argc, char **argv);
int tu_finish(void);
void tu_check(int ok, const char *file, int line, const char *fmt, ...);
void tu_skip(const char *why);

/* "<src>/models/<rel>" into a static rotating buffer (8 slots). */
const char *tu_model_path(const char *rel);
const char *tu_path(const char *dir, const char *rel);
/* Whole file into malloc'd memory (NUL-terminated); NULL on error. */
char *tu_read_file(const char *path, size_t *len);
/* Parse a JSON file (cJSON_Delete it); NULL on error (reported as a failure). */
cJSON *tu_load_json(const char *path);
/* Temporary files under $TMPDIR (or /tmp): "<dir>/<prefix>XXXXXX" made by
   mkstemp (returns the open descriptor, -1 on error) or mkdtemp (returns buf,
   NULL on error); buf receives the path. */
int tu_mkstemp(char *buf, size_t size, const char *prefix);
char *tu_mkdtemp(char *buf, size_t size, const char *prefix);
/* A growable byte buffer (for pickles and archives built in tests); aborts
   when out of memory.  Start from {0}; free(b.p) when done. */
typedef struct tu_buf {
    uint8_t *p;
    size_t n, cap;
} tu_buf;
void tu_buf_put(tu_buf *b, const void *src, size_t n);

/* Relative closeness: |a-b| <= rel*max(|a|,|b|) + abs_tol; NaN==NaN, inf==inf. */
int tu_close(double a, double b, double rel, double abs_tol);

#define CHECK(cond) tu_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) tu_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ_INT(a, b)                                                                  \
    do {                                                                                    \
        long long tu_a_ = (long long)(a), tu_b_ = (long long)(b);                           \
        tu_check(tu_a_ == tu_b_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b,    \
                 tu_a_, tu_b_);                                                             \
    } while (0)
#define CHECK_STATUS(st, want)                                                              \
    do {                                                                                    \
        int tu_s_ = (int)(st);                                                              \
        tu_check(tu_s_ == (int)(want), __FILE__, __LINE__, "%s == %s (got %d)", #st, #want, \
                 tu_s_);                                                                    \
    } while (0)
#define CHECK_NEAR(a, b, rel)                                                               \
    do {                                                                                    \
        double tu_x_ = (a), tu_y_ = (b);                                                    \
        tu_check(tu_close(tu_x_, tu_y_, (rel), 0.0), __FILE__, __LINE__,                    \
                 "%s ~ %s (%.17g vs %.17g)", #a, #b, tu_x_, tu_y_);                         \
    } while (0)

#endif
