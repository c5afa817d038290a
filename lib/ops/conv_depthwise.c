/* conv2d_depthwise_gpu host side: depthwise convs (groups == cin, cout a multiple of cin) as
 * work-groups of TX x TY work-items over 2-D output tiles, the input tile staged in __local memory
 * while it fits. Kernel: cl/conv_depthwise.cl. */
#include "common.h"
#include "conv.h"

/* Tuned cells (cl/tuning/conv.tsv): TX x TY the work-group, PX output columns per work-item,
 * LOCAL_MAX_BYTES the largest input tile staged in __local memory (0: never). */
static const char *const KEYS[] = {NULL, NULL, NULL, "TX", "TY", "PX", "LOCAL_MAX_BYTES"};
enum { T_TX, T_TY, T_PX, T_LOCAL_MAX };

static int supported(const clseg__conv_job *j) {
  return j->groups == j->cin && j->cout % j->cin == 0;
}

static clseg_status prepare(clseg_context *ctx, clseg__conv2d_prep *p) {
  const clseg__conv_job *j = &p->j;
  clseg_status s = clseg__conv_tune(ctx, p, p->v->name, KEYS, 7);
  if (s != CLSEG_OK)
    return s;
  const int tx = (int)p->t.v[T_TX], ty = (int)p->t.v[T_TY];
  /* a map no wider than one row of work-items would leave the extra columns idle */
  const int px = j->ow <= tx ? 1 : (int)p->t.v[T_PX];
  const double ith = (double)(ty - 1) * j->sh + (double)(j->kh - 1) * j->dh + 1;
  const double itw = (double)(tx * px - 1) * j->sw + (double)(j->kw - 1) * j->dw + 1;
  const int use_local = ith * itw * sizeof(float) <= p->t.v[T_LOCAL_MAX];
  CLSEG__CHECK(ctx, tx > 0 && ty > 0 && px > 0);
  p->u.dw_gpu.tx = tx, p->u.dw_gpu.ty = ty, p->u.dw_gpu.px = px;
  const clseg__define d[] = {{"ACT", j->act}, {"DH", j->dh}, {"DW", j->dw},           {"KH", j->kh},
                             {"KW", j->kw},   {"PX", px},    {"SH", j->sh},           {"SW", j->sw},
                             {"TX", tx},      {"TY", ty},    {"USE_LOCAL", use_local}};
  return clseg__conv_build(ctx, p, "conv_depthwise.cl", "conv2d_depthwise_gpu", d, CLSEG__COUNT(d),
                           1, &p->u.dw_gpu.conv);
}

static clseg_status run(clseg_context *ctx, const clseg__conv2d_prep *p, const clseg__conv_job *j) {
  const int xoff = (int)j->x->offset, woff = (int)j->w->offset, yoff = (int)j->y->offset;
  const int mult = j->cout / j->cin;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y), r = clseg__opt_of(j->res, j->y);
  const clseg__arg args[] = {
      CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),      CLSEG__ARG(j->cin),  CLSEG__ARG(j->h),
      CLSEG__ARG(j->w_),     CLSEG__ARG(j->w->buf), CLSEG__ARG(woff),    CLSEG__ARG(mult),
      CLSEG__ARG(j->pt),     CLSEG__ARG(j->pl),     CLSEG__ARG(b.buf),   CLSEG__ARG(b.off),
      CLSEG__ARG(b.present), CLSEG__ARG(r.buf),     CLSEG__ARG(r.off),   CLSEG__ARG(r.present),
      CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),      CLSEG__ARG(j->cout), CLSEG__ARG(j->oh),
      CLSEG__ARG(j->ow),     CLSEG__ARG(j->alpha),  CLSEG__ARG(j->beta)};
  const clseg__conv_depthwise_gpu_state *dw = &p->u.dw_gpu;
  const size_t tx = (size_t)dw->tx, ty = (size_t)dw->ty, px = (size_t)dw->px;
  const size_t tiles_w = ((size_t)j->ow + tx * px - 1) / (tx * px);
  /* channels in dim 2: CUDA caps a grid's z at 65535 work-groups, far above n * cout here */
  const size_t global[3] = {tiles_w * tx, clseg__round_up((size_t)j->oh, ty),
                            (size_t)j->n * (size_t)j->cout};
  const size_t local[3] = {tx, ty, 1};
  return CLSEG__LAUNCH(ctx, dw->conv, "conv2d_depthwise_gpu", args, 3, global, local);
}

const clseg__conv_variant clseg__conv2d_depthwise_gpu = {"conv2d_depthwise_gpu", supported, prepare,
                                                         run, NULL};
