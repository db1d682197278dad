/* cmd_extract.c - `mint extract` and `mint merge`: images on disk ->
 * Auxiliary Auditable Data on disk. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "mint/extract.h"

static void progress(void *ctx, size_t done, size_t total, size_t failed, size_t resumed)
{
    cli_job_progress(ctx, done, total, resumed, (long)failed);
}

const char cli_help_extract[] =
    "usage: mint extract --model M.mint (--list FILE [--root DIR] | --dir DIR) --out OUT\n"
    "                    [--landmarks CSV] [--taps layer1,layer2,layer3,layer4,embedding]\n"
    "                    [--pool max|none] [--dtype f32|f16] [--batch N] [--chunk N]\n"
    "                    [--shard i/n] [--resume] [--on-error skip|fail] [--threads T]\n"
    "Decode, align (5 landmarks -> ArcFace 112x112), normalise and run every image\n"
    "through the model, writing OUT/<tap>.npy for each tap, OUT/index.csv\n"
    "(row,file,label,sha256 of the image bytes) and OUT/extract.txt (network, taps,\n"
    "list and landmarks SHA-256, shard).\n"
    "  --list FILE    one image per line: path[,label]\n"
    "  --root DIR     with --list: relative paths in FILE are taken below DIR\n"
    "                 (default: the current directory); the keys in index.csv and\n"
    "                 the landmark lookups stay the paths as written in FILE\n"
    "  --dir DIR      every .jpg/.jpeg/.png below DIR (at most 32 levels), sorted;\n"
    "                 label = first folder. Symlinked files and folders are followed;\n"
    "                 a link back to a folder being walked (a cycle) is skipped\n"
    "  --landmarks    CSV with header file,...,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy;\n"
    "                 images without a row must already be the model's input size\n"
    "  --taps         comma-separated tap names, each once (see 'mint info')\n"
    "  --pool max     per-channel max over H,W: [N,C] (default); none: raw [N,C,H,W]\n"
    "  --dtype f16    store float16 (default f32)\n"
    "  --batch N      images per forward pass (default 16)\n"
    "  --chunk N      images per committed chunk (default 1024; smaller = less\n"
    "                 lost on a crash)\n"
    "  --shard i/n    process only the images at list positions p (0-based, images\n"
    "                 only: no blank or # lines) with p % n == i;\n"
    "                 merge the n outputs with 'mint merge' (rows back in list order).\n"
    "                 A shard with no images (n > list size) writes empty (0-row) outputs\n"
    "  --resume       continue a killed run in OUT: model, list, --root/--dir, --landmarks\n"
    "                 (its SHA-256), --taps, --pool, --dtype, --chunk and --shard must\n"
    "                 be the same, else it is refused naming the setting that differs.\n"
    "                 Finished chunks are kept if their checksums match, else redone.\n"
    "                 One run at a time uses OUT (OUT/.lock: another is refused, naming\n"
    "                 its PID; the lock of a killed run is taken over)\n"
    "  --on-error     skip: list bad images in OUT/errors.csv (item,file,error; item =\n"
    "                 0-based position in the whole list) and go on; fail (default): stop\n"
    "  --threads T    OpenMP threads for decoding/aligning a batch and for the network\n"
    "                 (default: OMP_NUM_THREADS, else every core)\n"
    "Progress (images/s of this run, ETA) goes to stderr. Outputs appear only when complete.\n";

int cmd_extract(int argc, char **argv)
{
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
    const char *taps = "layer1,layer2,layer3,layer4,embedding";
    int pool = 1, batch = 16, chunk = 1024, resume = 0, f16 = 0, skip = 0, threads = 0, si = 0, sn = 0, o;
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
            if (sscanf(optarg, "%d/%d%c", &si, &sn, &extra) != 2 || sn < 1 || si < 0 || si >= sn ||
                sn > (1 << 24))
                return cli_usage_error("extract", "--shard wants i/n with 0 <= i < n <= 16777216");
            break;
        }
        case 'h': fputs(cli_help_extract, stdout); return CLI_OK;
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
    for (int i = 0; i < ntaps; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(tapname[i], tapname[j])) {
                int rc = cli_usage_error("extract", "tap '%s' is given twice in --taps", tapname[i]);
                free(tapbuf);
                return rc;
            }
    free(tapbuf);
    if (root && dir)
        return cli_usage_error("extract", "--root goes with --list (--dir DIR is its own root)");
    cli_set_threads(threads);
    mint_extract_run_opts eo;
    mint_extract_run_defaults(&eo);
    eo.model = model, eo.list = list, eo.root = root, eo.dir = dir, eo.landmarks = lmpath;
    eo.taps = taps, eo.out = out, eo.pool_max = pool, eo.f16 = f16, eo.batch = batch;
    eo.chunk = chunk, eo.shard_i = si, eo.shard_n = sn, eo.resume = resume, eo.skip_errors = skip;
    cli_job job = { .cmd = "extract" };
    eo.message = cli_job_message, eo.progress = progress, eo.ctx = &job;
    mint_extract_run_result r;
    mint_status st = mint_extract_run(&eo, &r);
    cli_job_end(&job);
    if (st)
        return cli_error("extract", st);
    printf("%s: %zu row%s written (%zu resumed from an earlier run), %zu image%s skipped%s\n", out,
           r.written, cli_plural(r.written), r.resumed, r.failed, cli_plural(r.failed),
           r.failed ? " (see errors.csv)" : "");
    return CLI_OK;
}

const char cli_help_merge[] =
    "usage: mint merge --out OUT [--partial] IN1 IN2 ...\n"
    "Merge the outputs of several 'mint extract' runs into OUT: every tap .npy,\n"
    "index.csv (rows renumbered), errors.csv and extract.txt. All inputs must come\n"
    "from the same network with the same taps, pooling and dtype.\n"
    "  Shards (--shard i/n) must be shards of one list (same n, same list SHA-256\n"
    "  in extract.txt); a shard given twice is refused. Rows are put back in list\n"
    "  order, whatever the order of IN..., so merging all n shards gives what one\n"
    "  unsharded run would have. An incomplete set is refused, naming the missing\n"
    "  shards, unless --partial: then it is merged (still in list order) with a\n"
    "  warning, and the missing shards can be merged in later with the result.\n"
    "  Whole extractions (no --shard) are concatenated in the order given; the same\n"
    "  folder or the same image list twice is refused.\n";

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    int o, partial = 0;
    static const struct option opts[] = {
        { "out", required_argument, 0, 'o' }, { "partial", no_argument, 0, 'p' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'o')
            out = optarg;
        else if (o == 'p')
            partial = 1;
        else if (o == 'h') {
            fputs(cli_help_merge, stdout);
            return CLI_OK;
        } else
            return cli_usage_error("merge", "bad option");
    }
    if (!out || argc - optind < 1)
        return cli_usage_error("merge", "needs --out OUT and at least one input folder");
    mint_merge_stats ms;
    mint_status st = mint_merge(out, (const char *const *)argv + optind, argc - optind, partial, &ms);
    if (st)
        return cli_error("merge", st);
    if (ms.missing[0])
        fprintf(stderr, "mint merge: warning: incomplete set of shards, missing %s\n", ms.missing);
    printf("%s: merged %d folder%s, %zu row%s%s\n", out, argc - optind, cli_plural((size_t)(argc - optind)),
           ms.rows, cli_plural(ms.rows),
           ms.list_order ? " in list order" : ", concatenated in the order given");
    return CLI_OK;
}
