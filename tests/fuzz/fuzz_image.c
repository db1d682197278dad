/* fuzz_image.c - libFuzzer target for image decoding through the project's
 * wrapper (io/image.c over libpng and libjpeg-turbo), then alignment to the
 * 112x112 network input and the CHW conversion, as extraction does. Seeds:
 * tests/fuzz/corpus/image/ (the small committed PNG/JPEG fixtures, corrupt
 * ones included). The pixel limit keeps decompression bombs cheap. */
#include <stdint.h>
#include <stdlib.h>
#include "io/align.h"
#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    io_image img = { 0 }, out = { 0 };
    if (io_image_load_mem(data, size, &img, 1 << 20) != MINT_OK)
        return 0;
    if (img.w < 1 || img.h < 1 || (img.c != 1 && img.c != 3) || !img.px)
        abort(); /* contract: a decoded image is non-empty, grey or RGB */
    /* landmarks at fixed fractions of the image (a face-like layout) */
    const float fx[5] = { 0.35f, 0.65f, 0.5f, 0.38f, 0.62f }, fy[5] = { 0.4f, 0.4f, 0.55f, 0.7f, 0.7f };
    float lm[10];
    for (int k = 0; k < 5; k++)
        lm[2 * k] = fx[k] * (float)img.w, lm[2 * k + 1] = fy[k] * (float)img.h;
    if (io_align_face(&img, lm, &out) == MINT_OK) {
        static float chw[3 * IO_ALIGN_SIZE * IO_ALIGN_SIZE];
        const float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.5f, 0.5f };
        io_image_to_chw(&out, 3, mean, std, 0, chw);
        io_image_free(&out);
    }
    io_image_free(&img);
    return 0;
}
