/* Benchmark of softmax, layernorm, groupnorm and reduce_axes (lib/ops/norm.c, reduce.c) on the
 * shapes that matter: softmax over attention scores [1, 8, 1024, 1024], LayerNorm of tokens
 * [1, 32768, 256], the channel LayerNorm of NCHW [2, 256, 128, 128], GroupNorm of 32 groups, a
 * mean over the tokens' last dim, and softmax and mean over the channels of NCHW. Prints the
 * machine, the device and GB/s of compulsory traffic (x read once, y written once), next to memcpy
 * of the same bytes on the host. Not a test.
 *
 * usage: bench_norm [DEVICE_SPEC] [REPEATS]   (default "auto", 10) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clseg.h"
#include "clseg_ops.h"

#define COUNT ((size_t)8 << 20) /* floats of every case's x */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
  const char *name;
  int rank;
  int64_t dims[4], ydims[4];
  int op; /* 0 softmax, 1 layernorm, 2 groupnorm, 3 reduce_axes mean */
  int axis, naxes;
} bench_row;

static const bench_row rows[] = {
    {"norm_softmax [1,8,1024,1024] -1", 4, {1, 8, 1024, 1024}, {1, 8, 1024, 1024}, 0, -1, 1},
    {"norm_layernorm [1,32768,256] -1", 3, {1, 32768, 256, 1}, {1, 32768, 256, 1}, 1, -1, 0},
    {"norm_layernorm [2,256,128,128] 1", 4, {2, 256, 128, 128}, {2, 256, 128, 128}, 1, 1, 1},
    {"groupnorm [2,256,128,128] G32", 4, {2, 256, 128, 128}, {2, 256, 128, 128}, 2, 0, 0},
    {"reduce_axes [1,32768,256] -1", 3, {1, 32768, 256, 1}, {1, 32768, 1, 1}, 3, -1, 1},
    {"norm_softmax [2,256,128,128] 1", 4, {2, 256, 128, 128}, {2, 256, 128, 128}, 0, 1, 1},
    {"reduce_axes [2,256,128,128] 1", 4, {2, 256, 128, 128}, {2, 1, 128, 128}, 3, 1, 1},
};

static clseg_status run_once(clseg_context *ctx, const bench_row *r, const clseg_tensor *x,
                             clseg_tensor *y) {
  const clseg_layernorm_params p = {.axis = r->axis, .naxes = r->naxes};
  switch (r->op) {
  case 0: return clseg_softmax(ctx, x, r->axis, 0, y);
  case 1: return clseg_layernorm(ctx, x, NULL, NULL, &p, y);
  case 2: return clseg_groupnorm(ctx, x, 32, 0.0f, NULL, NULL, y);
  default: return clseg_reduce_axes(ctx, x, CLSEG_REDUCE_MEAN, r->axis, r->naxes, y);
  }
}

/* Seconds per call, chained, one finish; -1 on an error. */
static double time_row(clseg_context *ctx, const bench_row *r, const float *data, int repeats) {
  clseg_tensor *x = NULL, *y = NULL;
  double s = -1.0;
  if (clseg_tensor_create_nd(ctx, r->rank, r->dims, &x) != CLSEG_OK ||
      clseg_tensor_create_nd(ctx, r->rank, r->ydims, &y) != CLSEG_OK ||
      clseg_tensor_upload(x, data, COUNT) != CLSEG_OK || run_once(ctx, r, x, y) != CLSEG_OK ||
      clseg_finish(ctx) != CLSEG_OK)
    goto done;
  const double t0 = now();
  for (int i = 0; i < repeats; i++)
    if (run_once(ctx, r, x, y) != CLSEG_OK)
      goto done;
  if (clseg_finish(ctx) == CLSEG_OK)
    s = (now() - t0) / repeats;
done:
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  return s;
}

int main(int argc, char **argv) {
  const char *spec = argc > 1 ? argv[1] : "auto";
  const int repeats = argc > 2 ? atoi(argv[2]) : 10;
  clseg_context *ctx = NULL;
  if (clseg_context_create(spec, &ctx) != CLSEG_OK) {
    fprintf(stderr, "bench_norm: %s\n", clseg_last_error(NULL));
    return 1;
  }
  const clseg_device_info *d = clseg_context_device(ctx);
  printf("device: %s (%s, %s)\n%d repeats chained, one finish\n", d->name, d->platform_name,
         d->driver_version, repeats);
  float *data = malloc(COUNT * sizeof *data), *copy = malloc(COUNT * sizeof *copy);
  int ok = data && copy;
  for (size_t i = 0; ok && i < COUNT; i++)
    data[i] = (float)((i * 7919) % 1000) * 0.004f - 2.0f;
  for (size_t r = 0; ok && r < sizeof rows / sizeof *rows; r++) {
    const double s = time_row(ctx, &rows[r], data, repeats);
    if (s < 0) {
      fprintf(stderr, "bench_norm %s: %s\n", rows[r].name, clseg_last_error(ctx));
      ok = 0;
      break;
    }
    const double bytes = 4.0 * (double)COUNT * (rows[r].op == 3 ? 1.0 : 2.0);
    printf("%-34s %9.3f ms %8.2f GB/s\n", rows[r].name, s * 1e3, bytes / s * 1e-9);
  }
  if (ok) { /* the host peer: memcpy of x's bytes (read + write) */
    const double t0 = now();
    for (int i = 0; i < repeats; i++)
      memcpy(copy, data, COUNT * sizeof *data), data[i] += copy[COUNT - 1 - i] * 0.0f;
    const double s = (now() - t0) / repeats;
    printf("%-34s %9.3f ms %8.2f GB/s\n", "host memcpy (1 thread)", s * 1e3,
           8.0 * COUNT / s * 1e-9);
  }
  free(data);
  free(copy);
  clseg_context_free(ctx);
  return ok ? 0 : 1;
}
