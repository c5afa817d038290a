/* The conv family's helper kernels (host side: lib/ops/conv.c clseg__conv_helper and its callers):
 * weight and input packing for conv2d_vec, the zero-padding pass, and the dilation mosaics of
 * conv2d_winograd_dilated. One row or element per work-item, in work-groups of HELPER_LWS (the
 * conv2d_helpers row). Layout NCHW float32. */
#include "conv_common.h"

#ifndef HELPER_LWS
#define HELPER_LWS 16 /* work-group size of the padding, weight-packing and mosaic kernels (the conv2d_helpers row) */
#endif

/* Packs w (element (co, ci, k) at w_off + co * s_co + ci * s_ci + k, k < khw) into panels
 * [ceil(cout / mr)][cin][khw][mr], zero-filled past cout, so a work-item reads its mr weights contiguously. */
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

/* Packs the input of a 1x1 conv (any stride and padding) into panels xp[n][tiles][cin][tw]: panel t holds, per
 * channel, the input pixels read by output pixels t * tw .. t * tw + tw - 1 of the flattened oh_n x ow_n map (zero
 * in the padding and past the last pixel). conv2d_vec (PACKED) then reads one contiguous panel per tile instead
 * of cin rows a plane apart: planes of 4 KiB multiples map to the same cache sets, which halved its speed.
 * A work-item copies one panel row for cpi consecutive channels. */
__kernel __attribute__((reqd_work_group_size(4, 1, 1))) void
conv2d_pack_input(__global const float *x, const int x_off, const int cin, const int h, const int w, const int sh,
                  const int sw, const int pt, const int pl, const int oh_n, const int ow_n, const int tiles,
                  const int tw, const int cpi, __global float *xp) {
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

/* A dilated 3x3 conv (dilation d, padding d) is d x d plain 3x3 convs, one per sub-grid of pixels
 * (gy + d i, gx + d j). conv2d_dilation_mosaic lays the sub-grids of x [planes][h][w] out side by side,
 * each hs x ws (hs = ceil(h / d)) and one zero row and column apart, in xm [planes][hm][wm] (hm = d hs
 * + d - 1): one plain conv with padding 1 over the mosaic computes every sub-grid, the zero lines
 * standing in for each one's padding, so Winograd applies. One work-item per mosaic row. */
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_dilation_mosaic(__global const float *x, const int x_off, const int h, const int w, const int d, const int hs,
                       const int ws, __global float *xm, const int hm, const int wm, const int rows) {
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

/* The way back: y [planes][h][w] from the conv's output over the mosaic, ym [planes][hm][wm], plus the
 * residual (shaped like y) and the activation act (a run-time value: ACT_* of common.h). One work-item per
 * row of y. */
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_dilation_unmosaic(__global const float *ym, const int hm, const int wm, const int d, const int hs, const int ws,
                         __global const float *res, const int r_off, const int has_res, __global float *y,
                         const int y_off, const int h, const int w, const int act, const float alpha, const float beta,
                         const int rows) {
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

/* Copies x [planes][h][w] into xp [planes][hp][wp] shifted by (pt, pl), zeros elsewhere, so that the vector
 * kernels read whole 16-pixel rows with no bounds checks. One work-item per padded row: PoCL pays about a
 * microsecond per work-group, so an element per work-item would cost more than the copy itself. */
__kernel __attribute__((reqd_work_group_size(HELPER_LWS, 1, 1))) void
conv2d_pad(__global const float *x, const int x_off, const int h, const int w, __global float *xp, const int hp,
           const int wp, const int pt, const int pl, const int rows) {
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
