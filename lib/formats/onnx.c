/* ONNX import: reads a ModelProto with protobuf-c (proto/onnx_subset.proto), lists every
 * unsupported operator at once, sorts the nodes (onnx_order.c), registers initializers, then walks
 * the nodes, folding what is known on the host and mapping the rest onto clseg graph nodes (the
 * handlers of the operator table, lib/formats/onnx_ops.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg_onnx.h"
#include "file.h"
#include "io/io.h"
#include "formats/onnx.h"
#include "graph_internal.h"

int clseg_onnx_probe(const void *head, size_t len) {
  const unsigned char *p = head;
  if (!p || len < 3 || p[0] != 0x08 || p[1] < 1 || p[1] > 30)
    return 0;
  if (len >= 9 && p[8] == '{' && !p[4] && !p[5] && !p[6] && !p[7]) /* a safetensors header */
    return 0;
  return p[2] == 0x12 || p[2] == 0x1a || p[2] == 0x22 || p[2] == 0x28 || p[2] == 0x32 ||
         p[2] == 0x3a || p[2] == 0x42 || p[2] == 0x72;
}

static int is_default_domain(const char *d) {
  return !*d || !strcmp(d, "ai.onnx");
}

static int opset_of(const Onnx__ModelProto *m) {
  for (size_t k = 0; k < m->n_opset_import; k++)
    if (is_default_domain(m->opset_import[k]->domain))
      return (int)m->opset_import[k]->version;
  return m->n_opset_import ? 0 : 1;
}

static int supported(const Onnx__NodeProto *n) {
  return is_default_domain(n->domain) &&
         (clseg__onnx_op_of(n->op_type) || clseg__fold_supported(n->op_type));
}

/* One message naming every unsupported node: type, domain, name; and the opset. Past LIST_LEN
 * characters the rest are only counted. */
enum { LIST_LEN = 1888 };
static int check_ops(clseg__ob *b) {
  size_t bad = 0, len;
  if (b->opset < 1 || b->opset > 21)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "opset %d of the default domain (1 to 21 read; 11 to 18 tested)",
                          b->opset);
  for (size_t i = 0; i < b->gr->n_node; i++)
    bad += !supported(b->gr->node[i]);
  if (!bad)
    return 1;
  clseg__ob_fail(b, CLSEG_UNSUPPORTED, "%zu unsupported operator%s (opset %d):", bad,
                 bad > 1 ? "s" : "", b->opset);
  len = strlen(clseg_last_error(NULL));
  size_t shown = 0;
  for (size_t i = 0; i < b->gr->n_node && len < LIST_LEN; i++) {
    const Onnx__NodeProto *n = b->gr->node[i];
    if (supported(n))
      continue;
    len = clseg__fail_append(NULL, "%s %s (domain '%s', node '%.60s')", shown ? ";" : "",
                             n->op_type, *n->domain ? n->domain : "ai.onnx", n->name);
    shown++;
  }
  if (shown < bad)
    clseg__fail_append(NULL, "; and %zu more", bad - shown);
  return 0;
}

/* Creates every value up front (so value pointers stay put while mapping) and counts readers. */
static int index_values(clseg__ob *b) {
  const Onnx__GraphProto *gr = b->gr;
  for (size_t i = 0; i < gr->n_node; i++) {
    for (size_t k = 0; k < gr->node[i]->n_input; k++)
      if (*gr->node[i]->input[k] && !clseg__ob_value(b, gr->node[i]->input[k]))
        return 0;
    for (size_t k = 0; k < gr->node[i]->n_output; k++)
      if (*gr->node[i]->output[k] && !clseg__ob_value(b, gr->node[i]->output[k]))
        return 0;
  }
  /* an unnamed initializer or input can be read by nothing: invalid, and it used to end the import
   * early with no error and an empty graph */
  for (size_t k = 0; k < gr->n_initializer; k++)
    if (!clseg__ob_value(b, gr->initializer[k]->name))
      return clseg__ob_fail(b, CLSEG_FORMAT, "initializer %zu has no name", k);
  for (size_t k = 0; k < gr->n_input; k++)
    if (!clseg__ob_value(b, gr->input[k]->name))
      return clseg__ob_fail(b, CLSEG_FORMAT, "graph input %zu has no name", k);
  if (!(b->uses = calloc(b->nvals ? b->nvals : 1, sizeof *b->uses)))
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < gr->n_node; i++)
    for (size_t k = 0; k < gr->node[i]->n_input; k++)
      if (*gr->node[i]->input[k])
        b->uses[clseg__ob_value(b, gr->node[i]->input[k]) - b->vals]++;
  return 1;
}

static int load_initializers(clseg__ob *b) {
  for (size_t k = 0; k < b->gr->n_initializer; k++)
    if (!clseg__ob_tensor(b, b->gr->initializer[k],
                          clseg__ob_value(b, b->gr->initializer[k]->name)))
      return 0;
  return 1;
}

/* The image input: the first graph input that is not an initializer, [N, C, H, W] with C static. */
static int make_input(clseg__ob *b, const clseg_onnx_options *opt, clseg_onnx_info *info) {
  const Onnx__ValueInfoProto *in = NULL;
  for (size_t k = 0; k < b->gr->n_input && !in; k++)
    if (clseg__ob_value(b, b->gr->input[k]->name)->kind == CLSEG__OV_NONE)
      in = b->gr->input[k];
  const Onnx__TypeProto__Tensor *t = in && in->type ? in->type->tensor_type : NULL;
  const Onnx__TensorShapeProto *s = t ? t->shape : NULL;
  /* float16 / bfloat16 models (onnxconverter-common's, with or without keep_io_types) compute in
   * float32 here: the input takes float32 values as given, and Casts between float types are
   * no-ops (onnx_ops_shape.c) */
  int half = t && (t->elem_type == 10 || t->elem_type == 16);
  if (!s || s->n_dim != 4 || (t->elem_type != 1 && !half))
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "the graph input %s is not a float32, float16 or bfloat16 tensor of "
                          "rank 4 (NCHW)",
                          in ? in->name : "(none)");
  int64_t d[4];
  const char *sym[4] = {NULL, NULL, NULL, NULL};
  for (int k = 0; k < 4; k++) {
    int val = s->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d[k] = val ? s->dim[k]->dim_value : 0;
    sym[k] = val ? NULL : s->dim[k]->value_case ? s->dim[k]->dim_param : "?";
  }
  int64_t want[2] = {opt ? opt->input_h : 0, opt ? opt->input_w : 0};
  for (int k = 2; k < 4; k++) {
    if (!sym[k] && want[k - 2] && want[k - 2] != d[k])
      return clseg__ob_fail(b, CLSEG_INVALID_ARGUMENT,
                            "input '%s' has a static size %lldx%lld; it cannot be "
                            "imported for %lldx%lld",
                            in->name, (long long)d[2], (long long)d[3], (long long)want[0],
                            (long long)want[1]);
    if (sym[k] && !(d[k] = want[k - 2]))
      return clseg__ob_fail(b, CLSEG_INVALID_ARGUMENT,
                            "input '%s' has a symbolic %s ('%s'): give the input size "
                            "(clseg_onnx_options input_h and input_w, or --size)",
                            in->name, k == 2 ? "height" : "width", sym[k]);
  }
  /* A symbolic batch is tracked as 1; graph nodes do not depend on N, so the plan picks it */
  d[0] = sym[0] ? 1 : d[0];
  if (sym[1] || d[1] < 1 || d[0] < 1 || d[0] > 65536 || d[2] < 1 || d[3] < 1 || d[2] > 65536 ||
      d[3] > 65536)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                          "input '%s' of shape [%lld, %s, %lld, %lld] (static channels, "
                          "sizes 1 to 65536)",
                          in->name, (long long)d[0], sym[1] ? sym[1] : "C", (long long)d[2],
                          (long long)d[3]);
  clseg__ov *v = clseg__ob_value(b, in->name);
  v->kind = CLSEG__OV_NODE;
  v->node = clseg_graph_input(b->g, in->name, d[1]);
  v->grank = 4;
  v->ndim = 4;
  memcpy(v->dims, d, sizeof d);
  info->input_n = d[0], info->input_c = d[1], info->input_h = d[2], info->input_w = d[3];
  snprintf(info->input_name, sizeof info->input_name, "%s", in->name);
  return clseg__graph_ok(b, v->node);
}

static int map_nodes(clseg__ob *b) {
  for (size_t i = 0; i < b->gr->n_node; i++) {
    const Onnx__NodeProto *n = b->gr->node[i];
    b->nodei = (int)i;
    if (!n->n_output || !*n->output[0])
      return clseg__ob_fail(b, CLSEG_FORMAT, "the node has no output");
    const clseg__onnx_op *h = clseg__onnx_op_of(n->op_type);
    int nd = clseg__foldable(b, n) || !h || !h->nd      ? -1
             : clseg__onnx_nd_takes(b, n, h->nd_always) ? h->nd(b, n)
                                                        : -1;
    int ok = nd >= 0                 ? nd
             : clseg__foldable(b, n) ? clseg__fold(b, n)
             : h && h->nchw          ? h->nchw(b, n)
                                     : clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                                                      "%s can only be evaluated at load, and "
                                                               "an input is computed from the image",
                                                      n->op_type);
    if (!ok)
      return b->status == CLSEG_OK ? clseg__ob_fail(b, CLSEG_INTERNAL, "mapping failed") : 0;
  }
  b->nodei = -1;
  return 1;
}

/* Marks graph output k; output 0 also fills info's description. */
static int make_output(clseg__ob *b, size_t k, clseg_onnx_info *info) {
  const char *name = b->gr->output[k]->name;
  const clseg__ov *v = clseg__ob_find(b, name);
  if (!v || v->kind != CLSEG__OV_NODE)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "the graph output '%s' is %s", name,
                          v ? "a constant or an unfinished pattern" : "missing");
  if (clseg_graph_output(b->g, v->node, name) != CLSEG_OK)
    return clseg__graph_ok(b, NULL);
  if (k > 0)
    return 1;
  int64_t s[4] = {v->dims[0], v->ndim > 1 ? v->dims[1] : 1, v->ndim == 4 ? v->dims[2] : 1,
                  v->ndim == 4 ? v->dims[3] : 1};
  info->output_c = s[1], info->output_h = s[2], info->output_w = s[3];
  clseg__node_op op = v->node->op;
  clseg_act_kind act = op == CLSEG__N_ACT ? v->node->u.act.kind : CLSEG_ACT_NONE;
  info->output_is_probability = op == CLSEG__N_SOFTMAX || act == CLSEG_ACT_SIGMOID;
  info->output_is_argmax = op == CLSEG__N_ARGMAX;
  snprintf(info->output_name, sizeof info->output_name, "%s", name);
  return 1;
}

/* Every graph output, in the file's order (the first is the main one). */
static int make_outputs(clseg__ob *b, clseg_onnx_info *info) {
  if (!b->gr->n_output)
    return clseg__ob_fail(b, CLSEG_FORMAT, "the graph has no output");
  if (b->gr->n_output > CLSEG_MAX_OUTPUTS)
    return clseg__ob_fail(b, CLSEG_UNSUPPORTED, "the graph has %zu outputs (at most %d)",
                          b->gr->n_output, CLSEG_MAX_OUTPUTS);
  for (size_t k = 0; k < b->gr->n_output; k++)
    if (!make_output(b, k, info))
      return 0;
  info->outputs = (int)b->gr->n_output;
  return 1;
}

static void builder_free(clseg__ob *b) {
  for (size_t i = 0; i < b->nvals; i++) {
    clseg__ov_clear(&b->vals[i]);
    free(b->names[i]);
  }
  free(b->vals);
  free(b->names);
  free(b->table);
  free(b->uses);
  free(b->file_index);
  if (b->gr == &b->sorted)
    free(b->sorted.node);
}

static clseg_status import(clseg__ob *b, const clseg_onnx_options *opt, clseg_onnx_info *info) {
  const Onnx__ModelProto *m = b->model;
  b->gr = m->graph;
  b->nodei = -1;
  b->opset = opset_of(m);
  info->opset = b->opset;
  info->operators = (int)b->gr->n_node;
  snprintf(info->producer, sizeof info->producer, "%.30s %.30s", m->producer_name,
           m->producer_version);
  if (!(b->g = clseg_graph_create()))
    return clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory"), b->status;
  int ok = check_ops(b) && index_values(b) && clseg__onnx_order(b) && load_initializers(b) &&
           make_input(b, opt, info) && map_nodes(b) && make_outputs(b, info);
  if (!ok && b->status == CLSEG_OK) /* every step records why it stops; never an empty success */
    clseg__ob_fail(b, CLSEG_INTERNAL, "the import stopped without recording why");
  info->folded = b->folded;
  return b->status;
}

clseg_status clseg__onnx_load_dir(const void *data, size_t size, const char *name, const char *dir,
                                  const clseg_onnx_options *opt, clseg_graph **graph,
                                  clseg_onnx_info *info) {
  clseg_onnx_info local;
  info = info ? info : &local;
  memset(info, 0, sizeof *info);
  if (!graph || (!data && size))
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_onnx_load: NULL argument");
  *graph = NULL;
  name = name ? name : "(buffer)";
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
  if (!m)
    return clseg__fail(NULL, CLSEG_FORMAT,
                       "%s: not a valid ONNX model (the protobuf is truncated or corrupted)", name);
  if (!m->graph || !m->graph->n_node) {
    onnx__model_proto__free_unpacked(m, NULL);
    return clseg__fail(NULL, CLSEG_FORMAT, "%s: the ONNX model has no graph or no nodes", name);
  }
  clseg__ob b = {.model = m, .path = name, .dir = dir};
  clseg_status s = import(&b, opt, info);
  if (s != CLSEG_OK) {
    clseg__fail_prefix(NULL, s, "%s: ", name);
    clseg_graph_free(b.g);
  } else {
    *graph = b.g;
  }
  builder_free(&b);
  onnx__model_proto__free_unpacked(m, NULL);
  return s;
}

clseg_status clseg_onnx_load_buffer(const void *data, size_t size, const char *name,
                                    const clseg_onnx_options *opt, clseg_graph **graph,
                                    clseg_onnx_info *info) {
  return clseg__onnx_load_dir(data, size, name, NULL, opt, graph, info);
}

clseg_status clseg_onnx_load(const char *path, const clseg_onnx_options *opt, clseg_graph **graph,
                             clseg_onnx_info *info) {
  if (graph)
    *graph = NULL;
  if (!path || !graph)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_onnx_load: NULL path or graph");
  size_t len;
  unsigned char *buf;
  clseg_status rs = clseg__io_read_file(path, 0, &buf, &len);
  if (rs != CLSEG_OK)
    return rs;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  clseg_status s = clseg__onnx_load_dir(buf, len, path, dir, opt, graph, info);
  free(buf);
  return s;
}
