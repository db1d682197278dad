/* extract_dir.c - the one reader of an extraction folder (docs/format.md
 * section 5); see extract_dir.h. */
#include "mint/extract_dir.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/file.h"
#include "base/sha256.h"

void mint_extract_txt_free(mint_extract_txt *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

static int good_key(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 31)
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-' || *k == '_'))
            return 0;
    return 1;
}

mint_status mint_extract_txt_parse(const char *text, size_t len, const char *label,
                                   mint_extract_txt *out)
{
    memset(out, 0, sizeof *out);
    if (len > MINT_EXTRACT_TXT_MAX)
        return mint_fail(MINT_E_FORMAT, "%s: more than %d bytes: not an extract.txt", label,
                         MINT_EXTRACT_TXT_MAX);
    if (memchr(text, 0, len))
        return mint_fail(MINT_E_FORMAT, "%s: a NUL byte: not an extract.txt", label);
    if (!(out->buf = malloc(len + 1)))
        return mint_fail(MINT_E_NOMEM, "out of memory");
    memcpy(out->buf, text, len);
    out->buf[len] = 0;
    mint_status st = MINT_OK;
    long lineno = 0;
    for (char *p = out->buf, *next; p && *p && !st; p = next) {
        next = strchr(p, '\n');
        if (next)
            *next++ = 0;
        p[strcspn(p, "\r")] = 0;
        if (lineno++ == 0 && !strncmp(p, "mint ", 5)) { /* the title, if any */
            out->title = p;
            continue;
        }
        if (!*p)
            continue;
        char *v = strchr(p, ' ');
        if (v)
            *v++ = 0;
        if (!good_key(p))
            st = mint_fail(MINT_E_FORMAT, "%s:%ld: '%.40s' is not a key", label, lineno, p);
        else if (mint_extract_txt_get(out, p))
            st = mint_fail(MINT_E_FORMAT, "%s:%ld: key '%s' given twice", label, lineno, p);
        else if (out->n == MINT_EXTRACT_KEYS)
            st = mint_fail(MINT_E_FORMAT, "%s:%ld: more than %d keys", label, lineno, MINT_EXTRACT_KEYS);
        else {
            out->key[out->n] = p;
            out->val[out->n++] = v ? v : p + strlen(p);
        }
    }
    if (!st && !out->title)
        out->title = out->buf + len; /* "" */
    if (st)
        mint_extract_txt_free(out);
    return st;
}

mint_status mint_extract_txt_read(const char *path, mint_extract_txt *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? mint_fail(MINT_E_NOTFOUND, "%s: no such file", path)
                               : mint_fail(MINT_E_IO, "%s: %s", path, strerror(errno));
    char *text = malloc(MINT_EXTRACT_TXT_MAX + 1);
    size_t n = text ? fread(text, 1, MINT_EXTRACT_TXT_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    mint_status st = !text  ? mint_fail(MINT_E_NOMEM, "out of memory")
                     : bad ? mint_fail(MINT_E_IO, "%s: read error", path)
                           : mint_extract_txt_parse(text, n, path, out);
    free(text);
    return st;
}

const char *mint_extract_txt_get(const mint_extract_txt *t, const char *key)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->key[i], key))
            return t->val[i];
    return NULL;
}

mint_status mint_extract_errors_read(const char *path, long **items, long *n)
{
    *items = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? MINT_OK : mint_fail(MINT_E_IO, "%s: %s", path, strerror(errno));
    mint_status st = MINT_OK;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, capi = 0;
    int old = 0;
    while (!st && getline(&line, &cap, f) > 0) {
        if (lineno++ == 0) {
            old = strncmp(line, "item,", 5) != 0; /* "file,error": made before items were recorded */
            continue;
        }
        if (*n == capi) {
            capi = capi ? 2 * capi : 64;
            long *p = realloc(*items, sizeof *p * (size_t)capi);
            if (!p) {
                st = mint_fail(MINT_E_NOMEM, "out of memory");
                break;
            }
            *items = p;
        }
        char *end;
        errno = 0;
        long item = old ? -1 : strtol(line, &end, 10);
        if (!old && (end == line || *end != ',' || item < 0 || errno))
            st = mint_fail(MINT_E_FORMAT, "%s:%ld: no item number", path, lineno);
        (*items)[(*n)++] = item;
    }
    free(line);
    fclose(f);
    if (st) {
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return st;
}

mint_status mint_extract_part_name(char *buf, size_t n, const char *dir, const char *stem,
                                   size_t chunk, const char *ext)
{
    if ((size_t)snprintf(buf, n, "%s/.parts/%s.%06zu%s", dir, stem, chunk, ext) >= n)
        return mint_fail(MINT_E_ARG, "%s: path too long", dir);
    return MINT_OK;
}

int mint_extract_chunk_committed(const char *dir, size_t c)
{
    char p[4200];
    return !mint_extract_part_name(p, sizeof p, dir, "index", c, ".csv") && access(p, F_OK) == 0;
}

/* The parts of chunk c: file names (no folder) into names[ntaps + 2]. */
static mint_status chunk_parts(char (*names)[256], size_t c, const char *const *stems, int ntaps)
{
    for (int t = 0; t < ntaps + 2; t++) {
        const char *stem = t < ntaps ? stems[t] : t == ntaps ? "errors" : "index";
        const char *ext = t < ntaps ? ".bin" : ".csv";
        if ((size_t)snprintf(names[t], 256, "%s.%06zu%s", stem, c, ext) >= 256)
            return mint_fail(MINT_E_ARG, "tap file name too long");
    }
    return MINT_OK;
}

mint_status mint_extract_chunk_sums(const char *dir, size_t c, const char *const *stems, int ntaps,
                                    const char *itmp)
{
    char (*names)[256] = malloc(256 * (size_t)(ntaps + 2));
    char path[4300], hex[65];
    mint_status st = names ? chunk_parts(names, c, stems, ntaps) : mint_fail(MINT_E_NOMEM, "out of memory");
    base_afile out = { 0 };
    if (!st && !(st = mint_extract_part_name(path, sizeof path, dir, "sums", c, "")))
        st = base_afile_open(&out, path);
    for (int t = 0; t < ntaps + 2 && !st; t++) {
        char part[4600];
        snprintf(part, sizeof part, "%s/.parts/%s", dir, names[t]);
        /* the errors part exists only when the chunk had failures */
        if (t == ntaps && access(part, F_OK))
            continue;
        if (!(st = base_sha256_file(t == ntaps + 1 ? itmp : part, hex)))
            fprintf(out.fp, "%s %s\n", hex, names[t]);
    }
    if (st)
        base_afile_abort(&out);
    else
        st = base_afile_commit(&out);
    free(names);
    return st;
}

/* The recorded SHA-256 of part name in the sums text (lines "<sha256> <name>"),
 * NULL if not listed; *lines gets the count of lines. */
static const char *sum_of(const char *text, const char *name, int *lines)
{
    const char *found = NULL;
    size_t nl = strlen(name);
    *lines = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        (*lines)++;
        if (len == 65 + nl && p[64] == ' ' && !memcmp(p + 65, name, nl) && strspn(p, "0123456789abcdef") >= 64)
            found = p;
        p += len + (e != NULL);
    }
    return found;
}

mint_status mint_extract_chunk_verify(const char *dir, size_t c, const char *const *stems,
                                      int ntaps)
{
    char path[4300], hex[65];
    char (*names)[256] = malloc(256 * (size_t)(ntaps + 2));
    mint_status st = names ? chunk_parts(names, c, stems, ntaps) : mint_fail(MINT_E_NOMEM, "out of memory");
    if (!st)
        st = mint_extract_part_name(path, sizeof path, dir, "sums", c, "");
    char *text = NULL;
    if (!st) {
        FILE *f = fopen(path, "rb");
        size_t n = 0;
        if (!f)
            st = mint_fail(MINT_E_FORMAT, "%s: missing (a chunk committed without checksums)", path);
        else if (!(text = malloc(MINT_EXTRACT_TXT_MAX + 1)))
            st = mint_fail(MINT_E_NOMEM, "out of memory");
        else if ((n = fread(text, 1, MINT_EXTRACT_TXT_MAX, f)) == 0 || memchr(text, 0, n))
            st = mint_fail(MINT_E_FORMAT, "%s: not a list of checksums", path);
        if (f)
            fclose(f);
        if (text)
            text[n] = 0;
    }
    int listed = 0, lines = 0;
    for (int t = 0; t < ntaps + 2 && !st; t++) {
        char part[4600];
        snprintf(part, sizeof part, "%s/.parts/%s", dir, names[t]);
        const char *want = sum_of(text, names[t], &lines);
        if (!want && t == ntaps && access(part, F_OK))
            continue; /* no failures, no errors part */
        listed++;
        if (!want)
            st = mint_fail(MINT_E_FORMAT, "%s: not in %s", part, path);
        else if (base_sha256_file(part, hex) != MINT_OK || memcmp(hex, want, 64))
            st = mint_fail(MINT_E_FORMAT, "%s: damaged (its SHA-256 is not the one recorded when "
                           "it was committed)", part);
    }
    if (!st && listed != lines)
        st = mint_fail(MINT_E_FORMAT, "%s: lists parts the chunk does not have", path);
    free(text);
    free(names);
    return st;
}

mint_status mint_extract_lock(const char *dir, int *fd)
{
    char path[4200];
    *fd = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/.lock", dir) >= sizeof path)
        return mint_fail(MINT_E_ARG, "%s: path too long", dir);
    for (int attempt = 0; attempt < 8; attempt++) {
        int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (f < 0)
            return mint_fail(MINT_E_IO, "%s: %s", path, strerror(errno));
        if (flock(f, LOCK_EX | LOCK_NB)) {
            int e = errno;
            char buf[32] = "";
            ssize_t n = pread(f, buf, sizeof buf - 1, 0);
            close(f);
            if (e != EWOULDBLOCK)
                return mint_fail(MINT_E_IO, "%s: %s", path, strerror(e));
            long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
            if (pid > 0)
                return mint_fail(MINT_E_ARG, "%s is in use by PID %ld (another mint extract); wait for it "
                                 "to finish or stop it", dir, pid);
            return mint_fail(MINT_E_ARG, "%s is in use by another mint extract (starting)", dir);
        }
        /* locked; but a run that just finished may have removed this file
         * (and another taken a new one): the lock counts only on the file
         * the name still refers to */
        struct stat a, b;
        if (fstat(f, &a) || stat(path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
            close(f);
            continue;
        }
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (ftruncate(f, 0) || pwrite(f, buf, (size_t)len, 0) != len) {
            int e = errno;
            close(f);
            return mint_fail(MINT_E_IO, "%s: %s", path, strerror(e));
        }
        *fd = f;
        return MINT_OK;
    }
    return mint_fail(MINT_E_ARG, "%s: cannot take %s (other runs keep replacing it)", dir, path);
}

void mint_extract_unlock(const char *dir, int fd)
{
    if (fd < 0)
        return;
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/.lock", dir) < sizeof path)
        unlink(path); /* while still holding it: the next run makes a new one */
    close(fd);
}
