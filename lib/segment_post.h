/* Post-processing of a network's output for clseg_segment_image (lib/segment.c): per-pixel class
 * decision (threshold or argmax) and probabilities, from output values sampled bilinearly at image
 * resolution. */
#ifndef CLSEG_SEGMENT_POST_H
#define CLSEG_SEGMENT_POST_H

#include <stdint.h>

typedef struct {
  int k;           /* output channels: 1 = binary (foreground probability), more = classes */
  int is_prob;     /* values are already probabilities, not logits */
  float threshold; /* binary: foreground at or above it */
} clseg__post_params;

/* One pixel: v holds k output values; writes the class and, when probs is set, k probabilities. */
void clseg__post_pixel(const float *v, const clseg__post_params *p, uint8_t *cls, float *probs);
/* A k x h x w output resampled bilinearly (half-pixel centres) to W x H: the mask (W * H) and, when
 * probs is set, k x H x W probabilities. */
void clseg__post_resize(const float *out, int h, int w, int W, int H, const clseg__post_params *p,
                        uint8_t *mask, float *probs);

#endif
