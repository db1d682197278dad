/* extract.c - AAD extraction with chunked, resumable, atomic outputs
 * (see extract.h for the crash-safety scheme). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/file.h"
#include "io/align.h"
#include "base/half.h"
#include "io/image.h"
#include "io/npy.h"
#include "mint/report.h"
#include "kernels.h"
#include "mint/extract.h"
#include "io/idx.h"
#include "mint/extract_dir.h"
#include "net/exec.h"
#include "net/model.h"
#include "weights/container.h"

#define MAX_FILE_BYTES (512u << 20)

static mint_status read_file(const char *path, uint8_t **buf, size_t *n)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mint_fail(errno == ENOENT ? MINT_E_NOTFOUND : MINT_E_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)MAX_FILE_BYTES) {
        fclose(f);
        return mint_fail(MINT_E_IO, "%s: not a regular file or larger than 512 MB", path);
    }
    *n = (size_t)sb.st_size;
    *buf = malloc(*n ? *n : 1);
    if (!*buf) {
        fclose(f);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(*buf, 1, *n, f);
    fclose(f);
    if (got != *n) {
        free(*buf);
        *buf = NULL;
        return mint_fail(MINT_E_IO, "%s: short read", path);
    }
    return MINT_OK;
}

/* Decode an image and hash its source (io_image_sha256: an idx reference
 * by its pixels, a file by its bytes, read once). */
static mint_status load_hashed(const char *path, io_image *img, char sha256_hex[65])
{
    char idxf[4096];
    size_t idxi;
    if (io_idx_is_ref(path, idxf, sizeof idxf, &idxi)) {
        mint_status st = io_idx_image(idxf, idxi, img);
        return st ? st : io_image_sha256(path, sha256_hex);
    }
    uint8_t *buf;
    size_t n = 0;
    mint_status st = read_file(path, &buf, &n);
    if (st)
        return st;
    base_sha256 h;
    uint8_t dg[32];
    base_sha256_init(&h);
    base_sha256_update(&h, buf, n);
    base_sha256_final(&h, dg);
    base_sha256_hex(dg, sha256_hex);
    st = io_image_load_mem(buf, n, img, 0);
    free(buf);
    return st;
}

mint_status mint_prepare_image(const mint_model *m, const io_landmarks *lm, const io_item *it,
                               float *chw, char sha256_hex[65])
{
    const net_meta *meta = &mint_model_graph(m)->meta;
    io_image img = { 0 }, al = { 0 };
    mint_status st = load_hashed(it->path, &img, sha256_hex);
    if (st) {
        char why[400];
        snprintf(why, sizeof why, "%s", mint_last_error());
        return mint_fail(st, "%s: %s", it->path, why);
    }
    /* landmark rows are found by the item's key or, failing that, by its
     * path: the CSV may name "Person/file.jpg" while the key is "file.jpg"
     * (a folder given on the command line) */
    const io_landmark_row *row = NULL;
    const char *names[2] = { it->key, it->path };
    for (int which = 0; which < 2 && lm && !row; which++)
        for (int drop = 0; !row; drop++) {
            const char *k = io_key_suffix(names[which], drop);
            if (!k)
                break;
            row = io_landmarks_find_row(lm, k);
        }
    const float *pts = row ? row->pts : NULL;
    const io_image *use = &img;
    if (pts) {
        if (meta->in_h != IO_ALIGN_SIZE || meta->in_w != IO_ALIGN_SIZE) {
            st = mint_fail(MINT_E_SHAPE, "%s: alignment gives %dx%d faces but the model takes %dx%d",
                           it->path, IO_ALIGN_SIZE, IO_ALIGN_SIZE, meta->in_w, meta->in_h);
        } else if ((st = io_align_face(&img, pts, &al)) == MINT_OK) {
            use = &al;
        } else {
            char why[400];
            snprintf(why, sizeof why, "%s", mint_last_error());
            st = mint_fail(st, "%s: alignment failed (landmarks %s line %zu): %s", it->path,
                           lm->label, row->line, why);
        }
    } else if (img.w != meta->in_w || img.h != meta->in_h) {
        st = mint_fail(MINT_E_SHAPE,
                       "%s: image is %dx%d, the model takes %dx%d, and no landmarks were found for '%s' "
                       "(give --landmarks CSV to align it)",
                       it->path, img.w, img.h, meta->in_w, meta->in_h, it->key);
    }
    if (!st) /* 3 channels, or 1 (grey models: BT.601 luma); others refused */
        st = io_image_to_chw(use, meta->in_c, meta->mean, meta->std,
                             !strcmp(meta->channel_order, "BGR"), chw);
    if (st && meta->in_c != 1 && meta->in_c != 3) {
        char why[400];
        snprintf(why, sizeof why, "%s", mint_last_error());
        st = mint_fail(st, "%s: %s", it->path, why);
    }
    io_image_free(&img);
    io_image_free(&al);
    return st;
}

/* ---------- small file helpers ---------- */

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Write s as one CSV field (quoted when it holds , " or newlines). */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* DIR/extract.txt through the folder reader: MINT_E_NOTFOUND when absent. */
static mint_status read_txt(const char *dir, mint_extract_txt *t)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/extract.txt", dir);
    mint_status st = mint_extract_txt_read(path, t);
    return st == MINT_E_NOTFOUND ? mint_fail(st, "%s: no extract.txt", dir) : st;
}

mint_status mint_extract_network(const char *dir, char sha256_hex[65])
{
    mint_extract_txt t;
    sha256_hex[0] = 0;
    mint_status st = read_txt(dir, &t);
    if (st)
        return st;
    /* a missing or odd model line means "network unknown", not an error */
    const char *v = mint_extract_txt_get(&t, "model");
    if (v && strlen(v) == 64)
        memcpy(sha256_hex, v, 65);
    else
        st = mint_fail(MINT_E_NOTFOUND, "%s/extract.txt: no network SHA-256", dir);
    mint_extract_txt_free(&t);
    return st;
}

mint_status mint_extract_taps(const char *dir, char *buf, size_t cap, int *ntaps)
{
    mint_extract_txt t;
    buf[0] = 0;
    *ntaps = 0;
    mint_status st = read_txt(dir, &t);
    if (st)
        return st;
    const char *v = mint_extract_txt_get(&t, "taps");
    size_t w = 0;
    int n = 0;
    for (const char *p = v ? v : ""; *p && n >= 0;) {
        p += strspn(p, " \t");
        size_t k = strcspn(p, " \t");
        if (!k)
            break;
        if (w + k + 2 > cap)
            n = -1;
        else {
            if (n++)
                buf[w++] = ',';
            memcpy(buf + w, p, k);
            buf[w += k] = 0;
        }
        p += k;
    }
    if (n < 0) {
        buf[0] = 0;
        st = mint_fail(MINT_E_ARG, "%s/extract.txt: the taps line is too long", dir);
    } else if (n == 0) {
        st = mint_fail(MINT_E_NOTFOUND, "%s/extract.txt records no taps", dir);
    } else {
        *ntaps = n;
    }
    mint_extract_txt_free(&t);
    return st;
}

long mint_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

typedef struct {
    int rank;            /* of one output row incl. batch: 2 or 4 */
    int dims[3];
    int64_t numel;       /* elements of the raw tap per image */
    int64_t row;         /* elements per stored row */
    char safe[IO_SAFE_NAME_MAX + 1]; /* file stem */
} tapinfo;

size_t mint_shard_size(size_t count, int i, int n)
{
    if (n < 1)
        return count;
    return count > (size_t)i ? (count - (size_t)i - 1) / (size_t)n + 1 : 0;
}

void mint_extract_rate(size_t done, size_t resumed, size_t total, double elapsed, double *rate,
                       double *eta)
{
    size_t fresh = done > resumed ? done - resumed : 0;
    *rate = elapsed > 0 && fresh > 0 ? (double)fresh / elapsed : 0;
    *eta = *rate > 0 ? (double)(total > done ? total - done : 0) / *rate : -1;
}

/* SHA-256 over the keys and labels of a list: its identity, independent of
 * where the files live. */
static void list_sha256(const io_list *l, char hex[65])
{
    base_sha256 h;
    uint8_t dg[32];
    base_sha256_init(&h);
    for (size_t i = 0; i < l->n; i++) {
        base_sha256_update(&h, l->items[i].key, strlen(l->items[i].key) + 1);
        base_sha256_update(&h, l->items[i].label, strlen(l->items[i].label) + 1);
    }
    base_sha256_final(&h, dg);
    base_sha256_hex(dg, hex);
}

/* What a differing config line means, for the resume refusal. */
static const char *config_setting(const char *key)
{
    static const char *const map[][2] = {
        { "model", "--model (network SHA-256)" }, { "taps", "--taps" }, { "pool", "--pool" },
        { "dtype", "--dtype" }, { "chunk", "--chunk" }, { "shard", "--shard" },
        { "images", "the image list (--list/--dir, --shard)" },
        { "list", "the image list (--list/--dir, --shard)" },
        { "full-list", "the image list (--list/--dir)" },
        { "landmarks", "--landmarks (SHA-256 of the CSV)" }, { "root", "--root/--dir" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(key, map[i][0]))
            return map[i][1];
    return key;
}

/* Compare the unfinished run's config (have, .parts/config) with this run's
 * (want), and name the first setting that differs. Both go through the
 * folder reader. */
static mint_status config_check(const mint_extract_opts *o, const char *path, const char *want)
{
    mint_extract_txt h, w;
    mint_status st = mint_extract_txt_read(path, &h);
    if (st)
        return mint_fail(st == MINT_E_NOMEM ? st : MINT_E_ARG, "%s: cannot resume: %s; remove the folder "
                         "and start again", o->out_dir, mint_last_error());
    if ((st = mint_extract_txt_parse(want, strlen(want), "this run", &w))) {
        mint_extract_txt_free(&h);
        return st;
    }
    for (int i = 0; i < w.n && !st; i++) {
        const char *a = mint_extract_txt_get(&h, w.key[i]), *b = w.val[i];
        if (!a)
            st = mint_fail(MINT_E_ARG,
                           "%s: cannot resume: the unfinished run there did not record %s "
                           "(started by an older mint?); remove the folder and start again",
                           o->out_dir, config_setting(w.key[i]));
        else if (strcmp(a, b))
            st = mint_fail(MINT_E_ARG,
                           "%s: cannot resume: %s differs (unfinished run: %.150s; this run: %.150s); "
                           "rerun with the same setting, or remove the folder",
                           o->out_dir, config_setting(w.key[i]), a, b);
    }
    if (!st && (h.n != w.n || strcmp(h.title, w.title)))
        st = mint_fail(MINT_E_ARG,
                       "%s: cannot resume: the unfinished run there used other options, model or image "
                       "list; rerun with the same ones, or remove the folder", o->out_dir);
    mint_extract_txt_free(&h);
    mint_extract_txt_free(&w);
    return st;
}

/* The run description (see extract.h). full is the whole list, o->list the
 * shard; check: compare with the file instead of writing it. */
static mint_status write_config(const mint_extract_opts *o, const io_list *full, const char *path,
                                int check)
{
    char want[8192], root[4096], hex[65], fullhex[65], shard[32] = "-";
    int w = snprintf(want, sizeof want, "mint extract run\nmodel %s\ntaps", o->model_sha256);
    for (int i = 0; i < o->ntaps && w > 0 && (size_t)w < sizeof want; i++)
        w += snprintf(want + w, sizeof want - (size_t)w, " %s", o->taps[i]);
    list_sha256(o->list, hex);
    list_sha256(full, fullhex);
    if (o->shard_n > 0)
        snprintf(shard, sizeof shard, "%d/%d", o->shard_i, o->shard_n);
    /* the root as an absolute path, so that "imgs" and "./imgs" agree */
    if (!o->root)
        snprintf(root, sizeof root, "-");
    else if (!realpath(o->root, root))
        snprintf(root, sizeof root, "%s", o->root);
    if (strchr(root, '\n'))
        return mint_fail(MINT_E_ARG, "%s: newline in the folder name", o->root);
    if (w > 0 && (size_t)w < sizeof want)
        w += snprintf(want + w, sizeof want - (size_t)w,
                      "\npool %s\ndtype %s\nchunk %d\nshard %s\nimages %zu\nlist %s\n"
                      "full-list %s %zu\nlandmarks %s\nroot %s\n",
                      o->pool_max ? "max" : "none", o->f16 ? "f16" : "f32", o->chunk, shard,
                      o->list->n, hex, fullhex, full->n,
                      !o->landmarks ? "-" : o->landmarks_sha256 ? o->landmarks_sha256 : "given",
                      root);
    if (w <= 0 || (size_t)w >= sizeof want)
        return mint_fail(MINT_E_ARG, "too many taps or too long a folder name");
    if (check)
        return config_check(o, path, want);
    base_afile f;
    mint_status st = base_afile_open(&f, path);
    if (st)
        return st;
    fputs(want, f.fp);
    return base_afile_commit(&f);
}

/* Per-channel max over H*W of NCHW maps (kern_chmax: NaN propagates, the
 * rule of docs/format.md), then optional f16. */
static void store_rows(const tapinfo *t, int pool_max, int f16, const float *src, int n, void *dst)
{
    float *rowf = dst;
    uint16_t *rowh = dst;
    int64_t hw = t->rank == 4 ? (int64_t)t->dims[1] * t->dims[2] : 1;
    for (int b = 0; b < n; b++) {
        const float *x = src + (int64_t)b * t->numel;
        if (pool_max && t->rank == 4 && !f16) {
            kern_chmax(NULL, (size_t)t->dims[0], (size_t)hw, x, rowf + (int64_t)b * t->row);
        } else if (pool_max && t->rank == 4) {
            float m[256];
            for (int c0 = 0; c0 < t->dims[0]; c0 += 256) {
                const int nc = t->dims[0] - c0 < 256 ? t->dims[0] - c0 : 256;
                kern_chmax(NULL, (size_t)nc, (size_t)hw, x + c0 * hw, m);
                base_f32_to_f16_n(rowh + (int64_t)b * t->row + c0, m, (size_t)nc);
            }
        } else if (f16) {
            base_f32_to_f16_n(rowh + (int64_t)b * t->row, x, (size_t)t->row);
        } else {
            memcpy(rowf + (int64_t)b * t->row, x, sizeof(float) * (size_t)t->row);
        }
    }
}

typedef struct {
    const mint_extract_opts *o;
    tapinfo *ti;
    float *x;            /* batch input */
    float *tap[64];      /* raw taps of a batch */
    void *rows;          /* stored rows of one tap for a batch */
    mint_status *status; /* per image of a batch */
    char (*sha)[65];
    char (*err)[512];
    size_t done, failed, resumed;
} run_state;

/* Position in the whole list of item j of the shard. */
static size_t list_pos(const mint_extract_opts *o, size_t j)
{
    return o->shard_n > 0 ? j * (size_t)o->shard_n + (size_t)o->shard_i : j;
}

static mint_status part_name(char *buf, size_t n, const char *dir, const char *stem, size_t chunk,
                             const char *ext)
{
    return mint_extract_part_name(buf, n, dir, stem, chunk, ext);
}

static mint_status do_chunk(run_state *rs, size_t c)
{
    const mint_extract_opts *o = rs->o;
    const mint_model *m = o->model;
    size_t first = c * (size_t)o->chunk, last = first + (size_t)o->chunk;
    if (last > o->list->n)
        last = o->list->n;
    base_afile tf[64] = { 0 }, fi = { 0 }, fe = { 0 };
    char fin[64][4200], ifin[4200], efin[4200];
    mint_status st = MINT_OK;
    int ic, ih, iw;
    mint_model_input_shape(m, &ic, &ih, &iw);
    int64_t per = (int64_t)ic * ih * iw;
    size_t nerr = 0;
    for (int t = 0; t < o->ntaps && !st; t++)
        if (!(st = part_name(fin[t], sizeof fin[t], o->out_dir, rs->ti[t].safe, c, ".bin")))
            st = base_afile_open(&tf[t], fin[t]);
    if (!st && !(st = part_name(ifin, sizeof ifin, o->out_dir, "index", c, ".csv")) &&
        !(st = part_name(efin, sizeof efin, o->out_dir, "errors", c, ".csv")) &&
        !(st = base_afile_open(&fi, ifin)))
        st = base_afile_open(&fe, efin);
    for (size_t b0 = first; b0 < last && !st; b0 += (size_t)o->batch) {
        int n = (int)(last - b0 < (size_t)o->batch ? last - b0 : (size_t)o->batch);
#pragma omp parallel for schedule(dynamic)
        for (int j = 0; j < n; j++) {
            mint_status s = mint_prepare_image(m, o->landmarks, &o->list->items[b0 + (size_t)j],
                                               rs->x + (int64_t)j * per, rs->sha[j]);
            rs->status[j] = s;
            if (s)
                snprintf(rs->err[j], sizeof rs->err[j], "%s", mint_last_error());
        }
        int k = 0;
        for (int j = 0; j < n; j++) {
            const io_item *it = &o->list->items[b0 + (size_t)j];
            if (rs->status[j]) {
                if (!o->skip_errors) {
                    st = mint_fail(rs->status[j], "%s (use --on-error skip to skip bad images)", rs->err[j]);
                    break;
                }
                fprintf(fe.fp, "%zu,", list_pos(o, b0 + (size_t)j));
                csv_field(fe.fp, it->key);
                fputc(',', fe.fp);
                csv_field(fe.fp, rs->err[j]);
                fputc('\n', fe.fp);
                nerr++;
                continue;
            }
            if (k != j) {
                memcpy(rs->x + (int64_t)k * per, rs->x + (int64_t)j * per, sizeof(float) * (size_t)per);
                memcpy(rs->sha[k], rs->sha[j], 65);
            }
            csv_field(fi.fp, it->key);
            fputc(',', fi.fp);
            csv_field(fi.fp, it->label);
            fprintf(fi.fp, ",%s\n", rs->sha[k]);
            k++;
        }
        if (st)
            break;
        if (k > 0 && (st = mint_model_run(o->model, rs->x, k, NULL, o->ntaps, o->taps, rs->tap)))
            break;
        for (int t = 0; t < o->ntaps && k > 0; t++) {
            store_rows(&rs->ti[t], o->pool_max, o->f16, rs->tap[t], k, rs->rows);
            size_t bytes = (size_t)(rs->ti[t].row * k) * (o->f16 ? 2 : 4);
            if ((st = base_afile_write(&tf[t], rs->rows, bytes)))
                break;
        }
        rs->done += (size_t)n;
        rs->failed += (size_t)(n - k);
        if (o->progress)
            o->progress(o->ctx, rs->done, o->list->n, rs->failed, rs->resumed);
    }
    /* commit: tap parts and errors first, the index part last */
    for (int t = 0; t < o->ntaps; t++)
        if (tf[t].fp && !st)
            st = base_afile_commit(&tf[t]);
        else
            base_afile_abort(&tf[t]);
    if (fe.fp && !st)
        st = base_afile_commit(&fe);
    else
        base_afile_abort(&fe);
    if (fi.fp && !st)
        st = base_afile_commit(&fi);
    else
        base_afile_abort(&fi);
    /* the chunk's checksums, after its commit: a resume redoes a chunk
     * whose sums are missing (killed in between) or do not match */
    const char *stems[64];
    for (int t = 0; t < o->ntaps; t++)
        stems[t] = rs->ti[t].safe;
    if (!st)
        st = mint_extract_chunk_sums(o->out_dir, c, stems, o->ntaps, ifin);
    return st;
}

/* Rows (rows[c]) of every chunk's index part, their total and the
 * failures in the errors parts. */
static mint_status count_parts(const mint_extract_opts *o, size_t nchunks, long *rows,
                               size_t *total_out, size_t *nerr_out)
{
    mint_status st = MINT_OK;
    size_t total = 0, nerr = 0;
    char path[4200];
    for (size_t c = 0; c < nchunks && !st; c++) {
        if ((st = part_name(path, sizeof path, o->out_dir, "index", c, ".csv")))
            break;
        rows[c] = mint_count_lines(path);
        if (rows[c] < 0)
            st = mint_fail(MINT_E_IO, "%s: missing part", path);
        total += (size_t)(rows[c] > 0 ? rows[c] : 0);
        if (!st && !(st = part_name(path, sizeof path, o->out_dir, "errors", c, ".csv"))) {
            long e = mint_count_lines(path);
            nerr += (size_t)(e > 0 ? e : 0);
        }
    }
    *total_out = total;
    *nerr_out = nerr;
    return st;
}

/* Append the rows of one chunk's part of a tap (rowbytes each) to w, in
 * reads of at most bufsz bytes through buf. */
static mint_status append_part(io_npy_writer *w, const char *part, size_t rowbytes, long rows,
                               char *buf, size_t bufsz)
{
    mint_status st = MINT_OK;
    FILE *f = fopen(part, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) || (size_t)sb.st_size != rowbytes * (size_t)rows) {
        st = mint_fail(MINT_E_FORMAT, "%s: part is missing or does not hold %ld rows; "
                       "remove the folder and extract again", part, rows);
        if (f)
            fclose(f);
        return st;
    }
    size_t per_read = bufsz / rowbytes ? bufsz / rowbytes : 1;
    char *rb = per_read * rowbytes > bufsz ? malloc(rowbytes) : buf;
    for (long r = 0; r < rows && !st && rb;) {
        size_t want = (size_t)(rows - r) < per_read ? (size_t)(rows - r) : per_read;
        if (fread(rb, rowbytes, want, f) != want)
            st = mint_fail(MINT_E_IO, "%s: read error", part);
        else
            st = io_npy_writer_append(w, rb, want);
        r += (long)want;
    }
    if (!rb)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    if (rb && rb != buf)
        free(rb);
    fclose(f);
    return st;
}

/* <tap>.npy of total rows from the tap's parts. */
static mint_status write_tap(const mint_extract_opts *o, const tapinfo *ti, size_t nchunks,
                             const long *rows, size_t total, char *buf, size_t bufsz)
{
    size_t esz = o->f16 ? 2 : 4;
    int64_t dims[4] = { (int64_t)total, ti->dims[0], ti->dims[1], ti->dims[2] };
    int rank = o->pool_max ? 2 : ti->rank;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.npy", o->out_dir, ti->safe);
    io_npy_writer *w;
    mint_status st = io_npy_writer_open(&w, path, o->f16 ? BASE_F16 : BASE_F32, rank, dims);
    if (st)
        return st;
    size_t rowbytes = (size_t)ti->row * esz;
    for (size_t c = 0; c < nchunks && !st; c++) {
        char part[4200];
        if ((st = part_name(part, sizeof part, o->out_dir, ti->safe, c, ".bin")))
            break;
        st = append_part(w, part, rowbytes, rows[c], buf, bufsz);
    }
    if (st)
        io_npy_writer_abort(w);
    else
        st = io_npy_writer_close(w);
    return st;
}

/* extract.txt: the run's description (network SHA-256, taps, pooling,
 * dtype, list hash), so training can bind a MINT model to its network */
static mint_status write_description(const mint_extract_opts *o)
{
    char cfg[4300], txt[4300];
    snprintf(cfg, sizeof cfg, "%s/.parts/config", o->out_dir);
    snprintf(txt, sizeof txt, "%s/extract.txt", o->out_dir);
    FILE *in = fopen(cfg, "r");
    char body[8192];
    size_t n = in ? fread(body, 1, sizeof body, in) : 0;
    if (in)
        fclose(in);
    return n ? base_write_file_atomic(txt, body, n)
             : mint_fail(MINT_E_IO, "%s: cannot read the run description", cfg);
}

/* index.csv (rows numbered) or errors.csv from the chunks' parts. */
static mint_status write_csv(const mint_extract_opts *o, size_t nchunks, int which)
{
    const char *stem = which ? "errors" : "index";
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.csv", o->out_dir, stem);
    base_afile a;
    mint_status st = base_afile_open(&a, path);
    if (st)
        return st;
    FILE *out = a.fp;
    fputs(which ? "item,file,error\n" : "row,file,label,sha256\n", out);
    size_t row = 0;
    for (size_t c = 0; c < nchunks && !st; c++) {
        char part[4200], *line = NULL;
        size_t cap = 0;
        if ((st = part_name(part, sizeof part, o->out_dir, stem, c, ".csv")))
            break;
        FILE *f = fopen(part, "r");
        if (!f)
            continue;
        while (getline(&line, &cap, f) > 0) {
            if (!which)
                fprintf(out, "%zu,", row++);
            fputs(line, out);
        }
        free(line);
        fclose(f);
    }
    if (st)
        base_afile_abort(&a);
    else
        st = base_afile_commit(&a);
    return st;
}

/* Remove the parts (best effort: the outputs are complete already). */
static void remove_parts(const mint_extract_opts *o, const tapinfo *ti, size_t nchunks)
{
    char path[4200];
    for (size_t c = 0; c < nchunks; c++) {
        for (int t = 0; t < o->ntaps; t++)
            if (!part_name(path, sizeof path, o->out_dir, ti[t].safe, c, ".bin"))
                unlink(path);
        if (!part_name(path, sizeof path, o->out_dir, "errors", c, ".csv"))
            unlink(path);
        if (!part_name(path, sizeof path, o->out_dir, "index", c, ".csv"))
            unlink(path);
        if (!part_name(path, sizeof path, o->out_dir, "sums", c, ""))
            unlink(path);
    }
    snprintf(path, sizeof path, "%s/.parts/config", o->out_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/.parts", o->out_dir);
    rmdir(path);
}

/* Assemble the final outputs from the parts, then remove the parts. */
static mint_status finish(const mint_extract_opts *o, const tapinfo *ti, size_t nchunks,
                          mint_extract_stats *stats)
{
    long *rows = calloc(nchunks ? nchunks : 1, sizeof *rows);
    if (!rows)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    size_t total = 0, nerr = 0;
    mint_status st = count_parts(o, nchunks, rows, &total, &nerr);
    size_t bufsz = 1 << 20;
    char *buf = malloc(bufsz);
    if (!st && !buf)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (int t = 0; t < o->ntaps && !st; t++)
        st = write_tap(o, &ti[t], nchunks, rows, total, buf, bufsz);
    if (!st)
        st = write_description(o);
    /* index.csv and errors.csv */
    for (int which = 0; which < 2 && !st; which++) {
        if (which && nerr == 0)
            break;
        st = write_csv(o, nchunks, which);
    }
    free(buf);
    free(rows);
    if (st)
        return st;
    remove_parts(o, ti, nchunks);
    stats->written = total;
    stats->failed = nerr;
    return MINT_OK;
}

mint_status mint_check_image_input(const mint_model *m)
{
    const int c = mint_model_graph(m)->meta.in_c;
    if (c != 1 && c != 3)
        return mint_fail(MINT_E_UNSUPPORTED, "the model takes %d input channels; images can only "
                         "feed 1 (grey) or 3 (RGB/BGR) channels", c);
    return MINT_OK;
}

/* Per tap: its file name stem, shape and row size, checked (names that
 * give no file, clash with an output or another tap). */
static mint_status tap_infos(const mint_extract_opts *oin, tapinfo *ti)
{
    for (int t = 0; t < oin->ntaps; t++) {
        if (io_safe_name(oin->taps[t], ti[t].safe, sizeof ti[t].safe))
            return mint_fail(MINT_E_ARG, "tap name '%.300s' gives no file name (empty after the "
                             "leading '.' and '/', or longer than %d bytes)", oin->taps[t],
                             IO_SAFE_NAME_MAX);
        if (strpbrk(oin->taps[t], " \t\r\n"))
            return mint_fail(MINT_E_ARG, "tap name '%s' contains white space, which extract.txt "
                             "cannot record", oin->taps[t]);
        mint_status st = mint_model_tap_shape(oin->model, oin->taps[t], &ti[t].rank, ti[t].dims);
        if (st)
            return st;
        ti[t].numel = (int64_t)ti[t].dims[0] * (ti[t].rank == 4 ? (int64_t)ti[t].dims[1] * ti[t].dims[2] : 1);
        ti[t].row = oin->pool_max ? ti[t].dims[0] : ti[t].numel;
        if (!strcmp(ti[t].safe, "index") || !strcmp(ti[t].safe, "errors"))
            return mint_fail(MINT_E_ARG, "tap name '%s' clashes with an output file name", oin->taps[t]);
        /* two taps writing one file would fail only after all the work */
        for (int u = 0; u < t; u++) {
            if (!strcmp(oin->taps[u], oin->taps[t]))
                return mint_fail(MINT_E_ARG, "tap '%s' is given twice in --taps", oin->taps[t]);
            if (!strcmp(ti[u].safe, ti[t].safe))
                return mint_fail(MINT_E_ARG, "taps '%s' and '%s' would both be written to %s.npy",
                                 oin->taps[u], oin->taps[t], ti[t].safe);
        }
    }
    return MINT_OK;
}

/* The output folder, locked (*lock), with the run's description: a new
 * one, or an unfinished one to resume; a finished one is refused. */
static mint_status open_out_dir(const mint_extract_opts *o, const io_list *whole, int *lock)
{
    char parts[4200], cfg[4300], path[4300];
    snprintf(parts, sizeof parts, "%s/.parts", o->out_dir);
    snprintf(cfg, sizeof cfg, "%s/config", parts);
    snprintf(path, sizeof path, "%s/index.csv", o->out_dir);
    mint_status st = MINT_OK;
    int unfinished = 0;
    if (mkdir(o->out_dir, 0777) && errno != EEXIST)
        st = mint_fail(MINT_E_IO, "%s: %s", o->out_dir, strerror(errno));
    else if ((st = mint_extract_lock(o->out_dir, lock)))
        ; /* another run uses the folder */
    else if (!(unfinished = exists(cfg)) && exists(path))
        st = mint_fail(MINT_E_ARG, "%s already holds a finished extraction (index.csv); choose another --out",
                       o->out_dir);
    else if (unfinished && !o->resume)
        st = mint_fail(MINT_E_ARG, "%s holds an unfinished extraction: add --resume to continue it, "
                       "or remove the folder", o->out_dir);
    else if (unfinished)
        st = write_config(o, whole, cfg, 1);
    else if (mkdir(parts, 0777) && errno != EEXIST)
        st = mint_fail(MINT_E_IO, "%s: %s", parts, strerror(errno));
    else
        st = write_config(o, whole, cfg, 0);
    return st;
}

/* The batch buffers of rs (freed by free_buffers). */
static mint_status alloc_buffers(run_state *rs)
{
    const mint_extract_opts *o = rs->o;
    const tapinfo *ti = rs->ti;
    int ic, ih, iw;
    mint_model_input_shape(o->model, &ic, &ih, &iw);
    size_t maxrow = 0;
    rs->x = malloc(sizeof(float) * (size_t)o->batch * (size_t)ic * (size_t)ih * (size_t)iw);
    rs->status = malloc(sizeof *rs->status * (size_t)o->batch);
    rs->sha = malloc(65 * (size_t)o->batch);
    rs->err = malloc(512 * (size_t)o->batch);
    int okalloc = rs->x && rs->status && rs->sha && rs->err;
    for (int t = 0; t < o->ntaps && okalloc; t++) {
        okalloc = (rs->tap[t] = malloc(sizeof(float) * (size_t)(ti[t].numel * o->batch))) != NULL;
        if ((size_t)ti[t].row > maxrow)
            maxrow = (size_t)ti[t].row;
    }
    if (okalloc)
        okalloc = (rs->rows = malloc(sizeof(float) * maxrow * (size_t)o->batch)) != NULL;
    return okalloc ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory for batch buffers");
}

static void free_buffers(run_state *rs)
{
    free(rs->x);
    free(rs->status);
    free(rs->sha);
    free(rs->err);
    free(rs->rows);
    for (int t = 0; t < rs->o->ntaps; t++)
        free(rs->tap[t]);
}

/* Every chunk: kept when a resumed run committed it and its parts match
 * their checksums, else extracted. */
static mint_status run_chunks(run_state *rs, size_t nchunks)
{
    const mint_extract_opts *o = rs->o;
    mint_status st = MINT_OK;
    const char *stems[64];
    for (int t = 0; t < o->ntaps; t++)
        stems[t] = rs->ti[t].safe;
    for (size_t c = 0; c < nchunks && !st; c++) {
        char ipart[4200];
        if ((st = part_name(ipart, sizeof ipart, o->out_dir, "index", c, ".csv")))
            break;
        /* a committed chunk is kept only if its parts match their checksums */
        if (exists(ipart) && mint_extract_chunk_verify(o->out_dir, c, stems, o->ntaps) == MINT_OK) {
            size_t n = c + 1 == nchunks ? o->list->n - c * (size_t)o->chunk : (size_t)o->chunk;
            rs->done += n;
            rs->resumed += n;
            char epart[4200]; /* the finished chunk's failures count as skipped too */
            if (!part_name(epart, sizeof epart, o->out_dir, "errors", c, ".csv")) {
                long e = mint_count_lines(epart);
                rs->failed += (size_t)(e > 0 ? e : 0);
            }
            if (o->progress)
                o->progress(o->ctx, rs->done, o->list->n, rs->failed, rs->resumed);
            continue;
        }
        st = do_chunk(rs, c);
    }
    return st;
}

mint_status mint_extract(const mint_extract_opts *oin, mint_extract_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!oin->model || !oin->list || oin->ntaps < 1 || oin->ntaps > 64 || oin->batch < 1 ||
        oin->chunk < 1 || !oin->out_dir || !oin->model_sha256 || oin->shard_n < 0 ||
        (oin->shard_n > 0 && (oin->shard_i < 0 || oin->shard_i >= oin->shard_n)))
        return mint_fail(MINT_E_ARG, "bad extraction options");
    mint_status st = mint_check_image_input(oin->model);
    if (st)
        return st;
    tapinfo ti[64];
    if ((st = tap_infos(oin, ti)))
        return st;
    /* the shard: a shallow view of the whole list's items */
    mint_extract_opts so = *oin;
    const mint_extract_opts *o = &so;
    io_list shard = { NULL, 0 };
    if (oin->shard_n > 0) {
        size_t n = mint_shard_size(oin->list->n, oin->shard_i, oin->shard_n);
        shard.items = malloc((n ? n : 1) * sizeof *shard.items);
        if (!shard.items)
            return mint_fail(MINT_E_NOMEM, "out of memory");
        for (size_t j = 0; j < n; j++)
            shard.items[j] = oin->list->items[list_pos(oin, j)];
        shard.n = n;
        so.list = &shard;
    }
    int lock = -1;
    if ((st = open_out_dir(o, oin->list, &lock))) {
        mint_extract_unlock(o->out_dir, lock);
        free(shard.items);
        return st;
    }
    run_state rs = { .o = o, .ti = ti };
    st = alloc_buffers(&rs);
    size_t nchunks = (o->list->n + (size_t)o->chunk - 1) / (size_t)o->chunk;
    if (!st)
        st = run_chunks(&rs, nchunks);
    free_buffers(&rs);
    if (!st)
        st = finish(o, ti, nchunks, stats);
    stats->resumed = rs.resumed;
    mint_extract_unlock(o->out_dir, lock);
    free(shard.items);
    return st;
}
