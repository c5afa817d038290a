/* conv2d_winograd kernels (host side: lib/ops/conv_winograd.c): 3x3 stride-1 convs as Winograd
 * F(M x M, 3 x 3), M = 4 (6x6 input tiles, 36 GEMMs) or 2 (4x4 tiles, 16 GEMMs). Four passes: the weight
 * transform (once per prep) into packed panels U[E][cblocks][Cin][MR]; per band of tile rows, the input
 * transform into V[E][Cin][TP], the E batched GEMMs M[e] = U[e] V[e] into M[E][cblocks * MR][TP], and the
 * output transform with bias, residual and activation. TP (tiles per band, padded) is a multiple of 16 * NV,
 * so the GEMM needs no bounds checks; lanes of the transforms are 16 consecutive tiles. */
#include "conv_common.h"
#include "winograd.h"

#ifndef MR
#define MR 8 /* GEMM: output channels per work-item */
#endif
#ifndef NV
#define NV 2 /* GEMM: float16 vectors of tiles per work-item */
#endif
#ifndef LWS
#define LWS 2 /* GEMM: work-group size along dim 0 (the host uses the same local size) */
#endif

/* U = G g G^T for one (co, ci) per work-item, into u[e][cb][ci][m] (co = cb * MR + m, zeros past cout).
 * g is PyTorch's [Cout][Cin][3][3] at w_off. Runs once per prep. */
__kernel __attribute__((reqd_work_group_size(16, 1, 1))) void conv2d_winograd_weights(__global const float *w,
                                                                                      const int w_off, const int cout,
                                                                                      const int cin, const int cblocks,
                                                                                      __global float *u) {
  const int i = get_global_id(0);
  if (i >= cblocks * MR * cin)
    return;
  const int co = i / cin, ci = i - co * cin, cb = co / MR, m = co - cb * MR;
  float g[3][3], t[WA][3];
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      g[a][b] = co < cout ? w[w_off + ((co * cin + ci) * 3 + a) * 3 + b] : 0.0f;
  for (int r = 0; r < WA; r++)
    for (int b = 0; b < 3; b++)
      t[r][b] = G[r][0] * g[0][b] + G[r][1] * g[1][b] + G[r][2] * g[2][b];
  for (int r = 0; r < WA; r++)
    for (int c = 0; c < WA; c++) {
      const int e = r * WA + c;
      u[(((size_t)e * cblocks + cb) * cin + ci) * MR + m] = t[r][0] * G[c][0] + t[r][1] * G[c][1] + t[r][2] * G[c][2];
    }
}

/* 16 lanes of one input tile element: xp at (iy, ix) of a zero-padded plane of row length wp; dead lanes
 * (past the band) read zero. */
inline float16 gather16(const __global float *xc, const int wp, const int16 iy, const int16 ix, const int16 live) {
  float t[16];
  for (int l = 0; l < 16; l++)
    t[l] = live[l] ? xc[iy[l] * wp + ix[l]] : 0.0f;
  return vload16(0, t);
}

/* p[M * lane] for 16 lanes: the tile columns of 16 neighbouring tiles, from contiguous loads. */
inline float16 load16_tiles(const __global float *p) {
#if WINO_M == 4
  const uint16 sel = (uint16)(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  const float16 lo = shuffle2(vload16(0, p), vload16(0, p + 16), sel);
  const float16 hi = shuffle2(vload16(0, p + 32), vload16(0, p + 48), sel);
  return (float16)(lo.lo, hi.lo);
#else
  return (float16)(vload16(0, p).even, vload16(0, p + 16).even);
#endif
}

/* The input transform B^T d B of 16 tiles (lanes) of one channel: v[e][ci][tile]. Tiles are numbered along
 * the band's rows (tiles_w per row) from tile row row0; the band has `tiles` tiles, padded to tp in v.
 * xp is the input zero-padded (conv2d_pad) to rows of wp >= tiles_w * M + M + 2 and every tile row, so no
 * load needs a bounds check; 16 tiles of one row load as vectors. */
__kernel __attribute__((reqd_work_group_size(4, 1, 1))) void
conv2d_winograd_input(__global const float *xp, const int xp_off, const int cs, const int wp, const int tiles_w,
                      const int row0, const int tiles, const int tp, const int cin, __global float *v) {
  const int g = get_global_id(0), ci = get_global_id(1);
  if (g * 16 >= tp)
    return;
  const int t0 = g * 16, tr0 = t0 / tiles_w, tc0 = t0 - tr0 * tiles_w;
  const __global float *xc = xp + xp_off + (size_t)ci * cs;
  float16 tmp[WA][WA];
  if (t0 + 16 <= tiles && tc0 + 16 <= tiles_w) { /* one tile row: vector loads */
    const __global float *xr = xc + (row0 + tr0) * WINO_M * wp + tc0 * WINO_M;
    for (int r = 0; r < WA; r++) {
      float16 d[WA], o[WA];
      for (int c = 0; c < WA; c++)
        d[c] = load16_tiles(xr + r * wp + c);
      BT_ROW(d, o);
      for (int c = 0; c < WA; c++)
        tmp[r][c] = o[c];
    }
  } else {
    const int16 t = (int16)t0 + (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const int16 tr = t / tiles_w, live = t < tiles;
    const int16 iy0 = (tr + row0) * WINO_M, ix0 = (t - tr * tiles_w) * WINO_M;
    for (int r = 0; r < WA; r++) {
      float16 d[WA], o[WA];
      for (int c = 0; c < WA; c++)
        d[c] = gather16(xc, wp, iy0 + r, ix0 + c, live);
      BT_ROW(d, o);
      for (int c = 0; c < WA; c++)
        tmp[r][c] = o[c];
    }
  }
  __global float *vo = v + (size_t)ci * tp + t0;
  for (int c = 0; c < WA; c++) {
    float16 d[WA], o[WA];
    for (int r = 0; r < WA; r++)
      d[r] = tmp[r][c];
    BT_ROW(d, o);
    for (int r = 0; r < WA; r++)
      vstore16(o[r], 0, vo + (size_t)(r * WA + c) * cin * tp);
  }
}

/* The E batched GEMMs: mo[e][co][tile] = sum_ci u[e][cb][ci][m] v[e][ci][tile] for an MR channels x 16 * NV
 * tiles register tile. Tile groups in dim 0 so that neighbouring work-items share one weight panel. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void conv2d_winograd_gemm(__global const float *u,
                                                                                    __global const float *v,
                                                                                    __global float *mo, const int cin,
                                                                                    const int cblocks, const int tp) {
  const int tg = get_global_id(0), cb = get_global_id(1), e = get_global_id(2);
  if (tg * 16 * NV >= tp)
    return;
  const __global float *wq = u + ((size_t)e * cblocks + cb) * cin * MR;
  const __global float *vr = v + (size_t)e * cin * tp + tg * 16 * NV;
  float16 acc[MR][NV];
#pragma unroll
  for (int m = 0; m < MR; m++)
#pragma unroll
    for (int j = 0; j < NV; j++)
      acc[m][j] = (float16)0.0f;
  for (int ci = 0; ci < cin; ci++, vr += tp, wq += MR) {
    float16 b[NV];
#pragma unroll
    for (int j = 0; j < NV; j++)
      b[j] = vload16(j, vr);
#pragma unroll
    for (int m = 0; m < MR; m++) {
      const float16 a = (float16)wq[m];
#pragma unroll
      for (int j = 0; j < NV; j++)
        acc[m][j] = fma(b[j], a, acc[m][j]);
    }
  }
  __global float *out = mo + ((size_t)e * cblocks * MR + cb * MR) * tp + tg * 16 * NV;
#pragma unroll
  for (int m = 0; m < MR; m++)
#pragma unroll
    for (int j = 0; j < NV; j++)
      vstore16(acc[m][j], j, out + (size_t)m * tp);
}

/* Bias, residual and activation on 16 contiguous output pixels, then the store. */
inline void store_out16(float16 v, __global const float *res, const int has_res, __global float *y, const float alpha,
                        const float beta) {
  if (has_res)
    v += vload16(0, res);
  vstore16(act16(v, alpha, beta), 0, y);
}

/* o[c][lane] (output column c of 16 neighbouring tiles) interleaved into the 16 * M pixels of their row. */
inline void store_row_tiles(float16 o[WINO_M], __global const float *res, const int has_res, __global float *y,
                            const float alpha, const float beta) {
#if WINO_M == 4
  const uint16 pair_lo = (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), pair_hi = pair_lo + 8u;
  const uint16 quad_lo = (uint16)(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), quad_hi = quad_lo + 8u;
  const float16 a = shuffle2(o[0], o[1], pair_lo), b = shuffle2(o[2], o[3], pair_lo);
  const float16 c = shuffle2(o[0], o[1], pair_hi), d = shuffle2(o[2], o[3], pair_hi);
  store_out16(shuffle2(a, b, quad_lo), res, has_res, y, alpha, beta);
  store_out16(shuffle2(a, b, quad_hi), res + 16, has_res, y + 16, alpha, beta);
  store_out16(shuffle2(c, d, quad_lo), res + 32, has_res, y + 32, alpha, beta);
  store_out16(shuffle2(c, d, quad_hi), res + 48, has_res, y + 48, alpha, beta);
#else
  const uint16 pair_lo = (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), pair_hi = pair_lo + 8u;
  store_out16(shuffle2(o[0], o[1], pair_lo), res, has_res, y, alpha, beta);
  store_out16(shuffle2(o[0], o[1], pair_hi), res + 16, has_res, y + 16, alpha, beta);
#endif
}

/* The output transform A^T m A of 16 tiles (lanes) of one output channel, then bias, residual and the
 * activation, stored where the tiles lie inside the output (16 tiles of one row inside it: vector stores). */
__kernel __attribute__((reqd_work_group_size(4, 1, 1))) void
conv2d_winograd_output(__global const float *mo, const int cout, const int cpad, const int tiles_w, const int row0,
                       const int tiles, const int tp, __global const float *bias, const int b_off, const int has_bias,
                       __global const float *res, const int r_off, const int has_res, __global float *y,
                       const int y_off, const int oh_n, const int ow_n, const float alpha, const float beta) {
  const int g = get_global_id(0), co = get_global_id(1);
  if (g * 16 >= tp || co >= cout)
    return;
  const __global float *mi = mo + (size_t)co * tp + g * 16;
  float16 tmp[WINO_M][WA];
  for (int c = 0; c < WA; c++) {
    float16 d[WA], o[WINO_M];
    for (int r = 0; r < WA; r++)
      d[r] = vload16(0, mi + (size_t)(r * WA + c) * cpad * tp);
    AT_ROW(d, o);
    for (int r = 0; r < WINO_M; r++)
      tmp[r][c] = o[r];
  }
  const float b = has_bias ? bias[b_off + co] : 0.0f;
  const int t0 = g * 16, tr0 = t0 / tiles_w, tc0 = t0 - tr0 * tiles_w;
  __global float *yc = y + y_off + (size_t)co * oh_n * ow_n;
  const __global float *rc = res + r_off + (size_t)co * oh_n * ow_n;
  const bool row_fast = t0 + 16 <= tiles && tc0 + 16 <= tiles_w && (tc0 + 16) * WINO_M <= ow_n;
  for (int r = 0; r < WINO_M; r++) {
    float16 o[WINO_M];
    AT_ROW(tmp[r], o);
    for (int c = 0; c < WINO_M; c++)
      o[c] += b;
    const int oy0 = (tr0 + row0) * WINO_M + r;
    if (row_fast) {
      if (oy0 < oh_n)
        store_row_tiles(o, rc + oy0 * ow_n + tc0 * WINO_M, has_res, yc + oy0 * ow_n + tc0 * WINO_M, alpha, beta);
      continue;
    }
    for (int c = 0; c < WINO_M; c++) {
      float vals[16];
      vstore16(o[c], 0, vals);
      for (int l = 0; l < 16; l++) {
        const int t = t0 + l, tr = t / tiles_w;
        const int oy = (tr + row0) * WINO_M + r, ox = (t - tr * tiles_w) * WINO_M + c;
        if (t < tiles && oy < oh_n && ox < ow_n)
          vals[l] += has_res ? rc[oy * ow_n + ox] : 0.0f;
      }
      const float16 a = act16(vload16(0, vals), alpha, beta);
      vstore16(a, 0, vals);
      for (int l = 0; l < 16; l++) {
        const int t = t0 + l, tr = t / tiles_w;
        const int oy = (tr + row0) * WINO_M + r, ox = (t - tr * tiles_w) * WINO_M + c;
        if (t < tiles && oy < oh_n && ox < ow_n)
          yc[oy * ow_n + ox] = vals[l];
      }
    }
  }
}
