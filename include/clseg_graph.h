/* clseg graphs and models: build a network as a graph of named operators, load its weights, plan it
 * for a device and an input size, run it.
 *
 *   clseg_graph *g = clseg_graph_create();
 *   clseg_node *x = clseg_graph_input(g, "image", 3);
 *   x = clseg_graph_conv2d(g, "stem", x, 32, 3, 1, &(clseg_conv2d_params){.pad_top = 1, ...});
 *   x = clseg_graph_batchnorm(g, "stem_bn", x);
 *   x = clseg_graph_activation(g, x, CLSEG_ACT_RELU);
 *   clseg_graph_output(g, x, "logits");
 *   if (clseg_graph_status(g) != CLSEG_OK) puts(clseg_graph_error(g));  // one check after building
 *
 * Building uses a sticky error: an invalid call returns NULL and records the first error; later
 * calls given NULL return NULL without a new message. Channel counts are inferred while building;
 * spatial sizes when planning for an input size. Parameters are named like PyTorch's state_dict
 * ("stem.weight", "stem_bn.running_mean") so a model trained there loads by name.
 */
#ifndef CLSEG_GRAPH_H
#define CLSEG_GRAPH_H

#include "clseg_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clseg_graph clseg_graph;
typedef struct clseg_node clseg_node;
typedef struct clseg_plan clseg_plan;

/* Returns NULL only when out of memory. */
clseg_graph *clseg_graph_create(void);
void clseg_graph_free(clseg_graph *g);
clseg_status clseg_graph_status(const clseg_graph *g);
const char *clseg_graph_error(const clseg_graph *g);

/* The one input: [N, channels, H, W] with N, H, W given at plan time. */
clseg_node *clseg_graph_input(clseg_graph *g, const char *name, int64_t channels);
/* Marks an output. The first call marks the main output (what clseg_plan_run returns); later
 * calls add more (a model with masks and keypoints, a detector's boxes and scores), up to
 * CLSEG_MAX_OUTPUTS, each with a name of its own (NULL or "": "output", "output_1", ...). */
#define CLSEG_MAX_OUTPUTS 16
clseg_status clseg_graph_output(clseg_graph *g, clseg_node *x, const char *name);
int clseg_graph_output_count(const clseg_graph *g);
/* The name of output i, or NULL when i is out of range. */
const char *clseg_graph_output_name(const clseg_graph *g, int i);

/* Parameters declared: NAME.weight [cout, cin / groups, k, k] and, with bias, NAME.bias [cout]. */
clseg_node *clseg_graph_conv2d(clseg_graph *g, const char *name, clseg_node *x, int64_t cout,
                               int kernel, int bias, const clseg_conv2d_params *p);
/* NAME.weight [cin, cout / groups, k, k], NAME.bias [cout]. */
clseg_node *clseg_graph_conv_transpose2d(clseg_graph *g, const char *name, clseg_node *x,
                                         int64_t cout, int kernel, int bias,
                                         const clseg_conv_transpose2d_params *p);
/* NAME.weight, NAME.bias, NAME.running_mean, NAME.running_var [C]; eps 1e-5. Folded into a
 * preceding conv at plan time when the conv's output has no other reader. */
clseg_node *clseg_graph_batchnorm(clseg_graph *g, const char *name, clseg_node *x);
/* Fused into the producing conv at plan time where possible. */
clseg_node *clseg_graph_activation(clseg_graph *g, clseg_node *x, clseg_act_kind kind);
clseg_node *clseg_graph_activation_ex(clseg_graph *g, clseg_node *x, const clseg_activation *act);
clseg_node *clseg_graph_pool2d(clseg_graph *g, clseg_node *x, const clseg_pool2d_params *p);
clseg_node *clseg_graph_global_pool(clseg_graph *g, clseg_node *x, clseg_pool_kind kind);
/* Output size = the input's times scale (rounded down), as nn.Upsample(scale_factor=...). */
clseg_node *clseg_graph_resize_scale(clseg_graph *g, clseg_node *x, int scale,
                                     const clseg_resize_params *p);
/* Output size = like's spatial size, as F.interpolate(x, size=like.shape[2:]). */
clseg_node *clseg_graph_resize_like(clseg_graph *g, clseg_node *x, clseg_node *like,
                                    const clseg_resize_params *p);
/* Broadcasting elementwise op; an add right after a conv is fused into it as its residual. */
clseg_node *clseg_graph_binary(clseg_graph *g, clseg_binary_op op, clseg_node *a, clseg_node *b);
clseg_node *clseg_graph_concat(clseg_graph *g, clseg_node *const *xs, int count);
clseg_node *clseg_graph_slice_channels(clseg_graph *g, clseg_node *x, int64_t start, int64_t count);
clseg_node *clseg_graph_pad(clseg_graph *g, clseg_node *x, const clseg_pad_params *p);
/* clseg_concat_h: along H, the inputs' C and W equal (checked at plan time). */
clseg_node *clseg_graph_concat_h(clseg_graph *g, clseg_node *const *xs, int count);
/* clseg_reshape_nhwc to [N, c, h, w]: the input's element count per image must be c * h * w
 * (checked at plan time). */
clseg_node *clseg_graph_reshape_nhwc(clseg_graph *g, clseg_node *x, int64_t c, int64_t h,
                                     int64_t w);
/* clseg_depth_to_space / clseg_space_to_depth; space to depth needs H and W multiples of block at
 * plan time. */
clseg_node *clseg_graph_depth_to_space(clseg_graph *g, clseg_node *x, int block,
                                       clseg_depth_to_space_mode mode);
clseg_node *clseg_graph_space_to_depth(clseg_graph *g, clseg_node *x, int block);
clseg_node *clseg_graph_reduce_channels(clseg_graph *g, clseg_node *x, clseg_reduce_kind kind);
clseg_node *clseg_graph_softmax_channels(clseg_graph *g, clseg_node *x);
clseg_node *clseg_graph_argmax_channels(clseg_graph *g, clseg_node *x);
/* clseg_prelu with NAME.weight [C] (per_channel) or [1], the slopes. */
clseg_node *clseg_graph_prelu(clseg_graph *g, const char *name, clseg_node *x, int per_channel);
/* NAME.weight [m, k] and, with bias, NAME.bias [m]. Input must be [N, k, 1, 1] at plan time. */
clseg_node *clseg_graph_linear(clseg_graph *g, const char *name, clseg_node *x, int64_t m,
                               int bias);

/* ---- tensors of any rank (1 to CLSEG_MAX_RANK): tokens [N, L, C], heads, attention scores ----
 * The NCHW operators above need rank-4 inputs (checked at plan time); these take any rank. Shapes
 * are inferred at plan time; channels (dim 1) are known while building only where the op fixes
 * them, and an NCHW op that declares weights from its input's channels needs them known. */
/* A parameter used as a tensor: NAME itself (no suffix) of shape dims. */
clseg_node *clseg_graph_constant(clseg_graph *g, const char *name, int rank, const int64_t *dims);
/* dims: a size, 0 (the input's dim at that index) or -1 (once: what the others leave). No kernel:
 * the output is the input's memory read at the new shape. */
clseg_node *clseg_graph_reshape(clseg_graph *g, clseg_node *x, int rank, const int64_t *dims);
/* clseg_transpose: output dim i is the input's dim perm[i]; rank = the input's. */
clseg_node *clseg_graph_transpose(clseg_graph *g, clseg_node *x, int rank, const int *perm);
/* clseg_matmul of two tensors (either may be a clseg_graph_constant). */
clseg_node *clseg_graph_matmul(clseg_graph *g, clseg_node *a, clseg_node *b,
                               const clseg_matmul_params *p);
/* clseg_softmax along axis (negative: from the last); log: log-softmax. */
clseg_node *clseg_graph_softmax(clseg_graph *g, clseg_node *x, int axis, int log);
/* clseg_layernorm; with affine, NAME.weight and NAME.bias [count], count = the number of normalised
 * elements (checked at plan time). */
clseg_node *clseg_graph_layernorm(clseg_graph *g, const char *name, clseg_node *x,
                                  const clseg_layernorm_params *p, int64_t count, int affine);
/* clseg_groupnorm (groups == channels: InstanceNorm); with affine, NAME.weight and NAME.bias [C].
 */
clseg_node *clseg_graph_groupnorm(clseg_graph *g, const char *name, clseg_node *x, int groups,
                                  float eps, int affine);
/* clseg_reduce_axes over dims axis .. axis + naxes - 1 (naxes 0: to the last); without keepdims
 * those dims are dropped (the rank falls by naxes, at least to 1). */
clseg_node *clseg_graph_reduce_axes(clseg_graph *g, clseg_node *x, clseg_reduce_kind kind, int axis,
                                    int naxes, int keepdims);
/* clseg_narrow: elements start .. start + len - 1 along axis. */
clseg_node *clseg_graph_narrow(clseg_graph *g, clseg_node *x, int axis, int64_t start, int64_t len);
/* clseg_expand to dims (right-aligned; the input's dims equal or 1). */
clseg_node *clseg_graph_expand(clseg_graph *g, clseg_node *x, int rank, const int64_t *dims);
clseg_node *clseg_graph_unary(clseg_graph *g, clseg_node *x, clseg_unary_op op);
/* clseg_attention on NCHW maps q, k, v (k and v of one size, q's may differ): the soft attention of
 * non-local blocks, DANet and transformers, fused (the scores are never stored). The planner also
 * fuses matmul -> softmax -> matmul chains of imported graphs into it. */
clseg_node *clseg_graph_attention(clseg_graph *g, const char *name, clseg_node *q, clseg_node *k,
                                  clseg_node *v, const clseg_attention_params *p);

/* Attention blocks, with the parameter names of python/clseg_torch (the PyTorch companion):
 * CBAM: NAME.channel.fc1.weight [r, C], NAME.channel.fc1.bias, NAME.channel.fc2.weight [C, r],
 * NAME.channel.fc2.bias, NAME.spatial.conv.weight [1, 2, 7, 7],
 * NAME.spatial.bn.{weight,bias,running_mean, running_var} [1]; channel gate then spatial gate. */
clseg_node *clseg_graph_cbam(clseg_graph *g, const char *name, clseg_node *x, int64_t reduction);
/* SE: NAME.fc1.{weight [r, C], bias}, NAME.fc2.{weight [C, r], bias}. */
clseg_node *clseg_graph_se(clseg_graph *g, const char *name, clseg_node *x, int64_t reduction);
/* scSE: SE's parameters under NAME.cse. and NAME.sse.weight [1, C], NAME.sse.bias [1]. */
clseg_node *clseg_graph_scse(clseg_graph *g, const char *name, clseg_node *x, int64_t reduction);
/* Attention gate on skip x with gating signal gate: NAME.theta.weight [inter, Cx, s, s],
 * NAME.phi.{weight [inter, Cg, 1, 1], bias}, NAME.psi.{weight [1, inter, 1, 1], bias}; theta has no
 * bias (the authors' code). With out_conv: NAME.out.weight [Cx, Cx, 1, 1], NAME.out.bias,
 * NAME.out_bn.{...} [Cx]. */
clseg_node *clseg_graph_attention_gate(clseg_graph *g, const char *name, clseg_node *x,
                                       clseg_node *gate, int64_t inter, int theta_stride,
                                       int out_conv);
/* Non-local block (embedded Gaussian, no sub-sampling): theta, phi, g 1x1 convs (with bias) to
 * inter channels (0 means C / 2, at least 1), y_i = sum_j softmax_j(theta_i . phi_j) g_j, out = x +
 * BN(W y) with W a 1x1 conv back to C. NAME.theta, NAME.phi, NAME.g .{weight [inter, C, 1, 1],
 * bias}, NAME.W.0.{weight [C, inter, 1, 1], bias}, NAME.W.1.{weight, bias, running_mean,
 * running_var} [C] (the authors' module). */
clseg_node *clseg_graph_nonlocal(clseg_graph *g, const char *name, clseg_node *x, int64_t inter);

/* ---- parameters ---- */
/* Sets a declared parameter's data from host memory (copied). dims as PyTorch's shape; the element
 * count and shape must match the declaration (a message names the tensor and both shapes). */
clseg_status clseg_graph_set_param(clseg_graph *g, const char *name, const int64_t *dims, int ndim,
                                   const float *data);
/* Fills every parameter from a seeded generator (uniform +-1/sqrt(fan_in); batchnorm: positive
 * variances): for benchmarks and tests without trained weights. */
void clseg_graph_random_params(clseg_graph *g, uint64_t seed);
/* Loads every declared parameter from a .safetensors file (f32, f16, bf16). Missing, unexpected or
 * wrongly shaped tensors fail with one message naming each of them and both shapes. float32 values
 * are used in place from a read-only mapping of the file, kept until the graph is freed: replace
 * the file (write a new one, rename it over) rather than rewrite it while the graph lives. */
clseg_status clseg_graph_load_safetensors(clseg_graph *g, const char *path);

/* ---- summary ---- */
typedef struct {
  int nodes;          /* operator nodes, input excluded */
  int64_t parameters; /* parameter elements */
  int64_t input_channels, output_channels;
} clseg_graph_info;
void clseg_graph_get_info(const clseg_graph *g, clseg_graph_info *out);

/* ---- plans: a graph for one device and one input size ---- */
typedef struct {
  int no_fusion; /* keep every node as its own kernel launch (for tests and profiling) */
  int profile;   /* record per-node times from OpenCL events */
  /* Prefer memory to speed: a conv's Winograd-transformed weights may exceed its weights by at most
   * 4 MiB (F(4x4) keeps 4x the weights, F(2x2) 16/9), with no exception for the convs where they
   * pay off most (large maps): larger 3x3 convs step down to F(2x2), then to the implicit GEMM. */
  int low_memory;
  /* Choose variants and parameters from the shipped tuning rows only, ignoring the device's user
   * tuning file (as CLSEG_TUNING=off does for a whole context): clseg tune's "before". */
  int shipped_rows_only;
} clseg_plan_options;

/* Infers every shape for input [n, C, h, w], folds batchnorms into convs, fuses activations and
 * residual adds, assigns activation memory by liveness, uploads parameters. The graph must outlive
 * the plan. */
clseg_status clseg_plan_create(clseg_context *ctx, clseg_graph *g, int64_t n, int64_t h, int64_t w,
                               const clseg_plan_options *opt, clseg_plan **out);
void clseg_plan_free(clseg_plan *p);
void clseg_plan_input_shape(const clseg_plan *p, int64_t shape[4]);
void clseg_plan_output_shape(const clseg_plan *p, int64_t shape[4]);
/* The graph's outputs as planned: their count, names and shapes (i from 0, the main output). */
int clseg_plan_output_count(const clseg_plan *p);
const char *clseg_plan_output_name(const clseg_plan *p, int i);
clseg_status clseg_plan_output_shape_at(const clseg_plan *p, int i, int64_t shape[4]);
/* Output i's dims at its rank (tokens, scores: not every output is NCHW); returns the rank, 0 when
 * i is out of range. */
int clseg_plan_output_dims(const clseg_plan *p, int i, int64_t dims[CLSEG_MAX_RANK]);
/* Uploads input (NCHW, the input shape's count), runs, downloads output (the output shape's count).
 * On a device that shares host memory (CPUs, integrated GPUs) the plan's last step writes its
 * output straight into the caller's array instead (no copy; CLSEG_COPY_OUTPUTS=1 turns that off).
 */
clseg_status clseg_plan_run(clseg_plan *p, const float *input, size_t input_count, float *output,
                            size_t output_count);
/* The same for every output: outputs[i] receives counts[i] floats of output i (its shape's count),
 * for i < n (n at most the output count; a NULL outputs[i] skips that output). */
clseg_status clseg_plan_run_outputs(clseg_plan *p, const float *input, size_t input_count,
                                    float *const *outputs, const size_t *counts, int n);

typedef struct {
  int kernels;                   /* operator launches after fusion */
  int fused;                     /* nodes folded or fused away */
  uint64_t activation_bytes;     /* planned peak: the shared activation arena */
  uint64_t activation_sum_bytes; /* what one buffer per node would take */
  uint64_t parameter_bytes;      /* on the device; a packing conv holds only its packed copy */
  double flops;                  /* per run, multiply-adds counted as 2 */
} clseg_plan_info;
void clseg_plan_get_info(const clseg_plan *p, clseg_plan_info *out);

/* One executed layer of a plan (after fusion): what it is, its output and its cost. */
typedef struct {
  const char *name; /* the graph node's name */
  const char *op;   /* "conv2d", "attention_gate" ... */
  int64_t shape[4]; /* output */
  int fused;        /* graph nodes folded or fused into it (batchnorm, activation, residual add) */
  double flops;     /* its own and its fused nodes' work */
  double ms;        /* device time in the last run made with opt.profile; -1 when unknown */
  /* For layers with tuned variants (convs): the variant, its main kernel's build options and the
   * tuning rows that supplied its parameters ("cl/tuning/conv.tsv:31 (cpu * arch:avx512)", plus the
   * user tuning file's line when it overrode them); NULL otherwise. Owned by the plan. */
  const char *variant, *options, *tuning;
} clseg_plan_layer;
/* The number of layers; i in [0, count) fills *out. */
int clseg_plan_layer_count(const clseg_plan *p);
clseg_status clseg_plan_layer_get(const clseg_plan *p, int i, clseg_plan_layer *out);

/* ---- tuning a device for a plan (clseg tune) ---- */
typedef struct {
  int layer, layers;        /* the shape being tuned, of how many */
  const char *shape;        /* its key: "n1.c64.h256.w256.o64.k3x3.s1x1.d1x1.p1x1x1x1.g1" */
  const char *best;         /* the fastest so far: variant and cells */
  double best_ms;           /* its time */
  double default_ms;        /* the shipped rows' time for this shape */
  double elapsed_s, left_s; /* left_s -1 without a budget */
} clseg_tune_progress;

typedef struct {
  double budget_s; /* stop with what was found after this many seconds (0: no limit) */
  int runs;        /* timed runs per candidate, the median kept (0: 5) */
  void (*progress)(void *user, const clseg_tune_progress *p); /* after each candidate, or NULL */
  void *user;
} clseg_tune_options;

typedef struct {
  int shapes;        /* distinct conv layer shapes in the plan */
  int measured;      /* of them, tuned within the budget */
  int tuned;         /* of those, where a candidate beat the shipped rows (rows written) */
  int candidates;    /* candidates run */
  int rejected;      /* of them, outputs off conv2d_direct's beyond the tolerance */
  double default_ms; /* sum over measured shapes of the shipped rows' time */
  double tuned_ms;   /* the same with the tuned choices */
  double seconds;    /* tuning time */
  char path[1024];   /* the user tuning file written */
} clseg_tune_result;

/* For each distinct conv layer shape of plan (the costliest first), times the candidates of the
 * conv family's search space on random data against the shipped rows' choice, rejects those whose
 * output differs from conv2d_direct's, and writes the winners (by 3% or more) to the device's user
 * tuning file (clseg_tuning_file), keeping its rows for other shapes. Contexts created afterwards
 * use them; so does plan's context for plans made afterwards. Refused under CLSEG_AS_DEVICE. */
clseg_status clseg_tune(clseg_plan *plan, const clseg_tune_options *opt, clseg_tune_result *out);

#ifdef __cplusplus
}
#endif
#endif
