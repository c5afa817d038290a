/* clseg tune: measures the conv variants and parameters of a model's layers on one device and
 * writes the winners to the device's user tuning file (clseg_tune), then times the whole network
 * with the shipped rows and with the tuned ones, in alternating rounds. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clseg_models.h"
#include "file.h"
#include "segment.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: clseg tune -m MODEL [options]\n\n"
          "For each distinct conv layer shape of the model's plan, times the candidate variants\n"
          "and parameter sets of cl/tuning/conv.space on random data, rejects any whose output\n"
          "differs from the naive conv2d_direct's, and writes those that beat the shipped rows to\n"
          "the device's tuning file in the cache folder (`clseg devices --verbose` shows it).\n"
          "Later runs on this device use it with no flag; CLSEG_TUNING=off ignores it.\n\n"
          "  -m, --model FILE     model to tune for (default: the bundled model)\n"
          "  -d, --device SPEC    device (default: $CLSEG_DEVICE, else auto)\n"
          "      --size WxH       input size (default: the model's, else 512x512)\n"
          "      --budget SECONDS stop after this long with what was found (default: no limit)\n"
          "      --runs N         timed runs per candidate, median kept (default 5)\n"
          "      --rounds N       rounds of the before/after network timing (default 5)\n"
          "      --json           print the result as one JSON line\n"
          "  -q, --quiet          no progress line\n"
          "  -h, --help           this help\n");
}

static void progress(void *user, const clseg_tune_progress *p) {
  (void)user;
  char left[32] = "";
  if (p->left_s >= 0)
    snprintf(left, sizeof left, ", %.0f s left", p->left_s);
  fprintf(stderr, "\r\033[Klayer %d/%d %.40s: best %.48s %.3f ms (rows %.3f ms) %.0f s%s",
          p->layer + 1, p->layers, p->shape, p->best, p->best_ms, p->default_ms, p->elapsed_s,
          left);
  fflush(stderr);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median ms of the plans before (shipped rows) and after (tuned), run in alternating rounds. */
static clseg_status before_after(clseg_plan *before, clseg_plan *after, int rounds, double *b_ms,
                                 double *a_ms) {
  int64_t is[4], os[4];
  clseg_plan_input_shape(before, is);
  clseg_plan_output_shape(before, os);
  const size_t ni = (size_t)(is[0] * is[1] * is[2] * is[3]);
  const size_t no = (size_t)(os[0] * os[1] * os[2] * os[3]);
  float *in = calloc(ni, sizeof *in), *out = malloc(no * sizeof *out);
  double *tb = calloc((size_t)rounds, sizeof *tb), *ta = calloc((size_t)rounds, sizeof *ta);
  clseg_status s = in && out && tb && ta ? CLSEG_OK : CLSEG_OUT_OF_MEMORY;
  for (size_t i = 0; i < ni; i++)
    in[i] = (float)((i * 7919) % 255) / 255.0f;
  if (s == CLSEG_OK) /* warm-up: lazily compiled kernels */
    s = clseg_plan_run(before, in, ni, out, no);
  if (s == CLSEG_OK)
    s = clseg_plan_run(after, in, ni, out, no);
  for (int r = 0; r < rounds && s == CLSEG_OK; r++) {
    for (int k = 0; k < 2 && s == CLSEG_OK; k++) {
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      s = clseg_plan_run(k ? after : before, in, ni, out, no);
      clock_gettime(CLOCK_MONOTONIC, &t1);
      (k ? ta : tb)[r] =
          (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    }
  }
  if (s == CLSEG_OK) {
    qsort(tb, (size_t)rounds, sizeof *tb, cmp_double);
    qsort(ta, (size_t)rounds, sizeof *ta, cmp_double);
    *b_ms = tb[rounds / 2];
    *a_ms = ta[rounds / 2];
  }
  free(in);
  free(out);
  free(tb);
  free(ta);
  return s;
}

/* Puts back the tuning file's bytes from before tuning (NULL: there was none). */
static int restore(const char *path, const unsigned char *old, size_t len, char *why,
                   size_t why_len) {
  if (!old) {
    if (remove(path) == 0)
      return 1;
    snprintf(why, why_len, "cannot remove '%s': %s", path, strerror(errno));
    return 0;
  }
  return clseg__file_write(path, old, len, 0, why, why_len) == CLSEG_OK;
}

typedef struct {
  const char *model, *device;
  int64_t w, h;
  double budget;
  int runs, rounds, json, quiet;
} tune_args;

static int parse(int argc, char **argv, tune_args *a) {
  enum { O_SIZE = 256, O_BUDGET, O_RUNS, O_ROUNDS, O_JSON };
  static const struct option opts[] = {
      {"model", required_argument, 0, 'm'},   {"device", required_argument, 0, 'd'},
      {"size", required_argument, 0, O_SIZE}, {"budget", required_argument, 0, O_BUDGET},
      {"runs", required_argument, 0, O_RUNS}, {"rounds", required_argument, 0, O_ROUNDS},
      {"json", no_argument, 0, O_JSON},       {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
  int c;
  memset(a, 0, sizeof *a);
  a->rounds = 5;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:d:qh", opts, NULL)) != -1) {
    if (c == 'm')
      a->model = optarg;
    else if (c == 'd')
      a->device = optarg;
    else if (c == 'q')
      a->quiet = 1;
    else if (c == O_JSON)
      a->json = 1;
    else if (c == 'h') {
      usage(stdout);
      return 0;
    } else if (c == O_SIZE && !cli_parse_size(optarg, &a->w, &a->h)) {
      cli_error("tune", "--size '%s': expected WxH, e.g. 512x512", optarg);
      return CLI_EXIT_USAGE;
    } else if (c == O_BUDGET && !cli_parse_double(optarg, 1, 1e7, &a->budget)) {
      cli_error("tune", "--budget '%s': expected seconds, at least 1", optarg);
      return CLI_EXIT_USAGE;
    } else if (c == O_RUNS && !cli_parse_int(optarg, 1, 16, &a->runs)) {
      cli_error("tune", "--runs '%s': expected 1 to 16", optarg);
      return CLI_EXIT_USAGE;
    } else if (c == O_ROUNDS && !cli_parse_int(optarg, 1, 1000, &a->rounds)) {
      cli_error("tune", "--rounds '%s': expected 1 to 1000", optarg);
      return CLI_EXIT_USAGE;
    } else if (c == '?') {
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    cli_error("tune", "unexpected argument '%s'", argv[optind]);
    return CLI_EXIT_USAGE;
  }
  return -1;
}

static void print_result(const tune_args *a, const seg_worker *w, const clseg_tune_result *r,
                         double b_ms, double a_ms, int64_t h, int64_t wd, int kept) {
  const clseg_device_info *d = clseg_context_device(w->ctx);
  if (a->json) {
    printf("{\"model\": ");
    cli_json_string(stdout, a->model);
    printf(", \"device\": ");
    cli_json_string(stdout, d->name);
    printf(", \"size\": [%lld, %lld], \"shapes\": %d, \"measured\": %d, \"tuned\": %d, "
           "\"candidates\": %d, \"rejected\": %d, \"conv_ms_rows\": %.4f, \"conv_ms_tuned\": "
           "%.4f, \"net_ms_rows\": %.4f, \"net_ms_tuned\": %.4f, \"seconds\": %.2f, \"kept\": %s, "
           "\"file\": ",
           (long long)wd, (long long)h, r->shapes, r->measured, r->tuned, r->candidates,
           r->rejected, r->default_ms, r->tuned_ms, b_ms, a_ms, r->seconds,
           kept ? "true" : "false");
    cli_json_string(stdout, r->path);
    printf("}\n");
    return;
  }
  printf("device      %s (%s)\nmodel       %s at %lldx%lld\n", d->name, d->arch, a->model,
         (long long)wd, (long long)h);
  printf("layers      %d distinct conv shapes, %d measured, %d tuned (%d candidates run, %d "
         "rejected as wrong)\n",
         r->shapes, r->measured, r->tuned, r->candidates, r->rejected);
  printf("convs       %.2f ms with the shipped rows -> %.2f ms tuned (sum over shapes)\n",
         r->default_ms, r->tuned_ms);
  printf("network     %.2f ms with the shipped rows -> %.2f ms tuned (%.2fx; medians of %d "
         "alternating rounds)\n",
         b_ms, a_ms, a_ms > 0 ? b_ms / a_ms : 0.0, a->rounds);
  if (kept)
    printf("tuning took %.1f s; written %s\n", r->seconds, r->path);
  else
    printf("tuning took %.1f s; the tuned rows were no faster over the whole network, so %s is as "
           "it was before\n",
           r->seconds, r->path);
}

int cmd_tune(int argc, char **argv) {
  tune_args a;
  int rc = parse(argc, argv, &a);
  if (rc >= 0)
    return rc;
  rc = 0;
  a.model = a.model ? a.model : seg_default_network();
  seg_worker sw;
  char err[4096];
  if (seg_worker_init(&sw, a.device, a.model, a.h, a.w, err, sizeof err) != CLSEG_OK) {
    cli_error("tune", "%s", err);
    return CLI_EXIT_FAIL;
  }
  int64_t h = a.h, wd = a.w;
  if (!h && !clseg_model_input_size(sw.model, &h, &wd))
    h = wd = 512;
  clseg_plan *before = NULL, *after = NULL;
  clseg_tune_result r;
  const clseg_tune_options o = {a.budget, a.runs, a.quiet || !isatty(2) ? NULL : progress, NULL};
  double b_ms = 0, a_ms = 0;
  char path[1200] = "";
  size_t old_len = 0;
  const int have_path = clseg_tuning_file(clseg_context_device(sw.ctx), path, sizeof path);
  unsigned char *old = NULL; /* stays NULL where there is no file to put back */
  if (have_path)
    clseg__file_read(path, 0, &old, &old_len, NULL, 0);
  int kept = 1;
  const clseg_plan_options shipped = {.shipped_rows_only = 1};
  clseg_status s =
      clseg_plan_create(sw.ctx, clseg_model_graph(sw.model), 1, h, wd, &shipped, &before);
  if (s == CLSEG_OK)
    s = clseg_tune(before, &o, &r);
  if (o.progress)
    fprintf(stderr, "\r\033[K");
  if (s == CLSEG_OK)
    s = clseg_plan_create(sw.ctx, clseg_model_graph(sw.model), 1, h, wd, NULL, &after);
  if (s == CLSEG_OK)
    s = before_after(before, after, a.rounds, &b_ms, &a_ms);
  /* Layers timed alone can win where the network, with its caches shared, does not: the file is
   * kept only when the whole network is faster with it (medians of alternating rounds). */
  if (s == CLSEG_OK && have_path && r.tuned > 0 && a_ms >= b_ms) {
    kept = 0;
    char why[CLSEG__FILE_WHY_LEN];
    if (!restore(path, old, old_len, why, sizeof why)) {
      cli_error("tune", "could not put back the previous tuning file: %s", why);
      rc = CLI_EXIT_FAIL;
    }
  }
  free(old);
  if (s != CLSEG_OK) {
    cli_error("tune", "%s: %s", a.model, clseg_last_error(sw.ctx));
    rc = CLI_EXIT_FAIL;
  } else {
    print_result(&a, &sw, &r, b_ms, a_ms, h, wd, kept);
  }
  clseg_plan_free(after);
  clseg_plan_free(before);
  seg_worker_free(&sw);
  return rc;
}
