/* What the TFLite operator handlers share: the builder's error recording, tensors read as NCHW
 * nodes or float32 / int32 constants, options, the fused activation and the output record. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bytes.h"
#include "formats/tflite.h"
#include "graph_internal.h"

/* Prefixes the message on the thread's slot with the operator being mapped, if any. */
static int where(const clseg__tfl_builder *b) {
  const clseg__tfl_op *op = b->opi >= 0 ? &b->m->ops[b->opi] : NULL;
  const char *name = op ? clseg__tfl_op_name(op->code) : NULL;
  if (op)
    clseg__fail_prefix(NULL, b->status, "operator %d (%s '%s'): ", b->opi, name ? name : "?",
                       b->m->tensors[op->out[0]].name);
  return 0;
}

int clseg__tfl_fail(clseg__tfl_builder *b, clseg_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int first = clseg__fail_first(&b->status, s, fmt, ap);
  va_end(ap);
  return first ? where(b) : 0;
}

int clseg__tfl_fail_options(clseg__tfl_builder *b) {
  if (b->status != CLSEG_OK)
    return 0;
  b->status = clseg__fail_prefix(NULL, CLSEG_FORMAT, "options: ");
  return where(b);
}

const clseg__tfl_tensor *clseg__tfl_tensor_of(const clseg__tfl_builder *b, int32_t i) {
  return &b->m->tensors[i];
}

/* Input i of op, or -1 when absent. */
int32_t clseg__tfl_in(const clseg__tfl_op *op, int i) {
  return i < op->nin ? op->in[i] : -1;
}

/* The NCHW shape of an activation tensor: [N, H, W, C] -> [N, C, H, W]; [N, A, C] -> [N, C, A, 1]
 * (a detector's [1, anchors, values]: the last axis stays the channels, as in NHWC); [N, C] and
 * [C] as 1x1 maps. */
int clseg__tfl_nchw(clseg__tfl_builder *b, int32_t t, int64_t s[4]) {
  const clseg__tfl_tensor *x = clseg__tfl_tensor_of(b, t);
  const int32_t *d = x->dims;
  if (x->ndim == 4) {
    s[0] = d[0], s[1] = d[3], s[2] = d[1], s[3] = d[2];
  } else if (x->ndim == 3) {
    s[0] = d[0], s[1] = d[2], s[2] = d[1], s[3] = 1;
  } else if (x->ndim == 2 || x->ndim == 1) {
    s[0] = x->ndim == 2 ? d[0] : 1, s[1] = d[x->ndim - 1], s[2] = s[3] = 1;
  } else {
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "tensor '%s' has %d dimensions (1 to 4 are supported)", x->name,
                           x->ndim);
  }
  if (s[0] != 1)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "tensor '%s' has batch size %lld (1 is supported)",
                           x->name, (long long)s[0]);
  return 1;
}

/* The node computing tensor t; fails for constants and for tensors not produced yet. */
clseg_node *clseg__tfl_node_of(clseg__tfl_builder *b, int32_t t) {
  if (t < 0)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "a required input is missing"), NULL;
  if (!b->node[t])
    return clseg__tfl_fail(
               b, clseg__tfl_tensor_of(b, t)->data || b->cst[t] ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
               "tensor '%s' is %s", clseg__tfl_tensor_of(b, t)->name,
               clseg__tfl_tensor_of(b, t)->data || b->cst[t]
                   ? "a constant where an activation is expected"
                   : "read before any operator produces it"),
           NULL;
  return b->node[t];
}

size_t clseg__tfl_count_of(const clseg__tfl_tensor *x) {
  size_t n = 1;
  for (int d = 0; d < x->ndim; d++)
    n *= (size_t)x->dims[d];
  return n;
}

/* The float32 contents of constant tensor t (float32 or float16 in the file). */
const float *clseg__tfl_const_f32(clseg__tfl_builder *b, int32_t t) {
  if (t < 0)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "a required constant input is missing"), NULL;
  const clseg__tfl_tensor *x = clseg__tfl_tensor_of(b, t);
  if (b->cst[t])
    return b->cst[t];
  if (!x->data || (x->type != CLSEG__TFL_FLOAT32 && x->type != CLSEG__TFL_FLOAT16))
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "tensor '%s' is not a float32 or float16 constant",
                           x->name),
           NULL;
  size_t n = clseg__tfl_count_of(x);
  float *f = malloc(sizeof *f * (n ? n : 1));
  if (!f)
    return clseg__tfl_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory converting '%s'", x->name), NULL;
  for (size_t i = 0; i < n; i++) {
    f[i] = x->type == CLSEG__TFL_FLOAT16 ? clseg__half_to_float(clseg__rd_u16(x->data + 2 * i))
                                         : clseg__rd_f32(x->data + 4 * i);
  }
  return b->cst[t] = f;
}

/* n int32 values of constant tensor t. */
int clseg__tfl_const_i32(clseg__tfl_builder *b, int32_t t, int32_t *out, size_t n) {
  const clseg__tfl_tensor *x = t >= 0 ? clseg__tfl_tensor_of(b, t) : NULL;
  if (!x || !x->data || x->type != CLSEG__TFL_INT32 || clseg__tfl_count_of(x) != n)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "input '%s' must be an int32 constant of %zu values", x ? x->name : "",
                           n);
  for (size_t i = 0; i < n; i++)
    out[i] = clseg__rd_i32(x->data + 4 * i);
  return 1;
}

/* Checks the union type of the op's options: absent (defaults) or the expected table. */
int clseg__tfl_want_options(clseg__tfl_builder *b, const clseg__tfl_op *op, int type) {
  if (op->opt_type && op->opt_type != type)
    return clseg__tfl_fail(b, CLSEG_FORMAT, "builtin options of type %d, expected %d", op->opt_type,
                           type);
  return 1;
}

int clseg__tfl_opt(clseg__tfl_builder *b, const clseg__tfl_op *op, int id, int size, int32_t def) {
  if (b->status != CLSEG_OK) /* the walker would record over the builder's message */
    return def;
  return clseg__tfl_opt_int(b->m, op, id, size, def);
}

/* Adds the fused activation (TFLite's ActivationFunctionType) after x. */
clseg_node *clseg__tfl_fused_act(clseg__tfl_builder *b, clseg_node *x, int fused) {
  static const clseg_activation acts[] = {{CLSEG_ACT_NONE, 0, 0},
                                          {CLSEG_ACT_RELU, 0, 0},
                                          {CLSEG_ACT_CLIP, -1, 1},
                                          {CLSEG_ACT_RELU6, 0, 0},
                                          {CLSEG_ACT_TANH, 0, 0}};
  if (!x || fused == 0)
    return x;
  if (fused < 0 || fused > 4)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED,
                           "fused activation %d (NONE, RELU, RELU_N1_TO_1, RELU6, TANH supported)",
                           fused),
           NULL;
  return clseg_graph_activation_ex(b->g, x, &acts[fused]);
}

int clseg__tfl_graph_fail(clseg__tfl_builder *b) {
  return clseg__tfl_fail(b, clseg_graph_status(b->g), "%s", clseg_graph_error(b->g));
}

/* Records node x as the op's output, failing on a graph error. */
int clseg__tfl_set_out(clseg__tfl_builder *b, const clseg__tfl_op *op, clseg_node *x) {
  if (!x)
    return b->status == CLSEG_OK ? clseg__tfl_graph_fail(b) : 0;
  b->node[op->out[0]] = x;
  return 1;
}
