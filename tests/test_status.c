/* Status names and messages, and the per-thread last error of calls without a context. */
#include <string.h>

#include "internal.h"
#include "support.h"

static void every_status_has_a_name_and_message(void **state) {
  (void)state;
  for (int s = 0; s < CLSEG_STATUS_COUNT; s++) {
    assert_non_null(strstr(clseg_status_name((clseg_status)s), "CLSEG_"));
    assert_true(strlen(clseg_status_message((clseg_status)s)) > 3);
    assert_string_not_equal(clseg_status_name((clseg_status)s), "CLSEG_UNKNOWN");
  }
  assert_string_equal(clseg_status_name(CLSEG_SHAPE_MISMATCH), "CLSEG_SHAPE_MISMATCH");
  assert_string_equal(clseg_status_name((clseg_status)999), "CLSEG_UNKNOWN");
  assert_string_equal(clseg_status_message((clseg_status)-1), "unknown status");
}

static void failure_without_context_is_recorded_per_thread(void **state) {
  (void)state;
  clseg_context *ctx = (clseg_context *)1;
  assert_int_equal(clseg_context_create("no-such-device-xyz", &ctx), CLSEG_NO_DEVICE);
  assert_null(ctx);
  assert_int_equal(clseg_last_status(NULL), CLSEG_NO_DEVICE);
  assert_true(test_contains(clseg_last_error(NULL), "no-such-device-xyz"));
  assert_int_equal(clseg_context_create("auto", NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "NULL output"));
}

static void null_arguments_are_errors(void **state) {
  (void)state;
  assert_int_equal(clseg_device_list(NULL, NULL), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_device_select("auto", NULL), CLSEG_INVALID_ARGUMENT);
  assert_int_equal(clseg_finish(NULL), CLSEG_INVALID_ARGUMENT);
  clseg_context_free(NULL);
  clseg_tensor_free(NULL);
}

/* clseg__fail_prefix puts each layer's words in front of the recorded message, in place; the result
 * is cut at the end when it outgrows the buffer, as one clseg__fail of the whole text would be. */
static void prefixes_go_in_front_of_the_recorded_message(void **state) {
  (void)state;
  static char as[CLSEG__ERR_LEN], bs[CLSEG__ERR_LEN];
  clseg__fail(NULL, CLSEG_SHAPE_MISMATCH, "input has %d channels", 64);
  assert_int_equal(clseg__fail_prefix(NULL, CLSEG_OPENCL, "running node '%s': ", "enc1"),
                   CLSEG_OPENCL);
  assert_int_equal(clseg_last_status(NULL), CLSEG_OPENCL);
  assert_string_equal(clseg_last_error(NULL), "running node 'enc1': input has 64 channels");
  clseg__fail(NULL, CLSEG_INTERNAL, "%s", as); /* empty: clseg_last_error says "no error" */
  clseg__fail_prefix(NULL, CLSEG_INTERNAL, "planning %s: ", "x");
  assert_string_equal(clseg_last_error(NULL), "planning x: no error");
  memset(as, 'a', sizeof as - 1);
  memset(bs, 'b', sizeof bs - 1);
  clseg__fail(NULL, CLSEG_INTERNAL, "%s", as + 100);
  clseg__fail_prefix(NULL, CLSEG_INTERNAL, "%.300s", bs);
  const char *m = clseg_last_error(NULL);
  assert_int_equal(strlen(m), CLSEG__ERR_LEN - 1);
  assert_int_equal(m[299], 'b');
  assert_int_equal(m[300], 'a');
  clseg__fail_prefix(NULL, CLSEG_INTERNAL, "%s%s", bs,
                     bs); /* longer than the buffer: no 'a' left */
  assert_int_equal(strlen(clseg_last_error(NULL)), CLSEG__ERR_LEN - 1);
  assert_null(strchr(clseg_last_error(NULL), 'a'));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_status_has_a_name_and_message),
      cmocka_unit_test(failure_without_context_is_recorded_per_thread),
      cmocka_unit_test(null_arguments_are_errors),
      cmocka_unit_test(prefixes_go_in_front_of_the_recorded_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
