/* Images on the host: size limits, channel conversion, resize of images, masks and probability
 * maps, the class palette and overlays. Reading files is image_read.c's (it calls the decoders,
 * which build on this file). */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io/io.h"

clseg_status clseg__check_size(const char *what, int64_t w, int64_t h) {
  if (w <= 0 || h <= 0)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "'%s': image size %" PRId64 "x%" PRId64 " is empty", what, w, h);
  if (w > INT_MAX || h > INT_MAX || w * h > CLSEG__MAX_PIXELS)
    return clseg__fail(NULL, CLSEG_UNSUPPORTED,
                       "'%s': image size %" PRId64 "x%" PRId64 " is over the limit of %" PRId64
                       " pixels",
                       what, w, h, (int64_t)CLSEG__MAX_PIXELS);
  return CLSEG_OK;
}

void clseg_image_free(clseg_image *img) {
  if (!img)
    return;
  free(img->data);
  *img = (clseg_image){0};
}

static clseg_status check_image(const char *what, const clseg_image *img) {
  if (!img || !img->data || img->channels < 1 || img->channels > 4)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: no image, or channels not 1..4", what);
  return clseg__check_size(what, img->width, img->height);
}

static clseg_status alloc_image(const char *what, int w, int h, int ch, int depth,
                                clseg_image *out) {
  clseg_image img = {.width = w, .height = h, .channels = ch, .bit_depth = depth};
  if (!(img.data = malloc((size_t)w * (size_t)h * (size_t)ch)))
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: no memory for a %dx%d image", what, w, h);
  *out = img;
  return CLSEG_OK;
}

clseg_status clseg_image_to_rgb(const clseg_image *in, clseg_image *out) {
  clseg_status st = check_image("image_to_rgb", in);
  clseg_image img;
  if (st != CLSEG_OK || !out ||
      (st = alloc_image("image_to_rgb", in->width, in->height, 3, in->bit_depth, &img)) != CLSEG_OK)
    return st != CLSEG_OK ? st
                          : clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "image_to_rgb: NULL output");
  size_t n = (size_t)in->width * (size_t)in->height;
  int ch = in->channels, gray = ch < 3;
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      img.data[3 * i + c] = in->data[i * ch + (gray ? 0 : c)];
  *out = img;
  return CLSEG_OK;
}

/* ---- resize ---- */

/* One axis tap of the half-pixel bilinear rule, computed in float as PyTorch and cl/resize.cl do.
 */
typedef struct {
  int i0, i1;
  float l1;
} tap;

static tap linear_tap(int dst, int in, int out) {
  float s = (float)in / (float)out;
  float src = fmaxf(s * ((float)dst + 0.5f) - 0.5f, 0.0f);
  tap t = {.i0 = (int)src < in - 1 ? (int)src : in - 1};
  t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
  t.l1 = src - (float)t.i0;
  return t;
}

static tap *make_taps(int in, int out) {
  tap *t = malloc(sizeof *t * (size_t)out);
  for (int i = 0; t && i < out; i++)
    t[i] = linear_tap(i, in, out);
  return t;
}

/* Bilinear over an interleaved 8-bit image, one float per output sample (channel ch of pixel). */
static float sample_u8(const clseg_image *in, const tap *ty, const tap *tx, int c) {
  size_t ch = (size_t)in->channels, w = (size_t)in->width;
  const uint8_t *r0 = in->data + (size_t)ty->i0 * w * ch, *r1 = in->data + (size_t)ty->i1 * w * ch;
  float top = (1.0f - tx->l1) * r0[tx->i0 * ch + c] + tx->l1 * r0[tx->i1 * ch + c];
  float bot = (1.0f - tx->l1) * r1[tx->i0 * ch + c] + tx->l1 * r1[tx->i1 * ch + c];
  return (1.0f - ty->l1) * top + ty->l1 * bot;
}

clseg_status clseg_image_resize(const clseg_image *in, int width, int height, clseg_image *out) {
  clseg_status st = check_image("image_resize", in);
  if (st != CLSEG_OK || (st = clseg__check_size("image_resize output", width, height)) != CLSEG_OK)
    return st;
  clseg_image img;
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "image_resize: NULL output");
  if ((st = alloc_image("image_resize", width, height, in->channels, in->bit_depth, &img)) !=
      CLSEG_OK)
    return st;
  tap *tx = make_taps(in->width, width), *ty = make_taps(in->height, height);
  if (!tx || !ty) {
    free(tx);
    free(ty);
    clseg_image_free(&img);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "image_resize: no memory");
  }
  size_t k = 0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < in->channels; c++)
        img.data[k++] =
            (uint8_t)(sample_u8(in, &ty[y], &tx[x], c) + 0.5f); /* a convex mix: in [0, 255] */
  free(tx);
  free(ty);
  *out = img;
  return CLSEG_OK;
}

clseg_status clseg_image_to_tensor_data(const clseg_image *rgb, const clseg_tensor_params *p,
                                        float *out) {
  clseg_status st = check_image("image_to_tensor_data", rgb);
  if (st != CLSEG_OK)
    return st;
  if (rgb->channels != 3 || !out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "image_to_tensor_data: needs a 3-channel image (has %d; "
                       "use clseg_image_to_rgb) and an output buffer",
                       rgb->channels);
  clseg_tensor_params q = p ? *p : (clseg_tensor_params){0};
  int W = q.width ? q.width : rgb->width, H = q.height ? q.height : rgb->height;
  if ((st = clseg__check_size("image_to_tensor_data output", W, H)) != CLSEG_OK)
    return st;
  tap *tx = make_taps(rgb->width, W), *ty = make_taps(rgb->height, H);
  if (!tx || !ty) {
    free(tx);
    free(ty);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "image_to_tensor_data: no memory");
  }
  for (int c = 0; c < 3; c++) {
    float sd = q.std[c] != 0.0f ? q.std[c] : 1.0f;
    float *plane = out + (size_t)c * (size_t)W * (size_t)H;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        plane[(size_t)y * W + x] = (sample_u8(rgb, &ty[y], &tx[x], c) / 255.0f - q.mean[c]) / sd;
  }
  free(tx);
  free(ty);
  return CLSEG_OK;
}

clseg_status clseg_resize_probs_bilinear(const float *in, int c, int h, int w, int out_w, int out_h,
                                         float *out) {
  clseg_status st = clseg__check_size("resize_probs_bilinear input", w, h);
  if (st != CLSEG_OK ||
      (st = clseg__check_size("resize_probs_bilinear output", out_w, out_h)) != CLSEG_OK)
    return st;
  if (!in || !out || c < 1)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "resize_probs_bilinear: NULL data or %d channels", c);
  tap *tx = make_taps(w, out_w), *ty = make_taps(h, out_h);
  if (!tx || !ty) {
    free(tx);
    free(ty);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "resize_probs_bilinear: no memory");
  }
  for (int k = 0; k < c; k++) {
    const float *src = in + (size_t)k * (size_t)w * (size_t)h;
    float *dst = out + (size_t)k * (size_t)out_w * (size_t)out_h;
    for (int y = 0; y < out_h; y++) {
      const float *r0 = src + (size_t)ty[y].i0 * w, *r1 = src + (size_t)ty[y].i1 * w;
      float l1 = ty[y].l1;
      for (int x = 0; x < out_w; x++) { /* same operation order as cl/resize.cl */
        const tap *t = &tx[x];
        float top = (1.0f - t->l1) * r0[t->i0] + t->l1 * r0[t->i1];
        float bot = (1.0f - t->l1) * r1[t->i0] + t->l1 * r1[t->i1];
        dst[(size_t)y * out_w + x] = (1.0f - l1) * top + l1 * bot;
      }
    }
  }
  free(tx);
  free(ty);
  return CLSEG_OK;
}

static int nearest_src(int dst, int in, int out) {
  int i = (int)floorf((float)dst * ((float)in / (float)out));
  return i < in - 1 ? i : in - 1;
}

clseg_status clseg_resize_mask_nearest(const uint8_t *in, int w, int h, int out_w, int out_h,
                                       uint8_t *out) {
  clseg_status st = clseg__check_size("resize_mask_nearest input", w, h);
  if (st != CLSEG_OK ||
      (st = clseg__check_size("resize_mask_nearest output", out_w, out_h)) != CLSEG_OK)
    return st;
  if (!in || !out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "resize_mask_nearest: NULL data");
  for (int y = 0; y < out_h; y++) {
    const uint8_t *row = in + (size_t)nearest_src(y, h, out_h) * w;
    for (int x = 0; x < out_w; x++)
      out[(size_t)y * out_w + x] = row[nearest_src(x, w, out_w)];
  }
  return CLSEG_OK;
}

/* ---- colours ---- */

void clseg_palette_default(uint8_t palette[256 * 3]) {
  for (int i = 0; i < 256; i++) {
    int r = 0, g = 0, b = 0;
    for (int j = 0, c = i; j < 8;
         j++, c >>= 3) { /* bit 3j+k of the class goes to bit 7-j of channel k */
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    palette[3 * i] = (uint8_t)r;
    palette[3 * i + 1] = (uint8_t)g;
    palette[3 * i + 2] = (uint8_t)b;
  }
}

clseg_status clseg_overlay(const clseg_image *rgb, const uint8_t *mask, int mask_w, int mask_h,
                           const uint8_t *palette, float alpha, clseg_image *out) {
  clseg_status st = check_image("overlay", rgb);
  if (st != CLSEG_OK)
    return st;
  if (rgb->channels != 3 || !mask || !out || !(alpha >= 0.0f && alpha <= 1.0f))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "overlay: needs a 3-channel image (has %d), a mask, an "
                       "output and alpha in [0, 1] (is %g)",
                       rgb->channels, (double)alpha);
  if (mask_w != rgb->width || mask_h != rgb->height)
    return clseg__fail(NULL, CLSEG_SHAPE_MISMATCH, "overlay: mask is %dx%d, image is %dx%d", mask_w,
                       mask_h, rgb->width, rgb->height);
  uint8_t def[256 * 3];
  if (!palette) {
    clseg_palette_default(def);
    palette = def;
  }
  clseg_image img;
  if ((st = alloc_image("overlay", rgb->width, rgb->height, 3, rgb->bit_depth, &img)) != CLSEG_OK)
    return st;
  size_t n = (size_t)rgb->width * (size_t)rgb->height;
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 3; c++) {
      float v = rgb->data[3 * i + c];
      if (mask[i])
        v = (1.0f - alpha) * v + alpha * palette[3 * mask[i] + c];
      img.data[3 * i + c] = (uint8_t)(v + 0.5f); /* round half up */
    }
  *out = img;
  return CLSEG_OK;
}
