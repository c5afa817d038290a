/* clseg image, array and metrics I/O: host-side only, no OpenCL. Reads PNG and JPEG images and .npy
 * arrays, writes masks, RGB and 16-bit PNGs and .npy files atomically, resizes and normalises
 * images into NCHW tensor data, blends class colours over images (with outlines, skeletons and a
 * legend in a built-in font), and scores predicted masks (IoU, Dice, F-beta).
 *
 *   clseg_image img = {0};
 *   if (clseg_image_read("cat.jpg", &img) != CLSEG_OK) {           // PNG or JPEG, by magic bytes
 *     fprintf(stderr, "%s\n", clseg_last_error(NULL));
 *     return 1;
 *   }
 *   clseg_image rgb = {0};
 *   clseg_image_to_rgb(&img, &rgb);
 *   clseg_tensor_params tp = {.width = 512, .height = 512, .mean = CLSEG_IMAGENET_MEAN,
 *                             .std = CLSEG_IMAGENET_STD};
 *   float *x = malloc(sizeof(float) * 3 * 512 * 512);              // upload as shape {1, 3, 512,
 * 512} clseg_image_to_tensor_data(&rgb, &tp, x);
 *
 * Ownership: every clseg_image / clseg_array / clseg_metrics filled by a call is released by its
 * *_free (which also zeroes it, and accepts a zeroed or already freed struct); clseg_confusion is
 * opaque, made by clseg_confusion_create and released by clseg_confusion_free. Output structs are
 * written only on success. Every fallible call returns a clseg_status and records a message for
 * clseg_last_error(NULL) naming the file and what is wrong. All calls are thread-safe on distinct
 * objects. Details: docs/io.md.
 */
#ifndef CLSEG_IO_H
#define CLSEG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "clseg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- images ---- */

/* An 8-bit image, rows top to bottom, channels interleaved: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
typedef struct {
  int width, height, channels;
  int bit_depth; /* of the source, per channel: 1, 2, 4, 8 or 16 (PNG; palette: the index depth), 8
                    (JPEG) */
  uint8_t *data; /* height * width * channels bytes */
} clseg_image;

/* The largest image the readers accept, in pixels (width * height); larger ones are
 * CLSEG_UNSUPPORTED. */
#define CLSEG_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

/* Reads a PNG (any bit depth, colour type, palette with tRNS, interlaced; expanded to 8 bits,
 * 16-bit samples rounded to v * 255 / 65535) or a JPEG (gray or colour; CMYK/YCCK is
 * CLSEG_UNSUPPORTED), told apart by their first bytes, not the file name. CLSEG_IO when the file
 * cannot be read, CLSEG_FORMAT when it is neither format or is corrupt or truncated. */
clseg_status clseg_image_read(const char *path, clseg_image *out);
/* The same from memory; name is used in messages only. */
clseg_status clseg_image_read_memory(const void *data, size_t size, const char *name,
                                     clseg_image *out);
void clseg_image_free(clseg_image *img);

/* A 3-channel copy: alpha dropped (not composited), gray replicated. bit_depth is kept. */
clseg_status clseg_image_to_rgb(const clseg_image *in, clseg_image *out);

/* Bilinear resize of any channel count, half-pixel centres (see clseg_resize_probs_bilinear), each
 * result rounded to the nearest integer. */
clseg_status clseg_image_resize(const clseg_image *in, int width, int height, clseg_image *out);

/* Reads a class mask: a palette PNG (its indices, as in PASCAL VOC ground truth) or an 8-bit gray
 * PNG (its values). out->channels is 1. Other PNGs and JPEGs are CLSEG_UNSUPPORTED (lossy or
 * colour-coded masks need a colour-to-class map). */
clseg_status clseg_mask_read(const char *path, clseg_image *out);

/* ---- tensors from images ---- */

#define CLSEG_IMAGENET_MEAN                                                                        \
  { 0.485f, 0.456f, 0.406f }
#define CLSEG_IMAGENET_STD                                                                         \
  { 0.229f, 0.224f, 0.225f }

/* Zero values mean the default, per field. */
typedef struct {
  int width, height; /* output size; 0: the image's own */
  float mean[3];     /* subtracted from v / 255, per channel; default 0 */
  float std[3];      /* then divided by, per channel; 0 means 1 */
} clseg_tensor_params;

/* A 3-channel image to planar float32 NCHW data (N = 1, C = 3, H = height, W = width, 3 * H * W
 * floats): bilinear resize on the 8-bit values (half-pixel rule, in float, no rounding), then (v /
 * 255 - mean) / std. */
clseg_status clseg_image_to_tensor_data(const clseg_image *rgb, const clseg_tensor_params *p,
                                        float *out);

/* ---- host resize of network outputs ---- */

/* C x h x w float maps to C x out_h x out_w, bilinear with PyTorch's align_corners=False rule (as
 * the device resize op): src = max((dst + 0.5) * in / out - 0.5, 0), the two taps clamped to the
 * edge, no antialiasing. */
clseg_status clseg_resize_probs_bilinear(const float *in, int c, int h, int w, int out_w, int out_h,
                                         float *out);
/* Label masks, nearest with PyTorch's 'nearest' rule (as the device op): src = floor(dst * in /
 * out). */
clseg_status clseg_resize_mask_nearest(const uint8_t *in, int w, int h, int out_w, int out_h,
                                       uint8_t *out);

/* ---- colours ---- */

/* The default palette, 256 RGB entries: the PASCAL VOC colour map (class 0 black, 1 (128,0,0), 2
 * (0,128,0), 3 (128,128,0), 4 (0,0,128) ... each class's bits spread over the high bits of R, G,
 * B). */
void clseg_palette_default(uint8_t palette[256 * 3]);

/* Class colours blended over an RGB image: out = round((1 - alpha) * image + alpha * colour) where
 * the mask's class is not 0; class 0 pixels are copied. palette: 256 * 3 bytes, NULL for the
 * default. The mask must have the image's size (resize it with clseg_resize_mask_nearest). */
clseg_status clseg_overlay(const clseg_image *rgb, const uint8_t *mask, int mask_w, int mask_h,
                           const uint8_t *palette, float alpha, clseg_image *out);
/* Paints, in place, the outline of a mask's regions (mask: the image's width * height classes):
 * the pixels whose class differs from a right or lower neighbour's, widened to `thickness`. */
clseg_status clseg_draw_outline(clseg_image *img, const uint8_t *mask, int thickness,
                                const uint8_t color[3]);
/* Paints, in place, a skeleton: npoints points (x, y in pixels) as dots and the bones joining pairs
 * of them as lines `thickness` wide; with visibility set, points below min_visibility and their
 * bones are left out. */
clseg_status clseg_draw_skeleton(clseg_image *img, const float (*points)[2],
                                 const float *visibility, int npoints, const int (*bones)[2],
                                 int nbones, float min_visibility, int thickness,
                                 const uint8_t color[3]);

/* The built-in font: glyphs 5 pixels wide and CLSEG_FONT_HEIGHT rows tall (capitals and digits in
 * the top 7, descenders in the last), one every CLSEG_FONT_ADVANCE pixels, at scale 1. */
#define CLSEG_FONT_ADVANCE 6
#define CLSEG_FONT_HEIGHT  8
/* Paints, in place, one line of text whose first glyph's top-left corner is (x, y), each font pixel
 * a scale x scale square (scale 1 to 64); characters outside ASCII 32-126 are drawn as '?'. What
 * falls outside the image is clipped. */
clseg_status clseg_draw_text(clseg_image *img, int x, int y, const char *text, int scale,
                             const uint8_t color[3]);
/* Paints, in place, a legend in the top-left corner of an overlay: one row per class present in the
 * mask (the image's width * height classes) other than 0, which overlays leave untinted, in class
 * order: a square of its palette colour (NULL: the default palette) and its name: names[k] when k <
 * nnames and names[k] is not NULL, else "class k". White text on a darkened panel; scale 0 picks
 * 1 + (shorter side) / 400, at most 4. When the rows do not all fit the image's height, the last
 * one that fits says "+N more"; names are cut at 32 characters. */
clseg_status clseg_draw_legend(clseg_image *img, const uint8_t *mask, const uint8_t *palette,
                               const char *const *names, int nnames, int scale);

/* ---- PNG writers: each writes a temporary file in the same folder and renames it on success, so a
 * failure leaves neither a partial file nor the temporary one; CLSEG_IO names the path and the
 * reason. ---- */

/* An 8-bit palette PNG whose indices are the classes; palette: 256 * 3 bytes, NULL for the default.
 */
clseg_status clseg_png_write_mask(const char *path, const uint8_t *classes, int w, int h,
                                  const uint8_t *palette);
clseg_status clseg_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h);
/* A 16-bit gray PNG, e.g. probabilities scaled by 65535. */
clseg_status clseg_png_write_gray16(const char *path, const uint16_t *data, int w, int h);
/* Reads a gray PNG at full precision (8-bit values are scaled by 257); *data is released with
 * free(). */
clseg_status clseg_png_read_gray16(const char *path, uint16_t **data, int *w, int *h);

/* ---- .npy arrays ---- */

#define CLSEG_NPY_MAX_DIMS 8

typedef struct {
  int ndim;                          /* 0 for a scalar */
  int64_t shape[CLSEG_NPY_MAX_DIMS]; /* outermost first */
  size_t count;                      /* product of the shape */
  float *data;                       /* C order */
} clseg_array;

/* Reads format versions 1.0-3.0 with dtype '<f4', '<f8' or '<f2' (converted to float32) in C order;
 * other dtypes, big-endian data and Fortran order are CLSEG_UNSUPPORTED, malformed headers
 * CLSEG_FORMAT. */
clseg_status clseg_npy_read(const char *path, clseg_array *out);
clseg_status clseg_npy_read_memory(const void *data, size_t size, const char *name,
                                   clseg_array *out);
void clseg_array_free(clseg_array *a);
/* Writes a format 1.0 '<f4' C-order file, atomically as the PNG writers. shape may be NULL when
 * ndim is 0. */
clseg_status clseg_npy_write(const char *path, const float *data, const int64_t *shape, int ndim);

/* ---- segmentation metrics ---- */

typedef struct clseg_confusion clseg_confusion;

/* classes: 1..256; ignore: a truth label whose pixels are skipped, or -1 for none. */
clseg_status clseg_confusion_create(int classes, int ignore, clseg_confusion **out);
void clseg_confusion_free(clseg_confusion *c);
/* Counts one (prediction, truth) pair of label images. The sizes must match (CLSEG_SHAPE_MISMATCH);
 * a label
 * >= classes (other than an ignored truth pixel) is CLSEG_INVALID_ARGUMENT and nothing is counted.
 */
clseg_status clseg_confusion_add(clseg_confusion *c, const uint8_t *pred, int pred_w, int pred_h,
                                 const uint8_t *truth, int truth_w, int truth_h);
/* classes x classes counts, row = truth class, column = predicted class. */
const uint64_t *clseg_confusion_counts(const clseg_confusion *c);

/* Per class k, with TP, FP, FN from the confusion matrix:
 *   IoU = TP / (TP + FP + FN), Dice = 2 TP / (2 TP + FP + FN), precision = TP / (TP + FP),
 *   recall = TP / (TP + FN), F-beta = (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP) (b = 1 gives
 * Dice). A class absent from both prediction and truth (TP + FP + FN = 0), or equal to the ignore
 * label, gets NaN in every per-class array and is left out of the means; for a present class a 0/0
 * (precision of a class never predicted, recall of a class never true) is 0. Means are over present
 * classes (NaN when none). */
typedef struct {
  int classes;
  int present;           /* classes counted in the means */
  uint64_t pixels;       /* pixels counted (truth not ignored) */
  double pixel_accuracy; /* correct / pixels; NaN when no pixel was counted */
  double mean_iou, mean_dice, mean_fbeta, mean_precision, mean_recall;
  double *iou, *dice, *fbeta, *precision, *recall; /* `classes` values each */
} clseg_metrics;

/* beta >= 0 (0 gives precision). */
clseg_status clseg_confusion_metrics(const clseg_confusion *c, double beta, clseg_metrics *out);
void clseg_metrics_free(clseg_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
