/* ONNX operators -> clseg graph nodes, part 2: pooling and reductions, Resize/Upsample, Softmax,
 * ArgMax, Gemm/MatMul (as linear), Pad, and the layout ops (Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose, Identity ...) that clseg accepts where they leave the NCHW data order unchanged. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

/* MaxPool / AveragePool: explicit or auto pads, dilations, ceil_mode, count_include_pad. */
static int op_pool(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t k[2], od[4];
  int avg = !strcmp(n->op_type, "AveragePool");
  if (!x)
    return 0;
  if (x->ndim != 4 || clseg__attr_ints(n, "kernel_shape", k, 2) != 2)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a pool that is not 2-D is unsupported");
  if (n->n_output > 1 && *n->output[1])
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "output 1 (Indices, '%s') is unsupported",
                          n->output[1]);
  clseg__window w;
  if (!clseg__window_of(b, n, x->dims, k[0], k[1], 0, &w))
    return 0;
  const char *ap = clseg__attr_str(n, "auto_pad", "NOTSET");
  if (!strncmp(ap, "SAME", 4) && (w.d[0] != 1 || w.d[1] != 1))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "auto_pad %.20s with dilations %lld, %lld is unsupported (onnxruntime's "
                          "output size is not the spec's ceil(input / stride))",
                          ap, (long long)w.d[0], (long long)w.d[1]);
  for (int i = 0; i < 4; i++)
    if (w.p[i] >= k[i & 1])
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "pads %lld, %lld, %lld, %lld with kernel_shape %lld, %lld are "
                            "unsupported (each pad must be below the kernel, as onnxruntime's)",
                            (long long)w.p[0], (long long)w.p[1], (long long)w.p[2],
                            (long long)w.p[3], (long long)k[0], (long long)k[1]);
  clseg_pool2d_params p = {.kind = avg ? CLSEG_POOL_AVG : CLSEG_POOL_MAX,
                           .kernel_h = (int)k[0],
                           .kernel_w = (int)k[1],
                           .stride_h = (int)w.s[0],
                           .stride_w = (int)w.s[1],
                           .pad_top = (int)w.p[0],
                           .pad_left = (int)w.p[1],
                           .pad_bottom = (int)w.p[2],
                           .pad_right = (int)w.p[3],
                           .ceil_mode = (int)clseg__attr_int(n, "ceil_mode", 0),
                           .count_include_pad = (int)clseg__attr_int(n, "count_include_pad", 0),
                           .dilation_h = (int)w.d[0],
                           .dilation_w = (int)w.d[1]};
  memcpy(od, x->dims, sizeof od);
  for (int i = 0; i < 2; i++) { /* PyTorch's ceil rule: the last window starts inside the input */
    int64_t span = x->dims[2 + i] + w.p[i] + w.p[i + 2] - ((k[i] - 1) * w.d[i] + 1);
    od[2 + i] = (p.ceil_mode ? (span + w.s[i] - 1) / w.s[i] : span / w.s[i]) + 1;
    if (p.ceil_mode && (od[2 + i] - 1) * w.s[i] >= x->dims[2 + i] + w.p[i])
      od[2 + i]--;
    if (span < 0)
      return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH,
                            "kernel_shape %lld with dilation %lld does not fit axis %d of "
                            "size %lld padded by %lld and %lld",
                            (long long)k[i], (long long)w.d[i], 2 + i, (long long)x->dims[2 + i],
                            (long long)w.p[i], (long long)w.p[i + 2]);
  }
  return clseg__set_node(b, n, 0, clseg_graph_pool2d(b->g, x->node, &p), 4, od);
}

static int op_global_pool(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  if (!x)
    return 0;
  const int64_t od[4] = {x->dims[0], x->dims[1], 1, 1};
  clseg_pool_kind k = strstr(n->op_type, "Max") ? CLSEG_POOL_MAX : CLSEG_POOL_AVG;
  return clseg__set_node(b, n, 0, clseg_graph_global_pool(b->g, x->node, k), 4, od);
}

/* A sum from a mean: the mean times the count, as a 1x1 depthwise scale (no sum kernel needed). */
static clseg_node *times(clseg__ob *b, const Onnx__NodeProto *n, clseg_node *mean,
                         const int64_t *od, int64_t count) {
  float f = (float)count;
  clseg__ov m = {.kind = CLSEG__OV_NODE, .ndim = 4, .node = mean};
  const clseg__ov k = {.kind = CLSEG__OV_CONST, .count = 1, .f = &f};
  memcpy(m.dims, od, sizeof *od * 4);
  return clseg__graph_ok(b, mean) ? clseg__affine(b, n, &m, &k, 3) : NULL;
}

/* ReduceMean / ReduceMax / ReduceSum over the axes an NCHW tensor keeps 4-D (or [N, C]): H and W
 * (a global pool), C (keepdims), or C, H and W (keepdims). Axes from the attribute (Mean and Max
 * before opset 18, Sum before 13) or the input. */
static int op_reduce(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t axes[4];
  int na = -1, mark[4] = {0}, keep = (int)clseg__attr_int(n, "keepdims", 1);
  int mx = !strcmp(n->op_type, "ReduceMax"), sum = !strcmp(n->op_type, "ReduceSum");
  if (!x)
    return 0;
  if ((na = clseg__attr_ints(n, "axes", axes, 4)) < 0 && clseg__in(b, n, 1) &&
      !clseg__in_ints(b, n, 1, axes, 4, &na))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axes ('%s') that are not a constant", n->input[1]);
  if (na <= 0 && clseg__attr_int(n, "noop_with_empty_axes", 0))
    return clseg__set_node(b, n, 0, x->node, x->ndim, x->dims);
  char list[64] = "";
  for (int k = 0, a, len = 0; k < (na <= 0 ? x->ndim : na); k++) {
    if (!clseg__norm_axis(b, na <= 0 ? k : axes[k], x->ndim, &a))
      return 0;
    mark[a] = 1;
    len += snprintf(list + len, sizeof list - (size_t)len, "%s%d", k ? ", " : "", a);
  }
  int hw = x->ndim == 4 && mark[2] && mark[3], c = mark[1] && (x->ndim == 2 || x->ndim == 4);
  int ok =
      !mark[0] && (x->ndim == 4 ? mark[2] == mark[3] : x->ndim == 2) && (hw || c) && (keep || !c);
  if (!ok)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "axes [%s] keepdims %d on a %d-D input are unsupported (H and W "
                          "together, or C with keepdims 1, or C, H and W with keepdims 1)",
                          list, keep, x->ndim);
  int64_t od[4] = {x->dims[0], c ? 1 : x->dims[1], 1, 1};
  if (x->ndim == 4 && !hw)
    od[2] = x->dims[2], od[3] = x->dims[3];
  clseg_node *y = x->node;
  if (hw)
    y = clseg_graph_global_pool(b->g, y, mx ? CLSEG_POOL_MAX : CLSEG_POOL_AVG);
  if (c)
    y = clseg_graph_reduce_channels(b->g, y, mx ? CLSEG_REDUCE_MAX : CLSEG_REDUCE_MEAN);
  int64_t count = (c ? x->dims[1] : 1) * (hw ? x->dims[2] * x->dims[3] : 1);
  if (sum && count > 1)
    y = times(b, n, y, od, count);
  return clseg__set_node(b, n, 0, y, keep ? x->ndim : 2, od);
}

/* Softmax over channels. Before opset 13 the input is coerced to 2-D at axis (default 1), [d0 ...
 * d(axis-1), d(axis) ... d(n-1)], and the softmax runs over the second part: channels only when
 * axis is 1 and every later dim is 1. From 13 on, over the one axis (default -1). */
static int op_softmax(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const int64_t axis = clseg__attr_int(n, "axis", b->opset < 13 ? 1 : -1);
  int ax;
  if (!x || !clseg__norm_axis(b, axis, x->ndim, &ax))
    return 0;
  int64_t inner = 1;
  for (int d = 2; d < x->ndim; d++)
    inner *= x->dims[d];
  if (ax != 1 || (b->opset < 13 && inner > 1))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "axis %lld on a %d-D input of %lld x %lld x %lld x %lld at opset %d is "
                          "unsupported (%s)",
                          (long long)axis, x->ndim, (long long)x->dims[0], (long long)x->dims[1],
                          (long long)(x->ndim > 2 ? x->dims[2] : 1),
                          (long long)(x->ndim > 3 ? x->dims[3] : 1), b->opset,
                          b->opset < 13 ? "before opset 13 the input is flattened from the axis "
                                          "on: channels only, with H = W = 1"
                                        : "channels only");
  return clseg__set_node(b, n, 0, clseg_graph_softmax_channels(b->g, x->node), x->ndim, x->dims);
}

static int op_argmax(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int ax;
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), x->ndim, &ax))
    return 0;
  if (ax != 1 || clseg__attr_int(n, "select_last_index", 0))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "an argmax over axis %d (channels, first index on ties)", ax);
  int64_t od[4] = {x->dims[0], 1, x->ndim == 4 ? x->dims[2] : 1, x->ndim == 4 ? x->dims[3] : 1};
  return clseg__set_node(b, n, 0, clseg_graph_argmax_channels(b->g, x->node), x->ndim, od);
}

/* Gemm (A [N, K] node, B constant) and MatMul (B [K, M]) as linear: weight [M, K] = alpha * B or
 * B^T. */
static int op_gemm(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const clseg__ov *w = x ? clseg__in(b, n, 1) : NULL, *c = clseg__in(b, n, 2);
  int mm = !strcmp(n->op_type, "MatMul"), tb = mm ? 0 : (int)clseg__attr_int(n, "transB", 0);
  if (!w)
    return 0;
  if (w->kind != CLSEG__OV_CONST || !w->f || w->ndim != 2 ||
      (c && (c->kind != CLSEG__OV_CONST || !c->f)) || (!mm && clseg__attr_int(n, "transA", 0)) ||
      x->ndim != 2)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a product of a %d-D tensor with a non-constant or non-2-D weight "
                          "(tensor [N, K] times a constant supported)",
                          x->ndim);
  int64_t k = tb ? w->dims[1] : w->dims[0], m = tb ? w->dims[0] : w->dims[1];
  float alpha = mm ? 1.0f : clseg__attr_float(n, "alpha", 1.0f),
        beta = mm ? 1.0f : clseg__attr_float(n, "beta", 1.0f);
  if (k != x->dims[1] || (c && c->count != 1 && c->count != (size_t)m))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "a weight of [%lld, %lld] for %lld inputs",
                          (long long)w->dims[0], (long long)w->dims[1], (long long)x->dims[1]);
  float *wt = malloc(sizeof *wt * (size_t)(m * k + m));
  if (!wt)
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < k; j++)
      wt[i * k + j] = alpha * (tb ? w->f[i * k + j] : w->f[j * m + i]);
    wt[m * k + i] = c ? beta * c->f[c->count == 1 ? 0 : i] : 0.0f;
  }
  char name[128], pn[200];
  const int64_t wd[2] = {m, k}, od[2] = {x->dims[0], m};
  clseg_node *y = clseg__graph_linear(b->g, clseg__node_name(b, n, name, sizeof name), x->node, m,
                                      k, c != NULL);
  int ok = clseg__graph_ok(b, y);
  snprintf(pn, sizeof pn, "%s.weight", y ? y->name : "");
  ok = ok && clseg_graph_set_param(b->g, pn, wd, 2, wt) == CLSEG_OK;
  snprintf(pn, sizeof pn, "%s.bias", y ? y->name : "");
  ok = ok && (!c || clseg_graph_set_param(b->g, pn, &m, 1, wt + m * k) == CLSEG_OK);
  free(wt);
  if (!ok)
    return b->status == CLSEG_OK
               ? clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "%s", clseg_graph_error(b->g))
               : 0;
  return clseg__set_node(b, n, 0, y, 2, od);
}

/* The NCHW view of an ONNX shape: rank 4 as is, ranks 2 and 3 padded with 1s ([N, C] = [N, C, 1,
 * 1]). */
static int as_nchw(int nd, const int64_t *d, int64_t *o) {
  if (nd < 2 || nd > 4)
    return 0;
  o[0] = d[0], o[1] = d[1], o[2] = nd > 2 ? d[2] : 1, o[3] = nd > 3 ? d[3] : 1;
  return 1;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Identity, Dropout, Cast of a node: accepted when
 * the result is the same NCHW data (a rank change around 1-sized dims, a permutation of 1-sized
 * axes). */
static int op_layout(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const char *op = n->op_type;
  int64_t od[CLSEG__ONNX_MAX_DIMS], a[4], c[4], perm[4];
  int nd = x ? x->ndim : 0;
  if (!x)
    return 0;
  /* Dropout-1 and -6 drop at random unless is_test (default 0); from opset 7 inference is the
   * identity */
  if (!strcmp(op, "Dropout") && b->opset < 7 && !clseg__attr_int(n, "is_test", 0))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "is_test 0 at opset %d (training mode: random dropout) is unsupported",
                          b->opset);
  memcpy(od, x->dims, sizeof *od * (size_t)nd);
  if (!strcmp(op, "Reshape") && !clseg__reshape_dims(b, n, x->ndim, x->dims, &nd, od))
    return 0;
  if ((!strcmp(op, "Flatten") || strstr(op, "queeze")) &&
      !clseg__squeeze_dims(b, n, x->ndim, x->dims, &nd, od))
    return 0;
  /* Casts between float types are no-ops: clseg computes float16 models in float32 */
  int64_t to = clseg__cast_to(n);
  if (!strcmp(op, "Cast") && to != 1 && to != 10 && to != 16)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a cast of a tensor to type %lld (float, float16 and bfloat16 only)",
                          (long long)to);
  if (!strcmp(op, "Transpose")) {
    int np = clseg__attr_ints(n, "perm", perm, 4), last = -1;
    for (int d = 0; d < nd; d++) {
      int64_t pd = np == nd ? perm[d] : nd - 1 - d;
      if (pd < 0 || pd >= nd)
        return clseg__ob_fail(b, CLSEG_FORMAT, "perm value %lld", (long long)pd);
      od[d] = x->dims[pd];
      if (x->dims[pd] != 1 && pd < last)
        return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                              "a transpose that moves data (only permutations of 1-sized "
                              "axes are layout no-ops)");
      last = x->dims[pd] != 1 ? (int)pd : last;
    }
  }
  /* Flatten (any axis up to 1) or Reshape of an image to [N, C * H * W]: the same data read as one
   * row per image, which Gemm and MatMul take (clseg__in_node refuses it elsewhere) */
  if (x->ndim == 4 && nd == 2 && od[0] == x->dims[0] &&
      od[1] == x->dims[1] * x->dims[2] * x->dims[3] && strcmp(op, "Transpose"))
    return clseg__set_node(b, n, 0, x->node, nd, od);
  if (!as_nchw(x->ndim, x->dims, a) || !as_nchw(nd, od, c) || memcmp(a, c, sizeof a))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "%s to a %d-D shape that is not the same NCHW data (clseg keeps "
                          "[N, C, H, W] and [N, C] = [N, C, 1, 1])",
                          op, nd);
  return clseg__set_node(b, n, 0, x->node, nd, od);
}

/* Pad's pads (ONNX order: every axis' start, then every axis' end) per NCHW axis into p[8]: from
 * the attributes (opsets 1 to 10) or the pads, constant_value and axes inputs (11 and later). */
static int pad_args(clseg__ob *b, const Onnx__NodeProto *n, int64_t p[8], double *value) {
  int64_t pads[8] = {0}, ax[4] = {0, 1, 2, 3};
  int np = -1, na = 4;
  *value = 0;
  if (b->opset < 11) {
    np = clseg__attr_ints(n, b->opset < 2 ? "paddings" : "pads", pads, 8); /* Pad-1: paddings */
    *value = clseg__attr_float(n, "value", 0.0f);
  } else {
    const clseg__ov *v = clseg__in(b, n, 2);
    if (!clseg__in_ints(b, n, 1, pads, 8, &np))
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "pads ('%s') that are not a constant are unsupported",
                            n->n_input > 1 ? n->input[1] : "");
    if (v && (v->kind != CLSEG__OV_CONST || v->count != 1))
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "constant_value ('%s') that is not a constant scalar is unsupported",
                            n->input[2]);
    *value = v ? clseg__ov_get(v, 0) : 0.0;
    if (clseg__in(b, n, 3) && !clseg__in_ints(b, n, 3, ax, 4, &na))
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "axes ('%s') that are not a constant are unsupported", n->input[3]);
  }
  if (np != 2 * na)
    return clseg__ob_fail(b, CLSEG_FORMAT, "%d pads for %d axes", np, na);
  memset(p, 0, sizeof *p * 8);
  for (int k = 0; k < na; k++) {
    int a;
    if (!clseg__norm_axis(b, ax[k], 4, &a))
      return 0;
    p[a] = pads[k], p[a + 4] = pads[k + na];
  }
  return 1;
}

static int op_pad(clseg__ob *b, const Onnx__NodeProto *n) {
  static const char *const modes[3] = {"constant", "reflect", "edge"};
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t p[8], od[4];
  double value;
  if (!x)
    return 0;
  if (x->ndim != 4)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a pad of a %d-D tensor is unsupported (4-D NCHW)",
                          x->ndim);
  const char *mode = clseg__attr_str(n, "mode", "constant");
  int m = 0;
  while (m < 3 && strcmp(mode, modes[m]))
    m++;
  if (m == 3)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "mode '%.40s' is unsupported (constant, reflect, "
                          "edge)",
                          mode);
  if (!pad_args(b, n, p, &value))
    return 0;
  if (p[0] || p[4])
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "pads %lld, %lld on axis 0 (N) are unsupported (C, H and W only)",
                          (long long)p[0], (long long)p[4]);
  memcpy(od, x->dims, sizeof od);
  for (int a = 1; a < 4; a++) {
    int64_t kept = x->dims[a] + (p[a] < 0 ? p[a] : 0) + (p[a + 4] < 0 ? p[a + 4] : 0);
    if (p[a] < -4096 || p[a] > 4096 || p[a + 4] < -4096 || p[a + 4] > 4096 || kept < 1 ||
        (m == 1 && (p[a] >= kept || p[a + 4] >= kept)))
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                            "mode '%s' with pads %lld, %lld on axis %d of size %lld is unsupported",
                            mode, (long long)p[a], (long long)p[a + 4], a, (long long)x->dims[a]);
    od[a] += p[a] + p[a + 4];
  }
  clseg_pad_params pp = {.mode = (clseg_pad_mode)m,
                         .front = (int)p[1],
                         .top = (int)p[2],
                         .left = (int)p[3],
                         .back = (int)p[5],
                         .bottom = (int)p[6],
                         .right = (int)p[7],
                         .value = (float)value};
  return clseg__set_node(b, n, 0, clseg_graph_pad(b->g, x->node, &pp), 4, od);
}

/* DepthToSpace (blocksize; mode DCR, or CRD from opset 11: what torch.onnx makes of PixelShuffle)
 * and SpaceToDepth of a 4-D tensor. */
static int op_space_depth(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  const int to_depth = !strcmp(n->op_type, "SpaceToDepth");
  if (!x)
    return 0;
  const int64_t bs = clseg__attr_int(n, "blocksize", 0);
  const char *mode = to_depth ? "DCR" : clseg__attr_str(n, "mode", "DCR");
  const int crd = !strcmp(mode, "CRD");
  if (x->ndim != 4)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a %d-D input is unsupported (4-D NCHW)", x->ndim);
  if (!crd && strcmp(mode, "DCR"))
    return clseg__ob_fail(b, CLSEG_FORMAT, "mode '%.40s' (DCR or CRD)", mode);
  if (bs < 1 || bs > 1024)
    return clseg__ob_fail(b, CLSEG_FORMAT, "blocksize %lld (1 to 1024)", (long long)bs);
  int64_t od[4] = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
  if (to_depth ? x->dims[2] % bs || x->dims[3] % bs : x->dims[1] % (bs * bs))
    return clseg__ob_fail(b, CLSEG_SHAPE_MISMATCH, "blocksize %lld does not divide %s %lld",
                          (long long)bs, to_depth ? "the input's H, W" : "the input's channels",
                          (long long)(to_depth ? x->dims[2] : x->dims[1]));
  od[1] = to_depth ? od[1] * bs * bs : od[1] / (bs * bs);
  od[2] = to_depth ? od[2] / bs : od[2] * bs;
  od[3] = to_depth ? od[3] / bs : od[3] * bs;
  clseg_node *y = to_depth ? clseg_graph_space_to_depth(b->g, x->node, (int)bs)
                           : clseg_graph_depth_to_space(b->g, x->node, (int)bs,
                                                        crd ? CLSEG_DEPTH_TO_SPACE_CRD
                                                            : CLSEG_DEPTH_TO_SPACE_DCR);
  return clseg__set_node(b, n, 0, y, 4, od);
}

static const struct {
  const char *op;
  clseg__onnx_handler fn;
} handlers[] = {
    {"DepthToSpace", op_space_depth},
    {"SpaceToDepth", op_space_depth},
    {"MaxPool", op_pool},
    {"AveragePool", op_pool},
    {"GlobalAveragePool", op_global_pool},
    {"GlobalMaxPool", op_global_pool},
    {"ReduceMean", op_reduce},
    {"ReduceMax", op_reduce},
    {"ReduceSum", op_reduce},
    {"Resize", clseg__onnx_resize},
    {"Upsample", clseg__onnx_resize},
    {"Softmax", op_softmax},
    {"ArgMax", op_argmax},
    {"Gemm", op_gemm},
    {"MatMul", op_gemm},
    {"Reshape", op_layout},
    {"Flatten", op_layout},
    {"Squeeze", op_layout},
    {"Unsqueeze", op_layout},
    {"Transpose", op_layout},
    {"Identity", op_layout},
    {"Dropout", op_layout},
    {"Cast", op_layout},
    {"Pad", op_pad},
};

clseg__onnx_handler clseg__onnx_find2(const char *op) {
  for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
    if (!strcmp(handlers[i].op, op))
      return handlers[i].fn;
  return NULL;
}
