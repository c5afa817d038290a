/* Reductions over channels, per pixel: mean / max, softmax and argmax. Work-items run over contiguous pixels
 * (one float16 lane each) and loop over C, whose planes lie hw floats apart. */
#define ACTIVATION_FUNCS_ONLY
#include "activation.cl" /* for exp_vec */
#include "rows.h"        /* for reduce_axes */

/* VPW (float16 vectors of pixels per work-item) and CHUNK come from activation.cl. */

#define REDUCE_MEAN 0
#define REDUCE_MAX  1

/* Dimension 0: CHUNK-pixel runs of one image; dimension 1: the n images. Sets the run's bounds and the
 * image's base offset, or returns 0 for a work-item past the end. */
inline int pixel_run(const int hw, const int n, int *p, int *end) {
  const long start = (long)get_global_id(0) * CHUNK;
  if (start >= hw || (int)get_global_id(1) >= n)
    return 0;
  *p = (int)start;
  *end = min(hw, (int)start + CHUNK);
  return 1;
}

/* y [n, 1, h, w] from x [n, c, h, w]; kind is a constant in each kernel below. */
inline void reduce_run(__global const float *x, const int x_off, __global float *y, const int y_off, const int c,
                       const int hw, const int n, const int kind) {
  int p, end;
  if (!pixel_run(hw, n, &p, &end))
    return;
  const int img = get_global_id(1), xb = x_off + img * c * hw, yb = y_off + img * hw;
  for (; p + 16 <= end; p += 16) {
    float16 acc = vload16(0, x + xb + p);
    for (int k = 1; k < c; k++) {
      const float16 v = vload16(0, x + xb + k * hw + p);
      acc = kind == REDUCE_MAX ? fmax(acc, v) : acc + v;
    }
    vstore16(kind == REDUCE_MAX ? acc : acc / (float)c, 0, y + yb + p);
  }
  for (; p < end; p++) {
    float acc = x[xb + p];
    for (int k = 1; k < c; k++)
      acc = kind == REDUCE_MAX ? fmax(acc, x[xb + k * hw + p]) : acc + x[xb + k * hw + p];
    y[yb + p] = kind == REDUCE_MAX ? acc : acc / (float)c;
  }
}

__kernel void reduce_mean(__global const float *x, const int x_off, __global float *y, const int y_off, const int c,
                          const int hw, const int n) {
  reduce_run(x, x_off, y, y_off, c, hw, n, REDUCE_MEAN);
}

__kernel void reduce_max(__global const float *x, const int x_off, __global float *y, const int y_off, const int c,
                         const int hw, const int n) {
  reduce_run(x, x_off, y, y_off, c, hw, n, REDUCE_MAX);
}

/* Softmax over a full run of CHUNK pixels: the channel loop is outermost, so that each channel plane is read
 * as one contiguous CHUNK-float span. Planes lie hw floats apart, a multiple of 4 KiB on power-of-two images,
 * so per-vector channel loops hit the same cache set in every plane and missed L1 and L2 on each access. */
inline void softmax_full_run(__global const float *x, __global float *y, const int c, const int hw) {
  float16 m[VPW], s[VPW];
  for (int v = 0; v < VPW; v++) {
    m[v] = vload16(v, x);
    s[v] = 0.0f;
  }
  for (int k = 1; k < c; k++)
    for (int v = 0; v < VPW; v++)
      m[v] = fmax(m[v], vload16(v, x + k * hw));
  for (int k = 0; k < c; k++)
    for (int v = 0; v < VPW; v++)
      s[v] += exp_vec(vload16(v, x + k * hw) - m[v]);
  for (int v = 0; v < VPW; v++)
    s[v] = 1.0f / s[v];
  for (int k = 0; k < c; k++)
    for (int v = 0; v < VPW; v++)
      vstore16(exp_vec(vload16(v, x + k * hw) - m[v]) * s[v], v, y + k * hw);
}

/* Softmax over channels, stable: exponents of x - max, so that large logits do not overflow. y like x. */
__kernel void reduce_softmax(__global const float *x, const int x_off, __global float *y, const int y_off, const int c,
                             const int hw, const int n) {
  int p, end;
  if (!pixel_run(hw, n, &p, &end))
    return;
  const int xb = x_off + (int)get_global_id(1) * c * hw, yb = y_off + (int)get_global_id(1) * c * hw;
  if (end - p == CHUNK) {
    softmax_full_run(x + xb + p, y + yb + p, c, hw);
    return;
  }
  for (; p + 16 <= end; p += 16) {
    float16 m = vload16(0, x + xb + p), s = 0.0f;
    for (int k = 1; k < c; k++)
      m = fmax(m, vload16(0, x + xb + k * hw + p));
    for (int k = 0; k < c; k++)
      s += exp_vec(vload16(0, x + xb + k * hw + p) - m);
    const float16 inv = 1.0f / s;
    for (int k = 0; k < c; k++)
      vstore16(exp_vec(vload16(0, x + xb + k * hw + p) - m) * inv, 0, y + yb + k * hw + p);
  }
  for (; p < end; p++) {
    float m = x[xb + p], s = 0.0f;
    for (int k = 1; k < c; k++)
      m = fmax(m, x[xb + k * hw + p]);
    for (int k = 0; k < c; k++)
      s += exp(x[xb + k * hw + p] - m);
    const float inv = 1.0f / s;
    for (int k = 0; k < c; k++)
      y[yb + k * hw + p] = exp(x[xb + k * hw + p] - m) * inv;
  }
}

/* The first channel holding the largest value (strict >, so ties keep the earlier), as a float. y [n,1,h,w].
 */
__kernel void reduce_argmax(__global const float *x, const int x_off, __global float *y, const int y_off, const int c,
                            const int hw, const int n) {
  int p, end;
  if (!pixel_run(hw, n, &p, &end))
    return;
  const int xb = x_off + (int)get_global_id(1) * c * hw, yb = y_off + (int)get_global_id(1) * hw;
  for (; p + 16 <= end; p += 16) {
    float16 best = vload16(0, x + xb + p), idx = 0.0f;
    for (int k = 1; k < c; k++) {
      const float16 v = vload16(0, x + xb + k * hw + p);
      const int16 gt = isgreater(v, best);
      best = select(best, v, gt);
      idx = select(idx, (float16)k, gt);
    }
    vstore16(idx, 0, y + yb + p);
  }
  for (; p < end; p++) {
    float best = x[xb + p];
    int idx = 0;
    for (int k = 1; k < c; k++)
      if (x[xb + k * hw + p] > best) {
        best = x[xb + k * hw + p];
        idx = k;
      }
    y[yb + p] = (float)idx;
  }
}

/* ---- GPU forms (GPU=1 in the row): one pixel per work-item, work-groups of exactly LOCAL ---- */

/* Work-items per work-group of the *_gpu kernels (whole warps and waves), declared as
 * reqd_work_group_size so that the compiler and gpu-static see it. */
#ifndef LOCAL
#define LOCAL 256
#endif

/* Work-item i takes pixel p of image img over the flat index of the n images' pixels: neighbouring
 * work-items read neighbouring floats of each channel plane (coalesced) and hold a few registers, where
 * the float16 runs of the CPU form leave most lanes of a warp idle. Returns 0 past the end. */
inline int pixel_gpu(const int hw, const int n, int *i, int *img, int *p) {
  if (get_global_id(0) >= (size_t)n * hw)
    return 0;
  *i = (int)get_global_id(0);
  *img = *i / hw;
  *p = *i - *img * hw;
  return 1;
}

inline void reduce_gpu(__global const float *x, const int x_off, __global float *y, const int y_off, const int c,
                       const int hw, const int n, const int kind) {
  int i, img, p;
  if (!pixel_gpu(hw, n, &i, &img, &p))
    return;
  __global const float *src = x + x_off + img * c * hw + p;
  float acc = src[0];
  for (int k = 1; k < c; k++)
    acc = kind == REDUCE_MAX ? fmax(acc, src[k * hw]) : acc + src[k * hw];
  y[y_off + i] = kind == REDUCE_MAX ? acc : acc / (float)c; /* y [n, 1, h, w]: pixel i */
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void reduce_mean_gpu(__global const float *x,
                                                                                 const int x_off, __global float *y,
                                                                                 const int y_off, const int c,
                                                                                 const int hw, const int n) {
  reduce_gpu(x, x_off, y, y_off, c, hw, n, REDUCE_MEAN);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void reduce_max_gpu(__global const float *x,
                                                                                const int x_off, __global float *y,
                                                                                const int y_off, const int c,
                                                                                const int hw, const int n) {
  reduce_gpu(x, x_off, y, y_off, c, hw, n, REDUCE_MAX);
}

/* Softmax over channels in two reads of x: the running maximum m and the sum s of exp(x - m), rescaled
 * when m grows, then the outputs. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void reduce_softmax_gpu(__global const float *x,
                                                                                    const int x_off, __global float *y,
                                                                                    const int y_off, const int c,
                                                                                    const int hw, const int n) {
  int i, img, p;
  if (!pixel_gpu(hw, n, &i, &img, &p))
    return;
  __global const float *src = x + x_off + img * c * hw + p;
  __global float *dst = y + y_off + img * c * hw + p;
  float m = src[0], s = 1.0f;
  for (int k = 1; k < c; k++) {
    const float v = src[k * hw];
    if (v > m) {
      s = s * exp(m - v) + 1.0f;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  const float inv = 1.0f / s;
  for (int k = 0; k < c; k++)
    dst[k * hw] = exp(src[k * hw] - m) * inv;
}

/* The first channel holding the largest value (strict >, ties keep the earlier), as a float. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void reduce_argmax_gpu(__global const float *x,
                                                                                   const int x_off, __global float *y,
                                                                                   const int y_off, const int c,
                                                                                   const int hw, const int n) {
  int i, img, p;
  if (!pixel_gpu(hw, n, &i, &img, &p))
    return;
  __global const float *src = x + x_off + img * c * hw + p;
  float best = src[0];
  int idx = 0;
  for (int k = 1; k < c; k++)
    if (src[k * hw] > best) {
      best = src[k * hw];
      idx = k;
    }
  y[y_off + i] = (float)idx;
}

/* ---- reduce_axes: any contiguous run of dims, on the (outer, n, inner) view of rows.h; y [outer, inner] ---- */

/* clseg_reduce_kind's values: MEAN and SUM sum, MAX and MIN compare. */
#define AXES_MEAN 0
#define AXES_MAX  1
#define AXES_SUM  2
#define AXES_MIN  3

ROW_INLINE int axes_row_kind(const int kind) {
  return kind == AXES_MAX ? ROW_MAX : (kind == AXES_MIN ? ROW_MIN : ROW_SUM);
}

/* One row of the column form, sums in blocks of ROW_BLOCK. */
ROW_INLINE float axes_column(__global const float *src, const int n, const int inner, const int kind) {
  const int rk = axes_row_kind(kind);
  float acc = src[0];
  if (rk == ROW_SUM) {
    acc = 0.0f;
    for (int j0 = 0; j0 < n; j0 += ROW_BLOCK) {
      const int end = min(n, j0 + ROW_BLOCK);
      float part = 0.0f;
      for (int j = j0; j < end; j++)
        part += src[j * inner];
      acc += part;
    }
  } else {
    for (int j = 1; j < n; j++)
      acc = row_combine(acc, src[j * inner], rk);
  }
  return kind == AXES_MEAN ? acc / (float)n : acc;
}

/* The column form: one work-item per row. */
__kernel void reduce_axes(__global const float *x, const int x_off, __global float *y, const int y_off, const int outer,
                          const int n, const int inner, const int kind) {
  int base;
  if (row_column(outer, n, inner, &base))
    y[y_off + get_global_id(0)] = axes_column(x + x_off + base, n, inner, kind);
}

/* The float16 column form (VEC=1 rows, inner >= 16): 16 neighbouring rows per work-item. */
__kernel void reduce_axes_vec(__global const float *x, const int x_off, __global float *y, const int y_off,
                              const int outer, const int n, const int inner, const int kind) {
  int o, i0;
  if (!row_vec_column(outer, inner, &o, &i0))
    return;
  __global const float *src = x + x_off + o * n * inner + i0;
  __global float *dst = y + y_off + o * inner + i0;
  if (i0 + 16 > inner) {
    for (int i = 0; i0 + i < inner; i++)
      dst[i] = axes_column(src + i, n, inner, kind);
    return;
  }
  const int rk = axes_row_kind(kind);
  float16 acc = vload16(0, src);
  if (rk == ROW_SUM) {
    acc = 0.0f;
    for (int j0 = 0; j0 < n; j0 += ROW_BLOCK) {
      const int end = min(n, j0 + ROW_BLOCK);
      float16 part = 0.0f;
      for (int j = j0; j < end; j++)
        part += vload16(0, src + j * inner);
      acc += part;
    }
  } else {
    for (int j = 1; j < n; j++) {
      const float16 v = vload16(0, src + j * inner);
      acc = rk == ROW_MAX ? fmax(acc, v) : fmin(acc, v);
    }
  }
  vstore16(kind == AXES_MEAN ? acc / (float)n : acc, 0, dst);
}

/* The work-group form: LOCAL work-items per row, each over every LOCAL-th element, then a tree in __local. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
reduce_axes_wg(__global const float *x, const int x_off, __global float *y, const int y_off, const int outer,
               const int n, const int inner, const int kind) {
  __local float buf[LOCAL];
  int o;
  const int base = row_group(n, inner, &o), lid = (int)get_local_id(0), rk = axes_row_kind(kind);
  __global const float *src = x + x_off + base;
  float acc = rk == ROW_SUM ? 0.0f : (rk == ROW_MAX ? -INFINITY : INFINITY);
  for (int j = lid; j < n; j += LOCAL)
    acc = row_combine(acc, src[j * inner], rk);
  acc = row_wg_reduce(acc, buf, rk);
  if (lid == 0)
    y[y_off + get_group_id(0)] = kind == AXES_MEAN ? acc / (float)n : acc;
}
