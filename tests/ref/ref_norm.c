/* Naive references of the reductions along a run of dims (softmax, layernorm, groupnorm,
 * reduce_axes) on arrays of any rank, in double: every element's statistics slot found from its
 * coordinates, so nothing here shares the kernels' (outer, n, inner) view. */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

size_t ref_count_nd(const int64_t *dims, int rank) {
  size_t n = 1;
  for (int d = 0; d < rank; d++)
    n *= (size_t)dims[d];
  return n;
}

/* Flat element e's slot (its index with the dims first .. first + count - 1 set to 0, in the
 * keepdims shape) and its index within those dims. */
static void ref_slot(size_t e, const int64_t *dims, int rank, int first, int count, size_t *slot,
                     size_t *within) {
  int64_t coord[8];
  for (int d = rank - 1; d >= 0; d--) {
    coord[d] = (int64_t)(e % (size_t)dims[d]);
    e /= (size_t)dims[d];
  }
  size_t s = 0, w = 0;
  for (int d = 0; d < rank; d++) {
    const int red = d >= first && d < first + count;
    s = s * (size_t)(red ? 1 : dims[d]) + (size_t)(red ? 0 : coord[d]);
    if (red)
      w = w * (size_t)dims[d] + (size_t)coord[d];
  }
  *slot = s;
  if (within)
    *within = w;
}

/* Per slot: max, min, sum and count of x; sq: sum of (x - mean)^2 once means are known. */
typedef struct {
  double max, min, sum, sq, count;
} ref_stat;

static ref_stat *ref_stats(const float *x, const int64_t *dims, int rank, int first, int count,
                           size_t *nslots) {
  const size_t total = ref_count_nd(dims, rank);
  size_t slots = 1;
  for (int d = 0; d < rank; d++)
    slots *= d >= first && d < first + count ? 1 : (size_t)dims[d];
  ref_stat *st = calloc(slots, sizeof *st);
  if (!st)
    return NULL;
  for (size_t i = 0; i < slots; i++)
    st[i].max = -INFINITY, st[i].min = INFINITY;
  for (size_t e = 0; e < total; e++) {
    size_t s;
    ref_slot(e, dims, rank, first, count, &s, NULL);
    st[s].max = fmax(st[s].max, x[e]);
    st[s].min = fmin(st[s].min, x[e]);
    st[s].sum += x[e];
    st[s].count += 1.0;
  }
  for (size_t e = 0; e < total; e++) {
    size_t s;
    ref_slot(e, dims, rank, first, count, &s, NULL);
    const double d = x[e] - st[s].sum / st[s].count;
    st[s].sq += d * d;
  }
  *nslots = slots;
  return st;
}

int ref_reduce_axes(const float *x, const int64_t *dims, int rank, clseg_reduce_kind kind,
                    int first, int count, float *y) {
  size_t slots;
  ref_stat *st = ref_stats(x, dims, rank, first, count, &slots);
  if (!st)
    return -1;
  for (size_t s = 0; s < slots; s++) {
    const ref_stat *t = &st[s];
    y[s] = (float)(kind == CLSEG_REDUCE_MEAN  ? t->sum / t->count
                   : kind == CLSEG_REDUCE_SUM ? t->sum
                   : kind == CLSEG_REDUCE_MAX ? t->max
                                              : t->min);
  }
  free(st);
  return 0;
}

int ref_softmax_axis(const float *x, const int64_t *dims, int rank, int axis, int log_out,
                     float *y) {
  size_t slots;
  ref_stat *st = ref_stats(x, dims, rank, axis, 1, &slots);
  if (!st)
    return -1;
  const size_t total = ref_count_nd(dims, rank);
  double *den = calloc(slots, sizeof *den);
  if (!den) {
    free(st);
    return -1;
  }
  for (size_t e = 0; e < total; e++) {
    size_t s;
    ref_slot(e, dims, rank, axis, 1, &s, NULL);
    den[s] += exp((double)x[e] - st[s].max);
  }
  for (size_t e = 0; e < total; e++) {
    size_t s;
    ref_slot(e, dims, rank, axis, 1, &s, NULL);
    const double z = (double)x[e] - st[s].max;
    y[e] = (float)(log_out ? z - log(den[s]) : exp(z) / den[s]);
  }
  free(den);
  free(st);
  return 0;
}

int ref_layernorm_axes(const float *x, const int64_t *dims, int rank, int first, int count,
                       const float *gamma, const float *beta, float eps, float *y) {
  size_t slots;
  ref_stat *st = ref_stats(x, dims, rank, first, count, &slots);
  if (!st)
    return -1;
  const size_t total = ref_count_nd(dims, rank);
  const double e = eps == 0.0f ? 1e-5 : (double)eps;
  for (size_t i = 0; i < total; i++) {
    size_t s, w;
    ref_slot(i, dims, rank, first, count, &s, &w);
    const double mean = st[s].sum / st[s].count, var = st[s].sq / st[s].count;
    const double v = ((double)x[i] - mean) / sqrt(var + e);
    y[i] = (float)(v * (gamma ? gamma[w] : 1.0) + (beta ? beta[w] : 0.0));
  }
  free(st);
  return 0;
}

int ref_groupnorm(const float *x, const int64_t *dims, int rank, int groups, float eps,
                  const float *gamma, const float *beta, float *y) {
  if (rank < 2 || groups < 1 || dims[1] % groups != 0)
    return -1;
  /* x [N, G, C/G, spatial...] as rank + 1 dims, normalised over dims 2 .. the last. */
  int64_t g[8];
  g[0] = dims[0];
  g[1] = groups;
  g[2] = dims[1] / groups;
  for (int d = 2; d < rank; d++)
    g[d + 1] = dims[d];
  size_t spatial = 1;
  for (int d = 2; d < rank; d++)
    spatial *= (size_t)dims[d];
  const size_t total = ref_count_nd(dims, rank), nc = (size_t)dims[1];
  if (ref_layernorm_axes(x, g, rank + 1, 2, rank - 1, NULL, NULL, eps, y) != 0)
    return -1;
  for (size_t i = 0; i < total; i++) {
    const size_t c = (i / spatial) % nc;
    y[i] = (float)((double)y[i] * (gamma ? gamma[c] : 1.0) + (beta ? beta[c] : 0.0));
  }
  return 0;
}
