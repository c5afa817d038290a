/* Host side of the fused attention family (cl/attention_fused.cl): checks the dims, strides and
 * buffer extents, then runs the form the attention_fused tuning row chooses: attention_fused (CPU:
 * a work-item per 16 queries as float16 lanes) or attention_fused_gpu (a work-group per query tile,
 * keys and values through __local memory). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attention_fused.h"
#include "common.h"
#include "tuning.h"

#define OP "attention_fused"
/* The CPU form keeps Q of its 16 queries in CPU_MAXDK float16 registers; above this, the GPU form
 * (which walks dk in chunks) runs instead. */
#define CPU_MAX_DK 1024

/* The row's cells (cl/tuning/attention_fused.tsv); every one a -D macro of the kernels but GPU. */
static const char *const KEYS[] = {"CPU_QV", "CPU_KB", "CPU_DVC", "GPU_WG",
                                   "GPU_BQ", "GPU_BK", "GPU_DKC", "GPU_DVC"};
enum { T_CPU_QV, T_CPU_KB, T_CPU_DVC, T_GPU_WG, T_GPU_BQ, T_GPU_BK, T_GPU_DKC, T_GPU_DVC, T_N };

/* One operand as kernel arguments. */
typedef struct {
  cl_mem buf;
  int off;
  cl_int4 s;
} af_operand;

static int64_t pow2_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n)
    p *= 2;
  return p;
}

static int is_pow2(int v) {
  return v > 0 && (v & (v - 1)) == 0;
}

/* ---- checks ---- */
static clseg_status check_dims(clseg_context *ctx, const clseg__attention_dims *d) {
  const int64_t sizes[6] = {d->batch, d->heads, d->lq, d->lk, d->dk, d->dv};
  static const char *const names[6] = {"batch", "heads", "lq", "lk", "dk", "dv"};
  for (int i = 0; i < 6; i++)
    if (sizes[i] <= 0 || sizes[i] > INT32_MAX)
      return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: %s is %lld, expected 1 to 2^31-1", OP,
                         names[i], (long long)sizes[i]);
  if (d->batch * d->heads > INT32_MAX)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: batch %lld x heads %lld exceeds 2^31-1", OP,
                       (long long)d->batch, (long long)d->heads);
  if (!isfinite(d->scale))
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: scale is %g, expected a finite number", OP,
                       (double)d->scale);
  return CLSEG_OK;
}

/* Checks t and its strides s for extents ext (batch, head, rows, cols): every stride non-negative,
 * the largest element index inside t's buffer and below 2^31 (the kernels index with int). Writes
 * the largest index into *last. */
static clseg_status check_operand(clseg_context *ctx, const char *role, const clseg_tensor *t,
                                  const int64_t s[4], const int64_t ext[4], int64_t *last) {
  clseg_status st = clseg__check_tensor(ctx, OP, role, t);
  if (st != CLSEG_OK)
    return st;
  static const char *const axes[4] = {"batch", "head", "position", "feature"};
  int64_t hi = (int64_t)t->offset;
  for (int i = 0; i < 4; i++) {
    if (s[i] < 0 || s[i] > INT32_MAX)
      return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                         "%s: %s %s stride is %lld, expected 0 to 2^31-1", OP, role, axes[i],
                         (long long)s[i]);
    hi += (ext[i] - 1) * s[i];
  }
  size_t bytes = 0;
  cl_int err = clGetMemObjectInfo(t->buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(ctx, err, "%s: reading the size of %s's buffer", OP, role);
  const int64_t count = (int64_t)(bytes / sizeof(float));
  if (hi >= count || hi > INT32_MAX)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: %s reaches element %lld (offset %zu, strides %lld %lld %lld %lld over "
                       "%lld x %lld x %lld x %lld) but its buffer holds %lld%s",
                       OP, role, (long long)hi, t->offset, (long long)s[0], (long long)s[1],
                       (long long)s[2], (long long)s[3], (long long)ext[0], (long long)ext[1],
                       (long long)ext[2], (long long)ext[3], (long long)count,
                       hi >= count ? "" : " (the kernels index with 32-bit ints)");
  *last = hi;
  return CLSEG_OK;
}

/* o may share a buffer with an input (views of one arena) only where their element ranges are
 * disjoint. */
static clseg_status check_alias(clseg_context *ctx, const clseg_tensor *o, int64_t o_last,
                                const clseg_tensor *in, int64_t in_last, const char *role) {
  if (!in || in->buf != o->buf)
    return CLSEG_OK;
  if ((int64_t)o->offset <= in_last && (int64_t)in->offset <= o_last)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "%s: output (elements %zu..%lld) overlaps %s (elements %zu..%lld)", OP,
                       o->offset, (long long)o_last, role, in->offset, (long long)in_last);
  return CLSEG_OK;
}

static clseg_status check_all(clseg_context *ctx, const clseg__attention_dims *d,
                              const clseg_tensor *const in[4], const clseg_tensor *o) {
  clseg_status s = check_dims(ctx, d);
  if (s != CLSEG_OK)
    return s;
  static const char *const roles[4] = {"q", "k", "v", "bias"};
  const int64_t *strides[4] = {d->q, d->k, d->v, d->bias};
  const int64_t ext[5][4] = {{d->batch, d->heads, d->lq, d->dk},
                             {d->batch, d->heads, d->lk, d->dk},
                             {d->batch, d->heads, d->lk, d->dv},
                             {d->batch, d->heads, d->lq, d->lk},
                             {d->batch, d->heads, d->lq, d->dv}};
  int64_t last[4] = {0}, o_last = 0;
  for (int i = 0; i < 4 && s == CLSEG_OK; i++)
    if (in[i] || i < 3)
      s = check_operand(ctx, roles[i], in[i], strides[i], ext[i], &last[i]);
  if (s == CLSEG_OK)
    s = check_operand(ctx, "o", o, d->o, ext[4], &o_last);
  for (int i = 0; i < 4 && s == CLSEG_OK; i++)
    s = check_alias(ctx, o, o_last, in[i], last[i], roles[i]);
  return s;
}

/* ---- the two forms ---- */
/* The row's cells, checked: the GPU form's sizes must be powers of two with GPU_BQ <= GPU_WG and
 * GPU_BK, GPU_DVC at least GPU_WG / GPU_BQ (the kernel's #error states the same). */
static clseg_status tune(clseg_context *ctx, int tv[T_N], int *gpu) {
  clseg_status s = clseg__tune_sizes(ctx, OP, KEYS, T_N, tv);
  if (s == CLSEG_OK)
    s = clseg__tune_gpu(ctx, OP, gpu);
  if (s != CLSEG_OK)
    return s;
  const int tpr = tv[T_GPU_WG] / tv[T_GPU_BQ];
  int bad = tpr < 1 || tv[T_GPU_BK] < tpr || tv[T_GPU_DVC] < tpr;
  for (int i = T_GPU_WG; i < T_N; i++)
    bad |= !is_pow2(tv[i]);
  if (!bad)
    return CLSEG_OK;
  double unused;
  clseg__tuned t;
  char where[320];
  if ((s = clseg__tune_get(ctx, OP, NULL, KEYS, 1, &unused, &t)) != CLSEG_OK)
    return s;
  clseg__tuned_describe(&t, where, sizeof where);
  return clseg__fail(
      ctx, CLSEG_FORMAT,
      "tuning: %s GPU_WG=%d GPU_BQ=%d GPU_BK=%d GPU_DKC=%d GPU_DVC=%d (%s): expected "
      "powers of two, GPU_BQ <= GPU_WG, GPU_BK and GPU_DVC >= GPU_WG / GPU_BQ",
      OP, tv[T_GPU_WG], tv[T_GPU_BQ], tv[T_GPU_BK], tv[T_GPU_DKC], tv[T_GPU_DVC], where);
}

/* The kernel, its build options and its range. Chunk sizes shrink to the operands' (powers of two)
 * so small heads do not stage zeros; CPU_MAXDK is dk's power-of-two bucket. */
static clseg_status form_kernel(clseg_context *ctx, const clseg__attention_dims *d,
                                const int tv[T_N], int gpu, cl_kernel *k, size_t global[3],
                                size_t local[3]) {
  char opts[192];
  const size_t z = (size_t)(d->batch * d->heads);
  if (!gpu) {
    const int64_t maxdk = pow2_at_least(d->dk), dvc = tv[T_CPU_DVC];
    const int64_t rows = 16 * (int64_t)tv[T_CPU_QV];
    const clseg__define defs[] = {{"CPU_QV", tv[T_CPU_QV]},
                                  {"CPU_KB", tv[T_CPU_KB]},
                                  {"CPU_MAXDK", (long)maxdk},
                                  {"CPU_DVC", (long)dvc}};
    CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
    global[0] = (size_t)((d->lq + rows - 1) / rows);
    global[1] = (size_t)((d->dv + dvc - 1) / dvc);
    global[2] = z;
    local[0] = local[1] = local[2] = 1;
    return clseg__kernel(ctx, "attention_fused.cl", opts, OP, k);
  }
  const int wg = tv[T_GPU_WG], bq = tv[T_GPU_BQ], tpr = wg / bq;
  int64_t dkc = pow2_at_least(d->dk), dvc = pow2_at_least(d->dv);
  dkc = dkc < tv[T_GPU_DKC] ? dkc : tv[T_GPU_DKC];
  dvc = dvc < tv[T_GPU_DVC] ? (dvc > tpr ? dvc : tpr) : tv[T_GPU_DVC];
  if (ctx->info.max_work_group && (size_t)wg > ctx->info.max_work_group)
    return clseg__fail(ctx, CLSEG_UNSUPPORTED, "%s: GPU_WG=%d exceeds the device's %zu work-items",
                       OP, wg, ctx->info.max_work_group);
  const clseg__define defs[] = {{"GPU_WG", wg},
                                {"GPU_BQ", bq},
                                {"GPU_BK", tv[T_GPU_BK]},
                                {"GPU_DKC", (long)dkc},
                                {"GPU_DVC", (long)dvc}};
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  global[0] = (size_t)((d->lq + bq - 1) / bq) * (size_t)wg;
  global[1] = (size_t)((d->dv + dvc - 1) / dvc);
  global[2] = z;
  local[0] = (size_t)wg;
  local[1] = local[2] = 1;
  return clseg__kernel(ctx, "attention_fused.cl", opts, OP "_gpu", k);
}

static af_operand operand(const clseg_tensor *t, const int64_t s[4], const clseg_tensor *fallback) {
  af_operand a = {fallback->buf, 0, {{0, 0, 0, 0}}};
  if (t) {
    a.buf = t->buf;
    a.off = (int)t->offset;
    for (int i = 0; i < 4; i++)
      a.s.s[i] = (cl_int)s[i];
  }
  return a;
}

static clseg_status enqueue(clseg_context *ctx, const clseg__attention_dims *d, cl_kernel k,
                            const clseg_tensor *const in[4], clseg_tensor *o,
                            const size_t global[3], const size_t local[3], int gpu) {
  const af_operand aq = operand(in[0], d->q, in[0]), ak = operand(in[1], d->k, in[0]),
                   av = operand(in[2], d->v, in[0]), ab = operand(in[3], d->bias, in[0]),
                   ao = operand(o, d->o, in[0]);
  const int has_bias = in[3] != NULL, heads = (int)d->heads, lq = (int)d->lq, lk = (int)d->lk,
            dk = (int)d->dk, dv = (int)d->dv;
  const float scale = d->scale != 0.0f ? d->scale : (float)(1.0 / sqrt((double)d->dk));
  const clseg__arg args[] = {
      CLSEG__ARG(aq.buf),   CLSEG__ARG(aq.off), CLSEG__ARG(aq.s),   CLSEG__ARG(ak.buf),
      CLSEG__ARG(ak.off),   CLSEG__ARG(ak.s),   CLSEG__ARG(av.buf), CLSEG__ARG(av.off),
      CLSEG__ARG(av.s),     CLSEG__ARG(ab.buf), CLSEG__ARG(ab.off), CLSEG__ARG(ab.s),
      CLSEG__ARG(has_bias), CLSEG__ARG(ao.buf), CLSEG__ARG(ao.off), CLSEG__ARG(ao.s),
      CLSEG__ARG(heads),    CLSEG__ARG(lq),     CLSEG__ARG(lk),     CLSEG__ARG(dk),
      CLSEG__ARG(dv),       CLSEG__ARG(scale)};
  return CLSEG__LAUNCH(ctx, k, gpu ? OP "_gpu" : OP, args, 3, global, local);
}

clseg_status clseg__attention_fused(clseg_context *ctx, const clseg__attention_dims *d,
                                    const clseg_tensor *q, const clseg_tensor *k,
                                    const clseg_tensor *v, const clseg_tensor *bias,
                                    clseg_tensor *o) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "%s: context is NULL", OP);
  if (!d)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "%s: dims are NULL", OP);
  const clseg_tensor *const in[4] = {q, k, v, bias};
  clseg_status s = check_all(ctx, d, in, o);
  if (s != CLSEG_OK)
    return s;
  int tv[T_N], gpu;
  if ((s = tune(ctx, tv, &gpu)) != CLSEG_OK)
    return s;
  gpu = gpu || d->dk > CPU_MAX_DK;
  cl_kernel kern;
  size_t global[3], local[3];
  if ((s = form_kernel(ctx, d, tv, gpu, &kern, global, local)) != CLSEG_OK)
    return s;
  s = enqueue(ctx, d, kern, in, o, global, local, gpu);
  return s == CLSEG_OK ? clseg__ok(ctx) : s;
}

size_t clseg__attention_fused_scratch(const clseg_context *ctx, const clseg__attention_dims *d) {
  (void)ctx;
  (void)d;
  return 0;
}

/* NCHW maps: positions over H x W (stride 1), features over channels (stride H W), heads as
 * consecutive channel blocks. */
clseg_status clseg_attention(clseg_context *ctx, const clseg_tensor *q, const clseg_tensor *k,
                             const clseg_tensor *v, const clseg_attention_params *p,
                             clseg_tensor *y) {
  const char *op = "attention";
  const clseg_tensor *const t[4] = {q, k, v, y};
  static const char *const roles[4] = {"q", "k", "v", "output"};
  for (int i = 0; i < 4; i++) {
    clseg_status s = clseg__check_tensor(ctx, op, roles[i], t[i]);
    if (s != CLSEG_OK)
      return s;
    if (t[i]->rank != 4)
      return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "%s: %s of shape %s is not NCHW", op, roles[i],
                         CLSEG__TSHAPE(t[i]));
  }
  int heads = p && p->heads ? p->heads : 1;
  const int64_t *qs = q->shape, *ks = k->shape, *vs = v->shape, *ys = y->shape;
  if (heads < 1 || qs[0] != ks[0] || ks[0] != vs[0] || qs[1] != ks[1] || ks[2] != vs[2] ||
      ks[3] != vs[3] || qs[1] % heads || vs[1] % heads || ys[0] != qs[0] || ys[1] != vs[1] ||
      ys[2] != qs[2] || ys[3] != qs[3])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       "%s: q %s, k %s, v %s, output %s for %d heads (q and k of one channel "
                       "count, k and v of one size, channels multiples of the heads)",
                       op, CLSEG__TSHAPE(q), CLSEG__TSHAPE(k), CLSEG__TSHAPE(v), CLSEG__TSHAPE(y),
                       heads);
  const int64_t lq = qs[2] * qs[3], lk = ks[2] * ks[3], dk = qs[1] / heads, dv = vs[1] / heads;
  clseg__attention_dims d = {.batch = qs[0],
                             .heads = heads,
                             .lq = lq,
                             .lk = lk,
                             .dk = dk,
                             .dv = dv,
                             .q = {qs[1] * lq, dk * lq, 1, lq},
                             .k = {ks[1] * lk, dk * lk, 1, lk},
                             .v = {vs[1] * lk, dv * lk, 1, lk},
                             .o = {vs[1] * lq, dv * lq, 1, lq},
                             .scale = p ? p->scale : 0.0f};
  return clseg__attention_fused(ctx, &d, q, k, v, NULL, y);
}
