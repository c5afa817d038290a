/* clseg segmentation of images: what `clseg run` does per image, as library calls. The model's
 * metadata decides the pre-processing (input size or size multiple, channels, mean and std); the
 * network runs on the whole image resized to its input, or in overlapping tiles blended with
 * ramps; the output is resampled bilinearly to the image and turned into a class per pixel
 * (threshold for one-channel models, argmax otherwise) and, when asked, probabilities.
 *
 *   clseg_segmenter *seg = NULL;
 *   clseg_segmenter_create(ctx, model, NULL, &seg);          // model from clseg_model_load
 *   clseg_segmentation r = {0};
 *   if (clseg_segment_image(seg, &rgb, 0, &r) != CLSEG_OK)   // rgb: clseg_image_to_rgb's output
 *     puts(clseg_last_error(ctx));
 *   ... r.mask[y * r.width + x] ...
 *   clseg_segmentation_free(&r);
 *   clseg_segmenter_free(seg);
 *
 * A segmenter keeps the plans of the input sizes it met (the four most recent) and borrows the
 * context and the model: both must outlive it. One thread at a time per segmenter; errors are
 * recorded on the context (clseg_last_error(ctx)).
 */
#ifndef CLSEG_SEGMENT_H
#define CLSEG_SEGMENT_H

#include "clseg_graph.h"
#include "clseg_io.h"
#include "clseg_models.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The zero value of each field is its default. */
typedef struct {
  int64_t size_h, size_w; /* network input for models of free size; 0: the image's size rounded to
                             the model's size multiple. Both or neither. */
  int tile;               /* > 0: tiles of tile x tile pixels (a fixed-size model's own size) */
  int overlap;            /* pixels shared by neighbouring tiles, below tile */
  float threshold;        /* one-channel models: foreground at or above, in (0, 1]; 0 means 0.5 */
  int low_memory;         /* plans made with clseg_plan_options.low_memory */
  int no_fusion;          /* plans made with clseg_plan_options.no_fusion (to measure fusion) */
} clseg_segment_options;

typedef struct clseg_segmenter clseg_segmenter;

clseg_status clseg_segmenter_create(clseg_context *ctx, const clseg_model *model,
                                    const clseg_segment_options *opt, clseg_segmenter **out);
void clseg_segmenter_free(clseg_segmenter *s);

/* What clseg_segment_image keeps besides the mask. */
enum {
  CLSEG_SEGMENT_PROBS = 1, /* per-class probabilities at image resolution */
  CLSEG_SEGMENT_RAW = 2 /* the network's raw outputs, all of them (whole image only, not tiles) */
};

typedef struct {
  int width, height;             /* the image's */
  int classes;                   /* the output's channels: 1 for a binary model */
  uint8_t *mask;                 /* width * height classes (binary: 0 or 1) */
  float *probs;                  /* with CLSEG_SEGMENT_PROBS: classes x height x width, else NULL */
  int outputs;                   /* with CLSEG_SEGMENT_RAW: the network's outputs, else 0 */
  float *raw[CLSEG_MAX_OUTPUTS]; /* ... raw[i] of raw_shape[i] (NCHW), raw[0] the main output */
  int64_t raw_shape[CLSEG_MAX_OUTPUTS][4];
  const char *raw_name[CLSEG_MAX_OUTPUTS]; /* ... their names, owned by the model */
  int64_t input_h, input_w;                /* the network input (a tile's with tiles) */
  int tiles;                               /* network runs: 1 without tiles */
  double network_ms;                       /* upload, run and download of the network runs */
} clseg_segmentation;

/* Segments an RGB image (3 channels, clseg_image_to_rgb) with the flags above; *out is written only
 * on success. */
clseg_status clseg_segment_image(clseg_segmenter *s, const clseg_image *rgb, int flags,
                                 clseg_segmentation *out);
/* Segments n images in one network run of batch n (one plan of batch n): whole images only (no
 * tiles) and flags 0 or CLSEG_SEGMENT_PROBS. Every image must go in at one network input size
 * (clseg_segmenter_input_size: any sizes for a fixed-size model, else CLSEG_SHAPE_MISMATCH naming
 * the first that differs). out[i] gets image i's result, as clseg_segment_image would give it (up
 * to the last bits of float sums, where the batch's kernels group them differently), with
 * network_ms the batch's time divided by n; out is written only on success. */
clseg_status clseg_segment_images(clseg_segmenter *s, const clseg_image *const *rgb, int n,
                                  int flags, clseg_segmentation *out);
/* Releases what clseg_segment_image filled, and zeroes it. */
void clseg_segmentation_free(clseg_segmentation *r);

/* The network input size clseg_segment_image uses for an image of img_w x img_h without tiles. */
void clseg_segmenter_input_size(const clseg_segmenter *s, int img_h, int img_w, int64_t *h,
                                int64_t *w);
/* The plan for a batch of n inputs of h x w, made on first use and kept (the four most recent
 * sizes); borrowed: valid until the segmenter is freed or evicts it. */
clseg_status clseg_segmenter_plan(clseg_segmenter *s, int64_t n, int64_t h, int64_t w,
                                  clseg_plan **out);
/* Seconds spent making plans (kernel builds included). */
double clseg_segmenter_plan_seconds(const clseg_segmenter *s);

#ifdef __cplusplus
}
#endif

#endif
