/* tlog.c - the signed, hash-chained training log and its keys (see tlog.h;
 * format in docs/format.md section 7). Ed25519 (RFC 8032) signatures come
 * from libsodium (crypto_sign_detached / crypto_sign_verify_detached, which
 * refuses non-canonical signatures); the chain uses mint's SHA-256. */
#include "mint/tlog.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "base/file.h"
#include "base/sha256.h"

#define LINE_MAX_BYTES 4096
#define LOG_MAX_BYTES ((size_t)1 << 30)
#define SIG_BYTES 64

struct mint_tlog {
    int fd;
    char *path;
    uint8_t sk[MINT_TLOG_SK_BYTES];
    uint8_t prev[32];  /* SHA-256 of the last line written */
    int64_t next_n;    /* record number of the next line */
    int64_t records;   /* step records */
    int64_t last_step, last_epoch;
    int failed;        /* a write failed: the file may end in half a line */
};

static const char *const verdict_names[] = {
    "valid", "malformed record", "wrong key", "bad signature", "broken chain",
    "out of order", "truncated", "record after the closing record", "bad record count",
    "final parameters differ",
};

const char *mint_tlog_verdict_name(mint_tlog_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v] : "?";
}

static mint_status sodium_ready(void)
{
    if (sodium_init() < 0)
        return mint_fail(MINT_E_UNSUPPORTED, "libsodium could not be initialised");
    return MINT_OK;
}

/* ---------------- hex ---------------- */

static void to_hex(const uint8_t *b, size_t n, char *hex)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = d[b[i] >> 4];
        hex[2 * i + 1] = d[b[i] & 15];
    }
    hex[2 * n] = 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Exactly 2n lower-case hex digits (the one spelling a signed line may
 * have: another would change the line's hash without breaking its
 * signature). 0 on success. */
static int from_hex(const char *s, size_t len, uint8_t *b, size_t n)
{
    if (len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* ---------------- keys ---------------- */

static mint_status read_small(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    *len = fread(buf, 1, cap - 1, f);
    const int bad = ferror(f);
    fclose(f);
    if (bad)
        return mint_fail(MINT_E_IO, "%s: read failed", path);
    buf[*len] = 0;
    while (*len && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r' || buf[*len - 1] == ' '))
        buf[--*len] = 0;
    return MINT_OK;
}

static mint_status write_key(const char *path, const uint8_t *b, int secret)
{
    char hex[65];
    to_hex(b, 32, hex);
    hex[64] = '\n';
    base_afile a = { 0 };
    mint_status st = base_afile_open(&a, path);
    if (st)
        return st;
    if (secret && fchmod(fileno(a.fp), 0600) != 0) {
        st = mint_fail(MINT_E_IO, "%s: cannot make the key private (chmod 600): %s", a.tmp,
                       strerror(errno));
        base_afile_abort(&a);
        return st;
    }
    st = base_afile_write(&a, hex, 65);
    sodium_memzero(hex, sizeof hex);
    if (st) {
        base_afile_abort(&a);
        return st;
    }
    return base_afile_commit(&a);
}

mint_status mint_tlog_keygen(const char *name, uint8_t pk[MINT_TLOG_PK_BYTES])
{
    mint_status st = sodium_ready();
    if (st)
        return st;
    const size_t n = strlen(name) + 5;
    char *kpath = malloc(n), *ppath = malloc(n);
    if (!kpath || !ppath) {
        free(kpath);
        free(ppath);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    snprintf(kpath, n, "%s.key", name);
    snprintf(ppath, n, "%s.pub", name);
    struct stat sb;
    if (!stat(kpath, &sb) || !stat(ppath, &sb)) {
        st = mint_fail(MINT_E_ARG, "%s exists: a key is never overwritten (choose another name, "
                       "or remove it yourself)", !stat(kpath, &sb) ? kpath : ppath);
    } else {
        uint8_t seed[32], sk[MINT_TLOG_SK_BYTES];
        randombytes_buf(seed, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        st = write_key(kpath, seed, 1);
        if (!st)
            st = write_key(ppath, pk, 0);
        if (st)
            unlink(kpath); /* no secret without its public half */
        sodium_memzero(seed, sizeof seed);
        sodium_memzero(sk, sizeof sk);
    }
    free(kpath);
    free(ppath);
    return st;
}

mint_status mint_tlog_load_secret(const char *path, uint8_t sk[MINT_TLOG_SK_BYTES])
{
    mint_status st = sodium_ready();
    if (st)
        return st;
    char buf[256];
    size_t len;
    uint8_t seed[32], pk[MINT_TLOG_PK_BYTES];
    if ((st = read_small(path, buf, sizeof buf, &len)))
        return st;
    if (from_hex(buf, len, seed, 32))
        st = mint_fail(MINT_E_FORMAT, "%s: not a mint secret key (64 lower-case hex digits, "
                       "as 'mint keygen' writes)", path);
    else
        crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(seed, sizeof seed);
    return st;
}

mint_status mint_tlog_load_public(const char *path_or_hex, uint8_t pk[MINT_TLOG_PK_BYTES])
{
    struct stat sb;
    const size_t n = strlen(path_or_hex);
    if (stat(path_or_hex, &sb) && n == 64 && !from_hex(path_or_hex, n, pk, 32))
        return MINT_OK;
    char buf[256];
    size_t len;
    mint_status st = read_small(path_or_hex, buf, sizeof buf, &len);
    if (st)
        return st;
    if (from_hex(buf, len, pk, 32))
        return mint_fail(MINT_E_FORMAT, "%s: not a mint public key (64 lower-case hex digits, "
                         "as 'mint keygen' writes to NAME.pub)", path_or_hex);
    return MINT_OK;
}

/* ---------------- lines ---------------- */

/* %XX for every byte outside '!'..'~' and for '%' itself: the description
 * is one space-free token. */
static void escape_desc(const char *s, char *out)
{
    static const char d[] = "0123456789ABCDEF";
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c > ' ' && c < 0x7f && c != '%') {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = d[c >> 4];
            *out++ = d[c & 15];
        }
    }
    *out = 0;
}

static int unescape_desc(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int v = 0;
            for (int k = 1; k <= 2; k++) {
                const char h = s[i + k];
                const int x = h >= '0' && h <= '9' ? h - '0' : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (x < 0)
                    return -1;
                v = v * 16 + x;
            }
            c = v;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return 0;
}

typedef enum { LINE_HEADER, LINE_RECORD, LINE_CLOSE } line_kind;

/* One parsed line. */
typedef struct {
    line_kind kind;
    int64_t n, step, epoch, records;
    double loss;
    uint8_t pub[32], params[32], prev[32], sig[SIG_BYTES];
    char created[32];
    char desc[MINT_TLOG_DESC_MAX + 1];
    size_t msg_len; /* bytes signed: the line before " sig=" */
} parsed_line;

/* A decimal integer 0..2^62, no sign, no leading zeros. */
static int parse_count(const char *s, size_t len, int64_t *v)
{
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    if (x > ((int64_t)1 << 62))
        return -1;
    *v = x;
    return 0;
}

/* The fields of each kind, in order (sig last for all). */
static const char *const header_keys[] = { "n", "format", "pub", "created", "desc", NULL };
static const char *const record_keys[] = { "n", "step", "epoch", "loss", "params", "prev", NULL };
static const char *const close_keys[] = { "n", "records", "params", "prev", NULL };

static int parse_field(parsed_line *p, const char *key, const char *v, size_t vl)
{
    char tmp[64];
    if (!strcmp(key, "n"))
        return parse_count(v, vl, &p->n);
    if (!strcmp(key, "step"))
        return parse_count(v, vl, &p->step);
    if (!strcmp(key, "epoch"))
        return parse_count(v, vl, &p->epoch);
    if (!strcmp(key, "records"))
        return parse_count(v, vl, &p->records);
    if (!strcmp(key, "format"))
        return vl == 11 && !memcmp(v, "mint-tlog-1", 11) ? 0 : -1;
    if (!strcmp(key, "pub"))
        return from_hex(v, vl, p->pub, 32);
    if (!strcmp(key, "params"))
        return from_hex(v, vl, p->params, 32);
    if (!strcmp(key, "prev"))
        return from_hex(v, vl, p->prev, 32);
    if (!strcmp(key, "created")) {
        if (vl == 0 || vl >= sizeof p->created)
            return -1;
        memcpy(p->created, v, vl);
        p->created[vl] = 0;
        return 0;
    }
    if (!strcmp(key, "desc"))
        return unescape_desc(v, vl, p->desc, sizeof p->desc);
    /* loss */
    if (vl == 0 || vl >= sizeof tmp)
        return -1;
    memcpy(tmp, v, vl);
    tmp[vl] = 0;
    char *end;
    p->loss = strtod(tmp, &end);
    return *end ? -1 : 0;
}

/* Parse line s[0..len) (no newline). 0, or -1 with why filled. */
static int parse_line(const char *s, size_t len, parsed_line *p, char *why, size_t wn)
{
    memset(p, 0, sizeof *p);
    if (len > LINE_MAX_BYTES || memchr(s, 0, len) || memchr(s, '\r', len)) {
        snprintf(why, wn, "not a log line (too long, or NUL or CR bytes)");
        return -1;
    }
    /* the signature: the last token */
    const char *sp = NULL;
    for (size_t i = len; i-- > 0;)
        if (s[i] == ' ') {
            sp = s + i;
            break;
        }
    if (!sp || (size_t)(s + len - sp) != 1 + 4 + 2 * SIG_BYTES || memcmp(sp + 1, "sig=", 4) ||
        from_hex(sp + 5, 2 * SIG_BYTES, p->sig, SIG_BYTES)) {
        snprintf(why, wn, "no signature (' sig=' and 128 lower-case hex digits) at the end");
        return -1;
    }
    p->msg_len = (size_t)(sp - s);
    const char *const *keys;
    const char *q = s, *end = sp;
    const char *tok_end = memchr(q, ' ', (size_t)(end - q));
    if (!tok_end)
        tok_end = end;
    const size_t tl = (size_t)(tok_end - q);
    if (tl == 6 && !memcmp(q, "header", 6))
        p->kind = LINE_HEADER, keys = header_keys;
    else if (tl == 6 && !memcmp(q, "record", 6))
        p->kind = LINE_RECORD, keys = record_keys;
    else if (tl == 5 && !memcmp(q, "close", 5))
        p->kind = LINE_CLOSE, keys = close_keys;
    else {
        snprintf(why, wn, "unknown record type '%.*s' (header, record or close)",
                 (int)(tl > 20 ? 20 : tl), q);
        return -1;
    }
    q = tok_end;
    for (int k = 0; keys[k]; k++) {
        const size_t kl = strlen(keys[k]);
        if (q >= end || *q != ' ' || (size_t)(end - q) < kl + 2 || memcmp(q + 1, keys[k], kl) ||
            q[1 + kl] != '=') {
            snprintf(why, wn, "field %d should be '%s='", k + 1, keys[k]);
            return -1;
        }
        const char *v = q + 2 + kl;
        const char *ve = memchr(v, ' ', (size_t)(end - v));
        if (!ve)
            ve = end;
        if (parse_field(p, keys[k], v, (size_t)(ve - v))) {
            snprintf(why, wn, "bad value of '%s'", keys[k]);
            return -1;
        }
        q = ve;
    }
    if (q != end) {
        snprintf(why, wn, "unexpected fields after the last one");
        return -1;
    }
    return 0;
}

/* ---------------- verification ---------------- */

static mint_status read_all(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    mint_status st = b ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory reading %s", path);
    while (!st) {
        if (n == cap) {
            if (cap >= LOG_MAX_BYTES) {
                st = mint_fail(MINT_E_FORMAT, "%s: larger than 1 GiB: not a training log", path);
                break;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                st = mint_fail(MINT_E_NOMEM, "out of memory reading %s", path);
                break;
            }
            b = nb;
            cap *= 2;
        }
        const size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                st = mint_fail(MINT_E_IO, "%s: read failed", path);
            break;
        }
    }
    fclose(f);
    if (st) {
        free(b);
        return st;
    }
    *buf = b;
    *len = n;
    return MINT_OK;
}

/* State of a scan over the lines. */
typedef struct {
    uint8_t prev[32];
    int64_t n;        /* lines read */
    size_t good_end;  /* bytes up to the end of the last good line */
} scan_state;

static int refuse(mint_tlog_result *r, mint_tlog_verdict v, int64_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int refuse(mint_tlog_result *r, mint_tlog_verdict v, int64_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->verdict = v;
    r->line = line;
    r->record = line - 1;
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Check one complete line (number ln, 1-based) against the state. */
static int check_line(const char *s, size_t len, int64_t ln, const uint8_t pk[32], scan_state *ss,
                      mint_tlog_result *r)
{
    parsed_line p;
    char why[160];
    if (r->closed)
        return refuse(r, MINT_TLOG_AFTER_CLOSE, ln, "a line after the closing record");
    if (parse_line(s, len, &p, why, sizeof why))
        return refuse(r, MINT_TLOG_MALFORMED, ln, "malformed: %s", why);
    if ((ln == 1) != (p.kind == LINE_HEADER))
        return refuse(r, MINT_TLOG_MALFORMED, ln, ln == 1 ? "the first line is not the header"
                                                          : "a second header");
    if (p.kind == LINE_HEADER && memcmp(p.pub, pk, 32)) {
        char a[65], b[65];
        to_hex(p.pub, 32, a);
        to_hex(pk, 32, b);
        return refuse(r, MINT_TLOG_WRONG_KEY, ln, "the log was signed by key %.16s..., not by the "
                      "key given (%.16s...)", a, b);
    }
    if (crypto_sign_verify_detached(p.sig, (const unsigned char *)s, p.msg_len, pk) != 0)
        return refuse(r, MINT_TLOG_BAD_SIGNATURE, ln, "signature does not verify");
    if (p.n != ln - 1)
        return refuse(r, MINT_TLOG_BAD_ORDER, ln, "record number %" PRId64 " where %" PRId64
                      " was expected (records removed, repeated or reordered)", p.n, ln - 1);
    if (ln > 1 && memcmp(p.prev, ss->prev, 32))
        return refuse(r, MINT_TLOG_BROKEN_CHAIN, ln, "broken chain: prev is not the SHA-256 of "
                      "line %" PRId64 " (a record from another log, or an edited line before)",
                      ln - 1);
    if (p.kind == LINE_HEADER) {
        snprintf(r->created, sizeof r->created, "%s", p.created);
        memcpy(r->description, p.desc, sizeof r->description);
    } else if (p.kind == LINE_RECORD) {
        if (r->records > 0 && p.step <= r->last_step)
            return refuse(r, MINT_TLOG_BAD_ORDER, ln, "step %" PRId64 " does not increase (after "
                          "step %" PRId64 ")", p.step, r->last_step);
        if (r->records > 0 && p.epoch < r->last_epoch)
            return refuse(r, MINT_TLOG_BAD_ORDER, ln, "epoch %" PRId64 " goes back (after epoch %"
                          PRId64 ")", p.epoch, r->last_epoch);
        if (r->records == 0)
            r->first_step = p.step;
        r->records++;
        r->last_step = p.step;
        r->last_epoch = p.epoch;
        memcpy(r->last_sha, p.params, 32);
    } else {
        if (p.records != r->records)
            return refuse(r, MINT_TLOG_BAD_COUNT, ln, "the closing record counts %" PRId64
                          " records, the log has %" PRId64, p.records, r->records);
        r->closed = 1;
        memcpy(r->final_sha, p.params, 32);
    }
    base_sha256 h;
    base_sha256_init(&h);
    base_sha256_update(&h, s, len);
    base_sha256_final(&h, ss->prev);
    return 0;
}

/* Scan buf; open_ok: a log without a closing record is fine (reopen), and
 * an unfinished last line is left for the caller (ss->good_end). 0 if
 * valid so far. */
static int scan(const char *buf, size_t len, const uint8_t pk[32], int open_ok, scan_state *ss,
                mint_tlog_result *r)
{
    memset(ss, 0, sizeof *ss);
    r->first_step = r->last_step = r->last_epoch = -1;
    if (len == 0)
        return refuse(r, MINT_TLOG_TRUNCATED, 1, "empty file: no header");
    size_t pos = 0;
    int64_t ln = 0;
    while (pos < len) {
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        ln++;
        if (!nl) {
            if (open_ok && !r->closed)
                return 0; /* an unfinished last line: reopen drops it */
            return refuse(r, MINT_TLOG_TRUNCATED, ln, "the last line is cut short (no newline): "
                          "truncated log");
        }
        if (check_line(s, (size_t)(nl - s), ln, pk, ss, r))
            return -1;
        pos = (size_t)(nl - buf) + 1;
        ss->good_end = pos;
        ss->n = ln;
    }
    if (!r->closed && !open_ok)
        return refuse(r, MINT_TLOG_TRUNCATED, ln + 1, "no closing record after record %" PRId64
                      ": truncated log (or the run has not finished)", ln - 1);
    return 0;
}

static mint_status refused(const char *path, const mint_tlog_result *r)
{
    return mint_fail(MINT_E_FORMAT, "%s: record %" PRId64 " (line %" PRId64 "): %s", path,
                     r->record, r->line, r->why);
}

mint_status mint_tlog_verify(const char *path, const uint8_t pk[MINT_TLOG_PK_BYTES],
                             const uint8_t *expected_final, mint_tlog_result *r)
{
    memset(r, 0, sizeof *r);
    mint_status st = sodium_ready();
    char *buf;
    size_t len;
    if (!st)
        st = read_all(path, &buf, &len);
    if (st)
        return st;
    scan_state ss;
    const int bad = scan(buf, len, pk, 0, &ss, r);
    free(buf);
    if (bad)
        return refused(path, r);
    if (expected_final && memcmp(expected_final, r->final_sha, 32)) {
        char a[65], b[65];
        to_hex(r->final_sha, 32, a);
        to_hex(expected_final, 32, b);
        refuse(r, MINT_TLOG_FINAL_MISMATCH, ss.n, "final parameters %.16s... are not those "
               "expected (%.16s...)", a, b);
        return refused(path, r);
    }
    return MINT_OK;
}

/* ---------------- writing ---------------- */

static mint_status write_line(mint_tlog *log, const char *msg)
{
    if (log->failed)
        return mint_fail(MINT_E_IO, "%s: an earlier write failed; reopen the log", log->path);
    char line[LINE_MAX_BYTES + 256];
    uint8_t sig[SIG_BYTES];
    const size_t ml = strlen(msg);
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, ml, log->sk);
    memcpy(line, msg, ml);
    memcpy(line + ml, " sig=", 5);
    to_hex(sig, SIG_BYTES, line + ml + 5);
    const size_t len = ml + 5 + 2 * SIG_BYTES;
    line[len] = '\n';
    for (size_t off = 0; off < len + 1;) {
        const ssize_t w = write(log->fd, line + off, len + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log->failed = 1;
            return mint_fail(MINT_E_IO, "%s: write failed: %s", log->path,
                             w < 0 ? strerror(errno) : "no progress");
        }
        off += (size_t)w;
    }
    if (fsync(log->fd) != 0) {
        log->failed = 1;
        return mint_fail(MINT_E_IO, "%s: fsync failed: %s", log->path, strerror(errno));
    }
    base_sha256 h;
    base_sha256_init(&h);
    base_sha256_update(&h, line, len);
    base_sha256_final(&h, log->prev);
    log->next_n++;
    return MINT_OK;
}

static mint_status log_alloc(mint_tlog **out, const char *path, const uint8_t *sk)
{
    *out = NULL;
    mint_status st = sodium_ready();
    if (st)
        return st;
    mint_tlog *log = calloc(1, sizeof *log);
    if (!log || !(log->path = strdup(path))) {
        free(log);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    log->fd = -1;
    memcpy(log->sk, sk, MINT_TLOG_SK_BYTES);
    log->last_step = log->last_epoch = -1;
    *out = log;
    return MINT_OK;
}

/* fsync the folder holding path, so that the new file's name survives a
 * crash too. */
static void sync_dir(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return;
    char *slash = strrchr(d, '/');
    const char *dir = slash ? (slash == d ? "/" : (*slash = 0, d)) : ".";
    const int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(d);
}

mint_status mint_tlog_open_new(mint_tlog **out, const char *path,
                               const uint8_t sk[MINT_TLOG_SK_BYTES], const char *description)
{
    const char *desc = description ? description : "";
    if (strlen(desc) > MINT_TLOG_DESC_MAX)
        return mint_fail(MINT_E_ARG, "training log description longer than %d bytes",
                         MINT_TLOG_DESC_MAX);
    mint_tlog *log;
    mint_status st = log_alloc(&log, path, sk);
    if (st)
        return st;
    log->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (log->fd < 0) {
        st = errno == EEXIST
                 ? mint_fail(MINT_E_ARG, "%s exists: a training log is never overwritten "
                             "(continue it with --resume, or choose another name)", path)
                 : mint_fail(MINT_E_IO, "%s: cannot create: %s", path, strerror(errno));
        mint_tlog_free(log);
        return st;
    }
    sync_dir(path);
    char pkhex[65], created[32], *esc = malloc(3 * strlen(desc) + 1),
         *msg = malloc(LINE_MAX_BYTES);
    if (!esc || !msg) {
        free(esc);
        free(msg);
        mint_tlog_free(log);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    to_hex(sk + 32, 32, pkhex);
    base_utc_now(created);
    escape_desc(desc, esc);
    snprintf(msg, LINE_MAX_BYTES, "header n=0 format=mint-tlog-1 pub=%s created=%s desc=%s", pkhex,
             created, esc);
    st = write_line(log, msg);
    free(esc);
    free(msg);
    if (st) {
        mint_tlog_free(log);
        return st;
    }
    *out = log;
    return MINT_OK;
}

mint_status mint_tlog_reopen(mint_tlog **out, const char *path,
                             const uint8_t sk[MINT_TLOG_SK_BYTES], mint_tlog_result *r)
{
    mint_tlog_result local;
    if (!r)
        r = &local;
    memset(r, 0, sizeof *r);
    mint_tlog *log;
    mint_status st = log_alloc(&log, path, sk);
    char *buf = NULL;
    size_t len = 0;
    if (!st)
        st = read_all(path, &buf, &len);
    if (st) {
        mint_tlog_free(log);
        return st;
    }
    scan_state ss;
    const int bad = scan(buf, len, sk + 32, 1, &ss, r);
    free(buf);
    if (bad || r->closed) {
        if (!bad)
            refuse(r, MINT_TLOG_AFTER_CLOSE, ss.n, "the log is closed: the run it records ended");
        mint_tlog_free(log);
        return refused(path, r);
    }
    if (ss.n == 0) { /* not even a complete header */
        refuse(r, MINT_TLOG_TRUNCATED, 1, "no complete header line");
        mint_tlog_free(log);
        return refused(path, r);
    }
    log->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log->fd < 0) {
        st = mint_fail(MINT_E_IO, "%s: cannot open for appending: %s", path, strerror(errno));
        mint_tlog_free(log);
        return st;
    }
    if (ss.good_end < len) { /* the unfinished line a crash left */
        if (ftruncate(log->fd, (off_t)ss.good_end) != 0 || fsync(log->fd) != 0) {
            st = mint_fail(MINT_E_IO, "%s: cannot remove the unfinished last line: %s", path,
                           strerror(errno));
            mint_tlog_free(log);
            return st;
        }
        r->dropped_bytes = (int64_t)(len - ss.good_end);
    }
    memcpy(log->prev, ss.prev, 32);
    log->next_n = ss.n;
    log->records = r->records;
    log->last_step = r->last_step;
    log->last_epoch = r->last_epoch;
    *out = log;
    return MINT_OK;
}

mint_status mint_tlog_append(mint_tlog *log, int64_t step, int64_t epoch, double loss,
                             const uint8_t param_sha[32])
{
    if (step < 0 || epoch < 0 || step > ((int64_t)1 << 62) || epoch > ((int64_t)1 << 62))
        return mint_fail(MINT_E_ARG, "training log: step and epoch must be in 0..2^62");
    if (log->records > 0 && step <= log->last_step)
        return mint_fail(MINT_E_ARG, "training log: step %" PRId64 " after step %" PRId64
                         " (steps must increase)", step, log->last_step);
    if (log->records > 0 && epoch < log->last_epoch)
        return mint_fail(MINT_E_ARG, "training log: epoch %" PRId64 " after epoch %" PRId64,
                         epoch, log->last_epoch);
    char msg[512], ph[65], prev[65];
    to_hex(param_sha, 32, ph);
    to_hex(log->prev, 32, prev);
    snprintf(msg, sizeof msg, "record n=%" PRId64 " step=%" PRId64 " epoch=%" PRId64
             " loss=%.9g params=%s prev=%s", log->next_n, step, epoch, loss, ph, prev);
    mint_status st = write_line(log, msg);
    if (!st) {
        log->records++;
        log->last_step = step;
        log->last_epoch = epoch;
    }
    return st;
}

int64_t mint_tlog_last_step(const mint_tlog *log)
{
    return log->records > 0 ? log->last_step : -1;
}

mint_status mint_tlog_close(mint_tlog *log, const uint8_t final_sha[32])
{
    char msg[512], ph[65], prev[65];
    to_hex(final_sha, 32, ph);
    to_hex(log->prev, 32, prev);
    snprintf(msg, sizeof msg, "close n=%" PRId64 " records=%" PRId64 " params=%s prev=%s",
             log->next_n, log->records, ph, prev);
    mint_status st = write_line(log, msg);
    if (!st && close(log->fd) != 0)
        st = mint_fail(MINT_E_IO, "%s: close failed: %s", log->path, strerror(errno));
    else if (st)
        close(log->fd);
    log->fd = -1;
    mint_tlog_free(log);
    return st;
}

void mint_tlog_free(mint_tlog *log)
{
    if (!log)
        return;
    if (log->fd >= 0)
        close(log->fd);
    sodium_memzero(log->sk, sizeof log->sk);
    free(log->path);
    free(log);
}
