/* idx.c - MNIST-style idx files (see idx.h). */
#include "io/idx.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "base/sha256.h"

#define IDX_MAX_SIDE 4096u
#define IDX_MAX_BYTES ((uint64_t)2 << 30)

void io_idx_free(io_idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Header checks shared by the parsers: *bytes = the data size the header
 * promises. */
static mint_status idx_header(const uint8_t *h, size_t have, const char *label, io_idx *out,
                              uint64_t *bytes)
{
    if (have < 4)
        return mint_fail(MINT_E_FORMAT, "%s: not an idx file: shorter than its 4-byte magic",
                         label);
    if (h[0] != 0 || h[1] != 0)
        return mint_fail(MINT_E_FORMAT, "%s: not an idx file (magic %02x %02x, expected 00 00)",
                         label, h[0], h[1]);
    if (h[2] != 0x08)
        return mint_fail(MINT_E_UNSUPPORTED, "%s: idx element type 0x%02x; only unsigned bytes "
                         "(0x08) are read", label, h[2]);
    if (h[3] != 1 && h[3] != 3)
        return mint_fail(MINT_E_UNSUPPORTED, "%s: idx rank %d; images (3) and labels (1) are "
                         "read", label, h[3]);
    out->rank = h[3];
    if (have < 4 + 4 * (size_t)out->rank)
        return mint_fail(MINT_E_FORMAT, "%s: truncated idx header", label);
    out->dims[1] = out->dims[2] = 1;
    for (int i = 0; i < out->rank; i++)
        out->dims[i] = be32(h + 4 + 4 * i);
    if (out->dims[0] < 1 || out->dims[0] > IO_IDX_MAX_ITEMS)
        return mint_fail(MINT_E_FORMAT, "%s: idx item count %u outside 1..%d", label,
                         out->dims[0], IO_IDX_MAX_ITEMS);
    if (out->dims[1] < 1 || out->dims[1] > IDX_MAX_SIDE || out->dims[2] < 1 ||
        out->dims[2] > IDX_MAX_SIDE)
        return mint_fail(MINT_E_FORMAT, "%s: idx image size %u x %u outside 1..%u", label,
                         out->dims[1], out->dims[2], IDX_MAX_SIDE);
    *bytes = (uint64_t)out->dims[0] * out->dims[1] * out->dims[2];
    if (*bytes > IDX_MAX_BYTES)
        return mint_fail(MINT_E_FORMAT, "%s: idx data of %llu bytes is above the 2 GiB limit",
                         label, (unsigned long long)*bytes);
    return MINT_OK;
}

mint_status io_idx_parse(const uint8_t *buf, size_t size, const char *label, io_idx *out)
{
    if (!out || (!buf && size) || !label)
        return mint_fail(MINT_E_ARG, "io_idx_parse: NULL argument");
    memset(out, 0, sizeof *out);
    uint64_t bytes = 0;
    mint_status st = idx_header(buf, size, label, out, &bytes);
    if (st != MINT_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    size_t hdr = 4 + 4 * (size_t)out->rank;
    if (size - hdr != bytes)
        return mint_fail(MINT_E_FORMAT, "%s: idx data is %zu bytes, its header says %llu (%s)",
                         label, size - hdr, (unsigned long long)bytes,
                         size - hdr < bytes ? "truncated" : "trailing bytes");
    out->data = malloc(bytes);
    if (!out->data)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory for %llu bytes", label,
                         (unsigned long long)bytes);
    memcpy(out->data, buf + hdr, bytes);
    return MINT_OK;
}

/* Read exactly n bytes from a gzFile: n, or fewer at end of data, or -1. */
static int64_t gz_read_all(gzFile f, uint8_t *dst, uint64_t n)
{
    uint64_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(f, dst + got, chunk);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (uint64_t)r;
    }
    return (int64_t)got;
}

mint_status io_idx_load(const char *path, io_idx *out)
{
    if (!out || !path)
        return mint_fail(MINT_E_ARG, "io_idx_load: NULL argument");
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    uint8_t h[16];
    int64_t have = gz_read_all(f, h, 4);
    if (have == 4 && (h[3] == 1 || h[3] == 3))
        have += gz_read_all(f, h + 4, 4 * (uint64_t)h[3]);
    uint64_t bytes = 0;
    mint_status st = have < 0 ? mint_fail(MINT_E_FORMAT, "%s: corrupt gzip data", path)
                              : idx_header(h, (size_t)have, path, out, &bytes);
    if (st == MINT_OK && !(out->data = malloc(bytes)))
        st = mint_fail(MINT_E_NOMEM, "%s: out of memory for %llu bytes", path,
                       (unsigned long long)bytes);
    if (st == MINT_OK) {
        int64_t got = gz_read_all(f, out->data, bytes);
        uint8_t extra;
        if (got < 0)
            st = mint_fail(MINT_E_FORMAT, "%s: corrupt gzip data", path);
        else if ((uint64_t)got < bytes)
            st = mint_fail(MINT_E_FORMAT, "%s: truncated: %lld of %llu data bytes", path,
                           (long long)got, (unsigned long long)bytes);
        else if (gz_read_all(f, &extra, 1) != 0)
            st = mint_fail(MINT_E_FORMAT, "%s: bytes after the %llu its header promises "
                           "(or corrupt gzip data)", path, (unsigned long long)bytes);
    }
    gzclose(f);
    if (st != MINT_OK)
        io_idx_free(out);
    return st;
}

int io_idx_ref(const char *name, char *file, size_t n, size_t *index)
{
    const char *hash = name ? strrchr(name, '#') : NULL;
    if (!hash || hash == name || !hash[1] || (size_t)(hash - name) >= n)
        return 0;
    size_t v = 0;
    for (const char *p = hash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > (SIZE_MAX - 9) / 10)
            return 0;
        v = v * 10 + (size_t)(*p - '0');
    }
    size_t len = (size_t)(hash - name);
    memcpy(file, name, len);
    file[len] = '\0';
    size_t l = len;
    int is_idx = strstr(file, "-idx") != NULL ||
                 (l >= 4 && !strcmp(file + l - 4, ".idx")) ||
                 (l >= 7 && !strcmp(file + l - 7, ".idx.gz"));
    if (!is_idx)
        return 0;
    *index = v;
    return 1;
}

int io_idx_labels_path(const char *images, char *out, size_t n)
{
    const char *p = images ? strstr(images, "images-idx3") : NULL;
    if (!p || strlen(images) + 1 > n)
        return -1;
    size_t pre = (size_t)(p - images);
    snprintf(out, n, "%.*slabels-idx1%s", (int)pre, images, p + strlen("images-idx3"));
    return 0;
}

/* ---- the cache of decoded image files ---- */
#define IDX_CACHE 4
static struct {
    char *path;
    io_idx x;
    uint64_t used;
} g_cache[IDX_CACHE];
static uint64_t g_tick;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* The cache slot holding path, loading it (evicting the least recently
 * used) if needed; called with the lock held. */
static mint_status cache_get(const char *path, io_idx **x)
{
    int victim = 0;
    for (int i = 0; i < IDX_CACHE; i++) {
        if (g_cache[i].path && !strcmp(g_cache[i].path, path)) {
            g_cache[i].used = ++g_tick;
            *x = &g_cache[i].x;
            return MINT_OK;
        }
        if (g_cache[i].used < g_cache[victim].used)
            victim = i;
    }
    io_idx fresh;
    mint_status st = io_idx_load(path, &fresh);
    if (st != MINT_OK)
        return st;
    if (fresh.rank != 3) {
        io_idx_free(&fresh);
        return mint_fail(MINT_E_FORMAT, "%s: an idx labels file, not images", path);
    }
    char *copy = strdup(path);
    if (!copy) {
        io_idx_free(&fresh);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    free(g_cache[victim].path);
    io_idx_free(&g_cache[victim].x);
    g_cache[victim].path = copy;
    g_cache[victim].x = fresh;
    g_cache[victim].used = ++g_tick;
    *x = &g_cache[victim].x;
    return MINT_OK;
}

mint_status io_idx_image(const char *file, size_t index, io_image *out)
{
    if (!file || !out)
        return mint_fail(MINT_E_ARG, "io_idx_image: NULL argument");
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g_lock);
    io_idx *x = NULL;
    mint_status st = cache_get(file, &x);
    if (st == MINT_OK && index >= x->dims[0])
        st = mint_fail(MINT_E_ARG, "%s#%zu: the file holds %u images (0..%u)", file, index,
                       x->dims[0], x->dims[0] - 1);
    if (st == MINT_OK)
        st = io_image_alloc(out, (int)x->dims[2], (int)x->dims[1], 1);
    if (st == MINT_OK) {
        size_t sz = (size_t)x->dims[1] * x->dims[2];
        memcpy(out->px, x->data + index * sz, sz);
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}

int io_idx_is_ref(const char *path, char *file, size_t n, size_t *index)
{
    struct stat sb;
    return io_idx_ref(path, file, n, index) && stat(path, &sb) != 0;
}

mint_status io_image_sha256(const char *path, char hex[65])
{
    char file[4096];
    size_t i;
    if (!path)
        return mint_fail(MINT_E_ARG, "io_image_sha256: NULL path");
    if (!io_idx_is_ref(path, file, sizeof file, &i))
        return base_sha256_file(path, hex);
    io_image img;
    mint_status st = io_idx_image(file, i, &img);
    if (st != MINT_OK)
        return st;
    uint8_t dg[32];
    base_sha256 h;
    base_sha256_init(&h);
    base_sha256_update(&h, img.px, (size_t)img.w * img.h);
    base_sha256_final(&h, dg);
    base_sha256_hex(dg, hex);
    io_image_free(&img);
    return MINT_OK;
}
