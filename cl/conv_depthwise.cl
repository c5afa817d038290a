/* conv2d_depthwise_gpu (host side: lib/ops/conv_depthwise.c): depthwise conv shaped for GPUs. A work-group
 * of TX x TY work-items owns an output tile of TX * PX columns x TY rows of one channel; consecutive
 * work-items take consecutive output columns, so loads and stores coalesce along W. Layout NCHW float32;
 * output channel co reads input channel co / mult (channel multiplier mult = cout / cin). */
#include "common.h"
#include "conv_geometry.h"

#ifndef TX
#define TX 16 /* work-items along W (work-group dim 0) */
#endif
#ifndef TY
#define TY 8 /* work-items along H (work-group dim 1): TX * TY a multiple of 64 fills warps and waves */
#endif
#ifndef PX
#define PX 2 /* output columns per work-item, TX apart so that each of them stays coalesced */
#endif
#ifndef USE_LOCAL
#define USE_LOCAL 1 /* 1 stages the tile's input (with its halo) in __local memory once for all KH * KW taps */
#endif

#define OTW (TX * PX)                            /* output tile width */
#define ITW ((OTW - 1) * SW + (KW - 1) * DW + 1) /* input tile width, halo included */
#define ITH ((TY - 1) * SH + (KH - 1) * DH + 1)  /* input tile height, halo included */

/* x: [n][cin][h][w], wt: [cout][1][KH][KW], y and res: [n][cout][oh_n][ow_n]. Padding reads as zero. */
__kernel __attribute__((reqd_work_group_size(TX, TY, 1))) void
conv2d_depthwise_gpu(__global const float *x, const int x_off, const int cin, const int h, const int w,
                     __global const float *wt, const int w_off, const int mult, const int pt, const int pl,
                     __global const float *bias, const int b_off, const int has_bias, __global const float *res,
                     const int r_off, const int has_res, __global float *y, const int y_off, const int cout,
                     const int oh_n, const int ow_n, const float alpha, const float beta) {
  const int lx = get_local_id(0), ly = get_local_id(1), nc = get_global_id(2);
  const int n = nc / cout, co = nc - n * cout;
  const int ox0 = get_group_id(0) * OTW, oy0 = get_group_id(1) * TY, oy = oy0 + ly;
  const int iy0 = oy0 * SH - pt, ix0 = ox0 * SW - pl; /* the tile's top-left input pixel */
  const __global float *xc = x + x_off + ((size_t)n * cin + co / mult) * h * w;
  const __global float *wc = wt + w_off + co * KH * KW;
  float acc[PX];
  for (int p = 0; p < PX; p++)
    acc[p] = 0.0f;
#if USE_LOCAL
  /* every item takes part in the load and the barrier, those past the map's edge included */
  __local float tile[ITH * ITW];
  for (int i = ly * TX + lx; i < ITH * ITW; i += TX * TY) {
    const int r = i / ITW, c = i - r * ITW, iy = iy0 + r, ix = ix0 + c;
    tile[i] = iy >= 0 && iy < h && ix >= 0 && ix < w ? xc[iy * w + ix] : 0.0f;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
  for (int kh = 0; kh < KH; kh++)
#pragma unroll
    for (int kw = 0; kw < KW; kw++) {
      const float wk = wc[kh * KW + kw];
      const __local float *t = tile + (ly * SH + kh * DH) * ITW + lx * SW + kw * DW;
#pragma unroll
      for (int p = 0; p < PX; p++)
        acc[p] = fma(t[p * TX * SW], wk, acc[p]);
    }
#else
    /* large dilations: the halo would not fit, so taps read global memory (and its caches) directly */
#pragma unroll
  for (int kh = 0; kh < KH; kh++) {
    const int iy = iy0 + ly * SH + kh * DH;
    if (iy < 0 || iy >= h)
      continue;
#pragma unroll
    for (int kw = 0; kw < KW; kw++) {
      const float wk = wc[kh * KW + kw];
#pragma unroll
      for (int p = 0; p < PX; p++) {
        const int ix = ix0 + (lx + p * TX) * SW + kw * DW;
        if (ix >= 0 && ix < w)
          acc[p] = fma(xc[iy * w + ix], wk, acc[p]);
      }
    }
  }
#endif
  if (oy >= oh_n)
    return;
  const float b = has_bias ? bias[b_off + co] : 0.0f;
  const int row = (nc * oh_n + oy) * ow_n;
#pragma unroll
  for (int p = 0; p < PX; p++) {
    const int ox = ox0 + lx + p * TX;
    if (ox >= ow_n)
      continue;
    float v = acc[p] + b;
    if (has_res)
      v += res[r_off + row + ox];
    y[y_off + row + ox] = act_apply(v, ACT, alpha, beta);
  }
}
