/*
 * fuzz_common.h - bodies shared by the libFuzzer targets (tests/fuzz/fuzz_*.c).
 * Every input is hostile: it is opened, every array's data is resolved, object
 * items are touched, the scanner runs; nothing may crash, leak or hang.
 * Limits are lowered so one input cannot use more than a few hundred MB.
 */
#ifndef CKPT_FUZZ_COMMON_H
#define CKPT_FUZZ_COMMON_H

#include <ckpt/ckpt_file.h>
#include <ckpt/ckpt_pickle.h>
#include <ckpt/ckpt_scan.h>
#include <stdint.h>
#include <string.h>

#define FZ_MAX_ARRAYS 256

/* set to 1 by targets whose replay also feeds prefixes and corruptions */
extern const int ckpt_fuzz_mutate;

static inline ckpt_limits fz_limits(void) {
    ckpt_limits l = ckpt_limits_default();
    l.max_memory = (uint64_t)256 << 20;
    l.max_decompressed = (uint64_t)64 << 20;
    l.max_string = (uint64_t)64 << 20;
    l.max_stack = 1u << 20;
    l.max_memo = 1u << 20;
    l.max_container = 1u << 22;
    return l;
}

static inline void fz_open(const uint8_t *d, size_t n) {
    ckpt_open_opts o = ckpt_open_opts_default();
    o.limits = fz_limits();
    ckpt_file *f = NULL;
    ckpt_error e;
    ckpt_error_clear(&e);
    if (ckpt_open_memory(d, n, &o, &f, &e) != CKPT_OK) return;
    (void)ckpt_file_format(f);
    (void)ckpt_file_root(f);
    for (size_t i = 0; i < ckpt_file_fact_count(f); i++) {
        (void)ckpt_file_fact_key(f, i);
        (void)ckpt_file_fact_value(f, i);
    }
    size_t na = ckpt_file_array_count(f);
    for (size_t i = 0; i < na && i < FZ_MAX_ARRAYS; i++) {
        const ckpt_array_info *a = ckpt_file_array(f, i);
        if (!a) continue;
        if (a->dtype && a->dtype->type == CKPT_DT_OBJECT) {
            (void)ckpt_array_object_item(f, i, 0);
            continue;
        }
        const void *p = NULL;
        if (ckpt_array_data(f, i, &p, &e) == CKPT_OK && a->nelems > 0 &&
            a->dtype && a->dtype->type != CKPT_DT_VOID && a->dtype->type != CKPT_DT_UNICODE &&
            a->dtype->type != CKPT_DT_BYTES)
            (void)ckpt_array_get_f64(f, i, a->nelems - 1);
    }
    ckpt_close(f);
}

static inline void fz_scan(const uint8_t *d, size_t n) {
    ckpt_scan_opts o = ckpt_scan_opts_default();
    o.limits = fz_limits();
    ckpt_scan_report *r = NULL;
    if (ckpt_scan_memory(d, n, &o, &r, NULL) != CKPT_OK) return;
    size_t k = 0;
    for (size_t i = 0; i < ckpt_scan_finding_count(r); i++)
        k += strlen(ckpt_scan_finding_at(r, i)->global) + strlen(ckpt_scan_finding_at(r, i)->member);
    (void)k;
    ckpt_scan_free(r);
}

static inline int fz_starts(const uint8_t *d, size_t n, const char *magic, size_t m) {
    return n >= m && memcmp(d, magic, m) == 0;
}

#endif
