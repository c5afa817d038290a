/* Inference batchnorm with a fused activation: y = act((x - mean) * gamma / sqrt(var + eps) + beta), per
 * channel, over NCHW where each (n, c) plane of hw floats is contiguous. */
#define ACTIVATION_FUNCS_ONLY
#include "activation.cl"

/* Work-items per work-group of the GPU form (the tuning row's LOCAL); see activation.cl. */
#ifndef LOCAL
#define LOCAL 256
#endif

/* Dimension 0 runs over CHUNK-float runs of one plane, dimension 1 over the n * C planes: the per-channel
 * scale is worked out once per run, and the plane is read with unit stride along the vector lanes. */
/* `count` is the GPU form's: unused here, so that both forms take one argument list. */
__kernel void batchnorm_apply(__global const float *x, const int x_off, __global float *y, const int y_off,
                              __global const float *gamma, const int g_off, __global const float *beta, const int b_off,
                              __global const float *mean, const int m_off, __global const float *var, const int v_off,
                              const int channels, const int hw, const float eps, const int kind, const float alpha,
                              const float act_beta, const int count) {
  const long start = (long)get_global_id(0) * CHUNK;
  const int plane = get_global_id(1), c = plane % channels;
  if (start >= hw)
    return;
  const float scale = gamma[g_off + c] / sqrt(var[v_off + c] + eps);
  const float mu = mean[m_off + c], shift = beta[b_off + c];
  const int base = plane * hw, end = min(hw, (int)start + CHUNK);
  int p = (int)start;
  for (; p + 16 <= end; p += 16) {
    const float16 v = (vload16(0, x + x_off + base + p) - mu) * scale + shift;
    vstore16(act_vec(v, kind, alpha, act_beta), 0, y + y_off + base + p);
  }
  for (; p < end; p++)
    y[y_off + base + p] = act_apply((x[x_off + base + p] - mu) * scale + shift, kind, alpha, act_beta);
}

/* The GPU form: one float per work-item over all n * C * hw floats, so short planes (the deep layers' 8x8
 * or 1x1) fill whole warps too; the four parameter loads per item hit the cache. */
__kernel __attribute__((reqd_work_group_size(LOCAL, 1, 1))) void
batchnorm_apply_gpu(__global const float *x, const int x_off, __global float *y, const int y_off,
                    __global const float *gamma, const int g_off, __global const float *beta, const int b_off,
                    __global const float *mean, const int m_off, __global const float *var, const int v_off,
                    const int channels, const int hw, const float eps, const int kind, const float alpha,
                    const float act_beta, const int count) {
  if (get_global_id(0) >= (size_t)count)
    return;
  const int i = (int)get_global_id(0), c = (i / hw) % channels;
  const float scale = gamma[g_off + c] / sqrt(var[v_off + c] + eps);
  const float v = (x[x_off + i] - mean[m_off + c]) * scale + beta[b_off + c];
  y[y_off + i] = act_apply(v, kind, alpha, act_beta);
}
