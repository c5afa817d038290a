/* clseg run's pipeline: per worker (device), a thread that decodes the next image, the worker's
 * device thread and a thread that encodes the last one's outputs, handing images over one at a
 * time; results are reported in input order whatever the workers' speeds. */
#ifndef CLSEG_APP_PIPELINE_H
#define CLSEG_APP_PIPELINE_H

#include <stddef.h>

#include "inputs.h"
#include "segment.h"

#define PIPE_MAX_BATCH 64

typedef struct {
  const input_list *in;
  const seg_options *o;
  int fail_fast; /* after a failure, start no image and drop the later ones in flight */
  int batch;     /* up to this many images of one input size in one network run (0 or 1: one) */
  /* Called once per image in input order, one call at a time: j->status says whether it worked
   * (j->err why not), worker is the index of the worker that ran it. Images dropped by fail_fast
   * are not reported. */
  void (*report)(void *user, int worker, const seg_job *j);
  void *user;
} pipe_config;

/* Runs every input through the nw workers; returns 0, or -1 with a message in err when threads
 * could not be started (no image starts after that; those started are finished and reported). */
int pipe_run(const pipe_config *c, seg_worker *const *workers, int nw, char *err, size_t errlen);

#endif
