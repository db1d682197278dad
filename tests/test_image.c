/* test_image.c - PNG/JPEG decoding (io/image.c).
 *
 * PNG fixtures (tests/fixtures/images, written by
 * tools/make_align_fixtures.py) follow the pixel formulas below; JPEG
 * fixtures come with cv2's decode stored losslessly as <name>.jpg.png; three
 * LFW JPEGs are checked against cv2's decode by hash (skipped without the
 * shared data). Broken, hostile and unsupported files must be refused with
 * the right status, a message naming the file and no crash. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "io/image.h"

#define IMG_FIX TEST_FIXTURES "/images/"

/* ---- the generator's formulas (tools/make_align_fixtures.py) ---- */
static int pat8(int x, int y, int k) { return (x * 37 + y * 91 + k * 53 + 7) & 255; }
static int pat16(int x, int y, int k) { return (x * 7411 + y * 13331 + k * 20011 + 777) & 0xFFFF; }
static int to8(int v) { return (v * 255 + 32767) / 65535; }
static int pal_index(int x, int y) { return (x + 3 * y) % 16; }
static int pal_entry(int i, int k)
{
    return k == 0 ? (i * 17) & 255 : k == 1 ? (255 - i * 13) & 255 : (i * 29 + 5) & 255;
}
static int grey1(int x, int y) { return ((x * 3 + y) >> 1) & 1; }

static void load_ok(const char *name, io_image *img, int w, int h, int c)
{
    char path[512];
    snprintf(path, sizeof path, IMG_FIX "%s", name);
    mint_status st = io_image_load(path, img, 0);
    if (st != MINT_OK)
        fail_msg("%s: %s", name, mint_last_error());
    assert_int_equal(img->w, w);
    assert_int_equal(img->h, h);
    assert_int_equal(img->c, c);
    assert_non_null(img->px);
}

typedef int (*pix_fn)(int x, int y, int k);

static void expect_pixels(const char *name, int w, int h, int c, pix_fn f)
{
    io_image img;
    load_ok(name, &img, w, h, c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                int got = img.px[((size_t)y * w + x) * c + k], want = f(x, y, k);
                if (got != want)
                    fail_msg("%s: pixel (%d,%d,%d) = %d, expected %d", name, x, y, k, got, want);
            }
    io_image_free(&img);
}

static int f_pat8(int x, int y, int k) { return pat8(x, y, k); }
static int f_pat16(int x, int y, int k) { return to8(pat16(x, y, k)); }
static int f_pal(int x, int y, int k) { return pal_entry(pal_index(x, y), k); }
static int f_grey1(int x, int y, int k) { (void)k; return grey1(x, y) * 255; }

static void test_png_8bit(void **state)
{
    (void)state;
    expect_pixels("grey8.png", 7, 5, 1, f_pat8);
    expect_pixels("rgb8.png", 7, 5, 3, f_pat8);   /* Sub-filtered rows */
    expect_pixels("rgba8.png", 7, 5, 3, f_pat8);  /* alpha dropped */
    expect_pixels("greya8.png", 7, 5, 1, f_pat8); /* alpha dropped */
}

static void test_png_16bit(void **state)
{
    (void)state;
    /* (v*255 + 32767)/65535 rounding: spot-check the formula itself */
    assert_int_equal(to8(0), 0);
    assert_int_equal(to8(65535), 255);
    assert_int_equal(to8(128), 0);
    assert_int_equal(to8(129), 1);
    expect_pixels("grey16.png", 7, 5, 1, f_pat16);
    expect_pixels("rgb16.png", 7, 5, 3, f_pat16);
    expect_pixels("rgba16.png", 7, 5, 3, f_pat16);
}

static void test_png_palette_lowbit(void **state)
{
    (void)state;
    expect_pixels("palette8.png", 7, 5, 3, f_pal);
    expect_pixels("palette4_trns.png", 7, 5, 3, f_pal); /* tRNS ignored */
    expect_pixels("grey1.png", 9, 3, 1, f_grey1);
}

static void test_png_interlaced(void **state)
{
    (void)state;
    expect_pixels("interlaced_rgb8.png", 11, 9, 3, f_pat8);
    expect_pixels("interlaced_grey16.png", 11, 9, 1, f_pat16);
    expect_pixels("interlaced_tiny.png", 3, 2, 1, f_pat8);
}

static void expect_refused(const char *name, mint_status want, const char *substr)
{
    char path[512];
    snprintf(path, sizeof path, IMG_FIX "%s", name);
    io_image img = {1, 1, 1, (uint8_t *)&img}; /* garbage: must be zeroed */
    mint_status st = io_image_load(path, &img, 0);
    if (st != want)
        fail_msg("%s: status %d (%s), expected %d; message: %s", name, st, mint_strerror(st), want,
                 mint_last_error());
    assert_null(img.px);
    assert_int_equal(img.w, 0);
    if (!strstr(mint_last_error(), path))
        fail_msg("%s: message lacks the path: %s", name, mint_last_error());
    if (substr && !strstr(mint_last_error(), substr))
        fail_msg("%s: message lacks '%s': %s", name, substr, mint_last_error());
    print_message("  refused %-18s %s\n", name, mint_last_error());
}

static void test_png_broken(void **state)
{
    (void)state;
    expect_refused("trunc_idat.png", MINT_E_FORMAT, NULL);
    expect_refused("trunc_iend.png", MINT_E_FORMAT, NULL);
    expect_refused("trunc_sig.png", MINT_E_FORMAT, NULL);
    expect_refused("badcrc.png", MINT_E_FORMAT, NULL);
    expect_refused("badzlib.png", MINT_E_FORMAT, NULL);
    expect_refused("zerowidth.png", MINT_E_FORMAT, NULL);
}

static void test_bomb_and_limit(void **state)
{
    (void)state;
    expect_refused("bomb.png", MINT_E_FORMAT, "100000x100000");
    /* the same limit through max_pixels on a valid image */
    io_image img;
    assert_int_equal(io_image_load(IMG_FIX "rgb8.png", &img, 34), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "exceeds"));
    assert_int_equal(io_image_load(IMG_FIX "rgb8.png", &img, 35), MINT_OK);
    io_image_free(&img);
    assert_int_equal(io_image_load(IMG_FIX "rgb420.jpg", &img, 32 * 24 - 1), MINT_E_FORMAT);
    assert_int_equal(io_image_load(IMG_FIX "rgb420.jpg", &img, 32 * 24), MINT_OK);
    io_image_free(&img);
}

/* JPEG vs cv2's decode of the same file (stored as PNG next to it). */
static void expect_jpeg_matches(const char *name, int w, int h, int c)
{
    char ref[256];
    io_image img, want;
    load_ok(name, &img, w, h, c);
    snprintf(ref, sizeof ref, "%s.png", name);
    load_ok(ref, &want, w, h, c);
    size_t n = (size_t)w * h * c, diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += img.px[i] != want.px[i];
    if (diff)
        fail_msg("%s: %zu of %zu bytes differ from cv2", name, diff, n);
    io_image_free(&img);
    io_image_free(&want);
}

static void test_jpeg_vs_cv2(void **state)
{
    (void)state;
    expect_jpeg_matches("rgb420.jpg", 32, 24, 3);
    expect_jpeg_matches("rgb422.jpg", 32, 24, 3);
    expect_jpeg_matches("rgb444.jpg", 32, 24, 3);
    expect_jpeg_matches("progressive.jpg", 32, 24, 3);
    expect_jpeg_matches("odd.jpg", 19, 13, 3);
    expect_jpeg_matches("grey.jpg", 32, 24, 1);
}

static void test_jpeg_broken_and_unsupported(void **state)
{
    (void)state;
    expect_refused("trunc.jpg", MINT_E_FORMAT, NULL);
    expect_refused("header_only.jpg", MINT_E_FORMAT, NULL);
    expect_refused("corrupt.jpg", MINT_E_FORMAT, NULL);
    expect_refused("cmyk.jpg", MINT_E_UNSUPPORTED, "CMYK");
    expect_refused("tiny.gif", MINT_E_UNSUPPORTED, "GIF");
    expect_refused("not_image.txt", MINT_E_FORMAT, NULL);
    expect_refused("does_not_exist.png", MINT_E_IO, NULL);
}

/* A valid progressive grey JPEG with one AC coefficient per scan and
 * successive approximation: 1 + 63 * (1 + al) scans. */
static unsigned char *make_many_scan_jpeg(int al, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    jpeg_mem_dest(&c, &out, len);
    c.image_width = 16;
    c.image_height = 16;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    int nscans = 1 + 63 * (1 + al);
    jpeg_scan_info *scans = calloc((size_t)nscans, sizeof *scans);
    int n = 0;
    scans[n].comps_in_scan = 1; /* DC, full precision */
    n++;
    for (int k = 1; k < 64; k++) {
        for (int a = al; a >= 0; a--) {
            scans[n].comps_in_scan = 1;
            scans[n].Ss = scans[n].Se = k;
            scans[n].Ah = a == al ? 0 : a + 1;
            scans[n].Al = a;
            n++;
        }
    }
    c.scan_info = scans;
    c.num_scans = nscans;
    jpeg_start_compress(&c, TRUE);
    unsigned char row[16];
    while (c.next_scanline < 16) {
        for (int x = 0; x < 16; x++)
            row[x] = (unsigned char)(x * 13 + c.next_scanline * 7);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(scans);
    return out;
}

static void test_jpeg_scan_bomb(void **state)
{
    (void)state;
    unsigned long len;
    io_image img;
    unsigned char *ok = make_many_scan_jpeg(0, &len); /* 64 scans: fine */
    assert_int_equal(io_image_load_mem(ok, len, &img, 0), MINT_OK);
    assert_int_equal(img.w, 16);
    assert_int_equal(img.c, 1);
    io_image_free(&img);
    free(ok);
    unsigned char *bomb = make_many_scan_jpeg(9, &len); /* 631 scans */
    assert_int_equal(io_image_load_mem(bomb, len, &img, 0), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "progressive scans"));
    print_message("  refused 631-scan JPEG: %s\n", mint_last_error());
    assert_null(img.px);
    free(bomb);
}

static void test_mem_and_args(void **state)
{
    (void)state;
    io_image img;
    assert_int_equal(io_image_load_mem("", 0, &img, 0), MINT_E_FORMAT);
    assert_int_equal(io_image_load_mem(NULL, 0, &img, 0), MINT_E_FORMAT);
    assert_int_equal(io_image_load_mem(NULL, 5, &img, 0), MINT_E_ARG);
    assert_int_equal(io_image_load_mem("\xff\xd8\xff", 3, &img, 0), MINT_E_FORMAT);
    assert_int_equal(io_image_load(NULL, &img, 0), MINT_E_ARG);
    assert_int_equal(io_image_load(IMG_FIX "rgb8.png", NULL, 0), MINT_E_ARG);
    assert_int_equal(io_image_load(IMG_FIX, &img, 0), MINT_E_IO); /* a directory */
    /* a missing file says so (errno text), it is not a "malformed" one */
    assert_int_equal(io_image_load(IMG_FIX "no_such_file.png", &img, 0), MINT_E_IO);
    assert_non_null(strstr(mint_last_error(), "no_such_file.png: cannot open: "));
    assert_non_null(strstr(mint_last_error(), strerror(ENOENT)));
    /* decoding from memory names no file: the caller prefixes its own name,
     * so the message must not carry a made-up one ("x.png: <memory>: ...") */
    static const char trunc_png[] = "\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxx";
    assert_int_equal(io_image_load_mem(trunc_png, sizeof trunc_png - 1, &img, 0), MINT_E_FORMAT);
    assert_null(strstr(mint_last_error(), "<memory>"));
    assert_int_equal(strncmp(mint_last_error(), "corrupt PNG: ", 13), 0);
    assert_int_equal(io_image_load_mem("GIF89a..", 8, &img, 0), MINT_E_UNSUPPORTED);
    assert_string_equal(mint_last_error(), "GIF images are not supported (use PNG or JPEG)");
    assert_int_equal(io_image_load_mem("\xff\xd8\xff", 3, &img, 0), MINT_E_FORMAT);
    assert_int_equal(strncmp(mint_last_error(), "corrupt JPEG: ", 14), 0);
    /* from a file, the message starts with its path */
    char tpath[512];
    snprintf(tpath, sizeof tpath, "%s", test_tmp_path("trunc.png"));
    FILE *tf = fopen(tpath, "wb");
    assert_non_null(tf);
    fwrite(trunc_png, 1, sizeof trunc_png - 1, tf);
    fclose(tf);
    assert_int_equal(io_image_load(tpath, &img, 0), MINT_E_FORMAT);
    char want[600];
    snprintf(want, sizeof want, "%s: corrupt PNG: ", tpath);
    assert_int_equal(strncmp(mint_last_error(), want, strlen(want)), 0);
    io_image_free(NULL);
    io_image z = {0};
    io_image_free(&z);
    /* memory and file decoders agree */
    const char *names[] = {"rgb8.png", "interlaced_grey16.png", "progressive.jpg", "grey.jpg"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[256];
        size_t len;
        snprintf(path, sizeof path, IMG_FIX "%s", names[i]);
        void *buf = test_read_file(path, &len);
        assert_non_null(buf);
        io_image a, b;
        assert_int_equal(io_image_load(path, &a, 0), MINT_OK);
        assert_int_equal(io_image_load_mem(buf, len, &b, 0), MINT_OK);
        assert_int_equal(a.w * a.h * a.c, b.w * b.h * b.c);
        assert_memory_equal(a.px, b.px, (size_t)a.w * a.h * a.c);
        io_image_free(&a);
        io_image_free(&b);
        free(buf);
    }
}

/* Every prefix and a sweep of byte corruptions of each valid fixture: the
 * decoder must return (OK or an error with a zeroed image), never crash.
 * Run under SAN=address,undefined to catch memory errors. */
static void test_fuzz_fixtures(void **state)
{
    (void)state;
    const char *names[] = {"rgb8.png",   "rgba16.png",      "palette4_trns.png",
                           "grey1.png",  "interlaced_rgb8.png", "rgb420.jpg",
                           "rgb444.jpg", "progressive.jpg", "grey.jpg"};
    size_t runs = 0, ok = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[256];
        size_t len;
        snprintf(path, sizeof path, IMG_FIX "%s", names[i]);
        unsigned char *buf = test_read_file(path, &len);
        assert_non_null(buf);
        unsigned char *cp = malloc(len);
        for (size_t cut = 0; cut < len; cut++) {
            io_image img;
            mint_status st = io_image_load_mem(buf, cut, &img, 0);
            runs++;
            if (st == MINT_OK) {
                ok++;
                io_image_free(&img);
            } else {
                assert_null(img.px);
            }
        }
        for (size_t pos = 0; pos < len; pos += 3) {
            for (int v = 0; v < 3; v++) {
                memcpy(cp, buf, len);
                cp[pos] = v == 0 ? 0x00 : v == 1 ? 0xff : (unsigned char)(cp[pos] ^ 0x5a);
                io_image img;
                mint_status st = io_image_load_mem(cp, len, &img, 4096);
                runs++;
                if (st == MINT_OK) {
                    ok++;
                    assert_true(img.w > 0 && img.h > 0 && (img.c == 1 || img.c == 3));
                    io_image_free(&img);
                } else {
                    assert_null(img.px);
                }
            }
        }
        free(cp);
        free(buf);
    }
    print_message("  fuzz: %zu decodes, %zu accepted, no crash\n", runs, ok);
}

static void test_write_png_roundtrip(void **state)
{
    (void)state;
    char dir[] = "/tmp/mint_test_image_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    for (int c = 1; c <= 3; c += 2) {
        io_image img;
        assert_int_equal(io_image_alloc(&img, 13, 7, c), MINT_OK);
        for (int i = 0; i < 13 * 7 * c; i++)
            img.px[i] = (uint8_t)(i * 7 + 3);
        snprintf(path, sizeof path, "%s/out%d.png", dir, c);
        assert_int_equal(io_image_write_png(path, &img), MINT_OK);
        io_image back;
        assert_int_equal(io_image_load(path, &back, 0), MINT_OK);
        assert_int_equal(back.w, 13);
        assert_int_equal(back.h, 7);
        assert_int_equal(back.c, c);
        assert_memory_equal(back.px, img.px, (size_t)13 * 7 * c);
        /* overwrite in place works (rename over an existing file) */
        assert_int_equal(io_image_write_png(path, &img), MINT_OK);
        io_image_free(&back);
        io_image_free(&img);
    }
    /* nothing but the two outputs is left in the directory */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            files++;
    closedir(d);
    assert_int_equal(files, 2);
    io_image bad = {0};
    assert_int_equal(io_image_write_png(path, &bad), MINT_E_ARG);
    io_image ok;
    assert_int_equal(io_image_alloc(&ok, 2, 2, 3), MINT_OK);
    assert_int_equal(io_image_write_png("/nonexistent_dir_mint/x.png", &ok), MINT_E_IO);
    io_image_free(&ok);
    snprintf(path, sizeof path, "%s/out1.png", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/out3.png", dir);
    unlink(path);
    rmdir(dir);
}

/* LFW JPEGs: the decode must equal cv2.imread's (BGR->RGB) bit for bit. */
static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void test_lfw_jpeg_vs_cv2(void **state)
{
    (void)state;
    char lfw[512];
    snprintf(lfw, sizeof lfw, "%s/lfw/images", test_shared_data());
    struct stat sb;
    if (stat(lfw, &sb) != 0) {
        print_message("  SKIP: %s absent (set MINT_SHARED_DATA)\n", lfw);
        skip();
    }
    FILE *f = fopen(TEST_FIXTURES "/align/jpeg_decode.csv", "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char file[256], hash[32];
        int w, h, c, s[15];
        long long sum;
        int got = sscanf(line,
                         "%255[^,],%d,%d,%d,%31[^,],%lld,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d",
                         file, &w, &h, &c, hash, &sum, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5],
                         &s[6], &s[7], &s[8], &s[9], &s[10], &s[11], &s[12], &s[13], &s[14]);
        assert_int_equal(got, 21);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", lfw, file);
        io_image img;
        if (io_image_load(path, &img, 0) != MINT_OK)
            fail_msg("%s", mint_last_error());
        assert_int_equal(img.w, w);
        assert_int_equal(img.h, h);
        assert_int_equal(img.c, c);
        size_t nb = (size_t)w * h * c;
        long long mysum = 0;
        for (size_t i = 0; i < nb; i++)
            mysum += img.px[i];
        for (int j = 0; j < 3; j++) {
            const uint8_t *p = img.px + ((size_t)s[5 * j + 1] * w + s[5 * j]) * 3;
            assert_int_equal(p[0], s[5 * j + 2]);
            assert_int_equal(p[1], s[5 * j + 3]);
            assert_int_equal(p[2], s[5 * j + 4]);
        }
        char myhash[32];
        snprintf(myhash, sizeof myhash, "%016llx", (unsigned long long)fnv1a64(img.px, nb));
        print_message("  %s: sum %lld (cv2 %lld), fnv %s (cv2 %s)\n", file, mysum, sum, myhash,
                      hash);
        assert_true(mysum == sum);
        assert_string_equal(myhash, hash);
        io_image_free(&img);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_8bit),
        cmocka_unit_test(test_png_16bit),
        cmocka_unit_test(test_png_palette_lowbit),
        cmocka_unit_test(test_png_interlaced),
        cmocka_unit_test(test_png_broken),
        cmocka_unit_test(test_bomb_and_limit),
        cmocka_unit_test(test_jpeg_vs_cv2),
        cmocka_unit_test(test_jpeg_broken_and_unsupported),
        cmocka_unit_test(test_jpeg_scan_bomb),
        cmocka_unit_test(test_mem_and_args),
        cmocka_unit_test(test_fuzz_fixtures),
        cmocka_unit_test(test_write_png_roundtrip),
        cmocka_unit_test(test_lfw_jpeg_vs_cv2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
