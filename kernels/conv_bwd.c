/* conv_bwd.c - backward of a convolution (NHWC activations, OIHW weights) on
 * the igemm and dwconv microkernels of an ISA table; portable C + OpenMP.
 * Semantics: PyTorch's conv2d backward (torch.nn.grad.conv2d_input /
 * conv2d_weight), groups 1 or depthwise.
 *
 * Input gradient, in the sub-pixel ("phase") form of the transposed conv:
 *   din[iy][ix][ci] = sum_{ky,kx,o} dout[oy][ox][o] * w[o][ci][ky][kx]
 * over the taps whose oy = (iy + pt - ky*dh) / sh is exact and inside dout
 * (likewise ox). Exactness depends only on (iy mod sh, ix mod sw), so the
 * input pixels fall into sh*sw phases, each an ordinary indirect GEMM over
 * its own subset of taps: all 9 taps at stride 1; 1, 2, 2 and 4 taps for
 * 3x3 s2; for the 1x1 s2 shortcut one phase has the tap and three have none
 * (their gradient is zero). Each phase's weights are packed per run into
 * NR-column panels over cin, [tap][cout][NR]; the igemm computes MR input
 * pixels x NR channels with kc = cout, ks = taps, from row pointers into
 * dout (the zero row where a tap falls outside it). No im2col, no col2im:
 * each din element is written once, by one kernel call.
 *
 * Weight gradient: dw[o][ky][kx][ci] = sum_m dout[m][o] * in[pix(m,ky,kx)][ci]
 * over output pixels m: a GEMM with rows o (A = dout^T), columns (tap, ci)
 * (B = im2col of the input) and K = pixels, cut into chunks of mc pixels.
 * Per chunk a thread transposes its dout rows to [cout][mc], packs one
 * NR-column panel of im2col at a time ([mc][NR], L2-sized) and runs the
 * igemm over all rows, accumulating into its own partial sum through the
 * epilogue's residual (res = c). Threads own contiguous chunk ranges; the
 * partials are added in thread order, then into dw (OIHW): an order fixed by
 * the shape and the thread count.
 *
 * Stride 1 (dense, no dilation, on inputs wide enough that the padding
 * costs little): no im2col. The pixels are numbered over the zero-padded
 * input (hp x wp per image, the "padded domain", dout taken as zero at the
 * positions that are not output pixels), so that tap (ky, kx) of every
 * output pixel m is the padded input pixel m + ky*wp + kx: per chunk of mc
 * padded positions a thread transposes the padded input once, with a halo,
 * to [cin][mc + halo] (rows contiguous along the pixels), packs dout into
 * NR-column panels [mc][NR], and for each tap runs the igemm with rows ci
 * (A = the transposed input, shifted by the tap's offset), columns o and
 * K = the chunk, into its partial [tap][ci][cout]. The copies are cin + cout
 * floats per pixel instead of cout + ks*cin.
 *
 * Depthwise (groups == cin == cout): the same phase form with the dwconv
 * kernel for din (weights [tap][C] per phase), and dw per tap as one dwconv
 * over a chunk of pixels (ks = mc, "weights" = the chunk's dout rows), added
 * into the thread's partial with the add kernel. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Largest igemm tile the scratch layout supports. */
#define MR_MAX 16
#define NR_MAX 64
/* din: packed weights of one block of panels should stay in L2. */
#define WBLOCK_BYTES (512u * 1024u)
/* dw: bytes of one packed im2col panel ([mc][NR]) and of dout^T ([cout][mc]). */
#define BPANEL_BYTES (128u * 1024u)
#define DOUTT_BYTES (512u * 1024u)
/* Most threads whose partial sums are reduced (more: capped at create). */
#define REDUCE_MAX 256

typedef struct {
    int py, px;  /* first input row / column of the phase */
    int nh, nw;  /* its rows / columns */
    int nt, t0;  /* its taps: tky/tkx[t0 .. t0+nt) */
    size_t woff; /* its packed din weights, floats into wp */
} bwd_phase;

struct kern_conv_bwd {
    const kern_isa *isa;
    int cout, cin, depthwise;
    kern_conv_geom g;
    int n_max, h, w, oh, ow, ks;
    size_t MR, NR;
    int nph;
    bwd_phase *ph;
    int *tky, *tkx; /* taps of every phase, phase after phase (ks in all) */
    int *tdy, *tdx; /* their dout offsets: oy = j + tdy[t] for input row py + sh*j */
    size_t npin;    /* NR panels over cin (din) */
    float *wp;      /* din weights, packed per phase at each run */
    float *zero;    /* max(cin, cout) zeros: the row of out-of-range pixels */
    size_t mc;      /* pixels per dw chunk */
    int s1;         /* dw in the stride-1 padded-domain form */
    int hp, wpd;    /* s1: padded input size */
    size_t halo, ldt, npo; /* s1: largest tap offset, row stride of the transposed input,
                              NR panels over cout */
    size_t kp, npk; /* dw columns (ks * cin) and their NR panels */
    int nthr;       /* threads the scratch is sized for */
    size_t s_tile, s_dt, s_bp, s_acc, s_db, per; /* scratch floats per thread */
    float *scratch;
    size_t ind_per;
    const float **ind;
};

typedef struct {
    float *tile, *dt, *bp, *acc, *db;
} bwd_scr;

static void *alloc64(size_t bytes)
{
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
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

static int team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static inline size_t min_z(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t up16(size_t a) { return (a + 15) / 16 * 16; }

/* a*b into *r; 0 on overflow. */
static int mul_ok(size_t a, size_t b, size_t *r)
{
    if (a && b > SIZE_MAX / a)
        return 0;
    *r = a * b;
    return 1;
}

static bwd_scr scratch_of(const kern_conv_bwd *p, int tid)
{
    float *s = p->scratch + (size_t)tid * p->per;
    bwd_scr r;
    r.tile = s;
    r.dt = r.tile + p->s_tile;
    r.bp = r.dt + p->s_dt;
    r.acc = r.bp + p->s_bp;
    r.db = r.acc + p->s_acc;
    return r;
}

void kern_conv_bwd_destroy(kern_conv_bwd *p)
{
    if (!p)
        return;
    free(p->ph);
    free(p->tky);
    free(p->tkx);
    free(p->tdy);
    free(p->tdx);
    free(p->wp);
    free(p->zero);
    free(p->scratch);
    free(p->ind);
    free(p);
}

static int pmod(int a, int m) { return ((a % m) + m) % m; }

/* Phases (see the file comment) and their taps; packed din weight offsets. */
static mint_status setup_phases(kern_conv_bwd *p)
{
    const kern_conv_geom *g = &p->g;
    p->nph = g->sh * g->sw;
    p->ph = calloc((size_t)p->nph, sizeof *p->ph);
    p->tky = malloc((size_t)p->ks * sizeof(int));
    p->tkx = malloc((size_t)p->ks * sizeof(int));
    p->tdy = malloc((size_t)p->ks * sizeof(int));
    p->tdx = malloc((size_t)p->ks * sizeof(int));
    if (!p->ph || !p->tky || !p->tkx || !p->tdy || !p->tdx)
        return mint_fail(MINT_E_NOMEM, "conv backward: out of memory (phases)");
    /* floats of packed weights per tap */
    const size_t per_tap = p->depthwise ? (size_t)p->cout : (size_t)p->cout * p->npin * p->NR;
    int t = 0;
    size_t woff = 0;
    for (int py = 0; py < g->sh; py++)
        for (int px = 0; px < g->sw; px++) {
            bwd_phase *f = &p->ph[py * g->sw + px];
            f->py = py;
            f->px = px;
            f->nh = py < p->h ? (p->h - py + g->sh - 1) / g->sh : 0;
            f->nw = px < p->w ? (p->w - px + g->sw - 1) / g->sw : 0;
            f->t0 = t;
            for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++)
                    if (pmod(py + g->pt - ky * g->dh, g->sh) == 0 &&
                        pmod(px + g->pl - kx * g->dw, g->sw) == 0) {
                        p->tky[t] = ky;
                        p->tkx[t] = kx;
                        /* exact: the phase is where these divide */
                        p->tdy[t] = (py + g->pt - ky * g->dh) / g->sh;
                        p->tdx[t] = (px + g->pl - kx * g->dw) / g->sw;
                        t++;
                    }
            f->nt = t - f->t0;
            f->woff = woff;
            woff += (size_t)f->nt * per_tap;
        }
    return MINT_OK;
}

static mint_status check_args(const kern_isa *isa, int cout, int cin, const kern_conv_geom *g,
                              int n_max, int h, int w)
{
    if (!isa || !g)
        return mint_fail(MINT_E_ARG, "kern_conv_bwd_create: NULL isa or geometry");
    if (cout <= 0 || cin <= 0 || g->kh <= 0 || g->kw <= 0 || g->sh <= 0 || g->sw <= 0 ||
        g->dh <= 0 || g->dw <= 0 || g->groups <= 0 || n_max <= 0 || h <= 0 || w <= 0)
        return mint_fail(MINT_E_ARG,
                         "conv backward: dims must be positive (cout %d cin %d k %dx%d s %dx%d "
                         "d %dx%d groups %d n %d input %dx%d)", cout, cin, g->kh, g->kw, g->sh,
                         g->sw, g->dh, g->dw, g->groups, n_max, h, w);
    if (g->pt < 0 || g->pl < 0 || g->pb < 0 || g->pr < 0)
        return mint_fail(MINT_E_ARG, "conv backward: negative padding");
    if (g->groups != 1 && !(g->groups == cin && g->groups == cout))
        return mint_fail(MINT_E_UNSUPPORTED,
                         "conv backward: groups %d (cin %d, cout %d): only 1 or depthwise",
                         g->groups, cin, cout);
    if (!isa->igemm || !isa->dwconv || !isa->add || isa->igemm_tile.m <= 0 ||
        isa->igemm_tile.n <= 0 || isa->igemm_tile.m > MR_MAX || isa->igemm_tile.n > NR_MAX)
        return mint_fail(MINT_E_ARG, "conv backward: unsupported ISA table");
    if (g->kh > 1024 || g->kw > 1024 || g->sh > 1024 || g->sw > 1024)
        return mint_fail(MINT_E_UNSUPPORTED, "conv backward: kernel %dx%d stride %dx%d too large",
                         g->kh, g->kw, g->sh, g->sw);
    return MINT_OK;
}

/* Scratch sizes (floats) and allocation. */
static mint_status alloc_scratch(kern_conv_bwd *p)
{
    const size_t C = (size_t)p->cout, ks = (size_t)p->ks;
    const size_t M = (size_t)p->n_max * (size_t)p->oh * (size_t)p->ow;
    size_t mc = BPANEL_BYTES / sizeof(float) / p->NR;
    mc = min_z(mc, DOUTT_BYTES / sizeof(float) / C);
    mc = mc < 16 ? 16 : mc / 4 * 4;
    p->mc = min_z(mc, M);
    size_t wfl = 0, acc = 0, per = 0;
    int ok = mul_ok(ks, (size_t)p->cin, &p->kp);
    p->npk = ok ? (p->kp + p->NR - 1) / p->NR : 0;
    if (p->depthwise)
        ok = ok && mul_ok(ks, C, &wfl) && mul_ok(ks, C, &acc);
    else
        ok = ok && mul_ok(ks * C, p->npin * p->NR, &wfl) && mul_ok(C, p->kp, &acc);
    p->s_tile = up16(p->MR * p->NR);
    p->s_dt = p->depthwise ? up16(C) : up16(C * p->mc);
    p->s_bp = p->depthwise ? 0 : up16(p->mc * p->NR);
    const kern_conv_geom *g = &p->g;
    p->hp = p->oh + g->kh - 1;
    p->wpd = p->ow + g->kw - 1;
    /* the padded domain costs (hp*wp)/(oh*ow) - 1 extra work: at most 20% */
    p->s1 = ok && !p->depthwise && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
            p->ks > 1 && (double)p->hp * p->wpd <= 1.2 * (double)p->oh * p->ow;
    if (p->s1) {
        p->npo = (C + p->NR - 1) / p->NR;
        size_t m1 = (256u * 1024u) / (p->npo * p->NR); /* dout panels: 1 MB of L2 */
        m1 = m1 > 512 ? 512 : m1 < 16 ? 16 : m1 / 4 * 4;
        p->mc = m1;
        p->halo = (size_t)(g->kh - 1) * (size_t)p->wpd + (size_t)(g->kw - 1);
        p->ldt = (p->mc + p->halo + 3) / 4 * 4;
        size_t t1, b1;
        ok = mul_ok((size_t)p->cin, p->ldt, &t1) && mul_ok(p->npo * p->NR, p->mc, &b1);
        p->s_dt = ok && up16(t1) > p->s_dt ? up16(t1) : p->s_dt;
        p->s_bp = ok && up16(b1) > p->s_bp ? up16(b1) : p->s_bp;
    }
    p->s_acc = up16(acc);
    p->s_db = up16(C);
    ok = ok && acc < SIZE_MAX / 4 && wfl < SIZE_MAX / 8;
    if (ok) {
        per = p->s_tile + p->s_dt + p->s_bp + p->s_acc + p->s_db;
        ok = mul_ok(per, (size_t)p->nthr, &per) && per < SIZE_MAX / sizeof(float);
    }
    if (!ok)
        return mint_fail(MINT_E_NOMEM, "conv backward: scratch size overflows");
    p->per = per / (size_t)p->nthr;
    /* din: ks*MR tile pointers (+ ks packed for dwconv); dw depthwise: mc */
    p->ind_per = ks * p->MR + ks > p->mc ? ks * p->MR + ks : p->mc;
    const size_t zero = (size_t)(p->cin > p->cout ? p->cin : p->cout);
    p->wp = alloc64(wfl * sizeof(float));
    p->zero = alloc64(zero * sizeof(float));
    p->scratch = alloc64(per * sizeof(float));
    p->ind = malloc(p->ind_per * (size_t)p->nthr * sizeof(*p->ind));
    if (!p->wp || !p->zero || !p->scratch || !p->ind)
        return mint_fail(MINT_E_NOMEM, "conv backward: out of memory (%zu floats of scratch)",
                         per + wfl);
    memset(p->zero, 0, zero * sizeof(float));
    return MINT_OK;
}

mint_status kern_conv_bwd_create(kern_conv_bwd **out, const kern_isa *isa, int cout, int cin,
                                 const kern_conv_geom *g, int n_max, int h, int w)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "kern_conv_bwd_create: out is NULL");
    *out = NULL;
    mint_status st = check_args(isa, cout, cin, g, n_max, h, w);
    if (st != MINT_OK)
        return st;
    const int oh = kern_conv_out_dim(h, g->kh, g->sh, g->pt, g->pb, g->dh);
    const int ow = kern_conv_out_dim(w, g->kw, g->sw, g->pl, g->pr, g->dw);
    if (oh <= 0 || ow <= 0)
        return mint_fail(MINT_E_SHAPE, "conv backward: %dx%d kernel does not fit a %dx%d input",
                         g->kh, g->kw, h, w);
    const size_t lim = SIZE_MAX / sizeof(float) / 2;
    if ((size_t)h * (size_t)w > lim / (size_t)n_max / (size_t)cin ||
        (size_t)oh * (size_t)ow > lim / (size_t)n_max / (size_t)cout)
        return mint_fail(MINT_E_NOMEM, "conv backward: tensor size overflows");
    kern_conv_bwd *p = calloc(1, sizeof *p);
    if (!p)
        return mint_fail(MINT_E_NOMEM, "conv backward: out of memory");
    p->isa = isa;
    p->cout = cout;
    p->cin = cin;
    p->depthwise = g->groups > 1;
    p->g = *g;
    p->n_max = n_max;
    p->h = h;
    p->w = w;
    p->oh = oh;
    p->ow = ow;
    p->ks = g->kh * g->kw;
    p->MR = (size_t)isa->igemm_tile.m;
    p->NR = (size_t)isa->igemm_tile.n;
    p->npin = ((size_t)cin + p->NR - 1) / p->NR;
    p->nthr = max_threads();
    p->nthr = p->nthr > REDUCE_MAX ? REDUCE_MAX : p->nthr;
    st = setup_phases(p);
    if (st == MINT_OK)
        st = alloc_scratch(p);
    if (st != MINT_OK) {
        kern_conv_bwd_destroy(p);
        return st;
    }
    *out = p;
    return MINT_OK;
}

/* ---- input gradient ---- */

/* Packs each phase's weights for din: dense [panel][tap][cout][NR] (zero
 * past cin), depthwise [tap][C]. */
static void pack_din_weights(kern_conv_bwd *p, const float *w)
{
    const size_t C = (size_t)p->cout, cin = (size_t)p->cin, NR = p->NR;
    const size_t kh = (size_t)p->g.kh, kw = (size_t)p->g.kw, ks = (size_t)p->ks;
    for (int fi = 0; fi < p->nph; fi++) {
        const bwd_phase *f = &p->ph[fi];
        const size_t nt = (size_t)f->nt;
        if (p->depthwise) {
            for (size_t t = 0; t < nt; t++) {
                const size_t s = (size_t)p->tky[f->t0 + (int)t] * kw + (size_t)p->tkx[f->t0 + (int)t];
                for (size_t c = 0; c < C; c++)
                    p->wp[f->woff + t * C + c] = w[c * ks + s];
            }
            continue;
        }
        const long np = (long)p->npin;
#pragma omp parallel for schedule(static) if (np > 1 && nt * C * cin > (1u << 16))
        for (long q = 0; q < np; q++) {
            float *dst = p->wp + f->woff + (size_t)q * nt * C * NR;
            for (size_t t = 0; t < nt; t++) {
                const size_t ky = (size_t)p->tky[f->t0 + (int)t], kx = (size_t)p->tkx[f->t0 + (int)t];
                for (size_t o = 0; o < C; o++)
                    for (size_t j = 0; j < NR; j++) {
                        const size_t ci = (size_t)q * NR + j;
                        *dst++ = ci < cin ? w[((o * cin + ci) * kh + ky) * kw + kx] : 0.0f;
                    }
            }
        }
    }
}

/* Row pointers of one din tile of phase f (pixels m0 .. m0+mr of the
 * phase, flattened over n, rows, columns): ind[t*MR + r] = the dout pixel
 * under tap t of that input pixel, or the zero row; rows[r] = its din row.
 * Rows r >= mr repeat row mr-1. */
static void din_tile_ind(const kern_conv_bwd *p, const bwd_phase *f, size_t m0, size_t mr,
                         const float *dout, float *din, const float **ind, float **rows)
{
    const kern_conv_geom *g = &p->g;
    const size_t MR = p->MR, plane = (size_t)f->nh * (size_t)f->nw, C = (size_t)p->cout;
    const int *dy = p->tdy + f->t0, *dx = p->tdx + f->t0;
    size_t b = m0 / plane;
    const size_t rem = m0 % plane;
    int j = (int)(rem / (size_t)f->nw), i = (int)(rem % (size_t)f->nw);
    for (size_t r = 0; r < mr; r++) {
        const int iy = f->py + g->sh * j, ix = f->px + g->sw * i;
        rows[r] = din + ((b * (size_t)p->h + (size_t)iy) * (size_t)p->w + (size_t)ix) * (size_t)p->cin;
        const float *img = dout + b * (size_t)p->oh * (size_t)p->ow * C;
        for (int t = 0; t < f->nt; t++) {
            const int oy = j + dy[t], ox = i + dx[t];
            ind[(size_t)t * MR + r] = oy >= 0 && ox >= 0 && oy < p->oh && ox < p->ow
                                          ? img + ((size_t)oy * (size_t)p->ow + (size_t)ox) * C
                                          : p->zero;
        }
        if (++i == f->nw) {
            i = 0;
            if (++j == f->nh) {
                j = 0;
                b++;
            }
        }
    }
    for (size_t r = mr; r < MR; r++) {
        rows[r] = rows[mr - 1];
        for (int t = 0; t < f->nt; t++)
            ind[(size_t)t * MR + r] = ind[(size_t)t * MR + mr - 1];
    }
}

/* One din tile over panels q0..q1 of phase f: straight into din when its
 * rows are evenly spaced (always at stride 1), else through a tile buffer. */
static void din_tile(const kern_conv_bwd *p, const bwd_phase *f, size_t mr, const float **ind,
                     float **rows, size_t q0, size_t q1, float *tile)
{
    const size_t NR = p->NR, cin = (size_t)p->cin, C = (size_t)p->cout;
    const ptrdiff_t ld = mr > 1 ? rows[1] - rows[0] : (ptrdiff_t)cin;
    int even = ld > 0;
    for (size_t r = 2; r < mr && even; r++)
        even = rows[r] - rows[0] == (ptrdiff_t)r * ld;
    const float *wph = p->wp + f->woff;
    const size_t panel = (size_t)f->nt * C * NR;
    for (size_t q = q0; q < q1; q++) {
        const size_t col = q * NR, nc = min_z(cin - col, NR);
        if (even) {
            p->isa->igemm(mr, nc, C, (size_t)f->nt, ind, wph + q * panel, rows[0] + col,
                          (size_t)ld, NULL, 0, NULL, col);
        } else {
            p->isa->igemm(mr, nc, C, (size_t)f->nt, ind, wph + q * panel, tile, NR, NULL, 0,
                          NULL, col);
            for (size_t r = 0; r < mr; r++)
                memcpy(rows[r] + col, tile + r * NR, nc * sizeof(float));
        }
    }
}

/* Dense din of one phase: blocks of (panel range x tile range) as in
 * conv.c, panel-block-major so that large weights stay in L2 per block. */
static void din_phase(const kern_conv_bwd *p, const bwd_phase *f, int n, const float *dout,
                      float *din, int nthr)
{
    const size_t MR = p->MR, M = (size_t)n * (size_t)f->nh * (size_t)f->nw;
    const size_t ntiles = (M + MR - 1) / MR, P = p->npin;
    size_t pb = WBLOCK_BYTES / ((size_t)f->nt * (size_t)p->cout * p->NR * sizeof(float));
    pb = pb < 1 ? 1 : pb > P ? P : pb;
    const size_t npb = (P + pb - 1) / pb;
    pb = (P + npb - 1) / npb;
    size_t ntb = nthr == 1 ? 1 : ((size_t)nthr * 4 + npb - 1) / npb;
    ntb = ntb > ntiles ? ntiles : ntb;
    const size_t tb = (ntiles + ntb - 1) / ntb;
    ntb = (ntiles + tb - 1) / tb;
    const long nblocks = (long)(npb * ntb);
    const int tid = thread_id();
    const float **ind = p->ind + (size_t)tid * p->ind_per;
    float *tile = scratch_of(p, tid).tile;
    float *rows[MR_MAX];
#pragma omp for schedule(static) nowait
    for (long bi = 0; bi < nblocks; bi++) {
        const size_t q0 = (size_t)bi / ntb * pb, q1 = min_z(q0 + pb, P);
        const size_t t0 = (size_t)bi % ntb * tb, t1 = min_z(t0 + tb, ntiles);
        for (size_t t = t0; t < t1; t++) {
            const size_t m0 = t * MR, mr = min_z(M - m0, MR);
            din_tile_ind(p, f, m0, mr, dout, din, ind, rows);
            din_tile(p, f, mr, ind, rows, q0, q1, tile);
        }
    }
}

/* Depthwise din of one phase: one dwconv per input pixel (ks = the phase's
 * taps; none: zeros). */
static void din_phase_dw(const kern_conv_bwd *p, const bwd_phase *f, int n, const float *dout,
                         float *din)
{
    const size_t M = (size_t)n * (size_t)f->nh * (size_t)f->nw;
    const float **ind = p->ind + (size_t)thread_id() * p->ind_per;
    float *rows[MR_MAX];
    const float **tind = ind + (size_t)p->ks * p->MR; /* the taps of row 0, packed */
#pragma omp for schedule(static) nowait
    for (long m = 0; m < (long)M; m++) {
        /* one-row tile with MR stride: reuse the dense builder */
        din_tile_ind(p, f, (size_t)m, 1, dout, din, ind, rows);
        for (int t = 0; t < f->nt; t++)
            tind[t] = ind[(size_t)t * p->MR];
        p->isa->dwconv((size_t)p->cout, (size_t)f->nt, tind, p->wp + f->woff, rows[0], NULL);
    }
}

/* A phase no tap reaches (e.g. odd rows under a 1x1 s2 conv): zero. */
static void din_phase_zero(const kern_conv_bwd *p, const bwd_phase *f, int n, float *din)
{
    const size_t cin = (size_t)p->cin, plane = (size_t)f->nh * (size_t)f->nw;
    const size_t M = (size_t)n * plane;
#pragma omp for schedule(static) nowait
    for (long m = 0; m < (long)M; m++) {
        const size_t b = (size_t)m / plane, rem = (size_t)m % plane;
        const size_t iy = (size_t)f->py + (size_t)p->g.sh * (rem / (size_t)f->nw);
        const size_t ix = (size_t)f->px + (size_t)p->g.sw * (rem % (size_t)f->nw);
        memset(din + ((b * (size_t)p->h + iy) * (size_t)p->w + ix) * cin, 0, cin * sizeof(float));
    }
}

static void run_din(const kern_conv_bwd *p, int n, const float *dout, float *din, int nthr)
{
    (void)nthr; /* OMP=0 */
#pragma omp parallel num_threads(nthr)
    for (int fi = 0; fi < p->nph; fi++) {
        const bwd_phase *f = &p->ph[fi];
        if (f->nh == 0 || f->nw == 0)
            continue;
        if (f->nt == 0)
            din_phase_zero(p, f, n, din);
        else if (p->depthwise)
            din_phase_dw(p, f, n, dout, din);
        else
            din_phase(p, f, n, dout, din, team_size());
    }
}

/* ---- weight and bias gradients ---- */

/* dt[o][m] = dout[m0+m][o] for m < mcur (dout^T of one chunk), four
 * pixels at a time: 16-byte writes, four read streams. */
static void transpose_chunk(float *dt, const float *dout, size_t cout, size_t mcur)
{
    size_t m = 0;
    for (; m + 4 <= mcur; m += 4) {
        const float *s0 = dout + m * cout, *s1 = s0 + cout, *s2 = s1 + cout, *s3 = s2 + cout;
        float *d = dt + m;
        for (size_t o = 0; o < cout; o++, d += mcur) {
            d[0] = s0[o];
            d[1] = s1[o];
            d[2] = s2[o];
            d[3] = s3[o];
        }
    }
    for (; m < mcur; m++)
        for (size_t o = 0; o < cout; o++)
            dt[o * mcur + m] = dout[m * cout + o];
}

/* dst[0..n) = src[0..n): a whole 64- or 16-float row as a fixed-size
 * copy (inlined: no libc call per packed row). */
static inline void copy_floats(float *dst, const float *src, size_t n)
{
    if (n == 64)
        memcpy(dst, src, 64 * sizeof(float));
    else if (n == 16)
        memcpy(dst, src, 16 * sizeof(float));
    else
        memcpy(dst, src, n * sizeof(float));
}

/* Packs columns q*NR .. q*NR+NR of the im2col matrix of output pixels
 * m0 .. m0+mcur into bp [mcur][NR] (column = tap * cin + ci, zero past ks*cin
 * and in the padding). */
static void pack_im2col(const kern_conv_bwd *p, const float *in, size_t m0, size_t mcur,
                        size_t q, float *bp)
{
    const kern_conv_geom *g = &p->g;
    const size_t NR = p->NR, cin = (size_t)p->cin, col0 = q * NR;
    const size_t nc = min_z(p->kp - col0, NR);
    /* segments of the panel: one per tap it touches */
    int seg_ky[NR_MAX], seg_kx[NR_MAX];
    size_t seg_ci[NR_MAX], seg_j[NR_MAX], seg_len[NR_MAX], nseg = 0;
    for (size_t j = 0; j < nc;) {
        const size_t col = col0 + j, s = col / cin, ci = col % cin;
        const size_t len = min_z(cin - ci, nc - j);
        seg_ky[nseg] = (int)s / g->kw;
        seg_kx[nseg] = (int)s % g->kw;
        seg_ci[nseg] = ci;
        seg_j[nseg] = j;
        seg_len[nseg++] = len;
        j += len;
    }
    const size_t plane = (size_t)p->oh * (size_t)p->ow;
    size_t b = m0 / plane, rem = m0 % plane;
    int oy = (int)(rem / (size_t)p->ow), ox = (int)(rem % (size_t)p->ow);
    for (size_t m = 0; m < mcur; m++) {
        float *d = bp + m * NR;
        const float *img = in + b * (size_t)p->h * (size_t)p->w * cin;
        const int iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
        for (size_t k = 0; k < nseg; k++) {
            const int iy = iy0 + seg_ky[k] * g->dh, ix = ix0 + seg_kx[k] * g->dw;
            const float *src = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                                   ? img + ((size_t)iy * (size_t)p->w + (size_t)ix) * cin + seg_ci[k]
                                   : p->zero;
            copy_floats(d + seg_j[k], src, seg_len[k]);
        }
        for (size_t j = nc; j < NR; j++)
            d[j] = 0.0f;
        if (++ox == p->ow) {
            ox = 0;
            if (++oy == p->oh) {
                oy = 0;
                b++;
            }
        }
    }
}

/* Prefetch rows x cols floats at c (row stride ld) for writing. */
static inline void prefetch_rows(const float *c, size_t rows, size_t ld, size_t cols)
{
#if defined(__GNUC__)
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j += 16)
            __builtin_prefetch(c + r * ld + j, 1, 3);
#else
    (void)c; (void)rows; (void)ld; (void)cols;
#endif
}

/* One chunk of the dense weight gradient into the thread's partial acc
 * [cout][ks*cin] (first: overwrite, else accumulate through the residual). */
static void dw_chunk(const kern_conv_bwd *p, const float *in, const float *dout, size_t m0,
                     size_t mcur, const bwd_scr *s, int first)
{
    const size_t C = (size_t)p->cout, MR = p->MR, NR = p->NR, kp = p->kp;
    transpose_chunk(s->dt, dout + m0 * C, C, mcur);
    const float *a[MR_MAX];
    for (size_t q = 0; q < p->npk; q++) {
        pack_im2col(p, in, m0, mcur, q, s->bp);
        const size_t col = q * NR, nc = min_z(kp - col, NR);
        for (size_t o0 = 0; o0 < C; o0 += MR) {
            const size_t mr = min_z(C - o0, MR);
            for (size_t r = 0; r < MR; r++)
                a[r] = s->dt + (o0 + (r < mr ? r : mr - 1)) * mcur;
            float *c = s->acc + o0 * kp + col;
            if (!first && o0 + MR < C) /* the next tile's partial sums (large: not in cache) */
                prefetch_rows(c + MR * kp, min_z(C - o0 - MR, MR), kp, nc);
            p->isa->igemm(mr, nc, mcur, 1, a, s->bp, c, kp, first ? NULL : c, kp, NULL, col);
        }
    }
}

/* One chunk of the depthwise weight gradient: acc[tap][C]. */
static void dw_chunk_dw(const kern_conv_bwd *p, const float *in, const float *dout, size_t m0,
                        size_t mcur, const bwd_scr *s, const float **ind, int first)
{
    const kern_conv_geom *g = &p->g;
    const size_t C = (size_t)p->cout, plane = (size_t)p->oh * (size_t)p->ow;
    for (int t = 0; t < p->ks; t++) {
        const int ky = t / g->kw, kx = t % g->kw;
        size_t b = m0 / plane, rem = m0 % plane;
        int oy = (int)(rem / (size_t)p->ow), ox = (int)(rem % (size_t)p->ow);
        for (size_t m = 0; m < mcur; m++) {
            const int iy = oy * g->sh - g->pt + ky * g->dh, ix = ox * g->sw - g->pl + kx * g->dw;
            ind[m] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                         ? in + ((b * (size_t)p->h + (size_t)iy) * (size_t)p->w + (size_t)ix) * C
                         : p->zero;
            if (++ox == p->ow) {
                ox = 0;
                if (++oy == p->oh) {
                    oy = 0;
                    b++;
                }
            }
        }
        float *acc = s->acc + (size_t)t * C;
        if (first) {
            p->isa->dwconv(C, mcur, ind, dout + m0 * C, acc, NULL);
        } else {
            p->isa->dwconv(C, mcur, ind, dout + m0 * C, s->dt, NULL);
            p->isa->add(C, acc, s->dt, acc);
        }
    }
}

/* s1: T[ci][j] = padded input at position m0 + j for j < mcur + halo
 * (zero in the padding and past the batch), four positions at a time. */
static void s1_transpose(const kern_conv_bwd *p, const float *in, int n, size_t m0, size_t mcur,
                         float *T)
{
    const size_t cin = (size_t)p->cin, ld = p->ldt, tj = mcur + p->halo;
    const size_t plane = (size_t)p->hp * (size_t)p->wpd;
    size_t b = m0 / plane, rem = m0 % plane;
    int y = (int)(rem / (size_t)p->wpd), x = (int)(rem % (size_t)p->wpd);
    for (size_t j = 0; j < tj; j += 4) {
        const float *src[4];
        for (int k = 0; k < 4; k++) {
            const int iy = y - p->g.pt, ix = x - p->g.pl;
            src[k] = j + (size_t)k < tj && b < (size_t)n && iy >= 0 && iy < p->h && ix >= 0 &&
                             ix < p->w
                         ? in + ((b * (size_t)p->h + (size_t)iy) * (size_t)p->w + (size_t)ix) * cin
                         : p->zero;
            if (++x == p->wpd) {
                x = 0;
                if (++y == p->hp) {
                    y = 0;
                    b++;
                }
            }
        }
        float *d = T + j;
        for (size_t ci = 0; ci < cin; ci++, d += ld) {
            d[0] = src[0][ci];
            d[1] = src[1][ci];
            d[2] = src[2][ci];
            d[3] = src[3][ci];
        }
    }
}

/* s1: dout at padded positions m0 .. m0+mcur into NR-column panels
 * bp [npo][mc][NR] (zero where no output pixel is, and past cout); the
 * output pixels' rows are added into db (NULL: skip). */
static void s1_pack_dout(const kern_conv_bwd *p, const float *dout, size_t m0, size_t mcur,
                         float *bp, float *db)
{
    const size_t C = (size_t)p->cout, NR = p->NR, plane = (size_t)p->hp * (size_t)p->wpd;
    size_t b = m0 / plane, rem = m0 % plane;
    int y = (int)(rem / (size_t)p->wpd), x = (int)(rem % (size_t)p->wpd);
    for (size_t j = 0; j < mcur; j++) {
        const int ok = y < p->oh && x < p->ow;
        const float *src = ok ? dout + ((b * (size_t)p->oh + (size_t)y) * (size_t)p->ow + (size_t)x) * C
                              : p->zero;
        if (ok && db)
            for (size_t o = 0; o < C; o++)
                db[o] += src[o];
        for (size_t q = 0; q < p->npo; q++) {
            float *d = bp + (q * p->mc + j) * NR;
            const size_t nc = min_z(C - q * NR, NR);
            copy_floats(d, src + q * NR, nc);
            for (size_t k = nc; k < NR; k++)
                d[k] = 0.0f;
        }
        if (++x == p->wpd) {
            x = 0;
            if (++y == p->hp) {
                y = 0;
                b++;
            }
        }
    }
}

/* s1: one chunk of padded positions into the thread's partial acc
 * [tap][cin][cout] (first: overwrite, else accumulate through the residual). */
static void dw_chunk_s1(const kern_conv_bwd *p, const float *in, int n, const float *dout,
                        size_t m0, size_t mcur, const bwd_scr *s, int first, float *db)
{
    const size_t C = (size_t)p->cout, cin = (size_t)p->cin, MR = p->MR, NR = p->NR;
    s1_transpose(p, in, n, m0, mcur, s->dt);
    s1_pack_dout(p, dout, m0, mcur, s->bp, db);
    const float *a[MR_MAX];
    for (size_t c0 = 0; c0 < cin; c0 += MR) {
        const size_t mr = min_z(cin - c0, MR);
        for (int t = 0; t < p->ks; t++) {
            const size_t off = (size_t)(t / p->g.kw) * (size_t)p->wpd + (size_t)(t % p->g.kw);
            for (size_t r = 0; r < MR; r++)
                a[r] = s->dt + (c0 + (r < mr ? r : mr - 1)) * p->ldt + off;
            for (size_t q = 0; q < p->npo; q++) {
                float *c = s->acc + ((size_t)t * cin + c0) * C + q * NR;
                p->isa->igemm(mr, min_z(C - q * NR, NR), mcur, 1, a, s->bp + q * p->mc * NR, c, C,
                              first ? NULL : c, C, NULL, q * NR);
            }
        }
    }
}

/* Adds the threads' partials parts[0..np) (in thread order) into dw (OIHW)
 * and db (all T threads' db partials). */
static void dw_reduce(const kern_conv_bwd *p, const float *const *parts, int np, int T,
                      float *dw, float *db, int s1)
{
    const size_t C = (size_t)p->cout, ks = (size_t)p->ks;
    if (dw && s1) {
        const size_t cin = (size_t)p->cin;
#pragma omp for schedule(static)
        for (long o = 0; o < (long)C; o++)
            for (size_t ci = 0; ci < cin; ci++)
                for (size_t s = 0; s < ks; s++) {
                    const size_t at = (s * cin + ci) * C + (size_t)o; /* acc [tap][ci][o] */
                    float sum = parts[0][at];
                    for (int t = 1; t < np; t++)
                        sum += parts[t][at];
                    dw[((size_t)o * cin + ci) * ks + s] += sum;
                }
    } else if (dw && p->depthwise) {
#pragma omp for schedule(static)
        for (long o = 0; o < (long)C; o++)
            for (size_t s = 0; s < ks; s++) {
                float sum = parts[0][s * C + (size_t)o]; /* acc [tap][C] */
                for (int t = 1; t < np; t++)
                    sum += parts[t][s * C + (size_t)o];
                dw[(size_t)o * ks + s] += sum;
            }
    } else if (dw) {
        const size_t cin = (size_t)p->cin;
#pragma omp for schedule(static)
        for (long o = 0; o < (long)C; o++)
            for (size_t s = 0; s < ks; s++) {
                const size_t base = ((size_t)o * ks + s) * cin; /* acc [o][tap][ci] */
                float *d = dw + (size_t)o * cin * ks + s;
                for (size_t ci = 0; ci < cin; ci++) {
                    float sum = parts[0][base + ci];
                    for (int t = 1; t < np; t++)
                        sum += parts[t][base + ci];
                    d[ci * ks] += sum;
                }
            }
    }
    if (db) {
#pragma omp for schedule(static)
        for (long o = 0; o < (long)C; o++) {
            float sum = scratch_of(p, 0).db[o];
            for (int t = 1; t < T; t++)
                sum += scratch_of(p, t).db[o];
            db[o] += sum;
        }
    }
}

static void run_dw(const kern_conv_bwd *p, const float *in, int n, const float *dout, float *dw,
                   float *db, int nthr)
{
    (void)nthr; /* OMP=0 */
    const size_t C = (size_t)p->cout;
    const int s1 = p->s1 && dw; /* over the padded domain */
    const size_t M = (size_t)n * (s1 ? (size_t)p->hp * (size_t)p->wpd : (size_t)p->oh * (size_t)p->ow);
    const size_t nch = (M + p->mc - 1) / p->mc;
#pragma omp parallel num_threads(nthr)
    {
        const int tid = thread_id(), T = team_size();
        const bwd_scr s = scratch_of(p, tid);
        const float **ind = p->ind + (size_t)tid * p->ind_per;
        const size_t c0 = nch * (size_t)tid / (size_t)T, c1 = nch * (size_t)(tid + 1) / (size_t)T;
        if (db)
            memset(s.db, 0, C * sizeof(float));
        for (size_t ch = c0; ch < c1; ch++) {
            const size_t m0 = ch * p->mc, mcur = min_z(M - m0, p->mc);
            if (s1) {
                dw_chunk_s1(p, in, n, dout, m0, mcur, &s, ch == c0, db ? s.db : NULL);
                continue;
            }
            if (db)
                for (size_t m = 0; m < mcur; m++) {
                    const float *row = dout + (m0 + m) * C;
                    for (size_t o = 0; o < C; o++)
                        s.db[o] += row[o];
                }
            if (dw && p->depthwise)
                dw_chunk_dw(p, in, dout, m0, mcur, &s, ind, ch == c0);
            else if (dw)
                dw_chunk(p, in, dout, m0, mcur, &s, ch == c0);
        }
#pragma omp barrier
        /* partials of the threads that had chunks, in thread order */
        const float *parts[REDUCE_MAX];
        int np = 0;
        for (int t = 0; t < T && np < REDUCE_MAX; t++)
            if (nch * (size_t)(t + 1) / (size_t)T > nch * (size_t)t / (size_t)T)
                parts[np++] = scratch_of(p, t).acc;
        dw_reduce(p, parts, np, T, dw, db, s1);
    }
}

mint_status kern_conv_bwd_run(kern_conv_bwd *p, const float *w_oihw, const float *in, int n,
                              const float *dout, float *din, float *dw, float *db)
{
    if (!p || !dout)
        return mint_fail(MINT_E_ARG, "kern_conv_bwd_run: NULL plan or output gradient");
    if (n <= 0 || n > p->n_max)
        return mint_fail(MINT_E_ARG, "kern_conv_bwd_run: batch %d outside 1..%d", n, p->n_max);
    if (din && !w_oihw)
        return mint_fail(MINT_E_ARG, "kern_conv_bwd_run: the input gradient needs the weights");
    if (dw && !in)
        return mint_fail(MINT_E_ARG, "kern_conv_bwd_run: the weight gradient needs the input");
    int nthr = max_threads();
    nthr = nthr > p->nthr ? p->nthr : nthr;
    if (din) {
        pack_din_weights(p, w_oihw);
        run_din(p, n, dout, din, nthr);
    }
    if (dw || db)
        run_dw(p, in, n, dout, dw, db, nthr);
    return MINT_OK;
}
