/* The clseg command line: dispatches to one subcommand per file (cmd_<name>.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clseg.h"
#include "cli.h"

static const cli_command commands[] = {
    {"run", cmd_run, "segment images: masks, overlays, probabilities"},
    {"eval", cmd_eval, "score predicted masks against ground truth: IoU, Dice, F-beta, accuracy"},
    {"bench", cmd_bench, "time a model: latency, throughput, GFLOP/s, memory, per-layer profile"},
    {"info", cmd_info, "describe a model: inputs, outputs, layers, parameters, FLOPs, metadata"},
    {"tune", cmd_tune, "measure the fastest kernel variants of a model's layers on a device"},
    {"devices", cmd_devices, "list the OpenCL devices clseg can use"},
    {"models", cmd_models, "list the bundled models (-m NAME)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void cli_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "clseg%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_parse_double(const char *s, double lo, double hi, double *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end || !(v >= lo && v <= hi))
    return 0;
  *out = v;
  return 1;
}

int cli_parse_int(const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < lo || v > hi)
    return 0;
  *out = (int)v;
  return 1;
}

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_parse_size(const char *s, int64_t *w, int64_t *h) {
  long a = 0, b = 0;
  char tail = 0;
  if (sscanf(s, "%ldx%ld%c", &a, &b, &tail) != 2 || a < 1 || b < 1 || a > 65536 || b > 65536)
    return 0;
  *w = a;
  *h = b;
  return 1;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void usage(FILE *f) {
  fprintf(f, "usage: clseg [--version] [--help] COMMAND [ARGS]\n\n"
             "Runs image-segmentation networks on any OpenCL device.\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\nRun 'clseg COMMAND --help' for a command's options.\n"
             "Environment: CLSEG_DEVICE (default device spec), CLSEG_CACHE_DIR, CLSEG_CACHE=off, "
             "CLSEG_KERNEL_DIR.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    printf("clseg %s\n", CLSEG_VERSION_STRING);
    return 0;
  }
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].fn(argc - 1, argv + 1);
  cli_error(NULL, "'%s' is not a command; see 'clseg --help'", argv[1]);
  return CLI_EXIT_USAGE;
}
