/* Graph builders for tensors of any rank: constants, reshape, transpose, matmul, softmax and the
 * normalisations over an axis, reductions, narrow, expand, elementwise math, and the fused soft
 * attention. Their nodes' channels are 0 unless the op keeps an NCHW tensor's channels. */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"

static int rank_ok(clseg_graph *g, const char *op, int rank) {
  if (g && g->status == CLSEG_OK && (rank < 1 || rank > CLSEG_MAX_RANK)) {
    clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "%s: rank %d (1 to %d)", op, rank, CLSEG_MAX_RANK);
    return 0;
  }
  return 1;
}

clseg_node *clseg_graph_constant(clseg_graph *g, const char *name, int rank, const int64_t *dims) {
  if (!rank_ok(g, "constant", rank))
    return NULL;
  for (int i = 0; g && g->status == CLSEG_OK && i < rank; i++)
    if (dims[i] < 1)
      return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "constant '%s': dim %d is %lld",
                               name ? name : "", i, (long long)dims[i]);
  clseg_node *n = clseg__add_node(g, CLSEG__N_CONST, name, NULL, 0);
  if (!n)
    return NULL;
  n->u.dims.rank = rank;
  memcpy(n->u.dims.d, dims, sizeof *dims * (size_t)rank);
  n->channels = rank == 4 ? dims[1] : 0;
  /* the tensor is the parameter named NAME itself */
  n->param[0] = clseg__declare_as(g, n->name, rank, dims, CLSEG__P_WEIGHT, dims[rank - 1]);
  return g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_reshape(clseg_graph *g, clseg_node *x, int rank, const int64_t *dims) {
  if (!rank_ok(g, "reshape", rank))
    return NULL;
  int infer = 0;
  for (int i = 0; g && g->status == CLSEG_OK && i < rank; i++)
    if (dims[i] < -1 || (dims[i] == -1 && infer++))
      return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                               "reshape: dim %d is %lld (a size, 0 to copy, or one -1)", i,
                               (long long)dims[i]);
  clseg_node *n = clseg__add_node(g, CLSEG__N_RESHAPE, NULL, &x, 1);
  if (!n)
    return NULL;
  n->u.dims.rank = rank;
  memcpy(n->u.dims.d, dims, sizeof *dims * (size_t)rank);
  n->channels = rank == 4 && dims[1] > 0 ? dims[1] : rank == 4 && dims[1] == 0 ? x->channels : 0;
  return n;
}

clseg_node *clseg_graph_transpose(clseg_graph *g, clseg_node *x, int rank, const int *perm) {
  if (!rank_ok(g, "transpose", rank))
    return NULL;
  int seen = 0;
  for (int i = 0; g && g->status == CLSEG_OK && i < rank; i++) {
    if (perm[i] < 0 || perm[i] >= rank || (seen >> perm[i] & 1))
      return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                               "transpose: entry %d (%d) of the permutation of %d dims", i, perm[i],
                               rank);
    seen |= 1 << perm[i];
  }
  clseg_node *n = clseg__add_node(g, CLSEG__N_TRANSPOSE, NULL, &x, 1);
  if (!n)
    return NULL;
  n->u.perm.rank = rank;
  memcpy(n->u.perm.p, perm, sizeof *perm * (size_t)rank);
  n->channels = rank == 4 && perm[1] == 1 ? x->channels : 0;
  return n;
}

clseg_node *clseg_graph_matmul(clseg_graph *g, clseg_node *a, clseg_node *b,
                               const clseg_matmul_params *p) {
  clseg_node *in[2] = {a, b};
  clseg_node *n = clseg__add_node(g, CLSEG__N_MATMUL, NULL, in, 2);
  if (!n)
    return NULL;
  if (p)
    n->u.matmul = *p;
  n->channels = 0;
  return n;
}

clseg_node *clseg_graph_softmax(clseg_graph *g, clseg_node *x, int axis, int log) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_SOFTMAX_AXIS, NULL, &x, 1);
  if (n) {
    n->u.axis.axis = axis;
    n->u.axis.log = log != 0;
  }
  return n;
}

clseg_node *clseg_graph_layernorm(clseg_graph *g, const char *name, clseg_node *x,
                                  const clseg_layernorm_params *p, int64_t count, int affine) {
  if (g && g->status == CLSEG_OK && affine && count < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "layernorm '%s': %lld normalised elements",
                             name ? name : "", (long long)count);
  clseg_node *n = clseg__add_node(g, CLSEG__N_LAYERNORM, name, &x, 1);
  if (!n)
    return NULL;
  if (p) {
    n->u.axis.axis = p->axis;
    n->u.axis.naxes = p->naxes;
    n->u.axis.eps = p->eps;
  }
  if (affine) {
    n->param[CLSEG__SLOT_WEIGHT] = clseg__declare(g, n, "weight", 1, &count, CLSEG__P_BN_WEIGHT, 1);
    n->param[CLSEG__SLOT_BIAS] = clseg__declare(g, n, "bias", 1, &count, CLSEG__P_BIAS, 1);
  }
  return g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_groupnorm(clseg_graph *g, const char *name, clseg_node *x, int groups,
                                  float eps, int affine) {
  if (g && g->status == CLSEG_OK && x && (groups < 1 || x->channels < 1 || x->channels % groups))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "groupnorm '%s': %d groups of %lld channels (the input's channels "
                             "must be known and a multiple of the groups)",
                             name ? name : "", groups, (long long)x->channels);
  clseg_node *n = clseg__add_node(g, CLSEG__N_GROUPNORM, name, &x, 1);
  if (!n)
    return NULL;
  n->u.axis.groups = groups;
  n->u.axis.eps = eps;
  if (affine) {
    int64_t c = x->channels;
    n->param[CLSEG__SLOT_WEIGHT] = clseg__declare(g, n, "weight", 1, &c, CLSEG__P_BN_WEIGHT, 1);
    n->param[CLSEG__SLOT_BIAS] = clseg__declare(g, n, "bias", 1, &c, CLSEG__P_BIAS, 1);
  }
  return g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_reduce_axes(clseg_graph *g, clseg_node *x, clseg_reduce_kind kind, int axis,
                                    int naxes, int keepdims) {
  if (g && g->status == CLSEG_OK && (naxes < 0 || (int)kind < 0 || kind > CLSEG_REDUCE_MIN))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "reduce: kind %d over %d axes", (int)kind,
                             naxes);
  clseg_node *n = clseg__add_node(g, CLSEG__N_REDUCE_AXES, NULL, &x, 1);
  if (n) {
    n->reduce = kind;
    n->u.axis.axis = axis;
    n->u.axis.naxes = naxes;
    n->u.axis.keepdims = keepdims != 0;
    n->channels = 0;
  }
  return n;
}

clseg_node *clseg_graph_narrow(clseg_graph *g, clseg_node *x, int axis, int64_t start,
                               int64_t len) {
  if (g && g->status == CLSEG_OK && (start < 0 || len < 1))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "narrow: start %lld, length %lld",
                             (long long)start, (long long)len);
  clseg_node *n = clseg__add_node(g, CLSEG__N_NARROW, NULL, &x, 1);
  if (n) {
    n->u.axis.axis = axis;
    n->u.axis.start = start;
    n->u.axis.len = len;
    n->channels = axis == 1 ? len : x->channels;
  }
  return n;
}

clseg_node *clseg_graph_expand(clseg_graph *g, clseg_node *x, int rank, const int64_t *dims) {
  if (!rank_ok(g, "expand", rank))
    return NULL;
  clseg_node *n = clseg__add_node(g, CLSEG__N_EXPAND, NULL, &x, 1);
  if (n) {
    n->u.dims.rank = rank;
    memcpy(n->u.dims.d, dims, sizeof *dims * (size_t)rank);
    n->channels = rank == 4 ? dims[1] : 0;
  }
  return n;
}

clseg_node *clseg_graph_unary(clseg_graph *g, clseg_node *x, clseg_unary_op op) {
  if (g && g->status == CLSEG_OK && ((int)op < 0 || op >= CLSEG_UNARY_COUNT))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "unary: unknown op %d", (int)op);
  clseg_node *n = clseg__add_node(g, CLSEG__N_UNARY, NULL, &x, 1);
  if (n)
    n->unary = op;
  return n;
}

clseg_node *clseg_graph_attention(clseg_graph *g, const char *name, clseg_node *q, clseg_node *k,
                                  clseg_node *v, const clseg_attention_params *p) {
  clseg_node *in[3] = {q, k, v};
  clseg_node *n = clseg__add_node(g, CLSEG__N_ATTENTION, name, in, 3);
  if (!n)
    return NULL;
  if (p)
    n->u.attn = *p;
  int heads = n->u.attn.heads ? n->u.attn.heads : 1;
  if (heads < 1 || q->channels != k->channels || q->channels % heads || v->channels % heads)
    return clseg__graph_fail(g, CLSEG_SHAPE_MISMATCH,
                             "attention '%s': q has %lld channels, k %lld, v %lld, for %d heads "
                             "(q and k equal, each a multiple of the heads)",
                             n->name, (long long)q->channels, (long long)k->channels,
                             (long long)v->channels, heads);
  n->channels = v->channels;
  return n;
}
