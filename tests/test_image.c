/* The image finder (module list, MEM_IMAGE, header scan for injected PEs), layout detection,
 * RVA translation and rebuilding in both modes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/fx.h"
#include "md_core.h"

enum { EXE = 0x400000, INJ = 0x2000000, HEAP = 0x3000000 };

static uint8_t text[0x600], data[0x280];
static fx_buf g_mapped, g_flat, g_dotnet, g_dump;
static uint64_t off_exe, off_inj, off_heap;
static bool drop_data_page;

static void make_pe(fx_buf *out, bool mapped, bool pe64, bool dotnet, uint64_t base)
{
    fx_section s[2] = {
        { ".text", 0x1000, 0x600, text, sizeof text, 0x60000020 },
        { ".data", 0x2000, 0x400, data, sizeof data, 0xc0000040 },
    };
    fx_pe pe = { .pe64 = pe64, .dotnet = dotnet, .image_base = base, .entry_rva = 0x1000,
                 .sections = s, .nsections = 2 };
    fx_buf_init(out);
    fx_pe_build(&pe, mapped, out);
}

static void setup(void)
{
    fx_fill_noise(text, sizeof text, 21);
    fx_fill_noise(data, sizeof data, 22);
    memcpy(data, "c2.example\0", 11);
    make_pe(&g_mapped, true, false, false, EXE);
    make_pe(&g_flat, false, true, false, 0x180000000ull);
    make_pe(&g_dotnet, true, false, true, 0x10000000);
    /* Dump buffer: exe image | noise page + injected .NET image | noise pages + flat PE. */
    fx_buf_init(&g_dump);
    off_exe = g_dump.len;
    fx_put(&g_dump, g_mapped.p, g_mapped.len);
    off_inj = g_dump.len;
    fx_put_zeros(&g_dump, 0x1000);
    fx_fill_noise(g_dump.p + off_inj, 0x1000, 5);
    fx_put(&g_dump, g_dotnet.p, g_dotnet.len);
    off_heap = g_dump.len;
    fx_put_zeros(&g_dump, 0x2000);
    fx_fill_noise(g_dump.p + off_heap, 0x2000, 6);
    fx_put(&g_dump, g_flat.p, g_flat.len);
}

static void teardown(void)
{
    fx_buf_free(&g_mapped);
    fx_buf_free(&g_flat);
    fx_buf_free(&g_dotnet);
    fx_buf_free(&g_dump);
}

static md_err build_process(md_builder *b, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    md_err e = MD_OK;
    uint32_t ro = MD_PAGE_READONLY, rx = MD_PAGE_EXECUTE_READ, rw = MD_PAGE_READWRITE;
    /* The exe as a loader maps it: headers, .text, .data (optionally not captured). */
    e = md_b_region(b, EXE, 0x1000, off_exe, ro, MD_MEM_COMMIT, MD_MEM_IMAGE, EXE, 0);
    if (!e) e = md_b_region(b, EXE + 0x1000, 0x1000, off_exe + 0x1000, rx, MD_MEM_COMMIT, MD_MEM_IMAGE, EXE, 0);
    if (!e && !drop_data_page)
        e = md_b_region(b, EXE + 0x2000, 0x1000, off_exe + 0x2000, rw, MD_MEM_COMMIT, MD_MEM_IMAGE, EXE, 0);
    if (!e) e = md_b_region(b, INJ, off_heap - off_inj, off_inj, MD_PAGE_EXECUTE_READWRITE,
                            MD_MEM_COMMIT, MD_MEM_PRIVATE, INJ, 0);
    if (!e) e = md_b_region(b, HEAP, g_dump.len - off_heap, off_heap, rw, MD_MEM_COMMIT, MD_MEM_PRIVATE, HEAP, 0);
    if (!e) e = md_b_module(b, EXE, g_mapped.len, "C:\\sample\\loader.exe", 0, 0);
    return e;
}

static md_dump *open_process(void)
{
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open_with(build_process, g_dump.p, g_dump.len, NULL, &d, err, sizeof err), MD_OK);
    return d;
}

START_TEST(finder_sees_modules_injected_and_flat_images)
{
    md_dump *d = open_process();
    ck_assert_uint_eq(d->nimages, 3);
    const md_image *exe = &d->images[0], *inj = &d->images[1], *flat = &d->images[2];
    ck_assert_uint_eq(exe->base, EXE);
    ck_assert_int_eq(exe->layout, MD_LAYOUT_MAPPED);
    ck_assert_int_eq(exe->module, 0);
    ck_assert_uint_eq(exe->size, g_mapped.len);
    ck_assert_uint_eq(exe->machine, 0x14c);
    ck_assert_uint_eq(inj->base, INJ + 0x1000);
    ck_assert_int_eq(inj->layout, MD_LAYOUT_MAPPED);
    ck_assert_int_eq(inj->module, -1);
    ck_assert_uint_eq(inj->image_base, 0x10000000);
    ck_assert(inj->flags & MD_IMG_DOTNET);
    ck_assert_uint_eq(flat->base, HEAP + 0x2000);
    ck_assert_int_eq(flat->layout, MD_LAYOUT_FLAT);
    ck_assert_uint_eq(flat->size, g_flat.len);
    ck_assert(flat->flags & MD_IMG_PE64);
    ck_assert(!(flat->flags & MD_IMG_DOTNET));
    ck_assert_ptr_eq(md_image_at(d, EXE + 0x2010), exe);
    ck_assert_ptr_eq(md_image_at(d, HEAP + 0x2000 + g_flat.len - 1), flat);
    ck_assert_ptr_null(md_image_at(d, HEAP + 0x10));
    ck_assert_ptr_null(md_image_at(d, INJ + 0x10));
    ck_assert(d->regions[0].flags & MD_R_HAS_MZ);
    ck_assert_str_eq(d->process, "loader.exe");
    md_close(d);
}
END_TEST

/* An open that defers the page-start probe knows the loader's images only; the probe then finds
 * exactly what a one-pass open finds, and a second call changes nothing. */
START_TEST(deferred_probe_finds_what_open_finds)
{
    md_dump *whole = open_process(), *d = NULL;
    char err[128];
    md_open_opts o = {.defer_image_probe = true};
    ck_assert_int_eq(md_open_with(build_process, g_dump.p, g_dump.len, &o, &d, err, sizeof err), MD_OK);
    ck_assert_uint_eq(d->nimages, 1);
    ck_assert_uint_eq(d->images[0].base, EXE);
    ck_assert_ptr_null(md_image_at(d, INJ + 0x1010));
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(md_probe_images(d), MD_OK);
        ck_assert_uint_eq(d->nimages, whole->nimages);
        for (size_t i = 0; i < whole->nimages; i++) {
            const md_image *a = &d->images[i], *b = &whole->images[i];
            ck_assert_uint_eq(a->base, b->base);
            ck_assert_uint_eq(a->size, b->size);
            ck_assert_uint_eq(a->image_base, b->image_base);
            ck_assert_int_eq(a->layout, b->layout);
            ck_assert_int_eq(a->module, b->module);
            ck_assert_uint_eq(a->flags, b->flags);
            ck_assert_uint_eq(a->machine, b->machine);
        }
    }
    ck_assert_int_eq(md_probe_images(whole), MD_OK);
    ck_assert_uint_eq(whole->nimages, 3);
    md_close(d);

    /* Given the page starts holding 'M' (as the scan collects them), the probe looks only there
     * and finds the same; given none, only what region starts hold. */
    for (int given = 0; given < 2; given++) {
        ck_assert_int_eq(md_open_with(build_process, g_dump.p, g_dump.len, &o, &d, err, sizeof err), MD_OK);
        uint64_t va[64];
        size_t n = 0;
        for (size_t i = 0; given && i < d->nregions; i++) {
            const md_region *r = &d->regions[i];
            for (uint64_t v = (r->va + 0xfff) & ~0xfffull; v < r->va + r->size; v += 0x1000)
                if (d->buf[r->off + (v - r->va)] == 'M') {
                    ck_assert_uint_lt(n, 64);
                    va[n++] = v;
                }
        }
        ck_assert_int_eq(md_probe_images_at(d, va, n), MD_OK);
        ck_assert_uint_eq(d->nimages, given ? whole->nimages : 1);   /* both others start inside regions */
        for (size_t i = 0; given && i < whole->nimages; i++) {
            ck_assert_uint_eq(d->images[i].base, whole->images[i].base);
            ck_assert_uint_eq(d->images[i].size, whole->images[i].size);
            ck_assert_int_eq(d->images[i].layout, whole->images[i].layout);
        }
        md_close(d);
    }
    md_close(whole);
}
END_TEST

START_TEST(rva_to_va_honours_layout)
{
    md_dump *d = open_process();
    const md_image *exe = md_image_at(d, EXE), *flat = md_image_at(d, HEAP + 0x2000);
    md_pe_hdr h;
    ck_assert(md_pe_parse(g_flat.p, g_flat.len, &h));
    uint64_t va;
    ck_assert(md_image_rva_to_va(d, exe, 0x2000, &va) && va == EXE + 0x2000);
    ck_assert(!md_image_rva_to_va(d, exe, 0x10000, &va));
    ck_assert(md_image_rva_to_va(d, flat, 0x2004, &va));
    ck_assert_uint_eq(va, HEAP + 0x2000 + h.sect[1].raw_off + 4);
    ck_assert(md_image_rva_to_va(d, flat, 0x10, &va) && va == HEAP + 0x2000 + 0x10);
    ck_assert(!md_image_rva_to_va(d, flat, 0x2000 + h.sect[1].raw_size, &va));  /* past raw data */
    char s[32];
    ck_assert(md_image_rva_to_va(d, flat, 0x2000, &va));
    ck_assert_int_eq(md_read_cstr(d, va, s, sizeof s), 10);
    md_close(d);
}
END_TEST

static uint32_t sect_field(const uint8_t *img, unsigned i, unsigned field)
{
    md_pe_hdr h;
    ck_assert(md_pe_parse(img, 0x1000, &h));
    return md_le32(img + h.section_table_off + 40 * i + field);
}

START_TEST(rebuild_both_modes)
{
    md_dump *d = open_process();
    const md_image *exe = md_image_at(d, EXE), *flat = md_image_at(d, HEAP + 0x2000);
    uint8_t *out;
    size_t len;
    /* Mapped -> file layout gives back the on-disk file. */
    fx_buf disk;
    make_pe(&disk, false, false, false, EXE);
    ck_assert_int_eq(md_image_rebuild(d, exe, MD_REBUILD_FILE, 0, &out, &len), MD_OK);
    ck_assert_uint_eq(len, disk.len);
    ck_assert_mem_eq(out, disk.p, len);
    free(out);
    /* Mapped -> raw-is-virtual keeps the layout and points raw data at the VAs. */
    ck_assert_int_eq(md_image_rebuild(d, exe, MD_REBUILD_RAW_IS_VIRTUAL, 0, &out, &len), MD_OK);
    ck_assert_uint_eq(len, g_mapped.len);
    ck_assert_mem_eq(out + 0x1000, g_mapped.p + 0x1000, len - 0x1000);
    ck_assert_uint_eq(sect_field(out, 1, 20), 0x2000);
    ck_assert_uint_eq(sect_field(out, 1, 16), 0x400);
    free(out);
    /* Flat -> raw-is-virtual lays sections at their RVAs. */
    fx_buf mapped64;
    make_pe(&mapped64, true, true, false, 0x180000000ull);
    ck_assert_int_eq(md_image_rebuild(d, flat, MD_REBUILD_RAW_IS_VIRTUAL, 0, &out, &len), MD_OK);
    ck_assert_uint_eq(len, mapped64.len);
    ck_assert_mem_eq(out + 0x1000, mapped64.p + 0x1000, len - 0x1000);
    ck_assert_uint_eq(sect_field(out, 0, 20), 0x1000);
    free(out);
    ck_assert_int_eq(md_image_rebuild(d, flat, MD_REBUILD_FILE, 0, &out, &len), MD_OK);
    ck_assert_uint_eq(len, g_flat.len);
    ck_assert_mem_eq(out, g_flat.p, len);
    free(out);
    ck_assert_int_eq(md_image_rebuild(d, flat, MD_REBUILD_FILE, 0x100, &out, &len), MD_E_LIMIT);
    ck_assert_ptr_null(out);
    fx_buf_free(&disk);
    fx_buf_free(&mapped64);
    md_close(d);
}
END_TEST

START_TEST(rebuild_zero_fills_missing_pages)
{
    drop_data_page = true;
    md_dump *d = open_process();
    drop_data_page = false;
    const md_image *exe = md_image_at(d, EXE);
    ck_assert_ptr_nonnull(exe);
    uint8_t *out;
    size_t len;
    ck_assert_int_eq(md_image_rebuild(d, exe, MD_REBUILD_RAW_IS_VIRTUAL, 0, &out, &len), MD_OK);
    ck_assert_uint_eq(len, g_mapped.len);
    ck_assert_mem_eq(out + 0x1000, text, sizeof text);
    for (size_t i = 0x2000; i < 0x3000; i++) ck_assert_uint_eq(out[i], 0);
    free(out);
    md_close(d);
}
END_TEST

START_TEST(layout_guess_reads_section_boundaries)
{
    md_pe_hdr h;
    ck_assert(md_pe_parse(g_mapped.p, g_mapped.len, &h));
    ck_assert_int_eq(md_pe_guess_layout(g_mapped.p, g_mapped.len, &h, MD_LAYOUT_FLAT), MD_LAYOUT_MAPPED);
    ck_assert(md_pe_parse(g_flat.p, g_flat.len, &h));
    ck_assert_int_eq(md_pe_guess_layout(g_flat.p, g_flat.len, &h, MD_LAYOUT_MAPPED), MD_LAYOUT_FLAT);
    /* Headers alone give no evidence: the default stands. */
    ck_assert_int_eq(md_pe_guess_layout(g_flat.p, h.size_of_headers, &h, MD_LAYOUT_MAPPED), MD_LAYOUT_MAPPED);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, finder_sees_modules_injected_and_flat_images);
    tcase_add_test(tc, deferred_probe_finds_what_open_finds);
    tcase_add_test(tc, rva_to_va_honours_layout);
    tcase_add_test(tc, rebuild_both_modes);
    tcase_add_test(tc, rebuild_zero_fills_missing_pages);
    tcase_add_test(tc, layout_guess_reads_section_boundaries);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
