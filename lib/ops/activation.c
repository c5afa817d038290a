/* Host side of the standalone activation (cl/activation.cl): y = act(x), elementwise, x and y
 * alike; and PRelu, whose slope is a tensor (one value, or one per channel). */
#include "common.h"

static clseg_status activation_check(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "activation", "input", x);
  return s != CLSEG_OK ? s : clseg__check_like(ctx, "activation", y, x);
}

clseg_status clseg_activation_apply(clseg_context *ctx, const clseg_tensor *x,
                                    const clseg_activation *act, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "activation: NULL context");
  int kind;
  float alpha, beta;
  clseg_status s = activation_check(ctx, x, y);
  if (s == CLSEG_OK)
    s = clseg__act_resolve(ctx, "activation", act, &kind, &alpha, &beta);
  if (s != CLSEG_OK)
    return s;
  cl_kernel k;
  clseg__stream_shape sh;
  /* The row (cl/tuning/activation.tsv) picks the form: float16 runs of VPW vectors per work-item
   * for CPUs, one float per work-item for GPUs. */
  if ((s = clseg__stream_kernel(ctx, "activation.cl", "activation_apply", &k, &sh)) != CLSEG_OK)
    return s;
  const int x_off = (int)x->offset, y_off = (int)y->offset, n = (int)x->count;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(x_off), CLSEG__ARG(y->buf),
                             CLSEG__ARG(y_off),  CLSEG__ARG(n),     CLSEG__ARG(kind),
                             CLSEG__ARG(alpha),  CLSEG__ARG(beta)};
  const size_t global = clseg__round_up((x->count + sh.chunk - 1) / sh.chunk, sh.local);
  return CLSEG__LAUNCH(ctx, k, "activation", args, 1, &global, &sh.local);
}

static clseg_status prelu_check(clseg_context *ctx, const clseg_tensor *x,
                                const clseg_tensor *slope, const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "prelu", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "prelu", "slope", slope);
  if (s != CLSEG_OK)
    return s;
  if (slope->count != 1 && slope->count != (size_t)x->shape[1])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "prelu: input %s has %lld channels, but the slope has %zu elements (shape "
                       "%s): one, or one per channel",
                       CLSEG__TSHAPE(x), (long long)x->shape[1], slope->count,
                       CLSEG__TSHAPE(slope));
  return clseg__check_like(ctx, "prelu", y, x);
}

clseg_status clseg_prelu(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *slope,
                         clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "prelu: NULL context");
  clseg_status s = prelu_check(ctx, x, slope, y);
  cl_kernel k;
  clseg__stream_shape sh;
  /* The row (cl/tuning/activation.tsv) picks the form: runs of a plane per work-item over a 2-D
   * range (runs, planes) for CPUs, one float per work-item over a 1-D range for GPUs. */
  if (s != CLSEG_OK ||
      (s = clseg__stream_kernel(ctx, "activation.cl", "activation_prelu", &k, &sh)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, so = (int)slope->offset;
  const int stride = slope->count == 1 ? 0 : 1, c = (int)x->shape[1];
  const int hw = (int)(x->shape[2] * x->shape[3]), count = (int)x->count;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo),         CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),     CLSEG__ARG(slope->buf), CLSEG__ARG(so),
                             CLSEG__ARG(stride), CLSEG__ARG(c),          CLSEG__ARG(hw),
                             CLSEG__ARG(count)};
  if (sh.gpu) {
    const size_t global = clseg__round_up(x->count, sh.local);
    return CLSEG__LAUNCH(ctx, k, "prelu", args, 1, &global, &sh.local);
  }
  const size_t local[2] = {sh.local, 1};
  const size_t global[2] = {clseg__round_up(((size_t)hw + sh.chunk - 1) / sh.chunk, local[0]),
                            (size_t)(x->shape[0] * x->shape[1])};
  return CLSEG__LAUNCH(ctx, k, "prelu", args, 2, global, local);
}
