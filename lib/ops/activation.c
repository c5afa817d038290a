/* Host side of the standalone activation (cl/activation.cl): y = act(x), elementwise, x and y
 * alike. */
#include "common.h"

/* Cells of the activation_apply row (cl/tuning/activation.tsv): LOCAL work-items per work-group,
 * VPW float16 vectors per work-item (the kernel's macro). */
static const char *const TUNE_KEYS[] = {"LOCAL", "VPW"};

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
  int tv[2];
  if ((s = clseg__tune_sizes(ctx, "activation_apply", TUNE_KEYS, 2, tv)) != CLSEG_OK)
    return s;
  const size_t local = (size_t)tv[0], chunk = 16 * (size_t)tv[1];
  char opts[64];
  const clseg__define defs[] = {{"VPW", tv[1]}};
  cl_kernel k;
  CLSEG__CHECK(ctx, clseg__build_options(defs, 1, opts, sizeof opts));
  s = clseg__kernel(ctx, "activation.cl", opts, "activation_apply", &k);
  if (s != CLSEG_OK)
    return s;
  const int x_off = (int)x->offset, y_off = (int)y->offset, n = (int)x->count;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(x_off), CLSEG__ARG(y->buf),
                             CLSEG__ARG(y_off),  CLSEG__ARG(n),     CLSEG__ARG(kind),
                             CLSEG__ARG(alpha),  CLSEG__ARG(beta)};
  const size_t global = clseg__round_up((x->count + chunk - 1) / chunk, local);
  return clseg__launch(ctx, k, "activation", args, 8, 1, &global, &local);
}
