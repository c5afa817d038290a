/* libFuzzer target for the file readers of lib/io: each input goes through the PNG/JPEG image
 * reader, the PNG mask and 16-bit readers, and the .npy reader. Every call must return a status
 * without crashing, leaking or reading out of bounds; results are checked for consistency. Build
 * and run: fuzz/README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_io.h"
#include "io/io.h"

static void check_image(clseg_status st, const clseg_image *img) {
  if (st != CLSEG_OK)
    return;
  /* A successful decode must describe its buffer exactly: touch every byte so ASan checks the size.
   */
  size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += img->data[i];
  if (img->width <= 0 || img->height <= 0 || img->channels < 1 || img->channels > 4)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  clseg_image img = {0};
  check_image(clseg_image_read_memory(data, size, "fuzz", &img), &img);
  clseg_image_free(&img);
  if (clseg__is_png(data, size)) {
    check_image(clseg__png_decode(data, size, "fuzz", CLSEG__PNG_MASK, &img), &img);
    clseg_image_free(&img);
    clseg_status st = clseg__png_decode(data, size, "fuzz", CLSEG__PNG_GRAY16, &img);
    if (st == CLSEG_OK && img.bit_depth == 16) { /* two bytes per pixel */
      volatile uint8_t last = img.data[(size_t)img.width * (size_t)img.height * 2 - 1];
      (void)last;
    }
    clseg_image_free(&img);
  }
  clseg_array a = {0};
  if (clseg_npy_read_memory(data, size, "fuzz", &a) == CLSEG_OK && a.count) {
    volatile float last = a.data[a.count - 1];
    (void)last;
  }
  clseg_array_free(&a);
  return 0;
}
