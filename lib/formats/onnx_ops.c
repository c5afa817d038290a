/* The ONNX importer's one operator table: for each operator clseg maps onto graph nodes, the
 * handler for NCHW tensors (onnx_ops_nn.c, onnx_ops_math.c, onnx_ops_shape.c, onnx_resize.c) and
 * the one for tensors of any rank (onnx_nd.c), which onnx.c prefers when clseg__onnx_nd_takes says
 * so. Operators evaluated only at load are onnx_shape.c's. */
#include <string.h>

#include "formats/onnx.h"

static const clseg__onnx_op ops[] = {
    {"Conv", clseg__onnx_conv, NULL, 0},
    {"ConvTranspose", clseg__onnx_conv_transpose, NULL, 0},
    {"BatchNormalization", clseg__onnx_batchnorm, NULL, 0},
    {"Relu", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"LeakyRelu", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"Sigmoid", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"Tanh", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"HardSigmoid", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"HardSwish", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"Gelu", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"Erf", clseg__onnx_activation, clseg__onnx_nd_unary, 0},
    {"Clip", clseg__onnx_clip, NULL, 0},
    {"PRelu", clseg__onnx_prelu, NULL, 0},
    {"Add", clseg__onnx_binary, clseg__onnx_nd_binary, 0},
    {"Sub", clseg__onnx_binary, clseg__onnx_nd_binary, 0},
    {"Mul", clseg__onnx_binary, clseg__onnx_nd_binary, 0},
    {"Div", clseg__onnx_binary, clseg__onnx_nd_binary, 0},
    {"Concat", clseg__onnx_concat, clseg__onnx_nd_concat, 0},
    {"Split", clseg__onnx_split, clseg__onnx_nd_split, 0},
    {"Slice", clseg__onnx_slice, clseg__onnx_nd_slice, 0},
    {"DepthToSpace", clseg__onnx_space_depth, NULL, 0},
    {"SpaceToDepth", clseg__onnx_space_depth, NULL, 0},
    {"MaxPool", clseg__onnx_pool, NULL, 0},
    {"AveragePool", clseg__onnx_pool, NULL, 0},
    {"GlobalAveragePool", clseg__onnx_global_pool, NULL, 0},
    {"GlobalMaxPool", clseg__onnx_global_pool, NULL, 0},
    {"ReduceMean", clseg__onnx_reduce, clseg__onnx_nd_reduce, 0},
    {"ReduceMax", clseg__onnx_reduce, clseg__onnx_nd_reduce, 0},
    {"ReduceSum", clseg__onnx_reduce, clseg__onnx_nd_reduce, 0},
    {"Resize", clseg__onnx_resize, NULL, 0},
    {"Upsample", clseg__onnx_resize, NULL, 0},
    {"Softmax", clseg__onnx_softmax, clseg__onnx_nd_softmax, 0},
    {"ArgMax", clseg__onnx_argmax, NULL, 0},
    {"Gemm", clseg__onnx_gemm, clseg__onnx_nd_matmul, 0},
    {"MatMul", clseg__onnx_gemm, clseg__onnx_nd_matmul, 0},
    {"Reshape", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Flatten", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Squeeze", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Unsqueeze", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Transpose", clseg__onnx_layout, clseg__onnx_nd_transpose, 0},
    {"Identity", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Dropout", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Cast", clseg__onnx_layout, clseg__onnx_nd_reshape, 0},
    {"Pad", clseg__onnx_pad, NULL, 0},
    {"Pow", NULL, clseg__onnx_nd_binary, 1},
    {"Max", NULL, clseg__onnx_nd_binary, 1},
    {"Min", NULL, clseg__onnx_nd_binary, 1},
    {"Sqrt", NULL, clseg__onnx_nd_unary, 1},
    {"Exp", NULL, clseg__onnx_nd_unary, 1},
    {"Log", NULL, clseg__onnx_nd_unary, 1},
    {"Neg", NULL, clseg__onnx_nd_unary, 1},
    {"Reciprocal", NULL, clseg__onnx_nd_unary, 1},
    {"Abs", NULL, clseg__onnx_nd_unary, 1},
    {"LogSoftmax", NULL, clseg__onnx_nd_softmax, 1},
    {"LayerNormalization", NULL, clseg__onnx_nd_layernorm, 1},
    {"InstanceNormalization", NULL, clseg__onnx_nd_groupnorm, 1},
    {"GroupNormalization", NULL, clseg__onnx_nd_groupnorm, 1},
    {"ReduceMin", NULL, clseg__onnx_nd_reduce, 1},
    {"Expand", NULL, clseg__onnx_nd_expand, 1},
    {"Where", NULL, clseg__onnx_nd_where, 1},
    {"Gather", NULL, clseg__onnx_nd_gather, 1},
};

const clseg__onnx_op *clseg__onnx_op_of(const char *op) {
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].op, op))
      return &ops[i];
  return NULL;
}
