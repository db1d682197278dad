/* tlog.h - the verifiable training log (issue 10, item 4): an append-only
 * text file, one record per line, each line signed with Ed25519 (libsodium)
 * and chained to the line before it by SHA-256, so that an auditor holding
 * the trainer's public key can check afterwards that the log is whole, in
 * order and unedited, and that the network file given to them is the one
 * the logged run ended with. Format: docs/format.md section 7.
 *
 *   header n=0 format=mint-tlog-1 pub=<hex32> created=<UTC> desc=<%-escaped> sig=<hex64>
 *   record n=<k> step=<s> epoch=<e> loss=<%.9g> params=<hex32> prev=<hex32> sig=<hex64>
 *   close n=<k> records=<count> params=<hex32> prev=<hex32> sig=<hex64>
 *
 * params is net_graph_param_sha256 of the trained network at that step;
 * prev is the SHA-256 of the previous line's bytes (without its newline);
 * sig signs the line's bytes before " sig=". Each append is written with
 * one write() and fsync'd, so a crash loses at most the line being written
 * (mint_tlog_reopen drops such an unfinished last line). The log is not
 * written to a temporary name and renamed like the other files users keep:
 * it grows during the run and every line must survive a crash as soon as it
 * is written. */
#ifndef MINT_MINT_TLOG_H
#define MINT_MINT_TLOG_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

#define MINT_TLOG_PK_BYTES 32
#define MINT_TLOG_SK_BYTES 64 /* libsodium's Ed25519 secret key: seed || public key */
#define MINT_TLOG_DESC_MAX 1024

/* Keys. NAME.key: the 32-byte Ed25519 seed as 64 lower-case hex digits and
 * a newline, mode 0600; NAME.pub: the 32-byte public key, the same way.
 * mint_tlog_keygen refuses to overwrite either file (MINT_E_ARG). */
mint_status mint_tlog_keygen(const char *name, uint8_t pk[MINT_TLOG_PK_BYTES]);
mint_status mint_tlog_load_secret(const char *path, uint8_t sk[MINT_TLOG_SK_BYTES]);
/* A NAME.pub file, or (when no such file exists) the 64 hex digits
 * themselves. */
mint_status mint_tlog_load_public(const char *path_or_hex, uint8_t pk[MINT_TLOG_PK_BYTES]);

typedef enum {
    MINT_TLOG_VALID = 0,
    MINT_TLOG_MALFORMED,     /* not a record line of this format */
    MINT_TLOG_WRONG_KEY,     /* the header names another public key */
    MINT_TLOG_BAD_SIGNATURE, /* the line's signature does not verify */
    MINT_TLOG_BROKEN_CHAIN,  /* prev is not the SHA-256 of the line before */
    MINT_TLOG_BAD_ORDER,     /* record number, step or epoch out of order */
    MINT_TLOG_TRUNCATED,     /* no closing record, or a last line cut short */
    MINT_TLOG_AFTER_CLOSE,   /* a line after the closing record */
    MINT_TLOG_BAD_COUNT,     /* the closing record's count is not the records' */
    MINT_TLOG_FINAL_MISMATCH /* final parameters differ from the expected ones */
} mint_tlog_verdict;

const char *mint_tlog_verdict_name(mint_tlog_verdict v);

/* What verification found. On a refusal, record/line name the first bad
 * record (the header is record 0 on line 1) and why says what is wrong. */
typedef struct {
    mint_tlog_verdict verdict;
    int64_t record, line;
    char why[256];
    /* of the records read up to the first bad one (all when valid) */
    int64_t records;             /* step records */
    int64_t first_step, last_step, last_epoch;
    int closed;                  /* a closing record was read */
    uint8_t final_sha[32];       /* closing record's parameter hash */
    uint8_t last_sha[32];        /* last step record's parameter hash */
    char created[32];
    char description[MINT_TLOG_DESC_MAX + 1];
    int64_t dropped_bytes;       /* mint_tlog_reopen: unfinished last line removed */
} mint_tlog_result;

/* Verify the log at path against the public key: every line well formed and
 * signed, the chain unbroken, record numbers consecutive, steps strictly
 * increasing, epochs not decreasing, and a closing record last whose count
 * matches; with expected_final (not NULL), the closing record's parameter
 * hash must equal it. MINT_OK when valid; MINT_E_FORMAT when refused
 * (r says where and why; mint_last_error too); MINT_E_IO / MINT_E_NOMEM
 * when the file cannot be read. */
mint_status mint_tlog_verify(const char *path, const uint8_t pk[MINT_TLOG_PK_BYTES],
                             const uint8_t *expected_final, mint_tlog_result *r);

typedef struct mint_tlog mint_tlog;

/* Create a new log (refused if path exists: a log is never overwritten)
 * with its header record; the file and its folder are fsync'd. */
mint_status mint_tlog_open_new(mint_tlog **out, const char *path,
                               const uint8_t sk[MINT_TLOG_SK_BYTES], const char *description);
/* Continue an unclosed log (train-model --resume): verify what is there
 * with sk's public key (a closed, refused or foreign log is MINT_E_FORMAT,
 * r says why), drop an unfinished last line (r->dropped_bytes), and append
 * after its last record. r may be NULL. */
mint_status mint_tlog_reopen(mint_tlog **out, const char *path,
                             const uint8_t sk[MINT_TLOG_SK_BYTES], mint_tlog_result *r);
/* Append a record: step must exceed the last one, epoch not below the
 * last; the line is fsync'd before returning. After a failed write the
 * log refuses further appends (reopen it). */
mint_status mint_tlog_append(mint_tlog *log, int64_t step, int64_t epoch, double loss,
                             const uint8_t param_sha[32]);
/* Last step appended (-1 if none): a resumed run skips what is logged. */
int64_t mint_tlog_last_step(const mint_tlog *log);
/* Write the closing record (records so far, final parameter hash) and
 * free log (also on failure). */
mint_status mint_tlog_close(mint_tlog *log, const uint8_t final_sha[32]);
/* Free without a closing record (the run stopped; reopen continues it). */
void mint_tlog_free(mint_tlog *log);

#endif
