/* plot.h - ROC curve plots as PNG (for `mint eval --roc`), drawn by a small
 * raster plotter: two panels side by side, linear axes on the left and a
 * log10 FPR axis on the right (where the low-FPR regime that membership
 * inference is judged on becomes visible) from the FPR resolution
 * 1/n_neg (n_neg negatives: no threshold gives a smaller non-zero FPR, so
 * the axis does not start below it; 1e-4 when n_neg is not given) to 1,
 * grid, ticks,
 * labels in a built-in 5x9 bitmap font, the chance line dashed, the AUC in
 * the title.
 *
 * The curve is drawn as straight segments between consecutive ROC points
 * in (FPR, TPR) space (a tie group is a diagonal step); on the log panel
 * those segments are traced in linear FPR, so they bend correctly, and
 * FPR below the axis' left end (including 0) is drawn on the left edge. */
#ifndef MINT_IO_PLOT_H
#define MINT_IO_PLOT_H

#include <stddef.h>
#include "io/image.h"
#include "mint.h"

#define IO_PLOT_W 1200
#define IO_PLOT_H 560
#define IO_PLOT_LOG_MIN 1e-4 /* left end of the log-FPR axis when n_neg is 0 */

/* Colours (RGB) used for the parts of the plot (tests look for them). */
#define IO_PLOT_CURVE_RGB 0x1f, 0x5f, 0xbf
#define IO_PLOT_CHANCE_RGB 0x99, 0x99, 0x99

/* Pixel of the point (fpr, tpr) in panel 0 (linear) or 1 (log FPR, axis
 * for n_neg negatives as in io_plot_roc_render). Returns 0 and sets *x, *y;
 * MINT_E_ARG for a bad panel or NaN. Points outside [0,1] (or left of the
 * log axis' start) are clamped to the edge. */
mint_status io_plot_roc_pixel(int panel, double fpr, double tpr, size_t n_neg, int *x, int *y);

/* Render into a new IO_PLOT_W x IO_PLOT_H RGB image (free with
 * io_image_free). fpr/tpr: n >= 1 points in [0,1], in curve order (as
 * mint_roc_curve returns them). n_neg: the number of negatives (external
 * samples): the log axis starts at 1/n_neg (0: at 1e-4). auc: shown in the
 * title unless NaN.
 * title: UTF-8, may be NULL ("ROC"); characters outside printable ASCII
 * are drawn as '?', and a title too long for the width is cut with "...". */
mint_status io_plot_roc_render(io_image *out, const double *fpr, const double *tpr, size_t n,
                               size_t n_neg, double auc, const char *title);

/* Render and write a PNG (temporary name, then rename into place). */
mint_status io_plot_roc(const char *png_path, const double *fpr, const double *tpr, size_t n,
                        size_t n_neg, double auc, const char *title);

#endif
