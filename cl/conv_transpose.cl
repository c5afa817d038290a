/* conv_transpose2d kernels (host side: lib/ops/conv_transpose.c), PyTorch semantics, weight
 * [Cin, Cout / groups, KH, KW]. Gather form: each output pixel sums the inputs that scatter onto it, so no
 * atomics and no zero-fill pass are needed. */
#ifndef SW
#define SW 2 /* conv_transpose2d_gpu: horizontal stride (before conv_common.h, whose default is 1) */
#endif
#include "conv_common.h"

#ifndef MR
#define MR 8 /* conv_transpose2d_k2s2: output channels per work-item */
#endif
#ifndef LWS
#define LWS 4 /* work-group size along dim 0 (the host uses the same local size) */
#endif
/* conv_transpose2d_gpu only: */
#ifndef KH
#define KH 2 /* kernel height */
#endif
#ifndef KW
#define KW 2 /* kernel width */
#endif
#ifndef SH
#define SH 2 /* vertical stride (SW: above) */
#endif
#ifndef DH
#define DH 1 /* vertical dilation */
#endif
#ifndef DW
#define DW 1 /* horizontal dilation */
#endif
#ifndef KSH
#define KSH 2 /* SH / gcd(SH, DH): the step between the kernel rows that reach one output row */
#endif
#ifndef KSW
#define KSW 2 /* SW / gcd(SW, DW): the same for kernel columns */
#endif
#ifndef TX
#define TX 32 /* work-items along W (work-group dim 0) */
#endif
#ifndef TY
#define TY 4 /* work-items along H (work-group dim 1): TX * TY a multiple of 64 fills warps and waves */
#endif
#ifndef PX
#define PX 2 /* output columns per work-item, TX apart so that each of them stays coalesced */
#endif
#ifndef RM
#define RM 8 /* output channels per work-item: each input value loaded feeds RM * PX accumulators */
#endif
#ifndef BK
#define BK 16 /* input channels per slice of weights staged in __local memory */
#endif

/* The generic baseline: one output element per work-item, geometry as run-time arguments (one program for
 * every shape). Input row ih contributes to output row oh through tap kh when oh + pt - kh * dh = ih * sh. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv_transpose2d_direct(__global const float *x, const int x_off, const int cin, const int h, const int w,
                        __global const float *wt, const int w_off, const int kh_n, const int kw_n, const int sh,
                        const int sw, const int dh, const int dw, const int pt, const int pl, const int groups,
                        __global const float *bias, const int b_off, const int has_bias, __global float *y,
                        const int y_off, const int cout, const int oh_n, const int ow_n, const float alpha,
                        const float beta) {
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
                      const int has_bias, __global float *y, const int y_off, const int cout, const int tiles_w,
                      const float alpha, const float beta) {
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

/* The first kernel row k (of KSH candidates) whose tap reaches output row o, or KH when none does: o + p - k d
 * must be a multiple of the stride, and the next such k is KSH further. */
#define FIRST_TAP(o, p, D, S, KS, KN, out)                                                                             \
  do {                                                                                                                 \
    out = KN;                                                                                                          \
    for (int k_ = KS - 1; k_ >= 0; k_--)                                                                               \
      if (((o) + (p)-k_ * (D)) % (S) == 0)                                                                             \
        out = k_;                                                                                                      \
  } while (0)

/* GPU-shaped, any kernel, stride, dilation, padding and groups. A work-group of TX x TY work-items covers
 * TX * PX consecutive output columns x TY rows for RM output channels of one group; a work-item keeps PX x RM
 * accumulators and walks the input channels in slices of BK whose weights the group stages in __local memory
 * (every item of the group reads the same ones). Each work-item visits only the taps that reach its pixel, so
 * for the U-Net up-convolution (kernel 2, stride 2) all items run one tap and none diverge. wt: [cin][cout /
 * groups][KH][KW], read as stored. Dim 2 enumerates (n, group, channel block). */
__kernel __attribute__((reqd_work_group_size(TX, TY, 1))) void
conv_transpose2d_gpu(__global const float *x, const int x_off, const int cin, const int h, const int w,
                     __global const float *wt, const int w_off, const int pt, const int pl, const int groups,
                     const int cblocks, __global const float *bias, const int b_off, const int has_bias,
                     __global float *y, const int y_off, const int cout, const int oh_n, const int ow_n,
                     const float alpha, const float beta) {
  const int lx = get_local_id(0), ly = get_local_id(1), lid = ly * TX + lx, z = get_global_id(2);
  const int n = z / (groups * cblocks), gb = z - n * groups * cblocks, g = gb / cblocks;
  const int cin_g = cin / groups, cout_g = cout / groups, co0 = (gb - g * cblocks) * RM;
  const int oy = get_group_id(1) * TY + ly, ox0 = get_group_id(0) * TX * PX + lx;
  const __global float *xg = x + x_off + ((size_t)n * cin + (size_t)g * cin_g) * h * w;
  const __global float *wg = wt + w_off + (size_t)g * cin_g * cout_g * (KH * KW);
  int kh0, kw0[PX];
  FIRST_TAP(oy, pt, DH, SH, KSH, KH, kh0);
#pragma unroll
  for (int p = 0; p < PX; p++)
    FIRST_TAP(ox0 + p * TX, pl, DW, SW, KSW, KW, kw0[p]);
  __local float wl[BK * KH * KW * RM]; /* [BK][KH * KW][RM]: one tap's RM weights side by side */
  float acc[PX][RM];
#pragma unroll
  for (int p = 0; p < PX; p++)
#pragma unroll
    for (int m = 0; m < RM; m++)
      acc[p][m] = 0.0f;
  for (int ci0 = 0; ci0 < cin_g; ci0 += BK) {
    /* consecutive items read consecutive taps of the stored weights */
    for (int i = lid; i < BK * RM * KH * KW; i += TX * TY) {
      const int t = i % (KH * KW), r = i / (KH * KW), m = r % RM, k = r / RM;
      const int ci = ci0 + k, co = co0 + m;
      wl[(k * KH * KW + t) * RM + m] =
          ci < cin_g && co < cout_g ? wg[((size_t)ci * cout_g + co) * (KH * KW) + t] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int kn = min(BK, cin_g - ci0);
    for (int kh = kh0; kh < KH; kh += KSH) {
      const int th = oy + pt - kh * DH, ih = th / SH;
      if (th < 0 || ih >= h)
        continue;
#pragma unroll
      for (int p = 0; p < PX; p++)
        for (int kw = kw0[p]; kw < KW; kw += KSW) {
          const int tw = ox0 + p * TX + pl - kw * DW, iw = tw / SW;
          if (tw < 0 || iw >= w)
            continue;
          const __global float *xp = xg + ((size_t)ci0 * h + ih) * w + iw;
          const __local float *wq = wl + (kh * KW + kw) * RM;
          for (int k = 0; k < kn; k++, xp += h * w, wq += KH * KW * RM) {
            const float xv = *xp;
#pragma unroll
            for (int m = 0; m < RM; m++)
              acc[p][m] = fma(xv, wq[m], acc[p][m]);
          }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE); /* the slice is read before the next one overwrites it */
  }
  if (oy >= oh_n)
    return;
#pragma unroll
  for (int m = 0; m < RM; m++) {
    const int co = co0 + m;
    if (co >= cout_g)
      break;
    const float b = has_bias ? bias[b_off + g * cout_g + co] : 0.0f;
    __global float *yr = y + y_off + (((size_t)n * cout + g * cout_g + co) * oh_n + oy) * ow_n;
#pragma unroll
    for (int p = 0; p < PX; p++) {
      const int ox = ox0 + p * TX;
      if (ox < ow_n)
        yr[ox] = act_apply(acc[p][m] + b, ACT, alpha, beta);
    }
  }
}
