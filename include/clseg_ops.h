/* clseg operators: one call per layer, enqueued on the context's device. Shapes are NCHW float32.
 *
 * Every op writes into an output tensor the caller made with the shape the op's *_shape function
 * gives (or, for ops whose output size is free, such as resize, the size the caller wants). Ops
 * enqueue and return; clseg_tensor_download or clseg_finish waits. Parameter structs: the zero
 * value of each field is its default, stated per field. Optional tensors (bias, residual) are NULL
 * when absent. An op that fails leaves its output's contents undefined and records a message naming
 * the op, the shapes and the parameter at fault.
 */
#ifndef CLSEG_OPS_H
#define CLSEG_OPS_H

#include "clseg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations (standalone, or fused into the op that produces a tensor) ---- */
typedef enum {
  CLSEG_ACT_NONE = 0,
  CLSEG_ACT_RELU,
  CLSEG_ACT_RELU6,
  CLSEG_ACT_CLIP,       /* min(max(x, alpha), beta) */
  CLSEG_ACT_LEAKY_RELU, /* x < 0 ? alpha * x : x; alpha 0 means 0.01 */
  CLSEG_ACT_SIGMOID,
  CLSEG_ACT_HARD_SIGMOID, /* clamp(alpha * x + beta, 0, 1); alpha 0 means 1/6, beta 0 means 0.5
                             (PyTorch) */
  CLSEG_ACT_HARD_SWISH,   /* x * relu6(x + 3) / 6 */
  CLSEG_ACT_TANH,
  CLSEG_ACT_GELU, /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
  CLSEG_ACT_COUNT
} clseg_act_kind;

typedef struct {
  clseg_act_kind kind;
  float alpha, beta; /* see the kinds above */
} clseg_activation;

clseg_status clseg_activation_apply(clseg_context *ctx, const clseg_tensor *x,
                                    const clseg_activation *act, clseg_tensor *y);

/* PRelu: y = x < 0 ? slope[c] x : x for channel c; slope holds one value per channel of x, or one
 * for all (any shape with that count). */
clseg_status clseg_prelu(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *slope,
                         clseg_tensor *y);

/* ---- convolution ---- */
typedef struct {
  int stride_h, stride_w;                       /* 0 means 1 */
  int pad_top, pad_left, pad_bottom, pad_right; /* zero padding, 0 by default */
  int dilation_h, dilation_w;                   /* 0 means 1 */
  int groups;                                   /* 0 means 1; == channels for depthwise */
  clseg_activation act;                         /* applied after bias and residual */
  const char *variant; /* NULL or "auto", else a variant name (conv2d_direct ...) */
} clseg_conv2d_params;

/* x [N, Cin, H, W], w [Cout, Cin / groups, KH, KW], bias Cout elements (any shape), residual shaped
 * like y. */
clseg_status clseg_conv2d_shape(const clseg_tensor *x, const clseg_tensor *w,
                                const clseg_conv2d_params *p, int64_t out[4]);
clseg_status clseg_conv2d(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                          const clseg_tensor *bias, const clseg_tensor *residual,
                          const clseg_conv2d_params *p, clseg_tensor *y);

typedef struct {
  int stride_h, stride_w; /* 0 means 1 */
  int pad_top, pad_left, pad_bottom,
      pad_right;                  /* as PyTorch's padding: removed from the full output */
  int output_pad_h, output_pad_w; /* added at the bottom / right, < stride or < dilation */
  int dilation_h, dilation_w;     /* 0 means 1 */
  int groups;                     /* 0 means 1 */
  clseg_activation act;
} clseg_conv_transpose2d_params;

/* x [N, Cin, H, W], w [Cin, Cout / groups, KH, KW] (PyTorch's layout), bias Cout elements. */
clseg_status clseg_conv_transpose2d_shape(const clseg_tensor *x, const clseg_tensor *w,
                                          const clseg_conv_transpose2d_params *p, int64_t out[4]);
clseg_status clseg_conv_transpose2d(clseg_context *ctx, const clseg_tensor *x,
                                    const clseg_tensor *w, const clseg_tensor *bias,
                                    const clseg_conv_transpose2d_params *p, clseg_tensor *y);

/* ---- pooling ---- */
typedef enum { CLSEG_POOL_MAX = 0, CLSEG_POOL_AVG = 1 } clseg_pool_kind;

typedef struct {
  clseg_pool_kind kind;
  int kernel_h, kernel_w;                       /* required */
  int stride_h, stride_w;                       /* 0 means the kernel size */
  int pad_top, pad_left, pad_bottom, pad_right; /* max pads with -inf, avg with zeros; each side
                                                   below the kernel */
  int ceil_mode;                                /* PyTorch's rule: the last window must start inside
                                                   the input or its left padding */
  int count_include_pad;                        /* avg: divide by the padded window size */
  int dilation_h, dilation_w;                   /* 0 means 1: taps dilation apart (ONNX MaxPool) */
} clseg_pool2d_params;

clseg_status clseg_pool2d_shape(const clseg_tensor *x, const clseg_pool2d_params *p,
                                int64_t out[4]);
clseg_status clseg_pool2d(clseg_context *ctx, const clseg_tensor *x, const clseg_pool2d_params *p,
                          clseg_tensor *y);
/* y [N, C, 1, 1] */
clseg_status clseg_global_pool(clseg_context *ctx, const clseg_tensor *x, clseg_pool_kind kind,
                               clseg_tensor *y);

/* ---- resize: output size is y's H and W ---- */
typedef enum { CLSEG_RESIZE_NEAREST = 0, CLSEG_RESIZE_BILINEAR = 1 } clseg_resize_mode;
/* How an output index maps to a source coordinate. PYTORCH: PyTorch's rules (nearest floor(dst *
 * s); bilinear half-pixel, or corners with align_corners). The others are ONNX Resize's
 * coordinate_transformation_mode, computed in float as onnxruntime does. */
typedef enum {
  CLSEG_RESIZE_COORD_PYTORCH = 0,
  CLSEG_RESIZE_COORD_HALF_PIXEL = 1,
  CLSEG_RESIZE_COORD_PYTORCH_HALF_PIXEL = 2, /* half_pixel, but 0 on an axis of output size 1 */
  CLSEG_RESIZE_COORD_ALIGN_CORNERS = 3,
  CLSEG_RESIZE_COORD_ASYMMETRIC = 4,
  CLSEG_RESIZE_COORD_HALF_PIXEL_SYMMETRIC = 5, /* ONNX opset 19 */
  CLSEG_RESIZE_COORD_TF_HALF_PIXEL_FOR_NN = 6  /* (dst + 0.5) / s: tf2onnx's, opsets 11 to 18 */
} clseg_resize_coord;
/* Nearest with an ONNX coordinate mode: how a source coordinate becomes an index (then clamped to
 * the input). */
typedef enum {
  CLSEG_RESIZE_ROUND_PREFER_FLOOR = 0, /* to nearest, ties down: ONNX's default */
  CLSEG_RESIZE_ROUND_PREFER_CEIL = 1,
  CLSEG_RESIZE_ROUND_FLOOR = 2,
  CLSEG_RESIZE_ROUND_CEIL = 3,
  CLSEG_RESIZE_ROUND_SIMPLE =
      4 /* ONNX before opset 11: floor when upscaling, ceil when downscaling */
} clseg_resize_round;
typedef struct {
  clseg_resize_mode mode;
  int align_corners; /* coord PYTORCH, bilinear: corners aligned; else PyTorch's half-pixel rule */
  /* coord PYTORCH: when nonzero, source coordinates use these scales (input / output) as PyTorch
   * does when called with scale_factor and recompute_scale_factor unset; 0 means in / out of the
   * sizes. ONNX coords: ONNX's scales (output / input, the file's floats), divided by as
   * onnxruntime does; 0 means out / in of the sizes. */
  float scale_h, scale_w;
  clseg_resize_coord coord; /* 0: PyTorch's rules */
  clseg_resize_round round; /* nearest with an ONNX coord; 0: round_prefer_floor */
  /* Graph nodes only (clseg_graph_resize_scale / _like): when both are > 0, the output size, in
   * place of the scale or the like tensor's size; 0: those. clseg_resize writes y's size. */
  int64_t out_h, out_w;
} clseg_resize_params;
clseg_status clseg_resize(clseg_context *ctx, const clseg_tensor *x, const clseg_resize_params *p,
                          clseg_tensor *y);

/* ---- normalisation ---- */
/* y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel; each parameter C elements; eps 0
 * means 1e-5. */
clseg_status clseg_batchnorm(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *gamma,
                             const clseg_tensor *beta, const clseg_tensor *mean,
                             const clseg_tensor *var, float eps, const clseg_activation *act,
                             clseg_tensor *y);
/* Host utility: folds an inference batchnorm into the preceding conv's weights (cout x per_out
 * floats) and bias (cout floats, written even when the conv had none: pass zeros). eps 0 means
 * 1e-5. */
void clseg_batchnorm_fold(float *weight, float *bias, int64_t cout, int64_t per_out,
                          const float *gamma, const float *beta, const float *mean,
                          const float *var, float eps);

/* ---- elementwise, broadcasting: tensors of any rank, dims right-aligned (numpy's rule: a tensor
 * of lower rank gains leading 1s), each dim of a and b equal to y's or 1 ---- */
typedef enum {
  CLSEG_BINARY_ADD = 0,
  CLSEG_BINARY_SUB,
  CLSEG_BINARY_MUL,
  CLSEG_BINARY_DIV,
  CLSEG_BINARY_POW, /* a to the power b (ONNX Pow: a negative a with a whole b keeps its sign rule)
                     */
  CLSEG_BINARY_MAX,
  CLSEG_BINARY_MIN
} clseg_binary_op;
clseg_status clseg_binary(clseg_context *ctx, clseg_binary_op op, const clseg_tensor *a,
                          const clseg_tensor *b, const clseg_activation *act, clseg_tensor *y);
/* Elementwise math of any rank, y shaped like x (the activations above are the ones a conv or
 * binary op can also apply in its epilogue). */
typedef enum {
  CLSEG_UNARY_ERF = 0,
  CLSEG_UNARY_SQRT,
  CLSEG_UNARY_EXP,
  CLSEG_UNARY_LOG,
  CLSEG_UNARY_NEG,
  CLSEG_UNARY_RECIPROCAL,
  CLSEG_UNARY_ABS,
  CLSEG_UNARY_COUNT
} clseg_unary_op;
clseg_status clseg_unary(clseg_context *ctx, clseg_unary_op op, const clseg_tensor *x,
                         clseg_tensor *y);

/* ---- channel layout ops ---- */
/* Concatenates along C: y's C is the sum of the inputs'. */
clseg_status clseg_concat(clseg_context *ctx, const clseg_tensor *const *xs, int count,
                          clseg_tensor *y);
/* Concatenates along H: y's H is the sum of the inputs' (N, C and W equal). */
clseg_status clseg_concat_h(clseg_context *ctx, const clseg_tensor *const *xs, int count,
                            clseg_tensor *y);
/* Reshape in channels-last order: y (any shape of x's N and element count) holds x's floats in the
 * order an NHWC layout of each would store them (TFLite's RESHAPE of NHWC tensors). */
clseg_status clseg_reshape_nhwc(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y);
/* y = x[:, c_start : c_start + y.C] */
clseg_status clseg_slice_channels(clseg_context *ctx, const clseg_tensor *x, int64_t c_start,
                                  clseg_tensor *y);

typedef enum { CLSEG_PAD_CONSTANT = 0, CLSEG_PAD_REFLECT = 1, CLSEG_PAD_EDGE = 2 } clseg_pad_mode;
/* Pads along C, H and W (ONNX Pad on an NCHW tensor). A negative pad crops that side first; reflect
 * (the edge not repeated) and edge (the edge repeated) then pad the cropped input, as onnxruntime
 * does. Reflect: each pad < the cropped size along its axis. */
typedef struct {
  clseg_pad_mode mode;
  int top, left, bottom, right;
  float value;     /* constant mode */
  int front, back; /* channels, before and after */
} clseg_pad_params;
clseg_status clseg_pad_shape(const clseg_tensor *x, const clseg_pad_params *p, int64_t out[4]);
clseg_status clseg_pad(clseg_context *ctx, const clseg_tensor *x, const clseg_pad_params *p,
                       clseg_tensor *y);

/* Moves between depth and space with block b (ONNX DepthToSpace / SpaceToDepth, TFLite
 * DEPTH_TO_SPACE, PyTorch's PixelShuffle). Depth to space: x [N, C b b, H, W] -> y [N, C, H b, W
 * b], y[n, c, h b + i, w b + j] = x[n, (i b + j) C + c, h, w] in DCR order (ONNX's default,
 * TFLite's), x[n, (c b + i) b + j, h, w] in CRD order (PixelShuffle). Space to depth: x [N, C, H b,
 * W b] -> y [N, C b b, H, W], y[n, (i b + j) C + c, h, w] = x[n, c, h b + i, w b + j]. */
typedef enum {
  CLSEG_DEPTH_TO_SPACE_DCR = 0,
  CLSEG_DEPTH_TO_SPACE_CRD = 1
} clseg_depth_to_space_mode;
clseg_status clseg_depth_to_space_shape(const clseg_tensor *x, int block, int64_t out[4]);
clseg_status clseg_depth_to_space(clseg_context *ctx, const clseg_tensor *x, int block,
                                  clseg_depth_to_space_mode mode, clseg_tensor *y);
clseg_status clseg_space_to_depth_shape(const clseg_tensor *x, int block, int64_t out[4]);
clseg_status clseg_space_to_depth(clseg_context *ctx, const clseg_tensor *x, int block,
                                  clseg_tensor *y);

/* ---- reductions over channels: y [N, 1, H, W] (softmax: y shaped like x) ---- */
typedef enum {
  CLSEG_REDUCE_MEAN = 0,
  CLSEG_REDUCE_MAX = 1,
  CLSEG_REDUCE_SUM = 2, /* clseg_reduce_axes only */
  CLSEG_REDUCE_MIN = 3  /* clseg_reduce_axes only */
} clseg_reduce_kind;
clseg_status clseg_reduce_channels(clseg_context *ctx, const clseg_tensor *x,
                                   clseg_reduce_kind kind, clseg_tensor *y);
clseg_status clseg_softmax_channels(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y);
/* The index of the largest channel (the first on ties), as a float. */
clseg_status clseg_argmax_channels(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y);

/* ---- linear: x [N, K, H, W] read as N rows of K*H*W, w [M, K*H*W] (any shape with that count), y
 * [N, M, 1, 1] */
clseg_status clseg_linear(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                          const clseg_tensor *bias, const clseg_activation *act, clseg_tensor *y);

/* ---- tensors of any rank (1 to CLSEG_MAX_RANK): tokens, attention scores, heads ---- */
/* Matrix product over the last two dims, batched over the leading ones with numpy's broadcasting
 * (ONNX MatMul, torch.matmul): a [..., M, K] ([..., K, M] with trans_a), b [..., K, N] ([..., N, K]
 * with trans_b), y [..., M, N]; ranks 2 to CLSEG_MAX_RANK, the batch dims right-aligned, each
 * equal to y's or 1: y = alpha (a b) + bias, bias (optional) holding N values added to every row
 * (ONNX Gemm with activations). */
typedef struct {
  int trans_a, trans_b;
  float alpha; /* 0 means 1 */
} clseg_matmul_params;
clseg_status clseg_matmul_shape(const clseg_tensor *a, const clseg_tensor *b,
                                const clseg_matmul_params *p, int64_t dims[CLSEG_MAX_RANK],
                                int *rank);
clseg_status clseg_matmul(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                          const clseg_tensor *bias, const clseg_matmul_params *p, clseg_tensor *y);

/* y = x with its dims permuted: y's dim i is x's dim perm[i] (ONNX Transpose, torch.permute);
 * perm holds x's rank entries. */
clseg_status clseg_transpose(clseg_context *ctx, const clseg_tensor *x, const int *perm,
                             clseg_tensor *y);
/* y = x's elements start .. start + y's dim axis - 1 along axis, the other dims equal (ONNX Slice
 * with step 1 on one axis, Split, torch.narrow). */
clseg_status clseg_narrow(clseg_context *ctx, const clseg_tensor *x, int axis, int64_t start,
                          clseg_tensor *y);
/* y = x broadcast to y's shape (ONNX Expand): dims right-aligned, each of x's equal to y's or 1. */
clseg_status clseg_expand(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y);

/* Softmax (log_softmax with log set) along axis (negative: from the last), y shaped like x. */
clseg_status clseg_softmax(clseg_context *ctx, const clseg_tensor *x, int axis, int log,
                           clseg_tensor *y);
/* Normalisation over the dims axis .. axis + naxes - 1 (axis negative: from the last; naxes 0: to
 * the last dim): y = (x - mean) / sqrt(var + eps) * gamma + beta with the biased variance, gamma
 * and beta (each optional) holding one value per normalised element (their product of dims).
 * LayerNorm is axis -1 (or the first normalised dim to the last); a channel LayerNorm of an NCHW
 * tensor is axis 1, naxes 1. */
typedef struct {
  int axis, naxes;
  float eps; /* 0 means 1e-5 */
} clseg_layernorm_params;
clseg_status clseg_layernorm(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *gamma,
                             const clseg_tensor *beta, const clseg_layernorm_params *p,
                             clseg_tensor *y);
/* GroupNorm of x [N, C, ...] (rank >= 2): each group of C / groups channels normalised over its
 * channels and every later dim, then y = norm * gamma[c] + beta[c] (gamma and beta optional, C
 * values each). groups == C is InstanceNorm. eps 0 means 1e-5. */
clseg_status clseg_groupnorm(clseg_context *ctx, const clseg_tensor *x, int groups, float eps,
                             const clseg_tensor *gamma, const clseg_tensor *beta, clseg_tensor *y);
/* Reduction over the dims axis .. axis + naxes - 1 of x (naxes 0: to the last), y with those dims
 * 1 and the same rank (ONNX Reduce* with keepdims; without it the caller reshapes). */
clseg_status clseg_reduce_axes(clseg_context *ctx, const clseg_tensor *x, clseg_reduce_kind kind,
                               int axis, int naxes, clseg_tensor *y);

/* ---- attention blocks, fused ---- */
/* Soft attention over positions (a non-local block, DANet's position attention, a transformer's
 * multi-head self-attention) on NCHW maps, never storing the Lq x Lk scores: q [N, heads dk, Hq,
 * Wq], k [N, heads dk, Hk, Wk], v [N, heads dv, Hk, Wk], y [N, heads dv, Hq, Wq] with
 * y[n, h dv + c, i] = sum_j softmax_j(scale sum_e q[n, h dk + e, i] k[n, h dk + e, j])
 * v[n, h dv + c, j], positions i, j counted over H x W. */
typedef struct {
  int heads;   /* 0 means 1 */
  float scale; /* 0 means 1 / sqrt(dk) */
} clseg_attention_params;
clseg_status clseg_attention(clseg_context *ctx, const clseg_tensor *q, const clseg_tensor *k,
                             const clseg_tensor *v, const clseg_attention_params *p,
                             clseg_tensor *y);

/* CBAM channel gate: y = x * sigmoid(mlp(avgpool x) + mlp(maxpool x)), mlp(v) = w2 relu(w1 v + b1)
 * + b2, w1 [R, C], w2 [C, R]; biases optional. */
clseg_status clseg_cbam_channel_gate(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_tensor *w1, const clseg_tensor *b1,
                                     const clseg_tensor *w2, const clseg_tensor *b2,
                                     clseg_tensor *y);
/* CBAM spatial gate: s = conv(cat(max_c x, mean_c x)) with w [1, 2, K, K] (K odd, 'same' padding),
 * optional bias and batchnorm (bn_* one element each, NULL when absent), y = x * sigmoid(s). */
typedef struct {
  const clseg_tensor *bn_gamma, *bn_beta, *bn_mean, *bn_var;
  float bn_eps; /* 0 means 1e-5 */
} clseg_cbam_spatial_params;
clseg_status clseg_cbam_spatial_gate(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_tensor *w, const clseg_tensor *bias,
                                     const clseg_cbam_spatial_params *p, clseg_tensor *y);
/* Squeeze-excitation: y = x * sigmoid(w2 relu(w1 avgpool(x) + b1) + b2), w1 [R, C], w2 [C, R]. */
clseg_status clseg_se_gate(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w1,
                           const clseg_tensor *b1, const clseg_tensor *w2, const clseg_tensor *b2,
                           clseg_tensor *y);
/* scSE: y = cse(x) + x * sigmoid(ws x + bs) with ws [1, C] (1x1 conv to one channel), bs one
 * element. */
clseg_status clseg_scse_gate(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w1,
                             const clseg_tensor *b1, const clseg_tensor *w2, const clseg_tensor *b2,
                             const clseg_tensor *ws, const clseg_tensor *bs, clseg_tensor *y);

/* Additive attention gate (Attention U-Net): theta = conv(x, w_theta) with kernel and stride =
 * theta_stride (1: 1x1; 2: 2x2 stride 2, as the authors' code), phi = 1x1 conv(g) resized
 * bilinearly (align_corners false) to theta's size, a = sigmoid(psi(relu(theta + phi))), psi a 1x1
 * conv to one channel, alpha = a resized bilinearly to x's size, y = x * alpha. When w_out is set:
 * y = bn(conv1x1(x * alpha, w_out) + b_out). */
typedef struct {
  int theta_stride;                  /* 0 means 1 */
  const clseg_tensor *w_out, *b_out; /* optional output 1x1 conv [C, C, 1, 1] */
  const clseg_tensor *bn_gamma, *bn_beta, *bn_mean, *bn_var; /* optional output batchnorm */
  float bn_eps;                                              /* 0 means 1e-5 */
} clseg_attention_gate_params;
/* x [N, Cx, H, W], g [N, Cg, Hg, Wg], w_theta [Ci, Cx, s, s], w_phi [Ci, Cg, 1, 1], w_psi [1, Ci,
 * 1, 1]; b_theta may be NULL (the authors' code has none), b_phi and b_psi optional. alpha
 * (optional) receives the attention map [N, 1, H, W]. */
clseg_status clseg_attention_gate(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *g,
                                  const clseg_tensor *w_theta, const clseg_tensor *b_theta,
                                  const clseg_tensor *w_phi, const clseg_tensor *b_phi,
                                  const clseg_tensor *w_psi, const clseg_tensor *b_psi,
                                  const clseg_attention_gate_params *p, clseg_tensor *alpha,
                                  clseg_tensor *y);

#ifdef __cplusplus
}
#endif
#endif
