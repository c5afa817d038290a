/* Helpers shared by the op host files in lib/ops/: argument checks and activation codes. */
#ifndef CLSEG_OPS_COMMON_H
#define CLSEG_OPS_COMMON_H

#include "clseg_ops.h"
#include "internal.h"

/* The activation's kernel code and its parameters with defaults applied (leaky 0.01, hard-sigmoid
 * 1/6, 0.5). act may be NULL (none). Returns CLSEG_INVALID_ARGUMENT for an unknown kind, naming
 * `op`. */
clseg_status clseg__act_resolve(clseg_context *ctx, const char *op, const clseg_activation *act,
                                int *kind, float *alpha, float *beta);

/* Checks that a required tensor is present and lives on ctx; `role` names it in the message
 * ("conv2d: input"). */
clseg_status clseg__check_tensor(clseg_context *ctx, const char *op, const char *role,
                                 const clseg_tensor *t);
/* Same for an optional tensor (NULL passes) that must hold exactly `count` elements when present.
 */
clseg_status clseg__check_optional(clseg_context *ctx, const char *op, const char *role,
                                   const clseg_tensor *t, size_t count);
/* Checks that y is an NCHW (rank 4) tensor of the shape `want`. */
clseg_status clseg__check_output(clseg_context *ctx, const char *op, const clseg_tensor *y,
                                 const int64_t want[4]);
/* Checks that y has x's rank and dims (elementwise ops of any rank). */
clseg_status clseg__check_like(clseg_context *ctx, const char *op, const clseg_tensor *y,
                               const clseg_tensor *x);
/* Kernel offsets and sizes are ints: checks a tensor fits. */
int clseg__fits_int(const clseg_tensor *t);

/* The cells keys[0..n) (n <= 8) of variant's tuning row for ctx's device (lib/tuning.h, no layer
 * shape): work-group sizes and per-work-item counts, so each must be a whole number from 1 to
 * 65536; another value (a hand-edited row or tuning file) is CLSEG_FORMAT naming the row. */
clseg_status clseg__tune_sizes(clseg_context *ctx, const char *variant, const char *const *keys,
                               int n, int *out);
/* The GPU cell of variant's row: 1 runs the variant's GPU form (`<variant>_gpu`, work-groups of
 * exactly the row's LOCAL), 0 its CPU form. Another value is CLSEG_FORMAT naming the row. */
clseg_status clseg__tune_gpu(clseg_context *ctx, const char *variant, int *gpu);
/* A tuning row's work-group size, halved while the device cannot run it. */
size_t clseg__fit_local(const clseg_context *ctx, size_t wg);

/* The shape of a streaming kernel (activation, batchnorm, eltwise, layout) from the cells LOCAL,
 * VPW and GPU of its tuning row. */
typedef struct {
  size_t local; /* work-items per work-group */
  size_t chunk; /* floats per work-item: 16 * VPW in the CPU form, 1 in the GPU form */
  int gpu;      /* 1: the variant's `<variant>_gpu` kernel, one float per work-item over a 1-D
                   range in work-groups of exactly LOCAL; 0: the variant's own kernel, runs of VPW
                   float16 vectors */
} clseg__stream_shape;

/* Looks up variant's row and returns the kernel of cl/<file> it selects (`variant` built with
 * -DVPW, or `variant`_gpu built with -DLOCAL) and its shape. GPU other than 0 or 1 is
 * CLSEG_FORMAT naming the row, like a bad LOCAL or VPW. */
clseg_status clseg__stream_kernel(clseg_context *ctx, const char *file, const char *variant,
                                  cl_kernel *k, clseg__stream_shape *out);

/* ---- reductions along a run of dims (rows.c; cl/rows.h): softmax, layernorm, groupnorm,
 * reduce_axes ---- */
/* x viewed as outer rows of n elements `inner` apart: element j of row (o, i) at
 * o * n * inner + j * inner + i. */
typedef struct {
  int64_t outer, n, inner;
} clseg__rows;
/* The dims first .. first + count - 1 of x as rows: axis in [-rank, rank) (negative: from the
 * last), naxes 0 (to the last dim) or >= 1 with first + count <= rank. Checks x (role "input") and
 * that its element count fits the kernels' ints; errors name op, x's shape and the fault. */
clseg_status clseg__rows_of(clseg_context *ctx, const char *op, const clseg_tensor *x, int axis,
                            int naxes, int *first, int *count, clseg__rows *r);
/* has_vec of clseg__rows_launch: the variant has a float16 form `<variant>_vec` for rows with
 * inner >= 16 (16 neighbouring rows per work-item), and with VEC_ROWS also for contiguous rows
 * (inner 1, n >= 16; one row per work-item in vectors along it). */
#define CLSEG__ROWS_VEC      1
#define CLSEG__ROWS_VEC_ROWS 2
/* Launches variant's form for r, as its tuning row says (cells LOCAL, GPU, COLS, and VEC where
 * has_vec): the work-group form `<variant>_wg` (LOCAL work-items per row, built with -DLOCAL) when
 * GPU is 1 and r's inner is below COLS; else, when VEC is 1 and has_vec covers r, the float16 form
 * `<variant>_vec`; else the column form `<variant>` (one work-item per row). args is the
 * kernels' common argument list. */
clseg_status clseg__rows_launch(clseg_context *ctx, const char *file, const char *variant,
                                int has_vec, const char *op, const clseg__rows *r,
                                const clseg__arg *args, int nargs);

#endif
