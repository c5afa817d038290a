/* The (outer, n, inner) view of a tensor for the reductions along a run of dims (norm.c, reduce.c)
 * and the choice between their column and work-group forms (cl/rows.h). */
#include <stdio.h>

#include "common.h"
#include "tuning.h"

clseg_status clseg__rows_of(clseg_context *ctx, const char *op, const clseg_tensor *x, int axis,
                            int naxes, int *first, int *count, clseg__rows *r) {
  clseg_status s = clseg__check_tensor(ctx, op, "input", x);
  if (s != CLSEG_OK)
    return s;
  if (axis < -x->rank || axis >= x->rank)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: axis %d is out of range for input %s", op,
                       axis, CLSEG__TSHAPE(x));
  const int a = axis < 0 ? axis + x->rank : axis;
  const int k = naxes == 0 ? x->rank - a : naxes;
  if (naxes < 0 || a + k > x->rank)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "%s: %d dims from axis %d do not fit input %s (rank %d)", op, naxes, axis,
                       CLSEG__TSHAPE(x), x->rank);
  if (!clseg__fits_int(x))
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: input %s has over 2^31 elements", op,
                       CLSEG__TSHAPE(x));
  r->outer = r->n = r->inner = 1;
  for (int d = 0; d < x->rank; d++)
    *(d < a ? &r->outer : d < a + k ? &r->n : &r->inner) *= x->shape[d];
  *first = a;
  *count = k;
  return CLSEG_OK;
}

/* The VEC cell of variant's row: 0 or 1, another value is CLSEG_FORMAT naming the row. */
static clseg_status rows_vec_cell(clseg_context *ctx, const char *variant, int *vec) {
  static const char *const key[] = {"VEC"};
  double v;
  clseg__tuned t;
  clseg_status s = clseg__tune_get(ctx, variant, NULL, key, 1, &v, &t);
  if (s == CLSEG_OK && v != 0.0 && v != 1.0) {
    char where[320];
    clseg__tuned_describe(&t, where, sizeof where);
    return clseg__fail(ctx, CLSEG_FORMAT, "tuning: VEC=%g of %s (%s) is neither 0 nor 1", v,
                       variant, where);
  }
  *vec = v == 1.0;
  return s;
}

/* The form for r: 0 column, 1 work-group, 2 float16 columns (VEC, only for variants that have it).
 */
static clseg_status rows_form(clseg_context *ctx, const char *variant, int has_vec,
                              const clseg__rows *r, int *form, size_t *lws) {
  static const char *const keys[] = {"LOCAL", "COLS"};
  int tv[2], gpu, vec = 0;
  clseg_status s = clseg__tune_sizes(ctx, variant, keys, 2, tv);
  if (s == CLSEG_OK)
    s = clseg__tune_gpu(ctx, variant, &gpu);
  if (s == CLSEG_OK && has_vec)
    s = rows_vec_cell(ctx, variant, &vec);
  if (s != CLSEG_OK)
    return s;
  const int vec_rows = (has_vec & CLSEG__ROWS_VEC_ROWS) && r->inner == 1 && r->n >= 16;
  *form = gpu && r->inner < tv[1] ? 1 : vec && (r->inner >= 16 || vec_rows) ? 2 : 0;
  *lws = clseg__fit_local(ctx, (size_t)tv[0]);
  return CLSEG_OK;
}

clseg_status clseg__rows_launch(clseg_context *ctx, const char *file, const char *variant,
                                int has_vec, const char *op, const clseg__rows *r,
                                const clseg__arg *args, int nargs) {
  static const char *const suffix[] = {"", "_wg", "_vec"};
  int form;
  size_t lws;
  clseg_status s = rows_form(ctx, variant, has_vec, r, &form, &lws);
  if (s != CLSEG_OK)
    return s;
  /* Only the work-group form reads LOCAL, so the column forms' program serves every row. */
  const clseg__define defs[] = {{"LOCAL", (long)lws}};
  char opts[32] = "", name[48];
  cl_kernel k;
  CLSEG__CHECK(ctx, form != 1 || clseg__build_options(defs, 1, opts, sizeof opts));
  CLSEG__CHECK(ctx, snprintf(name, sizeof name, "%s%s", variant, suffix[form]) < (int)sizeof name);
  if ((s = clseg__kernel(ctx, file, opts, name, &k)) != CLSEG_OK)
    return s;
  const size_t rows = (size_t)(r->outer * r->inner);
  const size_t items = form == 2 ? (size_t)r->outer * (size_t)((r->inner + 15) / 16) : rows;
  const size_t global = form == 1 ? rows * lws : clseg__round_up(items, lws);
  return clseg__launch(ctx, k, op, args, nargs, 1, &global, &lws);
}
