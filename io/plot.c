/* plot.c - the ROC plotter of plot.h: an RGB raster, a square brush for
 * lines, a built-in bitmap font, PNG output through io_image_write_png.
 *
 * The font: 95 printable ASCII glyphs, 5 columns x 9 rows (rows 0-6 are the
 * body, 7-8 the descenders of g j p q y and , ;), one byte per row with the
 * leftmost column in bit 4. Designed for this file; drawn at scale 2. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "io/plot.h"

static const unsigned char font5x9[95][9] = {
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* ' ' */
    { 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00, 0x00 }, /* '!' */
    { 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '"' */
    { 0x0a, 0x1f, 0x0a, 0x0a, 0x0a, 0x1f, 0x0a, 0x00, 0x00 }, /* '#' */
    { 0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04, 0x00, 0x00 }, /* '$' */
    { 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00, 0x00 }, /* '%' */
    { 0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d, 0x00, 0x00 }, /* '&' */
    { 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* "'" */
    { 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00, 0x00 }, /* '(' */
    { 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00, 0x00 }, /* ')' */
    { 0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00, 0x00, 0x00 }, /* '*' */
    { 0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00, 0x00, 0x00 }, /* '+' */
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x04, 0x08, 0x00 }, /* ',' */
    { 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '-' */
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c, 0x00, 0x00 }, /* '.' */
    { 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00, 0x00 }, /* '/' */
    { 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e, 0x00, 0x00 }, /* '0' */
    { 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00 }, /* '1' */
    { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f, 0x00, 0x00 }, /* '2' */
    { 0x1e, 0x01, 0x01, 0x0e, 0x01, 0x01, 0x1e, 0x00, 0x00 }, /* '3' */
    { 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02, 0x00, 0x00 }, /* '4' */
    { 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e, 0x00, 0x00 }, /* '5' */
    { 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e, 0x00, 0x00 }, /* '6' */
    { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00 }, /* '7' */
    { 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e, 0x00, 0x00 }, /* '8' */
    { 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c, 0x00, 0x00 }, /* '9' */
    { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00, 0x00, 0x00 }, /* ':' */
    { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x04, 0x08, 0x00 }, /* ';' */
    { 0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00, 0x00 }, /* '<' */
    { 0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00 }, /* '=' */
    { 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00, 0x00 }, /* '>' */
    { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00 }, /* '?' */
    { 0x0e, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0e, 0x00, 0x00 }, /* '@' */
    { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00, 0x00 }, /* 'A' */
    { 0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e, 0x00, 0x00 }, /* 'B' */
    { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e, 0x00, 0x00 }, /* 'C' */
    { 0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c, 0x00, 0x00 }, /* 'D' */
    { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f, 0x00, 0x00 }, /* 'E' */
    { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10, 0x00, 0x00 }, /* 'F' */
    { 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f, 0x00, 0x00 }, /* 'G' */
    { 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00, 0x00 }, /* 'H' */
    { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00 }, /* 'I' */
    { 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c, 0x00, 0x00 }, /* 'J' */
    { 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00, 0x00 }, /* 'K' */
    { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f, 0x00, 0x00 }, /* 'L' */
    { 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00, 0x00 }, /* 'M' */
    { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00 }, /* 'N' */
    { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00 }, /* 'O' */
    { 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10, 0x00, 0x00 }, /* 'P' */
    { 0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d, 0x00, 0x00 }, /* 'Q' */
    { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11, 0x00, 0x00 }, /* 'R' */
    { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e, 0x00, 0x00 }, /* 'S' */
    { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00 }, /* 'T' */
    { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00 }, /* 'U' */
    { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00, 0x00 }, /* 'V' */
    { 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a, 0x00, 0x00 }, /* 'W' */
    { 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11, 0x00, 0x00 }, /* 'X' */
    { 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00 }, /* 'Y' */
    { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f, 0x00, 0x00 }, /* 'Z' */
    { 0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e, 0x00, 0x00 }, /* '[' */
    { 0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00, 0x00 }, /* backslash */
    { 0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e, 0x00, 0x00 }, /* ']' */
    { 0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '^' */
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00 }, /* '_' */
    { 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '`' */
    { 0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f, 0x00, 0x00 }, /* 'a' */
    { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e, 0x00, 0x00 }, /* 'b' */
    { 0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e, 0x00, 0x00 }, /* 'c' */
    { 0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f, 0x00, 0x00 }, /* 'd' */
    { 0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e, 0x00, 0x00 }, /* 'e' */
    { 0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08, 0x00, 0x00 }, /* 'f' */
    { 0x00, 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x11, 0x0e }, /* 'g' */
    { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00 }, /* 'h' */
    { 0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00 }, /* 'i' */
    { 0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c }, /* 'j' */
    { 0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00 }, /* 'k' */
    { 0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00 }, /* 'l' */
    { 0x00, 0x00, 0x1a, 0x15, 0x15, 0x15, 0x15, 0x00, 0x00 }, /* 'm' */
    { 0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00 }, /* 'n' */
    { 0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00 }, /* 'o' */
    { 0x00, 0x00, 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10 }, /* 'p' */
    { 0x00, 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x01, 0x01 }, /* 'q' */
    { 0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00, 0x00 }, /* 'r' */
    { 0x00, 0x00, 0x0f, 0x10, 0x0e, 0x01, 0x1e, 0x00, 0x00 }, /* 's' */
    { 0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00 }, /* 't' */
    { 0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d, 0x00, 0x00 }, /* 'u' */
    { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00, 0x00 }, /* 'v' */
    { 0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a, 0x00, 0x00 }, /* 'w' */
    { 0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x00, 0x00 }, /* 'x' */
    { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x11, 0x0e }, /* 'y' */
    { 0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f, 0x00, 0x00 }, /* 'z' */
    { 0x03, 0x04, 0x04, 0x08, 0x04, 0x04, 0x03, 0x00, 0x00 }, /* '{' */
    { 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00 }, /* '|' */
    { 0x18, 0x04, 0x04, 0x02, 0x04, 0x04, 0x18, 0x00, 0x00 }, /* '}' */
    { 0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00, 0x00 }, /* '~' */
};

/* ---- layout ---- */
#define PANEL_W 600
#define PLOT_L 92  /* plot area inside a panel: left, right, top, bottom */
#define PLOT_R 562
#define PLOT_T 78
#define PLOT_B 488
#define SCALE 2    /* font scale: glyphs 10 x 18 px */
#define ADV (6 * SCALE)

typedef struct {
    unsigned char r, g, b;
} rgb;

static const rgb C_WHITE = { 255, 255, 255 }, C_BLACK = { 0, 0, 0 }, C_GRID = { 226, 226, 226 },
                 C_MINOR = { 242, 242, 242 }, C_TEXT = { 34, 34, 34 },
                 C_CURVE = { IO_PLOT_CURVE_RGB }, C_CHANCE = { IO_PLOT_CHANCE_RGB };

static void put(io_image *im, int x, int y, rgb c)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h)
        return;
    unsigned char *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
}

static void fill(io_image *im, int x0, int y0, int x1, int y1, rgb c)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            put(im, x, y, c);
}

/* Clip rectangle for strokes (the plot area of the current panel). */
typedef struct {
    int x0, y0, x1, y1;
} rect;

static void stamp(io_image *im, double x, double y, int radius, rgb c, const rect *clip)
{
    int cx = (int)lround(x), cy = (int)lround(y);
    for (int dy = -radius; dy <= radius; dy++)
        for (int dx = -radius; dx <= radius; dx++) {
            int px = cx + dx, py = cy + dy;
            if (clip && (px < clip->x0 || px > clip->x1 || py < clip->y0 || py > clip->y1))
                continue;
            put(im, px, py, c);
        }
}

/* A line as brush stamps every 0.25 px. dash > 0: on for dash px, off for
 * dash px, continued across calls through *travel. */
static void line(io_image *im, double x0, double y0, double x1, double y1, int radius, rgb c,
                 double dash, double *travel, const rect *clip)
{
    double len = hypot(x1 - x0, y1 - y0);
    int steps = (int)ceil(len * 4.0);
    if (steps < 1)
        steps = 1;
    double t0 = travel ? *travel : 0.0;
    for (int i = 0; i <= steps; i++) {
        double t = (double)i / steps;
        if (dash > 0 && fmod(t0 + t * len, 2 * dash) >= dash)
            continue;
        stamp(im, x0 + t * (x1 - x0), y0 + t * (y1 - y0), radius, c, clip);
    }
    if (travel)
        *travel = t0 + len;
}

/* ---- text ---- */

/* Next code point of UTF-8 text as a glyph index (0..94); non-ASCII and
 * control characters become '?'. Advances *s past the whole sequence. */
static int next_glyph(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    unsigned c = *p++;
    if (c >= 0x80) /* skip continuation bytes of this sequence */
        while ((*p & 0xc0) == 0x80)
            p++;
    *s = (const char *)p;
    if (c < 32 || c > 126)
        c = '?';
    return (int)c - 32;
}

static int text_len(const char *s)
{
    int n = 0;
    while (*s) {
        next_glyph(&s);
        n++;
    }
    return n;
}

static int text_width(const char *s) { return text_len(s) * ADV - SCALE; }

/* Draw text with its top-left at (x, y); rot = 1 turns it 90 degrees
 * counter-clockwise (reading bottom to top, (x, y) is then the bottom-left). */
static void text(io_image *im, int x, int y, const char *s, rgb c, int rot)
{
    int pen = 0;
    while (*s) {
        const unsigned char *gl = font5x9[next_glyph(&s)];
        for (int r = 0; r < 9; r++)
            for (int col = 0; col < 5; col++) {
                if (!(gl[r] >> (4 - col) & 1))
                    continue;
                for (int sy = 0; sy < SCALE; sy++)
                    for (int sx = 0; sx < SCALE; sx++) {
                        int gx = pen + col * SCALE + sx, gy = r * SCALE + sy;
                        if (rot)
                            put(im, x + gy, y - gx, c);
                        else
                            put(im, x + gx, y + gy, c);
                    }
            }
        pen += ADV;
    }
}

static void text_center(io_image *im, int cx, int y, const char *s, rgb c)
{
    text(im, cx - text_width(s) / 2, y, s, c, 0);
}

/* ---- coordinates ---- */

static rect plot_rect(int panel)
{
    rect r = { panel * PANEL_W + PLOT_L, PLOT_T, panel * PANEL_W + PLOT_R, PLOT_B };
    return r;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* Left end of the log-FPR axis: the resolution 1/n_neg (no threshold
 * gives a smaller non-zero FPR, so the axis does not start below it). */
static double log_min_of(size_t n_neg)
{
    if (n_neg == 0)
        return IO_PLOT_LOG_MIN;
    if (n_neg < 2)
        return 0.1; /* one negative: no FPR between 0 and 1; keep a decade */
    return n_neg > 1000000000 ? 1e-9 : 1.0 / (double)n_neg;
}

/* Sub-pixel position; the x coordinate of panel 1 is log10(fpr) from
 * log10(lmin) to 0. */
static void to_px(int panel, double lmin, double fpr, double tpr, double *x, double *y)
{
    rect r = plot_rect(panel);
    double u;
    if (panel == 0) {
        u = clamp01(fpr);
    } else {
        double f = fpr < lmin ? lmin : fpr > 1 ? 1 : fpr;
        u = (log10(f) - log10(lmin)) / -log10(lmin);
    }
    *x = r.x0 + u * (r.x1 - r.x0);
    *y = r.y1 - clamp01(tpr) * (r.y1 - r.y0);
}

mint_status io_plot_roc_pixel(int panel, double fpr, double tpr, size_t n_neg, int *x, int *y)
{
    if ((panel != 0 && panel != 1) || isnan(fpr) || isnan(tpr) || !x || !y)
        return mint_fail(MINT_E_ARG, "io_plot_roc_pixel: bad arguments");
    double fx, fy;
    to_px(panel, log_min_of(n_neg), fpr, tpr, &fx, &fy);
    *x = (int)lround(fx);
    *y = (int)lround(fy);
    return MINT_OK;
}

/* A segment of the curve in (FPR, TPR) space, traced so that it is
 * straight in linear FPR also on the log panel. */
static void seg(io_image *im, int panel, double lmin, double f0, double t0, double f1, double t1,
                int radius, rgb c, double dash, double *travel, const rect *clip)
{
    double x0, y0, x1, y1;
    to_px(panel, lmin, f0, t0, &x0, &y0);
    to_px(panel, lmin, f1, t1, &x1, &y1);
    if (panel == 0 || f0 == f1 || fabs(x1 - x0) < 2.0) {
        line(im, x0, y0, x1, y1, radius, c, dash, travel, clip);
        return;
    }
    /* sample uniformly in log FPR over the visible part of the segment */
    double lo = f0 < f1 ? f0 : f1, hi = f0 < f1 ? f1 : f0;
    double a = log10(lo < lmin ? lmin : lo), b = log10(hi);
    if (lo < lmin) { /* the invisible part collapses onto the left edge */
        double tl = t0 + (t1 - t0) * (lmin - f0) / (f1 - f0);
        double tz = f0 < f1 ? t0 : t1;
        double ex, ey0, ey1;
        to_px(panel, lmin, lmin, tz, &ex, &ey0);
        to_px(panel, lmin, lmin, tl, &ex, &ey1);
        line(im, ex, ey0, ex, ey1, radius, c, dash, travel, clip);
    }
    int steps = (int)ceil(fabs(x1 - x0) / 2.0) + 1;
    double px = 0, py = 0;
    for (int i = 0; i <= steps; i++) {
        double f = pow(10.0, a + (b - a) * i / steps);
        double t = t0 + (t1 - t0) * (f - f0) / (f1 - f0);
        double qx, qy;
        to_px(panel, lmin, f, t, &qx, &qy);
        if (i > 0)
            line(im, px, py, qx, qy, radius, c, dash, travel, clip);
        px = qx;
        py = qy;
    }
}

/* ---- frame, grid, ticks ---- */

/* Decade labels as plain decimals: "0.0001" .. "0.1", "1"; other values
 * (the axis' left end 1/n) with two significant digits. */
static void fmt_tick(char *buf, size_t cap, double v)
{
    int decimals = v >= 1 ? 0 : (int)lround(-log10(v));
    if (fabs(v - pow(10.0, -decimals)) > 1e-9 * v)
        snprintf(buf, cap, "%.2g", v);
    else
        snprintf(buf, cap, "%.*f", decimals, v);
}

static void axes(io_image *im, int panel, double lmin, int is_resolution)
{
    rect r = plot_rect(panel);
    char lab[32];
    /* the decades inside [lmin, 1]: 10^d0 .. 10^0 */
    const int d0 = (int)ceil(log10(lmin) - 1e-9);
    /* minor grid of the log axis: 2..9 times each decade, right of lmin */
    if (panel == 1)
        for (int d = d0 - 1; d < 0; d++)
            for (int k = 2; k <= 9; k++) {
                double v = k * pow(10.0, d), x, y;
                if (v <= lmin * (1 + 1e-9))
                    continue;
                to_px(1, lmin, v, 0, &x, &y);
                line(im, x, r.y0, x, r.y1, 0, C_MINOR, 0, NULL, NULL);
                line(im, x, r.y1, x, r.y1 + 4, 0, C_BLACK, 0, NULL, NULL);
            }
    /* major grid, ticks and labels */
    for (int i = 0; i <= 5; i++) {
        double v = i / 5.0, x, y;
        to_px(panel, lmin, 0, v, &x, &y); /* y ticks: TPR 0, 0.2, .., 1 */
        if (i > 0 && i < 5)
            line(im, r.x0, y, r.x1, y, 0, C_GRID, 0, NULL, NULL);
        line(im, r.x0 - 7, y, r.x0, y, 0, C_BLACK, 0, NULL, NULL);
        snprintf(lab, sizeof lab, "%.1f", v);
        text(im, r.x0 - 12 - text_width(lab), (int)lround(y) - 9 + 2, lab, C_TEXT, 0);
    }
    /* x ticks: 0, 0.2, .., 1 (linear); the left end lmin, then the
     * decades above it (log; lmin's label is left out when it would touch
     * the next one's) */
    int nx = panel == 0 ? 5 : -d0 + 1;
    for (int i = 0; i <= nx; i++) {
        double v = panel == 0 ? i / 5.0 : i == 0 ? lmin : pow(10.0, d0 + i - 1), x, y;
        if (panel == 1 && i == 1 && fabs(v - lmin) <= 1e-9 * v)
            continue; /* lmin is a decade */
        to_px(panel, lmin, v, 0, &x, &y);
        if (i > 0 && i < nx)
            line(im, x, r.y0, x, r.y1, 0, C_GRID, 0, NULL, NULL);
        line(im, x, r.y1, x, r.y1 + 7, 0, C_BLACK, 0, NULL, NULL);
        if (panel == 0)
            snprintf(lab, sizeof lab, "%.1f", v);
        else
            fmt_tick(lab, sizeof lab, v);
        if (panel == 1 && i == 0 && nx > 0) {
            double nxp, ny;
            to_px(panel, lmin, pow(10.0, d0), 0, &nxp, &ny);
            if (fabs(v - pow(10.0, d0)) > 1e-9 * v && nxp - x < (double)text_width(lab) + 12)
                continue;
        }
        text_center(im, (int)lround(x), r.y1 + 12, lab, C_TEXT);
    }
    /* frame */
    line(im, r.x0, r.y0, r.x1, r.y0, 0, C_BLACK, 0, NULL, NULL);
    line(im, r.x0, r.y1, r.x1, r.y1, 0, C_BLACK, 0, NULL, NULL);
    line(im, r.x0, r.y0, r.x0, r.y1, 0, C_BLACK, 0, NULL, NULL);
    line(im, r.x1, r.y0, r.x1, r.y1, 0, C_BLACK, 0, NULL, NULL);
    /* axis labels and panel heading */
    const char *xl = panel == 0 ? "False positive rate" : "False positive rate (log scale)";
    text_center(im, (r.x0 + r.x1) / 2, r.y1 + 40, xl, C_TEXT);
    const char *yl = "True positive rate";
    text(im, panel * PANEL_W + 14, (r.y0 + r.y1) / 2 + text_width(yl) / 2, yl, C_TEXT, 1);
    char head[96] = "linear axes";
    if (panel == 1) {
        fmt_tick(lab, sizeof lab, lmin);
        snprintf(head, sizeof head, "log FPR axis, %s%s to 1", is_resolution ? "1/n = " : "", lab);
    }
    text_center(im, (r.x0 + r.x1) / 2, r.y0 - 26, head, C_TEXT);
}

static void legend(io_image *im, int panel)
{
    rect r = plot_rect(panel);
    int w = 190, h = 58, x0 = r.x1 - w - 10, y0 = r.y1 - h - 10;
    fill(im, x0, y0, x0 + w, y0 + h, C_WHITE);
    line(im, x0, y0, x0 + w, y0, 0, C_GRID, 0, NULL, NULL);
    line(im, x0, y0 + h, x0 + w, y0 + h, 0, C_GRID, 0, NULL, NULL);
    line(im, x0, y0, x0, y0 + h, 0, C_GRID, 0, NULL, NULL);
    line(im, x0 + w, y0, x0 + w, y0 + h, 0, C_GRID, 0, NULL, NULL);
    double travel = 0;
    line(im, x0 + 10, y0 + 18, x0 + 44, y0 + 18, 1, C_CURVE, 0, NULL, NULL);
    text(im, x0 + 54, y0 + 9, "ROC curve", C_TEXT, 0);
    line(im, x0 + 10, y0 + 42, x0 + 44, y0 + 42, 0, C_CHANCE, 5, &travel, NULL);
    text(im, x0 + 54, y0 + 33, "chance", C_TEXT, 0);
}

mint_status io_plot_roc_render(io_image *out, const double *fpr, const double *tpr, size_t n,
                               size_t n_neg, double auc, const char *title)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_plot_roc_render: NULL output");
    memset(out, 0, sizeof *out);
    if (!fpr || !tpr || n == 0)
        return mint_fail(MINT_E_ARG, "io_plot_roc_render: no ROC points");
    for (size_t i = 0; i < n; i++)
        if (!(fpr[i] >= 0 && fpr[i] <= 1 && tpr[i] >= 0 && tpr[i] <= 1))
            return mint_fail(MINT_E_ARG, "io_plot_roc_render: point %zu (%g, %g) outside [0,1]",
                             i, fpr[i], tpr[i]);
    mint_status st = io_image_alloc(out, IO_PLOT_W, IO_PLOT_H, 3);
    if (st != MINT_OK)
        return st;
    memset(out->px, 255, (size_t)IO_PLOT_W * IO_PLOT_H * 3);

    /* title: "<title>   AUC = 0.8734", cut to the width */
    char head[256], auc_s[48] = "";
    if (!isnan(auc))
        snprintf(auc_s, sizeof auc_s, "   AUC = %.4f", auc);
    const char *t = title && *title ? title : "ROC";
    int max_chars = (IO_PLOT_W - 40) / ADV - (int)strlen(auc_s);
    int tl = text_len(t);
    if (tl > max_chars) {
        /* keep max_chars - 3 glyphs (code points) of the title, then "..." */
        const char *s = t;
        for (int k = 0; k < max_chars - 3 && *s; k++)
            next_glyph(&s);
        int bytes = (int)(s - t);
        if (bytes > (int)sizeof head - 64)
            bytes = (int)sizeof head - 64;
        snprintf(head, sizeof head, "%.*s...%s", bytes, t, auc_s);
    } else {
        snprintf(head, sizeof head, "%.*s%s", (int)sizeof head - 64, t, auc_s);
    }
    text_center(out, IO_PLOT_W / 2, 12, head, C_BLACK);

    const double lmin = log_min_of(n_neg);
    for (int panel = 0; panel < 2; panel++) {
        rect clip = plot_rect(panel);
        axes(out, panel, lmin, n_neg >= 2);
        if (panel == 0) /* one legend serves both panels; lower right is below chance */
            legend(out, panel); /* drawn under the curves: a curve is never hidden */
        double travel = 0;
        seg(out, panel, lmin, 0, 0, 1, 1, 0, C_CHANCE, 5, &travel, &clip); /* chance: TPR = FPR */
        if (n == 1) {
            double x, y;
            to_px(panel, lmin, fpr[0], tpr[0], &x, &y);
            stamp(out, x, y, 2, C_CURVE, &clip);
        }
        for (size_t i = 1; i < n; i++)
            seg(out, panel, lmin, fpr[i - 1], tpr[i - 1], fpr[i], tpr[i], 1, C_CURVE, 0, NULL, &clip);
    }
    return MINT_OK;
}

mint_status io_plot_roc(const char *png_path, const double *fpr, const double *tpr, size_t n,
                        size_t n_neg, double auc, const char *title)
{
    if (!png_path)
        return mint_fail(MINT_E_ARG, "io_plot_roc: NULL path");
    io_image im;
    mint_status st = io_plot_roc_render(&im, fpr, tpr, n, n_neg, auc, title);
    if (st != MINT_OK)
        return st;
    st = io_image_write_png(png_path, &im);
    io_image_free(&im);
    return st;
}
