/* test_align.c - landmark CSV reader, similarity estimation, OpenCV-exact
 * warp and tensor conversion (io/landmarks.c, io/align.c).
 *
 * Golden data: tests/fixtures/align/align.csv and the cv2.warpAffine crops
 * next to it (tools/make_align_fixtures.py); the LFW source JPEGs are read
 * from the shared data (skipped visibly when absent). */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>

#include "io/align.h"
#include "io/image.h"
#include "io/landmarks.h"

#define ALIGN_FIX TEST_FIXTURES "/align/"

/* ====================================================================
 * landmarks CSV
 * ==================================================================== */
static io_landmarks *parse_ok(const char *text)
{
    io_landmarks *lm = NULL;
    mint_status st = io_landmarks_parse(text, strlen(text), "t.csv", &lm);
    if (st != MINT_OK)
        fail_msg("parse failed: %s", mint_last_error());
    return lm;
}

static void parse_err(const char *text, const char *substr)
{
    io_landmarks *lm = (io_landmarks *)1;
    mint_status st = io_landmarks_parse(text, strlen(text), "t.csv", &lm);
    if (st == MINT_OK)
        fail_msg("expected an error containing '%s'", substr);
    assert_null(lm);
    if (!strstr(mint_last_error(), substr))
        fail_msg("message '%s' lacks '%s'", mint_last_error(), substr);
    print_message("  error: %s\n", mint_last_error());
}

static void test_landmarks_parse(void **state)
{
    (void)state;
    /* reordered columns, extra columns, CRLF, quotes, BOM, blank lines */
    const char *csv = "\xEF\xBB\xBF"
                      "score,rmy,rmx,lmy,lmx,ny,nx,rey,rex,ley,lex,file,extra\r\n"
                      "0.9,10,9,8,7,6,5,4,3,2,1,a/b.jpg,x\r\n"
                      "\r\n"
                      "0.5, 1e1 ,-9, 8.5,7,6,5,4,3,2,1,\"c,\"\"d\"\".png\",\"\"\r\n"
                      "0.1,0,0,0,0,0,0,0,0,0,0,\"./e.png\",\n";
    io_landmarks *lm = parse_ok(csv);
    assert_int_equal(lm->n, 3);
    const float *p = io_landmarks_find(lm, "a/b.jpg");
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        assert_true(p[i] == (float)(i + 1));
    p = io_landmarks_find(lm, "c,\"d\".png");
    assert_non_null(p);
    assert_true(p[9] == 10.0f && p[8] == -9.0f && p[7] == 8.5f);
    assert_non_null(io_landmarks_find(lm, "e.png"));   /* ./ dropped */
    assert_non_null(io_landmarks_find(lm, "./a/b.jpg"));
    assert_null(io_landmarks_find(lm, "a/B.jpg"));
    assert_null(io_landmarks_find(lm, ""));
    assert_string_equal(lm->rows[0].file, "a/b.jpg");
    io_landmarks_free(lm);

    /* lookup form: repeated '/' and "./" segments anywhere; names longer
     * than the lookup's stack buffer */
    static char big[2000];
    int k = snprintf(big, sizeof big, "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n.//d/");
    memset(big + k, 'x', 700);
    snprintf(big + k + 700, sizeof big - (size_t)k - 700, ".png,1,2,3,4,5,6,7,8,9,10\n");
    lm = parse_ok(big);
    char want[800];
    snprintf(want, sizeof want, "d/./%.700s.png", big + k);
    assert_non_null(io_landmarks_find(lm, want));
    snprintf(want, sizeof want, "d//%.700s.png", big + k);
    assert_non_null(io_landmarks_find(lm, want));
    snprintf(want, sizeof want, "d/%.699s.png", big + k);
    assert_null(io_landmarks_find(lm, want));
    io_landmarks_free(lm);

    /* header only: zero rows, lookups fail cleanly */
    lm = parse_ok("file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n");
    assert_int_equal(lm->n, 0);
    assert_null(io_landmarks_find(lm, "x"));
    io_landmarks_free(lm);
    io_landmarks_free(NULL);
    assert_null(io_landmarks_find(NULL, "x"));
}

static void test_landmarks_errors(void **state)
{
    (void)state;
    const char *H = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n";
    char buf[512];
    parse_err("", "no header");
    parse_err("\n\n", "no header");
    parse_err("file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx\n", "rmy");
    parse_err("name,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n", "file");
    parse_err("file,lex,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n", "twice");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,10\nb.jpg,1,2,3,4,5,six,7,8,9,10\n", H);
    parse_err(buf, "t.csv:3: column 'ny': 'six' is not a number");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9\n", H);
    parse_err(buf, "t.csv:2: expected 11 fields");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,10,11\n", H);
    parse_err(buf, "t.csv:2: expected 11 fields");
    snprintf(buf, sizeof buf, "%s\"a.jpg,1,2,3,4,5,6,7,8,9,10\n", H);
    parse_err(buf, "unterminated");
    snprintf(buf, sizeof buf, "%s\"a\"x.jpg,1,2,3,4,5,6,7,8,9,10\n", H);
    parse_err(buf, "closing quote");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,\n", H);
    parse_err(buf, "column 'rmy': '' is not a number");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,inf\n", H);
    parse_err(buf, "out of range");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,1e99\n", H);
    parse_err(buf, "out of range");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,1.5x\n", H);
    parse_err(buf, "not a number");
    snprintf(buf, sizeof buf, "%s,1,2,3,4,5,6,7,8,9,10\n", H);
    parse_err(buf, "t.csv:2: empty 'file'");
    snprintf(buf, sizeof buf, "%sa.jpg,1,2,3,4,5,6,7,8,9,10\r\n\r\n./a.jpg,1,2,3,4,5,6,7,8,9,10\r\n", H);
    parse_err(buf, "t.csv:4: duplicate entry for './a.jpg' (first at line 2)");
    char nul[] = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\na\0b,1,2,3,4,5,6,7,8,9,10\n";
    io_landmarks *lm = NULL;
    assert_int_equal(io_landmarks_parse(nul, sizeof nul - 1, "t.csv", &lm), MINT_E_FORMAT);
    assert_int_equal(io_landmarks_load("/nonexistent/x.csv", &lm), MINT_E_IO);
    assert_null(lm);
    assert_int_equal(io_landmarks_parse(NULL, 3, "t.csv", &lm), MINT_E_ARG);
}

static void test_landmarks_lfw(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/lfw/landmarks_5pt.csv", test_shared_data());
    struct stat sb;
    if (stat(path, &sb) != 0) {
        print_message("  SKIP: %s absent (set MINT_SHARED_DATA)\n", path);
        skip();
    }
    io_landmarks *lm = NULL;
    if (io_landmarks_load(path, &lm) != MINT_OK)
        fail_msg("%s", mint_last_error());
    print_message("  %s: %zu rows\n", path, lm->n);
    assert_int_equal(lm->n, 13233);
    /* AJ_Cook/AJ_Cook_0001.jpg,...,103.40,115.46,146.54,113.74,120.37,136.49,
     * 106.99,161.05,144.49,159.31 */
    const float *p = io_landmarks_find(lm, "AJ_Cook/AJ_Cook_0001.jpg");
    assert_non_null(p);
    assert_true(p[0] == 103.40f && p[1] == 115.46f && p[9] == 159.31f);
    size_t found = 0;
    for (size_t i = 0; i < lm->n; i++)
        found += io_landmarks_find(lm, lm->rows[i].file) == lm->rows[i].pts;
    assert_int_equal(found, lm->n);
    io_landmarks_free(lm);
}

/* ====================================================================
 * similarity estimation
 * ==================================================================== */
static void test_estimate_synthetic(void **state)
{
    (void)state;
    float M[6];
    assert_int_equal(io_align_estimate(io_arcface_template, M), MINT_OK);
    const float I[6] = {1, 0, 0, 0, 1, 0};
    for (int k = 0; k < 6; k++)
        assert_true(fabsf(M[k] - I[k]) < 1e-5f);

    /* src = inverse of a known similarity applied to the template:
     * template = s R src + t with s = 0.8, angle 0.3, t = (-20, 15) */
    double s = 0.8, a = 0.3, tx = -20, ty = 15;
    double c = s * cos(a), d = s * sin(a);
    float src[10];
    for (int i = 0; i < 5; i++) {
        double u = io_arcface_template[2 * i] - tx, v = io_arcface_template[2 * i + 1] - ty;
        double det = c * c + d * d; /* invert [c -d; d c] */
        src[2 * i] = (float)((c * u + d * v) / det);
        src[2 * i + 1] = (float)((-d * u + c * v) / det);
    }
    assert_int_equal(io_align_estimate(src, M), MINT_OK);
    const double want[6] = {c, -d, tx, d, c, ty};
    for (int k = 0; k < 6; k++)
        if (fabs(M[k] - want[k]) > 1e-4)
            fail_msg("M[%d] = %.7g, expected %.7g", k, M[k], want[k]);

    /* mirrored landmarks: still a proper rotation with uniform scale */
    float mir[10];
    for (int i = 0; i < 5; i++) {
        mir[2 * i] = 112.0f - io_arcface_template[2 * i];
        mir[2 * i + 1] = io_arcface_template[2 * i + 1];
    }
    assert_int_equal(io_align_estimate(mir, M), MINT_OK);
    assert_true(fabsf(M[0] - M[4]) < 1e-6f && fabsf(M[1] + M[3]) < 1e-6f);
    assert_true(M[0] * M[4] - M[1] * M[3] > 0);

    /* degenerate and non-finite input */
    float same[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    assert_int_equal(io_align_estimate(same, M), MINT_E_ARG);
    float bad[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, NAN};
    assert_int_equal(io_align_estimate(bad, M), MINT_E_ARG);
    bad[9] = INFINITY;
    assert_int_equal(io_align_estimate(bad, M), MINT_E_ARG);
    float huge[10] = {0, 0, 3e38f, 3e38f, -3e38f, 3e38f, 0, 1, 1, 0};
    mint_status st = io_align_estimate(huge, M); /* must not crash or return inf */
    if (st == MINT_OK)
        for (int k = 0; k < 6; k++)
            assert_true(isfinite(M[k]));
    assert_int_equal(io_align_estimate(NULL, M), MINT_E_ARG);
}

/* ====================================================================
 * warp
 * ==================================================================== */
static void test_warp_synthetic(void **state)
{
    (void)state;
    io_image src, dst;
    assert_int_equal(io_image_alloc(&src, 9, 7, 3), MINT_OK);
    for (int i = 0; i < 9 * 7 * 3; i++)
        src.px[i] = (uint8_t)(i * 13 + 1);

    /* identity */
    assert_int_equal(io_image_alloc(&dst, 9, 7, 3), MINT_OK);
    const float I[6] = {1, 0, 0, 0, 1, 0};
    assert_int_equal(io_align_warp(&src, I, &dst), MINT_OK);
    assert_memory_equal(dst.px, src.px, 9 * 7 * 3);

    /* integer shift by (+2, +1): dst(x,y) = src(x-2, y-1), 0 outside */
    const float T[6] = {1, 0, 2, 0, 1, 1};
    assert_int_equal(io_align_warp(&src, T, &dst), MINT_OK);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 9; x++)
            for (int k = 0; k < 3; k++) {
                int want = (x >= 2 && y >= 1) ? src.px[((y - 1) * 9 + x - 2) * 3 + k] : 0;
                assert_int_equal(dst.px[(y * 9 + x) * 3 + k], want);
            }

    /* half-pixel shift: the rounded mean of two neighbours, as OpenCV */
    const float H[6] = {1, 0, -0.5f, 0, 1, 0};
    assert_int_equal(io_align_warp(&src, H, &dst), MINT_OK);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 8; x++)
            for (int k = 0; k < 3; k++) {
                int a = src.px[(y * 9 + x) * 3 + k], b = src.px[(y * 9 + x + 1) * 3 + k];
                assert_int_equal(dst.px[(y * 9 + x) * 3 + k], (a * 16 + b * 16 + 16) >> 5);
            }
    /* the right edge blends with the zero border */
    for (int y = 0; y < 7; y++)
        assert_int_equal(dst.px[(y * 9 + 8) * 3], (src.px[(y * 9 + 8) * 3] * 16 + 16) >> 5);

    /* singular and absurd matrices: no crash; singular gives zeros */
    const float Z[6] = {0, 0, 0, 0, 0, 0};
    assert_int_equal(io_align_warp(&src, Z, &dst), MINT_OK);
    const float B[6] = {1e-30f, 0, 1e30f, 0, 1e-30f, -1e30f};
    assert_int_equal(io_align_warp(&src, B, &dst), MINT_OK);
    const float N[6] = {NAN, 0, 0, 0, 1, 0};
    assert_int_equal(io_align_warp(&src, N, &dst), MINT_OK);

    /* grey source into an RGB destination: replicated */
    io_image g, g3;
    assert_int_equal(io_image_alloc(&g, 5, 4, 1), MINT_OK);
    for (int i = 0; i < 20; i++)
        g.px[i] = (uint8_t)(i * 11);
    assert_int_equal(io_image_alloc(&g3, 5, 4, 3), MINT_OK);
    assert_int_equal(io_align_warp(&g, I, &g3), MINT_OK);
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(g3.px[3 * i + k], g.px[i]);
    /* RGB into grey: refused */
    assert_int_equal(io_align_warp(&src, I, &g), MINT_E_ARG);
    io_image_free(&g);
    io_image_free(&g3);
    io_image_free(&src);
    io_image_free(&dst);
}

static void test_align_face_and_tensor(void **state)
{
    (void)state;
    io_image img, out;
    assert_int_equal(io_image_alloc(&img, 112, 112, 1), MINT_OK);
    for (int i = 0; i < 112 * 112; i++)
        img.px[i] = (uint8_t)i;
    /* already aligned: copied, grey -> RGB */
    assert_int_equal(io_align_face(&img, NULL, &out), MINT_OK);
    assert_int_equal(out.w, 112);
    assert_int_equal(out.c, 3);
    assert_int_equal(out.px[3 * 1000 + 2], img.px[1000]);
    io_image_free(&out);
    /* landmarks equal to the template: identity warp */
    assert_int_equal(io_align_face(&img, io_arcface_template, &out), MINT_OK);
    size_t diff = 0;
    for (int i = 0; i < 112 * 112; i++)
        diff += out.px[3 * i] != img.px[i];
    assert_int_equal(diff, 0);
    io_image_free(&out);
    io_image_free(&img);
    /* other size without landmarks: refused */
    assert_int_equal(io_image_alloc(&img, 250, 250, 3), MINT_OK);
    assert_int_equal(io_align_face(&img, NULL, &out), MINT_E_SHAPE);
    assert_null(out.px);
    io_image_free(&img);

    /* tensor: (x/255 - mean)/std, CHW, RGB or BGR, grey replicated */
    io_image t;
    assert_int_equal(io_image_alloc(&t, 2, 1, 3), MINT_OK);
    const uint8_t px[6] = {0, 128, 255, 10, 20, 30};
    memcpy(t.px, px, 6);
    const float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.5f, 0.5f, 0.5f};
    float chw[6];
    assert_int_equal(io_image_to_chw(&t, 3, mean, sd, 0, chw), MINT_OK);
    assert_true(chw[0] == -1.0f);                                    /* R of pixel 0 */
    assert_true(chw[1] == (10 / 255.0f - 0.5f) / 0.5f);              /* R of pixel 1 */
    assert_true(chw[2] == (128 / 255.0f - 0.5f) / 0.5f);             /* G of pixel 0 */
    assert_true(chw[4] == 1.0f);                                     /* B of pixel 0 */
    assert_int_equal(io_image_to_chw(&t, 3, mean, sd, 1, chw), MINT_OK);
    assert_true(chw[0] == 1.0f && chw[4] == -1.0f);
    io_image_free(&t);
    assert_int_equal(io_image_alloc(&t, 1, 1, 1), MINT_OK);
    t.px[0] = 51;
    const float m2[3] = {0.1f, 0.2f, 0.3f}, s2[3] = {1, 2, 4};
    assert_int_equal(io_image_to_chw(&t, 3, m2, s2, 0, chw), MINT_OK);
    for (int k = 0; k < 3; k++)
        assert_true(chw[k] == (51 / 255.0f - m2[k]) / s2[k]);
    io_image_free(&t);
}

/* ====================================================================
 * golden: LFW crops vs cv2.warpAffine
 * ==================================================================== */
static void test_align_lfw_vs_opencv(void **state)
{
    (void)state;
    char lfw[512];
    snprintf(lfw, sizeof lfw, "%s/lfw/images", test_shared_data());
    struct stat sb;
    if (stat(lfw, &sb) != 0) {
        print_message("  SKIP: %s absent (set MINT_SHARED_DATA)\n", lfw);
        skip();
    }
    /* the fixture CSV has the landmark columns: read them with our reader */
    io_landmarks *lm = NULL;
    if (io_landmarks_load(ALIGN_FIX "align.csv", &lm) != MINT_OK)
        fail_msg("%s", mint_last_error());
    FILE *f = fopen(ALIGN_FIX "align.csv", "r");
    assert_non_null(f);
    char line[2048];
    assert_non_null(fgets(line, sizeof line, f));
    int n = 0;
    double worst_m = 0, sum_abs = 0, sum_abs_fixm = 0;
    size_t bytes = 0, ndiff = 0;
    int maxdiff = 0;
    while (fgets(line, sizeof line, f)) {
        /* file,crop,10 landmarks,m0..m5 */
        char *fields[18];
        int nf = 0;
        for (char *tok = strtok(line, ",\n"); tok && nf < 18; tok = strtok(NULL, ",\n"))
            fields[nf++] = tok;
        assert_int_equal(nf, 18);
        double Mref[6];
        for (int k = 0; k < 6; k++)
            Mref[k] = strtod(fields[12 + k], NULL);
        const float *pts = io_landmarks_find(lm, fields[0]);
        assert_non_null(pts);

        float M[6];
        assert_int_equal(io_align_estimate(pts, M), MINT_OK);
        for (int k = 0; k < 6; k++) {
            double e = fabs(M[k] - Mref[k]);
            if (e > worst_m)
                worst_m = e;
        }

        char path[1024];
        snprintf(path, sizeof path, "%s/%s", lfw, fields[0]);
        io_image img, want, got, got2;
        if (io_image_load(path, &img, 0) != MINT_OK)
            fail_msg("%s", mint_last_error());
        snprintf(path, sizeof path, ALIGN_FIX "%s", fields[1]);
        if (io_image_load(path, &want, 0) != MINT_OK)
            fail_msg("%s", mint_last_error());
        assert_int_equal(want.w, 112);
        assert_int_equal(want.c, 3);
        assert_int_equal(io_align_face(&img, pts, &got), MINT_OK);
        /* the warp alone, from the fixture's matrix rounded to float */
        float Mf[6];
        for (int k = 0; k < 6; k++)
            Mf[k] = (float)Mref[k];
        assert_int_equal(io_image_alloc(&got2, 112, 112, 3), MINT_OK);
        assert_int_equal(io_align_warp(&img, Mf, &got2), MINT_OK);
        for (size_t i = 0; i < (size_t)112 * 112 * 3; i++) {
            int d = abs((int)got.px[i] - (int)want.px[i]);
            sum_abs += d;
            ndiff += d != 0;
            if (d > maxdiff)
                maxdiff = d;
            sum_abs_fixm += abs((int)got2.px[i] - (int)want.px[i]);
        }
        bytes += (size_t)112 * 112 * 3;
        io_image_free(&img);
        io_image_free(&want);
        io_image_free(&got);
        io_image_free(&got2);
        n++;
    }
    fclose(f);
    io_landmarks_free(lm);
    assert_int_equal(n, 20);
    double mae = sum_abs / (double)bytes, mae_fix = sum_abs_fixm / (double)bytes;
    print_message("  %d LFW crops: max |M - M_skimage| = %.3g; crop vs cv2.warpAffine: "
                  "mean abs diff %.6f grey levels (max %d, %zu of %zu bytes differ); "
                  "warp from the fixture M: mean abs diff %.6f\n",
                  n, worst_m, mae, maxdiff, ndiff, bytes, mae_fix);
    assert_true(worst_m < 1e-3);
    assert_true(mae < 1.0);
    assert_true(mae_fix < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_landmarks_parse),
        cmocka_unit_test(test_landmarks_errors),
        cmocka_unit_test(test_landmarks_lfw),
        cmocka_unit_test(test_estimate_synthetic),
        cmocka_unit_test(test_warp_synthetic),
        cmocka_unit_test(test_align_face_and_tensor),
        cmocka_unit_test(test_align_lfw_vs_opencv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
