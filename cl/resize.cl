/* Placeholder: the resize kernels are being written. */
__kernel void resize_placeholder(__global float *y) { y[0] = 0.0f; }
