/* Placeholder: the conv kernels are being written. */
__kernel void conv_placeholder(__global float *y) { y[0] = 0.0f; }
