/* Attention blocks, fused: CBAM channel and spatial gates, SE, scSE and the additive attention gate.
 * Every size and offset is a kernel argument, so one program (for the device's tuning row) serves every
 * call. Work-items own 16 pixels along a contiguous row as one float16 (PoCL vectorizes only explicit vector
 * types); tails go lane by lane. */
#include "common.h"

/* Work-group size of attention_mlp (one work-group per image). */
#ifndef MLP_WG
#define MLP_WG 64
#endif
/* Work-group size (dimension 0) of every other kernel: the host rounds dimension 0 up to it and the
 * kernels skip the excess work-items. */
#ifndef LOCAL
#define LOCAL 1
#endif

inline float sigmoid1(float v) {
  return 1.0f / (1.0f + exp(-v));
}
inline float16 sigmoid16(float16 v) {
  return 1.0f / (1.0f + exp(-v));
}

inline float hsum16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

inline float hmax16(float16 v) {
  float8 a = fmax(v.lo, v.hi);
  float4 b = fmax(a.lo, a.hi);
  float2 c = fmax(b.lo, b.hi);
  return fmax(c.x, c.y);
}

/* cnt (1..16) floats from p; lanes past cnt hold fill. */
inline float16 load16(__global const float *p, int cnt, float fill) {
  if (cnt >= 16)
    return vload16(0, p);
  float t[16];
  for (int i = 0; i < 16; i++)
    t[i] = i < cnt ? p[i] : fill;
  return vload16(0, t);
}

inline void store16(__global float *p, float16 v, int cnt) {
  if (cnt >= 16) {
    vstore16(v, 0, p);
    return;
  }
  float t[16];
  vstore16(v, 0, t);
  for (int i = 0; i < cnt; i++)
    p[i] = t[i];
}

/* Columns start..start+15 of a row of n floats, zero outside 0..n-1. */
inline float16 load16_padded(__global const float *row, int start, int n) {
  if (start >= 0 && start + 16 <= n)
    return vload16(0, row + start);
  float t[16];
  for (int i = 0; i < 16; i++)
    t[i] = start + i >= 0 && start + i < n ? row[start + i] : 0.0f;
  return vload16(0, t);
}

/* PyTorch's bilinear source coordinate, align_corners false: i0, i1 and the weight of i1. */
inline void bilinear_src(int dst, float scale, int in, int *i0, int *i1, float *l) {
  float s = fmax(((float)dst + 0.5f) * scale - 0.5f, 0.0f);
  *i0 = min((int)s, in - 1);
  *i1 = min(*i0 + 1, in - 1);
  *l = s - (float)*i0;
}

/* Bilinear samples of map [hin, win] at output row `row`, columns c0..c0+cnt-1 of an output [hout, wout]. */
inline float16 bilinear16(__global const float *map, int hin, int win, int hout, int wout, int row, int c0, int cnt) {
  if (hin == hout && win == wout)
    return load16(map + row * win + c0, cnt, 0.0f);
  int y0, y1;
  float ly;
  bilinear_src(row, (float)hin / (float)hout, hin, &y0, &y1, &ly);
  const float sx = (float)win / (float)wout;
  __global const float *r0 = map + y0 * win, *r1 = map + y1 * win;
  float t[16];
  for (int i = 0; i < 16; i++) {
    int x0 = 0, x1 = 0;
    float lx = 0.0f;
    if (i < cnt)
      bilinear_src(c0 + i, sx, win, &x0, &x1, &lx);
    float top = (1.0f - lx) * r0[x0] + lx * r0[x1];
    float bot = (1.0f - lx) * r1[x0] + lx * r1[x1];
    t[i] = (1.0f - ly) * top + ly * bot;
  }
  return vload16(0, t);
}

/* ---- channel gates (CBAM channel, SE, the channel half of scSE) ---- */

/* Partial sum and max of chunk p of row `row` (rows of hw floats): part[(row * parts + p) * 2 + {0, 1}]. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_pool(__global const float *x, const int x_off, const int hw, const int chunk, const int parts,
               __global float *part, const int part_off) {
  const int p = get_global_id(0), row = get_global_id(1);
  if (p >= parts)
    return;
  const int end = min((p + 1) * chunk, hw);
  __global const float *src = x + x_off + row * hw;
  float16 s = 0.0f, m = -INFINITY;
  int i = p * chunk;
  for (; i + 16 <= end; i += 16) {
    const float16 v = vload16(0, src + i);
    s += v;
    m = fmax(m, v);
  }
  float ss = hsum16(s), mm = hmax16(m);
  for (; i < end; i++) {
    ss += src[i];
    mm = fmax(mm, src[i]);
  }
  part[part_off + (row * parts + p) * 2] = ss;
  part[part_off + (row * parts + p) * 2 + 1] = mm;
}

/* One work-group per image n: pooled avg/max from the partials, the shared MLP, sigmoid: gate[n, c].
 * With use_max the two MLP branches share w2: w2 (relu(h_avg) + relu(h_max)) + 2 b2. work holds
 * 2C + R floats per image. */
__kernel __attribute__((reqd_work_group_size(MLP_WG, 1, 1))) void
attention_mlp(__global const float *part, const int part_off, const int parts, const int c, const int r,
              const float inv_hw, const int use_max, __global const float *w1, const int w1_off,
              __global const float *b1, const int b1_off, const int has_b1, __global const float *w2, const int w2_off,
              __global const float *b2, const int b2_off, const int has_b2, __global float *work, const int work_off,
              __global float *gate, const int gate_off) {
  const int lid = get_local_id(0), n = get_global_id(1);
  __global float *avg = work + work_off + n * (2 * c + r), *mx = avg + c, *hid = avg + 2 * c;
  for (int ch = lid; ch < c; ch += MLP_WG) {
    __global const float *pp = part + part_off + (n * c + ch) * parts * 2;
    float s = 0.0f, m = -INFINITY;
    for (int p = 0; p < parts; p++) {
      s += pp[2 * p];
      m = fmax(m, pp[2 * p + 1]);
    }
    avg[ch] = s * inv_hw;
    mx[ch] = m;
  }
  barrier(CLK_GLOBAL_MEM_FENCE);
  for (int j = lid; j < r; j += MLP_WG) {
    const float b = has_b1 ? b1[b1_off + j] : 0.0f;
    float a = b, m = b;
    __global const float *wr = w1 + w1_off + j * c;
    for (int i = 0; i < c; i++) {
      a += wr[i] * avg[i];
      m += wr[i] * mx[i];
    }
    hid[j] = fmax(a, 0.0f) + (use_max ? fmax(m, 0.0f) : 0.0f);
  }
  barrier(CLK_GLOBAL_MEM_FENCE);
  for (int ch = lid; ch < c; ch += MLP_WG) {
    float acc = has_b2 ? b2[b2_off + ch] * (use_max ? 2.0f : 1.0f) : 0.0f;
    __global const float *wr = w2 + w2_off + ch * r;
    for (int j = 0; j < r; j++)
      acc += wr[j] * hid[j];
    gate[gate_off + n * c + ch] = sigmoid1(acc);
  }
}

/* y[row, :] = x[row, :] * gate[row] for rows of hw floats; each work-item does `span` floats (16 | span). */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_scale(__global const float *x, const int x_off, const int hw, const int span, __global const float *gate,
                const int gate_off, __global float *y, const int y_off) {
  const int row = get_global_id(1), end = min((int)get_global_id(0) * span + span, hw);
  const float g = gate[gate_off + row];
  for (int i = get_global_id(0) * span; i < end; i += 16) {
    const int cnt = min(16, end - i);
    store16(y + y_off + row * hw + i, load16(x + x_off + row * hw + i, cnt, 0.0f) * g, cnt);
  }
}

/* scSE: y = x * (gate[n, c] + sigmoid(ws . x[n, :, p] + bs)) for 16 pixels p of image n. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_scse_apply(__global const float *x, const int x_off, const int c, const int hw, __global const float *gate,
                     const int gate_off, __global const float *ws, const int ws_off, __global const float *bs,
                     const int bs_off, const int has_bs, __global float *y, const int y_off) {
  const int i = get_global_id(0) * 16, n = get_global_id(1), cnt = min(16, hw - i);
  if (cnt <= 0)
    return;
  const int base = n * c * hw + i;
  float16 s = has_bs ? bs[bs_off] : 0.0f;
  for (int ch = 0; ch < c; ch++)
    s += ws[ws_off + ch] * load16(x + x_off + base + ch * hw, cnt, 0.0f);
  s = sigmoid16(s);
  for (int ch = 0; ch < c; ch++) {
    const float16 v = load16(x + x_off + base + ch * hw, cnt, 0.0f);
    store16(y + y_off + base + ch * hw, v * (gate[gate_off + n * c + ch] + s), cnt);
  }
}

/* ---- CBAM spatial gate ---- */

/* pooled [N, 2, hw]: channel 0 the max over C, channel 1 the mean, 16 pixels per work-item. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void attention_chpool(__global const float *x,
                                                                                  const int x_off, const int c,
                                                                                  const int hw, __global float *pooled,
                                                                                  const int pooled_off) {
  const int i = get_global_id(0) * 16, n = get_global_id(1), cnt = min(16, hw - i);
  if (cnt <= 0)
    return;
  float16 m = -INFINITY, s = 0.0f;
  for (int ch = 0; ch < c; ch++) {
    const float16 v = load16(x + x_off + (n * c + ch) * hw + i, cnt, 0.0f);
    m = fmax(m, v);
    s += v;
  }
  store16(pooled + pooled_off + n * 2 * hw + i, m, cnt);
  store16(pooled + pooled_off + n * 2 * hw + hw + i, s * (1.0f / (float)c), cnt);
}

/* aff[i] = gamma / sqrt(var + eps), aff[c + i] = beta - mean * aff[i]: an inference batchnorm as
 * scale and shift. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_bn_fold(__global const float *gamma, const int g_off, __global const float *beta, const int b_off,
                  __global const float *mean, const int m_off, __global const float *var, const int v_off,
                  const float eps, const int c, __global float *aff, const int aff_off) {
  const int i = get_global_id(0);
  if (i >= c)
    return;
  const float sc = gamma[g_off + i] / sqrt(var[v_off + i] + eps);
  aff[aff_off + i] = sc;
  aff[aff_off + c + i] = beta[b_off + i] - mean[m_off + i] * sc;
}

/* y = x * sigmoid(aff(conv_KxK(pooled) + bias)) for 16 pixels of row `row`; 'same' zero padding. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_spatial_apply(__global const float *x, const int x_off, const int c, const int h, const int w,
                        __global const float *pooled, const int pooled_off, const int k, __global const float *wk,
                        const int wk_off, __global const float *bias, const int bias_off, const int has_bias,
                        __global const float *aff, const int aff_off, const int has_aff, __global float *y,
                        const int y_off) {
  const int c0 = get_global_id(0) * 16, row = get_global_id(1), n = get_global_id(2);
  const int cnt = min(16, w - c0), pad = k / 2, hw = h * w;
  if (cnt <= 0)
    return;
  float16 s = has_bias ? bias[bias_off] : 0.0f;
  for (int ch = 0; ch < 2; ch++) {
    __global const float *plane = pooled + pooled_off + (n * 2 + ch) * hw;
    for (int ky = 0; ky < k; ky++) {
      const int iy = row + ky - pad;
      if (iy < 0 || iy >= h)
        continue;
      __global const float *wr = wk + wk_off + (ch * k + ky) * k;
      for (int kx = 0; kx < k; kx++)
        s += wr[kx] * load16_padded(plane + iy * w, c0 + kx - pad, w);
    }
  }
  if (has_aff)
    s = s * aff[aff_off] + aff[aff_off + 1];
  s = sigmoid16(s);
  const int base = n * c * hw + row * w + c0;
  for (int ch = 0; ch < c; ch++)
    store16(y + y_off + base + ch * hw, load16(x + x_off + base + ch * hw, cnt, 0.0f) * s, cnt);
}

/* ---- additive attention gate ---- */
/* The bodies below take the pixel count cnt; kernels call them with a literal 16 for full chunks, so that
 * after inlining the full path has no tail branches left in its loops. */
#define INL inline __attribute__((always_inline))

/* phi = w_phi g + b_phi for output channels o0..o0+3 (clamped to ci) at 16 pixels; g and phi point at the
 * image's first channel, pixel i. */
INL void phi_px(__global const float *g, const int cg, const int hwg, __global const float *w, __global const float *b,
                const int has_b, const int ci, const int o0, __global float *phi, const int cnt) {
  const int o1 = min(o0 + 1, ci - 1), o2 = min(o0 + 2, ci - 1), o3 = min(o0 + 3, ci - 1);
  float16 a0 = has_b ? b[o0] : 0.0f, a1 = has_b ? b[o1] : 0.0f;
  float16 a2 = has_b ? b[o2] : 0.0f, a3 = has_b ? b[o3] : 0.0f;
  for (int ch = 0; ch < cg; ch++) {
    const float16 v = load16(g + ch * hwg, cnt, 0.0f);
    a0 += w[o0 * cg + ch] * v;
    a1 += w[o1 * cg + ch] * v;
    a2 += w[o2 * cg + ch] * v;
    a3 += w[o3 * cg + ch] * v;
  }
  store16(phi + o0 * hwg, a0, cnt);
  if (o0 + 1 < ci)
    store16(phi + o1 * hwg, a1, cnt);
  if (o0 + 2 < ci)
    store16(phi + o2 * hwg, a2, cnt);
  if (o0 + 3 < ci)
    store16(phi + o3 * hwg, a3, cnt);
}

/* phi [N, ci, hg, wg] (1x1 conv of g): 16 pixels x 4 output channels per work-item. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_phi(__global const float *g, const int g_off, const int cg, const int hwg, __global const float *wp,
              const int wp_off, __global const float *bp, const int bp_off, const int has_bp, const int ci,
              __global float *phi, const int phi_off) {
  const int i = get_global_id(0) * 16, o0 = get_global_id(1) * 4, n = get_global_id(2), cnt = min(16, hwg - i);
  if (cnt <= 0 || o0 >= ci)
    return;
  __global const float *gp = g + g_off + n * cg * hwg + i;
  __global float *pp = phi + phi_off + n * ci * hwg + i;
  if (cnt == 16)
    phi_px(gp, cg, hwg, wp + wp_off, bp + bp_off, has_bp, ci, o0, pp, 16);
  else
    phi_px(gp, cg, hwg, wp + wp_off, bp + bp_off, has_bp, ci, o0, pp, cnt);
}

/* Columns 2 t0 .. 2 t0 + 31 of a row, split into even (e) and odd (o) columns. */
INL void deinterleave(__global const float *rp, const int cnt, float16 *e, float16 *o) {
  if (cnt == 16) {
    const float16 lo = vload16(0, rp), hi = vload16(1, rp);
    *e = (float16)(lo.even, hi.even);
    *o = (float16)(lo.odd, hi.odd);
    return;
  }
  float te[16], to[16];
  for (int i = 0; i < 16; i++) {
    te[i] = i < cnt ? rp[2 * i] : 0.0f;
    to[i] = i < cnt ? rp[2 * i + 1] : 0.0f;
  }
  *e = vload16(0, te);
  *o = vload16(0, to);
}

/* One theta tap group for channel ch: acc += w[.] * x for stride s (1: one tap; 2: 2x2 taps). */
#define THETA_TAPS(acc, wr)                                                                                            \
  if (s == 1)                                                                                                          \
    acc += (wr)[0] * v0;                                                                                               \
  else                                                                                                                 \
    acc += (wr)[0] * e0 + (wr)[1] * d0 + (wr)[2] * e1 + (wr)[3] * d1;

/* sigmoid(b_psi + sum_o w_psi[o] relu(theta_o + phi_o)) at 16 theta pixels (row ty, from t0); x and phi
 * point at image n; theta output channels go 4 at a time so that each x load feeds 4 accumulators. */
INL float16 coarse_px(__global const float *x, const int cx, const int h, const int w, const int s,
                      __global const float *wth, __global const float *bth, const int has_bth,
                      __global const float *phi, const int ci, const int hg, const int wg, __global const float *wpsi,
                      const float16 bpsi, const int ht, const int wt, const int ty, const int t0, const int cnt) {
  float16 acc = bpsi;
  const int ss = s * s;
  for (int o = 0; o < ci; o += 4) {
    const int o1 = min(o + 1, ci - 1), o2 = min(o + 2, ci - 1), o3 = min(o + 3, ci - 1);
    float16 a0 = has_bth ? bth[o] : 0.0f, a1 = has_bth ? bth[o1] : 0.0f;
    float16 a2 = has_bth ? bth[o2] : 0.0f, a3 = has_bth ? bth[o3] : 0.0f;
    for (int ch = 0; ch < cx; ch++) {
      __global const float *plane = x + ch * h * w;
      float16 v0 = 0.0f, e0 = 0.0f, d0 = 0.0f, e1 = 0.0f, d1 = 0.0f;
      if (s == 1) {
        v0 = load16(plane + ty * w + t0, cnt, 0.0f);
      } else {
        deinterleave(plane + 2 * ty * w + 2 * t0, cnt, &e0, &d0);
        deinterleave(plane + (2 * ty + 1) * w + 2 * t0, cnt, &e1, &d1);
      }
      THETA_TAPS(a0, wth + (o * cx + ch) * ss)
      THETA_TAPS(a1, wth + (o1 * cx + ch) * ss)
      THETA_TAPS(a2, wth + (o2 * cx + ch) * ss)
      THETA_TAPS(a3, wth + (o3 * cx + ch) * ss)
    }
    const int hwg = hg * wg;
    acc += wpsi[o] * fmax(a0 + bilinear16(phi + o * hwg, hg, wg, ht, wt, ty, t0, cnt), 0.0f);
    if (o + 1 < ci)
      acc += wpsi[o1] * fmax(a1 + bilinear16(phi + o1 * hwg, hg, wg, ht, wt, ty, t0, cnt), 0.0f);
    if (o + 2 < ci)
      acc += wpsi[o2] * fmax(a2 + bilinear16(phi + o2 * hwg, hg, wg, ht, wt, ty, t0, cnt), 0.0f);
    if (o + 3 < ci)
      acc += wpsi[o3] * fmax(a3 + bilinear16(phi + o3 * hwg, hg, wg, ht, wt, ty, t0, cnt), 0.0f);
  }
  return sigmoid16(acc);
}

/* a [N, 1, ht, wt] = sigmoid(psi(relu(theta(x) + bilinear(phi)))) for 16 theta pixels of row ty. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_gate_coarse(__global const float *x, const int x_off, const int cx, const int h, const int w, const int s,
                      __global const float *wth, const int wth_off, __global const float *bth, const int bth_off,
                      const int has_bth, __global const float *phi, const int phi_off, const int ci, const int hg,
                      const int wg, __global const float *wpsi, const int wpsi_off, __global const float *bpsi,
                      const int bpsi_off, const int has_bpsi, __global float *a, const int a_off, const int ht,
                      const int wt) {
  const int t0 = get_global_id(0) * 16, ty = get_global_id(1), n = get_global_id(2);
  const int cnt = min(16, wt - t0);
  if (cnt <= 0)
    return;
  __global const float *xn = x + x_off + n * cx * h * w, *pn = phi + phi_off + n * ci * hg * wg;
  const float16 b = has_bpsi ? bpsi[bpsi_off] : 0.0f;
  float16 r;
  if (cnt == 16 && s == 2)
    r = coarse_px(xn, cx, h, w, 2, wth + wth_off, bth + bth_off, has_bth, pn, ci, hg, wg, wpsi + wpsi_off, b, ht, wt,
                  ty, t0, 16);
  else if (cnt == 16)
    r = coarse_px(xn, cx, h, w, 1, wth + wth_off, bth + bth_off, has_bth, pn, ci, hg, wg, wpsi + wpsi_off, b, ht, wt,
                  ty, t0, 16);
  else
    r = coarse_px(xn, cx, h, w, s, wth + wth_off, bth + bth_off, has_bth, pn, ci, hg, wg, wpsi + wpsi_off, b, ht, wt,
                  ty, t0, cnt);
  store16(a + a_off + (n * ht + ty) * wt + t0, r, cnt);
}

/* y[o] = aff_o(alpha * (w_out[o] . x) + b_out[o]) for all o, 4 output channels per pass over x. */
INL void out_conv_px(__global const float *x, const int cx, const int hw, const float16 al, __global const float *wo,
                     __global const float *bo, const int has_bo, __global const float *aff, const int has_aff,
                     __global float *y, const int cnt) {
  for (int o = 0; o < cx; o += 4) {
    const int oj[4] = {o, min(o + 1, cx - 1), min(o + 2, cx - 1), min(o + 3, cx - 1)};
    float16 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int ch = 0; ch < cx; ch++) {
      const float16 v = load16(x + ch * hw, cnt, 0.0f);
      a0 += wo[oj[0] * cx + ch] * v;
      a1 += wo[oj[1] * cx + ch] * v;
      a2 += wo[oj[2] * cx + ch] * v;
      a3 += wo[oj[3] * cx + ch] * v;
    }
    const float16 acc[4] = {a0, a1, a2, a3};
    for (int j = 0; j < 4 && o + j < cx; j++) {
      float16 v = acc[j] * al + (has_bo ? bo[oj[j]] : 0.0f);
      if (has_aff)
        v = v * aff[oj[j]] + aff[cx + oj[j]];
      store16(y + oj[j] * hw, v, cnt);
    }
  }
}

INL void gate_apply_px(__global const float *x, const int cx, const int hw, const float16 al, __global const float *wo,
                       const int has_out, __global const float *bo, const int has_bo, __global const float *aff,
                       const int has_aff, __global float *y, const int cnt) {
  if (has_out) {
    out_conv_px(x, cx, hw, al, wo, bo, has_bo, aff, has_aff, y, cnt);
    return;
  }
  for (int o = 0; o < cx; o++) {
    float16 v = load16(x + o * hw, cnt, 0.0f) * al;
    if (has_aff)
      v = v * aff[o] + aff[cx + o];
    store16(y + o * hw, v, cnt);
  }
}

/* alpha = bilinear(a) at 16 pixels of row `row`; y = x * alpha, or with has_out the 1x1 conv
 * y[o] = alpha * (w_out[o] . x) + b_out[o]; then y = y * aff[o] + aff[cx + o] when has_aff. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_gate_apply(__global const float *x, const int x_off, const int cx, const int h, const int w,
                     __global const float *a, const int a_off, const int ht, const int wt, __global const float *wo,
                     const int wo_off, const int has_out, __global const float *bo, const int bo_off, const int has_bo,
                     __global const float *aff, const int aff_off, const int has_aff, __global float *alpha,
                     const int alpha_off, const int has_alpha, __global float *y, const int y_off) {
  const int c0 = get_global_id(0) * 16, row = get_global_id(1), n = get_global_id(2);
  const int cnt = min(16, w - c0), hw = h * w;
  if (cnt <= 0)
    return;
  const float16 al = bilinear16(a + a_off + n * ht * wt, ht, wt, h, w, row, c0, cnt);
  if (has_alpha)
    store16(alpha + alpha_off + n * hw + row * w + c0, al, cnt);
  const int base = n * cx * hw + row * w + c0;
  if (cnt == 16)
    gate_apply_px(x + x_off + base, cx, hw, al, wo + wo_off, has_out, bo + bo_off, has_bo, aff + aff_off, has_aff,
                  y + y_off + base, 16);
  else
    gate_apply_px(x + x_off + base, cx, hw, al, wo + wo_off, has_out, bo + bo_off, has_bo, aff + aff_off, has_aff,
                  y + y_off + base, cnt);
}

/* ---- GPU forms (GPU=1 in the attention row) ----
 * The kernels above give each work-item 16 pixels as one float16 (4 output channels of them in the gate):
 * on a GPU that is 16-64 registers per accumulator, spills in the attention gate, and loads 64 bytes
 * apart across a warp. The forms below take one pixel per work-item, so neighbouring work-items read
 * neighbouring floats of each plane, and reduce whole planes as trees in __local memory. */

/* Sum and max of chunk p of row `row`, one work-group per (p, row), written like attention_pool's. The
 * work-items stride the chunk by LOCAL (coalesced), then halve the active ones each step from the power of
 * two at or above LOCAL (so that any LOCAL works: the CPU rows' too, as one program holds every kernel);
 * the barriers sit outside the `if` so that every work-item reaches each (uniform control flow), and every
 * work-group is whole: the host launches exactly parts x rows of them. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_pool_gpu(__global const float *x, const int x_off, const int hw, const int chunk, const int parts,
                   __global float *part, const int part_off) {
  __local float ts[LOCAL], tm[LOCAL];
  const int lid = get_local_id(0), p = get_group_id(0), row = get_global_id(1);
  const int end = p * chunk + min(chunk, hw - p * chunk); /* p * chunk + chunk may pass INT_MAX */
  __global const float *src = x + x_off + row * hw;
  float s = 0.0f, m = -INFINITY;
  for (int i = p * chunk + lid; i < end; i += LOCAL) {
    const float v = src[i];
    s += v;
    m = fmax(m, v);
  }
  ts[lid] = s;
  tm[lid] = m;
  barrier(CLK_LOCAL_MEM_FENCE);
  int top = 1;
  while (top < LOCAL)
    top *= 2;
  for (int st = top / 2; st > 0; st >>= 1) {
    if (lid < st && lid + st < LOCAL) {
      ts[lid] += ts[lid + st];
      tm[lid] = fmax(tm[lid], tm[lid + st]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    part[part_off + (row * parts + p) * 2] = ts[0];
    part[part_off + (row * parts + p) * 2 + 1] = tm[0];
  }
}

/* pooled [N, 2, hw] like attention_chpool's, one pixel per work-item; dimension 1: the image. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_chpool_gpu(__global const float *x, const int x_off, const int c, const int hw, __global float *pooled,
                     const int pooled_off) {
  const int i = get_global_id(0), n = get_global_id(1);
  if (i >= hw)
    return;
  __global const float *src = x + x_off + n * c * hw + i;
  float m = -INFINITY, s = 0.0f;
  for (int ch = 0; ch < c; ch++) {
    const float v = src[ch * hw];
    m = fmax(m, v);
    s += v;
  }
  pooled[pooled_off + n * 2 * hw + i] = m;
  pooled[pooled_off + n * 2 * hw + hw + i] = s * (1.0f / (float)c);
}

/* scSE like attention_scse_apply, one pixel per work-item; dimension 1: the image. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_scse_apply_gpu(__global const float *x, const int x_off, const int c, const int hw,
                         __global const float *gate, const int gate_off, __global const float *ws, const int ws_off,
                         __global const float *bs, const int bs_off, const int has_bs, __global float *y,
                         const int y_off) {
  const int i = get_global_id(0), n = get_global_id(1);
  if (i >= hw)
    return;
  const int base = n * c * hw + i;
  float s = has_bs ? bs[bs_off] : 0.0f;
  for (int ch = 0; ch < c; ch++)
    s += ws[ws_off + ch] * x[x_off + base + ch * hw];
  s = sigmoid1(s);
  for (int ch = 0; ch < c; ch++)
    y[y_off + base + ch * hw] = x[x_off + base + ch * hw] * (gate[gate_off + n * c + ch] + s);
}

/* phi like attention_phi, one pixel and 4 output channels per work-item: dimension 0 the pixels of g,
 * 1 the groups of 4 output channels, 2 the image. Weights are the same across a warp (broadcast). */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_phi_gpu(__global const float *g, const int g_off, const int cg, const int hwg, __global const float *wp,
                  const int wp_off, __global const float *bp, const int bp_off, const int has_bp, const int ci,
                  __global float *phi, const int phi_off) {
  const int i = get_global_id(0), o0 = get_global_id(1) * 4, n = get_global_id(2);
  if (i >= hwg || o0 >= ci)
    return;
  __global const float *gp = g + g_off + n * cg * hwg + i, *w = wp + wp_off, *b = bp + bp_off;
  __global float *pp = phi + phi_off + n * ci * hwg + i;
  const int o1 = min(o0 + 1, ci - 1), o2 = min(o0 + 2, ci - 1), o3 = min(o0 + 3, ci - 1);
  float a0 = has_bp ? b[o0] : 0.0f, a1 = has_bp ? b[o1] : 0.0f;
  float a2 = has_bp ? b[o2] : 0.0f, a3 = has_bp ? b[o3] : 0.0f;
  for (int ch = 0; ch < cg; ch++) {
    const float v = gp[ch * hwg];
    a0 += w[o0 * cg + ch] * v;
    a1 += w[o1 * cg + ch] * v;
    a2 += w[o2 * cg + ch] * v;
    a3 += w[o3 * cg + ch] * v;
  }
  pp[o0 * hwg] = a0;
  if (o0 + 1 < ci)
    pp[o1 * hwg] = a1;
  if (o0 + 2 < ci)
    pp[o2 * hwg] = a2;
  if (o0 + 3 < ci)
    pp[o3 * hwg] = a3;
}

/* Bilinear sample of map [hin, win] at (row, col) of an output [hout, wout], as bilinear16 per lane. */
inline float bilinear1(__global const float *map, int hin, int win, int hout, int wout, int row, int col) {
  if (hin == hout && win == wout)
    return map[row * win + col];
  int y0, y1, x0, x1;
  float ly, lx;
  bilinear_src(row, (float)hin / (float)hout, hin, &y0, &y1, &ly);
  bilinear_src(col, (float)win / (float)wout, win, &x0, &x1, &lx);
  const float top = (1.0f - lx) * map[y0 * win + x0] + lx * map[y0 * win + x1];
  const float bot = (1.0f - lx) * map[y1 * win + x0] + lx * map[y1 * win + x1];
  return (1.0f - ly) * top + ly * bot;
}

/* theta_o(x) at theta pixel (ty, tx) of one input channel's plane, for stride 1 (one tap) or 2 (2x2). */
inline float theta_tap(__global const float *plane, const int w, const int s, __global const float *wr, const int ty,
                       const int tx) {
  if (s == 1)
    return wr[0] * plane[ty * w + tx];
  __global const float *r = plane + 2 * ty * w + 2 * tx;
  return wr[0] * r[0] + wr[1] * r[1] + wr[2] * r[w] + wr[3] * r[w + 1];
}

/* The coarse map like attention_gate_coarse, one theta pixel per work-item (dimension 0 the ht * wt
 * pixels, 1 the image); theta output channels 4 at a time so that each x load feeds 4 accumulators. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_gate_coarse_gpu(__global const float *x, const int x_off, const int cx, const int h, const int w, const int s,
                          __global const float *wth, const int wth_off, __global const float *bth, const int bth_off,
                          const int has_bth, __global const float *phi, const int phi_off, const int ci, const int hg,
                          const int wg, __global const float *wpsi, const int wpsi_off, __global const float *bpsi,
                          const int bpsi_off, const int has_bpsi, __global float *a, const int a_off, const int ht,
                          const int wt) {
  const int t = get_global_id(0), n = get_global_id(1);
  if (t >= ht * wt)
    return;
  const int ty = t / wt, tx = t - ty * wt, ss = s * s, hwg = hg * wg;
  __global const float *xn = x + x_off + n * cx * h * w, *pn = phi + phi_off + n * ci * hwg;
  __global const float *wt0 = wth + wth_off, *bt = bth + bth_off, *wps = wpsi + wpsi_off;
  float acc = has_bpsi ? bpsi[bpsi_off] : 0.0f;
  for (int o = 0; o < ci; o += 4) {
    const int o1 = min(o + 1, ci - 1), o2 = min(o + 2, ci - 1), o3 = min(o + 3, ci - 1);
    float a0 = has_bth ? bt[o] : 0.0f, a1 = has_bth ? bt[o1] : 0.0f;
    float a2 = has_bth ? bt[o2] : 0.0f, a3 = has_bth ? bt[o3] : 0.0f;
    for (int ch = 0; ch < cx; ch++) {
      __global const float *plane = xn + ch * h * w;
      a0 += theta_tap(plane, w, s, wt0 + (o * cx + ch) * ss, ty, tx);
      a1 += theta_tap(plane, w, s, wt0 + (o1 * cx + ch) * ss, ty, tx);
      a2 += theta_tap(plane, w, s, wt0 + (o2 * cx + ch) * ss, ty, tx);
      a3 += theta_tap(plane, w, s, wt0 + (o3 * cx + ch) * ss, ty, tx);
    }
    acc += wps[o] * fmax(a0 + bilinear1(pn + o * hwg, hg, wg, ht, wt, ty, tx), 0.0f);
    if (o + 1 < ci)
      acc += wps[o1] * fmax(a1 + bilinear1(pn + o1 * hwg, hg, wg, ht, wt, ty, tx), 0.0f);
    if (o + 2 < ci)
      acc += wps[o2] * fmax(a2 + bilinear1(pn + o2 * hwg, hg, wg, ht, wt, ty, tx), 0.0f);
    if (o + 3 < ci)
      acc += wps[o3] * fmax(a3 + bilinear1(pn + o3 * hwg, hg, wg, ht, wt, ty, tx), 0.0f);
  }
  a[a_off + (n * ht + ty) * wt + tx] = sigmoid1(acc);
}

/* Output channel o of the gate at one pixel: aff_o(alpha * conv + b_out[o]). */
inline void gate_out1(__global float *yp, const int hw, const int cx, const int o, const float conv, const float al,
                      __global const float *b, const int has_bo, __global const float *af, const int has_aff) {
  const float v = conv * al + (has_bo ? b[o] : 0.0f);
  yp[o * hw] = has_aff ? v * af[o] + af[cx + o] : v;
}

/* Like attention_gate_apply, one pixel per work-item (dimension 0 the h * w pixels, 1 the image); the
 * output conv 4 output channels at a time so that each x load feeds 4 accumulators. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
attention_gate_apply_gpu(__global const float *x, const int x_off, const int cx, const int h, const int w,
                         __global const float *a, const int a_off, const int ht, const int wt, __global const float *wo,
                         const int wo_off, const int has_out, __global const float *bo, const int bo_off,
                         const int has_bo, __global const float *aff, const int aff_off, const int has_aff,
                         __global float *alpha, const int alpha_off, const int has_alpha, __global float *y,
                         const int y_off) {
  const int i = get_global_id(0), n = get_global_id(1), hw = h * w;
  if (i >= hw)
    return;
  const int row = i / w;
  const float al = bilinear1(a + a_off + n * ht * wt, ht, wt, h, w, row, i - row * w);
  if (has_alpha)
    alpha[alpha_off + n * hw + i] = al;
  __global const float *xp = x + x_off + n * cx * hw + i, *wt0 = wo + wo_off, *b = bo + bo_off;
  __global const float *af = aff + aff_off;
  __global float *yp = y + y_off + n * cx * hw + i;
  if (!has_out) {
    for (int o = 0; o < cx; o++) {
      float v = xp[o * hw] * al;
      yp[o * hw] = has_aff ? v * af[o] + af[cx + o] : v;
    }
    return;
  }
  for (int o = 0; o < cx; o += 4) {
    const int o1 = min(o + 1, cx - 1), o2 = min(o + 2, cx - 1), o3 = min(o + 3, cx - 1);
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int ch = 0; ch < cx; ch++) {
      const float v = xp[ch * hw];
      a0 += wt0[o * cx + ch] * v;
      a1 += wt0[o1 * cx + ch] * v;
      a2 += wt0[o2 * cx + ch] * v;
      a3 += wt0[o3 * cx + ch] * v;
    }
    /* private arrays indexed by a loop would go to scratch (NVIDIA) or __local (AMD): scalars instead */
    gate_out1(yp, hw, cx, o, a0, al, b, has_bo, af, has_aff);
    if (o + 1 < cx)
      gate_out1(yp, hw, cx, o1, a1, al, b, has_bo, af, has_aff);
    if (o + 2 < cx)
      gate_out1(yp, hw, cx, o2, a2, al, b, has_bo, af, has_aff);
    if (o + 3 < cx)
      gate_out1(yp, hw, cx, o3, a3, al, b, has_bo, af, has_aff);
  }
}
