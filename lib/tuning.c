/* Tuning rows: parsing the shipped tables and user tuning files, matching rows to a device class
 * (name -> architecture -> vendor -> type -> default, as CLBlast orders its data), and the
 * per-context state the ops look values up in. Device classes and profiles: tuning_device.c; the
 * report of matched rows: tuning_report.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tuning.h"

struct clseg__tuning {
  clseg__device_class cls;
  clseg__tune_row *rows; /* every shipped table, in table then line order */
  int nrows;
  clseg__tune_row *user; /* the user tuning file's rows */
  int nuser;
  const clseg__tune_row *forced; /* the tuner's candidate, or NULL */
  int user_off;                  /* the tuner measures the shipped rows */
};

/* ---- parsing ---- */

static int copy_word(char *dst, size_t size, const char *src, size_t n) {
  if (n == 0 || n >= size)
    return 0;
  memcpy(dst, src, n);
  dst[n] = 0;
  return 1;
}

/* Splits line (no newline) into whitespace-separated words; returns their count (at most max). */
static int split(const char *line, const char **w, size_t *len, int max) {
  int n = 0;
  for (const char *p = line; *p && n <= max;) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (!*p)
      break;
    const char *s = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
      p++;
    if (n < max) {
      w[n] = s;
      len[n] = (size_t)(p - s);
    }
    n++;
  }
  return n;
}

static clseg_status parse_cell(clseg_context *ctx, const char *where, const char *w, size_t n,
                               clseg__tune_cell *c) {
  const char *eq = memchr(w, '=', n);
  char num[64];
  if (!eq || !copy_word(c->name, sizeof c->name, w, (size_t)(eq - w)) ||
      !copy_word(num, sizeof num, eq + 1, n - (size_t)(eq - w) - 1))
    return clseg__fail(ctx, CLSEG_FORMAT, "%s: '%.*s' is not a NAME=value cell", where, (int)n, w);
  for (const char *q = c->name; *q; q++)
    if (!isupper((unsigned char)*q) && !isdigit((unsigned char)*q) && *q != '_')
      return clseg__fail(ctx, CLSEG_FORMAT, "%s: cell name '%s' is not an upper-case macro name",
                         where, c->name);
  char *end = NULL;
  c->value = strtod(num, &end);
  if (end == num || *end)
    return clseg__fail(ctx, CLSEG_FORMAT, "%s: cell %s has value '%s', not a number", where,
                       c->name, num);
  return CLSEG_OK;
}

/* One non-comment line into r. */
static clseg_status parse_line(clseg_context *ctx, const char *where, const char *line, int user,
                               clseg__tune_row *r) {
  const char *w[CLSEG__TUNE_MAX_CELLS + 5];
  size_t len[CLSEG__TUNE_MAX_CELLS + 5];
  const int fixed = user ? 2 : 4, max = CLSEG__TUNE_MAX_CELLS + fixed;
  const int n = split(line, w, len, max);
  memset(r, 0, sizeof *r);
  if (n > max)
    return clseg__fail(ctx, CLSEG_FORMAT, "%s: more than %d cells", where, CLSEG__TUNE_MAX_CELLS);
  if (n < fixed)
    return clseg__fail(ctx, CLSEG_FORMAT, "%s: expected %s, then NAME=value cells", where,
                       user ? "a variant and a shape" : "variant, device type, vendor, pattern");
  int ok = copy_word(r->variant, sizeof r->variant, w[0], len[0]);
  if (user) {
    ok = ok && copy_word(r->shape, sizeof r->shape, w[1], len[1]);
  } else {
    ok = ok && copy_word(r->type, sizeof r->type, w[1], len[1]) &&
         copy_word(r->vendor, sizeof r->vendor, w[2], len[2]) &&
         copy_word(r->pattern, sizeof r->pattern, w[3], len[3]);
    strcpy(r->shape, "*");
  }
  if (!ok)
    return clseg__fail(ctx, CLSEG_FORMAT, "%s: a column is too long", where);
  for (int i = fixed; i < n; i++) {
    clseg_status s = parse_cell(ctx, where, w[i], len[i], &r->cells[r->ncells]);
    if (s != CLSEG_OK)
      return s;
    for (int k = 0; k < r->ncells; k++)
      if (!strcmp(r->cells[k].name, r->cells[r->ncells].name))
        return clseg__fail(ctx, CLSEG_FORMAT, "%s: cell %s given twice", where, r->cells[k].name);
    r->ncells++;
  }
  snprintf(r->source, sizeof r->source, "%s", where);
  return CLSEG_OK;
}

clseg_status clseg__tune_parse(clseg_context *ctx, const char *name, const char *text, int user,
                               clseg__tune_row **rows, int *nrows) {
  int line_no = 0;
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    char line[1024], where[192];
    line_no++;
    snprintf(where, sizeof where, "%s:%d", name, line_no);
    if (n >= sizeof line)
      return clseg__fail(ctx, CLSEG_FORMAT, "%s: line longer than %zu characters", where,
                         sizeof line - 1);
    memcpy(line, p, n);
    line[n] = 0;
    p += nl ? n + 1 : n;
    const char *q = line;
    while (*q == ' ' || *q == '\t' || *q == '\r')
      q++;
    if (!*q || *q == '#')
      continue;
    clseg__tune_row *nr = realloc(*rows, sizeof *nr * (size_t)(*nrows + 1));
    if (!nr)
      return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "%s: out of host memory", where);
    *rows = nr;
    clseg_status s = parse_line(ctx, where, q, user, &nr[*nrows]);
    if (s != CLSEG_OK)
      return s;
    (*nrows)++;
  }
  return CLSEG_OK;
}

/* ---- matching ---- */

static int glob(const char *pat, const char *s) {
  if (*pat == '*') {
    for (;; s++) {
      if (glob(pat + 1, s))
        return 1;
      if (!*s)
        return 0;
    }
  }
  if (!*s)
    return !*pat;
  if (*pat != '?' && tolower((unsigned char)*pat) != tolower((unsigned char)*s))
    return 0;
  return glob(pat + 1, s + 1);
}

static int is_any(const char *s) {
  return !strcmp(s, "*");
}

/* How specifically r matches c: 4 by device name, 3 by architecture, 2 by vendor, 1 by type, 0 a
 * default row; -1 when it does not match. */
static int level(const clseg__tune_row *r, const clseg__device_class *c) {
  if ((!is_any(r->type) && strcmp(r->type, c->type)) ||
      (!is_any(r->vendor) && strcmp(r->vendor, c->vendor)))
    return -1;
  if (!strncmp(r->pattern, "arch:", 5))
    return glob(r->pattern + 5, c->arch) ? 3 : -1;
  if (!is_any(r->pattern))
    return glob(r->pattern, c->name) ? 4 : -1;
  return !is_any(r->vendor) ? 2 : !is_any(r->type) ? 1 : 0;
}

const clseg__tune_row *clseg__tune_match(const clseg__tune_row *rows, int nrows,
                                         const clseg__device_class *cls, const char *variant) {
  const clseg__tune_row *best = NULL;
  int best_level = -1;
  for (int i = 0; i < nrows; i++) {
    if (strcmp(rows[i].variant, variant))
      continue;
    int l = level(&rows[i], cls);
    if (l > best_level) { /* ties: the first row in the table wins */
      best = &rows[i];
      best_level = l;
    }
  }
  return best;
}

static const clseg__tune_cell *cell(const clseg__tune_row *r, const char *name) {
  for (int i = 0; r && i < r->ncells; i++)
    if (!strcmp(r->cells[i].name, name))
      return &r->cells[i];
  return NULL;
}

static int is_default(const clseg__tune_row *r) {
  return is_any(r->type) && is_any(r->vendor) && is_any(r->pattern);
}

static const clseg__tune_row *default_row(const clseg__tuning *t, const char *variant) {
  for (int i = 0; i < t->nrows; i++)
    if (!strcmp(t->rows[i].variant, variant) && is_default(&t->rows[i]))
      return &t->rows[i];
  return NULL;
}

/* Every variant has a default row, and every row of it carries exactly the default row's cells:
 * an unknown device then still gets a whole configuration. */
static clseg_status check_shipped(clseg_context *ctx, const clseg__tuning *t) {
  for (int i = 0; i < t->nrows; i++) {
    const clseg__tune_row *r = &t->rows[i], *d = default_row(t, r->variant);
    if (!d)
      return clseg__fail(ctx, CLSEG_FORMAT, "%s: variant %s has no default row (* * *)", r->source,
                         r->variant);
    int same = r->ncells == d->ncells;
    for (int k = 0; same && k < r->ncells; k++)
      same = cell(d, r->cells[k].name) != NULL;
    if (!same)
      return clseg__fail(ctx, CLSEG_FORMAT,
                         "%s: row of %s has other cells than its default row %s (every row is a "
                         "whole configuration)",
                         r->source, r->variant, d->source);
  }
  return CLSEG_OK;
}

/* A user row must name a shipped variant and only its cells: a typo is an error, never a silent
 * default. */
static clseg_status check_user(clseg_context *ctx, const clseg__tuning *t) {
  for (int i = 0; i < t->nuser; i++) {
    const clseg__tune_row *r = &t->user[i], *d = default_row(t, r->variant);
    if (!d)
      return clseg__fail(ctx, CLSEG_FORMAT,
                         "%s: unknown variant '%s' (set CLSEG_TUNING=off to ignore the file, or "
                         "run clseg tune again)",
                         r->source, r->variant);
    for (int k = 0; k < r->ncells; k++) {
      if (cell(d, r->cells[k].name))
        continue;
      char known[512] = "";
      for (int c = 0; c < d->ncells; c++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", c ? " " : "",
                 d->cells[c].name);
      return clseg__fail(ctx, CLSEG_FORMAT, "%s: unknown key '%s' for %s (known: %s)", r->source,
                         r->cells[k].name, r->variant, known);
    }
  }
  return CLSEG_OK;
}

/* ---- lookups ---- */

static const clseg__tune_row *user_row(const clseg__tuning *t, const char *variant,
                                       const char *shape) {
  if (t->forced && !strcmp(t->forced->variant, variant))
    return t->forced;
  if (t->user_off)
    return NULL;
  const clseg__tune_row *any = NULL;
  for (int i = 0; i < t->nuser; i++) {
    const clseg__tune_row *r = &t->user[i];
    if (strcmp(r->variant, variant))
      continue;
    if (shape && !strcmp(r->shape, shape))
      return r;
    if (is_any(r->shape) && !any)
      any = r;
  }
  return any;
}

clseg_status clseg__tune_get(clseg_context *ctx, const char *variant, const char *shape,
                             const char *const *keys, int nkeys, double *values,
                             clseg__tuned *out) {
  const clseg__tuning *t = ctx->tuning;
  CLSEG__CHECK(ctx, t != NULL);
  const clseg__tune_row *r = clseg__tune_match(t->rows, t->nrows, &t->cls, variant);
  if (!r)
    return clseg__fail(ctx, CLSEG_INTERNAL, "tuning: no row for variant %s in cl/tuning/", variant);
  const clseg__tune_row *u = user_row(t, variant, shape);
  for (int i = 0; i < nkeys; i++) {
    const clseg__tune_cell *c = cell(u, keys[i]);
    if (!c)
      c = cell(r, keys[i]);
    if (!c)
      return clseg__fail(ctx, CLSEG_INTERNAL, "tuning: row %s of %s has no cell %s", r->source,
                         variant, keys[i]);
    values[i] = c->value;
  }
  if (out)
    *out = (clseg__tuned){r, u};
  return CLSEG_OK;
}

const clseg__tune_row *clseg__tune_choice(clseg_context *ctx, const char *op, const char *shape) {
  const clseg__tuning *t = ctx->tuning;
  const size_t n = strlen(op);
  if (!t || !shape)
    return NULL;
  if (t->forced && !strncmp(t->forced->variant, op, n))
    return t->forced;
  for (int i = 0; !t->user_off && i < t->nuser; i++)
    if (!strncmp(t->user[i].variant, op, n) && !strcmp(t->user[i].shape, shape))
      return &t->user[i];
  return NULL;
}

void clseg__tune_force(clseg_context *ctx, const clseg__tune_row *row) {
  if (ctx->tuning)
    ctx->tuning->forced = row;
}

void clseg__tune_user_off(clseg_context *ctx, int off) {
  if (ctx->tuning)
    ctx->tuning->user_off = off;
}

const clseg__tune_row *clseg__tune_user_rows(const clseg_context *ctx, int *n) {
  *n = ctx->tuning ? ctx->tuning->nuser : 0;
  return ctx->tuning ? ctx->tuning->user : NULL;
}

void clseg__tuned_describe(const clseg__tuned *t, char *buf, size_t size) {
  const clseg__tune_row *r = t->row;
  int n = snprintf(buf, size, "%s (%s %s %s)", r ? r->source : "?", r ? r->type : "",
                   r ? r->vendor : "", r ? r->pattern : "");
  if (t->user && n > 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n, " + %s", t->user->source);
}

/* ---- setup ---- */

/* A table's text, or NULL when the file is missing or cannot be read (the callers fall back). */
static char *read_text(const char *path) {
  unsigned char *text;
  size_t len;
  return clseg__file_read(path, 0, &text, &len, NULL, 0) == CLSEG_OK ? (char *)text : NULL;
}

/* The shipped tables: the embedded ones, or CLSEG_KERNEL_DIR/tuning/<name> from disk. */
static clseg_status load_shipped(clseg_context *ctx, clseg__tuning *t) {
  for (size_t i = 0; i < clseg__tuning_source_count; i++) {
    const clseg__kernel_source *k = &clseg__tuning_sources[i];
    const size_t nl = strlen(k->name);
    if (nl < 4 || strcmp(k->name + nl - 4, ".tsv"))
      continue; /* a search space (<family>.space): the tuner's */
    char name[256];
    snprintf(name, sizeof name, "cl/tuning/%s", k->name);
    clseg_status s;
    if (ctx->kernel_dir) {
      char path[1200];
      snprintf(path, sizeof path, "%s/tuning/%s", ctx->kernel_dir, k->name);
      /* a kernel folder without the table (kernel work on a few files) uses the embedded one */
      char *text = read_text(path);
      s = clseg__tune_parse(ctx, text ? path : name, text ? text : (const char *)k->bytes, 0,
                            &t->rows, &t->nrows);
      free(text);
    } else {
      s = clseg__tune_parse(ctx, name, (const char *)k->bytes, 0, &t->rows, &t->nrows);
    }
    if (s != CLSEG_OK)
      return s;
  }
  return check_shipped(ctx, t);
}

/* The user tuning file of the device, when there is one (a missing file is no error). Under a
 * profile the device's own measurements do not apply, so none is read. */
static clseg_status load_user(clseg_context *ctx, clseg__tuning *t) {
  const char *off = getenv("CLSEG_TUNING");
  char path[1200];
  if ((off && (!strcmp(off, "off") || !strcmp(off, "0"))) || t->cls.profile[0] ||
      !clseg__tuning_file_path(ctx, path, sizeof path))
    return CLSEG_OK;
  char *text = read_text(path);
  if (!text)
    return CLSEG_OK;
  clseg_status s = clseg__tune_parse(ctx, path, text, 1, &t->user, &t->nuser);
  free(text);
  return s == CLSEG_OK ? check_user(ctx, t) : s;
}

clseg_status clseg__tuning_reload(clseg_context *ctx) {
  clseg__tuning *t = ctx->tuning;
  CLSEG__CHECK(ctx, t != NULL);
  free(t->user);
  t->user = NULL;
  t->nuser = 0;
  return load_user(ctx, t);
}

clseg_status clseg__tuning_init(clseg_context *ctx) {
  clseg__tuning *t = calloc(1, sizeof *t);
  if (!t)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "loading the tuning tables: out of host memory");
  ctx->tuning = t;
  const char *as = getenv("CLSEG_AS_DEVICE");
  if (as && *as) {
    if (!clseg__device_profile(as, &t->cls))
      return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                         "CLSEG_AS_DEVICE: unknown device profile '%s' (known: %s)", as,
                         clseg__device_profile_names());
  } else {
    clseg__device_class_of(&ctx->info, &t->cls);
  }
  clseg_status s = load_shipped(ctx, t);
  return s == CLSEG_OK ? load_user(ctx, t) : s;
}

void clseg__tuning_free(clseg_context *ctx) {
  if (!ctx->tuning)
    return;
  free(ctx->tuning->rows);
  free(ctx->tuning->user);
  free(ctx->tuning);
  ctx->tuning = NULL;
}

const clseg__device_class *clseg__tuning_class(const clseg_context *ctx) {
  return ctx->tuning ? &ctx->tuning->cls : NULL;
}

int clseg__tuning_file_path(const clseg_context *ctx, char *buf, size_t size) {
  return clseg__tuning_path_for(&ctx->info, buf, size);
}
