/* The person pipeline (include/clseg_person.h): detector, region of interest, landmark network,
 * all mapped back to the image. The networks run as plans on the device; the geometry (letterbox,
 * anchors, non-maximum suppression, the rotated crop and its inverse) is host code over a few
 * thousand values. tools/person_reference.py is the same pipeline on LiteRT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_graph.h"
#include "clseg_person.h"
#include "clseg_tflite.h"
#include "internal.h"

#define DET       224  /* the detector's input side */
#define LMK       256  /* the landmark network's input side */
#define ANCHORS   2254 /* 28 x 28 x 2 + 14 x 14 x 2 + 7 x 7 x 6 */
#define VALUES    12   /* per anchor: box centre x, y, width, height, then 4 keypoints (x, y) */
#define MIN_SCORE 0.5f
#define NMS_IOU   0.3f
#define ROI_SCALE 1.25 /* the region's side: 2 x |kp1 - kp0| x this */
#define LMK_ROWS  39   /* landmark rows in the network's output: 33 body points, 6 auxiliary */
#define PI        3.14159265358979323846

const int clseg_person_bones[CLSEG_PERSON_BONES][2] = {
    {0, 1},   {1, 2},   {2, 3},   {3, 7},   {0, 4},   {4, 5},   {5, 6},   {6, 8},   {9, 10},
    {11, 12}, {11, 13}, {13, 15}, {15, 17}, {15, 19}, {15, 21}, {17, 19}, {12, 14}, {14, 16},
    {16, 18}, {16, 20}, {16, 22}, {18, 20}, {11, 23}, {12, 24}, {23, 24}, {23, 25}, {24, 26},
    {25, 27}, {26, 28}, {27, 29}, {28, 30}, {29, 31}, {30, 32}, {27, 31}, {28, 32}};

struct clseg_person {
  clseg_context *ctx;
  clseg_graph *det_graph, *lmk_graph;
  clseg_plan *det, *lmk;
  float anchors[ANCHORS][2]; /* centres, normalised to the 224 square */
  float *det_in, *lmk_in;    /* NCHW inputs */
  float *reg, *score;        /* detector outputs [12][2254], [2254] */
  float *lmk_out[3];         /* landmarks [195], presence [1], segmentation logits [256 x 256] */
};

/* SSD anchors of fixed size: strides 8, 16, 32 with 2, 2, 6 anchors a cell, row by row. */
static void make_anchors(float a[ANCHORS][2]) {
  static const int stride[3] = {8, 16, 32}, per_cell[3] = {2, 2, 6};
  int k = 0;
  for (int l = 0; l < 3; l++) {
    const int grid = DET / stride[l];
    for (int y = 0; y < grid; y++)
      for (int x = 0; x < grid; x++)
        for (int i = 0; i < per_cell[l]; i++, k++) {
          a[k][0] = ((float)x + 0.5f) / (float)grid;
          a[k][1] = ((float)y + 0.5f) / (float)grid;
        }
  }
}

/* Loads a model and plans it for side x side; checks its outputs' shapes. */
static clseg_status load(clseg_person *p, const char *path, int side, int outputs,
                         const int64_t (*want)[4], clseg_graph **g, clseg_plan **plan) {
  clseg_tflite_info info;
  clseg_status s = clseg_tflite_load(path, g, &info);
  if (s != CLSEG_OK)
    return clseg__fail(p->ctx, s, "person: %s", clseg_last_error(NULL));
  if (info.input_h != side || info.input_w != side || info.input_c != 3)
    return clseg__fail(p->ctx, CLSEG_UNSUPPORTED,
                       "person: %s takes a %lldx%lldx%lld input; the pipeline feeds %dx%dx3", path,
                       (long long)info.input_w, (long long)info.input_h, (long long)info.input_c,
                       side, side);
  if ((s = clseg_plan_create(p->ctx, *g, 1, side, side, NULL, plan)) != CLSEG_OK)
    return s;
  if (clseg_plan_output_count(*plan) < outputs)
    return clseg__fail(p->ctx, CLSEG_UNSUPPORTED,
                       "person: %s has %d outputs; the pipeline reads %d", path,
                       clseg_plan_output_count(*plan), outputs);
  for (int i = 0; i < outputs; i++) {
    int64_t sh[4];
    clseg_plan_output_shape_at(*plan, i, sh);
    if (memcmp(sh, want[i], sizeof sh))
      return clseg__fail(p->ctx, CLSEG_UNSUPPORTED,
                         "person: output %d of %s has shape %s, the pipeline reads %s", i, path,
                         CLSEG__SHAPE(sh), CLSEG__SHAPE(want[i]));
  }
  return CLSEG_OK;
}

clseg_status clseg_person_create(clseg_context *ctx, const char *detector_path,
                                 const char *landmark_path, clseg_person **out) {
  static const int64_t det_out[2][4] = {{1, VALUES, ANCHORS, 1}, {1, 1, ANCHORS, 1}};
  static const int64_t lmk_out[3][4] = {{1, LMK_ROWS * 5, 1, 1}, {1, 1, 1, 1}, {1, 1, LMK, LMK}};
  if (out)
    *out = NULL;
  if (!ctx || !detector_path || !landmark_path || !out)
    return clseg__fail(ctx, CLSEG_INVALID_ARGUMENT, "clseg_person_create: NULL argument");
  clseg_person *p = calloc(1, sizeof *p);
  if (!p)
    return clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "person: out of host memory");
  p->ctx = ctx;
  make_anchors(p->anchors);
  p->det_in = malloc(sizeof(float) * 3 * DET * DET);
  p->lmk_in = malloc(sizeof(float) * 3 * LMK * LMK);
  p->reg = malloc(sizeof(float) * VALUES * ANCHORS);
  p->score = malloc(sizeof(float) * ANCHORS);
  p->lmk_out[0] = malloc(sizeof(float) * LMK_ROWS * 5);
  p->lmk_out[1] = malloc(sizeof(float));
  p->lmk_out[2] = malloc(sizeof(float) * LMK * LMK);
  clseg_status s = p->det_in && p->lmk_in && p->reg && p->score && p->lmk_out[0] && p->lmk_out[1] &&
                           p->lmk_out[2]
                       ? CLSEG_OK
                       : clseg__fail(ctx, CLSEG_OUT_OF_MEMORY, "person: out of host memory");
  if (s == CLSEG_OK)
    s = load(p, detector_path, DET, 2, det_out, &p->det_graph, &p->det);
  if (s == CLSEG_OK)
    s = load(p, landmark_path, LMK, 3, lmk_out, &p->lmk_graph, &p->lmk);
  if (s != CLSEG_OK) {
    clseg_person_free(p);
    return s;
  }
  *out = p;
  return clseg__ok(ctx);
}

void clseg_person_free(clseg_person *p) {
  if (!p)
    return;
  clseg_plan_free(p->det);
  clseg_plan_free(p->lmk);
  clseg_graph_free(p->det_graph);
  clseg_graph_free(p->lmk_graph);
  free(p->det_in), free(p->lmk_in), free(p->reg), free(p->score);
  for (int i = 0; i < 3; i++)
    free(p->lmk_out[i]);
  free(p);
}

/* Bilinear sample of channel c of an RGB image at pixel-centre coordinates (x, y), zero outside
 * (each of the four neighbours outside the image counts as 0). */
static float sample_rgb(const clseg_image *im, int c, double x, double y) {
  const double fx = floor(x), fy = floor(y), ax = x - fx, ay = y - fy;
  const int x0 = (int)fx, y0 = (int)fy;
  double v = 0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      const int xx = x0 + dx, yy = y0 + dy;
      if (xx < 0 || yy < 0 || xx >= im->width || yy >= im->height)
        continue;
      const double w = (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay);
      v += w * im->data[((size_t)yy * (size_t)im->width + (size_t)xx) * 3 + (size_t)c];
    }
  return (float)v;
}

/* The letterbox: the image centred in a square of side `side` whose origin is at (-x0, -y0) in
 * image pixels, sampled at 224 pixel centres, RGB / 127.5 - 1. */
static void letterbox(const clseg_image *im, float *in, double *side, double *x0, double *y0) {
  *side = im->width > im->height ? im->width : im->height;
  *x0 = (*side - im->width) / 2.0;
  *y0 = (*side - im->height) / 2.0;
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < DET; v++)
      for (int u = 0; u < DET; u++) {
        const double sx = (u + 0.5) * *side / DET - 0.5 - *x0,
                     sy = (v + 0.5) * *side / DET - 0.5 - *y0;
        in[(c * DET + v) * DET + u] = sample_rgb(im, c, sx, sy) / 127.5f - 1.0f;
      }
}

typedef struct {
  float score, box[4], kp[4][2]; /* normalised to the detector's square */
} detection;

static void decode(const clseg_person *p, int a, detection *d) {
  const float *r = p->reg;
  const float logit = p->score[a] < -100.0f ? -100.0f : p->score[a] > 100.0f ? 100.0f : p->score[a];
  d->score = 1.0f / (1.0f + expf(-logit));
  d->box[0] = r[0 * ANCHORS + a] / DET + p->anchors[a][0];
  d->box[1] = r[1 * ANCHORS + a] / DET + p->anchors[a][1];
  d->box[2] = r[2 * ANCHORS + a] / DET;
  d->box[3] = r[3 * ANCHORS + a] / DET;
  for (int k = 0; k < 4; k++) {
    d->kp[k][0] = r[(4 + 2 * k) * ANCHORS + a] / DET + p->anchors[a][0];
    d->kp[k][1] = r[(5 + 2 * k) * ANCHORS + a] / DET + p->anchors[a][1];
  }
}

static double iou(const float *a, const float *b) {
  const double ax0 = a[0] - a[2] / 2, ay0 = a[1] - a[3] / 2, ax1 = a[0] + a[2] / 2,
               ay1 = a[1] + a[3] / 2;
  const double bx0 = b[0] - b[2] / 2, by0 = b[1] - b[3] / 2, bx1 = b[0] + b[2] / 2,
               by1 = b[1] + b[3] / 2;
  const double w = fmin(ax1, bx1) - fmax(ax0, bx0), h = fmin(ay1, by1) - fmax(ay0, by0);
  const double inter = w > 0 && h > 0 ? w * h : 0;
  const double uni = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return uni > 0 ? inter / uni : 0;
}

/* The best detection, refined by weighted non-maximum suppression: its box and keypoints become
 * the score-weighted mean over the detections scoring >= 0.5 that overlap it by IoU > 0.3. Returns
 * 0 when no detection reaches 0.5 (d->score is still the best score). */
static int best_detection(const clseg_person *p, detection *d) {
  int best = 0;
  for (int a = 1; a < ANCHORS; a++)
    best = p->score[a] > p->score[best] ? a : best;
  decode(p, best, d);
  if (d->score < MIN_SCORE)
    return 0;
  double wsum = 0, box[4] = {0}, kp[4][2] = {{0}};
  for (int a = 0; a < ANCHORS; a++) {
    detection c;
    decode(p, a, &c);
    if (c.score < MIN_SCORE || iou(d->box, c.box) <= NMS_IOU)
      continue;
    wsum += c.score;
    for (int i = 0; i < 4; i++)
      box[i] += c.score * c.box[i];
    for (int k = 0; k < 4; k++)
      for (int i = 0; i < 2; i++)
        kp[k][i] += c.score * c.kp[k][i];
  }
  for (int i = 0; i < 4; i++)
    d->box[i] = (float)(box[i] / wsum);
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 2; i++)
      d->kp[k][i] = (float)(kp[k][i] / wsum);
  return 1;
}

/* The crop: its pixel (u, v) centre sits at image pixel-centre coordinates (*x, *y). */
static void crop_to_image(const float roi[4], double u, double v, double *x, double *y) {
  const double dx = ((u + 0.5) / LMK - 0.5) * roi[2], dy = ((v + 0.5) / LMK - 0.5) * roi[2];
  const double c = cos(roi[3]), s = sin(roi[3]);
  *x = roi[0] + dx * c - dy * s - 0.5;
  *y = roi[1] + dx * s + dy * c - 0.5;
}

static void crop(const clseg_image *im, const float roi[4], float *in) {
  for (int v = 0; v < LMK; v++)
    for (int u = 0; u < LMK; u++) {
      double x, y;
      crop_to_image(roi, u, v, &x, &y);
      for (int c = 0; c < 3; c++)
        in[(c * LMK + v) * LMK + u] = sample_rgb(im, c, x, y) / 255.0f;
    }
}

static float sigmoidf(float v) {
  return 1.0f / (1.0f + expf(-v));
}

/* Each image pixel centre into the crop (the inverse rotation), the segmentation logits sampled
 * bilinearly (clamped to the crop's edge pixels), sigmoid; 0 outside the crop. */
static double map_mask(const clseg_person *p, const float roi[4], int w, int h, float *mask) {
  const float *seg = p->lmk_out[2];
  const double c = cos(roi[3]), s = sin(roi[3]);
  size_t on = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const double dx = x + 0.5 - roi[0], dy = y + 0.5 - roi[1];
      const double u = (dx * c + dy * s) / roi[2] * LMK + LMK / 2.0 - 0.5;
      const double v = (-dx * s + dy * c) / roi[2] * LMK + LMK / 2.0 - 0.5;
      float prob = 0.0f;
      if (u > -0.5 && u < LMK - 0.5 && v > -0.5 && v < LMK - 0.5) {
        const double cu = fmin(fmax(u, 0), LMK - 1), cv = fmin(fmax(v, 0), LMK - 1);
        const int u0 = (int)cu, v0 = (int)cv, u1 = u0 + 1 < LMK ? u0 + 1 : u0,
                  v1 = v0 + 1 < LMK ? v0 + 1 : v0;
        const double au = cu - u0, av = cv - v0;
        const double top = seg[v0 * LMK + u0] * (1 - au) + seg[v0 * LMK + u1] * au;
        const double bot = seg[v1 * LMK + u0] * (1 - au) + seg[v1 * LMK + u1] * au;
        prob = sigmoidf((float)(top * (1 - av) + bot * av));
      }
      on += prob >= 0.5f;
      if (mask)
        mask[(size_t)y * (size_t)w + (size_t)x] = prob;
    }
  return (double)on / ((double)w * (double)h);
}

static void set_roi(float kp[4][2], float roi[4]) {
  const double x0 = kp[0][0], y0 = kp[0][1], x1 = kp[1][0], y1 = kp[1][1];
  double rot = PI / 2 - atan2(-(y1 - y0), x1 - x0);
  rot -= 2 * PI * floor((rot + PI) / (2 * PI)); /* into [-pi, pi) */
  roi[0] = (float)x0;
  roi[1] = (float)y0;
  roi[2] = (float)(2.0 * hypot(x1 - x0, y1 - y0) * ROI_SCALE);
  roi[3] = (float)rot;
}

static void map_landmarks(const clseg_person *p, clseg_person_result *r) {
  const double c = cos(r->roi[3]), s = sin(r->roi[3]);
  for (int i = 0; i < CLSEG_PERSON_LANDMARKS; i++) {
    const float *l = p->lmk_out[0] + 5 * i;
    const double ux = (l[0] / LMK - 0.5) * r->roi[2], uy = (l[1] / LMK - 0.5) * r->roi[2];
    r->landmarks[i][0] = (float)(r->roi[0] + ux * c - uy * s);
    r->landmarks[i][1] = (float)(r->roi[1] + ux * s + uy * c);
    r->landmarks[i][2] = (float)(l[2] / LMK * r->roi[2]);
    r->landmarks[i][3] = sigmoidf(l[3]);
    r->landmarks[i][4] = sigmoidf(l[4]);
  }
}

static clseg_status run_detector(clseg_person *p, clseg_person_result *r) {
  float *outs[2] = {p->reg, p->score};
  const size_t counts[2] = {VALUES * ANCHORS, ANCHORS};
  const double t0 = clseg__now();
  clseg_status s = clseg_plan_run_outputs(p->det, p->det_in, 3 * DET * DET, outs, counts, 2);
  r->detector_ms = (clseg__now() - t0) * 1e3;
  return s;
}

static clseg_status run_landmarks(clseg_person *p, clseg_person_result *r) {
  const size_t counts[3] = {LMK_ROWS * 5, 1, LMK * LMK};
  const double t0 = clseg__now();
  clseg_status s = clseg_plan_run_outputs(p->lmk, p->lmk_in, 3 * LMK * LMK, p->lmk_out, counts, 3);
  r->landmark_ms = (clseg__now() - t0) * 1e3;
  return s;
}

clseg_status clseg_person_run(clseg_person *p, const clseg_image *rgb, float *mask,
                              clseg_person_result *out) {
  if (!p || !rgb || !out)
    return clseg__fail(p ? p->ctx : NULL, CLSEG_INVALID_ARGUMENT, "clseg_person_run: NULL %s",
                       !p     ? "pipeline"
                       : !rgb ? "image"
                              : "result");
  if (rgb->channels != 3 || !rgb->data || rgb->width < 1 || rgb->height < 1)
    return clseg__fail(p->ctx, CLSEG_INVALID_ARGUMENT,
                       "clseg_person_run: the image must be RGB (3 channels, 8 bits; "
                       "clseg_image_to_rgb), got %d channels of %dx%d",
                       rgb->channels, rgb->width, rgb->height);
  clseg_person_result r;
  memset(&r, 0, sizeof r);
  double side, x0, y0;
  letterbox(rgb, p->det_in, &side, &x0, &y0);
  clseg_status s = run_detector(p, &r);
  if (s != CLSEG_OK)
    return s;
  detection d;
  if (best_detection(p, &d)) {
    for (int k = 0; k < 4; k++) { /* into image pixels */
      d.kp[k][0] = (float)(d.kp[k][0] * side - x0);
      d.kp[k][1] = (float)(d.kp[k][1] * side - y0);
    }
    r.box[0] = (float)(d.box[0] * side - x0), r.box[1] = (float)(d.box[1] * side - y0);
    r.box[2] = (float)(d.box[2] * side), r.box[3] = (float)(d.box[3] * side);
    set_roi(d.kp, r.roi);
    crop(rgb, r.roi, p->lmk_in);
    if ((s = run_landmarks(p, &r)) != CLSEG_OK)
      return s;
    r.presence = p->lmk_out[1][0];
    r.found = r.presence >= 0.5f;
    map_landmarks(p, &r);
  }
  r.detector_score = d.score;
  if (r.found)
    r.mask_share = map_mask(p, r.roi, rgb->width, rgb->height, mask);
  else if (mask)
    memset(mask, 0, sizeof *mask * (size_t)rgb->width * (size_t)rgb->height);
  *out = r;
  return clseg__ok(p->ctx);
}
