/* What every conv2d variant uses to build and tune its kernels: the helper kernels of
 * cl/conv_helpers.cl (padding, packing, the dilation mosaics) and the padding launch, kernels built
 * with -D options, the layer-shape key and tuning cells of user tuning files, and the family's
 * choice rules. Below conv.c and the variant files, which all call it. */
#include <stdio.h>

#include "common.h"
#include "conv.h"
#include "tuning.h"

#define OP "conv2d"

clseg_status clseg__conv_helper(clseg_context *ctx, const char *kernel, cl_kernel *k, int *lws) {
  static const char *const key[] = {"LWS"};
  double v = 0;
  char opts[64];
  clseg_status s = clseg__tune_get(ctx, "conv2d_helpers", NULL, key, 1, &v, NULL);
  if (s == CLSEG_OK && !(v >= 1 && v <= 1024 && v == (double)(int)v))
    s = clseg__fail(ctx, CLSEG_FORMAT, "tuning: LWS=%g of conv2d_helpers is not from 1 to 1024", v);
  if (s != CLSEG_OK)
    return s;
  *lws = (int)v;
  snprintf(opts, sizeof opts, "-DHELPER_LWS=%d", *lws);
  return clseg__kernel(ctx, "conv_helpers.cl", opts, kernel, k);
}

clseg_status clseg__conv_pad_run(clseg_context *ctx, cl_kernel k, int lws, const clseg__conv_job *j,
                                 cl_mem dst, int hp, int wp) {
  const int xoff = (int)j->x->offset, rows = j->n * j->cin * hp;
  const clseg__arg args[] = {CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),  CLSEG__ARG(j->h),
                             CLSEG__ARG(j->w_),     CLSEG__ARG(dst),   CLSEG__ARG(hp),
                             CLSEG__ARG(wp),        CLSEG__ARG(j->pt), CLSEG__ARG(j->pl),
                             CLSEG__ARG(rows)};
  const size_t global[1] = {clseg__round_up((size_t)rows, (size_t)lws)}, local[1] = {(size_t)lws};
  return CLSEG__LAUNCH(ctx, k, "conv2d_pad", args, 1, global, local);
}

clseg_status clseg__conv_build(clseg_context *ctx, clseg__conv2d_prep *p, const char *file,
                               const char *name, const clseg__define *defs, int ndefs, int record,
                               cl_kernel *k) {
  char opts[512];
  if (!clseg__build_options(defs, ndefs, opts, sizeof opts))
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", name);
  if (record)
    snprintf(p->t.options, sizeof p->t.options, "%s", opts);
  return clseg__kernel(ctx, file, opts, name, k);
}

void clseg__conv_shape_key(const clseg__conv_job *j, char *buf, size_t size) {
  snprintf(buf, size, "n%d.c%d.h%d.w%d.o%d.k%dx%d.s%dx%d.d%dx%d.p%dx%dx%dx%d.g%d", j->n, j->cin,
           j->h, j->w_, j->cout, j->kh, j->kw, j->sh, j->sw, j->dh, j->dw, j->pt, j->pl, j->pb,
           j->pr, j->groups);
}

clseg_status clseg__conv_tune(clseg_context *ctx, clseg__conv2d_prep *p, const char *variant,
                              const char *const *keys, int nkeys) {
  const char *k[3 + 6];
  double v[3 + 6];
  int n = 0, at[9];
  char shape[CLSEG__TUNE_SHAPE_LEN];
  clseg__tuned t;
  CLSEG__CHECK(ctx, nkeys >= 3 && nkeys <= 9);
  for (int i = 0; i < nkeys; i++)
    if (keys[i]) {
      at[n] = i;
      k[n++] = keys[i];
    }
  clseg__conv_shape_key(&p->j, shape, sizeof shape);
  clseg_status s = clseg__tune_get(ctx, variant, shape, k, n, v, &t);
  if (s != CLSEG_OK)
    return s;
  for (int i = 0; i < n; i++) {
    const int slot = at[i];
    if (slot == 0)
      p->t.mr = (int)v[i];
    else if (slot == 1)
      p->t.nv = (int)v[i];
    else if (slot == 2)
      p->t.lws = (int)v[i];
    else
      p->t.v[slot - 3] = v[i];
  }
  clseg__tuned_describe(&t, p->t.row, sizeof p->t.row);
  return CLSEG_OK;
}

static const char *const RULE_KEYS[] = {
    "WINOGRAD",         "WINO_MIN_CH",     "WINO4_MIN_SIDE", "DIL_MIN_CIN", "DIL_MIN_SUB",
    "WINO_EXTRA_BYTES", "WINO_MIN_PAYOFF", "GEMM",           "DW_GPU",      "WINO_GPU"};

clseg_status clseg__conv_rules_of(clseg_context *ctx, clseg__conv_rules *r) {
  double v[10];
  clseg_status s = clseg__tune_get(ctx, "conv2d", NULL, RULE_KEYS, 10, v, NULL);
  *r = (clseg__conv_rules){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4],
                           v[5],      v[6],      (int)v[7], (int)v[8], (int)v[9]};
  return s;
}
