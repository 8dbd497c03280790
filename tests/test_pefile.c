/* PE payload files: mapped virtually without copying, sections clamped to the file, and headers
 * that lie rejected. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/fx.h"
#include "md_internal.h"

enum { OPT = 0x98, SECT64 = 0x98 + 240 };

static uint8_t text[0x500], data[0x300], rsrc[0x700];

static void build(fx_buf *b)
{
    fx_fill_noise(text, sizeof text, 1);
    fx_fill_noise(data, sizeof data, 2);
    fx_fill_noise(rsrc, sizeof rsrc, 3);
    memcpy(data, "cfg.example\0", 12);
    fx_section s[3] = {
        { ".text", 0x1000, 0x500, text, sizeof text, 0x60000020 },
        { ".data", 0x2000, 0x100, data, sizeof data, 0xc0000040 },   /* VirtualSize < raw */
        { ".rsrc", 0x3000, 0x700, rsrc, sizeof rsrc, 0x40000040 },
    };
    fx_pe pe = { .pe64 = true, .image_base = 0x180000000ull, .sections = s, .nsections = 3, .dll = true };
    fx_buf_init(b);
    fx_pe_build(&pe, false, b);
}

static const md_region *at(const md_dump *d, uint64_t va)
{
    const md_region *r = md_region_at(d, va);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(sections_map_to_their_raw_bytes)
{
    fx_buf b;
    build(&b);
    md_pe_hdr h;
    ck_assert(md_pe_parse(b.p, b.len, &h));
    ck_assert(h.pe64 && h.dll && !h.dotnet);
    ck_assert_uint_eq(h.nsections, 3);
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open_mem(b.p, b.len, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_PE);
    ck_assert_int_eq(d->arch, MD_ARCH_AMD64);
    ck_assert_uint_eq(d->nregions, 4);
    const md_region *hd = at(d, 0x180000000ull), *tx = at(d, 0x180001000ull);
    const md_region *dt = at(d, 0x180002000ull), *rs = at(d, 0x180003000ull);
    ck_assert_uint_eq(hd->off, 0);
    ck_assert_uint_eq(hd->protect, MD_PAGE_READONLY);
    ck_assert_uint_eq(tx->off, h.sect[0].raw_off);
    ck_assert_uint_eq(tx->protect, MD_PAGE_EXECUTE_READ);
    ck_assert(tx->flags & MD_R_EXEC && tx->flags & MD_R_IMAGE);
    ck_assert_uint_eq(tx->type, MD_MEM_IMAGE);
    ck_assert_uint_eq(dt->size, 0x100);
    ck_assert_uint_eq(dt->protect, MD_PAGE_READWRITE);
    ck_assert_uint_eq(rs->size, 0x700);
    ck_assert_ptr_eq(md_ptr(d, 0x180001000ull, 0x500), b.p + h.sect[0].raw_off);   /* zero copy */
    char s[32];
    ck_assert_int_eq(md_read_cstr(d, 0x180002000ull, s, sizeof s), 11);
    ck_assert_ptr_null(md_region_at(d, 0x180002100ull));
    ck_assert_uint_eq(d->nmodules, 1);
    ck_assert_uint_eq(d->modules[0].size, h.size_of_image);
    ck_assert_uint_eq(d->nimages, 1);
    ck_assert(d->images[0].flags & MD_IMG_DLL && d->images[0].flags & MD_IMG_PE64);
    md_close(d);

    md_open_opts o = { .raw_base = 0x10000000, .has_raw_base = true };
    ck_assert_int_eq(md_open_mem(b.p, b.len, &o, &d, err, sizeof err), MD_OK);
    ck_assert_uint_eq(d->regions[0].va, 0x10000000);
    ck_assert_int_eq(md_read_cstr(d, 0x10002000, s, sizeof s), 11);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

static bool has_warning(const md_dump *d, uint32_t code)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code) return true;
    return false;
}

START_TEST(sections_beyond_eof_are_clamped)
{
    fx_buf b;
    build(&b);
    md_pe_hdr h;
    ck_assert(md_pe_parse(b.p, b.len, &h));
    md_open_opts o = { .force_format = MD_FMT_PE };
    md_dump *d = NULL;
    /* Cut inside .rsrc: clamped and flagged. */
    uint64_t cut = h.sect[2].raw_off + 0x100;
    ck_assert_int_eq(md_open_mem(b.p, cut, &o, &d, NULL, 0), MD_OK);
    const md_region *rs = at(d, 0x180003000ull);
    ck_assert_uint_eq(rs->size, 0x100);
    ck_assert(rs->flags & MD_R_TRUNCATED);
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    md_close(d);
    /* Cut before .rsrc: the section is gone, the rest stays. */
    ck_assert_int_eq(md_open_mem(b.p, h.sect[2].raw_off, &o, &d, NULL, 0), MD_OK);
    ck_assert_ptr_null(md_region_at(d, 0x180003000ull));
    ck_assert_ptr_nonnull(md_region_at(d, 0x180001000ull));
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* Each lie is patched into a fresh copy; the PE must then be refused. */
static void expect_rejected(size_t off, int width, uint32_t value)
{
    fx_buf b;
    build(&b);
    if (width == 2) { b.p[off] = (uint8_t)value; b.p[off + 1] = (uint8_t)(value >> 8); }
    else fx_set_u32(&b, off, value);
    md_pe_hdr h;
    ck_assert_msg(!md_pe_parse(b.p, b.len, &h), "accepted lie at 0x%zx", off);
    ck_assert(!md_sniff_pe(b.p, b.len));
    md_open_opts o = { .force_format = MD_FMT_PE };
    md_dump *d = NULL;
    char err[128] = "";
    ck_assert_int_eq(md_open_mem(b.p, b.len, &o, &d, err, sizeof err), MD_E_FORMAT);
    ck_assert(err[0]);
    ck_assert_int_eq(md_open_mem(b.p, b.len, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_RAW);
    md_close(d);
    fx_buf_free(&b);
}

START_TEST(lying_headers_are_rejected)
{
    expect_rejected(0x3c, 4, 0x7ffffff0);          /* e_lfanew past the file */
    expect_rejected(0x3c, 4, 0x10);                /* e_lfanew inside the DOS header */
    expect_rejected(0x84, 2, 0x1234);              /* unknown machine */
    expect_rejected(0x86, 2, 200);                 /* more sections than PE allows */
    expect_rejected(0x86, 2, 90);                  /* section table runs into section data */
    expect_rejected(0x94, 2, 16);                  /* optional header too small */
    expect_rejected(OPT, 2, 0x107);                /* bad optional magic */
    expect_rejected(OPT + 56, 4, 0);               /* SizeOfImage 0 */
    expect_rejected(OPT + 60, 4, 0x100000);        /* SizeOfHeaders > SizeOfImage */
    expect_rejected(SECT64 + 40 + 12, 4, 0x90000); /* section past SizeOfImage */
    expect_rejected(SECT64 + 12, 4, 0x100);        /* section over the headers */
    expect_rejected(SECT64 + 20, 4, 0xfffffff0);   /* raw range wraps 32 bits */
}
END_TEST

START_TEST(truncated_headers_are_not_a_pe)
{
    fx_buf b;
    build(&b);
    md_pe_hdr h;
    for (size_t n = 0; n < SECT64 + 3 * 40; n += 7) ck_assert(!md_pe_parse(b.p, n, &h));
    ck_assert(md_pe_parse(b.p, SECT64 + 3 * 40, &h));
    fx_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pefile");
    TCase *tc = tcase_create("pefile");
    tcase_add_test(tc, sections_map_to_their_raw_bytes);
    tcase_add_test(tc, sections_beyond_eof_are_clamped);
    tcase_add_test(tc, lying_headers_are_rejected);
    tcase_add_test(tc, truncated_headers_are_not_a_pe);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
