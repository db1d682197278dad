/* cmd_train.c - `mint train`: train a MINT auditing model (Vanilla, CNN or
 * the outcome baseline) on member and external features - read from
 * `mint extract` outputs, or computed from images through the network in
 * memory - and save it, with its calibration scores, in a weight container.
 * After every epoch the whole training state goes to <out>.partial, from
 * which --resume continues an interrupted run bit for bit. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "mint/features.h"
#include "mint/model.h"

#define MAX_TAPS MINT_FEATS_MAX_TAPS

const char cli_help_train[] =
    "usage: mint train --kind vanilla|cnn|outcome|vanilla64|cnn2 --members A --external B\n"
    "                  --out T.mint\n"
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
    "                  outcome: the vanilla MLP on the embedding (baseline MIA);\n"
    "                  the MINT-Demo variants: vanilla64: the vanilla MLP with Dense 64\n"
    "                  (L1 0.1) and Dropout 0.3; cnn2: Conv 32 3x3 ReLU -> MaxPool 2x2 ->\n"
    "                  Conv 64 3x3 ReLU -> MaxPool 2x2 -> Dense 64 ReLU -> Dropout 0.5 ->\n"
    "                  Dense 1 on the raw map of one tap (H, W >= 4)\n"
    "  --members A     features of members: a .npy file, or a directory with one\n"
    "  --external B    <tap>.npy per tap (as written by 'mint extract'). float32 or\n"
    "                  float16. vanilla/outcome/vanilla64: [N,F], or [N,C,H,W] reduced to\n"
    "                  the per-channel maximum [N,C]; cnn/cnn2: [N,C,H,W] (extract --pool none)\n"
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
    "                  for vanilla(64), layer1 for cnn(2), embedding for outcome, unless the\n"
    "                  extract.txt of the --members directory records taps without\n"
    "                  them: then those taps, for cnn(2) the first, said on stderr;\n"
    "                  outcome on another tap is allowed with a warning: it is then\n"
    "                  no longer the paper's baseline)\n"
    "  --epochs E      default 20 (vanilla, outcome, vanilla64), 30 (cnn, cnn2)\n"
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

/* What the CLI shows of a run: messages on stdout/stderr, the epoch lines
 * and the image progress line (ended before any other output). */
typedef struct {
    int quiet;
    cli_progress p;
    int progress_on;
} train_ui;

static void end_progress(train_ui *ui)
{
    if (ui->progress_on)
        cli_progress_end(&ui->p);
    ui->progress_on = 0;
}

static void on_message(void *ctx, mint_msg_kind kind, const char *text)
{
    train_ui *ui = ctx;
    end_progress(ui);
    if (kind == MINT_MSG_NOTE)
        fprintf(stderr, "mint train: %s\n", text);
    else if (kind == MINT_MSG_STATUS || !ui->quiet)
        printf("%s\n", text);
}

static void on_epoch(void *ctx, const mint_train_progress *p)
{
    train_ui *ui = ctx;
    end_progress(ui);
    if (ui->quiet)
        return;
    printf("epoch %3d/%-3d  loss %.5f  bce %.5f  train acc %.4f  %.1f s\n", p->epoch, p->epochs,
           p->loss, p->bce, p->accuracy, p->seconds);
    fflush(stdout);
}

/* Progress over the members' and then the external images; the rate counts
 * from the call with done 0, made before the first image. */
static void on_images(void *ctx, size_t done, size_t total)
{
    train_ui *ui = ctx;
    if (!ui->progress_on) {
        cli_progress_init(&ui->p, "train", "images");
        ui->progress_on = 1;
        if (done == 0)
            return;
    }
    cli_progress_update(&ui->p, done, total, 0, -1);
}

/* Explicit --taps: the usage errors of the list (mint_train_run checks it
 * again, and the taps it picks when none are given). */
static int check_taps(const char *taps_s, int cnn)
{
    char *taps[MAX_TAPS], *tbuf = NULL;
    const int ntaps = cli_split(taps_s, taps, MAX_TAPS, &tbuf);
    int rc = CLI_OK;
    if (ntaps < 0)
        rc = cli_usage_error("train", "--taps wants 1..%d comma-separated names", MAX_TAPS);
    else if (cnn && ntaps != 1)
        rc = cli_usage_error("train", "CNN MINT trains on one tap (got %d)", ntaps);
    for (int i = 0; !rc && i < ntaps; i++)
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp(taps[i], taps[j]))
                rc = cli_usage_error("train", "--taps names %s twice", taps[i]);
    free(tbuf);
    return rc;
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
        return cli_usage_error("train", "--kind is vanilla, cnn, outcome, vanilla64 or cnn2 "
                               "(not '%s')", kind_s);
    if (min_hidden && kind != MINT_TM_CNN)
        return cli_usage_error("train", "--min-hidden goes with --kind cnn (the other kinds have a fixed width)");
    if (taps_s && check_taps(taps_s, mint_tm_kind_is_conv(kind)))
        return CLI_USAGE;
    cli_set_threads(threads);
    train_ui ui = { .quiet = quiet };
    mint_train_run_opts to;
    mint_train_run_defaults(&to);
    to.kind = kind_s;
    to.out = out;
    to.members = mem, to.external = ext;
    to.model = model, to.members_list = lmem, to.external_list = lext;
    to.landmarks = lmpath, to.root = root;
    to.taps = taps_s;
    to.epochs = epochs, to.batch = batch, to.seed = seed;
    to.holdout = holdout;
    to.holdout_by = by_label_given ? MINT_HOLDOUT_LABEL
                    : by_label ? MINT_HOLDOUT_AUTO : MINT_HOLDOUT_SAMPLE;
    to.min_hidden = min_hidden;
    to.resume = resume;
    to.message = on_message;
    to.epoch = on_epoch;
    to.images = quiet ? NULL : on_images;
    to.ctx = &ui;
    mint_train_run_result r;
    mint_status st = mint_train_run(&to, &r);
    end_progress(&ui);
    if (!st && !r.collapsed)
        printf("%s: trained in %.1f s, last-epoch train accuracy %.4f, threshold %.4f "
               "(best balanced accuracy on the training data); audit reference: %lld %s "
               "external scores%s%lld%s\n",
               out, r.seconds, r.train_accuracy, r.threshold, (long long)r.n_cal_external,
               r.cal_external_heldout ? "held-out" : "training",
               r.cal_ref_identities >= 0 ? " of " : "",
               (long long)(r.cal_ref_identities >= 0 ? r.cal_ref_identities : 0),
               r.cal_ref_identities >= 0 ? " identities" : "");
    if (!st && !r.collapsed && !quiet && r.trainset_recorded)
        printf("%s records the SHA-256 of its %lld member and %lld external training images and "
               "of %lld held-out reference images, for eval and audit to check\n", out,
               (long long)r.trainset_n[0], (long long)r.trainset_n[1], (long long)r.trainset_n[2]);
    return st ? cli_error("train", st) : r.collapsed ? CLI_FAIL : CLI_OK;
}
