/* conv2d_depthwise (host side: lib/ops/conv.c): the CPU-vectorised depthwise conv over a zero-padded
 * input. Layout NCHW float32. */
#include "conv_vec.h"

/* Depthwise (groups == channels, one filter per channel): a work-item owns TW pixels of one row of one
 * channel. xp is the zero-padded input (conv2d_pad), so loads need no bounds checks. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_depthwise(__global const float *xp, const int xp_cs, const int xp_rs, __global const float *wt, const int w_off,
                 __global const float *bias, const int b_off, const int has_bias, __global const float *res,
                 const int r_off, const int has_res, __global float *y, const int y_off, const int channels,
                 const int oh_n, const int ow_n, const int tiles_w, const float alpha, const float beta) {
  const int tile = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
  if (tile >= oh_n * tiles_w)
    return;
  const int oh = tile / tiles_w, ow0 = (tile - oh * tiles_w) * TW;
  const __global float *xr = xp + (n * channels + c) * xp_cs + oh * SH * xp_rs + ow0 * SW;
  const __global float *wc = wt + w_off + c * KH * KW;
  float16 acc[NV];
#pragma unroll
  for (int j = 0; j < NV; j++)
    acc[j] = (float16)0.0f;
#pragma unroll
  for (int kh = 0; kh < KH; kh++)
#pragma unroll
    for (int kw = 0; kw < KW; kw++) {
      const float wk = wc[kh * KW + kw];
#pragma unroll
      for (int j = 0; j < NV; j++)
        acc[j] = fma(load16_strided(xr + kh * DH * xp_rs + kw * DW + j * 16 * SW), (float16)wk, acc[j]);
    }
  const float b = has_bias ? bias[b_off + c] : 0.0f;
  const int row = ((n * channels + c) * oh_n + oh) * ow_n + ow0;
#pragma unroll
  for (int j = 0; j < NV; j++)
    if (ow0 + 16 * j < ow_n)
      epilogue16(acc[j], b, res, r_off, has_res, y, y_off, row + 16 * j, ow_n - ow0 - 16 * j, alpha, beta);
}
