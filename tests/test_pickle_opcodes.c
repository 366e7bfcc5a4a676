/*
 * test_pickle_opcodes.c - the opcode table and opcode coverage.
 *
 *   - ckpt_opcode_count() == 68, ckpt_opcode_at(i) are 68 distinct bytes in
 *     pickletools order (the list below is CPython 3.11's pickletools.opcodes, as
 *     printed by /usr/bin/python3 -c "import pickletools; print([o.name for o in
 *     pickletools.opcodes])"); every other byte has no name and proto -1;
 *   - every (offset, name) that pickletools.genops wrote into a NAME.dis.json names the
 *     byte at that offset of NAME.pkl: ckpt_opcode_name(byte) must be that name;
 *   - per pickle, the highest ckpt_opcode_proto of its opcodes equals the JSON's
 *     max_opcode_proto (pickletools' OpcodeInfo.proto);
 *   - loading every pickle of every fixture executes each of the 68 opcodes at least
 *     once (union of info.opcode_count).
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt_pickle.h"
#include "util_graph.h"
#include "util_test.h"

static const char *const PICKLETOOLS_ORDER[] = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "NEXT_BUFFER",
    "READONLY_BUFFER", "NONE", "NEWTRUE", "NEWFALSE", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
    "BINUNICODE8", "FLOAT", "BINFLOAT", "EMPTY_LIST", "APPEND", "APPENDS", "LIST", "EMPTY_TUPLE",
    "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS",
    "EMPTY_SET", "ADDITEMS", "FROZENSET", "POP", "DUP", "MARK", "POP_MARK", "GET", "BINGET",
    "LONG_BINGET", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "EXT1", "EXT2", "EXT4", "GLOBAL",
    "STACK_GLOBAL", "REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "PROTO", "STOP",
    "FRAME", "PERSID", "BINPERSID"};

static void check_table(void) {
    CHECK_EQ_INT(ckpt_opcode_count(), 68);
    CHECK_EQ_INT(sizeof PICKLETOOLS_ORDER / sizeof PICKLETOOLS_ORDER[0], 68);
    int seen[256] = {0};
    int n = ckpt_opcode_count();
    for (int i = 0; i < n && i < 68; i++) {
        uint8_t b = ckpt_opcode_at(i);
        CHECKF(!seen[b], "opcode byte 0x%02x listed twice", b);
        seen[b] = 1;
        const char *nm = ckpt_opcode_name(b);
        CHECKF(nm && strcmp(nm, PICKLETOOLS_ORDER[i]) == 0,
               "ckpt_opcode_at(%d) = 0x%02x named %s, pickletools order says %s", i, b,
               nm ? nm : "(null)", PICKLETOOLS_ORDER[i]);
        int pr = ckpt_opcode_proto(b);
        CHECKF(pr >= 0 && pr <= 5, "opcode %s: proto %d", nm ? nm : "?", pr);
    }
    int named = 0;
    for (int b = 0; b < 256; b++) {
        if (seen[b]) continue;
        if (ckpt_opcode_name((uint8_t)b) != NULL || ckpt_opcode_proto((uint8_t)b) != -1) {
            CHECKF(0, "byte 0x%02x is not an opcode but has name %s / proto %d", b,
                   ckpt_opcode_name((uint8_t)b) ? ckpt_opcode_name((uint8_t)b) : "(null)",
                   ckpt_opcode_proto((uint8_t)b));
            named++;
        }
    }
    CHECK(named == 0);
    /* the two protocol-0 facts everybody knows, as a sanity anchor */
    CHECK(ckpt_opcode_name('.') && strcmp(ckpt_opcode_name('.'), "STOP") == 0);
    CHECK(ckpt_opcode_name(0x80) && strcmp(ckpt_opcode_name(0x80), "PROTO") == 0);
}

/* The n-th "max_opcode_proto": V in the raw JSON text (pickles appear in order). */
static int nth_max_proto(const char *txt, size_t n) {
    const char *key = "\"max_opcode_proto\":";
    const char *p = txt;
    for (size_t i = 0;; i++) {
        p = strstr(p, key);
        if (!p) return -2;
        p += strlen(key);
        while (*p == ' ') p++;
        if (i == n) return atoi(p);
    }
}

static uint64_t union_count[256];
static int dis_names_seen[256];

static void run_fixture(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "pickles/%s.dis.json", name);
    cJSON *dj = tu_load_json(tu_model_path(rel));
    snprintf(rel, sizeof rel, "pickles/%s.json", name);
    char *jtxt = tu_read_file(tu_model_path(rel), NULL);
    snprintf(rel, sizeof rel, "pickles/%s.pkl", name);
    size_t len = 0;
    uint8_t *pkl = (uint8_t *)tu_read_file(tu_model_path(rel), &len);
    CHECKF(dj && jtxt && pkl, "%s: fixture files missing", name);
    if (!dj || !jtxt || !pkl) goto out;

    const cJSON *pickles = cJSON_GetObjectItemCaseSensitive(dj, "pickles");
    size_t k = 0;
    int names_ok = 1;
    for (const cJSON *p = pickles ? pickles->child : NULL; p; p = p->next, k++) {
        int maxp = -1;
        for (const cJSON *e = p->child; e; e = e->next) {
            double off = cJSON_GetArrayItem(e, 0)->valuedouble;
            const char *nm = cJSON_GetArrayItem(e, 1)->valuestring;
            if (!(off >= 0 && (size_t)off < len) || !nm) {
                CHECKF(0, "%s: bad dis.json entry", name);
                names_ok = 0;
                break;
            }
            uint8_t b = pkl[(size_t)off];
            const char *have = ckpt_opcode_name(b);
            if (!have || strcmp(have, nm) != 0) {
                CHECKF(0, "%s: byte 0x%02x at %.0f is %s for pickletools, %s for ckpt", name, b,
                       off, nm, have ? have : "(null)");
                names_ok = 0;
                break;
            }
            dis_names_seen[b] = 1;
            if (ckpt_opcode_proto(b) > maxp) maxp = ckpt_opcode_proto(b);
        }
        int want = nth_max_proto(jtxt, k);
        CHECKF(maxp == want, "%s pickle %zu: highest ckpt_opcode_proto %d, max_opcode_proto %d",
               name, k, maxp, want);
    }
    if (names_ok) CHECK(1);

    /* run every pickle of the file and add up the opcodes executed */
    ckpt_graph *g = NULL;
    ckpt_status st = ckpt_graph_new(NULL, NULL, 0, &g);
    CHECK_STATUS(st, CKPT_OK);
    size_t pos = 0;
    for (size_t i = 0; st == CKPT_OK && i < k; i++) {
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        ckpt_error err;
        memset(&info, 0, sizeof info);
        ckpt_error_clear(&err);
        st = ckpt_pickle_load(g, pkl, len, pos, NULL, &root, &info, &err);
        CHECKF(st == CKPT_OK, "%s pickle %zu: status %d: %s", name, i, (int)st, err.message);
        if (st != CKPT_OK) break;
        for (int c = 0; c < 256; c++) union_count[c] += info.opcode_count[c];
        pos = (size_t)info.end;
    }
    ckpt_graph_free(g);
out:
    cJSON_Delete(dj);
    free(jtxt);
    free(pkl);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    check_table();

    char **names = NULL;
    size_t n = ug_list_fixtures(tu_model_path("pickles"), &names);
    CHECKF(n >= 100, "only %zu pickle fixtures found", n);
    for (size_t i = 0; i < n; i++) run_fixture(names[i]);
    ug_free_names(names, n);

    int missing = 0, in_dis = 0;
    for (int i = 0; i < ckpt_opcode_count() && i < 256; i++) {
        uint8_t b = ckpt_opcode_at(i);
        in_dis += dis_names_seen[b];
        if (union_count[b] == 0) {
            printf("opcode %s (0x%02x) never executed\n", ckpt_opcode_name(b), b);
            missing++;
        }
    }
    CHECKF(missing == 0, "%d opcodes not executed by any fixture", missing);
    CHECKF(in_dis == 68, "the fixtures' dis.json name %d of the 68 opcodes", in_dis);
    uint64_t other = 0;
    for (int b = 0; b < 256; b++)
        if (!ckpt_opcode_name((uint8_t)b)) other += union_count[b];
    CHECKF(other == 0, "%llu executions counted for non-opcode bytes", (unsigned long long)other);
    return tu_finish();
}
