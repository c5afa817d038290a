/* Context: one device with its OpenCL context, in-order queue and compiled kernels. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <clblast_c.h>

#include "internal.h"
#include "tuning.h"

/* Contexts alive in the process. CLBlast keeps the programs it built (linear_clblast) in a
 * process-wide cache, each holding its OpenCL context, until that cache is cleared or a library
 * destructor runs at exit; the last clseg_context_free clears it, so no OpenCL object of ours
 * outlives its context. */
static atomic_int live_contexts;

clseg_status clseg_context_create(const char *spec, clseg_context **out) {
  if (!out)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_context_create: NULL output argument");
  *out = NULL;
  if (!spec)
    spec = getenv("CLSEG_DEVICE");
  clseg_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "creating a context: out of host memory");
  clseg_status s = clseg__device_pick(spec, &ctx->info, &ctx->platform, &ctx->device);
  if (s != CLSEG_OK) {
    free(ctx);
    return s;
  }
  if (!ctx->info.available) {
    clseg__fail(NULL, CLSEG_NO_DEVICE, "device '%s' (%s) is not available or has no compiler",
                spec ? spec : "auto", ctx->info.name);
    free(ctx);
    return CLSEG_NO_DEVICE;
  }
  atomic_fetch_add(&live_contexts, 1); /* from here on failures go through clseg_context_free */
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
  ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
  if (err == CL_SUCCESS)
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, CL_QUEUE_PROFILING_ENABLE, &err);
  if (err != CL_SUCCESS) {
    clseg__cl_fail(NULL, err, "creating an OpenCL context and queue on %s", ctx->info.name);
    clseg_context_free(ctx);
    return CLSEG_OPENCL;
  }
  const char *kd = getenv("CLSEG_KERNEL_DIR");
  ctx->kernel_dir = kd && *kd ? kd : NULL;
  const char *dbg = getenv("CLSEG_DEBUG");
  ctx->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
  if ((s = clseg__tuning_init(ctx)) != CLSEG_OK) {
    clseg__fail(NULL, s, "%s", ctx->last_error); /* no context to read it from */
    clseg_context_free(ctx);
    return s;
  }
  *out = ctx;
  return CLSEG_OK;
}

void clseg_context_free(clseg_context *ctx) {
  if (!ctx)
    return;
  if (ctx->queue) {
    clFinish(ctx->queue);
    clReleaseCommandQueue(ctx->queue);
  }
  for (int i = 0; i < CLSEG__SCRATCH_SLOTS; i++)
    if (ctx->scratch[i])
      clReleaseMemObject(ctx->scratch[i]);
  clseg__programs_free(ctx);
  clseg__tuning_free(ctx);
  if (atomic_fetch_sub(&live_contexts, 1) == 1)
    CLBlastClearCache();
  if (ctx->cl)
    clReleaseContext(ctx->cl);
  free(ctx);
}

const clseg_device_info *clseg_context_device(const clseg_context *ctx) {
  return ctx ? &ctx->info : NULL;
}

clseg_status clseg_finish(clseg_context *ctx) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_finish: NULL context");
  cl_int err = clFinish(ctx->queue);
  return err == CL_SUCCESS ? CLSEG_OK : clseg__cl_fail(ctx, err, "waiting for the device's queue");
}

void clseg_context_stats(const clseg_context *ctx, clseg_stats *out) {
  if (ctx && out)
    *out = ctx->stats;
}

size_t clseg__round_up(size_t x, size_t m) {
  return m ? (x + m - 1) / m * m : x;
}

clseg_status clseg__launch(clseg_context *ctx, cl_kernel k, const char *what,
                           const clseg__arg *args, int nargs, int dims, const size_t *global,
                           const size_t *local) {
  for (int i = 0; i < nargs; i++) {
    cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
    if (err != CL_SUCCESS)
      return clseg__cl_fail(ctx, err, "%s: setting kernel argument %d", what, i);
  }
  for (int d = 0; d < dims; d++)
    if (global[d] == 0)
      return CLSEG_OK; /* an empty tensor: nothing to do */
  if (ctx->note_locals)
    clseg__kernel_note_local(ctx, k, dims, local);
  cl_int err =
      clEnqueueNDRangeKernel(ctx->queue, k, (cl_uint)dims, NULL, global, local, 0, NULL, NULL);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(ctx, err, "%s: enqueueing the kernel", what);
  ctx->stats.kernels_enqueued++;
  return CLSEG_OK;
}

clseg_status clseg__context_scratch(clseg_context *ctx, int slot, size_t bytes, cl_mem *out) {
  if (slot < 0 || slot >= CLSEG__SCRATCH_SLOTS)
    return clseg__fail(ctx, CLSEG_INTERNAL, "scratch slot %d out of range", slot);
  if (bytes > ctx->scratch_bytes[slot]) {
    cl_int err;
    cl_mem b = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
      return clseg__cl_fail(ctx, err, "allocating %.1f MiB of scratch", (double)bytes / 1048576.0);
    if (ctx->scratch[slot])
      clReleaseMemObject(ctx->scratch[slot]); /* queued commands keep it until they have run */
    ctx->scratch[slot] = b;
    ctx->scratch_bytes[slot] = bytes;
  }
  if (out)
    *out = ctx->scratch[slot];
  return CLSEG_OK;
}
