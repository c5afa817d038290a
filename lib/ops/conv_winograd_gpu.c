/* conv2d_winograd_gpu host side: 3x3 stride-1 convs as Winograd F(4x4, 3x3)
 * (conv2d_winograd_gpu) or F(2x2, 3x3) (conv2d_winograd2x2_gpu) in GPU shape. The weights are
 * transformed once per prep straight into conv2d_gemm's packed panels; per band of tiles (the
 * whole batch numbered as one) an input transform, the WE batched GEMMs as one grouped 1x1 conv on
 * conv2d_gemm's tiled kernel, and an output transform with bias, residual and activation.
 * Kernels: cl/conv_winograd_gpu.cl and cl/conv_gemm.cl. */
#include "common.h"
#include "conv.h"

#define OP     "conv2d"
#define TLOCAL 64 /* the transforms' work-group size (TLOCAL in cl/conv_winograd_gpu.cl) */

/* Cells after the GEMM tile: BAND_BYTES of transformed input and output per band (V and M: the
 * scratch the conv needs), MIN_TILES the fewest tiles of a band. */
static const char *const BAND_KEYS[] = {"BAND_BYTES", "MIN_TILES"};

static int supported(const clseg__conv_job *j) {
  return j->kh == 3 && j->kw == 3 && j->sh == 1 && j->sw == 1 && j->dh == 1 && j->dw == 1 &&
         j->groups == 1;
}

static int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

/* The tiles of the batch and of one band: bands as large as BAND_BYTES of V and M allow, at least
 * MIN_TILES, rounded to whole GEMM tiles. */
static clseg_status band_geometry(clseg_context *ctx, clseg__conv2d_prep *p, int m,
                                  const double *band) {
  const clseg__conv_job *j = &p->j;
  clseg__conv_winograd_gpu_state *w = &p->u.wino_gpu;
  const int nwg = w->batched.tile.nwg;
  if (!(band[0] >= 1 && band[0] <= 1e12 && band[1] >= 1 && band[1] <= 1e9))
    return clseg__fail(ctx, CLSEG_FORMAT,
                       "tuning: BAND_BYTES=%g / MIN_TILES=%g of %s (%s) out of range", band[0],
                       band[1], p->v->name, p->t.row);
  const int e = (m + 2) * (m + 2), tiles_w = ceil_div(j->ow, m);
  const int tiles_img = tiles_w * ceil_div(j->oh, m), total = j->n * tiles_img;
  const double tile_bytes = (double)e * (double)(j->cin + j->cout) * sizeof(float);
  double tiles = band[0] / tile_bytes;
  if (tiles < band[1])
    tiles = band[1];
  if (tiles > total)
    tiles = total;
  int b = (int)tiles;
  if (b < total)
    b = b / nwg * nwg > 0 ? b / nwg * nwg : nwg;
  w->m = m;
  w->tiles_w = tiles_w;
  w->tiles_img = tiles_img;
  w->band = b < total ? b : total;
  return CLSEG_OK;
}

/* The batched GEMM seen as a conv: a grouped 1x1 conv with one group per e over V laid out as one
 * image of WE * cin channels and 1 x tiles pixels. */
static clseg__conv_job gemm_job(const clseg__conv2d_prep *p, int tiles) {
  const int e = (p->u.wino_gpu.m + 2) * (p->u.wino_gpu.m + 2);
  clseg__conv_job g = {0};
  g.n = 1;
  g.cin = e * p->j.cin;
  g.cout = e * p->j.cout;
  g.h = g.oh = 1;
  g.w_ = g.ow = tiles;
  g.kh = g.kw = g.sh = g.sw = g.dh = g.dw = 1;
  g.groups = e;
  return g;
}

static clseg_status transform_weights(clseg_context *ctx, clseg__conv2d_prep *p, cl_kernel k) {
  const clseg__conv_job *j = &p->j;
  const clseg__gemm_grid *grid = &p->u.wino_gpu.batched.grid;
  const int e = (p->u.wino_gpu.m + 2) * (p->u.wino_gpu.m + 2);
  const int mwg = p->u.wino_gpu.batched.tile.mwg;
  const int items = mwg * grid->mblocks * grid->kpad, woff = (int)j->w->offset;
  clseg_status s = clseg__conv_scratch(ctx, (size_t)e * (size_t)items, "Winograd weights", &p->wp);
  if (s != CLSEG_OK)
    return s;
  const clseg__arg args[] = {CLSEG__ARG(j->w->buf),  CLSEG__ARG(woff), CLSEG__ARG(j->cout),
                             CLSEG__ARG(j->cin),     CLSEG__ARG(mwg),  CLSEG__ARG(grid->mblocks),
                             CLSEG__ARG(grid->kpad), CLSEG__ARG(p->wp)};
  const size_t global[1] = {clseg__round_up((size_t)items, TLOCAL)}, local[1] = {TLOCAL};
  return CLSEG__LAUNCH(ctx, k, "conv2d_winograd_gpu_weights", args, 1, global, local);
}

static clseg_status prepare_m(clseg_context *ctx, clseg__conv2d_prep *p, int m) {
  const clseg__conv_job *j = &p->j;
  clseg__conv_winograd_gpu_state *w = &p->u.wino_gpu;
  clseg__conv_gemm_state *gs = &w->batched;
  double band[2];
  char opts[64];
  cl_kernel kw;
  clseg_status s = clseg__gemm_tile_get(ctx, p, p->v->name, BAND_KEYS, 2, band, &gs->tile);
  if (s == CLSEG_OK)
    s = band_geometry(ctx, p, m, band);
  if (s != CLSEG_OK)
    return s;
  const clseg__conv_job g = gemm_job(p, w->band);
  const clseg__define d[] = {{"ACT", j->act}, {"WINO_M", m}};
  if (!clseg__build_options(d, CLSEG__COUNT(d), opts, sizeof opts))
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", p->v->name);
  if ((s = clseg__gemm_kernels(ctx, p, &gs->tile, &g, &gs->gemm, NULL, NULL)) != CLSEG_OK ||
      (s = clseg__kernel(ctx, "conv_winograd_gpu.cl", opts, "conv2d_winograd_gpu_input",
                         &w->input)) != CLSEG_OK ||
      (s = clseg__kernel(ctx, "conv_winograd_gpu.cl", opts, "conv2d_winograd_gpu_output",
                         &w->output)) != CLSEG_OK ||
      (s = clseg__kernel(ctx, "conv_winograd_gpu.cl", opts, "conv2d_winograd_gpu_weights", &kw)) !=
          CLSEG_OK)
    return s;
  gs->grid = (clseg__gemm_grid){.mblocks = ceil_div(j->cout, gs->tile.mwg),
                                .kpad = ceil_div(j->cin, gs->tile.kwg) * gs->tile.kwg,
                                .splits = 1};
  gs->grid.kspan = gs->grid.kpad;
  const size_t e = (size_t)((m + 2) * (m + 2)), tiles = (size_t)w->band;
  if ((s = transform_weights(ctx, p, kw)) == CLSEG_OK &&
      (s = clseg__conv_scratch_reserve(ctx, p, 0, e * (size_t)j->cin * tiles,
                                       "Winograd input tiles")) == CLSEG_OK)
    s = clseg__conv_scratch_reserve(ctx, p, 1, e * (size_t)j->cout * tiles,
                                    "Winograd output tiles");
  return s;
}

static clseg_status prepare4(clseg_context *ctx, clseg__conv2d_prep *p) {
  return prepare_m(ctx, p, 4);
}
static clseg_status prepare2(clseg_context *ctx, clseg__conv2d_prep *p) {
  return prepare_m(ctx, p, 2);
}

static clseg_status run_input(clseg_context *ctx, const clseg__conv2d_prep *p,
                              const clseg__conv_job *j, cl_mem v, int t0, int tiles) {
  const int xoff = (int)j->x->offset;
  const clseg__arg args[] = {CLSEG__ARG(j->x->buf),
                             CLSEG__ARG(xoff),
                             CLSEG__ARG(j->cin),
                             CLSEG__ARG(j->h),
                             CLSEG__ARG(j->w_),
                             CLSEG__ARG(j->pt),
                             CLSEG__ARG(j->pl),
                             CLSEG__ARG(p->u.wino_gpu.tiles_w),
                             CLSEG__ARG(p->u.wino_gpu.tiles_img),
                             CLSEG__ARG(t0),
                             CLSEG__ARG(tiles),
                             CLSEG__ARG(v)};
  const size_t global[2] = {clseg__round_up((size_t)tiles, TLOCAL), (size_t)j->cin};
  const size_t local[2] = {TLOCAL, 1};
  return CLSEG__LAUNCH(ctx, p->u.wino_gpu.input, "conv2d_winograd_gpu_input", args, 2, global,
                       local);
}

static clseg_status run_gemm(clseg_context *ctx, const clseg__conv2d_prep *p, cl_mem v, cl_mem mo,
                             int tiles) {
  clseg__conv_job g = gemm_job(p, tiles);
  clseg_tensor tv = {.buf = v}, tm = {.buf = mo};
  g.x = &tv;
  g.y = &tm;
  const clseg__conv_gemm_state *gs = &p->u.wino_gpu.batched;
  clseg__gemm_grid grid = gs->grid;
  grid.nblocks = ceil_div(tiles, gs->tile.nwg);
  return clseg__gemm_launch(ctx, &gs->tile, gs->gemm, &g, p->wp, &grid, NULL);
}

static clseg_status run_output(clseg_context *ctx, const clseg__conv2d_prep *p,
                               const clseg__conv_job *j, cl_mem mo, int t0, int tiles) {
  const int yoff = (int)j->y->offset;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {CLSEG__ARG(mo),
                             CLSEG__ARG(j->cout),
                             CLSEG__ARG(p->u.wino_gpu.tiles_w),
                             CLSEG__ARG(p->u.wino_gpu.tiles_img),
                             CLSEG__ARG(t0),
                             CLSEG__ARG(tiles),
                             CLSEG__ARG(b.buf),
                             CLSEG__ARG(b.off),
                             CLSEG__ARG(b.present),
                             CLSEG__ARG(r.buf),
                             CLSEG__ARG(r.off),
                             CLSEG__ARG(r.present),
                             CLSEG__ARG(j->y->buf),
                             CLSEG__ARG(yoff),
                             CLSEG__ARG(j->oh),
                             CLSEG__ARG(j->ow),
                             CLSEG__ARG(j->alpha),
                             CLSEG__ARG(j->beta)};
  const size_t global[2] = {clseg__round_up((size_t)tiles, TLOCAL), (size_t)j->cout};
  const size_t local[2] = {TLOCAL, 1};
  return CLSEG__LAUNCH(ctx, p->u.wino_gpu.output, "conv2d_winograd_gpu_output", args, 2, global,
                       local);
}

static clseg_status run(clseg_context *ctx, const clseg__conv2d_prep *p, const clseg__conv_job *j) {
  const int total = j->n * p->u.wino_gpu.tiles_img, band = p->u.wino_gpu.band;
  cl_mem v, mo;
  clseg_status s = clseg__conv_scratch_get(ctx, p, 0, &v);
  if (s == CLSEG_OK)
    s = clseg__conv_scratch_get(ctx, p, 1, &mo);
  for (int t0 = 0; t0 < total && s == CLSEG_OK; t0 += band) {
    const int tiles = total - t0 < band ? total - t0 : band;
    if ((s = run_input(ctx, p, j, v, t0, tiles)) == CLSEG_OK &&
        (s = run_gemm(ctx, p, v, mo, tiles)) == CLSEG_OK)
      s = run_output(ctx, p, j, mo, t0, tiles);
  }
  return s;
}

const clseg__conv_variant clseg__conv2d_winograd_gpu = {"conv2d_winograd_gpu", supported, prepare4,
                                                        run, NULL};
const clseg__conv_variant clseg__conv2d_winograd2x2_gpu = {"conv2d_winograd2x2_gpu", supported,
                                                           prepare2, run, NULL};
