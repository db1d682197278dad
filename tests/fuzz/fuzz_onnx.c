/* fuzz_onnx.c - libFuzzer target for the ONNX importer (convert/onnx.c,
 * convert/pb.c). Not built by `make test`. Build and run from the
 * repository root with clang:
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Iinclude -Ikernels -I. tests/fuzz/fuzz_onnx.c convert/onnx.c \
 *       convert/pb.c base/sha256.c net/graph.c base/dtype.c base/error.c -lm \
 *       -o build/fuzz_onnx
 *   mkdir -p build/fuzz_corpus && cp tests/fixtures/mobile_dw.onnx tests/fixtures/malformed_[a-z_]*.onnx build/fuzz_corpus/
 *   build/fuzz_onnx -max_len=70000 -timeout=10 build/fuzz_corpus
 *
 * Any input must give MINT_OK (graph freed here) or an error status with
 * no graph; crashes, leaks and sanitizer reports are bugs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "convert/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_graph *g = NULL;
    mint_status st = convert_onnx_import_mem(&g, data, size, "fuzz.onnx");
    if (st == MINT_OK)
        net_graph_free(g);
    else if (g)
        abort(); /* contract: no graph on failure */
    return 0;
}
