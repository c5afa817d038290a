/* Status names and messages, and recording of the last error (per context, or per thread without
 * one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static _Thread_local char thread_error[CLSEG__ERR_LEN];
static _Thread_local clseg_status thread_status;

const char *clseg_status_name(clseg_status s) {
  switch (s) {
#define CLSEG__STATUS_NAME(name, msg)                                                              \
  case CLSEG_##name: return "CLSEG_" #name;
    CLSEG_STATUS_MAP(CLSEG__STATUS_NAME)
#undef CLSEG__STATUS_NAME
  default: return "CLSEG_UNKNOWN";
  }
}

const char *clseg_status_message(clseg_status s) {
  switch (s) {
#define CLSEG__STATUS_MSG(name, msg)                                                               \
  case CLSEG_##name: return msg;
    CLSEG_STATUS_MAP(CLSEG__STATUS_MSG)
#undef CLSEG__STATUS_MSG
  default: return "unknown status";
  }
}

/* Sets the status that goes with the message now in ctx's (or the thread's) buffer. */
static clseg_status recorded(clseg_context *ctx, clseg_status s, const char *buf) {
  if (ctx) {
    ctx->last_status = s;
    if (ctx->debug)
      fprintf(stderr, "clseg: %s: %s\n", clseg_status_name(s), buf);
  } else {
    thread_status = s;
  }
  return s;
}

static clseg_status record(clseg_context *ctx, clseg_status s, const char *fmt, va_list ap,
                           const char *suffix) {
  char *buf = ctx ? ctx->last_error : thread_error;
  int n = vsnprintf(buf, CLSEG__ERR_LEN, fmt, ap);
  if (suffix && n >= 0 && (size_t)n < CLSEG__ERR_LEN)
    snprintf(buf + n, CLSEG__ERR_LEN - (size_t)n, "%s", suffix);
  return recorded(ctx, s, buf);
}

clseg_status clseg__fail(clseg_context *ctx, clseg_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(ctx, s, fmt, ap, NULL);
  va_end(ap);
  return s;
}

clseg_status clseg__vfail(clseg_context *ctx, clseg_status s, const char *fmt, va_list ap) {
  return record(ctx, s, fmt, ap, NULL);
}

int clseg__fail_first(clseg_status *sticky, clseg_status s, const char *fmt, va_list ap) {
  if (*sticky != CLSEG_OK)
    return 0;
  *sticky = record(NULL, s, fmt, ap, NULL);
  return 1;
}

size_t clseg__fail_append(clseg_context *ctx, const char *fmt, ...) {
  char *buf = ctx ? ctx->last_error : thread_error;
  size_t len = strlen(buf);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + len, CLSEG__ERR_LEN - len, fmt, ap);
  va_end(ap);
  if (n > 0)
    len = len + (size_t)n < CLSEG__ERR_LEN ? len + (size_t)n : CLSEG__ERR_LEN - 1;
  return len;
}

void clseg__error_save(const clseg_context *ctx, clseg__error_saved *saved) {
  const char *buf = ctx ? ctx->last_error : thread_error;
  saved->status = ctx ? ctx->last_status : thread_status;
  saved->message = malloc(strlen(buf) + 1);
  if (saved->message)
    strcpy(saved->message, buf);
}

void clseg__error_restore(clseg_context *ctx, clseg__error_saved *saved, int put_back) {
  if (put_back) {
    snprintf(ctx ? ctx->last_error : thread_error, CLSEG__ERR_LEN, "%s",
             saved->message ? saved->message : "");
    if (ctx)
      ctx->last_status = saved->status;
    else
      thread_status = saved->status;
  }
  free(saved->message);
  saved->message = NULL;
}

clseg_status clseg__fail_prefix(clseg_context *ctx, clseg_status s, const char *fmt, ...) {
  char *buf = ctx ? ctx->last_error : thread_error;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return recorded(ctx, s, buf);
  if (!buf[0]) /* the message clseg_last_error gives for an empty slot */
    snprintf(buf, CLSEG__ERR_LEN, "%s", "no error");
  size_t len = strlen(buf), at = (size_t)n < CLSEG__ERR_LEN - 1 ? (size_t)n : CLSEG__ERR_LEN - 1;
  size_t keep = len < CLSEG__ERR_LEN - 1 - at ? len : CLSEG__ERR_LEN - 1 - at;
  memmove(buf + at, buf, keep); /* the old message, shifted right; cut at the end when too long */
  buf[at + keep] = '\0';
  const char first = buf[at]; /* vsnprintf ends the prefix with a NUL over the message's start */
  va_start(ap, fmt);
  vsnprintf(buf, at + 1, fmt, ap);
  va_end(ap);
  buf[at] = first;
  return recorded(ctx, s, buf);
}

clseg_status clseg__cl_fail(clseg_context *ctx, cl_int err, const char *fmt, ...) {
  char suffix[96];
  snprintf(suffix, sizeof suffix, ": %s (%d)", clseg__cl_error_name(err), (int)err);
  clseg_status s = (err == CL_OUT_OF_RESOURCES || err == CL_OUT_OF_HOST_MEMORY ||
                    err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_INVALID_BUFFER_SIZE)
                       ? CLSEG_OUT_OF_MEMORY
                       : CLSEG_OPENCL;
  va_list ap;
  va_start(ap, fmt);
  record(ctx, s, fmt, ap, suffix);
  va_end(ap);
  return s;
}

clseg_status clseg__ok(clseg_context *ctx) {
  (void)ctx;
  return CLSEG_OK;
}

const char *clseg_last_error(const clseg_context *ctx) {
  const char *m = ctx ? ctx->last_error : thread_error;
  return m[0] ? m : "no error";
}

clseg_status clseg_last_status(const clseg_context *ctx) {
  return ctx ? ctx->last_status : thread_status;
}

const char *clseg__cl_error_name(cl_int err) {
  switch (err) {
/* each E(...) ends in a semicolon so that clang-format keeps one per line */
#define E(x)                                                                                       \
  case x: return #x
    E(CL_SUCCESS);
    E(CL_DEVICE_NOT_FOUND);
    E(CL_DEVICE_NOT_AVAILABLE);
    E(CL_COMPILER_NOT_AVAILABLE);
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE);
    E(CL_OUT_OF_RESOURCES);
    E(CL_OUT_OF_HOST_MEMORY);
    E(CL_PROFILING_INFO_NOT_AVAILABLE);
    E(CL_MEM_COPY_OVERLAP);
    E(CL_IMAGE_FORMAT_MISMATCH);
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED);
    E(CL_BUILD_PROGRAM_FAILURE);
    E(CL_MAP_FAILURE);
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET);
    E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    E(CL_COMPILE_PROGRAM_FAILURE);
    E(CL_LINKER_NOT_AVAILABLE);
    E(CL_LINK_PROGRAM_FAILURE);
    E(CL_DEVICE_PARTITION_FAILED);
    E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
    E(CL_INVALID_VALUE);
    E(CL_INVALID_DEVICE_TYPE);
    E(CL_INVALID_PLATFORM);
    E(CL_INVALID_DEVICE);
    E(CL_INVALID_CONTEXT);
    E(CL_INVALID_QUEUE_PROPERTIES);
    E(CL_INVALID_COMMAND_QUEUE);
    E(CL_INVALID_HOST_PTR);
    E(CL_INVALID_MEM_OBJECT);
    E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
    E(CL_INVALID_IMAGE_SIZE);
    E(CL_INVALID_SAMPLER);
    E(CL_INVALID_BINARY);
    E(CL_INVALID_BUILD_OPTIONS);
    E(CL_INVALID_PROGRAM);
    E(CL_INVALID_PROGRAM_EXECUTABLE);
    E(CL_INVALID_KERNEL_NAME);
    E(CL_INVALID_KERNEL_DEFINITION);
    E(CL_INVALID_KERNEL);
    E(CL_INVALID_ARG_INDEX);
    E(CL_INVALID_ARG_VALUE);
    E(CL_INVALID_ARG_SIZE);
    E(CL_INVALID_KERNEL_ARGS);
    E(CL_INVALID_WORK_DIMENSION);
    E(CL_INVALID_WORK_GROUP_SIZE);
    E(CL_INVALID_WORK_ITEM_SIZE);
    E(CL_INVALID_GLOBAL_OFFSET);
    E(CL_INVALID_EVENT_WAIT_LIST);
    E(CL_INVALID_EVENT);
    E(CL_INVALID_OPERATION);
    E(CL_INVALID_GL_OBJECT);
    E(CL_INVALID_BUFFER_SIZE);
    E(CL_INVALID_MIP_LEVEL);
    E(CL_INVALID_GLOBAL_WORK_SIZE);
    E(CL_INVALID_PROPERTY);
    E(CL_INVALID_IMAGE_DESCRIPTOR);
    E(CL_INVALID_COMPILER_OPTIONS);
    E(CL_INVALID_LINKER_OPTIONS);
    E(CL_INVALID_DEVICE_PARTITION_COUNT);
#undef E
  case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
  default: return "CL_UNKNOWN_ERROR";
  }
}

double clseg__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
