/* Host side of the linear kernel family (cl/linear.cl): y [N, M, 1, 1] = act(x rows . w^T + bias),
 * by our own vectorized kernel (linear_direct) or by CLBlast's SGEMM plus our epilogue
 * (linear_clblast). */
#include <clblast_c.h>
#include <stdio.h>
#include <string.h>

#include "linear.h"
#include "tuning.h"

/* One call's arguments, checked and resolved; tv the chosen variant's tuning cells. */
typedef struct {
  const clseg_tensor *x, *w, *bias;
  clseg_tensor *y;
  int n, m, k;
  int act;
  float alpha, beta;
  int tv[4];
} linear_args;

/* keys: the variant's cells in its rows of cl/tuning/linear.tsv, looked up into tv before options()
 * and enqueue(). */
typedef struct {
  const char *name;
  int (*supported)(const clseg_context *ctx, const linear_args *a);
  void (*options)(const linear_args *a, char *buf, size_t size);
  clseg_status (*enqueue)(clseg_context *ctx, const linear_args *a, const char *options);
  const char *const *keys;
  int nkeys;
} linear_variant;

static size_t pow2_upto(size_t n, size_t cap) {
  size_t p = 1;
  while (p < n && p < cap)
    p *= 2;
  return p;
}

/* ---- linear_direct: one pass, NB rows x MB outputs per work-item ---- */
static int direct_supported(const clseg_context *ctx, const linear_args *a) {
  (void)ctx;
  (void)a;
  return 1;
}

/* linear_direct's cells: LOCAL the most work-items per work-group; NB x MB rows x outputs per
 * work-item; MB1 outputs per work-item for a batch below NB (a classifier head on one image), which
 * gets one row per work-item, so no lanes are spent on clamped copies. */
static const char *const DIRECT_KEYS[] = {"LOCAL", "NB", "MB", "MB1"};
enum { D_LOCAL, D_NB, D_MB, D_MB1 };

static void direct_tile(const linear_args *a, int *nb, int *mb) {
  const int small = a->n < a->tv[D_NB];
  *nb = small ? 1 : a->tv[D_NB];
  *mb = small ? a->tv[D_MB1] : a->tv[D_MB];
}

static void direct_options(const linear_args *a, char *buf, size_t size) {
  int nb, mb;
  direct_tile(a, &nb, &mb);
  const clseg__define defs[] = {{"LINEAR_NB", nb}, {"LINEAR_MB", mb}};
  if (!clseg__build_options(defs, CLSEG__COUNT(defs), buf, size))
    buf[0] = 0;
}

static clseg_status direct_enqueue(clseg_context *ctx, const linear_args *a, const char *options) {
  cl_kernel k;
  clseg_status s = clseg__kernel(ctx, "linear.cl", options, "linear_direct", &k);
  if (s != CLSEG_OK)
    return s;
  int nb, mb;
  direct_tile(a, &nb, &mb);
  int xo = (int)a->x->offset, wo = (int)a->w->offset, yo = (int)a->y->offset;
  int has_bias = a->bias != NULL, bo = a->bias ? (int)a->bias->offset : 0;
  cl_mem bbuf = a->bias ? a->bias->buf : NULL;
  const clseg__arg args[] = {CLSEG__ARG(a->x->buf), CLSEG__ARG(xo),        CLSEG__ARG(a->w->buf),
                             CLSEG__ARG(wo),        CLSEG__ARG(bbuf),      CLSEG__ARG(bo),
                             CLSEG__ARG(has_bias),  CLSEG__ARG(a->y->buf), CLSEG__ARG(yo),
                             CLSEG__ARG(a->n),      CLSEG__ARG(a->m),      CLSEG__ARG(a->k),
                             CLSEG__ARG(a->act),    CLSEG__ARG(a->alpha),  CLSEG__ARG(a->beta)};
  size_t blocks[2] = {((size_t)a->n + nb - 1) / nb, ((size_t)a->m + mb - 1) / mb};
  const size_t lws = (size_t)a->tv[D_LOCAL];
  size_t local[2] = {pow2_upto(blocks[0], lws), 1};
  local[1] = pow2_upto(blocks[1], lws / local[0]);
  size_t global[2] = {clseg__round_up(blocks[0], local[0]), clseg__round_up(blocks[1], local[1])};
  return CLSEG__LAUNCH(ctx, k, "linear_direct", args, 2, global, local);
}

/* ---- linear_clblast: CLBlast's SGEMM, then bias and activation ---- */
/* linear_clblast's cells: LOCAL the epilogue's work-group size. */
static const char *const CLBLAST_KEYS[] = {"LOCAL"};

static int clblast_supported(const clseg_context *ctx, const linear_args *a) {
  (void)ctx;
  (void)a;
  return 1; /* CLBlast runs on any OpenCL 1.2 device; its speed is select()'s business */
}

static void clblast_options(const linear_args *a, char *buf, size_t size) {
  (void)a;
  snprintf(buf, size, "%s", "");
}

static clseg_status clblast_epilogue(clseg_context *ctx, const linear_args *a,
                                     const char *options) {
  cl_kernel k;
  clseg_status s = clseg__kernel(ctx, "linear.cl", options, "linear_bias_act", &k);
  if (s != CLSEG_OK)
    return s;
  int yo = (int)a->y->offset, has_bias = a->bias != NULL, bo = a->bias ? (int)a->bias->offset : 0;
  cl_mem bbuf = a->bias ? a->bias->buf : NULL;
  const clseg__arg args[] = {CLSEG__ARG(a->y->buf), CLSEG__ARG(yo),       CLSEG__ARG(bbuf),
                             CLSEG__ARG(bo),        CLSEG__ARG(has_bias), CLSEG__ARG(a->n),
                             CLSEG__ARG(a->m),      CLSEG__ARG(a->act),   CLSEG__ARG(a->alpha),
                             CLSEG__ARG(a->beta)};
  const size_t lws = (size_t)a->tv[0];
  size_t local[1] = {lws}, global[1] = {clseg__round_up((size_t)a->n * (size_t)a->m, lws)};
  return CLSEG__LAUNCH(ctx, k, "linear_clblast epilogue", args, 1, global, local);
}

static clseg_status clblast_enqueue(clseg_context *ctx, const linear_args *a, const char *options) {
  cl_command_queue queue = ctx->queue;
  cl_event event = NULL;
  /* Row-major: x is N x K, w is M x K read transposed, y is N x M. */
  CLBlastStatusCode st = CLBlastSgemm(
      CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)a->n, (size_t)a->m,
      (size_t)a->k, 1.0f, a->x->buf, a->x->offset, (size_t)a->k, a->w->buf, a->w->offset,
      (size_t)a->k, 0.0f, a->y->buf, a->y->offset, (size_t)a->m, &queue, &event);
  if (event)
    clReleaseEvent(event);
  if (st != CLBlastSuccess)
    return clseg__fail(ctx, CLSEG_OPENCL,
                       "linear_clblast: CLBlastSgemm (N %d, M %d, K %d) failed with "
                       "CLBlast status %d",
                       a->n, a->m, a->k, (int)st);
  ctx->stats.kernels_enqueued++;
  if (a->bias == NULL && a->act == CLSEG_ACT_NONE)
    return CLSEG_OK;
  return clblast_epilogue(ctx, a, options);
}

/* Table order is the "auto" preference where select() has no reason to differ. */
static const linear_variant VARIANTS[] = {
    {"linear_direct", direct_supported, direct_options, direct_enqueue, DIRECT_KEYS, 4},
    {"linear_clblast", clblast_supported, clblast_options, clblast_enqueue, CLBLAST_KEYS, 1},
};
#define N_VARIANTS ((int)(sizeof VARIANTS / sizeof *VARIANTS))

/* ---- the op ---- */
static clseg_status linear_check(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                                 const clseg_tensor *bias, const clseg_tensor *y) {
  clseg_status s = clseg__check_tensor(ctx, "linear", "input", x);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "linear", "weight", w);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "linear", "output", y);
  if (s != CLSEG_OK)
    return s;
  size_t k = (size_t)(x->shape[1] * x->shape[2] * x->shape[3]);
  if (w->count % k != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "linear: weight of shape %s holds %zu values, not a whole number of rows of "
                       "K = %zu (input %s read as %lld rows of C*H*W)",
                       CLSEG__TSHAPE(w), w->count, k, CLSEG__TSHAPE(x), (long long)x->shape[0]);
  return clseg__check_optional(ctx, "linear", "bias", bias, w->count / k);
}

/* y [N, M, 1, 1] with M the weight's row count. */
static void linear_out_shape(const clseg_tensor *x, const clseg_tensor *w, int64_t out[4]) {
  int64_t k = x->shape[1] * x->shape[2] * x->shape[3];
  out[0] = x->shape[0];
  out[1] = (int64_t)w->count / k;
  out[2] = 1;
  out[3] = 1;
}

/* "auto": the linear row's CLBLAST cell (cl/tuning/linear.tsv) chooses CLBlast or our kernel. Else
 * the forced variant, if supported. NULL with the error recorded. */
static const linear_variant *linear_select(clseg_context *ctx, const linear_args *a,
                                           const char *variant) {
  if (!variant || !strcmp(variant, "auto")) {
    static const char *const rule_keys[] = {"CLBLAST"};
    double clblast;
    if (clseg__tune_get(ctx, "linear", NULL, rule_keys, 1, &clblast, NULL) != CLSEG_OK)
      return NULL;
    const char *want = clblast != 0 ? "linear_clblast" : "linear_direct";
    for (int i = 0; i < N_VARIANTS; i++)
      if (!strcmp(VARIANTS[i].name, want) && VARIANTS[i].supported(ctx, a))
        return &VARIANTS[i];
    return &VARIANTS[0];
  }
  for (int i = 0; i < N_VARIANTS; i++)
    if (!strcmp(VARIANTS[i].name, variant)) {
      if (VARIANTS[i].supported(ctx, a))
        return &VARIANTS[i];
      clseg__fail(ctx, CLSEG_UNSUPPORTED,
                  "linear: variant '%s' does not support N %d, M %d, K %d on %s", variant, a->n,
                  a->m, a->k, ctx->info.name);
      return NULL;
    }
  clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
              "linear: unknown variant '%s' (known: auto, linear_direct, linear_clblast)", variant);
  return NULL;
}

clseg_status clseg__linear_variant(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                                   const clseg_tensor *bias, const clseg_activation *act,
                                   clseg_tensor *y, const char *variant) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "linear: context is NULL");
  clseg_status s = linear_check(ctx, x, w, bias, y);
  if (s != CLSEG_OK)
    return s;
  int64_t want[4];
  linear_out_shape(x, w, want);
  if ((s = clseg__check_output(ctx, "linear", y, want)) != CLSEG_OK)
    return s;
  linear_args a = {.x = x, .w = w, .bias = bias, .y = y, .n = (int)want[0], .m = (int)want[1]};
  a.k = (int)(x->count / (size_t)want[0]);
  if ((s = clseg__act_resolve(ctx, "linear", act, &a.act, &a.alpha, &a.beta)) != CLSEG_OK)
    return s;
  const linear_variant *v = linear_select(ctx, &a, variant);
  if (!v)
    return clseg_last_status(ctx);
  if ((s = clseg__tune_sizes(ctx, v->name, v->keys, v->nkeys, a.tv)) != CLSEG_OK)
    return s;
  char options[256];
  v->options(&a, options, sizeof options);
  return v->enqueue(ctx, &a, options);
}

clseg_status clseg_linear(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                          const clseg_tensor *bias, const clseg_activation *act, clseg_tensor *y) {
  return clseg__linear_variant(ctx, x, w, bias, act, y, "auto");
}
