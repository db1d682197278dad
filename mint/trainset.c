/* trainset.c - image keys (first 8 bytes of the SHA-256 of the file) from
 * index.csv or by hashing, overlap and repeat checks between image sets,
 * and the record of a MINT model's training images (see trainset.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mint/features.h"
#include "mint/trainset.h"
#include "io/idx.h"
#include "weights/container.h"

void mint_image_keys_free(mint_image_keys *k)
{
    if (!k)
        return;
    for (int64_t i = 0; k->file && i < k->n; i++)
        free(k->file[i]);
    free(k->file);
    free(k->key);
    memset(k, 0, sizeof *k);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int mint_sha256_key(const char *hex, uint64_t *key)
{
    uint64_t k = 0;
    for (int i = 0; i < 16; i++) {
        const int v = hex ? hexval(hex[i]) : -1;
        if (v < 0)
            return -1;
        k = k << 4 | (uint64_t)v;
    }
    *key = k;
    return 0;
}

static mint_status keys_alloc(mint_image_keys *k, int64_t n)
{
    memset(k, 0, sizeof *k);
    k->key = malloc(sizeof *k->key * (size_t)(n ? n : 1));
    k->file = calloc((size_t)(n ? n : 1), sizeof *k->file);
    if (!k->key || !k->file) {
        mint_image_keys_free(k);
        return mint_fail(MINT_E_NOMEM, "out of memory for %lld image hashes", (long long)n);
    }
    return MINT_OK;
}

/* ---------------- index.csv ---------------- */

mint_status mint_keys_from_index(const char *path, int64_t n, mint_image_keys *out)
{
    memset(out, 0, sizeof *out);
    mint_feats_index ix;
    mint_status st = mint_feats_index_load(path, -1, &ix);
    if (st)
        return st;
    if (ix.n < 0)
        return mint_fail(MINT_E_NOTFOUND, "%s: no index.csv beside the features", path);
    if (n >= 0 && ix.n != n)
        st = mint_fail(MINT_E_SHAPE, "the index.csv of %s lists %lld images, but it holds %lld "
                       "samples: it does not say which images they are", path, (long long)ix.n,
                       (long long)n);
    const size_t cap = (size_t)(ix.n ? ix.n : 1);
    if (!st && (!(out->key = malloc(sizeof *out->key * cap)) ||
                !(out->file = calloc(cap, sizeof *out->file))))
        st = mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; !st && i < ix.n; i++) {
        if (mint_sha256_key(ix.sha256[i], &out->key[i])) {
            st = mint_fail(MINT_E_FORMAT, "the index.csv of %s, row %lld: want a 64-digit "
                           "SHA-256", path, (long long)i + 1);
            break;
        }
        if (!(out->file[i] = strdup(ix.file[i])))
            st = mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
        out->n = i + 1;
    }
    mint_feats_index_free(&ix);
    if (st)
        mint_image_keys_free(out);
    return st;
}

/* ---------------- hashing image files ---------------- */

mint_status mint_keys_from_list(const io_list *l, mint_image_keys *out)
{
    mint_status st = keys_alloc(out, (int64_t)l->n);
    if (st)
        return st;
    const int64_t n = (int64_t)l->n;
    int64_t bad = n;
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        char hex[65];
        if (io_image_sha256(l->items[i].path, hex) || mint_sha256_key(hex, &out->key[i])) {
#pragma omp critical(mint_keys_bad)
            bad = i < bad ? i : bad;
        }
    }
    if (bad < n) { /* again on this thread, for its message */
        char hex[65];
        st = io_image_sha256(l->items[bad].path, hex);
        if (!st)
            st = mint_fail(MINT_E_IO, "%s: could not be hashed", l->items[bad].path);
    }
    for (int64_t i = 0; !st && i < n; i++)
        if (!(out->file[i] = strdup(l->items[i].key)))
            st = mint_fail(MINT_E_NOMEM, "out of memory for the image names");
    out->n = n;
    if (st)
        mint_image_keys_free(out);
    return st;
}

/* ---------------- overlap and repeats ---------------- */

typedef struct {
    uint64_t key;
    int64_t i;
} key_ix;

static int cmp_key_ix(const void *a, const void *b)
{
    const key_ix *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static key_ix *sorted_ix(const mint_image_keys *a)
{
    key_ix *s = malloc(sizeof *s * (size_t)(a->n ? a->n : 1));
    if (!s)
        return NULL;
    for (int64_t i = 0; i < a->n; i++)
        s[i] = (key_ix){ a->key[i], i };
    qsort(s, (size_t)a->n, sizeof *s, cmp_key_ix);
    return s;
}

static void example(char *ex, size_t cap, int *k, int nex, const char *x, const char *y)
{
    if (!ex || *k >= nex)
        return;
    const size_t w = strlen(ex);
    if (w + 1 < cap)
        snprintf(ex + w, cap - w, "%s%s = %s", *k ? ", " : "", x ? x : "?", y ? y : "?");
    (*k)++;
}

mint_status mint_keys_shared(const mint_image_keys *a, const mint_image_keys *b, int64_t *count,
                             char *ex, size_t excap, int nex)
{
    *count = 0;
    if (ex && excap)
        ex[0] = 0;
    key_ix *sa = sorted_ix(a), *sb = sorted_ix(b);
    int k = 0;
    for (int64_t i = 0, j = 0; sa && sb && i < a->n && j < b->n;) {
        if (sa[i].key < sb[j].key) {
            i++;
        } else if (sa[i].key > sb[j].key) {
            j++;
        } else {
            const uint64_t key = sa[i].key;
            example(ex, excap, &k, nex, a->file[sa[i].i], b->file[sb[j].i]);
            (*count)++;
            while (i < a->n && sa[i].key == key)
                i++;
            while (j < b->n && sb[j].key == key)
                j++;
        }
    }
    const int ok = sa && sb;
    free(sa);
    free(sb);
    return ok ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory comparing image hashes");
}

mint_status mint_keys_repeats(const mint_image_keys *a, int64_t *count, char *ex, size_t excap,
                              int nex)
{
    *count = 0;
    if (ex && excap)
        ex[0] = 0;
    key_ix *s = sorted_ix(a);
    if (!s)
        return mint_fail(MINT_E_NOMEM, "out of memory comparing image hashes");
    int k = 0;
    for (int64_t i = 1, first = 0; i < a->n; i++) {
        if (s[i].key != s[i - 1].key) {
            first = i;
            continue;
        }
        example(ex, excap, &k, nex, a->file[s[i].i], a->file[s[first].i]);
        (*count)++;
    }
    free(s);
    return MINT_OK;
}

/* ---------------- the record in a MINT model ---------------- */

static void key_bytes(uint64_t key, uint8_t b[8])
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(key >> (56 - 8 * i));
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct copy of keys as 8-byte rows. */
static mint_status make_rows(const uint64_t *keys, int64_t n, uint8_t **rows, int64_t *nrows)
{
    *rows = NULL;
    *nrows = 0;
    uint64_t *s = malloc(sizeof *s * (size_t)(n ? n : 1));
    uint8_t *r = malloc(8 * (size_t)(n ? n : 1));
    if (!s || !r) {
        free(s);
        free(r);
        return mint_fail(MINT_E_NOMEM, "out of memory for %lld image hashes", (long long)n);
    }
    memcpy(s, keys, sizeof *s * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_u64);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!i || s[i] != s[i - 1])
            key_bytes(s[i], r + 8 * k++);
    free(s);
    *rows = r;
    *nrows = k;
    return MINT_OK;
}

void mint_trainset_free(mint_trainset *ts)
{
    if (!ts)
        return;
    for (int s = 0; s < MINT_TS_SETS; s++)
        free(ts->rows[s]);
    memset(ts, 0, sizeof *ts);
}

mint_status mint_trainset_build(mint_trainset *ts, const uint64_t *members, int64_t n_mem,
                                const uint64_t *external, int64_t n_ext, const int64_t *held,
                                int64_t n_held)
{
    mint_trainset t;
    memset(&t, 0, sizeof t);
    if (n_mem < 0 || n_ext < 0 || n_held < 0 || n_held > n_ext || (n_held && !held))
        return mint_fail(MINT_E_ARG, "mint_trainset_build: bad counts");
    uint64_t *trained = malloc(sizeof *trained * (size_t)(n_ext ? n_ext : 1));
    uint64_t *ref = malloc(sizeof *ref * (size_t)(n_held ? n_held : 1));
    uint8_t *is_held = calloc((size_t)(n_ext ? n_ext : 1), 1);
    mint_status st = trained && ref && is_held ? MINT_OK
                     : mint_fail(MINT_E_NOMEM, "out of memory for the training image hashes");
    for (int64_t i = 0; !st && i < n_held; i++) {
        if (held[i] < 0 || held[i] >= n_ext || is_held[held[i]])
            st = mint_fail(MINT_E_ARG, "mint_trainset_build: bad held-out index %lld",
                           (long long)held[i]);
        else
            is_held[held[i]] = 1, ref[i] = external[held[i]];
    }
    int64_t nt = 0;
    for (int64_t i = 0; !st && i < n_ext; i++)
        if (!is_held[i])
            trained[nt++] = external[i];
    if (!st)
        st = make_rows(members, n_mem, &t.rows[MINT_TS_MEMBERS], &t.n[MINT_TS_MEMBERS]);
    if (!st)
        st = make_rows(trained, nt, &t.rows[MINT_TS_EXTERNAL], &t.n[MINT_TS_EXTERNAL]);
    if (!st)
        st = make_rows(ref, n_held, &t.rows[MINT_TS_REFERENCE], &t.n[MINT_TS_REFERENCE]);
    free(trained);
    free(ref);
    free(is_held);
    if (st) {
        mint_trainset_free(&t);
        return st;
    }
    t.recorded = 1;
    mint_trainset_free(ts);
    *ts = t;
    return MINT_OK;
}

static int in_rows(const uint8_t *rows, int64_t n, const uint8_t key[8])
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        const int c = memcmp(rows + 8 * mid, key, 8);
        if (!c)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

unsigned mint_trainset_find(const mint_trainset *ts, uint64_t key)
{
    uint8_t b[8];
    key_bytes(key, b);
    unsigned m = 0;
    for (int s = 0; ts->recorded && s < MINT_TS_SETS; s++)
        if (in_rows(ts->rows[s], ts->n[s], b))
            m |= 1u << s;
    return m;
}

void mint_trainset_count(const mint_trainset *ts, const uint64_t *keys, int64_t n,
                         int64_t *counts)
{
    for (int s = 0; s < MINT_TS_SETS; s++)
        counts[s] = 0;
    for (int64_t i = 0; i < n; i++) {
        const unsigned m = mint_trainset_find(ts, keys[i]);
        for (int s = 0; s < MINT_TS_SETS; s++)
            counts[s] += (m >> s) & 1;
    }
}

static const char *const set_tensor[MINT_TS_SETS] = { "trainset.members", "trainset.external",
                                                      "trainset.reference" };

mint_status mint_trainset_write(const mint_trainset *ts, wt_writer *w)
{
    if (!ts->recorded)
        return MINT_OK;
    mint_status st = wt_writer_meta_str(w, "mint.trainset", "sha256[0:8]");
    if (!st)
        st = wt_writer_meta_i64_arr(w, "mint.trainset.counts", ts->n, MINT_TS_SETS);
    for (int s = 0; !st && s < MINT_TS_SETS; s++) {
        const int64_t dims[2] = { ts->n[s], 8 };
        if (ts->n[s] > 0)
            st = wt_writer_tensor(w, set_tensor[s], BASE_U8, 2, dims, ts->rows[s]);
    }
    return st;
}

mint_status mint_trainset_read(mint_trainset *ts, const wt_file *f)
{
    memset(ts, 0, sizeof *ts);
    const wt_meta *kind = wt_meta_find(f, "mint.trainset");
    const wt_meta *cnt = wt_meta_find(f, "mint.trainset.counts");
    if (!kind)
        return MINT_OK; /* a model from before the record */
    if (kind->type != WT_META_STR || strcmp(kind->str, "sha256[0:8]") || !cnt ||
        cnt->type != WT_META_I64_ARR || cnt->count != MINT_TS_SETS)
        return mint_fail(MINT_E_FORMAT, "%s: mint.trainset / mint.trainset.counts damaged",
                         wt_file_path(f));
    mint_trainset t;
    memset(&t, 0, sizeof t);
    mint_status st = MINT_OK;
    for (int s = 0; !st && s < MINT_TS_SETS; s++) {
        const int64_t n = cnt->i64s[s];
        const int64_t dims[2] = { n, 8 };
        const wt_tensor *tt = NULL;
        if (n < 0)
            st = mint_fail(MINT_E_FORMAT, "%s: negative mint.trainset.counts", wt_file_path(f));
        else if (n > 0)
            st = wt_tensor_get(f, set_tensor[s], BASE_U8, 2, dims, &tt);
        if (st || n == 0)
            continue;
        const uint8_t *r = tt->data;
        for (int64_t i = 1; !st && i < n; i++)
            if (memcmp(r + 8 * (i - 1), r + 8 * i, 8) >= 0)
                st = mint_fail(MINT_E_FORMAT, "%s: %s is not sorted and distinct (row %lld)",
                               wt_file_path(f), set_tensor[s], (long long)i);
        if (!st && !(t.rows[s] = malloc(8 * (size_t)n)))
            st = mint_fail(MINT_E_NOMEM, "out of memory for %s", set_tensor[s]);
        if (!st) {
            memcpy(t.rows[s], r, 8 * (size_t)n);
            t.n[s] = n;
        }
    }
    if (st) {
        mint_trainset_free(&t);
        return st;
    }
    t.recorded = 1;
    *ts = t;
    return MINT_OK;
}
