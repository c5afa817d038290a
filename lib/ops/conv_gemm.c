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

/* Every tunable of conv2d_gemm: the kernel's -D macros and the host's split-K rule. */
typedef struct {
  int mwg, nwg, kwg; /* work-group tile: output channels, pixels, K-slice */
  int mdimc, ndimc;  /* work-group shape: work-items along channels and along pixels */
  int vwm, vwn;      /* __local vector widths along channels and pixels */
  int min_groups;    /* split K while a conv has fewer work-groups than this */
  int min_split_k;   /* ... but give each split at least this much K */
} gemm_tun;

/* prep->iv slots */
enum { GI_MBLOCKS, GI_NBLOCKS, GI_KPAD, GI_KSPAN, GI_SPLITS, GI_MWG, GI_NWG, GI_LOCAL };

/* The tunables from the conv2d_gemm row the device matches (cl/tuning/conv.tsv), or the user
 * tuning file's row for this layer shape; p->t.row names them. */
static clseg_status gemm_params(clseg_context *ctx, clseg__conv2d_prep *p, gemm_tun *t) {
  static const char *const keys[] = {"MWG", "NWG", "KWG",        "MDIMC",      "NDIMC",
                                     "VWM", "VWN", "MIN_GROUPS", "MIN_SPLIT_K"};
  double v[9];
  char shape[CLSEG__TUNE_SHAPE_LEN];
  clseg__tuned tuned;
  clseg__conv_shape_key(&p->j, shape, sizeof shape);
  clseg_status s = clseg__tune_get(ctx, "conv2d_gemm", shape, keys, 9, v, &tuned);
  if (s != CLSEG_OK)
    return s;
  *t = (gemm_tun){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4],
                  (int)v[5], (int)v[6], (int)v[7], (int)v[8]};
  for (int i = 0; i < 9; i++)
    if (v[i] < 1 || v[i] > 65536 || v[i] != (double)(int)v[i])
      return clseg__fail(ctx, CLSEG_FORMAT,
                         "tuning: %s=%g of conv2d_gemm (%s) is not a whole number "
                         "from 1 to 65536",
                         keys[i], v[i], tuned.row->source);
  if (t->mwg % t->mdimc || t->nwg % t->ndimc || t->mwg % t->vwm || t->nwg % t->vwn)
    return clseg__fail(ctx, CLSEG_FORMAT,
                       "tuning: conv2d_gemm (%s): MWG %d / NWG %d must be multiples of MDIMC %d / "
                       "NDIMC %d and of VWM %d / VWN %d",
                       tuned.row->source, t->mwg, t->nwg, t->mdimc, t->ndimc, t->vwm, t->vwn);
  clseg__tuned_describe(&tuned, p->t.row, sizeof p->t.row);
  return CLSEG_OK;
}

static int supported(const clseg__conv_job *j) {
  (void)j; /* any geometry and any groups (offsets are ints, as in the other conv kernels) */
  return 1;
}

static int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

/* Split-K: when the output tiles alone leave the device idle, split K into slices of a KWG multiple
 * so that about min_groups work-groups run, each with at least min_split_k of K. */
static void split_k(clseg__conv2d_prep *p, const gemm_tun *t) {
  const int tiles = p->iv[GI_MBLOCKS] * p->iv[GI_NBLOCKS] * p->j.groups;
  const int slices = p->iv[GI_KPAD] / t->kwg, min_slices = ceil_div(t->min_split_k, t->kwg);
  int splits = tiles < t->min_groups ? ceil_div(t->min_groups, tiles) : 1;
  if (splits > slices / min_slices)
    splits = slices / min_slices;
  if (splits < 1)
    splits = 1;
  p->iv[GI_KSPAN] = ceil_div(slices, splits) * t->kwg;
  p->iv[GI_SPLITS] = ceil_div(p->iv[GI_KPAD], p->iv[GI_KSPAN]);
}

static clseg_status pack_weights(clseg_context *ctx, clseg__conv2d_prep *p, cl_kernel k) {
  const clseg__conv_job *j = &p->j;
  const int cout_g = j->cout / j->groups, kg = j->cin / j->groups * j->kh * j->kw;
  const size_t total = (size_t)j->groups * (size_t)p->iv[GI_MBLOCKS] * (size_t)p->iv[GI_KPAD] *
                       (size_t)p->iv[GI_MWG];
  clseg_status s = clseg__conv_scratch(ctx, total, "packed weights", &p->wp);
  if (s != CLSEG_OK)
    return s;
  const int woff = (int)j->w->offset, tot = (int)total;
  const clseg__arg args[] = {CLSEG__ARG(j->w->buf),      CLSEG__ARG(woff),
                             CLSEG__ARG(cout_g),         CLSEG__ARG(kg),
                             CLSEG__ARG(p->iv[GI_KPAD]), CLSEG__ARG(p->iv[GI_MBLOCKS]),
                             CLSEG__ARG(p->wp),          CLSEG__ARG(tot)};
  const size_t global[1] = {clseg__round_up(total, AUX_LOCAL)}, local[1] = {AUX_LOCAL};
  return clseg__launch(ctx, k, "conv2d_gemm_pack", args, 8, 1, global, local);
}

/* A configuration the device cannot launch (from a tuning row meant for another device) is refused
 * here with its numbers, rather than as CL_INVALID_WORK_GROUP_SIZE or a failed build later. */
static clseg_status check_fit(clseg_context *ctx, const gemm_tun *t) {
  const size_t wgs = (size_t)t->mdimc * (size_t)t->ndimc;
  const uint64_t local = (uint64_t)t->kwg * (uint64_t)(t->mwg + t->nwg) * sizeof(float);
  if (wgs > ctx->info.max_work_group || local > ctx->info.local_mem)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED,
                       OP ": conv2d_gemm's work-groups of %zu work-items and %llu bytes of local "
                          "memory exceed the device's %zu and %llu",
                       wgs, (unsigned long long)local, ctx->info.max_work_group,
                       (unsigned long long)ctx->info.local_mem);
  return CLSEG_OK;
}

static clseg_status prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  const clseg__conv_job *j = &p->j;
  gemm_tun t;
  clseg_status s = gemm_params(ctx, p, &t);
  if (s == CLSEG_OK)
    s = check_fit(ctx, &t);
  if (s != CLSEG_OK)
    return s;
  const clseg__define d[] = {{"ACT", j->act},    {"DH", j->dh},  {"DW", j->dw},      {"KH", j->kh},
                             {"KW", j->kw},      {"KWG", t.kwg}, {"MDIMC", t.mdimc}, {"MWG", t.mwg},
                             {"NDIMC", t.ndimc}, {"NWG", t.nwg}, {"SH", j->sh},      {"SW", j->sw},
                             {"VWM", t.vwm},     {"VWN", t.vwn}};
  char opts[512];
  cl_kernel kp;
  if (!clseg__build_options(d, 14, opts, sizeof opts))
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", p->v->name);
  snprintf(p->t.options, sizeof p->t.options, "%s", opts);
  s = clseg__kernel(ctx, "conv_gemm.cl", opts, "conv2d_gemm", &p->k[0]);
  if (s == CLSEG_OK)
    s = clseg__kernel(ctx, "conv_gemm.cl", opts, "conv2d_gemm_reduce", &p->k[1]);
  if (s == CLSEG_OK)
    s = clseg__kernel(ctx, "conv_gemm.cl", opts, "conv2d_gemm_pack", &kp);
  if (s != CLSEG_OK)
    return s;
  const int kg = j->cin / j->groups * j->kh * j->kw, npix = j->n * j->oh * j->ow;
  p->iv[GI_MBLOCKS] = ceil_div(j->cout / j->groups, t.mwg);
  p->iv[GI_NBLOCKS] = ceil_div(npix, t.nwg);
  p->iv[GI_KPAD] = ceil_div(kg, t.kwg) * t.kwg;
  p->iv[GI_MWG] = t.mwg;
  p->iv[GI_NWG] = t.nwg;
  p->iv[GI_LOCAL] = t.ndimc | t.mdimc << 16;
  split_k(p, &t);
  if ((s = pack_weights(ctx, p, kp)) != CLSEG_OK || p->iv[GI_SPLITS] == 1)
    return s;
  return clseg__conv_scratch_reserve(
      ctx, p, 0, (size_t)p->iv[GI_SPLITS] * (size_t)j->cout * (size_t)npix, "split-K partial sums");
}

static clseg_status run_reduce(clseg_context *ctx, const clseg__conv2d_prep *p,
                               const clseg__conv_job *j, cl_mem part) {
  const int yoff = (int)j->y->offset, ohw = j->oh * j->ow, npix = j->n * ohw;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {CLSEG__ARG(part),  CLSEG__ARG(p->iv[GI_SPLITS]), CLSEG__ARG(b.buf),
                             CLSEG__ARG(b.off), CLSEG__ARG(b.present),        CLSEG__ARG(r.buf),
                             CLSEG__ARG(r.off), CLSEG__ARG(r.present),        CLSEG__ARG(j->y->buf),
                             CLSEG__ARG(yoff),  CLSEG__ARG(j->cout),          CLSEG__ARG(ohw),
                             CLSEG__ARG(npix),  CLSEG__ARG(j->alpha),         CLSEG__ARG(j->beta)};
  const size_t global[2] = {clseg__round_up((size_t)npix, AUX_LOCAL), (size_t)j->cout};
  const size_t local[2] = {AUX_LOCAL, 1};
  return clseg__launch(ctx, p->k[1], "conv2d_gemm_reduce", args, 15, 2, global, local);
}

static clseg_status run(clseg_context *ctx, const clseg__conv2d_prep *p, const clseg__conv_job *j) {
  const int xoff = (int)j->x->offset, yoff = (int)j->y->offset, npix = j->n * j->oh * j->ow;
  const int splits = p->iv[GI_SPLITS], part_present = splits > 1;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  cl_mem part = j->y->buf;
  clseg_status s = part_present ? clseg__conv_scratch_get(ctx, p, 0, &part) : CLSEG_OK;
  if (s != CLSEG_OK)
    return s;
  const clseg__arg args[] = {CLSEG__ARG(j->x->buf),       CLSEG__ARG(xoff),
                             CLSEG__ARG(j->cin),          CLSEG__ARG(j->h),
                             CLSEG__ARG(j->w_),           CLSEG__ARG(j->pt),
                             CLSEG__ARG(j->pl),           CLSEG__ARG(p->wp),
                             CLSEG__ARG(p->iv[GI_KPAD]),  CLSEG__ARG(j->groups),
                             CLSEG__ARG(b.buf),           CLSEG__ARG(b.off),
                             CLSEG__ARG(b.present),       CLSEG__ARG(r.buf),
                             CLSEG__ARG(r.off),           CLSEG__ARG(r.present),
                             CLSEG__ARG(j->y->buf),       CLSEG__ARG(yoff),
                             CLSEG__ARG(j->cout),         CLSEG__ARG(j->oh),
                             CLSEG__ARG(j->ow),           CLSEG__ARG(npix),
                             CLSEG__ARG(p->iv[GI_KSPAN]), CLSEG__ARG(part),
                             CLSEG__ARG(part_present),    CLSEG__ARG(j->alpha),
                             CLSEG__ARG(j->beta)};
  const size_t ndimc = (size_t)(p->iv[GI_LOCAL] & 0xffff), mdimc = (size_t)(p->iv[GI_LOCAL] >> 16);
  const size_t global[3] = {(size_t)p->iv[GI_NBLOCKS] * ndimc, (size_t)p->iv[GI_MBLOCKS] * mdimc,
                            (size_t)j->groups * (size_t)splits};
  const size_t local[3] = {ndimc, mdimc, 1};
  s = clseg__launch(ctx, p->k[0], "conv2d_gemm", args, 27, 3, global, local);
  return s == CLSEG_OK && part_present ? run_reduce(ctx, p, j, part) : s;
}

const clseg__conv_variant clseg__conv2d_gemm = {"conv2d_gemm", supported, prepare, run};

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
  if (!clseg__build_options(d, 1, opts, sizeof opts))
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", p->v->name);
  snprintf(p->t.options, sizeof p->t.options, "%s (and CLBlast's SGEMM)", opts);
  snprintf(p->t.row, sizeof p->t.row, "no cells; CLBlast's own tuning database");
  p->iv[GI_SPLITS] = 1;
  clseg_status s = clseg__kernel(ctx, "conv_gemm.cl", opts, "conv2d_gemm_reduce", &p->k[1]);
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
                                                   clblast_prepare, clblast_run};
