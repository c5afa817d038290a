/* Internal entry of the linear op (lib/ops/linear.c) that lets tests and benchmarks force a
 * variant. */
#ifndef CLSEG_OPS_LINEAR_H
#define CLSEG_OPS_LINEAR_H

#include "common.h"

/* clseg_linear with variant "auto" (or NULL), "linear_direct" or "linear_clblast". An unknown name
 * fails with CLSEG_INVALID_ARGUMENT and a message listing the known ones. */
clseg_status clseg__linear_variant(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                                   const clseg_tensor *bias, const clseg_activation *act,
                                   clseg_tensor *y, const char *variant);

#endif
