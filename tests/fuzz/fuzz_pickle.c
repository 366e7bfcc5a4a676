/* libFuzzer target: the pickle machine and the disassembler on raw bytes. */
#include "fuzz_common.h"

/* the replay driver also feeds prefixes and corruptions of every seed */
const int ckpt_fuzz_mutate = 1;

static int fz_op(void *user, const ckpt_disasm_op *op) {
    size_t *n = user;
    *n += strlen(op->arg) + (op->name ? 1 : 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    ckpt_limits l = fz_limits();
    ckpt_graph *g = NULL;
    if (ckpt_graph_new(&l, NULL, CKPT_GRAPH_BORROW_INPUT, &g) == CKPT_OK) {
        ckpt_value *root = NULL;
        ckpt_pickle_info info;
        ckpt_error e;
        if (ckpt_pickle_load(g, d, n, 0, NULL, &root, &info, &e) == CKPT_OK) {
            (void)ckpt_value_kind(root);
            (void)ckpt_value_class(root);
            (void)ckpt_value_len(root);
        }
        ckpt_graph_free(g);
    }
    size_t acc = 0;
    ckpt_pickle_info info;
    (void)ckpt_pickle_disasm(d, n, 0, fz_op, &acc, &info, NULL);
    return 0;
}
