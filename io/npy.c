/* npy.c - reader and writer of NumPy .npy files, versions 1.0 and 2.0
 * (numpy.lib.format: magic "\x93NUMPY", major, minor, LE header length,
 * then an ASCII Python dict literal with exactly the keys 'descr',
 * 'fortran_order' and 'shape', space padded, ending in '\n').
 * The header is parsed strictly by a small hand-written scanner; every size
 * is checked for overflow and against the file length. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/file.h"
#include "io/npy.h"

static const char npy_magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };


static const char *descr_of(base_dtype t)
{
    switch (t) {
    case BASE_F32: return "<f4";
    case BASE_F16: return "<f2";
    case BASE_U8: return "|u1";
    case BASE_I64: return "<i8";
    default: return NULL;
    }
}

/* ---- header scanner ---- */

typedef struct {
    const char *p, *end;
    const char *name;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && *s->p == ' ')
        s->p++;
}

static int eat(scan *s, char c)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static mint_status bad(const scan *s, const char *what, const char *hstart)
{
    return mint_fail(MINT_E_FORMAT, "%s: bad .npy header: %s at header byte %ld", s->name, what,
                     (long)(s->p - hstart));
}

/* A quoted string without escapes; *len excludes the quotes. */
static int quoted(scan *s, const char **str, size_t *len)
{
    skip_ws(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return 0;
    char q = *s->p++;
    const char *b = s->p;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' || *s->p == '\n')
            return 0;
        s->p++;
    }
    if (s->p >= s->end)
        return 0;
    *str = b;
    *len = (size_t)(s->p - b);
    s->p++;
    return 1;
}

static int word(scan *s, const char *w)
{
    size_t n = strlen(w);
    skip_ws(s);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, w, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

/* Parse the dict in [p, end) into a's dtype/rank/dims. */
static mint_status parse_dict(const char *p, const char *end, const char *name, io_npy *a)
{
    scan s = { p, end, name };
    int have_descr = 0, have_fo = 0, have_shape = 0;
    if (!eat(&s, '{'))
        return bad(&s, "expected '{'", p);
    for (;;) {
        if (eat(&s, '}'))
            break;
        const char *key;
        size_t klen;
        if (!quoted(&s, &key, &klen))
            return bad(&s, "expected a quoted key or '}'", p);
        if (!eat(&s, ':'))
            return bad(&s, "expected ':'", p);
        if (klen == 5 && memcmp(key, "descr", 5) == 0) {
            const char *d;
            size_t dl;
            if (have_descr++)
                return bad(&s, "duplicate 'descr'", p);
            if (!quoted(&s, &d, &dl))
                return bad(&s, "'descr' is not a string", p);
            char ds[16];
            if (dl >= sizeof ds)
                return bad(&s, "unsupported 'descr'", p);
            memcpy(ds, d, dl);
            ds[dl] = '\0';
            if (!strcmp(ds, "<f4"))
                a->dtype = BASE_F32;
            else if (!strcmp(ds, "<f2"))
                a->dtype = BASE_F16;
            else if (!strcmp(ds, "|u1") || !strcmp(ds, "<u1"))
                a->dtype = BASE_U8;
            else if (!strcmp(ds, "<i8"))
                a->dtype = BASE_I64;
            else
                /* no list of dtypes here: each caller takes a subset and says which */
                return mint_fail(MINT_E_UNSUPPORTED, "%s: .npy dtype '%s' is not supported",
                                 name, ds);
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (have_fo++)
                return bad(&s, "duplicate 'fortran_order'", p);
            if (word(&s, "True"))
                return mint_fail(MINT_E_UNSUPPORTED,
                                 "%s: .npy array is in Fortran order; save it C-contiguous", name);
            if (!word(&s, "False"))
                return bad(&s, "'fortran_order' is not True or False", p);
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0) {
            if (have_shape++)
                return bad(&s, "duplicate 'shape'", p);
            if (!eat(&s, '('))
                return bad(&s, "'shape' is not a tuple", p);
            int rank = 0, comma = 0;
            for (;;) {
                if (eat(&s, ')'))
                    break;
                if (rank > 0 && !comma)
                    return bad(&s, "expected ',' or ')' in shape", p);
                skip_ws(&s);
                if (s.p >= s.end || *s.p < '0' || *s.p > '9')
                    return bad(&s, "expected a non-negative integer in shape", p);
                if (rank == IO_NPY_MAX_RANK)
                    return mint_fail(MINT_E_FORMAT, "%s: .npy shape has more than %d dims", name,
                                     IO_NPY_MAX_RANK);
                uint64_t v = 0;
                while (s.p < s.end && *s.p >= '0' && *s.p <= '9') {
                    if (v > ((uint64_t)INT64_MAX - (uint64_t)(*s.p - '0')) / 10)
                        return bad(&s, "dimension too large", p);
                    v = v * 10 + (uint64_t)(*s.p++ - '0');
                }
                a->dims[rank++] = (int64_t)v;
                comma = eat(&s, ',');
            }
            if (rank == 1 && !comma)
                return bad(&s, "a 1-d shape needs a trailing comma: (n,)", p);
            a->rank = rank;
        } else {
            return bad(&s, "unknown key", p);
        }
        if (eat(&s, ','))
            continue;
        if (eat(&s, '}'))
            break;
        return bad(&s, "expected ',' or '}'", p);
    }
    if (!have_descr || !have_fo || !have_shape)
        return mint_fail(MINT_E_FORMAT, "%s: bad .npy header: missing key '%s'", name,
                         !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    skip_ws(&s);
    if (s.p != end)
        return bad(&s, "unexpected text after the dictionary", p);
    return MINT_OK;
}

/* Parse preamble + header from the first bytes of a file (avail bytes
 * present, fsize the whole file size). Sets dtype/rank/dims, *data_off and
 * *nbytes; checks the data length against fsize. If the header is not all in
 * avail, *need is set to the bytes required and MINT_OK returned. */
static mint_status parse_header(const uint8_t *b, size_t avail, uint64_t fsize, const char *name,
                                io_npy *a, size_t *data_off, size_t *need)
{
    *need = 0;
    if (fsize == 0)
        return mint_fail(MINT_E_FORMAT, "%s: empty file, not a .npy file", name);
    if (memcmp(b, npy_magic, avail < 6 ? avail : 6) != 0)
        return mint_fail(MINT_E_FORMAT, "%s: not a .npy file (bad magic)", name);
    if (fsize < 10)
        return mint_fail(MINT_E_FORMAT, "%s: truncated .npy preamble (%llu bytes)", name,
                         (unsigned long long)fsize);
    unsigned major = b[6], minor = b[7];
    size_t pre;
    uint64_t hlen;
    if (major == 1 && minor == 0) {
        pre = 10;
        hlen = (uint64_t)b[8] | (uint64_t)b[9] << 8;
    } else if (major == 2 && minor == 0) {
        if (fsize < 12)
            return mint_fail(MINT_E_FORMAT, "%s: truncated .npy preamble (%llu bytes)", name,
                             (unsigned long long)fsize);
        if (avail < 12) {
            *need = 12;
            return MINT_OK;
        }
        pre = 12;
        hlen = (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
    } else {
        return mint_fail(MINT_E_UNSUPPORTED, "%s: .npy format version %u.%u not supported (1.0, 2.0)",
                         name, major, minor);
    }
    if (hlen > fsize - pre)
        return mint_fail(MINT_E_FORMAT, "%s: .npy header length %llu extends past end of file (%llu bytes)",
                         name, (unsigned long long)hlen, (unsigned long long)fsize);
    if (hlen == 0)
        return mint_fail(MINT_E_FORMAT, "%s: empty .npy header", name);
    if (avail < pre + hlen) {
        *need = pre + (size_t)hlen;
        return MINT_OK;
    }
    const char *h = (const char *)b + pre;
    if (h[hlen - 1] != '\n')
        return mint_fail(MINT_E_FORMAT, "%s: .npy header does not end with a newline", name);
    for (uint64_t i = 0; i < hlen - 1; i++)
        if ((uint8_t)h[i] < 0x20 || (uint8_t)h[i] > 0x7e)
            return mint_fail(MINT_E_FORMAT, "%s: .npy header has a non-ASCII or control byte at %llu",
                             name, (unsigned long long)i);
    mint_status st = parse_dict(h, h + hlen - 1, name, a);
    if (st)
        return st;
    uint64_t nelem = 1, nbytes;
    for (int i = 0; i < a->rank; i++)
        if (__builtin_mul_overflow(nelem, (uint64_t)a->dims[i], &nelem))
            return mint_fail(MINT_E_FORMAT, "%s: .npy shape: element count overflows", name);
    if (__builtin_mul_overflow(nelem, (uint64_t)base_dtype_size(a->dtype), &nbytes) ||
        nbytes > (uint64_t)SIZE_MAX)
        return mint_fail(MINT_E_FORMAT, "%s: .npy shape: byte size overflows", name);
    uint64_t have = fsize - pre - hlen;
    if (have < nbytes)
        return mint_fail(MINT_E_FORMAT, "%s: .npy data is shorter than its shape says (%llu of %llu bytes)",
                         name, (unsigned long long)have, (unsigned long long)nbytes);
    if (have > nbytes)
        return mint_fail(MINT_E_FORMAT, "%s: .npy file has %llu bytes after the data its shape describes",
                         name, (unsigned long long)(have - nbytes));
    *data_off = pre + (size_t)hlen;
    a->nbytes = (size_t)nbytes;
    return MINT_OK;
}

static mint_status alloc_data(io_npy *a, const char *name)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, a->nbytes ? a->nbytes : 64))
        return mint_fail(MINT_E_NOMEM, "%s: out of memory for %zu bytes of .npy data", name, a->nbytes);
    a->data = p;
    return MINT_OK;
}

static void to_host(io_npy *a)
{
    size_t es = base_dtype_size(a->dtype);
    if (!base_host_is_le() && es > 1)
        base_swap_elems(a->data, a->nbytes / es, es);
}

mint_status io_npy_read_mem(const void *buf, size_t size, const char *name, io_npy *out)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_npy_read_mem: NULL argument");
    memset(out, 0, sizeof *out);
    if (!buf && size)
        return mint_fail(MINT_E_ARG, "io_npy_read_mem: NULL buffer");
    if (!name)
        name = "<memory>";
    io_npy a = { 0 };
    size_t off, need;
    mint_status st = parse_header(buf, size, size, name, &a, &off, &need);
    if (st)
        return st;
    if ((st = alloc_data(&a, name)))
        return st;
    memcpy(a.data, (const uint8_t *)buf + off, a.nbytes);
    to_host(&a);
    *out = a;
    return MINT_OK;
}

mint_status io_npy_open(const char *path, io_npy *hdr, FILE **fpout)
{
    *fpout = NULL;
    if (!hdr || !path)
        return mint_fail(MINT_E_ARG, "io_npy_open: NULL argument");
    memset(hdr, 0, sizeof *hdr);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return mint_fail(MINT_E_IO, "%s: not a regular file", path);
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    uint8_t small[16];
    uint8_t *hbuf = small;
    size_t avail = fread(small, 1, fsize < 12 ? (size_t)fsize : 12, fp);
    io_npy a = { 0 };
    size_t off = 0, need = 0;
    mint_status st = parse_header(hbuf, avail, fsize, path, &a, &off, &need);
    if (!st && need) {
        /* need <= fsize (checked by parse_header): bounded by the file */
        hbuf = malloc(need);
        if (!hbuf) {
            fclose(fp);
            return mint_fail(MINT_E_NOMEM, "%s: out of memory for the .npy header", path);
        }
        memcpy(hbuf, small, avail);
        if (fread(hbuf + avail, 1, need - avail, fp) != need - avail)
            st = mint_fail(MINT_E_IO, "%s: read error in the .npy header", path);
        else
            st = parse_header(hbuf, need, fsize, path, &a, &off, &need);
        free(hbuf);
    }
    if (!st && fseeko(fp, (off_t)off, SEEK_SET) != 0)
        st = mint_fail(MINT_E_IO, "%s: seek failed", path);
    if (st) {
        fclose(fp);
        return st;
    }
    *hdr = a;
    *fpout = fp;
    return MINT_OK;
}

mint_status io_npy_read(const char *path, io_npy *out)
{
    if (!out || !path)
        return mint_fail(MINT_E_ARG, "io_npy_read: NULL argument");
    FILE *fp;
    io_npy a;
    mint_status st = io_npy_open(path, &a, &fp);
    if (st) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (!(st = alloc_data(&a, path))) {
        if (fread(a.data, 1, a.nbytes, fp) != a.nbytes) {
            st = mint_fail(MINT_E_IO, "%s: read error in the .npy data", path);
            free(a.data);
        }
    }
    fclose(fp);
    if (st) {
        memset(out, 0, sizeof *out);
        return st;
    }
    to_host(&a);
    *out = a;
    return MINT_OK;
}

void io_npy_free(io_npy *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- writer ---- */

struct io_npy_writer {
    base_afile f;
    base_dtype dtype;
    size_t es, row_bytes;
    uint64_t rows_total, rows_done;
    int failed;
};

mint_status io_npy_writer_open(io_npy_writer **out, const char *path, base_dtype dtype, int rank,
                               const int64_t *dims)
{
    if (!out || !path || !*path)
        return mint_fail(MINT_E_ARG, "io_npy_writer_open: NULL argument");
    *out = NULL;
    const char *descr = descr_of(dtype);
    if (!descr)
        return mint_fail(MINT_E_ARG, "%s: dtype %d cannot be written to .npy", path, (int)dtype);
    if (rank < 0 || rank > IO_NPY_MAX_RANK || (rank && !dims))
        return mint_fail(MINT_E_ARG, "%s: bad rank %d for .npy", path, rank);
    size_t es = base_dtype_size(dtype);
    uint64_t row = es, total;
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0)
            return mint_fail(MINT_E_ARG, "%s: negative dim %d", path, i);
    for (int i = 1; i < rank; i++)
        if (__builtin_mul_overflow(row, (uint64_t)dims[i], &row))
            return mint_fail(MINT_E_ARG, "%s: .npy shape overflows", path);
    uint64_t nrows = rank ? (uint64_t)dims[0] : 1;
    if (__builtin_mul_overflow(row, nrows, &total) || total > (uint64_t)SIZE_MAX)
        return mint_fail(MINT_E_ARG, "%s: .npy shape overflows", path);

    /* Header: dict, spaces, '\n'; preamble + header a multiple of 64. */
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)dims[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, rank == 1 ? ",), }" : "), }");
    size_t hlen = (size_t)n + 1;
    size_t padded = (10 + hlen + 63) / 64 * 64 - 10; /* fits 65535 for rank <= 8 */
    uint8_t hdr[512];
    memcpy(hdr, npy_magic, 6);
    hdr[6] = 1;
    hdr[7] = 0;
    hdr[8] = (uint8_t)padded;
    hdr[9] = (uint8_t)(padded >> 8);
    memcpy(hdr + 10, dict, (size_t)n);
    memset(hdr + 10 + n, ' ', padded - (size_t)n - 1);
    hdr[10 + padded - 1] = '\n';

    io_npy_writer *w = calloc(1, sizeof *w);
    if (!w)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    mint_status st = base_afile_open(&w->f, path);
    if (st) {
        free(w);
        return st;
    }
    w->dtype = dtype;
    w->es = es;
    w->row_bytes = (size_t)row;
    w->rows_total = nrows;
    if ((st = base_afile_write(&w->f, hdr, 10 + padded))) {
        io_npy_writer_abort(w);
        return st;
    }
    *out = w;
    return MINT_OK;
}

mint_status io_npy_writer_append(io_npy_writer *w, const void *rows, size_t nrows)
{
    if (!w)
        return mint_fail(MINT_E_ARG, "io_npy_writer_append: NULL writer");
    if (w->failed)
        return mint_fail(MINT_E_IO, "%s: an earlier write failed", w->f.path);
    if (nrows > w->rows_total - w->rows_done)
        return mint_fail(MINT_E_ARG, "%s: appending %zu rows exceeds the %llu rows declared (%llu written)",
                         w->f.path, nrows, (unsigned long long)w->rows_total,
                         (unsigned long long)w->rows_done);
    size_t bytes = nrows * w->row_bytes; /* <= total bytes, checked at open */
    if (bytes && !rows)
        return mint_fail(MINT_E_ARG, "io_npy_writer_append: NULL rows");
    if (base_host_is_le() || w->es == 1) {
        if (fwrite(rows, 1, bytes, w->f.fp) != bytes)
            w->failed = 1;
    } else {
        uint8_t buf[4096];
        const uint8_t *src = rows;
        for (size_t done = 0; done < bytes && !w->failed; done += sizeof buf) {
            size_t k = bytes - done < sizeof buf ? bytes - done : sizeof buf;
            memcpy(buf, src + done, k);
            base_swap_elems(buf, k / w->es, w->es);
            if (fwrite(buf, 1, k, w->f.fp) != k)
                w->failed = 1;
        }
    }
    if (w->failed)
        return mint_fail(MINT_E_IO, "%s: write failed: %s", w->f.tmp, strerror(errno));
    w->rows_done += nrows;
    return MINT_OK;
}

void io_npy_writer_abort(io_npy_writer *w)
{
    if (!w)
        return;
    base_afile_abort(&w->f);
    free(w);
}

mint_status io_npy_writer_close(io_npy_writer *w)
{
    if (!w)
        return mint_fail(MINT_E_ARG, "io_npy_writer_close: NULL writer");
    mint_status st = MINT_OK;
    if (w->failed)
        st = mint_fail(MINT_E_IO, "%s: an earlier write failed", w->f.path);
    else if (w->rows_done != w->rows_total)
        st = mint_fail(MINT_E_ARG, "%s: only %llu of %llu rows were written; file not created",
                       w->f.path, (unsigned long long)w->rows_done, (unsigned long long)w->rows_total);
    if (st)
        base_afile_abort(&w->f);
    else
        st = base_afile_commit(&w->f);
    free(w);
    return st;
}

mint_status io_npy_write(const char *path, base_dtype dtype, int rank, const int64_t *dims,
                         const void *data)
{
    io_npy_writer *w;
    mint_status st = io_npy_writer_open(&w, path, dtype, rank, dims);
    if (st)
        return st;
    if ((st = io_npy_writer_append(w, data, (size_t)w->rows_total))) {
        io_npy_writer_abort(w);
        return st;
    }
    return io_npy_writer_close(w);
}
