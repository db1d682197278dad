/* report.c - JSON writer, eval JSON, audit report in JSON and HTML (see
 * report.h). Everything is rendered into a memory buffer first and then
 * written in one go to a temporary file that is renamed into place, so a
 * reader never sees half a report. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "io/report.h"

/* ---- buffer ---- */

void io_strbuf_free(io_strbuf *b)
{
    if (!b)
        return;
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int sb_reserve(io_strbuf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return 0;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void io_strbuf_add(io_strbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void io_strbuf_puts(io_strbuf *b, const char *s) { io_strbuf_add(b, s, strlen(s)); }

void io_strbuf_printf(io_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Decode one UTF-8 sequence at s (NUL-terminated). Returns its length and
 * the code point, or length 1 and U+FFFD for an invalid byte (overlong
 * forms, surrogates and values above U+10FFFF are invalid, RFC 3629). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) { /* also stops at the NUL */
            *cp = 0xfffd;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = v;
    return len;
}

void io_strbuf_json_escape(io_strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        uint32_t cp;
        size_t n = utf8_next(s, &cp);
        char esc[8];
        if (cp == '"')
            io_strbuf_add(b, "\\\"", 2);
        else if (cp == '\\')
            io_strbuf_add(b, "\\\\", 2);
        else if (cp == '\n')
            io_strbuf_add(b, "\\n", 2);
        else if (cp == '\r')
            io_strbuf_add(b, "\\r", 2);
        else if (cp == '\t')
            io_strbuf_add(b, "\\t", 2);
        else if (cp == '\b')
            io_strbuf_add(b, "\\b", 2);
        else if (cp == '\f')
            io_strbuf_add(b, "\\f", 2);
        else if (cp < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            io_strbuf_add(b, esc, 6);
        } else if (cp == 0xfffd && n == 1)
            io_strbuf_add(b, "\\ufffd", 6); /* an invalid byte */
        else
            io_strbuf_add(b, (const char *)s, n);
        s += n;
    }
}

void io_strbuf_html_escape(io_strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        uint32_t cp;
        size_t n = utf8_next(s, &cp);
        switch (cp) {
        case '&': io_strbuf_add(b, "&amp;", 5); break;
        case '<': io_strbuf_add(b, "&lt;", 4); break;
        case '>': io_strbuf_add(b, "&gt;", 4); break;
        case '"': io_strbuf_add(b, "&quot;", 6); break;
        case '\'': io_strbuf_add(b, "&#39;", 5); break;
        default:
            if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f || (cp == 0xfffd && n == 1))
                io_strbuf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
            else
                io_strbuf_add(b, (const char *)s, n);
        }
        s += n;
    }
}

void io_format_double(char buf[32], double v)
{
    if (v == floor(v) && fabs(v) < 1e15) { /* integers as integers: 30, not 3e+01 */
        snprintf(buf, 32, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* ---- JSON writer ---- */

void io_json_init(io_json *j, int indent)
{
    memset(j, 0, sizeof *j);
    j->indent = indent < 0 ? 0 : indent > 8 ? 8 : indent;
}

void io_json_free(io_json *j) { io_strbuf_free(&j->out); }

static void jw_misuse(io_json *j, const char *what)
{
    if (!j->misuse)
        j->misuse = what;
}

static void jw_newline(io_json *j, int depth)
{
    if (!j->indent)
        return;
    io_strbuf_add(&j->out, "\n", 1);
    for (int i = 0; i < depth * j->indent; i++)
        io_strbuf_add(&j->out, " ", 1);
}

/* Separator, indentation and key before a value; 0 on misuse. */
static int jw_prefix(io_json *j, const char *key)
{
    if (j->misuse)
        return 0;
    if (j->depth == 0) {
        if (j->done)
            jw_misuse(j, "a second top-level value");
        else if (key)
            jw_misuse(j, "a key at the top level");
        return !j->misuse;
    }
    int d = j->depth - 1;
    if (j->in_obj[d] && !key) {
        jw_misuse(j, "a value without a key inside an object");
        return 0;
    }
    if (!j->in_obj[d] && key) {
        jw_misuse(j, "a key inside an array");
        return 0;
    }
    if (j->has_items[d])
        io_strbuf_add(&j->out, ",", 1);
    j->has_items[d] = 1;
    jw_newline(j, j->depth);
    if (key) {
        io_strbuf_add(&j->out, "\"", 1);
        io_strbuf_json_escape(&j->out, key);
        io_strbuf_puts(&j->out, j->indent ? "\": " : "\":");
    }
    return 1;
}

static void jw_value_done(io_json *j)
{
    if (j->depth == 0)
        j->done = 1;
}

static void jw_begin(io_json *j, const char *key, int obj)
{
    if (!jw_prefix(j, key))
        return;
    if (j->depth >= IO_JSON_MAX_DEPTH) {
        jw_misuse(j, "nesting deeper than IO_JSON_MAX_DEPTH");
        return;
    }
    io_strbuf_add(&j->out, obj ? "{" : "[", 1);
    j->in_obj[j->depth] = (unsigned char)obj;
    j->has_items[j->depth] = 0;
    j->depth++;
}

static void jw_end(io_json *j, int obj)
{
    if (j->misuse)
        return;
    if (j->depth == 0 || j->in_obj[j->depth - 1] != obj) {
        jw_misuse(j, obj ? "an object end without its begin" : "an array end without its begin");
        return;
    }
    j->depth--;
    if (j->has_items[j->depth])
        jw_newline(j, j->depth);
    io_strbuf_add(&j->out, obj ? "}" : "]", 1);
    jw_value_done(j);
}

void io_json_object_begin(io_json *j, const char *key) { jw_begin(j, key, 1); }
void io_json_object_end(io_json *j) { jw_end(j, 1); }
void io_json_array_begin(io_json *j, const char *key) { jw_begin(j, key, 0); }
void io_json_array_end(io_json *j) { jw_end(j, 0); }

static void jw_raw(io_json *j, const char *key, const char *text)
{
    if (!jw_prefix(j, key))
        return;
    io_strbuf_puts(&j->out, text);
    jw_value_done(j);
}

void io_json_string(io_json *j, const char *key, const char *v)
{
    if (!v) {
        jw_raw(j, key, "null");
        return;
    }
    if (!jw_prefix(j, key))
        return;
    io_strbuf_add(&j->out, "\"", 1);
    io_strbuf_json_escape(&j->out, v);
    io_strbuf_add(&j->out, "\"", 1);
    jw_value_done(j);
}

void io_json_number(io_json *j, const char *key, double v)
{
    char buf[32];
    if (!isfinite(v))
        snprintf(buf, sizeof buf, "null");
    else
        io_format_double(buf, v);
    jw_raw(j, key, buf);
}

void io_json_int(io_json *j, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    jw_raw(j, key, buf);
}

void io_json_uint(io_json *j, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    jw_raw(j, key, buf);
}

void io_json_bool(io_json *j, const char *key, int v) { jw_raw(j, key, v ? "true" : "false"); }
void io_json_null(io_json *j, const char *key) { jw_raw(j, key, "null"); }

mint_status io_json_finish(io_json *j)
{
    if (j->misuse)
        return mint_fail(MINT_E_ARG, "JSON writer misuse: %s", j->misuse);
    if (j->depth != 0 || !j->done)
        return mint_fail(MINT_E_ARG, "JSON writer misuse: unterminated document");
    io_strbuf_add(&j->out, "\n", 1);
    if (j->out.oom)
        return mint_fail(MINT_E_NOMEM, "JSON writer: out of memory");
    return MINT_OK;
}

/* ---- files and time ---- */

mint_status io_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!path || (!data && len))
        return mint_fail(MINT_E_ARG, "io_write_file_atomic: NULL argument");
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        mint_status st = mint_fail(MINT_E_IO, "%s: cannot create temporary file '%s': %s", path,
                                   tmp, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = data;
    size_t left = len;
    mint_status st = MINT_OK;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = mint_fail(MINT_E_IO, "%s: write failed: %s", tmp, strerror(errno));
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 && st == MINT_OK)
        st = mint_fail(MINT_E_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == MINT_OK && rename(tmp, path) != 0)
        st = mint_fail(MINT_E_IO, "%s: rename from '%s' failed: %s", path, tmp, strerror(errno));
    if (st != MINT_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

void io_report_utc_now(char buf[32])
{
    time_t t = time(NULL);
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e) {
        char *end;
        long long v = strtoll(e, &end, 10);
        if (*end == '\0' && v >= 0)
            t = (time_t)v;
    }
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, 32, "1970-01-01T00:00:00Z");
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static mint_status finish_buf(io_strbuf *out, const char *what)
{
    if (out->oom) {
        io_strbuf_free(out);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", what);
    }
    return MINT_OK;
}

/* ---- eval JSON ---- */

static void json_at_threshold(io_json *j, const char *key, double thr, const mint_confusion *c)
{
    io_json_object_begin(j, key);
    io_json_number(j, "threshold", thr);
    io_json_number(j, "balanced_accuracy", mint_confusion_bacc(c));
    io_json_number(j, "accuracy", mint_confusion_acc(c));
    io_json_number(j, "tpr", mint_confusion_tpr(c));
    io_json_number(j, "tnr", mint_confusion_tnr(c));
    io_json_object_begin(j, "confusion");
    io_json_uint(j, "tp", c->tp);
    io_json_uint(j, "fn", c->fn);
    io_json_uint(j, "fp", c->fp);
    io_json_uint(j, "tn", c->tn);
    io_json_object_end(j);
    io_json_object_end(j);
}

mint_status io_report_eval_render(io_strbuf *out, const mint_eval_result *e,
                                  const io_eval_meta *meta)
{
    if (!out || !e)
        return mint_fail(MINT_E_ARG, "io_report_eval_render: NULL argument");
    memset(out, 0, sizeof *out);
    io_eval_meta none = { 0 };
    if (!meta)
        meta = &none;
    char now[32];
    io_report_utc_now(now);
    io_json j;
    io_json_init(&j, 2);
    io_json_object_begin(&j, NULL);
    io_json_string(&j, "report", "mint eval");
    io_json_string(&j, "mint_version", MINT_VERSION);
    io_json_string(&j, "created", meta->created ? meta->created : now);
    io_json_object_begin(&j, "mint_model");
    io_json_string(&j, "path", meta->mint_path);
    io_json_string(&j, "sha256", meta->mint_sha256);
    io_json_object_end(&j);
    io_json_object_begin(&j, "data");
    io_json_string(&j, "members", meta->members);
    io_json_string(&j, "external", meta->external);
    io_json_uint(&j, "n", e->n);
    io_json_uint(&j, "n_members", e->n_members);
    io_json_uint(&j, "n_external", e->n_external);
    io_json_object_end(&j);
    io_json_number(&j, "auc", e->auc);
    json_at_threshold(&j, "at_threshold_0_5", 0.5, &e->cm_05);
    if (isnan(e->train_threshold))
        io_json_null(&j, "at_training_threshold");
    else
        json_at_threshold(&j, "at_training_threshold", e->train_threshold, &e->cm_train_thr);
    io_json_array_begin(&j, "tpr_at_fpr");
    for (int k = 0; k < MINT_EVAL_NFPR; k++) {
        io_json_object_begin(&j, NULL);
        io_json_number(&j, "target_fpr", e->fpr_target[k]);
        io_json_number(&j, "tpr", e->tpr_at_fpr[k]);
        io_json_number(&j, "threshold", e->thr_at_fpr[k]); /* +inf (no threshold) -> null */
        io_json_number(&j, "achieved_fpr", e->fpr_achieved[k]);
        io_json_object_end(&j);
    }
    io_json_array_end(&j);
    io_json_number(&j, "fpr_resolution", e->fpr_step);
    io_json_string(&j, "tpr_at_fpr_convention",
                   "highest TPR among ROC points with FPR <= target, no interpolation; "
                   "member iff score >= threshold; threshold null = no threshold reaches it");
    io_json_string(&j, "roc_png", meta->roc_png);
    io_json_array_begin(&j, "notes");
    for (size_t i = 0; i < meta->n_notes; i++)
        io_json_string(&j, NULL, meta->notes[i]);
    io_json_array_end(&j);
    io_json_object_end(&j);
    mint_status st = io_json_finish(&j);
    if (st != MINT_OK) {
        io_json_free(&j);
        return st;
    }
    *out = j.out;
    return MINT_OK;
}

mint_status io_report_eval_write(const char *path, const mint_eval_result *e,
                                 const io_eval_meta *meta)
{
    if (!path)
        return mint_fail(MINT_E_ARG, "io_report_eval_write: NULL path");
    io_strbuf b;
    mint_status st = io_report_eval_render(&b, e, meta);
    if (st == MINT_OK)
        st = io_write_file_atomic(path, b.p, b.len);
    io_strbuf_free(&b);
    return st;
}

/* ---- audit report ---- */

static const char *verdict_of(const io_audit_report *r, char *buf, size_t cap)
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

static mint_status check_audit(const io_audit_report *r, const char *who)
{
    if (!r || (r->n_images && !r->images))
        return mint_fail(MINT_E_ARG, "%s: NULL report or images", who);
    if (r->set && !(r->alpha > 0 && r->alpha < 1))
        return mint_fail(MINT_E_ARG, "%s: alpha %g outside (0, 1)", who, r->alpha);
    return MINT_OK;
}

mint_status io_report_audit_json(io_strbuf *out, const io_audit_report *r)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_report_audit_json: NULL output");
    memset(out, 0, sizeof *out);
    mint_status st = check_audit(r, "io_report_audit_json");
    if (st != MINT_OK)
        return st;
    char now[32], vbuf[512];
    io_report_utc_now(now);
    const io_audit_settest *t = r->set;
    io_json j;
    io_json_init(&j, 2);
    io_json_object_begin(&j, NULL);
    io_json_string(&j, "report", "mint audit");
    io_json_string(&j, "mint_version", r->mint_version ? r->mint_version : MINT_VERSION);
    io_json_string(&j, "created", r->created ? r->created : now);
    io_json_object_begin(&j, "model");
    io_json_string(&j, "path", r->model_path);
    io_json_string(&j, "sha256", r->model_sha256);
    io_json_object_end(&j);
    io_json_object_begin(&j, "mint_model");
    io_json_string(&j, "path", r->mint_path);
    io_json_string(&j, "sha256", r->mint_sha256);
    io_json_string(&j, "kind", r->mint_kind);
    io_json_object_end(&j);
    io_json_string(&j, "verdict", verdict_of(r, vbuf, sizeof vbuf));
    io_json_array_begin(&j, "notes");
    for (size_t i = 0; i < r->n_notes; i++)
        io_json_string(&j, NULL, r->notes[i]);
    io_json_array_end(&j);
    if (r->audited)
        io_json_string(&j, "audited", r->audited);
    if (t) {
        io_json_object_begin(&j, "set_test");
        io_json_string(&j, "test", t->test);
        io_json_string(&j, "hypotheses",
                       "H0: the audited identities are exchangeable with reference identities "
                       "that are known non-members (their mean logits come from the same law); "
                       "H1: the audited identities score higher");
        io_json_string(&j, "unit", t->unit);
        io_json_uint(&j, "identities", t->m);
        io_json_uint(&j, "images", t->n_images);
        io_json_uint(&j, "reference_identities", t->K);
        io_json_uint(&j, "reference_images", t->K_images);
        io_json_string(&j, "reference", r->reference);
        io_json_number(&j, "p_value", t->p);
        io_json_number(&j, "p_min", t->p_min);
        io_json_number(&j, "alpha", r->alpha);
        io_json_bool(&j, "evidence", t->evidence);
        io_json_number(&j, "statistic", t->t_set);
        io_json_number(&j, "reference_statistic", t->t_ref);
        io_json_number(&j, "effect", t->effect);
        io_json_string(&j, "effect_name", t->effect_name);
        if (!isnan(t->welch_p)) {
            io_json_object_begin(&j, "welch");
            io_json_number(&j, "t", t->welch_t);
            io_json_number(&j, "df", t->welch_df);
            io_json_number(&j, "p_value", t->welch_p);
            io_json_object_end(&j);
        }
        io_json_array_begin(&j, "per_identity");
        for (size_t i = 0; i < t->n_ids; i++) {
            const io_audit_identity *id = &t->ids[i];
            io_json_object_begin(&j, NULL);
            io_json_string(&j, "identity", id->name);
            io_json_uint(&j, "images", id->n);
            io_json_number(&j, "mean_logit", id->t);
            io_json_number(&j, "p_value", id->p);
            io_json_number(&j, "percentile", id->percentile);
            io_json_object_end(&j);
        }
        io_json_array_end(&j);
        io_json_object_end(&j);
        io_json_object_begin(&j, "mint_model_quality");
        if (t->has_quality) {
            io_json_number(&j, "auc", t->q_auc);
            io_json_number(&j, "tpr_at_1pct_fpr", t->q_tpr_1pct);
            io_json_uint(&j, "members", t->q_members);
            io_json_uint(&j, "external", t->q_external);
            io_json_string(&j, "data", t->q_data);
            io_json_string(&j, "date", t->q_date);
        } else {
            io_json_string(&j, "status", "not validated (mint eval --store)");
        }
        io_json_object_end(&j);
    } else {
        io_json_null(&j, "set_test");
    }
    io_json_number(&j, "threshold", r->threshold);
    io_json_array_begin(&j, "images");
    for (size_t i = 0; i < r->n_images; i++) {
        const io_audit_image *im = &r->images[i];
        io_json_object_begin(&j, NULL);
        io_json_string(&j, "file", im->file);
        io_json_string(&j, "sha256", im->sha256);
        io_json_number(&j, "score", im->score);
        if (!isnan(r->threshold) && !isnan(im->score))
            io_json_bool(&j, "above_threshold", im->score >= r->threshold);
        if (im->error)
            io_json_string(&j, "error", im->error);
        if (im->duplicate_of)
            io_json_string(&j, "duplicate_of", im->duplicate_of);
        io_json_object_end(&j);
    }
    io_json_array_end(&j);
    io_json_object_end(&j);
    st = io_json_finish(&j);
    if (st != MINT_OK) {
        io_json_free(&j);
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

static void html_row(io_strbuf *b, const char *th, const char *td_text, int mono)
{
    io_strbuf_puts(b, "<tr><th>");
    io_strbuf_html_escape(b, th);
    io_strbuf_puts(b, mono ? "</th><td class=\"hash\">" : "</th><td>");
    if (td_text)
        io_strbuf_html_escape(b, td_text);
    else
        io_strbuf_puts(b, "&mdash;");
    io_strbuf_puts(b, "</td></tr>\n");
}

mint_status io_report_audit_html(io_strbuf *out, const io_audit_report *r)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_report_audit_html: NULL output");
    memset(out, 0, sizeof *out);
    mint_status st = check_audit(r, "io_report_audit_html");
    if (st != MINT_OK)
        return st;
    char now[32], vbuf[512], num[64], num2[64];
    io_report_utc_now(now);
    const io_audit_settest *t = r->set;
    io_strbuf *b = out;

    io_strbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>mint audit report</title>\n<style>");
    io_strbuf_puts(b, html_css);
    io_strbuf_puts(b, "</style>\n</head>\n<body>\n<h1>Membership audit report</h1>\n"
                      "<p class=\"sub\">mint ");
    io_strbuf_html_escape(b, r->mint_version ? r->mint_version : MINT_VERSION);
    io_strbuf_puts(b, " &middot; ");
    io_strbuf_html_escape(b, r->created ? r->created : now);
    io_strbuf_puts(b, "</p>\n");

    /* verdict */
    const char *cls = !t ? "" : t->evidence ? " yes" : " no";
    io_strbuf_printf(b, "<div class=\"verdict%s\">", cls);
    if (r->audited) {
        io_strbuf_puts(b, "<strong>Audited:</strong> ");
        io_strbuf_html_escape(b, r->audited);
        io_strbuf_puts(b, "<br>");
    }
    io_strbuf_puts(b, "<strong>Verdict:</strong> ");
    io_strbuf_html_escape(b, verdict_of(r, vbuf, sizeof vbuf));
    if (t) {
        io_strbuf_puts(b, "<br><span class=\"note\"><strong>Strength of the MINT model:</strong> ");
        if (t->has_quality)
            io_strbuf_printf(b, "held-out AUC %.3f, TPR %.3f at 1%% FPR, on %zu members and %zu "
                                "external samples",
                             t->q_auc, t->q_tpr_1pct, t->q_members, t->q_external);
        else
            io_strbuf_puts(b, "never validated on held-out data (run mint eval --store): the "
                              "verdict cannot be weighed against it");
        io_strbuf_puts(b, "</span>");
    }
    io_strbuf_puts(b, "</div>\n");
    if (r->n_notes) {
        io_strbuf_puts(b, "<h2>Notes</h2>\n<ul>\n");
        for (size_t i = 0; i < r->n_notes; i++) {
            io_strbuf_puts(b, "<li>");
            io_strbuf_html_escape(b, r->notes[i]);
            io_strbuf_puts(b, "</li>\n");
        }
        io_strbuf_puts(b, "</ul>\n");
    }

    /* set-level test */
    if (t) {
        io_strbuf_puts(b, "<h2>Set-level test</h2>\n<table>\n");
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
        io_strbuf_puts(b, "</table>\n");
        if (t->n_ids > 1) {
            io_strbuf_puts(b, "<h2>Identities</h2>\n<table>\n<tr><th>Identity</th><th>Images</th>"
                              "<th>Mean logit</th><th>Percentile</th><th>Own p-value</th></tr>\n");
            for (size_t i = 0; i < t->n_ids; i++) {
                const io_audit_identity *id = &t->ids[i];
                io_strbuf_puts(b, "<tr><td>");
                io_strbuf_html_escape(b, id->name);
                fmt_p(num, sizeof num, id->p);
                io_strbuf_printf(b, "</td><td class=\"num\">%zu</td><td class=\"num\">%.4f</td>"
                                    "<td class=\"num\">%.3f</td><td class=\"num\">%s</td></tr>\n",
                                 id->n, id->t, id->percentile, num);
            }
            io_strbuf_puts(b, "</table>\n<p class=\"note\">Per-identity p-values are not "
                              "corrected for multiplicity; the verdict is the set-level test.</p>\n");
        }
    }

    /* provenance */
    io_strbuf_puts(b, "<h2>Provenance</h2>\n<table>\n");
    html_row(b, "Audited model", r->model_path, 0);
    html_row(b, "Audited model SHA-256", r->model_sha256, 1);
    html_row(b, "MINT model", r->mint_path, 0);
    html_row(b, "MINT model SHA-256", r->mint_sha256, 1);
    if (r->mint_kind)
        html_row(b, "MINT model kind", r->mint_kind, 0);
    html_row(b, "mint version", r->mint_version ? r->mint_version : MINT_VERSION, 0);
    html_row(b, "Date (UTC)", r->created ? r->created : now, 0);
    io_strbuf_puts(b, "</table>\n");

    /* images */
    int any_dup = 0;
    for (size_t i = 0; i < r->n_images; i++)
        any_dup |= r->images[i].duplicate_of != NULL;
    io_strbuf_printf(b, "<h2>Images (%zu)</h2>\n<table>\n<tr><th>#</th><th>File</th>"
                        "<th>SHA-256</th><th>Score</th>%s%s%s</tr>\n",
                     r->n_images, isnan(r->threshold) ? "" : "<th>Above threshold</th>",
                     t ? "<th>Above reference 95th pct.</th>" : "",
                     any_dup ? "<th>Duplicate</th>" : "");
    for (size_t i = 0; i < r->n_images; i++) {
        const io_audit_image *im = &r->images[i];
        io_strbuf_printf(b, "<tr><td class=\"num\">%zu</td><td>", i + 1);
        io_strbuf_html_escape(b, im->file);
        io_strbuf_puts(b, "</td><td class=\"hash\"><span class=\"sha\" title=\"");
        io_strbuf_html_escape(b, im->sha256 ? im->sha256 : "");
        io_strbuf_puts(b, "\">");
        io_strbuf_html_escape(b, im->sha256 ? im->sha256 : "");
        io_strbuf_puts(b, "</span></td>");
        if (isnan(im->score)) {
            io_strbuf_puts(b, "<td class=\"err\">");
            io_strbuf_html_escape(b, im->error ? im->error : "no score");
            io_strbuf_puts(b, "</td>");
            if (!isnan(r->threshold))
                io_strbuf_puts(b, "<td></td>");
            if (any_dup)
                io_strbuf_puts(b, "<td></td>");
        } else {
            double w = im->score < 0 ? 0 : im->score > 1 ? 100 : 100 * im->score;
            io_strbuf_printf(b, "<td class=\"num\">%.4f<span class=\"bar\"><span "
                                "style=\"width:%.1f%%\"></span></span></td>",
                             im->score, w);
            if (!isnan(r->threshold))
                io_strbuf_printf(b, "<td>%s</td>", im->score >= r->threshold ? "yes" : "no");
            if (im->duplicate_of) {
                io_strbuf_puts(b, "<td class=\"err\">same bytes as ");
                io_strbuf_html_escape(b, im->duplicate_of);
                io_strbuf_puts(b, ": counted once</td>");
            } else if (any_dup) {
                io_strbuf_puts(b, "<td></td>");
            }
        }
        io_strbuf_puts(b, "</tr>\n");
    }
    io_strbuf_puts(b, "</table>\n");

    io_strbuf_puts(b,
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
    return finish_buf(out, "io_report_audit_html");
}

mint_status io_report_audit_write(const char *path, const io_audit_report *r)
{
    if (!path)
        return mint_fail(MINT_E_ARG, "io_report_audit_write: NULL path");
    io_strbuf b;
    int html = ends_with_ci(path, ".html") || ends_with_ci(path, ".htm");
    mint_status st = html ? io_report_audit_html(&b, r) : io_report_audit_json(&b, r);
    if (st == MINT_OK)
        st = io_write_file_atomic(path, b.p, b.len);
    io_strbuf_free(&b);
    return st;
}
