/* fuzz_container.c - libFuzzer target for the weight container reader and
 * the graph loader on top of it (docs/format.md sections 1 and 2), and for
 * the .npy header parser. `make fuzz` builds it, tests/fuzz/run.sh runs it
 * with the seeds in tests/fuzz/corpus/container/ (written by
 * tests/fuzz/seeds.c: every metadata type, tensors, a converted graph).
 * Every input must be refused with a status or accepted and then be fully
 * readable: the target walks all
 * metadata and every tensor byte, and builds the graph if there is one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/npy.h"
#include "net/graph.h"
#include "weights/container.h"
#include "net/graph_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* wt_open_mem wants a 64-byte aligned buffer; an exact-size copy also
     * lets ASan catch any read past the end. */
    void *buf = NULL;
    if (posix_memalign(&buf, 64, size ? size : 1))
        return 0;
    memcpy(buf, data, size);
    wt_file *f = NULL;
    if (wt_open_mem(&f, buf, size) == MINT_OK) {
        volatile uint8_t sink = 0;
        for (int i = 0; i < wt_meta_count(f); i++) {
            const wt_meta *m = wt_meta_at(f, i);
            sink ^= (uint8_t)m->key[0];
            if (m->type == WT_META_STR && m->len)
                sink ^= (uint8_t)m->str[m->len - 1];
            if (m->type == WT_META_F32_ARR && m->count)
                sink ^= ((const uint8_t *)m->f32)[4 * m->count - 1];
            if (m->type == WT_META_I64_ARR && m->count)
                sink ^= ((const uint8_t *)m->i64s)[8 * m->count - 1];
        }
        for (int i = 0; i < wt_tensor_count(f); i++) {
            const wt_tensor *t = wt_tensor_at(f, i);
            if (wt_tensor_find(f, t->name) != t)
                abort();
            size_t n = (size_t)t->nelem * base_dtype_size(t->dtype);
            for (size_t k = 0; k < n; k += 61)
                sink ^= ((const uint8_t *)t->data)[k];
            if (n)
                sink ^= ((const uint8_t *)t->data)[n - 1];
        }
        char hex[65];
        wt_file_sha256(f, hex);
        net_graph *g = NULL;
        if (net_graph_from_file(&g, f) == MINT_OK)
            net_graph_free(g);
        wt_close(f);
        (void)sink;
    }
    io_npy a;
    if (io_npy_read_mem(data, size, "fuzz.npy", &a) == MINT_OK)
        io_npy_free(&a);
    free(buf);
    return 0;
}
