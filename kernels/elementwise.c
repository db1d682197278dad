/* elementwise.c - threaded drivers of the element-wise microkernels
 * (affine = inference BatchNorm, PReLU, clip, add) and of channel max. Work is split into one
 * chunk per thread, aligned to 16 floats (one zmm) so that only the last
 * chunk has a tail; small tensors run serially because waking threads costs
 * more than the work. isa == NULL means kern_active(). */
#include <stddef.h>
#include "kernels.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements the drivers run on the calling thread. */
#define PAR_MIN_ELEMS 32768
#define ALIGN_ELEMS 16

static size_t max_threads(void)
{
#ifdef _OPENMP
    return (size_t)omp_get_max_threads();
#else
    return 1;
#endif
}

/* Chunk length (a multiple of `align`) splitting n over the threads; 0 means
 * "run serially". */
static size_t chunk_len(size_t n, size_t elem_size, size_t align)
{
    const size_t nt = max_threads();
    if (nt < 2 || n * elem_size < PAR_MIN_ELEMS)
        return 0;
    size_t ch = (n + nt - 1) / nt;
    ch = (ch + align - 1) / align * align;
    return ch >= n ? 0 : ch;
}

void kern_affine(const kern_isa *isa, size_t rows, size_t ch, const float *x,
                 const float *scale, const float *shift, float *y)
{
    if (!isa)
        isa = kern_active();
    /* ch == 1 rows are single floats: align row chunks to vectors. */
    const size_t len = chunk_len(rows, ch, ch == 1 ? ALIGN_ELEMS : 1);
    if (len == 0) {
        isa->affine(rows, ch, x, scale, shift, y);
        return;
    }
    const long nchunks = (long)((rows + len - 1) / len);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < nchunks; i++) {
        const size_t r0 = (size_t)i * len, r1 = r0 + len < rows ? r0 + len : rows;
        isa->affine(r1 - r0, ch, x + r0 * ch, scale, shift, y + r0 * ch);
    }
}

void kern_prelu(const kern_isa *isa, size_t rows, size_t ch, const float *x,
                const float *slope, float *y)
{
    if (!isa)
        isa = kern_active();
    const size_t len = chunk_len(rows, ch, ch == 1 ? ALIGN_ELEMS : 1);
    if (len == 0) {
        isa->prelu(rows, ch, x, slope, y);
        return;
    }
    const long nchunks = (long)((rows + len - 1) / len);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < nchunks; i++) {
        const size_t r0 = (size_t)i * len, r1 = r0 + len < rows ? r0 + len : rows;
        isa->prelu(r1 - r0, ch, x + r0 * ch, slope, y + r0 * ch);
    }
}

void kern_clip(const kern_isa *isa, size_t n, const float *x, float lo, float hi, float *y)
{
    if (!isa)
        isa = kern_active();
    const size_t len = chunk_len(n, 1, ALIGN_ELEMS);
    if (len == 0) {
        isa->clip(n, x, lo, hi, y);
        return;
    }
    const long nchunks = (long)((n + len - 1) / len);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < nchunks; i++) {
        const size_t i0 = (size_t)i * len, i1 = i0 + len < n ? i0 + len : n;
        isa->clip(i1 - i0, x + i0, lo, hi, y + i0);
    }
}

void kern_add(const kern_isa *isa, size_t n, const float *a, const float *b, float *y)
{
    if (!isa)
        isa = kern_active();
    const size_t len = chunk_len(n, 1, ALIGN_ELEMS);
    if (len == 0) {
        isa->add(n, a, b, y);
        return;
    }
    const long nchunks = (long)((n + len - 1) / len);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < nchunks; i++) {
        const size_t i0 = (size_t)i * len, i1 = i0 + len < n ? i0 + len : n;
        isa->add(i1 - i0, a + i0, b + i0, y + i0);
    }
}

void kern_chmax(const kern_isa *isa, size_t channels, size_t hw, const float *x, float *y)
{
    if (!isa)
        isa = kern_active();
    isa->chmax(channels, hw, x, y);
}
