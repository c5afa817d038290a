/* ONNX operators -> clseg graph nodes: elementwise math and reductions. Activations (with the
 * Erf-GELU and HardSigmoid*x patterns), Clip, PRelu, broadcasting arithmetic (constant operands
 * become 1x1 depthwise convs) and ReduceMean/Max/Sum over H, W or C. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

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

int clseg__onnx_activation(clseg__ob *b, const Onnx__NodeProto *n) {
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
int clseg__onnx_clip(clseg__ob *b, const Onnx__NodeProto *n) {
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
int clseg__onnx_prelu(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *a = x ? clseg__in_const(b, n, 1, 1) : NULL;
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
  if (!clseg__graph_ok(b, y) || !clseg__set_param(b, y, "weight", 1, &count, a->f))
    return 0;
  return clseg__set_node(b, n, 0, y, x->ndim, x->dims);
}

/* x op c for a constant c of one value or one per channel, as a 1x1 depthwise conv. op: 0 add, 1
 * sub (x - c), 2 rsub (c - x), 3 mul, 4 div (x / c). */
static clseg_node *affine(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *x, const clseg__ov *c,
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
  ok = clseg__graph_ok(b, y) && clseg__set_param(b, y, "weight", 4, wd, w) &&
       clseg__set_param(b, y, "bias", 1, &ch, w + ch);
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

int clseg__onnx_binary(clseg__ob *b, const Onnx__NodeProto *n) {
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
  const clseg__ov *k = x ? clseg__in_const(b, n, swap ? 0 : 1, 0) : NULL;
  k = k && k == c0 ? c : k;
  if (!k)
    return 0;
  if (swap && op == 3)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a constant divided by a tensor");
  int aff = op == 0 ? 0 : op == 1 ? (swap ? 2 : 1) : op == 2 ? 3 : 4;
  return clseg__set_node(b, n, 0, affine(b, n, x, k, aff), x->ndim, x->dims);
}

/* A sum from a mean: the mean times the count, as a 1x1 depthwise scale (no sum kernel needed). */
static clseg_node *times(clseg__ob *b, const Onnx__NodeProto *n, clseg_node *mean,
                         const int64_t *od, int64_t count) {
  float f = (float)count;
  clseg__ov m = {.kind = CLSEG__OV_NODE, .ndim = 4, .node = mean};
  const clseg__ov k = {.kind = CLSEG__OV_CONST, .count = 1, .f = &f};
  memcpy(m.dims, od, sizeof *od * 4);
  return clseg__graph_ok(b, mean) ? affine(b, n, &m, &k, 3) : NULL;
}

/* ReduceMean / ReduceMax / ReduceSum over the axes an NCHW tensor keeps 4-D (or [N, C]): H and W
 * (a global pool), C (keepdims), or C, H and W (keepdims). Axes from the attribute (Mean and Max
 * before opset 18, Sum before 13) or the input. */
int clseg__onnx_reduce(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t axes[4];
  int na = -1, mark[4] = {0}, keep = (int)clseg__attr_int(n, "keepdims", 1);
  int mx = !strcmp(n->op_type, "ReduceMax"), sum = !strcmp(n->op_type, "ReduceSum");
  if (!x)
    return 0;
  if ((na = clseg__attr_ints(n, "axes", axes, 4)) < 0 && clseg__in(b, n, 1) &&
      !clseg__in_ints(b, n, 1, axes, 4, &na))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axes ('%s') that are not a constant", n->input[1]);
  if (na <= 0 && clseg__attr_int(n, "noop_with_empty_axes", 0))
    return clseg__set_node(b, n, 0, x->node, x->ndim, x->dims);
  char list[64] = "";
  for (int k = 0, a, len = 0; k < (na <= 0 ? x->ndim : na); k++) {
    if (!clseg__norm_axis(b, na <= 0 ? k : axes[k], x->ndim, &a))
      return 0;
    mark[a] = 1;
    len += snprintf(list + len, sizeof list - (size_t)len, "%s%d", k ? ", " : "", a);
  }
  int hw = x->ndim == 4 && mark[2] && mark[3], c = mark[1] && (x->ndim == 2 || x->ndim == 4);
  int ok =
      !mark[0] && (x->ndim == 4 ? mark[2] == mark[3] : x->ndim == 2) && (hw || c) && (keep || !c);
  if (!ok)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "axes [%s] keepdims %d on a %d-D input are unsupported (H and W "
                          "together, or C with keepdims 1, or C, H and W with keepdims 1)",
                          list, keep, x->ndim);
  int64_t od[4] = {x->dims[0], c ? 1 : x->dims[1], 1, 1};
  if (x->ndim == 4 && !hw)
    od[2] = x->dims[2], od[3] = x->dims[3];
  clseg_node *y = x->node;
  if (hw)
    y = clseg_graph_global_pool(b->g, y, mx ? CLSEG_POOL_MAX : CLSEG_POOL_AVG);
  if (c)
    y = clseg_graph_reduce_channels(b->g, y, mx ? CLSEG_REDUCE_MAX : CLSEG_REDUCE_MEAN);
  int64_t count = (c ? x->dims[1] : 1) * (hw ? x->dims[2] * x->dims[3] : 1);
  if (sum && count > 1)
    y = times(b, n, y, od, count);
  return clseg__set_node(b, n, 0, y, keep ? x->ndim : 2, od);
}
