/* Reference conv2d and conv_transpose2d (PyTorch semantics, asymmetric pads) as direct nested
 * loops. */
#include "ref/ref.h"

static int or1(int v) {
  return v == 0 ? 1 : v;
}

/* Resolved geometry of one conv: defaults applied. */
typedef struct {
  int64_t sh, sw, dh, dw, g;
} conv_geom;

int ref_conv2d_shape(const int64_t xs[4], const int64_t ws[4], const clseg_conv2d_params *p,
                     int64_t ys[4]) {
  int64_t sh = or1(p->stride_h), sw = or1(p->stride_w), dh = or1(p->dilation_h),
          dw = or1(p->dilation_w);
  int64_t g = or1(p->groups);
  if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || g < 1 || p->pad_top < 0 || p->pad_left < 0 ||
      p->pad_bottom < 0 || p->pad_right < 0)
    return -1;
  if (xs[1] != ws[1] * g || ws[0] % g != 0)
    return -1;
  int64_t eh = xs[2] + p->pad_top + p->pad_bottom - dh * (ws[2] - 1) - 1;
  int64_t ew = xs[3] + p->pad_left + p->pad_right - dw * (ws[3] - 1) - 1;
  if (eh < 0 || ew < 0)
    return -1;
  ys[0] = xs[0];
  ys[1] = ws[0];
  ys[2] = eh / sh + 1;
  ys[3] = ew / sw + 1;
  return 0;
}

/* One output element of conv2d: the sum over the group's input channels and the kernel window. */
static double conv2d_point(const float *x, const int64_t xs[4], const float *w, const int64_t ws[4],
                           const clseg_conv2d_params *p, const conv_geom *k, int64_t n, int64_t co,
                           int64_t oh, int64_t ow) {
  int64_t cin_g = ws[1], cout_g = ws[0] / k->g, grp = co / cout_g;
  double acc = 0.0;
  for (int64_t ci = 0; ci < cin_g; ci++)
    for (int64_t kh = 0; kh < ws[2]; kh++) {
      int64_t ih = oh * k->sh - p->pad_top + kh * k->dh;
      if (ih < 0 || ih >= xs[2])
        continue;
      for (int64_t kw = 0; kw < ws[3]; kw++) {
        int64_t iw = ow * k->sw - p->pad_left + kw * k->dw;
        if (iw < 0 || iw >= xs[3])
          continue;
        acc += (double)x[ref_at(xs, n, grp * cin_g + ci, ih, iw)] * w[ref_at(ws, co, ci, kh, kw)];
      }
    }
  return acc;
}

void ref_conv2d(const float *x, const int64_t xs[4], const float *w, const int64_t ws[4],
                const float *b, const float *res, const clseg_conv2d_params *p, float *y,
                const int64_t ys[4]) {
  conv_geom k = {or1(p->stride_h), or1(p->stride_w), or1(p->dilation_h), or1(p->dilation_w),
                 or1(p->groups)};
  for (int64_t n = 0; n < ys[0]; n++)
    for (int64_t co = 0; co < ys[1]; co++)
      for (int64_t oh = 0; oh < ys[2]; oh++)
        for (int64_t ow = 0; ow < ys[3]; ow++) {
          size_t i = ref_at(ys, n, co, oh, ow);
          double acc = conv2d_point(x, xs, w, ws, p, &k, n, co, oh, ow);
          if (b)
            acc += b[co];
          if (res)
            acc += res[i];
          y[i] = ref_act1((float)acc, &p->act);
        }
}

int ref_conv_transpose2d_shape(const int64_t xs[4], const int64_t ws[4],
                               const clseg_conv_transpose2d_params *p, int64_t ys[4]) {
  int64_t sh = or1(p->stride_h), sw = or1(p->stride_w), dh = or1(p->dilation_h),
          dw = or1(p->dilation_w);
  int64_t g = or1(p->groups);
  if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || g < 1 || p->pad_top < 0 || p->pad_left < 0 ||
      p->pad_bottom < 0 || p->pad_right < 0 || p->output_pad_h < 0 || p->output_pad_w < 0)
    return -1;
  if (xs[1] != ws[0] || ws[0] % g != 0)
    return -1;
  if ((p->output_pad_h >= sh && p->output_pad_h >= dh) ||
      (p->output_pad_w >= sw && p->output_pad_w >= dw))
    return -1;
  ys[0] = xs[0];
  ys[1] = ws[1] * g;
  ys[2] = (xs[2] - 1) * sh - p->pad_top - p->pad_bottom + dh * (ws[2] - 1) + p->output_pad_h + 1;
  ys[3] = (xs[3] - 1) * sw - p->pad_left - p->pad_right + dw * (ws[3] - 1) + p->output_pad_w + 1;
  return ys[2] >= 1 && ys[3] >= 1 ? 0 : -1;
}

/* Gather form of the transposed conv: output row oh of the full (uncropped) output is oh + pad_top,
 * and input row ih with tap kh lands there when ih * stride + kh * dilation == oh + pad_top. */
static double convt_point(const float *x, const int64_t xs[4], const float *w, const int64_t ws[4],
                          const clseg_conv_transpose2d_params *p, const conv_geom *k, int64_t n,
                          int64_t co, int64_t oh, int64_t ow) {
  int64_t cin_g = xs[1] / k->g, cout_g = ws[1], grp = co / cout_g, col = co % cout_g;
  double acc = 0.0;
  for (int64_t kh = 0; kh < ws[2]; kh++) {
    int64_t th = oh + p->pad_top - kh * k->dh;
    if (th < 0 || th % k->sh != 0 || th / k->sh >= xs[2])
      continue;
    for (int64_t kw = 0; kw < ws[3]; kw++) {
      int64_t tw = ow + p->pad_left - kw * k->dw;
      if (tw < 0 || tw % k->sw != 0 || tw / k->sw >= xs[3])
        continue;
      for (int64_t ci = grp * cin_g; ci < (grp + 1) * cin_g; ci++)
        acc +=
            (double)x[ref_at(xs, n, ci, th / k->sh, tw / k->sw)] * w[ref_at(ws, ci, col, kh, kw)];
    }
  }
  return acc;
}

void ref_conv_transpose2d(const float *x, const int64_t xs[4], const float *w, const int64_t ws[4],
                          const float *b, const clseg_conv_transpose2d_params *p, float *y,
                          const int64_t ys[4]) {
  conv_geom k = {or1(p->stride_h), or1(p->stride_w), or1(p->dilation_h), or1(p->dilation_w),
                 or1(p->groups)};
  for (int64_t n = 0; n < ys[0]; n++)
    for (int64_t co = 0; co < ys[1]; co++)
      for (int64_t oh = 0; oh < ys[2]; oh++)
        for (int64_t ow = 0; ow < ys[3]; ow++) {
          double acc = convt_point(x, xs, w, ws, p, &k, n, co, oh, ow);
          if (b)
            acc += b[co];
          y[ref_at(ys, n, co, oh, ow)] = ref_act1((float)acc, &p->act);
        }
}
