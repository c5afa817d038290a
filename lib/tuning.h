/* Tuning as data: each kernel family's parameters and variant-choice thresholds are rows of
 * cl/tuning/<family>.tsv (embedded like the kernels), matched to the device by name -> architecture
 * -> vendor -> device type -> default; a user tuning file written by `clseg tune` overrides them
 * per device and per layer shape. Internal (clseg__) API; docs/tuning.md describes the formats. */
#ifndef CLSEG_TUNING_H
#define CLSEG_TUNING_H

#include "internal.h"

#define CLSEG__TUNE_MAX_CELLS 16
#define CLSEG__TUNE_SHAPE_LEN 96

typedef struct {
  char name[24];
  double value;
} clseg__tune_cell;

/* One row. Shipped rows match devices by type / vendor / pattern ("*", a glob of the device name,
 * or "arch:GLOB" of its architecture); user rows by layer shape ("*" for every shape). */
typedef struct {
  char variant[40];
  char type[16], vendor[24], pattern[64];
  char shape[CLSEG__TUNE_SHAPE_LEN];
  clseg__tune_cell cells[CLSEG__TUNE_MAX_CELLS];
  int ncells;
  char source[192]; /* "cl/tuning/conv.tsv:14" or the user file's path:line */
} clseg__tune_row;

/* What rows are matched against: the real device's identity or a profile's (CLSEG_AS_DEVICE). */
typedef struct {
  char type[16];    /* "cpu", "gpu", "accelerator", "other" */
  char vendor[24];  /* "nvidia", "amd", "intel", "arm", ... lower case */
  char arch[32];    /* "sm_90", "gfx90a", "xe", "avx512", "avx2", ... */
  char name[128];   /* the device name */
  char profile[32]; /* the CLSEG_AS_DEVICE profile, "" for the device itself */
} clseg__device_class;

typedef struct clseg__tuning clseg__tuning;

/* The tables and user rows of a context (tuning.c). Set up at context creation: reads
 * CLSEG_AS_DEVICE, the shipped tables (CLSEG_KERNEL_DIR/tuning/ when set), and the user tuning file
 * unless CLSEG_TUNING=off. Errors name the file and line. */
clseg_status clseg__tuning_init(clseg_context *ctx);
void clseg__tuning_free(clseg_context *ctx);

/* The device class of info (arch filled by the caller from the driver), or of a profile by name;
 * returns 0 for an unknown profile (tuning_device.c, which needs nothing of the tables). */
void clseg__device_class_of(const clseg_device_info *info, clseg__device_class *out);
int clseg__device_profile(const char *name, clseg__device_class *out);
/* The profile names, space-separated, for messages and help. */
const char *clseg__device_profile_names(void);

/* The rows that supplied a lookup: the shipped row, and the user row (shape or "*") or the tuner's
 * forced row that overrode some of its cells, or NULL. */
typedef struct {
  const clseg__tune_row *row, *user;
} clseg__tuned;

/* Looks up variant's cells for ctx's device and the layer shape key `shape` (NULL: no shape) and
 * fills values[i] with keys[i]. A key absent from the matched row is an internal error. */
clseg_status clseg__tune_get(clseg_context *ctx, const char *variant, const char *shape,
                             const char *const *keys, int nkeys, double *values, clseg__tuned *out);
/* The user's (or the tuner's) choice of variant for a layer of op `op` ("conv2d") with shape key
 * `shape`: the row whose variant starts with op, or NULL when there is none. */
const clseg__tune_row *clseg__tune_choice(clseg_context *ctx, const char *op, const char *shape);
/* "cl/tuning/conv.tsv:12 (cpu * arch:avx512) + tuning file:3" into buf. */
void clseg__tuned_describe(const clseg__tuned *t, char *buf, size_t size);

/* The shipped row of variant that the device class matches (the lookup without user rows), for
 * `clseg devices --verbose` and tests; NULL when the variant has no rows. */
const clseg__tune_row *clseg__tune_match(const clseg__tune_row *rows, int nrows,
                                         const clseg__device_class *cls, const char *variant);

/* Parses a shipped table (`user` 0: variant type vendor pattern cells) or a user tuning file
 * (`user` 1: variant shape cells) into *rows (appended; *nrows updated). name is used in messages
 * and sources. Returns CLSEG_FORMAT with "name:line: ..." on a malformed line. */
clseg_status clseg__tune_parse(clseg_context *ctx, const char *name, const char *text, int user,
                               clseg__tune_row **rows, int *nrows);

/* The tuner (tuner.c) forces a row for one variant: lookups of that variant take its cells over the
 * shipped row's, for every shape, until it is cleared (NULL). */
void clseg__tune_force(clseg_context *ctx, const clseg__tune_row *row);

/* The tuner's switches: user rows off (1) or on (0) for ctx's lookups; re-reading the user file
 * after writing it; the user rows as loaded (to keep those of other shapes when writing). */
void clseg__tune_user_off(clseg_context *ctx, int off);
clseg_status clseg__tuning_reload(clseg_context *ctx);
const clseg__tune_row *clseg__tune_user_rows(const clseg_context *ctx, int *n);

/* The user tuning file's path for ctx's device (in the cache folder, keyed by device name, driver
 * and platform like kernel binaries); 0 when the cache is off. clseg__tuning_path_for: in
 * tuning_device.c. */
int clseg__tuning_file_path(const clseg_context *ctx, char *buf, size_t size);
int clseg__tuning_path_for(const clseg_device_info *info, char *buf, size_t size);
/* The class rows are matched against on ctx (a profile's under CLSEG_AS_DEVICE). */
const clseg__device_class *clseg__tuning_class(const clseg_context *ctx);

/* The shipped tables, cl/tuning/<family>.tsv, embedded by tools/embed_cl.py (name "conv.tsv"). */
extern const clseg__kernel_source clseg__tuning_sources[];
extern const size_t clseg__tuning_source_count;

#endif
