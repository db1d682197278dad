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

/* ---- `mint audit` ---- */
typedef struct {
    const char *file;    /* as given on the command line */
    const char *sha256;  /* hex SHA-256 of the image file; NULL if unknown */
    double score;        /* membership score in [0,1]; NaN when it failed */
    const char *error;   /* NULL, or why there is no score */
    const char *duplicate_of; /* NULL, or the earlier file with the same bytes (not
                               * counted again in the set-level test) */
} mint_report_image;

/* One audited identity of the set-level test. */
typedef struct {
    const char *name;     /* identity (label, folder or file) */
    size_t n;             /* its scored distinct images */
    double t;             /* mean logit */
    double p;             /* its own p-value against the reference identities */
    double percentile;    /* fraction of reference identities whose value is below t */
} mint_report_identity;

/* The set-level test as the report shows it (plain data: the statistics
 * are computed in mint/idtest.c). */
typedef struct {
    const char *test;          /* the test's name */
    const char *unit;          /* how images were grouped into identities */
    size_t m, n_images;        /* audited identities, images */
    size_t K, K_images;        /* reference identities, images */
    double p, p_min;           /* p-value and its resolution */
    int evidence;              /* p < alpha and p_min <= alpha */
    double t_set, t_ref;       /* audited and reference statistic (mean logits) */
    double effect;             /* percentile (m = 1) or pairwise superiority (m >= 2) */
    const char *effect_name;
    double welch_t, welch_df, welch_p; /* m >= 2, NaN otherwise */
    const mint_report_identity *ids;
    size_t n_ids;
    /* the MINT model's own validated quality (mint eval --store) */
    int has_quality;
    double q_auc, q_tpr_1pct;
    size_t q_members, q_external;
    const char *q_data, *q_date;
} mint_report_settest;

typedef struct {
    const char *mint_version;            /* NULL = MINT_VERSION */
    const char *created;                 /* ISO-8601 UTC; NULL = now */
    const char *model_path, *model_sha256; /* the audited network */
    const char *mint_path, *mint_sha256;   /* the MINT (auditing) model */
    const char *mint_kind;               /* "vanilla", "cnn", "outcome"; may be NULL */
    const char *reference;               /* where the reference scores came from */
    double threshold;                    /* per-image decision threshold; NaN = none */
    double alpha;                        /* level of the verdict, e.g. 0.05 */
    const mint_report_image *images;
    size_t n_images;
    const mint_report_settest *set;         /* NULL if no set-level test was run */
    const char *audited;                 /* what was audited, e.g. "1 identity
                                          * (Some_Person, 10 images)"; may be NULL */
    const char *verdict;                 /* the verdict sentence (required with set) */
    const char *const *notes;            /* n_notes warnings the reader must see */
    size_t n_notes;
} mint_report_audit;

mint_status mint_report_audit_json(base_strbuf *out, const mint_report_audit *r);
mint_status mint_report_audit_html(base_strbuf *out, const mint_report_audit *r);
/* HTML when path ends in .html or .htm (any case), JSON otherwise. */
mint_status mint_report_audit_write(const char *path, const mint_report_audit *r);

#endif
