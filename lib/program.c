/* Kernel runtime: finds a kernel file's source (embedded table or CLSEG_KERNEL_DIR), builds it for
 * the context's device with -D options, going through the binary cache, and hands out kernels by
 * name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "internal.h"

#define MAX_INCLUDE_DEPTH 8

static int cmp_define(const void *a, const void *b) {
  return strcmp(((const clseg__define *)a)->name, ((const clseg__define *)b)->name);
}

int clseg__build_options(const clseg__define *defs, int count, char *buf, size_t size) {
  clseg__define sorted[64];
  if (count < 0 || count > 64 || size == 0)
    return 0;
  memcpy(sorted, defs, sizeof *defs * (size_t)count);
  qsort(sorted, (size_t)count, sizeof *sorted, cmp_define);
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < count; i++) {
    int n = snprintf(buf + used, size - used, "%s-D%s=%ld", i ? " " : "", sorted[i].name,
                     sorted[i].value);
    if (n < 0 || (size_t)n >= size - used)
      return 0;
    used += (size_t)n;
  }
  return 1;
}

static const clseg__kernel_source *embedded(const char *file) {
  size_t lo = 0, hi = clseg__kernel_source_count;
  while (lo < hi) { /* the generated table is sorted by name */
    size_t mid = (lo + hi) / 2;
    int c = strcmp(clseg__kernel_sources[mid].name, file);
    if (c == 0)
      return &clseg__kernel_sources[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Appends text to a growing buffer; returns 0 on allocation failure. */
static int append(char **out, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t nc = (*cap + n + 1) * 2;
    char *p = realloc(*out, nc);
    if (!p)
      return 0;
    *out = p;
    *cap = nc;
  }
  memcpy(*out + *len, s, n);
  *len += n;
  (*out)[*len] = 0;
  return 1;
}

/* Reads dir/file with its `#include "x"` lines replaced by the files' text, as tools/embed_cl.py
 * does; on failure returns NULL with the reason in why. */
static char *load_inlined(const char *dir, const char *file, int depth, size_t *out_len, char *why,
                          size_t why_len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (depth > MAX_INCLUDE_DEPTH) {
    snprintf(why, why_len, "'%s': includes nested more than %d deep", path, MAX_INCLUDE_DEPTH);
    return NULL;
  }
  unsigned char *text = NULL;
  size_t n = 0;
  if (clseg__file_read(path, 0, &text, &n, why, why_len) != CLSEG_OK)
    return NULL;
  char *src = (char *)text, *out = NULL;
  size_t len = 0, cap = 0;
  int ok = append(&out, &len, &cap, "", 0), inc_ok = 1;
  for (char *line = src; ok && *line;) {
    char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) + 1 : strlen(line);
    char name[256];
    if (sscanf(line, "#include \"%255[^\"]\"", name) == 1) {
      size_t il = 0;
      char *inc = load_inlined(dir, name, depth + 1, &il, why, why_len);
      inc_ok = inc != NULL;
      ok = inc && append(&out, &len, &cap, inc, il) && append(&out, &len, &cap, "\n", 1);
      free(inc);
    } else {
      ok = append(&out, &len, &cap, line, ll);
    }
    line += ll;
  }
  free(src);
  if (!ok) {
    if (inc_ok) /* else the include's reason stands */
      snprintf(why, why_len, "'%s': out of memory inlining its includes", path);
    free(out);
    return NULL;
  }
  *out_len = len;
  return out;
}

/* The source of cl/<file>; *owned says whether the caller frees it. */
static clseg_status get_source(clseg_context *ctx, const char *file, const char **src, size_t *len,
                               int *owned) {
  *owned = 0;
  if (ctx->kernel_dir) {
    char why[CLSEG__FILE_WHY_LEN];
    char *s = load_inlined(ctx->kernel_dir, file, 0, len, why, sizeof why);
    if (!s)
      return clseg__fail(ctx, CLSEG_IO,
                         "kernel file '%s/%s' (CLSEG_KERNEL_DIR) or one of its includes "
                         "cannot be read: %s",
                         ctx->kernel_dir, file, why);
    *src = s;
    *owned = 1;
    return CLSEG_OK;
  }
  const clseg__kernel_source *k = embedded(file);
  if (!k)
    return clseg__fail(ctx, CLSEG_INTERNAL, "no kernel file named '%s' is built into the library",
                       file);
  *src = (const char *)k->bytes;
  *len = k->len;
  return CLSEG_OK;
}

static clseg_status build_log(clseg_context *ctx, cl_program prog, const char *file,
                              const char *opts, cl_int err) {
  size_t n = 0;
  char *log = NULL;
  if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) == CL_SUCCESS &&
      (log = malloc(n + 1)) != NULL &&
      clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS)
    log[n] = 0;
  clseg_status s =
      clseg__fail(ctx, CLSEG_BUILD_FAILED,
                  "building kernel file cl/%s with options '%s' for %s failed (%s):\n%s", file,
                  opts, ctx->info.name, clseg__cl_error_name(err), log ? log : "(no log)");
  free(log);
  return s;
}

static clseg_status fetch_binary(cl_program prog, unsigned char **bin, size_t *len) {
  size_t n = 0;
  cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL);
  if (err != CL_SUCCESS || n == 0)
    return CLSEG_UNSUPPORTED; /* not every driver gives binaries; then we just do not cache */
  unsigned char *b = malloc(n);
  if (!b)
    return CLSEG_OUT_OF_MEMORY;
  if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof b, &b, NULL) != CL_SUCCESS) {
    free(b);
    return CLSEG_UNSUPPORTED;
  }
  *bin = b;
  *len = n;
  return CLSEG_OK;
}

static clseg_status from_cache(clseg_context *ctx, const char *key, const char *opts,
                               cl_program *out) {
  unsigned char *bin = NULL;
  size_t len = 0;
  if (!clseg__cache_load(ctx, key, &bin, &len))
    return CLSEG_IO;
  cl_int err, bstatus;
  const unsigned char *bp = bin;
  cl_program p = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, &bp, &bstatus, &err);
  free(bin);
  if (err == CL_SUCCESS && bstatus == CL_SUCCESS)
    err = clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL);
  if (err != CL_SUCCESS) { /* a binary the driver refuses is a miss, never an error */
    if (p)
      clReleaseProgram(p);
    ctx->stats.cache_rejected++;
    return CLSEG_IO;
  }
  ctx->stats.programs_from_cache++;
  *out = p;
  return CLSEG_OK;
}

/* Builds from source. The binary is not fetched here: on PoCL, CL_PROGRAM_BINARIES compiles every
 * kernel of the program (0.7-1 s), while a run compiles only the kernels it enqueues; the cache is
 * written by save_binary when the context is freed (see writes_binaries). */
static clseg_status from_source(clseg_context *ctx, const char *file, const char *src, size_t len,
                                const char *opts, cl_program *out) {
  cl_int err;
  cl_program p = clCreateProgramWithSource(ctx->cl, 1, &src, &len, &err);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(ctx, err, "creating the program of cl/%s", file);
  err = clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL);
  if (err != CL_SUCCESS) {
    clseg_status s = build_log(ctx, p, file, opts, err);
    clReleaseProgram(p);
    return s;
  }
  ctx->stats.programs_built++;
  *out = p;
  return CLSEG_OK;
}

/* Writes a program built from source to the binary cache (a failure only costs a rebuild later). */
static void save_binary(clseg_context *ctx, clseg__program *p) {
  unsigned char *bin = NULL;
  size_t blen = 0;
  if (fetch_binary(p->program, &bin, &blen) == CLSEG_OK) {
    clseg__cache_store(ctx, p->key, bin, blen);
    free(bin);
  }
  p->unsaved = 0;
}

/* Whether programs built from source go to the binary cache. PoCL keeps its own cache of built
 * programs and compiled kernels (POCL_KERNEL_CACHE, on unless 0), and there CL_PROGRAM_BINARIES
 * compiles every kernel of a program for the binary: 0.7-1 s a program, 13 s at the exit of the
 * README's first run on a 2-core Xeon, to save 0.35 s on later runs. So on PoCL with its cache on,
 * clseg writes binaries only when CLSEG_CACHE=on asks for them; other drivers always get them. */
static int writes_binaries(const clseg_context *ctx) {
  const char *mode = getenv("CLSEG_CACHE"), *pocl_cache = getenv("POCL_KERNEL_CACHE");
  if (mode && !strcmp(mode, "on"))
    return 1;
  const int pocl = strstr(ctx->info.platform_name, "Portable Computing Language") != NULL;
  return !pocl || (pocl_cache && !strcmp(pocl_cache, "0"));
}

static char *make_key(const clseg_context *ctx, const char *file, uint64_t src_hash,
                      const char *opts) {
  const clseg_device_info *i = &ctx->info;
  size_t n = strlen(file) + strlen(opts) + strlen(i->name) + strlen(i->driver_version) +
             strlen(i->platform_name) + strlen(i->platform_version) + 160;
  char *key = malloc(n);
  if (key)
    snprintf(key, n, "clseg-kernel-v1|%s|src=%016llx|opts=%s|dev=%s|drv=%s|plat=%s %s", file,
             (unsigned long long)src_hash, opts, i->name, i->driver_version, i->platform_name,
             i->platform_version);
  return key;
}

static clseg_status get_program(clseg_context *ctx, const char *file, const char *options,
                                clseg__program **out) {
  const char *src = NULL;
  size_t len = 0;
  int owned = 0;
  clseg_status s = get_source(ctx, file, &src, &len, &owned);
  if (s != CLSEG_OK)
    return s;
  char opts[2048];
  snprintf(opts, sizeof opts, "-cl-std=CL1.2%s%s", options && *options ? " " : "",
           options ? options : "");
  char *key = make_key(ctx, file, clseg__fnv1a(src, len, CLSEG__FNV_SEED), opts);
  if (!key) {
    if (owned)
      free((char *)src);
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "building cl/%s: out of host memory", file);
  }
  for (int i = 0; i < ctx->nprograms; i++)
    if (!strcmp(ctx->programs[i].key, key)) {
      free(key);
      if (owned)
        free((char *)src);
      *out = &ctx->programs[i];
      return CLSEG_OK;
    }
  if (ctx->nprograms == ctx->cap_programs) {
    int nc = ctx->cap_programs ? ctx->cap_programs * 2 : 16;
    clseg__program *np = realloc(ctx->programs, sizeof *np * (size_t)nc);
    if (!np) {
      free(key);
      if (owned)
        free((char *)src);
      return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "building cl/%s: out of host memory", file);
    }
    ctx->programs = np;
    ctx->cap_programs = nc;
  }
  double t0 = clseg__now();
  cl_program prog = NULL;
  char cpath[1200];
  int cache_on = clseg__cache_path(key, cpath, sizeof cpath);
  int built = 0;
  s = cache_on && from_cache(ctx, key, opts, &prog) == CLSEG_OK
          ? CLSEG_OK
          : (built = 1, from_source(ctx, file, src, len, opts, &prog));
  ctx->stats.build_seconds += clseg__now() - t0;
  if (owned)
    free((char *)src);
  if (s != CLSEG_OK) {
    free(key);
    return s;
  }
  char *fcopy = malloc(strlen(file) + 1), *ocopy = malloc(strlen(options ? options : "") + 1);
  if (!fcopy || !ocopy) {
    free(fcopy);
    free(ocopy);
    free(key);
    clReleaseProgram(prog);
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "building cl/%s: out of host memory", file);
  }
  strcpy(fcopy, file);
  strcpy(ocopy, options ? options : "");
  clseg__program *p = &ctx->programs[ctx->nprograms++];
  memset(p, 0, sizeof *p);
  p->key = key;
  p->file = fcopy;
  p->options = ocopy;
  p->program = prog;
  p->unsaved = built && cache_on && writes_binaries(ctx);
  *out = p;
  return CLSEG_OK;
}

clseg_status clseg__kernel(clseg_context *ctx, const char *file, const char *options,
                           const char *kernel, cl_kernel *out) {
  clseg__program *p = NULL;
  clseg_status s = get_program(ctx, file, options, &p);
  if (s != CLSEG_OK)
    return s;
  for (int i = 0; i < p->nkernels; i++)
    if (!strcmp(p->kernel_names[i], kernel)) {
      *out = p->kernels[i];
      return CLSEG_OK;
    }
  cl_int err;
  cl_kernel k = clCreateKernel(p->program, kernel, &err);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(ctx, err, "creating kernel '%s' of cl/%s", kernel, file);
  cl_kernel *nk = realloc(p->kernels, sizeof *nk * (size_t)(p->nkernels + 1));
  char **nn = nk ? realloc(p->kernel_names, sizeof *nn * (size_t)(p->nkernels + 1)) : NULL;
  size_t(*nl)[3] = nn ? realloc(p->local, sizeof *nl * (size_t)(p->nkernels + 1)) : NULL;
  char *name = nl ? malloc(strlen(kernel) + 1) : NULL;
  if (nk)
    p->kernels = nk;
  if (nn)
    p->kernel_names = nn;
  if (nl)
    p->local = nl;
  if (!name) {
    clReleaseKernel(k);
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "creating kernel '%s': out of host memory",
                       kernel);
  }
  strcpy(name, kernel);
  size_t *local = p->local[p->nkernels];
  local[0] = local[1] = local[2] = 0;
  if (clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof(size_t[3]),
                               local, NULL) != CL_SUCCESS)
    local[0] = local[1] = local[2] = 0;
  if (local[0] == 0)
    ctx->note_locals = 1; /* its launches say which local size it runs with */
  p->kernels[p->nkernels] = k;
  p->kernel_names[p->nkernels++] = name;
  *out = k;
  return CLSEG_OK;
}

void clseg__programs_free(clseg_context *ctx) {
  for (int i = 0; i < ctx->nprograms; i++) {
    clseg__program *p = &ctx->programs[i];
    if (p->unsaved)
      save_binary(ctx, p);
    for (int k = 0; k < p->nkernels; k++) {
      clReleaseKernel(p->kernels[k]);
      free(p->kernel_names[k]);
    }
    free(p->kernels);
    free(p->kernel_names);
    free(p->local);
    clReleaseProgram(p->program);
    free(p->key);
    free(p->file);
    free(p->options);
  }
  free(ctx->programs);
  ctx->programs = NULL;
  ctx->nprograms = ctx->cap_programs = 0;
}

/* A launch's local size for the kernel list, where the kernel declares none. */
void clseg__kernel_note_local(clseg_context *ctx, cl_kernel k, int dims, const size_t *local) {
  for (int i = 0; i < ctx->nprograms; i++) {
    clseg__program *p = &ctx->programs[i];
    for (int j = 0; j < p->nkernels; j++) {
      if (p->kernels[j] != k)
        continue;
      if (p->local[j][0] == 0 && local)
        for (int d = 0; d < 3; d++)
          p->local[j][d] = d < dims ? local[d] : 1;
      return;
    }
  }
}

int clseg_context_program_count(const clseg_context *ctx) {
  return ctx ? ctx->nprograms : 0;
}

clseg_status clseg_context_program(const clseg_context *ctx, int i, clseg_program_info *out) {
  if (!ctx || !out || i < 0 || i >= ctx->nprograms)
    return clseg__fail((clseg_context *)ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg_context_program: index %d out of range (%d programs)", i,
                       ctx ? ctx->nprograms : 0);
  const clseg__program *p = &ctx->programs[i];
  out->file = p->file;
  out->options = p->options;
  out->kernels = p->nkernels;
  return CLSEG_OK;
}

clseg_status clseg_context_program_kernel(const clseg_context *ctx, int i, int k,
                                          clseg_kernel_info *out) {
  if (!ctx || !out || i < 0 || i >= ctx->nprograms || k < 0 || k >= ctx->programs[i].nkernels)
    return clseg__fail((clseg_context *)ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg_context_program_kernel: program %d kernel %d out of range", i, k);
  out->name = ctx->programs[i].kernel_names[k];
  memcpy(out->local_size, ctx->programs[i].local[k], sizeof out->local_size);
  return CLSEG_OK;
}
