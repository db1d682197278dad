/* file.h - files users keep are written whole to a temporary name and
 * renamed into place, so a reader never sees half a file. */
#ifndef MINT_BASE_FILE_H
#define MINT_BASE_FILE_H

#include <stddef.h>
#include "mint.h"

/* Write len bytes to path via "<path>.tmp.<pid>" + rename. */
mint_status base_write_file_atomic(const char *path, const void *data, size_t len);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ"; SOURCE_DATE_EPOCH (seconds)
 * overrides the clock, for reproducible reports. */
void base_utc_now(char buf[32]);

#endif
