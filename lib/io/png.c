/* PNG reading and writing through libpng. libpng reports errors by calling our handler, which
 * records the message and longjmps back into the function that called setjmp; nothing is printed
 * and nothing exits. */
#include <errno.h>
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io/io.h"

/* Shared by the error handler and the reader: the longjmp target lives in libpng's struct. */
typedef struct {
  const uint8_t *data;
  size_t size, pos;
  char msg[256];
  int write_errno; /* set when a write failed, so the failure is reported as CLSEG_IO */
  FILE *out;
} png_io;

/* Every resource of a decode, released by one function whatever point the decode reached. */
typedef struct {
  png_structp png;
  png_infop info;
  png_io io;
  uint8_t *pixels;
  png_bytep *rows;
} png_dec;

int clseg__is_png(const uint8_t *data, size_t size) {
  return size >= 8 && png_sig_cmp((png_const_bytep)data, 0, 8) == 0;
}

static void on_error(png_structp png, png_const_charp msg) {
  png_io *io = png_get_error_ptr(png);
  if (!io->msg[0]) /* keep the first, most specific message */
    snprintf(io->msg, sizeof io->msg, "%s", msg);
  png_longjmp(png, 1);
}

/* Warnings (bad ancillary chunks, which libpng skips) do not make the image unusable. */
static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void read_mem(png_structp png, png_bytep buf, png_size_t len) {
  png_io *io = png_get_io_ptr(png);
  if (len > io->size - io->pos) {
    snprintf(io->msg, sizeof io->msg, "unexpected end of file at byte %zu (truncated)", io->size);
    png_longjmp(png, 1);
  }
  memcpy(buf, io->data + io->pos, len);
  io->pos += len;
}

/* Sets the transforms for mode; returns the output channel count, or 0 when mode does not accept
 * the type. */
static int set_transforms(png_structp png, png_infop info, clseg__png_mode mode) {
  int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  int trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  png_set_interlace_handling(png);
  if (mode == CLSEG__PNG_MASK) {
    if (depth > 8 || (type != PNG_COLOR_TYPE_PALETTE && type != PNG_COLOR_TYPE_GRAY))
      return 0;
    png_set_packing(png); /* 1/2/4-bit indices to one byte each, values unscaled */
    return 1;
  }
  if (mode == CLSEG__PNG_GRAY16) {
    if (type != PNG_COLOR_TYPE_GRAY)
      return 0;
    if (depth < 8)
      png_set_expand_gray_1_2_4_to_8(png);
    return 1;
  }
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (trns)
    png_set_tRNS_to_alpha(png);
  if (depth == 16)
    png_set_scale_16(png); /* rounds v * 255 / 65535; png_set_strip_16 would truncate */
  int ch = (type & PNG_COLOR_MASK_COLOR) ? 3 : 1;
  return ch + ((type & PNG_COLOR_MASK_ALPHA) || trns ? 1 : 0);
}

/* Runs libpng up to the decoded pixels; returns nonzero after a libpng error (message in
 * d->io.msg). */
static int run_decode(png_dec *d, size_t size, const char *name, clseg__png_mode mode,
                      clseg_image *img, clseg_status *st) {
  if (setjmp(png_jmpbuf(d->png)))
    return 1;
  png_set_read_fn(d->png, &d->io, read_mem);
  png_read_info(d->png, d->info);
  png_uint_32 w = png_get_image_width(d->png, d->info), h = png_get_image_height(d->png, d->info);
  if ((*st = clseg__check_size(name, w, h)) != CLSEG_OK)
    return 0;
  /* Deflate expands at most 1032:1, so a header claiming more pixels than the data could hold is a
   * truncated or forged file: refused before allocating what it claims. */
  size_t raw = ((size_t)png_get_rowbytes(d->png, d->info) + 1) * h;
  if (raw / 1032 > size) {
    *st = clseg__fail(NULL, CLSEG_FORMAT,
                      "'%s': corrupt PNG: %ux%u pixels cannot fit in %zu bytes (truncated?)", name,
                      w, h, size);
    return 0;
  }
  int depth = png_get_bit_depth(d->png, d->info);
  int ch = set_transforms(d->png, d->info, mode);
  if (!ch) {
    *st = clseg__fail(NULL, CLSEG_UNSUPPORTED, "'%s': a %d-bit PNG of colour type %d is not a %s",
                      name, depth, png_get_color_type(d->png, d->info),
                      mode == CLSEG__PNG_MASK ? "class mask (palette or gray of at most 8 bits)"
                                              : "gray PNG");
    return 0;
  }
  png_read_update_info(d->png, d->info);
  size_t row = (size_t)w * (size_t)ch * (mode == CLSEG__PNG_GRAY16 && depth == 16 ? 2 : 1);
  if (png_get_rowbytes(d->png, d->info) != row) {
    *st = clseg__fail(NULL, CLSEG_INTERNAL, "'%s': libpng row size %zu, expected %zu", name,
                      (size_t)png_get_rowbytes(d->png, d->info), row);
    return 0;
  }
  d->pixels = malloc(row * h);
  d->rows = malloc(sizeof(png_bytep) * h);
  if (!d->pixels || !d->rows) {
    *st = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': no memory for a %ux%u image", name, w, h);
    return 0;
  }
  for (png_uint_32 y = 0; y < h; y++)
    d->rows[y] = d->pixels + row * y;
  png_read_image(d->png, d->rows);
  png_read_end(d->png, NULL); /* checks the remaining chunks and their CRCs: catches truncation */
  *img = (clseg_image){.width = (int)w, .height = (int)h, .channels = ch, .bit_depth = depth};
  *st = CLSEG_OK;
  return 0;
}

/* PNG stores 16-bit samples big-endian; the public buffer is native uint16. */
static void gray16_to_native(uint8_t *p, size_t count) {
  for (size_t i = 0; i < count; i++) {
    uint16_t v = (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
    memcpy(p + 2 * i, &v, 2);
  }
}

clseg_status clseg__png_decode(const uint8_t *data, size_t size, const char *name,
                               clseg__png_mode mode, clseg_image *out) {
  png_dec d = {.io = {.data = data, .size = size}};
  clseg_image img = {0};
  clseg_status st = CLSEG_INTERNAL;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d.io, on_error, on_warning);
  d.info = d.png ? png_create_info_struct(d.png) : NULL;
  if (!d.info) {
    st = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': cannot create the PNG decoder", name);
  } else if (run_decode(&d, size, name, mode, &img, &st)) {
    st = clseg__fail(NULL, CLSEG_FORMAT, "'%s': corrupt PNG: %s", name, d.io.msg);
  } else if (st == CLSEG_OK) {
    if (mode == CLSEG__PNG_GRAY16 && img.bit_depth == 16)
      gray16_to_native(d.pixels, (size_t)img.width * (size_t)img.height);
    img.data = d.pixels;
    d.pixels = NULL;
    *out = img;
  }
  png_destroy_read_struct(&d.png, d.info ? &d.info : NULL, NULL);
  free(d.pixels);
  free(d.rows);
  return st;
}

clseg_status clseg_png_read_gray16(const char *path, uint16_t **data, int *w, int *h) {
  if (!path || !data || !w || !h)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "png_read_gray16: NULL argument");
  uint8_t *buf = NULL;
  size_t size = 0;
  clseg_status st = clseg__io_read_file(path, CLSEG__IO_MAX_FILE, &buf, &size);
  if (st != CLSEG_OK)
    return st;
  clseg_image img = {0};
  if (!clseg__is_png(buf, size))
    st = clseg__fail(NULL, CLSEG_FORMAT, "'%s': not a PNG file (bad signature)", path);
  else
    st = clseg__png_decode(buf, size, path, CLSEG__PNG_GRAY16, &img);
  free(buf);
  if (st != CLSEG_OK)
    return st;
  size_t n = (size_t)img.width * (size_t)img.height;
  uint16_t *v = malloc(n * sizeof *v);
  if (!v) {
    clseg_image_free(&img);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': no memory", path);
  }
  if (img.bit_depth == 16)
    memcpy(v, img.data, n * sizeof *v);
  else /* 8-bit values (1/2/4-bit already expanded) to the full 16-bit range */
    for (size_t i = 0; i < n; i++)
      v[i] = (uint16_t)(img.data[i] * 257u);
  *data = v;
  *w = img.width;
  *h = img.height;
  clseg_image_free(&img);
  return CLSEG_OK;
}

/* ---- writing ---- */

static void write_file(png_structp png, png_bytep buf, png_size_t len) {
  png_io *io = png_get_io_ptr(png);
  if (fwrite(buf, 1, len, io->out) != len) {
    io->write_errno = errno ? errno : EIO;
    snprintf(io->msg, sizeof io->msg, "%s", strerror(io->write_errno));
    png_longjmp(png, 1);
  }
}

static void flush_file(png_structp png) {
  (void)png; /* the commit flushes and syncs once at the end */
}

/* What one writer needs: the IHDR fields, the row source and an optional palette. */
typedef struct {
  int w, h, depth, type, bytes_per_row;
  const uint8_t *pixels;
  const uint8_t *palette; /* 256 * 3 bytes, for PNG_COLOR_TYPE_PALETTE */
} png_job;

static int run_encode(png_structp png, png_infop info, const png_job *j) {
  if (setjmp(png_jmpbuf(png)))
    return 1;
  png_set_IHDR(png, info, (png_uint_32)j->w, (png_uint_32)j->h, j->depth, j->type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (j->type == PNG_COLOR_TYPE_PALETTE) {
    png_color pal[256];
    for (int i = 0; i < 256; i++)
      pal[i] = (png_color){j->palette[3 * i], j->palette[3 * i + 1], j->palette[3 * i + 2]};
    png_set_PLTE(png, info, pal, 256); /* all 256: any index a mask holds has a colour */
  }
  if (j->type == PNG_COLOR_TYPE_RGB || j->type == PNG_COLOR_TYPE_RGB_ALPHA) {
    /* Photos and overlays: the Sub filter on every row and zlib's run-length strategy instead of
     * level 6 with libpng's per-row choice among five filters: the sample overlays encode in
     * 26-35 ms instead of 120 (astronaut, 512x512) and 11 instead of 89 (coffee), files 4-11%
     * larger. */
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, Z_RLE);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  }
  png_write_info(png, info);
  const uint16_t one = 1;
  if (j->depth == 16 && *(const uint8_t *)&one)
    png_set_swap(png); /* PNG is big-endian; our rows are native uint16 */
  for (int y = 0; y < j->h; y++)
    png_write_row(png, (png_const_bytep)(j->pixels + (size_t)j->bytes_per_row * (size_t)y));
  png_write_end(png, info);
  return 0;
}

static clseg_status write_png(const char *path, const png_job *j) {
  if (!path || !j->pixels)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "png write: NULL path or data");
  clseg_status st = clseg__check_size(path, j->w, j->h);
  if (st != CLSEG_OK)
    return st;
  clseg__file_writer wf = {0};
  if ((st = clseg__io_write_open(&wf, path)) != CLSEG_OK)
    return st;
  png_io io = {.out = wf.f};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    st = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': cannot create the PNG encoder", path);
  } else {
    png_set_write_fn(png, &io, write_file, flush_file);
    if (run_encode(png, info, j))
      st = clseg__fail(NULL, CLSEG_IO, "cannot write '%s': %s", path, io.msg);
  }
  png_destroy_write_struct(&png, info ? &info : NULL);
  if (st == CLSEG_OK)
    return clseg__io_write_commit(&wf);
  clseg__file_write_abort(&wf);
  return st;
}

clseg_status clseg_png_write_mask(const char *path, const uint8_t *classes, int w, int h,
                                  const uint8_t *palette) {
  uint8_t def[256 * 3];
  if (!palette) {
    clseg_palette_default(def);
    palette = def;
  }
  png_job j = {w, h, 8, PNG_COLOR_TYPE_PALETTE, w, classes, palette};
  return write_png(path, &j);
}

clseg_status clseg_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h) {
  png_job j = {w, h, 8, PNG_COLOR_TYPE_RGB, 3 * w, rgb, NULL};
  return write_png(path, &j);
}

clseg_status clseg_png_write_gray16(const char *path, const uint16_t *data, int w, int h) {
  png_job j = {w, h, 16, PNG_COLOR_TYPE_GRAY, 2 * w, (const uint8_t *)data, NULL};
  return write_png(path, &j);
}
