/* conv.c - convolution (and fully connected) driver over the igemm and
 * dwconv microkernels, portable C + OpenMP.
 *
 * Weights are packed once (kern_conv_create) per group into NR-column panels
 * [group][cout_g/NR][ks = kh*kw][cin_g][NR], zero padded past cout_g, so a
 * panel is one contiguous stream for the microkernel. At run time
 * (NHWC -> NHWC) the output pixels, flattened over n*oh*ow, are cut into
 * tiles of MR rows; each tile gets an indirection buffer of ks*MR pointers
 * to input pixels (the zero buffer where the window hits padding), and the
 * igemm computes MR x NR outputs per panel (indirect GEMM as in Dukhan,
 * "The Indirect Convolution Algorithm", 2019). Depthwise convolutions use
 * the dwconv kernel per output pixel.
 *
 * kern_conv_repack refreshes the packed weights in place (training: the
 * backward is kernels/conv_bwd.c).
 *
 * Cache blocking: the (tiles x panels) space is cut into blocks of
 * `pb` panels whose packed weights fit in about half of L2, times a range of
 * tiles. Within a block the loop is tile-outer, panel-inner, so the tile's
 * input rows stay in L1/L2 across panels and the block's weights stay in L2
 * across tiles. Blocks are ordered panel-block-major, so when the weights are
 * larger than L2 (3x3 with 512 channels: 9.4 MB) each thread walks its own
 * panel blocks over all pixels instead of streaming all weights per tile;
 * when they fit, there is a single panel block and threads split the pixels.
 * Layers with few pixels (7x7 at batch 1, FC) still get one block per panel
 * block, enough to keep every core busy. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Packed weights of one block of panels should stay in L2 (1.25-2 MB per
 * core on the machines we target) together with the tile's input rows. */
#define WBLOCK_BYTES (512u * 1024u)
/* Indirection pointers kept on the thread's stack; more -> heap. */
#define IND_STACK 1024
/* Blocks per thread (when there are few panel blocks, the tiles are split). */
#define BLOCKS_PER_THREAD 4

enum { PATH_GENERIC, PATH_CONV1X1S1, PATH_CONV1X1S2, PATH_CONV3X3S1, PATH_CONV3X3S2 };

struct kern_conv {
    const kern_isa *isa;
    int cout, cin, groups, cin_g, cout_g;
    kern_conv_geom g;
    int ks;
    int depthwise;
    int path;
    size_t npanel;     /* NR panels per group */
    size_t panel_size; /* floats per packed panel: ks * cin_g * NR */
    float *w;          /* packed weights (64-byte aligned) */
    float *bias;       /* cout floats or NULL */
    float *zero;       /* cin zeros: source row of padding pixels */
};

static void *alloc64(size_t bytes)
{
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

static size_t max_threads(void)
{
#ifdef _OPENMP
    return (size_t)omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int kern_conv_out_dim(int in, int k, int stride, int pad0, int pad1, int dil)
{
    if (in <= 0 || k <= 0 || stride <= 0 || dil <= 0 || pad0 < 0 || pad1 < 0)
        return 0;
    const long long eff = (long long)dil * (k - 1) + 1;
    const long long span = (long long)in + pad0 + pad1 - eff;
    if (span < 0)
        return 0;
    const long long o = span / stride + 1;
    return o > INT_MAX ? 0 : (int)o;
}

void kern_conv_destroy(kern_conv *c)
{
    if (!c)
        return;
    free(c->w);
    free(c->bias);
    free(c->zero);
    free(c);
}

static int choose_path(const kern_conv_geom *g)
{
    const int nopad = g->pt == 0 && g->pl == 0 && g->pb == 0 && g->pr == 0;
    const int nodil = g->dh == 1 && g->dw == 1;
    if (g->kh == 1 && g->kw == 1 && nopad) {
        if (g->sh == 1 && g->sw == 1)
            return PATH_CONV1X1S1;
        if (g->sh == 2 && g->sw == 2)
            return PATH_CONV1X1S2;
    }
    if (g->kh == 3 && g->kw == 3 && nodil) {
        if (g->sh == 1 && g->sw == 1)
            return PATH_CONV3X3S1;
        if (g->sh == 2 && g->sw == 2)
            return PATH_CONV3X3S2;
    }
    return PATH_GENERIC;
}

/* Pack OIHW weights into c->w (layout in the file comment; depthwise:
 * [ks][cout]). */
static void pack_weights(kern_conv *c, const float *w_oihw)
{
    const kern_conv_geom *g = &c->g;
    const int kh = g->kh, kw = g->kw, cout = c->cout, cin_g = c->cin_g, cout_g = c->cout_g;
    const size_t ks = (size_t)c->ks, npanel = c->npanel;
    const size_t NR = (size_t)c->isa->igemm_tile.n;
    if (c->depthwise) {
        /* [ks][cout]: channel innermost, as the dwconv kernel reads it. */
        for (size_t s = 0; s < ks; s++)
            for (int ch = 0; ch < cout; ch++)
                c->w[s * (size_t)cout + (size_t)ch] = w_oihw[(size_t)ch * ks + s];
    } else {
        /* one panel per iteration: repacked at every training step */
        const long np = (long)g->groups * (long)npanel;
#pragma omp parallel for schedule(static) if (np > 1 && c->panel_size * (size_t)np > (1u << 16))
        for (long gp = 0; gp < np; gp++) {
            const int gi = (int)(gp / (long)npanel);
            const size_t p = (size_t)gp % npanel;
            float *dst = c->w + (size_t)gp * c->panel_size;
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                    for (int k = 0; k < cin_g; k++)
                        for (size_t j = 0; j < NR; j++) {
                            const size_t o = p * NR + j;
                            float v = 0.0f;
                            if (o < (size_t)cout_g) {
                                const size_t oc = (size_t)gi * (size_t)cout_g + o;
                                v = w_oihw[((oc * (size_t)cin_g + (size_t)k) * (size_t)kh +
                                            (size_t)ky) * (size_t)kw + (size_t)kx];
                            }
                            *dst++ = v;
                        }
        }
    }
}

mint_status kern_conv_create(kern_conv **out, const kern_isa *isa, int cout, int cin,
                             const kern_conv_geom *g, const float *w_oihw,
                             const float *bias)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "kern_conv_create: out is NULL");
    *out = NULL;
    if (!isa || !g || !w_oihw)
        return mint_fail(MINT_E_ARG, "kern_conv_create: NULL isa, geometry or weights");
    if (cout <= 0 || cin <= 0 || g->kh <= 0 || g->kw <= 0 || g->sh <= 0 || g->sw <= 0 ||
        g->dh <= 0 || g->dw <= 0 || g->groups <= 0)
        return mint_fail(MINT_E_ARG,
                         "conv: dims must be positive (cout %d cin %d k %dx%d s %dx%d d %dx%d groups %d)",
                         cout, cin, g->kh, g->kw, g->sh, g->sw, g->dh, g->dw, g->groups);
    if (g->pt < 0 || g->pl < 0 || g->pb < 0 || g->pr < 0)
        return mint_fail(MINT_E_ARG, "conv: negative padding");
    if (cin % g->groups || cout % g->groups)
        return mint_fail(MINT_E_ARG, "conv: groups %d does not divide cin %d and cout %d",
                         g->groups, cin, cout);
    if (isa->igemm_tile.m <= 0 || isa->igemm_tile.n <= 0 || !isa->igemm || !isa->dwconv)
        return mint_fail(MINT_E_ARG, "conv: incomplete ISA table");

    const size_t NR = (size_t)isa->igemm_tile.n;
    const int cin_g = cin / g->groups, cout_g = cout / g->groups;
    const size_t ks = (size_t)g->kh * (size_t)g->kw; /* both < 2^31: no overflow */
    if (ks > INT_MAX)
        return mint_fail(MINT_E_NOMEM, "conv: kernel %dx%d too large", g->kh, g->kw);
    const size_t npanel = ((size_t)cout_g + NR - 1) / NR;
    const int depthwise = g->groups > 1 && cin_g == 1 && cout_g == 1;

    /* Packed size: groups * npanel * ks * cin_g * NR floats, overflow-checked. */
    size_t total;
    if (depthwise) {
        if (ks > SIZE_MAX / sizeof(float) / (size_t)cout)
            return mint_fail(MINT_E_NOMEM, "conv: weight size overflows");
        total = ks * (size_t)cout;
    } else {
        size_t panel = ks;
        if (panel > SIZE_MAX / (size_t)cin_g)
            return mint_fail(MINT_E_NOMEM, "conv: weight size overflows");
        panel *= (size_t)cin_g;
        if (panel > SIZE_MAX / NR)
            return mint_fail(MINT_E_NOMEM, "conv: weight size overflows");
        panel *= NR;
        const size_t np = npanel * (size_t)g->groups;
        if (panel > SIZE_MAX / sizeof(float) / np)
            return mint_fail(MINT_E_NOMEM, "conv: weight size overflows");
        total = panel * np;
    }

    kern_conv *c = calloc(1, sizeof *c);
    if (!c)
        return mint_fail(MINT_E_NOMEM, "conv: out of memory");
    c->isa = isa;
    c->cout = cout;
    c->cin = cin;
    c->groups = g->groups;
    c->cin_g = cin_g;
    c->cout_g = cout_g;
    c->g = *g;
    c->ks = (int)ks;
    c->depthwise = depthwise;
    c->path = choose_path(g);
    c->npanel = npanel;
    c->panel_size = ks * (size_t)cin_g * NR;
    c->w = alloc64(total * sizeof(float));
    c->zero = alloc64((size_t)cin * sizeof(float));
    if (bias)
        c->bias = malloc((size_t)cout * sizeof(float));
    if (!c->w || !c->zero || (bias && !c->bias)) {
        kern_conv_destroy(c);
        return mint_fail(MINT_E_NOMEM, "conv: out of memory packing %zu weights", total);
    }
    memset(c->zero, 0, (size_t)cin * sizeof(float));
    if (bias)
        memcpy(c->bias, bias, (size_t)cout * sizeof(float));

    pack_weights(c, w_oihw);
    *out = c;
    return MINT_OK;
}

mint_status kern_conv_repack(kern_conv *c, const float *w_oihw, const float *bias)
{
    if (!c || !w_oihw)
        return mint_fail(MINT_E_ARG, "kern_conv_repack: NULL conv or weights");
    if (bias && !c->bias) {
        c->bias = malloc((size_t)c->cout * sizeof(float));
        if (!c->bias)
            return mint_fail(MINT_E_NOMEM, "conv: out of memory (bias)");
    } else if (!bias && c->bias) {
        free(c->bias);
        c->bias = NULL;
    }
    if (bias)
        memcpy(c->bias, bias, (size_t)c->cout * sizeof(float));
    pack_weights(c, w_oihw);
    return MINT_OK;
}

/* ---- indirection ---- */

typedef struct {
    const float *in;   /* NHWC input */
    const float *zero; /* zero row */
    int h, w, cin;
    int oh, ow;
} ind_ctx;

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Pointers of one tile: ind[s*MR + r] = input pixel under tap s of output
 * pixel m0+r (zero row when it falls into padding); rows r >= mr repeat row
 * mr-1. Inlined with constant geometry for the named fast paths. */
static ALWAYS_INLINE void build_ind(const float **ind, size_t MR, size_t m0, size_t mr,
                                    const ind_ctx *x, int kh, int kw, int sh, int sw,
                                    int pt, int pl, int dh, int dw)
{
    const size_t ohw = (size_t)x->oh * (size_t)x->ow;
    const size_t pix = (size_t)x->cin;
    size_t n = m0 / ohw;
    const size_t rem = m0 % ohw;
    int oy = (int)(rem / (size_t)x->ow), ox = (int)(rem % (size_t)x->ow);
    const float *img = x->in + n * (size_t)x->h * (size_t)x->w * pix;
    for (size_t r = 0; r < mr; r++) {
        const int iy0 = oy * sh - pt, ix0 = ox * sw - pl;
        for (int ky = 0; ky < kh; ky++) {
            const int iy = iy0 + ky * dh;
            const int yok = iy >= 0 && iy < x->h;
            const float *row = img + (size_t)(yok ? iy : 0) * (size_t)x->w * pix;
            for (int kx = 0; kx < kw; kx++) {
                const int ix = ix0 + kx * dw;
                ind[(size_t)(ky * kw + kx) * MR + r] =
                    yok && ix >= 0 && ix < x->w ? row + (size_t)ix * pix : x->zero;
            }
        }
        if (++ox == x->ow) {
            ox = 0;
            if (++oy == x->oh) {
                oy = 0;
                img += (size_t)x->h * (size_t)x->w * pix;
            }
        }
    }
    const size_t ks = (size_t)kh * (size_t)kw;
    for (size_t r = mr; r < MR; r++)
        for (size_t s = 0; s < ks; s++)
            ind[s * MR + r] = ind[s * MR + mr - 1];
}

/* conv1x1s1: output pixel m reads input pixel m. */
static void ind_conv1x1s1(const float **ind, size_t MR, size_t m0, size_t mr, const ind_ctx *x)
{
    for (size_t r = 0; r < MR; r++)
        ind[r] = x->in + (m0 + (r < mr ? r : mr - 1)) * (size_t)x->cin;
}

static void ind_conv1x1s2(const float **ind, size_t MR, size_t m0, size_t mr, const ind_ctx *x)
{
    build_ind(ind, MR, m0, mr, x, 1, 1, 2, 2, 0, 0, 1, 1);
}

static void ind_conv3x3s1(const float **ind, size_t MR, size_t m0, size_t mr, const ind_ctx *x,
                          const kern_conv_geom *g)
{
    build_ind(ind, MR, m0, mr, x, 3, 3, 1, 1, g->pt, g->pl, 1, 1);
}

static void ind_conv3x3s2(const float **ind, size_t MR, size_t m0, size_t mr, const ind_ctx *x,
                          const kern_conv_geom *g)
{
    build_ind(ind, MR, m0, mr, x, 3, 3, 2, 2, g->pt, g->pl, 1, 1);
}

static void ind_generic(const float **ind, size_t MR, size_t m0, size_t mr, const ind_ctx *x,
                        const kern_conv_geom *g)
{
    build_ind(ind, MR, m0, mr, x, g->kh, g->kw, g->sh, g->sw, g->pt, g->pl, g->dh, g->dw);
}

static void build_tile(const kern_conv *c, const float **ind, size_t MR, size_t m0, size_t mr,
                       const ind_ctx *x)
{
    switch (c->path) {
    case PATH_CONV1X1S1: ind_conv1x1s1(ind, MR, m0, mr, x); break;
    case PATH_CONV1X1S2: ind_conv1x1s2(ind, MR, m0, mr, x); break;
    case PATH_CONV3X3S1: ind_conv3x3s1(ind, MR, m0, mr, x, &c->g); break;
    case PATH_CONV3X3S2: ind_conv3x3s2(ind, MR, m0, mr, x, &c->g); break;
    default: ind_generic(ind, MR, m0, mr, x, &c->g); break;
    }
}

/* ---- run ---- */

static mint_status run_igemm(const kern_conv *c, const ind_ctx *x, size_t M, float *out,
                             const float *res, const kern_epilogue *ep)
{
    const kern_isa *isa = c->isa;
    const size_t MR = (size_t)isa->igemm_tile.m, NR = (size_t)isa->igemm_tile.n;
    const size_t ks = (size_t)c->ks, cout = (size_t)c->cout;
    const size_t ntiles = (M + MR - 1) / MR;
    const size_t P = (size_t)c->groups * c->npanel;

    /* Panel blocks sized for L2; tile blocks for load balance. */
    size_t pb = WBLOCK_BYTES / (c->panel_size * sizeof(float));
    if (pb < 1)
        pb = 1;
    if (pb > P)
        pb = P;
    const size_t npb = (P + pb - 1) / pb;
    pb = (P + npb - 1) / npb; /* even out the panel blocks */
    const size_t nt = max_threads();
    size_t ntb = (nt * BLOCKS_PER_THREAD + npb - 1) / npb;
    if (nt == 1)
        ntb = 1;
    if (ntb > ntiles)
        ntb = ntiles;
    const size_t tb = (ntiles + ntb - 1) / ntb;
    ntb = (ntiles + tb - 1) / tb;
    const size_t nblocks = npb * ntb;

    /* Per-thread indirection: ks*MR pointers, twice for grouped convs (the
     * second copy holds the group-offset pointers). */
    const size_t per = ks * MR * (c->groups > 1 ? 2 : 1);
    const float **heap = NULL;
    if (per > IND_STACK) {
        const size_t nthr = max_threads();
        if (per > SIZE_MAX / sizeof(*heap) / nthr)
            return mint_fail(MINT_E_NOMEM, "conv: indirection buffer overflows");
        heap = malloc(per * nthr * sizeof(*heap));
        if (!heap)
            return mint_fail(MINT_E_NOMEM, "conv: out of memory (indirection buffer)");
    }

#pragma omp parallel
    {
        const float *ind_stack[IND_STACK];
        const float **ind = heap ? heap + (size_t)thread_id() * per : ind_stack;
        const float **ind_g = ind + ks * MR;
#pragma omp for schedule(static)
        for (long b = 0; b < (long)nblocks; b++) {
            const size_t pbi = (size_t)b / ntb, tbi = (size_t)b % ntb;
            const size_t p0 = pbi * pb, p1 = p0 + pb < P ? p0 + pb : P;
            const size_t t0 = tbi * tb, t1 = t0 + tb < ntiles ? t0 + tb : ntiles;
            for (size_t t = t0; t < t1; t++) {
                const size_t m0 = t * MR;
                const size_t mr = M - m0 < MR ? M - m0 : MR;
                build_tile(c, ind, MR, m0, mr, x);
                size_t cur_g = 0;
                for (size_t gp = p0; gp < p1; gp++) {
                    const size_t gi = gp / c->npanel, p = gp % c->npanel;
                    const float *const *a = ind;
                    if (gi > 0) {
                        if (gi != cur_g) {
                            const size_t off = gi * (size_t)c->cin_g;
                            for (size_t i = 0; i < ks * MR; i++)
                                ind_g[i] = ind[i] + off;
                            cur_g = gi;
                        }
                        a = ind_g;
                    }
                    const size_t col = p * NR;
                    const size_t nc = (size_t)c->cout_g - col < NR ? (size_t)c->cout_g - col : NR;
                    const size_t n0 = gi * (size_t)c->cout_g + col;
                    isa->igemm(mr, nc, (size_t)c->cin_g, ks, a, c->w + gp * c->panel_size,
                               out + m0 * cout + n0, cout, res ? res + m0 * cout + n0 : NULL,
                               cout, ep, n0);
                }
            }
        }
    }
    free(heap);
    return MINT_OK;
}

static mint_status run_depthwise(const kern_conv *c, const ind_ctx *x, int n, float *out,
                                 const float *res, const kern_epilogue *ep)
{
    const kern_isa *isa = c->isa;
    const kern_conv_geom *g = &c->g;
    const size_t ks = (size_t)c->ks, C = (size_t)c->cout;
    const float **heap = NULL;
    if (ks > IND_STACK) {
        const size_t nthr = max_threads();
        if (ks > SIZE_MAX / sizeof(*heap) / nthr)
            return mint_fail(MINT_E_NOMEM, "conv: indirection buffer overflows");
        heap = malloc(ks * nthr * sizeof(*heap));
        if (!heap)
            return mint_fail(MINT_E_NOMEM, "conv: out of memory (indirection buffer)");
    }
    /* The dwconv kernel has no residual input: with one, apply bias in the
     * kernel, then add the residual and the activation per pixel. */
    kern_epilogue ep_k = *ep;
    if (res)
        ep_k.act = KERN_ACT_NONE;
    const long rows = (long)n * x->oh;
#pragma omp parallel
    {
        const float *ind_stack[IND_STACK];
        const float **ind = heap ? heap + (size_t)thread_id() * ks : ind_stack;
#pragma omp for schedule(static)
        for (long row = 0; row < rows; row++) {
            const size_t m0 = (size_t)row * (size_t)x->ow;
            for (int ox = 0; ox < x->ow; ox++) {
                /* One pixel = one "tile" of MR = 1. */
                build_ind(ind, 1, m0 + (size_t)ox, 1, x, g->kh, g->kw, g->sh, g->sw,
                          g->pt, g->pl, g->dh, g->dw);
                float *o = out + (m0 + (size_t)ox) * C;
                isa->dwconv(C, ks, ind, c->w, o, &ep_k);
                if (res) {
                    isa->add(C, o, res + (m0 + (size_t)ox) * C, o);
                    if (ep->act == KERN_ACT_PRELU)
                        isa->prelu(1, C, o, ep->slope, o);
                    else if (ep->act == KERN_ACT_RELU)
                        isa->clip(C, o, 0.0f, INFINITY, o);
                    else if (ep->act == KERN_ACT_CLIP)
                        isa->clip(C, o, ep->lo, ep->hi, o);
                }
            }
        }
    }
    free(heap);
    return MINT_OK;
}

mint_status kern_conv_run(const kern_conv *c, const float *in, int n, int h, int w,
                          float *out, const float *res, int act, const float *slope,
                          float lo, float hi)
{
    if (!c || !in || !out)
        return mint_fail(MINT_E_ARG, "kern_conv_run: NULL conv, input or output");
    if (n <= 0 || h <= 0 || w <= 0)
        return mint_fail(MINT_E_ARG, "kern_conv_run: bad input size %dx%dx%d", n, h, w);
    if (act < KERN_ACT_NONE || act > KERN_ACT_CLIP)
        return mint_fail(MINT_E_ARG, "kern_conv_run: unknown activation %d", act);
    if (act == KERN_ACT_PRELU && !slope)
        return mint_fail(MINT_E_ARG, "kern_conv_run: PRELU needs slopes");
    const kern_conv_geom *g = &c->g;
    const int oh = kern_conv_out_dim(h, g->kh, g->sh, g->pt, g->pb, g->dh);
    const int ow = kern_conv_out_dim(w, g->kw, g->sw, g->pl, g->pr, g->dw);
    if (oh <= 0 || ow <= 0)
        return mint_fail(MINT_E_SHAPE, "conv: %dx%d kernel does not fit a %dx%d input",
                         g->kh, g->kw, h, w);
    /* Element counts of input and output must be addressable. */
    const size_t lim = SIZE_MAX / sizeof(float);
    const size_t in_px = (size_t)h * (size_t)w, out_px = (size_t)oh * (size_t)ow;
    if (in_px > lim / (size_t)n || in_px * (size_t)n > lim / (size_t)c->cin ||
        out_px > lim / (size_t)n || out_px * (size_t)n > lim / (size_t)c->cout)
        return mint_fail(MINT_E_NOMEM, "conv: tensor size overflows");
    const size_t M = out_px * (size_t)n;

    const ind_ctx x = { in, c->zero, h, w, c->cin, oh, ow };
    const kern_epilogue ep = { c->bias, slope, lo, hi, act };
    if (c->depthwise)
        return run_depthwise(c, &x, n, out, res, &ep);
    return run_igemm(c, &x, M, out, res, &ep);
}
