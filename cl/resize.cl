/* Resize kernels: nearest (resize_nearest) and bilinear (resize_bilinear) with PyTorch's index rules. Sizes
 * and scales are kernel arguments, so one program serves every shape. lib/ops/resize.c is the only caller
 * and owns the argument order; it resolves the scales (input / output, or the caller's). */
#include "common.h"

/* The source coordinates must round as PyTorch's CPU kernels do, so no fused multiply-add. */
#pragma OPENCL FP_CONTRACT OFF

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

/* Stores the lanes of v that fall before OW. */
inline void store_block(float8 v, __global float *dst, int ow0, int OW) {
  if (ow0 + RESIZE_VW <= OW) {
    vstore8(v, 0, dst + ow0);
    return;
  }
  float t[RESIZE_VW];
  vstore8(v, 0, t);
  for (int j = 0; ow0 + j < OW; j++)
    dst[ow0 + j] = t[j];
}

/* PyTorch's nearest: floor(dst * s), s the given scale or in / out. (torch 1.13's CPU kernel short-cuts equal
 * and doubled sizes, ignoring a given scale, only when N * C == 1; the formula is the consistent reading.) */
inline int nearest_src(int dst, int in, float s) { return min((int)floor((float)dst * s), in - 1); }

/* x [NC, H, W] -> y [NC, OH, OW]; dim 0: blocks of RESIZE_VW outputs along OW, dim 1: OH, dim 2: NC. */
__kernel void resize_nearest(__global const float *x, int x_off, __global float *y, int y_off, int H, int W,
                             int OH, int OW, float sh, float sw) {
  int ow0 = (int)get_global_id(0) * RESIZE_VW, oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow0 >= OW || oh >= OH)
    return;
  __global const float *row = x + x_off + ((size_t)nc * H + nearest_src(oh, H, sh)) * W;
  __global float *dst = y + y_off + ((size_t)nc * OH + oh) * OW;
  if (sw == 0.5f && OW == 2 * W && ow0 + RESIZE_VW <= OW) { /* 2x: each input twice */
    float4 v = vload4(0, row + (ow0 >> 1));
    vstore8((float8)(v.s0, v.s0, v.s1, v.s1, v.s2, v.s2, v.s3, v.s3), 0, dst + ow0);
    return;
  }
  float8 fj = convert_float8((int8)(ow0) + LANES);
  store_block(fetch8(row, min(convert_int8(floor(fj * sw)), (int8)(W - 1)), W), dst, ow0, OW);
}

/* One axis tap: the two source indices and the weight of the second. */
typedef struct {
  int i0, i1;
  float l1;
} resize_tap;

inline resize_tap linear_tap(int dst, int in, float s, int align) {
  float src = align ? s * (float)dst : fmax(s * ((float)dst + 0.5f) - 0.5f, 0.0f);
  resize_tap t;
  t.i0 = min((int)src, in - 1);
  t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
  t.l1 = src - (float)t.i0;
  return t;
}

/* The same for eight consecutive outputs along W, lanes as vectors (src >= 0, so truncation is floor). */
inline float8 bilinear_row8(__global const float *r0, __global const float *r1, float lh1, int ow0, int W,
                            float s, int align) {
  float8 fj = convert_float8((int8)(ow0) + LANES);
  float8 src = align ? s * fj : fmax(s * (fj + 0.5f) - 0.5f, 0.0f);
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

__kernel void resize_bilinear(__global const float *x, int x_off, __global float *y, int y_off, int H,
                              int W, int OH, int OW, float sh, float sw, int align) {
  int ow0 = (int)get_global_id(0) * RESIZE_VW, oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow0 >= OW || oh >= OH)
    return;
  resize_tap th = linear_tap(oh, H, sh, align);
  __global const float *r0 = x + x_off + ((size_t)nc * H + th.i0) * W;
  __global const float *r1 = x + x_off + ((size_t)nc * H + th.i1) * W;
  __global float *dst = y + y_off + ((size_t)nc * OH + oh) * OW;
  float lh1 = th.l1, lh0 = 1.0f - th.l1;
  int i = ow0 >> 1;
  if (!align && sw == 0.5f && OW == 2 * W && ow0 + RESIZE_VW <= OW && i >= 1 && i + 4 < W) {
    vstore8(lh0 * up2_row(r0, i) + lh1 * up2_row(r1, i), 0, dst + ow0);
    return;
  }
  store_block(bilinear_row8(r0, r1, lh1, ow0, W, sw, align), dst, ow0, OW);
}
