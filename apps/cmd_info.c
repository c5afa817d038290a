/* clseg info: what a model is: network, input and output, preprocessing, classes, parameters, FLOPs
 * and planned memory at an input size, and with --layers every layer after fusion. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clseg_models.h"
#include "segment.h"

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clseg info [options]\n\n"
      "Describes a model; shapes, FLOPs and memory are planned for one input size on a device.\n\n"
      "  -m, --model FILE   .safetensors or .tflite model (default: the bundled selfie model)\n"
      "  -d, --device SPEC  device to plan for (default: $CLSEG_DEVICE, else auto)\n"
      "      --size WxH     input size (default: the model's, else 512x512)\n"
      "      --layers       list every layer after fusion\n"
      "      --json         JSON instead of text\n"
      "  -h, --help         this help\n");
}

static void print_floats(const float *v, int64_t n) {
  printf("[");
  for (int64_t i = 0; i < n; i++)
    printf("%s%g", i ? ", " : "", (double)v[i]);
  printf("]");
}

static void print_text(const char *path, const seg_worker *w, clseg_plan *p, int64_t h, int64_t wd,
                       int layers) {
  const clseg_model *m = w->model;
  clseg_graph_info gi;
  clseg_plan_info pi;
  clseg_graph_get_info(clseg_model_graph(m), &gi);
  clseg_plan_get_info(p, &pi);
  int64_t fh, fw, os[4], k = clseg_model_classes(m);
  int fixed = clseg_model_input_size(m, &fh, &fw);
  clseg_plan_output_shape(p, os);
  printf("model       %s\nnetwork     %s\n", path, clseg_model_network(m));
  printf("input       %lld channels, ", (long long)clseg_model_in_channels(m));
  if (fixed)
    printf("fixed %lldx%lld\n", (long long)fw, (long long)fh);
  else
    printf("any size, multiples of %lld\n", (long long)clseg_model_size_multiple(m));
  printf("normalise   (v / 255 - mean) / std, mean ");
  print_floats(clseg_model_mean(m), clseg_model_in_channels(m));
  printf(" std ");
  print_floats(clseg_model_std(m), clseg_model_in_channels(m));
  printf("\noutput      %lld channel%s: %s\n", (long long)k, k == 1 ? "" : "s",
         k == 1 ? (clseg_model_output_is_probability(m)
                       ? "foreground probability (binary mask at 0.5)"
                       : "foreground logit (sigmoid, binary mask at 0.5)")
                : (clseg_model_output_is_probability(m) ? "class probabilities (argmax)"
                                                        : "class logits (argmax)"));
  for (int64_t i = 0; i < k && clseg_model_class_name(m, i); i++)
    printf("%s%lld=%s", i ? ", " : "classes     ", (long long)i, clseg_model_class_name(m, i));
  if (clseg_model_class_name(m, 0))
    printf("\n");
  printf("parameters  %lld (%.2f MiB as float32)\n", (long long)gi.parameters,
         (double)gi.parameters * 4 / 1048576.0);
  printf("graph       %d nodes; %d kernels after fusion (%d nodes folded or fused)\n", gi.nodes,
         pi.kernels, pi.fused);
  printf("at %lldx%lld  %.3f GFLOP per image, output %lldx%lldx%lld; device memory: activations "
         "%.2f MiB "
         "(one buffer per node: %.2f MiB), parameters %.2f MiB\n",
         (long long)wd, (long long)h, pi.flops / 1e9, (long long)os[1], (long long)os[2],
         (long long)os[3], (double)pi.activation_bytes / 1048576.0,
         (double)pi.activation_sum_bytes / 1048576.0, (double)pi.parameter_bytes / 1048576.0);
  if (!layers)
    return;
  printf("\n%-4s %-40s %-18s %-20s %10s %6s\n", "#", "layer", "op", "output", "MFLOP", "fused");
  clseg_plan_layer l;
  for (int i = 0; i < clseg_plan_layer_count(p); i++)
    if (clseg_plan_layer_get(p, i, &l) == CLSEG_OK)
      printf("%-4d %-40.40s %-18.18s %6lldx%5lldx%5lld %10.2f %6d\n", i, l.name, l.op,
             (long long)l.shape[1], (long long)l.shape[2], (long long)l.shape[3], l.flops / 1e6,
             l.fused);
}

static void print_json(const char *path, const seg_worker *w, clseg_plan *p, int64_t h, int64_t wd,
                       int layers) {
  const clseg_model *m = w->model;
  clseg_graph_info gi;
  clseg_plan_info pi;
  clseg_graph_get_info(clseg_model_graph(m), &gi);
  clseg_plan_get_info(p, &pi);
  int64_t fh = 0, fw = 0, k = clseg_model_classes(m);
  int fixed = clseg_model_input_size(m, &fh, &fw);
  printf("{\"model\": ");
  cli_json_string(stdout, path);
  printf(", \"network\": ");
  cli_json_string(stdout, clseg_model_network(m));
  printf(", \"in_channels\": %lld, \"fixed_size\": %s, \"size_multiple\": %lld, \"classes\": %lld, "
         "\"output_is_probability\": %s, \"mean\": ",
         (long long)clseg_model_in_channels(m), fixed ? "true" : "false",
         (long long)clseg_model_size_multiple(m), (long long)k,
         clseg_model_output_is_probability(m) ? "true" : "false");
  print_floats(clseg_model_mean(m), clseg_model_in_channels(m));
  printf(", \"std\": ");
  print_floats(clseg_model_std(m), clseg_model_in_channels(m));
  printf(", \"class_names\": [");
  for (int64_t i = 0; i < k && clseg_model_class_name(m, i); i++) {
    printf("%s", i ? ", " : "");
    cli_json_string(stdout, clseg_model_class_name(m, i));
  }
  printf("], \"parameters\": %lld, \"nodes\": %d, \"kernels\": %d, \"fused\": %d, \"size\": [%lld, "
         "%lld], "
         "\"gflop\": %.6f, \"activation_bytes\": %llu, \"activation_sum_bytes\": %llu, "
         "\"parameter_bytes\": %llu",
         (long long)gi.parameters, gi.nodes, pi.kernels, pi.fused, (long long)wd, (long long)h,
         pi.flops / 1e9, (unsigned long long)pi.activation_bytes,
         (unsigned long long)pi.activation_sum_bytes, (unsigned long long)pi.parameter_bytes);
  if (layers) {
    printf(", \"layers\": [");
    clseg_plan_layer l;
    for (int i = 0; i < clseg_plan_layer_count(p); i++)
      if (clseg_plan_layer_get(p, i, &l) == CLSEG_OK) {
        printf("%s{\"name\": ", i ? ", " : "");
        cli_json_string(stdout, l.name);
        printf(", \"op\": \"%s\", \"shape\": [%lld, %lld, %lld, %lld], \"flops\": %.0f, \"fused\": "
               "%d}",
               l.op, (long long)l.shape[0], (long long)l.shape[1], (long long)l.shape[2],
               (long long)l.shape[3], l.flops, l.fused);
      }
    printf("]");
  }
  printf("}\n");
}

int cmd_info(int argc, char **argv) {
  enum { O_SIZE = 256, O_LAYERS, O_JSON };
  static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                       {"device", required_argument, 0, 'd'},
                                       {"size", required_argument, 0, O_SIZE},
                                       {"layers", no_argument, 0, O_LAYERS},
                                       {"json", no_argument, 0, O_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *model = NULL, *device = NULL;
  int64_t w = 0, h = 0;
  int layers = 0, json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:d:h", opts, NULL)) != -1) {
    if (c == 'm')
      model = optarg;
    else if (c == 'd')
      device = optarg;
    else if (c == O_LAYERS)
      layers = 1;
    else if (c == O_JSON)
      json = 1;
    else if (c == O_SIZE && !cli_parse_size(optarg, &w, &h)) {
      cli_error("info", "--size '%s': expected WxH, e.g. 512x512", optarg);
      return CLI_EXIT_USAGE;
    } else if (c == 'h') {
      usage(stdout);
      return 0;
    } else if (c != O_SIZE) {
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    cli_error("info", "unexpected argument '%s'", argv[optind]);
    return CLI_EXIT_USAGE;
  }
  model = model ? model : seg_default_model();
  seg_worker sw;
  char err[4096];
  if (seg_worker_init(&sw, device, model, h, w, err, sizeof err) != CLSEG_OK) {
    cli_error("info", "%s", err);
    return CLI_EXIT_FAIL;
  }
  if (seg_size_conflict(&sw, err, sizeof err)) {
    cli_error("info", "%s", err);
    seg_worker_free(&sw);
    return CLI_EXIT_USAGE;
  }
  int64_t ph = h, pw = w;
  if (!ph && !clseg_model_input_size(sw.model, &ph, &pw))
    ph = pw = 512;
  clseg_plan *p = NULL;
  int rc = 0;
  if (seg_plan_for(&sw, 1, ph, pw, &p, err, sizeof err) != CLSEG_OK) {
    cli_error("info", "%s", err);
    rc = CLI_EXIT_FAIL;
  } else if (json) {
    print_json(model, &sw, p, ph, pw, layers);
  } else {
    print_text(model, &sw, p, ph, pw, layers);
  }
  seg_worker_free(&sw);
  return rc;
}
