/* Internal entry of the transpose op (lib/ops/transpose.c) that lets tests and benchmarks force a
 * variant. */
#ifndef CLSEG_OPS_TRANSPOSE_H
#define CLSEG_OPS_TRANSPOSE_H

#include "common.h"

/* clseg_transpose with variant "auto" (or NULL), "transpose_gather" or "transpose_tiled" (only for
 * permutations that collapse to a batched 2-D transpose, else CLSEG_UNSUPPORTED). */
clseg_status clseg__transpose_variant(clseg_context *ctx, const clseg_tensor *x, const int *perm,
                                      clseg_tensor *y, const char *variant);

#endif
