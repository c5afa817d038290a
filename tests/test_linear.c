/* Tests of clseg_linear (lib/ops/linear.c, cl/linear.cl): each variant forced on its own
 * (linear_direct on seeded sweeps, linear_clblast on a few shapes since CLBlast compiles for
 * seconds on PoCL) and "auto", against the naive reference and the PyTorch fixtures, and every
 * error path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_ops.h"
#include "common/check.h"
#include "common/fixture.h"
#include "ops/linear.h"
#include "ref/ref.h"
#include "support.h"

#define SEED 20250303u
static const int SIZES[] = {1, 3, 7, 9, 15, 17, 33};
#define N_SIZES ((int)(sizeof SIZES / sizeof *SIZES))

static double g_worst; /* the largest normalised error any comparison saw, for the summary line */

/* One linear call: x [xs], w [m, K], optional bias, act; inputs seeded, or given. */
typedef struct {
  int64_t xs[4], m;
  int bias;
  clseg_activation act;
  const float *x, *w, *b, *expected; /* given data (fixtures), else NULL */
} linear_case;

static void describe(char *buf, size_t n, const linear_case *c, const char *variant,
                     uint64_t seed) {
  snprintf(
      buf, n,
      "linear %s x [%lld,%lld,%lld,%lld] (K %lld) M %lld bias %d act %s alpha %g beta %g seed %llu",
      variant, (long long)c->xs[0], (long long)c->xs[1], (long long)c->xs[2], (long long)c->xs[3],
      (long long)(c->xs[1] * c->xs[2] * c->xs[3]), (long long)c->m, c->bias,
      fixture_act_names[c->act.kind], (double)c->act.alpha, (double)c->act.beta,
      (unsigned long long)seed);
}

static float *host(size_t n, const float *given, uint64_t seed) {
  float *p = malloc(n * sizeof(float));
  assert_non_null(p);
  if (given)
    memcpy(p, given, n * sizeof(float));
  else
    check_fill_uniform(p, n, seed, -1.0f, 1.0f);
  return p;
}

static bool linear_run(const linear_case *c, const char *variant, uint64_t seed) {
  char ctxt[512];
  describe(ctxt, sizeof ctxt, c, variant, seed);
  int64_t k = c->xs[1] * c->xs[2] * c->xs[3];
  const int64_t ws[4] = {c->m, k, 1, 1}, bs[4] = {c->m, 1, 1, 1}, ys[4] = {c->xs[0], c->m, 1, 1};
  float *x = host(ref_count(c->xs), c->x, seed), *w = host(ref_count(ws), c->w, seed + 1);
  float *b = c->bias ? host((size_t)c->m, c->b, seed + 2) : NULL,
        *ref = host(ref_count(ys), NULL, 0);
  ref_linear(x, c->xs, w, c->m, b, &c->act, ref);
  clseg_tensor *tx = test_tensor(test_ctx, c->xs, x), *tw = test_tensor(test_ctx, ws, w),
               *tb = b ? test_tensor(test_ctx, bs, b) : NULL;
  clseg_tensor *ty = test_tensor(test_ctx, ys, NULL);
  if (clseg__linear_variant(test_ctx, tx, tw, tb, &c->act, ty, variant) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  float *y = test_download(ty);
  bool ok = test_compare(&g_worst, "linear vs ref", y, ref, ys, ctxt);
  if (c->expected)
    ok = test_compare(&g_worst, "linear vs PyTorch", y, c->expected, ys, ctxt) && ok;
  free(x);
  free(w);
  free(b);
  free(ref);
  free(y);
  clseg_tensor_free(tx);
  clseg_tensor_free(tw);
  clseg_tensor_free(tb);
  clseg_tensor_free(ty);
  return ok;
}

/* Seeded sweep: batch 1-7 (both tilings), odd C, H, W (K from 1 to a few thousand), odd M, every
 * activation. */
static void sweep(const char *variant, int cases) {
  check_rng rng = {SEED};
  int failed = 0;
  for (int i = 0; i < cases; i++) {
    static const int NS[] = {1, 2, 3, 4, 5, 7};
    linear_case c = {{NS[check_rng_next(&rng) % 6], SIZES[check_rng_next(&rng) % N_SIZES],
                      SIZES[check_rng_next(&rng) % 4], SIZES[check_rng_next(&rng) % 4]},
                     SIZES[check_rng_next(&rng) % N_SIZES],
                     (int)(check_rng_next(&rng) % 2),
                     {(clseg_act_kind)(check_rng_next(&rng) % CLSEG_ACT_COUNT), 0.0f, 0.0f},
                     NULL,
                     NULL,
                     NULL,
                     NULL};
    if (c.act.kind == CLSEG_ACT_CLIP) {
      c.act.alpha = -0.5f;
      c.act.beta = 0.75f;
    }
    failed += !linear_run(&c, variant, SEED + 1000u + (uint64_t)i);
  }
  printf("linear sweep %s: %d cases, %d failed, worst normalised error %.3g\n", variant, cases,
         failed, g_worst);
  assert_int_equal(failed, 0);
}

static void test_direct_sweep(void **state) {
  (void)state;
  sweep("linear_direct", 300);
}

static void test_auto_sweep(void **state) {
  (void)state;
  sweep("auto", 40);
}

/* A classifier head and a CBAM-style MLP; wide K for the vector loop, batch 8 for the 4-row tiling.
 */
static void test_direct_large(void **state) {
  (void)state;
  linear_case a = {{1, 512, 7, 7}, 33, 1, {CLSEG_ACT_NONE, 0, 0}, NULL, NULL, NULL, NULL};
  linear_case b = {{8, 256, 1, 1}, 17, 1, {CLSEG_ACT_RELU, 0, 0}, NULL, NULL, NULL, NULL};
  assert_true(linear_run(&a, "linear_direct", SEED + 7));
  assert_true(linear_run(&b, "linear_direct", SEED + 8));
}

/* Two shapes only: CLBlast compiles its kernels on first use (seconds on PoCL). */
static void test_clblast(void **state) {
  (void)state;
  linear_case a = {{3, 7, 3, 3}, 9, 1, {CLSEG_ACT_LEAKY_RELU, 0, 0}, NULL, NULL, NULL, NULL};
  linear_case b = {{1, 33, 1, 1}, 5, 0, {CLSEG_ACT_NONE, 0, 0}, NULL, NULL, NULL, NULL};
  bool ok = linear_run(&a, "linear_clblast", SEED + 9);
  ok = linear_run(&b, "linear_clblast", SEED + 10) && ok;
  printf("linear_clblast: worst normalised error %.3g\n", g_worst);
  assert_true(ok);
}

/* ---- PyTorch fixtures: every linear file listed in index.txt, with each variant ---- */
static bool run_fixture(const fixture *f) {
  const fixture_array *x = fixture_get(f, "x"), *w = fixture_get(f, "w"), *y = fixture_get(f, "y");
  const fixture_array *b = fixture_get(f, "bias");
  linear_case c = {{0},
                   0,
                   b != NULL,
                   {CLSEG_ACT_NONE, fixture_param_float(f, "act.alpha", 0.0f),
                    fixture_param_float(f, "act.beta", 0.0f)},
                   x ? x->data : NULL,
                   w ? w->data : NULL,
                   b ? b->data : NULL,
                   y ? y->data : NULL};
  const int kind = fixture_act_kind(f);
  if (!x || !w || !y || kind < 0 || !fixture_shape4(x, c.xs) || w->ndim < 1)
    return false;
  c.act.kind = (clseg_act_kind)kind;
  c.m = w->dims[0];
  uint64_t seed = (uint64_t)fixture_param_int(f, "seed", 0);
  bool ok = linear_run(&c, "linear_direct", seed);
  ok = linear_run(&c, "linear_clblast", seed) && ok;
  return linear_run(&c, "auto", seed) && ok;
}

static bool fixture_run(const fixture *f, const char *op) {
  (void)op;
  return run_fixture(f);
}

static void test_fixtures(void **state) {
  (void)state;
  int failed = 0;
  const int seen = test_each_fixture((const char *const[]){"linear", NULL}, fixture_run, &failed);
  printf("linear fixtures: %d run, %d failed, worst normalised error %.3g\n", seen, failed,
         g_worst);
  assert_true(seen >= 2);
  assert_int_equal(failed, 0);
}

/* ---- error paths ---- */
static void expect_error(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s; message: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(test_ctx));
  assert_true(test_contains(clseg_last_error(test_ctx), needle));
}

static void test_linear_errors(void **state) {
  (void)state;
  const int64_t xs[4] = {2, 3, 2, 2}, ws[4] = {5, 12, 1, 1}, wbad[4] = {5, 13, 1, 1},
                ys[4] = {2, 5, 1, 1};
  const int64_t ybad[4] = {2, 4, 1, 1}, bs[4] = {4, 1, 1, 1};
  clseg_tensor *x = test_tensor(test_ctx, xs, NULL), *w = test_tensor(test_ctx, ws, NULL),
               *wb = test_tensor(test_ctx, wbad, NULL), *y = test_tensor(test_ctx, ys, NULL);
  clseg_tensor *yb = test_tensor(test_ctx, ybad, NULL), *b = test_tensor(test_ctx, bs, NULL);
  assert_int_equal(clseg_linear(test_ctx, x, w, NULL, NULL, y), CLSEG_OK);
  expect_error(
      clseg_linear(test_ctx, x, wb, NULL, NULL, y), CLSEG_SHAPE_MISMATCH,
      "linear: weight of shape [5, 13, 1, 1] holds 65 values, not a whole number of rows of K = 12 "
      "(input [2, 3, 2, 2]");
  expect_error(clseg_linear(test_ctx, x, w, NULL, NULL, yb), CLSEG_SHAPE_MISMATCH,
               "linear: output has shape [2, 4, 1, 1], expected [2, 5, 1, 1]");
  expect_error(clseg_linear(test_ctx, x, w, b, NULL, y), CLSEG_SHAPE_MISMATCH,
               "linear: bias has 4 elements (shape [4, 1, 1, 1]), expected 5");
  expect_error(clseg_linear(test_ctx, NULL, w, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "linear: input is NULL");
  expect_error(clseg_linear(test_ctx, x, NULL, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "linear: weight is NULL");
  expect_error(clseg_linear(test_ctx, x, w, NULL, NULL, NULL), CLSEG_INVALID_ARGUMENT,
               "linear: output is NULL");
  clseg_activation bad_act = {(clseg_act_kind)42, 0, 0};
  expect_error(clseg_linear(test_ctx, x, w, NULL, &bad_act, y), CLSEG_INVALID_ARGUMENT,
               "linear: unknown activation kind 42");
  expect_error(
      clseg__linear_variant(test_ctx, x, w, NULL, NULL, y, "linear_winograd"),
      CLSEG_INVALID_ARGUMENT,
      "linear: unknown variant 'linear_winograd' (known: auto, linear_direct, linear_clblast)");
  assert_int_equal(clseg_linear(NULL, x, w, NULL, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "linear: context is NULL"));
  clseg_tensor_free(x);
  clseg_tensor_free(w);
  clseg_tensor_free(wb);
  clseg_tensor_free(y);
  clseg_tensor_free(yb);
  clseg_tensor_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_direct_sweep), cmocka_unit_test(test_direct_large),
      cmocka_unit_test(test_auto_sweep),   cmocka_unit_test(test_clblast),
      cmocka_unit_test(test_fixtures),     cmocka_unit_test(test_linear_errors),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
