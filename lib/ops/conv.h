/* Internal interface of the conv family for planned execution: choose the variant, pack the weights and
 * allocate scratch once per plan, then run many times. The eager clseg_conv2d does both per call. */
#ifndef CLSEG_OPS_CONV_H
#define CLSEG_OPS_CONV_H

#include "clseg_ops.h"
#include "internal.h"

typedef struct clseg__conv2d_prep clseg__conv2d_prep;

/* Prepares conv2d of w over inputs of shape xshape with parameters p (activation included). Returns
 * CLSEG_UNSUPPORTED when no prepared path exists for these parameters: the caller then runs clseg_conv2d. */
clseg_status clseg__conv2d_prepare(clseg_context *ctx, const int64_t xshape[4], const clseg_tensor *w,
                                   const clseg_tensor *bias, const clseg_conv2d_params *p,
                                   clseg__conv2d_prep **out);
/* Runs a prepared conv: x of the prepared shape, residual optional (shaped like y). */
clseg_status clseg__conv2d_run(clseg_context *ctx, clseg__conv2d_prep *prep, const clseg_tensor *x,
                               const clseg_tensor *residual, clseg_tensor *y);
void clseg__conv2d_prep_free(clseg__conv2d_prep *prep);
/* The variant a prepared conv runs ("conv2d_vec" ...), for profiles and tests. */
const char *clseg__conv2d_prep_variant(const clseg__conv2d_prep *prep);

/* Packs weights [cout, cin, khw] into the layout of conv2d_vec (see cl/conv.cl). */
clseg_status clseg__conv2d_pack_weights(clseg_context *ctx, cl_mem w, int w_off, int cout, int cin, int khw,
                                        int s_co, int s_ci, int mr, cl_mem *out);

#endif
