/* report.c - eval JSON, audit report in JSON and HTML (see report.h).
 * Everything is rendered into a memory buffer first (base/json.h) and then
 * written in one go with base_write_file_atomic, so a reader never sees half
 * a report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mint/report.h"

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static mint_status finish_buf(base_strbuf *out, const char *what)
{
    if (out->oom) {
        base_strbuf_free(out);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", what);
    }
    return MINT_OK;
}

/* ---- eval JSON ---- */

static void json_at_threshold(base_json *j, const char *key, double thr, const mint_confusion *c)
{
    base_json_object_begin(j, key);
    base_json_number(j, "threshold", thr);
    base_json_number(j, "balanced_accuracy", mint_confusion_bacc(c));
    base_json_number(j, "accuracy", mint_confusion_acc(c));
    base_json_number(j, "tpr", mint_confusion_tpr(c));
    base_json_number(j, "tnr", mint_confusion_tnr(c));
    base_json_object_begin(j, "confusion");
    base_json_uint(j, "tp", c->tp);
    base_json_uint(j, "fn", c->fn);
    base_json_uint(j, "fp", c->fp);
    base_json_uint(j, "tn", c->tn);
    base_json_object_end(j);
    base_json_object_end(j);
}

mint_status mint_report_eval_render(base_strbuf *out, const mint_eval_result *e,
                                  const mint_report_eval_meta *meta)
{
    if (!out || !e)
        return mint_fail(MINT_E_ARG, "mint_report_eval_render: NULL argument");
    memset(out, 0, sizeof *out);
    mint_report_eval_meta none = { 0 };
    if (!meta)
        meta = &none;
    char now[32];
    base_utc_now(now);
    base_json j;
    base_json_init(&j, 2);
    base_json_object_begin(&j, NULL);
    base_json_string(&j, "report", "mint eval");
    base_json_string(&j, "mint_version", MINT_VERSION);
    base_json_string(&j, "created", meta->created ? meta->created : now);
    base_json_object_begin(&j, "mint_model");
    base_json_string(&j, "path", meta->mint_path);
    base_json_string(&j, "sha256", meta->mint_sha256);
    base_json_object_end(&j);
    base_json_object_begin(&j, "data");
    base_json_string(&j, "members", meta->members);
    base_json_string(&j, "external", meta->external);
    base_json_uint(&j, "n", e->n);
    base_json_uint(&j, "n_members", e->n_members);
    base_json_uint(&j, "n_external", e->n_external);
    base_json_object_end(&j);
    base_json_number(&j, "auc", e->auc);
    json_at_threshold(&j, "at_threshold_0_5", 0.5, &e->cm_05);
    if (isnan(e->train_threshold))
        base_json_null(&j, "at_training_threshold");
    else
        json_at_threshold(&j, "at_training_threshold", e->train_threshold, &e->cm_train_thr);
    base_json_array_begin(&j, "tpr_at_fpr");
    for (int k = 0; k < MINT_EVAL_NFPR; k++) {
        base_json_object_begin(&j, NULL);
        base_json_number(&j, "target_fpr", e->fpr_target[k]);
        base_json_number(&j, "tpr", e->tpr_at_fpr[k]);
        base_json_number(&j, "threshold", e->thr_at_fpr[k]); /* +inf (no threshold) -> null */
        base_json_number(&j, "achieved_fpr", e->fpr_achieved[k]);
        base_json_object_end(&j);
    }
    base_json_array_end(&j);
    base_json_number(&j, "fpr_resolution", e->fpr_step);
    base_json_string(&j, "tpr_at_fpr_convention",
                   "highest TPR among ROC points with FPR <= target, no interpolation; "
                   "member iff score >= threshold; threshold null = no threshold reaches it");
    base_json_string(&j, "roc_png", meta->roc_png);
    base_json_array_begin(&j, "notes");
    for (size_t i = 0; i < meta->n_notes; i++)
        base_json_string(&j, NULL, meta->notes[i]);
    base_json_array_end(&j);
    base_json_object_end(&j);
    mint_status st = base_json_finish(&j);
    if (st != MINT_OK) {
        base_json_free(&j);
        return st;
    }
    *out = j.out;
    return MINT_OK;
}

mint_status mint_report_eval_write(const char *path, const mint_eval_result *e,
                                 const mint_report_eval_meta *meta)
{
    if (!path)
        return mint_fail(MINT_E_ARG, "mint_report_eval_write: NULL path");
    base_strbuf b;
    mint_status st = mint_report_eval_render(&b, e, meta);
    if (st == MINT_OK)
        st = base_write_file_atomic(path, b.p, b.len);
    base_strbuf_free(&b);
    return st;
}

/* ---- audit report ---- */

static const char *verdict_of(const mint_audit_report *r, char *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    if (r->verdict)
        return r->verdict;
    return r->set ? "no verdict given" : "no set-level test was run";
}

/* p-values in reports: "0.0003", "0.41", "1.2e-09". */
static void fmt_p(char *buf, size_t cap, double p)
{
    if (isnan(p))
        snprintf(buf, cap, "n/a");
    else if (p < 1e-300)
        snprintf(buf, cap, "< 1e-300");
    else
        snprintf(buf, cap, "%.2g", p);
}

static mint_status check_audit(const mint_audit_report *r, const char *who)
{
    if (!r || (r->n_images && !r->images))
        return mint_fail(MINT_E_ARG, "%s: NULL report or images", who);
    if (r->set && !(r->alpha > 0 && r->alpha < 1))
        return mint_fail(MINT_E_ARG, "%s: alpha %g outside (0, 1)", who, r->alpha);
    return MINT_OK;
}

mint_status mint_report_audit_json(base_strbuf *out, const mint_audit_report *r)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_report_audit_json: NULL output");
    memset(out, 0, sizeof *out);
    mint_status st = check_audit(r, "mint_report_audit_json");
    if (st != MINT_OK)
        return st;
    char now[32], vbuf[512];
    base_utc_now(now);
    const mint_audit_settest *t = r->set;
    base_json j;
    base_json_init(&j, 2);
    base_json_object_begin(&j, NULL);
    base_json_string(&j, "report", "mint audit");
    base_json_string(&j, "mint_version", r->mint_version ? r->mint_version : MINT_VERSION);
    base_json_string(&j, "created", r->created ? r->created : now);
    base_json_object_begin(&j, "model");
    base_json_string(&j, "path", r->model_path);
    base_json_string(&j, "sha256", r->model_sha256);
    base_json_object_end(&j);
    base_json_object_begin(&j, "mint_model");
    base_json_string(&j, "path", r->mint_path);
    base_json_string(&j, "sha256", r->mint_sha256);
    base_json_string(&j, "kind", r->mint_kind);
    base_json_object_end(&j);
    base_json_string(&j, "verdict", verdict_of(r, vbuf, sizeof vbuf));
    base_json_array_begin(&j, "notes");
    for (size_t i = 0; i < r->n_notes; i++)
        base_json_string(&j, NULL, r->notes[i]);
    base_json_array_end(&j);
    if (r->audited)
        base_json_string(&j, "audited", r->audited);
    if (t) {
        base_json_object_begin(&j, "set_test");
        base_json_string(&j, "test", t->test);
        base_json_string(&j, "hypotheses",
                       "H0: the audited identities are exchangeable with reference identities "
                       "that are known non-members (their mean logits come from the same law); "
                       "H1: the audited identities score higher");
        base_json_string(&j, "unit", t->unit);
        base_json_uint(&j, "identities", t->m);
        base_json_uint(&j, "images", t->n_images);
        base_json_uint(&j, "reference_identities", t->K);
        base_json_uint(&j, "reference_images", t->K_images);
        base_json_string(&j, "reference", r->reference);
        base_json_number(&j, "p_value", t->p);
        base_json_number(&j, "p_min", t->p_min);
        base_json_number(&j, "alpha", r->alpha);
        base_json_bool(&j, "evidence", t->evidence);
        base_json_number(&j, "statistic", t->t_set);
        base_json_number(&j, "reference_statistic", t->t_ref);
        base_json_number(&j, "effect", t->effect);
        base_json_string(&j, "effect_name", t->effect_name);
        if (!isnan(t->welch_p)) {
            base_json_object_begin(&j, "welch");
            base_json_number(&j, "t", t->welch_t);
            base_json_number(&j, "df", t->welch_df);
            base_json_number(&j, "p_value", t->welch_p);
            base_json_object_end(&j);
        }
        base_json_array_begin(&j, "per_identity");
        for (size_t i = 0; i < t->n_ids; i++) {
            const mint_audit_identity *id = &t->ids[i];
            base_json_object_begin(&j, NULL);
            base_json_string(&j, "identity", id->name);
            base_json_uint(&j, "images", id->n);
            base_json_number(&j, "mean_logit", id->t);
            base_json_number(&j, "p_value", id->p);
            base_json_number(&j, "percentile", id->percentile);
            base_json_object_end(&j);
        }
        base_json_array_end(&j);
        base_json_object_end(&j);
        base_json_object_begin(&j, "mint_model_quality");
        if (t->has_quality) {
            base_json_number(&j, "auc", t->q_auc);
            base_json_number(&j, "tpr_at_1pct_fpr", t->q_tpr_1pct);
            base_json_uint(&j, "members", t->q_members);
            base_json_uint(&j, "external", t->q_external);
            base_json_string(&j, "data", t->q_data);
            base_json_string(&j, "date", t->q_date);
        } else {
            base_json_string(&j, "status", "not validated (mint eval --store)");
        }
        base_json_object_end(&j);
    } else {
        base_json_null(&j, "set_test");
    }
    base_json_number(&j, "threshold", r->threshold);
    base_json_array_begin(&j, "images");
    for (size_t i = 0; i < r->n_images; i++) {
        const mint_audit_image *im = &r->images[i];
        base_json_object_begin(&j, NULL);
        base_json_string(&j, "file", im->file);
        base_json_string(&j, "sha256", im->sha256);
        base_json_number(&j, "score", im->score);
        if (!isnan(r->threshold) && !isnan(im->score))
            base_json_bool(&j, "above_threshold", im->score >= r->threshold);
        if (im->error)
            base_json_string(&j, "error", im->error);
        if (im->duplicate_of)
            base_json_string(&j, "duplicate_of", im->duplicate_of);
        base_json_object_end(&j);
    }
    base_json_array_end(&j);
    base_json_object_end(&j);
    st = base_json_finish(&j);
    if (st != MINT_OK) {
        base_json_free(&j);
        return st;
    }
    *out = j.out;
    return MINT_OK;
}

static const char html_css[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;"
    "margin:2em auto;max-width:64em;padding:0 1em;color:#222;line-height:1.45}"
    "h1{font-size:1.6em;margin-bottom:.1em}h2{font-size:1.2em;margin-top:1.6em}"
    ".sub{color:#666;margin-top:0}"
    ".verdict{padding:1em 1.2em;border-radius:6px;font-size:1.15em;margin:1.2em 0;"
    "border-left:6px solid #888;background:#f3f3f3}"
    ".verdict.yes{background:#fdecea;border-color:#c62828}"
    ".verdict.no{background:#eef5ee;border-color:#2e7d32}"
    "table{border-collapse:collapse;width:100%;margin:.4em 0 1em}"
    "th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e3e3e3;vertical-align:top}"
    "th{background:#f7f7f7;font-weight:600}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".hash,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;"
    "word-break:break-all}"
    /* an image's SHA-256 on one line, cut to the cell with an ellipsis: the
     * full hash stays in the text (copy) and the title (hover); wrapped, it
     * made each row 13 lines tall */
    ".sha{display:inline-block;max-width:9em;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap;vertical-align:bottom;word-break:normal}"
    ".bar{background:#e8e8e8;width:7em;height:.75em;border-radius:3px;overflow:hidden;"
    "display:inline-block;vertical-align:middle;margin-left:.5em}"
    ".bar span{display:block;height:100%;background:#1f5fbf}"
    ".note{color:#555;font-size:.92em}.err{color:#b00020}";

static void html_row(base_strbuf *b, const char *th, const char *td_text, int mono)
{
    base_strbuf_puts(b, "<tr><th>");
    base_strbuf_html_escape(b, th);
    base_strbuf_puts(b, mono ? "</th><td class=\"hash\">" : "</th><td>");
    if (td_text)
        base_strbuf_html_escape(b, td_text);
    else
        base_strbuf_puts(b, "&mdash;");
    base_strbuf_puts(b, "</td></tr>\n");
}

/* The page's head and title. */
static void html_head(base_strbuf *b, const mint_audit_report *r, const char *now)
{
    base_strbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>mint audit report</title>\n<style>");
    base_strbuf_puts(b, html_css);
    base_strbuf_puts(b, "</style>\n</head>\n<body>\n<h1>Membership audit report</h1>\n"
                      "<p class=\"sub\">mint ");
    base_strbuf_html_escape(b, r->mint_version ? r->mint_version : MINT_VERSION);
    base_strbuf_puts(b, " &middot; ");
    base_strbuf_html_escape(b, r->created ? r->created : now);
    base_strbuf_puts(b, "</p>\n");
}

/* The verdict box (with the MINT model's strength) and the notes. */
static void html_verdict(base_strbuf *b, const mint_audit_report *r)
{
    const mint_audit_settest *t = r->set;
    char vbuf[512];
    const char *cls = !t ? "" : t->evidence ? " yes" : " no";
    base_strbuf_printf(b, "<div class=\"verdict%s\">", cls);
    if (r->audited) {
        base_strbuf_puts(b, "<strong>Audited:</strong> ");
        base_strbuf_html_escape(b, r->audited);
        base_strbuf_puts(b, "<br>");
    }
    base_strbuf_puts(b, "<strong>Verdict:</strong> ");
    base_strbuf_html_escape(b, verdict_of(r, vbuf, sizeof vbuf));
    if (t) {
        base_strbuf_puts(b, "<br><span class=\"note\"><strong>Strength of the MINT model:</strong> ");
        if (t->has_quality)
            base_strbuf_printf(b, "held-out AUC %.3f, TPR %.3f at 1%% FPR, on %zu members and %zu "
                                "external samples",
                             t->q_auc, t->q_tpr_1pct, t->q_members, t->q_external);
        else
            base_strbuf_puts(b, "never validated on held-out data (run mint eval --store): the "
                              "verdict cannot be weighed against it");
        base_strbuf_puts(b, "</span>");
    }
    base_strbuf_puts(b, "</div>\n");
    if (r->n_notes) {
        base_strbuf_puts(b, "<h2>Notes</h2>\n<ul>\n");
        for (size_t i = 0; i < r->n_notes; i++) {
            base_strbuf_puts(b, "<li>");
            base_strbuf_html_escape(b, r->notes[i]);
            base_strbuf_puts(b, "</li>\n");
        }
        base_strbuf_puts(b, "</ul>\n");
    }
}

/* The set-level test's table. */
static void html_settest(base_strbuf *b, const mint_audit_report *r, const mint_audit_settest *t)
{
    char vbuf[512], num[64], num2[64];
    base_strbuf_puts(b, "<h2>Set-level test</h2>\n<table>\n");
    html_row(b, "Test", t->test, 0);
    html_row(b, "Hypotheses",
             "H0: the audited identities score like reference identities known not to be "
             "members; H1: they score higher (one-sided)", 0);
    html_row(b, "Identities", t->unit, 0);
    snprintf(vbuf, sizeof vbuf, "%zu identit%s, %zu image%s", t->m, t->m == 1 ? "y" : "ies",
             t->n_images, t->n_images == 1 ? "" : "s");
    html_row(b, "Audited", vbuf, 0);
    snprintf(vbuf, sizeof vbuf, "%zu identit%s, %zu image%s", t->K, t->K == 1 ? "y" : "ies",
             t->K_images, t->K_images == 1 ? "" : "s");
    html_row(b, "Reference", vbuf, 0);
    html_row(b, "Reference source", r->reference, 0);
    snprintf(vbuf, sizeof vbuf, "%.4f (reference: %.4f)", t->t_set, t->t_ref);
    html_row(b, "Statistic (mean logit)", vbuf, 0);
    snprintf(vbuf, sizeof vbuf, "%.4f", t->effect);
    html_row(b, t->effect_name, vbuf, 0);
    fmt_p(num, sizeof num, t->p);
    html_row(b, "p-value (one-sided)", num, 0);
    fmt_p(num, sizeof num, t->p_min);
    html_row(b, "Resolution (smallest p possible)", num, 0);
    snprintf(num, sizeof num, "%g", r->alpha);
    html_row(b, "Significance level", num, 0);
    if (!isnan(t->welch_p)) {
        fmt_p(num2, sizeof num2, t->welch_p);
        snprintf(vbuf, sizeof vbuf, "t = %.3f, df = %.1f, p = %s (for comparison)", t->welch_t,
                 t->welch_df, num2);
        html_row(b, "Welch's t-test on identity means", vbuf, 0);
    }
    base_strbuf_puts(b, "</table>\n");
}

/* One row per audited identity, when there are several (else nothing). */
static void html_identities(base_strbuf *b, const mint_audit_settest *t)
{
    char num[64];
    if (t->n_ids > 1) {
        base_strbuf_puts(b, "<h2>Identities</h2>\n<table>\n<tr><th>Identity</th><th>Images</th>"
                          "<th>Mean logit</th><th>Percentile</th><th>Own p-value</th></tr>\n");
        for (size_t i = 0; i < t->n_ids; i++) {
            const mint_audit_identity *id = &t->ids[i];
            base_strbuf_puts(b, "<tr><td>");
            base_strbuf_html_escape(b, id->name);
            fmt_p(num, sizeof num, id->p);
            base_strbuf_printf(b, "</td><td class=\"num\">%zu</td><td class=\"num\">%.4f</td>"
                                "<td class=\"num\">%.3f</td><td class=\"num\">%s</td></tr>\n",
                             id->n, id->t, id->percentile, num);
        }
        base_strbuf_puts(b, "</table>\n<p class=\"note\">Per-identity p-values are not "
                          "corrected for multiplicity; the verdict is the set-level test.</p>\n");
    }
}

/* Where the model, the MINT model and the report came from. */
static void html_provenance(base_strbuf *b, const mint_audit_report *r, const char *now)
{
    base_strbuf_puts(b, "<h2>Provenance</h2>\n<table>\n");
    html_row(b, "Audited model", r->model_path, 0);
    html_row(b, "Audited model SHA-256", r->model_sha256, 1);
    html_row(b, "MINT model", r->mint_path, 0);
    html_row(b, "MINT model SHA-256", r->mint_sha256, 1);
    if (r->mint_kind)
        html_row(b, "MINT model kind", r->mint_kind, 0);
    html_row(b, "mint version", r->mint_version ? r->mint_version : MINT_VERSION, 0);
    html_row(b, "Date (UTC)", r->created ? r->created : now, 0);
    base_strbuf_puts(b, "</table>\n");
}

/* One row per image: file, SHA-256, score, threshold, duplicate. */
static void html_images(base_strbuf *b, const mint_audit_report *r)
{
    const mint_audit_settest *t = r->set;
    int any_dup = 0;
    for (size_t i = 0; i < r->n_images; i++)
        any_dup |= r->images[i].duplicate_of != NULL;
    base_strbuf_printf(b, "<h2>Images (%zu)</h2>\n<table>\n<tr><th>#</th><th>File</th>"
                        "<th>SHA-256</th><th>Score</th>%s%s%s</tr>\n",
                     r->n_images, isnan(r->threshold) ? "" : "<th>Above threshold</th>",
                     t ? "<th>Above reference 95th pct.</th>" : "",
                     any_dup ? "<th>Duplicate</th>" : "");
    for (size_t i = 0; i < r->n_images; i++) {
        const mint_audit_image *im = &r->images[i];
        base_strbuf_printf(b, "<tr><td class=\"num\">%zu</td><td>", i + 1);
        base_strbuf_html_escape(b, im->file);
        base_strbuf_puts(b, "</td><td class=\"hash\"><span class=\"sha\" title=\"");
        base_strbuf_html_escape(b, im->sha256 ? im->sha256 : "");
        base_strbuf_puts(b, "\">");
        base_strbuf_html_escape(b, im->sha256 ? im->sha256 : "");
        base_strbuf_puts(b, "</span></td>");
        if (isnan(im->score)) {
            base_strbuf_puts(b, "<td class=\"err\">");
            base_strbuf_html_escape(b, im->error ? im->error : "no score");
            base_strbuf_puts(b, "</td>");
            if (!isnan(r->threshold))
                base_strbuf_puts(b, "<td></td>");
            if (any_dup)
                base_strbuf_puts(b, "<td></td>");
        } else {
            double w = im->score < 0 ? 0 : im->score > 1 ? 100 : 100 * im->score;
            base_strbuf_printf(b, "<td class=\"num\">%.4f<span class=\"bar\"><span "
                                "style=\"width:%.1f%%\"></span></span></td>",
                             im->score, w);
            if (!isnan(r->threshold))
                base_strbuf_printf(b, "<td>%s</td>", im->score >= r->threshold ? "yes" : "no");
            if (im->duplicate_of) {
                base_strbuf_puts(b, "<td class=\"err\">same bytes as ");
                base_strbuf_html_escape(b, im->duplicate_of);
                base_strbuf_puts(b, ": counted once</td>");
            } else if (any_dup) {
                base_strbuf_puts(b, "<td></td>");
            }
        }
        base_strbuf_puts(b, "</tr>\n");
    }
    base_strbuf_puts(b, "</table>\n");
}

mint_status mint_report_audit_html(base_strbuf *out, const mint_audit_report *r)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_report_audit_html: NULL output");
    memset(out, 0, sizeof *out);
    mint_status st = check_audit(r, "mint_report_audit_html");
    if (st != MINT_OK)
        return st;
    char now[32];
    base_utc_now(now);
    const mint_audit_settest *t = r->set;
    base_strbuf *b = out;
    html_head(b, r, now);
    html_verdict(b, r);
    if (t) { /* set-level test */
        html_settest(b, r, t);
        html_identities(b, t);
    }
    html_provenance(b, r, now);
    html_images(b, r);
    base_strbuf_puts(b,
        "<h2>How to read this report</h2>\n<p class=\"note\">Each image gets a membership "
        "score from the MINT auditing model, which looks at the audited network's internal "
        "activations; a high score means the activations look like those of training data. "
        "A single score is noisy, and photos of one person are not independent witnesses, so "
        "the verdict rests on identities: each audited person's mean score (logit) is ranked "
        "among the mean scores of reference people known not to have been used in training "
        "and never seen by the auditing model. The p-value is the chance of a score at least "
        "this high if the person had not been used; it can be no smaller than 1/(K+1) with K "
        "reference people. A small p-value is evidence of use; a large one is only absence "
        "of evidence, since the auditing model may simply not detect it - weigh it against "
        "the auditing model's own held-out AUC shown beside the verdict.</p>\n</body>\n</html>\n");
    return finish_buf(out, "mint_report_audit_html");
}

mint_status mint_report_audit_write(const char *path, const mint_audit_report *r)
{
    if (!path)
        return mint_fail(MINT_E_ARG, "mint_report_audit_write: NULL path");
    base_strbuf b;
    int html = ends_with_ci(path, ".html") || ends_with_ci(path, ".htm");
    mint_status st = html ? mint_report_audit_html(&b, r) : mint_report_audit_json(&b, r);
    if (st == MINT_OK)
        st = base_write_file_atomic(path, b.p, b.len);
    base_strbuf_free(&b);
    return st;
}
