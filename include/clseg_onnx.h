/* clseg ONNX import: turns an ONNX model (a segmentation network exported from PyTorch or
 * elsewhere) into a clseg graph with its parameters set, ready to plan for the input size it was
 * imported at.
 *
 *   clseg_graph *g = NULL;
 *   clseg_onnx_info info;
 *   clseg_onnx_options opt = {.input_h = 512, .input_w = 512};  // used only for symbolic H, W
 *   if (clseg_onnx_load("deeplabv3.onnx", &opt, &g, &info) != CLSEG_OK) {
 *     fprintf(stderr, "%s\n", clseg_last_error(NULL));
 *     return 1;
 *   }
 *   clseg_plan *plan = NULL;
 *   clseg_plan_create(ctx, g, n, info.input_h, info.input_w, NULL, &plan);  // any batch n
 *   // input: NCHW float32 [n, info.input_c, H, W]; output [n, info.output_c, output_h, output_w]
 *
 * Weights come from initializers (raw_data, typed fields or external data files next to the model;
 * float32, float16, float64, int64, int32). Shape computations (Shape, Gather, Concat, Cast, Range
 * ...) are folded at load for the chosen input size, so plan the graph at info.input_h x
 * info.input_w. Parameters are named after the ONNX node ("/encoder/conv1/Conv.weight").
 * Unsupported operators fail with one message listing every one of them (type, domain, node name)
 * and the opset.
 */
#ifndef CLSEG_ONNX_H
#define CLSEG_ONNX_H

#include "clseg_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int64_t input_h,
      input_w; /* the size for symbolic H and W; 0: the model must give static sizes. A
                  static model given a different size fails (its folded shapes would lie) */
} clseg_onnx_options;

typedef struct {
  int64_t input_h, input_w, input_c; /* the size the graph was imported for */
  int64_t input_n; /* the file's batch (1 when symbolic); the graph runs at any N of the plan */
  int64_t output_h, output_w, output_c;
  int output_is_probability; /* the output comes from Sigmoid or Softmax */
  int output_is_argmax;      /* the output is ArgMax's class index (as float) */
  int opset;                 /* of the default domain */
  int operators;             /* nodes in the file */
  int folded;                /* nodes evaluated at load (shape computations, constants) */
  char producer[64];         /* producer_name producer_version */
  char input_name[96], output_name[96];
  int outputs; /* the graph's outputs (output_* above describe the first: clseg_plan_run's); all of
                  them through clseg_plan_run_outputs */
} clseg_onnx_info;

/* Reads path. On failure *graph is NULL and clseg_last_error(NULL) names the file and the problem.
 * opt and info may be NULL. External data files are read relative to the model's folder. */
clseg_status clseg_onnx_load(const char *path, const clseg_onnx_options *opt, clseg_graph **graph,
                             clseg_onnx_info *info);
/* The same from memory (size bytes); name is used in messages. External data is refused (no
 * folder). */
clseg_status clseg_onnx_load_buffer(const void *data, size_t size, const char *name,
                                    const clseg_onnx_options *opt, clseg_graph **graph,
                                    clseg_onnx_info *info);
/* 1 when the first bytes look like an ONNX ModelProto (a protobuf whose field 1 is ir_version and
 * that names a graph): a cheap test for dispatching on content, not a validation. */
int clseg_onnx_probe(const void *head, size_t len);

#ifdef __cplusplus
}
#endif
#endif
