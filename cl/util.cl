/* Small utility kernels: fill and strided copy between tensors (used by concat, slice and tests). */
#include "common.h"

__kernel void util_fill(__global float *y, const int y_off, const float value, const int n) {
  const int i = get_global_id(0);
  if (i < n)
    y[y_off + i] = value;
}

/* Copies rows of `len` floats: row r of x starts at x_off + r * x_stride, of y at y_off + r * y_stride. */
__kernel void util_copy_rows(__global const float *x, const int x_off, const int x_stride, __global float *y,
                             const int y_off, const int y_stride, const int len, const int rows) {
  const int i = get_global_id(0), r = get_global_id(1);
  if (i < len && r < rows)
    y[y_off + r * y_stride + i] = x[x_off + r * x_stride + i];
}
