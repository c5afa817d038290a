/* conv2d_gemm against the naive reference (tests/ref) on the shapes its tiles make risky: channel
 * and pixel counts off the tile sizes, 1x1 maps, batches, strides, dilations, groups, fused
 * epilogues, split-K (checked to have run through the kernel count), and two split-K convs in one
 * plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "clseg_graph.h"
#include "clseg_ops.h"
#include "common/check.h"
#include "ref/ref.h"

#define VARIANT "conv2d_gemm"

typedef struct {
  int64_t xs[4], ws[4];
  clseg_conv2d_params p;
  int bias, res;
  float wscale; /* weights uniform in +-wscale (0 means 1) */
} gemm_case;

static double g_worst;

static void describe(const gemm_case *c, uint64_t seed, char *buf, size_t n) {
  const clseg_conv2d_params *p = &c->p;
  snprintf(buf, n,
           "variant=" VARIANT " seed=%llu x=[%lld,%lld,%lld,%lld] w=[%lld,%lld,%lld,%lld] "
           "stride=(%d,%d) pad=(t%d,l%d,b%d,r%d) dilation=(%d,%d) groups=%d bias=%d residual=%d "
           "act=%d(%g,%g)",
           (unsigned long long)seed, (long long)c->xs[0], (long long)c->xs[1], (long long)c->xs[2],
           (long long)c->xs[3], (long long)c->ws[0], (long long)c->ws[1], (long long)c->ws[2],
           (long long)c->ws[3], p->stride_h, p->stride_w, p->pad_top, p->pad_left, p->pad_bottom,
           p->pad_right, p->dilation_h, p->dilation_w, p->groups, c->bias, c->res, (int)p->act.kind,
           (double)p->act.alpha, (double)p->act.beta);
}

/* Runs c with conv2d_gemm forced and compares with ref_conv2d; *enqueued gets the number of kernels
 * the call enqueued (packing, the conv, and split-K's reduce when it split). */
static bool run_case(clseg_context *ctx, const gemm_case *c, uint64_t seed, uint64_t *enqueued) {
  int64_t ys[4];
  char what[512];
  describe(c, seed, what, sizeof what);
  assert_int_equal(ref_conv2d_shape(c->xs, c->ws, &c->p, ys), 0);
  const size_t nx = ref_count(c->xs), nw = ref_count(c->ws), ny = ref_count(ys);
  const float ws = c->wscale > 0.0f ? c->wscale : 1.0f;
  float *x = test_random(nx, seed, -1.0f, 1.0f), *w = test_random(nw, seed + 1, -ws, ws);
  float *b = test_random((size_t)ys[1], seed + 2, -1.0f, 1.0f);
  float *r = test_random(ny, seed + 3, -1.0f, 1.0f), *want = malloc(ny * sizeof *want);
  assert_non_null(want);
  const int64_t bs[4] = {ys[1], 1, 1, 1};
  clseg_tensor *tx = test_tensor(ctx, c->xs, x), *tw = test_tensor(ctx, c->ws, w),
               *ty = test_tensor(ctx, ys, NULL);
  clseg_tensor *tb = c->bias ? test_tensor(ctx, bs, b) : NULL,
               *tr = c->res ? test_tensor(ctx, ys, r) : NULL;
  clseg_conv2d_params p = c->p;
  p.variant = VARIANT;
  clseg_stats before, after;
  clseg_context_stats(ctx, &before);
  clseg_status s = clseg_conv2d(ctx, tx, tw, tb, tr, &p, ty);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", what, clseg_last_error(ctx));
  clseg_context_stats(ctx, &after);
  if (enqueued)
    *enqueued = after.kernels_enqueued - before.kernels_enqueued;
  float *got = test_download(ty);
  ref_conv2d(x, c->xs, w, c->ws, c->bias ? b : NULL, c->res ? r : NULL, &c->p, want, ys);
  const bool ok = test_compare(&g_worst, "conv2d", got, want, ys, what);
  clseg_tensor_free(tx), clseg_tensor_free(tw), clseg_tensor_free(ty);
  clseg_tensor_free(tb), clseg_tensor_free(tr);
  free(x), free(w), free(b), free(r), free(got), free(want);
  return ok;
}

static int run_all(clseg_context *ctx, const gemm_case *cases, size_t n, uint64_t seed0) {
  int failures = 0;
  for (size_t i = 0; i < n; i++)
    failures += !run_case(ctx, &cases[i], seed0 + i, NULL);
  return failures;
}

#define PAD1 .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1
#define PAD3 .pad_top = 3, .pad_left = 3, .pad_bottom = 3, .pad_right = 3

/* Tile edges: channels and pixels below, at and just past the default 64 x 64 tile and its 16 x 16
 * work-items, a single channel, 1x1 maps, batches whose images share a pixel tile. */
static void tile_edges(void **state) {
  const gemm_case cases[] = {
      {{1, 1, 1, 1}, {1, 1, 1, 1}, {0}, 1, 1, 0.0f},
      {{1, 1, 9, 7}, {1, 1, 3, 3}, {PAD1}, 1, 0, 0.0f},
      {{3, 5, 1, 1}, {7, 5, 1, 1}, {0}, 1, 1, 0.0f},
      {{1, 3, 8, 8}, {64, 3, 3, 3}, {PAD1}, 1, 0, 0.0f},
      {{1, 3, 8, 8}, {65, 3, 3, 3}, {PAD1}, 1, 1, 0.0f},
      {{1, 16, 9, 9}, {63, 16, 1, 1}, {0}, 0, 1, 0.0f},
      {{2, 17, 11, 13}, {130, 17, 3, 3}, {PAD1}, 1, 1, 0.0f},
      {{3, 4, 5, 7}, {9, 4, 3, 3}, {.pad_top = 2, .pad_right = 1}, 1, 1, 0.0f},
      {{2, 33, 33, 33}, {17, 33, 1, 1}, {0}, 1, 0, 0.0f},
  };
  const int failures = run_all(*state, cases, sizeof cases / sizeof *cases, 1000);
  print_message(VARIANT " tile edges: worst normalised error %.3g\n", g_worst);
  g_worst = 0.0;
  assert_int_equal(failures, 0);
}

/* Geometry: strides, dilations, 1x1, 3x3, 7x7 and rectangular kernels, groups, and every fused
 * epilogue (bias + residual + activation with parameters). */
static void geometry_and_epilogue(void **state) {
  clseg_conv2d_params leaky = {PAD1, .stride_h = 2, .stride_w = 2};
  leaky.act = (clseg_activation){CLSEG_ACT_LEAKY_RELU, 0.1f, 0.0f};
  clseg_conv2d_params clip = {.pad_top = 2,
                              .pad_left = 2,
                              .pad_bottom = 2,
                              .pad_right = 2,
                              .dilation_h = 2,
                              .dilation_w = 2};
  clip.act = (clseg_activation){CLSEG_ACT_CLIP, -0.5f, 0.7f};
  clseg_conv2d_params gelu7 = {PAD3, .stride_h = 2, .stride_w = 2};
  gelu7.act = (clseg_activation){CLSEG_ACT_GELU, 0.0f, 0.0f};
  const gemm_case cases[] = {
      {{2, 6, 17, 15}, {20, 6, 3, 3}, leaky, 1, 1, 0.0f},
      {{1, 8, 19, 21}, {12, 8, 3, 3}, clip, 1, 1, 0.0f},
      {{2, 3, 33, 31}, {16, 3, 7, 7}, gelu7, 1, 1, 0.0f},
      {{1, 12, 15, 9}, {18, 12, 1, 1}, {.stride_h = 2, .stride_w = 2}, 1, 1, 0.0f},
      {{1, 7, 10, 12}, {5, 7, 3, 1}, {.stride_w = 2, .dilation_h = 3, .pad_top = 1}, 0, 1, 0.0f},
      {{2, 12, 9, 9}, {9, 4, 3, 3}, {PAD1, .groups = 3}, 1, 1, 0.0f},
      {{1, 130, 7, 7}, {130, 1, 3, 3}, {PAD1, .groups = 130}, 1, 0, 0.0f},
      {{1, 8, 5, 5}, {80, 4, 5, 5}, {.pad_top = 2, .pad_left = 2, .groups = 2}, 0, 1, 0.0f},
  };
  const int failures = run_all(*state, cases, sizeof cases / sizeof *cases, 2000);
  print_message(VARIANT " geometry and epilogues: worst normalised error %.3g\n", g_worst);
  g_worst = 0.0;
  assert_int_equal(failures, 0);
}

/* Split-K: long reductions over few pixels, the deep layers it exists for (ResNet's 2048 -> 512 1x1
 * at a small map, a 3x3 512 -> 64 conv), with weights of a trained network's scale so the outputs
 * stay O(1); the extra reduce kernel shows it split. A case with as long a K but many pixel tiles
 * must not split. */
static void split_k(void **state) {
  clseg_conv2d_params relu = {PAD1};
  relu.act = (clseg_activation){CLSEG_ACT_RELU, 0.0f, 0.0f};
  const gemm_case split[] = {
      {{1, 2048, 5, 7}, {70, 2048, 1, 1}, {0}, 1, 1, 0.03f},
      {{2, 512, 6, 5}, {64, 512, 3, 3}, relu, 1, 1, 0.02f},
      {{1, 300, 3, 3}, {12, 100, 3, 3}, {PAD1, .groups = 3}, 1, 0, 0.05f},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof split / sizeof *split; i++) {
    uint64_t enqueued = 0;
    failures += !run_case(*state, &split[i], 3000 + i, &enqueued);
    assert_int_equal(enqueued, 3); /* pack, conv, reduce */
  }
  const gemm_case whole = {{1, 320, 128, 128}, {8, 320, 1, 1}, {0}, 1, 1, 0.05f};
  uint64_t enqueued = 0;
  failures += !run_case(*state, &whole, 3100, &enqueued);
  assert_int_equal(enqueued, 2); /* pack, conv: 256 pixel tiles are enough work-groups */
  print_message(VARIANT " split-K: worst normalised error %.3g\n", g_worst);
  g_worst = 0.0;
  assert_int_equal(failures, 0);
}

/* Two split-K convs in a plan: they share the context's scratch slot for their partial sums, run
 * from their packed weights after the planner dropped the originals, and take a fused activation
 * and a fused residual add (y = conv_b(relu(conv_a(x))) + x). */
static void split_k_in_plan(void **state) {
  clseg_context *ctx = *state;
  const clseg_conv2d_params gemm = {PAD1, .variant = VARIANT};
  const int64_t xs[4] = {1, 256, 6, 5}, was[4] = {64, 256, 3, 3}, wbs[4] = {256, 64, 3, 3};
  const int64_t as[4] = {1, 64, 6, 5}, bas[1] = {64}, bbs[1] = {256};
  const size_t nx = ref_count(xs), nwa = ref_count(was), nwb = ref_count(wbs), na = ref_count(as);
  float *x = test_random(nx, 4000, -1.0f, 1.0f), *wa = test_random(nwa, 4001, -0.02f, 0.02f);
  float *wb = test_random(nwb, 4002, -0.04f, 0.04f), *ba = test_random(64, 4003, -1.0f, 1.0f);
  float *bb = test_random(256, 4004, -1.0f, 1.0f), *a = malloc(na * sizeof *a);
  float *want = malloc(nx * sizeof *want), *got = malloc(nx * sizeof *got);
  assert_true(a && want && got);
  clseg_graph *g = clseg_graph_create();
  assert_non_null(g);
  clseg_node *in = clseg_graph_input(g, "x", 256);
  clseg_node *t = clseg_graph_conv2d(g, "a", in, 64, 3, 1, &gemm);
  t = clseg_graph_activation(g, t, CLSEG_ACT_RELU);
  t = clseg_graph_conv2d(g, "b", t, 256, 3, 1, &gemm);
  assert_int_equal(clseg_graph_output(g, clseg_graph_binary(g, CLSEG_BINARY_ADD, t, in), "y"),
                   CLSEG_OK);
  assert_int_equal(clseg_graph_set_param(g, "a.weight", was, 4, wa), CLSEG_OK);
  assert_int_equal(clseg_graph_set_param(g, "a.bias", bas, 1, ba), CLSEG_OK);
  assert_int_equal(clseg_graph_set_param(g, "b.weight", wbs, 4, wb), CLSEG_OK);
  assert_int_equal(clseg_graph_set_param(g, "b.bias", bbs, 1, bb), CLSEG_OK);
  clseg_plan *plan = NULL;
  if (clseg_plan_create(ctx, g, 1, 6, 5, NULL, &plan) != CLSEG_OK)
    fail_msg("plan: %s", clseg_last_error(ctx));
  clseg_stats before, after;
  clseg_context_stats(ctx, &before);
  assert_int_equal(clseg_plan_run(plan, x, nx, got, nx), CLSEG_OK);
  clseg_context_stats(ctx, &after);
  /* per conv the GEMM and split-K's reduce, with the activation and the add fused */
  assert_int_equal(after.kernels_enqueued - before.kernels_enqueued, 4);
  clseg_conv2d_params pa = {PAD1}, pb = {PAD1};
  pa.act.kind = CLSEG_ACT_RELU;
  ref_conv2d(x, xs, wa, was, ba, NULL, &pa, a, as);
  ref_conv2d(a, as, wb, wbs, bb, x, &pb, want, xs);
  const bool ok = test_compare(&g_worst, "y", got, want, xs,
                               "plan x=[1,256,6,5] a: 3x3 256->64 "
                               "+ relu, b: 3x3 64->256 + x, " VARIANT);
  print_message(VARIANT " split-K in a plan: worst normalised error %.3g\n", g_worst);
  g_worst = 0.0;
  clseg_plan_free(plan);
  clseg_graph_free(g);
  free(x), free(wa), free(wb), free(ba), free(bb), free(a), free(want), free(got);
  assert_true(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tile_edges),
      cmocka_unit_test(geometry_and_epilogue),
      cmocka_unit_test(split_k),
      cmocka_unit_test(split_k_in_plan),
  };
  test_filter_from_env();
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
