/* cmd_audit.c - `mint eval` (metrics of a MINT model on held-out features)
 * and `mint audit` (membership scores of images + set-level verdict + report).
 * The work is in mint/audit.c; this file parses, prints and picks exit codes. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "mint/audit.h"

const char cli_help_eval[] =
    "usage: mint eval --mint T.mint --members A --external B --json OUT.json\n"
    "                 [--roc ROC.png] [--taps t1,t2,...] [--store] [--threads N]\n"
    "Evaluate a trained MINT model on held-out data (not the data T was trained on):\n"
    "members A (training data of the audited network) and external data B. Prints\n"
    "and writes balanced accuracy at 0.5 and at the threshold T chose on its\n"
    "training data, AUC, TPR at 1% and 0.1% FPR, and the confusion matrix at each\n"
    "threshold. Features from another network than the one T was trained for\n"
    "(per the extract.txt of 'mint extract' outputs) are refused. Warnings (stderr\n"
    "and the JSON's notes): members or external samples that T was trained on (their\n"
    "index.csv SHA-256 against the images T records), or that this could not be\n"
    "checked (no index.csv, or T records no images); features whose network nothing\n"
    "checks (no extract.txt saying it).\n"
    "  --mint T        the MINT model ('mint train --out')\n"
    "  --members A     features as for 'mint train': a .npy file ([N,F], [N,C,H,W]\n"
    "  --external B    reduced to per-channel maxima unless T is a CNN MINT) or a\n"
    "                  directory written by 'mint extract' (one <tap>.npy per tap)\n"
    "  --json OUT      the metrics as JSON\n"
    "  --roc PNG       ROC curve plot, linear and log-FPR axes (the log axis starts\n"
    "                  at the resolution 1/external samples)\n"
    "  --store         record the AUC, TPR at 1% FPR, balanced accuracy and the data\n"
    "                  sizes in T itself (rewritten in place, temp name + rename), so\n"
    "                  that 'mint audit' shows the auditing model's validated strength\n"
    "                  beside every verdict. Use held-out data only\n"
    "  --taps LIST     taps read from directories, in this order (default: the taps\n"
    "                  recorded in T; if T records none, chosen as 'mint train' does\n"
    "                  from the extract.txt of the --members directory)\n"
    "  --threads N     OpenMP threads (default: all cores)\n"
    "The feature size must be the one T was trained on. Outputs are written to a\n"
    "temporary name and renamed into place.\n";

const char cli_help_audit[] =
    "usage: mint audit --model M.mint --mint T.mint --report OUT.json|OUT.html\n"
    "                  [--landmarks CSV] [--reference B] [--alpha A] [--taps LIST]\n"
    "                  [--identity auto|one|labels|image]\n"
    "                  [--batch N] [--threads N] IMAGES...\n"
    "Were these images used to train the network M? Each image is decoded, aligned\n"
    "(5 landmarks -> ArcFace 112x112), normalised and run through M; its features\n"
    "are computed as the MINT model T's training features were (per-channel maxima\n"
    "of T's taps, concatenated; the embedding for an outcome model; the raw map of\n"
    "one tap for a CNN MINT) and T gives a membership score in [0,1] (1 = member).\n"
    "Photos of one person are not independent, so the set-level test works on\n"
    "identities: each audited person's mean logit is ranked among those of the\n"
    "reference identities - people known not to be members and never seen by T -\n"
    "each averaged over as many of its images (min(n, n_k)); p = (1 + #reference\n"
    "identities at or above) / (1 + K). Several audited identities are tested\n"
    "together by a permutation test over identities (docs/audit-statistics.md).\n"
    "A small p-value is evidence that the images were used in training; a large\n"
    "one is no proof that they were not. No verdict is given when the reference\n"
    "is too small to reach alpha (K < 1/alpha - 1 identities). The report shows\n"
    "T's held-out AUC and TPR at 1% FPR ('mint eval --store') beside the verdict.\n"
    "  IMAGES          image files (.jpg, .jpeg, .png) and/or folders (every such\n"
    "                  image below them, sorted)\n"
    "  --model M       the audited network (a mint weight file, see 'mint convert')\n"
    "  --mint T        the MINT model trained on M's activations ('mint train')\n"
    "  --report OUT    the report: self-contained HTML if OUT ends in .html or .htm,\n"
    "                  JSON otherwise; it carries the SHA-256 of M, of T and of every\n"
    "                  image, the mint version, the date, per-image scores, T's\n"
    "                  threshold, the test and the verdict\n"
    "  --landmarks CSV 5-point landmarks (as for 'mint extract', looked up by file\n"
    "                  name); images without a row must already be M's input size\n"
    "  --reference B   features of known external data (a .npy file or a 'mint\n"
    "                  extract' directory with T's taps; identities from its index.csv\n"
    "                  labels), scored by T, as the reference; default: the calibration\n"
    "                  stored in T, the external identities held out of its training\n"
    "                  ('mint train --holdout', default 0.1 of the identities); a model\n"
    "                  trained with --holdout 0 stores training samples, which makes the\n"
    "                  test claim membership too often: give --reference for such a model\n"
    "  --alpha A       level of the verdict, 0 < A < 1 (default 0.05)\n"
    "  --identity U    how images are grouped into identities: auto (default: a folder\n"
    "                  without sub-folders is one person, named after the folder;\n"
    "                  sub-folders are one person each; image files given one by one are\n"
    "                  one person each, with a warning that the p-value then assumes\n"
    "                  independent images), one (every image is of one person), labels\n"
    "                  (sub-folders and folders), image\n"

    "  --taps LIST     the taps T's features came from, if T does not record them\n"
    "  --batch N       images per forward pass (default 16)\n"
    "  --threads N     OpenMP threads (default: all cores)\n"
    "Images that cannot be read or aligned get a row with the reason in the report\n"
    "and are left out of the test; an image whose bytes (SHA-256) repeat an earlier\n"
    "one is scored but counted once. Refused up front: a network M other than the\n"
    "one T was trained for, and a --reference extracted with another network (when\n"
    "T and the reference's extract.txt record them; the report notes when T does\n"
    "not), landmarks with a network whose input is not 112x112, a MINT model whose\n"
    "feature size does not match M's taps, no --reference with a MINT model that\n"
    "has no calibration scores. The report notes audited images that T was trained\n"
    "on or holds as its reference (by SHA-256, when T records its images).\n"
    "Exit status: 0 report written, 1 failure or no image could be scored, 2 usage\n"
    "(an IMAGES path that does not exist is one: nothing is written).\n";

static void audit_progress(void *ctx, size_t done, size_t total)
{
    cli_job_progress(ctx, done, total, 0, -1);
}

/* --taps LIST -> items (NULL/0 when not given). */
static int parse_taps(const char *cmd, const char *s, char **taps, char **buf, int *ntaps)
{
    *ntaps = 0;
    *buf = NULL;
    if (!s)
        return CLI_OK;
    *ntaps = cli_split(s, taps, MINT_FEATS_MAX_TAPS, buf);
    if (*ntaps < 0)
        return cli_usage_error(cmd, "--taps wants 1..%d comma-separated names",
                               MINT_FEATS_MAX_TAPS);
    return CLI_OK;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mint", required_argument, 0, 'M' },     { "members", required_argument, 0, 'm' },
        { "external", required_argument, 0, 'e' }, { "json", required_argument, 0, 'j' },
        { "roc", required_argument, 0, 'r' },      { "taps", required_argument, 0, 't' },
        { "threads", required_argument, 0, 'T' },  { "help", no_argument, 0, 'h' },
        { "store", no_argument, 0, 's' },
        { 0, 0, 0, 0 },
    };
    const char *mint = NULL, *mem = NULL, *ext = NULL, *json = NULL, *roc = NULL, *taps_s = NULL;
    int threads = 0, o, store = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'M': mint = optarg; break;
        case 'm': mem = optarg; break;
        case 'e': ext = optarg; break;
        case 'j': json = optarg; break;
        case 'r': roc = optarg; break;
        case 't': taps_s = optarg; break;
        case 'T':
            if ((threads = cli_int(optarg, 1, 4096)) < 0)
                return cli_usage_error("eval", "--threads wants a positive integer");
            break;
        case 's': store = 1; break;
        case 'h': fputs(cli_help_eval, stdout); return CLI_OK;
        default: return cli_usage_error("eval", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!mint || !mem || !ext || !json)
        return cli_usage_error("eval", "needs --mint, --members, --external and --json");
    char *taps[MINT_FEATS_MAX_TAPS], *tbuf;
    int ntaps, rc = parse_taps("eval", taps_s, taps, &tbuf, &ntaps);
    free(tbuf);
    if (rc)
        return rc;
    cli_set_threads(threads);
    mint_eval_run_opts eo;
    mint_eval_run_defaults(&eo);
    eo.mint = mint, eo.members = mem, eo.external = ext, eo.taps = taps_s;
    eo.json = json, eo.roc_png = roc, eo.store = store;
    mint_eval_run_result s;
    mint_status st = mint_eval_run(&eo, &s);
    if (st)
        return cli_error("eval", st);
    for (size_t i = 0; i < s.n_notes; i++)
        fprintf(stderr, "mint eval: warning: %s\n", s.notes[i]);
    const mint_eval_result *e = &s.m;
    printf("%s (%s MINT, sha256 %.16s...) on %zu members + %zu external%s%s:\n", mint, s.kind,
           s.mint_sha256, e->n_members, e->n_external, s.taps[0] ? ", taps " : "", s.taps);
    char lab[64];
    printf("  %-32s %.4f\n", "AUC", e->auc);
    printf("  %-32s %.4f   (accuracy %.4f)\n", "balanced accuracy at 0.5", e->bacc_05, e->acc_05);
    if (s.has_train_threshold) {
        snprintf(lab, sizeof lab, "balanced accuracy at %.4f", e->train_threshold);
        printf("  %-32s %.4f   (accuracy %.4f; threshold chosen on T's training data)\n", lab,
               e->bacc_train_thr, e->acc_train_thr);
    } else {
        printf("  (T has no calibration data, so no training threshold)\n");
    }
    for (int k = 0; k < MINT_EVAL_NFPR; k++) {
        snprintf(lab, sizeof lab, "TPR at %g%% FPR", 100 * e->fpr_target[k]);
        printf("  %-32s %.4f", lab, e->tpr_at_fpr[k]);
        if (e->fpr_step > e->fpr_target[k])
            printf("   (FPR moves in steps of 1/%zu here: this is the TPR at FPR 0)",
                   e->n_external);
        printf("\n");
    }
    for (int k = s.has_train_threshold ? 0 : 1; k < 2; k++) {
        const mint_confusion *c = k ? &e->cm_05 : &e->cm_train_thr;
        if (k)
            printf("  confusion at 0.5:\n");
        else
            printf("  confusion at the training threshold %.4f:\n", e->train_threshold);
        printf("                      predicted member  predicted external\n");
        printf("    member   (%6zu)  TP %-14zu FN %zu\n", e->n_members, c->tp, c->fn);
        printf("    external (%6zu)  FP %-14zu TN %zu\n", e->n_external, c->fp, c->tn);
    }
    printf("wrote %s%s%s\n", json, roc ? " and " : "", roc ? roc : "");
    if (store)
        printf("stored AUC %.4f and TPR %.4f at 1%% FPR (%zu members, %zu external) in %s "
               "(SHA-256 now %.16s...)\n", e->auc, e->tpr_at_fpr[0], e->n_members, e->n_external,
               mint, s.mint_sha256);
    return CLI_OK;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        { "model", required_argument, 0, 'm' },     { "mint", required_argument, 0, 'M' },
        { "landmarks", required_argument, 0, 'L' }, { "reference", required_argument, 0, 'r' },
        { "alpha", required_argument, 0, 'a' },     { "batch", required_argument, 0, 'b' },
        { "threads", required_argument, 0, 'T' },   { "report", required_argument, 0, 'o' },
        { "taps", required_argument, 0, 't' },      { "help", no_argument, 0, 'h' },
        { "identity", required_argument, 0, 'I' },
        { 0, 0, 0, 0 },
    };
    const char *model = NULL, *mint = NULL, *lmpath = NULL, *ref = NULL, *report = NULL;
    mint_identity_mode identity = MINT_IDENTITY_AUTO;
    const char *taps_s = NULL;
    double alpha = 0.05;
    int batch = 16, threads = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm': model = optarg; break;
        case 'M': mint = optarg; break;
        case 'L': lmpath = optarg; break;
        case 'r': ref = optarg; break;
        case 'o': report = optarg; break;
        case 't': taps_s = optarg; break;
        case 'a': {
            char *end;
            errno = 0;
            alpha = strtod(optarg, &end);
            if (!*optarg || *end || errno || !(alpha > 0 && alpha < 1))
                return cli_usage_error("audit", "--alpha wants a number between 0 and 1");
            break;
        }
        case 'b':
            if ((batch = cli_int(optarg, 1, 1024)) < 0)
                return cli_usage_error("audit", "--batch wants 1..1024");
            break;
        case 'T':
            if ((threads = cli_int(optarg, 1, 4096)) < 0)
                return cli_usage_error("audit", "--threads wants a positive integer");
            break;
        case 'I': {
            static const char *const names[] = { "auto", "one", "labels", "image" };
            int k = 0;
            while (k < 4 && strcmp(optarg, names[k]))
                k++;
            if (k == 4)
                return cli_usage_error("audit", "--identity is auto, one, labels or image");
            identity = (mint_identity_mode)k;
            break;
        }
        case 'h': fputs(cli_help_audit, stdout); return CLI_OK;
        default: return cli_usage_error("audit", "bad option");
        }
    }
    if (!model || !mint || !report)
        return cli_usage_error("audit", "needs --model, --mint and --report");
    if (optind == argc)
        return cli_usage_error("audit", "no images given (files and/or folders after the options)");
    for (int i = optind; i < argc; i++) { /* a typo is not an image that failed to read */
        struct stat sb;
        if (lstat(argv[i], &sb) && (errno == ENOENT || errno == ENOTDIR))
            return cli_usage_error("audit", "%s: no such file or folder", argv[i]);
    }
    char *taps[MINT_FEATS_MAX_TAPS], *tbuf;
    int ntaps, rc = parse_taps("audit", taps_s, taps, &tbuf, &ntaps);
    free(tbuf);
    if (rc)
        return rc;
    cli_set_threads(threads);
    mint_audit_run_opts ao;
    mint_audit_run_defaults(&ao);
    ao.model = model, ao.mint = mint, ao.landmarks = lmpath, ao.reference = ref;
    ao.images = (const char *const *)argv + optind, ao.n_images = argc - optind;
    ao.taps = taps_s, ao.alpha = alpha, ao.batch = batch, ao.identity = identity;
    ao.report[0] = report;
    cli_job job = { .cmd = "audit" };
    ao.message = cli_job_message, ao.progress = audit_progress, ao.ctx = &job;
    mint_audit_run_result res;
    mint_status st = mint_audit_run(&ao, &res);
    cli_job_end(&job);
    if (st)
        return cli_error("audit", st);
    const mint_audit_report *r = &res.report;
    const mint_audit_settest *set = r->set;
    /* one plain-language paragraph */
    printf("Audited %zu image%s against the network %s (SHA-256 %.16s...) with the %s MINT "
           "model %s (taps %s). ", r->n_images, r->n_images == 1 ? "" : "s", model,
           r->model_sha256, r->mint_kind, mint, res.taps);
    if (res.n_failed)
        printf("%zu could not be read or aligned and %s listed with the reason in the report. ",
               res.n_failed, res.n_failed == 1 ? "is" : "are");
    if (set) {
        char p[32], pm[32];
        mint_format_p(p, sizeof p, set->p);
        mint_format_p(pm, sizeof pm, set->p_min);
        printf("The %zu scored distinct image%s have a median membership score of %.3f, and %zu "
               "%s at or above the MINT model's threshold %.3f. Audited: %s. Against %zu "
               "reference identit%s (%zu images; %s), the %s gives p = %s (smallest possible "
               "%s; %s %.3f).\n",
               res.n_scored, res.n_scored == 1 ? "" : "s", res.median_score,
               res.n_above_threshold, res.n_above_threshold == 1 ? "is" : "are", r->threshold,
               r->audited, set->K, set->K == 1 ? "y" : "ies", set->K_images, r->reference,
               set->test, p, pm,
               set->m == 1 ? "percentile of the audited identity among the reference ones"
                           : "probability that an audited identity outscores a reference one",
               set->effect);
        if (set->has_quality)
            printf("MINT model strength (held out): AUC %.3f, TPR %.3f at 1%% FPR, on %zu "
                   "members + %zu external samples.\n", set->q_auc, set->q_tpr_1pct,
                   set->q_members, set->q_external);
        printf("Verdict at alpha = %g: %s.\n", alpha, r->verdict);
    } else {
        printf("Verdict: %s.\n", r->verdict);
    }
    for (size_t i = 0; i < r->n_notes; i++)
        printf("Note: %s\n", r->notes[i]);
    printf("Report: %s\n", report);
    const int none = !set;
    mint_audit_run_result_free(&res);
    if (none) {
        fprintf(stderr, "mint audit: no image could be scored; see the errors in %s\n", report);
        return CLI_FAIL;
    }
    return CLI_OK;
}
