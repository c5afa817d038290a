/* TFLite operators -> clseg graph nodes: NHWC tensors become NCHW nodes, weights are dequantized
 * and transposed at load, SAME padding is resolved from the model's static shapes. One handler per
 * operator. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "formats/tflite.h"
#include "graph_internal.h"

typedef struct {
  clseg__tfl_model *m;
  clseg_graph *g;
  clseg_node **node; /* per tensor: the node computing it, NULL for constants */
  float **cst;       /* per tensor: float32 contents of constants, made on first use */
  int opi;           /* the operator being mapped, for messages */
  clseg_status status;
  char err[1024];
} builder;

static int bfail(builder *b, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bfail(builder *b, clseg_status s, const char *fmt, ...) {
  if (b->status == CLSEG_OK) {
    const clseg__tfl_op *op = b->opi >= 0 ? &b->m->ops[b->opi] : NULL;
    const char *name = op ? clseg__tfl_op_name(op->code) : NULL;
    int k = op ? snprintf(b->err, sizeof b->err, "operator %d (%s '%s'): ", b->opi,
                          name ? name : "?", b->m->tensors[op->out[0]].name)
               : 0;
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < sizeof b->err)
      vsnprintf(b->err + k, sizeof b->err - (size_t)k, fmt, ap);
    va_end(ap);
    b->status = s;
  }
  return 0;
}

static const clseg__tfl_tensor *tensor(const builder *b, int32_t i) {
  return &b->m->tensors[i];
}

/* Input i of op, or -1 when absent. */
static int32_t in_at(const clseg__tfl_op *op, int i) {
  return i < op->nin ? op->in[i] : -1;
}

/* The NCHW shape of an activation tensor: [N, H, W, C] -> [N, C, H, W]; [N, A, C] -> [N, C, A, 1]
 * (a detector's [1, anchors, values]: the last axis stays the channels, as in NHWC); [N, C] and
 * [C] as 1x1 maps. */
static int nchw(builder *b, int32_t t, int64_t s[4]) {
  const clseg__tfl_tensor *x = tensor(b, t);
  const int32_t *d = x->dims;
  if (x->ndim == 4) {
    s[0] = d[0], s[1] = d[3], s[2] = d[1], s[3] = d[2];
  } else if (x->ndim == 3) {
    s[0] = d[0], s[1] = d[2], s[2] = d[1], s[3] = 1;
  } else if (x->ndim == 2 || x->ndim == 1) {
    s[0] = x->ndim == 2 ? d[0] : 1, s[1] = d[x->ndim - 1], s[2] = s[3] = 1;
  } else {
    return bfail(b, CLSEG_UNSUPPORTED, "tensor '%s' has %d dimensions (1 to 4 are supported)",
                 x->name, x->ndim);
  }
  if (s[0] != 1)
    return bfail(b, CLSEG_UNSUPPORTED, "tensor '%s' has batch size %lld (1 is supported)", x->name,
                 (long long)s[0]);
  return 1;
}

/* The node computing tensor t; fails for constants and for tensors not produced yet. */
static clseg_node *node_of(builder *b, int32_t t) {
  if (t < 0)
    return bfail(b, CLSEG_FORMAT, "a required input is missing"), NULL;
  if (!b->node[t])
    return bfail(b, tensor(b, t)->data || b->cst[t] ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
                 "tensor '%s' is %s", tensor(b, t)->name,
                 tensor(b, t)->data || b->cst[t] ? "a constant where an activation is expected"
                                                 : "read before any operator produces it"),
           NULL;
  return b->node[t];
}

static size_t count_of(const clseg__tfl_tensor *x) {
  size_t n = 1;
  for (int d = 0; d < x->ndim; d++)
    n *= (size_t)x->dims[d];
  return n;
}

/* The float32 contents of constant tensor t (float32 or float16 in the file). */
static const float *const_f32(builder *b, int32_t t) {
  if (t < 0)
    return bfail(b, CLSEG_FORMAT, "a required constant input is missing"), NULL;
  const clseg__tfl_tensor *x = tensor(b, t);
  if (b->cst[t])
    return b->cst[t];
  if (!x->data || (x->type != CLSEG__TFL_FLOAT32 && x->type != CLSEG__TFL_FLOAT16))
    return bfail(b, CLSEG_UNSUPPORTED, "tensor '%s' is not a float32 or float16 constant", x->name),
           NULL;
  size_t n = count_of(x);
  float *f = malloc(sizeof *f * (n ? n : 1));
  if (!f)
    return bfail(b, CLSEG_OUT_OF_MEMORY, "out of memory converting '%s'", x->name), NULL;
  for (size_t i = 0; i < n; i++) {
    f[i] = x->type == CLSEG__TFL_FLOAT16 ? clseg__half_to_float(clseg__rd_u16(x->data + 2 * i))
                                         : clseg__rd_f32(x->data + 4 * i);
  }
  return b->cst[t] = f;
}

/* n int32 values of constant tensor t. */
static int const_i32(builder *b, int32_t t, int32_t *out, size_t n) {
  const clseg__tfl_tensor *x = t >= 0 ? tensor(b, t) : NULL;
  if (!x || !x->data || x->type != CLSEG__TFL_INT32 || count_of(x) != n)
    return bfail(b, CLSEG_UNSUPPORTED, "input '%s' must be an int32 constant of %zu values",
                 x ? x->name : "", n);
  for (size_t i = 0; i < n; i++)
    out[i] = clseg__rd_i32(x->data + 4 * i);
  return 1;
}

/* Checks the union type of the op's options: absent (defaults) or the expected table. */
static int want_options(builder *b, const clseg__tfl_op *op, int type) {
  if (op->opt_type && op->opt_type != type)
    return bfail(b, CLSEG_FORMAT, "builtin options of type %d, expected %d", op->opt_type, type);
  return 1;
}

static int opt(builder *b, const clseg__tfl_op *op, int id, int size, int32_t def) {
  return clseg__tfl_opt_int(b->m, op, id, size, def);
}

/* Adds the fused activation (TFLite's ActivationFunctionType) after x. */
static clseg_node *fused_act(builder *b, clseg_node *x, int fused) {
  static const clseg_activation acts[] = {{CLSEG_ACT_NONE, 0, 0},
                                          {CLSEG_ACT_RELU, 0, 0},
                                          {CLSEG_ACT_CLIP, -1, 1},
                                          {CLSEG_ACT_RELU6, 0, 0},
                                          {CLSEG_ACT_TANH, 0, 0}};
  if (!x || fused == 0)
    return x;
  if (fused < 0 || fused > 4)
    return bfail(b, CLSEG_UNSUPPORTED,
                 "fused activation %d (NONE, RELU, RELU_N1_TO_1, RELU6, TANH supported)", fused),
           NULL;
  return clseg_graph_activation_ex(b->g, x, &acts[fused]);
}

/* Records node x as the op's output, failing on a graph error. */
static int set_out(builder *b, const clseg__tfl_op *op, clseg_node *x) {
  if (!x)
    return b->status == CLSEG_OK ? bfail(b, clseg_graph_status(b->g), "%s", clseg_graph_error(b->g))
                                 : 0;
  b->node[op->out[0]] = x;
  return 1;
}

/* Padding on one axis for TFLite's SAME (pad 0) or VALID (1), checked against the model's output
 * size. */
static int conv_pad(builder *b, int64_t in, int64_t out, int k, int s, int d, int padding, int *p0,
                    int *p1) {
  if (k < 1 || s < 1 || d < 1 || k > 4096 || s > 4096 || d > 4096)
    return bfail(b, CLSEG_FORMAT, "kernel %d, stride %d, dilation %d", k, s, d);
  int64_t eff = (int64_t)(k - 1) * d + 1;
  int64_t want = padding == 0 ? (in + s - 1) / s : (in - eff + s) / s;
  if (padding != 0 && padding != 1)
    return bfail(b, CLSEG_UNSUPPORTED, "padding mode %d", padding);
  if (want != out || want < 1)
    return bfail(b, CLSEG_FORMAT,
                 "%s padding of %lld with kernel %d stride %d gives %lld, the model says %lld",
                 padding ? "VALID" : "SAME", (long long)in, k, s, (long long)want, (long long)out);
  int64_t total = padding == 0 ? (out - 1) * s + eff - in : 0;
  total = total > 0 ? total : 0;
  *p0 = (int)(total / 2);
  *p1 = (int)(total - total / 2);
  return 1;
}

/* Sets NAME.weight (dims given) and NAME.bias from constant tensor bias_t (may be -1). */
static int set_weights(builder *b, const clseg_node *n, const int64_t wd[4], const float *w,
                       int32_t bias_t) {
  char name[160];
  snprintf(name, sizeof name, "%s.weight", n->name);
  if (clseg_graph_set_param(b->g, name, wd, 4, w) != CLSEG_OK)
    return bfail(b, clseg_graph_status(b->g), "%s", clseg_graph_error(b->g));
  if (bias_t < 0)
    return 1;
  const float *bias = const_f32(b, bias_t);
  int64_t bd = (int64_t)count_of(tensor(b, bias_t));
  snprintf(name, sizeof name, "%s.bias", n->name);
  if (!bias)
    return 0;
  if (clseg_graph_set_param(b->g, name, &bd, 1, bias) != CLSEG_OK)
    return bfail(b, clseg_graph_status(b->g), "%s", clseg_graph_error(b->g));
  return 1;
}

/* Weights [O, KH, KW, I] of a 4-D constant, permuted into out as [O, I, KH, KW] (dw: [I*mult, 1,
 * KH, KW] from [1, KH, KW, I*mult]) or, for transposed convs, [I, O, KH, KW]. */
enum { W_CONV, W_DEPTHWISE, W_TRANSPOSED };
static float *permute_weights(builder *b, int32_t wt, int layout, int64_t wd[4]) {
  const clseg__tfl_tensor *x = tensor(b, wt);
  const float *w = const_f32(b, wt);
  if (!w)
    return NULL;
  if (x->ndim != 4)
    return bfail(b, CLSEG_FORMAT, "weights '%s' have %d dimensions", x->name, x->ndim), NULL;
  int64_t o = x->dims[0], kh = x->dims[1], kw = x->dims[2], i = x->dims[3];
  float *out = malloc(sizeof *out * count_of(x));
  if (!out)
    return bfail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
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
static int op_conv(builder *b, const clseg__tfl_op *op, int dw) {
  int64_t xs[4], ys[4], wd[4];
  int32_t wt = in_at(op, 1), bt = in_at(op, 2);
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !want_options(b, op, dw ? 2 : 1) || !nchw(b, in_at(op, 0), xs) ||
      !nchw(b, op->out[0], ys) || wt < 0)
    return wt < 0 ? bfail(b, CLSEG_FORMAT, "no weights") : 0;
  float *w = permute_weights(b, wt, dw ? W_DEPTHWISE : W_CONV, wd);
  if (!w)
    return 0;
  int a = dw ? 1 : 0; /* the depthwise table has depth_multiplier at 3, shifting the rest by one */
  clseg_conv2d_params p = {.stride_w = opt(b, op, 1, 4, 0),
                           .stride_h = opt(b, op, 2, 4, 0),
                           .dilation_w = opt(b, op, 4 + a, 4, 1),
                           .dilation_h = opt(b, op, 5 + a, 4, 1)};
  int padding = opt(b, op, 0, 1, 0), ok = wd[2] == wd[3];
  if (!ok)
    bfail(b, CLSEG_UNSUPPORTED, "kernel %lldx%lld: square kernels only", (long long)wd[2],
          (long long)wd[3]);
  int64_t cout = wd[0], cin = wd[1];
  ok = ok &&
       conv_pad(b, xs[2], ys[2], (int)wd[2], p.stride_h, p.dilation_h, padding, &p.pad_top,
                &p.pad_bottom) &&
       conv_pad(b, xs[3], ys[3], (int)wd[3], p.stride_w, p.dilation_w, padding, &p.pad_left,
                &p.pad_right);
  if (ok && (cin != x->channels && !dw))
    ok = bfail(b, CLSEG_FORMAT, "weights for %lld input channels, the input has %lld",
               (long long)cin, (long long)x->channels);
  if (ok && dw && wd[0] % x->channels)
    ok = bfail(b, CLSEG_FORMAT, "%lld depthwise outputs for %lld channels", (long long)wd[0],
               (long long)x->channels);
  if (dw)
    p.groups = (int)x->channels;
  clseg_node *n =
      ok ? clseg_graph_conv2d(b->g, tensor(b, op->out[0])->name, x, cout, (int)wd[2], bt >= 0, &p)
         : NULL;
  ok = ok && set_out(b, op, n) && set_weights(b, n, wd, w, bt);
  free(w);
  if (ok)
    b->node[op->out[0]] = fused_act(b, n, opt(b, op, 3 + a, 1, 0));
  return ok && set_out(b, op, b->node[op->out[0]]);
}

static int op_conv2d(builder *b, const clseg__tfl_op *op) {
  return op_conv(b, op, 0);
}
static int op_depthwise(builder *b, const clseg__tfl_op *op) {
  return op_conv(b, op, 1);
}

/* A transposed conv of input xt with weights wt [O, KH, KW, I], bias bt, stride, padding (0 SAME, 1
 * VALID). */
static int convt(builder *b, const clseg__tfl_op *op, int32_t xt, int32_t wt, int32_t bt, int sh,
                 int sw, int act) {
  int64_t xs[4], ys[4], wd[4];
  clseg_node *x = node_of(b, xt);
  if (!x || !nchw(b, xt, xs) || !nchw(b, op->out[0], ys))
    return 0;
  if (sh < 1 || sw < 1 || sh > 4096 || sw > 4096)
    return bfail(b, CLSEG_FORMAT, "stride %dx%d", sh, sw);
  float *w = permute_weights(b, wt, W_TRANSPOSED, wd);
  if (!w)
    return 0;
  clseg_conv_transpose2d_params p = {.stride_h = sh, .stride_w = sw};
  int64_t tot_h = (xs[2] - 1) * sh + wd[2] - ys[2], tot_w = (xs[3] - 1) * sw + wd[3] - ys[3];
  int ok = wd[2] == wd[3] && wd[0] == x->channels && tot_h > -sh && tot_w > -sw && tot_h <= wd[2] &&
           tot_w <= wd[3];
  if (!ok)
    bfail(b, CLSEG_UNSUPPORTED,
          "kernel %lldx%lld for %lld channels, %lldx%lld -> %lldx%lld at stride %dx%d",
          (long long)wd[2], (long long)wd[3], (long long)wd[0], (long long)xs[2], (long long)xs[3],
          (long long)ys[2], (long long)ys[3], sh, sw);
  p.pad_top = tot_h > 0 ? (int)(tot_h / 2) : 0,
  p.pad_bottom = tot_h > 0 ? (int)(tot_h - tot_h / 2) : 0;
  p.pad_left = tot_w > 0 ? (int)(tot_w / 2) : 0,
  p.pad_right = tot_w > 0 ? (int)(tot_w - tot_w / 2) : 0;
  p.output_pad_h = tot_h < 0 ? (int)-tot_h : 0, p.output_pad_w = tot_w < 0 ? (int)-tot_w : 0;
  clseg_node *n = ok ? clseg_graph_conv_transpose2d(b->g, tensor(b, op->out[0])->name, x, wd[1],
                                                    (int)wd[2], bt >= 0, &p)
                     : NULL;
  ok = ok && set_out(b, op, n) && set_weights(b, n, wd, w, bt);
  free(w);
  return ok && set_out(b, op, fused_act(b, n, act));
}

/* TRANSPOSE_CONV: inputs output_shape, weights, input[, bias]; options padding, stride_w, stride_h,
 * act. */
static int op_transpose_conv(builder *b, const clseg__tfl_op *op) {
  if (!want_options(b, op, 49))
    return 0;
  return convt(b, op, in_at(op, 2), in_at(op, 1), in_at(op, 3), opt(b, op, 2, 4, 0),
               opt(b, op, 1, 4, 0), opt(b, op, 3, 1, 0));
}

/* MediaPipe's Convolution2DTransposeBias: inputs input, weights, bias; custom options are the raw C
 * struct {int32 padding (1 SAME, 2 VALID), int32 stride_width, int32 stride_height}. */
static int op_convt_bias(builder *b, const clseg__tfl_op *op) {
  if (op->custom_len < 12)
    return bfail(b, CLSEG_FORMAT, "custom options of %zu bytes, expected 12", op->custom_len);
  int32_t pad = clseg__rd_i32(op->custom_opt), sw = clseg__rd_i32(op->custom_opt + 4),
          sh = clseg__rd_i32(op->custom_opt + 8);
  if (pad != 1 && pad != 2)
    return bfail(b, CLSEG_UNSUPPORTED, "padding code %d (1 SAME, 2 VALID)", pad);
  return convt(b, op, in_at(op, 0), in_at(op, 1), in_at(op, 2), sh, sw, 0);
}

/* AVERAGE_POOL_2D, MAX_POOL_2D: options padding, stride_w, stride_h, filter_width, filter_height,
 * act. A VALID window covering the whole input is a global pool. */
static int op_pool(builder *b, const clseg__tfl_op *op) {
  int64_t xs[4], ys[4];
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !want_options(b, op, 5) || !nchw(b, in_at(op, 0), xs) || !nchw(b, op->out[0], ys))
    return 0;
  clseg_pool2d_params p = {.kind =
                               op->code == CLSEG__TFL_MAX_POOL_2D ? CLSEG_POOL_MAX : CLSEG_POOL_AVG,
                           .stride_w = opt(b, op, 1, 4, 0),
                           .stride_h = opt(b, op, 2, 4, 0),
                           .kernel_w = opt(b, op, 3, 4, 0),
                           .kernel_h = opt(b, op, 4, 4, 0)};
  int padding = opt(b, op, 0, 1, 0), act = opt(b, op, 5, 1, 0);
  if (padding == 1 && p.kernel_h == xs[2] && p.kernel_w == xs[3] && ys[2] == 1 && ys[3] == 1)
    return set_out(b, op, fused_act(b, clseg_graph_global_pool(b->g, x, p.kind), act));
  if (!conv_pad(b, xs[2], ys[2], p.kernel_h, p.stride_h, 1, padding, &p.pad_top, &p.pad_bottom) ||
      !conv_pad(b, xs[3], ys[3], p.kernel_w, p.stride_w, 1, padding, &p.pad_left, &p.pad_right))
    return 0;
  return set_out(
      b, op, fused_act(b, clseg_graph_pool2d(b->g, x, &p), act)); /* TFLite averages without pads */
}

/* MEAN over H and W (axes {1, 2} of NHWC): a global average pool. */
static int op_mean(builder *b, const clseg__tfl_op *op) {
  const clseg__tfl_tensor *ax = in_at(op, 1) >= 0 ? tensor(b, in_at(op, 1)) : NULL;
  int32_t axes[2];
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !want_options(b, op, 27) || !ax ||
      !const_i32(b, in_at(op, 1), axes, count_of(ax) == 2 ? 2 : 0))
    return ax ? 0 : bfail(b, CLSEG_FORMAT, "no axes");
  int a0 = axes[0] < 0 ? axes[0] + 4 : axes[0], a1 = axes[1] < 0 ? axes[1] + 4 : axes[1];
  if (tensor(b, in_at(op, 0))->ndim != 4 || !((a0 == 1 && a1 == 2) || (a0 == 2 && a1 == 1)))
    return bfail(b, CLSEG_UNSUPPORTED,
                 "a mean over axes %d, %d (H and W of a 4-D tensor supported)", axes[0], axes[1]);
  return set_out(b, op, clseg_graph_global_pool(b->g, x, CLSEG_POOL_AVG));
}

/* x op c with c a constant of one value or one per channel: a 1x1 depthwise conv (scale or shift).
 */
static clseg_node *const_operand(builder *b, const clseg__tfl_op *op, clseg_node *x, int32_t ct,
                                 int mul) {
  const float *c = const_f32(b, ct);
  size_t n = c ? count_of(tensor(b, ct)) : 0, ch = (size_t)x->channels;
  if (!c)
    return NULL;
  if (n != 1 && (n != ch || tensor(b, ct)->dims[tensor(b, ct)->ndim - 1] != (int32_t)ch))
    return bfail(b, CLSEG_UNSUPPORTED,
                 "constant operand '%s' of %zu values (1 or one per channel supported)",
                 tensor(b, ct)->name, n),
           NULL;
  float *w = malloc(sizeof *w * ch * 2);
  if (!w)
    return bfail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
  for (size_t i = 0; i < ch; i++) {
    w[i] = mul ? c[n == 1 ? 0 : i] : 1.0f;
    w[ch + i] = mul ? 0.0f : c[n == 1 ? 0 : i];
  }
  const clseg_conv2d_params p = {.groups = (int)ch};
  const int64_t wd[4] = {(int64_t)ch, 1, 1, 1}, bd = (int64_t)ch;
  char name[160];
  clseg_node *n1 = clseg_graph_conv2d(b->g, tensor(b, op->out[0])->name, x, (int64_t)ch, 1, 1, &p);
  snprintf(name, sizeof name, "%s.weight", n1 ? n1->name : "");
  int ok = n1 && clseg_graph_set_param(b->g, name, wd, 4, w) == CLSEG_OK;
  snprintf(name, sizeof name, "%s.bias", n1 ? n1->name : "");
  ok = ok && clseg_graph_set_param(b->g, name, &bd, 1, w + ch) == CLSEG_OK;
  free(w);
  return ok ? n1 : NULL;
}

/* ADD, MUL with broadcasting (NHWC broadcasting is NCHW broadcasting after the permutation);
 * options: act. */
static int op_binary(builder *b, const clseg__tfl_op *op) {
  int mul = op->code == CLSEG__TFL_MUL;
  int32_t at = in_at(op, 0), ct = in_at(op, 1);
  if (!want_options(b, op, mul ? 21 : 11) || at < 0 || ct < 0)
    return at < 0 || ct < 0 ? bfail(b, CLSEG_FORMAT, "two inputs needed") : 0;
  if (!b->node[at]) { /* a constant first: swap (both ops commute) */
    at = in_at(op, 1);
    ct = in_at(op, 0);
  }
  clseg_node *a = node_of(b, at), *y;
  if (!a)
    return 0;
  if (b->node[ct])
    y = clseg_graph_binary(b->g, mul ? CLSEG_BINARY_MUL : CLSEG_BINARY_ADD, a, b->node[ct]);
  else
    y = const_operand(b, op, a, ct, mul);
  return set_out(b, op, fused_act(b, y, opt(b, op, 0, 1, 0)));
}

static int op_activation(builder *b, const clseg__tfl_op *op) {
  clseg_act_kind k = op->code == CLSEG__TFL_LOGISTIC ? CLSEG_ACT_SIGMOID
                     : op->code == CLSEG__TFL_RELU   ? CLSEG_ACT_RELU
                     : op->code == CLSEG__TFL_RELU6  ? CLSEG_ACT_RELU6
                     : op->code == CLSEG__TFL_TANH   ? CLSEG_ACT_TANH
                                                     : CLSEG_ACT_HARD_SWISH;
  clseg_node *x = node_of(b, in_at(op, 0));
  return x && set_out(b, op, clseg_graph_activation(b->g, x, k));
}

/* RESIZE_BILINEAR by an integer factor. half_pixel_centers is our align_corners = 0; align_corners
 * is ours; neither is TFLite's legacy rule (src = dst * in / out), which clseg_resize lacks. */
static int op_resize(builder *b, const clseg__tfl_op *op) {
  int64_t xs[4], ys[4];
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !want_options(b, op, 15) || !nchw(b, in_at(op, 0), xs) || !nchw(b, op->out[0], ys))
    return 0;
  int align = opt(b, op, 2, 1, 0), half = opt(b, op, 3, 1, 0);
  if (align == half)
    return bfail(b, CLSEG_UNSUPPORTED, "align_corners=%d with half_pixel_centers=%d: %s", align,
                 half,
                 align ? "an invalid combination"
                       : "TFLite's legacy sampling (src = dst * in / out) is not "
                         "implemented by clseg_resize");
  int64_t s = ys[2] / xs[2];
  if (s < 1 || s > 64 || ys[2] != xs[2] * s || ys[3] != xs[3] * s)
    return bfail(b, CLSEG_UNSUPPORTED,
                 "%lldx%lld -> %lldx%lld is not one integer scale on both axes", (long long)xs[2],
                 (long long)xs[3], (long long)ys[2], (long long)ys[3]);
  const clseg_resize_params p = {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = align};
  return set_out(b, op, clseg_graph_resize_scale(b->g, x, (int)s, &p));
}

/* CONCATENATION along channels (the last NHWC axis); options axis, act. */
/* CONCATENATION along the channels (the last axis), or along H: axis 1 of a 4-D NHWC tensor or of
 * a 3-D [N, A, C] one (a detector's anchors). */
static int op_concat(builder *b, const clseg__tfl_op *op) {
  int rank = tensor(b, op->out[0])->ndim, axis = opt(b, op, 0, 4, 0);
  if (!want_options(b, op, 10))
    return 0;
  axis = axis < 0 ? axis + rank : axis;
  const int along_h = axis == 1 && (rank == 4 || rank == 3);
  if (axis != rank - 1 && !along_h)
    return bfail(b, CLSEG_UNSUPPORTED, "axis %d of a %d-D tensor (channels or H only)", axis, rank);
  clseg_node **xs = malloc(sizeof *xs * (size_t)(op->nin ? op->nin : 1));
  if (!xs)
    return bfail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  int ok = 1;
  for (int i = 0; i < op->nin && ok; i++)
    ok = (xs[i] = node_of(b, op->in[i])) != NULL;
  clseg_node *y = !ok       ? NULL
                  : along_h ? clseg_graph_concat_h(b->g, xs, op->nin)
                            : clseg_graph_concat(b->g, xs, op->nin);
  free(xs);
  return ok && set_out(b, op, fused_act(b, y, opt(b, op, 1, 1, 0)));
}

/* PAD with zeros on H and W of a 4-D tensor; paddings [4, 2] int32. */
static int op_pad(builder *b, const clseg__tfl_op *op) {
  int32_t pads[8];
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || tensor(b, in_at(op, 0))->ndim != 4)
    return x ? bfail(b, CLSEG_UNSUPPORTED, "only 4-D tensors are padded") : 0;
  if (!const_i32(b, in_at(op, 1), pads, 8))
    return 0;
  for (int i = 0; i < 8; i++)
    if (pads[i] < 0 || pads[i] > 4096 || (pads[i] && (i < 2 || i > 5)))
      return bfail(b, CLSEG_UNSUPPORTED, "paddings %d %d / %d %d / %d %d / %d %d (H and W only)",
                   pads[0], pads[1], pads[2], pads[3], pads[4], pads[5], pads[6], pads[7]);
  const clseg_pad_params p = {.top = pads[2], .bottom = pads[3], .left = pads[4], .right = pads[5]};
  return set_out(b, op, clseg_graph_pad(b->g, x, &p));
}

/* RESHAPE: nothing where the NCHW layout does not change ([1, 1, 1, C] <-> [1, C]); else the data
 * regrouped in TFLite's own (NHWC) order (a detector's [1, H, W, A * K] -> [1, H * W * A, K]). */
static int op_reshape(builder *b, const clseg__tfl_op *op) {
  int64_t xs[4], ys[4];
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !nchw(b, in_at(op, 0), xs))
    return 0;
  if (!nchw(b, op->out[0], ys))
    return 0;
  if (!memcmp(xs, ys, sizeof xs))
    return set_out(b, op, x);
  if (xs[1] * xs[2] * xs[3] != ys[1] * ys[2] * ys[3])
    return bfail(b, CLSEG_FORMAT, "a reshape from %lld to %lld elements",
                 (long long)(xs[1] * xs[2] * xs[3]), (long long)(ys[1] * ys[2] * ys[3]));
  return set_out(b, op, clseg_graph_reshape_nhwc(b->g, x, ys[1], ys[2], ys[3]));
}

static int op_softmax(builder *b, const clseg__tfl_op *op) {
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !want_options(b, op, 9))
    return 0;
  float beta = clseg__tfl_opt_float(b->m, op, 0, 1.0f);
  if (beta != 1.0f)
    return bfail(b, CLSEG_UNSUPPORTED, "beta %g (1 supported)", (double)beta);
  return set_out(b, op, clseg_graph_softmax_channels(b->g, x));
}

/* PRELU with a constant alpha of one value or one per channel (the last NHWC axis, the others 1:
 * Keras' shared_axes=[1, 2] gives [1, 1, C]). */
static int op_prelu(builder *b, const clseg__tfl_op *op) {
  clseg_node *x = node_of(b, in_at(op, 0));
  const int32_t at = in_at(op, 1);
  const float *a = x && at >= 0 ? const_f32(b, at) : NULL;
  if (!a)
    return x && at < 0 ? bfail(b, CLSEG_FORMAT, "no alpha") : 0;
  const clseg__tfl_tensor *t = tensor(b, at);
  size_t n = count_of(t);
  int per_channel = n > 1 && n == (size_t)x->channels && t->dims[t->ndim - 1] == (int32_t)n;
  if (n != 1 && !per_channel)
    return bfail(b, CLSEG_UNSUPPORTED,
                 "alpha '%s' of %zu values is unsupported (one, or one per channel of %lld)",
                 t->name, n, (long long)x->channels);
  char name[160];
  const int64_t count = (int64_t)n;
  clseg_node *y = clseg_graph_prelu(b->g, tensor(b, op->out[0])->name, x, per_channel);
  snprintf(name, sizeof name, "%s.weight", y ? y->name : "");
  if (y && clseg_graph_set_param(b->g, name, &count, 1, a) != CLSEG_OK)
    return bfail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  return set_out(b, op, y);
}

/* DEPTH_TO_SPACE and SPACE_TO_DEPTH on NHWC: the block offset is outermost in the depth axis, which
 * is ONNX's DCR order once the tensors are NCHW. Options: block_size. */
static int op_space_depth(builder *b, const clseg__tfl_op *op) {
  const int to_depth = op->code == CLSEG__TFL_SPACE_TO_DEPTH;
  clseg_node *x = node_of(b, in_at(op, 0));
  if (!x || !want_options(b, op, to_depth ? 19 : 94))
    return 0;
  const int bs = opt(b, op, 0, 4, 0);
  if (bs < 1 || bs > 1024)
    return bfail(b, CLSEG_FORMAT, "block_size %d (1 to 1024)", bs);
  return set_out(b, op,
                 to_depth ? clseg_graph_space_to_depth(b->g, x, bs)
                          : clseg_graph_depth_to_space(b->g, x, bs, CLSEG_DEPTH_TO_SPACE_DCR));
}

/* FULLY_CONNECTED: weights [out, in] on the input read as rows of in values: [1, C] (a RESHAPE to
 * [1, H W C] is reshape_nhwc, already in TFLite's order), or a [1, H, W, C] tensor with in = H W C,
 * whose NHWC weight columns are permuted to the NCHW order clseg's linear reads. */
static int op_fully_connected(builder *b, const clseg__tfl_op *op) {
  int32_t xt = in_at(op, 0), wt = in_at(op, 1), bt = in_at(op, 2);
  clseg_node *x = node_of(b, xt);
  int64_t s[4];
  if (!x || !want_options(b, op, 8) || !nchw(b, xt, s))
    return 0;
  const int act = opt(b, op, 0, 1, 0), format = opt(b, op, 1, 1, 0), keep = opt(b, op, 2, 1, 0);
  const clseg__tfl_tensor *w = wt >= 0 ? tensor(b, wt) : NULL;
  const int64_t k = s[1] * s[2] * s[3], hw = s[2] * s[3];
  if (format || (keep && tensor(b, xt)->ndim != 2))
    return bfail(b, CLSEG_UNSUPPORTED, "%s %d is unsupported",
                 format ? "weights_format" : "keep_num_dims", format ? format : keep);
  if (!w || w->ndim != 2 || w->dims[1] != k)
    return bfail(b, CLSEG_UNSUPPORTED,
                 "weights of shape %s[%d, %d] for an input of %lld values per image (one row "
                 "per image supported)",
                 w ? "" : "(none) ", w && w->ndim == 2 ? w->dims[0] : 0,
                 w && w->ndim == 2 ? w->dims[1] : 0, (long long)k);
  const int64_t m = w->dims[0];
  const float *wf = const_f32(b, wt), *bf = bt >= 0 ? const_f32(b, bt) : NULL;
  if (!wf || (bt >= 0 && !bf))
    return 0;
  if (bf && count_of(tensor(b, bt)) != (size_t)m)
    return bfail(b, CLSEG_FORMAT, "bias of %zu values for %lld outputs", count_of(tensor(b, bt)),
                 (long long)m);
  float *p = malloc(sizeof *p * (size_t)(m * k));
  if (!p)
    return bfail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  for (int64_t o = 0; o < m; o++) /* NHWC column (h W + w) C + c -> NCHW column c H W + h W + w */
    for (int64_t c = 0; c < s[1]; c++)
      for (int64_t i = 0; i < hw; i++)
        p[o * k + c * hw + i] = wf[o * k + i * s[1] + c];
  char pn[200];
  const int64_t wd[2] = {m, k};
  clseg_node *y = clseg__graph_linear(b->g, tensor(b, op->out[0])->name, x, m, k, bf != NULL);
  snprintf(pn, sizeof pn, "%s.weight", y ? y->name : "");
  int ok = y && clseg_graph_set_param(b->g, pn, wd, 2, p) == CLSEG_OK;
  snprintf(pn, sizeof pn, "%s.bias", y ? y->name : "");
  ok = ok && (!bf || clseg_graph_set_param(b->g, pn, &m, 1, bf) == CLSEG_OK);
  free(p);
  if (y && !ok)
    return bfail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  return set_out(b, op, fused_act(b, y, act));
}

/* STRIDED_SLICE of a 4-D tensor with strides 1: a crop of H, W and C (a pad by negative amounts).
 * Options: begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask, offset. */
static int op_strided_slice(builder *b, const clseg__tfl_op *op) {
  static const char *const names[6] = {"begin_mask",    "end_mask",         "ellipsis_mask",
                                       "new_axis_mask", "shrink_axis_mask", "offset"};
  clseg_node *x = node_of(b, in_at(op, 0));
  int32_t be[4], en[4], st[4], o[6];
  if (!x || !want_options(b, op, 32))
    return 0;
  const clseg__tfl_tensor *t = tensor(b, in_at(op, 0)), *y = tensor(b, op->out[0]);
  if (t->ndim != 4)
    return bfail(b, CLSEG_UNSUPPORTED, "a slice of a %d-D tensor (4-D supported)", t->ndim);
  if (!const_i32(b, in_at(op, 1), be, 4) || !const_i32(b, in_at(op, 2), en, 4) ||
      !const_i32(b, in_at(op, 3), st, 4))
    return 0;
  for (int i = 0; i < 6; i++)
    if ((o[i] = opt(b, op, i, i == 5 ? 1 : 4, 0)) && i >= 2)
      return bfail(b, CLSEG_UNSUPPORTED, "%s %d is unsupported (0 supported)", names[i], o[i]);
  int64_t lo[4], hi[4];
  for (int a = 0; a < 4; a++) {
    const int64_t d = t->dims[a];
    if (st[a] != 1)
      return bfail(b, CLSEG_UNSUPPORTED, "strides[%d] = %d is unsupported (1 supported)", a, st[a]);
    lo[a] = o[0] >> a & 1 ? 0 : be[a] < 0 ? be[a] + d : be[a];
    hi[a] = o[1] >> a & 1 ? d : en[a] < 0 ? en[a] + d : en[a];
    lo[a] = lo[a] < 0 ? 0 : lo[a] > d ? d : lo[a];
    hi[a] = hi[a] < lo[a] ? lo[a] : hi[a] > d ? d : hi[a];
    if (hi[a] == lo[a] || (a == 0 && hi[a] - lo[a] != d) ||
        (y->ndim == 4 && y->dims[a] != hi[a] - lo[a]))
      return bfail(b, a == 0 || hi[a] == lo[a] ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
                   "axis %d sliced to [%lld, %lld) of %lld (the output says %d)", a,
                   (long long)lo[a], (long long)hi[a], (long long)d,
                   y->ndim == 4 ? y->dims[a] : -1);
  }
  if (y->ndim != 4)
    return bfail(b, CLSEG_FORMAT, "the output has %d dimensions", y->ndim);
  const clseg_pad_params p = {.top = (int)-lo[1],
                              .bottom = (int)(hi[1] - t->dims[1]),
                              .left = (int)-lo[2],
                              .right = (int)(hi[2] - t->dims[2]),
                              .front = (int)-lo[3],
                              .back = (int)(hi[3] - t->dims[3])};
  if (!p.top && !p.bottom && !p.left && !p.right && !p.front && !p.back)
    return set_out(b, op, x);
  return set_out(b, op, clseg_graph_pad(b->g, x, &p));
}

/* Constant t, as float32, becomes tensor out's constant (load-time ops: DEQUANTIZE, DENSIFY). */
static int pass_constant(builder *b, int32_t t, int32_t out) {
  if (!const_f32(b, t))
    return 0;
  free(b->cst[out]);
  b->cst[out] = b->cst[t];
  b->cst[t] = NULL;
  return 1;
}

/* DEQUANTIZE of a float16 constant: the output is a float32 constant, made now. */
static int op_dequantize(builder *b, const clseg__tfl_op *op) {
  int32_t t = in_at(op, 0);
  if (t < 0 || b->node[t] || tensor(b, t)->type != CLSEG__TFL_FLOAT16 ||
      tensor(b, op->out[0])->type != CLSEG__TFL_FLOAT32 ||
      count_of(tensor(b, t)) != count_of(tensor(b, op->out[0])))
    return bfail(b, CLSEG_UNSUPPORTED,
                 "only float16 constants are dequantized (to float32 of the same shape)");
  return pass_constant(b, t, op->out[0]);
}

/* DENSIFY of a constant stored sparse: the reader made it dense at load (lib/formats/tflite.c), so
 * the output is that constant. */
static int op_densify(builder *b, const clseg__tfl_op *op) {
  int32_t t = in_at(op, 0);
  if (t < 0 || b->node[t] || count_of(tensor(b, t)) != count_of(tensor(b, op->out[0])) ||
      tensor(b, t)->type != tensor(b, op->out[0])->type)
    return bfail(b, CLSEG_UNSUPPORTED,
                 "only constants are densified (to the same type and element count)");
  return pass_constant(b, t, op->out[0]);
}

typedef int (*handler)(builder *b, const clseg__tfl_op *op);
static const struct {
  int code;
  handler fn;
} handlers[] = {{CLSEG__TFL_ADD, op_binary},
                {CLSEG__TFL_AVERAGE_POOL_2D, op_pool},
                {CLSEG__TFL_CONCATENATION, op_concat},
                {CLSEG__TFL_CONV_2D, op_conv2d},
                {CLSEG__TFL_DEPTHWISE_CONV_2D, op_depthwise},
                {CLSEG__TFL_DEPTH_TO_SPACE, op_space_depth},
                {CLSEG__TFL_SPACE_TO_DEPTH, op_space_depth},
                {CLSEG__TFL_DENSIFY, op_densify},
                {CLSEG__TFL_DEQUANTIZE, op_dequantize},
                {CLSEG__TFL_FULLY_CONNECTED, op_fully_connected},
                {CLSEG__TFL_STRIDED_SLICE, op_strided_slice},
                {CLSEG__TFL_LOGISTIC, op_activation},
                {CLSEG__TFL_MAX_POOL_2D, op_pool},
                {CLSEG__TFL_MUL, op_binary},
                {CLSEG__TFL_RELU, op_activation},
                {CLSEG__TFL_RELU6, op_activation},
                {CLSEG__TFL_RESHAPE, op_reshape},
                {CLSEG__TFL_RESIZE_BILINEAR, op_resize},
                {CLSEG__TFL_SOFTMAX, op_softmax},
                {CLSEG__TFL_TANH, op_activation},
                {CLSEG__TFL_PAD, op_pad},
                {CLSEG__TFL_PRELU, op_prelu},
                {CLSEG__TFL_MEAN, op_mean},
                {CLSEG__TFL_TRANSPOSE_CONV, op_transpose_conv},
                {CLSEG__TFL_HARD_SWISH, op_activation}};

#define CONVT_BIAS "Convolution2DTransposeBias"

static handler find_handler(const clseg__tfl_op *op) {
  if (op->code == CLSEG__TFL_CUSTOM)
    return !strcmp(op->custom, CONVT_BIAS) ? op_convt_bias : NULL;
  for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
    if (handlers[i].code == op->code)
      return handlers[i].fn;
  return NULL;
}

int clseg__tfl_supported(const clseg__tfl_op *op) {
  return find_handler(op) != NULL;
}

/* Maps every operator in order; the graph has its input, output and parameters on success. */
static int build_all(builder *b) {
  const clseg__tfl_tensor *in = tensor(b, b->m->input);
  if (in->ndim != 4 || in->dims[0] != 1 || in->type != CLSEG__TFL_FLOAT32 || in->data)
    return bfail(b, CLSEG_UNSUPPORTED, "input '%s' must be a float32 [1, H, W, C] tensor",
                 in->name);
  b->node[b->m->input] = clseg_graph_input(b->g, in->name, in->dims[3]);
  for (b->opi = 0; b->opi < b->m->nops && b->status == CLSEG_OK; b->opi++) {
    const clseg__tfl_op *op = &b->m->ops[b->opi];
    if (b->node[op->out[0]] || b->cst[op->out[0]] || op->out[0] == b->m->input)
      return bfail(b, CLSEG_FORMAT, "tensor '%s' is written twice", tensor(b, op->out[0])->name);
    if (!find_handler(op)(b, op) || b->m->fb.failed) {
      if (b->m->fb.failed)
        bfail(b, CLSEG_FORMAT, "options: %s", b->m->fb.err);
      return bfail(b, CLSEG_INTERNAL, "the handler failed without a message");
    }
  }
  b->opi = -1;
  for (int i = 0; i < b->m->noutputs; i++) { /* the subgraph's order: the first is the main one */
    const int32_t t = b->m->outputs[i];
    if (!b->node[t])
      return bfail(b, b->cst[t] || tensor(b, t)->data ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
                   "output '%s' is %s", tensor(b, t)->name,
                   b->cst[t] || tensor(b, t)->data ? "a constant" : "not computed");
    if (clseg_graph_output(b->g, b->node[t], tensor(b, t)->name) != CLSEG_OK)
      return bfail(b, clseg_graph_status(b->g), "%s", clseg_graph_error(b->g));
  }
  return 1;
}

clseg_status clseg__tfl_build(clseg__tfl_model *m, clseg_graph **out, char *err, size_t errlen) {
  builder b = {.m = m, .opi = -1};
  *out = NULL;
  b.g = clseg_graph_create();
  b.node = calloc((size_t)m->ntensors + 1, sizeof *b.node);
  b.cst = calloc((size_t)m->ntensors + 1, sizeof *b.cst);
  if (!b.g || !b.node || !b.cst)
    bfail(&b, CLSEG_OUT_OF_MEMORY, "out of memory");
  else
    build_all(&b);
  for (int i = 0; b.cst && i < m->ntensors; i++)
    free(b.cst[i]);
  free(b.cst);
  free(b.node);
  if (b.status != CLSEG_OK) {
    snprintf(err, errlen, "%s", b.err);
    clseg_graph_free(b.g);
    return b.status;
  }
  *out = b.g;
  return CLSEG_OK;
}
