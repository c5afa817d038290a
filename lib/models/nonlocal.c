/* The non-local block (Wang et al. 2018, embedded Gaussian, no sub-sampling) as a graph builder:
 * the soft attention over positions is clseg_graph_attention with scale 1. Parameter names follow
 * the authors' reference module (theta, phi, g, W = Sequential(conv, BN)). */
#include <stdio.h>

#include "graph_internal.h"
#include "models/resnet.h"

clseg_node *clseg_graph_nonlocal(clseg_graph *g, const char *name, clseg_node *x, int64_t inter) {
  if (!g || g->status != CLSEG_OK)
    return NULL;
  name = name && *name ? name : "nonlocal";
  if (!x)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT, "nonlocal '%s': NULL input", name);
  int64_t c = x->channels;
  if (inter < 0 || c < 1)
    return clseg__graph_fail(g, CLSEG_INVALID_ARGUMENT,
                             "nonlocal '%s': %lld inner channels for %lld channels", name,
                             (long long)inter, (long long)c);
  inter = inter ? inter : (c / 2 > 0 ? c / 2 : 1);
  char n[160];
  clseg_node *qkv[3];
  static const char *const parts[3] = {"theta", "phi", "g"};
  for (int i = 0; i < 3; i++) {
    CLSEG__NAME(n, "%s.%s", name, parts[i]);
    qkv[i] = clseg_graph_conv2d(g, n, x, inter, 1, 1, NULL);
  }
  const clseg_attention_params p = {.heads = 1, .scale = 1.0f};
  clseg_node *y = clseg_graph_attention(g, name, qkv[0], qkv[1], qkv[2], &p);
  CLSEG__NAME(n, "%s.W.0", name);
  y = clseg_graph_conv2d(g, n, y, c, 1, 1, NULL);
  CLSEG__NAME(n, "%s.W.1", name);
  y = clseg_graph_batchnorm(g, n, y);
  return clseg_graph_binary(g, CLSEG_BINARY_ADD, y, x);
}
