/* container.c - reader and writer of the mint weight container
 * (specification: docs/format.md, section 1).
 *
 * The reader treats the file as hostile: every count, length, offset and size
 * is checked against the file size with overflow-safe arithmetic before it is
 * used, integers are decoded byte-wise as little-endian (so big-endian hosts
 * read the same files), and names are copied out as NUL-terminated strings.
 * The checks follow the spirit of GGUF's loader; the code is our own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/file.h"
#include "base/nameidx.h"
#include "weights/container.h"

#define WT_VERSION 1u
#define WT_HEADER_SIZE 32u
#define WT_MIN_META_ENTRY 16u   /* key_len 4 + key >= 1 + type 4 + value >= 8, rounded down */
#define WT_MIN_TENSOR_ENTRY 21u /* name_len 4 + name 1 + dtype 4 + rank 4 + offset 8 */

static const uint8_t wt_magic[8] = { 'M', 'I', 'N', 'T', 'W', 'T', 0, 0 };

static const char *dtype_name(base_dtype t)
{
    switch (t) {
    case BASE_F32: return "f32";
    case BASE_F16: return "f16";
    case BASE_I64: return "i64";
    case BASE_I32: return "i32";
    case BASE_U8: return "u8";
    }
    return "?";
}

/* ---- little-endian helpers ---- */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A name made safe to print in a message: at most 60 bytes, non-printable
 * bytes shown as '?'. */
static const char *show(const char *s, char buf[72])
{
    size_t i = 0;
    for (; s[i] && i < 60; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* ---- reader ---- */

struct wt_file {
    const uint8_t *base;
    size_t size;
    void *map;        /* mmap base, NULL for wt_open_mem */
    char *fname;      /* for messages */
    wt_meta *meta;
    int nmeta;
    wt_tensor *tensors;
    int ntensors;
    base_nameidx mindex, tindex; /* key / name -> entry */
    void **copies;    /* big-endian hosts: byte-swapped tensor copies */
};

typedef struct {
    const uint8_t *p;
    size_t size, pos;
    const char *fname;
} reader;

/* Fail unless n more bytes are available; what/idx/part name the field. */
static mint_status need(reader *r, uint64_t n, const char *what, int64_t idx, const char *part)
{
    if (n <= r->size - r->pos)
        return MINT_OK;
    char where[64] = "";
    if (idx >= 0)
        snprintf(where, sizeof where, " %lld", (long long)idx);
    return mint_fail(MINT_E_FORMAT,
                     "%s: truncated: %s%s %s at offset %zu needs %llu bytes but the file has %zu",
                     r->fname, what, where, part, r->pos, (unsigned long long)n, r->size);
}

static mint_status read_u32(reader *r, uint32_t *v, const char *what, int64_t idx, const char *part)
{
    mint_status st = need(r, 4, what, idx, part);
    if (st)
        return st;
    *v = get_u32(r->p + r->pos);
    r->pos += 4;
    return MINT_OK;
}

static mint_status read_u64(reader *r, uint64_t *v, const char *what, int64_t idx, const char *part)
{
    mint_status st = need(r, 8, what, idx, part);
    if (st)
        return st;
    *v = get_u64(r->p + r->pos);
    r->pos += 8;
    return MINT_OK;
}

/* u32 length + bytes -> heap string; refuses empty names and NUL bytes. */
static mint_status read_name(reader *r, char **out, const char *what, int64_t idx)
{
    uint32_t len;
    mint_status st = read_u32(r, &len, what, idx, "name length");
    if (st)
        return st;
    if (len == 0)
        return mint_fail(MINT_E_FORMAT, "%s: %s %lld has an empty name (offset %zu)", r->fname,
                         what, (long long)idx, r->pos - 4);
    if ((st = need(r, len, what, idx, "name")))
        return st;
    const uint8_t *s = r->p + r->pos;
    if (memchr(s, 0, len))
        return mint_fail(MINT_E_FORMAT, "%s: %s %lld name at offset %zu contains a NUL byte",
                         r->fname, what, (long long)idx, r->pos);
    char *c = malloc((size_t)len + 1);
    if (!c)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory reading %s %lld name", r->fname, what,
                         (long long)idx);
    memcpy(c, s, len);
    c[len] = '\0';
    r->pos += len;
    *out = c;
    return MINT_OK;
}

static mint_status parse_meta(wt_file *f, reader *r, int i)
{
    wt_meta *m = &f->meta[i];
    char nb[72];
    mint_status st = read_name(r, (char **)&m->key, "metadata entry", i);
    if (st)
        return st;
    f->nmeta = i + 1; /* owns the key now */
    uint32_t type;
    if ((st = read_u32(r, &type, "metadata entry", i, "type")))
        return st;
    uint64_t v, n;
    switch (type) {
    case WT_META_STR: {
        if ((st = read_u64(r, &n, "metadata entry", i, "string length")) ||
            (st = need(r, n, "metadata entry", i, "string")))
            return st;
        char *s = malloc((size_t)n + 1);
        if (!s)
            return mint_fail(MINT_E_NOMEM, "%s: out of memory for metadata '%s'", r->fname,
                             show(m->key, nb));
        memcpy(s, r->p + r->pos, (size_t)n);
        s[n] = '\0';
        r->pos += (size_t)n;
        m->str = s;
        m->len = n;
        break;
    }
    case WT_META_I64:
        if ((st = read_u64(r, &v, "metadata entry", i, "value")))
            return st;
        memcpy(&m->i64, &v, 8); /* two's complement reinterpretation */
        break;
    case WT_META_F64:
        if ((st = read_u64(r, &v, "metadata entry", i, "value")))
            return st;
        memcpy(&m->f64, &v, 8);
        break;
    case WT_META_F32_ARR:
    case WT_META_I64_ARR: {
        size_t es = type == WT_META_F32_ARR ? 4 : 8;
        if ((st = read_u64(r, &n, "metadata entry", i, "array count")))
            return st;
        if (n > (r->size - r->pos) / es)
            return mint_fail(MINT_E_FORMAT,
                             "%s: metadata '%s': array of %llu elements at offset %zu extends past end of file (%zu bytes)",
                             r->fname, show(m->key, nb), (unsigned long long)n, r->pos, r->size);
        void *a = malloc(n ? (size_t)n * es : 1);
        if (!a)
            return mint_fail(MINT_E_NOMEM, "%s: out of memory for metadata '%s'", r->fname,
                             show(m->key, nb));
        const uint8_t *p = r->p + r->pos;
        for (uint64_t k = 0; k < n; k++) {
            if (es == 4) {
                uint32_t b = get_u32(p + 4 * k);
                memcpy((float *)a + k, &b, 4);
            } else {
                uint64_t b = get_u64(p + 8 * k);
                memcpy((int64_t *)a + k, &b, 8);
            }
        }
        r->pos += (size_t)n * es;
        if (es == 4)
            m->f32 = a;
        else
            m->i64s = a;
        m->count = n;
        break;
    }
    default:
        return mint_fail(MINT_E_FORMAT, "%s: metadata '%s' has unknown type %u (offset %zu)",
                         r->fname, show(m->key, nb), type, r->pos - 4);
    }
    m->type = (wt_meta_type)type;
    int dup = base_nameidx_add(&f->mindex, m->key, i); /* room reserved: never -2 */
    if (dup >= 0)
        return mint_fail(MINT_E_FORMAT, "%s: duplicate metadata key '%s' (entries %d and %d)",
                         r->fname, show(m->key, nb), dup, i);
    return MINT_OK;
}

static mint_status parse_tensor(wt_file *f, reader *r, int i, uint64_t *offset, uint64_t *nbytes)
{
    wt_tensor *t = &f->tensors[i];
    char nb[72];
    mint_status st = read_name(r, (char **)&t->name, "tensor", i);
    if (st)
        return st;
    f->ntensors = i + 1;
    uint32_t dtype, rank;
    if ((st = read_u32(r, &dtype, "tensor", i, "dtype")))
        return st;
    if (dtype > BASE_U8 || base_dtype_size((base_dtype)dtype) == 0)
        return mint_fail(MINT_E_FORMAT, "%s: tensor '%s' has unknown dtype %u (offset %zu)",
                         r->fname, show(t->name, nb), dtype, r->pos - 4);
    t->dtype = (base_dtype)dtype;
    if ((st = read_u32(r, &rank, "tensor", i, "rank")))
        return st;
    if (rank > WT_MAX_RANK)
        return mint_fail(MINT_E_FORMAT, "%s: tensor '%s' has rank %u (at most %d) at offset %zu",
                         r->fname, show(t->name, nb), rank, WT_MAX_RANK, r->pos - 4);
    t->rank = (int)rank;
    uint64_t nelem = 1;
    for (uint32_t d = 0; d < rank; d++) {
        uint64_t dim;
        if ((st = read_u64(r, &dim, "tensor", i, "dims")))
            return st;
        if (dim > (uint64_t)INT64_MAX) {
            int64_t sd;
            memcpy(&sd, &dim, 8);
            return mint_fail(MINT_E_FORMAT, "%s: tensor '%s' dim %u is negative (%lld) at offset %zu",
                             r->fname, show(t->name, nb), d, (long long)sd, r->pos - 8);
        }
        t->dims[d] = (int64_t)dim;
        if (__builtin_mul_overflow(nelem, dim, &nelem))
            return mint_fail(MINT_E_FORMAT, "%s: tensor '%s': element count overflows 64 bits",
                             r->fname, show(t->name, nb));
    }
    uint64_t bytes;
    if (__builtin_mul_overflow(nelem, (uint64_t)base_dtype_size(t->dtype), &bytes) ||
        bytes > (uint64_t)SIZE_MAX)
        return mint_fail(MINT_E_FORMAT, "%s: tensor '%s': %llu elements of %s overflow the byte size",
                         r->fname, show(t->name, nb), (unsigned long long)nelem, dtype_name(t->dtype));
    t->nelem = nelem;
    *nbytes = bytes;
    if ((st = read_u64(r, offset, "tensor", i, "offset")))
        return st;
    int dup = base_nameidx_add(&f->tindex, t->name, i); /* room reserved: never -2 */
    if (dup >= 0)
        return mint_fail(MINT_E_FORMAT, "%s: duplicate tensor name '%s' (entries %d and %d)",
                         r->fname, show(t->name, nb), dup, i);
    return MINT_OK;
}

typedef struct {
    uint64_t off, end;
    int idx;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->idx - y->idx;
}

/* The fixed header: magic, version, alignment, and entry counts that the
 * file can hold. */
static mint_status parse_header(const wt_file *f, uint32_t *align_out, uint64_t *n_meta_out,
                                uint64_t *n_tensors_out)
{
    if (f->size == 0)
        return mint_fail(MINT_E_FORMAT, "%s: empty file, not a mint weight file", f->fname);
    size_t cmp = f->size < 8 ? f->size : 8;
    if (memcmp(f->base, wt_magic, cmp) != 0)
        return mint_fail(MINT_E_FORMAT, "%s: not a mint weight file (bad magic)", f->fname);
    if (f->size < WT_HEADER_SIZE)
        return mint_fail(MINT_E_FORMAT, "%s: truncated header (%zu of %u bytes)", f->fname,
                         f->size, WT_HEADER_SIZE);
    uint32_t version = get_u32(f->base + 8), align = get_u32(f->base + 12);
    uint64_t n_meta = get_u64(f->base + 16), n_tensors = get_u64(f->base + 24);
    if (version != WT_VERSION)
        return mint_fail(MINT_E_FORMAT, "%s: version %u not supported by this mint (%u)", f->fname,
                         version, WT_VERSION);
    if (align < 64 || align > 4096 || (align & (align - 1)))
        return mint_fail(MINT_E_FORMAT,
                         "%s: alignment %u is not a power of two in [64, 4096] (offset 12)",
                         f->fname, align);
    size_t rest = f->size - WT_HEADER_SIZE;
    if (n_meta > rest / WT_MIN_META_ENTRY || n_meta > INT_MAX)
        return mint_fail(MINT_E_FORMAT, "%s: %llu metadata entries cannot fit in %zu bytes",
                         f->fname, (unsigned long long)n_meta, f->size);
    if (n_tensors > rest / WT_MIN_TENSOR_ENTRY || n_tensors > INT_MAX)
        return mint_fail(MINT_E_FORMAT, "%s: %llu tensors cannot fit in %zu bytes", f->fname,
                         (unsigned long long)n_tensors, f->size);
    if (n_meta * WT_MIN_META_ENTRY + n_tensors * WT_MIN_TENSOR_ENTRY > rest)
        return mint_fail(MINT_E_FORMAT,
                         "%s: %llu metadata entries and %llu tensors cannot fit in %zu bytes",
                         f->fname, (unsigned long long)n_meta, (unsigned long long)n_tensors,
                         f->size);
    *align_out = align;
    *n_meta_out = n_meta;
    *n_tensors_out = n_tensors;
    return MINT_OK;
}

/* Tensor data in the data section (which starts, aligned, after the table
 * ending at table_end): aligned, inside the file, not overlapping. */
static mint_status place_tensors(wt_file *f, size_t table_end, uint32_t align, int n_tensors,
                                 const uint64_t *offs, const uint64_t *sizes, span *spans)
{
    char nb[72], nb2[72];
    /* table_end <= size, so no overflow. */
    uint64_t data_start = ((uint64_t)table_end + align - 1) / align * align;
    if (data_start > f->size)
        return mint_fail(MINT_E_FORMAT,
                         "%s: file ends at %zu, inside the padding before the data section (%llu)",
                         f->fname, f->size, (unsigned long long)data_start);
    uint64_t avail = f->size - data_start;
    for (int i = 0; i < n_tensors; i++) {
        wt_tensor *t = &f->tensors[i];
        if (offs[i] % align)
            return mint_fail(MINT_E_FORMAT, "%s: tensor '%s' data offset %llu is not a multiple of %u",
                             f->fname, show(t->name, nb), (unsigned long long)offs[i], align);
        if (offs[i] > avail || sizes[i] > avail - offs[i])
            return mint_fail(MINT_E_FORMAT,
                             "%s: tensor '%s' data [offset %llu after data start %llu, %llu bytes] extends past end of file (%zu bytes)",
                             f->fname, show(t->name, nb), (unsigned long long)offs[i],
                             (unsigned long long)data_start, (unsigned long long)sizes[i], f->size);
        spans[i] = (span){ offs[i], offs[i] + sizes[i], i };
        t->data = f->base + data_start + offs[i];
    }
    qsort(spans, (size_t)n_tensors, sizeof *spans, span_cmp);
    uint64_t reach = 0;
    int last = -1;
    for (int k = 0; k < n_tensors; k++) {
        if (spans[k].end == spans[k].off)
            continue; /* empty tensors occupy nothing */
        if (last >= 0 && spans[k].off < reach)
            return mint_fail(MINT_E_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section",
                             f->fname, show(f->tensors[last].name, nb),
                             show(f->tensors[spans[k].idx].name, nb2));
        reach = spans[k].end;
        last = spans[k].idx;
    }
    return MINT_OK;
}

/* The file is little-endian: give big-endian hosts swapped copies. */
static mint_status swap_copies(wt_file *f, int n_tensors, const uint64_t *sizes)
{
    char nb[72];
    f->copies = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *f->copies);
    if (!f->copies)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", f->fname);
    for (int i = 0; i < n_tensors; i++) {
        wt_tensor *t = &f->tensors[i];
        size_t es = base_dtype_size(t->dtype);
        if (es == 1 || sizes[i] == 0)
            continue;
        if (posix_memalign(&f->copies[i], WT_ALIGN, (size_t)sizes[i]))
            return mint_fail(MINT_E_NOMEM, "%s: out of memory for tensor '%s'", f->fname,
                             show(t->name, nb));
        memcpy(f->copies[i], t->data, (size_t)sizes[i]);
        base_swap_elems(f->copies[i], t->nelem, es);
        t->data = f->copies[i];
    }
    return MINT_OK;
}

static mint_status parse(wt_file *f)
{
    reader r = { f->base, f->size, 0, f->fname };
    uint32_t align = 0;
    uint64_t n_meta = 0, n_tensors = 0;
    mint_status st = parse_header(f, &align, &n_meta, &n_tensors);
    if (st)
        return st;
    r.pos = WT_HEADER_SIZE;
    f->meta = calloc(n_meta ? (size_t)n_meta : 1, sizeof *f->meta);
    f->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *f->tensors);
    uint64_t *offs = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *offs);
    uint64_t *sizes = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *sizes);
    span *spans = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *spans);
    if (!f->meta || !f->tensors || !offs || !sizes || !spans ||
        base_nameidx_reserve(&f->mindex, (size_t)n_meta) ||
        base_nameidx_reserve(&f->tindex, (size_t)n_tensors))
        st = mint_fail(MINT_E_NOMEM, "%s: out of memory for %llu tensors", f->fname,
                       (unsigned long long)n_tensors);
    for (int i = 0; !st && i < (int)n_meta; i++)
        st = parse_meta(f, &r, i);
    for (int i = 0; !st && i < (int)n_tensors; i++)
        st = parse_tensor(f, &r, i, &offs[i], &sizes[i]);
    if (!st)
        st = place_tensors(f, r.pos, align, (int)n_tensors, offs, sizes, spans);
    if (!st && !base_host_is_le())
        st = swap_copies(f, (int)n_tensors, sizes);
    free(offs);
    free(sizes);
    free(spans);
    return st;
}

static mint_status open_common(wt_file **out, wt_file *f)
{
    mint_status st = parse(f);
    if (st) {
        wt_close(f);
        return st;
    }
    *out = f;
    return MINT_OK;
}

mint_status wt_open_mem(wt_file **out, const void *buf, size_t size)
{
    if (!out || (!buf && size))
        return mint_fail(MINT_E_ARG, "wt_open_mem: NULL argument");
    *out = NULL;
    if ((uintptr_t)buf % WT_ALIGN)
        return mint_fail(MINT_E_ARG, "wt_open_mem: buffer must be %d-byte aligned", WT_ALIGN);
    wt_file *f = calloc(1, sizeof *f);
    if (!f || !(f->fname = strdup("<memory>"))) {
        free(f);
        return mint_fail(MINT_E_NOMEM, "out of memory opening weights");
    }
    static const uint8_t empty[1];
    f->base = size ? buf : empty;
    f->size = size;
    return open_common(out, f);
}

mint_status wt_open(wt_file **out, const char *path)
{
    if (!out || !path)
        return mint_fail(MINT_E_ARG, "wt_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return mint_fail(MINT_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mint_fail(MINT_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return mint_fail(MINT_E_UNSUPPORTED, "%s: file too large for this host", path);
    }
    wt_file *f = calloc(1, sizeof *f);
    if (!f || !(f->fname = strdup(path))) {
        free(f);
        close(fd);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    }
    f->size = (size_t)sb.st_size;
    if (f->size == 0) {
        close(fd);
        static const uint8_t empty[1];
        f->base = empty;
        return open_common(out, f); /* reports "empty file" */
    }
    void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        free(f->fname);
        free(f);
        return mint_fail(MINT_E_IO, "%s: cannot mmap %zu bytes: %s", path, (size_t)sb.st_size,
                         strerror(e));
    }
    f->map = p;
    f->base = p;
    return open_common(out, f);
}

void wt_close(wt_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nmeta; i++) {
        free((void *)f->meta[i].key);
        free((void *)f->meta[i].str);
        free((void *)f->meta[i].f32);
        free((void *)f->meta[i].i64s);
    }
    for (int i = 0; i < f->ntensors; i++) {
        free((void *)f->tensors[i].name);
        if (f->copies)
            free(f->copies[i]);
    }
    free(f->copies);
    free(f->meta);
    free(f->tensors);
    base_nameidx_free(&f->mindex);
    base_nameidx_free(&f->tindex);
    if (f->map)
        munmap(f->map, f->size);
    free(f->fname);
    free(f);
}

int wt_meta_count(const wt_file *f) { return f ? f->nmeta : 0; }

const wt_meta *wt_meta_at(const wt_file *f, int i)
{
    return f && i >= 0 && i < f->nmeta ? &f->meta[i] : NULL;
}

const wt_meta *wt_meta_find(const wt_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    int i = base_nameidx_get(&f->mindex, key);
    return i >= 0 ? &f->meta[i] : NULL;
}

int wt_tensor_count(const wt_file *f) { return f ? f->ntensors : 0; }

const wt_tensor *wt_tensor_at(const wt_file *f, int i)
{
    return f && i >= 0 && i < f->ntensors ? &f->tensors[i] : NULL;
}

const wt_tensor *wt_tensor_find(const wt_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    int i = base_nameidx_get(&f->tindex, name);
    return i >= 0 ? &f->tensors[i] : NULL;
}

static void fmt_shape(char *buf, size_t cap, int rank, const int64_t *dims)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

mint_status wt_tensor_get(const wt_file *f, const char *name, base_dtype dtype, int rank,
                          const int64_t *dims, const wt_tensor **out)
{
    char nb[72];
    if (out)
        *out = NULL;
    if (!f || !name || !out)
        return mint_fail(MINT_E_ARG, "wt_tensor_get: NULL argument");
    const wt_tensor *t = wt_tensor_find(f, name);
    if (!t)
        return mint_fail(MINT_E_NOTFOUND, "%s: no tensor named '%s'", f->fname, show(name, nb));
    if (t->dtype != dtype)
        return mint_fail(MINT_E_SHAPE, "%s: tensor '%s' has dtype %s, expected %s", f->fname,
                         show(name, nb), dtype_name(t->dtype), dtype_name(dtype));
    if (rank >= 0) {
        char have[200], want[200];
        fmt_shape(have, sizeof have, t->rank, t->dims);
        if (t->rank != rank)
            return mint_fail(MINT_E_SHAPE, "%s: tensor '%s' has rank %d %s, expected rank %d",
                             f->fname, show(name, nb), t->rank, have, rank);
        for (int i = 0; dims && i < rank; i++)
            if (dims[i] >= 0 && dims[i] != t->dims[i]) {
                fmt_shape(want, sizeof want, rank, dims);
                return mint_fail(MINT_E_SHAPE,
                                 "%s: tensor '%s' has shape %s, expected %s (dim %d is %lld, not %lld)",
                                 f->fname, show(name, nb), have, want, i, (long long)t->dims[i],
                                 (long long)dims[i]);
            }
    }
    *out = t;
    return MINT_OK;
}

void wt_file_sha256(const wt_file *f, char hex[65])
{
    base_sha256 s;
    uint8_t d[32];
    base_sha256_init(&s);
    if (f)
        base_sha256_update(&s, f->base, f->size);
    base_sha256_final(&s, d);
    base_sha256_hex(d, hex);
}

/* ---- writer ---- */

typedef struct {
    char *name;
    base_dtype dtype;
    int rank;
    int64_t dims[WT_MAX_RANK];
    uint64_t nelem, nbytes, offset;
    const void *data;
} wtens;

struct wt_writer {
    wt_meta *meta;
    size_t nmeta, cap_meta;
    wtens *t;
    size_t nt, cap_t;
};

wt_writer *wt_writer_new(void) { return calloc(1, sizeof(wt_writer)); }

void wt_writer_free(wt_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nmeta; i++) {
        free((void *)w->meta[i].key);
        free((void *)w->meta[i].str);
        free((void *)w->meta[i].f32);
        free((void *)w->meta[i].i64s);
    }
    for (size_t i = 0; i < w->nt; i++)
        free(w->t[i].name);
    free(w->meta);
    free(w->t);
    free(w);
}

static mint_status check_name(const char *what, const char *name)
{
    if (!name || !*name)
        return mint_fail(MINT_E_ARG, "weight writer: empty %s name", what);
    if (strlen(name) > UINT32_MAX)
        return mint_fail(MINT_E_ARG, "weight writer: %s name too long", what);
    return MINT_OK;
}

/* Append a metadata slot for key (checked unique); returns NULL on error. */
static wt_meta *add_meta(wt_writer *w, const char *key, wt_meta_type type, mint_status *st)
{
    char nb[72];
    if (!w) {
        *st = mint_fail(MINT_E_ARG, "weight writer: NULL writer");
        return NULL;
    }
    if ((*st = check_name("metadata key", key)))
        return NULL;
    for (size_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            *st = mint_fail(MINT_E_ARG, "weight writer: duplicate metadata key '%s'", show(key, nb));
            return NULL;
        }
    if (w->nmeta == w->cap_meta) {
        size_t nc = w->cap_meta ? w->cap_meta * 2 : 16;
        wt_meta *p = realloc(w->meta, nc * sizeof *p);
        if (!p) {
            *st = mint_fail(MINT_E_NOMEM, "weight writer: out of memory");
            return NULL;
        }
        w->meta = p;
        w->cap_meta = nc;
    }
    wt_meta *m = &w->meta[w->nmeta];
    memset(m, 0, sizeof *m);
    if (!(m->key = strdup(key))) {
        *st = mint_fail(MINT_E_NOMEM, "weight writer: out of memory");
        return NULL;
    }
    m->type = type;
    w->nmeta++;
    *st = MINT_OK;
    return m;
}

mint_status wt_writer_meta_str(wt_writer *w, const char *key, const char *val)
{
    mint_status st;
    if (!val)
        return mint_fail(MINT_E_ARG, "weight writer: NULL string for '%s'", key ? key : "?");
    char *c = strdup(val);
    if (!c)
        return mint_fail(MINT_E_NOMEM, "weight writer: out of memory");
    wt_meta *m = add_meta(w, key, WT_META_STR, &st);
    if (!m) {
        free(c);
        return st;
    }
    m->str = c;
    m->len = strlen(c);
    return MINT_OK;
}

mint_status wt_writer_meta_i64(wt_writer *w, const char *key, int64_t v)
{
    mint_status st;
    wt_meta *m = add_meta(w, key, WT_META_I64, &st);
    if (m)
        m->i64 = v;
    return st;
}

mint_status wt_writer_meta_f64(wt_writer *w, const char *key, double v)
{
    mint_status st;
    wt_meta *m = add_meta(w, key, WT_META_F64, &st);
    if (m)
        m->f64 = v;
    return st;
}

static mint_status meta_arr(wt_writer *w, const char *key, wt_meta_type type, const void *v,
                            size_t n, size_t es)
{
    mint_status st;
    if (n && !v)
        return mint_fail(MINT_E_ARG, "weight writer: NULL array for '%s'", key ? key : "?");
    if (n > SIZE_MAX / es)
        return mint_fail(MINT_E_ARG, "weight writer: array too large for '%s'", key ? key : "?");
    void *c = malloc(n ? n * es : 1);
    if (!c)
        return mint_fail(MINT_E_NOMEM, "weight writer: out of memory");
    if (n)
        memcpy(c, v, n * es);
    wt_meta *m = add_meta(w, key, type, &st);
    if (!m) {
        free(c);
        return st;
    }
    if (type == WT_META_F32_ARR)
        m->f32 = c;
    else
        m->i64s = c;
    m->count = n;
    return MINT_OK;
}

mint_status wt_writer_meta_f32_arr(wt_writer *w, const char *key, const float *v, size_t n)
{
    return meta_arr(w, key, WT_META_F32_ARR, v, n, 4);
}

mint_status wt_writer_meta_i64_arr(wt_writer *w, const char *key, const int64_t *v, size_t n)
{
    return meta_arr(w, key, WT_META_I64_ARR, v, n, 8);
}

mint_status wt_writer_tensor(wt_writer *w, const char *name, base_dtype dtype, int rank,
                             const int64_t *dims, const void *data)
{
    char nb[72];
    mint_status st;
    if (!w)
        return mint_fail(MINT_E_ARG, "weight writer: NULL writer");
    if ((st = check_name("tensor", name)))
        return st;
    size_t es = base_dtype_size(dtype);
    if (!es)
        return mint_fail(MINT_E_ARG, "weight writer: tensor '%s': unknown dtype %d", show(name, nb),
                         (int)dtype);
    if (rank < 0 || rank > WT_MAX_RANK || (rank && !dims))
        return mint_fail(MINT_E_ARG, "weight writer: tensor '%s': bad rank %d", show(name, nb), rank);
    uint64_t nelem = 1, nbytes;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return mint_fail(MINT_E_ARG, "weight writer: tensor '%s': negative dim %d",
                             show(name, nb), i);
        if (__builtin_mul_overflow(nelem, (uint64_t)dims[i], &nelem))
            return mint_fail(MINT_E_ARG, "weight writer: tensor '%s': size overflow", show(name, nb));
    }
    if (__builtin_mul_overflow(nelem, (uint64_t)es, &nbytes) || nbytes > (uint64_t)SIZE_MAX / 2)
        return mint_fail(MINT_E_ARG, "weight writer: tensor '%s': size overflow", show(name, nb));
    if (nbytes && !data)
        return mint_fail(MINT_E_ARG, "weight writer: tensor '%s': NULL data", show(name, nb));
    for (size_t i = 0; i < w->nt; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return mint_fail(MINT_E_ARG, "weight writer: duplicate tensor name '%s'", show(name, nb));
    if (w->nt == w->cap_t) {
        size_t nc = w->cap_t ? w->cap_t * 2 : 64;
        wtens *p = realloc(w->t, nc * sizeof *p);
        if (!p)
            return mint_fail(MINT_E_NOMEM, "weight writer: out of memory");
        w->t = p;
        w->cap_t = nc;
    }
    wtens *t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return mint_fail(MINT_E_NOMEM, "weight writer: out of memory");
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    t->nelem = nelem;
    t->nbytes = nbytes;
    t->data = data;
    w->nt++;
    return MINT_OK;
}

/* Growable byte buffer for the header and table. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} bytebuf;

static void bb_put(bytebuf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (n > b->cap - b->n) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc - b->n < n) {
            if (nc > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            nc *= 2;
        }
        uint8_t *p = realloc(b->p, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void bb_u32(bytebuf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    bb_put(b, x, 4);
}

static void bb_u64(bytebuf *b, uint64_t v)
{
    bb_u32(b, (uint32_t)v);
    bb_u32(b, (uint32_t)(v >> 32));
}

static void bb_name(bytebuf *b, const char *s)
{
    size_t n = strlen(s);
    bb_u32(b, (uint32_t)n);
    bb_put(b, s, n);
}

static mint_status write_zeros(base_afile *a, uint64_t n)
{
    static const uint8_t zeros[WT_ALIGN * 64];
    mint_status st = MINT_OK;
    while (n && !st) {
        size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
        st = base_afile_write(a, zeros, k);
        n -= k;
    }
    return st;
}

/* Tensor data in file byte order (little-endian). */
static mint_status write_data(base_afile *a, const wtens *t)
{
    size_t es = base_dtype_size(t->dtype);
    if (base_host_is_le() || es == 1)
        return base_afile_write(a, t->data, (size_t)t->nbytes);
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", a->tmp);
    mint_status st = MINT_OK;
    const uint8_t *src = t->data;
    for (uint64_t done = 0; done < t->nbytes && !st;) {
        size_t k = t->nbytes - done > CHUNK ? CHUNK : (size_t)(t->nbytes - done);
        memcpy(buf, src + done, k);
        base_swap_elems(buf, k / es, es);
        st = base_afile_write(a, buf, k);
        done += k;
    }
    free(buf);
    return st;
}

mint_status wt_writer_write(wt_writer *w, const char *path)
{
    if (!w || !path || !*path)
        return mint_fail(MINT_E_ARG, "wt_writer_write: NULL argument");
    bytebuf b = { 0 };
    bb_put(&b, wt_magic, 8);
    bb_u32(&b, WT_VERSION);
    bb_u32(&b, WT_ALIGN);
    bb_u64(&b, w->nmeta);
    bb_u64(&b, w->nt);
    for (size_t i = 0; i < w->nmeta; i++) {
        const wt_meta *m = &w->meta[i];
        bb_name(&b, m->key);
        bb_u32(&b, (uint32_t)m->type);
        uint64_t v;
        switch (m->type) {
        case WT_META_STR:
            bb_u64(&b, m->len);
            bb_put(&b, m->str, (size_t)m->len);
            break;
        case WT_META_I64:
            memcpy(&v, &m->i64, 8);
            bb_u64(&b, v);
            break;
        case WT_META_F64:
            memcpy(&v, &m->f64, 8);
            bb_u64(&b, v);
            break;
        case WT_META_F32_ARR:
            bb_u64(&b, m->count);
            for (uint64_t k = 0; k < m->count; k++) {
                uint32_t x;
                memcpy(&x, &m->f32[k], 4);
                bb_u32(&b, x);
            }
            break;
        case WT_META_I64_ARR:
            bb_u64(&b, m->count);
            for (uint64_t k = 0; k < m->count; k++) {
                memcpy(&v, &m->i64s[k], 8);
                bb_u64(&b, v);
            }
            break;
        }
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->nt; i++) {
        wtens *t = &w->t[i];
        off = (off + WT_ALIGN - 1) / WT_ALIGN * WT_ALIGN;
        t->offset = off;
        off += t->nbytes; /* each nbytes <= SIZE_MAX/2; sums checked below */
        if (off < t->nbytes)
            b.oom = 1;
        bb_name(&b, t->name);
        bb_u32(&b, (uint32_t)t->dtype);
        bb_u32(&b, (uint32_t)t->rank);
        for (int d = 0; d < t->rank; d++)
            bb_u64(&b, (uint64_t)t->dims[d]);
        bb_u64(&b, t->offset);
    }
    size_t pad = (WT_ALIGN - b.n % WT_ALIGN) % WT_ALIGN;
    static const uint8_t zeros[WT_ALIGN];
    bb_put(&b, zeros, pad);
    if (b.oom) {
        free(b.p);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory building the header", path);
    }

    base_afile a;
    mint_status st = base_afile_open(&a, path);
    if (st) {
        free(b.p);
        return st;
    }
    st = base_afile_write(&a, b.p, b.n);
    uint64_t pos = 0;
    for (size_t i = 0; i < w->nt && !st; i++) {
        const wtens *t = &w->t[i];
        if ((st = write_zeros(&a, t->offset - pos)))
            break;
        st = write_data(&a, t);
        pos = t->offset + t->nbytes;
    }
    if (st)
        base_afile_abort(&a);
    else
        st = base_afile_commit(&a);
    free(b.p);
    return st;
}

const char *wt_file_path(const wt_file *f)
{
    return f && f->fname ? f->fname : "?";
}
