/* image.c - PNG (libpng) and JPEG (libjpeg-turbo) decoding into io_image,
 * and PNG writing for debugging output and plots.
 *
 * Both libraries report fatal errors through callbacks that must not return;
 * ours copy the message and longjmp back to the decoder, which frees what it
 * allocated and returns a status. Nothing is ever printed: libpng warnings
 * are dropped, libjpeg warnings are either dropped (harmless ones) or turned
 * into errors (truncation and corrupt entropy data, see jpeg_warning_fatal).
 * The setjmp() calls sit in small functions whose state lives in a context
 * struct, so no local variable can be clobbered by the longjmp. */
#include "base/file.h"
#include "io/image.h"
#include "io/idx.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: its message list depends on jconfig.h */
#include <png.h>

/* Messages start with the file name; images decoded from memory have none
 * (the caller, which knows where the bytes came from, adds it). */
#define MEM_LABEL ""
#define LBL(l) (l), ((l)[0] ? ": " : "")

/* Progressive JPEGs may carry any number of scans; each one re-runs the
 * entropy decoder over the image, so a hostile file with thousands of tiny
 * scans is a CPU bomb. Real encoders emit about 10. */
#define JPEG_MAX_SCANS 500

/* ---- input source: a FILE or a memory buffer ---- */
typedef struct {
    const char *label; /* path, or MEM_LABEL (""), starts messages */
    FILE *f;
    const uint8_t *mem;
    size_t size, pos;
} img_src;

static size_t src_read(img_src *s, void *dst, size_t n)
{
    if (s->f)
        return fread(dst, 1, n, s->f);
    size_t left = s->size - s->pos;
    if (n > left)
        n = left;
    if (n) {
        memcpy(dst, s->mem + s->pos, n);
        s->pos += n;
    }
    return n;
}

/* (v*255 + 32767) / 65535: 16-bit sample to 8 bits, rounded to nearest. */
static inline uint8_t scale16(unsigned v)
{
    return (uint8_t)((v * 255u + 32767u) / 65535u);
}

static mint_status check_pixels(const char *label, unsigned long w, unsigned long h,
                                int max_pixels)
{
    unsigned long long lim = (unsigned long long)(max_pixels > 0 ? max_pixels
                                                  : IO_IMAGE_DEFAULT_MAX_PIXELS);
    if (w == 0 || h == 0)
        return mint_fail(MINT_E_FORMAT, "%s%simage has zero size (%lux%lu)", LBL(label), w, h);
    if ((unsigned long long)w * h > lim)
        return mint_fail(MINT_E_FORMAT,
                         "%s%simage %lux%lu exceeds the limit of %llu pixels "
                         "(decompression bomb?)", LBL(label), w, h, lim);
    return MINT_OK;
}

mint_status io_image_alloc(io_image *out, int w, int h, int c)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_image_alloc: NULL output");
    memset(out, 0, sizeof *out);
    if (w <= 0 || h <= 0 || (c != 1 && c != 3))
        return mint_fail(MINT_E_ARG, "io_image_alloc: bad geometry %dx%dx%d", w, h, c);
    size_t n = (size_t)w * (size_t)h;
    if (n > SIZE_MAX / (size_t)c)
        return mint_fail(MINT_E_NOMEM, "io_image_alloc: %dx%dx%d overflows", w, h, c);
    out->px = calloc(n * (size_t)c, 1);
    if (!out->px)
        return mint_fail(MINT_E_NOMEM, "io_image_alloc: cannot allocate %dx%dx%d", w, h, c);
    out->w = w;
    out->h = h;
    out->c = c;
    return MINT_OK;
}

void io_image_free(io_image *img)
{
    if (!img)
        return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

/* ======================================================================
 * PNG
 * ====================================================================== */
typedef struct {
    img_src *src;
    int max_pixels;
    png_structp png;
    png_infop info;
    uint8_t *buf;        /* interlaced images: whole decoded image */
    png_bytep *rows;     /* row pointers into buf */
    io_image img;        /* result under construction */
    mint_status status;  /* status to return after a longjmp */
    char msg[192];
} png_ctx;

static void png_error_cb(png_structp png, png_const_charp msg)
{
    png_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png; /* ancillary-chunk trouble: the pixels are unaffected */
    (void)msg;
}

static void png_read_cb(png_structp png, png_bytep data, size_t n)
{
    png_ctx *ctx = png_get_io_ptr(png);
    if (src_read(ctx->src, data, n) != n)
        png_error(png, "truncated file (unexpected end of data)");
}

/* Convert one decoded row (ch channels of bd bits) to the output layout. */
static void png_convert_row(uint8_t *dst, const uint8_t *row, int w, int ch, int bd,
                            int outc)
{
    for (int x = 0; x < w; x++) {
        for (int k = 0; k < outc; k++) {
            size_t i = (size_t)x * (size_t)ch + (size_t)k;
            dst[(size_t)x * (size_t)outc + (size_t)k] =
                bd == 8 ? row[i] : scale16(((unsigned)row[2 * i] << 8) | row[2 * i + 1]);
        }
    }
}

/* Body of the PNG decoder; any libpng error longjmps out of it. */
static void png_decode_body(png_ctx *ctx)
{
    png_structp png = ctx->png;
    png_infop info = ctx->info;
    const char *label = ctx->src->label;

    png_set_read_fn(png, ctx, png_read_cb);
    /* Bound what libpng itself may allocate for ancillary chunks. */
    png_set_chunk_malloc_max(png, 8u << 20);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int bd = 0, ct = 0, il = 0;
    png_get_IHDR(png, info, &w, &h, &bd, &ct, &il, NULL, NULL);
    ctx->status = check_pixels(label, w, h, ctx->max_pixels);
    if (ctx->status != MINT_OK)
        return;

    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if ((ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) && bd < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int ch = png_get_channels(png, info);
    int obd = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || (obd != 8 && obd != 16) ||
        rowbytes != (size_t)w * (size_t)ch * (size_t)(obd / 8)) {
        ctx->status = mint_fail(MINT_E_UNSUPPORTED,
                                "%s%sunsupported PNG layout (%d channels, %d bits)",
                                LBL(label), ch, obd);
        return;
    }
    int outc = ch <= 2 ? 1 : 3; /* alpha dropped */
    if (io_image_alloc(&ctx->img, (int)w, (int)h, outc) != MINT_OK) {
        ctx->status = mint_fail(MINT_E_NOMEM, "%s%scannot allocate %lux%lu image", LBL(label),
                                (unsigned long)w, (unsigned long)h);
        return;
    }
    size_t ostride = (size_t)w * (size_t)outc;

    if (passes == 1) {
        ctx->buf = malloc(rowbytes);
        if (!ctx->buf) {
            ctx->status = mint_fail(MINT_E_NOMEM, "%s%sout of memory", LBL(label));
            return;
        }
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, ctx->buf, NULL);
            png_convert_row(ctx->img.px + y * ostride, ctx->buf, (int)w, ch, obd, outc);
        }
    } else {
        if (rowbytes > SIZE_MAX / h) {
            ctx->status = mint_fail(MINT_E_NOMEM, "%s%simage too large", LBL(label));
            return;
        }
        ctx->buf = malloc(rowbytes * h);
        ctx->rows = malloc(sizeof *ctx->rows * h);
        if (!ctx->buf || !ctx->rows) {
            ctx->status = mint_fail(MINT_E_NOMEM, "%s%sout of memory", LBL(label));
            return;
        }
        for (png_uint_32 y = 0; y < h; y++)
            ctx->rows[y] = ctx->buf + (size_t)y * rowbytes;
        png_read_image(png, ctx->rows);
        for (png_uint_32 y = 0; y < h; y++)
            png_convert_row(ctx->img.px + y * ostride, ctx->rows[y], (int)w, ch, obd, outc);
    }
    /* Read up to IEND so that a file cut after its pixel data, or with a bad
     * CRC in a trailing chunk, is still reported as broken. */
    png_read_end(png, NULL);
    ctx->status = MINT_OK;
}

static mint_status decode_png(img_src *src, io_image *out, int max_pixels)
{
    png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.src = src;
    ctx.max_pixels = max_pixels;
    ctx.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_cb,
                                     png_warning_cb);
    if (ctx.png)
        ctx.info = png_create_info_struct(ctx.png);
    if (!ctx.png || !ctx.info) {
        png_destroy_read_struct(ctx.png ? &ctx.png : NULL, NULL, NULL);
        return mint_fail(MINT_E_NOMEM, "%s%scannot create PNG decoder", LBL(src->label));
    }
    if (setjmp(png_jmpbuf(ctx.png)) == 0) {
        png_decode_body(&ctx);
    } else {
        ctx.status = mint_fail(MINT_E_FORMAT, "%s%scorrupt PNG: %s", LBL(src->label), ctx.msg);
    }
    png_destroy_read_struct(&ctx.png, &ctx.info, NULL);
    free(ctx.buf);
    free(ctx.rows);
    if (ctx.status != MINT_OK) {
        io_image_free(&ctx.img);
        return ctx.status;
    }
    *out = ctx.img;
    return MINT_OK;
}

/* ======================================================================
 * JPEG
 * ====================================================================== */
typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to ours */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_err;

typedef struct {
    img_src *src;
    int max_pixels;
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    struct jpeg_progress_mgr progress;
    io_image img;
    mint_status status;
} jpeg_ctx;

static void jpeg_error_exit_cb(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings that mean the pixels are wrong (libjpeg would fill the missing
 * part with grey and carry on): truncation and corrupt entropy data. Other
 * warnings (unknown JFIF revision, extraneous bytes between markers, bad
 * ICC chunks) leave the pixels intact and are ignored. */
static int jpeg_warning_fatal(int code)
{
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        return 1;
    default:
        return 0;
    }
}

static void jpeg_emit_message_cb(j_common_ptr cinfo, int level)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (level < 0) {
        if (jpeg_warning_fatal(cinfo->err->msg_code)) {
            (*cinfo->err->format_message)(cinfo, e->msg);
            longjmp(e->jb, 1);
        }
        cinfo->err->num_warnings++;
    }
    /* level >= 0: trace messages, never printed */
}

static void jpeg_output_message_cb(j_common_ptr cinfo)
{
    (void)cinfo; /* library code never prints */
}

static void jpeg_progress_cb(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_err *e = (jpeg_err *)cinfo->err;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

static void jpeg_decode_body(jpeg_ctx *ctx)
{
    j_decompress_ptr cinfo = &ctx->cinfo;
    const char *label = ctx->src->label;

    if (ctx->src->f)
        jpeg_stdio_src(cinfo, ctx->src->f);
    else
        jpeg_mem_src(cinfo, ctx->src->mem, (unsigned long)ctx->src->size);

    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        ctx->status = mint_fail(MINT_E_FORMAT, "%s%sJPEG has no image", LBL(label));
        return;
    }
    int outc;
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
        ctx->status = mint_fail(MINT_E_UNSUPPORTED,
                                "%s%sCMYK/YCCK JPEG is not supported (convert it to RGB)",
                                LBL(label));
        return;
    }
    if (cinfo->num_components == 1) {
        cinfo->out_color_space = JCS_GRAYSCALE;
        outc = 1;
    } else if (cinfo->num_components == 3) {
        cinfo->out_color_space = JCS_RGB;
        outc = 3;
    } else {
        ctx->status = mint_fail(MINT_E_UNSUPPORTED, "%s%sJPEG with %d components", LBL(label),
                                cinfo->num_components);
        return;
    }
    ctx->status = check_pixels(label, cinfo->image_width, cinfo->image_height,
                               ctx->max_pixels);
    if (ctx->status != MINT_OK)
        return;

    /* libjpeg's defaults, spelled out: they are what OpenCV's imread uses,
     * and exact agreement with cv2 depends on them. */
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->do_block_smoothing = TRUE;
    cinfo->scale_num = cinfo->scale_denom = 1;
    cinfo->quantize_colors = FALSE;

    jpeg_start_decompress(cinfo);
    if ((int)cinfo->output_components != outc ||
        cinfo->output_width != cinfo->image_width ||
        cinfo->output_height != cinfo->image_height) {
        ctx->status = mint_fail(MINT_E_FORMAT, "%s%sunexpected JPEG output geometry", LBL(label));
        return;
    }
    if (io_image_alloc(&ctx->img, (int)cinfo->output_width, (int)cinfo->output_height,
                       outc) != MINT_OK) {
        ctx->status = mint_fail(MINT_E_NOMEM, "%s%scannot allocate %ux%u image", LBL(label),
                                cinfo->output_width, cinfo->output_height);
        return;
    }
    size_t stride = (size_t)cinfo->output_width * (size_t)outc;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = ctx->img.px + (size_t)cinfo->output_scanline * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            ctx->status = mint_fail(MINT_E_FORMAT, "%s%sJPEG decoding stalled", LBL(label));
            return;
        }
    }
    jpeg_finish_decompress(cinfo);
    ctx->status = MINT_OK;
}

static mint_status decode_jpeg(img_src *src, io_image *out, int max_pixels)
{
    jpeg_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return mint_fail(MINT_E_NOMEM, "%s%sout of memory", LBL(src->label));
    ctx->src = src;
    ctx->max_pixels = max_pixels;
    ctx->cinfo.err = jpeg_std_error(&ctx->err.pub);
    ctx->err.pub.error_exit = jpeg_error_exit_cb;
    ctx->err.pub.emit_message = jpeg_emit_message_cb;
    ctx->err.pub.output_message = jpeg_output_message_cb;
    ctx->progress.progress_monitor = jpeg_progress_cb;

    mint_status st;
    if (setjmp(ctx->err.jb) == 0) {
        jpeg_create_decompress(&ctx->cinfo);
        ctx->cinfo.progress = &ctx->progress;
        jpeg_decode_body(ctx);
        st = ctx->status;
    } else {
        st = mint_fail(MINT_E_FORMAT, "%s%scorrupt JPEG: %s", LBL(src->label), ctx->err.msg);
    }
    jpeg_destroy_decompress(&ctx->cinfo);
    if (st != MINT_OK)
        io_image_free(&ctx->img);
    else
        *out = ctx->img;
    free(ctx);
    return st;
}

/* ======================================================================
 * Format detection and entry points
 * ====================================================================== */
static mint_status decode_any(img_src *src, const uint8_t *magic, size_t nmagic,
                              io_image *out, int max_pixels)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    if (nmagic >= 8 && memcmp(magic, png_sig, 8) == 0)
        return decode_png(src, out, max_pixels);
    if (nmagic >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff)
        return decode_jpeg(src, out, max_pixels);

    const char *kind = NULL;
    if (nmagic >= 6 && (memcmp(magic, "GIF87a", 6) == 0 || memcmp(magic, "GIF89a", 6) == 0))
        kind = "GIF";
    else if (nmagic >= 2 && magic[0] == 'B' && magic[1] == 'M')
        kind = "BMP";
    else if (nmagic >= 4 && (memcmp(magic, "II*\0", 4) == 0 || memcmp(magic, "MM\0*", 4) == 0))
        kind = "TIFF";
    else if (nmagic >= 2 && magic[0] == 'P' && magic[1] >= '1' && magic[1] <= '6')
        kind = "PNM";
    else if (nmagic >= 4 && memcmp(magic, "RIFF", 4) == 0)
        kind = "RIFF/WebP";
    if (kind)
        return mint_fail(MINT_E_UNSUPPORTED, "%s%s%s images are not supported (use PNG or JPEG)",
                         LBL(src->label), kind);
    if (nmagic == 0)
        return mint_fail(MINT_E_FORMAT, "%s%sempty file", LBL(src->label));
    return mint_fail(MINT_E_FORMAT, "%s%snot a PNG or JPEG file", LBL(src->label));
}

mint_status io_image_load_mem(const void *data, size_t size, io_image *out, int max_pixels)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_image_load_mem: NULL output");
    memset(out, 0, sizeof *out);
    if (!data && size)
        return mint_fail(MINT_E_ARG, "io_image_load_mem: NULL data");
    img_src src = {.label = MEM_LABEL, .mem = data, .size = size};
    return decode_any(&src, data, size < 8 ? size : 8, out, max_pixels);
}

mint_status io_image_load(const char *path, io_image *out, int max_pixels)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_image_load: NULL output");
    memset(out, 0, sizeof *out);
    if (!path)
        return mint_fail(MINT_E_ARG, "io_image_load: NULL path");
    /* "<idx file>#<index>": one image of an MNIST-style file (io/idx.h),
     * unless a file of that very name exists */
    char idxfile[4096];
    size_t idxi;
    if (io_idx_is_ref(path, idxfile, sizeof idxfile, &idxi))
        return io_idx_image(idxfile, idxi, out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t magic[8];
    size_t n = fread(magic, 1, sizeof magic, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        return mint_fail(MINT_E_IO, "%s: cannot read: %s", path, strerror(e));
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        int e = errno;
        fclose(f);
        return mint_fail(MINT_E_IO, "%s: cannot seek: %s", path, strerror(e));
    }
    img_src src = {.label = path, .f = f};
    mint_status st = decode_any(&src, magic, n, out, max_pixels);
    if (st == MINT_OK && ferror(f)) {
        io_image_free(out);
        st = mint_fail(MINT_E_IO, "%s: read error", path);
    }
    fclose(f);
    return st;
}

/* ======================================================================
 * PNG writer
 * ====================================================================== */
typedef struct {
    const io_image *img;
    FILE *f;
    png_structp png;
    png_infop info;
    char msg[192];
} pngw_ctx;

static void pngw_error_cb(png_structp png, png_const_charp msg)
{
    pngw_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void pngw_body(pngw_ctx *ctx)
{
    const io_image *img = ctx->img;
    png_init_io(ctx->png, ctx->f);
    png_set_IHDR(ctx->png, ctx->info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
                 img->c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(ctx->png, ctx->info);
    size_t stride = (size_t)img->w * (size_t)img->c;
    for (int y = 0; y < img->h; y++)
        png_write_row(ctx->png, img->px + (size_t)y * stride);
    png_write_end(ctx->png, ctx->info);
}

static int pngw_run(pngw_ctx *ctx)
{
    ctx->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, pngw_error_cb,
                                       png_warning_cb);
    if (ctx->png)
        ctx->info = png_create_info_struct(ctx->png);
    if (!ctx->png || !ctx->info) {
        snprintf(ctx->msg, sizeof ctx->msg, "cannot create PNG encoder");
        png_destroy_write_struct(ctx->png ? &ctx->png : NULL, NULL);
        return -1;
    }
    int rc = 0;
    if (setjmp(png_jmpbuf(ctx->png)) == 0)
        pngw_body(ctx);
    else
        rc = -1;
    png_destroy_write_struct(&ctx->png, &ctx->info);
    return rc;
}

mint_status io_image_write_png(const char *path, const io_image *img)
{
    if (!path || !img || !img->px || img->w <= 0 || img->h <= 0 ||
        (img->c != 1 && img->c != 3))
        return mint_fail(MINT_E_ARG, "%s: io_image_write_png: invalid image",
                         path ? path : "(null)");
    base_afile a;
    mint_status st = base_afile_open(&a, path);
    if (st)
        return st;
    pngw_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.img = img;
    ctx.f = a.fp;
    if (pngw_run(&ctx) != 0) {
        st = mint_fail(MINT_E_IO, "%s: PNG encoding failed: %s", path, ctx.msg);
        base_afile_abort(&a);
        return st;
    }
    return base_afile_commit(&a);
}
