/* ResNet-18/34/50/101 backbones with torchvision's parameter names and its dilation scheme
 * (replace_stride_with_dilation), plus the conv -> batchnorm -> ReLU helper of every network here.
 */
#include "models/resnet.h"

#include <stdio.h>

#include "graph_internal.h"

clseg_node *clseg__conv_bn(clseg_graph *g, const char *conv, const char *bn, clseg_node *x,
                           int64_t cout, int k, int stride, int dilation, int relu) {
  int pad = dilation * (k - 1) / 2;
  const clseg_conv2d_params p = {.stride_h = stride,
                                 .stride_w = stride,
                                 .pad_top = pad,
                                 .pad_left = pad,
                                 .pad_bottom = pad,
                                 .pad_right = pad,
                                 .dilation_h = dilation,
                                 .dilation_w = dilation};
  clseg_node *y = clseg_graph_conv2d(g, conv, x, cout, k, 0, &p);
  if (bn)
    y = clseg_graph_batchnorm(g, bn, y);
  return relu ? clseg_graph_activation(g, y, CLSEG_ACT_RELU) : y;
}

typedef struct {
  const char *name; /* "backbone.layer2.0" */
  int64_t planes;
  int stride, dilation;
  int bottleneck, downsample;
} block_spec;

/* One residual block. The shortcut is built first, so that the add can be fused into the last conv
 * as its residual (the engine fuses an operand produced before the conv). */
static clseg_node *block(clseg_graph *g, clseg_node *x, const block_spec *b) {
  char c1[160], n1[160], c2[160], n2[160], c3[160], n3[160];
  int64_t out = b->bottleneck ? 4 * b->planes : b->planes;
  clseg_node *identity = x;
  if (b->downsample) {
    CLSEG__NAME(c1, "%s.downsample.0", b->name);
    CLSEG__NAME(n1, "%s.downsample.1", b->name);
    identity = clseg__conv_bn(g, c1, n1, x, out, 1, b->stride, 1, 0);
  }
  CLSEG__NAME(c1, "%s.conv1", b->name);
  CLSEG__NAME(n1, "%s.bn1", b->name);
  CLSEG__NAME(c2, "%s.conv2", b->name);
  CLSEG__NAME(n2, "%s.bn2", b->name);
  clseg_node *y;
  if (b->bottleneck) {
    CLSEG__NAME(c3, "%s.conv3", b->name);
    CLSEG__NAME(n3, "%s.bn3", b->name);
    y = clseg__conv_bn(g, c1, n1, x, b->planes, 1, 1, 1, 1);
    y = clseg__conv_bn(g, c2, n2, y, b->planes, 3, b->stride, b->dilation,
                       1); /* stride here: v1.5 */
    y = clseg__conv_bn(g, c3, n3, y, out, 1, 1, 1, 0);
  } else {
    y = clseg__conv_bn(g, c1, n1, x, b->planes, 3, b->stride, b->dilation, 1);
    y = clseg__conv_bn(g, c2, n2, y, b->planes, 3, 1, b->dilation, 0);
  }
  y = clseg_graph_binary(g, CLSEG_BINARY_ADD, y, identity);
  return clseg_graph_activation(g, y, CLSEG_ACT_RELU);
}

/* One stage (torchvision's _make_layer): a dilated stage keeps its input size; its first block uses
 * the dilation reached before it, the others the new one. */
static clseg_node *stage(clseg_graph *g, const char *prefix, int index, clseg_node *x,
                         int64_t planes, int blocks, int bottleneck, int dilate, int *dilation) {
  int stride = index == 1 ? 1 : 2, previous = *dilation;
  if (dilate) {
    *dilation *= stride;
    stride = 1;
  }
  int64_t out = bottleneck ? 4 * planes : planes;
  for (int i = 0; i < blocks && x; i++) {
    char name[128];
    CLSEG__NAME(name, "%s.layer%d.%d", prefix, index, i);
    const block_spec b = {name,           planes,
                          i ? 1 : stride, i ? *dilation : previous,
                          bottleneck,     i == 0 && (stride != 1 || x->channels != out)};
    x = block(g, x, &b);
  }
  return x;
}

static const int *block_counts(int depth) {
  static const int r18[4] = {2, 2, 2, 2}, r34[4] = {3, 4, 6, 3}, r101[4] = {3, 4, 23, 3};
  switch (depth) {
  case 18: return r18;
  case 34:
  case 50: return r34;
  case 101: return r101;
  default: return NULL;
  }
}

int clseg__resnet(clseg_graph *g, const char *prefix, clseg_node *x, const clseg__resnet_config *c,
                  clseg__resnet_features *out) {
  const int *counts = block_counts(c->depth);
  if (!counts || (c->output_stride != 8 && c->output_stride != 16 && c->output_stride != 32) ||
      c->width < 1) {
    clseg__graph_fail(
        g, CLSEG_INVALID_ARGUMENT,
        "%s: ResNet depth %d (18, 34, 50 or 101), output stride %d (8, 16 or 32), width %lld",
        prefix, c->depth, c->output_stride, (long long)c->width);
    return 0;
  }
  char conv[128], bn[128];
  CLSEG__NAME(conv, "%s.conv1", prefix);
  CLSEG__NAME(bn, "%s.bn1", prefix);
  x = clseg__conv_bn(g, conv, bn, x, c->width, 7, 2, 1, 1);
  const clseg_pool2d_params mp = {.kind = CLSEG_POOL_MAX,
                                  .kernel_h = 3,
                                  .kernel_w = 3,
                                  .stride_h = 2,
                                  .stride_w = 2,
                                  .pad_top = 1,
                                  .pad_left = 1,
                                  .pad_bottom = 1,
                                  .pad_right = 1};
  x = clseg_graph_pool2d(g, x, &mp);
  int bottleneck = c->depth >= 50, dilation = 1;
  for (int i = 0; i < 4; i++) {
    int dilate = (i == 3 && c->output_stride <= 16) || (i == 2 && c->output_stride == 8);
    x = stage(g, prefix, i + 1, x, c->width << i, counts[i], bottleneck, dilate, &dilation);
    if (i == 0)
      out->layer1 = x;
  }
  out->out = x;
  out->layer1_channels = out->layer1 ? out->layer1->channels : 0;
  out->out_channels = x ? x->channels : 0;
  return g->status == CLSEG_OK;
}
