/* Benchmark of the fused soft attention (lib/ops/attention_fused.c) against the unfused path on
 * existing ops, which materialises the Lq x Lk scores: S = Q K^T (linear_direct), softmax over each
 * row (softmax_channels on S viewed as [Lq, Lk, 1, 1]), O = S V (linear_direct, V given as V^T).
 * Shapes: DANet position attention on a 64x64 map (N 4096, dk 64, dv 512) and SegFormer-B0 stage 1
 * (Lq 128x128, Lk 256 after spatial reduction, d 32, 1 head). Prints ms, GFLOP/s (2 Lq Lk (dk + dv)
 * flops), the ratio and the largest difference of the two outputs; times are the best of the
 * iterations.
 * Usage: bench_attention_fused [device spec] [iterations]. Not a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clseg_ops.h"
#include "internal.h"
#include "ops/attention_fused.h"
#include "ops/linear.h"

typedef struct {
  const char *name;
  int64_t lq, lk, dk, dv;
} shape;

/* Q [Lq, dk] and K [Lk, dk] token-major, pre-scaled Q; V^T [dv, Lk] (channel-major V); S [Lq, Lk];
 * the two outputs [Lq, dv]. */
typedef struct {
  clseg_tensor *q, *k, *vt, *s, *o_fused, *o_unfused;
} operands;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static clseg_tensor *make(clseg_context *ctx, int64_t n, int64_t c, float scale, unsigned *seed) {
  const int64_t s[4] = {n, c, 1, 1};
  const size_t count = (size_t)(n * c);
  clseg_tensor *t = NULL;
  float *data = malloc(count * sizeof *data);
  if (!data || clseg_tensor_create(ctx, s, &t) != CLSEG_OK) {
    free(data);
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    *seed = *seed * 1664525u + 1013904223u;
    data[i] = scale * (2.0f * (float)(*seed >> 8) / 16777216.0f - 1.0f);
  }
  clseg_status st = clseg_tensor_upload(t, data, count);
  free(data);
  if (st != CLSEG_OK) {
    clseg_tensor_free(t);
    return NULL;
  }
  return t;
}

static void release(operands *o) {
  clseg_tensor *all[6] = {o->q, o->k, o->vt, o->s, o->o_fused, o->o_unfused};
  for (int i = 0; i < 6; i++)
    clseg_tensor_free(all[i]);
  memset(o, 0, sizeof *o);
}

static clseg_status run_fused(clseg_context *ctx, const shape *sh, operands *o) {
  const clseg__attention_dims d = {.batch = 1,
                                   .heads = 1,
                                   .lq = sh->lq,
                                   .lk = sh->lk,
                                   .dk = sh->dk,
                                   .dv = sh->dv,
                                   .q = {0, 0, sh->dk, 1},
                                   .k = {0, 0, sh->dk, 1},
                                   .v = {0, 0, 1, sh->lk},
                                   .o = {0, 0, sh->dv, 1},
                                   .scale = 1.0f}; /* Q is pre-scaled for both paths */
  return clseg__attention_fused(ctx, &d, o->q, o->k, o->vt, NULL, o->o_fused);
}

/* The unfused path's two GEMMs without the softmax: what any unfused path on linear_direct costs at
 * least. */
static clseg_status run_gemms(clseg_context *ctx, operands *o) {
  clseg_status s = clseg__linear_variant(ctx, o->q, o->k, NULL, NULL, o->s, "linear_direct");
  return s != CLSEG_OK
             ? s
             : clseg__linear_variant(ctx, o->s, o->vt, NULL, NULL, o->o_unfused, "linear_direct");
}

static clseg_status run_unfused(clseg_context *ctx, operands *o) {
  clseg_status s = clseg__linear_variant(ctx, o->q, o->k, NULL, NULL, o->s, "linear_direct");
  if (s == CLSEG_OK)
    s = clseg_softmax_channels(ctx, o->s, o->s);
  if (s == CLSEG_OK)
    s = clseg__linear_variant(ctx, o->s, o->vt, NULL, NULL, o->o_unfused, "linear_direct");
  return s;
}

enum { FUSED, UNFUSED, GEMMS_ONLY };

static clseg_status run_path(clseg_context *ctx, const shape *sh, operands *o, int path) {
  return path == FUSED     ? run_fused(ctx, sh, o)
         : path == UNFUSED ? run_unfused(ctx, o)
                           : run_gemms(ctx, o);
}

/* The fastest of iters calls of one path, each timed to its finish, after one warm-up call that
 * builds the kernels: the machine is shared, and the minimum is the least disturbed figure. cpu
 * gets the process CPU seconds of the same call (PoCL's worker threads are ours), which other
 * processes on the machine disturb less than wall time. */
static double time_path(clseg_context *ctx, const shape *sh, operands *o, int path, int iters,
                        double *cpu) {
  double best = -1.0;
  for (int k = 0; k <= iters; k++) {
    const double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (run_path(ctx, sh, o, path) != CLSEG_OK || clseg_finish(ctx) != CLSEG_OK)
      return -1.0;
    const double t = clock_s(CLOCK_MONOTONIC) - t0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (k > 0 && (best < 0 || t < best))
      best = t;
    if (k > 0 && (k == 1 || c < *cpu))
      *cpu = c;
  }
  return best;
}

static double max_diff(const clseg_tensor *a, const clseg_tensor *b) {
  const size_t n = clseg_tensor_count(a);
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  double m = -1.0;
  if (x && y && clseg_tensor_download(a, x, n) == CLSEG_OK &&
      clseg_tensor_download(b, y, n) == CLSEG_OK) {
    m = 0.0;
    for (size_t i = 0; i < n; i++)
      m = fmax(m, fabs((double)x[i] - (double)y[i]));
  }
  free(x);
  free(y);
  return m;
}

static int bench_shape(clseg_context *ctx, const shape *sh, int iters) {
  unsigned seed = 12345u;
  operands o = {0};
  o.q = make(ctx, sh->lq, sh->dk, 1.0f / sqrtf((float)sh->dk), &seed);
  o.k = make(ctx, sh->lk, sh->dk, 1.0f, &seed);
  o.vt = make(ctx, sh->dv, sh->lk, 1.0f, &seed);
  o.s = make(ctx, sh->lq, sh->lk, 0.0f, &seed);
  o.o_fused = make(ctx, sh->lq, sh->dv, 0.0f, &seed);
  o.o_unfused = make(ctx, sh->lq, sh->dv, 0.0f, &seed);
  if (!o.q || !o.k || !o.vt || !o.s || !o.o_fused || !o.o_unfused) {
    fprintf(stderr, "%s: cannot make the operands: %s\n", sh->name, clseg_last_error(ctx));
    release(&o);
    return 1;
  }
  /* the unfused path last, so that its output is the one compared */
  double cf = 0, cg = 0, cu = 0;
  const double tf = time_path(ctx, sh, &o, FUSED, iters, &cf);
  const double tg = time_path(ctx, sh, &o, GEMMS_ONLY, iters, &cg);
  const double tu = time_path(ctx, sh, &o, UNFUSED, iters, &cu);
  if (tf < 0 || tu < 0 || tg < 0) {
    fprintf(stderr, "%s: %s\n", sh->name, clseg_last_error(ctx));
    release(&o);
    return 1;
  }
  const double flop = 2.0 * (double)sh->lq * (double)sh->lk * (double)(sh->dk + sh->dv);
  printf("%-34s Lq %5lld Lk %5lld dk %3lld dv %3lld  scores %6.1f MiB\n", sh->name,
         (long long)sh->lq, (long long)sh->lk, (long long)sh->dk, (long long)sh->dv,
         (double)(sh->lq * sh->lk) * 4.0 / 1048576.0);
  printf("  %-46s %9.2f ms wall %9.2f ms CPU  %6.1f GFLOP/s\n", "attention_fused", tf * 1e3,
         cf * 1e3, flop / tf * 1e-9);
  printf("  %-46s %9.2f ms wall %9.2f ms CPU  %6.1f GFLOP/s\n",
         "unfused: linear_direct, softmax_channels, again", tu * 1e3, cu * 1e3, flop / tu * 1e-9);
  printf("  %-46s %9.2f ms wall %9.2f ms CPU\n", "  its two linear_direct GEMMs alone", tg * 1e3,
         cg * 1e3);
  printf("  unfused / fused: %.2fx wall, %.2fx CPU; GEMMs alone / fused: %.2fx wall, %.2fx CPU; "
         "max |fused - unfused| %.3g\n",
         tu / tf, cu / cf, tg / tf, cg / cf, max_diff(o.o_fused, o.o_unfused));
  release(&o);
  return 0;
}

/* The CPU model from /proc/cpuinfo (what `lscpu` calls Model name), for comparing runs. */
static void cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return;
  char line[256];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      snprintf(buf, size, "%s", strchr(line, ':') + 2);
      buf[strcspn(buf, "\n")] = 0;
      break;
    }
  fclose(f);
}

int main(int argc, char **argv) {
  const int iters = argc > 2 && atoi(argv[2]) > 0 ? atoi(argv[2]) : 5;
  clseg_context *ctx = NULL;
  if (clseg_context_create(argc > 1 ? argv[1] : NULL, &ctx) != CLSEG_OK) {
    fprintf(stderr, "bench_attention_fused: %s\n", clseg_last_error(NULL));
    return 1;
  }
  const clseg_device_info *d = clseg_context_device(ctx);
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  printf("host CPU: %s; device: %s (%s, %s), %u compute units; %d iterations per path\n", cpu,
         d->name, d->platform_name, d->driver_version, d->compute_units, iters);
  static const shape shapes[] = {
      {"DANet position attention 64x64", 4096, 4096, 64, 512},
      {"SegFormer-B0 stage 1 (sr 8)", 128 * 128, 256, 32, 32},
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes && !rc; i++)
    rc = bench_shape(ctx, &shapes[i], iters);
  clseg_context_free(ctx);
  return rc;
}
