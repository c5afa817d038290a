/* clseg ready-made networks: U-Net (with optional attention), FCN, DeepLabV3+ and DANet on ResNet
 * backbones and SegFormer (MiT-B0/B1/B2), built as graphs with PyTorch state_dict parameter names,
 * and models: a .safetensors file whose metadata says which network to build, written by the
 * PyTorch companion (python/clseg_torch, export()).
 *
 *   clseg_model *m = NULL;
 *   if (clseg_model_load("road.safetensors", &m) != CLSEG_OK) puts(clseg_last_error(NULL));
 *   clseg_plan *plan = NULL;
 *   clseg_plan_create(ctx, clseg_model_graph(m), 1, 512, 512, NULL, &plan);
 *   ...
 *   clseg_plan_free(plan);
 *   clseg_model_free(m);                     // after every plan made from its graph
 *
 * Config structs: the zero value of each field is its default, stated per field. Builders return a
 * new graph (free with clseg_graph_free) and NULL only when out of memory; an invalid config leaves
 * the error in the graph: check clseg_graph_status once. Graph input "image" [N, in_channels, H,
 * W], output "logits" [N, classes, H, W] (raw scores, before sigmoid or softmax), resized to the
 * input size.
 */
#ifndef CLSEG_MODELS_H
#define CLSEG_MODELS_H

#include "clseg_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- U-Net: double-conv blocks (conv3x3 -> BN -> ReLU, twice), max pool down, up + skip concat
 * ---- */
typedef enum {
  CLSEG_UNET_PLAIN = 0, /* no attention */
  CLSEG_UNET_CBAM,      /* CBAM after each encoder stage (bottleneck included) */
  CLSEG_UNET_GATE, /* attention gates on the skips (theta 2x2 stride 2, inter = skip channels / 2)
                    */
  CLSEG_UNET_SCSE, /* scSE after each decoder stage */
  CLSEG_UNET_COMBINED /* all three at once: CBAM in the encoder, gates on the skips, scSE in the
                         decoder; the same parameter names as each alone */
} clseg_unet_attention;

typedef struct {
  int64_t in_channels; /* 0 means 3 */
  int64_t classes;     /* 0 means 1 */
  int depth;           /* poolings, 0 means 4; H and W must be multiples of 2^depth */
  int64_t base;        /* first stage width, 0 means 32; doubles at every stage */
  int bilinear;        /* 0: transposed conv 2x2 stride 2; 1: bilinear x2 then a 1x1 conv */
  clseg_unet_attention attention; /* 0: none */
  int64_t reduction;              /* CBAM / scSE MLP reduction, 0 means 16 */
} clseg_unet_config;

clseg_graph *clseg_unet_build(const clseg_unet_config *cfg);

/* ---- ResNet backbones (torchvision naming under "backbone.") ---- */
/* depth 18 and 34 use basic blocks, 50 and 101 bottlenecks. output_stride 32 is the plain network;
 * 16 dilates layer4, 8 layers 3 and 4 (torchvision's replace_stride_with_dilation). Basic blocks
 * dilate both of their convs (torchvision refuses dilated basic blocks; clseg_torch does the same
 * as here). */

/* ---- FCN: torchvision's fcn_resnet* (without aux): backbone -> FCNHead -> bilinear to the input
 * ---- */
typedef struct {
  int64_t in_channels; /* 0 means 3 */
  int64_t classes;     /* 0 means 21 (Pascal VOC, as torchvision) */
  int backbone;        /* ResNet depth 18, 34, 50 or 101; 0 means 50 */
  int output_stride;   /* 8, 16 or 32; 0 means 8 (torchvision's fcn) */
  int64_t width;       /* ResNet stem width, 0 means 64 (stage widths 1, 2, 4, 8 times it) */
} clseg_fcn_config;

clseg_graph *clseg_fcn_build(const clseg_fcn_config *cfg);

/* ---- DeepLabV3+: backbone -> ASPP -> x4 decoder with layer1's features -> bilinear to the input
 * ---- */
typedef struct {
  int64_t in_channels;        /* 0 means 3 */
  int64_t classes;            /* 0 means 21 */
  int backbone;               /* ResNet depth 18, 34, 50 or 101; 0 means 50 */
  int output_stride;          /* 8 or 16; 0 means 16 (the paper doubles the rates at 8: set them) */
  int rates[3];               /* ASPP atrous rates; 0 means 6, 12, 18 */
  int64_t aspp_channels;      /* ASPP branch and projection width, 0 means 256 */
  int64_t low_level_channels; /* layer1's projection in the decoder, 0 means 48 */
  int64_t decoder_channels;   /* the decoder's two 3x3 convs, 0 means 256 */
  int64_t width;              /* ResNet stem width, 0 means 64 */
  int cbam;                   /* 1: CBAM on the decoder's output, before the classifier */
  int64_t reduction;          /* CBAM reduction, 0 means 16 */
} clseg_deeplabv3plus_config;

clseg_graph *clseg_deeplabv3plus_build(const clseg_deeplabv3plus_config *cfg);

/* ---- DANet: dilated backbone -> dual attention head (position + channel attention) -> bilinear
 * to the input ---- */
/* Head (the authors' DANetHead, names under "head."): conv5a / conv5c 3x3 + BN + ReLU to C / 4,
 * position attention "sa" (query_conv and key_conv to C / 32, value_conv, gamma [1]; C the
 * backbone's) and channel attention "sc" (gamma [1]), conv51 / conv52 3x3 + BN + ReLU, their sum,
 * conv8 1x1 (the classifier, without the reference's dropout). Bilinear (align_corners false) to
 * the input. */
typedef struct {
  int64_t in_channels; /* 0 means 3 */
  int64_t classes;     /* 0 means 21 */
  int backbone;        /* ResNet depth 18, 34, 50 or 101; 0 means 50 */
  int output_stride;   /* 8, 16 or 32; 0 means 8 (the paper's) */
  int64_t width;       /* ResNet stem width, 0 means 64 */
} clseg_danet_config;

clseg_graph *clseg_danet_build(const clseg_danet_config *cfg);

/* ---- SegFormer: Mix Transformer encoder + all-MLP decoder, on NCHW maps ---- */
/* Each stage: overlapping patch embedding (conv 7x7 stride 4 pad 3 for stage 1, 3x3 stride 2 pad 1
 * after) + channel LayerNorm, blocks of x + attn(LN x) and x + MixFFN(LN x), a channel LayerNorm.
 * attn: q 1x1 conv; keys and values from a conv of kernel = stride = sr ratio + LayerNorm (sr > 1),
 * kv 1x1 conv to 2C (keys the first C), heads heads scaled 1 / sqrt(C / heads), proj 1x1 conv.
 * MixFFN: 1x1 conv to mlp_ratio C, depthwise 3x3, GELU, 1x1 conv back. LayerNorm eps 1e-6 in the
 * blocks and after each stage, 1e-5 in patch embeddings and spatial reductions (as the reference
 * MiT). Decoder: per stage a 1x1 conv to decoder_channels, bilinear to stage 1's size, concat
 * deepest first, 1x1 conv + BN + ReLU, 1x1 classifier: logits at 1/4 of the input, resized
 * bilinearly (align_corners false) to it. Inputs: H and W multiples of 32. Names as the reference
 * ("backbone.block1.0.attn.q", "decode_head.linear_fuse.bn"), Linear weights as [out, in, 1, 1]. */
typedef enum {
  CLSEG_SEGFORMER_B0 = 0, /* widths 32, 64, 160, 256; depths 2, 2, 2, 2; decoder 256 */
  CLSEG_SEGFORMER_B1,     /* widths 64, 128, 320, 512; depths 2, 2, 2, 2; decoder 256 */
  CLSEG_SEGFORMER_B2      /* widths 64, 128, 320, 512; depths 3, 4, 6, 3; decoder 768 */
} clseg_segformer_variant;

typedef struct {
  int64_t in_channels;             /* 0 means 3 */
  int64_t classes;                 /* 0 means 150 (ADE20K, as the reference) */
  clseg_segformer_variant variant; /* 0: B0 */
  /* Per-stage overrides of the variant (for small test networks); an entry 0 keeps the variant's */
  int64_t dims[4];          /* stage widths */
  int depths[4];            /* blocks per stage */
  int heads[4];             /* attention heads, each dividing its width; variants 1, 2, 5, 8 */
  int sr_ratios[4];         /* spatial reduction; variants 8, 4, 2, 1 */
  int64_t mlp_ratio;        /* MixFFN hidden width / stage width, 0 means 4 */
  int64_t decoder_channels; /* 0 means the variant's: 256 (B0, B1) or 768 (B2) */
} clseg_segformer_config;

clseg_graph *clseg_segformer_build(const clseg_segformer_config *cfg);

/* Builds network ("unet", "fcn", "deeplabv3plus", "danet" or "segformer") from a JSON object whose
 * keys are its config struct's fields (what a model file's clseg.config holds; attention as "none",
 * "cbam", "gate", "scse" or "combined", backbone as 50 or "resnet50", rates as [6, 12, 18], variant
 * as "b0", "b1" or "b2", dims, depths, heads and sr_ratios as arrays of 4), without weights.
 * Unknown keys are errors. On failure *out is NULL and clseg_last_error(NULL) says why. */
clseg_status clseg_network_build(const char *network, const char *config_json, clseg_graph **out);

/* ---- models: network + weights + preprocessing from one .safetensors or .tflite file ---- */
typedef struct clseg_model clseg_model;

/* Reads the file's __metadata__ (clseg.network, clseg.config: required; clseg.classes, clseg.mean,
 * clseg.std, clseg.input_size: optional), builds the network from its config and loads every weight
 * by name. On failure *out is NULL and clseg_last_error(NULL) names the file and the key or tensors
 * at fault. A TensorFlow Lite file (told apart by its "TFL3" identifier, not its name) is read with
 * clseg_tflite_load: its fixed input size, RGB scaled to [0, 1] (mean 0, std 1). A .safetensors
 * file stays mapped while the model lives (see clseg_graph_load_safetensors). */
clseg_status clseg_model_load(const char *path, clseg_model **out);
/* Options for files that leave the input size open: an ONNX model with symbolic H and W is imported
 * (its shape computations folded) for input_h x input_w. 0 means none: such a model then fails
 * naming the need. */
typedef struct {
  int64_t input_h, input_w;
} clseg_model_options;
clseg_status clseg_model_load_ex(const char *path, const clseg_model_options *opt,
                                 clseg_model **out);
void clseg_model_free(clseg_model *m);

/* The graph, owned by the model: plan it; free every plan before the model. */
clseg_graph *clseg_model_graph(const clseg_model *m);
/* "unet", "fcn", "deeplabv3plus", "danet", "segformer"; "tflite" or "onnx" for imported files. */
const char *clseg_model_network(const clseg_model *m);
int64_t clseg_model_classes(const clseg_model *m);
int64_t clseg_model_in_channels(const clseg_model *m);
/* The name of class i, or NULL when the file names no classes or i is out of range. */
const char *clseg_model_class_name(const clseg_model *m, int64_t i);
/* in_channels values each: the normalisation the network was trained with, applied by the caller as
 * (pixel - mean) / std to pixels scaled to [0, 1]. Without metadata: mean 0, std 1. */
const float *clseg_model_mean(const clseg_model *m);
const float *clseg_model_std(const clseg_model *m);
/* The input size the model was trained at; returns 0 (and leaves h, w alone) when the file gives
 * none. */
int clseg_model_input_size(const clseg_model *m, int64_t *h, int64_t *w);
/* Free-size inputs must have H and W divisible by this (metadata clseg.size_multiple, default 32).
 */
int64_t clseg_model_size_multiple(const clseg_model *m);
/* 1 when the network's output is already a probability (a final sigmoid or softmax), 0 for logits.
 */
int clseg_model_output_is_probability(const clseg_model *m);

#ifdef __cplusplus
}
#endif
#endif
