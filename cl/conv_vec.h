/* The CPU-vectorised conv kernels' shared macros (cl/conv_vec.cl, cl/conv_depthwise_vec.cl; host side
 * lib/ops/conv.c): register tiles of float16 vectors along an output row, and their epilogue. */
#ifndef CLSEG_CONV_VEC_H
#define CLSEG_CONV_VEC_H

#include "conv_common.h"
#include "conv_geometry.h"

#ifndef MR
#define MR 8 /* conv2d_vec: output channels per work-item (rows of the register tile) */
#endif
#ifndef NV
#define NV 2 /* float16 vectors per work-item along a row: a tile of 16 * NV output pixels */
#endif
#ifndef LWS
#define LWS 4 /* work-group size along dim 0 (the host uses the same local size) */
#endif
#ifndef PIX_FIRST
#define PIX_FIRST 1 /* conv2d_vec: 1 puts pixel tiles in dim 0 (neighbours share a weight panel) */
#endif
#ifndef PACKED
#define PACKED 0 /* conv2d_vec: 1 reads a 1x1 conv's input packed by conv2d_pack_input as [n][tiles][cin][TW] */
#endif
#ifndef SKIP_ROWS
#define SKIP_ROWS 0 /* conv2d_vec: 1 skips the kernel rows of a tile that read only padding (large dilations) */
#endif
#ifndef TILE_OH
#define TILE_OH 1 /* conv2d_vec: 2 puts the NV = 2 vectors on two output rows (for rows of <= 16 pixels) */
#endif
#if TILE_OH == 2
#define TW        16
#define VEC_X(j)  ((j)*SH * xp_rs) /* input offset of the tile's vector j */
#define VEC_Y(j)  ((j)*ow_n)       /* output offset of the tile's vector j */
#define VEC_IN(j) (oh + (j) < oh_n && ow0 < ow_n)
#else
#define TW        (16 * NV)
#define VEC_X(j)  ((j)*16 * SW)
#define VEC_Y(j)  ((j)*16)
#define VEC_IN(j) (ow0 + 16 * (j) < ow_n)
#endif
#define VEC_VALID(j) (ow_n - ow0 - (TILE_OH == 2 ? 0 : 16 * (j)))

/* Bias, residual and activation on one 16-lane slice of output row yi..yi+15, then the store. */
inline void epilogue16(float16 v, const float b, __global const float *res, const int r_off, const int has_res,
                       __global float *y, const int y_off, const int yi, const int valid, const float alpha,
                       const float beta) {
  v += b;
  if (has_res)
    v += load16_valid(res + r_off + yi, valid);
  store16(act16(v, alpha, beta), y + y_off + yi, valid);
}

#endif
