/* The ONNX importer's operators of issue 19 (DepthToSpace, SpaceToDepth, PixelShuffle as torch.onnx
 * writes it, PRelu ...; batches above 1, opsets 1 to 6, reductions): every model of
 * tests/fixtures/onnx_ops/index.txt (tools/make_onnx_op_fixtures.py) and
 * tests/fixtures/onnx_compat/index.txt (tools/make_onnx_compat_fixtures.py) imported, planned at
 * the input's batch and run against onnxruntime's output; and the files clseg refuses, each with
 * its status and the message naming node, attribute and value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_onnx.h"
#include "support.h"

#define OPS_DIR    CLSEG_FIXTURE_DIR "/onnx_ops"
#define COMPAT_DIR CLSEG_FIXTURE_DIR "/onnx_compat"

/* Data moves and PRelu are exact; a conv before them sums 27 products. */
static const check_tol EXACT = {0.0, 0.0}, CONV = {1e-5, 0.0};

static void test_space_depth(void **state) {
  (void)state;
  test_onnx_index(OPS_DIR, "d2s_", 5, &EXACT);
  test_onnx_index(OPS_DIR, "s2d_", 2, &EXACT);
  test_onnx_index(OPS_DIR, "pixelshuffle_", 3, &CONV); /* the opset-9 form: tensors of rank 6 */
}

static void test_prelu(void **state) {
  (void)state;
  test_onnx_index(OPS_DIR, "prelu_", 4, &EXACT);
  test_onnx_index(OPS_DIR, "head_prelu", 1, &CONV); /* after a mean of 15 values */
}

/* Clips are exact; softmax within float rounding of exp and a sum of at most 60 terms. */
static void test_clip_softmax(void **state) {
  (void)state;
  static const check_tol SOFTMAX = {1e-6, 1e-5};
  test_onnx_index(OPS_DIR, "clip_", 7, &EXACT);
  test_onnx_index(OPS_DIR, "softmax_", 9, &SOFTMAX); /* with axes other than C (any rank) */
}

/* Products of 60 terms of size up to 2 x 0.6. */
static void test_heads(void **state) {
  (void)state;
  static const check_tol PRODUCT = {1e-5, 1e-5};
  test_onnx_index(OPS_DIR, "head_gemm", 3, &PRODUCT);
  test_onnx_index(OPS_DIR, "head_matmul", 1, &PRODUCT);
  test_onnx_index(OPS_DIR, "flatten_", 2, &EXACT); /* rows of [N, C H W] and [N C, H W] */
}

/* Concat on any axis and rank, empty inputs skipped (segmentation-models-pytorch's U-Net and FPN),
 * and a Gather of a run of any length (its UPerNet through torch.export):
 * data moves of activations, whose Sigmoid and Tanh round differently from onnxruntime's; the FPN
 * merge sums 4 terms. */
static void test_concat(void **state) {
  (void)state;
  static const check_tol ACT = {1e-6, 1e-5};
  test_onnx_index(OPS_DIR, "concat_", 7, &ACT);
  test_onnx_index(OPS_DIR, "gather_", 1, &ACT); /* a mean of 12 values gathered */
}

/* Batches above 1 (tools/make_onnx_compat_fixtures.py): the same sums as one image, so the same
 * bounds; the U-Net sums up to 72 products through 8 convs with batchnorm and bilinear resizes. */
static void test_batch(void **state) {
  (void)state;
  static const check_tol PRODUCT = {1e-5, 1e-5}, UNET = {1e-5, 1e-4};
  test_onnx_index(COMPAT_DIR, "batch", 5, &PRODUCT);
  test_onnx_index(COMPAT_DIR, "unet_tiny_", 2, &UNET);
}

/* Opsets 1 to 6: against onnxruntime where it runs them, else on the same graph written at 7 to 9
 * (make_onnx_compat_fixtures.py's old_cases). Sums of at most 27 products; data moves exact. */
static void test_old_opsets(void **state) {
  (void)state;
  static const check_tol PRODUCT = {1e-5, 1e-5};
  test_onnx_index(COMPAT_DIR, "old_", 14, &PRODUCT); /* PRelu-1 and -6 too */
}

/* Reductions of a conv's output (batch 2): a sum over C, H and W adds 175 terms; a ReduceSum is
 * the mean times the count, so one more rounding. */
static void test_reduce(void **state) {
  (void)state;
  static const check_tol SUM = {1e-5, 1e-5};
  test_onnx_index(COMPAT_DIR, "reduce_", 16, &SUM); /* with any axes: H, all, the batch, C */
}

/* Three outputs: the main "mask" (a Relu fused into the conv), "score" and "features" (the conv
 * itself, also read by the others), each against onnxruntime within 1e-5. */
static void test_multi_output(void **state) {
  (void)state;
  static const char *const names[] = {"mask", "score", "features"};
  clseg_graph *g = NULL;
  clseg_onnx_info info;
  clseg_plan *p = NULL;
  if (clseg_onnx_load(OPS_DIR "/multi_output.onnx", NULL, &g, &info) != CLSEG_OK)
    fail_msg("%s", clseg_last_error(NULL));
  assert_int_equal(info.outputs, 3);
  assert_string_equal(info.output_name, "mask");
  assert_int_equal(clseg_plan_create(test_ctx, g, 1, 7, 9, NULL, &p), CLSEG_OK);
  size_t n, counts[3];
  float *x = test_read_npy(OPS_DIR "/multi_output.input.npy", &n, false), *out[3], *ref[3];
  for (int i = 0; i < 3; i++) {
    char path[512];
    int64_t s[4];
    snprintf(path, sizeof path, OPS_DIR "/multi_output.ort%d.npy", i);
    ref[i] = test_read_npy(path, &counts[i], false);
    assert_int_equal(clseg_plan_output_shape_at(p, i, s), CLSEG_OK);
    assert_int_equal((size_t)(s[0] * s[1] * s[2] * s[3]), counts[i]);
    assert_string_equal(clseg_plan_output_name(p, i), names[i]);
    out[i] = malloc(sizeof *out[i] * counts[i]);
  }
  assert_int_equal(clseg_plan_run_outputs(p, x, n, out, counts, 3), CLSEG_OK);
  for (int i = 0; i < 3; i++) {
    double worst = 0;
    for (size_t j = 0; j < counts[i]; j++)
      worst = fmax(worst, isnan(out[i][j]) ? INFINITY : fabs((double)out[i][j] - ref[i][j]));
    print_message("multi_output %-8s max|diff| %.3g\n", names[i], worst);
    assert_true(worst <= 1e-5);
    free(out[i]), free(ref[i]);
  }
  assert_int_equal(clseg_plan_output_shape_at(p, 3, (int64_t[4]){0}), CLSEG_INVALID_ARGUMENT);
  free(x);
  clseg_plan_free(p);
  clseg_graph_free(g);
}

/* BatchNormalization with its optional outputs listed in inference forms (training_mode 0, empty
 * names), against onnxruntime on the same graph with Y alone; its training forms are in
 * test_refused. A conv of 27 products before it. */
static void test_batchnorm_outputs(void **state) {
  (void)state;
  static const check_tol PRODUCT = {1e-5, 1e-5};
  test_onnx_index(OPS_DIR, "bn_", 3, &PRODUCT);
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    const char *stem, *needle;
    clseg_status want;
  } cases[] = {
      {"prelu_width_op16",
       "node 0 (PRelu 'n_prelu_width_op16'): slope 'slope' of shape [1, 1, 7] is unsupported (one "
       "value, or one per channel of 3)",
       CLSEG_UNSUPPORTED},
      {"clip_tensor_max_op13",
       "node 1 (Clip '/clip/Clip'): max ('m') that is not a constant scalar is unsupported",
       CLSEG_UNSUPPORTED},
      {"d2s_badmode_op13", "node 0 (DepthToSpace 'n_d2s_badmode_op13'): mode 'RDC' (DCR or CRD)",
       CLSEG_FORMAT},
      {"old_bn_spatial0_op6",
       "node 0 (BatchNormalization '/bn/BN'): spatial 0 at opset 6 (statistics per activation) is "
       "unsupported",
       CLSEG_UNSUPPORTED},
      {"old_bn_train_op6",
       "node 0 (BatchNormalization '/bn/BN'): is_test 0 at opset 6 (training mode: the batch's "
       "statistics) is unsupported",
       CLSEG_UNSUPPORTED},
      {"old_dropout_train_op6",
       "node 0 (Dropout '/drop/Dropout'): is_test 0 at opset 6 (training mode: random dropout) is "
       "unsupported",
       CLSEG_UNSUPPORTED},
      {"old_add_nobcast_op6",
       "node 0 (Add '/add/Add'): operands of different shapes without broadcast=1 (opset 6)",
       CLSEG_FORMAT},
      {"bn_stats_op9",
       "node 1 (BatchNormalization '/bn/BatchNormalization'): output 1 ('mean', mean) at opset 9 "
       "(training mode: normalised with the batch's statistics) is unsupported",
       CLSEG_UNSUPPORTED},
      {"bn_stats_op7", "output 1 ('mean', mean) at opset 7 (training mode", CLSEG_UNSUPPORTED},
      {"bn_training_op15",
       "node 1 (BatchNormalization '/bn/BatchNormalization'): training_mode 1 (normalised with the "
       "batch's statistics) is unsupported",
       CLSEG_UNSUPPORTED},
      {"bn_training_op14",
       "training_mode 1 (normalised with the batch's statistics) is unsupported",
       CLSEG_UNSUPPORTED},
      {"bn_read_rm_op15",
       "node 1 (BatchNormalization '/bn/BatchNormalization'): output 1 ('rm': a running statistic, "
       "computed in training mode only) read by the graph is unsupported",
       CLSEG_UNSUPPORTED},
      {"old_opset22", "opset 22 of the default domain (1 to 21 read; 11 to 18 tested)",
       CLSEG_UNSUPPORTED},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char path[512];
    clseg_graph *g = NULL;
    snprintf(path, sizeof path, "%s/%s.onnx",
             strncmp(cases[i].stem, "old_", 4) && strncmp(cases[i].stem, "reduce_", 7) ? OPS_DIR
                                                                                       : COMPAT_DIR,
             cases[i].stem);
    clseg_status s = clseg_onnx_load(path, NULL, &g, NULL);
    if (s != cases[i].want || !test_contains(clseg_last_error(NULL), cases[i].needle))
      fail_msg("%s: status %s (wanted %s), message '%s' (wanted '%s')", cases[i].stem,
               clseg_status_name(s), clseg_status_name(cases[i].want), clseg_last_error(NULL),
               cases[i].needle);
    assert_null(g);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_space_depth),  cmocka_unit_test(test_prelu),
      cmocka_unit_test(test_clip_softmax), cmocka_unit_test(test_heads),
      cmocka_unit_test(test_multi_output), cmocka_unit_test(test_batch),
      cmocka_unit_test(test_old_opsets),   cmocka_unit_test(test_reduce),
      cmocka_unit_test(test_concat),       cmocka_unit_test(test_batchnorm_outputs),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
