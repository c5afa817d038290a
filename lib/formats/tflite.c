/* The public TFLite entry points: reads the file, parses it (tflite_read.c), lists every operator
 * without a handler at once, and maps the model onto a graph (tflite_ops.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_tflite.h"
#include "file.h"
#include "io/io.h"
#include "formats/tflite.h"
#include "internal.h"

/* A FlatBuffer is under 2 GiB (FLATBUFFERS_MAX_BUFFER_SIZE): a larger file is no model. */
#define MAX_FILE ((size_t)1 << 31)

/* How many operators have no handler. */
static int count_unsupported(const clseg__tfl_model *m) {
  int total = 0;
  for (int i = 0; i < m->nops; i++)
    total += !clseg__tfl_supported(&m->ops[i]);
  return total;
}

/* Appends "NAME xCOUNT, ..." for every operator without a handler to the message on the thread's
 * slot, items that would take the list past LIST_CAP characters left out. */
enum { LIST_CAP = 768 };
static void list_unsupported(const clseg__tfl_model *m) {
  size_t len = 0;
  for (int i = 0; i < m->nops; i++) {
    const clseg__tfl_op *op = &m->ops[i];
    int seen = 0, count = 0;
    if (clseg__tfl_supported(op))
      continue;
    for (int j = 0; j < m->nops; j++) {
      const clseg__tfl_op *o = &m->ops[j];
      int same =
          o->code == op->code && (op->code != CLSEG__TFL_CUSTOM || !strcmp(o->custom, op->custom));
      seen |= same && j < i;
      count += same;
    }
    if (seen)
      continue;
    const char *name = clseg__tfl_op_name(op->code);
    char buf[160];
    if (op->code == CLSEG__TFL_CUSTOM)
      snprintf(buf, sizeof buf, "%sCUSTOM '%s' x%d", len ? ", " : "", op->custom, count);
    else if (name)
      snprintf(buf, sizeof buf, "%s%s x%d", len ? ", " : "", name, count);
    else
      snprintf(buf, sizeof buf, "%sbuiltin operator %d x%d", len ? ", " : "", op->code, count);
    if (len + strlen(buf) + 1 < LIST_CAP) {
      clseg__fail_append(NULL, "%s", buf);
      len += strlen(buf);
    }
  }
}

static void fill_info(const clseg__tfl_model *m, const char *name, clseg_tflite_info *info) {
  const clseg__tfl_tensor *in = &m->tensors[m->input], *out = &m->tensors[m->output];
  memset(info, 0, sizeof *info);
  info->input_h = in->dims[1];
  info->input_w = in->dims[2];
  info->input_c = in->dims[3];
  info->output_h = out->ndim == 4 ? out->dims[1] : 1;
  info->output_w = out->ndim == 4 ? out->dims[2] : 1;
  info->output_c = out->ndim ? out->dims[out->ndim - 1] : 1;
  info->operators = m->nops;
  info->outputs = m->noutputs;
  for (int i = 0; i < m->nops; i++)
    if (m->ops[i].out[0] == m->output)
      info->output_is_probability =
          m->ops[i].code == CLSEG__TFL_LOGISTIC || m->ops[i].code == CLSEG__TFL_SOFTMAX;
  const char *base = strrchr(name, '/');
  snprintf(info->name, sizeof info->name, "%s",
           m->description[0] ? m->description
           : base            ? base + 1
                             : name);
}

clseg_status clseg_tflite_load_buffer(const void *data, size_t size, const char *name,
                                      clseg_graph **graph, clseg_tflite_info *info) {
  clseg__tfl_model *m = NULL;
  if (graph)
    *graph = NULL;
  name = name ? name : "(buffer)";
  if (!graph || (!data && size))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "tflite '%s': NULL %s", name,
                       graph ? "data" : "graph");
  clseg_status s = clseg__tfl_parse(data, size, &m);
  if (s != CLSEG_OK)
    return clseg__fail_prefix(NULL, s, "%s: %s TFLite file: ", name,
                              s == CLSEG_UNSUPPORTED ? "unsupported feature in a" : "malformed");
  int missing = count_unsupported(m);
  if (missing) {
    clseg__fail(NULL, CLSEG_UNSUPPORTED, "%s: %d operators are not supported: ", name, missing);
    list_unsupported(m);
    clseg__tfl_free(m);
    return CLSEG_UNSUPPORTED;
  }
  s = clseg__tfl_build(m, graph);
  if (s == CLSEG_OK && info)
    fill_info(m, name, info);
  clseg__tfl_free(m);
  if (s != CLSEG_OK)
    return clseg__fail_prefix(NULL, s, "%s: ", name);
  return clseg__ok(NULL);
}

clseg_status clseg_tflite_load(const char *path, clseg_graph **graph, clseg_tflite_info *info) {
  if (graph)
    *graph = NULL;
  if (!path)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "tflite: NULL path");
  uint8_t *buf;
  size_t len;
  clseg_status rs = clseg__io_read_file(path, MAX_FILE, &buf, &len);
  if (rs != CLSEG_OK)
    return rs;
  clseg_status s = clseg_tflite_load_buffer(buf, len, path, graph, info);
  free(buf);
  return s;
}
