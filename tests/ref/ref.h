/* Naive host references (the test oracle) for every operator in clseg_ops.h: plain loops on NCHW
 * float arrays, written independently of the kernels. Shapes are int64_t[4]; clseg_ops.h is used
 * for its types only.
 */
#ifndef CLSEG_TEST_REF_H
#define CLSEG_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

#include "clseg_ops.h"

/* Flat offset of (n, c, h, w) in a contiguous NCHW array of shape s. */
static inline size_t ref_at(const int64_t s[4], int64_t n, int64_t c, int64_t h, int64_t w) {
  return (size_t)(((n * s[1] + c) * s[2] + h) * s[3] + w);
}
static inline size_t ref_count(const int64_t s[4]) {
  return (size_t)(s[0] * s[1] * s[2] * s[3]);
}

/* Inference batchnorm parameters as host arrays; gamma NULL means "no batchnorm". eps 0 means 1e-5.
 */
typedef struct {
  const float *gamma, *beta, *mean, *var;
  float eps;
} ref_bn;

/* ---- activations, normalisation, elementwise (ref_eltwise.c) ---- */
float ref_act1(float v, const clseg_activation *act); /* act NULL means none */
void ref_activation(const float *x, const int64_t xs[4], const clseg_activation *act, float *y);
/* PRelu: slope has ns values, 1 or xs[1]. */
void ref_prelu(const float *x, const int64_t xs[4], const float *slope, int64_t ns, float *y);
void ref_batchnorm(const float *x, const int64_t xs[4], const float *gamma, const float *beta,
                   const float *mean, const float *var, float eps, const clseg_activation *act,
                   float *y);
void ref_batchnorm_fold(float *weight, float *bias, int64_t cout, int64_t per_out,
                        const float *gamma, const float *beta, const float *mean, const float *var,
                        float eps);
/* Returns 0, or -1 when a and b do not broadcast to ys. */
int ref_binary(clseg_binary_op op, const float *a, const int64_t as[4], const float *b,
               const int64_t bs[4], const clseg_activation *act, float *y, const int64_t ys[4]);
/* y [N, M, 1, 1] = act(rows(x) . w^T + bias); w holds M rows of K*H*W. */
void ref_linear(const float *x, const int64_t xs[4], const float *w, int64_t m, const float *bias,
                const clseg_activation *act, float *y);

/* ---- channel layout and reductions (ref_layout.c) ---- */
/* Returns 0, or -1 when N, H, W differ or the channels do not add up to ys[1]. */
int ref_concat(const float *const *xs, const int64_t (*shapes)[4], int count, float *y,
               const int64_t ys[4]);
void ref_slice_channels(const float *x, const int64_t xs[4], int64_t c_start, float *y,
                        const int64_t ys[4]);
int ref_pad_shape(const int64_t xs[4], const clseg_pad_params *p, int64_t ys[4]);
void ref_pad(const float *x, const int64_t xs[4], const clseg_pad_params *p, float *y,
             const int64_t ys[4]);
/* DepthToSpace (crd 0: DCR, 1: CRD) and SpaceToDepth as the ONNX spec defines them: a reshape to
 * 6-D, a transpose, a reshape back. */
void ref_depth_to_space(const float *x, const int64_t xs[4], int64_t b, int crd, float *y);
/* TFLite's RESHAPE of NHWC tensors: y holds x's floats in NHWC order (same N and count). */
void ref_reshape_nhwc(const float *x, const int64_t xs[4], float *y, const int64_t ys[4]);
/* Concatenation along H (N, C and W equal). */
void ref_concat_h(const float *const *xs, const int64_t (*shapes)[4], int count, float *y,
                  const int64_t ys[4]);
void ref_space_to_depth(const float *x, const int64_t xs[4], int64_t b, float *y);
void ref_reduce_channels(const float *x, const int64_t xs[4], clseg_reduce_kind kind, float *y);
void ref_softmax_channels(const float *x, const int64_t xs[4], float *y);
void ref_argmax_channels(const float *x, const int64_t xs[4], float *y);

/* ---- reductions along a run of dims, any rank (ref_norm.c): dims[rank], dims first .. first +
 * count - 1 reduced or normalised; y keepdims for reduce_axes, shaped like x otherwise. Return 0,
 * or -1 when out of memory (or, groupnorm, when groups do not divide dims[1]). ---- */
size_t ref_count_nd(const int64_t *dims, int rank);
int ref_reduce_axes(const float *x, const int64_t *dims, int rank, clseg_reduce_kind kind,
                    int first, int count, float *y);
int ref_softmax_axis(const float *x, const int64_t *dims, int rank, int axis, int log_out,
                     float *y);
/* gamma and beta (NULL: absent) hold one value per normalised element, eps 0 means 1e-5. */
int ref_layernorm_axes(const float *x, const int64_t *dims, int rank, int first, int count,
                       const float *gamma, const float *beta, float eps, float *y);
/* x [N, C, ...]; gamma and beta (NULL: absent) hold C values. */
int ref_groupnorm(const float *x, const int64_t *dims, int rank, int groups, float eps,
                  const float *gamma, const float *beta, float *y);

/* ---- convolution (ref_conv.c); *_shape return 0, or -1 on invalid arguments ---- */
int ref_conv2d_shape(const int64_t xs[4], const int64_t ws[4], const clseg_conv2d_params *p,
                     int64_t ys[4]);
/* b (Cout) and res (shaped like y) may be NULL. */
void ref_conv2d(const float *x, const int64_t xs[4], const float *w, const int64_t ws[4],
                const float *b, const float *res, const clseg_conv2d_params *p, float *y,
                const int64_t ys[4]);
int ref_conv_transpose2d_shape(const int64_t xs[4], const int64_t ws[4],
                               const clseg_conv_transpose2d_params *p, int64_t ys[4]);
void ref_conv_transpose2d(const float *x, const int64_t xs[4], const float *w, const int64_t ws[4],
                          const float *b, const clseg_conv_transpose2d_params *p, float *y,
                          const int64_t ys[4]);

/* ---- pooling and resize (ref_pool.c) ---- */
int ref_pool2d_shape(const int64_t xs[4], const clseg_pool2d_params *p, int64_t ys[4]);
void ref_pool2d(const float *x, const int64_t xs[4], const clseg_pool2d_params *p, float *y,
                const int64_t ys[4]);
void ref_global_pool(const float *x, const int64_t xs[4], clseg_pool_kind kind, float *y);
/* The output size is ys[2], ys[3]; N and C as x's. */
void ref_resize(const float *x, const int64_t xs[4], const clseg_resize_params *p, float *y,
                const int64_t ys[4]);

/* ---- attention blocks (ref_attention.c); return 0, or -1 when out of memory ---- */
/* w1 [r, C], w2 [C, r]; b1, b2 optional. */
int ref_cbam_channel_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                          const float *w2, const float *b2, int64_t r, float *y);
/* w [1, 2, k, k]; bias (one element) optional; bn->gamma NULL for no batchnorm. */
int ref_cbam_spatial_gate(const float *x, const int64_t xs[4], const float *w, int64_t k,
                          const float *bias, const ref_bn *bn, float *y);
int ref_se_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                const float *w2, const float *b2, int64_t r, float *y);
/* ws [1, C], bs one element (optional). */
int ref_scse_gate(const float *x, const int64_t xs[4], const float *w1, const float *b1,
                  const float *w2, const float *b2, int64_t r, const float *ws, const float *bs,
                  float *y);

typedef struct {
  int64_t ci;                     /* intermediate channels */
  int theta_stride;               /* 0 means 1 */
  const float *w_theta, *b_theta; /* [ci, Cx, s, s], bias optional */
  const float *w_phi, *b_phi;     /* [ci, Cg, 1, 1], bias optional */
  const float *w_psi, *b_psi;     /* [1, ci, 1, 1], bias optional */
  const float *w_out, *b_out;     /* optional output 1x1 conv [Cx, Cx, 1, 1] */
  ref_bn bn;                      /* optional output batchnorm (Cx channels) */
} ref_attention_gate_weights;
/* alpha (optional) receives [N, 1, H, W]; y shaped like x. */
int ref_attention_gate(const float *x, const int64_t xs[4], const float *g, const int64_t gs[4],
                       const ref_attention_gate_weights *wt, float *alpha, float *y);

/* ---- fused soft attention (ref_attention_fused.c) ---- */
/* O = softmax(scale * Q K^T + bias) V per batch and head; every array addressed through element
 * strides in the order batch, head, position, feature (bias: batch, head, query, key; 0
 * broadcasts). scale 0 means 1/sqrt(dk). bias may be NULL. */
typedef struct {
  int64_t batch, heads, lq, lk, dk, dv;
  int64_t q[4], k[4], v[4], o[4], bias[4];
  float scale;
} ref_attn_dims;
/* Materialises each row of scores in double; returns -1 when out of memory. */
int ref_attention_fused(const ref_attn_dims *d, const float *q, const float *k, const float *v,
                        const float *bias, float *o);

/* ---- tensors of any rank (ref_nd.c): dims arrays of `rank` entries, C order ---- */
size_t ref_nd_count(int rank, const int64_t *dims);
/* y (rank yr, dims yd, as clseg_matmul_shape gives) = alpha (a b) + bias, summed in double; absum
 * (may be NULL) gets each element's sum of |alpha a b| + |bias|, the scale of its rounding error.
 */
void ref_matmul(const float *a, int ar, const int64_t *ad, const float *b, int br,
                const int64_t *bd, const clseg_matmul_params *p, const float *bias, float *y,
                float *absum, int yr, const int64_t *yd);
void ref_transpose(const float *x, int rank, const int64_t *xd, const int *perm, float *y);
void ref_narrow(const float *x, int rank, const int64_t *xd, int axis, int64_t start, float *y,
                const int64_t *yd);
/* y = x broadcast to yd, dims right-aligned. */
void ref_expand(const float *x, int xr, const int64_t *xd, float *y, int yr, const int64_t *yd);
void ref_binary_nd(clseg_binary_op op, const float *a, int ar, const int64_t *ad, const float *b,
                   int br, const int64_t *bd, const clseg_activation *act, float *y, int yr,
                   const int64_t *yd);
/* In double, rounded to float. */
void ref_unary(clseg_unary_op op, const float *x, size_t n, float *y);

#endif
