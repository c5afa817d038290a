/* The geometry macros of the GPU-shaped conv kernels (conv_gemm.cl, conv_depthwise.cl), each with its default:
 * the host passes every one as -D (lib/ops/conv_gemm.c, conv_depthwise.c). */
#ifndef KH
#define KH 3 /* kernel height */
#endif
#ifndef KW
#define KW 3 /* kernel width */
#endif
#ifndef SH
#define SH 1 /* vertical stride */
#endif
#ifndef SW
#define SW 1 /* horizontal stride */
#endif
#ifndef DH
#define DH 1 /* vertical dilation */
#endif
#ifndef DW
#define DW 1 /* horizontal dilation */
#endif
#ifndef ACT
#define ACT ACT_NONE /* fused activation code (clseg_act_kind) */
#endif
