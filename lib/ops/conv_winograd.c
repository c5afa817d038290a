/* conv2d_winograd host side: 3x3 stride-1 convs as Winograd F(4x4, 3x3) (conv2d_winograd) or F(2x2,
 * 3x3) (conv2d_winograd2x2): weights transformed once per prep, then per band of tile rows an input
 * transform, E batched GEMMs and an output transform. Kernels: cl/conv_winograd.cl. */
#include <stdlib.h>

#include "common.h"
#include "conv.h"

#define OP "conv2d"
/* Tuned cells (cl/tuning/conv.tsv): MR GEMM output channels per work-item, NV float16 vectors of
 * tiles per work-item, LWS the GEMM's work-group size, BAND_BYTES the V and M of one band (about
 * one core's L2), MIN_TILES the fewest tiles of a band (enough work-items per GEMM). */
static const char *const KEYS[] = {"MR", "NV", "LWS", "BAND_BYTES", "MIN_TILES"};
enum { T_BAND_BYTES, T_MIN_TILES };

static int supported(const clseg__conv_job *j) {
  return j->kh == 3 && j->kw == 3 && j->sh == 1 && j->sw == 1 && j->dh == 1 && j->dw == 1 &&
         j->groups == 1;
}

/* A dilated 3x3 conv with "same" padding (padding = dilation), as in DeepLab's and FCN's dilated
 * ResNet stages and ASPP. */
static int dilated_supported(const clseg__conv_job *j) {
  const int d = j->dh;
  return j->kh == 3 && j->kw == 3 && j->sh == 1 && j->sw == 1 && d > 1 && j->dw == d &&
         j->pt == d && j->pl == d && j->pb == d && j->pr == d && j->groups == 1;
}

/* Sub-grid sides ceil(h / d) and the mosaic's sides d * s + d - 1 (one zero line between
 * sub-grids). */
static int sub_side(int n, int d) {
  return (n + d - 1) / d;
}
static int mosaic_side(int n, int d) {
  return d * sub_side(n, d) + d - 1;
}

/* The dilated variant pays a mosaic, its padding and the way back: measured on PoCL (Zen 4) it won
 * from 512 input channels (ResNet-50 layer4, dilation 2 and 4: 175-220 -> 290-450 GFLOP/s) and lost
 * at 256 (layer3 of FCN, 225 -> 185); sub-grids under 6 pixels waste too much on zero lines
 * (ASPP's rates 12 and 18 on 32x32 maps stay on conv2d_vec, which skips their padding rows). */
static int pick_fastest(const clseg__conv_job *j, const clseg__conv_rules *r) {
  if (!r->winograd || j->cin < r->wino_min_ch || j->cout < r->wino_min_ch)
    return 0;
  if (dilated_supported(j))
    return j->cin >= r->dil_min_cin && sub_side(j->oh, j->dh) >= r->dil_min_sub &&
                   sub_side(j->ow, j->dw) >= r->dil_min_sub
               ? 1
               : 0;
  if (!supported(j))
    return 0;
  return j->oh >= r->wino4_min_side && j->ow >= r->wino4_min_side ? 4 : 2;
}

/* Memory: F(4x4) and the dilated variant keep 4x a conv's weights, F(2x2) 16/9. A variant may add
 * up to WINO_EXTRA_BYTES (the conv2d row) per conv; beyond that, only when it saves at least
 * WINO_MIN_PAYOFF GFLOP
 * per extra MB (per weight: 2 * OH * OW FLOPs, of which F(4x4) saves about 3/4 and F(2x2) 5/9 for
 * 12 and 28/9 extra bytes), else the next smaller one. U-Net's 256-512 channel layers at 16-32
 * pixels step down to F(2x2) or conv2d_vec (-30 MB, +4% time at 256x256), DeepLabV3+'s 32x32
 * dilated layers to conv2d_vec (-170 MB, +2%); FCN's 64x64 layers keep theirs (0.3-0.5 GFLOP/MB).
 * With low_memory the payoff exception is off. */
static int worth_it(const clseg__conv_job *j, const clseg__conv_rules *r, int m, int low_memory) {
  const double weights = (double)j->cout * (double)j->cin * 9.0;
  const double extra = m == 2 ? 28.0 / 9.0 : 12.0, saved = m == 2 ? 5.0 / 9.0 : 0.75;
  if (weights * extra <= r->extra_bytes)
    return 1;
  const double gflop_per_mb = 1e-3 * 2.0 * (double)j->oh * (double)j->ow * saved / extra;
  return !low_memory && gflop_per_mb >= r->min_payoff;
}

int clseg__conv2d_winograd_pick(const clseg__conv_job *j, const clseg__conv_rules *r,
                                int low_memory) {
  const int m = pick_fastest(j, r);
  if (!m || worth_it(j, r, m, low_memory))
    return m;
  return m != 2 && supported(j) && worth_it(j, r, 2, low_memory) ? 2 : 0;
}

static size_t round_up(size_t x, size_t m) {
  return (x + m - 1) / m * m;
}

/* Bands of tile rows whose transformed input and output stay in cache, but with enough tiles to
 * fill the GEMM's work-items. */
static void band_geometry(clseg__conv2d_prep *p, int m) {
  const clseg__conv_job *j = &p->j;
  const int mr = p->t.mr, e = (m + 2) * (m + 2), cblocks = (j->cout + mr - 1) / mr;
  const int tiles_w = (j->ow + m - 1) / m, tiles_h = (j->oh + m - 1) / m;
  const size_t row_bytes =
      (size_t)e * (size_t)(j->cin + cblocks * mr) * (size_t)tiles_w * sizeof(float);
  const int min_tiles = (int)p->t.v[T_MIN_TILES];
  int rows = (int)(p->t.v[T_BAND_BYTES] / (double)row_bytes);
  if (rows * tiles_w < min_tiles)
    rows = (min_tiles + tiles_w - 1) / tiles_w;
  if (rows > tiles_h)
    rows = tiles_h;
  clseg__conv_winograd_state *w = &p->u.wino;
  w->m = m;
  w->cblocks = cblocks;
  w->tiles_w = tiles_w;
  w->tiles_h = tiles_h;
  w->band_rows = rows < 1 ? 1 : rows;
  w->tp = (int)round_up((size_t)w->band_rows * (size_t)tiles_w, 16 * (size_t)p->t.nv);
  /* the zero-padded input: every tile row, and room for the vector loads of the last 16 tiles of a
   * row */
  w->hp = tiles_h * m + 2;
  w->wp = tiles_w * m + m + 2;
}

static clseg_status transform_weights(clseg_context *ctx, clseg__conv2d_prep *p, cl_kernel k) {
  const clseg__conv_job *j = &p->j;
  const int e = (p->u.wino.m + 2) * (p->u.wino.m + 2), cblocks = p->u.wino.cblocks;
  const int woff = (int)j->w->offset, items = cblocks * p->t.mr * j->cin;
  clseg_status s = clseg__conv_scratch(ctx, (size_t)e * (size_t)items, "Winograd weights", &p->wp);
  if (s != CLSEG_OK)
    return s;
  const clseg__arg args[] = {CLSEG__ARG(j->w->buf), CLSEG__ARG(woff),    CLSEG__ARG(j->cout),
                             CLSEG__ARG(j->cin),    CLSEG__ARG(cblocks), CLSEG__ARG(p->wp)};
  const size_t global[1] = {round_up((size_t)items, 16)}, local[1] = {16};
  return CLSEG__LAUNCH(ctx, k, "conv2d_winograd_weights", args, 1, global, local);
}

static clseg_status prepare_m(clseg_context *ctx, clseg__conv2d_prep *p, int m) {
  const clseg__conv_job *j = &p->j;
  clseg__conv_winograd_state *w = &p->u.wino;
  clseg_status s = clseg__conv_tune(ctx, p, p->v->name, KEYS, 5);
  if (s != CLSEG_OK)
    return s;
  const clseg__define d[] = {
      {"ACT", j->act}, {"LWS", p->t.lws}, {"MR", p->t.mr}, {"NV", p->t.nv}, {"WINO_M", m}};
  const char *opts = p->t.options;
  cl_kernel kw;
  s = clseg__conv_build(ctx, p, "conv_winograd.cl", "conv2d_winograd_gemm", d, CLSEG__COUNT(d), 1,
                        &w->gemm);
  if (s == CLSEG_OK)
    s = clseg__kernel(ctx, "conv_winograd.cl", opts, "conv2d_winograd_input", &w->input);
  if (s == CLSEG_OK)
    s = clseg__kernel(ctx, "conv_winograd.cl", opts, "conv2d_winograd_output", &w->output);
  if (s == CLSEG_OK)
    s = clseg__kernel(ctx, "conv_winograd.cl", opts, "conv2d_winograd_weights", &kw);
  if (s == CLSEG_OK)
    s = clseg__conv_helper(ctx, "conv2d_pad", &w->pad, &p->t.helper_lws);
  if (s != CLSEG_OK)
    return s;
  band_geometry(p, m);
  const size_t e = (size_t)((m + 2) * (m + 2)), tp = (size_t)w->tp;
  const size_t padded = (size_t)j->n * (size_t)j->cin * (size_t)w->hp * (size_t)w->wp;
  if ((s = transform_weights(ctx, p, kw)) == CLSEG_OK &&
      (s = clseg__conv_scratch_reserve(ctx, p, 2, padded, "zero-padded input")) == CLSEG_OK &&
      (s = clseg__conv_scratch_reserve(ctx, p, 0, e * (size_t)j->cin * tp,
                                       "Winograd input tiles")) == CLSEG_OK)
    s = clseg__conv_scratch_reserve(ctx, p, 1, e * (size_t)w->cblocks * (size_t)p->t.mr * tp,
                                    "Winograd output tiles");
  return s;
}

static clseg_status prepare4(clseg_context *ctx, clseg__conv2d_prep *p) {
  return prepare_m(ctx, p, 4);
}
static clseg_status prepare2(clseg_context *ctx, clseg__conv2d_prep *p) {
  return prepare_m(ctx, p, 2);
}

/* sc: the buffers of the context's scratch slots 0-2 (input tiles, output tiles, padded input) */
static clseg_status run_pad(clseg_context *ctx, const clseg__conv2d_prep *p,
                            const clseg__conv_job *j, const cl_mem *sc) {
  return clseg__conv_pad_run(ctx, p->u.wino.pad, p->t.helper_lws, j, sc[2], p->u.wino.hp,
                             p->u.wino.wp);
}

static clseg_status run_input(clseg_context *ctx, const clseg__conv2d_prep *p,
                              const clseg__conv_job *j, const cl_mem *sc, int n, int row0,
                              int tiles, int used) {
  const clseg__conv_winograd_state *w = &p->u.wino;
  const int cs = w->hp * w->wp;
  cl_mem xp = sc[2];
  const int xoff = n * j->cin * cs;
  const clseg__arg args[] = {CLSEG__ARG(xp),    CLSEG__ARG(xoff),       CLSEG__ARG(cs),
                             CLSEG__ARG(w->wp), CLSEG__ARG(w->tiles_w), CLSEG__ARG(row0),
                             CLSEG__ARG(tiles), CLSEG__ARG(w->tp),      CLSEG__ARG(j->cin),
                             CLSEG__ARG(sc[0])};
  const size_t global[2] = {round_up((size_t)used / 16, 4), (size_t)j->cin}, local[2] = {4, 1};
  return CLSEG__LAUNCH(ctx, w->input, "conv2d_winograd_input", args, 2, global, local);
}

static clseg_status run_gemm(clseg_context *ctx, const clseg__conv2d_prep *p,
                             const clseg__conv_job *j, const cl_mem *sc, int used) {
  const clseg__conv_winograd_state *w = &p->u.wino;
  const int m = w->m;
  const clseg__arg args[] = {CLSEG__ARG(p->wp),  CLSEG__ARG(sc[0]),      CLSEG__ARG(sc[1]),
                             CLSEG__ARG(j->cin), CLSEG__ARG(w->cblocks), CLSEG__ARG(w->tp)};
  const size_t lws = (size_t)p->t.lws;
  const size_t global[3] = {round_up((size_t)used / (16 * (size_t)p->t.nv), lws),
                            (size_t)w->cblocks, (size_t)((m + 2) * (m + 2))};
  const size_t local[3] = {lws, 1, 1};
  return CLSEG__LAUNCH(ctx, w->gemm, "conv2d_winograd_gemm", args, 3, global, local);
}

static clseg_status run_output(clseg_context *ctx, const clseg__conv2d_prep *p,
                               const clseg__conv_job *j, const cl_mem *sc, int n, int row0,
                               int tiles, int used) {
  const clseg__conv_winograd_state *w = &p->u.wino;
  const int plane = j->cout * j->oh * j->ow, cpad = w->cblocks * p->t.mr;
  const int yoff = (int)j->y->offset + n * plane;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y);
  clseg__opt_arg r = clseg__opt_of(j->res, j->y);
  r.off += r.present ? n * plane : 0;
  const clseg__arg args[] = {
      CLSEG__ARG(sc[1]),     CLSEG__ARG(j->cout),   CLSEG__ARG(cpad),   CLSEG__ARG(w->tiles_w),
      CLSEG__ARG(row0),      CLSEG__ARG(tiles),     CLSEG__ARG(w->tp),  CLSEG__ARG(b.buf),
      CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(r.buf),  CLSEG__ARG(r.off),
      CLSEG__ARG(r.present), CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),   CLSEG__ARG(j->oh),
      CLSEG__ARG(j->ow),     CLSEG__ARG(j->alpha),  CLSEG__ARG(j->beta)};
  const size_t global[2] = {round_up((size_t)used / 16, 4), (size_t)j->cout}, local[2] = {4, 1};
  return CLSEG__LAUNCH(ctx, w->output, "conv2d_winograd_output", args, 2, global, local);
}

static clseg_status run(clseg_context *ctx, const clseg__conv2d_prep *p, const clseg__conv_job *j) {
  const clseg__conv_winograd_state *w = &p->u.wino;
  const int tiles_w = w->tiles_w, tiles_h = w->tiles_h, band = w->band_rows;
  cl_mem sc[3];
  clseg_status s = CLSEG_OK;
  for (int i = 0; i < 3 && s == CLSEG_OK; i++)
    s = clseg__conv_scratch_get(ctx, p, i, &sc[i]);
  if (s == CLSEG_OK)
    s = run_pad(ctx, p, j, sc);
  for (int n = 0; n < j->n && s == CLSEG_OK; n++)
    for (int row0 = 0; row0 < tiles_h && s == CLSEG_OK; row0 += band) {
      const int rows = tiles_h - row0 < band ? tiles_h - row0 : band, tiles = rows * tiles_w;
      const int used = (int)round_up((size_t)tiles, 16 * (size_t)p->t.nv);
      if ((s = run_input(ctx, p, j, sc, n, row0, tiles, used)) == CLSEG_OK &&
          (s = run_gemm(ctx, p, j, sc, used)) == CLSEG_OK)
        s = run_output(ctx, p, j, sc, n, row0, tiles, used);
    }
  return s;
}

/* ---- conv2d_winograd_dilated: the Winograd conv over the mosaic of the dilation's sub-grids ----
 */

static clseg_status prepare_dilated(clseg_context *ctx, clseg__conv2d_prep *p) {
  const clseg__conv_job *j = &p->j;
  const int d = j->dh, hm = mosaic_side(j->h, d), wm = mosaic_side(j->w_, d);
  clseg__conv_dilated_state *ds = &p->u.dilated;
  clseg__conv2d_prep *in = calloc(1, sizeof *in);
  if (!in)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, OP ": out of host memory");
  ds->inner = in;
  in->j = *j; /* a plain 3x3 conv over the mosaic; bias inside, residual and activation after */
  in->j.h = in->j.oh = hm;
  in->j.w_ = in->j.ow = wm;
  in->j.dh = in->j.dw = 1;
  in->j.pt = in->j.pl = in->j.pb = in->j.pr = 1;
  in->j.act = 0;
  clseg__conv_rules r;
  clseg_status s = clseg__conv_rules_of(ctx, &r);
  if (s != CLSEG_OK)
    return s;
  /* the inner tile by the conv2d row's rule for the mosaic's size */
  in->v = hm >= r.wino4_min_side && wm >= r.wino4_min_side ? &clseg__conv2d_winograd
                                                           : &clseg__conv2d_winograd2x2;
  ds->d = d;
  ds->hs = sub_side(j->h, d);
  ds->ws = sub_side(j->w_, d);
  ds->hm = hm;
  ds->wm = wm;
  const size_t plane = (size_t)j->n * (size_t)hm * (size_t)wm;
  s = in->v->prepare(ctx, in);
  if (s == CLSEG_OK)
    s = clseg__conv_helper(ctx, "conv2d_dilation_mosaic", &ds->mosaic, &p->t.helper_lws);
  if (s == CLSEG_OK)
    s = clseg__conv_helper(ctx, "conv2d_dilation_unmosaic", &ds->unmosaic, &p->t.helper_lws);
  if (s == CLSEG_OK)
    s = clseg__conv_scratch_reserve(ctx, p, 3, plane * (size_t)j->cin, "dilation mosaic");
  if (s == CLSEG_OK)
    s = clseg__conv_scratch_reserve(ctx, p, 4, plane * (size_t)j->cout, "output mosaic");
  p->t = in->t;   /* what the kernel list reports: the inner conv's rows and options */
  in->j.w = NULL; /* transformed: the inner conv runs from its packed copy, shared below */
  if (s == CLSEG_OK && in->wp && clRetainMemObject(in->wp) == CL_SUCCESS)
    p->wp = in->wp;
  return s;
}

static clseg_status run_mosaic(clseg_context *ctx, const clseg__conv2d_prep *p,
                               const clseg__conv_job *j, cl_mem xm) {
  const clseg__conv_dilated_state *ds = &p->u.dilated;
  const int xoff = (int)j->x->offset, rows = j->n * j->cin * ds->hm;
  const clseg__arg args[] = {CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),  CLSEG__ARG(j->h),
                             CLSEG__ARG(j->w_),     CLSEG__ARG(ds->d), CLSEG__ARG(ds->hs),
                             CLSEG__ARG(ds->ws),    CLSEG__ARG(xm),    CLSEG__ARG(ds->hm),
                             CLSEG__ARG(ds->wm),    CLSEG__ARG(rows)};
  const size_t lws = (size_t)p->t.helper_lws;
  const size_t global[1] = {round_up((size_t)rows, lws)}, local[1] = {lws};
  return CLSEG__LAUNCH(ctx, ds->mosaic, "conv2d_dilation_mosaic", args, 1, global, local);
}

static clseg_status run_unmosaic(clseg_context *ctx, const clseg__conv2d_prep *p,
                                 const clseg__conv_job *j, cl_mem ym) {
  const clseg__conv_dilated_state *ds = &p->u.dilated;
  const int rows = j->n * j->cout * j->oh, yoff = (int)j->y->offset;
  const clseg__opt_arg r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {CLSEG__ARG(ym),        CLSEG__ARG(ds->hm), CLSEG__ARG(ds->wm),
                             CLSEG__ARG(ds->d),     CLSEG__ARG(ds->hs), CLSEG__ARG(ds->ws),
                             CLSEG__ARG(r.buf),     CLSEG__ARG(r.off),  CLSEG__ARG(r.present),
                             CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),   CLSEG__ARG(j->oh),
                             CLSEG__ARG(j->ow),     CLSEG__ARG(j->act), CLSEG__ARG(j->alpha),
                             CLSEG__ARG(j->beta),   CLSEG__ARG(rows)};
  const size_t lws = (size_t)p->t.helper_lws;
  const size_t global[1] = {round_up((size_t)rows, lws)}, local[1] = {lws};
  return CLSEG__LAUNCH(ctx, ds->unmosaic, "conv2d_dilation_unmosaic", args, 1, global, local);
}

static clseg_status run_dilated(clseg_context *ctx, const clseg__conv2d_prep *p,
                                const clseg__conv_job *j) {
  const clseg__conv2d_prep *in = p->u.dilated.inner;
  cl_mem xm, ym;
  clseg_status s = clseg__conv_scratch_get(ctx, p, 3, &xm);
  if (s == CLSEG_OK)
    s = clseg__conv_scratch_get(ctx, p, 4, &ym);
  if (s != CLSEG_OK || (s = run_mosaic(ctx, p, j, xm)) != CLSEG_OK)
    return s;
  clseg_tensor tx = {.ctx = ctx, .buf = xm}, ty = {.ctx = ctx, .buf = ym};
  clseg__conv_job ij = in->j;
  ij.x = &tx;
  ij.y = &ty;
  ij.res = NULL;
  if ((s = in->v->run(ctx, in, &ij)) != CLSEG_OK)
    return s;
  return run_unmosaic(ctx, p, j, ym);
}

static void release_dilated(clseg__conv2d_prep *p) {
  clseg__conv2d_prep_free(p->u.dilated.inner);
}

const clseg__conv_variant clseg__conv2d_winograd = {"conv2d_winograd", supported, prepare4, run,
                                                    NULL};
const clseg__conv_variant clseg__conv2d_winograd2x2 = {"conv2d_winograd2x2", supported, prepare2,
                                                       run, NULL};
const clseg__conv_variant clseg__conv2d_winograd_dilated = {
    "conv2d_winograd_dilated", dilated_supported, prepare_dilated, run_dilated, release_dilated};
