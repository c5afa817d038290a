/* ONNX Resize (opsets 10 to 19+) and Upsample (7 to 9) -> clseg resize nodes with ONNX's
 * coordinate rules (clseg_resize_coord), so results follow onnxruntime rather than PyTorch: output
 * sizes and scales from attributes or constant inputs, per axis, any ratio. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formats/onnx.h"
#include "graph_internal.h"

static const char *const COORDS[] = {
    "",           "half_pixel",           "pytorch_half_pixel",  "align_corners",
    "asymmetric", "half_pixel_symmetric", "tf_half_pixel_for_nn"};
static const char *const ROUNDS[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

/* Upsample before opset 9 carries its scales as attributes; copies them into v. */
static int attr_scales(clseg__ob *b, const Onnx__NodeProto *n, double *v) {
  if (b->opset < 7) { /* Upsample-1: height_scale and width_scale */
    const Onnx__AttributeProto *h = clseg__attr(n, "height_scale"),
                               *w = clseg__attr(n, "width_scale");
    if (!h || !w)
      return clseg__ob_fail(b, CLSEG_FORMAT,
                            "Upsample at opset %d without height_scale and "
                            "width_scale",
                            b->opset);
    v[0] = v[1] = 1.0, v[2] = h->f, v[3] = w->f;
    return 1;
  }
  const Onnx__AttributeProto *a = clseg__attr(n, "scales");
  if (!a || a->n_floats != 4)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "Upsample without a 'scales' attribute of 4 floats is unsupported");
  for (int d = 0; d < 4; d++)
    v[d] = a->floats[d];
  return 1;
}

/* The constant scales or sizes: one value per axis, or per entry of the 'axes' attribute. */
static int given_values(clseg__ob *b, const Onnx__NodeProto *n, double *v, int *sizes) {
  int up = !strcmp(n->op_type, "Upsample");
  if (up && b->opset < 9)
    return attr_scales(b, n, v);
  const clseg__ov *s = clseg__in(b, n, up || b->opset < 11 ? 1 : 2),
                  *z = up || b->opset < 11 ? NULL : clseg__in(b, n, 3);
  int64_t axes[4] = {0, 1, 2, 3};
  int na = clseg__attr_ints(n, "axes", axes, 4);
  const clseg__ov *use = z && z->count ? z : s && s->count ? s : NULL;
  if (!use || use->kind != CLSEG__OV_CONST || use->count != (size_t)(na < 0 ? 4 : na))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "%s that are not a constant of one value per axis%s",
                          z ? "sizes" : "scales", na >= 0 ? " in 'axes'" : "");
  *sizes = use == z;
  for (int k = 0; k < (int)use->count; k++) {
    int a = (int)(axes[k] < 0 ? axes[k] + 4 : axes[k]);
    if (a < 0 || a > 3)
      return clseg__ob_fail(b, CLSEG_FORMAT, "axis %lld of a 4-D resize", (long long)axes[k]);
    v[a] = clseg__ov_get(use, (size_t)k);
  }
  return 1;
}

static int check_size(clseg__ob *b, const clseg__ov *x, const int64_t *out);

/* keep_aspect_ratio_policy (opset 18) with sizes: one scale for the listed axes, the smallest
 * (not_larger) or largest (not_smaller) of size / input, and sizes round(scale * input), as
 * onnxruntime computes them; the others keep their size. */
static int keep_aspect(clseg__ob *b, const clseg__ov *x, const double *v, int larger, int64_t *out,
                       float *sc) {
  float scale = larger ? 0.0f : 3.4e38f;
  for (int d = 0; d < 4; d++)
    if (v[d] >= 0) {
      float r = (float)v[d] / (float)x->dims[d];
      scale = larger ? fmaxf(scale, r) : fminf(scale, r);
    }
  if (!(scale > 0.0f && scale < 1e6f))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "sizes that give a scale of %g", (double)scale);
  for (int d = 0; d < 4; d++) {
    out[d] = v[d] >= 0 ? (int64_t)roundf(scale * (float)x->dims[d]) : x->dims[d];
    sc[d] = v[d] >= 0 ? scale : 1.0f;
  }
  return check_size(b, x, out);
}

/* Output dims and the scales onnxruntime uses (sc, output / input; 0 where they come from sizes).
 */
static int resize_size(clseg__ob *b, const Onnx__NodeProto *n, const clseg__ov *x, int64_t *out,
                       float *sc) {
  double v[4] = {-1, -1, -1, -1};
  int sizes = 0;
  if (!given_values(b, n, v, &sizes))
    return 0;
  const char *keep = clseg__attr_str(n, "keep_aspect_ratio_policy", "stretch");
  int larger = !strcmp(keep, "not_smaller");
  if (sizes && strcmp(keep, "stretch"))
    return larger || !strcmp(keep, "not_larger")
               ? keep_aspect(b, x, v, larger, out, sc)
               : clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                                "keep_aspect_ratio_policy '%s' is unsupported (stretch, "
                                "not_larger, not_smaller are)",
                                keep);
  for (int d = 0; d < 4; d++) {
    if (v[d] < 0) { /* an axis not in 'axes' */
      out[d] = x->dims[d], sc[d] = sizes ? 0.0f : 1.0f;
      continue;
    }
    /* as onnxruntime: the float scale times the float size, truncated */
    float o = sizes ? (float)v[d] : (float)v[d] * (float)x->dims[d];
    out[d] = o >= 0 && o <= 1e6f ? (int64_t)o : -1; /* also NaN */
    sc[d] = sizes ? 0.0f : (float)v[d];
    if (!sizes && !(sc[d] > 0.0f))
      return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a scale of %g on axis %d is unsupported", v[d],
                            d);
  }
  return check_size(b, x, out);
}

static int check_size(clseg__ob *b, const clseg__ov *x, const int64_t *out) {
  if (out[0] != x->dims[0] || out[1] != x->dims[1] || out[2] < 1 || out[3] < 1 || out[2] > 65536 ||
      out[3] > 65536)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "a resize to [%lld, %lld, %lld, %lld] from [%lld, %lld, %lld, %lld] is "
                          "unsupported (H and W only, 1 to 65536)",
                          (long long)out[0], (long long)out[1], (long long)out[2],
                          (long long)out[3], (long long)x->dims[0], (long long)x->dims[1],
                          (long long)x->dims[2], (long long)x->dims[3]);
  return 1;
}

static int index_of(const char *const *names, int count, const char *s) {
  for (int k = 0; k < count; k++)
    if (!strcmp(names[k], s))
      return k;
  return -1;
}

/* mode, coordinate_transformation_mode, nearest_mode -> p; refuses what clseg does not compute. */
static int resize_modes(clseg__ob *b, const Onnx__NodeProto *n, clseg_resize_params *p) {
  /* Upsample and Resize-10 have no such attributes: asymmetric, and onnxruntime's old nearest */
  int old = !strcmp(n->op_type, "Upsample") || b->opset < 11;
  const char *mode = clseg__attr_str(n, "mode", "nearest");
  if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear"))
    p->mode = CLSEG_RESIZE_BILINEAR;
  else if (strcmp(mode, "nearest"))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "%s mode '%s' is unsupported (nearest and linear are)", n->op_type, mode);
  if (old) {
    p->coord = CLSEG_RESIZE_COORD_ASYMMETRIC;
    p->round = CLSEG_RESIZE_ROUND_SIMPLE;
    return 1;
  }
  char ctm[40];
  snprintf(ctm, sizeof ctm, "%s",
           clseg__attr_str(n, "coordinate_transformation_mode", "half_pixel"));
  int c = index_of(COORDS, 7, ctm);
  if (c == CLSEG_RESIZE_COORD_HALF_PIXEL_SYMMETRIC && b->opset < 19)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "coordinate_transformation_mode 'half_pixel_symmetric' is unsupported "
                          "before opset 19 (the model's is %d)",
                          b->opset);
  if (c == CLSEG_RESIZE_COORD_TF_HALF_PIXEL_FOR_NN && b->opset >= 19)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "coordinate_transformation_mode 'tf_half_pixel_for_nn' is unsupported "
                          "from opset 19, which removed it (the model's is %d)",
                          b->opset);
  if (c < 1)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "coordinate_transformation_mode '%s' is unsupported (half_pixel, "
                          "pytorch_half_pixel, align_corners, asymmetric, %s are)",
                          ctm, b->opset >= 19 ? "half_pixel_symmetric" : "tf_half_pixel_for_nn");
  p->coord = (clseg_resize_coord)c;
  const char *nm = clseg__attr_str(n, "nearest_mode", "round_prefer_floor");
  int r = index_of(ROUNDS, 4, nm);
  if (p->mode == CLSEG_RESIZE_NEAREST && r < 0)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "nearest_mode '%s' is unsupported (round_prefer_floor, "
                          "round_prefer_ceil, floor, ceil are)",
                          nm);
  p->round = r > 0 ? (clseg_resize_round)r : CLSEG_RESIZE_ROUND_PREFER_FLOOR;
  return 1;
}

/* A node with spatial size h x w to resize like: the graph input first, else the latest. */
static clseg_node *like_node(clseg__ob *b, int64_t h, int64_t w) {
  clseg_node *best = NULL;
  for (size_t i = 0; i < b->nvals; i++) {
    const clseg__ov *v = &b->vals[i];
    if (v->kind != CLSEG__OV_NODE || v->ndim != 4 || v->dims[2] != h || v->dims[3] != w)
      continue;
    if (v->node == b->g->input)
      return v->node;
    if (!best || v->node->id > best->id)
      best = v->node;
  }
  return best;
}

int clseg__onnx_resize(clseg__ob *b, const Onnx__NodeProto *n) {
  clseg__ov *x = clseg__in_node(b, n, 0);
  int64_t od[4];
  float sc[4];
  if (x && x->ndim != 4)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "a resize of a %d-D tensor is unsupported",
                          x->ndim);
  clseg_resize_params p = {.mode = CLSEG_RESIZE_NEAREST};
  if (!x || !resize_size(b, n, x, od, sc) || !resize_modes(b, n, &p))
    return 0;
  if (p.mode == CLSEG_RESIZE_BILINEAR && clseg__attr_int(n, "antialias", 0) &&
      (od[2] < x->dims[2] || od[3] < x->dims[3]))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "antialias 1 on a linear downscale is unsupported");
  p.scale_h = sc[2], p.scale_w = sc[3];
  /* Size-agnostic where possible: the same integer scale on both axes, or (sizes given) the size
   * of a tensor already in the graph; else the size fixed at import. */
  int64_t k = od[2] / x->dims[2];
  int integer = od[2] == k * x->dims[2] && od[3] == k * x->dims[3] && k >= 1;
  if (integer && (sc[2] == 0.0f || (sc[2] == (float)k && sc[3] == (float)k)))
    return clseg__set_node(b, n, 0, clseg_graph_resize_scale(b->g, x->node, (int)k, &p), 4, od);
  clseg_node *like = sc[2] == 0.0f && sc[3] == 0.0f ? like_node(b, od[2], od[3]) : NULL;
  if (like)
    return clseg__set_node(b, n, 0, clseg_graph_resize_like(b->g, x->node, like, &p), 4, od);
  p.out_h = od[2], p.out_w = od[3];
  return clseg__set_node(b, n, 0, clseg_graph_resize_scale(b->g, x->node, 1, &p), 4, od);
}
