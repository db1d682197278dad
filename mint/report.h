/* report.h - what `mint eval` and `mint audit` hand to people: the eval
 * JSON, and the audit report in JSON or as a self-contained HTML page
 * (inline CSS, no scripts, every user string escaped; text conventions of
 * base/json.h). Files are written with base_write_file_atomic. */
#ifndef MINT_MINT_REPORT_H
#define MINT_MINT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "base/file.h"
#include "base/json.h"
#include "mint/metrics.h"

/* ---- `mint eval` ---- */
typedef struct {
    const char *mint_path, *mint_sha256; /* the MINT model evaluated */
    const char *members, *external;      /* the data (paths as given) */
    const char *roc_png;                 /* ROC plot written alongside, or NULL */
    const char *created;                 /* ISO-8601 UTC; NULL = now */
    const char *const *notes;            /* warnings ("notes" array) */
    size_t n_notes;
} mint_report_eval_meta;

mint_status mint_report_eval_render(base_strbuf *out, const mint_eval_result *e,
                                  const mint_report_eval_meta *meta);
mint_status mint_report_eval_write(const char *path, const mint_eval_result *e,
                                 const mint_report_eval_meta *meta);

/* ---- `mint audit`: mint_audit_report (include/mint.h: the rows, identities and
 * set-level test it shows are public too) ---- */

mint_status mint_report_audit_json(base_strbuf *out, const mint_audit_report *r);
mint_status mint_report_audit_html(base_strbuf *out, const mint_audit_report *r);
/* HTML when path ends in .html or .htm (any case), JSON otherwise. */
mint_status mint_report_audit_write(const char *path, const mint_audit_report *r);

#endif
