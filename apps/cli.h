/* Declarations shared by the CLI's subcommands. */
#ifndef CLSEG_CLI_H
#define CLSEG_CLI_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help; /* one line for `clseg --help` */
} cli_command;

/* Exit codes: 0 success, 1 a failure while working, 2 a usage error. */
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

int cmd_devices(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Prints "clseg CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Option values: each returns 1 and sets *out when s is a number in [lo, hi] (an integer for
 * cli_parse_int), or WxH with both sides in 1..65536 for cli_parse_size; else 0 and *out is
 * unchanged. */
int cli_parse_double(const char *s, double lo, double hi, double *out);
int cli_parse_int(const char *s, int lo, int hi, int *out);
int cli_parse_size(const char *s, int64_t *w, int64_t *h);
/* Seconds on the monotonic clock, for timings. */
double cli_now(void);
/* Writes s as a JSON string literal. */
void cli_json_string(FILE *f, const char *s);

#endif
