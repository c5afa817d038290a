/* Reads .clsf fixtures (format in tests/fixtures/README.md). Every length and count in the file is
 * checked against what is left to read, since a truncated or corrupt file must fail cleanly. */
#include "common/fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE_MAX_FILE   (64u << 20)
#define FIXTURE_MAX_PARAMS (64u << 10)
#define FIXTURE_MAX_ARRAYS 256u

typedef struct {
  char *key, *value;
} fixture_kv;

struct fixture {
  char *params; /* the params block, split in place into keys and values */
  fixture_kv *kv;
  size_t nkv;
  char *text; /* the params block on one line */
  fixture_array *arrays;
  size_t narrays;
};

typedef struct {
  const unsigned char *p;
  size_t len, off;
} cursor;

static bool rd_bytes(cursor *c, void *dst, size_t n) {
  if (n > c->len - c->off)
    return false;
  memcpy(dst, c->p + c->off, n);
  c->off += n;
  return true;
}

static bool rd_u32(cursor *c, uint32_t *v) {
  unsigned char b[4];
  if (!rd_bytes(c, b, 4))
    return false;
  *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return true;
}

static bool rd_i64(cursor *c, int64_t *v) {
  uint32_t lo, hi;
  if (!rd_u32(c, &lo) || !rd_u32(c, &hi))
    return false;
  *v = (int64_t)((uint64_t)hi << 32 | lo);
  return true;
}

static void set_err(char *err, size_t errlen, const char *path, const char *msg) {
  if (err && errlen)
    snprintf(err, errlen, "%s: %s", path, msg);
}

/* Reads the whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len, char *err, size_t errlen) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    set_err(err, errlen, path, strerror(errno));
    return NULL;
  }
  unsigned char *buf = NULL;
  long size = -1;
  if (fseek(fp, 0, SEEK_END) == 0)
    size = ftell(fp);
  if (size < 0 || (unsigned long)size > FIXTURE_MAX_FILE || fseek(fp, 0, SEEK_SET) != 0) {
    set_err(err, errlen, path, "cannot size the file, or it is over 64 MiB");
    goto fail;
  }
  buf = malloc(size ? (size_t)size : 1);
  if (!buf) {
    set_err(err, errlen, path, "out of memory");
    goto fail;
  }
  if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
    set_err(err, errlen, path, "short read");
    goto fail;
  }
  fclose(fp);
  *len = (size_t)size;
  return buf;
fail:
  free(buf);
  fclose(fp);
  return NULL;
}

/* Splits "key=value" lines in place; blank lines and lines starting with '#' are skipped. */
static const char *parse_params(fixture *f) {
  size_t lines = 1;
  for (const char *s = f->params; *s; s++)
    lines += *s == '\n';
  f->kv = calloc(lines, sizeof(*f->kv));
  f->text = calloc(strlen(f->params) + 1, 1);
  if (!f->kv || !f->text)
    return "out of memory";
  char *save = f->params;
  while (save && *save) {
    char *line = save, *nl = strchr(line, '\n');
    save = nl ? nl + 1 : NULL;
    if (nl)
      *nl = '\0';
    if (!*line || *line == '#')
      continue;
    char *eq = strchr(line, '=');
    if (!eq || eq == line)
      return "params line without key=value";
    *eq = '\0';
    if (fixture_param(f, line))
      return "duplicate params key";
    f->kv[f->nkv].key = line;
    f->kv[f->nkv++].value = eq + 1;
    size_t at = strlen(f->text);
    snprintf(f->text + at, strlen(line) + strlen(eq + 1) + 3, "%s%s=%s", at ? " " : "", line,
             eq + 1);
  }
  return NULL;
}

static const char *parse_array(cursor *c, fixture_array *a) {
  uint32_t name_len, ndim;
  if (!rd_u32(c, &name_len) || name_len == 0 || name_len >= FIXTURE_MAX_NAME)
    return "bad array name length";
  if (!rd_bytes(c, a->name, name_len))
    return "truncated array name";
  a->name[name_len] = '\0';
  if (strlen(a->name) != name_len)
    return "NUL inside an array name";
  if (!rd_u32(c, &ndim) || ndim > FIXTURE_MAX_NDIM)
    return "bad ndim";
  a->ndim = (int)ndim;
  size_t count = 1;
  for (uint32_t d = 0; d < ndim; d++) {
    if (!rd_i64(c, &a->dims[d]) || a->dims[d] < 0)
      return "bad dim";
    /* Every element needs 4 bytes of what is left, which also bounds the product against overflow.
     */
    if (a->dims[d] != 0 && count > (c->len - c->off) / 4 / (uint64_t)a->dims[d])
      return "array larger than file";
    count *= (size_t)a->dims[d];
  }
  a->count = count;
  a->data = malloc(count ? count * sizeof(float) : sizeof(float));
  if (!a->data)
    return "out of memory";
  for (size_t i = 0; i < count; i++) {
    uint32_t bits;
    if (!rd_u32(c, &bits))
      return "truncated array data";
    memcpy(&a->data[i], &bits, sizeof(float));
  }
  return NULL;
}

static const char *parse(fixture *f, cursor *c) {
  unsigned char magic[4];
  uint32_t version, plen, narrays;
  if (!rd_bytes(c, magic, 4) || memcmp(magic, "CLSF", 4) != 0)
    return "not a clsf file (bad magic)";
  if (!rd_u32(c, &version) || version != 1)
    return "unsupported clsf version";
  if (!rd_u32(c, &plen) || plen > FIXTURE_MAX_PARAMS)
    return "bad params length";
  f->params = malloc((size_t)plen + 1);
  if (!f->params)
    return "out of memory";
  if (!rd_bytes(c, f->params, plen))
    return "truncated params";
  f->params[plen] = '\0';
  if (strlen(f->params) != plen)
    return "NUL inside params";
  const char *msg = parse_params(f);
  if (msg)
    return msg;
  if (!rd_u32(c, &narrays) || narrays > FIXTURE_MAX_ARRAYS)
    return "bad array count";
  f->arrays = calloc(narrays ? narrays : 1, sizeof(*f->arrays));
  if (!f->arrays)
    return "out of memory";
  for (uint32_t i = 0; i < narrays; i++) {
    f->narrays = i + 1; /* so that fixture_free releases a partly read array too */
    if ((msg = parse_array(c, &f->arrays[i])))
      return msg;
    if (fixture_get(f, f->arrays[i].name) != &f->arrays[i])
      return "duplicate array name";
  }
  return c->off == c->len ? NULL : "trailing bytes after the last array";
}

fixture *fixture_load(const char *path, char *err, size_t errlen) {
  size_t len = 0;
  unsigned char *buf = slurp(path, &len, err, errlen);
  if (!buf)
    return NULL;
  fixture *f = calloc(1, sizeof(*f));
  if (!f) {
    free(buf);
    set_err(err, errlen, path, "out of memory");
    return NULL;
  }
  cursor c = {buf, len, 0};
  const char *msg = parse(f, &c);
  free(buf);
  if (msg) {
    set_err(err, errlen, path, msg);
    fixture_free(f);
    return NULL;
  }
  return f;
}

void fixture_free(fixture *f) {
  if (!f)
    return;
  for (size_t i = 0; i < f->narrays; i++)
    free(f->arrays[i].data);
  free(f->arrays);
  free(f->kv);
  free(f->text);
  free(f->params);
  free(f);
}

const fixture_array *fixture_get(const fixture *f, const char *name) {
  for (size_t i = 0; i < f->narrays; i++)
    if (strcmp(f->arrays[i].name, name) == 0)
      return &f->arrays[i];
  return NULL;
}

bool fixture_shape4(const fixture_array *a, int64_t s[4]) {
  if (a->ndim > 4)
    return false;
  for (int d = 0; d < 4; d++)
    s[d] = 1;
  for (int d = 0; d < a->ndim; d++)
    s[4 - a->ndim + d] = a->dims[d];
  return true;
}

const char *fixture_param(const fixture *f, const char *key) {
  for (size_t i = 0; i < f->nkv; i++)
    if (strcmp(f->kv[i].key, key) == 0)
      return f->kv[i].value;
  return NULL;
}

int fixture_param_int(const fixture *f, const char *key, int def) {
  const char *v = fixture_param(f, key);
  if (!v || !*v)
    return def;
  char *end;
  errno = 0;
  long r = strtol(v, &end, 10);
  return (*end || errno || r < -2147483647L || r > 2147483647L) ? def : (int)r;
}

float fixture_param_float(const fixture *f, const char *key, float def) {
  const char *v = fixture_param(f, key);
  if (!v || !*v)
    return def;
  char *end;
  float r = strtof(v, &end);
  return *end ? def : r;
}

const char *fixture_params_text(const fixture *f) {
  return f->text ? f->text : "";
}

const char *const fixture_act_names[FIXTURE_ACT_COUNT] = {
    "none",    "relu",         "relu6",      "clip", "leaky_relu",
    "sigmoid", "hard_sigmoid", "hard_swish", "tanh", "gelu"};

int fixture_act_kind(const fixture *f) {
  const char *v = fixture_param(f, "act.kind");
  for (int i = 0; v && i < FIXTURE_ACT_COUNT; i++)
    if (strcmp(v, fixture_act_names[i]) == 0)
      return i;
  return -1;
}
