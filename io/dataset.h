/* dataset.h - image lists: from a list file or a folder tree, sorted,
 * labelled, and split into deterministic shards. */
#ifndef MINT_IO_DATASET_H
#define MINT_IO_DATASET_H

#include <stddef.h>
#include "mint.h"

typedef struct {
    char *path;   /* what to open */
    char *key;    /* name in reports and landmark lookups (relative path) */
    char *label;  /* identity/label ("" if none) */
} io_item;

typedef struct {
    io_item *items;
    size_t n;
} io_list;

/* List file: one image per line, "path" or "path,label" (a tab also
 * separates); blank lines and lines starting with '#' are skipped. Relative
 * paths are taken relative to root (NULL = the current directory); the key
 * is the path as written. */
mint_status io_list_from_file(const char *listfile, const char *root, io_list *out);
/* Every .jpg/.jpeg/.png under dir (recursive, at most 32 levels), sorted
 * by relative path; key = relative path; label = first folder of the
 * relative path (LFW layout <Person>/<file>.jpg), "" at the top level.
 * Symlinks to files and folders are followed; a link to a folder that is
 * already being walked (a cycle) is skipped; a dangling link with an image
 * name is listed, so that reading it reports the missing file. */
mint_status io_list_from_dir(const char *dir, io_list *out);
/* Keep items whose index i satisfies i % n == k (0 <= k < n). */
void io_list_shard(io_list *l, int k, int n);
void io_list_free(io_list *l);

/* Landmark key lookup helper: the key itself, then shorter suffixes at '/'
 * boundaries ("a/b/c.jpg" -> "b/c.jpg" -> "c.jpg"). */
const char *io_key_suffix(const char *key, int drop);



/* File-name-safe copy of a tap/tensor name: '/' and '\\' become '_', a
 * leading '.' is dropped (ONNX names like "/layer1/Add_output_0"). */
void io_safe_name(const char *in, char *out, size_t n);
#endif
