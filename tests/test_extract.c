/* test_extract.c - AAD extraction: outputs equal the model run on the same
 * prepared tensors bit for bit (raw and max-pooled), shards partition the
 * list, a run that dies mid-way resumes without redoing finished chunks and
 * ends with the same bytes as a clean run, bad images are skipped or fail. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/align.h"
#include "io/dataset.h"
#include "io/landmarks.h"
#include "io/npy.h"
#include "mint/extract.h"
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

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(*n + 1);
    assert_int_equal(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
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
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112 };
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
    char *idx = slurp(path, &n);
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
    void *good = slurp(imgs[4], &n);
    write_file(bad, good, n);
    free(good);
    o.resume = 1;
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    assert_int_equal(s.resumed, 4);
    assert_int_equal(s.written, NIMG);
    /* same bytes as a clean run */
    o = opts(&l, clean, taps, 1, 1);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    size_t na, nb;
    char pc[400];
    snprintf(pc, sizeof pc, "%s/layer2.npy", clean);
    void *a = slurp(path, &na), *b = slurp(pc, &nb);
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
    assert_non_null(strstr(mint_last_error(), "other options"));
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
    char *e = slurp(path, &n);
    assert_non_null(e);
    e[n] = 0;
    assert_non_null(strstr(e, "img01.png,"));
    free(e);
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
    assert_int_equal(mint_merge(merged, ins, 2), MINT_OK);
    const char *files[2] = { "layer3.npy", "index.csv" };
    for (int k = 0; k < 2; k++) {
        size_t na, nb;
        snprintf(p1, sizeof p1, "%s/%s", full, files[k]);
        snprintf(p2, sizeof p2, "%s/%s", merged, files[k]);
        void *x = slurp(p1, &na), *y = slurp(p2, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(x, y, na);
        free(x);
        free(y);
    }
    /* merging into a finished folder is refused, so are folders with other taps */
    assert_int_equal(mint_merge(merged, ins, 2), MINT_E_ARG);
    char other[300];
    snprintf(other, sizeof other, "%s/m_other", dir);
    const char *t2[1] = { "layer2" };
    o = opts(&a, other, t2, 1, 0);
    assert_int_equal(mint_extract(&o, &s), MINT_OK);
    const char *mixed[2] = { s0, other };
    snprintf(p1, sizeof p1, "%s/m_bad", dir);
    assert_int_equal(mint_merge(p1, mixed, 2), MINT_E_ARG);
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
    void *png = slurp(imgs[0], &n);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_model_run),
        cmocka_unit_test(test_resume_after_failure),
        cmocka_unit_test(test_skip_and_shard),
        cmocka_unit_test(test_shards_merge),
        cmocka_unit_test(test_landmarks_by_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
