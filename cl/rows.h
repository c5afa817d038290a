/* The (outer, n, inner) view shared by the reductions along dims (norm.cl, reduce.cl): element j of row
 * (o, i) lies at o * n * inner + j * inner + i. Two forms: a column form, one work-item per row looping
 * over n (PoCL's vectoriser runs neighbouring work-items, i.e. neighbouring i, in SIMD lanes; on a GPU
 * neighbours read neighbouring floats), and a work-group form, LOCAL work-items per row that reduce in
 * __local (rows with few or no inner neighbours on a GPU). */
#ifndef CLSEG_CL_ROWS_H
#define CLSEG_CL_ROWS_H

/* Work-items per row of the work-group forms (the tuning row's LOCAL, their reqd_work_group_size). */
#ifndef LOCAL
#define LOCAL 256
#endif

/* Elements summed before each partial sum joins the total in the column form: the rounding error of a
 * row of n grows like BLOCK + n / BLOCK instead of n (group statistics run over C/G * H * W). */
#define ROW_BLOCK 256

/* Helpers here and in their users are always inlined: a plain `inline` (C99 semantics) that the compiler
 * chose not to inline left row_wg_reduce an unresolved extern for ptxas (gpu-static, sm_90). */
#define ROW_INLINE inline __attribute__((always_inline))

#define ROW_SUM 0
#define ROW_MAX 1
#define ROW_MIN 2

ROW_INLINE float row_combine(const float a, const float b, const int kind) {
  return kind == ROW_SUM ? a + b : (kind == ROW_MAX ? fmax(a, b) : fmin(a, b));
}

/* Row r's first element and its (o, i) for the column form; 0 past the last row. */
ROW_INLINE int row_column(const int outer, const int n, const int inner, int *base) {
  const long r = (long)get_global_id(0);
  if (r >= (long)outer * inner)
    return 0;
  const int o = (int)(r / inner), i = (int)(r - (long)o * inner);
  *base = o * n * inner + i;
  return 1;
}

/* The float16 column form's work-item: 16 neighbouring rows i0 .. i0 + 15 of outer index o; 0 past the end.
 * A last, partial vector of an o (i0 + 16 > inner) goes row by row through the scalar column code. */
ROW_INLINE int row_vec_column(const int outer, const int inner, int *o, int *i0) {
  const int per = (inner + 15) / 16;
  if (get_global_id(0) >= (size_t)outer * per)
    return 0;
  *o = (int)get_global_id(0) / per;
  *i0 = ((int)get_global_id(0) - *o * per) * 16;
  return 1;
}

/* The work-group form's row: one work-group per row, o its outer index (for per-row parameters). */
ROW_INLINE int row_group(const int n, const int inner, int *o) {
  const int r = (int)get_group_id(0);
  *o = r / inner;
  return *o * n * inner + (r - *o * inner);
}

/* Combines v over the work-group (every work-item must call it) into every work-item's result. buf holds
 * LOCAL floats. Folds the items past the largest power of two first, so any LOCAL works. */
ROW_INLINE float row_wg_reduce(const float v, __local float *buf, const int kind) {
  const int lid = (int)get_local_id(0);
  int p = 1;
  while (2 * p <= LOCAL)
    p *= 2;
  buf[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid + p < LOCAL)
    buf[lid] = row_combine(buf[lid], buf[lid + p], kind);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = p / 2; s > 0; s >>= 1) {
    if (lid < s)
      buf[lid] = row_combine(buf[lid], buf[lid + s], kind);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = buf[0];
  barrier(CLK_LOCAL_MEM_FENCE); /* the next call's store must not overtake this read */
  return r;
}

#endif
