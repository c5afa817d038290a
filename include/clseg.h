/* clseg: image segmentation networks on any OpenCL device. The public API: context, devices,
 * tensors.
 *
 *   #include <clseg.h>
 *   #include <stdio.h>
 *   int main(void) {
 *     clseg_context *ctx = NULL;
 *     if (clseg_context_create("auto", &ctx) != CLSEG_OK) {
 *       fprintf(stderr, "%s\n", clseg_last_error(NULL));  // no context yet: thread's last error
 *       return 1;
 *     }
 *     const int64_t shape[4] = {1, 3, 4, 5};                // N, C, H, W
 *     float host[60] = {0};
 *     clseg_tensor *t = NULL;
 *     if (clseg_tensor_create(ctx, shape, &t) != CLSEG_OK ||
 *         clseg_tensor_upload(t, host, 60) != CLSEG_OK ||
 *         clseg_tensor_download(t, host, 60) != CLSEG_OK)
 *       fprintf(stderr, "%s\n", clseg_last_error(ctx));
 *     printf("device: %s\n", clseg_context_device(ctx)->name);
 *     clseg_tensor_free(t);
 *     clseg_context_free(ctx);
 *     return 0;
 *   }
 *
 * Ownership: every object made by *_create / *_list is released by its *_free; *_free(NULL) is a
 * no-op. A tensor must be freed before its context. Strings returned by the library stay valid
 * until the next call on the same object (clseg_last_error) or until the object is freed (device
 * info). The library never prints, exits or aborts; every fallible call returns a clseg_status and
 * records a message (clseg_last_error). One context may be used by one thread at a time; distinct
 * contexts are independent.
 */
#ifndef CLSEG_H
#define CLSEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLSEG_VERSION_MAJOR  0
#define CLSEG_VERSION_MINOR  1
#define CLSEG_VERSION_PATCH  0
#define CLSEG_VERSION_STRING "0.1.0"

/* One list gives the status enum, its names and its default messages. */
#define CLSEG_STATUS_MAP(X)                                                                        \
  X(OK, "success")                                                                                 \
  X(INVALID_ARGUMENT, "invalid argument")                                                          \
  X(SHAPE_MISMATCH, "tensor shapes do not match")                                                  \
  X(OUT_OF_MEMORY, "out of memory")                                                                \
  X(NO_DEVICE, "no matching OpenCL device")                                                        \
  X(OPENCL, "OpenCL call failed")                                                                  \
  X(BUILD_FAILED, "kernel build failed")                                                           \
  X(IO, "file input/output failed")                                                                \
  X(FORMAT, "malformed file")                                                                      \
  X(UNSUPPORTED, "unsupported feature")                                                            \
  X(INTERNAL, "internal error")

typedef enum {
#define CLSEG__STATUS_ENUM(name, msg) CLSEG_##name,
  CLSEG_STATUS_MAP(CLSEG__STATUS_ENUM)
#undef CLSEG__STATUS_ENUM
      CLSEG_STATUS_COUNT
} clseg_status;

/* "CLSEG_SHAPE_MISMATCH" etc.; "CLSEG_UNKNOWN" for values outside the enum. */
const char *clseg_status_name(clseg_status s);
/* The default message of a status ("tensor shapes do not match"). */
const char *clseg_status_message(clseg_status s);

typedef struct clseg_context clseg_context;
typedef struct clseg_tensor clseg_tensor;

/* ---- devices ---- */

typedef enum {
  CLSEG_DEVICE_CPU = 1,
  CLSEG_DEVICE_GPU = 2,
  CLSEG_DEVICE_ACCELERATOR = 4,
  CLSEG_DEVICE_OTHER = 8
} clseg_device_type;

typedef struct {
  int platform_index; /* position in clGetPlatformIDs */
  int device_index;   /* position within its platform */
  int type_index;     /* position among devices of the same type, over all platforms (gpu:N) */
  clseg_device_type type;
  char platform_name[128];
  char platform_version[128];
  char platform_vendor[128];
  char name[128];
  char vendor[128];
  char device_version[128]; /* "OpenCL 3.0 ..." */
  char driver_version[128];
  char opencl_c_version[64]; /* "OpenCL C 1.2 ..." */
  char arch[32]; /* architecture the tuning rows match: "sm_90", "gfx90a", "avx512", "avx2" ... */
  uint32_t vendor_id;
  uint32_t compute_units;
  uint32_t clock_mhz;
  uint64_t global_mem; /* bytes */
  uint64_t local_mem;  /* bytes */
  uint64_t max_alloc;  /* bytes, largest single buffer */
  size_t max_work_group;
  int unified_memory; /* host and device share memory (integrated GPU, CPU) */
  int fp16;           /* cl_khr_fp16 */
  int fp64;           /* cl_khr_fp64 */
  int subgroups;      /* cl_khr_subgroups or cl_intel_subgroups */
  int available;      /* CL_DEVICE_AVAILABLE and a compiler present */
  double score;       /* the "auto" ranking: larger is preferred */
} clseg_device_info;

/* Every device of every platform. Platforms with no devices, or that fail to answer, are skipped.
 * Returns CLSEG_NO_DEVICE (with *count = 0) when there is none at all. Free with
 * clseg_device_list_free. */
clseg_status clseg_device_list(clseg_device_info **devices, size_t *count);
void clseg_device_list_free(clseg_device_info *devices);

/* The tuning rows the device matches, one line per kernel variant (row, device class, cells), and
 * whether a user tuning file (written by `clseg tune`) exists; honours CLSEG_AS_DEVICE. *text is
 * malloc'd: free() it. */
clseg_status clseg_tuning_report(const clseg_device_info *device, char **text);
/* The path of the device's user tuning file in the cache folder (see clseg_cache_dir;
 * CLSEG_CACHE=off turns off kernel binaries only), whether or not it exists; returns 0 when there
 * is no cache folder. CLSEG_TUNING=off makes contexts ignore the file. */
int clseg_tuning_file(const clseg_device_info *device, char *buf, size_t size);

/* Picks a device by spec: "auto" (or NULL or ""; the highest score: GPUs first, then by compute
 * units x clock), "gpu", "cpu", "gpu:N" / "cpu:N" (N-th of that type over all platforms), "P:D"
 * (platform and device index), or a case-insensitive substring of the device name or vendor or the
 * platform name, vendor or version
 * ("nvidia", "pocl"). On no match, the message
 * lists the devices that exist. */
clseg_status clseg_device_select(const char *spec, clseg_device_info *out);

/* ---- context ---- */

/* A context owns one device, its OpenCL context and queue, and the compiled kernels. spec as in
 * clseg_device_select; NULL means the environment variable CLSEG_DEVICE, else "auto". */
clseg_status clseg_context_create(const char *spec, clseg_context **out);
/* Waits for queued work, writes the binaries of the programs this context built to the kernel cache
 * (see clseg_cache_dir; deferred to here so that building them does not delay the first results),
 * and releases everything. */
void clseg_context_free(clseg_context *ctx);
const clseg_device_info *clseg_context_device(const clseg_context *ctx);

/* The message of the last failure on ctx, naming what was being done and why; with ctx == NULL, the
 * calling thread's last failure of a call that has no context (clseg_context_create,
 * clseg_device_list ...). */
const char *clseg_last_error(const clseg_context *ctx);
clseg_status clseg_last_status(const clseg_context *ctx);

/* Waits for all enqueued work. Ops enqueue without waiting; downloads wait for what they read. */
clseg_status clseg_finish(clseg_context *ctx);

/* Counters of the kernel runtime, for benchmarks and tests. */
typedef struct {
  uint64_t programs_built;      /* clBuildProgram from source */
  uint64_t programs_from_cache; /* created from a cached binary */
  uint64_t cache_rejected; /* cache files found but not trusted (truncated, foreign, corrupt) */
  uint64_t cache_write_failures;
  double build_seconds; /* wall time spent building or loading programs */
  uint64_t kernels_enqueued;
} clseg_stats;
void clseg_context_stats(const clseg_context *ctx, clseg_stats *out);

/* The kernel programs the context has built (or loaded), in build order: after planning a model,
 * exactly what its plan runs. Strings belong to the context. */
typedef struct {
  const char *file;    /* the kernel file in cl/, "conv.cl" */
  const char *options; /* the exact -D build options */
  int kernels;         /* kernels created from it: clseg_context_program_kernel */
} clseg_program_info;
typedef struct {
  const char *name;
  size_t local_size[3]; /* the kernel's reqd_work_group_size, else its first launch's; 0 unknown */
} clseg_kernel_info;
int clseg_context_program_count(const clseg_context *ctx);
clseg_status clseg_context_program(const clseg_context *ctx, int i, clseg_program_info *out);
clseg_status clseg_context_program_kernel(const clseg_context *ctx, int i, int k,
                                          clseg_kernel_info *out);

/* The binary cache folder: $CLSEG_CACHE_DIR, else $XDG_CACHE_HOME/clseg, else $HOME/.cache/clseg.
 * CLSEG_CACHE=off disables the cache. Writes the path into buf; returns 0 when the cache is off. */
int clseg_cache_dir(char *buf, size_t size);

/* ---- tensors: device-resident float32, public shape N, C, H, W ---- */

clseg_status clseg_tensor_create(clseg_context *ctx, const int64_t shape[4], clseg_tensor **out);
/* Tensors of other ranks (tokens [N, L, C], attention scores [N, heads, L, L]): the ops that take
 * them say so; the NCHW ops need rank 4. */
#define CLSEG_MAX_RANK 6
clseg_status clseg_tensor_create_nd(clseg_context *ctx, int rank, const int64_t *dims,
                                    clseg_tensor **out);
void clseg_tensor_free(clseg_tensor *t);
/* The first four dims (an NCHW tensor's shape; a tensor of lower rank: its dims, then 1s). */
void clseg_tensor_shape(const clseg_tensor *t, int64_t shape[4]);
/* Writes the tensor's dims into dims[CLSEG_MAX_RANK]; returns its rank (0 for NULL). */
int clseg_tensor_dims(const clseg_tensor *t, int64_t dims[CLSEG_MAX_RANK]);
size_t clseg_tensor_count(const clseg_tensor *t);
clseg_context *clseg_tensor_context(const clseg_tensor *t);
/* count must equal the tensor's element count; data is NCHW float32. */
clseg_status clseg_tensor_upload(clseg_tensor *t, const float *data, size_t count);
clseg_status clseg_tensor_download(const clseg_tensor *t, float *data, size_t count);

#ifdef __cplusplus
}
#endif
#endif
