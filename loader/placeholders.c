/*
 * placeholders.c - TEMPORARY definitions of loader functions that are being
 * written, so that the library links meanwhile.  Whoever writes the real
 * function deletes its placeholder here in the same commit.  This file must
 * be empty (deleted) before the work is called done.
 */
#include "loader_internal.h"

#define CKPT__NOT_YET(fn)                                                                  \
    ckpt_status fn(ckpt_file *f, ckpt_error *err) {                                        \
        (void)f;                                                                           \
        return ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "%s: not implemented yet", #fn); \
    }

CKPT__NOT_YET(ckpt__open_zip)

