/* Reading images: the format told by its magic bytes (PNG, JPEG), the file handed to its decoder;
 * class masks from PNG only. */
#include <stdlib.h>

#include "internal.h"
#include "io/io.h"

clseg_status clseg_image_read_memory(const void *data, size_t size, const char *name,
                                     clseg_image *out) {
  if (!data || !out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "image_read: NULL argument");
  name = name ? name : "(memory)";
  if (clseg__is_png(data, size))
    return clseg__png_decode(data, size, name, CLSEG__PNG_IMAGE, out);
  if (clseg__is_jpeg(data, size))
    return clseg__jpeg_decode(data, size, name, out);
  return clseg__fail(NULL, CLSEG_FORMAT,
                     "'%s': not a PNG or JPEG file (%zu bytes, unknown signature)", name, size);
}

clseg_status clseg_image_read(const char *path, clseg_image *out) {
  uint8_t *buf = NULL;
  size_t size = 0;
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "image_read: NULL output");
  clseg_status st = clseg__io_read_file(path, CLSEG__IO_MAX_FILE, &buf, &size);
  if (st == CLSEG_OK)
    st = clseg_image_read_memory(buf, size, path, out);
  free(buf);
  return st;
}

clseg_status clseg_mask_read(const char *path, clseg_image *out) {
  uint8_t *buf = NULL;
  size_t size = 0;
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "mask_read: NULL output");
  clseg_status st = clseg__io_read_file(path, CLSEG__IO_MAX_FILE, &buf, &size);
  if (st != CLSEG_OK)
    return st;
  if (clseg__is_png(buf, size))
    st = clseg__png_decode(buf, size, path, CLSEG__PNG_MASK, out);
  else if (clseg__is_jpeg(buf, size))
    st = clseg__fail(NULL, CLSEG_UNSUPPORTED,
                     "'%s': a JPEG cannot be a class mask (lossy); use PNG", path);
  else
    st = clseg__fail(NULL, CLSEG_FORMAT, "'%s': not a PNG file (unknown signature)", path);
  free(buf);
  return st;
}
