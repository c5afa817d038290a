/* ONNX import internals shared by onnx.c (reading the protobuf, tensors, external data, the public
 * entry points), onnx_fold.c (evaluating shape computations and constants at load) and onnx_ops*.c
 * (mapping operators onto clseg graph nodes). Values are named tensors: a graph node (an activation
 * whose concrete NCHW shape is tracked for the chosen input size) or a host constant. */
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
  clseg_status status;
  char err[2048];
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

/* ---- onnx_fold.c ---- */
/* Allocates a constant of ndim dims; is_float picks f or i. */
int clseg__ov_alloc(clseg__ob *b, clseg__ov *v, int ndim, const int64_t *dims, int is_float);
double clseg__ov_get(const clseg__ov *v, size_t k);
void clseg__ov_set(clseg__ov *v, size_t k, double x);
/* 1 when the operator can be evaluated on the host given all-constant inputs. */
int clseg__fold_supported(const char *op);
/* 1 when node n can be folded now: a foldable op whose inputs are all constants (Shape: known
 * dims). */
int clseg__foldable(clseg__ob *b, const Onnx__NodeProto *n);
/* Evaluates node n whose inputs are all constants (or Shape of a node); 0 on failure (recorded). */
int clseg__fold(clseg__ob *b, const Onnx__NodeProto *n);
/* Data ops of onnx_fold.c, also used by onnx_shape.c. */
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
/* ---- onnx_shape.c ---- */
/* Reshape's target dims from the input dims and the shape tensor (0 copies, -1 infers). */
int clseg__reshape_dims(clseg__ob *b, const Onnx__NodeProto *n, int xnd, const int64_t *xd, int *nd,
                        int64_t *od);
/* Unsqueeze / Squeeze / Flatten target dims. */
int clseg__squeeze_dims(clseg__ob *b, const Onnx__NodeProto *n, int xnd, const int64_t *xd, int *nd,
                        int64_t *od);
/* Slice parameters per axis of a rank-nd input: start, step and output length. */
int clseg__slice_params(clseg__ob *b, const Onnx__NodeProto *n, int nd, const int64_t *xd,
                        int64_t *start, int64_t *step, int64_t *len);
/* Input k of n as a value (NULL when absent or empty name). */
clseg__ov *clseg__in(clseg__ob *b, const Onnx__NodeProto *n, size_t k);
/* The ints of constant input k (count into *cnt, at most max); 0 when not a constant. */
int clseg__in_ints(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int64_t *out, int max,
                   int *cnt);

/* ---- onnx_ops.c, onnx_ops2.c ---- */
typedef int (*clseg__onnx_handler)(clseg__ob *b, const Onnx__NodeProto *n);
clseg__onnx_handler clseg__onnx_find(const char *op);
clseg__onnx_handler clseg__onnx_find2(const char *op);
/* onnx_nd.c: maps n when it needs tensors of other ranks than NCHW (1 mapped, 0 failed, -1 not
 * taken: the NCHW handlers map it); _known: op is one it can map. */
int clseg__onnx_nd(clseg__ob *b, const Onnx__NodeProto *n);
int clseg__onnx_nd_known(const char *op);
/* A reshape of node x (dim 0: x0) to od, dim 0 left free when it is x0 (the batch). */
struct clseg_node *clseg__onnx_reshape(clseg__ob *b, struct clseg_node *x, int64_t x0, int nd,
                                       const int64_t *od);
/* Resize and Upsample (onnx_resize.c). */
int clseg__onnx_resize(clseg__ob *b, const Onnx__NodeProto *n);
/* onnx_bn_train.c: 1 (the error set) when a BatchNormalization is in a training form. */
int clseg__bn_training(clseg__ob *b, const Onnx__NodeProto *n);
/* Records node x (with its ONNX shape) as output k of n. */
int clseg__set_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k, struct clseg_node *x,
                    int ndim, const int64_t *dims);
/* The activation value of input k, failing when it is a constant or missing. */
clseg__ov *clseg__in_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k);
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
/* x op c for a constant c of one value or one per channel, as a 1x1 depthwise conv. op: 0 add, 1
 * sub (x - c), 2 rsub (c - x), 3 mul, 4 div (x / c). */
struct clseg_node *clseg__affine(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *x,
                                 const clseg__ov *c, int op);

#endif
