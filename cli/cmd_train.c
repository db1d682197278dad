/* cmd_train.c - `mint train`: train a MINT auditing model (Vanilla, CNN or
 * the outcome baseline) on member and external features and save it, with
 * its calibration scores, in a weight container. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "io/half.h"
#include "io/npy.h"
#include "mint/model.h"
#include "mint/train.h"

#define MAX_TAPS 16

static const char *train_help =
    "usage: mint train --kind vanilla|cnn|outcome --members A --external B --out T.mint\n"
    "                  [--taps t1,t2,...] [--epochs E] [--batch N] [--seed S] [--threads T] [--quiet]\n"
    "Train a MINT auditing model to tell members (training data of the audited\n"
    "model) from external data, and save it with the scores of its training\n"
    "samples (calibration for audits) to T.mint.\n"
    "  --kind K        vanilla: Dense 128 ReLU (L1 0.1) -> BatchNorm -> Dropout 0.5 ->\n"
    "                  Dense 1 on per-channel maxima of the taps, concatenated;\n"
    "                  cnn: Conv 64 3x3 ReLU -> MaxPool 2x2 -> Dense C ReLU ->\n"
    "                  Dropout 0.5 -> Dense 1 on the raw map C x H x W of one tap;\n"
    "                  outcome: the vanilla MLP on the embedding (baseline MIA)\n"
    "  --members A     features of members: a .npy file, or a directory with one\n"
    "  --external B    <tap>.npy per tap (as written by 'mint extract'). float32 or\n"
    "                  float16. vanilla/outcome: [N,F], or [N,C,H,W] reduced to the\n"
    "                  per-channel maximum [N,C]; cnn: [N,C,H,W]\n"
    "  --taps LIST     taps read from directories, features concatenated in this\n"
    "                  order (default layer1,layer2,layer3,layer4 for vanilla,\n"
    "                  layer1 for cnn, embedding for outcome)\n"
    "  --epochs E      default 20 (vanilla, outcome), 30 (cnn)\n"
    "  --batch N       even batch size, half members, half external (default 128)\n"
    "  --seed S        seed of initialisation, sampling and dropout (default 0);\n"
    "                  the same seed reproduces a run bit for bit\n"
    "  --threads T     OpenMP threads (default: all cores)\n"
    "  --quiet         no per-epoch progress lines\n"
    "Optimiser: Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), binary cross-entropy.\n";

typedef struct {
    float *x;
    int64_t n;
    int rank;    /* 1 (features) or 3 (maps) */
    int dims[3];
} feats;

static void feats_free(feats *f)
{
    free(f->x);
    memset(f, 0, sizeof *f);
}

/* Read one .npy as float32 [N, ...] (float16 converted). */
static mint_status read_f32(const char *path, io_npy *a, float **out)
{
    *out = NULL;
    mint_status st = io_npy_read(path, a);
    if (st)
        return st;
    if (a->rank != 2 && a->rank != 4) {
        io_npy_free(a);
        return mint_fail(MINT_E_SHAPE, "%s: expected [N,F] or [N,C,H,W], got rank %d", path,
                         a->rank);
    }
    if (a->dims[0] < 1) {
        io_npy_free(a);
        return mint_fail(MINT_E_SHAPE, "%s: no samples (N = 0)", path);
    }
    size_t n = 1;
    for (int i = 0; i < a->rank; i++)
        n *= (size_t)a->dims[i];
    if (a->dtype == WT_F32) {
        *out = a->data;
        a->data = NULL; /* ownership moves to *out; io_npy_free frees NULL */
    } else if (a->dtype == WT_F16) {
        *out = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        if (!*out) {
            io_npy_free(a);
            return mint_fail(MINT_E_NOMEM, "%s: out of memory converting float16", path);
        }
        io_f16_to_f32_n(*out, a->data, n);
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

/* [N,C,H,W] -> [N,C] per-channel maximum, in place. */
static void channel_max(float *x, int64_t n, int64_t c, int64_t hw)
{
    for (int64_t i = 0; i < n * c; i++) {
        const float *p = x + i * hw;
        float m = p[0];
        for (int64_t k = 1; k < hw; k++)
            m = p[k] > m ? p[k] : m;
        x[i] = m;
    }
}

static mint_status load_one(const char *path, int want_maps, feats *f)
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
                             "(extract without per-channel pooling)", path, (long long)a.dims[1]);
        }
        if (a.dims[1] > 65536 || a.dims[2] > 65536 || a.dims[3] > 65536) {
            free(x);
            return mint_fail(MINT_E_SHAPE, "%s: map too large", path);
        }
        f->rank = 3;
        for (int i = 0; i < 3; i++)
            f->dims[i] = (int)a.dims[i + 1];
    } else {
        if (a.rank == 4)
            channel_max(x, a.dims[0], a.dims[1], a.dims[2] * a.dims[3]);
        if (a.dims[1] > (1 << 24)) {
            free(x);
            return mint_fail(MINT_E_SHAPE, "%s: too many features (%lld)", path,
                             (long long)a.dims[1]);
        }
        f->rank = 1;
        f->dims[0] = (int)a.dims[1];
    }
    f->x = x;
    return MINT_OK;
}

/* A .npy file, or a directory with <tap>.npy per tap (features concatenated). */
static mint_status load_feats(const char *path, int cnn, char **taps, int ntaps, feats *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb))
        return mint_fail(MINT_E_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return load_one(path, cnn, out);
    if (cnn && ntaps != 1)
        return mint_fail(MINT_E_ARG, "CNN MINT reads one tap, %d given", ntaps);
    feats parts[MAX_TAPS];
    memset(parts, 0, sizeof parts);
    mint_status st = MINT_OK;
    char file[4096];
    int64_t total = 0;
    for (int t = 0; !st && t < ntaps; t++) {
        snprintf(file, sizeof file, "%s/%s.npy", path, taps[t]);
        st = load_one(file, cnn, &parts[t]);
        if (!st && parts[t].n != parts[0].n)
            st = mint_fail(MINT_E_SHAPE, "%s: %lld samples, but %s/%s.npy has %lld", file,
                           (long long)parts[t].n, path, taps[0], (long long)parts[0].n);
        if (!st)
            total += parts[t].dims[0];
    }
    if (!st && ntaps == 1) {
        *out = parts[0];
        return MINT_OK;
    }
    if (!st && total > (1 << 24))
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
        feats_free(&parts[t]);
    return st;
}

typedef struct {
    int quiet;
} progress_ctx;

static void print_epoch(void *ctx, const mint_train_progress *p)
{
    if (((progress_ctx *)ctx)->quiet)
        return;
    printf("epoch %3d/%-3d  loss %.5f  bce %.5f  train acc %.4f  %.1f s\n", p->epoch, p->epochs,
           p->loss, p->bce, p->accuracy, p->seconds);
    fflush(stdout);
}

static int dims_str(char *buf, size_t n, const feats *f)
{
    return f->rank == 1 ? snprintf(buf, n, "%d", f->dims[0])
                        : snprintf(buf, n, "%dx%dx%d", f->dims[0], f->dims[1], f->dims[2]);
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        { "kind", required_argument, 0, 'k' },     { "members", required_argument, 0, 'm' },
        { "external", required_argument, 0, 'e' }, { "out", required_argument, 0, 'o' },
        { "taps", required_argument, 0, 't' },     { "epochs", required_argument, 0, 'E' },
        { "batch", required_argument, 0, 'b' },    { "seed", required_argument, 0, 's' },
        { "threads", required_argument, 0, 'T' },  { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    const char *kind_s = NULL, *mem = NULL, *ext = NULL, *out = NULL, *taps_s = NULL;
    int epochs = 0, batch = 128, threads = 0, quiet = 0, o;
    unsigned long long seed = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'k': kind_s = optarg; break;
        case 'm': mem = optarg; break;
        case 'e': ext = optarg; break;
        case 'o': out = optarg; break;
        case 't': taps_s = optarg; break;
        case 'E':
            if ((epochs = cli_int(optarg, 1, 100000)) < 0)
                return cli_usage_error("train", "--epochs wants an integer in 1..100000");
            break;
        case 'b':
            if ((batch = cli_int(optarg, 2, 1 << 20)) < 0 || batch % 2)
                return cli_usage_error("train", "--batch wants an even integer >= 2");
            break;
        case 's': {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            if (!*optarg || *end || errno || optarg[0] == '-')
                return cli_usage_error("train", "--seed wants a non-negative integer");
            break;
        }
        case 'T':
            if ((threads = cli_int(optarg, 1, 4096)) < 0)
                return cli_usage_error("train", "--threads wants a positive integer");
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(train_help, stdout); return CLI_OK;
        default: return cli_usage_error("train", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!kind_s || !mem || !ext || !out)
        return cli_usage_error("train", "needs --kind, --members, --external and --out");
    mint_tm_kind kind;
    if (mint_tm_kind_parse(kind_s, &kind))
        return cli_usage_error("train", "--kind is vanilla, cnn or outcome (not '%s')", kind_s);
    static const char *const default_taps[] = { "layer1,layer2,layer3,layer4", "layer1",
                                                "embedding" };
    const int taps_given = taps_s != NULL;
    if (!taps_s)
        taps_s = default_taps[kind];
    char *taps[MAX_TAPS], *tbuf = NULL;
    const int ntaps = cli_split(taps_s, taps, MAX_TAPS, &tbuf);
    if (ntaps < 0) {
        free(tbuf);
        return cli_usage_error("train", "--taps wants 1..%d comma-separated names", MAX_TAPS);
    }
    for (int i = 0; i < ntaps; i++)
        if (strchr(taps[i], '/') || !strcmp(taps[i], "..") || !strcmp(taps[i], ".")) {
            free(tbuf);
            return cli_usage_error("train", "bad tap name '%s'", taps[i]);
        }
    if (kind == MINT_TM_CNN && ntaps != 1) {
        free(tbuf);
        return cli_usage_error("train", "CNN MINT trains on one tap (got %d)", ntaps);
    }
    cli_set_threads(threads);

    feats fm, fe;
    mint_status st = load_feats(mem, kind == MINT_TM_CNN, taps, ntaps, &fm);
    if (st) {
        free(tbuf);
        return cli_error("train", st);
    }
    st = load_feats(ext, kind == MINT_TM_CNN, taps, ntaps, &fe);
    if (st) {
        feats_free(&fm);
        free(tbuf);
        return cli_error("train", st);
    }
    char dm[64], de[64];
    dims_str(dm, sizeof dm, &fm);
    dims_str(de, sizeof de, &fe);
    if (strcmp(dm, de)) {
        feats_free(&fm), feats_free(&fe), free(tbuf);
        return cli_error("train", mint_fail(MINT_E_SHAPE, "members have %s features per sample, "
                                            "external %s", dm, de));
    }
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = kind;
    memcpy(cfg.in_dims, fm.dims, sizeof cfg.in_dims);
    /* record tap names when they describe the data (directories or --taps) */
    struct stat sb;
    if (taps_given || (!stat(mem, &sb) && S_ISDIR(sb.st_mode)))
        snprintf(cfg.taps, sizeof cfg.taps, "%s", taps_s);
    free(tbuf);
    mint_tm *tm;
    st = mint_tm_create(&tm, &cfg, seed);
    if (st) {
        feats_free(&fm), feats_free(&fe);
        return cli_error("train", st);
    }
    mint_train_opts to;
    mint_train_defaults(&to, kind);
    if (epochs)
        to.epochs = epochs;
    to.batch = batch;
    to.seed = seed;
    progress_ctx pc = { quiet };
    to.progress = print_epoch;
    to.ctx = &pc;
    if (!quiet)
        printf("%s MINT: %lld members, %lld external, input %s, %d epochs, batch %d, seed %llu\n",
               mint_tm_kind_name(kind), (long long)fm.n, (long long)fe.n, dm, to.epochs, batch,
               seed);
    const double t0 = cli_now();
    st = mint_train(tm, fm.x, fm.n, fe.x, fe.n, &to);
    if (!st)
        st = mint_tm_save(tm, out);
    if (!st)
        printf("%s: trained in %.1f s, last-epoch train accuracy %.4f, threshold %.4f "
               "(balanced accuracy on the training data)\n",
               out, cli_now() - t0, tm->train_accuracy, tm->threshold);
    mint_tm_free(tm);
    feats_free(&fm), feats_free(&fe);
    return st ? cli_error("train", st) : CLI_OK;
}
