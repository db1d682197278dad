/* test_npy.c - .npy reader/writer (docs/format.md section 3) and the
 * binary16 conversions: round trips of every dtype, NumPy-style headers,
 * hostile headers refused with clear errors, the streaming writer's
 * all-or-nothing rename, and exact fp16 rounding cases. */
#include "testutil.h"
#include <math.h>
#include "base/half.h"
#include "io/npy.h"

/* ---- fp16 ---- */

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_half_exact(void **state)
{
    (void)state;
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        { 0.0f, 0x0000 },
        { -0.0f, 0x8000 },
        { 1.0f, 0x3c00 },
        { -2.0f, 0xc000 },
        { 0.5f, 0x3800 },
        { 65504.0f, 0x7bff },          /* largest finite half */
        { 65519.99f, 0x7bff },         /* just below the rounding midpoint */
        { 65520.0f, 0x7c00 },          /* midpoint: ties to even -> inf */
        { 1e10f, 0x7c00 },
        { -1e10f, 0xfc00 },
        { INFINITY, 0x7c00 },
        { -INFINITY, 0xfc00 },
        { 6.103515625e-05f, 0x0400 },  /* 2^-14, smallest normal */
        { 5.9604644775390625e-08f, 0x0001 }, /* 2^-24, smallest subnormal */
        { 2.98023223876953125e-08f, 0x0000 }, /* 2^-25: tie -> even (0) */
        { 2.98023259e-08f, 0x0001 },   /* just above 2^-25 */
        { 8.94069671630859375e-08f, 0x0002 }, /* 1.5 * 2^-24: tie -> even (2) */
        { 1.4901161193847656e-07f, 0x0002 },  /* 2.5 * 2^-24: tie -> even (2) */
        { 6.0975551605224609e-05f, 0x03ff }, /* largest subnormal */
        { 1.00048828125f, 0x3c00 },    /* 1 + 2^-11: tie -> even */
        { 1.00146484375f, 0x3c02 },    /* 1 + 3*2^-11: tie -> even (up) */
        { 1.00048840045928955078125f, 0x3c01 }, /* 1 + 2^-11 + 2^-23: above the tie */
        { 1e-30f, 0x0000 },
        { -1e-30f, 0x8000 },
        { 1.40129846e-45f, 0x0000 },   /* float subnormal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = base_f32_to_f16(cases[i].f);
        if (h != cases[i].h)
            fail_msg("f32 %.10g (0x%08x): got 0x%04x want 0x%04x", (double)cases[i].f,
                     fbits(cases[i].f), h, cases[i].h);
    }
    assert_true(isnan(base_f16_to_f32(0x7e00)));
    assert_true(isnan(base_f16_to_f32(0x7c01))); /* signalling NaN stays NaN */
    uint16_t hn = base_f32_to_f16(NAN);
    assert_true((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0);
    hn = base_f32_to_f16(bitsf(0x7f800001)); /* sNaN with a low payload: still NaN */
    assert_true((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0);
    assert_int_equal(base_f32_to_f16(-NAN) & 0x8000, 0x8000);
    assert_true(base_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    assert_true(base_f16_to_f32(0x03ff) == 6.0975551605224609e-05f);
    assert_true(base_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(base_f16_to_f32(0x7c00) == INFINITY);
    assert_true(base_f16_to_f32(0xfc00) == -INFINITY);
    assert_int_equal(fbits(base_f16_to_f32(0x8000)), 0x80000000u);
}

/* Every half converts to f32 and back to itself (NaNs stay NaN). */
static void test_half_exhaustive(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = base_f16_to_f32((uint16_t)h);
        uint16_t back = base_f32_to_f16(f);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
            assert_true(isnan(f));
            assert_int_equal(back & 0x7e00, 0x7e00);
            assert_int_equal(back & 0x8000, h & 0x8000);
        } else if (back != h) {
            fail_msg("half 0x%04x -> %g -> 0x%04x", h, (double)f, back);
        }
    }
}

/* Random floats: the result is a nearest half, ties to even. */
static void test_half_nearest(void **state)
{
    (void)state;
    uint64_t rng = 88172645463325252ull;
    for (int i = 0; i < 2000000; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        /* exponents around the half range: 2^-30 .. 2^17 */
        uint32_t bits = (uint32_t)rng & 0x807fffffu;
        bits |= (uint32_t)(97 + (rng >> 32) % 48) << 23;
        float f = bitsf(bits);
        uint16_t h = base_f32_to_f16(f);
        double x = fabs((double)f), got = fabs((double)base_f16_to_f32(h));
        if ((h & 0x8000) != ((bits >> 16) & 0x8000))
            fail_msg("sign lost for %g", (double)f);
        uint16_t m = h & 0x7fff;
        double below = m > 0 ? fabs((double)base_f16_to_f32((uint16_t)(m - 1))) : -1;
        double above = m < 0x7c00 ? fabs((double)base_f16_to_f32((uint16_t)(m + 1))) : INFINITY;
        if (m == 0x7c00) { /* overflow: x must be at or past the midpoint 65520 */
            if (x < 65520.0)
                fail_msg("%g rounded to inf", (double)f);
            continue;
        }
        if (m == 0x7bff && x >= 65520.0)
            fail_msg("%g should overflow to inf", (double)f);
        double e = fabs(x - got);
        if (below >= 0 && fabs(x - below) < e)
            fail_msg("%g -> %g, but %g is nearer", x, got, below);
        if (m < 0x7bff && fabs(x - above) < e)
            fail_msg("%g -> %g, but %g is nearer", x, got, above);
        if ((below >= 0 && fabs(x - below) == e) || (m < 0x7bff && fabs(x - above) == e))
            if (m & 1)
                fail_msg("%g: tie not rounded to even (0x%04x)", x, m);
    }
}

/* ---- npy round trips ---- */

static void roundtrip(base_dtype dt, int rank, const int64_t *dims, const void *data, size_t nbytes)
{
    const char *path = test_tmp_path("rt.npy");
    assert_int_equal(io_npy_write(path, dt, rank, dims, data), MINT_OK);
    io_npy a;
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.dtype, dt);
    assert_int_equal(a.rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(a.dims[i], dims[i]);
    assert_int_equal(a.nbytes, nbytes);
    assert_non_null(a.data);
    assert_int_equal((uintptr_t)a.data % 64, 0);
    if (nbytes)
        assert_memory_equal(a.data, data, nbytes);
    io_npy_free(&a);
    assert_null(a.data);

    /* the header is NumPy's: magic, v1.0, data 64-byte aligned */
    size_t size = 0;
    uint8_t *buf = test_read_file(path, &size);
    assert_non_null(buf);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    assert_int_equal((10 + hlen) % 64, 0);
    assert_int_equal(buf[10 + hlen - 1], '\n');
    assert_int_equal(size, 10 + hlen + nbytes);
    free(buf);
}

static void test_npy_roundtrip(void **state)
{
    (void)state;
    float f[24];
    uint16_t h[24];
    uint8_t u[24];
    int64_t l[24];
    for (int i = 0; i < 24; i++) {
        f[i] = (float)i * 1.25f - 7.0f;
        h[i] = base_f32_to_f16(f[i]);
        u[i] = (uint8_t)(i * 11);
        l[i] = (int64_t)i * -123456789012LL;
    }
    int64_t d234[3] = { 2, 3, 4 }, d24[1] = { 24 }, d0[2] = { 0, 5 }, d8[8] = { 1, 2, 1, 3, 1, 2, 2, 1 };
    roundtrip(BASE_F32, 3, d234, f, sizeof f);
    roundtrip(BASE_F32, 1, d24, f, sizeof f);
    roundtrip(BASE_F32, 0, NULL, f, 4);
    roundtrip(BASE_F32, 2, d0, f, 0);
    roundtrip(BASE_F32, 8, d8, f, sizeof f);
    roundtrip(BASE_F16, 3, d234, h, sizeof h);
    roundtrip(BASE_U8, 1, d24, u, sizeof u);
    roundtrip(BASE_I64, 3, d234, l, sizeof l);

    const char *path = test_tmp_path("hdr.npy");
    assert_int_equal(io_npy_write(path, BASE_F32, 3, d234, f), MINT_OK);
    size_t size = 0;
    char *buf = test_read_file(path, &size);
    assert_non_null(strstr(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }"));
    free(buf);
    assert_int_equal(io_npy_write(path, BASE_U8, 1, d24, u), MINT_OK);
    buf = test_read_file(path, &size);
    assert_non_null(strstr(buf + 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (24,), }"));
    free(buf);

    assert_int_equal(io_npy_write(path, BASE_I32, 1, d24, u), MINT_E_ARG);
    int64_t neg[1] = { -1 };
    assert_int_equal(io_npy_write(path, BASE_F32, 1, neg, f), MINT_E_ARG);
    assert_int_equal(io_npy_write(path, BASE_F32, 9, d8, f), MINT_E_ARG);
}

/* A .npy file image from a header dict (padded as NumPy does) and data. */
static size_t make_npy(uint8_t *out, int major, const char *dict, const void *data, size_t nbytes)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hlen = (pre + dl + 1 + 63) / 64 * 64 - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    out[8] = (uint8_t)hlen;
    out[9] = (uint8_t)(hlen >> 8);
    if (major == 2) {
        out[10] = (uint8_t)(hlen >> 16);
        out[11] = (uint8_t)(hlen >> 24);
    }
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', hlen - dl - 1);
    out[pre + hlen - 1] = '\n';
    memcpy(out + pre + hlen, data, nbytes);
    return pre + hlen + nbytes;
}

static mint_status read_img(const uint8_t *img, size_t n, io_npy *a)
{
    mint_status st = io_npy_read_mem(img, n, "t.npy", a);
    /* the file path gives the same answer */
    const char *path = test_tmp_path("img.npy");
    assert_int_equal(test_write_file(path, img, n), 0);
    io_npy b;
    mint_status st2 = io_npy_read(path, &b);
    assert_int_equal(st, st2);
    if (st2 == MINT_OK) {
        assert_int_equal(b.nbytes, a->nbytes);
        assert_memory_equal(b.data, a->data, a->nbytes);
    } else {
        assert_null(b.data);
    }
    io_npy_free(&b);
    return st;
}

static void test_npy_numpy_headers(void **state)
{
    (void)state;
    uint8_t img[512];
    float v[6] = { 1, 2, 3, 4, 5, 6 };
    io_npy a;
    /* key order, quotes, spacing and trailing comma as various writers emit */
    const char *ok[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "{'fortran_order':False,'descr':'<f4','shape':(2 , 3 ,)}",
        "  { 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2, 3 ) , }  ",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = make_npy(img, 1, ok[i], v, sizeof v);
        if (read_img(img, n, &a) != MINT_OK)
            fail_msg("header %zu refused: %s", i, mint_last_error());
        assert_int_equal(a.rank, 2);
        assert_int_equal(a.dims[0], 2);
        assert_int_equal(a.dims[1], 3);
        assert_memory_equal(a.data, v, sizeof v);
        io_npy_free(&a);
    }
    /* version 2.0 */
    size_t n = make_npy(img, 2, ok[0], v, sizeof v);
    assert_int_equal(read_img(img, n, &a), MINT_OK);
    assert_memory_equal(a.data, v, sizeof v);
    io_npy_free(&a);
    /* scalar and <u1 */
    n = make_npy(img, 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (), }", "\x07", 1);
    assert_int_equal(read_img(img, n, &a), MINT_OK);
    assert_int_equal(a.rank, 0);
    assert_int_equal(a.dtype, BASE_U8);
    assert_int_equal(((uint8_t *)a.data)[0], 7);
    io_npy_free(&a);
}

static void test_npy_hostile(void **state)
{
    (void)state;
    static uint8_t img[1 << 17];
    float v[8] = { 0 };
    io_npy a;
    static const struct {
        const char *dict;
        size_t nbytes;
        mint_status want;
        const char *msg;
    } bad[] = {
        { "{'descr': '<f4', 'fortran_order': False}", 24, MINT_E_FORMAT, "missing key 'shape'" },
        { "{'descr': '<f4', 'shape': (2, 3)}", 24, MINT_E_FORMAT, "missing key 'fortran_order'" },
        { "{'fortran_order': False, 'shape': (2, 3)}", 24, MINT_E_FORMAT, "missing key 'descr'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24, MINT_E_FORMAT, "unknown key" },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 24, MINT_E_FORMAT, "duplicate" },
        { "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}", 24, MINT_E_UNSUPPORTED, "Fortran" },
        { "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3)}", 24, MINT_E_UNSUPPORTED, "'>f4'" },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", 24, MINT_E_UNSUPPORTED, "'<f8'" },
        { "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", 24, MINT_E_FORMAT, "True or False" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", 24, MINT_E_FORMAT, "tuple" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", 24, MINT_E_FORMAT, "trailing comma" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", 24, MINT_E_FORMAT, "integer" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", 24, MINT_E_FORMAT, "expected ','" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", 24, MINT_E_FORMAT, "integer" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 24, MINT_E_FORMAT, "too large" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", 24, MINT_E_FORMAT, "overflow" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,)}", 24, MINT_E_FORMAT, "overflow" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1152921504606846976,)}", 24, MINT_E_FORMAT, "shorter" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6)}", 24, MINT_E_FORMAT, "more than 8" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 20, MINT_E_FORMAT, "shorter than its shape" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 28, MINT_E_FORMAT, "after the data" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", 24, MINT_E_FORMAT, "after the dictionary" },
        { "{'descr': '<f4\\', 'fortran_order': False, 'shape': (2, 3)}", 24, MINT_E_FORMAT, "bad .npy header" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", 24, MINT_E_FORMAT, "bad .npy header" },
        { "'descr': '<f4'", 24, MINT_E_FORMAT, "expected '{'" },
        { "", 24, MINT_E_FORMAT, "expected '{'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = make_npy(img, 1, bad[i].dict, v, bad[i].nbytes);
        mint_status st = read_img(img, n, &a);
        if (st != bad[i].want)
            fail_msg("case %zu (%s): status %d (%s)", i, bad[i].dict, (int)st, mint_last_error());
        if (!strstr(mint_last_error(), bad[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, mint_last_error(), bad[i].msg);
        assert_null(a.data);
    }

    /* preamble-level damage */
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    size_t n = make_npy(img, 1, good, v, 8);
    uint8_t c[256];
    memcpy(c, img, n);
    c[0] = 'X';
    assert_int_equal(read_img(c, n, &a), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "not a .npy file"));
    memcpy(c, img, n);
    c[6] = 3;
    assert_int_equal(read_img(c, n, &a), MINT_E_UNSUPPORTED);
    assert_non_null(strstr(mint_last_error(), "version 3.0"));
    memcpy(c, img, n);
    c[8] = 0xff; /* header length past the file */
    c[9] = 0xff;
    assert_int_equal(read_img(c, n, &a), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "past end of file"));
    memcpy(c, img, n);
    c[8] = c[9] = 0;
    assert_int_equal(read_img(c, n, &a), MINT_E_FORMAT);
    memcpy(c, img, n);
    c[10 + 40] = '\x01'; /* control byte in the header */
    assert_int_equal(read_img(c, n, &a), MINT_E_FORMAT);
    memcpy(c, img, n);
    c[n - 8 - 1] = ' '; /* no final newline */
    assert_int_equal(read_img(c, n, &a), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "newline"));
    assert_int_equal(read_img(img, 0, &a), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "empty"));
    /* truncated anywhere: an error, never a crash */
    for (size_t k = 0; k < n; k++) {
        mint_status st = io_npy_read_mem(img, k, "t.npy", &a);
        if (st != MINT_E_FORMAT)
            fail_msg("truncated at %zu: status %d", k, (int)st);
    }
    /* v2.0 with a header length past the file */
    n = make_npy(img, 2, good, v, 8);
    img[11] = 0x7f;
    assert_int_equal(io_npy_read_mem(img, n, "t.npy", &a), MINT_E_FORMAT);
    /* a big (valid) v2.0 header is read */
    char *dict = malloc(70000);
    snprintf(dict, 70000, "%s", good);
    memset(dict + strlen(good), ' ', 69000);
    dict[strlen(good) + 69000] = '\0';
    n = make_npy(img, 2, dict, v, 8);
    free(dict);
    assert_int_equal(read_img(img, n, &a), MINT_OK);
    assert_int_equal(a.dims[0], 2);
    io_npy_free(&a);
    assert_int_equal(io_npy_read(test_tmp_path("none.npy"), &a), MINT_E_IO);
}

static void test_npy_stream(void **state)
{
    (void)state;
    const char *path = test_tmp_path("stream.npy");
    float rows[5][3];
    for (int i = 0; i < 15; i++)
        rows[i / 3][i % 3] = (float)i;
    int64_t dims[2] = { 5, 3 };
    io_npy_writer *w;

    /* incomplete: nothing is created */
    assert_int_equal(io_npy_writer_open(&w, path, BASE_F32, 2, dims), MINT_OK);
    assert_int_equal(test_tmp_count(path), 1);
    assert_int_equal(io_npy_writer_append(w, rows[0], 2), MINT_OK);
    assert_int_equal(io_npy_writer_close(w), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "only 2 of 5 rows"));
    assert_false(test_file_exists(path));
    assert_int_equal(test_tmp_count(path), 0);

    /* too many rows are refused; abort leaves nothing */
    assert_int_equal(io_npy_writer_open(&w, path, BASE_F32, 2, dims), MINT_OK);
    assert_int_equal(io_npy_writer_append(w, rows[0], 6), MINT_E_ARG);
    io_npy_writer_abort(w);
    assert_false(test_file_exists(path));
    assert_int_equal(test_tmp_count(path), 0);

    /* complete, in pieces */
    assert_int_equal(io_npy_writer_open(&w, path, BASE_F32, 2, dims), MINT_OK);
    assert_int_equal(io_npy_writer_append(w, rows[0], 1), MINT_OK);
    assert_int_equal(io_npy_writer_append(w, rows[1], 0), MINT_OK);
    assert_int_equal(io_npy_writer_append(w, rows[1], 3), MINT_OK);
    assert_false(test_file_exists(path));
    assert_int_equal(io_npy_writer_append(w, rows[4], 1), MINT_OK);
    assert_int_equal(io_npy_writer_append(w, rows[4], 1), MINT_E_ARG);
    assert_int_equal(io_npy_writer_close(w), MINT_OK);
    assert_int_equal(test_tmp_count(path), 0);
    io_npy a;
    assert_int_equal(io_npy_read(path, &a), MINT_OK);
    assert_int_equal(a.nbytes, sizeof rows);
    assert_memory_equal(a.data, rows, sizeof rows);
    io_npy_free(&a);

    /* an unwritable destination fails at open */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/dir/x.npy", test_tmpdir());
    assert_int_equal(io_npy_writer_open(&w, bad, BASE_F32, 2, dims), MINT_E_IO);
    assert_int_equal(io_npy_write(bad, BASE_F32, 2, dims, rows), MINT_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_exact),
        cmocka_unit_test(test_half_exhaustive),
        cmocka_unit_test(test_half_nearest),
        cmocka_unit_test(test_npy_roundtrip),
        cmocka_unit_test(test_npy_numpy_headers),
        cmocka_unit_test(test_npy_hostile),
        cmocka_unit_test(test_npy_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
