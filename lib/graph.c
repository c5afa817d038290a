/* Graph building: nodes with inferred channel counts, declared named parameters, a sticky first
 * error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static const char *const op_names[] = {"input",
                                       "conv2d",
                                       "conv_transpose2d",
                                       "batchnorm",
                                       "activation",
                                       "pool2d",
                                       "global_pool",
                                       "resize",
                                       "binary",
                                       "concat",
                                       "slice",
                                       "pad",
                                       "reduce_channels",
                                       "softmax",
                                       "argmax",
                                       "linear",
                                       "cbam_channel_gate",
                                       "cbam_spatial_gate",
                                       "se_gate",
                                       "scse_gate",
                                       "attention_gate",
                                       "space_depth",
                                       "prelu",
                                       "concat_h",
                                       "reshape_nhwc",
                                       "constant",
                                       "reshape",
                                       "transpose",
                                       "matmul",
                                       "softmax_axis",
                                       "layernorm",
                                       "groupnorm",
                                       "reduce_axes",
                                       "narrow",
                                       "expand",
                                       "unary",
                                       "attention"};
_Static_assert(sizeof op_names / sizeof *op_names == CLSEG__N_COUNT, "a name for every node op");

const char *clseg__node_op_name(clseg__node_op op) {
  return op >= 0 && op < CLSEG__N_COUNT ? op_names[op] : "unknown";
}

clseg_graph *clseg_graph_create(void) {
  return calloc(1, sizeof(clseg_graph));
}

void clseg_graph_free(clseg_graph *g) {
  if (!g)
    return;
  for (int i = 0; i < g->nnodes; i++) {
    free(g->nodes[i]->in);
    free(g->nodes[i]);
  }
  for (int i = 0; i < g->nparams; i++) {
    free(g->params[i].name);
    if (!g->params[i].mapped)
      free(g->params[i].data);
  }
  if (g->map)
    g->unmap(g->map, g->map_size);
  free(g->nodes);
  free(g->params);
  free(g);
}

clseg_status clseg_graph_status(const clseg_graph *g) {
  return g ? g->status : CLSEG_INVALID_ARGUMENT;
}

const char *clseg_graph_error(const clseg_graph *g) {
  return !g ? "NULL graph" : g->error[0] ? g->error : "no error";
}

void *clseg__graph_fail(clseg_graph *g, clseg_status s, const char *fmt, ...) {
  if (g && g->status == CLSEG_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    g->status = s;
  }
  return NULL;
}

int clseg__param_find(const clseg_graph *g, const char *name) {
  for (int i = 0; i < g->nparams; i++)
    if (!strcmp(g->params[i].name, name))
      return i;
  return -1;
}

/* Declares NODE.suffix with a PyTorch shape; returns its index or -1 (error recorded). */
int clseg__declare(clseg_graph *g, const clseg_node *n, const char *suffix, int ndim,
                   const int64_t *dims, clseg__param_kind kind, int64_t fan_in) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s", n->name, suffix);
  return clseg__declare_as(g, name, ndim, dims, kind, fan_in);
}

/* Declares a parameter by its whole name; returns its index or -1 (error recorded). */
int clseg__declare_as(clseg_graph *g, const char *name, int ndim, const int64_t *dims,
                      clseg__param_kind kind, int64_t fan_in) {
  if (clseg__param_find(g, name) >= 0) {
    clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                      "parameter '%s' is declared twice (two nodes of one name)", name);
    return -1;
  }
  if (g->nparams == g->cap_params) {
    int nc = g->cap_params ? g->cap_params * 2 : 64;
    clseg__param *np = realloc(g->params, sizeof *np * (size_t)nc);
    if (!np) {
      clseg__graph_fail(g, CLSEG_OUT_OF_MEMORY, "declaring '%s': out of memory", name);
      return -1;
    }
    g->params = np;
    g->cap_params = nc;
  }
  clseg__param *p = &g->params[g->nparams];
  memset(p, 0, sizeof *p);
  p->name = malloc(strlen(name) + 1);
  if (!p->name) {
    clseg__graph_fail(g, CLSEG_OUT_OF_MEMORY, "declaring '%s': out of memory", name);
    return -1;
  }
  strcpy(p->name, name);
  p->ndim = ndim;
  p->count = 1;
  for (int i = 0; i < ndim; i++) {
    p->dims[i] = dims[i];
    p->count *= (size_t)dims[i];
  }
  p->kind = kind;
  p->fan_in = fan_in;
  return g->nparams++;
}

/* A new node of op with inputs; NULL when an input is NULL (sticky) or out of memory. */
clseg_node *clseg__add_node(clseg_graph *g, clseg__node_op op, const char *name,
                            clseg_node *const *in, int nin) {
  if (!g || g->status != CLSEG_OK)
    return NULL;
  for (int i = 0; i < nin; i++)
    if (!in[i])
      return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "%s '%s': input %d is NULL", op_names[op],
                               name ? name : "", i);
  if (g->nnodes == g->cap_nodes) {
    int nc = g->cap_nodes ? g->cap_nodes * 2 : 64;
    clseg_node **nn = realloc(g->nodes, sizeof *nn * (size_t)nc);
    if (!nn)
      return clseg__graph_fail(g, CLSEG_OUT_OF_MEMORY, "adding a node: out of memory");
    g->nodes = nn;
    g->cap_nodes = nc;
  }
  clseg_node *n = calloc(1, sizeof *n);
  clseg_node **ins = nin ? malloc(sizeof *ins * (size_t)nin) : NULL;
  if (!n || (nin && !ins)) {
    free(n);
    free(ins);
    return clseg__graph_fail(g, CLSEG_OUT_OF_MEMORY, "adding a node: out of memory");
  }
  for (int i = 0; i < nin; i++)
    ins[i] = in[i];
  n->in = ins;
  n->nin = nin;
  n->op = op;
  n->id = g->nnodes;
  for (int i = 0; i < CLSEG__MAX_NODE_PARAMS; i++)
    n->param[i] = -1;
  if (name && *name)
    snprintf(n->name, sizeof n->name, "%s", name);
  else
    snprintf(n->name, sizeof n->name, "%s_%d", op_names[op], n->id);
  n->channels = nin ? in[0]->channels : 0;
  g->nodes[g->nnodes++] = n;
  return n;
}

clseg_node *clseg_graph_input(clseg_graph *g, const char *name, int64_t channels) {
  if (g && g->input)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "input '%s': the graph already has input '%s'", name ? name : "",
                             g->input_name);
  if (g && channels < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "input '%s': %lld channels",
                             name ? name : "", (long long)channels);
  clseg_node *n = clseg__add_node(g, CLSEG__N_INPUT, name, NULL, 0);
  if (n) {
    n->channels = channels;
    g->input = n;
    snprintf(g->input_name, sizeof g->input_name, "%s", n->name);
  }
  return n;
}

clseg_status clseg_graph_output(clseg_graph *g, clseg_node *x, const char *name) {
  if (!g)
    return clseg__fail(NULL, CLSEG_INVALID_ARGUMENT, "clseg_graph_output: NULL graph");
  if (g->status != CLSEG_OK)
    return g->status;
  if (!x)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "output '%s': NULL node", name ? name : ""),
           g->status;
  char def[32];
  snprintf(def, sizeof def, g->noutputs ? "output_%d" : "output", g->noutputs);
  name = name && *name ? name : def;
  if (g->noutputs == CLSEG_MAX_OUTPUTS)
    return clseg__graph_fail(g, CLSEG_UNSUPPORTED, "output '%s': more than %d outputs", name,
                             CLSEG_MAX_OUTPUTS),
           g->status;
  for (int i = 0; i < g->noutputs; i++)
    if (!strcmp(g->output_names[i], name))
      return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "output '%s' is marked twice", name),
             g->status;
  g->outputs[g->noutputs] = x;
  snprintf(g->output_names[g->noutputs], sizeof g->output_names[0], "%s", name);
  g->noutputs++;
  g->output = g->outputs[0];
  return CLSEG_OK;
}

int clseg_graph_output_count(const clseg_graph *g) {
  return g ? g->noutputs : 0;
}

const char *clseg_graph_output_name(const clseg_graph *g, int i) {
  return g && i >= 0 && i < g->noutputs ? g->output_names[i] : NULL;
}

/* Declares a conv-shaped weight and optional bias into the weight slots starting at first. */
int clseg__declare_weight(clseg_graph *g, clseg_node *n, const char *wname, const char *bname,
                          int first, const int64_t wdims[4], int64_t fan_in, int64_t bias_count) {
  n->param[first + CLSEG__SLOT_WEIGHT] =
      clseg__declare(g, n, wname, 4, wdims, CLSEG__P_WEIGHT, fan_in);
  if (bias_count > 0)
    n->param[first + CLSEG__SLOT_BIAS] =
        clseg__declare(g, n, bname, 1, &bias_count, CLSEG__P_BIAS, fan_in);
  return g->status == CLSEG_OK;
}

clseg_node *clseg_graph_conv2d(clseg_graph *g, const char *name, clseg_node *x, int64_t cout,
                               int kernel, int bias, const clseg_conv2d_params *p) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_CONV, name, &x, 1);
  if (!n)
    return NULL;
  if (p)
    n->u.conv = *p;
  int groups = n->u.conv.groups ? n->u.conv.groups : 1;
  if (cout < 1 || kernel < 1 || groups < 1 || x->channels % groups || cout % groups)
    return clseg__graph_fail(
        g, CLSEG_INVALID_ARGUMENT,
        "conv2d '%s': %lld input and %lld output channels do not suit kernel %d, groups %d",
        n->name, (long long)x->channels, (long long)cout, kernel, groups);
  const int64_t w[4] = {cout, x->channels / groups, kernel, kernel};
  n->channels = cout;
  n->kernel = kernel;
  return clseg__declare_weight(g, n, "weight", "bias", CLSEG__SLOT_WEIGHT, w,
                               w[1] * kernel * kernel, bias ? cout : 0)
             ? n
             : NULL;
}

clseg_node *clseg_graph_conv_transpose2d(clseg_graph *g, const char *name, clseg_node *x,
                                         int64_t cout, int kernel, int bias,
                                         const clseg_conv_transpose2d_params *p) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_CONVT, name, &x, 1);
  if (!n)
    return NULL;
  if (p)
    n->u.convt = *p;
  int groups = n->u.convt.groups ? n->u.convt.groups : 1;
  if (cout < 1 || kernel < 1 || groups < 1 || x->channels % groups || cout % groups)
    return clseg__graph_fail(
        g, CLSEG_INVALID_ARGUMENT,
        "conv_transpose2d '%s': %lld input and %lld output channels do not suit "
        "kernel %d, groups %d",
        n->name, (long long)x->channels, (long long)cout, kernel, groups);
  const int64_t w[4] = {x->channels, cout / groups, kernel, kernel};
  n->channels = cout;
  n->kernel = kernel;
  return clseg__declare_weight(g, n, "weight", "bias", CLSEG__SLOT_WEIGHT, w,
                               w[0] * kernel * kernel, bias ? cout : 0)
             ? n
             : NULL;
}

/* Declares the four batchnorm vectors of `channels` under prefix into the batchnorm slots starting
 * at first. */
void clseg__declare_bn(clseg_graph *g, clseg_node *n, const char *prefix, int first,
                       int64_t channels) {
  static const char *const suffix[CLSEG__SLOTS_BN] = {
      [CLSEG__SLOT_BN_WEIGHT] = "weight",
      [CLSEG__SLOT_BN_BIAS] = "bias",
      [CLSEG__SLOT_BN_MEAN] = "running_mean",
      [CLSEG__SLOT_BN_VAR] = "running_var",
  };
  static const clseg__param_kind kind[CLSEG__SLOTS_BN] = {
      [CLSEG__SLOT_BN_WEIGHT] = CLSEG__P_BN_WEIGHT,
      [CLSEG__SLOT_BN_BIAS] = CLSEG__P_BN_BIAS,
      [CLSEG__SLOT_BN_MEAN] = CLSEG__P_BN_MEAN,
      [CLSEG__SLOT_BN_VAR] = CLSEG__P_BN_VAR,
  };
  for (int i = 0; i < CLSEG__SLOTS_BN; i++) {
    char s[96];
    snprintf(s, sizeof s, "%s%s%s", prefix, *prefix ? "." : "", suffix[i]);
    n->param[first + i] = clseg__declare(g, n, s, 1, &channels, kind[i], 1);
  }
}

clseg_node *clseg_graph_batchnorm(clseg_graph *g, const char *name, clseg_node *x) {
  clseg_node *n = clseg__add_node(g, CLSEG__N_BN, name, &x, 1);
  if (n)
    clseg__declare_bn(g, n, "", CLSEG__SLOT_BN_WEIGHT, n->channels);
  return g && g->status == CLSEG_OK ? n : NULL;
}

clseg_node *clseg_graph_activation_ex(clseg_graph *g, clseg_node *x, const clseg_activation *act) {
  if (g && g->status == CLSEG_OK &&
      (!act || act->kind <= CLSEG_ACT_NONE || act->kind >= CLSEG_ACT_COUNT))
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "activation: unknown kind %d",
                             act ? (int)act->kind : -1);
  clseg_node *n = clseg__add_node(g, CLSEG__N_ACT, NULL, &x, 1);
  if (n)
    n->u.act = *act;
  return n;
}

clseg_node *clseg_graph_activation(clseg_graph *g, clseg_node *x, clseg_act_kind kind) {
  const clseg_activation act = {.kind = kind};
  return clseg_graph_activation_ex(g, x, &act);
}
