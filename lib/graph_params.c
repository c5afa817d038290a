/* A graph's named parameters: setting them from host memory, seeded random initialisation, the
 * summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static void dims_str(const int64_t *d, int n, char *buf, size_t size) {
  size_t used = 0;
  used += (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < n && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)d[i]);
  if (used < size)
    snprintf(buf + used, size - used, "]");
}

/* Shapes match when equal after dropping leading and trailing 1s on either side ([C] vs [1, C, 1,
 * 1]). */
static int same_shape(const clseg__param *p, const int64_t *dims, int ndim) {
  size_t count = 1;
  for (int i = 0; i < ndim; i++)
    count *= (size_t)(dims[i] > 0 ? dims[i] : 0);
  if (count != p->count)
    return 0;
  int a0 = 0, a1 = p->ndim, b0 = 0, b1 = ndim;
  while (a0 < a1 && p->dims[a0] == 1)
    a0++;
  while (a1 > a0 && p->dims[a1 - 1] == 1)
    a1--;
  while (b0 < b1 && dims[b0] == 1)
    b0++;
  while (b1 > b0 && dims[b1 - 1] == 1)
    b1--;
  if (a1 - a0 != b1 - b0)
    return 0;
  for (int i = 0; i < a1 - a0; i++)
    if (p->dims[a0 + i] != dims[b0 + i])
      return 0;
  return 1;
}

clseg_status clseg__param_check_shape(clseg_graph *g, int idx, const int64_t *dims, int ndim,
                                      char *msg, size_t size) {
  const clseg__param *p = &g->params[idx];
  if (ndim >= 0 && ndim <= 8 && same_shape(p, dims, ndim))
    return CLSEG_OK;
  char want[96], got[96];
  dims_str(p->dims, p->ndim, want, sizeof want);
  dims_str(dims, ndim > 8 ? 8 : ndim, got, sizeof got);
  snprintf(msg, size, "'%s' has shape %s, the model expects %s", p->name, got, want);
  return CLSEG_SHAPE_MISMATCH;
}

clseg_status clseg_graph_set_param(clseg_graph *g, const char *name, const int64_t *dims, int ndim,
                                   const float *data) {
  if (!g)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_graph_set_param: NULL graph");
  if (!name || !data ||
      (ndim > 0 && !dims)) { /* like the errors below, it leaves the graph usable */
    snprintf(g->error, sizeof g->error, "set_param: NULL %s",
             !name   ? "name"
             : !data ? "data"
                     : "dims");
    return CLSEG_INVALID_ARGUMENT;
  }
  int idx = clseg__param_find(g, name);
  if (idx < 0) {
    snprintf(g->error, sizeof g->error, "set_param: the model has no parameter '%s'", name);
    return CLSEG_INVALID_ARGUMENT;
  }
  char msg[512];
  if (clseg__param_check_shape(g, idx, dims, ndim, msg, sizeof msg) != CLSEG_OK) {
    snprintf(g->error, sizeof g->error, "set_param: %s", msg);
    return CLSEG_SHAPE_MISMATCH;
  }
  clseg__param *p = &g->params[idx];
  if (!clseg__param_writable(p)) {
    snprintf(g->error, sizeof g->error, "set_param '%s': out of memory", name);
    return CLSEG_OUT_OF_MEMORY;
  }
  memcpy(p->data, data, p->count * sizeof(float));
  return CLSEG_OK;
}

float *clseg__param_writable(clseg__param *p) {
  if (p->mapped) /* the mapping stays with the graph until it is freed */
    p->data = NULL, p->mapped = 0;
  if (!p->data)
    p->data = malloc(p->count * sizeof(float));
  return p->data;
}

static double next_uniform(uint64_t *s) { /* splitmix64 -> [0, 1) */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

void clseg_graph_random_params(clseg_graph *g, uint64_t seed) {
  if (!g)
    return;
  uint64_t s = seed;
  for (int i = 0; i < g->nparams; i++) {
    clseg__param *p = &g->params[i];
    if (!clseg__param_writable(p)) {
      clseg__graph_fail(g, CLSEG_OUT_OF_MEMORY, "random parameters: out of memory");
      return;
    }
    double bound = 1.0 / sqrt((double)(p->fan_in > 0 ? p->fan_in : 1));
    for (size_t k = 0; k < p->count; k++) {
      double u = next_uniform(&s);
      switch (p->kind) {
      case CLSEG__P_BN_WEIGHT: p->data[k] = (float)(0.5 + u); break;
      case CLSEG__P_BN_BIAS: p->data[k] = (float)(0.2 * (u - 0.5)); break;
      case CLSEG__P_BN_MEAN: p->data[k] = (float)(0.2 * (u - 0.5)); break;
      case CLSEG__P_BN_VAR: p->data[k] = (float)(0.5 + u); break;
      default: p->data[k] = (float)(bound * (2.0 * u - 1.0)); break;
      }
    }
  }
}

void clseg_graph_get_info(const clseg_graph *g, clseg_graph_info *out) {
  if (!out)
    return;
  memset(out, 0, sizeof *out);
  if (!g)
    return;
  out->nodes = g->nnodes - (g->input ? 1 : 0);
  for (int i = 0; i < g->nparams; i++)
    out->parameters += (int64_t)g->params[i].count;
  out->input_channels = g->input ? g->input->channels : 0;
  out->output_channels = g->output ? g->output->channels : 0;
}
