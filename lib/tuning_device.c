/* Device classes for the tuning lookup: a real device's type / vendor / architecture, the device
 * profiles of CLSEG_AS_DEVICE (plan as that device would, run on this one), and the user tuning
 * file's path. Needs nothing of the row tables: tuning.c and tuning_report.c build on it. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
