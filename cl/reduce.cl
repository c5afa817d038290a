/* Placeholder: the reduce kernels are being written. */
__kernel void reduce_placeholder(__global float *y) { y[0] = 0.0f; }
