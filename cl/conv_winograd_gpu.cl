/* conv2d_winograd_gpu kernels (host side: lib/ops/conv_winograd_gpu.c): 3x3 stride-1 convs as
 * Winograd F(M x M, 3 x 3) shaped for GPUs. The weight transform writes U straight into the packed
 * panels of conv2d_gemm (cl/conv_gemm.cl), whose tiled kernel then runs the WE batched GEMMs as one
 * grouped 1x1 conv: M[e] = U[e] V[e] with V [WE][Cin][tiles] and M [WE][Cout][tiles]. The input and
 * output transforms take one tile per work-item, tiles along dim 0, so that neighbouring work-items
 * read and write neighbouring words of V and M. Tiles are numbered over the whole batch (image,
 * tile row, tile column); the host runs them in bands of `tiles` from tile t0. */
#include "common.h"
#include "winograd.h"

#ifndef ACT
#define ACT ACT_NONE
#endif
#define TLOCAL 64 /* work-items per group of the transforms: a wave on AMD, two warps on NVIDIA */

/* U = G g G^T of output channel co = bm * mwg + m and input channel ci, for every e: into
 * u[e][mblocks][kpad][mwg] (conv2d_gemm_pack's layout with one group per e), zero past cout and cin.
 * One (m, ci, bm) per work-item, m fastest; runs once per prep. */
__kernel __attribute__((reqd_work_group_size(TLOCAL, 1, 1))) void
conv2d_winograd_gpu_weights(__global const float *w, const int w_off, const int cout, const int cin, const int mwg,
                            const int mblocks, const int kpad, __global float *u) {
  const int i = get_global_id(0);
  if (i >= mwg * kpad * mblocks)
    return;
  const int m = i % mwg, r = i / mwg, ci = r % kpad, bm = r / kpad, co = bm * mwg + m;
  const bool live = co < cout && ci < cin;
  float g[3][3], t[WA][3];
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      g[a][b] = live ? w[w_off + ((co * cin + ci) * 3 + a) * 3 + b] : 0.0f;
  for (int a = 0; a < WA; a++)
    for (int b = 0; b < 3; b++)
      t[a][b] = G[a][0] * g[0][b] + G[a][1] * g[1][b] + G[a][2] * g[2][b];
  const size_t panel = (size_t)mblocks * kpad * mwg; /* floats of one e */
  for (int a = 0; a < WA; a++)
    for (int c = 0; c < WA; c++)
      u[(a * WA + c) * panel + i] = t[a][0] * G[c][0] + t[a][1] * G[c][1] + t[a][2] * G[c][2];
}

/* The tile's image and its top-left output pixel, from its number in the batch. */
inline int2 tile_origin(const int tt, const int tiles_w, const int tiles_img, int *img) {
  *img = tt / tiles_img;
  const int r = tt - *img * tiles_img, ty = r / tiles_w;
  return (int2)((r - ty * tiles_w) * WINO_M, ty * WINO_M);
}

/* V = B^T d B of tile t0 + t and input channel ci, d read from x through the zero padding (pt,
 * pl), into v[e][ci][t] for t < tiles. */
__kernel __attribute__((reqd_work_group_size(TLOCAL, 1, 1))) void
conv2d_winograd_gpu_input(__global const float *x, const int x_off, const int cin, const int h, const int w,
                          const int pt, const int pl, const int tiles_w, const int tiles_img, const int t0,
                          const int tiles, __global float *v) {
  const int t = get_global_id(0), ci = get_global_id(1);
  if (t >= tiles)
    return;
  int img;
  const int2 o0 = tile_origin(t0 + t, tiles_w, tiles_img, &img);
  const int iy0 = o0.y - pt, ix0 = o0.x - pl;
  const __global float *xc = x + x_off + ((size_t)img * cin + ci) * h * w;
  float tmp[WA][WA];
  for (int r = 0; r < WA; r++) {
    const int iy = iy0 + r;
    float d[WA], o[WA];
    for (int c = 0; c < WA; c++) {
      const int ix = ix0 + c;
      d[c] = iy >= 0 && iy < h && ix >= 0 && ix < w ? xc[iy * w + ix] : 0.0f;
    }
    BT_ROW(d, o);
    for (int c = 0; c < WA; c++)
      tmp[r][c] = o[c];
  }
  for (int c = 0; c < WA; c++) {
    float d[WA], o[WA];
    for (int r = 0; r < WA; r++)
      d[r] = tmp[r][c];
    BT_ROW(d, o);
    for (int r = 0; r < WA; r++)
      v[((size_t)(r * WA + c) * cin + ci) * tiles + t] = o[r];
  }
}

/* Y = A^T M A of tile t0 + t and output channel co from mo[e][co][t], then bias, residual and the
 * activation in conv2d_direct's order, stored where the tile lies inside y [N][cout][oh][ow]. */
__kernel __attribute__((reqd_work_group_size(TLOCAL, 1, 1))) void
conv2d_winograd_gpu_output(__global const float *mo, const int cout, const int tiles_w, const int tiles_img,
                           const int t0, const int tiles, __global const float *bias, const int b_off,
                           const int has_bias, __global const float *res, const int r_off, const int has_res,
                           __global float *y, const int y_off, const int oh_n, const int ow_n, const float alpha,
                           const float beta) {
  const int t = get_global_id(0), co = get_global_id(1);
  if (t >= tiles)
    return;
  float tmp[WINO_M][WA];
  for (int c = 0; c < WA; c++) {
    float d[WA], o[WINO_M];
    for (int r = 0; r < WA; r++)
      d[r] = mo[((size_t)(r * WA + c) * cout + co) * tiles + t];
    AT_ROW(d, o);
    for (int r = 0; r < WINO_M; r++)
      tmp[r][c] = o[r];
  }
  int img;
  const int2 o0 = tile_origin(t0 + t, tiles_w, tiles_img, &img);
  const size_t plane = ((size_t)img * cout + co) * oh_n * ow_n;
  const float b = has_bias ? bias[b_off + co] : 0.0f;
  for (int r = 0; r < WINO_M; r++) {
    float o[WINO_M];
    AT_ROW(tmp[r], o);
    const int oy = o0.y + r;
    for (int c = 0; c < WINO_M; c++) {
      const int ox = o0.x + c;
      if (oy >= oh_n || ox >= ow_n)
        continue;
      const size_t yi = plane + (size_t)oy * ow_n + ox;
      float val = o[c] + b;
      if (has_res)
        val += res[r_off + yi];
      y[y_off + yi] = act_apply(val, ACT, alpha, beta);
    }
  }
}
