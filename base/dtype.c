/* dtype.c - element sizes and byte order (see dtype.h). */
#include <string.h>
#include "base/dtype.h"

size_t base_dtype_size(base_dtype t)
{
    switch (t) {
    case BASE_F32: return 4;
    case BASE_F16: return 2;
    case BASE_I64: return 8;
    case BASE_I32: return 4;
    case BASE_U8: return 1;
    }
    return 0;
}

int base_host_is_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void base_swap_elems(void *data, uint64_t n, size_t es)
{
    uint8_t *p = data;
    for (uint64_t i = 0; i < n; i++, p += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}
