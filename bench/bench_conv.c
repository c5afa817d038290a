/* Benchmark of the conv2d and conv_transpose2d variants on the layer shapes of U-Net and
 * DeepLabV3+: prints the machine, the device and GFLOP/s per variant, the naive direct variant
 * alongside for reference. Not a test. Usage: bench_conv [device spec] [min seconds per
 * measurement, default 0.3] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clseg_ops.h"

/* Not public yet: conv_transpose2d with a forced variant (lib/ops/conv_transpose.c). */
clseg_status clseg__conv_transpose2d_variant(clseg_context *ctx, const clseg_tensor *x,
                                             const clseg_tensor *w, const clseg_tensor *bias,
                                             const clseg_conv_transpose2d_params *p,
                                             const char *variant, clseg_tensor *y);

/* Internal (lib/ops/conv.h): a conv prepared once (variant chosen, weights packed, scratch
 * allocated), as a planned network runs it. */
typedef struct clseg__conv2d_prep clseg__conv2d_prep;
clseg_status clseg__conv2d_prepare(clseg_context *ctx, const int64_t xshape[4],
                                   const clseg_tensor *w, const clseg_tensor *bias,
                                   const clseg_conv2d_params *p, clseg__conv2d_prep **out);
clseg_status clseg__conv2d_run(clseg_context *ctx, clseg__conv2d_prep *prep, const clseg_tensor *x,
                               const clseg_tensor *residual, clseg_tensor *y);
void clseg__conv2d_prep_free(clseg__conv2d_prep *prep);

typedef struct {
  const char *name;
  int transposed;
  int64_t n, cin, h, w, cout, k;
  int stride, pad, dilation, groups;
} bench_shape;

static const bench_shape SHAPES[] = {
    {"unet stem 3x3 3->32 @256", 0, 1, 3, 256, 256, 32, 3, 1, 1, 1, 1},
    {"unet 3x3 32->32 @256", 0, 1, 32, 256, 256, 32, 3, 1, 1, 1, 1},
    {"unet 3x3 64->64 @128", 0, 1, 64, 128, 128, 64, 3, 1, 1, 1, 1},
    {"unet 3x3 128->128 @64", 0, 1, 128, 64, 64, 128, 3, 1, 1, 1, 1},
    {"unet 3x3 256->256 @32", 0, 1, 256, 32, 32, 256, 3, 1, 1, 1, 1},
    {"unet 3x3 512->512 @16", 0, 1, 512, 16, 16, 512, 3, 1, 1, 1, 1},
    {"unet head 1x1 64->2 @256", 0, 1, 64, 256, 256, 2, 1, 1, 0, 1, 1},
    {"1x1 64->64 @128", 0, 1, 64, 128, 128, 64, 1, 1, 0, 1, 1},
    {"deeplab 1x1 256->48 @64", 0, 1, 256, 64, 64, 48, 1, 1, 0, 1, 1},
    {"deeplab 1x1 512->256 @16", 0, 1, 512, 16, 16, 256, 1, 1, 0, 1, 1},
    {"deeplab aspp 3x3 d6 256->256 @32", 0, 1, 256, 32, 32, 256, 3, 1, 6, 6, 1},
    {"deeplab 3x3 s2 64->128 @128", 0, 1, 64, 128, 128, 128, 3, 2, 1, 1, 1},
    {"depthwise 3x3 256 @64", 0, 1, 256, 64, 64, 256, 3, 1, 1, 1, 256},
    {"depthwise 3x3 s2 128 @128", 0, 1, 128, 128, 128, 128, 3, 2, 1, 1, 128},
    {"unet up 2x2 s2 128->64 @64", 1, 1, 128, 64, 64, 64, 2, 2, 0, 1, 1},
    {"unet up 2x2 s2 512->256 @16", 1, 1, 512, 16, 16, 256, 2, 2, 0, 1, 1},
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds of all this process's threads (PoCL's workers included). */
static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
         1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static void print_machine(clseg_context *ctx) {
  char line[256], model[256] = "unknown CPU";
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10)) {
      snprintf(model, sizeof model, "%s", strchr(line, ':') ? strchr(line, ':') + 2 : line);
      model[strcspn(model, "\n")] = 0;
      break;
    }
  if (f)
    fclose(f);
  const clseg_device_info *d = clseg_context_device(ctx);
  printf("machine: %s, %ld CPUs\ndevice:  %s (%s, %s)\n", model, sysconf(_SC_NPROCESSORS_ONLN),
         d->name, d->platform_version, d->driver_version);
}

typedef struct {
  clseg_tensor *x, *w, *b, *y;
  clseg__conv2d_prep *prep; /* conv2d: prepared for the variant being timed */
} bench_tensors;

/* One run of the shape with the variant; returns the status. conv2d runs prepared; conv_transpose2d
 * eagerly (its prepared path packs the same weights once; the eager k2s2 packs per call). */
static clseg_status run_once(clseg_context *ctx, const bench_shape *s, const bench_tensors *t,
                             const char *v) {
  if (s->transposed) {
    clseg_conv_transpose2d_params p = {.stride_h = s->stride, .stride_w = s->stride};
    return clseg__conv_transpose2d_variant(ctx, t->x, t->w, t->b, &p, v, t->y);
  }
  return clseg__conv2d_run(ctx, t->prep, t->x, NULL, t->y);
}

static clseg_status prepare(clseg_context *ctx, const bench_shape *s, bench_tensors *t,
                            const char *v) {
  clseg_conv2d_params p = {.stride_h = s->stride,
                           .stride_w = s->stride,
                           .pad_top = s->pad,
                           .pad_left = s->pad,
                           .pad_bottom = s->pad,
                           .pad_right = s->pad,
                           .dilation_h = s->dilation,
                           .dilation_w = s->dilation,
                           .groups = s->groups,
                           .variant = v};
  p.act.kind = CLSEG_ACT_RELU;
  const int64_t xs[4] = {s->n, s->cin, s->h, s->w};
  clseg__conv2d_prep_free(t->prep);
  t->prep = NULL;
  return s->transposed ? CLSEG_OK : clseg__conv2d_prepare(ctx, xs, t->w, t->b, &p, &t->prep);
}

/* Seconds per run after one warm-up run, repeating until min_s has passed. Negative on error. *cpu
 * gets CPU seconds per run over all cores: on a machine shared with other jobs, wall time
 * overstates the cost and CPU time / cores estimates the time the run would take alone. */
static double time_variant(clseg_context *ctx, const bench_shape *s, bench_tensors *t,
                           const char *v, double min_s, double *cpu) {
  if (prepare(ctx, s, t, v) != CLSEG_OK || run_once(ctx, s, t, v) != CLSEG_OK ||
      clseg_finish(ctx) != CLSEG_OK)
    return -1.0;
  int runs = 0;
  const double t0 = now(), c0 = cpu_seconds();
  double el = 0.0;
  do {
    if (run_once(ctx, s, t, v) != CLSEG_OK)
      return -1.0;
    if (++runs % 4 == 0) { /* chained enqueues, one finish per four: as a network would run */
      if (clseg_finish(ctx) != CLSEG_OK)
        return -1.0;
      el = now() - t0;
    }
  } while (el < min_s);
  *cpu = (cpu_seconds() - c0) / runs;
  return el / runs;
}

static clseg_tensor *random_tensor(clseg_context *ctx, const int64_t s[4]) {
  clseg_tensor *t = NULL;
  if (clseg_tensor_create(ctx, s, &t) != CLSEG_OK)
    return NULL;
  const size_t n = clseg_tensor_count(t);
  float *h = malloc(n * sizeof *h);
  for (size_t i = 0; h && i < n; i++)
    h[i] = (float)((i * 2654435761u) % 1000u) / 1000.0f - 0.5f;
  if (!h || clseg_tensor_upload(t, h, n) != CLSEG_OK) {
    clseg_tensor_free(t);
    t = NULL;
  }
  free(h);
  return t;
}

static void bench_shape_row(clseg_context *ctx, const bench_shape *s, double min_s) {
  bench_tensors t = {0};
  const int64_t xs[4] = {s->n, s->cin, s->h, s->w}, bs[4] = {s->cout, 1, 1, 1};
  const int64_t ws[4] = {s->transposed ? s->cin : s->cout,
                         s->transposed ? s->cout : s->cin / s->groups, s->k, s->k};
  int64_t ys[4];
  t.x = random_tensor(ctx, xs);
  t.w = random_tensor(ctx, ws);
  t.b = random_tensor(ctx, bs);
  clseg_status st = CLSEG_INTERNAL;
  if (t.x && t.w && t.b) {
    clseg_conv_transpose2d_params tp = {.stride_h = s->stride, .stride_w = s->stride};
    clseg_conv2d_params p = {.stride_h = s->stride,
                             .stride_w = s->stride,
                             .pad_top = s->pad,
                             .pad_left = s->pad,
                             .pad_bottom = s->pad,
                             .pad_right = s->pad,
                             .dilation_h = s->dilation,
                             .dilation_w = s->dilation,
                             .groups = s->groups};
    st = s->transposed ? clseg_conv_transpose2d_shape(t.x, t.w, &tp, ys)
                       : clseg_conv2d_shape(t.x, t.w, &p, ys);
  }
  if (st == CLSEG_OK)
    st = clseg_tensor_create(ctx, ys, &t.y);
  if (st != CLSEG_OK) {
    printf("%-34s  setup failed: %s\n", s->name, clseg_last_error(ctx));
  } else {
    /* multiply-adds of the dense (or per-group) reduction, counted as 2 flops */
    const double flops = 2.0 * (double)(ys[0] * ys[1] * ys[2] * ys[3]) *
                         (double)(s->cin / s->groups) * (double)(s->k * s->k) /
                         (s->transposed ? (double)(s->stride * s->stride) : 1.0);
    const char *const conv_v[] = {"conv2d_winograd", "conv2d_winograd2x2", "conv2d_vec",
                                  "conv2d_gemm",     "conv2d_depthwise",   "conv2d_depthwise_gpu",
                                  "conv2d_direct"};
    const char *const convt_v[] = {"conv_transpose2d_k2s2", "conv_transpose2d_gpu",
                                   "conv_transpose2d_direct"};
    const char *const *vs = s->transposed ? convt_v : conv_v;
    const int nv = s->transposed ? 3 : (int)(sizeof conv_v / sizeof *conv_v);
    printf("%-34s", s->name);
    for (int i = 0; i < nv; i++) {
      double cpu = 0.0, sec = time_variant(ctx, s, &t, vs[i], min_s, &cpu);
      if (sec > 0)
        printf("  %s %6.1f (cpu %6.1f) GFLOP/s %8.2f ms", vs[i], flops / sec * 1e-9,
               flops / (cpu / (double)sysconf(_SC_NPROCESSORS_ONLN)) * 1e-9, sec * 1e3);
    }
    printf("\n");
    fflush(stdout);
  }
  clseg__conv2d_prep_free(t.prep);
  clseg_tensor_free(t.x), clseg_tensor_free(t.w), clseg_tensor_free(t.b), clseg_tensor_free(t.y);
}

int main(int argc, char **argv) {
  clseg_context *ctx = NULL;
  if (clseg_context_create(argc > 1 ? argv[1] : NULL, &ctx) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(NULL));
    return 1;
  }
  const double min_s = argc > 2 ? atof(argv[2]) : 0.3;
  const char *only = getenv("BENCH_CONV_ONLY"); /* a substring of the shape names to run */
  print_machine(ctx);
  printf(
      "GFLOP/s per variant (fused bias + relu; variants that do not support a shape are left out), "
      "after one warm-up run, >= %.2f s each;\n"
      "(cpu X) = flops / (CPU seconds / CPUs): the rate if the machine were not shared\n",
      min_s);
  for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++)
    if (!only || strstr(SHAPES[i].name, only))
      bench_shape_row(ctx, &SHAPES[i], min_s);
  clseg_context_free(ctx);
  return 0;
}
