/* Reference additive attention gate (Attention U-Net), composed from the conv, resize and batchnorm
 * references exactly in the order clseg_ops.h documents. */
#include <stdlib.h>

#include "ref/ref.h"

/* theta(x) + resize(phi(g)), relu, psi, sigmoid: the coarse attention map a [N, 1, Ht, Wt]. */
static int gate_coarse(const float *x, const int64_t xs[4], const float *g, const int64_t gs[4],
                       const ref_attention_gate_weights *wt, float **a_out, int64_t as[4]) {
  int s = wt->theta_stride ? wt->theta_stride : 1;
  const int64_t wts[4] = {wt->ci, xs[1], s, s}, wps[4] = {wt->ci, gs[1], 1, 1};
  const int64_t wss[4] = {1, wt->ci, 1, 1};
  clseg_conv2d_params tp = {.stride_h = s, .stride_w = s};
  clseg_conv2d_params one = {0};
  int64_t ts[4], ps[4] = {gs[0], wt->ci, gs[2], gs[3]};
  if (ref_conv2d_shape(xs, wts, &tp, ts) != 0)
    return -1;
  const int64_t as_[4] = {xs[0], 1, ts[2], ts[3]};
  float *theta = malloc(sizeof(float) * ref_count(ts));
  float *phi = malloc(sizeof(float) * ref_count(ps));
  float *phir = malloc(sizeof(float) * ref_count(ts));
  float *a = malloc(sizeof(float) * ref_count(as_));
  if (!theta || !phi || !phir || !a)
    goto fail;
  ref_conv2d(x, xs, wt->w_theta, wts, wt->b_theta, NULL, &tp, theta, ts);
  ref_conv2d(g, gs, wt->w_phi, wps, wt->b_phi, NULL, &one, phi, ps);
  const clseg_resize_params rp = {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0};
  ref_resize(phi, ps, &rp, phir, ts);
  /* relu(theta + phi) in place, then psi with a fused sigmoid. */
  const clseg_activation relu = {CLSEG_ACT_RELU, 0.0f, 0.0f};
  if (ref_binary(CLSEG_BINARY_ADD, theta, ts, phir, ts, &relu, theta, ts) != 0)
    goto fail;
  clseg_conv2d_params sp = {.act = {CLSEG_ACT_SIGMOID, 0.0f, 0.0f}};
  ref_conv2d(theta, ts, wt->w_psi, wss, wt->b_psi, NULL, &sp, a, as_);
  free(theta);
  free(phi);
  free(phir);
  for (int d = 0; d < 4; d++)
    as[d] = as_[d];
  *a_out = a;
  return 0;
fail:
  free(theta);
  free(phi);
  free(phir);
  free(a);
  return -1;
}

int ref_attention_gate(const float *x, const int64_t xs[4], const float *g, const int64_t gs[4],
                       const ref_attention_gate_weights *wt, float *alpha, float *y) {
  const int64_t als[4] = {xs[0], 1, xs[2], xs[3]};
  int64_t as[4];
  float *a = NULL, *al = malloc(sizeof(float) * ref_count(als));
  float *gated = malloc(sizeof(float) * ref_count(xs));
  int rc = -1;
  if (!al || !gated || gate_coarse(x, xs, g, gs, wt, &a, as) != 0)
    goto done;
  const clseg_resize_params rp = {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0};
  ref_resize(a, as, &rp, al, als);
  if (ref_binary(CLSEG_BINARY_MUL, x, xs, al, als, NULL, gated, xs) != 0)
    goto done;
  float *out = gated;
  if (wt->w_out) {
    const int64_t wos[4] = {xs[1], xs[1], 1, 1};
    const clseg_conv2d_params one = {0};
    ref_conv2d(gated, xs, wt->w_out, wos, wt->b_out, NULL, &one, y, xs);
    out = y;
  }
  if (wt->bn.gamma)
    ref_batchnorm(out, xs, wt->bn.gamma, wt->bn.beta, wt->bn.mean, wt->bn.var, wt->bn.eps, NULL, y);
  else if (out != y)
    for (size_t i = 0; i < ref_count(xs); i++)
      y[i] = out[i];
  if (alpha)
    for (size_t i = 0; i < ref_count(als); i++)
      alpha[i] = al[i];
  rc = 0;
done:
  free(a);
  free(al);
  free(gated);
  return rc;
}
