/* Placeholder: the batchnorm kernels are being written. */
__kernel void batchnorm_placeholder(__global float *y) { y[0] = 0.0f; }
