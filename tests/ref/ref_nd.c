/* Naive references of the ops on tensors of any rank (1 to CLSEG_MAX_RANK): matmul, transpose,
 * narrow, expand, the broadcasting binary ops and the unary ops. Every output element is found
 * from its multi-index, one at a time, with no collapsing of dims. */
#include <math.h>
#include <string.h>

#include "ref.h"

size_t ref_nd_count(int rank, const int64_t *dims) {
  size_t n = 1;
  for (int d = 0; d < rank; d++)
    n *= (size_t)dims[d];
  return n;
}

/* The multi-index of flat index i in dims (C order). */
static void unflatten(size_t i, int rank, const int64_t *dims, int64_t *idx) {
  for (int d = rank - 1; d >= 0; d--) {
    idx[d] = (int64_t)(i % (size_t)dims[d]);
    i /= (size_t)dims[d];
  }
}

/* The flat offset in a tensor of rank r and dims, right-aligned against an index of rank yr, with
 * broadcast (size 1) dims read at 0. */
static size_t bcast_at(int r, const int64_t *dims, int yr, const int64_t *idx) {
  size_t off = 0;
  for (int d = 0; d < r; d++) {
    const int64_t i = idx[yr - r + d];
    off = off * (size_t)dims[d] + (size_t)(dims[d] == 1 ? 0 : i);
  }
  return off;
}

void ref_matmul(const float *a, int ar, const int64_t *ad, const float *b, int br,
                const int64_t *bd, const clseg_matmul_params *p, const float *bias, float *y,
                float *absum, int yr, const int64_t *yd) {
  const int64_t m = yd[yr - 2], n = yd[yr - 1];
  const int64_t k = p->trans_a ? ad[ar - 2] : ad[ar - 1];
  const float alpha = p->alpha != 0.0f ? p->alpha : 1.0f;
  int64_t idx[CLSEG_MAX_RANK];
  const size_t count = ref_nd_count(yr, yd);
  for (size_t i = 0; i < count; i++) {
    unflatten(i, yr, yd, idx);
    const int64_t row = idx[yr - 2], col = idx[yr - 1];
    /* the batch offsets: the matrix dims set to 0 */
    idx[yr - 2] = idx[yr - 1] = 0;
    const float *am = a + bcast_at(ar - 2, ad, yr - 2, idx) * (size_t)(m * k);
    const float *bm = b + bcast_at(br - 2, bd, yr - 2, idx) * (size_t)(k * n);
    double acc = 0.0, mag = 0.0;
    for (int64_t j = 0; j < k; j++) {
      const double va = p->trans_a ? am[j * m + row] : am[row * k + j];
      const double vb = p->trans_b ? bm[col * k + j] : bm[j * n + col];
      acc += va * vb;
      mag += fabs(va * vb);
    }
    y[i] = (float)(alpha * acc + (bias ? bias[col] : 0.0));
    if (absum)
      absum[i] = (float)(fabs(alpha) * mag + (bias ? fabs(bias[col]) : 0.0));
  }
}

void ref_transpose(const float *x, int rank, const int64_t *xd, const int *perm, float *y) {
  int64_t yd[CLSEG_MAX_RANK], idx[CLSEG_MAX_RANK], xi[CLSEG_MAX_RANK];
  for (int d = 0; d < rank; d++)
    yd[d] = xd[perm[d]];
  const size_t count = ref_nd_count(rank, xd);
  for (size_t i = 0; i < count; i++) {
    unflatten(i, rank, yd, idx);
    for (int d = 0; d < rank; d++)
      xi[perm[d]] = idx[d];
    size_t off = 0;
    for (int d = 0; d < rank; d++)
      off = off * (size_t)xd[d] + (size_t)xi[d];
    y[i] = x[off];
  }
}

void ref_narrow(const float *x, int rank, const int64_t *xd, int axis, int64_t start, float *y,
                const int64_t *yd) {
  int64_t idx[CLSEG_MAX_RANK];
  const size_t count = ref_nd_count(rank, yd);
  for (size_t i = 0; i < count; i++) {
    unflatten(i, rank, yd, idx);
    idx[axis] += start;
    size_t off = 0;
    for (int d = 0; d < rank; d++)
      off = off * (size_t)xd[d] + (size_t)idx[d];
    y[i] = x[off];
  }
}

void ref_expand(const float *x, int xr, const int64_t *xd, float *y, int yr, const int64_t *yd) {
  int64_t idx[CLSEG_MAX_RANK];
  const size_t count = ref_nd_count(yr, yd);
  for (size_t i = 0; i < count; i++) {
    unflatten(i, yr, yd, idx);
    y[i] = x[bcast_at(xr, xd, yr, idx)];
  }
}

static float binary1(clseg_binary_op op, float a, float b) {
  switch (op) {
  case CLSEG_BINARY_SUB: return a - b;
  case CLSEG_BINARY_MUL: return a * b;
  case CLSEG_BINARY_DIV: return a / b;
  case CLSEG_BINARY_POW: return powf(a, b);
  case CLSEG_BINARY_MAX: return fmaxf(a, b);
  case CLSEG_BINARY_MIN: return fminf(a, b);
  default: return a + b;
  }
}

void ref_binary_nd(clseg_binary_op op, const float *a, int ar, const int64_t *ad, const float *b,
                   int br, const int64_t *bd, const clseg_activation *act, float *y, int yr,
                   const int64_t *yd) {
  int64_t idx[CLSEG_MAX_RANK];
  const size_t count = ref_nd_count(yr, yd);
  for (size_t i = 0; i < count; i++) {
    unflatten(i, yr, yd, idx);
    const float v = binary1(op, a[bcast_at(ar, ad, yr, idx)], b[bcast_at(br, bd, yr, idx)]);
    y[i] = ref_act1(v, act);
  }
}

void ref_unary(clseg_unary_op op, const float *x, size_t n, float *y) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    switch (op) {
    case CLSEG_UNARY_ERF: y[i] = (float)erf(v); break;
    case CLSEG_UNARY_SQRT: y[i] = (float)sqrt(v); break;
    case CLSEG_UNARY_EXP: y[i] = (float)exp(v); break;
    case CLSEG_UNARY_LOG: y[i] = (float)log(v); break;
    case CLSEG_UNARY_NEG: y[i] = (float)-v; break;
    case CLSEG_UNARY_RECIPROCAL: y[i] = (float)(1.0 / v); break;
    default: y[i] = (float)fabs(v); break;
    }
  }
}
