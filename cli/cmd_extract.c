/* cmd_extract.c - `mint extract` and `mint merge`: images on disk ->
 * Auxiliary Auditable Data on disk. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint/extract.h"
#include "weights/container.h"

typedef struct {
    double t0, last_print;
    size_t last_done;
    int tty;
} progress_state;

static void progress(void *ctx, size_t done, size_t total, size_t failed, size_t resumed)
{
    progress_state *p = ctx;
    double now = cli_now(), el = now - p->t0;
    /* a line per batch on a terminal; at most one each 5 s into a log */
    if (!p->tty && done < total && now - p->last_print < 5.0)
        return;
    p->last_print = now;
    size_t fresh = done - resumed;
    double rate = el > 0 ? (double)fresh / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "%smint extract: %zu/%zu images (%.1f%%), %.1f images/s, ETA %02d:%02d:%02d, %zu skipped%s",
            p->tty ? "\r" : "", done, total, 100.0 * (double)done / (double)total, rate,
            (int)(eta / 3600), (int)(eta / 60) % 60, (int)eta % 60, failed, p->tty ? "  " : "\n");
    p->last_done = done;
}

int cmd_extract(int argc, char **argv)
{
    static const char *help =
        "usage: mint extract --model M.mint (--list FILE | --dir DIR) --out OUT\n"
        "                    [--landmarks CSV] [--taps layer1,layer2,layer3,layer4,embedding]\n"
        "                    [--pool max|none] [--batch N] [--shard i/n] [--resume]\n"
        "                    [--dtype f32|f16] [--on-error skip|fail] [--root DIR] [--threads T]\n"
        "Decode, align (5 landmarks -> ArcFace 112x112), normalise and run every image\n"
        "through the model, writing OUT/<tap>.npy for each tap and OUT/index.csv\n"
        "(row,file,label,sha256 of the image bytes).\n"
        "  --list FILE    one image per line: path[,label] (paths relative to --root or cwd)\n"
        "  --dir DIR      every .jpg/.jpeg/.png below DIR, sorted; label = first folder\n"
        "  --landmarks    CSV with header file,...,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy;\n"
        "                 images without a row must already be the model's input size\n"
        "  --pool max     per-channel max over H,W: [N,C] (default); none: raw [N,C,H,W]\n"
        "  --batch N      images per forward pass (default 16)\n"
        "  --chunk N      images per committed chunk (default 1024; smaller = less lost on a crash)\n"
        "  --shard i/n    process images with index %% n == i (merge shards with 'mint merge')\n"
        "  --resume       continue a killed run in OUT (same options required)\n"
        "  --dtype f16    store float16 (default f32)\n"
        "  --on-error     skip: list bad images in OUT/errors.csv and go on; fail (default): stop\n"
        "Progress (images/s, ETA) goes to stderr. Outputs appear only when complete.\n";
    static const struct option opts[] = {
        { "model", required_argument, 0, 'm' }, { "list", required_argument, 0, 'l' },
        { "dir", required_argument, 0, 'D' }, { "landmarks", required_argument, 0, 'L' },
        { "taps", required_argument, 0, 't' }, { "pool", required_argument, 0, 'p' },
        { "out", required_argument, 0, 'o' }, { "batch", required_argument, 0, 'b' },
        { "chunk", required_argument, 0, 'c' }, { "shard", required_argument, 0, 's' },
        { "resume", no_argument, 0, 'r' }, { "dtype", required_argument, 0, 'd' },
        { "on-error", required_argument, 0, 'e' }, { "root", required_argument, 0, 'R' },
        { "threads", required_argument, 0, 'j' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *model = NULL, *list = NULL, *dir = NULL, *lmpath = NULL, *out = NULL, *root = NULL;
    const char *taps = "layer1,layer2,layer3,layer4,embedding", *shard = NULL;
    int pool = 1, batch = 16, chunk = 1024, resume = 0, f16 = 0, skip = 0, threads = 0, si = 0, sn = 1, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm': model = optarg; break;
        case 'l': list = optarg; break;
        case 'D': dir = optarg; break;
        case 'L': lmpath = optarg; break;
        case 't': taps = optarg; break;
        case 'o': out = optarg; break;
        case 'R': root = optarg; break;
        case 'r': resume = 1; break;
        case 'p':
            if (strcmp(optarg, "max") && strcmp(optarg, "none"))
                return cli_usage_error("extract", "--pool is max or none");
            pool = !strcmp(optarg, "max");
            break;
        case 'd':
            if (strcmp(optarg, "f32") && strcmp(optarg, "f16"))
                return cli_usage_error("extract", "--dtype is f32 or f16");
            f16 = !strcmp(optarg, "f16");
            break;
        case 'e':
            if (strcmp(optarg, "skip") && strcmp(optarg, "fail"))
                return cli_usage_error("extract", "--on-error is skip or fail");
            skip = !strcmp(optarg, "skip");
            break;
        case 'b': if ((batch = cli_int(optarg, 1, 1024)) < 0) return cli_usage_error("extract", "--batch wants 1..1024"); break;
        case 'c': if ((chunk = cli_int(optarg, 1, 1 << 24)) < 0) return cli_usage_error("extract", "--chunk wants a positive count"); break;
        case 'j': if ((threads = cli_int(optarg, 1, 1024)) < 0) return cli_usage_error("extract", "--threads wants 1..1024"); break;
        case 's': {
            char extra;
            if (sscanf(optarg, "%d/%d%c", &si, &sn, &extra) != 2 || sn < 1 || si < 0 || si >= sn)
                return cli_usage_error("extract", "--shard wants i/n with 0 <= i < n");
            shard = optarg;
            break;
        }
        case 'h': fputs(help, stdout); return CLI_OK;
        default: return cli_usage_error("extract", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("extract", "unexpected argument '%s'", argv[optind]);
    if (!model || !out || (!list == !dir))
        return cli_usage_error("extract", "needs --model, --out and one of --list or --dir");
    char *tapbuf, *tapname[64];
    int ntaps = cli_split(taps, tapname, 64, &tapbuf);
    if (ntaps < 0) {
        free(tapbuf);
        return cli_usage_error("extract", "--taps wants 1..64 comma-separated names");
    }
    cli_set_threads(threads);
    mint_model *m = NULL;
    io_list l = { 0 };
    io_landmarks *lm = NULL;
    char sha[65];
    mint_status st;
    if (!(st = wt_sha256_file(model, sha)) && !(st = mint_model_open(&m, model)) &&
        !(st = list ? io_list_from_file(list, root, &l) : io_list_from_dir(dir, &l)) &&
        (!lmpath || !(st = io_landmarks_load(lmpath, &lm)))) {
        io_list_shard(&l, si, sn);
        if (l.n == 0)
            st = mint_fail(MINT_E_ARG, "shard %s of the list is empty", shard);
    }
    mint_extract_stats stats = { 0 };
    if (!st) {
        progress_state ps = { cli_now(), 0, 0, isatty(2) };
        mint_extract_opts eo = { m, sha, &l, lm, (const char *const *)tapname, ntaps, pool, f16, out,
                                 batch, chunk, resume, skip, shard, progress, &ps };
        fprintf(stderr, "mint extract: %zu images, taps %s, kernels %s\n", l.n, taps, mint_isa());
        st = mint_extract(&eo, &stats);
        if (ps.tty)
            fputc('\n', stderr);
        if (!st)
            printf("%s: %zu rows written (%zu resumed from an earlier run), %zu images skipped%s\n", out,
                   stats.written, stats.resumed, stats.failed, stats.failed ? " (see errors.csv)" : "");
    }
    free(tapbuf);
    io_landmarks_free(lm);
    io_list_free(&l);
    mint_model_close(m);
    return st ? cli_error("extract", st) : CLI_OK;
}

int cmd_merge(int argc, char **argv)
{
    static const char *help =
        "usage: mint merge --out OUT IN1 IN2 ...\n"
        "Concatenate the outputs of several 'mint extract' runs (e.g. --shard 0/2 and 1/2)\n"
        "into OUT: every tap .npy and index.csv (rows renumbered), in the order given.\n";
    const char *out = NULL;
    int o;
    static const struct option opts[] = {
        { "out", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'o')
            out = optarg;
        else if (o == 'h') {
            fputs(help, stdout);
            return CLI_OK;
        } else
            return cli_usage_error("merge", "bad option");
    }
    if (!out || argc - optind < 1)
        return cli_usage_error("merge", "needs --out OUT and at least one input folder");
    mint_status st = mint_merge(out, (const char *const *)argv + optind, argc - optind);
    if (st)
        return cli_error("merge", st);
    printf("%s: merged %d folders\n", out, argc - optind);
    return CLI_OK;
}
