/* Host side of softmax and normalisation along a run of dims (cl/norm.cl): clseg_softmax,
 * clseg_layernorm, clseg_groupnorm, on the (outer, n, inner) view of rows.c. Each reads a row
 * whole before writing it, so y may be x. */
#include <math.h>

#include "common.h"

/* Checks y against x (its shape, and int offsets for the kernels). */
static clseg_status norm_check_out(clseg_context *ctx, const char *op, const clseg_tensor *x,
                                   const clseg_tensor *y) {
  clseg_status s = clseg__check_like(ctx, op, y, x);
  if (s == CLSEG_OK && !clseg__fits_int(y))
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: output %s ends past 2^31 elements", op,
                       CLSEG__TSHAPE(y));
  return s;
}

clseg_status clseg_softmax(clseg_context *ctx, const clseg_tensor *x, int axis, int log,
                           clseg_tensor *y) {
  const char *op = log ? "log_softmax" : "softmax";
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: NULL context", op);
  int first, count;
  clseg__rows r;
  clseg_status s = clseg__rows_of(ctx, op, x, axis, 1, &first, &count, &r);
  if (s == CLSEG_OK)
    s = norm_check_out(ctx, op, x, y);
  if (s != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, outer = (int)r.outer, n = (int)r.n,
            inner = (int)r.inner, lg = log != 0;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo),    CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),     CLSEG__ARG(outer), CLSEG__ARG(n),
                             CLSEG__ARG(inner),  CLSEG__ARG(lg)};
  return clseg__rows_launch(ctx, "norm.cl", "norm_softmax", CLSEG__ROWS_VEC | CLSEG__ROWS_VEC_ROWS,
                            op, &r, args, CLSEG__COUNT(args));
}

/* The normalisation both ops share: rows r of x, parameter p of element j of row o at
 * ((o % gmod) * n + j) / gdiv (cl/norm.cl). */
typedef struct {
  const char *op;
  clseg__rows r;
  int gmod, gdiv;
  float eps;
} norm_job;

static clseg_status norm_enqueue(clseg_context *ctx, const norm_job *job, const clseg_tensor *x,
                                 const clseg_tensor *gamma, const clseg_tensor *beta,
                                 clseg_tensor *y) {
  if (!(job->eps >= 0.0f) || isinf(job->eps))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: eps %g is negative or not finite", job->op,
                       (double)job->eps);
  /* Absent parameters: x's buffer stands in, never read (has_* 0). */
  const int xo = (int)x->offset, yo = (int)y->offset, hg = gamma != NULL, hb = beta != NULL;
  const int go = hg ? (int)gamma->offset : 0, bo = hb ? (int)beta->offset : 0;
  const int outer = (int)job->r.outer, n = (int)job->r.n, inner = (int)job->r.inner;
  const float eps = job->eps == 0.0f ? 1e-5f : job->eps;
  const clseg__arg args[] = {CLSEG__ARG(x->buf),
                             CLSEG__ARG(xo),
                             CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),
                             hg ? CLSEG__ARG(gamma->buf) : CLSEG__ARG(x->buf),
                             CLSEG__ARG(go),
                             hb ? CLSEG__ARG(beta->buf) : CLSEG__ARG(x->buf),
                             CLSEG__ARG(bo),
                             CLSEG__ARG(hg),
                             CLSEG__ARG(hb),
                             CLSEG__ARG(outer),
                             CLSEG__ARG(n),
                             CLSEG__ARG(inner),
                             CLSEG__ARG(job->gmod),
                             CLSEG__ARG(job->gdiv),
                             CLSEG__ARG(eps)};
  return clseg__rows_launch(ctx, "norm.cl", "norm_layernorm", CLSEG__ROWS_VEC, job->op, &job->r,
                            args, CLSEG__COUNT(args));
}

clseg_status clseg_layernorm(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *gamma,
                             const clseg_tensor *beta, const clseg_layernorm_params *p,
                             clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "layernorm: NULL context");
  const clseg_layernorm_params def = {.axis = -1};
  const clseg_layernorm_params *q = p ? p : &def;
  norm_job job = {.op = "layernorm", .gmod = 1, .gdiv = 1, .eps = q->eps};
  int first, count;
  clseg_status s = clseg__rows_of(ctx, job.op, x, q->axis, q->naxes, &first, &count, &job.r);
  if (s == CLSEG_OK)
    s = norm_check_out(ctx, job.op, x, y);
  if (s == CLSEG_OK)
    s = clseg__check_optional(ctx, job.op, "gamma", gamma, (size_t)job.r.n);
  if (s == CLSEG_OK)
    s = clseg__check_optional(ctx, job.op, "beta", beta, (size_t)job.r.n);
  if (s != CLSEG_OK)
    return s;
  return norm_enqueue(ctx, &job, x, gamma, beta, y);
}

clseg_status clseg_groupnorm(clseg_context *ctx, const clseg_tensor *x, int groups, float eps,
                             const clseg_tensor *gamma, const clseg_tensor *beta, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "groupnorm: NULL context");
  norm_job job = {.op = "groupnorm", .gmod = groups, .eps = eps};
  clseg_status s = clseg__check_tensor(ctx, job.op, "input", x);
  if (s != CLSEG_OK)
    return s;
  if (x->rank < 2)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "groupnorm: input %s has rank %d, not [N, C, ...]", CLSEG__TSHAPE(x),
                       x->rank);
  const int64_t c = x->shape[1];
  if (groups < 1 || c % groups != 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "groupnorm: %d groups do not divide the %lld channels of input %s", groups,
                       (long long)c, CLSEG__TSHAPE(x));
  /* Rows of the group's channels and every later dim: x [N * groups, C / groups * spatial]. */
  int first, count;
  clseg__rows r;
  s = clseg__rows_of(ctx, job.op, x, 1, 0, &first, &count, &r);
  if (s == CLSEG_OK)
    s = norm_check_out(ctx, job.op, x, y);
  if (s == CLSEG_OK)
    s = clseg__check_optional(ctx, job.op, "gamma", gamma, (size_t)c);
  if (s == CLSEG_OK)
    s = clseg__check_optional(ctx, job.op, "beta", beta, (size_t)c);
  if (s != CLSEG_OK)
    return s;
  job.r = (clseg__rows){r.outer * groups, r.n / groups, 1};
  job.gdiv = (int)(r.n / c); /* the spatial size: channel = element / spatial */
  return norm_enqueue(ctx, &job, x, gamma, beta, y);
}
