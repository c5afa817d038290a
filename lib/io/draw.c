/* Drawing on RGB images for readable overlays (include/clseg_io.h): the outline of a mask's
 * regions and a skeleton of points joined by bones. */
#include <math.h>
#include <stdlib.h>

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
