/* clseg run: segments images (files, folders, or a list on stdin) with a model on one or several
 * devices, writing masks, overlays and probabilities, with progress on a terminal and JSON lines on
 * request. The images go through apps/pipeline.c: decoded and encoded on other threads while the
 * device runs, reported in input order. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "inputs.h"
#include "pipeline.h"
#include "segment.h"

#define MAX_WORKERS 16

typedef struct {
  seg_options seg;
  const char *model, *device, *input_npy, *labels; /* labels: the --labels file */
  int json, quiet, fail_fast, progress, low_memory;
  int batch;              /* --batch */
  int64_t size_h, size_w; /* --size */
} run_args;

typedef struct {
  seg_worker w;
  char err[2048];
  int init_failed;
  size_t images;
} worker_slot;

typedef struct {
  const run_args *a;
  const input_list *in;
  worker_slot *ws;
  size_t done, failed;
  double t0;
  double *ms;      /* per image, for the median; -1: failed or not run */
  double first_ms; /* the first image reported, which paid for the kernel builds; -1 before */
  double first_s;  /* seconds from the start of the run (device, model, plans) to that result */
} run_state;

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clseg run [options] INPUT...\n\n"
      "Segments images: INPUT is a PNG or JPEG file, a folder of them, or '-' for a list of paths "
      "on stdin.\n"
      "Writes OUTDIR/NAME_mask.png (class indices with a palette) for each image.\n\n"
      "  -m, --model MODEL    a bundled model (person, selfie, selfie-landscape: clseg models) or\n"
      "                       a .safetensors, .tflite or .onnx file (default: person, the\n"
      "                       two-stage person pipeline: mask, 33 landmarks, or \"no person\")\n"
      "  -d, --device SPEC    auto, gpu, cpu, gpu:N, P:D, a name; 'all' or a comma list spreads "
      "the\n"
      "                       images over several devices (default: $CLSEG_DEVICE, else auto)\n"
      "  -o, --outdir DIR     output folder, made if missing (default: .)\n"
      "      --overlay        also write NAME_overlay.png: class colours blended over the image\n"
      "      --alpha A        overlay opacity (default 0.5)\n"
      "      --labels FILE    class names for the overlay's legend (models of more than two\n"
      "                       classes), one per line, class 0 first (default: the model's names,\n"
      "                       else \"class N\")\n"
      "      --probs          also write probabilities: NAME_prob.png (16-bit, binary models) or\n"
      "                       NAME_probs.npy (classes x H x W)\n"
      "      --threshold T    binary models: foreground probability threshold (default 0.5)\n"
      "      --size WxH       network input size for models of free size (default: the image's, "
      "rounded to\n"
      "                       the model's multiple) and the import size of ONNX models with "
      "symbolic sizes\n"
      "      --batch N        one-network models: up to N images of one input size in one\n"
      "                       network run (default 1)\n"
      "      --tile SIZE      sliding-window inference in SIZE x SIZE tiles (large images)\n"
      "      --overlap PX     tile overlap, blended linearly (default 32)\n"
      "      --npy FILE       write the raw output tensor (one input only)\n"
      "      --input-npy FILE run a raw NCHW float32 tensor instead of images (with --npy)\n"
      "      --json           one JSON object per image on stdout, then a summary object\n"
      "  -q, --quiet          no progress and no per-image lines\n"
      "      --fail-fast      stop at the first image that fails (default: report and go on)\n"
      "      --low-memory     prefer memory to speed: no conv variant that keeps more than about\n"
      "                       twice its weights (Winograd F(2x2) instead of F(4x4))\n"
      "  -h, --help           this help\n");
}

/* A float option in [lo, hi]. */
static int parse_float(const char *s, float lo, float hi, float *out) {
  double v;
  if (!cli_parse_double(s, lo, hi, &v))
    return 0;
  *out = (float)v;
  return 1;
}

/* Parses options; returns -1 to continue, else the exit code. */
static int parse(int argc, char **argv, run_args *a) {
  enum {
    O_OVERLAY = 256,
    O_PROBS,
    O_THRESHOLD,
    O_ALPHA,
    O_TILE,
    O_OVERLAP,
    O_NPY,
    O_INPUT_NPY,
    O_JSON,
    O_FF,
    O_SIZE,
    O_LOW_MEMORY,
    O_LABELS,
    O_BATCH
  };
  static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                       {"device", required_argument, 0, 'd'},
                                       {"outdir", required_argument, 0, 'o'},
                                       {"overlay", no_argument, 0, O_OVERLAY},
                                       {"probs", no_argument, 0, O_PROBS},
                                       {"threshold", required_argument, 0, O_THRESHOLD},
                                       {"alpha", required_argument, 0, O_ALPHA},
                                       {"tile", required_argument, 0, O_TILE},
                                       {"overlap", required_argument, 0, O_OVERLAP},
                                       {"npy", required_argument, 0, O_NPY},
                                       {"input-npy", required_argument, 0, O_INPUT_NPY},
                                       {"json", no_argument, 0, O_JSON},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"fail-fast", no_argument, 0, O_FF},
                                       {"size", required_argument, 0, O_SIZE},
                                       {"low-memory", no_argument, 0, O_LOW_MEMORY},
                                       {"labels", required_argument, 0, O_LABELS},
                                       {"batch", required_argument, 0, O_BATCH},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c, overlap_set = 0;
  a->seg.outdir = ".";
  a->seg.write_mask = 1;
  a->seg.overlap = 32;
  a->seg.threshold = 0.5f;
  a->seg.alpha = 0.5f;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:d:o:qh", opts, NULL)) != -1) {
    const char *bad = NULL;
    switch (c) {
    case 'm': a->model = optarg; break;
    case 'd': a->device = optarg; break;
    case 'o': a->seg.outdir = optarg; break;
    case 'q': a->quiet = 1; break;
    case O_OVERLAY: a->seg.overlay = 1; break;
    case O_PROBS: a->seg.probs = 1; break;
    case O_THRESHOLD:
      bad = parse_float(optarg, 0.0f, 1.0f, &a->seg.threshold) && a->seg.threshold > 0
                ? NULL
                : "--threshold";
      break;
    case O_ALPHA: bad = parse_float(optarg, 0.0f, 1.0f, &a->seg.alpha) ? NULL : "--alpha"; break;
    case O_TILE: bad = cli_parse_int(optarg, 16, 1 << 16, &a->seg.tile) ? NULL : "--tile"; break;
    case O_OVERLAP:
      bad = cli_parse_int(optarg, 0, 1 << 15, &a->seg.overlap) ? NULL : "--overlap";
      overlap_set = 1;
      break;
    case O_NPY: a->seg.npy_out = optarg; break;
    case O_INPUT_NPY: a->input_npy = optarg; break;
    case O_JSON: a->json = 1; break;
    case O_FF: a->fail_fast = 1; break;
    case O_LOW_MEMORY: a->low_memory = 1; break;
    case O_LABELS: a->labels = optarg; break;
    case O_BATCH:
      bad = cli_parse_int(optarg, 1, PIPE_MAX_BATCH, &a->batch) ? NULL : "--batch";
      break;
    case O_SIZE: bad = cli_parse_size(optarg, &a->size_w, &a->size_h) ? NULL : "--size"; break;
    case 'h': usage(stdout); return 0;
    default: return CLI_EXIT_USAGE;
    }
    if (bad) {
      cli_error("run", "%s: '%s' is out of range or not a number", bad, optarg);
      return CLI_EXIT_USAGE;
    }
  }
  if (a->seg.tile && a->seg.overlap >= a->seg.tile) {
    cli_error("run", "--overlap %d must be smaller than --tile %d", a->seg.overlap, a->seg.tile);
    return CLI_EXIT_USAGE;
  }
  if (overlap_set && !a->seg.tile) {
    cli_error("run", "--overlap needs --tile");
    return CLI_EXIT_USAGE;
  }
  if (!a->model)
    a->model = seg_default_model();
  if (!a->device)
    a->device = getenv("CLSEG_DEVICE");
  a->progress = !a->quiet && !a->json && isatty(2);
  return -1;
}

/* The person pipeline's result as a JSON member: scores, box, region, the mask's share and the 33
 * landmarks [x, y, z, visibility, presence] in image pixels. */
static void print_person_json(const clseg_person_result *p) {
  printf(", \"person\": {\"found\": %s, \"detector_score\": %.4f, \"presence\": %.4f, "
         "\"mask_share\": %.5f, \"detector_ms\": %.3f, \"landmark_ms\": %.3f",
         p->found ? "true" : "false", p->detector_score, p->presence, p->mask_share, p->detector_ms,
         p->landmark_ms);
  if (p->found) {
    printf(", \"box\": [%.2f, %.2f, %.2f, %.2f], \"roi\": [%.2f, %.2f, %.2f, %.4f], "
           "\"landmarks\": [",
           p->box[0], p->box[1], p->box[2], p->box[3], p->roi[0], p->roi[1], p->roi[2], p->roi[3]);
    for (int i = 0; i < CLSEG_PERSON_LANDMARKS; i++)
      printf("%s[%.2f, %.2f, %.2f, %.4f, %.4f]", i ? ", " : "", p->landmarks[i][0],
             p->landmarks[i][1], p->landmarks[i][2], p->landmarks[i][3], p->landmarks[i][4]);
    printf("]");
  }
  printf("}");
}

static void print_result(const run_state *st, const worker_slot *ws, const char *path,
                         const seg_result *r) {
  const run_args *a = st->a;
  if (a->json) {
    printf("{\"input\": ");
    cli_json_string(stdout, path);
    printf(", \"ok\": true, \"width\": %d, \"height\": %d, \"input_size\": [%lld, %lld], "
           "\"tiles\": %d, "
           "\"ms\": %.3f, \"decode_ms\": %.3f, \"network_ms\": %.3f, \"pre_post_ms\": %.3f, "
           "\"encode_ms\": %.3f, \"device\": ",
           r->width, r->height, (long long)r->in_h, (long long)r->in_w, r->tiles, r->ms,
           r->decode_ms, r->net_ms, r->pre_post_ms, r->encode_ms);
    cli_json_string(stdout, clseg_context_device(ws->w.ctx)->name);
    const char *keys[3] = {"mask", "overlay", "probs"},
               *vals[3] = {r->mask_path, r->overlay_path, r->probs_path};
    for (int i = 0; i < 3; i++)
      if (vals[i][0]) {
        printf(", \"%s\": ", keys[i]);
        cli_json_string(stdout, vals[i]);
      }
    if (r->is_person)
      print_person_json(&r->person);
    printf("}\n");
  } else if (!a->quiet) {
    if (a->progress)
      fprintf(stderr, "\r\033[K");
    printf("%s  %dx%d  -> %s%s%s  %.1f ms", path, r->width, r->height,
           r->mask_path[0] ? r->mask_path : "-", r->overlay_path[0] ? ", " : "", r->overlay_path,
           r->ms);
    if (r->is_person && r->person.found)
      printf("  person %.1f%% of the image (detector %.2f, presence %.2f)",
             100 * r->person.mask_share, r->person.detector_score, r->person.presence);
    else if (r->is_person)
      printf("  no person found (detector score %.2f%s)", r->person.detector_score,
             r->person.detector_score >= 0.5f ? ", presence below 0.5" : "");
    printf("\n");
  }
  fflush(stdout);
}

static void print_failure(const run_state *st, const char *path, const char *err) {
  if (st->a->progress)
    fprintf(stderr, "\r\033[K");
  if (st->a->json) {
    printf("{\"input\": ");
    cli_json_string(stdout, path);
    printf(", \"ok\": false, \"error\": ");
    cli_json_string(stdout, err);
    printf("}\n");
    fflush(stdout);
  }
  cli_error("run", "%s", err);
}

static void print_progress(const run_state *st) {
  size_t total = st->in->count, done = st->done;
  int width = 30, fill = total ? (int)(width * done / total) : width;
  double el = cli_now() - st->t0;
  fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.1f images/s", fill, "##############################",
          width - fill, "", done, total, el > 0 ? (double)done / el : 0.0);
  fflush(stderr);
}

/* The pipeline's report (in input order, one at a time): a line or JSON object per image. */
static void report(void *user, int worker, const seg_job *j) {
  run_state *st = user;
  worker_slot *ws = &st->ws[worker];
  st->done++;
  if (j->status == CLSEG_OK) {
    st->ms[j->index] = j->r.ms;
    if (st->first_ms < 0) {
      st->first_ms = j->r.ms;
      st->first_s = cli_now() - st->t0;
    }
    ws->images++;
    print_result(st, ws, j->path, &j->r);
  } else {
    st->failed++;
    print_failure(st, j->path, j->err);
  }
  if (st->a->progress)
    print_progress(st);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void summary(const run_state *st, worker_slot *ws, int nw) {
  size_t n = st->in->count, ok = 0;
  double *v = malloc((n + 1) * sizeof *v), el = cli_now() - st->t0;
  for (size_t i = 0; v && i < n; i++)
    if (st->ms[i] >= 0)
      v[ok++] = st->ms[i];
  if (v && ok)
    qsort(v, ok, sizeof *v, cmp_double);
  double med = v && ok ? v[ok / 2] : 0, first = st->first_ms > 0 ? st->first_ms : 0;
  if (st->a->json) {
    printf("{\"summary\": {\"images\": %zu, \"failed\": %zu, \"seconds\": %.3f, "
           "\"images_per_second\": %.2f, \"first_result_seconds\": %.3f, "
           "\"median_ms\": %.3f, \"devices\": [",
           ok, st->failed, el, el > 0 ? (double)ok / el : 0, st->first_s, med);
    for (int i = 0; i < nw; i++) {
      printf("%s{\"name\": ", i ? ", " : "");
      cli_json_string(stdout, clseg_context_device(ws[i].w.ctx)->name);
      printf(", \"images\": %zu, \"plan_seconds\": %.3f}", ws[i].images,
             seg_plan_seconds(&ws[i].w));
    }
    printf("]}}\n");
  } else if (!st->a->quiet) {
    if (st->a->progress)
      fprintf(stderr, "\r\033[K");
    printf("segmented %zu image%s%s in %.2f s (%.1f images/s); first result after %.2f s; per "
           "image median %.1f ms, first image %.1f ms\n",
           ok, ok == 1 ? "" : "s", st->failed ? " (some failed)" : "", el,
           el > 0 ? (double)ok / el : 0, st->first_s, med, first);
    for (int i = 0; i < nw; i++) {
      clseg_stats k;
      clseg_context_stats(ws[i].w.ctx, &k);
      printf("device %s (%s): %zu image%s; kernels: %llu programs built, %llu loaded from the "
             "cache, %.2f s\n",
             clseg_context_device(ws[i].w.ctx)->name,
             clseg_context_device(ws[i].w.ctx)->platform_name, ws[i].images,
             ws[i].images == 1 ? "" : "s", (unsigned long long)k.programs_built,
             (unsigned long long)k.programs_from_cache, k.build_seconds);
    }
  }
  if (st->failed)
    fprintf(stderr, "clseg run: %zu of %zu images failed\n", st->failed, n);
  free(v);
}

/* Splits the device spec into one spec per worker: "all", a comma list, or one spec. */
static int device_specs(const char *device, char specs[MAX_WORKERS][64]) {
  int n = 0;
  if (device && !strcmp(device, "all")) {
    clseg_device_info *d = NULL;
    size_t count = 0;
    if (clseg_device_list(&d, &count) != CLSEG_OK)
      return 0;
    for (size_t i = 0; i < count && n < MAX_WORKERS; i++)
      if (d[i].available)
        snprintf(specs[n++], 64, "%d:%d", d[i].platform_index, d[i].device_index);
    clseg_device_list_free(d);
    return n;
  }
  const char *p = device ? device : "";
  do {
    size_t len = strcspn(p, ",");
    snprintf(specs[n++], 64, "%.*s", (int)(len < 63 ? len : 63), p);
    p += len + (p[len] == ',');
  } while (*p && n < MAX_WORKERS);
  return n;
}

static int run_npy(const run_args *a) {
  seg_worker w;
  char err[2048];
  if (seg_worker_init_ex(&w, a->device, a->model, a->size_h, a->size_w, 1, err, sizeof err) !=
      CLSEG_OK) {
    cli_error("run", "%s", err);
    return CLI_EXIT_FAIL;
  }
  seg_result r;
  clseg_status s = seg_tensor_npy(&w, a->input_npy, &a->seg, &r, err, sizeof err);
  if (s != CLSEG_OK)
    cli_error("run", "%s", err);
  else if (!a->quiet)
    printf("%s  %lldx%lld  -> %s  %.1f ms on %s\n", a->input_npy, (long long)r.in_w,
           (long long)r.in_h, a->seg.npy_out ? a->seg.npy_out : "-", r.ms,
           clseg_context_device(w.ctx)->name);
  seg_worker_free(&w);
  return s == CLSEG_OK ? 0 : CLI_EXIT_FAIL;
}

/* --labels must name every class of a model that gets a legend (more than two classes). */
static int label_conflict(const run_args *a, const seg_worker *w, char *err, size_t errlen) {
  const int64_t k = w->model ? clseg_model_classes(w->model) : 1;
  if (k <= 2)
    snprintf(err, errlen,
             "--labels: the legend is drawn for models of more than two classes; this one has "
             "%lld (%s)",
             (long long)(k == 1 ? 2 : k), w->model ? "background and foreground" : "person");
  else if (a->seg.nlabels != k)
    snprintf(err, errlen, "--labels %s names %d classes; the model has %lld", a->labels,
             a->seg.nlabels, (long long)k);
  return k <= 2 || a->seg.nlabels != k;
}

static int run_images(const run_args *a, const input_list *in) {
  char specs[MAX_WORKERS][64];
  int nw = device_specs(a->device, specs);
  if (nw == 0) {
    cli_error("run", "no OpenCL device for -d %s", a->device);
    return CLI_EXIT_FAIL;
  }
  worker_slot *ws = calloc((size_t)nw, sizeof *ws);
  seg_worker *wp[MAX_WORKERS];
  run_state st = {.a = a, .in = in, .ws = ws, .t0 = cli_now(), .first_ms = -1.0};
  st.ms = malloc(in->count * sizeof *st.ms);
  if (!ws || !st.ms) {
    free(ws);
    free(st.ms);
    cli_error("run", "out of memory");
    return CLI_EXIT_FAIL;
  }
  for (size_t i = 0; i < in->count; i++)
    st.ms[i] = -1.0;
  int rc = 0;
  for (int i = 0; i < nw && !rc; i++) {
    wp[i] = &ws[i].w;
    if (seg_worker_init_ex(&ws[i].w, specs[i][0] ? specs[i] : NULL, a->model, a->size_h, a->size_w,
                           1, ws[i].err, sizeof ws[i].err) != CLSEG_OK) {
      cli_error("run", "%s", ws[i].err);
      ws[i].init_failed = 1;
      rc = CLI_EXIT_FAIL;
    } else {
      ws[i].w.plan_opt.low_memory = a->low_memory;
    }
  }
  if (!rc && seg_size_conflict(&ws[0].w, ws[0].err, sizeof ws[0].err)) {
    cli_error("run", "%s", ws[0].err);
    rc = CLI_EXIT_USAGE;
  }
  if (!rc && a->batch > 1 && (ws[0].w.person || a->seg.tile)) {
    cli_error("run", "--batch: %s",
              a->seg.tile ? "tiles run one at a time; give --batch or --tile"
                          : "the person pipeline crops each image itself; give one network "
                            "(-m selfie, a file)");
    rc = CLI_EXIT_USAGE;
  }
  if (!rc && (a->seg.tile || a->seg.npy_out) && ws[0].w.person) {
    cli_error("run",
              "%s: the person pipeline crops the person itself and has no single output "
              "tensor; give one network (-m selfie, a file)",
              a->seg.tile ? "--tile" : "--npy");
    rc = CLI_EXIT_USAGE;
  }
  if (!rc && a->labels && label_conflict(a, &ws[0].w, ws[0].err, sizeof ws[0].err)) {
    cli_error("run", "%s", ws[0].err);
    rc = CLI_EXIT_USAGE;
  }
  int64_t fh, fw;
  if (!rc && a->seg.tile && ws[0].w.model && clseg_model_input_size(ws[0].w.model, &fh, &fw) &&
      (fh != a->seg.tile || fw != a->seg.tile)) {
    cli_error("run",
              "--tile %d: this model takes a fixed %lldx%lld input; use --tile %lld or no --tile",
              a->seg.tile, (long long)fw, (long long)fh, (long long)fh);
    rc = CLI_EXIT_USAGE;
  }
  if (!rc) {
    if (a->progress)
      print_progress(&st);
    const pipe_config pc = {.in = in,
                            .o = &a->seg,
                            .fail_fast = a->fail_fast,
                            .batch = a->batch,
                            .report = report,
                            .user = &st};
    char err[256];
    const int prc = pipe_run(&pc, wp, nw, err, sizeof err);
    if (prc)
      cli_error("run", "%s", err);
    summary(&st, ws, nw);
    rc = st.failed || prc ? CLI_EXIT_FAIL : 0;
  }
  for (int i = 0; i < nw; i++)
    if (!ws[i].init_failed)
      seg_worker_free(&ws[i].w);
  free(st.ms);
  free(ws);
  return rc;
}

/* Two inputs with one stem would write the same output files: refuse before any work. */
static int distinct_outputs(const input_list *in, const char *outdir, char *err, size_t errlen) {
  char(*stems)[256] = malloc(in->count * sizeof *stems);
  if (!stems)
    return 1;
  int ok = 1;
  for (size_t i = 0; i < in->count && ok; i++) {
    seg_stem(in->paths[i], stems[i], sizeof stems[i]);
    for (size_t j = 0; j < i && ok; j++)
      if (!strcmp(stems[i], stems[j])) {
        snprintf(err, errlen,
                 "'%s' and '%s' would both write %s/%s_mask.png; segment them into different "
                 "folders (-o)",
                 in->paths[j], in->paths[i], outdir, stems[i]);
        ok = 0;
      }
  }
  free(stems);
  return ok;
}

int cmd_run(int argc, char **argv) {
  run_args a = {0};
  int rc = parse(argc, argv, &a);
  if (rc >= 0)
    return rc;
  char err[4096];
  if (a.input_npy) {
    if (optind < argc) {
      cli_error("run", "--input-npy takes no image inputs (got '%s')", argv[optind]);
      return CLI_EXIT_USAGE;
    }
    return run_npy(&a);
  }
  if (optind >= argc) {
    cli_error("run", "no input; give image files, folders or '-' (see 'clseg run --help')");
    return CLI_EXIT_USAGE;
  }
  input_list in = {0};
  for (int i = optind; i < argc; i++)
    if (!inputs_add(&in, argv[i], err, sizeof err)) {
      cli_error("run", "%s", err);
      inputs_free(&in);
      return CLI_EXIT_FAIL;
    }
  if (in.count == 0) {
    cli_error("run", "the input list on stdin is empty");
    inputs_free(&in);
    return CLI_EXIT_USAGE;
  }
  if (!distinct_outputs(&in, a.seg.outdir, err, sizeof err)) {
    cli_error("run", "%s", err);
    inputs_free(&in);
    return CLI_EXIT_USAGE;
  }
  if (a.seg.npy_out && in.count != 1) {
    cli_error("run", "--npy writes one tensor: give exactly one input (got %zu)", in.count);
    inputs_free(&in);
    return CLI_EXIT_USAGE;
  }
  input_list labels = {0};
  if (a.labels && !labels_read(a.labels, &labels, err, sizeof err)) {
    cli_error("run", "%s", err);
    inputs_free(&labels);
    inputs_free(&in);
    return CLI_EXIT_FAIL;
  }
  a.seg.labels = (const char *const *)labels.paths;
  a.seg.nlabels = (int)labels.count;
  if (!ensure_dir(a.seg.outdir, err, sizeof err)) {
    cli_error("run", "%s", err);
    inputs_free(&labels);
    inputs_free(&in);
    return CLI_EXIT_FAIL;
  }
  rc = run_images(&a, &in);
  inputs_free(&labels);
  inputs_free(&in);
  return rc;
}
