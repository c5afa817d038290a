/* Host side of the data-movement family (cl/transpose.cl): transpose (any permutation), narrow and
 * expand, all as one gather over y's dims with x's strides along them (after merging the dims that
 * x steps through as one), and a tiled __local path for batched 2-D transposes. */
#include <stdio.h>
#include <string.h>

#include "transpose.h"
#include "tuning.h"

/* y's dims innermost first (len) with x's element strides along them (xs; 0: broadcast). */
typedef struct {
  int64_t len[CLSEG_MAX_RANK], xs[CLSEG_MAX_RANK];
  int count;
} gather_layout;

static void contiguous_strides(const clseg_tensor *t, int64_t s[CLSEG_MAX_RANK]) {
  int64_t step = 1;
  for (int d = t->rank - 1; d >= 0; d--) {
    s[d] = step;
    step *= t->shape[d];
  }
}

/* From y's dims (outer first, rank of them) and x's strides along them: drops unit dims and merges
 * each dim into the one inside it where x steps through the pair as through one dim. */
static void gather_collapse(const int64_t *ylen, const int64_t *xs, int rank, gather_layout *l) {
  l->count = 0;
  for (int d = rank - 1; d >= 0; d--) {
    if (ylen[d] == 1)
      continue;
    const int t = l->count - 1;
    if (t >= 0 && xs[d] == l->xs[t] * l->len[t]) {
      l->len[t] *= ylen[d];
      continue;
    }
    l->len[l->count] = ylen[d];
    l->xs[l->count++] = xs[d];
  }
  for (int i = l->count; i < CLSEG_MAX_RANK; i++) {
    l->len[i] = 1;
    l->xs[i] = 0;
  }
  if (l->count == 0)
    l->count = 1;
}

static clseg_status tune(clseg_context *ctx, const char *variant, const char *k0, const char *k1,
                         int out[2]) {
  const char *const keys[] = {k0, k1};
  return clseg__tune_sizes(ctx, variant, keys, 2, out);
}

static clseg_status gather_enqueue(clseg_context *ctx, const char *what, const clseg_tensor *x,
                                   int64_t base, clseg_tensor *y, const gather_layout *l) {
  int tv[2]; /* LOCAL RUN */
  clseg_status s = tune(ctx, "transpose_gather", "LOCAL", "RUN", tv);
  if (s != CLSEG_OK)
    return s;
  const clseg__define defs[] = {{"RUN", tv[1]}};
  char opts[64];
  cl_kernel k;
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  if ((s = clseg__kernel(ctx, "transpose.cl", opts, "transpose_gather", &k)) != CLSEG_OK)
    return s;
  int v[CLSEG_MAX_RANK * 2];
  for (int d = 0; d < CLSEG_MAX_RANK; d++) {
    v[d] = (int)l->len[d];
    v[CLSEG_MAX_RANK + d] = (int)l->xs[d];
  }
  const int xo = (int)(x->offset + (size_t)base), yo = (int)y->offset, count = (int)y->count;
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf), CLSEG__ARG(xo),   CLSEG__ARG(y->buf), CLSEG__ARG(yo),
      CLSEG__ARG(count),  CLSEG__ARG(v[0]), CLSEG__ARG(v[1]),   CLSEG__ARG(v[2]),
      CLSEG__ARG(v[3]),   CLSEG__ARG(v[4]), CLSEG__ARG(v[6]),   CLSEG__ARG(v[7]),
      CLSEG__ARG(v[8]),   CLSEG__ARG(v[9]), CLSEG__ARG(v[10]),  CLSEG__ARG(v[11])};
  const size_t local = (size_t)tv[0];
  const size_t global = clseg__round_up((y->count + (size_t)tv[1] - 1) / (size_t)tv[1], local);
  return CLSEG__LAUNCH(ctx, k, what, args, 1, &global, &local);
}

/* A batched 2-D transpose x [B, R, C] -> y [B, C, R] in collapsed form: y's dims (innermost first)
 * R with stride C, C with stride 1, and B (if any) with stride R C. */
static int as_tiled(const gather_layout *l, int64_t *b, int64_t *r, int64_t *c) {
  if (l->count < 2 || l->count > 3 || l->xs[1] != 1 || l->xs[0] != l->len[1])
    return 0;
  /* B runs along the launch's dim 2, which NVIDIA's OpenCL caps at 65535 */
  if (l->count == 3 && (l->xs[2] != l->len[0] * l->len[1] || l->len[2] > 65535))
    return 0;
  *r = l->len[0];
  *c = l->len[1];
  *b = l->len[2];
  return 1;
}

static clseg_status tiled_enqueue(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y,
                                  int64_t b, int64_t r, int64_t c) {
  int tv[2]; /* TILE ROWS */
  clseg_status s = tune(ctx, "transpose_tiled", "TILE", "ROWS", tv);
  if (s != CLSEG_OK)
    return s;
  if (tv[0] % tv[1] || clseg__fit_local(ctx, (size_t)(tv[0] * tv[1])) != (size_t)(tv[0] * tv[1]))
    return clseg__fail(ctx, CLSEG_UNSUPPORTED,
                       "transpose_tiled: TILE=%d ROWS=%d is not a whole split or not a work-group "
                       "%s can run",
                       tv[0], tv[1], ctx->info.name);
  const clseg__define defs[] = {{"ROWS", tv[1]}, {"TILE", tv[0]}};
  char opts[64];
  cl_kernel k;
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  if ((s = clseg__kernel(ctx, "transpose.cl", opts, "transpose_tiled", &k)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, ri = (int)r, ci = (int)c;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),     CLSEG__ARG(ri), CLSEG__ARG(ci)};
  const size_t local[3] = {(size_t)tv[0], (size_t)tv[1], 1};
  const size_t global[3] = {clseg__round_up((size_t)c, local[0]),
                            (((size_t)r + local[0] - 1) / local[0]) * local[1], (size_t)b};
  return CLSEG__LAUNCH(ctx, k, "transpose_tiled", args, 3, global, local);
}

static clseg_status transpose_check(clseg_context *ctx, const clseg_tensor *x, const int *perm,
                                    const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "transpose", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "transpose", "output", y);
  if (s != CLSEG_OK)
    return s;
  if (!perm)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "transpose: perm is NULL (input %s)",
                       CLSEG__TSHAPE(x));
  int seen[CLSEG_MAX_RANK] = {0};
  int64_t want[CLSEG_MAX_RANK];
  for (int d = 0; d < x->rank; d++) {
    if (perm[d] < 0 || perm[d] >= x->rank || seen[perm[d]]++)
      return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                         "transpose: perm[%d] = %d is %s (input %s: perm must hold each of 0 .. %d "
                         "once)",
                         d, perm[d],
                         perm[d] < 0 || perm[d] >= x->rank ? "out of range" : "repeated",
                         CLSEG__TSHAPE(x), x->rank - 1);
    want[d] = x->shape[perm[d]];
  }
  if (y->rank != x->rank || memcmp(y->shape, want, (size_t)x->rank * sizeof *want) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "transpose: output has shape %s, expected %s (input %s permuted)",
                       CLSEG__TSHAPE(y), CLSEG__DIMS(want, x->rank), CLSEG__TSHAPE(x));
  return CLSEG_OK;
}

/* "auto" takes the tiled path for a batched 2-D transpose whose both sides are at least the
 * transpose row's MIN (cl/tuning/transpose.tsv), the gather otherwise. */
static int want_tiled(clseg_context *ctx, const char *variant, int64_t r, int64_t c, int *ok) {
  *ok = 1;
  if (variant && strcmp(variant, "auto"))
    return !strcmp(variant, "transpose_tiled");
  static const char *const key[] = {"MIN"};
  double min;
  if (clseg__tune_get(ctx, "transpose", NULL, key, 1, &min, NULL) != CLSEG_OK) {
    *ok = 0;
    return 0;
  }
  return (double)r >= min && (double)c >= min;
}

clseg_status clseg__transpose_variant(clseg_context *ctx, const clseg_tensor *x, const int *perm,
                                      clseg_tensor *y, const char *variant) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "transpose: NULL context");
  if (variant && strcmp(variant, "auto") && strcmp(variant, "transpose_gather") &&
      strcmp(variant, "transpose_tiled"))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "transpose: unknown variant '%s' (known: auto, transpose_gather, "
                       "transpose_tiled)",
                       variant);
  clseg_status s = transpose_check(ctx, x, perm, y);
  if (s != CLSEG_OK)
    return s;
  int64_t xs[CLSEG_MAX_RANK], ylen[CLSEG_MAX_RANK], ys[CLSEG_MAX_RANK];
  contiguous_strides(x, xs);
  for (int d = 0; d < x->rank; d++) {
    ylen[d] = x->shape[perm[d]];
    ys[d] = xs[perm[d]];
  }
  gather_layout l;
  gather_collapse(ylen, ys, x->rank, &l);
  int64_t b = 1, r = 1, c = 1;
  const int tiled = as_tiled(&l, &b, &r, &c);
  int ok;
  const int use_tiled = want_tiled(ctx, variant, r, c, &ok);
  if (!ok)
    return clseg_last_status(ctx);
  if (use_tiled && !tiled)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED,
                       "transpose: variant 'transpose_tiled' needs a batched 2-D transpose; input "
                       "%s with this perm is not one",
                       CLSEG__TSHAPE(x));
  return use_tiled && tiled ? tiled_enqueue(ctx, x, y, b, r, c)
                            : gather_enqueue(ctx, "transpose", x, 0, y, &l);
}

clseg_status clseg_transpose(clseg_context *ctx, const clseg_tensor *x, const int *perm,
                             clseg_tensor *y) {
  return clseg__transpose_variant(ctx, x, perm, y, "auto");
}

static clseg_status narrow_check(clseg_context *ctx, const clseg_tensor *x, int axis, int64_t start,
                                 const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "narrow", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "narrow", "output", y);
  if (s != CLSEG_OK)
    return s;
  if (axis < 0 || axis >= x->rank)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "narrow: axis %d is outside input %s (0 .. %d)",
                       axis, CLSEG__TSHAPE(x), x->rank - 1);
  for (int d = 0; d < CLSEG_MAX_RANK; d++)
    if (y->rank != x->rank || (d != axis && y->shape[d] != x->shape[d]))
      return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                         "narrow: output %s and input %s differ outside axis %d", CLSEG__TSHAPE(y),
                         CLSEG__TSHAPE(x), axis);
  if (start < 0 || start + y->shape[axis] > x->shape[axis])
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "narrow: elements %lld .. %lld along axis %d are outside input %s",
                       (long long)start, (long long)(start + y->shape[axis] - 1), axis,
                       CLSEG__TSHAPE(x));
  return CLSEG_OK;
}

clseg_status clseg_narrow(clseg_context *ctx, const clseg_tensor *x, int axis, int64_t start,
                          clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "narrow: NULL context");
  clseg_status s = narrow_check(ctx, x, axis, start, y);
  if (s != CLSEG_OK)
    return s;
  int64_t xs[CLSEG_MAX_RANK];
  contiguous_strides(x, xs);
  gather_layout l;
  gather_collapse(y->shape, xs, y->rank, &l);
  return gather_enqueue(ctx, "narrow", x, start * xs[axis], y, &l);
}

clseg_status clseg_expand(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "expand: NULL context");
  clseg_status s = clseg__check_tensor(ctx, "expand", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "expand", "output", y);
  if (s != CLSEG_OK)
    return s;
  int64_t xs[CLSEG_MAX_RANK], ys[CLSEG_MAX_RANK];
  contiguous_strides(x, xs);
  const int lead = y->rank - x->rank;
  for (int d = 0; d < y->rank; d++) {
    const int dx = d - lead;
    const int64_t e = dx >= 0 ? x->shape[dx] : 1;
    if (lead < 0 || (e != 1 && e != y->shape[d]))
      return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                         "expand: input %s does not broadcast to output %s (dims right-aligned, "
                         "each of the input's equal to the output's or 1)",
                         CLSEG__TSHAPE(x), CLSEG__TSHAPE(y));
    ys[d] = e == 1 ? 0 : xs[dx];
  }
  gather_layout l;
  gather_collapse(y->shape, ys, y->rank, &l);
  return gather_enqueue(ctx, "expand", x, 0, y, &l);
}
