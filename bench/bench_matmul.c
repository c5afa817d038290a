/* Benchmark of clseg_matmul on the attention shapes of segmentation networks (DANet position and
 * channel attention, SegFormer's efficient attention), each variant that runs the call, against
 * CLBlast's SGEMM and a naive one-loop-per-output OpenCL kernel on the same device in the same
 * run. Prints the CPU, the device, ms, GFLOP/s and ratios. Not a test.
 *
 * usage: bench_matmul [DEVICE_SPEC] [REPEATS] [NAIVE]   (default "auto", 3, 1: 0 skips the naive
 * kernel, which takes seconds per call on a CPU) */
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "ops/matmul.h"

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

/* One output per work-item, one loop over k: the baseline. */
static const char *NAIVE_SRC =
    "__kernel void naive(__global const float *a, __global const float *b, __global float *y,\n"
    "                    int M, int N, int K, int tb) {\n"
    "  int n = get_global_id(0), m = get_global_id(1);\n"
    "  if (m >= M || n >= N) return;\n"
    "  float s = 0.0f;\n"
    "  for (int k = 0; k < K; k++) s += a[m * K + k] * (tb ? b[n * K + k] : b[k * N + n]);\n"
    "  y[m * N + n] = s;\n"
    "}\n";

typedef struct {
  const char *name;
  int m, n, k, trans_b;
} shape;

/* N = 1 of each; the batch only multiplies the work. */
static const shape SHAPES[] = {
    {"DANet position energy [4096,64]x[64,4096]", 4096, 4096, 64, 0},
    {"DANet position out [512,4096]x[4096,4096]^T", 512, 4096, 4096, 1},
    {"SegFormer [16384,32]x[32,256]", 16384, 256, 32, 0},
    {"DANet channel [512,4096]x[4096,512]", 512, 512, 4096, 0},
};

typedef struct {
  clseg_tensor *a, *b, *y;
  const shape *s;
} bench_call;

/* ms per call: one warm-up (compiles), then repeats chained with one finish. */
static double time_clseg(clseg_context *ctx, const bench_call *c, const char *variant, int reps) {
  const clseg_matmul_params p = {0, c->s->trans_b, 0};
  if (clseg__matmul_variant(ctx, c->a, c->b, NULL, &p, c->y, variant) != CLSEG_OK ||
      clseg_finish(ctx) != CLSEG_OK)
    return -1.0;
  const double t0 = now();
  for (int r = 0; r < reps; r++)
    if (clseg__matmul_variant(ctx, c->a, c->b, NULL, &p, c->y, variant) != CLSEG_OK)
      return -1.0;
  clseg_finish(ctx);
  return (now() - t0) * 1e3 / reps;
}

static double time_clblast(clseg_context *ctx, const bench_call *c, int reps) {
  const shape *s = c->s;
  for (int r = -1; r < reps; r++) {
    static double t0;
    if (r == 0)
      t0 = now();
    cl_event ev = NULL;
    CLBlastStatusCode st =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                     s->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)s->m,
                     (size_t)s->n, (size_t)s->k, 1.0f, c->a->buf, 0, (size_t)s->k, c->b->buf, 0,
                     s->trans_b ? (size_t)s->k : (size_t)s->n, 0.0f, c->y->buf, 0, (size_t)s->n,
                     &ctx->queue, &ev);
    if (ev)
      clReleaseEvent(ev);
    if (st != CLBlastSuccess)
      return -1.0;
    if (r == -1 || r == reps - 1)
      clFinish(ctx->queue);
    if (r == reps - 1)
      return (now() - t0) * 1e3 / reps;
  }
  return -1.0;
}

static double time_naive(clseg_context *ctx, const bench_call *c, int reps) {
  cl_int err;
  cl_program prog = clCreateProgramWithSource(ctx->cl, 1, &NAIVE_SRC, NULL, &err);
  if (err != CL_SUCCESS || clBuildProgram(prog, 1, &ctx->device, "", NULL, NULL) != CL_SUCCESS)
    return -1.0;
  cl_kernel k = clCreateKernel(prog, "naive", &err);
  const shape *s = c->s;
  clSetKernelArg(k, 0, sizeof(cl_mem), &c->a->buf);
  clSetKernelArg(k, 1, sizeof(cl_mem), &c->b->buf);
  clSetKernelArg(k, 2, sizeof(cl_mem), &c->y->buf);
  clSetKernelArg(k, 3, sizeof(int), &s->m);
  clSetKernelArg(k, 4, sizeof(int), &s->n);
  clSetKernelArg(k, 5, sizeof(int), &s->k);
  clSetKernelArg(k, 6, sizeof(int), &s->trans_b);
  const size_t local[2] = {16, 1}, global[2] = {(size_t)(s->n + 15) / 16 * 16, (size_t)s->m};
  double ms = -1.0;
  if (clEnqueueNDRangeKernel(ctx->queue, k, 2, NULL, global, local, 0, NULL, NULL) == CL_SUCCESS &&
      clFinish(ctx->queue) == CL_SUCCESS) {
    const double t0 = now();
    for (int r = 0; r < reps; r++)
      clEnqueueNDRangeKernel(ctx->queue, k, 2, NULL, global, local, 0, NULL, NULL);
    clFinish(ctx->queue);
    ms = (now() - t0) * 1e3 / reps;
  }
  clReleaseKernel(k);
  clReleaseProgram(prog);
  return ms;
}

static void report(const char *who, double ms, double flop, double ref_ms) {
  if (ms < 0) {
    printf("  %-14s failed\n", who);
    return;
  }
  printf("  %-14s %9.2f ms %8.1f GFLOP/s", who, ms, flop / ms * 1e-6);
  if (ref_ms > 0)
    printf("   clseg best is %.2fx faster", ms / ref_ms);
  printf("\n");
}

static void bench_shape(clseg_context *ctx, const shape *s, int reps, int naive) {
  const int64_t ad[2] = {s->m, s->k}, bd[2] = {s->trans_b ? s->n : s->k, s->trans_b ? s->k : s->n};
  const int64_t yd[2] = {s->m, s->n};
  bench_call c = {.s = s};
  float *ha = malloc((size_t)(s->m * s->k) * sizeof(float)),
        *hb = malloc((size_t)(s->k * s->n) * sizeof(float));
  for (int64_t i = 0; ha && i < s->m * s->k; i++)
    ha[i] = (float)(i % 7) * 0.25f - 0.75f;
  for (int64_t i = 0; hb && i < s->k * s->n; i++)
    hb[i] = (float)(i % 5) * 0.25f - 0.5f;
  if (!ha || !hb || clseg_tensor_create_nd(ctx, 2, ad, &c.a) ||
      clseg_tensor_create_nd(ctx, 2, bd, &c.b) || clseg_tensor_create_nd(ctx, 2, yd, &c.y) ||
      clseg_tensor_upload(c.a, ha, (size_t)(s->m * s->k)) ||
      clseg_tensor_upload(c.b, hb, (size_t)(s->k * s->n))) {
    printf("%s: setup failed: %s\n", s->name, clseg_last_error(ctx));
    goto done;
  }
  const double flop = 2.0 * s->m * s->n * s->k;
  printf("%s (%.2f GFLOP)\n", s->name, flop * 1e-9);
  const char *variants[] = {"auto", "matmul_tile", "matmul_dot", "matmul_gpu"};
  double best = -1.0;
  for (int v = 0; v < (getenv("BENCH_NO_GPU") ? 3 : 4); v++) {
    if (v == 2 && !s->trans_b)
      continue;
    const double ms = time_clseg(ctx, &c, variants[v], reps);
    if (ms > 0 && (best < 0 || ms < best))
      best = ms;
    report(variants[v], ms, flop, -1.0);
  }
  report("clblast", time_clblast(ctx, &c, reps), flop, best);
  if (naive)
    report("naive kernel", time_naive(ctx, &c, 1), flop, best);
done:
  free(ha);
  free(hb);
  clseg_tensor_free(c.a);
  clseg_tensor_free(c.b);
  clseg_tensor_free(c.y);
}

int main(int argc, char **argv) {
  const char *spec = argc > 1 ? argv[1] : "auto";
  const int reps = argc > 2 ? atoi(argv[2]) : 3, naive = argc > 3 ? atoi(argv[3]) : 1;
  clseg_context *ctx = NULL;
  setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes: a run takes minutes */
  if (clseg_context_create(spec, &ctx) != CLSEG_OK) {
    fprintf(stderr, "bench_matmul: %s\n", clseg_last_error(NULL));
    return 1;
  }
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  printf("bench_matmul: CPU %s; device %s; %d repeats; fp32, batch 1\n", cpu, ctx->info.name,
         reps > 0 ? reps : 1);
  for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++)
    bench_shape(ctx, &SHAPES[i], reps > 0 ? reps : 1, naive);
  clseg_context_free(ctx);
  return 0;
}
