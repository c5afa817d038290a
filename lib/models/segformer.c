/* SegFormer (Xie et al. 2021): the Mix Transformer encoder (MiT-B0/B1/B2) and the all-MLP decoder,
 * written on NCHW maps so that the graph needs no token reshapes: Linear layers are 1x1 convs,
 * LayerNorms normalise the channels (axis 1) and attention is clseg_graph_attention. Parameter
 * names follow the reference (NVlabs mix_transformer.py under "backbone.", mmseg's SegFormerHead
 * under "decode_head."), Linear weights stored as [out, in, 1, 1]. */
#include <stdio.h>

#include "graph_internal.h"
#include "models/resnet.h"

/* The reference's norm_layer (partial(nn.LayerNorm, eps=1e-6)): each block's norm1 and norm2 and
 * each stage's closing norm. The patch embeddings' and spatial reductions' norms are plain
 * nn.LayerNorm there, eps 1e-5. */
#define BLOCK_EPS 1e-6f
#define EMBED_EPS 1e-5f

typedef struct {
  int64_t dims[4];
  int depths[4], heads[4], sr[4];
  int64_t mlp_ratio, decoder;
} arch;

static const arch variants[3] = {
    {{32, 64, 160, 256}, {2, 2, 2, 2}, {1, 2, 5, 8}, {8, 4, 2, 1}, 4, 256},
    {{64, 128, 320, 512}, {2, 2, 2, 2}, {1, 2, 5, 8}, {8, 4, 2, 1}, 4, 256},
    {{64, 128, 320, 512}, {3, 4, 6, 3}, {1, 2, 5, 8}, {8, 4, 2, 1}, 4, 768},
};

static const clseg_resize_params bilinear = {.mode = CLSEG_RESIZE_BILINEAR};

/* conv k x k with bias, square stride and padding. */
static clseg_node *conv(clseg_graph *g, const char *name, clseg_node *x, int64_t cout, int k,
                        int stride, int pad, int groups) {
  const clseg_conv2d_params p = {.stride_h = stride,
                                 .stride_w = stride,
                                 .pad_top = pad,
                                 .pad_left = pad,
                                 .pad_bottom = pad,
                                 .pad_right = pad,
                                 .groups = groups};
  return clseg_graph_conv2d(g, name, x, cout, k, 1, &p);
}

/* LayerNorm over the channels of an NCHW map (a token LayerNorm at every position). */
static clseg_node *norm(clseg_graph *g, const char *name, clseg_node *x, float eps) {
  const clseg_layernorm_params p = {.axis = 1, .naxes = 1, .eps = eps};
  return x ? clseg_graph_layernorm(g, name, x, &p, x->channels, 1) : NULL;
}

/* Efficient self-attention: queries at every position, keys and values from a map reduced by a
 * conv of kernel = stride = sr (then a LayerNorm), heads heads of width C / heads. */
static clseg_node *attention(clseg_graph *g, const char *p, clseg_node *x, int heads, int sr) {
  char n[128];
  int64_t c = x->channels;
  CLSEG__NAME(n, "%s.q", p);
  clseg_node *q = conv(g, n, x, c, 1, 1, 0, 1), *kv = x;
  if (sr > 1) {
    CLSEG__NAME(n, "%s.sr", p);
    kv = conv(g, n, x, c, sr, sr, 0, 1);
    CLSEG__NAME(n, "%s.norm", p);
    kv = norm(g, n, kv, EMBED_EPS);
  }
  CLSEG__NAME(n, "%s.kv", p);
  kv = conv(g, n, kv, 2 * c, 1, 1, 0, 1); /* keys are its first C channels, values the rest */
  clseg_node *k = clseg_graph_slice_channels(g, kv, 0, c);
  clseg_node *v = clseg_graph_slice_channels(g, kv, c, c);
  clseg_node *y = clseg_graph_attention(g, p, q, k, v, &(clseg_attention_params){.heads = heads});
  CLSEG__NAME(n, "%s.proj", p);
  return conv(g, n, y, c, 1, 1, 0, 1);
}

/* Mix-FFN: 1x1 to hidden, depthwise 3x3, GELU, 1x1 back. */
static clseg_node *mix_ffn(clseg_graph *g, const char *p, clseg_node *x, int64_t hidden) {
  char n[128];
  int64_t c = x->channels;
  CLSEG__NAME(n, "%s.fc1", p);
  clseg_node *y = conv(g, n, x, hidden, 1, 1, 0, 1);
  CLSEG__NAME(n, "%s.dwconv.dwconv", p);
  y = conv(g, n, y, hidden, 3, 1, 1, (int)hidden);
  y = clseg_graph_activation(g, y, CLSEG_ACT_GELU);
  CLSEG__NAME(n, "%s.fc2", p);
  return conv(g, n, y, c, 1, 1, 0, 1);
}

/* x + attn(norm1 x), then + mlp(norm2 x). The residual operand exists before the conv that ends
 * each branch, so the adds fuse into those convs. */
static clseg_node *block(clseg_graph *g, const char *p, clseg_node *x, const arch *a, int i) {
  char n[96];
  CLSEG__NAME(n, "%s.norm1", p);
  clseg_node *y = norm(g, n, x, BLOCK_EPS);
  CLSEG__NAME(n, "%s.attn", p);
  y = y ? attention(g, n, y, a->heads[i], a->sr[i]) : NULL;
  x = clseg_graph_binary(g, CLSEG_BINARY_ADD, y, x);
  CLSEG__NAME(n, "%s.norm2", p);
  y = norm(g, n, x, BLOCK_EPS);
  CLSEG__NAME(n, "%s.mlp", p);
  y = y ? mix_ffn(g, n, y, a->mlp_ratio * a->dims[i]) : NULL;
  return clseg_graph_binary(g, CLSEG_BINARY_ADD, y, x);
}

/* Stage i: overlapping patch embedding (7x7 stride 4, else 3x3 stride 2), blocks, LayerNorm. */
static clseg_node *stage(clseg_graph *g, clseg_node *x, const arch *a, int i) {
  char n[64];
  int k = i ? 3 : 7;
  CLSEG__NAME(n, "backbone.patch_embed%d.proj", i + 1);
  x = conv(g, n, x, a->dims[i], k, i ? 2 : 4, k / 2, 1);
  CLSEG__NAME(n, "backbone.patch_embed%d.norm", i + 1);
  x = norm(g, n, x, EMBED_EPS);
  for (int b = 0; b < a->depths[i] && x; b++) {
    CLSEG__NAME(n, "backbone.block%d.%d", i + 1, b);
    x = block(g, n, x, a, i);
  }
  CLSEG__NAME(n, "backbone.norm%d", i + 1);
  return norm(g, n, x, BLOCK_EPS);
}

/* The all-MLP head: each stage to the decoder width, bilinear to stage 1's size, concatenated
 * deepest first (the reference's [c4, c3, c2, c1]), fused by 1x1 conv + BN + ReLU, classified. */
static clseg_node *decoder(clseg_graph *g, clseg_node *const f[4], int64_t width, int64_t classes) {
  clseg_node *parts[4];
  for (int i = 3; i >= 0; i--) {
    char n[64];
    CLSEG__NAME(n, "decode_head.linear_c%d.proj", i + 1);
    clseg_node *y = conv(g, n, f[i], width, 1, 1, 0, 1);
    parts[3 - i] = i ? clseg_graph_resize_like(g, y, f[0], &bilinear) : y;
  }
  clseg_node *x = clseg_graph_concat(g, parts, 4);
  x = clseg__conv_bn(g, "decode_head.linear_fuse.conv", "decode_head.linear_fuse.bn", x, width, 1,
                     1, 1, 1);
  return clseg_graph_conv2d(g, "decode_head.linear_pred", x, classes, 1, 1, NULL);
}

/* The variant's architecture with the config's non-zero entries over it; 0 with the graph's error
 * set when the result is invalid. */
static int resolve(clseg_graph *g, const clseg_segformer_config *c, arch *a) {
  if ((int)c->variant < 0 || c->variant > CLSEG_SEGFORMER_B2) {
    clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "segformer: variant %d (b0, b1 or b2)",
                      (int)c->variant);
    return 0;
  }
  *a = variants[c->variant];
  a->mlp_ratio = c->mlp_ratio ? c->mlp_ratio : a->mlp_ratio;
  a->decoder = c->decoder_channels ? c->decoder_channels : a->decoder;
  int ok = a->mlp_ratio > 0 && a->decoder > 0;
  for (int i = 0; i < 4; i++) {
    a->dims[i] = c->dims[i] ? c->dims[i] : a->dims[i];
    a->depths[i] = c->depths[i] ? c->depths[i] : a->depths[i];
    a->heads[i] = c->heads[i] ? c->heads[i] : a->heads[i];
    a->sr[i] = c->sr_ratios[i] ? c->sr_ratios[i] : a->sr[i];
    if (a->dims[i] < 1 || a->depths[i] < 1 || a->heads[i] < 1 || a->sr[i] < 1 ||
        a->dims[i] % a->heads[i]) {
      clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                        "segformer: stage %d has width %lld, %d blocks, %d heads (dividing the "
                        "width), spatial reduction %d",
                        i + 1, (long long)a->dims[i], a->depths[i], a->heads[i], a->sr[i]);
      return 0;
    }
  }
  if (!ok)
    clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "segformer: mlp_ratio %lld, decoder width %lld",
                      (long long)a->mlp_ratio, (long long)a->decoder);
  return ok;
}

clseg_graph *clseg_segformer_build(const clseg_segformer_config *cfg) {
  const clseg_segformer_config zero = {0};
  const clseg_segformer_config *c = cfg ? cfg : &zero;
  clseg_graph *g = clseg_graph_create();
  arch a;
  if (!g || !resolve(g, c, &a))
    return g;
  int64_t in_ch = c->in_channels ? c->in_channels : 3, classes = c->classes ? c->classes : 150;
  clseg_node *image = clseg_graph_input(g, "image", in_ch), *f[4], *x = image;
  for (int i = 0; i < 4; i++)
    x = f[i] = x ? stage(g, x, &a, i) : NULL;
  if (!x)
    return g;
  /* logits at 1/4 of the input, resized to it as mmseg's inference does (align_corners false) */
  x = decoder(g, f, a.decoder, classes);
  x = clseg_graph_resize_like(g, x, image, &bilinear);
  clseg_graph_output(g, x, "logits");
  return g;
}
