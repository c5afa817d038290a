/* conv2d_direct (host side: lib/ops/conv.c): the generic baseline. Layout NCHW float32. */
#include "conv_common.h"
#include "conv_geometry.h"

#ifndef LWS
#define LWS 8 /* work-group size along dim 0 (the conv2d_direct row) */
#endif

/* The generic baseline: one output element per work-item, every geometry a run-time argument so that one
 * program serves all shapes (it is the fallback and the checked reference, not the fast path). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_direct(__global const float *x, const int x_off, const int cin, const int h, const int w,
              __global const float *wt, const int w_off, const int kh_n, const int kw_n, const int sh, const int sw,
              const int dh, const int dw, const int pt, const int pl, const int groups, __global const float *bias,
              const int b_off, const int has_bias, __global const float *res, const int r_off, const int has_res,
              __global float *y, const int y_off, const int cout, const int oh_n, const int ow_n, const float alpha,
              const float beta) {
  const int ow = get_global_id(0), oh = get_global_id(1), nc = get_global_id(2);
  if (ow >= ow_n)
    return;
  const int n = nc / cout, co = nc - n * cout;
  const int cin_g = cin / groups, g = co / (cout / groups);
  const __global float *xg = x + x_off + (n * cin + g * cin_g) * h * w;
  const __global float *wc = wt + w_off + co * cin_g * kh_n * kw_n;
  float acc = 0.0f;
  for (int kh = 0; kh < kh_n; kh++) {
    const int ih = oh * sh - pt + kh * dh;
    if (ih < 0 || ih >= h)
      continue;
    for (int kw = 0; kw < kw_n; kw++) {
      const int iw = ow * sw - pl + kw * dw;
      if (iw < 0 || iw >= w)
        continue;
      for (int ci = 0; ci < cin_g; ci++)
        acc = mad(xg[(ci * h + ih) * w + iw], wc[(ci * kh_n + kh) * kw_n + kw], acc);
    }
  }
  const int yi = (nc * oh_n + oh) * ow_n + ow;
  if (has_bias)
    acc += bias[b_off + co];
  if (has_res)
    acc += res[r_off + yi];
  y[y_off + yi] = act_apply(acc, ACT, alpha, beta);
}
