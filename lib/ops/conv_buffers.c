/* Conv buffers and weights outside the variants: the prep's own buffers, the context's scratch
 * slots, the weight packing every variant of the family shares, what a prep holds (for the
 * planner) and its release, and the batchnorm fold. */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "conv.h"

#define OP "conv2d"

/* A device buffer owned by a prep, for its packed weights (OpenCL keeps a released buffer alive
 * until the queued kernels that use it have run). */
clseg_status clseg__conv_scratch(clseg_context *ctx, size_t floats, const char *what, cl_mem *out) {
  cl_int err;
  *out = NULL;
  if (floats > (size_t)INT32_MAX)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, OP ": the %s needs %zu floats, more than 2^31", what,
                       floats);
  *out =
      clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (floats ? floats : 1) * sizeof(float), NULL, &err);
  return err == CL_SUCCESS
             ? CLSEG_OK
             : clseg__cl_fail(ctx, err, OP ": allocating %zu floats for the %s", floats, what);
}

clseg_status clseg__conv_scratch_reserve(clseg_context *ctx, clseg__conv2d_prep *p, int slot,
                                         size_t floats, const char *what) {
  if (floats > (size_t)INT32_MAX)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, OP ": the %s needs %zu floats, more than 2^31", what,
                       floats);
  p->scratch_floats[slot] = floats ? floats : 1;
  return clseg__context_scratch(ctx, slot, p->scratch_floats[slot] * sizeof(float), NULL);
}

clseg_status clseg__conv_scratch_get(clseg_context *ctx, const clseg__conv2d_prep *p, int slot,
                                     cl_mem *out) {
  return clseg__context_scratch(ctx, slot, p->scratch_floats[slot] * sizeof(float), out);
}

/* Packs weights w (cout x cin x khw elements; element (co, ci, k) at w_off + co * s_co + ci * s_ci
 * + k) into panels [ceil(cout / mr)][cin][khw][mr] in a new buffer *out (the caller releases it).
 * Run once per prep; conv_transpose2d packs through it too. */
clseg_status clseg__conv2d_pack_weights(clseg_context *ctx, cl_mem w, int w_off, int cout, int cin,
                                        int khw, int s_co, int s_ci, int mr, cl_mem *out) {
  cl_kernel k;
  int lws = 1;
  const size_t total =
      (size_t)(cout + mr - 1) / (size_t)mr * (size_t)mr * (size_t)cin * (size_t)khw;
  clseg_status s = clseg__conv_scratch(ctx, total, "packed weights", out);
  if (s == CLSEG_OK)
    s = clseg__conv_helper(ctx, "conv2d_pack_weights", &k, &lws);
  if (s != CLSEG_OK)
    goto fail;
  const int tot = (int)total;
  const clseg__arg args[] = {CLSEG__ARG(w),    CLSEG__ARG(w_off), CLSEG__ARG(cout), CLSEG__ARG(cin),
                             CLSEG__ARG(khw),  CLSEG__ARG(s_co),  CLSEG__ARG(s_ci), CLSEG__ARG(mr),
                             CLSEG__ARG(*out), CLSEG__ARG(tot)};
  const size_t global[1] = {clseg__round_up(total, (size_t)lws)}, local[1] = {(size_t)lws};
  s = CLSEG__LAUNCH(ctx, k, "conv2d_pack_weights", args, 1, global, local);
  if (s == CLSEG_OK)
    return s;
fail:
  if (*out)
    clReleaseMemObject(*out);
  *out = NULL;
  return s;
}

void clseg_batchnorm_fold(float *weight, float *bias, int64_t cout, int64_t per_out,
                          const float *gamma, const float *beta, const float *mean,
                          const float *var, float eps) {
  if (!weight || !bias || !gamma || !beta || !mean || !var)
    return;
  if (eps == 0.0f)
    eps = 1e-5f;
  for (int64_t c = 0; c < cout; c++) {
    /* double keeps the fold as exact as the unfolded conv + batchnorm pair it replaces */
    const double scale = (double)gamma[c] / sqrt((double)var[c] + (double)eps);
    for (int64_t i = 0; i < per_out; i++)
      weight[c * per_out + i] = (float)(weight[c * per_out + i] * scale);
    bias[c] = (float)(((double)bias[c] - mean[c]) * scale + beta[c]);
  }
}

/* ---- what a prep holds (lib/ops/conv.h) ---- */

int clseg__conv2d_prep_drop_weight(clseg__conv2d_prep *prep) {
  if (!prep || !prep->wp)
    return 0; /* a variant without packed weights reads j.w */
  prep->j.w = NULL;
  return 1;
}

size_t clseg__conv2d_prep_weight_bytes(const clseg__conv2d_prep *prep) {
  size_t bytes = 0;
  if (prep && prep->wp &&
      clGetMemObjectInfo(prep->wp, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) != CL_SUCCESS)
    bytes = 0;
  return bytes;
}

void clseg__conv2d_prep_free(clseg__conv2d_prep *prep) {
  if (!prep)
    return;
  if (prep->wp)
    clReleaseMemObject(prep->wp);
  if (prep->v && prep->v->release)
    prep->v->release(prep);
  free(prep); /* the kernels and the scratch belong to the context */
}
