/* Activation family: act_vec, the float16 twin of common.h's act_apply that batchnorm.cl and eltwise.cl fuse
 * into their outputs (they include this file with ACTIVATION_FUNCS_ONLY), and the standalone kernel. */
#ifndef CLSEG_CL_ACTIVATION
#define CLSEG_CL_ACTIVATION
#include "common.h"

/* float16 vectors each work-item handles: PoCL only vectorizes explicit vector types, and a longer run per
 * work-item keeps its per-work-group overhead small against the memory traffic. */
#ifndef VPW
#define VPW 8
#endif
#define CHUNK (16 * VPW)

/* exp, tanh and erf written with vector arithmetic only: PoCL's float16 builtins of these ran about 10x
 * slower than the memory traffic (gelu and softmax at ~3 GB/s against relu's ~55 in bench/bench_ops.c).
 * exp: Cephes' expf polynomial after a Cody-Waite reduction, ~1 ulp; inputs are clamped to where 2^k stays a
 * normal float, which changes results only at the edges of float range (below 1e-38 or above 1e38). */
inline float16 exp_vec(float16 x) {
  x = clamp(x, -87.0f, 88.0f);
  const float16 k = floor(fma(x, (float16)1.44269504f, (float16)0.5f));
  float16 r = fma(k, (float16)-0.693359375f, x);
  r = fma(k, (float16)2.12194440e-4f, r);
  float16 p = fma(r, (float16)1.9875691500e-4f, (float16)1.3981999507e-3f);
  p = fma(p, r, (float16)8.3334519073e-3f);
  p = fma(p, r, (float16)4.1665795894e-2f);
  p = fma(p, r, (float16)1.6666665459e-1f);
  p = fma(p, r, (float16)5.0000001201e-1f);
  p = fma(p, r * r, r) + 1.0f;
  return p * as_float16((convert_int16(k) + 127) << 23);
}

/* tanh from exp(-2|x|), which keeps its relative accuracy away from 0 and never overflows. */
inline float16 tanh_vec(float16 x) {
  const float16 t = exp_vec(-2.0f * fabs(x));
  return copysign((1.0f - t) / (1.0f + t), x);
}

/* Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, odd symmetry for x < 0. */
inline float16 erf_vec(float16 x) {
  const float16 a = fabs(x), t = 1.0f / fma(a, (float16)0.3275911f, (float16)1.0f);
  float16 p = fma(t, (float16)1.061405429f, (float16)-1.453152027f);
  p = fma(p, t, (float16)1.421413741f);
  p = fma(p, t, (float16)-0.284496736f);
  p = fma(p, t, (float16)0.254829592f);
  return copysign(1.0f - p * t * exp_vec(-a * a), x);
}

/* The kind is a run-time argument, not a -D macro: the switch is taken once per 16 elements, which costs
 * nothing measurable on these memory-bound kernels, and it spares one program per kind and op. */
inline float16 act_vec(float16 v, int kind, float alpha, float beta) {
  switch (kind) {
  case ACT_RELU: return fmax(v, (float16)0.0f);
  case ACT_RELU6: return clamp(v, 0.0f, 6.0f);
  case ACT_CLIP: return fmin(fmax(v, (float16)alpha), (float16)beta);
  case ACT_LEAKY_RELU: return select(v, v * alpha, v < (float16)0.0f);
  case ACT_SIGMOID: return 1.0f / (1.0f + exp_vec(-v));
  case ACT_HARD_SIGMOID: return clamp(alpha * v + beta, 0.0f, 1.0f);
  case ACT_HARD_SWISH: return v * clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f;
  case ACT_TANH: return tanh_vec(v);
  case ACT_GELU: return 0.5f * v * (1.0f + erf_vec(v * 0.70710678118654752f));
  default: return v;
  }
}

#ifndef ACTIVATION_FUNCS_ONLY
/* Work-items per work-group of the GPU form: whole warps and waves, declared as reqd_work_group_size so
 * that the compiler and gpu-static see it. The host passes the tuning row's LOCAL. */
#ifndef LOCAL
#define LOCAL 256
#endif

/* y = act(x) over n contiguous floats; work-item i owns the run [i * CHUNK, (i + 1) * CHUNK). */
__kernel void activation_apply(__global const float *x, const int x_off, __global float *y, const int y_off,
                               const int n, const int kind, const float alpha, const float beta) {
  const long start = (long)get_global_id(0) * CHUNK;
  if (start >= n)
    return;
  const int p0 = (int)start, end = min(n, p0 + CHUNK);
  int p = p0;
  for (; p + 16 <= end; p += 16)
    vstore16(act_vec(vload16(0, x + x_off + p), kind, alpha, beta), 0, y + y_off + p);
  for (; p < end; p++) /* the tail shorter than one vector */
    y[y_off + p] = act_apply(x[x_off + p], kind, alpha, beta);
}

/* The GPU form: work-item i owns float i, so a warp reads 32 consecutive floats in one transaction and
 * each work-item needs a handful of registers; the scalar builtins of act_apply are native on GPUs. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
activation_apply_gpu(__global const float *x, const int x_off, __global float *y, const int y_off, const int n,
                     const int kind, const float alpha, const float beta) {
  if (get_global_id(0) >= (size_t)n)
    return;
  const int i = (int)get_global_id(0);
  y[y_off + i] = act_apply(x[x_off + i], kind, alpha, beta);
}

/* PRelu: y = x < 0 ? a x : x with a = slope[s_off + c * s_stride] for channel c (s_stride 0: one slope for
 * every channel), over NCHW where each (n, c) plane of hw floats is contiguous. Written as
 * max(x, 0) + a min(x, 0), which is the same for every finite a. Dimension 0 runs over CHUNK-float runs of
 * one plane, dimension 1 over the n * C planes, as batchnorm_apply. */
/* `count` is the GPU form's: unused here, so that both forms take one argument list. */
__kernel void activation_prelu(__global const float *x, const int x_off, __global float *y, const int y_off,
                               __global const float *slope, const int s_off, const int s_stride, const int channels,
                               const int hw, const int count) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int plane = get_global_id(1);
  if (start >= hw)
    return;
  const float a = slope[s_off + (plane % channels) * s_stride];
  const int base = plane * hw, end = min(hw, (int)start + CHUNK);
  int p = (int)start;
  for (; p + 16 <= end; p += 16) {
    const float16 v = vload16(0, x + x_off + base + p);
    vstore16(fmax(v, 0.0f) + a * fmin(v, 0.0f), 0, y + y_off + base + p);
  }
  for (; p < end; p++) {
    const float v = x[x_off + base + p];
    y[y_off + base + p] = fmax(v, 0.0f) + a * fmin(v, 0.0f);
  }
}

/* The GPU form: one float per work-item over all n * C * hw floats; the slope load hits the cache. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
activation_prelu_gpu(__global const float *x, const int x_off, __global float *y, const int y_off,
                     __global const float *slope, const int s_off, const int s_stride, const int channels, const int hw,
                     const int count) {
  if (get_global_id(0) >= (size_t)count)
    return;
  const int i = (int)get_global_id(0);
  const float v = x[x_off + i], a = slope[s_off + ((i / hw) % channels) * s_stride];
  y[y_off + i] = fmax(v, 0.0f) + a * fmin(v, 0.0f);
}
#endif
#endif
