/* Host side of the broadcasting binary ops (cl/eltwise.cl): y = act(a op b), where each dimension
 * of a and b equals y's or is 1. The shapes are collapsed into rows that the kernel walks with unit
 * stride. */
#include "common.h"

static const char *const op_names[] = {"binary add", "binary sub", "binary mul", "binary div"};

/* The collapsed view: dims[0] is the row (y contiguous along it), dims[1..3] the outer dimensions,
 * innermost first; sa / sb the operands' element strides (0 where they broadcast). */
typedef struct {
  int64_t len[4], sa[4], sb[4];
  int count;
} binary_layout;

static clseg_status binary_check(clseg_context *ctx, clseg_binary_op op, const clseg_tensor *a,
                                 const clseg_tensor *b, const clseg_tensor *y) {
  if ((int)op < 0 || op > CLSEG_BINARY_DIV)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "binary: unknown operation %d", (int)op);
  const char *name = op_names[op];
  clseg_status s = clseg__check_tensor(ctx, name, "a", a);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, name, "b", b);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, name, "output", y);
  if (s != CLSEG_OK)
    return s;
  for (int d = 0; d < 4; d++)
    if ((a->shape[d] != y->shape[d] && a->shape[d] != 1) ||
        (b->shape[d] != y->shape[d] && b->shape[d] != 1))
      return clseg__fail(
          ctx, CLSEG_SHAPE_MISMATCH,
          "%s: a of shape %s and b of shape %s do not broadcast to the output's shape %s "
          "(dimension %d: each must be %lld or 1)",
          name, CLSEG__TSHAPE(a), CLSEG__TSHAPE(b), CLSEG__TSHAPE(y), d, (long long)y->shape[d]);
  return CLSEG_OK;
}

/* Drops y's unit dimensions, then merges each dimension into the one inside it wherever both
 * operands step through the pair as through one dimension, so that common broadcasts (bias [1, C,
 * 1, 1], gates [N, 1, H, W]) give rows of H * W or more floats. */
static void binary_collapse(const int64_t as[4], const int64_t bs[4], const int64_t ys[4],
                            binary_layout *l) {
  int64_t ca = 1, cb = 1; /* contiguous strides of a and b at dimension d */
  l->count = 0;
  for (int d = 3; d >= 0; d--) {
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
  for (int i = l->count; i < 4; i++) {
    l->len[i] = 1;
    l->sa[i] = l->sb[i] = 0;
  }
}

clseg_status clseg_binary(clseg_context *ctx, clseg_binary_op op, const clseg_tensor *a,
                          const clseg_tensor *b, const clseg_activation *act, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "binary: NULL context");
  int kind;
  float alpha, beta;
  clseg_status s = binary_check(ctx, op, a, b, y);
  if (s == CLSEG_OK)
    s = clseg__act_resolve(ctx, op_names[op], act, &kind, &alpha, &beta);
  if (s != CLSEG_OK)
    return s;
  cl_kernel k;
  clseg__stream_shape sh;
  /* The row (cl/tuning/eltwise.tsv) picks the form: float16 runs of a row per work-item over a 2-D
   * range (runs, rows) for CPUs, one float of y per work-item over a 1-D range for GPUs. */
  if ((s = clseg__stream_kernel(ctx, "eltwise.cl", "eltwise_binary", &k, &sh)) != CLSEG_OK)
    return s;
  binary_layout l;
  binary_collapse(a->shape, b->shape, y->shape, &l);
  const int ao = (int)a->offset, bo = (int)b->offset, yo = (int)y->offset, opc = (int)op;
  const int len = (int)l.len[0], rows = (int)(y->count / (size_t)l.len[0]), o1 = (int)l.len[1];
  const int o2 = (int)l.len[2], sa0 = (int)l.sa[0], sb0 = (int)l.sb[0];
  const int sa1 = (int)l.sa[1], sa2 = (int)l.sa[2], sa3 = (int)l.sa[3];
  const int sb1 = (int)l.sb[1], sb2 = (int)l.sb[2], sb3 = (int)l.sb[3];
  const clseg__arg args[] = {
      CLSEG__ARG(a->buf), CLSEG__ARG(ao),  CLSEG__ARG(b->buf), CLSEG__ARG(bo),  CLSEG__ARG(y->buf),
      CLSEG__ARG(yo),     CLSEG__ARG(len), CLSEG__ARG(rows),   CLSEG__ARG(sa0), CLSEG__ARG(sb0),
      CLSEG__ARG(o1),     CLSEG__ARG(o2),  CLSEG__ARG(sa1),    CLSEG__ARG(sa2), CLSEG__ARG(sa3),
      CLSEG__ARG(sb1),    CLSEG__ARG(sb2), CLSEG__ARG(sb3),    CLSEG__ARG(opc), CLSEG__ARG(kind),
      CLSEG__ARG(alpha),  CLSEG__ARG(beta)};
  if (sh.gpu) {
    const size_t global = clseg__round_up(y->count, sh.local);
    return CLSEG__LAUNCH(ctx, k, op_names[op], args, 1, &global, &sh.local);
  }
  /* Short rows give one run each: then the work-group spans rows instead, so that it is not mostly
   * idle. */
  const size_t runs = ((size_t)len + sh.chunk - 1) / sh.chunk;
  const size_t local[2] = {runs == 1 ? 1 : sh.local, runs == 1 ? sh.local : 1};
  const size_t global[2] = {clseg__round_up(runs, local[0]),
                            clseg__round_up((size_t)rows, local[1])};
  return CLSEG__LAUNCH(ctx, k, op_names[op], args, 2, global, local);
}
