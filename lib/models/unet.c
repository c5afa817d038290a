/* U-Net: double-conv encoder stages joined by 2x2 max pools, a decoder that upsamples (transposed
 * conv or bilinear + 1x1 conv), concatenates the skip and applies a double conv; optional CBAM,
 * attention gates or scSE, or all three (CLSEG_UNET_COMBINED). Names:
 * encoder.I.{conv1,bn1,conv2,bn2,cbam}, decoder.J.{up,gate,conv1,bn1,conv2,bn2,scse}, head. */
#include <stdio.h>

#include "graph_internal.h"
#include "models/resnet.h"

#define MAX_DEPTH 10

/* Whether mode a uses attention kind k: each single mode is itself, COMBINED is all three. */
static int uses(clseg_unet_attention a, clseg_unet_attention k) {
  return a == k || a == CLSEG_UNET_COMBINED;
}

/* conv3x3 -> BN -> ReLU, twice, under prefix. */
static clseg_node *double_conv(clseg_graph *g, const char *prefix, clseg_node *x, int64_t ch) {
  char c1[96], b1[96], c2[96], b2[96];
  CLSEG__NAME(c1, "%s.conv1", prefix);
  CLSEG__NAME(b1, "%s.bn1", prefix);
  CLSEG__NAME(c2, "%s.conv2", prefix);
  CLSEG__NAME(b2, "%s.bn2", prefix);
  x = clseg__conv_bn(g, c1, b1, x, ch, 3, 1, 1, 1);
  return clseg__conv_bn(g, c2, b2, x, ch, 3, 1, 1, 1);
}

/* Doubles x's size and brings it to ch channels. */
static clseg_node *up(clseg_graph *g, const char *name, clseg_node *x, int64_t ch, int bilinear) {
  if (bilinear) {
    const clseg_resize_params rp = {.mode = CLSEG_RESIZE_BILINEAR};
    x = clseg_graph_resize_scale(g, x, 2, &rp);
    return clseg_graph_conv2d(g, name, x, ch, 1, 1, NULL);
  }
  const clseg_conv_transpose2d_params tp = {.stride_h = 2, .stride_w = 2};
  return clseg_graph_conv_transpose2d(g, name, x, ch, 2, 1, &tp);
}

static clseg_node *encoder(clseg_graph *g, clseg_node *x, const clseg_unet_config *c, int64_t base,
                           int64_t r, clseg_node **skips) {
  const clseg_pool2d_params pool = {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2};
  for (int i = 0; i <= c->depth; i++) {
    char name[64];
    if (i)
      x = clseg_graph_pool2d(g, x, &pool);
    CLSEG__NAME(name, "encoder.%d", i);
    x = double_conv(g, name, x, base << i);
    if (uses(c->attention, CLSEG_UNET_CBAM)) {
      CLSEG__NAME(name, "encoder.%d.cbam", i);
      x = clseg_graph_cbam(g, name, x, r);
    }
    if (i < c->depth)
      skips[i] = x;
  }
  return x;
}

static clseg_node *decoder(clseg_graph *g, clseg_node *x, const clseg_unet_config *c, int64_t base,
                           int64_t r, clseg_node **skips) {
  for (int j = 0; j < c->depth; j++) {
    int level = c->depth - 1 - j;
    int64_t ch = base << level;
    char prefix[64], name[96];
    CLSEG__NAME(prefix, "decoder.%d", j);
    clseg_node *skip = skips[level];
    /* gated by the coarser decoder features, as the authors do */
    if (uses(c->attention, CLSEG_UNET_GATE)) {
      CLSEG__NAME(name, "%s.gate", prefix);
      skip = clseg_graph_attention_gate(g, name, skip, x, ch / 2 > 0 ? ch / 2 : 1, 2, 1);
    }
    CLSEG__NAME(name, "%s.up", prefix);
    clseg_node *parts[2] = {skip, up(g, name, x, ch, c->bilinear)};
    x = double_conv(g, prefix, clseg_graph_concat(g, parts, 2), ch);
    if (uses(c->attention, CLSEG_UNET_SCSE)) {
      CLSEG__NAME(name, "%s.scse", prefix);
      x = clseg_graph_scse(g, name, x, r);
    }
  }
  return x;
}

clseg_graph *clseg_unet_build(const clseg_unet_config *cfg) {
  clseg_unet_config c = cfg ? *cfg : (clseg_unet_config){0};
  clseg_graph *g = clseg_graph_create();
  if (!g)
    return NULL;
  c.in_channels = c.in_channels ? c.in_channels : 3;
  c.classes = c.classes ? c.classes : 1;
  c.depth = c.depth ? c.depth : 4;
  c.base = c.base ? c.base : 32;
  c.reduction = c.reduction ? c.reduction : 16;
  if (c.depth < 1 || c.depth > MAX_DEPTH || c.base < 1 || c.classes < 1 || c.in_channels < 1 ||
      c.reduction < 1 || (unsigned)c.attention > CLSEG_UNET_COMBINED) {
    clseg__graph_fail(
        g, CLSEG_INVALID_ARGUMENT,
        "unet: depth %d (1..%d), base %lld, classes %lld, in_channels %lld, reduction %lld, "
        "attention %d",
        c.depth, MAX_DEPTH, (long long)c.base, (long long)c.classes, (long long)c.in_channels,
        (long long)c.reduction, (int)c.attention);
    return g;
  }
  clseg_node *skips[MAX_DEPTH] = {0};
  clseg_node *x = clseg_graph_input(g, "image", c.in_channels);
  x = encoder(g, x, &c, c.base, c.reduction, skips);
  x = decoder(g, x, &c, c.base, c.reduction, skips);
  x = clseg_graph_conv2d(g, "head", x, c.classes, 1, 1, NULL);
  clseg_graph_output(g, x, "logits");
  return g;
}
