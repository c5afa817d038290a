/* Plan internals shared by plan.c (shapes, fusion, memory, parameters) and exec.c (running,
 * profiling). */
#ifndef CLSEG_PLAN_INTERNAL_H
#define CLSEG_PLAN_INTERNAL_H

#include "graph_internal.h"
#include "ops/attention_fused.h"
#include "ops/conv.h"

typedef struct {
  clseg_node *node;
  int skip;     /* folded or fused into another step */
  int target;   /* the node id whose output this node's output is (itself unless skipped) */
  int position; /* execution position among the unskipped steps */
  int storage;  /* index into plan->storages */
  int64_t shape[CLSEG_MAX_RANK]; /* dims 0..rank-1, then 1s */
  int rank;
  clseg_tensor *view;     /* the output: its storage read at this step's shape */
  int read[3];            /* node ids read in place of the node's inputs 0..2 (-1: its own input) */
  clseg_matmul_params mm; /* a matmul's parameters, with the transposes folded into it */
  clseg__attention_dims *attn; /* a matmul that runs a fused attention chain (reads q, k, v) */
  int ln; /* a layernorm of read[0] by lnp: the last node of one written op by op, or one moved off
           * its transposes */
  clseg_layernorm_params lnp;
  int ln_gamma, ln_beta; /* its constants' node ids, or -1 */
  int gelu;              /* the last node of an Erf-GELU written op by op: a GELU of read[0] */
  clseg_activation act;  /* fused activation (conv, conv_transpose, resize) */
  int residual;          /* fused residual add: the node id of the other operand, or -1 */
  int push_into;  /* a 1x1 conv this conv's weights absorb (lib/plan_pushdown.c): its node, or -1 */
  int push_block; /* the first input channel of that conv this conv's output fed */
  int push_bias;  /* 1: this conv carries that conv's bias */
  int bn;         /* batchnorm folded into this conv: node id, or -1 */
  clseg_tensor *param[CLSEG__MAX_NODE_PARAMS];
  clseg__conv2d_prep
      *conv; /* a conv prepared once (variant chosen, weights packed), or NULL: run eagerly */
  clseg__convt_prep *convt; /* the same for a conv_transpose */
  double flops;
  double ms; /* last profiled run */
} clseg__step;

typedef struct {
  size_t count;
  size_t offset;   /* elements into the arena */
  int first, last; /* execution positions during which it must live */
} clseg__storage;

struct clseg_plan {
  clseg_context *ctx;
  clseg_graph *g;
  clseg_plan_options opt;
  clseg__step *steps; /* one per graph node, by node id */
  int *order;         /* node ids of the unskipped steps, in execution order */
  int norder;
  clseg__storage *storages;
  int nstorages;
  cl_mem arena;
  size_t arena_count;
  clseg_tensor **owned; /* device parameter tensors */
  int nowned, cap_owned;
  clseg_plan_info info;
};

/* plan_shape.c: every step's shape for input [n, C, h, w]. */
clseg_status clseg__plan_shapes(clseg_plan *p, int64_t n, int64_t h, int64_t w);

/* plan_attention.c: transposes folded into matmuls; matmul-softmax-matmul chains fused. */
void clseg__plan_fold_transposes(clseg_plan *p, const int *uses);
void clseg__plan_fuse_attention(clseg_plan *p, const int *uses);
/* plan_pushdown.c: a 1x1 conv that mixes a concat of 1x1 convs (some resized) moved below the
 * concat and the resizes: one conv per part at its own resolution, the parts summed. */
void clseg__plan_push_pointwise(clseg_plan *p, const int *uses);
/* plan_pushdown.c: conv step s's weight [cout, ...] and bias [cout] as it runs (its batchnorm
 * folded, or a 1x1 conv moved below it), in new host memory the caller frees. */
clseg_status clseg__plan_conv_host(const clseg_plan *p, const clseg__step *s, float **w, float **b);
/* plan_patterns.c: the value of a one-element constant node, or NAN (not a constant, or its values
 * already evicted). */
float clseg__plan_scalar(const clseg_plan *p, const clseg_node *c);
/* plan_patterns.c: ReduceMean-Sub-Pow-ReduceMean-Add-Sqrt-Div [Mul] [Add] run as one layernorm. */
void clseg__plan_fuse_layernorm(clseg_plan *p, const int *uses);
/* plan_patterns.c: transpose -> layernorm -> inverse transpose run as one layernorm over the
 * untransposed axes. */
void clseg__plan_fold_layernorm_transposes(clseg_plan *p, const int *uses);
/* plan_patterns.c: x * (erf(x / sqrt 2) + 1) * 0.5 run as one GELU. */
void clseg__plan_fuse_gelu(clseg_plan *p, const int *uses);

/* exec.c */
clseg_status clseg__step_run(clseg_plan *p, clseg__step *s);

#endif
