/* The tolerance check, the worst-error tracking and the seeded fill declared in check.h. */
#include "common/check.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* How far past its allowance an element is (<= 1 passes); mismatched non-finite values count as
 * huge. */
static double excess(float got, float ref, double atol, double rtol) {
  if (isnan(ref) || isnan(got))
    return isnan(ref) && isnan(got) ? 0.0 : INFINITY;
  if (isinf(ref) || isinf(got))
    return got == ref ? 0.0 : INFINITY;
  double allow = atol + rtol * fabs((double)ref);
  double d = fabs((double)got - (double)ref);
  return allow > 0.0 ? d / allow : (d > 0.0 ? INFINITY : 0.0);
}

static void print_index(size_t i, const int64_t shape[4]) {
  if (!shape) {
    fprintf(stderr, "[%zu]", i);
    return;
  }
  int64_t w = (int64_t)i % shape[3], h = ((int64_t)i / shape[3]) % shape[2];
  int64_t c = ((int64_t)i / (shape[3] * shape[2])) % shape[1];
  int64_t n = (int64_t)i / (shape[3] * shape[2] * shape[1]);
  fprintf(stderr, "[n=%" PRId64 ",c=%" PRId64 ",h=%" PRId64 ",w=%" PRId64 "] (flat %zu)", n, c, h,
          w, i);
}

bool check_close(const char *what, const float *got, const float *ref, size_t count,
                 const int64_t shape[4], const check_tol *tol, const char *context) {
  double atol = tol ? tol->atol : CHECK_ATOL, rtol = tol ? tol->rtol : CHECK_RTOL;
  double worst = 0.0, max_abs = 0.0, max_norm = 0.0;
  size_t worst_i = 0, bad = 0;
  for (size_t i = 0; i < count; i++) {
    double e = excess(got[i], ref[i], atol, rtol);
    double d = fabs((double)got[i] - (double)ref[i]);
    if (!(d <= max_abs) && isfinite(d))
      max_abs = d;
    double nrm = d / fmax(1.0, fabs((double)ref[i]));
    if (!(nrm <= max_norm) && isfinite(nrm))
      max_norm = nrm;
    if (e > 1.0)
      bad++;
    if (e > worst) {
      worst = e;
      worst_i = i;
    }
  }
  if (bad == 0)
    return true;
  fprintf(stderr, "FAIL %s: %zu of %zu elements out of tolerance (atol %g, rtol %g)\n  worst at ",
          what ? what : "check", bad, count, atol, rtol);
  print_index(worst_i, shape);
  fprintf(stderr, ": got %.9g, ref %.9g\n  max abs err %.6g, max normalised err %.6g\n",
          (double)got[worst_i], (double)ref[worst_i], max_abs, max_norm);
  fprintf(stderr, "  context: %s\n", context ? context : "(none)");
  return false;
}

double check_max_norm_err(const float *got, const float *ref, size_t count) {
  double worst = 0.0;
  for (size_t i = 0; i < count; i++) {
    double e = fabs((double)got[i] - ref[i]) / fmax(1.0, fabs((double)ref[i]));
    if (e > worst && isfinite(e))
      worst = e;
  }
  return worst;
}

void check_track_worst(double *worst, const float *got, const float *ref, size_t count) {
  double e = check_max_norm_err(got, ref, count);
  if (e > *worst)
    *worst = e;
}

uint64_t check_rng_next(check_rng *r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float check_rng_uniform(check_rng *r, float lo, float hi) {
  /* The top 24 bits over 2^24 - 1: an even grid on [0, 1] that floats hold exactly, hi included. */
  double u = (double)(check_rng_next(r) >> 40) / (double)((1u << 24) - 1);
  return (float)(lo + (hi - lo) * u);
}

void check_fill_uniform(float *a, size_t count, uint64_t seed, float lo, float hi) {
  check_rng r = {seed};
  for (size_t i = 0; i < count; i++)
    a[i] = check_rng_uniform(&r, lo, hi);
}
