/* tm_data.c - sources, split and split lists of `mint train-model`. */
#include "mint/tm_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/json.h"
#include "base/nameidx.h"
#include "base/rng.h"
#include "io/idx.h"

void tm_data_free(tm_data *d)
{
    if (!d)
        return;
    io_list_free(&d->all);
    free(d->ident);
    for (int i = 0; i < d->nnames; i++)
        free(d->names[i]);
    free(d->names);
    free(d->role);
    free(d->cls);
    free(d->ident_cls);
    memset(d, 0, sizeof *d);
}

/* Append l's items to d->all (moved: l is emptied). */
static mint_status append(io_list *all, io_list *l)
{
    io_item *p = realloc(all->items, (all->n + l->n + 1) * sizeof *p);
    if (!p)
        return mint_fail(MINT_E_NOMEM, "out of memory for the image list");
    all->items = p;
    memcpy(p + all->n, l->items, l->n * sizeof *p);
    all->n += l->n;
    free(l->items);
    l->items = NULL;
    l->n = 0;
    return MINT_OK;
}

static int is_idx_name(const char *s)
{
    return strstr(s, "-idx3") != NULL || strstr(s, ".idx") != NULL;
}

/* The images of an idx file as "<file>#<i>" items labelled by the idx
 * labels file beside it. */
static mint_status idx_list(const char *path, io_list *out)
{
    memset(out, 0, sizeof *out);
    char lab[4096];
    if (io_idx_labels_path(path, lab, sizeof lab))
        return mint_fail(MINT_E_ARG, "%s: no labels file name can be derived (the name must "
                         "contain \"images-idx3\", as MNIST's files do)", path);
    io_idx im, lb;
    mint_status st = io_idx_load(path, &im);
    if (st)
        return st;
    uint32_t n = im.dims[0];
    int rank = im.rank;
    io_idx_free(&im);
    if (rank != 3)
        return mint_fail(MINT_E_FORMAT, "%s: an idx labels file where images were expected", path);
    if ((st = io_idx_load(lab, &lb)))
        return st;
    if (lb.rank != 1 || lb.dims[0] != n) {
        io_idx_free(&lb);
        return mint_fail(MINT_E_FORMAT, "%s: %u labels for %u images in %s", lab,
                         lb.dims[0], n, path);
    }
    out->items = calloc(n, sizeof *out->items);
    if (!out->items) {
        io_idx_free(&lb);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    out->n = n;
    for (uint32_t i = 0; i < n && !st; i++) {
        char p[4200], l[8];
        snprintf(p, sizeof p, "%s#%u", path, i);
        snprintf(l, sizeof l, "%u", lb.data[i]);
        io_item *it = &out->items[i];
        if (!(it->path = strdup(p)) || !(it->key = strdup(p)) || !(it->label = strdup(l)))
            st = mint_fail(MINT_E_NOMEM, "out of memory");
    }
    io_idx_free(&lb);
    if (st)
        io_list_free(out);
    return st;
}

static mint_status gather_one(const char *src, const char *root, io_list *l, int *digits)
{
    struct stat sb;
    if (stat(src, &sb) != 0)
        return mint_fail(MINT_E_IO, "%s: %s", src, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return io_list_from_dir(src, l);
    if (is_idx_name(src)) {
        *digits = 1;
        return idx_list(src, l);
    }
    mint_status st = io_list_from_file(src, root, l);
    char f[4096];
    size_t i;
    if (!st && l->n && io_idx_is_ref(l->items[0].path, f, sizeof f, &i))
        *digits = 1; /* a list of "<idx file>#<i>" images (a split list) */
    return st;
}

mint_status tm_data_gather(tm_data *d, const char *const *src, int nsrc,
                           const char *const *ext, int next, const char *root,
                           uint8_t **ext_only)
{
    memset(d, 0, sizeof *d);
    *ext_only = NULL;
    if (nsrc < 1)
        return mint_fail(MINT_E_ARG, "no training data: give --data");
    mint_status st = MINT_OK;
    size_t n_train = 0;
    for (int k = 0; k < nsrc + next && !st; k++) {
        io_list l = { 0 };
        const char *s = k < nsrc ? src[k] : ext[k - nsrc];
        if (!(st = gather_one(s, root, &l, &d->digits))) {
            if (l.n == 0)
                st = mint_fail(MINT_E_ARG, "%s: no images", s);
            else
                st = append(&d->all, &l);
        }
        io_list_free(&l);
        if (k == nsrc - 1)
            n_train = d->all.n;
    }
    if (!st && !(*ext_only = calloc(d->all.n + 1, 1)))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t i = n_train; !st && i < d->all.n; i++)
        (*ext_only)[i] = 1;
    /* identities */
    base_nameidx ix = { 0 };
    if (!st && !(d->ident = malloc((d->all.n + 1) * sizeof *d->ident)))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < d->all.n; i++) {
        const char *lab = d->all.items[i].label ? d->all.items[i].label : "";
        int id = base_nameidx_get(&ix, lab);
        if (id < 0) {
            char **nn = realloc(d->names, (size_t)(d->nnames + 1) * sizeof *nn);
            if (!nn || !(nn[d->nnames] = strdup(lab)) ||
                base_nameidx_add(&ix, nn[d->nnames], d->nnames) != -1) {
                if (nn)
                    d->names = nn;
                st = mint_fail(MINT_E_NOMEM, "out of memory");
                break;
            }
            d->names = nn;
            id = d->nnames++;
        }
        d->ident[i] = id;
    }
    base_nameidx_free(&ix);
    if (st) {
        free(*ext_only);
        *ext_only = NULL;
        tm_data_free(d);
    }
    return st;
}

static void shuffle_i32(int32_t *a, int64_t n, base_rng *r)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)base_rng_below(r, (uint64_t)i + 1);
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Units (identities, or images) are shuffled and the first `take` chosen:
 * chosen[unit] = 1. */
static void choose(uint8_t *chosen, int32_t *units, int64_t n, int64_t take, base_rng *r)
{
    shuffle_i32(units, n, r);
    for (int64_t i = 0; i < n; i++)
        chosen[units[i]] = i < take;
}

static int64_t share(double f, int64_t n)
{
    int64_t k = (int64_t)llround(f * (double)n);
    return k < 0 ? 0 : k > n ? n : k;
}

/* Member units first (identities with >= min_images images, not from
 * external-only sources), then the MINT shares of members and external. */
static mint_status split_units(tm_data *d, const uint8_t *ext_only, double members,
                               int min_images, int max_classes, double mint_share,
                               uint64_t seed, int64_t nunits, const int32_t *unit)
{
    const int64_t n = (int64_t)d->all.n;
    int64_t *count = calloc((size_t)nunits + 1, sizeof *count);
    uint8_t *ext = calloc((size_t)nunits + 1, 1), *mem = calloc((size_t)nunits + 1, 1),
            *mint = calloc((size_t)nunits + 1, 1);
    int32_t *u = malloc(((size_t)nunits + 1) * sizeof *u);
    mint_status st = count && ext && mem && mint && u ? MINT_OK
                                                       : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int64_t i = 0; !st && i < n; i++) {
        count[unit[i]]++;
        ext[unit[i]] |= ext_only[i];
    }
    base_rng r = base_rng_stream(seed, 0x5911);
    int64_t ne = 0;
    for (int64_t k = 0; !st && k < nunits; k++)
        if (!ext[k] && count[k] >= min_images)
            u[ne++] = (int32_t)k;
    int64_t take = share(members, ne);
    if (max_classes > 0 && d->by_label && take > max_classes)
        take = max_classes;
    if (!st && take < 1)
        st = mint_fail(MINT_E_ARG, "no members: %lld %s eligible (at least %d images each), "
                       "member fraction %g", (long long)ne, d->by_label ? "identities" : "images",
                       min_images, members);
    if (!st)
        choose(mem, u, ne, take, &r);
    /* MINT shares, drawn separately among member and external units */
    for (int side = 0; !st && side < 2; side++) {
        int64_t m = 0;
        for (int64_t k = 0; k < nunits; k++)
            if (count[k] && (mem[k] != 0) == (side == 0))
                u[m++] = (int32_t)k;
        uint8_t *pick = calloc((size_t)nunits + 1, 1);
        if (!pick) {
            st = mint_fail(MINT_E_NOMEM, "out of memory");
            break;
        }
        choose(pick, u, m, share(mint_share, m), &r);
        for (int64_t k = 0; k < nunits; k++)
            if (count[k] && (mem[k] != 0) == (side == 0))
                mint[k] = pick[k];
        free(pick);
    }
    for (int64_t i = 0; !st && i < n; i++) {
        int32_t k = unit[i];
        d->role[i] = mem[k] ? (mint[k] ? TM_MEMBER_MINT : TM_MEMBER_EVAL)
                            : (mint[k] ? TM_EXTERNAL_MINT : TM_EXTERNAL_EVAL);
    }
    free(count);
    free(ext);
    free(mem);
    free(mint);
    free(u);
    return st;
}

/* Task classes: the member identities in name order (label split) or every
 * label that members carry (sample split), 0..classes-1. */
static mint_status make_classes(tm_data *d)
{
    int32_t *map = malloc(((size_t)d->nnames + 1) * sizeof *map);
    if (!map)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (int k = 0; k < d->nnames; k++)
        map[k] = -1;
    for (size_t i = 0; i < d->all.n; i++)
        if (d->role[i] <= TM_MEMBER_EVAL)
            map[d->ident[i]] = 0;
    /* name order; digit labels "0".."9" sort numerically by length first */
    d->classes = 0;
    for (;;) {
        int best = -1;
        for (int k = 0; k < d->nnames; k++) {
            if (map[k] != 0)
                continue;
            if (best < 0)
                best = k;
            else {
                size_t lk = strlen(d->names[k]), lb = strlen(d->names[best]);
                if (lk < lb || (lk == lb && strcmp(d->names[k], d->names[best]) < 0))
                    best = k;
            }
        }
        if (best < 0)
            break;
        map[best] = -2 - d->classes++;
    }
    for (int k = 0; k < d->nnames; k++)
        map[k] = map[k] <= -2 ? -2 - map[k] : -1;
    for (size_t i = 0; i < d->all.n; i++)
        d->cls[i] = d->role[i] <= TM_MEMBER_EVAL ? map[d->ident[i]] : -1;
    free(d->ident_cls);
    d->ident_cls = map;
    if (d->classes < 2)
        return mint_fail(MINT_E_ARG, "the members carry %d label%s; training a classifier needs "
                         "at least 2", d->classes, d->classes == 1 ? "" : "s");
    return MINT_OK;
}

mint_status tm_data_split(tm_data *d, const uint8_t *ext_only, int by_label, double members,
                          int min_images, int max_classes, double mint_share, uint64_t seed)
{
    const int64_t n = (int64_t)d->all.n;
    if (!(members > 0.0 && members < 1.0) || !(mint_share > 0.0 && mint_share < 1.0))
        return mint_fail(MINT_E_ARG, "member fraction %g and MINT share %g must lie in (0, 1)",
                         members, mint_share);
    d->by_label = by_label;
    if (by_label)
        for (int64_t i = 0; i < n; i++)
            if (!d->names[d->ident[i]][0])
                return mint_fail(MINT_E_ARG, "%s has no identity label; a split by identity "
                                 "needs one per image (folders per person, or path,label "
                                 "lists), or use --split-by sample", d->all.items[i].path);
    free(d->role);
    free(d->cls);
    d->role = malloc((size_t)n + 1);
    d->cls = malloc(((size_t)n + 1) * sizeof *d->cls);
    int32_t *unit = malloc(((size_t)n + 1) * sizeof *unit);
    mint_status st = d->role && d->cls && unit ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int64_t i = 0; !st && i < n; i++)
        unit[i] = by_label ? d->ident[i] : (int32_t)i;
    if (!st)
        st = split_units(d, ext_only, members, by_label ? min_images : 1, max_classes, mint_share,
                         seed, by_label ? d->nnames : n, unit);
    free(unit);
    if (!st)
        st = make_classes(d);
    return st;
}

static mint_status write_list(const tm_data *d, const char *dir, const char *name, int r0, int r1)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    base_afile a;
    mint_status st = base_afile_open(&a, path);
    if (st)
        return st;
    for (size_t i = 0; i < d->all.n; i++)
        if (d->role[i] == r0 || d->role[i] == r1)
            fprintf(a.fp, "%s,%s\n", d->all.items[i].path, d->names[d->ident[i]]);
    return base_afile_commit(&a);
}

mint_status tm_data_write_split(const tm_data *d, const char *dir, const char *desc)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return mint_fail(MINT_E_IO, "%s: cannot create: %s", dir, strerror(errno));
    static const struct { const char *name; int r0, r1; } lists[] = {
        { "members.csv", TM_MEMBER_MINT, TM_MEMBER_EVAL },
        { "external.csv", TM_EXTERNAL_MINT, TM_EXTERNAL_EVAL },
        { "mint-members.csv", TM_MEMBER_MINT, TM_MEMBER_MINT },
        { "mint-external.csv", TM_EXTERNAL_MINT, TM_EXTERNAL_MINT },
        { "eval-members.csv", TM_MEMBER_EVAL, TM_MEMBER_EVAL },
        { "eval-external.csv", TM_EXTERNAL_EVAL, TM_EXTERNAL_EVAL },
    };
    mint_status st = MINT_OK;
    for (size_t k = 0; k < sizeof lists / sizeof *lists && !st; k++)
        st = write_list(d, dir, lists[k].name, lists[k].r0, lists[k].r1);
    if (st)
        return st;
    int64_t c[4] = { 0 };
    for (size_t i = 0; i < d->all.n; i++)
        c[d->role[i]]++;
    base_json j;
    base_json_init(&j, 2);
    base_json_object_begin(&j, NULL);
    base_json_string(&j, "split_by", d->by_label ? "label" : "sample");
    base_json_string(&j, "run", desc);
    base_json_int(&j, "classes", d->classes);
    base_json_int(&j, "mint_members", c[TM_MEMBER_MINT]);
    base_json_int(&j, "eval_members", c[TM_MEMBER_EVAL]);
    base_json_int(&j, "mint_external", c[TM_EXTERNAL_MINT]);
    base_json_int(&j, "eval_external", c[TM_EXTERNAL_EVAL]);
    base_json_object_end(&j);
    char path[4096];
    snprintf(path, sizeof path, "%s/split.json", dir);
    st = base_json_finish(&j);
    if (!st)
        st = base_write_file_atomic(path, j.out.p, j.out.len);
    base_json_free(&j);
    return st;
}
