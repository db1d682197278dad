/* landmarks.c - reader for 5-point landmark CSV files (see landmarks.h).
 *
 * A small line-oriented CSV parser (RFC 4180 quoting without embedded
 * newlines) and an open-addressing hash from file name to row. Every error
 * names the file and the 1-based line. */
#include "io/landmarks.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LM_MAX_FILE_BYTES ((size_t)1 << 30)

static const char *const lm_cols[10] = {"lex", "ley", "rex", "rey", "nx",
                                        "ny",  "lmx", "lmy", "rmx", "rmy"};

/* ---- one CSV line -> fields ---- */
typedef struct {
    char *buf;      /* unquoted field texts, each NUL-terminated */
    size_t *off;    /* offset of each field in buf */
    size_t n, cap;  /* fields, capacity of off */
} lm_fields;

/* Split line [s, s+len) into fields. Returns 0, or -1 with *why set. */
static int split_line(const char *s, size_t len, lm_fields *f, const char **why)
{
    size_t o = 0, i = 0;
    f->n = 0;
    for (;;) {
        if (f->n == f->cap) {
            size_t nc = f->cap ? 2 * f->cap : 32;
            size_t *p = realloc(f->off, nc * sizeof *p);
            if (!p) {
                *why = "out of memory";
                return -1;
            }
            f->off = p;
            f->cap = nc;
        }
        f->off[f->n++] = o;
        /* skip leading blanks so that ` "x"` still counts as quoted */
        size_t j = i;
        while (j < len && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j < len && s[j] == '"') {
            i = j + 1;
            for (;;) {
                if (i >= len) {
                    *why = "unterminated quoted field";
                    return -1;
                }
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        f->buf[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                f->buf[o++] = s[i++];
            }
            while (i < len && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (i < len && s[i] != ',') {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            while (i < len && s[i] != ',')
                f->buf[o++] = s[i++];
            /* trim trailing blanks of unquoted fields */
            size_t st = f->off[f->n - 1];
            while (o > st && (f->buf[o - 1] == ' ' || f->buf[o - 1] == '\t'))
                o--;
            /* and leading blanks */
            size_t lead = 0;
            while (st + lead < o && (f->buf[st + lead] == ' ' || f->buf[st + lead] == '\t'))
                lead++;
            if (lead) {
                memmove(f->buf + st, f->buf + st + lead, o - st - lead);
                o -= lead;
            }
        }
        f->buf[o++] = '\0';
        if (i >= len)
            return 0;
        i++; /* the comma */
        if (i == len) { /* trailing comma: one more empty field */
            if (f->n == f->cap) {
                size_t nc = 2 * f->cap;
                size_t *p = realloc(f->off, nc * sizeof *p);
                if (!p) {
                    *why = "out of memory";
                    return -1;
                }
                f->off = p;
                f->cap = nc;
            }
            f->off[f->n++] = o;
            f->buf[o++] = '\0';
            return 0;
        }
    }
}

static const char *field(const lm_fields *f, size_t k) { return f->buf + f->off[k]; }

/* ---- hash ----
 * Names are compared in a lookup form that ignores what a path can spell
 * twice: "./" segments and repeated '/' ("DIR//a.jpg" from "DIR/" given on
 * the command line is "DIR/a.jpg"). */
static const char *skip_seg(const char *p)
{
    for (;;) {
        if (p[0] == '/')
            p++;
        else if (p[0] == '.' && p[1] == '/')
            p += 2;
        else
            return p;
    }
}

/* Write s in lookup form to out (room for strlen(s) + 1); its length. */
static size_t lookup_form(const char *s, char *out)
{
    size_t k = 0;
    for (const char *p = skip_seg(s); *p;) {
        char ch = *p++;
        out[k++] = ch;
        if (ch == '/')
            p = skip_seg(p);
    }
    out[k] = '\0';
    return k;
}

void io_landmarks_free(io_landmarks *lm)
{
    if (!lm)
        return;
    for (size_t i = 0; i < lm->n; i++)
        free(lm->rows[i].file);
    free(lm->rows);
    free(lm->label);
    free(lm->keys);
    base_nameidx_free(&lm->index);
    free(lm);
}

const io_landmark_row *io_landmarks_find_row(const io_landmarks *lm, const char *file)
{
    if (!lm || !file || !lm->keys)
        return NULL;
    char buf[512], *key = buf;
    size_t n = strlen(file);
    if (n >= sizeof buf && !(key = malloc(n + 1)))
        return NULL;
    lookup_form(file, key);
    int r = base_nameidx_get(&lm->index, key);
    if (key != buf)
        free(key);
    return r >= 0 ? &lm->rows[r] : NULL;
}

const float *io_landmarks_find(const io_landmarks *lm, const char *file)
{
    const io_landmark_row *r = io_landmarks_find_row(lm, file);
    return r ? r->pts : NULL;
}

static mint_status build_hash(io_landmarks *lm, const size_t *lines, const char *label)
{
    size_t total = 1;
    for (size_t r = 0; r < lm->n; r++)
        total += strlen(lm->rows[r].file) + 1; /* the rows are in memory: no overflow */
    if (lm->n > (size_t)INT_MAX || !(lm->keys = malloc(total)) ||
        base_nameidx_reserve(&lm->index, lm->n))
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    char *k = lm->keys;
    for (size_t r = 0; r < lm->n; r++) {
        size_t len = lookup_form(lm->rows[r].file, k);
        int dup = base_nameidx_add(&lm->index, k, (int)r); /* room reserved: never -2 */
        if (dup >= 0)
            return mint_fail(MINT_E_FORMAT, "%s:%zu: duplicate entry for '%s' (first at line %zu)",
                             label, lines[r], lm->rows[r].file, lines[dup]);
        k += len + 1;
    }
    return MINT_OK;
}

/* ---- parser ---- */

/* Length of the longest line of text (it bounds the field buffer). */
static size_t longest_line(const char *text, size_t len)
{
    size_t maxline = 0;
    for (size_t i = 0, s = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i - s > maxline)
                maxline = i - s;
            s = i + 1;
        }
    }
    return maxline;
}

/* The header row: the columns of 'file' and of the ten coordinates, each
 * once. */
static mint_status parse_header(const lm_fields *f, const char *label, size_t lineno,
                                size_t *col_file, size_t col[10])
{
    int found_file = 0, found[10] = {0};
    for (size_t c = 0; c < f->n; c++) {
        const char *name = field(f, c);
        if (strcmp(name, "file") == 0) {
            if (found_file)
                return mint_fail(MINT_E_FORMAT, "%s:%zu: column 'file' appears twice", label,
                                 lineno);
            found_file = 1;
            *col_file = c;
        }
        for (int j = 0; j < 10; j++) {
            if (strcmp(name, lm_cols[j]) == 0) {
                if (found[j])
                    return mint_fail(MINT_E_FORMAT, "%s:%zu: column '%s' appears twice", label,
                                     lineno, lm_cols[j]);
                found[j] = 1;
                col[j] = c;
            }
        }
    }
    char missing[96] = "";
    if (!found_file)
        strcat(missing, " file");
    for (int j = 0; j < 10; j++) {
        if (!found[j]) {
            strcat(missing, " ");
            strcat(missing, lm_cols[j]);
        }
    }
    if (missing[0])
        return mint_fail(MINT_E_FORMAT,
                         "%s:%zu: header lacks required column(s):%s "
                         "(need file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy)",
                         label, lineno, missing);
    return MINT_OK;
}

/* Room for one more row (and its line number). */
static mint_status grow_rows(io_landmarks *lm, size_t **lines, size_t *cap, const char *label)
{
    if (lm->n < *cap)
        return MINT_OK;
    size_t nc = *cap ? 2 * *cap : 1024;
    io_landmark_row *r = realloc(lm->rows, nc * sizeof *r);
    if (!r)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    lm->rows = r;
    size_t *l = realloc(*lines, nc * sizeof *l);
    if (!l)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    *lines = l;
    *cap = nc;
    return MINT_OK;
}

/* One data row: its file name and ten finite coordinates. */
static mint_status parse_row(const lm_fields *f, const char *label, size_t lineno,
                             size_t col_file, const size_t col[10], io_landmark_row *row)
{
    const char *fname = field(f, col_file);
    if (!fname[0])
        return mint_fail(MINT_E_FORMAT, "%s:%zu: empty 'file' value", label, lineno);
    for (int j = 0; j < 10; j++) {
        const char *v = field(f, col[j]);
        char *end = NULL;
        errno = 0;
        float x = strtof(v, &end);
        if (!v[0] || end == v || *end != '\0')
            return mint_fail(MINT_E_FORMAT, "%s:%zu: column '%s': '%s' is not a number", label,
                             lineno, lm_cols[j], v);
        if (!isfinite(x) || errno == ERANGE)
            return mint_fail(MINT_E_FORMAT, "%s:%zu: column '%s': value '%s' out of range",
                             label, lineno, lm_cols[j], v);
        row->pts[j] = x;
    }
    row->file = strdup(fname);
    if (!row->file)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    row->line = lineno;
    return MINT_OK;
}

/* Every line of text: the header, then the rows (lines: their line
 * numbers, cap: room in rows and lines). */
static mint_status parse_lines(io_landmarks *lm, lm_fields *f, const char *text, size_t len,
                               const char *label, size_t **lines, size_t *cap)
{
    mint_status st = MINT_OK;
    size_t pos = 0, lineno = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    int have_header = 0;
    size_t nfields = 0, col_file = 0, col[10];
    while (pos < len) {
        size_t s = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        size_t e = pos;
        if (pos < len)
            pos++;
        lineno++;
        if (e > s && text[e - 1] == '\r')
            e--;
        /* blank lines (also lines of only blanks) are skipped */
        size_t k = s;
        while (k < e && (text[k] == ' ' || text[k] == '\t'))
            k++;
        if (k == e)
            continue;
        if (memchr(text + s, '\0', e - s))
            return mint_fail(MINT_E_FORMAT, "%s:%zu: NUL byte in text", label, lineno);
        const char *why = NULL;
        if (split_line(text + s, e - s, f, &why) != 0)
            return mint_fail(why[0] == 'o' ? MINT_E_NOMEM : MINT_E_FORMAT, "%s:%zu: %s", label,
                             lineno, why);
        if (!have_header) {
            if ((st = parse_header(f, label, lineno, &col_file, col)))
                return st;
            nfields = f->n;
            have_header = 1;
            continue;
        }
        if (f->n != nfields)
            return mint_fail(MINT_E_FORMAT, "%s:%zu: expected %zu fields (as in the header), "
                             "found %zu", label, lineno, nfields, f->n);
        if ((st = grow_rows(lm, lines, cap, label)) ||
            (st = parse_row(f, label, lineno, col_file, col, &lm->rows[lm->n])))
            return st;
        (*lines)[lm->n] = lineno;
        lm->n++;
    }
    if (!have_header)
        return mint_fail(MINT_E_FORMAT, "%s: empty file (no header row)", label);
    return MINT_OK;
}

mint_status io_landmarks_parse(const char *text, size_t len, const char *label,
                               io_landmarks **out)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_landmarks_parse: NULL output");
    *out = NULL;
    if (!label)
        label = "<landmarks>";
    if (!text && len)
        return mint_fail(MINT_E_ARG, "%s: NULL text", label);

    mint_status st = MINT_OK;
    io_landmarks *lm = calloc(1, sizeof *lm);
    lm_fields f = {0};
    size_t *lines = NULL, cap = 0;
    if (!lm)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    /* longest line bounds the field buffer */
    f.buf = malloc(longest_line(text, len) + 2);
    if (!f.buf)
        st = mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    if (!st)
        st = parse_lines(lm, &f, text, len, label, &lines, &cap);
    if (!st)
        st = build_hash(lm, lines, label);
    if (!st && !(lm->label = strdup(label)))
        st = mint_fail(MINT_E_NOMEM, "%s: out of memory", label);
    free(f.buf);
    free(f.off);
    free(lines);
    if (st != MINT_OK) {
        io_landmarks_free(lm);
        return st;
    }
    *out = lm;
    return MINT_OK;
}

mint_status io_landmarks_load(const char *path, io_landmarks **out)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "io_landmarks_load: NULL output");
    *out = NULL;
    if (!path)
        return mint_fail(MINT_E_ARG, "io_landmarks_load: NULL path");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap >= LM_MAX_FILE_BYTES) {
                free(buf);
                fclose(fp);
                return mint_fail(MINT_E_FORMAT, "%s: larger than %zu bytes", path,
                                 LM_MAX_FILE_BYTES);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(fp);
                return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, fp);
        len += r;
        if (r == 0)
            break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(buf);
        return mint_fail(MINT_E_IO, "%s: read error", path);
    }
    mint_status st = io_landmarks_parse(buf, len, path, out);
    free(buf);
    return st;
}
