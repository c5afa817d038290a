/* ONNX operators on tensors of any rank: the transformer and non-local parts of a graph (MatMul of
 * two activations, Transpose that moves data, Reshape to tokens, Softmax over the last axis,
 * LayerNormalization and its ReduceMean-Sub-Pow-Sqrt-Div form, GroupNorm/InstanceNorm, elementwise
 * math with tensor operands, Split and Slice along any axis). These handlers take a node only when
 * clseg__onnx_nd_takes says the NCHW handlers (onnx_ops_*.c) cannot: a graph whose tensors are all
 * NCHW imports exactly as before. Values they make have a graph rank equal to their ONNX rank
 * (grank). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

#define D CLSEG__ONNX_MAX_DIMS

static int set_nd(clseg__ob *b, const Onnx__NodeProto *n, size_t k, clseg_node *x, int nd,
                  const int64_t *dims) {
  if (nd < 1 || nd > CLSEG_MAX_RANK)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a result of %d dimensions (1 to %d)", nd,
                          CLSEG_MAX_RANK);
  if (!clseg__set_node(b, n, k, x, nd, dims))
    return 0;
  clseg__ov *v = clseg__ob_value(b, n->output[k]);
  v->grank = nd;
  v->nd_made = 1;
  if (nd == 4) /* known here: NCHW operators reading it declare weights from it */
    x->channels = dims[1];
  return 1;
}
/* The graph node of value v at exactly its ONNX shape (a free reshape of an NCHW-mapped value). */
static clseg_node *nd_node(clseg__ob *b, clseg__ov *v) {
  if (v->grank == v->ndim)
    return v->node;
  if (v->ndim < 1 || v->ndim > CLSEG_MAX_RANK)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a tensor of %d dimensions (1 to %d)", v->ndim,
                          CLSEG_MAX_RANK),
           NULL;
  clseg_node *r = clseg__onnx_reshape(b, v->node, v->dims[0], v->ndim, v->dims);
  if (!clseg__graph_ok(b, r))
    return NULL;
  v->node = r;
  v->grank = v->ndim;
  return r;
}

/* Input k as a graph node: an activation at its ONNX shape, or a float constant uploaded as a
 * parameter (scalars as [1]). */
static clseg_node *operand(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int *nd,
                           int64_t *dims) {
  clseg__ov *v = clseg__in(b, n, k);
  if (!v || (v->kind != CLSEG__OV_NODE && v->kind != CLSEG__OV_CONST))
    return clseg__ob_fail(b, v ? CLSEG_UNSUPPORTED : CLSEG_FORMAT,
                          "input %zu is missing or part of an unfinished pattern", k),
           NULL;
  *nd = v->ndim ? v->ndim : 1;
  for (int d = 0; d < *nd; d++)
    dims[d] = v->ndim ? v->dims[d] : 1;
  if (v->kind == CLSEG__OV_NODE)
    return nd_node(b, v);
  if (*nd > CLSEG_MAX_RANK)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a constant of %d dimensions", *nd), NULL;
  char name[160], base[128];
  snprintf(name, sizeof name, "%s.const%zu", clseg__node_name(b, n, base, sizeof base), k);
  float *f = v->f;
  if (!f) { /* integer or bool constants (masks) as floats */
    f = malloc(sizeof *f * (v->count ? v->count : 1));
    if (!f)
      return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
    for (size_t i = 0; i < v->count; i++)
      f[i] = (float)clseg__ov_get(v, i);
  }
  clseg_node *c = clseg_graph_constant(b->g, name, *nd, dims);
  int ok = clseg__graph_ok(b, c) && clseg_graph_set_param(b->g, name, dims, *nd, f) == CLSEG_OK;
  if (f != v->f)
    free(f);
  if (!ok)
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g)), NULL;
  return c;
}

int clseg__onnx_nd_binary(clseg__ob *b, const Onnx__NodeProto *n) {
  static const char *const names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
  int op = 0, na, nc, ny;
  while (op < 7 && strcmp(names[op], n->op_type))
    op++;
  int64_t da[D], dc[D], dy[D];
  clseg_node *a = operand(b, n, 0, &na, da), *c = a ? operand(b, n, 1, &nc, dc) : NULL;
  if (!c)
    return 0;
  if (!clseg__broadcast_dims(da, na, dc, nc, dy, &ny))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "operands of shapes that do not broadcast");
  return set_nd(b, n, 0, clseg_graph_binary(b->g, (clseg_binary_op)op, a, c), ny, dy);
}

int clseg__onnx_nd_unary(clseg__ob *b, const Onnx__NodeProto *n) {
  static const char *const unary[] = {"Erf", "Sqrt", "Exp", "Log", "Neg", "Reciprocal", "Abs"};
  static const struct {
    const char *op;
    clseg_act_kind kind;
  } acts[] = {{"Relu", CLSEG_ACT_RELU},
              {"Sigmoid", CLSEG_ACT_SIGMOID},
              {"Tanh", CLSEG_ACT_TANH},
              {"Gelu", CLSEG_ACT_GELU},
              {"LeakyRelu", CLSEG_ACT_LEAKY_RELU},
              {"HardSigmoid", CLSEG_ACT_HARD_SIGMOID},
              {"HardSwish", CLSEG_ACT_HARD_SWISH}};
  int nd;
  int64_t dims[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x)
    return 0;
  for (int i = 0; i < 7; i++)
    if (!strcmp(unary[i], n->op_type))
      return set_nd(b, n, 0, clseg_graph_unary(b->g, x, (clseg_unary_op)i), nd, dims);
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
    if (!strcmp(acts[i].op, n->op_type)) {
      clseg_activation act = {acts[i].kind, 0.0f, 0.0f};
      if (act.kind == CLSEG_ACT_LEAKY_RELU)
        act.alpha = clseg__attr_float(n, "alpha", 0.01f);
      if (act.kind == CLSEG_ACT_HARD_SIGMOID)
        act.alpha = clseg__attr_float(n, "alpha", 0.2f),
        act.beta = clseg__attr_float(n, "beta", 0.5f);
      if (act.kind == CLSEG_ACT_GELU && strcmp(clseg__attr_str(n, "approximate", "none"), "none"))
        return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "Gelu with approximate='tanh'");
      return set_nd(b, n, 0, clseg_graph_activation_ex(b->g, x, &act), nd, dims);
    }
  return clseg__ob_fail(b, CLSEG_INTERNAL, "no unary mapping");
}

/* MatMul and Gemm: numpy matmul of two tensors (either may be a constant), Gemm's alpha, transA,
 * transB and beta * C. */
int clseg__onnx_nd_matmul(clseg__ob *b, const Onnx__NodeProto *n) {
  int gemm = !strcmp(n->op_type, "Gemm"), na, nb, ny;
  int64_t da[D], db[D], dy[D];
  clseg_node *a = operand(b, n, 0, &na, da), *c = a ? operand(b, n, 1, &nb, db) : NULL;
  if (!c)
    return 0;
  clseg_matmul_params p = {0};
  if (gemm) {
    p.trans_a = (int)clseg__attr_int(n, "transA", 0);
    p.trans_b = (int)clseg__attr_int(n, "transB", 0);
    p.alpha = clseg__attr_float(n, "alpha", 1.0f);
  }
  if (na < 2 || nb < 2)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a product with a 1-D operand");
  int64_t m = da[na - (p.trans_a ? 1 : 2)], ka = da[na - (p.trans_a ? 2 : 1)];
  int64_t kb = db[nb - (p.trans_b ? 1 : 2)], nn = db[nb - (p.trans_b ? 2 : 1)];
  if (ka != kb || !clseg__broadcast_dims(da, na - 2, db, nb - 2, dy, &ny))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "operands [.., %lld, %lld] and [.., %lld, %lld]",
                          (long long)da[na - 2], (long long)da[na - 1], (long long)db[nb - 2],
                          (long long)db[nb - 1]);
  dy[ny++] = m;
  dy[ny++] = nn;
  clseg_node *y = clseg_graph_matmul(b->g, a, c, &p);
  if (gemm && n->n_input > 2 && *n->input[2]) {
    float beta = clseg__attr_float(n, "beta", 1.0f);
    int ncc;
    int64_t dcc[D], dz[D];
    clseg_node *cc = operand(b, n, 2, &ncc, dcc);
    if (!cc || !clseg__broadcast_dims(dy, ny, dcc, ncc, dz, &ncc))
      return cc ? clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "C does not broadcast to the product")
                : 0;
    if (beta != 1.0f) {
      int64_t one = 1;
      char name[160], base[128];
      snprintf(name, sizeof name, "%s.beta", clseg__node_name(b, n, base, sizeof base));
      clseg_node *bn = clseg_graph_constant(b->g, name, 1, &one);
      if (!clseg__graph_ok(b, bn) || clseg_graph_set_param(b->g, name, &one, 1, &beta) != CLSEG_OK)
        return clseg__ob_fail(b, CLSEG_INTERNAL, "%s", clseg_graph_error(b->g));
      cc = clseg_graph_binary(b->g, CLSEG_BINARY_MUL, cc, bn);
    }
    y = clseg_graph_binary(b->g, CLSEG_BINARY_ADD, y, cc);
  }
  return set_nd(b, n, 0, y, ny, dy);
}

int clseg__onnx_nd_transpose(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, perm[CLSEG_MAX_RANK];
  int64_t dims[D], p64[D], od[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x)
    return 0;
  int np = clseg__attr_ints(n, "perm", p64, D);
  for (int d = 0; d < nd; d++) {
    int64_t pd = np == nd ? p64[d] : nd - 1 - d;
    if (pd < 0 || pd >= nd)
      return clseg__ob_fail(b, CLSEG_FORMAT, "perm value %lld", (long long)pd);
    perm[d] = (int)pd;
    od[d] = dims[pd];
  }
  return set_nd(b, n, 0, clseg_graph_transpose(b->g, x, nd, perm), nd, od);
}

/* Reshape, Flatten, Squeeze, Unsqueeze (and Identity, Dropout, Cast) of an activation. */
int clseg__onnx_nd_reshape(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *v = clseg__in(b, n, 0);
  int nd = 0, xnd;
  int64_t od[D], xd[D];
  clseg_node *x = operand(b, n, 0, &xnd, xd);
  if (!x)
    return 0;
  const char *op = n->op_type;
  memcpy(od, xd, sizeof *od * (size_t)xnd);
  nd = xnd;
  if (!strcmp(op, "Reshape") && !clseg__reshape_dims(b, n, v->ndim, v->dims, &nd, od))
    return 0;
  if ((!strcmp(op, "Flatten") || strstr(op, "queeze")) &&
      !clseg__squeeze_dims(b, n, v->ndim, v->dims, &nd, od))
    return 0;
  if (nd == xnd && !memcmp(od, xd, sizeof *od * (size_t)nd))
    return set_nd(b, n, 0, x, nd, od);
  return set_nd(b, n, 0, clseg__onnx_reshape(b, x, xd[0], nd, od), nd, od);
}

int clseg__onnx_nd_softmax(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, ax, log = !strcmp(n->op_type, "LogSoftmax");
  int64_t dims[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", b->opset < 13 ? 1 : -1), nd, &ax))
    return 0;
  if (b->opset >= 13 || ax == nd - 1)
    return set_nd(b, n, 0, clseg_graph_softmax(b->g, x, ax, log), nd, dims);
  /* before opset 13: over the input flattened to 2-D at the axis */
  int64_t flat[2] = {1, 1};
  for (int d = 0; d < nd; d++)
    flat[d < ax ? 0 : 1] *= dims[d];
  clseg_node *y = clseg__onnx_reshape(b, x, dims[0], 2, flat);
  y = clseg_graph_softmax(b->g, y, 1, log);
  return set_nd(b, n, 0, clseg__onnx_reshape(b, y, flat[0], nd, dims), nd, dims);
}

/* Sets NAME.weight / NAME.bias of a norm node from constant inputs ks / kb (absent: 1 and 0). */
static int norm_params(clseg__ob *b, const Onnx__NodeProto *n, clseg_node *y, size_t ks, size_t kb,
                       int64_t count) {
  char pn[200];
  for (int i = 0; i < 2; i++) {
    const clseg__ov *c = n->n_input > (i ? kb : ks) ? clseg__in(b, n, i ? kb : ks) : NULL;
    if (c && (c->kind != CLSEG__OV_CONST || !c->f || (int64_t)c->count != count))
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a %s that is not a constant of %lld values",
                            i ? "bias" : "scale", (long long)count);
    float *f = c ? c->f : malloc(sizeof *f * (size_t)count);
    if (!f)
      return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
    for (int64_t j = 0; !c && j < count; j++)
      f[j] = i ? 0.0f : 1.0f;
    snprintf(pn, sizeof pn, "%s.%s", y->name, i ? "bias" : "weight");
    clseg_status s = clseg_graph_set_param(b->g, pn, &count, 1, f);
    if (!c)
      free(f);
    if (s != CLSEG_OK)
      return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  }
  return 1;
}

int clseg__onnx_nd_layernorm(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, ax;
  int64_t dims[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", -1), nd, &ax))
    return 0;
  if (n->n_output > 1 && (*n->output[1] || (n->n_output > 2 && *n->output[2])))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "the mean and inverse deviation outputs (training)");
  int64_t count = 1;
  for (int d = ax; d < nd; d++)
    count *= dims[d];
  const clseg_layernorm_params p = {ax, nd - ax, clseg__attr_float(n, "epsilon", 1e-5f)};
  char name[128];
  clseg_node *y =
      clseg_graph_layernorm(b->g, clseg__node_name(b, n, name, sizeof name), x, &p, count, 1);
  if (!clseg__graph_ok(b, y) || !norm_params(b, n, y, 1, 2, count))
    return 0;
  return set_nd(b, n, 0, y, nd, dims);
}

/* InstanceNormalization (scale and bias per channel) and GroupNormalization (opset 18: per group,
 * spread here over each group's channels). */
int clseg__onnx_nd_groupnorm(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, inst = !strcmp(n->op_type, "InstanceNormalization");
  int64_t dims[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x)
    return 0;
  if (nd < 3)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a %d-D input (N, C and at least one more)", nd);
  int64_t c = dims[1], groups = inst ? c : clseg__attr_int(n, "num_groups", 0);
  if (groups < 1 || c % groups)
    return clseg__ob_fail(b, CLSEG_FORMAT, "%lld groups of %lld channels", (long long)groups,
                          (long long)c);
  if (x->channels != c) { /* the builder needs the channels: view it as [N, C, rest] */
    int64_t v3[3] = {dims[0], c, -1};
    x = clseg__onnx_reshape(b, x, dims[0], 3, v3);
    if (x)
      x->channels = c;
  }
  char name[128];
  clseg_node *y = clseg_graph_groupnorm(b->g, clseg__node_name(b, n, name, sizeof name), x,
                                        (int)groups, clseg__attr_float(n, "epsilon", 1e-5f), 1);
  if (!clseg__graph_ok(b, y))
    return 0;
  if (inst && !norm_params(b, n, y, 1, 2, c))
    return 0;
  if (!inst) { /* per-group values repeated over each group's channels */
    float *wb = malloc(sizeof *wb * (size_t)(2 * c));
    const clseg__ov *s = clseg__in(b, n, 1), *t = clseg__in(b, n, 2);
    if (!wb)
      return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
    int ok = s && t && s->kind == CLSEG__OV_CONST && t->kind == CLSEG__OV_CONST && s->f && t->f &&
             (s->count == (size_t)groups || s->count == (size_t)c) && s->count == t->count;
    for (int64_t i = 0; ok && i < c; i++) {
      size_t k = s->count == (size_t)c ? (size_t)i : (size_t)(i / (c / groups));
      wb[i] = s->f[k], wb[c + i] = t->f[k];
    }
    char pn[200];
    snprintf(pn, sizeof pn, "%s.weight", y->name);
    ok = ok && clseg_graph_set_param(b->g, pn, &c, 1, wb) == CLSEG_OK;
    snprintf(pn, sizeof pn, "%s.bias", y->name);
    ok = ok && clseg_graph_set_param(b->g, pn, &c, 1, wb + c) == CLSEG_OK;
    free(wb);
    if (!ok)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "scale and bias that are not constants of one "
                            "value per group or per channel");
  }
  if (x != y->in[0] || nd != 3) /* back to the input's shape */
    y = clseg__onnx_reshape(b, y, dims[0], nd, dims);
  return set_nd(b, n, 0, y, nd, dims);
}

/* The first dim not reduced. */
static int perm0(const int *mark, int nd) {
  for (int d = 0; d < nd; d++)
    if (!mark[d])
      return d;
  return 0;
}

/* Reduce* over any set of axes: a contiguous run directly, others after a transpose that moves the
 * reduced dims last. */
int clseg__onnx_nd_reduce(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, na = -1, mark[D] = {0}, lo = D, hi = -1;
  int64_t dims[D], axes[D], od[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x)
    return 0;
  if ((na = clseg__attr_ints(n, "axes", axes, D)) < 0 && n->n_input > 1 && *n->input[1] &&
      !clseg__in_ints(b, n, 1, axes, D, &na))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axes that are not a constant");
  int keep = (int)clseg__attr_int(n, "keepdims", 1), gap = 0, nk = 0;
  if (na <= 0 && clseg__attr_int(n, "noop_with_empty_axes", 0))
    return set_nd(b, n, 0, x, nd, dims);
  for (int k = 0, a; k < (na <= 0 ? nd : na); k++) {
    if (!clseg__norm_axis(b, na <= 0 ? k : axes[k], nd, &a))
      return 0;
    mark[a] = 1, lo = a < lo ? a : lo, hi = a > hi ? a : hi;
  }
  for (int a = lo; a <= hi; a++)
    gap |= !mark[a];
  if (gap) { /* the reduced dims moved last, reduced there, the result reshaped */
    int perm[CLSEG_MAX_RANK], np = 0;
    for (int pass = 0; pass < 2; pass++)
      for (int d = 0; d < nd; d++)
        if (mark[d] == pass)
          perm[np++] = d;
    for (int d = 0; d < nd; d++)
      nk += mark[d];
    x = clseg_graph_transpose(b->g, x, nd, perm);
    lo = nd - nk, hi = nd - 1;
  }
  const char *op = n->op_type;
  clseg_reduce_kind kind = !strcmp(op, "ReduceMax")   ? CLSEG_REDUCE_MAX
                           : !strcmp(op, "ReduceMin") ? CLSEG_REDUCE_MIN
                           : !strcmp(op, "ReduceSum") ? CLSEG_REDUCE_SUM
                                                      : CLSEG_REDUCE_MEAN;
  int ny = 0;
  for (int d = 0; d < nd; d++)
    if (!mark[d] || keep)
      od[ny++] = mark[d] ? 1 : dims[d];
  if (!ny)
    od[ny++] = 1;
  clseg_node *y = clseg_graph_reduce_axes(b->g, x, kind, lo, hi - lo + 1, keep && !gap);
  if (gap && nd - nk >= 1) /* [kept dims] to the keepdims layout (or as is) */
    y = clseg__onnx_reshape(b, y, dims[perm0(mark, nd)], ny, od);
  return set_nd(b, n, 0, y, ny, od);
}

/* Concat along any axis: each input read as [outer, its part x inner, 1, 1] and joined on
 * channels, so the one concat kernel serves every axis and rank (reshapes cost no kernel). Inputs
 * with no elements are skipped, as onnxruntime does (smp's U-Net writes an empty skip tensor for
 * encoders without a stride-2 feature); constants become graph constants. */
int clseg__onnx_nd_concat(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg_node *xs[64];
  int cnt = 0, nd = 0, ax = 0, xnd;
  int64_t od[D], dims[D], outer = 1;
  for (size_t k = 0; k < n->n_input; k++) {
    const clseg__ov *v = *n->input[k] ? clseg__in(b, n, k) : NULL;
    if (!v || (v->kind == CLSEG__OV_CONST && v->ndim && !v->count))
      continue;
    if (cnt == 64)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "more than 64 inputs");
    clseg_node *x = operand(b, n, k, &xnd, dims);
    if (!x || (!cnt && !clseg__norm_axis(b, clseg__attr_int(n, "axis", 1), xnd, &ax)))
      return 0;
    if (!cnt) {
      nd = xnd;
      memcpy(od, dims, sizeof *od * (size_t)nd);
      od[ax] = 0;
      for (int d = 0; d < ax; d++)
        outer *= dims[d];
    }
    for (int d = 0; d < nd; d++)
      if (xnd != nd || (d != ax && dims[d] != od[d]))
        return clseg__ob_fail(b, CLSEG_FORMAT,
                              "input %zu's shape differs from input 0's off axis %d", k, ax);
    int64_t inner = 1;
    for (int d = ax; d < nd; d++)
      inner *= dims[d];
    int64_t flat[4] = {outer, inner, 1, 1};
    xs[cnt++] = nd == 4 && ax == 1 ? x : clseg__onnx_reshape(b, x, dims[0], 4, flat);
    od[ax] += dims[ax];
  }
  if (!cnt)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "no input with elements");
  clseg_node *y = cnt == 1 ? xs[0] : clseg_graph_concat(b->g, xs, cnt);
  if (!(nd == 4 && ax == 1))
    y = clseg__onnx_reshape(b, y, outer, nd, od);
  return set_nd(b, n, 0, y, nd, od);
}

int clseg__onnx_nd_split(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, ax, ns;
  int64_t dims[D], sz[64];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), nd, &ax))
    return 0;
  if ((ns = clseg__attr_ints(n, "split", sz, 64)) < 0 && n->n_input > 1 && *n->input[1] &&
      !clseg__in_ints(b, n, 1, sz, 64, &ns))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "split sizes that are not constant");
  if (ns < 0) {
    int64_t parts = (int64_t)n->n_output, each = (dims[ax] + parts - 1) / parts;
    for (ns = 0; ns < (int)parts && ns < 64; ns++)
      sz[ns] = ns + 1 < (int)parts ? each : dims[ax] - each * (parts - 1);
  }
  if ((size_t)ns != n->n_output)
    return clseg__ob_fail(b, CLSEG_FORMAT, "%d split sizes for %zu outputs", ns, n->n_output);
  int64_t start = 0, od[D];
  memcpy(od, dims, sizeof *od * (size_t)nd);
  for (int k = 0; k < ns; k++) {
    od[ax] = sz[k];
    if (!set_nd(b, n, (size_t)k, clseg_graph_narrow(b->g, x, ax, start, sz[k]), nd, od))
      return 0;
    start += sz[k];
  }
  return 1;
}

int clseg__onnx_nd_slice(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd;
  int64_t dims[D], st[D], sp[D], len[D];
  clseg__ov *v = clseg__in(b, n, 0);
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x || !clseg__slice_params(b, n, v->ndim, v->dims, st, sp, len))
    return 0;
  for (int d = 0; d < nd; d++) {
    if (len[d] == dims[d])
      continue;
    if (sp[d] != 1 && len[d] > 1)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a slice with step %lld", (long long)sp[d]);
    x = clseg_graph_narrow(b->g, x, d, st[d], len[d]);
  }
  return set_nd(b, n, 0, x, nd, len);
}

int clseg__onnx_nd_expand(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, cnt, ny;
  int64_t dims[D], shape[D], od[D];
  clseg_node *x = operand(b, n, 0, &nd, dims);
  if (!x)
    return 0;
  if (!clseg__in_ints(b, n, 1, shape, D, &cnt))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a shape that is not a constant");
  if (!clseg__broadcast_dims(dims, nd, shape, cnt, od, &ny))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "a shape the input does not broadcast to");
  return set_nd(b, n, 0, clseg_graph_expand(b->g, x, ny, od), ny, od);
}

/* Where with a constant condition: cond * x + (1 - cond) * y. */
int clseg__onnx_nd_where(clseg__ob *b, const Onnx__NodeProto *n) {
  const clseg__ov *c = clseg__in(b, n, 0);
  if (!c || c->kind != CLSEG__OV_CONST)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a condition computed from the image");
  int nc, nx, ny, nz;
  int64_t dc[D], dx[D], dy[D], dz[D];
  clseg_node *cn = operand(b, n, 0, &nc, dc), *x = cn ? operand(b, n, 1, &nx, dx) : NULL;
  clseg_node *y = x ? operand(b, n, 2, &ny, dy) : NULL;
  if (!y)
    return 0;
  if (!clseg__broadcast_dims(dc, nc, dx, nx, dz, &nz) ||
      !clseg__broadcast_dims(dz, nz, dy, ny, dz, &nz))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "operands that do not broadcast");
  /* y + cond * (x - y): exact where cond is 0 or 1 and x, y are finite */
  clseg_node *d = clseg_graph_binary(b->g, CLSEG_BINARY_SUB, x, y);
  d = clseg_graph_binary(b->g, CLSEG_BINARY_MUL, cn, d);
  return set_nd(b, n, 0, clseg_graph_binary(b->g, CLSEG_BINARY_ADD, y, d), nz, dz);
}

/* The constant indices of a Gather on an axis of len as a run start..start+count-1 (any count:
 * torch.export writes a global pool as a Gather of all 512 channels); 0 with the error set. */
static int gather_run(clseg__ob *b, const Onnx__NodeProto *n, int64_t len, int64_t *start) {
  const clseg__ov *iv = clseg__in(b, n, 1);
  int cnt = 0, ok = 1;
  int64_t *ind = iv && iv->kind == CLSEG__OV_CONST && iv->count && iv->count < INT32_MAX
                     ? malloc(sizeof *ind * iv->count)
                     : NULL;
  if (!ind || !clseg__in_ints(b, n, 1, ind, (int)iv->count, &cnt) || cnt < 1) {
    free(ind);
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "indices that are not a constant");
  }
  for (int k = 0; k < cnt && ok; k++) {
    int64_t i = ind[k] < 0 ? ind[k] + len : ind[k];
    if (i < 0 || i >= len)
      ok = clseg__ob_fail(b, CLSEG_FORMAT, "index %lld on an axis of %lld", (long long)ind[k],
                          (long long)len);
    else if (k && i != *start + k)
      ok = clseg__ob_fail(b, CLSEG_UNSUPPORTED, "indices that are not consecutive");
    if (!k)
      *start = i;
  }
  free(ind);
  return ok ? cnt : 0;
}

/* Gather of an activation along an axis at constant indices: one index (the axis dropped, or kept
 * for a one-element index list) or a run of consecutive ones, as narrows. */
int clseg__onnx_nd_gather(clseg__ob *b, const Onnx__NodeProto *n) {
  int nd, ax, cnt;
  int64_t dims[D], od[D], first = 0;
  clseg_node *x = operand(b, n, 0, &nd, dims);
  const clseg__ov *iv = x ? clseg__in(b, n, 1) : NULL;
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), nd, &ax))
    return 0;
  if (!(cnt = gather_run(b, n, dims[ax], &first)))
    return 0;
  if (iv->ndim + nd - 1 > D)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a result of %d dimensions", iv->ndim + nd - 1);
  clseg_node *y = clseg_graph_narrow(b->g, x, ax, first, cnt);
  int ny = 0;
  for (int d = 0; d < nd; d++) {
    if (d == ax)
      for (int k = 0; k < iv->ndim; k++)
        od[ny++] = iv->dims[k];
    else
      od[ny++] = dims[d];
  }
  if (!ny)
    od[ny++] = 1;
  return set_nd(b, n, 0, clseg__onnx_reshape(b, y, ax == 0 ? cnt : dims[0], ny, od), ny, od);
}

/* 1 when an input is an activation the NCHW handlers cannot read: a result of this file of a rank
 * other than 4. */
static int has_nd_input(clseg__ob *b, const Onnx__NodeProto *n) {
  for (size_t k = 0; k < n->n_input; k++) {
    const clseg__ov *v = *n->input[k] ? clseg__ob_find(b, n->input[k]) : NULL;
    if (v && v->kind == CLSEG__OV_NODE && (v->grank != 4 || v->nd_made))
      return 1;
    /* an image flattened to [N, C H W] (the NCHW handlers let only Gemm and MatMul read it) */
    if (v && v->kind == CLSEG__OV_NODE && v->ndim == 2 && v->dims[1] != v->node->channels &&
        strcmp(n->op_type, "Gemm") && strcmp(n->op_type, "MatMul"))
      return 1;
  }
  return 0;
}

/* A Concat the NCHW handler cannot map: along another axis than C, or with an empty input. */
static int concat_needs_nd(clseg__ob *b, const Onnx__NodeProto *n) {
  for (size_t k = 0; k < n->n_input; k++) {
    const clseg__ov *v = *n->input[k] ? clseg__ob_find(b, n->input[k]) : NULL;
    if (v && v->kind == CLSEG__OV_CONST && v->ndim && !v->count)
      return 1;
    int64_t axis = clseg__attr_int(n, "axis", 1);
    if (v && v->kind == CLSEG__OV_NODE && (axis < 0 ? axis + v->ndim : axis) != 1)
      return 1;
  }
  return 0;
}

/* Whether an op the NCHW handlers know needs this file for these operands. */
static int needs_nd(clseg__ob *b, const Onnx__NodeProto *n) {
  const char *op = n->op_type;
  const clseg__ov *x = clseg__ob_find(b, n->input[0]);
  const clseg__ov *w = n->n_input > 1 && *n->input[1] ? clseg__ob_find(b, n->input[1]) : NULL;
  if (!strcmp(op, "Concat"))
    return concat_needs_nd(b, n);
  if (!x || x->kind != CLSEG__OV_NODE)
    return 0;
  if (!strcmp(op, "MatMul") || !strcmp(op, "Gemm"))
    return (w && w->kind == CLSEG__OV_NODE) || x->ndim > 2;
  if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) {
    /* two activations of different ranks, or a constant neither scalar nor per channel */
    if (!w)
      return 0;
    if (w->kind == CLSEG__OV_NODE)
      return w->ndim != x->ndim;
    int per_channel = w->ndim <= x->ndim;
    for (int d = 0; per_channel && d < w->ndim; d++) {
      int xd = x->ndim - w->ndim + d;
      per_channel = w->dims[d] == 1 || (xd == 1 && w->dims[d] == x->dims[1]);
    }
    return w->kind == CLSEG__OV_CONST && !per_channel;
  }
  if (!strncmp(op, "Reduce", 6)) { /* the NCHW handler: H and W together, or C (kept) */
    int64_t axes[D];
    int na = clseg__attr_ints(n, "axes", axes, D), mark[D] = {0};
    if (na < 0 && w && w->kind == CLSEG__OV_CONST) {
      na = (int)(w->count < D ? w->count : D);
      for (int k = 0; k < na; k++)
        axes[k] = (int64_t)clseg__ov_get(w, (size_t)k);
    }
    for (int k = 0; k < (na <= 0 ? x->ndim : na); k++) {
      int64_t a = na <= 0 ? k : axes[k] < 0 ? axes[k] + x->ndim : axes[k];
      if (a < 0 || a >= x->ndim)
        return 0; /* the NCHW handler reports it */
      mark[a] = 1;
    }
    if (na <= 0 && clseg__attr_int(n, "noop_with_empty_axes", 0))
      return 0;
    int keep = (int)clseg__attr_int(n, "keepdims", 1);
    int hw = x->ndim == 4 && mark[2] && mark[3], c = mark[1] && (x->ndim == 2 || x->ndim == 4);
    return !(!mark[0] && (x->ndim == 4 ? mark[2] == mark[3] : x->ndim == 2) && (hw || c) &&
             (keep || !c));
  }
  if (!strcmp(op, "Softmax")) {
    int ax;
    int64_t axis = clseg__attr_int(n, "axis", b->opset < 13 ? 1 : -1), inner = 1;
    ax = (int)(axis < 0 ? axis + x->ndim : axis);
    for (int d = 2; d < x->ndim; d++)
      inner *= x->dims[d];
    return ax != 1 || (b->opset < 13 && inner > 1);
  }
  if (!strcmp(op, "Transpose")) {
    int64_t perm[D];
    int np = clseg__attr_ints(n, "perm", perm, D), last = -1;
    for (int d = 0; d < x->ndim; d++) {
      int64_t pd = np == x->ndim ? perm[d] : x->ndim - 1 - d;
      if (pd < 0 || pd >= x->ndim)
        return 0; /* the NCHW handler reports it */
      if (x->dims[pd] != 1 && pd < last)
        return 1;
      last = x->dims[pd] != 1 ? (int)pd : last;
    }
    return 0;
  }
  if (!strcmp(op, "Reshape") || !strcmp(op, "Flatten") || strstr(op, "queeze")) {
    int nd = x->ndim;
    int64_t od[D];
    memcpy(od, x->dims, sizeof *od * (size_t)nd);
    clseg__error_saved saved;
    clseg__error_save(NULL, &saved);
    int ok = !strcmp(op, "Reshape") ? clseg__reshape_dims(b, n, x->ndim, x->dims, &nd, od)
                                    : clseg__squeeze_dims(b, n, x->ndim, x->dims, &nd, od);
    if (!ok) /* the NCHW handler reports it */
      b->status = CLSEG_OK;
    clseg__error_restore(NULL, &saved, !ok);
    if (!ok)
      return 0;
    if (x->ndim == 4 && nd == 2 && od[0] == x->dims[0] &&
        od[1] == x->dims[1] * x->dims[2] * x->dims[3])
      return 0; /* the flattening Gemm reads */
    int64_t a[4] = {x->dims[0], x->ndim > 1 ? x->dims[1] : 1, x->ndim > 2 ? x->dims[2] : 1,
                    x->ndim > 3 ? x->dims[3] : 1};
    int64_t c[4] = {od[0], nd > 1 ? od[1] : 1, nd > 2 ? od[2] : 1, nd > 3 ? od[3] : 1};
    return x->ndim < 2 || x->ndim > 4 || nd < 2 || nd > 4 || memcmp(a, c, sizeof a);
  }
  return 0;
}

int clseg__onnx_nd_takes(clseg__ob *b, const Onnx__NodeProto *n, int always) {
  if (b->opset < 7 && !strcmp(n->op_type, "Add") + !strcmp(n->op_type, "Sub") +
                          !strcmp(n->op_type, "Mul") + !strcmp(n->op_type, "Div"))
    return 0; /* the broadcast attribute of opsets 1 to 6: the NCHW handler */
  return always || has_nd_input(b, n) || needs_nd(b, n);
}
