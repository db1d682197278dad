/* main.c - the `mint` command: one binary, one subcommand per job. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cli/cli.h"

int cli_error(const char *cmd, mint_status st)
{
    const char *d = mint_last_error();
    if (st == MINT_E_IO && d[0]) { /* the detail names the file and what failed ("cannot open") */
        fprintf(stderr, "mint %s: %s\n", cmd, d);
        return CLI_FAIL;
    }
    fprintf(stderr, "mint %s: %s%s%s\n", cmd, mint_strerror(st), d[0] ? ": " : "", d);
    return CLI_FAIL;
}

/* The synopsis of a help text: its leading "usage:" line and the indented
 * lines that continue it (alternative forms included), up to the first line
 * that starts in column 0 and is not another "usage:". */
static void print_synopsis(FILE *f, const char *help)
{
    const char *p = help;
    while (*p && (!strncmp(p, "usage:", 6) || (p != help && *p == ' '))) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%.*s\n", (int)len, p);
        p += len + (nl != NULL);
    }
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mint %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    const char *help = cli_help(cmd);
    if (help)
        print_synopsis(stderr, help);
    fprintf(stderr, "(details: mint %s --help)\n", cmd);
    return CLI_USAGE;
}

int cli_split(const char *list, char **items, int max, char **buf)
{
    *buf = strdup(list);
    if (!*buf)
        return -1;
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(*buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == max)
            return -1;
        items[n++] = tok;
    }
    return n > 0 ? n : -1;
}

int cli_int(const char *s, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    return (int)v;
}

void cli_set_threads(int n)
{
#ifdef _OPENMP
    if (n > 0)
        omp_set_num_threads(n);
#else
    (void)n;
#endif
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Every command: name, entry point, one-line summary, and its --help text
 * (whose "usage:" lines cli_usage_error repeats). */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
    const char *help;
} commands[] = {
    { "convert", cmd_convert, "convert an ONNX model into a mint weight file", cli_help_convert },
    { "info", cmd_info, "show a weight file's metadata, graph, taps, tensors and SHA-256", cli_help_info },
    { "embed", cmd_embed, "run a model on a .npy batch; write embeddings and taps", cli_help_embed },
    { "extract", cmd_extract, "images -> aligned faces -> stage activations (.npy) + index.csv", cli_help_extract },
    { "merge", cmd_merge, "merge the outputs of several extract runs (shards back in list order)", cli_help_merge },
    { "train", cmd_train, "train a MINT auditing model (vanilla|cnn|outcome|vanilla64|cnn2) on features or images", cli_help_train },
    { "train-model", cmd_train_model, "train an audited IResNet on the engine (with an Active MINT head: --amint)", cli_help_train_model },
    { "eval", cmd_eval, "evaluate a MINT model on held-out features: accuracy, AUC, TPR@FPR, ROC plot", cli_help_eval },
    { "audit", cmd_audit, "score images for membership; set-level test; JSON/HTML report", cli_help_audit },
    { "keygen", cmd_keygen, "make an Ed25519 key pair (NAME.key, NAME.pub) for signing training logs", cli_help_keygen },
    { "verify-log", cmd_verify_log, "check a signed training log and the network it ended with", cli_help_verify_log },
    { "demo", cmd_demo, "build an IResNet with random weights and time a forward pass", cli_help_demo },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return (int)i;
    return -1;
}

const char *cli_help(const char *cmd)
{
    int i = find_command(cmd);
    return i >= 0 ? commands[i].help : NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "mint %s - Membership Inference Test engine\n\n"
               "usage: mint <command> [options]   (mint <command> --help for details)\n\n"
               "commands:\n", MINT_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nmint help <command> is mint <command> --help.\n"
               "environment: MINT_ISA=scalar|avx2|avx512|neon forces a kernel path (one this\n"
               "             CPU lacks is ignored with a warning); OMP_NUM_THREADS sets the\n"
               "             thread count (or --threads).\n"
               "exit status: 0 success, 1 failure (the message names the file, node or\n"
               "             tensor), 2 bad arguments (the message and the usage lines).\n");
}

/* MINT_ISA naming a path this build/CPU lacks: the library falls back to
 * the best path and reports it; say so once. */
static void warn_isa(void)
{
    if (mint_isa_env_check() != MINT_OK)
        fprintf(stderr, "mint: warning: %s\n", mint_last_error());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "help")) { /* mint help CMD == mint CMD --help */
        int i = find_command(argv[2]);
        if (i < 0 || argc > 3) {
            if (i < 0)
                fprintf(stderr, "mint help: unknown command '%s'\n\n", argv[2]);
            else
                fprintf(stderr, "mint help: takes one command name\n\n");
            usage(stderr);
            return CLI_USAGE;
        }
        char help_opt[] = "--help", *hargv[] = { argv[2], help_opt, NULL };
        return commands[i].fn(2, hargv);
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        warn_isa();
        printf("mint %s (kernels: %s)\n", MINT_VERSION, mint_isa());
        return CLI_OK;
    }
    int i = find_command(argv[1]);
    if (i >= 0) {
        warn_isa();
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "mint: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
