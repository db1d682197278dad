/* fuzz_onnx.c - libFuzzer target for the ONNX importer (convert/onnx.c,
 * convert/pb.c). `make fuzz` builds it, tests/fuzz/run.sh runs it with the
 * seeds in tests/fuzz/corpus/onnx/ (conv_bn.onnx and the small malformed_*
 * fixtures).
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
