/* The ONNX importer's attributes of MaxPool, AveragePool, Pad, Conv and ConvTranspose (issue 19):
 * every one-node model of tests/fixtures/onnx_attrs/index.txt (tools/make_onnx_attr_fixtures.py)
 * imported, planned and run, against onnxruntime's output; and the combinations clseg refuses, each
 * with its status and the message naming node, attribute and value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_onnx.h"
#include "common/check.h"
#include "support.h"

#define ATTR_DIR CLSEG_FIXTURE_DIR "/onnx_attrs"

/* One node on a few hundred floats: exact up to float rounding of sums of at most 54 products. */
static const check_tol TOL = {1e-5, 0.0};

static void run_index(const char *prefix, int min) {
  test_onnx_index(ATTR_DIR, prefix, min, &TOL);
}

static void test_maxpool(void **state) {
  (void)state;
  run_index("maxpool_", 8);
}

static void test_avgpool(void **state) {
  (void)state;
  run_index("avgpool_", 11);
}

static void test_pad(void **state) {
  (void)state;
  run_index("pad_", 12);
}

static void test_conv(void **state) {
  (void)state;
  run_index("conv_", 11);
}

static void test_conv_transpose(void **state) {
  (void)state;
  run_index("convt_", 12);
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    const char *stem, *needle;
    clseg_status want;
  } cases[] = {
      {"maxpool_indices_op13",
       "node 0 (MaxPool 'n_maxpool_indices_op13'): output 1 (Indices, 'ind') is unsupported",
       CLSEG_UNSUPPORTED},
      {"maxpool_bigpad_op13",
       "node 0 (MaxPool 'n_maxpool_bigpad_op13'): pads 0, 2, 0, 0 with kernel_shape 2, 2 are "
       "unsupported",
       CLSEG_UNSUPPORTED},
      {"pad_batch_op13", "node 0 (Pad 'n_pad_batch_op13'): pads 1, 0 on axis 0 (N) are unsupported",
       CLSEG_UNSUPPORTED},
      {"maxpool_same_dilated_op18",
       "node 0 (MaxPool 'n_maxpool_same_dilated_op18'): auto_pad SAME_UPPER with dilations 2, 2 is "
       "unsupported",
       CLSEG_UNSUPPORTED},
      {"pad_wrap_op19", "node 0 (Pad 'n_pad_wrap_op19'): mode 'wrap' is unsupported",
       CLSEG_UNSUPPORTED},
      {"pad_reflect_big_op13",
       "node 0 (Pad 'n_pad_reflect_big_op13'): mode 'reflect' with pads 4, 0 on axis 2 of size 4 "
       "is unsupported",
       CLSEG_UNSUPPORTED},
      {"convt_negpad_op13",
       "node 0 (ConvTranspose 'n_convt_negpad_op13'): pads -1, 0, 0, 0 are unsupported "
       "(negative; onnxruntime refuses them too)",
       CLSEG_UNSUPPORTED},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char path[512];
    clseg_graph *g = NULL;
    snprintf(path, sizeof path, ATTR_DIR "/%s.onnx", cases[i].stem);
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
      cmocka_unit_test(test_maxpool),
      cmocka_unit_test(test_avgpool),
      cmocka_unit_test(test_pad),
      cmocka_unit_test(test_conv),
      cmocka_unit_test(test_conv_transpose),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
