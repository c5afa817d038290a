/* Shape-computing ONNX operators evaluated at load (Shape, Constant, ConstantOfShape, Range, Cast,
 * Reshape, Unsqueeze, Squeeze, Slice, Transpose, Expand ...) and the dispatcher that folds any node
 * whose inputs are all known on the host. The dims helpers here also serve the activation handlers
 * (Reshape of a node). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"

#define D CLSEG__ONNX_MAX_DIMS

/* a * b for dims (non-negative), saturating at 2^62 so malformed shapes fail later instead of
 * overflowing. */
static int64_t mul_sat(int64_t a, int64_t b) {
  const int64_t cap = (int64_t)1 << 62;
  if (a < 0 || b < 0)
    return -1;
  return b && a > cap / b ? cap : a * b;
}

int clseg__reshape_dims(clseg__ob *b, const Onnx__NodeProto *n, int xnd, const int64_t *xd, int *nd,
                        int64_t *od) {
  int cnt = 0, infer = -1;
  if (b->opset < 5) { /* Reshape-1: the shape is an attribute */
    if ((cnt = clseg__attr_ints(n, "shape", od, D)) < 0)
      return clseg__ob_fail(b, CLSEG_FORMAT, "no 'shape' attribute of at most %d values (opset %d)",
                            D, b->opset);
  } else if (!clseg__in_ints(b, n, 1, od, D, &cnt))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "the target shape is not a constant of at most %d values", D);
  int64_t total = 1, known = 1, allowzero = clseg__attr_int(n, "allowzero", 0);
  for (int d = 0; d < xnd; d++)
    total = mul_sat(total, xd[d]);
  for (int d = 0; d < cnt; d++) {
    if (od[d] == 0 && !allowzero)
      od[d] = d < xnd ? xd[d] : 0;
    if (od[d] == -1 && infer < 0)
      infer = d;
    else if (od[d] < 0)
      return clseg__ob_fail(b, CLSEG_FORMAT, "target dimension %lld", (long long)od[d]);
    else
      known = mul_sat(known, od[d]);
  }
  if (infer >= 0)
    od[infer] = known ? total / known : 0;
  *nd = cnt;
  return 1;
}

int clseg__squeeze_dims(clseg__ob *b, const Onnx__NodeProto *n, int xnd, const int64_t *xd, int *nd,
                        int64_t *od) {
  int64_t axes[D];
  int na = clseg__attr_ints(n, "axes", axes, D), flat = !strcmp(n->op_type, "Flatten");
  int unsq = !strcmp(n->op_type, "Unsqueeze");
  if (na < 0 && !clseg__in_ints(b, n, 1, axes, D, &na))
    na = -1;
  if (flat) {
    int ax;
    if (!clseg__norm_axis(b, clseg__attr_int(n, "axis", 1), xnd + 1, &ax))
      return 0;
    od[0] = od[1] = 1;
    for (int d = 0; d < xnd; d++)
      od[d < ax ? 0 : 1] *= xd[d];
    *nd = 2;
    return 1;
  }
  int rank = unsq ? xnd + (na > 0 ? na : 0) : xnd, mark[D] = {0};
  if (unsq && (na < 1 || rank > D))
    return clseg__ob_fail(b, CLSEG_FORMAT, "Unsqueeze with no axes or to over %d dimensions", D);
  for (int k = 0; k < na; k++) {
    int a;
    if (!clseg__norm_axis(b, axes[k], rank, &a))
      return 0;
    mark[a] = 1;
  }
  *nd = 0;
  for (int d = 0, s = 0; d < rank; d++) {
    if (unsq)
      od[(*nd)++] = mark[d] ? 1 : xd[s++];
    else if (!(na < 0 ? xd[d] == 1 : mark[d]))
      od[(*nd)++] = xd[d];
  }
  return 1;
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

int clseg__slice_params(clseg__ob *b, const Onnx__NodeProto *n, int nd, const int64_t *xd,
                        int64_t *start, int64_t *step, int64_t *len) {
  int64_t st[D], en[D], ax[D], sp[D];
  int ns = 0, ne = 0, na = -1, np = -1;
  if (b->opset < 10) {
    ns = clseg__attr_ints(n, "starts", st, D), ne = clseg__attr_ints(n, "ends", en, D);
    na = clseg__attr_ints(n, "axes", ax, D);
  } else if (!clseg__in_ints(b, n, 1, st, D, &ns) || !clseg__in_ints(b, n, 2, en, D, &ne) ||
             (clseg__in(b, n, 3) && !clseg__in_ints(b, n, 3, ax, D, &na)) ||
             (clseg__in(b, n, 4) && !clseg__in_ints(b, n, 4, sp, D, &np))) {
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "starts, ends, axes and steps must be constants");
  }
  if (ns != ne || ns < 0 || (na >= 0 && na != ns) || (np >= 0 && np != ns))
    return clseg__ob_fail(b, CLSEG_FORMAT, "%d starts, %d ends, %d axes, %d steps", ns, ne, na, np);
  for (int d = 0; d < nd; d++)
    start[d] = 0, step[d] = 1, len[d] = xd[d];
  for (int k = 0; k < ns; k++) {
    int a;
    if (!clseg__norm_axis(b, na >= 0 ? ax[k] : k, nd, &a))
      return 0;
    int64_t dim = xd[a], s = st[k], e = en[k], p = np >= 0 ? sp[k] : 1;
    if (p == 0)
      return clseg__ob_fail(b, CLSEG_FORMAT, "slice step 0");
    p = clampi(p, -dim - 1, dim + 1); /* the same slice, without overflow below */
    s = s < 0 ? (s < -dim ? 0 : s + dim) : s;
    e = e < 0 ? (e < -dim ? -1 : e + dim) : e;
    s = p > 0 ? clampi(s, 0, dim) : clampi(s, 0, dim - 1);
    e = p > 0 ? clampi(e, 0, dim) : clampi(e, -1, dim - 1);
    int64_t l = p > 0 ? (e > s ? (e - s - 1) / p + 1 : 0) : (s > e ? (s - e - 1) / (-p) + 1 : 0);
    start[a] = s, step[a] = p, len[a] = l > 0 ? l : 0;
  }
  return 1;
}

static int fold_slice(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x, clseg__ov *y) {
  int64_t st[D], sp[D], len[D];
  if (!clseg__slice_params(b, n, x->ndim, x->dims, st, sp, len) ||
      !clseg__ov_alloc(b, y, x->ndim, len, x->f != NULL))
    return 0;
  for (size_t k = 0; k < y->count; k++) {
    size_t r = k, idx = 0, stride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
      int64_t c = (int64_t)(r % (size_t)len[d]);
      r /= (size_t)len[d];
      idx += (size_t)(st[d] + c * sp[d]) * stride;
      stride *= (size_t)x->dims[d];
    }
    clseg__ov_set(y, k, clseg__ov_get(x, idx));
  }
  return 1;
}

static int fold_transpose(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x,
                          clseg__ov *y) {
  int64_t perm[D], od[D];
  int np = clseg__attr_ints(n, "perm", perm, D);
  for (int d = 0; np < 0 && d < x->ndim; d++)
    perm[d] = x->ndim - 1 - d;
  if (np >= 0 && np != x->ndim)
    return clseg__ob_fail(b, CLSEG_FORMAT, "perm of %d axes for a %d-D tensor", np, x->ndim);
  int seen[D] = {0};
  for (int d = 0; d < x->ndim; d++) {
    if (perm[d] < 0 || perm[d] >= x->ndim || seen[perm[d]]++)
      return clseg__ob_fail(b, CLSEG_FORMAT, "perm value %lld is out of range or repeated",
                            (long long)perm[d]);
    od[d] = x->dims[perm[d]];
  }
  if (!clseg__ov_alloc(b, y, x->ndim, od, x->f != NULL))
    return 0;
  size_t xs[D], s = 1;
  for (int d = x->ndim - 1; d >= 0; d--)
    xs[d] = s, s *= (size_t)x->dims[d];
  for (size_t k = 0; k < y->count; k++) {
    size_t r = k, idx = 0;
    for (int d = x->ndim - 1; d >= 0; d--) {
      idx += (r % (size_t)od[d]) * xs[perm[d]];
      r /= (size_t)od[d];
    }
    clseg__ov_set(y, k, clseg__ov_get(x, idx));
  }
  return 1;
}

static int fold_shape(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x, clseg__ov *y) {
  int64_t s = clseg__attr_int(n, "start", 0), e = clseg__attr_int(n, "end", x->ndim), r = x->ndim;
  s = clampi(s < 0 ? s + r : s, 0, r);
  e = clampi(e < 0 ? e + r : e, 0, r);
  int64_t len = e > s ? e - s : 0;
  if (!strcmp(n->op_type, "Size")) {
    if (!clseg__ov_alloc(b, y, 0, NULL, 0))
      return 0;
    y->i[0] = (int64_t)x->count;
    return 1;
  }
  if (!clseg__ov_alloc(b, y, 1, &len, 0))
    return 0;
  for (int64_t d = 0; d < len; d++)
    y->i[d] = x->dims[s + d];
  return 1;
}

static int fold_constant(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *y) {
  const Onnx__AttributeProto *a = n->n_attribute == 1 ? n->attribute[0] : NULL;
  if (!a)
    return clseg__ob_fail(b, CLSEG_FORMAT, "a Constant needs exactly one attribute");
  int64_t cnt = (int64_t)(!strcmp(a->name, "value_floats") ? a->n_floats : a->n_ints);
  if (!strcmp(a->name, "value") && a->t)
    return clseg__ob_tensor(b, a->t, y);
  if (!strcmp(a->name, "value_float") || !strcmp(a->name, "value_int")) {
    if (!clseg__ov_alloc(b, y, 0, NULL, a->name[6] == 'f'))
      return 0;
    clseg__ov_set(y, 0, a->name[6] == 'f' ? (double)a->f : (double)a->i);
    return 1;
  }
  if (strcmp(a->name, "value_floats") && strcmp(a->name, "value_ints"))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "Constant attribute '%s'", a->name);
  if (!clseg__ov_alloc(b, y, 1, &cnt, a->name[6] == 'f'))
    return 0;
  for (int64_t k = 0; k < cnt; k++)
    clseg__ov_set(y, (size_t)k, a->name[6] == 'f' ? (double)a->floats[k] : (double)a->ints[k]);
  return 1;
}

static int fold_fill(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *y) {
  int64_t dims[D];
  int nd = 0;
  const Onnx__AttributeProto *a = clseg__attr(n, "value");
  clseg__ov v = {0};
  if (!clseg__in_ints(b, n, 0, dims, D, &nd))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "the shape is not a constant of at most %d values",
                          D);
  if (a && a->t && !clseg__ob_tensor(b, a->t, &v))
    return clseg__ov_clear(&v), 0;
  int ok = clseg__ov_alloc(b, y, nd, dims, a && a->t ? v.f != NULL : 1);
  for (size_t k = 0; ok && k < y->count; k++)
    clseg__ov_set(y, k, v.count ? clseg__ov_get(&v, 0) : 0.0);
  clseg__ov_clear(&v);
  return ok;
}

static int fold_range(clseg__ob *b, clseg__ov *const *in, clseg__ov *y) {
  double s = clseg__ov_get(in[0], 0), l = clseg__ov_get(in[1], 0), d = clseg__ov_get(in[2], 0);
  double c = d != 0 ? ceil((l - s) / d) : 0;
  int64_t cnt = c > 0 && c < 1e8 ? (int64_t)c : 0;
  if (in[0]->count != 1 || in[1]->count != 1 || in[2]->count != 1 ||
      !clseg__ov_alloc(b, y, 1, &cnt, in[0]->f != NULL))
    return b->status == CLSEG_OK ? clseg__ob_fail(b, CLSEG_FORMAT, "Range takes three scalars") : 0;
  for (int64_t k = 0; k < cnt; k++)
    clseg__ov_set(y, (size_t)k, s + (double)k * d);
  return 1;
}

static int fold_cast(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x, clseg__ov *y) {
  int64_t to = clseg__cast_to(n);
  if (to < 0)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a cast to type '%s' is unsupported",
                          clseg__attr_str(n, "to", ""));
  int fl = to == 1 || to == 10 || to == 11 || to == 16;
  if (!clseg__ov_alloc(b, y, x->ndim, x->dims, fl))
    return 0;
  for (size_t k = 0; k < x->count; k++) {
    double v = clseg__ov_get(x, k);
    clseg__ov_set(y, k, to == 9 ? v != 0 : fl ? v : trunc(v));
  }
  return 1;
}

static const char *const eltwise_ops[] = {
    "Add",     "Sub",  "Mul",     "Div",   "Pow",  "Min",      "Max",     "Equal",      "Less",
    "Greater", "Mod",  "Where",   "Floor", "Ceil", "Neg",      "Sqrt",    "Reciprocal", "Abs",
    "Not",     "Relu", "Sigmoid", "Erf",   "Tanh", "Identity", "Dropout", NULL};
static const char *const other_ops[] = {
    "Shape",   "Size",    "Constant", "ConstantOfShape", "Range",  "Cast",   "Reshape", "Unsqueeze",
    "Squeeze", "Flatten", "Slice",    "Transpose",       "Concat", "Gather", "Expand",  NULL};

static int in_list(const char *const *l, const char *op) {
  while (*l && strcmp(*l, op))
    l++;
  return *l != NULL;
}

int clseg__fold_supported(const char *op) {
  return in_list(eltwise_ops, op) || in_list(other_ops, op);
}

/* The view ops and Expand: y takes new dims. */
static int fold_dims(clseg__ob *b, const Onnx__NodeProto *n, clseg__ov *const *in, int nin,
                     clseg__ov *y) {
  int nd;
  int64_t od[D];
  if (!strcmp(n->op_type, "Expand"))
    return clseg__in_ints(b, n, 1, od, D, &nd)
               ? clseg__fold_expand(b, in[0], nd, od, y)
               : clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a shape that is not constant");
  int ok = !strcmp(n->op_type, "Reshape")
               ? clseg__reshape_dims(b, n, in[0]->ndim, in[0]->dims, &nd, od)
               : clseg__squeeze_dims(b, n, in[0]->ndim, in[0]->dims, &nd, od);
  (void)nin;
  return ok && clseg__fold_view(b, in[0], nd, od, y);
}

int clseg__fold(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *in[16], *y = n->n_output ? clseg__ob_value(b, n->output[0]) : NULL;
  const char *op = n->op_type;
  int nin = 0;
  for (size_t k = 0; k < n->n_input && nin < 16; k++)
    if (*n->input[k])
      in[nin++] = clseg__ob_find(b, n->input[k]);
  if (!y)
    return b->status == CLSEG_OK ? clseg__ob_fail(b, CLSEG_FORMAT, "no output") : 0;
  for (int k = 0; k < nin; k++)
    if (!in[k])
      return clseg__ob_fail(b, CLSEG_FORMAT, "input %d is read before any node produces it", k);
  int need = !strcmp(op, "Constant") ? 0 : !strcmp(op, "Range") || !strcmp(op, "Where") ? 3 : 1;
  if (nin < need)
    return clseg__ob_fail(b, CLSEG_FORMAT, "%d inputs, %d needed", nin, need);
  b->folded++;
  clseg__ov_clear(y);
  if (!strcmp(op, "Shape") || !strcmp(op, "Size"))
    return fold_shape(b, n, in[0], y);
  if (!strcmp(op, "Constant"))
    return fold_constant(b, n, y);
  if (!strcmp(op, "ConstantOfShape"))
    return fold_fill(b, n, y);
  if (!strcmp(op, "Range"))
    return fold_range(b, in, y);
  if (!strcmp(op, "Cast"))
    return fold_cast(b, n, in[0], y);
  if (!strcmp(op, "Slice"))
    return fold_slice(b, n, in[0], y);
  if (!strcmp(op, "Transpose"))
    return fold_transpose(b, n, in[0], y);
  if (!strcmp(op, "Concat"))
    return clseg__fold_concat(b, n, in, nin, y);
  if (!strcmp(op, "Gather"))
    return nin == 2 ? clseg__fold_gather(b, n, in[0], in[1], y)
                    : clseg__ob_fail(b, CLSEG_FORMAT, "two inputs needed");
  if (in_list(other_ops, op))
    return fold_dims(b, n, in, nin, y);
  if (!strcmp(op, "Identity") || !strcmp(op, "Dropout"))
    nin = 1;
  return clseg__fold_eltwise(b, n, in, nin, y);
}

/* 1 when node n can be folded now: a foldable op whose inputs are all constants (Shape: known
 * dims). */
int clseg__foldable(clseg__ob *b, const Onnx__NodeProto *n) {
  if (!clseg__fold_supported(n->op_type))
    return 0;
  int shape = !strcmp(n->op_type, "Shape") || !strcmp(n->op_type, "Size");
  for (size_t k = 0; k < n->n_input; k++) {
    const clseg__ov *v = *n->input[k] ? clseg__ob_find(b, n->input[k]) : NULL;
    if (*n->input[k] && (!v || (v->kind != CLSEG__OV_CONST && !(shape && k == 0))))
      return 0;
  }
  return 1;
}
