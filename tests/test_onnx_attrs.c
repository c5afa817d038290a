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

#define ATTR_DIR CLSEG_FIXTURE_DIR "/onnx_attrs/"

/* One node on a few hundred floats: exact up to float rounding of sums of at most 54 products. */
static const check_tol TOL = {1e-5, 0.0};

/* Runs STEM against STEM.ort.npy; returns the largest absolute error, or -1 on a mismatch (printed
 * with what the case checks). */
static double run_case(const char *stem, const char *what) {
  char path[800], ctxt[900];
  clseg_graph *g = NULL;
  clseg_onnx_info info;
  snprintf(path, sizeof path, ATTR_DIR "%s.onnx", stem);
  if (clseg_onnx_load(path, NULL, &g, &info) != CLSEG_OK) {
    fprintf(stderr, "FAIL %s (%s): %s\n", stem, what, clseg_last_error(NULL));
    return -1;
  }
  size_t nin, nref;
  snprintf(path, sizeof path, ATTR_DIR "%s.input.npy", stem);
  float *x = test_read_npy(path, &nin, false);
  snprintf(path, sizeof path, ATTR_DIR "%s.ort.npy", stem);
  float *ref = test_read_npy(path, &nref, false);
  clseg_plan *p = NULL;
  double worst = -1;
  int64_t os[4] = {0};
  float *y = NULL;
  if (clseg_plan_create(test_ctx, g, 1, info.input_h, info.input_w, NULL, &p) != CLSEG_OK) {
    fprintf(stderr, "FAIL %s (%s): planning: %s\n", stem, what, clseg_last_error(test_ctx));
    goto done;
  }
  clseg_plan_output_shape(p, os);
  if ((size_t)(os[0] * os[1] * os[2] * os[3]) != nref) {
    fprintf(stderr, "FAIL %s (%s): output [%lld, %lld, %lld, %lld] holds not %zu values\n", stem,
            what, (long long)os[0], (long long)os[1], (long long)os[2], (long long)os[3], nref);
    goto done;
  }
  y = malloc(sizeof *y * nref);
  assert_non_null(y);
  assert_int_equal(clseg_plan_run(p, x, nin, y, nref), CLSEG_OK);
  snprintf(ctxt, sizeof ctxt, "%s: %s, opset %d", stem, what, info.opset);
  if (check_close(stem, y, ref, nref, os, &TOL, ctxt)) {
    worst = 0;
    for (size_t i = 0; i < nref; i++)
      worst = fmax(worst, fabs((double)y[i] - (double)ref[i]));
  }
done:
  free(y);
  free(x);
  free(ref);
  clseg_plan_free(p);
  clseg_graph_free(g);
  return worst;
}

/* Every case of index.txt whose stem starts with prefix; at least min of them. */
static void run_index(const char *prefix, int min) {
  FILE *f = fopen(ATTR_DIR "index.txt", "r");
  assert_non_null(f);
  char line[600];
  int run = 0, failed = 0;
  double worst = 0;
  while (fgets(line, sizeof line, f)) {
    char *tab = strchr(line, '\t');
    if (line[0] == '#' || !tab || strncmp(line, prefix, strlen(prefix)))
      continue;
    *tab = '\0';
    tab[strcspn(tab + 1, "\n") + 1] = '\0';
    double e = run_case(line, tab + 1);
    printf("%-22s max |clseg - onnxruntime| %-9.3g %s\n", line, e, tab + 1);
    failed += e < 0;
    worst = fmax(worst, e);
    run++;
  }
  fclose(f);
  printf("%s*: %d cases, %d failed, worst %.3g (tolerance 1e-5)\n", prefix, run, failed, worst);
  assert_true(run >= min);
  assert_int_equal(failed, 0);
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
    snprintf(path, sizeof path, ATTR_DIR "%s.onnx", cases[i].stem);
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
