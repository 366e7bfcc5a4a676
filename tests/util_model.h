/*
 * util_model.h - check a built ckpt_model against an expected-outputs JSON
 * document (models/<dir>/NAME.json or ../shared/realworld/expected/NAME.json):
 *   {"inputs": rows | {"sparse_coo"...} | [strings], "dtype": "float32"?,
 *    "outputs": {method: labels | values | rows | {"sparse_coo"...}}}
 * Labels must be identical; numbers within rel*max(|a|,|b|) + abs.
 */
#ifndef CKPT_UTIL_MODEL_H
#define CKPT_UTIL_MODEL_H

#include <cjson/cJSON.h>

#include "ckpt/ckpt_model.h"

/* Run every method listed in doc["outputs"] (methods the model lacks fail
   the check) and compare.  `what` prefixes failure messages.  Returns the
   number of methods compared. */
int tum_check_model(const ckpt_model *m, const cJSON *doc, const char *what, double rel,
                    double abs_tol);

/* Inputs of doc as a dense row-major matrix (NaN for null); *n, *d set.
   Returns malloc'd memory or NULL (text inputs / error). */
double *tum_dense_inputs(const cJSON *doc, int64_t *n, int64_t *d);

#endif
