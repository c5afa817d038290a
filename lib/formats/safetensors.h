/* Reading .safetensors files: an 8-byte header length, a JSON header, raw little-endian tensors. */
#ifndef CLSEG_FORMATS_SAFETENSORS_H
#define CLSEG_FORMATS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "clseg.h"

typedef enum { CLSEG__ST_F32, CLSEG__ST_F16, CLSEG__ST_BF16 } clseg__st_dtype;

typedef struct {
  char *name;
  clseg__st_dtype dtype;
  int ndim;
  int64_t dims[8];
  size_t count;
  const unsigned char *data; /* into the mapping, bounds-checked */
} clseg__st_tensor;

typedef struct {
  void *map;  /* the whole file */
  int mapped; /* map is a read-only mapping; else a malloc'd copy (the file could not be mapped) */
  size_t size;
  clseg__st_tensor *tensors;
  int ntensors;
  char **meta_keys, **meta_values;
  int nmeta;
} clseg__st_file;

/* Maps and validates the whole header; on failure records "FILE: why" on the thread's slot. */
clseg_status clseg__st_open(const char *path, clseg__st_file **out);
void clseg__st_close(clseg__st_file *f);
const clseg__st_tensor *clseg__st_find(const clseg__st_file *f, const char *name);
/* Converts a tensor to float32 into dst (t->count floats). */
void clseg__st_read_f32(const clseg__st_tensor *t, float *dst);
/* A __metadata__ value, or NULL. */
const char *clseg__st_meta(const clseg__st_file *f, const char *key);

/* Hands the file's mapping over, for tensors used in place (NULL when the file was read instead):
 * clseg__st_close then leaves it, the caller releases it with clseg__st_unmap. */
void *clseg__st_keep_map(clseg__st_file *f, size_t *size);
void clseg__st_unmap(void *map, size_t size);
/* Lets the pages under [p, p + len) of a kept mapping leave the process's memory: reading them
 * again maps them back from the file (the page cache), unchanged. */
void clseg__st_evict(const void *p, size_t len);

#endif
