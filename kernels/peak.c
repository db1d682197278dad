/* peak.c - dispatch of the FMA peak loops (see peak.h). */
#include <string.h>
#include "kernels.h"
#include "peak.h"

double kern_fmapeak(const char *isa, size_t iters)
{
    if (!isa || !kern_isa_find(isa))
        return 0.0;
    if (strcmp(isa, "scalar") == 0)
        return kern_f32_fmapeak__scalar(iters);
#if defined(__x86_64__)
    if (strcmp(isa, "avx2") == 0)
        return kern_f32_fmapeak__avx2(iters);
    if (strcmp(isa, "avx512") == 0)
        return kern_f32_fmapeak__avx512(iters);
#endif
#if defined(__aarch64__)
    if (strcmp(isa, "neon") == 0)
        return kern_f32_fmapeak__neon(iters);
#endif
    return 0.0;
}
