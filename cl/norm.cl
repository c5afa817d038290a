/* Softmax and normalisation (LayerNorm, GroupNorm) along one run of dims, on the (outer, n, inner) view of
 * rows.h: norm_<op> is the column form (one work-item per row), norm_<op>_wg the work-group form (LOCAL
 * work-items per row). Every form reads an element before it writes it, and only the work-item that writes an
 * element reads it afterwards, so y may be x. */
#include "rows.h"

/* Sums over the row at x (n elements inner apart) of d = x - shift and of d * d, in blocks of ROW_BLOCK. */
ROW_INLINE float2 col_moments(__global const float *x, const int n, const int inner, const float shift) {
  float2 total = 0.0f;
  for (int j0 = 0; j0 < n; j0 += ROW_BLOCK) {
    const int end = min(n, j0 + ROW_BLOCK);
    float2 part = 0.0f;
    for (int j = j0; j < end; j++) {
      const float d = x[j * inner] - shift;
      part += (float2)(d, d * d);
    }
    total += part;
  }
  return total;
}

/* Stable softmax: exponents of x - max, so that large logits do not overflow; log: x - max - log(sum).
 * The exponents go to y in the pass that sums them and are scaled in the last: one exp per element. */
ROW_INLINE void softmax_column(__global const float *src, __global float *dst, const int n, const int inner,
                               const int log_out) {
  float m = src[0];
  for (int j = 1; j < n; j++)
    m = fmax(m, src[j * inner]);
  float s = 0.0f;
  for (int j0 = 0; j0 < n; j0 += ROW_BLOCK) {
    const int end = min(n, j0 + ROW_BLOCK);
    float part = 0.0f;
    for (int j = j0; j < end; j++) {
      const float e = exp(src[j * inner] - m);
      part += e;
      if (!log_out)
        dst[j * inner] = e; /* scaled below: one exp per element */
    }
    s += part;
  }
  const float ls = log(s), inv = 1.0f / s;
  for (int j = 0; j < n; j++)
    dst[j * inner] = log_out ? src[j * inner] - m - ls : dst[j * inner] * inv;
}

__kernel void norm_softmax(__global const float *x, const int x_off, __global float *y, const int y_off,
                           const int outer, const int n, const int inner, const int log_out) {
  int base;
  if (row_column(outer, n, inner, &base))
    softmax_column(x + x_off + base, y + y_off + base, n, inner, log_out);
}

ROW_INLINE float hmax16(const float16 v) {
  const float8 a = fmax(v.lo, v.hi);
  const float4 b = fmax(a.lo, a.hi);
  const float2 c = fmax(b.lo, b.hi);
  return fmax(c.x, c.y);
}

ROW_INLINE float hsum16(const float16 v) {
  const float8 a = v.lo + v.hi;
  const float4 b = a.lo + a.hi;
  const float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* A contiguous row (inner 1) in float16 vectors along it, the exponents in 16 lanes at once: softmax over
 * the last dim (attention scores) is bound by exp on a CPU. */
ROW_INLINE void softmax_row16(__global const float *src, __global float *dst, const int n, const int log_out) {
  const int nv = n / 16;
  float16 mv = -INFINITY, sv = 0.0f;
  for (int v = 0; v < nv; v++)
    mv = fmax(mv, vload16(v, src));
  float m = hmax16(mv), s = 0.0f;
  for (int j = nv * 16; j < n; j++)
    m = fmax(m, src[j]);
  for (int v = 0; v < nv; v++) {
    const float16 e = exp(vload16(v, src) - m);
    sv += e;
    if (!log_out)
      vstore16(e, v, dst);
  }
  for (int j = nv * 16; j < n; j++) {
    const float e = exp(src[j] - m);
    s += e;
    if (!log_out)
      dst[j] = e;
  }
  s += hsum16(sv);
  const float ls = log(s), inv = 1.0f / s;
  for (int v = 0; v < nv; v++)
    vstore16(log_out ? vload16(v, src) - m - ls : vload16(v, dst) * inv, v, dst);
  for (int j = nv * 16; j < n; j++)
    dst[j] = log_out ? src[j] - m - ls : dst[j] * inv;
}

/* The float16 forms (VEC=1 rows): 16 neighbouring rows per work-item where inner >= 16, one contiguous row
 * per work-item in vectors along it where inner is 1. */
__kernel void norm_softmax_vec(__global const float *x, const int x_off, __global float *y, const int y_off,
                               const int outer, const int n, const int inner, const int log_out) {
  int o, i0;
  if (!row_vec_column(outer, inner, &o, &i0))
    return;
  __global const float *src = x + x_off + o * n * inner + i0;
  __global float *dst = y + y_off + o * n * inner + i0;
  if (inner == 1) {
    softmax_row16(src, dst, n, log_out);
    return;
  }
  if (i0 + 16 > inner) {
    for (int i = 0; i0 + i < inner; i++)
      softmax_column(src + i, dst + i, n, inner, log_out);
    return;
  }
  float16 m = vload16(0, src), s = 0.0f;
  for (int j = 1; j < n; j++)
    m = fmax(m, vload16(0, src + j * inner));
  for (int j0 = 0; j0 < n; j0 += ROW_BLOCK) {
    const int end = min(n, j0 + ROW_BLOCK);
    float16 part = 0.0f;
    for (int j = j0; j < end; j++) {
      const float16 e = exp(vload16(0, src + j * inner) - m);
      part += e;
      if (!log_out)
        vstore16(e, 0, dst + j * inner);
    }
    s += part;
  }
  const float16 ls = log(s), inv = 1.0f / s;
  for (int j = 0; j < n; j++)
    vstore16(log_out ? vload16(0, src + j * inner) - m - ls : vload16(0, dst + j * inner) * inv, 0, dst + j * inner);
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
norm_softmax_wg(__global const float *x, const int x_off, __global float *y, const int y_off, const int outer,
                const int n, const int inner, const int log_out) {
  __local float buf[LOCAL];
  int o;
  const int base = row_group(n, inner, &o), lid = (int)get_local_id(0);
  __global const float *src = x + x_off + base;
  __global float *dst = y + y_off + base;
  float m = -INFINITY;
  for (int j = lid; j < n; j += LOCAL)
    m = fmax(m, src[j * inner]);
  m = row_wg_reduce(m, buf, ROW_MAX);
  float s = 0.0f;
  for (int j = lid; j < n; j += LOCAL) {
    const float e = exp(src[j * inner] - m);
    s += e;
    if (!log_out)
      dst[j * inner] = e; /* each work-item rereads only its own elements */
  }
  s = row_wg_reduce(s, buf, ROW_SUM);
  const float ls = log(s), inv = 1.0f / s;
  for (int j = lid; j < n; j += LOCAL)
    dst[j * inner] = log_out ? src[j * inner] - m - ls : dst[j * inner] * inv;
}

/* y = (x - mean) / sqrt(var + eps) * gamma[p] + beta[p] with the biased variance, by the corrected two-pass
 * algorithm in float (Chan, Golub, LeVeque): the float mean m0 of pass one is off by up to half an ulp of
 * the data, which against a small spread (x = 50 +- 0.01) costs digits; pass two sums d = x - m0 (exact
 * near m0) and d * d, and c = sum(d) / n corrects both the mean (m0 + c) and the variance (mean d^2 - c^2).
 * The parameter of element j of row o is p = ((o % gmod) * n + j) / gdiv: gmod 1, gdiv 1 for LayerNorm
 * (one value per normalised element), gmod groups, gdiv the spatial size for GroupNorm (one per
 * channel). has_gamma / has_beta 0: the buffers are placeholders, 1 and 0 are used. */
ROW_INLINE void norm_write(__global const float *src, __global float *dst, const int n, const int inner, const int j,
                           const float mean, const float c, const float rstd, __global const float *gamma,
                           __global const float *beta, const int has_gamma, const int has_beta, const int pbase,
                           const int gdiv) {
  const int p = (pbase + j) / gdiv;
  const float g = has_gamma ? gamma[p] : 1.0f, b = has_beta ? beta[p] : 0.0f;
  dst[j * inner] = ((src[j * inner] - mean) - c) * rstd * g + b;
}

#define NORM_ARGS                                                                                                      \
  __global const float *x, const int x_off, __global float *y, const int y_off, __global const float *gamma,           \
      const int g_off, __global const float *beta, const int b_off, const int has_gamma, const int has_beta,           \
      const int outer, const int n, const int inner, const int gmod, const int gdiv, const float eps

/* One row (column) of the column form: src / dst at its first element. */
ROW_INLINE void layernorm_column(__global const float *src, __global float *dst, const int n, const int inner,
                                 __global const float *gamma, __global const float *beta, const int has_gamma,
                                 const int has_beta, const int pbase, const int gdiv, const float eps) {
  const float mean = col_moments(src, n, inner, 0.0f).x / (float)n;
  const float2 m = col_moments(src, n, inner, mean);
  const float c = m.x / (float)n, rstd = rsqrt(max(m.y / (float)n - c * c, 0.0f) + eps);
  for (int j = 0; j < n; j++)
    norm_write(src, dst, n, inner, j, mean, c, rstd, gamma, beta, has_gamma, has_beta, pbase, gdiv);
}

__kernel void norm_layernorm(NORM_ARGS) {
  int base;
  if (!row_column(outer, n, inner, &base))
    return;
  const int o = (int)(get_global_id(0) / inner);
  layernorm_column(x + x_off + base, y + y_off + base, n, inner, gamma + g_off, beta + b_off, has_gamma, has_beta,
                   (o % gmod) * n, gdiv, eps);
}

/* Sums over 16 neighbouring rows at x of d = x - shift (and d * d into *sq), blocks of ROW_BLOCK. */
ROW_INLINE float16 vec_moments(__global const float *x, const int n, const int inner, const float16 shift,
                               float16 *sq) {
  float16 total = 0.0f, total2 = 0.0f;
  for (int j0 = 0; j0 < n; j0 += ROW_BLOCK) {
    const int end = min(n, j0 + ROW_BLOCK);
    float16 part = 0.0f, part2 = 0.0f;
    for (int j = j0; j < end; j++) {
      const float16 d = vload16(0, x + j * inner) - shift;
      part += d;
      part2 += d * d;
    }
    total += part;
    total2 += part2;
  }
  *sq = total2;
  return total;
}

/* The column form in float16 vectors along inner (rows with VEC=1, for inner >= 16: the channel LayerNorm
 * of NCHW), one 64-byte line of each normalised plane per load: work-item r owns the 16 neighbouring rows
 * i0 .. i0 + 15 of outer index o; a last, partial vector goes row by row. */
__kernel void norm_layernorm_vec(NORM_ARGS) {
  int o, i0;
  if (!row_vec_column(outer, inner, &o, &i0))
    return;
  const int base = o * n * inner + i0, pbase = (o % gmod) * n;
  if (i0 + 16 > inner) {
    for (int i = 0; i0 + i < inner; i++)
      layernorm_column(x + x_off + base + i, y + y_off + base + i, n, inner, gamma + g_off, beta + b_off, has_gamma,
                       has_beta, pbase, gdiv, eps);
    return;
  }
  __global const float *src = x + x_off + base;
  __global float *dst = y + y_off + base;
  float16 sq;
  const float16 mean = vec_moments(src, n, inner, 0.0f, &sq) / (float)n;
  const float16 c = vec_moments(src, n, inner, mean, &sq) / (float)n;
  const float16 rstd = rsqrt(max(sq / (float)n - c * c, 0.0f) + eps);
  for (int j = 0; j < n; j++) {
    const int p = (pbase + j) / gdiv;
    const float g = has_gamma ? gamma[g_off + p] : 1.0f, b = has_beta ? beta[b_off + p] : 0.0f;
    vstore16(((vload16(0, src + j * inner) - mean) - c) * rstd * g + b, 0, dst + j * inner);
  }
}

__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void norm_layernorm_wg(NORM_ARGS) {
  __local float buf[LOCAL];
  int o;
  const int base = row_group(n, inner, &o), lid = (int)get_local_id(0), pbase = (o % gmod) * n;
  __global const float *src = x + x_off + base;
  float s = 0.0f;
  for (int j = lid; j < n; j += LOCAL)
    s += src[j * inner];
  const float mean = row_wg_reduce(s, buf, ROW_SUM) / (float)n;
  float s2 = 0.0f;
  s = 0.0f;
  for (int j = lid; j < n; j += LOCAL) {
    const float d = src[j * inner] - mean;
    s += d;
    s2 += d * d;
  }
  const float c = row_wg_reduce(s, buf, ROW_SUM) / (float)n;
  const float rstd = rsqrt(max(row_wg_reduce(s2, buf, ROW_SUM) / (float)n - c * c, 0.0f) + eps);
  for (int j = lid; j < n; j += LOCAL)
    norm_write(src, y + y_off + base, n, inner, j, mean, c, rstd, gamma + g_off, beta + b_off, has_gamma, has_beta,
               pbase, gdiv);
}
