/* seeds.c - writes the generated seeds of the fuzz corpora (the ones no
 * committed fixture provides): small MINT models, a training checkpoint and
 * a small weight container, into tests/fuzz/corpus/<name>/. Not a fuzz
 * target. The committed seeds came from:
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Ikernels -I. tests/fuzz/seeds.c \
 *       build/libmint.a -fopenmp -lpng -ljpeg -lz -lm -o build/fuzz_seeds
 *   build/fuzz_seeds tests/fuzz/corpus
 * The extraction-folder seeds are "== NAME" sections (fuzz_extract_dir.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/sha256.h"
#include "convert/onnx.h"
#include "io/npy.h"
#include "mint/model.h"
#include "mint/train.h"
#include "net/graph.h"
#include "net/graph_io.h"
#include "weights/container.h"

static void check(mint_status st, const char *what)
{
    if (st) {
        fprintf(stderr, "%s: %s\n", what, mint_last_error());
        exit(1);
    }
}

/* The bytes of a small [rows,4] float32 .npy (values from seed). */
static char *npy_bytes(const char *dir, int rows, int seed, size_t *n)
{
    char path[4096];
    float v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (float)((i + seed) % 9) - 4.0f;
    const int64_t dims[2] = { rows, 4 };
    snprintf(path, sizeof path, "%s/tmp.npy", dir);
    check(io_npy_write(path, BASE_F32, 2, dims, v), path);
    FILE *f = fopen(path, "rb");
    char *b = malloc(4096);
    *n = fread(b, 1, 4096, f);
    fclose(f);
    remove(path);
    return b;
}

/* An extraction-folder seed of fuzz_extract_dir.c: "== NAME\n" sections. */
static void section(FILE *f, const char *name, const void *data, size_t n)
{
    fprintf(f, "== %s\n", name);
    fwrite(data, 1, n, f);
    fputc('\n', f);
}

static void folder_seeds(const char *corpus)
{
    static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char path[4200], txt[1024], dir[4000];
    snprintf(dir, sizeof dir, "%s/extract_dir", corpus);
    size_t n2, n1;
    char *np2 = npy_bytes(dir, 2, 1, &n2), *np1 = npy_bytes(dir, 1, 5, &n1);
    /* two shards of a list of 4: a holds items 0 and 2, b item 1 (item 3 failed) */
    snprintf(path, sizeof path, "%s/shards", dir);
    FILE *f = fopen(path, "wb");
    for (int s = 0; s < 2; s++) {
        char name[64];
        int len = snprintf(txt, sizeof txt,
                           "mint extract run\nmodel %s\ntaps embedding\npool max\ndtype f32\nchunk 1024\n"
                           "shard %d/2\nimages 2\nlist %s\nfull-list %s 4\nlandmarks -\nroot /data\n",
                           sha, s, sha, sha);
        snprintf(name, sizeof name, "%c/extract.txt", 'a' + s);
        section(f, name, txt, (size_t)len);
        len = s ? snprintf(txt, sizeof txt, "row,file,label,sha256\n0,p/b.png,p,%s\n", sha)
                : snprintf(txt, sizeof txt, "row,file,label,sha256\n0,p/a.png,p,%s\n1,q/c.png,q,%s\n", sha, sha);
        snprintf(name, sizeof name, "%c/index.csv", 'a' + s);
        section(f, name, txt, (size_t)len);
        if (s) {
            len = snprintf(txt, sizeof txt, "item,file,error\n3,q/d.png,\"q/d.png: not a PNG or JPEG\"\n");
            section(f, "b/errors.csv", txt, (size_t)len);
        }
        snprintf(name, sizeof name, "%c/embedding.npy", 'a' + s);
        section(f, name, s ? np1 : np2, s ? n1 : n2);
    }
    fclose(f);
    /* two whole extractions of other lists */
    snprintf(path, sizeof path, "%s/whole", dir);
    f = fopen(path, "wb");
    for (int s = 0; s < 2; s++) {
        char name[64];
        int len = snprintf(txt, sizeof txt,
                           "mint merge of 2 folders\nmodel %s\ntaps embedding\npool max\ndtype f32\nshard -\n"
                           "images 2\nlist %.63s%d\nlandmarks -\n", sha, sha, s);
        snprintf(name, sizeof name, "%c/extract.txt", 'a' + s);
        section(f, name, txt, (size_t)len);
        len = snprintf(txt, sizeof txt, "row,file,label,sha256\n0,a%d.png,,\n1,\"x,y.png\",l,%s\n", s, sha);
        snprintf(name, sizeof name, "%c/index.csv", 'a' + s);
        section(f, name, txt, (size_t)len);
        snprintf(name, sizeof name, "%c/embedding.npy", 'a' + s);
        section(f, name, np2, n2);
    }
    fclose(f);
    /* an unfinished run: config and a committed chunk with its checksums */
    snprintf(path, sizeof path, "%s/parts", dir);
    f = fopen(path, "wb");
    int len = snprintf(txt, sizeof txt,
                       "mint extract run\nmodel %s\ntaps embedding\npool max\ndtype f32\nchunk 2\n"
                       "shard -\nimages 3\nlist %s\nfull-list %s 3\nlandmarks -\nroot /data\n",
                       sha, sha, sha);
    section(f, "a/.parts/config", txt, (size_t)len);
    const char *bin = np2 + n2 - 32, *idx = "p/a.png,p,0123\nq/c.png,q,4567\n";
    section(f, "a/.parts/embedding.000000.bin", bin, 32);
    section(f, "a/.parts/errors.000000.csv", "", 0);
    section(f, "a/.parts/index.000000.csv", idx, strlen(idx));
    uint8_t d[32];
    char h[3][65];
    const void *parts[3] = { bin, "", idx };
    const size_t plen[3] = { 32, 0, strlen(idx) };
    for (int k = 0; k < 3; k++) {
        base_sha256 c;
        base_sha256_init(&c);
        base_sha256_update(&c, parts[k], plen[k]);
        base_sha256_final(&c, d);
        base_sha256_hex(d, h[k]);
    }
    len = snprintf(txt, sizeof txt, "%s embedding.000000.bin\n%s errors.000000.csv\n%s index.000000.csv\n",
                   h[0], h[1], h[2]);
    section(f, "a/.parts/sums.000000", txt, (size_t)len);
    fclose(f);
    free(np1);
    free(np2);
}

static mint_status save_ckpt(void *ctx, const mint_tm *tm, const mint_train_state *s)
{
    return s->epochs_done == 1 ? mint_train_state_save(tm, s, ctx) : MINT_OK;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    /* models: trained a little on a few random samples, so calibration
     * and training record are present */
    enum { N = 12 };
    float mem[N * 24], ext[N * 24];
    for (int i = 0; i < N * 24; i++)
        mem[i] = (float)((i * 7919) % 97) / 97.0f, ext[i] = (float)((i * 104729) % 89) / 89.0f - 0.3f;
    static const struct { const char *name; mint_tm_kind kind; int d[3]; } m[] = {
        { "vanilla", MINT_TM_VANILLA, { 4, 0, 0 } },
        { "outcome", MINT_TM_OUTCOME, { 3, 0, 0 } },
        { "cnn", MINT_TM_CNN, { 2, 3, 4 } },
    };
    for (size_t k = 0; k < sizeof m / sizeof *m; k++) {
        mint_tm_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.kind = m[k].kind;
        memcpy(cfg.in_dims, m[k].d, sizeof cfg.in_dims);
        snprintf(cfg.taps, sizeof cfg.taps, "layer4");
        mint_tm *tm;
        check(mint_tm_create(&tm, &cfg, 5), "create");
        mint_train_opts o;
        mint_train_defaults(&o, cfg.kind);
        o.epochs = 2;
        o.batch = 4;
        o.holdout = 0.25;
        snprintf(path, sizeof path, "%s/checkpoint/%s.mint", argv[1], m[k].name);
        if (m[k].kind == MINT_TM_VANILLA) { /* the checkpoint fuzzer's config */
            o.checkpoint = save_ckpt;
            o.ctx = path;
        }
        check(mint_train(tm, mem, N, ext, N, &o), "train");
        snprintf(path, sizeof path, "%s/model/%s.mint", argv[1], m[k].name);
        check(mint_tm_save(tm, path), path);
        mint_tm_free(tm);
    }
    /* a container with every metadata type and a few tensors */
    wt_writer *w = wt_writer_new();
    const float f[6] = { 1, -2, 0.5f, 3, 0, -1 };
    const int64_t i64[3] = { 1, 2, 3 }, d2[2] = { 2, 3 }, d1[1] = { 3 };
    check(wt_writer_meta_str(w, "name", "seed"), "meta");
    check(wt_writer_meta_i64(w, "count", 42), "meta");
    check(wt_writer_meta_f64(w, "scale", 0.25), "meta");
    check(wt_writer_meta_f32_arr(w, "mean", f, 3), "meta");
    check(wt_writer_meta_i64_arr(w, "dims", i64, 3), "meta");
    check(wt_writer_tensor(w, "w", BASE_F32, 2, d2, f), "tensor");
    check(wt_writer_tensor(w, "ix", BASE_I64, 1, d1, i64), "tensor");
    snprintf(path, sizeof path, "%s/container/small.mint", argv[1]);
    check(wt_writer_write(w, path), path);
    wt_writer_free(w);
    /* a graph container: the committed conv_bn.onnx fixture, converted */
    net_graph *g;
    check(convert_onnx_import(&g, "tests/fixtures/conv_bn.onnx"), "import");
    snprintf(path, sizeof path, "%s/container/conv_bn.mint", argv[1]);
    check(net_graph_save(g, path), path);
    net_graph_free(g);
    folder_seeds(argv[1]);
    return 0;
}
