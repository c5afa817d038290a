/* Shared test setup: the test device and temporary folders. */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *mkdtemp(char *template);

const char *test_device_spec(void) {
  const char *s = getenv("CLSEG_TEST_DEVICE");
  return s && *s ? s : "auto";
}

clseg_context *test_context(void) {
  clseg_context *ctx = NULL;
  if (clseg_context_create(test_device_spec(), &ctx) != CLSEG_OK)
    fail_msg("no test context on '%s': %s", test_device_spec(), clseg_last_error(NULL));
  return ctx;
}

void test_tmpdir(char *buf, size_t size) {
  snprintf(buf, size, "/tmp/clseg-test-XXXXXX");
  if (!mkdtemp(buf))
    fail_msg("mkdtemp failed");
}

void test_rmdir(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return;
  struct dirent *e;
  char p[1024];
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(path);
}

void test_write_file(const char *dir, const char *name, const char *text) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  if (!f)
    fail_msg("cannot write %s", p);
  fputs(text, f);
  fclose(f);
}

int test_contains(const char *haystack, const char *needle) {
  if (haystack && strstr(haystack, needle))
    return 1;
  print_error("expected to find \"%s\" in:\n%s\n", needle, haystack ? haystack : "(null)");
  return 0;
}
