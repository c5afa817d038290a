/* Whole networks against PyTorch: every case of tests/fixtures/models/
 * (tools/make_model_fixtures.py) is loaded with clseg_model_load, planned on the test device with
 * and without fusion and compared with PyTorch's output; plus the model file's error paths and the
 * accessors. Also a helper for the fixture script: `test_models --declared NETWORK CONFIG_JSON`
 * prints the C builder's parameters ("name d0 d1 ..."), `test_models --check MODEL.safetensors
 * CASE.clsf` runs one case. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_models.h"
#include "common/check.h"
#include "common/fixture.h"
#include "graph_internal.h" /* declared parameters: for --declared and the error-path files */
#include "support.h"

#define MODEL_DIR CLSEG_FIXTURE_DIR "/models"
#define MAX_CASES 32
#define FIXED     6 /* tests before the fixture cases */

typedef struct {
  double max_abs, max_norm; /* |got - ref| and |got - ref| / max(1, |ref|) */
  double ms;                /* mean latency of the timed runs */
  int passed;
  clseg_plan_info info;
} case_result;

static void errors(const float *got, const float *ref, size_t n, case_result *r) {
  r->max_abs = r->max_norm = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - ref[i]), m = fabs((double)ref[i]);
    if (d > r->max_abs)
      r->max_abs = d;
    if (d / (m > 1 ? m : 1) > r->max_norm)
      r->max_norm = d / (m > 1 ? m : 1);
  }
}

/* Plans g for x's shape, runs it (once, then `timed` more times for the latency) and compares with
 * y. Returns the status of the first failing clseg call. */
static clseg_status run_plan(clseg_context *ctx, clseg_graph *g, const fixture_array *x,
                             const fixture_array *y, int no_fusion, int timed, const char *what,
                             case_result *r) {
  int64_t xs[4], ys[4], out[4];
  fixture_shape4(x, xs);
  fixture_shape4(y, ys);
  const clseg_plan_options opt = {.no_fusion = no_fusion};
  clseg_plan *plan = NULL;
  clseg_status s = clseg_plan_create(ctx, g, xs[0], xs[2], xs[3], &opt, &plan);
  if (s != CLSEG_OK)
    return s;
  clseg_plan_output_shape(plan, out);
  float *got = calloc(y->count, sizeof *got);
  if (memcmp(out, ys, sizeof out) || !got) {
    fprintf(stderr,
            "%s: output shape [%lld, %lld, %lld, %lld], PyTorch's [%lld, %lld, %lld, %lld]\n", what,
            (long long)out[0], (long long)out[1], (long long)out[2], (long long)out[3],
            (long long)ys[0], (long long)ys[1], (long long)ys[2], (long long)ys[3]);
    free(got);
    clseg_plan_free(plan);
    return CLSEG_SHAPE_MISMATCH;
  }
  s = clseg_plan_run(plan, x->data, x->count, got, y->count);
  double t0 = test_now_ms();
  for (int i = 0; s == CLSEG_OK && i < timed; i++)
    s = clseg_plan_run(plan, x->data, x->count, got, y->count);
  r->ms = timed ? (test_now_ms() - t0) / timed : 0;
  if (s == CLSEG_OK) {
    errors(got, y->data, y->count, r);
    r->passed = check_close(what, got, y->data, y->count, ys, NULL, what);
  }
  clseg_plan_get_info(plan, &r->info);
  free(got);
  clseg_plan_free(plan);
  return s;
}

/* One case, fused (timed) and unfused; returns 1 when both match PyTorch. */
static int run_case(clseg_context *ctx, const char *model_path, const char *clsf_path,
                    case_result r[2]) {
  char err[512];
  fixture *f = fixture_load(clsf_path, err, sizeof err);
  clseg_model *m = NULL;
  if (!f || clseg_model_load(model_path, &m) != CLSEG_OK) {
    fprintf(stderr, "%s\n", f ? clseg_last_error(NULL) : err);
    fixture_free(f);
    return 0;
  }
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  int ok = x && y;
  for (int fused = 1; ok && fused >= 0; fused--) {
    char what[600];
    snprintf(what, sizeof what, "%s (%s; %s)", model_path, fused ? "fused" : "no_fusion",
             fixture_params_text(f));
    memset(&r[!fused], 0, sizeof r[0]);
    clseg_status s =
        run_plan(ctx, clseg_model_graph(m), x, y, !fused, fused ? 3 : 0, what, &r[!fused]);
    if (s != CLSEG_OK)
      fprintf(stderr, "%s: %s: %s\n", what, clseg_status_name(s), clseg_last_error(ctx));
    ok = s == CLSEG_OK && r[!fused].passed;
  }
  clseg_model_free(m);
  fixture_free(f);
  return ok;
}

static void print_result(const char *name, const case_result r[2]) {
  printf("%-32s max err %.2e (norm %.2e; no_fusion %.2e)  kernels %d (%d fused away)  activations "
         "%.1f KiB "
         "planned vs %.1f KiB naive  latency %.2f ms\n",
         name, r[0].max_abs, r[0].max_norm, r[1].max_abs, r[0].info.kernels, r[0].info.fused,
         (double)r[0].info.activation_bytes / 1024.0,
         (double)r[0].info.activation_sum_bytes / 1024.0, r[0].ms);
  fflush(stdout);
}

/* ---- the committed fixtures ---- */

static void test_case(void **state) {
  const char *name = *state;
  char model[512], clsf[512];
  snprintf(model, sizeof model, "%s/%s.safetensors", MODEL_DIR, name);
  snprintf(clsf, sizeof clsf, "%s/%s.clsf", MODEL_DIR, name);
  clseg_context *ctx = test_context();
  case_result r[2];
  int ok = run_case(ctx, model, clsf, r);
  if (ok)
    print_result(name, r);
  clseg_context_free(ctx);
  assert_true(ok);
}

/* Reads index.txt into names (static storage); returns the count. */
static int read_index(char names[][64], int max) {
  FILE *fp = fopen(MODEL_DIR "/index.txt", "r");
  char line[256];
  int n = 0;
  while (fp && n < max && fgets(line, sizeof line, fp)) {
    line[strcspn(line, "\r\n")] = 0;
    if (line[0] && line[0] != '#')
      snprintf(names[n++], 64, "%.63s", line);
  }
  if (fp)
    fclose(fp);
  return n;
}

/* ---- error paths: model files written here from a tiny U-Net's declared parameters ---- */

static const char *tiny_config = "{\"depth\": 1, \"base\": 2, \"classes\": 2, \"in_channels\": 1}";

typedef struct {
  int metadata;        /* 0: no __metadata__; 1: network and config; 2: network only */
  const char *drop;    /* a parameter left out */
  const char *reshape; /* a parameter written with one element more in a second dimension */
  const char *extra;   /* a tensor the model does not have */
} file_spec;

typedef struct {
  char text[1 << 16];
  size_t n;
} header_buf;

static void app(header_buf *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(h->text + h->n, sizeof h->text - h->n, fmt, ap);
  va_end(ap);
  assert_true(k >= 0 && (size_t)k < sizeof h->text - h->n);
  h->n += (size_t)k;
}

/* The JSON header of write_model's file: metadata, then every tensor but the dropped one. */
static void write_header(FILE *fp, const clseg_graph *g, const file_spec *fs) {
  static header_buf h;
  size_t off = 0;
  h.n = 0;
  app(&h, "{");
  if (fs->metadata) {
    app(&h, "\"__metadata__\":{\"clseg.network\":\"unet\"");
    if (fs->metadata == 1) {
      app(&h, ",\"clseg.config\":\"");
      for (const char *c = tiny_config; *c; c++) /* a JSON string holding JSON: escape quotes */
        app(&h, *c == '"' ? "\\%c" : "%c", *c);
      app(&h, "\"");
    }
    app(&h, "},");
  }
  for (int i = 0; i < g->nparams; i++) {
    const clseg__param *p = &g->params[i];
    if (fs->drop && !strcmp(p->name, fs->drop))
      continue;
    int re = fs->reshape && !strcmp(p->name, fs->reshape);
    app(&h, "\"%s\":{\"dtype\":\"F32\",\"shape\":[", p->name);
    for (int d = 0; d < p->ndim; d++)
      app(&h, "%s%lld", d ? "," : "", (long long)(p->dims[d] * (re && !d ? 2 : 1)));
    size_t bytes = (re ? 2 : 1) * p->count * 4;
    app(&h, "],\"data_offsets\":[%zu,%zu]},", off, off + bytes);
    off += bytes;
  }
  if (fs->extra)
    app(&h, "\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%zu,%zu]},", fs->extra, off,
        off + 4);
  h.text[h.n - 1] = '}';
  uint64_t len = h.n;
  fwrite(&len, 8, 1, fp); /* the length is little-endian: so are the hosts we test on */
  fwrite(h.text, 1, h.n, fp);
}

/* Writes a tiny U-Net model file per spec (all weights 0.5) into dir/name. */
static void write_model(const char *dir, const char *name, const file_spec *fs, char *path,
                        size_t size) {
  clseg_graph *g = NULL;
  assert_int_equal(clseg_network_build("unet", tiny_config, &g), CLSEG_OK);
  snprintf(path, size, "%s/%s", dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  write_header(fp, g, fs);
  const float half = 0.5f;
  for (int i = 0; i < g->nparams; i++) {
    const clseg__param *p = &g->params[i];
    size_t count = fs->reshape && !strcmp(p->name, fs->reshape) ? p->count * 2 : p->count;
    for (size_t k = 0; !(fs->drop && !strcmp(p->name, fs->drop)) && k < count; k++)
      fwrite(&half, 4, 1, fp);
  }
  if (fs->extra)
    fwrite(&half, 4, 1, fp);
  fclose(fp);
  clseg_graph_free(g);
}

static void expect_load_error(const char *path, clseg_status want, const char *const *needles) {
  clseg_model *m = (clseg_model *)1;
  assert_int_equal(clseg_model_load(path, &m), want);
  assert_null(m);
  const char *msg = clseg_last_error(NULL);
  assert_true(test_contains(msg, path));
  for (int i = 0; needles[i]; i++)
    assert_true(test_contains(msg, needles[i]));
}

static void test_file_errors(void **state) {
  (void)state;
  char dir[256], path[512];
  test_tmpdir(dir, sizeof dir);
  clseg_model *m = NULL;
  write_model(dir, "good.safetensors", &(file_spec){.metadata = 1}, path, sizeof path);
  assert_int_equal(clseg_model_load(path, &m), CLSEG_OK);
  assert_int_equal(clseg_model_classes(m), 2);
  clseg_model_free(m);

  const file_spec three = {1, "encoder.1.conv2.weight", "decoder.0.bn1.running_var",
                           "decoder.0.extra.weight"};
  write_model(dir, "three.safetensors", &three, path, sizeof path);
  expect_load_error(
      path, CLSEG_SHAPE_MISMATCH,
      (const char *const[]){"3 weights do not match",
                            "'encoder.1.conv2.weight' is missing from the file",
                            "'decoder.0.bn1.running_var' has shape [4], the model expects [2]",
                            "'decoder.0.extra.weight' is in the file but not in the model", NULL});
  write_model(dir, "nometa.safetensors", &(file_spec){.metadata = 0}, path, sizeof path);
  expect_load_error(path, CLSEG_FORMAT,
                    (const char *const[]){"missing metadata key 'clseg.network'", NULL});
  write_model(dir, "noconfig.safetensors", &(file_spec){.metadata = 2}, path, sizeof path);
  expect_load_error(path, CLSEG_FORMAT,
                    (const char *const[]){"missing metadata key 'clseg.config'", NULL});
  expect_load_error(MODEL_DIR "/index.txt", CLSEG_FORMAT,
                    (const char *const[]){"not a valid safetensors", NULL});
  test_rmdir(dir);
}

static void test_bad_configs(void **state) {
  (void)state;
  clseg_graph *g = NULL;
  assert_int_equal(clseg_network_build("unet", "{\"depth\": 2, \"dpeth\": 3}", &g), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(NULL), "unet has no setting 'dpeth'"));
  assert_int_equal(clseg_network_build("unet", "{\"attention\": \"transformer\"}", &g),
                   CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(NULL), "bad value for 'attention'"));
  assert_int_equal(clseg_network_build("mask2former", "{}", &g), CLSEG_UNSUPPORTED);
  assert_true(test_contains(clseg_last_error(NULL), "'mask2former'"));
  assert_int_equal(clseg_network_build("segformer", "{\"variant\": \"b3\"}", &g), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(NULL), "bad value for 'variant'"));
  assert_int_equal(clseg_network_build("segformer", "{\"dims\": [8, 8, 8]}", &g), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(NULL), "bad value for 'dims'"));
  assert_int_equal(clseg_network_build("segformer", "{\"dims\": [32, 64, 162, 256]}", &g),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "stage 3 has width 162, 2 blocks, 5 heads"));
  assert_int_equal(clseg_network_build("danet", "{\"output_stride\": 4}", &g),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "output stride 4"));
  assert_int_equal(clseg_network_build("fcn", "{\"output_stride\": 4}", &g),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "output stride 4"));
  assert_null(g);
  clseg_graph *d = clseg_deeplabv3plus_build(&(clseg_deeplabv3plus_config){.output_stride = 32});
  assert_int_equal(clseg_graph_status(d), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_graph_error(d), "output stride 32"));
  clseg_graph_free(d);
  clseg_graph *u = clseg_unet_build(&(clseg_unet_config){.depth = 11});
  assert_int_equal(clseg_graph_status(u), CLSEG_INVALID_ARGUMENT);
  clseg_graph_free(u);
  clseg_graph *f = clseg_fcn_build(NULL); /* every default: torchvision's fcn_resnet50 */
  clseg_graph_info info;
  clseg_graph_get_info(f, &info);
  assert_int_equal(clseg_graph_status(f), CLSEG_OK);
  assert_int_equal(
      info.parameters,
      33011157); /* torchvision fcn_resnet50 without aux: 32957013 weights + 54144 BN statistics */
  clseg_graph_free(f);
}

/* Index of the parameter named name in g, or -1. */
static int param_index(const clseg_graph *g, const char *name) {
  for (int i = 0; i < g->nparams; i++)
    if (!strcmp(g->params[i].name, name))
      return i;
  return -1;
}

/* CLSEG_UNET_COMBINED declares exactly the parameters of CBAM, gate and scSE alone, each with the
 * same name and shape (what lets one clseg_torch file load either way); past it is invalid. */
static void test_unet_combined(void **state) {
  (void)state;
  clseg_unet_config c = {.depth = 3, .base = 4, .classes = 2, .reduction = 2, .bilinear = 1};
  c.attention = CLSEG_UNET_COMBINED;
  clseg_graph *all = clseg_unet_build(&c);
  assert_int_equal(clseg_graph_status(all), CLSEG_OK);
  int covered = 0, common = 0;
  for (int a = CLSEG_UNET_PLAIN; a <= CLSEG_UNET_SCSE; a++) {
    c.attention = (clseg_unet_attention)a;
    clseg_graph *one = clseg_unet_build(&c);
    assert_int_equal(clseg_graph_status(one), CLSEG_OK);
    for (int i = 0; i < one->nparams; i++) {
      int k = param_index(all, one->params[i].name);
      if (k < 0)
        fail_msg("attention %d: %s not in the combined U-Net", a, one->params[i].name);
      assert_int_equal(all->params[k].ndim, one->params[i].ndim);
      assert_memory_equal(all->params[k].dims, one->params[i].dims, sizeof one->params[i].dims);
    }
    if (a == CLSEG_UNET_PLAIN)
      common = one->nparams;
    else
      covered += one->nparams - common; /* each mode's own attention parameters */
    clseg_graph_free(one);
  }
  assert_int_equal(all->nparams, common + covered);
  clseg_graph_free(all);
  c.attention = (clseg_unet_attention)(CLSEG_UNET_COMBINED + 1);
  clseg_graph *bad = clseg_unet_build(&c);
  assert_int_equal(clseg_graph_status(bad), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_graph_error(bad), "attention 5"));
  clseg_graph_free(bad);
  clseg_graph *g = NULL;
  assert_int_equal(clseg_network_build("unet", "{\"attention\": \"combined\", \"depth\": 1}", &g),
                   CLSEG_OK);
  assert_int_equal(param_index(g, "encoder.1.cbam.spatial.bn.running_var") >= 0 &&
                       param_index(g, "decoder.0.gate.psi.weight") >= 0 &&
                       param_index(g, "decoder.0.scse.sse.weight") >= 0,
                   1);
  clseg_graph_free(g);
}

static void test_accessors(void **state) {
  (void)state;
  clseg_model *m = NULL;
  assert_int_equal(clseg_model_load(MODEL_DIR "/unet_plain.safetensors", &m), CLSEG_OK);
  assert_string_equal(clseg_model_network(m), "unet");
  assert_int_equal(clseg_model_classes(m), 2);
  assert_int_equal(clseg_model_in_channels(m), 3);
  assert_string_equal(clseg_model_class_name(m, 1), "class1");
  assert_null(clseg_model_class_name(m, 2));
  assert_float_equal(clseg_model_mean(m)[2], 0.406f, 1e-7);
  assert_float_equal(clseg_model_std(m)[0], 0.229f, 1e-7);
  int64_t h = 0, w = 0;
  assert_true(clseg_model_input_size(m, &h, &w));
  assert_int_equal(h, 32);
  assert_int_equal(w, 32);
  assert_non_null(clseg_model_graph(m));
  clseg_model_free(m);
}

/* The SegFormer variants at their defaults declare the reference's parameter counts (B0/B1/B2 with
 * ADE20K's 150 classes: 3.8M, 13.7M, 27.5M in the paper; clseg_torch: 3752694, 13715798, 27461974
 * learnable), plus the decoder batchnorm's statistics; DANet's head its named parameters. */
static void test_default_sizes(void **state) {
  (void)state;
  static const int64_t want[3] = {3752694 + 512, 13715798 + 512, 27461974 + 1536};
  for (int v = CLSEG_SEGFORMER_B0; v <= CLSEG_SEGFORMER_B2; v++) {
    clseg_graph *g = clseg_segformer_build(&(clseg_segformer_config){.variant = v});
    clseg_graph_info info;
    clseg_graph_get_info(g, &info);
    assert_int_equal(clseg_graph_status(g), CLSEG_OK);
    assert_int_equal(info.parameters, want[v]);
    assert_int_equal(info.output_channels, 150);
    clseg_graph_free(g);
  }
  clseg_graph *g = NULL;
  assert_int_equal(clseg_network_build("segformer", "{\"variant\": \"b2\", \"classes\": 19}", &g),
                   CLSEG_OK);
  assert_true(param_index(g, "backbone.block3.5.attn.sr.weight") >= 0);
  assert_true(param_index(g, "decode_head.linear_fuse.conv.weight") >= 0);
  assert_int_equal(g->params[param_index(g, "decode_head.linear_pred.weight")].dims[1], 768);
  clseg_graph_free(g);
  assert_int_equal(clseg_network_build("danet", "{\"backbone\": \"resnet101\"}", &g), CLSEG_OK);
  assert_int_equal(g->params[param_index(g, "head.sa.query_conv.weight")].dims[0], 64);
  assert_int_equal(g->params[param_index(g, "head.sc.gamma")].count, 1);
  clseg_graph_free(g);
}

/* clseg_graph_nonlocal on its own against the authors' module (tools/make_model_fixtures.py: the
 * weights under "nl.", no clseg metadata), fused and unfused; and its argument errors. */
static void test_nonlocal(void **state) {
  (void)state;
  char err[512];
  fixture *f = fixture_load(MODEL_DIR "/nonlocal_block.clsf", err, sizeof err);
  if (!f)
    fail_msg("%s", err);
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  assert_true(x && y);
  clseg_graph *g = clseg_graph_create();
  clseg_node *in = clseg_graph_input(g, "x", x->dims[1]);
  clseg_graph_output(g, clseg_graph_nonlocal(g, "nl", in, 0), "y");
  assert_int_equal(clseg_graph_load_safetensors(g, MODEL_DIR "/nonlocal_block.safetensors"),
                   CLSEG_OK);
  clseg_context *ctx = test_context();
  for (int no_fusion = 0; no_fusion < 2; no_fusion++) {
    case_result r = {0};
    const char *what = no_fusion ? "nonlocal_block (no_fusion)" : "nonlocal_block (fused)";
    clseg_status s = run_plan(ctx, g, x, y, no_fusion, 0, what, &r);
    if (s != CLSEG_OK)
      fail_msg("%s: %s: %s", what, clseg_status_name(s), clseg_last_error(ctx));
    assert_true(r.passed);
    printf("%-32s max err %.2e (norm %.2e)\n", what, r.max_abs, r.max_norm);
  }
  clseg_context_free(ctx);
  clseg_graph_free(g);
  fixture_free(f);
  g = clseg_graph_create();
  assert_null(clseg_graph_nonlocal(g, "nl", clseg_graph_input(g, "x", 4), -1));
  assert_true(test_contains(clseg_graph_error(g), "nonlocal 'nl': -1 inner channels"));
  clseg_graph_free(g);
}

/* ---- helper modes for tools/make_model_fixtures.py ---- */

static int print_declared(const char *network, const char *config) {
  clseg_graph *g = NULL;
  if (clseg_network_build(network, config, &g) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(NULL));
    return 1;
  }
  for (int i = 0; i < g->nparams; i++) {
    printf("%s", g->params[i].name);
    for (int d = 0; d < g->params[i].ndim; d++)
      printf(" %lld", (long long)g->params[i].dims[d]);
    printf("\n");
  }
  clseg_graph_free(g);
  return 0;
}

static int check_one(const char *model, const char *clsf) {
  clseg_context *ctx = NULL;
  if (clseg_context_create(test_device_spec(), &ctx) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(NULL));
    return 1;
  }
  case_result r[2];
  int ok = run_case(ctx, model, clsf, r);
  if (ok)
    print_result("ok", r);
  clseg_context_free(ctx);
  return !ok;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "--declared"))
    return print_declared(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "--check"))
    return check_one(argv[2], argv[3]);
  static char names[MAX_CASES][64];
  struct CMUnitTest tests[MAX_CASES + FIXED] = {
      cmocka_unit_test(test_bad_configs),   cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_unet_combined), cmocka_unit_test(test_accessors),
      cmocka_unit_test(test_default_sizes), cmocka_unit_test(test_nonlocal)};
  int n = read_index(names, MAX_CASES);
  if (n == 0)
    fprintf(stderr, "no cases in %s/index.txt\n", MODEL_DIR);
  for (int i = 0; i < n; i++)
    tests[FIXED + i] = (struct CMUnitTest){names[i], test_case, NULL, NULL, names[i]};
  return _cmocka_run_group_tests("models", tests, (size_t)(FIXED + n), NULL, NULL) + (n == 0);
}
