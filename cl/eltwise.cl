/* Placeholder: the eltwise kernels are being written. */
__kernel void eltwise_placeholder(__global float *y) { y[0] = 0.0f; }
