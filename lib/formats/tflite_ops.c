/* TFLite operators -> clseg graph nodes: the one handler table (the handlers are in
 * tflite_ops_nn.c, tflite_ops_math.c, tflite_ops_shape.c) and the walk over the operators. NHWC
 * tensors become NCHW nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/tflite.h"
#include "graph_internal.h"

static const struct {
  int code;
  clseg__tfl_handler fn;
} handlers[] = {{CLSEG__TFL_ADD, clseg__tfl_binary},
                {CLSEG__TFL_AVERAGE_POOL_2D, clseg__tfl_pool},
                {CLSEG__TFL_CONCATENATION, clseg__tfl_concat},
                {CLSEG__TFL_CONV_2D, clseg__tfl_conv2d},
                {CLSEG__TFL_DEPTHWISE_CONV_2D, clseg__tfl_depthwise},
                {CLSEG__TFL_DEPTH_TO_SPACE, clseg__tfl_space_depth},
                {CLSEG__TFL_SPACE_TO_DEPTH, clseg__tfl_space_depth},
                {CLSEG__TFL_DENSIFY, clseg__tfl_densify},
                {CLSEG__TFL_DEQUANTIZE, clseg__tfl_dequantize},
                {CLSEG__TFL_FULLY_CONNECTED, clseg__tfl_fully_connected},
                {CLSEG__TFL_STRIDED_SLICE, clseg__tfl_strided_slice},
                {CLSEG__TFL_LOGISTIC, clseg__tfl_activation},
                {CLSEG__TFL_MAX_POOL_2D, clseg__tfl_pool},
                {CLSEG__TFL_MUL, clseg__tfl_binary},
                {CLSEG__TFL_RELU, clseg__tfl_activation},
                {CLSEG__TFL_RELU6, clseg__tfl_activation},
                {CLSEG__TFL_RESHAPE, clseg__tfl_reshape},
                {CLSEG__TFL_RESIZE_BILINEAR, clseg__tfl_resize},
                {CLSEG__TFL_SOFTMAX, clseg__tfl_softmax},
                {CLSEG__TFL_TANH, clseg__tfl_activation},
                {CLSEG__TFL_PAD, clseg__tfl_pad},
                {CLSEG__TFL_PADV2, clseg__tfl_pad},
                {CLSEG__TFL_PRELU, clseg__tfl_prelu},
                {CLSEG__TFL_MEAN, clseg__tfl_mean},
                {CLSEG__TFL_TRANSPOSE_CONV, clseg__tfl_transpose_conv},
                {CLSEG__TFL_HARD_SWISH, clseg__tfl_activation}};

#define CONVT_BIAS "Convolution2DTransposeBias"

static clseg__tfl_handler find_handler(const clseg__tfl_op *op) {
  if (op->code == CLSEG__TFL_CUSTOM)
    return !strcmp(op->custom, CONVT_BIAS) ? clseg__tfl_convt_bias : NULL;
  for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
    if (handlers[i].code == op->code)
      return handlers[i].fn;
  return NULL;
}

int clseg__tfl_supported(const clseg__tfl_op *op) {
  return find_handler(op) != NULL;
}

/* Maps every operator in order; the graph has its input, output and parameters on success. */
static int build_all(clseg__tfl_builder *b) {
  const clseg__tfl_tensor *in = clseg__tfl_tensor_of(b, b->m->input);
  if (in->ndim != 4 || in->dims[0] != 1 || in->type != CLSEG__TFL_FLOAT32 || in->data)
    return clseg__tfl_fail(b, CLSEG_UNSUPPORTED, "input '%s' must be a float32 [1, H, W, C] tensor",
                           in->name);
  b->node[b->m->input] = clseg_graph_input(b->g, in->name, in->dims[3]);
  for (b->opi = 0; b->opi < b->m->nops && b->status == CLSEG_OK; b->opi++) {
    const clseg__tfl_op *op = &b->m->ops[b->opi];
    if (b->node[op->out[0]] || b->cst[op->out[0]] || op->out[0] == b->m->input)
      return clseg__tfl_fail(b, CLSEG_FORMAT, "tensor '%s' is written twice",
                             clseg__tfl_tensor_of(b, op->out[0])->name);
    if (!find_handler(op)(b, op) || b->m->fb.failed) {
      if (b->m->fb.failed)
        clseg__tfl_fail_options(b);
      return clseg__tfl_fail(b, CLSEG_INTERNAL, "the clseg__tfl_handler failed without a message");
    }
  }
  b->opi = -1;
  for (int i = 0; i < b->m->noutputs; i++) { /* the subgraph's order: the first is the main one */
    const int32_t t = b->m->outputs[i];
    if (!b->node[t])
      return clseg__tfl_fail(
          b, b->cst[t] || clseg__tfl_tensor_of(b, t)->data ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
          "output '%s' is %s", clseg__tfl_tensor_of(b, t)->name,
          b->cst[t] || clseg__tfl_tensor_of(b, t)->data ? "a constant" : "not computed");
    if (clseg_graph_output(b->g, b->node[t], clseg__tfl_tensor_of(b, t)->name) != CLSEG_OK)
      return clseg__tfl_graph_fail(b);
  }
  return 1;
}

clseg_status clseg__tfl_build(clseg__tfl_model *m, clseg_graph **out) {
  clseg__tfl_builder b = {.m = m, .opi = -1};
  *out = NULL;
  b.g = clseg_graph_create();
  b.node = calloc((size_t)m->ntensors + 1, sizeof *b.node);
  b.cst = calloc((size_t)m->ntensors + 1, sizeof *b.cst);
  if (!b.g || !b.node || !b.cst)
    clseg__tfl_fail(&b, CLSEG_OUT_OF_MEMORY, "out of memory");
  else
    build_all(&b);
  for (int i = 0; b.cst && i < m->ntensors; i++)
    free(b.cst[i]);
  free(b.cst);
  free(b.node);
  if (b.status != CLSEG_OK) {
    clseg_graph_free(b.g);
    return b.status;
  }
  *out = b.g;
  return CLSEG_OK;
}
