/* Host side of inference batchnorm (cl/batchnorm.cl): per-channel normalisation with a fused
 * activation. clseg_batchnorm_fold, which folds a batchnorm into a conv's weights, lives with the
 * conv op. */
#include "common.h"

static clseg_status batchnorm_check(clseg_context *ctx, const clseg_tensor *x,
                                    const clseg_tensor *const p[4], float eps,
                                    const clseg_tensor *y) {
  static const char *const roles[4] = {"gamma", "beta", "mean", "var"};
  clseg_status s = clseg__check_tensor(ctx, "batchnorm", "input", x);
  if (s != CLSEG_OK)
    return s;
  for (int i = 0; i < 4; i++) {
    if ((s = clseg__check_tensor(ctx, "batchnorm", roles[i], p[i])) != CLSEG_OK)
      return s;
    if (p[i]->count != (size_t)x->shape[1])
      return clseg__fail(
          ctx, CLSEG_SHAPE_MISMATCH,
          "batchnorm: input %s has %lld channels, but %s has %zu elements (shape %s)",
          CLSEG__TSHAPE(x), (long long)x->shape[1], roles[i], p[i]->count,
          CLSEG__SHAPE(p[i]->shape));
  }
  if (!(eps >= 0.0f))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "batchnorm: eps %g is negative", (double)eps);
  return clseg__check_output(ctx, "batchnorm", y, x->shape);
}

clseg_status clseg_batchnorm(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *gamma,
                             const clseg_tensor *beta, const clseg_tensor *mean,
                             const clseg_tensor *var, float eps, const clseg_activation *act,
                             clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "batchnorm: NULL context");
  const clseg_tensor *const p[4] = {gamma, beta, mean, var};
  int kind;
  float alpha, act_beta;
  clseg_status s = batchnorm_check(ctx, x, p, eps, y);
  if (s == CLSEG_OK)
    s = clseg__act_resolve(ctx, "batchnorm", act, &kind, &alpha, &act_beta);
  if (s != CLSEG_OK)
    return s;
  cl_kernel k;
  clseg__stream_shape sh;
  /* The row (cl/tuning/batchnorm.tsv) picks the form: runs of a plane per work-item over a 2-D
   * range (runs, planes) for CPUs, one float per work-item over a 1-D range for GPUs. */
  if ((s = clseg__stream_kernel(ctx, "batchnorm.cl", "batchnorm_apply", &k, &sh)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, go = (int)gamma->offset,
            bo = (int)beta->offset;
  const int mo = (int)mean->offset, vo = (int)var->offset, c = (int)x->shape[1];
  const int hw = (int)(x->shape[2] * x->shape[3]), count = (int)x->count;
  const float e = eps == 0.0f ? 1e-5f : eps;
  /* The GPU form takes one more argument, the count, last. */
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf),     CLSEG__ARG(xo),       CLSEG__ARG(y->buf),    CLSEG__ARG(yo),
      CLSEG__ARG(gamma->buf), CLSEG__ARG(go),       CLSEG__ARG(beta->buf), CLSEG__ARG(bo),
      CLSEG__ARG(mean->buf),  CLSEG__ARG(mo),       CLSEG__ARG(var->buf),  CLSEG__ARG(vo),
      CLSEG__ARG(c),          CLSEG__ARG(hw),       CLSEG__ARG(e),         CLSEG__ARG(kind),
      CLSEG__ARG(alpha),      CLSEG__ARG(act_beta), CLSEG__ARG(count)};
  if (sh.gpu) {
    const size_t global = clseg__round_up(x->count, sh.local);
    return CLSEG__LAUNCH(ctx, k, "batchnorm", args, 1, &global, &sh.local);
  }
  const size_t local[2] = {sh.local, 1};
  const size_t global[2] = {clseg__round_up(((size_t)hw + sh.chunk - 1) / sh.chunk, local[0]),
                            (size_t)(x->shape[0] * x->shape[1])};
  return CLSEG__LAUNCH(ctx, k, "batchnorm", args, 2, global, local);
}
