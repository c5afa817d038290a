/* clseg run's pipeline (apps/pipeline.h): three threads per worker joined by one-image hand-overs,
 * and the in-order reporting of what they finish. */
#include "pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  seg_job job;
  int worker;
  int dropped; /* fail-fast: an earlier image failed; not run further, not reported */
} pipe_item;

/* A hand-over of one item between two threads; take returns NULL once closed and empty. */
typedef struct {
  pipe_item *item;
  int closed;
  pthread_mutex_t m;
  pthread_cond_t cv;
} handoff;

typedef struct pipe_state pipe_state;

typedef struct {
  pipe_state *p;
  seg_worker *w;
  int index;
  handoff decoded, computed;
} pipe_worker;

struct pipe_state {
  const pipe_config *c;
  pthread_mutex_t lock;
  size_t next;        /* the next input to start */
  int stop;           /* fail-fast: start no more */
  size_t stop_at;     /* ... and drop those after this one */
  pipe_item **done;   /* finished, waiting for the ones before them to be reported */
  size_t next_report; /* the first input not yet reported */
};

static void handoff_put(handoff *h, pipe_item *it) {
  pthread_mutex_lock(&h->m);
  while (h->item)
    pthread_cond_wait(&h->cv, &h->m);
  h->item = it;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->m);
}

static pipe_item *handoff_take(handoff *h) {
  pthread_mutex_lock(&h->m);
  while (!h->item && !h->closed)
    pthread_cond_wait(&h->cv, &h->m);
  pipe_item *it = h->item;
  h->item = NULL;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->m);
  return it;
}

static void handoff_close(handoff *h) {
  pthread_mutex_lock(&h->m);
  h->closed = 1;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->m);
}

/* Records a failure: with fail-fast, nothing after it starts or is written. */
static void failed(pipe_state *p, const pipe_item *it) {
  if (!p->c->fail_fast)
    return;
  pthread_mutex_lock(&p->lock);
  if (!p->stop || it->job.index < p->stop_at)
    p->stop_at = it->job.index;
  p->stop = 1;
  pthread_mutex_unlock(&p->lock);
}

/* Whether the item is to go on: it worked so far and no earlier image stopped the run. */
static int goes_on(pipe_state *p, pipe_item *it) {
  pthread_mutex_lock(&p->lock);
  it->dropped |= p->stop && it->job.index > p->stop_at;
  pthread_mutex_unlock(&p->lock);
  return it->job.status == CLSEG_OK && !it->dropped;
}

/* Reports what can be reported in order; the caller holds p->lock. */
static void report_ready(pipe_state *p) {
  const size_t n = p->c->in->count;
  while (p->next_report < n && p->done[p->next_report]) {
    pipe_item *it = p->done[p->next_report];
    if (!it->dropped)
      p->c->report(p->c->user, it->worker, &it->job);
    free(it);
    p->done[p->next_report++] = NULL;
  }
}

static void *decode_thread(void *arg) {
  pipe_worker *pw = arg;
  pipe_state *p = pw->p;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    const size_t i = p->stop || p->next >= p->c->in->count ? p->c->in->count : p->next++;
    pthread_mutex_unlock(&p->lock);
    if (i >= p->c->in->count)
      break;
    pipe_item *it = calloc(1, sizeof *it);
    if (!it) { /* nothing to report it with: stop starting images, as fail-fast would */
      pthread_mutex_lock(&p->lock);
      p->stop = 1, p->stop_at = i;
      pthread_mutex_unlock(&p->lock);
      break;
    }
    it->worker = pw->index;
    it->job.index = i;
    it->job.path = p->c->in->paths[i];
    if (seg_decode(&it->job) != CLSEG_OK)
      failed(p, it);
    handoff_put(&pw->decoded, it);
  }
  handoff_close(&pw->decoded);
  return NULL;
}

/* Runs a group of images of one input size, one batch of n, and passes them on in order. */
static void run_group(pipe_worker *pw, pipe_item **group, int n) {
  seg_job *jobs[PIPE_MAX_BATCH];
  for (int i = 0; i < n; i++)
    jobs[i] = &group[i]->job;
  if (n == 1)
    seg_compute(pw->w, pw->p->c->o, jobs[0]);
  else
    seg_compute_batch(pw->w, pw->p->c->o, jobs, n);
  for (int i = 0; i < n; i++) {
    if (jobs[i]->status != CLSEG_OK)
      failed(pw->p, group[i]);
    handoff_put(&pw->computed, group[i]);
  }
}

/* Takes decoded images and runs them; with a batch of more than one, gathers up to that many of
 * one input size first (an image of another size starts the next group; a failed one is passed
 * on at once). */
static void *device_thread(void *arg) {
  pipe_worker *pw = arg;
  pipe_state *p = pw->p;
  const int batch = p->c->batch > 1 ? p->c->batch : 1;
  pipe_item *it, *held = NULL, *group[PIPE_MAX_BATCH];
  while ((it = held ? held : handoff_take(&pw->decoded))) {
    held = NULL;
    if (!goes_on(p, it)) {
      handoff_put(&pw->computed, it);
      continue;
    }
    int n = 0;
    group[n++] = it;
    pipe_item *next;
    while (n < batch && (next = handoff_take(&pw->decoded))) {
      if (!goes_on(p, next))
        handoff_put(&pw->computed, next);
      else if (seg_same_input(pw->w, &group[0]->job.rgb, &next->job.rgb))
        group[n++] = next;
      else {
        held = next;
        break;
      }
    }
    run_group(pw, group, n);
  }
  handoff_close(&pw->computed);
  return NULL;
}

static void *encode_thread(void *arg) {
  pipe_worker *pw = arg;
  pipe_state *p = pw->p;
  pipe_item *it;
  while ((it = handoff_take(&pw->computed))) {
    if (goes_on(p, it) && seg_encode(pw->w, p->c->o, &it->job) != CLSEG_OK)
      failed(p, it);
    seg_job_clear(&it->job); /* the pixels now; the result waits for its turn */
    pthread_mutex_lock(&p->lock);
    p->done[it->job.index] = it;
    report_ready(p);
    pthread_mutex_unlock(&p->lock);
  }
  return NULL;
}

int pipe_run(const pipe_config *c, seg_worker *const *workers, int nw, char *err, size_t errlen) {
  pipe_state p = {.c = c};
  pipe_worker *pw = calloc((size_t)nw, sizeof *pw);
  pthread_t(*th)[3] = calloc((size_t)nw, sizeof *th);
  p.done = calloc(c->in->count ? c->in->count : 1, sizeof *p.done);
  int started = 0, rc = 0;
  if (!pw || !th || !p.done) {
    snprintf(err, errlen, "out of memory");
    free(pw), free(th), free(p.done);
    return -1;
  }
  pthread_mutex_init(&p.lock, NULL);
  void *(*fn[3])(void *) = {decode_thread, device_thread, encode_thread};
  for (int i = 0; i < nw; i++) {
    pw[i] = (pipe_worker){.p = &p, .w = workers[i], .index = i};
    pthread_mutex_init(&pw[i].decoded.m, NULL);
    pthread_cond_init(&pw[i].decoded.cv, NULL);
    pthread_mutex_init(&pw[i].computed.m, NULL);
    pthread_cond_init(&pw[i].computed.cv, NULL);
  }
  /* when a thread cannot start, no more images start; the started threads of that worker finish
   * what they hold and the missing stage's hand-over is drained here */
  for (int i = 0; i < nw && !rc; i++) {
    int k = 0;
    while (k < 3 && pthread_create(&th[i][k], NULL, fn[k], &pw[i]) == 0)
      k++;
    if (k == 3) {
      started++;
      continue;
    }
    snprintf(err, errlen, "could not start the threads of worker %d", i);
    pthread_mutex_lock(&p.lock);
    p.stop = 1, p.stop_at = 0;
    pthread_mutex_unlock(&p.lock);
    if (k > 0) {
      pipe_item *it;
      while ((it = handoff_take(k == 1 ? &pw[i].decoded : &pw[i].computed))) {
        seg_job_clear(&it->job);
        free(it);
      }
    }
    for (int j = 0; j < k; j++)
      pthread_join(th[i][j], NULL);
    rc = -1;
  }
  for (int i = 0; i < started; i++)
    for (int k = 0; k < 3; k++)
      pthread_join(th[i][k], NULL);
  for (size_t i = p.next_report; i < c->in->count; i++) /* after a stop: what is left, in order */
    if (p.done[i]) {
      if (!p.done[i]->dropped)
        c->report(c->user, p.done[i]->worker, &p.done[i]->job);
      free(p.done[i]);
    }
  for (int i = 0; i < nw; i++) {
    pthread_mutex_destroy(&pw[i].decoded.m);
    pthread_cond_destroy(&pw[i].decoded.cv);
    pthread_mutex_destroy(&pw[i].computed.m);
    pthread_cond_destroy(&pw[i].computed.cv);
  }
  pthread_mutex_destroy(&p.lock);
  free(p.done);
  free(th);
  free(pw);
  return rc;
}
