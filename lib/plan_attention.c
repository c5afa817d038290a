/* Planner passes over matmul chains. A transpose of the last two dims read only by a matmul becomes
 * that matmul's trans flag (no kernel). A matmul -> [scale by a constant] -> softmax(last axis) ->
 * matmul chain, as exported from PyTorch (non-local blocks, DANet, transformer attention), becomes
 * one fused attention step that never stores the Lq x Lk scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

static int swaps_last_two(const clseg_node *t) {
  int r = t->u.perm.rank;
  for (int i = 0; i < r - 2; i++)
    if (t->u.perm.p[i] != i)
      return 0;
  return r >= 2 && t->u.perm.p[r - 2] == r - 1 && t->u.perm.p[r - 1] == r - 2;
}

static int read_id(const clseg__step *s, int k) {
  return s->read[k] >= 0 ? s->read[k] : s->node->in[k]->id;
}

static void skip_into(clseg_plan *p, int id, int target) {
  p->steps[id].skip = 1;
  p->steps[id].target = target;
  p->info.fused++;
}

void clseg__plan_fold_transposes(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++) {
    clseg__step *s = &p->steps[i];
    if (s->node->op != CLSEG__N_MATMUL || s->skip)
      continue;
    for (int k = 0; k < 2; k++) {
      int id = read_id(s, k);
      const clseg_node *t = p->g->nodes[id];
      if (t->op != CLSEG__N_TRANSPOSE || uses[id] != 1 || p->steps[id].skip || !swaps_last_two(t))
        continue;
      skip_into(p, id, i);
      s->read[k] = t->in[0]->id;
      if (k == 0)
        s->mm.trans_a = !s->mm.trans_a;
      else
        s->mm.trans_b = !s->mm.trans_b;
    }
  }
}

/* The one unskipped reader of node id, or -1. */
static int only_reader(const clseg_plan *p, int id) {
  int found = -1;
  for (int j = id + 1; j < p->g->nnodes; j++) {
    const clseg__step *s = &p->steps[j];
    for (int k = 0; k < s->node->nin; k++)
      if (!s->skip && read_id(s, k < 3 ? k : 0) == id) {
        if (found >= 0 && found != j)
          return -1;
        found = j;
      }
  }
  return found;
}

/* Strides (batch, head, position, feature) of a contiguous operand [..., rows, cols] whose matrix
 * holds positions along rows (by_rows) or along columns, with its batch dims broadcast against the
 * output's nb batch dims ob. */
static void strides(const clseg__step *t, int by_rows, const int64_t *ob, int nb, int64_t st[4]) {
  int r = t->rank;
  int64_t rows = t->shape[r - 2], cols = t->shape[r - 1], mat = rows * cols, below = mat;
  st[2] = by_rows ? cols : 1;
  st[3] = by_rows ? 1 : cols;
  st[0] = st[1] = 0;
  for (int b = nb - 1, d = r - 3; b >= 0; b--, d--) {
    int64_t dim = d >= 0 ? t->shape[d] : 1;
    int64_t stride = dim == 1 && ob[b] != 1 ? 0 : below;
    st[nb == 2 ? b : 0] = stride; /* batch dims: (batch, heads), or (batch) alone */
    below *= dim;
  }
  if (nb < 2)
    st[1] = 0;
}

/* The scores' source: a matmul, maybe through a multiply or divide by a one-value constant. */
static int scores_matmul(clseg_plan *p, const int *uses, int id, float *scale, int *scale_id) {
  const clseg_node *n = p->g->nodes[id];
  *scale_id = -1;
  if (n->op == CLSEG__N_BINARY && uses[id] == 1 &&
      (n->binary == CLSEG_BINARY_MUL || n->binary == CLSEG_BINARY_DIV)) {
    for (int k = 0; k < 2; k++) {
      const float c = clseg__plan_scalar(p, n->in[k]);
      if (!isnan(c) && c != 0.0f && (k == 1 || n->binary == CLSEG_BINARY_MUL)) {
        *scale *= n->binary == CLSEG_BINARY_MUL ? c : 1.0f / c;
        *scale_id = id;
        id = n->in[1 - k]->id;
        n = p->g->nodes[id];
        break;
      }
    }
  }
  const clseg__step *m = &p->steps[id];
  if (n->op != CLSEG__N_MATMUL || uses[id] != 1 || m->skip)
    return -1;
  *scale *= m->mm.alpha != 0.0f ? m->mm.alpha : 1.0f;
  return id;
}

/* Fuses the chain ending at softmax node sid, if it is one. */
static void fuse_one(clseg_plan *p, const int *uses, int sid) {
  const clseg__step *sm = &p->steps[sid];
  const clseg_node *sn = sm->node;
  int axis = sn->u.axis.axis < 0 ? sn->u.axis.axis + sm->rank : sn->u.axis.axis;
  if (sn->u.axis.log || axis != sm->rank - 1 || sm->rank < 2 || sm->rank > 4 || uses[sid] != 1)
    return;
  int m2 = only_reader(p, sid);
  if (m2 < 0 || p->g->nodes[m2]->op != CLSEG__N_MATMUL)
    return;
  clseg__step *o = &p->steps[m2];
  int attn_left = read_id(o, 0) == sid && !o->mm.trans_a; /* O = S V */
  int attn_right = read_id(o, 1) == sid && o->mm.trans_b; /* O = V S^T */
  if (!attn_left && !attn_right)
    return;
  float scale = o->mm.alpha != 0.0f ? o->mm.alpha : 1.0f;
  int scale_id, m1 = scores_matmul(p, uses, sn->in[0]->id, &scale, &scale_id);
  if (m1 < 0)
    return;
  const clseg__step *s1 = &p->steps[m1];
  int qid = read_id(s1, 0), kid = read_id(s1, 1), vid = read_id(o, attn_left ? 1 : 0);
  const clseg__step *q = &p->steps[qid], *k = &p->steps[kid], *v = &p->steps[vid];
  int nb = o->rank - 2;
  if (nb > 2 || q->rank < 2 || k->rank < 2 || v->rank < 2)
    return;
  clseg__attention_dims d = {0};
  d.batch = nb ? o->shape[0] : 1;
  d.heads = nb == 2 ? o->shape[1] : 1;
  d.lq = sm->shape[sm->rank - 2];
  d.lk = sm->shape[sm->rank - 1];
  d.dk = s1->mm.trans_a ? q->shape[q->rank - 2] : q->shape[q->rank - 1];
  int v_rows = attn_left ? !o->mm.trans_b : o->mm.trans_a; /* V's positions along its rows */
  d.dv = v_rows ? v->shape[v->rank - 1] : v->shape[v->rank - 2];
  strides(q, !s1->mm.trans_a, o->shape, nb, d.q);
  strides(k, s1->mm.trans_b, o->shape, nb, d.k);
  strides(v, v_rows, o->shape, nb, d.v);
  strides(o, attn_left, o->shape, nb, d.o);
  d.scale = scale;
  clseg__attention_dims *a = malloc(sizeof *a);
  if (!a)
    return; /* unfused: runs as separate steps */
  *a = d;
  o->attn = a;
  o->read[0] = qid, o->read[1] = kid, o->read[2] = vid;
  skip_into(p, sid, m2);
  skip_into(p, m1, m2);
  if (scale_id >= 0)
    skip_into(p, scale_id, m2);
}

void clseg__plan_fuse_attention(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (p->g->nodes[i]->op == CLSEG__N_SOFTMAX_AXIS && !p->steps[i].skip)
      fuse_one(p, uses, i);
}
