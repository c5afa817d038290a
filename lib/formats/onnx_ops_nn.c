/* ONNX operators -> clseg graph nodes: the layers with weights or windows. Conv, ConvTranspose,
 * BatchNormalization, MaxPool/AveragePool and their global forms, Softmax and ArgMax over channels,
 * Gemm/MatMul as linear. Each handler checks what clseg can run and tracks the output's ONNX shape.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

int clseg__onnx_conv(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *w = x ? clseg__in_const(b, n, 1, 1) : NULL, *bias = NULL;
  if (!w || (clseg__in(b, n, 2) && !(bias = clseg__in_const(b, n, 2, 1))))
    return 0;
  int64_t g = clseg__attr_int(n, "group", 1);
  if (x->ndim != 4 || w->ndim != 4 || w->dims[2] != w->dims[3] || g < 1 || g > x->dims[1])
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a %d-D weight of kernel %lldx%lld, group %lld on a %d-D input is "
                          "unsupported (2-D convs with square kernels)",
                          w->ndim, (long long)w->dims[2], (long long)(w->ndim > 3 ? w->dims[3] : 0),
                          (long long)g, x->ndim);
  clseg__window win;
  if (!clseg__window_of(b, n, x->dims, w->dims[2], w->dims[3], 0, &win))
    return 0;
  clseg_conv2d_params p = {.stride_h = (int)win.s[0],
                           .stride_w = (int)win.s[1],
                           .pad_top = (int)win.p[0],
                           .pad_left = (int)win.p[1],
                           .pad_bottom = (int)win.p[2],
                           .pad_right = (int)win.p[3],
                           .dilation_h = (int)win.d[0],
                           .dilation_w = (int)win.d[1],
                           .groups = (int)g};
  char name[128];
  clseg_node *y = clseg_graph_conv2d(b->g, clseg__node_name(b, n, name, sizeof name), x->node,
                                     w->dims[0], (int)w->dims[2], bias != NULL, &p);
  if (!clseg__graph_ok(b, y) || !clseg__set_param(b, y, "weight", 4, w->dims, w->f) ||
      (bias && !clseg__set_param(b, y, "bias", 1, &w->dims[0], bias->f)))
    return 0;
  const int64_t od[4] = {x->dims[0], w->dims[0], win.out[0], win.out[1]};
  return clseg__set_node(b, n, 0, y, 4, od);
}

/* ConvTranspose pads per axis as onnxruntime resolves them, for an output of output_shape or, under
 * auto_pad SAME_*, of input * stride: the total split evenly, the odd row removed at the end under
 * SAME_UPPER, at the start otherwise (onnxruntime's choice with output_shape, whatever auto_pad
 * says); an output_shape past the full output gets bias only there, as clseg's output padding
 * (under SAME the full output stays, as onnxruntime keeps it). Else the explicit
 * pads (VALID: none). op: output_padding in, output_padding plus those extra rows out. */
static int convt_pads(clseg__ob *b, const Onnx__NodeProto *n, const int64_t *in, clseg__window *w,
                      int64_t op[2]) {
  int64_t os[4];
  int nos = clseg__attr_ints(n, "output_shape", os, 4);
  const char *ap = clseg__attr_str(n, "auto_pad", "NOTSET");
  int upper = !strcmp(ap, "SAME_UPPER"), same = upper || !strcmp(ap, "SAME_LOWER");
  if (nos >= 0 && nos != 2 && nos != 4)
    return clseg__ob_fail(b, CLSEG_FORMAT, "output_shape has %d values (2, or 4 for NCHW)", nos);
  for (int i = 0; i < 2; i++) {
    int64_t full = w->out[i] + w->p[i] + w->p[i + 2], want = -1, tot;
    if (nos > 0)
      want = os[nos - 2 + i];
    else if (same)
      want = in[2 + i] * w->s[i];
    if (want < 0) /* explicit pads (all zero under VALID) */
      continue;
    tot = full + op[i] - want;
    w->p[i] = tot <= 0 ? 0 : upper ? tot / 2 : tot - tot / 2;
    w->p[i + 2] = tot <= 0 ? 0 : tot - w->p[i];
    op[i] -= tot < 0 && nos > 0 ? tot : 0; /* SAME keeps the full output (onnxruntime) */
    w->out[i] = full - w->p[i] - w->p[i + 2];
    if (op[i] >= w->s[i] && op[i] >= w->d[i])
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "an output of %lld on axis %d, %lld past the full output %lld, is "
                            "unsupported (at most the stride or dilation less one)",
                            (long long)want, 2 + i, (long long)op[i], (long long)full);
  }
  return 1;
}

int clseg__onnx_conv_transpose(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *w = x ? clseg__in_const(b, n, 1, 1) : NULL, *bias = NULL;
  if (!w || (clseg__in(b, n, 2) && !(bias = clseg__in_const(b, n, 2, 1))))
    return 0;
  int64_t g = clseg__attr_int(n, "group", 1), op[2] = {0, 0}, pads[4];
  if (x->ndim != 4 || w->ndim != 4 || w->dims[2] != w->dims[3] || g < 1 || g > x->dims[1])
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a %d-D weight of kernel %lldx%lld, group %lld is unsupported (2-D with "
                          "square kernels)",
                          w->ndim, (long long)w->dims[2], (long long)(w->ndim > 3 ? w->dims[3] : 0),
                          (long long)g);
  if (clseg__attr_ints(n, "pads", pads, 4) == 4 &&
      (pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "pads %lld, %lld, %lld, %lld are unsupported "
                          "(negative; onnxruntime refuses them too)",
                          (long long)pads[0], (long long)pads[1], (long long)pads[2],
                          (long long)pads[3]);
  clseg__window win;
  clseg__attr_ints(n, "output_padding", op, 2);
  if (op[0] < 0 || op[1] < 0)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "output_padding %lld, %lld is unsupported",
                          (long long)op[0], (long long)op[1]);
  if (!clseg__window_of(b, n, x->dims, w->dims[2], w->dims[3], 1, &win) ||
      !convt_pads(b, n, x->dims, &win, op))
    return 0;
  clseg_conv_transpose2d_params p = {.stride_h = (int)win.s[0],
                                     .stride_w = (int)win.s[1],
                                     .pad_top = (int)win.p[0],
                                     .pad_left = (int)win.p[1],
                                     .pad_bottom = (int)win.p[2],
                                     .pad_right = (int)win.p[3],
                                     .output_pad_h = (int)op[0],
                                     .output_pad_w = (int)op[1],
                                     .dilation_h = (int)win.d[0],
                                     .dilation_w = (int)win.d[1],
                                     .groups = (int)g};
  char name[128];
  int64_t cout = w->dims[1] * g;
  clseg_node *y = clseg_graph_conv_transpose2d(b->g, clseg__node_name(b, n, name, sizeof name),
                                               x->node, cout, (int)w->dims[2], bias != NULL, &p);
  if (!clseg__graph_ok(b, y) || !clseg__set_param(b, y, "weight", 4, w->dims, w->f) ||
      (bias && !clseg__set_param(b, y, "bias", 1, &cout, bias->f)))
    return 0;
  const int64_t od[4] = {x->dims[0], cout, win.out[0] + op[0], win.out[1] + op[1]};
  return clseg__set_node(b, n, 0, y, 4, od);
}

/* clseg's batchnorm uses eps 1e-5; another epsilon is moved into the variance. */
int clseg__onnx_batchnorm(clseg__ob *b, const Onnx__NodeProto *n) {
  static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *c[4];
  for (int k = 0; k < 4; k++)
    if (!x || !(c[k] = clseg__in_const(b, n, (size_t)k + 1, 1)))
      return 0;
  /* opsets 1-8: spatial 0 keeps statistics per activation; 1-6: is_test 0 (the default)
   * normalises with the batch's own statistics (training) */
  int64_t spatial = b->opset < 9 ? clseg__attr_int(n, "spatial", 1) : 1;
  int64_t test = b->opset < 7 ? clseg__attr_int(n, "is_test", 0) : 1;
  if (clseg__bn_training(b, n))
    return 0;
  if (!spatial || !test)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "%s 0 at opset %d (%s) is unsupported",
                          spatial ? "is_test" : "spatial", b->opset,
                          spatial ? "training mode: the batch's statistics"
                                  : "statistics per activation");
  int64_t ch = x->dims[1];
  for (int k = 0; k < 4; k++)
    if (c[k]->count != (size_t)ch)
      return clseg__ob_fail(b, CLSEG_FORMAT, "%s has %zu values for %lld channels", suffix[k],
                            c[k]->count, (long long)ch);
  float eps = clseg__attr_float(n, "epsilon", 1e-5f);
  char name[128];
  clseg_node *y = clseg_graph_batchnorm(b->g, clseg__node_name(b, n, name, sizeof name), x->node);
  float *var = clseg__graph_ok(b, y) ? malloc(sizeof *var * (size_t)ch) : NULL;
  if (!var)
    return b->status == CLSEG_OK ? clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory") : 0;
  for (int64_t i = 0; i < ch && (size_t)i < c[3]->count; i++) {
    double v = (double)c[3]->f[i] + (double)eps - 1e-5;
    var[i] = v > 0 ? (float)v : 0.0f;
  }
  int ok = 1;
  for (int k = 0; k < 4 && ok; k++)
    ok = clseg__set_param(b, y, suffix[k], 1, &ch, k == 3 ? var : c[k]->f);
  free(var);
  return ok && clseg__set_node(b, n, 0, y, x->ndim, x->dims);
}

/* MaxPool / AveragePool: explicit or auto pads, dilations, ceil_mode, count_include_pad. */
int clseg__onnx_pool(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t k[2], od[4];
  int avg = !strcmp(n->op_type, "AveragePool");
  if (!x)
    return 0;
  if (x->ndim != 4 || clseg__attr_ints(n, "kernel_shape", k, 2) != 2)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a pool that is not 2-D is unsupported");
  if (n->n_output > 1 && *n->output[1])
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "output 1 (Indices, '%s') is unsupported",
                          n->output[1]);
  clseg__window w;
  if (!clseg__window_of(b, n, x->dims, k[0], k[1], 0, &w))
    return 0;
  const char *ap = clseg__attr_str(n, "auto_pad", "NOTSET");
  if (!strncmp(ap, "SAME", 4) && (w.d[0] != 1 || w.d[1] != 1))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "auto_pad %.20s with dilations %lld, %lld is unsupported (onnxruntime's "
                          "output size is not the spec's ceil(input / stride))",
                          ap, (long long)w.d[0], (long long)w.d[1]);
  for (int i = 0; i < 4; i++)
    if (w.p[i] >= k[i & 1])
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "pads %lld, %lld, %lld, %lld with kernel_shape %lld, %lld are "
                            "unsupported (each pad must be below the kernel, as onnxruntime's)",
                            (long long)w.p[0], (long long)w.p[1], (long long)w.p[2],
                            (long long)w.p[3], (long long)k[0], (long long)k[1]);
  clseg_pool2d_params p = {.kind = avg ? CLSEG_POOL_AVG : CLSEG_POOL_MAX,
                           .kernel_h = (int)k[0],
                           .kernel_w = (int)k[1],
                           .stride_h = (int)w.s[0],
                           .stride_w = (int)w.s[1],
                           .pad_top = (int)w.p[0],
                           .pad_left = (int)w.p[1],
                           .pad_bottom = (int)w.p[2],
                           .pad_right = (int)w.p[3],
                           .ceil_mode = (int)clseg__attr_int(n, "ceil_mode", 0),
                           .count_include_pad = (int)clseg__attr_int(n, "count_include_pad", 0),
                           .dilation_h = (int)w.d[0],
                           .dilation_w = (int)w.d[1]};
  memcpy(od, x->dims, sizeof od);
  for (int i = 0; i < 2; i++) { /* PyTorch's ceil rule: the last window starts inside the input */
    int64_t span = x->dims[2 + i] + w.p[i] + w.p[i + 2] - ((k[i] - 1) * w.d[i] + 1);
    od[2 + i] = (p.ceil_mode ? (span + w.s[i] - 1) / w.s[i] : span / w.s[i]) + 1;
    if (p.ceil_mode && (od[2 + i] - 1) * w.s[i] >= x->dims[2 + i] + w.p[i])
      od[2 + i]--;
    if (span < 0)
      return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH,
                            "kernel_shape %lld with dilation %lld does not fit axis %d of "
                            "size %lld padded by %lld and %lld",
                            (long long)k[i], (long long)w.d[i], 2 + i, (long long)x->dims[2 + i],
                            (long long)w.p[i], (long long)w.p[i + 2]);
  }
  return clseg__set_node(b, n, 0, clseg_graph_pool2d(b->g, x->node, &p), 4, od);
}

int clseg__onnx_global_pool(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  if (!x)
    return 0;
  const int64_t od[4] = {x->dims[0], x->dims[1], 1, 1};
  clseg_pool_kind k = strstr(n->op_type, "Max") ? CLSEG_POOL_MAX : CLSEG_POOL_AVG;
  return clseg__set_node(b, n, 0, clseg_graph_global_pool(b->g, x->node, k), 4, od);
}

/* Softmax over channels. Before opset 13 the input is coerced to 2-D at axis (default 1), [d0 ...
 * d(axis-1), d(axis) ... d(n-1)], and the softmax runs over the second part: channels only when
 * axis is 1 and every later dim is 1. From 13 on, over the one axis (default -1). */
int clseg__onnx_softmax(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const int64_t axis = clseg__attr_int(n, "axis", b->opset < 13 ? 1 : -1);
  int ax;
  if (!x || !clseg__norm_axis(b, axis, x->ndim, &ax))
    return 0;
  int64_t inner = 1;
  for (int d = 2; d < x->ndim; d++)
    inner *= x->dims[d];
  if (ax != 1 || (b->opset < 13 && inner > 1))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "axis %lld on a %d-D input of %lld x %lld x %lld x %lld at opset %d is "
                          "unsupported (%s)",
                          (long long)axis, x->ndim, (long long)x->dims[0], (long long)x->dims[1],
                          (long long)(x->ndim > 2 ? x->dims[2] : 1),
                          (long long)(x->ndim > 3 ? x->dims[3] : 1), b->opset,
                          b->opset < 13 ? "before opset 13 the input is flattened from the axis "
                                          "on: channels only, with H = W = 1"
                                        : "channels only");
  return clseg__set_node(b, n, 0, clseg_graph_softmax_channels(b->g, x->node), x->ndim, x->dims);
}

int clseg__onnx_argmax(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int ax;
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), x->ndim, &ax))
    return 0;
  if (ax != 1 || clseg__attr_int(n, "select_last_index", 0))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "an argmax over axis %d (channels, first index on ties)", ax);
  int64_t od[4] = {x->dims[0], 1, x->ndim == 4 ? x->dims[2] : 1, x->ndim == 4 ? x->dims[3] : 1};
  return clseg__set_node(b, n, 0, clseg_graph_argmax_channels(b->g, x->node), x->ndim, od);
}

/* Gemm (A [N, K] node, B constant) and MatMul (B [K, M]) as linear: weight [M, K] = alpha * B or
 * B^T. */
int clseg__onnx_gemm(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *w = x ? clseg__in(b, n, 1) : NULL, *c = clseg__in(b, n, 2);
  int mm = !strcmp(n->op_type, "MatMul"), tb = mm ? 0 : (int)clseg__attr_int(n, "transB", 0);
  if (!w)
    return 0;
  if (w->kind != CLSEG__OV_CONST || !w->f || w->ndim != 2 ||
      (c && (c->kind != CLSEG__OV_CONST || !c->f)) || (!mm && clseg__attr_int(n, "transA", 0)) ||
      x->ndim != 2)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a product of a %d-D tensor with a non-constant or non-2-D weight "
                          "(tensor [N, K] times a constant supported)",
                          x->ndim);
  int64_t k = tb ? w->dims[1] : w->dims[0], m = tb ? w->dims[0] : w->dims[1];
  float alpha = mm ? 1.0f : clseg__attr_float(n, "alpha", 1.0f),
        beta = mm ? 1.0f : clseg__attr_float(n, "beta", 1.0f);
  if (k != x->dims[1] || (c && c->count != 1 && c->count != (size_t)m))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "a weight of [%lld, %lld] for %lld inputs",
                          (long long)w->dims[0], (long long)w->dims[1], (long long)x->dims[1]);
  float *wt = malloc(sizeof *wt * (size_t)(m * k + m));
  if (!wt)
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < k; j++)
      wt[i * k + j] = alpha * (tb ? w->f[i * k + j] : w->f[j * m + i]);
    wt[m * k + i] = c ? beta * c->f[c->count == 1 ? 0 : i] : 0.0f;
  }
  char name[128], pn[200];
  const int64_t wd[2] = {m, k}, od[2] = {x->dims[0], m};
  clseg_node *y = clseg__graph_linear(b->g, clseg__node_name(b, n, name, sizeof name), x->node, m,
                                      k, c != NULL);
  int ok = clseg__graph_ok(b, y);
  snprintf(pn, sizeof pn, "%s.weight", y ? y->name : "");
  ok = ok && clseg_graph_set_param(b->g, pn, wd, 2, wt) == CLSEG_OK;
  snprintf(pn, sizeof pn, "%s.bias", y ? y->name : "");
  ok = ok && (!c || clseg_graph_set_param(b->g, pn, &m, 1, wt + m * k) == CLSEG_OK);
  free(wt);
  if (!ok)
    return b->status == CLSEG_OK
               ? clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g))
               : 0;
  return clseg__set_node(b, n, 0, y, 2, od);
}
