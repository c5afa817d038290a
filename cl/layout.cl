/* Channel layout kernels: row copies (concat along C, channel slices) and constant / reflect padding. */
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
__kernel void layout_copy_rows(__global const float *x, const int x_off, const int x_stride,
                               __global float *y, const int y_off, const int y_stride, const int len,
                               const int rows) {
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
layout_copy_rows_gpu(__global const float *x, const int x_off, const int x_stride, __global float *y,
                     const int y_off, const int y_stride, const int len, const int rows) {
  if (get_global_id(0) >= (size_t)rows * (size_t)len)
    return;
  const int i = (int)get_global_id(0), r = i / len, p = i - r * len;
  y[y_off + r * y_stride + p] = x[x_off + r * x_stride + p];
}

/* Source index along an axis of `size` for output index i shifted by the padding; reflect mirrors without
 * repeating the edge (PyTorch's "reflect"), constant gives -1 outside. */
inline int pad_src(int i, int size, const int reflect) {
  if (i >= 0 && i < size)
    return i;
  if (!reflect)
    return -1;
  return i < 0 ? -i : 2 * (size - 1) - i;
}

/* One run of an output row (plane * ho + oh): the interior is copied a vector at a time, the borders one
 * float at a time. reflect is a constant in each kernel below, so each gets its own branch-free code. */
inline void pad_run(__global const float *x, const int x_off, __global float *y, const int y_off, const int h,
                    const int w, const int ho, const int wo, const int top, const int left, const float value,
                    const int rows, const int reflect) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= wo || r >= rows)
    return;
  const int plane = r / ho, sh = pad_src(r % ho - top, h, reflect), end = min(wo, (int)start + CHUNK);
  const int xb = x_off + (plane * h + sh) * w, yb = y_off + r * wo;
  int p = (int)start;
  if (sh < 0) { /* a constant row above or below the input */
    for (; p + 16 <= end; p += 16)
      vstore16((float16)value, 0, y + yb + p);
    for (; p < end; p++)
      y[yb + p] = value;
    return;
  }
  while (p < end) {
    if (p + 16 <= end && p - left >= 0 && p - left + 16 <= w) {
      vstore16(vload16(0, x + xb + p - left), 0, y + yb + p);
      p += 16;
      continue;
    }
    const int sw = pad_src(p - left, w, reflect);
    y[yb + p] = sw < 0 ? value : x[xb + sw];
    p++;
  }
}

/* Dimension 0: CHUNK-float runs of an output row; dimension 1: the rows = N * C * ho output rows. */
__kernel void layout_pad_constant(__global const float *x, const int x_off, __global float *y,
                                  const int y_off, const int h, const int w, const int ho, const int wo,
                                  const int top, const int left, const float value, const int rows) {
  pad_run(x, x_off, y, y_off, h, w, ho, wo, top, left, value, rows, 0);
}

__kernel void layout_pad_reflect(__global const float *x, const int x_off, __global float *y, const int y_off,
                                 const int h, const int w, const int ho, const int wo, const int top,
                                 const int left, const float value, const int rows) {
  pad_run(x, x_off, y, y_off, h, w, ho, wo, top, left, value, rows, 1);
}

/* The GPU form of both paddings: one output float per work-item over all rows * wo floats (consecutive
 * work-items on consecutive floats of y; of x inside the interior), each mapped back through pad_src. */
inline void pad_one(__global const float *x, const int x_off, __global float *y, const int y_off, const int h,
                    const int w, const int ho, const int wo, const int top, const int left, const float value,
                    const int rows, const int reflect) {
  if (get_global_id(0) >= (size_t)rows * (size_t)wo)
    return;
  const int i = (int)get_global_id(0), r = i / wo, ow = i - r * wo;
  const int sh = pad_src(r % ho - top, h, reflect), sw = pad_src(ow - left, w, reflect);
  y[y_off + i] = sh < 0 || sw < 0 ? value : x[x_off + ((r / ho) * h + sh) * w + sw];
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
layout_pad_constant_gpu(__global const float *x, const int x_off, __global float *y, const int y_off,
                        const int h, const int w, const int ho, const int wo, const int top,
                        const int left, const float value, const int rows) {
  pad_one(x, x_off, y, y_off, h, w, ho, wo, top, left, value, rows, 0);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
layout_pad_reflect_gpu(__global const float *x, const int x_off, __global float *y, const int y_off,
                       const int h, const int w, const int ho, const int wo, const int top,
                       const int left, const float value, const int rows) {
  pad_one(x, x_off, y, y_off, h, w, ho, wo, top, left, value, rows, 1);
}
