/* Helpers shared by kernel files: activation functions selected by a build-time or run-time code. */
#ifndef CLSEG_CL_COMMON_H
#define CLSEG_CL_COMMON_H

/* Activation codes: the same numbers as clseg_act_kind in include/clseg_ops.h. */
#define ACT_NONE         0
#define ACT_RELU         1
#define ACT_RELU6        2
#define ACT_CLIP         3
#define ACT_LEAKY_RELU   4
#define ACT_SIGMOID      5
#define ACT_HARD_SIGMOID 6
#define ACT_HARD_SWISH   7
#define ACT_TANH         8
#define ACT_GELU         9

/* alpha and beta are already resolved to their defaults by the host. */
inline float act_apply(float v, int kind, float alpha, float beta) {
  switch (kind) {
  case ACT_RELU: return fmax(v, 0.0f);
  case ACT_RELU6: return clamp(v, 0.0f, 6.0f);
  case ACT_CLIP: return fmin(fmax(v, alpha), beta);
  case ACT_LEAKY_RELU: return v < 0.0f ? alpha * v : v;
  case ACT_SIGMOID: return 1.0f / (1.0f + exp(-v));
  case ACT_HARD_SIGMOID: return clamp(alpha * v + beta, 0.0f, 1.0f);
  case ACT_HARD_SWISH: return v * clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f;
  case ACT_TANH: return tanh(v);
  case ACT_GELU: return 0.5f * v * (1.0f + erf(v * 0.70710678118654752f));
  default: return v;
  }
}

#endif
