/* error.c - status codes and the per-thread error message.
 * Library code records what went wrong with mint_fail() and returns the
 * status; only the CLI prints and exits. */
#include <stdarg.h>
#include <stdio.h>
#include "mint.h"

static _Thread_local char last_error[512];

const char *mint_strerror(mint_status s)
{
    switch (s) {
    case MINT_OK: return "success";
    /* not errno's words ("input/output error", "invalid argument"): these
     * head the CLI's messages, and a missing file or a refused input is
     * neither */
    case MINT_E_IO: return "cannot read or write the file";
    case MINT_E_FORMAT: return "malformed file";
    case MINT_E_UNSUPPORTED: return "unsupported";
    case MINT_E_SHAPE: return "shape mismatch";
    case MINT_E_NOMEM: return "out of memory";
    case MINT_E_ARG: return "refused";
    case MINT_E_NOTFOUND: return "not found";
    }
    return "unknown error";
}

const char *mint_last_error(void) { return last_error; }

mint_status mint_fail(mint_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}
