/* BatchNormalization's training forms, which clseg refuses by name: at opsets 7 to 13 a node that
 * lists the outputs mean, var, saved_mean, saved_var is in training mode (the spec's output case 1;
 * onnxruntime then normalises with the batch's own statistics), from opset 14 training_mode 1. */
#include <string.h>

#include "formats/onnx.h"

static const char *const stat_names[5] = {"Y", "mean", "var", "saved_mean", "saved_var"};

/* Whether value name is read by a node or is a graph output. */
static int is_read(clseg__ob *b, const char *name) {
  if (clseg__ob_uses(b, name))
    return 1;
  for (size_t i = 0; i < b->gr->n_output; i++)
    if (!strcmp(b->gr->output[i]->name, name))
      return 1;
  return 0;
}

int clseg__bn_training(clseg__ob *b, const Onnx__NodeProto *n) {
  size_t first = 0;
  for (size_t k = n->n_output; k-- > 1;)
    if (*n->output[k])
      first = k;
  if (b->opset >= 14 && clseg__attr_int(n, "training_mode", 0))
    return !clseg__ob_fail(
        b, CLSEG_UNSUPPORTED,
        "training_mode 1 (normalised with the batch's statistics) is unsupported");
  if (b->opset >= 7 && b->opset < 14 && first)
    return !clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                           "output %zu ('%s', %s) at opset %d (training mode: normalised with the "
                           "batch's statistics) is unsupported",
                           first, n->output[first], first < 5 ? stat_names[first] : "?", b->opset);
  /* opset 14+ with training_mode 0 lists only Y; extra outputs that nothing reads are harmless */
  for (size_t k = 1; k < n->n_output; k++)
    if (*n->output[k] && is_read(b, n->output[k]))
      return !clseg__ob_fail(b, CLSEG_UNSUPPORTED,
                             "output %zu ('%s': a running statistic, computed in training mode "
                             "only) read by the graph is unsupported",
                             k, n->output[k]);
  return 0;
}
