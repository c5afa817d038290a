/* clseg devices: the table (or JSON) of every OpenCL device, and which one "auto" picks. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clseg.h"
#include "cli.h"

static const char *type_name(clseg_device_type t) {
  return t == CLSEG_DEVICE_GPU           ? "gpu"
         : t == CLSEG_DEVICE_CPU         ? "cpu"
         : t == CLSEG_DEVICE_ACCELERATOR ? "accelerator"
                                         : "other";
}

static void print_json(const clseg_device_info *d, size_t n, const clseg_device_info *best) {
  printf("[");
  for (size_t i = 0; i < n; i++) {
    printf("%s\n  {\"spec\": \"%d:%d\", \"type\": \"%s\", \"type_spec\": \"%s:%d\", \"platform\": ",
           i ? "," : "", d[i].platform_index, d[i].device_index, type_name(d[i].type),
           type_name(d[i].type), d[i].type_index);
    cli_json_string(stdout, d[i].platform_name);
    printf(", \"name\": ");
    cli_json_string(stdout, d[i].name);
    printf(", \"vendor\": ");
    cli_json_string(stdout, d[i].vendor);
    printf(", \"version\": ");
    cli_json_string(stdout, d[i].device_version);
    printf(", \"driver\": ");
    cli_json_string(stdout, d[i].driver_version);
    printf(", \"compute_units\": %u, \"clock_mhz\": %u, \"global_mem\": %llu, \"local_mem\": %llu, "
           "\"max_alloc\": %llu, \"max_work_group\": %zu, \"fp16\": %s, \"fp64\": %s, "
           "\"available\": %s, \"score\": %.0f, \"auto\": %s}",
           d[i].compute_units, d[i].clock_mhz, (unsigned long long)d[i].global_mem,
           (unsigned long long)d[i].local_mem, (unsigned long long)d[i].max_alloc,
           d[i].max_work_group, d[i].fp16 ? "true" : "false", d[i].fp64 ? "true" : "false",
           d[i].available ? "true" : "false", d[i].score,
           best && best->platform_index == d[i].platform_index &&
                   best->device_index == d[i].device_index
               ? "true"
               : "false");
  }
  printf("\n]\n");
}

/* The tuning rows each kernel variant matched on the device, and its user tuning file. */
static int print_tuning(const clseg_device_info *d) {
  char *text = NULL;
  if (clseg_tuning_report(d, &text) != CLSEG_OK) {
    cli_error("devices", "%s", clseg_last_error(NULL));
    return 0;
  }
  fputs(text, stdout);
  free(text);
  return 1;
}

static int print_table(const clseg_device_info *d, size_t n, const clseg_device_info *best,
                       int verbose) {
  printf("%-5s %-7s %-28s %-34s %-4s %8s %8s %5s\n", "spec", "type", "platform", "device", "CUs",
         "global", "local", "fp16");
  for (size_t i = 0; i < n; i++) {
    char spec[16], type[24];
    snprintf(spec, sizeof spec, "%d:%d", d[i].platform_index, d[i].device_index);
    snprintf(type, sizeof type, "%s:%d", type_name(d[i].type), d[i].type_index);
    int is_best = best && best->platform_index == d[i].platform_index &&
                  best->device_index == d[i].device_index;
    printf("%-5s %-7s %-28.28s %-34.34s %4u %6.1fG %6lluK %5s%s\n", spec, type, d[i].platform_name,
           d[i].name, d[i].compute_units, (double)d[i].global_mem / (1024.0 * 1024 * 1024),
           (unsigned long long)(d[i].local_mem / 1024), d[i].fp16 ? "yes" : "no",
           is_best ? "  <- auto" : "");
    if (verbose) {
      printf("      %s | driver %s | %s | vendor %s | arch %s | %u MHz | max alloc %.1fG | max "
             "work-group %zu | fp64 %s | score %.0f\n",
             d[i].device_version, d[i].driver_version, d[i].opencl_c_version, d[i].vendor,
             d[i].arch, d[i].clock_mhz, (double)d[i].max_alloc / (1024.0 * 1024 * 1024),
             d[i].max_work_group, d[i].fp64 ? "yes" : "no", d[i].score);
      if (!print_tuning(&d[i]))
        return 0;
    }
  }
  return 1;
}

int cmd_devices(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int json = 0, verbose = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
    if (c == 'j')
      json = 1;
    else if (c == 'v')
      verbose = 1;
    else if (c == 'h') {
      printf(
          "usage: clseg devices [--json] [--verbose]\n\n"
          "Lists every OpenCL device of every platform. The spec column (P:D) or the type column\n"
          "(gpu:N, cpu:N) can be given to -d/--device or CLSEG_DEVICE; so can 'auto', 'gpu', "
          "'cpu'\n"
          "or part of a name ('nvidia', 'pocl'). '<- auto' marks the device 'auto' picks.\n\n"
          "  -j, --json     print JSON instead of a table\n"
          "  -v, --verbose  also print versions, driver, architecture, clock, the selection\n"
          "                 score, the tuning row each kernel variant matched (CLSEG_AS_DEVICE=\n"
          "                 PROFILE shows a profile's) and the device's user tuning file\n");
      return 0;
    } else {
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    cli_error("devices", "unexpected argument '%s'", argv[optind]);
    return CLI_EXIT_USAGE;
  }
  clseg_device_info *devs = NULL, best;
  size_t n = 0;
  if (clseg_device_list(&devs, &n) != CLSEG_OK) {
    cli_error("devices", "%s", clseg_last_error(NULL));
    return CLI_EXIT_FAIL;
  }
  int have_best = clseg_device_select("auto", &best) == CLSEG_OK;
  if (json)
    print_json(devs, n, have_best ? &best : NULL);
  else if (!print_table(devs, n, have_best ? &best : NULL, verbose)) {
    clseg_device_list_free(devs);
    return CLI_EXIT_FAIL;
  }
  clseg_device_list_free(devs);
  return 0;
}
