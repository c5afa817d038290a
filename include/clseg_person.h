/* clseg person pipeline: MediaPipe's two-stage BlazePose ("full") models find the most prominent
 * person in a photo, their 33 body landmarks and their mask, or say there is none.
 *
 *   clseg_person *pp = NULL;
 *   clseg_person_create(ctx, "models/pose_detection.tflite", "models/pose_landmark_full.tflite",
 *                       &pp);
 *   clseg_person_result r;
 *   float *mask = malloc(sizeof *mask * rgb.width * rgb.height);   // or NULL
 *   if (clseg_person_run(pp, &rgb, mask, &r) == CLSEG_OK && r.found) ...
 *   clseg_person_free(pp);
 *
 * The steps (models/README.md gives the models' facts; tools/person_reference.py is the same
 * pipeline on LiteRT, the test's reference): the image letterboxed into the detector's 224x224
 * (aspect kept, zero border, RGB scaled to [-1, 1]); 2254 SSD anchors decoded and the best
 * detection refined by weighted non-maximum suppression (score >= 0.5, IoU > 0.3); a square region
 * of interest centred on the hips, two and a half times the hips-to-head-circle distance a side,
 * rotated upright; that region cropped bilinearly into the landmark network's 256x256 (RGB / 255);
 * its landmarks and segmentation mapped back through the rotation. A person is found when the
 * detector's score and the landmark network's presence are both at least 0.5.
 */
#ifndef CLSEG_PERSON_H
#define CLSEG_PERSON_H

#include "clseg.h"
#include "clseg_io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLSEG_PERSON_LANDMARKS 33

typedef struct clseg_person clseg_person;

/* Loads and plans both models on ctx (borrowed: it must outlive the pipeline). */
clseg_status clseg_person_create(clseg_context *ctx, const char *detector_path,
                                 const char *landmark_path, clseg_person **out);
void clseg_person_free(clseg_person *p);

typedef struct {
  int found;            /* detector_score and presence both >= 0.5 */
  float detector_score; /* the best detection's score (found or not) */
  float presence;       /* the landmark network's person-present probability (0 when not run) */
  float box[4];         /* the detection: centre x, centre y, width, height, in image pixels */
  float roi[4]; /* the landmark crop: centre x, y and side in image pixels, rotation (rad) */
  /* x, y in image pixels; z (depth, pixels at the crop's scale, hips near 0); visibility and
   * presence probabilities. MediaPipe's order: 0 nose ... 11/12 shoulders ... 23/24 hips ... */
  float landmarks[CLSEG_PERSON_LANDMARKS][5];
  double mask_share;  /* share of the image's pixels with a person probability >= 0.5 */
  double detector_ms; /* the two networks' runs (upload, run, download) */
  double landmark_ms;
} clseg_person_result;

/* Finds a person in an RGB image (3 channels, clseg_image_to_rgb). mask, when not NULL, receives
 * width * height person probabilities (all 0 when none is found). *out is written on success. */
clseg_status clseg_person_run(clseg_person *p, const clseg_image *rgb, float *mask,
                              clseg_person_result *out);

/* The skeleton's bones: pairs of landmark indexes, CLSEG_PERSON_BONES of them (for drawing). */
#define CLSEG_PERSON_BONES 35
extern const int clseg_person_bones[CLSEG_PERSON_BONES][2];

#ifdef __cplusplus
}
#endif

#endif
