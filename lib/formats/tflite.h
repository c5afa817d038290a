/* TFLite import internals. The files depend one way, top to bottom:
 *   tflite.c            the public entry points
 *   tflite_ops.c        the one handler table and the walk over the operators
 *   tflite_ops_nn.c, tflite_ops_math.c, tflite_ops_shape.c   one handler per operator
 *   tflite_node.c       what the handlers share (the builder, tensors as nodes or constants)
 *   tflite_read.c       the parsed model (tensors, operators, operator codes) and op options
 *   tflite_flatbuffer.c, tflite_schema.c   the bounds-checked FlatBuffers walker; operator names */
#ifndef CLSEG_FORMATS_TFLITE_H
#define CLSEG_FORMATS_TFLITE_H

#include <stddef.h>
#include <stdint.h>

#include "clseg.h"

/* A FlatBuffer in memory; its first failure is recorded on the thread's slot ("at byte N: why"). */
typedef struct {
  const uint8_t *p;
  size_t n;
  int failed;
  int unsupported; /* the failure is a valid feature clseg lacks, not a malformed file */
} clseg__fb;

/* A validated table: its position, and its vtable's position and lengths. */
typedef struct {
  size_t pos, vt;
  uint16_t vt_len, tb_len;
} clseg__fb_table;

/* Records the first failure ("at byte N: why"); returns 0. */
int clseg__fb_fail(clseg__fb *f, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A valid file using a feature clseg lacks: fails as clseg__fb_fail does, reported as unsupported.
 */
#define clseg__fb_unsupported(f, at, ...)                                                          \
  ((f)->unsupported = !(f)->failed, clseg__fb_fail(f, at, __VA_ARGS__))
int clseg__fb_table_at(clseg__fb *f, size_t pos, clseg__fb_table *t);
/* Scalar field id of size 1, 2, 4 or 8 bytes, zero-extended; def when absent. Returns 0 on a bad
 * file. */
int clseg__fb_scalar(clseg__fb *f, const clseg__fb_table *t, int id, int size, uint64_t def,
                     uint64_t *out);
/* The table that field id refers to; *present = 0 when absent. */
int clseg__fb_subtable(clseg__fb *f, const clseg__fb_table *t, int id, clseg__fb_table *out,
                       int *present);
/* The vector that field id refers to: *count elements of elsize bytes at *data; count 0 when
 * absent. */
int clseg__fb_vector(clseg__fb *f, const clseg__fb_table *t, int id, size_t elsize, size_t *count,
                     const uint8_t **data);
/* Element i of a vector of tables. */
int clseg__fb_vec_table(clseg__fb *f, const uint8_t *data, size_t i, clseg__fb_table *out);
/* Copies string field id into buf (NUL-terminated, truncated to cap - 1); "" when absent. */
int clseg__fb_string(clseg__fb *f, const clseg__fb_table *t, int id, char *buf, size_t cap);

/* TFLite enums used by the reader (values from the TFLite schema). */
enum { CLSEG__TFL_FLOAT32 = 0, CLSEG__TFL_FLOAT16 = 1, CLSEG__TFL_INT32 = 2 };
enum {
  CLSEG__TFL_ADD = 0,
  CLSEG__TFL_AVERAGE_POOL_2D = 1,
  CLSEG__TFL_CONCATENATION = 2,
  CLSEG__TFL_CONV_2D = 3,
  CLSEG__TFL_DEPTHWISE_CONV_2D = 4,
  CLSEG__TFL_DEPTH_TO_SPACE = 5,
  CLSEG__TFL_DEQUANTIZE = 6,
  CLSEG__TFL_FULLY_CONNECTED = 9,
  CLSEG__TFL_LOGISTIC = 14,
  CLSEG__TFL_MAX_POOL_2D = 17,
  CLSEG__TFL_MUL = 18,
  CLSEG__TFL_RELU = 19,
  CLSEG__TFL_RELU6 = 21,
  CLSEG__TFL_RESHAPE = 22,
  CLSEG__TFL_RESIZE_BILINEAR = 23,
  CLSEG__TFL_SPACE_TO_DEPTH = 26,
  CLSEG__TFL_SOFTMAX = 25,
  CLSEG__TFL_TANH = 28,
  CLSEG__TFL_CUSTOM = 32,
  CLSEG__TFL_PAD = 34,
  CLSEG__TFL_MEAN = 40,
  CLSEG__TFL_STRIDED_SLICE = 45,
  CLSEG__TFL_TRANSPOSE_CONV = 67,
  CLSEG__TFL_PRELU = 54,
  CLSEG__TFL_PADV2 = 60,
  CLSEG__TFL_HARD_SWISH = 117,
  CLSEG__TFL_DENSIFY = 124
};
/* The name of a builtin operator code ("CONV_2D"), or NULL when unknown. */
const char *clseg__tfl_op_name(int code);

#define CLSEG__TFL_MAX_DIMS 6

typedef struct {
  char name[96];
  int type;
  int ndim;
  int32_t dims[CLSEG__TFL_MAX_DIMS];
  const uint8_t *data; /* constant contents inside the file, NULL for activations */
  size_t bytes;
} clseg__tfl_tensor;

typedef struct {
  int code;        /* builtin operator code: max(deprecated_builtin_code, builtin_code) */
  char custom[64]; /* custom_code when code is CUSTOM */
} clseg__tfl_opcode;

typedef struct {
  int code;
  const char *custom; /* points into the opcode table */
  int nin, nout;
  int32_t *in, *out; /* tensor indexes, validated; -1 marks an omitted optional input */
  int opt_type;      /* builtin_options union type, 0 when absent */
  clseg__fb_table opt;
  const uint8_t *custom_opt;
  size_t custom_len;
} clseg__tfl_op;

typedef struct {
  clseg__fb fb;
  uint8_t *bytes; /* owned copy of the file */
  char description[128];
  clseg__tfl_tensor *tensors;
  int ntensors;
  clseg__tfl_op *ops;
  int nops;
  clseg__tfl_opcode *codes;
  int ncodes;
  int input, output; /* tensor indexes of the one input and the main (first) output */
  int32_t *outputs;  /* every output's tensor index, noutputs of them (output == outputs[0]) */
  int noutputs;
  uint8_t **dense; /* constants decoded from sparse storage (owned), ndense of them */
  int ndense;
} clseg__tfl_model;

/* Parses and validates a model held in data (copied); on failure the reason is on the thread's
 * slot. */
clseg_status clseg__tfl_parse(const void *data, size_t size, clseg__tfl_model **out);
void clseg__tfl_free(clseg__tfl_model *m);

/* Option readers for one operator's builtin_options table (defaults when the table or field is
 * absent). */
/* size: the field's bytes (1 for enums and bools, 4 for ints), sign-extended. */
int32_t clseg__tfl_opt_int(clseg__tfl_model *m, const clseg__tfl_op *op, int id, int size,
                           int32_t def);
float clseg__tfl_opt_float(clseg__tfl_model *m, const clseg__tfl_op *op, int id, float def);

/* ---- tflite_ops.c ---- */
/* 1 when the operator has a handler (the others are listed in the error). */
int clseg__tfl_supported(const clseg__tfl_op *op);
/* Maps the parsed model onto a new graph with its parameters set; on failure the reason is on the
 * thread's slot. */
struct clseg_graph;
clseg_status clseg__tfl_build(clseg__tfl_model *m, struct clseg_graph **out);

/* ---- tflite_node.c ---- */
struct clseg_node;
typedef struct {
  clseg__tfl_model *m;
  struct clseg_graph *g;
  struct clseg_node **node; /* per tensor: the node computing it, NULL for constants */
  float **cst;              /* per tensor: float32 contents of constants, made on first use */
  int opi;                  /* the operator being mapped, for messages */
  clseg_status status;      /* the first failure; its message is on the thread's slot */
} clseg__tfl_builder;

/* Records the first failure, prefixed with the operator being mapped; returns 0. */
int clseg__tfl_fail(clseg__tfl_builder *b, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes the FlatBuffer walker's failure while reading the operator's options as the builder's
 * first failure ("operator N (...): options: at byte M: ..."); returns 0. */
int clseg__tfl_fail_options(clseg__tfl_builder *b);
const clseg__tfl_tensor *clseg__tfl_tensor_of(const clseg__tfl_builder *b, int32_t i);
/* Input i of op, or -1 when absent. */
int32_t clseg__tfl_in(const clseg__tfl_op *op, int i);
/* The NCHW shape of an activation tensor: [N, H, W, C] -> [N, C, H, W]; [N, A, C] -> [N, C, A, 1];
 * [N, C] and [C] as 1x1 maps. */
int clseg__tfl_nchw(clseg__tfl_builder *b, int32_t t, int64_t s[4]);
/* The node computing tensor t; fails for constants and for tensors not produced yet. */
struct clseg_node *clseg__tfl_node_of(clseg__tfl_builder *b, int32_t t);
size_t clseg__tfl_count_of(const clseg__tfl_tensor *x);
/* The float32 contents of constant tensor t (float32 or float16 in the file). */
const float *clseg__tfl_const_f32(clseg__tfl_builder *b, int32_t t);
/* n int32 values of constant tensor t. */
int clseg__tfl_const_i32(clseg__tfl_builder *b, int32_t t, int32_t *out, size_t n);
/* Checks the union type of the op's options: absent (defaults) or the expected table. */
int clseg__tfl_want_options(clseg__tfl_builder *b, const clseg__tfl_op *op, int type);
int clseg__tfl_opt(clseg__tfl_builder *b, const clseg__tfl_op *op, int id, int size, int32_t def);
/* Adds the fused activation (TFLite's ActivationFunctionType) after x. */
struct clseg_node *clseg__tfl_fused_act(clseg__tfl_builder *b, struct clseg_node *x, int fused);
/* Fails with the graph's own error (its status and message, as the graph call left them); 0. */
int clseg__tfl_graph_fail(clseg__tfl_builder *b);
/* Records node x as the op's output, failing on a graph error. */
int clseg__tfl_set_out(clseg__tfl_builder *b, const clseg__tfl_op *op, struct clseg_node *x);

/* ---- tflite_ops_nn.c, tflite_ops_math.c, tflite_ops_shape.c: the handlers ---- */
typedef int (*clseg__tfl_handler)(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_conv2d(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_depthwise(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_transpose_conv(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_convt_bias(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_pool(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_mean(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_fully_connected(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_binary(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_activation(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_softmax(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_prelu(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_resize(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_concat(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_pad(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_reshape(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_space_depth(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_strided_slice(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_dequantize(clseg__tfl_builder *b, const clseg__tfl_op *op);
int clseg__tfl_densify(clseg__tfl_builder *b, const clseg__tfl_op *op);

#endif
