/* json.h - a growable text buffer and a JSON writer (RFC 8259), for the
 * reports, the stored graph text and anything else that builds text.
 *
 * Text conventions: input strings are UTF-8 and pass through unchanged;
 * bytes that are not valid UTF-8 (file names on Linux can be any bytes)
 * become U+FFFD, so the output is always valid JSON / HTML. Numbers are
 * written in the shortest form that reads back to the same double (C
 * locale); NaN and +-inf become null. */
#ifndef MINT_BASE_JSON_H
#define MINT_BASE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

/* ---- growable text buffer ---- */
typedef struct {
    char *p;       /* NUL-terminated when len > 0 */
    size_t len, cap;
    int oom;       /* an append failed; later appends are ignored */
} base_strbuf;

void base_strbuf_free(base_strbuf *b);
void base_strbuf_add(base_strbuf *b, const char *s, size_t n);
void base_strbuf_puts(base_strbuf *b, const char *s);
void base_strbuf_printf(base_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append s escaped as the inside of a JSON string (no quotes). */
void base_strbuf_json_escape(base_strbuf *b, const char *s);
/* Append s escaped for HTML text and attribute values (& < > " '). */
void base_strbuf_html_escape(base_strbuf *b, const char *s);
/* Shortest decimal that strtod reads back as v (finite v only). */
void base_format_double(char buf[32], double v);

/* ---- JSON writer ----
 * Calls nest like the document; `key` is the member name inside an object
 * and must be NULL inside an array and at the top level. Misuse (a key in
 * an array, a missing key in an object, unbalanced ends, nesting deeper
 * than BASE_JSON_MAX_DEPTH) is remembered and reported by base_json_finish. */
#define BASE_JSON_MAX_DEPTH 32

typedef struct {
    base_strbuf out;
    int indent;                           /* spaces per level; 0 = compact */
    int depth;
    unsigned char in_obj[BASE_JSON_MAX_DEPTH];
    unsigned char has_items[BASE_JSON_MAX_DEPTH];
    int done;                             /* a top-level value is complete */
    const char *misuse;                   /* first misuse, static text */
} base_json;

void base_json_init(base_json *j, int indent);
void base_json_free(base_json *j);
void base_json_object_begin(base_json *j, const char *key);
void base_json_object_end(base_json *j);
void base_json_array_begin(base_json *j, const char *key);
void base_json_array_end(base_json *j);
void base_json_string(base_json *j, const char *key, const char *v); /* NULL -> null */
void base_json_number(base_json *j, const char *key, double v);      /* NaN/inf -> null */
void base_json_int(base_json *j, const char *key, int64_t v);
void base_json_uint(base_json *j, const char *key, uint64_t v);
void base_json_bool(base_json *j, const char *key, int v);
void base_json_null(base_json *j, const char *key);
/* MINT_OK when exactly one complete value was written; the text is then in
 * j->out.p (j->out.len bytes, with a final newline). */
mint_status base_json_finish(base_json *j);

#endif
