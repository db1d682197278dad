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
 * boundaries ("a/b/c.jpg" -> "b/c.jpg" -> "c.jpg"; "a//b.jpg" -> "b.jpg"). */
const char *io_key_suffix(const char *key, int drop);



/* Longest file stem io_safe_name accepts, in bytes. */
#define IO_SAFE_NAME_MAX 200

/* The file stem of a tap/tensor name (the tap is written to <stem>.npy; the
 * rule is in docs/format.md, "Extraction folders"): every leading '.' and '/'
 * is dropped, then each '/' and '\\' becomes '_'; every other byte (':',
 * spaces, inner dots, UTF-8) is kept as it is. ONNX names such as
 * "/layer1/Add_output_0" give "layer1_Add_output_0". Returns 0, or -1 (out
 * then holds "" or a truncated stem) when the stem is empty or longer than
 * IO_SAFE_NAME_MAX bytes or than n - 1: such a name cannot be a tap file. */
int io_safe_name(const char *in, char *out, size_t n);
#endif
