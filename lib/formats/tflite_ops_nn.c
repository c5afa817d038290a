/* TFLite operators -> clseg graph nodes: the layers with weights or windows. CONV_2D,
 * DEPTHWISE_CONV_2D, TRANSPOSE_CONV (and MediaPipe's Convolution2DTransposeBias), the pools, MEAN,
 * FULLY_CONNECTED. Weights are dequantized and transposed at load; SAME padding is resolved from
 * the model's static shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "formats/tflite.h"
#include "graph_internal.h"

/* Padding on one axis for TFLite's SAME (pad 0) or VALID (1), checked against the model's output
 * size. */
static int conv_pad(clseg__tfl_builder *b, int64_t in, int64_t out, int k, int s, int d,
                    int padding, int *p0, int *p1) {
  if (k < 1 || s < 1 || d < 1 || k > 4096 || s > 4096 || d > 4096)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "kernel %d, stride %d, dilation %d", k, s, d);
  int64_t eff = (int64_t)(k - 1) * d + 1;
  int64_t want = padding == 0 ? (in + s - 1) / s : (in - eff + s) / s;
  if (padding != 0 && padding != 1)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "padding mode %d", padding);
  if (want != out || want < 1)
    return clseg__tfl_fail(
        b, CLSEG_FORMAT,
        "%s padding of %lld with kernel %d stride %d gives %lld, the model says %lld",
        padding ? "VALID" : "SAME", (long long)in, k, s, (long long)want, (long long)out);
  int64_t total = padding == 0 ? (out - 1) * s + eff - in : 0;
  total = total > 0 ? total : 0;
  *p0 = (int)(total / 2);
  *p1 = (int)(total - total / 2);
  return 1;
}

/* Sets NAME.weight (dims given) and NAME.bias from constant tensor bias_t (may be -1). */
static int set_weights(clseg__tfl_builder *b, const clseg_node *n, const int64_t wd[4],
                       const float *w, int32_t bias_t) {
  char name[160];
  snprintf(name, sizeof name, "%s.weight", n->name);
  if (clseg_graph_set_param(b->g, name, wd, 4, w) != CLSEG_OK)
    return clseg__tfl_graph_fail(b);
  if (bias_t < 0)
    return 1;
  const float *bias = clseg__tfl_const_f32(b, bias_t);
  int64_t bd = (int64_t)clseg__tfl_count_of(clseg__tfl_tensor_of(b, bias_t));
  snprintf(name, sizeof name, "%s.bias", n->name);
  if (!bias)
    return 0;
  if (clseg_graph_set_param(b->g, name, &bd, 1, bias) != CLSEG_OK)
    return clseg__tfl_graph_fail(b);
  return 1;
}

/* Weights [O, KH, KW, I] of a 4-D constant, permuted into out as [O, I, KH, KW] (dw: [I*mult, 1,
 * KH, KW] from [1, KH, KW, I*mult]) or, for transposed convs, [I, O, KH, KW]. */
enum { W_CONV, W_DEPTHWISE, W_TRANSPOSED };
static float *permute_weights(clseg__tfl_builder *b, int32_t wt, int layout, int64_t wd[4]) {
  const clseg__tfl_tensor *x = clseg__tfl_tensor_of(b, wt);
  const float *w = clseg__tfl_const_f32(b, wt);
  if (!w)
    return NULL;
  if (x->ndim != 4)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "weights '%s' have %d dimensions", x->name, x->ndim),
           NULL;
  int64_t o = x->dims[0], kh = x->dims[1], kw = x->dims[2], i = x->dims[3];
  float *out = malloc(sizeof *out * clseg__tfl_count_of(x));
  if (!out)
    return clseg__tfl_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
  for (int64_t a = 0; a < o; a++)
    for (int64_t y = 0; y < kh; y++)
      for (int64_t xx = 0; xx < kw; xx++)
        for (int64_t c = 0; c < i; c++) {
          float v = w[((a * kh + y) * kw + xx) * i + c];
          size_t at = layout == W_CONV        ? (size_t)(((a * i + c) * kh + y) * kw + xx)
                      : layout == W_DEPTHWISE ? (size_t)((c * kh + y) * kw + xx)
                                              : (size_t)(((c * o + a) * kh + y) * kw + xx);
          out[at] = v;
        }
  const int64_t conv[4] = {o, i, kh, kw}, dw[4] = {i, 1, kh, kw}, tr[4] = {i, o, kh, kw};
  memcpy(wd, layout == W_CONV ? conv : layout == W_DEPTHWISE ? dw : tr, sizeof conv);
  return out;
}

/* CONV_2D and DEPTHWISE_CONV_2D: options padding, stride_w, stride_h, [depth_multiplier,]
 * activation, dilation_w, dilation_h. */
static int op_conv(clseg__tfl_builder *b, const clseg__tfl_op *op, int dw) {
  int64_t xs[4], ys[4], wd[4];
  int32_t wt = clseg__tfl_in(op, 1), bt = clseg__tfl_in(op, 2);
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_want_options(b, op, dw ? 2 : 1) ||
      !clseg__tfl_nchw(b, clseg__tfl_in(op, 0), xs) || !clseg__tfl_nchw(b, op->out[0], ys) ||
      wt < 0)
    return wt < 0 ? clseg__tfl_fail(b, CLSEG_FORMAT, "no weights") : 0;
  float *w = permute_weights(b, wt, dw ? W_DEPTHWISE : W_CONV, wd);
  if (!w)
    return 0;
  int a = dw ? 1 : 0; /* the depthwise table has depth_multiplier at 3, shifting the rest by one */
  clseg_conv2d_params p = {.stride_w = clseg__tfl_opt(b, op, 1, 4, 0),
                           .stride_h = clseg__tfl_opt(b, op, 2, 4, 0),
                           .dilation_w = clseg__tfl_opt(b, op, 4 + a, 4, 1),
                           .dilation_h = clseg__tfl_opt(b, op, 5 + a, 4, 1)};
  int padding = clseg__tfl_opt(b, op, 0, 1, 0), ok = wd[2] == wd[3];
  if (!ok)
    clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "kernel %lldx%lld: square kernels only", (long long)wd[2],
                    (long long)wd[3]);
  int64_t cout = wd[0], cin = wd[1];
  ok = ok &&
       conv_pad(b, xs[2], ys[2], (int)wd[2], p.stride_h, p.dilation_h, padding, &p.pad_top,
                &p.pad_bottom) &&
       conv_pad(b, xs[3], ys[3], (int)wd[3], p.stride_w, p.dilation_w, padding, &p.pad_left,
                &p.pad_right);
  if (ok && (cin != x->channels && !dw))
    ok = clseg__tfl_fail(b, CLSEG_FORMAT, "weights for %lld input channels, the input has %lld",
                         (long long)cin, (long long)x->channels);
  if (ok && dw && wd[0] % x->channels)
    ok = clseg__tfl_fail(b, CLSEG_FORMAT, "%lld depthwise outputs for %lld channels",
                         (long long)wd[0], (long long)x->channels);
  if (dw)
    p.groups = (int)x->channels;
  clseg_node *n = ok ? clseg_graph_conv2d(b->g, clseg__tfl_tensor_of(b, op->out[0])->name, x, cout,
                                          (int)wd[2], bt >= 0, &p)
                     : NULL;
  ok = ok && clseg__tfl_set_out(b, op, n) && set_weights(b, n, wd, w, bt);
  free(w);
  if (ok)
    b->node[op->out[0]] = clseg__tfl_fused_act(b, n, clseg__tfl_opt(b, op, 3 + a, 1, 0));
  return ok && clseg__tfl_set_out(b, op, b->node[op->out[0]]);
}

int clseg__tfl_conv2d(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  return op_conv(b, op, 0);
}
int clseg__tfl_depthwise(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  return op_conv(b, op, 1);
}

/* A transposed conv of input xt with weights wt [O, KH, KW, I], bias bt, stride, padding (0 SAME, 1
 * VALID). */
static int convt(clseg__tfl_builder *b, const clseg__tfl_op *op, int32_t xt, int32_t wt, int32_t bt,
                 int sh, int sw, int act) {
  int64_t xs[4], ys[4], wd[4];
  clseg_node *x = clseg__tfl_node_of(b, xt);
  if (!x || !clseg__tfl_nchw(b, xt, xs) || !clseg__tfl_nchw(b, op->out[0], ys))
    return 0;
  if (sh < 1 || sw < 1 || sh > 4096 || sw > 4096)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "stride %dx%d", sh, sw);
  float *w = permute_weights(b, wt, W_TRANSPOSED, wd);
  if (!w)
    return 0;
  clseg_conv_transpose2d_params p = {.stride_h = sh, .stride_w = sw};
  int64_t tot_h = (xs[2] - 1) * sh + wd[2] - ys[2], tot_w = (xs[3] - 1) * sw + wd[3] - ys[3];
  int ok = wd[2] == wd[3] && wd[0] == x->channels && tot_h > -sh && tot_w > -sw && tot_h <= wd[2] &&
           tot_w <= wd[3];
  if (!ok)
    clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                    "kernel %lldx%lld for %lld channels, %lldx%lld -> %lldx%lld at stride %dx%d",
                    (long long)wd[2], (long long)wd[3], (long long)wd[0], (long long)xs[2],
                    (long long)xs[3], (long long)ys[2], (long long)ys[3], sh, sw);
  p.pad_top = tot_h > 0 ? (int)(tot_h / 2) : 0,
  p.pad_bottom = tot_h > 0 ? (int)(tot_h - tot_h / 2) : 0;
  p.pad_left = tot_w > 0 ? (int)(tot_w / 2) : 0,
  p.pad_right = tot_w > 0 ? (int)(tot_w - tot_w / 2) : 0;
  p.output_pad_h = tot_h < 0 ? (int)-tot_h : 0, p.output_pad_w = tot_w < 0 ? (int)-tot_w : 0;
  clseg_node *n = ok ? clseg_graph_conv_transpose2d(b->g, clseg__tfl_tensor_of(b, op->out[0])->name,
                                                    x, wd[1], (int)wd[2], bt >= 0, &p)
                     : NULL;
  ok = ok && clseg__tfl_set_out(b, op, n) && set_weights(b, n, wd, w, bt);
  free(w);
  return ok && clseg__tfl_set_out(b, op, clseg__tfl_fused_act(b, n, act));
}

/* TRANSPOSE_CONV: inputs output_shape, weights, input[, bias]; options padding, stride_w, stride_h,
 * act. */
int clseg__tfl_transpose_conv(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  if (!clseg__tfl_want_options(b, op, 49))
    return 0;
  return convt(b, op, clseg__tfl_in(op, 2), clseg__tfl_in(op, 1), clseg__tfl_in(op, 3),
               clseg__tfl_opt(b, op, 2, 4, 0), clseg__tfl_opt(b, op, 1, 4, 0),
               clseg__tfl_opt(b, op, 3, 1, 0));
}

/* MediaPipe's Convolution2DTransposeBias: inputs input, weights, bias; custom options are the raw C
 * struct {int32 padding (1 SAME, 2 VALID), int32 stride_width, int32 stride_height}. */
int clseg__tfl_convt_bias(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  if (op->custom_len < 12)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "custom options of %zu bytes, expected 12",
                           op->custom_len);
  int32_t pad = clseg__rd_i32(op->custom_opt), sw = clseg__rd_i32(op->custom_opt + 4),
          sh = clseg__rd_i32(op->custom_opt + 8);
  if (pad != 1 && pad != 2)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "padding code %d (1 SAME, 2 VALID)", pad);
  return convt(b, op, clseg__tfl_in(op, 0), clseg__tfl_in(op, 1), clseg__tfl_in(op, 2), sh, sw, 0);
}

/* AVERAGE_POOL_2D, MAX_POOL_2D: options padding, stride_w, stride_h, filter_width, filter_height,
 * act. A VALID window covering the whole input is a global pool. */
int clseg__tfl_pool(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int64_t xs[4], ys[4];
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_want_options(b, op, 5) || !clseg__tfl_nchw(b, clseg__tfl_in(op, 0), xs) ||
      !clseg__tfl_nchw(b, op->out[0], ys))
    return 0;
  clseg_pool2d_params p = {.kind =
                               op->code == CLSEG__TFL_MAX_POOL_2D ? CLSEG_POOL_MAX : CLSEG_POOL_AVG,
                           .stride_w = clseg__tfl_opt(b, op, 1, 4, 0),
                           .stride_h = clseg__tfl_opt(b, op, 2, 4, 0),
                           .kernel_w = clseg__tfl_opt(b, op, 3, 4, 0),
                           .kernel_h = clseg__tfl_opt(b, op, 4, 4, 0)};
  int padding = clseg__tfl_opt(b, op, 0, 1, 0), act = clseg__tfl_opt(b, op, 5, 1, 0);
  if (padding == 1 && p.kernel_h == xs[2] && p.kernel_w == xs[3] && ys[2] == 1 && ys[3] == 1)
    return clseg__tfl_set_out(
        b, op, clseg__tfl_fused_act(b, clseg_graph_global_pool(b->g, x, p.kind), act));
  if (!conv_pad(b, xs[2], ys[2], p.kernel_h, p.stride_h, 1, padding, &p.pad_top, &p.pad_bottom) ||
      !conv_pad(b, xs[3], ys[3], p.kernel_w, p.stride_w, 1, padding, &p.pad_left, &p.pad_right))
    return 0;
  return clseg__tfl_set_out(b, op,
                            clseg__tfl_fused_act(b, clseg_graph_pool2d(b->g, x, &p),
                                                 act)); /* TFLite averages without pads */
}

/* MEAN over H and W (axes {1, 2} of NHWC): a global average pool. */
int clseg__tfl_mean(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  const clseg__tfl_tensor *ax =
      clseg__tfl_in(op, 1) >= 0 ? clseg__tfl_tensor_of(b, clseg__tfl_in(op, 1)) : NULL;
  int32_t axes[2];
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_want_options(b, op, 27) || !ax ||
      !clseg__tfl_const_i32(b, clseg__tfl_in(op, 1), axes, clseg__tfl_count_of(ax) == 2 ? 2 : 0))
    return ax ? 0 : clseg__tfl_fail(b, CLSEG_FORMAT, "no axes");
  int a0 = axes[0] < 0 ? axes[0] + 4 : axes[0], a1 = axes[1] < 0 ? axes[1] + 4 : axes[1];
  if (clseg__tfl_tensor_of(b, clseg__tfl_in(op, 0))->ndim != 4 ||
      !((a0 == 1 && a1 == 2) || (a0 == 2 && a1 == 1)))
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "a mean over axes %d, %d (H and W of a 4-D tensor supported)", axes[0],
                           axes[1]);
  return clseg__tfl_set_out(b, op, clseg_graph_global_pool(b->g, x, CLSEG_POOL_AVG));
}

/* FULLY_CONNECTED: weights [out, in] on the input read as rows of in values: [1, C] (a RESHAPE to
 * [1, H W C] is reshape_nhwc, already in TFLite's order), or a [1, H, W, C] tensor with in = H W C,
 * whose NHWC weight columns are permuted to the NCHW order clseg's linear reads. */
int clseg__tfl_fully_connected(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int32_t xt = clseg__tfl_in(op, 0), wt = clseg__tfl_in(op, 1), bt = clseg__tfl_in(op, 2);
  clseg_node *x = clseg__tfl_node_of(b, xt);
  int64_t s[4];
  if (!x || !clseg__tfl_want_options(b, op, 8) || !clseg__tfl_nchw(b, xt, s))
    return 0;
  const int act = clseg__tfl_opt(b, op, 0, 1, 0), format = clseg__tfl_opt(b, op, 1, 1, 0),
            keep = clseg__tfl_opt(b, op, 2, 1, 0);
  const clseg__tfl_tensor *w = wt >= 0 ? clseg__tfl_tensor_of(b, wt) : NULL;
  const int64_t k = s[1] * s[2] * s[3], hw = s[2] * s[3];
  if (format || (keep && clseg__tfl_tensor_of(b, xt)->ndim != 2))
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "%s %d is unsupported",
                           format ? "weights_format" : "keep_num_dims", format ? format : keep);
  if (!w || w->ndim != 2 || w->dims[1] != k)
    return clseg__tfl_fail(
        b, CLSEG_UNSUPPORTED,
        "weights of shape %s[%d, %d] for an input of %lld values per image (one row "
        "per image supported)",
        w ? "" : "(none) ", w && w->ndim == 2 ? w->dims[0] : 0, w && w->ndim == 2 ? w->dims[1] : 0,
        (long long)k);
  const int64_t m = w->dims[0];
  const float *wf = clseg__tfl_const_f32(b, wt), *bf = bt >= 0 ? clseg__tfl_const_f32(b, bt) : NULL;
  if (!wf || (bt >= 0 && !bf))
    return 0;
  if (bf && clseg__tfl_count_of(clseg__tfl_tensor_of(b, bt)) != (size_t)m)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "bias of %zu values for %lld outputs",
                           clseg__tfl_count_of(clseg__tfl_tensor_of(b, bt)), (long long)m);
  float *p = malloc(sizeof *p * (size_t)(m * k));
  if (!p)
    return clseg__tfl_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  for (int64_t o = 0; o < m; o++) /* NHWC column (h W + w) C + c -> NCHW column c H W + h W + w */
    for (int64_t c = 0; c < s[1]; c++)
      for (int64_t i = 0; i < hw; i++)
        p[o * k + c * hw + i] = wf[o * k + i * s[1] + c];
  char pn[200];
  const int64_t wd[2] = {m, k};
  clseg_node *y =
      clseg__graph_linear(b->g, clseg__tfl_tensor_of(b, op->out[0])->name, x, m, k, bf != NULL);
  snprintf(pn, sizeof pn, "%s.weight", y ? y->name : "");
  int ok = y && clseg_graph_set_param(b->g, pn, wd, 2, p) == CLSEG_OK;
  snprintf(pn, sizeof pn, "%s.bias", y ? y->name : "");
  ok = ok && (!bf || clseg_graph_set_param(b->g, pn, &m, 1, bf) == CLSEG_OK);
  free(p);
  if (y && !ok)
    return clseg__tfl_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  return clseg__tfl_set_out(b, op, clseg__tfl_fused_act(b, y, act));
}
