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

/* ---- any rank (ranks 1 to 6, right-aligned broadcasting), POW / MAX / MIN, the unary ops ---- */
static const char *const nd_op_names[] = {"add", "sub", "mul", "div", "pow", "max", "min"};

static void dims_text(char *buf, size_t n, int rank, const int64_t *d) {
  buf[0] = 0;
  for (int i = 0; i < rank; i++)
    snprintf(buf + strlen(buf), n - strlen(buf), "%s%lld", i ? "," : "", (long long)d[i]);
}

/* Operands in the op's domain: divisors in [0.5, 2]; pow either any base in [-2, 2] with a whole
 * exponent in [-3, 3] (negative bases: the sign rule) or a base in [0.25, 2] with any exponent in
 * [-2, 2]. */
static void nd_operands(clseg_binary_op op, float *a, size_t na, float *b, size_t nb,
                        uint64_t seed) {
  check_fill_uniform(a, na, seed, -2.0f, 2.0f);
  check_fill_uniform(b, nb, seed ^ 0x5bd1e995u, -2.0f, 2.0f);
  if (op == CLSEG_BINARY_DIV)
    check_fill_uniform(b, nb, seed ^ 0x5bd1e995u, 0.5f, 2.0f);
  if (op == CLSEG_BINARY_POW && seed % 2) {
    check_fill_uniform(b, nb, seed ^ 0x5bd1e995u, -3.0f, 3.0f);
    for (size_t i = 0; i < nb; i++)
      b[i] = roundf(b[i]);
  } else if (op == CLSEG_BINARY_POW) {
    check_fill_uniform(a, na, seed, 0.25f, 2.0f);
  }
}

static bool nd_case(clseg_context *ctx, clseg_binary_op op, int ar, const int64_t *ad, int br,
                    const int64_t *bd, int yr, const int64_t *yd, uint64_t seed) {
  const size_t na = ref_nd_count(ar, ad), nb = ref_nd_count(br, bd), ny = ref_nd_count(yr, yd);
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *ref = malloc(ny * sizeof *ref);
  assert_true(a && b && ref);
  nd_operands(op, a, na, b, nb, seed);
  const clseg_activation act = {CLSEG_ACT_NONE, 0, 0};
  ref_binary_nd(op, a, ar, ad, b, br, bd, &act, ref, yr, yd);
  clseg_tensor *ta = test_tensor_nd(ctx, ar, ad, a), *tb = test_tensor_nd(ctx, br, bd, b),
               *ty = test_tensor_nd(ctx, yr, yd, NULL);
  char info[320], s1[64], s2[64], s3[64];
  dims_text(s1, sizeof s1, ar, ad);
  dims_text(s2, sizeof s2, br, bd);
  dims_text(s3, sizeof s3, yr, yd);
  snprintf(info, sizeof info, "binary op=%s a=[%s] b=[%s] y=[%s] seed=%llu", nd_op_names[op], s1,
           s2, s3, (unsigned long long)seed);
  if (clseg_binary(ctx, op, ta, tb, NULL, ty) != CLSEG_OK)
    fail_msg("%s: %s", info, clseg_last_error(ctx));
  float *y = test_download(ty);
  check_track_worst(&worst, y, ref, ny);
  const bool ok = check_close("y", y, ref, ny, NULL, NULL, info);
  free(a);
  free(b);
  free(ref);
  free(y);
  clseg_tensor_free(ta);
  clseg_tensor_free(tb);
  clseg_tensor_free(ty);
  return ok;
}

/* Every op on seeded shapes of ranks 1 to 6 (dims 1, 2, 3, 5, 17, 33), each operand of a random
 * lower or equal rank with random dims set to 1. */
static void sweep_any_rank(void **state) {
  clseg_context *ctx = *state;
  static const int64_t SIZES[] = {1, 2, 3, 5, 17, 33};
  check_rng r = {SEED + 99};
  int cases = 0, failures = 0;
  for (int op = 0; op <= CLSEG_BINARY_MIN; op++)
    for (int yr = 1; yr <= CLSEG_MAX_RANK; yr++)
      for (int k = 0; k < 4; k++) {
        int64_t yd[CLSEG_MAX_RANK], ad[CLSEG_MAX_RANK], bd[CLSEG_MAX_RANK];
        size_t n = 1;
        for (int d = 0; d < yr; d++) {
          yd[d] = SIZES[check_rng_next(&r) % 6];
          if (n * (size_t)yd[d] > 30000)
            yd[d] = 1;
          n *= (size_t)yd[d];
        }
        const int ar = 1 + (int)(check_rng_next(&r) % (uint64_t)yr);
        const int br = k == 0 ? yr : 1 + (int)(check_rng_next(&r) % (uint64_t)yr);
        for (int d = 0; d < ar; d++)
          ad[d] = check_rng_next(&r) % 3 ? yd[yr - ar + d] : 1;
        for (int d = 0; d < br; d++)
          bd[d] = k == 0 || check_rng_next(&r) % 3 ? yd[yr - br + d] : 1;
        if (k == 0) /* one case per rank with a of y's full shape: the operands fill y */
          for (int d = 0; d < yr; d++)
            ad[d] = yd[d];
        const int ar_used = k == 0 ? yr : ar;
        failures += !nd_case(ctx, (clseg_binary_op)op, ar_used, ad, br, bd, yr, yd,
                             SEED + 500 + (uint64_t)cases);
        cases++;
      }
  print_message("binary any-rank sweep: %d cases, %d failed, worst normalised error %.3g\n", cases,
                failures, worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* x^2 and x^3 of negative x keep C's sign rule; a non-whole power of a negative base is NaN. */
static void pow_sign_rule(void **state) {
  clseg_context *ctx = *state;
  const int64_t d[1] = {6}, one[1] = {1};
  const float a[6] = {-3.0f, -2.0f, -0.5f, 0.0f, 1.5f, -1.0f}, two[1] = {2.0f}, three[1] = {3.0f};
  const float half[1] = {0.5f};
  const float want2[6] = {9.0f, 4.0f, 0.25f, 0.0f, 2.25f, 1.0f};
  const float want3[6] = {-27.0f, -8.0f, -0.125f, 0.0f, 3.375f, -1.0f};
  clseg_tensor *ta = test_tensor_nd(ctx, 1, d, a), *ty = test_tensor_nd(ctx, 1, d, NULL);
  clseg_tensor *t2 = test_tensor_nd(ctx, 1, one, two), *t3 = test_tensor_nd(ctx, 1, one, three);
  clseg_tensor *th = test_tensor_nd(ctx, 1, one, half);
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_POW, ta, t2, NULL, ty), CLSEG_OK);
  float *y = test_download(ty);
  assert_true(check_close("x^2", y, want2, 6, NULL, NULL, "pow a=[-3,-2,-0.5,0,1.5,-1] b=2"));
  free(y);
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_POW, ta, t3, NULL, ty), CLSEG_OK);
  y = test_download(ty);
  assert_true(check_close("x^3", y, want3, 6, NULL, NULL, "pow a=[-3,-2,-0.5,0,1.5,-1] b=3"));
  free(y);
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_POW, ta, th, NULL, ty), CLSEG_OK);
  y = test_download(ty);
  assert_true(isnan(y[0]) && isnan(y[1]) && y[3] == 0.0f && fabsf(y[4] - sqrtf(1.5f)) < 1e-6f);
  free(y);
  clseg_tensor_free(ta);
  clseg_tensor_free(ty);
  clseg_tensor_free(t2);
  clseg_tensor_free(t3);
  clseg_tensor_free(th);
}

static void unary_ops(void **state) {
  clseg_context *ctx = *state;
  static const char *const names[] = {"erf", "sqrt", "exp", "log", "neg", "reciprocal", "abs"};
  static const int64_t shapes[][3] = {{1, 1, 1}, {3, 17, 1}, {2, 33, 65}, {1, 1, 1000}};
  int failures = 0;
  for (int op = 0; op < CLSEG_UNARY_COUNT; op++)
    for (int s = 0; s < 4; s++) {
      const int rank = 1 + (op + s) % 3; /* ranks 1 to 3 over the same dims */
      int64_t d[3] = {shapes[s][0], shapes[s][1], shapes[s][2]};
      if (rank == 1)
        d[0] = d[0] * d[1] * d[2];
      if (rank == 2)
        d[1] *= d[2];
      const size_t n = ref_nd_count(rank, d);
      const int positive =
          op == CLSEG_UNARY_SQRT || op == CLSEG_UNARY_LOG || op == CLSEG_UNARY_RECIPROCAL;
      const uint64_t seed = SEED + 900 + (uint64_t)(op * 4 + s);
      float *x = test_random(n, seed, positive ? 0.1f : -3.0f, 3.0f);
      float *ref = malloc(n * sizeof *ref);
      assert_non_null(ref);
      ref_unary((clseg_unary_op)op, x, n, ref);
      clseg_tensor *tx = test_tensor_nd(ctx, rank, d, x), *ty = test_tensor_nd(ctx, rank, d, NULL);
      assert_int_equal(clseg_unary(ctx, (clseg_unary_op)op, tx, ty), CLSEG_OK);
      float *y = test_download(ty);
      char info[160];
      snprintf(info, sizeof info, "unary %s rank %d count %zu seed %llu", names[op], rank, n,
               (unsigned long long)seed);
      failures += !check_close("y", y, ref, n, NULL, NULL, info);
      free(x);
      free(ref);
      free(y);
      clseg_tensor_free(tx);
      clseg_tensor_free(ty);
    }
  assert_int_equal(failures, 0);
}

static void any_rank_errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t d5[5] = {2, 1, 3, 4, 5}, d3[3] = {3, 4, 5}, d2[2] = {4, 6}, d3b[3] = {3, 4, 6};
  clseg_tensor *a = test_tensor_nd(ctx, 5, d5, NULL), *y = test_tensor_nd(ctx, 3, d3, NULL);
  clseg_tensor *b = test_tensor_nd(ctx, 2, d2, NULL), *z = test_tensor_nd(ctx, 3, d3b, NULL);
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_POW, a, y, NULL, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "binary pow: a of shape [2, 1, 3, 4, 5] and b of shape [3, 4, 5] do "
                            "not broadcast to the output's shape [3, 4, 5] (an operand has more "
                            "dims than the output)"));
  assert_int_equal(clseg_binary(ctx, CLSEG_BINARY_MAX, y, b, NULL, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "binary max: a of shape [3, 4, 5] and b of shape [4, 6] do not "
                            "broadcast to the output's shape [3, 4, 5] (dimension 2: each must "
                            "be 5 or 1)"));
  assert_int_equal(clseg_unary(ctx, CLSEG_UNARY_EXP, y, z), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "unary exp: output has shape [3, 4, 6], expected [3, 4, 5]"));
  assert_int_equal(clseg_unary(ctx, CLSEG_UNARY_COUNT, y, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "unary: unknown operation 7"));
  assert_int_equal(clseg_unary(ctx, CLSEG_UNARY_LOG, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "unary log: input is NULL"));
  clseg_tensor_free(a);
  clseg_tensor_free(b);
  clseg_tensor_free(y);
  clseg_tensor_free(z);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_ops_and_broadcasts),
      cmocka_unit_test(views_at_offsets),
      cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(errors_name_the_fault),
      cmocka_unit_test(sweep_any_rank),
      cmocka_unit_test(pow_sign_rule),
      cmocka_unit_test(unary_ops),
      cmocka_unit_test(any_rank_errors),
  };
  test_filter_from_env();
  return cmocka_run_group_tests_name("eltwise", tests, test_group_setup, test_group_teardown);
}
