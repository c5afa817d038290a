/* conv2d_gemm host side: the GPU-shaped implicit-GEMM conv (work-group tiles staged through __local
 * memory), its tunables, weight packing, and split-K for layers with too few output tiles. Kernels:
 * cl/conv_gemm.cl. */
#include <clblast_c.h>
#include <stdio.h>

#include "common.h"
#include "conv.h"
#include "tuning.h"

#define OP "conv2d"
/* local size of the packing and reduce kernels (their reqd_work_group_size) */
#define AUX_LOCAL 64

static const char *const TILE_KEYS[] = {"MWG", "NWG", "KWG", "MDIMC", "NDIMC", "VWM", "VWN"};
#define NTILE 7

/* conv2d_gemm's own cells after the tile: split K while a conv has fewer work-groups than
 * MIN_GROUPS, giving each split at least MIN_SPLIT_K of K. */
static const char *const SPLIT_KEYS[] = {"MIN_GROUPS", "MIN_SPLIT_K"};

static int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

/* A configuration the device cannot launch (from a tuning row meant for another device) is refused
 * here with its numbers, rather than as CL_INVALID_WORK_GROUP_SIZE or a failed build later. */
static clseg_status check_fit(clseg_context *ctx, const clseg__gemm_tile *t, const char *variant) {
  const size_t wgs = (size_t)t->mdimc * (size_t)t->ndimc;
  const uint64_t local = (uint64_t)t->kwg * (uint64_t)(t->mwg + t->nwg) * sizeof(float);
  if (wgs > ctx->info.max_work_group || local > ctx->info.local_mem)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED,
                       OP ": %s's work-groups of %zu work-items and %llu bytes of local "
                          "memory exceed the device's %zu and %llu",
                       variant, wgs, (unsigned long long)local, ctx->info.max_work_group,
                       (unsigned long long)ctx->info.local_mem);
  return CLSEG_OK;
}

clseg_status clseg__gemm_tile_get(clseg_context *ctx, clseg__conv2d_prep *p, const char *variant,
                                  const char *const *extra, int nextra, double *extra_v,
                                  clseg__gemm_tile *t) {
  const char *keys[NTILE + 4];
  double v[NTILE + 4];
  char shape[CLSEG__TUNE_SHAPE_LEN];
  clseg__tuned tuned;
  CLSEG__CHECK(ctx, nextra >= 0 && nextra <= 4);
  for (int i = 0; i < NTILE + nextra; i++)
    keys[i] = i < NTILE ? TILE_KEYS[i] : extra[i - NTILE];
  clseg__conv_shape_key(&p->j, shape, sizeof shape);
  clseg_status s = clseg__tune_get(ctx, variant, shape, keys, NTILE + nextra, v, &tuned);
  if (s != CLSEG_OK)
    return s;
  for (int i = 0; i < NTILE; i++)
    if (v[i] < 1 || v[i] > 65536 || v[i] != (double)(int)v[i])
      return clseg__fail(ctx, CLSEG_FORMAT,
                         "tuning: %s=%g of %s (%s) is not a whole number from 1 to 65536", keys[i],
                         v[i], variant, tuned.row->source);
  *t = (clseg__gemm_tile){(int)v[0], (int)v[1], (int)v[2], (int)v[3],
                          (int)v[4], (int)v[5], (int)v[6]};
  if (t->mwg % t->mdimc || t->nwg % t->ndimc || t->mwg % t->vwm || t->nwg % t->vwn)
    return clseg__fail(ctx, CLSEG_FORMAT,
                       "tuning: %s (%s): MWG %d / NWG %d must be multiples of MDIMC %d / "
                       "NDIMC %d and of VWM %d / VWN %d",
                       variant, tuned.row->source, t->mwg, t->nwg, t->mdimc, t->ndimc, t->vwm,
                       t->vwn);
  for (int i = 0; i < nextra; i++)
    extra_v[i] = v[NTILE + i];
  clseg__tuned_describe(&tuned, p->t.row, sizeof p->t.row);
  return check_fit(ctx, t, variant);
}

clseg_status clseg__gemm_kernels(clseg_context *ctx, clseg__conv2d_prep *p,
                                 const clseg__gemm_tile *t, const clseg__conv_job *g,
                                 cl_kernel *gemm, cl_kernel *reduce, cl_kernel *pack) {
  const clseg__define d[] = {
      {"ACT", g->act}, {"DH", g->dh},       {"DW", g->dw},   {"KH", g->kh},       {"KW", g->kw},
      {"KWG", t->kwg}, {"MDIMC", t->mdimc}, {"MWG", t->mwg}, {"NDIMC", t->ndimc}, {"NWG", t->nwg},
      {"SH", g->sh},   {"SW", g->sw},       {"VWM", t->vwm}, {"VWN", t->vwn}};
  clseg_status s =
      clseg__conv_build(ctx, p, "conv_gemm.cl", "conv2d_gemm", d, CLSEG__COUNT(d), 1, gemm);
  if (s == CLSEG_OK && reduce)
    s = clseg__kernel(ctx, "conv_gemm.cl", p->t.options, "conv2d_gemm_reduce", reduce);
  if (s == CLSEG_OK && pack)
    s = clseg__kernel(ctx, "conv_gemm.cl", p->t.options, "conv2d_gemm_pack", pack);
  return s;
}

static int supported(const clseg__conv_job *j) {
  (void)j; /* any geometry and any groups (offsets are ints, as in the other conv kernels) */
  return 1;
}

/* Split-K: when the output tiles alone leave the device idle, split K into slices of a KWG multiple
 * so that about min_groups work-groups run, each with at least min_split_k of K. */
static void split_k(clseg__gemm_grid *g, int groups, int kwg, int min_groups, int min_split_k) {
  const int tiles = g->mblocks * g->nblocks * groups;
  const int slices = g->kpad / kwg, min_slices = ceil_div(min_split_k, kwg);
  int splits = tiles < min_groups ? ceil_div(min_groups, tiles) : 1;
  if (splits > slices / min_slices)
    splits = slices / min_slices;
  if (splits < 1)
    splits = 1;
  g->kspan = ceil_div(slices, splits) * kwg;
  g->splits = ceil_div(g->kpad, g->kspan);
}

static clseg_status pack_weights(clseg_context *ctx, clseg__conv2d_prep *p, cl_kernel k) {
  const clseg__conv_job *j = &p->j;
  const int cout_g = j->cout / j->groups, kg = j->cin / j->groups * j->kh * j->kw;
  const clseg__conv_gemm_state *gs = &p->u.gemm;
  const size_t total =
      (size_t)j->groups * (size_t)gs->grid.mblocks * (size_t)gs->grid.kpad * (size_t)gs->tile.mwg;
  clseg_status s = clseg__conv_scratch(ctx, total, "packed weights", &p->wp);
  if (s != CLSEG_OK)
    return s;
  const int woff = (int)j->w->offset, tot = (int)total;
  const clseg__arg args[] = {CLSEG__ARG(j->w->buf),     CLSEG__ARG(woff),
                             CLSEG__ARG(cout_g),        CLSEG__ARG(kg),
                             CLSEG__ARG(gs->grid.kpad), CLSEG__ARG(gs->grid.mblocks),
                             CLSEG__ARG(p->wp),         CLSEG__ARG(tot)};
  const size_t global[1] = {clseg__round_up(total, AUX_LOCAL)}, local[1] = {AUX_LOCAL};
  return CLSEG__LAUNCH(ctx, k, "conv2d_gemm_pack", args, 1, global, local);
}

static clseg_status prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  const clseg__conv_job *j = &p->j;
  clseg__conv_gemm_state *gs = &p->u.gemm;
  double split[2];
  cl_kernel kp;
  clseg_status s = clseg__gemm_tile_get(ctx, p, "conv2d_gemm", SPLIT_KEYS, 2, split, &gs->tile);
  if (s == CLSEG_OK)
    s = clseg__gemm_kernels(ctx, p, &gs->tile, j, &gs->gemm, &gs->reduce, &kp);
  if (s != CLSEG_OK)
    return s;
  const clseg__gemm_tile *t = &gs->tile;
  const int kg = j->cin / j->groups * j->kh * j->kw, npix = j->n * j->oh * j->ow;
  gs->grid.mblocks = ceil_div(j->cout / j->groups, t->mwg);
  gs->grid.nblocks = ceil_div(npix, t->nwg);
  gs->grid.kpad = ceil_div(kg, t->kwg) * t->kwg;
  for (int i = 0; i < 2; i++)
    if (split[i] < 1 || split[i] > 1e9)
      return clseg__fail(ctx, CLSEG_FORMAT, "tuning: %s=%g of conv2d_gemm is not from 1 to 1e9",
                         SPLIT_KEYS[i], split[i]);
  split_k(&gs->grid, j->groups, t->kwg, (int)split[0], (int)split[1]);
  if ((s = pack_weights(ctx, p, kp)) != CLSEG_OK || gs->grid.splits == 1)
    return s;
  return clseg__conv_scratch_reserve(
      ctx, p, 0, (size_t)gs->grid.splits * (size_t)j->cout * (size_t)npix, "split-K partial sums");
}

static clseg_status run_reduce(clseg_context *ctx, const clseg__conv2d_prep *p,
                               const clseg__conv_job *j, cl_mem part) {
  const int yoff = (int)j->y->offset, ohw = j->oh * j->ow, npix = j->n * ohw;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {CLSEG__ARG(part),      CLSEG__ARG(p->u.gemm.grid.splits),
                             CLSEG__ARG(b.buf),     CLSEG__ARG(b.off),
                             CLSEG__ARG(b.present), CLSEG__ARG(r.buf),
                             CLSEG__ARG(r.off),     CLSEG__ARG(r.present),
                             CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),
                             CLSEG__ARG(j->cout),   CLSEG__ARG(ohw),
                             CLSEG__ARG(npix),      CLSEG__ARG(j->alpha),
                             CLSEG__ARG(j->beta)};
  const size_t global[2] = {clseg__round_up((size_t)npix, AUX_LOCAL), (size_t)j->cout};
  const size_t local[2] = {AUX_LOCAL, 1};
  return CLSEG__LAUNCH(ctx, p->u.gemm.reduce, "conv2d_gemm_reduce", args, 2, global, local);
}

clseg_status clseg__gemm_launch(clseg_context *ctx, const clseg__gemm_tile *tile, cl_kernel k,
                                const clseg__conv_job *j, cl_mem wp, const clseg__gemm_grid *grid,
                                cl_mem part) {
  const int xoff = (int)j->x->offset, yoff = (int)j->y->offset, npix = j->n * j->oh * j->ow;
  const int part_present = grid->splits > 1;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  if (!part_present)
    part = j->y->buf;
  const clseg__arg args[] = {
      CLSEG__ARG(j->x->buf),    CLSEG__ARG(xoff),        CLSEG__ARG(j->cin),
      CLSEG__ARG(j->h),         CLSEG__ARG(j->w_),       CLSEG__ARG(j->pt),
      CLSEG__ARG(j->pl),        CLSEG__ARG(wp),          CLSEG__ARG(grid->kpad),
      CLSEG__ARG(j->groups),    CLSEG__ARG(b.buf),       CLSEG__ARG(b.off),
      CLSEG__ARG(b.present),    CLSEG__ARG(r.buf),       CLSEG__ARG(r.off),
      CLSEG__ARG(r.present),    CLSEG__ARG(j->y->buf),   CLSEG__ARG(yoff),
      CLSEG__ARG(j->cout),      CLSEG__ARG(j->oh),       CLSEG__ARG(j->ow),
      CLSEG__ARG(npix),         CLSEG__ARG(grid->kspan), CLSEG__ARG(part),
      CLSEG__ARG(part_present), CLSEG__ARG(j->alpha),    CLSEG__ARG(j->beta)};
  const size_t ndimc = (size_t)tile->ndimc, mdimc = (size_t)tile->mdimc;
  const size_t global[3] = {(size_t)grid->nblocks * ndimc, (size_t)grid->mblocks * mdimc,
                            (size_t)j->groups * (size_t)grid->splits};
  const size_t local[3] = {ndimc, mdimc, 1};
  return CLSEG__LAUNCH(ctx, k, "conv2d_gemm", args, 3, global, local);
}

static clseg_status run(clseg_context *ctx, const clseg__conv2d_prep *p, const clseg__conv_job *j) {
  const clseg__conv_gemm_state *gs = &p->u.gemm;
  cl_mem part = NULL;
  clseg_status s = gs->grid.splits > 1 ? clseg__conv_scratch_get(ctx, p, 0, &part) : CLSEG_OK;
  if (s == CLSEG_OK)
    s = clseg__gemm_launch(ctx, &gs->tile, gs->gemm, j, p->wp, &gs->grid, part);
  return s == CLSEG_OK && gs->grid.splits > 1 ? run_reduce(ctx, p, j, part) : s;
}

const clseg__conv_variant clseg__conv2d_gemm = {"conv2d_gemm", supported, prepare, run, NULL};

/* ---- conv2d_clblast: a 1x1 conv as CLBlast's SGEMM (its own per-GPU tuning database), per image
 * Y = W X with W [cout][cin] and X [cin][HW], into the layout conv2d_gemm's split-K partials use,
 * then conv2d_gemm_reduce's epilogue (bias, residual, activation). On GPUs `clseg tune` times it
 * against conv2d_gemm per layer shape (cl/tuning/conv.space); no row chooses it by itself. ---- */

static int clblast_supported(const clseg__conv_job *j) {
  return j->kh == 1 && j->kw == 1 && j->sh == 1 && j->sw == 1 && !j->pt && !j->pl && !j->pb &&
         !j->pr && j->groups == 1;
}

static clseg_status clblast_prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  const clseg__conv_job *j = &p->j;
  const clseg__define d[] = {{"ACT", j->act}};
  char opts[64];
  if (!clseg__build_options(d, CLSEG__COUNT(d), opts, sizeof opts))
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", p->v->name);
  snprintf(p->t.options, sizeof p->t.options, "%s (and CLBlast's SGEMM)", opts);
  snprintf(p->t.row, sizeof p->t.row, "no cells; CLBlast's own tuning database");
  p->u.gemm.grid.splits = 1;
  clseg_status s =
      clseg__kernel(ctx, "conv_gemm.cl", opts, "conv2d_gemm_reduce", &p->u.gemm.reduce);
  const size_t npix = (size_t)j->n * (size_t)j->oh * (size_t)j->ow;
  return s == CLSEG_OK
             ? clseg__conv_scratch_reserve(ctx, p, 0, (size_t)j->cout * npix, "CLBlast product")
             : s;
}

static clseg_status clblast_run(clseg_context *ctx, const clseg__conv2d_prep *p,
                                const clseg__conv_job *j) {
  const size_t hw = (size_t)j->oh * (size_t)j->ow, npix = (size_t)j->n * hw;
  cl_mem part;
  clseg_status s = clseg__conv_scratch_get(ctx, p, 0, &part);
  for (int n = 0; n < j->n && s == CLSEG_OK; n++) {
    cl_command_queue queue = ctx->queue;
    cl_event event = NULL;
    /* row-major: W is cout x cin, X_n is cin x HW, the product goes to columns n * HW of part */
    const CLBlastStatusCode st =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, (size_t)j->cout,
                     hw, (size_t)j->cin, 1.0f, j->w->buf, j->w->offset, (size_t)j->cin, j->x->buf,
                     j->x->offset + (size_t)n * (size_t)j->cin * hw, hw, 0.0f, part, (size_t)n * hw,
                     npix, &queue, &event);
    if (event)
      clReleaseEvent(event);
    if (st != CLBlastSuccess)
      s = clseg__fail(ctx, CLSEG_OPENCL,
                      OP ": conv2d_clblast: CLBlastSgemm (M %d, N %zu, K %d) failed with CLBlast "
                         "status %d",
                      j->cout, hw, j->cin, (int)st);
    else
      ctx->stats.kernels_enqueued++;
  }
  return s == CLSEG_OK ? run_reduce(ctx, p, j, part) : s;
}

const clseg__conv_variant clseg__conv2d_clblast = {"conv2d_clblast", clblast_supported,
                                                   clblast_prepare, clblast_run, NULL};
