/* Reference attention blocks (CBAM channel and spatial gates, SE, scSE, additive attention gate),
 * built from the other references step by step as the papers describe them. */
#include <math.h>
#include <stdlib.h>

#include "ref/ref.h"

static double sigmoid(double v) {
  return 1.0 / (1.0 + exp(-v));
}

/* out[C] = w2 relu(w1 v + b1) + b2 with w1 [r, C], w2 [C, r]; hidden holds r doubles. */
static void gate_mlp(const double *v, int64_t c, int64_t r, const float *w1, const float *b1,
                     const float *w2, const float *b2, double *hidden, double *out) {
  for (int64_t j = 0; j < r; j++) {
    double acc = b1 ? b1[j] : 0.0;
    for (int64_t i = 0; i < c; i++)
      acc += w1[j * c + i] * v[i];
    hidden[j] = acc > 0.0 ? acc : 0.0;
  }
  for (int64_t i = 0; i < c; i++) {
    double acc = b2 ? b2[i] : 0.0;
    for (int64_t j = 0; j < r; j++)
      acc += w2[i * r + j] * hidden[j];
    out[i] = acc;
  }
}

/* Channel gate shared by CBAM (use_max) and SE: y = x * sigmoid(mlp(avg) [+ mlp(max)]). */
static int channel_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                        const float *w2, const float *b2, int64_t r, int use_max, float *y) {
  int64_t c = xs[1], hw = xs[2] * xs[3];
  double *buf = malloc(sizeof(double) * (size_t)(4 * c + r));
  if (!buf)
    return -1;
  double *avg = buf, *mx = buf + c, *s = buf + 2 * c, *s2 = buf + 3 * c, *hidden = buf + 4 * c;
  for (int64_t n = 0; n < xs[0]; n++) {
    for (int64_t ch = 0; ch < c; ch++) {
      const float *p = x + (size_t)((n * c + ch) * hw);
      avg[ch] = 0.0;
      mx[ch] = -INFINITY;
      for (int64_t i = 0; i < hw; i++) {
        avg[ch] += p[i];
        mx[ch] = fmax(mx[ch], p[i]);
      }
      avg[ch] /= (double)hw;
    }
    gate_mlp(avg, c, r, w1, b1, w2, b2, hidden, s);
    if (use_max) {
      gate_mlp(mx, c, r, w1, b1, w2, b2, hidden, s2);
      for (int64_t ch = 0; ch < c; ch++)
        s[ch] += s2[ch];
    }
    for (int64_t ch = 0; ch < c; ch++) {
      double gte = sigmoid(s[ch]);
      size_t base = (size_t)((n * c + ch) * hw);
      for (int64_t i = 0; i < hw; i++)
        y[base + (size_t)i] = (float)(x[base + (size_t)i] * gte);
    }
  }
  free(buf);
  return 0;
}

int ref_cbam_channel_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                          const float *w2, const float *b2, int64_t r, float *y) {
  return channel_gate(x, xs, w1, b1, w2, b2, r, 1, y);
}

int ref_se_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                const float *w2, const float *b2, int64_t r, float *y) {
  return channel_gate(x, xs, w1, b1, w2, b2, r, 0, y);
}

int ref_scse_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                  const float *w2, const float *b2, int64_t r, const float *ws, const float *bs,
                  float *y) {
  if (channel_gate(x, xs, w1, b1, w2, b2, r, 0, y) != 0)
    return -1;
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t h = 0; h < xs[2]; h++)
      for (int64_t w = 0; w < xs[3]; w++) {
        double s = bs ? bs[0] : 0.0;
        for (int64_t c = 0; c < xs[1]; c++)
          s += (double)ws[c] * x[ref_at(xs, n, c, h, w)];
        double gte = sigmoid(s);
        for (int64_t c = 0; c < xs[1]; c++) {
          size_t i = ref_at(xs, n, c, h, w);
          y[i] = (float)(y[i] + x[i] * gte);
        }
      }
  return 0;
}

/* pooled [N, 2, H, W]: channel 0 max over C, channel 1 mean over C (the original CBAM ChannelPool
 * order). */
static void channel_pool(const float *x, const int64_t xs[4], float *pooled) {
  const int64_t ps[4] = {xs[0], 2, xs[2], xs[3]};
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t h = 0; h < xs[2]; h++)
      for (int64_t w = 0; w < xs[3]; w++) {
        double mx = -INFINITY, sum = 0.0;
        for (int64_t c = 0; c < xs[1]; c++) {
          double v = x[ref_at(xs, n, c, h, w)];
          mx = fmax(mx, v);
          sum += v;
        }
        pooled[ref_at(ps, n, 0, h, w)] = (float)mx;
        pooled[ref_at(ps, n, 1, h, w)] = (float)(sum / (double)xs[1]);
      }
}

int ref_cbam_spatial_gate(const float *x, const int64_t xs[4], const float *w, int64_t k,
                          const float *bias, const ref_bn *bn, float *y) {
  const int64_t ps[4] = {xs[0], 2, xs[2], xs[3]}, ws[4] = {1, 2, k, k};
  const int64_t ss[4] = {xs[0], 1, xs[2], xs[3]};
  size_t hw = (size_t)(xs[2] * xs[3]);
  /* One buffer: pooled [N, 2, H, W] then the conv output s [N, 1, H, W]. */
  float *buf = malloc(sizeof(float) * 3 * (size_t)xs[0] * hw);
  if (!buf)
    return -1;
  float *pooled = buf, *s = buf + 2 * (size_t)xs[0] * hw;
  channel_pool(x, xs, pooled);
  int half = (int)(k / 2);
  clseg_conv2d_params cp = {
      .pad_top = half, .pad_left = half, .pad_bottom = half, .pad_right = half};
  ref_conv2d(pooled, ps, w, ws, bias, NULL, &cp, s, ss);
  if (bn && bn->gamma) {
    const clseg_activation none = {CLSEG_ACT_NONE, 0.0f, 0.0f};
    ref_batchnorm(s, ss, bn->gamma, bn->beta, bn->mean, bn->var, bn->eps, &none, s);
  }
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t c = 0; c < xs[1]; c++)
      for (size_t i = 0; i < hw; i++) {
        size_t at = ref_at(xs, n, c, 0, 0) + i;
        y[at] = (float)(x[at] * sigmoid(s[(size_t)n * hw + i]));
      }
  free(buf);
  return 0;
}
