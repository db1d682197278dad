/* graph_io.h - store a net_graph in the weight container and load it back
 * (format: docs/format.md section 2).
 *
 * The graph is kept as metadata (mint.arch, mint.input_*, mint.taps and the
 * line-based mint.graph text) plus one F32 tensor per weight. Loading never
 * trusts the file: names, ids, shapes and attributes are all checked, and
 * any inconsistency is MINT_E_FORMAT naming the line. */
#ifndef MINT_NET_GRAPH_IO_H
#define MINT_NET_GRAPH_IO_H

#include "mint.h"
#include "net/graph.h"
#include "weights/container.h"

/* Write g (graph, meta, taps, weights) to path (temp name + rename).
 * MINT_E_ARG if the graph is not storable (bad ids, names, NaN attributes,
 * input shape outside 1..65536, ...). */
mint_status net_graph_save(const net_graph *g, const char *path);

/* Add g's metadata and weight tensors to a writer, e.g. to store extra
 * tensors or metadata in the same file (a checkpoint). Weight data are
 * referenced: keep g alive until wt_writer_write returns. */
mint_status net_graph_add_to_writer(wt_writer *w, const net_graph *g);

/* Open path and build the graph. Weights borrow the mapped data (owned = 0):
 * close *file_out only after net_graph_free(*out). */
mint_status net_graph_load(net_graph **out, wt_file **file_out, const char *path);

/* Build a graph from an open container (weights borrowed from f). */
mint_status net_graph_from_file(net_graph **out, const wt_file *f);

/* The text stored under "mint.graph" and "mint.taps" (malloc'd, NUL
 * terminated; free them). */
mint_status net_graph_text(const net_graph *g, char **graph_text, char **taps_text);

#endif
