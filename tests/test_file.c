/* lib/file.c: whole files read with a NUL after them, and every refusal (missing, a folder, over
 * the limit, no path) named with its path and reason; files whose size stat does not tell; atomic
 * writes that leave the old file or the new one and no temporary file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "support.h"

static void reads_the_whole_file_with_a_nul_after_it(void **state) {
  (void)state;
  char dir[256], path[300];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/big.bin", dir);
  const size_t n = 200001; /* past any first guess of a growing reader */
  unsigned char *want = malloc(n);
  assert_non_null(want);
  for (size_t i = 0; i < n; i++)
    want[i] = (unsigned char)(i * 7 + 1);
  FILE *f = fopen(path, "wb"); /* binary, NUL bytes included */
  if (!f || fwrite(want, 1, n, f) != n || fclose(f) != 0)
    fail_msg("cannot write %s", path);
  unsigned char *got = NULL;
  size_t size = 0;
  assert_int_equal(clseg__file_read(path, 0, &got, &size, NULL, 0), CLSEG_OK);
  assert_int_equal(size, n);
  assert_memory_equal(got, want, n);
  assert_int_equal(got[n], 0);
  free(got);
  assert_int_equal(clseg__file_read(path, n, &got, &size, NULL, 0),
                   CLSEG_OK); /* max is inclusive */
  free(got);
  free(want);

  test_write_file(dir, "empty", "");
  snprintf(path, sizeof path, "%s/empty", dir);
  assert_int_equal(clseg__file_read(path, 0, &got, &size, NULL, 0), CLSEG_OK);
  assert_non_null(got); /* an empty file is there: not NULL */
  assert_int_equal(size, 0);
  assert_int_equal(got[0], 0);
  free(got);
  test_rmdir(dir);

  /* /proc files report size 0 and still have content: read by growing, and held to the limit */
  if (clseg__file_read("/proc/self/status", 0, &got, &size, NULL, 0) != CLSEG_OK)
    return; /* no /proc here */
  assert_true(size > 0 && strlen((const char *)got) == size);
  assert_true(test_contains((const char *)got, "Name:"));
  free(got);
  assert_int_equal(clseg__file_read("/proc/self/status", 8, &got, &size, NULL, 0),
                   CLSEG_UNSUPPORTED);
}

/* Expects a failure with status s whose reason names path and contains what. */
static void expect_refusal(const char *path, size_t max, clseg_status s, const char *what) {
  unsigned char *got = (unsigned char *)"x";
  size_t size = 7;
  char why[CLSEG__FILE_WHY_LEN] = "";
  assert_int_equal(clseg__file_read(path, max, &got, &size, why, sizeof why), s);
  assert_null(got);
  assert_int_equal(size, 0);
  if ((path && !test_contains(why, path)) || !test_contains(why, what))
    fail_msg("reason '%s' should name '%s' and say '%s'", why, path ? path : "", what);
}

static void refusals_name_the_path_and_the_reason(void **state) {
  (void)state;
  char dir[256], path[300];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/missing.bin", dir);
  expect_refusal(path, 0, CLSEG_IO, strerror(ENOENT));
  unsigned char *got;
  size_t size;
  assert_int_equal(clseg__file_read(path, 0, &got, &size, NULL, 0), CLSEG_IO);
  assert_int_equal(errno, ENOENT); /* how callers tell "no file" from "a bad file" */
  expect_refusal(dir, 0, CLSEG_IO, strerror(EISDIR));
  test_write_file(dir, "ten", "0123456789");
  snprintf(path, sizeof path, "%s/ten", dir);
  expect_refusal(path, 9, CLSEG_UNSUPPORTED, "too large to read (over 9 bytes)");
  expect_refusal(NULL, 0, CLSEG_INVALID_ARGUMENT, "NULL path");
  test_rmdir(dir);
}

static void head_reads_only_the_first_bytes(void **state) {
  (void)state;
  char dir[256], path[300];
  test_tmpdir(dir, sizeof dir);
  test_write_file(dir, "f", "abcdef");
  snprintf(path, sizeof path, "%s/f", dir);
  char buf[16] = "";
  assert_int_equal(clseg__file_head(path, buf, 4), 4);
  assert_memory_equal(buf, "abcd", 4);
  assert_int_equal(clseg__file_head(path, buf, sizeof buf), 6); /* a short file: what there is */
  snprintf(path, sizeof path, "%s/missing", dir);
  assert_int_equal(clseg__file_head(path, buf, sizeof buf), 0);
  test_rmdir(dir);
}

/* Entries of dir other than "." and "..". */
static int entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void writes_replace_the_whole_file_or_nothing(void **state) {
  (void)state;
  char dir[256], path[300], why[CLSEG__FILE_WHY_LEN] = "";
  unsigned char *got;
  size_t size;
  test_tmpdir(dir, sizeof dir);
  test_write_file(dir, "f", "a much longer old content");
  snprintf(path, sizeof path, "%s/f", dir);
  assert_int_equal(clseg__file_write(path, "new", 3, 1, why, sizeof why), CLSEG_OK);
  assert_int_equal(clseg__file_read(path, 0, &got, &size, NULL, 0), CLSEG_OK);
  assert_int_equal(size, 3);
  assert_memory_equal(got, "new", 3);
  free(got);
  assert_int_equal(entries(dir), 1); /* the temporary file was renamed, not left behind */

  clseg__file_writer w;
  assert_int_equal(clseg__file_write_open(&w, path, 0, why, sizeof why), CLSEG_OK);
  assert_int_equal(fputs("dropped", w.f) >= 0, 1);
  clseg__file_write_abort(&w);
  clseg__file_write_abort(&w); /* twice is harmless */
  assert_int_equal(clseg__file_read(path, 0, &got, &size, NULL, 0), CLSEG_OK);
  assert_memory_equal(got, "new", 3); /* an aborted write leaves the old file */
  free(got);
  assert_int_equal(entries(dir), 1);

  snprintf(path, sizeof path, "%s/no/such/folder", dir);
  assert_int_equal(clseg__file_write(path, "x", 1, 0, why, sizeof why), CLSEG_IO);
  if (!test_contains(why, path) || !test_contains(why, strerror(ENOENT)))
    fail_msg("reason '%s' should name '%s' and say '%s'", why, path, strerror(ENOENT));
  test_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(reads_the_whole_file_with_a_nul_after_it),
                                     cmocka_unit_test(refusals_name_the_path_and_the_reason),
                                     cmocka_unit_test(head_reads_only_the_first_bytes),
                                     cmocka_unit_test(writes_replace_the_whole_file_or_nothing)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
