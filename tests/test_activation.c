/* Tests of the standalone activation (lib/ops/activation.c, cl/activation.cl) against
 * ref_activation and the PyTorch fixtures: every kind with default and custom parameters, odd
 * sizes, views, in place, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "common/check.h"
#include "common/fixture.h"
#include "internal.h" /* for tensor views with an offset, which the public API cannot make */
#include "ref/ref.h"
#include "tuning.h" /* the user tuning file's path */

#define SEED 0xac71a7e5u

static const char *const act_names[] = {"none",       "relu",    "relu6",        "clip",
                                        "leaky_relu", "sigmoid", "hard_sigmoid", "hard_swish",
                                        "tanh",       "gelu"};

/* The largest |got - ref| / max(1, |ref|) seen, printed with each sweep's summary for the record.
 */
static double worst;

/* Runs one case on the device and against the reference; returns the check's verdict. */
static bool run_case(clseg_context *ctx, const int64_t s[4], const clseg_activation *act,
                     uint64_t seed) {
  const size_t n = ref_count(s);
  float *x = test_random(n, seed, -8.0f, 8.0f), *ref = malloc(n * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *tx = test_tensor(ctx, s, x), *ty = test_tensor(ctx, s, NULL);
  if (clseg_activation_apply(ctx, tx, act, ty) != CLSEG_OK)
    fail_msg("activation_apply: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_activation(x, s, act, ref);
  char info[256];
  snprintf(info, sizeof info,
           "activation_apply kind=%s alpha=%g beta=%g shape=[%lld,%lld,%lld,%lld] seed=%llu",
           act_names[act->kind], (double)act->alpha, (double)act->beta, (long long)s[0],
           (long long)s[1], (long long)s[2], (long long)s[3], (unsigned long long)seed);
  check_track_worst(&worst, y, ref, n);
  bool ok = check_close("y", y, ref, n, s, NULL, info);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* Every kind, with zero parameters (the defaults) and with custom ones, over odd sizes whose counts
 * fall on both sides of the 16-float vectors and of the per-work-item runs. */
static void sweep_every_kind(void **state) {
  clseg_context *ctx = *state;
  static const int64_t shapes[][4] = {{1, 1, 1, 1},  {2, 3, 1, 1},  {2, 1, 7, 9},   {2, 15, 17, 1},
                                      {2, 9, 3, 33}, {2, 33, 1, 1}, {1, 17, 15, 7}, {2, 7, 33, 17}};
  static const float params[][2] = {{0.0f, 0.0f}, {0.2f, 0.0f}, {-0.5f, 0.7f}, {0.25f, 0.4f}};
  int failures = 0, cases = 0;
  for (int kind = 0; kind < CLSEG_ACT_COUNT; kind++)
    for (size_t p = 0; p < sizeof params / sizeof *params; p++)
      for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const clseg_activation act = {(clseg_act_kind)kind, params[p][0], params[p][1]};
        if (kind == CLSEG_ACT_CLIP && act.alpha > act.beta)
          continue; /* an error, tested below */
        const uint64_t seed = SEED + (uint64_t)(kind * 100 + (int)p * 10 + (int)i);
        failures += !run_case(ctx, shapes[i], &act, seed);
        cases++;
      }
  print_message("activation sweep: %d cases, %d failed, worst normalised error %.3g\n", cases,
                failures, worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* ---- PRelu ---- */

static bool prelu_case(clseg_context *ctx, const int64_t s[4], int64_t ns, uint64_t seed) {
  const size_t n = ref_count(s);
  const int64_t ss[4] = {1, ns, 1, 1};
  float *x = test_random(n, seed, -8.0f, 8.0f), *a = test_random((size_t)ns, seed + 1, -1.5f, 1.5f);
  float *ref = malloc(n * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *tx = test_tensor(ctx, s, x), *ta = test_tensor(ctx, ss, a),
               *ty = test_tensor(ctx, s, NULL);
  if (clseg_prelu(ctx, tx, ta, ty) != CLSEG_OK)
    fail_msg("prelu: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_prelu(x, s, a, ns, ref);
  char info[256];
  snprintf(info, sizeof info, "activation_prelu slopes=%lld shape=[%lld,%lld,%lld,%lld] seed=%llu",
           (long long)ns, (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3],
           (unsigned long long)seed);
  check_track_worst(&worst, y, ref, n);
  bool ok = check_close("y", y, ref, n, s, NULL, info);
  free(x);
  free(a);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ta);
  clseg_tensor_free(ty);
  return ok;
}

/* One slope per channel and one for all, over the sweep's odd sizes: exact (one product). */
static void sweep_prelu(void **state) {
  static const int64_t shapes[][4] = {{1, 1, 1, 1},  {2, 3, 1, 1},  {2, 1, 7, 9},   {2, 15, 17, 1},
                                      {2, 9, 3, 33}, {2, 33, 1, 1}, {1, 17, 15, 7}, {2, 7, 33, 17}};
  int failures = 0, cases = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int per_channel = 0; per_channel < 2; per_channel++) {
      failures += !prelu_case(*state, shapes[i], per_channel ? shapes[i][1] : 1,
                              SEED + 5000 + (uint64_t)cases);
      cases++;
    }
  print_message("prelu sweep: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  assert_true(worst == 0.0);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

static void prelu_errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {1, 4, 2, 3}, as[4] = {1, 3, 1, 1}, bad[4] = {1, 4, 3, 2};
  clseg_tensor *x = test_tensor(ctx, xs, NULL), *a = test_tensor(ctx, as, NULL),
               *y = test_tensor(ctx, bad, NULL);
  assert_int_equal(clseg_prelu(ctx, x, a, x), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "prelu: input [1, 4, 2, 3] has 4 channels, but the slope has 3 "
                            "elements (shape [1, 3, 1, 1]): one, or one per channel"));
  assert_int_equal(clseg_prelu(ctx, x, NULL, x), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "prelu: slope is NULL"));
  assert_int_equal(clseg_prelu(ctx, a, a, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx), "prelu: output has shape [1, 4, 3, 2]"));
  assert_int_equal(clseg_prelu(NULL, x, a, y), CLSEG_INVALID_ARGUMENT);
  clseg_tensor_free(x);
  clseg_tensor_free(a);
  clseg_tensor_free(y);
}

/* A NULL activation is the identity, as CLSEG_ACT_NONE. */
static void null_activation_is_identity(void **state) {
  clseg_context *ctx = *state;
  const int64_t s[4] = {2, 3, 5, 7};
  float *x = test_random(ref_count(s), SEED, -1.0f, 1.0f);
  clseg_tensor *tx = test_tensor(ctx, s, x), *ty = test_tensor(ctx, s, NULL);
  assert_int_equal(clseg_activation_apply(ctx, tx, NULL, ty), CLSEG_OK);
  float *y = test_download(ty);
  assert_memory_equal(x, y, ref_count(s) * sizeof *x);
  free(x);
  free(y);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
}

/* In place (x == y), and on views at odd offsets into one buffer, which graph plans use. */
static void in_place_and_views(void **state) {
  clseg_context *ctx = *state;
  const int64_t s[4] = {2, 3, 7, 9}, whole[4] = {1, 1, 1, 1000};
  const size_t n = ref_count(s);
  float *x = test_random(n, SEED + 1, -4.0f, 4.0f), *ref = malloc(n * sizeof *ref);
  assert_non_null(ref);
  const clseg_activation act = {CLSEG_ACT_HARD_SWISH, 0, 0};
  ref_activation(x, s, &act, ref);
  clseg_tensor *t = test_tensor(ctx, s, x);
  assert_int_equal(clseg_activation_apply(ctx, t, &act, t), CLSEG_OK);
  float *y = test_download(t);
  assert_true(check_close("in place", y, ref, n, s, NULL, "hard_swish in place, seed SEED+1"));
  free(y);
  clseg_tensor *buf = test_tensor(ctx, whole, NULL);
  clseg_tensor vx = *buf, vy = *buf;
  memcpy(vx.shape, s, 4 * sizeof(int64_t));
  memcpy(vy.shape, s, 4 * sizeof(int64_t));
  vx.count = vy.count = n;
  vx.offset = 3;
  vy.offset = 3 + n + 5;
  vx.owns_buf = vy.owns_buf = 0;
  assert_int_equal(clseg_tensor_upload(&vx, x, n), CLSEG_OK);
  assert_int_equal(clseg_activation_apply(ctx, &vx, &act, &vy), CLSEG_OK);
  y = test_download(&vy);
  assert_true(
      check_close("views", y, ref, n, s, NULL, "hard_swish, x at offset 3, y at offset n+8"));
  free(y);
  free(x);
  free(ref);
  clseg_tensor_free(t);
  clseg_tensor_free(buf);
}

static void fixture_case(clseg_context *ctx, const char *name) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s.clsf", CLSEG_FIXTURE_DIR, name);
  fixture *f = fixture_load(path, err, sizeof err);
  if (!f)
    fail_msg("fixture %s: %s", name, err);
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  int64_t s[4];
  assert_true(x && y && fixture_shape4(x, s));
  clseg_activation act = {CLSEG_ACT_NONE, fixture_param_float(f, "act.alpha", 0.0f),
                          fixture_param_float(f, "act.beta", 0.0f)};
  const char *kind = fixture_param(f, "act.kind");
  for (int k = 0; kind && k < CLSEG_ACT_COUNT; k++)
    if (!strcmp(kind, act_names[k]))
      act.kind = (clseg_act_kind)k;
  assert_true(kind && !strcmp(kind, act_names[act.kind]));
  clseg_tensor *tx = test_tensor(ctx, s, x->data), *ty = test_tensor(ctx, s, NULL);
  assert_int_equal(clseg_activation_apply(ctx, tx, &act, ty), CLSEG_OK);
  float *got = test_download(ty);
  assert_true(check_close(name, got, y->data, y->count, s, NULL, fixture_params_text(f)));
  free(got);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  fixture_free(f);
}

static void pytorch_fixtures(void **state) {
  static const char *const names[] = {"activation_relu",
                                      "activation_relu6",
                                      "activation_clip_custom",
                                      "activation_leaky_relu",
                                      "activation_leaky_relu_custom",
                                      "activation_sigmoid",
                                      "activation_hard_sigmoid",
                                      "activation_hard_sigmoid_custom",
                                      "activation_hard_swish",
                                      "activation_tanh",
                                      "activation_gelu"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    fixture_case(*state, names[i]);
}

static void errors_name_the_fault(void **state) {
  clseg_context *ctx = *state;
  const int64_t s[4] = {2, 3, 5, 7}, other[4] = {2, 3, 7, 5};
  clseg_tensor *x = test_tensor(ctx, s, NULL), *y = test_tensor(ctx, s, NULL),
               *z = test_tensor(ctx, other, NULL);
  clseg_activation act = {(clseg_act_kind)42, 0, 0};
  assert_int_equal(clseg_activation_apply(ctx, x, &act, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "activation: unknown activation kind 42"));
  act = (clseg_activation){CLSEG_ACT_CLIP, 2.0f, 1.0f};
  assert_int_equal(clseg_activation_apply(ctx, x, &act, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "clip activation min 2 is above max 1"));
  assert_int_equal(clseg_activation_apply(ctx, x, NULL, z), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "activation: output has shape [2, 3, 7, 5], expected [2, 3, 5, 7]"));
  assert_int_equal(clseg_activation_apply(ctx, NULL, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "activation: input is NULL"));
  assert_int_equal(clseg_activation_apply(ctx, x, NULL, NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "activation: output is NULL"));
  assert_int_equal(clseg_activation_apply(NULL, x, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "activation: NULL context"));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_tensor_free(z);
}

/* The variables context_with_user_row changes, and their values before it. */
static const char *const ENV_NAMES[] = {"CLSEG_CACHE_DIR", "CLSEG_AS_DEVICE", "CLSEG_TUNING"};
static char env_saved[3][512];
static int env_was_set[3];

/* Writes `row` as the device's user tuning file (clseg tune's format) in dir and returns a context
 * that reads it. Profiles read no user file, so CLSEG_AS_DEVICE is unset until restore_env. */
static clseg_context *context_with_user_row(const char *dir, const char *row) {
  for (int i = 0; i < 3; i++) {
    const char *v = getenv(ENV_NAMES[i]);
    env_was_set[i] = v != NULL;
    snprintf(env_saved[i], sizeof env_saved[i], "%s", v ? v : "");
  }
  setenv("CLSEG_CACHE_DIR", dir, 1);
  unsetenv("CLSEG_AS_DEVICE");
  unsetenv("CLSEG_TUNING");
  char path[1200];
  clseg_context *ctx = test_context();
  assert_true(clseg__tuning_file_path(ctx, path, sizeof path));
  clseg_context_free(ctx);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "# test_activation\n%s\n", row);
  fclose(f);
  return test_context();
}

static void restore_env(void) {
  for (int i = 0; i < 3; i++)
    if (env_was_set[i])
      setenv(ENV_NAMES[i], env_saved[i], 1);
    else
      unsetenv(ENV_NAMES[i]);
}

/* The GPU form (activation_apply_gpu), chosen by a row's GPU=1 (here a user row, so that the
 * plain suite runs it too) with a work-group of 64: counts below, at and above multiples of it, in
 * place and views at odd offsets. A GPU cell other than 0 or 1 is an error naming the row. */
static void gpu_form_from_a_user_row(void **state) {
  (void)state;
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  clseg_context *ctx = context_with_user_row(dir, "activation_apply\t*\tLOCAL=64\tGPU=1");
  static const int64_t shapes[][4] = {{1, 1, 1, 1},  {1, 1, 7, 9},  {1, 1, 8, 8},
                                      {1, 1, 5, 13}, {2, 9, 3, 33}, {2, 7, 33, 17}};
  static const clseg_act_kind kinds[] = {CLSEG_ACT_NONE, CLSEG_ACT_RELU, CLSEG_ACT_SIGMOID,
                                         CLSEG_ACT_GELU};
  int failures = 0;
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
      const clseg_activation act = {kinds[k], 0.0f, 0.0f};
      failures += !run_case(ctx, shapes[i], &act, SEED + 7000 + (uint64_t)(k * 10 + i));
    }
  assert_int_equal(failures, 0);
  void *st = ctx;
  in_place_and_views(&st);
  clseg_context_free(ctx);
  restore_env();
  ctx = context_with_user_row(dir, "activation_apply\t*\tGPU=2");
  const int64_t s[4] = {1, 1, 3, 5};
  clseg_tensor *x = test_tensor(ctx, s, NULL), *y = test_tensor(ctx, s, NULL);
  assert_int_equal(clseg_activation_apply(ctx, x, NULL, y), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(ctx), "GPU=2 of activation_apply"));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_context_free(ctx);
  restore_env();
  test_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_prelu),           cmocka_unit_test(prelu_errors),
      cmocka_unit_test(sweep_every_kind),      cmocka_unit_test(null_activation_is_identity),
      cmocka_unit_test(in_place_and_views),    cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(errors_name_the_fault), cmocka_unit_test(gpu_form_from_a_user_row),
  };
  return cmocka_run_group_tests_name("activation", tests, test_group_setup, test_group_teardown);
}
