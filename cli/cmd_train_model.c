/* cmd_train_model.c - `mint train-model`: train an audited IResNet on the
 * engine, optionally with an Active MINT head (mint/train_model.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mint/train_model.h"

const char cli_help_train_model[] =
    "usage: mint train-model --data SRC [--data SRC2 ...] --out NET.mint [--arch iresnet18]\n"
    "                  [--widths W1,W2,W3,W4] [--emb N] [--loss softmax|cosface|arcface]\n"
    "                  [--epochs E] [--batch N] [--lr X] [--optimizer sgd|adam|adamw]\n"
    "                  [--schedule cosine|step|const] [--external SRC ...] [--landmarks CSV]\n"
    "                  [--amint [--amint-taps layer1] [--amint-kind cnn|vanilla]] [--resume]\n"
    "                  [--log-key KEY [--log FILE] [--log-every N]]\n"
    "Train an IResNet (arcface_torch's structure) on the engine and write it to\n"
    "NET.mint, which embed, extract, train and audit load like a converted network\n"
    "(taps layer1..layer4 and embedding). The images are split into members (the\n"
    "network trains on them) and external images (it never does), and each side into\n"
    "a MINT share (MINT models may train on it) and an evaluation share (nobody trains\n"
    "on it); the split is written first, as path,label lists in the split folder:\n"
    "members.csv, external.csv, mint-members.csv, mint-external.csv, eval-members.csv,\n"
    "eval-external.csv and split.json, so that every later step uses the same split.\n"
    "Data:\n"
    "  --data SRC      a folder (identity = first sub-folder, e.g. LFW), a list file\n"
    "                  (path[,label] per line; --root for relative paths) or an idx\n"
    "                  images file (MNIST, Fashion-MNIST: *-images-idx3-ubyte[.gz], labels\n"
    "                  from the labels file beside it; images named FILE#INDEX in lists).\n"
    "                  Repeat for several sources.\n"
    "  --external SRC  images that are never members (e.g. ORL, Yale); repeatable\n"
    "  --landmarks CSV 5-point landmarks to align faces to 112x112 (as extract); without\n"
    "                  it face images must be 112x112 crops. Digits keep their size (grey).\n"
    "  --split-by label|sample   members by identity (default for folders and lists) or by\n"
    "                  image (default for idx digits)\n"
    "  --members F     fraction of identities (or images) that are members (0.5)\n"
    "  --min-images N  label split: identities with fewer images are external (1)\n"
    "  --max-classes N label split: at most N member identities (0 = no limit)\n"
    "  --mint-share F  fraction of members and of external images in the MINT share (0.5)\n"
    "  --split-dir DIR where the split lists go (default NET-split beside NET.mint)\n"
    "Network and training:\n"
    "  --arch A        iresnet18 (default), iresnet34, iresnet50, iresnet100\n"
    "  --widths LIST   the four stage widths (64,128,256,512)\n"
    "  --emb N         embedding size (512)\n"
    "  --loss L        softmax (default for digits), cosface (default for faces; s 64,\n"
    "                  m 0.4) or arcface (s 64, m 0.5), arcface_torch's margin heads\n"
    "  --optimizer O   sgd (momentum 0.9, default), adam or adamw\n"
    "  --lr X          learning rate (0.1); --momentum M (0.9); --weight-decay W (5e-4)\n"
    "  --schedule S    cosine (default), step (x0.1 at 50% and 75%) or const\n"
    "  --epochs E (10) --batch N (64) --seed S (1) --dropout P (0, before the FC)\n"
    "  --flip on|off   random horizontal flips (on for faces, off for digits)\n"
    "  --resume        continue from NET.mint.partial, written after every epoch\n"
    "  --stop-after-epoch N  stop after epoch N, leaving NET.mint.partial as a killed run\n"
    "                  would (a time-boxed job); --resume continues it\n"
    "Active MINT (the network and a MINT head trained together):\n"
    "  --amint         every step also runs external images of the MINT share through the\n"
    "                  network (never into its task loss) and trains a MINT head on the\n"
    "                  taps: loss = L_task/L_task0 + L_mint/L_mint0 (first batch's values)\n"
    "  --amint-taps T  the taps the head reads (layer1)\n"
    "  --amint-kind K  cnn (default) or vanilla, as 'mint train --kind'\n"
    "  --amint-min-hidden N  a cnn head's Dense layer has max(C, N) units (64), as\n"
    "                  'mint train --min-hidden' (C channels of a narrow tap make a\n"
    "                  layer that dies easily)\n"
    "  --amint-lr X    the head's Adam learning rate (1e-4; 'mint train' uses Keras's 1e-3,\n"
    "                  which kills the Dense layer's units on large tap values)\n"
    "  --amint-out F   the head, an ordinary MINT model for eval and audit\n"
    "                  (default NET-amint.mint); a fifth of its external images are\n"
    "                  held out of its training as its audit reference\n"
    "Signed training log (verifiable afterwards with 'mint verify-log LOG --key PUB\n"
    "--network NET.mint'):\n"
    "  --log-key KEY   Ed25519 secret key from 'mint keygen'; every N steps a record (step,\n"
    "                  epoch, loss, SHA-256 of the parameters, SHA-256 of the record before)\n"
    "                  is appended, signed and fsync'd; a closing record with the final\n"
    "                  parameters' hash ends it. --resume continues the same log\n"
    "  --log FILE      the log (default NET.mint.log; never overwritten)\n"
    "  --log-every N   steps between records (50)\n"
    "Other:\n"
    "  --threads T     OpenMP threads; --quiet: no progress\n";

typedef struct {
    int quiet;
    double last_line;
} tm_cli;

static void on_message(void *ctx, mint_msg_kind kind, const char *text)
{
    tm_cli *c = ctx;
    if (kind == MINT_MSG_NOTE)
        fprintf(stderr, "mint train-model: %s\n", text);
    else if (!c->quiet || kind == MINT_MSG_STATUS)
        printf("%s\n", text);
    fflush(stdout);
}

static void fmt_eta(char *b, size_t n, double s)
{
    if (s < 0)
        snprintf(b, n, "?");
    else if (s < 90)
        snprintf(b, n, "%.0fs", s);
    else if (s < 5400)
        snprintf(b, n, "%ldm%02lds", (long)s / 60, (long)s % 60);
    else
        snprintf(b, n, "%.1fh", s / 3600);
}

static void on_progress(void *ctx, const mint_tmodel_progress *p)
{
    tm_cli *c = ctx;
    if (c->quiet)
        return;
    char eta[32], mint[96] = "";
    fmt_eta(eta, sizeof eta, p->eta_s);
    if (p->mint_loss > 0)
        snprintf(mint, sizeof mint, " | MINT head loss %.4f acc %.3f", p->mint_loss,
                 p->mint_accuracy);
    int tty = isatty(STDOUT_FILENO);
    if (!p->epoch_done && !tty) {
        double t = cli_now();
        if (t - c->last_line < 5.0)
            return;
        c->last_line = t;
    }
    printf("%sepoch %d/%d step %lld/%lld: loss %.4f acc %.3f%s, %.0f images/s, ETA %s%s",
           tty ? "\r" : "", p->epoch, p->epochs, (long long)p->step, (long long)p->steps, p->loss,
           p->accuracy, mint, p->images_per_s, eta, tty && !p->epoch_done ? "  " : "\n");
    fflush(stdout);
}

static int parse_widths(const char *s, int w[4])
{
    char *items[4], *buf;
    int n = cli_split(s, items, 4, &buf);
    int ok = n == 4;
    for (int i = 0; ok && i < 4; i++)
        ok = (w[i] = cli_int(items[i], 1, 8192)) > 0;
    free(buf);
    return ok ? 0 : -1;
}

static int parse_double(const char *s, double lo, double hi, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !*s || *end || errno || !(*v >= lo && *v <= hi) ? -1 : 0;
}

/* Options that take a number or a choice; 0 ok, else the usage error. */
static int parse_opt(int o, const char *a, mint_tmodel_opts *t, int *threads, int *quiet)
{
    double v;
    switch (o) {
    case 'd':
        if (t->ndata == MINT_TMODEL_MAX_SRC)
            return cli_usage_error("train-model", "at most %d --data sources", MINT_TMODEL_MAX_SRC);
        t->data[t->ndata++] = a;
        return 0;
    case 'x':
        if (t->nexternal == MINT_TMODEL_MAX_SRC)
            return cli_usage_error("train-model", "at most %d --external sources",
                                   MINT_TMODEL_MAX_SRC);
        t->external[t->nexternal++] = a;
        return 0;
    case 'o': t->out = a; return 0;
    case 'R': t->root = a; return 0;
    case 'L': t->landmarks = a; return 0;
    case 'S': t->split_by = a; return 0;
    case 'D': t->split_dir = a; return 0;
    case 'l': t->loss = a; return 0;
    case 'O': t->optimizer = a; return 0;
    case 'c': t->schedule = a; return 0;
    case 'r': t->resume = 1; return 0;
    case 'A': t->amint = 1; return 0;
    case 'P': t->amint_taps = a; return 0;
    case 'K': t->amint_kind = a; return 0;
    case 'U': t->amint_out = a; return 0;
    case 'k': t->log_key = a; return 0;
    case 'Y': return parse_double(a, 1e-9, 1, &t->amint_lr)
                         ? cli_usage_error("train-model", "--amint-lr wants a number in (0, 1]") : 0;
    case 'Z':
        return (t->stop_after = cli_int(a, 1, 100000)) < 0
                   ? cli_usage_error("train-model", "--stop-after-epoch wants a positive integer") : 0;
    case 'H':
        return (t->amint_min_hidden = cli_int(a, 0, 65536)) < 0
                   ? cli_usage_error("train-model", "--amint-min-hidden wants an integer 0..65536") : 0;
    case 'g': t->log_path = a; return 0;
    case 'N':
        return (t->log_every = cli_int(a, 1, 1 << 30)) < 0
                   ? cli_usage_error("train-model", "--log-every wants a positive integer") : 0;
    case 'q': *quiet = 1; return 0;
    case 'a':
        if (strncmp(a, "iresnet", 7) || (t->depth = cli_int(a + 7, 1, 1000)) < 0)
            return cli_usage_error("train-model", "--arch wants iresnet18, 34, 50 or 100");
        return 0;
    case 'w':
        return parse_widths(a, t->widths) ? cli_usage_error("train-model", "--widths wants four "
                                                            "integers 1..8192, e.g. 32,64,128,256")
                                          : 0;
    case 'F':
        if (strcmp(a, "on") && strcmp(a, "off"))
            return cli_usage_error("train-model", "--flip wants on or off");
        t->flip = !strcmp(a, "on");
        return 0;
    case 'T':
        return (*threads = cli_int(a, 1, 4096)) < 0
                   ? cli_usage_error("train-model", "--threads wants a positive integer") : 0;
    case 'e':
        return (t->emb = cli_int(a, 1, 65536)) < 0
                   ? cli_usage_error("train-model", "--emb wants an integer 1..65536") : 0;
    case 'E':
        return (t->epochs = cli_int(a, 1, 100000)) < 0
                   ? cli_usage_error("train-model", "--epochs wants an integer 1..100000") : 0;
    case 'b':
        return (t->batch = cli_int(a, 2, 4096)) < 0
                   ? cli_usage_error("train-model", "--batch wants an integer 2..4096") : 0;
    case 'i':
        return (t->min_images = cli_int(a, 1, 1 << 30)) < 0
                   ? cli_usage_error("train-model", "--min-images wants a positive integer") : 0;
    case 'C':
        return (t->max_classes = cli_int(a, 1, 1 << 30)) < 0
                   ? cli_usage_error("train-model", "--max-classes wants a positive integer") : 0;
    case 's': {
        char *end;
        errno = 0;
        t->seed = strtoull(a, &end, 0);
        return !*a || *end || errno || a[0] == '-'
                   ? cli_usage_error("train-model", "--seed wants a non-negative integer") : 0;
    }
    case 'm': return parse_double(a, 1e-9, 1 - 1e-9, &t->members)
                         ? cli_usage_error("train-model", "--members wants a fraction in (0, 1)") : 0;
    case 'M': return parse_double(a, 1e-9, 1 - 1e-9, &t->mint_share)
                         ? cli_usage_error("train-model", "--mint-share wants a fraction in (0, 1)") : 0;
    case 'n': return parse_double(a, 1e-12, 100, &t->lr)
                         ? cli_usage_error("train-model", "--lr wants a number in (0, 100]") : 0;
    case 'u': return parse_double(a, 0, 0.999, &t->momentum)
                         ? cli_usage_error("train-model", "--momentum wants a number in [0, 1)") : 0;
    case 'W': return parse_double(a, 0, 1, &t->weight_decay)
                         ? cli_usage_error("train-model", "--weight-decay wants a number in [0, 1]") : 0;
    case 'p':
        if (parse_double(a, 0, 0.95, &v))
            return cli_usage_error("train-model", "--dropout wants a number in [0, 0.95]");
        t->dropout = (float)v;
        return 0;
    }
    return cli_usage_error("train-model", "unknown option (see mint train-model --help)");
}

int cmd_train_model(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, 0, 'd' },       { "external", required_argument, 0, 'x' },
        { "out", required_argument, 0, 'o' },        { "root", required_argument, 0, 'R' },
        { "landmarks", required_argument, 0, 'L' },  { "split-by", required_argument, 0, 'S' },
        { "split-dir", required_argument, 0, 'D' },  { "members", required_argument, 0, 'm' },
        { "min-images", required_argument, 0, 'i' }, { "max-classes", required_argument, 0, 'C' },
        { "mint-share", required_argument, 0, 'M' }, { "arch", required_argument, 0, 'a' },
        { "widths", required_argument, 0, 'w' },     { "emb", required_argument, 0, 'e' },
        { "loss", required_argument, 0, 'l' },       { "optimizer", required_argument, 0, 'O' },
        { "lr", required_argument, 0, 'n' },         { "momentum", required_argument, 0, 'u' },
        { "weight-decay", required_argument, 0, 'W' }, { "schedule", required_argument, 0, 'c' },
        { "epochs", required_argument, 0, 'E' },     { "batch", required_argument, 0, 'b' },
        { "seed", required_argument, 0, 's' },       { "dropout", required_argument, 0, 'p' },
        { "flip", required_argument, 0, 'F' },       { "resume", no_argument, 0, 'r' },
        { "amint", no_argument, 0, 'A' },            { "amint-taps", required_argument, 0, 'P' },
        { "amint-kind", required_argument, 0, 'K' }, { "amint-out", required_argument, 0, 'U' },
        { "amint-min-hidden", required_argument, 0, 'H' },
        { "stop-after-epoch", required_argument, 0, 'Z' },
        { "amint-lr", required_argument, 0, 'Y' },
        { "log-key", required_argument, 0, 'k' },    { "log", required_argument, 0, 'g' },
        { "log-every", required_argument, 0, 'N' },
        { "threads", required_argument, 0, 'T' },    { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
    };
    mint_tmodel_opts t;
    mint_tmodel_defaults(&t);
    int threads = 0, o;
    tm_cli c = { 0, 0 };
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'h') {
            fputs(cli_help_train_model, stdout);
            return CLI_OK;
        }
        if (o == '?')
            return cli_usage_error("train-model", "see mint train-model --help");
        int rc = parse_opt(o, optarg, &t, &threads, &c.quiet);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error("train-model", "unexpected argument '%s'", argv[optind]);
    if (!t.ndata || !t.out)
        return cli_usage_error("train-model", "--data and --out are required");
    cli_set_threads(threads);
    t.message = on_message;
    t.progress = on_progress;
    t.ctx = &c;
    mint_tmodel_result r;
    mint_status st = mint_tmodel_run(&t, &r);
    if (st)
        return cli_error("train-model", st);
    if (r.stopped)
        return CLI_OK;
    printf("wrote %s (sha256 %.16s...) in %.0f s: %lld members in %d classes, %lld external; "
           "training accuracy %.4f",
           t.out, r.network_sha256, r.seconds, (long long)r.n_members, r.classes,
           (long long)r.n_external, r.train_accuracy);
    if (r.test_accuracy >= 0)
        printf(", test accuracy %.4f (eval-external images of member classes)", r.test_accuracy);
    printf("\nsplit: %s/ (MINT share: %lld members, %lld external; evaluation: %lld members, "
           "%lld external)\n", r.split_dir, (long long)r.n_mint_members,
           (long long)r.n_mint_external, (long long)r.n_eval_members, (long long)r.n_eval_external);
    if (t.amint)
        printf("Active MINT head: %s\n", r.amint_out);
    if (t.log_key)
        printf("signed training log: %s%s\n", t.log_path ? t.log_path : t.out,
               t.log_path ? "" : ".log");
    return CLI_OK;
}
