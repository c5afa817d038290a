/* Post-processing of a network's output: per-pixel class decision (threshold or argmax) and
 * probabilities, from output values sampled bilinearly at image resolution. */
#include "segment_post.h"

#include <math.h>
#include <stdlib.h>

#define MAX_CLASSES 256

void clseg__post_pixel(const float *v, const clseg__post_params *p, uint8_t *cls, float *probs) {
  if (p->k == 1) {
    float pr = p->is_prob ? v[0] : 1.0f / (1.0f + expf(-v[0]));
    *cls = pr >= p->threshold;
    if (probs)
      probs[0] = pr;
    return;
  }
  int best = 0;
  for (int c = 1; c < p->k; c++)
    if (v[c] > v[best])
      best = c; /* argmax of logits equals argmax of their softmax */
  *cls = (uint8_t)best;
  if (!probs)
    return;
  if (p->is_prob) {
    for (int c = 0; c < p->k; c++)
      probs[c] = v[c];
    return;
  }
  double sum = 0;
  for (int c = 0; c < p->k; c++)
    sum += (probs[c] = expf(v[c] - v[best]));
  for (int c = 0; c < p->k; c++)
    probs[c] = (float)(probs[c] / sum);
}

/* Source index and weight of output coordinate d along an axis of `in` samples resized to `out`. */
static void axis(int d, int in, int out, int *i0, int *i1, float *f) {
  float s = ((float)d + 0.5f) * (float)in / (float)out - 0.5f;
  if (s < 0.0f)
    s = 0.0f;
  *i0 = (int)s;
  if (*i0 > in - 1)
    *i0 = in - 1;
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
  *f = s - (float)*i0;
}

void clseg__post_resize(const float *out, int h, int w, int W, int H, const clseg__post_params *p,
                        uint8_t *mask, float *probs) {
  float v[MAX_CLASSES], pr[MAX_CLASSES];
  size_t plane = (size_t)h * (size_t)w, big = (size_t)W * (size_t)H;
  int k = p->k > MAX_CLASSES ? MAX_CLASSES : p->k;
  for (int y = 0; y < H; y++) {
    int y0, y1;
    float fy;
    axis(y, h, H, &y0, &y1, &fy);
    for (int x = 0; x < W; x++) {
      int x0, x1;
      float fx;
      axis(x, w, W, &x0, &x1, &fx);
      for (int c = 0; c < k; c++) {
        const float *o = out + (size_t)c * plane;
        float top = o[y0 * w + x0] + fx * (o[y0 * w + x1] - o[y0 * w + x0]);
        float bot = o[y1 * w + x0] + fx * (o[y1 * w + x1] - o[y1 * w + x0]);
        v[c] = top + fy * (bot - top);
      }
      size_t i = (size_t)y * (size_t)W + (size_t)x;
      clseg__post_pixel(v, p, &mask[i], probs ? pr : NULL);
      for (int c = 0; probs && c < k; c++)
        probs[(size_t)c * big + i] = pr[c];
    }
  }
}
