/* Device enumeration and every kind of selection spec, against the devices this machine really has.
 */
#include <stdio.h>
#include <string.h>

#include "support.h"

static clseg_device_info *devs;
static size_t ndevs;

static int setup(void **state) {
  (void)state;
  return clseg_device_list(&devs, &ndevs) == CLSEG_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  clseg_device_list_free(devs);
  return 0;
}

static const clseg_device_info *find_type(clseg_device_type t) {
  for (size_t i = 0; i < ndevs; i++)
    if (devs[i].type == t)
      return &devs[i];
  return NULL;
}

static int same(const clseg_device_info *a, const clseg_device_info *b) {
  return a->platform_index == b->platform_index && a->device_index == b->device_index;
}

static void list_has_a_complete_cpu_device(void **state) {
  (void)state;
  const clseg_device_info *cpu = find_type(CLSEG_DEVICE_CPU);
  assert_non_null(cpu); /* the suite runs where PoCL is installed */
  assert_true(cpu->compute_units >= 1);
  assert_true(cpu->global_mem > 0 && cpu->local_mem > 0 && cpu->max_alloc > 0);
  assert_true(cpu->max_work_group >= 1);
  assert_true(strlen(cpu->name) > 0 && strlen(cpu->platform_name) > 0);
  assert_non_null(strstr(cpu->device_version, "OpenCL"));
  assert_true(cpu->score > 0);
}

static void auto_picks_the_highest_score(void **state) {
  (void)state;
  clseg_device_info got;
  assert_int_equal(clseg_device_select("auto", &got), CLSEG_OK);
  for (size_t i = 0; i < ndevs; i++)
    if (devs[i].available)
      assert_true(got.score >= devs[i].score);
  clseg_device_info empty;
  assert_int_equal(clseg_device_select("", &empty), CLSEG_OK);
  assert_true(same(&got, &empty));
  if (find_type(CLSEG_DEVICE_GPU))
    assert_int_equal(got.type, CLSEG_DEVICE_GPU);
}

static void type_and_index_specs(void **state) {
  (void)state;
  clseg_device_info got;
  const clseg_device_info *cpu = find_type(CLSEG_DEVICE_CPU);
  assert_int_equal(clseg_device_select("cpu", &got), CLSEG_OK);
  assert_int_equal(got.type, CLSEG_DEVICE_CPU);
  assert_int_equal(clseg_device_select("cpu:0", &got), CLSEG_OK);
  assert_true(same(&got, cpu));
  char spec[32];
  snprintf(spec, sizeof spec, "%d:%d", cpu->platform_index, cpu->device_index);
  assert_int_equal(clseg_device_select(spec, &got), CLSEG_OK);
  assert_true(same(&got, cpu));
  assert_string_equal(got.name, cpu->name);
  if (find_type(CLSEG_DEVICE_GPU)) {
    assert_int_equal(clseg_device_select("gpu:0", &got), CLSEG_OK);
    assert_int_equal(got.type, CLSEG_DEVICE_GPU);
  } else {
    assert_int_equal(clseg_device_select("gpu", &got), CLSEG_NO_DEVICE);
    assert_int_equal(clseg_device_select("gpu:0", &got), CLSEG_NO_DEVICE);
  }
}

static void name_substring_is_case_insensitive(void **state) {
  (void)state;
  clseg_device_info a, b;
  assert_int_equal(clseg_device_select("pocl", &a), CLSEG_OK);
  assert_int_equal(clseg_device_select("PoCL", &b), CLSEG_OK);
  assert_true(same(&a, &b));
  assert_non_null(strstr(a.platform_name, "Portable"));
  /* a fragment of the device's own name finds it too */
  char frag[8] = {0};
  memcpy(frag, devs[0].name + (strlen(devs[0].name) > 4 ? 2 : 0), 3);
  assert_int_equal(clseg_device_select(frag, &a), CLSEG_OK);
}

static void specs_that_match_nothing_list_the_devices(void **state) {
  (void)state;
  const char *bad[] = {"no-such-vendor", "cpu:99", "99:0", "0:99", "gpu:x", "cpu:-1", "0:", ":0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    clseg_device_info got;
    assert_int_equal(clseg_device_select(bad[i], &got), CLSEG_NO_DEVICE);
    const char *msg = clseg_last_error(NULL);
    assert_true(test_contains(msg, bad[i]));
    assert_true(test_contains(msg, devs[0].name)); /* the message lists what exists */
  }
}

static void context_uses_the_selected_device(void **state) {
  (void)state;
  clseg_context *ctx = test_context();
  const clseg_device_info *d = clseg_context_device(ctx);
  assert_non_null(d);
  clseg_device_info want;
  assert_int_equal(clseg_device_select(test_device_spec(), &want), CLSEG_OK);
  assert_true(same(d, &want));
  assert_int_equal(clseg_finish(ctx), CLSEG_OK);
  clseg_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(list_has_a_complete_cpu_device),
      cmocka_unit_test(auto_picks_the_highest_score),
      cmocka_unit_test(type_and_index_specs),
      cmocka_unit_test(name_substring_is_case_insensitive),
      cmocka_unit_test(specs_that_match_nothing_list_the_devices),
      cmocka_unit_test(context_uses_the_selected_device),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
