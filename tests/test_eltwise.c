/* Tests of the broadcasting binary ops (lib/ops/eltwise.c, cl/eltwise.cl) against ref_binary and
 * the PyTorch fixtures: every op, every broadcast pattern, odd sizes, fused activations, views,
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

#define SEED 0xe17e15eu

static const char *const op_names[] = {"add", "sub", "mul", "div"};
static const char *const act_names[] = {"none",       "relu",    "relu6",        "clip",
                                        "leaky_relu", "sigmoid", "hard_sigmoid", "hard_swish",
                                        "tanh",       "gelu"};

/* The largest |got - ref| / max(1, |ref|) seen, printed with each sweep's summary for the record.
 */
static double worst;

/* Divisors stay in [0.5, 2] so that the relative tolerance means the same for every op. */
static float *rnd(size_t n, uint64_t seed, clseg_binary_op op, int divisor) {
  return divisor && op == CLSEG_BINARY_DIV ? test_random(n, seed, 0.5f, 2.0f)
                                           : test_random(n, seed, -2.0f, 2.0f);
}

static const char *shape_text(const int64_t s[4], char *buf) {
  sprintf(buf, "[%lld,%lld,%lld,%lld]", (long long)s[0], (long long)s[1], (long long)s[2],
          (long long)s[3]);
  return buf;
}

static bool run_case(clseg_context *ctx, clseg_binary_op op, const int64_t as[4],
                     const int64_t bs[4], const int64_t ys[4], const clseg_activation *act,
                     uint64_t seed) {
  float *a = rnd(ref_count(as), seed, op, 0), *b = rnd(ref_count(bs), seed ^ 0x5bd1e995u, op, 1);
  float *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *ta = test_tensor(ctx, as, a), *tb = test_tensor(ctx, bs, b),
               *ty = test_tensor(ctx, ys, NULL);
  if (clseg_binary(ctx, op, ta, tb, act, ty) != CLSEG_OK)
    fail_msg("binary: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  assert_int_equal(ref_binary(op, a, as, b, bs, act, ref, ys), 0);
  char info[320], s1[64], s2[64], s3[64];
  snprintf(info, sizeof info, "binary op=%s a=%s b=%s y=%s act=%s alpha=%g beta=%g seed=%llu",
           op_names[op], shape_text(as, s1), shape_text(bs, s2), shape_text(ys, s3),
           act_names[act->kind], (double)act->alpha, (double)act->beta, (unsigned long long)seed);
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, NULL, info);
  free(a);
  free(b);
  free(y);
  free(ref);
  clseg_tensor_free(ta);
  clseg_tensor_free(tb);
  clseg_tensor_free(ty);
  return ok;
}

/* Broadcast patterns as masks over N, C, H, W: 1 keeps y's size, 0 makes it 1. {a, b}. */
static const int patterns[][2][4] = {
    {{1, 1, 1, 1}, {1, 1, 1, 1}}, /* same shapes */
    {{1, 1, 1, 1}, {1, 1, 0, 0}}, /* N x C x 1 x 1 (per-image channel scale, SE) */
    {{1, 1, 1, 1}, {1, 0, 1, 1}}, /* N x 1 x H x W (spatial gate) */
    {{1, 1, 1, 1}, {0, 1, 0, 0}}, /* 1 x C x 1 x 1 (bias) */
    {{1, 1, 1, 1}, {0, 0, 0, 0}}, /* scalar */
    {{0, 1, 0, 0}, {1, 1, 1, 1}}, /* the broadcast on the a side */
    {{1, 0, 1, 1}, {1, 1, 0, 0}}, /* both broadcast, to a shape neither has */
    {{0, 0, 0, 0}, {1, 1, 1, 1}}, /* scalar a */
    {{1, 1, 1, 0}, {1, 1, 0, 1}}, /* rows against columns */
    {{0, 1, 0, 0}, {0, 1, 0, 0}}, /* y larger than both */
};

static void sweep_ops_and_broadcasts(void **state) {
  clseg_context *ctx = *state;
  static const int64_t ys_list[][4] = {{2, 1, 1, 1},   {2, 3, 1, 1},   {2, 33, 1, 1},
                                       {2, 3, 7, 9},   {2, 15, 17, 1}, {2, 9, 1, 33},
                                       {2, 7, 33, 17}, {1, 17, 15, 3}};
  const size_t npat = sizeof patterns / sizeof *patterns, nys = sizeof ys_list / sizeof *ys_list;
  int cases = 0, failures = 0;
  for (int op = 0; op < 4; op++)
    for (size_t p = 0; p < npat; p++)
      for (size_t i = 0; i < nys; i++) {
        int64_t as[4], bs[4];
        for (int d = 0; d < 4; d++) {
          as[d] = patterns[p][0][d] ? ys_list[i][d] : 1;
          bs[d] = patterns[p][1][d] ? ys_list[i][d] : 1;
        }
        /* every activation kind comes round, custom parameters on every other case */
        const int kind = cases % CLSEG_ACT_COUNT, custom = (cases / CLSEG_ACT_COUNT) % 2;
        clseg_activation act = {(clseg_act_kind)kind, custom ? 0.2f : 0.0f, custom ? 0.3f : 0.0f};
        const uint64_t seed = SEED + (uint64_t)cases;
        failures += !run_case(ctx, (clseg_binary_op)op, as, bs, ys_list[i], &act, seed);
        cases++;
      }
  print_message("binary sweep: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* Operands and output as views at odd offsets into one buffer, with a broadcast b. */
static void views_at_offsets(void **state) {
  clseg_context *ctx = *state;
  const int64_t as[4] = {2, 3, 9, 17}, bs[4] = {1, 3, 1, 1}, whole[4] = {1, 1, 1, 2000};
  const size_t n = ref_count(as);
  float *a = rnd(n, SEED + 7, CLSEG_BINARY_MUL, 0), *b = rnd(3, SEED + 8, CLSEG_BINARY_MUL, 1);
  float *ref = malloc(n * sizeof *ref);
  assert_non_null(ref);
  const clseg_activation act = {CLSEG_ACT_RELU, 0, 0};
  ref_binary(CLSEG_BINARY_MUL, a, as, b, bs, &act, ref, as);
  clseg_tensor *buf = test_tensor(ctx, whole, NULL);
  clseg_tensor va = *buf, vb = *buf, vy = *buf;
  memcpy(va.shape, as, 4 * sizeof(int64_t));
  memcpy(vy.shape, as, 4 * sizeof(int64_t));
  memcpy(vb.shape, bs, 4 * sizeof(int64_t));
  va.count = vy.count = n;
  vb.count = 3;
  va.offset = 1;
  vb.offset = 1 + n;
  vy.offset = 1 + n + 3 + 2;
  va.owns_buf = vb.owns_buf = vy.owns_buf = 0;
  assert_int_equal(clseg_tensor_upload(&va, a, n), CLSEG_OK);
  assert_int_equal(clseg_tensor_upload(&vb, b, 3), CLSEG_OK);
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_MUL, &va, &vb, &act, &vy), CLSEG_OK);
  float *y = test_download(&vy);
  assert_true(check_close("views", y, ref, n, as, NULL, "mul relu a@1 b@n+1 y@n+6 seed SEED+7/8"));
  free(a);
  free(b);
  free(y);
  free(ref);
  clseg_tensor_free(buf);
}

static void fixture_case(clseg_context *ctx, const char *name) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s.clsf", CLSEG_FIXTURE_DIR, name);
  fixture *f = fixture_load(path, err, sizeof err);
  if (!f)
    fail_msg("fixture %s: %s", name, err);
  const fixture_array *a = fixture_get(f, "a"), *b = fixture_get(f, "b"), *y = fixture_get(f, "y");
  int64_t as[4], bs[4], ys[4];
  assert_true(a && b && y && fixture_shape4(a, as) && fixture_shape4(b, bs) &&
              fixture_shape4(y, ys));
  clseg_activation act = {CLSEG_ACT_NONE, fixture_param_float(f, "act.alpha", 0.0f),
                          fixture_param_float(f, "act.beta", 0.0f)};
  const char *kind = fixture_param(f, "act.kind"), *opn = fixture_param(f, "binary_op");
  int op = -1;
  for (int k = 0; kind && k < CLSEG_ACT_COUNT; k++)
    if (!strcmp(kind, act_names[k]))
      act.kind = (clseg_act_kind)k;
  for (int k = 0; opn && k < 4; k++)
    if (!strcmp(opn, op_names[k]))
      op = k;
  assert_true(kind && !strcmp(kind, act_names[act.kind]) && op >= 0);
  clseg_tensor *ta = test_tensor(ctx, as, a->data), *tb = test_tensor(ctx, bs, b->data),
               *ty = test_tensor(ctx, ys, NULL);
  assert_int_equal(clseg_binary(ctx, (clseg_binary_op)op, ta, tb, &act, ty), CLSEG_OK);
  float *got = test_download(ty);
  assert_true(check_close(name, got, y->data, y->count, ys, NULL, fixture_params_text(f)));
  free(got);
  clseg_tensor_free(ta);
  clseg_tensor_free(tb);
  clseg_tensor_free(ty);
  fixture_free(f);
}

static void pytorch_fixtures(void **state) {
  static const char *const names[] = {"binary_add_same",       "binary_sub_bcast_nc11",
                                      "binary_mul_bcast_n1hw", "binary_div_bcast_1c11",
                                      "binary_add_both_bcast", "binary_mul_sigmoid",
                                      "binary_sub_a_bcast"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    fixture_case(*state, names[i]);
}

static void errors_name_the_fault(void **state) {
  clseg_context *ctx = *state;
  const int64_t s[4] = {2, 3, 5, 7}, bad[4] = {2, 2, 5, 7}, col[4] = {1, 3, 5, 1};
  clseg_tensor *a = test_tensor(ctx, s, NULL), *b = test_tensor(ctx, bad, NULL),
               *y = test_tensor(ctx, s, NULL), *c = test_tensor(ctx, col, NULL);
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_ADD, a, b, NULL, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "binary add: a of shape [2, 3, 5, 7] and b of shape "
                            "[2, 2, 5, 7] do not broadcast to the output's shape "
                            "[2, 3, 5, 7] (dimension 1: each must be 3 or 1)"));
  /* y may not be smaller than an operand: [2, 3, 5, 7] into [1, 3, 5, 1] */
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_MUL, a, c, NULL, c), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "binary mul: a of shape [2, 3, 5, 7] and b of shape [1, 3, 5, 1]"));
  clseg_activation act = {CLSEG_ACT_COUNT, 0, 0};
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_SUB, a, c, &act, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "binary sub: unknown activation kind 10"));
  assert_int_equal(clseg_binary(ctx, (clseg_binary_op)9, a, c, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "binary: unknown operation 9"));
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_DIV, NULL, c, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "binary div: a is NULL"));
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_DIV, a, NULL, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "binary div: b is NULL"));
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_DIV, a, c, NULL, NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "binary div: output is NULL"));
  clseg_tensor_free(a);
  clseg_tensor_free(b);
  clseg_tensor_free(c);
  clseg_tensor_free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_ops_and_broadcasts),
      cmocka_unit_test(views_at_offsets),
      cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(errors_name_the_fault),
  };
  return cmocka_run_group_tests_name("eltwise", tests, test_group_setup, test_group_teardown);
}
