/* conv2d host side: argument checks, output shape, the variants direct, depthwise and vectorized
 * implicit GEMM (padded, in-place or packed input), the variant table with auto's selection, and
 * prepared execution. Buffers, weight packing and the batchnorm fold: conv_buffers.c; kernel
 * building and tuning: conv_build.c; Winograd: conv_winograd.c. Kernels: cl/conv.cl. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "conv.h"
#include "tuning.h"

#define OP       "conv2d"
#define MAX_DEFS 16

typedef clseg__conv_job conv_job;

static int or1(int v) {
  return v == 0 ? 1 : v;
}

/* ---- checks and shape ---- */

static clseg_status check_params(clseg_context *ctx, const clseg_conv2d_params *p) {
  if (p->stride_h < 0 || p->stride_w < 0 || p->dilation_h < 0 || p->dilation_w < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       OP ": stride (%d, %d) and dilation (%d, %d) must be positive (0 means 1)",
                       p->stride_h, p->stride_w, p->dilation_h, p->dilation_w);
  if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       OP ": padding (top %d, left %d, bottom %d, right %d) "
                          "must not be negative",
                       p->pad_top, p->pad_left, p->pad_bottom, p->pad_right);
  if (p->groups < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, OP ": groups %d must be positive (0 means 1)",
                       p->groups);
  return CLSEG_OK;
}

/* Validates x, w and p (ctx may be NULL: the thread's error slot) and computes y's shape. */
static clseg_status shape_of(clseg_context *ctx, const int64_t *xs, const clseg_tensor *w,
                             const clseg_conv2d_params *p, int64_t out[4]) {
  if (!xs || !w)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, OP ": %s is NULL", !xs ? "input" : "weight");
  clseg_status s = check_params(ctx, p);
  if (s != CLSEG_OK)
    return s;
  const int64_t *ws = w->shape, g = or1(p->groups);
  if (xs[1] % g != 0 || ws[0] % g != 0)
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        OP ": groups %lld must divide the input channels (input %s) and the output channels "
           "(weight %s)",
        (long long)g, CLSEG__SHAPE(xs), CLSEG__SHAPE(ws));
  if (ws[1] * g != xs[1])
    return clseg__fail(
        ctx, CLSEG_SHAPE_MISMATCH,
        OP ": input %s has %lld channels, weight %s expects %lld (%lld per group x %lld groups)",
        CLSEG__SHAPE(xs), (long long)xs[1], CLSEG__SHAPE(ws), (long long)(ws[1] * g),
        (long long)ws[1], (long long)g);
  int64_t eh = xs[2] + p->pad_top + p->pad_bottom - (int64_t)or1(p->dilation_h) * (ws[2] - 1) - 1;
  int64_t ew = xs[3] + p->pad_left + p->pad_right - (int64_t)or1(p->dilation_w) * (ws[3] - 1) - 1;
  if (eh < 0 || ew < 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       OP ": the dilated kernel of weight %s is larger than the padded input %s",
                       CLSEG__SHAPE(ws), CLSEG__SHAPE(xs));
  out[0] = xs[0];
  out[1] = ws[0];
  out[2] = eh / or1(p->stride_h) + 1;
  out[3] = ew / or1(p->stride_w) + 1;
  return CLSEG_OK;
}

clseg_status clseg_conv2d_shape(const clseg_tensor *x, const clseg_tensor *w,
                                const clseg_conv2d_params *p, int64_t out[4]) {
  const clseg_conv2d_params none = {0};
  if (!out)
    return clseg__fail(x ? x->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       OP "_shape: NULL output argument");
  return shape_of(x ? x->ctx : NULL, x ? x->shape : NULL, w, p ? p : &none, out);
}

/* Validates what a prepare needs (the input's shape, weight, bias, parameters) and fills j's
 * geometry. */
static clseg_status job_of(clseg_context *ctx, const int64_t xs[4], const clseg_tensor *w,
                           const clseg_tensor *bias, const clseg_conv2d_params *p, conv_job *j) {
  int64_t ys[4];
  clseg_status s;
  memset(j, 0, sizeof *j);
  if ((s = clseg__check_tensor(ctx, OP, "weight", w)) != CLSEG_OK ||
      (s = shape_of(ctx, xs, w, p, ys)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, OP, "bias", bias, (size_t)ys[1])) != CLSEG_OK ||
      (s = clseg__act_resolve(ctx, OP, &p->act, &j->act, &j->alpha, &j->beta)) != CLSEG_OK)
    return s;
  *j = (conv_job){NULL,
                  w,
                  bias,
                  NULL,
                  NULL,
                  (int)ys[0],
                  (int)xs[1],
                  (int)xs[2],
                  (int)xs[3],
                  (int)ys[1],
                  (int)w->shape[2],
                  (int)w->shape[3],
                  or1(p->stride_h),
                  or1(p->stride_w),
                  or1(p->dilation_h),
                  or1(p->dilation_w),
                  p->pad_top,
                  p->pad_left,
                  p->pad_bottom,
                  p->pad_right,
                  or1(p->groups),
                  (int)ys[2],
                  (int)ys[3],
                  j->act,
                  j->alpha,
                  j->beta};
  return CLSEG_OK;
}

/* Checks a run's tensors against the prepared geometry and sets them in j. */
static clseg_status run_job(clseg_context *ctx, const conv_job *prepared, const clseg_tensor *x,
                            const clseg_tensor *res, clseg_tensor *y, conv_job *j) {
  const int64_t xs[4] = {prepared->n, prepared->cin, prepared->h, prepared->w_};
  const int64_t ys[4] = {prepared->n, prepared->cout, prepared->oh, prepared->ow};
  clseg_status s;
  if ((s = clseg__check_tensor(ctx, OP, "input", x)) != CLSEG_OK ||
      (s = clseg__check_output(ctx, OP, y, ys)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, OP, "residual", res, y->count)) != CLSEG_OK)
    return s;
  if (memcmp(x->shape, xs, sizeof xs) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       OP ": input has shape %s, the conv was prepared for %s", CLSEG__TSHAPE(x),
                       CLSEG__SHAPE(xs));
  *j = *prepared;
  j->x = x, j->res = res, j->y = y;
  return CLSEG_OK;
}

/* Geometry of the zero-padded input the vector kernels read: every tile's loads stay inside a row.
 */
static void pad_geometry(clseg__conv2d_prep *p, int tw, int tile_oh) {
  const conv_job *j = &p->j;
  clseg__conv_vec_state *vs = &p->u.vec;
  const int oh =
      (j->oh + tile_oh - 1) / tile_oh * tile_oh; /* rows the tiles read, the last one included */
  vs->tile_w = tw;
  vs->tiles_w = (j->ow + tw - 1) / tw;
  vs->wp = vs->tiles_w * tw * j->sw + (j->kw - 1) * j->dw;
  vs->hp = (oh - 1) * j->sh + (j->kh - 1) * j->dh + 1;
}

/* Builds conv2d_pad and reserves the padded input (scratch slot 0). */
static clseg_status pad_prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  const size_t planes = (size_t)p->j.n * (size_t)p->j.cin;
  clseg_status s = clseg__conv_helper(ctx, "conv2d_pad", &p->u.vec.pad, &p->t.helper_lws);
  return s != CLSEG_OK
             ? s
             : clseg__conv_scratch_reserve(ctx, p, 0,
                                           planes * (size_t)p->u.vec.hp * (size_t)p->u.vec.wp,
                                           "zero-padded input");
}

/* Pads j's input into xp, the buffer of scratch slot 0. */
static clseg_status pad_run(clseg_context *ctx, const clseg__conv2d_prep *p, const conv_job *j,
                            cl_mem xp) {
  return clseg__conv_pad_run(ctx, p->u.vec.pad, p->t.helper_lws, j, xp, p->u.vec.hp, p->u.vec.wp);
}

/* Builds kernel `name` of `file` with the -D options defs into p->u.vec.conv. */
static clseg_status build(clseg_context *ctx, clseg__conv2d_prep *p, const char *file,
                          const char *name, const clseg__define *defs, int ndefs) {
  return clseg__conv_build(ctx, p, file, name, defs, ndefs, 1, &p->u.vec.conv);
}

/* ---- variants ---- */

static int direct_supported(const conv_job *j) {
  (void)j;
  return 1;
}

static const char *const DIRECT_KEYS[] = {NULL, NULL, "LWS"};

static clseg_status direct_prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  clseg_status s = clseg__conv_tune(ctx, p, "conv2d_direct", DIRECT_KEYS, 3);
  const clseg__define d[] = {{"ACT", p->j.act}, {"LWS", p->t.lws}};
  return s == CLSEG_OK ? build(ctx, p, "conv_direct.cl", "conv2d_direct", d, CLSEG__COUNT(d)) : s;
}

static clseg_status direct_run(clseg_context *ctx, const clseg__conv2d_prep *p, const conv_job *j) {
  const int xoff = (int)j->x->offset, woff = (int)j->w->offset, yoff = (int)j->y->offset;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {
      CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),      CLSEG__ARG(j->cin),    CLSEG__ARG(j->h),
      CLSEG__ARG(j->w_),     CLSEG__ARG(j->w->buf), CLSEG__ARG(woff),      CLSEG__ARG(j->kh),
      CLSEG__ARG(j->kw),     CLSEG__ARG(j->sh),     CLSEG__ARG(j->sw),     CLSEG__ARG(j->dh),
      CLSEG__ARG(j->dw),     CLSEG__ARG(j->pt),     CLSEG__ARG(j->pl),     CLSEG__ARG(j->groups),
      CLSEG__ARG(b.buf),     CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(r.buf),
      CLSEG__ARG(r.off),     CLSEG__ARG(r.present), CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),
      CLSEG__ARG(j->cout),   CLSEG__ARG(j->oh),     CLSEG__ARG(j->ow),     CLSEG__ARG(j->alpha),
      CLSEG__ARG(j->beta)};
  const size_t lws = (size_t)p->t.lws;
  const size_t global[3] = {clseg__round_up((size_t)j->ow, lws), (size_t)j->oh,
                            (size_t)j->n * (size_t)j->cout};
  const size_t local[3] = {lws, 1, 1};
  return CLSEG__LAUNCH(ctx, p->u.vec.conv, "conv2d_direct", args, 3, global, local);
}

/* Tiles of 16 pixels where a row is that short, else 16 * NV (NV float16 per channel, the tuned
 * maximum). */
static int tile_vectors(const clseg__conv2d_prep *p) {
  return p->j.ow <= 16 ? 1 : p->t.nv;
}

static int geometry_options(const clseg__conv2d_prep *p, clseg__define *d) {
  const conv_job *j = &p->j;
  d[0] = (clseg__define){"ACT", j->act};
  d[1] = (clseg__define){"KH", j->kh};
  d[2] = (clseg__define){"KW", j->kw};
  d[3] = (clseg__define){"SH", j->sh};
  d[4] = (clseg__define){"SW", j->sw};
  d[5] = (clseg__define){"DH", j->dh};
  d[6] = (clseg__define){"DW", j->dw};
  d[7] = (clseg__define){"NV", tile_vectors(p)};
  d[8] = (clseg__define){"LWS", p->t.lws};
  return 9;
}

static int depthwise_supported(const conv_job *j) {
  return j->groups == j->cin && j->cout == j->cin;
}

static const char *const DEPTHWISE_KEYS[] = {NULL, "NV", "LWS", "GENERIC_MAX_OUTPUTS"};
enum { DW_GENERIC_MAX };

/* Small layers (at most the row's GENERIC_MAX_OUTPUTS outputs) run on programs shared with other
 * layers: None, ReLU, ReLU6 and Clip become one activation, the output kept within bounds given as
 * arguments (ACT_BOUNDS), and a depthwise conv's kernel size, vertical stride and dilations become
 * arguments (its loops over the kernel then stay loops). PoCL takes 0.2-0.9 s to build and compile
 * a program at the first run, which a layer this small never earns back. The person pipeline with
 * empty caches (2-core Xeon, PoCL 3.1): 26 programs -> 16, process CPU time 13-16 s -> 7 s; warm,
 * its landmark network 12.2 -> 12.7 ms (the depthwise loops). */
static int small_layer(const conv_job *j, double max) {
  return (double)j->n * j->cout * j->oh * j->ow <= max;
}

/* Whether activation kind has the bounds form, and its bounds. */
static int act_bounds(int kind, float alpha, float beta, float *lo, float *hi) {
  switch (kind) {
  case CLSEG_ACT_NONE: *lo = -INFINITY, *hi = INFINITY; return 1;
  case CLSEG_ACT_RELU: *lo = 0.0f, *hi = INFINITY; return 1;
  case CLSEG_ACT_RELU6: *lo = 0.0f, *hi = 6.0f; return 1;
  case CLSEG_ACT_CLIP: *lo = alpha, *hi = beta; return 1;
  default: return 0;
  }
}

/* For a small layer, the bounds form of its activation where it has one (the ACT option *act
 * rewritten); returns whether the layer is small. */
static int share_program(clseg__conv2d_prep *p, double max, clseg__define *act) {
  clseg__conv_vec_state *vs = &p->u.vec;
  const conv_job *j = &p->j;
  const int small = small_layer(j, max);
  vs->bounds = small && act_bounds(j->act, j->alpha, j->beta, &vs->lo, &vs->hi);
  if (vs->bounds)
    act->value = CLSEG__ACT_BOUNDS;
  return small;
}

static clseg_status depthwise_prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  clseg__define d[MAX_DEFS];
  clseg_status s = clseg__conv_tune(ctx, p, "conv2d_depthwise", DEPTHWISE_KEYS, 4);
  if (s != CLSEG_OK)
    return s;
  int n = geometry_options(p, d);
  p->u.vec.tile_w = 16 * tile_vectors(p);
  p->u.vec.tiles_w = (p->j.ow + p->u.vec.tile_w - 1) / p->u.vec.tile_w;
  if (share_program(p, p->t.v[DW_GENERIC_MAX], &d[0])) {
    const clseg__define g[] = {
        d[0], {"GEOMETRY_ARGS", 1}, {"LWS", p->t.lws}, {"NV", tile_vectors(p)}, {"SW", p->j.sw}};
    return build(ctx, p, "conv_depthwise_vec.cl", "conv2d_depthwise", g, CLSEG__COUNT(g));
  }
  return build(ctx, p, "conv_depthwise_vec.cl", "conv2d_depthwise", d, n);
}

static clseg_status depthwise_run(clseg_context *ctx, const clseg__conv2d_prep *p,
                                  const conv_job *j) {
  const clseg__conv_vec_state *vs = &p->u.vec;
  const int xoff = (int)j->x->offset, woff = (int)j->w->offset, yoff = (int)j->y->offset;
  const float alpha = vs->bounds ? vs->lo : j->alpha, beta = vs->bounds ? vs->hi : j->beta;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {
      CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),      CLSEG__ARG(j->h),      CLSEG__ARG(j->w_),
      CLSEG__ARG(j->pt),     CLSEG__ARG(j->pl),     CLSEG__ARG(j->w->buf), CLSEG__ARG(woff),
      CLSEG__ARG(b.buf),     CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(r.buf),
      CLSEG__ARG(r.off),     CLSEG__ARG(r.present), CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),
      CLSEG__ARG(j->cout),   CLSEG__ARG(j->oh),     CLSEG__ARG(j->ow),     CLSEG__ARG(vs->tiles_w),
      CLSEG__ARG(alpha),     CLSEG__ARG(beta),      CLSEG__ARG(j->kh),     CLSEG__ARG(j->kw),
      CLSEG__ARG(j->sh),     CLSEG__ARG(j->dh),     CLSEG__ARG(j->dw)};
  const size_t tiles = (size_t)j->oh * (size_t)vs->tiles_w;
  const size_t lws = (size_t)p->t.lws;
  const size_t global[3] = {clseg__round_up(tiles, lws), (size_t)j->cout, (size_t)j->n};
  const size_t local[3] = {lws, 1, 1};
  return CLSEG__LAUNCH(ctx, vs->conv, "conv2d_depthwise", args, 3, global, local);
}

static int vec_supported(const conv_job *j) {
  return j->groups == 1;
}

/* A 1x1 stride-1 unpadded conv reads the input in place as a GEMM: each channel one row of H*W
 * pixels. */
static int vec_flat(const conv_job *j) {
  return j->kh == 1 && j->kw == 1 && j->sh == 1 && j->sw == 1 && !j->pt && !j->pl && !j->pb &&
         !j->pr;
}

/* 1x1 convs read their input packed into one contiguous panel per pixel tile (conv2d_pack_input):
 * read in place, a tile's cin rows lie a plane apart, and planes of a 4 KiB multiple share cache
 * sets. A stride-1 unpadded conv of at most two channel blocks (a 64 -> 2 head) reads each panel
 * once or twice: there the copy would cost more than it saves. */
static int vec_packed(const conv_job *j, int mr) {
  return j->kh == 1 && j->kw == 1 && (!vec_flat(j) || j->cout > 2 * mr);
}

/* Rows of <= 16 pixels (deep layers) take two rows per tile: two pixel vectors per weight broadcast
 * keep the loop FMA-bound instead of load-bound. */
static int vec_tile_oh(const clseg__conv2d_prep *p) {
  const conv_job *j = &p->j;
  return p->t.nv >= 2 && !vec_flat(j) && !vec_packed(j, p->t.mr) && j->ow <= 16 && j->oh > 1 ? 2
                                                                                             : 1;
}

/* Dilated convs whose taps reach past the image (ASPP: dilation 12-18 on 32x32 maps) skip the
 * kernel rows that read only padding: a quarter to a third of their work at those rates. */
static int vec_skip_rows(const conv_job *j) {
  return j->kh > 1 && j->dh > 1 && (j->pt > 0 || j->pb > 0);
}

/* How conv2d_vec reads its input (p->u.vec.input). */
enum { VEC_PADDED, VEC_FLAT, VEC_PACKED };

/* Work order: neighbouring work-items in dimension 0 run close together in time and share what
 * they read. Pixel tiles first (the default) re-read the whole input once per channel block, which
 * is cheap while it stays in the last-level cache; a packed input beyond the row's
 * PIX_FIRST_MAX_BYTES (24 MiB on PoCL; Cin 2048 at 64x64: 32 MiB) is re-read from memory, so there
 * channel blocks go first and each tile's panel stays in L2 while every weight panel passes by.
 * ResNet-50's 2048 -> 512 1x1 convs on PoCL: 137 -> 190 GFLOP/s; at 16 MiB and below, pixel tiles
 * first were as fast or faster. */
enum { VEC_PIX_FIRST_MAX, VEC_GENERIC_MAX };

static int vec_pix_first(const clseg__conv2d_prep *p) {
  const conv_job *j = &p->j;
  const size_t bytes = (size_t)j->n * (size_t)p->u.vec.tiles_w * (size_t)p->u.vec.tile_w *
                       (size_t)j->cin * sizeof(float);
  return p->u.vec.input != VEC_PACKED || (double)bytes <= p->t.v[VEC_PIX_FIRST_MAX];
}
#define PACK_CPI 16 /* conv2d_pack_input: channels per work-item */

static const char *const VEC_KEYS[] = {"MR", "NV", "LWS", "PIX_FIRST_MAX_BYTES",
                                       "GENERIC_MAX_OUTPUTS"};

static clseg_status vec_prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  const conv_job *j = &p->j;
  clseg_status s = clseg__conv_tune(ctx, p, "conv2d_vec", VEC_KEYS, 5);
  if (s != CLSEG_OK)
    return s;
  const int mr = p->t.mr;
  const int mode = vec_packed(j, mr) ? VEC_PACKED : vec_flat(j) ? VEC_FLAT : VEC_PADDED;
  const int pixels = j->oh * j->ow;
  const int nv = mode == VEC_PADDED ? tile_vectors(p) : pixels <= 16 ? 1 : p->t.nv;
  const int khw = j->kh * j->kw, tw = vec_tile_oh(p) == 2 ? 16 : 16 * nv;
  p->u.vec.input = mode;
  if (mode == VEC_PADDED) {
    pad_geometry(p, tw, vec_tile_oh(p));
  } else {
    p->u.vec.tile_w = tw;
    p->u.vec.tiles_w = (pixels + tw - 1) / tw;
  }
  clseg__define d[MAX_DEFS];
  int n = geometry_options(p, d);
  d[7].value = vec_tile_oh(p) == 2 ? 2 : nv; /* NV (TILE_OH 2: the two rows' vectors) */
  if (mode == VEC_PACKED)
    d[3].value = d[4].value = 1; /* SH, SW: the pack applied the stride */
  share_program(p, p->t.v[VEC_GENERIC_MAX], &d[0]);
  d[n++] = (clseg__define){"MR", mr};
  d[n++] = (clseg__define){"PIX_FIRST", vec_pix_first(p)};
  d[n++] = (clseg__define){"SKIP_ROWS", vec_skip_rows(j)};
  d[n++] = (clseg__define){"TILE_OH", vec_tile_oh(p)};
  d[n++] = (clseg__define){"PACKED", mode == VEC_PACKED};
  s = build(ctx, p, "conv_vec.cl", "conv2d_vec", d, n);
  if (s == CLSEG_OK)
    s = clseg__conv2d_pack_weights(ctx, j->w->buf, (int)j->w->offset, j->cout, j->cin, khw,
                                   j->cin * khw, khw, mr, &p->wp);
  if (s != CLSEG_OK || mode == VEC_FLAT)
    return s;
  if (mode == VEC_PADDED)
    return pad_prepare(ctx, p);
  int pack_lws;
  if ((s = clseg__conv_helper(ctx, "conv2d_pack_input", &p->u.vec.pack_input, &pack_lws)) !=
      CLSEG_OK)
    return s;
  return clseg__conv_scratch_reserve(
      ctx, p, 0, (size_t)j->n * (size_t)p->u.vec.tiles_w * (size_t)tw * (size_t)j->cin,
      "packed input");
}

/* Packs j's input into xp, the buffer of scratch slot 0. */
static clseg_status pack_input_run(clseg_context *ctx, const clseg__conv2d_prep *p,
                                   const conv_job *j, cl_mem xp) {
  const clseg__conv_vec_state *vs = &p->u.vec;
  const int xoff = (int)j->x->offset, cpi = PACK_CPI;
  const clseg__arg args[] = {CLSEG__ARG(j->x->buf),  CLSEG__ARG(xoff),  CLSEG__ARG(j->cin),
                             CLSEG__ARG(j->h),       CLSEG__ARG(j->w_), CLSEG__ARG(j->sh),
                             CLSEG__ARG(j->sw),      CLSEG__ARG(j->pt), CLSEG__ARG(j->pl),
                             CLSEG__ARG(j->oh),      CLSEG__ARG(j->ow), CLSEG__ARG(vs->tiles_w),
                             CLSEG__ARG(vs->tile_w), CLSEG__ARG(cpi),   CLSEG__ARG(xp)};
  const size_t global[3] = {clseg__round_up((size_t)vs->tiles_w, 4),
                            (size_t)((j->cin + cpi - 1) / cpi), (size_t)j->n};
  const size_t local[3] = {4, 1, 1};
  return CLSEG__LAUNCH(ctx, vs->pack_input, "conv2d_pack_input", args, 3, global, local);
}

static clseg_status vec_launch(clseg_context *ctx, const clseg__conv2d_prep *p, const conv_job *j,
                               cl_mem xp, int xoff, int ns, int cs, int rs, int row_len, int oh,
                               int ow) {
  /* padded rows [row_lo, row_hi) hold the image: the others are zero (SKIP_ROWS) */
  const int row_lo = j->pt, row_hi = j->pt + j->h;
  const int cblocks = (j->cout + p->t.mr - 1) / p->t.mr, yoff = (int)j->y->offset;
  const int tiles_w = p->u.vec.tiles_w;
  const float alpha = p->u.vec.bounds ? p->u.vec.lo : j->alpha;
  const float beta = p->u.vec.bounds ? p->u.vec.hi : j->beta;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {
      CLSEG__ARG(xp),        CLSEG__ARG(xoff),      CLSEG__ARG(ns),      CLSEG__ARG(cs),
      CLSEG__ARG(rs),        CLSEG__ARG(row_len),   CLSEG__ARG(row_lo),  CLSEG__ARG(row_hi),
      CLSEG__ARG(p->wp),     CLSEG__ARG(j->cin),    CLSEG__ARG(cblocks), CLSEG__ARG(b.buf),
      CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(r.buf),   CLSEG__ARG(r.off),
      CLSEG__ARG(r.present), CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),    CLSEG__ARG(j->cout),
      CLSEG__ARG(oh),        CLSEG__ARG(ow),        CLSEG__ARG(tiles_w), CLSEG__ARG(alpha),
      CLSEG__ARG(beta)};
  const size_t toh = (size_t)vec_tile_oh(p), lws = (size_t)p->t.lws;
  const size_t tiles = ((size_t)oh + toh - 1) / toh * (size_t)tiles_w;
  const size_t pf = (size_t)vec_pix_first(p), first = pf ? tiles : (size_t)cblocks;
  const size_t global[3] = {clseg__round_up(first, lws), pf ? (size_t)cblocks : tiles,
                            (size_t)j->n};
  const size_t local[3] = {lws, 1, 1};
  return CLSEG__LAUNCH(ctx, p->u.vec.conv, "conv2d_vec", args, 3, global, local);
}

static clseg_status vec_run(clseg_context *ctx, const clseg__conv2d_prep *p, const conv_job *j) {
  const clseg__conv_vec_state *vs = &p->u.vec;
  const int hw = j->oh * j->ow, tw = vs->tile_w, panel = j->cin * tw;
  if (vs->input == VEC_FLAT)
    return vec_launch(ctx, p, j, j->x->buf, (int)j->x->offset, hw * j->cin, hw, hw, hw, 1, hw);
  cl_mem xp;
  clseg_status s = clseg__conv_scratch_get(ctx, p, 0, &xp);
  if (s == CLSEG_OK && vs->input == VEC_PACKED) {
    s = pack_input_run(ctx, p, j, xp);
    return s == CLSEG_OK ? vec_launch(ctx, p, j, xp, 0, vs->tiles_w * panel, tw, panel, 0, 1, hw)
                         : s;
  }
  const int wp = vs->wp, cs = vs->hp * wp;
  if (s == CLSEG_OK)
    s = pad_run(ctx, p, j, xp);
  return s == CLSEG_OK ? vec_launch(ctx, p, j, xp, 0, cs * j->cin, cs, wp, 0, j->oh, j->ow) : s;
}

static const clseg__conv_variant DIRECT = {"conv2d_direct", direct_supported, direct_prepare,
                                           direct_run, NULL};
static const clseg__conv_variant DEPTHWISE = {"conv2d_depthwise", depthwise_supported,
                                              depthwise_prepare, depthwise_run, NULL};
static const clseg__conv_variant VEC = {"conv2d_vec", vec_supported, vec_prepare, vec_run, NULL};

/* Every variant, for forcing one by name. */
static const clseg__conv_variant *const VARIANTS[] = {&DEPTHWISE,
                                                      &clseg__conv2d_depthwise_gpu,
                                                      &clseg__conv2d_winograd,
                                                      &clseg__conv2d_winograd2x2,
                                                      &clseg__conv2d_winograd_dilated,
                                                      &clseg__conv2d_winograd_gpu,
                                                      &clseg__conv2d_winograd2x2_gpu,
                                                      &VEC,
                                                      &clseg__conv2d_gemm,
                                                      &clseg__conv2d_clblast,
                                                      &DIRECT};
#define NVARIANTS (int)(sizeof VARIANTS / sizeof VARIANTS[0])

static const clseg__conv_variant *pick(const conv_job *j, const clseg__conv_rules *r,
                                       int low_memory) {
  if (r->dw_gpu && clseg__conv2d_depthwise_gpu.supported(j))
    return &clseg__conv2d_depthwise_gpu;
  if (DEPTHWISE.supported(j))
    return &DEPTHWISE;
  switch (clseg__conv2d_winograd_pick(j, r, low_memory)) {
  case 4: return r->wino_gpu ? &clseg__conv2d_winograd_gpu : &clseg__conv2d_winograd;
  case 2: return r->wino_gpu ? &clseg__conv2d_winograd2x2_gpu : &clseg__conv2d_winograd2x2;
  case 1:
    if (!r->wino_gpu) /* the mosaic's inner conv is CPU-shaped */
      return &clseg__conv2d_winograd_dilated;
    break;
  default: break;
  }
  if (r->gemm && clseg__conv2d_gemm.supported(j))
    return &clseg__conv2d_gemm;
  return VEC.supported(j) ? &VEC : &DIRECT;
}

static const clseg__conv_variant *by_name(const char *name);

/* "auto": the variant the user tuning file (clseg tune) measured fastest for this shape, else by
 * the conv2d row's rules: the specialised variants first and the generic baseline last. */
static clseg_status auto_variant(clseg_context *ctx, const conv_job *j, int low_memory,
                                 const clseg__conv_variant **out) {
  char shape[CLSEG__TUNE_SHAPE_LEN];
  clseg__conv_shape_key(j, shape, sizeof shape);
  /* low_memory keeps to the rules: a tuned choice may be a Winograd variant they refuse */
  const clseg__tune_row *tuned = low_memory ? NULL : clseg__tune_choice(ctx, OP, shape);
  const clseg__conv_variant *v = tuned ? by_name(tuned->variant) : NULL;
  if (v && v->supported(j)) {
    *out = v;
    return CLSEG_OK;
  }
  clseg__conv_rules r;
  clseg_status s = clseg__conv_rules_of(ctx, &r);
  if (s != CLSEG_OK)
    return s;
  *out = pick(j, &r, low_memory);
  return CLSEG_OK;
}

static const clseg__conv_variant *by_name(const char *name) {
  for (int i = 0; i < NVARIANTS; i++)
    if (!strcmp(name, VARIANTS[i]->name))
      return VARIANTS[i];
  return NULL;
}

static clseg_status select_variant(clseg_context *ctx, const conv_job *j, const char *want,
                                   int low_memory, const clseg__conv_variant **out) {
  if (!want || !*want || !strcmp(want, "auto"))
    return auto_variant(ctx, j, low_memory, out);
  for (int i = 0; i < NVARIANTS; i++) {
    if (strcmp(want, VARIANTS[i]->name) != 0)
      continue;
    if (!VARIANTS[i]->supported(j)) {
      const int64_t xs[4] = {j->n, j->cin, j->h, j->w_};
      return clseg__fail(
          ctx, CLSEG_UNSUPPORTED,
          OP ": variant '%s' does not support this conv (input %s, weight %s, groups %d)", want,
          CLSEG__SHAPE(xs), CLSEG__TSHAPE(j->w), j->groups);
    }
    *out = VARIANTS[i];
    return CLSEG_OK;
  }
  return clseg__fail(
      ctx, CLSEG_INVALID_ARGUMENT,
      OP ": unknown variant '%s' (known: auto, conv2d_depthwise, "
         "conv2d_depthwise_gpu, conv2d_winograd, conv2d_winograd2x2, "
         "conv2d_winograd_dilated, conv2d_winograd_gpu, conv2d_winograd2x2_gpu, conv2d_vec, "
         "conv2d_gemm, conv2d_clblast, conv2d_direct)",
      want);
}

/* ---- planned execution (lib/ops/conv.h); the eager call prepares, runs and frees ---- */

clseg_status clseg__conv2d_prepare(clseg_context *ctx, const int64_t xshape[4],
                                   const clseg_tensor *w, const clseg_tensor *bias,
                                   const clseg_conv2d_params *p, clseg__conv2d_prep **out) {
  return clseg__conv2d_prepare_ex(ctx, xshape, w, bias, p, 0, out);
}

clseg_status clseg__conv2d_prepare_ex(clseg_context *ctx, const int64_t xshape[4],
                                      const clseg_tensor *w, const clseg_tensor *bias,
                                      const clseg_conv2d_params *p, int low_memory,
                                      clseg__conv2d_prep **out) {
  const clseg_conv2d_params none = {0};
  conv_job j;
  const clseg__conv_variant *v = NULL;
  if (!ctx || !out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, OP ": NULL context or output");
  *out = NULL;
  if (!p)
    p = &none;
  clseg_status s = job_of(ctx, xshape, w, bias, p, &j);
  if (s == CLSEG_OK)
    s = select_variant(ctx, &j, p->variant, low_memory, &v);
  if (s != CLSEG_OK)
    return s;
  clseg__conv2d_prep *prep = calloc(1, sizeof *prep);
  if (!prep)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, OP ": out of host memory");
  prep->v = v;
  prep->j = j;
  s = v->prepare(ctx, prep);
  if (s != CLSEG_OK) {
    clseg__conv2d_prep_free(prep);
    return s;
  }
  *out = prep;
  return CLSEG_OK;
}

clseg_status clseg__conv2d_run(clseg_context *ctx, clseg__conv2d_prep *prep, const clseg_tensor *x,
                               const clseg_tensor *residual, clseg_tensor *y) {
  conv_job j;
  if (!prep)
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": no prepared conv");
  clseg_status s = run_job(ctx, &prep->j, x, residual, y, &j);
  return s == CLSEG_OK ? prep->v->run(ctx, prep, &j) : s;
}

const char *clseg__conv2d_prep_variant(const clseg__conv2d_prep *prep) {
  return prep ? prep->v->name : NULL;
}

void clseg__conv2d_prep_tuning(const clseg__conv2d_prep *prep, const char **options,
                               const char **rows) {
  *options = prep ? prep->t.options : NULL;
  *rows = prep ? prep->t.row : NULL;
}

clseg_status clseg_conv2d(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                          const clseg_tensor *bias, const clseg_tensor *residual,
                          const clseg_conv2d_params *p, clseg_tensor *y) {
  clseg__conv2d_prep *prep = NULL;
  clseg_status s;
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, OP ": NULL context");
  if ((s = clseg__check_tensor(ctx, OP, "input", x)) != CLSEG_OK)
    return s;
  if ((s = clseg__conv2d_prepare(ctx, x->shape, w, bias, p, &prep)) == CLSEG_OK)
    s = clseg__conv2d_run(ctx, prep, x, residual, y);
  clseg__conv2d_prep_free(prep);
  return s;
}
