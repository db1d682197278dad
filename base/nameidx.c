/* nameidx.c - string -> int index (see nameidx.h). */
#include <stdlib.h>
#include <string.h>
#include "base/nameidx.h"

uint64_t base_fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* offset basis (the three copies this replaces had lost its last digit) */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const base_nameidx *ix, const char *key)
{
    size_t m = ix->cap - 1, i = (size_t)base_fnv1a(key) & m;
    while (ix->keys[i] && strcmp(ix->keys[i], key) != 0)
        i = (i + 1) & m;
    return i;
}

static int resize(base_nameidx *ix, size_t cap)
{
    const char **nk = calloc(cap, sizeof *nk);
    int *nv = malloc(cap * sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    base_nameidx t = { nk, nv, cap, ix->n };
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->keys[i]) {
            size_t j = slot_of(&t, ix->keys[i]);
            nk[j] = ix->keys[i];
            nv[j] = ix->vals[i];
        }
    free(ix->keys);
    free(ix->vals);
    *ix = t;
    return 0;
}

int base_nameidx_reserve(base_nameidx *ix, size_t n)
{
    if (n > SIZE_MAX / 4 / sizeof(void *))
        return -1;
    size_t cap = ix->cap ? ix->cap : 64;
    while (cap < 2 * n)
        cap *= 2;
    return cap == ix->cap ? 0 : resize(ix, cap);
}

int base_nameidx_get(const base_nameidx *ix, const char *key)
{
    if (!ix->cap)
        return -1;
    size_t i = slot_of(ix, key);
    return ix->keys[i] ? ix->vals[i] : -1;
}

int base_nameidx_add(base_nameidx *ix, const char *key, int val)
{
    if (base_nameidx_reserve(ix, ix->n + 1))
        return -2;
    size_t i = slot_of(ix, key);
    if (ix->keys[i])
        return ix->vals[i];
    ix->keys[i] = key;
    ix->vals[i] = val;
    ix->n++;
    return -1;
}

int base_nameidx_put(base_nameidx *ix, const char *key, int val)
{
    if (base_nameidx_reserve(ix, ix->n + 1))
        return -1;
    size_t i = slot_of(ix, key);
    if (!ix->keys[i])
        ix->n++;
    ix->keys[i] = key;
    ix->vals[i] = val;
    return 0;
}

void base_nameidx_free(base_nameidx *ix)
{
    free(ix->keys);
    free(ix->vals);
    memset(ix, 0, sizeof *ix);
}
