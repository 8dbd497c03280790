/* memdump core: the finishing pass (sort, trim, labels, flags, runs, caps) and every bounded
 * reader, driven through hand-made builder facts, raw and PE inputs, and files on disk. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fixtures/fx.h"
#include "md_core.h"
#include "testutil.h"

static uint8_t g_buf[0x8000];

static void fill_buf(void)
{
    for (size_t i = 0; i < sizeof g_buf; i++) g_buf[i] = (uint8_t)(i * 7 + (i >> 8));
}

static md_dump *open_with(md_build_fn fn, const md_open_opts *o)
{
    md_dump *d = NULL;
    char err[128];
    md_err e = md_open_with(fn, g_buf, sizeof g_buf, o, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "open failed: %s", err);
    return d;
}

static bool has_warning(const md_dump *d, uint32_t code)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code) return true;
    return false;
}

/* Three ranges, given out of order: A and B adjacent in VA and buffer, C adjacent in VA only;
 * then a hole and D. */
static md_err build_layout(md_builder *b, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    md_err e = md_b_region(b, 0x3000, 0x1000, 0x3000, 0, 0, 0, 0, 0);          /* C */
    if (!e) e = md_b_region(b, 0x1000, 0x1000, 0x0000, 0, 0, 0, 0, 0);       /* A */
    if (!e) e = md_b_region(b, 0x2000, 0x1000, 0x1000, 0, 0, 0, 0, 0);       /* B */
    if (!e) e = md_b_region(b, 0x6000, 0x800, 0x5000, 0, 0, 0, 0, 0);        /* D */
    return e;
}

START_TEST(sorted_and_runs_need_both_contiguities)
{
    fill_buf();
    md_dump *d = open_with(build_layout, NULL);
    ck_assert_uint_eq(d->nregions, 4);
    for (size_t i = 1; i < d->nregions; i++) ck_assert(d->regions[i - 1].va < d->regions[i].va);
    ck_assert_uint_eq(d->nruns, 3);
    ck_assert_uint_eq(d->runs[0].va, 0x1000);
    ck_assert_uint_eq(d->runs[0].size, 0x2000);
    ck_assert_uint_eq(d->runs[0].nregions, 2);
    ck_assert_uint_eq(d->runs[1].va, 0x3000);
    ck_assert_uint_eq(d->runs[1].first_region, 2);
    ck_assert_uint_eq(d->runs[2].va, 0x6000);
    ck_assert_uint_eq(d->bytes, 0x3800);
    ck_assert(d->regions[0].flags & MD_R_PROT_UNKNOWN);
    ck_assert(!(d->regions[0].flags & MD_R_EXEC));
    md_close(d);
}
END_TEST

START_TEST(readers_cross_adjacent_regions_and_stop_at_holes)
{
    fill_buf();
    md_dump *d = open_with(build_layout, NULL);
    uint8_t tmp[0x4000];
    /* B -> C crosses a buffer discontinuity but is one VA stretch. */
    ck_assert_uint_eq(md_read(d, 0x2ff0, tmp, 0x20), 0x20);
    ck_assert_mem_eq(tmp, g_buf + 0x1ff0, 0x10);
    ck_assert_mem_eq(tmp + 0x10, g_buf + 0x3000, 0x10);
    ck_assert_uint_eq(md_read(d, 0x3ff0, tmp, 0x100), 0x10);
    ck_assert_uint_eq(md_read(d, 0x5000, tmp, 4), 0);
    ck_assert_uint_eq(md_avail(d, 0x1800), 0x2800);
    ck_assert_uint_eq(md_avail(d, 0x4000), 0);
    /* md_ptr is zero-copy inside one run only. */
    ck_assert_ptr_eq(md_ptr(d, 0x1ff0, 0x20), d->buf + 0xff0);
    ck_assert_ptr_null(md_ptr(d, 0x2ff0, 0x20));
    ck_assert_ptr_nonnull(md_ptr(d, 0x6000, 0x800));
    ck_assert_ptr_null(md_ptr(d, 0x6000, 0x801));
    ck_assert_ptr_null(md_ptr(d, 0x0fff, 1));

    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
    ck_assert(md_read_u8(d, 0x1001, &u8) && u8 == g_buf[1]);
    ck_assert(md_read_u16(d, 0x2fff, &u16) && u16 == (g_buf[0x1fff] | g_buf[0x3000] << 8));
    ck_assert(md_read_u32(d, 0x1004, &u32) && u32 == md_le32(g_buf + 4));
    ck_assert(md_read_u64(d, 0x1008, &u64) && u64 == md_le64(g_buf + 8));
    ck_assert(!md_read_u32(d, 0x3ffe, &u32));
    ck_assert(!md_read_u64(d, 0x67fc, &u64));
    ck_assert(md_read_ptr(d, 0x1004, 4, &u64) && u64 == md_le32(g_buf + 4));
    ck_assert(md_read_ptr(d, 0x1008, 8, &u64) && u64 == md_le64(g_buf + 8));
    ck_assert(!md_read_ptr(d, 0x1008, 2, &u64));

    uint64_t off, va;
    ck_assert(md_va_to_off(d, 0x3010, &off) && off == 0x3010);
    ck_assert(md_va_to_off(d, 0x6010, &off) && off == 0x5010);
    ck_assert(!md_va_to_off(d, 0x4000, &off));
    ck_assert(md_off_to_va(d, 0x5010, &va) && va == 0x6010);
    ck_assert(md_off_to_va(d, 0x1010, &va) && va == 0x2010);
    ck_assert(!md_off_to_va(d, 0x2010, &va));
    ck_assert_ptr_eq(md_region_at(d, 0x2fff), &d->regions[1]);
    ck_assert_ptr_null(md_region_at(d, 0x6800));
    ck_assert_ptr_eq(md_run_at(d, 0x2fff), &d->runs[0]);
    md_close(d);
}
END_TEST

/* Overlapping ranges: the later one is trimmed, one inside another is dropped. */
static md_err build_overlaps(md_builder *b, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    md_err e = md_b_region(b, 0x10000, 0x2000, 0x0000, 0, 0, 0, 0, 0);
    if (!e) e = md_b_region(b, 0x11000, 0x2000, 0x4000, 0, 0, 0, 0, 0);   /* trimmed to 0x12000 */
    if (!e) e = md_b_region(b, 0x10800, 0x100, 0x6000, 0, 0, 0, 0, 0);    /* dropped */
    if (!e) e = md_b_region(b, 0x10000, 0x100, 0x7000, 0, 0, 0, 0, 0);    /* same start: dropped */
    return e;
}

START_TEST(overlaps_are_trimmed_with_a_warning)
{
    fill_buf();
    md_dump *d = open_with(build_overlaps, NULL);
    ck_assert_uint_eq(d->nregions, 2);
    ck_assert_uint_eq(d->regions[0].off, 0);
    ck_assert_uint_eq(d->regions[1].va, 0x12000);
    ck_assert_uint_eq(d->regions[1].size, 0x1000);
    ck_assert_uint_eq(d->regions[1].off, 0x5000);
    ck_assert(has_warning(d, MD_W_OVERLAP));
    ck_assert_uint_eq(d->nruns, 2);
    md_close(d);
}
END_TEST

static md_err build_labelled(md_builder *b, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    md_err e = md_b_region(b, 0x400000, 0x3000, 0, 0, 0, 0, 0, 0);
    if (!e) e = md_b_region(b, 0x500000, 0x1000, 0x3000, 0, 0, 0, 0, 0);
    md_label text = { 0x400000, 0x1000, 0x400000, MD_PAGE_EXECUTE_READ, MD_MEM_COMMIT, MD_MEM_IMAGE };
    md_label data = { 0x401000, 0x1000, 0x400000, MD_PAGE_READWRITE, MD_MEM_COMMIT, MD_MEM_IMAGE };
    md_label heap = { 0x4ff000, 0x3000, 0x4ff000, MD_PAGE_EXECUTE_READWRITE, MD_MEM_COMMIT, MD_MEM_PRIVATE };
    if (!e) e = md_b_label(b, &data);
    if (!e) e = md_b_label(b, &text);
    if (!e) e = md_b_label(b, &heap);
    if (!e) e = md_b_module(b, 0x400000, 0x3000, "C:\\Users\\x\\sample.exe", 7, 9);
    if (!e) e = md_b_thread(b, 42, 0x500800, 0x800, 0x7ffd0000);
    return e;
}

START_TEST(labels_split_and_flag_regions)
{
    fill_buf();
    md_dump *d = open_with(build_labelled, NULL);
    ck_assert_uint_eq(d->nregions, 4);
    const md_region *t = md_region_at(d, 0x400010), *w = md_region_at(d, 0x401010);
    const md_region *u = md_region_at(d, 0x402010), *h = md_region_at(d, 0x500010);
    ck_assert_uint_eq(t->protect, MD_PAGE_EXECUTE_READ);
    ck_assert_uint_eq(t->flags & (MD_R_EXEC | MD_R_WRITE | MD_R_IMAGE), MD_R_EXEC | MD_R_IMAGE);
    ck_assert_uint_eq(w->protect, MD_PAGE_READWRITE);
    ck_assert_uint_eq(w->flags & (MD_R_EXEC | MD_R_WRITE), MD_R_WRITE);
    ck_assert_uint_eq(w->off, 0x1000);
    ck_assert_uint_eq(u->protect, 0);
    ck_assert(u->flags & MD_R_PROT_UNKNOWN);
    ck_assert_int_eq(u->module, 0);
    ck_assert_uint_eq(h->type, MD_MEM_PRIVATE);
    ck_assert_uint_eq(h->alloc_base, 0x4ff000);
    ck_assert_uint_eq(h->flags & (MD_R_EXEC | MD_R_WRITE | MD_R_STACK), MD_R_EXEC | MD_R_WRITE | MD_R_STACK);
    ck_assert_int_eq(h->module, -1);
    /* Splitting keeps the buffer contiguity, so the three pieces are still one run. */
    ck_assert_uint_eq(d->nruns, 2);
    ck_assert_str_eq(d->process, "sample.exe");
    ck_assert_uint_eq(d->nmodules, 1);
    ck_assert_uint_eq(d->modules[0].timestamp, 7);
    ck_assert_uint_eq(d->nthreads, 1);
    md_close(d);
}
END_TEST

static md_err build_many(md_builder *b, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    md_err e = MD_OK;
    for (unsigned i = 0; i < 6 && !e; i++) e = md_b_region(b, 0x10000 * (i + 1), 0x100, 0x100 * i, 0, 0, 0, 0, 0);
    for (unsigned i = 0; i < 5 && !e; i++) e = md_b_module(b, 0x100000 * (i + 1), 0x1000, NULL, 0, 0);
    if (!e) e = md_b_region(b, UINT64_MAX - 0x10, 0x100, 0, 0, 0, 0, 0, 0);  /* wraps */
    if (!e) e = md_b_region(b, 0x900000, 0x100, sizeof g_buf, 0, 0, 0, 0, 0);  /* no bytes */
    return e;
}

START_TEST(caps_become_warnings)
{
    fill_buf();
    md_open_opts o = { .max_regions = 4, .max_modules = 2 };
    md_dump *d = open_with(build_many, &o);
    ck_assert_uint_eq(d->nregions, 4);
    ck_assert_uint_eq(d->nmodules, 2);
    ck_assert(has_warning(d, MD_W_LIMIT));
    ck_assert_ptr_null(d->process);   /* modules without a path name nothing */
    md_close(d);
    md_open_opts big = { 0 };
    d = open_with(build_many, &big);
    ck_assert_uint_eq(d->nregions, 6);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    ck_assert(!has_warning(d, MD_W_LIMIT));
    md_close(d);
}
END_TEST

static md_err build_truncated(md_builder *b, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    return md_b_region(b, 0x1000, 0x10000, sizeof g_buf - 0x100, 0, 0, 0, 0, 0);
}

START_TEST(builder_clamps_ranges_past_the_buffer)
{
    md_dump *d = open_with(build_truncated, NULL);
    ck_assert_uint_eq(d->nregions, 1);
    ck_assert_uint_eq(d->regions[0].size, 0x100);
    ck_assert(d->regions[0].flags & MD_R_TRUNCATED);
    md_close(d);
}
END_TEST

/* Strings planted in a raw dump at 0x10000. */
static md_dump *open_strings(uint8_t *buf, size_t len)
{
    md_open_opts o = { .raw_base = 0x10000, .has_raw_base = true, .force_format = MD_FMT_RAW };
    md_dump *d = NULL;
    ck_assert_int_eq(md_open_mem(buf, len, &o, &d, NULL, 0), MD_OK);
    return d;
}

START_TEST(cstr_respects_limits_and_holes)
{
    uint8_t buf[64];
    memset(buf, 'A', sizeof buf);
    memcpy(buf, "hello\0world", 12);
    md_dump *d = open_strings(buf, sizeof buf);
    char s[16];
    ck_assert_int_eq(md_read_cstr(d, 0x10000, s, sizeof s), 5);
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(md_read_cstr(d, 0x10006, s, 6), 5);
    ck_assert_str_eq(s, "world");
    ck_assert_int_eq(md_read_cstr(d, 0x10006, s, 5), -1);   /* no room for the terminator */
    ck_assert_str_eq(s, "worl");
    ck_assert_int_eq(md_read_cstr(d, 0x10020, s, sizeof s), -1);  /* A... runs to the end */
    ck_assert_uint_eq(strlen(s), 15);
    char big[128];
    ck_assert_int_eq(md_read_cstr(d, 0x10020, big, sizeof big), -1);  /* hole first */
    ck_assert_uint_eq(strlen(big), 32);
    ck_assert_int_eq(md_read_cstr(d, 0x20000, s, sizeof s), -1);
    ck_assert_str_eq(s, "");
    ck_assert_int_eq(md_read_cstr(d, 0x10000, s, 0), -1);
    md_close(d);
}
END_TEST

START_TEST(wstr_converts_and_replaces_bad_surrogates)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_put_utf16(&b, "C2: h\xc3\xa9llo \xf0\x9f\x98\x80");   /* é and an astral emoji */
    fx_put_u16(&b, 0);
    size_t bad = b.len;
    fx_put_u16(&b, 'a'); fx_put_u16(&b, 0xd800); fx_put_u16(&b, 'b');   /* lone high */
    fx_put_u16(&b, 0xdc00); fx_put_u16(&b, 0);                          /* lone low */
    size_t open_end = b.len;
    fx_put_u16(&b, 'x'); fx_put_u16(&b, 'y');                           /* no terminator */
    md_dump *d = open_strings(b.p, b.len);
    char s[64];
    ck_assert_int_eq(md_read_wstr_utf8(d, 0x10000, s, sizeof s), (long)strlen("C2: h\xc3\xa9llo \xf0\x9f\x98\x80"));
    ck_assert_str_eq(s, "C2: h\xc3\xa9llo \xf0\x9f\x98\x80");
    ck_assert_int_eq(md_read_wstr_utf8(d, 0x10000 + bad, s, sizeof s), 8);
    ck_assert_str_eq(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    ck_assert_int_eq(md_read_wstr_utf8(d, 0x10000 + open_end, s, sizeof s), -1);
    ck_assert_int_eq(md_read_wstr_utf8(d, 0x10000, s, 8), -1);
    ck_assert_uint_lt(strlen(s), 8);

    char o[8];
    ck_assert_int_eq(md_utf16le_to_utf8(b.p + bad, 10, o, sizeof o), -1);  /* needs 9 bytes */
    ck_assert_int_eq(md_utf16le_to_utf8(b.p + bad, 4, o, sizeof o), 4);
    ck_assert_str_eq(o, "a\xef\xbf\xbd");
    ck_assert_int_eq(md_utf16le_to_utf8(b.p, 3, o, sizeof o), 1);          /* odd byte ignored */
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(raw_input_gets_one_region_at_its_base)
{
    uint8_t buf[0x3000];
    fx_fill_noise(buf, sizeof buf, 5);
    ck_assert_int_eq(md_sniff(buf, sizeof buf), MD_FMT_RAW);
    md_open_opts o = { .raw_base = 0x7ff00000, .has_raw_base = true };
    md_dump *d = NULL;
    ck_assert_int_eq(md_open_mem(buf, sizeof buf, &o, &d, NULL, 0), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_RAW);
    ck_assert_uint_eq(d->nregions, 1);
    ck_assert_uint_eq(d->regions[0].va, 0x7ff00000);
    ck_assert_uint_eq(d->nruns, 1);
    ck_assert_uint_eq(d->nimages, 0);
    md_close(d);
    o.raw_base = UINT64_MAX - 0x10;
    char err[128];
    ck_assert_int_eq(md_open_mem(buf, sizeof buf, &o, &d, err, sizeof err), MD_E_ARG);
    ck_assert_ptr_null(d);
    ck_assert(err[0]);
    ck_assert_int_eq(md_open_mem(buf, 0, NULL, &d, err, sizeof err), MD_E_EMPTY);
}
END_TEST

static void small_pe(fx_buf *out, bool mapped)
{
    static uint8_t text[0x300], data[0x120];
    fx_fill_noise(text, sizeof text, 11);
    memcpy(data, "config\0", 7);
    fx_section s[2] = {
        { ".text", 0x1000, 0x300, text, sizeof text, 0x60000020 },
        { ".data", 0x2000, 0x2000, data, sizeof data, 0xc0000040 },
    };
    fx_pe pe = { .image_base = 0x400000, .entry_rva = 0x1000, .sections = s, .nsections = 2 };
    fx_pe_build(&pe, mapped, out);
}

START_TEST(pe_input_is_mapped_by_va_and_images_found)
{
    fx_buf b;
    fx_buf_init(&b);
    small_pe(&b, false);
    ck_assert_int_eq(md_sniff(b.p, b.len), MD_FMT_PE);
    md_dump *d = NULL;
    ck_assert_int_eq(md_open_mem(b.p, b.len, NULL, &d, NULL, 0), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_PE);
    ck_assert_int_eq(d->arch, MD_ARCH_X86);
    char s[16];
    ck_assert_int_eq(md_read_cstr(d, 0x402000, s, sizeof s), 6);
    ck_assert_str_eq(s, "config");
    ck_assert(d->regions[0].flags & MD_R_HAS_MZ);
    ck_assert_uint_eq(d->nimages, 1);
    ck_assert_int_eq(d->images[0].layout, MD_LAYOUT_MAPPED);
    md_close(d);
    fx_buf_free(&b);

    /* A dumped loaded image is raw memory at its ImageBase. */
    fx_buf_init(&b);
    small_pe(&b, true);
    ck_assert_int_eq(md_sniff(b.p, b.len), MD_FMT_RAW);
    ck_assert_int_eq(md_open_mem(b.p, b.len, NULL, &d, NULL, 0), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_RAW);
    ck_assert_uint_eq(d->regions[0].va, 0x400000);
    ck_assert_int_eq(md_read_cstr(d, 0x402000, s, sizeof s), 6);
    ck_assert_uint_eq(d->nimages, 1);
    ck_assert_int_eq(d->images[0].layout, MD_LAYOUT_MAPPED);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(files_open_and_fail_with_typed_errors)
{
    char path[512], err[128];
    md_dump *d = NULL;
    snprintf(path, sizeof path, "%s/empty.bin", tu_tmpdir());
    fx_buf b;
    fx_buf_init(&b);
    ck_assert(fx_write_file(path, &b));
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_E_EMPTY);
    ck_assert_ptr_null(d);
    snprintf(path, sizeof path, "%s/missing.bin", tu_tmpdir());
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_E_IO);
    ck_assert(strlen(err) > 0 && !strchr(err, '\n'));
    ck_assert_int_eq(md_open(tu_tmpdir(), NULL, &d, err, sizeof err), MD_E_IO);

    small_pe(&b, false);
    snprintf(path, sizeof path, "%s/payload.bin", tu_tmpdir());
    ck_assert(fx_write_file(path, &b));
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_PE);
    ck_assert_uint_eq(d->file_size, b.len);
    ck_assert_str_eq(d->process, "payload.bin");
    ck_assert_uint_eq(d->pid, 0);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(cuckoo_file_takes_pid_from_name)
{
    static uint8_t heap[0x2000];
    fx_fill_noise(heap, sizeof heap, 3);
    fx_region r[2] = { { .va = 0x200000, .data = heap, .size = 0x1000 },
                       { .va = 0x201000, .data = heap + 0x1000, .size = 0x1000 } };
    fx_process p = { .pid = 0, .regions = r, .nregions = 2 };
    fx_buf b;
    fx_buf_init(&b);
    fx_cuckoo(&p, &b);
    char path[512];
    snprintf(path, sizeof path, "%s/4242.dmp", tu_tmpdir());
    ck_assert(fx_write_file(path, &b));
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_CUCKOO);
    ck_assert_uint_eq(d->pid, 4242);
    md_close(d);
    snprintf(path, sizeof path, "%s/42x.dmp", tu_tmpdir());
    ck_assert(fx_write_file(path, &b));
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_uint_eq(d->pid, 0);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

START_TEST(sparse_4gib_raw_stays_small)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sparse.raw", tu_tmpdir());
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    const uint64_t size = 4ull << 30;
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    ck_assert_int_eq(pwrite(fd, "tail-marker", 11, (off_t)(size - 64)), 11);
    close(fd);
    long before = peak_rss_kib();
    md_dump *d = NULL;
    char err[128];
    md_open_opts o = { .raw_base = 0x10000000, .has_raw_base = true };
    ck_assert_int_eq(md_open(path, &o, &d, err, sizeof err), MD_OK);
    ck_assert_int_eq(d->format, MD_FMT_RAW);
    char s[32];
    ck_assert_int_eq(md_read_cstr(d, 0x10000000 + size - 64, s, sizeof s), 11);
    ck_assert_str_eq(s, "tail-marker");
    long after = peak_rss_kib();
    ck_assert_msg(after < 64 * 1024 || after - before < 64 * 1024, "peak RSS %ld KiB", after);
    md_close(d);
    unlink(path);
}
END_TEST

START_TEST(names_round_trip)
{
    for (int f = MD_FMT_RAW; f <= MD_FMT_ELFCORE; f++)
        ck_assert_int_eq(md_format_from_name(md_format_name((md_format)f)), f);
    ck_assert_int_eq(md_format_from_name("nonsense"), MD_FMT_UNKNOWN);
    ck_assert_str_eq(md_arch_name(MD_ARCH_AMD64), "amd64");
    ck_assert_str_eq(md_arch_name((md_arch)99), "unknown");
    ck_assert_str_eq(md_protect_str(MD_PAGE_EXECUTE_READWRITE | MD_PAGE_GUARD), "RWX");
    ck_assert_str_eq(md_protect_str(MD_PAGE_READONLY), "R");
    ck_assert_str_eq(md_protect_str(0), "?");
    ck_assert_str_eq(md_protect_str(MD_PAGE_NOACCESS), "NA");
    ck_assert_str_ne(md_strerror(MD_E_LIMIT), md_strerror(MD_E_CORRUPT));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("memdump");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sorted_and_runs_need_both_contiguities);
    tcase_add_test(tc, readers_cross_adjacent_regions_and_stop_at_holes);
    tcase_add_test(tc, overlaps_are_trimmed_with_a_warning);
    tcase_add_test(tc, labels_split_and_flag_regions);
    tcase_add_test(tc, caps_become_warnings);
    tcase_add_test(tc, builder_clamps_ranges_past_the_buffer);
    tcase_add_test(tc, cstr_respects_limits_and_holes);
    tcase_add_test(tc, wstr_converts_and_replaces_bad_surrogates);
    tcase_add_test(tc, raw_input_gets_one_region_at_its_base);
    tcase_add_test(tc, pe_input_is_mapped_by_va_and_images_found);
    tcase_add_test(tc, files_open_and_fail_with_typed_errors);
    tcase_add_test(tc, cuckoo_file_takes_pid_from_name);
    tcase_add_test(tc, sparse_4gib_raw_stays_small);
    tcase_add_test(tc, names_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
