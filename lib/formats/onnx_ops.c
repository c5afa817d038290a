/* ONNX operators -> clseg graph nodes, part 1: convolutions, batchnorm, activations (with the
 * Erf-GELU and HardSigmoid*x patterns), broadcasting arithmetic (constant operands become 1x1
 * depthwise convs), Concat, Split and channel Slice. Each handler checks what clseg can run and
 * tracks the output's ONNX shape. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

const char *clseg__node_name(clseg__ob *b, const Onnx__NodeProto *n, char *buf, size_t len) {
  if (*n->name && strlen(n->name) < 100)
    snprintf(buf, len, "%s", n->name);
  else
    snprintf(buf, len, "%s_%d", n->op_type, clseg__node_index(b));
  char probe[160];
  snprintf(probe, sizeof probe, "%s.weight", buf);
  if (clseg__param_find(b->g, probe) >= 0) /* a duplicate name: make it unique */
    snprintf(buf + strlen(buf), len - strlen(buf), "_%d", clseg__node_index(b));
  return buf;
}

int clseg__graph_ok(clseg__ob *b, const void *x) {
  if (x)
    return 1;
  return clseg__ob_fail(
      b, clseg_graph_status(b->g) != CLSEG_OK ? clseg_graph_status(b->g) : CLSEG_INVALID_ARGUMENT,
      "%s", clseg_graph_error(b->g));
}

int clseg__set_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k, clseg_node *x, int ndim,
                    const int64_t *dims) {
  if (!clseg__graph_ok(b, x))
    return 0;
  clseg__ov *y = k < n->n_output ? clseg__ob_value(b, n->output[k]) : NULL;
  if (!y)
    return clseg__ob_fail(b, CLSEG_FORMAT, "output %zu is missing", k);
  int64_t d[CLSEG__ONNX_MAX_DIMS];
  memcpy(d, dims, sizeof *d * (size_t)ndim);
  clseg__ov_clear(y);
  y->kind = CLSEG__OV_NODE;
  y->node = x;
  y->grank = 4;
  y->ndim = ndim;
  memcpy(y->dims, d, sizeof *d * (size_t)ndim);
  return 1;
}

clseg__ov *clseg__in_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k) {
  clseg__ov *v = clseg__in(b, n, k);
  if (!v)
    return clseg__ob_fail(b, CLSEG_FORMAT,
                          "input %zu is missing or read before any node produces it", k),
           NULL;
  if (v->kind == CLSEG__OV_GELU)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' is part of an Erf-GELU or HardSigmoid-HardSwish "
                          "pattern read by an unexpected node",
                          n->input[k]),
           NULL;
  if (v->kind != CLSEG__OV_NODE)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' is a constant where clseg needs a tensor computed "
                          "from the image",
                          n->input[k]),
           NULL;
  if (v->grank != 4 && v->ndim >= 2 && v->ndim <= 4 &&
      (v->ndim < 3 || v->dims[2] == 1 || v->ndim == 4)) {
    /* a result of onnx_nd.c read by an NCHW operator: the same data at rank 4 */
    int64_t d4[4] = {v->dims[0], v->dims[1], v->ndim > 2 ? v->dims[2] : 1,
                     v->ndim > 3 ? v->dims[3] : 1};
    clseg_node *r = clseg__onnx_reshape(b, v->node, d4[0], 4, d4);
    if (!clseg__graph_ok(b, r))
      return NULL;
    r->channels = d4[1];
    v->node = r;
    v->grank = 4;
  }
  if (v->grank != 4)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' has %d dimensions where %s needs NCHW (or [N, C])",
                          n->input[k], v->ndim, n->op_type),
           NULL;
  /* a flattened [N, C * H * W] image: only a product (or a no-op) reads it as one row per image */
  if (v->ndim == 2 && v->dims[1] != v->node->channels && strcmp(n->op_type, "Gemm") &&
      strcmp(n->op_type, "MatMul") && strcmp(n->op_type, "Identity") &&
      strcmp(n->op_type, "Dropout") && strcmp(n->op_type, "Cast"))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' is a [%lld, %lld] flattening of a [%lld, %lld, H, W] "
                          "tensor, which clseg reads only in Gemm and MatMul",
                          n->input[k], (long long)v->dims[0], (long long)v->dims[1],
                          (long long)v->dims[0], (long long)v->node->channels),
           NULL;
  if (v->ndim < 2 || v->ndim > 4 || (v->ndim == 3 && v->dims[2] != 1))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' has %d dimensions (NCHW, or [N, C] as [N, C, 1, 1])",
                          n->input[k], v->ndim),
           NULL;
  return v;
}

static const clseg__ov *in_const(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int is_float) {
  const clseg__ov *v = clseg__in(b, n, k);
  if (!v || v->kind != CLSEG__OV_CONST || (is_float && !v->f))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "input %zu ('%s') must be a %sconstant", k,
                          k < n->n_input ? n->input[k] : "", is_float ? "float " : ""),
           NULL;
  return v;
}

static int set_param(clseg__ob *b, const clseg_node *x, const char *suffix, int ndim,
                     const int64_t *dims, const float *data) {
  char name[200];
  snprintf(name, sizeof name, "%s.%s", x->name, suffix);
  if (clseg_graph_set_param(b->g, name, dims, ndim, data) != CLSEG_OK)
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  return 1;
}

int clseg__window_of(clseg__ob *b, const Onnx__NodeProto *n, const int64_t *in, int64_t kh,
                     int64_t kw, int transposed, clseg__window *w) {
  int64_t v[4];
  w->k[0] = kh, w->k[1] = kw;
  for (int i = 0; i < 2; i++)
    w->s[i] = w->d[i] = 1;
  memset(w->p, 0, sizeof w->p);
  if (clseg__attr_ints(n, "strides", v, 2) == 2)
    w->s[0] = v[0], w->s[1] = v[1];
  if (clseg__attr_ints(n, "dilations", v, 2) == 2)
    w->d[0] = v[0], w->d[1] = v[1];
  if (clseg__attr_ints(n, "pads", v, 4) == 4)
    memcpy(w->p, v, sizeof v);
  const char *ap = clseg__attr_str(n, "auto_pad", "NOTSET");
  int upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
  for (int i = 0; i < 2; i++) {
    if (w->s[i] < 1 || w->d[i] < 1 || w->k[i] < 1 || w->s[i] > 1024 || w->d[i] > 1024 ||
        w->k[i] > 1024 || w->p[i] < 0 || w->p[i + 2] < 0 || w->p[i] > 4096 || w->p[i + 2] > 4096)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "kernel %lld, stride %lld, dilation %lld, pads %lld, %lld are "
                            "unsupported",
                            (long long)w->k[i], (long long)w->s[i], (long long)w->d[i],
                            (long long)w->p[i], (long long)w->p[i + 2]);
    int64_t eff = (w->k[i] - 1) * w->d[i] + 1;
    if ((upper || lower) && !transposed) {
      int64_t o = (in[2 + i] + w->s[i] - 1) / w->s[i], tot = (o - 1) * w->s[i] + eff - in[2 + i];
      tot = tot > 0 ? tot : 0;
      w->p[i] = upper ? tot / 2 : tot - tot / 2;
      w->p[i + 2] = tot - w->p[i];
    } else if (!strcmp(ap, "VALID")) {
      w->p[i] = w->p[i + 2] = 0;
    }
    w->out[i] = transposed ? (in[2 + i] - 1) * w->s[i] - w->p[i] - w->p[i + 2] + eff
                           : (in[2 + i] + w->p[i] + w->p[i + 2] - eff) / w->s[i] + 1;
  }
  return 1;
}

static int op_conv(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *w = x ? in_const(b, n, 1, 1) : NULL, *bias = NULL;
  if (!w || (clseg__in(b, n, 2) && !(bias = in_const(b, n, 2, 1))))
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
  if (!clseg__graph_ok(b, y) || !set_param(b, y, "weight", 4, w->dims, w->f) ||
      (bias && !set_param(b, y, "bias", 1, &w->dims[0], bias->f)))
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

static int op_conv_transpose(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *w = x ? in_const(b, n, 1, 1) : NULL, *bias = NULL;
  if (!w || (clseg__in(b, n, 2) && !(bias = in_const(b, n, 2, 1))))
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
  if (!clseg__graph_ok(b, y) || !set_param(b, y, "weight", 4, w->dims, w->f) ||
      (bias && !set_param(b, y, "bias", 1, &cout, bias->f)))
    return 0;
  const int64_t od[4] = {x->dims[0], cout, win.out[0] + op[0], win.out[1] + op[1]};
  return clseg__set_node(b, n, 0, y, 4, od);
}

/* clseg's batchnorm uses eps 1e-5; another epsilon is moved into the variance. */
static int op_batchnorm(clseg__ob *b, const Onnx__NodeProto *n) {
  static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *c[4];
  for (int k = 0; k < 4; k++)
    if (!x || !(c[k] = in_const(b, n, (size_t)k + 1, 1)))
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
    ok = set_param(b, y, suffix[k], 1, &ch, k == 3 ? var : c[k]->f);
  free(var);
  return ok && clseg__set_node(b, n, 0, y, x->ndim, x->dims);
}

/* The single node reading value name, or NULL. */
static const Onnx__NodeProto *sole_reader(clseg__ob *b, const char *name) {
  if (clseg__ob_uses(b, name) != 1)
    return NULL;
  for (size_t i = (size_t)b->nodei + 1; i < b->gr->n_node; i++)
    for (size_t k = 0; k < b->gr->node[i]->n_input; k++)
      if (!strcmp(b->gr->node[i]->input[k], name))
        return b->gr->node[i];
  return NULL;
}

static int const_scalar(const clseg__ov *v, double *out) {
  if (!v || v->kind != CLSEG__OV_CONST || v->count != 1)
    return 0;
  *out = clseg__ov_get(v, 0);
  return 1;
}

/* Marks output 0 of n as stage `stage` of a pattern on node x (no graph node yet). */
static int set_pattern(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x, int stage) {
  clseg__ov src = *x;
  if (!clseg__set_node(b, n, 0, src.node, src.ndim, src.dims))
    return 0;
  clseg__ob_value(b, n->output[0])->kind = CLSEG__OV_GELU;
  clseg__ob_value(b, n->output[0])->gelu_stage = stage;
  return 1;
}

enum { P_DIV_SQRT2 = 1, P_ERF, P_ONE_PLUS_ERF, P_TWICE_GELU, P_HARD_SIGMOID };

static int op_activation(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in(b, n, 0);
  const char *op = n->op_type;
  if (x && x->kind == CLSEG__OV_GELU && x->gelu_stage == P_DIV_SQRT2 && !strcmp(op, "Erf"))
    return set_pattern(b, n, x, P_ERF);
  if (!(x = clseg__in_node(b, n, 0)))
    return 0;
  clseg_activation a = {CLSEG_ACT_NONE, 0, 0};
  if (!strcmp(op, "Relu"))
    a.kind = CLSEG_ACT_RELU;
  else if (!strcmp(op, "Sigmoid"))
    a.kind = CLSEG_ACT_SIGMOID;
  else if (!strcmp(op, "Tanh"))
    a.kind = CLSEG_ACT_TANH;
  else if (!strcmp(op, "HardSwish"))
    a.kind = CLSEG_ACT_HARD_SWISH;
  else if (!strcmp(op, "Gelu"))
    a.kind = CLSEG_ACT_GELU;
  else if (!strcmp(op, "LeakyRelu")) {
    a.alpha = clseg__attr_float(n, "alpha", 0.01f);
    a.kind = a.alpha == 0.0f ? CLSEG_ACT_RELU : CLSEG_ACT_LEAKY_RELU;
  } else if (!strcmp(op, "HardSigmoid")) {
    a.kind = CLSEG_ACT_HARD_SIGMOID;
    a.alpha = clseg__attr_float(n, "alpha", 0.2f);
    a.beta = clseg__attr_float(n, "beta", 0.5f);
    const Onnx__NodeProto *r = sole_reader(b, n->output[0]);
    if (r && !strcmp(r->op_type, "Mul") && fabsf(a.alpha - 1.0f / 6) < 1e-6f && a.beta == 0.5f &&
        r->n_input == 2 && (!strcmp(r->input[0], n->input[0]) || !strcmp(r->input[1], n->input[0])))
      return set_pattern(b, n, x, P_HARD_SIGMOID); /* x * hardsigmoid(x): one HardSwish */
    a.beta = a.beta == 0.0f ? FLT_MIN : a.beta;    /* 0 would mean PyTorch's 0.5 */
    a.alpha = a.alpha == 0.0f ? FLT_MIN : a.alpha;
  } else if (!strcmp(op, "Gelu") && strcmp(clseg__attr_str(n, "approximate", "none"), "none")) {
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "Gelu with approximate='tanh'");
  }
  if (a.kind == CLSEG_ACT_NONE)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "%s outside the patterns clseg recognises", op);
  return clseg__set_node(b, n, 0, clseg_graph_activation_ex(b->g, x->node, &a), x->ndim, x->dims);
}

/* Clip: min and max from inputs (opset >= 11) or attributes. */
static int op_clip(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  double lo = -FLT_MAX, hi = FLT_MAX;
  if (!x)
    return 0;
  if (b->opset < 11) {
    lo = clseg__attr_float(n, "min", -FLT_MAX), hi = clseg__attr_float(n, "max", FLT_MAX);
  } else {
    for (size_t k = 1; k < 3; k++)
      if (clseg__in(b, n, k) && !const_scalar(clseg__in(b, n, k), k == 1 ? &lo : &hi))
        return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                              "%s ('%s') that is not a constant scalar is unsupported",
                              k == 1 ? "min" : "max", n->input[k]);
  }
  clseg_activation a = {CLSEG_ACT_CLIP, (float)lo, (float)hi};
  if (lo == 0 && hi == 6)
    a.kind = CLSEG_ACT_RELU6;
  else if (lo == 0 && hi >= FLT_MAX)
    a.kind = CLSEG_ACT_RELU;
  return clseg__set_node(b, n, 0, clseg_graph_activation_ex(b->g, x->node, &a), x->ndim, x->dims);
}

/* PRelu with a constant slope of one value or one per channel ([C, 1, 1], [1, C, 1, 1], [C] on
 * [N, C] ...). */
static int op_prelu(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *a = x ? in_const(b, n, 1, 1) : NULL;
  if (!a)
    return 0;
  int per_channel = a->count > 1 && a->ndim <= x->ndim;
  for (int d = 0; per_channel && d < a->ndim; d++) {
    const int xd = x->ndim - a->ndim + d;
    per_channel = a->dims[d] == 1 || (xd == 1 && a->dims[d] == x->dims[1]);
  }
  /* opsets 1 to 6 do not broadcast: a slope of more than one value has one per channel */
  if (b->opset < 7 && a->count > 1 && x->ndim >= 2)
    per_channel = (int64_t)a->count == x->dims[1];
  if (a->count != 1 && !per_channel) {
    char dims[96] = "";
    for (int d = 0, len = 0; d < a->ndim && len < 80; d++)
      len += snprintf(dims + len, sizeof dims - (size_t)len, "%s%lld", d ? ", " : "",
                      (long long)a->dims[d]);
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "slope '%s' of shape [%s] is unsupported (one value, or one per "
                          "channel of %lld)",
                          n->input[1], dims, (long long)x->dims[1]);
  }
  char name[128];
  clseg_node *y =
      clseg_graph_prelu(b->g, clseg__node_name(b, n, name, sizeof name), x->node, per_channel);
  const int64_t count = (int64_t)a->count;
  if (!clseg__graph_ok(b, y) || !set_param(b, y, "weight", 1, &count, a->f))
    return 0;
  return clseg__set_node(b, n, 0, y, x->ndim, x->dims);
}

clseg_node *clseg__affine(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *x, const clseg__ov *c,
                          int op) {
  int64_t ch = x->dims[1];
  int ok = c->ndim <= x->ndim;
  for (int d = 0; ok && d < c->ndim; d++) {
    int xd = x->ndim - c->ndim + d;
    ok = c->dims[d] == 1 || (xd == 1 && c->dims[d] == ch);
  }
  if (!ok)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a constant operand of %zu values that is neither a scalar nor "
                          "one per channel of %lld",
                          c->count, (long long)ch),
           NULL;
  float *w = malloc(sizeof *w * (size_t)ch * 2);
  if (!w)
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
  for (int64_t i = 0; i < ch; i++) {
    float v = (float)clseg__ov_get(c, c->count == 1 ? 0 : (size_t)i);
    w[i] = op == 3 ? v : op == 4 ? 1.0f / v : op == 2 ? -1.0f : 1.0f;
    w[ch + i] = op == 0 || op == 2 ? v : op == 1 ? -v : 0.0f;
  }
  const clseg_conv2d_params p = {.groups = (int)ch};
  const int64_t wd[4] = {ch, 1, 1, 1};
  char name[128];
  clseg_node *y =
      clseg_graph_conv2d(b->g, clseg__node_name(b, n, name, sizeof name), x->node, ch, 1, 1, &p);
  ok = clseg__graph_ok(b, y) && set_param(b, y, "weight", 4, wd, w) &&
       set_param(b, y, "bias", 1, &ch, w + ch);
  free(w);
  return ok ? y : NULL;
}

/* Continues the GELU and HardSwish patterns; returns -1 when n is not a pattern step. */
static int binary_pattern(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *a, clseg__ov *c) {
  double s;
  const char *op = n->op_type;
  clseg__ov *p = a && a->kind == CLSEG__OV_GELU ? a : c && c->kind == CLSEG__OV_GELU ? c : NULL;
  clseg__ov *o = p == a ? c : a;
  if (!p) { /* x / sqrt(2) read only by an Erf starts a GELU; float16 models hold 1.4140625 */
    const Onnx__NodeProto *r = sole_reader(b, n->output[0]);
    int div = !strcmp(op, "Div") && const_scalar(c, &s) && fabs(s - sqrt(2.0)) < 2e-4;
    int mul = !strcmp(op, "Mul") && const_scalar(c, &s) && fabs(s - sqrt(0.5)) < 1e-4;
    if ((div || mul) && a && a->kind == CLSEG__OV_NODE && r && !strcmp(r->op_type, "Erf"))
      return set_pattern(b, n, a, P_DIV_SQRT2);
    return -1;
  }
  if (p->gelu_stage == P_ERF && !strcmp(op, "Add") && const_scalar(o, &s) && s == 1.0)
    return set_pattern(b, n, p, P_ONE_PLUS_ERF);
  if (!strcmp(op, "Mul") && o && o->kind == CLSEG__OV_NODE && o->node == p->node) {
    if (p->gelu_stage == P_HARD_SIGMOID)
      return clseg__set_node(b, n, 0, clseg_graph_activation(b->g, p->node, CLSEG_ACT_HARD_SWISH),
                             p->ndim, p->dims);
    if (p->gelu_stage == P_ONE_PLUS_ERF && sole_reader(b, n->output[0]) &&
        !strcmp(sole_reader(b, n->output[0])->op_type, "Mul")) {
      clseg__ov x = *p;
      if (!clseg__set_node(b, n, 0, clseg_graph_activation(b->g, p->node, CLSEG_ACT_GELU), x.ndim,
                           x.dims))
        return 0;
      clseg__ob_value(b, n->output[0])->kind = CLSEG__OV_GELU;
      clseg__ob_value(b, n->output[0])->gelu_stage = P_TWICE_GELU;
      return 1;
    }
  }
  if (p->gelu_stage == P_TWICE_GELU && !strcmp(op, "Mul") && const_scalar(o, &s) && s == 0.5) {
    clseg__ov x = *p;
    return clseg__set_node(b, n, 0, x.node, x.ndim, x.dims);
  }
  return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                        "an Erf or HardSigmoid outside the GELU (x * 0.5 * (1 + erf(x / "
                        "sqrt 2))) and HardSwish (x * hardsigmoid(x)) patterns");
}

/* Before opset 7, B broadcasts only with broadcast=1, its dims matched to A's from axis (default:
 * the trailing ones); *out is B with the trailing 1s that give numpy's rule the same meaning. */
static int legacy_broadcast(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *a,
                            const clseg__ov *c, clseg__ov *out) {
  *out = *c;
  if (!clseg__attr_int(n, "broadcast", 0)) {
    if (a->ndim != c->ndim || memcmp(a->dims, c->dims, sizeof *a->dims * (size_t)a->ndim))
      return clseg__ob_fail(
          b, CLSEG_FORMAT, "operands of different shapes without broadcast=1 (opset %d)", b->opset);
    return 1;
  }
  int64_t axis = clseg__attr_int(n, "axis", a->ndim - c->ndim);
  if (axis < 0 || axis > a->ndim - c->ndim)
    return clseg__ob_fail(b, CLSEG_FORMAT, "broadcast axis %lld for operands of %d and %d dims",
                          (long long)axis, a->ndim, c->ndim);
  out->ndim = a->ndim - (int)axis;
  for (int d = c->ndim; d < out->ndim; d++)
    out->dims[d] = 1;
  return 1;
}

static int op_binary(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *a = clseg__in(b, n, 0), *c = clseg__in(b, n, 1), *c0 = c, legacy;
  if (b->opset < 7 && a && c) {
    if (!legacy_broadcast(b, n, a, c, &legacy))
      return 0;
    c = &legacy;
  }
  int r = binary_pattern(b, n, a, c);
  if (r >= 0)
    return r;
  static const char *const names[4] = {"Add", "Sub", "Mul", "Div"};
  int op = 0;
  while (op < 4 && strcmp(names[op], n->op_type))
    op++;
  if (a && c && a->kind == CLSEG__OV_NODE && c->kind == CLSEG__OV_NODE) {
    int nd = a->ndim > c->ndim ? a->ndim : c->ndim;
    int64_t od[4];
    for (int d = 0; d < nd; d++) {
      int64_t da = d - nd + a->ndim >= 0 ? a->dims[d - nd + a->ndim] : 1;
      int64_t dc = d - nd + c->ndim >= 0 ? c->dims[d - nd + c->ndim] : 1;
      od[d] = da > dc ? da : dc;
    }
    if (a->ndim != c->ndim)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "operands of %d and %d dimensions", a->ndim,
                            c->ndim);
    return clseg__set_node(b, n, 0, clseg_graph_binary(b->g, (clseg_binary_op)op, a->node, c->node),
                           nd, od);
  }
  int swap = a && a->kind == CLSEG__OV_CONST;
  clseg__ov *x = clseg__in_node(b, n, swap ? 1 : 0);
  const clseg__ov *k = x ? in_const(b, n, swap ? 0 : 1, 0) : NULL;
  k = k && k == c0 ? c : k;
  if (!k)
    return 0;
  if (swap && op == 3)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a constant divided by a tensor");
  int aff = op == 0 ? 0 : op == 1 ? (swap ? 2 : 1) : op == 2 ? 3 : 4;
  return clseg__set_node(b, n, 0, clseg__affine(b, n, x, k, aff), x->ndim, x->dims);
}

static int op_concat(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg_node *xs[256];
  int cnt = 0, ax;
  int64_t od[4];
  for (size_t k = 0; k < n->n_input && cnt < 256; k++) {
    clseg__ov *x = *n->input[k] ? clseg__in_node(b, n, k) : NULL;
    if (!*n->input[k])
      continue;
    if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 1), x->ndim, &ax))
      return 0;
    if (ax != 1)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axis %d of a %d-D tensor (channels only)", ax,
                            x->ndim);
    if (!cnt)
      memcpy(od, x->dims, sizeof od), od[1] = 0;
    od[1] += x->dims[1];
    xs[cnt++] = x->node;
  }
  if (!cnt || cnt == 256)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "%d inputs", cnt);
  return clseg__set_node(b, n, 0, clseg_graph_concat(b->g, xs, cnt), clseg__in(b, n, 0)->ndim, od);
}

static int op_split(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t sz[64];
  int ns = -1, ax;
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), x->ndim, &ax))
    return 0;
  if (ax != 1)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axis %d (channels only)", ax);
  if ((ns = clseg__attr_ints(n, "split", sz, 64)) < 0 && clseg__in(b, n, 1) &&
      !clseg__in_ints(b, n, 1, sz, 64, &ns))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "split sizes that are not constant");
  if (ns < 0) { /* equal parts, the last one smaller (opset 18) */
    int64_t parts = (int64_t)n->n_output, each = (x->dims[1] + parts - 1) / parts;
    for (ns = 0; ns < (int)parts && ns < 64; ns++)
      sz[ns] = ns + 1 < (int)parts ? each : x->dims[1] - each * (parts - 1);
  }
  if ((size_t)ns != n->n_output)
    return clseg__ob_fail(b, CLSEG_FORMAT, "%d split sizes for %zu outputs", ns, n->n_output);
  int64_t start = 0, od[4];
  memcpy(od, x->dims, sizeof od);
  for (int k = 0; k < ns; k++) {
    od[1] = sz[k];
    clseg__ov xv = *x;
    if (!clseg__set_node(b, n, (size_t)k, clseg_graph_slice_channels(b->g, xv.node, start, sz[k]),
                         xv.ndim, od))
      return 0;
    start += sz[k];
  }
  return 1;
}

/* Slice of a node: channels with step 1; the other axes must be kept whole. */
static int op_slice(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t st[4], sp[4], len[4];
  if (!x || !clseg__slice_params(b, n, x->ndim, x->dims, st, sp, len))
    return 0;
  for (int d = 0; d < x->ndim; d++)
    if (d != 1 && len[d] != x->dims[d])
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a slice along axis %d (channels only)", d);
  if (sp[1] != 1 && len[1] > 1)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a channel slice with step %lld", (long long)sp[1]);
  if (len[1] == x->dims[1])
    return clseg__set_node(b, n, 0, x->node, x->ndim, x->dims);
  return clseg__set_node(b, n, 0, clseg_graph_slice_channels(b->g, x->node, st[1], len[1]), x->ndim,
                         len);
}

static const struct {
  const char *op;
  clseg__onnx_handler fn;
} handlers[] = {
    {"Conv", op_conv},
    {"ConvTranspose", op_conv_transpose},
    {"BatchNormalization", op_batchnorm},
    {"Relu", op_activation},
    {"LeakyRelu", op_activation},
    {"Sigmoid", op_activation},
    {"Tanh", op_activation},
    {"HardSigmoid", op_activation},
    {"HardSwish", op_activation},
    {"Gelu", op_activation},
    {"Erf", op_activation},
    {"Clip", op_clip},
    {"PRelu", op_prelu},
    {"Add", op_binary},
    {"Sub", op_binary},
    {"Mul", op_binary},
    {"Div", op_binary},
    {"Concat", op_concat},
    {"Split", op_split},
    {"Slice", op_slice},
};

clseg__onnx_handler clseg__onnx_find(const char *op) {
  for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
    if (!strcmp(handlers[i].op, op))
      return handlers[i].fn;
  return clseg__onnx_find2(op);
}
