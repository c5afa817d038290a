/* Internal interface of the conv family for planned execution: choose the variant, pack the weights
 * and allocate scratch once per plan, then run many times. The eager clseg_conv2d does both per
 * call. */
#ifndef CLSEG_OPS_CONV_H
#define CLSEG_OPS_CONV_H

#include "clseg_ops.h"
#include "internal.h"

typedef struct clseg__conv2d_prep clseg__conv2d_prep;

/* ACT of the programs shared by small layers: the output kept within [alpha, beta] (ACT_BOUNDS in
 * cl/conv_common.h). */
#define CLSEG__ACT_BOUNDS (-1)

/* Prepares conv2d of w over inputs of shape xshape with parameters p (activation included). Returns
 * CLSEG_UNSUPPORTED when no prepared path exists for these parameters: the caller then runs
 * clseg_conv2d. w and bias are borrowed: they must outlive the prep (w only until
 * clseg__conv2d_prep_drop_weight returns 1). */
clseg_status clseg__conv2d_prepare(clseg_context *ctx, const int64_t xshape[4],
                                   const clseg_tensor *w, const clseg_tensor *bias,
                                   const clseg_conv2d_params *p, clseg__conv2d_prep **out);
/* The same, with low_memory set: no variant whose packed weights exceed about twice the weights
 * (see clseg_plan_options.low_memory). */
clseg_status clseg__conv2d_prepare_ex(clseg_context *ctx, const int64_t xshape[4],
                                      const clseg_tensor *w, const clseg_tensor *bias,
                                      const clseg_conv2d_params *p, int low_memory,
                                      clseg__conv2d_prep **out);
/* Runs a prepared conv: x of the prepared shape, residual optional (shaped like y). Enqueues only.
 */
clseg_status clseg__conv2d_run(clseg_context *ctx, clseg__conv2d_prep *prep, const clseg_tensor *x,
                               const clseg_tensor *residual, clseg_tensor *y);
void clseg__conv2d_prep_free(clseg__conv2d_prep *prep);
/* The variant a prepared conv runs ("conv2d_vec" ...), for profiles and tests. */
const char *clseg__conv2d_prep_variant(const clseg__conv2d_prep *prep);
/* Its main kernel's build options and the tuning rows it used (strings owned by the prep). */
void clseg__conv2d_prep_tuning(const clseg__conv2d_prep *prep, const char **options,
                               const char **rows);

/* The same for conv_transpose2d (lib/ops/conv_transpose.c). */
typedef struct clseg__convt_prep clseg__convt_prep;
clseg_status clseg__conv_transpose2d_prepare(clseg_context *ctx, const int64_t xshape[4],
                                             const clseg_tensor *w, const clseg_tensor *bias,
                                             const clseg_conv_transpose2d_params *p,
                                             clseg__convt_prep **out);
clseg_status clseg__conv_transpose2d_run(clseg_context *ctx, clseg__convt_prep *prep,
                                         const clseg_tensor *x, clseg_tensor *y);
void clseg__conv_transpose2d_prep_free(clseg__convt_prep *prep);
void clseg__conv_transpose2d_prep_tuning(const clseg__convt_prep *prep, const char **variant,
                                         const char **options, const char **rows);

/* Packs weights [cout, cin, khw] into the layout of conv2d_vec (see cl/conv_helpers.cl). */
clseg_status clseg__conv2d_pack_weights(clseg_context *ctx, cl_mem w, int w_off, int cout, int cin,
                                        int khw, int s_co, int s_ci, int mr, cl_mem *out);

/* ---- shared by the conv2d host files (conv.c, conv_winograd.c) ---- */

/* One conv with its defaults applied, as ints the kernels take. x, res and y are set per run. */
typedef struct {
  const clseg_tensor *x, *w, *bias, *res;
  clseg_tensor *y;
  int n, cin, h, w_, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, oh, ow;
  int act;
  float alpha, beta;
} clseg__conv_job;

typedef struct clseg__conv_variant clseg__conv_variant;

/* A prepared conv's tuned values (cl/tuning/conv.tsv, or the user's tuning file for its shape) and
 * what the plan's kernel list reports about it. */
typedef struct {
  int mr, nv, lws;   /* register tile rows (output channels), float16 vectors, work-group size */
  double v[6];       /* the variant's other cells, in the order of its key list */
  char row[400];     /* the rows that supplied them */
  char options[512]; /* the build options of the variant's main kernel */
  int helper_lws;    /* work-group size of its helper kernels (clseg__conv_helper) */
} clseg__conv_tuning;

/* The work-group tile of conv2d_gemm's kernel (cl/conv_gemm.cl): MWG x NWG outputs (channels x
 * pixels) per work-group, KWG the K-slice staged in __local memory, MDIMC x NDIMC work-items, VWM /
 * VWN the __local vector widths. */
typedef struct {
  int mwg, nwg, kwg, mdimc, ndimc, vwm, vwn;
} clseg__gemm_tile;

/* One launch shape of conv2d_gemm: tiles along channels (per group) and pixels, K padded to a KWG
 * multiple, split into `splits` slices of kspan. */
typedef struct {
  int mblocks, nblocks, kpad, kspan, splits;
} clseg__gemm_grid;

/* What each variant keeps between prepare and run besides its packed weights: its kernels (built
 * once, owned by the context) and the geometry its runs launch over. */

/* conv2d_direct, conv2d_depthwise and conv2d_vec (conv.c): the conv kernel, and the copy of the
 * input the vector kernels read, zero-padded (pad) or packed into one panel per pixel tile
 * (pack_input). */
typedef struct {
  cl_kernel conv, pad, pack_input;
  int input;   /* conv2d_vec: how it reads its input (padded, in place or packed; conv.c) */
  int tile_w;  /* pixels per tile */
  int tiles_w; /* tiles per output row (per image where the input is read flat or packed) */
  int bounds;  /* 1: a shared program's activation, the output kept within [lo, hi] (conv.c) */
  float lo, hi;
  int hp, wp;  /* the zero-padded input's plane height and width */
} clseg__conv_vec_state;

/* conv2d_winograd and conv2d_winograd2x2 (conv_winograd.c). */
typedef struct {
  cl_kernel gemm, input, output, pad;
  int m;                /* output tile side: 4 or 2 */
  int cblocks;          /* blocks of MR output channels */
  int tiles_w, tiles_h; /* tiles per row and per column of an image */
  int band_rows;        /* tile rows per band */
  int tp;               /* tiles of a band, rounded to whole vector tiles */
  int hp, wp;           /* the zero-padded input's plane height and width */
} clseg__conv_winograd_state;

/* conv2d_winograd_dilated (conv_winograd.c): the Winograd conv over the mosaic of the dilation's
 * sub-grids. */
typedef struct {
  cl_kernel mosaic, unmosaic;
  clseg__conv2d_prep *inner; /* the Winograd conv over the mosaic, owned */
  int d;                     /* the dilation */
  int hs, ws;                /* a sub-grid's height and width */
  int hm, wm;                /* the mosaic's height and width */
} clseg__conv_dilated_state;

/* conv2d_gemm and conv2d_clblast (conv_gemm.c); conv2d_clblast uses reduce and grid.splits only. */
typedef struct {
  cl_kernel gemm, reduce;
  clseg__gemm_tile tile;
  clseg__gemm_grid grid;
} clseg__conv_gemm_state;

/* conv2d_winograd_gpu and conv2d_winograd2x2_gpu (conv_winograd_gpu.c). */
typedef struct {
  clseg__conv_gemm_state batched; /* the batched GEMMs on conv2d_gemm's kernel; grid per band */
  cl_kernel input, output;
  int m;         /* output tile side: 4 or 2 */
  int tiles_w;   /* tiles per row of an image */
  int tiles_img; /* tiles per image */
  int band;      /* tiles per band (the batch numbered as one) */
} clseg__conv_winograd_gpu_state;

/* conv2d_depthwise_gpu (conv_depthwise.c): its kernel and the options it was built with. */
typedef struct {
  cl_kernel conv;
  int tx, ty; /* the work-group */
  int px;     /* output columns per work-item */
} clseg__conv_depthwise_gpu_state;

struct clseg__conv2d_prep {
  const clseg__conv_variant *v;
  clseg__conv_job j;
  cl_mem wp;                                   /* packed weights, or NULL (the variant reads j.w) */
  size_t scratch_floats[CLSEG__SCRATCH_SLOTS]; /* per context scratch slot: padded or packed input,
                                                 Winograd's transformed tiles */
  union {                                      /* the state of v, named after its variants */
    clseg__conv_vec_state vec;
    clseg__conv_winograd_state wino;
    clseg__conv_dilated_state dilated;
    clseg__conv_gemm_state gemm;
    clseg__conv_winograd_gpu_state wino_gpu;
    clseg__conv_depthwise_gpu_state dw_gpu;
  } u;
  clseg__conv_tuning t;
};

struct clseg__conv_variant {
  const char *name;
  int (*supported)(const clseg__conv_job *j);
  /* builds the kernels, packs the weights, allocates the scratch of p (p->v and p->j are set) */
  clseg_status (*prepare)(clseg_context *ctx, clseg__conv2d_prep *p);
  /* enqueues on j (p->j with x, res and y set) */
  clseg_status (*run)(clseg_context *ctx, const clseg__conv2d_prep *p, const clseg__conv_job *j);
  /* frees what p's state owns besides p->wp, or NULL where it owns nothing */
  void (*release)(clseg__conv2d_prep *p);
};

/* An optional tensor (bias, residual) as kernel arguments: buffer, offset and a present flag, with
 * y's buffer standing in when absent (OpenCL takes no NULL buffer argument everywhere). */
typedef struct {
  cl_mem buf;
  int off, present;
} clseg__opt_arg;

static inline clseg__opt_arg clseg__opt_of(const clseg_tensor *t, const clseg_tensor *y) {
  return t ? (clseg__opt_arg){t->buf, (int)t->offset, 1} : (clseg__opt_arg){y->buf, 0, 0};
}

/* A helper kernel of cl/conv_helpers.cl (padding, packing, the dilation mosaics), from a program of
 * those only (caching its binary compiles no conv variant), built with the work-group size of the
 * conv2d_helpers row, which *lws receives (the padding, weight packing and mosaic kernels run in
 * work-groups of it; conv2d_pack_input keeps its own 4). */
clseg_status clseg__conv_helper(clseg_context *ctx, const char *kernel, cl_kernel *k, int *lws);
/* Enqueues conv2d_pad (k from clseg__conv_helper, work-groups of lws): every plane of j's input
 * into dst as planes of hp x wp floats, the image at (j->pt, j->pl), zero around it. The one owner
 * of conv2d_pad's argument order. */
clseg_status clseg__conv_pad_run(clseg_context *ctx, cl_kernel k, int lws, const clseg__conv_job *j,
                                 cl_mem dst, int hp, int wp);

/* A device buffer of `floats` floats; `what` names it in the error message. */
clseg_status clseg__conv_scratch(clseg_context *ctx, size_t floats, const char *what, cl_mem *out);
/* Reserves `floats` floats of the context's scratch slot for p's runs (every conv of a plan shares
 * the slots: they run one after another on the in-order queue). */
clseg_status clseg__conv_scratch_reserve(clseg_context *ctx, clseg__conv2d_prep *p, int slot,
                                         size_t floats, const char *what);
/* The buffer behind p's scratch slot, to pass to the kernels enqueued next. */
clseg_status clseg__conv_scratch_get(clseg_context *ctx, const clseg__conv2d_prep *p, int slot,
                                     cl_mem *out);

/* Looks up variant's cells for p's shape: keys[0..2] fill p->t.mr, nv, lws (NULL entries: none),
 * the rest p->t.v[]; p->t.row names the rows. */
clseg_status clseg__conv_tune(clseg_context *ctx, clseg__conv2d_prep *p, const char *variant,
                              const char *const *keys, int nkeys);
/* Builds kernel `name` of `file` with the -D options defs into *k, recording them in p->t.options
 * when record is set. */
clseg_status clseg__conv_build(clseg_context *ctx, clseg__conv2d_prep *p, const char *file,
                               const char *name, const clseg__define *defs, int ndefs, int record,
                               cl_kernel *k);
/* The layer-shape key of a conv in user tuning files:
 * "n1.c64.h256.w256.o64.k3x3.s1x1.d1x1.p1x1x1x1.g1". */
void clseg__conv_shape_key(const clseg__conv_job *j, char *buf, size_t size);

/* The conv family's choice rules (the conv2d row of cl/tuning/conv.tsv). */
typedef struct {
  int winograd;       /* 0: never choose a Winograd variant by itself */
  int wino_min_ch;    /* both channel counts at least this */
  int wino4_min_side; /* F(4x4) from outputs this high and wide, F(2x2) below */
  int dil_min_cin;    /* the dilated Winograd variant from this many input channels */
  int dil_min_sub;    /* ... and sub-grids of at least this side */
  double extra_bytes; /* Winograd weights may exceed the conv's by this much... */
  double min_payoff;  /* ...or more where they save this many GFLOP per extra MB */
  int gemm;           /* 1: convs other than depthwise take conv2d_gemm (GPU-shaped) */
  int dw_gpu;         /* 1: depthwise convs take conv2d_depthwise_gpu (GPU-shaped) */
  int wino_gpu;       /* 1: Winograd's choices take the GPU-shaped forms (conv2d_winograd*_gpu) */
} clseg__conv_rules;

/* The conv2d row the device matches (cl/tuning/conv.tsv). */
clseg_status clseg__conv_rules_of(clseg_context *ctx, clseg__conv_rules *r);

/* The Winograd variants (conv_winograd.c): F(4x4, 3x3) and F(2x2, 3x3), and dilated 3x3 convs as
 * one of them over a mosaic of the dilation's sub-grids. */
extern const clseg__conv_variant clseg__conv2d_winograd, clseg__conv2d_winograd2x2,
    clseg__conv2d_winograd_dilated;
/* Whether "auto" should take Winograd for j, and which tile: 4, 2, 1 for the dilated variant, or 0
 * for none. */
int clseg__conv2d_winograd_pick(const clseg__conv_job *j, const clseg__conv_rules *r,
                                int low_memory);
/* The GPU-shaped implicit GEMM with __local tiles and split-K (conv_gemm.c). */
extern const clseg__conv_variant clseg__conv2d_gemm;
/* conv2d_gemm's kernel for other variants (conv_gemm.c). clseg__gemm_tile_get reads `variant`'s
 * row for p's shape: the tile cells MWG NWG KWG MDIMC NDIMC VWM VWN into *tile, then the nextra
 * cells named by extra into extra_v; it checks them and that the device can launch the tile, and
 * names the rows in p->t.row. */
clseg_status clseg__gemm_tile_get(clseg_context *ctx, clseg__conv2d_prep *p, const char *variant,
                                  const char *const *extra, int nextra, double *extra_v,
                                  clseg__gemm_tile *tile);
/* Builds conv2d_gemm for tile over convs of g's geometry (kernel, stride, dilation, activation)
 * into *gemm, recording its options in p->t.options; and conv2d_gemm_reduce / conv2d_gemm_pack of
 * the same program into *reduce / *pack where those are not NULL. */
clseg_status clseg__gemm_kernels(clseg_context *ctx, clseg__conv2d_prep *p,
                                 const clseg__gemm_tile *tile, const clseg__conv_job *g,
                                 cl_kernel *gemm, cl_kernel *reduce, cl_kernel *pack);
/* Enqueues conv2d_gemm (k, built for tile and j's geometry) over j with weights packed for tile in
 * wp, on the launch shape grid; with grid->splits > 1 the raw sums go to part for
 * conv2d_gemm_reduce. */
clseg_status clseg__gemm_launch(clseg_context *ctx, const clseg__gemm_tile *tile, cl_kernel k,
                                const clseg__conv_job *j, cl_mem wp, const clseg__gemm_grid *grid,
                                cl_mem part);
/* GPU-shaped Winograd F(4x4, 3x3) and F(2x2, 3x3): transforms as GPU kernels, the batched GEMMs
 * on conv2d_gemm's tiled kernel (conv_winograd_gpu.c). */
extern const clseg__conv_variant clseg__conv2d_winograd_gpu, clseg__conv2d_winograd2x2_gpu;
/* A 1x1 conv as CLBlast's SGEMM (conv_gemm.c). */
extern const clseg__conv_variant clseg__conv2d_clblast;
/* The GPU-shaped depthwise conv (conv_depthwise.c), channel multipliers included. */
extern const clseg__conv_variant clseg__conv2d_depthwise_gpu;

/* ---- what a prep holds, for the planner (lib/plan.c) ---- */

/* When the prepared variant runs from its packed copy only (conv2d_vec, the Winograd variants,
 * conv_transpose2d_k2s2), forgets the borrowed weight tensor and returns 1: the caller may then
 * free it (OpenCL keeps a released buffer until the queued packing that reads it has run). Returns
 * 0 when the variant reads it at run time (the direct and depthwise kernels). */
int clseg__conv2d_prep_drop_weight(clseg__conv2d_prep *prep);
int clseg__conv_transpose2d_prep_drop_weight(clseg__convt_prep *prep);
/* Bytes of the prep's packed (or transformed) weights, 0 when it has none. */
size_t clseg__conv2d_prep_weight_bytes(const clseg__conv2d_prep *prep);
size_t clseg__conv_transpose2d_prep_weight_bytes(const clseg__convt_prep *prep);

#endif
