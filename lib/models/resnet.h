/* ResNet backbones and the conv -> batchnorm -> ReLU helper shared by the ready-made networks. */
#ifndef CLSEG_MODELS_RESNET_H
#define CLSEG_MODELS_RESNET_H

#include "clseg_models.h"

typedef struct {
  int depth;         /* 18, 34, 50 or 101 */
  int output_stride; /* 8, 16 or 32 */
  int64_t width;     /* stem width; stage widths 1, 2, 4, 8 times it */
} clseg__resnet_config;

typedef struct {
  clseg_node *layer1, *out; /* stride 4 features and the last stage's */
  int64_t layer1_channels, out_channels;
} clseg__resnet_features;

/* Builds the backbone on x with parameters under prefix ("backbone" -> "backbone.layer1.0.conv1");
 * returns 0 with the graph's error set when the config or the graph is invalid. */
int clseg__resnet(clseg_graph *g, const char *prefix, clseg_node *x, const clseg__resnet_config *c,
                  clseg__resnet_features *out);

/* conv kxk (no bias, 'same' padding for the dilation) -> batchnorm, then ReLU when relu is set.
 * Names are given in full; a NULL bn skips the batchnorm. */
clseg_node *clseg__conv_bn(clseg_graph *g, const char *conv, const char *bn, clseg_node *x,
                           int64_t cout, int k, int stride, int dilation, int relu);

/* snprintf into a static-size name buffer: NAME(buf, "%s.layer%d", prefix, i). */
#define CLSEG__NAME(buf, ...) snprintf((buf), sizeof(buf), __VA_ARGS__)

#endif
