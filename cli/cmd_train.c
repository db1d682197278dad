/* cmd_train.c - `mint train`: train a MINT auditing model (Vanilla, CNN or
 * the outcome baseline) on member and external features - read from
 * `mint extract` outputs, or computed from images through the network in
 * memory - and save it, with its calibration scores, in a weight container.
 * After every epoch the whole training state goes to <out>.partial, from
 * which --resume continues an interrupted run bit for bit. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint/features.h"
#include "mint/extract.h"
#include "mint/model.h"
#include "weights/container.h"
#include "mint/train.h"
#include "mint/trainset.h"

#define MAX_TAPS MINT_FEATS_MAX_TAPS

const char cli_help_train[] =
    "usage: mint train --kind vanilla|cnn|outcome --members A --external B --out T.mint\n"
    "                  [--taps t1,t2,...] [--epochs E] [--batch N] [--seed S] [--holdout F]\n"
    "                  [--holdout-by label|sample] [--threads T] [--quiet] [--resume]\n"
    "                  [--min-hidden N]\n"
    "       mint train --kind K --model M.mint --members-list L1 --external-list L2 --out T.mint\n"
    "                  [--landmarks CSV] [--root DIR] [--taps ...] [--epochs E] [...]\n"
    "Train a MINT auditing model to tell members (training data of the audited\n"
    "model) from external data and save it to T.mint with: the decision threshold\n"
    "that maximises balanced accuracy on the training data; the scores of the\n"
    "members and of the held-out external samples (--holdout), the reference\n"
    "'mint audit' tests against; the taps its features came from when known\n"
    "(directories, images or --taps); and the SHA-256 of the audited network when\n"
    "known (--model, or the extract.txt of 'mint extract' outputs, also beside a\n"
    "<tap>.npy file). Features of two different networks are refused, and so are\n"
    "members and external data that share images (same SHA-256, from the index.csv\n"
    "of 'mint extract' folders or by hashing the image files; the same folder twice\n"
    "always); images repeated within one side are warned about. When the images are\n"
    "known, T records them (the first 8 bytes of each SHA-256: members, external\n"
    "trained on, held-out reference), so that eval and audit warn when they score them.\n"
    "  --kind K        vanilla: Dense 128 ReLU (L1 0.1) -> BatchNorm -> Dropout 0.5 ->\n"
    "                  Dense 1 on per-channel maxima of the taps, concatenated;\n"
    "                  cnn: Conv 64 3x3 ReLU -> MaxPool 2x2 -> Dense C ReLU ->\n"
    "                  Dropout 0.5 -> Dense 1 on the raw map C x H x W of one tap\n"
    "                  (Dense max(C, N) with --min-hidden N);\n"
    "                  outcome: the vanilla MLP on the embedding (baseline MIA)\n"
    "  --members A     features of members: a .npy file, or a directory with one\n"
    "  --external B    <tap>.npy per tap (as written by 'mint extract'). float32 or\n"
    "                  float16. vanilla/outcome: [N,F], or [N,C,H,W] reduced to the\n"
    "                  per-channel maximum [N,C]; cnn: [N,C,H,W] (extract --pool none)\n"
    "  --model M       instead of feature files: the audited network; the features are\n"
    "                  computed from images on the fly (aligned and run as by 'mint\n"
    "                  extract', taps reduced as above), no feature files written\n"
    "  --members-list L1, --external-list L2\n"
    "                  the images (with --model): a list file, one path[,label] per\n"
    "                  line, or a folder (every .jpg/.jpeg/.png below it). The first\n"
    "                  image that cannot be read or aligned stops the run.\n"
    "                  Memory: all features are held at once, N x C x H x W floats for\n"
    "                  cnn (IResNet layer1: 64x56x56 floats = 0.8 MB per image, 0.8 GB\n"
    "                  per 1000 images), N x F for vanilla/outcome; lists that need\n"
    "                  more than 8 GiB are refused (use smaller lists, or extract to\n"
    "                  files and train from them)\n"
    "  --landmarks CSV 5-point landmarks (as for 'mint extract'); images without a row\n"
    "                  must already be the model's input size\n"
    "  --root DIR      base of relative paths in list files (default: current dir)\n"
    "  --taps LIST     taps read from directories or computed with --model, features\n"
    "                  concatenated in this order (default layer1,layer2,layer3,layer4\n"
    "                  for vanilla, layer1 for cnn, embedding for outcome, unless the\n"
    "                  extract.txt of the --members directory records taps without\n"
    "                  them: then those taps, for cnn the first, said on stderr;\n"
    "                  outcome on another tap is allowed with a warning: it is then\n"
    "                  no longer the paper's baseline)\n"
    "  --epochs E      default 20 (vanilla, outcome), 30 (cnn)\n"
    "  --batch N       even batch size, half members, half external (default 128)\n"
    "  --seed S        seed of initialisation, sampling and dropout (default 0);\n"
    "                  the same seed reproduces a run bit for bit\n"
    "  --holdout F     fraction of the external identities (--holdout-by label) or\n"
    "                  samples, 0 <= F < 0.9, kept out of training and scored as the\n"
    "                  reference 'mint audit' tests against, with the identities (default\n"
    "                  0.1; for a sample holdout refused if F x the number\n"
    "                  of external samples is below 1; 0 = reuse the training\n"
    "                  samples, which are scored low and make audits claim\n"
    "                  membership too often)\n"
    "  --holdout-by label|sample\n"
    "                  label (default): hold out whole identities - that fraction of the\n"
    "                  external identities, with all their images - so the reference is\n"
    "                  of people the MINT model never saw (a MINT model learns the people\n"
    "                  it trains on: their other photos score unlike unseen people's).\n"
    "                  Identities are the label column of index.csv ('mint extract'), the\n"
    "                  label of path,label list lines, or the first sub-folder of a folder.\n"
    "                  Without labels the holdout is by image, with a warning. Audits\n"
    "                  need >= 19 reference identities for a verdict at alpha 0.05\n"
    "                  (smallest p = 1/(K+1)); fewer are warned about\n"
    "                  sample: random images (identities may straddle the split)\n"
    "  --min-hidden N  cnn: at least N units in the Dense layer after the conv\n"
    "                  (default: C, the paper's layout). Dense-C-ReLU can die at small\n"
    "                  C (e.g. 8 channels): every unit 0 on every sample, one score\n"
    "                  for all. Any such collapsed training is detected after the\n"
    "                  last epoch and T is not written (status 1, with the remedy,\n"
    "                  e.g. --min-hidden 64)\n"
    "  --threads T     OpenMP threads (default: all cores)\n"
    "  --quiet         no per-epoch progress lines\n"
    "  --resume        continue an interrupted run from T.mint.partial (if there is\n"
    "                  none, start afresh). After every epoch the training state\n"
    "                  (weights, optimiser, sample orders) is written to\n"
    "                  T.mint.partial, which is removed once T.mint is written; a run\n"
    "                  that stops early (crash, kill) keeps it. The resumed run must\n"
    "                  use the same data, --kind, --taps, --epochs, --batch, --seed\n"
    "                  and --holdout (any --threads), else it is refused, and its\n"
    "                  T.mint is bit-identical to an uninterrupted run's on the same\n"
    "                  machine. Without --resume an existing T.mint.partial is\n"
    "                  refused: resume it, or delete it to start over\n"
"Optimiser: Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), binary cross-entropy.\n";

typedef struct {
    int quiet;
    const char *partial; /* checkpoint path, <out>.partial */
} progress_ctx;

static void print_epoch(void *ctx, const mint_train_progress *p)
{
    if (((progress_ctx *)ctx)->quiet)
        return;
    printf("epoch %3d/%-3d  loss %.5f  bce %.5f  train acc %.4f  %.1f s\n", p->epoch, p->epochs,
           p->loss, p->bce, p->accuracy, p->seconds);
    fflush(stdout);
}

/* The checkpoint hook: the state after every epoch, renamed into place. */
static mint_status save_partial(void *ctx, const mint_tm *tm, const mint_train_state *s)
{
    return mint_train_state_save(tm, s, ((progress_ctx *)ctx)->partial);
}

/* A failed status again, its message prefixed with what was being done and
 * followed by a hint. */
static mint_status explain(mint_status st, const char *what, const char *hint)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mint_last_error());
    const int named = !strncmp(msg, what, strlen(what)); /* file errors name the file */
    return mint_fail(st, "%s%s%s%s", named ? "" : what, named ? "" : ": ", msg, hint);
}

/* Progress over the members' and then the external images. */
typedef struct {
    cli_progress p;
    size_t offset, total;
} image_progress;

static void image_progress_cb(void *ctx, size_t done, size_t total)
{
    image_progress *ip = ctx;
    (void)total;
    cli_progress_update(&ip->p, ip->offset + done, ip->total, 0, -1);
}

/* Image list from a list file or a folder. */
static mint_status open_list(const char *path, const char *root, io_list *l)
{
    struct stat sb;
    if (stat(path, &sb))
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    mint_status st = S_ISDIR(sb.st_mode) ? io_list_from_dir(path, l)
                                         : io_list_from_file(path, root, l);
    if (!st && l->n == 0)
        st = mint_fail(MINT_E_ARG, "%s: no images", path);
    return st;
}

/* Members and external that share images are refused (a MINT model cannot
 * tell members from external data on images that are both, and its
 * held-out measures would be biased); repeats within a side are warned
 * about. km, ke: the keys of the two sides (mint/trainset.h). */
static mint_status check_overlap(const mint_image_keys *km, const mint_image_keys *ke,
                                 const char *mem, const char *ext)
{
    int64_t n;
    char ex[700];
    mint_status st = mint_keys_shared(km, ke, &n, ex, sizeof ex, 3);
    if (!st && n)
        return mint_fail(MINT_E_ARG, "the members (%s) and the external data (%s) share %lld "
                         "image%s (same SHA-256): %s%s; remove them from one side (no MINT model "
                         "can tell members from external data on images that are both)", mem,
                         ext, (long long)n, n == 1 ? "" : "s", ex, n > 3 ? ", ..." : "");
    for (int side = 0; !st && side < 2; side++) {
        if ((st = mint_keys_repeats(side ? ke : km, &n, ex, sizeof ex, 3)) || !n)
            continue;
        fprintf(stderr, "mint train: warning: %lld of the %s images (%s) repeat the bytes "
                "(SHA-256) of another %s image (%s%s): repeated images weigh more in training\n",
                (long long)n, side ? "external" : "member", side ? ext : mem,
                side ? "external" : "member", ex, n > 3 ? ", ..." : "");
    }
    return st;
}

/* The same feature file or folder as members and as external: refused
 * even when no index.csv tells which images it holds. */
static mint_status same_data(const char *mem, const char *ext)
{
    struct stat a, b;
    if (!stat(mem, &a) && !stat(ext, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return mint_fail(MINT_E_ARG, "--members %s and --external %s are the same %s: a MINT "
                         "model needs members and external data that share no images", mem, ext,
                         S_ISDIR(a.st_mode) ? "folder" : "file");
    return MINT_OK;
}

/* The keys of both sides' images from the index.csv of their 'mint
 * extract' folders (features mode), checked for overlap; when either has
 * none the check cannot be made, which is said, and km, ke stay empty. */
static mint_status keys_from_index(const char *mem, const mint_feats *fm, const char *ext,
                                   const mint_feats *fe, mint_image_keys *km, mint_image_keys *ke)
{
    mint_status st = mint_keys_from_index(mem, fm->n, km);
    if (!st && (st = mint_keys_from_index(ext, fe->n, ke)))
        mint_image_keys_free(km);
    if (st == MINT_E_NOTFOUND || st == MINT_E_SHAPE) {
        fprintf(stderr, "mint train: warning: %s; so nothing checked that the members and the "
                "external data share no images, and the MINT model will not record its training "
                "images (give 'mint extract' folders, which have index.csv)\n", mint_last_error());
        return MINT_OK;
    }
    if (!st && (st = check_overlap(km, ke, mem, ext))) {
        mint_image_keys_free(km);
        mint_image_keys_free(ke);
    }
    return st;
}

/* Features of both sets from images through the network (list mode). */
static mint_status feats_from_lists(const char *model, const char *lmpath, const char *root,
                                    const char *lmem, const char *lext, int cnn,
                                    const char *const *taps, int ntaps, int quiet,
                                    mint_feats *fm, mint_feats *fe, mint_image_keys *km,
                                    mint_image_keys *ke, char ***ext_labels)
{
    mint_model *m = NULL;
    io_landmarks *lm = NULL;
    io_list l1 = { 0 }, l2 = { 0 };
    mint_status st = mint_model_open(&m, model);
    if (!st && lmpath)
        st = io_landmarks_load(lmpath, &lm);
    if (!st)
        st = open_list(lmem, root, &l1);
    if (!st)
        st = open_list(lext, root, &l2);
    /* shared images are refused before the long part */
    if (!st)
        st = mint_keys_from_list(&l1, km);
    if (!st)
        st = mint_keys_from_list(&l2, ke);
    if (!st)
        st = check_overlap(km, ke, lmem, lext);
    if (!st) {
        int rank, dims[3];
        char d[64];
        st = mint_feats_shape(m, cnn, taps, ntaps, &rank, dims);
        if (!st) {
            mint_feats_dims_str(d, sizeof d, rank, dims);
            const double per = 4.0 * (rank == 3 ? (double)dims[0] * dims[1] * dims[2] : dims[0]);
            if (!quiet)
                printf("computing features (%s floats per image, %.2f GiB in all) of %zu + %zu "
                       "images through %s\n", d, per * (double)(l1.n + l2.n) / 1073741824.0, l1.n, l2.n,
                       model);
            if ((double)(l1.n + l2.n) * per > (double)MINT_FEATS_MAX_BYTES)
                st = mint_fail(MINT_E_NOMEM, "%zu + %zu images x %s floats would need %.1f GiB of "
                               "features in memory, more than the limit of %.0f GiB; use smaller "
                               "lists, or 'mint extract' to files and train from them", l1.n,
                               l2.n, d, per * (double)(l1.n + l2.n) / 1073741824.0,
                               (double)MINT_FEATS_MAX_BYTES / 1073741824.0);
        }
    }
    const double t0 = cli_now();
    image_progress ip = { .offset = 0, .total = l1.n + l2.n };
    cli_progress_init(&ip.p, "train", "images");
    mint_images_progress pf = quiet ? NULL : image_progress_cb;
    if (!st)
        st = mint_feats_from_images_p(fm, m, lm, &l1, cnn, taps, ntaps, 16, 0, pf, &ip);
    ip.offset = l1.n;
    if (!st)
        st = mint_feats_from_images_p(fe, m, lm, &l2, cnn, taps, ntaps, 16, 0, pf, &ip);
    cli_progress_end(&ip.p);
    if (!st && !quiet)
        printf("features computed in %.1f s\n", cli_now() - t0);
    if (!st) { /* the external identities, for the identity-level holdout */
        *ext_labels = calloc(l2.n + 1, sizeof **ext_labels);
        for (size_t i = 0; *ext_labels && i < l2.n; i++) {
            (*ext_labels)[i] = l2.items[i].label;
            l2.items[i].label = NULL;
        }
        if (!*ext_labels)
            st = mint_fail(MINT_E_NOMEM, "out of memory");
    }
    if (st) {
        mint_feats_free(fm);
        mint_image_keys_free(km);
        mint_image_keys_free(ke);
    }
    io_list_free(&l1);
    io_list_free(&l2);
    io_landmarks_free(lm);
    mint_model_close(m);
    return st;
}

/* What a collapsed training looks like, and what to do about it. */
static void report_collapse(const mint_tm *tm, const char *out, unsigned long long seed)
{
    char dead[160] = "";
    if (tm->train_dead_units > 0 && tm->train_dead_units == tm->hidden)
        snprintf(dead, sizeof dead, "; all %d units of its Dense layer are dead (ReLU output 0 on "
                 "every sample)", tm->hidden);
    else if (tm->train_dead_units > 0)
        snprintf(dead, sizeof dead, "; %d of the %d units of its Dense layer are dead (ReLU output "
                 "0 on every sample)", tm->train_dead_units, tm->hidden);
    fprintf(stderr, "mint train: the training collapsed: the MINT model gives every training "
            "sample the same score, no better than chance (loss ln 2 = 0.69315, accuracy 0.5)%s. "
            "%s was not written.\n", dead, out);
    if (tm->cfg.kind == MINT_TM_CNN)
        fprintf(stderr, "mint train: remedy: a wider Dense layer after the conv, e.g. --min-hidden 64 "
                "(the paper's layout has C = %d units, the tap's channels, and dies at small C); "
                "or another --seed (now %llu)\n", tm->cfg.in_dims[0], seed);
    else
        fprintf(stderr, "mint train: remedy: another --seed (now %llu), fewer --epochs, or other "
                "taps\n", seed);
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        { "kind", required_argument, 0, 'k' },     { "members", required_argument, 0, 'm' },
        { "external", required_argument, 0, 'e' }, { "out", required_argument, 0, 'o' },
        { "taps", required_argument, 0, 't' },     { "epochs", required_argument, 0, 'E' },
        { "batch", required_argument, 0, 'b' },    { "seed", required_argument, 0, 's' },
        { "threads", required_argument, 0, 'T' },  { "quiet", no_argument, 0, 'q' },
        { "model", required_argument, 0, 'M' },    { "members-list", required_argument, 0, '1' },
        { "external-list", required_argument, 0, '2' },
        { "landmarks", required_argument, 0, 'L' }, { "root", required_argument, 0, 'R' },
        { "holdout", required_argument, 0, 'H' }, { "resume", no_argument, 0, 'r' },
        { "holdout-by", required_argument, 0, 'B' },
        { "min-hidden", required_argument, 0, 'W' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    double holdout = 0.1;
    const char *kind_s = NULL, *mem = NULL, *ext = NULL, *out = NULL, *taps_s = NULL;
    const char *model = NULL, *lmem = NULL, *lext = NULL, *lmpath = NULL, *root = NULL;
    int epochs = 0, batch = 128, threads = 0, quiet = 0, resume = 0, min_hidden = 0, o;
    int by_label = 1, by_label_given = 0;
    unsigned long long seed = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'k': kind_s = optarg; break;
        case 'm': mem = optarg; break;
        case 'e': ext = optarg; break;
        case 'o': out = optarg; break;
        case 't': taps_s = optarg; break;
        case 'M': model = optarg; break;
        case '1': lmem = optarg; break;
        case '2': lext = optarg; break;
        case 'L': lmpath = optarg; break;
        case 'R': root = optarg; break;
        case 'E':
            if ((epochs = cli_int(optarg, 1, 100000)) < 0)
                return cli_usage_error("train", "--epochs wants an integer in 1..100000");
            break;
        case 'b':
            if ((batch = cli_int(optarg, 2, 1 << 20)) < 0 || batch % 2)
                return cli_usage_error("train", "--batch wants an even integer >= 2");
            break;
        case 'H': {
            char *end;
            holdout = strtod(optarg, &end);
            if (!*optarg || *end || !(holdout >= 0.0 && holdout < 0.9))
                return cli_usage_error("train", "--holdout wants a fraction in [0, 0.9)");
            break;
        }
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
        case 'r': resume = 1; break;
        case 'B':
            if (strcmp(optarg, "label") && strcmp(optarg, "sample"))
                return cli_usage_error("train", "--holdout-by is label or sample");
            by_label = !strcmp(optarg, "label");
            by_label_given = by_label;
            break;
        case 'W':
            if ((min_hidden = cli_int(optarg, 1, 65536)) < 0)
                return cli_usage_error("train", "--min-hidden wants 1..65536");
            break;
        case 'h': fputs(cli_help_train, stdout); return CLI_OK;
        default: return cli_usage_error("train", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    const int lists = model || lmem || lext;
    if (!kind_s || !out)
        return cli_usage_error("train", "needs --kind and --out");
    if (lists && (mem || ext))
        return cli_usage_error("train", "give either --members/--external (features) or --model "
                               "with --members-list/--external-list (images), not both");
    if (lists && (!model || !lmem || !lext))
        return cli_usage_error("train", "computing features from images needs --model, "
                               "--members-list and --external-list");
    if (!lists && (!mem || !ext))
        return cli_usage_error("train", "needs --members and --external (or --model with "
                               "--members-list and --external-list)");
    if (!lists && (lmpath || root))
        return cli_usage_error("train", "--landmarks and --root go with --model and image lists");
    mint_tm_kind kind;
    if (mint_tm_kind_parse(kind_s, &kind))
        return cli_usage_error("train", "--kind is vanilla, cnn or outcome (not '%s')", kind_s);
    if (min_hidden && kind != MINT_TM_CNN)
        return cli_usage_error("train", "--min-hidden goes with --kind cnn (the MLP kinds have 128 units)");
    const int taps_given = taps_s != NULL;
    char dtaps[256]; /* as long as the MINT model's record of its taps */
    if (!taps_s) { /* the kind's own taps, or those the members' extract.txt records */
        mint_taps_source src;
        mint_status dst = mint_feats_default_taps(lists ? NULL : mem, (int)kind, dtaps,
                                                  sizeof dtaps, &src);
        if (dst)
            return cli_error("train", dst);
        taps_s = dtaps;
        if (src != MINT_TAPS_KIND)
            fprintf(stderr, "mint train: taps %s, %s in %s/extract.txt (--taps picks others)\n",
                    taps_s, src == MINT_TAPS_FIRST ? "the first of those recorded" : "as recorded",
                    mem);
    }
    char *taps[MAX_TAPS], *tbuf = NULL;
    const int ntaps = cli_split(taps_s, taps, MAX_TAPS, &tbuf);
    if (ntaps < 0) {
        free(tbuf);
        return cli_usage_error("train", "--taps wants 1..%d comma-separated names", MAX_TAPS);
    }
    if (kind == MINT_TM_CNN && ntaps != 1) {
        free(tbuf);
        return cli_usage_error("train", "CNN MINT trains on one tap (got %d)", ntaps);
    }
    for (int i = 0; i < ntaps; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(taps[i], taps[j])) {
                const int rc = cli_usage_error("train", "--taps names %s twice", taps[i]);
                free(tbuf);
                return rc;
            }
    if (kind == MINT_TM_OUTCOME && (ntaps != 1 || strcmp(taps[0], "embedding")))
        fprintf(stderr, "mint train: warning: the outcome baseline is the MLP on the embedding; "
                "on --taps %s it is an MLP on other features, not the paper's baseline\n", taps_s);
    /* an interrupted run's state: refused unless resumed (checked before
     * the data are read, which may take long) */
    char *partial = malloc(strlen(out) + sizeof ".partial");
    if (!partial) {
        free(tbuf);
        return cli_error("train", mint_fail(MINT_E_NOMEM, "out of memory"));
    }
    sprintf(partial, "%s.partial", out);
    struct stat pb;
    const int have_partial = !stat(partial, &pb);
    if (have_partial && !resume) {
        free(tbuf);
        mint_status e = mint_fail(MINT_E_ARG, "%s exists: the state of an interrupted run; add "
                                  "--resume to continue it, or delete it to start over", partial);
        free(partial);
        return cli_error("train", e);
    }
    cli_set_threads(threads);

    const int cnn = kind == MINT_TM_CNN;
    const char *const *ctaps = (const char *const *)taps;
    mint_feats fm, fe;
    memset(&fm, 0, sizeof fm);
    memset(&fe, 0, sizeof fe);
    mint_image_keys km = { 0 }, ke = { 0 };
    mint_status st;
    char **ext_labels = NULL;
    mint_feats_index eix = { 0 };
    if (lists) {
        st = feats_from_lists(model, lmpath, root, lmem, lext, cnn, ctaps, ntaps, quiet, &fm, &fe,
                              &km, &ke, &ext_labels);
    } else {
        st = same_data(mem, ext);
        if (!st)
            st = mint_feats_load(mem, cnn, ctaps, ntaps, &fm);
        if (!st && (st = mint_feats_load(ext, cnn, ctaps, ntaps, &fe)))
            mint_feats_free(&fm);
        if (!st && !(st = keys_from_index(mem, &fm, ext, &fe, &km, &ke)))
            st = mint_feats_index_load(ext, fe.n, &eix);
        if (st)
            mint_feats_free(&fm), mint_feats_free(&fe);
    }
    if (st) {
        mint_image_keys_free(&km), mint_image_keys_free(&ke);
        free(tbuf), free(partial), free(ext_labels);
        return cli_error("train", st);
    }
    /* identities of the external samples: the reference is held out by
     * identity when they are known */
    int32_t *ext_group = NULL;
    int64_t *held = NULL, n_held = 0, k_held = 0, k_total = 0;
    const char *const *labels = ext_labels ? (const char *const *)ext_labels
                                : eix.n >= 0 ? (const char *const *)eix.label : NULL;
    int64_t n_labelled = 0;
    for (int64_t i = 0; labels && i < fe.n; i++)
        n_labelled += labels[i] && labels[i][0];
    if (n_labelled > 0) {
        if (!(ext_group = malloc(sizeof(int32_t) * (size_t)fe.n)))
            st = mint_fail(MINT_E_NOMEM, "out of memory");
        int64_t k;
        if (!st)
            st = mint_groups_from_labels(labels, fe.n, ext_group, &k);
    }
    if (!st && holdout > 0.0 && by_label) {
        if (n_labelled == 0 && by_label_given) {
            st = mint_fail(MINT_E_ARG, "--holdout-by label: the external samples have no identity "
                           "labels (%s); give a 'mint extract' directory (index.csv), a list "
                           "with path,label lines or a folder with one sub-folder per person, or "
                           "--holdout-by sample", lists ? "list without labels" : "no index.csv");
        } else if (n_labelled == 0) {
            fprintf(stderr, "mint train: warning: the external samples have no identity labels "
                    "(%s), so the audit reference is held out by image, not by identity: "
                    "other photos of people the MINT model trained on can land in it, and audits "
                    "treat every reference image as a person of its own\n",
                    lists ? "list without labels" : "no index.csv");
            by_label = 0;
        } else {
            if (n_labelled < fe.n)
                fprintf(stderr, "mint train: warning: %lld of %lld external samples have no "
                        "identity label; they are trained on, never held out\n",
                        (long long)(fe.n - n_labelled), (long long)fe.n);
            st = mint_holdout_by_group(ext_group, fe.n, holdout, seed, &held, &n_held, &k_held,
                                       &k_total);
            if (!st && k_held < 19)
                fprintf(stderr, "mint train: warning: the audit reference holds %lld identities: "
                        "the smallest p-value an audit can give is 1/(%lld+1) = %.3g, so no "
                        "verdict is possible at alpha 0.05 (19 identities needed; 99 for 0.01); "
                        "use more external identities or a larger --holdout\n",
                        (long long)k_held, (long long)k_held, 1.0 / (double)(k_held + 1));
        }
    }
    if (st) {
        mint_feats_free(&fm), mint_feats_free(&fe), mint_feats_index_free(&eix);
        free(tbuf), free(partial), free(ext_group), free(held);
        if (ext_labels)
            for (int64_t i = 0; i < fe.n; i++)
                free(ext_labels[i]);
        free(ext_labels);
        return cli_error("train", st);
    }
    if (ext_labels)
        for (int64_t i = 0; i < fe.n; i++)
            free(ext_labels[i]);
    free(ext_labels);
    mint_feats_index_free(&eix);
    char dm[64], de[64];
    mint_feats_dims_str(dm, sizeof dm, fm.rank, fm.dims);
    mint_feats_dims_str(de, sizeof de, fe.rank, fe.dims);
    if (strcmp(dm, de)) {
        mint_feats_free(&fm), mint_feats_free(&fe), free(tbuf), free(partial);
        mint_image_keys_free(&km), mint_image_keys_free(&ke);
        free(ext_group), free(held);
        return cli_error("train", mint_fail(MINT_E_SHAPE, "members have %s features per sample, "
                                            "external %s", dm, de));
    }
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = kind;
    memcpy(cfg.in_dims, fm.dims, sizeof cfg.in_dims);
    /* record tap names when they describe the data (directories, images or --taps) */
    struct stat sb;
    if (lists || taps_given || (!stat(mem, &sb) && S_ISDIR(sb.st_mode)))
        snprintf(cfg.taps, sizeof cfg.taps, "%s", taps_s);
    free(tbuf);
    /* bind the MINT model to the network its features came from */
    if (lists) {
        st = base_sha256_file(model, cfg.network_sha256);
    } else {
        /* the network each side came from (extract.txt of its directory) */
        char sm[65] = "", se[65] = "";
        st = mint_feats_networks(mem, ext, sm, se);
        if (!st && sm[0] != se[0])
            fprintf(stderr, "mint train: warning: %s has no extract.txt saying which network it "
                    "came from; make sure it is the one of %s (SHA-256 %.16s...)\n",
                    sm[0] ? ext : mem, sm[0] ? mem : ext, sm[0] ? sm : se);
        else if (!st && !sm[0])
            fprintf(stderr, "mint train: warning: no extract.txt says which network the features "
                    "came from; the MINT model will not record it, so audits cannot check that "
                    "they use that network\n");
        if (!st)
            memcpy(cfg.network_sha256, sm[0] ? sm : se, sizeof cfg.network_sha256);
    }
    if (st) {
        mint_feats_free(&fm), mint_feats_free(&fe), free(partial);
        mint_image_keys_free(&km), mint_image_keys_free(&ke);
        free(ext_group), free(held);
        return cli_error("train", st);
    }
    mint_tm *tm;
    st = mint_tm_create_wide(&tm, &cfg, seed, min_hidden);
    if (st) {
        mint_feats_free(&fm), mint_feats_free(&fe), free(partial);
        mint_image_keys_free(&km), mint_image_keys_free(&ke);
        free(ext_group), free(held);
        return cli_error("train", st);
    }
    mint_train_opts to;
    mint_train_defaults(&to, kind);
    if (epochs)
        to.epochs = epochs;
    to.batch = batch;
    to.seed = seed;
    to.holdout = holdout;
    to.ext_group = ext_group;
    if (held) {
        to.held = held;
        to.n_held = n_held;
        to.holdout_by = "label";
    } else {
        to.holdout_by = "sample";
    }
    progress_ctx pc = { quiet, partial };
    to.progress = print_epoch;
    to.checkpoint = save_partial;
    to.ctx = &pc;
    char data_hash[33];
    mint_train_data_hash(fm.x, fm.n, fe.x, fe.n, tm->in_size, data_hash);
    to.data_hash = data_hash;
    if (km.n && ke.n) { /* keys of every row (the counts were checked) */
        to.member_keys = km.key;
        to.external_keys = ke.key;
    }
    mint_train_state *rs = NULL;
    if (have_partial) {
        st = mint_train_state_load(partial, tm, &rs);
        if (!st)
            st = mint_train_resume_check(rs, tm, fm.n, fe.n, data_hash, &to);
        if (st) {
            mint_train_state_free(rs), mint_tm_free(tm);
            mint_feats_free(&fm), mint_feats_free(&fe);
            mint_image_keys_free(&km), mint_image_keys_free(&ke);
            free(ext_group), free(held);
            st = explain(st, partial, st == MINT_E_ARG
                                          ? "; rerun with the options and data of the "
                                            "interrupted run, or delete it to start over"
                                          : "; it cannot be resumed: delete it to start over");
            free(partial);
            return cli_error("train", st);
        }
        to.resume = rs;
        printf("resuming after epoch %d of %d from %s\n", rs->epochs_done, rs->epochs, partial);
    } else if (resume && !quiet) {
        printf("no %s to resume: starting afresh\n", partial);
    }
    if (!quiet) {
        char hb[160];
        if (held)
            snprintf(hb, sizeof hb, "%lld of them, all images of %lld of %lld identities, held out "
                     "as the audit reference", (long long)n_held, (long long)k_held,
                     (long long)k_total);
        else
            snprintf(hb, sizeof hb, "%lld held out by image as the audit reference",
                     (long long)mint_train_n_held(&to, fe.n));
        printf("%s MINT: %lld members, %lld external (%s), input %s, %d epoch%s, batch %d, "
               "seed %llu\n", mint_tm_kind_name(kind), (long long)fm.n, (long long)fe.n, hb, dm,
               to.epochs, cli_plural((size_t)to.epochs), batch, seed);
    }
    const double t0 = cli_now();
    st = mint_train(tm, fm.x, fm.n, fe.x, fe.n, &to);
    mint_train_state_free(rs);
    /* a collapsed training is not saved: it would audit as AUC 0.5, silently */
    const int collapsed = !st && tm->train_collapsed;
    if (collapsed)
        report_collapse(tm, out, seed);
    if (!st && !collapsed)
        st = mint_tm_save(tm, out);
    if (!st && remove(partial) && errno != ENOENT) /* (a collapsed run's too: resuming repeats it) */
        fprintf(stderr, "mint train: warning: could not remove %s: %s\n", partial,
                strerror(errno));
    if (!st && !collapsed)
        printf("%s: trained in %.1f s, last-epoch train accuracy %.4f, threshold %.4f "
               "(best balanced accuracy on the training data); audit reference: %lld %s "
               "external scores%s%lld%s\n",
               out, cli_now() - t0, tm->train_accuracy, tm->threshold,
               (long long)tm->n_cal_external, tm->cal_external_heldout ? "held-out" : "training",
               tm->cal_ref_identities >= 0 ? " of " : "",
               (long long)(tm->cal_ref_identities >= 0 ? tm->cal_ref_identities : 0),
               tm->cal_ref_identities >= 0 ? " identities" : "");
    if (!st && !collapsed && !quiet && tm->trainset.recorded)
        printf("%s records the SHA-256 of its %lld member and %lld external training images and "
               "of %lld held-out reference images, for eval and audit to check\n", out,
               (long long)tm->trainset.n[MINT_TS_MEMBERS], (long long)tm->trainset.n[MINT_TS_EXTERNAL],
               (long long)tm->trainset.n[MINT_TS_REFERENCE]);
    mint_tm_free(tm);
    mint_feats_free(&fm), mint_feats_free(&fe);
    mint_image_keys_free(&km), mint_image_keys_free(&ke);
    free(ext_group), free(held);
    if (st && !stat(partial, &pb))
        st = explain(st, "training stopped", "; the last finished epoch is kept: rerun with "
                     "--resume to continue");
    free(partial);
    return st ? cli_error("train", st) : collapsed ? CLI_FAIL : CLI_OK;
}
