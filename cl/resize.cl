/* Resize kernels: nearest (resize_nearest) and bilinear (resize_bilinear) with PyTorch's index rules, or
 * ONNX's coordinate modes as onnxruntime computes them (RESIZE_COORD). Sizes and scales are kernel
 * arguments, so one program serves every shape. lib/ops/resize.c is the only caller and owns the argument
 * order; it resolves the scales (PyTorch: input / output; ONNX: output / input, or the caller's). */
#include "common.h"

/* Source coordinates must round as PyTorch's and onnxruntime's CPU kernels do, so no fused multiply-add. */
#pragma OPENCL FP_CONTRACT OFF

/* Coordinate rule, the numbers of clseg_resize_coord: 0 PyTorch's; 1 half_pixel, 2 pytorch_half_pixel,
 * 3 align_corners, 4 asymmetric, 5 half_pixel_symmetric, 6 tf_half_pixel_for_nn (ONNX). */
#ifndef RESIZE_COORD
#define RESIZE_COORD 0
#endif
/* Nearest with an ONNX rule, the numbers of clseg_resize_round: 0 round_prefer_floor, 1 round_prefer_ceil,
 * 2 floor, 3 ceil, 4 ONNX's rule before opset 11 (floor when upscaling the axis, ceil when downscaling). */
#ifndef RESIZE_ROUND
#define RESIZE_ROUND 0
#endif

/* Outputs along W per work-item, fixed by the float8 stores; the 2x upsamples use vector loads. */
#define RESIZE_VW 8

#define LANES ((int8)(0, 1, 2, 3, 4, 5, 6, 7))

/* Eight loads at per-lane indices (all inside the row: the indices are clamped). */
inline float8 gather8(__global const float *row, int8 i) {
  return (float8)(row[i.s0], row[i.s1], row[i.s2], row[i.s3], row[i.s4], row[i.s5], row[i.s6], row[i.s7]);
}

/* Loads at per-lane indices: when they span fewer than 16 elements inside the row (upsampling), one vector
 * load and a shuffle; else eight scalar loads. */
inline float8 fetch8(__global const float *row, int8 i, int W) {
  int base = i.s0;
  if (i.s7 - base < 16 && base + 16 <= W)
    return shuffle(vload16(0, row + base), convert_uint8(i - base));
  return gather8(row, i);
}

/* The epilogue every kernel applies to what it resized: y = act(v + r) with r the row of a tensor shaped like y
 * (has_r 1) or nothing, and an activation code of common.h (ACT_NONE: none). The planner uses it when it moves a
 * 1x1 conv below the resizes of a concat (SegFormer's decoder: lib/plan_pushdown.c): each resized part is added to
 * the sum of the parts before it, and the last applies the conv's activation. */
typedef struct {
  __global const float *r; /* the residual's row, or NULL */
  int act;
  float alpha, beta;
} resize_epi;

inline float finish1(float v, resize_epi e, int j) {
  return act_apply(e.r ? v + e.r[j] : v, e.act, e.alpha, e.beta);
}

/* Stores the lanes of v that fall before OW, through the epilogue. */
inline void store_block(float8 v, __global float *dst, int ow0, int OW, resize_epi e) {
  if (ow0 + RESIZE_VW <= OW && e.act == ACT_NONE) {
    vstore8(e.r ? v + vload8(0, e.r + ow0) : v, 0, dst + ow0);
    return;
  }
  if (ow0 + RESIZE_VW <= OW && e.act == ACT_RELU) {
    vstore8(fmax(e.r ? v + vload8(0, e.r + ow0) : v, 0.0f), 0, dst + ow0);
    return;
  }
  float t[RESIZE_VW];
  vstore8(v, 0, t);
  for (int j = 0; j < RESIZE_VW && ow0 + j < OW; j++)
    dst[ow0 + j] = finish1(t[j], e, ow0 + j);
}

/* The epilogue's row for output row `row` (nc * OH + oh) of y. */
inline resize_epi epi_row(__global const float *r, int r_off, int has_r, size_t row, int OW, int act, float alpha,
                          float beta) {
  resize_epi e;
  e.r = has_r ? r + r_off + row * OW : 0;
  e.act = act;
  e.alpha = alpha;
  e.beta = beta;
  return e;
}

/* The per-axis rules below are defined twice by macro: S = 1 for one coordinate (float, a row) and S = 8 for
 * eight (float8, columns), so rows cost scalar work. */

/* a / b rounded as IEEE division rounds, for a >= 0, b > 0: a nearest index hangs on exact quotients, and
 * OpenCL allows 2.5 ulp. The host builds with -cl-fp32-correctly-rounded-divide-sqrt where the device offers
 * it; elsewhere (RESIZE_EXACT_DIV) the quotient moves an ulp at a time while that brings the exact residual
 * a - q * b closer to 0 (not by default: it costs PoCL 2-4x on a resize). */
#ifndef RESIZE_EXACT_DIV
#define RESIZE_EXACT_DIV 0
#endif
#define RESIZE_DIV(T, I, S)                                                                                            \
  inline T div_rn##S(T a, float b) {                                                                                   \
    T q = a / b;                                                                                                       \
    for (int k = 0; k < 2 * RESIZE_EXACT_DIV; k++) {                                                                   \
      T r = fma(-q, (T)(b), a);                                                                                        \
      T n = as_##T(as_##I(q) + select((I)(-1), (I)(1), r > 0.0f));                                                     \
      q = select(q, n, fabs(fma(-n, (T)(b), a)) < fabs(r));                                                            \
    }                                                                                                                  \
    return q;                                                                                                          \
  }
RESIZE_DIV(float, int, 1)
RESIZE_DIV(float8, int8, 8)

/* half_pixel_symmetric's shift of the sampling grid, as onnxruntime computes it. */
inline float symmetric_offset(int in, int out, float s) {
  float adjustment = div_rn1((float)out, s * (float)in);
  return ((float)in / 2.0f) * (1.0f - adjustment);
}

/* onnx_src: ONNX's source coordinate of outputs dst, s = output / input, in onnxruntime's order of
 * operations.
 * nearest_src: PyTorch's floor(dst * s) (s the given scale or in / out; torch 1.13's CPU kernel short-cuts
 * equal and doubled sizes, ignoring a given scale, only when N * C == 1, so the formula is the consistent
 * reading), or ONNX's coordinate rounded by RESIZE_ROUND, clamped to the input.
 * linear_src: PyTorch's (align_corners, or half-pixel clamped at 0), or ONNX's clamped to the input. */
#define RESIZE_AXIS(T, I, S)                                                                                           \
  inline T onnx_src##S(T dst, int in, int out, float s) {                                                              \
    if ((RESIZE_COORD == 2 || RESIZE_COORD == 3) && out == 1)                                                          \
      return (T)(0.0f);                                                                                                \
    if (RESIZE_COORD == 3)                                                                                             \
      return div_rn##S(dst * (float)(in - 1), (float)(out - 1));                                                       \
    if (RESIZE_COORD == 4)                                                                                             \
      return div_rn##S(dst, s);                                                                                        \
    T q = div_rn##S(dst + 0.5f, s);                                                                                    \
    if (RESIZE_COORD == 6)                                                                                             \
      return q;                                                                                                        \
    return RESIZE_COORD == 5 ? (symmetric_offset(in, out, s) + q) - 0.5f : q - 0.5f;                                   \
  }                                                                                                                    \
  inline I nearest_src##S(T dst, int in, int out, float s) {                                                           \
    if (RESIZE_COORD == 0)                                                                                             \
      return min(convert_##I(floor(dst * s)), (I)(in - 1));                                                            \
    T x = onnx_src##S(dst, in, out, s), r;                                                                             \
    if (RESIZE_ROUND == 0)                                                                                             \
      r = select(round(x), floor(x), x == floor(x) + 0.5f);                                                            \
    else if (RESIZE_ROUND == 1)                                                                                        \
      r = round(x);                                                                                                    \
    else if (RESIZE_ROUND == 2)                                                                                        \
      r = floor(x);                                                                                                    \
    else if (RESIZE_ROUND == 3)                                                                                        \
      r = ceil(x);                                                                                                     \
    else                                                                                                               \
      r = s < 1.0f ? ceil(x) : trunc(x);                                                                               \
    return convert_##I(clamp(r, (T)(0.0f), (T)((float)(in - 1))));                                                     \
  }                                                                                                                    \
  inline T linear_src##S(T dst, int in, int out, float s, int align) {                                                 \
    if (RESIZE_COORD == 0)                                                                                             \
      return align ? s * dst : fmax(s * (dst + 0.5f) - 0.5f, (T)(0.0f));                                               \
    return clamp(onnx_src##S(dst, in, out, s), (T)(0.0f), (T)((float)(in - 1)));                                       \
  }
RESIZE_AXIS(float, int, 1)
RESIZE_AXIS(float8, int8, 8)

#if RESIZE_COORD == 0
#define DUP2_SCALE            0.5f /* the scale of an exact 2x upsample */
#define NEAREST_DUP2          1    /* an exact 2x repeats each input twice */
#define LINEAR_UP2(align, sw) (!(align) && (sw) == 0.5f)
#define LINEAR_UP4(align, sw) (!(align) && (sw) == 0.25f)
#define LINEAR_UP8(align, sw) (!(align) && (sw) == 0.125f)
#else
#define DUP2_SCALE 2.0f
/* Where an exact 2x repeats each input twice: asymmetric dst / 2 rounded down or ties down; half-pixel
 * dst / 2 - 0.25 rounded to nearest. */
#define NEAREST_DUP2                                                                                                   \
  ((RESIZE_COORD == 4 && (RESIZE_ROUND == 0 || RESIZE_ROUND == 2 || RESIZE_ROUND == 4)) ||                             \
   ((RESIZE_COORD == 1 || RESIZE_COORD == 2) && RESIZE_ROUND <= 1))
#define LINEAR_UP2(align, sw) ((RESIZE_COORD == 1 || RESIZE_COORD == 2) && (sw) == 2.0f)
#define LINEAR_UP4(align, sw) ((RESIZE_COORD == 1 || RESIZE_COORD == 2) && (sw) == 4.0f)
#define LINEAR_UP8(align, sw) ((RESIZE_COORD == 1 || RESIZE_COORD == 2) && (sw) == 8.0f)
#endif

/* x [NC, H, W] -> y [NC, OH, OW]; dim 0: blocks of RESIZE_VW outputs along OW, dim 1: OH, dim 2: NC. */
/* `align` is resize_bilinear's: unused here, so that both kernels take one argument list. */
__kernel void resize_nearest(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int OH,
                             int OW, float sh, float sw, int align, __global const float *r, int r_off, int has_r,
                             int act, float alpha, float beta) {
  int ow0 = (int)get_global_id(0) * RESIZE_VW, oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow0 >= OW || oh >= OH)
    return;
  __global const float *row = x + x_off + ((size_t)nc * H + nearest_src1((float)oh, H, OH, sh)) * W;
  __global float *dst = y + y_off + ((size_t)nc * OH + oh) * OW;
  resize_epi e = epi_row(r, r_off, has_r, (size_t)nc * OH + oh, OW, act, alpha, beta);
  if (NEAREST_DUP2 && sw == DUP2_SCALE && OW == 2 * W && ow0 + RESIZE_VW <= OW) { /* 2x: each input twice */
    float4 v = vload4(0, row + (ow0 >> 1));
    store_block((float8)(v.s0, v.s0, v.s1, v.s1, v.s2, v.s2, v.s3, v.s3), dst, ow0, OW, e);
    return;
  }
  float8 fj = convert_float8((int8)(ow0) + LANES);
  store_block(fetch8(row, nearest_src8(fj, W, OW, sw), W), dst, ow0, OW, e);
}

/* One axis tap: the two source indices and the weight of the second. */
typedef struct {
  int i0, i1;
  float l1;
} resize_tap;

inline resize_tap linear_tap(int dst, int in, int out, float s, int align) {
  float src = linear_src1((float)dst, in, out, s, align);
  resize_tap t;
  t.i0 = min((int)src, in - 1);
  t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
  t.l1 = src - (float)t.i0;
  return t;
}

/* The same for eight consecutive outputs along W, lanes as vectors (src >= 0, so truncation is floor). */
inline float8 bilinear_row8(__global const float *r0, __global const float *r1, float lh1, int ow0, int W, int OW,
                            float s, int align) {
  float8 src = linear_src8(convert_float8((int8)(ow0) + LANES), W, OW, s, align);
  int8 i0 = min(convert_int8(src), (int8)(W - 1));
  int8 i1 = select(i0, i0 + 1, i0 < W - 1);
  float8 l1 = src - convert_float8(i0), l0 = 1.0f - l1;
  float8 top = l0 * fetch8(r0, i0, W) + l1 * fetch8(r0, i1, W);
  float8 bottom = l0 * fetch8(r1, i0, W) + l1 * fetch8(r1, i1, W);
  return (1.0f - lh1) * top + lh1 * bottom;
}

/* 2x along W with the half-pixel rule: output 2i is 0.25 x[i-1] + 0.75 x[i], output 2i+1 is
 * 0.75 x[i] + 0.25 x[i+1]; valid where i-1 and i+4 lie inside the row. */
inline float8 up2_row(__global const float *row, int i) {
  float4 a = vload4(0, row + i - 1), b = vload4(0, row + i), c = vload4(0, row + i + 1);
  float4 even = 0.25f * a + 0.75f * b, odd = 0.75f * b + 0.25f * c;
  return (float8)(even.s0, odd.s0, even.s1, odd.s1, even.s2, odd.s2, even.s3, odd.s3);
}

/* 4x along W with the half-pixel rule (SegFormer's and DeepLab's last upsample): outputs 4i .. 4i+3 sit at
 * i - 3/8, i - 1/8, i + 1/8, i + 3/8, so eight outputs read x[i-1 .. i+2] with fixed weights, the same values
 * (exact in float) the general taps give; valid where i-1 and i+2 lie inside the row. */
inline float8 up4_row(__global const float *row, int i) {
  float4 v = vload4(0, row + i - 1);
  float8 lo = (float8)(v.s0, v.s0, v.s1, v.s1, v.s1, v.s1, v.s2, v.s2);
  float8 hi = (float8)(v.s1, v.s1, v.s2, v.s2, v.s2, v.s2, v.s3, v.s3);
  const float8 w1 = (float8)(0.625f, 0.875f, 0.125f, 0.375f, 0.625f, 0.875f, 0.125f, 0.375f);
  return (1.0f - w1) * lo + w1 * hi;
}

/* 8x along W with the half-pixel rule (SegFormer's deepest stage, 1/32 to 1/4): the eight outputs of input column
 * i sit at i - 7/16 .. i + 7/16 in steps of 1/8, the first four between x[i-1] and x[i], the last four between
 * x[i] and x[i+1]; valid where i-1 and i+1 lie inside the row. */
inline float8 up8_row(__global const float *row, int i) {
  float a = row[i - 1], b = row[i], c = row[i + 1];
  float8 lo = (float8)(a, a, a, a, b, b, b, b), hi = (float8)(b, b, b, b, c, c, c, c);
  const float8 w1 = (float8)(9.0f, 11.0f, 13.0f, 15.0f, 1.0f, 3.0f, 5.0f, 7.0f) / 16.0f;
  return (1.0f - w1) * lo + w1 * hi;
}

__kernel void resize_bilinear(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int OH,
                              int OW, float sh, float sw, int align, __global const float *r, int r_off, int has_r,
                              int act, float alpha, float beta) {
  int ow0 = (int)get_global_id(0) * RESIZE_VW, oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow0 >= OW || oh >= OH)
    return;
  resize_tap th = linear_tap(oh, H, OH, sh, align);
  __global const float *r0 = x + x_off + ((size_t)nc * H + th.i0) * W;
  __global const float *r1 = x + x_off + ((size_t)nc * H + th.i1) * W;
  __global float *dst = y + y_off + ((size_t)nc * OH + oh) * OW;
  resize_epi e = epi_row(r, r_off, has_r, (size_t)nc * OH + oh, OW, act, alpha, beta);
  float lh1 = th.l1, lh0 = 1.0f - th.l1;
  int i = ow0 >> 1;
  if (LINEAR_UP2(align, sw) && OW == 2 * W && ow0 + RESIZE_VW <= OW && i >= 1 && i + 4 < W) {
    store_block(lh0 * up2_row(r0, i) + lh1 * up2_row(r1, i), dst, ow0, OW, e);
    return;
  }
  int i4 = ow0 >> 2;
  if (LINEAR_UP4(align, sw) && OW == 4 * W && ow0 + RESIZE_VW <= OW && i4 >= 1 && i4 + 2 < W) {
    store_block(lh0 * up4_row(r0, i4) + lh1 * up4_row(r1, i4), dst, ow0, OW, e);
    return;
  }
  int i8 = ow0 >> 3;
  if (LINEAR_UP8(align, sw) && OW == 8 * W && ow0 + RESIZE_VW <= OW && i8 >= 1 && i8 + 1 < W) {
    store_block(lh0 * up8_row(r0, i8) + lh1 * up8_row(r1, i8), dst, ow0, OW, e);
    return;
  }
  store_block(bilinear_row8(r0, r1, lh1, ow0, W, OW, sw, align), dst, ow0, OW, e);
}

/* GPU forms (chosen by the GPU cell of the tuning row): one output per work-item, consecutive work-items along OW
 * so that stores are coalesced, work-groups of exactly LOCAL; dim 0: OW, dim 1: OH, dim 2: NC. The float8 blocks
 * above keep a CPU's vector lanes busy but cost a GPU lane 100+ registers. */
#ifndef LOCAL
#define LOCAL 64 /* work-items per work-group of the GPU forms */
#endif
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void resize_nearest_gpu(__global const float *x, int x_off,
                                                                                    __global float *y, int y_off, int H,
                                                                                    int W, int OH, int OW, float sh,
                                                                                    float sw, int align,
                                                                                    __global const float *r, int r_off,
                                                                                    int has_r, int act, float alpha,
                                                                                    float beta) {
  int ow = (int)get_global_id(0), oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow >= OW || oh >= OH)
    return;
  int ih = nearest_src1((float)oh, H, OH, sh), iw = nearest_src1((float)ow, W, OW, sw);
  resize_epi e = epi_row(r, r_off, has_r, (size_t)nc * OH + oh, OW, act, alpha, beta);
  y[y_off + ((size_t)nc * OH + oh) * OW + ow] = finish1(x[x_off + ((size_t)nc * H + ih) * W + iw], e, ow);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void resize_bilinear_gpu(__global const float *x, int x_off,
                                                                                     __global float *y, int y_off,
                                                                                     int H, int W, int OH, int OW,
                                                                                     float sh, float sw, int align,
                                                                                     __global const float *r,
                                                                                     int r_off, int has_r, int act,
                                                                                     float alpha, float beta) {
  int ow = (int)get_global_id(0), oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow >= OW || oh >= OH)
    return;
  resize_tap th = linear_tap(oh, H, OH, sh, align), tw = linear_tap(ow, W, OW, sw, align);
  __global const float *r0 = x + x_off + ((size_t)nc * H + th.i0) * W;
  __global const float *r1 = x + x_off + ((size_t)nc * H + th.i1) * W;
  float top = (1.0f - tw.l1) * r0[tw.i0] + tw.l1 * r0[tw.i1];
  float bottom = (1.0f - tw.l1) * r1[tw.i0] + tw.l1 * r1[tw.i1];
  resize_epi e = epi_row(r, r_off, has_r, (size_t)nc * OH + oh, OW, act, alpha, beta);
  y[y_off + ((size_t)nc * OH + oh) * OW + ow] = finish1((1.0f - th.l1) * top + th.l1 * bottom, e, ow);
}
