/* TFLite operators -> clseg graph nodes: elementwise math. ADD and MUL (a constant operand
 * becomes a 1x1 depthwise conv), the activations, SOFTMAX, PRELU. */
#include <stdio.h>
#include <stdlib.h>

#include "formats/tflite.h"
#include "graph_internal.h"

/* x op c with c a constant of one value or one per channel: a 1x1 depthwise conv (scale or shift).
 */
static clseg_node *const_operand(clseg__tfl_builder *b, const clseg__tfl_op *op, clseg_node *x,
                                 int32_t ct, int mul) {
  const float *c = clseg__tfl_const_f32(b, ct);
  size_t n = c ? clseg__tfl_count_of(clseg__tfl_tensor_of(b, ct)) : 0, ch = (size_t)x->channels;
  if (!c)
    return NULL;
  if (n != 1 &&
      (n != ch ||
       clseg__tfl_tensor_of(b, ct)->dims[clseg__tfl_tensor_of(b, ct)->ndim - 1] != (int32_t)ch))
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "constant operand '%s' of %zu values (1 or one per channel supported)",
                           clseg__tfl_tensor_of(b, ct)->name, n),
           NULL;
  float *w = malloc(sizeof *w * ch * 2);
  if (!w)
    return clseg__tfl_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
  for (size_t i = 0; i < ch; i++) {
    w[i] = mul ? c[n == 1 ? 0 : i] : 1.0f;
    w[ch + i] = mul ? 0.0f : c[n == 1 ? 0 : i];
  }
  const clseg_conv2d_params p = {.groups = (int)ch};
  const int64_t wd[4] = {(int64_t)ch, 1, 1, 1}, bd = (int64_t)ch;
  char name[160];
  clseg_node *n1 =
      clseg_graph_conv2d(b->g, clseg__tfl_tensor_of(b, op->out[0])->name, x, (int64_t)ch, 1, 1, &p);
  snprintf(name, sizeof name, "%s.weight", n1 ? n1->name : "");
  int ok = n1 && clseg_graph_set_param(b->g, name, wd, 4, w) == CLSEG_OK;
  snprintf(name, sizeof name, "%s.bias", n1 ? n1->name : "");
  ok = ok && clseg_graph_set_param(b->g, name, &bd, 1, w + ch) == CLSEG_OK;
  free(w);
  return ok ? n1 : NULL;
}

/* ADD, MUL with broadcasting (NHWC broadcasting is NCHW broadcasting after the permutation);
 * options: act. */
int clseg__tfl_binary(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  int mul = op->code == CLSEG__TFL_MUL;
  int32_t at = clseg__tfl_in(op, 0), ct = clseg__tfl_in(op, 1);
  if (!clseg__tfl_want_options(b, op, mul ? 21 : 11) || at < 0 || ct < 0)
    return at < 0 || ct < 0 ? clseg__tfl_fail(b, CLSEG_FORMAT, "two inputs needed") : 0;
  if (!b->node[at]) { /* a constant first: swap (both ops commute) */
    at = clseg__tfl_in(op, 1);
    ct = clseg__tfl_in(op, 0);
  }
  clseg_node *a = clseg__tfl_node_of(b, at), *y;
  if (!a)
    return 0;
  if (b->node[ct])
    y = clseg_graph_binary(b->g, mul ? CLSEG_BINARY_MUL : CLSEG_BINARY_ADD, a, b->node[ct]);
  else
    y = const_operand(b, op, a, ct, mul);
  return clseg__tfl_set_out(b, op, clseg__tfl_fused_act(b, y, clseg__tfl_opt(b, op, 0, 1, 0)));
}

int clseg__tfl_activation(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  clseg_act_kind k = op->code == CLSEG__TFL_LOGISTIC ? CLSEG_ACT_SIGMOID
                     : op->code == CLSEG__TFL_RELU   ? CLSEG_ACT_RELU
                     : op->code == CLSEG__TFL_RELU6  ? CLSEG_ACT_RELU6
                     : op->code == CLSEG__TFL_TANH   ? CLSEG_ACT_TANH
                                                     : CLSEG_ACT_HARD_SWISH;
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  return x && clseg__tfl_set_out(b, op, clseg_graph_activation(b->g, x, k));
}

int clseg__tfl_softmax(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  if (!x || !clseg__tfl_want_options(b, op, 9))
    return 0;
  float beta = clseg__tfl_opt_float(b->m, op, 0, 1.0f);
  if (beta != 1.0f)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "beta %g (1 supported)", (double)beta);
  return clseg__tfl_set_out(b, op, clseg_graph_softmax_channels(b->g, x));
}

/* PRELU with a constant alpha of one value or one per channel (the last NHWC axis, the others 1:
 * Keras' shared_axes=[1, 2] gives [1, 1, C]). */
int clseg__tfl_prelu(clseg__tfl_builder *b, const clseg__tfl_op *op) {
  clseg_node *x = clseg__tfl_node_of(b, clseg__tfl_in(op, 0));
  const int32_t at = clseg__tfl_in(op, 1);
  const float *a = x && at >= 0 ? clseg__tfl_const_f32(b, at) : NULL;
  if (!a)
    return x && at < 0 ? clseg__tfl_fail(b, CLSEG_FORMAT, "no alpha") : 0;
  const clseg__tfl_tensor *t = clseg__tfl_tensor_of(b, at);
  size_t n = clseg__tfl_count_of(t);
  int per_channel = n > 1 && n == (size_t)x->channels && t->dims[t->ndim - 1] == (int32_t)n;
  if (n != 1 && !per_channel)
    return clseg__tfl_fail(
        b, CLSEG_UNSUPPORTED,
        "alpha '%s' of %zu values is unsupported (one, or one per channel of %lld)", t->name, n,
        (long long)x->channels);
  char name[160];
  const int64_t count = (int64_t)n;
  clseg_node *y =
      clseg_graph_prelu(b->g, clseg__tfl_tensor_of(b, op->out[0])->name, x, per_channel);
  snprintf(name, sizeof name, "%s.weight", y ? y->name : "");
  if (y && clseg_graph_set_param(b->g, name, &count, 1, a) != CLSEG_OK)
    return clseg__tfl_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  return clseg__tfl_set_out(b, op, y);
}
