/* clseg bench: times a model on a device: cold start (kernel builds included), warm latency
 * (median, min, max), throughput, GFLOP/s, planned device memory, and with --profile a per-layer
 * table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clseg_models.h"
#include "segment.h"

typedef struct {
  const char *model, *device;
  int64_t w, h, batch;
  int runs, warmup, json, profile, low_memory;
} bench_args;

typedef struct {
  double load_s, plan_s, first_ms, median_ms, min_ms, max_ms;
  clseg_stats cold, warm;
  clseg_plan_info info;
} bench_result;

static void usage(FILE *f) {
  fprintf(f,
          "usage: clseg bench [options]\n\n"
          "Times a model on a device with random input: cold start (context, model, plan and first "
          "run,\n"
          "kernel builds included) and warm runs (upload, run, download).\n\n"
          "  -m, --model FILE   selfie, selfie-landscape, or a .safetensors, .tflite or .onnx file\n"
          "                     (default: selfie, the bundled selfie segmentation)\n"
          "  -d, --device SPEC  device (default: $CLSEG_DEVICE, else auto)\n"
          "      --size WxH     input size (default: the model's, else 512x512)\n"
          "      --batch N      images per run (default 1)\n"
          "      --runs N       timed runs (default 20)\n"
          "      --warmup N     untimed runs after the first (default 3)\n"
          "      --profile      per-layer device times from OpenCL events\n"
          "      --low-memory   prefer memory to speed (no Winograd F(4x4); see clseg run)\n"
          "      --json         one JSON object instead of text\n"
          "  -h, --help         this help\n");
}

static int parse(int argc, char **argv, bench_args *a) {
  enum { O_SIZE = 256, O_BATCH, O_RUNS, O_WARMUP, O_JSON, O_PROFILE, O_LOW_MEMORY };
  static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                       {"device", required_argument, 0, 'd'},
                                       {"size", required_argument, 0, O_SIZE},
                                       {"batch", required_argument, 0, O_BATCH},
                                       {"runs", required_argument, 0, O_RUNS},
                                       {"warmup", required_argument, 0, O_WARMUP},
                                       {"json", no_argument, 0, O_JSON},
                                       {"profile", no_argument, 0, O_PROFILE},
                                       {"low-memory", no_argument, 0, O_LOW_MEMORY},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  a->batch = 1;
  a->runs = 20;
  a->warmup = 3;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:d:h", opts, NULL)) != -1) {
    int v = 0;
    if (c == O_BATCH || c == O_RUNS || c == O_WARMUP) {
      if (!cli_parse_int(optarg, c == O_WARMUP ? 0 : 1, 100000, &v)) {
        cli_error("bench", "'%s' is not a valid count", optarg);
        return CLI_EXIT_USAGE;
      }
    }
    switch (c) {
    case 'm': a->model = optarg; break;
    case 'd': a->device = optarg; break;
    case O_SIZE:
      if (!cli_parse_size(optarg, &a->w, &a->h)) {
        cli_error("bench", "--size '%s': expected WxH, e.g. 512x512", optarg);
        return CLI_EXIT_USAGE;
      }
      break;
    case O_BATCH: a->batch = v; break;
    case O_RUNS: a->runs = v; break;
    case O_WARMUP: a->warmup = v; break;
    case O_JSON: a->json = 1; break;
    case O_PROFILE: a->profile = 1; break;
    case O_LOW_MEMORY: a->low_memory = 1; break;
    case 'h': usage(stdout); return 0;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    cli_error("bench", "unexpected argument '%s'", argv[optind]);
    return CLI_EXIT_USAGE;
  }
  if (!a->model)
    a->model = seg_default_network();
  return -1;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Cold start, then warm runs; fills r. */
static clseg_status measure(const bench_args *a, seg_worker *w, bench_result *r, char *err,
                            size_t errlen) {
  double t0 = cli_now();
  clseg_status s = seg_worker_init(w, a->device, a->model, a->h, a->w, err, errlen);
  if (s != CLSEG_OK)
    return s;
  r->load_s = cli_now() - t0;
  w->plan_opt.low_memory = a->low_memory;
  if (seg_size_conflict(w, err, errlen))
    return CLSEG_INVALID_ARGUMENT;
  int64_t c = clseg_model_in_channels(w->model), h = a->h, wd = a->w;
  if (!h && !clseg_model_input_size(w->model, &h, &wd))
    h = wd = 512;
  clseg_plan *plan = NULL;
  double t1 = cli_now();
  if ((s = seg_plan_for(w, a->batch, h, wd, &plan, err, errlen)) != CLSEG_OK)
    return s;
  r->plan_s = cli_now() - t1;
  int64_t os[4];
  clseg_plan_output_shape(plan, os);
  size_t nin = (size_t)(a->batch * c * h * wd), nout = (size_t)(os[0] * os[1] * os[2] * os[3]);
  float *in = malloc(nin * sizeof *in), *out = malloc(nout * sizeof *out);
  double *ms = malloc((size_t)a->runs * sizeof *ms);
  s = in && out && ms ? CLSEG_OK : CLSEG_OUT_OF_MEMORY;
  uint64_t seed = 12345;
  for (size_t i = 0; in && i < nin; i++) { /* a fixed pseudo-random input in [-1, 1) */
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    in[i] = (float)((seed >> 40) & 0xffffff) / 8388608.0f - 1.0f;
  }
  for (int i = -1 - a->warmup; s == CLSEG_OK && i < a->runs; i++) {
    double ts = cli_now();
    s = clseg_plan_run(plan, in, nin, out, nout);
    double dt = (cli_now() - ts) * 1e3;
    if (i == -1 - a->warmup) {
      r->first_ms = dt;
      clseg_context_stats(w->ctx, &r->cold);
    } else if (i >= 0) {
      ms[i] = dt;
    }
  }
  if (s != CLSEG_OK)
    snprintf(err, errlen, "%s",
             s == CLSEG_OUT_OF_MEMORY ? "out of host memory" : clseg_last_error(w->ctx));
  if (s == CLSEG_OK) {
    clseg_context_stats(w->ctx, &r->warm);
    clseg_plan_get_info(plan, &r->info);
    qsort(ms, (size_t)a->runs, sizeof *ms, cmp_double);
    r->median_ms = ms[a->runs / 2];
    r->min_ms = ms[0];
    r->max_ms = ms[a->runs - 1];
  }
  free(in);
  free(out);
  free(ms);
  return s;
}

/* One profiled run on a plan of its own; prints the per-layer table. */
static clseg_status profile(const bench_args *a, seg_worker *w, int64_t h, int64_t wd) {
  clseg_plan *p = NULL;
  const clseg_plan_options opt = {.profile = 1, .low_memory = a->low_memory};
  clseg_status s =
      clseg_plan_create(w->ctx, clseg_model_graph(w->model), a->batch, h, wd, &opt, &p);
  int64_t is[4], os[4];
  float *in = NULL, *out = NULL;
  if (s == CLSEG_OK) {
    clseg_plan_input_shape(p, is);
    clseg_plan_output_shape(p, os);
    in = calloc((size_t)(is[0] * is[1] * is[2] * is[3]), sizeof *in);
    out = malloc((size_t)(os[0] * os[1] * os[2] * os[3]) * sizeof *out);
    for (int k = 0; k < 2 && in && out && s == CLSEG_OK; k++) /* the second run is the warm one */
      s = clseg_plan_run(p, in, (size_t)(is[0] * is[1] * is[2] * is[3]), out,
                         (size_t)(os[0] * os[1] * os[2] * os[3]));
  }
  double total = 0;
  int n = clseg_plan_layer_count(p);
  clseg_plan_layer l;
  for (int i = 0; s == CLSEG_OK && i < n; i++)
    if (clseg_plan_layer_get(p, i, &l) == CLSEG_OK && l.ms > 0)
      total += l.ms;
  if (s == CLSEG_OK)
    printf("\n%-4s %-36s %-18s %-22s %9s %6s %8s  %s\n", "#", "layer", "op", "output", "ms",
           "share", "GFLOP/s", "variant (tuning row)");
  for (int i = 0; s == CLSEG_OK && i < n; i++) {
    clseg_plan_layer_get(p, i, &l);
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)l.shape[1], (long long)l.shape[2],
             (long long)l.shape[3]);
    printf("%-4d %-36.36s %-18.18s %-22s %9.3f %5.1f%% %8.1f  %s%s%s%s\n", i, l.name, l.op, shape,
           l.ms, total > 0 ? 100.0 * l.ms / total : 0.0, l.ms > 0 ? l.flops / (l.ms * 1e6) : 0.0,
           l.variant ? l.variant : "", l.variant ? " (" : "", l.variant ? l.tuning : "",
           l.variant ? ")" : "");
  }
  if (s == CLSEG_OK)
    printf("sum of layers %.3f ms (profiling waits after every layer)\n", total);
  else
    cli_error("bench", "profiling: %s", clseg_last_error(w->ctx));
  free(in);
  free(out);
  clseg_plan_free(p);
  return s;
}

static void report(const bench_args *a, const seg_worker *w, const bench_result *r, int64_t h,
                   int64_t wd) {
  const clseg_device_info *d = clseg_context_device(w->ctx);
  double gflop = r->info.flops / 1e9, ips = (double)a->batch * 1e3 / r->median_ms;
  double cold_s = r->load_s + r->plan_s + r->first_ms / 1e3;
  double mem = (double)(r->info.activation_bytes + r->info.parameter_bytes) / 1048576.0;
  if (a->json) {
    printf("{\"model\": ");
    cli_json_string(stdout, a->model);
    printf(", \"device\": ");
    cli_json_string(stdout, d->name);
    printf(", \"platform\": ");
    cli_json_string(stdout, d->platform_name);
    printf(", \"size\": [%lld, %lld], \"batch\": %lld, \"runs\": %d, \"median_ms\": %.3f, "
           "\"min_ms\": %.3f, "
           "\"max_ms\": %.3f, \"images_per_second\": %.2f, \"gflop\": %.3f, \"gflops\": %.2f, "
           "\"cold_start_s\": %.3f, \"first_run_ms\": %.3f, \"programs_built\": %llu, "
           "\"programs_from_cache\": %llu, \"activation_bytes\": %llu, \"activation_sum_bytes\": "
           "%llu, "
           "\"parameter_bytes\": %llu, \"kernels\": %d, \"fused\": %d}\n",
           (long long)wd, (long long)h, (long long)a->batch, a->runs, r->median_ms, r->min_ms,
           r->max_ms, ips, gflop, gflop * 1e3 / r->median_ms, cold_s, r->first_ms,
           (unsigned long long)r->cold.programs_built,
           (unsigned long long)r->cold.programs_from_cache,
           (unsigned long long)r->info.activation_bytes,
           (unsigned long long)r->info.activation_sum_bytes,
           (unsigned long long)r->info.parameter_bytes, r->info.kernels, r->info.fused);
    return;
  }
  printf("model    %s\ndevice   %s (%s, %s)\n", a->model, d->name, d->platform_name,
         d->driver_version);
  printf("input    %lld x %lld x %lld x %lld, %.2f GFLOP per run, %d kernels (%d nodes fused)\n",
         (long long)a->batch, (long long)clseg_model_in_channels(w->model), (long long)h,
         (long long)wd, gflop, r->info.kernels, r->info.fused);
  printf(
      "warm     median %.2f ms  min %.2f  max %.2f over %d runs  ->  %.1f images/s, %.1f GFLOP/s\n",
      r->median_ms, r->min_ms, r->max_ms, a->runs, ips, gflop * 1e3 / r->median_ms);
  printf("cold     %.2f s to the first result: load %.3f s, plan %.3f s, first run %.1f ms "
         "(programs built %llu, loaded from cache %llu, %.2f s)\n",
         cold_s, r->load_s, r->plan_s, r->first_ms, (unsigned long long)r->cold.programs_built,
         (unsigned long long)r->cold.programs_from_cache, r->cold.build_seconds);
  printf("memory   %.1f MiB planned on the device: activations %.1f MiB (one buffer per node: %.1f "
         "MiB), "
         "parameters %.1f MiB\n",
         mem, (double)r->info.activation_bytes / 1048576.0,
         (double)r->info.activation_sum_bytes / 1048576.0,
         (double)r->info.parameter_bytes / 1048576.0);
}

int cmd_bench(int argc, char **argv) {
  bench_args a = {0};
  int rc = parse(argc, argv, &a);
  if (rc >= 0)
    return rc;
  seg_worker w;
  bench_result r = {0};
  char err[4096] = "";
  clseg_status s = measure(&a, &w, &r, err, sizeof err);
  if (s != CLSEG_OK) {
    cli_error("bench", "%s", err);
    if (w.ctx)
      seg_worker_free(&w);
    return s == CLSEG_INVALID_ARGUMENT ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
  }
  int64_t h = a.h, wd = a.w;
  if (!h && !clseg_model_input_size(w.model, &h, &wd))
    h = wd = 512;
  report(&a, &w, &r, h, wd);
  if (a.profile && profile(&a, &w, h, wd) != CLSEG_OK)
    rc = CLI_EXIT_FAIL;
  seg_worker_free(&w);
  return rc < 0 ? 0 : rc;
}
