/* conv2d_gemm (host side: lib/ops/conv_gemm.c): a GPU-shaped implicit-GEMM conv, M = output channels
 * of a group, N = N * OH * OW pixels, K = Cin / groups * KH * KW, tiled per work-group through __local
 * memory; its weight packing and the sum of split-K partials. Layout NCHW float32. */
#include "common.h"
#include "conv_geometry.h"

#ifndef MWG
#define MWG 64 /* output channels per work-group tile (M) */
#endif
#ifndef NWG
#define NWG 64 /* output pixels per work-group tile (N) */
#endif
#ifndef KWG
#define KWG 16 /* K-slice staged in __local memory per barrier pair */
#endif
#ifndef MDIMC
#define MDIMC 16 /* work-items along M (local size dim 1) */
#endif
#ifndef NDIMC
#define NDIMC 16 /* work-items along N (local size dim 0: neighbours own neighbouring pixels) */
#endif
#ifndef VWM
#define VWM 4 /* contiguous output channels a work-item reads from __local at once (1, 2, 4, 8) */
#endif
#ifndef VWN
#define VWN 4 /* contiguous pixels a work-item reads from __local and writes at once (1, 2, 4, 8) */
#endif

#define WGS   (MDIMC * NDIMC) /* work-items per group */
#define MWI   (MWG / MDIMC)   /* micro-tile rows (output channels) per work-item */
#define NWI   (NWG / NDIMC)   /* micro-tile columns (pixels) per work-item */
#define KDIMB (WGS / NWG)     /* rows of the pixel tile one pass of the group loads */
#define KHW   (KH * KW)

#if MWG % (MDIMC * VWM) != 0 || NWG % (NDIMC * VWN) != 0
#error "MWG must be a multiple of MDIMC * VWM and NWG of NDIMC * VWN"
#endif
#if WGS % NWG != 0 || KWG % KDIMB != 0 || (KWG * MWG) % WGS != 0
#error "the loads need NWG to divide MDIMC * NDIMC, which must divide KWG * NWG and KWG * MWG"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
/* VW contiguous floats of __local p (aligned to VW floats) into the private array dst: vector
 * loads cut the __local instructions per FMA, and the micro-tile stays an array the compiler keeps
 * in registers. One macro per width, because float1 does not exist; components are copied one
 * by one (vstore into the array left a stack frame on NVPTX). */
#define VFLOAT_1              float
#define VFLOAT_2              float2
#define VFLOAT_4              float4
#define VFLOAT_8              float8
#define LOCAL_VLOAD_1(p, dst) ((dst)[0] = *(p))
#define LOCAL_VLOAD_2(p, dst)                                                                                          \
  do {                                                                                                                 \
    const float2 v_ = *(__local float2 *)(p);                                                                          \
    (dst)[0] = v_.s0, (dst)[1] = v_.s1;                                                                                \
  } while (0)
#define LOCAL_VLOAD_4(p, dst)                                                                                          \
  do {                                                                                                                 \
    const float4 v_ = *(__local float4 *)(p);                                                                          \
    (dst)[0] = v_.s0, (dst)[1] = v_.s1, (dst)[2] = v_.s2, (dst)[3] = v_.s3;                                            \
  } while (0)
#define LOCAL_VLOAD_8(p, dst)                                                                                          \
  do {                                                                                                                 \
    const float8 v_ = *(__local float8 *)(p);                                                                          \
    (dst)[0] = v_.s0, (dst)[1] = v_.s1, (dst)[2] = v_.s2, (dst)[3] = v_.s3;                                            \
    (dst)[4] = v_.s4, (dst)[5] = v_.s5, (dst)[6] = v_.s6, (dst)[7] = v_.s7;                                            \
  } while (0)
#define LOCAL_VLOAD(VW, p, dst) CAT(LOCAL_VLOAD_, VW)(p, dst)

/* Packs w [groups * cout_g][kg] (a group's rows of kg = cin_g * KH * KW weights) into
 * wp [groups][mblocks][kpad][MWG], zero past cout_g and kg, so that a work-group's K-slice of weights
 * is KWG * MWG contiguous floats (coalesced, no bounds checks) and k runs to a KWG multiple. */
__kernel __attribute__((reqd_work_group_size(64, 1, 1))) void conv2d_gemm_pack(__global const float *w, const int w_off,
                                                                               const int cout_g, const int kg,
                                                                               const int kpad, const int mblocks,
                                                                               __global float *wp, const int total) {
  const int i = get_global_id(0);
  if (i >= total)
    return;
  const int m = i % MWG, r = i / MWG, k = r % kpad, r2 = r / kpad;
  const int bm = r2 % mblocks, g = r2 / mblocks, co = bm * MWG + m;
  wp[i] = co < cout_g && k < kg ? w[w_off + (g * cout_g + co) * kg + k] : 0.0f;
}

/* The conv: work-group (bn, bm, z) owns output channels bm * MWG .. + MWG of group z % groups and
 * pixels bn * NWG .. + NWG of the flattened batch (npix = N * OH * OW), over the K range of split
 * z / groups (kspan a KWG multiple). Each K-slice of weights (packed) and of im2col'd input (read
 * through the padding on the fly) is staged in __local; a work-item accumulates MWI x NWI outputs,
 * in chunks of VWM channels and VWN pixels, MDIMC * VWM channels and NDIMC * VWN pixels apart, so
 * neighbouring work-items read neighbouring __local words and store neighbouring pixels. With
 * part_present the raw sums go to part [splits][cout][npix] for conv2d_gemm_reduce; otherwise bias,
 * residual and activation are applied here, in conv2d_direct's order. */
__kernel __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1))) void
conv2d_gemm(__global const float *x, const int x_off, const int cin, const int h, const int w, const int pt,
            const int pl, __global const float *wp, const int kpad, const int groups, __global const float *bias,
            const int b_off, const int has_bias, __global const float *res, const int r_off, const int has_res,
            __global float *y, const int y_off, const int cout, const int oh_n, const int ow_n, const int npix,
            const int kspan, __global float *part, const int part_present, const float alpha, const float beta) {
  __local CAT(VFLOAT_, VWM) alm_v[KWG * MWG / VWM];
  __local CAT(VFLOAT_, VWN) blm_v[KWG * NWG / VWN];
  __local float *alm = (__local float *)alm_v, *blm = (__local float *)blm_v;
  const int tn = get_local_id(0), tm = get_local_id(1), tid = tm * NDIMC + tn;
  const int bn = get_group_id(0), bm = get_group_id(1), z = get_group_id(2);
  const int g = z % groups, split = z / groups;
  const int cin_g = cin / groups, cout_g = cout / groups, kg = cin_g * KHW, ohw = oh_n * ow_n;
  const int mblocks = (cout_g + MWG - 1) / MWG;
  const int k_lo = split * kspan, k_hi = min(kpad, k_lo + kspan);

  /* this work-item's column of the input tile, decoded once: its image and top-left input tap */
  const int nl = tid % NWG, kl = tid / NWG, p_load = bn * NWG + nl;
  const bool col_in = p_load < npix;
  const int img = p_load / ohw, q = p_load - img * ohw, oy = q / ow_n, ox = q - oy * ow_n;
  const int ih0 = oy * SH - pt, iw0 = ox * SW - pl;
  const __global float *xg = x + x_off + (col_in ? (img * cin + g * cin_g) * h * w : 0);
  const __global float *wq = wp + (size_t)(g * mblocks + bm) * kpad * MWG;

  float acc[MWI][NWI];
#pragma unroll
  for (int mi = 0; mi < MWI; mi++)
#pragma unroll
    for (int ni = 0; ni < NWI; ni++)
      acc[mi][ni] = 0.0f;

  for (int k0 = k_lo; k0 < k_hi; k0 += KWG) {
    /* weights: KWG * MWG contiguous floats; work-item tid copies words tid, tid + WGS, ... */
#pragma unroll
    for (int r = 0; r < KWG * MWG / WGS; r++)
      alm[tid + r * WGS] = wq[(size_t)k0 * MWG + tid + r * WGS];
      /* input: rows kl, kl + KDIMB, ... of the slice at this work-item's pixel, zero in the padding */
#pragma unroll
    for (int r = 0; r < KWG / KDIMB; r++) {
      const int kk = kl + r * KDIMB, k = k0 + kk, ci = k / KHW, t = k - ci * KHW, ky = t / KW;
      const int ih = ih0 + ky * DH, iw = iw0 + (t - ky * KW) * DW;
      const bool in = col_in && k < kg && ih >= 0 && ih < h && iw >= 0 && iw < w;
      blm[kk * NWG + nl] = in ? xg[(ci * h + ih) * w + iw] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int kk = 0; kk < KWG; kk++) {
      float a[MWI], b[NWI];
#pragma unroll
      for (int c = 0; c < MWI / VWM; c++)
        LOCAL_VLOAD(VWM, alm + kk * MWG + (c * MDIMC + tm) * VWM, a + c * VWM);
#pragma unroll
      for (int c = 0; c < NWI / VWN; c++)
        LOCAL_VLOAD(VWN, blm + kk * NWG + (c * NDIMC + tn) * VWN, b + c * VWN);
#pragma unroll
      for (int mi = 0; mi < MWI; mi++)
#pragma unroll
        for (int ni = 0; ni < NWI; ni++)
          acc[mi][ni] = mad(a[mi], b[ni], acc[mi][ni]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (int ni = 0; ni < NWI; ni++) {
    const int p = bn * NWG + ((ni / VWN) * NDIMC + tn) * VWN + ni % VWN;
    if (p >= npix)
      continue;
    const int pimg = p / ohw, pq = p - pimg * ohw;
#pragma unroll
    for (int mi = 0; mi < MWI; mi++) {
      const int co = bm * MWG + ((mi / VWM) * MDIMC + tm) * VWM + mi % VWM, gco = g * cout_g + co;
      if (co >= cout_g)
        continue;
      float v = acc[mi][ni];
      if (part_present) {
        part[((size_t)split * cout + gco) * npix + p] = v;
        continue;
      }
      const int yi = (pimg * cout + gco) * ohw + pq;
      if (has_bias)
        v += bias[b_off + gco];
      if (has_res)
        v += res[r_off + yi];
      y[y_off + yi] = act_apply(v, ACT, alpha, beta);
    }
  }
}

/* Split-K's second pass: y = act(sum of the splits' partials + bias + residual), one output per
 * work-item, pixels along dim 0 (coalesced reads of part and writes of y). */
__kernel __attribute__((reqd_work_group_size(64, 1, 1))) void
conv2d_gemm_reduce(__global const float *part, const int splits, __global const float *bias, const int b_off,
                   const int has_bias, __global const float *res, const int r_off, const int has_res, __global float *y,
                   const int y_off, const int cout, const int ohw, const int npix, const float alpha,
                   const float beta) {
  const int p = get_global_id(0), co = get_global_id(1);
  if (p >= npix)
    return;
  float v = 0.0f;
  for (int s = 0; s < splits; s++)
    v += part[((size_t)s * cout + co) * npix + p];
  const int img = p / ohw, yi = (img * cout + co) * ohw + (p - img * ohw);
  if (has_bias)
    v += bias[b_off + co];
  if (has_res)
    v += res[r_off + yi];
  y[y_off + yi] = act_apply(v, ACT, alpha, beta);
}
