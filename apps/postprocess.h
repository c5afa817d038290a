/* Post-processing of a network's output: per-pixel class decision (threshold or argmax) and
 * probabilities, from output values sampled bilinearly at image resolution. */
#ifndef CLSEG_POSTPROCESS_H
#define CLSEG_POSTPROCESS_H

#include <stdint.h>

typedef struct {
  int k;           /* output channels: 1 = binary (foreground probability), more = classes */
  int is_prob;     /* values are already probabilities, not logits */
  float threshold; /* binary: foreground at or above it */
} post_params;

/* One pixel: v holds k output values; writes the class and, when probs is set, k probabilities. */
void post_pixel(const float *v, const post_params *p, uint8_t *cls, float *probs);
/* A k x h x w output resampled bilinearly (half-pixel centres) to W x H: the mask (W * H) and, when
 * probs is set, k x H x W probabilities. */
void post_resize(const float *out, int h, int w, int W, int H, const post_params *p, uint8_t *mask,
                 float *probs);

#endif
