/* Tensor round trips of odd shapes and the errors of tensor calls. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

static void round_trip_odd_shapes(void **state) {
  clseg_context *ctx = *state;
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 17, 33, 9}, {3, 1, 15, 1}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    clseg_tensor *t = NULL;
    assert_int_equal(clseg_tensor_create(ctx, shapes[s], &t), CLSEG_OK);
    size_t n = clseg_tensor_count(t);
    assert_int_equal(n, (size_t)(shapes[s][0] * shapes[s][1] * shapes[s][2] * shapes[s][3]));
    int64_t got_shape[4];
    clseg_tensor_shape(t, got_shape);
    assert_memory_equal(got_shape, shapes[s], sizeof got_shape);
    assert_ptr_equal(clseg_tensor_context(t), ctx);
    float *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
      in[i] = (float)i * 0.5f - 3.0f;
    memset(out, 0, n * sizeof *out);
    assert_int_equal(clseg_tensor_upload(t, in, n), CLSEG_OK);
    assert_int_equal(clseg_tensor_download(t, out, n), CLSEG_OK);
    assert_memory_equal(in, out, n * sizeof *in);
    free(in);
    free(out);
    clseg_tensor_free(t);
  }
}

static void bad_shapes_and_counts_are_reported(void **state) {
  clseg_context *ctx = *state;
  clseg_tensor *t = NULL;
  const int64_t zero[4] = {1, 0, 3, 3}, neg[4] = {1, 3, -2, 3}, huge[4] = {1 << 30, 1 << 30, 2, 2};
  assert_int_equal(clseg_tensor_create(ctx, zero, &t), CLSEG_INVALID_ARGUMENT);
  assert_null(t);
  assert_true(test_contains(clseg_last_error(ctx), "[1, 0, 3, 3]"));
  assert_int_equal(clseg_tensor_create(ctx, neg, &t), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_tensor_create(ctx, huge, &t), CLSEG_OUT_OF_MEMORY);
  assert_true(test_contains(clseg_last_error(ctx), "too many elements"));
  const int64_t big[4] = {1, 1024, 1024, 1024}; /* 4 GiB: larger than PoCL's largest buffer here? */
  clseg_status s = clseg_tensor_create(ctx, big, &t);
  if (s != CLSEG_OK)
    assert_int_equal(s, CLSEG_OUT_OF_MEMORY);
  clseg_tensor_free(t);
  t = NULL;

  const int64_t shape[4] = {1, 2, 3, 4};
  float buf[25] = {0};
  assert_int_equal(clseg_tensor_create(ctx, shape, &t), CLSEG_OK);
  assert_int_equal(clseg_tensor_upload(t, buf, 25), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx), "25 floats"));
  assert_int_equal(clseg_tensor_download(t, buf, 23), CLSEG_SHAPE_MISMATCH);
  assert_true(test_contains(clseg_last_error(ctx), "[1, 2, 3, 4]"));
  assert_int_equal(clseg_tensor_upload(t, NULL, 24), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_tensor_download(NULL, buf, 24), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_tensor_create(ctx, NULL, &t), CLSEG_INVALID_ARGUMENT);
  clseg_tensor_free(t);
}

static int setup(void **state) {
  *state = test_context();
  return 0;
}

static int teardown(void **state) {
  clseg_context_free(*state);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_odd_shapes),
      cmocka_unit_test(bad_shapes_and_counts_are_reported),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
