/* DANet (Fu et al. 2019): a dilated ResNet backbone and the dual attention head: a position
 * attention module (soft attention over positions, clseg_graph_attention) and a channel attention
 * module (a C x C attention over channels, from matmuls), each between two 3x3 conv + BN + ReLU,
 * their sum classified by a 1x1 conv and resized to the input. Head names follow the authors'
 * DANetHead (conv5a, sa, conv51, ...; conv8 without its dropout). */
#include <stdio.h>

#include "graph_internal.h"
#include "models/resnet.h"

/* x + gamma y, gamma the one-element parameter NAME ([1], as nn.Parameter(torch.zeros(1))). */
static clseg_node *gamma_residual(clseg_graph *g, const char *name, clseg_node *y, clseg_node *x) {
  static const int64_t one = 1;
  y = clseg_graph_binary(g, CLSEG_BINARY_MUL, clseg_graph_constant(g, name, 1, &one), y);
  return clseg_graph_binary(g, CLSEG_BINARY_ADD, y, x);
}

/* Position attention: query and key 1x1 convs to C / 8, value to C, softmax_j(q_i . k_j) (no
 * scaling) over every position j, out = gamma attn + x. */
static clseg_node *position_attention(clseg_graph *g, const char *p, clseg_node *x) {
  char n[160];
  int64_t c = x->channels, ck = c / 8 > 0 ? c / 8 : 1;
  CLSEG__NAME(n, "%s.query_conv", p);
  clseg_node *q = clseg_graph_conv2d(g, n, x, ck, 1, 1, NULL);
  CLSEG__NAME(n, "%s.key_conv", p);
  clseg_node *k = clseg_graph_conv2d(g, n, x, ck, 1, 1, NULL);
  CLSEG__NAME(n, "%s.value_conv", p);
  clseg_node *v = clseg_graph_conv2d(g, n, x, c, 1, 1, NULL);
  const clseg_attention_params ap = {.heads = 1, .scale = 1.0f};
  clseg_node *y = clseg_graph_attention(g, p, q, k, v, &ap);
  CLSEG__NAME(n, "%s.gamma", p);
  return gamma_residual(g, n, y, x);
}

/* Channel attention: energy = X X^T over the HW positions ([N, C, C]), attention =
 * softmax(rowmax(energy) - energy), out = gamma (attention X) + x. softmax(rowmax - e) is
 * softmax(-e) (a softmax ignores a shift per row), so the matmul's alpha -1 gives its input. The
 * product with X runs on X as [N, H, W, C] times attention^T (H matmuls [W, C] x [C, C]), so that
 * no shape needs H and W while building, as a reshape back from [N, C, HW] would. With X as [N, H,
 * C, W] instead ([C, C] x [C, W] each) it ran 6.8x slower (DANet R50 at 256x256 on PoCL). */
static clseg_node *channel_attention(clseg_graph *g, const char *p, clseg_node *x) {
  int64_t c = x->channels;
  clseg_node *flat = clseg_graph_reshape(g, x, 3, (const int64_t[3]){0, 0, -1});
  const clseg_matmul_params neg = {.trans_b = 1, .alpha = -1.0f};
  clseg_node *a = clseg_graph_matmul(g, flat, flat, &neg);
  a = clseg_graph_softmax(g, a, -1, 0);
  a = clseg_graph_reshape(g, a, 4, (const int64_t[4]){0, 1, c, c});
  static const int to_last[4] = {0, 2, 3, 1}, to_second[4] = {0, 3, 1, 2};
  const clseg_matmul_params tb = {.trans_b = 1};
  clseg_node *y = clseg_graph_matmul(g, clseg_graph_transpose(g, x, 4, to_last), a, &tb);
  y = clseg_graph_transpose(g, y, 4, to_second);
  y = clseg_graph_reshape(g, y, 4, (const int64_t[4]){0, c, 0, 0}); /* states the channels */
  char n[160];
  CLSEG__NAME(n, "%s.gamma", p);
  return gamma_residual(g, n, y, x);
}

static clseg_node *head(clseg_graph *g, clseg_node *x, int64_t classes) {
  int64_t inter = x->channels / 4 > 0 ? x->channels / 4 : 1;
  clseg_node *sa = clseg__conv_bn(g, "head.conv5a.0", "head.conv5a.1", x, inter, 3, 1, 1, 1);
  sa = sa ? position_attention(g, "head.sa", sa) : NULL;
  sa = clseg__conv_bn(g, "head.conv51.0", "head.conv51.1", sa, inter, 3, 1, 1, 1);
  clseg_node *sc = clseg__conv_bn(g, "head.conv5c.0", "head.conv5c.1", x, inter, 3, 1, 1, 1);
  sc = sc ? channel_attention(g, "head.sc", sc) : NULL;
  sc = clseg__conv_bn(g, "head.conv52.0", "head.conv52.1", sc, inter, 3, 1, 1, 1);
  x = clseg_graph_binary(g, CLSEG_BINARY_ADD, sa, sc);
  return clseg_graph_conv2d(g, "head.conv8", x, classes, 1, 1, NULL);
}

clseg_graph *clseg_danet_build(const clseg_danet_config *cfg) {
  const clseg_danet_config zero = {0};
  const clseg_danet_config *c = cfg ? cfg : &zero;
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
  clseg_node *x = head(g, f.out, classes);
  x = clseg_graph_resize_like(g, x, image, &(clseg_resize_params){.mode = CLSEG_RESIZE_BILINEAR});
  clseg_graph_output(g, x, "logits");
  return g;
}
