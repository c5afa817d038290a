/* Host side of the matmul family (cl/matmul.cl): batched y = alpha (a b) + bias with numpy's
 * broadcasting of the batch dims, by matmul_tile (CPU: register tile, b read along n), matmul_dot
 * (CPU: dot products along k, for a b^T) or matmul_gpu (work-group tiles through __local). The
 * matmul tuning row's GPU cell chooses between the CPU forms and the GPU form. */
#include <stdio.h>
#include <string.h>

#include "matmul.h"
#include "tuning.h"

#define MAX_BATCH_DIMS (CLSEG_MAX_RANK - 2)

/* One call's arguments, checked and resolved: strides in elements within one batch (a(m, k) at m
 * sam + k sak, b(k, n) at k sbk + n sbn), the batch dims innermost first (l, and each operand's
 * strides, 0 where it broadcasts); tv the chosen variant's tuning cells. */
typedef struct {
  const clseg_tensor *a, *b, *bias;
  clseg_tensor *y;
  int m, n, k, sam, sak, sbk, sbn, batch, trans_a, trans_b;
  int l[MAX_BATCH_DIMS], sa[MAX_BATCH_DIMS], sb[MAX_BATCH_DIMS];
  float alpha;
  int tv[5];
  cl_mem bbuf; /* b's buffer, or the packed panels (matmul_tile) */
  int boff, sbb, packed;
} matmul_args;

/* keys: the variant's cells in cl/tuning/matmul.tsv; macros: the -D name of each (NULL: host-side
 * only); blocks: the range of work-items and their local size for a call. */
typedef struct {
  const char *name;
  int (*supported)(const matmul_args *a);
  const char *const *keys, *const *macros;
  int nkeys;
  void (*range)(const matmul_args *a, size_t global[3], size_t local[3]);
} matmul_variant;

static size_t pow2_upto(size_t n, size_t cap) {
  size_t p = 1;
  while (p < n && p < cap)
    p *= 2;
  return p;
}

static size_t blocks(int n, int per) {
  return ((size_t)n + (size_t)per - 1) / (size_t)per;
}

/* CPU forms: dim 0 blocks of rows (up to LOCAL of them per work-group), dim 1 blocks of columns. */
static void cpu_range(const matmul_args *a, int rows, int cols, size_t global[3], size_t local[3]) {
  const size_t b0 = blocks(a->m, rows), b1 = blocks(a->n, cols);
  local[0] = pow2_upto(b0, (size_t)a->tv[0]);
  local[1] = local[2] = 1;
  global[0] = clseg__round_up(b0, local[0]);
  global[1] = b1;
  global[2] = (size_t)a->batch;
}

static int tile_supported(const matmul_args *a) {
  (void)a;
  return 1; /* a transposed b is always packed first */
}
static void tile_range(const matmul_args *a, size_t global[3], size_t local[3]) {
  cpu_range(a, a->tv[1], 16 * a->tv[2], global, local);
}
static const char *const TILE_KEYS[] = {"LOCAL", "MR", "NV", "PACK"};
static const char *const TILE_MACROS[] = {NULL, "MATMUL_MR", "MATMUL_NV", NULL};

static int dot_supported(const matmul_args *a) {
  return !a->trans_a && a->trans_b;
}
static void dot_range(const matmul_args *a, size_t global[3], size_t local[3]) {
  cpu_range(a, a->tv[1], a->tv[2], global, local);
}
static const char *const DOT_KEYS[] = {"LOCAL", "DM", "DN"};
static const char *const DOT_MACROS[] = {NULL, "MATMUL_DM", "MATMUL_DN"};

static int gpu_supported(const matmul_args *a) {
  (void)a;
  return 1;
}
/* Work-groups of (TN / WN) x (TM / WM), one per TM x TN tile of y. */
static void gpu_range(const matmul_args *a, size_t global[3], size_t local[3]) {
  local[0] = (size_t)(a->tv[1] / a->tv[4]);
  local[1] = (size_t)(a->tv[0] / a->tv[3]);
  local[2] = 1;
  global[0] = blocks(a->n, a->tv[1]) * local[0];
  global[1] = blocks(a->m, a->tv[0]) * local[1];
  global[2] = (size_t)a->batch;
}
static const char *const GPU_KEYS[] = {"TM", "TN", "TK", "WM", "WN"};
static const char *const GPU_MACROS[] = {"GPU_TM", "GPU_TN", "GPU_TK", "GPU_WM", "GPU_WN"};

/* Table order is the "auto" preference among the CPU forms. */
static const matmul_variant VARIANTS[] = {
    {"matmul_tile", tile_supported, TILE_KEYS, TILE_MACROS, 4, tile_range},
    {"matmul_dot", dot_supported, DOT_KEYS, DOT_MACROS, 3, dot_range},
    {"matmul_gpu", gpu_supported, GPU_KEYS, GPU_MACROS, 5, gpu_range},
};
#define N_VARIANTS ((int)(sizeof VARIANTS / sizeof *VARIANTS))

/* ---- shapes ---- */
static clseg_status matmul_fail(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                                const clseg_matmul_params *p, const char *why) {
  return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                     "matmul: a of shape %s (trans_a %d) and b of shape %s (trans_b %d): %s",
                     CLSEG__TSHAPE(a), p->trans_a, CLSEG__TSHAPE(b), p->trans_b, why);
}

/* y's dims from a and b (ctx may be NULL: the message goes to the thread's last error). */
static clseg_status matmul_dims(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                                const clseg_matmul_params *p, int64_t dims[CLSEG_MAX_RANK],
                                int *rank) {
  if (!a || !b || !dims || !rank)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "matmul: %s is NULL",
                       !a   ? "a"
                       : !b ? "b"
                            : "the output shape");
  if (a->rank < 2 || b->rank < 2)
    return matmul_fail(ctx, a, b, p, "each needs rank 2 or more ([..., rows, columns])");
  const int64_t *as = a->shape + a->rank - 2, *bs = b->shape + b->rank - 2;
  const int64_t m = p->trans_a ? as[1] : as[0], ka = p->trans_a ? as[0] : as[1];
  const int64_t kb = p->trans_b ? bs[1] : bs[0], n = p->trans_b ? bs[0] : bs[1];
  if (ka != kb) {
    char why[96];
    snprintf(why, sizeof why, "a's K is %lld, b's is %lld", (long long)ka, (long long)kb);
    return matmul_fail(ctx, a, b, p, why);
  }
  const int r = a->rank > b->rank ? a->rank : b->rank;
  for (int d = 0; d < r - 2; d++) {
    const int da = d - (r - a->rank), db = d - (r - b->rank);
    const int64_t ea = da >= 0 ? a->shape[da] : 1, eb = db >= 0 ? b->shape[db] : 1;
    if (ea != eb && ea != 1 && eb != 1) {
      char why[128];
      snprintf(why, sizeof why,
               "batch dim %d of the output is %lld in a and %lld in b (each must be "
               "equal or 1)",
               d, (long long)ea, (long long)eb);
      return matmul_fail(ctx, a, b, p, why);
    }
    dims[d] = ea == 1 ? eb : ea;
  }
  dims[r - 2] = m;
  dims[r - 1] = n;
  for (int d = r; d < CLSEG_MAX_RANK; d++)
    dims[d] = 1;
  *rank = r;
  return CLSEG_OK;
}

clseg_status clseg_matmul_shape(const clseg_tensor *a, const clseg_tensor *b,
                                const clseg_matmul_params *p, int64_t dims[CLSEG_MAX_RANK],
                                int *rank) {
  const clseg_matmul_params none = {0};
  return matmul_dims(NULL, a, b, p ? p : &none, dims, rank);
}

/* The batch strides of t (a matrix of msize elements per batch) along y's r - 2 batch dims,
 * innermost first into s (0 where t broadcasts or lacks the dim). */
static void batch_strides(const clseg_tensor *t, int r, int64_t msize, int s[MAX_BATCH_DIMS]) {
  int64_t step = msize;
  for (int i = 0; i < MAX_BATCH_DIMS; i++)
    s[i] = 0;
  for (int i = 0; i < r - 2; i++) {
    const int d = t->rank - 3 - i; /* t's dim for y's batch dim r - 3 - i */
    if (d < 0)
      break;
    s[i] = t->shape[d] == 1 ? 0 : (int)step;
    step *= t->shape[d];
  }
}

static clseg_status matmul_check(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                                 const clseg_tensor *bias, const clseg_matmul_params *p,
                                 clseg_tensor *y, matmul_args *m) {
  clseg_status s = clseg__check_tensor(ctx, "matmul", "a", a);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "matmul", "b", b);
  if (s == CLSEG_OK)
    s = clseg__check_tensor(ctx, "matmul", "output", y);
  int64_t dims[CLSEG_MAX_RANK];
  int r = 0;
  if (s == CLSEG_OK)
    s = matmul_dims(ctx, a, b, p, dims, &r);
  if (s != CLSEG_OK)
    return s;
  if (y->rank != r || memcmp(y->shape, dims, sizeof dims) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "matmul: output has shape %s, expected %s for a %s and b %s",
                       CLSEG__TSHAPE(y), CLSEG__DIMS(dims, r), CLSEG__TSHAPE(a), CLSEG__TSHAPE(b));
  *m = (matmul_args){.a = a,
                     .b = b,
                     .bias = bias,
                     .y = y,
                     .trans_a = p->trans_a != 0,
                     .trans_b = p->trans_b != 0,
                     .alpha = p->alpha != 0.0f ? p->alpha : 1.0f};
  m->m = (int)dims[r - 2];
  m->n = (int)dims[r - 1];
  m->k = (int)(p->trans_a ? a->shape[a->rank - 2] : a->shape[a->rank - 1]);
  m->batch = (int)(y->count / ((size_t)m->m * (size_t)m->n > 0 ? (size_t)m->m * (size_t)m->n : 1));
  m->sam = m->trans_a ? 1 : m->k;
  m->sak = m->trans_a ? m->m : 1;
  m->sbk = m->trans_b ? 1 : m->n;
  m->sbn = m->trans_b ? m->k : 1;
  for (int i = 0; i < MAX_BATCH_DIMS; i++)
    m->l[i] = i < r - 2 ? (int)dims[r - 3 - i] : 1;
  if (m->batch > 65535) /* the launch's dim 2, which NVIDIA's OpenCL caps at 65535 */
    return clseg__fail(ctx, CLSEG_UNSUPPORTED,
                       "matmul: output %s has %d matrices; at most 65535 (the launch's third dim)",
                       CLSEG__TSHAPE(y), m->batch);
  batch_strides(a, r, (int64_t)m->m * m->k, m->sa);
  batch_strides(b, r, (int64_t)m->k * m->n, m->sb);
  return clseg__check_optional(ctx, "matmul", "bias", bias, (size_t)m->n);
}

/* ---- variant choice and launch ---- */
static const matmul_variant *find_variant(const char *name) {
  for (int i = 0; i < N_VARIANTS; i++)
    if (!strcmp(VARIANTS[i].name, name))
      return &VARIANTS[i];
  return NULL;
}

/* "auto": the matmul row's GPU cell (cl/tuning/matmul.tsv) runs matmul_gpu; otherwise
 * matmul_tile, or matmul_dot for a b^T where the row's DOT cell is 1. Else the forced variant, if
 * it supports the call. NULL with the error recorded. */
static const matmul_variant *matmul_select(clseg_context *ctx, const matmul_args *a,
                                           const char *variant) {
  if (!variant || !strcmp(variant, "auto")) {
    static const char *const key[] = {"DOT"};
    int gpu;
    double dot;
    if (clseg__tune_gpu(ctx, "matmul", &gpu) != CLSEG_OK ||
        clseg__tune_get(ctx, "matmul", NULL, key, 1, &dot, NULL) != CLSEG_OK)
      return NULL;
    if (gpu)
      return find_variant("matmul_gpu");
    return find_variant(dot != 0.0 && dot_supported(a) ? "matmul_dot" : "matmul_tile");
  }
  const matmul_variant *v = find_variant(variant);
  if (!v)
    clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                "matmul: unknown variant '%s' (known: auto, matmul_tile, matmul_dot, matmul_gpu)",
                variant);
  else if (!v->supported(a))
    clseg__fail(ctx, CLSEG_UNSUPPORTED,
                "matmul: variant '%s' does not support trans_a %d, trans_b %d (a %s, b %s)",
                variant, a->trans_a, a->trans_b, CLSEG__TSHAPE(a->a), CLSEG__TSHAPE(a->b));
  else
    return v;
  return NULL;
}

/* The GPU form's tile must split into whole micro-tiles, in a work-group the device can run. */
static clseg_status gpu_fits(clseg_context *ctx, const matmul_args *a) {
  const int *t = a->tv;
  const size_t wg = (size_t)(t[0] / t[3]) * (size_t)(t[1] / t[4]);
  if (t[0] % t[3] || t[1] % t[4])
    return clseg__fail(ctx, CLSEG_FORMAT,
                       "tuning: matmul_gpu TM=%d TN=%d not multiples of WM=%d WN=%d", t[0], t[1],
                       t[3], t[4]);
  if (ctx->info.max_work_group && wg > ctx->info.max_work_group)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED,
                       "matmul_gpu: work-groups of %zu items (TM=%d TN=%d WM=%d WN=%d) exceed %s's "
                       "%zu",
                       wg, t[0], t[1], t[3], t[4], ctx->info.name,
                       (size_t)ctx->info.max_work_group);
  return CLSEG_OK;
}

static clseg_status variant_kernel(clseg_context *ctx, const matmul_variant *v,
                                   const matmul_args *a, const char *kernel, cl_kernel *k) {
  clseg__define defs[5];
  int nd = 0;
  for (int i = 0; i < v->nkeys; i++)
    if (v->macros[i])
      defs[nd++] = (clseg__define){v->macros[i], a->tv[i]};
  char opts[256];
  CLSEG__CHECK(ctx, clseg__build_options(defs, nd, opts, sizeof opts));
  return clseg__kernel(ctx, "matmul.cl", opts, kernel, k);
}

/* matmul_tile with M >= PACK or a transposed b: b's batches into contiguous panels [batch][N /
 * NC][K][NC] in scratch slot 0 (zeros past N), read by the tile kernel NC floats per k; a points
 * the call at them. */
static clseg_status pack_b(clseg_context *ctx, const matmul_variant *v, matmul_args *a) {
  const int nc = 16 * a->tv[2], nblk = (a->n + nc - 1) / nc;
  const size_t panels = (size_t)nblk * (size_t)a->k * (size_t)nc;
  const size_t batches = a->b->count / ((size_t)a->k * (size_t)a->n);
  cl_kernel k;
  cl_mem p;
  clseg_status s = variant_kernel(ctx, v, a, "matmul_pack_b", &k);
  if (s == CLSEG_OK)
    s = clseg__context_scratch(ctx, 0, panels * batches * sizeof(float), &p);
  if (s != CLSEG_OK)
    return s;
  const int bo = (int)a->b->offset, bstride = a->k * a->n;
  const clseg__arg args[] = {CLSEG__ARG(a->b->buf), CLSEG__ARG(bo),     CLSEG__ARG(p),
                             CLSEG__ARG(a->k),      CLSEG__ARG(a->n),   CLSEG__ARG(a->sbk),
                             CLSEG__ARG(a->sbn),    CLSEG__ARG(bstride)};
  const size_t local[3] = {8, 1, 1};
  const size_t global[3] = {clseg__round_up((size_t)a->k, 8), (size_t)nblk, batches};
  if ((s = CLSEG__LAUNCH(ctx, k, "matmul_tile pack", args, 3, global, local)) != CLSEG_OK)
    return s;
  a->bbuf = p;
  a->boff = 0;
  a->sbk = nc;
  a->sbn = 1;
  a->sbb = a->k * nc;
  a->packed = 1;
  batch_strides(a->b, a->y->rank, (int64_t)panels, a->sb);
  return CLSEG_OK;
}

static clseg_status matmul_enqueue(clseg_context *ctx, const matmul_variant *v, matmul_args *a) {
  cl_kernel k;
  clseg_status s = CLSEG_OK;
  a->bbuf = a->b->buf;
  a->boff = (int)a->b->offset;
  a->sbb = v->range == tile_range ? 16 * a->tv[2] : 0;
  a->packed = 0;
  if (v->range == tile_range && (a->trans_b || a->m >= a->tv[3]))
    s = pack_b(ctx, v, a);
  if (s == CLSEG_OK)
    s = variant_kernel(ctx, v, a, v->name, &k);
  if (s != CLSEG_OK)
    return s;
  const int ao = (int)a->a->offset, yo = (int)a->y->offset;
  const int has_bias = a->bias != NULL, biaso = a->bias ? (int)a->bias->offset : 0;
  cl_mem bias = a->bias ? a->bias->buf : a->y->buf; /* never read without has_bias */
  const clseg__arg args[] = {
      CLSEG__ARG(a->a->buf), CLSEG__ARG(ao),       CLSEG__ARG(a->bbuf),  CLSEG__ARG(a->boff),
      CLSEG__ARG(bias),      CLSEG__ARG(biaso),    CLSEG__ARG(has_bias), CLSEG__ARG(a->y->buf),
      CLSEG__ARG(yo),        CLSEG__ARG(a->m),     CLSEG__ARG(a->n),     CLSEG__ARG(a->k),
      CLSEG__ARG(a->sam),    CLSEG__ARG(a->sak),   CLSEG__ARG(a->sbk),   CLSEG__ARG(a->sbn),
      CLSEG__ARG(a->l[0]),   CLSEG__ARG(a->l[1]),  CLSEG__ARG(a->l[2]),  CLSEG__ARG(a->sa[0]),
      CLSEG__ARG(a->sa[1]),  CLSEG__ARG(a->sa[2]), CLSEG__ARG(a->sa[3]), CLSEG__ARG(a->sb[0]),
      CLSEG__ARG(a->sb[1]),  CLSEG__ARG(a->sb[2]), CLSEG__ARG(a->sb[3]), CLSEG__ARG(a->alpha),
      CLSEG__ARG(a->sbb),    CLSEG__ARG(a->packed)};
  size_t global[3], local[3];
  v->range(a, global, local);
  return CLSEG__LAUNCH(ctx, k, v->name, args, 3, global, local);
}

clseg_status clseg__matmul_variant(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                                   const clseg_tensor *bias, const clseg_matmul_params *p,
                                   clseg_tensor *y, const char *variant) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "matmul: NULL context");
  const clseg_matmul_params none = {0};
  matmul_args m;
  clseg_status s = matmul_check(ctx, a, b, bias, p ? p : &none, y, &m);
  if (s != CLSEG_OK)
    return s;
  const matmul_variant *v = matmul_select(ctx, &m, variant);
  if (!v)
    return clseg_last_status(ctx);
  if ((s = clseg__tune_sizes(ctx, v->name, v->keys, v->nkeys, m.tv)) != CLSEG_OK)
    return s;
  if (!strcmp(v->name, "matmul_gpu") && (s = gpu_fits(ctx, &m)) != CLSEG_OK)
    return s;
  return matmul_enqueue(ctx, v, &m);
}

clseg_status clseg_matmul(clseg_context *ctx, const clseg_tensor *a, const clseg_tensor *b,
                          const clseg_tensor *bias, const clseg_matmul_params *p, clseg_tensor *y) {
  return clseg__matmul_variant(ctx, a, b, bias, p, y, "auto");
}
