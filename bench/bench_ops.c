/* Benchmark of the memory-bound ops at 256x256x64 (N = 1): binary add with a [1, C, 1, 1]
 * broadcast, activations, concat, softmax over channels, NCHW -> NHWC transposes (both variants).
 * Prints the machine, the device, GB/s of compulsory traffic (each input read once, the output
 * written once) and GFLOP/s, next to two host peers measured in the same run: memcpy of the same
 * bytes and a plain C loop of the same add. Not a test.
 *
 * usage: bench_ops [DEVICE_SPEC] [REPEATS]   (default "auto", 20) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clseg.h"
#include "clseg_ops.h"
#include "ops/transpose.h"

#define C     64
#define H     256
#define W     256
#define COUNT ((size_t)C * H * W)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      snprintf(buf, size, "%s", strchr(line, ':') + 2);
      buf[strcspn(buf, "\n")] = 0;
      break;
    }
  if (f)
    fclose(f);
}

typedef enum {
  B_ADD_BCAST,
  B_RELU,
  B_GELU,
  B_CONCAT,
  B_SOFTMAX,
  B_TRANSPOSE_TILED,
  B_TRANSPOSE_GATHER,
  B_COUNT
} bench_case;

typedef struct {
  clseg_tensor *x, *half0, *half1, *bias, *y, *nhwc;
} bench_tensors;

static clseg_status run_once(clseg_context *ctx, bench_case c, const bench_tensors *t) {
  const clseg_activation relu = {CLSEG_ACT_RELU, 0, 0}, gelu = {CLSEG_ACT_GELU, 0, 0};
  const clseg_tensor *halves[2] = {t->half0, t->half1};
  static const int to_nhwc[4] = {0, 2, 3, 1};
  switch (c) {
  case B_ADD_BCAST: return clseg_binary(ctx, CLSEG_BINARY_ADD, t->x, t->bias, NULL, t->y);
  case B_RELU: return clseg_activation_apply(ctx, t->x, &relu, t->y);
  case B_GELU: return clseg_activation_apply(ctx, t->x, &gelu, t->y);
  case B_CONCAT: return clseg_concat(ctx, halves, 2, t->y);
  case B_TRANSPOSE_TILED:
    return clseg__transpose_variant(ctx, t->x, to_nhwc, t->nhwc, "transpose_tiled");
  case B_TRANSPOSE_GATHER:
    return clseg__transpose_variant(ctx, t->x, to_nhwc, t->nhwc, "transpose_gather");
  default: return clseg_softmax_channels(ctx, t->x, t->y);
  }
}

/* Seconds per call: one warm-up (kernel compile), then repeats chained with one finish, as a
 * network runs. */
static double time_case(clseg_context *ctx, bench_case c, const bench_tensors *t, int repeats) {
  if (run_once(ctx, c, t) != CLSEG_OK || clseg_finish(ctx) != CLSEG_OK)
    return -1.0;
  const double t0 = now();
  for (int i = 0; i < repeats; i++)
    if (run_once(ctx, c, t) != CLSEG_OK)
      return -1.0;
  if (clseg_finish(ctx) != CLSEG_OK)
    return -1.0;
  return (now() - t0) / repeats;
}

/* The host peers: memcpy of read + write bytes, and the naive broadcast add (one thread). */
static void host_peers(int repeats) {
  float *a = malloc(COUNT * sizeof *a), *y = malloc(COUNT * sizeof *y), bias[C];
  if (!a || !y) {
    free(a);
    free(y);
    return;
  }
  for (size_t i = 0; i < COUNT; i++)
    a[i] = (float)(i % 97) * 0.01f;
  for (int c = 0; c < C; c++)
    bias[c] = (float)c;
  memcpy(y, a, COUNT * sizeof *a);
  double t0 = now();
  for (int r = 0; r < repeats; r++)
    memcpy(y, a, COUNT * sizeof *a);
  double s = (now() - t0) / repeats;
  printf("%-26s %9.3f ms %8.2f GB/s\n", "peer: host memcpy", s * 1e3, 2.0 * COUNT * 4 / s * 1e-9);
  t0 = now();
  for (int r = 0; r < repeats; r++)
    for (size_t i = 0; i < COUNT; i++)
      y[i] = a[i] + bias[i / (H * W)];
  s = (now() - t0) / repeats;
  printf("%-26s %9.3f ms %8.2f GB/s %8.2f GFLOP/s  (check %g)\n", "peer: host C add bcast", s * 1e3,
         2.0 * COUNT * 4 / s * 1e-9, COUNT / s * 1e-9, (double)y[COUNT - 1]);
  free(a);
  free(y);
}

int main(int argc, char **argv) {
  const char *spec = argc > 1 ? argv[1] : "auto";
  const int repeats = argc > 2 ? atoi(argv[2]) : 20;
  clseg_context *ctx = NULL;
  if (clseg_context_create(spec, &ctx) != CLSEG_OK) {
    fprintf(stderr, "bench_ops: %s\n", clseg_last_error(NULL));
    return 1;
  }
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  const clseg_device_info *d = clseg_context_device(ctx);
  printf(
      "machine: %s\ndevice: %s (%s, %s)\nshape: [1, %d, %d, %d], %d repeats chained, one finish\n",
      cpu, d->name, d->platform_name, d->driver_version, C, H, W, repeats);
  const int64_t full[4] = {1, C, H, W}, half[4] = {1, C / 2, H, W}, bias[4] = {1, C, 1, 1};
  const int64_t nhwc[4] = {1, H, W, C};
  bench_tensors t = {0};
  float *data = malloc(COUNT * sizeof *data);
  int ok = data && clseg_tensor_create(ctx, full, &t.x) == CLSEG_OK &&
           clseg_tensor_create(ctx, full, &t.y) == CLSEG_OK &&
           clseg_tensor_create(ctx, half, &t.half0) == CLSEG_OK &&
           clseg_tensor_create(ctx, half, &t.half1) == CLSEG_OK &&
           clseg_tensor_create(ctx, bias, &t.bias) == CLSEG_OK &&
           clseg_tensor_create(ctx, nhwc, &t.nhwc) == CLSEG_OK;
  for (size_t i = 0; ok && i < COUNT; i++)
    data[i] = (float)((i * 7919) % 1000) * 0.004f - 2.0f;
  ok = ok && clseg_tensor_upload(t.x, data, COUNT) == CLSEG_OK &&
       clseg_tensor_upload(t.half0, data, COUNT / 2) == CLSEG_OK &&
       clseg_tensor_upload(t.half1, data + COUNT / 2, COUNT / 2) == CLSEG_OK &&
       clseg_tensor_upload(t.bias, data, C) == CLSEG_OK;
  /* name (the kernel's), bytes moved, nominal flops per output element */
  static const struct {
    const char *name;
    double bytes, flops;
  } rows[] = {{"eltwise_binary add 1C11", 2.0 * COUNT * 4 + C * 4, 1},
              {"activation_apply relu", 2.0 * COUNT * 4, 1},
              {"activation_apply gelu", 2.0 * COUNT * 4, 8},
              {"layout_copy_rows concat", 2.0 * COUNT * 4, 0},
              {"reduce_softmax", 2.0 * COUNT * 4, 5},
              {"transpose_tiled to NHWC", 2.0 * COUNT * 4, 0},
              {"transpose_gather to NHWC", 2.0 * COUNT * 4, 0}};
  for (int c = 0; ok && c < B_COUNT; c++) {
    const double s = time_case(ctx, (bench_case)c, &t, repeats);
    if (s < 0) {
      ok = 0;
      break;
    }
    printf("%-26s %9.3f ms %8.2f GB/s %8.2f GFLOP/s\n", rows[c].name, s * 1e3,
           rows[c].bytes / s * 1e-9, rows[c].flops * COUNT / s * 1e-9);
  }
  if (!ok)
    fprintf(stderr, "bench_ops: %s\n", clseg_last_error(ctx));
  else
    host_peers(repeats);
  free(data);
  clseg_tensor_free(t.x);
  clseg_tensor_free(t.y);
  clseg_tensor_free(t.half0);
  clseg_tensor_free(t.half1);
  clseg_tensor_free(t.bias);
  clseg_tensor_free(t.nhwc);
  clseg_context_free(ctx);
  return ok ? 0 : 1;
}
