/* example_audit.c - audit images through include/mint.h only, as `mint audit`
 * does: were these images used to train the network? Prints each image's
 * membership score, the identity-level p-value and the verdict, and writes
 * an HTML report.
 *   make install PREFIX=$HOME/.local    (or DESTDIR=... for a staged copy)
 *   cc -std=c11 docs/example_audit.c $(pkg-config --cflags --libs mint) -o example_audit
 *   ./example_audit net.mint t.mint report.html PERSON_FOLDER   (t.mint: `mint train`) */
#include <stdio.h>
#include <mint.h>

static void note(void *ctx, mint_msg_kind kind, const char *text)
{
    (void)ctx, (void)kind;
    fprintf(stderr, "note: %s\n", text);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: example_audit NETWORK.mint MINT.mint REPORT.html IMAGES...\n");
        return 2;
    }
    mint_audit_run_opts o;
    mint_audit_run_defaults(&o); /* alpha 0.05, identities chosen as `mint audit` does */
    o.model = argv[1], o.mint = argv[2], o.report[0] = argv[3];
    o.images = (const char *const *)argv + 4, o.n_images = argc - 4;
    o.message = note;
    mint_audit_run_result r;
    mint_status st = mint_audit_run(&o, &r);
    if (st != MINT_OK) {
        fprintf(stderr, "example_audit: %s: %s\n", mint_strerror(st), mint_last_error());
        return 1;
    }
    for (size_t i = 0; i < r.report.n_images; i++)
        printf("%-40s %.4f\n", r.report.images[i].file, r.report.images[i].score);
    if (r.report.set)
        printf("%zu audited identit%s, p = %.4g against %zu reference ones\n", r.report.set->m,
               r.report.set->m == 1 ? "y" : "ies", r.report.set->p, r.report.set->K);
    printf("verdict: %s\nreport: %s\n", r.report.verdict, r.written[0]);
    mint_audit_run_result_free(&r);
    return 0;
}
