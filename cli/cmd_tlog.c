/* cmd_tlog.c - `mint keygen` (an Ed25519 key pair for signing training
 * logs) and `mint verify-log` (check a signed training log: signatures,
 * chain, order, closing record, and the final parameters against a network
 * file). The log format and its checks are mint/tlog.{h,c}. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "base/sha256.h"
#include "mint/tlog.h"
#include "net/graph.h"
#include "net/graph_io.h"
#include "weights/container.h"

const char cli_help_keygen[] =
    "usage: mint keygen --out NAME\n"
    "Make an Ed25519 key pair for signing the training logs of mint train-model:\n"
    "  NAME.key  the secret key (the 32-byte seed as 64 hex digits), mode 0600:\n"
    "            keep it private; whoever holds it can sign logs as you\n"
    "  NAME.pub  the public key (64 hex digits) an auditor checks logs with\n"
    "            (mint verify-log LOG --key NAME.pub)\n"
    "Existing NAME.key or NAME.pub files are never overwritten (status 1).\n";

const char cli_help_verify_log[] =
    "usage: mint verify-log LOG --key PUB [--network NET.mint]\n"
    "Check a signed training log written by mint train-model: every record signed\n"
    "with the key PUB (a NAME.pub file of 'mint keygen', or its 64 hex digits), each\n"
    "chained to the one before by SHA-256, record numbers consecutive, steps\n"
    "increasing, and the closing record present (a log without it is truncated, or\n"
    "its run has not finished). With --network, the final parameter hash of the log\n"
    "must be the SHA-256 of the parameters in NET.mint (docs/format.md 2.5), i.e.\n"
    "NET.mint is the network the logged run ended with.\n"
    "  --key PUB         the trainer's public key\n"
    "  --network NET     the network file to check the final parameters against\n"
    "Prints 'OK: ...' (status 0), or 'REFUSED: record K (line L): why' naming the\n"
    "first bad record (status 1): edited, reordered, removed or foreign records, a\n"
    "cut-short or unclosed log, another key, another network.\n";

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *out = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'o': out = optarg; break;
        case 'h': fputs(cli_help_keygen, stdout); return CLI_OK;
        default: return cli_usage_error("keygen", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
    if (!out || !*out)
        return cli_usage_error("keygen", "needs --out NAME");
    uint8_t pk[MINT_TLOG_PK_BYTES];
    mint_status st = mint_tlog_keygen(out, pk);
    if (st)
        return cli_error("keygen", st);
    char hex[65];
    base_sha256_hex(pk, hex); /* 32 bytes as hex */
    printf("wrote %s.key (secret key, mode 0600: keep it private) and %s.pub (public key %s)\n",
           out, out, hex);
    return CLI_OK;
}

/* SHA-256 of the parameters of the network file. */
static mint_status network_sha(const char *path, uint8_t sha[32])
{
    net_graph *g;
    wt_file *f;
    mint_status st = net_graph_load(&g, &f, path);
    if (st)
        return st;
    net_graph_param_sha256(g, sha);
    net_graph_free(g);
    wt_close(f);
    return MINT_OK;
}

int cmd_verify_log(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, 0, 'k' }, { "network", required_argument, 0, 'n' },
        { "help", no_argument, 0, 'h' },      { 0, 0, 0, 0 },
    };
    const char *key = NULL, *net = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'k': key = optarg; break;
        case 'n': net = optarg; break;
        case 'h': fputs(cli_help_verify_log, stdout); return CLI_OK;
        default: return cli_usage_error("verify-log", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("verify-log", argc == optind ? "needs the log file"
                                                            : "takes one log file");
    if (!key)
        return cli_usage_error("verify-log", "needs --key PUB (the trainer's public key)");
    const char *log = argv[optind];
    uint8_t pk[MINT_TLOG_PK_BYTES], want[32];
    mint_status st = mint_tlog_load_public(key, pk);
    if (!st && net)
        st = network_sha(net, want);
    if (st)
        return cli_error("verify-log", st);
    mint_tlog_result r;
    st = mint_tlog_verify(log, pk, net ? want : NULL, &r);
    if (st && st != MINT_E_FORMAT)
        return cli_error("verify-log", st);
    if (st) {
        if (r.verdict == MINT_TLOG_FINAL_MISMATCH)
            printf("REFUSED: record %lld (line %lld): the final parameters are not those of %s "
                   "(another network, or one changed after training)\n",
                   (long long)r.record, (long long)r.line, net);
        else
            printf("REFUSED: record %lld (line %lld): %s\n", (long long)r.record,
                   (long long)r.line, r.why);
        return CLI_FAIL;
    }
    printf("%s: created %s, run: %s\n", log, r.created, r.description[0] ? r.description : "-");
    char steps[64] = "no steps";
    if (r.records > 0)
        snprintf(steps, sizeof steps, "steps %lld..%lld", (long long)r.first_step,
                 (long long)r.last_step);
    if (net) {
        printf("OK: %lld record%s, %s, final parameters match %s\n", (long long)r.records,
               cli_plural((size_t)r.records), steps, net);
    } else {
        char hex[65];
        base_sha256_hex(r.final_sha, hex);
        printf("OK: %lld record%s, %s, final parameters %s (no --network to compare)\n",
               (long long)r.records, cli_plural((size_t)r.records), steps, hex);
    }
    return CLI_OK;
}
