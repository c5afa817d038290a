/* Helpers shared by the op host files: argument checks, activation codes and tuning lookups. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "tuning.h"

clseg_status clseg__act_resolve(clseg_context *ctx, const char *op, const clseg_activation *act,
                                int *kind, float *alpha, float *beta) {
  *kind = act ? (int)act->kind : CLSEG_ACT_NONE;
  *alpha = act ? act->alpha : 0.0f;
  *beta = act ? act->beta : 0.0f;
  if (*kind < 0 || *kind >= CLSEG_ACT_COUNT)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: unknown activation kind %d", op, *kind);
  if (*kind == CLSEG_ACT_LEAKY_RELU && *alpha == 0.0f)
    *alpha = 0.01f;
  if (*kind == CLSEG_ACT_HARD_SIGMOID) {
    if (*alpha == 0.0f)
      *alpha = 1.0f / 6.0f;
    if (*beta == 0.0f)
      *beta = 0.5f;
  }
  if (*kind == CLSEG_ACT_CLIP && *alpha > *beta)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: clip activation min %g is above max %g",
                       op, (double)*alpha, (double)*beta);
  return CLSEG_OK;
}

int clseg__fits_int(const clseg_tensor *t) {
  return t->offset + t->count <= (size_t)INT_MAX;
}

clseg_status clseg__check_tensor(clseg_context *ctx, const char *op, const char *role,
                                 const clseg_tensor *t) {
  if (!t)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: %s is NULL", op, role);
  if (t->ctx != ctx)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: %s belongs to another context", op, role);
  if (!clseg__fits_int(t))
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: %s of shape %s has more than 2^31 elements", op,
                       role, CLSEG__TSHAPE(t));
  return CLSEG_OK;
}

clseg_status clseg__check_optional(clseg_context *ctx, const char *op, const char *role,
                                   const clseg_tensor *t, size_t count) {
  if (!t)
    return CLSEG_OK;
  clseg_status s = clseg__check_tensor(ctx, op, role, t);
  if (s == CLSEG_OK && t->count != count)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: %s has %zu elements (shape %s), expected %zu", op, role, t->count,
                       CLSEG__TSHAPE(t), count);
  return s;
}

clseg_status clseg__check_output(clseg_context *ctx, const char *op, const clseg_tensor *y,
                                 const int64_t want[4]) {
  clseg_status s = clseg__check_tensor(ctx, op, "output", y);
  if (s != CLSEG_OK)
    return s;
  if (y->rank != 4 || memcmp(y->shape, want, 4 * sizeof *want) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "%s: output has shape %s, expected %s", op,
                       CLSEG__TSHAPE(y), CLSEG__SHAPE(want));
  return CLSEG_OK;
}

clseg_status clseg__check_like(clseg_context *ctx, const char *op, const clseg_tensor *y,
                               const clseg_tensor *x) {
  clseg_status s = clseg__check_tensor(ctx, op, "output", y);
  if (s != CLSEG_OK)
    return s;
  if (y->rank != x->rank || memcmp(y->shape, x->shape, sizeof y->shape) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "%s: output has shape %s, expected %s", op,
                       CLSEG__TSHAPE(y), CLSEG__TSHAPE(x));
  return CLSEG_OK;
}

clseg_status clseg__tune_sizes(clseg_context *ctx, const char *variant, const char *const *keys,
                               int n, int *out) {
  double v[8];
  clseg__tuned t;
  CLSEG__CHECK(ctx, n >= 1 && n <= 8);
  clseg_status s = clseg__tune_get(ctx, variant, NULL, keys, n, v, &t);
  for (int i = 0; s == CLSEG_OK && i < n; i++) {
    /* a zero work-group size or vector count would divide by zero or launch nothing */
    if (!(v[i] >= 1.0 && v[i] <= 65536.0) || v[i] != (double)(int)v[i]) {
      char where[320];
      clseg__tuned_describe(&t, where, sizeof where);
      return clseg__fail(ctx, CLSEG_FORMAT,
                         "tuning: %s=%g of %s (%s) is not a whole number from 1 to 65536", keys[i],
                         v[i], variant, where);
    }
    out[i] = (int)v[i];
  }
  return s;
}

clseg_status clseg__stream_kernel(clseg_context *ctx, const char *file, const char *variant,
                                  cl_kernel *k, clseg__stream_shape *out) {
  static const char *const keys[] = {"LOCAL", "VPW"};
  int tv[2];
  clseg_status s = clseg__tune_sizes(ctx, variant, keys, 2, tv);
  if (s != CLSEG_OK || (s = clseg__tune_gpu(ctx, variant, &out->gpu)) != CLSEG_OK)
    return s;
  out->local = (size_t)tv[0];
  out->chunk = out->gpu ? 1 : 16 * (size_t)tv[1];
  /* Each form gets only the macro its code reads, so equal rows share one program. */
  const clseg__define defs[] = {{out->gpu ? "LOCAL" : "VPW", out->gpu ? tv[0] : tv[1]}};
  char opts[64], name[64];
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  CLSEG__CHECK(ctx, snprintf(name, sizeof name, "%s%s", variant, out->gpu ? "_gpu" : "") <
                        (int)sizeof name);
  return clseg__kernel(ctx, file, opts, name, k);
}

clseg_status clseg__tune_gpu(clseg_context *ctx, const char *variant, int *gpu) {
  static const char *const key[] = {"GPU"};
  double v;
  clseg__tuned t;
  clseg_status s = clseg__tune_get(ctx, variant, NULL, key, 1, &v, &t);
  if (s != CLSEG_OK)
    return s;
  if (v != 0.0 && v != 1.0) {
    char where[320];
    clseg__tuned_describe(&t, where, sizeof where);
    return clseg__fail(ctx, CLSEG_FORMAT, "tuning: GPU=%g of %s (%s) is neither 0 nor 1", v,
                       variant, where);
  }
  *gpu = v == 1.0;
  return CLSEG_OK;
}

size_t clseg__fit_local(const clseg_context *ctx, size_t wg) {
  while (ctx->info.max_work_group && wg > ctx->info.max_work_group)
    wg /= 2;
  return wg;
}
