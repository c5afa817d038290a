/* Tests of clseg_transpose, clseg_narrow and clseg_expand (lib/ops/transpose.c, cl/transpose.cl):
 * seeded odd shapes of ranks 1 to 6, every permutation up to rank 3 and seeded ones above, each
 * variant forced where it applies, against the naive references (tests/ref/ref_nd.c). The ops only
 * move floats, so the comparison is exact; and every error path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_ops.h"
#include "common/check.h"
#include "ops/transpose.h"
#include "ref/ref.h"
#include "support.h"

#define SEED 20261204u
static const int64_t SIZES[] = {1, 3, 17, 2, 5, 33, 7};
#define N_SIZES ((int)(sizeof SIZES / sizeof *SIZES))

static void dims_text(char *buf, size_t n, int rank, const int64_t *d) {
  buf[0] = 0;
  for (int i = 0; i < rank; i++)
    snprintf(buf + strlen(buf), n - strlen(buf), "%s%lld", i ? "," : "", (long long)d[i]);
}

/* Exact equality; prints the first difference and ctxt. */
static bool same(const float *got, const float *ref, size_t n, const char *ctxt) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(&got[i], &ref[i], sizeof(float)) != 0) {
      fprintf(stderr, "%s: element %zu got %.9g, reference %.9g\n", ctxt, i, (double)got[i],
              (double)ref[i]);
      return false;
    }
  return true;
}

/* Random dims from SIZES, at most max_count elements in all. */
static void random_dims(check_rng *r, int rank, int64_t *d, size_t max_count) {
  size_t n = 1;
  for (int i = 0; i < rank; i++) {
    d[i] = SIZES[check_rng_next(r) % N_SIZES];
    if (n * (size_t)d[i] > max_count)
      d[i] = 1;
    n *= (size_t)d[i];
  }
}

static bool transpose_run(int rank, const int64_t *xd, const int *perm, const char *variant,
                          uint64_t seed) {
  char xs[64], ps[32] = "", ctxt[256];
  dims_text(xs, sizeof xs, rank, xd);
  for (int i = 0; i < rank; i++)
    snprintf(ps + strlen(ps), sizeof ps - strlen(ps), "%s%d", i ? "," : "", perm[i]);
  snprintf(ctxt, sizeof ctxt, "transpose %s x [%s] perm [%s] seed %llu", variant, xs, ps,
           (unsigned long long)seed);
  int64_t yd[CLSEG_MAX_RANK];
  for (int i = 0; i < rank; i++)
    yd[i] = xd[perm[i]];
  const size_t n = ref_nd_count(rank, xd);
  float *x = test_random(n, seed, -1.0f, 1.0f), *ref = malloc(n * sizeof *ref);
  assert_non_null(ref);
  ref_transpose(x, rank, xd, perm, ref);
  clseg_tensor *tx = test_tensor_nd(test_ctx, rank, xd, x),
               *ty = test_tensor_nd(test_ctx, rank, yd, NULL);
  if (clseg__transpose_variant(test_ctx, tx, perm, ty, variant) != CLSEG_OK)
    fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
  float *y = test_download(ty);
  const bool ok = same(y, ref, n, ctxt);
  free(x);
  free(ref);
  free(y);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* Next permutation in lexicographic order; 0 after the last. */
static int next_perm(int *p, int n) {
  int i = n - 2;
  while (i >= 0 && p[i] >= p[i + 1])
    i--;
  if (i < 0)
    return 0;
  int j = n - 1;
  while (p[j] <= p[i])
    j--;
  int t = p[i];
  p[i] = p[j];
  p[j] = t;
  for (int a = i + 1, b = n - 1; a < b; a++, b--) {
    t = p[a];
    p[a] = p[b];
    p[b] = t;
  }
  return 1;
}

static void shuffle(check_rng *r, int *p, int n) {
  for (int i = 0; i < n; i++)
    p[i] = i;
  for (int i = n - 1; i > 0; i--) {
    const int j = (int)(check_rng_next(r) % (uint64_t)(i + 1)), t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

static void transpose_sweep(const char *variant) {
  check_rng r = {SEED};
  int cases = 0, failures = 0;
  for (int rank = 1; rank <= CLSEG_MAX_RANK; rank++)
    for (int shape = 0; shape < 4; shape++) {
      int64_t d[CLSEG_MAX_RANK];
      random_dims(&r, rank, d, 20000);
      int p[CLSEG_MAX_RANK];
      for (int i = 0; i < rank; i++)
        p[i] = i;
      int more = 1;
      for (int k = 0; more && k < 8; k++) { /* all of rank <= 3, eight shuffles above */
        if (rank > 3)
          shuffle(&r, p, rank);
        failures += !transpose_run(rank, d, p, variant, SEED + (uint64_t)cases);
        cases++;
        more = rank > 3 || next_perm(p, rank);
      }
    }
  print_message("transpose %s sweep: %d cases, %d failed\n", variant, cases, failures);
  assert_int_equal(failures, 0);
}

static void gather_sweep(void **state) {
  (void)state;
  transpose_sweep("transpose_gather");
}
static void auto_sweep(void **state) {
  (void)state;
  transpose_sweep("auto");
}

/* Batched 2-D transposes: [R, C], [N, C, HW] -> [N, HW, C] and NCHW -> NHWC and back, odd sizes
 * around the tile sizes. */
static void tiled_cases(const char *variant) {
  static const int64_t S[] = {1, 3, 17, 33, 65};
  int cases = 0, failures = 0;
  const int first = !strcmp(variant, "transpose_tiled"); /* a dim of 1 is no 2-D transpose */
  for (int i = first; i < 5; i++)
    for (int j = first; j < 5; j++) {
      const int64_t d2[2] = {S[i], S[j]}, d3[3] = {2, S[i], S[j]}, d4[4] = {3, S[j], S[i], 5};
      const int p2[2] = {1, 0}, p3[3] = {0, 2, 1}, p4[4] = {0, 2, 3, 1}, p4b[4] = {0, 3, 1, 2};
      failures += !transpose_run(2, d2, p2, variant, SEED + (uint64_t)cases++);
      failures += !transpose_run(3, d3, p3, variant, SEED + (uint64_t)cases++);
      failures += !transpose_run(4, d4, p4, variant, SEED + (uint64_t)cases++);
      failures += !transpose_run(4, d4, p4b, variant, SEED + (uint64_t)cases++);
    }
  print_message("transpose %s 2-D cases: %d, %d failed\n", variant, cases, failures);
  assert_int_equal(failures, 0);
}
static void tiled_2d(void **state) {
  (void)state;
  tiled_cases("transpose_tiled");
}
static void auto_2d(void **state) {
  (void)state;
  tiled_cases("auto");
}

static void narrow_sweep(void **state) {
  (void)state;
  check_rng r = {SEED + 1};
  int cases = 0, failures = 0;
  for (int rank = 1; rank <= CLSEG_MAX_RANK; rank++)
    for (int shape = 0; shape < 3; shape++) {
      int64_t xd[CLSEG_MAX_RANK], yd[CLSEG_MAX_RANK];
      random_dims(&r, rank, xd, 20000);
      for (int axis = 0; axis < rank; axis++) {
        memcpy(yd, xd, sizeof yd);
        const int64_t start = (int64_t)(check_rng_next(&r) % (uint64_t)xd[axis]);
        yd[axis] = 1 + (int64_t)(check_rng_next(&r) % (uint64_t)(xd[axis] - start));
        const uint64_t seed = SEED + 100 + (uint64_t)cases++;
        char xs[64], ys[64], ctxt[256];
        dims_text(xs, sizeof xs, rank, xd);
        dims_text(ys, sizeof ys, rank, yd);
        snprintf(ctxt, sizeof ctxt, "narrow x [%s] axis %d start %lld y [%s] seed %llu", xs, axis,
                 (long long)start, ys, (unsigned long long)seed);
        const size_t n = ref_nd_count(rank, yd);
        float *x = test_random(ref_nd_count(rank, xd), seed, -1.0f, 1.0f);
        float *ref = malloc(n * sizeof *ref);
        assert_non_null(ref);
        ref_narrow(x, rank, xd, axis, start, ref, yd);
        clseg_tensor *tx = test_tensor_nd(test_ctx, rank, xd, x);
        clseg_tensor *ty = test_tensor_nd(test_ctx, rank, yd, NULL);
        if (clseg_narrow(test_ctx, tx, axis, start, ty) != CLSEG_OK)
          fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
        float *y = test_download(ty);
        failures += !same(y, ref, n, ctxt);
        free(x);
        free(ref);
        free(y);
        clseg_tensor_free(tx);
        clseg_tensor_free(ty);
      }
    }
  print_message("narrow sweep: %d cases, %d failed\n", cases, failures);
  assert_int_equal(failures, 0);
}

static void expand_sweep(void **state) {
  (void)state;
  check_rng r = {SEED + 2};
  int cases = 0, failures = 0;
  for (int yr = 1; yr <= CLSEG_MAX_RANK; yr++)
    for (int xr = 1; xr <= yr; xr++)
      for (int k = 0; k < 3; k++) {
        int64_t yd[CLSEG_MAX_RANK], xd[CLSEG_MAX_RANK];
        random_dims(&r, yr, yd, 20000);
        for (int d = 0; d < xr; d++) /* x's dims: y's or 1, at random */
          xd[d] = check_rng_next(&r) % 2 ? yd[yr - xr + d] : 1;
        const uint64_t seed = SEED + 200 + (uint64_t)cases++;
        char xs[64], ys[64], ctxt[256];
        dims_text(xs, sizeof xs, xr, xd);
        dims_text(ys, sizeof ys, yr, yd);
        snprintf(ctxt, sizeof ctxt, "expand x [%s] y [%s] seed %llu", xs, ys,
                 (unsigned long long)seed);
        const size_t n = ref_nd_count(yr, yd);
        float *x = test_random(ref_nd_count(xr, xd), seed, -1.0f, 1.0f);
        float *ref = malloc(n * sizeof *ref);
        assert_non_null(ref);
        ref_expand(x, xr, xd, ref, yr, yd);
        clseg_tensor *tx = test_tensor_nd(test_ctx, xr, xd, x);
        clseg_tensor *ty = test_tensor_nd(test_ctx, yr, yd, NULL);
        if (clseg_expand(test_ctx, tx, ty) != CLSEG_OK)
          fail_msg("%s: %s", ctxt, clseg_last_error(test_ctx));
        float *y = test_download(ty);
        failures += !same(y, ref, n, ctxt);
        free(x);
        free(ref);
        free(y);
        clseg_tensor_free(tx);
        clseg_tensor_free(ty);
      }
  print_message("expand sweep: %d cases, %d failed\n", cases, failures);
  assert_int_equal(failures, 0);
}

static void expect_error(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s; message: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(test_ctx));
  assert_true(test_contains(clseg_last_error(test_ctx), needle));
}

static void errors_name_the_fault(void **state) {
  (void)state;
  const int64_t xd[3] = {2, 3, 4}, yd[3] = {4, 2, 3}, nd[3] = {2, 2, 4}, ed[4] = {5, 2, 3, 4};
  const int64_t bad[3] = {2, 5, 4}, sd[3] = {2, 3, 5};
  clseg_tensor *x = test_tensor_nd(test_ctx, 3, xd, NULL),
               *y = test_tensor_nd(test_ctx, 3, yd, NULL);
  clseg_tensor *n = test_tensor_nd(test_ctx, 3, nd, NULL),
               *e = test_tensor_nd(test_ctx, 4, ed, NULL);
  clseg_tensor *b = test_tensor_nd(test_ctx, 3, bad, NULL),
               *s = test_tensor_nd(test_ctx, 3, sd, NULL);
  const int perm[3] = {2, 0, 1}, twice[3] = {2, 2, 1}, out[3] = {0, 3, 1}, swap[3] = {0, 2, 1};
  expect_error(clseg_transpose(test_ctx, x, twice, y), CLSEG_INVALID_ARGUMENT,
               "transpose: perm[1] = 2 is repeated (input [2, 3, 4]: perm must hold each of 0 .. "
               "2 once)");
  expect_error(clseg_transpose(test_ctx, x, out, y), CLSEG_INVALID_ARGUMENT,
               "transpose: perm[1] = 3 is out of range");
  expect_error(clseg_transpose(test_ctx, x, swap, y), CLSEG_SHAPE_MISMATCH,
               "transpose: output has shape [4, 2, 3], expected [2, 4, 3] (input [2, 3, 4] "
               "permuted)");
  expect_error(clseg_transpose(test_ctx, x, NULL, y), CLSEG_INVALID_ARGUMENT,
               "transpose: perm is NULL");
  /* [2, 3, 4] -> [3, 2, 4] moves whole rows of 4: no 2-D transpose */
  const int outer[3] = {1, 0, 2};
  const int64_t od[3] = {3, 2, 4};
  clseg_tensor *o = test_tensor_nd(test_ctx, 3, od, NULL);
  expect_error(clseg__transpose_variant(test_ctx, x, outer, o, "transpose_tiled"),
               CLSEG_UNSUPPORTED, "transpose: variant 'transpose_tiled' needs a batched 2-D");
  expect_error(clseg__transpose_variant(test_ctx, x, perm, y, "transpose_fast"),
               CLSEG_INVALID_ARGUMENT, "transpose: unknown variant 'transpose_fast'");
  expect_error(clseg_narrow(test_ctx, x, 1, 2, n), CLSEG_INVALID_ARGUMENT,
               "narrow: elements 2 .. 3 along axis 1 are outside input [2, 3, 4]");
  expect_error(clseg_narrow(test_ctx, x, 3, 0, n), CLSEG_INVALID_ARGUMENT,
               "narrow: axis 3 is outside input [2, 3, 4] (0 .. 2)");
  expect_error(clseg_narrow(test_ctx, x, 1, 0, s), CLSEG_SHAPE_MISMATCH,
               "narrow: output [2, 3, 5] and input [2, 3, 4] differ outside axis 1");
  expect_error(clseg_expand(test_ctx, x, b), CLSEG_SHAPE_MISMATCH,
               "expand: input [2, 3, 4] does not broadcast to output [2, 5, 4]");
  expect_error(clseg_expand(test_ctx, e, x), CLSEG_SHAPE_MISMATCH,
               "expand: input [5, 2, 3, 4] does not broadcast to output [2, 3, 4]");
  expect_error(clseg_expand(test_ctx, NULL, x), CLSEG_INVALID_ARGUMENT, "expand: input is NULL");
  assert_int_equal(clseg_expand(test_ctx, x, e), CLSEG_OK);
  assert_int_equal(clseg__transpose_variant(test_ctx, x, perm, y, "transpose_tiled"), CLSEG_OK);
  clseg_tensor *ts[] = {x, y, n, e, b, s, o};
  for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
    clseg_tensor_free(ts[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gather_sweep),
      cmocka_unit_test(auto_sweep),
      cmocka_unit_test(tiled_2d),
      cmocka_unit_test(auto_2d),
      cmocka_unit_test(narrow_sweep),
      cmocka_unit_test(expand_sweep),
      cmocka_unit_test(errors_name_the_fault),
  };
  test_filter_from_env();
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
