/* CAPE/Cuckoo process dump reader: round trip through the fixture writer, reads across records,
 * the result-server cut (a sparse 100,000,015-byte file), truncation and desynchronised chains. */
#include "fixtures/fx.h"
#include "md_internal.h"
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RS_LIMIT 100000000ull
static const char trailer[] = "... (truncated)";

static uint8_t text[0x2000], data[0x1000], heap[0x1000], shell[0x1000];

static const fx_region regions[] = {
    { .va = 0x7ff6a0000000, .data = shell, .size = sizeof shell, .protect = MD_PAGE_EXECUTE_READWRITE },
    { .va = 0x400000, .data = text, .size = sizeof text, .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE },
    { .va = 0x402000, .data = data, .size = sizeof data, .protect = MD_PAGE_READWRITE, .type = MD_MEM_IMAGE },
    { .va = 0x10000, .data = heap, .size = sizeof heap, .protect = MD_PAGE_READONLY, .type = MD_MEM_MAPPED },
};

static void fill(void)
{
    fx_fill_noise(text, sizeof text, 1);
    fx_fill_noise(data, sizeof data, 2);
    fx_fill_noise(heap, sizeof heap, 3);
    fx_fill_noise(shell, sizeof shell, 4);
}

static void make(fx_buf *b)
{
    fill();
    fx_process p = { .pid = 77, .regions = regions, .nregions = 4 };
    fx_buf_init(b);
    fx_cuckoo(&p, b);
}

static bool has_warning(const md_dump *d, uint32_t code)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code) return true;
    return false;
}

static md_dump *open_buf(const fx_buf *b)
{
    md_dump *d = NULL;
    char err[256];
    md_err e = md_open_mem(b->p, b->len, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open_mem: %s (%s)", md_strerror(e), err);
    return d;
}

/* One header as capemon writes it. */
static void put_rec(fx_buf *b, uint64_t va, uint32_t size, uint32_t protect, const void *bytes)
{
    fx_put_u64(b, va);
    fx_put_u32(b, size);
    fx_put_u32(b, MD_MEM_COMMIT);
    fx_put_u32(b, MD_MEM_PRIVATE);
    fx_put_u32(b, protect);
    if (bytes) fx_put(b, bytes, size);
}

START_TEST(round_trip)
{
    fx_buf b;
    make(&b);
    ck_assert_int_eq(md_sniff(b.p, b.len), MD_FMT_CUCKOO);
    md_dump *d = open_buf(&b);
    ck_assert_int_eq(d->format, MD_FMT_CUCKOO);
    ck_assert_uint_eq(d->nregions, 4);
    ck_assert_uint_eq(d->nwarnings, 0);
    ck_assert_int_eq(d->arch, MD_ARCH_AMD64);
    ck_assert_uint_eq(d->pid, 0); /* no file name to take it from */
    static const uint64_t want_va[] = { 0x10000, 0x400000, 0x402000, 0x7ff6a0000000 };
    static const int src[] = { 3, 1, 2, 0 };
    for (size_t i = 0; i < 4; i++) {
        const md_region *r = &d->regions[i];
        const fx_region *f = &regions[src[i]];
        ck_assert_uint_eq(r->va, want_va[i]);
        ck_assert_uint_eq(r->size, f->size);
        ck_assert_uint_eq(r->protect, f->protect);
        ck_assert_uint_eq(r->type, f->type ? f->type : MD_MEM_PRIVATE);
        ck_assert_uint_eq(r->state, MD_MEM_COMMIT);
        ck_assert_uint_eq(r->alloc_base, 0);
        ck_assert(!(r->flags & MD_R_TRUNCATED));
        const uint8_t *p = md_ptr(d, r->va, r->size);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(memcmp(p, f->data, f->size), 0);
    }
    ck_assert(d->regions[3].flags & MD_R_EXEC);
    ck_assert(d->regions[3].flags & MD_R_WRITE);
    ck_assert(!(d->regions[0].flags & MD_R_WRITE));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* Records 0x400000 and 0x402000 are VA-adjacent but a header sits between their bytes. */
START_TEST(read_across_records)
{
    fx_buf b;
    make(&b);
    md_dump *d = open_buf(&b);
    uint8_t got[32], want[32];
    memcpy(want, text + sizeof text - 16, 16);
    memcpy(want + 16, data, 16);
    ck_assert_uint_eq(md_read(d, 0x401ff0, got, sizeof got), sizeof got);
    ck_assert_int_eq(memcmp(got, want, sizeof got), 0);
    ck_assert_ptr_null(md_ptr(d, 0x401ff0, sizeof got));
    ck_assert_uint_eq(md_avail(d, 0x400000), 0x3000);
    ck_assert_uint_eq(md_avail(d, 0x403000), 0);
    /* Past the end of the adjacent pair the read stops at the hole. */
    ck_assert_uint_eq(md_read(d, 0x402ff8, got, sizeof got), 8);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(sniff_rejects_other_inputs)
{
    uint8_t noise[65536], zeros[4096] = { 0 };
    fx_fill_noise(noise, sizeof noise, 99);
    ck_assert(!md_sniff_cuckoo(noise, sizeof noise));
    ck_assert(!md_sniff_cuckoo(zeros, sizeof zeros));
    fill();
    fx_process p = { .pid = 5, .arch = MD_ARCH_AMD64, .regions = regions, .nregions = 4 };
    fx_buf b;
    fx_buf_init(&b);
    fx_elfcore(&p, 64, 0, &b);
    ck_assert(!md_sniff_cuckoo(b.p, b.len));
    b.len = 0;
    fx_minidump(&p, FX_MD_FULL, &b);
    ck_assert(!md_sniff_cuckoo(b.p, b.len));
    /* The opening of an ordinary PE file, then padding. */
    static const uint8_t mz[64] = { 'M', 'Z', 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0,
                                    0xb8, [60] = 0x80 };
    b.len = 0;
    fx_put(&b, mz, sizeof mz);
    fx_put_zeros(&b, 4096);
    ck_assert(!md_sniff_cuckoo(b.p, b.len));
    /* A plausible-looking first header followed by zeros is still not a chain. */
    b.len = 0;
    put_rec(&b, 0x1000, 16, 0, NULL);
    fx_put_zeros(&b, 4096);
    ck_assert(!md_sniff_cuckoo(b.p, b.len));
    fx_buf_free(&b);
}
END_TEST

/* Build `<tmp>/1234.dmp`: a small record, then a 256 MiB record the result server cut at
 * 100,000,000 bytes and marked. Sparse, so it costs nothing on disk. */
static const char *write_cut_dump(bool with_trailer, uint64_t *cut_va, uint64_t *cut_size)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/1234.dmp", tu_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    fx_buf b;
    fx_buf_init(&b);
    put_rec(&b, 0x10000, sizeof heap, MD_PAGE_READWRITE, heap);
    put_rec(&b, 0x20000000, 0x10000000, MD_PAGE_EXECUTE_READWRITE, NULL);
    ck_assert_int_eq(pwrite(fd, b.p, b.len, 0), (ssize_t)b.len);
    static const char tail[] = "END-OF-KEPT-BYTES";
    uint64_t tail_off = RS_LIMIT - (sizeof tail - 1);
    ck_assert_int_eq(pwrite(fd, tail, sizeof tail - 1, (off_t)tail_off), (ssize_t)(sizeof tail - 1));
    ck_assert_int_eq(ftruncate(fd, (off_t)RS_LIMIT), 0);
    if (with_trailer)
        ck_assert_int_eq(pwrite(fd, trailer, 15, (off_t)RS_LIMIT), 15);
    close(fd);
    *cut_va = 0x20000000;
    *cut_size = RS_LIMIT - b.len;
    fx_buf_free(&b);
    return path;
}

START_TEST(resultserver_cut)
{
    fill();
    uint64_t va, size;
    const char *path = write_cut_dump(true, &va, &size);
    md_dump *d = NULL;
    char err[256];
    md_err e = md_open(path, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open: %s", err);
    ck_assert_int_eq(d->format, MD_FMT_CUCKOO);
    ck_assert_uint_eq(d->pid, 1234);
    ck_assert_uint_eq(d->len, RS_LIMIT + 15);
    ck_assert_uint_eq(d->nregions, 2);
    const md_region *r = &d->regions[1];
    ck_assert_uint_eq(r->va, va);
    ck_assert_uint_eq(r->size, size);
    ck_assert(r->flags & MD_R_TRUNCATED);
    ck_assert(!(d->regions[0].flags & MD_R_TRUNCATED));
    ck_assert(has_warning(d, MD_W_RESULTSERVER_TRUNC));
    char got[17];
    ck_assert_uint_eq(md_read(d, va + size - 17, got, 17), 17);
    ck_assert_int_eq(memcmp(got, "END-OF-KEPT-BYTES", 17), 0);
    ck_assert_uint_eq(md_avail(d, va + size), 0); /* the marker is not memory */
    md_close(d);
}
END_TEST

START_TEST(truncated_without_trailer)
{
    fill();
    uint64_t va, size;
    const char *path = write_cut_dump(false, &va, &size);
    md_dump *d = NULL;
    char err[256];
    ck_assert_int_eq(md_open(path, NULL, &d, err, sizeof err), MD_OK);
    ck_assert_uint_eq(d->regions[1].size, size);
    ck_assert(d->regions[1].flags & MD_R_TRUNCATED);
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    ck_assert(!has_warning(d, MD_W_RESULTSERVER_TRUNC));
    md_close(d);
}
END_TEST

/* A cut that lands exactly on a record boundary leaves a whole chain plus the marker. */
START_TEST(trailer_after_whole_record)
{
    fx_buf b;
    make(&b);
    fx_put(&b, trailer, 15);
    md_dump *d = open_buf(&b);
    ck_assert_uint_eq(d->nregions, 4);
    ck_assert(has_warning(d, MD_W_RESULTSERVER_TRUNC));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* The marker text inside a complete record is data, not a cut. */
START_TEST(trailer_text_as_data)
{
    fx_buf b;
    make(&b);
    uint8_t last[64];
    memset(last, 'A', sizeof last);
    memcpy(last + sizeof last - 15, trailer, 15);
    put_rec(&b, 0x7ff6b0000000, sizeof last, MD_PAGE_READWRITE, last);
    md_dump *d = open_buf(&b);
    ck_assert_uint_eq(d->nregions, 5);
    ck_assert_uint_eq(d->nwarnings, 0);
    ck_assert_uint_eq(d->regions[4].size, sizeof last);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(garbage_after_records)
{
    fx_buf b;
    make(&b);
    uint8_t junk[200];
    memset(junk, 0xff, sizeof junk);
    fx_put(&b, junk, sizeof junk);
    md_dump *d = open_buf(&b);
    ck_assert_int_eq(d->format, MD_FMT_CUCKOO);
    ck_assert_uint_eq(d->nregions, 4);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    ck_assert_uint_eq(d->regions[3].size, sizeof shell);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(garbage_first_record)
{
    uint8_t junk[256];
    fx_fill_noise(junk, sizeof junk, 7);
    md_open_opts o = { .force_format = MD_FMT_CUCKOO };
    md_dump *d = NULL;
    char err[256] = "";
    ck_assert_int_eq(md_open_mem(junk, sizeof junk, &o, &d, err, sizeof err), MD_E_CORRUPT);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(err, "cuckoo record at offset 0") != NULL, "message: %s", err);
}
END_TEST

START_TEST(zero_size_records_skipped)
{
    fx_buf b;
    fx_buf_init(&b);
    fill();
    put_rec(&b, 0x10000, sizeof heap, MD_PAGE_READWRITE, heap);
    put_rec(&b, 0x11000, 0, MD_PAGE_READWRITE, NULL);
    put_rec(&b, 0x11000, 0, MD_PAGE_READWRITE, NULL);
    put_rec(&b, 0x20000, sizeof data, MD_PAGE_READWRITE, data);
    md_open_opts o = { .force_format = MD_FMT_CUCKOO };
    md_dump *d = NULL;
    char err[256];
    ck_assert_int_eq(md_open_mem(b.p, b.len, &o, &d, err, sizeof err), MD_OK);
    ck_assert_uint_eq(d->nregions, 2);
    ck_assert_uint_eq(d->regions[1].va, 0x20000);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* The same address twice, and a record inside an earlier one: the core trims, nothing loops. */
START_TEST(duplicate_and_overlapping_records)
{
    fx_buf b;
    fx_buf_init(&b);
    fill();
    put_rec(&b, 0x10000, sizeof heap, MD_PAGE_READWRITE, heap);
    put_rec(&b, 0x10000, sizeof heap, MD_PAGE_READWRITE, heap);
    put_rec(&b, 0x400000, sizeof text, MD_PAGE_EXECUTE_READ, text);
    put_rec(&b, 0x401000, sizeof data, MD_PAGE_READWRITE, data);
    md_dump *d = open_buf(&b);
    ck_assert(has_warning(d, MD_W_OVERLAP));
    for (size_t i = 1; i < d->nregions; i++)
        ck_assert_uint_ge(d->regions[i].va, d->regions[i - 1].va + d->regions[i - 1].size);
    uint8_t got[16];
    ck_assert_uint_eq(md_read(d, 0x10000, got, sizeof got), sizeof got);
    ck_assert_int_eq(memcmp(got, heap, sizeof got), 0);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cuckoo");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, read_across_records);
    tcase_add_test(tc, sniff_rejects_other_inputs);
    tcase_add_test(tc, resultserver_cut);
    tcase_add_test(tc, truncated_without_trailer);
    tcase_add_test(tc, trailer_after_whole_record);
    tcase_add_test(tc, trailer_text_as_data);
    tcase_add_test(tc, garbage_after_records);
    tcase_add_test(tc, garbage_first_record);
    tcase_add_test(tc, zero_size_records_skipped);
    tcase_add_test(tc, duplicate_and_overlapping_records);
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
