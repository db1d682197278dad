/* test_idx.c - MNIST-style idx files (io/idx.h): parsing, hostile headers,
 * gzip, "<file>#<i>" image names through io_image_load, and the real
 * MNIST test set when ../shared/data is present. */
#include "testutil.h"
#include "io/idx.h"
#include "io/image.h"

#include <zlib.h>

/* An idx images file of n r x c images whose pixel (k, y, x) = k*7 + y*3 + x. */
static uint8_t *make_images(uint32_t n, uint32_t r, uint32_t c, size_t *size)
{
    size_t bytes = 16 + (size_t)n * r * c;
    uint8_t *b = malloc(bytes);
    assert_non_null(b);
    uint8_t h[16] = { 0, 0, 8, 3 };
    uint32_t d[3] = { n, r, c };
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++)
            h[4 + 4 * i + k] = (uint8_t)(d[i] >> (24 - 8 * k));
    memcpy(b, h, 16);
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t y = 0; y < r; y++)
            for (uint32_t x = 0; x < c; x++)
                b[16 + ((size_t)k * r + y) * c + x] = (uint8_t)(k * 7 + y * 3 + x);
    *size = bytes;
    return b;
}

static void write_gz(const char *path, const uint8_t *b, size_t n)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, b, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
}

static void test_parse_and_hostile(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = make_images(3, 4, 5, &size);
    io_idx x;
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_OK);
    assert_int_equal(x.rank, 3);
    assert_int_equal(x.dims[0], 3);
    assert_int_equal(x.dims[1], 4);
    assert_int_equal(x.dims[2], 5);
    assert_int_equal(x.data[2 * 20 + 1 * 5 + 2], 2 * 7 + 3 + 2);
    io_idx_free(&x);
    /* truncated data, trailing bytes, bad magic, bad type, bad rank, zero
     * items, huge side, header cut short: each refused, nothing allocated */
    assert_int_equal(io_idx_parse(b, size - 1, "mem", &x), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "truncated"));
    uint8_t *big = malloc(size + 1);
    memcpy(big, b, size);
    big[size] = 0;
    assert_int_equal(io_idx_parse(big, size + 1, "mem", &x), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "trailing"));
    free(big);
    assert_null(x.data);
    b[0] = 1;
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_E_FORMAT);
    b[0] = 0;
    b[2] = 0x0D; /* float data */
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_E_UNSUPPORTED);
    b[2] = 8;
    b[3] = 2;
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_E_UNSUPPORTED);
    b[3] = 3;
    uint8_t save[4];
    memcpy(save, b + 4, 4);
    memset(b + 4, 0, 4);
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_E_FORMAT);
    memset(b + 4, 0xff, 4); /* 4 billion items */
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_E_FORMAT);
    memcpy(b + 4, save, 4);
    memset(b + 8, 0xff, 4); /* huge rows */
    assert_int_equal(io_idx_parse(b, size, "mem", &x), MINT_E_FORMAT);
    assert_int_equal(io_idx_parse(b, 10, "mem", &x), MINT_E_FORMAT);
    assert_int_equal(io_idx_parse(b, 2, "mem", &x), MINT_E_FORMAT);
    free(b);
}

static void test_files_and_refs(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = make_images(5, 3, 2, &size);
    char gz[512], plain[512], ref[600], cut[512];
    snprintf(gz, sizeof gz, "%s", test_tmp_path("t-images-idx3-ubyte.gz"));
    snprintf(plain, sizeof plain, "%s", test_tmp_path("p-images-idx3-ubyte"));
    snprintf(cut, sizeof cut, "%s", test_tmp_path("cut-images-idx3-ubyte.gz"));
    write_gz(gz, b, size);
    assert_int_equal(test_write_file(plain, b, size), 0);
    write_gz(cut, b, size - 3);
    io_idx x;
    assert_int_equal(io_idx_load(gz, &x), MINT_OK);
    assert_memory_equal(x.data, b + 16, size - 16);
    io_idx_free(&x);
    assert_int_equal(io_idx_load(plain, &x), MINT_OK);
    io_idx_free(&x);
    assert_int_equal(io_idx_load(cut, &x), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "truncated"));
    assert_int_equal(io_idx_load(test_tmp_path("absent-idx3"), &x), MINT_E_IO);

    /* image 4 by name through io_image_load */
    io_image img;
    snprintf(ref, sizeof ref, "%s#4", gz);
    assert_int_equal(io_image_load(ref, &img, 0), MINT_OK);
    assert_int_equal(img.w, 2);
    assert_int_equal(img.h, 3);
    assert_int_equal(img.c, 1);
    assert_int_equal(img.px[1 * 2 + 1], 4 * 7 + 3 + 1);
    io_image_free(&img);
    snprintf(ref, sizeof ref, "%s#5", gz); /* one past the end */
    assert_int_equal(io_image_load(ref, &img, 0), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "holds 5 images"));
    snprintf(ref, sizeof ref, "%s#x1", gz); /* not a number: an ordinary (missing) file */
    assert_int_equal(io_image_load(ref, &img, 0), MINT_E_IO);

    char f[512];
    size_t i;
    assert_int_equal(io_idx_ref("a/train-images-idx3-ubyte.gz#12", f, sizeof f, &i), 1);
    assert_string_equal(f, "a/train-images-idx3-ubyte.gz");
    assert_int_equal(i, 12);
    assert_int_equal(io_idx_ref("photo#12.jpg", f, sizeof f, &i), 0);
    assert_int_equal(io_idx_ref("photo.jpg#12", f, sizeof f, &i), 0);
    assert_int_equal(io_idx_ref("digits.idx#0", f, sizeof f, &i), 1);
    assert_int_equal(io_idx_labels_path("d/t10k-images-idx3-ubyte.gz", f, sizeof f), 0);
    assert_string_equal(f, "d/t10k-labels-idx1-ubyte.gz");
    assert_int_equal(io_idx_labels_path("d/faces.png", f, sizeof f), -1);
    free(b);
}

static void test_real_mnist(void **state)
{
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s/mnist/t10k-labels-idx1-ubyte.gz", test_shared_data());
    if (!test_file_exists(p)) {
        printf("SKIP: %s absent\n", p);
        skip();
    }
    io_idx lab, img;
    assert_int_equal(io_idx_load(p, &lab), MINT_OK);
    snprintf(p, sizeof p, "%s/mnist/t10k-images-idx3-ubyte.gz", test_shared_data());
    assert_int_equal(io_idx_load(p, &img), MINT_OK);
    assert_int_equal(lab.rank, 1);
    assert_int_equal(lab.dims[0], 10000);
    assert_int_equal(img.dims[0], 10000);
    assert_int_equal(img.dims[1], 28);
    /* the first MNIST test digit is a 7 */
    assert_int_equal(lab.data[0], 7);
    int counts[10] = { 0 };
    for (int k = 0; k < 10000; k++) {
        assert_true(lab.data[k] < 10);
        counts[lab.data[k]]++;
    }
    assert_int_equal(counts[1], 1135); /* the known class sizes of the test set */
    assert_int_equal(counts[5], 892);
    io_idx_free(&lab);
    io_idx_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_hostile),
        cmocka_unit_test(test_files_and_refs),
        cmocka_unit_test(test_real_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
