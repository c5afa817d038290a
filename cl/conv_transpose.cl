/* conv_transpose2d kernels (host side: lib/ops/conv_transpose.c), PyTorch semantics, weight
 * [Cin, Cout / groups, KH, KW]. Gather form: each output pixel sums the inputs that scatter onto it, so no
 * atomics and no zero-fill pass are needed. */
#include "conv_common.h"

#ifndef MR
#define MR 8 /* conv_transpose2d_k2s2: output channels per work-item */
#endif
#ifndef LWS
#define LWS 4 /* work-group size along dim 0 (the host uses the same local size) */
#endif

/* The generic baseline: one output element per work-item, geometry as run-time arguments (one program for
 * every shape). Input row ih contributes to output row oh through tap kh when oh + pt - kh * dh = ih * sh. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv_transpose2d_direct(__global const float *x, const int x_off, const int cin, const int h, const int w,
                        __global const float *wt, const int w_off, const int kh_n, const int kw_n,
                        const int sh, const int sw, const int dh, const int dw, const int pt, const int pl,
                        const int groups, __global const float *bias, const int b_off, const int has_bias,
                        __global float *y, const int y_off, const int cout, const int oh_n, const int ow_n,
                        const float alpha, const float beta) {
  const int ow = get_global_id(0), oh = get_global_id(1), nc = get_global_id(2);
  if (ow >= ow_n)
    return;
  const int n = nc / cout, co = nc - n * cout;
  const int cin_g = cin / groups, cout_g = cout / groups, g = co / cout_g, cog = co - g * cout_g;
  const __global float *xg = x + x_off + (n * cin + g * cin_g) * h * w;
  /* weight element (ci, cog, kh, kw) of this group's input channel ci */
  const __global float *wc = wt + w_off + ((g * cin_g) * cout_g + cog) * kh_n * kw_n;
  const int w_ci = cout_g * kh_n * kw_n;
  float acc = 0.0f;
  for (int kh = 0; kh < kh_n; kh++) {
    const int th = oh + pt - kh * dh;
    const int ih = th / sh;
    if (th < 0 || ih * sh != th || ih >= h)
      continue;
    for (int kw = 0; kw < kw_n; kw++) {
      const int tw = ow + pl - kw * dw;
      const int iw = tw / sw;
      if (tw < 0 || iw * sw != tw || iw >= w)
        continue;
      for (int ci = 0; ci < cin_g; ci++)
        acc = mad(xg[(ci * h + ih) * w + iw], wc[ci * w_ci + kh * kw_n + kw], acc);
    }
  }
  if (has_bias)
    acc += bias[b_off + co];
  y[y_off + (nc * oh_n + oh) * ow_n + ow] = act_apply(acc, ACT, alpha, beta);
}

/* Kernel 2, stride 2, no padding (the U-Net up-convolution): output pixel (2 ih + kh, 2 iw + kw) gets input
 * (ih, iw) through tap (kh, kw) only, so each output row is two 1x1 convs of one input row, interleaved.
 * A work-item owns MR output channels x 16 input pixels of one output row; weights are packed
 * [cblocks][cin][2][2][MR] (lib/ops/conv.c). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv_transpose2d_k2s2(__global const float *x, const int x_off, const int cin, const int h, const int w,
                      __global const float *wp, const int cblocks, __global const float *bias, const int b_off,
                      const int has_bias, __global float *y, const int y_off, const int cout,
                      const int tiles_w, const float alpha, const float beta) {
  const int tile = get_global_id(0), cb = get_global_id(1), n = get_global_id(2);
  const int oh_n = 2 * h, ow_n = 2 * w;
  if (tile >= oh_n * tiles_w || cb >= cblocks)
    return;
  const int oh = tile / tiles_w, iw0 = (tile - oh * tiles_w) * 16, ih = oh >> 1, kh = oh & 1;
  const int valid = w - iw0;
  const __global float *xr = x + x_off + (n * cin * h + ih) * w + iw0;
  const __global float *wq = wp + ((size_t)cb * cin * 4 + kh * 2) * MR;
  /* every loop over the tile is unrolled so the accumulators stay in registers */
  float16 a0[MR], a1[MR];
#pragma unroll
  for (int m = 0; m < MR; m++)
    a0[m] = a1[m] = (float16)0.0f;
  for (int ci = 0; ci < cin; ci++, xr += h * w, wq += 4 * MR) {
    const float16 v = valid >= 16 ? vload16(0, xr) : load16_tail(xr, valid);
#pragma unroll
    for (int m = 0; m < MR; m++) {
      a0[m] = mad(v, (float16)wq[m], a0[m]);
      a1[m] = mad(v, (float16)wq[MR + m], a1[m]);
    }
  }
  const uint16 lo = (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const uint16 hi = lo + 8u;
#pragma unroll
  for (int m = 0; m < MR; m++) {
    const int co = cb * MR + m;
    if (co >= cout)
      continue;
    const float b = has_bias ? bias[b_off + co] : 0.0f;
    __global float *yr = y + y_off + ((n * cout + co) * oh_n + oh) * ow_n + 2 * iw0;
    store16(act16(shuffle2(a0[m], a1[m], lo) + b, alpha, beta), yr, 2 * valid);
    if (valid > 8)
      store16(act16(shuffle2(a0[m], a1[m], hi) + b, alpha, beta), yr + 16, 2 * valid - 16);
  }
}
