/* json.c - growable text buffer and JSON writer (see json.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/json.h"

/* ---- buffer ---- */

void base_strbuf_free(base_strbuf *b)
{
    if (!b)
        return;
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int sb_reserve(base_strbuf *b, size_t extra)
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

void base_strbuf_add(base_strbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void base_strbuf_puts(base_strbuf *b, const char *s) { base_strbuf_add(b, s, strlen(s)); }

void base_strbuf_printf(base_strbuf *b, const char *fmt, ...)
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

void base_strbuf_json_escape(base_strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        uint32_t cp;
        size_t n = utf8_next(s, &cp);
        char esc[8];
        if (cp == '"')
            base_strbuf_add(b, "\\\"", 2);
        else if (cp == '\\')
            base_strbuf_add(b, "\\\\", 2);
        else if (cp == '\n')
            base_strbuf_add(b, "\\n", 2);
        else if (cp == '\r')
            base_strbuf_add(b, "\\r", 2);
        else if (cp == '\t')
            base_strbuf_add(b, "\\t", 2);
        else if (cp == '\b')
            base_strbuf_add(b, "\\b", 2);
        else if (cp == '\f')
            base_strbuf_add(b, "\\f", 2);
        else if (cp < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            base_strbuf_add(b, esc, 6);
        } else if (cp == 0xfffd && n == 1)
            base_strbuf_add(b, "\\ufffd", 6); /* an invalid byte */
        else
            base_strbuf_add(b, (const char *)s, n);
        s += n;
    }
}

void base_strbuf_html_escape(base_strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        uint32_t cp;
        size_t n = utf8_next(s, &cp);
        switch (cp) {
        case '&': base_strbuf_add(b, "&amp;", 5); break;
        case '<': base_strbuf_add(b, "&lt;", 4); break;
        case '>': base_strbuf_add(b, "&gt;", 4); break;
        case '"': base_strbuf_add(b, "&quot;", 6); break;
        case '\'': base_strbuf_add(b, "&#39;", 5); break;
        default:
            if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f || (cp == 0xfffd && n == 1))
                base_strbuf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
            else
                base_strbuf_add(b, (const char *)s, n);
        }
        s += n;
    }
}

void base_format_double(char buf[32], double v)
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

void base_json_init(base_json *j, int indent)
{
    memset(j, 0, sizeof *j);
    j->indent = indent < 0 ? 0 : indent > 8 ? 8 : indent;
}

void base_json_free(base_json *j) { base_strbuf_free(&j->out); }

static void jw_misuse(base_json *j, const char *what)
{
    if (!j->misuse)
        j->misuse = what;
}

static void jw_newline(base_json *j, int depth)
{
    if (!j->indent)
        return;
    base_strbuf_add(&j->out, "\n", 1);
    for (int i = 0; i < depth * j->indent; i++)
        base_strbuf_add(&j->out, " ", 1);
}

/* Separator, indentation and key before a value; 0 on misuse. */
static int jw_prefix(base_json *j, const char *key)
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
        base_strbuf_add(&j->out, ",", 1);
    j->has_items[d] = 1;
    jw_newline(j, j->depth);
    if (key) {
        base_strbuf_add(&j->out, "\"", 1);
        base_strbuf_json_escape(&j->out, key);
        base_strbuf_puts(&j->out, j->indent ? "\": " : "\":");
    }
    return 1;
}

static void jw_value_done(base_json *j)
{
    if (j->depth == 0)
        j->done = 1;
}

static void jw_begin(base_json *j, const char *key, int obj)
{
    if (!jw_prefix(j, key))
        return;
    if (j->depth >= BASE_JSON_MAX_DEPTH) {
        jw_misuse(j, "nesting deeper than BASE_JSON_MAX_DEPTH");
        return;
    }
    base_strbuf_add(&j->out, obj ? "{" : "[", 1);
    j->in_obj[j->depth] = (unsigned char)obj;
    j->has_items[j->depth] = 0;
    j->depth++;
}

static void jw_end(base_json *j, int obj)
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
    base_strbuf_add(&j->out, obj ? "}" : "]", 1);
    jw_value_done(j);
}

void base_json_object_begin(base_json *j, const char *key) { jw_begin(j, key, 1); }
void base_json_object_end(base_json *j) { jw_end(j, 1); }
void base_json_array_begin(base_json *j, const char *key) { jw_begin(j, key, 0); }
void base_json_array_end(base_json *j) { jw_end(j, 0); }

static void jw_raw(base_json *j, const char *key, const char *text)
{
    if (!jw_prefix(j, key))
        return;
    base_strbuf_puts(&j->out, text);
    jw_value_done(j);
}

void base_json_string(base_json *j, const char *key, const char *v)
{
    if (!v) {
        jw_raw(j, key, "null");
        return;
    }
    if (!jw_prefix(j, key))
        return;
    base_strbuf_add(&j->out, "\"", 1);
    base_strbuf_json_escape(&j->out, v);
    base_strbuf_add(&j->out, "\"", 1);
    jw_value_done(j);
}

void base_json_number(base_json *j, const char *key, double v)
{
    char buf[32];
    if (!isfinite(v))
        snprintf(buf, sizeof buf, "null");
    else
        base_format_double(buf, v);
    jw_raw(j, key, buf);
}

void base_json_int(base_json *j, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    jw_raw(j, key, buf);
}

void base_json_uint(base_json *j, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    jw_raw(j, key, buf);
}

void base_json_bool(base_json *j, const char *key, int v) { jw_raw(j, key, v ? "true" : "false"); }
void base_json_null(base_json *j, const char *key) { jw_raw(j, key, "null"); }

mint_status base_json_finish(base_json *j)
{
    if (j->misuse)
        return mint_fail(MINT_E_ARG, "JSON writer misuse: %s", j->misuse);
    if (j->depth != 0 || !j->done)
        return mint_fail(MINT_E_ARG, "JSON writer misuse: unterminated document");
    base_strbuf_add(&j->out, "\n", 1);
    if (j->out.oom)
        return mint_fail(MINT_E_NOMEM, "JSON writer: out of memory");
    return MINT_OK;
}
