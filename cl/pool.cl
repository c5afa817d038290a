/* Pooling kernels: windowed max/avg pooling (pool2d_max, pool2d_avg) and global pooling to one value per
 * plane (global_pool_max, global_pool_avg). Layout NCHW; every size is a kernel argument, so one program
 * serves every shape. lib/ops/pool.c is the only caller and owns the argument order. */
#include "common.h"

/* Outputs along W per work-item (1, 2, 4 or 8): the interior of stride-1 and stride-2 windows is read with
 * vector loads of that width, since PoCL vectorizes only explicit vector types. */
#ifndef POOL_VW
#define POOL_VW 8
#endif
#if POOL_VW == 8
typedef float8 poolv;
#define POOL_LOAD1(p)    vload8(0, p)
#define POOL_LOAD2(p)    vload16(0, p).even
#define POOL_STORE(v, p) vstore8(v, 0, p)
#elif POOL_VW == 4
typedef float4 poolv;
#define POOL_LOAD1(p)    vload4(0, p)
#define POOL_LOAD2(p)    vload8(0, p).even
#define POOL_STORE(v, p) vstore4(v, 0, p)
#elif POOL_VW == 2
typedef float2 poolv;
#define POOL_LOAD1(p)    vload2(0, p)
#define POOL_LOAD2(p)    vload4(0, p).even
#define POOL_STORE(v, p) vstore2(v, 0, p)
#elif POOL_VW == 1
typedef float poolv;
#define POOL_LOAD1(p)    (p)[0]
#define POOL_LOAD2(p)    (p)[0]
#define POOL_STORE(v, p) ((p)[0] = (v))
#else
#error "POOL_VW must be 1, 2, 4 or 8"
#endif

/* Window geometry, shared by both kinds; dh, dw: the dilation (the gap between taps). */
typedef struct {
  int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
} pool_geom;

/* The taps [*a, *b) of a window starting at o (padded origin) whose rows o + t * d fall inside [0, size). */
inline void pool_taps(int o, int k, int d, int size, int *a, int *b) {
  *a = o < 0 ? (-o + d - 1) / d : 0;
  *b = o >= size ? 0 : min(k, (size - 1 - o) / d + 1);
}

/* The taps of a window starting at o that lie inside the padded extent [-pad_lo, size + pad_hi): what avg
 * divides by with count_include_pad (PyTorch's and ONNX's rule: the window clipped to the padded input). */
inline int pool_padded_taps(int o, int k, int d, int size, int pad_hi) {
  return o >= size + pad_hi ? 0 : min(k, (size + pad_hi - 1 - o) / d + 1);
}

/* One output of a window whose top-left corner is (h0, w0) in padded coordinates; row taps [ia, ib) are
 * inside the input. */
inline float pool_one(__global const float *src, int W, int H, pool_geom g, int h0, int w0, int ia, int ib,
                      const int is_max, const int include_pad) {
  int ja, jb;
  pool_taps(w0, g.kw, g.dw, W, &ja, &jb);
  float acc = is_max ? -INFINITY : 0.0f;
  for (int i = ia; i < ib; i++)
    for (int j = ja; j < jb; j++) {
      const float v = src[(h0 + i * g.dh) * W + w0 + j * g.dw];
      acc = is_max ? fmax(acc, v) : acc + v;
    }
  if (is_max)
    return acc;
  int rows = include_pad ? pool_padded_taps(h0, g.kh, g.dh, H, g.pb) : ib - ia;
  int cols = include_pad ? pool_padded_taps(w0, g.kw, g.dw, W, g.pr) : jb - ja;
  int div = rows * cols;
  return div > 0 ? acc / (float)div : 0.0f;
}

/* POOL_VW outputs whose windows lie inside the row along W, for stride 1 or 2: whole-vector loads. */
inline poolv pool_vec(__global const float *src, int W, pool_geom g, int h0, int ia, int ib, int base,
                      const int is_max) {
  poolv acc = is_max ? (poolv)(-INFINITY) : (poolv)(0.0f);
  for (int i = ia; i < ib; i++) {
    __global const float *row = src + (h0 + i * g.dh) * W + base;
    for (int kx = 0; kx < g.kw; kx++) {
      poolv v = g.sw == 1 ? POOL_LOAD1(row + kx * g.dw) : POOL_LOAD2(row + kx * g.dw);
      acc = is_max ? fmax(acc, v) : acc + v;
    }
  }
  return acc;
}

/* x [NC, H, W] -> y [NC, OH, OW]; dim 0: blocks of POOL_VW outputs along OW, dim 1: OH, dim 2: NC. */
inline void pool2d_body(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int OH, int OW,
                        pool_geom g, const int is_max, int include_pad) {
  int ow0 = (int)get_global_id(0) * POOL_VW, oh = (int)get_global_id(1), nc = (int)get_global_id(2);
  if (ow0 >= OW || oh >= OH)
    return;
  __global const float *src = x + x_off + (size_t)nc * H * W;
  __global float *dst = y + y_off + ((size_t)nc * OH + oh) * OW;
  int h0 = oh * g.sh - g.pt, ia, ib;
  pool_taps(h0, g.kh, g.dh, H, &ia, &ib);
  int base = ow0 * g.sw - g.pl;
  int last = base + (POOL_VW * g.sw - 1) + (g.kw - 1) * g.dw; /* the last element a vector load reads */
  if (ow0 + POOL_VW <= OW && base >= 0 && last < W && g.sw <= 2) {
    poolv acc = pool_vec(src, W, g, h0, ia, ib, base, is_max);
    if (!is_max) {
      int rows = include_pad ? pool_padded_taps(h0, g.kh, g.dh, H, g.pb) : ib - ia;
      acc /= (float)(rows * g.kw);
    }
    POOL_STORE(acc, dst + ow0);
    return;
  }
  for (int j = 0; j < POOL_VW && ow0 + j < OW; j++)
    dst[ow0 + j] = pool_one(src, W, H, g, h0, (ow0 + j) * g.sw - g.pl, ia, ib, is_max, include_pad);
}

__kernel void pool2d_max(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int OH, int OW,
                         int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw,
                         int include_pad) {
  pool_geom g = {kh, kw, sh, sw, pt, pl, pb, pr, dh, dw};
  pool2d_body(x, x_off, y, y_off, H, W, OH, OW, g, 1, include_pad);
}

__kernel void pool2d_avg(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int OH, int OW,
                         int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw,
                         int include_pad) {
  pool_geom g = {kh, kw, sh, sw, pt, pl, pb, pr, dh, dw};
  pool2d_body(x, x_off, y, y_off, H, W, OH, OW, g, 0, include_pad);
}

/* One plane of HW contiguous values -> one value; dim 0: the NC planes. 16 lanes of partial results keep
 * the sum of a large plane accurate and vectorized. */
inline float global_body(__global const float *p, int HW, const int is_max) {
  float16 acc = is_max ? (float16)(-INFINITY) : (float16)(0.0f);
  int i = 0;
  for (; i + 16 <= HW; i += 16) {
    float16 v = vload16(0, p + i);
    acc = is_max ? fmax(acc, v) : acc + v;
  }
  float8 a8 = is_max ? fmax(acc.lo, acc.hi) : acc.lo + acc.hi;
  float4 a4 = is_max ? fmax(a8.lo, a8.hi) : a8.lo + a8.hi;
  float2 a2 = is_max ? fmax(a4.lo, a4.hi) : a4.lo + a4.hi;
  float r = is_max ? fmax(a2.x, a2.y) : a2.x + a2.y;
  for (; i < HW; i++)
    r = is_max ? fmax(r, p[i]) : r + p[i];
  return r;
}

__kernel void global_pool_max(__global const float *x, int x_off, __global float *y, int y_off, int NC, int HW) {
  int nc = (int)get_global_id(0);
  if (nc < NC)
    y[y_off + nc] = global_body(x + x_off + (size_t)nc * HW, HW, 1);
}

__kernel void global_pool_avg(__global const float *x, int x_off, __global float *y, int y_off, int NC, int HW) {
  int nc = (int)get_global_id(0);
  if (nc < NC)
    y[y_off + nc] = global_body(x + x_off + (size_t)nc * HW, HW, 0) / (float)HW;
}

/* ---- GPU forms (GPU=1 in the row): work-groups of exactly LOCAL work-items ---- */

/* Work-items per work-group of the *_gpu kernels (whole warps and waves; a power of two for the tree
 * reductions), declared as reqd_work_group_size so that the compiler and gpu-static see it. */
#ifndef LOCAL
#define LOCAL 256
#endif
#if LOCAL < 1 || (LOCAL & (LOCAL - 1)) != 0
#error "LOCAL must be a power of two"
#endif

/* One output per work-item over the flat index of y [NC, OH, OW]: neighbouring work-items take
 * neighbouring outputs along OW, so a warp reads each window row as one coalesced span and needs a
 * few registers, where the float8 form leaves most lanes idle. */
inline void pool2d_gpu_body(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int NC,
                            int OH, int OW, pool_geom g, const int is_max, int include_pad) {
  if (get_global_id(0) >= (size_t)NC * OH * OW)
    return;
  /* quotient and remainder by multiplication, not %: the div-rem pair becomes an LLVM `freeze`, which
   * oclgrind cannot run */
  const int i = (int)get_global_id(0), t = i / OW, ow = i - t * OW, nc = t / OH, oh = t - nc * OH;
  const int h0 = oh * g.sh - g.pt;
  int ia, ib;
  pool_taps(h0, g.kh, g.dh, H, &ia, &ib);
  y[y_off + i] = pool_one(x + x_off + (size_t)nc * H * W, W, H, g, h0, ow * g.sw - g.pl, ia, ib, is_max, include_pad);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
pool2d_max_gpu(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int NC, int OH, int OW,
               int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int include_pad) {
  pool_geom g = {kh, kw, sh, sw, pt, pl, pb, pr, dh, dw};
  pool2d_gpu_body(x, x_off, y, y_off, H, W, NC, OH, OW, g, 1, include_pad);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
pool2d_avg_gpu(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int NC, int OH, int OW,
               int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int include_pad) {
  pool_geom g = {kh, kw, sh, sw, pt, pl, pb, pr, dh, dw};
  pool2d_gpu_body(x, x_off, y, y_off, H, W, NC, OH, OW, g, 0, include_pad);
}

/* The max or sum of v over the work-group, through t[LOCAL]: each step halves the active work-items.
 * The barriers sit outside the `if`, so every work-item reaches each of them (uniform control flow). */
inline float pool_tree(__local float *t, float v, const int is_max) {
  const int lid = (int)get_local_id(0);
  t[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = LOCAL / 2; s > 0; s >>= 1) {
    if (lid < s)
      t[lid] = is_max ? fmax(t[lid], t[lid + s]) : t[lid] + t[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return t[0];
}

/* Work-group (p, plane) reduces elements [p chunk, (p + 1) chunk) of its plane of HW floats (strided by
 * LOCAL, so loads coalesce) and writes y[y_off + plane * parts + p], the sum times `scale` for avg. The
 * host runs it once (one part per plane, scale 1 / HW) or, when planes are too few to fill the device, a
 * second time over the parts. Every work-group is whole: no work-item leaves before the barriers. */
inline void global_gpu_body(__local float *t, __global const float *x, int x_off, __global float *y, int y_off, int HW,
                            int chunk, float scale, const int is_max) {
  const int lid = (int)get_local_id(0), p = (int)get_group_id(0), parts = (int)get_num_groups(0);
  const int plane = (int)get_global_id(1), end = p * chunk + min(chunk, HW - p * chunk); /* no overflow */
  __global const float *src = x + x_off + (size_t)plane * HW;
  float acc = is_max ? -INFINITY : 0.0f;
  for (int i = p * chunk + lid; i < end; i += LOCAL)
    acc = is_max ? fmax(acc, src[i]) : acc + src[i];
  acc = pool_tree(t, acc, is_max);
  if (lid == 0)
    y[y_off + plane * parts + p] = is_max ? acc : acc * scale;
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
global_pool_max_gpu(__global const float *x, int x_off, __global float *y, int y_off, int HW, int chunk, float scale) {
  __local float t[LOCAL];
  global_gpu_body(t, x, x_off, y, y_off, HW, chunk, scale, 1);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
global_pool_avg_gpu(__global const float *x, int x_off, __global float *y, int y_off, int HW, int chunk, float scale) {
  __local float t[LOCAL];
  global_gpu_body(t, x, x_off, y, y_off, HW, chunk, scale, 0);
}
