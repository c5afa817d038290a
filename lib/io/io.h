/* Internal declarations shared by the lib/io/ files: whole-file reads, atomic (temp + rename)
 * writes, and the decoders that image.c dispatches to. Names are clseg__ and never part of the
 * public API. */
#ifndef CLSEG_IO_INTERNAL_H
#define CLSEG_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clseg_io.h"
#include "file.h"

/* The pixel limit the decoders enforce; the fuzz build lowers it to keep allocations small. */
#ifndef CLSEG__MAX_PIXELS
#define CLSEG__MAX_PIXELS CLSEG_IMAGE_MAX_PIXELS
#endif

/* Image and array files larger than this are refused before reading: none we handle comes near. */
#define CLSEG__IO_MAX_FILE ((size_t)1 << 31)

/* Reads a whole file of at most max bytes (0: no limit) with lib/file.h, recording the failure for
 * clseg_last_error: the one adapter from file.c's quiet reader to the error slot, for images,
 * arrays and models (CLSEG__IO_MAX_FILE for images and arrays). */
clseg_status clseg__io_read_file(const char *path, size_t max, uint8_t **data, size_t *size);

/* Atomic, synced writes of image and array files through lib/file.h's writer, recording a failure
 * (CLSEG_IO naming the path) for clseg_last_error; clseg__file_write_abort drops a write. */
clseg_status clseg__io_write_open(clseg__file_writer *w, const char *path);
clseg_status clseg__io_write_commit(clseg__file_writer *w);

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
