/* The per-image work of `clseg run` and `clseg eval`: the library's segmenter
 * (include/clseg_segment.h) on each image, and the output files. */
#ifndef CLSEG_APP_SEGMENT_H
#define CLSEG_APP_SEGMENT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "clseg.h"
#include "clseg_io.h"
#include "clseg_models.h"
#include "clseg_person.h"
#include "clseg_segment.h"

typedef struct {
  const char *outdir;  /* where outputs go */
  int overlay;         /* write NAME_overlay.png */
  int probs;           /* write NAME_prob.png (one class) or NAME_probs.npy (several) */
  const char *npy_out; /* the raw output tensor, one input only */
  float
      threshold; /* binary models: probability at or above which a pixel is foreground, in (0, 1] */
  float alpha;   /* overlay opacity, in [0, 1] */
  int tile, overlap;         /* sliding window: tile size (0: whole image) and overlap in pixels */
  int keep_mask;             /* keep the mask in the result (eval) instead of writing files */
  int write_mask;            /* write NAME_mask.png */
  const char *const *labels; /* --labels: class names for the overlay's legend, else the model's */
  int nlabels;
} seg_options;

typedef struct {
  clseg_context *ctx;
  clseg_model *model;            /* the network, or NULL for the person pipeline */
  clseg_person *person;          /* -m person: the two-network pipeline, else NULL */
  clseg_segmenter *seg;          /* the library's pipeline, made on first use */
  clseg_segment_options seg_opt; /* ... with these options */
  double plan_seconds;           /* planning time of segmenters already replaced */
  int64_t size_h, size_w; /* --size: the network input for free-size models; 0: from the image */
  clseg_plan_options plan_opt; /* low_memory for every plan it makes (--low-memory) */
} seg_worker;

typedef struct {
  int width, height;  /* the image's */
  int64_t in_h, in_w; /* the network input's (a tile's with tiling) */
  int tiles;
  double ms;          /* pre-processing to written outputs */
  double net_ms;      /* device time of the network runs, from upload to download */
  double decode_ms;   /* reading and decoding the image */
  double pre_post_ms; /* host pre- and post-processing around the network runs (and planning, for
                         an image of a new size) */
  double encode_ms;   /* encoding and writing the outputs */
  char mask_path[1100], overlay_path[1100], probs_path[1100];
  uint8_t *mask; /* with keep_mask: width * height class indices, caller frees */
  int is_person; /* the person pipeline ran: person holds its result */
  clseg_person_result person;
} seg_result;

/* Opens the device and loads the model; size_h x size_w (0: none) is the network input for models
 * of free size, and the import size of ONNX models with symbolic dimensions. On failure writes the
 * message into err. */
clseg_status seg_worker_init(seg_worker *w, const char *device_spec, const char *model_path,
                             int64_t size_h, int64_t size_w, char *err, size_t errlen);
void seg_worker_free(seg_worker *w);
/* The same; allow_person lets -m person (the two-network pipeline, w->person) through: only
 * `clseg run` takes it. */
clseg_status seg_worker_init_ex(seg_worker *w, const char *device_spec, const char *model_path,
                                int64_t size_h, int64_t size_w, int allow_person, char *err,
                                size_t errlen);
/* Writes a message and returns 1 when a --size was given for a model whose file fixes another size.
 */
int seg_size_conflict(const seg_worker *w, char *err, size_t errlen);
/* Segments one image file; on failure writes "FILE: why" into err and leaves no partial output.
 * The three stages below, one after the other. */
clseg_status seg_image(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                       char *err, size_t errlen);

/* One image on its way through the stages: decoding and encoding touch no device and may run on
 * other threads than the worker's, while it runs another image (clseg run). */
typedef struct {
  const char *path;
  size_t index;          /* in the input list */
  clseg_image rgb;       /* decoded */
  clseg_segmentation sr; /* a one-network model's results */
  float *prob;           /* the person pipeline's probabilities ... */
  uint8_t *mask;         /* ... and mask */
  seg_result r;          /* the timings and paths so far */
  clseg_status status;   /* of the last stage that ran */
  char err[2048];        /* "FILE: why" when status is not CLSEG_OK */
} seg_job;

/* Reads and decodes j->path into j->rgb. Any thread. */
clseg_status seg_decode(seg_job *j);
/* The network(s) and the host work around them. The thread that owns w. */
clseg_status seg_compute(seg_worker *w, const seg_options *o, seg_job *j);
/* Whether two decoded images go in at one network input size (one batch): any two for a fixed-size
 * model or with --size, else images of one size; never for the person pipeline. */
int seg_same_input(const seg_worker *w, const clseg_image *a, const clseg_image *b);
/* seg_compute on n images (seg_same_input) in one network run of batch n; when the batch cannot
 * run, each image is computed alone, so that each gets its own result or message. Each job's
 * status says how it went; pre_post_ms is the batch's host time shared out evenly. */
void seg_compute_batch(seg_worker *w, const seg_options *o, seg_job *const *jobs, int n);
/* Writes the outputs (none is left on failure); reads w's model only, so any thread. */
clseg_status seg_encode(const seg_worker *w, const seg_options *o, seg_job *j);
/* Frees the job's images and results (not the job). */
void seg_job_clear(seg_job *j);
/* Runs a raw NCHW float32 tensor from a .npy file; writes the output tensor to o->npy_out and a
 * mask. */
clseg_status seg_tensor_npy(seg_worker *w, const char *path, const seg_options *o, seg_result *r,
                            char *err, size_t errlen);
/* The plan for an input size, made on first use and kept (the segmenter's four most recent). */
clseg_status seg_plan_for(seg_worker *w, int64_t n, int64_t h, int64_t wd, clseg_plan **out,
                          char *err, size_t errlen);
/* Where `--npy path` puts output i of a model: path itself for the main output (i = 0), else
 * "STEM.i.NAME.npy" (STEM: path without ".npy"; NAME: the output's name, characters other than
 * letters, digits, '_', '-' and '.' replaced by '_'). */
void seg_npy_path(const char *path, int i, const char *name, char *out, size_t size);
/* Seconds spent planning (kernel builds included). */
double seg_plan_seconds(const seg_worker *w);
/* `clseg run`'s default: $CLSEG_DEFAULT_MODEL, else "person" (the pipeline). */
const char *seg_default_model(void);
/* The default of the commands that take one network (info, bench, eval, tune):
 * $CLSEG_DEFAULT_MODEL unless "person", else "selfie". */
const char *seg_default_network(void);
/* The folder of the bundled models: the installed copy, else the source tree's. */
const char *seg_models_dir(void);
/* A -m argument: a bundled model's name ("person", "selfie", "selfie-landscape") becomes its path
 * ("person" for the pipeline) and the result is its 1-based index; anything else is copied as a
 * path and the result is 0. */
int seg_resolve_model(const char *name, char *path, size_t size);
/* Lists the bundled models (clseg models). */
void seg_list_models(FILE *f);
/* The stem of a path: "dir/cat.jpg" -> "cat". */
void seg_stem(const char *path, char *out, size_t size);

#endif
