/* Tests of the reductions over channels (lib/ops/reduce.c, cl/reduce.cl) against
 * ref_reduce_channels, ref_softmax_channels and ref_argmax_channels and the PyTorch fixtures: every
 * variant, odd sizes, ties, large logits, views, errors; and of clseg_reduce_axes against
 * ref_reduce_axes on ranks 1-6, both forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "common/check.h"
#include "common/fixture.h"
#include "internal.h" /* for tensor views with an offset, which the public API cannot make */
#include "ref/ref.h"

#define SEED 0x4ed0ceu

/* The variants, by their kernel names. */
enum { V_MEAN, V_MAX, V_SOFTMAX, V_ARGMAX, V_COUNT };
static const char *const variant_names[] = {"reduce_mean", "reduce_max", "reduce_softmax",
                                            "reduce_argmax"};

/* The largest |got - ref| / max(1, |ref|) seen, printed with each sweep's summary for the record.
 */
static double worst;

static clseg_status run_variant(clseg_context *ctx, int v, const clseg_tensor *x, clseg_tensor *y) {
  switch (v) {
  case V_MEAN: return clseg_reduce_channels(ctx, x, CLSEG_REDUCE_MEAN, y);
  case V_MAX: return clseg_reduce_channels(ctx, x, CLSEG_REDUCE_MAX, y);
  case V_SOFTMAX: return clseg_softmax_channels(ctx, x, y);
  default: return clseg_argmax_channels(ctx, x, y);
  }
}

static void run_ref(int v, const float *x, const int64_t xs[4], float *y) {
  switch (v) {
  case V_MEAN: ref_reduce_channels(x, xs, CLSEG_REDUCE_MEAN, y); break;
  case V_MAX: ref_reduce_channels(x, xs, CLSEG_REDUCE_MAX, y); break;
  case V_SOFTMAX: ref_softmax_channels(x, xs, y); break;
  default: ref_argmax_channels(x, xs, y); break;
  }
}

/* x from the seed, scaled by `scale`; `ties` rounds values to a few integers so that argmax meets
 * ties. */
static bool run_case(clseg_context *ctx, int v, const int64_t xs[4], float scale, int ties,
                     uint64_t seed) {
  const int64_t ys[4] = {xs[0], v == V_SOFTMAX ? xs[1] : 1, xs[2], xs[3]};
  const size_t n = ref_count(xs);
  float *x = malloc(n * sizeof *x), *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_true(x && ref);
  check_fill_uniform(x, n, seed, -scale, scale);
  for (size_t i = 0; ties && i < n; i++)
    x[i] = floorf(x[i]);
  clseg_tensor *tx = test_tensor(ctx, xs, x), *ty = test_tensor(ctx, ys, NULL);
  if (run_variant(ctx, v, tx, ty) != CLSEG_OK)
    fail_msg("%s: %s", variant_names[v], clseg_last_error(ctx));
  float *y = test_download(ty);
  run_ref(v, x, xs, ref);
  char info[256];
  snprintf(info, sizeof info, "%s x=[%lld,%lld,%lld,%lld] scale=%g ties=%d seed=%llu",
           variant_names[v], (long long)xs[0], (long long)xs[1], (long long)xs[2], (long long)xs[3],
           (double)scale, ties, (unsigned long long)seed);
  /* argmax is an index: exact */
  const check_tol exact = {0.0, 0.0};
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, v == V_ARGMAX ? &exact : NULL, info);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* Every variant over odd channel counts and image sizes (pixel counts on both sides of the 16-lane
 * vectors and of a work-item's run), with small and large values; argmax also on tie-heavy
 * integers. */
static void sweep_variants(void **state) {
  static const int64_t c_list[] = {1, 3, 7, 9, 15, 17, 33};
  static const int64_t hw[][2] = {{1, 1}, {3, 7}, {9, 15}, {17, 33}, {33, 1}, {7, 17}};
  int cases = 0, failures = 0;
  for (int v = 0; v < V_COUNT; v++)
    for (size_t c = 0; c < sizeof c_list / sizeof *c_list; c++)
      for (size_t s = 0; s < sizeof hw / sizeof *hw; s++) {
        const int64_t xs[4] = {2, c_list[c], hw[s][0], hw[s][1]};
        const float scale = (s % 2) ? 30.0f : 2.0f; /* softmax: logits far apart */
        failures += !run_case(*state, v, xs, scale, 0, SEED + (uint64_t)cases);
        cases++;
        if (v == V_ARGMAX) {
          failures += !run_case(*state, v, xs, 2.0f, 1, SEED + (uint64_t)cases);
          cases++;
        }
      }
  print_message("reduce sweep: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* The edges of the GPU forms (one pixel per work-item, work-groups of 64-256): pixel counts of 1 to
 * 4097 around one and many work-groups, one image and batches whose images share a work-group, and
 * many channels. */
static void reduction_edges(void **state) {
  static const int64_t shapes[][4] = {{1, 1, 1, 1},    {1, 3, 1, 3},    {3, 65, 1, 63},
                                      {2, 64, 8, 8},   {3, 5, 5, 13},   {1, 300, 1, 65},
                                      {3, 7, 17, 241}, {2, 129, 16, 16}};
  int cases = 0, failures = 0;
  for (int v = 0; v < V_COUNT; v++)
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++, cases++)
      failures += !run_case(*state, v, shapes[i], v == V_SOFTMAX ? 30.0f : 2.0f, 0,
                            SEED + 5000u + (uint64_t)cases);
  print_message("reduce edges: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* The GPU forms on this device too, chosen by user tuning rows (GPU=1, work-groups of 64 and 32
 * instead of the gpu rows' 256), on the edge shapes; and GPU=3 is CLSEG_FORMAT naming the file. */
static void gpu_forms_by_user_rows(void **state) {
  (void)state;
  char path[1200];
  clseg_context *ctx = test_user_rows_begin("# test_reduce\nreduce_mean\t*\tGPU=1\tLOCAL=64\n"
                                            "reduce_max\t*\tGPU=1\tLOCAL=32\n"
                                            "reduce_softmax\t*\tGPU=1\tLOCAL=64\n"
                                            "reduce_argmax\t*\tGPU=3\n",
                                            path, sizeof path);
  static const int64_t shapes[][4] = {{1, 1, 1, 1}, {3, 65, 1, 63}, {2, 64, 8, 8}, {3, 7, 17, 241}};
  int failures = 0;
  for (int v = 0; v < V_ARGMAX; v++)
    for (int i = 0; i < 4; i++)
      failures += !run_case(ctx, v, shapes[i], v == V_SOFTMAX ? 30.0f : 2.0f, 0,
                            SEED + 6000u + (uint64_t)(4 * v + i));
  const int64_t xs[4] = {1, 3, 2, 2}, ys[4] = {1, 1, 2, 2};
  clseg_tensor *x = test_tensor(ctx, xs, NULL), *y = test_tensor(ctx, ys, NULL);
  assert_int_equal(clseg_argmax_channels(ctx, x, y), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(ctx), "tuning: GPU=3 of reduce_argmax"));
  assert_true(test_contains(clseg_last_error(ctx), path));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  test_user_rows_end(ctx);
  print_message("reduce GPU forms by user rows: %d failed, worst normalised error %.3g\n", failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* Logits of +-1000 overflow exp() unless the maximum is subtracted first. */
static void softmax_is_stable(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {1, 3, 1, 17};
  float x[51], y[51];
  for (int i = 0; i < 51; i++)
    x[i] = (i % 3 == 0) ? 1000.0f : (i % 3 == 1 ? -1000.0f : 999.0f);
  clseg_tensor *tx = test_tensor(ctx, xs, x), *ty = test_tensor(ctx, xs, NULL);
  assert_int_equal(clseg_softmax_channels(ctx, tx, ty), CLSEG_OK);
  assert_int_equal(clseg_tensor_download(ty, y, 51), CLSEG_OK);
  float ref[51];
  ref_softmax_channels(x, xs, ref);
  assert_true(check_close("softmax +-1000", y, ref, 51, xs, NULL,
                          "channels 1000/-1000/999 per pixel pattern"));
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
}

/* Input and output views at odd offsets into one buffer. */
static void views_at_offsets(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {2, 5, 3, 11}, whole[4] = {1, 1, 1, 800};
  const size_t n = ref_count(xs);
  float *x = malloc(n * sizeof *x), *ref = malloc(n * sizeof *ref);
  assert_true(x && ref);
  check_fill_uniform(x, n, SEED + 9, -3.0f, 3.0f);
  clseg_tensor *buf = test_tensor(ctx, whole, NULL);
  for (int v = 0; v < V_COUNT; v++) {
    clseg_tensor vx = *buf, vy = *buf;
    const int64_t ys[4] = {2, v == V_SOFTMAX ? 5 : 1, 3, 11};
    memcpy(vx.shape, xs, 4 * sizeof(int64_t));
    memcpy(vy.shape, ys, 4 * sizeof(int64_t));
    vx.count = n;
    vy.count = ref_count(ys);
    vx.offset = 7;
    vy.offset = 7 + n + 1;
    vx.owns_buf = vy.owns_buf = 0;
    assert_int_equal(clseg_tensor_upload(&vx, x, n), CLSEG_OK);
    assert_int_equal(run_variant(ctx, v, &vx, &vy), CLSEG_OK);
    float *y = test_download(&vy);
    run_ref(v, x, xs, ref);
    assert_true(check_close(variant_names[v], y, ref, vy.count, ys, NULL, "x@7 y@n+8 seed SEED+9"));
    free(y);
  }
  free(x);
  free(ref);
  clseg_tensor_free(buf);
}

static void fixture_case(clseg_context *ctx, const char *name, int v) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s.clsf", CLSEG_FIXTURE_DIR, name);
  fixture *f = fixture_load(path, err, sizeof err);
  if (!f)
    fail_msg("fixture %s: %s", name, err);
  const fixture_array *x = fixture_get(f, "x"), *y = fixture_get(f, "y");
  int64_t xs[4], ys[4];
  assert_true(x && y && fixture_shape4(x, xs) && fixture_shape4(y, ys));
  clseg_tensor *tx = test_tensor(ctx, xs, x->data), *ty = test_tensor(ctx, ys, NULL);
  assert_int_equal(run_variant(ctx, v, tx, ty), CLSEG_OK);
  float *got = test_download(ty);
  assert_true(check_close(name, got, y->data, y->count, ys, NULL, fixture_params_text(f)));
  free(got);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  fixture_free(f);
}

static void pytorch_fixtures(void **state) {
  fixture_case(*state, "reduce_channels_mean", V_MEAN);
  fixture_case(*state, "reduce_channels_max", V_MAX);
  fixture_case(*state, "softmax_channels_wide", V_SOFTMAX);
  fixture_case(*state, "argmax_channels_random", V_ARGMAX);
  fixture_case(*state, "argmax_channels_ties", V_ARGMAX);
}

static void errors_name_the_fault(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {2, 5, 3, 4}, one[4] = {2, 1, 3, 4};
  clseg_tensor *x = test_tensor(ctx, xs, NULL), *y1 = test_tensor(ctx, one, NULL),
               *y5 = test_tensor(ctx, xs, NULL);
  assert_int_equal(clseg_reduce_channels(ctx, x, CLSEG_REDUCE_MAX, y5), CLSEG_SHAPE_MISMATCH);
  assert_true(
      test_contains(clseg_last_error(ctx),
                    "reduce_channels max: output has shape [2, 5, 3, 4], expected [2, 1, 3, 4]"));
  assert_int_equal(clseg_softmax_channels(ctx, x, y1), CLSEG_SHAPE_MISMATCH);
  assert_true(
      test_contains(clseg_last_error(ctx),
                    "softmax_channels: output has shape [2, 1, 3, 4], expected [2, 5, 3, 4]"));
  assert_int_equal(clseg_argmax_channels(ctx, NULL, y1), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "argmax_channels: input is NULL"));
  assert_int_equal(clseg_reduce_channels(ctx, x, CLSEG_REDUCE_MEAN, NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "reduce_channels mean: output is NULL"));
  assert_int_equal(clseg_reduce_channels(ctx, x, (clseg_reduce_kind)5, y1), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "reduce_channels: unknown kind 5"));
  clseg_tensor_free(x);
  clseg_tensor_free(y1);
  clseg_tensor_free(y5);
}

/* ---- clseg_reduce_axes ---- */

static const char *const kind_names[] = {"mean", "max", "sum", "min"};

/* A device tensor of any rank holding data, or NaN (so that unwritten outputs fail). */
static clseg_tensor *nd_tensor(clseg_context *ctx, int rank, const int64_t *dims,
                               const float *data) {
  const size_t n = ref_count_nd(dims, rank);
  float *nan_fill = data ? NULL : malloc(n * sizeof *nan_fill);
  clseg_tensor *t = NULL;
  for (size_t i = 0; !data && nan_fill && i < n; i++)
    nan_fill[i] = NAN;
  if ((!data && !nan_fill) || clseg_tensor_create_nd(ctx, rank, dims, &t) != CLSEG_OK ||
      clseg_tensor_upload(t, data ? data : nan_fill, n) != CLSEG_OK)
    fail_msg("tensor of rank %d: %s", rank, clseg_last_error(ctx));
  free(nan_fill);
  return t;
}

/* x of dims[rank] from the seed, reduced over axis .. axis + naxes - 1 by kind. Sums of up to n
 * values of +-2 are compared with atol 1e-4 * sqrt(n) (float rounding of the partial sums). */
static bool axes_case(clseg_context *ctx, int kind, int rank, const int64_t *dims, int axis,
                      int naxes, uint64_t seed) {
  const int a = axis < 0 ? axis + rank : axis, k = naxes ? naxes : rank - a;
  int64_t yd[CLSEG_MAX_RANK];
  for (int d = 0; d < rank; d++)
    yd[d] = d >= a && d < a + k ? 1 : dims[d];
  const size_t n = ref_count_nd(dims, rank), m = ref_count_nd(yd, rank);
  const size_t per = n / m;
  float *x = test_random(n, seed, -2.0f, 2.0f), *ref = malloc(m * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *tx = nd_tensor(ctx, rank, dims, x), *ty = nd_tensor(ctx, rank, yd, NULL);
  char info[320];
  int len = snprintf(info, sizeof info, "reduce_axes %s x=[", kind_names[kind]);
  for (int d = 0; d < rank; d++)
    len +=
        snprintf(info + len, sizeof info - (size_t)len, "%s%lld", d ? "," : "", (long long)dims[d]);
  snprintf(info + len, sizeof info - (size_t)len, "] axis=%d naxes=%d seed=%llu", axis, naxes,
           (unsigned long long)seed);
  if (clseg_reduce_axes(ctx, tx, (clseg_reduce_kind)kind, axis, naxes, ty) != CLSEG_OK)
    fail_msg("%s: %s", info, clseg_last_error(ctx));
  float *y = test_download(ty);
  assert_int_equal(ref_reduce_axes(x, dims, rank, (clseg_reduce_kind)kind, a, k, ref), 0);
  const check_tol sum_tol = {CHECK_ATOL * sqrt((double)per), CHECK_RTOL};
  check_track_worst(&worst, y, ref, m);
  const bool ok =
      check_close("y", y, ref, m, NULL, kind == CLSEG_REDUCE_SUM ? &sum_tol : NULL, info);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* Every kind on seeded odd shapes of ranks 1-6, every axis (as itself and from the end) and every
 * count of dims from it; then n = 4096 (a row of attention scores, and along a middle dim) and
 * n = 1. */
static int axes_sweep(clseg_context *ctx, uint64_t seed) {
  static const int64_t sizes[] = {1, 2, 3, 5, 7, 9, 15, 17, 33};
  check_rng r = {seed};
  int cases = 0, failures = 0;
  for (int rank = 1; rank <= CLSEG_MAX_RANK; rank++)
    for (int a = 0; a < rank; a++)
      for (int k = 0; k <= rank - a; k++, cases++) {
        int64_t dims[CLSEG_MAX_RANK];
        do
          for (int d = 0; d < rank; d++)
            dims[d] = sizes[check_rng_next(&r) % (sizeof sizes / sizeof *sizes)];
        while (ref_count_nd(dims, rank) > 6000);
        failures += !axes_case(ctx, cases % 4, rank, dims, (a + k) % 2 ? a - rank : a, k,
                               seed + (uint64_t)cases);
      }
  static const struct {
    int rank;
    int64_t dims[4];
    int axis, naxes;
  } edges[] = {{2, {3, 4096}, -1, 1},
               {3, {2, 4096, 3}, 1, 1},
               {4, {2, 7, 1, 9}, 2, 1},
               {3, {1, 1, 1}, 0, 0},
               {4, {2, 3, 64, 64}, 2, 0}};
  for (size_t e = 0; e < sizeof edges / sizeof *edges; e++)
    for (int kind = 0; kind < 4; kind++, cases++)
      failures += !axes_case(ctx, kind, edges[e].rank, edges[e].dims, edges[e].axis, edges[e].naxes,
                             seed + (uint64_t)cases);
  print_message("reduce_axes: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  return failures;
}

static void reduce_axes_sweep(void **state) {
  assert_int_equal(axes_sweep(*state, SEED + 7000u), 0);
}

/* The other forms on this device by user rows: the work-group form for every row (COLS past any
 * inner) and for rows of inner < 4 with LOCAL 48 (not a power of two); the scalar column form
 * (VEC=0) where the default row runs the float16 one. */
static void reduce_axes_workgroup_form(void **state) {
  (void)state;
  static const char *const rows[] = {"reduce_axes\t*\tGPU=1\tLOCAL=64\tCOLS=65536\n",
                                     "reduce_axes\t*\tGPU=1\tLOCAL=48\tCOLS=4\n",
                                     "reduce_axes\t*\tGPU=0\tVEC=0\n"};
  for (int i = 0; i < 3; i++) {
    char path[1200];
    clseg_context *ctx = test_user_rows_begin(rows[i], path, sizeof path);
    const int failures = axes_sweep(ctx, SEED + 8000u + (uint64_t)i);
    test_user_rows_end(ctx);
    assert_int_equal(failures, 0);
  }
}

static void reduce_axes_errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t xd[3] = {2, 6, 5}, yd[3] = {2, 1, 5}, bd[3] = {2, 1, 1};
  clseg_tensor *x = nd_tensor(ctx, 3, xd, NULL), *y = nd_tensor(ctx, 3, yd, NULL),
               *b = nd_tensor(ctx, 3, bd, NULL);
  assert_int_equal(clseg_reduce_axes(ctx, x, CLSEG_REDUCE_SUM, 1, 0, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "reduce_axes sum: output has shape [2, 1, 5], expected [2, 1, 1]"));
  assert_int_equal(clseg_reduce_axes(ctx, x, CLSEG_REDUCE_MIN, -1, 1, b), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx), "reduce_axes min: output has shape [2, 1, 1]"));
  assert_int_equal(clseg_reduce_axes(ctx, x, CLSEG_REDUCE_MAX, 3, 1, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx),
                            "reduce_axes max: axis 3 is out of range for input [2, 6, 5]"));
  assert_int_equal(clseg_reduce_axes(ctx, x, CLSEG_REDUCE_MEAN, -2, 3, y), CLSEG_INVALID_ARGUMENT);
  assert_true(
      test_contains(clseg_last_error(ctx), "reduce_axes mean: 3 dims from axis -2 do not fit"));
  assert_int_equal(clseg_reduce_axes(ctx, x, (clseg_reduce_kind)4, 1, 1, y),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "reduce_axes: unknown kind 4"));
  /* The channel ops keep their two kinds. */
  const int64_t xs[4] = {2, 5, 3, 4}, one[4] = {2, 1, 3, 4};
  clseg_tensor *x4 = test_tensor(ctx, xs, NULL), *y4 = test_tensor(ctx, one, NULL);
  assert_int_equal(clseg_reduce_channels(ctx, x4, CLSEG_REDUCE_SUM, y4), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx),
                            "reduce_channels: kind SUM is clseg_reduce_axes's only"));
  assert_int_equal(clseg_reduce_channels(ctx, x4, CLSEG_REDUCE_MIN, y4), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "reduce_channels: kind MIN"));
  clseg_tensor_free(x), clseg_tensor_free(y), clseg_tensor_free(b);
  clseg_tensor_free(x4), clseg_tensor_free(y4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_variants),
      cmocka_unit_test(reduction_edges),
      cmocka_unit_test(gpu_forms_by_user_rows),
      cmocka_unit_test(softmax_is_stable),
      cmocka_unit_test(views_at_offsets),
      cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(errors_name_the_fault),
      cmocka_unit_test(reduce_axes_sweep),
      cmocka_unit_test(reduce_axes_workgroup_form),
      cmocka_unit_test(reduce_axes_errors),
  };
  test_filter_from_env();
  return cmocka_run_group_tests_name("reduce", tests, test_group_setup, test_group_teardown);
}
