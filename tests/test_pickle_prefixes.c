/*
 * test_pickle_prefixes.c - truncated and corrupted fixtures fail cleanly.
 *
 * 1. Every strict prefix of every pickle of every fixture (pickle k of a file loaded
 *    from its start, the input cut anywhere before its end) must fail with
 *    CKPT_E_TRUNCATED: the bytes before the cut are valid, so running out of input is
 *    the only thing that can go wrong.  err.status equals the returned status and
 *    err.offset lies in [start, cut].  ckpt_pickle_disasm of the same prefix must fail
 *    with CKPT_E_TRUNCATED too.  Each prefix is copied into a buffer of exactly its
 *    length, so ASan catches any read past the end.
 * 2. Every single-byte corruption of the small fixtures (< 2 KB): at every offset the
 *    byte is xor'ed with 0xff and replaced by each of CORRUPT_OPS.  Any status is
 *    acceptable but never a crash, a sanitizer report or a leak; on failure err.offset
 *    lies in [0, len]; on success info.end <= len and the disassembler accepts the same
 *    pickle and stops at the same end.  Small limits keep hostile lengths/indices cheap.
 *    The graph is freed each time (LSan checks at exit).
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_pickle.h"
#include "util_graph.h"
#include "util_test.h"

static int null_cb(void *user, const ckpt_disasm_op *op) {
    (void)op;
    (*(uint64_t *)user)++;
    return 0;
}

static ckpt_status persid_cb(void *user, ckpt_graph *g, ckpt_value *pid, ckpt_value **out,
                             ckpt_error *err) {
    (void)user;
    (void)pid;
    (void)err;
    *out = ckpt_value_new_int(g, 7); /* replace every persistent id by 7 */
    return *out ? CKPT_OK : CKPT_E_NOMEM;
}

static const uint8_t BUF_DATA[4] = {1, 2, 3, 4};
static ckpt_status buffer_cb(void *user, size_t index, const uint8_t **data, size_t *len,
                             ckpt_error *err) {
    (void)user;
    (void)err;
    if (index % 2 == 0) { /* every other buffer has data, the others none */
        *data = BUF_DATA;
        *len = sizeof BUF_DATA;
    }
    return CKPT_OK;
}

static size_t n_prefix, n_prefix_bad_status;

static void run_prefixes(const char *name, const uint8_t *pkl, size_t len, size_t start,
                         size_t end) {
    int reported = 0;
    (void)len; /* prefixes are cut below `end`, which the caller checked against len */
    for (size_t cut = start; cut < end; cut++) {
        uint8_t *b = malloc(cut ? cut : 1);
        if (!b) {
            CHECK(0);
            return;
        }
        memcpy(b, pkl, cut);
        ckpt_graph *g = NULL;
        ckpt_status st = ckpt_graph_new(NULL, NULL, (cut & 1) ? CKPT_GRAPH_BORROW_INPUT : 0, &g);
        if (st != CKPT_OK) {
            CHECK_STATUS(st, CKPT_OK);
            free(b);
            return;
        }
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        ckpt_error err;
        ckpt_error_clear(&err);
        st = ckpt_pickle_load(g, b, cut, start, NULL, &root, &info, &err);
        n_prefix++;
        int ok = st == CKPT_E_TRUNCATED && err.status == st && err.offset >= (int64_t)start &&
                 err.offset <= (int64_t)cut;
        if (!ok) {
            n_prefix_bad_status++;
            if (reported++ < 3)
                CHECKF(0, "%s: prefix [%zu, %zu) of pickle [%zu, %zu): status %d (%s) offset %lld: %s",
                       name, start, cut, start, end, (int)st, ckpt_status_str(st),
                       (long long)err.offset, err.message);
        }
        ckpt_graph_free(g);

        uint64_t nops = 0;
        ckpt_error_clear(&err);
        st = ckpt_pickle_disasm(b, cut, start, null_cb, &nops, &info, &err);
        if (st != CKPT_E_TRUNCATED || err.offset < (int64_t)start || err.offset > (int64_t)cut) {
            n_prefix_bad_status++;
            if (reported++ < 3)
                CHECKF(0, "%s: disasm of prefix [%zu, %zu): status %d offset %lld: %s", name,
                       start, cut, (int)st, (long long)err.offset, err.message);
        }
        free(b);
    }
    if (!reported) CHECK(1);
}

/* Opcode bytes written over each position (besides xor 0xff). */
static const uint8_t CORRUPT_OPS[] = {
    '(',  /* MARK */
    '.',  /* STOP */
    '0',  /* POP */
    '2',  /* DUP */
    'e',  /* APPENDS */
    'u',  /* SETITEMS */
    'b',  /* BUILD */
    'R',  /* REDUCE */
    'h',  /* BINGET */
    0x8b, /* LONG4 */
    0x93, /* STACK_GLOBAL */
    0x95, /* FRAME */
    0x97, /* NEXT_BUFFER */
    'Q',  /* BINPERSID */
};

static size_t n_corrupt, n_corrupt_ok;

static void run_corruptions(const char *name, const uint8_t *pkl, size_t len) {
    ckpt_limits lim = ckpt_limits_default();
    lim.max_memo = 1u << 12;
    lim.max_container = 1u << 16;
    lim.max_string = 1u << 20;
    lim.max_memory = 64u << 20;
    lim.max_stack = 1u << 16;
    uint8_t *b = malloc(len);
    if (!b) {
        CHECK(0);
        return;
    }
    ckpt_pickle_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.persistent_load = persid_cb;
    hooks.next_buffer = buffer_cb;
    int reported = 0;
    const size_t nv = 1 + sizeof CORRUPT_OPS;
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < nv; v++) {
            memcpy(b, pkl, len);
            b[i] = v == 0 ? (uint8_t)(pkl[i] ^ 0xff) : CORRUPT_OPS[v - 1];
            if (v > 0 && b[i] == pkl[i]) continue;
            ckpt_graph *g = NULL;
            ckpt_status st = ckpt_graph_new(&lim, NULL, (i & 1) ? CKPT_GRAPH_BORROW_INPUT : 0, &g);
            if (st != CKPT_OK) {
                CHECK_STATUS(st, CKPT_OK);
                free(b);
                return;
            }
            ckpt_value *root = NULL;
            ckpt_pickle_info info;
            ckpt_error err;
            ckpt_error_clear(&err);
            memset(&info, 0, sizeof info);
            st = ckpt_pickle_load(g, b, len, 0, (v & 1) ? &hooks : NULL, &root, &info, &err);
            n_corrupt++;
            int ok;
            if (st == CKPT_OK) {
                n_corrupt_ok++;
                ckpt_pickle_info di;
                ckpt_error derr;
                uint64_t nops = 0;
                ckpt_error_clear(&derr);
                memset(&di, 0, sizeof di);
                ckpt_status ds = ckpt_pickle_disasm(b, len, 0, null_cb, &nops, &di, &derr);
                ok = root != NULL && info.end <= len && ds == CKPT_OK && di.end == info.end &&
                     nops == info.ops;
                if (!ok && reported++ < 3)
                    CHECKF(0, "%s: byte %zu -> 0x%02x: load OK (end %llu, %llu ops) but disasm "
                              "status %d end %llu, %llu ops: %s",
                           name, i, b[i], (unsigned long long)info.end,
                           (unsigned long long)info.ops, (int)ds, (unsigned long long)di.end,
                           (unsigned long long)nops, derr.message);
            } else {
                ok = st < 0 && st > CKPT_E__LAST && err.status == st && err.offset >= 0 &&
                     err.offset <= (int64_t)len && err.message[0] != '\0';
                if (!ok && reported++ < 3)
                    CHECKF(0, "%s: byte %zu -> 0x%02x: status %d, err.status %d offset %lld: %s",
                           name, i, b[i], (int)st, (int)err.status, (long long)err.offset,
                           err.message);
            }
            ckpt_graph_free(g);
        }
    }
    free(b);
    if (!reported) CHECK(1);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    char **names = NULL;
    size_t n = ug_list_fixtures(tu_model_path("pickles"), &names);
    CHECKF(n >= 100, "only %zu pickle fixtures found", n);
    size_t n_small = 0;
    for (size_t f = 0; f < n; f++) {
        char rel[512];
        snprintf(rel, sizeof rel, "pickles/%s.dis.json", names[f]);
        cJSON *dj = tu_load_json(tu_model_path(rel));
        snprintf(rel, sizeof rel, "pickles/%s.pkl", names[f]);
        size_t len = 0;
        uint8_t *pkl = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
        CHECKF(dj && pkl, "%s: fixture files missing", names[f]);
        const cJSON *pickles = dj ? cJSON_GetObjectItemCaseSensitive(dj, "pickles") : NULL;
        for (const cJSON *p = pickles ? pickles->child : NULL; pkl && p; p = p->next) {
            /* the pickle spans [offset of its first op, offset of STOP + 1) */
            const cJSON *first = p->child, *last = cJSON_GetArrayItem(p, cJSON_GetArraySize(p) - 1);
            if (!first || !last) continue;
            size_t start = (size_t)cJSON_GetArrayItem(first, 0)->valuedouble;
            size_t end = (size_t)cJSON_GetArrayItem(last, 0)->valuedouble + 1;
            CHECKF(end <= len && start < end, "%s: bad pickle range", names[f]);
            if (end <= len && start < end) run_prefixes(names[f], pkl, len, start, end);
        }
        if (pkl && len < 2048) {
            run_corruptions(names[f], pkl, len);
            n_small++;
        }
        free(pkl);
        cJSON_Delete(dj);
    }
    ug_free_names(names, n);
    printf("%zu prefixes (%zu not TRUNCATED), %zu small fixtures, %zu corruptions (%zu loaded OK)\n",
           n_prefix, n_prefix_bad_status, n_small, n_corrupt, n_corrupt_ok);
    CHECK(n_prefix > 10000 && n_small > 50 && n_corrupt > 100000);
    return tu_finish();
}
