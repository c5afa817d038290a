/* The data ops of evaluating ONNX nodes on the host at load (onnx_shape.c picks one per node):
 * constants, and the shape computations PyTorch emits around Resize and Reshape (Gather, Concat,
 * int64 arithmetic ...), folded for the chosen input size. Values are small; each op is a plain
 * loop over an N-d index. */
#include <math.h>
#include <string.h>

#include "formats/onnx.h"

#define D CLSEG__ONNX_MAX_DIMS

/* The flat index into in (right-aligned, broadcast) of the output's flat index k. */
static size_t bidx(const clseg__ov *in, int ond, const int64_t *od, size_t k) {
  size_t idx = 0, stride = 1;
  for (int d = ond - 1, e = in->ndim - 1; d >= 0; d--, e--) {
    size_t c = (size_t)(k % (size_t)od[d]);
    k /= (size_t)od[d];
    if (e >= 0) {
      if (in->dims[e] != 1)
        idx += c * stride;
      stride *= (size_t)in->dims[e];
    }
  }
  return idx;
}

static int bshape(clseg__ob *b, clseg__ov *const *in, int nin, int *nd, int64_t *od) {
  *nd = 0;
  for (int k = 0; k < nin; k++)
    *nd = in[k]->ndim > *nd ? in[k]->ndim : *nd;
  for (int d = 0; d < *nd; d++) {
    od[d] = 1;
    for (int k = 0; k < nin; k++) {
      int e = in[k]->ndim - *nd + d;
      int64_t v = e >= 0 ? in[k]->dims[e] : 1;
      if (v != 1 && od[d] != 1 && v != od[d])
        return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "shapes do not broadcast (%lld vs %lld)",
                              (long long)v, (long long)od[d]);
      if (v != 1)
        od[d] = v;
    }
  }
  return 1;
}

static double apply(const char *op, double a, double c, int isint) {
  if (!strcmp(op, "Add"))
    return a + c;
  if (!strcmp(op, "Sub"))
    return a - c;
  if (!strcmp(op, "Mul"))
    return a * c;
  if (!strcmp(op, "Div"))
    return isint ? (c != 0 ? trunc(a / c) : 0) : a / c;
  if (!strcmp(op, "Pow"))
    return pow(a, c);
  if (!strcmp(op, "Min"))
    return a < c ? a : c;
  if (!strcmp(op, "Max"))
    return a > c ? a : c;
  if (!strcmp(op, "Equal"))
    return a == c;
  if (!strcmp(op, "Less"))
    return a < c;
  if (!strcmp(op, "Greater"))
    return a > c;
  if (!strcmp(op, "Mod"))
    return c != 0 ? a - c * floor(a / c) : 0;
  return NAN;
}

static double apply1(const char *op, double a) {
  if (!strcmp(op, "Floor"))
    return floor(a);
  if (!strcmp(op, "Ceil"))
    return ceil(a);
  if (!strcmp(op, "Neg"))
    return -a;
  if (!strcmp(op, "Sqrt"))
    return sqrt(a);
  if (!strcmp(op, "Reciprocal"))
    return 1.0 / a;
  if (!strcmp(op, "Abs"))
    return fabs(a);
  if (!strcmp(op, "Not"))
    return a == 0;
  if (!strcmp(op, "Relu"))
    return a > 0 ? a : 0;
  if (!strcmp(op, "Sigmoid"))
    return 1.0 / (1.0 + exp(-a));
  if (!strcmp(op, "Erf"))
    return erf(a);
  if (!strcmp(op, "Tanh"))
    return tanh(a);
  return a; /* Identity, Dropout */
}

/* Elementwise ops with numpy broadcasting over any count of inputs (Where: cond, x, y). */
int clseg__fold_eltwise(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *const *in, int nin,
                        clseg__ov *y) {
  int nd;
  int64_t od[D];
  const char *op = n->op_type;
  int where = !strcmp(op, "Where"),
      cmp = !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater");
  if (!bshape(b, in, nin, &nd, od))
    return 0;
  const clseg__ov *ty = where ? in[1] : in[0];
  if (!clseg__ov_alloc(b, y, nd, od, cmp ? 0 : ty->f != NULL))
    return 0;
  for (size_t k = 0; k < y->count; k++) {
    double r = clseg__ov_get(in[0], bidx(in[0], nd, od, k));
    if (where)
      r = clseg__ov_get(in[r != 0 ? 1 : 2], bidx(in[r != 0 ? 1 : 2], nd, od, k));
    else if (nin == 1)
      r = apply1(op, r);
    for (int j = 1; !where && j < nin; j++)
      r = apply(op, r, clseg__ov_get(in[j], bidx(in[j], nd, od, k)), in[0]->i != NULL);
    clseg__ov_set(y, k, r);
  }
  return 1;
}

int clseg__norm_axis(clseg__ob *b, int64_t axis, int rank, int *out) {
  if (axis < -rank || axis >= (rank ? rank : 1))
    return clseg__ob_fail(b, CLSEG_FORMAT, "axis %lld of a %d-D tensor", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return 1;
}

int clseg__fold_concat(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *const *in, int nin,
                       clseg__ov *y) {
  int ax;
  /* Concat-1: axis optional, default 1; required from opset 4 */
  if (!clseg__norm_axis(b, clseg__attr_int(n, "axis", b->opset < 4 ? 1 : 0), in[0]->ndim, &ax))
    return 0;
  int64_t od[D];
  memcpy(od, in[0]->dims, sizeof od);
  od[ax] = 0;
  for (int k = 0; k < nin; k++) {
    if (in[k]->ndim != in[0]->ndim)
      return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH,
                            "concatenating tensors of %d and %d dimensions", in[0]->ndim,
                            in[k]->ndim);
    od[ax] += in[k]->dims[ax];
  }
  if (!clseg__ov_alloc(b, y, in[0]->ndim, od, in[0]->f != NULL))
    return 0;
  size_t outer = 1, inner = 1, pos = 0;
  for (int d = 0; d < ax; d++)
    outer *= (size_t)od[d];
  for (int d = ax + 1; d < in[0]->ndim; d++)
    inner *= (size_t)od[d];
  for (size_t o = 0; o < outer; o++)
    for (int k = 0; k < nin; k++) {
      size_t run = (size_t)in[k]->dims[ax] * inner;
      for (size_t j = 0; j < run; j++)
        clseg__ov_set(y, pos++, clseg__ov_get(in[k], o * run + j));
    }
  return 1;
}

int clseg__fold_gather(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x,
                       const clseg__ov *ind, clseg__ov *y) {
  int ax;
  if (!clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), x->ndim, &ax) ||
      x->ndim + ind->ndim - 1 > D)
    return b->status == CLSEG_OK
               ? clseg__ob_fail(b, CLSEG_UNSUPPORTED, "gather to over %d dimensions", D)
               : 0;
  int64_t od[D];
  int nd = 0;
  for (int d = 0; d < ax; d++)
    od[nd++] = x->dims[d];
  for (int d = 0; d < ind->ndim; d++)
    od[nd++] = ind->dims[d];
  for (int d = ax + 1; d < x->ndim; d++)
    od[nd++] = x->dims[d];
  if (!clseg__ov_alloc(b, y, nd, od, x->f != NULL))
    return 0;
  size_t outer = 1, inner = 1, pos = 0;
  for (int d = 0; d < ax; d++)
    outer *= (size_t)x->dims[d];
  for (int d = ax + 1; d < x->ndim; d++)
    inner *= (size_t)x->dims[d];
  for (size_t o = 0; o < outer; o++)
    for (size_t j = 0; j < ind->count; j++) {
      int64_t i = (int64_t)clseg__ov_get(ind, j), len = x->dims[ax];
      i = i < 0 ? i + len : i;
      if (i < 0 || i >= len)
        return clseg__ob_fail(b, CLSEG_FORMAT, "gather index %lld of %lld", (long long)i,
                              (long long)len);
      for (size_t k = 0; k < inner; k++)
        clseg__ov_set(y, pos++, clseg__ov_get(x, (o * (size_t)len + (size_t)i) * inner + k));
    }
  return 1;
}

/* Copies x into y with y's dims (same count): Reshape, Unsqueeze, Squeeze, Flatten, Identity. */
int clseg__fold_view(clseg__ob *b, const clseg__ov *x, int nd, const int64_t *od, clseg__ov *y) {
  if (!clseg__ov_alloc(b, y, nd, od, x->f != NULL))
    return 0;
  if (y->count != x->count)
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%zu elements cannot take a shape of %zu",
                          x->count, y->count);
  for (size_t k = 0; k < x->count; k++)
    clseg__ov_set(y, k, clseg__ov_get(x, k));
  return 1;
}

int clseg__fold_expand(clseg__ob *b, const clseg__ov *x, int nd, const int64_t *shape,
                       clseg__ov *y) {
  clseg__ov s = {.ndim = nd};
  memcpy(s.dims, shape, sizeof s.dims[0] * (size_t)nd);
  clseg__ov *two[2] = {(clseg__ov *)x, &s};
  int ond;
  int64_t od[D];
  if (!bshape(b, two, 2, &ond, od) || !clseg__ov_alloc(b, y, ond, od, x->f != NULL))
    return 0;
  for (size_t k = 0; k < y->count; k++)
    clseg__ov_set(y, k, clseg__ov_get(x, bidx(x, ond, od, k)));
  return 1;
}
