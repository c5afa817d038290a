/* Tests of the segmentation metrics (lib/metrics.c) on tiny masks whose confusion matrices and
 * scores are worked out by hand in the comments: IoU, Dice, F-beta for several beta, precision,
 * recall, pixel accuracy, the ignore label, absent classes and the error paths. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clseg_io.h"
#include "support.h"

#define EPS 1e-12

static void near(double got, double want, const char *what) {
  if (!(fabs(got - want) <= EPS))
    fail_msg("%s: got %.15g, expected %.15g", what, got, want);
}

static clseg_confusion *make(int classes, int ignore) {
  clseg_confusion *c = NULL;
  if (clseg_confusion_create(classes, ignore, &c) != CLSEG_OK)
    fail_msg("%s", clseg_last_error(NULL));
  return c;
}

/* truth      pred       confusion (row truth, column pred)
 *  0 0 1      0 1 1       t0: 1 1 0
 *  1 1 2      1 2 2       t1: 0 2 1
 *  2 2 2      2 2 0       t2: 1 0 3
 * class 0: TP 1 FP 1 FN 1 -> IoU 1/3, Dice 2/4,  P 1/2, R 1/2
 * class 1: TP 2 FP 1 FN 1 -> IoU 2/4, Dice 4/6,  P 2/3, R 2/3
 * class 2: TP 3 FP 1 FN 1 -> IoU 3/5, Dice 6/8,  P 3/4, R 3/4
 * pixel accuracy 6/9; mIoU (1/3 + 1/2 + 3/5) / 3 = 43/90; mDice (1/2 + 2/3 + 3/4) / 3 = 23/36. */
static const uint8_t T3[9] = {0, 0, 1, 1, 1, 2, 2, 2, 2}, P3[9] = {0, 1, 1, 1, 2, 2, 2, 2, 0};

static void test_3x3_by_hand(void **state) {
  (void)state;
  clseg_confusion *c = make(3, -1);
  assert_int_equal(clseg_confusion_add(c, P3, 3, 3, T3, 3, 3), CLSEG_OK);
  const uint64_t want[9] = {1, 1, 0, 0, 2, 1, 1, 0, 3};
  assert_memory_equal(clseg_confusion_counts(c), want, sizeof want);
  clseg_metrics m = {0};
  assert_int_equal(clseg_confusion_metrics(c, 1.0, &m), CLSEG_OK);
  const double iou[3] = {1. / 3, 2. / 4, 3. / 5}, dice[3] = {2. / 4, 4. / 6, 6. / 8};
  const double pr[3] = {1. / 2, 2. / 3, 3. / 4};
  for (int k = 0; k < 3; k++) {
    near(m.iou[k], iou[k], "iou");
    near(m.dice[k], dice[k], "dice");
    near(m.fbeta[k], dice[k], "f1 == dice");
    near(m.precision[k], pr[k], "precision");
    near(m.recall[k], pr[k], "recall");
  }
  assert_int_equal(m.present, 3);
  assert_int_equal(m.pixels, 9);
  near(m.pixel_accuracy, 6. / 9, "pixel accuracy");
  near(m.mean_iou, 43. / 90, "mIoU");
  near(m.mean_dice, 23. / 36, "mDice");
  clseg_metrics_free(&m);
  assert_null(m.iou);
  clseg_metrics_free(&m); /* twice is fine */
  clseg_confusion_free(c);
}

/* truth 1 1 / 1 0, pred 1 0 / 0 0: confusion t0: 1 0, t1: 2 1.
 * class 1: TP 1 FN 2 FP 0 -> IoU 1/3, Dice 2/4, P 1, R 1/3,
 *          F2 = 5*1 / (5*1 + 4*2 + 0) = 5/13, F0.5 = 1.25 / (1.25 + 0.25*2 + 0) = 5/7
 * class 0: TP 1 FN 0 FP 2 -> IoU 1/3, Dice 2/4, P 1/3, R 1,
 *          F2 = 5 / (5 + 0 + 2) = 5/7,      F0.5 = 1.25 / (1.25 + 0 + 2) = 5/13
 * beta = 2 weighs recall: class 1 (missed pixels) drops below its Dice, class 0 rises above it. */
static void test_beta(void **state) {
  (void)state;
  const uint8_t t[4] = {1, 1, 1, 0}, p[4] = {1, 0, 0, 0};
  clseg_confusion *c = make(2, -1);
  assert_int_equal(clseg_confusion_add(c, p, 2, 2, t, 2, 2), CLSEG_OK);
  clseg_metrics m1 = {0}, m2 = {0}, mh = {0}, m0 = {0};
  assert_int_equal(clseg_confusion_metrics(c, 1.0, &m1), CLSEG_OK);
  assert_int_equal(clseg_confusion_metrics(c, 2.0, &m2), CLSEG_OK);
  assert_int_equal(clseg_confusion_metrics(c, 0.5, &mh), CLSEG_OK);
  assert_int_equal(clseg_confusion_metrics(c, 0.0, &m0), CLSEG_OK);
  for (int k = 0; k < 2; k++) {
    near(m1.iou[k], 1. / 3, "iou");
    near(m1.dice[k], 0.5, "dice");
    near(m1.fbeta[k], m1.dice[k], "F1 == Dice");
    near(m0.fbeta[k], m0.precision[k], "F0 == precision");
  }
  near(m1.precision[1], 1, "P1");
  near(m1.recall[1], 1. / 3, "R1");
  near(m1.precision[0], 1. / 3, "P0");
  near(m1.recall[0], 1, "R0");
  near(m2.fbeta[1], 5. / 13, "F2 class 1");
  near(m2.fbeta[0], 5. / 7, "F2 class 0");
  near(mh.fbeta[1], 5. / 7, "F0.5 class 1");
  near(mh.fbeta[0], 5. / 13, "F0.5 class 0");
  near(m2.mean_fbeta, (5. / 7 + 5. / 13) / 2, "mean F2");
  near(m2.mean_dice, 0.5, "Dice does not depend on beta");
  near(m1.pixel_accuracy, 0.5, "pixel accuracy");
  clseg_metrics_free(&m1);
  clseg_metrics_free(&m2);
  clseg_metrics_free(&mh);
  clseg_metrics_free(&m0);
  clseg_confusion_free(c);
}

/* truth 0 255 / 1 1, pred 0 7 / 1 2, ignore 255: the ignored pixel (and its out-of-range
 * prediction) is skipped; counted (0,0) (1,1) (1,2). class 0: TP 1 -> IoU 1; class 1: TP 1 FN 1 ->
 * IoU 1/2, R 1/2, P 1; class 2: only predicted (FP 1) -> present, IoU 0, precision 0, recall 0/0
 * taken as 0. class 3 (of 4): in neither -> NaN everywhere, left out of the means. mIoU (1 + 1/2 +
 * 0) / 3 = 1/2. */
static void test_ignore_and_absent(void **state) {
  (void)state;
  const uint8_t t[4] = {0, 255, 1, 1}, p[4] = {0, 7, 1, 2};
  clseg_confusion *c = make(4, 255);
  assert_int_equal(clseg_confusion_add(c, p, 2, 2, t, 2, 2), CLSEG_OK);
  clseg_metrics m = {0};
  assert_int_equal(clseg_confusion_metrics(c, 1.0, &m), CLSEG_OK);
  assert_int_equal(m.pixels, 3);
  assert_int_equal(m.present, 3);
  near(m.pixel_accuracy, 2. / 3, "pixel accuracy");
  near(m.iou[0], 1, "iou 0");
  near(m.iou[1], 0.5, "iou 1");
  near(m.recall[1], 0.5, "recall 1");
  near(m.precision[1], 1, "precision 1");
  near(m.iou[2], 0, "iou 2");
  near(m.precision[2], 0, "precision 2");
  near(m.recall[2], 0, "recall 2 (0/0)");
  assert_true(isnan(m.iou[3]) && isnan(m.dice[3]) && isnan(m.fbeta[3]) && isnan(m.precision[3]) &&
              isnan(m.recall[3]));
  near(m.mean_iou, 0.5, "mIoU over present classes");
  near(m.mean_recall, (1 + 0.5 + 0) / 3, "mean recall");
  clseg_metrics_free(&m);
  clseg_confusion_free(c);
}

/* An ignore label inside the class range (e.g. background 0 in ADE20K style): its truth pixels are
 * skipped and the class itself is NaN; predicting it elsewhere still counts as an error for the
 * true class. truth 0 1 / 2 2, pred 1 1 / 0 2: counted (1,1) (2,0) (2,2) -> class 1 IoU 1, class 2
 * TP 1 FN 1 IoU 1/2. */
static void test_ignore_in_range(void **state) {
  (void)state;
  const uint8_t t[4] = {0, 1, 2, 2}, p[4] = {1, 1, 0, 2};
  clseg_confusion *c = make(3, 0);
  assert_int_equal(clseg_confusion_add(c, p, 2, 2, t, 2, 2), CLSEG_OK);
  clseg_metrics m = {0};
  assert_int_equal(clseg_confusion_metrics(c, 1.0, &m), CLSEG_OK);
  assert_true(isnan(m.iou[0]));
  near(m.iou[1], 1, "iou 1");
  near(m.iou[2], 0.5, "iou 2");
  near(m.pixel_accuracy, 2. / 3, "pixel accuracy");
  assert_int_equal(m.present, 2);
  near(m.mean_iou, 0.75, "mIoU");
  clseg_metrics_free(&m);
  clseg_confusion_free(c);
}

/* Adding the same pair twice doubles every count and leaves every ratio unchanged. */
static void test_accumulation(void **state) {
  (void)state;
  clseg_confusion *c = make(3, -1);
  assert_int_equal(clseg_confusion_add(c, P3, 3, 3, T3, 3, 3), CLSEG_OK);
  assert_int_equal(clseg_confusion_add(c, P3, 9, 1, T3, 9, 1),
                   CLSEG_OK); /* same pixels as one row */
  assert_int_equal(clseg_confusion_counts(c)[8], 6);
  clseg_metrics m = {0};
  assert_int_equal(clseg_confusion_metrics(c, 1.0, &m), CLSEG_OK);
  assert_int_equal(m.pixels, 18);
  near(m.mean_iou, 43. / 90, "mIoU after two adds");
  clseg_metrics_free(&m);
  clseg_confusion_free(c);
}

static void expect_fail(clseg_status got, clseg_status want, const char *needle) {
  if (got != want)
    fail_msg("status %s, expected %s: %s", clseg_status_name(got), clseg_status_name(want),
             clseg_last_error(NULL));
  assert_true(test_contains(clseg_last_error(NULL), needle));
}

static void test_errors(void **state) {
  (void)state;
  clseg_confusion *c = NULL;
  expect_fail(clseg_confusion_create(0, -1, &c), CLSEG_INVALID_ARGUMENT, "classes 0");
  expect_fail(clseg_confusion_create(257, -1, &c), CLSEG_INVALID_ARGUMENT, "classes 257");
  expect_fail(clseg_confusion_create(3, 256, &c), CLSEG_INVALID_ARGUMENT, "ignore 256");
  assert_null(c);
  c = make(3, 255);
  expect_fail(clseg_confusion_add(c, P3, 3, 2, T3, 2, 3), CLSEG_SHAPE_MISMATCH,
              "prediction is 3x2, truth is 2x3");
  const uint8_t bad_t[4] = {0, 1, 2, 5}, bad_p[4] = {0, 1, 9, 0}, ok[4] = {0, 1, 2, 0};
  expect_fail(clseg_confusion_add(c, ok, 2, 2, bad_t, 2, 2), CLSEG_INVALID_ARGUMENT,
              "truth label 5 at (x 1, y 1)");
  expect_fail(clseg_confusion_add(c, bad_p, 2, 2, ok, 2, 2), CLSEG_INVALID_ARGUMENT,
              "predicted label 9 at (x 0, y 1)");
  for (int i = 0; i < 9; i++) /* a refused add counts nothing */
    assert_int_equal(clseg_confusion_counts(c)[i], 0);
  clseg_metrics m = {0};
  expect_fail(clseg_confusion_metrics(c, -1.0, &m), CLSEG_INVALID_ARGUMENT, "beta -1");
  expect_fail(clseg_confusion_metrics(c, NAN, &m), CLSEG_INVALID_ARGUMENT, "beta");
  assert_int_equal(clseg_confusion_metrics(c, 1.0, &m), CLSEG_OK); /* nothing counted: NaN, not 0 */
  assert_int_equal(m.present, 0);
  assert_true(isnan(m.pixel_accuracy) && isnan(m.mean_iou) && isnan(m.mean_dice));
  clseg_metrics_free(&m);
  clseg_confusion_free(c);
  clseg_confusion_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_3x3_by_hand),       cmocka_unit_test(test_beta),
      cmocka_unit_test(test_ignore_and_absent), cmocka_unit_test(test_ignore_in_range),
      cmocka_unit_test(test_accumulation),      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
