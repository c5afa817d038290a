/* Reference soft attention: for each query row, every score scale * q . k + bias in double, the
 * softmax over the whole row (max subtracted once), then the weighted sum of the value rows. */
#include <math.h>
#include <stdlib.h>

#include "ref/ref.h"

static size_t at(const int64_t s[4], int64_t b, int64_t h, int64_t i, int64_t c) {
  return (size_t)(b * s[0] + h * s[1] + i * s[2] + c * s[3]);
}

static void one_row(const ref_attn_dims *d, const float *q, const float *k, const float *v,
                    const float *bias, float *o, int64_t b, int64_t h, int64_t i, double *score) {
  const double scale = d->scale != 0.0f ? (double)d->scale : 1.0 / sqrt((double)d->dk);
  double mx = -INFINITY;
  for (int64_t j = 0; j < d->lk; j++) {
    double dot = 0.0;
    for (int64_t c = 0; c < d->dk; c++)
      dot += (double)q[at(d->q, b, h, i, c)] * (double)k[at(d->k, b, h, j, c)];
    score[j] = scale * dot + (bias ? (double)bias[at(d->bias, b, h, i, j)] : 0.0);
    mx = fmax(mx, score[j]);
  }
  double sum = 0.0;
  for (int64_t j = 0; j < d->lk; j++) {
    score[j] = exp(score[j] - mx);
    sum += score[j];
  }
  for (int64_t c = 0; c < d->dv; c++) {
    double acc = 0.0;
    for (int64_t j = 0; j < d->lk; j++)
      acc += score[j] * (double)v[at(d->v, b, h, j, c)];
    o[at(d->o, b, h, i, c)] = (float)(acc / sum);
  }
}

int ref_attention_fused(const ref_attn_dims *d, const float *q, const float *k, const float *v,
                        const float *bias, float *o) {
  double *score = malloc(sizeof(double) * (size_t)d->lk);
  if (!score)
    return -1;
  for (int64_t b = 0; b < d->batch; b++)
    for (int64_t h = 0; h < d->heads; h++)
      for (int64_t i = 0; i < d->lq; i++)
        one_row(d, q, k, v, bias, o, b, h, i, score);
  free(score);
  return 0;
}
