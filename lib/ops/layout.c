/* Host side of the channel layout ops (cl/layout.cl): concat along C, channel slices, padding
 * along C, H and W with crops (constant, reflect or edge, one kernel each), and the moves between
 * depth and space (DepthToSpace in DCR or CRD order, SpaceToDepth). */
#include <stdio.h>

#include "common.h"

/* The launch shared by the layout kernels: the row's GPU form runs one float per work-item over
 * rows * len floats in 1-D; the CPU form runs len in runs of chunk floats along dimension 0 and the
 * rows along dimension 1, and the work-group spans rows when a row is one run. LAYOUT_LAUNCH counts
 * the argument array. */
static clseg_status layout_launch(clseg_context *ctx, cl_kernel k, const clseg__stream_shape *sh,
                                  const char *what, const clseg__arg *args, int nargs, int len,
                                  int rows) {
  if (sh->gpu) {
    const size_t global = clseg__round_up((size_t)len * (size_t)rows, sh->local);
    return clseg__launch(ctx, k, what, args, nargs, 1, &global, &sh->local);
  }
  const size_t runs = ((size_t)len + sh->chunk - 1) / sh->chunk;
  const size_t local[2] = {runs == 1 ? 1 : sh->local, runs == 1 ? sh->local : 1};
  const size_t global[2] = {clseg__round_up(runs, local[0]),
                            clseg__round_up((size_t)rows, local[1])};
  return clseg__launch(ctx, k, what, args, nargs, 2, global, local);
}
#define LAYOUT_LAUNCH(ctx, k, sh, what, args, len, rows)                                           \
  layout_launch(ctx, k, sh, what, args, CLSEG__COUNT(args), len, rows)

/* rows copies of len floats between strided rows. */
static clseg_status copy_rows(clseg_context *ctx, const char *what, const clseg_tensor *x,
                              int x_off, int x_stride, const clseg_tensor *y, int y_off,
                              int y_stride, int len, int rows) {
  cl_kernel k;
  clseg__stream_shape sh;
  clseg_status s = clseg__stream_kernel(ctx, "layout.cl", "layout_copy_rows", &k, &sh);
  if (s != CLSEG_OK)
    return s;
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(x_off), CLSEG__ARG(x_stride),
                             CLSEG__ARG(y->buf), CLSEG__ARG(y_off), CLSEG__ARG(y_stride),
                             CLSEG__ARG(len),    CLSEG__ARG(rows)};
  return LAYOUT_LAUNCH(ctx, k, &sh, what, args, len, rows);
}

/* ---- concat ---- */

static clseg_status concat_check(clseg_context *ctx, const clseg_tensor *const *xs, int count,
                                 const clseg_tensor *y) {
  if (!xs || count <= 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "concat: %s",
                       !xs ? "the input list is NULL" : "needs at least one input");
  clseg_status s = clseg__check_tensor(ctx, "concat", "output", y);
  int64_t csum = 0;
  for (int i = 0; i < count && s == CLSEG_OK; i++) {
    char role[32];
    snprintf(role, sizeof role, "input %d", i);
    if ((s = clseg__check_tensor(ctx, "concat", role, xs[i])) != CLSEG_OK)
      return s;
    const int64_t *xsh = xs[i]->shape;
    if (xsh[0] != y->shape[0] || xsh[2] != y->shape[2] || xsh[3] != y->shape[3])
      return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                         "concat: input %d has shape %s, the output %s: N, H and W must be equal",
                         i, CLSEG__SHAPE(xsh), CLSEG__TSHAPE(y));
    csum += xsh[1];
  }
  if (s == CLSEG_OK && csum != y->shape[1])
    return clseg__fail(
        ctx, CLSEG_SHAPE_MISMATCH,
        "concat: the %d inputs have %lld channels in all, the output of shape %s has %lld", count,
        (long long)csum, CLSEG__TSHAPE(y), (long long)y->shape[1]);
  return s;
}

/* One row copy per input: image n of input i, Ci * H * W contiguous floats, lands at channel c0 of
 * image n.
 */
clseg_status clseg_concat(clseg_context *ctx, const clseg_tensor *const *xs, int count,
                          clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "concat: NULL context");
  clseg_status s = concat_check(ctx, xs, count, y);
  const int hw = s == CLSEG_OK ? (int)(y->shape[2] * y->shape[3]) : 0;
  int c0 = 0;
  for (int i = 0; i < count && s == CLSEG_OK; i++) {
    const int ci = (int)xs[i]->shape[1], len = ci * hw;
    s = copy_rows(ctx, "concat", xs[i], (int)xs[i]->offset, len, y, (int)y->offset + c0 * hw,
                  (int)y->shape[1] * hw, len, (int)y->shape[0]);
    c0 += ci;
  }
  return s;
}

/* Along H: one row copy per input, each plane of input i (Hi * W contiguous floats) landing at row
 * h0 of the same plane of y. */
clseg_status clseg_concat_h(clseg_context *ctx, const clseg_tensor *const *xs, int count,
                            clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "concat_h: NULL context");
  if (!xs || count <= 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "concat_h: %s",
                       !xs ? "the input list is NULL" : "needs at least one input");
  clseg_status s = clseg__check_tensor(ctx, "concat_h", "output", y);
  int64_t hsum = 0;
  for (int i = 0; i < count && s == CLSEG_OK; i++) {
    char role[32];
    snprintf(role, sizeof role, "input %d", i);
    if ((s = clseg__check_tensor(ctx, "concat_h", role, xs[i])) != CLSEG_OK)
      return s;
    const int64_t *xsh = xs[i]->shape;
    if (xsh[0] != y->shape[0] || xsh[1] != y->shape[1] || xsh[3] != y->shape[3])
      return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                         "concat_h: input %d has shape %s, the output %s: N, C and W must be equal",
                         i, CLSEG__SHAPE(xsh), CLSEG__TSHAPE(y));
    hsum += xsh[2];
  }
  if (s == CLSEG_OK && hsum != y->shape[2])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "concat_h: the %d inputs have %lld rows in all, the output of shape %s has "
                       "%lld",
                       count, (long long)hsum, CLSEG__TSHAPE(y), (long long)y->shape[2]);
  const int w = s == CLSEG_OK ? (int)y->shape[3] : 0, planes = (int)(y->shape[0] * y->shape[1]);
  int h0 = 0;
  for (int i = 0; i < count && s == CLSEG_OK; i++) {
    const int len = (int)xs[i]->shape[2] * w;
    s = copy_rows(ctx, "concat_h", xs[i], (int)xs[i]->offset, len, y, (int)y->offset + h0 * w,
                  (int)y->shape[2] * w, len, planes);
    h0 += (int)xs[i]->shape[2];
  }
  return s;
}

clseg_status clseg_reshape_nhwc(clseg_context *ctx, const clseg_tensor *x, clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "reshape_nhwc: NULL context");
  clseg_status s = clseg__check_tensor(ctx, "reshape_nhwc", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "reshape_nhwc", "output", y);
  if (s != CLSEG_OK)
    return s;
  if (x->shape[0] != y->shape[0] || x->count != y->count)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "reshape_nhwc: input of shape %s, output %s: N and the count must be equal",
                       CLSEG__TSHAPE(x), CLSEG__TSHAPE(y));
  cl_kernel k;
  clseg__stream_shape sh;
  if ((s = clseg__stream_kernel(ctx, "layout.cl", "layout_reshape_nhwc", &k, &sh)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, ci = (int)x->shape[1];
  const int hi = (int)x->shape[2], wi = (int)x->shape[3], co = (int)y->shape[1];
  const int ho = (int)y->shape[2], wo = (int)y->shape[3], rows = (int)(y->shape[0] * co * ho);
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(y->buf), CLSEG__ARG(yo),
                             CLSEG__ARG(ci),     CLSEG__ARG(hi), CLSEG__ARG(wi),     CLSEG__ARG(co),
                             CLSEG__ARG(ho),     CLSEG__ARG(wo), CLSEG__ARG(rows)};
  return LAYOUT_LAUNCH(ctx, k, &sh, "reshape_nhwc", args, wo, rows);
}

/* ---- slice ---- */

static clseg_status slice_check(clseg_context *ctx, const clseg_tensor *x, int64_t c_start,
                                const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "slice_channels", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "slice_channels", "output", y);
  if (s != CLSEG_OK)
    return s;
  if (x->shape[0] != y->shape[0] || x->shape[2] != y->shape[2] || x->shape[3] != y->shape[3])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "slice_channels: input has shape %s, output %s: N, H and W must be equal",
                       CLSEG__TSHAPE(x), CLSEG__TSHAPE(y));
  if (c_start < 0 || c_start > x->shape[1] - y->shape[1])
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        "slice_channels: channels [%lld, %lld) are out of range of the input of shape %s "
        "(%lld channels)",
        (long long)c_start, (long long)(c_start + y->shape[1]), CLSEG__TSHAPE(x),
        (long long)x->shape[1]);
  return CLSEG_OK;
}

clseg_status clseg_slice_channels(clseg_context *ctx, const clseg_tensor *x, int64_t c_start,
                                  clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "slice_channels: NULL context");
  clseg_status s = slice_check(ctx, x, c_start, y);
  if (s != CLSEG_OK)
    return s;
  const int hw = (int)(x->shape[2] * x->shape[3]), len = (int)y->shape[1] * hw;
  return copy_rows(ctx, "slice_channels", x, (int)x->offset + (int)c_start * hw,
                   (int)x->shape[1] * hw, y, (int)y->offset, len, len, (int)y->shape[0]);
}

/* ---- pad ---- */

typedef struct {
  clseg_pad_mode mode;
  const char *name; /* the kernel's, the variant's and its tuning row's */
} pad_variant;

/* Indexed by mode. */
static const pad_variant pad_variants[] = {
    {CLSEG_PAD_CONSTANT, "layout_pad_constant"},
    {CLSEG_PAD_REFLECT, "layout_pad_reflect"},
    {CLSEG_PAD_EDGE, "layout_pad_edge"},
};

static const char *const PAD_AXES[3] = {"channels", "height", "width"};

/* Per axis (C, H, W): the pads before and after, negative to crop. */
static void pad_sides(const clseg_pad_params *p, int lo[3], int hi[3]) {
  lo[0] = p->front, lo[1] = p->top, lo[2] = p->left;
  hi[0] = p->back, hi[1] = p->bottom, hi[2] = p->right;
}

static int64_t pad_cropped(int64_t in, int lo, int hi) {
  return in + (lo < 0 ? lo : 0) + (hi < 0 ? hi : 0);
}

static clseg_status pad_check(clseg_context *ctx, const clseg_tensor *x,
                              const clseg_pad_params *p) {
  clseg_status s = clseg__check_tensor(ctx, "pad", "input", x);
  if (s != CLSEG_OK)
    return s;
  if (!p)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pad: NULL parameters");
  if ((int)p->mode < 0 || p->mode > CLSEG_PAD_EDGE)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pad: unknown mode %d", (int)p->mode);
  int lo[3], hi[3];
  pad_sides(p, lo, hi);
  for (int a = 0; a < 3; a++) {
    const int64_t c = pad_cropped(x->shape[a + 1], lo[a], hi[a]);
    if (c < 1)
      return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                         "pad: crops %d and %d remove the whole %s of input shape %s", lo[a], hi[a],
                         PAD_AXES[a], CLSEG__TSHAPE(x));
    if (p->mode == CLSEG_PAD_REFLECT && (lo[a] >= c || hi[a] >= c))
      return clseg__fail(
          ctx, CLSEG_INVALID_ARGUMENT,
          "pad: reflect padding (%s %d and %d) must be smaller than the input's size along its "
          "axis (%lld after crops); input shape %s",
          PAD_AXES[a], lo[a], hi[a], (long long)c, CLSEG__TSHAPE(x));
  }
  return CLSEG_OK;
}

static void pad_out_shape(const clseg_tensor *x, const clseg_pad_params *p, int64_t out[4]) {
  out[0] = x->shape[0];
  out[1] = x->shape[1] + p->front + p->back;
  out[2] = x->shape[2] + p->top + p->bottom;
  out[3] = x->shape[3] + p->left + p->right;
}

clseg_status clseg_pad_shape(const clseg_tensor *x, const clseg_pad_params *p, int64_t out[4]) {
  clseg_context *ctx = x ? x->ctx : NULL;
  clseg_status s = !out ? clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pad: NULL output shape")
                        : clseg__check_tensor(ctx, "pad", "input", x);
  if (s == CLSEG_OK && (s = pad_check(ctx, x, p)) == CLSEG_OK)
    pad_out_shape(x, p, out);
  return s;
}

static int pos(int v) {
  return v > 0 ? v : 0;
}

clseg_status clseg_pad(clseg_context *ctx, const clseg_tensor *x, const clseg_pad_params *p,
                       clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "pad: NULL context");
  int64_t want[4];
  clseg_status s = pad_check(ctx, x, p);
  if (s == CLSEG_OK) {
    pad_out_shape(x, p, want);
    s = clseg__check_output(ctx, "pad", y, want);
  }
  cl_kernel k;
  clseg__stream_shape sh;
  if (s != CLSEG_OK ||
      (s = clseg__stream_kernel(ctx, "layout.cl", pad_variants[p->mode].name, &k, &sh)) != CLSEG_OK)
    return s;
  const int c = (int)x->shape[1], h = (int)x->shape[2], w = (int)x->shape[3];
  const int cs = (int)pad_cropped(c, p->front, p->back),
            hs = (int)pad_cropped(h, p->top, p->bottom);
  const int ws = (int)pad_cropped(w, p->left, p->right);
  /* the crop's first element, so that the kernel indexes the cropped input like a whole one */
  const int xo = (int)x->offset + (pos(-p->front) * h + pos(-p->top)) * w + pos(-p->left);
  const int yo = (int)y->offset, co = (int)want[1], ho = (int)want[2], wo = (int)want[3];
  const int front = pos(p->front), top = pos(p->top), left = pos(p->left);
  const float value = p->value;
  const int rows = (int)(want[0] * want[1] * want[2]);
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf), CLSEG__ARG(xo),    CLSEG__ARG(y->buf), CLSEG__ARG(yo),    CLSEG__ARG(c),
      CLSEG__ARG(h),      CLSEG__ARG(w),     CLSEG__ARG(cs),     CLSEG__ARG(hs),    CLSEG__ARG(ws),
      CLSEG__ARG(co),     CLSEG__ARG(ho),    CLSEG__ARG(wo),     CLSEG__ARG(front), CLSEG__ARG(top),
      CLSEG__ARG(left),   CLSEG__ARG(value), CLSEG__ARG(rows)};
  return LAYOUT_LAUNCH(ctx, k, &sh, pad_variants[p->mode].name, args, wo, rows);
}

/* ---- depth <-> space ---- */

/* The output shape of a depth-to-space (to_depth 0) or space-to-depth move of x by block. */
static clseg_status space_depth_shape(clseg_context *ctx, const char *what, const clseg_tensor *x,
                                      int block, int to_depth, int64_t out[4]) {
  clseg_status s = clseg__check_tensor(ctx, what, "input", x);
  if (s != CLSEG_OK)
    return s;
  const int64_t bb = (int64_t)block * block;
  if (block < 1 || block > 1024)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: block %d (1 to 1024)", what, block);
  if (!to_depth && x->shape[1] % bb)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: input of shape %s: %lld channels are not a multiple of block %d "
                       "squared",
                       what, CLSEG__TSHAPE(x), (long long)x->shape[1], block);
  if (to_depth && (x->shape[2] % block || x->shape[3] % block))
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: input of shape %s: height and width are not multiples of block %d",
                       what, CLSEG__TSHAPE(x), block);
  out[0] = x->shape[0];
  out[1] = to_depth ? x->shape[1] * bb : x->shape[1] / bb;
  out[2] = to_depth ? x->shape[2] / block : x->shape[2] * block;
  out[3] = to_depth ? x->shape[3] / block : x->shape[3] * block;
  return CLSEG_OK;
}

static clseg_status space_depth(clseg_context *ctx, const clseg_tensor *x, int block, int mode,
                                clseg_tensor *y) {
  const int to_depth = mode == 2;
  const char *what = to_depth ? "space_to_depth" : "depth_to_space";
  const char *variant = to_depth ? "layout_space_to_depth" : "layout_depth_to_space";
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: NULL context", what);
  if (mode < 0 || mode > 2)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: unknown mode %d", what, mode);
  int64_t want[4];
  clseg_status s = space_depth_shape(ctx, what, x, block, to_depth, want);
  if (s == CLSEG_OK)
    s = clseg__check_output(ctx, what, y, want);
  cl_kernel k;
  clseg__stream_shape sh;
  if (s != CLSEG_OK || (s = clseg__stream_kernel(ctx, "layout.cl", variant, &k, &sh)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, ci = (int)x->shape[1];
  const int hi = (int)x->shape[2], wi = (int)x->shape[3], co = (int)want[1], ho = (int)want[2];
  const int wo = (int)want[3], rows = (int)(want[0] * want[1] * want[2]);
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf), CLSEG__ARG(xo),   CLSEG__ARG(y->buf), CLSEG__ARG(yo), CLSEG__ARG(ci),
      CLSEG__ARG(hi),     CLSEG__ARG(wi),   CLSEG__ARG(co),     CLSEG__ARG(ho), CLSEG__ARG(wo),
      CLSEG__ARG(block),  CLSEG__ARG(mode), CLSEG__ARG(rows)};
  return LAYOUT_LAUNCH(ctx, k, &sh, variant, args, wo, rows);
}

clseg_status clseg_depth_to_space_shape(const clseg_tensor *x, int block, int64_t out[4]) {
  clseg_context *ctx = x ? x->ctx : NULL;
  if (!out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "depth_to_space: NULL output shape");
  return space_depth_shape(ctx, "depth_to_space", x, block, 0, out);
}

clseg_status clseg_space_to_depth_shape(const clseg_tensor *x, int block, int64_t out[4]) {
  clseg_context *ctx = x ? x->ctx : NULL;
  if (!out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "space_to_depth: NULL output shape");
  return space_depth_shape(ctx, "space_to_depth", x, block, 1, out);
}

clseg_status clseg_depth_to_space(clseg_context *ctx, const clseg_tensor *x, int block,
                                  clseg_depth_to_space_mode mode, clseg_tensor *y) {
  if (ctx && (mode < CLSEG_DEPTH_TO_SPACE_DCR || mode > CLSEG_DEPTH_TO_SPACE_CRD))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "depth_to_space: unknown mode %d", (int)mode);
  return space_depth(ctx, x, block, (int)mode, y);
}

clseg_status clseg_space_to_depth(clseg_context *ctx, const clseg_tensor *x, int block,
                                  clseg_tensor *y) {
  return space_depth(ctx, x, block, 2, y);
}
