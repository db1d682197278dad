/* extract_dir.h - the one reader of an extraction folder (docs/format.md
 * section 5): extract.txt (and .parts/config, the same text while a run is
 * unfinished), errors.csv, and the committed chunks of .parts with their
 * checksums. index.csv is read by mint_feats_index_load (mint/features.h).
 * Used by extract's resume, merge, and train/eval (network and taps). Every
 * size is bounded by the file that holds it. */
#ifndef MINT_EXTRACT_DIR_H
#define MINT_EXTRACT_DIR_H

#include <stddef.h>
#include "mint.h"

#define MINT_EXTRACT_TXT_MAX (64 * 1024) /* bytes of extract.txt, at most */
#define MINT_EXTRACT_KEYS 64             /* key lines, at most */

/* extract.txt parsed: the title line ("mint extract run", "mint merge of N
 * folders": a first line starting with "mint "; "" if none), then "key
 * value" lines, each key once, in file order. */
typedef struct {
    char *title;
    int n;
    char *key[MINT_EXTRACT_KEYS], *val[MINT_EXTRACT_KEYS];
    char *buf; /* private */
} mint_extract_txt;

/* Parse text (label names it in messages): MINT_E_FORMAT naming the line
 * for a NUL byte, a key twice, a bad key, more than MINT_EXTRACT_KEYS keys
 * or more than MINT_EXTRACT_TXT_MAX bytes. */
mint_status mint_extract_txt_parse(const char *text, size_t len, const char *label,
                                   mint_extract_txt *out);
/* Read path: MINT_E_NOTFOUND when it does not exist. */
mint_status mint_extract_txt_read(const char *path, mint_extract_txt *out);
/* Value of key, NULL when the file has no such line. */
const char *mint_extract_txt_get(const mint_extract_txt *t, const char *key);
void mint_extract_txt_free(mint_extract_txt *t);

/* errors.csv ("item,file,error"; "file,error" from before items were
 * recorded): *n data lines; (*items)[i] = the item column, -1 for the old
 * format. An absent file is MINT_OK with *n = 0. */
mint_status mint_extract_errors_read(const char *path, long **items, long *n);

/* .parts: chunk c of a run is committed when .parts/index.<c>.csv exists
 * (renamed into place last). .parts/sums.<c> (renamed before it) holds one
 * "<sha256> <part file name>" line per part of the chunk: the tap parts
 * <stem>.<c>.bin, errors.<c>.csv and index.<c>.csv. */
mint_status mint_extract_part_name(char *buf, size_t n, const char *dir, const char *stem,
                                   size_t chunk, const char *ext);
/* Is chunk c committed? 1 yes, 0 no. */
int mint_extract_chunk_committed(const char *dir, size_t c);
/* Check a committed chunk: its sums file lists exactly the ntaps tap parts
 * (stems), errors and index parts, and each part's SHA-256 matches:
 * MINT_OK, else MINT_E_FORMAT naming the part (the chunk must be redone). */
mint_status mint_extract_chunk_verify(const char *dir, size_t c, const char *const *stems,
                                      int ntaps);
/* Write .parts/sums.<c> for the parts of chunk c as they are on disk now
 * (the index part under its temporary name itmp): to be called after the
 * other parts are committed, before the index part is renamed. */
mint_status mint_extract_chunk_sums(const char *dir, size_t c, const char *const *stems, int ntaps,
                                    const char *itmp);

/* Take DIR/.lock for this process: the file holds its PID and an flock
 * (released by the kernel when the process dies, so the lock of a killed
 * run is stale and taken over). *fd gets the lock's descriptor. MINT_E_ARG
 * "DIR is in use by PID n" when another live process holds it. */
mint_status mint_extract_lock(const char *dir, int *fd);
/* Release a lock taken by mint_extract_lock (fd < 0: nothing). */
void mint_extract_unlock(const char *dir, int fd);

#endif
