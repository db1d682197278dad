/* merge.c - merge extraction outputs into one folder: every tap .npy
 * (streamed, never loaded whole), index.csv renumbered, errors.csv and
 * extract.txt.
 *
 * Shards (extract.txt "shard i/n") are checked to belong together: one
 * n, one full list (SHA-256 and count), no shard twice, none missing unless
 * allowed. Their rows go back into list order: the rows of shard i are the
 * list positions p with p % n == i, minus the positions its errors.csv
 * names, in order. So the merge of a complete set is byte for byte the
 * unsharded extraction. Whole extractions are concatenated as given. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/npy.h"
#include "base/file.h"
#include "mint/report.h"
#include "mint/extract.h"
#include "mint/extract_dir.h"
#include "mint/features.h"

#define MAX_SHARDS (1 << 24)

/* What an input's extract.txt says ("" = not recorded). */
typedef struct {
    const char *dir;
    int has_txt;
    char model[65], taps[2048], pool[16], dtype[16], list[65], full[65], landmarks[80];
    char root[4096]; /* absolute root the list's paths were relative to ("" unknown) */
    size_t full_n;
    int has_full;
    int sharded;          /* shard line present and not "-" */
    int shard_n, nset;    /* shard residues of n held by this input */
    int *set;             /* sorted */
    long rows;            /* data lines of index.csv */
    long errors;          /* data lines of errors.csv */
    long *err_item;       /* item column of errors.csv (-1: old format without it) */
} input_info;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int by_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
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

/* "i/n" or "i,j,k/n" (a partial merge): sorted residues in *set. */
static mint_status parse_shard(const char *path, const char *v, input_info *in)
{
    const char *slash = strrchr(v, '/');
    char *end;
    long n = slash ? strtol(slash + 1, &end, 10) : 0;
    if (!slash || end == slash + 1 || *end || n < 1 || n > MAX_SHARDS)
        return mint_fail(MINT_E_FORMAT, "%s: bad shard line '%s'", path, v);
    in->shard_n = (int)n;
    in->nset = 0;
    int cap = 0;
    for (const char *p = v; p < slash;) {
        long i = strtol(p, &end, 10);
        if (end == p || i < 0 || i >= n || (*end != ',' && end != slash))
            return mint_fail(MINT_E_FORMAT, "%s: bad shard line '%s'", path, v);
        if (in->nset == cap) {
            cap = cap ? 2 * cap : 4;
            int *q = realloc(in->set, sizeof *q * (size_t)cap);
            if (!q)
                return mint_fail(MINT_E_NOMEM, "out of memory");
            in->set = q;
        }
        in->set[in->nset++] = (int)i;
        p = end + (*end == ',');
    }
    if (in->nset == 0)
        return mint_fail(MINT_E_FORMAT, "%s: bad shard line '%s'", path, v);
    qsort(in->set, (size_t)in->nset, sizeof *in->set, by_int);
    for (int k = 1; k < in->nset; k++)
        if (in->set[k] == in->set[k - 1])
            return mint_fail(MINT_E_FORMAT, "%s: shard %d listed twice in '%s'", path, in->set[k], v);
    in->sharded = 1;
    return MINT_OK;
}

static void copy_field(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", strcmp(v, "-") ? v : "");
}

/* Read DIR/extract.txt through the folder reader (absent: everything unknown). */
static mint_status read_info(input_info *in)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/extract.txt", in->dir);
    mint_extract_txt t;
    mint_status st = mint_extract_txt_read(path, &t);
    if (st)
        return st == MINT_E_NOTFOUND ? MINT_OK : st;
    in->has_txt = 1;
    static const struct { const char *key; size_t off, n; } fields[] = {
        { "model", offsetof(input_info, model), sizeof ((input_info *)0)->model },
        { "taps", offsetof(input_info, taps), sizeof ((input_info *)0)->taps },
        { "pool", offsetof(input_info, pool), sizeof ((input_info *)0)->pool },
        { "dtype", offsetof(input_info, dtype), sizeof ((input_info *)0)->dtype },
        { "list", offsetof(input_info, list), sizeof ((input_info *)0)->list },
        { "root", offsetof(input_info, root), sizeof ((input_info *)0)->root },
    };
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++) {
        const char *v = mint_extract_txt_get(&t, fields[k].key);
        if (v)
            copy_field((char *)in + fields[k].off, fields[k].n, v);
    }
    const char *v = mint_extract_txt_get(&t, "landmarks");
    if (v)
        snprintf(in->landmarks, sizeof in->landmarks, "%s", v); /* "-" (none) is a value here */
    if ((v = mint_extract_txt_get(&t, "shard")) && strcmp(v, "-"))
        st = parse_shard(path, v, in);
    if (!st && (v = mint_extract_txt_get(&t, "full-list")) && strcmp(v, "-")) {
        char hex[65] = "", *end;
        int len = 0;
        unsigned long long cnt = 0;
        /* the count bounds nothing yet: plan_shards checks it against the
         * rows and errors the folder holds before sizing anything by it */
        if (sscanf(v, "%64s %n", hex, &len) != 1 || strlen(hex) != 64 || v[len] < '0' || v[len] > '9')
            st = mint_fail(MINT_E_FORMAT, "%s: bad full-list line", path);
        else if (errno = 0, cnt = strtoull(v + len, &end, 10), errno || *end || cnt > SIZE_MAX)
            st = mint_fail(MINT_E_FORMAT, "%s: bad full-list count '%.40s'", path, v + len);
        in->full_n = (size_t)cnt;
        memcpy(in->full, hex, sizeof hex);
        in->has_full = 1;
    }
    mint_extract_txt_free(&t);
    return st;
}

/* index.csv rows (through mint_feats_index_load, which checks every line);
 * errors.csv's item column. */
static mint_status read_rows(input_info *in)
{
    mint_feats_index x;
    mint_status st = mint_feats_index_load(in->dir, -1, &x);
    if (!st && x.n < 0)
        st = mint_fail(MINT_E_IO, "%s/index.csv: cannot read (not a finished extraction?)", in->dir);
    if (!st)
        in->rows = (long)x.n;
    mint_feats_index_free(&x);
    char path[4200];
    snprintf(path, sizeof path, "%s/errors.csv", in->dir);
    if (!st)
        st = mint_extract_errors_read(path, &in->err_item, &in->errors);
    return st;
}

/* List position p in the compact owner table of plan_shards: *at = b*nres + j
 * where p = b*sn + res[2j]; 0 if p's residue is not held. */
static int held_at(const int *res, size_t nres, size_t p, int sn, size_t *at)
{
    int r = (int)(p % (size_t)sn);
    size_t lo = 0, hi = nres;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (res[2 * mid] < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == nres || res[2 * lo] != r)
        return 0;
    *at = p / (size_t)sn * nres + lo;
    return 1;
}

/* Merge plan: order[r] = input the r-th output row comes from. */
typedef struct {
    int *order;
    size_t total;
} plan;

/* Owner (input index) of every list position the shards hold, in list
 * order: -2 failed (errors.csv), -3 past the end of the list. The full-list
 * count must match what each folder holds (its rows and failed images),
 * which bounds it by the folders' sizes: a hostile count costs neither
 * memory nor time. res: the held residues sorted, (residue, input) pairs. */
static mint_status shard_owners(const input_info *in, int n, const int *res, size_t nres, int sn,
                                int **owner_out, size_t *m_out)
{
    size_t fulln = in[0].full_n;
    mint_status st = MINT_OK;
    *owner_out = NULL;
    *m_out = 0;
    for (int i = 0; i < n && !st; i++) {
        size_t want = 0;
        for (int j = 0; j < in[i].nset; j++)
            want += mint_shard_size(fulln, in[i].set[j], sn);
        if (want != (size_t)in[i].rows + (size_t)in[i].errors)
            st = mint_fail(MINT_E_FORMAT,
                           "%s: extract.txt says its shard of a list of %zu images holds %zu, but index.csv "
                           "and errors.csv hold %ld: the folder is inconsistent", in[i].dir, fulln, want,
                           in[i].rows + in[i].errors);
    }
    /* Owner of each held list position p = b*sn + res[2j], stored at b*nres + j
     * (positions of missing shards take no room): nblocks*nres <= held + nres. */
    size_t nblocks = fulln / (size_t)sn + (fulln % (size_t)sn != 0);
    int *owner = NULL;
    if (!st && nblocks > (SIZE_MAX / sizeof *owner - 1) / nres)
        st = mint_fail(MINT_E_FORMAT, "%s: full-list count %zu too large", in[0].dir, fulln);
    size_t m = nblocks * nres;
    if (!st && !(owner = malloc(sizeof *owner * (m ? m : 1))))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t b = 0; b < nblocks && !st; b++)
        for (size_t k = 0; k < nres; k++)
            owner[b * nres + k] = b * (size_t)sn + (size_t)res[2 * k] < fulln ? res[2 * k + 1] : -3;
    for (int i = 0; i < n && !st; i++) {
        for (long e = 0; e < in[i].errors && !st; e++) {
            long p = in[i].err_item[e];
            size_t at = 0;
            if (p < 0)
                st = mint_fail(MINT_E_FORMAT, "%s/errors.csv has no item column (made by an older mint)",
                               in[i].dir);
            else if ((size_t)p >= fulln || !held_at(res, nres, (size_t)p, sn, &at) || owner[at] != i)
                st = mint_fail(MINT_E_FORMAT, "%s/errors.csv: item %ld is not in this shard", in[i].dir, p);
            else
                owner[at] = -2;
        }
    }
    if (st)
        free(owner);
    else
        *owner_out = owner, *m_out = m;
    return st;
}

/* Shards of one list: check that they belong together, find the missing
 * ones, and order the rows by list position. */
static mint_status plan_shards(input_info *in, int n, int allow_partial, plan *pl,
                               mint_merge_stats *stats, char *shardline, size_t shardline_n)
{
    int s0 = 0;
    while (!in[s0].sharded)
        s0++;
    for (int i = 0; i < n; i++) {
        if (!in[i].sharded)
            return mint_fail(MINT_E_ARG, "%s is a shard (--shard), %s is %s: shards merge only with "
                             "shards of the same list", in[s0].dir, in[i].dir,
                             in[i].has_txt ? "a whole extraction" : "a folder without extract.txt");
        if (!in[i].has_full)
            return mint_fail(MINT_E_ARG, "%s: a shard made by an older mint (no full-list line in "
                             "extract.txt), so whether it belongs with the others cannot be checked; "
                             "extract it again", in[i].dir);
    }
    for (int i = 0; i < n; i++) {
        if (in[i].shard_n != in[0].shard_n)
            return mint_fail(MINT_E_ARG, "%s is a shard of %d, %s of %d: shards of different splits overlap",
                             in[0].dir, in[0].shard_n, in[i].dir, in[i].shard_n);
        if (in[i].full_n != in[0].full_n || strcmp(in[i].full, in[0].full))
            return mint_fail(MINT_E_ARG,
                             "%s and %s are shards of different image lists (%zu images, %.16s... vs "
                             "%zu images, %.16s...)", in[0].dir, in[i].dir, in[0].full_n, in[0].full,
                             in[i].full_n, in[i].full);
    }
    int sn = in[0].shard_n;
    /* every residue once */
    size_t nres = 0;
    for (int i = 0; i < n; i++)
        nres += (size_t)in[i].nset;
    int *res = malloc(sizeof *res * 2 * nres);
    if (!res)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0, k = 0; i < n; i++)
        for (int j = 0; j < in[i].nset; j++, k++)
            res[2 * k] = in[i].set[j], res[2 * k + 1] = i;
    qsort(res, nres, 2 * sizeof *res, by_int); /* by residue (first int of each pair) */
    for (size_t k = 1; k < nres; k++)
        if (res[2 * k] == res[2 * k - 2]) {
            int r = res[2 * k], a = res[2 * k - 1], b = res[2 * k + 1];
            free(res);
            return mint_fail(MINT_E_ARG, "shard %d/%d is given twice (%s and %s)", r, sn, in[a].dir, in[b].dir);
        }
    /* missing shards, named (the first few) */
    stats->missing[0] = 0;
    size_t w = 0, nmiss = 0, k = 0;
    for (int r = 0; r < sn; r++) {
        if (k < nres && res[2 * k] == r) {
            k++;
            continue;
        }
        if (nmiss++ < 12 && w < sizeof stats->missing)
            w += (size_t)snprintf(stats->missing + w, sizeof stats->missing - w, "%s%d/%d",
                                  w ? " " : "", r, sn);
    }
    if (nmiss > 12 && w < sizeof stats->missing)
        snprintf(stats->missing + w, sizeof stats->missing - w, " and %zu more", nmiss - 12);
    /* the shard line of the output: "-" when complete, else the residues held */
    if (nmiss == 0) {
        snprintf(shardline, shardline_n, "-");
    } else {
        size_t sw = 0;
        for (k = 0; k < nres && sw < shardline_n; k++)
            sw += (size_t)snprintf(shardline + sw, shardline_n - sw, "%s%d", k ? "," : "", res[2 * k]);
        if (sw < shardline_n)
            sw += (size_t)snprintf(shardline + sw, shardline_n - sw, "/%d", sn);
        if (sw >= shardline_n)
            snprintf(shardline, shardline_n, "partial");
    }
    if (nmiss && !allow_partial) {
        free(res);
        return mint_fail(MINT_E_ARG, "incomplete set of %d shards: %s missing (allow it with --partial)",
                         sn, stats->missing);
    }
    int *owner = NULL;
    size_t m = 0;
    mint_status st = shard_owners(in, n, res, nres, sn, &owner, &m);
    free(res);
    size_t *cnt = calloc((size_t)n, sizeof *cnt);
    if (!st && !cnt)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t p = 0; p < m && !st; p++)
        if (owner[p] >= 0)
            cnt[owner[p]]++, pl->total++;
    for (int i = 0; i < n && !st; i++)
        if (cnt[i] != (size_t)in[i].rows)
            st = mint_fail(MINT_E_FORMAT,
                           "%s: index.csv has %ld rows, but its shard of the list has %zu images "
                           "that did not fail: the folder is inconsistent", in[i].dir, in[i].rows, cnt[i]);
    free(cnt);
    if (!st && !(pl->order = malloc(sizeof *pl->order * (pl->total ? pl->total : 1))))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t p = 0, r = 0; p < m && !st; p++)
        if (owner[p] >= 0)
            pl->order[r++] = owner[p];
    free(owner);
    stats->list_order = 1;
    return st;
}

static mint_status plan_concat(input_info *in, int n, plan *pl)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            /* the same names under the same root: the same images (the list hash
             * covers the relative names, so other roots are other images) */
            if (in[i].list[0] && !strcmp(in[i].list, in[j].list) && !strcmp(in[i].root, in[j].root))
                return mint_fail(MINT_E_ARG, "%s and %s hold the same image list (extract.txt list %.16s..., "
                                 "root %s): merging them would duplicate every row", in[j].dir, in[i].dir,
                                 in[i].list, in[i].root[0] ? in[i].root : "-");
        pl->total += (size_t)in[i].rows;
    }
    pl->order = malloc(sizeof *pl->order * (pl->total ? pl->total : 1));
    if (!pl->order)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0, r = 0; i < n; i++)
        for (long k = 0; k < in[i].rows; k++)
            pl->order[r++] = i;
    return MINT_OK;
}

static mint_status merge_tap(const char *out_dir, const char *name, const input_info *in, int n,
                             const plan *pl)
{
    char path[4200];
    io_npy h0 = { 0 };
    FILE **fp = calloc((size_t)n, sizeof *fp);
    if (!fp)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    mint_status st = MINT_OK;
    for (int i = 0; i < n && !st; i++) {
        io_npy h;
        snprintf(path, sizeof path, "%s/%s", in[i].dir, name);
        if ((st = io_npy_open(path, &h, &fp[i])))
            break;
        if (h.rank < 1 || h.dims[0] != in[i].rows)
            st = mint_fail(MINT_E_FORMAT, "%s: %lld rows but %s/index.csv lists %ld", path,
                           (long long)(h.rank ? h.dims[0] : 0), in[i].dir, in[i].rows);
        else if (i == 0)
            h0 = h;
        else if (h.dtype != h0.dtype || h.rank != h0.rank ||
                 memcmp(h.dims + 1, h0.dims + 1, sizeof(int64_t) * (size_t)(h.rank - 1)))
            st = mint_fail(MINT_E_SHAPE, "%s: dtype or row shape differs from %s/%s", path, in[0].dir, name);
    }
    io_npy_writer *w = NULL;
    size_t rowbytes = base_dtype_size(h0.dtype);
    for (int k = 1; k < h0.rank; k++)
        rowbytes *= (size_t)h0.dims[k];
    if (!st) {
        int64_t dims[8];
        memcpy(dims, h0.dims, sizeof dims);
        dims[0] = (int64_t)pl->total;
        snprintf(path, sizeof path, "%s/%s", out_dir, name);
        st = io_npy_writer_open(&w, path, h0.dtype, h0.rank, dims);
    }
    /* rows are copied one by one in plan order, gathered into 1 MB writes */
    size_t per = rowbytes && (1u << 20) / rowbytes ? (1u << 20) / rowbytes : 1;
    char *buf = st ? NULL : malloc(per * (rowbytes ? rowbytes : 1));
    if (!st && !buf)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    size_t have = 0;
    for (size_t r = 0; r < pl->total && !st; r++) {
        int i = pl->order[r];
        if (rowbytes && fread(buf + have * rowbytes, rowbytes, 1, fp[i]) != 1)
            st = mint_fail(MINT_E_IO, "%s/%s: read error", in[i].dir, name);
        else if (++have == per || r + 1 == pl->total) {
            st = io_npy_writer_append(w, buf, have);
            have = 0;
        }
    }
    free(buf);
    for (int i = 0; i < n; i++)
        if (fp[i])
            fclose(fp[i]);
    free(fp);
    if (!w)
        return st;
    if (st) {
        io_npy_writer_abort(w);
        return st;
    }
    return io_npy_writer_close(w);
}

/* Commit a when st is MINT_OK, else remove its temporary file. */
static mint_status commit_tmp(base_afile *a, mint_status st)
{
    if (st) {
        base_afile_abort(a);
        return st;
    }
    return base_afile_commit(a);
}

/* index.csv in plan order, rows renumbered. */
static mint_status merge_index(const char *out_dir, const input_info *in, int n, const plan *pl)
{
    char path[4200], src[4200];
    snprintf(path, sizeof path, "%s/index.csv", out_dir);
    FILE **f = calloc((size_t)n, sizeof *f);
    if (!f)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    base_afile a;
    mint_status st = base_afile_open(&a, path);
    if (st) {
        free(f);
        return st;
    }
    FILE *out = a.fp;
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n && !st; i++) {
        snprintf(src, sizeof src, "%s/index.csv", in[i].dir);
        if (!(f[i] = fopen(src, "r")) || getline(&line, &cap, f[i]) <= 0)
            st = mint_fail(MINT_E_IO, "%s: cannot read", src);
        else if (i == 0)
            fputs(line, out);
    }
    for (size_t r = 0; r < pl->total && !st; r++) {
        int i = pl->order[r];
        const char *rest = getline(&line, &cap, f[i]) > 0 ? strchr(line, ',') : NULL;
        if (!rest)
            st = mint_fail(MINT_E_FORMAT, "%s/index.csv: short or without row numbers", in[i].dir);
        else
            fprintf(out, "%zu%s", r, rest);
    }
    free(line);
    for (int i = 0; i < n; i++)
        if (f[i])
            fclose(f[i]);
    free(f);
    return commit_tmp(&a, st);
}

typedef struct {
    long item;
    size_t seq;
    char *line; /* after the item field */
} err_line;

static int by_item(const void *a, const void *b)
{
    const err_line *x = a, *y = b;
    if (x->item != y->item)
        return (x->item > y->item) - (x->item < y->item);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* errors.csv: in list order (shards), or concatenated with items offset by
 * the images of the inputs before (whole extractions). */
static mint_status merge_errors(const char *out_dir, const input_info *in, int n, int list_order)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += (size_t)in[i].errors;
    if (total == 0)
        return MINT_OK;
    err_line *e = calloc(total, sizeof *e);
    if (!e)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    mint_status st = MINT_OK;
    size_t k = 0;
    long offset = 0;
    char src[4200], *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n && !st; i++) {
        snprintf(src, sizeof src, "%s/errors.csv", in[i].dir);
        FILE *f = in[i].errors ? fopen(src, "r") : NULL;
        if (in[i].errors && !f)
            st = mint_fail(MINT_E_IO, "%s: %s", src, strerror(errno));
        for (long lineno = 0, j = 0; f && !st && j < in[i].errors && getline(&line, &cap, f) > 0; lineno++) {
            if (lineno == 0)
                continue;
            long item = in[i].err_item[j++];
            const char *rest = item >= 0 ? strchr(line, ',') + 1 : line;
            e[k].item = item < 0 ? -1 : list_order ? item : item + offset;
            e[k].seq = k;
            if (!(e[k].line = strdup(rest)))
                st = mint_fail(MINT_E_NOMEM, "out of memory");
            k++;
        }
        if (f)
            fclose(f);
        offset += in[i].rows + in[i].errors;
    }
    free(line);
    if (!st && list_order)
        qsort(e, k, sizeof *e, by_item);
    char path[4200];
    snprintf(path, sizeof path, "%s/errors.csv", out_dir);
    base_afile a = { 0 };
    if (!st)
        st = base_afile_open(&a, path);
    FILE *out = a.fp;
    if (out) {
        fputs("item,file,error\n", out);
        for (size_t j = 0; j < k; j++) {
            if (e[j].item >= 0) /* unknown (older mint): left empty */
                fprintf(out, "%ld", e[j].item);
            fputc(',', out);
            fputs(e[j].line, out);
        }
        st = commit_tmp(&a, st);
    }
    for (size_t j = 0; j < k; j++)
        free(e[j].line);
    free(e);
    return st;
}

/* The first known value of a field, refusing inputs that disagree. */
static mint_status agree(const input_info *in, int n, size_t off, const char *what, const char **val)
{
    *val = "";
    int first = -1;
    for (int i = 0; i < n; i++) {
        const char *v = (const char *)&in[i] + off;
        if (!v[0])
            continue;
        if (first < 0) {
            first = i;
            *val = v;
        } else if (strcmp(v, *val)) {
            return mint_fail(MINT_E_ARG, "%s and %s differ in %s (extract.txt: '%.64s' vs '%.64s')",
                             in[first].dir, in[i].dir, what, *val, v);
        }
    }
    return MINT_OK;
}

mint_status mint_merge(const char *out_dir, const char *const *dirs, int n, int allow_partial,
                       mint_merge_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (n < 1)
        return mint_fail(MINT_E_ARG, "nothing to merge");
    char path[4200];
    snprintf(path, sizeof path, "%s/index.csv", out_dir);
    if (access(path, F_OK) == 0)
        return mint_fail(MINT_E_ARG, "%s already holds extraction output; choose another --out", out_dir);
    input_info *in = calloc((size_t)n, sizeof *in);
    struct stat *sb = calloc((size_t)n, sizeof *sb);
    char **names = NULL;
    int nn = 0;
    plan pl = { NULL, 0 };
    mint_status st = in && sb ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0; i < n && !st; i++) {
        in[i].dir = dirs[i];
        if (stat(dirs[i], &sb[i]))
            st = mint_fail(MINT_E_IO, "%s: %s", dirs[i], strerror(errno));
        for (int j = 0; j < i && !st; j++)
            if (sb[i].st_dev == sb[j].st_dev && sb[i].st_ino == sb[j].st_ino)
                st = mint_fail(MINT_E_ARG, "%s and %s are the same folder: its rows would be merged twice",
                               dirs[j], dirs[i]);
        if (!st && !(st = read_info(&in[i])))
            st = read_rows(&in[i]);
    }
    if (!st)
        st = list_npy(dirs[0], &names, &nn);
    for (int i = 1; i < n && !st; i++) {
        char **other;
        int no;
        if (!(st = list_npy(dirs[i], &other, &no))) {
            if (no != nn)
                st = mint_fail(MINT_E_ARG, "%s has %d tap files, %s has %d", dirs[i], no, dirs[0], nn);
            for (int k = 0; k < no; k++) {
                if (!st && strcmp(other[k], names[k]))
                    st = mint_fail(MINT_E_ARG, "%s has %s, %s has not", dirs[i], other[k], dirs[0]);
                free(other[k]);
            }
            free(other);
        }
    }
    /* one network: every input the same SHA-256, or all unknown */
    for (int i = 1; i < n && !st; i++)
        if (strcmp(in[i].model, in[0].model))
            st = mint_fail(MINT_E_ARG, "%s and %s come from different networks (extract.txt: %.16s... vs %.16s...)",
                           dirs[0], dirs[i], in[0].model[0] ? in[0].model : "unknown",
                           in[i].model[0] ? in[i].model : "unknown");
    const char *taps = "", *pool = "", *dtype = "", *lms = "";
    if (!st)
        st = agree(in, n, offsetof(input_info, taps), "taps", &taps);
    if (!st)
        st = agree(in, n, offsetof(input_info, pool), "pooling", &pool);
    if (!st)
        st = agree(in, n, offsetof(input_info, dtype), "dtype", &dtype);
    if (!st) /* another landmarks CSV is another alignment */
        st = agree(in, n, offsetof(input_info, landmarks), "landmarks (CSV SHA-256)", &lms);
    int sharded = 0;
    for (int i = 0; i < n; i++)
        sharded |= in[i].sharded;
    char shardline[256] = "-";
    if (!st)
        st = sharded ? plan_shards(in, n, allow_partial, &pl, stats, shardline, sizeof shardline)
                     : plan_concat(in, n, &pl);
    if (!st && mkdir(out_dir, 0777) && errno != EEXIST)
        st = mint_fail(MINT_E_IO, "%s: %s", out_dir, strerror(errno));
    for (int k = 0; k < nn && !st; k++)
        st = merge_tap(out_dir, names[k], in, n, &pl);
    /* extract.txt: what the inputs agree on; a complete set of shards is
     * described as the unsharded extraction of the whole list */
    int any_txt = 0;
    for (int i = 0; i < n; i++)
        any_txt |= in[i].has_txt;
    if (!st && any_txt) {
        char txt[4200], body[4096];
        size_t images = 0;
        for (int i = 0; i < n; i++)
            images += (size_t)(in[i].rows + in[i].errors);
        int complete = sharded && !strcmp(shardline, "-");
        int len = snprintf(body, sizeof body,
                           "mint merge of %d folders\nmodel %s\ntaps %s\npool %s\ndtype %s\nshard %s\n"
                           "images %zu\nlist %s\n",
                           n, in[0].model[0] ? in[0].model : "-", taps[0] ? taps : "-",
                           pool[0] ? pool : "-", dtype[0] ? dtype : "-", shardline, images,
                           complete ? in[0].full : "-");
        if (sharded && len > 0 && (size_t)len < sizeof body)
            len += snprintf(body + len, sizeof body - (size_t)len, "full-list %s %zu\n", in[0].full,
                            in[0].full_n);
        if (lms[0] && len > 0 && (size_t)len < sizeof body)
            len += snprintf(body + len, sizeof body - (size_t)len, "landmarks %s\n", lms);
        snprintf(txt, sizeof txt, "%s/extract.txt", out_dir);
        st = len > 0 && (size_t)len < sizeof body ? base_write_file_atomic(txt, body, (size_t)len)
                                                  : mint_fail(MINT_E_ARG, "extract.txt too long");
    }
    if (!st)
        st = merge_errors(out_dir, in, n, sharded);
    if (!st) /* index last: its presence marks a finished folder */
        st = merge_index(out_dir, in, n, &pl);
    if (!st)
        stats->rows = pl.total;
    for (int k = 0; k < nn; k++)
        free(names[k]);
    free(names);
    for (int i = 0; in && i < n; i++) {
        free(in[i].set);
        free(in[i].err_item);
    }
    free(in);
    free(sb);
    free(pl.order);
    return st;
}
