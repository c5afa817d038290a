/* clseg eval: scores predicted class masks against ground truth (IoU, Dice, F-beta, precision,
 * recall, pixel accuracy, confusion matrix), from a folder of predictions or by segmenting images
 * with a model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "inputs.h"
#include "segment.h"

#define MAX_UNMATCHED_SHOWN 20
#define MAX_MATRIX_CLASSES                                                                         \
  10 /* the terminal table shows the confusion matrix up to this many classes */

typedef struct {
  const char *pred, *truth, *images, *model, *device;
  int classes; /* 0: from the model, else 1 + the largest label seen */
  int ignore;  /* a truth label left out, or -1 */
  double beta;
  float threshold;
  int json;
} eval_args;

/* One file of a folder, with the key it pairs on. */
typedef struct {
  char *path;
  char key[512];
} eval_file;

typedef struct {
  eval_file *files;
  size_t count;
} eval_folder;

/* The running score: with auto classes the matrix has all 256 labels and is cut to 1 + max_label at
 * the end (classes absent from both sides are left out of the means, so the cut changes no number).
 */
typedef struct {
  clseg_confusion *conf;
  int conf_classes; /* the matrix's own size */
  int max_label;    /* the largest label counted, -1 before any */
  size_t pairs;
  const clseg_model *model; /* names the classes, or NULL */
} eval_score;

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clseg eval --pred DIR --truth DIR [options]\n"
      "       clseg eval [-m MODEL] --images DIR --truth DIR [options]\n\n"
      "Scores class masks against ground-truth masks: per class IoU, Dice, F-beta, precision and "
      "recall,\n"
      "their means over the classes present, pixel accuracy and the confusion matrix. Masks are "
      "PNGs of\n"
      "class indices (palette indices or 8-bit gray values). Files pair by name: a file's key is "
      "its name\n"
      "without the extension and without a trailing '_mask', so pred/cat_mask.png (what 'clseg "
      "run'\n"
      "writes) or pred/cat.png pairs with truth/cat.png; every file must have its partner. In "
      "--pred,\n"
      "NAME_overlay.png and NAME_prob.png (the other outputs of 'clseg run') are skipped.\n\n"
      "      --pred DIR       predicted masks\n"
      "      --truth DIR      ground-truth masks\n"
      "      --images DIR     images (PNG, JPEG) to segment with the model instead of --pred\n"
      "  -m, --model FILE     .safetensors or .tflite model for --images (default: the bundled "
      "selfie\n"
      "                       model); binary models give classes 0 background and 1 foreground\n"
      "  -d, --device SPEC    OpenCL device for --images (default: $CLSEG_DEVICE, else auto)\n"
      "      --threshold T    binary models: foreground probability threshold, in (0, 1] (default "
      "0.5)\n"
      "      --classes N      class count, 1..256 (default: the model's, else 1 + the largest "
      "label\n"
      "                       seen outside the ignored one); a label >= N is an error\n"
      "      --ignore INDEX   truth label whose pixels are not counted, e.g. 255 for PASCAL VOC\n"
      "                       (default: none)\n"
      "      --beta B         F-beta's beta, >= 0 (default 1: F1, which equals Dice)\n"
      "      --json           one JSON object on stdout instead of the table\n"
      "  -h, --help           this help\n");
}

/* Checks which options go together; returns -1 when they do, else CLI_EXIT_USAGE after a message.
 */
static int check_combination(const eval_args *a, int argc, char **argv) {
  const char *why = NULL;
  if (optind < argc) {
    cli_error("eval", "unexpected argument '%s' (folders go after --pred, --truth or --images)",
              argv[optind]);
    return CLI_EXIT_USAGE;
  }
  if (!a->truth)
    why = "--truth DIR is required";
  else if (!a->pred && !a->images)
    why = "give --pred DIR (masks) or --images DIR (to segment with a model)";
  else if (a->pred && a->images)
    why = "--pred and --images exclude each other";
  else if (a->pred && (a->model || a->device || a->threshold > 0))
    why = "-m, -d and --threshold go with --images, not --pred";
  if (why) {
    cli_error("eval", "%s; see 'clseg eval --help'", why);
    return CLI_EXIT_USAGE;
  }
  return -1;
}

/* Parses options; returns -1 to continue, else the exit code. */
static int parse(int argc, char **argv, eval_args *a) {
  enum { O_PRED = 256, O_TRUTH, O_IMAGES, O_CLASSES, O_IGNORE, O_BETA, O_THRESHOLD, O_JSON };
  static const struct option opts[] = {{"pred", required_argument, 0, O_PRED},
                                       {"truth", required_argument, 0, O_TRUTH},
                                       {"images", required_argument, 0, O_IMAGES},
                                       {"model", required_argument, 0, 'm'},
                                       {"device", required_argument, 0, 'd'},
                                       {"classes", required_argument, 0, O_CLASSES},
                                       {"ignore", required_argument, 0, O_IGNORE},
                                       {"beta", required_argument, 0, O_BETA},
                                       {"threshold", required_argument, 0, O_THRESHOLD},
                                       {"json", no_argument, 0, O_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  double t;
  a->ignore = -1;
  a->beta = 1.0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:d:h", opts, NULL)) != -1) {
    const char *bad = NULL;
    switch (c) {
    case O_PRED: a->pred = optarg; break;
    case O_TRUTH: a->truth = optarg; break;
    case O_IMAGES: a->images = optarg; break;
    case 'm': a->model = optarg; break;
    case 'd': a->device = optarg; break;
    case O_CLASSES:
      bad = cli_parse_int(optarg, 1, 256, &a->classes) ? NULL : "--classes (1..256)";
      break;
    case O_IGNORE:
      bad = cli_parse_int(optarg, 0, 255, &a->ignore) ? NULL : "--ignore (0..255)";
      break;
    case O_BETA: bad = cli_parse_double(optarg, 0, 1e6, &a->beta) ? NULL : "--beta (>= 0)"; break;
    case O_THRESHOLD:
      /* 0 would read as "unset" in seg_options and silently become 0.5: refuse it */
      if (cli_parse_double(optarg, 0, 1, &t) && t > 0)
        a->threshold = (float)t;
      else
        bad = "--threshold (above 0, at most 1)";
      break;
    case O_JSON: a->json = 1; break;
    case 'h': usage(stdout); return 0;
    default: return CLI_EXIT_USAGE;
    }
    if (bad) {
      cli_error("eval", "%s: '%s' is out of range or not a number", bad, optarg);
      return CLI_EXIT_USAGE;
    }
  }
  int rc = check_combination(a, argc, argv);
  if (rc < 0 && a->images) {
    if (!a->model)
      a->model = seg_default_network();
    if (!a->device)
      a->device = getenv("CLSEG_DEVICE");
  }
  return rc;
}

/* The pairing key: the file name without its extension and without a trailing "_mask". */
static void file_key(const char *path, char *key, size_t size) {
  seg_stem(path, key, size);
  size_t n = strlen(key);
  if (n > 5 && !strcmp(key + n - 5, "_mask"))
    key[n - 5] = 0;
}

static int cmp_key(const void *x, const void *y) {
  return strcmp(((const eval_file *)x)->key, ((const eval_file *)y)->key);
}

static void folder_free(eval_folder *f) {
  for (size_t i = 0; i < f->count; i++)
    free(f->files[i].path);
  free(f->files);
  memset(f, 0, sizeof *f);
}

/* The other outputs of `clseg run` (NAME_overlay.png, NAME_prob.png), skipped in a --pred folder.
 */
static int is_run_extra(const char *path) {
  char stem[512];
  seg_stem(path, stem, sizeof stem);
  size_t n = strlen(stem);
  return (n > 8 && !strcmp(stem + n - 8, "_overlay")) || (n > 5 && !strcmp(stem + n - 5, "_prob"));
}

/* Lists a folder's images, sorted by key; two files with one key is an error (the pairing would
 * guess). */
static int folder_read(const char *dir, const char *what, eval_folder *f) {
  struct stat st;
  char err[4096];
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    cli_error("eval", "%s %s: %s", what, dir,
              access(dir, F_OK) ? "no such folder" : "not a folder");
    return 0;
  }
  input_list in = {0};
  if (!inputs_add(&in, dir, err, sizeof err)) {
    cli_error("eval", "%s %s", what, err);
    inputs_free(&in);
    return 0;
  }
  f->files = calloc(in.count, sizeof *f->files);
  if (!f->files) {
    cli_error("eval", "out of memory listing %s", dir);
    inputs_free(&in);
    return 0;
  }
  for (size_t i = 0; i < in.count; i++) {
    if (!strcmp(what, "--pred") && is_run_extra(in.paths[i])) {
      free(in.paths[i]);
      continue;
    }
    f->files[f->count].path = in.paths[i]; /* ownership moves to the folder */
    file_key(in.paths[i], f->files[f->count].key, sizeof f->files[f->count].key);
    f->count++;
  }
  free(in.paths);
  qsort(f->files, f->count, sizeof *f->files, cmp_key);
  for (size_t i = 1; i < f->count; i++)
    if (!strcmp(f->files[i - 1].key, f->files[i].key)) {
      cli_error("eval", "%s and %s both pair as '%s'; keep one", f->files[i - 1].path,
                f->files[i].path, f->files[i].key);
      return 0;
    }
  return 1;
}

static void report_unmatched(const eval_file *f, const char *missing, size_t *shown) {
  if (++*shown <= MAX_UNMATCHED_SHOWN)
    cli_error("eval", "%s: no %s file pairs with it (key '%s')", f->path, missing, f->key);
}

/* Pairs the two sorted folders: pair[i] is b's index for a's file i. Returns 0 after listing the
 * unmatched. */
static int pair_folders(const eval_folder *a, const char *a_what, const eval_folder *b,
                        const char *b_what, size_t *pair) {
  size_t i = 0, j = 0, shown = 0;
  while (i < a->count || j < b->count) {
    int c = i == a->count ? 1 : j == b->count ? -1 : strcmp(a->files[i].key, b->files[j].key);
    if (c == 0)
      pair[i++] = j++;
    else if (c < 0)
      report_unmatched(&a->files[i++], b_what, &shown);
    else
      report_unmatched(&b->files[j++], a_what, &shown);
  }
  if (shown > MAX_UNMATCHED_SHOWN)
    cli_error("eval", "... and %zu more unmatched files", shown - MAX_UNMATCHED_SHOWN);
  if (shown)
    cli_error("eval", "%zu file%s without a partner; every %s needs a %s and the reverse", shown,
              shown == 1 ? "" : "s", a_what, b_what);
  return shown == 0;
}

static int report(const eval_score *s, const eval_args *a);

/* Counts one pair; `pred_name` names the prediction (a mask file, or the segmented image). */
static int score_add(eval_score *s, const eval_args *a, const uint8_t *pred, int pw, int ph,
                     const char *pred_name, const char *truth_path) {
  clseg_image truth = {0};
  if (clseg_mask_read(truth_path, &truth) != CLSEG_OK) {
    cli_error("eval", "%s", clseg_last_error(NULL));
    return 0;
  }
  int ok = 0;
  if (truth.width != pw || truth.height != ph) {
    cli_error("eval", "%s is %dx%d but %s is %dx%d; a prediction must have its truth's size",
              pred_name, pw, ph, truth_path, truth.width, truth.height);
  } else if (clseg_confusion_add(s->conf, pred, pw, ph, truth.data, truth.width, truth.height) !=
             CLSEG_OK) {
    cli_error("eval", "%s vs %s: %s (see --classes, --ignore)", pred_name, truth_path,
              clseg_last_error(NULL));
  } else {
    for (size_t i = 0, n = (size_t)pw * (size_t)ph; i < n; i++)
      if ((int)truth.data[i] != a->ignore) {
        int m = pred[i] > truth.data[i] ? pred[i] : truth.data[i];
        s->max_label = m > s->max_label ? m : s->max_label;
      }
    s->pairs++;
    ok = 1;
  }
  clseg_image_free(&truth);
  return ok;
}

/* The class count of the matrix: --classes, the model's (2 for a binary one), else all 256 labels.
 */
static int matrix_classes(const eval_args *a, const clseg_model *model) {
  if (a->classes)
    return a->classes;
  if (model) {
    int64_t k = clseg_model_classes(model);
    return k == 1 ? 2 : k > 256 ? 256 : (int)k;
  }
  return 256;
}

static int score_open(eval_score *s, const eval_args *a, const clseg_model *model) {
  *s = (eval_score){.max_label = -1, .model = model, .conf_classes = matrix_classes(a, model)};
  if (clseg_confusion_create(s->conf_classes, a->ignore, &s->conf) != CLSEG_OK) {
    cli_error("eval", "%s", clseg_last_error(NULL));
    return 0;
  }
  return 1;
}

/* Lists and pairs both folders; on success *pair is b's index for each of a's files. */
static int open_pairs(const char *a_dir, const char *a_opt, const char *a_what, eval_folder *fa,
                      eval_folder *fb, size_t **pair, const char *truth_dir) {
  if (!folder_read(a_dir, a_opt, fa) || !folder_read(truth_dir, "--truth", fb))
    return 0;
  if (!(*pair = calloc(fa->count, sizeof **pair))) {
    cli_error("eval", "out of memory");
    return 0;
  }
  return pair_folders(fa, a_what, fb, "truth", *pair);
}

static int eval_masks(const eval_args *a) {
  eval_folder pred = {0}, truth = {0};
  eval_score s = {0};
  size_t *pair = NULL;
  int ok = open_pairs(a->pred, "--pred", "prediction", &pred, &truth, &pair, a->truth) &&
           score_open(&s, a, NULL);
  for (size_t i = 0; ok && i < pred.count; i++) {
    clseg_image p = {0};
    if (clseg_mask_read(pred.files[i].path, &p) != CLSEG_OK) {
      cli_error("eval", "%s", clseg_last_error(NULL));
      ok = 0;
    } else {
      ok = score_add(&s, a, p.data, p.width, p.height, pred.files[i].path,
                     truth.files[pair[i]].path);
    }
    clseg_image_free(&p);
  }
  int rc = ok ? report(&s, a) : CLI_EXIT_FAIL;
  clseg_confusion_free(s.conf);
  free(pair);
  folder_free(&pred);
  folder_free(&truth);
  return rc;
}

/* Segments each image with the model and scores its mask against its truth. */
static int segment_and_score(const eval_args *a, seg_worker *w, eval_score *s,
                             const eval_folder *img, const eval_folder *truth, const size_t *pair) {
  seg_options o = {
      .outdir = ".", .keep_mask = 1, .threshold = a->threshold > 0 ? a->threshold : 0.5f};
  int progress = !a->json && isatty(2), ok = 1;
  for (size_t i = 0; ok && i < img->count; i++) {
    seg_result r;
    char err[2048];
    if (progress)
      fprintf(stderr, "\r\033[K[%zu/%zu] %s", i + 1, img->count, img->files[i].path);
    if (seg_image(w, img->files[i].path, &o, &r, err, sizeof err) != CLSEG_OK) {
      if (progress)
        fprintf(stderr, "\r\033[K");
      cli_error("eval", "%s", err);
      ok = 0;
      continue;
    }
    ok = score_add(s, a, r.mask, r.width, r.height, img->files[i].path, truth->files[pair[i]].path);
    free(r.mask);
  }
  if (progress)
    fprintf(stderr, "\r\033[K");
  return ok;
}

static int eval_images(const eval_args *a) {
  eval_folder img = {0}, truth = {0};
  eval_score s = {0};
  size_t *pair = NULL;
  seg_worker w;
  char err[2048];
  int ok = open_pairs(a->images, "--images", "image", &img, &truth, &pair, a->truth), opened = 0;
  if (ok && seg_worker_init(&w, a->device, a->model, 0, 0, err, sizeof err) != CLSEG_OK) {
    cli_error("eval", "%s", err);
    ok = 0;
  } else if (ok) {
    opened = 1;
    ok = score_open(&s, a, w.model) && segment_and_score(a, &w, &s, &img, &truth, pair);
  }
  int rc = ok ? report(&s, a) : CLI_EXIT_FAIL;
  clseg_confusion_free(s.conf);
  if (opened)
    seg_worker_free(&w);
  free(pair);
  folder_free(&img);
  folder_free(&truth);
  return rc;
}

/* The name of class k for the table: the model's, "background"/"foreground" for a binary one, else
 * "". */
static const char *class_name(const clseg_model *m, int k) {
  if (!m)
    return "";
  if (clseg_model_classes(m) == 1) {
    const char *fg = clseg_model_class_name(m, 0);
    return k == 0 ? "background" : k == 1 ? (fg ? fg : "foreground") : "";
  }
  const char *n = clseg_model_class_name(m, k);
  return n ? n : "";
}

static void json_num(double v) {
  if (isnan(v))
    printf("null");
  else
    printf("%.12g", v);
}

/* Truth (row) and predicted (column) pixel totals of class k. */
static void class_totals(const uint64_t *cm, int stride, int n, int k, uint64_t *truth,
                         uint64_t *pred) {
  *truth = *pred = 0;
  for (int j = 0; j < n; j++) {
    *truth += cm[(size_t)k * (size_t)stride + (size_t)j];
    *pred += cm[(size_t)j * (size_t)stride + (size_t)k];
  }
}

static void print_json(const eval_score *s, const eval_args *a, const clseg_metrics *m, int n) {
  const uint64_t *cm = clseg_confusion_counts(s->conf);
  printf("{\"pairs\": %zu, \"classes\": %d, \"ignore\": ", s->pairs, n);
  a->ignore >= 0 ? printf("%d", a->ignore) : printf("null");
  printf(", \"beta\": %.12g, \"pixels\": %llu, \"pixel_accuracy\": ", a->beta,
         (unsigned long long)m->pixels);
  json_num(m->pixel_accuracy);
  const char *keys[5] = {"iou", "dice", "fbeta", "precision", "recall"};
  const double means[5] = {m->mean_iou, m->mean_dice, m->mean_fbeta, m->mean_precision,
                           m->mean_recall};
  const double *per[5] = {m->iou, m->dice, m->fbeta, m->precision, m->recall};
  printf(", \"present\": %d, \"mean\": {", m->present);
  for (int i = 0; i < 5; i++) {
    printf("%s\"%s\": ", i ? ", " : "", keys[i]);
    json_num(means[i]);
  }
  printf("}, \"per_class\": [");
  for (int k = 0; k < n; k++) {
    uint64_t t, p;
    class_totals(cm, s->conf_classes, n, k, &t, &p);
    printf("%s\n  {\"class\": %d, \"name\": ", k ? "," : "", k);
    cli_json_string(stdout, class_name(s->model, k));
    for (int i = 0; i < 5; i++) {
      printf(", \"%s\": ", keys[i]);
      json_num(per[i][k]);
    }
    printf(", \"truth_pixels\": %llu, \"predicted_pixels\": %llu}", (unsigned long long)t,
           (unsigned long long)p);
  }
  printf("],\n\"confusion\": [");
  for (int k = 0; k < n; k++) {
    printf("%s[", k ? ", " : "");
    for (int j = 0; j < n; j++)
      printf("%s%llu", j ? ", " : "",
             (unsigned long long)cm[(size_t)k * (size_t)s->conf_classes + (size_t)j]);
    printf("]");
  }
  printf("]}\n");
}

static void table_cell(double v) {
  isnan(v) ? printf(" %9s", "-") : printf(" %9.4f", v);
}

static void print_matrix(const eval_score *s, int n) {
  const uint64_t *cm = clseg_confusion_counts(s->conf);
  printf("\nconfusion matrix (pixels; rows: truth, columns: predicted)\n%6s", "");
  for (int j = 0; j < n; j++)
    printf(" %11d", j);
  printf("\n");
  for (int k = 0; k < n; k++) {
    printf("%6d", k);
    for (int j = 0; j < n; j++)
      printf(" %11llu", (unsigned long long)cm[(size_t)k * (size_t)s->conf_classes + (size_t)j]);
    printf("\n");
  }
}

static void print_table(const eval_score *s, const eval_args *a, const clseg_metrics *m, int n) {
  const uint64_t *cm = clseg_confusion_counts(s->conf);
  char fb[32], ign[32] = "none";
  snprintf(fb, sizeof fb, "F%g", a->beta);
  if (a->ignore >= 0)
    snprintf(ign, sizeof ign, "label %d", a->ignore);
  printf("scored %zu pair%s: %llu pixels counted, %d classes (%d present), ignored: %s\n\n",
         s->pairs, s->pairs == 1 ? "" : "s", (unsigned long long)m->pixels, n, m->present, ign);
  printf("%-20s %9s %9s %9s %9s %9s %12s %12s\n", "class", "IoU", "Dice", fb, "precision", "recall",
         "truth px", "predicted px");
  for (int k = 0; k < n; k++) {
    char label[64];
    uint64_t t, p;
    snprintf(label, sizeof label, "%d %s", k, class_name(s->model, k));
    class_totals(cm, s->conf_classes, n, k, &t, &p);
    printf("%-20.20s", label);
    table_cell(m->iou[k]);
    table_cell(m->dice[k]);
    table_cell(m->fbeta[k]);
    table_cell(m->precision[k]);
    table_cell(m->recall[k]);
    printf(" %12llu %12llu\n", (unsigned long long)t, (unsigned long long)p);
  }
  printf("%-20s", "mean");
  table_cell(m->mean_iou);
  table_cell(m->mean_dice);
  table_cell(m->mean_fbeta);
  table_cell(m->mean_precision);
  table_cell(m->mean_recall);
  printf("\n%-20s", "pixel accuracy");
  table_cell(m->pixel_accuracy);
  printf("\n");
  if (n <= MAX_MATRIX_CLASSES)
    print_matrix(s, n);
}

static int report(const eval_score *s, const eval_args *a) {
  int n = a->classes || s->model ? s->conf_classes : s->max_label + 1;
  if (s->max_label < 0) {
    cli_error("eval", "no pixel was counted (every truth pixel has the --ignore label %d)",
              a->ignore);
    return CLI_EXIT_FAIL;
  }
  clseg_metrics m = {0};
  if (clseg_confusion_metrics(s->conf, a->beta, &m) != CLSEG_OK) {
    cli_error("eval", "%s", clseg_last_error(NULL));
    return CLI_EXIT_FAIL;
  }
  if (n == 256 && !a->classes && !s->model && a->ignore < 0)
    fprintf(
        stderr,
        "clseg eval: note: label 255 counted as class 255; if it marks 'void' pixels (PASCAL VOC), "
        "add --ignore 255\n");
  if (a->json)
    print_json(s, a, &m, n);
  else
    print_table(s, a, &m, n);
  fflush(stdout);
  clseg_metrics_free(&m);
  return 0;
}

int cmd_eval(int argc, char **argv) {
  eval_args a = {0};
  int rc = parse(argc, argv, &a);
  if (rc >= 0)
    return rc;
  return a.images ? eval_images(&a) : eval_masks(&a);
}
