/* The ONNX importer on tensors of any rank (issue 18): every model of
 * tests/fixtures/onnx_nd/index.txt (tools/make_onnx_nd_fixtures.py: a non-local block, DANet's
 * attention modules, a SegFormer block at opsets 13 and 17, torch's TransformerEncoderLayer,
 * GroupNorm and token math; by hand: GroupNormalization-18, InstanceNormalization,
 * LayerNormalization over C, H, W, Where on a constant mask with a Gather) imported, planned with
 * fusion (matmul-softmax-matmul chains fused into one attention step) and without, and run against
 * onnxruntime's output. The fused plans must also launch fewer kernels, and a LayerNorm written op
 * by op (opset 13) must plan as the single LayerNormalization of opset 17. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_onnx.h"
#include "support.h"

#define ND_DIR CLSEG_FIXTURE_DIR "/onnx_nd"

/* Sums of at most a few hundred products of values near 1, softmax and LayerNorm in float: within
 * 2e-5 + 1e-4 |ref| of onnxruntime (which itself differs from PyTorch by up to 4e-6). */
static const check_tol TOL = {2e-5, 1e-4};

typedef struct {
  double err;
  clseg_plan_info info;
  int transposes; /* transpose launches in the plan */
} run_result;

/* Plans stem's model (fused or not), runs it and compares with onnxruntime; err < 0 on failure. */
static run_result run_case(const char *stem, int no_fusion) {
  char path[600], what[700];
  run_result r = {-1.0, {0}, 0};
  clseg_graph *g = NULL;
  clseg_onnx_info info;
  snprintf(path, sizeof path, "%s/%s.onnx", ND_DIR, stem);
  if (clseg_onnx_load(path, NULL, &g, &info) != CLSEG_OK) {
    fprintf(stderr, "FAIL %s: %s\n", stem, clseg_last_error(NULL));
    return r;
  }
  size_t nin, nref;
  snprintf(path, sizeof path, "%s/%s.input.npy", ND_DIR, stem);
  float *x = test_read_npy(path, &nin, false);
  snprintf(path, sizeof path, "%s/%s.ort.npy", ND_DIR, stem);
  float *ref = test_read_npy(path, &nref, false);
  const clseg_plan_options opt = {.no_fusion = no_fusion};
  clseg_plan *p = NULL;
  int64_t n = (int64_t)nin / (info.input_c * info.input_h * info.input_w), dims[CLSEG_MAX_RANK];
  float *y = malloc(sizeof *y * nref);
  assert_non_null(y);
  if (clseg_plan_create(test_ctx, g, n, info.input_h, info.input_w, &opt, &p) != CLSEG_OK) {
    fprintf(stderr, "FAIL %s: planning: %s\n", stem, clseg_last_error(test_ctx));
  } else {
    int rank = clseg_plan_output_dims(p, 0, dims);
    size_t count = 1;
    for (int i = 0; i < rank; i++)
      count *= (size_t)dims[i];
    clseg_plan_get_info(p, &r.info);
    for (int i = 0; i < clseg_plan_layer_count(p); i++) {
      clseg_plan_layer l;
      r.transposes += clseg_plan_layer_get(p, i, &l) == CLSEG_OK && !strcmp(l.op, "transpose");
    }
    snprintf(what, sizeof what, "%s (%s)", stem, no_fusion ? "unfused" : "fused");
    if (count != nref) {
      fprintf(stderr, "FAIL %s: the output holds %zu values, onnxruntime's %zu\n", what, count,
              nref);
    } else if (clseg_plan_run(p, x, nin, y, nref) != CLSEG_OK) {
      fprintf(stderr, "FAIL %s: running: %s\n", what, clseg_last_error(test_ctx));
    } else if (check_close(what, y, ref, nref, dims, &TOL, what)) {
      r.err = 0;
      for (size_t i = 0; i < nref; i++)
        r.err = fmax(r.err, fabs((double)y[i] - (double)ref[i]));
    }
  }
  free(y), free(x), free(ref);
  clseg_plan_free(p);
  clseg_graph_free(g);
  return r;
}

static void test_models(void **state) {
  (void)state;
  char line[600];
  FILE *f = fopen(ND_DIR "/index.txt", "r");
  assert_non_null(f);
  int run = 0, failed = 0, ln_kernels[2] = {-1, -2};
  while (fgets(line, sizeof line, f)) {
    char *tab = strchr(line, '\t');
    if (!tab)
      continue;
    *tab = '\0';
    run_result fused = run_case(line, 0), plain = run_case(line, 1);
    printf("%-16s fused: max|diff| %-9.3g %2d kernels %8.1f KiB | unfused: %-9.3g %2d kernels "
           "%8.1f KiB\n",
           line, fused.err, fused.info.kernels, fused.info.activation_bytes / 1024.0, plain.err,
           plain.info.kernels, plain.info.activation_bytes / 1024.0);
    failed += fused.err < 0 || plain.err < 0;
    /* the attention models: the chain fused (fewer launches) */
    if (strstr(line, "nonlocal") || strstr(line, "danet") || strstr(line, "segformer") ||
        strstr(line, "vit"))
      failed += fused.info.kernels >= plain.info.kernels;
    /* the patterns written op by op run as one kernel */
    if (strstr(line, "_tokens_"))
      failed += fused.info.kernels != 1;
    /* LayerNorm written op by op (opset 13) fused as the LayerNormalization of opset 17 is */
    if (!strncmp(line, "segformer_op", 12))
      ln_kernels[strstr(line, "17") != NULL] = fused.info.kernels;
    /* ConvNeXt: of the 4 transposes (block in and out, LayerNorm2d in and out) the LayerNorm2d's go
     */
    if (!strncmp(line, "convnext_op", 11))
      failed += plain.transposes != 4 || fused.transposes != 2;
    run++;
  }
  printf("segformer: %d kernels from opset 13 (LayerNorm op by op), %d from opset 17\n",
         ln_kernels[0], ln_kernels[1]);
  assert_int_equal(ln_kernels[0], ln_kernels[1]);
  fclose(f);
  assert_true(run >= 13);
  assert_int_equal(failed, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_models),
  };
  return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
