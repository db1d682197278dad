/* progress.c - the progress line of long CLI jobs (extract, audit, training
 * from images): "mint <cmd>: done/total <what> (p%), r <what>/s, ETA
 * hh:mm:ss[, k skipped]" on stderr, redrawn in place with \r on a terminal,
 * else a whole line at most every 5 s (and at the end) so logs stay
 * readable. cli_job: the messages and progress line of a library job. */
#include <stdio.h>
#include <unistd.h>
#include "cli/cli.h"
#include "mint/extract.h"

void cli_progress_init(cli_progress *p, const char *cmd, const char *what)
{
    p->cmd = cmd;
    p->what = what;
    p->t0 = cli_now();
    p->last_print = -1e30;
    p->tty = isatty(2);
    p->printed = 0;
}

void cli_progress_update(cli_progress *p, size_t done, size_t total, size_t resumed, long failed)
{
    const double now = cli_now();
    if (!p->tty && done < total && now - p->last_print < 5.0)
        return;
    p->last_print = now;
    double rate, eta;
    /* the rate of this run only: resumed items took no time here */
    mint_extract_rate(done, resumed, total, now - p->t0, &rate, &eta);
    char etas[32] = "--:--:--";
    if (eta >= 0)
        snprintf(etas, sizeof etas, "%02d:%02d:%02d", (int)(eta / 3600), (int)(eta / 60) % 60,
                 (int)eta % 60);
    char fails[48] = "";
    if (failed >= 0)
        snprintf(fails, sizeof fails, ", %ld skipped", failed);
    fprintf(stderr, "%smint %s: %zu/%zu %s (%.1f%%), %.1f %s/s, ETA %s%s%s", p->tty ? "\r" : "",
            p->cmd, done, total, p->what,
            total ? 100.0 * (double)done / (double)total : 100.0, rate, p->what, etas, fails,
            p->tty ? "  " : "\n");
    p->printed = 1;
}

void cli_progress_end(cli_progress *p)
{
    if (p->tty && p->printed)
        fputc('\n', stderr);
    p->printed = 0;
}

void cli_job_message(void *ctx, mint_msg_kind kind, const char *text)
{
    cli_job *j = ctx;
    if (kind == MINT_MSG_NOTE)
        fprintf(stderr, "mint %s: %s\n", j->cmd, text);
    else
        printf("%s\n", text);
    if (!j->on)
        cli_progress_init(&j->p, j->cmd, "images");
    j->on = 1;
}

void cli_job_progress(cli_job *j, size_t done, size_t total, size_t resumed, long failed)
{
    if (j->on)
        cli_progress_update(&j->p, done, total, resumed, failed);
}

void cli_job_end(cli_job *j)
{
    if (j->on)
        cli_progress_end(&j->p);
    j->on = 0;
}
