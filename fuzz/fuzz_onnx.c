/* libFuzzer target for the ONNX importer (protobuf-c reading, tensors, folding, operator mapping):
 * every input must import or fail with a message, never crash or leak. Build by hand with clang,
 * from the repository root (protoc-c output in /tmp/onnxgen; tensors capped at 2^22 elements so a
 * header claiming a huge tensor exercises the limit instead of libFuzzer's memory cap): protoc-c
 * --proto_path=proto --c_out=/tmp/onnxgen proto/onnx_subset.proto
 *   clang -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 \
 *     -DCLSEG__ONNX_MAX_ELEMENTS='((size_t)1 << 22)' -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Ilib -I/tmp/onnxgen fuzz/fuzz_onnx.c lib/formats/onnx*.c \
 *     /tmp/onnxgen/onnx_subset.pb-c.c lib/graph.c lib/graph_ops.c lib/graph_params.c \
 *     lib/status.c lib/file.c -lprotobuf-c -lm -o /tmp/fuzz_onnx
 *   cp -r tests/fixtures/onnx /tmp/onnx_corpus
 *   /tmp/fuzz_onnx -max_len=65536 -max_total_time=300 /tmp/onnx_corpus */
#include <stddef.h>
#include <stdint.h>

#include "clseg_onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  clseg_graph *g = NULL;
  clseg_onnx_info info;
  const clseg_onnx_options opt = {32, 32}; /* symbolic models import too */
  if (clseg_onnx_load_buffer(data, size, "fuzz.onnx", &opt, &g, &info) == CLSEG_OK && !g)
    __builtin_trap(); /* success must give a graph */
  clseg_graph_free(g);
  return 0;
}
