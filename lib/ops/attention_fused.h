/* Fused soft attention (cl/attention_fused.cl): O = softmax(scale * Q K^T + bias) V per batch and
 * head, tiled with an online softmax so the Lq x Lk scores never reach device memory. Internal
 * (clseg__) API: the graph lowers attention blocks onto it; docs/ops.md "attention_fused" describes
 * it. */
#ifndef CLSEG_OPS_ATTENTION_FUSED_H
#define CLSEG_OPS_ATTENTION_FUSED_H

#include "internal.h"

typedef struct {
  int64_t batch, heads, lq, lk, dk, dv;
  /* element strides of each operand in the order batch, head, position, feature */
  int64_t q[4], k[4], v[4], o[4];
  int64_t bias[4]; /* strides of the optional additive bias in the order batch, head, query, key (0
                      broadcasts) */
  float scale;     /* 0 means 1/sqrt(dk) */
} clseg__attention_dims;

/* Each tensor is used as (buffer, element offset): its shape is not read, the strides and sizes of
 * d say where every element lies, and every access is checked to fall inside the buffer. o must not
 * overlap q, k, v or bias. bias may be NULL. */
clseg_status clseg__attention_fused(clseg_context *ctx, const clseg__attention_dims *d,
                                    const clseg_tensor *q, const clseg_tensor *k,
                                    const clseg_tensor *v, const clseg_tensor *bias,
                                    clseg_tensor *o);

/* Device bytes the op needs besides its operands (scratch), for the planner's memory report: 0, as
 * both forms keep their tiles in registers and __local memory. */
size_t clseg__attention_fused_scratch(const clseg_context *ctx, const clseg__attention_dims *d);

#endif
