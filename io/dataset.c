/* dataset.c - image lists for extraction and audits (see dataset.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "io/dataset.h"

#define WALK_MAX_DEPTH 32

static mint_status push(io_list *l, size_t *cap, const char *path, const char *key,
                        const char *label)
{
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        io_item *p = realloc(l->items, nc * sizeof *p);
        if (!p)
            return mint_fail(MINT_E_NOMEM, "out of memory listing images");
        l->items = p;
        *cap = nc;
    }
    io_item *it = &l->items[l->n];
    it->path = strdup(path);
    it->key = strdup(key);
    it->label = strdup(label);
    if (!it->path || !it->key || !it->label) {
        free(it->path);
        free(it->key);
        free(it->label);
        return mint_fail(MINT_E_NOMEM, "out of memory listing images");
    }
    l->n++;
    return MINT_OK;
}

void io_list_free(io_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].path);
        free(l->items[i].key);
        free(l->items[i].label);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

mint_status io_list_from_file(const char *listfile, const char *root, io_list *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(listfile, "r");
    if (!f)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", listfile, strerror(errno));
    size_t cap = 0, lineno = 0, len = 0;
    char *line = NULL;
    ssize_t got;
    mint_status st = MINT_OK;
    while (!st && (got = getline(&line, &len, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (got == 0 || line[0] == '#')
            continue;
        if (memchr(line, 0, (size_t)got)) {
            st = mint_fail(MINT_E_FORMAT, "%s:%zu: NUL byte in line", listfile, lineno);
            break;
        }
        char *sep = strpbrk(line, ",\t");
        const char *label = "";
        if (sep) {
            *sep = 0;
            label = sep + 1;
        }
        if (!line[0]) {
            st = mint_fail(MINT_E_FORMAT, "%s:%zu: empty image path", listfile, lineno);
            break;
        }
        char path[4096];
        int w = (root && line[0] != '/') ? snprintf(path, sizeof path, "%s/%s", root, line)
                                         : snprintf(path, sizeof path, "%s", line);
        if (w < 0 || (size_t)w >= sizeof path) {
            st = mint_fail(MINT_E_FORMAT, "%s:%zu: path too long", listfile, lineno);
            break;
        }
        st = push(out, &cap, path, line, label);
    }
    if (!st && ferror(f))
        st = mint_fail(MINT_E_IO, "%s: read error", listfile);
    free(line);
    fclose(f);
    if (!st && out->n == 0)
        st = mint_fail(MINT_E_ARG, "%s: no images listed", listfile);
    if (st)
        io_list_free(out);
    return st;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

/* Folders on the path from the top to the one being read, by identity:
 * a symlink back to one of them is a cycle and is not entered again. */
typedef struct {
    dev_t dev[WALK_MAX_DEPTH + 2];
    ino_t ino[WALK_MAX_DEPTH + 2];
    int n;
} walk_path;

static int on_path(const walk_path *p, const struct stat *sb)
{
    for (int i = 0; i < p->n; i++)
        if (p->dev[i] == sb->st_dev && p->ino[i] == sb->st_ino)
            return 1;
    return 0;
}

/* Recursive walk; rel is the path below the top ("" at the top). Symlinks
 * are followed (stat): a linked image or folder is listed like a real one. */
static mint_status walk(const char *top, const char *rel, io_list *l, size_t *cap, walk_path *anc)
{
    if (anc->n > WALK_MAX_DEPTH + 1) /* the top folder is anc[0] */
        return mint_fail(MINT_E_ARG, "%s/%s: folders nested deeper than %d levels", top, rel,
                         WALK_MAX_DEPTH);
    /* "DIR/" joins as "DIR/x", not "DIR//x" (landmark lookups by path) */
    const char *sep = top[0] && top[strlen(top) - 1] == '/' ? "" : "/";
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s%s%s", top, rel[0] ? sep : "", rel) >= sizeof dir)
        return mint_fail(MINT_E_ARG, "path too long under %s", top);
    DIR *d = opendir(dir);
    if (!d)
        return mint_fail(MINT_E_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    mint_status st = MINT_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* ., .., hidden files */
        char sub[4096], full[4096];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >= sizeof sub ||
            (size_t)snprintf(full, sizeof full, "%s%s%s", top, sep, sub) >= sizeof full) {
            st = mint_fail(MINT_E_ARG, "path too long under %s", top);
            break;
        }
        struct stat sb;
        int image = 0;
        if (stat(full, &sb)) {
            /* a dangling symlink named like an image is listed, so that the
             * extraction reports it missing instead of silently dropping it */
            image = lstat(full, &sb) == 0 && S_ISLNK(sb.st_mode) && is_image_name(e->d_name);
        } else if (S_ISDIR(sb.st_mode)) {
            if (on_path(anc, &sb))
                continue; /* symlink cycle: this folder is being listed already */
            anc->dev[anc->n] = sb.st_dev;
            anc->ino[anc->n] = sb.st_ino;
            anc->n++;
            st = walk(top, sub, l, cap, anc);
            anc->n--;
            continue;
        } else {
            image = S_ISREG(sb.st_mode) && is_image_name(e->d_name);
        }
        if (image) {
            char label[1024] = "";
            const char *slash = strchr(sub, '/');
            if (slash && (size_t)(slash - sub) < sizeof label)
                memcpy(label, sub, (size_t)(slash - sub)), label[slash - sub] = 0;
            st = push(l, cap, full, sub, label);
        }
    }
    closedir(d);
    return st;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const io_item *)a)->key, ((const io_item *)b)->key);
}

mint_status io_list_from_dir(const char *dir, io_list *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    walk_path anc = { .n = 0 };
    struct stat sb;
    if (stat(dir, &sb))
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", dir, strerror(errno));
    anc.dev[0] = sb.st_dev;
    anc.ino[0] = sb.st_ino;
    anc.n = 1;
    mint_status st = walk(dir, "", out, &cap, &anc);
    if (!st && out->n == 0)
        st = mint_fail(MINT_E_ARG, "%s: no .jpg/.jpeg/.png images found", dir);
    if (st) {
        io_list_free(out);
        return st;
    }
    qsort(out->items, out->n, sizeof *out->items, by_key);
    return MINT_OK;
}

void io_list_shard(io_list *l, int k, int n)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if ((int)(i % (size_t)n) == k) {
            l->items[w++] = l->items[i];
        } else {
            free(l->items[i].path);
            free(l->items[i].key);
            free(l->items[i].label);
        }
    }
    l->n = w;
}

const char *io_key_suffix(const char *key, int drop)
{
    const char *p = key;
    for (int i = 0; i < drop; i++) {
        const char *s = strchr(p, '/');
        if (!s)
            return NULL;
        p = s + 1;
        while (*p == '/') /* "a//b" has the segments a and b */
            p++;
    }
    return p;
}

int io_safe_name(const char *in, char *out, size_t n)
{
    if (n == 0)
        return -1;
    while (*in == '.' || *in == '/')
        in++;
    const size_t len = strlen(in);
    snprintf(out, n, "%s", in);
    for (char *p = out; *p; p++)
        if (*p == '/' || *p == '\\')
            *p = '_';
    return len == 0 || len > IO_SAFE_NAME_MAX || len >= n ? -1 : 0;
}
