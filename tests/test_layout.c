/* Tests of the channel layout ops (lib/ops/layout.c, cl/layout.cl) against ref_concat,
 * ref_slice_channels, ref_pad, ref_depth_to_space, ref_space_to_depth and the PyTorch fixtures:
 * odd sizes, both pad variants up to reflect's limit, both depth-to-space orders, views, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "common/check.h"
#include "common/fixture.h"
#include "internal.h" /* for tensor views with an offset, which the public API cannot make */
#include "ref/ref.h"

#define SEED 0x1a4007u

/* The largest |got - ref| / max(1, |ref|) seen, printed with each sweep's summary for the record.
 */
static double worst;

static float *rnd(size_t n, uint64_t seed) {
  return test_random(n, seed, -1.0f, 1.0f);
}

/* ---- concat ---- */

static bool concat_case(clseg_context *ctx, int count, const int64_t *chans, int64_t n, int64_t h,
                        int64_t w, uint64_t seed) {
  int64_t shapes[3][4], ys[4] = {n, 0, h, w};
  float *xs[3];
  clseg_tensor *t[3];
  for (int i = 0; i < count; i++) {
    const int64_t s[4] = {n, chans[i], h, w};
    memcpy(shapes[i], s, sizeof s);
    ys[1] += chans[i];
    xs[i] = rnd(ref_count(s), seed + (uint64_t)i);
    t[i] = test_tensor(ctx, s, xs[i]);
  }
  float *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *ty = test_tensor(ctx, ys, NULL);
  if (clseg_concat(ctx, (const clseg_tensor *const *)t, count, ty) != CLSEG_OK)
    fail_msg("concat: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  assert_int_equal(
      ref_concat((const float *const *)xs, (const int64_t(*)[4])shapes, count, ref, ys), 0);
  char info[256];
  snprintf(info, sizeof info,
           "concat count=%d channels=%lld,%lld,%lld n=%lld h=%lld w=%lld seed=%llu", count,
           (long long)chans[0], (long long)(count > 1 ? chans[1] : 0),
           (long long)(count > 2 ? chans[2] : 0), (long long)n, (long long)h, (long long)w,
           (unsigned long long)seed);
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, NULL, info);
  for (int i = 0; i < count; i++) {
    free(xs[i]);
    clseg_tensor_free(t[i]);
  }
  free(y);
  free(ref);
  clseg_tensor_free(ty);
  return ok;
}

static const int64_t spatial[][2] = {{1, 1}, {3, 7}, {9, 15}, {17, 33}, {33, 1}, {1, 9}};

static void sweep_concat(void **state) {
  static const int64_t chans[][3] = {{1, 0, 0}, {3, 0, 0},   {1, 1, 0},
                                     {7, 9, 0}, {15, 1, 17}, {3, 33, 1}};
  int cases = 0, failures = 0;
  for (size_t c = 0; c < sizeof chans / sizeof *chans; c++)
    for (size_t s = 0; s < sizeof spatial / sizeof *spatial; s++) {
      const int count = chans[c][2] ? 3 : chans[c][1] ? 2 : 1;
      failures += !concat_case(*state, count, chans[c], 2, spatial[s][0], spatial[s][1],
                               SEED + (uint64_t)cases);
      cases++;
    }
  print_message("concat sweep: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* ---- slice ---- */

static bool slice_case(clseg_context *ctx, const int64_t xs[4], int64_t c_start, int64_t cy,
                       uint64_t seed) {
  const int64_t ys[4] = {xs[0], cy, xs[2], xs[3]};
  float *x = rnd(ref_count(xs), seed), *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *tx = test_tensor(ctx, xs, x), *ty = test_tensor(ctx, ys, NULL);
  if (clseg_slice_channels(ctx, tx, c_start, ty) != CLSEG_OK)
    fail_msg("slice_channels: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_slice_channels(x, xs, c_start, ref, ys);
  char info[256];
  snprintf(info, sizeof info,
           "slice_channels x=[%lld,%lld,%lld,%lld] c_start=%lld channels=%lld seed=%llu",
           (long long)xs[0], (long long)xs[1], (long long)xs[2], (long long)xs[3],
           (long long)c_start, (long long)cy, (unsigned long long)seed);
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, NULL, info);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

static void sweep_slice(void **state) {
  static const int64_t cx_list[] = {1, 3, 7, 17, 33};
  int cases = 0, failures = 0;
  for (size_t c = 0; c < sizeof cx_list / sizeof *cx_list; c++)
    for (size_t s = 0; s < sizeof spatial / sizeof *spatial; s++) {
      const int64_t cx = cx_list[c], xs[4] = {2, cx, spatial[s][0], spatial[s][1]};
      /* the whole, the first channel, the last one and a middle band */
      const int64_t cuts[][2] = {{0, cx}, {0, 1}, {cx - 1, 1}, {cx / 3, cx - cx / 3 - cx / 4}};
      for (int k = 0; k < 4; k++) {
        failures += !slice_case(*state, xs, cuts[k][0], cuts[k][1], SEED + 1000 + (uint64_t)cases);
        cases++;
      }
    }
  print_message("slice sweep: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* ---- pad ---- */

static bool pad_case(clseg_context *ctx, const int64_t xs[4], const clseg_pad_params *p,
                     uint64_t seed) {
  int64_t ys[4], got_shape[4];
  assert_int_equal(ref_pad_shape(xs, p, ys), 0);
  float *x = rnd(ref_count(xs), seed), *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_non_null(ref);
  clseg_tensor *tx = test_tensor(ctx, xs, x), *ty = test_tensor(ctx, ys, NULL);
  assert_int_equal(clseg_pad_shape(tx, p, got_shape), CLSEG_OK);
  assert_memory_equal(got_shape, ys, sizeof ys);
  if (clseg_pad(ctx, tx, p, ty) != CLSEG_OK)
    fail_msg("pad: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_pad(x, xs, p, ref, ys);
  static const char *const variants[] = {"layout_pad_constant", "layout_pad_reflect",
                                         "layout_pad_edge"};
  char info[300];
  snprintf(info, sizeof info,
           "pad variant=%s x=[%lld,%lld,%lld,%lld] front=%d back=%d top=%d left=%d bottom=%d "
           "right=%d value=%g seed=%llu",
           variants[p->mode], (long long)xs[0], (long long)xs[1], (long long)xs[2],
           (long long)xs[3], p->front, p->back, p->top, p->left, p->bottom, p->right,
           (double)p->value, (unsigned long long)seed);
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, NULL, info);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* The three variants over odd sizes; reflect from no padding up to its limit (size - 1) on each
 * side; channel pads and crops (negative pads) on every axis. */
static void sweep_pad(void **state) {
  static const int64_t hw[][2] = {{1, 1}, {3, 7}, {9, 15}, {17, 33}, {33, 3}, {2, 1}, {1, 40}};
  int cases = 0, failures = 0;
  for (size_t s = 0; s < sizeof hw / sizeof *hw; s++) {
    const int64_t xs[4] = {2, 3, hw[s][0], hw[s][1]};
    const int h1 = (int)hw[s][0] - 1, w1 = (int)hw[s][1] - 1;
    const int pads[][6] = {{0, 0, 0, 0, 0, 0},
                           {1, 2, 0, 3, 0, 0},
                           {h1, w1, h1, w1, 0, 0},
                           {h1 / 2, w1, h1, w1 / 2, 1, 2},
                           {0, 17, 1, 0, 2, 0},
                           {2, 0, 3, 20, 0, 1},
                           {-1, 2, 1, -3, -1, 1},
                           {1, -2, -1, 2, 1, -2},
                           {-h1 / 2, 1, 0, -w1 / 2, 0, 0}};
    for (int mode = 0; mode < 3; mode++)
      for (size_t k = 0; k < sizeof pads / sizeof *pads; k++) {
        const clseg_pad_params p = {.mode = (clseg_pad_mode)mode,
                                    .top = pads[k][0],
                                    .left = pads[k][1],
                                    .bottom = pads[k][2],
                                    .right = pads[k][3],
                                    .value = mode ? 0.0f : -2.5f,
                                    .front = pads[k][4],
                                    .back = pads[k][5]};
        int64_t ys[4];
        if (ref_pad_shape(xs, &p, ys) != 0)
          continue; /* reflect past its limit, or a crop of everything: errors, tested below */
        failures += !pad_case(*state, xs, &p, SEED + 2000 + (uint64_t)cases);
        cases++;
      }
  }
  print_message("pad sweep: %d cases, %d failed, worst normalised error %.3g\n", cases, failures,
                worst);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* ---- depth <-> space ---- */

static const char *const SPACE_DEPTH_VARIANTS[3] = {
    "layout_depth_to_space DCR", "layout_depth_to_space CRD", "layout_space_to_depth"};

/* mode 0, 1: depth to space (DCR, CRD); 2: space to depth. */
static bool space_depth_case(clseg_context *ctx, const int64_t xs[4], int b, int mode,
                             uint64_t seed) {
  int64_t ys[4], got_shape[4];
  float *x = rnd(ref_count(xs), seed);
  clseg_tensor *tx = test_tensor(ctx, xs, x);
  clseg_status s =
      mode == 2 ? clseg_space_to_depth_shape(tx, b, ys) : clseg_depth_to_space_shape(tx, b, ys);
  assert_int_equal(s, CLSEG_OK);
  clseg_tensor *ty = test_tensor(ctx, ys, NULL);
  float *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_non_null(ref);
  s = mode == 2 ? clseg_space_to_depth(ctx, tx, b, ty)
                : clseg_depth_to_space(ctx, tx, b, (clseg_depth_to_space_mode)mode, ty);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", SPACE_DEPTH_VARIANTS[mode], clseg_last_error(ctx));
  float *y = test_download(ty);
  if (mode == 2)
    ref_space_to_depth(x, xs, b, ref);
  else
    ref_depth_to_space(x, xs, b, mode, ref);
  memcpy(got_shape, ys, sizeof ys);
  char info[200];
  snprintf(info, sizeof info, "%s x=[%lld,%lld,%lld,%lld] block=%d seed=%llu",
           SPACE_DEPTH_VARIANTS[mode], (long long)xs[0], (long long)xs[1], (long long)xs[2],
           (long long)xs[3], b, (unsigned long long)seed);
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), got_shape, NULL, info);
  free(x);
  free(y);
  free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

/* Both depth-to-space orders and space to depth, blocks 1 to 4, odd sizes, batch 1 and 2; exact
 * (a move). */
static void sweep_space_depth(void **state) {
  static const int64_t hw[][2] = {{1, 1}, {3, 7}, {9, 15}, {17, 33}, {1, 9}};
  static const int64_t chans[] = {1, 3, 7};
  int cases = 0, failures = 0;
  for (int b = 1; b <= 4; b++)
    for (size_t s = 0; s < sizeof hw / sizeof *hw; s++)
      for (size_t c = 0; c < sizeof chans / sizeof *chans; c++)
        for (int mode = 0; mode < 3; mode++) {
          const int64_t n = 1 + (int64_t)(cases % 2);
          const int64_t xs[4] = {n, mode == 2 ? chans[c] : chans[c] * b * b,
                                 mode == 2 ? hw[s][0] * b : hw[s][0],
                                 mode == 2 ? hw[s][1] * b : hw[s][1]};
          failures += !space_depth_case(*state, xs, b, mode, SEED + 3000 + (uint64_t)cases);
          cases++;
        }
  print_message("depth <-> space sweep: %d cases, %d failed, worst normalised error %.3g\n", cases,
                failures, worst);
  assert_true(worst == 0.0);
  worst = 0.0;
  assert_int_equal(failures, 0);
}

/* ---- reshape in NHWC order and concat along H (TFLite detectors' heads) ---- */

static bool reshape_nhwc_case(clseg_context *ctx, const int64_t xs[4], const int64_t ys[4],
                              uint64_t seed) {
  float *x = rnd(ref_count(xs), seed), *ref = malloc(ref_count(ys) * sizeof *ref);
  clseg_tensor *tx = test_tensor(ctx, xs, x), *ty = test_tensor(ctx, ys, NULL);
  if (clseg_reshape_nhwc(ctx, tx, ty) != CLSEG_OK)
    fail_msg("reshape_nhwc: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_reshape_nhwc(x, xs, ref, ys);
  char info[256];
  snprintf(info, sizeof info, "reshape_nhwc [%lld,%lld,%lld,%lld] -> [%lld,%lld,%lld,%lld]",
           (long long)xs[0], (long long)xs[1], (long long)xs[2], (long long)xs[3], (long long)ys[0],
           (long long)ys[1], (long long)ys[2], (long long)ys[3]);
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, NULL, info);
  free(x), free(y), free(ref);
  clseg_tensor_free(tx);
  clseg_tensor_free(ty);
  return ok;
}

static bool concat_h_case(clseg_context *ctx, int count, const int64_t *heights, int64_t n,
                          int64_t c, int64_t w, uint64_t seed) {
  int64_t shapes[3][4], ys[4] = {n, c, 0, w};
  float *xs[3];
  clseg_tensor *t[3];
  for (int i = 0; i < count; i++) {
    const int64_t s[4] = {n, c, heights[i], w};
    memcpy(shapes[i], s, sizeof s);
    ys[2] += heights[i];
    xs[i] = rnd(ref_count(s), seed + (uint64_t)i);
    t[i] = test_tensor(ctx, s, xs[i]);
  }
  float *ref = malloc(ref_count(ys) * sizeof *ref);
  clseg_tensor *ty = test_tensor(ctx, ys, NULL);
  if (clseg_concat_h(ctx, (const clseg_tensor *const *)t, count, ty) != CLSEG_OK)
    fail_msg("concat_h: %s", clseg_last_error(ctx));
  float *y = test_download(ty);
  ref_concat_h((const float *const *)xs, (const int64_t(*)[4])shapes, count, ref, ys);
  char info[256];
  snprintf(info, sizeof info, "concat_h count=%d n=%lld c=%lld w=%lld rows %lld,%lld,%lld", count,
           (long long)n, (long long)c, (long long)w, (long long)heights[0],
           (long long)(count > 1 ? heights[1] : 0), (long long)(count > 2 ? heights[2] : 0));
  check_track_worst(&worst, y, ref, ref_count(ys));
  bool ok = check_close("y", y, ref, ref_count(ys), ys, NULL, info);
  for (int i = 0; i < count; i++) {
    free(xs[i]);
    clseg_tensor_free(t[i]);
  }
  free(y), free(ref);
  clseg_tensor_free(ty);
  return ok;
}

/* Every regrouping of a few element counts (a detector's [1, 24, 28, 28] -> [1, 12, 1568, 1] among
 * them), batch 1 and 2, and concats along H of 1 to 3 inputs: exact. */
static void sweep_reshape_nhwc_concat_h(void **state) {
  static const int64_t shapes[][2][3] = {{{24, 28, 28}, {12, 1568, 1}}, {{6, 7, 7}, {6, 49, 1}},
                                         {{5, 3, 4}, {3, 4, 5}},        {{12, 2, 3}, {8, 9, 1}},
                                         {{1, 9, 15}, {15, 9, 1}},      {{7, 1, 1}, {1, 1, 7}},
                                         {{2, 17, 33}, {33, 2, 17}}};
  int cases = 0, failures = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int64_t n = 1; n <= 2; n++) {
      const int64_t xs[4] = {n, shapes[i][0][0], shapes[i][0][1], shapes[i][0][2]};
      const int64_t ys[4] = {n, shapes[i][1][0], shapes[i][1][1], shapes[i][1][2]};
      failures += !reshape_nhwc_case(*state, xs, ys, SEED + 5000 + (uint64_t)cases);
      failures += !reshape_nhwc_case(*state, ys, xs, SEED + 5100 + (uint64_t)cases);
      cases += 2;
    }
  static const int64_t heights[][3] = {{1, 0, 0}, {1568, 392, 294}, {3, 1, 0}, {7, 9, 17}};
  for (size_t i = 0; i < sizeof heights / sizeof *heights; i++)
    for (int64_t w = 1; w <= 5; w += 4) {
      const int count = heights[i][2] ? 3 : heights[i][1] ? 2 : 1;
      failures += !concat_h_case(*state, count, heights[i], 1 + (int64_t)(i % 2), 12, w,
                                 SEED + 6000 + (uint64_t)cases);
      cases++;
    }
  print_message("reshape_nhwc / concat_h sweep: %d cases, %d failed, worst normalised error %.3g\n",
                cases, failures, worst);
  assert_true(worst == 0.0);
  worst = 0.0;
  assert_int_equal(failures, 0);
  /* what the shapes must satisfy */
  const int64_t a[4] = {1, 2, 3, 4}, b[4] = {1, 5, 5, 1}, c[4] = {1, 3, 3, 4};
  clseg_tensor *ta = test_tensor(*state, a, NULL), *tb = test_tensor(*state, b, NULL),
               *tc = test_tensor(*state, c, NULL);
  assert_int_equal(clseg_reshape_nhwc(*state, ta, tb), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(*state), "the count must be equal"));
  const clseg_tensor *two[2] = {ta, tc};
  assert_int_equal(clseg_concat_h(*state, two, 2, tc), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(*state), "N, C and W must be equal"));
  clseg_tensor_free(ta), clseg_tensor_free(tb), clseg_tensor_free(tc);
}

static void space_depth_errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {1, 6, 4, 6}, ys[4] = {1, 1, 8, 12};
  clseg_tensor *x = test_tensor(ctx, xs, NULL), *y = test_tensor(ctx, ys, NULL);
  int64_t out[4];
  assert_int_equal(clseg_depth_to_space_shape(x, 2, out), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "depth_to_space: input of shape [1, 6, 4, 6]: 6 channels are not a "
                            "multiple of block 2 squared"));
  assert_int_equal(clseg_space_to_depth_shape(x, 4, out), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "space_to_depth: input of shape [1, 6, 4, 6]: height and width are "
                            "not multiples of block 4"));
  assert_int_equal(clseg_depth_to_space(ctx, x, 0, CLSEG_DEPTH_TO_SPACE_DCR, y),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "depth_to_space: block 0 (1 to 1024)"));
  assert_int_equal(clseg_depth_to_space(ctx, x, 1, (clseg_depth_to_space_mode)5, y),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "depth_to_space: unknown mode 5"));
  assert_int_equal(clseg_space_to_depth(ctx, x, 2, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "space_to_depth: output has shape [1, 1, 8, 12], expected [1, 24, 2, "
                            "3]"));
  assert_int_equal(clseg_space_to_depth(ctx, NULL, 2, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "space_to_depth: input is NULL"));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
}

/* Concat into a view of a larger buffer and slice out of one, as a graph plan places tensors. */
static void views_at_offsets(void **state) {
  clseg_context *ctx = *state;
  const int64_t s0[4] = {2, 3, 5, 7}, s1[4] = {2, 4, 5, 7}, ys[4] = {2, 7, 5, 7},
                whole[4] = {1, 1, 1, 1200};
  float *x0 = rnd(ref_count(s0), SEED + 5), *x1 = rnd(ref_count(s1), SEED + 6);
  float *ref = malloc(ref_count(ys) * sizeof *ref);
  assert_non_null(ref);
  const float *const xs[2] = {x0, x1};
  const int64_t shapes[2][4] = {{2, 3, 5, 7}, {2, 4, 5, 7}};
  ref_concat(xs, shapes, 2, ref, ys);
  clseg_tensor *buf = test_tensor(ctx, whole, NULL), *t1 = test_tensor(ctx, s1, x1);
  clseg_tensor v0 = *buf, vy = *buf;
  memcpy(v0.shape, s0, 4 * sizeof(int64_t));
  memcpy(vy.shape, ys, 4 * sizeof(int64_t));
  v0.count = ref_count(s0);
  vy.count = ref_count(ys);
  v0.offset = 5;
  vy.offset = 5 + v0.count + 3;
  v0.owns_buf = vy.owns_buf = 0;
  assert_int_equal(clseg_tensor_upload(&v0, x0, v0.count), CLSEG_OK);
  const clseg_tensor *in[2] = {&v0, t1};
  assert_int_equal(clseg_concat(ctx, in, 2, &vy), CLSEG_OK);
  float *y = test_download(&vy);
  assert_true(check_close("concat view", y, ref, vy.count, ys, NULL, "x0@5 y@n0+8 seed SEED+5/6"));
  clseg_tensor *sl = test_tensor(ctx, s1, NULL);
  assert_int_equal(clseg_slice_channels(ctx, &vy, 3, sl), CLSEG_OK);
  float *z = test_download(sl);
  assert_true(
      check_close("slice view", z, x1, ref_count(s1), s1, NULL, "slice [3, 7) of the concat view"));
  free(x0);
  free(x1);
  free(y);
  free(z);
  free(ref);
  clseg_tensor_free(buf);
  clseg_tensor_free(t1);
  clseg_tensor_free(sl);
}

/* ---- PyTorch fixtures ---- */

static fixture *load(const char *name) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s.clsf", CLSEG_FIXTURE_DIR, name);
  fixture *f = fixture_load(path, err, sizeof err);
  if (!f)
    fail_msg("fixture %s: %s", name, err);
  return f;
}

static clseg_tensor *fixture_tensor(clseg_context *ctx, const fixture *f, const char *name,
                                    int64_t s[4]) {
  const fixture_array *a = fixture_get(f, name);
  if (!a || !fixture_shape4(a, s))
    fail_msg("fixture lacks array '%s'", name);
  return test_tensor(ctx, s, name[0] == 'y' ? NULL : a->data);
}

/* Runs nothing itself: compares y with the fixture's, then frees y and the fixture. */
static void expect_fixture(const char *name, fixture *f, clseg_tensor *ty) {
  float *got = test_download(ty);
  const fixture_array *y = fixture_get(f, "y");
  int64_t s[4];
  assert_true(fixture_shape4(y, s));
  assert_true(check_close(name, got, y->data, y->count, s, NULL, fixture_params_text(f)));
  free(got);
  clseg_tensor_free(ty);
  fixture_free(f);
}

static void pytorch_fixtures(void **state) {
  clseg_context *ctx = *state;
  int64_t s[4];
  fixture *f = load("concat_three");
  clseg_tensor *in[3] = {fixture_tensor(ctx, f, "x0", s), fixture_tensor(ctx, f, "x1", s),
                         fixture_tensor(ctx, f, "x2", s)},
               *ty = fixture_tensor(ctx, f, "y", s);
  assert_int_equal(fixture_param_int(f, "count", 0), 3);
  assert_int_equal(clseg_concat(ctx, (const clseg_tensor *const *)in, 3, ty), CLSEG_OK);
  expect_fixture("concat_three", f, ty);
  for (int i = 0; i < 3; i++)
    clseg_tensor_free(in[i]);

  f = load("slice_channels_mid");
  clseg_tensor *tx = fixture_tensor(ctx, f, "x", s);
  ty = fixture_tensor(ctx, f, "y", s);
  assert_int_equal(clseg_slice_channels(ctx, tx, fixture_param_int(f, "c_start", -1), ty),
                   CLSEG_OK);
  expect_fixture("slice_channels_mid", f, ty);
  clseg_tensor_free(tx);

  static const char *const pads[] = {"pad_constant_asym", "pad_reflect_asym", "pad_reflect_max"};
  for (int i = 0; i < 3; i++) {
    f = load(pads[i]);
    const char *mode = fixture_param(f, "mode");
    assert_non_null(mode);
    const clseg_pad_params p = {.mode = strcmp(mode, "reflect") ? CLSEG_PAD_CONSTANT
                                                                : CLSEG_PAD_REFLECT,
                                .top = fixture_param_int(f, "top", -1),
                                .left = fixture_param_int(f, "left", -1),
                                .bottom = fixture_param_int(f, "bottom", -1),
                                .right = fixture_param_int(f, "right", -1),
                                .value = fixture_param_float(f, "value", 0.0f)};
    tx = fixture_tensor(ctx, f, "x", s);
    ty = fixture_tensor(ctx, f, "y", s);
    assert_int_equal(clseg_pad(ctx, tx, &p, ty), CLSEG_OK);
    expect_fixture(pads[i], f, ty);
    clseg_tensor_free(tx);
  }
}

/* ---- errors ---- */

static void concat_errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t a[4] = {2, 3, 5, 7}, b[4] = {2, 4, 5, 7}, wrong[4] = {2, 8, 5, 7},
                hw[4] = {2, 4, 5, 6};
  clseg_tensor *ta = test_tensor(ctx, a, NULL), *tb = test_tensor(ctx, b, NULL),
               *tw = test_tensor(ctx, wrong, NULL);
  clseg_tensor *th = test_tensor(ctx, hw, NULL);
  const clseg_tensor *in[2] = {ta, tb};
  assert_int_equal(clseg_concat(ctx, in, 2, tw), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(
      clseg_last_error(ctx),
      "concat: the 2 inputs have 7 channels in all, the output of shape [2, 8, 5, 7] has 8"));
  const clseg_tensor *in2[2] = {ta, th};
  assert_int_equal(clseg_concat(ctx, in2, 2, tw), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "concat: input 1 has shape [2, 4, 5, 6], the output [2, 8, 5, 7]"));
  const clseg_tensor *in3[2] = {ta, NULL};
  assert_int_equal(clseg_concat(ctx, in3, 2, tw), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "concat: input 1 is NULL"));
  assert_int_equal(clseg_concat(ctx, in, 0, tw), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "concat: needs at least one input"));
  assert_int_equal(clseg_concat(ctx, NULL, 2, tw), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "concat: the input list is NULL"));
  assert_int_equal(clseg_concat(ctx, in, 2, NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "concat: output is NULL"));
  clseg_tensor_free(ta);
  clseg_tensor_free(tb);
  clseg_tensor_free(tw);
  clseg_tensor_free(th);
}

static void slice_and_pad_errors(void **state) {
  clseg_context *ctx = *state;
  const int64_t xs[4] = {2, 6, 3, 4}, ys[4] = {2, 3, 3, 4}, bad[4] = {1, 3, 3, 4};
  clseg_tensor *x = test_tensor(ctx, xs, NULL), *y = test_tensor(ctx, ys, NULL),
               *z = test_tensor(ctx, bad, NULL);
  assert_int_equal(clseg_slice_channels(ctx, x, 4, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx),
                            "slice_channels: channels [4, 7) are out of range of the input "
                            "of shape [2, 6, 3, 4] (6 channels)"));
  assert_int_equal(clseg_slice_channels(ctx, x, -1, y), CLSEG_INVALID_ARGUMENT);
  assert_true(
      test_contains(clseg_last_error(ctx), "slice_channels: channels [-1, 2) are out of range"));
  assert_int_equal(clseg_slice_channels(ctx, x, 0, z), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "slice_channels: input has shape [2, 6, 3, 4], output [1, 3, 3, 4]"));
  assert_int_equal(clseg_slice_channels(ctx, NULL, 0, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "slice_channels: input is NULL"));
  int64_t out[4];
  clseg_pad_params p = {.mode = CLSEG_PAD_REFLECT, .top = 3}; /* H is 3: reflect allows 2 */
  assert_int_equal(clseg_pad_shape(x, &p, out), CLSEG_INVALID_ARGUMENT);
  assert_true(
      test_contains(clseg_last_error(ctx),
                    "pad: reflect padding (height 3 and 0) must be smaller than the "
                    "input's size along its axis (3 after crops); input shape [2, 6, 3, 4]"));
  p = (clseg_pad_params){.mode = CLSEG_PAD_REFLECT, .right = 3, .left = -1}; /* W is 4, 3 kept */
  assert_int_equal(clseg_pad(ctx, x, &p, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "(width -1 and 3) must be smaller"));
  p = (clseg_pad_params){.mode = CLSEG_PAD_EDGE, .front = -4, .back = -2};
  assert_int_equal(clseg_pad(ctx, x, &p, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx),
                            "pad: crops -4 and -2 remove the whole channels of input shape "
                            "[2, 6, 3, 4]"));
  p = (clseg_pad_params){.mode = CLSEG_PAD_CONSTANT, .top = 1};
  assert_int_equal(clseg_pad(ctx, x, &p, y), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx),
                            "pad: output has shape [2, 3, 3, 4], expected [2, 6, 4, 4]"));
  p.mode = (clseg_pad_mode)7;
  assert_int_equal(clseg_pad(ctx, x, &p, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "pad: unknown mode 7"));
  assert_int_equal(clseg_pad(ctx, x, NULL, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "pad: NULL parameters"));
  assert_int_equal(clseg_pad(ctx, NULL, &p, y), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(ctx), "pad: input is NULL"));
  clseg_tensor_free(x);
  clseg_tensor_free(y);
  clseg_tensor_free(z);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_concat),       cmocka_unit_test(sweep_slice),
      cmocka_unit_test(sweep_pad),          cmocka_unit_test(sweep_space_depth),
      cmocka_unit_test(space_depth_errors), cmocka_unit_test(sweep_reshape_nhwc_concat_h),
      cmocka_unit_test(views_at_offsets),   cmocka_unit_test(pytorch_fixtures),
      cmocka_unit_test(concat_errors),      cmocka_unit_test(slice_and_pad_errors),
  };
  return cmocka_run_group_tests_name("layout", tests, test_group_setup, test_group_teardown);
}
