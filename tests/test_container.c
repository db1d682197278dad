/* test_container.c - the weight container (docs/format.md section 1):
 * round trips of every metadata type and tensor dtype, alignment,
 * determinism, SHA-256 (FIPS 180-4 vectors), and hostile files made by
 * truncating or mutating a valid one in memory: each must give
 * MINT_E_FORMAT, never a crash (run under SAN=address,undefined too). */
#include "testutil.h"
#include <math.h>
#include "weights/container.h"

/* ---- SHA-256 ---- */

static void sha_hex(const void *d, size_t n, char hex[65])
{
    base_sha256 s;
    uint8_t out[32];
    base_sha256_init(&s);
    base_sha256_update(&s, d, n);
    base_sha256_final(&s, out);
    base_sha256_hex(out, hex);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    sha_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* one million 'a', fed in uneven pieces to exercise the buffering */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    sha_hex(a, 1000000, hex);
    assert_string_equal(hex, want);
    base_sha256 s;
    uint8_t out[32];
    base_sha256_init(&s);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t k = step < 1000000 - done ? step : 1000000 - done;
        base_sha256_update(&s, a + done, k);
        done += k;
        step = step * 3 % 257 + 1;
    }
    base_sha256_final(&s, out);
    base_sha256_hex(out, hex);
    assert_string_equal(hex, want);

    const char *path = test_tmp_path("million_a");
    assert_int_equal(test_write_file(path, a, 1000000), 0);
    assert_int_equal(base_sha256_file(path, hex), MINT_OK);
    assert_string_equal(hex, want);
    assert_int_equal(base_sha256_file(test_tmp_path("no_such_file"), hex), MINT_E_IO);
    free(a);
}

/* The SHA extensions path (when this CPU has it) against the scalar code:
 * random data, every length 0..300 and some long ones, random chunking. */
static void test_sha256_accelerated(void **state)
{
    (void)state;
    printf("  SHA-256 block compression: %s\n",
           base_sha256_accelerated() ? "x86 SHA extensions (checked against scalar)"
                                   : "scalar only (no SHA extensions on this CPU)");
    enum { N = 70000 };
    uint8_t *d = malloc(N);
    assert_non_null(d);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        d[i] = (uint8_t)(x >> 32);
    }
    for (size_t len = 0; len < N; len = len < 300 ? len + 1 : len * 3 + 7) {
        uint8_t a[32], b[32];
        base_sha256 s, r;
        base_sha256_init(&s);
        base_sha256_init_scalar(&r);
        size_t done = 0;
        while (done < len) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t k = (size_t)(x % 200) + 1;
            if (k > len - done)
                k = len - done;
            base_sha256_update(&s, d + done, k);
            done += k;
        }
        base_sha256_update(&r, d, len);
        base_sha256_final(&s, a);
        base_sha256_final(&r, b);
        assert_memory_equal(a, b, 32);
    }
    free(d);
}

/* ---- round trip ---- */

static const float f32s[] = { 1.5f, -0.0f, INFINITY, 3.25e-41f /* subnormal */ };
static const int64_t i64s[] = { INT64_MIN, -1, 0, INT64_MAX };

typedef struct {
    float w_f32[2 * 3 * 5];
    uint16_t w_f16[7];
    int64_t w_i64[3];
    int32_t w_i32[2 * 2];
    uint8_t w_u8[13];
    float scalar;
    uint8_t r8[1 * 2 * 1 * 2 * 1 * 1 * 2 * 1];
} tdata;

static void fill(tdata *d)
{
    for (size_t i = 0; i < 30; i++)
        d->w_f32[i] = (float)i * 0.5f - 3.0f;
    for (size_t i = 0; i < 7; i++)
        d->w_f16[i] = (uint16_t)(0x3c00 + i);
    for (size_t i = 0; i < 3; i++)
        d->w_i64[i] = (int64_t)i * -1000000000000LL;
    for (size_t i = 0; i < 4; i++)
        d->w_i32[i] = (int32_t)i - 2;
    for (size_t i = 0; i < 13; i++)
        d->w_u8[i] = (uint8_t)(250 + i);
    d->scalar = 42.0f;
    for (size_t i = 0; i < 8; i++)
        d->r8[i] = (uint8_t)i;
}

static wt_writer *full_writer(const tdata *d)
{
    wt_writer *w = wt_writer_new();
    assert_non_null(w);
    assert_int_equal(wt_writer_meta_str(w, "name", "iresnet100 \xc3\xa9"), MINT_OK);
    assert_int_equal(wt_writer_meta_str(w, "empty", ""), MINT_OK);
    assert_int_equal(wt_writer_meta_i64(w, "neg", INT64_MIN), MINT_OK);
    assert_int_equal(wt_writer_meta_f64(w, "pi", 3.141592653589793), MINT_OK);
    assert_int_equal(wt_writer_meta_f32_arr(w, "f32s", f32s, 4), MINT_OK);
    assert_int_equal(wt_writer_meta_f32_arr(w, "f32_empty", NULL, 0), MINT_OK);
    assert_int_equal(wt_writer_meta_i64_arr(w, "i64s", i64s, 4), MINT_OK);
    int64_t d235[3] = { 2, 3, 5 }, d7[1] = { 7 }, d3[1] = { 3 }, d22[2] = { 2, 2 }, d13[1] = { 13 };
    int64_t d0[2] = { 4, 0 }, d8[8] = { 1, 2, 1, 2, 1, 1, 2, 1 };
    assert_int_equal(wt_writer_tensor(w, "conv1.weight", BASE_F32, 3, d235, d->w_f32), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "half", BASE_F16, 1, d7, d->w_f16), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "longs", BASE_I64, 1, d3, d->w_i64), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "ints", BASE_I32, 2, d22, d->w_i32), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "bytes", BASE_U8, 1, d13, d->w_u8), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "empty", BASE_F32, 2, d0, NULL), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "scalar", BASE_F32, 0, NULL, &d->scalar), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "rank8", BASE_U8, 8, d8, d->r8), MINT_OK);
    return w;
}

static void check_full(const wt_file *f, const tdata *d)
{
    assert_int_equal(wt_meta_count(f), 7);
    const wt_meta *m = wt_meta_find(f, "name");
    assert_non_null(m);
    assert_int_equal(m->type, WT_META_STR);
    assert_string_equal(m->str, "iresnet100 \xc3\xa9");
    assert_int_equal(m->len, 13);
    assert_ptr_equal(wt_meta_at(f, 0), m);
    m = wt_meta_find(f, "empty");
    assert_non_null(m);
    assert_int_equal(m->len, 0);
    assert_string_equal(m->str, "");
    m = wt_meta_find(f, "neg");
    assert_true(m && m->type == WT_META_I64 && m->i64 == INT64_MIN);
    m = wt_meta_find(f, "pi");
    assert_true(m && m->type == WT_META_F64 && m->f64 == 3.141592653589793);
    m = wt_meta_find(f, "f32s");
    assert_true(m && m->type == WT_META_F32_ARR && m->count == 4);
    assert_memory_equal(m->f32, f32s, sizeof f32s);
    m = wt_meta_find(f, "f32_empty");
    assert_true(m && m->type == WT_META_F32_ARR && m->count == 0);
    m = wt_meta_find(f, "i64s");
    assert_true(m && m->type == WT_META_I64_ARR && m->count == 4);
    assert_memory_equal(m->i64s, i64s, sizeof i64s);
    assert_null(wt_meta_find(f, "absent"));
    assert_null(wt_meta_at(f, 7));
    assert_null(wt_meta_at(f, -1));

    assert_int_equal(wt_tensor_count(f), 8);
    static const struct {
        const char *name;
        base_dtype dt;
        int rank;
        uint64_t nelem;
    } want[] = {
        { "conv1.weight", BASE_F32, 3, 30 }, { "half", BASE_F16, 1, 7 },  { "longs", BASE_I64, 1, 3 },
        { "ints", BASE_I32, 2, 4 },          { "bytes", BASE_U8, 1, 13 }, { "empty", BASE_F32, 2, 0 },
        { "scalar", BASE_F32, 0, 1 },        { "rank8", BASE_U8, 8, 8 },
    };
    const void *datas[] = { d->w_f32, d->w_f16, d->w_i64, d->w_i32, d->w_u8, NULL, &d->scalar, d->r8 };
    for (int i = 0; i < 8; i++) {
        const wt_tensor *t = wt_tensor_find(f, want[i].name);
        assert_non_null(t);
        assert_ptr_equal(wt_tensor_at(f, i), t);
        assert_string_equal(t->name, want[i].name);
        assert_int_equal(t->dtype, want[i].dt);
        assert_int_equal(t->rank, want[i].rank);
        assert_int_equal(t->nelem, want[i].nelem);
        assert_int_equal((uintptr_t)t->data % WT_ALIGN, 0);
        if (datas[i])
            assert_memory_equal(t->data, datas[i], t->nelem * base_dtype_size(t->dtype));
    }
    const wt_tensor *t = wt_tensor_find(f, "conv1.weight");
    assert_int_equal(t->dims[0], 2);
    assert_int_equal(t->dims[1], 3);
    assert_int_equal(t->dims[2], 5);
    t = wt_tensor_find(f, "rank8");
    assert_int_equal(t->dims[7], 1);
    assert_int_equal(t->dims[6], 2);
    assert_null(wt_tensor_find(f, "conv1.weigh"));
    assert_null(wt_tensor_at(f, 8));
}

static void test_roundtrip(void **state)
{
    (void)state;
    tdata d;
    fill(&d);
    wt_writer *w = full_writer(&d);
    const char *path = test_tmp_path("full.mint");
    assert_int_equal(wt_writer_write(w, path), MINT_OK);
    wt_writer_free(w);

    wt_file *f = NULL;
    assert_int_equal(wt_open(&f, path), MINT_OK);
    check_full(f, &d);

    /* wt_tensor_get: dtype and shape checks say what differs */
    const wt_tensor *t;
    int64_t ok_dims[3] = { 2, 3, 5 }, any_dims[3] = { -1, 3, -1 }, bad_dims[3] = { 2, 4, 5 };
    assert_int_equal(wt_tensor_get(f, "conv1.weight", BASE_F32, 3, ok_dims, &t), MINT_OK);
    assert_non_null(t);
    assert_int_equal(wt_tensor_get(f, "conv1.weight", BASE_F32, 3, any_dims, &t), MINT_OK);
    assert_int_equal(wt_tensor_get(f, "conv1.weight", BASE_F32, -1, NULL, &t), MINT_OK);
    assert_int_equal(wt_tensor_get(f, "conv1.weight", BASE_F32, 3, bad_dims, &t), MINT_E_SHAPE);
    assert_null(t);
    assert_non_null(strstr(mint_last_error(), "dim 1 is 3, not 4"));
    assert_int_equal(wt_tensor_get(f, "conv1.weight", BASE_F32, 2, ok_dims, &t), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "rank 3"));
    assert_int_equal(wt_tensor_get(f, "conv1.weight", BASE_F16, 3, ok_dims, &t), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "dtype f32, expected f16"));
    assert_int_equal(wt_tensor_get(f, "nope", BASE_F32, 3, ok_dims, &t), MINT_E_NOTFOUND);
    assert_non_null(strstr(mint_last_error(), "'nope'"));

    /* whole-file hash agrees with the streaming one */
    char h1[65], h2[65];
    wt_file_sha256(f, h1);
    assert_int_equal(base_sha256_file(path, h2), MINT_OK);
    assert_string_equal(h1, h2);
    wt_close(f);

    /* the same checks through wt_open_mem */
    size_t size = 0;
    void *buf = test_read_file(path, &size);
    assert_non_null(buf);
    assert_int_equal(wt_open_mem(&f, buf, size), MINT_OK);
    check_full(f, &d);
    wt_close(f);
    /* a misaligned buffer is refused (tensor data would be misaligned) */
    assert_int_equal(wt_open_mem(&f, (char *)buf + 1, size - 1), MINT_E_ARG);
    assert_null(f);
    free(buf);
}

static void test_deterministic(void **state)
{
    (void)state;
    tdata d;
    fill(&d);
    const char *p1 = test_tmp_path("det1.mint"), *p2 = test_tmp_path("det2.mint");
    wt_writer *w = full_writer(&d);
    assert_int_equal(wt_writer_write(w, p1), MINT_OK);
    wt_writer_free(w);
    w = full_writer(&d);
    assert_int_equal(wt_writer_write(w, p2), MINT_OK);
    /* writing again over an existing file replaces it */
    assert_int_equal(wt_writer_write(w, p2), MINT_OK);
    wt_writer_free(w);
    size_t n1 = 0, n2 = 0;
    void *b1 = test_read_file(p1, &n1), *b2 = test_read_file(p2, &n2);
    assert_non_null(b1);
    assert_non_null(b2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    /* header fields as the spec says */
    const uint8_t *h = b1;
    assert_memory_equal(h, "MINTWT\0\0", 8);
    assert_int_equal(h[8], 1);
    assert_int_equal(h[12], 64);
    assert_int_equal(h[16], 7);
    assert_int_equal(h[24], 8);
    free(b1);
    free(b2);
}

static void test_writer_errors(void **state)
{
    (void)state;
    wt_writer *w = wt_writer_new();
    float x[4] = { 0 };
    int64_t d1[1] = { 4 }, neg[1] = { -1 };
    int64_t d9[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 4 };
    assert_int_equal(wt_writer_tensor(w, "a", BASE_F32, 1, d1, x), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "a", BASE_F32, 1, d1, x), MINT_E_ARG);
    assert_int_equal(wt_writer_tensor(w, "", BASE_F32, 1, d1, x), MINT_E_ARG);
    assert_int_equal(wt_writer_tensor(w, "b", (base_dtype)9, 1, d1, x), MINT_E_ARG);
    assert_int_equal(wt_writer_tensor(w, "b", BASE_F32, 9, d9, x), MINT_E_ARG);
    assert_int_equal(wt_writer_tensor(w, "b", BASE_F32, 1, neg, x), MINT_E_ARG);
    assert_int_equal(wt_writer_tensor(w, "b", BASE_F32, 1, d1, NULL), MINT_E_ARG);
    int64_t huge[2] = { INT64_MAX, 4 };
    assert_int_equal(wt_writer_tensor(w, "b", BASE_F32, 2, huge, x), MINT_E_ARG);
    assert_int_equal(wt_writer_meta_i64(w, "k", 1), MINT_OK);
    assert_int_equal(wt_writer_meta_str(w, "k", "v"), MINT_E_ARG);
    assert_int_equal(wt_writer_meta_str(w, "", "v"), MINT_E_ARG);
    assert_int_equal(wt_writer_meta_str(w, "s", NULL), MINT_E_ARG);

    /* unwritable destination: error, nothing left behind */
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/dir/x.mint", test_tmpdir());
    assert_int_equal(wt_writer_write(w, path), MINT_E_IO);
    assert_non_null(strstr(mint_last_error(), "x.mint"));
    /* rename onto a directory fails: the temporary file is removed */
    const char *dir = test_tmp_path("a_directory");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(wt_writer_write(w, dir), MINT_E_IO);
    assert_int_equal(test_tmp_count(dir), 0);
    wt_writer_free(w);

    wt_file *f = NULL;
    assert_int_equal(wt_open(&f, test_tmp_path("missing.mint")), MINT_E_IO);
    assert_int_equal(wt_open(&f, dir), MINT_E_IO);
    const char *empty = test_tmp_path("empty.mint");
    assert_int_equal(test_write_file(empty, "", 0), 0);
    assert_int_equal(wt_open(&f, empty), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "empty"));
    assert_null(f);
}

/* ---- hostile files ---- */

/* A small file with a known layout:
 *   0   header (32)
 *   32  meta "ka" STR "v": key_len@32 key@36 type@38 len@42 str@50 -> 51
 *   51  meta "kb" I64 7:   key_len@51 key@55 type@57 value@61 -> 69
 *   69  tensor "a" F32 [2,3]: len@69 name@73 dtype@74 rank@78 dims@82,90 offset@98 -> 106
 *   106 tensor "b" F32 [4]:   len@106 name@110 dtype@111 rank@115 dim@119 offset@127 -> 135
 *   data_start 192: a at 0 (24 bytes), b at 64 (16 bytes); file 272 bytes */
enum {
    OFF_META0 = 32, OFF_META0_TYPE = 38, OFF_META0_LEN = 42, OFF_META1_KEY = 55,
    OFF_A = 69, OFF_A_NAME = 73, OFF_A_DTYPE = 74, OFF_A_RANK = 78, OFF_A_DIM0 = 82,
    OFF_A_OFFSET = 98, OFF_B = 106, OFF_B_NAME = 110, OFF_B_DIM0 = 119, OFF_B_OFFSET = 127,
    TABLE_END = 135, DATA_START = 192, FILE_SIZE = 272
};

static uint8_t *small_file(size_t *size)
{
    static float a[6] = { 1, 2, 3, 4, 5, 6 }, b[4] = { 7, 8, 9, 10 };
    int64_t da[2] = { 2, 3 }, db[1] = { 4 };
    wt_writer *w = wt_writer_new();
    assert_int_equal(wt_writer_meta_str(w, "ka", "v"), MINT_OK);
    assert_int_equal(wt_writer_meta_i64(w, "kb", 7), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "a", BASE_F32, 2, da, a), MINT_OK);
    assert_int_equal(wt_writer_tensor(w, "b", BASE_F32, 1, db, b), MINT_OK);
    const char *path = test_tmp_path("small.mint");
    assert_int_equal(wt_writer_write(w, path), MINT_OK);
    wt_writer_free(w);
    uint8_t *buf = test_read_file(path, size);
    assert_non_null(buf);
    assert_int_equal(*size, FILE_SIZE);
    /* the layout above holds */
    assert_int_equal(buf[OFF_A_NAME], 'a');
    assert_int_equal(buf[OFF_B_NAME], 'b');
    assert_int_equal(buf[OFF_META1_KEY + 1], 'b');
    assert_int_equal(buf[TABLE_END - 8], 64);
    assert_int_equal(buf[OFF_A_DIM0], 2);
    return buf;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Open a mutated copy; returns the status (and closes on success). */
static mint_status open_copy(const uint8_t *buf, size_t size)
{
    void *c = NULL;
    assert_int_equal(posix_memalign(&c, 64, size ? size : 1), 0);
    memcpy(c, buf, size);
    wt_file *f = NULL;
    mint_status st = wt_open_mem(&f, c, size);
    if (st == MINT_OK) {
        /* touch everything the reader handed out */
        volatile uint8_t sink = 0;
        for (int i = 0; i < wt_tensor_count(f); i++) {
            const wt_tensor *t = wt_tensor_at(f, i);
            size_t n = t->nelem * base_dtype_size(t->dtype);
            for (size_t k = 0; k < n; k++)
                sink ^= ((const uint8_t *)t->data)[k];
        }
        (void)sink;
        wt_close(f);
    } else {
        assert_null(f);
        assert_true(mint_last_error()[0] != '\0');
    }
    free(c);
    return st;
}

static void test_valid_small(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *buf = small_file(&size);
    assert_int_equal(open_copy(buf, size), MINT_OK);
    /* trailing bytes after the last tensor are not interpreted */
    uint8_t *big = calloc(1, size + 100);
    memcpy(big, buf, size);
    assert_int_equal(open_copy(big, size + 100), MINT_OK);
    free(big);
    free(buf);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *buf = small_file(&size);
    /* every length short of the full file: header, table, padding and data */
    for (size_t n = 0; n < size; n++) {
        mint_status st = open_copy(buf, n);
        if (st != MINT_E_FORMAT)
            fail_msg("truncated at %zu: status %d", n, (int)st);
    }
    assert_int_equal(open_copy(buf, 5), MINT_E_FORMAT); /* "MINTW" */
    assert_non_null(strstr(mint_last_error(), "truncated"));
    assert_int_equal(open_copy(buf, OFF_B_OFFSET + 3), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "tensor 1 offset"));
    assert_int_equal(open_copy(buf, size - 1), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "'b' data"));
    assert_non_null(strstr(mint_last_error(), "extends past end of file (271 bytes)"));
    free(buf);
}

typedef void (*mutator)(uint8_t *b);

#define MUT(name, body) static void name(uint8_t *b) { body; }
MUT(m_magic, b[0] = 'X')
MUT(m_magic_last, b[7] = 1)
MUT(m_version2, put_u32(b + 8, 2))
MUT(m_version0, put_u32(b + 8, 0))
MUT(m_align0, put_u32(b + 12, 0))
MUT(m_align63, put_u32(b + 12, 63))
MUT(m_align32, put_u32(b + 12, 32))
MUT(m_align_huge, put_u32(b + 12, 1u << 31))
MUT(m_align128, put_u32(b + 12, 128)) /* data_start becomes 256: 'b' past EOF */
MUT(m_nmeta_huge, put_u64(b + 16, UINT64_MAX))
MUT(m_nmeta_big, put_u64(b + 16, 1ull << 33))
MUT(m_nmeta_more, put_u64(b + 16, 3))
MUT(m_ntensors_huge, put_u64(b + 24, 1ull << 62))
MUT(m_ntensors_more, put_u64(b + 24, 3))
MUT(m_keylen_huge, put_u32(b + OFF_META0, UINT32_MAX))
MUT(m_keylen_zero, put_u32(b + OFF_META0, 0))
MUT(m_meta_type, put_u32(b + OFF_META0_TYPE, 99))
MUT(m_meta_type_arr, put_u32(b + OFF_META0_TYPE, WT_META_I64_ARR)) /* count = 1 + 'v'... */
MUT(m_strlen_huge, put_u64(b + OFF_META0_LEN, 1ull << 63))
MUT(m_strlen_max, put_u64(b + OFF_META0_LEN, UINT64_MAX))
MUT(m_dup_key, b[OFF_META1_KEY + 1] = 'a')
MUT(m_name_nul, b[OFF_A_NAME] = 0)
MUT(m_namelen_huge, put_u32(b + OFF_A, 0x7fffffff))
MUT(m_dtype, put_u32(b + OFF_A_DTYPE, 5))
MUT(m_dtype_huge, put_u32(b + OFF_A_DTYPE, UINT32_MAX))
MUT(m_rank9, put_u32(b + OFF_A_RANK, 9))
MUT(m_rank_huge, put_u32(b + OFF_A_RANK, UINT32_MAX))
MUT(m_dim_2p62, put_u64(b + OFF_A_DIM0, 1ull << 62))
MUT(m_dim_neg, put_u64(b + OFF_A_DIM0, UINT64_MAX))
MUT(m_dim_b_2p62, put_u64(b + OFF_B_DIM0, 1ull << 62))
MUT(m_dim_b_2p61, put_u64(b + OFF_B_DIM0, 1ull << 61))
MUT(m_dim_b_big, put_u64(b + OFF_B_DIM0, 5))
MUT(m_off_misaligned, put_u64(b + OFF_A_OFFSET, 1))
MUT(m_off_misaligned32, put_u64(b + OFF_B_OFFSET, 32))
MUT(m_off_past, put_u64(b + OFF_B_OFFSET, 128))
MUT(m_off_far, put_u64(b + OFF_B_OFFSET, 1ull << 40))
MUT(m_off_overflow, put_u64(b + OFF_B_OFFSET, UINT64_MAX - 63))
MUT(m_off_overflow2, put_u64(b + OFF_B_OFFSET, UINT64_MAX - 127))
MUT(m_overlap, put_u64(b + OFF_B_OFFSET, 0))
MUT(m_dup_name, b[OFF_B_NAME] = 'a')

static void test_mutations(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        mutator m;
        const char *msg;
    } cases[] = {
        { "magic", m_magic, "not a mint weight file" },
        { "magic last byte", m_magic_last, "not a mint weight file" },
        { "version 2", m_version2, "version 2 not supported by this mint (1)" },
        { "version 0", m_version0, "version 0" },
        { "alignment 0", m_align0, "alignment 0" },
        { "alignment 63", m_align63, "alignment 63" },
        { "alignment 32", m_align32, "alignment 32" },
        { "alignment 2^31", m_align_huge, "alignment" },
        { "alignment 128", m_align128, "past end of file" },
        { "n_meta 2^64-1", m_nmeta_huge, "metadata entries cannot fit" },
        { "n_meta 2^33", m_nmeta_big, "cannot fit" },
        { "n_meta 3", m_nmeta_more, NULL },
        { "n_tensors 2^62", m_ntensors_huge, "tensors cannot fit" },
        { "n_tensors 3", m_ntensors_more, NULL },
        { "key length 2^32-1", m_keylen_huge, "truncated" },
        { "key length 0", m_keylen_zero, "empty name" },
        { "meta type 99", m_meta_type, "unknown type 99" },
        { "meta type i64 array", m_meta_type_arr, NULL },
        { "string length 2^63", m_strlen_huge, "truncated" },
        { "string length 2^64-1", m_strlen_max, "truncated" },
        { "duplicate key", m_dup_key, "duplicate metadata key 'ka'" },
        { "NUL in name", m_name_nul, "NUL" },
        { "name length 2^31-1", m_namelen_huge, "truncated" },
        { "dtype 5", m_dtype, "unknown dtype 5" },
        { "dtype 2^32-1", m_dtype_huge, "unknown dtype" },
        { "rank 9", m_rank9, "rank 9" },
        { "rank 2^32-1", m_rank_huge, "rank" },
        { "dim 2^62", m_dim_2p62, "overflow" },
        { "dim -1", m_dim_neg, "negative" },
        { "b dim 2^62", m_dim_b_2p62, "overflow" },
        { "b dim 2^61", m_dim_b_2p61, "past end of file" },
        { "b dim 5", m_dim_b_big, "past end of file" },
        { "offset 1", m_off_misaligned, "not a multiple of 64" },
        { "offset 32", m_off_misaligned32, "not a multiple of 64" },
        { "offset past EOF", m_off_past, "'b' data" },
        { "offset 2^40", m_off_far, "past end of file" },
        { "offset+size overflow", m_off_overflow, "past end of file" },
        { "offset+size overflow 2", m_off_overflow2, "past end of file" },
        { "overlap", m_overlap, "overlap" },
        { "duplicate tensor", m_dup_name, "duplicate tensor name 'a'" },
    };
    size_t size = 0;
    uint8_t *buf = small_file(&size);
    uint8_t *c = malloc(size);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(c, buf, size);
        cases[i].m(c);
        mint_status st = open_copy(c, size);
        if (st != MINT_E_FORMAT)
            fail_msg("%s: status %d (%s)", cases[i].what, (int)st, mint_last_error());
        if (cases[i].msg && !strstr(mint_last_error(), cases[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].what, mint_last_error(), cases[i].msg);
        assert_non_null(strstr(mint_last_error(), "<memory>"));
    }
    free(c);
    free(buf);
}

/* Random byte flips in the header and table: any status but a crash, and a
 * file that opens must be internally consistent (checked by open_copy). */
static void test_random_flips(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *buf = small_file(&size);
    uint8_t *c = malloc(size);
    uint32_t rng = 12345;
    int opened = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(c, buf, size);
        int nflips = 1 + it % 4;
        for (int k = 0; k < nflips; k++) {
            rng = rng * 1664525u + 1013904223u;
            size_t pos = (rng >> 8) % DATA_START;
            rng = rng * 1664525u + 1013904223u;
            c[pos] = (it & 1) ? (uint8_t)(rng >> 24) : (uint8_t)(c[pos] ^ (1u << ((rng >> 24) & 7)));
        }
        mint_status st = open_copy(c, size);
        assert_true(st == MINT_OK || st == MINT_E_FORMAT);
        opened += st == MINT_OK;
    }
    assert_true(opened > 0); /* flips in padding or data-neutral bytes */
    free(c);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_accelerated),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_valid_small),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_random_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
