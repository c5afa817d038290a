/* ONNX operators -> clseg graph nodes: moving data without arithmetic. Concat, Split and Slice
 * along channels, Pad, DepthToSpace/SpaceToDepth, and the layout ops (Reshape, Flatten, Squeeze,
 * Unsqueeze, Transpose, Identity ...) that clseg accepts where they leave the NCHW order unchanged.
 */
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

int clseg__onnx_concat(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg_node *xs[256];
  int cnt = 0, ax;
  int64_t od[4];
  for (size_t k = 0; k < n->n_input && cnt < 256; k++) {
    clseg__ov *x = *n->input[k] ? clseg__in_node(b, n, k) : NULL;
    if (!*n->input[k])
      continue;
    if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 1), x->ndim, &ax))
      return 0;
    if (ax != 1)
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axis %d of a %d-D tensor (channels only)", ax,
                            x->ndim);
    if (!cnt)
      memcpy(od, x->dims, sizeof od), od[1] = 0;
    od[1] += x->dims[1];
    xs[cnt++] = x->node;
  }
  if (!cnt || cnt == 256)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "%d inputs", cnt);
  return clseg__set_node(b, n, 0, clseg_graph_concat(b->g, xs, cnt), clseg__in(b, n, 0)->ndim, od);
}

int clseg__onnx_split(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t sz[64];
  int ns = -1, ax;
  if (!x || !clseg__norm_axis(b, clseg__attr_int(n, "axis", 0), x->ndim, &ax))
    return 0;
  if (ax != 1)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "axis %d (channels only)", ax);
  if ((ns = clseg__attr_ints(n, "split", sz, 64)) < 0 && clseg__in(b, n, 1) &&
      !clseg__in_ints(b, n, 1, sz, 64, &ns))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "split sizes that are not constant");
  if (ns < 0) { /* equal parts, the last one smaller (opset 18) */
    int64_t parts = (int64_t)n->n_output, each = (x->dims[1] + parts - 1) / parts;
    for (ns = 0; ns < (int)parts && ns < 64; ns++)
      sz[ns] = ns + 1 < (int)parts ? each : x->dims[1] - each * (parts - 1);
  }
  if ((size_t)ns != n->n_output)
    return clseg__ob_fail(b, CLSEG_FORMAT, "%d split sizes for %zu outputs", ns, n->n_output);
  int64_t start = 0, od[4];
  memcpy(od, x->dims, sizeof od);
  for (int k = 0; k < ns; k++) {
    od[1] = sz[k];
    clseg__ov xv = *x;
    if (!clseg__set_node(b, n, (size_t)k, clseg_graph_slice_channels(b->g, xv.node, start, sz[k]),
                         xv.ndim, od))
      return 0;
    start += sz[k];
  }
  return 1;
}

/* Slice of a node: channels with step 1; the other axes must be kept whole. */
int clseg__onnx_slice(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t st[4], sp[4], len[4];
  if (!x || !clseg__slice_params(b, n, x->ndim, x->dims, st, sp, len))
    return 0;
  for (int d = 0; d < x->ndim; d++)
    if (d != 1 && len[d] != x->dims[d])
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a slice along axis %d (channels only)", d);
  if (sp[1] != 1 && len[1] > 1)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a channel slice with step %lld", (long long)sp[1]);
  if (len[1] == x->dims[1])
    return clseg__set_node(b, n, 0, x->node, x->ndim, x->dims);
  return clseg__set_node(b, n, 0, clseg_graph_slice_channels(b->g, x->node, st[1], len[1]), x->ndim,
                         len);
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
int clseg__onnx_layout(clseg__ob *b, const Onnx__NodeProto *n) {
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

int clseg__onnx_pad(clseg__ob *b, const Onnx__NodeProto *n) {
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
int clseg__onnx_space_depth(clseg__ob *b, const Onnx__NodeProto *n) {
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
