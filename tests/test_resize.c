/* Tests of clseg_resize (lib/ops/resize.c, cl/resize.cl): nearest and bilinear against the naive
 * reference on seeded sweeps (up and down by odd factors, align_corners both ways, explicit
 * scales), against the PyTorch fixtures, and on every error path; the planner's resize with a
 * residual and an activation (clseg__resize_sum) against the reference resize, add and act. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_ops.h"
#include "common/check.h"
#include "ops/resize.h"
#include "common/fixture.h"
#include "ref/ref.h"
#include "support.h"

#define SEED 20250302u
static const int SIZES[] = {1, 3, 7, 9, 15, 17, 33};
#define N_SIZES ((int)(sizeof SIZES / sizeof *SIZES))

static double g_worst; /* the largest normalised error any comparison saw, for the summary line */

static void describe(char *buf, size_t n, const int64_t xs[4], const int64_t ys[4],
                     const clseg_resize_params *p, uint64_t seed) {
  snprintf(buf, n,
           "resize %s align_corners %d coord %d round %d scale_h %.9g scale_w %.9g x "
           "[%lld,%lld,%lld,%lld] -> %lldx%lld seed %llu",
           p->mode == CLSEG_RESIZE_BILINEAR ? "bilinear" : "nearest", p->align_corners,
           (int)p->coord, (int)p->round, (double)p->scale_h, (double)p->scale_w, (long long)xs[0],
           (long long)xs[1], (long long)xs[2], (long long)xs[3], (long long)ys[2], (long long)ys[3],
           (unsigned long long)seed);
}

/* Runs one resize of x (seeded, or given) to ys and compares it with ref_resize (and PyTorch's y if
 * given). */
static bool resize_case(const int64_t xs[4], const int64_t ys[4], const clseg_resize_params *p,
                        uint64_t seed, const float *given, const float *expected) {
  char ctxt[512];
  describe(ctxt, sizeof ctxt, xs, ys, p, seed);
  float *x = malloc(ref_count(xs) * sizeof(float)), *ref = malloc(ref_count(ys) * sizeof(float));
  assert_true(x && ref);
  if (given)
    memcpy(x, given, ref_count(xs) * sizeof(float));
  else
    check_fill_uniform(x, ref_count(xs), seed, -2.0f, 2.0f);
  ref_resize(x, xs, p, ref, ys);
  clseg_tensor *tx = test_tensor(test_ctx, xs, x), *ty = test_tensor(test_ctx, ys, NULL);
  if (clseg_resize(test_ctx, tx, p, ty) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  float *y = test_download(ty);
  bool ok = test_compare(&g_worst, "resize vs ref", y, ref, ys, ctxt);
  if (expected)
    ok = test_compare(&g_worst, "resize vs PyTorch", y, expected, ys, ctxt) && ok;
  free(x);
  free(ref);
  free(y);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* The decoder's 2x, 4x and 8x upsamples, wide enough for the vector paths and their edges, and a
 * few odd ones.
 */
static void test_resize_common_shapes(void **state) {
  (void)state;
  const int64_t shapes[][2][4] = {{{1, 4, 32, 32}, {1, 4, 64, 64}},
                                  {{2, 3, 17, 33}, {2, 3, 34, 66}},
                                  {{1, 2, 9, 40}, {1, 2, 18, 80}},
                                  {{1, 2, 5, 3}, {1, 2, 10, 6}}};
  const clseg_resize_params ps[] = {
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.5f, .scale_w = 0.5f},
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 1, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_NEAREST, .align_corners = 0, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_NEAREST, .align_corners = 0, .scale_h = 0.5f, .scale_w = 0.5f}};
  /* 4x (SegFormer's last upsample) and 8x (its deepest stage's): their vector paths and edges, by
   * sizes and by scale */
  const int64_t shapes4[][2][4] = {{{1, 3, 8, 32}, {1, 3, 32, 128}},
                                   {{2, 2, 5, 9}, {2, 2, 20, 36}}};
  const clseg_resize_params ps4[] = {
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.25f, .scale_w = 0.25f},
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 1, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_BILINEAR, .coord = CLSEG_RESIZE_COORD_HALF_PIXEL}};
  const int64_t shapes8[][2][4] = {{{1, 3, 4, 16}, {1, 3, 32, 128}},
                                   {{2, 2, 3, 5}, {2, 2, 24, 40}}};
  const clseg_resize_params ps8[] = {
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.125f, .scale_w = 0.125f},
      {.mode = CLSEG_RESIZE_BILINEAR, .align_corners = 1, .scale_h = 0.0f, .scale_w = 0.0f},
      {.mode = CLSEG_RESIZE_BILINEAR, .coord = CLSEG_RESIZE_COORD_HALF_PIXEL}};
  bool ok = true;
  for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
    for (size_t j = 0; j < sizeof shapes / sizeof *shapes; j++)
      ok = resize_case(shapes[j][0], shapes[j][1], &ps[i], SEED + 100 * i + j, NULL, NULL) && ok;
  for (size_t i = 0; i < sizeof ps4 / sizeof *ps4; i++)
    for (size_t j = 0; j < sizeof shapes4 / sizeof *shapes4; j++)
      ok = resize_case(shapes4[j][0], shapes4[j][1], &ps4[i], SEED + 900 + 100 * i + j, NULL,
                       NULL) &&
           ok;
  for (size_t i = 0; i < sizeof ps8 / sizeof *ps8; i++)
    for (size_t j = 0; j < sizeof shapes8 / sizeof *shapes8; j++)
      ok = resize_case(shapes8[j][0], shapes8[j][1], &ps8[i], SEED + 1900 + 100 * i + j, NULL,
                       NULL) &&
           ok;
  printf("resize common shapes: worst normalised error %.3g\n", g_worst);
  assert_true(ok);
}

/* Factors of PyTorch's scale_factor: up and down, odd, non-integer. */
static const double FACTORS[] = {0.5, 1.0 / 3.0, 0.6, 1.3, 1.5, 1.7, 2.0, 2.5, 3.0};
#define N_FACTORS ((int)(sizeof FACTORS / sizeof *FACTORS))

/* One axis of a random case: output size and scale (0 when the sizes decide). */
static void pick_axis(check_rng *rng, int64_t in, int explicit_scale, int64_t *out, float *scale) {
  *scale = 0.0f;
  *out = SIZES[check_rng_next(rng) % N_SIZES];
  if (!explicit_scale)
    return;
  double f = FACTORS[check_rng_next(rng) % N_FACTORS];
  int64_t o = (int64_t)floor((double)in * f); /* PyTorch's output size for a scale_factor */
  if (o < 1)
    return; /* PyTorch refuses an empty output: keep the size-derived case */
  *out = o;
  *scale = (float)(1.0 / f);
}

static void test_resize_sweep(void **state) {
  (void)state;
  check_rng rng = {SEED};
  int run = 0, failed = 0;
  for (int i = 0; i < 400; i++, run++) {
    uint64_t seed = SEED + 1000u + (uint64_t)i;
    clseg_resize_params p = {.mode = (clseg_resize_mode)(check_rng_next(&rng) % 2),
                             .align_corners = (int)(check_rng_next(&rng) % 2)};
    int explicit_scale = check_rng_next(&rng) % 3 == 0;
    int64_t xs[4] = {i % 3 == 0 ? 2 : 1, 1 + (int64_t)(check_rng_next(&rng) % 3),
                     SIZES[check_rng_next(&rng) % N_SIZES], SIZES[check_rng_next(&rng) % N_SIZES]};
    int64_t ys[4] = {xs[0], xs[1], 0, 0};
    pick_axis(&rng, xs[2], explicit_scale, &ys[2], &p.scale_h);
    pick_axis(&rng, xs[3], explicit_scale, &ys[3], &p.scale_w);
    failed += !resize_case(xs, ys, &p, seed, NULL, NULL);
  }
  printf("resize sweep: %d cases, %d failed, worst normalised error %.3g\n", run, failed, g_worst);
  assert_int_equal(failed, 0);
}

/* y = act(resize(x) + r): the upsamples of SegFormer's decoder (2x, 4x, 8x, wide enough for the
 * vector paths, with tails), odd ones and downsamples, both modes, with and without the residual,
 * under four activations. */
static void test_resize_sum(void **state) {
  (void)state;
  static const int64_t in_sides[] = {3, 16, 17, 32};
  static const int factors[] = {2, 4, 8, 3};
  static const clseg_act_kind acts[] = {CLSEG_ACT_NONE, CLSEG_ACT_RELU, CLSEG_ACT_LEAKY_RELU,
                                        CLSEG_ACT_SIGMOID};
  int run = 0, failed = 0;
  for (int i = 0; i < 64; i++, run++) {
    int64_t side = in_sides[i % 4], f = factors[(i / 4) % 4];
    int64_t xs[4] = {1 + i % 2, 3, side, side + 1 + i % 3};
    int64_t ys[4] = {xs[0], xs[1], i % 7 == 6 ? (side + 1) / 2 : side * f, xs[3] * f - i % 5};
    const clseg_resize_params p = {.mode = (clseg_resize_mode)((i / 16) % 2)};
    const clseg_activation act = {.kind = acts[(i / 2) % 4]};
    int with_r = i % 3 != 2;
    uint64_t seed = SEED + 5000u + (uint64_t)i;
    char ctxt[512];
    describe(ctxt, sizeof ctxt, xs, ys, &p, seed);
    size_t n = ref_count(ys);
    float *x = malloc(ref_count(xs) * sizeof *x), *r = malloc(n * sizeof *r),
          *ref = malloc(n * sizeof *ref);
    assert_true(x && r && ref);
    check_fill_uniform(x, ref_count(xs), seed, -2.0f, 2.0f);
    check_fill_uniform(r, n, seed + 1, -2.0f, 2.0f);
    ref_resize(x, xs, &p, ref, ys);
    for (size_t k = 0; k < n; k++)
      ref[k] = ref_act1(with_r ? ref[k] + r[k] : ref[k], &act);
    clseg_tensor *tx = test_tensor(test_ctx, xs, x), *tr = test_tensor(test_ctx, ys, r);
    clseg_tensor *ty = test_tensor(test_ctx, ys, NULL);
    if (clseg__resize_sum(test_ctx, tx, &p, with_r ? tr : NULL, &act, ty) != CLSEG_OK)
      fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
    float *y = test_download(ty);
    failed += !test_compare(&g_worst, "resize + residual, act vs ref", y, ref, ys, ctxt);
    free(x), free(r), free(ref), free(y);
    clseg_tensor_free(tx), clseg_tensor_free(tr), clseg_tensor_free(ty);
  }
  printf("resize with residual and activation: %d cases, %d failed, worst normalised error %.3g\n",
         run, failed, g_worst);
  assert_int_equal(failed, 0);
  /* a residual of another size is refused, naming it */
  int64_t xs[4] = {1, 2, 4, 4}, ys[4] = {1, 2, 8, 8}, rs[4] = {1, 2, 8, 7};
  clseg_tensor *tx = test_tensor(test_ctx, xs, NULL), *ty = test_tensor(test_ctx, ys, NULL);
  clseg_tensor *tr = test_tensor(test_ctx, rs, NULL);
  const clseg_resize_params p = {.mode = CLSEG_RESIZE_BILINEAR};
  assert_int_not_equal(clseg__resize_sum(test_ctx, tx, &p, tr, NULL, ty), CLSEG_OK);
  assert_true(test_contains(clseg_last_error(test_ctx), "residual"));
  clseg_tensor_free(tx), clseg_tensor_free(tr), clseg_tensor_free(ty);
}

/* ONNX's scales (output / input): up and down, odd, non-integer, and the exact halves and thirds
 * where nearest indices fall on ties. */
static const float ONNX_SCALES[] = {0.5f, 0.6f, 1.0f / 3.0f, 1.25f, 1.5f, 2.0f, 2.5f, 3.0f, 4.0f};
#define N_ONNX_SCALES ((int)(sizeof ONNX_SCALES / sizeof *ONNX_SCALES))

/* One axis under ONNX's rules: output size, and the scale (0: out / in of the sizes). */
static void pick_onnx_axis(check_rng *rng, int64_t in, int explicit_scale, int64_t *out,
                           float *scale) {
  *scale = 0.0f;
  *out = SIZES[check_rng_next(rng) % N_SIZES];
  if (!explicit_scale)
    return;
  float s = ONNX_SCALES[check_rng_next(rng) % N_ONNX_SCALES];
  int64_t o = (int64_t)(s * (float)in); /* onnxruntime's output size */
  if (o >= 1)
    *out = o, *scale = s;
}

/* Every ONNX coordinate mode x nearest rounding against the reference, on odd sizes. */
static void test_resize_onnx_sweep(void **state) {
  (void)state;
  check_rng rng = {SEED ^ 0x0e0eu};
  int run = 0, failed = 0;
  for (int i = 0; i < 300; i++, run++) {
    uint64_t seed = SEED + 5000u + (uint64_t)i;
    clseg_resize_params p = {.mode = (clseg_resize_mode)(check_rng_next(&rng) % 2),
                             .coord = (clseg_resize_coord)(1 + check_rng_next(&rng) % 6),
                             .round = (clseg_resize_round)(check_rng_next(&rng) % 5)};
    int explicit_scale = check_rng_next(&rng) % 2 == 0;
    int64_t xs[4] = {i % 4 == 0 ? 2 : 1, 1 + (int64_t)(check_rng_next(&rng) % 3),
                     SIZES[check_rng_next(&rng) % N_SIZES], SIZES[check_rng_next(&rng) % N_SIZES]};
    int64_t ys[4] = {xs[0], xs[1], 0, 0};
    pick_onnx_axis(&rng, xs[2], explicit_scale, &ys[2], &p.scale_h);
    pick_onnx_axis(&rng, xs[3], explicit_scale, &ys[3], &p.scale_w);
    failed += !resize_case(xs, ys, &p, seed, NULL, NULL);
  }
  printf("resize ONNX sweep: %d cases, %d failed, worst normalised error %.3g\n", run, failed,
         g_worst);
  assert_int_equal(failed, 0);
}

/* ---- PyTorch fixtures: every resize file listed in index.txt ---- */
static bool run_fixture(const fixture *f) {
  int64_t xs[4], ys[4];
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  const char *mode = fixture_param(f, "mode");
  if (!x || !y || !mode || !fixture_shape4(x, xs) || !fixture_shape4(y, ys))
    return false;
  clseg_resize_params p = {.mode = !strcmp(mode, "bilinear") ? CLSEG_RESIZE_BILINEAR
                                                             : CLSEG_RESIZE_NEAREST,
                           .align_corners = fixture_param_int(f, "align_corners", 0),
                           .scale_h = fixture_param_float(f, "scale_h", 0.0f),
                           .scale_w = fixture_param_float(f, "scale_w", 0.0f)};
  return resize_case(xs, ys, &p, (uint64_t)fixture_param_int(f, "seed", 0), x->data, y->data);
}

static bool fixture_run(const fixture *f, const char *op) {
  (void)op;
  return run_fixture(f);
}

static void test_fixtures(void **state) {
  (void)state;
  int failed = 0;
  const int seen = test_each_fixture((const char *const[]){"resize", NULL}, fixture_run, &failed);
  printf("resize fixtures: %d run, %d failed, worst normalised error %.3g\n", seen, failed,
         g_worst);
  assert_true(seen >= 10);
  assert_int_equal(failed, 0);
}

/* ---- error paths ---- */
static void expect_error(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s; message: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(test_ctx));
  assert_true(test_contains(clseg_last_error(test_ctx), needle));
}

static void test_resize_errors(void **state) {
  (void)state;
  const int64_t xs[4] = {1, 2, 5, 5}, ys[4] = {1, 2, 9, 3}, bad[4] = {1, 3, 9, 3};
  clseg_tensor *x = test_tensor(test_ctx, xs, NULL), *y = test_tensor(test_ctx, ys, NULL),
               *yb = test_tensor(test_ctx, bad, NULL);
  clseg_resize_params p = {
      .mode = CLSEG_RESIZE_BILINEAR, .align_corners = 0, .scale_h = 0.0f, .scale_w = 0.0f};
  assert_int_equal(clseg_resize(test_ctx, x, &p, y), CLSEG_OK);
  expect_error(
      clseg_resize(test_ctx, x, &p, yb), CLSEG_SHAPE_MISMATCH,
      "resize bilinear: output has shape [1, 3, 9, 3], input [1, 2, 5, 5]: N and C must match");
  expect_error(clseg_resize(test_ctx, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
               "resize: input is NULL");
  expect_error(clseg_resize(test_ctx, x, &p, NULL), CLSEG_INVALID_ARGUMENT,
               "resize: output is NULL");
  expect_error(clseg_resize(test_ctx, x, NULL, y), CLSEG_INVALID_ARGUMENT,
               "resize: params is NULL");
  clseg_resize_params q = p;
  q.mode = (clseg_resize_mode)5;
  expect_error(clseg_resize(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT, "resize: unknown mode 5");
  q = p;
  q.scale_w = -0.5f;
  expect_error(clseg_resize(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT,
               "resize bilinear: scale_h 0 and scale_w -0.5 must be finite and >= 0");
  q = p;
  q.coord = (clseg_resize_coord)7;
  expect_error(clseg_resize(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT,
               "resize bilinear: unknown coord 7 or round 0");
  q = p;
  q.scale_w = NAN;
  expect_error(clseg_resize(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT, "must be finite");
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_tensor_free(yb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resize_common_shapes), cmocka_unit_test(test_resize_sweep),
      cmocka_unit_test(test_resize_onnx_sweep),    cmocka_unit_test(test_fixtures),
      cmocka_unit_test(test_resize_errors),        cmocka_unit_test(test_resize_sum),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
