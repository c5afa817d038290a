/* Tests of clseg_pool2d, clseg_pool2d_shape and clseg_global_pool (lib/ops/pool.c, cl/pool.cl):
 * against the naive reference on seeded sweeps of odd shapes, against the PyTorch fixtures, and on
 * every error path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_ops.h"
#include "common/check.h"
#include "common/fixture.h"
#include "ref/ref.h"
#include "support.h"

#define SEED 20250301u
static const int SIZES[] = {1, 3, 7, 9, 15, 17, 33};
#define N_SIZES ((int)(sizeof SIZES / sizeof *SIZES))

static double g_worst; /* the largest normalised error any comparison saw, for the summary line */

static void describe(char *buf, size_t n, const int64_t xs[4], const clseg_pool2d_params *p,
                     uint64_t seed) {
  snprintf(buf, n,
           "pool2d %s x [%lld,%lld,%lld,%lld] kernel %dx%d stride %dx%d dilation %dx%d pad t%d l%d "
           "b%d r%d ceil_mode %d count_include_pad %d seed %llu",
           p->kind == CLSEG_POOL_MAX ? "max" : "avg", (long long)xs[0], (long long)xs[1],
           (long long)xs[2], (long long)xs[3], p->kernel_h, p->kernel_w, p->stride_h, p->stride_w,
           p->dilation_h, p->dilation_w, p->pad_top, p->pad_left, p->pad_bottom, p->pad_right,
           p->ceil_mode, p->count_include_pad, (unsigned long long)seed);
}

/* Runs one pool2d on x (seeded, or given) and compares it with ref_pool2d; returns false on a
 * mismatch. */
static bool pool_case(const int64_t xs[4], const clseg_pool2d_params *p, uint64_t seed,
                      const float *given, const float *expected) {
  char ctxt[512];
  describe(ctxt, sizeof ctxt, xs, p, seed);
  int64_t ys[4], got_shape[4];
  if (ref_pool2d_shape(xs, p, ys) != 0)
    fail_msg("bad test case: %s", ctxt);
  float *x = malloc(ref_count(xs) * sizeof(float)), *ref = malloc(ref_count(ys) * sizeof(float));
  assert_true(x && ref);
  if (given)
    memcpy(x, given, ref_count(xs) * sizeof(float));
  else
    check_fill_uniform(x, ref_count(xs), seed, -2.0f, 2.0f);
  ref_pool2d(x, xs, p, ref, ys);
  clseg_tensor *tx = test_tensor(test_ctx, xs, x), *ty = test_tensor(test_ctx, ys, NULL);
  if (clseg_pool2d_shape(tx, p, got_shape) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  bool ok = memcmp(got_shape, ys, sizeof ys) == 0;
  if (!ok)
    fprintf(stderr, "FAIL shape: got %lldx%lld, ref %lldx%lld; %s\n", (long long)got_shape[2],
            (long long)got_shape[3], (long long)ys[2], (long long)ys[3], ctxt);
  if (clseg_pool2d(test_ctx, tx, p, ty) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  float *y = test_download(ty);
  ok = test_compare(&g_worst, "pool2d vs ref", y, ref, ys, ctxt) && ok;
  if (expected)
    ok = test_compare(&g_worst, "pool2d vs PyTorch", y, expected, ys, ctxt) && ok;
  free(x);
  free(ref);
  free(y);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* The shapes of 2x2 and 3x3 max pools in a U-Net, wide enough for the vector paths and their tails.
 */
static void test_pool_common_shapes(void **state) {
  (void)state;
  const clseg_pool2d_params ps[] = {
      {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2},
      {.kind = CLSEG_POOL_MAX,
       .kernel_h = 3,
       .kernel_w = 3,
       .stride_h = 2,
       .stride_w = 2,
       .pad_top = 1,
       .pad_left = 1,
       .pad_bottom = 1,
       .pad_right = 1},
      {.kind = CLSEG_POOL_MAX,
       .kernel_h = 3,
       .kernel_w = 3,
       .stride_h = 1,
       .stride_w = 1,
       .pad_top = 1,
       .pad_left = 1,
       .pad_bottom = 1,
       .pad_right = 1},
      {.kind = CLSEG_POOL_AVG, .kernel_h = 2, .kernel_w = 2},
      {.kind = CLSEG_POOL_AVG,
       .kernel_h = 3,
       .kernel_w = 3,
       .stride_h = 2,
       .stride_w = 2,
       .pad_top = 1,
       .pad_left = 1,
       .pad_bottom = 1,
       .pad_right = 1,
       .ceil_mode = 1},
      {.kind = CLSEG_POOL_AVG,
       .kernel_h = 3,
       .kernel_w = 3,
       .stride_h = 1,
       .stride_w = 1,
       .pad_top = 1,
       .pad_left = 1,
       .pad_bottom = 1,
       .pad_right = 1,
       .count_include_pad = 1},
  };
  const int64_t shapes[][4] = {{1, 4, 64, 64}, {2, 3, 33, 67}, {1, 2, 17, 40}};
  bool ok = true;
  for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
    for (size_t j = 0; j < sizeof shapes / sizeof *shapes; j++)
      ok = pool_case(shapes[j], &ps[i], SEED + 100 * i + j, NULL, NULL) && ok;
  printf("pool2d common shapes: worst normalised error %.3g\n", g_worst);
  assert_true(ok);
}

/* Random kernels, strides, dilations (every third case), pads, ceil_mode and count_include_pad over
 * the odd sizes, batch 2. */
static void test_pool_sweep(void **state) {
  (void)state;
  check_rng rng = {SEED};
  int run = 0, failed = 0;
  for (int i = 0; i < 400; i++) {
    uint64_t seed = SEED + 1000u + (uint64_t)i;
    int64_t xs[4] = {i % 3 == 0 ? 2 : 1, 1 + (int64_t)(check_rng_next(&rng) % 3),
                     SIZES[check_rng_next(&rng) % N_SIZES], SIZES[check_rng_next(&rng) % N_SIZES]};
    clseg_pool2d_params p = {.kind = (clseg_pool_kind)(check_rng_next(&rng) % 2),
                             .kernel_h = 1 + (int)(check_rng_next(&rng) % 4),
                             .kernel_w = 1 + (int)(check_rng_next(&rng) % 4),
                             .stride_h = (int)(check_rng_next(&rng) % 4),
                             .stride_w = (int)(check_rng_next(&rng) % 4),
                             .ceil_mode = (int)(check_rng_next(&rng) % 2),
                             .count_include_pad = (int)(check_rng_next(&rng) % 2)};
    /* Asymmetric pads too, each side below the kernel (ONNX's limit; PyTorch's is half of it). */
    p.pad_top = (int)(check_rng_next(&rng) % (uint64_t)p.kernel_h);
    p.pad_bottom = (int)(check_rng_next(&rng) % (uint64_t)p.kernel_h);
    p.pad_left = (int)(check_rng_next(&rng) % (uint64_t)p.kernel_w);
    p.pad_right = (int)(check_rng_next(&rng) % (uint64_t)p.kernel_w);
    if (i % 3 == 1) {
      p.dilation_h = 1 + (int)(check_rng_next(&rng) % 3);
      p.dilation_w = 1 + (int)(check_rng_next(&rng) % 3);
    }
    int64_t ys[4];
    if (ref_pool2d_shape(xs, &p, ys) != 0)
      continue; /* kernel larger than the padded input */
    run++;
    failed += !pool_case(xs, &p, seed, NULL, NULL);
  }
  printf("pool2d sweep: %d cases, %d failed, worst normalised error %.3g\n", run, failed, g_worst);
  assert_true(run > 200);
  assert_int_equal(failed, 0);
}

static void global_case(const int64_t xs[4], clseg_pool_kind kind, uint64_t seed,
                        const float *given, const float *expected, bool *ok) {
  char ctxt[256];
  snprintf(ctxt, sizeof ctxt, "global_pool %s x [%lld,%lld,%lld,%lld] seed %llu",
           kind == CLSEG_POOL_MAX ? "max" : "avg", (long long)xs[0], (long long)xs[1],
           (long long)xs[2], (long long)xs[3], (unsigned long long)seed);
  const int64_t ys[4] = {xs[0], xs[1], 1, 1};
  float *x = malloc(ref_count(xs) * sizeof(float)), *ref = malloc(ref_count(ys) * sizeof(float));
  assert_true(x && ref);
  if (given)
    memcpy(x, given, ref_count(xs) * sizeof(float));
  else
    check_fill_uniform(x, ref_count(xs), seed, -3.0f, 3.0f);
  ref_global_pool(x, xs, kind, ref);
  clseg_tensor *tx = test_tensor(test_ctx, xs, x), *ty = test_tensor(test_ctx, ys, NULL);
  if (clseg_global_pool(test_ctx, tx, kind, ty) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  float *y = test_download(ty);
  if (!test_compare(&g_worst, "global_pool vs ref", y, ref, ys, ctxt))
    *ok = false;
  if (expected && !test_compare(&g_worst, "global_pool vs PyTorch", y, expected, ys, ctxt))
    *ok = false;
  free(x);
  free(ref);
  free(y);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
}

static void test_global_pool_sweep(void **state) {
  (void)state;
  bool ok = true;
  int run = 0;
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < N_SIZES; i++)
      for (int j = 0; j < N_SIZES; j += 2, run++) {
        const int64_t xs[4] = {2, 3, SIZES[i], SIZES[j]};
        global_case(xs, (clseg_pool_kind)k, SEED + 5000u + (uint64_t)run, NULL, NULL, &ok);
      }
  const int64_t big[4] = {1, 5, 64, 64};
  global_case(big, CLSEG_POOL_AVG, SEED + 6000u, NULL, NULL, &ok);
  global_case(big, CLSEG_POOL_MAX, SEED + 6001u, NULL, NULL, &ok);
  printf("global_pool sweep: %d cases, worst normalised error %.3g\n", run + 2, g_worst);
  assert_true(ok);
}

/* The edges of a work-group tree reduction (GPU rows: 256 work-items, planes split in parts of
 * 4096 when there are fewer than 264): planes of 1 to 4097 floats around one and many work-group
 * widths, one plane, many planes, batch > 1, and planes cut into several parts. */
static void test_global_pool_edges(void **state) {
  (void)state;
  static const int64_t hw[][2] = {{1, 1}, {1, 3}, {7, 9}, {1, 63}, {8, 8}, {5, 13}, {17, 241}};
  bool ok = true;
  int run = 0;
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < sizeof hw / sizeof *hw; i++) {
      const int64_t one[4] = {1, 1, hw[i][0], hw[i][1]}, batch[4] = {3, 5, hw[i][0], hw[i][1]};
      global_case(one, (clseg_pool_kind)k, SEED + 7000u + (uint64_t)run++, NULL, NULL, &ok);
      global_case(batch, (clseg_pool_kind)k, SEED + 7000u + (uint64_t)run++, NULL, NULL, &ok);
    }
    /* more planes than SPLIT_GROUPS; few planes of 2, 5 and 17 parts */
    const int64_t many[4] = {2, 300, 3, 5}, two[4] = {2, 1, 65, 65}, five[4] = {1, 2, 129, 129},
                  wide[4] = {1, 1, 1, 65537};
    global_case(many, (clseg_pool_kind)k, SEED + 7100u + (uint64_t)k, NULL, NULL, &ok);
    global_case(two, (clseg_pool_kind)k, SEED + 7200u + (uint64_t)k, NULL, NULL, &ok);
    global_case(five, (clseg_pool_kind)k, SEED + 7300u + (uint64_t)k, NULL, NULL, &ok);
    global_case(wide, (clseg_pool_kind)k, SEED + 7400u + (uint64_t)k, NULL, NULL, &ok);
    run += 4;
  }
  printf("global_pool edges: %d cases, worst normalised error %.3g\n", run, g_worst);
  assert_true(ok);
}

static void expect_error(clseg_status got, clseg_status want, const char *needle);

/* The GPU forms on this device too, chosen by user tuning rows (GPU=1 for every shape; other
 * LOCAL and split cells than the shipped gpu rows, so that planes split into parts here), against
 * the reference; and a GPU cell other than 0 or 1 is CLSEG_FORMAT naming the file. A profile reads
 * no user file, so this runs as the device itself. */
static void test_gpu_forms_by_user_rows(void **state) {
  (void)state;
  char path[1200];
  clseg_context *const saved = test_ctx;
  test_ctx = test_user_rows_begin(
      "# test_pool\nglobal_pool_avg\t*\tGPU=1\tLOCAL=64\tSPLIT_GROUPS=16\tSPLIT_CHUNK=100\n"
      "global_pool_max\t*\tGPU=1\tLOCAL=32\tSPLIT_GROUPS=1\n"
      "pool2d_max\t*\tGPU=1\tLOCAL=128\npool2d_avg\t*\tGPU=2\n",
      path, sizeof path);
  bool ok = true;
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 5, 13}, {1, 2, 33, 31}, {3, 7, 1, 4097}};
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 2; k++)
      global_case(shapes[i], (clseg_pool_kind)k, SEED + 8000u + (uint64_t)(2 * i + k), NULL, NULL,
                  &ok);
  const clseg_pool2d_params mp = {.kind = CLSEG_POOL_MAX,
                                  .kernel_h = 3,
                                  .kernel_w = 3,
                                  .stride_h = 2,
                                  .stride_w = 2,
                                  .pad_top = 1,
                                  .pad_left = 1,
                                  .pad_bottom = 1,
                                  .pad_right = 1,
                                  .ceil_mode = 1};
  ok = pool_case(shapes[2], &mp, SEED + 8100u, NULL, NULL) && ok;
  clseg_pool2d_params ap = mp;
  ap.kind = CLSEG_POOL_AVG;
  int64_t ys[4];
  assert_int_equal(ref_pool2d_shape(shapes[2], &ap, ys), 0);
  clseg_tensor *x = test_tensor(test_ctx, shapes[2], NULL), *y = test_tensor(test_ctx, ys, NULL);
  expect_error(clseg_pool2d(test_ctx, x, &ap, y), CLSEG_FORMAT, "tuning: GPU=2 of pool2d_avg");
  assert_true(test_contains(clseg_last_error(test_ctx), "is neither 0 nor 1"));
  assert_true(test_contains(clseg_last_error(test_ctx), path));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  test_user_rows_end(test_ctx);
  test_ctx = saved;
  printf("pool GPU forms by user rows: worst normalised error %.3g\n", g_worst);
  assert_true(ok);
}

/* ---- PyTorch fixtures: every pool2d and global_pool file listed in index.txt ---- */
static const char *const KINDS[] = {"max", "avg"};

static int kind_of(const fixture *f) {
  const char *k = fixture_param(f, "kind");
  return k && !strcmp(k, "avg") ? 1 : k && !strcmp(k, "max") ? 0 : -1;
}

static bool run_fixture(const fixture *f, const char *op) {
  int64_t xs[4], ys[4];
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  int kind = kind_of(f);
  if (!x || !y || kind < 0 || !fixture_shape4(x, xs) || !fixture_shape4(y, ys))
    return false;
  if (!strcmp(op, "global_pool")) {
    bool ok = true;
    global_case(xs, (clseg_pool_kind)kind, 0, x->data, y->data, &ok);
    return ok;
  }
  clseg_pool2d_params p = {.kind = (clseg_pool_kind)kind,
                           .kernel_h = fixture_param_int(f, "kernel_h", 0),
                           .kernel_w = fixture_param_int(f, "kernel_w", 0),
                           .stride_h = fixture_param_int(f, "stride_h", 0),
                           .stride_w = fixture_param_int(f, "stride_w", 0),
                           .pad_top = fixture_param_int(f, "pad_top", 0),
                           .pad_left = fixture_param_int(f, "pad_left", 0),
                           .pad_bottom = fixture_param_int(f, "pad_bottom", 0),
                           .pad_right = fixture_param_int(f, "pad_right", 0),
                           .ceil_mode = fixture_param_int(f, "ceil_mode", 0),
                           .count_include_pad = fixture_param_int(f, "count_include_pad", 0)};
  int64_t want[4];
  if (ref_pool2d_shape(xs, &p, want) != 0 || memcmp(want, ys, sizeof ys) != 0)
    return false;
  return pool_case(xs, &p, (uint64_t)fixture_param_int(f, "seed", 0), x->data, y->data);
}

static void test_fixtures(void **state) {
  (void)state;
  int failed = 0;
  const int seen =
      test_each_fixture((const char *const[]){"pool2d", "global_pool", NULL}, run_fixture, &failed);
  printf("pool fixtures: %d run, %d failed (kinds %s/%s), worst normalised error %.3g\n", seen,
         failed, KINDS[0], KINDS[1], g_worst);
  assert_true(seen >= 10);
  assert_int_equal(failed, 0);
}

/* ---- error paths: the status and the message's key words ---- */
static void expect_error(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s; message: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(test_ctx));
  assert_true(test_contains(clseg_last_error(test_ctx), needle));
}

static void test_pool_errors(void **state) {
  (void)state;
  const int64_t xs[4] = {1, 2, 7, 7}, ys[4] = {1, 2, 3, 3}, bad[4] = {1, 2, 4, 3};
  clseg_tensor *x = test_tensor(test_ctx, xs, NULL), *y = test_tensor(test_ctx, ys, NULL),
               *yb = test_tensor(test_ctx, bad, NULL);
  clseg_pool2d_params p = {.kind = CLSEG_POOL_MAX, .kernel_h = 2, .kernel_w = 2};
  assert_int_equal(clseg_pool2d(test_ctx, x, &p, y), CLSEG_OK);
  expect_error(clseg_pool2d(test_ctx, x, &p, yb), CLSEG_SHAPE_MISMATCH,
               "pool2d: output has shape [1, 2, 4, 3], expected [1, 2, 3, 3]");
  clseg_pool2d_params q = p;
  q.pad_left = 2;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT,
               "pool2d: input [1, 2, 7, 7]: pad_left 2 is not below the kernel width 2");
  q = p;
  q.kernel_h = q.kernel_w = 3;
  q.pad_top = q.pad_bottom = 2;
  q.pad_top = -1;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT,
               "pad_top -1 or pad_bottom 2 is negative");
  q = p;
  q.kernel_h = 0;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT,
               "kernel 0x2 must be at least 1x1");
  q = p;
  q.dilation_h = -2;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT,
               "dilation -2x0 is negative");
  q = p;
  q.kernel_h = q.kernel_w = 3;
  q.dilation_h = q.dilation_w = 4; /* taps 4 apart: an extent of 9 in 7 */
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_SHAPE_MISMATCH,
               "kernel 3x3 (dilation 4x4) does not fit input");
  q = p;
  q.stride_w = -1;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT, "stride 0x-1 is negative");
  q = p;
  q.kernel_h = q.kernel_w = 9;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_SHAPE_MISMATCH,
               "kernel 9x9 (dilation 1x1) does not fit input");
  q = p;
  q.kind = (clseg_pool_kind)7;
  expect_error(clseg_pool2d(test_ctx, x, &q, y), CLSEG_INVALID_ARGUMENT, "unknown pool kind 7");
  expect_error(clseg_pool2d(test_ctx, NULL, &p, y), CLSEG_INVALID_ARGUMENT,
               "pool2d: input is NULL");
  expect_error(clseg_pool2d(test_ctx, x, &p, NULL), CLSEG_INVALID_ARGUMENT,
               "pool2d: output is NULL");
  expect_error(clseg_pool2d(test_ctx, x, NULL, y), CLSEG_INVALID_ARGUMENT,
               "pool2d: params is NULL");
  int64_t s[4];
  assert_int_equal(clseg_pool2d_shape(x, &p, s), CLSEG_OK);
  assert_int_equal(s[2], 3);
  assert_int_equal(clseg_pool2d_shape(NULL, &p, s), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "pool2d: input is NULL"));
  expect_error(clseg_global_pool(test_ctx, x, CLSEG_POOL_AVG, y), CLSEG_SHAPE_MISMATCH,
               "global_pool: output has shape [1, 2, 3, 3], expected [1, 2, 1, 1]");
  expect_error(clseg_global_pool(test_ctx, NULL, CLSEG_POOL_AVG, y), CLSEG_INVALID_ARGUMENT,
               "global_pool: input is NULL");
  expect_error(clseg_global_pool(test_ctx, x, (clseg_pool_kind)3, y), CLSEG_INVALID_ARGUMENT,
               "global_pool: unknown pool kind 3");
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_tensor_free(yb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_common_shapes),
      cmocka_unit_test(test_pool_sweep),
      cmocka_unit_test(test_global_pool_sweep),
      cmocka_unit_test(test_global_pool_edges),
      cmocka_unit_test(test_gpu_forms_by_user_rows),
      cmocka_unit_test(test_fixtures),
      cmocka_unit_test(test_pool_errors),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
