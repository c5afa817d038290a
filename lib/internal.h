/* Internal declarations shared across lib/: the context, error recording, the kernel runtime.
 * Names here are clseg__ and never part of the public API. */
#ifndef CLSEG_INTERNAL_H
#define CLSEG_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdarg.h>
#include <stdint.h>

#include "clseg.h"

#define CLSEG__ERR_LEN 8192

typedef struct {
  char *key; /* the cache key text: source hash, options, device */
  char *file,
      *options; /* cl/<file> and the -D options it was built with (the plan's kernel list) */
  cl_program program;
  cl_kernel *kernels; /* created lazily, by name */
  char **kernel_names;
  size_t (*local)[3]; /* per kernel: reqd_work_group_size, else the first launch's; 0 unknown */
  int nkernels;
  int unsaved; /* built from source with the cache on: its binary is written when the context is
                  freed, after the first results rather than before them */
} clseg__program;

#define CLSEG__SCRATCH_SLOTS 5

typedef struct clseg__tuning clseg__tuning;

struct clseg_context {
  clseg_device_info info;
  cl_platform_id platform;
  cl_device_id device;
  cl_context cl;
  cl_command_queue queue;
  clseg__program *programs;
  int nprograms, cap_programs;
  clseg_stats stats;
  clseg_status last_status;
  char last_error[CLSEG__ERR_LEN];
  const char *kernel_dir; /* CLSEG_KERNEL_DIR, or NULL for the embedded table */
  int debug;              /* CLSEG_DEBUG set: the library may print to stderr */
  void *blas;             /* reserved for the linear op's backend state */
  clseg__tuning *tuning;  /* the tuning rows matched against this device (tuning.c) */
  int note_locals;        /* some kernel declares no reqd_work_group_size: launches record theirs */
  /* Scratch shared by every op run on this context (clseg__context_scratch): ops that run one after
   * another on the in-order queue can reuse one buffer per slot, grown to the largest need. */
  cl_mem scratch[CLSEG__SCRATCH_SLOTS];
  size_t scratch_bytes[CLSEG__SCRATCH_SLOTS];
};

struct clseg_tensor {
  clseg_context *ctx;
  /* dims 0..rank-1, then 1s: an NCHW tensor is rank 4; the graph's other tensors (tokens [N, L, C],
   * attention scores [N, heads, L, L]) any rank from 1 to CLSEG_MAX_RANK */
  int64_t shape[CLSEG_MAX_RANK];
  int rank;
  size_t count;
  cl_mem buf;
  size_t offset; /* in elements, for views into a shared buffer */
  int owns_buf;
};

/* ---- context scratch (context.c) ---- */
/* The context's scratch buffer of slot (< CLSEG__SCRATCH_SLOTS), grown to at least bytes; *out may
 * be NULL (a reservation). The buffer stays valid until a larger request replaces it: take it right
 * before enqueuing the kernels that use it. Commands already queued keep a replaced buffer alive.
 */
clseg_status clseg__context_scratch(clseg_context *ctx, int slot, size_t bytes, cl_mem *out);

/* ---- errors (status.c) ---- */
/* Records a formatted message on ctx (or the thread's slot when ctx is NULL) and returns s. */
clseg_status clseg__fail(clseg_context *ctx, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* clseg__fail with a va_list. */
clseg_status clseg__vfail(clseg_context *ctx, clseg_status s, const char *fmt, va_list ap);
/* A builder's sticky failure (the importers'): when *sticky is still CLSEG_OK, records the message
 * on the thread's slot, sets *sticky = s and returns 1, and the caller prefixes where it was
 * (clseg__fail_prefix); after the first failure it records nothing and returns 0. */
int clseg__fail_first(clseg_status *sticky, clseg_status s, const char *fmt, va_list ap);
/* Appends to the message recorded on ctx (or the thread's slot), for a message built item by item;
 * returns the message's length. */
size_t clseg__fail_append(clseg_context *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The carrier around an attempt whose failure is dropped (try one form, fall back to another):
 * clseg__error_save before it, clseg__error_restore after it, with put_back set when its failure is
 * dropped, so that the call which succeeds in the end leaves the message and status that were there
 * before it (put_back 0 only releases the copy). */
typedef struct {
  clseg_status status;
  char *message; /* a copy; NULL when out of memory (restore then leaves an empty slot) */
} clseg__error_saved;
void clseg__error_save(const clseg_context *ctx, clseg__error_saved *saved);
void clseg__error_restore(clseg_context *ctx, clseg__error_saved *saved, int put_back);
/* Puts a formatted prefix in front of the message already recorded on ctx (or the thread's slot),
 * in place, and sets status s: each layer names what it was doing once, without copying the message
 * through a buffer of its own ("running node 'x' (conv2d): " + the op's message). */
clseg_status clseg__fail_prefix(clseg_context *ctx, clseg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As clseg__fail, appending the OpenCL error's name: "...: CL_OUT_OF_RESOURCES (-5)". */
clseg_status clseg__cl_fail(clseg_context *ctx, cl_int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *clseg__cl_error_name(cl_int err);
clseg_status clseg__ok(clseg_context *ctx);
/* An internal invariant: records file:line and returns CLSEG_INTERNAL. */
#define CLSEG__CHECK(ctx, cond)                                                                    \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      return clseg__fail((ctx), CLSEG_INTERNAL, "internal check failed at %s:%d: %s", __FILE__,    \
                         __LINE__, #cond);                                                         \
  } while (0)

/* ---- devices (device.c) ---- */
/* Fills info and returns the OpenCL ids of the device that spec picks. */
clseg_status clseg__device_pick(const char *spec, clseg_device_info *info, cl_platform_id *platform,
                                cl_device_id *device);

/* ---- kernel sources (generated table, program.c) ---- */
typedef struct {
  const char *name;           /* file name in cl/, "conv_vec.cl" */
  const unsigned char *bytes; /* with #includes from cl/ inlined */
  size_t len;
  uint64_t hash;
} clseg__kernel_source;
extern const clseg__kernel_source clseg__kernel_sources[];
extern const size_t clseg__kernel_source_count;

uint64_t clseg__fnv1a(const void *data, size_t len, uint64_t h);
#define CLSEG__FNV_SEED 0xcbf29ce484222325ull

/* A build option: -DNAME=value. */
typedef struct {
  const char *name;
  long value;
} clseg__define;
/* Writes the sorted "-DA=1 -DB=2" string into buf; returns 0 when it did not fit. */
int clseg__build_options(const clseg__define *defs, int count, char *buf, size_t size);

/* Returns the kernel `kernel` of cl/<file> built with options, compiling (or loading from the
 * binary cache) on first use. The kernel belongs to the context. */
clseg_status clseg__kernel(clseg_context *ctx, const char *file, const char *options,
                           const char *kernel, cl_kernel *out);
void clseg__programs_free(clseg_context *ctx);
/* Records a launch's local size for k where its kernel declares no reqd_work_group_size. */
void clseg__kernel_note_local(clseg_context *ctx, cl_kernel k, int dims, const size_t *local);

/* ---- binary cache (cache.c) ---- */
/* Loads the binary stored for key; returns 1 and a malloc'd buffer on a trusted hit, 0 on a miss or
 * an untrusted file (counted in ctx->stats.cache_rejected). */
int clseg__cache_load(clseg_context *ctx, const char *key, unsigned char **bin, size_t *len);
/* Stores atomically (temp file + rename); failures are counted, never fatal. */
void clseg__cache_store(clseg_context *ctx, const char *key, const unsigned char *bin, size_t len);
/* Creates path and its parents; returns 0 on failure. */
int clseg__mkdir_p(const char *path);
/* The cache folder (as clseg_cache_dir) even when CLSEG_CACHE=off turns the binary cache off: the
 * user tuning file lives there too, and CLSEG_TUNING=off is its switch. Returns 0 without HOME or
 * XDG_CACHE_HOME or CLSEG_CACHE_DIR. */
int clseg__cache_folder(char *buf, size_t size);
/* The path of key's cache file; returns 0 when the cache is off. */
int clseg__cache_path(const char *key, char *buf, size_t size);

/* ---- launching (launch.c) ---- */
/* Sets arguments from a list of (size, pointer) pairs. */
typedef struct {
  size_t size;
  const void *ptr;
} clseg__arg;
#define CLSEG__ARG(v) ((clseg__arg){sizeof(v), &(v)})
clseg_status clseg__launch(clseg_context *ctx, cl_kernel k, const char *what,
                           const clseg__arg *args, int nargs, int dims, const size_t *global,
                           const size_t *local);
/* The element count of an array; with GCC or clang a pointer fails to compile. */
#if defined(__GNUC__)
#define CLSEG__COUNT(a)                                                                            \
  ((int)(sizeof(a) / sizeof((a)[0]) + 0 * sizeof(struct {                                          \
                                        int a_must_be_an_array                                     \
                                            : __builtin_types_compatible_p(__typeof__(a),          \
                                                                           __typeof__(&(a)[0]))    \
                                              ? -1                                                 \
                                              : 1;                                                 \
                                      })))
#else
#define CLSEG__COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#endif
/* clseg__launch with the argument array args (a clseg__arg array: its length counted). */
#define CLSEG__LAUNCH(ctx, k, what, args, dims, global, local)                                     \
  clseg__launch((ctx), (k), (what), (args), CLSEG__COUNT(args), (dims), (global), (local))
size_t clseg__round_up(size_t x, size_t m);

/* ---- tensors ---- */
/* "[a, b, c, d]" of an NCHW shape. */
const char *clseg__shape_str(const int64_t s[4], char *buf, size_t size);
#define CLSEG__SHAPE(s) clseg__shape_str((s), (char[64]){0}, 64)
/* "[a, b, c]" of a shape of any rank (0: "[]"). */
const char *clseg__dims_str(const int64_t *s, int rank, char *buf, size_t size);
#define CLSEG__DIMS(s, rank) clseg__dims_str((s), (rank), (char[128]){0}, 128)
/* numpy's broadcast of dims a (rank ra) and b (rank rb), right-aligned, into y (rank *ry; y may be
 * a or b); 0 when a pair of dims differs with neither 1. */
int clseg__broadcast_dims(const int64_t *a, int ra, const int64_t *b, int rb, int64_t *y, int *ry);
/* A tensor's shape as text, at its rank. */
#define CLSEG__TSHAPE(t) CLSEG__DIMS((t)->shape, (t)->rank)

double clseg__now(void);

#endif
