/* FCN (torchvision's fcn_resnet* without the aux head): ResNet backbone, FCNHead, bilinear
 * upsampling to the input. Parameter names match torchvision's state_dict
 * ("backbone.layer4.2.conv3", "classifier.4"). */
#include "graph_internal.h"
#include "models/resnet.h"

clseg_graph *clseg_fcn_build(const clseg_fcn_config *cfg) {
  const clseg_fcn_config zero = {0};
  const clseg_fcn_config *c = cfg ? cfg : &zero;
  clseg_graph *g = clseg_graph_create();
  if (!g)
    return NULL;
  int64_t in_ch = c->in_channels ? c->in_channels : 3, classes = c->classes ? c->classes : 21;
  const clseg__resnet_config rc = {c->backbone ? c->backbone : 50,
                                   c->output_stride ? c->output_stride : 8,
                                   c->width ? c->width : 64};
  clseg_node *image = clseg_graph_input(g, "image", in_ch);
  clseg__resnet_features f = {0};
  if (!image || !clseg__resnet(g, "backbone", image, &rc, &f))
    return g;
  /* FCNHead: conv3x3 to in / 4 channels, BN, ReLU, dropout (identity at inference), conv1x1 with
   * bias. */
  int64_t inter = f.out_channels / 4 > 0 ? f.out_channels / 4 : 1;
  clseg_node *x = clseg__conv_bn(g, "classifier.0", "classifier.1", f.out, inter, 3, 1, 1, 1);
  x = clseg_graph_conv2d(g, "classifier.4", x, classes, 1, 1, NULL);
  x = clseg_graph_resize_like(g, x, image, &(clseg_resize_params){.mode = CLSEG_RESIZE_BILINEAR});
  clseg_graph_output(g, x, "logits");
  return g;
}
