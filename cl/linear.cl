/* Linear (fully connected) kernels: linear_direct computes y [N, M] = act(x [N, K] . w [M, K]^T + b) in one
 * pass; linear_bias_act is the epilogue after the CLBlast GEMM (lib/ops/linear.c, the only caller, owns the
 * argument order). The activation is a run-time code so one program serves every head. */
#include "common.h"

#ifndef LINEAR_NB
#define LINEAR_NB 4 /* rows of x per work-item: the host passes its tuning row's NB, or 1 below NB rows */
#endif
#ifndef LINEAR_MB
#define LINEAR_MB 4 /* outputs per work-item: the row's MB, or MB1 below NB rows */
#endif

inline float hsum16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* dim 0: blocks of LINEAR_NB rows (neighbours share the weight rows), dim 1: blocks of LINEAR_MB outputs.
 * Both operands are read along K, contiguous, 16 lanes at a time; rows past N or M are clamped on load and
 * skipped on store. */
__kernel void linear_direct(__global const float *x, int x_off, __global const float *w, int w_off,
                            __global const float *b, int b_off, int has_bias, __global float *y, int y_off, int N,
                            int M, int K, int act, float alpha, float beta) {
  int n0 = (int)get_global_id(0) * LINEAR_NB, m0 = (int)get_global_id(1) * LINEAR_MB;
  if (n0 >= N || m0 >= M)
    return;
  __global const float *xr[LINEAR_NB], *wr[LINEAR_MB];
  float16 acc[LINEAR_NB][LINEAR_MB];
#pragma unroll
  for (int i = 0; i < LINEAR_NB; i++) {
    xr[i] = x + x_off + (size_t)min(n0 + i, N - 1) * K;
#pragma unroll
    for (int j = 0; j < LINEAR_MB; j++)
      acc[i][j] = (float16)(0.0f);
  }
#pragma unroll
  for (int j = 0; j < LINEAR_MB; j++)
    wr[j] = w + w_off + (size_t)min(m0 + j, M - 1) * K;
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    float16 xv[LINEAR_NB], wv[LINEAR_MB];
#pragma unroll
    for (int i = 0; i < LINEAR_NB; i++)
      xv[i] = vload16(0, xr[i] + k);
#pragma unroll
    for (int j = 0; j < LINEAR_MB; j++)
      wv[j] = vload16(0, wr[j] + k);
#pragma unroll
    for (int i = 0; i < LINEAR_NB; i++)
#pragma unroll
      for (int j = 0; j < LINEAR_MB; j++)
        acc[i][j] = fma(xv[i], wv[j], acc[i][j]);
  }
#pragma unroll
  for (int i = 0; i < LINEAR_NB; i++)
#pragma unroll
    for (int j = 0; j < LINEAR_MB; j++) {
      float r = hsum16(acc[i][j]);
      for (int kk = k; kk < K; kk++)
        r = fma(xr[i][kk], wr[j][kk], r);
      if (n0 + i < N && m0 + j < M) {
        if (has_bias)
          r += b[b_off + m0 + j];
        y[y_off + (size_t)(n0 + i) * M + m0 + j] = act_apply(r, act, alpha, beta);
      }
    }
}

/* y [N, M] = act(y + b) in place, after a GEMM that wrote y; dim 0: N * M. */
__kernel void linear_bias_act(__global float *y, int y_off, __global const float *b, int b_off, int has_bias, int N,
                              int M, int act, float alpha, float beta) {
  int i = (int)get_global_id(0);
  if (i >= N * M)
    return;
  float v = y[y_off + i];
  if (has_bias)
    v += b[b_off + i % M];
  y[y_off + i] = act_apply(v, act, alpha, beta);
}
