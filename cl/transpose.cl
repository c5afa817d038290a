/* Data movement on tensors of any rank (lib/ops/transpose.c, the only caller, owns the argument order):
 * transpose, narrow and expand are one gather, y[i] = x[x_off + sum_d idx_d(i) * s_d], over y's dims after
 * the host has merged the dims that x steps through as one; transpose_tiled is the batched 2-D transpose
 * [B, R, C] -> [B, C, R] through __local tiles, so that both the reads and the writes are along rows. */

#ifndef RUN
#define RUN 64 /* transpose_gather: consecutive floats of y per work-item (1: the GPU shape) */
#endif

/* dims innermost first: l0..l4 the lengths (the sixth implied), s0..s5 x's strides along them (0 where x
 * broadcasts). Each work-item copies y[RUN * i .. RUN * (i + 1)), a stretch of the innermost dim at a time. */
__kernel void transpose_gather(__global const float *x, const int x_off, __global float *y, const int y_off,
                               const int count, const int l0, const int l1, const int l2, const int l3, const int l4,
                               const int s0, const int s1, const int s2, const int s3, const int s4, const int s5) {
  const long start = (long)get_global_id(0) * RUN;
  if (start >= count)
    return;
  const int end = min(count, (int)start + RUN);
  for (int p = (int)start; p < end;) {
    int q = p;
    const int i0 = q % l0;
    q /= l0;
    const int i1 = q % l1;
    q /= l1;
    const int i2 = q % l2;
    q /= l2;
    const int i3 = q % l3;
    q /= l3;
    const int i4 = q % l4, i5 = q / l4;
    const int base = x_off + i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4 + i5 * s5;
    const int run = min(end - p, l0 - i0);
    for (int j = 0; j < run; j++)
      y[y_off + p + j] = x[base + j * s0];
    p += run;
  }
}

#ifndef TILE
#define TILE 32 /* transpose_tiled: a TILE x TILE block per work-group */
#endif
#ifndef ROWS
#define ROWS 8 /* transpose_tiled: work-items along the block's rows, each moving TILE / ROWS floats */
#endif

/* x [B, R, C] -> y [B, C, R]; dim 0 over C, dim 1 over R (TILE per group, TILE x ROWS work-items), dim 2
 * over B. The + 1 column keeps a column read of the tile off a single bank. */
__kernel __attribute__((reqd_work_group_size(TILE, ROWS, 1))) void transpose_tiled(__global const float *x,
                                                                                   const int x_off, __global float *y,
                                                                                   const int y_off, const int R,
                                                                                   const int C) {
  __local float t[TILE][TILE + 1];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int c0 = get_group_id(0) * TILE, r0 = get_group_id(1) * TILE;
  const long plane = (long)get_group_id(2) * R * C;
  for (int j = ty; j < TILE; j += ROWS) {
    const int r = r0 + j, c = c0 + tx;
    if (r < R && c < C)
      t[j][tx] = x[x_off + plane + (long)r * C + c];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int j = ty; j < TILE; j += ROWS) {
    const int c = c0 + j, r = r0 + tx;
    if (r < R && c < C)
      y[y_off + plane + (long)c * R + r] = t[tx][j];
  }
}
