/* test_extract.c - AAD extraction: outputs equal the model run on the same
 * prepared tensors bit for bit (raw and max-pooled), shards partition the
 * list, a run that dies mid-way resumes without redoing finished chunks and
 * ends with the same bytes as a clean run (and only with the same settings,
 * landmarks and root included), bad images are skipped or fail, duplicate
 * taps are refused up front, folder scans follow symlinks but not cycles,
 * and merge puts shards back in list order and refuses sets that do not
 * belong together; max pooling has one NaN rule, shared with the in-memory
 * features. */
#include "testutil.h"
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/align.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "io/npy.h"
#include "mint/extract.h"
#include "mint/extract_dir.h"
#include "mint/features.h"
#include "net/graph.h"
#include "net/iresnet.h"
#include "net/model.h"

#define NIMG 6
static char dir[256];
static char imgs[NIMG][512];
static mint_model *model;

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mint_extract_%d", (int)getpid());
    mkdir(dir, 0777);
    /* already aligned 112x112 crops (committed fixtures) */
    static const char *const names[NIMG] = {
        "AJ_Cook_0001.png", "Angelina_Jolie_0005.png", "Bill_Simon_0011.png",
        "Choi_Sung-hong_0002.png", "David_Anderson_0004.png", "AJ_Cook_0001.png",
    };
    for (int i = 0; i < NIMG; i++)
        snprintf(imgs[i], sizeof imgs[i], TEST_FIXTURES "/align/%s", names[i]);
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    if (net_iresnet_build(&g, &cfg, 3) || mint_model_from_graph(&model, g, NULL))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mint_model_close(model);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Items first..first+n-1 of the image cycle, keyed img<index>.png. */
static void make_list_from(io_list *l, int first, int n)
{
    l->n = (size_t)n;
    l->items = calloc((size_t)n, sizeof *l->items);
    for (int k = 0; k < n; k++) {
        int i = first + k;
        l->items[k].path = strdup(imgs[i % NIMG]);
        char key[64];
        snprintf(key, sizeof key, "img%02d.png", i);
        l->items[k].key = strdup(key);
        l->items[k].label = strdup(i % 2 ? "b" : "a");
    }
}

static void make_list(io_list *l, int n) { make_list_from(l, 0, n); }

/* Progress calls seen (the last one's figures). */
typedef struct {
    int calls;
    size_t done, total, resumed;
} progress_log;

static void log_progress(void *ctx, size_t done, size_t total, size_t failed, size_t resumed)
{
    (void)failed;
    progress_log *p = ctx;
    p->calls++;
    p->done = done;
    p->total = total;
    p->resumed = resumed;
}

static int contains(const char *path, const char *needle)
{
    size_t n;
    char *t = test_read_file(path, &n);
    if (!t)
        return 0;
    t[n] = 0;
    int r = strstr(t, needle) != NULL;
    free(t);
    return r;
}

static void same_file(const char *a, const char *b, const char *name)
{
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    size_t na, nb;
    void *x = test_read_file(pa, &na), *y = test_read_file(pb, &nb);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(na, nb);
    assert_memory_equal(x, y, na);
    free(x);
    free(y);
}

static mint_extract_opts opts(const io_list *l, const char *out, const char *const *taps, int ntaps,
                              int pool)
{
    return (mint_extract_opts){ .model = model, .model_sha256 = "test", .list = l, .taps = taps,
                                .ntaps = ntaps, .pool_max = pool, .out_dir = out, .batch = 4,
                                .chunk = 2 };
}

static void test_matches_model_run(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, NIMG);
    const char *taps[2] = { "layer1", "embedding" };
    char out_raw[300], out_max[300], path[400];
    snprintf(out_raw, sizeof out_raw, "%s/raw", dir);
    snprintf(out_max, sizeof out_max, "%s/max", dir);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, out_raw, taps, 2, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.written, NIMG);
    o = opts(&l, out_max, taps, 2, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);

    /* the reference: prepare every image, run the model once on them all */
    float *x = malloc(sizeof(float) * NIMG * 3 * 112 * 112);
    int64_t n1 = 8 * 56 * 56;
    float *t1 = malloc(sizeof(float) * NIMG * (size_t)n1), *emb = malloc(sizeof(float) * NIMG * 16);
    char sha[65];
    for (int i = 0; i < NIMG; i++)
        assert_int_equal(mint_prepare_image(model, NULL, &l.items[i], x + i * 3 * 112 * 112, sha), MINT_OK);
    float *outs[2] = { t1, emb };
    assert_int_equal(mint_model_run(model, x, NIMG, NULL, 2, taps, outs), MINT_OK);

    io_npy a;
    snprintf(path, sizeof path, "%s/layer1.npy", out_raw);
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.rank, 4);
    assert_int_equal(a.dims[0], NIMG);
    assert_memory_equal(a.data, t1, sizeof(float) * NIMG * (size_t)n1);
    io_npy_free(&a);
    snprintf(path, sizeof path, "%s/embedding.npy", out_raw);
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_memory_equal(a.data, emb, sizeof(float) * NIMG * 16);
    io_npy_free(&a);
    /* max-pooled layer1 = per-channel max of the raw map */
    snprintf(path, sizeof path, "%s/layer1.npy", out_max);
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[1], 8);
    for (int i = 0; i < NIMG; i++)
        for (int c = 0; c < 8; c++) {
            float m = -INFINITY;
            for (int k = 0; k < 56 * 56; k++)
                m = fmaxf(m, t1[(i * 8 + c) * 56 * 56 + k]);
            assert_true(((float *)a.data)[i * 8 + c] == m);
        }
    io_npy_free(&a);
    /* identical images (0 and 5) give identical rows; index has hashes */
    size_t n;
    snprintf(path, sizeof path, "%s/index.csv", out_max);
    char *idx = test_read_file(path, &n);
    assert_non_null(idx);
    idx[n] = 0;
    assert_non_null(strstr(idx, "row,file,label,sha256\n0,img00.png,a,"));
    assert_non_null(strstr(idx, "\n5,img05.png,b,"));
    free(idx);
    /* a second run into a finished folder is refused */
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    free(x);
    free(t1);
    free(emb);
    io_list_free(&l);
}

static void test_resume_after_failure(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, NIMG);
    /* image 4 (in chunk 2 of 3) is broken: the run fails there */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/broken.png", dir);
    write_file(bad, "\x89PNG\r\n\x1a\n broken", 16);
    free(l.items[4].path);
    l.items[4].path = strdup(bad);
    const char *taps[1] = { "layer2" };
    char out[300], clean[300], path[400];
    snprintf(out, sizeof out, "%s/resume", dir);
    snprintf(clean, sizeof clean, "%s/clean", dir);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, out, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "broken.png"));
    snprintf(path, sizeof path, "%s/layer2.npy", out);
    assert_int_equal(access(path, F_OK), -1); /* no half output */
    /* without --resume the unfinished folder is refused */
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    /* fix the file behind the same name and resume: chunks 0-1 are kept */
    size_t n;
    void *good = test_read_file(imgs[4], &n);
    write_file(bad, good, n);
    free(good);
    o.resume = 1;
    progress_log pl = { 0 };
    o.progress = log_progress;
    o.ctx = &pl;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.resumed, 4);
    /* the progress of the resumed run says which images were resumed, so
     * images/s counts only the 2 done now (it counted all 6) */
    assert_true(pl.calls >= 2);
    assert_int_equal(pl.done, NIMG);
    assert_int_equal(pl.total, NIMG);
    assert_int_equal(pl.resumed, 4);
    assert_int_equal(s.written, NIMG);
    /* same bytes as a clean run */
    o = opts(&l, clean, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    size_t na, nb;
    char pc[400];
    snprintf(pc, sizeof pc, "%s/layer2.npy", clean);
    void *a = test_read_file(path, &na), *b = test_read_file(pc, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    /* resuming with other options is refused */
    write_file(bad, "\x89PNG\r\n\x1a\n broken", 16);
    snprintf(out, sizeof out, "%s/mismatch", dir);
    o = opts(&l, out, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_E_FORMAT);
    o.pool_max = 0;
    o.resume = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "--pool differs"));
    io_list_free(&l);
}

static void test_skip_and_shard(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, NIMG);
    char bad[300], out[300], path[400];
    snprintf(bad, sizeof bad, "%s/missing.png", dir);
    free(l.items[1].path);
    l.items[1].path = strdup(bad);
    const char *taps[1] = { "embedding" };
    snprintf(out, sizeof out, "%s/skip", dir);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, out, taps, 1, 1);
    o.skip_errors = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.written, NIMG - 1);
    assert_int_equal(s.failed, 1);
    snprintf(path, sizeof path, "%s/errors.csv", out);
    size_t n;
    char *e = test_read_file(path, &n);
    assert_non_null(e);
    e[n] = 0;
    assert_non_null(strstr(e, "item,file,error\n1,img01.png,"));
    assert_non_null(strstr(e, "missing.png: cannot open: "));
    assert_non_null(strstr(e, strerror(ENOENT)));
    free(e);
    /* without skip the run fails with "not found", not "malformed file" */
    snprintf(out, sizeof out, "%s/skip_fail", dir);
    o = opts(&l, out, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_E_NOTFOUND);
    assert_non_null(strstr(mint_last_error(), strerror(ENOENT)));
    /* shards: i % n == k, disjoint and complete */
    io_list a, b;
    make_list(&a, 7);
    make_list(&b, 7);
    io_list_shard(&a, 0, 2);
    io_list_shard(&b, 1, 2);
    assert_int_equal(a.n, 4);
    assert_int_equal(b.n, 3);
    assert_string_equal(a.items[1].key, "img02.png");
    assert_string_equal(b.items[0].key, "img01.png");
    io_list_free(&a);
    io_list_free(&b);
    io_list_free(&l);
}

static void test_shards_merge(void **state)
{
    (void)state;
    const char *taps[1] = { "layer3" };
    char full[300], s0[300], s1[300], merged[300], p1[400], p2[400];
    snprintf(full, sizeof full, "%s/m_full", dir);
    snprintf(s0, sizeof s0, "%s/m_s0", dir);
    snprintf(s1, sizeof s1, "%s/m_s1", dir);
    snprintf(merged, sizeof merged, "%s/m_merged", dir);
    io_list l, a, b;
    /* contiguous halves so the merged order equals the full order */
    make_list(&l, 4);
    make_list_from(&a, 0, 2);
    make_list_from(&b, 2, 2);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, full, taps, 1, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    o = opts(&a, s0, taps, 1, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    o = opts(&b, s1, taps, 1, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *ins[2] = { s0, s1 };
    mint_merge_stats ms;
    assert_int_equal(mint_merge(merged, ins, 2, 0, &ms), MINT_OK);
    assert_int_equal(ms.rows, 4);
    assert_int_equal(ms.list_order, 0); /* whole extractions: concatenated */
    const char *files[2] = { "layer3.npy", "index.csv" };
    for (int k = 0; k < 2; k++) {
        size_t na, nb;
        snprintf(p1, sizeof p1, "%s/%s", full, files[k]);
        snprintf(p2, sizeof p2, "%s/%s", merged, files[k]);
        void *x = test_read_file(p1, &na), *y = test_read_file(p2, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(x, y, na);
        free(x);
        free(y);
    }
    /* merging into a finished folder is refused, so are folders with other taps */
    assert_int_equal(mint_merge(merged, ins, 2, 0, &ms), MINT_E_ARG);
    char other[300];
    snprintf(other, sizeof other, "%s/m_other", dir);
    const char *t2[1] = { "layer2" };
    o = opts(&a, other, t2, 1, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *mixed[2] = { s0, other };
    snprintf(p1, sizeof p1, "%s/m_bad", dir);
    assert_int_equal(mint_merge(p1, mixed, 2, 0, &ms), MINT_E_ARG);
    /* the same list twice (a copy of a folder, or the folder itself) */
    const char *twice[2] = { s0, s0 };
    assert_int_equal(mint_merge(p1, twice, 2, 0, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "same folder"));
    char again[300];
    snprintf(again, sizeof again, "%s/m_s0_again", dir);
    o = opts(&a, again, taps, 1, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *copy[2] = { s0, again };
    assert_int_equal(mint_merge(p1, copy, 2, 0, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "same image list"));
    /* the same names under another root are other images: merged */
    char elsewhere[300];
    snprintf(elsewhere, sizeof elsewhere, "%s/m_s0_elsewhere", dir);
    o = opts(&a, elsewhere, taps, 1, 0);
    o.root = "/some/other/corpus";
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *roots[2] = { s0, elsewhere };
    assert_int_equal(mint_merge(p1, roots, 2, 0, &ms), MINT_OK);
    assert_int_equal(ms.rows, 4);
    io_list_free(&l);
    io_list_free(&a);
    io_list_free(&b);
}

/* Landmarks are found by the image path when the key is shorter than the
 * CSV's names ("x.png" listed from a folder, CSV row "Person/x.png"). */
static void test_landmarks_by_path(void **state)
{
    (void)state;
    char sub[300], path[400];
    snprintf(sub, sizeof sub, "%s/Person", dir);
    mkdir(sub, 0777);
    snprintf(path, sizeof path, "%s/x.png", sub);
    size_t n;
    void *png = test_read_file(imgs[0], &n);
    write_file(path, png, n);
    free(png);
    /* the template shifted by 3 pixels: alignment moves the face back */
    char csv[512];
    int k = snprintf(csv, sizeof csv, "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\nPerson/x.png");
    for (int i = 0; i < 10; i++)
        k += snprintf(csv + k, sizeof csv - (size_t)k, ",%.4f",
                      (double)io_arcface_template[i] + (i % 2 ? 0.0 : 3.0));
    k += snprintf(csv + k, sizeof csv - (size_t)k, "\n");
    io_landmarks *lm;
    assert_int_equal(io_landmarks_parse(csv, (size_t)k, "test", &lm), MINT_OK);
    io_item it = { path, "x.png", "" };
    float *a = malloc(sizeof(float) * 3 * 112 * 112), *b = malloc(sizeof(float) * 3 * 112 * 112);
    char sha[65];
    assert_int_equal(mint_prepare_image(model, lm, &it, a, sha), MINT_OK);
    assert_int_equal(mint_prepare_image(model, NULL, &it, b, sha), MINT_OK);
    assert_memory_not_equal(a, b, sizeof(float) * 3 * 112 * 112); /* the warp was applied */
    /* the shifted crop equals the original moved left by 3 pixels */
    assert_true(a[50 * 112 + 40] == b[50 * 112 + 43]);
    free(a);
    free(b);
    io_landmarks_free(lm);
}

/* --dir follows symlinked files and folders, lists a dangling image link
 * (so that it is reported missing), and does not loop on a cycle. */
static void test_dir_symlinks(void **state)
{
    (void)state;
    char top[300], ext[300], p[400], q[400];
    snprintf(top, sizeof top, "%s/scan", dir);
    snprintf(ext, sizeof ext, "%s/scan_outside", dir);
    mkdir(top, 0777);
    mkdir(ext, 0777);
    snprintf(p, sizeof p, "%s/A", top);
    mkdir(p, 0777);
    size_t n;
    void *png = test_read_file(imgs[0], &n);
    snprintf(p, sizeof p, "%s/A/a.png", top);
    write_file(p, png, n);
    snprintf(q, sizeof q, "%s/b.png", ext);
    write_file(q, png, n);
    free(png);
    snprintf(p, sizeof p, "%s/B", top); /* a folder elsewhere */
    assert_int_equal(symlink(ext, p), 0);
    snprintf(q, sizeof q, "%s/A/a.png", top);
    snprintf(p, sizeof p, "%s/A/c.png", top); /* a file */
    assert_int_equal(symlink(q, p), 0);
    snprintf(p, sizeof p, "%s/A/loop", top); /* a cycle back to the top */
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/A/self", top); /* and to its own folder */
    assert_int_equal(symlink(".", p), 0);
    snprintf(p, sizeof p, "%s/A/gone.png", top); /* dangling */
    assert_int_equal(symlink("nowhere.png", p), 0);
    io_list l;
    assert_int_equal(io_list_from_dir(top, &l), MINT_OK);
    static const char *const want[] = { "A/a.png", "A/c.png", "A/gone.png", "B/b.png" };
    assert_int_equal(l.n, 4);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(l.items[i].key, want[i]);
    assert_string_equal(l.items[3].label, "B");
    /* the linked images read like real ones; the dangling one is missing */
    float *x = malloc(sizeof(float) * 3 * 112 * 112);
    char sha[65];
    assert_int_equal(mint_prepare_image(model, NULL, &l.items[1], x, sha), MINT_OK);
    assert_int_equal(mint_prepare_image(model, NULL, &l.items[3], x, sha), MINT_OK);
    assert_int_equal(mint_prepare_image(model, NULL, &l.items[2], x, sha), MINT_E_NOTFOUND);
    free(x);
    io_list_free(&l);
    /* a folder linked in twice is listed under both names (not a cycle) */
    snprintf(p, sizeof p, "%s/C", top);
    assert_int_equal(symlink(ext, p), 0);
    assert_int_equal(io_list_from_dir(top, &l), MINT_OK);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.items[4].key, "C/b.png");
    io_list_free(&l);
}

/* Duplicate taps are refused before any image is read. */
static void test_duplicate_taps(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, 2);
    char out[300];
    snprintf(out, sizeof out, "%s/duptaps", dir);
    const char *taps[3] = { "layer1", "embedding", "layer1" };
    progress_log pl = { 0 };
    mint_extract_opts o = opts(&l, out, taps, 3, 1);
    o.progress = log_progress;
    o.ctx = &pl;
    mint_extract_stats s;
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "'layer1' is given twice"));
    assert_int_equal(pl.calls, 0);
    assert_int_equal(access(out, F_OK), -1); /* nothing written */
    /* names extract.txt cannot record, or that give no file name */
    const char *spaced[2] = { "layer1", "a b" }, *dots[1] = { "./." };
    o = opts(&l, out, spaced, 2, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "white space"));
    o = opts(&l, out, dots, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "gives no file name"));
    assert_int_equal(access(out, F_OK), -1);
    io_list_free(&l);
}

/* A resume must use the same landmarks (by SHA-256) and root; the refusal
 * names the setting. */
static void test_resume_checks_landmarks_root(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, NIMG);
    char bad[300], out[300], path[400];
    snprintf(bad, sizeof bad, "%s/broken_lm.png", dir);
    write_file(bad, "\x89PNG\r\n\x1a\n broken", 16);
    free(l.items[4].path);
    l.items[4].path = strdup(bad);
    /* landmarks for no listed key: the images are already 112x112 */
    static const char csv[] = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\nnobody.png,1,2,3,4,5,6,7,8,9,10\n";
    io_landmarks *lm;
    assert_int_equal(io_landmarks_parse(csv, sizeof csv - 1, "test", &lm), MINT_OK);
    const char *taps[1] = { "embedding" };
    snprintf(out, sizeof out, "%s/lmroot", dir);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, out, taps, 1, 1);
    o.landmarks = lm;
    o.landmarks_sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
    o.root = dir;
    assert_int_equal(mint_extract(&o, &s), MINT_E_FORMAT); /* dies in chunk 2 */
    o.resume = 1;
    mint_extract_opts r = o;
    r.landmarks_sha256 = "2222222222222222222222222222222222222222222222222222222222222222";
    assert_int_equal(mint_extract(&r, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "--landmarks"));
    assert_non_null(strstr(mint_last_error(), "2222222222"));
    r = o;
    r.landmarks = NULL;
    r.landmarks_sha256 = NULL;
    assert_int_equal(mint_extract(&r, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "--landmarks"));
    r = o;
    r.root = TEST_FIXTURES;
    assert_int_equal(mint_extract(&r, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "--root"));
    r = o;
    r.shard_i = 0;
    r.shard_n = 1;
    assert_int_equal(mint_extract(&r, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "--shard"));
    /* the same settings resume (skipping the bad image: not a recorded setting) */
    o.skip_errors = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.resumed, 4);
    assert_int_equal(s.written, NIMG - 1);
    snprintf(path, sizeof path, "%s/extract.txt", out);
    assert_true(contains(path, "\nlandmarks 1111111111111111111111111111111111111111111111111111111111111111\n"));
    assert_true(contains(path, "\nroot /"));
    io_landmarks_free(lm);
    io_list_free(&l);
}

/* Shards of one list merge back into list order (the unsharded bytes, with
 * a skipped image too); sets that do not belong together are refused. */
static void test_merge_shards(void **state)
{
    (void)state;
    enum { N = 7 };
    io_list l, other;
    make_list(&l, N);
    make_list_from(&other, 1, N); /* another list of the same length */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/broken_m.png", dir);
    write_file(bad, "\x89PNG\r\n\x1a\n broken", 16);
    /* bad images in shards 1/3 and 2/3; given in the order 2, 0, 1 below, a
     * concatenation would list the errors in the wrong order */
    free(l.items[1].path);
    l.items[1].path = strdup(bad);
    free(l.items[5].path);
    l.items[5].path = strdup(bad);
    const char *taps[2] = { "layer4", "embedding" };
    char full[300], sh[3][300], dup[300], half[300], oth[300], out[300], part[300], empty[300];
    snprintf(full, sizeof full, "%s/ms_full", dir);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, full, taps, 2, 1);
    o.skip_errors = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.written, N - 2);
    for (int i = 0; i < 3; i++) {
        snprintf(sh[i], sizeof sh[i], "%s/ms_s%d", dir, i);
        o.out_dir = sh[i];
        o.shard_i = i;
        o.shard_n = 3;
        assert_int_equal(mint_extract(&o, &s), MINT_OK);
        assert_int_equal(s.written + s.failed, i == 0 ? 3 : 2);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/extract.txt", sh[1]);
    assert_true(contains(path, "\nshard 1/3\nimages 2\n"));
    assert_true(contains(path, "\nfull-list "));
    /* any order in, list order out: the same bytes as the unsharded run */
    const char *ins[3] = { sh[2], sh[0], sh[1] };
    mint_merge_stats ms;
    snprintf(out, sizeof out, "%s/ms_merged", dir);
    assert_int_equal(mint_merge(out, ins, 3, 0, &ms), MINT_OK);
    assert_int_equal(ms.rows, N - 2);
    assert_int_equal(ms.list_order, 1);
    assert_string_equal(ms.missing, "");
    const char *files[4] = { "layer4.npy", "embedding.npy", "index.csv", "errors.csv" };
    for (int k = 0; k < 4; k++)
        same_file(full, out, files[k]);
    snprintf(path, sizeof path, "%s/extract.txt", out);
    assert_true(contains(path, "\ntaps layer4 embedding\npool max\ndtype f32\nshard -\nimages 7\n"));

    /* the same shard twice (extracted again elsewhere) */
    snprintf(dup, sizeof dup, "%s/ms_s0_again", dir);
    o.out_dir = dup;
    o.shard_i = 0;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *twice[4] = { sh[0], sh[1], sh[2], dup };
    snprintf(out, sizeof out, "%s/ms_bad", dir);
    assert_int_equal(mint_merge(out, twice, 4, 1, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "shard 0/3 is given twice"));
    /* shards of another split overlap */
    snprintf(half, sizeof half, "%s/ms_half", dir);
    o.out_dir = half;
    o.shard_i = 1;
    o.shard_n = 2;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *split[2] = { sh[0], half };
    assert_int_equal(mint_merge(out, split, 2, 1, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "different splits"));
    /* a shard of another list */
    snprintf(oth, sizeof oth, "%s/ms_other", dir);
    o.list = &other;
    o.out_dir = oth;
    o.shard_i = 1;
    o.shard_n = 3;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *lists[3] = { sh[0], oth, sh[2] };
    assert_int_equal(mint_merge(out, lists, 3, 1, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "different image lists"));
    /* a shard aligned with another landmarks CSV */
    static const char csv[] = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\nnobody.png,1,2,3,4,5,6,7,8,9,10\n";
    io_landmarks *lm;
    assert_int_equal(io_landmarks_parse(csv, sizeof csv - 1, "test", &lm), MINT_OK);
    snprintf(oth, sizeof oth, "%s/ms_lm", dir);
    o.list = &l;
    o.out_dir = oth;
    o.landmarks = lm;
    o.landmarks_sha256 = "3333333333333333333333333333333333333333333333333333333333333333";
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    o.landmarks = NULL;
    assert_int_equal(mint_merge(out, lists, 3, 1, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "landmarks"));
    io_landmarks_free(lm);
    /* shards with a whole extraction */
    const char *mixed[2] = { sh[0], full };
    assert_int_equal(mint_merge(out, mixed, 2, 1, &ms), MINT_E_ARG);
    assert_int_equal(access(out, F_OK), -1); /* nothing written by the refusals */
    /* an incomplete set: refused naming the missing shard, or merged with
     * allow_partial; the rest merges in later */
    const char *some[2] = { sh[2], sh[0] };
    assert_int_equal(mint_merge(out, some, 2, 0, &ms), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "1/3 missing"));
    snprintf(part, sizeof part, "%s/ms_partial", dir);
    assert_int_equal(mint_merge(part, some, 2, 1, &ms), MINT_OK);
    assert_string_equal(ms.missing, "1/3");
    assert_int_equal(ms.rows, 4);
    const char *rest[2] = { sh[1], part };
    snprintf(out, sizeof out, "%s/ms_merged2", dir);
    assert_int_equal(mint_merge(out, rest, 2, 0, &ms), MINT_OK);
    for (int k = 0; k < 4; k++)
        same_file(full, out, files[k]);
    /* more shards than images: the empty shard gives 0-row outputs */
    snprintf(empty, sizeof empty, "%s/ms_empty", dir);
    o.list = &l;
    o.out_dir = empty;
    o.shard_i = 9;
    o.shard_n = 10;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.written, 0);
    io_npy a;
    snprintf(path, sizeof path, "%s/embedding.npy", empty);
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[0], 0);
    assert_int_equal(a.dims[1], 16);
    io_npy_free(&a);
    snprintf(path, sizeof path, "%s/index.csv", empty);
    assert_int_equal(mint_count_lines(path), 1);
    io_list_free(&l);
    io_list_free(&other);
}

/* images/s counts only this run's images; ETA from the remaining ones. */
static void test_progress_rate(void **state)
{
    (void)state;
    double rate, eta;
    mint_extract_rate(150, 100, 200, 10.0, &rate, &eta); /* 50 new in 10 s */
    assert_true(fabs(rate - 5.0) < 1e-12);
    assert_true(fabs(eta - 10.0) < 1e-12);
    mint_extract_rate(100, 100, 200, 3.0, &rate, &eta); /* only resumed so far */
    assert_true(rate == 0 && eta < 0);
    mint_extract_rate(0, 0, 10, 0.0, &rate, &eta);
    assert_true(rate == 0 && eta < 0);
    mint_extract_rate(10, 0, 10, 2.0, &rate, &eta);
    assert_true(fabs(rate - 5.0) < 1e-12 && eta == 0);
    assert_int_equal(mint_shard_size(7, 0, 3), 3);
    assert_int_equal(mint_shard_size(7, 2, 3), 2);
    assert_int_equal(mint_shard_size(7, 9, 10), 0);
    assert_int_equal(mint_shard_size(7, 0, 0), 7);
}

/* A one-channel (grey) model: the images are fed as BT.601 luma, one plane
 * (this overflowed the input buffer when three planes were always written);
 * a two-channel model is refused before any image is read. */
static mint_model *conv_model(int cin)
{
    net_graph *g = net_graph_new();
    assert_non_null(g);
    snprintf(g->meta.arch, sizeof g->meta.arch, "onnx");
    g->meta.in_c = cin, g->meta.in_h = 112, g->meta.in_w = 112;
    for (int k = 0; k < 3; k++)
        g->meta.mean[k] = 0.5f, g->meta.std[k] = 0.25f;
    snprintf(g->meta.channel_order, sizeof g->meta.channel_order, "RGB");
    const int64_t dims[4] = { 4, cin, 3, 3 };
    float *w = malloc(sizeof(float) * 4 * (size_t)cin * 9);
    assert_non_null(w);
    for (int i = 0; i < 4 * cin * 9; i++)
        w[i] = (float)((i * 37) % 11 - 5) / 7.0f;
    g->input = net_graph_tensor(g, "data");
    const int out = net_graph_tensor(g, "y");
    const int wid[4] = { net_graph_add_weight(g, "w", 4, dims, w, 1), -1, -1, -1 };
    assert_true(wid[0] >= 0);
    assert_true(net_graph_add_node(g, NET_OP_CONV, "conv", g->input, -1, out, wid) >= 0);
    g->nodes[g->nnodes - 1].conv = (net_conv_attr){ 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    g->output = out;
    assert_int_equal(net_graph_toposort(g), MINT_OK);
    assert_int_equal(net_graph_infer_shapes(g), MINT_OK);
    assert_int_equal(net_graph_name_taps(g), MINT_OK);
    mint_model *m;
    assert_int_equal(mint_model_from_graph(&m, g, NULL), MINT_OK);
    return m;
}

static void test_grey_model(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, 3);
    mint_model *m = conv_model(1);
    const char *taps[1] = { "embedding" };
    char out[300], path[400];
    snprintf(out, sizeof out, "%s/grey", dir);
    mint_extract_opts o = opts(&l, out, taps, 1, 0);
    o.model = m;
    mint_extract_stats s;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.written, 3);
    /* the reference: luma of each image, normalised, through the model */
    float *x = malloc(sizeof(float) * 3 * 112 * 112), *y = malloc(sizeof(float) * 3 * 4 * 112 * 112);
    for (int i = 0; i < 3; i++) {
        io_image img;
        assert_int_equal(io_image_load(l.items[i].path, &img, 0), MINT_OK);
        assert_int_equal(img.c, 3);
        for (int p = 0; p < 112 * 112; p++) {
            const uint8_t *q = img.px + 3 * p;
            /* BT.601 in OpenCV's 14-bit fixed point (cvtColor RGB2GRAY) */
            const double luma = (double)((4899u * q[0] + 9617u * q[1] + 1868u * q[2] + 8192u) >> 14);
            x[i * 112 * 112 + p] = (float)((luma / 255.0 - 0.5) / 0.25);
        }
        io_image_free(&img);
    }
    float *outs[1] = { y };
    assert_int_equal(mint_model_run(m, x, 3, NULL, 1, taps, outs), MINT_OK);
    io_npy a;
    snprintf(path, sizeof path, "%s/embedding.npy", out);
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.rank, 4);
    assert_int_equal(a.dims[1], 4);
    size_t bad = 0; /* (a max-reduction here crashes gcc 12's aarch64 vectoriser) */
    for (size_t i = 0; i < (size_t)3 * 4 * 112 * 112; i++)
        bad += !(fabs((double)((float *)a.data)[i] - y[i]) < 1e-4);
    assert_int_equal(bad, 0);
    io_npy_free(&a);
    mint_model_close(m);
    /* two input channels: refused up front, nothing written */
    m = conv_model(2);
    snprintf(out, sizeof out, "%s/two", dir);
    o = opts(&l, out, taps, 1, 0);
    o.model = m;
    assert_int_equal(mint_extract(&o, &s), MINT_E_UNSUPPORTED);
    assert_non_null(strstr(mint_last_error(), "takes 2 input channels"));
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    mint_model_close(m);
    free(x), free(y);
    io_list_free(&l);
}

/* Rows of the in-memory feature stream, collected. */
typedef struct {
    float *rows;
    int row;
} rows_ctx;

static mint_status collect_rows(void *ctx, size_t first, int n, const float *rows,
                                const mint_image_status *status)
{
    rows_ctx *c = ctx;
    for (int j = 0; j < n; j++)
        assert_true(status[j].ok);
    memcpy(c->rows + first * (size_t)c->row, rows, sizeof(float) * (size_t)c->row * (size_t)n);
    return MINT_OK;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Max pooling has one NaN rule (docs/format.md): a channel holding a NaN
 * gives its first NaN, in `mint extract --pool max` and in the features
 * computed in memory (train/eval/audit) alike. Before, extract dropped
 * NaNs and the in-memory path kept only a leading one. The NaNs come from
 * overflow: stem weights near FLT_MAX/8 make +-Inf maps, whose sums in the
 * next convolutions give Inf - Inf. */
static void test_pool_nan_rule(void **state)
{
    (void)state;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 3), MINT_OK);
    int stem = -1;
    for (int i = 0; i < g->nnodes && stem < 0; i++)
        if (g->nodes[i].op == NET_OP_CONV && g->nodes[i].in[0] == g->input)
            stem = i;
    assert_true(stem >= 0);
    net_weight *w = &g->weights[g->nodes[stem].w[0]];
    const int64_t per = net_weight_numel(w) / w->dims[0];
    for (int64_t k = 0; k < per; k++) /* output channel 0: big, positive then negative */
        w->data[k] = (k < per / 2 ? 1.0f : -1.0f) * 4e37f;
    mint_model *m;
    assert_int_equal(mint_model_from_graph(&m, g, NULL), MINT_OK);

    io_list l;
    make_list(&l, NIMG);
    const char *taps[1] = { "layer1" };
    const int C = 8, HW = 56 * 56;
    char out[300], path[400];
    snprintf(out, sizeof out, "%s/nanpool", dir);
    mint_extract_opts o = opts(&l, out, taps, 1, 1);
    o.model = m;
    mint_extract_stats s;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    float *mem = malloc(sizeof(float) * NIMG * C);
    rows_ctx rc = { mem, C };
    assert_int_equal(mint_feats_images_stream(m, NULL, &l, 0, taps, 1, 4, collect_rows, &rc), MINT_OK);

    /* the raw maps, and the rule applied to them here */
    float *x = malloc(sizeof(float) * NIMG * 3 * 112 * 112), *raw = malloc(sizeof(float) * NIMG * C * HW);
    char sha[65];
    for (int i = 0; i < NIMG; i++)
        assert_int_equal(mint_prepare_image(m, NULL, &l.items[i], x + i * 3 * 112 * 112, sha), MINT_OK);
    float *outs[1] = { raw };
    assert_int_equal(mint_model_run(m, x, NIMG, NULL, 1, taps, outs), MINT_OK);
    io_npy a;
    snprintf(path, sizeof path, "%s/layer1.npy", out);
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[1], C);
    int nan_later = 0, finite = 0; /* channels whose first NaN is not their first value */
    for (int i = 0; i < NIMG * C; i++) {
        const float *p = raw + (size_t)i * HW;
        int first_nan = -1, best = 0;
        for (int k = 0; k < HW && first_nan < 0; k++)
            if (isnan(p[k]))
                first_nan = k;
            else if (p[k] > p[best])
                best = k;
        const float want = first_nan >= 0 ? p[first_nan] : p[best];
        nan_later += first_nan > 0;
        finite += isfinite(want);
        assert_int_equal(f32_bits(((float *)a.data)[i]), f32_bits(want));
        assert_int_equal(f32_bits(mem[i]), f32_bits(want));
    }
    /* the case that told the two paths apart, and ordinary ones, occurred */
    print_message("  %d of %d channels with a NaN after their first value, %d finite\n", nan_later,
                  NIMG * C, finite);
    assert_true(nan_later > 0);
    assert_true(finite > 0);
    io_npy_free(&a);
    free(x);
    free(raw);
    free(mem);
    mint_model_close(m);
    io_list_free(&l);
}

/* Committed parts carry checksums (.parts/sums.<chunk>): a resume redoes a
 * chunk whose part was damaged (a flipped byte was taken before) or whose
 * sums are missing, and the result is the clean run's. */
static void test_damaged_part(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, NIMG);
    char bad[300], out[300], clean[300], path[400];
    snprintf(bad, sizeof bad, "%s/broken_d.png", dir);
    write_file(bad, "\x89PNG\r\n\x1a\n broken", 16);
    free(l.items[4].path);
    l.items[4].path = strdup(bad);
    const char *taps[1] = { "layer2" };
    snprintf(out, sizeof out, "%s/damaged", dir);
    snprintf(clean, sizeof clean, "%s/damaged_clean", dir);
    mint_extract_stats s;
    mint_extract_opts o = opts(&l, out, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_E_FORMAT); /* chunks 0 and 1 committed */
    snprintf(path, sizeof path, "%s/.parts/sums.000000", out);
    assert_true(test_file_exists(path));
    const char *stems[1] = { "layer2" };
    assert_int_equal(mint_extract_chunk_verify(out, 0, stems, 1), MINT_OK);
    assert_int_equal(mint_extract_chunk_verify(out, 1, stems, 1), MINT_OK);
    /* flip one byte of chunk 0's tap part; drop chunk 1's sums */
    snprintf(path, sizeof path, "%s/.parts/layer2.000000.bin", out);
    size_t n;
    unsigned char *b = test_read_file(path, &n);
    assert_true(n > 9);
    b[9] ^= 0x40;
    write_file(path, b, n);
    free(b);
    assert_int_equal(mint_extract_chunk_verify(out, 0, stems, 1), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "layer2.000000.bin: damaged"));
    snprintf(path, sizeof path, "%s/.parts/sums.000001", out);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mint_extract_chunk_verify(out, 1, stems, 1), MINT_E_FORMAT);
    /* a folder another run holds is refused, naming the run */
    int lock;
    assert_int_equal(mint_extract_lock(out, &lock), MINT_OK);
    o.resume = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_E_ARG);
    char want[64];
    snprintf(want, sizeof want, "in use by PID %ld", (long)getpid());
    assert_non_null(strstr(mint_last_error(), want));
    mint_extract_unlock(out, lock);
    /* resume with the image fixed: every chunk is done again */
    size_t gn;
    void *good = test_read_file(imgs[4], &gn);
    write_file(bad, good, gn);
    free(good);
    o.resume = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.resumed, 0);
    assert_int_equal(s.written, NIMG);
    o = opts(&l, clean, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *files[2] = { "layer2.npy", "index.csv" };
    for (int k = 0; k < 2; k++)
        same_file(out, clean, files[k]);
    snprintf(path, sizeof path, "%s/.parts", out);
    assert_false(test_file_exists(path)); /* sums removed with the parts */
    io_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_model_run),
        cmocka_unit_test(test_resume_after_failure),
        cmocka_unit_test(test_skip_and_shard),
        cmocka_unit_test(test_shards_merge),
        cmocka_unit_test(test_landmarks_by_path),
        cmocka_unit_test(test_dir_symlinks),
        cmocka_unit_test(test_duplicate_taps),
        cmocka_unit_test(test_resume_checks_landmarks_root),
        cmocka_unit_test(test_merge_shards),
        cmocka_unit_test(test_progress_rate),
        cmocka_unit_test(test_grey_model),
        cmocka_unit_test(test_pool_nan_rule),
        cmocka_unit_test(test_damaged_part),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
