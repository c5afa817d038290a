/* DeepLabV3+: ResNet backbone (output stride 8 or 16), ASPP with an image pooling branch, a decoder
 * that joins the upsampled ASPP output with a 48-channel projection of layer1, two 3x3 convs,
 * optional CBAM, the classifier and bilinear upsampling to the input. ASPP names follow
 * torchvision's ASPP module. */
#include <stdio.h>

#include "graph_internal.h"
#include "models/resnet.h"

static const clseg_resize_params bilinear = {.mode = CLSEG_RESIZE_BILINEAR};

/* ASPP: a 1x1 branch, three dilated 3x3 branches, image pooling, concat, 1x1 projection. */
static clseg_node *aspp(clseg_graph *g, clseg_node *x, int64_t ch, const int rates[3]) {
  clseg_node *b[5];
  b[0] = clseg__conv_bn(g, "aspp.convs.0.0", "aspp.convs.0.1", x, ch, 1, 1, 1, 1);
  for (int i = 1; i <= 3; i++) {
    char conv[64], bn[64];
    CLSEG__NAME(conv, "aspp.convs.%d.0", i);
    CLSEG__NAME(bn, "aspp.convs.%d.1", i);
    b[i] = clseg__conv_bn(g, conv, bn, x, ch, 3, 1, rates[i - 1], 1);
  }
  /* Image pooling (torchvision's ASPPPooling: pool, conv, BN, ReLU, so conv and BN are items 1, 2).
   */
  clseg_node *p = clseg_graph_global_pool(g, x, CLSEG_POOL_AVG);
  p = clseg__conv_bn(g, "aspp.convs.4.1", "aspp.convs.4.2", p, ch, 1, 1, 1, 1);
  b[4] = clseg_graph_resize_like(g, p, x, &bilinear);
  clseg_node *cat = clseg_graph_concat(g, b, 5);
  /* project.3 is dropout: the identity at inference */
  return clseg__conv_bn(g, "aspp.project.0", "aspp.project.1", cat, ch, 1, 1, 1, 1);
}

static clseg_node *decoder(clseg_graph *g, clseg_node *high, clseg_node *low,
                           const clseg_deeplabv3plus_config *c) {
  int64_t lch = c->low_level_channels ? c->low_level_channels : 48;
  int64_t dch = c->decoder_channels ? c->decoder_channels : 256;
  low = clseg__conv_bn(g, "decoder.low_level.0", "decoder.low_level.1", low, lch, 1, 1, 1, 1);
  clseg_node *parts[2] = {clseg_graph_resize_like(g, high, low, &bilinear), low};
  clseg_node *x = clseg_graph_concat(g, parts, 2);
  x = clseg__conv_bn(g, "decoder.fuse.0", "decoder.fuse.1", x, dch, 3, 1, 1, 1);
  x = clseg__conv_bn(g, "decoder.fuse.3", "decoder.fuse.4", x, dch, 3, 1, 1, 1);
  if (c->cbam)
    x = clseg_graph_cbam(g, "decoder.cbam", x, c->reduction ? c->reduction : 16);
  return x;
}

clseg_graph *clseg_deeplabv3plus_build(const clseg_deeplabv3plus_config *cfg) {
  const clseg_deeplabv3plus_config zero = {0};
  const clseg_deeplabv3plus_config *c = cfg ? cfg : &zero;
  clseg_graph *g = clseg_graph_create();
  if (!g)
    return NULL;
  int64_t in_ch = c->in_channels ? c->in_channels : 3, classes = c->classes ? c->classes : 21;
  int os = c->output_stride ? c->output_stride : 16;
  static const int default_rates[3] = {6, 12, 18};
  int rates[3];
  for (int i = 0; i < 3; i++)
    rates[i] = c->rates[i] ? c->rates[i] : default_rates[i];
  if (os != 8 && os != 16) {
    clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "deeplabv3plus: output stride %d (8 or 16)", os);
    return g;
  }
  if (rates[0] < 1 || rates[1] < 1 || rates[2] < 1) {
    clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "deeplabv3plus: ASPP rates %d, %d, %d", rates[0],
                      rates[1], rates[2]);
    return g;
  }
  const clseg__resnet_config rc = {c->backbone ? c->backbone : 50, os, c->width ? c->width : 64};
  clseg_node *image = clseg_graph_input(g, "image", in_ch);
  clseg__resnet_features f = {0};
  if (!image || !clseg__resnet(g, "backbone", image, &rc, &f))
    return g;
  clseg_node *x = aspp(g, f.out, c->aspp_channels ? c->aspp_channels : 256, rates);
  x = decoder(g, x, f.layer1, c);
  x = clseg_graph_conv2d(g, "classifier", x, classes, 1, 1, NULL);
  x = clseg_graph_resize_like(g, x, image, &bilinear);
  clseg_graph_output(g, x, "logits");
  return g;
}
