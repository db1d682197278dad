/* file.h - files users keep are written whole to a temporary name and
 * renamed into place, so a reader never sees half a file. */
#ifndef MINT_BASE_FILE_H
#define MINT_BASE_FILE_H

#include <stddef.h>
#include <stdio.h>
#include "mint.h"

/* The one way files are put in place: an O_EXCL temporary file
 * "<path>.tmp.<pid>.<n>" beside path (n counts within the process, so
 * threads and concurrent runs never share one), written through fp, then
 * base_afile_commit: fflush + fsync of the file, rename over path, fsync of
 * the folder. On any failure (and on base_afile_abort) the temporary file is
 * removed. Error messages name the file. */
typedef struct {
    FILE *fp;    /* write here (fwrite, fprintf, ...) */
    char *path;  /* final name */
    char *tmp;   /* temporary name */
} base_afile;

/* Opening first removes the temporary files of path that killed runs left
 * (base_remove_stale_temps). */
mint_status base_afile_open(base_afile *a, const char *path);
/* Remove "<path>.tmp.<pid>.<n>" and "<path>.tmp.<pid>" (older mint) whose
 * process is gone (kill(pid, 0) fails with ESRCH): what a run killed while
 * writing path left behind. Best effort: errors are ignored. */
void base_remove_stale_temps(const char *path);
/* fwrite all n bytes; MINT_E_IO naming the temporary file on failure (the
 * caller then aborts). */
mint_status base_afile_write(base_afile *a, const void *data, size_t n);
/* Flush, fsync, close, rename into place, fsync the folder. Frees a; on
 * failure the temporary file is removed. */
mint_status base_afile_commit(base_afile *a);
/* Close and remove the temporary file; frees a. Safe on a zeroed a. */
void base_afile_abort(base_afile *a);

/* Write len bytes to path through base_afile. */
mint_status base_write_file_atomic(const char *path, const void *data, size_t len);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ"; SOURCE_DATE_EPOCH (seconds)
 * overrides the clock, for reproducible reports. */
void base_utc_now(char buf[32]);

#endif
