/* conv2d_depthwise (host side: lib/ops/conv.c): the CPU-vectorised depthwise conv. Layout NCHW float32. */
#include "conv_vec.h"

/* Sixteen taps of one input row at per-lane columns idx; columns outside 0..w-1 read as zero padding. */
inline float16 load16_masked(const __global float *row, const int16 idx, const int w) {
  const int16 at = clamp(idx, (int16)0, (int16)(w - 1));
  const float16 v = (float16)(row[at.s0], row[at.s1], row[at.s2], row[at.s3], row[at.s4], row[at.s5], row[at.s6],
                              row[at.s7], row[at.s8], row[at.s9], row[at.sa], row[at.sb], row[at.sc], row[at.sd],
                              row[at.se], row[at.sf]);
  return select((float16)0.0f, v, (idx >= (int16)0) & (idx < (int16)w));
}

/* GEOMETRY_ARGS 1 (the programs shared by small layers): the kernel size, vertical stride and dilations are the
 * arguments kh_n ... dw and the loops over the kernel stay loops, so one program per horizontal stride serves every
 * such layer and builds in a fraction of the time; 0: the -D values, the loops unrolled. */
#ifndef GEOMETRY_ARGS
#define GEOMETRY_ARGS 0
#endif
#if GEOMETRY_ARGS
#define G_KH kh_n
#define G_KW kw_n
#define G_SH sh
#define G_DH dh
#define G_DW dw
#else
#define G_KH KH
#define G_KW KW
#define G_SH SH
#define G_DH DH
#define G_DW DW
#endif

/* Depthwise (groups == channels, one filter per channel): a work-item owns TW pixels of one output row of one
 * channel and reads the input where it lies, no padded copy: rows above and below the map are skipped, and only
 * the vectors whose taps cross the left or right edge take the masked loads. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_depthwise(__global const float *x, const int x_off, const int h, const int w, const int pt, const int pl,
                 __global const float *wt, const int w_off, __global const float *bias, const int b_off,
                 const int has_bias, __global const float *res, const int r_off, const int has_res, __global float *y,
                 const int y_off, const int channels, const int oh_n, const int ow_n, const int tiles_w,
                 const float alpha, const float beta, const int kh_n, const int kw_n, const int sh,
                 const int dh, const int dw) {
  const int tile = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
  if (tile >= oh_n * tiles_w)
    return;
  const int oh = tile / tiles_w, ow0 = (tile - oh * tiles_w) * TW;
  const int ix0 = ow0 * SW - pl, iy0 = oh * G_SH - pt;
  const int inside = ix0 >= 0 && ix0 + (TW - 1) * SW + (G_KW - 1) * G_DW < w;
  const __global float *xc = x + x_off + (size_t)(n * channels + c) * h * w;
  const __global float *wc = wt + w_off + c * G_KH * G_KW;
  const int16 lanes = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * SW;
  float16 acc[NV];
#pragma unroll
  for (int j = 0; j < NV; j++)
    acc[j] = (float16)0.0f;
#if !GEOMETRY_ARGS
#pragma unroll
#endif
  for (int kh = 0; kh < G_KH; kh++) {
    const int iy = iy0 + kh * G_DH;
    if (iy < 0 || iy >= h)
      continue;
    const __global float *xr = xc + iy * w;
#if !GEOMETRY_ARGS
#pragma unroll
#endif
    for (int kw = 0; kw < G_KW; kw++) {
      const float wk = wc[kh * G_KW + kw];
#pragma unroll
      for (int j = 0; j < NV; j++) {
        const int at = ix0 + kw * G_DW + j * 16 * SW;
        const float16 v = inside || (at >= 0 && at + 15 * SW < w) ? load16_strided(xr + at)
                                                                   : load16_masked(xr, lanes + at, w);
        acc[j] = fma(v, (float16)wk, acc[j]);
      }
    }
  }
  const float b = has_bias ? bias[b_off + c] : 0.0f;
  const int row = ((n * channels + c) * oh_n + oh) * ow_n + ow0;
#pragma unroll
  for (int j = 0; j < NV; j++)
    if (ow0 + 16 * j < ow_n)
      epilogue16(acc[j], b, res, r_off, has_res, y, y_off, row + 16 * j, ow_n - ow0 - 16 * j, alpha, beta);
}
