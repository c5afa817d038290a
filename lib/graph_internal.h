/* Graph internals shared by graph.c (building), plan.c (shapes, fusion, memory) and exec.c
 * (running). */
#ifndef CLSEG_GRAPH_INTERNAL_H
#define CLSEG_GRAPH_INTERNAL_H

#include "clseg_graph.h"
#include "internal.h"

typedef enum {
  CLSEG__N_INPUT,
  CLSEG__N_CONV,
  CLSEG__N_CONVT,
  CLSEG__N_BN,
  CLSEG__N_ACT,
  CLSEG__N_POOL,
  CLSEG__N_GPOOL,
  CLSEG__N_RESIZE,
  CLSEG__N_BINARY,
  CLSEG__N_CONCAT,
  CLSEG__N_SLICE,
  CLSEG__N_PAD,
  CLSEG__N_REDUCE,
  CLSEG__N_SOFTMAX,
  CLSEG__N_ARGMAX,
  CLSEG__N_LINEAR,
  CLSEG__N_CBAM_CHANNEL,
  CLSEG__N_CBAM_SPATIAL,
  CLSEG__N_SE,
  CLSEG__N_SCSE,
  CLSEG__N_ATTENTION_GATE,
  CLSEG__N_SPACE_DEPTH,  /* depth to space (DCR, CRD) or space to depth */
  CLSEG__N_PRELU,        /* parameter 0: NAME.weight, the slopes */
  CLSEG__N_CONCAT_H,     /* concat along H */
  CLSEG__N_RESHAPE_NHWC, /* reshape in NHWC order to u.reshape */
  /* tensors of any rank (graph_nd.c); their channels field is 0 unless the op fixes dim 1 */
  CLSEG__N_CONST,        /* parameter 0 (NAME) as a tensor of rank u.dims */
  CLSEG__N_RESHAPE,      /* u.dims: 0 copies the input's dim, -1 takes the rest; no kernel */
  CLSEG__N_TRANSPOSE,    /* u.perm */
  CLSEG__N_MATMUL,       /* in[0] @ in[1], u.matmul */
  CLSEG__N_SOFTMAX_AXIS, /* u.axis.axis, u.axis.log */
  CLSEG__N_LAYERNORM,    /* u.axis.axis / naxes / eps; NAME.weight, NAME.bias optional */
  CLSEG__N_GROUPNORM,    /* u.axis.groups / eps; NAME.weight, NAME.bias optional */
  CLSEG__N_REDUCE_AXES,  /* reduce, u.axis.axis / naxes / keepdims */
  CLSEG__N_NARROW,       /* u.axis.axis / start / len */
  CLSEG__N_EXPAND,       /* u.dims */
  CLSEG__N_UNARY,        /* unary */
  CLSEG__N_ATTENTION,    /* softmax(scale q k^T) v, fused: in q, k, v (u.attn) */
  CLSEG__N_COUNT
} clseg__node_op;

#define CLSEG__MAX_NODE_PARAMS 12

/* Parameter slots: where each op kind keeps its parameters in clseg_node.param. The builders
 * (graph.c, graph_ops.c) declare into them, plan.c uploads each to the same index of
 * clseg__step.param, and exec.c reads them back, all by these names. A slot left empty holds -1
 * in the node and NULL in the step. */

/* A weight and its optional bias: conv2d, conv_transpose2d and linear, and the pairs inside other
 * ops (clseg__declare_weight fills one from its first slot). */
enum { CLSEG__SLOT_WEIGHT, CLSEG__SLOT_BIAS, CLSEG__SLOTS_WEIGHT };
/* A batchnorm, and the groups inside other ops (clseg__declare_bn fills one from its first). */
enum {
  CLSEG__SLOT_BN_WEIGHT,
  CLSEG__SLOT_BN_BIAS,
  CLSEG__SLOT_BN_MEAN,
  CLSEG__SLOT_BN_VAR,
  CLSEG__SLOTS_BN
};
/* The two-layer MLP of SE, scSE's channel half and CBAM's channel gate. */
enum {
  CLSEG__SLOT_FC1_WEIGHT,
  CLSEG__SLOT_FC1_BIAS,
  CLSEG__SLOT_FC2_WEIGHT,
  CLSEG__SLOT_FC2_BIAS,
  CLSEG__SLOTS_MLP
};
/* scSE: the MLP, then the spatial squeeze's 1x1 conv. */
enum { CLSEG__SLOT_SSE_WEIGHT = CLSEG__SLOTS_MLP, CLSEG__SLOT_SSE_BIAS, CLSEG__SLOTS_SCSE };
/* CBAM's spatial gate: a 7x7 conv (bias slot always empty), then a batchnorm. */
enum {
  CLSEG__SLOT_SPATIAL_CONV = 0, /* + CLSEG__SLOT_WEIGHT / _BIAS */
  CLSEG__SLOT_SPATIAL_BN = CLSEG__SLOT_SPATIAL_CONV + CLSEG__SLOTS_WEIGHT, /* + CLSEG__SLOT_BN_* */
  CLSEG__SLOTS_CBAM_SPATIAL = CLSEG__SLOT_SPATIAL_BN + CLSEG__SLOTS_BN
};
/* The attention gate: theta's weight, phi and psi (weight, bias), then the optional output conv
 * and its batchnorm. */
enum {
  CLSEG__SLOT_THETA_WEIGHT,
  CLSEG__SLOT_PHI,                                            /* + CLSEG__SLOT_WEIGHT / _BIAS */
  CLSEG__SLOT_PSI = CLSEG__SLOT_PHI + CLSEG__SLOTS_WEIGHT,    /* + CLSEG__SLOT_WEIGHT / _BIAS */
  CLSEG__SLOT_OUT = CLSEG__SLOT_PSI + CLSEG__SLOTS_WEIGHT,    /* + CLSEG__SLOT_WEIGHT / _BIAS */
  CLSEG__SLOT_OUT_BN = CLSEG__SLOT_OUT + CLSEG__SLOTS_WEIGHT, /* + CLSEG__SLOT_BN_* */
  CLSEG__SLOTS_ATTENTION_GATE = CLSEG__SLOT_OUT_BN + CLSEG__SLOTS_BN
};
_Static_assert(CLSEG__SLOTS_ATTENTION_GATE <= CLSEG__MAX_NODE_PARAMS &&
                   CLSEG__SLOTS_CBAM_SPATIAL <= CLSEG__MAX_NODE_PARAMS &&
                   CLSEG__SLOTS_SCSE <= CLSEG__MAX_NODE_PARAMS,
               "every op kind's slots fit in clseg_node.param");

struct clseg_node {
  int id;
  clseg__node_op op;
  char name[128];
  clseg_node **in; /* inputs: data first (x, then gate / b / the other concat parts) */
  int nin;
  int64_t channels;                  /* output channels */
  int param[CLSEG__MAX_NODE_PARAMS]; /* indexes into graph->params by CLSEG__SLOT_*, or -1 */
  union {
    clseg_conv2d_params conv;
    clseg_conv_transpose2d_params convt;
    clseg_pool2d_params pool;
    clseg_resize_params resize;
    clseg_pad_params pad;
    clseg_activation act;
    struct {
      int block;
      int mode; /* clseg_depth_to_space_mode, or 2: space to depth */
    } space_depth;
    struct {
      int64_t h, w; /* the output's H and W (C is the node's channels) */
    } reshape;
    struct {
      int rank;
      int64_t d[CLSEG_MAX_RANK];
    } dims;
    struct {
      int rank, p[CLSEG_MAX_RANK];
    } perm;
    clseg_matmul_params matmul;
    struct {
      int axis, naxes, log, keepdims, groups;
      float eps;
      int64_t start, len;
    } axis;
    clseg_attention_params attn;
  } u;
  clseg_unary_op unary;
  clseg_pool_kind pool_kind;
  clseg_binary_op binary;
  clseg_reduce_kind reduce;
  int scale; /* resize by scale; 0 with in[1] set means resize like in[1] */
  int64_t slice_start;
  int64_t hidden; /* MLP width (SE, CBAM) or attention gate's inter channels */
  int theta_stride;
  int kernel;
};

typedef enum {
  CLSEG__P_WEIGHT,
  CLSEG__P_BIAS,
  CLSEG__P_BN_WEIGHT,
  CLSEG__P_BN_BIAS,
  CLSEG__P_BN_MEAN,
  CLSEG__P_BN_VAR
} clseg__param_kind;

typedef struct {
  char *name;
  int ndim;
  int64_t dims[CLSEG_MAX_RANK];
  size_t count;
  float *data; /* host values, NULL until set */
  int mapped;  /* data points into the graph's mapped file: read-only, not freed */
  clseg__param_kind kind;
  int64_t fan_in;
} clseg__param;

struct clseg_graph {
  clseg_node **nodes;
  int nnodes, cap_nodes;
  clseg__param *params;
  int nparams, cap_params;
  void *map; /* a .safetensors file mapped for parameters used in place, or NULL */
  size_t map_size;
  /* releases map; set by graph_load.c, which made it, so that graph.c needs no file format */
  void (*unmap)(void *map, size_t size);
  clseg_node *input;
  clseg_node *output; /* outputs[0], the main output (clseg_plan_run's), or NULL */
  clseg_node *outputs[CLSEG_MAX_OUTPUTS];
  char output_names[CLSEG_MAX_OUTPUTS][128];
  int noutputs;
  char input_name[128];
  clseg_status status;
  char error[2048];
};

/* Records the graph's first error; returns NULL for the builders' convenience. */
void *clseg__graph_fail(clseg_graph *g, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Builder helpers (graph.c). */
clseg_node *clseg__add_node(clseg_graph *g, clseg__node_op op, const char *name,
                            clseg_node *const *in, int nin);
int clseg__declare(clseg_graph *g, const clseg_node *n, const char *suffix, int ndim,
                   const int64_t *dims, clseg__param_kind kind, int64_t fan_in);
int clseg__declare_as(clseg_graph *g, const char *name, int ndim, const int64_t *dims,
                      clseg__param_kind kind, int64_t fan_in);
int clseg__declare_weight(clseg_graph *g, clseg_node *n, const char *wname, const char *bname,
                          int first, const int64_t wdims[4], int64_t fan_in, int64_t bias_count);
void clseg__declare_bn(clseg_graph *g, clseg_node *n, const char *prefix, int first,
                       int64_t channels);
int clseg__param_find(const clseg_graph *g, const char *name);
/* Checks host dims against a declared parameter; on mismatch writes "NAME has shape [..], the model
 * expects
 * [..]" into msg. */
clseg_status clseg__param_check_shape(clseg_graph *g, int idx, const int64_t *dims, int ndim,
                                      char *msg, size_t size);
const char *clseg__node_op_name(clseg__node_op op);
/* clseg_graph_linear over k = C * H * W inputs: each image's C x H x W values read as one row (a
 * flattened tensor); plan time checks the input's C * H * W. */
clseg_node *clseg__graph_linear(clseg_graph *g, const char *name, clseg_node *x, int64_t m,
                                int64_t k, int bias);
/* p's host values, writable: its own copy in place of values mapped from a file (NULL when out of
 * memory). */
float *clseg__param_writable(clseg__param *p);
/* Parameter i (none when negative) is uploaded: values mapped from a file may leave the process's
 * memory (they are read back from the file if a later plan needs them). */
void clseg__param_evict(const clseg_graph *g, int i);

#endif
