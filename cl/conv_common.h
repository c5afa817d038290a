/* Helpers shared by the conv and conv_transpose kernels: the build-time activation on float16 vectors and
 * the 16-pixel loads along a row for a build-time stride. */
#ifndef CLSEG_CL_CONV_COMMON_H
#define CLSEG_CL_CONV_COMMON_H

#include "common.h"

#ifndef ACT
#define ACT ACT_NONE /* fused activation code (clseg_act_kind) */
#endif
#ifndef SW
#define SW 1 /* horizontal stride: picks how 16 pixels of a row are loaded */
#endif

/* ACT of the programs shared by small layers (host: lib/ops/conv.c): v kept within [alpha, beta], NaN passed on.
 * None, ReLU, ReLU6 and Clip are all this form with their bounds as arguments, so they share one program. */
#define ACT_BOUNDS (-1)

/* The build-time activation ACT on 16 lanes (the switch folds away); PoCL vectorizes only explicit vector types, so
 * the epilogue stays vector. */
inline float16 act16(float16 v, float alpha, float beta) {
  switch (ACT) {
  case ACT_RELU: return fmax(v, (float16)0.0f);
  case ACT_RELU6: return clamp(v, 0.0f, 6.0f);
  case ACT_CLIP: return fmin(fmax(v, (float16)alpha), (float16)beta);
  case ACT_LEAKY_RELU: return select(v, v * alpha, v < 0.0f);
  case ACT_SIGMOID: return 1.0f / (1.0f + exp(-v));
  case ACT_HARD_SIGMOID: return clamp(alpha * v + beta, 0.0f, 1.0f);
  case ACT_HARD_SWISH: return v * clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f;
  case ACT_TANH: return tanh(v);
  case ACT_GELU: return 0.5f * v * (1.0f + erf(v * 0.70710678118654752f));
  case ACT_BOUNDS: return select(select(v, (float16)alpha, v < alpha), (float16)beta, v > beta);
  default: return v;
  }
}

/* 16 pixels p[0], p[SW], ... p[15 * SW]; the caller guarantees p[16 * SW - 1] is readable. Stride 2 uses
 * two contiguous loads and keeps the even lanes, which stays vector code; other strides gather. */
inline float16 load16_strided(const __global float *p) {
#if SW == 1
  return vload16(0, p);
#elif SW == 2
  const float16 a = vload16(0, p), b = vload16(0, p + 16);
  return (float16)(a.even, b.even);
#else
  float t[16];
  for (int i = 0; i < 16; i++)
    t[i] = p[i * SW];
  return vload16(0, t);
#endif
}

/* 16 contiguous pixels of which only the first `valid` exist (a row's tail): the rest read as zero. */
__attribute__((noinline)) float16 load16_tail(const __global float *p, int valid) {
  float t[16];
  for (int i = 0; i < 16; i++)
    t[i] = i < valid ? p[i] : 0.0f;
  return vload16(0, t);
}

/* The first `valid` (< 16) lanes of v stored at p. */
__attribute__((noinline)) void store16_tail(float16 v, __global float *p, int valid) {
  float t[16];
  vstore16(v, 0, t);
  for (int i = 0; i < valid; i++)
    p[i] = t[i];
}

/* Stores the first `valid` lanes of v at p (all 16 when valid >= 16). */
inline void store16(float16 v, __global float *p, int valid) {
  if (valid >= 16)
    vstore16(v, 0, p);
  else
    store16_tail(v, p, valid);
}

/* 16 contiguous values of which the first `valid` exist, for residual reads. */
inline float16 load16_valid(const __global float *p, int valid) {
  return valid >= 16 ? vload16(0, p) : load16_tail(p, valid);
}

#endif
