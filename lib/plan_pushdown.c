/* Planner pass: a 1x1 conv moved below the concat and the resizes that feed it.
 *
 * SegFormer's decoder (and heads like it) brings every stage to one width with a 1x1 conv, resizes
 * the stages to the finest one, concatenates them and mixes the result with another 1x1 conv F:
 *   y = act(F(concat(P_1 x_1, R(P_2 x_2), ...)))
 * A 1x1 conv without activation, a concat and a nearest or bilinear resize (its taps sum to 1, so
 * a per-channel bias passes through it) are all linear, so
 *   y = act(sum_j R(F_j P_j x_j) + b_F)
 * with F_j the columns of F that read part j. Each F_j P_j is one small conv at its stage's own
 * resolution, and F at the finest resolution (SegFormer-B0 at 512x512: 1024 -> 256 channels at
 * 128x128, 8.6 GFLOP, more than the rest of the network) disappears. The parts run in node order:
 * the first writes its sum, each later one adds the sum so far as its residual (a conv's residual
 * or the resize's epilogue), the last applies F's activation and is F's output.
 * Applied when F has no residual of its own, every part is a 1x1 conv (no activation, read once),
 * directly or through one resize read once, and F is no wider than each part (so no part grows). */
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

static int is_pointwise(const clseg_node *n) {
  const clseg_conv2d_params *c = &n->u.conv;
  return n->op == CLSEG__N_CONV && n->kernel == 1 && c->stride_h <= 1 && c->stride_w <= 1 &&
         c->groups <= 1 && !c->pad_top && !c->pad_left && !c->pad_bottom && !c->pad_right;
}

/* Node id's readers of its values: a resize that takes it as the size to resize to reads only its
 * shape. */
static int value_uses(const clseg_plan *p, const int *uses, int id) {
  int n = uses[id];
  for (int i = id + 1; i < p->g->nnodes; i++) {
    const clseg_node *r = p->g->nodes[i];
    n -= r->op == CLSEG__N_RESIZE && r->nin == 2 && r->in[1]->id == id;
  }
  return n;
}

/* The conv step that concat input `part` starts from (part's own target, or through a resize that
 * only the concat reads), if it can be moved through; else NULL. */
static clseg__step *part_conv(clseg_plan *p, const int *uses, const clseg_node *part) {
  const clseg_node *c = part;
  if (part->op == CLSEG__N_RESIZE && uses[part->id] == 1 && !p->steps[part->id].skip)
    c = part->in[0];
  clseg__step *s = &p->steps[p->steps[c->id].target];
  return value_uses(p, uses, c->id) == 1 && is_pointwise(s->node) &&
                 value_uses(p, uses, s->node->id) == 1 && !s->skip &&
                 s->act.kind == CLSEG_ACT_NONE && s->residual < 0 && s->push_into < 0
             ? s
             : NULL;
}

/* Every node whose output is step `from`'s (itself and what was fused into it) is `to`'s, at
 * `width` channels. */
static void retarget(clseg_plan *p, int from, int to, int64_t width) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (p->steps[i].target == from) {
      p->steps[i].target = to;
      p->steps[i].shape[1] = width;
    }
}

/* Moves conv f below its concat when every part allows it; returns 1 if it did. */
static int push_one(clseg_plan *p, const int *uses, int f) {
  const clseg_node *fn = p->g->nodes[f], *cat = fn->in[0];
  clseg__step *fs = &p->steps[f];
  if (!is_pointwise(fn) || fs->skip || fs->residual >= 0 || cat->op != CLSEG__N_CONCAT ||
      uses[cat->id] != 1 || p->steps[cat->id].skip || cat->nin > 64)
    return 0;
  int64_t width = fs->shape[1];
  for (int j = 0; j < cat->nin; j++) {
    const clseg__step *c = part_conv(p, uses, cat->in[j]);
    if (!c || c->shape[1] < width)
      return 0;
    for (int k = 0; k < j; k++)
      if (part_conv(p, uses, cat->in[k]) == c)
        return 0;
  }
  int run[64], last = -1, block = 0;
  for (int j = 0; j < cat->nin; j++) {
    const clseg_node *part = cat->in[j];
    clseg__step *cs = part_conv(p, uses, part);
    int64_t parts = cs->shape[1];
    cs->push_into = f;
    cs->push_block = block;
    cs->push_bias = j == 0;
    cs->flops *= (double)width / (double)parts;
    int conv = cs->node->id, resized = p->steps[part->id].target != conv;
    retarget(p, conv, conv, width);
    if (resized)
      retarget(p, part->id, part->id, width);
    run[j] = resized ? part->id : conv;
    block += (int)parts;
    if (run[j] > last)
      last = run[j];
  }
  /* the sum, in node order: each part after the first adds the parts before it */
  int prev = -1;
  for (int id = 0; id <= last; id++)
    for (int j = 0; j < cat->nin; j++)
      if (run[j] == id) {
        p->steps[id].residual = prev;
        prev = id;
      }
  p->steps[last].act = fs->act;
  fs->flops = 0.0;
  p->steps[cat->id].flops = 0.0;
  p->steps[cat->id].skip = p->steps[f].skip = 1;
  p->info.fused += 2;
  memcpy(p->steps[cat->id].shape, fs->shape, sizeof fs->shape);
  p->steps[cat->id].target = f;
  retarget(p, f, last, width);
  return 1;
}

void clseg__plan_push_pointwise(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++)
    if (p->g->nodes[i]->op == CLSEG__N_CONV && p->g->nodes[i]->nin == 1)
      push_one(p, uses, i);
}

/* w [cout, per] and b [cout] of conv step s with its folded batchnorm, in new host memory. */
static clseg_status host_conv(const clseg_plan *p, const clseg__step *s, float **w, float **b) {
  const int *slot = s->node->param;
  const clseg__param *wp = &p->g->params[slot[CLSEG__SLOT_WEIGHT]];
  const clseg__param *bp =
      slot[CLSEG__SLOT_BIAS] >= 0 ? &p->g->params[slot[CLSEG__SLOT_BIAS]] : NULL;
  int64_t cout = wp->dims[0];
  *w = malloc(wp->count * sizeof **w);
  *b = calloc((size_t)cout, sizeof **b);
  if (!*w || !*b) {
    free(*w), free(*b);
    *w = *b = NULL;
    return clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
  }
  memcpy(*w, wp->data, wp->count * sizeof **w);
  if (bp)
    memcpy(*b, bp->data, (size_t)cout * sizeof **b);
  if (s->bn >= 0) {
    const int *bn = p->steps[s->bn].node->param;
    const clseg__param *g = p->g->params;
    clseg_batchnorm_fold(*w, *b, cout, (int64_t)(wp->count / (size_t)cout),
                         g[bn[CLSEG__SLOT_BN_WEIGHT]].data, g[bn[CLSEG__SLOT_BN_BIAS]].data,
                         g[bn[CLSEG__SLOT_BN_MEAN]].data, g[bn[CLSEG__SLOT_BN_VAR]].data, 1e-5f);
  }
  return CLSEG_OK;
}

/* part's weight [width, cin] = F[:, block .. block + parts) x P [parts, cin]; bias likewise, plus
 * F's own bias on the part that carries it. */
static void derive(const float *fw, const float *fb, int64_t width, int64_t fin, const float *pw,
                   const float *pb, int64_t parts, int64_t cin, int block, int with_bias, float *w,
                   float *b) {
  for (int64_t o = 0; o < width; o++) {
    const float *frow = fw + o * fin + block;
    double bias = with_bias ? fb[o] : 0.0;
    float *wrow = w + o * cin;
    memset(wrow, 0, (size_t)cin * sizeof *wrow);
    for (int64_t d = 0; d < parts; d++) {
      const float *prow = pw + d * cin;
      for (int64_t c = 0; c < cin; c++)
        wrow[c] += frow[d] * prow[c];
      bias += (double)frow[d] * pb[d];
    }
    b[o] = (float)bias;
  }
}

clseg_status clseg__plan_conv_host(const clseg_plan *p, const clseg__step *s, float **w,
                                   float **b) {
  if (s->push_into < 0)
    return host_conv(p, s, w, b);
  const clseg__step *fs = &p->steps[s->push_into];
  const clseg__param *pw = &p->g->params[s->node->param[CLSEG__SLOT_WEIGHT]];
  int64_t width = s->shape[1], parts = pw->dims[0], cin = (int64_t)(pw->count / (size_t)parts);
  int64_t fin = (int64_t)(p->g->params[fs->node->param[CLSEG__SLOT_WEIGHT]].count / (size_t)width);
  float *fw = NULL, *fb = NULL, *ow = NULL, *ob = NULL;
  clseg_status st = host_conv(p, fs, &fw, &fb);
  if (st == CLSEG_OK)
    st = host_conv(p, s, &ow, &ob);
  *w = st == CLSEG_OK ? malloc((size_t)(width * cin) * sizeof **w) : NULL;
  *b = st == CLSEG_OK ? malloc((size_t)width * sizeof **b) : NULL;
  if (st == CLSEG_OK && (!*w || !*b))
    st = clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
  if (st == CLSEG_OK)
    derive(fw, fb, width, fin, ow, ob, parts, cin, s->push_block, s->push_bias, *w, *b);
  free(fw), free(fb), free(ow), free(ob);
  if (st != CLSEG_OK) {
    free(*w), free(*b);
    *w = *b = NULL;
  }
  return st;
}
