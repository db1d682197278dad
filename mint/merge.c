/* merge.c - concatenate extraction outputs (shards) into one folder:
 * every tap .npy (streamed, never loaded whole) and index.csv renumbered. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/npy.h"
#include "io/report.h"
#include "mint/extract.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the .npy files in dir. */
static mint_status list_npy(const char *dir, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return mint_fail(MINT_E_IO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int cap = 0;
    mint_status st = MINT_OK;
    while (!st && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy") || e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(*names, sizeof(char *) * (size_t)cap);
            if (!p) {
                st = mint_fail(MINT_E_NOMEM, "out of memory");
                break;
            }
            *names = p;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            st = mint_fail(MINT_E_NOMEM, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (!st && *n == 0)
        st = mint_fail(MINT_E_ARG, "%s: no .npy files (not an extraction output?)", dir);
    if (!st)
        qsort(*names, (size_t)*n, sizeof(char *), by_name);
    return st;
}

/* Data lines of an index.csv (header excluded); -1 if unreadable. */
static long index_rows(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    long n = mint_count_lines(path);
    return n < 0 ? -1 : n - 1;
}

static mint_status merge_tap(const char *out_dir, const char *name, const char *const *in, int n,
                             const long *rows)
{
    char path[4200];
    io_npy h0 = { 0 };
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        io_npy h;
        FILE *fp;
        snprintf(path, sizeof path, "%s/%s", in[i], name);
        mint_status st = io_npy_open(path, &h, &fp);
        if (st)
            return st;
        fclose(fp);
        if (h.rank < 1 || h.dims[0] != rows[i])
            return mint_fail(MINT_E_FORMAT, "%s: %lld rows but %s/index.csv lists %ld", path,
                             (long long)(h.rank ? h.dims[0] : 0), in[i], rows[i]);
        if (i == 0)
            h0 = h;
        else if (h.dtype != h0.dtype || h.rank != h0.rank ||
                 memcmp(h.dims + 1, h0.dims + 1, sizeof(int64_t) * (size_t)(h.rank - 1)))
            return mint_fail(MINT_E_SHAPE, "%s: dtype or row shape differs from %s/%s", path, in[0], name);
        total += h.dims[0];
    }
    int64_t dims[8];
    memcpy(dims, h0.dims, sizeof dims);
    dims[0] = total;
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    io_npy_writer *w;
    mint_status st = io_npy_writer_open(&w, path, h0.dtype, h0.rank, dims);
    if (st)
        return st;
    size_t rowbytes = wt_dtype_size(h0.dtype);
    for (int k = 1; k < h0.rank; k++)
        rowbytes *= (size_t)h0.dims[k];
    size_t per = rowbytes ? ((1u << 20) / rowbytes ? (1u << 20) / rowbytes : 1) : 1;
    char *buf = malloc(per * (rowbytes ? rowbytes : 1));
    if (!buf)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0; i < n && !st; i++) {
        io_npy h;
        FILE *fp;
        snprintf(path, sizeof path, "%s/%s", in[i], name);
        if ((st = io_npy_open(path, &h, &fp)))
            break;
        for (int64_t r = 0; r < h.dims[0] && !st;) {
            size_t k = (size_t)(h.dims[0] - r) < per ? (size_t)(h.dims[0] - r) : per;
            if (fread(buf, rowbytes, k, fp) != k)
                st = mint_fail(MINT_E_IO, "%s: read error", path);
            else
                st = io_npy_writer_append(w, buf, k);
            r += (int64_t)k;
        }
        fclose(fp);
    }
    free(buf);
    if (st) {
        io_npy_writer_abort(w);
        return st;
    }
    return io_npy_writer_close(w);
}

/* index.csv with rows renumbered, or errors.csv concatenated. */
static mint_status merge_csv(const char *out_dir, const char *name, const char *const *in, int n,
                             int renumber)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out)
        return mint_fail(MINT_E_IO, "%s: %s", tmp, strerror(errno));
    mint_status st = MINT_OK;
    long row = 0;
    int any = 0;
    for (int i = 0; i < n && !st; i++) {
        char src[4200], *line = NULL;
        size_t cap = 0;
        snprintf(src, sizeof src, "%s/%s", in[i], name);
        FILE *f = fopen(src, "r");
        if (!f) {
            if (renumber)
                st = mint_fail(MINT_E_IO, "%s: %s", src, strerror(errno));
            continue;
        }
        long lineno = 0;
        while (getline(&line, &cap, f) > 0) {
            if (lineno++ == 0) {
                if (!any)
                    fputs(line, out);
                any = 1;
                continue;
            }
            const char *rest = renumber ? strchr(line, ',') : NULL;
            if (renumber && !rest) {
                st = mint_fail(MINT_E_FORMAT, "%s:%ld: no row number", src, lineno);
                break;
            }
            if (renumber)
                fprintf(out, "%ld%s", row++, rest);
            else
                fputs(line, out);
        }
        free(line);
        fclose(f);
    }
    if (!st && (fflush(out) || ferror(out) || fsync(fileno(out))))
        st = mint_fail(MINT_E_IO, "%s: write failed", tmp);
    fclose(out);
    if (!st && !any) {
        unlink(tmp);
        return MINT_OK; /* no errors.csv anywhere */
    }
    if (!st && rename(tmp, path))
        st = mint_fail(MINT_E_IO, "%s: %s", path, strerror(errno));
    if (st)
        unlink(tmp);
    return st;
}

mint_status mint_merge(const char *out_dir, const char *const *in, int n)
{
    if (n < 1)
        return mint_fail(MINT_E_ARG, "nothing to merge");
    char path[4200];
    snprintf(path, sizeof path, "%s/index.csv", out_dir);
    if (access(path, F_OK) == 0)
        return mint_fail(MINT_E_ARG, "%s already holds extraction output; choose another --out", out_dir);
    char **names;
    int nn;
    mint_status st = list_npy(in[0], &names, &nn);
    if (st)
        return st;
    long *rows = calloc((size_t)n, sizeof *rows);
    if (!rows)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0; i < n && !st; i++) {
        char **other;
        int no;
        if ((rows[i] = index_rows(in[i])) < 0)
            st = mint_fail(MINT_E_IO, "%s/index.csv: cannot read (not a finished extraction?)", in[i]);
        else if (!(st = list_npy(in[i], &other, &no))) {
            if (no != nn)
                st = mint_fail(MINT_E_ARG, "%s has %d tap files, %s has %d", in[i], no, in[0], nn);
            for (int k = 0; k < no; k++) {
                if (!st && strcmp(other[k], names[k]))
                    st = mint_fail(MINT_E_ARG, "%s has %s, %s has not", in[i], other[k], in[0]);
                free(other[k]);
            }
            free(other);
        }
    }
    if (!st && mkdir(out_dir, 0777) && errno != EEXIST)
        st = mint_fail(MINT_E_IO, "%s: %s", out_dir, strerror(errno));
    for (int k = 0; k < nn && !st; k++)
        st = merge_tap(out_dir, names[k], in, n, rows);
    /* extract.txt: all inputs must come from one network */
    char sha0[65] = "", sha[65];
    for (int i = 0; i < n && !st; i++) {
        mint_status s1 = mint_extract_network(in[i], sha);
        if (s1 == MINT_E_NOTFOUND)
            sha[0] = 0;
        else if (s1)
            st = s1;
        if (!st && i > 0 && strcmp(sha, sha0))
            st = mint_fail(MINT_E_ARG, "%s and %s come from different networks (extract.txt: %.16s... vs %.16s...)",
                           in[0], in[i], sha0[0] ? sha0 : "unknown", sha[0] ? sha : "unknown");
        if (i == 0)
            memcpy(sha0, sha, sizeof sha0);
    }
    if (!st && sha0[0]) {
        char txt[4200], body[256];
        snprintf(txt, sizeof txt, "%s/extract.txt", out_dir);
        int len = snprintf(body, sizeof body, "mint merge of %d folders\nmodel %s\n", n, sha0);
        st = io_write_file_atomic(txt, body, (size_t)len);
    }
    if (!st)
        st = merge_csv(out_dir, "errors.csv", in, n, 0);
    if (!st) /* index last: its presence marks a finished folder */
        st = merge_csv(out_dir, "index.csv", in, n, 1);
    for (int k = 0; k < nn; k++)
        free(names[k]);
    free(names);
    free(rows);
    return st;
}
