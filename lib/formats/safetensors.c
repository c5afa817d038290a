/* .safetensors reader: the file is mapped read-only (read into memory where it cannot be mapped),
 * the JSON header parsed with cJSON, and every tensor's dtype, shape and byte range checked against
 * the file before any byte is read. A graph may keep the mapping to use float32 values in place. */
#define _DEFAULT_SOURCE /* madvise: posix_madvise's POSIX_MADV_DONTNEED does nothing on glibc */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "file.h"
#include "io/io.h"
#include "internal.h"

#define MAX_HEADER (100u << 20)

static clseg_status bad(const char *path, const char *why, const char *name) {
  return clseg__fail(NULL, CLSEG_FORMAT, "%s: not a valid safetensors file: %s%s%s", path, why,
                     name ? " " : "", name ? name : "");
}

static int parse_dtype(const char *s, clseg__st_dtype *d, size_t *size) {
  if (!strcmp(s, "F32"))
    *d = CLSEG__ST_F32, *size = 4;
  else if (!strcmp(s, "F16"))
    *d = CLSEG__ST_F16, *size = 2;
  else if (!strcmp(s, "BF16"))
    *d = CLSEG__ST_BF16, *size = 2;
  else
    return 0;
  return 1;
}

/* Fills t from one header entry; returns NULL or what is wrong with it. */
static const char *parse_tensor(const cJSON *e, const unsigned char *data, size_t data_len,
                                clseg__st_tensor *t) {
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  size_t esize = 0;
  if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
      cJSON_GetArraySize(offs) != 2)
    return "entry lacks dtype, shape or data_offsets:";
  if (!parse_dtype(dt->valuestring, &t->dtype, &esize))
    return "unsupported dtype (f32, f16 and bf16 are read) of tensor";
  int nd = cJSON_GetArraySize(shape);
  if (nd > 8)
    return "more than 8 dimensions in tensor";
  t->ndim = nd;
  t->count = 1;
  for (int i = 0; i < nd; i++) {
    const cJSON *d = cJSON_GetArrayItem(shape, i);
    if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1e12)
      return "bad dimension in tensor";
    t->dims[i] = (int64_t)d->valuedouble;
    t->count *= (size_t)t->dims[i];
  }
  const cJSON *b = cJSON_GetArrayItem(offs, 0), *en = cJSON_GetArrayItem(offs, 1);
  if (!cJSON_IsNumber(b) || !cJSON_IsNumber(en) || b->valuedouble < 0 ||
      en->valuedouble < b->valuedouble || en->valuedouble > (double)data_len)
    return "data_offsets outside the file for tensor";
  size_t begin = (size_t)b->valuedouble, end = (size_t)en->valuedouble;
  if (end - begin != t->count * esize)
    return "byte length does not match shape and dtype for tensor";
  t->data = data + begin;
  return NULL;
}

static clseg_status parse_meta(const cJSON *m, clseg__st_file *f) {
  int n = cJSON_GetArraySize(m);
  f->meta_keys = calloc((size_t)n + 1, sizeof *f->meta_keys);
  f->meta_values = calloc((size_t)n + 1, sizeof *f->meta_values);
  if (!f->meta_keys || !f->meta_values)
    return CLSEG_OUT_OF_MEMORY;
  for (const cJSON *e = m->child; e; e = e->next) {
    if (!cJSON_IsString(e) || !e->string)
      continue;
    f->meta_keys[f->nmeta] = strdup(e->string);
    f->meta_values[f->nmeta] = strdup(e->valuestring);
    if (!f->meta_keys[f->nmeta] || !f->meta_values[f->nmeta])
      return CLSEG_OUT_OF_MEMORY;
    f->nmeta++;
  }
  return CLSEG_OK;
}

static clseg_status parse_header(clseg__st_file *f, const char *path) {
  const unsigned char *m = f->map;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | m[i];
  if (hlen < 2 || hlen > MAX_HEADER || hlen > f->size - 8)
    return bad(path, "header length is out of range", NULL);
  cJSON *root = cJSON_ParseWithLength((const char *)m + 8, (size_t)hlen);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return bad(path, "header is not a JSON object", NULL);
  }
  const unsigned char *data = m + 8 + hlen;
  size_t data_len = f->size - 8 - (size_t)hlen;
  f->tensors = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof *f->tensors);
  clseg_status s = f->tensors ? CLSEG_OK : CLSEG_OUT_OF_MEMORY;
  for (const cJSON *e = root->child; e && s == CLSEG_OK; e = e->next) {
    if (!strcmp(e->string, "__metadata__")) {
      s = cJSON_IsObject(e) ? parse_meta(e, f) : bad(path, "__metadata__ is not an object", NULL);
      continue;
    }
    clseg__st_tensor *t = &f->tensors[f->ntensors];
    const char *why =
        cJSON_IsObject(e) ? parse_tensor(e, data, data_len, t) : "entry is not an object:";
    if (why)
      s = bad(path, why, e->string);
    else if (!(t->name = strdup(e->string)))
      s = CLSEG_OUT_OF_MEMORY;
    else
      f->ntensors++;
  }
  if (s == CLSEG_OUT_OF_MEMORY)
    clseg__fail(NULL, s, "%s: out of memory reading the header", path);
  cJSON_Delete(root);
  return s;
}

/* Where the file cannot be mapped: reads it into memory instead. */
static clseg_status read_whole(clseg__st_file *f, const char *path, int map_errno) {
  unsigned char *data;
  clseg_status s = clseg__io_read_file(path, 0, &data, &f->size);
  f->map = data;
  if (s != CLSEG_OK)
    clseg__fail_prefix(NULL, s, "%s: cannot map the file (%s), nor read it: ", path,
                       strerror(map_errno));
  else if (f->size < 10) /* it shrank since it was measured */
    s = bad(path, "too short", NULL);
  return s;
}

clseg_status clseg__st_open(const char *path, clseg__st_file **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    return clseg__fail(NULL, CLSEG_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 10) {
    close(fd);
    return bad(path, S_ISREG(st.st_mode) ? "too short" : "not a regular file", NULL);
  }
  clseg__st_file *f = calloc(1, sizeof *f);
  if (!f) {
    close(fd);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  f->size = (size_t)st.st_size;
  f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
  f->mapped = f->map != MAP_FAILED;
  const int map_errno = errno;
  close(fd);
  clseg_status s = f->mapped ? CLSEG_OK : read_whole(f, path, map_errno);
  if (s != CLSEG_OK) {
    clseg__st_close(f);
    return s;
  }
  s = parse_header(f, path);
  if (s != CLSEG_OK) {
    clseg__st_close(f);
    return s;
  }
  *out = f;
  return CLSEG_OK;
}

void clseg__st_close(clseg__st_file *f) {
  if (!f)
    return;
  for (int i = 0; i < f->ntensors; i++)
    free(f->tensors[i].name);
  for (int i = 0; i < f->nmeta; i++) {
    free(f->meta_keys[i]);
    free(f->meta_values[i]);
  }
  free(f->tensors);
  free(f->meta_keys);
  free(f->meta_values);
  if (f->mapped)
    munmap(f->map, f->size);
  else
    free(f->map);
  free(f);
}

void *clseg__st_keep_map(clseg__st_file *f, size_t *size) {
  if (!f->mapped)
    return NULL;
  void *m = f->map;
  *size = f->size;
  f->map = NULL;
  f->mapped = 0;
  return m;
}

void clseg__st_unmap(void *map, size_t size) {
  if (map)
    munmap(map, size);
}

void clseg__st_evict(const void *p, size_t len) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  if (!p || !len || page == 0 || page == (uintptr_t)-1)
    return;
  uintptr_t a = (uintptr_t)p / page * page, e = ((uintptr_t)p + len + page - 1) / page * page;
  /* a failure only leaves the pages in memory; the range stays inside the mapping, whose pages
   * never hold anything but the file's bytes (PROT_READ) */
  (void)madvise((void *)a, (size_t)(e - a), MADV_DONTNEED);
}

const clseg__st_tensor *clseg__st_find(const clseg__st_file *f, const char *name) {
  for (int i = 0; i < f->ntensors; i++)
    if (!strcmp(f->tensors[i].name, name))
      return &f->tensors[i];
  return NULL;
}

void clseg__st_read_f32(const clseg__st_tensor *t, float *dst) {
  const unsigned char *p = t->data;
  for (size_t i = 0; i < t->count; i++)
    dst[i] = t->dtype == CLSEG__ST_F32   ? clseg__rd_f32(p + 4 * i)
             : t->dtype == CLSEG__ST_F16 ? clseg__half_to_float(clseg__rd_u16(p + 2 * i))
                                         : clseg__bf16_to_float(clseg__rd_u16(p + 2 * i));
}

const char *clseg__st_meta(const clseg__st_file *f, const char *key) {
  for (int i = 0; i < f->nmeta; i++)
    if (!strcmp(f->meta_keys[i], key))
      return f->meta_values[i];
  return NULL;
}
