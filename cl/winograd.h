/* Winograd F(M x M, 3 x 3) transforms shared by cl/conv_winograd.cl (CPU-shaped) and
 * cl/conv_winograd_gpu.cl (GPU-shaped): WINO_M (4 or 2) picks the tile. BT_ROW and AT_ROW apply B^T
 * and A^T to one row of WA values (floats or vectors), G is the weight transform's matrix. */
#ifndef CLSEG_WINOGRAD_H
#define CLSEG_WINOGRAD_H

#ifndef WINO_M
#define WINO_M 4 /* output tile side: 4 for F(4x4, 3x3), 2 for F(2x2, 3x3) */
#endif
#define WA (WINO_M + 2) /* input tile side */
#define WE (WA * WA)    /* transformed elements per tile: the number of GEMMs */

#if WINO_M == 4
/* Lavin & Gray's F(4, 3) with interpolation points 0, +-1, +-2 */
#define BT_ROW(d, o)                                                                                                   \
  do {                                                                                                                 \
    o[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];                                                                           \
    o[1] = -4.0f * (d[1] + d[2]) + d[3] + d[4];                                                                        \
    o[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];                                                                         \
    o[3] = 2.0f * (d[3] - d[1]) - d[2] + d[4];                                                                         \
    o[4] = 2.0f * (d[1] - d[3]) - d[2] + d[4];                                                                         \
    o[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];                                                                           \
  } while (0)
#define AT_ROW(m, o)                                                                                                   \
  do {                                                                                                                 \
    o[0] = m[0] + m[1] + m[2] + m[3] + m[4];                                                                           \
    o[1] = m[1] - m[2] + 2.0f * (m[3] - m[4]);                                                                         \
    o[2] = m[1] + m[2] + 4.0f * (m[3] + m[4]);                                                                         \
    o[3] = m[1] - m[2] + 8.0f * (m[3] - m[4]) + m[5];                                                                  \
  } while (0)
__constant float G[6][3] = {{0.25f, 0.0f, 0.0f},
                            {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                            {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                            {1.0f / 24, 1.0f / 12, 1.0f / 6},
                            {1.0f / 24, -1.0f / 12, 1.0f / 6},
                            {0.0f, 0.0f, 1.0f}};
#else
#define BT_ROW(d, o)                                                                                                   \
  do {                                                                                                                 \
    o[0] = d[0] - d[2];                                                                                                \
    o[1] = d[1] + d[2];                                                                                                \
    o[2] = d[2] - d[1];                                                                                                \
    o[3] = d[1] - d[3];                                                                                                \
  } while (0)
#define AT_ROW(m, o)                                                                                                   \
  do {                                                                                                                 \
    o[0] = m[0] + m[1] + m[2];                                                                                         \
    o[1] = m[1] - m[2] - m[3];                                                                                         \
  } while (0)
__constant float G[4][3] = {{1.0f, 0.0f, 0.0f}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0.0f, 0.0f, 1.0f}};
#endif

#endif
