/* align.c - 5-landmark similarity alignment onto the ArcFace template and an
 * OpenCV-exact bilinear affine warp (see align.h).
 *
 * Estimation: for 2-D points Umeyama's least-squares similarity (Umeyama 1991,
 * "Least-squares estimation of transformation parameters between two point
 * patterns"; skimage.transform.SimilarityTransform.estimate) reduces to a
 * closed form. With centred points p_i (source) and q_i (destination):
 *     a = sum(q_i . p_i),  b = sum(q_i x p_i),  s2 = sum |p_i|^2
 *     sR = [a -b; b a] / s2,  t = mean(q) - sR mean(p).
 * Umeyama's reflection handling (d = diag(1, sign det A), and the rank-1
 * branch) always yields a proper rotation in 2-D, and the rotation that
 * maximises tr(R^T A) is exactly the one in this closed form, so the result
 * equals skimage's up to rounding (checked by tests/test_align.c against
 * tools/make_align_fixtures.py, which uses the SVD form).
 *
 * Warp: OpenCV 4.x imgwarp.cpp (WarpAffineInvoker + remapBilinear) inverts M
 * in double, maps each destination pixel with 10-bit fixed point
 * (AB_BITS), keeps INTER_BITS = 5 fractional bits (1/32 pixel) and blends
 * the 2x2 neighbourhood with integer weights ((32-fx)(32-fy), ... summing to
 * 1024, i.e. OpenCV's 15-bit INTER_REMAP_COEF table divided by 32), rounding
 * once at the end. Reproducing those steps gives bit-identical crops. */
#include "io/align.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __clang__
/* keep a*b+c as two roundings, as OpenCV's x86 build computes it */
#pragma STDC FP_CONTRACT OFF
#endif

const float io_arcface_template[10] = {
    38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f,
    71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f,
};

/* The estimate in double (io_align_face warps with it directly, as
 * InsightFace's norm_crop passes skimage's float64 matrix to OpenCV). */
static mint_status estimate_d(const float src[10], const float dst[10], double out[6])
{
    if (!src || !dst || !out)
        return mint_fail(MINT_E_ARG, "io_align_estimate: NULL argument");
    double pmx = 0, pmy = 0, qmx = 0, qmy = 0;
    for (int i = 0; i < 5; i++) {
        if (!isfinite(src[2 * i]) || !isfinite(src[2 * i + 1]) || !isfinite(dst[2 * i]) ||
            !isfinite(dst[2 * i + 1]))
            return mint_fail(MINT_E_ARG, "io_align_estimate: non-finite landmark");
        pmx += src[2 * i];
        pmy += src[2 * i + 1];
        qmx += dst[2 * i];
        qmy += dst[2 * i + 1];
    }
    pmx /= 5;
    pmy /= 5;
    qmx /= 5;
    qmy /= 5;
    double a = 0, b = 0, s2 = 0;
    for (int i = 0; i < 5; i++) {
        double px = src[2 * i] - pmx, py = src[2 * i + 1] - pmy;
        double qx = dst[2 * i] - qmx, qy = dst[2 * i + 1] - qmy;
        a += qx * px + qy * py;
        b += qy * px - qx * py;
        s2 += px * px + py * py;
    }
    if (!(s2 > 0) || !isfinite(s2))
        return mint_fail(MINT_E_ARG, "io_align_estimate: degenerate landmarks (all points equal)");
    if (a == 0 && b == 0)
        return mint_fail(MINT_E_ARG, "io_align_estimate: no similarity maps the landmarks "
                                     "onto the template (zero scale)");
    double m0 = a / s2, m1 = -b / s2, m3 = b / s2, m4 = a / s2;
    out[0] = m0;
    out[1] = m1;
    out[2] = qmx - (m0 * pmx + m1 * pmy);
    out[3] = m3;
    out[4] = m4;
    out[5] = qmy - (m3 * pmx + m4 * pmy);
    for (int k = 0; k < 6; k++)
        if (!isfinite(out[k]) || fabs(out[k]) > 3.0e38)
            return mint_fail(MINT_E_ARG, "io_align_estimate: transform out of range");
    return MINT_OK;
}

mint_status io_align_estimate_to(const float src[10], const float dst[10], float M[6])
{
    double Md[6];
    if (!M)
        return mint_fail(MINT_E_ARG, "io_align_estimate: NULL argument");
    mint_status st = estimate_d(src, dst, Md);
    if (st != MINT_OK)
        return st;
    for (int k = 0; k < 6; k++)
        M[k] = (float)Md[k];
    return MINT_OK;
}

mint_status io_align_estimate(const float src[10], float M[6])
{
    return io_align_estimate_to(src, io_arcface_template, M);
}

/* OpenCV saturate_cast<int>(double): round to nearest even, saturate. */
static int sat_round(double v)
{
    if (v != v)
        return INT_MIN; /* what cvRound (cvtsd2si) gives for NaN */
    if (v >= (double)INT_MAX)
        return INT_MAX;
    if (v <= (double)INT_MIN)
        return INT_MIN;
    return (int)lrint(v);
}

mint_status io_align_warp_d(const io_image *src, const double Min[6], io_image *dst)
{
    if (!src || !dst || !Min || !src->px || !dst->px)
        return mint_fail(MINT_E_ARG, "io_align_warp: NULL argument");
    if (src->w <= 0 || src->h <= 0 || (src->c != 1 && src->c != 3) || dst->w <= 0 ||
        dst->h <= 0 || (dst->c != src->c && !(src->c == 1 && dst->c == 3)))
        return mint_fail(MINT_E_ARG, "io_align_warp: bad geometry %dx%dx%d -> %dx%dx%d", src->w,
                         src->h, src->c, dst->w, dst->h, dst->c);

    /* Inverse map, computed as cv::warpAffine does (without WARP_INVERSE_MAP). */
    double M[6];
    memcpy(M, Min, sizeof M);
    double D = M[0] * M[4] - M[1] * M[3];
    D = D != 0 ? 1. / D : 0;
    double A11 = M[4] * D, A22 = M[0] * D;
    M[0] = A11;
    M[1] *= -D;
    M[3] *= -D;
    M[4] = A22;
    double b1 = -M[0] * M[2] - M[1] * M[5];
    double b2 = -M[3] * M[2] - M[4] * M[5];
    M[2] = b1;
    M[5] = b2;

    enum { AB_BITS = 10, AB_SCALE = 1 << AB_BITS, INTER_BITS = 5, INTER_TAB = 1 << INTER_BITS };
    const int round_delta = AB_SCALE / INTER_TAB / 2;
    const int sw = src->w, sh = src->h, sc = src->c, dc = dst->c;
    const size_t sstride = (size_t)sw * (size_t)sc;

    /* per-column terms, as OpenCV's adelta/bdelta */
    int *adelta = malloc(sizeof(int) * 2 * (size_t)dst->w);
    if (!adelta)
        return mint_fail(MINT_E_NOMEM, "io_align_warp: out of memory");
    int *bdelta = adelta + dst->w;
    for (int x = 0; x < dst->w; x++) {
        adelta[x] = sat_round(M[0] * x * AB_SCALE);
        bdelta[x] = sat_round(M[3] * x * AB_SCALE);
    }
    for (int y = 0; y < dst->h; y++) {
        /* int64: OpenCV's 32-bit sums may wrap for absurd matrices; we only
         * need to stay defined there, the result is all border anyway. */
        long long X0 = (long long)sat_round((M[1] * y + M[2]) * AB_SCALE) + round_delta;
        long long Y0 = (long long)sat_round((M[4] * y + M[5]) * AB_SCALE) + round_delta;
        uint8_t *drow = dst->px + (size_t)y * (size_t)dst->w * (size_t)dc;
        for (int x = 0; x < dst->w; x++) {
            long long X = (X0 + adelta[x]) >> (AB_BITS - INTER_BITS);
            long long Y = (Y0 + bdelta[x]) >> (AB_BITS - INTER_BITS);
            long long sxl = X >> INTER_BITS, syl = Y >> INTER_BITS;
            int fx = (int)(X & (INTER_TAB - 1)), fy = (int)(Y & (INTER_TAB - 1));
            uint8_t *d = drow + (size_t)x * (size_t)dc;
            if (sxl >= sw || sxl + 1 < 0 || syl >= sh || syl + 1 < 0) {
                memset(d, 0, (size_t)dc);
                continue;
            }
            int sx = (int)sxl, sy = (int)syl;
            int w00 = (INTER_TAB - fx) * (INTER_TAB - fy), w01 = fx * (INTER_TAB - fy);
            int w10 = (INTER_TAB - fx) * fy, w11 = fx * fy;
            int in_x0 = sx >= 0, in_x1 = sx + 1 < sw, in_y0 = sy >= 0, in_y1 = sy + 1 < sh;
            const uint8_t *r0 = src->px + (size_t)(in_y0 ? sy : 0) * sstride;
            const uint8_t *r1 = src->px + (size_t)(in_y1 ? sy + 1 : 0) * sstride;
            size_t o0 = (size_t)(in_x0 ? sx : 0) * (size_t)sc;
            size_t o1 = (size_t)(in_x1 ? sx + 1 : 0) * (size_t)sc;
            for (int k = 0; k < sc; k++) {
                int v00 = in_y0 && in_x0 ? r0[o0 + k] : 0;
                int v01 = in_y0 && in_x1 ? r0[o1 + k] : 0;
                int v10 = in_y1 && in_x0 ? r1[o0 + k] : 0;
                int v11 = in_y1 && in_x1 ? r1[o1 + k] : 0;
                int v = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + (1 << 9)) >> 10;
                d[k] = (uint8_t)(v > 255 ? 255 : v);
            }
            if (sc == 1 && dc == 3)
                d[1] = d[2] = d[0];
        }
    }
    free(adelta);
    return MINT_OK;
}

mint_status io_align_warp(const io_image *src, const float M[6], io_image *dst)
{
    if (!M)
        return mint_fail(MINT_E_ARG, "io_align_warp: NULL matrix");
    double Md[6];
    for (int k = 0; k < 6; k++)
        Md[k] = M[k];
    return io_align_warp_d(src, Md, dst);
}

mint_status io_align_face(const io_image *img, const float *lm, io_image *out)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_align_face: NULL output");
    memset(out, 0, sizeof *out);
    if (!img || !img->px || (img->c != 1 && img->c != 3) || img->w <= 0 || img->h <= 0)
        return mint_fail(MINT_E_ARG, "io_align_face: invalid image");
    if (!lm && (img->w != IO_ALIGN_SIZE || img->h != IO_ALIGN_SIZE))
        return mint_fail(MINT_E_SHAPE,
                         "io_align_face: %dx%d image without landmarks (only %dx%d aligned "
                         "crops can be used as they are)",
                         img->w, img->h, IO_ALIGN_SIZE, IO_ALIGN_SIZE);
    /* A landmark more than one image size outside the image is a broken row
     * (a unit or column mix-up, e.g. 1e6), not a face near the border. */
    for (int i = 0; lm && i < 5; i++) {
        const double x = lm[2 * i], y = lm[2 * i + 1];
        if (!(x >= -img->w && x <= 2.0 * img->w && y >= -img->h && y <= 2.0 * img->h))
            return mint_fail(MINT_E_ARG,
                             "landmark %d (%g, %g) is more than one image size outside the "
                             "%dx%d image", i + 1, x, y, img->w, img->h);
    }
    double M[6];
    if (lm) {
        mint_status st = estimate_d(lm, io_arcface_template, M);
        if (st != MINT_OK)
            return st;
    }
    mint_status st = io_image_alloc(out, IO_ALIGN_SIZE, IO_ALIGN_SIZE, 3);
    if (st != MINT_OK)
        return st;
    if (lm) {
        st = io_align_warp_d(img, M, out);
        if (st != MINT_OK)
            io_image_free(out);
        return st;
    }
    size_t n = (size_t)IO_ALIGN_SIZE * IO_ALIGN_SIZE;
    if (img->c == 3) {
        memcpy(out->px, img->px, n * 3);
    } else {
        for (size_t i = 0; i < n; i++)
            out->px[3 * i] = out->px[3 * i + 1] = out->px[3 * i + 2] = img->px[i];
    }
    return MINT_OK;
}

/* ITU-R BT.601 luma in OpenCV's 8-bit fixed point (imgproc color.hpp:
 * R2Y 4899, G2Y 9617, B2Y 1868, 14 bits, rounded), so a grey model sees
 * what cv2.cvtColor(img, COLOR_RGB2GRAY) would give it. */
static uint8_t luma601(const uint8_t *rgb)
{
    return (uint8_t)((4899u * rgb[0] + 9617u * rgb[1] + 1868u * rgb[2] + (1u << 13)) >> 14);
}

mint_status io_image_to_chw(const io_image *img, int c, const float mean[3], const float std[3],
                            int bgr, float *chw)
{
    if (!img || !img->px || !mean || !std || !chw)
        return mint_fail(MINT_E_ARG, "io_image_to_chw: NULL argument");
    if (img->c != 1 && img->c != 3)
        return mint_fail(MINT_E_ARG, "io_image_to_chw: image has %d channels (1 or 3)", img->c);
    if (c != 1 && c != 3)
        return mint_fail(MINT_E_UNSUPPORTED,
                         "the model takes %d input channels; images can only feed 1 (grey) or "
                         "3 (RGB/BGR)",
                         c);
    size_t hw = (size_t)img->w * (size_t)img->h;
    if (c == 1) {
        float m = mean[0], s = std[0];
        for (size_t i = 0; i < hw; i++) {
            uint8_t v = img->c == 1 ? img->px[i] : luma601(img->px + 3 * i);
            chw[i] = ((float)v / 255.0f - m) / s;
        }
        return MINT_OK;
    }
    for (int k = 0; k < 3; k++) {
        int sk = img->c == 1 ? 0 : (bgr ? 2 - k : k);
        float m = mean[k], s = std[k];
        float *o = chw + (size_t)k * hw;
        const uint8_t *p = img->px + sk;
        for (size_t i = 0; i < hw; i++)
            o[i] = ((float)p[i * (size_t)img->c] / 255.0f - m) / s;
    }
    return MINT_OK;
}
