/* Reference activations, batchnorm (and its folding into a conv), broadcasting binary ops and
 * linear. */
#include <math.h>

#include "ref/ref.h"

static float relu6(float v) {
  return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
}

float ref_act1(float v, const clseg_activation *act) {
  if (!act)
    return v;
  float a = act->alpha, b = act->beta;
  switch (act->kind) {
  case CLSEG_ACT_NONE: return v;
  case CLSEG_ACT_RELU: return v < 0.0f ? 0.0f : v;
  case CLSEG_ACT_RELU6: return relu6(v);
  case CLSEG_ACT_CLIP: return fminf(fmaxf(v, a), b); /* no defaults: both bounds are literal */
  case CLSEG_ACT_LEAKY_RELU: return v < 0.0f ? (a == 0.0f ? 0.01f : a) * v : v;
  case CLSEG_ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)v)));
  case CLSEG_ACT_HARD_SIGMOID: {
    double al = a == 0.0f ? 1.0 / 6.0 : a, be = b == 0.0f ? 0.5 : b;
    double t = al * v + be;
    return (float)(t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t));
  }
  case CLSEG_ACT_HARD_SWISH: return (float)((double)v * relu6(v + 3.0f) / 6.0);
  case CLSEG_ACT_TANH: return (float)tanh((double)v);
  case CLSEG_ACT_GELU: return 0.5f * v * (1.0f + erff(v / sqrtf(2.0f)));
  default: return NAN; /* an unknown kind must show up as a mismatch */
  }
}

void ref_activation(const float *x, const int64_t xs[4], const clseg_activation *act, float *y) {
  size_t n = ref_count(xs);
  for (size_t i = 0; i < n; i++)
    y[i] = ref_act1(x[i], act);
}

void ref_batchnorm(const float *x, const int64_t xs[4], const float *gamma, const float *beta,
                   const float *mean, const float *var, float eps, const clseg_activation *act,
                   float *y) {
  double e = eps == 0.0f ? 1e-5 : eps;
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t c = 0; c < xs[1]; c++) {
      double inv = 1.0 / sqrt((double)var[c] + e);
      for (int64_t h = 0; h < xs[2]; h++)
        for (int64_t w = 0; w < xs[3]; w++) {
          size_t i = ref_at(xs, n, c, h, w);
          double v = ((double)x[i] - mean[c]) * inv * gamma[c] + beta[c];
          y[i] = ref_act1((float)v, act);
        }
    }
}

void ref_batchnorm_fold(float *weight, float *bias, int64_t cout, int64_t per_out,
                        const float *gamma, const float *beta, const float *mean, const float *var,
                        float eps) {
  double e = eps == 0.0f ? 1e-5 : eps;
  for (int64_t o = 0; o < cout; o++) {
    double s = gamma[o] / sqrt((double)var[o] + e);
    for (int64_t k = 0; k < per_out; k++)
      weight[o * per_out + k] = (float)(weight[o * per_out + k] * s);
    bias[o] = (float)(((double)bias[o] - mean[o]) * s + beta[o]);
  }
}

/* Index of y's element (n, c, h, w) in a broadcast operand of shape s (dims of 1 repeat). */
static size_t bcast_at(const int64_t s[4], int64_t n, int64_t c, int64_t h, int64_t w) {
  return ref_at(s, s[0] == 1 ? 0 : n, s[1] == 1 ? 0 : c, s[2] == 1 ? 0 : h, s[3] == 1 ? 0 : w);
}

int ref_binary(clseg_binary_op op, const float *a, const int64_t as[4], const float *b,
               const int64_t bs[4], const clseg_activation *act, float *y, const int64_t ys[4]) {
  for (int d = 0; d < 4; d++)
    if ((as[d] != ys[d] && as[d] != 1) || (bs[d] != ys[d] && bs[d] != 1))
      return -1;
  for (int64_t n = 0; n < ys[0]; n++)
    for (int64_t c = 0; c < ys[1]; c++)
      for (int64_t h = 0; h < ys[2]; h++)
        for (int64_t w = 0; w < ys[3]; w++) {
          float va = a[bcast_at(as, n, c, h, w)], vb = b[bcast_at(bs, n, c, h, w)], v;
          switch (op) {
          case CLSEG_BINARY_ADD: v = va + vb; break;
          case CLSEG_BINARY_SUB: v = va - vb; break;
          case CLSEG_BINARY_MUL: v = va * vb; break;
          case CLSEG_BINARY_DIV: v = va / vb; break;
          default: v = NAN; break;
          }
          y[ref_at(ys, n, c, h, w)] = ref_act1(v, act);
        }
  return 0;
}

void ref_linear(const float *x, const int64_t xs[4], const float *w, int64_t m, const float *bias,
                const clseg_activation *act, float *y) {
  int64_t k = xs[1] * xs[2] * xs[3];
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t o = 0; o < m; o++) {
      double acc = bias ? bias[o] : 0.0;
      for (int64_t i = 0; i < k; i++)
        acc += (double)x[n * k + i] * w[o * k + i];
      y[n * m + o] = ref_act1((float)acc, act);
    }
}

void ref_prelu(const float *x, const int64_t xs[4], const float *slope, int64_t ns, float *y) {
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t c = 0; c < xs[1]; c++)
      for (int64_t h = 0; h < xs[2]; h++)
        for (int64_t w = 0; w < xs[3]; w++) {
          const size_t i = ref_at(xs, n, c, h, w);
          y[i] = x[i] < 0 ? slope[ns == 1 ? 0 : c] * x[i] : x[i];
        }
}
