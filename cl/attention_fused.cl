/* Fused soft attention O = softmax(scale * Q K^T + bias) V per batch and head, with the online softmax (running
 * max and sum, rescaled as each block of keys arrives): the Lq x Lk scores never reach global memory. Every
 * operand is addressed through element strides in the order batch, head, position, feature (an int4 argument),
 * so channel-major NCHW and token-major data run the same kernels; lib/ops/attention_fused.c, the only caller,
 * owns the argument order. Dimension 2 of the range is batch * heads; dimension 1 the slices of DVC output
 * features (scores are recomputed per slice, which bounds the accumulators). */

/* ---- attention_fused (CPU form): one work-item = one SIMD thread over 16 * CPU_QV queries as float16 lanes ---- */
#ifndef CPU_KB
#define CPU_KB 8 /* keys per block: CPU_QV * CPU_KB float16 score accumulators */
#endif
#ifndef CPU_MAXDK
#define CPU_MAXDK 64 /* bound of dk: Q of the work-item's queries, scaled, is kept as CPU_QV x CPU_MAXDK float16 */
#endif
#ifndef CPU_QV
#define CPU_QV 2 /* float16 query vectors per work-item: 16 * CPU_QV queries share each key and value load */
#endif
#define CPU_Q (16 * CPU_QV)
#ifndef CPU_DVC
#define CPU_DVC                                                                                                        \
  256 /* output features per work-item (a slice of dv): CPU_DVC float16 accumulators in private memory                 \
       */
#endif

/* ---- attention_fused_gpu: a work-group per GPU_BQ queries, keys and values staged in __local tiles ---- */
#ifndef GPU_WG
#define GPU_WG 128 /* work-items per work-group: GPU_WG / GPU_BQ of them share a query row */
#endif
#ifndef GPU_BQ
#define GPU_BQ 32 /* queries per work-group */
#endif
#ifndef GPU_BK
#define GPU_BK 32 /* keys per tile */
#endif
#ifndef GPU_DKC
#define GPU_DKC 64 /* features of Q and K staged per step (dk is walked in such chunks) */
#endif
#ifndef GPU_DVC
#define GPU_DVC 64 /* output features per work-group (a slice of dv) */
#endif

/* The operand's base for batch b, head h; strides s = (batch, head, position, feature). */
#define BASE(p, off, s, b, h) ((p) + (off) + (b) * (s).x + (h) * (s).y)

/* 16 floats at p[o[l] + add]. */
static inline float16 gather16(__global const float *p, const int *o, int add) {
  float t[16];
  for (int l = 0; l < 16; l++)
    t[l] = p[o[l] + add];
  return vload16(0, t);
}

/* The bias of 16 queries (row offsets bo, query stride bz) at key offset add: one broadcast value when bz is 0,
 * a vector load when the 16 rows are contiguous, else lane by lane. */
static inline float16 bias16(__global const float *bb, const int *bo, int bz, int full, int add) {
  if (bz == 0)
    return (float16)(bb[bo[0] + add]);
  if (bz == 1 && full)
    return vload16(0, bb + bo[0] + add);
  return gather16(bb, bo, add);
}

/* The online softmax step of one query vector over a block of CPU_KB scores s (bias added here, -inf past lk):
 * s becomes exp(s - max), m and l the running max and sum; returns the factor that rescales earlier sums. */
static inline float16 online_step(float16 *s, float16 *m, float16 *l, __global const float *bb, const int *bo, int bz,
                                  int bw, int full, int has_bias, int j0, int lk) {
  float16 mx = *m;
#pragma unroll
  for (int u = 0; u < CPU_KB; u++) {
    if (has_bias)
      s[u] += bias16(bb, bo, bz, full, min(j0 + u, lk - 1) * bw);
    if (j0 + u >= lk)
      s[u] = (float16)(-INFINITY);
    mx = fmax(mx, s[u]);
  }
  /* Rows whose scores are all -inf so far take 0 as their max: exp then gives 0 rather than NaN. */
  const float16 mu = select(mx, (float16)(0.0f), isinf(mx) & (mx < 0.0f));
  const float16 alpha = exp(*m - mu);
  *m = mx;
  float16 psum = (float16)(0.0f);
#pragma unroll
  for (int u = 0; u < CPU_KB; u++) {
    s[u] = exp(s[u] - mu);
    psum += s[u];
  }
  *l = fma(*l, alpha, psum);
  return alpha;
}

/* The scores of the CPU_KB keys from j0 (clamped to lk - 1; online_step masks them) for the work-item's
 * queries: s[w][u] = q_w . k_u, each key float loaded once and used for CPU_QV FMAs. */
static inline void cpu_scores(float16 s[CPU_QV][CPU_KB], float16 qp[CPU_QV][CPU_MAXDK], __global const float *kb,
                              int4 ks, int j0, int lk, int dk) {
  int ko[CPU_KB];
#pragma unroll
  for (int u = 0; u < CPU_KB; u++) {
    ko[u] = min(j0 + u, lk - 1) * ks.z;
#pragma unroll
    for (int w = 0; w < CPU_QV; w++)
      s[w][u] = (float16)(0.0f);
  }
  for (int c = 0; c < dk; c++) {
#pragma unroll
    for (int u = 0; u < CPU_KB; u++) {
      const float kv = kb[ko[u] + c * ks.w];
#pragma unroll
      for (int w = 0; w < CPU_QV; w++)
        s[w][u] = fma(qp[w][c], (float16)(kv), s[w][u]);
    }
  }
}

/* acc = acc * alpha + p V over the block's CPU_KB values (p = s after online_step, 0 past lk). */
static inline void cpu_accumulate(float16 acc[CPU_QV][CPU_DVC], float16 s[CPU_QV][CPU_KB], const float16 *alpha,
                                  __global const float *vb, int4 vs, int j0, int lk, int nc) {
  int vo[CPU_KB];
#pragma unroll
  for (int u = 0; u < CPU_KB; u++)
    vo[u] = min(j0 + u, lk - 1) * vs.z;
  for (int c = 0; c < nc; c++) {
    float16 a[CPU_QV];
#pragma unroll
    for (int w = 0; w < CPU_QV; w++)
      a[w] = acc[w][c] * alpha[w];
#pragma unroll
    for (int u = 0; u < CPU_KB; u++) {
      const float vv = vb[vo[u] + c * vs.w];
#pragma unroll
      for (int w = 0; w < CPU_QV; w++)
        a[w] = fma(s[w][u], (float16)(vv), a[w]);
    }
#pragma unroll
    for (int w = 0; w < CPU_QV; w++)
      acc[w][c] = a[w];
  }
}

/* dim 0: blocks of CPU_Q queries (neighbours share every key and value), dim 1: slices of CPU_DVC output
 * features, dim 2: batch * heads. Rows past lq are computed on copies of the last and not stored. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
attention_fused(__global const float *q, int q_off, int4 qs, __global const float *k, int k_off, int4 ks,
                __global const float *v, int v_off, int4 vs, __global const float *bias, int b_off, int4 bs,
                int has_bias, __global float *o, int o_off, int4 os, int heads, int lq, int lk, int dk, int dv,
                float scale) {
  const int i0 = (int)get_global_id(0) * CPU_Q, c0 = (int)get_global_id(1) * CPU_DVC;
  const int z = (int)get_global_id(2), b = z / heads, h = z % heads;
  if (i0 >= lq || c0 >= dv)
    return;
  const int nc = min(CPU_DVC, dv - c0);
  __global const float *qb = BASE(q, q_off, qs, b, h), *kb = BASE(k, k_off, ks, b, h);
  __global const float *vb = BASE(v, v_off, vs, b, h) + c0 * vs.w, *bb = BASE(bias, b_off, bs, b, h);
  int qo[CPU_Q], bo[CPU_Q];
  for (int r = 0; r < CPU_Q; r++) {
    qo[r] = min(i0 + r, lq - 1) * qs.z;
    bo[r] = min(i0 + r, lq - 1) * bs.z;
  }
  float16 qp[CPU_QV][CPU_MAXDK], acc[CPU_QV][CPU_DVC], m[CPU_QV], l[CPU_QV];
  for (int w = 0; w < CPU_QV; w++) {
    for (int c = 0; c < dk; c++)
      qp[w][c] = gather16(qb, qo + 16 * w, c * qs.w) * scale;
    for (int c = 0; c < nc; c++)
      acc[w][c] = (float16)(0.0f);
    m[w] = (float16)(-INFINITY);
    l[w] = (float16)(0.0f);
  }
  for (int j0 = 0; j0 < lk; j0 += CPU_KB) {
    float16 s[CPU_QV][CPU_KB], alpha[CPU_QV];
    cpu_scores(s, qp, kb, ks, j0, lk, dk);
#pragma unroll
    for (int w = 0; w < CPU_QV; w++)
      alpha[w] =
          online_step(s[w], &m[w], &l[w], bb, bo + 16 * w, bs.z, bs.w, i0 + 16 * (w + 1) <= lq, has_bias, j0, lk);
    cpu_accumulate(acc, s, alpha, vb, vs, j0, lk, nc);
  }
  __global float *ob = BASE(o, o_off, os, b, h) + c0 * os.w;
  for (int w = 0; w < CPU_QV; w++) {
    const float16 inv = 1.0f / l[w];
    const int rows = min(16, lq - i0 - 16 * w);
    for (int c = 0; c < nc; c++) {
      float t[16];
      vstore16(acc[w][c] * inv, 0, t);
      for (int r = 0; r < rows; r++)
        ob[(i0 + 16 * w + r) * os.z + c * os.w] = t[r];
    }
  }
}

/* ---- GPU form ---- */
#if GPU_WG % GPU_BQ != 0 || GPU_BK % (GPU_WG / GPU_BQ) != 0 || GPU_DVC % (GPU_WG / GPU_BQ) != 0
#error "attention_fused_gpu: GPU_WG must be a multiple of GPU_BQ, and GPU_BK and GPU_DVC multiples of GPU_WG/GPU_BQ"
#endif
#define TPR (GPU_WG / GPU_BQ) /* work-items per query row */
#define SPT (GPU_BK / TPR)    /* scores per work-item */
#define OPT (GPU_DVC / TPR)   /* outputs per work-item */

/* Copies the rows x cols tile of p (row stride rs, column stride cs) into t (row stride trs, column stride
 * tcs), zero past nr rows or nc columns. Consecutive work-items take consecutive addresses of whichever
 * stride is 1, so global reads coalesce in either layout. */
static inline void stage(__local float *t, int trs, int tcs, __global const float *p, int rs, int cs, int rows,
                         int cols, int nr, int nc, int lid) {
  const int rfast = rs == 1;
  for (int e = lid; e < rows * cols; e += GPU_WG) {
    const int r = rfast ? e % rows : e / cols, c = rfast ? e / rows : e % cols;
    t[r * trs + c * tcs] = r < nr && c < nc ? p[r * rs + c * cs] : 0.0f;
  }
}

/* The raw scores of work-item lid's row against its SPT keys of the tile at kb (nk keys): dk walked in chunks of
 * GPU_DKC staged in ql and kl (Q only on the first tile when dk fits one chunk). Called by every work-item: it
 * holds barriers. */
static inline void gpu_scores(float *s, __local float *ql, __local float *kl, __global const float *qb, int4 qs,
                              __global const float *kb, int4 ks, int nq, int nk, int dk, int lid, int first) {
  const int r = lid / TPR, sub = lid % TPR;
  for (int u = 0; u < SPT; u++)
    s[u] = 0.0f;
  for (int d0 = 0; d0 < dk; d0 += GPU_DKC) {
    barrier(CLK_LOCAL_MEM_FENCE); /* the previous step's readers are done */
    if (dk > GPU_DKC || first)
      stage(ql, GPU_DKC + 1, 1, qb + d0 * qs.w, qs.z, qs.w, GPU_BQ, GPU_DKC, nq, dk - d0, lid);
    stage(kl, 1, GPU_BK, kb + d0 * ks.w, ks.z, ks.w, GPU_BK, GPU_DKC, nk, dk - d0, lid);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int c = 0; c < GPU_DKC; c++) {
      const float qv = ql[r * (GPU_DKC + 1) + c];
      for (int u = 0; u < SPT; u++)
        s[u] = fma(qv, kl[c * GPU_BK + sub + TPR * u], s[u]);
    }
  }
}

/* dim 0: GPU_WG work-items per block of GPU_BQ queries, dim 1: slices of GPU_DVC output features, dim 2: batch
 * * heads. Work-item t owns query row t / TPR, scores sub + TPR * u and outputs sub + TPR * w (sub = t % TPR). */
__kernel __attribute__((reqd_work_group_size(GPU_WG, 1, 1))) void
attention_fused_gpu(__global const float *q, int q_off, int4 qs, __global const float *k, int k_off, int4 ks,
                    __global const float *v, int v_off, int4 vs, __global const float *bias, int b_off, int4 bs,
                    int has_bias, __global float *o, int o_off, int4 os, int heads, int lq, int lk, int dk, int dv,
                    float scale) {
  __local float ql[GPU_BQ * (GPU_DKC + 1)], kl[GPU_DKC * GPU_BK], vl[GPU_BK * GPU_DVC];
  __local float pl[GPU_BQ * (GPU_BK + 1)], red_max[GPU_WG], red_sum[GPU_WG];
  const int lid = (int)get_local_id(0), r = lid / TPR, sub = lid % TPR;
  const int i0 = (int)get_group_id(0) * GPU_BQ, c0 = (int)get_group_id(1) * GPU_DVC;
  const int z = (int)get_global_id(2), b = z / heads, h = z % heads, row = i0 + r;
  const int nq = min(GPU_BQ, lq - i0), nc = min(GPU_DVC, dv - c0);
  __global const float *qb = BASE(q, q_off, qs, b, h) + i0 * qs.z, *kb = BASE(k, k_off, ks, b, h);
  __global const float *vb = BASE(v, v_off, vs, b, h) + c0 * vs.w, *bb = BASE(bias, b_off, bs, b, h);
  float m = -INFINITY, l = 0.0f, acc[OPT];
  for (int w = 0; w < OPT; w++)
    acc[w] = 0.0f;
  for (int j0 = 0; j0 < lk; j0 += GPU_BK) {
    const int nk = min(GPU_BK, lk - j0);
    float s[SPT];
    float mx = -INFINITY;
    gpu_scores(s, ql, kl, qb, qs, kb + j0 * ks.z, ks, nq, nk, dk, lid, j0 == 0);
    for (int u = 0; u < SPT; u++) {
      const int j = sub + TPR * u;
      s[u] *= scale;
      if (has_bias && row < lq && j < nk)
        s[u] += bb[row * bs.z + (j0 + j) * bs.w];
      if (j >= nk)
        s[u] = -INFINITY;
      mx = fmax(mx, s[u]);
    }
    red_max[lid] = mx;
    stage(vl, GPU_DVC, 1, vb + j0 * vs.z, vs.z, vs.w, GPU_BK, GPU_DVC, nk, nc, lid);
    barrier(CLK_LOCAL_MEM_FENCE);
    mx = m;
    for (int t = 0; t < TPR; t++)
      mx = fmax(mx, red_max[r * TPR + t]);
    const float mu = isinf(mx) && mx < 0.0f ? 0.0f : mx; /* all -inf so far: exp gives 0, not NaN */
    const float alpha = exp(m - mu);
    m = mx;
    float ps = 0.0f;
    for (int u = 0; u < SPT; u++) {
      const float p = exp(s[u] - mu);
      pl[r * (GPU_BK + 1) + sub + TPR * u] = p;
      ps += p;
    }
    red_sum[lid] = ps;
    barrier(CLK_LOCAL_MEM_FENCE);
    ps = 0.0f;
    for (int t = 0; t < TPR; t++)
      ps += red_sum[r * TPR + t];
    l = fma(l, alpha, ps);
    for (int w = 0; w < OPT; w++)
      acc[w] *= alpha;
    for (int j = 0; j < GPU_BK; j++) {
      const float p = pl[r * (GPU_BK + 1) + j];
      for (int w = 0; w < OPT; w++)
        acc[w] = fma(p, vl[j * GPU_DVC + sub + TPR * w], acc[w]);
    }
  }
  if (row >= lq)
    return;
  __global float *ob = BASE(o, o_off, os, b, h) + row * os.z + c0 * os.w;
  const float inv = 1.0f / l;
  for (int w = 0; w < OPT; w++) {
    const int c = sub + TPR * w;
    if (c < nc)
      ob[c * os.w] = acc[w] * inv;
  }
}
