/* JPEG reading through libjpeg(-turbo). Its fatal errors, and the warnings that mean corrupt or
 * truncated data, longjmp back here with the message recorded; libjpeg never prints and never
 * exits. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "internal.h"
#include "io/io.h"

/* More scans than any real progressive file has: a bound on crafted files that would decode for
 * minutes. */
#define MAX_SCANS 500

/* The error manager first, so libjpeg's err pointer is also ours. */
typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX + 32];
} jpeg_err;

/* Every resource of a decode, released by one function whatever point the decode reached. */
typedef struct {
  struct jpeg_decompress_struct cinfo;
  jpeg_err err;
  struct jpeg_progress_mgr progress;
  uint8_t *pixels;
  int created;
} jpeg_dec;

int clseg__is_jpeg(const uint8_t *data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 &&
         data[2] == 0xFF; /* SOI, then a marker */
}

static void on_error_exit(j_common_ptr cinfo) {
  jpeg_err *e = (jpeg_err *)(void *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}

/* Without truncation and bad entropy data as errors, a damaged file would decode "successfully" as
 * a grey-smeared image. Other warnings (odd but harmless markers) are ignored. */
static void on_message(j_common_ptr cinfo, int level) {
  int code = cinfo->err->msg_code;
  if (level >= 0)
    return;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
      code == JWRN_MUST_RESYNC || code == JWRN_NOT_SEQUENTIAL)
    on_error_exit(cinfo);
}

static void on_output(j_common_ptr cinfo) {
  (void)cinfo; /* the library never prints */
}

static void on_progress(j_common_ptr cinfo) {
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  if (d->is_decompressor && d->input_scan_number > MAX_SCANS) {
    jpeg_err *e = (jpeg_err *)(void *)cinfo->err;
    snprintf(e->msg, sizeof e->msg, "more than %d scans", MAX_SCANS);
    longjmp(e->jump, 1);
  }
}

/* Picks the output colour space; 0 when the file's is one we do not convert. */
static int output_channels(struct jpeg_decompress_struct *c) {
  switch (c->jpeg_color_space) {
  case JCS_GRAYSCALE: c->out_color_space = JCS_GRAYSCALE; return 1;
  case JCS_YCbCr:
  case JCS_RGB: c->out_color_space = JCS_RGB; return 3;
  default: return 0;
  }
}

static const char *space_name(J_COLOR_SPACE s) {
  return s == JCS_CMYK ? "CMYK" : s == JCS_YCCK ? "YCCK" : "an unknown colour space";
}

/* Returns nonzero after a libjpeg error (message in d->err.msg); else *st says how it went. */
static int run_decode(jpeg_dec *d, const uint8_t *data, size_t size, const char *name,
                      clseg_image *img, clseg_status *st) {
  struct jpeg_decompress_struct *c = &d->cinfo;
  if (setjmp(d->err.jump))
    return 1;
  jpeg_create_decompress(c);
  d->created = 1;
  c->progress = &d->progress;
  jpeg_mem_src(c, data, (unsigned long)size);
  jpeg_read_header(c, TRUE);
  int ch = output_channels(c);
  if (!ch) {
    *st = clseg__fail(NULL, CLSEG_UNSUPPORTED,
                      "'%s': JPEG in %s (%d components) is not supported; convert it "
                      "to RGB",
                      name, space_name(c->jpeg_color_space), c->num_components);
    return 0;
  }
  if ((*st = clseg__check_size(name, c->image_width, c->image_height)) != CLSEG_OK)
    return 0;
  jpeg_start_decompress(c);
  size_t row = (size_t)c->output_width * (size_t)ch;
  if (c->output_components != ch || !(d->pixels = malloc(row * c->output_height))) {
    *st = clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': no memory for a %ux%u image", name,
                      c->output_width, c->output_height);
    return 0;
  }
  while (c->output_scanline < c->output_height) {
    JSAMPROW r = d->pixels + row * c->output_scanline;
    jpeg_read_scanlines(c, &r, 1);
  }
  jpeg_finish_decompress(c);
  *img = (clseg_image){.width = (int)c->output_width,
                       .height = (int)c->output_height,
                       .channels = ch,
                       .bit_depth = c->data_precision};
  *st = CLSEG_OK;
  return 0;
}

clseg_status clseg__jpeg_decode(const uint8_t *data, size_t size, const char *name,
                                clseg_image *out) {
  jpeg_dec *d = calloc(1, sizeof *d); /* jmp_buf and the decoder struct are big for a stack frame */
  if (!d)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': cannot create the JPEG decoder", name);
  d->cinfo.err = jpeg_std_error(&d->err.mgr);
  d->err.mgr.error_exit = on_error_exit;
  d->err.mgr.emit_message = on_message;
  d->err.mgr.output_message = on_output;
  d->progress.progress_monitor = on_progress;
  clseg_image img = {0};
  clseg_status st = CLSEG_INTERNAL;
  if (run_decode(d, data, size, name, &img, &st)) {
    st = clseg__fail(NULL, CLSEG_FORMAT, "'%s': corrupt JPEG: %s", name, d->err.msg);
  } else if (st == CLSEG_OK) {
    img.data = d->pixels;
    d->pixels = NULL;
    *out = img;
  }
  if (d->created)
    jpeg_destroy_decompress(&d->cinfo);
  free(d->pixels);
  free(d);
  return st;
}
