/* fuzz_landmarks.c - libFuzzer target for the landmarks CSV reader
 * (io/landmarks.c) and the alignment that uses its rows (io/align.c): every
 * parsed row is looked up by name, its similarity transform estimated and
 * a small image warped with it. Seeds: tests/fuzz/corpus/landmarks/ (cut
 * from tests/fixtures/align/align.csv). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/align.h"
#include "io/landmarks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static io_image img;
    if (!img.px && io_image_alloc(&img, 40, 48, 3) != MINT_OK)
        abort();
    io_landmarks *lm = NULL;
    if (io_landmarks_parse((const char *)data, size, "fuzz.csv", &lm) != MINT_OK) {
        if (lm)
            abort(); /* contract: nothing returned on failure */
        return 0;
    }
    for (size_t i = 0; i < lm->n && i < 8; i++) {
        const io_landmark_row *r = &lm->rows[i];
        if (!r->file || io_landmarks_find_row(lm, r->file) == NULL)
            abort(); /* every row is found by its own name */
        float M[6];
        (void)io_align_estimate(r->pts, M);
        io_image out = { 0 };
        if (io_align_face(&img, r->pts, &out) == MINT_OK)
            io_image_free(&out);
    }
    io_landmarks_free(lm);
    return 0;
}
