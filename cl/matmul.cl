/* Batched matrix product y = alpha (a b) + bias (lib/ops/matmul.c, the only caller, owns the argument order).
 * a(m, k) is a[m * sam + k * sak] and b(k, n) is b[k * sbk + n * sbn] inside one batch, so transposed
 * operands are strides; y is contiguous [batch, M, N]. Batch index bi is split over up to four broadcast
 * batch dims (innermost first, lengths l0 l1 l2, the fourth implied), each operand stepping by its own
 * batch strides (0 where it broadcasts). Three forms: matmul_tile and matmul_dot for CPUs (one work-item as a
 * SIMD thread with a register tile of float16), matmul_gpu (work-group tiles staged through __local). */

/* The element offsets of batch bi in a and b. */
inline void matmul_batch(int bi, int l0, int l1, int l2, int sa0, int sa1, int sa2, int sa3, int sb0, int sb1, int sb2,
                         int sb3, long *ao, long *bo) {
  const int i0 = bi % l0, i1 = (bi / l0) % l1, i2 = (bi / l0 / l1) % l2, i3 = bi / l0 / l1 / l2;
  *ao = (long)i0 * sa0 + (long)i1 * sa1 + (long)i2 * sa2 + (long)i3 * sa3;
  *bo = (long)i0 * sb0 + (long)i1 * sb1 + (long)i2 * sb2 + (long)i3 * sb3;
}

#define MATMUL_ARGS                                                                                                    \
  __global const float *a, const int a_off, __global const float *b, const int b_off, __global const float *bias,      \
      const int bias_off, const int has_bias, __global float *y, const int y_off, const int M, const int N,            \
      const int K, const int sam, const int sak, const int sbk, const int sbn, const int l0, const int l1,             \
      const int l2, const int sa0, const int sa1, const int sa2, const int sa3, const int sb0, const int sb1,          \
      const int sb2, const int sb3, const float alpha, const int sbb, const int packed

#define MATMUL_SETUP                                                                                                   \
  long ao, bo;                                                                                                         \
  matmul_batch(get_global_id(2), l0, l1, l2, sa0, sa1, sa2, sa3, sb0, sb1, sb2, sb3, &ao, &bo);                        \
  __global const float *ap = a + a_off + ao, *bp = b + b_off + bo;                                                     \
  __global float *yp = y + y_off + (long)get_global_id(2) * M * N

inline float matmul_out(float acc, float alpha, __global const float *bias, int bias_off, int has_bias, int n) {
  return has_bias ? fma(alpha, acc, bias[bias_off + n]) : alpha * acc;
}

#ifndef MATMUL_MR
#define MATMUL_MR 6 /* matmul_tile: rows of y per work-item */
#endif
#ifndef MATMUL_NV
#define MATMUL_NV 4 /* matmul_tile: float16 vectors of columns per work-item */
#endif
#define MATMUL_NC (16 * MATMUL_NV)

/* Columns n0 .. N-1 of rows m0 .. m0 + MR - 1 when fewer than MATMUL_NC remain: 16-wide where 16 remain,
 * then one at a time. */
inline void matmul_tile_tail(__global const float *ap, __global const float *bp, __global float *yp, int m0, int n0,
                             int M, int N, int K, int sam, int sak, int sbk, float alpha, __global const float *bias,
                             int bias_off, int has_bias) {
  for (int i = 0; i < MATMUL_MR && m0 + i < M; i++) {
    __global const float *ar = ap + (long)(m0 + i) * sam;
    int n = n0;
    for (; n + 16 <= N; n += 16) {
      float16 acc = (float16)(0.0f);
      for (int k = 0; k < K; k++)
        acc = fma((float16)(ar[(long)k * sak]), vload16(0, bp + (long)k * sbk + n), acc);
      float16 r = alpha * acc;
      if (has_bias)
        r += vload16(0, bias + bias_off + n);
      vstore16(r, 0, yp + (long)(m0 + i) * N + n);
    }
    for (; n < N; n++) {
      float acc = 0.0f;
      for (int k = 0; k < K; k++)
        acc = fma(ar[(long)k * sak], bp[(long)k * sbk + n], acc);
      yp[(long)(m0 + i) * N + n] = matmul_out(acc, alpha, bias, bias_off, has_bias, n);
    }
  }
}

/* 16 outputs of a row from column n (fewer past N: a packed b's last panel is padded with zeros). */
inline void matmul_tile_store(float16 r, __global float *yrow, int n, int N, __global const float *bias, int bias_off,
                              int has_bias) {
  if (n + 16 <= N) {
    if (has_bias)
      r += vload16(0, bias + bias_off + n);
    vstore16(r, 0, yrow + n);
    return;
  }
  float t[16];
  vstore16(r, 0, t);
  for (int j = 0; n + j < N; j++)
    yrow[n + j] = has_bias ? t[j] + bias[bias_off + n + j] : t[j];
}

/* dim 0: blocks of MATMUL_MR rows (neighbours share the large b panel), dim 1: blocks of MATMUL_NC columns,
 * dim 2: batch. b is read along n, NC floats per k: a row of b itself (sbn 1, sbb NC: the host picks this form
 * only then) or, packed, a row of a panel (sbk NC, sbb K NC, zeros past N); a one scalar per row and k
 * broadcast to 16 lanes; rows past M are clamped on load and skipped on store. */
__kernel void matmul_tile(MATMUL_ARGS) {
  const int m0 = (int)get_global_id(0) * MATMUL_MR, n0 = (int)get_global_id(1) * MATMUL_NC;
  if (m0 >= M || n0 >= N)
    return;
  MATMUL_SETUP;
  if (!packed && n0 + MATMUL_NC > N) {
    matmul_tile_tail(ap, bp, yp, m0, n0, M, N, K, sam, sak, sbk, alpha, bias, bias_off, has_bias);
    return;
  }
  __global const float *ar[MATMUL_MR];
  float16 acc[MATMUL_MR][MATMUL_NV];
#pragma unroll
  for (int i = 0; i < MATMUL_MR; i++) {
    ar[i] = ap + (long)min(m0 + i, M - 1) * sam;
#pragma unroll
    for (int v = 0; v < MATMUL_NV; v++)
      acc[i][v] = (float16)(0.0f);
  }
  __global const float *bk = bp + (long)get_global_id(1) * sbb;
  for (int k = 0; k < K; k++, bk += sbk) {
    float16 bv[MATMUL_NV];
#pragma unroll
    for (int v = 0; v < MATMUL_NV; v++)
      bv[v] = vload16(v, bk);
#pragma unroll
    for (int i = 0; i < MATMUL_MR; i++) {
      const float16 av = (float16)(ar[i][(long)k * sak]);
#pragma unroll
      for (int v = 0; v < MATMUL_NV; v++)
        acc[i][v] = fma(av, bv[v], acc[i][v]);
    }
  }
#pragma unroll
  for (int i = 0; i < MATMUL_MR; i++)
    if (m0 + i < M) {
#pragma unroll
      for (int v = 0; v < MATMUL_NV; v++)
        matmul_tile_store(alpha * acc[i][v], yp + (long)(m0 + i) * N, n0 + 16 * v, N, bias, bias_off, has_bias);
    }
}

/* b (K x N, any strides) of batch get_global_id(2) (bstride apart) into panels p[batch][N / NC][K][NC], zeros
 * past N, so that matmul_tile reads NC contiguous floats per k; dim 0: k, dim 1: panels. */
__kernel void matmul_pack_b(__global const float *b, const int b_off, __global float *p, const int K, const int N,
                            const int sbk, const int sbn, const int bstride) {
  const int k = get_global_id(0), blk = get_global_id(1), n0 = blk * MATMUL_NC;
  if (k >= K)
    return;
  __global const float *src = b + b_off + (long)get_global_id(2) * bstride + (long)k * sbk;
  __global float *dst = p + (((long)get_global_id(2) * get_global_size(1) + blk) * K + k) * MATMUL_NC;
  if (sbn == 1 && n0 + MATMUL_NC <= N) {
#pragma unroll
    for (int v = 0; v < MATMUL_NV; v++)
      vstore16(vload16(v, src + n0), v, dst);
    return;
  }
  for (int j = 0; j < MATMUL_NC; j++)
    dst[j] = n0 + j < N ? src[(long)(n0 + j) * sbn] : 0.0f;
}

#ifndef MATMUL_DM
#define MATMUL_DM 4 /* matmul_dot: rows of y per work-item */
#endif
#ifndef MATMUL_DN
#define MATMUL_DN 4 /* matmul_dot: columns of y per work-item */
#endif

inline float matmul_hsum16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* a b^T with both read along k (the host picks this form for rows a [M, K] and b [N, K]: sak and sbk are
 * 1): DM x DN dot products of 16 lanes per work-item, summed at the end. dim 0: blocks of DM rows
 * (neighbours share b's rows), dim 1: blocks of DN columns, dim 2: batch. */
__kernel void matmul_dot(MATMUL_ARGS) {
  const int m0 = (int)get_global_id(0) * MATMUL_DM, n0 = (int)get_global_id(1) * MATMUL_DN;
  if (m0 >= M || n0 >= N)
    return;
  MATMUL_SETUP;
  __global const float *ar[MATMUL_DM], *br[MATMUL_DN];
  float16 acc[MATMUL_DM][MATMUL_DN];
#pragma unroll
  for (int i = 0; i < MATMUL_DM; i++) {
    ar[i] = ap + (long)min(m0 + i, M - 1) * sam;
#pragma unroll
    for (int j = 0; j < MATMUL_DN; j++)
      acc[i][j] = (float16)(0.0f);
  }
#pragma unroll
  for (int j = 0; j < MATMUL_DN; j++)
    br[j] = bp + (long)min(n0 + j, N - 1) * sbn;
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    float16 av[MATMUL_DM], bv[MATMUL_DN];
#pragma unroll
    for (int i = 0; i < MATMUL_DM; i++)
      av[i] = vload16(0, ar[i] + k);
#pragma unroll
    for (int j = 0; j < MATMUL_DN; j++)
      bv[j] = vload16(0, br[j] + k);
#pragma unroll
    for (int i = 0; i < MATMUL_DM; i++)
#pragma unroll
      for (int j = 0; j < MATMUL_DN; j++)
        acc[i][j] = fma(av[i], bv[j], acc[i][j]);
  }
#pragma unroll
  for (int i = 0; i < MATMUL_DM; i++)
#pragma unroll
    for (int j = 0; j < MATMUL_DN; j++) {
      float r = matmul_hsum16(acc[i][j]);
      for (int kk = k; kk < K; kk++)
        r = fma(ar[i][kk], br[j][kk], r);
      if (m0 + i < M && n0 + j < N)
        yp[(long)(m0 + i) * N + n0 + j] = matmul_out(r, alpha, bias, bias_off, has_bias, n0 + j);
    }
}

/* ---- the GPU form: a TM x TN tile of y per work-group of (TN / WN) x (TM / WM) work-items, each owning a
 * WM x WN micro-tile strided by the group's width, so that consecutive work-items write consecutive floats
 * of y; a and b pass through __local in TK-deep slices, loaded along whichever of their dims is contiguous.
 */
#ifndef GPU_TM
#define GPU_TM 64 /* rows of y per work-group */
#endif
#ifndef GPU_TN
#define GPU_TN 64 /* columns of y per work-group */
#endif
#ifndef GPU_TK
#define GPU_TK 16 /* depth of one __local slice */
#endif
#ifndef GPU_WM
#define GPU_WM 4 /* rows per work-item */
#endif
#ifndef GPU_WN
#define GPU_WN 4 /* columns per work-item */
#endif
#define GPU_DM    (GPU_TM / GPU_WM)
#define GPU_DN    (GPU_TN / GPU_WN)
#define GPU_LOCAL (GPU_DM * GPU_DN)

/* Stages the k0 slice of a into as[TK][TM + 1] and of b into bs[TK][TN + 1] (zeros outside the matrices);
 * the + 1 spreads a column's floats over the banks. */
inline void matmul_gpu_stage(__global const float *ap, __global const float *bp, __local float *as, __local float *bs,
                             int lid, int m0, int n0, int k0, int M, int N, int K, int sam, int sak, int sbk, int sbn) {
  for (int idx = lid; idx < GPU_TM * GPU_TK; idx += GPU_LOCAL) {
    const int kk = sak == 1 ? idx % GPU_TK : idx / GPU_TM, mm = sak == 1 ? idx / GPU_TK : idx % GPU_TM;
    const int gm = m0 + mm, gk = k0 + kk;
    as[kk * (GPU_TM + 1) + mm] = gm < M && gk < K ? ap[(long)gm * sam + (long)gk * sak] : 0.0f;
  }
  for (int idx = lid; idx < GPU_TN * GPU_TK; idx += GPU_LOCAL) {
    const int kk = sbn == 1 ? idx / GPU_TN : idx % GPU_TK, nn = sbn == 1 ? idx % GPU_TN : idx / GPU_TK;
    const int gn = n0 + nn, gk = k0 + kk;
    bs[kk * (GPU_TN + 1) + nn] = gn < N && gk < K ? bp[(long)gk * sbk + (long)gn * sbn] : 0.0f;
  }
}

__kernel __attribute__((reqd_work_group_size(GPU_DN, GPU_DM, 1))) void matmul_gpu(MATMUL_ARGS) {
  __local float as[GPU_TK * (GPU_TM + 1)], bs[GPU_TK * (GPU_TN + 1)];
  const int tx = get_local_id(0), ty = get_local_id(1), lid = ty * GPU_DN + tx;
  const int n0 = get_group_id(0) * GPU_TN, m0 = get_group_id(1) * GPU_TM;
  MATMUL_SETUP;
  float acc[GPU_WM][GPU_WN];
#pragma unroll
  for (int i = 0; i < GPU_WM; i++)
#pragma unroll
    for (int j = 0; j < GPU_WN; j++)
      acc[i][j] = 0.0f;
  for (int k0 = 0; k0 < K; k0 += GPU_TK) {
    matmul_gpu_stage(ap, bp, as, bs, lid, m0, n0, k0, M, N, K, sam, sak, sbk, sbn);
    barrier(CLK_LOCAL_MEM_FENCE);
    /* Unrolled by 4, not wholly: NVPTX hoists every __local load of a full unroll (254 registers on sm_80,
     * 12% occupancy, in gpu-static); by 4 it stays at the accumulators plus a few operands. */
#pragma unroll 4
    for (int kk = 0; kk < GPU_TK; kk++) {
      float ar[GPU_WM], br[GPU_WN];
#pragma unroll
      for (int i = 0; i < GPU_WM; i++)
        ar[i] = as[kk * (GPU_TM + 1) + ty + GPU_DM * i];
#pragma unroll
      for (int j = 0; j < GPU_WN; j++)
        br[j] = bs[kk * (GPU_TN + 1) + tx + GPU_DN * j];
#pragma unroll
      for (int i = 0; i < GPU_WM; i++)
#pragma unroll
        for (int j = 0; j < GPU_WN; j++)
          acc[i][j] = fma(ar[i], br[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#pragma unroll
  for (int i = 0; i < GPU_WM; i++)
#pragma unroll
    for (int j = 0; j < GPU_WN; j++) {
      const int m = m0 + ty + GPU_DM * i, n = n0 + tx + GPU_DN * j;
      if (m < M && n < N)
        yp[(long)m * N + n] = matmul_out(acc[i][j], alpha, bias, bias_off, has_bias, n);
    }
}
