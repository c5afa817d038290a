/* The ONNX importer: small exported networks (tests/fixtures/onnx/, made by tools/export_onnx.py
 * fixtures) against onnxruntime's outputs, the fp16 / external-data / symbolic-size variants, and
 * the error paths: every unsupported operator named at once, truncated and corrupted files, a bad
 * external data path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_models.h"
#include "clseg_onnx.h"
#include "common/check.h"
#include "support.h"

#define ONNX_DIR     CLSEG_FIXTURE_DIR "/onnx/"
#define CORRUPT_SEED 20240611ull

/* The hand-built models of tools/make_onnx_fixtures.py are small and exact up to rounding. */
static const check_tol SMALL_TOL = {1e-5, 0.0};

/* Imports STEM.onnx (size h x w for symbolic models), runs STEM.input.npy, checks against
 * STEM.ort.npy (tol NULL: the fp32 defaults); returns the largest absolute error. */
static double check_model_tol(const char *stem, int64_t h, int64_t w, const check_tol *tol) {
  char path[512], ctxt[600];
  clseg_graph *g = NULL;
  clseg_onnx_info info;
  const clseg_onnx_options opt = {h, w};
  snprintf(path, sizeof path, ONNX_DIR "%s.onnx", stem);
  clseg_status s = clseg_onnx_load(path, &opt, &g, &info);
  if (s != CLSEG_OK)
    fail_msg("%s: %s", stem, clseg_last_error(NULL));
  size_t nin, nref;
  snprintf(path, sizeof path, ONNX_DIR "%s.input.npy", stem);
  float *x = test_read_npy(path, &nin, false);
  snprintf(path, sizeof path, ONNX_DIR "%s.ort.npy", stem);
  float *ref = test_read_npy(path, &nref, false);
  clseg_plan *p = NULL;
  s = clseg_plan_create(test_ctx, g, 1, info.input_h, info.input_w, NULL, &p);
  if (s != CLSEG_OK)
    fail_msg("%s: planning: %s", stem, clseg_last_error(test_ctx));
  int64_t os[4];
  clseg_plan_output_shape(p, os);
  assert_int_equal((size_t)(os[0] * os[1] * os[2] * os[3]), nref);
  assert_int_equal((size_t)(info.input_c * info.input_h * info.input_w), nin);
  float *y = malloc(sizeof *y * nref);
  assert_non_null(y);
  assert_int_equal(clseg_plan_run(p, x, nin, y, nref), CLSEG_OK);
  snprintf(ctxt, sizeof ctxt, "model %s, opset %d, %d nodes (%d folded), input %lldx%lld", stem,
           info.opset, info.operators, info.folded, (long long)info.input_h,
           (long long)info.input_w);
  assert_true(check_close(stem, y, ref, nref, os, tol, ctxt));
  double worst = 0;
  for (size_t i = 0; i < nref; i++)
    worst = fmax(worst, fabs((double)y[i] - (double)ref[i]));
  free(y);
  free(x);
  free(ref);
  clseg_plan_free(p);
  clseg_graph_free(g);
  return worst;
}

static void check_model(const char *stem, int64_t h, int64_t w) {
  check_model_tol(stem, h, w, NULL);
}

static void test_unet(void **state) {
  (void)state;
  check_model("unet_op11", 0, 0);
  check_model("unet_op17", 0, 0);
}

static void test_unet_attention(void **state) {
  (void)state;
  check_model("unet_cbam_op13", 0, 0);
  check_model("attention_unet_op17", 0, 0);
  check_model("unet_bilinear_op17", 0, 0); /* bilinear upsampling, scSE */
}

/* GELU (Erf pattern), hard-swish (HardSigmoid * x at opset 11), reflect pad, split, nearest
 * upsampling ... */
static void test_tiny_ops(void **state) {
  (void)state;
  check_model("tiny_ops_op11", 0, 0);
  check_model("tiny_ops_op13", 0, 0);
}

static void test_fp16_and_external(void **state) {
  (void)state;
  check_model("unet_fp16_op13", 0, 0);
  check_model("unet_external_op13", 0, 0);
}

static void test_symbolic_size(void **state) {
  (void)state;
  check_model("unet_dynamic_op17", 32, 32);
  clseg_graph *g = NULL;
  assert_int_equal(clseg_onnx_load(ONNX_DIR "unet_dynamic_op17.onnx", NULL, &g, NULL),
                   CLSEG_INVALID_ARGUMENT);
  assert_null(g);
  assert_true(test_contains(clseg_last_error(NULL), "symbolic height ('height')"));
  const clseg_onnx_options wrong = {64, 64};
  assert_int_equal(clseg_onnx_load(ONNX_DIR "unet_op17.onnx", &wrong, &g, NULL),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "static size 32x32"));
}

static void test_unsupported_listed(void **state) {
  (void)state;
  clseg_graph *g = NULL;
  assert_int_equal(clseg_onnx_load(ONNX_DIR "unsupported_ops.onnx", NULL, &g, NULL),
                   CLSEG_UNSUPPORTED);
  assert_null(g);
  const char *e = clseg_last_error(NULL);
  static const char *const want[] = {"3 unsupported operators (opset 13)",
                                     "Det (domain 'ai.onnx', node 'bad_det')",
                                     "FusedConv (domain 'com.microsoft', node 'bad_fused')",
                                     "Einsum (domain 'ai.onnx', node 'bad_einsum')"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    assert_true(test_contains(e, want[i]));
  assert_false(strstr(e, "ok_relu") != NULL);
}

static void expect_refused(const char *stem, clseg_status want, const char *needle) {
  char path[512];
  clseg_graph *g = NULL;
  snprintf(path, sizeof path, ONNX_DIR "%s.onnx", stem);
  clseg_status s = clseg_onnx_load(path, NULL, &g, NULL);
  if (s != want || !test_contains(clseg_last_error(NULL), needle))
    fail_msg("%s: status %s (wanted %s), message '%s' (wanted '%s')", stem, clseg_status_name(s),
             clseg_status_name(want), clseg_last_error(NULL), needle);
  assert_null(g);
}

/* What converters write: nodes out of order, a float16 input cast to float by the last node, and
 * (order_fp16_io) a float16 output cast from float by the first; a model in float16 throughout
 * (tools/make_onnx_fixtures.py). */
static void test_node_order_fp16_input(void **state) {
  (void)state;
  printf("order_fp16_op17: max |clseg - onnxruntime| %.3g\n",
         check_model_tol("order_fp16_op17", 0, 0, &SMALL_TOL));
  /* the same ending in a Cast to float16: onnxruntime's output is rounded to 16 bits, ours not */
  static const check_tol half_out = {1e-4, 1e-3};
  printf("order_fp16_io_op17: max |clseg - onnxruntime| %.3g\n",
         check_model_tol("order_fp16_io_op17", 0, 0, &half_out));
  /* float16 throughout, computed here in float32 (GELU's sqrt 2 held as 1.4140625 still matches) */
  printf("fp16_all_op13: max |clseg - onnxruntime| %.3g\n",
         check_model_tol("fp16_all_op13", 0, 0, &half_out));
}

/* Resize and Upsample against onnxruntime: every coordinate_transformation_mode x nearest_mode at
 * opsets 11, 13, 18, sizes and scales, up, down, per axis, non-integer (branch k of a model is in
 * channels 2k and 2k + 1; the model's doc_string lists the branches). */
static void test_resize_modes(void **state) {
  (void)state;
  static const char *const stems[] = {"resize_nearest_op11",
                                      "resize_linear_op11",
                                      "resize_nearest_op13",
                                      "resize_linear_op13",
                                      "resize_nearest_op18",
                                      "resize_linear_op18",
                                      "resize_hps_op19",
                                      "resize_to1_op13",
                                      "resize_2x2_to_4x6_op13",
                                      "resize_not_larger_op18",
                                      "resize_not_smaller_op18",
                                      "resize_op10",
                                      "upsample_op7",
                                      "upsample_op9"};
  double worst = 0;
  for (size_t i = 0; i < sizeof stems / sizeof *stems; i++) {
    double e = check_model_tol(stems[i], 0, 0, &SMALL_TOL);
    printf("%-24s max |clseg - onnxruntime| %.3g\n", stems[i], e);
    worst = fmax(worst, e);
  }
  printf("resize models: worst %.3g (tolerance 1e-5)\n", worst);
  static const char *const refused[][2] = {
      {"resize_refused_op13", "coordinate_transformation_mode 'tf_crop_and_resize' is unsupported"},
      {"resize_cubic_op13", "Resize mode 'cubic' is unsupported"},
      {"resize_tfnn_op19", "coordinate_transformation_mode 'tf_half_pixel_for_nn' is unsupported "
                           "from opset 19"},
      {"resize_hps_op18", "coordinate_transformation_mode 'half_pixel_symmetric' is unsupported "
                          "before opset 19 (the model's is 18)"},
      {"resize_antialias_op18", "antialias 1 on a linear downscale is unsupported"},
      {"resize_channels_op13", "a resize to [1, 4, 8, 8] from [1, 2, 4, 4] is unsupported"}};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    char want[256];
    snprintf(want, sizeof want, "node 0 (Resize 'resize_1'): %s", refused[i][1]);
    expect_refused(refused[i][0], CLSEG_UNSUPPORTED, want);
  }
}

static void test_bad_graphs(void **state) {
  (void)state;
  expect_refused("cycle_self_op13", CLSEG_FORMAT,
                 "node 1 (Add 'loop_add'): reads its own output 's' (a cycle)");
  expect_refused("cycle_op13", CLSEG_FORMAT,
                 "node 1 (Add 'cyc_a'): is on a cycle: 'cyc_a' (Add) reads 'cyc_c' (Neg), which "
                 "reads 'cyc_b' (Sigmoid), which reads 'cyc_a' (Add)");
  expect_refused("cycle_input_op13", CLSEG_FORMAT,
                 "node 0 (Relu 'relu_self'): output 0 ('x') is also an initializer or a graph "
                 "input, and the node reads it (a cycle)");
  expect_refused("dangling_op13", CLSEG_FORMAT,
                 "node 1 (Mul 'reads_ghost'): input 1 ('ghost') is produced by no node and is "
                 "neither an initializer nor a graph input");
  expect_refused("unnamed_init_op13", CLSEG_FORMAT, "initializer 0 has no name");
  expect_refused("twice_op13", CLSEG_FORMAT,
                 "node 1 (Sigmoid 'sigmoid_b'): output 0 ('y') is also produced earlier");
}

static void test_bad_external(void **state) {
  (void)state;
  clseg_graph *g = NULL;
  assert_int_equal(clseg_onnx_load(ONNX_DIR "bad_external.onnx", NULL, &g, NULL), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(NULL), "external data location '../outside.bin'"));
  size_t len;
  unsigned char *buf = test_read_file(ONNX_DIR "unet_external_op13.onnx", &len);
  assert_int_equal(clseg_onnx_load_buffer(buf, len, "mem", NULL, &g, NULL), CLSEG_UNSUPPORTED);
  assert_true(test_contains(clseg_last_error(NULL), "needs the model's folder"));
  free(buf);
}

/* Every prefix length in a sweep, and seeded byte flips: a clean error or a valid graph, never a
 * crash. */
static void test_truncated_and_corrupted(void **state) {
  (void)state;
  size_t len;
  unsigned char *buf = test_read_file(ONNX_DIR "unet_cbam_op13.onnx", &len);
  clseg_graph *g = NULL;
  assert_int_equal(clseg_onnx_load_buffer(buf, len / 2, "half", NULL, &g, NULL), CLSEG_FORMAT);
  assert_true(test_contains(clseg_last_error(NULL),
                            "half: not a valid ONNX model (the protobuf is truncated"));
  for (size_t cut = 1; cut < len; cut += len / 97 + 1) {
    clseg_status s = clseg_onnx_load_buffer(buf, cut, "cut", NULL, &g, NULL);
    assert_true(s != CLSEG_OK || g);
    clseg_graph_free(g);
  }
  check_rng r = {CORRUPT_SEED};
  unsigned char *copy = malloc(len);
  assert_non_null(copy);
  for (int t = 0; t < 200; t++) {
    memcpy(copy, buf, len);
    for (int k = 0; k < 4; k++)
      copy[check_rng_next(&r) % len] ^= (unsigned char)(1u << (check_rng_next(&r) % 8));
    clseg_status s = clseg_onnx_load_buffer(copy, len, "flipped", NULL, &g, NULL);
    if (s == CLSEG_OK)
      assert_non_null(g);
    else
      assert_true(strlen(clseg_last_error(NULL)) > 10);
    clseg_graph_free(g);
  }
  free(copy);
  free(buf);
}

/* clseg_model_load recognises ONNX by content. */
static void test_model_load(void **state) {
  (void)state;
  clseg_model *m = NULL;
  if (clseg_model_load(ONNX_DIR "unet_op11.onnx", &m) != CLSEG_OK)
    fail_msg("%s", clseg_last_error(NULL));
  int64_t h = 0, w = 0;
  assert_string_equal(clseg_model_network(m), "onnx");
  assert_int_equal(clseg_model_classes(m), 2);
  assert_true(clseg_model_input_size(m, &h, &w));
  assert_int_equal(h, 32);
  assert_int_equal(w, 32);
  assert_true(clseg_model_std(m)[0] == 1.0f && clseg_model_mean(m)[0] == 0.0f);
  clseg_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unet),          cmocka_unit_test(test_unet_attention),
      cmocka_unit_test(test_tiny_ops),      cmocka_unit_test(test_fp16_and_external),
      cmocka_unit_test(test_symbolic_size), cmocka_unit_test(test_unsupported_listed),
      cmocka_unit_test(test_bad_external),  cmocka_unit_test(test_truncated_and_corrupted),
      cmocka_unit_test(test_model_load),    cmocka_unit_test(test_node_order_fp16_input),
      cmocka_unit_test(test_bad_graphs),    cmocka_unit_test(test_resize_modes),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
