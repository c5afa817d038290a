/* conv_transpose2d: every variant forced on its own against the naive reference (tests/ref) over
 * seeded random sweeps of odd shapes, every conv_transpose2d PyTorch fixture, and the error paths.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "clseg_ops.h"
#include "common/check.h"
#include "common/fixture.h"
#include "ref/ref.h"

#define SWEEP_SEED  0x7a5e0c0dull
#define SWEEP_CASES 40

/* Not public yet (the params have no variant field): conv_transpose2d with a forced variant. */
clseg_status clseg__conv_transpose2d_variant(clseg_context *ctx, const clseg_tensor *x,
                                             const clseg_tensor *w, const clseg_tensor *bias,
                                             const clseg_conv_transpose2d_params *p,
                                             const char *variant, clseg_tensor *y);

static const int SIZES[] = {1, 3, 7, 9, 15, 17, 33};

typedef struct {
  int64_t xs[4], ws[4];
  clseg_conv_transpose2d_params p;
  int bias;
} convt_case;

/* The largest |got - ref| / max(1, |ref|) seen since the last report, for the summary each test
 * prints. */
static double g_worst;

static void report_worst(const char *what) {
  print_message("%s: worst normalised error %.3g\n", what, g_worst);
  g_worst = 0.0;
}

static void describe(const convt_case *c, const char *variant, uint64_t seed, char *buf, size_t n) {
  const clseg_conv_transpose2d_params *p = &c->p;
  snprintf(
      buf, n,
      "variant=%s seed=%llu x=[%lld,%lld,%lld,%lld] w=[%lld,%lld,%lld,%lld] stride=(%d,%d) "
      "pad=(t%d,l%d,b%d,r%d) output_pad=(%d,%d) dilation=(%d,%d) groups=%d bias=%d act=%d(%g,%g)",
      variant, (unsigned long long)seed, (long long)c->xs[0], (long long)c->xs[1],
      (long long)c->xs[2], (long long)c->xs[3], (long long)c->ws[0], (long long)c->ws[1],
      (long long)c->ws[2], (long long)c->ws[3], p->stride_h, p->stride_w, p->pad_top, p->pad_left,
      p->pad_bottom, p->pad_right, p->output_pad_h, p->output_pad_w, p->dilation_h, p->dilation_w,
      p->groups, c->bias, (int)p->act.kind, (double)p->act.alpha, (double)p->act.beta);
}

static bool run_case(clseg_context *ctx, const convt_case *c, const char *variant, uint64_t seed) {
  int64_t ys[4];
  char what[512];
  describe(c, variant, seed, what, sizeof what);
  assert_int_equal(ref_conv_transpose2d_shape(c->xs, c->ws, &c->p, ys), 0);
  const size_t nx = ref_count(c->xs), nw = ref_count(c->ws), ny = ref_count(ys);
  float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w),
        *b = malloc((size_t)ys[1] * sizeof *b);
  float *got = malloc(ny * sizeof *got), *want = malloc(ny * sizeof *want);
  assert_true(x && w && b && got && want);
  check_fill_uniform(x, nx, seed, -1.0f, 1.0f);
  check_fill_uniform(w, nw, seed + 1, -1.0f, 1.0f);
  check_fill_uniform(b, (size_t)ys[1], seed + 2, -1.0f, 1.0f);
  const int64_t bs[4] = {ys[1], 1, 1, 1};
  clseg_tensor *tx = test_tensor(ctx, c->xs, x), *tw = test_tensor(ctx, c->ws, w),
               *ty = test_tensor(ctx, ys, NULL);
  clseg_tensor *tb = c->bias ? test_tensor(ctx, bs, b) : NULL;
  int64_t api_shape[4];
  assert_int_equal(clseg_conv_transpose2d_shape(tx, tw, &c->p, api_shape), CLSEG_OK);
  assert_memory_equal(api_shape, ys, sizeof ys);
  clseg_status s = clseg__conv_transpose2d_variant(ctx, tx, tw, tb, &c->p, variant, ty);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", what, clseg_last_error(ctx));
  assert_int_equal(clseg_tensor_download(ty, got, ny), CLSEG_OK);
  ref_conv_transpose2d(x, c->xs, w, c->ws, c->bias ? b : NULL, &c->p, want, ys);
  bool ok = check_close("conv_transpose2d", got, want, ny, ys, NULL, what);
  check_track_worst(&g_worst, got, want, ny);
  clseg_tensor_free(tx), clseg_tensor_free(tw), clseg_tensor_free(ty), clseg_tensor_free(tb);
  free(x), free(w), free(b), free(got), free(want);
  return ok;
}

static int pick(check_rng *r, int n) {
  return (int)(check_rng_next(r) % (uint64_t)n);
}

/* Any geometry for the gather kernel (all run-time arguments); k2s2 keeps its fixed geometry. */
static convt_case random_case(check_rng *r, int k2s2) {
  convt_case c;
  memset(&c, 0, sizeof c);
  int groups = k2s2 ? 1 : 1 + pick(r, 3);
  const int cin = groups * (1 + pick(r, k2s2 ? 12 : 4)), cout_g = 1 + pick(r, k2s2 ? 20 : 5);
  const int kh = k2s2 ? 2 : 1 + pick(r, 5), kw = k2s2 ? 2 : 1 + pick(r, 5);
  clseg_conv_transpose2d_params *p = &c.p;
  p->stride_h = k2s2 ? 2 : 1 + pick(r, 3);
  p->stride_w = k2s2 ? 2 : 1 + pick(r, 3);
  p->dilation_h = k2s2 ? 1 : 1 + pick(r, 3);
  p->dilation_w = k2s2 ? 1 : 1 + pick(r, 3);
  p->groups = groups;
  if (!k2s2) {
    p->pad_top = pick(r, kh + 1), p->pad_left = pick(r, kw + 1);
    p->pad_bottom = pick(r, kh + 1), p->pad_right = pick(r, kw + 1);
    p->output_pad_h = pick(r, p->stride_h > p->dilation_h ? p->stride_h : p->dilation_h);
    p->output_pad_w = pick(r, p->stride_w > p->dilation_w ? p->stride_w : p->dilation_w);
  }
  const int64_t xs[4] = {1 + pick(r, 2), cin, SIZES[pick(r, 7)], SIZES[pick(r, 7)]};
  const int64_t ws[4] = {cin, cout_g, kh, kw};
  memcpy(c.xs, xs, sizeof xs);
  memcpy(c.ws, ws, sizeof ws);
  int64_t ys[4];
  while (ref_conv_transpose2d_shape(c.xs, c.ws, p, ys) !=
         0) { /* padding ate the output: grow the input */
    c.xs[2] += 2;
    c.xs[3] += 2;
  }
  c.bias = pick(r, 2);
  p->act.kind = pick(r, 2) ? CLSEG_ACT_RELU : CLSEG_ACT_NONE;
  return c;
}

/* k2s2: the U-Net geometry only (conv_transpose2d_k2s2, and the GPU variant on it). */
static void sweep_geometry(void **state, const char *variant, int k2s2) {
  int failures = 0;
  for (int i = 0; i < SWEEP_CASES; i++) {
    const uint64_t seed = SWEEP_SEED + (uint64_t)i;
    check_rng r = {seed};
    const convt_case c = random_case(&r, k2s2);
    failures += !run_case(*state, &c, variant, seed);
  }
  report_worst(variant);
  assert_int_equal(failures, 0);
}

static void sweep(void **state, const char *variant) {
  sweep_geometry(state, variant, !strcmp(variant, "conv_transpose2d_k2s2"));
}

static void sweep_direct(void **state) {
  sweep(state, "conv_transpose2d_direct");
}
static void sweep_k2s2(void **state) {
  sweep(state, "conv_transpose2d_k2s2");
}
static void sweep_gpu(void **state) {
  sweep(state, "conv_transpose2d_gpu");
}
static void sweep_gpu_k2s2(void **state) {
  sweep_geometry(state, "conv_transpose2d_gpu", 1);
}

/* conv_transpose2d_gpu on what its tiles and slices may get wrong: maps narrower than, not a
 * multiple of, and wider than a tile, 1x1 maps, batch 2, more input channels than a weight slice
 * (BK) and more output channels than a block (RM), groups, stride 2 and 3, dilation 2, 5x5 kernels,
 * output padding, and FCN-8s's 16x16 stride-8 kernel (its slice cut to fit __local memory). */
static void gpu_edge_shapes(void **state) {
  const clseg_activation leaky = {CLSEG_ACT_LEAKY_RELU, 0.1f, 0};
  const convt_case cases[] = {
      {{2, 37, 17, 45}, {37, 19, 2, 2}, {.stride_h = 2, .stride_w = 2, .act = leaky}, 1},
      {{1, 3, 1, 1}, {3, 5, 2, 2}, {.stride_h = 2, .stride_w = 2}, 1},
      {{1, 3, 1, 1}, {3, 2, 3, 3}, {.stride_h = 2, .stride_w = 2}, 0},
      {{2, 6, 9, 35},
       {6, 4, 5, 5},
       {.stride_h = 2,
        .stride_w = 2,
        .pad_top = 2,
        .pad_left = 2,
        .pad_bottom = 2,
        .pad_right = 2,
        .output_pad_h = 1,
        .output_pad_w = 1,
        .groups = 2,
        .act = leaky},
       1},
      {{1, 20, 7, 66},
       {20, 9, 3, 3},
       {.stride_h = 3,
        .stride_w = 2,
        .pad_top = 1,
        .pad_left = 2,
        .dilation_h = 2,
        .dilation_w = 2},
       1},
      {{1, 4, 5, 6},
       {4, 3, 4, 3},
       {.stride_h = 2, .stride_w = 4, .dilation_h = 2, .dilation_w = 3, .pad_bottom = 1},
       0},
      {{1, 21, 6, 5},
       {21, 21, 16, 16},
       {.stride_h = 8, .stride_w = 8, .pad_top = 4, .pad_left = 4, .pad_bottom = 4, .pad_right = 4},
       1},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    failures += !run_case(*state, &cases[i], "conv_transpose2d_gpu", 950 + i);
  report_worst("conv_transpose2d_gpu edges");
  assert_int_equal(failures, 0);
}

/* Wide rows (several 16-pixel tiles, a tail), many channels, and every activation once per variant.
 */
static void wide_shapes_and_activations(void **state) {
  const clseg_activation acts[] = {{CLSEG_ACT_LEAKY_RELU, 0.1f, 0},
                                   {CLSEG_ACT_SIGMOID, 0, 0},
                                   {CLSEG_ACT_HARD_SWISH, 0, 0},
                                   {CLSEG_ACT_GELU, 0, 0}};
  const char *variants[] = {"conv_transpose2d_k2s2", "conv_transpose2d_direct",
                            "conv_transpose2d_gpu"};
  int failures = 0;
  for (int v = 0; v < 3; v++)
    for (int a = 0; a < 4; a++) {
      convt_case c = {{2, 40, 9, 37}, {40, 11, 2, 2}, {.stride_h = 2, .stride_w = 2}, a % 2};
      c.p.act = acts[a];
      failures += !run_case(*state, &c, variants[v], 900 + (uint64_t)a);
    }
  assert_int_equal(failures, 0);
}

static bool run_fixture(clseg_context *ctx, const fixture *f, const char *file,
                        const char *variant) {
  clseg_conv_transpose2d_params p = {.stride_h = fixture_param_int(f, "stride_h", 0),
                                     .stride_w = fixture_param_int(f, "stride_w", 0),
                                     .pad_top = fixture_param_int(f, "pad_top", 0),
                                     .pad_left = fixture_param_int(f, "pad_left", 0),
                                     .pad_bottom = fixture_param_int(f, "pad_bottom", 0),
                                     .pad_right = fixture_param_int(f, "pad_right", 0),
                                     .output_pad_h = fixture_param_int(f, "output_pad_h", 0),
                                     .output_pad_w = fixture_param_int(f, "output_pad_w", 0),
                                     .dilation_h = fixture_param_int(f, "dilation_h", 0),
                                     .dilation_w = fixture_param_int(f, "dilation_w", 0),
                                     .groups = fixture_param_int(f, "groups", 0)};
  if (fixture_act_kind(f) >= 0)
    p.act.kind = (clseg_act_kind)fixture_act_kind(f);
  p.act.alpha = fixture_param_float(f, "act.alpha", 0.0f);
  p.act.beta = fixture_param_float(f, "act.beta", 0.0f);
  const fixture_array *ya = fixture_get(f, "y");
  clseg_tensor *x = test_fixture_tensor(ctx, f, "x"), *w = test_fixture_tensor(ctx, f, "w");
  clseg_tensor *b = test_fixture_tensor(ctx, f, "bias"), *y = NULL;
  int64_t ys[4];
  assert_true(x && w && ya && fixture_shape4(ya, ys));
  y = test_tensor(ctx, ys, NULL);
  char what[1024];
  snprintf(what, sizeof what, "fixture %s variant=%s %s", file, variant ? variant : "auto",
           fixture_params_text(f));
  clseg_status s = variant ? clseg__conv_transpose2d_variant(ctx, x, w, b, &p, variant, y)
                           : clseg_conv_transpose2d(ctx, x, w, b, &p, y);
  bool ok = s == CLSEG_UNSUPPORTED && variant != NULL; /* a forced variant may decline */
  if (s == CLSEG_OK) {
    float *got = malloc(ya->count * sizeof *got);
    assert_non_null(got);
    assert_int_equal(clseg_tensor_download(y, got, ya->count), CLSEG_OK);
    ok = check_close("y", got, ya->data, ya->count, ys, NULL, what);
    free(got);
  } else if (!ok) {
    fprintf(stderr, "%s: %s\n", what, clseg_last_error(ctx));
  }
  clseg_tensor_free(x), clseg_tensor_free(w), clseg_tensor_free(b), clseg_tensor_free(y);
  return ok;
}

static void fixtures_all_variants(void **state) {
  DIR *d = opendir(CLSEG_FIXTURE_DIR);
  assert_non_null(d);
  struct dirent *e;
  int seen = 0, failures = 0;
  const char *variants[] = {NULL, "conv_transpose2d_direct", "conv_transpose2d_k2s2",
                            "conv_transpose2d_gpu"};
  while ((e = readdir(d)) != NULL) {
    const size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "convt_", 6) != 0 || len < 5 ||
        strcmp(e->d_name + len - 5, ".clsf") != 0)
      continue;
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", CLSEG_FIXTURE_DIR, e->d_name);
    fixture *f = fixture_load(path, err, sizeof err);
    if (!f)
      fail_msg("%s", err);
    for (int v = 0; v < 4; v++)
      failures += !run_fixture(*state, f, e->d_name, variants[v]);
    fixture_free(f);
    seen++;
  }
  closedir(d);
  print_message("%d conv_transpose2d fixtures x 4 variants\n", seen);
  assert_true(seen >= 8);
  assert_int_equal(failures, 0);
}

static void expect_error(clseg_context *ctx, clseg_status got, clseg_status want,
                         const char *needle) {
  assert_int_equal(got, want);
  assert_true(test_contains(clseg_last_error(ctx), needle));
}

static void errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {1, 4, 5, 5}, ws[4] = {4, 3, 2, 2}, wbad[4] = {6, 3, 2, 2},
                ys[4] = {1, 3, 10, 10};
  const int64_t ybad[4] = {1, 3, 9, 9};
  clseg_tensor *x = test_tensor(ctx, xs, NULL), *w = test_tensor(ctx, ws, NULL),
               *wb = test_tensor(ctx, wbad, NULL);
  clseg_tensor *y = test_tensor(ctx, ys, NULL), *yb = test_tensor(ctx, ybad, NULL);
  clseg_conv_transpose2d_params p = {.stride_h = 2, .stride_w = 2};
  expect_error(ctx, clseg_conv_transpose2d(ctx, x, wb, NULL, &p, y), CLSEG_SHAPE_MISMATCH,
               "input [1, 4, 5, 5] has 4 channels, weight [6, 3, 2, 2] expects 6");
  expect_error(ctx, clseg_conv_transpose2d(ctx, x, w, NULL, &p, yb), CLSEG_SHAPE_MISMATCH,
               "output has shape [1, 3, 9, 9], expected [1, 3, 10, 10]");
  expect_error(ctx, clseg_conv_transpose2d(ctx, NULL, w, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
               "input is NULL");
  expect_error(ctx, clseg_conv_transpose2d(ctx, x, w, x, &p, y), CLSEG_SHAPE_MISMATCH,
               "bias has 100");
  p.groups = 3;
  expect_error(ctx, clseg_conv_transpose2d(ctx, x, w, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
               "groups 3");
  p.groups = 1;
  p.output_pad_h = 2;
  expect_error(ctx, clseg_conv_transpose2d(ctx, x, w, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
               "output padding");
  p.output_pad_h = 0;
  expect_error(ctx, clseg__conv_transpose2d_variant(ctx, x, w, NULL, &p, "convt_fft", y),
               CLSEG_INVALID_ARGUMENT, "unknown variant 'convt_fft'");
  p.stride_w = 1;
  int64_t out[4];
  assert_int_equal(clseg_conv_transpose2d_shape(x, w, &p, out), CLSEG_OK);
  clseg_tensor *y2 = test_tensor(ctx, out, NULL);
  expect_error(ctx,
               clseg__conv_transpose2d_variant(ctx, x, w, NULL, &p, "conv_transpose2d_k2s2", y2),
               CLSEG_UNSUPPORTED, "variant 'conv_transpose2d_k2s2' does not support");
  clseg_tensor_free(x), clseg_tensor_free(w), clseg_tensor_free(wb), clseg_tensor_free(y);
  clseg_tensor_free(yb), clseg_tensor_free(y2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_direct),
      cmocka_unit_test(sweep_k2s2),
      cmocka_unit_test(sweep_gpu),
      cmocka_unit_test(sweep_gpu_k2s2),
      cmocka_unit_test(gpu_edge_shapes),
      cmocka_unit_test(wide_shapes_and_activations),
      cmocka_unit_test(fixtures_all_variants),
      cmocka_unit_test(errors),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
