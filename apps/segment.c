/* The per-image work of `clseg run` and `clseg eval`: the library's segmenter
 * (include/clseg_segment.h, lib/segment.c) on each image, and the output files. */
#include "segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clseg_person.h"

#ifndef CLSEG_INSTALLED_MODELS
#define CLSEG_INSTALLED_MODELS ""
#endif
#ifndef CLSEG_SOURCE_MODELS
#define CLSEG_SOURCE_MODELS ""
#endif

/* The bundled models: -m NAME, and what `clseg models` lists. */
static const struct {
  const char *name, *files, *what;
} BUNDLED[] = {
    {"person", "pose_detection.tflite + pose_landmark_full.tflite",
     "MediaPipe BlazePose: the most prominent person's mask and 33 landmarks, or \"no person\""},
    {"selfie", "selfie_segmentation.tflite",
     "MediaPipe selfie segmentation, 256x256: foreground (person-like) probability"},
    {"selfie-landscape", "selfie_segmentation_landscape.tflite",
     "MediaPipe selfie segmentation, 144x256 (landscape)"},
};

const char *seg_models_dir(void) {
  static char probe[1200];
  snprintf(probe, sizeof probe, "%s/selfie_segmentation.tflite", CLSEG_INSTALLED_MODELS);
  return *CLSEG_INSTALLED_MODELS && access(probe, R_OK) == 0 ? CLSEG_INSTALLED_MODELS
                                                             : CLSEG_SOURCE_MODELS;
}

const char *seg_default_model(void) {
  const char *env = getenv("CLSEG_DEFAULT_MODEL");
  return env && *env ? env : "person";
}

const char *seg_default_network(void) {
  const char *env = getenv("CLSEG_DEFAULT_MODEL");
  return env && *env && strcmp(env, "person") ? env : "selfie";
}

int seg_resolve_model(const char *name, char *path, size_t size) {
  for (size_t i = 0; i < sizeof BUNDLED / sizeof *BUNDLED; i++)
    if (!strcmp(name, BUNDLED[i].name)) {
      if (i == 0)
        snprintf(path, size, "person");
      else
        snprintf(path, size, "%s/%s", seg_models_dir(), BUNDLED[i].files);
      return (int)i + 1;
    }
  snprintf(path, size, "%s", name);
  return 0;
}

void seg_list_models(FILE *f) {
  for (size_t i = 0; i < sizeof BUNDLED / sizeof *BUNDLED; i++)
    fprintf(f, "%-17s %s\n%-17s %s/%s\n", BUNDLED[i].name, BUNDLED[i].what, "", seg_models_dir(),
            BUNDLED[i].files);
}

void seg_stem(const char *path, char *out, size_t size) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(out, size, "%s", base);
  char *dot = strrchr(out, '.');
  if (dot && dot != out)
    *dot = 0;
}

clseg_status seg_worker_init(seg_worker *w, const char *device_spec, const char *model_path,
                             int64_t size_h, int64_t size_w, char *err, size_t errlen) {
  return seg_worker_init_ex(w, device_spec, model_path, size_h, size_w, 0, err, errlen);
}

clseg_status seg_worker_init_ex(seg_worker *w, const char *device_spec, const char *model_path,
                                int64_t size_h, int64_t size_w, int allow_person, char *err,
                                size_t errlen) {
  memset(w, 0, sizeof *w);
  char path[1200];
  seg_resolve_model(model_path, path, sizeof path);
  if (!allow_person && !strcmp(path, "person")) {
    snprintf(err, errlen,
             "-m person: the person pipeline runs two networks and only `clseg run` "
             "takes it; give one network (-m selfie, a file)");
    return CLSEG_INVALID_ARGUMENT;
  }
  w->size_h = size_h;
  w->size_w = size_w;
  clseg_status s = clseg_context_create(device_spec, &w->ctx);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  if (!strcmp(path, "person")) {
    char det[1200], lmk[1200];
    snprintf(det, sizeof det, "%s/pose_detection.tflite", seg_models_dir());
    snprintf(lmk, sizeof lmk, "%s/pose_landmark_full.tflite", seg_models_dir());
    if ((s = clseg_person_create(w->ctx, det, lmk, &w->person)) != CLSEG_OK)
      snprintf(err, errlen, "%s", clseg_last_error(w->ctx));
  } else {
    const clseg_model_options mo = {size_h, size_w};
    if ((s = clseg_model_load_ex(path, &mo, &w->model)) != CLSEG_OK)
      snprintf(err, errlen, "%s", clseg_last_error(NULL));
  }
  if (s != CLSEG_OK) {
    clseg_context_free(w->ctx);
    w->ctx = NULL;
  }
  return s;
}

void seg_worker_free(seg_worker *w) {
  clseg_segmenter_free(w->seg);
  clseg_person_free(w->person);
  clseg_model_free(w->model);
  clseg_context_free(w->ctx);
  memset(w, 0, sizeof *w);
}

double seg_plan_seconds(const seg_worker *w) {
  return w->plan_seconds + clseg_segmenter_plan_seconds(w->seg);
}

/* Field by field: memcmp would read the struct's padding, which initialisers leave undefined. */
static int same_options(const clseg_segment_options *a, const clseg_segment_options *b) {
  return a->size_h == b->size_h && a->size_w == b->size_w && a->tile == b->tile &&
         a->overlap == b->overlap && a->threshold == b->threshold &&
         a->low_memory == b->low_memory && a->no_fusion == b->no_fusion;
}

/* The library's segmenter for these per-image options, made on first use (and again, plans lost,
 * if the options change). */
static clseg_status segmenter_for(seg_worker *w, const seg_options *o, char *err, size_t errlen) {
  const clseg_segment_options so = {.size_h = w->size_h > 0 ? w->size_h : 0,
                                    .size_w = w->size_h > 0 ? w->size_w : 0,
                                    .tile = o ? o->tile : 0,
                                    .overlap = o && o->tile > 0 ? o->overlap : 0,
                                    .threshold = o ? o->threshold : 0.0f,
                                    .low_memory = w->plan_opt.low_memory,
                                    .no_fusion = w->plan_opt.no_fusion};
  if (w->seg && same_options(&so, &w->seg_opt))
    return CLSEG_OK;
  w->plan_seconds += clseg_segmenter_plan_seconds(w->seg);
  clseg_segmenter_free(w->seg);
  w->seg = NULL;
  w->seg_opt = so;
  clseg_status s = clseg_segmenter_create(w->ctx, w->model, &so, &w->seg);
  if (s != CLSEG_OK)
    snprintf(err, errlen, "%s", clseg_last_error(w->ctx));
  return s;
}

clseg_status seg_plan_for(seg_worker *w, int64_t n, int64_t h, int64_t wd, clseg_plan **out,
                          char *err, size_t errlen) {
  err[0] = 0;
  if (w->person) {
    snprintf(err, errlen,
             "the person pipeline runs two networks: this command takes one model "
             "(-m selfie, a file)");
    return CLSEG_UNSUPPORTED;
  }
  clseg_status st = w->seg ? CLSEG_OK : segmenter_for(w, NULL, err, errlen);
  if (st == CLSEG_OK)
    st = clseg_segmenter_plan(w->seg, n, h, wd, out);
  if (st != CLSEG_OK && !err[0])
    snprintf(err, errlen, "%s%s", clseg_last_error(w->ctx),
             st == CLSEG_OUT_OF_MEMORY ? " (try --tile 512 to segment the image in tiles)" : "");
  return st;
}

int seg_size_conflict(const seg_worker *w, char *err, size_t errlen) {
  int64_t fh, fw;
  if (w->person && w->size_h > 0) {
    snprintf(err, errlen,
             "--size: the person pipeline's networks take fixed inputs (224x224 and "
             "256x256)");
    return 1;
  }
  if (w->person)
    return 0;
  if (w->size_h <= 0 || !clseg_model_input_size(w->model, &fh, &fw) ||
      (fh == w->size_h && fw == w->size_w))
    return 0;
  snprintf(err, errlen, "--size %lldx%lld: this model takes a fixed %lldx%lld input",
           (long long)w->size_w, (long long)w->size_h, (long long)fw, (long long)fh);
  return 1;
}

/* --tile with a fixed-size model must be that size (said in the CLI's terms). */
static int tile_conflict(const seg_worker *w, const seg_options *o, char *err, size_t errlen) {
  int64_t fh, fw;
  if (w->person && o->tile > 0) {
    snprintf(err, errlen, "--tile: the person pipeline crops the person itself (no tiles)");
    return 1;
  }
  if (o->tile <= 0 || !clseg_model_input_size(w->model, &fh, &fw) ||
      (fh == o->tile && fw == o->tile))
    return 0;
  snprintf(err, errlen, "--tile %d: this model takes a fixed %lldx%lld input; use --tile %lld",
           o->tile, (long long)fw, (long long)fh, (long long)fh);
  return 1;
}

/* The overlay: classes tinted over the image with their outline, the person's skeleton, and for
 * models of more than two classes a legend of the classes present (--labels names, else the
 * model's, else "class N"). */
static clseg_status overlay_image(const clseg_image *rgb, const uint8_t *mask,
                                  const uint8_t *palette, const clseg_person_result *person,
                                  const clseg_model *model, const seg_options *o, clseg_image *ov) {
  static const uint8_t outline[3] = {255, 255, 255}, bones[3] = {255, 200, 0};
  const int thick = rgb->width + rgb->height > 1600 ? 3 : 2;
  clseg_status s = clseg_overlay(rgb, mask, rgb->width, rgb->height, palette, o->alpha, ov);
  if (s == CLSEG_OK)
    s = clseg_draw_outline(ov, mask, thick, outline);
  if (s == CLSEG_OK && person && person->found) {
    float pts[CLSEG_PERSON_LANDMARKS][2], vis[CLSEG_PERSON_LANDMARKS];
    for (int i = 0; i < CLSEG_PERSON_LANDMARKS; i++)
      pts[i][0] = person->landmarks[i][0], pts[i][1] = person->landmarks[i][1],
      vis[i] = person->landmarks[i][3];
    s = clseg_draw_skeleton(ov, (const float(*)[2])pts, vis, CLSEG_PERSON_LANDMARKS,
                            clseg_person_bones, CLSEG_PERSON_BONES, 0.5f, thick, bones);
  }
  const int64_t k = model ? clseg_model_classes(model) : 1;
  if (s == CLSEG_OK && k > 2) {
    const char *names[256] = {0};
    const int n = (int)(k < 256 ? k : 256); /* the mask holds classes 0..255 */
    for (int i = 0; i < n; i++)
      names[i] = o->labels ? o->labels[i] : clseg_model_class_name(model, i);
    s = clseg_draw_legend(ov, mask, palette, names, n, 0);
  }
  return s;
}

/* Writes the outputs of one image; on failure none of them is left behind. */

static clseg_status write_outputs(const clseg_model *model, const char *path,
                                  const clseg_image *rgb, const uint8_t *mask, const float *probs,
                                  const clseg_person_result *person, const seg_options *o,
                                  seg_result *r, char *err, size_t errlen) {
  char stem[512];
  uint8_t palette[256 * 3];
  seg_stem(path, stem, sizeof stem);
  clseg_palette_default(palette);
  int W = rgb->width, H = rgb->height;
  const int64_t k = model ? clseg_model_classes(model) : 1;
  clseg_status s = CLSEG_OK;
  if (o->write_mask) {
    snprintf(r->mask_path, sizeof r->mask_path, "%s/%s_mask.png", o->outdir, stem);
    s = clseg_png_write_mask(r->mask_path, mask, W, H, palette);
  }
  if (s == CLSEG_OK && o->overlay) {
    clseg_image ov = {0};
    snprintf(r->overlay_path, sizeof r->overlay_path, "%s/%s_overlay.png", o->outdir, stem);
    s = overlay_image(rgb, mask, palette, person, model, o, &ov);
    if (s == CLSEG_OK)
      s = clseg_png_write_rgb(r->overlay_path, ov.data, W, H);
    clseg_image_free(&ov);
  }
  if (s == CLSEG_OK && probs && k == 1) {
    uint16_t *p16 = malloc((size_t)W * (size_t)H * sizeof *p16);
    snprintf(r->probs_path, sizeof r->probs_path, "%s/%s_prob.png", o->outdir, stem);
    for (size_t i = 0; p16 && i < (size_t)W * (size_t)H; i++)
      p16[i] = (uint16_t)lrintf(probs[i] * 65535.0f);
    s = p16 ? clseg_png_write_gray16(r->probs_path, p16, W, H) : CLSEG_OUT_OF_MEMORY;
    free(p16);
  } else if (s == CLSEG_OK && probs) {
    const int64_t shape[3] = {k, H, W};
    snprintf(r->probs_path, sizeof r->probs_path, "%s/%s_probs.npy", o->outdir, stem);
    s = clseg_npy_write(r->probs_path, probs, shape, 3);
  }
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s",
             s == CLSEG_OUT_OF_MEMORY ? "out of host memory" : clseg_last_error(NULL));
    if (r->mask_path[0])
      remove(r->mask_path);
    if (r->overlay_path[0])
      remove(r->overlay_path);
    if (r->probs_path[0])
      remove(r->probs_path);
  }
  return s;
}

void seg_npy_path(const char *path, int i, const char *name, char *out, size_t size) {
  if (i == 0) {
    snprintf(out, size, "%s", path);
    return;
  }
  const size_t n = strlen(path);
  const int has_ext = n > 4 && !strcmp(path + n - 4, ".npy");
  char safe[128];
  snprintf(safe, sizeof safe, "%s", name && *name ? name : "output");
  for (char *c = safe; *c; c++) /* a name may hold '/' or ':' (TFLite, ONNX): keep it one file */
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '_' || *c == '-' || *c == '.'))
      *c = '_';
  snprintf(out, size, "%.*s.%d.%s.npy", (int)(has_ext ? n - 4 : n), path, i, safe);
}

/* Writes n outputs as .npy files (seg_npy_path's names); on failure none is left behind. */
static clseg_status write_npys(const char *path, int n, float *const *data,
                               const int64_t (*shapes)[4], const char *const *names, char *err,
                               size_t errlen) {
  char file[1200];
  for (int i = 0; i < n; i++) {
    seg_npy_path(path, i, names[i], file, sizeof file);
    if (clseg_npy_write(file, data[i], shapes[i], 4) == CLSEG_OK)
      continue;
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    for (int k = 0; k < i; k++) {
      seg_npy_path(path, k, names[k], file, sizeof file);
      remove(file);
    }
    return CLSEG_IO;
  }
  return CLSEG_OK;
}

/* Prefixes err with the file's name unless it already names it: every message names its file. */
static void name_file(const char *path, char *err, size_t errlen) {
  if (!err[0] || strstr(err, path))
    return;
  const size_t pl = strlen(path) + 2; /* "PATH: " */
  if (errlen <= pl + 1) {
    snprintf(err, errlen, "%s", path);
    return;
  }
  size_t el = strlen(err);
  el = el < errlen - pl - 1 ? el : errlen - pl - 1;
  memmove(err + pl, err, el);
  memcpy(err, path, pl - 2);
  err[pl - 2] = ':', err[pl - 1] = ' ', err[pl + el] = 0;
}

clseg_status seg_decode(seg_job *j) {
  const double t0 = cli_now();
  clseg_image img = {0};
  j->err[0] = 0;
  clseg_status s = clseg_image_read(j->path, &img);
  if (s == CLSEG_OK)
    s = clseg_image_to_rgb(&img, &j->rgb);
  clseg_image_free(&img);
  if (s != CLSEG_OK)
    snprintf(j->err, sizeof j->err, "%s", clseg_last_error(NULL));
  j->r.width = j->rgb.width;
  j->r.height = j->rgb.height;
  j->r.decode_ms = (cli_now() - t0) * 1e3;
  name_file(j->path, j->err, sizeof j->err);
  return j->status = s;
}

/* The person pipeline on one image: the mask at the threshold and the probabilities; r->person
 * holds the result. */
static clseg_status person_compute(seg_worker *w, const seg_options *o, seg_job *j) {
  const size_t px = (size_t)j->rgb.width * (size_t)j->rgb.height;
  seg_result *r = &j->r;
  j->prob = malloc(px * sizeof *j->prob);
  j->mask = malloc(px);
  if (!j->prob || !j->mask) {
    snprintf(j->err, sizeof j->err, "out of host memory for a %dx%d mask", j->rgb.width,
             j->rgb.height);
    return CLSEG_OUT_OF_MEMORY;
  }
  clseg_status s = clseg_person_run(w->person, &j->rgb, j->prob, &r->person);
  if (s != CLSEG_OK) {
    snprintf(j->err, sizeof j->err, "%s", clseg_last_error(w->ctx));
    return s;
  }
  const float t = o->threshold > 0 ? o->threshold : 0.5f;
  for (size_t i = 0; i < px; i++)
    j->mask[i] = j->prob[i] >= t;
  r->is_person = 1;
  r->in_h = r->in_w = 256;
  r->tiles = 1;
  r->net_ms = r->person.detector_ms + r->person.landmark_ms;
  return CLSEG_OK;
}

clseg_status seg_compute(seg_worker *w, const seg_options *o, seg_job *j) {
  const double t0 = cli_now();
  seg_result *r = &j->r;
  clseg_status s = CLSEG_OK;
  if (tile_conflict(w, o, j->err, sizeof j->err))
    s = CLSEG_INVALID_ARGUMENT;
  else if (w->person)
    s = person_compute(w, o, j);
  else if ((s = segmenter_for(w, o, j->err, sizeof j->err)) == CLSEG_OK) {
    const int flags = (o->probs ? CLSEG_SEGMENT_PROBS : 0) | (o->npy_out ? CLSEG_SEGMENT_RAW : 0);
    if ((s = clseg_segment_image(w->seg, &j->rgb, flags, &j->sr)) != CLSEG_OK)
      snprintf(j->err, sizeof j->err, "%s%s", clseg_last_error(w->ctx),
               s == CLSEG_OUT_OF_MEMORY && o->tile <= 0
                   ? " (try --tile 512 to segment the image in tiles)"
                   : "");
    r->in_h = j->sr.input_h;
    r->in_w = j->sr.input_w;
    r->tiles = j->sr.tiles;
    r->net_ms = j->sr.network_ms;
  }
  r->pre_post_ms = (cli_now() - t0) * 1e3 - r->net_ms;
  name_file(j->path, j->err, sizeof j->err);
  return j->status = s;
}

int seg_same_input(const seg_worker *w, const clseg_image *a, const clseg_image *b) {
  int64_t fh, fw;
  if (w->person)
    return 0;
  if (w->size_h > 0 || clseg_model_input_size(w->model, &fh, &fw))
    return 1; /* one input size whatever the image's */
  return a->width == b->width && a->height == b->height;
}

void seg_compute_batch(seg_worker *w, const seg_options *o, seg_job *const *jobs, int n) {
  enum { MAX = 64 };
  const clseg_image *rgb[MAX];
  clseg_segmentation sr[MAX];
  const double t0 = cli_now();
  char err[sizeof jobs[0]->err];
  clseg_status s = n > 1 && n <= MAX && !w->person && !o->tile && !o->npy_out
                       ? segmenter_for(w, o, err, sizeof err)
                       : CLSEG_UNSUPPORTED;
  for (int i = 0; s == CLSEG_OK && i < n; i++)
    rgb[i] = &jobs[i]->rgb;
  if (s == CLSEG_OK)
    s = clseg_segment_images(w->seg, rgb, n, o->probs ? CLSEG_SEGMENT_PROBS : 0, sr);
  if (s != CLSEG_OK) { /* one by one: each image gets its own result or its own message */
    for (int i = 0; i < n; i++)
      seg_compute(w, o, jobs[i]);
    return;
  }
  const double ms = (cli_now() - t0) * 1e3 / n;
  for (int i = 0; i < n; i++) {
    seg_job *j = jobs[i];
    j->sr = sr[i];
    j->r.in_h = sr[i].input_h;
    j->r.in_w = sr[i].input_w;
    j->r.tiles = 1;
    j->r.net_ms = sr[i].network_ms;
    j->r.pre_post_ms = ms - sr[i].network_ms;
    j->status = CLSEG_OK;
  }
}

clseg_status seg_encode(const seg_worker *w, const seg_options *o, seg_job *j) {
  const double t0 = cli_now();
  seg_result *r = &j->r;
  clseg_status s = CLSEG_OK;
  const int person = w->person != NULL;
  uint8_t *mask = person ? j->mask : j->sr.mask;
  if (!person && o->npy_out)
    s = write_npys(o->npy_out, j->sr.outputs, j->sr.raw, (const int64_t(*)[4])j->sr.raw_shape,
                   j->sr.raw_name, j->err, sizeof j->err);
  if (s == CLSEG_OK)
    s = write_outputs(person ? NULL : w->model, j->path, &j->rgb, mask,
                      o->probs ? (person ? j->prob : j->sr.probs) : NULL,
                      person ? &r->person : NULL, o, r, j->err, sizeof j->err);
  if (s == CLSEG_OK && o->keep_mask) {
    r->mask = mask;
    if (person)
      j->mask = NULL;
    else
      j->sr.mask = NULL;
  }
  r->encode_ms = (cli_now() - t0) * 1e3;
  r->ms = r->decode_ms + r->net_ms + r->pre_post_ms + r->encode_ms;
  name_file(j->path, j->err, sizeof j->err);
  return j->status = s;
}

void seg_job_clear(seg_job *j) {
  clseg_image_free(&j->rgb);
  clseg_segmentation_free(&j->sr);
  free(j->prob);
  free(j->mask);
  j->prob = NULL;
  j->mask = NULL;
}

clseg_status seg_image(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                       char *err, size_t errlen) {
  seg_job *j = calloc(1, sizeof *j);
  if (!j) {
    snprintf(err, errlen, "%s: out of host memory", path);
    return CLSEG_OUT_OF_MEMORY;
  }
  j->path = path;
  clseg_status s = seg_decode(j);
  if (s == CLSEG_OK)
    s = seg_compute(w, o, j);
  if (s == CLSEG_OK)
    s = seg_encode(w, o, j);
  *r = j->r;
  snprintf(err, errlen, "%s", j->err);
  seg_job_clear(j);
  free(j);
  return s;
}

clseg_status seg_tensor_npy(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                            char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  if (w->person) {
    snprintf(err, errlen,
             "--input-npy: the person pipeline runs two networks on an image; give a "
             "model file (or -m selfie)");
    return CLSEG_INVALID_ARGUMENT;
  }
  double t0 = cli_now();
  clseg_array a = {0};
  clseg_status s = clseg_npy_read(path, &a);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  int64_t c = clseg_model_in_channels(w->model), fh, fw;
  if (a.ndim != 4 || a.shape[1] != c ||
      (clseg_model_input_size(w->model, &fh, &fw) && (a.shape[2] != fh || a.shape[3] != fw))) {
    snprintf(
        err, errlen, "%s: the array must be NCHW float32 with %lld channels%s (got %d dimensions)",
        path, (long long)c,
        clseg_model_input_size(w->model, &fh, &fw) ? " at the model's input size" : "", a.ndim);
    clseg_array_free(&a);
    return CLSEG_SHAPE_MISMATCH;
  }
  float *outs[CLSEG_MAX_OUTPUTS] = {0};
  int64_t shapes[CLSEG_MAX_OUTPUTS][4];
  size_t counts[CLSEG_MAX_OUTPUTS];
  const char *names[CLSEG_MAX_OUTPUTS];
  int n = 0;
  clseg_plan *plan = NULL;
  r->in_h = a.shape[2];
  r->in_w = a.shape[3];
  s = seg_plan_for(w, a.shape[0], a.shape[2], a.shape[3], &plan, err, errlen);
  if (s == CLSEG_OK) {
    n = clseg_plan_output_count(plan);
    for (int i = 0; i < n && s == CLSEG_OK; i++) {
      clseg_plan_output_shape_at(plan, i, shapes[i]);
      names[i] = clseg_plan_output_name(plan, i);
      counts[i] = (size_t)(shapes[i][0] * shapes[i][1] * shapes[i][2] * shapes[i][3]);
      outs[i] = malloc(counts[i] * sizeof **outs);
      if (!outs[i]) {
        snprintf(err, errlen, "out of host memory for the outputs");
        s = CLSEG_OUT_OF_MEMORY;
      }
    }
  }
  if (s == CLSEG_OK) {
    double t1 = cli_now();
    s = clseg_plan_run_outputs(plan, a.data, a.count, outs, counts, n);
    r->net_ms = (cli_now() - t1) * 1e3;
    if (s != CLSEG_OK)
      snprintf(err, errlen, "%s", clseg_last_error(w->ctx));
  }
  clseg_array_free(&a);
  if (s == CLSEG_OK && o->npy_out)
    s = write_npys(o->npy_out, n, outs, (const int64_t(*)[4])shapes, names, err, errlen);
  for (int i = 0; i < n; i++)
    free(outs[i]);
  r->width = (int)r->in_w;
  r->height = (int)r->in_h;
  r->ms = (cli_now() - t0) * 1e3;
  return s;
}

int cmd_models(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    printf(
        "usage: clseg models\n\nLists the bundled models: -m NAME takes them in clseg run (and the "
        "single networks in info, bench, eval and tune).\n");
    return 0;
  }
  if (argc > 1) {
    cli_error("models", "unexpected argument '%s'", argv[1]);
    return CLI_EXIT_USAGE;
  }
  seg_list_models(stdout);
  return 0;
}
