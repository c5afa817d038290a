/* Host side of the elementwise ops (cl/eltwise.cl): the broadcasting binary ops y = act(a op b) on
 * tensors of any rank, dims right-aligned (numpy's rule), and the unary math ops. The binary shapes
 * are collapsed into rows that the kernel walks with unit stride. */
#include "common.h"

static const char *const op_names[] = {"binary add", "binary sub", "binary mul", "binary div",
                                       "binary pow", "binary max", "binary min"};
#define N_BINARY ((int)(sizeof op_names / sizeof *op_names))

/* The collapsed view: len[0] is the row (y contiguous along it), len[1..5] the outer dimensions,
 * innermost first; sa / sb the operands' element strides (0 where they broadcast). */
typedef struct {
  int64_t len[CLSEG_MAX_RANK], sa[CLSEG_MAX_RANK], sb[CLSEG_MAX_RANK];
  int count;
} binary_layout;

/* t's dims right-aligned to rank dims: leading 1s. */
static void right_align(const clseg_tensor *t, int rank, int64_t out[CLSEG_MAX_RANK]) {
  for (int d = 0; d < CLSEG_MAX_RANK; d++)
    out[d] = 1;
  for (int d = 0; d < t->rank; d++)
    out[rank - t->rank + d] = t->shape[d];
}

static clseg_status binary_check(clseg_context *ctx, clseg_binary_op op, const clseg_tensor *a,
                                 const clseg_tensor *b, const clseg_tensor *y) {
  if ((int)op < 0 || (int)op >= N_BINARY)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "binary: unknown operation %d", (int)op);
  const char *name = op_names[op];
  clseg_status s = clseg__check_tensor(ctx, name, "a", a);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, name, "b", b);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, name, "output", y);
  if (s != CLSEG_OK)
    return s;
  if (a->rank > y->rank || b->rank > y->rank)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: a of shape %s and b of shape %s do not broadcast to the output's shape "
                       "%s (an operand has more dims than the output)",
                       name, CLSEG__TSHAPE(a), CLSEG__TSHAPE(b), CLSEG__TSHAPE(y));
  int64_t as[CLSEG_MAX_RANK], bs[CLSEG_MAX_RANK];
  right_align(a, y->rank, as);
  right_align(b, y->rank, bs);
  for (int d = 0; d < y->rank; d++)
    if ((as[d] != y->shape[d] && as[d] != 1) || (bs[d] != y->shape[d] && bs[d] != 1))
      return clseg__fail(
          ctx, CLSEG_SHAPE_MISMATCH,
          "%s: a of shape %s and b of shape %s do not broadcast to the output's shape %s "
          "(dimension %d: each must be %lld or 1)",
          name, CLSEG__TSHAPE(a), CLSEG__TSHAPE(b), CLSEG__TSHAPE(y), d, (long long)y->shape[d]);
  return CLSEG_OK;
}

/* Drops y's unit dimensions, then merges each dimension into the one inside it wherever both
 * operands step through the pair as through one dimension, so that common broadcasts (bias [1, C,
 * 1, 1], gates [N, 1, H, W]) give rows of H * W or more floats. as, bs, ys: rank dims, the
 * operands right-aligned. */
static void binary_collapse(const int64_t *as, const int64_t *bs, const int64_t *ys, int rank,
                            binary_layout *l) {
  int64_t ca = 1, cb = 1; /* contiguous strides of a and b at dimension d */
  l->count = 0;
  for (int d = rank - 1; d >= 0; d--) {
    const int64_t sa = as[d] == 1 ? 0 : ca, sb = bs[d] == 1 ? 0 : cb;
    ca *= as[d];
    cb *= bs[d];
    if (ys[d] == 1)
      continue;
    const int t = l->count - 1;
    if (t >= 0 && sa == l->sa[t] * l->len[t] && sb == l->sb[t] * l->len[t]) {
      l->len[t] *= ys[d];
      continue;
    }
    l->len[l->count] = ys[d];
    l->sa[l->count] = sa;
    l->sb[l->count++] = sb;
  }
  if (l->count == 0) { /* a single element */
    l->len[0] = 1;
    l->sa[0] = l->sb[0] = 0;
    l->count = 1;
  }
  for (int i = l->count; i < CLSEG_MAX_RANK; i++) {
    l->len[i] = 1;
    l->sa[i] = l->sb[i] = 0;
  }
}

static clseg_status binary_enqueue(clseg_context *ctx, clseg_binary_op op, const clseg_tensor *a,
                                   const clseg_tensor *b, clseg_tensor *y, const binary_layout *l,
                                   const int act[1], const float ab[2]) {
  cl_kernel k;
  clseg__stream_shape sh;
  /* The row (cl/tuning/eltwise.tsv) picks the form: float16 runs of a row per work-item over a 2-D
   * range (runs, rows) for CPUs, one float of y per work-item over a 1-D range for GPUs. */
  clseg_status s = clseg__stream_kernel(ctx, "eltwise.cl", "eltwise_binary", &k, &sh);
  if (s != CLSEG_OK)
    return s;
  int v[2 + 2 * CLSEG_MAX_RANK + 4]; /* len rows, o1..o4, sa0..5, sb0..5 */
  v[0] = (int)l->len[0];
  v[1] = (int)(y->count / (size_t)l->len[0]);
  for (int d = 0; d < 4; d++)
    v[2 + d] = (int)l->len[1 + d];
  for (int d = 0; d < CLSEG_MAX_RANK; d++) {
    v[6 + d] = (int)l->sa[d];
    v[12 + d] = (int)l->sb[d];
  }
  const int ao = (int)a->offset, bo = (int)b->offset, yo = (int)y->offset, opc = (int)op;
  const clseg__arg args[] = {
      CLSEG__ARG(a->buf), CLSEG__ARG(ao),     CLSEG__ARG(b->buf), CLSEG__ARG(bo),
      CLSEG__ARG(y->buf), CLSEG__ARG(yo),     CLSEG__ARG(v[0]),   CLSEG__ARG(v[1]),
      CLSEG__ARG(v[6]),   CLSEG__ARG(v[12]),  CLSEG__ARG(v[2]),   CLSEG__ARG(v[3]),
      CLSEG__ARG(v[4]),   CLSEG__ARG(v[5]),   CLSEG__ARG(v[7]),   CLSEG__ARG(v[8]),
      CLSEG__ARG(v[9]),   CLSEG__ARG(v[10]),  CLSEG__ARG(v[11]),  CLSEG__ARG(v[13]),
      CLSEG__ARG(v[14]),  CLSEG__ARG(v[15]),  CLSEG__ARG(v[16]),  CLSEG__ARG(v[17]),
      CLSEG__ARG(opc),    CLSEG__ARG(act[0]), CLSEG__ARG(ab[0]),  CLSEG__ARG(ab[1])};
  if (sh.gpu) {
    const size_t global = clseg__round_up(y->count, sh.local);
    return CLSEG__LAUNCH(ctx, k, op_names[op], args, 1, &global, &sh.local);
  }
  /* Short rows give one run each: then the work-group spans rows instead, so that it is not mostly
   * idle. */
  const size_t runs = ((size_t)v[0] + sh.chunk - 1) / sh.chunk;
  const size_t local[2] = {runs == 1 ? 1 : sh.local, runs == 1 ? sh.local : 1};
  const size_t global[2] = {clseg__round_up(runs, local[0]),
                            clseg__round_up((size_t)v[1], local[1])};
  return CLSEG__LAUNCH(ctx, k, op_names[op], args, 2, global, local);
}

clseg_status clseg_binary(clseg_context *ctx, clseg_binary_op op, const clseg_tensor *a,
                          const clseg_tensor *b, const clseg_activation *act, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "binary: NULL context");
  int kind;
  float ab[2];
  clseg_status s = binary_check(ctx, op, a, b, y);
  if (s == CLSEG_OK)
    s = clseg__act_resolve(ctx, op_names[op], act, &kind, &ab[0], &ab[1]);
  if (s != CLSEG_OK)
    return s;
  int64_t as[CLSEG_MAX_RANK], bs[CLSEG_MAX_RANK];
  right_align(a, y->rank, as);
  right_align(b, y->rank, bs);
  binary_layout l;
  binary_collapse(as, bs, y->shape, y->rank, &l);
  return binary_enqueue(ctx, op, a, b, y, &l, &kind, ab);
}

static const char *const unary_names[] = {"unary erf", "unary sqrt",       "unary exp", "unary log",
                                          "unary neg", "unary reciprocal", "unary abs"};

clseg_status clseg_unary(clseg_context *ctx, clseg_unary_op op, const clseg_tensor *x,
                         clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "unary: NULL context");
  if ((int)op < 0 || op >= CLSEG_UNARY_COUNT)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "unary: unknown operation %d", (int)op);
  const char *name = unary_names[op];
  clseg_status s = clseg__check_tensor(ctx, name, "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_like(ctx, name, y, x);
  if (s != CLSEG_OK)
    return s;
  cl_kernel k;
  clseg__stream_shape sh;
  if ((s = clseg__stream_kernel(ctx, "eltwise.cl", "eltwise_unary", &k, &sh)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, n = (int)x->count, opc = (int)op;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),     CLSEG__ARG(n),  CLSEG__ARG(opc)};
  const size_t items = sh.gpu ? x->count : (x->count + sh.chunk - 1) / sh.chunk;
  const size_t global = clseg__round_up(items, sh.local);
  return CLSEG__LAUNCH(ctx, k, name, args, 1, &global, &sh.local);
}
