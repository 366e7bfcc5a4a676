/*
 * util_graph.h - compare a ckpt pickle graph with the JSON form that
 * models/make_pickles.py wrote from CPython's unpickler (documented in
 * models/README.md), and list the pickle fixtures.
 *
 * The comparison walks the expected JSON and the graph together in pre-order
 * with an explicit stack (no recursion), maps JSON ids to graph nodes for
 * shared/recursive references, and stops at the first mismatch, which it
 * reports with its path, e.g. "value[2].state[0]["a"]: expected int 5, got str".
 */
#ifndef CKPT_UTIL_GRAPH_H
#define CKPT_UTIL_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "ckpt/ckpt_pickle.h"

/* Flags for ug_compare. */
#define UG_BUFFER_DATA 1u   /* buffers were supplied by a hook: compare their bytes */
#define UG_BUFFER_NODATA 2u /* no buffers supplied: buffer nodes must have no data */

/*
 * Compare `root` (a node of `g`) with the expected VALUE `expect`.  Returns 1
 * when they match.  Otherwise returns 0 and writes "path: what" into msg
 * (`msg_size` bytes, always NUL-terminated).  `path` names the root in messages.
 */
int ug_compare(const ckpt_graph *g, const ckpt_value *root, const cJSON *expect, unsigned flags,
               const char *path, char *msg, size_t msg_size);

/* Decode a hex string into malloc'd bytes (*out may be NULL when empty).  0 on bad hex. */
int ug_hex_decode(const char *hex, uint8_t **out, size_t *len);

/*
 * The fixture names (NAME of models/pickles/NAME.json, without .dis.json),
 * sorted; malloc'd array of malloc'd strings.  Returns the count (0 if none or
 * the directory is missing).  Free with ug_free_names.
 */
size_t ug_list_fixtures(const char *dir, char ***names);
void ug_free_names(char **names, size_t n);

#endif /* CKPT_UTIL_GRAPH_H */
