/* conv2d kernels (host side: lib/ops/conv.c): the generic direct baseline, depthwise, the vectorized
 * implicit-GEMM variant, and its helpers (zero-padding pass, weight packing). Layout NCHW float32.
 * Every kernel takes (buffer, int offset) pairs; per-call sizes are arguments, code-shaping values -D macros. */
#include "conv_common.h"

#ifndef KH
#define KH 3 /* kernel height */
#endif
#ifndef KW
#define KW 3 /* kernel width */
#endif
#ifndef SH
#define SH 1 /* vertical stride */
#endif
#ifndef DH
#define DH 1 /* vertical dilation */
#endif
#ifndef DW
#define DW 1 /* horizontal dilation */
#endif
#ifndef MR
#define MR 8 /* conv2d_vec: output channels per work-item (rows of the register tile) */
#endif
#ifndef NV
#define NV 2 /* float16 vectors per work-item along a row: a tile of 16 * NV output pixels */
#endif
#ifndef LWS
#define LWS 4 /* work-group size along dim 0 (the host uses the same local size) */
#endif
#ifndef PIX_FIRST
#define PIX_FIRST 1 /* conv2d_vec: 1 puts pixel tiles in dim 0 (neighbours share a weight panel) */
#endif
#ifndef CONV_ONLY
#define CONV_ONLY -1 /* kernels in the program: -1 all, 0 the helpers, 1 conv2d_direct, 2 _depthwise, 3 _vec */
#endif
#ifndef HELPER_LWS
#define HELPER_LWS 16 /* work-group size of the padding, weight-packing and mosaic kernels (the conv2d_helpers row) */
#endif
#ifndef PACKED
#define PACKED 0 /* conv2d_vec: 1 reads a 1x1 conv's input packed by conv2d_pack_input as [n][tiles][cin][TW] */
#endif
#ifndef SKIP_ROWS
#define SKIP_ROWS 0 /* conv2d_vec: 1 skips the kernel rows of a tile that read only padding (large dilations) */
#endif
#ifndef TILE_OH
#define TILE_OH 1 /* conv2d_vec: 2 puts the NV = 2 vectors on two output rows (for rows of <= 16 pixels) */
#endif
#if TILE_OH == 2
#define TW 16
#define VEC_X(j) ((j) * SH * xp_rs) /* input offset of the tile's vector j */
#define VEC_Y(j) ((j) * ow_n)       /* output offset of the tile's vector j */
#define VEC_IN(j) (oh + (j) < oh_n && ow0 < ow_n)
#else
#define TW (16 * NV)
#define VEC_X(j) ((j) * 16 * SW)
#define VEC_Y(j) ((j) * 16)
#define VEC_IN(j) (ow0 + 16 * (j) < ow_n)
#endif
#define VEC_VALID(j) (ow_n - ow0 - (TILE_OH == 2 ? 0 : 16 * (j)))

/* Packs w (element (co, ci, k) at w_off + co * s_co + ci * s_ci + k, k < khw) into panels
 * [ceil(cout / mr)][cin][khw][mr], zero-filled past cout, so a work-item reads its mr weights contiguously. */
#if CONV_ONLY <= 0
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_pack_weights(__global const float *w, const int w_off, const int cout, const int cin, const int khw,
                    const int s_co, const int s_ci, const int mr, __global float *wp, const int total) {
  const int i = get_global_id(0);
  if (i >= total)
    return;
  const int m = i % mr, r = i / mr;
  const int k = r % khw, r2 = r / khw;
  const int ci = r2 % cin, co = (r2 / cin) * mr + m;
  wp[i] = co < cout ? w[w_off + co * s_co + ci * s_ci + k] : 0.0f;
}
#endif

/* Packs the input of a 1x1 conv (any stride and padding) into panels xp[n][tiles][cin][tw]: panel t holds, per
 * channel, the input pixels read by output pixels t * tw .. t * tw + tw - 1 of the flattened oh_n x ow_n map (zero
 * in the padding and past the last pixel). conv2d_vec (PACKED) then reads one contiguous panel per tile instead
 * of cin rows a plane apart: planes of 4 KiB multiples map to the same cache sets, which halved its speed.
 * A work-item copies one panel row for cpi consecutive channels. */
#if CONV_ONLY <= 0
__kernel __attribute__((reqd_work_group_size(4, 1, 1))) void
conv2d_pack_input(__global const float *x, const int x_off, const int cin, const int h, const int w,
                  const int sh, const int sw, const int pt, const int pl, const int oh_n, const int ow_n,
                  const int tiles, const int tw, const int cpi, __global float *xp) {
  const int t = get_global_id(0), cg = get_global_id(1), n = get_global_id(2);
  if (t >= tiles)
    return;
  const int q0 = t * tw, hw = oh_n * ow_n, c_end = min(cin, (cg + 1) * cpi);
  const bool same = sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh_n == h && ow_n == w;
  for (int ci = cg * cpi; ci < c_end; ci++) {
    const __global float *xc = x + x_off + ((size_t)n * cin + ci) * h * w;
    __global float *dst = xp + (((size_t)n * tiles + t) * cin + ci) * tw;
    if (same && q0 + tw <= hw) {
      for (int l = 0; l < tw; l += 16)
        vstore16(vload16(0, xc + q0 + l), 0, dst + l);
      continue;
    }
    for (int l = 0; l < tw; l++) {
      const int q = q0 + l, oh = q / ow_n, ih = oh * sh - pt, iw = (q - oh * ow_n) * sw - pl;
      dst[l] = q < hw && ih >= 0 && ih < h && iw >= 0 && iw < w ? xc[ih * w + iw] : 0.0f;
    }
  }
}
#endif

/* A dilated 3x3 conv (dilation d, padding d) is d x d plain 3x3 convs, one per sub-grid of pixels
 * (gy + d i, gx + d j). conv2d_dilation_mosaic lays the sub-grids of x [planes][h][w] out side by side,
 * each hs x ws (hs = ceil(h / d)) and one zero row and column apart, in xm [planes][hm][wm] (hm = d hs
 * + d - 1): one plain conv with padding 1 over the mosaic computes every sub-grid, the zero lines
 * standing in for each one's padding, so Winograd applies. One work-item per mosaic row. */
#if CONV_ONLY <= 0
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_dilation_mosaic(__global const float *x, const int x_off, const int h, const int w, const int d,
                       const int hs, const int ws, __global float *xm, const int hm, const int wm,
                       const int rows) {
  const int r = get_global_id(0);
  if (r >= rows)
    return;
  const int plane = r / hm, mr = r - plane * hm, gy = mr / (hs + 1), i = mr - gy * (hs + 1);
  const int ih = gy + d * i;
  __global float *dst = xm + (size_t)r * wm;
  const __global float *src = x + x_off + ((size_t)plane * h + ih) * w;
  const bool row_in = i < hs && ih < h;
  for (int gx = 0; gx < d; gx++, dst += ws + 1) {
    const int n_in = row_in && gx < w ? (w - gx + d - 1) / d : 0; /* sub-grid columns inside x */
    for (int jx = 0; jx < n_in; jx++)
      dst[jx] = src[gx + d * jx];
    for (int jx = n_in; jx < ws; jx++)
      dst[jx] = 0.0f;
    if (gx < d - 1)
      dst[ws] = 0.0f; /* the zero column between sub-grids */
  }
}
#endif

/* The way back: y [planes][h][w] from the conv's output over the mosaic, ym [planes][hm][wm], plus the
 * residual (shaped like y) and the activation act (a run-time value: ACT_* of common.h). One work-item per
 * row of y. */
#if CONV_ONLY <= 0
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_dilation_unmosaic(__global const float *ym, const int hm, const int wm, const int d, const int hs,
                         const int ws, __global const float *res, const int r_off, const int has_res,
                         __global float *y, const int y_off, const int h, const int w, const int act,
                         const float alpha, const float beta, const int rows) {
  const int r = get_global_id(0);
  if (r >= rows)
    return;
  const int plane = r / h, oh = r - plane * h, gy = oh % d, i = oh / d;
  const __global float *src = ym + ((size_t)plane * hm + gy * (hs + 1) + i) * wm;
  __global float *dst = y + y_off + (size_t)r * w;
  const __global float *rr = res + r_off + (size_t)r * w;
  for (int gx = 0; gx < d && gx < w; gx++, src += ws + 1) {
    const int n_out = (w - gx + d - 1) / d; /* columns gx, gx + d, ... of y */
    if (act == ACT_NONE && !has_res)
      for (int jx = 0; jx < n_out; jx++)
        dst[gx + d * jx] = src[jx];
    else
      for (int jx = 0; jx < n_out; jx++)
        dst[gx + d * jx] = act_apply(src[jx] + (has_res ? rr[gx + d * jx] : 0.0f), act, alpha, beta);
  }
}
#endif

/* Copies x [planes][h][w] into xp [planes][hp][wp] shifted by (pt, pl), zeros elsewhere, so that the vector
 * kernels read whole 16-pixel rows with no bounds checks. One work-item per padded row: PoCL pays about a
 * microsecond per work-group, so an element per work-item would cost more than the copy itself. */
#if CONV_ONLY <= 0
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_pad(__global const float *x, const int x_off, const int h, const int w, __global float *xp,
           const int hp, const int wp, const int pt, const int pl, const int rows) {
  const int r = get_global_id(0);
  if (r >= rows)
    return;
  const int plane = r / hp, ih = r - plane * hp - pt;
  __global float *dst = xp + (size_t)r * wp;
  const bool row_in = ih >= 0 && ih < h;
  const int lo = row_in ? min(pl, wp) : wp, hi = row_in ? min(pl + w, wp) : wp;
  const __global float *src = x + x_off + (plane * h + ih) * w - pl;
  for (int c = 0; c < lo; c++)
    dst[c] = 0.0f;
  for (int c = lo; c < hi; c++)
    dst[c] = src[c];
  for (int c = hi; c < wp; c++)
    dst[c] = 0.0f;
}
#endif

/* The generic baseline: one output element per work-item, every geometry a run-time argument so that one
 * program serves all shapes (it is the fallback and the checked reference, not the fast path). */
#if CONV_ONLY < 0 || CONV_ONLY == 1
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_direct(__global const float *x, const int x_off, const int cin, const int h, const int w,
              __global const float *wt, const int w_off, const int kh_n, const int kw_n, const int sh,
              const int sw, const int dh, const int dw, const int pt, const int pl, const int groups,
              __global const float *bias, const int b_off, const int has_bias, __global const float *res,
              const int r_off, const int has_res, __global float *y, const int y_off, const int cout,
              const int oh_n, const int ow_n, const float alpha, const float beta) {
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
#endif

/* Bias, residual and activation on one 16-lane slice of output row yi..yi+15, then the store. */
inline void epilogue16(float16 v, const float b, __global const float *res, const int r_off,
                       const int has_res, __global float *y, const int y_off, const int yi, const int valid,
                       const float alpha, const float beta) {
  v += b;
  if (has_res)
    v += load16_valid(res + r_off + yi, valid);
  store16(act16(v, alpha, beta), y + y_off + yi, valid);
}

/* Depthwise (groups == channels, one filter per channel): a work-item owns TW pixels of one row of one
 * channel. xp is the zero-padded input (conv2d_pad), so loads need no bounds checks. */
#if CONV_ONLY < 0 || CONV_ONLY == 2
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_depthwise(__global const float *xp, const int xp_cs, const int xp_rs, __global const float *wt,
                 const int w_off, __global const float *bias, const int b_off, const int has_bias,
                 __global const float *res, const int r_off, const int has_res, __global float *y,
                 const int y_off, const int channels, const int oh_n, const int ow_n, const int tiles_w,
                 const float alpha, const float beta) {
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
#endif

/* One step of the register tile: NV input vectors times MR broadcast weights (wq[0..MR-1]). */
#define VEC_STEP(LOAD)                                                                                     \
  do {                                                                                                     \
    float16 v[NV];                                                                                         \
    _Pragma("unroll") for (int j = 0; j < NV; j++) v[j] = LOAD;                                            \
    _Pragma("unroll") for (int m = 0; m < MR; m++) {                                                       \
      const float16 wm = (float16)wq[m];                                                                   \
      _Pragma("unroll") for (int j = 0; j < NV; j++) acc[m][j] = fma(v[j], wm, acc[m][j]);                 \
    }                                                                                                      \
    wq += MR;                                                                                              \
  } while (0)

/* Dense conv as an implicit GEMM: a work-item owns an MR output channels x TW pixels tile of one output
 * row (or, TILE_OH 2, 16 pixels of two rows) in float16 accumulators and walks (ci, kh, kw) over packed weights [cblocks][cin][KH][KW][MR].
 * xp is either zero-padded (row_len 0: every load in bounds) or, for 1x1 stride-1 unpadded convs, the input
 * itself read as one row of row_len pixels per channel, whose last tile loads with a guard. */
#if CONV_ONLY < 0 || CONV_ONLY == 3
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_vec(__global const float *xp, const int xp_off, const int xp_ns, const int xp_cs, const int xp_rs,
           const int row_len, const int row_lo, const int row_hi, __global const float *wp, const int cin, const int cblocks,
           __global const float *bias, const int b_off, const int has_bias, __global const float *res,
           const int r_off, const int has_res, __global float *y, const int y_off, const int cout,
           const int oh_n, const int ow_n, const int tiles_w, const float alpha, const float beta) {
#if PIX_FIRST
  const int tile = get_global_id(0), cb = get_global_id(1);
#else
  const int cb = get_global_id(0), tile = get_global_id(1);
#endif
  const int n = get_global_id(2);
  const int tile_rows = (oh_n + TILE_OH - 1) / TILE_OH;
  if (cb >= cblocks || tile >= tile_rows * tiles_w)
    return;
  const int th = tile / tiles_w, oh = th * TILE_OH, ow0 = (tile - th * tiles_w) * TW;
#if PACKED
  const __global float *xr = xp + xp_off + n * xp_ns + (size_t)tile * xp_rs;
#else
  const __global float *xr = xp + xp_off + n * xp_ns + oh * SH * xp_rs + ow0 * SW;
#endif
  const __global float *wq = wp + (size_t)cb * cin * (KH * KW * MR);
  /* every loop over the tile is unrolled so the accumulators stay in registers (fact 2 of the notes) */
  float16 acc[MR][NV];
#pragma unroll
  for (int m = 0; m < MR; m++)
#pragma unroll
    for (int j = 0; j < NV; j++)
      acc[m][j] = (float16)0.0f;
#if SKIP_ROWS
  /* kernel rows that read image rows for some row of the tile, as bits */
  int live = 0;
  for (int kh = 0; kh < KH; kh++)
    for (int r = 0; r < TILE_OH; r++) {
      const int pr = (oh + r) * SH + kh * DH;
      live |= (pr >= row_lo && pr < row_hi) << kh;
    }
#endif
  if (row_len == 0 || ow0 + TW <= row_len) {
    for (int ci = 0; ci < cin; ci++, xr += xp_cs)
#pragma unroll
      for (int kh = 0; kh < KH; kh++) {
#if SKIP_ROWS
        if (!((live >> kh) & 1)) {
          wq += KW * MR;
          continue;
        }
#endif
#pragma unroll
        for (int kw = 0; kw < KW; kw++)
          VEC_STEP(load16_strided(xr + kh * DH * xp_rs + kw * DW + VEC_X(j)));
      }
  } else { /* only 1x1 stride 1 reaches here: contiguous pixels */
    for (int ci = 0; ci < cin; ci++, xr += xp_cs)
      VEC_STEP(load16_tail(xr + j * 16, row_len - ow0 - j * 16));
  }
#pragma unroll
  for (int m = 0; m < MR; m++) {
    const int co = cb * MR + m;
    const float b = has_bias && co < cout ? bias[b_off + co] : 0.0f;
    const int row = ((n * cout + co) * oh_n + oh) * ow_n + ow0;
#pragma unroll
    for (int j = 0; j < NV; j++)
      if (co < cout && VEC_IN(j))
        epilogue16(acc[m][j], b, res, r_off, has_res, y, y_off, row + VEC_Y(j), VEC_VALID(j), alpha, beta);
  }
}
#endif
