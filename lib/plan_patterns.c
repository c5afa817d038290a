/* Planner passes for what exporters write out op by op (torch.onnx before opsets 17 and 20):
 *   m = ReduceMean(x); d = x - m; v = ReduceMean(d ^ 2); y = d / sqrt(v + eps) [* gamma] [+ beta]
 * becomes one layernorm step over the reduced axes, gamma and beta read from their constants, and
 *   y = x * (erf(x / sqrt 2) + 1) * 0.5 (any order of the products' operands)
 * one GELU activation; and a layernorm between a transpose and its inverse normalises the
 * untransposed tensor, both transposes gone. */
#include <math.h>
#include <string.h>

#include "plan_internal.h"

/* Node id's single use, as a node of op (and binary kind) that nothing else fused; else NULL. */
static const clseg_node *sole(const clseg_plan *p, const int *uses, int id) {
  return id >= 0 && uses[id] == 1 && !p->steps[id].skip ? p->g->nodes[id] : NULL;
}

static int is_binary(const clseg_node *n, clseg_binary_op op) {
  return n && n->op == CLSEG__N_BINARY && n->binary == op;
}

float clseg__plan_scalar(const clseg_plan *p, const clseg_node *c) {
  const clseg__param *pr = c->op == CLSEG__N_CONST ? &p->g->params[c->param[0]] : NULL;
  return pr && pr->count == 1 && pr->data ? pr->data[0] : NAN;
}

static int same_mean(const clseg_node *a, const clseg_node *b) {
  return a && b && a->op == CLSEG__N_REDUCE_AXES && b->op == CLSEG__N_REDUCE_AXES &&
         a->reduce == CLSEG_REDUCE_MEAN && b->reduce == CLSEG_REDUCE_MEAN && a->u.axis.keepdims &&
         b->u.axis.keepdims && a->u.axis.axis == b->u.axis.axis &&
         a->u.axis.naxes == b->u.axis.naxes;
}

/* A constant of one value per normalised element applied by op after node id, or -1. */
static int affine(const clseg_plan *p, const int *uses, int id, clseg_binary_op op, int64_t count,
                  int *next) {
  for (int j = id + 1; uses[id] == 1 && j < p->g->nnodes; j++) {
    const clseg_node *n = p->g->nodes[j];
    if (n->nin != 2 || (n->in[0]->id != id && n->in[1]->id != id))
      continue;
    const clseg_node *c = n->in[0]->id == id ? n->in[1] : n->in[0];
    if (!is_binary(n, op) || p->steps[j].skip || c->op != CLSEG__N_CONST ||
        (int64_t)p->g->params[c->param[0]].count != count ||
        memcmp(p->steps[j].shape, p->steps[id].shape, sizeof p->steps[j].shape))
      return -1;
    *next = j;
    return c->id;
  }
  return -1;
}

static void fuse_one(clseg_plan *p, const int *uses, int div) {
  const clseg_node *dv = p->g->nodes[div];
  const clseg_node *d = dv->in[0], *sq = sole(p, uses, dv->in[1]->id);
  const clseg_node *add = sq && sq->op == CLSEG__N_UNARY && sq->unary == CLSEG_UNARY_SQRT
                              ? sole(p, uses, sq->in[0]->id)
                              : NULL;
  if (!is_binary(add, CLSEG_BINARY_ADD) || !is_binary(d, CLSEG_BINARY_SUB) || uses[d->id] != 2)
    return;
  float eps = clseg__plan_scalar(p, add->in[1]);
  const clseg_node *var = sole(p, uses, add->in[0]->id);
  const clseg_node *pw = var ? sole(p, uses, var->in[0]->id) : NULL;
  const clseg_node *mean = sole(p, uses, d->in[1]->id);
  if (isnan(eps) || !is_binary(pw, CLSEG_BINARY_POW) || pw->in[0] != d ||
      clseg__plan_scalar(p, pw->in[1]) != 2.0f || !same_mean(var, mean) || mean->in[0] != d->in[0])
    return;
  const clseg__step *x = &p->steps[d->in[0]->id];
  int axis = mean->u.axis.axis < 0 ? mean->u.axis.axis + x->rank : mean->u.axis.axis;
  int naxes = mean->u.axis.naxes ? mean->u.axis.naxes : x->rank - axis;
  int64_t count = 1;
  for (int i = axis; i < axis + naxes; i++)
    count *= x->shape[i];
  int mul = -1, addb = -1;
  int gamma = affine(p, uses, div, CLSEG_BINARY_MUL, count, &mul);
  int beta = affine(p, uses, gamma >= 0 ? mul : div, CLSEG_BINARY_ADD, count, &addb);
  int last = beta >= 0 ? addb : gamma >= 0 ? mul : div;
  clseg__step *s = &p->steps[last];
  s->ln = 1;
  s->lnp = (clseg_layernorm_params){axis, naxes, eps};
  s->ln_gamma = gamma, s->ln_beta = beta;
  s->read[0] = x->node->id;
  const int chain[] = {mean->id, d->id,  pw->id, var->id,
                       add->id,  sq->id, div,    gamma >= 0 ? mul : -1};
  for (size_t i = 0; i < sizeof chain / sizeof *chain; i++)
    if (chain[i] >= 0 && chain[i] != last) {
      p->steps[chain[i]].skip = 1;
      p->steps[chain[i]].target = last;
      p->info.fused++;
    }
}

static void fuse_gelu(clseg_plan *p, const int *uses, int half) {
  const clseg_node *h = p->g->nodes[half], *t = NULL;
  for (int k = 0; k < 2 && !t; k++) /* (x * (erf + 1)) * 0.5 */
    if (fabsf(clseg__plan_scalar(p, h->in[1 - k]) - 0.5f) < 1e-7f)
      t = sole(p, uses, h->in[k]->id);
  if (!is_binary(t, CLSEG_BINARY_MUL))
    return;
  for (int k = 0; k < 2; k++) { /* t = x * a, a = erf(x / sqrt 2) + 1 */
    const clseg_node *a = sole(p, uses, t->in[k]->id), *x = t->in[1 - k];
    const clseg_node *one = is_binary(a, CLSEG_BINARY_ADD) ? a->in[1] : NULL;
    const clseg_node *e = a ? sole(p, uses, a->in[0]->id) : NULL;
    if (!one || clseg__plan_scalar(p, one) != 1.0f || !e || e->op != CLSEG__N_UNARY ||
        e->unary != CLSEG_UNARY_ERF)
      continue;
    const clseg_node *dv = sole(p, uses, e->in[0]->id);
    if (!is_binary(dv, CLSEG_BINARY_DIV) || dv->in[0] != x ||
        fabsf(clseg__plan_scalar(p, dv->in[1]) - 1.41421356f) > 1e-5f)
      continue;
    clseg__step *s = &p->steps[half];
    s->gelu = 1;
    s->read[0] = x->id;
    const int chain[] = {dv->id, e->id, a->id, t->id};
    for (size_t i = 0; i < sizeof chain / sizeof *chain; i++) {
      p->steps[chain[i]].skip = 1;
      p->steps[chain[i]].target = half;
      p->info.fused++;
    }
    return;
  }
}

void clseg__plan_fuse_gelu(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (is_binary(p->g->nodes[i], CLSEG_BINARY_MUL) && !p->steps[i].skip)
      fuse_gelu(p, uses, i);
}

void clseg__plan_fuse_layernorm(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (is_binary(p->g->nodes[i], CLSEG_BINARY_DIV) && !p->steps[i].skip)
      fuse_one(p, uses, i);
}

/* Every reader of node id is step ln or fused into it. */
static int read_only_by(const clseg_plan *p, const int *uses, int id, int ln) {
  int n = 0;
  for (int j = id + 1; j < p->g->nnodes; j++)
    for (int k = 0; k < p->g->nodes[j]->nin; k++)
      if (p->g->nodes[j]->in[k]->id == id) {
        if (j != ln && (!p->steps[j].skip || p->steps[j].target != ln))
          return 0;
        n++;
      }
  return n == uses[id];
}

/* The transpose reading step ln's output, if it is its only reader; else -1. */
static int sole_transpose_reader(const clseg_plan *p, const int *uses, int ln) {
  for (int j = ln + 1; uses[ln] == 1 && j < p->g->nnodes; j++)
    if (p->g->nodes[j]->nin && p->g->nodes[j]->in[0]->id == ln)
      return p->g->nodes[j]->op == CLSEG__N_TRANSPOSE && !p->steps[j].skip ? j : -1;
  return -1;
}

/* PyTorch modules that permute NCHW to channels-last for nn.LayerNorm and back (SegFormer's,
 * ConvNeXt's) export transpose -> layernorm(last axes) -> inverse transpose: the layernorm then
 * runs on the transpose's input over the axes the transpose had moved last (when they are
 * consecutive there), and neither transpose launches. */
static void fold_ln_transposes(clseg_plan *p, const int *uses, int ln) {
  clseg__step *s = &p->steps[ln];
  const clseg_node *n = s->node;
  int x = s->ln ? s->read[0] : n->in[0]->id, t2 = sole_transpose_reader(p, uses, ln);
  const clseg_node *t1 = p->g->nodes[x];
  if (t2 < 0 || t1->op != CLSEG__N_TRANSPOSE || p->steps[x].skip || !read_only_by(p, uses, x, ln))
    return;
  const int *p1 = t1->u.perm.p, *p2 = p->g->nodes[t2]->u.perm.p, r = t1->u.perm.rank;
  clseg_layernorm_params lp =
      s->ln ? s->lnp : (clseg_layernorm_params){n->u.axis.axis, n->u.axis.naxes, n->u.axis.eps};
  int a = lp.axis < 0 ? lp.axis + r : lp.axis, k = lp.naxes ? lp.naxes : r - a;
  if (p->g->nodes[t2]->u.perm.rank != r || a < 0 || a + k > r)
    return;
  for (int d = 0; d < r; d++)
    if (p1[p2[d]] != d || (d > a && d < a + k && p1[d] != p1[a] + d - a))
      return;
  if (!s->ln)
    s->ln_gamma = s->ln_beta = -1;
  s->ln = 1;
  s->lnp = (clseg_layernorm_params){p1[a], k, lp.eps};
  s->read[0] = t1->in[0]->id;
  memcpy(s->shape, p->steps[t2].shape, sizeof s->shape);
  s->rank = p->steps[t2].rank;
  const int gone[] = {x, t2};
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < p->g->nnodes; j++)
      if (p->steps[j].target == gone[i])
        p->steps[j].target = ln;
    p->steps[gone[i]].skip = 1;
    p->info.fused++;
  }
}

void clseg__plan_fold_layernorm_transposes(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (!p->steps[i].skip && (p->steps[i].ln || p->g->nodes[i]->op == CLSEG__N_LAYERNORM))
      fold_ln_transposes(p, uses, i);
}
