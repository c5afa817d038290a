/* Tensors: device-resident float32 buffers with a public NCHW shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *clseg__shape_str(const int64_t s[4], char *buf, size_t size) {
  snprintf(buf, size, "[%lld, %lld, %lld, %lld]", (long long)s[0], (long long)s[1], (long long)s[2],
           (long long)s[3]);
  return buf;
}

const char *clseg__dims_str(const int64_t *s, int rank, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < rank && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)s[i]);
  if (n < size)
    snprintf(buf + n, size - n, "]");
  return buf;
}

int clseg__broadcast_dims(const int64_t *a, int ra, const int64_t *b, int rb, int64_t *y, int *ry) {
  int64_t out[CLSEG_MAX_RANK + 2];
  int r = ra > rb ? ra : rb;
  if (r > CLSEG_MAX_RANK + 2)
    return 0;
  for (int i = 0; i < r; i++) {
    int64_t da = i >= r - ra ? a[i - (r - ra)] : 1, db = i >= r - rb ? b[i - (r - rb)] : 1;
    if (da != db && da != 1 && db != 1)
      return 0;
    out[i] = da == 1 ? db : da;
  }
  memcpy(y, out, sizeof *out * (size_t)r);
  *ry = r;
  return 1;
}

clseg_status clseg_tensor_create(clseg_context *ctx, const int64_t shape[4], clseg_tensor **out) {
  return clseg_tensor_create_nd(ctx, 4, shape, out);
}

clseg_status clseg_tensor_create_nd(clseg_context *ctx, int rank, const int64_t *shape,
                                    clseg_tensor **out) {
  if (!ctx || !shape || !out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "clseg_tensor_create: NULL argument");
  *out = NULL;
  if (rank < 1 || rank > CLSEG_MAX_RANK)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "creating a tensor of rank %d: the rank must be in 1..%d", rank,
                       CLSEG_MAX_RANK);
  uint64_t count = 1;
  for (int i = 0; i < rank; i++) {
    if (shape[i] <= 0 || shape[i] > (int64_t)1 << 31)
      return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                         "creating a tensor of shape %s: dimension %d must be in 1..2^31",
                         CLSEG__DIMS(shape, rank), i);
    count *= (uint64_t)shape[i];
    if (count > ((uint64_t)1 << 40))
      return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY,
                         "creating a tensor of shape %s: too many elements",
                         CLSEG__DIMS(shape, rank));
  }
  uint64_t bytes = count * sizeof(float);
  if (ctx->info.max_alloc && bytes > ctx->info.max_alloc)
    return clseg__fail(
        ctx, CLSEG_OUT_OF_MEMORY,
        "creating a tensor of shape %s: %llu bytes exceed the device's largest buffer "
        "(%llu bytes on %s)",
        CLSEG__DIMS(shape, rank), (unsigned long long)bytes,
        (unsigned long long)ctx->info.max_alloc, ctx->info.name);
  clseg_tensor *t = calloc(1, sizeof *t);
  if (!t)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "creating a tensor: out of host memory");
  cl_int err;
  t->buf = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)bytes, NULL, &err);
  if (err != CL_SUCCESS) {
    free(t);
    return clseg__cl_fail(ctx, err, "allocating %llu bytes for a tensor of shape %s",
                          (unsigned long long)bytes, CLSEG__DIMS(shape, rank));
  }
  t->ctx = ctx;
  for (int i = 0; i < CLSEG_MAX_RANK; i++)
    t->shape[i] = i < rank ? shape[i] : 1;
  t->rank = rank;
  t->count = (size_t)count;
  t->owns_buf = 1;
  *out = t;
  return CLSEG_OK;
}

void clseg_tensor_free(clseg_tensor *t) {
  if (!t)
    return;
  if (t->owns_buf && t->buf)
    clReleaseMemObject(t->buf);
  free(t);
}

void clseg_tensor_shape(const clseg_tensor *t, int64_t shape[4]) {
  for (int i = 0; i < 4; i++)
    shape[i] = t ? t->shape[i] : 0;
}

int clseg_tensor_dims(const clseg_tensor *t, int64_t dims[CLSEG_MAX_RANK]) {
  for (int i = 0; i < CLSEG_MAX_RANK; i++)
    dims[i] = t ? t->shape[i] : 0;
  return t ? t->rank : 0;
}

size_t clseg_tensor_count(const clseg_tensor *t) {
  return t ? t->count : 0;
}

clseg_context *clseg_tensor_context(const clseg_tensor *t) {
  return t ? t->ctx : NULL;
}

clseg_status clseg_tensor_upload(clseg_tensor *t, const float *data, size_t count) {
  if (!t || !data)
    return clseg__fail(t ? t->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       "clseg_tensor_upload: NULL argument");
  if (count != t->count)
    return clseg__fail(t->ctx, CLSEG_SHAPE_MISMATCH,
                       "uploading %zu floats into a tensor of shape %s, which holds %zu", count,
                       CLSEG__TSHAPE(t), t->count);
  cl_int err = clEnqueueWriteBuffer(t->ctx->queue, t->buf, CL_TRUE, t->offset * sizeof(float),
                                    count * sizeof(float), data, 0, NULL, NULL);
  return err == CL_SUCCESS
             ? CLSEG_OK
             : clseg__cl_fail(t->ctx, err, "uploading a tensor of shape %s", CLSEG__TSHAPE(t));
}

clseg_status clseg_tensor_download(const clseg_tensor *t, float *data, size_t count) {
  if (!t || !data)
    return clseg__fail(t ? t->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       "clseg_tensor_download: NULL argument");
  if (count != t->count)
    return clseg__fail(t->ctx, CLSEG_SHAPE_MISMATCH,
                       "downloading a tensor of shape %s (%zu floats) into room for %zu",
                       CLSEG__TSHAPE(t), t->count, count);
  cl_int err = clEnqueueReadBuffer(t->ctx->queue, t->buf, CL_TRUE, t->offset * sizeof(float),
                                   count * sizeof(float), data, 0, NULL, NULL);
  return err == CL_SUCCESS
             ? CLSEG_OK
             : clseg__cl_fail(t->ctx, err, "downloading a tensor of shape %s", CLSEG__TSHAPE(t));
}
