/* Host side of inference batchnorm (cl/batchnorm.cl): per-channel normalisation with a fused
 * activation. clseg_batchnorm_fold, which folds a batchnorm into a conv's weights, lives with the
 * conv op. */
#include "common.h"

/* Cells of the batchnorm_apply row (cl/tuning/batchnorm.tsv): LOCAL work-items per work-group,
 * VPW float16 vectors per work-item (the kernel's macro). */
static const char *const TUNE_KEYS[] = {"LOCAL", "VPW"};

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
          CLSEG__SHAPE(x->shape), (long long)x->shape[1], roles[i], p[i]->count,
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
  int tv[2];
  if ((s = clseg__tune_sizes(ctx, "batchnorm_apply", TUNE_KEYS, 2, tv)) != CLSEG_OK)
    return s;
  const size_t local[2] = {(size_t)tv[0], 1}, chunk = 16 * (size_t)tv[1];
  char opts[64];
  const clseg__define defs[] = {{"VPW", tv[1]}};
  cl_kernel k;
  CLSEG__CHECK(ctx, clseg__build_options(defs, 1, opts, sizeof opts));
  if ((s = clseg__kernel(ctx, "batchnorm.cl", opts, "batchnorm_apply", &k)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, go = (int)gamma->offset,
            bo = (int)beta->offset;
  const int mo = (int)mean->offset, vo = (int)var->offset, c = (int)x->shape[1];
  const int hw = (int)(x->shape[2] * x->shape[3]);
  const float e = eps == 0.0f ? 1e-5f : eps;
  const clseg__arg args[] = {CLSEG__ARG(x->buf),    CLSEG__ARG(xo),         CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),        CLSEG__ARG(gamma->buf), CLSEG__ARG(go),
                             CLSEG__ARG(beta->buf), CLSEG__ARG(bo),         CLSEG__ARG(mean->buf),
                             CLSEG__ARG(mo),        CLSEG__ARG(var->buf),   CLSEG__ARG(vo),
                             CLSEG__ARG(c),         CLSEG__ARG(hw),         CLSEG__ARG(e),
                             CLSEG__ARG(kind),      CLSEG__ARG(alpha),      CLSEG__ARG(act_beta)};
  const size_t global[2] = {clseg__round_up(((size_t)hw + chunk - 1) / chunk, local[0]),
                            (size_t)(x->shape[0] * x->shape[1])};
  return clseg__launch(ctx, k, "batchnorm", args, 18, 2, global, local);
}
