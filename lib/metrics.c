/* Segmentation metrics: a confusion matrix accumulated over (prediction, truth) label images, and
 * the per-class IoU, Dice, F-beta, precision and recall derived from it. The definitions, including
 * what an absent class gets, are stated once in include/clseg_io.h and docs/io.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_io.h"
#include "internal.h"

struct clseg_confusion {
  int classes;
  int ignore;       /* truth label skipped, or -1 */
  uint64_t *counts; /* classes x classes, row = truth, column = prediction */
};

clseg_status clseg_confusion_create(int classes, int ignore, clseg_confusion **out) {
  if (!out || classes < 1 || classes > 256 || ignore < -1 || ignore > 255)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "confusion_create: classes %d not in 1..256 or ignore %d "
                       "not in -1..255 (or NULL output)",
                       classes, ignore);
  clseg_confusion *c = calloc(1, sizeof *c);
  if (c)
    c->counts = calloc((size_t)classes * (size_t)classes, sizeof *c->counts);
  if (!c || !c->counts) {
    free(c);
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "confusion_create: no memory for %d classes",
                       classes);
  }
  c->classes = classes;
  c->ignore = ignore;
  *out = c;
  return CLSEG_OK;
}

void clseg_confusion_free(clseg_confusion *c) {
  if (!c)
    return;
  free(c->counts);
  free(c);
}

const uint64_t *clseg_confusion_counts(const clseg_confusion *c) {
  return c ? c->counts : NULL;
}

/* Validates every label before counting any, so that a failed add leaves the matrix as it was. */
static clseg_status check_labels(const clseg_confusion *c, const uint8_t *pred,
                                 const uint8_t *truth, int w, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if ((int)truth[i] == c->ignore)
      continue;
    int bad = truth[i] >= c->classes ? truth[i] : pred[i] >= c->classes ? pred[i] : -1;
    if (bad >= 0)
      return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                         "confusion_add: %s label %d at (x %zu, y %zu) is not "
                         "below classes %d",
                         truth[i] >= c->classes ? "truth" : "predicted", bad, i % (size_t)w,
                         i / (size_t)w, c->classes);
  }
  return CLSEG_OK;
}

clseg_status clseg_confusion_add(clseg_confusion *c, const uint8_t *pred, int pred_w, int pred_h,
                                 const uint8_t *truth, int truth_w, int truth_h) {
  if (!c || !pred || !truth)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "confusion_add: NULL argument");
  if (pred_w != truth_w || pred_h != truth_h)
    return clseg__fail(NULL, CLSEG_SHAPE_MISMATCH,
                       "confusion_add: prediction is %dx%d, truth is %dx%d", pred_w, pred_h,
                       truth_w, truth_h);
  if (pred_w <= 0 || pred_h <= 0)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "confusion_add: empty size %dx%d", pred_w,
                       pred_h);
  size_t n = (size_t)pred_w * (size_t)pred_h;
  clseg_status st = check_labels(c, pred, truth, pred_w, n);
  if (st != CLSEG_OK)
    return st;
  for (size_t i = 0; i < n; i++)
    if ((int)truth[i] != c->ignore)
      c->counts[(size_t)truth[i] * (size_t)c->classes + pred[i]]++;
  return CLSEG_OK;
}

/* num / den for a present class, with 0/0 taken as 0 (a class that was missed or only
 * hallucinated). */
static double ratio(double num, double den) {
  return den > 0 ? num / den : 0.0;
}

/* Mean of the non-NaN entries; NaN when there are none. */
static double nanmean(const double *v, int n) {
  double s = 0;
  int k = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(v[i])) {
      s += v[i];
      k++;
    }
  return k ? s / k : NAN;
}

/* Fills the per-class values of class k; returns 1 when the class is present. */
static int class_metrics(const clseg_confusion *c, int k, double b2, clseg_metrics *m) {
  int C = c->classes;
  double tp = (double)c->counts[(size_t)k * C + k], row = 0, col = 0;
  for (int j = 0; j < C; j++) {
    row += (double)c->counts[(size_t)k * C + j];
    col += (double)c->counts[(size_t)j * C + k];
  }
  double fn = row - tp, fp = col - tp;
  if (k == c->ignore || tp + fp + fn == 0) {
    m->iou[k] = m->dice[k] = m->fbeta[k] = m->precision[k] = m->recall[k] = NAN;
    return 0;
  }
  m->iou[k] = ratio(tp, tp + fp + fn);
  m->dice[k] = ratio(2 * tp, 2 * tp + fp + fn);
  m->fbeta[k] = ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp);
  m->precision[k] = ratio(tp, tp + fp);
  m->recall[k] = ratio(tp, tp + fn);
  return 1;
}

clseg_status clseg_confusion_metrics(const clseg_confusion *c, double beta, clseg_metrics *out) {
  if (!c || !out || !(beta >= 0) || isinf(beta))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT,
                       "confusion_metrics: NULL argument or beta %g not a "
                       "finite value >= 0",
                       beta);
  int C = c->classes;
  clseg_metrics m = {.classes = C};
  double *all = calloc((size_t)C * 5, sizeof *all); /* one block: the five per-class arrays */
  if (!all)
    return clseg__fail(NULL, CLSEG_OUT_OF_MEMORY, "confusion_metrics: no memory");
  m.iou = all;
  m.dice = all + C;
  m.fbeta = all + 2 * C;
  m.precision = all + 3 * C;
  m.recall = all + 4 * C;
  uint64_t correct = 0;
  for (int k = 0; k < C; k++) {
    m.present += class_metrics(c, k, beta * beta, &m);
    correct += c->counts[(size_t)k * C + k];
    for (int j = 0; j < C; j++)
      m.pixels += c->counts[(size_t)k * C + j];
  }
  m.pixel_accuracy = m.pixels ? (double)correct / (double)m.pixels : NAN;
  m.mean_iou = nanmean(m.iou, C);
  m.mean_dice = nanmean(m.dice, C);
  m.mean_fbeta = nanmean(m.fbeta, C);
  m.mean_precision = nanmean(m.precision, C);
  m.mean_recall = nanmean(m.recall, C);
  *out = m;
  return CLSEG_OK;
}

void clseg_metrics_free(clseg_metrics *m) {
  if (!m)
    return;
  free(m->iou); /* the block that holds all five arrays */
  *m = (clseg_metrics){0};
}
