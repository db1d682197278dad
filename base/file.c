/* file.c - whole-file writes into place and the report clock (see file.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/file.h"

/* Best effort: some file systems refuse fsync on directories. */
static void sync_dir(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return;
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash) {
        slash[slash == d ? 1 : 0] = '\0';
        dir = d;
    }
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(d);
}

/* The PID in "<pid>" or "<pid>.<n>" (the rest of a temporary name), else 0. */
static long temp_pid(const char *p)
{
    char *end;
    if (*p < '1' || *p > '9')
        return 0;
    errno = 0;
    long pid = strtol(p, &end, 10);
    if (errno || (*end && (*end != '.' || !end[1] || strspn(end + 1, "0123456789") != strlen(end + 1))))
        return 0;
    return pid;
}

void base_remove_stale_temps(const char *path)
{
    char dir[4096];
    const char *slash = path ? strrchr(path, '/') : NULL, *base = slash ? slash + 1 : path;
    if (!path || !*base)
        return;
    if ((size_t)snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
                         slash ? path : ".") >= sizeof dir)
        return;
    if (!dir[0])
        snprintf(dir, sizeof dir, "/");
    DIR *d = opendir(dir);
    if (!d)
        return;
    const size_t bl = strlen(base);
    for (struct dirent *e; (e = readdir(d));) {
        const char *n = e->d_name;
        long pid = strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5) ? 0 : temp_pid(n + bl + 5);
        /* alive, or not ours to signal (EPERM): it may still be writing */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[8300];
        if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, n) < sizeof full)
            unlink(full);
    }
    closedir(d);
}

mint_status base_afile_open(base_afile *a, const char *path)
{
    static atomic_uint counter;
    memset(a, 0, sizeof *a);
    if (!path || !*path)
        return mint_fail(MINT_E_ARG, "base_afile_open: no path");
    size_t tl = strlen(path) + 48;
    a->path = strdup(path);
    a->tmp = malloc(tl);
    if (!a->path || !a->tmp) {
        base_afile_abort(a);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    }
    base_remove_stale_temps(path);
    int fd = -1;
    for (int attempt = 0; attempt < 64 && fd < 0; attempt++) {
        snprintf(a->tmp, tl, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        mint_status st = mint_fail(MINT_E_IO, "%s: cannot create temporary file '%s': %s", path,
                                   a->tmp, strerror(errno));
        free(a->tmp); /* nothing was created: abort must not unlink it */
        a->tmp = NULL;
        base_afile_abort(a);
        return st;
    }
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        mint_status st = mint_fail(MINT_E_IO, "%s: fdopen: %s", a->tmp, strerror(errno));
        close(fd);
        base_afile_abort(a);
        return st;
    }
    return MINT_OK;
}

mint_status base_afile_write(base_afile *a, const void *data, size_t n)
{
    if (n && fwrite(data, 1, n, a->fp) != n)
        return mint_fail(MINT_E_IO, "%s: write failed: %s", a->tmp, strerror(errno));
    return MINT_OK;
}

void base_afile_abort(base_afile *a)
{
    if (a->fp)
        fclose(a->fp);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

mint_status base_afile_commit(base_afile *a)
{
    mint_status st = MINT_OK;
    if (fflush(a->fp) != 0 || ferror(a->fp))
        st = mint_fail(MINT_E_IO, "%s: write failed: %s", a->tmp, strerror(errno));
    else if (fsync(fileno(a->fp)) != 0)
        st = mint_fail(MINT_E_IO, "%s: fsync failed: %s", a->tmp, strerror(errno));
    int cerr = fclose(a->fp);
    a->fp = NULL;
    if (!st && cerr != 0)
        st = mint_fail(MINT_E_IO, "%s: close failed: %s", a->tmp, strerror(errno));
    if (!st && rename(a->tmp, a->path) != 0)
        st = mint_fail(MINT_E_IO, "%s: cannot rename '%s' into place: %s", a->path, a->tmp,
                       strerror(errno));
    if (st) {
        base_afile_abort(a);
        return st;
    }
    sync_dir(a->path);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
    return MINT_OK;
}

mint_status base_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!path || (!data && len))
        return mint_fail(MINT_E_ARG, "base_write_file_atomic: NULL argument");
    base_afile a;
    mint_status st = base_afile_open(&a, path);
    if (!st && (st = base_afile_write(&a, data, len)))
        base_afile_abort(&a);
    else if (!st)
        st = base_afile_commit(&a);
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
