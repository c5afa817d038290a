/* conv_transpose2d host side (PyTorch semantics): checks, output shape, the variant table (generic
 * gather, the kernel-2 stride-2 up-convolution, and the GPU-shaped gather with work-groups of
 * 64-256) with its selection. Kernels: cl/conv_transpose.cl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "conv.h"
#include "tuning.h"

#define OP "conv_transpose2d"

/* Defined in conv.c: packs weights into [ceil(cout / mr)][cin][khw][mr] panels. */

/* As clseg_conv_transpose2d with a forced variant (NULL or "auto" to choose): for tests and
 * benchmarks until the public params carry a variant field. */
clseg_status clseg__conv_transpose2d_variant(clseg_context *ctx, const clseg_tensor *x,
                                             const clseg_tensor *w, const clseg_tensor *bias,
                                             const clseg_conv_transpose2d_params *p,
                                             const char *variant, clseg_tensor *y);

typedef struct {
  const clseg_tensor *x, *w, *bias;
  clseg_tensor *y;
  int n, cin, h, w_, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups, oh, ow;
  int act;
  float alpha, beta;
  int mr, lws; /* tuned (cl/tuning/conv.tsv): output channels per work-item, work-group size */
  int tx, ty, px,
      bk;        /* conv_transpose2d_gpu's work-group, columns per item, staged input channels */
  char row[400]; /* the rows that supplied them */
} convt_job;

static int or1(int v) {
  return v == 0 ? 1 : v;
}

static clseg_status check_params(clseg_context *ctx, const clseg_conv_transpose2d_params *p) {
  if (p->stride_h < 0 || p->stride_w < 0 || p->dilation_h < 0 || p->dilation_w < 0 || p->groups < 0)
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        OP ": stride (%d, %d), dilation (%d, %d) and groups %d must be positive (0 means 1)",
        p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->groups);
  if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 ||
      p->output_pad_h < 0 || p->output_pad_w < 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       OP ": padding and output padding must not be negative");
  /* PyTorch's rule: output padding must be smaller than either the stride or the dilation */
  if ((p->output_pad_h >= or1(p->stride_h) && p->output_pad_h >= or1(p->dilation_h)) ||
      (p->output_pad_w >= or1(p->stride_w) && p->output_pad_w >= or1(p->dilation_w)))
    return clseg__fail(
        ctx, CLSEG_INVALID_ARGUMENT,
        OP ": output padding (%d, %d) must be smaller than the stride (%d, %d) or the dilation "
           "(%d, %d)",
        p->output_pad_h, p->output_pad_w, or1(p->stride_h), or1(p->stride_w), or1(p->dilation_h),
        or1(p->dilation_w));
  return CLSEG_OK;
}

static clseg_status shape_of(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                             const clseg_conv_transpose2d_params *p, int64_t out[4]) {
  if (!x || !w)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, OP ": %s is NULL", !x ? "input" : "weight");
  clseg_status s = check_params(ctx, p);
  if (s != CLSEG_OK)
    return s;
  const int64_t *xs = x->shape, *ws = w->shape, g = or1(p->groups);
  if (xs[1] != ws[0])
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       OP ": input %s has %lld channels, weight %s expects %lld", CLSEG__SHAPE(xs),
                       (long long)xs[1], CLSEG__SHAPE(ws), (long long)ws[0]);
  if (xs[1] % g != 0)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT,
                       OP ": groups %lld must divide the input channels (input %s)", (long long)g,
                       CLSEG__SHAPE(xs));
  out[0] = xs[0];
  out[1] = ws[1] * g;
  out[2] = (xs[2] - 1) * or1(p->stride_h) - p->pad_top - p->pad_bottom +
           (int64_t)or1(p->dilation_h) * (ws[2] - 1) + p->output_pad_h + 1;
  out[3] = (xs[3] - 1) * or1(p->stride_w) - p->pad_left - p->pad_right +
           (int64_t)or1(p->dilation_w) * (ws[3] - 1) + p->output_pad_w + 1;
  if (out[2] < 1 || out[3] < 1)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       OP ": padding removes the whole output (input %s, weight %s)",
                       CLSEG__SHAPE(xs), CLSEG__SHAPE(ws));
  return CLSEG_OK;
}

clseg_status clseg_conv_transpose2d_shape(const clseg_tensor *x, const clseg_tensor *w,
                                          const clseg_conv_transpose2d_params *p, int64_t out[4]) {
  const clseg_conv_transpose2d_params none = {0};
  if (!out)
    return clseg__fail(x ? x->ctx : NULL, CLSEG_INVALID_ARGUMENT,
                       OP "_shape: NULL output argument");
  return shape_of(x ? x->ctx : NULL, x, w, p ? p : &none, out);
}

static clseg_status check(clseg_context *ctx, const clseg_tensor *x, const clseg_tensor *w,
                          const clseg_tensor *bias, const clseg_conv_transpose2d_params *p,
                          clseg_tensor *y, convt_job *j) {
  int64_t ys[4];
  clseg_status s;
  if ((s = clseg__check_tensor(ctx, OP, "input", x)) != CLSEG_OK ||
      (s = clseg__check_tensor(ctx, OP, "weight", w)) != CLSEG_OK ||
      (s = shape_of(ctx, x, w, p, ys)) != CLSEG_OK ||
      (s = clseg__check_output(ctx, OP, y, ys)) != CLSEG_OK ||
      (s = clseg__check_optional(ctx, OP, "bias", bias, (size_t)ys[1])) != CLSEG_OK ||
      (s = clseg__act_resolve(ctx, OP, &p->act, &j->act, &j->alpha, &j->beta)) != CLSEG_OK)
    return s;
  *j = (convt_job){x,
                   w,
                   bias,
                   y,
                   (int)ys[0],
                   (int)x->shape[1],
                   (int)x->shape[2],
                   (int)x->shape[3],
                   (int)ys[1],
                   (int)w->shape[2],
                   (int)w->shape[3],
                   or1(p->stride_h),
                   or1(p->stride_w),
                   or1(p->dilation_h),
                   or1(p->dilation_w),
                   p->pad_top,
                   p->pad_left,
                   or1(p->groups),
                   (int)ys[2],
                   (int)ys[3],
                   j->act,
                   j->alpha,
                   j->beta,
                   0,
                   0,
                   0,
                   0,
                   0,
                   0,
                   ""};
  return CLSEG_OK;
}

/* ---- variants ---- */

static int direct_supported(const convt_job *j) {
  (void)j;
  return 1;
}

static int act_options(const convt_job *j, clseg__define *d) {
  d[0] = (clseg__define){"ACT", j->act};
  d[1] = (clseg__define){"LWS", j->lws};
  return 2;
}

static clseg_status direct_enqueue(clseg_context *ctx, const convt_job *j, const char *opts,
                                   cl_mem wp) {
  cl_kernel k;
  (void)wp;
  clseg_status s = clseg__kernel(ctx, "conv_transpose.cl", opts, "conv_transpose2d_direct", &k);
  if (s != CLSEG_OK)
    return s;
  const int xoff = (int)j->x->offset, woff = (int)j->w->offset, yoff = (int)j->y->offset;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y);
  const clseg__arg args[] = {
      CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),      CLSEG__ARG(j->cin),    CLSEG__ARG(j->h),
      CLSEG__ARG(j->w_),     CLSEG__ARG(j->w->buf), CLSEG__ARG(woff),      CLSEG__ARG(j->kh),
      CLSEG__ARG(j->kw),     CLSEG__ARG(j->sh),     CLSEG__ARG(j->sw),     CLSEG__ARG(j->dh),
      CLSEG__ARG(j->dw),     CLSEG__ARG(j->pt),     CLSEG__ARG(j->pl),     CLSEG__ARG(j->groups),
      CLSEG__ARG(b.buf),     CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(j->y->buf),
      CLSEG__ARG(yoff),      CLSEG__ARG(j->cout),   CLSEG__ARG(j->oh),     CLSEG__ARG(j->ow),
      CLSEG__ARG(j->alpha),  CLSEG__ARG(j->beta)};
  const size_t lws = (size_t)j->lws;
  const size_t global[3] = {clseg__round_up((size_t)j->ow, lws), (size_t)j->oh,
                            (size_t)j->n * (size_t)j->cout};
  const size_t local[3] = {lws, 1, 1};
  return CLSEG__LAUNCH(ctx, k, "conv_transpose2d_direct", args, 3, global, local);
}

/* The U-Net up-convolution: every output pixel has exactly one tap, and the output is exactly 2H x
 * 2W. */
static int k2s2_supported(const convt_job *j) {
  return j->kh == 2 && j->kw == 2 && j->sh == 2 && j->sw == 2 && j->dh == 1 && j->dw == 1 &&
         j->groups == 1 && j->oh == 2 * j->h && j->ow == 2 * j->w_;
}

static int k2s2_options(const convt_job *j, clseg__define *d) {
  d[0] = (clseg__define){"ACT", j->act};
  d[1] = (clseg__define){"MR", j->mr};
  d[2] = (clseg__define){"LWS", j->lws};
  return 3;
}

/* PyTorch's [Cin, Cout, 2, 2]: output channel co, input channel ci at co * 4 + ci * Cout * 4 */
static clseg_status k2s2_pack(clseg_context *ctx, const convt_job *j, cl_mem *wp) {
  return clseg__conv2d_pack_weights(ctx, j->w->buf, (int)j->w->offset, j->cout, j->cin, 4, 4,
                                    j->cout * 4, j->mr, wp);
}

/* wp: the packed weights of a prep, or NULL to pack them for this call. */
static clseg_status k2s2_enqueue(clseg_context *ctx, const convt_job *j, const char *opts,
                                 cl_mem packed) {
  cl_kernel k;
  cl_mem wp = packed;
  clseg_status s = clseg__kernel(ctx, "conv_transpose.cl", opts, "conv_transpose2d_k2s2", &k);
  if (s == CLSEG_OK && !wp)
    s = k2s2_pack(ctx, j, &wp);
  if (s == CLSEG_OK) {
    const int xoff = (int)j->x->offset, yoff = (int)j->y->offset;
    const int cblocks = (j->cout + j->mr - 1) / j->mr, tiles_w = (j->w_ + 15) / 16;
    const clseg__opt_arg b = clseg__opt_of(j->bias, j->y);
    const clseg__arg args[] = {
        CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),      CLSEG__ARG(j->cin),    CLSEG__ARG(j->h),
        CLSEG__ARG(j->w_),     CLSEG__ARG(wp),        CLSEG__ARG(cblocks),   CLSEG__ARG(b.buf),
        CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(j->y->buf), CLSEG__ARG(yoff),
        CLSEG__ARG(j->cout),   CLSEG__ARG(tiles_w),   CLSEG__ARG(j->alpha),  CLSEG__ARG(j->beta)};
    const size_t tiles = (size_t)j->oh * (size_t)tiles_w;
    const size_t lws = (size_t)j->lws;
    const size_t global[3] = {clseg__round_up(tiles, lws), (size_t)cblocks, (size_t)j->n};
    const size_t local[3] = {lws, 1, 1};
    s = CLSEG__LAUNCH(ctx, k, "conv_transpose2d_k2s2", args, 3, global, local);
  }
  if (wp && wp != packed)
    clReleaseMemObject(wp);
  return s;
}

/* ---- conv_transpose2d_gpu ---- */

/* Weights of one input channel for every tap stay within 4 KiB per output channel (64 x 64 taps,
 * FCN-32s's up-sampling), so that a slice of one channel fits any device's __local memory. */
static int gpu_supported(const convt_job *j) {
  return j->kh * j->kw <= 1024;
}

static int gcd(int a, int b) {
  return b ? gcd(b, a % b) : a;
}

static int gpu_options(const convt_job *j, clseg__define *d) {
  int n = 0;
  d[n++] = (clseg__define){"ACT", j->act};
  d[n++] = (clseg__define){"BK", j->bk};
  d[n++] = (clseg__define){"DH", j->dh};
  d[n++] = (clseg__define){"DW", j->dw};
  d[n++] = (clseg__define){"KH", j->kh};
  d[n++] = (clseg__define){"KSH", j->sh / gcd(j->sh, j->dh)};
  d[n++] = (clseg__define){"KSW", j->sw / gcd(j->sw, j->dw)};
  d[n++] = (clseg__define){"KW", j->kw};
  d[n++] = (clseg__define){"PX", j->px};
  d[n++] = (clseg__define){"RM", j->mr};
  d[n++] = (clseg__define){"SH", j->sh};
  d[n++] = (clseg__define){"SW", j->sw};
  d[n++] = (clseg__define){"TX", j->tx};
  d[n++] = (clseg__define){"TY", j->ty};
  return n;
}

static clseg_status gpu_enqueue(clseg_context *ctx, const convt_job *j, const char *opts,
                                cl_mem wp) {
  cl_kernel k;
  (void)wp;
  clseg_status s = clseg__kernel(ctx, "conv_transpose.cl", opts, "conv_transpose2d_gpu", &k);
  if (s != CLSEG_OK)
    return s;
  const int xoff = (int)j->x->offset, woff = (int)j->w->offset, yoff = (int)j->y->offset;
  const int cblocks = (j->cout / j->groups + j->mr - 1) / j->mr;
  const clseg__opt_arg b = clseg__opt_of(j->bias, j->y);
  const clseg__arg args[] = {CLSEG__ARG(j->x->buf), CLSEG__ARG(xoff),      CLSEG__ARG(j->cin),
                             CLSEG__ARG(j->h),      CLSEG__ARG(j->w_),     CLSEG__ARG(j->w->buf),
                             CLSEG__ARG(woff),      CLSEG__ARG(j->pt),     CLSEG__ARG(j->pl),
                             CLSEG__ARG(j->groups), CLSEG__ARG(cblocks),   CLSEG__ARG(b.buf),
                             CLSEG__ARG(b.off),     CLSEG__ARG(b.present), CLSEG__ARG(j->y->buf),
                             CLSEG__ARG(yoff),      CLSEG__ARG(j->cout),   CLSEG__ARG(j->oh),
                             CLSEG__ARG(j->ow),     CLSEG__ARG(j->alpha),  CLSEG__ARG(j->beta)};
  const size_t tx = (size_t)j->tx, ty = (size_t)j->ty, cols = tx * (size_t)j->px;
  const size_t global[3] = {((size_t)j->ow + cols - 1) / cols * tx,
                            clseg__round_up((size_t)j->oh, ty),
                            (size_t)j->n * (size_t)j->groups * (size_t)cblocks};
  const size_t local[3] = {tx, ty, 1};
  return CLSEG__LAUNCH(ctx, k, "conv_transpose2d_gpu", args, 3, global, local);
}

typedef struct {
  const char *name;
  int (*supported)(const convt_job *j);
  int (*options)(const convt_job *j, clseg__define *defs);
  clseg_status (*enqueue)(clseg_context *ctx, const convt_job *j, const char *opts, cl_mem wp);
  clseg_status (*pack)(clseg_context *ctx, const convt_job *j,
                       cl_mem *wp); /* once per prep, or NULL */
} convt_variant;

/* In the order "auto" tries them; conv_transpose2d_gpu only where the conv_transpose2d row's GPU
 * cell asks for it (auto_gpu). */
static const convt_variant VARIANTS[] = {
    {"conv_transpose2d_k2s2", k2s2_supported, k2s2_options, k2s2_enqueue, k2s2_pack},
    {"conv_transpose2d_direct", direct_supported, act_options, direct_enqueue, NULL},
    {"conv_transpose2d_gpu", gpu_supported, gpu_options, gpu_enqueue, NULL},
};
#define GPU_VARIANT (&VARIANTS[2])
#define NVARIANTS   (int)(sizeof VARIANTS / sizeof VARIANTS[0])

/* The GPU variant's local-memory cap: its weight slice of bk input channels x mr output channels x
 * taps stays within LOCAL_BYTES, fewer channels where the kernel is large (at least one each). */
static void gpu_fit(convt_job *j, double local_bytes) {
  const double tap_bytes = (double)j->kh * j->kw * sizeof(float);
  const int cout_g = j->cout / j->groups;
  while (j->mr > 1 && j->mr / 2 >= cout_g) /* fewer output channels than a block: halve it */
    j->mr /= 2;
  while (j->mr > 1 && tap_bytes * j->mr > local_bytes)
    j->mr /= 2;
  const int fit = (int)(local_bytes / (tap_bytes * j->mr));
  j->bk = j->bk < fit ? j->bk : fit;
  if (j->bk < 1)
    j->bk = 1;
  if (j->ow <= j->tx) /* a map no wider than one row of work-items: one column each */
    j->px = 1;
}

/* The chosen variant's cells for j's shape; the direct kernel has no register tile (MR). */
static clseg_status tune(clseg_context *ctx, convt_job *j, const convt_variant *v) {
  static const char *const keys[] = {"LWS", "MR"};
  static const char *const gpu_keys[] = {"TX", "TY", "PX", "RM", "BK", "LOCAL_BYTES"};
  const int gpu = v == GPU_VARIANT, nkeys = gpu ? 6 : v->pack ? 2 : 1;
  double vals[6] = {0, 8};
  char shape[CLSEG__TUNE_SHAPE_LEN];
  clseg__tuned t;
  snprintf(shape, sizeof shape, "n%d.c%d.h%d.w%d.o%d.k%dx%d.s%dx%d.d%dx%d.p%dx%d.g%d", j->n, j->cin,
           j->h, j->w_, j->cout, j->kh, j->kw, j->sh, j->sw, j->dh, j->dw, j->pt, j->pl, j->groups);
  clseg_status s = clseg__tune_get(ctx, v->name, shape, gpu ? gpu_keys : keys, nkeys, vals, &t);
  if (gpu) {
    j->tx = (int)vals[0], j->ty = (int)vals[1], j->px = (int)vals[2], j->mr = (int)vals[3];
    j->bk = (int)vals[4];
    if (s == CLSEG_OK && (j->tx < 1 || j->ty < 1 || j->px < 1 || j->mr < 1 || j->bk < 1))
      s = clseg__fail(ctx, CLSEG_INTERNAL, OP ": %s: tuned sizes must be positive", v->name);
    gpu_fit(j, vals[5]);
  } else {
    j->lws = (int)vals[0];
    j->mr = (int)vals[1];
  }
  if (s == CLSEG_OK)
    clseg__tuned_describe(&t, j->row, sizeof j->row);
  return s;
}

/* Whether "auto" takes conv_transpose2d_gpu: the GPU cell of the conv_transpose2d row (1 on GPUs,
 * whose lanes the CPU-shaped variants leave idle). */
static clseg_status auto_gpu(clseg_context *ctx, const convt_job *j, int *out) {
  static const char *const keys[] = {"GPU"};
  double v[1] = {0};
  clseg_status s = clseg__tune_get(ctx, OP, NULL, keys, 1, v, NULL);
  *out = s == CLSEG_OK && v[0] != 0 && GPU_VARIANT->supported(j);
  return s;
}

static clseg_status select_variant(clseg_context *ctx, convt_job *j, const char *want,
                                   const convt_variant **out) {
  const int automatic = !want || !*want || !strcmp(want, "auto");
  int gpu = 0;
  if (automatic) {
    clseg_status s = auto_gpu(ctx, j, &gpu);
    if (s != CLSEG_OK)
      return s;
    if (gpu) {
      *out = GPU_VARIANT;
      return tune(ctx, j, *out);
    }
  }
  for (int i = 0; i < NVARIANTS; i++) {
    if (!automatic && strcmp(want, VARIANTS[i].name) != 0)
      continue;
    if (VARIANTS[i].supported(j)) {
      *out = &VARIANTS[i];
      return tune(ctx, j, *out);
    }
    if (!automatic)
      return clseg__fail(
          ctx, CLSEG_UNSUPPORTED,
          OP ": variant '%s' does not support this conv (input %s, weight %s, stride %d x %d)",
          want, CLSEG__TSHAPE(j->x), CLSEG__TSHAPE(j->w), j->sh, j->sw);
  }
  if (automatic)
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": no variant supports this conv");
  return clseg__fail(
      ctx, CLSEG_INVALID_ARGUMENT,
      OP ": unknown variant '%s' (known: auto, conv_transpose2d_k2s2, conv_transpose2d_direct, "
         "conv_transpose2d_gpu)",
      want);
}

clseg_status clseg__conv_transpose2d_variant(clseg_context *ctx, const clseg_tensor *x,
                                             const clseg_tensor *w, const clseg_tensor *bias,
                                             const clseg_conv_transpose2d_params *p,
                                             const char *variant, clseg_tensor *y) {
  const clseg_conv_transpose2d_params none = {0};
  convt_job j;
  const convt_variant *v = NULL;
  if (!ctx)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, OP ": NULL context");
  clseg_status s = check(ctx, x, w, bias, p ? p : &none, y, &j);
  if (s == CLSEG_OK)
    s = select_variant(ctx, &j, variant, &v);
  if (s != CLSEG_OK)
    return s;
  clseg__define defs[16];
  char opts[256];
  if (!clseg__build_options(defs, v->options(&j, defs), opts, sizeof opts))
    return clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", v->name);
  return v->enqueue(ctx, &j, opts, NULL);
}

clseg_status clseg_conv_transpose2d(clseg_context *ctx, const clseg_tensor *x,
                                    const clseg_tensor *w, const clseg_tensor *bias,
                                    const clseg_conv_transpose2d_params *p, clseg_tensor *y) {
  return clseg__conv_transpose2d_variant(ctx, x, w, bias, p, NULL, y);
}

/* ---- planned execution (lib/ops/conv.h): the variant, its options and packed weights, once ----
 */

struct clseg__convt_prep {
  convt_job j;
  const convt_variant *v;
  char opts[256];
  cl_mem wp;
};

clseg_status clseg__conv_transpose2d_prepare(clseg_context *ctx, const int64_t xshape[4],
                                             const clseg_tensor *w, const clseg_tensor *bias,
                                             const clseg_conv_transpose2d_params *p,
                                             clseg__convt_prep **out) {
  const clseg_conv_transpose2d_params none = {0};
  clseg_tensor x = {.rank = 4, .shape = {1, 1, 1, 1, 1, 1}};
  clseg__convt_prep *prep = calloc(1, sizeof *prep);
  clseg__define defs[16];
  *out = NULL;
  if (!prep)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, OP ": out of host memory");
  /* check() wants tensors: a stand-in input of the prepared shape and an output checked at run time
   */
  x.ctx = ctx;
  memcpy(x.shape, xshape, 4 * sizeof *xshape);
  x.count = (size_t)(xshape[0] * xshape[1] * xshape[2] * xshape[3]);
  x.buf = w ? w->buf : NULL;
  int64_t ys[4];
  clseg_status s = shape_of(ctx, &x, w, p ? p : &none, ys);
  clseg_tensor y = x;
  memcpy(y.shape, ys, sizeof ys);
  y.count = (size_t)(ys[0] * ys[1] * ys[2] * ys[3]);
  if (s == CLSEG_OK)
    s = check(ctx, &x, w, bias, p ? p : &none, &y, &prep->j);
  if (s == CLSEG_OK)
    s = select_variant(ctx, &prep->j, NULL, &prep->v);
  if (s == CLSEG_OK &&
      !clseg__build_options(defs, prep->v->options(&prep->j, defs), prep->opts, sizeof prep->opts))
    s = clseg__fail(ctx, CLSEG_INTERNAL, OP ": build options of %s do not fit", prep->v->name);
  if (s == CLSEG_OK && prep->v->pack)
    s = prep->v->pack(ctx, &prep->j, &prep->wp);
  if (s != CLSEG_OK) {
    clseg__conv_transpose2d_prep_free(prep);
    return s;
  }
  prep->j.x = NULL, prep->j.y = NULL;
  *out = prep;
  return CLSEG_OK;
}

clseg_status clseg__conv_transpose2d_run(clseg_context *ctx, clseg__convt_prep *prep,
                                         const clseg_tensor *x, clseg_tensor *y) {
  const int64_t xs[4] = {prep->j.n, prep->j.cin, prep->j.h, prep->j.w_};
  const int64_t ys[4] = {prep->j.n, prep->j.cout, prep->j.oh, prep->j.ow};
  clseg_status s;
  if ((s = clseg__check_tensor(ctx, OP, "input", x)) != CLSEG_OK ||
      (s = clseg__check_output(ctx, OP, y, ys)) != CLSEG_OK)
    return s;
  if (memcmp(x->shape, xs, sizeof xs) != 0)
    return clseg__fail(ctx, CLSEG_SHAPE_MISMATCH,
                       OP ": input has shape %s, the conv was prepared for %s", CLSEG__TSHAPE(x),
                       CLSEG__SHAPE(xs));
  convt_job j = prep->j;
  j.x = x, j.y = y;
  return prep->v->enqueue(ctx, &j, prep->opts, prep->wp);
}

void clseg__conv_transpose2d_prep_free(clseg__convt_prep *prep) {
  if (!prep)
    return;
  if (prep->wp)
    clReleaseMemObject(prep->wp);
  free(prep);
}

int clseg__conv_transpose2d_prep_drop_weight(clseg__convt_prep *prep) {
  if (!prep || !prep->wp)
    return 0; /* conv_transpose2d_direct reads j.w */
  prep->j.w = NULL;
  return 1;
}

size_t clseg__conv_transpose2d_prep_weight_bytes(const clseg__convt_prep *prep) {
  size_t bytes = 0;
  if (prep && prep->wp &&
      clGetMemObjectInfo(prep->wp, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) != CL_SUCCESS)
    bytes = 0;
  return bytes;
}

void clseg__conv_transpose2d_prep_tuning(const clseg__convt_prep *prep, const char **variant,
                                         const char **options, const char **rows) {
  *variant = prep ? prep->v->name : NULL;
  *options = prep ? prep->opts : NULL;
  *rows = prep ? prep->j.row : NULL;
}
