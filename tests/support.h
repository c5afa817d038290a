/* Shared test setup: the test device and temporary folders. */
#ifndef CLSEG_TEST_SUPPORT_H
#define CLSEG_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clseg.h"

/* The device tests run on: $CLSEG_TEST_DEVICE (meson sets "pocl"), else "auto". */
const char *test_device_spec(void);
/* A context on the test device; fails the test with the library's message when none can be made. */
clseg_context *test_context(void);
/* Makes a fresh folder under /tmp and writes its path into buf. */
void test_tmpdir(char *buf, size_t size);
/* Removes a folder and the plain files in it. */
void test_rmdir(const char *path);
/* Writes text to dir/name. */
void test_write_file(const char *dir, const char *name, const char *text);
/* True when haystack contains needle; prints both otherwise. */
int test_contains(const char *haystack, const char *needle);

#endif
