/* Planning a graph for a device and an input size: shape inference, batchnorm folding, activation
 * and residual fusion, liveness-based activation memory, and device copies of the parameters (a
 * conv that runs from packed weights keeps only those). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "plan_internal.h"
#include "tuning.h"

#define ARENA_ALIGN 64 /* elements: 256-byte aligned views */

static clseg_status plan_fail(clseg_plan *p, clseg_status s, const char *fmt, const char *a,
                              const char *b) {
  return clseg__fail(p->ctx, s, fmt, a, b);
}

static int *consumer_counts(const clseg_graph *g) {
  int *c = calloc((size_t)g->nnodes, sizeof *c);
  if (!c)
    return NULL;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i]->nin; k++)
      c[g->nodes[i]->in[k]->id]++;
  for (int i = 0; i < g->noutputs; i++) /* read after the run: never fused away or overwritten */
    c[g->outputs[i]->id]++;
  return c;
}

/* The conv step that node id's output ends at, if it may still take a fused epilogue. */
static clseg__step *fusable_conv(clseg_plan *p, int id, const int *uses) {
  clseg__step *t = &p->steps[p->steps[id].target];
  int is_conv = t->node->op == CLSEG__N_CONV || t->node->op == CLSEG__N_CONVT;
  return is_conv && uses[id] == 1 && t->act.kind == CLSEG_ACT_NONE ? t : NULL;
}

/* For add(a, b): the conv producing one operand that can take the other as its residual: the other
 * must be produced before the conv runs and have the output's shape (add is commutative: both
 * orders are tried). */
static clseg__step *fusable_add(clseg_plan *p, const clseg_node *n, const int *uses,
                                int *other_id) {
  for (int k = 0; k < 2; k++) {
    clseg__step *c = fusable_conv(p, n->in[k]->id, uses);
    const clseg_node *other = n->in[1 - k];
    if (c && c->node->op == CLSEG__N_CONV && c->residual < 0 && other->id < c->node->id &&
        !memcmp(p->steps[other->id].shape, p->steps[n->id].shape, sizeof p->steps[n->id].shape)) {
      *other_id = other->id;
      return c;
    }
  }
  return NULL;
}

static void fuse(clseg_plan *p, const int *uses) {
  for (int i = 0; i < p->g->nnodes; i++) {
    clseg__step *s = &p->steps[i];
    clseg_node *n = s->node;
    int other = -1;
    clseg__step *c = n->nin ? fusable_conv(p, n->in[0]->id, uses) : NULL;
    if (n->op == CLSEG__N_BN && c && c->node->op == CLSEG__N_CONV && c->residual < 0 && c->bn < 0) {
      c->bn = i;
    } else if (n->op == CLSEG__N_ACT && c) {
      c->act = n->u.act;
    } else if (n->op == CLSEG__N_BINARY && n->binary == CLSEG_BINARY_ADD &&
               (c = fusable_add(p, n, uses, &other)) != NULL) {
      c->residual = other;
    } else {
      continue;
    }
    s->skip = 1;
    s->target = c->node->id;
    p->info.fused++;
  }
}

/* A transpose that moves only dims of size 1 (the heads dim of one-head attention) keeps every
 * element where it was: a reshape. */
static int moves_only_unit_dims(const clseg_plan *p, const clseg_node *t) {
  const int64_t *in = p->steps[t->in[0]->id].shape;
  int last = -1;
  for (int d = 0; d < t->u.perm.rank; d++) {
    int from = t->u.perm.p[d];
    if (in[from] == 1)
      continue;
    if (from < last)
      return 0;
    last = from;
  }
  return 1;
}

/* A bilinear resize to the input's own size under a scale of 1 (or none) reads each output from
 * its own position with weight 1 in every coordinate rule (mmseg's decoders resize their finest
 * stage to its own size): a copy. */
static int is_identity_resize(const clseg_plan *p, const clseg_node *r) {
  if (r->op != CLSEG__N_RESIZE)
    return 0;
  const int64_t *in = p->steps[r->in[0]->id].shape, *out = p->steps[r->id].shape;
  const clseg_resize_params *rp = &r->u.resize;
  return rp->mode == CLSEG_RESIZE_BILINEAR && in[2] == out[2] && in[3] == out[3] &&
         (rp->scale_h == 0.0f || rp->scale_h == 1.0f) &&
         (rp->scale_w == 0.0f || rp->scale_w == 1.0f);
}

/* Steps that launch nothing: a constant is its parameter's device tensor, a reshape (or a
 * transpose or a resize that is one) its input's memory read at another shape. */
static void alias(clseg_plan *p) {
  for (int i = 0; i < p->g->nnodes; i++) {
    clseg__step *s = &p->steps[i];
    clseg__node_op op = s->node->op;
    if (op == CLSEG__N_CONST || op == CLSEG__N_RESHAPE || is_identity_resize(p, s->node) ||
        (op == CLSEG__N_TRANSPOSE && moves_only_unit_dims(p, s->node))) {
      s->skip = 1;
      s->target = s->node->op == CLSEG__N_CONST ? i : p->steps[s->node->in[0]->id].target;
    }
  }
}

/* Assigns arena offsets, largest first, at the lowest offset free during the storage's lifetime. */
static size_t assign_offsets(clseg__storage *st, int n) {
  int *idx = malloc(sizeof *idx * (size_t)n);
  if (!idx)
    return 0;
  for (int i = 0; i < n; i++)
    idx[i] = i;
  for (int i = 1; i < n; i++) /* insertion sort by size, descending: n is a few hundred at most */
    for (int j = i; j > 0 && st[idx[j]].count > st[idx[j - 1]].count; j--) {
      int t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  size_t total = 0;
  for (int a = 0; a < n; a++) {
    clseg__storage *s = &st[idx[a]];
    size_t off = 0, need = clseg__round_up(s->count, ARENA_ALIGN);
    for (int moved = 1; moved;) {
      moved = 0;
      for (int b = 0; b < a; b++) {
        const clseg__storage *o = &st[idx[b]];
        size_t oend = o->offset + clseg__round_up(o->count, ARENA_ALIGN);
        int live = o->first <= s->last && s->first <= o->last;
        if (live && off < oend && o->offset < off + need) {
          off = oend;
          moved = 1;
        }
      }
    }
    s->offset = off;
    if (off + need > total)
      total = off + need;
  }
  free(idx);
  return total;
}

static clseg_status upload(clseg_plan *p, const float *data, const int64_t *dims, int ndim,
                           clseg_tensor **out) {
  const int64_t one = 1;
  if (p->nowned == p->cap_owned) {
    int nc = p->cap_owned ? p->cap_owned * 2 : 64;
    clseg_tensor **no = realloc(p->owned, sizeof *no * (size_t)nc);
    if (!no)
      return clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
    p->owned = no;
    p->cap_owned = nc;
  }
  clseg_status s = clseg_tensor_create_nd(p->ctx, ndim ? ndim : 1, ndim ? dims : &one, out);
  if (s == CLSEG_OK) {
    p->owned[p->nowned++] = *out;
    s = clseg_tensor_upload(*out, data, clseg_tensor_count(*out));
    p->info.parameter_bytes += clseg_tensor_count(*out) * sizeof(float);
  }
  return s;
}

/* Uploads a conv's weight and bias as the host computes them: its batchnorm folded, or a 1x1 conv
 * moved below it (lib/plan_pushdown.c). */
static clseg_status upload_host_conv(clseg_plan *p, clseg__step *s) {
  const clseg__param *w = &p->g->params[s->node->param[CLSEG__SLOT_WEIGHT]];
  int64_t dims[CLSEG_MAX_RANK], cout = s->shape[1];
  memcpy(dims, w->dims, sizeof(int64_t) * (size_t)w->ndim);
  dims[0] = cout;
  float *wf = NULL, *bf = NULL;
  clseg_status st = clseg__plan_conv_host(p, s, &wf, &bf);
  if (st == CLSEG_OK)
    st = upload(p, wf, dims, w->ndim, &s->param[CLSEG__SLOT_WEIGHT]);
  if (st == CLSEG_OK)
    st = upload(p, bf, &cout, 1, &s->param[CLSEG__SLOT_BIAS]);
  free(wf);
  free(bf);
  return st;
}

/* Lets the conv family choose its variant and pack the weights once for this input shape. */
static clseg_status prepare_conv(clseg_plan *p, clseg__step *s) {
  clseg_conv2d_params cp = s->node->u.conv;
  cp.act = s->act;
  clseg_status st = clseg__conv2d_prepare_ex(
      p->ctx, p->steps[s->node->in[0]->id].shape, s->param[CLSEG__SLOT_WEIGHT],
      s->param[CLSEG__SLOT_BIAS], &cp, p->opt.low_memory, &s->conv);
  return st == CLSEG_UNSUPPORTED ? CLSEG_OK : st; /* no prepared path: run eagerly */
}

static clseg_status prepare_convt(clseg_plan *p, clseg__step *s) {
  clseg_conv_transpose2d_params cp = s->node->u.convt;
  cp.act = s->act;
  return clseg__conv_transpose2d_prepare(p->ctx, p->steps[s->node->in[0]->id].shape,
                                         s->param[CLSEG__SLOT_WEIGHT], s->param[CLSEG__SLOT_BIAS],
                                         &cp, &s->convt);
}

/* Frees the plan's device copy of a parameter that nothing reads any more. */
static void release_param(clseg_plan *p, clseg_tensor **t) {
  for (int i = p->nowned - 1; i >= 0; i--)
    if (p->owned[i] == *t) {
      p->info.parameter_bytes -= clseg_tensor_count(*t) * sizeof(float);
      clseg_tensor_free(*t);
      p->owned[i] = p->owned[--p->nowned];
      break;
    }
  *t = NULL;
}

/* A prepared conv's packed weights count as parameters; when it runs from them alone, the
 * unpacked weight the plan uploaded goes. */
static void settle_conv_weights(clseg_plan *p, clseg__step *s) {
  int dropped = 0;
  if (s->conv) {
    p->info.parameter_bytes += clseg__conv2d_prep_weight_bytes(s->conv);
    dropped = clseg__conv2d_prep_drop_weight(s->conv);
  } else if (s->convt) {
    p->info.parameter_bytes += clseg__conv_transpose2d_prep_weight_bytes(s->convt);
    dropped = clseg__conv_transpose2d_prep_drop_weight(s->convt);
  }
  if (dropped)
    release_param(p, &s->param[CLSEG__SLOT_WEIGHT]);
}

/* The host values of a step's parameters (a folded batchnorm's and a moved conv's included) are on
 * the device. */
static void evict_host_params(clseg_plan *p, const clseg__step *s) {
  for (int i = 0; i < CLSEG__MAX_NODE_PARAMS; i++) {
    clseg__param_evict(p->g, s->node->param[i]);
    if (s->bn >= 0)
      clseg__param_evict(p->g, p->steps[s->bn].node->param[i]);
  }
  if (s->push_into >= 0)
    evict_host_params(p, &p->steps[s->push_into]);
}

static clseg_status upload_params_steps(clseg_plan *p) {
  for (int k = 0; k < p->norder; k++) {
    clseg__step *s = &p->steps[p->order[k]];
    int on_host = s->bn >= 0 || s->push_into >= 0;
    clseg_status st = on_host ? upload_host_conv(p, s) : CLSEG_OK;
    for (int i = 0; !on_host && st == CLSEG_OK && i < CLSEG__MAX_NODE_PARAMS; i++) {
      const clseg__param *pr = s->node->param[i] >= 0 ? &p->g->params[s->node->param[i]] : NULL;
      st = pr ? upload(p, pr->data, pr->dims, pr->ndim, &s->param[i]) : CLSEG_OK;
    }
    evict_host_params(p, s);
    if (st == CLSEG_OK && s->node->op == CLSEG__N_CONV)
      st = prepare_conv(p, s);
    if (st == CLSEG_OK && s->node->op == CLSEG__N_CONVT)
      st = prepare_convt(p, s);
    if (st != CLSEG_OK)
      return st;
    settle_conv_weights(p, s);
  }
  return CLSEG_OK;
}

/* Constants: their parameter, uploaded at the node's shape. */
static clseg_status upload_constants(clseg_plan *p) {
  clseg_status st = CLSEG_OK;
  for (int i = 0; st == CLSEG_OK && i < p->g->nnodes; i++) {
    clseg__step *s = &p->steps[i];
    if (s->node->op == CLSEG__N_CONST) {
      const clseg__param *pr = &p->g->params[s->node->param[0]];
      st = upload(p, pr->data, s->shape, s->rank, &s->param[0]);
      clseg__param_evict(p->g, s->node->param[0]);
    }
  }
  return st;
}

/* Uploads parameters and prepares the convs, with the rows the plan options ask for. */
static clseg_status upload_params(clseg_plan *p) {
  clseg_status st = upload_constants(p);
  if (st != CLSEG_OK)
    return st;
  clseg__tune_user_off(p->ctx, p->opt.shipped_rows_only);
  st = upload_params_steps(p);
  clseg__tune_user_off(p->ctx, 0);
  return st;
}

/* One storage per unskipped step; lifetimes from the execution positions that read it. */
static clseg_status plan_memory(clseg_plan *p) {
  clseg_graph *g = p->g;
  p->storages = calloc((size_t)p->norder, sizeof *p->storages);
  if (!p->storages)
    return clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
  for (int k = 0; k < p->norder; k++) {
    clseg__step *s = &p->steps[p->order[k]];
    clseg__storage *st = &p->storages[k];
    s->storage = k;
    st->count = 1;
    for (int d = 0; d < s->rank; d++)
      st->count *= (size_t)s->shape[d];
    st->first = st->last = k;
    p->info.activation_sum_bytes += st->count * sizeof(float);
  }
  for (int i = 0; i < g->nnodes; i++) /* skipped nodes live in their target's storage */
    p->steps[i].storage = p->steps[p->steps[i].target].storage;
  for (int i = 0; i < g->nnodes; i++) /* constants live in their parameter's tensor */
    if (p->steps[p->steps[i].target].node->op == CLSEG__N_CONST)
      p->steps[i].storage = -1;
  for (int k = 0; k < p->norder; k++) {
    clseg__step *s = &p->steps[p->order[k]];
    for (int i = 0; i < s->node->nin || (i < 3 && s->read[i] >= 0); i++) {
      int id = i < 3 && s->read[i] >= 0 ? s->read[i] : s->node->in[i]->id;
      int sto = p->steps[id].storage;
      if (sto >= 0 && p->storages[sto].last < k)
        p->storages[sto].last = k;
    }
    if (s->residual >= 0 && p->storages[p->steps[s->residual].storage].last < k)
      p->storages[p->steps[s->residual].storage].last = k;
  }
  for (int i = 0; i < g->nnodes; i++) /* a fused node's readers read its target */
    if (p->steps[i].skip)
      for (int j = i + 1; j < g->nnodes; j++)
        for (int k = 0; k < g->nodes[j]->nin; k++)
          if (g->nodes[j]->in[k]->id == i && !p->steps[j].skip && p->steps[i].storage >= 0) {
            clseg__storage *st = &p->storages[p->steps[i].storage];
            if (st->last < p->steps[j].position)
              st->last = p->steps[j].position;
          }
  for (int i = 0; i < g->noutputs; i++) /* read after the run */
    if (p->steps[g->outputs[i]->id].storage >= 0)
      p->storages[p->steps[g->outputs[i]->id].storage].last = p->norder;
  p->arena_count = assign_offsets(p->storages, p->norder);
  if (!p->arena_count)
    return clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
  p->info.activation_bytes = p->arena_count * sizeof(float);
  return CLSEG_OK;
}

static clseg_status make_views(clseg_plan *p) {
  cl_int err;
  if (p->ctx->info.max_alloc && p->arena_count * sizeof(float) > p->ctx->info.max_alloc)
    return clseg__fail(
        p->ctx, CLSEG_OUT_OF_MEMORY,
        "planning: the activations need %.1f MiB in one buffer, more than the device's largest "
        "buffer (%.1f MiB); use a smaller input or tiles",
        (double)p->arena_count * 4 / 1048576.0, (double)p->ctx->info.max_alloc / 1048576.0);
  p->arena =
      clCreateBuffer(p->ctx->cl, CL_MEM_READ_WRITE, p->arena_count * sizeof(float), NULL, &err);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(p->ctx, err, "planning: allocating %.1f MiB of activations",
                          (double)p->arena_count * 4 / 1048576.0);
  for (int i = 0; i < p->g->nnodes; i++) {
    clseg__step *s = &p->steps[i];
    const clseg_tensor *c = s->storage < 0 ? p->steps[s->target].param[0] : NULL;
    clseg_tensor *t = calloc(1, sizeof *t);
    if (!t)
      return clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
    t->ctx = p->ctx;
    memcpy(t->shape, s->shape, sizeof t->shape);
    t->rank = s->rank;
    t->count = 1;
    for (int d = 0; d < s->rank; d++)
      t->count *= (size_t)s->shape[d];
    t->buf = c ? c->buf : p->arena;
    t->offset = c ? c->offset : p->storages[s->storage].offset;
    s->view = t;
  }
  return CLSEG_OK;
}

static clseg_status check_graph(clseg_plan *p) {
  clseg_graph *g = p->g;
  if (g->status != CLSEG_OK)
    return clseg__fail(p->ctx, g->status, "planning a graph that failed to build: %s", g->error);
  if (!g->input || !g->output)
    return plan_fail(p, CLSEG_INVALID_ARGUMENT, "planning: the graph has no %s%s",
                     g->input ? "" : "input ", g->output ? "" : "output");
  char missing[1024] = "";
  int nmissing = 0;
  for (int i = 0; i < g->nparams; i++)
    if (!g->params[i].data && nmissing++ < 8) {
      strncat(missing, nmissing > 1 ? ", " : "", sizeof missing - strlen(missing) - 1);
      strncat(missing, g->params[i].name, sizeof missing - strlen(missing) - 1);
    }
  if (nmissing)
    return clseg__fail(p->ctx, CLSEG_INVALID_ARGUMENT,
                       "planning: %d parameters have no values (%s%s); load weights or call "
                       "clseg_graph_random_params",
                       nmissing, missing, nmissing > 8 ? ", ..." : "");
  return CLSEG_OK;
}

static clseg_status plan_build(clseg_plan *p, int64_t n, int64_t h, int64_t w) {
  clseg_status s = check_graph(p);
  if (s != CLSEG_OK)
    return s;
  clseg_graph *g = p->g;
  p->steps = calloc((size_t)g->nnodes, sizeof *p->steps);
  p->order = calloc((size_t)g->nnodes, sizeof *p->order);
  int *uses = consumer_counts(g);
  if (!p->steps || !p->order || !uses) {
    free(uses);
    return clseg__fail(p->ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
  }
  s = clseg__plan_shapes(p, n, h, w);
  if (s == CLSEG_OK)
    alias(p);
  if (s == CLSEG_OK && !p->opt.no_fusion) {
    fuse(p, uses);
    clseg__plan_push_pointwise(p, uses);
    clseg__plan_fuse_layernorm(p, uses);
    clseg__plan_fold_layernorm_transposes(p, uses);
    clseg__plan_fuse_gelu(p, uses);
    clseg__plan_fold_transposes(p, uses);
    clseg__plan_fuse_attention(p, uses);
  }
  free(uses);
  if (s != CLSEG_OK)
    return s;
  for (int i = 0; i < g->nnodes; i++) {
    p->info.flops += p->steps[i].flops;
    if (!p->steps[i].skip) {
      p->steps[i].position = p->norder;
      p->order[p->norder++] = i;
    }
  }
  p->info.kernels = p->norder - 1; /* the input is no launch */
  s = plan_memory(p);
  if (s == CLSEG_OK)
    s = upload_params(p);
  if (s == CLSEG_OK)
    s = make_views(p);
#ifdef __GLIBC__
  /* A CPU driver's buffers are host mallocs: the unpacked weights freed while preparing left holes
   * between the buffers that stay, which glibc keeps resident until trimmed (PoCL, FCN ResNet-50
   * 512x512: 30-45 MB of peak memory). */
  malloc_trim(0);
#endif
  return s;
}

clseg_status clseg_plan_create(clseg_context *ctx, clseg_graph *g, int64_t n, int64_t h, int64_t w,
                               const clseg_plan_options *opt, clseg_plan **out) {
  if (!ctx || !g || !out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "clseg_plan_create: NULL argument");
  *out = NULL;
  if (n < 1 || h < 1 || w < 1)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "planning for input size %lldx%lld, batch %lld",
                       (long long)w, (long long)h, (long long)n);
  clseg_plan *p = calloc(1, sizeof *p);
  if (!p)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "planning: out of host memory");
  p->ctx = ctx;
  p->g = g;
  if (opt)
    p->opt = *opt;
  clseg_status s = plan_build(p, n, h, w);
  if (s != CLSEG_OK) {
    clseg_plan_free(p);
    return s;
  }
  *out = p;
  return CLSEG_OK;
}

void clseg_plan_free(clseg_plan *p) {
  if (!p)
    return;
  if (p->ctx)
    clFinish(p->ctx->queue);
  for (int i = 0; p->steps && i < p->g->nnodes; i++)
    clseg__conv2d_prep_free(p->steps[i].conv);
  for (int i = 0; p->steps && i < p->g->nnodes; i++)
    clseg__conv_transpose2d_prep_free(p->steps[i].convt);
  for (int i = 0; i < p->nowned; i++)
    clseg_tensor_free(p->owned[i]);
  for (int i = 0; p->steps && i < p->g->nnodes; i++) {
    free(p->steps[i].view);
    free(p->steps[i].attn);
  }
  if (p->arena)
    clReleaseMemObject(p->arena);
  free(p->owned);
  free(p->storages);
  free(p->steps);
  free(p->order);
  free(p);
}

void clseg_plan_input_shape(const clseg_plan *p, int64_t shape[4]) {
  memcpy(shape, p->steps[p->g->input->id].shape, 4 * sizeof *shape);
}

void clseg_plan_output_shape(const clseg_plan *p, int64_t shape[4]) {
  memcpy(shape, p->steps[p->g->output->id].shape, 4 * sizeof *shape);
}

int clseg_plan_output_count(const clseg_plan *p) {
  return p ? p->g->noutputs : 0;
}

const char *clseg_plan_output_name(const clseg_plan *p, int i) {
  return p ? clseg_graph_output_name(p->g, i) : NULL;
}

clseg_status clseg_plan_output_shape_at(const clseg_plan *p, int i, int64_t shape[4]) {
  if (!p || !shape || i < 0 || i >= p->g->noutputs)
    return clseg__fail(p ? p->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       "clseg_plan_output_shape_at: output %d of %d", i, p ? p->g->noutputs : 0);
  memcpy(shape, p->steps[p->g->outputs[i]->id].shape, 4 * sizeof *shape);
  return CLSEG_OK;
}

int clseg_plan_output_dims(const clseg_plan *p, int i, int64_t dims[CLSEG_MAX_RANK]) {
  if (!p || !dims || i < 0 || i >= p->g->noutputs)
    return 0;
  const clseg__step *s = &p->steps[p->g->outputs[i]->id];
  memcpy(dims, s->shape, sizeof s->shape);
  return s->rank;
}

void clseg_plan_get_info(const clseg_plan *p, clseg_plan_info *out) {
  if (p && out)
    *out = p->info;
}
