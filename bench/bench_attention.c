/* Benchmark of the fused attention blocks (CBAM channel and spatial gates, SE, scSE, attention
 * gate) at 64x128x128 and 256x32x32: time per call and effective GB/s (x read once + y written
 * once, the least traffic any implementation needs), next to a host memcpy of the same bytes as a
 * bandwidth yardstick. Usage: bench_attention [device spec] [iterations]. Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clseg_ops.h"

#define MAX_T 32

typedef struct {
  clseg_context *ctx;
  clseg_tensor *t[MAX_T];
  int nt;
  unsigned seed;
} bench;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A tensor of uniform values in [lo, hi]; NULL (and a message) on failure. */
static clseg_tensor *make(bench *b, int64_t n, int64_t c, int64_t h, int64_t w, float lo,
                          float hi) {
  const int64_t s[4] = {n, c, h, w};
  const size_t count = (size_t)(n * c * h * w);
  clseg_tensor *t = NULL;
  float *data = malloc(count * sizeof *data);
  if (b->nt == MAX_T || !data || clseg_tensor_create(b->ctx, s, &t) != CLSEG_OK) {
    fprintf(stderr, "bench: cannot make a tensor: %s\n", clseg_last_error(b->ctx));
    free(data);
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    b->seed = b->seed * 1664525u + 1013904223u;
    data[i] = lo + (hi - lo) * (float)(b->seed >> 8) / 16777216.0f;
  }
  clseg_status st = clseg_tensor_upload(t, data, count);
  free(data);
  b->t[b->nt++] = t;
  return st == CLSEG_OK ? t : NULL;
}

static void release(bench *b) {
  for (int i = 0; i < b->nt; i++)
    clseg_tensor_free(b->t[i]);
  b->nt = 0;
}

typedef struct {
  clseg_tensor *x, *y, *w1, *b1, *w2, *b2, *ws, *bs, *wk, *bias, *g, *wt, *wp, *wq, *bq, *wo, *bo,
      *bn[4];
} operands;

static clseg_status run_block(bench *b, const char *block, operands *o) {
  clseg_context *c = b->ctx;
  if (!strcmp(block, "cbam_channel_gate"))
    return clseg_cbam_channel_gate(c, o->x, o->w1, o->b1, o->w2, o->b2, o->y);
  if (!strcmp(block, "se_gate"))
    return clseg_se_gate(c, o->x, o->w1, o->b1, o->w2, o->b2, o->y);
  if (!strcmp(block, "scse_gate"))
    return clseg_scse_gate(c, o->x, o->w1, o->b1, o->w2, o->b2, o->ws, o->bs, o->y);
  if (!strcmp(block, "cbam_spatial_gate")) {
    const clseg_cbam_spatial_params p = {o->bn[0], o->bn[1], o->bn[2], o->bn[3], 0.0f};
    return clseg_cbam_spatial_gate(c, o->x, o->wk, o->bias, &p, o->y);
  }
  clseg_attention_gate_params p = {.theta_stride = 2};
  if (!strcmp(block, "attention_gate+out")) {
    p.w_out = o->wo;
    p.b_out = o->bo;
    p.bn_gamma = o->bn[0], p.bn_beta = o->bn[1], p.bn_mean = o->bn[2], p.bn_var = o->bn[3];
  }
  return clseg_attention_gate(c, o->x, o->g, o->wt, NULL, o->wp, o->bq, o->wq, o->bs, &p, NULL,
                              o->y);
}

/* Operands for x [1, c, h, w]: MLP reduction 16, 7x7 spatial conv with batchnorm, attention gate
 * with g of 2c channels at half size, ci = c / 2, theta stride 2. */
static int make_operands(bench *b, int64_t c, int64_t h, int64_t w, operands *o) {
  const int64_t r = c / 16 > 0 ? c / 16 : 1, ci = c / 2;
  o->x = make(b, 1, c, h, w, -2, 2);
  o->y = make(b, 1, c, h, w, 0, 0);
  o->w1 = make(b, r, c, 1, 1, -0.2f, 0.2f), o->b1 = make(b, 1, r, 1, 1, -1, 1);
  o->w2 = make(b, c, r, 1, 1, -0.5f, 0.5f), o->b2 = make(b, 1, c, 1, 1, -1, 1);
  o->ws = make(b, 1, c, 1, 1, -0.2f, 0.2f), o->bs = make(b, 1, 1, 1, 1, -1, 1);
  o->wk = make(b, 1, 2, 7, 7, -0.2f, 0.2f), o->bias = make(b, 1, 1, 1, 1, -1, 1);
  o->g = make(b, 1, 2 * c, h / 2, w / 2, -2, 2);
  o->wt = make(b, ci, c, 2, 2, -0.1f, 0.1f), o->wp = make(b, ci, 2 * c, 1, 1, -0.1f, 0.1f);
  o->wq = make(b, 1, ci, 1, 1, -0.3f, 0.3f), o->bq = make(b, 1, ci, 1, 1, -1, 1);
  o->wo = make(b, c, c, 1, 1, -0.1f, 0.1f), o->bo = make(b, 1, c, 1, 1, -1, 1);
  o->bn[0] = make(b, 1, c, 1, 1, 0.5f, 1.5f), o->bn[1] = make(b, 1, c, 1, 1, -1, 1);
  o->bn[2] = make(b, 1, c, 1, 1, -0.5f, 0.5f), o->bn[3] = make(b, 1, c, 1, 1, 0.5f, 1.5f);
  return o->x && o->y && o->w1 && o->b1 && o->w2 && o->b2 && o->ws && o->bs && o->wk && o->bias &&
         o->g && o->wt && o->wp && o->wq && o->bq && o->wo && o->bo && o->bn[0] && o->bn[1] &&
         o->bn[2] && o->bn[3];
}

/* The spatial gate's batchnorm has one channel: its own single-element parameters. */
static int spatial_bn(bench *b, operands *o) {
  for (int i = 0; i < 4; i++)
    o->bn[i] = make(b, 1, 1, 1, 1, i == 2 ? -0.5f : 0.5f, 1.5f);
  return o->bn[0] && o->bn[1] && o->bn[2] && o->bn[3];
}

static double memcpy_seconds(size_t bytes, int iters) {
  char *a = malloc(bytes), *d = malloc(bytes);
  double t = -1.0;
  if (a && d) {
    memset(a, 1, bytes);
    memcpy(d, a, bytes);
    double t0 = now();
    for (int i = 0; i < iters; i++) {
      a[i % bytes] = (char)i;
      memcpy(d, a, bytes);
    }
    t = (now() - t0) / iters;
  }
  free(a);
  free(d);
  return t;
}

static int bench_shape(bench *b, int64_t c, int64_t h, int64_t w, int iters) {
  static const char *const blocks[] = {"cbam_channel_gate", "se_gate",        "scse_gate",
                                       "cbam_spatial_gate", "attention_gate", "attention_gate+out"};
  const double bytes = 2.0 * 4.0 * (double)(c * h * w);
  const double mc = memcpy_seconds((size_t)(c * h * w) * 4, iters);
  printf("x [1, %lld, %lld, %lld]  (host memcpy of x: %.3f ms, %.1f GB/s read+write)\n",
         (long long)c, (long long)h, (long long)w, mc * 1e3, bytes / mc * 1e-9);
  for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
    operands o;
    if (!make_operands(b, c, h, w, &o) ||
        (!strcmp(blocks[i], "cbam_spatial_gate") && !spatial_bn(b, &o)))
      return 1;
    clseg_stats s0, s1;
    for (int k = 0; k < 5; k++) /* warm-up: compiles and caches the kernels */
      if (run_block(b, blocks[i], &o) != CLSEG_OK || clseg_finish(b->ctx) != CLSEG_OK)
        return fprintf(stderr, "%s: %s\n", blocks[i], clseg_last_error(b->ctx)), 1;
    clseg_context_stats(b->ctx, &s0);
    double t0 = now();
    for (int k = 0; k < iters; k++)
      if (run_block(b, blocks[i], &o) != CLSEG_OK)
        return fprintf(stderr, "%s: %s\n", blocks[i], clseg_last_error(b->ctx)), 1;
    if (clseg_finish(b->ctx) != CLSEG_OK)
      return fprintf(stderr, "%s: %s\n", blocks[i], clseg_last_error(b->ctx)), 1;
    double t = (now() - t0) / iters;
    clseg_context_stats(b->ctx, &s1);
    printf("  %-20s %9.3f ms  %7.2f GB/s  %.0f launches/call\n", blocks[i], t * 1e3,
           bytes / t * 1e-9, (double)(s1.kernels_enqueued - s0.kernels_enqueued) / iters);
    release(b);
  }
  return 0;
}

int main(int argc, char **argv) {
  bench b = {.seed = 12345u};
  const int iters = argc > 2 ? atoi(argv[2]) : 50;
  if (clseg_context_create(argc > 1 ? argv[1] : NULL, &b.ctx) != CLSEG_OK) {
    fprintf(stderr, "bench_attention: %s\n", clseg_last_error(NULL));
    return 1;
  }
  const clseg_device_info *d = clseg_context_device(b.ctx);
  printf("device: %s (%s, %s), %u compute units; %d iterations per block, one finish per batch\n",
         d->name, d->platform_name, d->driver_version, d->compute_units, iters > 0 ? iters : 1);
  int rc = bench_shape(&b, 64, 128, 128, iters > 0 ? iters : 1) ||
           bench_shape(&b, 256, 32, 32, iters > 0 ? iters : 1);
  release(&b);
  clseg_context_free(b.ctx);
  return rc;
}
