/* Internal entry of the matmul op (lib/ops/matmul.c) that lets tests and benchmarks force a
 * variant. */
#ifndef CLSEG_OPS_MATMUL_H
#define CLSEG_OPS_MATMUL_H

#include "common.h"

/* clseg_matmul with variant "auto" (or NULL), "matmul_tile", "matmul_dot" or "matmul_gpu". An
 * unknown name fails with CLSEG_INVALID_ARGUMENT listing the known ones; a variant that cannot run
 * the call's transposes (matmul_dot runs only trans_a 0 and trans_b 1) fails with
 * CLSEG_UNSUPPORTED. */
clseg_status clseg__matmul_variant(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                                   const clseg_tensor *bias, const clseg_matmul_params *p,
                                   clseg_tensor *y, const char *variant);

#endif
