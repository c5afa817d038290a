/* Device layer: enumerates every OpenCL platform and device, records capabilities, and resolves a
 * selection spec ("auto", "gpu", "cpu:1", "0:1", "pocl") to one device. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_PLATFORMS 32
#define MAX_DEVICES   64

typedef struct {
  clseg_device_info info;
  cl_platform_id platform;
  cl_device_id device;
} entry;

static void str_info(cl_device_id d, cl_device_info what, char *buf, size_t size) {
  buf[0] = 0;
  if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS)
    buf[0] = 0;
  buf[size - 1] = 0;
}

static uint64_t u64_info(cl_device_id d, cl_device_info what) {
  cl_ulong v = 0;
  return clGetDeviceInfo(d, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static uint32_t u32_info(cl_device_id d, cl_device_info what) {
  cl_uint v = 0;
  return clGetDeviceInfo(d, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static int has_extension(cl_device_id d, const char *ext) {
  size_t n = 0;
  if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &n) != CL_SUCCESS || n == 0)
    return 0;
  char *s = malloc(n + 1);
  if (!s)
    return 0;
  int found = 0;
  if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, n, s, NULL) == CL_SUCCESS) {
    s[n] = 0;
    size_t len = strlen(ext);
    for (char *p = strstr(s, ext); p && !found; p = strstr(p + 1, ext))
      found = (p == s || p[-1] == ' ') && (p[len] == ' ' || p[len] == 0);
  }
  free(s);
  return found;
}

/* The architecture the tuning rows match (lib/tuning.c): NVIDIA's compute capability as sm_XY
 * (cl_nv_device_attribute_query), AMD's gfx name (ROCm reports it as the device name, with
 * feature suffixes after ':'), Intel's GPU generation, and a CPU's widest float vector (16 floats:
 * avx512, 8: avx2), which is what decides the register tiles of the CPU kernels. */
#define CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV 0x4000
#define CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV 0x4001

static void arch_of(cl_device_id d, clseg_device_info *i) {
  char *a = i->arch;
  const size_t n = sizeof i->arch;
  if (i->type == CLSEG_DEVICE_CPU) {
    const uint32_t w = u32_info(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT);
    const int arm = strstr(i->device_version, "aarch64") || strstr(i->name, "aarch64") ||
                    strstr(i->device_version, "arm") != NULL;
    snprintf(a, n, "%s", arm ? "neon" : w >= 16 ? "avx512" : w >= 8 ? "avx2" : "sse");
  } else if (has_extension(d, "cl_nv_device_attribute_query")) {
    snprintf(a, n, "sm_%u%u", u32_info(d, CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV),
             u32_info(d, CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV));
  } else if (!strncmp(i->name, "gfx", 3)) {
    snprintf(a, n, "%.*s", (int)strcspn(i->name, ": "), i->name);
  } else if (i->vendor_id == 0x8086 && i->type == CLSEG_DEVICE_GPU) {
    snprintf(a, n, "%s",
             strstr(i->name, "Arc") || strstr(i->name, "Xe") || strstr(i->name, "Data Center")
                 ? "xe"
                 : "gen");
  } else {
    snprintf(a, n, "unknown");
  }
}

/* The "auto" ranking: any GPU beats any accelerator beats any CPU; within a type, a discrete GPU
 * beats an integrated one, then more compute units x clock wins. */
static double score(const clseg_device_info *i) {
  double base = i->type == CLSEG_DEVICE_GPU ? 4e9 : i->type == CLSEG_DEVICE_ACCELERATOR ? 2e9 : 1e9;
  if (i->type == CLSEG_DEVICE_GPU && !i->unified_memory)
    base += 1e9;
  double clock = i->clock_mhz ? i->clock_mhz : 1000;
  return i->available ? base + (double)i->compute_units * clock : 0;
}

static void fill(entry *e, cl_platform_id p, cl_device_id d, int pi, int di) {
  clseg_device_info *i = &e->info;
  memset(i, 0, sizeof *i);
  e->platform = p;
  e->device = d;
  i->platform_index = pi;
  i->device_index = di;
  clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof i->platform_name, i->platform_name, NULL);
  clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof i->platform_version, i->platform_version, NULL);
  clGetPlatformInfo(p, CL_PLATFORM_VENDOR, sizeof i->platform_vendor, i->platform_vendor, NULL);
  i->platform_vendor[sizeof i->platform_vendor - 1] = 0;
  i->platform_name[sizeof i->platform_name - 1] = 0;
  i->platform_version[sizeof i->platform_version - 1] = 0;
  str_info(d, CL_DEVICE_NAME, i->name, sizeof i->name);
  str_info(d, CL_DEVICE_VENDOR, i->vendor, sizeof i->vendor);
  str_info(d, CL_DEVICE_VERSION, i->device_version, sizeof i->device_version);
  str_info(d, CL_DRIVER_VERSION, i->driver_version, sizeof i->driver_version);
  str_info(d, CL_DEVICE_OPENCL_C_VERSION, i->opencl_c_version, sizeof i->opencl_c_version);
  cl_device_type t = 0;
  clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
  i->type = (t & CL_DEVICE_TYPE_GPU)           ? CLSEG_DEVICE_GPU
            : (t & CL_DEVICE_TYPE_CPU)         ? CLSEG_DEVICE_CPU
            : (t & CL_DEVICE_TYPE_ACCELERATOR) ? CLSEG_DEVICE_ACCELERATOR
                                               : CLSEG_DEVICE_OTHER;
  i->vendor_id = u32_info(d, CL_DEVICE_VENDOR_ID);
  i->compute_units = u32_info(d, CL_DEVICE_MAX_COMPUTE_UNITS);
  i->clock_mhz = u32_info(d, CL_DEVICE_MAX_CLOCK_FREQUENCY);
  i->global_mem = u64_info(d, CL_DEVICE_GLOBAL_MEM_SIZE);
  i->local_mem = u64_info(d, CL_DEVICE_LOCAL_MEM_SIZE);
  i->max_alloc = u64_info(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  size_t wg = 0;
  clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
  i->max_work_group = wg;
  cl_bool b = CL_FALSE;
  clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof b, &b, NULL);
  i->unified_memory = b == CL_TRUE || i->type == CLSEG_DEVICE_CPU;
  i->fp16 = has_extension(d, "cl_khr_fp16");
  i->fp64 = has_extension(d, "cl_khr_fp64");
  i->subgroups = has_extension(d, "cl_khr_subgroups") || has_extension(d, "cl_intel_subgroups");
  cl_bool avail = CL_FALSE, comp = CL_FALSE;
  clGetDeviceInfo(d, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
  clGetDeviceInfo(d, CL_DEVICE_COMPILER_AVAILABLE, sizeof comp, &comp, NULL);
  i->available = avail == CL_TRUE && comp == CL_TRUE;
  i->score = score(i);
  arch_of(d, i);
}

/* Enumerates into a caller array; platforms that fail or have no devices (Mesa's Clover without a
 * device) are skipped. */
static size_t enumerate(entry *out, size_t cap) {
  cl_platform_id plats[MAX_PLATFORMS];
  cl_uint np = 0;
  if (clGetPlatformIDs(MAX_PLATFORMS, plats, &np) != CL_SUCCESS)
    return 0;
  if (np > MAX_PLATFORMS)
    np = MAX_PLATFORMS;
  size_t n = 0;
  int type_counts[16] = {0};
  for (cl_uint p = 0; p < np; p++) {
    cl_device_id devs[MAX_DEVICES];
    cl_uint nd = 0;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
      continue;
    if (nd > MAX_DEVICES)
      nd = MAX_DEVICES;
    for (cl_uint d = 0; d < nd && n < cap; d++, n++) {
      fill(&out[n], plats[p], devs[d], (int)p, (int)d);
      out[n].info.type_index = type_counts[out[n].info.type]++;
    }
  }
  return n;
}

clseg_status clseg_device_list(clseg_device_info **devices, size_t *count) {
  if (!devices || !count)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_device_list: NULL output argument");
  *devices = NULL;
  *count = 0;
  entry *all = calloc(MAX_DEVICES, sizeof *all);
  if (!all)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "listing OpenCL devices: out of host memory");
  size_t n = enumerate(all, MAX_DEVICES);
  if (n == 0) {
    free(all);
    return clseg__fail(NULL, CLSEG_NO_DEVICE,
                       "no OpenCL device found: no platform answered, or no platform has a device "
                       "(install an OpenCL driver, e.g. pocl-opencl-icd for the CPU)");
  }
  clseg_device_info *infos = calloc(n, sizeof *infos);
  if (!infos) {
    free(all);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "listing OpenCL devices: out of host memory");
  }
  for (size_t i = 0; i < n; i++)
    infos[i] = all[i].info;
  free(all);
  *devices = infos;
  *count = n;
  return CLSEG_OK;
}

void clseg_device_list_free(clseg_device_info *devices) {
  free(devices);
}

static int ci_contains(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (; *hay; hay++) {
    size_t k = 0;
    while (k < nl && hay[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k]))
      k++;
    if (k == nl)
      return 1;
  }
  return nl == 0;
}

static int parse_index(const char *s, int *out) {
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 1000000)
    return 0;
  *out = (int)v;
  return 1;
}

/* Returns the index in all[] that spec picks, or -1. */
static int match(const entry *all, size_t n, const char *spec) {
  int best = -1;
  int want_type = 0, want_idx = -1, p = -1, d = -1;
  if (!spec || !*spec || !strcmp(spec, "auto")) {
    for (size_t i = 0; i < n; i++)
      if (all[i].info.available && (best < 0 || all[i].info.score > all[best].info.score))
        best = (int)i;
    return best;
  }
  const char *colon = strchr(spec, ':');
  char head[32] = {0};
  if (colon && (size_t)(colon - spec) < sizeof head)
    memcpy(head, spec, (size_t)(colon - spec));
  const char *type_word = colon ? head : spec;
  if (!strcmp(type_word, "gpu"))
    want_type = CLSEG_DEVICE_GPU;
  else if (!strcmp(type_word, "cpu"))
    want_type = CLSEG_DEVICE_CPU;
  else if (!strcmp(type_word, "accelerator"))
    want_type = CLSEG_DEVICE_ACCELERATOR;
  if (want_type && colon && !parse_index(colon + 1, &want_idx))
    return -1;
  if (want_type) {
    for (size_t i = 0; i < n; i++) {
      if ((int)all[i].info.type != want_type)
        continue;
      if (want_idx >= 0
              ? all[i].info.type_index == want_idx
              : (all[i].info.available && (best < 0 || all[i].info.score > all[best].info.score)))
        best = (int)i;
    }
    return best;
  }
  if (colon && parse_index(head, &p) && parse_index(colon + 1, &d)) {
    for (size_t i = 0; i < n; i++)
      if (all[i].info.platform_index == p && all[i].info.device_index == d)
        return (int)i;
    return -1;
  }
  for (size_t i = 0; i < n; i++) /* a name substring: the best-scoring match */
    if ((ci_contains(all[i].info.name, spec) || ci_contains(all[i].info.platform_name, spec) ||
         ci_contains(all[i].info.vendor, spec) || ci_contains(all[i].info.platform_vendor, spec) ||
         ci_contains(all[i].info.platform_version, spec)) &&
        (best < 0 || all[i].info.score > all[best].info.score))
      best = (int)i;
  return best;
}

static void list_devices(const entry *all, size_t n, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = 0;
  for (size_t i = 0; i < n && used < size; i++) {
    int w = snprintf(buf + used, size - used, "%s  %d:%d %s [%s] on %s", i ? "\n" : "",
                     all[i].info.platform_index, all[i].info.device_index,
                     all[i].info.type == CLSEG_DEVICE_GPU   ? "gpu"
                     : all[i].info.type == CLSEG_DEVICE_CPU ? "cpu"
                                                            : "other",
                     all[i].info.name, all[i].info.platform_name);
    if (w < 0)
      break;
    used += (size_t)w;
  }
}

clseg_status clseg__device_pick(const char *spec, clseg_device_info *info, cl_platform_id *platform,
                                cl_device_id *device) {
  entry *all = calloc(MAX_DEVICES, sizeof *all);
  if (!all)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "selecting a device: out of host memory");
  size_t n = enumerate(all, MAX_DEVICES);
  if (n == 0) {
    free(all);
    return clseg__fail(NULL, CLSEG_NO_DEVICE,
                       "device '%s': no OpenCL device found on this machine (install an OpenCL "
                       "driver, e.g. pocl-opencl-icd for the CPU)",
                       spec ? spec : "auto");
  }
  int i = match(all, n, spec);
  if (i < 0) {
    char list[1200];
    list_devices(all, n, list, sizeof list);
    free(all);
    return clseg__fail(
        NULL, CLSEG_NO_DEVICE,
        "device '%s' matches no OpenCL device; the devices are:\n%s\n(use auto, gpu, "
        "cpu, gpu:N, cpu:N, P:D, or part of a name)",
        spec, list);
  }
  if (info)
    *info = all[i].info;
  if (platform)
    *platform = all[i].platform;
  if (device)
    *device = all[i].device;
  free(all);
  return CLSEG_OK;
}

clseg_status clseg_device_select(const char *spec, clseg_device_info *out) {
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_device_select: NULL output argument");
  return clseg__device_pick(spec, out, NULL, NULL);
}
