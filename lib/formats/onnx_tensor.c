/* ONNX tensors and values: TensorProto -> host constant (raw_data, typed fields or an external data
 * file, bounds-checked), the name -> value table and a node's inputs as values, constants' storage,
 * node attributes, and the importer's error recording. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "formats/onnx.h"
#include "internal.h"

int clseg__ob_fail(clseg__ob *b, clseg_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int first = clseg__fail_first(&b->status, s, fmt, ap);
  va_end(ap);
  const Onnx__NodeProto *n = b->nodei >= 0 && b->gr ? b->gr->node[b->nodei] : NULL;
  if (first && n)
    clseg__fail_prefix(NULL, s, "node %d (%s '%s'): ", clseg__node_index(b), n->op_type, n->name);
  return 0;
}

int clseg__node_index(const clseg__ob *b) {
  return b->file_index && b->nodei >= 0 ? b->file_index[b->nodei] : b->nodei;
}

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s)
    h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static int grow_table(clseg__ob *b) {
  size_t cap = b->table_cap ? b->table_cap * 2 : 1024;
  int32_t *t = calloc(cap, sizeof *t);
  if (!t)
    return 0;
  for (size_t i = 0; i < b->nvals; i++) {
    size_t h = (size_t)hash(b->names[i]) & (cap - 1);
    while (t[h])
      h = (h + 1) & (cap - 1);
    t[h] = (int32_t)i + 1;
  }
  free(b->table);
  b->table = t;
  b->table_cap = cap;
  return 1;
}

static long lookup(const clseg__ob *b, const char *name) {
  if (!b->table_cap)
    return -1;
  for (size_t h = (size_t)hash(name) & (b->table_cap - 1); b->table[h];
       h = (h + 1) & (b->table_cap - 1))
    if (!strcmp(b->names[b->table[h] - 1], name))
      return b->table[h] - 1;
  return -1;
}

clseg__ov *clseg__ob_find(clseg__ob *b, const char *name) {
  long i = name && *name ? lookup(b, name) : -1;
  return i >= 0 && b->vals[i].kind != CLSEG__OV_NONE ? &b->vals[i] : NULL;
}

int clseg__ob_uses(clseg__ob *b, const char *name) {
  long i = name && *name ? lookup(b, name) : -1;
  return i >= 0 && b->uses ? b->uses[i] : 0;
}

clseg__ov *clseg__ob_value(clseg__ob *b, const char *name) {
  if (!name || !*name)
    return NULL;
  long i = lookup(b, name);
  if (i >= 0)
    return &b->vals[i];
  if ((b->nvals + 1) * 2 > b->table_cap && !grow_table(b))
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
  if (b->nvals == b->cap_vals) {
    size_t nc = b->cap_vals ? b->cap_vals * 2 : 256;
    clseg__ov *nv = realloc(b->vals, nc * sizeof *nv);
    char **nn = nv ? realloc(b->names, nc * sizeof *nn) : NULL;
    if (nv)
      b->vals = nv;
    if (!nn)
      return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
    b->names = nn;
    b->cap_vals = nc;
  }
  char *copy = strdup(name);
  if (!copy)
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), NULL;
  memset(&b->vals[b->nvals], 0, sizeof b->vals[0]);
  b->names[b->nvals] = copy;
  size_t h = (size_t)hash(name) & (b->table_cap - 1);
  while (b->table[h])
    h = (h + 1) & (b->table_cap - 1);
  b->table[h] = (int32_t)b->nvals + 1;
  return &b->vals[b->nvals++];
}

void clseg__ov_clear(clseg__ov *v) {
  free(v->f);
  free(v->i);
  memset(v, 0, sizeof *v);
}

int clseg__ov_alloc(clseg__ob *b, clseg__ov *v, int ndim, const int64_t *dims, int is_float) {
  clseg__ov_clear(v);
  size_t count = 1;
  if (ndim < 0 || ndim > CLSEG__ONNX_MAX_DIMS)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a tensor of %d dimensions", ndim);
  for (int d = 0; d < ndim; d++) {
    if (dims[d] < 0 || (dims[d] && count > CLSEG__ONNX_MAX_ELEMENTS / (size_t)dims[d]))
      return clseg__ob_fail(b, CLSEG_FORMAT, "a tensor dimension of %lld", (long long)dims[d]);
    count *= (size_t)dims[d];
    v->dims[d] = dims[d];
  }
  v->kind = CLSEG__OV_CONST;
  v->ndim = ndim;
  v->count = count;
  if (is_float)
    v->f = calloc(count ? count : 1, sizeof *v->f);
  else
    v->i = calloc(count ? count : 1, sizeof *v->i);
  if (!v->f && !v->i)
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory for a tensor of %zu elements",
                          count);
  return 1;
}

double clseg__ov_get(const clseg__ov *v, size_t k) {
  return v->f ? (double)v->f[k] : (double)v->i[k];
}

void clseg__ov_set(clseg__ov *v, size_t k, double x) {
  if (v->f)
    v->f[k] = (float)x;
  else
    v->i[k] = isnan(x) ? 0 : x >= 9.2e18 ? INT64_MAX : x <= -9.2e18 ? INT64_MIN : (int64_t)x;
}

clseg__ov *clseg__in(clseg__ob *b, const Onnx__NodeProto *n, size_t k) {
  return k < n->n_input ? clseg__ob_find(b, n->input[k]) : NULL;
}

int clseg__in_ints(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int64_t *out, int max,
                   int *cnt) {
  const clseg__ov *v = clseg__in(b, n, k);
  if (!v || v->kind != CLSEG__OV_CONST || v->count > (size_t)max)
    return 0;
  for (size_t j = 0; j < v->count; j++)
    out[j] = v->i ? v->i[j] : v->f[j] > -9e18f && v->f[j] < 9e18f ? (int64_t)v->f[j] : 0;
  *cnt = (int)v->count;
  return 1;
}

/* ---- element types ---- */

enum {
  T_FLOAT = 1,
  T_UINT8 = 2,
  T_INT8 = 3,
  T_UINT16 = 4,
  T_INT16 = 5,
  T_INT32 = 6,
  T_INT64 = 7,
  T_BOOL = 9,
  T_FLOAT16 = 10,
  T_DOUBLE = 11,
  T_UINT32 = 12,
  T_UINT64 = 13,
  T_BFLOAT16 = 16
};

static size_t elem_size(int t) {
  switch (t) {
  case T_UINT8:
  case T_INT8:
  case T_BOOL: return 1;
  case T_UINT16:
  case T_INT16:
  case T_FLOAT16:
  case T_BFLOAT16: return 2;
  case T_FLOAT:
  case T_INT32:
  case T_UINT32: return 4;
  case T_INT64:
  case T_DOUBLE:
  case T_UINT64: return 8;
  default: return 0;
  }
}

static int is_float_type(int t) {
  return t == T_FLOAT || t == T_FLOAT16 || t == T_DOUBLE || t == T_BFLOAT16;
}

static uint64_t rd_le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t k = 0; k < n; k++)
    v |= (uint64_t)p[k] << (8 * k);
  return v;
}

/* Element k of little-endian data of type t, as a double. */
static double raw_elem(const uint8_t *p, int t, size_t k) {
  size_t es = elem_size(t);
  uint64_t u = rd_le(p + k * es, es);
  double d;
  switch (t) {
  case T_FLOAT: return clseg__bits_to_float((uint32_t)u);
  case T_DOUBLE: memcpy(&d, &u, 8); return d;
  case T_FLOAT16: return clseg__half_to_float((uint16_t)u);
  case T_BFLOAT16: return clseg__bf16_to_float((uint16_t)u);
  case T_INT8: return (int8_t)u;
  case T_INT16: return (int16_t)u;
  case T_INT32: return (int32_t)u;
  case T_INT64: return (double)(int64_t)u;
  default: return (double)u;
  }
}

static void store(clseg__ov *v, size_t k, const uint8_t *raw, int t) {
  if (t == T_INT64) /* exact, not through a double */
    v->i[k] = (int64_t)rd_le(raw + 8 * k, 8);
  else
    clseg__ov_set(v, k, raw_elem(raw, t, k));
}

/* Reads location/offset/length of an external tensor into a new buffer of want bytes. */
static uint8_t *read_external(clseg__ob *b, const Onnx__TensorProto *t, size_t want) {
  const char *loc = NULL;
  long long off = 0, len = -1;
  for (size_t k = 0; k < t->n_external_data; k++) {
    const Onnx__StringStringEntryProto *e = t->external_data[k];
    if (!strcmp(e->key, "location"))
      loc = e->value;
    else if (!strcmp(e->key, "offset"))
      off = strtoll(e->value, NULL, 10);
    else if (!strcmp(e->key, "length"))
      len = strtoll(e->value, NULL, 10);
  }
  if (!loc || !*loc || loc[0] == '/' || strstr(loc, "..") || off < 0 ||
      (len >= 0 && (size_t)len != want))
    return clseg__ob_fail(b, CLSEG_FORMAT,
                          "tensor '%s': external data location '%s', offset %lld, length %lld "
                          "(%zu bytes expected; paths must be relative to the model's folder)",
                          t->name, loc ? loc : "(none)", off, len, want),
           NULL;
  if (!b->dir)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "tensor '%s': external data '%s' needs the model's folder "
                          "(load from a file)",
                          t->name, loc),
           NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", b->dir, loc);
  FILE *fp = fopen(path, "rb");
  uint8_t *buf = fp ? malloc(want ? want : 1) : NULL;
  long long size = fp && !fseek(fp, 0, SEEK_END) ? (long long)ftell(fp) : -1;
  int ok = buf && size >= 0 && off <= size && (long long)want <= size - off &&
           !fseek(fp, (long)off, SEEK_SET) && fread(buf, 1, want, fp) == want;
  if (fp)
    fclose(fp);
  if (!ok) {
    free(buf);
    return clseg__ob_fail(b, fp ? CLSEG_FORMAT : CLSEG_IO,
                          "tensor '%s': external data '%s' %s (bytes %lld..%lld "
                          "of a file of %lld)",
                          t->name, path, fp ? "is too short" : "cannot be opened", off,
                          off + (long long)want, size),
           NULL;
  }
  return buf;
}

static size_t typed_count(const Onnx__TensorProto *t) {
  int ty = t->data_type;
  return ty == T_FLOAT                      ? t->n_float_data
         : ty == T_INT64                    ? t->n_int64_data
         : ty == T_DOUBLE                   ? t->n_double_data
         : ty == T_UINT32 || ty == T_UINT64 ? t->n_uint64_data
                                            : t->n_int32_data;
}

/* Copies a typed field (float_data, int32_data, int64_data, double_data, uint64_data) into v. */
static int read_typed(const Onnx__TensorProto *t, clseg__ov *v) {
  int ty = t->data_type;
  for (size_t k = 0; k < v->count; k++) {
    if (ty == T_INT64) {
      v->i[k] = t->int64_data[k];
      continue;
    }
    double x = ty == T_FLOAT                      ? t->float_data[k]
               : ty == T_DOUBLE                   ? t->double_data[k]
               : ty == T_UINT32 || ty == T_UINT64 ? (double)t->uint64_data[k]
                                                  : t->int32_data[k];
    if (ty == T_FLOAT16 || ty == T_BFLOAT16) { /* 16-bit patterns held in int32_data */
      uint8_t two[2] = {(uint8_t)t->int32_data[k], (uint8_t)(t->int32_data[k] >> 8)};
      x = raw_elem(two, ty, 0);
    }
    clseg__ov_set(v, k, x);
  }
  return 1;
}

int clseg__ob_tensor(clseg__ob *b, const Onnx__TensorProto *t, clseg__ov *v) {
  size_t es = elem_size(t->data_type);
  if (!es)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "tensor '%s' has data type %d (float32/16/64, bfloat16 and "
                          "integer types are supported)",
                          t->name, (int)t->data_type);
  if (t->n_dims > CLSEG__ONNX_MAX_DIMS)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "tensor '%s' has %zu dimensions", t->name,
                          t->n_dims);
  size_t count = 1;
  for (size_t d = 0; d < t->n_dims; d++) {
    if (t->dims[d] < 0 || (t->dims[d] && count > CLSEG__ONNX_MAX_ELEMENTS / (size_t)t->dims[d]))
      return clseg__ob_fail(b, CLSEG_FORMAT, "tensor '%s' has a bad dimension %lld", t->name,
                            (long long)t->dims[d]);
    count *= (size_t)t->dims[d];
  }
  const uint8_t *raw = t->raw_data.len ? t->raw_data.data : NULL;
  int ext = t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (!ext && raw &&
      t->raw_data.len != count * es) /* sizes are checked before anything is allocated */
    return clseg__ob_fail(b, CLSEG_FORMAT,
                          "tensor '%s': raw_data of %zu bytes for %zu elements of %zu bytes",
                          t->name, t->raw_data.len, count, es);
  if (!ext && !raw && typed_count(t) != count)
    return clseg__ob_fail(b, CLSEG_FORMAT, "tensor '%s': %zu values for %zu elements", t->name,
                          typed_count(t), count);
  uint8_t *data = ext ? read_external(b, t, count * es) : NULL;
  if ((ext && !data) ||
      !clseg__ov_alloc(b, v, (int)t->n_dims, t->dims, is_float_type(t->data_type))) {
    free(data);
    return 0;
  }
  raw = ext ? data : raw;
  if (!raw)
    return read_typed(t, v);
  for (size_t k = 0; k < count; k++)
    store(v, k, raw, t->data_type);
  free(data);
  return 1;
}

/* ---- attributes ---- */

const Onnx__AttributeProto *clseg__attr(const Onnx__NodeProto *n, const char *name) {
  for (size_t k = 0; k < n->n_attribute; k++)
    if (!strcmp(n->attribute[k]->name, name))
      return n->attribute[k];
  return NULL;
}

int64_t clseg__attr_int(const Onnx__NodeProto *n, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = clseg__attr(n, name);
  return a ? a->i : def;
}

float clseg__attr_float(const Onnx__NodeProto *n, const char *name, float def) {
  const Onnx__AttributeProto *a = clseg__attr(n, name);
  return a ? a->f : def;
}

const char *clseg__attr_str(const Onnx__NodeProto *n, const char *name, const char *def) {
  const Onnx__AttributeProto *a = clseg__attr(n, name);
  static _Thread_local char buf[64];
  if (!a)
    return def;
  size_t len = a->s.len < sizeof buf - 1 ? a->s.len : sizeof buf - 1;
  if (len)
    memcpy(buf, a->s.data, len);
  buf[len] = 0;
  return buf;
}

/* Cast's target type: a TensorProto data type, or in Cast-1 (opsets 1 to 5) its name ("FLOAT"); -1
 * for a name not in the list. */
int64_t clseg__cast_to(const Onnx__NodeProto *n) {
  static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",  "INT8",   "UINT16",
                                      "INT16",     "INT32",  "INT64",  "STRING", "BOOL",
                                      "FLOAT16",   "DOUBLE", "UINT32", "UINT64"};
  const Onnx__AttributeProto *a = clseg__attr(n, "to");
  if (!a || !a->s.len)
    return a ? a->i : 1;
  for (size_t k = 0; k < sizeof names / sizeof *names; k++)
    if (strlen(names[k]) == a->s.len && !memcmp(names[k], a->s.data, a->s.len))
      return (int64_t)k;
  return -1;
}

int clseg__attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max) {
  const Onnx__AttributeProto *a = clseg__attr(n, name);
  if (!a)
    return -1;
  int c = a->n_ints < (size_t)max ? (int)a->n_ints : max;
  for (int k = 0; k < c; k++)
    out[k] = a->ints[k];
  return c;
}
