/* Drawing on RGB images for readable overlays (include/clseg_io.h): the outline of a mask's
 * regions, a skeleton of points joined by bones, and a legend of class colours and names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_io.h"
#include "internal.h"

static int is_rgb(const clseg_image *img) {
  return img && img->data && img->channels == 3 && img->width > 0 && img->height > 0;
}

static void put(clseg_image *img, int x, int y, const uint8_t color[3]) {
  if (x < 0 || y < 0 || x >= img->width || y >= img->height)
    return;
  uint8_t *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
  p[0] = color[0], p[1] = color[1], p[2] = color[2];
}

/* A filled disc of radius r (r 0: one pixel). */
static void dot(clseg_image *img, int x, int y, int r, const uint8_t color[3]) {
  for (int dy = -r; dy <= r; dy++)
    for (int dx = -r; dx <= r; dx++)
      if (dx * dx + dy * dy <= r * r)
        put(img, x + dx, y + dy, color);
}

clseg_status clseg_draw_outline(clseg_image *img, const uint8_t *mask, int thickness,
                                const uint8_t color[3]) {
  if (!is_rgb(img) || !mask || !color || thickness < 1 || thickness > 64)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "draw_outline: needs an RGB image, a mask of its size, a colour and a "
                       "thickness from 1 to 64 (is %d)",
                       thickness);
  const int w = img->width, h = img->height;
  /* a pixel is on the outline when its class differs from a 4-neighbour's: the boundary pixels
   * of both sides, so the line sits on the edge; thickness widens it around them */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t c = mask[(size_t)y * (size_t)w + (size_t)x];
      const int edge = (x + 1 < w && mask[(size_t)y * (size_t)w + (size_t)x + 1] != c) ||
                       (y + 1 < h && mask[(size_t)(y + 1) * (size_t)w + (size_t)x] != c);
      if (edge)
        dot(img, x, y, (thickness - 1) / 2, color);
    }
  return CLSEG_OK;
}

clseg_status clseg_draw_skeleton(clseg_image *img, const float (*points)[2],
                                 const float *visibility, int npoints, const int (*bones)[2],
                                 int nbones, float min_visibility, int thickness,
                                 const uint8_t color[3]) {
  if (!is_rgb(img) || !points || npoints < 0 || nbones < 0 || (nbones && !bones) || !color ||
      thickness < 1 || thickness > 64)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "draw_skeleton: needs an RGB image, points, bones, a colour and a "
                       "thickness from 1 to 64 (is %d)",
                       thickness);
  const int r = (thickness - 1) / 2;
  for (int b = 0; b < nbones; b++) {
    const int i = bones[b][0], j = bones[b][1];
    if (i < 0 || j < 0 || i >= npoints || j >= npoints)
      return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                         "draw_skeleton: bone %d joins %d and %d of %d points", b, i, j, npoints);
    if (visibility && (visibility[i] < min_visibility || visibility[j] < min_visibility))
      continue;
    /* steps of at most one pixel along the longer axis, rounded to the nearest pixel */
    const double dx = points[j][0] - points[i][0], dy = points[j][1] - points[i][1];
    const int steps = (int)fmin(ceil(fmax(fabs(dx), fabs(dy))), 1 << 16);
    for (int s = 0; s <= steps; s++) {
      const double t = steps ? (double)s / steps : 0.0;
      dot(img, (int)floor(points[i][0] + t * dx), (int)floor(points[i][1] + t * dy), r, color);
    }
  }
  for (int i = 0; i < npoints; i++)
    if (!visibility || visibility[i] >= min_visibility)
      dot(img, (int)floor(points[i][0]), (int)floor(points[i][1]), r + 1, color);
  return CLSEG_OK;
}

/* Darkens a rectangle to a quarter of its brightness, clipped to the image: a panel that keeps a
 * hint of the picture under the legend. */
static void darken(clseg_image *img, int x0, int y0, int x1, int y1) {
  x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
  x1 = x1 > img->width ? img->width : x1, y1 = y1 > img->height ? img->height : y1;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      uint8_t *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
      p[0] /= 4, p[1] /= 4, p[2] /= 4;
    }
}

static void fill(clseg_image *img, int x0, int y0, int x1, int y1, const uint8_t color[3]) {
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      put(img, x, y, color);
}

enum { LEGEND_NAME_MAX = 32 };

/* Row k's label: the name cut to LEGEND_NAME_MAX characters, or "class k". */
static void legend_label(int k, const char *const *names, int nnames, char *out, size_t size) {
  if (k < nnames && names && names[k])
    snprintf(out, size, "%.*s", LEGEND_NAME_MAX, names[k]);
  else
    snprintf(out, size, "class %d", k);
}

clseg_status clseg_draw_legend(clseg_image *img, const uint8_t *mask, const uint8_t *palette,
                               const char *const *names, int nnames, int scale) {
  static const uint8_t white[3] = {255, 255, 255};
  if (!is_rgb(img) || !mask || nnames < 0 || scale < 0 || scale > 16)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "draw_legend: needs an RGB image, a mask of its size and a scale from 0 "
                       "to 16 (is %d)",
                       scale);
  uint8_t def[256 * 3];
  if (!palette) {
    clseg_palette_default(def);
    palette = def;
  }
  int present[256] = {0}, classes = 0;
  for (size_t i = 0; i < (size_t)img->width * (size_t)img->height; i++)
    present[mask[i]] = 1;
  for (int k = 1; k < 256; k++)
    classes += present[k];
  if (!classes)
    return CLSEG_OK;
  /* scale 0: about 2% of the shorter side per line of text, 1 to 4 */
  const int shorter = img->width < img->height ? img->width : img->height;
  const int s = scale ? scale : shorter >= 1200 ? 4 : 1 + shorter / 400;
  /* rows of a swatch as tall as a capital and a gap; the panel holds as many as fit */
  const int pad = 3 * s, box = 7 * s, step = 11 * s, text_x = pad + box + 4 * s;
  int rows = (img->height - 2 * pad + 3 * s) / step;
  rows = rows < 1 ? 1 : rows > classes ? classes : rows;
  const int more = classes - rows + (rows < classes); /* the last row says "+N more" */
  char label[LEGEND_NAME_MAX + 16];
  size_t widest = 0;
  for (int k = 1, r = 0; k < 256 && r < rows; k++)
    if (present[k]) {
      if (more && r == rows - 1)
        snprintf(label, sizeof label, "+%d more", more);
      else
        legend_label(k, names, nnames, label, sizeof label);
      widest = strlen(label) > widest ? strlen(label) : widest;
      r++;
    }
  darken(img, 0, 0, text_x + (int)widest * CLSEG_FONT_ADVANCE * s - s + pad,
         2 * pad + rows * step - 3 * s);
  for (int k = 1, r = 0; k < 256 && r < rows; k++) {
    if (!present[k])
      continue;
    const int y = pad + r * step;
    if (more && r == rows - 1) {
      snprintf(label, sizeof label, "+%d more", more);
    } else {
      legend_label(k, names, nnames, label, sizeof label);
      /* a white frame so that dark class colours stand out from the panel */
      fill(img, pad, y, pad + box, y + box, white);
      fill(img, pad + 1, y + 1, pad + box - 1, y + box - 1, palette + 3 * k);
    }
    clseg_draw_text(img, text_x, y, label, s, white);
    r++;
  }
  return CLSEG_OK;
}
