/* Compressed inputs: gzip and zlib wrappers are inflated under a cap and sniffed again; bombs,
 * truncated streams and nested wrappers fail with typed errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/fx.h"
#include "md_internal.h"
#include "testutil.h"

static void noise(fx_buf *b, size_t n, uint64_t seed)
{
    fx_buf_init(b);
    fx_put_zeros(b, n);
    fx_fill_noise(b->p, n, seed);
}

static md_err open_buf(const fx_buf *b, const md_open_opts *o, md_dump **d, char *err, size_t errlen)
{
    return md_open_mem(b->p, b->len, o, d, err, errlen);
}

START_TEST(gzip_and_zlib_are_inflated_then_sniffed)
{
    for (int gz = 0; gz < 2; gz++) {
        fx_buf in, z;
        noise(&in, 50000, 17);
        memcpy(in.p + 1000, "marker.example", 15);
        fx_buf_init(&z);
        fx_deflate(&in, gz, &z);
        ck_assert_int_eq(md_sniff_compression(z.p, z.len), gz ? MD_COMP_GZIP : MD_COMP_ZLIB);
        ck_assert_int_eq(md_sniff(z.p, z.len), MD_FMT_RAW);
        md_open_opts o = { .raw_base = 0x1000000, .has_raw_base = true };
        md_dump *d = NULL;
        char err[128];
        ck_assert_int_eq(open_buf(&z, &o, &d, err, sizeof err), MD_OK);
        ck_assert_int_eq(d->compression, gz ? MD_COMP_GZIP : MD_COMP_ZLIB);
        ck_assert_int_eq(d->format, MD_FMT_RAW);
        ck_assert_uint_eq(d->len, in.len);
        ck_assert_uint_eq(d->file_size, z.len);
        ck_assert_mem_eq(d->buf, in.p, in.len);
        char s[32];
        ck_assert_int_eq(md_read_cstr(d, 0x1000000 + 1000, s, sizeof s), 14);
        md_close(d);
        fx_buf_free(&in);
        fx_buf_free(&z);
    }
}
END_TEST

START_TEST(compressed_pe_is_sniffed_as_pe)
{
    static uint8_t text[0x400];
    fx_fill_noise(text, sizeof text, 2);
    fx_section s[1] = { { ".text", 0x1000, 0x400, text, sizeof text, 0x60000020 } };
    fx_pe pe = { .pe64 = true, .image_base = 0x140000000ull, .sections = s, .nsections = 1 };
    fx_buf f, z;
    fx_buf_init(&f);
    fx_buf_init(&z);
    fx_pe_build(&pe, false, &f);
    fx_deflate(&f, true, &z);
    ck_assert_int_eq(md_sniff(z.p, z.len), MD_FMT_PE);
    char path[512];
    snprintf(path, sizeof path, "%s/payload.gz", tu_tmpdir());
    ck_assert(fx_write_file(path, &z));
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_PE);
    ck_assert_ptr_nonnull(md_ptr(d, 0x140001000ull, sizeof text));
    ck_assert_mem_eq(md_ptr(d, 0x140001000ull, sizeof text), text, sizeof text);
    md_close(d);
    fx_buf_free(&f);
    fx_buf_free(&z);
}
END_TEST

START_TEST(concatenated_gzip_members_are_one_input)
{
    fx_buf a, b, z;
    noise(&a, 3000, 1);
    noise(&b, 5000, 2);
    fx_buf_init(&z);
    fx_deflate(&a, true, &z);
    fx_deflate(&b, true, &z);
    md_open_opts o = { .force_format = MD_FMT_UNKNOWN };
    md_dump *d = NULL;
    ck_assert_int_eq(open_buf(&z, &o, &d, NULL, 0), MD_OK);
    ck_assert_uint_eq(d->len, 8000);
    ck_assert_mem_eq(d->buf + 3000, b.p, 5000);
    md_close(d);
    fx_buf_free(&a);
    fx_buf_free(&b);
    fx_buf_free(&z);
}
END_TEST

START_TEST(cap_exceeded_is_a_limit_error)
{
    fx_buf in, z;
    fx_buf_init(&in);
    fx_put_zeros(&in, 4u << 20);
    fx_buf_init(&z);
    fx_deflate(&in, true, &z);
    ck_assert_uint_lt(z.len, 10000);
    md_open_opts o = { .max_decompressed = 1u << 20 };
    md_dump *d = NULL;
    char err[128] = "";
    ck_assert_int_eq(open_buf(&z, &o, &d, err, sizeof err), MD_E_LIMIT);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(err, "limit"));
    o.max_decompressed = 4u << 20;   /* exactly enough */
    ck_assert_int_eq(open_buf(&z, &o, &d, err, sizeof err), MD_OK);
    ck_assert_uint_eq(d->len, 4u << 20);
    md_close(d);
    fx_buf_free(&in);
    fx_buf_free(&z);
}
END_TEST

START_TEST(truncated_and_corrupt_streams_fail)
{
    fx_buf in, z;
    noise(&in, 20000, 9);
    fx_buf_init(&z);
    fx_deflate(&in, true, &z);
    md_dump *d = NULL;
    char err[128] = "";
    ck_assert_int_eq(md_open_mem(z.p, z.len / 2, NULL, &d, err, sizeof err), MD_E_TRUNCATED);
    ck_assert_ptr_null(d);
    ck_assert(err[0]);
    z.p[z.len / 2] ^= 0xff;
    z.p[z.len / 2 + 1] ^= 0x55;
    md_err e = md_open_mem(z.p, z.len, NULL, &d, err, sizeof err);
    ck_assert(e == MD_E_CORRUPT || e == MD_E_TRUNCATED);
    ck_assert_ptr_null(d);
    fx_buf_free(&in);
    fx_buf_free(&z);
}
END_TEST

START_TEST(nested_compression_is_not_followed)
{
    fx_buf in, z1, z2;
    noise(&in, 4000, 4);
    fx_buf_init(&z1);
    fx_buf_init(&z2);
    fx_deflate(&in, true, &z1);
    fx_deflate(&z1, false, &z2);
    md_dump *d = NULL;
    char err[128] = "";
    ck_assert_int_eq(md_open_mem(z2.p, z2.len, NULL, &d, err, sizeof err), MD_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "nested"));
    ck_assert_int_eq(md_sniff(z2.p, z2.len), MD_FMT_UNKNOWN);
    /* Forcing raw keeps the bytes as they are. */
    md_open_opts o = { .force_format = MD_FMT_RAW };
    ck_assert_int_eq(md_open_mem(z2.p, z2.len, &o, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->compression, MD_COMP_NONE);
    ck_assert_uint_eq(d->len, z2.len);
    md_close(d);
    fx_buf_free(&in);
    fx_buf_free(&z1);
    fx_buf_free(&z2);
}
END_TEST

START_TEST(plain_data_is_not_taken_for_zlib)
{
    const uint8_t a[] = { 0x78, 0x9c, 0x00 }, b[] = { 0x78, 0x9d, 0x00 }, c[] = { 0x1f, 0x8b, 0x07 };
    ck_assert_int_eq(md_sniff_compression(a, 3), MD_COMP_ZLIB);
    ck_assert_int_eq(md_sniff_compression(b, 3), MD_COMP_NONE);
    ck_assert_int_eq(md_sniff_compression(c, 3), MD_COMP_NONE);
    ck_assert_int_eq(md_sniff_compression(a, 2), MD_COMP_NONE);
    uint8_t *out = NULL;
    uint64_t outlen = 0;
    ck_assert_int_ne(md_inflate(a, 3, MD_COMP_ZLIB, 1024, &out, &outlen, NULL, 0), MD_OK);
    ck_assert_ptr_null(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("inflate");
    tcase_add_test(tc, gzip_and_zlib_are_inflated_then_sniffed);
    tcase_add_test(tc, compressed_pe_is_sniffed_as_pe);
    tcase_add_test(tc, concatenated_gzip_members_are_one_input);
    tcase_add_test(tc, cap_exceeded_is_a_limit_error);
    tcase_add_test(tc, truncated_and_corrupt_streams_fail);
    tcase_add_test(tc, nested_compression_is_not_followed);
    tcase_add_test(tc, plain_data_is_not_taken_for_zlib);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
