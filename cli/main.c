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
    fprintf(stderr, "mint %s: %s%s%s\n", cmd, mint_strerror(st), d[0] ? ": " : "", d);
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mint %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'mint %s --help'\n", cmd);
    va_end(ap);
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

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    { "convert", cmd_convert, "convert an ONNX model into a mint weight file" },
    { "info", cmd_info, "show a weight file's metadata, tensors, graph and SHA-256" },
    { "embed", cmd_embed, "run a model on a .npy batch; write embeddings and taps" },
    { "extract", cmd_extract, "images -> aligned faces -> stage activations (.npy) + index.csv" },
    { "merge", cmd_merge, "concatenate the outputs of several extract runs (shards)" },
    { "train", cmd_train, "train a MINT auditing model (vanilla|cnn|outcome) on extracted features or images" },
    { "eval", cmd_eval, "evaluate a MINT model on held-out features: accuracy, AUC, TPR@FPR, ROC plot" },
    { "audit", cmd_audit, "score images for membership; set-level test; JSON/HTML report" },
    { "demo", cmd_demo, "build an IResNet with random weights and time a forward pass" },
};

static void usage(FILE *f)
{
    fprintf(f, "mint %s - Membership Inference Test engine\n\n"
               "usage: mint <command> [options]   (mint <command> --help for details)\n\n"
               "commands:\n", MINT_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nenvironment: MINT_ISA=scalar|avx2|avx512|neon forces a kernel path;\n"
               "             OMP_NUM_THREADS sets the thread count (or --threads).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("mint %s (kernels: %s)\n", MINT_VERSION, mint_isa());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mint: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
