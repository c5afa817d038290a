/* Host side of the pool kernel family (cl/pool.cl): windowed max/avg pooling with PyTorch's
 * ceil_mode and count_include_pad rules (onnxruntime's too), dilated windows, and global pooling.
 * One variant each, so no variant table.
 */
#include "common.h"

/* Cells of the pool2d_max / pool2d_avg rows (cl/tuning/pool.tsv): LOCAL the most work-items per
 * work-group, POOL_VW outputs along W per work-item (the kernel's macro); global_pool_max /
 * global_pool_avg: LOCAL, and SPLIT_GROUPS / SPLIT_CHUNK of the GPU form. Every row also has GPU
 * (clseg__tune_gpu): 1 runs the `<variant>_gpu` kernel. */
static const char *const POOL2D_KEYS[] = {"LOCAL", "POOL_VW"};
static const char *const GLOBAL_KEYS[] = {"LOCAL", "SPLIT_GROUPS", "SPLIT_CHUNK"};

static const char *const POOL_NAMES[] = {"max", "avg"};

/* Parameters with their defaults applied (stride 0 means the kernel size, dilation 0 means 1). */
typedef struct {
  int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
} pool_geom;

static pool_geom pool_resolve(const clseg_pool2d_params *p) {
  pool_geom g = {p->kernel_h,
                 p->kernel_w,
                 p->stride_h ? p->stride_h : p->kernel_h,
                 p->stride_w ? p->stride_w : p->kernel_w,
                 p->pad_top,
                 p->pad_left,
                 p->pad_bottom,
                 p->pad_right,
                 p->dilation_h ? p->dilation_h : 1,
                 p->dilation_w ? p->dilation_w : 1};
  return g;
}

/* One axis under PyTorch's rule (onnxruntime's too): with ceil_mode the last window must start
 * inside the input or its leading padding. k: the dilated kernel extent. Returns 0 or less when the
 * kernel does not fit the padded input. */
static int64_t pool_out(int64_t in, int64_t k, int s, int lo, int hi, int ceil_mode) {
  int64_t span = in + lo + hi - k;
  if (span < 0)
    return 0;
  int64_t out = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (out - 1) * s >= in + lo)
    out--;
  return out;
}

/* Each side's padding below the kernel, as ONNX and onnxruntime require (PyTorch's pad <= kernel /
 * 2 is stricter): with an undilated kernel no window is padding only. */
static clseg_status pool_check_pads(clseg_context *ctx, const clseg_tensor *x, const char *lo_name,
                                    int lo, const char *hi_name, int hi, int k, const char *dim) {
  const char *in = CLSEG__TSHAPE(x);
  if (lo < 0 || hi < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pool2d: input %s: %s %d or %s %d is negative",
                       in, lo_name, lo, hi_name, hi);
  if (lo > k - 1 || hi > k - 1)
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        "pool2d: input %s: %s %d is not below the kernel %s %d (windows of padding only)", in,
        lo > k - 1 ? lo_name : hi_name, lo > k - 1 ? lo : hi, dim, k);
  return CLSEG_OK;
}

static clseg_status pool2d_check(clseg_context *ctx, const clseg_tensor *x,
                                 const clseg_pool2d_params *p) {
  clseg_status s = clseg__check_tensor(ctx, "pool2d", "input", x);
  if (s != CLSEG_OK)
    return s;
  if (!p)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pool2d: params is NULL");
  if (p->kind != CLSEG_POOL_MAX && p->kind != CLSEG_POOL_AVG)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pool2d: unknown pool kind %d", (int)p->kind);
  if (p->kernel_h < 1 || p->kernel_w < 1)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       "pool2d: input %s: kernel %dx%d must be at least 1x1", CLSEG__TSHAPE(x),
                       p->kernel_h, p->kernel_w);
  if (p->stride_h < 0 || p->stride_w < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pool2d: input %s: stride %dx%d is negative",
                       CLSEG__TSHAPE(x), p->stride_h, p->stride_w);
  if (p->dilation_h < 0 || p->dilation_w < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pool2d: input %s: dilation %dx%d is negative",
                       CLSEG__TSHAPE(x), p->dilation_h, p->dilation_w);
  s = pool_check_pads(ctx, x, "pad_top", p->pad_top, "pad_bottom", p->pad_bottom, p->kernel_h,
                      "height");
  if (s == CLSEG_OK)
    s = pool_check_pads(ctx, x, "pad_left", p->pad_left, "pad_right", p->pad_right, p->kernel_w,
                        "width");
  return s;
}

static clseg_status pool2d_out_shape(clseg_context *ctx, const clseg_tensor *x,
                                     const clseg_pool2d_params *p, int64_t out[4]) {
  pool_geom g = pool_resolve(p);
  out[0] = x->shape[0];
  out[1] = x->shape[1];
  out[2] = pool_out(x->shape[2], (int64_t)(g.kh - 1) * g.dh + 1, g.sh, g.pt, g.pb, p->ceil_mode);
  out[3] = pool_out(x->shape[3], (int64_t)(g.kw - 1) * g.dw + 1, g.sw, g.pl, g.pr, p->ceil_mode);
  if (out[2] < 1 || out[3] < 1)
    return clseg__fail(
        ctx, CLSEG_SHAPE_MISMATCH,
        "pool2d: kernel %dx%d (dilation %dx%d) does not fit input %s padded by top %d left %d "
        "bottom %d right %d",
        g.kh, g.kw, g.dh, g.dw, CLSEG__TSHAPE(x), g.pt, g.pl, g.pb, g.pr);
  return CLSEG_OK;
}

clseg_status clseg_pool2d_shape(const clseg_tensor *x, const clseg_pool2d_params *p,
                                int64_t out[4]) {
  clseg_context *ctx = x ? x->ctx : NULL;
  clseg_status s = pool2d_check(ctx, x, p);
  if (s == CLSEG_OK && !out)
    s = clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "pool2d: output shape pointer is NULL");
  return s != CLSEG_OK ? s : pool2d_out_shape(ctx, x, p, out);
}

/* Local sizes of 1 to the row's LOCAL work-items (set explicitly, as PoCL otherwise forms a few
 * giant groups); global sizes are rounded up to them and the kernels skip the excess. */
static size_t pow2_upto(size_t n, size_t cap) {
  size_t p = 1;
  while (p < n && p < cap)
    p *= 2;
  return p;
}

/* pool2d_max_gpu / pool2d_avg_gpu: one output per work-item over all NC * OH * OW outputs. */
static clseg_status pool2d_gpu_enqueue(clseg_context *ctx, const clseg_tensor *x,
                                       const pool_geom *g, const clseg_pool2d_params *p, int local,
                                       clseg_tensor *y) {
  const char *name = p->kind == CLSEG_POOL_MAX ? "pool2d_max_gpu" : "pool2d_avg_gpu";
  const size_t lws = clseg__fit_local(ctx, (size_t)local);
  char opts[64];
  const clseg__define defs[] = {{"LOCAL", (long)lws}};
  cl_kernel k;
  clseg_status s;
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  if ((s = clseg__kernel(ctx, "pool.cl", opts, name, &k)) != CLSEG_OK)
    return s;
  int xo = (int)x->offset, yo = (int)y->offset, H = (int)x->shape[2], W = (int)x->shape[3];
  int NC = (int)(y->shape[0] * y->shape[1]), OH = (int)y->shape[2], OW = (int)y->shape[3];
  int inc = p->count_include_pad != 0;
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf), CLSEG__ARG(xo),    CLSEG__ARG(y->buf), CLSEG__ARG(yo),
      CLSEG__ARG(H),      CLSEG__ARG(W),     CLSEG__ARG(NC),     CLSEG__ARG(OH),
      CLSEG__ARG(OW),     CLSEG__ARG(g->kh), CLSEG__ARG(g->kw),  CLSEG__ARG(g->sh),
      CLSEG__ARG(g->sw),  CLSEG__ARG(g->pt), CLSEG__ARG(g->pl),  CLSEG__ARG(g->pb),
      CLSEG__ARG(g->pr),  CLSEG__ARG(g->dh), CLSEG__ARG(g->dw),  CLSEG__ARG(inc)};
  const size_t global = clseg__round_up(y->count, lws);
  return CLSEG__LAUNCH(ctx, k, name, args, 1, &global, &lws);
}

static clseg_status pool2d_enqueue(clseg_context *ctx, const clseg_tensor *x, const pool_geom *g,
                                   const clseg_pool2d_params *p, clseg_tensor *y) {
  cl_kernel k;
  const char *name = p->kind == CLSEG_POOL_MAX ? "pool2d_max" : "pool2d_avg";
  int tv[2], gpu;
  clseg_status s = clseg__tune_sizes(ctx, name, POOL2D_KEYS, 2, tv);
  if (s == CLSEG_OK)
    s = clseg__tune_gpu(ctx, name, &gpu);
  if (s != CLSEG_OK)
    return s;
  if (gpu)
    return pool2d_gpu_enqueue(ctx, x, g, p, tv[0], y);
  char opts[64];
  const clseg__define defs[] = {{"POOL_VW", tv[1]}};
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  if ((s = clseg__kernel(ctx, "pool.cl", opts, name, &k)) != CLSEG_OK)
    return s;
  int xo = (int)x->offset, yo = (int)y->offset, H = (int)x->shape[2], W = (int)x->shape[3];
  int OH = (int)y->shape[2], OW = (int)y->shape[3], inc = p->count_include_pad != 0;
  const clseg__arg args[] = {
      CLSEG__ARG(x->buf), CLSEG__ARG(xo),    CLSEG__ARG(y->buf), CLSEG__ARG(yo),
      CLSEG__ARG(H),      CLSEG__ARG(W),     CLSEG__ARG(OH),     CLSEG__ARG(OW),
      CLSEG__ARG(g->kh),  CLSEG__ARG(g->kw), CLSEG__ARG(g->sh),  CLSEG__ARG(g->sw),
      CLSEG__ARG(g->pt),  CLSEG__ARG(g->pl), CLSEG__ARG(g->pb),  CLSEG__ARG(g->pr),
      CLSEG__ARG(g->dh),  CLSEG__ARG(g->dw), CLSEG__ARG(inc)};
  const size_t lws = (size_t)tv[0], vw = (size_t)tv[1], blocks = ((size_t)OW + vw - 1) / vw;
  size_t local[3] = {pow2_upto(blocks, lws), 1, 1};
  local[1] = pow2_upto((size_t)OH, lws / local[0]);
  size_t global[3] = {clseg__round_up(blocks, local[0]), clseg__round_up((size_t)OH, local[1]),
                      (size_t)(y->shape[0] * y->shape[1])};
  return CLSEG__LAUNCH(ctx, k, name, args, 3, global, local);
}

clseg_status clseg_pool2d(clseg_context *ctx, const clseg_tensor *x, const clseg_pool2d_params *p,
                          clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "pool2d: context is NULL");
  int64_t want[4];
  clseg_status s = pool2d_check(ctx, x, p);
  if (s == CLSEG_OK)
    s = pool2d_out_shape(ctx, x, p, want);
  if (s == CLSEG_OK)
    s = clseg__check_output(ctx, "pool2d", y, want);
  if (s != CLSEG_OK)
    return s;
  pool_geom g = pool_resolve(p);
  return pool2d_enqueue(ctx, x, &g, p, y);
}

/* One pass of global_pool_*_gpu: work-groups of lws work-items, `parts` per plane of hw floats
 * (chunks of `chunk`), from src at src_off to dst at dst_off. */
static clseg_status global_gpu_pass(clseg_context *ctx, cl_kernel k, const char *name, cl_mem src,
                                    int src_off, int hw, int chunk, int parts, float scale,
                                    size_t planes, size_t lws, cl_mem dst, int dst_off) {
  const clseg__arg args[] = {CLSEG__ARG(src),     CLSEG__ARG(src_off), CLSEG__ARG(dst),
                             CLSEG__ARG(dst_off), CLSEG__ARG(hw),      CLSEG__ARG(chunk),
                             CLSEG__ARG(scale)};
  const size_t global[2] = {(size_t)parts * lws, planes}, local[2] = {lws, 1};
  return CLSEG__LAUNCH(ctx, k, name, args, 2, global, local);
}

/* The GPU form: one work-group per plane reduces it as a tree in __local memory. When planes are
 * fewer than the row's SPLIT_GROUPS, each is cut into parts of at least SPLIT_CHUNK floats so that
 * the device still gets SPLIT_GROUPS work-groups, and a second pass reduces the parts. tv: the
 * row's LOCAL, SPLIT_GROUPS, SPLIT_CHUNK. */
static clseg_status global_gpu(clseg_context *ctx, const clseg_tensor *x, clseg_pool_kind kind,
                               const int tv[3], clseg_tensor *y) {
  const char *name = kind == CLSEG_POOL_MAX ? "global_pool_max_gpu" : "global_pool_avg_gpu";
  const size_t lws = clseg__fit_local(ctx, (size_t)tv[0]),
               planes = (size_t)(x->shape[0] * x->shape[1]);
  const size_t hw = (size_t)(x->shape[2] * x->shape[3]);
  char opts[64];
  const clseg__define defs[] = {{"LOCAL", (long)lws}};
  cl_kernel k;
  clseg_status s;
  CLSEG__CHECK(ctx, clseg__build_options(defs, CLSEG__COUNT(defs), opts, sizeof opts));
  if ((s = clseg__kernel(ctx, "pool.cl", opts, name, &k)) != CLSEG_OK)
    return s;
  size_t parts = planes >= (size_t)tv[1] ? 1 : ((size_t)tv[1] + planes - 1) / planes;
  const size_t most = (hw + (size_t)tv[2] - 1) / (size_t)tv[2];
  parts = parts < most ? parts : most;
  const size_t chunk = (hw + parts - 1) / parts;
  parts = (hw + chunk - 1) / chunk;
  const float inv = 1.0f / (float)hw;
  if (parts == 1)
    return global_gpu_pass(ctx, k, name, x->buf, (int)x->offset, (int)hw, (int)hw, 1, inv, planes,
                           lws, y->buf, (int)y->offset);
  cl_int err;
  cl_mem part =
      clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, planes * parts * sizeof(float), NULL, &err);
  if (err != CL_SUCCESS)
    return clseg__cl_fail(ctx, err, "global_pool: allocating %zu bytes of scratch",
                          planes * parts * sizeof(float));
  s = global_gpu_pass(ctx, k, name, x->buf, (int)x->offset, (int)hw, (int)chunk, (int)parts, 1.0f,
                      planes, lws, part, 0);
  if (s == CLSEG_OK)
    s = global_gpu_pass(ctx, k, name, part, 0, (int)parts, (int)parts, 1, inv, planes, lws, y->buf,
                        (int)y->offset);
  clReleaseMemObject(part); /* OpenCL keeps it until the passes finish */
  return s;
}

clseg_status clseg_global_pool(clseg_context *ctx, const clseg_tensor *x, clseg_pool_kind kind,
                               clseg_tensor *y) {
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "global_pool: context is NULL");
  clseg_status s = clseg__check_tensor(ctx, "global_pool", "input", x);
  if (s != CLSEG_OK)
    return s;
  if (kind != CLSEG_POOL_MAX && kind != CLSEG_POOL_AVG)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "global_pool: unknown pool kind %d", (int)kind);
  if (x->shape[2] < 1 || x->shape[3] < 1)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH, "global_pool %s: input %s has no pixels",
                       POOL_NAMES[kind], CLSEG__TSHAPE(x));
  const int64_t want[4] = {x->shape[0], x->shape[1], 1, 1};
  if ((s = clseg__check_output(ctx, "global_pool", y, want)) != CLSEG_OK)
    return s;
  cl_kernel k;
  const char *name = kind == CLSEG_POOL_MAX ? "global_pool_max" : "global_pool_avg";
  int tv[3], gpu;
  if ((s = clseg__tune_sizes(ctx, name, GLOBAL_KEYS, 3, tv)) != CLSEG_OK ||
      (s = clseg__tune_gpu(ctx, name, &gpu)) != CLSEG_OK)
    return s;
  if (gpu)
    return global_gpu(ctx, x, kind, tv, y);
  if ((s = clseg__kernel(ctx, "pool.cl", "", name, &k)) != CLSEG_OK)
    return s;
  int xo = (int)x->offset, yo = (int)y->offset, NC = (int)(x->shape[0] * x->shape[1]);
  int HW = (int)(x->shape[2] * x->shape[3]);
  const clseg__arg args[] = {CLSEG__ARG(x->buf), CLSEG__ARG(xo), CLSEG__ARG(y->buf),
                             CLSEG__ARG(yo),     CLSEG__ARG(NC), CLSEG__ARG(HW)};
  size_t local[1] = {pow2_upto((size_t)NC, (size_t)tv[0])};
  size_t global[1] = {clseg__round_up((size_t)NC, local[0])};
  return CLSEG__LAUNCH(ctx, k, name, args, 1, global, local);
}
