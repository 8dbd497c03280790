/* ELF core reader: 64- and 32-bit round trips through the fixture writer, NT_FILE offsets in
 * bytes (gcore) and pages (kernel), segments with p_filesz < p_memsz, holes, and damaged headers. */
#include "fixtures/fx.h"
#include "md_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint8_t text[0x1000], rwdata[0x1000], anon[0x2000];

/* The module spans 0x3ff000..0x403000; its first page (file offset 0) was not dumped, so its base
 * can only come from the NT_FILE offset of the first listed mapping. */
static const fx_region regions[] = {
    { .va = 0x400000, .data = text, .size = sizeof text, .protect = MD_PAGE_EXECUTE_READ },
    { .va = 0x401000, .data = rwdata, .size = sizeof rwdata, .protect = MD_PAGE_READWRITE },
    { .va = 0x40000000, .data = anon, .size = sizeof anon, .protect = MD_PAGE_EXECUTE_READWRITE },
};
static const fx_module modules[] = {
    { .base = 0x3ff000, .size = 0x4000, .path = "/opt/fx/bin/target" },
    { .base = 0x50000000, .size = 0x3000, .path = "/opt/fx/lib/libfx.so" },
};

static void make(int bits, unsigned flags, fx_buf *b)
{
    fx_fill_noise(text, sizeof text, 11);
    fx_fill_noise(rwdata, sizeof rwdata, 12);
    fx_fill_noise(anon, sizeof anon, 13);
    fx_process p = { .pid = 4242, .arch = bits == 64 ? MD_ARCH_AMD64 : MD_ARCH_X86,
                     .regions = regions, .nregions = 3, .modules = modules, .nmodules = 2 };
    fx_buf_init(b);
    fx_elfcore(&p, bits, flags, b);
}

static bool has_warning(const md_dump *d, uint32_t code)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code) return true;
    return false;
}

static md_dump *open_ok(const fx_buf *b)
{
    md_dump *d = NULL;
    char err[256];
    md_err e = md_open_mem(b->p, b->len, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open_mem: %s (%s)", md_strerror(e), err);
    return d;
}

static md_err open_err(const fx_buf *b, char *err, size_t errlen)
{
    md_dump *d = NULL;
    md_err e = md_open_mem(b->p, b->len, NULL, &d, err, errlen);
    if (d) md_close(d);
    return e;
}

/* Program header i of the fixture (index 0 is PT_NOTE, 1.. the PT_LOADs in region order). */
static size_t phdr(int bits, size_t i) { return bits == 64 ? 64 + 56 * i : 52 + 32 * i; }
static size_t f_filesz(int bits) { return bits == 64 ? 32 : 16; }
static size_t f_memsz(int bits) { return bits == 64 ? 40 : 20; }
static size_t f_offset(int bits) { return bits == 64 ? 8 : 4; }

static void set_word(fx_buf *b, int bits, size_t off, uint64_t v)
{
    if (bits == 64) fx_set_u64(b, off, v);
    else fx_set_u32(b, off, (uint32_t)v);
}

static void check_round_trip(int bits, unsigned flags)
{
    fx_buf b;
    make(bits, flags, &b);
    ck_assert_int_eq(md_sniff(b.p, b.len), MD_FMT_ELFCORE);
    md_dump *d = open_ok(&b);
    ck_assert_int_eq(d->format, MD_FMT_ELFCORE);
    ck_assert_int_eq(d->arch, bits == 64 ? MD_ARCH_AMD64 : MD_ARCH_X86);
    ck_assert_uint_eq(d->pid, 4242);
    ck_assert_uint_eq(d->nwarnings, 0);
    ck_assert_uint_eq(d->nregions, 3);
    static const uint32_t protect[] = { MD_PAGE_EXECUTE_READ, MD_PAGE_READWRITE, MD_PAGE_EXECUTE_READWRITE };
    for (size_t i = 0; i < 3; i++) {
        const md_region *r = &d->regions[i];
        ck_assert_uint_eq(r->va, regions[i].va);
        ck_assert_uint_eq(r->size, regions[i].size);
        ck_assert_uint_eq(r->protect, protect[i]);
        ck_assert_uint_eq(r->state, MD_MEM_COMMIT);
        const uint8_t *p = md_ptr(d, r->va, r->size);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(memcmp(p, regions[i].data, r->size), 0);
    }
    ck_assert_uint_eq(d->regions[0].type, MD_MEM_IMAGE);
    ck_assert_uint_eq(d->regions[1].type, MD_MEM_IMAGE);
    ck_assert_uint_ne(d->regions[2].type, MD_MEM_IMAGE);
    ck_assert(d->regions[0].flags & MD_R_IMAGE);
    ck_assert_uint_eq(d->nmodules, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(d->modules[i].base, modules[i].base);
        ck_assert_uint_eq(d->modules[i].size, modules[i].size);
        ck_assert_str_eq(d->modules[i].path, modules[i].path);
    }
    ck_assert_int_eq(d->regions[0].module, 0);
    ck_assert_int_eq(d->regions[2].module, -1);
    md_close(d);
    fx_buf_free(&b);
}

START_TEST(round_trip_64_bytes) { check_round_trip(64, 0); }
END_TEST
START_TEST(round_trip_64_pages) { check_round_trip(64, FX_ELF_PAGES); }
END_TEST
START_TEST(round_trip_32_bytes) { check_round_trip(32, 0); }
END_TEST
START_TEST(round_trip_32_pages) { check_round_trip(32, FX_ELF_PAGES); }
END_TEST

/* gdb writes offsets in bytes with page size 1; reading them as pages would misplace the base. */
START_TEST(ntfile_page_size_is_applied)
{
    fx_buf b;
    make(64, FX_ELF_PAGES, &b);
    /* Find the NT_FILE page-size word (4096) and claim bytes instead: the base moves. */
    size_t at = 0;
    for (size_t i = 8; i + 8 <= b.len; i += 4)
        if (md_le64(b.p + i) == 4096 && md_le64(b.p + i - 8) == 4) { at = i; break; } /* 4 mappings */
    ck_assert_uint_ne(at, 0);
    fx_set_u64(&b, at, 1);
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nmodules, 2);
    ck_assert_uint_eq(d->modules[0].base, 0x400000 - 1); /* one "page" of one byte */
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(filesz_below_memsz)
{
    for (int bits = 32; bits <= 64; bits += 32) {
        fx_buf b;
        make(bits, 0, &b);
        /* Region 2 claims twice its bytes in memory; region 1 has no bytes at all. */
        set_word(&b, bits, phdr(bits, 3) + f_memsz(bits), 2 * sizeof anon);
        set_word(&b, bits, phdr(bits, 2) + f_filesz(bits), 0);
        md_dump *d = open_ok(&b);
        ck_assert_uint_eq(d->nregions, 2);
        ck_assert_uint_eq(d->regions[1].va, 0x40000000);
        ck_assert_uint_eq(d->regions[1].size, sizeof anon);
        ck_assert_uint_eq(md_avail(d, 0x40000000 + sizeof anon), 0);
        ck_assert_ptr_null(md_region_at(d, 0x401000));
        md_close(d);
        fx_buf_free(&b);
    }
}
END_TEST

START_TEST(holes)
{
    fx_buf b;
    make(64, 0, &b);
    md_dump *d = open_ok(&b);
    uint8_t got[0x40];
    /* 0x400000..0x402000 is contiguous, then nothing until 0x40000000. */
    ck_assert_uint_eq(md_read(d, 0x401fe0, got, sizeof got), 0x20);
    ck_assert_int_eq(memcmp(got, rwdata + sizeof rwdata - 0x20, 0x20), 0);
    ck_assert_uint_eq(md_read(d, 0x3ffff0, got, sizeof got), 0);
    ck_assert_uint_eq(md_avail(d, 0x400000), 0x2000);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(truncated_core)
{
    fx_buf b;
    make(64, 0, &b);
    b.len -= 0x800; /* the last segment (anon) loses half a page */
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nregions, 3);
    ck_assert_uint_eq(d->regions[2].size, sizeof anon - 0x800);
    ck_assert(d->regions[2].flags & MD_R_TRUNCATED);
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(phdr_table_past_eof)
{
    fx_buf b;
    make(64, 0, &b);
    fx_set_u64(&b, 32, b.len - 8);
    char err[256] = "";
    ck_assert_int_eq(open_err(&b, err, sizeof err), MD_E_CORRUPT);
    ck_assert_str_eq(err, "ELF core program header table points past end of file");
    fx_buf_free(&b);
}
END_TEST

START_TEST(segment_offset_past_eof_and_wrapping)
{
    fx_buf b;
    make(64, 0, &b);
    fx_set_u64(&b, phdr(64, 1) + f_offset(64), 1ull << 40);
    fx_set_u64(&b, phdr(64, 2) + 16, UINT64_MAX - 0x10); /* vaddr + memsz wraps */
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nregions, 1);
    ck_assert_uint_eq(d->regions[0].va, 0x40000000);
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(vsyscall_dropped)
{
    static uint8_t page[0x1000];
    const fx_region r[] = {
        { .va = 0x10000, .data = page, .size = sizeof page },
        { .va = 0xffffffffff600000ull, .data = page, .size = sizeof page, .protect = MD_PAGE_EXECUTE },
    };
    fx_process p = { .pid = 1, .arch = MD_ARCH_AMD64, .regions = r, .nregions = 2 };
    fx_buf b;
    fx_buf_init(&b);
    fx_elfcore(&p, 64, FX_ELF_NO_NTFILE, &b);
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nregions, 1);
    ck_assert_uint_eq(d->regions[0].va, 0x10000);
    ck_assert_uint_eq(d->nmodules, 0);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(sniff)
{
    fx_buf b;
    make(64, 0, &b);
    ck_assert(md_sniff_elfcore(b.p, b.len));
    b.p[16] = 2; /* ET_EXEC */
    ck_assert(!md_sniff_elfcore(b.p, b.len));
    b.p[16] = 4;
    b.p[5] = 2; /* big-endian */
    ck_assert(!md_sniff_elfcore(b.p, b.len));
    ck_assert(!md_sniff_elfcore(b.p, 40));
    char err[256] = "";
    md_open_opts o = { .force_format = MD_FMT_ELFCORE };
    md_dump *d = NULL;
    ck_assert_int_eq(md_open_mem(b.p, b.len, &o, &d, err, sizeof err), MD_E_FORMAT);
    ck_assert(strstr(err, "little-endian") != NULL);
    fx_buf_free(&b);
}
END_TEST

/* NT_FILE claiming more entries than its note holds is read only as far as it goes. */
START_TEST(ntfile_count_lies)
{
    fx_buf b;
    make(64, 0, &b);
    size_t at = 0;
    for (size_t i = 0; i + 16 <= b.len; i += 4)
        if (md_le32(b.p + i + 8) == 0x46494c45 && memcmp(b.p + i + 12, "CORE", 4) == 0) { at = i; break; }
    ck_assert_uint_ne(at, 0);
    fx_set_u64(&b, at + 20, 1ull << 60); /* count, the first word of the descriptor */
    md_dump *d = open_ok(&b);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    ck_assert_uint_eq(d->nregions, 3);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("elfcore");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trip_64_bytes);
    tcase_add_test(tc, round_trip_64_pages);
    tcase_add_test(tc, round_trip_32_bytes);
    tcase_add_test(tc, round_trip_32_pages);
    tcase_add_test(tc, ntfile_page_size_is_applied);
    tcase_add_test(tc, filesz_below_memsz);
    tcase_add_test(tc, holes);
    tcase_add_test(tc, truncated_core);
    tcase_add_test(tc, phdr_table_past_eof);
    tcase_add_test(tc, segment_offset_past_eof_and_wrapping);
    tcase_add_test(tc, vsyscall_dropped);
    tcase_add_test(tc, sniff);
    tcase_add_test(tc, ntfile_count_lies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
