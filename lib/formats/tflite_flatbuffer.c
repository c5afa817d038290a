/* A bounds-checked FlatBuffers walker: tables, vtables, scalars, vectors and strings, each offset
 * and length checked against the buffer before it is read. The first failure is recorded on the
 * thread's slot ("at byte N: why"). */
#include <stdarg.h>
#include <stdio.h>

#include "bytes.h"
#include "formats/tflite.h"
#include "internal.h"

int clseg__fb_fail(clseg__fb *f, size_t at, const char *fmt, ...) {
  if (!f->failed) {
    const clseg_status s = f->unsupported ? CLSEG_UNSUPPORTED : CLSEG_FORMAT;
    va_list ap;
    va_start(ap, fmt);
    clseg__vfail(NULL, s, fmt, ap);
    va_end(ap);
    clseg__fail_prefix(NULL, s, "at byte %zu: ", at);
    f->failed = 1;
  }
  return 0;
}

/* True when [pos, pos + len) lies inside the buffer. */
static int fb_in(const clseg__fb *f, size_t pos, size_t len) {
  return pos <= f->n && len <= f->n - pos;
}

int clseg__fb_table_at(clseg__fb *f, size_t pos, clseg__fb_table *t) {
  if (f->failed)
    return 0;
  if (!fb_in(f, pos, 4))
    return clseg__fb_fail(f, pos, "table outside the file (%zu bytes)", f->n);
  int64_t vt = (int64_t)pos - (int64_t)clseg__rd_i32(f->p + pos);
  if (vt < 0 || !fb_in(f, (size_t)vt, 4))
    return clseg__fb_fail(f, pos, "vtable at %lld outside the file", (long long)vt);
  t->pos = pos;
  t->vt = (size_t)vt;
  t->vt_len = clseg__rd_u16(f->p + t->vt);
  t->tb_len = clseg__rd_u16(f->p + t->vt + 2);
  if (t->vt_len < 4 || (t->vt_len & 1) || !fb_in(f, t->vt, t->vt_len))
    return clseg__fb_fail(f, pos, "vtable of %u bytes is malformed or outside the file", t->vt_len);
  if (t->tb_len < 4 || !fb_in(f, pos, t->tb_len))
    return clseg__fb_fail(f, pos, "table of %u bytes runs past the end of the file", t->tb_len);
  return 1;
}

/* Position of field id holding size bytes, 0 when absent (a table never starts at 0), or
 * (size_t)-1. */
static size_t fb_field(clseg__fb *f, const clseg__fb_table *t, int id, size_t size) {
  size_t slot = 4 + 2 * (size_t)id;
  if (f->failed)
    return (size_t)-1;
  if (slot + 2 > t->vt_len)
    return 0;
  uint16_t off = clseg__rd_u16(f->p + t->vt + slot);
  if (!off)
    return 0;
  if ((size_t)off + size > t->tb_len)
    return clseg__fb_fail(f, t->pos,
                          "field %d (offset %u, %zu bytes) lies outside its %u-byte table", id, off,
                          size, t->tb_len),
           (size_t)-1;
  return t->pos + off;
}

int clseg__fb_scalar(clseg__fb *f, const clseg__fb_table *t, int id, int size, uint64_t def,
                     uint64_t *out) {
  size_t at = fb_field(f, t, id, (size_t)size);
  if (at == (size_t)-1)
    return 0;
  *out = def;
  if (at) {
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
      v = v << 8 | f->p[at + (size_t)i];
    *out = v;
  }
  return 1;
}

/* Follows the uoffset stored in field id; *target = 0 when absent. */
static int fb_deref(clseg__fb *f, const clseg__fb_table *t, int id, size_t *target) {
  size_t at = fb_field(f, t, id, 4);
  *target = 0;
  if (at == (size_t)-1)
    return 0;
  if (!at)
    return 1;
  uint32_t off = clseg__rd_u32(f->p + at);
  if (off == 0 || !fb_in(f, at, (size_t)off) || at + off >= f->n)
    return clseg__fb_fail(f, at, "field %d points outside the file (offset %u)", id, off);
  *target = at + off;
  return 1;
}

int clseg__fb_subtable(clseg__fb *f, const clseg__fb_table *t, int id, clseg__fb_table *out,
                       int *present) {
  size_t target;
  *present = 0;
  if (!fb_deref(f, t, id, &target))
    return 0;
  if (!target)
    return 1;
  *present = 1;
  return clseg__fb_table_at(f, target, out);
}

static int fb_vector_at(clseg__fb *f, size_t pos, size_t elsize, size_t *count,
                        const uint8_t **data) {
  if (!fb_in(f, pos, 4))
    return clseg__fb_fail(f, pos, "vector length outside the file");
  uint32_t len = clseg__rd_u32(f->p + pos);
  if ((size_t)len > (f->n - pos - 4) / elsize)
    return clseg__fb_fail(
        f, pos, "vector of %u elements of %zu bytes runs past the end of the file", len, elsize);
  *count = len;
  *data = f->p + pos + 4;
  return 1;
}

int clseg__fb_vector(clseg__fb *f, const clseg__fb_table *t, int id, size_t elsize, size_t *count,
                     const uint8_t **data) {
  size_t target;
  *count = 0;
  *data = NULL;
  if (!fb_deref(f, t, id, &target))
    return 0;
  return target ? fb_vector_at(f, target, elsize, count, data) : 1;
}

/* Element i of a vector of tables. */
int clseg__fb_vec_table(clseg__fb *f, const uint8_t *data, size_t i, clseg__fb_table *out) {
  size_t at = (size_t)(data - f->p) + 4 * i;
  uint32_t off = clseg__rd_u32(f->p + at);
  if (off == 0 || !fb_in(f, at, (size_t)off) || at + off >= f->n)
    return clseg__fb_fail(f, at, "vector element %zu points outside the file", i);
  return clseg__fb_table_at(f, at + off, out);
}

/* Copies string field id into buf (NUL-terminated, truncated to cap - 1); "" when absent. */
int clseg__fb_string(clseg__fb *f, const clseg__fb_table *t, int id, char *buf, size_t cap) {
  size_t len;
  const uint8_t *s;
  buf[0] = 0;
  if (!clseg__fb_vector(f, t, id, 1, &len, &s))
    return 0;
  if (len >= cap)
    len = cap - 1;
  for (size_t i = 0; i < len; i++)
    buf[i] = s[i] >= 32 && s[i] < 127 ? (char)s[i] : '?';
  buf[len] = 0;
  return 1;
}
