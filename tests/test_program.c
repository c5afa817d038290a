/* Kernel runtime: build options, compile, binary cache miss then hit, untrusted cache files, build
 * logs, CLSEG_KERNEL_DIR and CLSEG_CACHE=off. Uses lib/internal.h to reach the runtime directly. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char cache_dir[256];
static char uniq[64]; /* a define that makes this run's programs unlike any cached before */

static int setup(void **state) {
  (void)state;
  test_tmpdir(cache_dir, sizeof cache_dir);
  setenv("CLSEG_CACHE_DIR", cache_dir, 1);
  setenv("CLSEG_CACHE", "on", 1); /* binaries on PoCL too: this file tests the cache itself */
  unsetenv("CLSEG_KERNEL_DIR");
  snprintf(uniq, sizeof uniq, "-DTEST_RUN=%ld", (long)time(NULL));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  test_rmdir(cache_dir);
  return 0;
}

/* Runs util_fill through a fresh context and checks the result; returns its stats. */
static clseg_stats fill_once(const char *options) {
  clseg_context *ctx = test_context();
  cl_kernel k;
  assert_int_equal(clseg__kernel(ctx, "util.cl", options, "util_fill", &k), CLSEG_OK);
  const int64_t shape[4] = {1, 1, 3, 7};
  clseg_tensor *t = NULL;
  assert_int_equal(clseg_tensor_create(ctx, shape, &t), CLSEG_OK);
  int off = 0, n = 21;
  float v = 2.5f;
  size_t g = 21;
  const clseg__arg args[] = {CLSEG__ARG(t->buf), CLSEG__ARG(off), CLSEG__ARG(v), CLSEG__ARG(n)};
  assert_int_equal(CLSEG__LAUNCH(ctx, k, "fill", args, 1, &g, NULL), CLSEG_OK);
  float out[21];
  assert_int_equal(clseg_tensor_download(t, out, 21), CLSEG_OK);
  for (int i = 0; i < 21; i++)
    assert_float_equal(out[i], 2.5f, 0.0f);
  clseg_stats st;
  clseg_context_stats(ctx, &st);
  clseg_tensor_free(t);
  clseg_context_free(ctx);
  return st;
}

static int count_bin_files(char *last, size_t size) {
  const char *dir = getenv("CLSEG_CACHE_DIR");
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".bin") && !strstr(e->d_name, ".tmp")) {
      n++;
      snprintf(last, size, "%s/%s", dir, e->d_name);
    }
  if (d)
    closedir(d);
  return n;
}

static void build_options_are_sorted(void **state) {
  (void)state;
  const clseg__define defs[] = {{"TILE", 8}, {"ACT", 2}, {"KH", -3}};
  char buf[64];
  assert_true(clseg__build_options(defs, 3, buf, sizeof buf));
  assert_string_equal(buf, "-DACT=2 -DKH=-3 -DTILE=8");
  assert_false(clseg__build_options(defs, 3, buf, 10)); /* does not fit */
}

static void second_start_loads_the_binary_and_compiles_nothing(void **state) {
  (void)state;
  clseg_stats cold = fill_once(uniq);
  assert_int_equal(cold.programs_built, 1);
  assert_int_equal(cold.programs_from_cache, 0);
  char path[512];
  assert_int_equal(count_bin_files(path, sizeof path), 1);
  clseg_stats warm = fill_once(uniq);
  assert_int_equal(warm.programs_built, 0); /* the compiler was not called */
  assert_int_equal(warm.programs_from_cache, 1);
  assert_int_equal(warm.cache_rejected, 0);
  print_message("cold build %.3f s, warm load %.3f s\n", cold.build_seconds, warm.build_seconds);
  assert_true(warm.build_seconds < cold.build_seconds);
}

/* By default PoCL's own kernel cache is left to do the caching (writing a binary there compiles
 * every kernel of the program): no file unless CLSEG_CACHE=on or POCL_KERNEL_CACHE=0. Any other
 * driver gets the binary. */
static void pocl_keeps_its_own_cache_unless_asked(void **state) {
  (void)state;
  char own[256], path[512], opts[128];
  test_tmpdir(own, sizeof own);
  setenv("CLSEG_CACHE_DIR", own, 1);
  unsetenv("CLSEG_CACHE");
  clseg_context *ctx = test_context();
  const int pocl = strstr(ctx->info.platform_name, "Portable Computing Language") != NULL;
  clseg_context_free(ctx);
  char *saved = getenv("POCL_KERNEL_CACHE") ? strdup(getenv("POCL_KERNEL_CACHE")) : NULL;
  unsetenv("POCL_KERNEL_CACHE");
  snprintf(opts, sizeof opts, "%s -DTEST_POCL_CACHE=1", uniq);
  fill_once(opts);
  assert_int_equal(count_bin_files(path, sizeof path), pocl ? 0 : 1);
  setenv("POCL_KERNEL_CACHE", "0", 1); /* PoCL's cache off: clseg's takes over */
  snprintf(opts, sizeof opts, "%s -DTEST_POCL_CACHE=2", uniq);
  fill_once(opts);
  assert_int_equal(count_bin_files(path, sizeof path), pocl ? 1 : 2);
  if (saved)
    setenv("POCL_KERNEL_CACHE", saved, 1);
  else
    unsetenv("POCL_KERNEL_CACHE");
  free(saved);
  setenv("CLSEG_CACHE", "on", 1);
  setenv("CLSEG_CACHE_DIR", cache_dir, 1);
  test_rmdir(own);
}

static void corrupt_or_foreign_cache_files_are_rebuilt(void **state) {
  (void)state;
  char opts[128], path[512];
  char own[256]; /* a folder of its own, so the one file in it is this program's */
  test_tmpdir(own, sizeof own);
  setenv("CLSEG_CACHE_DIR", own, 1);
  snprintf(opts, sizeof opts, "%s -DTEST_CORRUPT=1", uniq);
  fill_once(opts);
  assert_int_equal(count_bin_files(path, sizeof path), 1);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(truncate(path, st.st_size / 2), 0); /* truncated */
  clseg_stats s = fill_once(opts);
  assert_int_equal(s.cache_rejected, 1);
  assert_int_equal(s.programs_built, 1);
  assert_int_equal(stat(path, &st), 0); /* rewritten whole */
  s = fill_once(opts);
  assert_int_equal(s.programs_from_cache, 1);

  FILE *f = fopen(path, "r+b"); /* a flipped byte inside the binary: checksum mismatch */
  assert_non_null(f);
  fseek(f, st.st_size - 10, SEEK_SET);
  int c = fgetc(f);
  fseek(f, st.st_size - 10, SEEK_SET);
  fputc(c ^ 0x5a, f);
  fclose(f);
  s = fill_once(opts);
  assert_int_equal(s.cache_rejected, 1);
  assert_int_equal(s.programs_built, 1);

  f = fopen(path, "wb"); /* a foreign file under the same name */
  fputs("this is not a clseg cache file", f);
  fclose(f);
  s = fill_once(opts);
  assert_int_equal(s.cache_rejected, 1);
  assert_int_equal(s.programs_built, 1);
  setenv("CLSEG_CACHE_DIR", cache_dir, 1);
  test_rmdir(own);
}

static void cache_off_writes_nothing(void **state) {
  (void)state;
  char opts[128], path[512];
  snprintf(opts, sizeof opts, "%s -DTEST_OFF=1", uniq);
  int before = count_bin_files(path, sizeof path);
  setenv("CLSEG_CACHE", "off", 1);
  char dir[16];
  assert_int_equal(clseg_cache_dir(dir, sizeof dir), 0);
  clseg_stats s = fill_once(opts);
  assert_int_equal(s.programs_built, 1);
  s = fill_once(opts);
  assert_int_equal(s.programs_built, 1);
  assert_int_equal(count_bin_files(path, sizeof path), before);
  setenv("CLSEG_CACHE", "on", 1);
}

static void syntax_error_reports_file_and_log(void **state) {
  (void)state;
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  test_write_file(dir, "util.cl",
                  "__kernel void util_fill(__global float *y) { y[0] = 1.0f +; }\n");
  setenv("CLSEG_KERNEL_DIR", dir, 1);
  clseg_context *ctx = test_context();
  cl_kernel k;
  assert_int_equal(clseg__kernel(ctx, "util.cl", uniq, "util_fill", &k), CLSEG_BUILD_FAILED);
  const char *msg = clseg_last_error(ctx);
  assert_true(test_contains(msg, "cl/util.cl"));
  assert_true(test_contains(msg, "error"));
  assert_true(test_contains(msg, "CL_BUILD_PROGRAM_FAILURE"));
  assert_int_equal(clseg__kernel(ctx, "missing.cl", uniq, "x", &k), CLSEG_IO);
  assert_true(test_contains(clseg_last_error(ctx), "missing.cl"));
  assert_true(test_contains(clseg_last_error(ctx), strerror(ENOENT))); /* and why */
  clseg_context_free(ctx);
  unsetenv("CLSEG_KERNEL_DIR");
  test_rmdir(dir);
}

static void kernel_dir_inlines_includes(void **state) {
  (void)state;
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  test_write_file(dir, "value.h", "#define FILL_VALUE 2.5f\n");
  test_write_file(
      dir, "util.cl",
      "#include \"value.h\"\n__kernel void util_fill(__global float *y, const int off, "
      "const float v, const int n) {\n  int i = get_global_id(0);\n  if (i < n) y[off + i] "
      "= FILL_VALUE;\n}\n");
  setenv("CLSEG_KERNEL_DIR", dir, 1);
  clseg_stats s = fill_once(uniq); /* checks the value 2.5 came from the included header */
  assert_int_equal(s.programs_built + s.programs_from_cache, 1);
  unsetenv("CLSEG_KERNEL_DIR");
  test_rmdir(dir);
}

static void unknown_kernel_name_is_an_error(void **state) {
  (void)state;
  clseg_context *ctx = test_context();
  cl_kernel k;
  assert_int_equal(clseg__kernel(ctx, "util.cl", uniq, "no_such_kernel", &k), CLSEG_OPENCL);
  assert_true(test_contains(clseg_last_error(ctx), "no_such_kernel"));
  assert_int_equal(clseg__kernel(ctx, "nope.cl", uniq, "x", &k), CLSEG_INTERNAL);
  assert_true(test_contains(clseg_last_error(ctx), "nope.cl"));
  clseg_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(build_options_are_sorted),
      cmocka_unit_test(second_start_loads_the_binary_and_compiles_nothing),
      cmocka_unit_test(pocl_keeps_its_own_cache_unless_asked),
      cmocka_unit_test(corrupt_or_foreign_cache_files_are_rebuilt),
      cmocka_unit_test(cache_off_writes_nothing),
      cmocka_unit_test(syntax_error_reports_file_and_log),
      cmocka_unit_test(kernel_dir_inlines_includes),
      cmocka_unit_test(unknown_kernel_name_is_an_error),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
