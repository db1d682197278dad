/* audit_run.c - mint_audit_run (include/mint.h): `mint audit` as one
 * library call, so that the CLI (and the web server) only parse and show.
 * Turns the paths given (image files, folders, or a list file) into the
 * audited list, groups it into identities (mint_identity_mode: a folder is
 * one person named after it, ...), loads the landmarks, runs
 * mint_audit_list (audit.c) and writes the reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint/audit.h"
#include "mint/report.h"

/* What a result holds (freed by mint_audit_run_result_free). */
struct mint_audit_store {
    io_list list;
    io_landmarks *lm;
    mint_audit_result res;
    char set_name[1024];
};

void mint_audit_run_defaults(mint_audit_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->alpha = 0.05;
    o->batch = 16;
    o->identity = MINT_IDENTITY_AUTO;
}

static void list_add(io_list *l, const char *path, size_t *cap, int *oom)
{
    if (l->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        io_item *p = realloc(l->items, nc * sizeof *p);
        if (!p) {
            *oom = 1;
            return;
        }
        l->items = p;
        *cap = nc;
    }
    io_item *it = &l->items[l->n];
    it->path = strdup(path);
    it->key = strdup(path);
    it->label = strdup("");
    if (!it->path || !it->key || !it->label) {
        free(it->path), free(it->key), free(it->label);
        *oom = 1;
        return;
    }
    l->n++;
}

/* The last component of a folder path ("a/b/" -> "b"), malloc'd. */
static char *folder_name(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t b = len;
    while (b > 0 && path[b - 1] != '/')
        b--;
    return strndup(path + b, len - b);
}

/* The images of folder dir moved onto the end of out (the folder-relative
 * keys kept: landmark CSVs are keyed that way); with several paths given,
 * the images directly in a folder are one person named after it (a single
 * folder is named by the set name instead). */
static mint_status add_folder(io_list *out, size_t *cap, const char *dir, int several)
{
    io_list d;
    mint_status st = io_list_from_dir(dir, &d);
    if (st)
        return st;
    if (d.n == 0) {
        io_list_free(&d);
        return mint_fail(MINT_E_ARG, "%s: no .jpg/.jpeg/.png images below this folder", dir);
    }
    for (size_t k = 0; !st && k < d.n; k++) {
        if (out->n == *cap) {
            size_t nc = *cap + d.n - k + 16;
            io_item *p = realloc(out->items, nc * sizeof *p);
            if (!p) {
                st = MINT_E_NOMEM;
                break;
            }
            out->items = p;
            *cap = nc;
        }
        io_item *it = &out->items[out->n++];
        *it = d.items[k];
        memset(&d.items[k], 0, sizeof d.items[k]);
        if (several && it->label && !it->label[0]) {
            char *nm = folder_name(dir);
            if (!nm) {
                st = MINT_E_NOMEM;
                break;
            }
            free(it->label);
            it->label = nm;
        }
    }
    io_list_free(&d);
    return st ? mint_fail(st, "out of memory for the image list") : MINT_OK;
}

/* Files as given (an unreadable one becomes an error row later), folders
 * expanded; a path that does not exist is refused (a typo is not an image
 * that failed to read). */
static mint_status images_from_paths(int n, const char *const *paths, io_list *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int oom = 0;
    mint_status st = MINT_OK;
    for (int i = 0; i < n && !st && !oom; i++) {
        struct stat sb;
        if (!paths[i])
            st = mint_fail(MINT_E_ARG, "mint_audit_run: image path %d is NULL", i);
        else if (lstat(paths[i], &sb) && (errno == ENOENT || errno == ENOTDIR))
            st = mint_fail(MINT_E_ARG, "%s: no such file or folder", paths[i]);
        else if (stat(paths[i], &sb) || !S_ISDIR(sb.st_mode))
            list_add(out, paths[i], &cap, &oom);
        else
            st = add_folder(out, &cap, paths[i], n > 1);
    }
    if (!st && oom)
        st = mint_fail(MINT_E_NOMEM, "out of memory for the image list");
    if (st)
        io_list_free(out);
    return st;
}

/* The identities of the audited set: auto = one folder without
 * sub-folders is one person named after the folder, labelled items
 * (sub-folders, several folders, list labels) one person per label,
 * anything else one identity per image (the report warns). name: the one
 * path given (a folder, a file or the list), its last component. */
static mint_audit_unit pick_unit(mint_identity_mode mode, const char *name, int one_dir,
                                 const io_list *l, char *set_name, size_t cap)
{
    snprintf(set_name, cap, "%s", name ? name : "the audited images");
    size_t len = strlen(set_name);
    while (len > 1 && set_name[len - 1] == '/')
        set_name[--len] = 0;
    const char *base = strrchr(set_name, '/');
    if (base && base[1])
        memmove(set_name, base + 1, strlen(base + 1) + 1);
    size_t labelled = 0;
    for (size_t i = 0; i < l->n; i++)
        labelled += l->items[i].label && l->items[i].label[0];
    switch (mode) {
    case MINT_IDENTITY_ONE: return MINT_AUDIT_ONE;
    case MINT_IDENTITY_LABELS: return MINT_AUDIT_BY_LABEL;
    case MINT_IDENTITY_IMAGE: return MINT_AUDIT_BY_IMAGE;
    case MINT_IDENTITY_AUTO: break;
    }
    if (labelled > 0 || one_dir)
        return MINT_AUDIT_BY_LABEL; /* sub-folders; a flat folder is one person */
    return l->n == 1 ? MINT_AUDIT_ONE : MINT_AUDIT_BY_IMAGE;
}

static mint_status check_opts(const mint_audit_run_opts *o)
{
    if (!o->model || !o->mint)
        return mint_fail(MINT_E_ARG, "mint_audit_run: needs the network and the MINT model");
    if ((o->n_images > 0) == (o->list != NULL) || o->n_images < 0 || (o->n_images && !o->images))
        return mint_fail(MINT_E_ARG, "mint_audit_run: needs images: paths (files and/or "
                         "folders) or a list file, one of the two");
    if (o->root && !o->list)
        return mint_fail(MINT_E_ARG, "mint_audit_run: root goes with a list file");
    if (!(o->alpha > 0 && o->alpha < 1))
        return mint_fail(MINT_E_ARG, "alpha must be in (0, 1), got %g", o->alpha);
    if (o->batch < 1 || o->batch > 1024)
        return mint_fail(MINT_E_ARG, "batch %d: wants 1..1024 images", o->batch);
    if ((unsigned)o->identity > MINT_IDENTITY_IMAGE)
        return mint_fail(MINT_E_ARG, "mint_audit_run: unknown identity mode %d", (int)o->identity);
    return MINT_OK;
}

/* The audited list, its identities and the landmarks, into s. */
static mint_status open_inputs(const mint_audit_run_opts *o, struct mint_audit_store *s,
                               mint_audit_unit *unit)
{
    mint_status st = o->list ? io_list_from_file(o->list, o->root, &s->list)
                             : images_from_paths(o->n_images, o->images, &s->list);
    if (!st && s->list.n == 0)
        st = mint_fail(MINT_E_ARG, "%s: no images to audit", o->list ? o->list : "the paths");
    if (!st && o->landmarks)
        st = io_landmarks_load(o->landmarks, &s->lm);
    if (st)
        return st;
    struct stat sb;
    const char *one = o->list ? o->list : o->n_images == 1 ? o->images[0] : NULL;
    const int one_dir = !o->list && one && !stat(one, &sb) && S_ISDIR(sb.st_mode);
    *unit = pick_unit(o->identity, one, one_dir, &s->list, s->set_name, sizeof s->set_name);
    return MINT_OK;
}

static void fill_result(const mint_audit_run_opts *o, mint_audit_run_result *r)
{
    const mint_audit_result *a = &r->store->res;
    r->report = a->report;
    r->n_scored = a->n_scored;
    r->n_failed = a->n_failed;
    r->n_duplicates = a->n_duplicates;
    r->n_above_threshold = a->n_above_threshold;
    r->median_score = a->median_score;
    r->taps = a->taps;
    for (int k = 0; k < MINT_AUDIT_REPORTS; k++)
        r->written[k] = o->report[k];
}

mint_status mint_audit_run(const mint_audit_run_opts *o, mint_audit_run_result *r)
{
    if (!r)
        return mint_fail(MINT_E_ARG, "mint_audit_run: no result");
    memset(r, 0, sizeof *r);
    if (!o)
        return mint_fail(MINT_E_ARG, "mint_audit_run: no options");
    mint_status st = check_opts(o);
    if (st)
        return st;
    if (!(r->store = calloc(1, sizeof *r->store)))
        return mint_fail(MINT_E_NOMEM, "out of memory");
    struct mint_audit_store *s = r->store;
    mint_audit_opts ao = { .model_path = o->model, .mint_path = o->mint, .images = &s->list,
                           .reference = o->reference, .taps = o->taps, .alpha = o->alpha,
                           .batch = o->batch, .created = o->created, .progress = o->progress,
                           .progress_ctx = o->ctx, .set_name = s->set_name,
                           .method = MINT_IDT_RANK };
    st = open_inputs(o, s, &ao.unit);
    ao.landmarks = s->lm;
    if (!st && o->message) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu image%s, kernels %s", s->list.n,
                 s->list.n == 1 ? "" : "s", mint_isa());
        o->message(o->ctx, MINT_MSG_NOTE, msg);
    }
    if (!st)
        st = mint_audit_list(&s->res, &ao);
    for (int k = 0; !st && k < MINT_AUDIT_REPORTS; k++)
        if (o->report[k])
            st = mint_report_audit_write(o->report[k], &s->res.report);
    if (st) {
        mint_audit_run_result_free(r);
        return st;
    }
    fill_result(o, r);
    return MINT_OK;
}

void mint_audit_run_result_free(mint_audit_run_result *r)
{
    if (!r)
        return;
    if (r->store) {
        mint_audit_result_free(&r->store->res);
        io_landmarks_free(r->store->lm);
        io_list_free(&r->store->list);
        free(r->store);
    }
    memset(r, 0, sizeof *r);
}
