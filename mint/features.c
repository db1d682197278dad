/* features.c - MINT features from `mint extract` outputs and from images
 * (the reduction rule is at the top of features.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/align.h"
#include "base/half.h"
#include "io/npy.h"
#include "kernels.h"
#include "mint/extract.h"
#include "mint/features.h"

#define MAX_FEATURES (1 << 24) /* per sample */
#define MAX_MAP_DIM 65536

int64_t mint_feats_row(const mint_feats *f)
{
    return f->rank == 3 ? (int64_t)f->dims[0] * f->dims[1] * f->dims[2] : f->dims[0];
}

void mint_feats_free(mint_feats *f)
{
    free(f->x);
    memset(f, 0, sizeof *f);
}

int mint_feats_dims_str(char *buf, size_t n, int rank, const int dims[3])
{
    return rank == 3 ? snprintf(buf, n, "%dx%dx%d", dims[0], dims[1], dims[2])
                     : snprintf(buf, n, "%d", dims[0]);
}

/* ---------------- from .npy files ---------------- */

/* Read one .npy as float32 [N, ...] (float16 converted). */
static mint_status read_f32(const char *path, io_npy *a, float **out)
{
    *out = NULL;
    mint_status st = io_npy_read(path, a);
    if (st == MINT_E_UNSUPPORTED) { /* an unknown dtype: say which ones features take */
        char why[400];
        snprintf(why, sizeof why, "%s", mint_last_error());
        return mint_fail(st, "%s (features must be float32 or float16)", why);
    }
    if (st)
        return st;
    if (a->rank != 2 && a->rank != 4) {
        const int rank = a->rank; /* io_npy_free clears it */
        io_npy_free(a);
        return mint_fail(MINT_E_SHAPE, "%s: expected [N,F] or [N,C,H,W], got rank %d", path,
                         rank);
    }
    if (a->dims[0] < 1) {
        io_npy_free(a);
        return mint_fail(MINT_E_SHAPE, "%s: no samples (N = 0)", path);
    }
    size_t n = 1;
    for (int i = 0; i < a->rank; i++)
        n *= (size_t)a->dims[i];
    if (a->dtype == BASE_F32) {
        *out = a->data;
        a->data = NULL; /* ownership moves to *out; io_npy_free frees NULL */
    } else if (a->dtype == BASE_F16) {
        *out = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        if (!*out) {
            io_npy_free(a);
            return mint_fail(MINT_E_NOMEM, "%s: out of memory converting float16", path);
        }
        base_f16_to_f32_n(*out, a->data, n);
        free(a->data); /* io_npy_free would also clear the shape we return */
        a->data = NULL;
    } else {
        io_npy_free(a);
        return mint_fail(MINT_E_FORMAT, "%s: features must be float32 or float16", path);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite((*out)[i])) {
            free(*out);
            *out = NULL;
            return mint_fail(MINT_E_FORMAT, "%s: non-finite value at element %zu", path, i);
        }
    return MINT_OK;
}

static mint_status load_one(const char *path, int want_maps, mint_feats *f)
{
    io_npy a;
    float *x;
    mint_status st = read_f32(path, &a, &x);
    if (st)
        return st;
    f->n = a.dims[0];
    if (want_maps) {
        if (a.rank != 4) {
            free(x);
            return mint_fail(MINT_E_SHAPE, "%s: CNN MINT needs raw maps [N,C,H,W], got [N,%lld] "
                             "(extract with --pool none)", path, (long long)a.dims[1]);
        }
        if (a.dims[1] > MAX_MAP_DIM || a.dims[2] > MAX_MAP_DIM || a.dims[3] > MAX_MAP_DIM) {
            free(x);
            return mint_fail(MINT_E_SHAPE, "%s: map too large", path);
        }
        f->rank = 3;
        for (int i = 0; i < 3; i++)
            f->dims[i] = (int)a.dims[i + 1];
    } else {
        if (a.dims[1] > MAX_FEATURES) {
            free(x);
            return mint_fail(MINT_E_SHAPE, "%s: too many features (%lld)", path,
                             (long long)a.dims[1]);
        }
        if (a.rank == 4)
            kern_chmax(NULL, (size_t)(a.dims[0] * a.dims[1]), (size_t)(a.dims[2] * a.dims[3]), x,
                       x); /* [N,C,H,W] -> [N,C] in place */
        f->rank = 1;
        f->dims[0] = (int)a.dims[1];
    }
    f->x = x;
    return MINT_OK;
}

mint_status mint_feats_load(const char *path, int cnn, const char *const *taps, int ntaps,
                            mint_feats *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb))
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return load_one(path, cnn, out);
    if (ntaps < 1 || !taps)
        return mint_fail(MINT_E_ARG, "%s is a directory of tap files, but no taps were named "
                         "(give --taps)", path);
    if (ntaps > MINT_FEATS_MAX_TAPS)
        return mint_fail(MINT_E_ARG, "at most %d taps (%d given)", MINT_FEATS_MAX_TAPS, ntaps);
    if (cnn && ntaps != 1)
        return mint_fail(MINT_E_ARG, "CNN MINT reads one tap, %d given", ntaps);
    mint_feats parts[MINT_FEATS_MAX_TAPS];
    memset(parts, 0, sizeof parts);
    mint_status st = MINT_OK;
    char file[4096], stem[256];
    int64_t total = 0;
    for (int t = 0; !st && t < ntaps; t++) {
        if (io_safe_name(taps[t], stem, sizeof stem))
            st = mint_fail(MINT_E_ARG, "bad tap name '%s'", taps[t]);
        else if ((size_t)snprintf(file, sizeof file, "%s/%s.npy", path, stem) >= sizeof file)
            st = mint_fail(MINT_E_ARG, "%s: path too long", path);
        else
            st = load_one(file, cnn, &parts[t]);
        if (!st && parts[t].n != parts[0].n)
            st = mint_fail(MINT_E_SHAPE, "%s: %lld samples, but the first tap (%s) has %lld", file,
                           (long long)parts[t].n, taps[0], (long long)parts[0].n);
        if (!st)
            total += parts[t].dims[0];
    }
    if (!st && ntaps == 1) {
        *out = parts[0];
        return MINT_OK;
    }
    if (!st && total > MAX_FEATURES)
        st = mint_fail(MINT_E_SHAPE, "%s: too many features (%lld)", path, (long long)total);
    if (!st) {
        const int64_t n = parts[0].n;
        out->x = malloc(sizeof(float) * (size_t)n * (size_t)total);
        if (!out->x)
            st = mint_fail(MINT_E_NOMEM, "%s: out of memory for %lld x %lld features", path,
                           (long long)n, (long long)total);
        for (int64_t i = 0; !st && i < n; i++) {
            float *dst = out->x + (size_t)i * total;
            for (int t = 0; t < ntaps; t++) {
                memcpy(dst, parts[t].x + (size_t)i * parts[t].dims[0],
                       sizeof(float) * (size_t)parts[t].dims[0]);
                dst += parts[t].dims[0];
            }
        }
        out->n = n;
        out->rank = 1;
        out->dims[0] = (int)total;
    }
    for (int t = 0; t < ntaps; t++)
        mint_feats_free(&parts[t]);
    return st;
}

/* ---------------- from images ---------------- */

typedef struct {
    int rank;      /* 2 or 4 (with batch) */
    int dims[3];
    int64_t numel; /* raw elements per image */
    int64_t width; /* features per image after reduction */
} tap_geom;

static mint_status tap_geoms(const mint_model *m, int cnn, const char *const *taps, int ntaps,
                             tap_geom *g, int *rank, int dims[3])
{
    if (ntaps < 1 || ntaps > MINT_FEATS_MAX_TAPS || !taps)
        return mint_fail(MINT_E_ARG, "1..%d taps needed (%d given)", MINT_FEATS_MAX_TAPS, ntaps);
    if (cnn && ntaps != 1)
        return mint_fail(MINT_E_ARG, "CNN MINT reads one tap, %d given", ntaps);
    int64_t total = 0;
    for (int t = 0; t < ntaps; t++) {
        mint_status st = mint_model_tap_shape(m, taps[t], &g[t].rank, g[t].dims);
        if (st)
            return st;
        const int maps = g[t].rank == 4;
        g[t].numel = (int64_t)g[t].dims[0] * (maps ? (int64_t)g[t].dims[1] * g[t].dims[2] : 1);
        g[t].width = cnn ? g[t].numel : g[t].dims[0];
        total += g[t].width;
        if (cnn && !maps)
            return mint_fail(MINT_E_SHAPE, "CNN MINT needs a [C,H,W] map, but tap '%s' is a vector "
                             "of %d", taps[t], g[t].dims[0]);
    }
    if (total > MAX_FEATURES)
        return mint_fail(MINT_E_SHAPE, "taps give too many features (%lld)", (long long)total);
    if (cnn) {
        *rank = 3;
        memcpy(dims, g[0].dims, sizeof g[0].dims);
    } else {
        *rank = 1;
        dims[0] = (int)total;
        dims[1] = dims[2] = 0;
    }
    return MINT_OK;
}

mint_status mint_feats_shape(const mint_model *m, int cnn, const char *const *taps, int ntaps,
                             int *rank, int dims[3])
{
    tap_geom g[MINT_FEATS_MAX_TAPS];
    return tap_geoms(m, cnn, taps, ntaps, g, rank, dims);
}

mint_status mint_feats_images_stream(mint_model *m, const io_landmarks *lm, const io_list *l,
                                     int cnn, const char *const *taps, int ntaps, int batch,
                                     mint_feats_sink sink, void *ctx)
{
    if (!m || !l || !sink)
        return mint_fail(MINT_E_ARG, "mint_feats_images_stream: bad arguments");
    if (batch <= 0)
        batch = 16;
    if (batch > 4096)
        return mint_fail(MINT_E_ARG, "batch %d too large", batch);
    mint_status cst = mint_check_image_input(m);
    if (cst)
        return cst;
    tap_geom g[MINT_FEATS_MAX_TAPS];
    int rank, dims[3];
    mint_status st = tap_geoms(m, cnn, taps, ntaps, g, &rank, dims);
    if (st)
        return st;
    int ic, ih, iw;
    mint_model_input_shape(m, &ic, &ih, &iw);
    if (lm && (ih != IO_ALIGN_SIZE || iw != IO_ALIGN_SIZE))
        return mint_fail(MINT_E_SHAPE, "landmark alignment gives %dx%d faces but the model takes "
                         "%dx%d inputs", IO_ALIGN_SIZE, IO_ALIGN_SIZE, iw, ih);
    if (l->n == 0)
        return MINT_OK;
    const int64_t per = (int64_t)ic * ih * iw;
    const int64_t row = rank == 3 ? (int64_t)dims[0] * dims[1] * dims[2] : dims[0];
    float *x = malloc(sizeof(float) * (size_t)(per * batch));
    float *rows = malloc(sizeof(float) * (size_t)(row * batch));
    mint_image_status *ist = calloc((size_t)batch, sizeof *ist);
    float *raw[MINT_FEATS_MAX_TAPS] = { 0 };
    int ok = x && rows && ist;
    for (int t = 0; t < ntaps && ok; t++)
        ok = (raw[t] = malloc(sizeof(float) * (size_t)(g[t].numel * batch))) != NULL;
    if (!ok)
        st = mint_fail(MINT_E_NOMEM, "out of memory for a batch of %d images", batch);
    int idx[4096];
    for (size_t b0 = 0; !st && b0 < l->n; b0 += (size_t)batch) {
        const int n = (int)(l->n - b0 < (size_t)batch ? l->n - b0 : (size_t)batch);
#pragma omp parallel for schedule(dynamic)
        for (int j = 0; j < n; j++) {
            mint_image_status *s = &ist[j];
            s->sha256[0] = 0;
            s->error[0] = 0;
            s->ok = mint_prepare_image(m, lm, &l->items[b0 + (size_t)j], x + (int64_t)j * per,
                                       s->sha256) == MINT_OK;
            if (!s->ok)
                snprintf(s->error, sizeof s->error, "%s", mint_last_error());
        }
        /* compact the good inputs to the front, run them, spread the rows back */
        int k = 0;
        for (int j = 0; j < n; j++) {
            if (!ist[j].ok)
                continue;
            if (k != j)
                memcpy(x + (int64_t)k * per, x + (int64_t)j * per, sizeof(float) * (size_t)per);
            idx[k++] = j;
        }
        for (int64_t i = 0; i < row * n; i++)
            rows[i] = NAN;
        if (k > 0 && (st = mint_model_run(m, x, k, NULL, ntaps, taps, raw)))
            break;
        for (int q = 0; q < k; q++) {
            float *dst = rows + (int64_t)idx[q] * row;
            for (int t = 0; t < ntaps; t++) {
                const float *src = raw[t] + (int64_t)q * g[t].numel;
                if (cnn || g[t].rank == 2) {
                    memcpy(dst, src, sizeof(float) * (size_t)g[t].width);
                } else {
                    kern_chmax(NULL, (size_t)g[t].dims[0],
                               (size_t)g[t].dims[1] * (size_t)g[t].dims[2], src, dst);
                }
                dst += g[t].width;
            }
        }
        st = sink(ctx, b0, n, rows, ist);
    }
    free(x);
    free(rows);
    free(ist);
    for (int t = 0; t < ntaps; t++)
        free(raw[t]);
    return st;
}

typedef struct {
    mint_feats *f;
    size_t total;
    mint_images_progress progress;
    void *ctx;
} collect_ctx;

static mint_status collect(void *ctx, size_t first, int n, const float *rows,
                           const mint_image_status *status)
{
    collect_ctx *c = ctx;
    for (int j = 0; j < n; j++)
        if (!status[j].ok)
            return mint_fail(MINT_E_FORMAT, "%s (remove it from the list, or fix its landmarks)",
                             status[j].error);
    const int64_t row = mint_feats_row(c->f);
    memcpy(c->f->x + (size_t)first * (size_t)row, rows, sizeof(float) * (size_t)(row * n));
    if (c->progress)
        c->progress(c->ctx, first + (size_t)n, c->total);
    return MINT_OK;
}

mint_status mint_feats_from_images(mint_feats *out, mint_model *m, const io_landmarks *lm,
                                   const io_list *l, int cnn, const char *const *taps, int ntaps,
                                   int batch, size_t max_bytes)
{
    return mint_feats_from_images_p(out, m, lm, l, cnn, taps, ntaps, batch, max_bytes, NULL, NULL);
}

mint_status mint_feats_from_images_p(mint_feats *out, mint_model *m, const io_landmarks *lm,
                                     const io_list *l, int cnn, const char *const *taps,
                                     int ntaps, int batch, size_t max_bytes,
                                     mint_images_progress progress, void *pctx)
{
    memset(out, 0, sizeof *out);
    if (!m || !l)
        return mint_fail(MINT_E_ARG, "mint_feats_from_images: bad arguments");
    if (l->n == 0)
        return mint_fail(MINT_E_ARG, "the image list is empty");
    if (!max_bytes)
        max_bytes = MINT_FEATS_MAX_BYTES;
    mint_status st = mint_feats_shape(m, cnn, taps, ntaps, &out->rank, out->dims);
    if (st)
        return st;
    const int64_t row = mint_feats_row(out);
    const double need = (double)l->n * (double)row * sizeof(float);
    if (need > (double)max_bytes) {
        char d[64];
        mint_feats_dims_str(d, sizeof d, out->rank, out->dims);
        return mint_fail(MINT_E_NOMEM, "%zu images x %s floats would need %.1f GiB of features in "
                         "memory, more than the limit of %.0f GiB; use smaller image lists (or "
                         "'mint extract' to files)", l->n, d, need / 1073741824.0, (double)max_bytes / 1073741824.0);
    }
    out->x = malloc((size_t)need ? (size_t)need : 1);
    if (!out->x)
        return mint_fail(MINT_E_NOMEM, "out of memory for %.1f GiB of features", need / 1073741824.0);
    out->n = (int64_t)l->n;
    collect_ctx c = { out, l->n, progress, pctx };
    st = mint_feats_images_stream(m, lm, l, cnn, taps, ntaps, batch, collect, &c);
    if (st)
        mint_feats_free(out);
    return st;
}

/* ---------------- index.csv ---------------- */

void mint_feats_index_free(mint_feats_index *x)
{
    if (!x)
        return;
    free(x->file);
    free(x->label);
    free(x->sha256);
    free(x->buf);
    memset(x, 0, sizeof *x);
}

/* Split one CSV line in place into at most max fields (RFC 4180 quoting,
 * as mint extract writes it). Returns the field count, -1 on a bad quote. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *r = line, *w = line;
    for (;;) {
        if (n == max)
            return n;
        f[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (!*r)
                    return -1;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            if (*r && *r != ',')
                return -1;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        if (!*r) {
            *w = 0;
            return n;
        }
        *w++ = 0;
        r++;
    }
}

mint_status mint_feats_index_load(const char *path, int64_t n_rows, mint_feats_index *out)
{
    memset(out, 0, sizeof *out);
    out->n = -1;
    char dir[4096], file[4200];
    long fsize = 0;
    mint_status st = mint_feats_dir(path, dir, sizeof dir);
    if (st)
        return st;
    snprintf(file, sizeof file, "%s/index.csv", dir);
    FILE *f = fopen(file, "rb");
    if (!f)
        return MINT_OK; /* no index: nothing known */
    if (fseek(f, 0, SEEK_END) || (fsize = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        st = mint_fail(MINT_E_IO, "%s: cannot read", file);
    const size_t size = st ? 0 : (size_t)fsize;
    out->buf = st ? NULL : malloc(size + 1);
    if (!st && !out->buf)
        st = mint_fail(MINT_E_NOMEM, "out of memory for %s", file);
    if (!st && fread(out->buf, 1, size, f) != size)
        st = mint_fail(MINT_E_IO, "%s: cannot read", file);
    fclose(f);
    if (st) {
        mint_feats_index_free(out);
        out->n = -1;
        return st;
    }
    out->buf[size] = 0;
    int64_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += out->buf[i] == '\n';
    out->file = calloc((size_t)lines + 1, sizeof *out->file);
    out->label = calloc((size_t)lines + 1, sizeof *out->label);
    out->sha256 = calloc((size_t)lines + 1, sizeof *out->sha256);
    if (!out->file || !out->label || !out->sha256) {
        mint_feats_index_free(out);
        out->n = -1;
        return mint_fail(MINT_E_NOMEM, "out of memory for %s", file);
    }
    int c_file = -1, c_label = -1, c_sha = -1;
    int64_t lineno = 0, n = 0;
    for (char *save = NULL, *ln = strtok_r(out->buf, "\n", &save); !st && ln;
         ln = strtok_r(NULL, "\n", &save)) {
        lineno++;
        size_t len = strlen(ln);
        if (len && ln[len - 1] == '\r')
            ln[--len] = 0;
        char *fld[8];
        const int nf = csv_split(ln, fld, 8);
        if (nf < 0) {
            st = mint_fail(MINT_E_FORMAT, "%s:%lld: unbalanced quotes", file, (long long)lineno);
            break;
        }
        if (lineno == 1) {
            for (int i = 0; i < nf; i++) {
                if (!strcmp(fld[i], "file"))
                    c_file = i;
                else if (!strcmp(fld[i], "label"))
                    c_label = i;
                else if (!strcmp(fld[i], "sha256"))
                    c_sha = i;
            }
            if (c_file < 0)
                st = mint_fail(MINT_E_FORMAT, "%s: no 'file' column in the header", file);
            continue;
        }
        if (nf <= c_file || (c_label >= 0 && nf <= c_label) || (c_sha >= 0 && nf <= c_sha)) {
            st = mint_fail(MINT_E_FORMAT, "%s:%lld: %d fields, fewer than the header's", file,
                           (long long)lineno, nf);
            break;
        }
        out->file[n] = fld[c_file];
        out->label[n] = c_label >= 0 ? fld[c_label] : (char *)"";
        if (c_sha >= 0 && strlen(fld[c_sha]) == 64)
            memcpy(out->sha256[n], fld[c_sha], 65);
        n++;
    }
    if (!st && lineno == 0)
        st = mint_fail(MINT_E_FORMAT, "%s: empty (no header)", file);
    if (!st && n_rows >= 0 && n != n_rows)
        st = mint_fail(MINT_E_SHAPE, "%s has %lld rows, the features %lld: it does not describe "
                       "them", file, (long long)n, (long long)n_rows);
    if (st) {
        mint_feats_index_free(out);
        out->n = -1;
        return st;
    }
    out->n = n;
    return MINT_OK;
}

/* ---------------- which network ---------------- */

mint_status mint_feats_dir(const char *path, char *dir, size_t cap)
{
    dir[0] = 0;
    struct stat sb;
    if (stat(path, &sb))
        return mint_fail(MINT_E_NOTFOUND, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        snprintf(dir, cap, "%s", path);
    } else {
        const char *slash = strrchr(path, '/');
        if (!slash)
            snprintf(dir, cap, ".");
        else
            snprintf(dir, cap, "%.*s", (int)(slash - path + (slash == path)), path);
    }
    return MINT_OK;
}

mint_status mint_feats_network(const char *path, char sha256_hex[65])
{
    sha256_hex[0] = 0;
    char dir[4096];
    mint_status st = mint_feats_dir(path, dir, sizeof dir);
    if (st)
        return st;
    char sha[65];
    if (mint_extract_network(dir, sha) == MINT_OK)
        memcpy(sha256_hex, sha, sizeof sha);
    return MINT_OK; /* no extract.txt or no network line: unknown */
}

mint_status mint_feats_check_network(const char *path, const char *want_sha256, const char *what)
{
    char have[65];
    mint_status st = mint_feats_network(path, have);
    if (st || !want_sha256 || !want_sha256[0] || !have[0] || !strcmp(have, want_sha256))
        return st;
    return mint_fail(MINT_E_ARG, "%s was extracted with the network of SHA-256 %.16s... (its "
                     "extract.txt), but %s the network of SHA-256 %.16s...: features of "
                     "different networks cannot be compared", path, have, what, want_sha256);
}

mint_status mint_feats_networks(const char *a, const char *b, char sha_a[65], char sha_b[65])
{
    mint_status st = mint_feats_network(a, sha_a);
    if (!st)
        st = mint_feats_network(b, sha_b);
    if (!st && sha_a[0] && sha_b[0] && strcmp(sha_a, sha_b))
        st = mint_fail(MINT_E_ARG, "%s and %s were extracted with different networks "
                       "(extract.txt: %.16s... vs %.16s...): a MINT model trained on them "
                       "would learn to tell the networks apart", a, b, sha_a, sha_b);
    return st;
}

/* Is every name of the comma list want in the comma list have? */
static int taps_cover(const char *have, const char *want)
{
    for (const char *w = want; *w;) {
        size_t k = strcspn(w, ",");
        int found = 0;
        for (const char *h = have; *h && !found;) {
            size_t j = strcspn(h, ",");
            found = j == k && !strncmp(h, w, k);
            h += j + (h[j] == ',');
        }
        if (!found)
            return 0;
        w += k + (w[k] == ',');
    }
    return 1;
}

mint_status mint_feats_default_taps(const char *path, int kind, char *buf, size_t cap,
                                    mint_taps_source *source)
{
    /* per kind: vanilla, cnn, outcome, vanilla64, cnn2 */
    static const char *const own[] = { "layer1,layer2,layer3,layer4", "layer1", "embedding",
                                       "layer1,layer2,layer3,layer4", "layer1" };
    if (kind < 0 || kind > 4 || !buf || cap == 0)
        return mint_fail(MINT_E_ARG, "mint_feats_default_taps: bad arguments");
    *source = MINT_TAPS_KIND;
    struct stat sb;
    char rec[4096];
    int nrec = 0;
    if (path && !stat(path, &sb) && S_ISDIR(sb.st_mode)) {
        mint_status st = mint_extract_taps(path, rec, sizeof rec, &nrec);
        if (st && st != MINT_E_NOTFOUND)
            return st;
        if (st)
            nrec = 0;
    }
    const char *pick = own[kind];
    size_t len = strlen(pick);
    if (nrec > 0 && !taps_cover(rec, own[kind])) {
        pick = rec;
        len = kind == 1 ? strcspn(rec, ",") : strlen(rec);
        *source = kind == 1 && nrec > 1 ? MINT_TAPS_FIRST : MINT_TAPS_RECORDED;
    }
    if (len >= cap)
        return mint_fail(MINT_E_ARG, "%s: the recorded taps are too long", path);
    memcpy(buf, pick, len);
    buf[len] = 0;
    return MINT_OK;
}
