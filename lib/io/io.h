/* Internal declarations shared by the lib/io/ files: whole-file reads, atomic (temp + rename)
 * writes, and the decoders that image.c dispatches to. Names are clseg__ and never part of the
 * public API. */
#ifndef CLSEG_IO_INTERNAL_H
#define CLSEG_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clseg_io.h"

/* The pixel limit the decoders enforce; the fuzz build lowers it to keep allocations small. */
#ifndef CLSEG__MAX_PIXELS
#define CLSEG__MAX_PIXELS CLSEG_IMAGE_MAX_PIXELS
#endif

/* Image and array files larger than this are refused before reading: none we handle comes near. */
#define CLSEG__IO_MAX_FILE ((size_t)1 << 31)

/* Reads a whole image or array file (lib/file.h), recording the failure for clseg_last_error. */
clseg_status clseg__io_read_file(const char *path, uint8_t **data, size_t *size);

/* A file being written under a temporary name next to its final path. */
typedef struct {
  FILE *f;
  char *tmp;
  const char *path;
} clseg__wfile;

/* Creates the temporary file (mode 0666 less the umask); CLSEG_IO naming path on failure. */
clseg_status clseg__wfile_open(clseg__wfile *w, const char *path);
/* Flushes, syncs, closes and renames to the final path; on any failure removes the temporary file
 * and returns CLSEG_IO naming the path. */
clseg_status clseg__wfile_commit(clseg__wfile *w);
/* Closes and removes the temporary file; safe to call twice or after a commit. */
void clseg__wfile_abort(clseg__wfile *w);

/* What the PNG decoder produces. */
typedef enum {
  CLSEG__PNG_IMAGE,  /* 8-bit gray, gray+alpha, RGB or RGBA (palette and tRNS expanded) */
  CLSEG__PNG_MASK,   /* one byte per pixel: palette indices or gray values of at most 8 bits */
  CLSEG__PNG_GRAY16, /* two bytes per pixel, native endian uint16; gray only */
} clseg__png_mode;

int clseg__is_png(const uint8_t *data, size_t size);
int clseg__is_jpeg(const uint8_t *data, size_t size);

/* Decodes into out (data malloc'd); for GRAY16, out->data holds w * h uint16 and channels is 1. */
clseg_status clseg__png_decode(const uint8_t *data, size_t size, const char *name,
                               clseg__png_mode mode, clseg_image *out);
clseg_status clseg__jpeg_decode(const uint8_t *data, size_t size, const char *name,
                                clseg_image *out);

/* Checks w, h > 0 and w * h <= CLSEG__MAX_PIXELS; records the error naming what. */
clseg_status clseg__check_size(const char *what, int64_t w, int64_t h);

#endif
