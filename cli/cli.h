/* cli.h - shared helpers of the mint command-line tool. Only the CLI prints
 * and chooses exit codes; everything below it returns mint_status. */
#ifndef MINT_CLI_H
#define MINT_CLI_H

#include <stddef.h>
#include "mint.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Print "mint <cmd>: <status text>: <detail>" and return CLI_FAIL. */
int cli_error(const char *cmd, mint_status st);
/* Print "mint <cmd>: message", then the command's usage synopsis (the
 * "usage:" lines of its help text) and return CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Split a comma list into at most max items (pointers into a strdup'd copy
 * returned in *buf; free it). Returns the count or -1 if too many/empty. */
int cli_split(const char *list, char **items, int max, char **buf);
/* Parse a positive int option; -1 on error. */
int cli_int(const char *s, int lo, int hi);
/* Apply --threads N (0 = leave OpenMP's default). */
void cli_set_threads(int n);
/* Monotonic seconds. */
double cli_now(void);
/* "s" unless n is 1: "%zu image%s" (no "1 images" in any output). */
static inline const char *cli_plural(size_t n) { return n == 1 ? "" : "s"; }

/* The progress line of a long job (progress.c): redrawn with \r on a
 * terminal, else a line at most every 5 s. */
typedef struct {
    const char *cmd, *what; /* "extract", "images" */
    double t0, last_print;
    int tty, printed;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *cmd, const char *what);
/* done of total, of which resumed were done by an earlier run (not in the
 * rate); failed >= 0 is shown as "k skipped". */
void cli_progress_update(cli_progress *p, size_t done, size_t total, size_t resumed, long failed);
/* Ends the \r line on a terminal. */
void cli_progress_end(cli_progress *p);

/* What the CLI shows of a library job (mint_extract_run, mint_audit_run):
 * ctx of its callbacks. Notes go to stderr as "mint <cmd>: ...", other
 * messages to stdout; the first message (the note saying what runs, made
 * before the first image) starts the progress line. */
typedef struct {
    cli_progress p;
    const char *cmd;
    int on;
} cli_job;
void cli_job_message(void *ctx, mint_msg_kind kind, const char *text);
/* The progress line, once started. */
void cli_job_progress(cli_job *j, size_t done, size_t total, size_t resumed, long failed);
/* Ends the progress line, if started. */
void cli_job_end(cli_job *j);

/* A command's --help text (main.c's table), NULL if not registered. Help
 * texts start with their "usage: mint <cmd> ..." synopsis lines. */
const char *cli_help(const char *cmd);
extern const char cli_help_convert[], cli_help_info[], cli_help_embed[], cli_help_demo[],
    cli_help_extract[], cli_help_merge[], cli_help_train[], cli_help_eval[], cli_help_audit[],
    cli_help_keygen[], cli_help_verify_log[], cli_help_train_model[];

int cmd_convert(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_verify_log(int argc, char **argv);
int cmd_train_model(int argc, char **argv);

#endif
