/* Shared test setup: the test device and its cmocka group fixtures, device tensors in and out,
 * seeded host data, the compare-and-track step of the op sweeps, temporary folders and fixture
 * files. */
#ifndef CLSEG_TEST_SUPPORT_H
#define CLSEG_TEST_SUPPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clseg.h"
#include "clseg_ops.h"
#include "common/check.h"
#include "common/fixture.h"

/* The device tests run on: $CLSEG_TEST_DEVICE (meson sets "pocl"), else "auto". */
const char *test_device_spec(void);
/* A context on the test device; fails the test with the library's message when none can be made. */
clseg_context *test_context(void);
/* The context of the running cmocka group: test_group_setup makes it on the test device and stores
 * it both here and in *state; test_group_teardown frees it. */
extern clseg_context *test_ctx;
int test_group_setup(void **state);
int test_group_teardown(void **state);

/* A device tensor of shape s holding data, or NaN everywhere when data is NULL (so that unwritten
 * outputs fail their check); fails the test with the library's message. */
clseg_tensor *test_tensor(clseg_context *ctx, const int64_t s[4], const float *data);
/* The same for a tensor of rank 1 to CLSEG_MAX_RANK with dims[0..rank). */
clseg_tensor *test_tensor_nd(clseg_context *ctx, int rank, const int64_t *dims, const float *data);
/* Fixture array `name` of f as a device tensor (dims right-aligned to NCHW), or NULL when f has no
 * such array or it has more than 4 dims. */
clseg_tensor *test_fixture_tensor(clseg_context *ctx, const fixture *f, const char *name);
/* t's values in a new host array (free it); fails the test with the library's message. */
float *test_download(const clseg_tensor *t);
/* n uniform values in [lo, hi] from the seed (check_fill_uniform) in a new host array (free it). */
float *test_random(size_t n, uint64_t seed, float lo, float hi);
/* check_close of got against ref over shape s (fp32 defaults), after raising *worst to their
 * largest normalised error (check_track_worst). */
bool test_compare(double *worst, const char *what, const float *got, const float *ref,
                  const int64_t s[4], const char *context);

/* The milliseconds of a monotonic clock. */
double test_now_ms(void);
/* A whole file in a new buffer (free it, one spare byte at the end); *len gets its size. */
unsigned char *test_read_file(const char *path, size_t *len);
/* A C-order .npy file of '<f4', or of '|u1' scaled to [0, 1] when allow_u8, as float32 (free it);
 * *count gets the element count. */
float *test_read_npy(const char *path, size_t *count, bool allow_u8);

/* Makes a fresh folder under /tmp and writes its path into buf. */
void test_tmpdir(char *buf, size_t size);
/* Removes a folder and the plain files in it. */
void test_rmdir(const char *path);
/* Writes text to dir/name. */
void test_write_file(const char *dir, const char *name, const char *text);
/* A context on the test device whose user tuning file holds `rows` (variant, shape, cells: as
 * `clseg tune` writes them; shape * for every shape), in a fresh cache folder, planned as the
 * device itself (CLSEG_AS_DEVICE and CLSEG_TUNING cleared: a profile reads no user file); the
 * file's path goes to path. test_user_rows_end frees the context, removes the folder and restores
 * the environment. One at a time. */
clseg_context *test_user_rows_begin(const char *rows, char *path, size_t size);
void test_user_rows_end(clseg_context *ctx);
/* Runs only the tests whose names match CLSEG_TEST_FILTER (cmocka's wildcards * and ?) when it is
 * set: tools/oclgrind.sh runs the GPU variants' cases of a long test so. Call before running. */
void test_filter_from_env(void);
/* True when haystack contains needle; prints both otherwise. */
int test_contains(const char *haystack, const char *needle);

/* Runs every case of DIR/index.txt ("STEM<TAB>what it checks") whose stem starts with prefix, at
 * least min of them: DIR/STEM.onnx imported, planned at the batch of DIR/STEM.input.npy and run,
 * against onnxruntime's DIR/STEM.ort.npy within tol; prints each case's largest error. */
void test_onnx_index(const char *dir, const char *prefix, int min, const check_tol *tol);

/* Runs fn on every fixture of tests/fixtures/index.txt whose "op" is one of ops (NULL-terminated),
 * printing each failure with its parameters; returns how many ran and stores how many failed. */
typedef bool (*test_fixture_fn)(const fixture *f, const char *op);
int test_each_fixture(const char *const *ops, test_fixture_fn fn, int *failed);

#endif
