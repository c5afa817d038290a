/* Broadcasting binary ops with a fused activation: y = act(a op b). The host collapses the NCHW shapes into
 * contiguous rows of y: along a row a and b either advance with y (stride 1) or repeat one value (stride 0);
 * between rows each operand steps by its own strides over up to three outer dimensions. */
#define ACTIVATION_FUNCS_ONLY
#include "activation.cl"

/* Work-items per work-group of the GPU form (the tuning row's LOCAL); see activation.cl. */
#ifndef LOCAL
#define LOCAL 256
#endif

/* Operation codes: the order of clseg_binary_op. A run-time argument for the reason given for act_vec. */
#define BINARY_ADD 0
#define BINARY_SUB 1
#define BINARY_MUL 2
#define BINARY_DIV 3

inline float16 binary_vec(float16 a, float16 b, int op) {
  switch (op) {
  case BINARY_SUB: return a - b;
  case BINARY_MUL: return a * b;
  case BINARY_DIV: return a / b;
  default: return a + b;
  }
}

inline float binary_one(float a, float b, int op) {
  switch (op) {
  case BINARY_SUB: return a - b;
  case BINARY_MUL: return a * b;
  case BINARY_DIV: return a / b;
  default: return a + b;
  }
}

/* Dimension 0: CHUNK-float runs of one row of len floats; dimension 1: rows (o1 * o2 * o3 of them, o3
 * implied). as_in / bs_in are the operands' strides along the row (0 or 1); as1..3 / bs1..3 along the outer
 * dimensions, innermost first. */
__kernel void eltwise_binary(__global const float *a, const int a_off, __global const float *b, const int b_off,
                             __global float *y, const int y_off, const int len, const int rows, const int as_in,
                             const int bs_in, const int o1, const int o2, const int as1, const int as2, const int as3,
                             const int bs1, const int bs2, const int bs3, const int op, const int kind,
                             const float alpha, const float beta) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= len || r >= rows)
    return;
  const int i1 = r % o1, i2 = (r / o1) % o2, i3 = r / o1 / o2;
  const int ab = a_off + i1 * as1 + i2 * as2 + i3 * as3, bb = b_off + i1 * bs1 + i2 * bs2 + i3 * bs3;
  const int yb = y_off + r * len, end = min(len, (int)start + CHUNK);
  int p = (int)start;
  for (; p + 16 <= end; p += 16) {
    const float16 va = as_in ? vload16(0, a + ab + p) : (float16)(a[ab]);
    const float16 vb = bs_in ? vload16(0, b + bb + p) : (float16)(b[bb]);
    vstore16(act_vec(binary_vec(va, vb, op), kind, alpha, beta), 0, y + yb + p);
  }
  for (; p < end; p++) /* the tail shorter than one vector */
    y[yb + p] = act_apply(binary_one(a[ab + p * as_in], b[bb + p * bs_in], op), kind, alpha, beta);
}

/* The GPU form: one float of y per work-item over all rows * len floats, consecutive work-items on
 * consecutive floats of y (and of each operand that advances along the row), so warps are full however
 * short the rows are; the row's operand bases are recomputed per item, which costs a few integer
 * divisions against a memory-bound load. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
eltwise_binary_gpu(__global const float *a, const int a_off, __global const float *b, const int b_off,
                   __global float *y, const int y_off, const int len, const int rows, const int as_in, const int bs_in,
                   const int o1, const int o2, const int as1, const int as2, const int as3, const int bs1,
                   const int bs2, const int bs3, const int op, const int kind, const float alpha, const float beta) {
  if (get_global_id(0) >= (size_t)rows * (size_t)len)
    return;
  const int i = (int)get_global_id(0), r = i / len, p = i - r * len;
  const int i1 = r % o1, i2 = (r / o1) % o2, i3 = r / o1 / o2;
  const int ai = a_off + i1 * as1 + i2 * as2 + i3 * as3 + p * as_in;
  const int bi = b_off + i1 * bs1 + i2 * bs2 + i3 * bs3 + p * bs_in;
  y[y_off + i] = act_apply(binary_one(a[ai], b[bi], op), kind, alpha, beta);
}
