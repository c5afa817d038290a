/* Host side of the reductions over channels (cl/reduce.cl): mean / max to one channel, softmax,
 * argmax; and clseg_reduce_axes, mean / max / sum / min over any run of dims (rows.c). */
#include <stdio.h>
#include <string.h>

#include "common.h"

/* Cells of each variant's row (cl/tuning/reduce.tsv): LOCAL work-items per work-group, VPW float16
 * vectors (pixels) per work-item (the kernel's macro); GPU (clseg__tune_gpu) 1 runs the
 * `<variant>_gpu` kernel, one pixel per work-item in work-groups of exactly LOCAL. */
static const char *const TUNE_KEYS[] = {"LOCAL", "VPW"};

typedef struct {
  const char *op;     /* for messages */
  const char *kernel; /* the kernel's, the variant's and its tuning row's */
  int keep_channels;  /* y shaped like x (softmax), else [N, 1, H, W] */
} reduce_variant;

/* Indexed by clseg_reduce_kind, then softmax and argmax. */
static const reduce_variant reduce_variants[] = {
    {"reduce_channels mean", "reduce_mean", 0},
    {"reduce_channels max", "reduce_max", 0},
    {"softmax_channels", "reduce_softmax", 1},
    {"argmax_channels", "reduce_argmax", 0},
};
enum { VARIANT_SOFTMAX = 2, VARIANT_ARGMAX = 3 };

static void reduce_out_shape(const clseg_tensor *x, const reduce_variant *v, int64_t out[4]) {
  out[0] = x->shape[0];
  out[1] = v->keep_channels ? x->shape[1] : 1;
  out[2] = x->shape[2];
  out[3] = x->shape[3];
}

static clseg_status reduce_check(clseg_context *ctx, const reduce_variant *v, const clseg_tensor *x,
                                 const clseg_tensor *y) {
  int64_t want[4];
  clseg_status s = clseg__check_tensor(ctx, v->op, "input", x);
  if (s != CLSEG_OK)
    return s;
  reduce_out_shape(x, v, want);
  return clseg__check_output(ctx, v->op, y, want);
}

static clseg_status reduce_enqueue(clseg_context *ctx, const reduce_variant *v,
                                   const clseg_tensor *x, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: NULL context", v->op);
  clseg_status s = reduce_check(ctx, v, x, y);
  if (s != CLSEG_OK)
    return s;
  int tv[2], gpu;
  if ((s = clseg__tune_sizes(ctx, v->kernel, TUNE_KEYS, 2, tv)) != CLSEG_OK ||
      (s = clseg__tune_gpu(ctx, v->kernel, &gpu)) != CLSEG_OK)
    return s;
  /* Each form gets only the macro it reads, so that equal rows share one program. */
  const size_t lws = gpu ? clseg__fit_local(ctx, (size_t)tv[0]) : (size_t)tv[0];
  char opts[64], name[40];
  const clseg__define defs[] = {{gpu ? "LOCAL" : "VPW", gpu ? (long)lws : tv[1]}};
  cl_kernel k;
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  CLSEG__CHECK(ctx, snprintf(name, sizeof name, "%s%s", v->kernel, gpu ? "_gpu" : "") <
                        (int)sizeof name);
  if ((s = clseg__kernel(ctx, "reduce.cl", opts, name, &k)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, c = (int)x->shape[1];
  const int hw = (int)(x->shape[2] * x->shape[3]), n = (int)x->shape[0];
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(y->buf), CLSEG__ARG(yo),
                             CLSEG__ARG(c),      CLSEG__ARG(hw), CLSEG__ARG(n)};
  if (gpu) { /* one pixel per work-item over all n images */
    const size_t global = clseg__round_up((size_t)n * (size_t)hw, lws);
    return CLSEG__LAUNCH(ctx, k, v->op, args, 1, &global, &lws);
  }
  /* Small images give one run each: then the work-group spans images instead. */
  const size_t chunk = 16 * (size_t)tv[1], runs = ((size_t)hw + chunk - 1) / chunk;
  const size_t local[2] = {runs == 1 ? 1 : lws, runs == 1 ? lws : 1};
  const size_t global[2] = {clseg__round_up(runs, local[0]), clseg__round_up((size_t)n, local[1])};
  return CLSEG__LAUNCH(ctx, k, v->op, args, 2, global, local);
}

clseg_status clseg_reduce_channels(clseg_context *ctx, const clseg_tensor *x,
                                   clseg_reduce_kind kind, clseg_tensor *y) {
  if (kind == CLSEG_REDUCE_SUM || kind == CLSEG_REDUCE_MIN)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "reduce_channels: kind %s is clseg_reduce_axes's only (use axis 1, naxes 1)",
                       kind == CLSEG_REDUCE_SUM ? "SUM" : "MIN");
  if ((int)kind < 0 || kind > CLSEG_REDUCE_MAX)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "reduce_channels: unknown kind %d", (int)kind);
  return reduce_enqueue(ctx, &reduce_variants[kind], x, y);
}

clseg_status clseg_softmax_channels(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y) {
  return reduce_enqueue(ctx, &reduce_variants[VARIANT_SOFTMAX], x, y);
}

clseg_status clseg_argmax_channels(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y) {
  return reduce_enqueue(ctx, &reduce_variants[VARIANT_ARGMAX], x, y);
}

static const char *const axes_ops[] = {"reduce_axes mean", "reduce_axes max", "reduce_axes sum",
                                       "reduce_axes min"};

clseg_status clseg_reduce_axes(clseg_context *ctx, const clseg_tensor *x, clseg_reduce_kind kind,
                               int axis, int naxes, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "reduce_axes: NULL context");
  if ((int)kind < 0 || kind > CLSEG_REDUCE_MIN)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "reduce_axes: unknown kind %d", (int)kind);
  const char *op = axes_ops[kind];
  int first, count;
  clseg__rows r;
  clseg_status s = clseg__rows_of(ctx, op, x, axis, naxes, &first, &count, &r);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, op, "output", y);
  if (s != CLSEG_OK)
    return s;
  int64_t want[CLSEG_MAX_RANK];
  for (int d = 0; d < CLSEG_MAX_RANK; d++)
    want[d] = d >= first && d < first + count ? 1 : x->shape[d];
  if (y->rank != x->rank || memcmp(y->shape, want, sizeof want) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "%s: output has shape %s, expected %s", op,
                       CLSEG__TSHAPE(y), CLSEG__DIMS(want, x->rank));
  if (!clseg__fits_int(y))
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: output %s ends past 2^31 elements", op,
                       CLSEG__TSHAPE(y));
  const int xo = (int)x->offset, yo = (int)y->offset, outer = (int)r.outer, n = (int)r.n,
            inner = (int)r.inner, k = (int)kind;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(y->buf), CLSEG__ARG(yo),
                             CLSEG__ARG(outer),  CLSEG__ARG(n),  CLSEG__ARG(inner),  CLSEG__ARG(k)};
  return clseg__rows_launch(ctx, "reduce.cl", "reduce_axes", CLSEG__ROWS_VEC, op, &r, args,
                            CLSEG__COUNT(args));
}
