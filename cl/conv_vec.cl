/* conv2d_vec (host side: lib/ops/conv.c): the CPU-vectorised implicit-GEMM conv. Layout NCHW
 * float32. Every kernel takes (buffer, int offset) pairs; per-call sizes are arguments, code-shaping
 * values -D macros. */
#include "conv_vec.h"

/* One step of the register tile: NV input vectors times MR broadcast weights (wq[0..MR-1]). */
#define VEC_STEP(LOAD)                                                                                                 \
  do {                                                                                                                 \
    float16 v[NV];                                                                                                     \
    _Pragma("unroll") for (int j = 0; j < NV; j++) v[j] = LOAD;                                                        \
    _Pragma("unroll") for (int m = 0; m < MR; m++) {                                                                   \
      const float16 wm = (float16)wq[m];                                                                               \
      _Pragma("unroll") for (int j = 0; j < NV; j++) acc[m][j] = fma(v[j], wm, acc[m][j]);                             \
    }                                                                                                                  \
    wq += MR;                                                                                                          \
  } while (0)

/* Dense conv as an implicit GEMM: a work-item owns an MR output channels x TW pixels tile of one output
 * row (or, TILE_OH 2, 16 pixels of two rows) in float16 accumulators and walks (ci, kh, kw) over packed weights
 * [cblocks][cin][KH][KW][MR]. xp is either zero-padded (row_len 0: every load in bounds) or, for 1x1 stride-1 unpadded
 * convs, the input itself read as one row of row_len pixels per channel, whose last tile loads with a guard. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
conv2d_vec(__global const float *xp, const int xp_off, const int xp_ns, const int xp_cs, const int xp_rs,
           const int row_len, const int row_lo, const int row_hi, __global const float *wp, const int cin,
           const int cblocks, __global const float *bias, const int b_off, const int has_bias,
           __global const float *res, const int r_off, const int has_res, __global float *y, const int y_off,
           const int cout, const int oh_n, const int ow_n, const int tiles_w, const float alpha, const float beta) {
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
