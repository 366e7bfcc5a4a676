/*
 * common.c - version, status strings, error detail, default limits.
 */
#include "ckpt/ckpt_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

unsigned ckpt_version_number(void) { return CKPT_VERSION_NUMBER; }
const char *ckpt_version_string(void) { return CKPT_VERSION_STRING; }

const char *ckpt_status_str(ckpt_status s) {
    switch (s) {
    case CKPT_OK: return "ok";
    case CKPT_E_NOMEM: return "out of memory";
    case CKPT_E_IO: return "I/O error";
    case CKPT_E_TRUNCATED: return "input truncated";
    case CKPT_E_FORMAT: return "malformed input";
    case CKPT_E_OPCODE: return "unknown pickle opcode";
    case CKPT_E_STACK: return "pickle stack underflow or wrong operand";
    case CKPT_E_MARK: return "pickle MARK missing or misplaced";
    case CKPT_E_MEMO: return "memo key missing or invalid";
    case CKPT_E_LIMIT: return "limit exceeded";
    case CKPT_E_UNSUPPORTED: return "unsupported";
    case CKPT_E_NOTFOUND: return "not found";
    case CKPT_E_TYPE: return "wrong type";
    case CKPT_E_RANGE: return "out of range";
    case CKPT_E_BOUNDS: return "out of bounds";
    case CKPT_E_CODEC: return "decompression failed";
    case CKPT_E_ARG: return "invalid argument";
    case CKPT_E_CRC: return "checksum mismatch";
    case CKPT_E_MODEL: return "model state unsupported or inconsistent";
    case CKPT_E_INPUT: return "bad model input";
    case CKPT_E__LAST: break;
    }
    return "unknown status";
}

void ckpt_error_clear(ckpt_error *err) {
    if (!err) return;
    err->status = CKPT_OK;
    err->offset = -1;
    err->member[0] = '\0';
    err->message[0] = '\0';
}

ckpt_status ckpt_error_set(ckpt_error *err, ckpt_status s, int64_t offset, const char *fmt, ...) {
    if (!err) return s;
    err->status = s;
    err->offset = offset;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->message, sizeof err->message, "%s", ckpt_status_str(s));
    }
    return s;
}

void ckpt_error_member(ckpt_error *err, const char *member) {
    if (!err) return;
    snprintf(err->member, sizeof err->member, "%s", member ? member : "");
}

ckpt_limits ckpt_limits_default(void) {
    ckpt_limits l;
    memset(&l, 0, sizeof l);
    l.max_stack = CKPT_DEFAULT_MAX_STACK;
    l.max_marks = CKPT_DEFAULT_MAX_MARKS;
    l.max_memo = CKPT_DEFAULT_MAX_MEMO;
    l.max_container = CKPT_DEFAULT_MAX_CONTAINER;
    l.max_string = CKPT_DEFAULT_MAX_STRING;
    l.max_memory = CKPT_DEFAULT_MAX_MEMORY;
    l.max_ops = CKPT_DEFAULT_MAX_OPS;
    l.max_depth = CKPT_DEFAULT_MAX_DEPTH;
    l.max_ndim = CKPT_DEFAULT_MAX_NDIM;
    l.max_decompressed = CKPT_DEFAULT_MAX_DECOMPRESSED;
    l.max_arrays = CKPT_DEFAULT_MAX_ARRAYS;
    return l;
}
