/* Loading a graph's declared parameters from a .safetensors file, by name, with every mismatch
 * reported. Little-endian float32 tensors are used in place from the file's mapping, which the
 * graph keeps: no second copy of the weights in memory, and a plan lets the pages go once it has
 * uploaded them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"
#include "graph_internal.h"

/* Appends one line to the report, keeping count of what did not fit. */
static void report(char *buf, size_t size, int *n, const char *line) {
  if (++*n > 12)
    return;
  size_t used = strlen(buf);
  snprintf(buf + used, size - used, "\n  %s", line);
}

static int ignorable(const char *name) { /* PyTorch's batchnorm step counter carries no weights */
  size_t n = strlen(name), k = strlen(".num_batches_tracked");
  return n >= k && !strcmp(name + n - k, ".num_batches_tracked");
}

/* The file's bytes are the float32 values on this host, at an address a float may have. */
static int usable_in_place(const clseg__st_tensor *t) {
  const uint32_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return t->dtype == CLSEG__ST_F32 && first == 1 && (uintptr_t)t->data % _Alignof(float) == 0;
}

/* in_place: parameters may point into f's mapping (which the caller then keeps). */
static clseg_status copy_params(clseg_graph *g, const clseg__st_file *f, int in_place, char *msg,
                                size_t size, int *nbad) {
  char line[512];
  for (int i = 0; i < g->nparams; i++) {
    clseg__param *p = &g->params[i];
    const clseg__st_tensor *t = clseg__st_find(f, p->name);
    if (!t) {
      snprintf(line, sizeof line, "'%s' is missing from the file", p->name);
      report(msg, size, nbad, line);
      continue;
    }
    if (clseg__param_check_shape(g, i, t->dims, t->ndim, line, sizeof line) != CLSEG_OK) {
      report(msg, size, nbad, line);
      continue;
    }
    if (in_place && usable_in_place(t)) {
      if (!p->mapped)
        free(p->data);
      p->data = (float *)(uintptr_t)t->data; /* read-only: see clseg__param_writable */
      p->mapped = 1;
      continue;
    }
    if (!clseg__param_writable(p))
      return CLSEG_OUT_OF_MEMORY;
    clseg__st_read_f32(t, p->data);
  }
  for (int i = 0; i < f->ntensors; i++)
    if (clseg__param_find(g, f->tensors[i].name) < 0 && !ignorable(f->tensors[i].name)) {
      snprintf(line, sizeof line, "'%s' is in the file but not in the model", f->tensors[i].name);
      report(msg, size, nbad, line);
    }
  return CLSEG_OK;
}

clseg_status clseg_graph_load_safetensors(clseg_graph *g, const char *path) {
  if (!g || !path)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_graph_load_safetensors: NULL %s",
                       g ? "path" : "graph");
  if (g->status != CLSEG_OK)
    return g->status;
  clseg__st_file *f = NULL;
  clseg_status s = clseg__st_open(path, &f);
  if (s != CLSEG_OK) { /* a graph without its weights cannot be planned: the error sticks */
    clseg__graph_fail(g, s, "%s", clseg_last_error(NULL));
    return s;
  }
  char msg[1800] = "";
  int nbad = 0;
  /* one mapping per graph: a second file loaded into the same graph is copied */
  const int in_place = f->mapped && !g->map;
  s = copy_params(g, f, in_place, msg, sizeof msg, &nbad);
  for (int i = 0; in_place && i < g->nparams && !g->map; i++)
    if (g->params[i].mapped) {
      g->map = clseg__st_keep_map(f, &g->map_size);
      g->unmap = clseg__st_unmap;
    }
  clseg__st_close(f);
  if (s != CLSEG_OK) {
    clseg__graph_fail(g, s, "%s: out of memory loading weights", path);
    return s;
  }
  if (nbad) {
    clseg__graph_fail(g, CLSEG_SHAPE_MISMATCH, "%s: %d weight%s do not match the model:%s%s", path,
                      nbad, nbad > 1 ? "s" : "", msg, nbad > 12 ? "\n  ..." : "");
    return CLSEG_SHAPE_MISMATCH;
  }
  return CLSEG_OK;
}

void clseg__param_evict(const clseg_graph *g, int i) {
  if (i >= 0 && g->params[i].mapped)
    clseg__st_evict(g->params[i].data, g->params[i].count * sizeof(float));
}
