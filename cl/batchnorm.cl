/* Inference batchnorm with a fused activation: y = act((x - mean) * gamma / sqrt(var + eps) + beta), per
 * channel, over NCHW where each (n, c) plane of hw floats is contiguous. */
#define ACTIVATION_FUNCS_ONLY
#include "activation.cl"

/* Dimension 0 runs over CHUNK-float runs of one plane, dimension 1 over the n * C planes: the per-channel
 * scale is worked out once per run, and the plane is read with unit stride along the vector lanes. */
__kernel void batchnorm_apply(__global const float *x, const int x_off, __global float *y, const int y_off,
                              __global const float *gamma, const int g_off, __global const float *beta,
                              const int b_off, __global const float *mean, const int m_off,
                              __global const float *var, const int v_off, const int channels, const int hw,
                              const float eps, const int kind, const float alpha, const float act_beta) {
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
