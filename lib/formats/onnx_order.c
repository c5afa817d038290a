/* ONNX node order: converters store nodes out of order (an input Cast last) and onnxruntime sorts
 * them, so the importer maps nodes in a topological order; refuses dangling inputs and cycles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx.h"

typedef struct {
  int *prod;    /* per value: the producing node, -1 none */
  char *avail;  /* per value: an initializer or a graph input */
  int *pending; /* per node: input slots whose producer is not emitted yet */
  int *start;   /* per value: readers[start[v] .. start[v + 1]) */
  int *readers; /* node indices, one per input slot */
  int *heap;    /* ready nodes, a min-heap on file index */
  int nheap;
} order_state;

static long value_of(clseg__ob *b, const char *name) {
  return *name ? clseg__ob_value(b, name) - b->vals : -1;
}

static void heap_push(order_state *s, int v) {
  int i = s->nheap++;
  for (; i > 0 && s->heap[(i - 1) / 2] > v; i = (i - 1) / 2)
    s->heap[i] = s->heap[(i - 1) / 2];
  s->heap[i] = v;
}

static int heap_pop(order_state *s) {
  int top = s->heap[0], last = s->heap[--s->nheap], i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= s->nheap)
      break;
    if (c + 1 < s->nheap && s->heap[c + 1] < s->heap[c])
      c++;
    if (s->heap[c] >= last)
      break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (s->nheap)
    s->heap[i] = last;
  return top;
}

static int reads(const Onnx__NodeProto *n, const char *name) {
  for (size_t k = 0; k < n->n_input; k++)
    if (!strcmp(n->input[k], name))
      return 1;
  return 0;
}

/* Producers and availability; refuses a value with two producers or none. */
static int find_producers(clseg__ob *b, order_state *s) {
  const Onnx__GraphProto *gr = b->gr;
  for (size_t v = 0; v < b->nvals; v++)
    s->prod[v] = -1;
  for (size_t k = 0; k < gr->n_initializer + gr->n_input; k++) { /* names checked non-empty */
    const char *name =
        k < gr->n_initializer ? gr->initializer[k]->name : gr->input[k - gr->n_initializer]->name;
    long v = value_of(b, name);
    if (v >= 0)
      s->avail[v] = 1;
  }
  for (size_t i = 0; i < gr->n_node; i++) {
    b->nodei = (int)i;
    for (size_t k = 0; k < gr->node[i]->n_output; k++) {
      long v = value_of(b, gr->node[i]->output[k]);
      if (v < 0)
        continue;
      const char *also = s->avail[v] ? "an initializer or a graph input" : "produced earlier";
      if (s->avail[v] || s->prod[v] >= 0)
        return clseg__ob_fail(
            b, CLSEG_FORMAT, "output %zu ('%s') is also %s%s", k, gr->node[i]->output[k], also,
            reads(gr->node[i], gr->node[i]->output[k]) ? ", and the node reads it (a cycle)" : "");
      s->prod[v] = (int)i;
    }
  }
  for (size_t i = 0; i < gr->n_node; i++) {
    b->nodei = (int)i;
    for (size_t k = 0; k < gr->node[i]->n_input; k++) {
      long v = value_of(b, gr->node[i]->input[k]);
      if (v >= 0 && !s->avail[v] && s->prod[v] < 0)
        return clseg__ob_fail(b, CLSEG_FORMAT,
                              "input %zu ('%s') is produced by no node and is neither an "
                              "initializer nor a graph input",
                              k, gr->node[i]->input[k]);
      s->pending[i] += v >= 0 && !s->avail[v];
    }
  }
  b->nodei = -1;
  return 1;
}

/* Readers of each value as one array (counting sort by value). */
static void find_readers(clseg__ob *b, order_state *s) {
  const Onnx__GraphProto *gr = b->gr;
  for (size_t i = 0; i < gr->n_node; i++)
    for (size_t k = 0; k < gr->node[i]->n_input; k++) {
      long v = value_of(b, gr->node[i]->input[k]);
      if (v >= 0)
        s->start[v + 1]++;
    }
  for (size_t v = 0; v < b->nvals; v++)
    s->start[v + 1] += s->start[v];
  int *fill = s->heap; /* free until the sort starts */
  memcpy(fill, s->start, b->nvals * sizeof *fill);
  for (size_t i = 0; i < gr->n_node; i++)
    for (size_t k = 0; k < gr->node[i]->n_input; k++) {
      long v = value_of(b, gr->node[i]->input[k]);
      if (v >= 0)
        s->readers[fill[v]++] = (int)i;
    }
}

/* Some input of node i whose producer was not emitted (one exists while i is pending). */
static int blocking_input(clseg__ob *b, const order_state *s, int i, size_t *slot) {
  const Onnx__NodeProto *n = b->gr->node[i];
  for (size_t k = 0; k < n->n_input; k++) {
    long v = value_of(b, n->input[k]);
    if (v >= 0 && !s->avail[v] && s->pending[s->prod[v]] > 0) {
      *slot = k;
      return s->prod[v];
    }
  }
  return -1;
}

/* Walks from a pending node to its pending producers until one repeats: that node is on a cycle.
 * The message lists the cycle in data-flow order. */
static int report_cycle(clseg__ob *b, order_state *s, int from) {
  int *seen = s->heap; /* free after the sort */
  size_t n = b->gr->n_node, slot = 0;
  for (size_t i = 0; i < n; i++)
    seen[i] = 0;
  int i = from;
  while (!seen[i]) {
    seen[i] = 1;
    i = blocking_input(b, s, i, &slot);
  }
  b->nodei = i;
  const Onnx__NodeProto *node = b->gr->node[i];
  int p = blocking_input(b, s, i, &slot);
  if (p == i)
    return clseg__ob_fail(b, CLSEG_FORMAT, "reads its own output '%s' (a cycle)",
                          node->input[slot]);
  char path[1024];
  size_t len = 0;
  int hops = 0, at = i;
  do {
    at = blocking_input(b, s, at, &slot);
    len += (size_t)snprintf(path + len, sizeof path - len, "%s '%.60s' (%s)",
                            hops ? ", which reads" : " reads", b->gr->node[at]->name,
                            b->gr->node[at]->op_type);
  } while (at != i && ++hops < 8 && len < sizeof path);
  return clseg__ob_fail(b, CLSEG_FORMAT, "is on a cycle: '%s' (%s)%s%s", node->name, node->op_type,
                        path, at != i ? ", ..." : "");
}

/* Kahn's algorithm, the lowest file index first among ready nodes; fills order. */
static int sort_nodes(clseg__ob *b, order_state *s, int *order) {
  const Onnx__GraphProto *gr = b->gr;
  int done = 0;
  for (size_t i = 0; i < gr->n_node; i++)
    if (!s->pending[i])
      heap_push(s, (int)i);
  while (s->nheap) {
    int i = heap_pop(s);
    order[done++] = i;
    for (size_t k = 0; k < gr->node[i]->n_output; k++) {
      long v = value_of(b, gr->node[i]->output[k]);
      for (int r = v >= 0 ? s->start[v] : 0; v >= 0 && r < s->start[v + 1]; r++)
        if (!--s->pending[s->readers[r]])
          heap_push(s, s->readers[r]);
    }
  }
  for (size_t i = 0; i < gr->n_node && done < (int)gr->n_node; i++)
    if (s->pending[i])
      return report_cycle(b, s, (int)i);
  return 1;
}

int clseg__onnx_order(clseg__ob *b) {
  const Onnx__GraphProto *gr = b->gr;
  size_t nv = b->nvals, nn = gr->n_node, slots = 0;
  for (size_t i = 0; i < nn; i++)
    slots += gr->node[i]->n_input;
  order_state s = {
      .prod = malloc((nv + 1) * sizeof(int)),
      .avail = calloc(nv + 1, 1),
      .pending = calloc(nn + 1, sizeof(int)),
      .start = calloc(nv + 2, sizeof(int)),
      .readers = malloc((slots + 1) * sizeof(int)),
      .heap = malloc((nn > nv ? nn + 1 : nv + 1) * sizeof(int)),
  };
  int *order = malloc((nn + 1) * sizeof *order);
  Onnx__NodeProto **nodes = malloc((nn + 1) * sizeof *nodes);
  int ok = 0;
  if (!s.prod || !s.avail || !s.pending || !s.start || !s.readers || !s.heap || !order || !nodes) {
    clseg__ob_fail(b, CLSEG_OUT_OF_MEMORY, "out of memory");
    goto fail;
  }
  if (!find_producers(b, &s))
    goto fail;
  find_readers(b, &s);
  if (!sort_nodes(b, &s, order))
    goto fail;
  for (size_t i = 0; i < nn; i++)
    nodes[i] = gr->node[order[i]];
  b->sorted = *gr;
  b->sorted.node = nodes;
  b->gr = &b->sorted;
  b->file_index = order;
  order = NULL;
  nodes = NULL;
  ok = 1;
fail:
  free(s.prod);
  free(s.avail);
  free(s.pending);
  free(s.start);
  free(s.readers);
  free(s.heap);
  free(order);
  free(nodes);
  return ok;
}
