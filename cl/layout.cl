/* Channel layout kernels: row copies (concat along C, channel slices), constant / reflect / edge padding
 * (with crops) along C, H and W, and the moves between depth and space (DepthToSpace, SpaceToDepth). */
#include "common.h"

/* float16 vectors each work-item handles; see activation.cl. */
#ifndef VPW
#define VPW 8
#endif
#define CHUNK (16 * VPW)

/* Work-items per work-group of the GPU forms (the tuning row's LOCAL); see activation.cl. */
#ifndef LOCAL
#define LOCAL 256
#endif

/* Copies rows of len floats: row r of x starts at x_off + r * x_stride, of y at y_off + r * y_stride. Concat
 * and slice copy one row per image, of C * H * W floats, so the rows are long and contiguous. */
__kernel void layout_copy_rows(__global const float *x, const int x_off, const int x_stride, __global float *y,
                               const int y_off, const int y_stride, const int len, const int rows) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= len || r >= rows)
    return;
  const int xb = x_off + r * x_stride, yb = y_off + r * y_stride, end = min(len, (int)start + CHUNK);
  int p = (int)start;
  for (; p + 16 <= end; p += 16)
    vstore16(vload16(0, x + xb + p), 0, y + yb + p);
  for (; p < end; p++)
    y[yb + p] = x[xb + p];
}

/* The GPU form: one float per work-item over all rows * len floats, consecutive work-items on consecutive
 * floats of a row in x and in y, so warps stay full however short the rows are. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
layout_copy_rows_gpu(__global const float *x, const int x_off, const int x_stride, __global float *y, const int y_off,
                     const int y_stride, const int len, const int rows) {
  if (get_global_id(0) >= (size_t)rows * (size_t)len)
    return;
  const int i = (int)get_global_id(0), r = i / len, p = i - r * len;
  y[y_off + r * y_stride + p] = x[x_off + r * x_stride + p];
}

/* Source index along an axis of `size` (the cropped input) for output index i shifted by the padding: mode 0
 * (constant) gives -1 outside, 1 (reflect) mirrors without repeating the edge (PyTorch's and ONNX's
 * "reflect"), 2 (edge) repeats the edge. */
inline int pad_src(int i, int size, const int mode) {
  if (i >= 0 && i < size)
    return i;
  if (mode == 0)
    return -1;
  if (mode == 2)
    return i < 0 ? 0 : size - 1;
  return i < 0 ? -i : 2 * (size - 1) - i;
}

/* The geometry of a pad: x [N, c, h, w] cropped (the crop's start folded into x_off) to [N, cs, hs, ws],
 * padded by front, top, left (>= 0) to y [N, co, ho, wo]; rows = N * co * ho output rows. */
typedef struct {
  int c, h, w, cs, hs, ws, co, ho, wo, front, top, left, rows;
} pad_geom;

/* The input row offset of output row r (plane * ho + oh), or -1 when the row is all padding. */
inline int pad_row(const pad_geom g, const int r, const int mode) {
  const int plane = r / g.ho, oh = r - plane * g.ho, n = plane / g.co, oc = plane - n * g.co;
  const int sc = pad_src(oc - g.front, g.cs, mode), sh = pad_src(oh - g.top, g.hs, mode);
  return sc < 0 || sh < 0 ? -1 : ((n * g.c + sc) * g.h + sh) * g.w;
}

/* One run of an output row: the interior is copied a vector at a time, the borders one float at a time.
 * mode is a constant in each kernel below, so each gets its own branch-free code. */
inline void pad_run(__global const float *x, const int x_off, __global float *y, const int y_off, const pad_geom g,
                    const float value, const int mode) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= g.wo || r >= g.rows)
    return;
  const int row = pad_row(g, r, mode), end = min(g.wo, (int)start + CHUNK);
  const int xb = x_off + row, yb = y_off + r * g.wo;
  int p = (int)start;
  if (row < 0) { /* a constant row */
    for (; p + 16 <= end; p += 16)
      vstore16((float16)value, 0, y + yb + p);
    for (; p < end; p++)
      y[yb + p] = value;
    return;
  }
  while (p < end) {
    if (p + 16 <= end && p - g.left >= 0 && p - g.left + 16 <= g.ws) {
      vstore16(vload16(0, x + xb + p - g.left), 0, y + yb + p);
      p += 16;
      continue;
    }
    const int sw = pad_src(p - g.left, g.ws, mode);
    y[yb + p] = sw < 0 ? value : x[xb + sw];
    p++;
  }
}

#define PAD_ARGS                                                                                                       \
  __global const float *x, const int x_off, __global float *y, const int y_off, const int c, const int h, const int w, \
      const int cs, const int hs, const int ws, const int co, const int ho, const int wo, const int front,             \
      const int top, const int left, const float value, const int rows
#define PAD_GEOM                                                                                                       \
  { c, h, w, cs, hs, ws, co, ho, wo, front, top, left, rows }

/* Dimension 0: CHUNK-float runs of an output row; dimension 1: the rows = N * co * ho output rows. */
__kernel void layout_pad_constant(PAD_ARGS) {
  const pad_geom g = PAD_GEOM;
  pad_run(x, x_off, y, y_off, g, value, 0);
}

__kernel void layout_pad_reflect(PAD_ARGS) {
  const pad_geom g = PAD_GEOM;
  pad_run(x, x_off, y, y_off, g, value, 1);
}

__kernel void layout_pad_edge(PAD_ARGS) {
  const pad_geom g = PAD_GEOM;
  pad_run(x, x_off, y, y_off, g, value, 2);
}

/* The GPU form of the paddings: one output float per work-item over all rows * wo floats (consecutive
 * work-items on consecutive floats of y; of x inside the interior), each mapped back through pad_src. */
inline void pad_one(__global const float *x, const int x_off, __global float *y, const int y_off, const pad_geom g,
                    const float value, const int mode) {
  if (get_global_id(0) >= (size_t)g.rows * (size_t)g.wo)
    return;
  const int i = (int)get_global_id(0), r = i / g.wo, ow = i - r * g.wo;
  const int row = pad_row(g, r, mode), sw = pad_src(ow - g.left, g.ws, mode);
  y[y_off + i] = row < 0 || sw < 0 ? value : x[x_off + row + sw];
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void layout_pad_constant_gpu(PAD_ARGS) {
  const pad_geom g = PAD_GEOM;
  pad_one(x, x_off, y, y_off, g, value, 0);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void layout_pad_reflect_gpu(PAD_ARGS) {
  const pad_geom g = PAD_GEOM;
  pad_one(x, x_off, y, y_off, g, value, 1);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void layout_pad_edge_gpu(PAD_ARGS) {
  const pad_geom g = PAD_GEOM;
  pad_one(x, x_off, y, y_off, g, value, 2);
}

/* ---- depth <-> space: y [N, co, ho, wo] gathered from x [N, ci, hi, wi] with block b ---- */

/* The offset in image n of x of the input of output (oc, oh, ow). mode 0: depth to space, DCR (the block
 * offset outermost in the input channel: ONNX's default, TFLite's); 1: depth to space, CRD (PyTorch's
 * PixelShuffle); 2: space to depth (ONNX's and TFLite's order, the block offset outermost in the output
 * channel). */
inline int space_depth_src(const int oc, const int oh, const int ow, const int ci, const int hi, const int wi,
                           const int co, const int b, const int mode) {
  if (mode == 2) {
    const int ij = oc / ci, c = oc - ij * ci, i = ij / b, j = ij - i * b;
    return (c * hi + oh * b + i) * wi + ow * b + j;
  }
  const int h = oh / b, i = oh - h * b, w = ow / b, j = ow - w * b;
  const int ic = mode == 0 ? (i * b + j) * co + oc : (oc * b + i) * b + j;
  return (ic * hi + h) * wi + w;
}

#define SPACE_DEPTH_ARGS                                                                                               \
  __global const float *x, const int x_off, __global float *y, const int y_off, const int ci, const int hi,            \
      const int wi, const int co, const int ho, const int wo, const int b, const int mode, const int rows

/* One run of CHUNK floats of output row r (dimension 1: the rows = N * co * ho): a gather, one float at a
 * time, since neighbouring outputs come from different input channels. */
inline void space_depth_run(SPACE_DEPTH_ARGS) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= wo || r >= rows)
    return;
  const int plane = r / ho, oh = r - plane * ho, n = plane / co, oc = plane - n * co;
  const int xb = x_off + n * ci * hi * wi, yb = y_off + r * wo, end = min(wo, (int)start + CHUNK);
  for (int p = (int)start; p < end; p++)
    y[yb + p] = x[xb + space_depth_src(oc, oh, p, ci, hi, wi, co, b, mode)];
}

__kernel void layout_depth_to_space(SPACE_DEPTH_ARGS) {
  space_depth_run(x, x_off, y, y_off, ci, hi, wi, co, ho, wo, b, mode, rows);
}

__kernel void layout_space_to_depth(SPACE_DEPTH_ARGS) {
  space_depth_run(x, x_off, y, y_off, ci, hi, wi, co, ho, wo, b, 2, rows);
}

/* The GPU form: one output float per work-item over all rows * wo floats, consecutive work-items on
 * consecutive floats of y (stores coalesced; loads strided by the block). */
inline void space_depth_one(SPACE_DEPTH_ARGS) {
  if (get_global_id(0) >= (size_t)rows * (size_t)wo)
    return;
  const int i = (int)get_global_id(0), r = i / wo, ow = i - r * wo;
  const int plane = r / ho, oh = r - plane * ho, n = plane / co, oc = plane - n * co;
  y[y_off + i] = x[x_off + n * ci * hi * wi + space_depth_src(oc, oh, ow, ci, hi, wi, co, b, mode)];
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void layout_depth_to_space_gpu(SPACE_DEPTH_ARGS) {
  space_depth_one(x, x_off, y, y_off, ci, hi, wi, co, ho, wo, b, mode, rows);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void layout_space_to_depth_gpu(SPACE_DEPTH_ARGS) {
  space_depth_one(x, x_off, y, y_off, ci, hi, wi, co, ho, wo, b, 2, rows);
}

/* Reshape in NHWC order (a TFLite RESHAPE, a channels-last Reshape): y [N][co][ho][wo] holds the floats
 * of x [N][ci][hi][wi] in the order an NHWC layout of each would store them, ci * hi * wi = co * ho * wo.
 * The offset in image n of x of output (oc, oh, ow): its position in the NHWC order of the image,
 * taken apart in x's NHWC shape. */
inline int nhwc_src(const int oc, const int oh, const int ow, const int ci, const int hi, const int wi, const int co,
                    const int wo) {
  const int f = (oh * wo + ow) * co + oc, pix = f / ci, c = f - pix * ci, h = pix / wi;
  return (c * hi + h) * wi + (pix - h * wi);
}

#define NHWC_ARGS                                                                                                      \
  __global const float *x, const int x_off, __global float *y, const int y_off, const int ci, const int hi,            \
      const int wi, const int co, const int ho, const int wo, const int rows

/* One run of CHUNK floats of output row r (dimension 1: the rows = N * co * ho), a gather. */
__kernel void layout_reshape_nhwc(NHWC_ARGS) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= wo || r >= rows)
    return;
  const int plane = r / ho, oh = r - plane * ho, n = plane / co, oc = plane - n * co;
  const int xb = x_off + n * ci * hi * wi, yb = y_off + r * wo, end = min(wo, (int)start + CHUNK);
  for (int p = (int)start; p < end; p++)
    y[yb + p] = x[xb + nhwc_src(oc, oh, p, ci, hi, wi, co, wo)];
}

/* The GPU form: one output float per work-item, consecutive work-items on consecutive floats of y. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void layout_reshape_nhwc_gpu(NHWC_ARGS) {
  if (get_global_id(0) >= (size_t)rows * (size_t)wo)
    return;
  const int i = (int)get_global_id(0), r = i / wo, ow = i - r * wo;
  const int plane = r / ho, oh = r - plane * ho, n = plane / co, oc = plane - n * co;
  y[y_off + i] = x[x_off + n * ci * hi * wi + nhwc_src(oc, oh, ow, ci, hi, wi, co, wo)];
}
