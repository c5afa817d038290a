/* Test helpers shared by every test program: the one tolerance check (fp32 defaults live here), the
 * worst-normalised-error tracking of the summary lines, and a seeded deterministic fill, so that a
 * failure can be replayed from its printed seed. */
#ifndef CLSEG_TEST_CHECK_H
#define CLSEG_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* fp32 defaults: an element passes if |got - ref| <= CHECK_ATOL + CHECK_RTOL * |ref|, which is our
 * standard max|diff| <= 1e-4 * max(1, |ref|) up to a factor of two. */
#define CHECK_ATOL 1e-4
#define CHECK_RTOL 1e-4

typedef struct {
  double atol, rtol;
} check_tol;

/* Compares count floats. shape (may be NULL) lets a failure name the worst index as n,c,h,w; tol
 * NULL means the fp32 defaults. On failure prints to stderr: what, the worst index, both values,
 * the max absolute and normalised (|diff| / max(1, |ref|)) errors and the caller's context (op
 * parameters, variant, seed). NaN passes only against NaN, infinities only against the same
 * infinity. */
bool check_close(const char *what, const float *got, const float *ref, size_t count,
                 const int64_t shape[4], const check_tol *tol, const char *context);

/* The largest normalised error |got - ref| / max(1, |ref|) over count floats, for a summary line;
 * non-finite errors are skipped (check_close reports those). */
double check_max_norm_err(const float *got, const float *ref, size_t count);
/* Raises *worst to check_max_norm_err(got, ref, count) when that is larger. */
void check_track_worst(double *worst, const float *got, const float *ref, size_t count);

/* splitmix64: small, seedable, the same sequence on every platform. */
typedef struct {
  uint64_t state;
} check_rng;

uint64_t check_rng_next(check_rng *r);
/* Uniform in [lo, hi]. */
float check_rng_uniform(check_rng *r, float lo, float hi);
/* Fills a with count uniform values in [lo, hi] from a generator seeded with seed. */
void check_fill_uniform(float *a, size_t count, uint64_t seed, float lo, float hi);

#endif
