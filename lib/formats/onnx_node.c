/* Helpers of the ONNX operator handlers: reading a node's inputs as NCHW activations or constants,
 * recording its outputs, naming graph nodes and their parameters, conv and pool windows, and the
 * batch-free reshape. They sit below every handler file (onnx_ops_*.c, onnx_nd.c, onnx_resize.c).
 */
#include <stdio.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

const char *clseg__node_name(clseg__ob *b, const Onnx__NodeProto *n, char *buf, size_t len) {
  if (*n->name && strlen(n->name) < 100)
    snprintf(buf, len, "%s", n->name);
  else
    snprintf(buf, len, "%s_%d", n->op_type, clseg__node_index(b));
  char probe[160];
  snprintf(probe, sizeof probe, "%s.weight", buf);
  if (clseg__param_find(b->g, probe) >= 0) /* a duplicate name: make it unique */
    snprintf(buf + strlen(buf), len - strlen(buf), "_%d", clseg__node_index(b));
  return buf;
}

int clseg__graph_ok(clseg__ob *b, const void *x) {
  if (x)
    return 1;
  return clseg__ob_fail(
      b, clseg_graph_status(b->g) != CLSEG_OK ? clseg_graph_status(b->g) : CLSEG_INVALID_ARGUMENT,
      "%s", clseg_graph_error(b->g));
}

int clseg__set_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k, clseg_node *x, int ndim,
                    const int64_t *dims) {
  if (!clseg__graph_ok(b, x))
    return 0;
  clseg__ov *y = k < n->n_output ? clseg__ob_value(b, n->output[k]) : NULL;
  if (!y)
    return clseg__ob_fail(b, CLSEG_FORMAT, "output %zu is missing", k);
  int64_t d[CLSEG__ONNX_MAX_DIMS];
  memcpy(d, dims, sizeof *d * (size_t)ndim);
  clseg__ov_clear(y);
  y->kind = CLSEG__OV_NODE;
  y->node = x;
  y->grank = 4;
  y->ndim = ndim;
  memcpy(y->dims, d, sizeof *d * (size_t)ndim);
  return 1;
}

clseg__ov *clseg__in_node(clseg__ob *b, const Onnx__NodeProto *n, size_t k) {
  clseg__ov *v = clseg__in(b, n, k);
  if (!v)
    return clseg__ob_fail(b, CLSEG_FORMAT,
                          "input %zu is missing or read before any node produces it", k),
           NULL;
  if (v->kind == CLSEG__OV_GELU)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' is part of an Erf-GELU or HardSigmoid-HardSwish "
                          "pattern read by an unexpected node",
                          n->input[k]),
           NULL;
  if (v->kind != CLSEG__OV_NODE)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' is a constant where clseg needs a tensor computed "
                          "from the image",
                          n->input[k]),
           NULL;
  if (v->grank != 4 && v->ndim >= 2 && v->ndim <= 4 &&
      (v->ndim < 3 || v->dims[2] == 1 || v->ndim == 4)) {
    /* a result of onnx_nd.c read by an NCHW operator: the same data at rank 4 */
    int64_t d4[4] = {v->dims[0], v->dims[1], v->ndim > 2 ? v->dims[2] : 1,
                     v->ndim > 3 ? v->dims[3] : 1};
    clseg_node *r = clseg__onnx_reshape(b, v->node, d4[0], 4, d4);
    if (!clseg__graph_ok(b, r))
      return NULL;
    r->channels = d4[1];
    v->node = r;
    v->grank = 4;
  }
  if (v->grank != 4)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' has %d dimensions where %s needs NCHW (or [N, C])",
                          n->input[k], v->ndim, n->op_type),
           NULL;
  /* a flattened [N, C * H * W] image: only a product (or a no-op) reads it as one row per image */
  if (v->ndim == 2 && v->dims[1] != v->node->channels && strcmp(n->op_type, "Gemm") &&
      strcmp(n->op_type, "MatMul") && strcmp(n->op_type, "Identity") &&
      strcmp(n->op_type, "Dropout") && strcmp(n->op_type, "Cast"))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' is a [%lld, %lld] flattening of a [%lld, %lld, H, W] "
                          "tensor, which clseg reads only in Gemm and MatMul",
                          n->input[k], (long long)v->dims[0], (long long)v->dims[1],
                          (long long)v->dims[0], (long long)v->node->channels),
           NULL;
  if (v->ndim < 2 || v->ndim > 4 || (v->ndim == 3 && v->dims[2] != 1))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' has %d dimensions (NCHW, or [N, C] as [N, C, 1, 1])",
                          n->input[k], v->ndim),
           NULL;
  return v;
}

const clseg__ov *clseg__in_const(clseg__ob *b, const Onnx__NodeProto *n, size_t k, int is_float) {
  const clseg__ov *v = clseg__in(b, n, k);
  if (!v || v->kind != CLSEG__OV_CONST || (is_float && !v->f))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "input %zu ('%s') must be a %sconstant", k,
                          k < n->n_input ? n->input[k] : "", is_float ? "float " : ""),
           NULL;
  return v;
}

int clseg__set_param(clseg__ob *b, const clseg_node *x, const char *suffix, int ndim,
                     const int64_t *dims, const float *data) {
  char name[200];
  snprintf(name, sizeof name, "%s.%s", x->name, suffix);
  if (clseg_graph_set_param(b->g, name, dims, ndim, data) != CLSEG_OK)
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g));
  return 1;
}

int clseg__window_of(clseg__ob *b, const Onnx__NodeProto *n, const int64_t *in, int64_t kh,
                     int64_t kw, int transposed, clseg__window *w) {
  int64_t v[4];
  w->k[0] = kh, w->k[1] = kw;
  for (int i = 0; i < 2; i++)
    w->s[i] = w->d[i] = 1;
  memset(w->p, 0, sizeof w->p);
  if (clseg__attr_ints(n, "strides", v, 2) == 2)
    w->s[0] = v[0], w->s[1] = v[1];
  if (clseg__attr_ints(n, "dilations", v, 2) == 2)
    w->d[0] = v[0], w->d[1] = v[1];
  if (clseg__attr_ints(n, "pads", v, 4) == 4)
    memcpy(w->p, v, sizeof v);
  const char *ap = clseg__attr_str(n, "auto_pad", "NOTSET");
  int upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
  for (int i = 0; i < 2; i++) {
    if (w->s[i] < 1 || w->d[i] < 1 || w->k[i] < 1 || w->s[i] > 1024 || w->d[i] > 1024 ||
        w->k[i] > 1024 || w->p[i] < 0 || w->p[i + 2] < 0 || w->p[i] > 4096 || w->p[i + 2] > 4096)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "kernel %lld, stride %lld, dilation %lld, pads %lld, %lld are "
                            "unsupported",
                            (long long)w->k[i], (long long)w->s[i], (long long)w->d[i],
                            (long long)w->p[i], (long long)w->p[i + 2]);
    int64_t eff = (w->k[i] - 1) * w->d[i] + 1;
    if ((upper || lower) && !transposed) {
      int64_t o = (in[2 + i] + w->s[i] - 1) / w->s[i], tot = (o - 1) * w->s[i] + eff - in[2 + i];
      tot = tot > 0 ? tot : 0;
      w->p[i] = upper ? tot / 2 : tot - tot / 2;
      w->p[i + 2] = tot - w->p[i];
    } else if (!strcmp(ap, "VALID")) {
      w->p[i] = w->p[i + 2] = 0;
    }
    w->out[i] = transposed ? (in[2 + i] - 1) * w->s[i] - w->p[i] - w->p[i + 2] + eff
                           : (in[2 + i] + w->p[i] + w->p[i + 2] - eff) / w->s[i] + 1;
  }
  return 1;
}

/* A reshape of x (whose dim 0 is x0) to od that keeps the batch free: dim 0 copied from the input
 * when it is the input's, so the graph plans at other batch sizes too. */
clseg_node *clseg__onnx_reshape(clseg__ob *b, clseg_node *x, int64_t x0, int nd,
                                const int64_t *od) {
  int64_t spec[CLSEG_MAX_RANK];
  if (nd < 1 || nd > CLSEG_MAX_RANK)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a reshape to %d dimensions (1 to %d)", nd,
                          CLSEG_MAX_RANK),
           NULL;
  memcpy(spec, od, sizeof *od * (size_t)nd);
  if (od[0] == x0)
    spec[0] = 0;
  return clseg_graph_reshape(b->g, x, nd, spec);
}
