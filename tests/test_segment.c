/* clseg_segment_image (include/clseg_segment.h) against a reference built here from the plan
 * itself: the same network input (clseg_image_to_tensor_data, or a naive tile crop), the plan's
 * raw output, then this file's own bilinear resampling (half-pixel centres), ramp blending of
 * tiles, softmax / sigmoid and the class decision. Class models: a fixture U-Net (2 classes,
 * fixed 32x32); binary: the bundled selfie model (probabilities, 256x256). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "clseg_segment.h"
#include "common/check.h"

#define UNET   CLSEG_FIXTURE_DIR "/models/unet_scse_bilinear.safetensors"
#define SELFIE CLSEG_FIXTURE_DIR "/../../models/selfie_segmentation.tflite"

/* A w x h RGB image of seeded noise over smooth gradients (so both classes appear). */
static clseg_image make_image(int w, int h, uint64_t seed) {
  clseg_image im = {w, h, 3, 8, malloc((size_t)w * (size_t)h * 3)};
  float *noise = test_random((size_t)w * (size_t)h * 3, seed, 0.0f, 60.0f);
  assert_true(im.data && noise);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        const size_t i = ((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c;
        const float v = c == 0 ? 190.0f * x / w : c == 1 ? 190.0f * y / h : 95.0f;
        im.data[i] = (uint8_t)(v + noise[i]);
      }
  free(noise);
  return im;
}

/* Bilinear sample (half-pixel centres, clamped) of plane p (h x w) at output pixel (x, y) of W x H.
 */
static double sample(const float *p, int h, int w, int H, int W, int y, int x) {
  double sy = (y + 0.5) * h / H - 0.5, sx = (x + 0.5) * w / W - 0.5;
  sy = sy < 0 ? 0 : sy;
  sx = sx < 0 ? 0 : sx;
  int y0 = (int)sy, x0 = (int)sx;
  y0 = y0 > h - 1 ? h - 1 : y0;
  x0 = x0 > w - 1 ? w - 1 : x0;
  const int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
  const double fy = sy - y0, fx = sx - x0;
  const double top = p[y0 * w + x0] + fx * (p[y0 * w + x1] - p[y0 * w + x0]);
  const double bot = p[y1 * w + x0] + fx * (p[y1 * w + x1] - p[y1 * w + x0]);
  return top + fy * (bot - top);
}

/* The class and probabilities of one pixel from k raw values (logits unless is_prob). */
static int decide(const double *v, int k, int is_prob, double threshold, double *probs) {
  if (k == 1) {
    probs[0] = is_prob ? v[0] : 1.0 / (1.0 + exp(-v[0]));
    return probs[0] >= threshold;
  }
  int best = 0;
  double sum = 0;
  for (int c = 1; c < k; c++)
    best = v[c] > v[best] ? c : best;
  for (int c = 0; c < k; c++)
    sum += probs[c] = is_prob ? v[c] : exp(v[c] - v[best]);
  for (int c = 0; !is_prob && c < k; c++)
    probs[c] /= sum;
  return best;
}

/* Compares r with the reference classes and probabilities: probabilities within 1e-5; a class may
 * differ only where the reference's two best are within 1e-4 (a tie the float32 path may break the
 * other way). Returns the number of such tie pixels. */
static int compare(const clseg_segmentation *r, const uint8_t *cls, const double *probs,
                   const double *margin, const char *what) {
  const size_t px = (size_t)r->width * (size_t)r->height;
  int ties = 0;
  double worst = 0;
  for (size_t i = 0; i < px; i++) {
    for (int c = 0; c < r->classes; c++)
      worst = fmax(worst, fabs(r->probs[(size_t)c * px + i] - probs[(size_t)c * px + i]));
    if (r->mask[i] != cls[i]) {
      if (margin[i] > 1e-4)
        fail_msg("%s: pixel %zu is class %d, the reference's %d (margin %.3g)", what, i, r->mask[i],
                 cls[i], margin[i]);
      ties++;
    }
  }
  print_message("%s: %dx%d, %d classes, max |prob diff| %.3g, %d tie pixels\n", what, r->width,
                r->height, r->classes, worst, ties);
  assert_true(worst <= 1e-5);
  return ties;
}

/* The reference decision of every image pixel from per-class planes (k x h x w, resampled to the
 * image) or from image-resolution values (h == H, w == W: no resampling). */
static void reference(const float *out, int k, int h, int w, int H, int W, int is_prob,
                      double threshold, uint8_t *cls, double *probs, double *margin) {
  const size_t px = (size_t)W * (size_t)H;
  double v[8], pr[8];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const size_t i = (size_t)y * (size_t)W + (size_t)x;
      for (int c = 0; c < k; c++)
        v[c] = sample(out + (size_t)c * (size_t)h * (size_t)w, h, w, H, W, y, x);
      cls[i] = (uint8_t)decide(v, k, is_prob, threshold, pr);
      for (int c = 0; c < k; c++)
        probs[(size_t)c * px + i] = pr[c];
      margin[i] = k == 1 ? fabs(pr[0] - threshold) : fabs(v[0] - v[1]);
    }
}

static clseg_model *load(const char *path) {
  clseg_model *m = NULL;
  if (clseg_model_load(path, &m) != CLSEG_OK)
    fail_msg("%s", clseg_last_error(NULL));
  return m;
}

/* The whole-image path of model m on an image of w x h (noise over gradients), or on the sample
 * photo when w is 0. */
static void whole_image(clseg_model *m, int w, int h, float threshold, const char *what) {
  clseg_segmenter *s = NULL;
  const clseg_segment_options o = {.threshold = threshold};
  assert_int_equal(clseg_segmenter_create(test_ctx, m, &o, &s), CLSEG_OK);
  clseg_image im = {0}, file = {0};
  if (w) {
    im = make_image(w, h, (uint64_t)w * 7919u + (uint64_t)h);
  } else {
    assert_int_equal(clseg_image_read(CLSEG_FIXTURE_DIR "/../../samples/astronaut.png", &file),
                     CLSEG_OK);
    assert_int_equal(clseg_image_to_rgb(&file, &im), CLSEG_OK);
    clseg_image_free(&file);
    w = im.width;
    h = im.height;
  }
  clseg_segmentation r = {0};
  if (clseg_segment_image(s, &im, CLSEG_SEGMENT_PROBS | CLSEG_SEGMENT_RAW, &r) != CLSEG_OK)
    fail_msg("%s: %s", what, clseg_last_error(test_ctx));
  int64_t ih, iw, os[4];
  assert_true(clseg_model_input_size(m, &ih, &iw));
  assert_true(r.input_h == ih && r.input_w == iw && r.tiles == 1 && r.width == w && r.height == h);
  /* the reference input and the plan's own output */
  const float *mean = clseg_model_mean(m), *std = clseg_model_std(m);
  clseg_tensor_params tp = {
      (int)iw, (int)ih, {mean[0], mean[1], mean[2]}, {std[0], std[1], std[2]}};
  float *in = malloc(sizeof *in * (size_t)(3 * ih * iw));
  clseg_plan *p = NULL;
  assert_int_equal(clseg_image_to_tensor_data(&im, &tp, in), CLSEG_OK);
  assert_int_equal(clseg_plan_create(test_ctx, clseg_model_graph(m), 1, ih, iw, NULL, &p),
                   CLSEG_OK);
  clseg_plan_output_shape(p, os);
  const size_t n = (size_t)(os[1] * os[2] * os[3]), px = (size_t)w * (size_t)h;
  float *out = malloc(sizeof *out * n);
  assert_int_equal(clseg_plan_run(p, in, (size_t)(3 * ih * iw), out, n), CLSEG_OK);
  assert_int_equal(r.outputs, 1);
  assert_memory_equal(r.raw_shape[0], os, sizeof os);
  for (size_t i = 0; i < n; i++)
    assert_true(fabsf(r.raw[0][i] - out[i]) <= 1e-6f * (1.0f + fabsf(out[i])));
  uint8_t *cls = malloc(px);
  double *probs = malloc(sizeof *probs * px * (size_t)os[1]), *margin = malloc(sizeof *margin * px);
  reference(out, (int)os[1], (int)os[2], (int)os[3], h, w, clseg_model_output_is_probability(m),
            threshold > 0 ? threshold : 0.5, cls, probs, margin);
  assert_int_equal(r.classes, (int)os[1]);
  compare(&r, cls, probs, margin, what);
  size_t ones = 0; /* both classes present, or the comparison proves little */
  for (size_t i = 0; i < px; i++)
    ones += r.mask[i] == 1;
  print_message("%s: %.1f%% class 1\n", what, 100.0 * (double)ones / (double)px);
  assert_true(ones > px / 100 && ones < px - px / 100);
  free(in), free(out), free(cls), free(probs), free(margin);
  clseg_plan_free(p);
  clseg_segmentation_free(&r);
  assert_null(r.mask);
  clseg_image_free(&im);
  clseg_segmenter_free(s);
}

static void whole_image_class_model(void **state) {
  (void)state;
  clseg_model *m = load(UNET);
  whole_image(m, 45, 37, 0.0f, "unet 45x37");
  whole_image(m, 32, 32, 0.0f, "unet 32x32");
  whole_image(m, 7, 90, 0.0f, "unet 7x90");
  clseg_model_free(m);
}

static void whole_image_binary_model(void **state) {
  (void)state;
  clseg_model *m = load(SELFIE);
  whole_image(m, 0, 0, 0.3f, "selfie on the astronaut, threshold 0.3");
  clseg_model_free(m);
}

/* Blending weight across a tile (the documented ramp: linear over the overlap, 1 inside). */
static double ramp(int t, int size, int overlap) {
  const double a = (t + 1.0) / (overlap + 1.0), b = (double)(size - t) / (overlap + 1.0);
  return fmin(1.0, fmin(a, b));
}

/* Tiles of the U-Net's 32x32 over a 70x45 image with an overlap of 8: 3 x 2 tiles whose last row
 * and column sit flush with the image's edge; the reference crops, runs the plan per tile and
 * blends with the ramps. */
static void tiles_blend_like_the_reference(void **state) {
  (void)state;
  enum { W = 70, H = 45, T = 32, OV = 8 };
  clseg_model *m = load(UNET);
  clseg_segmenter *s = NULL;
  const clseg_segment_options o = {.tile = T, .overlap = OV};
  assert_int_equal(clseg_segmenter_create(test_ctx, m, &o, &s), CLSEG_OK);
  clseg_image im = make_image(W, H, 99);
  clseg_segmentation r = {0};
  assert_int_equal(clseg_segment_image(s, &im, CLSEG_SEGMENT_RAW, &r), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(test_ctx), "RAW not with tiles"));
  if (clseg_segment_image(s, &im, CLSEG_SEGMENT_PROBS, &r) != CLSEG_OK)
    fail_msg("%s", clseg_last_error(test_ctx));
  assert_true(r.tiles == 6 && r.input_h == T && r.input_w == T);
  clseg_plan *p = NULL;
  assert_int_equal(clseg_segmenter_plan(s, 1, T, T, &p), CLSEG_OK);
  const float *mean = clseg_model_mean(m), *std = clseg_model_std(m);
  const int xs[] = {0, 24, W - T}, ys[] = {0, H - T};
  static float acc[2][H][W], in[3 * T * T], out[2 * T * T];
  static double wsum[H][W];
  for (int ty = 0; ty < 2; ty++)
    for (int tx = 0; tx < 3; tx++) {
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < T; y++)
          for (int x = 0; x < T; x++) {
            const int sy = ys[ty] + y, sx = xs[tx] + x;
            const uint8_t v = im.data[((size_t)sy * W + (size_t)sx) * 3 + (size_t)c];
            in[(c * T + y) * T + x] = (v / 255.0f - mean[c]) / std[c];
          }
      assert_int_equal(clseg_plan_run(p, in, 3 * T * T, out, 2 * T * T), CLSEG_OK);
      for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++) {
          const double wt = ramp(y, T, OV) * ramp(x, T, OV);
          wsum[ys[ty] + y][xs[tx] + x] += wt;
          for (int c = 0; c < 2; c++)
            acc[c][ys[ty] + y][xs[tx] + x] += (float)(wt * out[(c * T + y) * T + x]);
        }
    }
  static float blended[2 * W * H];
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        blended[(c * H + y) * W + x] = (float)(acc[c][y][x] / wsum[y][x]);
  static uint8_t cls[W * H];
  static double probs[2 * W * H], margin[W * H];
  reference(blended, 2, H, W, H, W, 0, 0.5, cls, probs, margin);
  compare(&r, cls, probs, margin, "unet tiles 32 overlap 8 on 70x45");
  clseg_segmentation_free(&r);
  clseg_image_free(&im);
  clseg_segmenter_free(s);
  clseg_model_free(m);
}

/* A call that fails with want and a message on the context holding needle. */
static void expect_fail_ctx(clseg_status got, clseg_status want, const char *needle) {
  if (got != want || !test_contains(clseg_last_error(test_ctx), needle))
    fail_msg("got %s '%s', wanted %s with '%s'", clseg_status_name(got), clseg_last_error(test_ctx),
             clseg_status_name(want), needle);
}

/* clseg_segment_images: three images of different sizes (one input size for the fixed 32x32
 * U-Net) in one batch-3 run give each image's one-by-one result: probabilities within 1e-5, the
 * class the same except at ties (the two best within 1e-4); refused with tiles or RAW. */
static void batch_equals_one_by_one(void **state) {
  (void)state;
  clseg_model *m = load(UNET);
  clseg_segmenter *s = NULL;
  assert_int_equal(clseg_segmenter_create(test_ctx, m, NULL, &s), CLSEG_OK);
  clseg_image im[3] = {make_image(45, 37, 5), make_image(32, 32, 6), make_image(7, 90, 7)};
  const clseg_image *ptr[3] = {&im[0], &im[1], &im[2]};
  clseg_segmentation batch[3] = {{0}}, one = {0};
  if (clseg_segment_images(s, ptr, 3, CLSEG_SEGMENT_PROBS, batch) != CLSEG_OK)
    fail_msg("%s", clseg_last_error(test_ctx));
  for (int i = 0; i < 3; i++) {
    assert_int_equal(clseg_segment_image(s, &im[i], CLSEG_SEGMENT_PROBS, &one), CLSEG_OK);
    const clseg_segmentation *b = &batch[i];
    assert_true(b->width == im[i].width && b->height == im[i].height && b->classes == 2 &&
                b->input_h == 32 && b->input_w == 32 && b->tiles == 1);
    const size_t px = (size_t)im[i].width * (size_t)im[i].height;
    for (size_t j = 0; j < 2 * px; j++)
      if (fabsf(b->probs[j] - one.probs[j]) > 1e-5f)
        fail_msg("image %d (%dx%d) probability %zu: batch %.7f, one by one %.7f", i, im[i].width,
                 im[i].height, j, b->probs[j], one.probs[j]);
    for (size_t j = 0; j < px; j++)
      if (b->mask[j] != one.mask[j] && fabsf(one.probs[j] - one.probs[px + j]) > 1e-4f)
        fail_msg("image %d pixel %zu: class %d in the batch, %d one by one", i, j, b->mask[j],
                 one.mask[j]);
    clseg_segmentation_free(&one);
    clseg_segmentation_free(&batch[i]);
  }
  expect_fail_ctx(clseg_segment_images(s, ptr, 2, CLSEG_SEGMENT_RAW, batch), CLSEG_INVALID_ARGUMENT,
                  "flags PROBS or 0");
  expect_fail_ctx(clseg_segment_images(s, ptr, 0, 0, batch), CLSEG_INVALID_ARGUMENT, "n 0");
  clseg_segmenter_free(s);
  const clseg_segment_options tiles = {.tile = 32, .overlap = 8};
  assert_int_equal(clseg_segmenter_create(test_ctx, m, &tiles, &s), CLSEG_OK);
  expect_fail_ctx(clseg_segment_images(s, ptr, 2, 0, batch), CLSEG_INVALID_ARGUMENT, "no tiles");
  assert_null(batch[0].mask);
  clseg_segmenter_free(s);
  for (int i = 0; i < 3; i++)
    clseg_image_free(&im[i]);
  clseg_model_free(m);
}

/* Options a model cannot take, bad images and flags: clear errors, nothing written. */
static void errors_name_the_problem(void **state) {
  (void)state;
  clseg_model *m = load(UNET);
  clseg_segmenter *s = (clseg_segmenter *)1;
  const struct {
    clseg_segment_options o;
    const char *needle;
  } bad[] = {
      {{.size_h = 64, .size_w = 64}, "takes a fixed 32x32 input"},
      {{.size_h = 64}, "give both sides or neither"},
      {{.tile = 16}, "tile 16: this model takes a fixed 32x32 input"},
      {{.tile = 32, .overlap = 32}, "overlap must be below the tile"},
      {{.threshold = 1.5f}, "threshold 1.5 is not in (0, 1]"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(clseg_segmenter_create(test_ctx, m, &bad[i].o, &s), CLSEG_INVALID_ARGUMENT);
    assert_null(s);
    assert_true(test_contains(clseg_last_error(test_ctx), bad[i].needle));
  }
  assert_int_equal(clseg_segmenter_create(test_ctx, NULL, NULL, &s), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_segmenter_create(test_ctx, m, NULL, &s), CLSEG_OK);
  clseg_image gray = {4, 4, 1, 8, (uint8_t[16]){0}};
  clseg_segmentation r = {0};
  assert_int_equal(clseg_segment_image(s, &gray, 0, &r), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(test_ctx), "must be RGB"));
  assert_null(r.mask);
  clseg_image im = make_image(8, 8, 1);
  assert_int_equal(clseg_segment_image(s, &im, 4, &r), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_segment_image(s, NULL, 0, &r), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_segment_image(s, &im, 0, &r), CLSEG_OK); /* a tiny image upsampled */
  assert_true(r.mask && !r.probs && !r.raw[0] && !r.outputs && r.width == 8);
  clseg_segmentation_free(&r);
  clseg_segmentation_free(NULL);
  clseg_image_free(&im);
  clseg_segmenter_free(s);
  clseg_segmenter_free(NULL);
  clseg_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(whole_image_class_model),        cmocka_unit_test(whole_image_binary_model),
      cmocka_unit_test(tiles_blend_like_the_reference), cmocka_unit_test(batch_equals_one_by_one),
      cmocka_unit_test(errors_name_the_problem),
  };
  test_filter_from_env();
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
