/* fuzz_extract_dir.c - libFuzzer target for the extraction folder
 * (docs/format.md section 5) through its readers: mint_merge of two folders
 * (shards or whole extractions: extract.txt, index.csv, errors.csv, a tap
 * .npy) and of one, what train/eval read (network, taps, index), and what
 * extract's resume reads (.parts/config and a committed chunk's checksums).
 * The input is a set of files: sections "== NAME\n" followed by the bytes
 * of file NAME up to the next "\n== " or the end. NAME is one of the names
 * below under a/ or b/ (others are ignored). Seeds: tests/fuzz/corpus/
 * extract_dir/, written by tests/fuzz/seeds.c. Files go to a scratch folder
 * (fuzz_tmpdir: TMPDIR, else /dev/shm), cleared for each input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz_util.h"
#include "mint/extract.h"
#include "mint/extract_dir.h"
#include "mint/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {
    "extract.txt", "index.csv", "errors.csv", "embedding.npy", ".parts/config",
    ".parts/embedding.000000.bin", ".parts/errors.000000.csv", ".parts/index.000000.csv",
    ".parts/sums.000000",
};
enum { NFILES = sizeof files / sizeof *files };
static const char *const outs[] = { "embedding.npy", "index.csv", "errors.csv", "extract.txt" };

static char root[256];

static void clear(void)
{
    char p[512];
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < NFILES; k++) {
            snprintf(p, sizeof p, "%s/%c/%s", root, 'a' + d, files[k]);
            unlink(p);
        }
    for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
        snprintf(p, sizeof p, "%s/out/%s", root, outs[k]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/out", root);
    rmdir(p);
}

static void cleanup(void)
{
    char p[512];
    clear();
    for (int d = 0; d < 2; d++) {
        snprintf(p, sizeof p, "%s/%c/.parts", root, 'a' + d);
        rmdir(p);
        snprintf(p, sizeof p, "%s/%c", root, 'a' + d);
        rmdir(p);
    }
    rmdir(root);
}

static void setup(void)
{
    snprintf(root, sizeof root, "%.200s/fuzz_xdir.XXXXXX", fuzz_tmpdir());
    if (!mkdtemp(root))
        abort();
    char p[512];
    for (int d = 0; d < 2; d++) {
        snprintf(p, sizeof p, "%s/%c", root, 'a' + d);
        mkdir(p, 0777);
        snprintf(p, sizeof p, "%s/%c/.parts", root, 'a' + d);
        mkdir(p, 0777);
    }
    atexit(cleanup);
}

/* Write the sections of data into the scratch folders. */
static void unpack(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    while (p + 3 <= end && !memcmp(p, "== ", 3)) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return;
        const char *name = (const char *)p + 3;
        size_t nlen = (size_t)(nl - p - 3);
        const uint8_t *body = nl + 1, *q = body;
        while (q + 4 <= end && memcmp(q, "\n== ", 4))
            q++;
        const uint8_t *bend = q + 4 <= end ? q : end;
        if (bend == end && bend > body && bend[-1] == '\n')
            bend--; /* the last section ends with the newline a "== " would follow */
        for (int d = 0; d < 2; d++)
            for (int k = 0; k < NFILES; k++)
                if (nlen == 2 + strlen(files[k]) && name[0] == 'a' + d && name[1] == '/' &&
                    !memcmp(name + 2, files[k], nlen - 2)) {
                    char path[512];
                    snprintf(path, sizeof path, "%s/%c/%s", root, 'a' + d, files[k]);
                    FILE *f = fopen(path, "wb");
                    if (!f || fwrite(body, 1, (size_t)(bend - body), f) != (size_t)(bend - body) || fclose(f))
                        abort();
                }
        p = bend + (bend < end ? 1 : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0])
        setup();
    clear();
    unpack(data, size);
    char a[300], b[300], out[300], buf[512];
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    snprintf(out, sizeof out, "%s/out", root);
    const char *two[2] = { a, b };
    mint_merge_stats ms;
    (void)mint_merge(out, two, 2, 1, &ms);
    clear();
    unpack(data, size);
    (void)mint_merge(out, two, 1, 0, &ms);
    /* what train and eval read */
    char sha[65];
    int ntaps;
    (void)mint_extract_network(a, sha);
    (void)mint_extract_taps(a, buf, sizeof buf, &ntaps);
    mint_feats_index x;
    if (mint_feats_index_load(a, -1, &x) == MINT_OK)
        mint_feats_index_free(&x);
    /* what extract's resume reads */
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/.parts/config", a);
    mint_extract_txt t;
    if (mint_extract_txt_read(cfg, &t) == MINT_OK)
        mint_extract_txt_free(&t);
    const char *stems[1] = { "embedding" };
    if (mint_extract_chunk_committed(a, 0))
        (void)mint_extract_chunk_verify(a, 0, stems, 1);
    long *items, n;
    snprintf(cfg, sizeof cfg, "%s/errors.csv", a);
    if (mint_extract_errors_read(cfg, &items, &n) == MINT_OK)
        free(items);
    return 0;
}
