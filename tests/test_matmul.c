/* Tests of clseg_matmul (lib/ops/matmul.c, cl/matmul.cl): each variant forced on its own and "auto"
 * (which the profile runs of meson turn into the GPU form) on seeded odd shapes, ranks 2 to 6 with
 * broadcast batch dims, both transposes, alpha and bias, against the naive reference; and every
 * error path. Tolerance: |got - ref| <= TOL_REL * sum_k |alpha a b| + |bias| (+ TOL_ABS), the
 * scale of fp32 rounding in a K-term sum; a kernel that drops or repeats one term of K <= 4096
 * exceeds it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_ops.h"
#include "common/check.h"
#include "ops/matmul.h"
#include "ref/ref.h"
#include "support.h"

#define SEED    20261203u
#define TOL_REL 1e-5
#define TOL_ABS 1e-6

/* One call: a and b dims (rank entries), transposes, alpha, bias. */
typedef struct {
  int ar, br;
  int64_t ad[CLSEG_MAX_RANK], bd[CLSEG_MAX_RANK];
  int trans_a, trans_b, bias;
  float alpha;
} mm_case;

static void describe(char *buf, size_t n, const mm_case *c, const char *variant, uint64_t seed) {
  char as[96] = "", bs[96] = "";
  for (int d = 0; d < c->ar; d++)
    snprintf(as + strlen(as), sizeof as - strlen(as), "%s%lld", d ? "," : "", (long long)c->ad[d]);
  for (int d = 0; d < c->br; d++)
    snprintf(bs + strlen(bs), sizeof bs - strlen(bs), "%s%lld", d ? "," : "", (long long)c->bd[d]);
  snprintf(buf, n, "matmul %s a [%s] b [%s] trans_a %d trans_b %d alpha %g bias %d seed %llu",
           variant, as, bs, c->trans_a, c->trans_b, (double)c->alpha, c->bias,
           (unsigned long long)seed);
}

/* Worst |got - ref| / (TOL_REL absum + TOL_ABS) over n: passes below 1. */
static bool mm_compare(const float *got, const float *ref, const float *absum, size_t n,
                       const char *ctxt) {
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs((double)got[i] - ref[i]) / (TOL_REL * absum[i] + TOL_ABS);
    if (!(e <= worst)) { /* NaN counts as worst */
      worst = isnan(e) ? INFINITY : e;
      at = i;
    }
  }
  if (worst <= 1.0)
    return true;
  fprintf(stderr, "%s: element %zu got %.9g, reference %.9g (sum |a b| %.6g): %.3g x tolerance\n",
          ctxt, at, (double)got[at], (double)ref[at], (double)absum[at], worst);
  return false;
}

static bool mm_run(const mm_case *c, const char *variant, uint64_t seed) {
  char ctxt[512];
  describe(ctxt, sizeof ctxt, c, variant, seed);
  const clseg_matmul_params p = {c->trans_a, c->trans_b, c->alpha};
  clseg_tensor *ta = NULL, *tb = NULL, *tbias = NULL, *ty = NULL;
  float *a = test_random(ref_nd_count(c->ar, c->ad), seed, -1.0f, 1.0f);
  float *b = test_random(ref_nd_count(c->br, c->bd), seed + 1, -1.0f, 1.0f);
  ta = test_tensor_nd(test_ctx, c->ar, c->ad, a);
  tb = test_tensor_nd(test_ctx, c->br, c->bd, b);
  int64_t yd[CLSEG_MAX_RANK];
  int yr;
  if (clseg_matmul_shape(ta, tb, &p, yd, &yr) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(NULL));
  const int64_t n = yd[yr - 1];
  float *bias = c->bias ? test_random((size_t)n, seed + 2, -1.0f, 1.0f) : NULL;
  if (bias)
    tbias = test_tensor_nd(test_ctx, 1, &n, bias);
  ty = test_tensor_nd(test_ctx, yr, yd, NULL);
  const size_t count = ref_nd_count(yr, yd);
  float *ref = malloc(count * sizeof *ref), *absum = malloc(count * sizeof *absum);
  assert_true(ref && absum);
  ref_matmul(a, c->ar, c->ad, b, c->br, c->bd, &p, bias, ref, absum, yr, yd);
  if (clseg__matmul_variant(test_ctx, ta, tb, tbias, &p, ty, variant) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  float *y = test_download(ty);
  const bool ok = mm_compare(y, ref, absum, count, ctxt);
  free(a);
  free(b);
  free(bias);
  free(ref);
  free(absum);
  free(y);
  clseg_tensor_free(ta);
  clseg_tensor_free(tb);
  clseg_tensor_free(tbias);
  clseg_tensor_free(ty);
  return ok;
}

/* Fills c's matrix dims (the last two of a and b) for M, N, K and its transposes. */
static void set_mnk(mm_case *c, int64_t m, int64_t n, int64_t k) {
  c->ad[c->ar - 2] = c->trans_a ? k : m;
  c->ad[c->ar - 1] = c->trans_a ? m : k;
  c->bd[c->br - 2] = c->trans_b ? n : k;
  c->bd[c->br - 1] = c->trans_b ? k : n;
}

/* Batch shapes (leading dims of a and b, right-aligned): none, equal, a's broadcast against b's,
 * b of lower rank, both broadcasting at rank 6. */
static const struct {
  int na, nb;
  int64_t a[4], b[4];
} BATCHES[] = {
    {0, 0, {0}, {0}},    {1, 1, {3}, {3}},       {2, 2, {2, 1}, {1, 3}},
    {2, 0, {3, 2}, {0}}, {1, 3, {2}, {3, 1, 1}}, {4, 4, {2, 1, 3, 1}, {1, 2, 1, 2}},
};
#define N_BATCHES ((int)(sizeof BATCHES / sizeof *BATCHES))

/* Every batch shape x odd M, N, K x the transposes the variant runs; alpha and bias on every
 * other case. */
static int sweep(const char *variant, int min_ta, int max_ta, int min_tb, int max_tb) {
  static const int64_t SIZES[][3] = {{1, 1, 1},   {3, 17, 5},   {17, 33, 65}, {33, 65, 3},
                                     {65, 1, 33}, {7, 129, 17}, {13, 70, 40}};
  int cases = 0, failures = 0;
  for (int bi = 0; bi < N_BATCHES; bi++)
    for (size_t si = 0; si < sizeof SIZES / sizeof *SIZES; si++)
      for (int ta = min_ta; ta <= max_ta; ta++)
        for (int tb = min_tb; tb <= max_tb; tb++) {
          mm_case c = {.ar = BATCHES[bi].na + 2,
                       .br = BATCHES[bi].nb + 2,
                       .trans_a = ta,
                       .trans_b = tb,
                       .bias = cases % 2,
                       .alpha = cases % 3 ? 0.0f : -0.5f};
          memcpy(c.ad, BATCHES[bi].a, sizeof BATCHES[bi].a);
          memcpy(c.bd, BATCHES[bi].b, sizeof BATCHES[bi].b);
          set_mnk(&c, SIZES[si][0], SIZES[si][1], SIZES[si][2]);
          failures += !mm_run(&c, variant, SEED + (uint64_t)cases);
          cases++;
        }
  print_message("%s sweep: %d cases, %d failed\n", variant, cases, failures);
  return failures;
}

static void tile_sweep(void **state) {
  (void)state;
  assert_int_equal(sweep("matmul_tile", 0, 1, 0, 1), 0);
}
static void dot_sweep(void **state) {
  (void)state;
  assert_int_equal(sweep("matmul_dot", 0, 0, 1, 1), 0);
}
static void gpu_sweep(void **state) {
  (void)state;
  assert_int_equal(sweep("matmul_gpu", 0, 1, 0, 1), 0);
}
static void auto_sweep(void **state) {
  (void)state;
  assert_int_equal(sweep("auto", 0, 1, 0, 1), 0);
}

/* Attention-shaped calls at reduced size (whole tiles, K of 64 to 512, batch 2). */
static void attention_shapes(const char *variant) {
  const mm_case cases[] = {
      {3, 3, {2, 256, 64}, {2, 64, 256}, 0, 0, 0, 0.0f},         /* DANet position energy */
      {3, 3, {2, 64, 256}, {2, 128, 256}, 0, 1, 0, 0.0f},        /* value x attention^T */
      {4, 4, {1, 1, 512, 32}, {1, 1, 32, 256}, 0, 0, 1, 0.125f}, /* SegFormer */
      {3, 3, {2, 64, 512}, {2, 512, 64}, 0, 0, 0, 0.0f},         /* channel attention */
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (!strcmp(variant, "matmul_dot") && !cases[i].trans_b)
      continue;
    failures += !mm_run(&cases[i], variant, SEED + 1000 + i);
  }
  assert_int_equal(failures, 0);
}
static void tile_attention(void **state) {
  (void)state;
  attention_shapes("matmul_tile");
}
static void dot_attention(void **state) {
  (void)state;
  attention_shapes("matmul_dot");
}
static void gpu_attention(void **state) {
  (void)state;
  attention_shapes("matmul_gpu");
}
static void auto_attention(void **state) {
  (void)state;
  attention_shapes("auto");
}

/* A few small odd shapes through every variant and transpose it runs, with broadcast batch dims:
 * the cases tools/oclgrind.sh runs (filter small_*), where a full sweep would take too long. */
static void small_variants(void **state) {
  (void)state;
  static const char *const variants[] = {"matmul_tile", "matmul_dot", "matmul_gpu"};
  int failures = 0, cases = 0;
  for (int v = 0; v < 3; v++)
    for (int ta = 0; ta <= 1; ta++)
      for (int tb = 0; tb <= 1; tb++) {
        if (v == 1 && (ta || !tb))
          continue;
        mm_case c = {.ar = 4,
                     .br = 3,
                     .ad = {2, 1},
                     .bd = {3},
                     .trans_a = ta,
                     .trans_b = tb,
                     .bias = 1,
                     .alpha = 0.5f};
        set_mnk(&c, 17, 67, 19);
        failures += !mm_run(&c, variants[v], SEED + 2000 + (uint64_t)cases++);
      }
  assert_int_equal(failures, 0);
}

/* ---- error paths ---- */
static void expect_error(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s; message: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(test_ctx));
  assert_true(test_contains(clseg_last_error(test_ctx), needle));
}

static void matmul_errors(void **state) {
  (void)state;
  const int64_t ad[3] = {2, 3, 4}, bd[3] = {2, 4, 5}, yd[3] = {2, 3, 5}, bk[2] = {6, 5};
  const int64_t bb[3] = {3, 4, 5}, v1[1] = {4}, yw[3] = {2, 5, 3}, n4[1] = {4};
  clseg_tensor *a = test_tensor_nd(test_ctx, 3, ad, NULL),
               *b = test_tensor_nd(test_ctx, 3, bd, NULL);
  clseg_tensor *y = test_tensor_nd(test_ctx, 3, yd, NULL),
               *b6 = test_tensor_nd(test_ctx, 2, bk, NULL);
  clseg_tensor *b3 = test_tensor_nd(test_ctx, 3, bb, NULL),
               *v = test_tensor_nd(test_ctx, 1, v1, NULL);
  clseg_tensor *yb = test_tensor_nd(test_ctx, 3, yw, NULL),
               *bias = test_tensor_nd(test_ctx, 1, n4, NULL);
  expect_error(clseg_matmul(test_ctx, a, b6, NULL, NULL, y), CLSEG_SHAPE_MISMATCH,
               "matmul: a of shape [2, 3, 4] (trans_a 0) and b of shape [6, 5] (trans_b 0): a's K "
               "is 4, b's is 6");
  expect_error(clseg_matmul(test_ctx, a, b3, NULL, NULL, y), CLSEG_SHAPE_MISMATCH,
               "batch dim 0 of the output is 2 in a and 3 in b (each must be equal or 1)");
  expect_error(
      clseg_matmul(test_ctx, v, b, NULL, NULL, y), CLSEG_SHAPE_MISMATCH,
      "a of shape [4] (trans_a 0) and b of shape [2, 4, 5] (trans_b 0): each needs rank 2");
  expect_error(
      clseg_matmul(test_ctx, a, b, NULL, NULL, yb), CLSEG_SHAPE_MISMATCH,
      "matmul: output has shape [2, 5, 3], expected [2, 3, 5] for a [2, 3, 4] and b [2, 4, "
      "5]");
  expect_error(clseg_matmul(test_ctx, a, b, bias, NULL, y), CLSEG_SHAPE_MISMATCH,
               "matmul: bias has 4 elements (shape [4]), expected 5");
  expect_error(clseg_matmul(test_ctx, NULL, b, NULL, NULL, y), CLSEG_INVALID_ARGUMENT,
               "matmul: a is NULL");
  expect_error(clseg_matmul(test_ctx, a, b, NULL, NULL, NULL), CLSEG_INVALID_ARGUMENT,
               "matmul: output is NULL");
  expect_error(clseg__matmul_variant(test_ctx, a, b, NULL, NULL, y, "matmul_strassen"),
               CLSEG_INVALID_ARGUMENT,
               "matmul: unknown variant 'matmul_strassen' (known: auto, matmul_tile, matmul_dot, "
               "matmul_gpu)");
  expect_error(clseg__matmul_variant(test_ctx, a, b, NULL, NULL, y, "matmul_dot"),
               CLSEG_UNSUPPORTED,
               "matmul: variant 'matmul_dot' does not support trans_a 0, trans_b 0 (a [2, 3, 4], b "
               "[2, 4, 5])");
  const int64_t many[3] = {65536, 1, 1}, one[2] = {1, 1};
  clseg_tensor *am = test_tensor_nd(test_ctx, 3, many, NULL),
               *b1 = test_tensor_nd(test_ctx, 2, one, NULL);
  clseg_tensor *ym = test_tensor_nd(test_ctx, 3, many, NULL);
  expect_error(clseg_matmul(test_ctx, am, b1, NULL, NULL, ym), CLSEG_UNSUPPORTED,
               "matmul: output [65536, 1, 1] has 65536 matrices; at most 65535");
  clseg_tensor_free(am);
  clseg_tensor_free(b1);
  clseg_tensor_free(ym);
  int64_t dims[CLSEG_MAX_RANK];
  int rank = 0;
  assert_int_equal(clseg_matmul_shape(a, b, NULL, dims, &rank), CLSEG_OK);
  assert_int_equal(rank, 3);
  assert_true(dims[0] == 2 && dims[1] == 3 && dims[2] == 5);
  assert_int_equal(clseg_matmul_shape(a, b6, NULL, dims, &rank), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(NULL), "a's K is 4, b's is 6"));
  assert_int_equal(clseg_matmul(NULL, a, b, NULL, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "matmul: NULL context"));
  clseg_tensor *ts[] = {a, b, y, b6, b3, v, yb, bias};
  for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
    clseg_tensor_free(ts[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tile_sweep),     cmocka_unit_test(dot_sweep),
      cmocka_unit_test(gpu_sweep),      cmocka_unit_test(auto_sweep),
      cmocka_unit_test(tile_attention), cmocka_unit_test(dot_attention),
      cmocka_unit_test(gpu_attention),  cmocka_unit_test(auto_attention),
      cmocka_unit_test(small_variants), cmocka_unit_test(matmul_errors),
  };
  test_filter_from_env();
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
