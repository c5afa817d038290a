/* Device classes for the tuning lookup: a real device's type / vendor / architecture, the device
 * profiles of CLSEG_AS_DEVICE (plan as that device would, run on this one), the user tuning file's
 * path, and the public report of matched rows (`clseg devices --verbose`). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tuning.h"

/* Profiles of the devices we ship rows for. The names are what drivers report, so that name
 * patterns in the tables match a profile as they would match the device. */
static const struct {
  const char *profile, *type, *vendor, *arch, *name;
} PROFILES[] = {
    {"nvidia-sm80", "gpu", "nvidia", "sm_80", "NVIDIA A100-SXM4-80GB"},
    {"nvidia-sm90", "gpu", "nvidia", "sm_90", "NVIDIA H100 80GB HBM3"},
    {"amd-gfx906", "gpu", "amd", "gfx906", "gfx906:sramecc+:xnack-"},
    {"amd-gfx90a", "gpu", "amd", "gfx90a", "gfx90a:sramecc+:xnack-"},
    {"amd-gfx1030", "gpu", "amd", "gfx1030", "gfx1030"},
    {"intel-xe", "gpu", "intel", "xe", "Intel(R) Arc(TM) A770 Graphics"},
    {"cpu-avx2", "cpu", "amd", "avx2", "pthread-znver3-AMD EPYC 7B13 64-Core Processor"},
    {"cpu-avx512", "cpu", "amd", "avx512", "pthread-znver4-AMD EPYC 9B14"},
};
#define NPROFILES (int)(sizeof PROFILES / sizeof PROFILES[0])

int clseg__device_profile(const char *name, clseg__device_class *out) {
  for (int i = 0; i < NPROFILES; i++) {
    if (strcmp(PROFILES[i].profile, name))
      continue;
    memset(out, 0, sizeof *out);
    snprintf(out->type, sizeof out->type, "%s", PROFILES[i].type);
    snprintf(out->vendor, sizeof out->vendor, "%s", PROFILES[i].vendor);
    snprintf(out->arch, sizeof out->arch, "%s", PROFILES[i].arch);
    snprintf(out->name, sizeof out->name, "%s", PROFILES[i].name);
    snprintf(out->profile, sizeof out->profile, "%s", PROFILES[i].profile);
    return 1;
  }
  return 0;
}

const char *clseg__device_profile_names(void) {
  return "nvidia-sm80 nvidia-sm90 amd-gfx906 amd-gfx90a amd-gfx1030 intel-xe cpu-avx2 cpu-avx512";
}

static int contains_ci(const char *hay, const char *needle) {
  for (; *hay; hay++) {
    size_t k = 0;
    while (needle[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k]))
      k++;
    if (!needle[k])
      return 1;
  }
  return 0;
}

/* A vendor word from the vendor id and the vendor and platform strings (PoCL's CPU device reports
 * the CPU's vendor, "GenuineIntel" or "AuthenticAMD"). */
static const char *vendor_of(const clseg_device_info *i) {
  static const struct {
    uint32_t id;
    const char *word, *text;
  } V[] = {{0x10de, "nvidia", "nvidia"},    {0x1002, "amd", "advanced micro"},
           {0x1022, "amd", "authenticamd"}, {0x8086, "intel", "intel"},
           {0x13b5, "arm", "arm"},          {0x106b, "apple", "apple"},
           {0x5143, "qualcomm", "qualcomm"}};
  for (size_t k = 0; k < sizeof V / sizeof V[0]; k++)
    if (i->vendor_id == V[k].id || contains_ci(i->vendor, V[k].text))
      return V[k].word;
  return "other";
}

void clseg__device_class_of(const clseg_device_info *i, clseg__device_class *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->type, sizeof out->type, "%s",
           i->type == CLSEG_DEVICE_GPU           ? "gpu"
           : i->type == CLSEG_DEVICE_CPU         ? "cpu"
           : i->type == CLSEG_DEVICE_ACCELERATOR ? "accelerator"
                                                 : "other");
  snprintf(out->vendor, sizeof out->vendor, "%s", vendor_of(i));
  snprintf(out->arch, sizeof out->arch, "%s", i->arch[0] ? i->arch : "unknown");
  snprintf(out->name, sizeof out->name, "%s", i->name);
}

int clseg__tuning_path_for(const clseg_device_info *i, char *buf, size_t size) {
  char dir[1024], key[700];
  if (!clseg__cache_folder(dir, sizeof dir)) /* CLSEG_CACHE=off is for kernel binaries only */
    return 0;
  snprintf(key, sizeof key, "clseg-tuning-v1|dev=%s|drv=%s|plat=%s %s", i->name, i->driver_version,
           i->platform_name, i->platform_version);
  const uint64_t h = clseg__fnv1a(key, strlen(key), CLSEG__FNV_SEED);
  const int n = snprintf(buf, size, "%s/tuning-%016llx.tsv", dir, (unsigned long long)h);
  return n > 0 && (size_t)n < size;
}

int clseg_tuning_file(const clseg_device_info *device, char *buf, size_t size) {
  return device && buf && size ? clseg__tuning_path_for(device, buf, size) : 0;
}

/* ---- the report of `clseg devices --verbose` ---- */

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
