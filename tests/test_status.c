/* Status names and messages, and the per-thread last error of calls without a context. */
#include <stdarg.h>
#include <string.h>

#include "clseg_graph.h"
#include "clseg_segment.h"
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

/* Each failing public call leaves its own message, not the one before it (these four used to
 * return CLSEG_INVALID_ARGUMENT with the slot untouched, clseg_segmenter_plan crashed). */
static void failing_public_calls_leave_a_message(void **state) {
  (void)state;
  clseg_plan *plan = (clseg_plan *)1;
  clseg_plan_layer layer;
  const int64_t dims[4] = {1, 1, 1, 1};
  clseg__fail(NULL, CLSEG_INTERNAL, "stale");
  assert_int_equal(clseg_plan_layer_get(NULL, 0, &layer), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "clseg_plan_layer_get: NULL plan"));
  clseg__fail(NULL, CLSEG_INTERNAL, "stale");
  assert_int_equal(clseg_graph_output(NULL, NULL, "y"), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "clseg_graph_output: NULL graph"));
  clseg__fail(NULL, CLSEG_INTERNAL, "stale");
  assert_int_equal(clseg_graph_set_param(NULL, "w", dims, 4, (const float[1]){0}),
                   CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "clseg_graph_set_param: NULL graph"));
  clseg__fail(NULL, CLSEG_INTERNAL, "stale");
  assert_int_equal(clseg_graph_load_safetensors(NULL, "m.safetensors"), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "clseg_graph_load_safetensors: NULL graph"));
  clseg__fail(NULL, CLSEG_INTERNAL, "stale");
  assert_int_equal(clseg_segmenter_plan(NULL, 1, 8, 8, &plan), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "clseg_segmenter_plan: NULL segmenter"));
  assert_int_equal(clseg_last_status(NULL), CLSEG_INVALID_ARGUMENT);
  /* a graph's own errors stay in the graph (clseg_graph_error), and leave it usable */
  clseg_graph *g = clseg_graph_create();
  assert_non_null(g);
  assert_int_equal(clseg_graph_set_param(g, NULL, dims, 4, NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_graph_error(g), "set_param: NULL name"));
  assert_int_equal(clseg_graph_status(g), CLSEG_OK);
  assert_int_equal(clseg_graph_load_safetensors(g, NULL), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(NULL), "clseg_graph_load_safetensors: NULL path"));
  clseg_graph_free(g);
}

/* The importers' helpers: the first failure sticks and later ones record nothing; a list is
 * appended to the message; a dropped attempt leaves the message that was there before it. */
static void first_failure(clseg_status *sticky, clseg_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (clseg__fail_first(sticky, s, fmt, ap))
    clseg__fail_prefix(NULL, s, "node %d: ", 3);
  va_end(ap);
}
static void builders_record_once_append_and_restore(void **state) {
  (void)state;
  clseg_status sticky = CLSEG_OK;
  first_failure(&sticky, CLSEG_UNSUPPORTED, "op %s", "Foo");
  first_failure(&sticky, CLSEG_FORMAT, "op %s", "Bar");
  assert_int_equal(sticky, CLSEG_UNSUPPORTED);
  assert_string_equal(clseg_last_error(NULL), "node 3: op Foo");
  assert_int_equal(clseg__fail_append(NULL, "; and %d more", 2),
                   strlen("node 3: op Foo; and 2 more"));
  assert_string_equal(clseg_last_error(NULL), "node 3: op Foo; and 2 more");
  clseg__error_saved saved;
  clseg__error_save(NULL, &saved);
  clseg__fail(NULL, CLSEG_SHAPE_MISMATCH, "a dropped attempt");
  clseg__error_restore(NULL, &saved, 1);
  assert_string_equal(clseg_last_error(NULL), "node 3: op Foo; and 2 more");
  assert_int_equal(clseg_last_status(NULL), CLSEG_UNSUPPORTED);
  clseg__error_save(NULL, &saved);
  clseg__fail(NULL, CLSEG_SHAPE_MISMATCH, "a kept failure");
  clseg__error_restore(NULL, &saved, 0);
  assert_string_equal(clseg_last_error(NULL), "a kept failure");
  assert_null(saved.message);
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
      cmocka_unit_test(failing_public_calls_leave_a_message),
      cmocka_unit_test(builders_record_once_append_and_restore),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
