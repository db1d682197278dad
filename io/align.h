/* align.h - InsightFace-style face alignment: a similarity transform that
 * maps 5 landmarks onto the ArcFace 112x112 template, a bilinear warp that
 * reproduces OpenCV's warpAffine, and conversion to a normalised tensor.
 *
 * Reference: InsightFace python-package face_align.norm_crop =
 *   M = skimage SimilarityTransform.estimate(landmarks, template).params[0:2]
 *   cv2.warpAffine(img, M, (112, 112), borderValue=0.0)   (INTER_LINEAR)
 * M maps source-image coordinates to aligned coordinates:
 *   [u, v] = [M0 M1 M2; M3 M4 M5] [x, y, 1]. */
#ifndef MINT_IO_ALIGN_H
#define MINT_IO_ALIGN_H

#include "io/image.h"
#include "mint.h"

#define IO_ALIGN_SIZE 112

/* The ArcFace template (x0,y0, ..., x4,y4): left eye, right eye, nose,
 * left mouth corner, right mouth corner, for a 112x112 crop. */
extern const float io_arcface_template[10];

/* Least-squares similarity (rotation, uniform scale, translation; never a
 * reflection) from src[10] to the ArcFace template: Umeyama's method, equal
 * to skimage's SimilarityTransform.estimate(src, template). MINT_E_ARG for
 * non-finite or degenerate landmarks (all points equal). */
mint_status io_align_estimate(const float src[10], float M[6]);
/* Same, onto any 5-point destination dst[10]. */
mint_status io_align_estimate_to(const float src[10], const float dst[10], float M[6]);

/* Warp: dst pixel (x, y) samples src at M^-1 (x, y) bilinearly, constant 0
 * outside, with OpenCV's fixed-point arithmetic (1/32-pixel positions,
 * 15-bit weights), so the output matches cv2.warpAffine(src, M, (w, h),
 * flags=INTER_LINEAR, borderValue=0) for the same M (as doubles).
 * dst->w, dst->h, dst->c and dst->px are provided by the caller;
 * dst->c must equal src->c, or be 3 with a grey src (replicated).
 * A singular M gives an all-zero image, as in OpenCV. Returns MINT_E_ARG
 * for bad geometry, MINT_E_NOMEM if its small column table cannot be
 * allocated. */
mint_status io_align_warp(const io_image *src, const float M[6], io_image *dst);
/* The same with a double-precision matrix. */
mint_status io_align_warp_d(const io_image *src, const double M[6], io_image *dst);

/* Produce the 112x112 RGB network input: with landmarks (lm[10], source
 * pixel coordinates; MINT_E_ARG for a point more than one image size
 * outside the image), estimate + warp (the matrix stays in double, as
 * norm_crop hands skimage's float64 matrix to OpenCV); without
 * (lm == NULL), the image must already be 112x112 (an aligned crop) and is
 * copied, else MINT_E_SHAPE. Grey becomes RGB. *out is allocated
 * (io_image_free). Returns a status (the warp can fail on allocation). */
mint_status io_align_face(const io_image *img, const float *lm, io_image *out);

/* 8-bit interleaved image -> the float32 CHW input of a model with c
 * channels; chw holds c*h*w floats.
 *   c == 3: chw[k][y][x] = (px/255 - mean[k]) / std[k], where channel k is
 *           R,G,B (or B,G,R when bgr != 0); a grey image is replicated.
 *   c == 1: chw[0][y][x] = (v/255 - mean[0]) / std[0], v = the grey pixel,
 *           or for an RGB image its ITU-R BT.601 luma 0.299 R + 0.587 G +
 *           0.114 B rounded to 8 bits as OpenCV's cvtColor(RGB2GRAY)
 *           computes it ((4899 R + 9617 G + 1868 B + 2^13) >> 14); bgr
 *           does not matter.
 * Any other c: MINT_E_UNSUPPORTED, naming c (nothing is written).
 * InsightFace IResNet: c = 3, mean = std = 0.5, RGB. */
mint_status io_image_to_chw(const io_image *img, int c, const float mean[3], const float std[3],
                            int bgr, float *chw);

#endif
