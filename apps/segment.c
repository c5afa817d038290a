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

#ifndef CLSEG_INSTALLED_MODEL
#define CLSEG_INSTALLED_MODEL ""
#endif
#ifndef CLSEG_SOURCE_MODEL
#define CLSEG_SOURCE_MODEL ""
#endif

const char *seg_default_model(void) {
  const char *env = getenv("CLSEG_DEFAULT_MODEL");
  if (env && *env)
    return env;
  if (*CLSEG_INSTALLED_MODEL && access(CLSEG_INSTALLED_MODEL, R_OK) == 0)
    return CLSEG_INSTALLED_MODEL;
  return CLSEG_SOURCE_MODEL;
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
  memset(w, 0, sizeof *w);
  w->size_h = size_h;
  w->size_w = size_w;
  clseg_status s = clseg_context_create(device_spec, &w->ctx);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  const clseg_model_options mo = {size_h, size_w};
  s = clseg_model_load_ex(model_path, &mo, &w->model);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    clseg_context_free(w->ctx);
    w->ctx = NULL;
  }
  return s;
}

void seg_worker_free(seg_worker *w) {
  clseg_segmenter_free(w->seg);
  clseg_model_free(w->model);
  clseg_context_free(w->ctx);
  memset(w, 0, sizeof *w);
}

double seg_plan_seconds(const seg_worker *w) {
  return w->plan_seconds + clseg_segmenter_plan_seconds(w->seg);
}

/* The library's segmenter for these per-image options, made on first use (and again, plans lost,
 * if the options change). */
static clseg_status segmenter_for(seg_worker *w, const seg_options *o, char *err, size_t errlen) {
  const clseg_segment_options so = {.size_h = w->size_h > 0 ? w->size_h : 0,
                                    .size_w = w->size_h > 0 ? w->size_w : 0,
                                    .tile = o ? o->tile : 0,
                                    .overlap = o && o->tile > 0 ? o->overlap : 0,
                                    .threshold = o ? o->threshold : 0.0f,
                                    .low_memory = w->plan_opt.low_memory};
  if (w->seg && !memcmp(&so, &w->seg_opt, sizeof so))
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
  if (o->tile <= 0 || !clseg_model_input_size(w->model, &fh, &fw) ||
      (fh == o->tile && fw == o->tile))
    return 0;
  snprintf(err, errlen, "--tile %d: this model takes a fixed %lldx%lld input; use --tile %lld",
           o->tile, (long long)fw, (long long)fh, (long long)fh);
  return 1;
}

/* Writes the outputs of one image; on failure none of them is left behind. */
static clseg_status write_outputs(const seg_worker *w, const char *path, const clseg_image *rgb,
                                  const uint8_t *mask, const float *probs, const seg_options *o,
                                  seg_result *r, char *err, size_t errlen) {
  char stem[512];
  uint8_t palette[256 * 3];
  seg_stem(path, stem, sizeof stem);
  clseg_palette_default(palette);
  int W = rgb->width, H = rgb->height;
  clseg_status s = CLSEG_OK;
  if (o->write_mask) {
    snprintf(r->mask_path, sizeof r->mask_path, "%s/%s_mask.png", o->outdir, stem);
    s = clseg_png_write_mask(r->mask_path, mask, W, H, palette);
  }
  if (s == CLSEG_OK && o->overlay) {
    clseg_image ov = {0};
    snprintf(r->overlay_path, sizeof r->overlay_path, "%s/%s_overlay.png", o->outdir, stem);
    s = clseg_overlay(rgb, mask, W, H, palette, o->alpha, &ov);
    if (s == CLSEG_OK)
      s = clseg_png_write_rgb(r->overlay_path, ov.data, W, H);
    clseg_image_free(&ov);
  }
  int64_t k = clseg_model_classes(w->model);
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

clseg_status seg_image(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                       char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  err[0] = 0;
  double t0 = cli_now();
  clseg_image img = {0}, rgb = {0};
  clseg_segmentation sr = {0};
  clseg_status s = clseg_image_read(path, &img);
  if (s == CLSEG_OK)
    s = clseg_image_to_rgb(&img, &rgb);
  clseg_image_free(&img);
  if (s != CLSEG_OK) {
    snprintf(err, errlen, "%s", clseg_last_error(NULL));
    return s;
  }
  r->width = rgb.width;
  r->height = rgb.height;
  const int flags = (o->probs ? CLSEG_SEGMENT_PROBS : 0) | (o->npy_out ? CLSEG_SEGMENT_RAW : 0);
  if (tile_conflict(w, o, err, errlen))
    s = CLSEG_INVALID_ARGUMENT;
  else if ((s = segmenter_for(w, o, err, errlen)) == CLSEG_OK &&
           (s = clseg_segment_image(w->seg, &rgb, flags, &sr)) != CLSEG_OK)
    snprintf(err, errlen, "%s%s", clseg_last_error(w->ctx),
             s == CLSEG_OUT_OF_MEMORY && o->tile <= 0
                 ? " (try --tile 512 to segment the image in tiles)"
                 : "");
  if (s == CLSEG_OK) {
    r->in_h = sr.input_h;
    r->in_w = sr.input_w;
    r->tiles = sr.tiles;
    r->net_ms = sr.network_ms;
    if (o->npy_out)
      s = write_npys(o->npy_out, sr.outputs, sr.raw, (const int64_t(*)[4])sr.raw_shape, sr.raw_name,
                     err, errlen);
  }
  if (s == CLSEG_OK)
    s = write_outputs(w, path, &rgb, sr.mask, sr.probs, o, r, err, errlen);
  else if (err[0] && !strstr(err, path)) { /* name the file in every message */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", err);
    snprintf(err, errlen, "%s: %s", path, tmp);
  }
  if (s == CLSEG_OK && o->keep_mask) {
    r->mask = sr.mask;
    sr.mask = NULL;
  }
  clseg_segmentation_free(&sr);
  clseg_image_free(&rgb);
  r->ms = (cli_now() - t0) * 1e3;
  return s;
}

clseg_status seg_tensor_npy(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                            char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
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
