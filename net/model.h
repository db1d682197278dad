/* model.h - internal side of the public model API. */
#ifndef MINT_NET_MODEL_H
#define MINT_NET_MODEL_H

#include "mint.h"
#include "net/graph.h"
#include "weights/container.h"

/* Take ownership of g (and of file, whose mapping g may borrow; may be NULL)
 * and prepare it to run on the active ISA. Both are freed on failure. */
mint_status mint_model_from_graph(mint_model **out, net_graph *g, wt_file *file);
const net_graph *mint_model_graph(const mint_model *m);

#endif
