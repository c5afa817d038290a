/* clseg TensorFlow Lite import: turns a float .tflite segmentation model (float32 or float16
 * weights) into a clseg graph with its parameters set, ready to plan.
 *
 *   clseg_graph *g = NULL;
 *   clseg_tflite_info info;
 *   if (clseg_tflite_load("models/selfie_segmentation.tflite", &g, &info) != CLSEG_OK) {
 *     fprintf(stderr, "%s\n", clseg_last_error(NULL));
 *     return 1;
 *   }
 *   clseg_plan *plan = NULL;
 *   clseg_plan_create(ctx, g, 1, info.input_h, info.input_w, NULL, &plan);
 *   // input: NCHW float32 [1, info.input_c, H, W]; output [1, info.output_c, H', W']
 *
 * NHWC tensors become NCHW; weights are converted (float16 -> float32) and transposed at load.
 * Parameters are named after the TFLite op's output tensor ("conv2d_3.weight", "conv2d_3.bias").
 * The model's shapes are static: plan for info.input_h x info.input_w (SAME padding is resolved for
 * that size).
 */
#ifndef CLSEG_TFLITE_H
#define CLSEG_TFLITE_H

#include "clseg_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int64_t input_h, input_w, input_c; /* the model's input, NHWC [1, H, W, C] in the file */
  int64_t output_h, output_w, output_c;
  int output_is_probability; /* the output comes from LOGISTIC or SOFTMAX: no sigmoid needed */
  int operators;             /* operators in the file, DEQUANTIZE included */
  char name[128];            /* the model's description, else the file name */
  int outputs; /* the subgraph's outputs (output_* above describe the first: clseg_plan_run's); all
                  of them through clseg_plan_run_outputs */
} clseg_tflite_info;

/* Reads path. On failure *graph is NULL and clseg_last_error(NULL) names the file and the problem;
 * an unsupported model lists every missing operator with its count. info may be NULL. */
clseg_status clseg_tflite_load(const char *path, clseg_graph **graph, clseg_tflite_info *info);
/* The same from memory (size bytes, copied); name is used in messages and as the fallback model
 * name. */
clseg_status clseg_tflite_load_buffer(const void *data, size_t size, const char *name,
                                      clseg_graph **graph, clseg_tflite_info *info);

#ifdef __cplusplus
}
#endif
#endif
