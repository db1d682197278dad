/* file.c - whole-file writes into place and the report clock (see file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/file.h"

mint_status base_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!path || (!data && len))
        return mint_fail(MINT_E_ARG, "base_write_file_atomic: NULL argument");
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        mint_status st = mint_fail(MINT_E_IO, "%s: cannot create temporary file '%s': %s", path,
                                   tmp, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = data;
    size_t left = len;
    mint_status st = MINT_OK;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = mint_fail(MINT_E_IO, "%s: write failed: %s", tmp, strerror(errno));
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 && st == MINT_OK)
        st = mint_fail(MINT_E_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == MINT_OK && rename(tmp, path) != 0)
        st = mint_fail(MINT_E_IO, "%s: rename from '%s' failed: %s", path, tmp, strerror(errno));
    if (st != MINT_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

void base_utc_now(char buf[32])
{
    time_t t = time(NULL);
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e) {
        char *end;
        long long v = strtoll(e, &end, 10);
        if (*end == '\0' && v >= 0)
            t = (time_t)v;
    }
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, 32, "1970-01-01T00:00:00Z");
}
