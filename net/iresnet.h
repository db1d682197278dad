/* iresnet.h - native builder of InsightFace IResNet graphs (arcface_torch
 * iresnet.py structure) with seeded random weights. */
#ifndef MINT_NET_IRESNET_H
#define MINT_NET_IRESNET_H

#include <stdint.h>
#include "net/graph.h"

typedef struct {
    int layers[4];   /* blocks per stage: r18 {2,2,2,2}, r100 {3,13,30,3} */
    int widths[4];   /* stage widths, default 64,128,256,512 */
    int emb;         /* embedding size, default 512 */
    int in_h, in_w;  /* input size, default 112 x 112 */
    int in_c;        /* input channels: 3 (RGB faces; 0 means 3) or 1 (grey digits) */
} net_iresnet_cfg;

/* Fill cfg for depth 18/34/50/100/200 with default widths; MINT_E_ARG else. */
mint_status net_iresnet_cfg_depth(net_iresnet_cfg *cfg, int depth);
/* Build the graph (unfolded: BN nodes kept) with weights drawn from seed,
 * sorted, shaped, taps layer1..layer4 + embedding named. */
mint_status net_iresnet_build(net_graph **out, const net_iresnet_cfg *cfg, uint64_t seed);

#endif
