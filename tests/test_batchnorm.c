/* Tests of inference batchnorm (lib/ops/batchnorm.c, cl/batchnorm.cl) against ref_batchnorm and the
 * PyTorch fixtures: odd sizes, eps default and custom, every fused activation, parameter views,
 * errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "common/check.h"
#include "common/fixture.h"
#include "internal.h" /* for tensor views with an offset, which the public API cannot make */
#include "ref/ref.h"

#define SEED 0xba7c4e0bu

static const char *const act_names[] = {"none",       "relu",    "relu6",        "clip",
                                        "leaky_relu", "sigmoid", "hard_sigmoid", "hard_swish",
                                        "tanh",       "gelu"};

/* The largest |got - ref| / max(1, |ref|) seen, printed with each sweep's summary for the record.
 */
static double worst;

/* The four parameters live in one buffer as views at odd offsets (gamma, beta, mean, var), as a
 * model's weights do once loaded; p receives the host values. */
static clseg_tensor *params_buffer(clseg_context *ctx, int64_t c, uint64_t seed, float *p[4],
                                   clseg_tensor v[4]) {
  const int64_t whole[4] = {1, 1, 1, 4 * c + 7};
  static const float lo[4] = {0.5f, -0.5f, -0.5f, 0.5f}, hi[4] = {1.5f, 0.5f, 0.5f, 1.5f};
  clseg_tensor *buf = test_tensor(ctx, whole, NULL);
  for (int i = 0; i < 4; i++) {
    p[i] = test_random((size_t)c, seed + 1 + (uint64_t)i, lo[i], hi[i]);
    v[i] = *buf;
    v[i].shape[0] = v[i].shape[1] = v[i].shape[2] = 1;
    v[i].shape[3] = c;
    v[i].count = (size_t)c;
    v[i].offset = (size_t)(1 + i * (c + 2));
    v[i].owns_buf = 0;
    assert_int_equal(clseg_tensor_upload(&v[i], p[i], (size_t)c), CLSEG_OK);
  }
  return buf;
}

static bool run_case(clseg_context *ctx, const int64_t s[4], float eps, const clseg_activation *act,
                     uint64_t seed) {
  const size_t n = ref_count(s);
  float *x = test_random(n, seed, -3.0f, 3.0f), *ref = malloc(n * sizeof *ref), *p[4];
  assert_non_null(ref);
  clseg_tensor v[4], *buf = params_buffer(ctx, s[1], seed, p, v);
  clseg_tensor *tx = test_tensor(ctx, s, x), *ty = test_tensor(ctx, s, NULL);
  if (clseg_batchnorm(ctx, tx, &v[0], &v[1], &v[2], &v[3], eps, act, ty) != CLSEG_OK)
    fail_msg("batchnorm: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_batchnorm(x, s, p[0], p[1], p[2], p[3], eps, act, ref);
  char info[256];
  snprintf(info, sizeof info,
           "batchnorm shape=[%lld,%lld,%lld,%lld] eps=%g act=%s alpha=%g beta=%g seed=%llu",
           (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3], (double)eps,
           act_names[act->kind], (double)act->alpha, (double)act->beta, (unsigned long long)seed);
  check_track_worst(&worst, y, ref, n);
  bool ok = check_close("y", y, ref, n, s, NULL, info);
  for (int i = 0; i < 4; i++)
    free(p[i]);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  clseg_tensor_free(buf);
  return ok;
}

static void sweep_shapes_eps_activations(void **state) {
  clseg_context *ctx = *state;
  static const int64_t shapes[][4] = {{1, 1, 1, 1},   {2, 3, 1, 1},   {2, 33, 1, 1},
                                      {2, 1, 7, 9},   {2, 15, 17, 1}, {2, 9, 3, 33},
                                      {2, 7, 33, 17}, {1, 17, 15, 9}};
  static const float eps_list[] = {0.0f, 1e-3f};
  int cases = 0, failures = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (size_t e = 0; e < 2; e++)
      for (int kind = 0; kind < CLSEG_ACT_COUNT; kind++) {
        const clseg_activation act = {(clseg_act_kind)kind, e ? -0.3f : 0.0f, e ? 0.6f : 0.0f};
        failures += !run_case(ctx, shapes[i], eps_list[e], &act, SEED + (uint64_t)cases);
        cases++;
      }
  print_message("batchnorm sweep: %d cases, %d failed, worst normalised error %.3g\n", cases,
                failures, worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

static void fixture_case(clseg_context *ctx, const char *name) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s.clsf", CLSEG_FIXTURE_DIR, name);
  fixture *f = fixture_load(path, err, sizeof err);
  if (!f)
    fail_msg("fixture %s: %s", name, err);
  static const char *const pn[4] = {"gamma", "beta", "mean", "var"};
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  int64_t s[4], ps[4];
  assert_true(x && y && fixture_shape4(x, s));
  clseg_tensor *t[4];
  for (int i = 0; i < 4; i++) {
    const fixture_array *a = fixture_get(f, pn[i]);
    assert_true(a && fixture_shape4(a, ps));
    t[i] = test_tensor(ctx, ps, a->data);
  }
  clseg_activation act = {CLSEG_ACT_NONE, 0, 0};
  const char *kind = fixture_param(f, "act.kind");
  for (int k = 0; kind && k < CLSEG_ACT_COUNT; k++)
    if (!strcmp(kind, act_names[k]))
      act.kind = (clseg_act_kind)k;
  assert_true(kind && !strcmp(kind, act_names[act.kind]));
  clseg_tensor *tx = test_tensor(ctx, s, x->data), *ty = test_tensor(ctx, s, NULL);
  assert_int_equal(clseg_batchnorm(ctx, tx, t[0], t[1], t[2], t[3],
                                   fixture_param_float(f, "eps", 0.0f), &act, ty),
                   CLSEG_OK);
  float *got = test_download(ty);
  assert_true(check_close(name, got, y->data, y->count, s, NULL, fixture_params_text(f)));
  free(got);
  for (int i = 0; i < 4; i++)
    clseg_tensor_free(t[i]);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  fixture_free(f);
}

static void pytorch_fixtures(void **state) {
  fixture_case(*state, "batchnorm_default");
  fixture_case(*state, "batchnorm_eps_relu");
}

static void errors_name_the_fault(void **state) {
  clseg_context *ctx = *state;
  const int64_t s[4] = {2, 3, 5, 7}, c3[4] = {1, 3, 1, 1}, c4[4] = {4, 1, 1, 1},
                other[4] = {2, 3, 5, 5};
  clseg_tensor *x = test_tensor(ctx, s, NULL), *y = test_tensor(ctx, s, NULL),
               *p = test_tensor(ctx, c3, NULL), *q = test_tensor(ctx, c4, NULL);
  clseg_tensor *z = test_tensor(ctx, other, NULL);
  assert_int_equal(clseg_batchnorm(ctx, x, p, p, q, p, 0.0f, NULL, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx), "batchnorm: input [2, 3, 5, 7] has 3 channels, "
                                                   "but mean has 4 elements (shape [4, 1, 1, 1])"));
  assert_int_equal(clseg_batchnorm(ctx, x, p, NULL, p, p, 0.0f, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "batchnorm: beta is NULL"));
  assert_int_equal(clseg_batchnorm(ctx, NULL, p, p, p, p, 0.0f, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "batchnorm: input is NULL"));
  assert_int_equal(clseg_batchnorm(ctx, x, p, p, p, p, 0.0f, NULL, z), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "batchnorm: output has shape [2, 3, 5, 5], expected [2, 3, 5, 7]"));
  assert_int_equal(clseg_batchnorm(ctx, x, p, p, p, p, -1.0f, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "batchnorm: eps -1 is negative"));
  const clseg_activation act = {(clseg_act_kind)-1, 0, 0};
  assert_int_equal(clseg_batchnorm(ctx, x, p, p, p, p, 0.0f, &act, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "batchnorm: unknown activation kind -1"));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_tensor_free(p);
  clseg_tensor_free(q);
  clseg_tensor_free(z);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_shapes_eps_activations),
      cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(errors_name_the_fault),
  };
  return cmocka_run_group_tests_name("batchnorm", tests, test_group_setup, test_group_teardown);
}
