/* libFuzzer target for the .tflite reader: every input must load or fail with a message, never
 * crash or leak. Build (outside meson, from the repository root, after `meson setup build && ninja
 * -C build`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib -D_POSIX_C_SOURCE=200809L \
 *     fuzz/fuzz_tflite.c lib/formats/tflite*.c lib/graph.c \
 *     lib/graph_ops.c lib/graph_params.c lib/status.c lib/file.c -lm -o fuzz_tflite
 *   ./fuzz_tflite -max_len=300000 corpus/ models/   (seed with the committed models) */
#include <stddef.h>
#include <stdint.h>

#include "clseg_tflite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  clseg_graph *g = NULL;
  clseg_tflite_info info;
  if (clseg_tflite_load_buffer(data, size, "fuzz.tflite", &g, &info) == CLSEG_OK && !g)
    __builtin_trap(); /* success must give a graph */
  clseg_graph_free(g);
  return 0;
}
