/* Internal entry of the resize family (lib/ops/resize.c) with an epilogue, for the planner. */
#ifndef CLSEG_OPS_RESIZE_H
#define CLSEG_OPS_RESIZE_H

#include "common.h"

/* y = act(resize(x) + residual): clseg_resize, then residual (NULL: none; else shaped like y, not y
 * itself) added and the activation (NULL: none) applied, in the one kernel. The planner's sum of
 * resized parts (lib/plan_pushdown.c) runs through it. */
clseg_status clseg__resize_sum(clseg_context *ctx, const clseg_tensor *x,
                               const clseg_resize_params *p, const clseg_tensor *residual,
                               const clseg_activation *act, clseg_tensor *y);

#endif
