/* NumPy .npy arrays: reading float16/32/64 little-endian C-order files into float32, writing
 * float32 (format 1.0). The header is a Python dict literal; it is parsed strictly and every length
 * is bounds-checked, since .npy files arrive from anywhere. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "internal.h"
#include "io/io.h"

#define MAGIC     "\x93NUMPY"
#define MAGIC_LEN 6
/* numpy itself refuses headers over 10 KB by default; any real header is far shorter than this. */
#define MAX_HEADER (1 << 16)

/* A cursor over the header text. */
typedef struct {
  const char *p, *end, *start;
  const char *name;
} cursor;

/* What the header says. */
typedef struct {
  char descr[16];
  int fortran, ndim;
  int64_t shape[CLSEG_NPY_MAX_DIMS];
  int have; /* bit 0 descr, 1 fortran_order, 2 shape */
} header;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
    c->p++;
}

static int eat(cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

static clseg_status bad(const cursor *c, const char *what) {
  return clseg__fail(NULL, CLSEG_FORMAT, "'%s': malformed .npy header: %s at header offset %td",
                     c->name, what, c->p - c->start);
}

/* A quoted Python string without escapes (no key or dtype we accept needs them). */
static int parse_str(cursor *c, char *buf, size_t size) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return 0;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q && *c->p != '\\' && n + 1 < size)
    buf[n++] = *c->p++;
  if (c->p >= c->end || *c->p != q)
    return 0;
  c->p++;
  buf[n] = 0;
  return 1;
}

static int parse_bool(cursor *c, int *v) {
  skip_ws(c);
  size_t left = (size_t)(c->end - c->p);
  if (left >= 4 && !memcmp(c->p, "True", 4))
    return (*v = 1), c->p += 4, 1;
  if (left >= 5 && !memcmp(c->p, "False", 5))
    return (*v = 0), c->p += 5, 1;
  return 0;
}

/* "(2, 3)", "(5,)" or "()"; dims below 2^48 so that products are checked without overflow one step
 * at a time. */
static clseg_status parse_shape(cursor *c, header *h) {
  if (!eat(c, '('))
    return bad(c, "shape is not a tuple");
  h->ndim = 0;
  while (!eat(c, ')')) {
    skip_ws(c);
    if (h->ndim == CLSEG_NPY_MAX_DIMS)
      return clseg__fail(NULL, CLSEG_UNSUPPORTED,
                         "'%s': .npy arrays of more than %d dimensions are not "
                         "supported",
                         c->name, CLSEG_NPY_MAX_DIMS);
    int64_t v = 0;
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
      return bad(c, "shape entry is not a non-negative integer");
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
      v = v * 10 + (*c->p++ - '0');
      if (v >= ((int64_t)1 << 48))
        return bad(c, "shape entry too large");
    }
    h->shape[h->ndim++] = v;
    if (!eat(c, ',')) {
      if (!eat(c, ')'))
        return bad(c, "expected ',' or ')' in shape");
      break;
    }
  }
  return CLSEG_OK;
}

static clseg_status parse_value(cursor *c, header *h, const char *key) {
  if (!strcmp(key, "descr") && !(h->have & 1)) {
    h->have |= 1;
    skip_ws(c);
    if (c->p < c->end && *c->p == '[')
      return clseg__fail(NULL, CLSEG_UNSUPPORTED, "'%s': structured .npy dtypes are not supported",
                         c->name);
    return parse_str(c, h->descr, sizeof h->descr) ? CLSEG_OK
                                                   : bad(c, "descr is not a short string");
  }
  if (!strcmp(key, "fortran_order") && !(h->have & 2)) {
    h->have |= 2;
    return parse_bool(c, &h->fortran) ? CLSEG_OK : bad(c, "fortran_order is not True or False");
  }
  if (!strcmp(key, "shape") && !(h->have & 4)) {
    h->have |= 4;
    return parse_shape(c, h);
  }
  return bad(c, "unknown or repeated key");
}

static clseg_status parse_header(cursor *c, header *h) {
  clseg_status st;
  if (!eat(c, '{'))
    return bad(c, "expected '{'");
  while (!eat(c, '}')) {
    char key[32];
    if (!parse_str(c, key, sizeof key) || !eat(c, ':'))
      return bad(c, "expected a quoted key and ':'");
    if ((st = parse_value(c, h, key)) != CLSEG_OK)
      return st;
    if (!eat(c, ',')) {
      if (!eat(c, '}'))
        return bad(c, "expected ',' or '}'");
      break;
    }
  }
  skip_ws(c);
  if (c->p != c->end)
    return bad(c, "text after the dict");
  if (h->have != 7)
    return bad(c, "missing descr, fortran_order or shape");
  return CLSEG_OK;
}

/* The element size of an accepted dtype, or 0 after recording why it is not accepted. */
static int dtype_size(const header *h, const char *name) {
  if (!strcmp(h->descr, "<f4"))
    return 4;
  if (!strcmp(h->descr, "<f8"))
    return 8;
  if (!strcmp(h->descr, "<f2"))
    return 2;
  if (h->descr[0] == '>')
    clseg__fail(NULL, CLSEG_UNSUPPORTED,
                "'%s': big-endian dtype '%s' is not supported; save it with "
                ".astype('<f4')",
                name, h->descr);
  else
    clseg__fail(NULL, CLSEG_UNSUPPORTED,
                "'%s': dtype '%s' is not supported (only '<f4', '<f8', '<f2')", name, h->descr);
  return 0;
}

/* Little-endian bytes to float32, whatever the host's byte order. */
static void convert(const uint8_t *src, size_t count, int size, float *dst) {
  for (size_t i = 0; i < count; i++, src += size)
    dst[i] = size == 2   ? clseg__half_to_float(clseg__rd_u16(src))
             : size == 4 ? clseg__rd_f32(src)
                         : (float)clseg__rd_f64(src);
}

/* Reads the preamble: version and header bounds. */
static clseg_status read_preamble(const uint8_t *d, size_t size, const char *name, size_t *hstart,
                                  size_t *hlen) {
  if (size < 10 || memcmp(d, MAGIC, MAGIC_LEN) != 0)
    return clseg__fail(NULL, CLSEG_FORMAT, "'%s': not a .npy file (bad magic)", name);
  int major = d[6];
  if (major < 1 || major > 3)
    return clseg__fail(NULL, CLSEG_UNSUPPORTED, "'%s': .npy format version %d.%d is not supported",
                       name, major, d[7]);
  if (major == 1) {
    *hstart = 10;
    *hlen = (size_t)d[8] | (size_t)d[9] << 8;
  } else {
    if (size < 12)
      return clseg__fail(NULL, CLSEG_FORMAT, "'%s': truncated .npy preamble", name);
    *hstart = 12;
    *hlen = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24;
  }
  if (*hlen > MAX_HEADER || *hlen > size - *hstart)
    return clseg__fail(NULL, CLSEG_FORMAT,
                       "'%s': .npy header of %zu bytes runs past the end of the file (%zu "
                       "bytes)",
                       name, *hlen, size);
  return CLSEG_OK;
}

static clseg_status fill_array(const uint8_t *d, size_t avail, const header *h, int isz,
                               const char *name, clseg_array *out) {
  clseg_array a = {.ndim = h->ndim, .count = 1};
  for (int i = 0; i < h->ndim; i++) {
    a.shape[i] = h->shape[i];
    if (h->shape[i] && a.count > SIZE_MAX / 8 / (size_t)h->shape[i])
      return clseg__fail(NULL, CLSEG_FORMAT, "'%s': .npy shape too large", name);
    a.count *= (size_t)h->shape[i];
  }
  if (a.count * (size_t)isz != avail)
    return clseg__fail(NULL, CLSEG_FORMAT,
                       "'%s': .npy shape needs %zu bytes of data, the file has %zu", name,
                       a.count * (size_t)isz, avail);
  if (!(a.data = malloc(a.count ? a.count * sizeof(float) : 1)))
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "'%s': no memory for %zu floats", name, a.count);
  convert(d, a.count, isz, a.data);
  *out = a;
  return CLSEG_OK;
}

clseg_status clseg_npy_read_memory(const void *data, size_t size, const char *name,
                                   clseg_array *out) {
  if (!data || !out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "npy_read: NULL argument");
  name = name ? name : "(memory)";
  const uint8_t *d = data;
  size_t hstart = 0, hlen = 0;
  clseg_status st = read_preamble(d, size, name, &hstart, &hlen);
  if (st != CLSEG_OK)
    return st;
  cursor c = {(const char *)d + hstart, (const char *)d + hstart + hlen, (const char *)d + hstart,
              name};
  header h = {0};
  if ((st = parse_header(&c, &h)) != CLSEG_OK)
    return st;
  int isz = dtype_size(&h, name);
  if (!isz)
    return CLSEG_UNSUPPORTED;
  if (h.fortran)
    return clseg__fail(NULL, CLSEG_UNSUPPORTED,
                       "'%s': Fortran-order .npy arrays are not supported; save with "
                       "np.ascontiguousarray",
                       name);
  return fill_array(d + hstart + hlen, size - hstart - hlen, &h, isz, name, out);
}

clseg_status clseg_npy_read(const char *path, clseg_array *out) {
  uint8_t *buf = NULL;
  size_t size = 0;
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "npy_read: NULL output");
  clseg_status st = clseg__io_read_file(path, CLSEG__IO_MAX_FILE, &buf, &size);
  if (st == CLSEG_OK)
    st = clseg_npy_read_memory(buf, size, path, out);
  free(buf);
  return st;
}

void clseg_array_free(clseg_array *a) {
  if (!a)
    return;
  free(a->data);
  *a = (clseg_array){0};
}

/* The version 1.0 header, padded with spaces so that the data starts on a 64-byte boundary. */
static size_t make_header(char *buf, size_t size, const int64_t *shape, int ndim) {
  int n = snprintf(buf, size, "%s\x01%c%c%c{'descr': '<f4', 'fortran_order': False, 'shape': (",
                   MAGIC, 0, 0, 0);
  for (int i = 0; i < ndim; i++)
    n += snprintf(buf + n, size - (size_t)n, "%" PRId64 "%s", shape[i],
                  ndim == 1      ? ","
                  : i + 1 < ndim ? ", "
                                 : "");
  n += snprintf(buf + n, size - (size_t)n, "), }");
  while ((n + 1) % 64)
    buf[n++] = ' ';
  buf[n++] = '\n';
  size_t hlen = (size_t)n - 10;
  buf[8] = (char)(hlen & 0xff);
  buf[9] = (char)(hlen >> 8);
  return (size_t)n;
}

static clseg_status check_write_args(const char *path, const float *data, const int64_t *shape,
                                     int ndim, size_t *count) {
  if (!path || ndim < 0 || ndim > CLSEG_NPY_MAX_DIMS || (ndim > 0 && !shape))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "npy_write: NULL path or shape, or ndim %d not in 0..%d", ndim,
                       CLSEG_NPY_MAX_DIMS);
  *count = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || shape[i] >= ((int64_t)1 << 48))
      return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "npy_write '%s': dim %d is %" PRId64, path,
                         i, shape[i]);
    if (shape[i] && *count > SIZE_MAX / 8 / (size_t)shape[i])
      return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "npy_write '%s': shape too large", path);
    *count *= (size_t)shape[i];
  }
  if (*count && !data)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "npy_write '%s': NULL data", path);
  return CLSEG_OK;
}

clseg_status clseg_npy_write(const char *path, const float *data, const int64_t *shape, int ndim) {
  size_t count = 0;
  clseg_status st = check_write_args(path, data, shape, ndim, &count);
  if (st != CLSEG_OK)
    return st;
  char head[512]; /* 8 dims of 15 digits fit comfortably */
  size_t hn = make_header(head, sizeof head, shape, ndim);
  clseg__file_writer wf;
  if ((st = clseg__io_write_open(&wf, path)) != CLSEG_OK)
    return st;
  int ok = fwrite(head, 1, hn, wf.f) == hn;
  for (size_t i = 0; ok && i < count; i++) {
    uint32_t u;
    memcpy(&u, &data[i], 4);
    uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    ok = fwrite(le, 1, 4, wf.f) == 4;
  }
  if (!ok) {
    clseg_status e = clseg__fail(NULL, CLSEG_IO, "cannot write '%s': %s", path, strerror(errno));
    clseg__file_write_abort(&wf);
    return e;
  }
  return clseg__io_write_commit(&wf);
}
