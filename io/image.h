/* image.h - decoded 8-bit images: PNG (libpng) and JPEG (libjpeg-turbo).
 *
 * An io_image is 8-bit, interleaved, row-major, tightly packed (stride w*c),
 * with c = 1 (grey) or c = 3 (RGB). Decoding conventions:
 *  - the format is detected from the magic bytes, never from the extension;
 *  - alpha is DROPPED (RGBA -> RGB, grey+alpha -> grey), as OpenCV's
 *    imread(IMREAD_COLOR) does; pixels are not composited;
 *  - 16-bit PNG samples become 8-bit by rounding: (v*255 + 32767) / 65535;
 *  - palette PNGs become RGB, 1/2/4-bit grey is scaled to 8 bits,
 *    interlaced (Adam7) PNGs are de-interlaced;
 *  - JPEG is decoded with libjpeg's defaults (ISLOW DCT, fancy upsampling),
 *    which is what OpenCV's imread uses, so pixels agree exactly with cv2
 *    (after its BGR -> RGB swap). Grey JPEGs stay grey (c = 1). CMYK/YCCK
 *    JPEGs are refused (MINT_E_UNSUPPORTED). EXIF orientation is ignored.
 *  - a truncated or corrupt file is MINT_E_FORMAT (libjpeg's "premature end"
 *    and "corrupt data" warnings count as errors: no grey-filled guesses);
 *  - w*h above max_pixels is refused before any pixel buffer is allocated
 *    (decompression bombs). */
#ifndef MINT_IO_IMAGE_H
#define MINT_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

/* Default pixel limit used when max_pixels <= 0 (64 Mpx). */
#define IO_IMAGE_DEFAULT_MAX_PIXELS (64 * 1024 * 1024)

typedef struct {
    int w, h, c;   /* c = 1 (grey) or 3 (RGB) */
    uint8_t *px;   /* w*h*c bytes, owned (io_image_free) */
} io_image;

/* Decode a PNG or JPEG file. On failure *out is zeroed and the message
 * (starting with the path) is in mint_last_error(). */
mint_status io_image_load(const char *path, io_image *out, int max_pixels);

/* Same, from memory (tests, fuzzing). Messages name no file: the caller
 * adds one. */
mint_status io_image_load_mem(const void *data, size_t size, io_image *out,
                              int max_pixels);

/* Allocate a zero-filled w x h x c image (c = 1 or 3). */
mint_status io_image_alloc(io_image *out, int w, int h, int c);

/* Free the pixels and zero the struct (NULL and zeroed structs are fine). */
void io_image_free(io_image *img);

/* Write an 8-bit PNG (grey or RGB). Written to a temporary name in the same
 * directory and renamed into place, so a failure never leaves a half file. */
mint_status io_image_write_png(const char *path, const io_image *img);

#endif
