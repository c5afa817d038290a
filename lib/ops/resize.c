/* Host side of the resize kernel family (cl/resize.cl): nearest and bilinear resize to y's size
 * with PyTorch's index rules or ONNX's coordinate modes (build options RESIZE_COORD, RESIZE_ROUND).
 * One kernel per mode, so no variant table. */
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "resize.h"
#include "tuning.h"

#define RESIZE_VW 8 /* outputs along W per work-item, as in cl/resize.cl */

static const char *const MODE_NAMES[] = {"nearest", "bilinear"};

static clseg_status resize_check(clseg_context *ctx, const clseg_tensor *x,
                                 const clseg_resize_params *p, const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "resize", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "resize", "output", y);
  if (s != CLSEG_OK)
    return s;
  if (!p)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "resize: params is NULL");
  if (p->mode != CLSEG_RESIZE_NEAREST && p->mode != CLSEG_RESIZE_BILINEAR)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "resize: unknown mode %d", (int)p->mode);
  if ((unsigned)p->coord > CLSEG_RESIZE_COORD_TF_HALF_PIXEL_FOR_NN ||
      (unsigned)p->round > CLSEG_RESIZE_ROUND_SIMPLE)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "resize %s: unknown coord %d or round %d",
                       MODE_NAMES[p->mode], (int)p->coord, (int)p->round);
  if (!(p->scale_h >= 0.0f) || !(p->scale_w >= 0.0f) || isinf(p->scale_h) || isinf(p->scale_w))
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        "resize %s: scale_h %g and scale_w %g must be finite and >= 0 (0: from the sizes)",
        MODE_NAMES[p->mode], (double)p->scale_h, (double)p->scale_w);
  if (x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "resize %s: output has shape %s, input %s: N and C must match",
                       MODE_NAMES[p->mode], CLSEG__TSHAPE(y), CLSEG__TSHAPE(x));
  return CLSEG_OK;
}

/* resize writes y's own size: the output shape is x's N, C with y's H, W. */
static void resize_out_shape(const clseg_tensor *x, const clseg_tensor *y, int64_t out[4]) {
  out[0] = x->shape[0];
  out[1] = x->shape[1];
  out[2] = y->shape[2];
  out[3] = y->shape[3];
}

/* The scale the kernel uses on one axis, in float as PyTorch does: align_corners maps corner to
 * corner and ignores a given scale; else the caller's input/output scale, or in / out. ONNX
 * coords: the caller's output/input scale, or out / in as onnxruntime derives it from sizes. */
static float axis_scale(int64_t in, int64_t out, float given, int bilinear, int align, int onnx) {
  if (onnx)
    return given != 0.0f ? given : (float)out / (float)in;
  if (bilinear && align)
    return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
  return given != 0.0f ? given : (float)in / (float)out;
}

/* ONNX's nearest indices hang on exactly rounded quotients: where the device offers IEEE division
 * as a build option the kernel uses it, elsewhere it corrects its quotients (RESIZE_EXACT_DIV). */
static int divides_exactly(clseg_context *ctx) {
  cl_device_fp_config fp = 0;
  return clGetDeviceInfo(ctx->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL) ==
             CL_SUCCESS &&
         (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT);
}

static size_t pow2_upto(size_t n, size_t cap) {
  size_t p = 1;
  while (p < n && p < cap)
    p *= 2;
  return p;
}

static clseg_status resize_enqueue(clseg_context *ctx, const clseg_tensor *x,
                                   const clseg_resize_params *p, const clseg_tensor *r, int act,
                                   float alpha, float beta, clseg_tensor *y) {
  int bil = p->mode == CLSEG_RESIZE_BILINEAR, onnx = p->coord != CLSEG_RESIZE_COORD_PYTORCH;
  int align = bil && !onnx && p->align_corners;
  const char *name = bil ? "resize_bilinear" : "resize_nearest";
  /* only nearest under an ONNX rule rounds, so only it needs exact quotients and RESIZE_ROUND */
  int exact = onnx && !bil, ieee_div = exact && divides_exactly(ctx);
  const clseg__define defs[] = {{"RESIZE_COORD", (long)p->coord},
                                {"RESIZE_EXACT_DIV", exact && !ieee_div},
                                {"RESIZE_ROUND", exact ? (long)p->round : 0}};
  char opts[192] = "";
  CLSEG__CHECK(ctx,
               !onnx || clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts - 40));
  if (ieee_div)
    strcat(opts, " -cl-fp32-correctly-rounded-divide-sqrt");
  /* LOCAL caps the work-group, MIN_LOCAL keeps it at least that large on small maps; GPU 1 takes
   * the one-output-per-work-item form in work-groups of exactly LOCAL (docs/ops: resize) */
  static const char *const keys[] = {"LOCAL", "MIN_LOCAL"}, *const gpu_key[] = {"GPU"};
  int cells[2];
  double g = 0;
  clseg_status s = clseg__tune_sizes(ctx, name, keys, 2, cells);
  if (s == CLSEG_OK && (s = clseg__tune_get(ctx, name, NULL, gpu_key, 1, &g, NULL)) == CLSEG_OK &&
      g != 0 && g != 1)
    s = clseg__fail(ctx, CLSEG_FORMAT, "tuning: GPU=%g of %s is neither 0 nor 1", g, name);
  if (s != CLSEG_OK)
    return s;
  const int gpu = g == 1;
  char kname[32];
  snprintf(kname, sizeof kname, "%s%s", name, gpu ? "_gpu" : "");
  if (gpu) {
    const size_t n = strlen(opts);
    snprintf(opts + n, sizeof opts - n, "%s-DLOCAL=%d", n ? " " : "", cells[0]);
  }
  cl_kernel k;
  s = clseg__kernel(ctx, "resize.cl", opts, kname, &k);
  if (s != CLSEG_OK)
    return s;
  int xo = (int)x->offset, yo = (int)y->offset, H = (int)x->shape[2], W = (int)x->shape[3];
  int OH = (int)y->shape[2], OW = (int)y->shape[3];
  float sh = axis_scale(H, OH, p->scale_h, bil, align, onnx),
        sw = axis_scale(W, OW, p->scale_w, bil, align, onnx);
  cl_mem rb = r ? r->buf : y->buf; /* not read without has_r */
  int ro = r ? (int)r->offset : 0, has_r = r != NULL;
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf), CLSEG__ARG(xo),  CLSEG__ARG(y->buf), CLSEG__ARG(yo),    CLSEG__ARG(H),
      CLSEG__ARG(W),      CLSEG__ARG(OH),  CLSEG__ARG(OW),     CLSEG__ARG(sh),    CLSEG__ARG(sw),
      CLSEG__ARG(align),  CLSEG__ARG(rb),  CLSEG__ARG(ro),     CLSEG__ARG(has_r), CLSEG__ARG(act),
      CLSEG__ARG(alpha),  CLSEG__ARG(beta)};
  const size_t cap = (size_t)cells[0];
  const size_t blocks = gpu ? (size_t)OW : ((size_t)OW + RESIZE_VW - 1) / RESIZE_VW;
  size_t local[3] = {gpu ? cap : pow2_upto(blocks, cap), 1, 1};
  local[1] = gpu ? 1 : pow2_upto((size_t)OH, cap / local[0]);
  while (local[0] * local[1] < (size_t)cells[1] && local[0] * local[1] < cap)
    local[1] *= 2;
  size_t global[3] = {clseg__round_up(blocks, local[0]), clseg__round_up((size_t)OH, local[1]),
                      (size_t)(y->shape[0] * y->shape[1])};
  return CLSEG__LAUNCH(ctx, k, kname, args, 3, global, local);
}

clseg_status clseg__resize_sum(clseg_context *ctx, const clseg_tensor *x,
                               const clseg_resize_params *p, const clseg_tensor *residual,
                               const clseg_activation *act, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "resize: context is NULL");
  clseg_status s = resize_check(ctx, x, p, y);
  if (s != CLSEG_OK)
    return s;
  int64_t want[4];
  resize_out_shape(x, y, want);
  int kind = 0;
  float alpha = 0.0f, beta = 0.0f;
  if ((s = clseg__check_output(ctx, "resize", y, want)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, "resize", "residual", residual, y->count)) != CLSEG_OK ||
      (s = clseg__act_resolve(ctx, "resize", act, &kind, &alpha, &beta)) != CLSEG_OK)
    return s;
  return resize_enqueue(ctx, x, p, residual, kind, alpha, beta, y);
}

clseg_status clseg_resize(clseg_context *ctx, const clseg_tensor *x, const clseg_resize_params *p,
                          clseg_tensor *y) {
  return clseg__resize_sum(ctx, x, p, NULL, NULL, y);
}
