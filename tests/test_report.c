/* test_report.c - reports: the JSON writer (exact output, shortest
 * round-trip numbers, RFC 8259 escaping, misuse detection), eval and audit
 * JSON checked by a small validating JSON parser, HTML escaping, file
 * output by extension with rename into place, and the ROC PNG read back
 * with libpng (size and known pixels). */
#include "testutil.h"
#include <math.h>
#include <png.h>
#include <dirent.h>
#include "io/plot.h"
#include "mint/report.h"

/* ---- a strict JSON validator (RFC 8259), for the tests only ---- */
typedef struct {
    const char *p, *end;
    int depth;
} jp;

static void jp_ws(jp *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int jp_value(jp *s);

static int jp_lit(jp *s, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int jp_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int jp_string(jp *s)
{
    if (s->p >= s->end || *s->p != '"')
        return 0;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return 1;
        }
        if (c < 0x20)
            return 0; /* raw control character */
        if (c == '\\') {
            s->p++;
            if (s->p >= s->end)
                return 0;
            char e = *s->p++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++)
                    if (s->p >= s->end || !jp_hex(*s->p++))
                        return 0;
            } else if (!strchr("\"\\/bfnrt", e) || !e) {
                return 0;
            }
            continue;
        }
        if (c >= 0x80) { /* well-formed UTF-8 (lead + continuation count) */
            int n = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c <= 0xdf ? 1 : -1;
            if (n < 0 || c > 0xf4)
                return 0;
            for (int i = 1; i <= n; i++)
                if (s->p + i >= s->end || ((unsigned char)s->p[i] & 0xc0) != 0x80)
                    return 0;
            s->p += n;
        }
        s->p++;
    }
    return 0;
}

static int jp_digits(jp *s)
{
    const char *b = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > b;
}

static int jp_number(jp *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!jp_digits(s))
        return 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!jp_digits(s))
            return 0;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!jp_digits(s))
            return 0;
    }
    return 1;
}

static int jp_value(jp *s)
{
    jp_ws(s);
    if (s->p >= s->end || ++s->depth > 64)
        return 0;
    int ok;
    char c = *s->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        jp_ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            ok = 1;
        } else {
            for (;;) {
                if (c == '{') {
                    jp_ws(s);
                    if (!jp_string(s))
                        return 0;
                    jp_ws(s);
                    if (s->p >= s->end || *s->p++ != ':')
                        return 0;
                }
                if (!jp_value(s))
                    return 0;
                jp_ws(s);
                if (s->p >= s->end)
                    return 0;
                if (*s->p == ',') {
                    s->p++;
                    continue;
                }
                if (*s->p++ != close)
                    return 0;
                break;
            }
            ok = 1;
        }
    } else if (c == '"') {
        ok = jp_string(s);
    } else if (c == 't') {
        ok = jp_lit(s, "true");
    } else if (c == 'f') {
        ok = jp_lit(s, "false");
    } else if (c == 'n') {
        ok = jp_lit(s, "null");
    } else {
        ok = jp_number(s);
    }
    s->depth--;
    return ok;
}

static int json_valid(const char *text, size_t len)
{
    jp s = { text, text + len, 0 };
    if (!jp_value(&s))
        return 0;
    jp_ws(&s);
    return s.p == s.end;
}

static void test_validator_itself(void **state)
{
    (void)state;
    static const char *good[] = { "{}", "[]", "0", "-0.5e+3", "\"a\\u00e9\\n\"", "[1,{\"a\":[null,true]}]",
                                  "\"\xc3\xa9\"" };
    static const char *bad[] = { "{", "[1,]", "01", "1.", "\"\x01\"", "{\"a\" 1}", "nul", "[1] 2",
                                 "\"\\x\"", "\"\xff\"", "NaN", "{'a':1}" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(json_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(json_valid(bad[i], strlen(bad[i])));
}

/* ---- JSON writer ---- */

static void test_json_exact(void **state)
{
    (void)state;
    base_json j;
    base_json_init(&j, 0);
    base_json_object_begin(&j, NULL);
    base_json_int(&j, "a", -7);
    base_json_array_begin(&j, "b");
    base_json_bool(&j, NULL, 1);
    base_json_bool(&j, NULL, 0);
    base_json_null(&j, NULL);
    base_json_string(&j, NULL, "x");
    base_json_string(&j, NULL, NULL);
    base_json_array_end(&j);
    base_json_object_begin(&j, "c");
    base_json_number(&j, "d", 0.1);
    base_json_number(&j, "nan", NAN);
    base_json_number(&j, "inf", -INFINITY);
    base_json_uint(&j, "big", 18446744073709551615ull);
    base_json_object_end(&j);
    base_json_array_begin(&j, "empty");
    base_json_array_end(&j);
    base_json_object_end(&j);
    assert_int_equal(base_json_finish(&j), MINT_OK);
    assert_string_equal(j.out.p, "{\"a\":-7,\"b\":[true,false,null,\"x\",null],\"c\":{\"d\":0.1,"
                                 "\"nan\":null,\"inf\":null,\"big\":18446744073709551615},"
                                 "\"empty\":[]}\n");
    base_json_free(&j);

    /* indented form */
    base_json_init(&j, 2);
    base_json_object_begin(&j, NULL);
    base_json_array_begin(&j, "v");
    base_json_int(&j, NULL, 1);
    base_json_array_end(&j);
    base_json_object_end(&j);
    assert_int_equal(base_json_finish(&j), MINT_OK);
    assert_string_equal(j.out.p, "{\n  \"v\": [\n    1\n  ]\n}\n");
    base_json_free(&j);
}

static void test_json_numbers(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        { 0.1, "0.1" },         { 1.0 / 3.0, "0.3333333333333333" }, { 0.72, "0.72" },
        { 1e-300, "1e-300" },   { 5e-324, "5e-324" },                 { -0.0, "-0" },
        { 1e21, "1e+21" },      { 123456789012.0, "123456789012" },   { 0.30000000000000004, "0.30000000000000004" },
        { 1.7976931348623157e308, "1.7976931348623157e+308" },        { 2.5, "2.5" },
        { 30.0, "30" },         { -1200.0, "-1200" },                 { 100.0, "100" },
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_format_double(buf, cases[i].v);
        assert_string_equal(buf, cases[i].s);
        assert_true(json_valid(buf, strlen(buf)));
    }
    /* round trip of random bit patterns */
    uint64_t x = 0x123456789abcdefull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        base_format_double(buf, v);
        assert_true(strtod(buf, NULL) == v);
        assert_true(json_valid(buf, strlen(buf)));
    }
}

static void test_json_escaping(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "q\"b\\s/", "q\\\"b\\\\s/" },
        { "\n\r\t\b\f", "\\n\\r\\t\\b\\f" },
        { "\x01\x1f\x7f", "\\u0001\\u001f\x7f" },
        { "caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80" },
        { "bad\xff", "bad\\ufffd" },
        { "\xc0\xaf", "\\ufffd\\ufffd" },            /* overlong '/' */
        { "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" }, /* a UTF-16 surrogate */
        { "\xe6\xbc", "\\ufffd\\ufffd" },            /* truncated sequence */
        { "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" }, /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_strbuf b = { 0 };
        base_strbuf_json_escape(&b, cases[i].in);
        assert_string_equal(b.p ? b.p : "", cases[i].out);
        base_strbuf_free(&b);
        base_json j;
        base_json_init(&j, 0);
        base_json_object_begin(&j, NULL);
        base_json_string(&j, cases[i].in, cases[i].in); /* keys are escaped too */
        base_json_object_end(&j);
        assert_int_equal(base_json_finish(&j), MINT_OK);
        assert_true(json_valid(j.out.p, j.out.len));
        base_json_free(&j);
    }
}

static void test_json_misuse(void **state)
{
    (void)state;
    base_json j;
    base_json_init(&j, 0);
    base_json_array_begin(&j, NULL);
    base_json_int(&j, "k", 1); /* key in an array */
    base_json_array_end(&j);
    assert_int_equal(base_json_finish(&j), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "key inside an array"));
    base_json_free(&j);

    base_json_init(&j, 0);
    base_json_object_begin(&j, NULL);
    base_json_int(&j, NULL, 1); /* missing key */
    base_json_object_end(&j);
    assert_int_equal(base_json_finish(&j), MINT_E_ARG);
    base_json_free(&j);

    base_json_init(&j, 0);
    base_json_object_begin(&j, NULL);
    assert_int_equal(base_json_finish(&j), MINT_E_ARG); /* unterminated */
    base_json_free(&j);

    base_json_init(&j, 0);
    base_json_object_begin(&j, NULL);
    base_json_array_end(&j); /* wrong end */
    assert_int_equal(base_json_finish(&j), MINT_E_ARG);
    base_json_free(&j);

    base_json_init(&j, 0);
    base_json_int(&j, NULL, 1);
    base_json_int(&j, NULL, 2); /* two top-level values */
    assert_int_equal(base_json_finish(&j), MINT_E_ARG);
    base_json_free(&j);

    base_json_init(&j, 0);
    for (int i = 0; i < BASE_JSON_MAX_DEPTH + 1; i++)
        base_json_array_begin(&j, NULL);
    assert_int_equal(base_json_finish(&j), MINT_E_ARG);
    base_json_free(&j);
}

static void test_html_escaping(void **state)
{
    (void)state;
    base_strbuf b = { 0 };
    base_strbuf_html_escape(&b, "<script>alert(\"x\")&'</script> caf\xc3\xa9 \x01 \xff");
    assert_string_equal(b.p, "&lt;script&gt;alert(&quot;x&quot;)&amp;&#39;&lt;/script&gt; "
                             "caf\xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd");
    base_strbuf_free(&b);
}

/* ---- eval and audit reports ---- */

static const double hm_s[10] = { 0.50, 0.95, 0.30, 0.85, 0.70, 0.90, 0.20, 0.60, 0.40, 0.80 };
static const uint8_t hm_y[10] = { 0, 1, 1, 0, 0, 1, 0, 1, 0, 1 };

static void test_eval_json(void **state)
{
    (void)state;
    mint_eval_result e;
    assert_int_equal(mint_evaluate(&e, NULL, hm_s, hm_y, 10, 0.75), MINT_OK);
    mint_report_eval_meta meta = { .mint_path = "models/t \"1\".mint",
                          .mint_sha256 = "ab12",
                          .members = "D\\members",
                          .external = "E",
                          .roc_png = NULL,
                          .created = "2024-05-01T12:00:00Z" };
    const char *path = test_tmp_path("eval.json");
    assert_int_equal(mint_report_eval_write(path, &e, &meta), MINT_OK);
    size_t n;
    char *txt = test_must_read(path, &n);
    assert_true(json_valid(txt, n));
    assert_non_null(strstr(txt, "\"auc\": 0.72,"));
    assert_non_null(strstr(txt, "\"path\": \"models/t \\\"1\\\".mint\""));
    assert_non_null(strstr(txt, "\"members\": \"D\\\\members\""));
    assert_non_null(strstr(txt, "\"balanced_accuracy\": 0.6,"));
    assert_non_null(strstr(txt, "\"balanced_accuracy\": 0.7,"));
    assert_non_null(strstr(txt, "\"target_fpr\": 0.001,"));
    assert_non_null(strstr(txt, "\"created\": \"2024-05-01T12:00:00Z\""));
    assert_non_null(strstr(txt, "\"tp\": 4,"));
    assert_non_null(strstr(txt, "\"roc_png\": null"));
    free(txt);
    /* no temporary file left behind */
    DIR *d = opendir(test_tmpdir());
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_null(strstr(de->d_name, ".tmp."));
    closedir(d);
    /* without a training threshold */
    assert_int_equal(mint_evaluate(&e, NULL, hm_s, hm_y, 10, NAN), MINT_OK);
    base_strbuf b;
    assert_int_equal(mint_report_eval_render(&b, &e, NULL), MINT_OK);
    assert_true(json_valid(b.p, b.len));
    assert_non_null(strstr(b.p, "\"at_training_threshold\": null"));
    base_strbuf_free(&b);
    /* unwritable destination */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/e.json", test_tmpdir());
    assert_int_equal(mint_report_eval_write(bad, &e, &meta), MINT_E_IO);
}

static void make_audit(mint_audit_report *r, mint_audit_image *im, mint_audit_settest *t)
{
    static const mint_audit_identity ids[2] = { { "Person <A>", 3, 2.5, 0.01, 0.99 },
                                              { "Person B", 1, 0.5, 0.3, 0.7 } };
    memset(t, 0, sizeof *t);
    t->test = "identity-level permutation test";
    t->unit = "one identity per label";
    t->m = 2;
    t->n_images = 4;
    t->K = 99;
    t->K_images = 250;
    t->p = 0.004;
    t->p_min = 1e-4;
    t->evidence = 1;
    t->t_set = 1.5;
    t->t_ref = -0.2;
    t->effect = 0.91;
    t->effect_name = "P(audited identity > reference identity)";
    t->welch_t = 3.1;
    t->welch_df = 7.5;
    t->welch_p = 0.008;
    t->ids = ids;
    t->n_ids = 2;
    t->has_quality = 1;
    t->q_auc = 0.812;
    t->q_tpr_1pct = 0.123;
    t->q_members = 500;
    t->q_external = 600;
    t->q_data = "members m/, external e/";
    t->q_date = "2024-05-01T11:00:00Z";
    im[0] = (mint_audit_image){ "faces/<img src=x onerror=alert(1)>.png", "00ff", 0.91, NULL, NULL };
    im[1] = (mint_audit_image){ "faces/O'Brien & \"Sons\".jpg", "11ee", 0.85, NULL, NULL };
    im[2] = (mint_audit_image){ "faces/caf\xc3\xa9\xff.png", "22dd", 0.97, NULL, NULL };
    im[3] = (mint_audit_image){ "faces/d.png", "33cc", 0.66, NULL, "faces/<first>.png" };
    im[4] = (mint_audit_image){ "faces/broken.png", NULL, NAN, "no face </td> found", NULL };
    static const char *const notes[2] = { "note <one> & more", "second note" };
    memset(r, 0, sizeof *r);
    r->created = "2024-05-01T12:00:00Z";
    r->model_path = "r100.mint";
    r->model_sha256 = "aaaa";
    r->mint_path = "vanilla.mint";
    r->mint_sha256 = "bbbb";
    r->mint_kind = "vanilla";
    r->reference = "calibration scores stored in vanilla.mint <E>";
    r->threshold = 0.5;
    r->alpha = 0.05;
    r->images = im;
    r->n_images = 5;
    r->set = t;
    r->audited = "2 identities (Person <A>, Person B), 4 images";
    r->verdict = "evidence the data was used in training (p = 0.004 < 0.05)";
    r->notes = notes;
    r->n_notes = 2;
}

static void test_audit_reports(void **state)
{
    (void)state;
    mint_audit_report r;
    mint_audit_image im[5];
    mint_audit_settest t;
    make_audit(&r, im, &t);

    const char *jpath = test_tmp_path("audit.json");
    assert_int_equal(mint_report_audit_write(jpath, &r), MINT_OK);
    size_t n;
    char *txt = test_must_read(jpath, &n);
    assert_true(txt[0] == '{');
    assert_true(json_valid(txt, n));
    assert_non_null(strstr(txt, "\"file\": \"faces/O'Brien & \\\"Sons\\\".jpg\""));
    assert_non_null(strstr(txt, "\"file\": \"faces/caf\xc3\xa9\\ufffd.png\""));
    assert_non_null(strstr(txt, "\"score\": null"));
    assert_non_null(strstr(txt, "\"error\": \"no face </td> found\""));
    assert_non_null(strstr(txt, "\"verdict\": \"evidence the data was used in training (p = "));
    assert_non_null(strstr(txt, "\"mint_version\": \"" MINT_VERSION "\""));
    assert_non_null(strstr(txt, "\"sha256\": \"aaaa\""));
    assert_non_null(strstr(txt, "\"images\": 4,"));
    assert_non_null(strstr(txt, "\"reference_identities\": 99,"));
    assert_non_null(strstr(txt, "\"identity\": \"Person <A>\""));
    assert_non_null(strstr(txt, "\"auc\": 0.812"));
    assert_non_null(strstr(txt, "\"audited\": \"2 identities (Person <A>, Person B), 4 images\""));
    assert_non_null(strstr(txt, "\"notes\": [\n    \"note <one> & more\",\n    \"second note\"\n  ]"));
    assert_non_null(strstr(txt, "\"duplicate_of\": \"faces/<first>.png\""));
    free(txt);

    const char *hpath = test_tmp_path("audit.HTML");
    assert_int_equal(mint_report_audit_write(hpath, &r), MINT_OK);
    txt = test_must_read(hpath, &n);
    assert_true(strncmp(txt, "<!DOCTYPE html>", 15) == 0);
    assert_null(strstr(txt, "<script"));      /* no scripts at all */
    assert_null(strstr(txt, "<img"));         /* the hostile file name is text */
    assert_non_null(strstr(txt, "faces/&lt;img src=x onerror=alert(1)&gt;.png"));
    assert_non_null(strstr(txt, "O&#39;Brien &amp; &quot;Sons&quot;.jpg"));
    assert_non_null(strstr(txt, "caf\xc3\xa9\xef\xbf\xbd.png"));
    assert_non_null(strstr(txt, "no face &lt;/td&gt; found"));
    assert_non_null(strstr(txt, "calibration scores stored in vanilla.mint &lt;E&gt;"));
    assert_non_null(strstr(txt, "class=\"verdict yes\""));
    /* what was audited and the MINT model's strength stand beside the verdict */
    const char *v = strstr(txt, "class=\"verdict yes\"");
    const char *vend = strstr(v, "</div>");
    const char *aud = strstr(v, "2 identities (Person &lt;A&gt;, Person B), 4 images");
    const char *auc = strstr(v, "held-out AUC 0.812");
    assert_true(aud && aud < vend);
    assert_true(auc && auc < vend);
    assert_non_null(strstr(txt, "Person &lt;A&gt;</td><td class=\"num\">3</td>"));
    assert_non_null(strstr(txt, "2024-05-01T12:00:00Z"));
    assert_non_null(strstr(txt, "<li>note &lt;one&gt; &amp; more</li>"));
    assert_non_null(strstr(txt, "same bytes as faces/&lt;first&gt;.png: counted once"));
    free(txt);

    /* no set test: still a valid report */
    r.set = NULL;
    base_strbuf b;
    assert_int_equal(mint_report_audit_json(&b, &r), MINT_OK);
    assert_true(json_valid(b.p, b.len));
    assert_non_null(strstr(b.p, "\"set_test\": null"));
    base_strbuf_free(&b);
    assert_int_equal(mint_report_audit_html(&b, &r), MINT_OK);
    base_strbuf_free(&b);
    r.set = &t;
    r.alpha = 0;
    assert_int_equal(mint_report_audit_json(&b, &r), MINT_E_ARG);
}

static void test_utc_now(void **state)
{
    (void)state;
    char buf[32];
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    base_utc_now(buf);
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    unsetenv("SOURCE_DATE_EPOCH");
    base_utc_now(buf);
    assert_int_equal(strlen(buf), 20);
    assert_true(buf[4] == '-' && buf[10] == 'T' && buf[19] == 'Z');
}

/* ---- ROC plot ---- */

static int pixel_is(const png_bytep px, int w, int x, int y, int r, int g, int b)
{
    const png_byte *p = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
    return p[0] == r && p[1] == g && p[2] == b;
}

static void test_roc_png(void **state)
{
    (void)state;
    /* a perfect scorer: (0,0) -> (0,1) -> (1,1), along the left and top edges */
    const double fpr[3] = { 0, 0, 1 }, tpr[3] = { 0, 1, 1 };
    const char *path = test_tmp_path("roc.png");
    assert_int_equal(io_plot_roc(path, fpr, tpr, 3, 0, 1.0, "perfect <scorer> \xc3\xa9"), MINT_OK);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&img, path));
    assert_int_equal(img.width, IO_PLOT_W);
    assert_int_equal(img.height, IO_PLOT_H);
    img.format = PNG_FORMAT_RGB;
    png_bytep px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    int x, y;
    /* the curve through the top-left corner, on both panels */
    assert_int_equal(io_plot_roc_pixel(0, 0.0, 0.5, 0, &x, &y), MINT_OK);
    assert_true(pixel_is(px, IO_PLOT_W, x, y, IO_PLOT_CURVE_RGB));
    assert_int_equal(io_plot_roc_pixel(0, 0.5, 1.0, 0, &x, &y), MINT_OK);
    assert_true(pixel_is(px, IO_PLOT_W, x, y, IO_PLOT_CURVE_RGB));
    assert_int_equal(io_plot_roc_pixel(0, 0.0, 1.0, 0, &x, &y), MINT_OK);
    assert_true(pixel_is(px, IO_PLOT_W, x, y, IO_PLOT_CURVE_RGB));
    assert_int_equal(io_plot_roc_pixel(1, 0.01, 1.0, 0, &x, &y), MINT_OK);
    assert_true(pixel_is(px, IO_PLOT_W, x, y, IO_PLOT_CURVE_RGB));
    assert_true(x > IO_PLOT_W / 2);
    /* empty plot area off the curve and the grid is white */
    assert_int_equal(io_plot_roc_pixel(0, 0.3, 0.7, 0, &x, &y), MINT_OK);
    assert_true(pixel_is(px, IO_PLOT_W, x, y, 255, 255, 255));
    /* the chance line TPR = FPR is drawn somewhere near (0.5, 0.5) (it is dashed) */
    int seen = 0;
    for (double f = 0.45; f <= 0.55; f += 0.001) {
        assert_int_equal(io_plot_roc_pixel(0, f, f, 0, &x, &y), MINT_OK);
        seen |= pixel_is(px, IO_PLOT_W, x, y, IO_PLOT_CHANCE_RGB);
    }
    assert_true(seen);
    /* the title has ink near the top centre */
    int ink = 0;
    for (int yy = 10; yy < 32; yy++)
        for (int xx = 300; xx < 900; xx++)
            ink += !pixel_is(px, IO_PLOT_W, xx, yy, 255, 255, 255);
    assert_true(ink > 100);
    free(px);

    /* bad inputs */
    double badf[2] = { 0, 1.5 };
    assert_int_equal(io_plot_roc(path, badf, tpr, 2, 0, 0.5, NULL), MINT_E_ARG);
    assert_int_equal(io_plot_roc(path, fpr, tpr, 0, 0, 0.5, NULL), MINT_E_ARG);
    assert_int_equal(io_plot_roc_pixel(2, 0, 0, 0, &x, &y), MINT_E_ARG);
    /* a very long title is cut, not overflowed */
    char longt[2000];
    memset(longt, 'W', sizeof longt - 1);
    longt[sizeof longt - 1] = 0;
    io_image im;
    assert_int_equal(io_plot_roc_render(&im, fpr, tpr, 3, 0, NAN, longt), MINT_OK);
    io_image_free(&im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator_itself),
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_misuse),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_eval_json),
        cmocka_unit_test(test_audit_reports),
        cmocka_unit_test(test_utc_now),
        cmocka_unit_test(test_roc_png),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
