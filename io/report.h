/* report.h - what `mint eval` and `mint audit` hand to people: a JSON
 * writer (RFC 8259), the eval JSON, and the audit report in JSON or as a
 * self-contained HTML page (inline CSS, no scripts, every user string
 * escaped). Files are written to "<path>.tmp.<pid>" and renamed into place.
 *
 * Text conventions: input strings are UTF-8 and pass through unchanged;
 * bytes that are not valid UTF-8 (file names on Linux can be any bytes)
 * become U+FFFD, so the output is always valid JSON / HTML. Numbers are
 * written in the shortest form that reads back to the same double (C
 * locale); NaN and +-inf become null. */
#ifndef MINT_IO_REPORT_H
#define MINT_IO_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "mint/metrics.h"

/* ---- growable text buffer ---- */
typedef struct {
    char *p;       /* NUL-terminated when len > 0 */
    size_t len, cap;
    int oom;       /* an append failed; later appends are ignored */
} io_strbuf;

void io_strbuf_free(io_strbuf *b);
void io_strbuf_add(io_strbuf *b, const char *s, size_t n);
void io_strbuf_puts(io_strbuf *b, const char *s);
void io_strbuf_printf(io_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append s escaped as the inside of a JSON string (no quotes). */
void io_strbuf_json_escape(io_strbuf *b, const char *s);
/* Append s escaped for HTML text and attribute values (& < > " '). */
void io_strbuf_html_escape(io_strbuf *b, const char *s);
/* Shortest decimal that strtod reads back as v (finite v only). */
void io_format_double(char buf[32], double v);

/* ---- JSON writer ----
 * Calls nest like the document; `key` is the member name inside an object
 * and must be NULL inside an array and at the top level. Misuse (a key in
 * an array, a missing key in an object, unbalanced ends, nesting deeper
 * than IO_JSON_MAX_DEPTH) is remembered and reported by io_json_finish. */
#define IO_JSON_MAX_DEPTH 32

typedef struct {
    io_strbuf out;
    int indent;                           /* spaces per level; 0 = compact */
    int depth;
    unsigned char in_obj[IO_JSON_MAX_DEPTH];
    unsigned char has_items[IO_JSON_MAX_DEPTH];
    int done;                             /* a top-level value is complete */
    const char *misuse;                   /* first misuse, static text */
} io_json;

void io_json_init(io_json *j, int indent);
void io_json_free(io_json *j);
void io_json_object_begin(io_json *j, const char *key);
void io_json_object_end(io_json *j);
void io_json_array_begin(io_json *j, const char *key);
void io_json_array_end(io_json *j);
void io_json_string(io_json *j, const char *key, const char *v); /* NULL -> null */
void io_json_number(io_json *j, const char *key, double v);      /* NaN/inf -> null */
void io_json_int(io_json *j, const char *key, int64_t v);
void io_json_uint(io_json *j, const char *key, uint64_t v);
void io_json_bool(io_json *j, const char *key, int v);
void io_json_null(io_json *j, const char *key);
/* MINT_OK when exactly one complete value was written; the text is then in
 * j->out.p (j->out.len bytes, with a final newline). */
mint_status io_json_finish(io_json *j);

/* ---- files ---- */
/* Write len bytes to path via "<path>.tmp.<pid>" + rename. */
mint_status io_write_file_atomic(const char *path, const void *data, size_t len);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ"; SOURCE_DATE_EPOCH (seconds)
 * overrides the clock, for reproducible reports. */
void io_report_utc_now(char buf[32]);

/* ---- `mint eval` ---- */
typedef struct {
    const char *mint_path, *mint_sha256; /* the MINT model evaluated */
    const char *members, *external;      /* the data (paths as given) */
    const char *roc_png;                 /* ROC plot written alongside, or NULL */
    const char *created;                 /* ISO-8601 UTC; NULL = now */
    const char *const *notes;            /* warnings ("notes" array) */
    size_t n_notes;
} io_eval_meta;

mint_status io_report_eval_render(io_strbuf *out, const mint_eval_result *e,
                                  const io_eval_meta *meta);
mint_status io_report_eval_write(const char *path, const mint_eval_result *e,
                                 const io_eval_meta *meta);

/* ---- `mint audit` ---- */
typedef struct {
    const char *file;    /* as given on the command line */
    const char *sha256;  /* hex SHA-256 of the image file; NULL if unknown */
    double score;        /* membership score in [0,1]; NaN when it failed */
    const char *error;   /* NULL, or why there is no score */
    const char *duplicate_of; /* NULL, or the earlier file with the same bytes (not
                               * counted again in the set-level test) */
} io_audit_image;

/* One audited identity of the set-level test. */
typedef struct {
    const char *name;     /* identity (label, folder or file) */
    size_t n;             /* its scored distinct images */
    double t;             /* mean logit */
    double p;             /* its own p-value against the reference identities */
    double percentile;    /* fraction of reference identities whose value is below t */
} io_audit_identity;

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
    const io_audit_identity *ids;
    size_t n_ids;
    /* the MINT model's own validated quality (mint eval --store) */
    int has_quality;
    double q_auc, q_tpr_1pct;
    size_t q_members, q_external;
    const char *q_data, *q_date;
} io_audit_settest;

typedef struct {
    const char *mint_version;            /* NULL = MINT_VERSION */
    const char *created;                 /* ISO-8601 UTC; NULL = now */
    const char *model_path, *model_sha256; /* the audited network */
    const char *mint_path, *mint_sha256;   /* the MINT (auditing) model */
    const char *mint_kind;               /* "vanilla", "cnn", "outcome"; may be NULL */
    const char *reference;               /* where the reference scores came from */
    double threshold;                    /* per-image decision threshold; NaN = none */
    double alpha;                        /* level of the verdict, e.g. 0.05 */
    const io_audit_image *images;
    size_t n_images;
    const io_audit_settest *set;         /* NULL if no set-level test was run */
    const char *audited;                 /* what was audited, e.g. "1 identity
                                          * (Some_Person, 10 images)"; may be NULL */
    const char *verdict;                 /* the verdict sentence (required with set) */
    const char *const *notes;            /* n_notes warnings the reader must see */
    size_t n_notes;
} io_audit_report;

mint_status io_report_audit_json(io_strbuf *out, const io_audit_report *r);
mint_status io_report_audit_html(io_strbuf *out, const io_audit_report *r);
/* HTML when path ends in .html or .htm (any case), JSON otherwise. */
mint_status io_report_audit_write(const char *path, const io_audit_report *r);

#endif
