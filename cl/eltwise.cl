/* Broadcasting binary ops with a fused activation: y = act(a op b), and the unary math ops. The host collapses
 * the shapes (any rank up to 6) into contiguous rows of y: along a row a and b either advance with y (stride 1)
 * or repeat one value (stride 0); between rows each operand steps by its own strides over up to five outer
 * dimensions. */
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
#define BINARY_POW 4
#define BINARY_MAX 5
#define BINARY_MIN 6

/* pow is C99's pow (OpenCL 1.2, 7.5.1): a negative base with a whole exponent keeps its sign rule. */
inline float16 binary_vec(float16 a, float16 b, int op) {
  switch (op) {
  case BINARY_SUB: return a - b;
  case BINARY_MUL: return a * b;
  case BINARY_DIV: return a / b;
  case BINARY_POW: return pow(a, b);
  case BINARY_MAX: return fmax(a, b);
  case BINARY_MIN: return fmin(a, b);
  default: return a + b;
  }
}

inline float binary_one(float a, float b, int op) {
  switch (op) {
  case BINARY_SUB: return a - b;
  case BINARY_MUL: return a * b;
  case BINARY_DIV: return a / b;
  case BINARY_POW: return pow(a, b);
  case BINARY_MAX: return fmax(a, b);
  case BINARY_MIN: return fmin(a, b);
  default: return a + b;
  }
}

/* The operands' bases of row r: its outer indices, innermost first (o1..o4 the first four outer lengths, the
 * fifth implied), times each operand's strides. */
#define ROW_BASES(r)                                                                                                   \
  int q = (r);                                                                                                         \
  const int i1 = q % o1;                                                                                               \
  q /= o1;                                                                                                             \
  const int i2 = q % o2;                                                                                               \
  q /= o2;                                                                                                             \
  const int i3 = q % o3;                                                                                               \
  q /= o3;                                                                                                             \
  const int i4 = q % o4, i5 = q / o4;                                                                                  \
  const int ab = a_off + i1 * as1 + i2 * as2 + i3 * as3 + i4 * as4 + i5 * as5;                                         \
  const int bb = b_off + i1 * bs1 + i2 * bs2 + i3 * bs3 + i4 * bs4 + i5 * bs5

/* Dimension 0: CHUNK-float runs of one row of len floats; dimension 1: rows (o1 * ... * o5 of them, o5
 * implied). as_in / bs_in are the operands' strides along the row (0 or 1); as1..5 / bs1..5 along the outer
 * dimensions, innermost first. */
__kernel void eltwise_binary(__global const float *a, const int a_off, __global const float *b, const int b_off,
                             __global float *y, const int y_off, const int len, const int rows, const int as_in,
                             const int bs_in, const int o1, const int o2, const int o3, const int o4, const int as1,
                             const int as2, const int as3, const int as4, const int as5, const int bs1, const int bs2,
                             const int bs3, const int bs4, const int bs5, const int op, const int kind,
                             const float alpha, const float beta) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int r = get_global_id(1);
  if (start >= len || r >= rows)
    return;
  ROW_BASES(r);
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
                   const int o1, const int o2, const int o3, const int o4, const int as1, const int as2, const int as3,
                   const int as4, const int as5, const int bs1, const int bs2, const int bs3, const int bs4,
                   const int bs5, const int op, const int kind, const float alpha, const float beta) {
  if (get_global_id(0) >= (size_t)rows * (size_t)len)
    return;
  const int i = (int)get_global_id(0), r = i / len, p = i - r * len;
  ROW_BASES(r);
  y[y_off + i] = act_apply(binary_one(a[ab + p * as_in], b[bb + p * bs_in], op), kind, alpha, beta);
}

/* Unary codes: the order of clseg_unary_op. */
#define UNARY_ERF        0
#define UNARY_SQRT       1
#define UNARY_EXP        2
#define UNARY_LOG        3
#define UNARY_NEG        4
#define UNARY_RECIPROCAL 5
#define UNARY_ABS        6

inline float16 unary_vec(float16 v, int op) {
  switch (op) {
  case UNARY_ERF: return erf_vec(v);
  case UNARY_SQRT: return sqrt(v);
  case UNARY_EXP: return exp(v);
  case UNARY_LOG: return log(v);
  case UNARY_NEG: return -v;
  case UNARY_RECIPROCAL: return 1.0f / v;
  default: return fabs(v);
  }
}

inline float unary_one(float v, int op) {
  switch (op) {
  case UNARY_ERF: return erf(v);
  case UNARY_SQRT: return sqrt(v);
  case UNARY_EXP: return exp(v);
  case UNARY_LOG: return log(v);
  case UNARY_NEG: return -v;
  case UNARY_RECIPROCAL: return 1.0f / v;
  default: return fabs(v);
  }
}

/* y = op(x) over n contiguous floats; work-item i owns the run [i * CHUNK, (i + 1) * CHUNK). */
__kernel void eltwise_unary(__global const float *x, const int x_off, __global float *y, const int y_off, const int n,
                            const int op) {
  const long start = (long)get_global_id(0) * CHUNK;
  if (start >= n)
    return;
  const int p0 = (int)start, end = min(n, p0 + CHUNK);
  int p = p0;
  for (; p + 16 <= end; p += 16)
    vstore16(unary_vec(vload16(0, x + x_off + p), op), 0, y + y_off + p);
  for (; p < end; p++)
    y[y_off + p] = unary_one(x[x_off + p], op);
}

/* The GPU form: one float per work-item. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void eltwise_unary_gpu(__global const float *x,
                                                                                   const int x_off, __global float *y,
                                                                                   const int y_off, const int n,
                                                                                   const int op) {
  if (get_global_id(0) >= (size_t)n)
    return;
  const int i = (int)get_global_id(0);
  y[y_off + i] = unary_one(x[x_off + i], op);
}
