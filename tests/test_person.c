/* The person pipeline (clseg_person.h) against tools/person_reference.py, the same pipeline on
 * LiteRT (tests/fixtures/person): found or not and the scores (within 0.01), the box, region and
 * the 33 landmarks (within 1 pixel), the mask (IoU >= 0.99 at 0.5). On the astronaut, the
 * astronaut mirrored and tilted by 30 degrees, the cat and the coffee cup (no person). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_person.h"
#include "support.h"

#define MODELS  CLSEG_FIXTURE_DIR "/../../models/"
#define PERSON  CLSEG_FIXTURE_DIR "/person/"
#define SAMPLES CLSEG_FIXTURE_DIR "/../../samples/"

static clseg_person *pipeline;

static int setup(void **state) {
  if (test_group_setup(state))
    return -1;
  if (clseg_person_create(test_ctx, MODELS "pose_detection.tflite",
                          MODELS "pose_landmark_full.tflite", &pipeline) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(test_ctx));
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  clseg_person_free(pipeline);
  return test_group_teardown(state);
}

typedef struct {
  int found;
  double detector, presence, share, box[4], roi[4], lm[CLSEG_PERSON_LANDMARKS][5];
} reference;

static void read_reference(const char *stem, reference *r) {
  char path[512], line[512];
  snprintf(path, sizeof path, PERSON "%s_person.txt", stem);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  memset(r, 0, sizeof *r);
  while (fgets(line, sizeof line, f) && line[0] == '#')
    ;
  assert_int_equal(sscanf(line, "%d %lf %lf %lf", &r->found, &r->detector, &r->presence, &r->share),
                   4);
  if (r->found) {
    assert_int_equal(fscanf(f, "%lf %lf %lf %lf", &r->box[0], &r->box[1], &r->box[2], &r->box[3]),
                     4);
    assert_int_equal(fscanf(f, "%lf %lf %lf %lf", &r->roi[0], &r->roi[1], &r->roi[2], &r->roi[3]),
                     4);
    for (int i = 0; i < CLSEG_PERSON_LANDMARKS; i++)
      assert_int_equal(fscanf(f, "%lf %lf %lf %lf %lf", &r->lm[i][0], &r->lm[i][1], &r->lm[i][2],
                              &r->lm[i][3], &r->lm[i][4]),
                       5);
  }
  fclose(f);
}

static void check_photo(const char *path, const char *stem) {
  clseg_image img = {0}, rgb = {0};
  assert_int_equal(clseg_image_read(path, &img), CLSEG_OK);
  assert_int_equal(clseg_image_to_rgb(&img, &rgb), CLSEG_OK);
  clseg_image_free(&img);
  reference ref;
  read_reference(stem, &ref);
  const size_t px = (size_t)rgb.width * (size_t)rgb.height;
  float *mask = malloc(sizeof *mask * px);
  clseg_person_result r;
  if (clseg_person_run(pipeline, &rgb, mask, &r) != CLSEG_OK)
    fail_msg("%s: %s", stem, clseg_last_error(test_ctx));
  print_message("%s: found %d (reference %d), detector %.4f (%.4f), presence %.4f (%.4f), person "
                "%.2f%% (%.2f%%), %.1f + %.1f ms\n",
                stem, r.found, ref.found, r.detector_score, ref.detector, r.presence, ref.presence,
                100 * r.mask_share, 100 * ref.share, r.detector_ms, r.landmark_ms);
  assert_int_equal(r.found, ref.found);
  assert_true(fabs(r.detector_score - ref.detector) <= 0.01);
  assert_true(fabs(r.presence - ref.presence) <= 0.01);
  if (ref.found) {
    double worst = 0;
    for (int i = 0; i < 4; i++)
      worst = fmax(worst, fabs(r.box[i] - ref.box[i]));
    for (int i = 0; i < 3; i++)
      worst = fmax(worst, fabs(r.roi[i] - ref.roi[i]));
    assert_true(fabs(r.roi[3] - ref.roi[3]) <= 0.01);
    for (int i = 0; i < CLSEG_PERSON_LANDMARKS; i++) {
      worst = fmax(worst, fmax(fabs(r.landmarks[i][0] - ref.lm[i][0]),
                               fabs(r.landmarks[i][1] - ref.lm[i][1])));
      assert_true(fabs(r.landmarks[i][3] - ref.lm[i][3]) <= 0.01);
    }
    print_message("%s: box, region and landmarks within %.3f pixels\n", stem, worst);
    assert_true(worst <= 1.0);
    char mpath[512];
    snprintf(mpath, sizeof mpath, PERSON "%s_person_mask.npy", stem);
    size_t n;
    float *want = test_read_npy(mpath, &n, true); /* 0 or 1/255 */
    assert_int_equal(n, px);
    size_t both = 0, either = 0;
    for (size_t i = 0; i < px; i++) {
      const int a = mask[i] >= 0.5f, b = want[i] > 0.0f;
      both += a && b;
      either += a || b;
    }
    const double iou = either ? (double)both / (double)either : 1.0;
    print_message("%s: mask IoU %.4f with the reference (%zu / %zu pixels)\n", stem, iou, both,
                  either);
    assert_true(iou >= 0.99);
    free(want);
  } else {
    for (size_t i = 0; i < px; i++)
      assert_true(mask[i] == 0.0f);
    assert_true(r.mask_share == 0.0);
  }
  free(mask);
  clseg_image_free(&rgb);
}

static void astronaut(void **state) {
  (void)state;
  check_photo(SAMPLES "astronaut.png", "astronaut");
}

static void astronaut_tilted(void **state) {
  (void)state;
  check_photo(PERSON "astronaut_rotated.png", "astronaut_rotated");
}

static void no_person(void **state) {
  (void)state;
  check_photo(SAMPLES "chelsea.png", "chelsea");
  check_photo(SAMPLES "coffee.png", "coffee");
}

/* Bad arguments and models: clear errors, nothing allocated. */
static void errors(void **state) {
  (void)state;
  clseg_person *p = (clseg_person *)1;
  assert_int_not_equal(
      clseg_person_create(test_ctx, MODELS "nope.tflite", MODELS "pose_landmark_full.tflite", &p),
      CLSEG_OK);
  assert_null(p);
  assert_true(test_contains(clseg_last_error(test_ctx), "nope.tflite"));
  /* the landmark model in the detector's place: its input is not the detector's size */
  assert_int_not_equal(clseg_person_create(test_ctx, MODELS "pose_landmark_full.tflite",
                                           MODELS "pose_landmark_full.tflite", &p),
                       CLSEG_OK);
  print_message("landmarks as the detector: %s\n", clseg_last_error(test_ctx));
  assert_true(test_contains(clseg_last_error(test_ctx), "pose_landmark_full.tflite"));
  clseg_image gray = {4, 4, 1, 8, (uint8_t[16]){0}};
  clseg_person_result r;
  assert_int_equal(clseg_person_run(pipeline, &gray, NULL, &r), CLSEG_INVALID_ARGUMENT);
  assert_true(test_contains(clseg_last_error(test_ctx), "must be RGB"));
  assert_int_equal(clseg_person_run(pipeline, NULL, NULL, &r), CLSEG_INVALID_ARGUMENT);
  /* a tiny image: no person, no crash */
  uint8_t px[8 * 8 * 3] = {0};
  clseg_image tiny = {8, 8, 3, 8, px};
  assert_int_equal(clseg_person_run(pipeline, &tiny, NULL, &r), CLSEG_OK);
  assert_int_equal(r.found, 0);
  clseg_person_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(astronaut),
      cmocka_unit_test(astronaut_tilted),
      cmocka_unit_test(no_person),
      cmocka_unit_test(errors),
  };
  test_filter_from_env();
  return cmocka_run_group_tests(tests, setup, teardown);
}
