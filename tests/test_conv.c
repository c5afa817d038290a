/* conv2d: every variant forced on its own against the naive reference (tests/ref) over seeded
 * random sweeps of odd shapes, every conv2d PyTorch fixture, the batchnorm fold, and the error
 * paths with their messages. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "clseg_ops.h"
#include "common/check.h"
#include "common/fixture.h"
#include "ref/ref.h"
#include "tuning.h"

#define SWEEP_SEED  0xc0417e57ull
#define SWEEP_CASES 40

static const char *const VARIANTS[] = {
    "conv2d_direct",        "conv2d_depthwise",    "conv2d_vec",
    "conv2d_gemm",          "conv2d_winograd",     "conv2d_winograd2x2",
    "conv2d_depthwise_gpu", "conv2d_winograd_gpu", "conv2d_winograd2x2_gpu"};
#define NVARIANTS (int)(sizeof VARIANTS / sizeof VARIANTS[0])
static const int SIZES[] = {1, 3, 7, 9, 15, 17, 33};

typedef struct {
  int64_t xs[4], ws[4];
  clseg_conv2d_params p;
  int bias, res;
  float wscale; /* weights uniform in +-wscale (0 means 1) */
} conv_case;

/* The largest |got - ref| / max(1, |ref|) seen since the last report, for the summary each test
 * prints. */
static double g_worst;

static void report_worst(const char *what) {
  print_message("%s: worst normalised error %.3g\n", what, g_worst);
  g_worst = 0.0;
}

static void describe(const conv_case *c, const char *variant, uint64_t seed, char *buf, size_t n) {
  const clseg_conv2d_params *p = &c->p;
  snprintf(buf, n,
           "variant=%s seed=%llu x=[%lld,%lld,%lld,%lld] w=[%lld,%lld,%lld,%lld] stride=(%d,%d) "
           "pad=(t%d,l%d,b%d,r%d) dilation=(%d,%d) groups=%d bias=%d residual=%d act=%d(%g,%g)",
           variant, (unsigned long long)seed, (long long)c->xs[0], (long long)c->xs[1],
           (long long)c->xs[2], (long long)c->xs[3], (long long)c->ws[0], (long long)c->ws[1],
           (long long)c->ws[2], (long long)c->ws[3], p->stride_h, p->stride_w, p->pad_top,
           p->pad_left, p->pad_bottom, p->pad_right, p->dilation_h, p->dilation_w, p->groups,
           c->bias, c->res, (int)p->act.kind, (double)p->act.alpha, (double)p->act.beta);
}

/* Runs one case on the device with the variant forced and compares with ref_conv2d; true when it
 * passes. */
static bool run_case(clseg_context *ctx, const conv_case *c, const char *variant, uint64_t seed) {
  int64_t ys[4];
  char what[512];
  describe(c, variant, seed, what, sizeof what);
  assert_int_equal(ref_conv2d_shape(c->xs, c->ws, &c->p, ys), 0);
  const size_t nx = ref_count(c->xs), nw = ref_count(c->ws), ny = ref_count(ys);
  float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w),
        *b = malloc((size_t)ys[1] * sizeof *b);
  float *r = malloc(ny * sizeof *r), *got = malloc(ny * sizeof *got),
        *want = malloc(ny * sizeof *want);
  assert_true(x && w && b && r && got && want);
  check_fill_uniform(x, nx, seed, -1.0f, 1.0f);
  const float ws = c->wscale > 0.0f ? c->wscale : 1.0f;
  check_fill_uniform(w, nw, seed + 1, -ws, ws);
  check_fill_uniform(b, (size_t)ys[1], seed + 2, -1.0f, 1.0f);
  check_fill_uniform(r, ny, seed + 3, -1.0f, 1.0f);
  const int64_t bs[4] = {ys[1], 1, 1, 1};
  clseg_tensor *tx = test_tensor(ctx, c->xs, x), *tw = test_tensor(ctx, c->ws, w),
               *ty = test_tensor(ctx, ys, NULL);
  clseg_tensor *tb = c->bias ? test_tensor(ctx, bs, b) : NULL,
               *tr = c->res ? test_tensor(ctx, ys, r) : NULL;
  clseg_conv2d_params p = c->p;
  p.variant = variant;
  int64_t api_shape[4];
  assert_int_equal(clseg_conv2d_shape(tx, tw, &p, api_shape), CLSEG_OK);
  assert_memory_equal(api_shape, ys, sizeof ys);
  clseg_status s = clseg_conv2d(ctx, tx, tw, tb, tr, &p, ty);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", what, clseg_last_error(ctx));
  assert_int_equal(clseg_tensor_download(ty, got, ny), CLSEG_OK);
  ref_conv2d(x, c->xs, w, c->ws, c->bias ? b : NULL, c->res ? r : NULL, &c->p, want, ys);
  bool ok = check_close("conv2d", got, want, ny, ys, NULL, what);
  check_track_worst(&g_worst, got, want, ny);
  clseg_tensor_free(tx);
  clseg_tensor_free(tw);
  clseg_tensor_free(ty);
  clseg_tensor_free(tb);
  clseg_tensor_free(tr);
  free(x), free(w), free(b), free(r), free(got), free(want);
  return ok;
}

/* Kernel geometries drawn from a fixed list, so the sweep builds a bounded number of programs:
 * {kh, kw, stride_h, stride_w, dilation_h, dilation_w}. */
static const int GEOMS[][6] = {
    {1, 1, 1, 1, 1, 1}, {3, 3, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1}, {1, 1, 2, 2, 1, 1},
    {5, 5, 1, 1, 1, 1}, {3, 3, 1, 1, 2, 2}, {3, 3, 1, 1, 5, 4}, {2, 2, 3, 3, 1, 1},
    {3, 1, 1, 2, 1, 1}, {7, 7, 2, 2, 1, 1},
};
#define NGEOMS (int)(sizeof GEOMS / sizeof GEOMS[0])

static int pick(check_rng *r, int n) {
  return (int)(check_rng_next(r) % (uint64_t)n);
}

static int is_winograd(const char *variant) {
  return !strncmp(variant, "conv2d_winograd", 15);
}

static int is_depthwise(const char *variant) {
  return !strncmp(variant, "conv2d_depthwise", 16);
}

/* A random case the variant supports: depthwise forces groups == channels (the GPU variant also
 * channel multipliers of 2 and 3), vec and Winograd groups 1, Winograd the 3x3 stride-1 geometry;
 * direct and gemm take any groups. */
static conv_case random_case(check_rng *r, const char *variant) {
  conv_case c;
  memset(&c, 0, sizeof c);
  const int gi = is_winograd(variant) ? (pick(r, NGEOMS), 1) : pick(r, NGEOMS), *g = GEOMS[gi];
  int cin = 1 + pick(r, 12), cout = 1 + pick(r, 20), groups = 1;
  if (is_depthwise(variant)) {
    cout = cin;
    groups = cin;
    if (!strcmp(variant, "conv2d_depthwise_gpu") && pick(r, 2))
      cout = cin * (2 + pick(r, 2));
  } else if ((!strcmp(variant, "conv2d_direct") || !strcmp(variant, "conv2d_gemm")) && pick(r, 2)) {
    groups = 1 + pick(r, 3);
    cin = groups * (1 + pick(r, 4));
    cout = groups * (1 + pick(r, 5));
  }
  c.p = (clseg_conv2d_params){
      .stride_h = g[2], .stride_w = g[3], .dilation_h = g[4], .dilation_w = g[5], .groups = groups};
  const int one_by_one = !strcmp(variant, "conv2d_clblast"); /* 1x1, stride 1, no padding */
  int *pads[4] = {&c.p.pad_top, &c.p.pad_left, &c.p.pad_bottom, &c.p.pad_right};
  const int no_pad = one_by_one || pick(r, 3) == 0;
  for (int i = 0; i < 4; i++) /* up to more than half the kernel */
    *pads[i] = no_pad ? 0 : pick(r, (i % 2 ? g[1] : g[0]) + 2);
  const int h = SIZES[pick(r, 7)], w = SIZES[pick(r, 7)];
  const int ekh = one_by_one ? 1 : (g[0] - 1) * g[4] + 1,
            ekw = one_by_one ? 1 : (g[1] - 1) * g[5] + 1;
  if (h + c.p.pad_top + c.p.pad_bottom < ekh) /* keep the output non-empty */
    c.p.pad_bottom = ekh - h - c.p.pad_top;
  if (w + c.p.pad_left + c.p.pad_right < ekw)
    c.p.pad_right = ekw - w - c.p.pad_left;
  const int64_t xs[4] = {1 + pick(r, 2), cin, h, w},
                ws[4] = {cout, cin / groups, one_by_one ? 1 : g[0], one_by_one ? 1 : g[1]};
  if (one_by_one)
    c.p.stride_h = c.p.stride_w = c.p.dilation_h = c.p.dilation_w = 1;
  memcpy(c.xs, xs, sizeof xs);
  memcpy(c.ws, ws, sizeof ws);
  c.bias = pick(r, 2);
  c.res = pick(r, 3) == 0;
  /* tied to the geometry: each -D combination is a program to build, so keep their number small */
  c.p.act.kind = gi % 2 ? CLSEG_ACT_RELU : CLSEG_ACT_NONE;
  if (!strcmp(variant, "conv2d_winograd_dilated")) { /* 3x3, dilation d, padding d */
    const int d = 2 + pick(r, 4);
    c.p.dilation_h = c.p.dilation_w = d;
    c.p.pad_top = c.p.pad_left = c.p.pad_bottom = c.p.pad_right = d;
    c.p.act.kind = d % 2 ? CLSEG_ACT_LEAKY_RELU : CLSEG_ACT_RELU;
    c.p.act.alpha = d % 2 ? 0.1f : 0.0f;
  }
  return c;
}

static void sweep(void **state, const char *variant) {
  int failures = 0;
  for (int i = 0; i < SWEEP_CASES; i++) {
    const uint64_t seed = SWEEP_SEED + (uint64_t)i;
    check_rng r = {seed};
    const conv_case c = random_case(&r, variant);
    failures += !run_case(*state, &c, variant, seed);
  }
  report_worst(variant);
  assert_int_equal(failures, 0);
}

static void sweep_direct(void **state) {
  sweep(state, "conv2d_direct");
}
static void sweep_depthwise(void **state) {
  sweep(state, "conv2d_depthwise");
}
static void sweep_vec(void **state) {
  sweep(state, "conv2d_vec");
}
/* The sweep's layers are small, so conv2d_depthwise and conv2d_vec run them on the programs shared
 * by small layers (activation and depthwise geometry as arguments). Again with GENERIC_MAX_OUTPUTS
 * 0: each layer's own program, the geometry and activation as -D values, as large layers get. */
static void sweep_specialized(void **state, const char *variant) {
  clseg__tune_row row = {.ncells = 1, .cells = {{"GENERIC_MAX_OUTPUTS", 0}}};
  snprintf(row.variant, sizeof row.variant, "%s", variant);
  snprintf(row.source, sizeof row.source, "test_conv: every layer specialized");
  clseg__tune_force(*state, &row);
  sweep(state, variant);
  clseg__tune_force(*state, NULL);
}
static void sweep_depthwise_specialized(void **state) {
  sweep_specialized(state, "conv2d_depthwise");
}
static void sweep_vec_specialized(void **state) {
  sweep_specialized(state, "conv2d_vec");
}
static void sweep_gemm(void **state) {
  sweep(state, "conv2d_gemm");
}
static void sweep_clblast(void **state) {
  sweep(state, "conv2d_clblast");
}
static void sweep_winograd(void **state) {
  sweep(state, "conv2d_winograd");
}
static void sweep_winograd2x2(void **state) {
  sweep(state, "conv2d_winograd2x2");
}
static void sweep_depthwise_gpu(void **state) {
  sweep(state, "conv2d_depthwise_gpu");
}
static void sweep_winograd_gpu(void **state) {
  sweep(state, "conv2d_winograd_gpu");
}
static void sweep_winograd2x2_gpu(void **state) {
  sweep(state, "conv2d_winograd2x2_gpu");
}
static void sweep_winograd_dilated(void **state) {
  sweep(state, "conv2d_winograd_dilated");
}

/* Winograd on network-like shapes: long reductions (its error grows with the channels), several
 * bands (tall inputs), batch 2, odd sizes whose last tiles stick out of the output, residual. Long
 * reductions take weights of a trained network's scale (He: about sqrt(2 / (9 Cin))), so outputs
 * stay O(1) as after a batchnorm; with weights in +-1 the outputs reach +-30 at 256 channels and
 * F(4x4)'s absolute error (2e-4 there, 1e-5 of the output range) exceeds the fixed 1e-4 atol. */
static void winograd_network_shapes(void **state) {
  const clseg_conv2d_params same = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  const conv_case cases[] = {
      {{1, 64, 33, 35}, {40, 64, 3, 3}, same, 1, 0, 0.1f},
      {{2, 16, 70, 9}, {17, 16, 3, 3}, same, 1, 1, 0.0f},
      {{1, 256, 9, 7}, {24, 256, 3, 3}, same, 0, 1, 0.05f},
      {{1, 512, 5, 6}, {16, 512, 3, 3}, same, 1, 0, 0.035f},
      {{1, 8, 15, 17}, {8, 8, 3, 3}, {0}, 1, 0, 0.0f},
      {{1, 16, 9, 70}, {9, 16, 3, 3}, same, 1, 1, 0.0f},  /* rows of 16+ tiles: the vector paths */
      {{2, 16, 8, 128}, {8, 16, 3, 3}, same, 0, 1, 0.0f}, /* rows of whole 16-tile groups */
  };
  int failures = 0;
  for (int v = 0; v < NVARIANTS; v++) {
    if (!is_winograd(VARIANTS[v]))
      continue;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      failures += !run_case(*state, &cases[i], VARIANTS[v], 300 + i);
    report_worst(VARIANTS[v]);
  }
  assert_int_equal(failures, 0);
}

/* The GPU-shaped Winograd variants in many bands: a user row of 1-byte bands and small GEMM tiles
 * (MIN_TILES 70 tiles a band: bands that end inside a tile row, cross from one image to the next
 * and leave a last short band; GEMM tiles of 32 x 32 with a K-slice of 8 that 12 channels do not
 * fill), batch 3, odd sizes, bias, residual and activation. */
static void winograd_gpu_bands(void **state) {
  (void)state; /* its own context: the user rows */
  char path[1200];
  clseg_context *ctx = test_user_rows_begin(
      "# test_conv\n"
      "conv2d_winograd_gpu\t*\tMWG=32\tNWG=32\tKWG=8\tMDIMC=8\tNDIMC=8\tVWM=2\tVWN=2\t"
      "BAND_BYTES=1\tMIN_TILES=70\n"
      "conv2d_winograd2x2_gpu\t*\tMWG=32\tNWG=32\tKWG=8\tMDIMC=8\tNDIMC=8\tVWM=2\tVWN=2\t"
      "BAND_BYTES=1\tMIN_TILES=70\n",
      path, sizeof path);
  const clseg_conv2d_params same = {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  clseg_conv2d_params relu = same;
  relu.act.kind = CLSEG_ACT_RELU;
  const conv_case cases[] = {
      {{3, 12, 23, 19}, {37, 12, 3, 3}, relu, 1, 1, 0.0f},
      {{2, 40, 9, 30}, {5, 40, 3, 3}, same, 0, 1, 0.1f},
      {{1, 3, 31, 2},
       {70, 3, 3, 3},
       {.pad_top = 2, .pad_left = 0, .pad_bottom = 1, .pad_right = 2},
       1,
       0,
       0.0f},
  };
  int failures = 0;
  const char *const gpu[] = {"conv2d_winograd_gpu", "conv2d_winograd2x2_gpu"};
  for (int v = 0; v < 2; v++) {
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      failures += !run_case(ctx, &cases[i], gpu[v], 900 + i);
    report_worst(gpu[v]);
  }
  test_user_rows_end(ctx);
  assert_int_equal(failures, 0);
}

/* The dilated Winograd variant on the shapes of dilated ResNet stages: dilation 2 and 4 over maps
 * that the dilation does not divide, the F(4x4) and F(2x2) inner convs, batch 2, residual and
 * activation after the mosaic, long reductions with weights of a trained network's scale. */
static void winograd_dilated_shapes(void **state) {
  const clseg_conv2d_params d2 = {.pad_top = 2,
                                  .pad_left = 2,
                                  .pad_bottom = 2,
                                  .pad_right = 2,
                                  .dilation_h = 2,
                                  .dilation_w = 2};
  clseg_conv2d_params d4 = {.pad_top = 4,
                            .pad_left = 4,
                            .pad_bottom = 4,
                            .pad_right = 4,
                            .dilation_h = 4,
                            .dilation_w = 4};
  d4.act = (clseg_activation){CLSEG_ACT_RELU, 0, 0};
  const conv_case cases[] = {
      {{1, 64, 33, 35}, {40, 64, 3, 3}, d2, 1, 1, 0.1f},
      {{2, 16, 17, 9}, {17, 16, 3, 3}, d4, 1, 1, 0.0f},
      {{1, 256, 30, 19}, {24, 256, 3, 3}, d4, 0, 1, 0.05f},
      {{2, 24, 64, 64}, {16, 24, 3, 3}, d2, 1, 0, 0.0f},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    failures += !run_case(*state, &cases[i], "conv2d_winograd_dilated", 700 + i);
  report_worst("conv2d_winograd_dilated");
  assert_int_equal(failures, 0);
}

/* Shapes the random sweep may miss: many channels (long reductions), 1x1 GEMM row tails, wide rows.
 */
static void vec_and_depthwise_wide_shapes(void **state) {
  const conv_case cases[] = {
      {{1, 64, 33, 33},
       {64, 64, 3, 3},
       {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1},
       1,
       0,
       0.0f},
      {{2, 48, 17, 9}, {24, 48, 1, 1}, {0}, 1, 1, 0.0f},
      {{1, 5, 1, 1}, {3, 5, 1, 1}, {0}, 0, 0, 0.0f},
      {{1, 16, 7, 70}, {9, 16, 3, 3}, {.stride_w = 2, .pad_left = 1, .pad_right = 1}, 1, 0, 0.0f},
      /* packed 1x1: strided and padded, a plane of 4 KiB, a map of fewer than 16 pixels */
      {{2, 40, 13, 11},
       {17, 40, 1, 1},
       {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_right = 2},
       1,
       1,
       0.0f},
      {{1, 33, 32, 32}, {20, 33, 1, 1}, {0}, 0, 1, 0.0f},
      {{2, 24, 3, 5}, {9, 24, 1, 1}, {0}, 1, 0, 0.0f},
      /* a packed input over 24 MiB: channel blocks first (PIX_FIRST 0) */
      {{1, 1600, 64, 64}, {20, 1600, 1, 1}, {0}, 1, 1, 0.03f},
      /* ASPP-like: dilation beyond the map, so whole kernel rows read padding only (SKIP_ROWS) */
      {{2, 20, 9, 21},
       {11, 20, 3, 3},
       {.pad_top = 6,
        .pad_left = 6,
        .pad_bottom = 6,
        .pad_right = 6,
        .dilation_h = 6,
        .dilation_w = 6},
       1,
       1,
       0.0f},
      {{1, 12, 17, 12},
       {8, 12, 3, 3},
       {.pad_top = 12,
        .pad_left = 12,
        .pad_bottom = 12,
        .pad_right = 12,
        .dilation_h = 12,
        .dilation_w = 12},
       0,
       1,
       0.0f},
  };
  const conv_case dw = {{2, 24, 33, 40},
                        {24, 1, 3, 3},
                        {.pad_top = 2,
                         .pad_left = 2,
                         .pad_bottom = 2,
                         .pad_right = 2,
                         .dilation_h = 2,
                         .dilation_w = 2,
                         .groups = 24},
                        1,
                        1,
                        0.0f};
  /* rows wide enough for tiles whose taps stay inside the map (unmasked loads) next to edge tiles:
   * SegFormer's 3x3, stride 2, and a 7x7 */
  const conv_case dw_wide[] = {
      {{1, 8, 9, 130},
       {8, 1, 3, 3},
       {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 8},
       1,
       1,
       0.0f},
      {{2, 6, 11, 150},
       {6, 1, 3, 3},
       {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_right = 1, .groups = 6},
       1,
       0,
       0.0f},
      {{1, 4, 8, 100},
       {4, 1, 7, 7},
       {.pad_top = 3, .pad_left = 3, .pad_bottom = 3, .pad_right = 3, .groups = 4},
       0,
       1,
       0.0f},
  };
  int failures = !run_case(*state, &dw, "conv2d_depthwise", 7);
  for (size_t i = 0; i < sizeof dw_wide / sizeof *dw_wide; i++)
    failures += !run_case(*state, &dw_wide[i], "conv2d_depthwise", 20 + i);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    failures += !run_case(*state, &cases[i], "conv2d_vec", 100 + i);
  assert_int_equal(failures, 0);
}

/* conv2d_depthwise_gpu on what its tiles may get wrong: maps narrower than, not a multiple of, and
 * wider than a tile (both columns of a work-item), 1x1 maps, batch 2, stride 2, dilation 2, 5x5
 * kernels, channel multipliers, bias + residual + activation, and a dilation whose halo does not
 * fit in __local memory (the global-memory path). */
static void depthwise_gpu_edge_shapes(void **state) {
  const clseg_activation relu6 = {CLSEG_ACT_RELU6, 0, 0}, leaky = {CLSEG_ACT_LEAKY_RELU, 0.1f, 0};
  const conv_case cases[] = {
      {{2, 5, 37, 70},
       {5, 1, 3, 3},
       {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 5, .act = relu6},
       1,
       1,
       0.0f},
      {{1, 3, 1, 1}, {3, 1, 1, 1}, {.groups = 3}, 1, 1, 0.0f},
      {{1, 3, 1, 1},
       {6, 1, 3, 3},
       {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 3},
       1,
       0,
       0.0f},
      {{2, 4, 33, 65},
       {4, 1, 3, 3},
       {.stride_h = 2,
        .stride_w = 2,
        .pad_top = 1,
        .pad_left = 1,
        .pad_bottom = 1,
        .pad_right = 1,
        .groups = 4,
        .act = leaky},
       1,
       1,
       0.0f},
      {{1, 6, 17, 35},
       {6, 1, 3, 3},
       {.pad_top = 2,
        .pad_left = 2,
        .pad_bottom = 2,
        .pad_right = 2,
        .dilation_h = 2,
        .dilation_w = 2,
        .groups = 6},
       0,
       1,
       0.0f},
      {{2, 3, 15, 33},
       {6, 1, 5, 5},
       {.stride_h = 2,
        .stride_w = 2,
        .pad_top = 2,
        .pad_left = 2,
        .pad_bottom = 2,
        .pad_right = 2,
        .groups = 3,
        .act = relu6},
       1,
       1,
       0.0f},
      {{1, 2, 9, 17},
       {2, 1, 7, 7},
       {.pad_top = 3, .pad_left = 3, .pad_bottom = 3, .pad_right = 3, .groups = 2},
       1,
       0,
       0.0f},
      {{1, 3, 40, 40},
       {3, 1, 3, 3},
       {.pad_top = 36,
        .pad_left = 36,
        .pad_bottom = 36,
        .pad_right = 36,
        .dilation_h = 36,
        .dilation_w = 36,
        .groups = 3,
        .act = leaky},
       1,
       1,
       0.0f},
      {{1, 2, 7, 100}, {4, 1, 3, 1}, {.stride_w = 3, .pad_top = 1, .groups = 2}, 1, 1, 0.0f},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    failures += !run_case(*state, &cases[i], "conv2d_depthwise_gpu", 800 + i);
  report_worst("conv2d_depthwise_gpu edges");
  assert_int_equal(failures, 0);
}

/* Every activation once per variant, with its non-default parameters where it has some. */
static void activations_every_variant(void **state) {
  const clseg_activation acts[] = {{CLSEG_ACT_RELU6, 0, 0},         {CLSEG_ACT_CLIP, -0.3f, 0.4f},
                                   {CLSEG_ACT_LEAKY_RELU, 0.2f, 0}, {CLSEG_ACT_SIGMOID, 0, 0},
                                   {CLSEG_ACT_HARD_SIGMOID, 0, 0},  {CLSEG_ACT_HARD_SWISH, 0, 0},
                                   {CLSEG_ACT_TANH, 0, 0},          {CLSEG_ACT_GELU, 0, 0}};
  int failures = 0;
  for (int v = 0; v < NVARIANTS; v++)
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
      conv_case c = {{1, 6, 9, 17},
                     {6, 6, 3, 3},
                     {.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1},
                     1,
                     1,
                     0.0f};
      if (is_depthwise(VARIANTS[v])) {
        c.ws[1] = 1;
        c.p.groups = 6;
      }
      if (!strcmp(VARIANTS[v], "conv2d_clblast")) { /* 1x1 only */
        c.ws[2] = c.ws[3] = 1;
        c.p = (clseg_conv2d_params){0};
      }
      c.p.act = acts[a];
      failures += !run_case(*state, &c, VARIANTS[v], 500 + a);
      if (!strcmp(VARIANTS[v], "conv2d_vec") || !strcmp(VARIANTS[v], "conv2d_depthwise")) {
        clseg__tune_row row = {.ncells = 1, .cells = {{"GENERIC_MAX_OUTPUTS", 0}}};
        snprintf(row.variant, sizeof row.variant, "%s", VARIANTS[v]);
        clseg__tune_force(*state, &row); /* the activation as a -D value too */
        failures += !run_case(*state, &c, VARIANTS[v], 500 + a);
        clseg__tune_force(*state, NULL);
      }
    }
  assert_int_equal(failures, 0);
}

/* ---- PyTorch fixtures: every conv2d_*.clsf, through "auto" and every variant that supports it
 * ---- */

static bool run_fixture(clseg_context *ctx, const fixture *f, const char *file,
                        const char *variant) {
  clseg_conv2d_params p = {.stride_h = fixture_param_int(f, "stride_h", 0),
                           .stride_w = fixture_param_int(f, "stride_w", 0),
                           .pad_top = fixture_param_int(f, "pad_top", 0),
                           .pad_left = fixture_param_int(f, "pad_left", 0),
                           .pad_bottom = fixture_param_int(f, "pad_bottom", 0),
                           .pad_right = fixture_param_int(f, "pad_right", 0),
                           .dilation_h = fixture_param_int(f, "dilation_h", 0),
                           .dilation_w = fixture_param_int(f, "dilation_w", 0),
                           .groups = fixture_param_int(f, "groups", 0),
                           .variant = variant};
  if (fixture_act_kind(f) >= 0)
    p.act.kind = (clseg_act_kind)fixture_act_kind(f);
  p.act.alpha = fixture_param_float(f, "act.alpha", 0.0f);
  p.act.beta = fixture_param_float(f, "act.beta", 0.0f);
  const fixture_array *ya = fixture_get(f, "y");
  clseg_tensor *x = test_fixture_tensor(ctx, f, "x"), *w = test_fixture_tensor(ctx, f, "w");
  clseg_tensor *b = test_fixture_tensor(ctx, f, "bias"),
               *r = test_fixture_tensor(ctx, f, "residual"), *y = NULL;
  int64_t ys[4];
  assert_true(x && w && ya && fixture_shape4(ya, ys));
  y = test_tensor(ctx, ys, NULL);
  char what[1024];
  snprintf(what, sizeof what, "fixture %s variant=%s %s", file, variant, fixture_params_text(f));
  clseg_status s = clseg_conv2d(ctx, x, w, b, r, &p, y);
  bool ok =
      s == CLSEG_UNSUPPORTED && strcmp(variant, "auto") != 0; /* a forced variant may decline */
  if (s == CLSEG_OK) {
    float *got = malloc(ya->count * sizeof *got);
    assert_non_null(got);
    assert_int_equal(clseg_tensor_download(y, got, ya->count), CLSEG_OK);
    ok = check_close("y", got, ya->data, ya->count, ys, NULL, what);
    free(got);
  } else if (!ok) {
    fprintf(stderr, "%s: %s\n", what, clseg_last_error(ctx));
  }
  clseg_tensor_free(x), clseg_tensor_free(w), clseg_tensor_free(b), clseg_tensor_free(r),
      clseg_tensor_free(y);
  return ok;
}

static void fixtures_all_variants(void **state) {
  DIR *d = opendir(CLSEG_FIXTURE_DIR);
  assert_non_null(d);
  struct dirent *e;
  int seen = 0, failures = 0;
  const char *variants[NVARIANTS + 1] = {"auto"};
  for (int v = 0; v < NVARIANTS; v++)
    variants[v + 1] = VARIANTS[v];
  while ((e = readdir(d)) != NULL) {
    const size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "conv2d_", 7) != 0 || len < 5 ||
        strcmp(e->d_name + len - 5, ".clsf") != 0)
      continue;
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", CLSEG_FIXTURE_DIR, e->d_name);
    fixture *f = fixture_load(path, err, sizeof err);
    if (!f)
      fail_msg("%s", err);
    for (int v = 0; v <= NVARIANTS; v++)
      failures += !run_fixture(*state, f, e->d_name, variants[v]);
    fixture_free(f);
    seen++;
  }
  closedir(d);
  print_message("%d conv2d fixtures x %d variants\n", seen, NVARIANTS + 1);
  assert_true(seen >= 10);
  assert_int_equal(failures, 0);
}

/* ---- batchnorm fold (host utility) against the PyTorch fixtures ---- */

static void batchnorm_fold_fixtures(void **state) {
  (void)state;
  const char *files[] = {"batchnorm_fold_bias.clsf", "batchnorm_fold_nobias.clsf"};
  for (int i = 0; i < 2; i++) {
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", CLSEG_FIXTURE_DIR, files[i]);
    fixture *f = fixture_load(path, err, sizeof err);
    if (!f)
      fail_msg("%s", err);
    const fixture_array *w = fixture_get(f, "weight"), *wf = fixture_get(f, "weight_folded");
    const fixture_array *bf = fixture_get(f, "bias_folded"), *b = fixture_get(f, "bias");
    assert_true(w && wf && bf);
    const int64_t cout = w->dims[0], per_out = (int64_t)w->count / cout;
    float *fw = malloc(w->count * sizeof *fw), *fb = calloc((size_t)cout, sizeof *fb);
    assert_true(fw && fb);
    memcpy(fw, w->data, w->count * sizeof *fw);
    if (b)
      memcpy(fb, b->data, (size_t)cout * sizeof *fb);
    clseg_batchnorm_fold(fw, fb, cout, per_out, fixture_get(f, "gamma")->data,
                         fixture_get(f, "beta")->data, fixture_get(f, "mean")->data,
                         fixture_get(f, "var")->data, fixture_param_float(f, "eps", 0.0f));
    assert_true(check_close("weight_folded", fw, wf->data, w->count, NULL, NULL, files[i]));
    assert_true(check_close("bias_folded", fb, bf->data, (size_t)cout, NULL, NULL, files[i]));
    free(fw);
    free(fb);
    fixture_free(f);
  }
}

/* ---- error paths: each status a user can hit, with the message checked ---- */

typedef struct {
  clseg_tensor *x, *w, *y, *b;
} err_set;

static err_set err_tensors(clseg_context *ctx) {
  const int64_t xs[4] = {1, 4, 8, 8}, ws[4] = {6, 4, 3, 3}, ys[4] = {1, 6, 6, 6},
                bs[4] = {6, 1, 1, 1};
  err_set e = {test_tensor(ctx, xs, NULL), test_tensor(ctx, ws, NULL), test_tensor(ctx, ys, NULL),
               test_tensor(ctx, bs, NULL)};
  return e;
}

static void err_free(err_set *e) {
  clseg_tensor_free(e->x), clseg_tensor_free(e->w), clseg_tensor_free(e->y),
      clseg_tensor_free(e->b);
}

static void expect_error(clseg_context *ctx, clseg_status got, clseg_status want,
                         const char *needle) {
  assert_int_equal(got, want);
  assert_true(test_contains(clseg_last_error(ctx), needle));
}

static void errors_channels_groups_shapes(void **state) {
  clseg_context *ctx = *state;
  err_set e = err_tensors(ctx);
  const int64_t ws5[4] = {6, 5, 3, 3}, ys_bad[4] = {1, 6, 7, 7};
  clseg_tensor *w5 = test_tensor(ctx, ws5, NULL), *ybad = test_tensor(ctx, ys_bad, NULL);
  clseg_conv2d_params p = {0};
  expect_error(ctx, clseg_conv2d(ctx, e.x, w5, NULL, NULL, &p, e.y), CLSEG_SHAPE_MISMATCH,
               "input [1, 4, 8, 8] has 4 channels, weight [6, 5, 3, 3] expects 5");
  p.groups = 3;
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "groups 3 must divide");
  p.groups = -1;
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "groups -1");
  p.groups = 0;
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, ybad), CLSEG_SHAPE_MISMATCH,
               "output has shape [1, 6, 7, 7], expected [1, 6, 6, 6]");
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, e.y, NULL, &p, e.y), CLSEG_SHAPE_MISMATCH,
               "bias has 216");
  p.pad_left = -1;
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "padding");
  p = (clseg_conv2d_params){.dilation_h = 9};
  int64_t out[4];
  expect_error(ctx, clseg_conv2d_shape(e.x, e.w, &p, out), CLSEG_SHAPE_MISMATCH,
               "larger than the padded");
  clseg_tensor_free(w5), clseg_tensor_free(ybad);
  err_free(&e);
}

static void errors_null_and_variants(void **state) {
  clseg_context *ctx = *state;
  err_set e = err_tensors(ctx);
  clseg_conv2d_params p = {0};
  expect_error(ctx, clseg_conv2d(ctx, NULL, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "input is NULL");
  expect_error(ctx, clseg_conv2d(ctx, e.x, NULL, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "weight is NULL");
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, NULL), CLSEG_INVALID_ARGUMENT,
               "output is NULL");
  assert_int_equal(clseg_conv2d(NULL, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT);
  p.variant = "conv2d_winograd9x9";
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "unknown variant 'conv2d_winograd9x9'");
  p.variant = "conv2d_depthwise";
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_UNSUPPORTED,
               "variant 'conv2d_depthwise' does not support");
  p.variant = NULL;
  p.act.kind = (clseg_act_kind)42;
  expect_error(ctx, clseg_conv2d(ctx, e.x, e.w, NULL, NULL, &p, e.y), CLSEG_INVALID_ARGUMENT,
               "activation");
  err_free(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_direct),
      cmocka_unit_test(sweep_depthwise),
      cmocka_unit_test(sweep_depthwise_gpu),
      cmocka_unit_test(depthwise_gpu_edge_shapes),
      cmocka_unit_test(sweep_vec),
      cmocka_unit_test(sweep_depthwise_specialized),
      cmocka_unit_test(sweep_vec_specialized),
      cmocka_unit_test(sweep_gemm),
      cmocka_unit_test(sweep_clblast),
      cmocka_unit_test(sweep_winograd),
      cmocka_unit_test(sweep_winograd2x2),
      cmocka_unit_test(winograd_network_shapes),
      cmocka_unit_test(sweep_winograd_gpu),
      cmocka_unit_test(sweep_winograd2x2_gpu),
      cmocka_unit_test(winograd_gpu_bands),
      cmocka_unit_test(sweep_winograd_dilated),
      cmocka_unit_test(winograd_dilated_shapes),
      cmocka_unit_test(vec_and_depthwise_wide_shapes),
      cmocka_unit_test(activations_every_variant),
      cmocka_unit_test(fixtures_all_variants),
      cmocka_unit_test(batchnorm_fold_fixtures),
      cmocka_unit_test(errors_channels_groups_shapes),
      cmocka_unit_test(errors_null_and_variants),
  };
  test_filter_from_env();
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
