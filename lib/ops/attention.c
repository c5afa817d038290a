/* Host side of the attention family (cl/attention.cl): CBAM channel and spatial gates, SE, scSE and
 * the additive attention gate, each a few fused kernels chained on the queue with no host round
 * trip. */
#include <stdio.h>
#include <string.h>

#include "common.h"

#define ATT_FILE "attention.cl"

/* An optional tensor as kernel arguments: a buffer (x's when absent), an offset and a presence
 * flag. */
typedef struct {
  cl_mem buf;
  int off, has;
} att_opt;

static att_opt opt_of(const clseg_tensor *t, cl_mem fallback) {
  att_opt o = {fallback, 0, 0};
  if (t) {
    o.buf = t->buf;
    o.off = (int)t->offset;
    o.has = 1;
  }
  return o;
}

/* Kernel `name` of the attention program, built with the attention row's work-group sizes
 * (cl/tuning/attention.tsv: the family's build options, so one program serves all its kernels), and
 * its work-group size in *wg: MLP_WG for attention_mlp, LOCAL for the others. For a kernel with a
 * GPU form (gpu not NULL), the row's GPU cell chooses `name`_gpu (1) or `name` (0) into *gpu. */
static clseg_status att_kernel(clseg_context *ctx, const char *name, cl_kernel *k, size_t *wg,
                               int *gpu) {
  static const char *const keys[] = {"LOCAL", "MLP_WG"};
  int tv[2], form = 0;
  clseg_status s = clseg__tune_sizes(ctx, "attention", keys, 2, tv);
  if (s == CLSEG_OK && gpu)
    s = clseg__tune_gpu(ctx, "attention", &form);
  if (s != CLSEG_OK)
    return s;
  const size_t local = clseg__fit_local(ctx, (size_t)tv[0]),
               mlp = clseg__fit_local(ctx, (size_t)tv[1]);
  const clseg__define defs[] = {{"LOCAL", (long)local}, {"MLP_WG", (long)mlp}};
  char opts[64];
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  *wg = strcmp(name, "attention_mlp") ? local : mlp;
  char full[48];
  CLSEG__CHECK(ctx,
               snprintf(full, sizeof full, "%s%s", name, form ? "_gpu" : "") < (int)sizeof full);
  if (gpu)
    *gpu = form;
  return clseg__kernel(ctx, ATT_FILE, opts, full, k);
}

/* A device scratch buffer of `floats` floats; released by the caller once the kernels are enqueued
 * (OpenCL keeps it alive until the commands that use it finish). */
static clseg_status scratch_create(clseg_context *ctx, const char *op, size_t floats, cl_mem *out) {
  cl_int err;
  *out = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, floats * sizeof(float), NULL, &err);
  if (err != CL_SUCCESS) {
    *out = NULL;
    return clseg__cl_fail(ctx, err, "%s: allocating %zu bytes of scratch", op,
                          floats * sizeof(float));
  }
  return CLSEG_OK;
}

static int64_t squeeze(const int64_t s[], int n, int64_t out[4]) {
  int64_t m = 0;
  for (int i = 0; i < n; i++)
    if (s[i] != 1)
      out[m++] = s[i];
  return m;
}

/* True when t's shape equals [rows, cols] once dims of 1 are dropped: a matrix may come as
 * [1, 1, rows, cols] (right-aligned) or [rows, cols, 1, 1] (a 1x1 conv weight). */
static int is_matrix(const clseg_tensor *t, int64_t rows, int64_t cols) {
  const int64_t want[2] = {rows, cols};
  int64_t a[4], b[4];
  int64_t na = squeeze(t->shape, 4, a), nb = squeeze(want, 2, b);
  return na == nb && memcmp(a, b, sizeof(int64_t) * (size_t)na) == 0;
}

typedef struct {
  const clseg_tensor *w1, *b1, *w2, *b2;
} att_mlp;

/* Checks x, y and the MLP; writes R (w1's rows). */
static clseg_status check_mlp(clseg_context *ctx, const char *op, const clseg_tensor *x,
                              const att_mlp *m, const clseg_tensor *y, int64_t *r) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: NULL context", op);
  clseg_status s;
  if ((s = clseg__check_tensor(ctx, op, "input x", x)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "w1", m->w1)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "w2", m->w2)) != CLSEG_OK)
    return s;
  const int64_t c = x->shape[1];
  *r = (int64_t)m->w1->count / c;
  if ((int64_t)m->w1->count % c != 0 || !is_matrix(m->w1, *r, c))
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: w1 has shape %s, expected [R, C] with C = %lld, the channels of x %s",
                       op, CLSEG__TSHAPE(m->w1), (long long)c, CLSEG__TSHAPE(x));
  if (!is_matrix(m->w2, c, *r))
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: w2 has shape %s, expected [C, R] = [%lld, %lld]", op,
                       CLSEG__TSHAPE(m->w2), (long long)c, (long long)*r);
  if ((s = clseg__check_optional(ctx, op, "b1", m->b1, (size_t)*r)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, op, "b2", m->b2, (size_t)c)) != CLSEG_OK)
    return s;
  return clseg__check_output(ctx, op, y, x->shape);
}

/* Splits each row of hw floats into parts chunks (multiples of 16) so that few rows still fill the
 * device: at least the attention_pool row's POOL_MIN_ITEMS work-items in all, chunks of at least
 * POOL_MIN_CHUNK floats. */
static clseg_status pool_split(clseg_context *ctx, size_t rows, size_t hw, int *chunk, int *parts) {
  static const char *const keys[] = {"POOL_MIN_ITEMS", "POOL_MIN_CHUNK"};
  int tv[2];
  clseg_status s = clseg__tune_sizes(ctx, "attention_pool", keys, 2, tv);
  if (s != CLSEG_OK)
    return s;
  const size_t min_items = (size_t)tv[0], min_chunk = (size_t)tv[1];
  size_t p = rows >= min_items ? 1 : (min_items + rows - 1) / rows;
  size_t maxp = (hw + min_chunk - 1) / min_chunk;
  if (p > maxp)
    p = maxp;
  if (p < 1)
    p = 1;
  size_t ch = clseg__round_up((hw + p - 1) / p, 16);
  *chunk = (int)ch;
  *parts = (int)((hw + ch - 1) / ch);
  return CLSEG_OK;
}

/* Scratch layout of a channel gate: partial pools, then per image [avg C, max C, hidden R], then
 * gate. */
typedef struct {
  cl_mem buf;
  int part, work, gate, chunk, parts;
} att_cscratch;

static clseg_status enqueue_pool_mlp(clseg_context *ctx, const char *op, const clseg_tensor *x,
                                     const att_mlp *m, int r, int use_max, const att_cscratch *sc) {
  cl_kernel kp, km;
  size_t pw, wg;
  int gpu;
  clseg_status s;
  if ((s = att_kernel(ctx, "attention_pool", &kp, &pw, &gpu)) != CLSEG_OK ||
      (s = att_kernel(ctx, "attention_mlp", &km, &wg, NULL)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, c = (int)x->shape[1], hw = (int)(x->shape[2] * x->shape[3]);
  const clseg__arg pa[] = {CLSEG__ARG(x->buf),    CLSEG__ARG(xo),        CLSEG__ARG(hw),
                           CLSEG__ARG(sc->chunk), CLSEG__ARG(sc->parts), CLSEG__ARG(sc->buf),
                           CLSEG__ARG(sc->part)};
  /* a work-item per part (CPU form) or a work-group per part (GPU form's tree) */
  const size_t pg[2] = {gpu ? (size_t)sc->parts * pw : clseg__round_up((size_t)sc->parts, pw),
                        (size_t)x->shape[0] * (size_t)c},
               pl[2] = {pw, 1};
  if ((s = CLSEG__LAUNCH(ctx, kp, op, pa, 2, pg, pl)) != CLSEG_OK)
    return s;
  const float inv_hw = 1.0f / (float)hw;
  const att_opt b1 = opt_of(m->b1, x->buf), b2 = opt_of(m->b2, x->buf);
  const int w1o = (int)m->w1->offset, w2o = (int)m->w2->offset;
  const clseg__arg ma[] = {CLSEG__ARG(sc->buf),    CLSEG__ARG(sc->part),   CLSEG__ARG(sc->parts),
                           CLSEG__ARG(c),          CLSEG__ARG(r),          CLSEG__ARG(inv_hw),
                           CLSEG__ARG(use_max),    CLSEG__ARG(m->w1->buf), CLSEG__ARG(w1o),
                           CLSEG__ARG(b1.buf),     CLSEG__ARG(b1.off),     CLSEG__ARG(b1.has),
                           CLSEG__ARG(m->w2->buf), CLSEG__ARG(w2o),        CLSEG__ARG(b2.buf),
                           CLSEG__ARG(b2.off),     CLSEG__ARG(b2.has),     CLSEG__ARG(sc->buf),
                           CLSEG__ARG(sc->work),   CLSEG__ARG(sc->buf),    CLSEG__ARG(sc->gate)};
  const size_t mg[2] = {wg, (size_t)x->shape[0]}, ml[2] = {wg, 1};
  return CLSEG__LAUNCH(ctx, km, op, ma, 2, mg, ml);
}

/* y = x * gate[n, c], or for scSE (ws set) y = x * (gate[n, c] + sigmoid(ws . x + bs)). */
static clseg_status enqueue_apply(clseg_context *ctx, const char *op, const clseg_tensor *x,
                                  const clseg_tensor *ws, const clseg_tensor *bs,
                                  const att_cscratch *sc, clseg_tensor *y) {
  cl_kernel k;
  size_t wg;
  const int xo = (int)x->offset, yo = (int)y->offset, c = (int)x->shape[1];
  const int hw = (int)(x->shape[2] * x->shape[3]);
  int gpu = 0;
  clseg_status s = ws ? att_kernel(ctx, "attention_scse_apply", &k, &wg, &gpu)
                      : att_kernel(ctx, "attention_scale", &k, &wg, NULL);
  if (s != CLSEG_OK)
    return s;
  if (!ws) {
    static const char *const keys[] = {"SCALE_SPAN"};
    int span;
    if ((s = clseg__tune_sizes(ctx, "attention_scale", keys, 1, &span)) != CLSEG_OK)
      return s;
    const clseg__arg a[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo),      CLSEG__ARG(hw),
                            CLSEG__ARG(span),   CLSEG__ARG(sc->buf), CLSEG__ARG(sc->gate),
                            CLSEG__ARG(y->buf), CLSEG__ARG(yo)};
    const size_t g[2] = {clseg__round_up(((size_t)hw + (size_t)span - 1) / (size_t)span, wg),
                         (size_t)x->shape[0] * (size_t)c};
    const size_t l[2] = {wg, 1};
    return CLSEG__LAUNCH(ctx, k, op, a, 2, g, l);
  }
  const att_opt b = opt_of(bs, x->buf);
  const int wso = (int)ws->offset;
  const clseg__arg a[] = {CLSEG__ARG(x->buf),  CLSEG__ARG(xo),      CLSEG__ARG(c),
                          CLSEG__ARG(hw),      CLSEG__ARG(sc->buf), CLSEG__ARG(sc->gate),
                          CLSEG__ARG(ws->buf), CLSEG__ARG(wso),     CLSEG__ARG(b.buf),
                          CLSEG__ARG(b.off),   CLSEG__ARG(b.has),   CLSEG__ARG(y->buf),
                          CLSEG__ARG(yo)};
  const size_t px = gpu ? (size_t)hw : ((size_t)hw + 15) / 16; /* pixels per work-item: 1 or 16 */
  const size_t g[2] = {clseg__round_up(px, wg), (size_t)x->shape[0]}, l[2] = {wg, 1};
  return CLSEG__LAUNCH(ctx, k, op, a, 2, g, l);
}

static clseg_status channel_gate(clseg_context *ctx, const char *op, const clseg_tensor *x,
                                 const att_mlp *m, int use_max, const clseg_tensor *ws,
                                 const clseg_tensor *bs, clseg_tensor *y, int64_t r) {
  const size_t n = (size_t)x->shape[0], c = (size_t)x->shape[1];
  const size_t hw = (size_t)(x->shape[2] * x->shape[3]);
  att_cscratch sc = {0};
  clseg_status s = pool_split(ctx, n * c, hw, &sc.chunk, &sc.parts);
  if (s != CLSEG_OK)
    return s;
  const size_t part = n * c * (size_t)sc.parts * 2, work = n * (2 * c + (size_t)r),
               total = part + work + n * c;
  if (total > (size_t)0x7fffffff)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: scratch of %zu floats exceeds 2^31", op, total);
  sc.part = 0;
  sc.work = (int)part;
  sc.gate = (int)(part + work);
  if ((s = scratch_create(ctx, op, total, &sc.buf)) != CLSEG_OK)
    return s;
  s = enqueue_pool_mlp(ctx, op, x, m, (int)r, use_max, &sc);
  if (s == CLSEG_OK)
    s = enqueue_apply(ctx, op, x, ws, bs, &sc, y);
  clReleaseMemObject(sc.buf);
  return s == CLSEG_OK ? clseg__ok(ctx) : s;
}

clseg_status clseg_cbam_channel_gate(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_tensor *w1, const clseg_tensor *b1,
                                     const clseg_tensor *w2, const clseg_tensor *b2,
                                     clseg_tensor *y) {
  const char *op = "cbam_channel_gate";
  const att_mlp m = {w1, b1, w2, b2};
  int64_t r = 0;
  clseg_status s = check_mlp(ctx, op, x, &m, y, &r);
  return s != CLSEG_OK ? s : channel_gate(ctx, op, x, &m, 1, NULL, NULL, y, r);
}

clseg_status clseg_se_gate(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w1,
                           const clseg_tensor *b1, const clseg_tensor *w2, const clseg_tensor *b2,
                           clseg_tensor *y) {
  const char *op = "se_gate";
  const att_mlp m = {w1, b1, w2, b2};
  int64_t r = 0;
  clseg_status s = check_mlp(ctx, op, x, &m, y, &r);
  return s != CLSEG_OK ? s : channel_gate(ctx, op, x, &m, 0, NULL, NULL, y, r);
}

clseg_status clseg_scse_gate(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w1,
                             const clseg_tensor *b1, const clseg_tensor *w2, const clseg_tensor *b2,
                             const clseg_tensor *ws, const clseg_tensor *bs, clseg_tensor *y) {
  const char *op = "scse_gate";
  const att_mlp m = {w1, b1, w2, b2};
  int64_t r = 0;
  clseg_status s = check_mlp(ctx, op, x, &m, y, &r);
  if (s != CLSEG_OK || (s = clseg__check_tensor(ctx, op, "ws", ws)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, op, "bs", bs, 1)) != CLSEG_OK)
    return s;
  if (ws->count != (size_t)x->shape[1])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: ws has shape %s, expected [1, C] with C = %lld from x", op,
                       CLSEG__TSHAPE(ws), (long long)x->shape[1]);
  return channel_gate(ctx, op, x, &m, 0, ws, bs, y, r);
}

/* ---- CBAM spatial gate ---- */

/* Batchnorm parameters: all four or none, each `count` elements. */
static clseg_status check_bn(clseg_context *ctx, const char *op, const clseg_tensor *const bn[4],
                             size_t count, int *has) {
  static const char *const names[4] = {"bn_gamma", "bn_beta", "bn_mean", "bn_var"};
  int present = 0;
  for (int i = 0; i < 4; i++) {
    clseg_status s = clseg__check_optional(ctx, op, names[i], bn[i], count);
    if (s != CLSEG_OK)
      return s;
    present += bn[i] != NULL;
  }
  if (present != 0 && present != 4)
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        "%s: batchnorm needs bn_gamma, bn_beta, bn_mean and bn_var together (%d of 4 given)", op,
        present);
  *has = present == 4;
  return CLSEG_OK;
}

static clseg_status check_spatial(clseg_context *ctx, const char *op, const clseg_tensor *x,
                                  const clseg_tensor *w, const clseg_tensor *bias,
                                  const clseg_tensor *const bn[4], const clseg_tensor *y,
                                  int *has_bn) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: NULL context", op);
  clseg_status s;
  if ((s = clseg__check_tensor(ctx, op, "input x", x)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "weight w", w)) != CLSEG_OK)
    return s;
  const int64_t *ws = w->shape;
  if (ws[0] != 1 || ws[1] != 2 || ws[2] != ws[3] || ws[2] % 2 == 0)
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        "%s: weight has shape %s, expected [1, 2, K, K] with K odd (channel 0 max, 1 mean)", op,
        CLSEG__SHAPE(ws));
  if ((s = clseg__check_optional(ctx, op, "bias", bias, 1)) != CLSEG_OK ||
      (s = check_bn(ctx, op, bn, 1, has_bn)) != CLSEG_OK)
    return s;
  return clseg__check_output(ctx, op, y, x->shape);
}

/* aff [2 * c] at aff_off = the batchnorm bn as (scale, shift) per channel. */
static clseg_status bn_fold(clseg_context *ctx, const char *op, const clseg_tensor *const bn[4],
                            float eps, int c, cl_mem aff, int aff_off) {
  cl_kernel k;
  size_t wg;
  clseg_status s = att_kernel(ctx, "attention_bn_fold", &k, &wg, NULL);
  if (s != CLSEG_OK)
    return s;
  const int go = (int)bn[0]->offset, bo = (int)bn[1]->offset, mo = (int)bn[2]->offset;
  const int vo = (int)bn[3]->offset;
  const float e = eps == 0.0f ? 1e-5f : eps;
  const clseg__arg a[] = {CLSEG__ARG(bn[0]->buf), CLSEG__ARG(go),         CLSEG__ARG(bn[1]->buf),
                          CLSEG__ARG(bo),         CLSEG__ARG(bn[2]->buf), CLSEG__ARG(mo),
                          CLSEG__ARG(bn[3]->buf), CLSEG__ARG(vo),         CLSEG__ARG(e),
                          CLSEG__ARG(c),          CLSEG__ARG(aff),        CLSEG__ARG(aff_off)};
  const size_t g[1] = {clseg__round_up((size_t)c, wg)}, l[1] = {wg};
  return CLSEG__LAUNCH(ctx, k, op, a, 1, g, l);
}

static clseg_status enqueue_spatial(clseg_context *ctx, const char *op, const clseg_tensor *x,
                                    const clseg_tensor *w, const clseg_tensor *bias, int has_bn,
                                    cl_mem sc, clseg_tensor *y) {
  cl_kernel kp, ka;
  size_t wg;
  int gpu;
  clseg_status s;
  if ((s = att_kernel(ctx, "attention_chpool", &kp, &wg, &gpu)) != CLSEG_OK ||
      (s = att_kernel(ctx, "attention_spatial_apply", &ka, &wg, NULL)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, yo = (int)y->offset, wo = (int)w->offset, zero = 0,
            k = (int)w->shape[2];
  const int c = (int)x->shape[1], h = (int)x->shape[2], wd = (int)x->shape[3], hw = h * wd;
  const int aff_off = (int)(2 * x->shape[0] * hw);
  const clseg__arg pa[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(c),
                           CLSEG__ARG(hw),     CLSEG__ARG(sc), CLSEG__ARG(zero)};
  const size_t px = gpu ? (size_t)hw : ((size_t)hw + 15) / 16; /* pixels per work-item: 1 or 16 */
  const size_t pg[2] = {clseg__round_up(px, wg), (size_t)x->shape[0]}, pl[2] = {wg, 1};
  if ((s = CLSEG__LAUNCH(ctx, kp, op, pa, 2, pg, pl)) != CLSEG_OK)
    return s;
  const att_opt b = opt_of(bias, x->buf);
  const clseg__arg a[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo),     CLSEG__ARG(c),
                          CLSEG__ARG(h),      CLSEG__ARG(wd),     CLSEG__ARG(sc),
                          CLSEG__ARG(zero),   CLSEG__ARG(k),      CLSEG__ARG(w->buf),
                          CLSEG__ARG(wo),     CLSEG__ARG(b.buf),  CLSEG__ARG(b.off),
                          CLSEG__ARG(b.has),  CLSEG__ARG(sc),     CLSEG__ARG(aff_off),
                          CLSEG__ARG(has_bn), CLSEG__ARG(y->buf), CLSEG__ARG(yo)};
  const size_t g[3] = {clseg__round_up(((size_t)wd + 15) / 16, wg), (size_t)h, (size_t)x->shape[0]},
               l[3] = {wg, 1, 1};
  return CLSEG__LAUNCH(ctx, ka, op, a, 3, g, l);
}

clseg_status clseg_cbam_spatial_gate(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_tensor *w, const clseg_tensor *bias,
                                     const clseg_cbam_spatial_params *p, clseg_tensor *y) {
  const char *op = "cbam_spatial_gate";
  const clseg_cbam_spatial_params none = {0};
  if (!p)
    p = &none;
  const clseg_tensor *const bn[4] = {p->bn_gamma, p->bn_beta, p->bn_mean, p->bn_var};
  int has_bn = 0;
  clseg_status s = check_spatial(ctx, op, x, w, bias, bn, y, &has_bn);
  if (s != CLSEG_OK)
    return s;
  const size_t floats = 2 * (size_t)x->count / (size_t)x->shape[1] + 2;
  if (floats > (size_t)0x7fffffff)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: scratch of %zu floats exceeds 2^31", op,
                       floats);
  cl_mem sc;
  if ((s = scratch_create(ctx, op, floats, &sc)) != CLSEG_OK)
    return s;
  if (has_bn)
    s = bn_fold(ctx, op, bn, p->bn_eps, 1, sc, (int)(floats - 2));
  if (s == CLSEG_OK)
    s = enqueue_spatial(ctx, op, x, w, bias, has_bn, sc, y);
  clReleaseMemObject(sc);
  return s == CLSEG_OK ? clseg__ok(ctx) : s;
}

/* ---- additive attention gate ---- */

typedef struct {
  const clseg_tensor *x, *g, *w_theta, *b_theta, *w_phi, *b_phi, *w_psi, *b_psi;
  const clseg_attention_gate_params *p;
  clseg_tensor *alpha, *y;
  int s, ci, ht, wt, has_bn;
} att_gate;

static clseg_status check_gate_weights(clseg_context *ctx, const char *op, att_gate *a) {
  const int64_t *xs = a->x->shape, *gs = a->g->shape, *wt = a->w_theta->shape;
  if (wt[1] != xs[1] || wt[2] != a->s || wt[3] != a->s)
    return clseg__fail(
        ctx, CLSEG_SHAPE_MISMATCH,
        "%s: w_theta has shape %s, expected [Ci, %lld, %d, %d] (x's channels, theta_stride)", op,
        CLSEG__SHAPE(wt), (long long)xs[1], a->s, a->s);
  const int64_t ci = wt[0], *wp = a->w_phi->shape;
  if (wp[0] != ci || wp[1] != gs[1] || wp[2] != 1 || wp[3] != 1)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: w_phi has shape %s, expected [%lld, %lld, 1, 1]", op, CLSEG__SHAPE(wp),
                       (long long)ci, (long long)gs[1]);
  if (!is_matrix(a->w_psi, 1, ci))
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: w_psi has shape %s, expected [1, %lld, 1, 1]", op,
                       CLSEG__TSHAPE(a->w_psi), (long long)ci);
  clseg_status s;
  if ((s = clseg__check_optional(ctx, op, "b_theta", a->b_theta, (size_t)ci)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, op, "b_phi", a->b_phi, (size_t)ci)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, op, "b_psi", a->b_psi, 1)) != CLSEG_OK)
    return s;
  const clseg_tensor *wo = a->p->w_out;
  if (wo && (s = clseg__check_tensor(ctx, op, "w_out", wo)) != CLSEG_OK)
    return s;
  if (wo &&
      (wo->shape[0] != xs[1] || wo->shape[1] != xs[1] || wo->shape[2] != 1 || wo->shape[3] != 1))
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: w_out has shape %s, expected [%lld, %lld, 1, 1]", op, CLSEG__TSHAPE(wo),
                       (long long)xs[1], (long long)xs[1]);
  if (a->p->b_out && !wo)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: b_out is set but w_out is not", op);
  /* the output conv reads every channel of a pixel after writing some: y may not overlap x then */
  if (wo && a->y && a->y->buf == a->x->buf && a->y->offset < a->x->offset + a->x->count &&
      a->x->offset < a->y->offset + a->y->count)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "%s: y overlaps x, which the output conv (w_out) needs intact", op);
  a->ci = (int)ci;
  const clseg_tensor *const bn[4] = {a->p->bn_gamma, a->p->bn_beta, a->p->bn_mean, a->p->bn_var};
  if ((s = clseg__check_optional(ctx, op, "b_out", a->p->b_out, (size_t)xs[1])) != CLSEG_OK)
    return s;
  return check_bn(ctx, op, bn, (size_t)xs[1], &a->has_bn);
}

static clseg_status check_gate(clseg_context *ctx, const char *op, att_gate *a) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: NULL context", op);
  clseg_status s;
  if ((s = clseg__check_tensor(ctx, op, "input x", a->x)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "gating signal g", a->g)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "w_theta", a->w_theta)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "w_phi", a->w_phi)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, op, "w_psi", a->w_psi)) != CLSEG_OK)
    return s;
  a->s = a->p->theta_stride ? a->p->theta_stride : 1;
  if (a->s != 1 && a->s != 2)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: theta_stride is %d, expected 1 or 2", op,
                       a->s);
  const int64_t *xs = a->x->shape;
  if (a->g->shape[0] != xs[0])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "%s: g %s has batch %lld, x %s has %lld", op,
                       CLSEG__TSHAPE(a->g), (long long)a->g->shape[0], CLSEG__SHAPE(xs),
                       (long long)xs[0]);
  a->ht = (int)(xs[2] / a->s);
  a->wt = (int)(xs[3] / a->s);
  if (a->ht < 1 || a->wt < 1)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: x %s is smaller than theta's 2x2 stride-2 kernel", op,
                       CLSEG__SHAPE(xs));
  if ((s = check_gate_weights(ctx, op, a)) != CLSEG_OK)
    return s;
  const int64_t as[4] = {xs[0], 1, xs[2], xs[3]};
  if (a->alpha && (s = clseg__check_tensor(ctx, op, "alpha", a->alpha)) != CLSEG_OK)
    return s;
  if (a->alpha && memcmp(a->alpha->shape, as, sizeof as) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "%s: alpha has shape %s, expected %s", op,
                       CLSEG__TSHAPE(a->alpha), CLSEG__SHAPE(as));
  return clseg__check_output(ctx, op, a->y, xs);
}

/* phi = w_phi g + b_phi at g's size, then the coarse map a = sigmoid(psi(relu(theta + resized
 * phi))). */
static clseg_status enqueue_gate_coarse(clseg_context *ctx, const char *op, const att_gate *a,
                                        cl_mem sc, int a_off) {
  cl_kernel kp, kc;
  size_t lws;
  int gpu;
  clseg_status s;
  if ((s = att_kernel(ctx, "attention_phi", &kp, &lws, &gpu)) != CLSEG_OK ||
      (s = att_kernel(ctx, "attention_gate_coarse", &kc, &lws, &gpu)) != CLSEG_OK)
    return s;
  const clseg_tensor *x = a->x, *g = a->g;
  const int go = (int)g->offset, cg = (int)g->shape[1], hg = (int)g->shape[2],
            wg = (int)g->shape[3];
  const int hwg = hg * wg, wpo = (int)a->w_phi->offset, zero = 0;
  const att_opt bp = opt_of(a->b_phi, x->buf), bt = opt_of(a->b_theta, x->buf),
                bs = opt_of(a->b_psi, x->buf);
  const clseg__arg pa[] = {
      CLSEG__ARG(g->buf),        CLSEG__ARG(go),    CLSEG__ARG(cg),     CLSEG__ARG(hwg),
      CLSEG__ARG(a->w_phi->buf), CLSEG__ARG(wpo),   CLSEG__ARG(bp.buf), CLSEG__ARG(bp.off),
      CLSEG__ARG(bp.has),        CLSEG__ARG(a->ci), CLSEG__ARG(sc),     CLSEG__ARG(zero)};
  /* pixels per work-item: 1 in the GPU form, 16 in the CPU form */
  const size_t pg[3] = {clseg__round_up(gpu ? (size_t)hwg : ((size_t)hwg + 15) / 16, lws),
                        ((size_t)a->ci + 3) / 4, (size_t)g->shape[0]},
               l[3] = {lws, 1, 1};
  if ((s = CLSEG__LAUNCH(ctx, kp, op, pa, 3, pg, l)) != CLSEG_OK)
    return s;
  const int xo = (int)x->offset, cx = (int)x->shape[1], h = (int)x->shape[2], w = (int)x->shape[3];
  const int wto = (int)a->w_theta->offset, wso = (int)a->w_psi->offset;
  const clseg__arg ca[] = {CLSEG__ARG(x->buf),
                           CLSEG__ARG(xo),
                           CLSEG__ARG(cx),
                           CLSEG__ARG(h),
                           CLSEG__ARG(w),
                           CLSEG__ARG(a->s),
                           CLSEG__ARG(a->w_theta->buf),
                           CLSEG__ARG(wto),
                           CLSEG__ARG(bt.buf),
                           CLSEG__ARG(bt.off),
                           CLSEG__ARG(bt.has),
                           CLSEG__ARG(sc),
                           CLSEG__ARG(zero),
                           CLSEG__ARG(a->ci),
                           CLSEG__ARG(hg),
                           CLSEG__ARG(wg),
                           CLSEG__ARG(a->w_psi->buf),
                           CLSEG__ARG(wso),
                           CLSEG__ARG(bs.buf),
                           CLSEG__ARG(bs.off),
                           CLSEG__ARG(bs.has),
                           CLSEG__ARG(sc),
                           CLSEG__ARG(a_off),
                           CLSEG__ARG(a->ht),
                           CLSEG__ARG(a->wt)};
  if (gpu) { /* dimension 0 every theta pixel of an image, 1 the image */
    const size_t gg[2] = {clseg__round_up((size_t)a->ht * (size_t)a->wt, lws), (size_t)x->shape[0]};
    return CLSEG__LAUNCH(ctx, kc, op, ca, 2, gg, l);
  }
  const size_t cgl[3] = {clseg__round_up(((size_t)a->wt + 15) / 16, lws), (size_t)a->ht,
                         (size_t)x->shape[0]};
  return CLSEG__LAUNCH(ctx, kc, op, ca, 3, cgl, l);
}

/* alpha = a resized to x's size; y = x * alpha, through the optional output conv and batchnorm. */
static clseg_status enqueue_gate_apply(clseg_context *ctx, const char *op, const att_gate *a,
                                       cl_mem sc, int a_off, int aff_off) {
  cl_kernel k;
  size_t wg;
  int gpu;
  clseg_status s = att_kernel(ctx, "attention_gate_apply", &k, &wg, &gpu);
  if (s != CLSEG_OK)
    return s;
  const clseg_tensor *x = a->x;
  const int xo = (int)x->offset, yo = (int)a->y->offset, cx = (int)x->shape[1],
            h = (int)x->shape[2];
  const int w = (int)x->shape[3];
  const att_opt wo = opt_of(a->p->w_out, x->buf), bo = opt_of(a->p->b_out, x->buf);
  const att_opt al = opt_of(a->alpha, x->buf);
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf),  CLSEG__ARG(xo),        CLSEG__ARG(cx),     CLSEG__ARG(h),
      CLSEG__ARG(w),       CLSEG__ARG(sc),        CLSEG__ARG(a_off),  CLSEG__ARG(a->ht),
      CLSEG__ARG(a->wt),   CLSEG__ARG(wo.buf),    CLSEG__ARG(wo.off), CLSEG__ARG(wo.has),
      CLSEG__ARG(bo.buf),  CLSEG__ARG(bo.off),    CLSEG__ARG(bo.has), CLSEG__ARG(sc),
      CLSEG__ARG(aff_off), CLSEG__ARG(a->has_bn), CLSEG__ARG(al.buf), CLSEG__ARG(al.off),
      CLSEG__ARG(al.has),  CLSEG__ARG(a->y->buf), CLSEG__ARG(yo)};
  const size_t l[3] = {wg, 1, 1};
  if (gpu) { /* dimension 0 every pixel of an image, 1 the image */
    const size_t gg[2] = {clseg__round_up((size_t)h * (size_t)w, wg), (size_t)x->shape[0]};
    return CLSEG__LAUNCH(ctx, k, op, args, 2, gg, l);
  }
  const size_t g[3] = {clseg__round_up(((size_t)w + 15) / 16, wg), (size_t)h, (size_t)x->shape[0]};
  return CLSEG__LAUNCH(ctx, k, op, args, 3, g, l);
}

clseg_status clseg_attention_gate(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *g,
                                  const clseg_tensor *w_theta, const clseg_tensor *b_theta,
                                  const clseg_tensor *w_phi, const clseg_tensor *b_phi,
                                  const clseg_tensor *w_psi, const clseg_tensor *b_psi,
                                  const clseg_attention_gate_params *p, clseg_tensor *alpha,
                                  clseg_tensor *y) {
  const char *op = "attention_gate";
  const clseg_attention_gate_params none = {0};
  att_gate a = {x,     g, w_theta, b_theta, w_phi, b_phi, w_psi, b_psi, p ? p : &none,
                alpha, y, 0,       0,       0,     0,     0};
  clseg_status s = check_gate(ctx, op, &a);
  if (s != CLSEG_OK)
    return s;
  /* scratch: phi [N, Ci, Hg, Wg], a [N, Ht, Wt], batchnorm scale and shift [2 Cx] */
  const size_t n = (size_t)x->shape[0],
               phi = n * (size_t)a.ci * (size_t)(g->shape[2] * g->shape[3]);
  const size_t coarse = n * (size_t)a.ht * (size_t)a.wt,
               total = phi + coarse + 2 * (size_t)x->shape[1];
  if (total > (size_t)0x7fffffff)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: scratch of %zu floats exceeds 2^31", op, total);
  cl_mem sc;
  if ((s = scratch_create(ctx, op, total, &sc)) != CLSEG_OK)
    return s;
  const clseg_tensor *const bn[4] = {a.p->bn_gamma, a.p->bn_beta, a.p->bn_mean, a.p->bn_var};
  if (a.has_bn)
    s = bn_fold(ctx, op, bn, a.p->bn_eps, (int)x->shape[1], sc, (int)(phi + coarse));
  if (s == CLSEG_OK)
    s = enqueue_gate_coarse(ctx, op, &a, sc, (int)phi);
  if (s == CLSEG_OK)
    s = enqueue_gate_apply(ctx, op, &a, sc, (int)phi, (int)(phi + coarse));
  clReleaseMemObject(sc);
  return s == CLSEG_OK ? clseg__ok(ctx) : s;
}
