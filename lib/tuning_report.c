/* The public report of the tuning rows a device matches (clseg_tuning_report, for `clseg devices
 * --verbose`): the shipped tables parsed on their own, matched to the device's class or its
 * CLSEG_AS_DEVICE profile, and where its user tuning file lives. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tuning.h"

static int add(char **out, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add(char **out, size_t *len, size_t *cap, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(*out ? *out + *len : NULL, *out ? *cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return 0;
    if (*out && *len + (size_t)n < *cap) {
      *len += (size_t)n;
      return 1;
    }
    size_t nc = (*cap + (size_t)n + 1) * 2;
    char *p = realloc(*out, nc);
    if (!p)
      return 0;
    *out = p;
    *cap = nc;
  }
}

static int seen_before(const clseg__tune_row *rows, int i) {
  for (int k = 0; k < i; k++)
    if (!strcmp(rows[k].variant, rows[i].variant))
      return 1;
  return 0;
}

static int report_rows(const clseg__tune_row *rows, int n, const clseg__device_class *cls,
                       char **out, size_t *len, size_t *cap) {
  int ok = 1;
  for (int i = 0; ok && i < n; i++) {
    if (seen_before(rows, i))
      continue;
    const clseg__tune_row *r = clseg__tune_match(rows, n, cls, rows[i].variant);
    ok = add(out, len, cap, "  %-26s %s (%s %s %s)", r->variant, r->source, r->type, r->vendor,
             r->pattern);
    for (int c = 0; ok && c < r->ncells; c++)
      ok = add(out, len, cap, " %s=%.10g", r->cells[c].name, r->cells[c].value);
    ok = ok && add(out, len, cap, "\n");
  }
  return ok;
}

clseg_status clseg_tuning_report(const clseg_device_info *device, char **text) {
  if (!device || !text)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_tuning_report: NULL argument");
  *text = NULL;
  clseg__device_class cls;
  const char *as = getenv("CLSEG_AS_DEVICE");
  if (as && *as && !clseg__device_profile(as, &cls))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "CLSEG_AS_DEVICE: unknown device profile '%s' (known: %s)", as,
                       clseg__device_profile_names());
  if (!(as && *as))
    clseg__device_class_of(device, &cls);
  clseg__tune_row *rows = NULL;
  int n = 0;
  clseg_status s = CLSEG_OK;
  for (size_t i = 0; s == CLSEG_OK && i < clseg__tuning_source_count; i++) {
    const size_t nl = strlen(clseg__tuning_sources[i].name);
    if (nl < 4 || strcmp(clseg__tuning_sources[i].name + nl - 4, ".tsv"))
      continue;
    char name[256];
    snprintf(name, sizeof name, "cl/tuning/%s", clseg__tuning_sources[i].name);
    s = clseg__tune_parse(NULL, name, (const char *)clseg__tuning_sources[i].bytes, 0, &rows, &n);
  }
  char *out = NULL, path[1200];
  size_t len = 0, cap = 0;
  const int has_path = clseg__tuning_path_for(device, path, sizeof path);
  int ok = s == CLSEG_OK &&
           add(&out, &len, &cap, "  tuning as %s %s arch %s%s%s%s: rows matched per variant\n",
               cls.type, cls.vendor, cls.arch, cls.profile[0] ? " (profile " : "", cls.profile,
               cls.profile[0] ? ")" : "") &&
           report_rows(rows, n, &cls, &out, &len, &cap) &&
           add(&out, &len, &cap, "  user tuning file: %s%s\n", has_path ? path : "(cache off)",
               !has_path                 ? ""
               : access(path, R_OK) == 0 ? " (present)"
                                         : " (none; `clseg tune` writes it)");
  free(rows);
  if (s != CLSEG_OK) {
    free(out);
    return s;
  }
  if (!ok) {
    free(out);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "tuning report: out of host memory");
  }
  *text = out;
  return CLSEG_OK;
}
