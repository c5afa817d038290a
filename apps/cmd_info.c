/* clseg info: what a model is: network, input and output, preprocessing, classes, parameters, FLOPs
 * and planned memory at an input size, with --layers every layer after fusion, and with --kernels
 * every kernel program the plan builds (JSON that ../shared/tools/gpu-static --jobs reads). */
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
      "  -m, --model FILE   selfie, selfie-landscape, or a .safetensors, .tflite or .onnx file\n"
      "                     (default: selfie, the bundled selfie segmentation)\n"
      "  -d, --device SPEC  device to plan for (default: $CLSEG_DEVICE, else auto)\n"
      "      --size WxH     input size (default: the model's, else 512x512)\n"
      "      --no-fusion    plan every node as its own kernel (compare memory and launches\n"
      "                     with the fused plan: batchnorms, activations, attention chains)\n"
      "      --layers       list every layer after fusion, with each conv's variant, build\n"
      "                     options and the tuning rows that chose them\n"
      "      --kernels      run the plan once and list every kernel program it builds: its\n"
      "                     file, exact build options, kernels and local sizes (with --json:\n"
      "                     a list of {file, options, kernels} for gpu-static --jobs);\n"
      "                     CLSEG_AS_DEVICE=PROFILE plans as that device would\n"
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
  if (clseg_plan_output_count(p) > 1)
    for (int i = 0; i < clseg_plan_output_count(p); i++) {
      char file[256];
      clseg_plan_output_shape_at(p, i, os);
      seg_npy_path("OUT.npy", i, clseg_plan_output_name(p, i), file, sizeof file);
      printf("%s%d %-24s [%lld, %lld, %lld, %lld]  --npy OUT.npy writes %s\n",
             i ? "            " : "outputs     ", i, clseg_plan_output_name(p, i), (long long)os[0],
             (long long)os[1], (long long)os[2], (long long)os[3], file);
    }
  if (!layers)
    return;
  printf("\n%-4s %-40s %-18s %-20s %10s %6s  %s\n", "#", "layer", "op", "output", "MFLOP", "fused",
         "variant");
  clseg_plan_layer l;
  for (int i = 0; i < clseg_plan_layer_count(p); i++)
    if (clseg_plan_layer_get(p, i, &l) == CLSEG_OK) {
      printf("%-4d %-40.40s %-18.18s %6lldx%5lldx%5lld %10.2f %6d  %s\n", i, l.name, l.op,
             (long long)l.shape[1], (long long)l.shape[2], (long long)l.shape[3], l.flops / 1e6,
             l.fused, l.variant ? l.variant : "");
      if (l.variant)
        printf("%-4s   options %s\n%-4s   tuning  %s\n", "", l.options, "", l.tuning);
    }
}

/* Every program the plan built, with its kernels and their local sizes. */
static void print_kernels_text(const clseg_context *ctx) {
  printf("\nkernel programs (%d)\n", clseg_context_program_count(ctx));
  clseg_program_info pi;
  clseg_kernel_info ki;
  for (int i = 0; clseg_context_program(ctx, i, &pi) == CLSEG_OK; i++) {
    printf("  cl/%s %s\n", pi.file, pi.options);
    for (int k = 0; clseg_context_program_kernel(ctx, i, k, &ki) == CLSEG_OK; k++)
      printf("    %-34s local %zux%zux%zu\n", ki.name, ki.local_size[0], ki.local_size[1],
             ki.local_size[2]);
  }
}

static void print_kernels_json(const clseg_context *ctx) {
  clseg_program_info pi;
  clseg_kernel_info ki;
  printf("[");
  for (int i = 0; clseg_context_program(ctx, i, &pi) == CLSEG_OK; i++) {
    char file[256];
    snprintf(file, sizeof file, "cl/%s", pi.file);
    printf("%s\n  {\"file\": ", i ? "," : "");
    cli_json_string(stdout, file);
    printf(", \"options\": ");
    cli_json_string(stdout, pi.options);
    printf(", \"kernels\": [");
    for (int k = 0; clseg_context_program_kernel(ctx, i, k, &ki) == CLSEG_OK; k++) {
      printf("%s{\"name\": ", k ? ", " : "");
      cli_json_string(stdout, ki.name);
      if (ki.local_size[0])
        printf(", \"local_size\": [%zu, %zu, %zu]", ki.local_size[0], ki.local_size[1],
               ki.local_size[2]);
      printf("}");
    }
    printf("]}");
  }
  printf("\n]\n");
}

/* One run on zeros: every kernel a run launches is then built, and the local sizes of those that
 * declare none are known. */
static clseg_status run_once(clseg_plan *p) {
  int64_t is[4], os[4];
  clseg_plan_input_shape(p, is);
  clseg_plan_output_shape(p, os);
  const size_t ni = (size_t)(is[0] * is[1] * is[2] * is[3]),
               no = (size_t)(os[0] * os[1] * os[2] * os[3]);
  float *in = calloc(ni, sizeof *in), *out = malloc(no * sizeof *out);
  clseg_status s = in && out ? clseg_plan_run(p, in, ni, out, no) : CLSEG_OUT_OF_MEMORY;
  free(in);
  free(out);
  return s;
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
  printf(", \"outputs\": [");
  for (int i = 0; i < clseg_plan_output_count(p); i++) {
    int64_t os[4];
    clseg_plan_output_shape_at(p, i, os);
    printf("%s{\"name\": ", i ? ", " : "");
    cli_json_string(stdout, clseg_plan_output_name(p, i));
    printf(", \"shape\": [%lld, %lld, %lld, %lld]}", (long long)os[0], (long long)os[1],
           (long long)os[2], (long long)os[3]);
  }
  printf("]");
  if (layers) {
    printf(", \"layers\": [");
    clseg_plan_layer l;
    for (int i = 0; i < clseg_plan_layer_count(p); i++)
      if (clseg_plan_layer_get(p, i, &l) == CLSEG_OK) {
        printf("%s{\"name\": ", i ? ", " : "");
        cli_json_string(stdout, l.name);
        printf(", \"op\": \"%s\", \"shape\": [%lld, %lld, %lld, %lld], \"flops\": %.0f, \"fused\": "
               "%d",
               l.op, (long long)l.shape[0], (long long)l.shape[1], (long long)l.shape[2],
               (long long)l.shape[3], l.flops, l.fused);
        if (l.variant) {
          printf(", \"variant\": ");
          cli_json_string(stdout, l.variant);
          printf(", \"options\": ");
          cli_json_string(stdout, l.options);
          printf(", \"tuning\": ");
          cli_json_string(stdout, l.tuning);
        }
        printf("}");
      }
    printf("]");
  }
  printf("}\n");
}

int cmd_info(int argc, char **argv) {
  enum { O_SIZE = 256, O_LAYERS, O_JSON, O_KERNELS, O_NO_FUSION };
  static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                       {"device", required_argument, 0, 'd'},
                                       {"size", required_argument, 0, O_SIZE},
                                       {"layers", no_argument, 0, O_LAYERS},
                                       {"json", no_argument, 0, O_JSON},
                                       {"kernels", no_argument, 0, O_KERNELS},
                                       {"no-fusion", no_argument, 0, O_NO_FUSION},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *model = NULL, *device = NULL;
  int64_t w = 0, h = 0;
  int layers = 0, json = 0, kernels = 0, no_fusion = 0, c;
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
    else if (c == O_KERNELS)
      kernels = 1;
    else if (c == O_NO_FUSION)
      no_fusion = 1;
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
  model = model ? model : seg_default_network();
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
  sw.plan_opt.no_fusion = no_fusion;
  int64_t ph = h, pw = w;
  if (!ph && !clseg_model_input_size(sw.model, &ph, &pw))
    ph = pw = 512;
  clseg_plan *p = NULL;
  int rc = 0;
  if (seg_plan_for(&sw, 1, ph, pw, &p, err, sizeof err) != CLSEG_OK) {
    cli_error("info", "%s", err);
    rc = CLI_EXIT_FAIL;
  } else if (kernels && run_once(p) != CLSEG_OK) {
    cli_error("info", "running the plan once to list its kernels: %s", clseg_last_error(sw.ctx));
    rc = CLI_EXIT_FAIL;
  } else if (kernels && json) {
    print_kernels_json(sw.ctx);
  } else if (json) {
    print_json(model, &sw, p, ph, pw, layers);
  } else {
    print_text(model, &sw, p, ph, pw, layers);
    if (kernels)
      print_kernels_text(sw.ctx);
  }
  seg_worker_free(&sw);
  return rc;
}
