/* ONNX import internals. The files depend one way, top to bottom:
 *   onnx.c          the public entry points: reads the ModelProto, checks, sorts and walks the
 * nodes onnx_ops.c      the one operator table: NCHW and any-rank handler per operator
 *   onnx_ops_nn.c, onnx_ops_math.c, onnx_ops_shape.c, onnx_resize.c   NCHW handlers
 *   onnx_nd.c       handlers for tensors of any rank, and when they take a node
 *   onnx_node.c     what handlers share: inputs as activations, outputs, names, windows
 *   onnx_order.c, onnx_shape.c, onnx_fold.c   topological order; evaluating nodes at load
 *   onnx_tensor.c   values (name -> value table, constants, TensorProto), attributes, errors
 * Values are named tensors: a graph node (an activation whose concrete NCHW shape is tracked for
 * the chosen input size) or a host constant. */
#ifndef CLSEG_FORMATS_ONNX_H
#define CLSEG_FORMATS_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "clseg_onnx.h"
#include "onnx_subset.pb-c.h"

#define CLSEG__ONNX_MAX_DIMS 8
#ifndef CLSEG__ONNX_MAX_ELEMENTS /* per tensor (1 GiB of float32); the fuzz build lowers it */
#define CLSEG__ONNX_MAX_ELEMENTS ((size_t)1 << 28)
#endif

typedef enum { CLSEG__OV_NONE = 0, CLSEG__OV_NODE, CLSEG__OV_CONST, CLSEG__OV_GELU } clseg__ov_kind;

typedef struct {
  clseg__ov_kind kind;
  int ndim;
  int64_t dims[CLSEG__ONNX_MAX_DIMS]; /* nodes: the ONNX shape (rank 4 NCHW, or rank 2 [N, C] = [N,
                                         C, 1, 1]) */
  size_t count;
  /* nodes */
  struct clseg_node *node;
  int grank;   /* the node's rank in the graph: 4 for NCHW-mapped values ([N, C] as [N, C, 1, 1]),
                  else the ONNX rank (onnx_nd.c) */
  int nd_made; /* made by onnx_nd.c: its readers that onnx_nd.c maps stay there */
  /* constants: exactly one of f (float types) and i (integer and bool types) is set */
  float *f;
  int64_t *i;
  /* Erf-GELU pattern stages (x / sqrt2 -> erf -> +1 -> * x -> * 0.5): the node x and the stage */
  int gelu_stage;
} clseg__ov;

typedef struct {
  const Onnx__ModelProto *model;
  const Onnx__GraphProto *gr;
  const char *path; /* for messages */
  const char *dir;  /* the model's folder, for external data; NULL: refused */
  int opset;
  struct clseg_graph *g;
  clseg__ov *vals; /* one per distinct value name */
  char **names;
  size_t nvals, cap_vals;
  int32_t *table; /* open addressing over names: index + 1, 0 empty */
  size_t table_cap;
  int *uses;       /* per value: how many node inputs read it */
  int nodei;       /* the node being mapped (index into gr->node), for messages */
  int *file_index; /* after sorting: gr->node[i] is node file_index[i] of the file; NULL: same */
  Onnx__GraphProto sorted; /* the model's graph with its nodes in topological order */
  int folded;
  int64_t in_h, in_w;
  clseg_status status; /* the first failure; its message is on the thread's slot (clseg__ob_fail) */
} clseg__ob;

/* ---- onnx_tensor.c ---- */
int clseg__ob_fail(clseg__ob *b, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value named name, created empty when absent; NULL when out of memory or name is empty. */
clseg__ov *clseg__ob_value(clseg__ob *b, const char *name);
/* The value of name if it exists and was produced; NULL otherwise (no error). */
clseg__ov *clseg__ob_find(clseg__ob *b, const char *name);
int clseg__ob_uses(clseg__ob *b, const char *name);
/* Reads a TensorProto into a constant value (f32 or i64); 0 on failure (recorded). */
int clseg__ob_tensor(clseg__ob *b, const Onnx__TensorProto *t, clseg__ov *out);
void clseg__ov_clear(clseg__ov *v);
/* Allocates a constant of ndim dims; is_float picks f or i. */
int clseg__ov_alloc(clseg__ob *b, clseg__ov *v, int ndim, const int64_t *dims, int is_float);
double clseg__ov_get(const clseg__ov *v, size_t k);
void clseg__ov_set(clseg__ov *v, size_t k, double x);
/* Input k of n as a value (NULL when absent or empty name). */
clseg__ov *clseg__in(clseg__ob *b, const Onnx__NodeProto *n, size_t k);
/* The ints of constant input k (count into *cnt, at most max); 0 when not a constant. */
int clseg__in_ints(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int64_t *out, int max,
                   int *cnt);

/* Imports from memory; dir is the folder for external data (NULL refuses it). */
clseg_status clseg__onnx_load_dir(const void *data, size_t size, const char *name, const char *dir,
                                  const clseg_onnx_options *opt, struct clseg_graph **graph,
                                  clseg_onnx_info *info);

/* ---- attributes (onnx_tensor.c) ---- */
const Onnx__AttributeProto *clseg__attr(const Onnx__NodeProto *n, const char *name);
int64_t clseg__attr_int(const Onnx__NodeProto *n, const char *name, int64_t def);
float clseg__attr_float(const Onnx__NodeProto *n, const char *name, float def);
/* The string attribute, or def. */
const char *clseg__attr_str(const Onnx__NodeProto *n, const char *name, const char *def);
int64_t clseg__cast_to(const Onnx__NodeProto *n);
/* Up to max ints into out; returns the count, or -1 when absent. */
int clseg__attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max);

/* The file's index of the node being mapped (messages count nodes as the file stores them). */
int clseg__node_index(const clseg__ob *b);

/* ---- onnx_order.c ---- */
/* Sorts the nodes topologically (the file's order among ready nodes) and points b->gr at the sorted
 * copy; refuses a cycle, a value produced twice and an input that nothing produces. Needs every
 * value indexed first. */
int clseg__onnx_order(clseg__ob *b);

/* ---- onnx_shape.c ---- */
/* 1 when the operator can be evaluated on the host given all-constant inputs. */
int clseg__fold_supported(const char *op);
/* 1 when node n can be folded now: a foldable op whose inputs are all constants (Shape: known
 * dims). */
int clseg__foldable(clseg__ob *b, const Onnx__NodeProto *n);
/* Evaluates node n whose inputs are all constants (or Shape of a node); 0 on failure (recorded). */
int clseg__fold(clseg__ob *b, const Onnx__NodeProto *n);
/* ---- onnx_fold.c: the data ops of folding ---- */
int clseg__norm_axis(clseg__ob *b, int64_t axis, int rank, int *out);
int clseg__fold_eltwise(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *const *in, int nin,
                        clseg__ov *y);
int clseg__fold_concat(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *const *in, int nin,
                       clseg__ov *y);
int clseg__fold_gather(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x,
                       const clseg__ov *ind, clseg__ov *y);
int clseg__fold_view(clseg__ob *b, const clseg__ov *x, int nd, const int64_t *od, clseg__ov *y);
int clseg__fold_expand(clseg__ob *b, const clseg__ov *x, int nd, const int64_t *shape,
                       clseg__ov *y);
/* ---- onnx_shape.c: shape arithmetic, also for the handlers ---- */
/* Reshape's target dims from the input dims and the shape tensor (0 copies, -1 infers). */
int clseg__reshape_dims(clseg__ob *b, const Onnx__NodeProto *n, int xnd, const int64_t *xd, int *nd,
                        int64_t *od);
/* Unsqueeze / Squeeze / Flatten target dims. */
int clseg__squeeze_dims(clseg__ob *b, const Onnx__NodeProto *n, int xnd, const int64_t *xd, int *nd,
                        int64_t *od);
/* Slice parameters per axis of a rank-nd input: start, step and output length. */
int clseg__slice_params(clseg__ob *b, const Onnx__NodeProto *n, int nd, const int64_t *xd,
                        int64_t *start, int64_t *step, int64_t *len);
/* ---- onnx_ops.c ---- */
typedef int (*clseg__onnx_handler)(clseg__ob *b, const Onnx__NodeProto *n);
typedef struct {
  const char *op;
  clseg__onnx_handler nchw; /* NULL: only the any-rank handler maps it */
  clseg__onnx_handler nd;   /* NULL: only NCHW */
  int nd_always;            /* nd takes it even when every input is NCHW */
} clseg__onnx_op;
/* The table row of operator op, or NULL when clseg maps no such operator onto graph nodes. */
const clseg__onnx_op *clseg__onnx_op_of(const char *op);

/* ---- onnx_ops_nn.c, onnx_ops_math.c, onnx_ops_shape.c, onnx_resize.c: NCHW handlers ---- */
int clseg__onnx_conv(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_conv_transpose(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_batchnorm(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_pool(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_global_pool(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_softmax(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_argmax(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_gemm(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_activation(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_clip(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_prelu(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_binary(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_reduce(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_concat(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_split(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_slice(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_layout(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_pad(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_space_depth(clseg__ob *b, const Onnx__NodeProto *n);
/* Resize and Upsample. */
int clseg__onnx_resize(clseg__ob *b, const Onnx__NodeProto *n);
/* onnx_bn_train.c: 1 (the error set) when a BatchNormalization is in a training form. */
int clseg__bn_training(clseg__ob *b, const Onnx__NodeProto *n);

/* ---- onnx_nd.c: handlers for tensors of any rank ---- */
/* 1 when the any-rank handler maps n (always: its table row says so), 0 when the NCHW handler
 * does: a graph whose tensors are all NCHW imports as the NCHW handlers map it. */
int clseg__onnx_nd_takes(clseg__ob *b, const Onnx__NodeProto *n, int always);
int clseg__onnx_nd_binary(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_unary(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_matmul(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_transpose(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_reshape(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_softmax(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_layernorm(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_groupnorm(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_reduce(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_concat(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_split(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_slice(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_expand(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_where(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_gather(clseg__ob *b, const Onnx__NodeProto *n);

/* ---- onnx_node.c: shared by the handlers ---- */
/* A reshape of node x (dim 0: x0) to od, dim 0 left free when it is x0 (the batch). */
struct clseg_node *clseg__onnx_reshape(clseg__ob *b, struct clseg_node *x, int64_t x0, int nd,
                                       const int64_t *od);
/* Records node x (with its ONNX shape) as output k of n. */
int clseg__set_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k, struct clseg_node *x,
                    int ndim, const int64_t *dims);
/* The activation value of input k, failing when it is a constant or missing. */
clseg__ov *clseg__in_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k);
/* Constant input k (float when is_float), failing otherwise. */
const clseg__ov *clseg__in_const(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int is_float);
/* Sets parameter "<x's name>.<suffix>" of graph node x. */
int clseg__set_param(clseg__ob *b, const struct clseg_node *x, const char *suffix, int ndim,
                     const int64_t *dims, const float *data);
/* A name for graph nodes made from n: its name, else op_type + index. */
const char *clseg__node_name(clseg__ob *b, const Onnx__NodeProto *n, char *buf, size_t len);
/* Fails with the graph's error when x is NULL. */
int clseg__graph_ok(clseg__ob *b, const void *x);
/* Pads, strides, dilations of a conv or pool window; auto_pad resolved for input dims in (NCHW). */
typedef struct {
  int64_t k[2], s[2], d[2], p[4], out[2];
} clseg__window;
int clseg__window_of(clseg__ob *b, const Onnx__NodeProto *n, const int64_t *in, int64_t kh,
                     int64_t kw, int transposed, clseg__window *w);

#endif
