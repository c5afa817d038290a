/* Reference pooling (window, global) and resize (nearest, bilinear), following PyTorch's index
 * rules, or for resize the ONNX spec's coordinate and nearest modes. */
#include <math.h>

#include "ref/ref.h"

/* One spatial axis of a pooling window: output size under PyTorch's ceil_mode rule. */
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t pad_lo, int64_t pad_hi,
                        int ceil_mode) {
  int64_t span = in + pad_lo + pad_hi - k;
  if (span < 0)
    return 0;
  int64_t out = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
  /* The last window must start inside the input or its leading padding, never in trailing padding.
   */
  if (ceil_mode && (out - 1) * s >= in + pad_lo)
    out--;
  return out;
}

static int64_t dil(int d) {
  return d ? d : 1;
}

int ref_pool2d_shape(const int64_t xs[4], const clseg_pool2d_params *p, int64_t ys[4]) {
  int64_t kh = p->kernel_h, kw = p->kernel_w;
  int64_t sh = p->stride_h ? p->stride_h : kh, sw = p->stride_w ? p->stride_w : kw;
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || p->pad_top < 0 || p->pad_left < 0 ||
      p->pad_bottom < 0 || p->pad_right < 0 || p->dilation_h < 0 || p->dilation_w < 0)
    return -1;
  /* the extent a dilated window covers */
  int64_t eh = (kh - 1) * dil(p->dilation_h) + 1, ew = (kw - 1) * dil(p->dilation_w) + 1;
  ys[0] = xs[0];
  ys[1] = xs[1];
  ys[2] = pool_out(xs[2], eh, sh, p->pad_top, p->pad_bottom, p->ceil_mode);
  ys[3] = pool_out(xs[3], ew, sw, p->pad_left, p->pad_right, p->ceil_mode);
  return ys[2] >= 1 && ys[3] >= 1 ? 0 : -1;
}

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

/* One pooled value for the window starting at (h0, w0) in padded-origin coordinates (may be
 * negative): every tap (h0 + i * dh, w0 + j * dw) is visited; taps in the input are pooled, taps in
 * the padded extent [-pad_lo, size + pad_hi) count for avg with count_include_pad (the window
 * clipped to the padded input, PyTorch's and ONNX's divisor). */
static float pool_window(const float *x, const int64_t xs[4], const clseg_pool2d_params *p,
                         int64_t n, int64_t c, int64_t h0, int64_t w0) {
  int64_t inside = 0, padded = 0;
  double acc = p->kind == CLSEG_POOL_MAX ? -INFINITY : 0.0;
  for (int64_t i = 0; i < p->kernel_h; i++)
    for (int64_t j = 0; j < p->kernel_w; j++) {
      int64_t h = h0 + i * dil(p->dilation_h), w = w0 + j * dil(p->dilation_w);
      if (h < xs[2] + p->pad_bottom && w < xs[3] + p->pad_right)
        padded++;
      if (h < 0 || w < 0 || h >= xs[2] || w >= xs[3])
        continue;
      inside++;
      double v = x[ref_at(xs, n, c, h, w)];
      acc = p->kind == CLSEG_POOL_MAX ? fmax(acc, v) : acc + v;
    }
  if (p->kind == CLSEG_POOL_MAX)
    return (float)acc;
  int64_t div = p->count_include_pad ? padded : inside;
  return div > 0 ? (float)(acc / (double)div) : 0.0f;
}

void ref_pool2d(const float *x, const int64_t xs[4], const clseg_pool2d_params *p, float *y,
                const int64_t ys[4]) {
  int64_t sh = p->stride_h ? p->stride_h : p->kernel_h,
          sw = p->stride_w ? p->stride_w : p->kernel_w;
  for (int64_t n = 0; n < ys[0]; n++)
    for (int64_t c = 0; c < ys[1]; c++)
      for (int64_t oh = 0; oh < ys[2]; oh++)
        for (int64_t ow = 0; ow < ys[3]; ow++)
          y[ref_at(ys, n, c, oh, ow)] =
              pool_window(x, xs, p, n, c, oh * sh - p->pad_top, ow * sw - p->pad_left);
}

void ref_global_pool(const float *x, const int64_t xs[4], clseg_pool_kind kind, float *y) {
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t c = 0; c < xs[1]; c++) {
      double acc = kind == CLSEG_POOL_MAX ? -INFINITY : 0.0;
      for (int64_t h = 0; h < xs[2]; h++)
        for (int64_t w = 0; w < xs[3]; w++) {
          double v = x[ref_at(xs, n, c, h, w)];
          acc = kind == CLSEG_POOL_MAX ? fmax(acc, v) : acc + v;
        }
      if (kind != CLSEG_POOL_MAX)
        acc /= (double)(xs[2] * xs[3]);
      y[n * xs[1] + c] = (float)acc;
    }
}

/* Source position along one axis, computed in float as PyTorch's CPU kernels do. */
typedef struct {
  int64_t i0, i1;
  float l0, l1;
} axis_tap;

static axis_tap nearest_tap(int64_t dst, int64_t in, int64_t out, float scale) {
  float s = scale != 0.0f ? scale : (float)in / (float)out;
  int64_t i = (int64_t)floorf((float)dst * s);
  /* No short-cut for equal or doubled sizes under a given scale: torch 1.13's CPU kernel takes one
   * only when N * C == 1, so the plain formula is the consistent reading of PyTorch. */
  axis_tap t = {min64(i, in - 1), 0, 1.0f, 0.0f};
  return t;
}

static axis_tap linear_tap(int64_t dst, int64_t in, int64_t out, float scale, int align_corners) {
  float src;
  if (align_corners) {
    /* PyTorch ignores a given scale here: corners map to corners. */
    float s = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    src = s * (float)dst;
  } else {
    float s = scale != 0.0f ? scale : (float)in / (float)out;
    src = s * ((float)dst + 0.5f) - 0.5f;
    if (src < 0.0f)
      src = 0.0f;
  }
  int64_t i0 = (int64_t)src;
  axis_tap t = {i0, i0 < in - 1 ? i0 + 1 : i0, 0.0f, src - (float)i0};
  t.l0 = 1.0f - t.l1;
  return t;
}

/* The ONNX spec's coordinate_transformation_mode, in float and in onnxruntime's order of
 * operations; s = output / input, ONNX's scale. */
static float onnx_coord(int64_t dst, int64_t in, int64_t out, float s, clseg_resize_coord mode) {
  const float x = (float)dst, len_in = (float)in, len_out = (float)out;
  switch (mode) {
  case CLSEG_RESIZE_COORD_HALF_PIXEL: return (x + 0.5f) / s - 0.5f;
  case CLSEG_RESIZE_COORD_PYTORCH_HALF_PIXEL: return len_out > 1 ? (x + 0.5f) / s - 0.5f : 0.0f;
  case CLSEG_RESIZE_COORD_ALIGN_CORNERS:
    return len_out == 1 ? 0.0f : x * (len_in - 1) / (len_out - 1);
  case CLSEG_RESIZE_COORD_ASYMMETRIC: return x / s;
  case CLSEG_RESIZE_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5f) / s;
  default: { /* half_pixel_symmetric: the grid centred on the input after truncating the size */
    float adjustment = len_out / (s * len_in);
    float offset = len_in / 2 * (1 - adjustment);
    return offset + (x + 0.5f) / s - 0.5f;
  }
  }
}

static axis_tap onnx_tap(int64_t dst, int64_t in, int64_t out, float scale,
                         const clseg_resize_params *p) {
  float s = scale != 0.0f ? scale : (float)out / (float)in;
  float c = onnx_coord(dst, in, out, s, p->coord);
  if (p->mode == CLSEG_RESIZE_NEAREST) {
    float r;
    switch (p->round) {
    case CLSEG_RESIZE_ROUND_PREFER_FLOOR: r = c == floorf(c) + 0.5f ? floorf(c) : roundf(c); break;
    case CLSEG_RESIZE_ROUND_PREFER_CEIL: r = roundf(c); break; /* ties away from 0: up */
    case CLSEG_RESIZE_ROUND_FLOOR: r = floorf(c); break;
    case CLSEG_RESIZE_ROUND_CEIL: r = ceilf(c); break;
    default: r = s < 1.0f ? ceilf(c) : truncf(c); /* before opset 11 */
    }
    int64_t i = r < 0 ? 0 : min64((int64_t)r, in - 1);
    axis_tap t = {i, i, 1.0f, 0.0f};
    return t;
  }
  c = c < 0 ? 0 : c > (float)(in - 1) ? (float)(in - 1) : c;
  int64_t i0 = (int64_t)c;
  axis_tap t = {i0, min64(i0 + 1, in - 1), 0.0f, c - (float)i0};
  t.l0 = 1.0f - t.l1;
  return t;
}

static axis_tap ref_tap(int64_t dst, int64_t in, int64_t out, float scale,
                        const clseg_resize_params *p) {
  if (p->coord != CLSEG_RESIZE_COORD_PYTORCH)
    return onnx_tap(dst, in, out, scale, p);
  return p->mode == CLSEG_RESIZE_BILINEAR ? linear_tap(dst, in, out, scale, p->align_corners)
                                          : nearest_tap(dst, in, out, scale);
}

void ref_resize(const float *x, const int64_t xs[4], const clseg_resize_params *p, float *y,
                const int64_t ys[4]) {
  for (int64_t oh = 0; oh < ys[2]; oh++) {
    axis_tap th = ref_tap(oh, xs[2], ys[2], p->scale_h, p);
    for (int64_t ow = 0; ow < ys[3]; ow++) {
      axis_tap tw = ref_tap(ow, xs[3], ys[3], p->scale_w, p);
      for (int64_t n = 0; n < xs[0]; n++)
        for (int64_t c = 0; c < xs[1]; c++) {
          double v = (double)th.l0 * (tw.l0 * x[ref_at(xs, n, c, th.i0, tw.i0)] +
                                      tw.l1 * x[ref_at(xs, n, c, th.i0, tw.i1)]) +
                     (double)th.l1 * (tw.l0 * x[ref_at(xs, n, c, th.i1, tw.i0)] +
                                      tw.l1 * x[ref_at(xs, n, c, th.i1, tw.i1)]);
          y[ref_at(ys, n, c, oh, ow)] = (float)v;
        }
    }
  }
}
