/* Host side of the standalone activation (cl/activation.cl): y = act(x), elementwise, x and y
 * alike. */
#include "common.h"

static clseg_status activation_check(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "activation", "input", x);
  return s != CLSEG_OK ? s : clseg__check_output(ctx, "activation", y, x->shape);
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
