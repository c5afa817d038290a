/* clseg eval: being written. */
#include "cli.h"

int cmd_eval(int argc, char **argv) {
  (void)argc;
  (void)argv;
  cli_error("eval", "not yet available");
  return CLI_EXIT_FAIL;
}
