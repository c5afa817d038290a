/* Shape inference at plan time: every node's output shape from its inputs' for the planned input
 * size. The NCHW operators need rank-4 inputs; the operators of graph_nd.c take any rank. */
#include <stdio.h>
#include <string.h>

#include "plan_internal.h"

/* A tensor of the planned shape (no buffer) for the ops' own shape functions: each op's shape rule
 * lives once, in lib/ops, and the planner asks it. */
static clseg_tensor stand_in(const clseg_plan *p, const int64_t *shape, int rank) {
  clseg_tensor t = {.ctx = p->ctx, .rank = rank, .count = 1};
  for (int i = 0; i < CLSEG_MAX_RANK; i++) {
    t.shape[i] = i < rank ? shape[i] : 1;
    t.count *= (size_t)t.shape[i];
  }
  return t;
}

/* Output shape of the ops whose rule lives in lib/ops; 1 when n is one (status in *st, the op's
 * message in the context when it fails). */
static int op_rule(const clseg_plan *p, const clseg_node *n, int64_t y[4], clseg_status *st) {
  const clseg__step *in = n->nin ? &p->steps[n->in[0]->id] : NULL;
  const clseg__param *wp = n->param[0] >= 0 ? &p->g->params[n->param[0]] : NULL;
  clseg_tensor x = in ? stand_in(p, in->shape, in->rank) : (clseg_tensor){0};
  clseg_tensor w = wp ? stand_in(p, wp->dims, wp->ndim) : (clseg_tensor){0};
  switch (n->op) {
  case CLSEG__N_CONV: *st = clseg_conv2d_shape(&x, &w, &n->u.conv, y); return 1;
  case CLSEG__N_CONVT: *st = clseg_conv_transpose2d_shape(&x, &w, &n->u.convt, y); return 1;
  case CLSEG__N_POOL: *st = clseg_pool2d_shape(&x, &n->u.pool, y); return 1;
  case CLSEG__N_PAD: *st = clseg_pad_shape(&x, &n->u.pad, y); return 1;
  case CLSEG__N_SPACE_DEPTH:
    *st = n->u.space_depth.mode == 2 ? clseg_space_to_depth_shape(&x, n->u.space_depth.block, y)
                                     : clseg_depth_to_space_shape(&x, n->u.space_depth.block, y);
    return 1;
  default: return 0;
  }
}

static int def1(int v) {
  return v ? v : 1;
}

/* Shape of NCHW node n from its inputs' shapes: 1, or 0 when the sizes do not work out, or -1
 * when the op's shape function said why (in the context). */
static int infer_nchw(const clseg_plan *p, const clseg_node *n, int64_t y[4]) {
  clseg_status st;
  if (op_rule(p, n, y, &st))
    return st == CLSEG_OK ? 1 : -1;
  const int64_t *x = n->nin ? p->steps[n->in[0]->id].shape : NULL;
  if (x)
    memcpy(y, x, 4 * sizeof *y);
  y[1] = n->channels;
  switch (n->op) {
  case CLSEG__N_GPOOL: y[2] = y[3] = 1; break;
  case CLSEG__N_RESIZE:
    if (n->u.resize.out_h > 0 && n->u.resize.out_w > 0) { /* a size fixed at import (ONNX) */
      y[2] = n->u.resize.out_h;
      y[3] = n->u.resize.out_w;
    } else if (n->scale) {
      y[2] = x[2] * n->scale;
      y[3] = x[3] * n->scale;
    } else {
      y[2] = p->steps[n->in[1]->id].shape[2];
      y[3] = p->steps[n->in[1]->id].shape[3];
    }
    break;
  case CLSEG__N_BINARY:
    for (int d = 0; d < 4; d++) {
      int64_t a = x[d], b = p->steps[n->in[1]->id].shape[d];
      if (a != b && a != 1 && b != 1)
        return 0;
      y[d] = a > b ? a : b;
    }
    break;
  case CLSEG__N_CONCAT:
    for (int i = 1; i < n->nin; i++) {
      const int64_t *o = p->steps[n->in[i]->id].shape;
      if (o[0] != x[0] || o[2] != x[2] || o[3] != x[3])
        return 0;
    }
    break;
  case CLSEG__N_CONCAT_H:
    y[2] = 0;
    for (int i = 0; i < n->nin; i++) {
      const int64_t *o = p->steps[n->in[i]->id].shape;
      if (o[0] != x[0] || o[1] != x[1] || o[3] != x[3])
        return 0;
      y[2] += o[2];
    }
    break;
  case CLSEG__N_RESHAPE_NHWC:
    y[2] = n->u.reshape.h;
    y[3] = n->u.reshape.w;
    if (x[1] * x[2] * x[3] != y[1] * y[2] * y[3])
      return 0;
    break;
  case CLSEG__N_LINEAR: /* the weight's row length: C, or C * H * W of a flattened input */
    if (x[1] * x[2] * x[3] != p->g->params[n->param[0]].dims[1])
      return 0;
    y[2] = y[3] = 1;
    break;
  default: break;
  }
  return y[0] > 0 && y[1] > 0 && y[2] > 0 && y[3] > 0;
}

static double node_flops(const clseg_plan *p, const clseg_node *n) {
  const int64_t *y = p->steps[n->id].shape, *x = n->nin ? p->steps[n->in[0]->id].shape : y;
  double out = 1.0;
  for (int i = 0; i < CLSEG_MAX_RANK; i++)
    out *= (double)y[i];
  switch (n->op) {
  case CLSEG__N_CONST:
  case CLSEG__N_RESHAPE: return 0.0;
  case CLSEG__N_MATMUL: { /* 2 M N K per output matrix */
    const clseg__step *a = &p->steps[n->in[0]->id];
    return 2.0 * out * (double)a->shape[a->rank - (n->u.matmul.trans_a ? 2 : 1)];
  }
  case CLSEG__N_ATTENTION: { /* q k^T and the weighted sum: 2 Lq Lk (dk + dv) per image */
    const int64_t *k = p->steps[n->in[1]->id].shape;
    return 2.0 * (double)y[0] * y[2] * y[3] * k[2] * k[3] * (double)(x[1] + y[1]);
  }
  case CLSEG__N_CONV:
    return 2.0 * out * (double)(x[1] / def1(n->u.conv.groups)) * n->kernel * n->kernel;
  case CLSEG__N_CONVT:
    return 2.0 * (double)x[0] * x[1] * x[2] * x[3] * (double)(y[1] / def1(n->u.convt.groups)) *
           n->kernel * n->kernel;
  case CLSEG__N_LINEAR: return 2.0 * out * (double)(x[1] * x[2] * x[3]);
  case CLSEG__N_ATTENTION_GATE:
    return 2.0 * (double)x[0] * x[2] * x[3] * (double)x[1] * (double)n->hidden;
  case CLSEG__N_CBAM_SPATIAL: return out * 2.0 + 2.0 * (double)y[0] * y[2] * y[3] * 2 * 49;
  default: return out;
  }
}

static int nchw_op(clseg__node_op op) {
  return op < CLSEG__N_CONST || op == CLSEG__N_ATTENTION;
}

static int norm_axis(int axis, int rank) {
  return axis < 0 ? axis + rank : axis;
}

static int infer_reshape(const clseg_node *n, const clseg__step *x, int64_t *y, int *ry) {
  int64_t count = 1, known = 1;
  int free_dim = -1;
  for (int i = 0; i < x->rank; i++)
    count *= x->shape[i];
  *ry = n->u.dims.rank;
  for (int i = 0; i < *ry; i++) {
    int64_t d = n->u.dims.d[i];
    if (d == 0 && i >= x->rank)
      return 0;
    y[i] = d == 0 ? x->shape[i] : d;
    if (d == -1)
      free_dim = i;
    else
      known *= y[i];
  }
  if (free_dim >= 0) {
    if (known < 1 || count % known)
      return 0;
    y[free_dim] = count / known;
    known = count;
  }
  return known == count;
}

/* Matmul's rule: clseg_matmul_shape's. */
static int infer_matmul(const clseg_plan *pl, const clseg_node *n, const clseg__step *a,
                        const clseg__step *b, int64_t *y, int *ry) {
  clseg_tensor ta = stand_in(pl, a->shape, a->rank), tb = stand_in(pl, b->shape, b->rank);
  return clseg_matmul_shape(&ta, &tb, &n->u.matmul, y, ry) == CLSEG_OK;
}

static int infer_axis(const clseg_plan *p, const clseg_node *n, const clseg__step *x, int64_t *y,
                      int *ry) {
  int a = norm_axis(n->u.axis.axis, x->rank), na = n->u.axis.naxes ? n->u.axis.naxes : x->rank - a;
  memcpy(y, x->shape, sizeof x->shape);
  *ry = x->rank;
  switch (n->op) {
  case CLSEG__N_SOFTMAX_AXIS: return a >= 0 && a < x->rank;
  case CLSEG__N_LAYERNORM: {
    if (a < 0 || na < 1 || a + na > x->rank)
      return 0;
    int64_t cnt = 1;
    for (int i = a; i < a + na; i++)
      cnt *= x->shape[i];
    int w = n->param[CLSEG__SLOT_WEIGHT];
    return w < 0 || (int64_t)p->g->params[w].count == cnt;
  }
  case CLSEG__N_GROUPNORM: return x->rank >= 2 && x->shape[1] % n->u.axis.groups == 0;
  case CLSEG__N_NARROW:
    if (a < 0 || a >= x->rank || n->u.axis.start + n->u.axis.len > x->shape[a])
      return 0;
    y[a] = n->u.axis.len;
    return 1;
  case CLSEG__N_REDUCE_AXES: {
    if (a < 0 || na < 1 || a + na > x->rank)
      return 0;
    for (int i = a; i < a + na; i++)
      y[i] = 1;
    if (!n->u.axis.keepdims && x->rank > 1) {
      int drop = na < x->rank ? na : x->rank - 1;
      memmove(y + a, y + a + drop, sizeof *y * (size_t)(x->rank - a - drop));
      *ry = x->rank - drop;
      for (int i = *ry; i < CLSEG_MAX_RANK; i++)
        y[i] = 1;
    }
    return 1;
  }
  default: return 0;
  }
}

/* Output shape of a node of graph_nd.c; 0 when its inputs' shapes do not work out. */
static int infer_nd(const clseg_plan *p, const clseg_node *n, int64_t *y, int *ry) {
  const clseg__step *x = n->nin ? &p->steps[n->in[0]->id] : NULL;
  const clseg__step *x1 = n->nin > 1 ? &p->steps[n->in[1]->id] : NULL;
  switch (n->op) {
  case CLSEG__N_CONST:
    *ry = n->u.dims.rank;
    memcpy(y, n->u.dims.d, sizeof *y * (size_t)*ry);
    return 1;
  case CLSEG__N_RESHAPE: return infer_reshape(n, x, y, ry);
  case CLSEG__N_TRANSPOSE:
    if (n->u.perm.rank != x->rank)
      return 0;
    for (int i = 0; i < x->rank; i++)
      y[i] = x->shape[n->u.perm.p[i]];
    *ry = x->rank;
    return 1;
  case CLSEG__N_MATMUL: return infer_matmul(p, n, x, x1, y, ry);
  case CLSEG__N_EXPAND:
    return clseg__broadcast_dims(x->shape, x->rank, n->u.dims.d, n->u.dims.rank, y, ry);
  case CLSEG__N_BINARY: return clseg__broadcast_dims(x->shape, x->rank, x1->shape, x1->rank, y, ry);
  case CLSEG__N_UNARY:
  case CLSEG__N_ACT:
    memcpy(y, x->shape, sizeof x->shape);
    *ry = x->rank;
    return 1;
  default: return infer_axis(p, n, x, y, ry);
  }
}

/* The fused attention: q [N, Ck, Hq, Wq], k [N, Ck, Hk, Wk], v [N, Cv, Hk, Wk]. */
static int infer_attention(const clseg_plan *p, const clseg_node *n, int64_t y[4]) {
  const int64_t *q = p->steps[n->in[0]->id].shape, *k = p->steps[n->in[1]->id].shape,
                *v = p->steps[n->in[2]->id].shape;
  if (q[0] != k[0] || k[0] != v[0] || q[1] != k[1] || k[2] != v[2] || k[3] != v[3])
    return 0;
  y[0] = q[0], y[1] = v[1], y[2] = q[2], y[3] = q[3];
  return 1;
}

/* Rank-4 ops other than the elementwise ones need rank-4 inputs. */
static int needs_nchw(const clseg_plan *p, const clseg_node *n) {
  if (!nchw_op(n->op) || n->op == CLSEG__N_ACT || n->op == CLSEG__N_BINARY ||
      n->op == CLSEG__N_INPUT)
    return 0;
  for (int i = 0; i < n->nin; i++)
    if (p->steps[n->in[i]->id].rank != 4)
      return 1;
  return 0;
}

static int infer(clseg_plan *p, const clseg_node *n, clseg__step *s) {
  for (int i = 0; i < CLSEG_MAX_RANK; i++)
    s->shape[i] = 1;
  if (needs_nchw(p, n))
    return 0;
  int all4 = 1;
  for (int i = 0; i < n->nin; i++)
    all4 = all4 && p->steps[n->in[i]->id].rank == 4;
  if (n->op == CLSEG__N_ATTENTION) {
    s->rank = 4;
    return infer_attention(p, n, s->shape);
  }
  if (!nchw_op(n->op) || !all4) {
    int ok = infer_nd(p, n, s->shape, &s->rank);
    for (int i = 0; ok && i < s->rank; i++)
      ok = s->shape[i] > 0;
    return ok;
  }
  s->rank = 4;
  return infer_nchw(p, n, s->shape);
}

static clseg_status op_fail(clseg_plan *p, const clseg_node *nd) {
  return clseg__fail_prefix(p->ctx, clseg_last_status(p->ctx),
                            "planning %s '%s': ", clseg__node_op_name(nd->op), nd->name);
}

static clseg_status shape_fail(clseg_plan *p, const clseg_node *nd) {
  char got[256] = "";
  for (int k = 0; k < nd->nin; k++) {
    const clseg__step *in = &p->steps[nd->in[k]->id];
    strncat(got, CLSEG__DIMS(in->shape, in->rank), sizeof got - strlen(got) - 1);
    strncat(got, " ", sizeof got - strlen(got) - 1);
  }
  int nchw = needs_nchw(p, nd);
  return clseg__fail(p->ctx, CLSEG_SHAPE_MISMATCH, "planning %s '%s': inputs of shape %s%s",
                     clseg__node_op_name(nd->op), nd->name, got,
                     nchw ? "are not all NCHW (rank 4), which this op needs"
                          : "give no valid output");
}

clseg_status clseg__plan_shapes(clseg_plan *p, int64_t n, int64_t h, int64_t w) {
  clseg_graph *g = p->g;
  for (int i = 0; i < g->nnodes; i++) {
    clseg_node *nd = g->nodes[i];
    clseg__step *s = &p->steps[i];
    s->node = nd;
    s->target = i;
    s->residual = s->bn = s->push_into = -1;
    s->read[0] = s->read[1] = s->read[2] = -1;
    if (nd->op == CLSEG__N_MATMUL)
      s->mm = nd->u.matmul;
    if (nd->op == CLSEG__N_INPUT) {
      const int64_t in[6] = {n, nd->channels, h, w, 1, 1};
      memcpy(s->shape, in, sizeof in);
      s->rank = 4;
    } else {
      int ok = infer(p, nd, s);
      if (ok <= 0)
        return ok < 0 ? op_fail(p, nd) : shape_fail(p, nd);
    }
    s->flops = node_flops(p, nd);
  }
  return CLSEG_OK;
}
