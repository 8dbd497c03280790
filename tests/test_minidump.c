/* Minidump reader: round trips through the fixture writer, then hostile variants made by patching
 * a valid dump. Each hostile input must give a typed error or a partial model with a warning. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/fx.h"
#include "memdump.h"
#include "testutil.h"

enum { ST_THREAD = 3, ST_MODULE = 4, ST_MEMLIST = 5, ST_SYSINFO = 7, ST_MEM64 = 9,
       ST_MISC = 15, ST_MEMINFO = 16 };

#define PID 4242u
#define VA_A 0x10000ull      /* image header page */
#define VA_B 0x11000ull      /* image code, VA-adjacent to A */
#define VA_HEAP 0x200000ull
#define VA_SHELL 0x5000000ull
#define VA_STACK 0x7ff0000ull
#define NREG 5

static uint8_t data_a[0x1000], data_b[0x2000], data_heap[0x1000], data_shell[0x1000],
    data_stack[0x3000];

static const char *const PATH_APP = "C:\\Program Files\\Ünïcödé\\app.exe";
static const char *const PATH_EMOJI = "C:\\tmp\\\xF0\x9F\x98\x80-plugin.dll";   /* U+1F600 */
static const char *const PATH_NTDLL = "C:\\Windows\\System32\\ntdll.dll";

static const fx_region regions[NREG] = {
    /* Deliberately unsorted: the writer must sort like a real one. */
    { VA_STACK, data_stack, sizeof data_stack, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0x7fe0000 },
    { VA_B, data_b, sizeof data_b, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, VA_A },
    { VA_A, data_a, sizeof data_a, MD_PAGE_READONLY, MD_MEM_IMAGE, VA_A },
    { VA_SHELL, data_shell, sizeof data_shell, MD_PAGE_EXECUTE_READWRITE, MD_MEM_PRIVATE, 0 },
    { VA_HEAP, data_heap, sizeof data_heap, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0 },
};
/* Sorted view of the above, as the model must present it. */
static const fx_region *sorted[NREG] = { &regions[2], &regions[1], &regions[4], &regions[3],
                                         &regions[0] };

static const fx_module modules[] = {
    { VA_A, 0x3000, NULL },
    { 0x7ff00000ull, 0x1000, NULL },
    { 0x400000ull, 0x2000, NULL },
};

static fx_module mods[3];
static fx_process proc;

static void init_data(void)
{
    fx_fill_noise(data_a, sizeof data_a, 1);
    fx_fill_noise(data_b, sizeof data_b, 2);
    fx_fill_noise(data_heap, sizeof data_heap, 3);
    fx_fill_noise(data_shell, sizeof data_shell, 4);
    fx_fill_noise(data_stack, sizeof data_stack, 5);
    memcpy(data_a, "MZ", 2);
    /* A marker straddling the A/B boundary, readable only across regions. */
    memcpy(data_a + sizeof data_a - 6, "config", 6);
    memcpy(data_b, "=198.51.100.7", 13);
    memcpy(mods, modules, sizeof mods);
    mods[0].path = PATH_APP;
    mods[1].path = PATH_NTDLL;
    mods[2].path = PATH_EMOJI;
    proc = (fx_process){ .pid = PID, .arch = MD_ARCH_AMD64, .regions = regions, .nregions = NREG,
                         .modules = mods, .nmodules = 3 };
}

/* ---- helpers ---- */

static uint32_t rd32(const fx_buf *b, size_t off)
{
    ck_assert_uint_le(off + 4, b->len);
    const uint8_t *p = b->p + off;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const fx_buf *b, size_t off) { return rd32(b, off) | (uint64_t)rd32(b, off + 4) << 32; }

/* Directory slot of the first stream of this type, or -1. */
static int slot_of(const fx_buf *b, uint32_t type)
{
    uint32_t n = rd32(b, 8), dir = rd32(b, 12);
    for (uint32_t i = 0; i < n; i++)
        if (rd32(b, dir + 12 * i) == type)
            return (int)i;
    return -1;
}

static size_t stream_rva(const fx_buf *b, uint32_t type)
{
    int s = slot_of(b, type);
    ck_assert_int_ge(s, 0);
    return rd32(b, rd32(b, 12) + 12 * (uint32_t)s + 8);
}

static size_t slot_off(const fx_buf *b, uint32_t type)
{
    int s = slot_of(b, type);
    ck_assert_int_ge(s, 0);
    return rd32(b, 12) + 12 * (size_t)s;
}

/* Append a stream body and move the directory to the end of the file with one more entry. */
static void append_stream(fx_buf *b, uint32_t type, const void *body, size_t len)
{
    uint32_t n = rd32(b, 8), dir = rd32(b, 12);
    fx_align(b, 4);
    size_t rva = b->len;
    fx_put(b, body, len);
    fx_align(b, 4);
    size_t newdir = b->len;
    fx_put(b, b->p + dir, 12 * (size_t)n);
    fx_put_u32(b, type);
    fx_put_u32(b, (uint32_t)len);
    fx_put_u32(b, (uint32_t)rva);
    fx_set_u32(b, 8, n + 1);
    fx_set_u32(b, 12, (uint32_t)newdir);
}

static void make(unsigned flags, fx_buf *b)
{
    fx_buf_init(b);
    fx_minidump(&proc, flags, b);
}

static md_dump *open_ok(const fx_buf *b)
{
    md_dump *d = NULL;
    char err[256] = "";
    md_err e = md_open_mem(b->p, b->len, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open_mem: %s (%s)", md_strerror(e), err);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->format, MD_FMT_MINIDUMP);
    return d;
}

static md_err open_err(const fx_buf *b, char *err, size_t errlen)
{
    md_dump *d = (md_dump *)1;
    md_err e = md_open_mem(b->p, b->len, NULL, &d, err, errlen);
    ck_assert_int_ne(e, MD_OK);
    ck_assert_ptr_null(d);
    return e;
}

static bool has_warning(const md_dump *d, uint32_t code)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code)
            return true;
    return false;
}

/* The model invariants every result must keep, whatever the input. */
static void check_model(const md_dump *d)
{
    for (size_t i = 0; i < d->nregions; i++) {
        const md_region *r = &d->regions[i];
        ck_assert_uint_gt(r->size, 0);
        ck_assert_uint_le(r->off, d->len);
        ck_assert_uint_le(r->size, d->len - r->off);
        ck_assert_uint_le(r->size - 1, UINT64_MAX - r->va);
        if (i > 0)
            ck_assert_uint_le(d->regions[i - 1].va + d->regions[i - 1].size, r->va);
    }
    for (size_t i = 0; i < d->nmodules; i++)
        ck_assert_ptr_nonnull(d->modules[i].path);
}

static void check_region_bytes(const md_dump *d, const fx_region *want)
{
    const md_region *r = md_region_at(d, want->va);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->va, want->va);
    ck_assert_uint_eq(r->size, want->size);
    ck_assert_int_eq(memcmp(d->buf + r->off, want->data, want->size), 0);
}

static void check_all_regions(const md_dump *d)
{
    ck_assert_uint_eq(d->nregions, NREG);
    for (size_t i = 0; i < NREG; i++) {
        ck_assert_uint_eq(d->regions[i].va, sorted[i]->va);
        check_region_bytes(d, sorted[i]);
    }
    check_model(d);
}

/* ---- round trips ---- */

START_TEST(full_round_trip)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert_uint_eq(d->nwarnings, 0);
    ck_assert_int_eq(d->arch, MD_ARCH_AMD64);
    ck_assert_uint_eq(d->pid, PID);
    ck_assert_uint_eq(d->bytes, 0x8000);
    /* Full-dump data is packed at the end of the file, in VA order. */
    ck_assert_uint_eq(d->regions[NREG - 1].off + d->regions[NREG - 1].size, b.len);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(full_reads_across_adjacent_ranges)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    md_dump *d = open_ok(&b);
    char s[20] = { 0 };
    ck_assert_uint_eq(md_read(d, VA_B - 6, s, 19), 19);
    ck_assert_str_eq(s, "config=198.51.100.7");
    /* A and B are adjacent in VA and in the file: one run, one zero-copy pointer. */
    const uint8_t *p = md_ptr(d, VA_B - 6, 19);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(memcmp(p, "config=198.51.100.7", 19), 0);
    const md_run *run = md_run_at(d, VA_A);
    ck_assert_ptr_nonnull(run);
    ck_assert_uint_eq(run->va, VA_A);
    ck_assert_uint_eq(run->size, 0x3000);
    ck_assert_uint_eq(run->nregions, 2);
    ck_assert_uint_eq(d->nruns, NREG - 1);
    /* The hole after B stops a read. */
    uint8_t tmp[0x20];
    ck_assert_uint_eq(md_read(d, VA_B + 0x2000 - 0x10, tmp, sizeof tmp), 0x10);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(full_labels)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    md_dump *d = open_ok(&b);
    for (size_t i = 0; i < NREG; i++) {
        const md_region *r = md_region_at(d, sorted[i]->va);
        ck_assert_uint_eq(r->protect, sorted[i]->protect);
        ck_assert_uint_eq(r->type, sorted[i]->type);
        ck_assert_uint_eq(r->state, MD_MEM_COMMIT);
        ck_assert_uint_eq(r->alloc_base, sorted[i]->alloc_base ? sorted[i]->alloc_base : sorted[i]->va);
        ck_assert(!(r->flags & MD_R_PROT_UNKNOWN));
    }
    ck_assert(md_region_at(d, VA_SHELL)->flags & MD_R_EXEC);
    ck_assert(md_region_at(d, VA_SHELL)->flags & MD_R_WRITE);
    ck_assert(!(md_region_at(d, VA_HEAP)->flags & MD_R_EXEC));
    ck_assert(md_region_at(d, VA_B)->flags & MD_R_IMAGE);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(modules_and_paths)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nmodules, 3);
    /* The model sorts modules by base. */
    ck_assert_uint_eq(d->modules[0].base, VA_A);
    ck_assert_uint_eq(d->modules[0].size, 0x3000);
    ck_assert_str_eq(d->modules[0].path, PATH_APP);
    ck_assert_uint_eq(d->modules[1].base, 0x400000);
    ck_assert_str_eq(d->modules[1].path, PATH_EMOJI);
    ck_assert_uint_eq(d->modules[2].base, 0x7ff00000);
    ck_assert_str_eq(d->modules[2].path, PATH_NTDLL);
    ck_assert_int_eq(md_region_at(d, VA_B)->module, 0);
    ck_assert_int_eq(md_region_at(d, VA_HEAP)->module, -1);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(threads_and_stack)
{
    static const unsigned flavours[] = { FX_MD_FULL, FX_MD_PARTIAL, FX_MD_BOTH };
    for (size_t f = 0; f < 3; f++) {
        fx_buf b;
        make(flavours[f], &b);
        md_dump *d = open_ok(&b);
        ck_assert_uint_eq(d->nthreads, 1);
        ck_assert_uint_eq(d->threads[0].tid, PID + 4);
        ck_assert_uint_eq(d->threads[0].stack_va, VA_STACK);
        ck_assert_uint_eq(d->threads[0].stack_size, sizeof data_stack);
        ck_assert_uint_eq(d->threads[0].teb, VA_STACK + sizeof data_stack);
        ck_assert(md_region_at(d, VA_STACK)->flags & MD_R_STACK);
        ck_assert(!(md_region_at(d, VA_HEAP)->flags & MD_R_STACK));
        md_close(d);
        fx_buf_free(&b);
    }
}
END_TEST

START_TEST(partial_round_trip)
{
    fx_buf b;
    make(FX_MD_PARTIAL, &b);
    ck_assert_int_lt(slot_of(&b, ST_MEM64), 0);
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert(has_warning(d, MD_W_SMALL_DUMP));
    ck_assert(!has_warning(d, MD_W_TRUNCATED));
    ck_assert_uint_eq(md_region_at(d, VA_SHELL)->protect, MD_PAGE_EXECUTE_READWRITE);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(both_round_trip)
{
    fx_buf b;
    make(FX_MD_BOTH, &b);
    ck_assert_int_ge(slot_of(&b, ST_MEM64), 0);
    ck_assert_int_ge(slot_of(&b, ST_MEMLIST), 0);
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert(!has_warning(d, MD_W_SMALL_DUMP));
    ck_assert(!has_warning(d, MD_W_OVERLAP));
    char s[20] = { 0 };
    ck_assert_uint_eq(md_read(d, VA_B - 6, s, 19), 19);
    ck_assert_str_eq(s, "config=198.51.100.7");
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(no_meminfo)
{
    fx_buf b;
    make(FX_MD_FULL | FX_MD_NO_MEMINFO, &b);
    ck_assert_int_lt(slot_of(&b, ST_MEMINFO), 0);
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    for (size_t i = 0; i < d->nregions; i++) {
        ck_assert_uint_eq(d->regions[i].protect, 0);
        ck_assert(d->regions[i].flags & MD_R_PROT_UNKNOWN);
    }
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(no_modules)
{
    fx_buf b;
    make(FX_MD_PARTIAL | FX_MD_NO_MODULES, &b);
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert_uint_eq(d->nmodules, 0);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(list_padding)
{
    static const unsigned flavours[] = { FX_MD_PARTIAL, FX_MD_BOTH, FX_MD_FULL };
    for (size_t f = 0; f < 3; f++) {
        fx_buf b;
        make(flavours[f] | FX_MD_LIST_PAD, &b);
        /* The writer really padded: module list body is 8 + 108 n. */
        ck_assert_uint_eq(rd32(&b, slot_off(&b, ST_MODULE) + 4), 8 + 108 * 3);
        md_dump *d = open_ok(&b);
        check_all_regions(d);
        ck_assert_uint_eq(d->nmodules, 3);
        ck_assert_str_eq(d->modules[0].path, PATH_APP);
        ck_assert_uint_eq(d->nthreads, 1);
        ck_assert_uint_eq(d->threads[0].stack_va, VA_STACK);
        ck_assert(!has_warning(d, MD_W_BAD_RECORD));
        md_close(d);
        fx_buf_free(&b);
    }
}
END_TEST

START_TEST(arch_and_pid)
{
    static const struct { int arch; uint16_t win; } arches[] = {
        { MD_ARCH_X86, 0 }, { MD_ARCH_AMD64, 9 }, { MD_ARCH_ARM, 5 }, { MD_ARCH_ARM64, 12 },
    };
    for (size_t i = 0; i < 4; i++) {
        fx_process p = proc;
        p.arch = arches[i].arch;
        p.pid = (uint32_t)(100 + i);
        fx_buf b;
        fx_buf_init(&b);
        fx_minidump(&p, FX_MD_PARTIAL, &b);
        ck_assert_uint_eq(rd32(&b, stream_rva(&b, ST_SYSINFO)) & 0xffff, arches[i].win);
        md_dump *d = open_ok(&b);
        ck_assert_int_eq(d->arch, arches[i].arch);
        ck_assert_uint_eq(d->pid, 100 + i);
        md_close(d);
        /* Without MINIDUMP_MISC1_PROCESS_ID the ProcessId field is not trusted. */
        fx_set_u32(&b, stream_rva(&b, ST_MISC) + 4, 0);
        d = open_ok(&b);
        ck_assert_uint_eq(d->pid, 0);
        md_close(d);
        fx_buf_free(&b);
    }
}
END_TEST

START_TEST(open_from_file)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    char path[4096];
    snprintf(path, sizeof path, "%s/full.dmp", tu_tmpdir());
    ck_assert(fx_write_file(path, &b));
    md_dump *d = NULL;
    char err[256] = "";
    md_err e = md_open(path, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open: %s", err);
    ck_assert_int_eq(d->format, MD_FMT_MINIDUMP);
    ck_assert_uint_eq(d->file_size, b.len);
    check_all_regions(d);
    ck_assert_uint_eq(d->nmodules, 3);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* ---- hostile inputs ---- */

START_TEST(truncated_header)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    b.len = 12;
    char err[256] = "";
    ck_assert_int_eq(open_err(&b, err, sizeof err), MD_E_TRUNCATED);
    ck_assert_str_eq(err, "minidump header truncated (12 of 32 bytes)");
    fx_buf_free(&b);
}
END_TEST

START_TEST(directory_past_eof)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    char err[256] = "";
    fx_set_u32(&b, 8, 0xffffffffu);   /* NumberOfStreams */
    ck_assert_int_eq(open_err(&b, err, sizeof err), MD_E_CORRUPT);
    ck_assert_str_eq(err, "minidump stream directory points past end of file");
    fx_set_u32(&b, 8, 7);
    fx_set_u32(&b, 12, 0xfffffff0u);  /* StreamDirectoryRva */
    ck_assert_int_eq(open_err(&b, err, sizeof err), MD_E_CORRUPT);
    ck_assert_str_eq(err, "minidump stream directory points past end of file");
    fx_buf_free(&b);
}
END_TEST

START_TEST(memory_stream_past_eof)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    int s = slot_of(&b, ST_MEM64);
    fx_set_u32(&b, slot_off(&b, ST_MEM64) + 8, 0xffffff00u);
    char err[256], want[80];
    ck_assert_int_eq(open_err(&b, err, sizeof err), MD_E_CORRUPT);
    snprintf(want, sizeof want, "minidump stream %d points past end of file", s);
    ck_assert_str_eq(err, want);
    /* Starting inside the file but running past its end: the file was cut. */
    fx_set_u32(&b, slot_off(&b, ST_MEM64) + 8, (uint32_t)b.len - 8);
    ck_assert_int_eq(open_err(&b, err, sizeof err), MD_E_TRUNCATED);
    ck_assert_str_eq(err, want);
    fx_buf_free(&b);
}
END_TEST

START_TEST(other_stream_past_eof)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    fx_set_u32(&b, slot_off(&b, ST_MODULE) + 4, 0x7fffffffu);   /* DataSize */
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert_uint_eq(d->nmodules, 0);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(truncated_full_dump)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    /* Memory is packed in VA order at the end; cut 0x800 bytes into the shellcode region. */
    uint64_t base = rd64(&b, stream_rva(&b, ST_MEM64) + 8);
    uint64_t shell_off = base + 0x1000 + 0x2000 + 0x1000;
    b.len = shell_off + 0x800;
    md_dump *d = open_ok(&b);
    check_model(d);
    ck_assert_uint_eq(d->nregions, 4);
    for (size_t i = 0; i < 3; i++) {
        check_region_bytes(d, sorted[i]);
        ck_assert(!(d->regions[i].flags & MD_R_TRUNCATED));
    }
    const md_region *r = &d->regions[3];
    ck_assert_uint_eq(r->va, VA_SHELL);
    ck_assert_uint_eq(r->size, 0x800);
    ck_assert(r->flags & MD_R_TRUNCATED);
    ck_assert_int_eq(memcmp(d->buf + r->off, data_shell, 0x800), 0);
    ck_assert_ptr_null(md_region_at(d, VA_STACK));
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    /* Labels and modules in front of the memory survive. */
    ck_assert_uint_eq(r->protect, MD_PAGE_EXECUTE_READWRITE);
    ck_assert_uint_eq(d->nmodules, 3);
    md_close(d);

    /* Cut exactly at a range boundary: nothing clamped, later ranges lost. */
    b.len = shell_off;
    d = open_ok(&b);
    ck_assert_uint_eq(d->nregions, 3);
    ck_assert(!(d->regions[2].flags & MD_R_TRUNCATED));
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

static void check_huge_count(unsigned flavour, uint32_t type, size_t count_at_delta, uint64_t count,
                             bool u64)
{
    fx_buf b;
    make(flavour, &b);
    size_t at = stream_rva(&b, type) + count_at_delta;
    if (u64)
        fx_set_u64(&b, at, count);
    else
        fx_set_u32(&b, at, (uint32_t)count);
    md_dump *d = open_ok(&b);
    check_model(d);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    if (type != ST_MEMINFO)
        ck_assert_uint_eq(d->nregions, NREG);
    md_close(d);
    fx_buf_free(&b);
}

START_TEST(huge_counts)
{
    check_huge_count(FX_MD_FULL, ST_MEM64, 0, 0xffffffffull, true);
    check_huge_count(FX_MD_FULL, ST_MEM64, 0, 1ull << 63, true);
    check_huge_count(FX_MD_FULL, ST_MEM64, 0, UINT64_MAX, true);
    check_huge_count(FX_MD_PARTIAL, ST_MEMLIST, 0, 0xffffffffull, false);
    check_huge_count(FX_MD_FULL, ST_MODULE, 0, 0xffffffffull, false);
    check_huge_count(FX_MD_FULL, ST_THREAD, 0, 0xffffffffull, false);
    check_huge_count(FX_MD_FULL, ST_MEMINFO, 8, 1ull << 63, true);
}
END_TEST

START_TEST(overlapping_ranges)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    /* Move the heap descriptor (index 2) to overlap the end of B. */
    size_t desc = stream_rva(&b, ST_MEM64) + 16 + 16 * 2;
    fx_set_u64(&b, desc, VA_B + 0x1800);
    md_dump *d = open_ok(&b);
    check_model(d);
    ck_assert(has_warning(d, MD_W_OVERLAP));
    check_region_bytes(d, sorted[1]);
    md_close(d);
    fx_buf_free(&b);

    /* Both lists: a MemoryList range over Memory64 memory loses to Memory64. */
    make(FX_MD_BOTH, &b);
    desc = stream_rva(&b, ST_MEMLIST) + 4;      /* first MemoryList entry: B */
    ck_assert_uint_eq(rd64(&b, desc), VA_B);
    fx_set_u64(&b, desc, VA_A + 0x800);         /* now covers A's upper half and 0x1800 more */
    d = open_ok(&b);
    check_model(d);
    ck_assert(has_warning(d, MD_W_OVERLAP));
    check_region_bytes(d, sorted[0]);            /* A intact, from Memory64 */
    /* What the moved range held past A is still there, starting at the end of A. */
    const md_region *r = md_region_at(d, VA_B);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(memcmp(d->buf + r->off, data_b + 0x800, 0x1800), 0);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(memory64_offset_overflow)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    size_t list = stream_rva(&b, ST_MEM64);
    /* Range 1 (B) claims almost 2^64 bytes: it is cut at EOF and the offsets after it wrap. */
    fx_set_u64(&b, list + 16 + 16 * 1 + 8, UINT64_MAX - 0x100);
    md_dump *d = open_ok(&b);
    check_model(d);
    check_region_bytes(d, sorted[0]);
    const md_region *r = md_region_at(d, VA_B);
    ck_assert_ptr_nonnull(r);
    ck_assert(r->flags & MD_R_TRUNCATED);
    ck_assert_ptr_null(md_region_at(d, VA_HEAP));
    ck_assert_ptr_null(md_region_at(d, VA_SHELL));
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    /* The stack's own thread descriptor still locates its bytes. */
    check_region_bytes(d, sorted[4]);
    md_close(d);
    fx_buf_free(&b);

    /* BaseRva near 2^64: no Memory64 range has bytes; only the thread's stack, which its own
     * descriptor locates, is recovered. */
    make(FX_MD_FULL, &b);
    fx_set_u64(&b, stream_rva(&b, ST_MEM64) + 8, UINT64_MAX - 0x10);
    d = open_ok(&b);
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    ck_assert_uint_eq(d->nregions, 1);
    check_region_bytes(d, sorted[4]);
    ck_assert(d->regions[0].flags & MD_R_STACK);
    md_close(d);
    fx_buf_free(&b);

    /* A range whose VA + size wraps the address space. */
    make(FX_MD_FULL, &b);
    fx_set_u64(&b, stream_rva(&b, ST_MEM64) + 16 + 16 * 4, UINT64_MAX - 0x10);
    d = open_ok(&b);
    check_model(d);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* Module list entry i's name RVA. */
static size_t name_rva(const fx_buf *b, size_t i)
{
    return rd32(b, stream_rva(b, ST_MODULE) + 4 + 108 * i + 20);
}

START_TEST(bad_strings)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    size_t s0 = name_rva(&b, 0), s1 = name_rva(&b, 1);
    uint32_t len0 = rd32(&b, s0);
    fx_set_u32(&b, s0, len0 - 1);                 /* odd */
    fx_set_u32(&b, s1, 0xffffffffu);              /* huge */
    fx_set_u32(&b, stream_rva(&b, ST_MODULE) + 4 + 108 * 2 + 20, 0xfffffff0u);   /* past EOF */
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert(has_warning(d, MD_W_BAD_STRING));
    ck_assert_uint_eq(d->nmodules, 3);
    /* Odd length: the last whole code unit is dropped, the rest of the path is kept. */
    ck_assert_uint_eq(d->modules[0].base, VA_A);
    ck_assert_uint_eq(strlen(d->modules[0].path), strlen(PATH_APP) - 1);
    ck_assert_int_eq(strncmp(d->modules[0].path, PATH_APP, strlen(PATH_APP) - 1), 0);
    /* Past EOF: empty name, module kept. */
    ck_assert_uint_eq(d->modules[1].base, 0x400000);
    ck_assert_str_eq(d->modules[1].path, "");
    /* Huge: the real name followed by at most MD_MAX_STRING units of whatever follows. */
    ck_assert_uint_eq(d->modules[2].base, 0x7ff00000);
    ck_assert_int_eq(strncmp(d->modules[2].path, PATH_NTDLL, strlen(PATH_NTDLL)), 0);
    ck_assert_uint_le(strlen(d->modules[2].path), 3 * MD_MAX_STRING);
    md_close(d);

    /* Huge length at the very end of the file: cut at EOF. */
    fx_buf_free(&b);
    make(FX_MD_PARTIAL, &b);
    fx_align(&b, 4);
    size_t at = b.len;
    fx_put_u32(&b, 0x7ffffffeu);
    fx_put_utf16(&b, "tail");
    fx_set_u32(&b, stream_rva(&b, ST_MODULE) + 4 + 20, (uint32_t)at);
    d = open_ok(&b);
    ck_assert_str_eq(d->modules[0].path, "tail");
    ck_assert(has_warning(d, MD_W_BAD_STRING));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

static bool has_message(const md_dump *d, const char *text)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (strstr(d->warnings[i].msg, text))
            return true;
    return false;
}

/* Modules naming one string (hostile lists point thousands at one; the reader decodes it once per
 * run of modules naming it): each keeps the name, and a malformed one counts once per module. */
START_TEST(shared_module_names)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    size_t list = stream_rva(&b, ST_MODULE), s0 = name_rva(&b, 0);
    fx_set_u32(&b, list + 4 + 108 * 1 + 20, (uint32_t)s0);
    fx_set_u32(&b, list + 4 + 108 * 2 + 20, (uint32_t)s0);
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nmodules, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(d->modules[i].path, PATH_APP);
    ck_assert(!has_warning(d, MD_W_BAD_STRING));
    md_close(d);
    fx_set_u32(&b, s0, rd32(&b, s0) - 1);         /* odd: malformed for all three */
    d = open_ok(&b);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(strlen(d->modules[i].path), strlen(PATH_APP) - 1);
    ck_assert(has_message(d, "minidump: 3 malformed strings"));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(meminfo_entry_sizes)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    size_t mi = stream_rva(&b, ST_MEMINFO);
    fx_set_u32(&b, mi + 4, 40);                  /* SizeOfEntry smaller than the struct */
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    ck_assert_uint_eq(md_region_at(d, VA_SHELL)->protect, 0);
    md_close(d);
    fx_set_u32(&b, mi + 4, 48);
    fx_set_u32(&b, mi, 8);                       /* SizeOfHeader smaller than the header */
    d = open_ok(&b);
    ck_assert(has_warning(d, MD_W_BAD_RECORD));
    ck_assert_uint_eq(md_region_at(d, VA_SHELL)->protect, 0);
    md_close(d);

    /* A newer writer: 24-byte header, 64-byte entries. Relocate the stream with those strides. */
    fx_set_u32(&b, mi, 16);
    uint64_t n = rd64(&b, mi + 8);
    fx_buf body;
    fx_buf_init(&body);
    fx_put_u32(&body, 24);
    fx_put_u32(&body, 64);
    fx_put_u64(&body, n);
    fx_put_u64(&body, 0xdeadbeef);               /* header bytes a reader must skip */
    for (uint64_t i = 0; i < n; i++) {
        fx_put(&body, b.p + mi + 16 + 48 * i, 48);
        fx_put_zeros(&body, 8);
        fx_put_u64(&body, 0xffffffffffffffffull);
    }
    fx_set_u32(&b, slot_off(&b, ST_MEMINFO), 0);  /* retire the original stream */
    append_stream(&b, ST_MEMINFO, body.p, body.len);
    d = open_ok(&b);
    check_all_regions(d);
    ck_assert(!has_warning(d, MD_W_BAD_RECORD));
    for (size_t i = 0; i < NREG; i++) {
        const md_region *r = md_region_at(d, sorted[i]->va);
        ck_assert_uint_eq(r->protect, sorted[i]->protect);
        ck_assert_uint_eq(r->type, sorted[i]->type);
    }
    md_close(d);
    fx_buf_free(&body);
    fx_buf_free(&b);
}
END_TEST

START_TEST(duplicate_streams)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    /* A second SystemInfo saying ARM64: the first one wins. */
    uint8_t sys[56] = { 12 };
    append_stream(&b, ST_SYSINFO, sys, sizeof sys);
    /* A second Memory64 list with one range: the first (complete) one wins. */
    uint8_t m64[32] = { 0 };
    m64[0] = 1;
    m64[8] = 0x40;                   /* BaseRva 0x40 */
    m64[16 + 2] = 0x99;              /* va 0x990000 */
    m64[24] = 0x10;                  /* size 0x10 */
    append_stream(&b, ST_MEM64, m64, sizeof m64);
    md_dump *d = open_ok(&b);
    check_all_regions(d);
    ck_assert_int_eq(d->arch, MD_ARCH_AMD64);
    ck_assert(has_warning(d, MD_W_DUPLICATE_STREAM));
    md_close(d);

    /* The first module list points past EOF: the later valid copy is used. */
    size_t ml = stream_rva(&b, ST_MODULE);
    uint32_t mlsize = rd32(&b, slot_off(&b, ST_MODULE) + 4);
    fx_buf copy;
    fx_buf_init(&copy);
    fx_put(&copy, b.p + ml, mlsize);
    append_stream(&b, ST_MODULE, copy.p, copy.len);
    fx_set_u32(&b, slot_off(&b, ST_MODULE) + 8, 0xfffff000u);
    d = open_ok(&b);
    ck_assert_uint_eq(d->nmodules, 3);
    ck_assert_str_eq(d->modules[0].path, PATH_APP);
    md_close(d);
    fx_buf_free(&copy);
    fx_buf_free(&b);
}
END_TEST

START_TEST(zero_streams)
{
    fx_buf b;
    make(FX_MD_FULL, &b);
    fx_set_u32(&b, 8, 0);
    md_dump *d = open_ok(&b);
    ck_assert_uint_eq(d->nregions, 0);
    ck_assert_uint_eq(d->nmodules, 0);
    ck_assert(has_warning(d, MD_W_SMALL_DUMP));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(memory_list_entries_past_eof)
{
    fx_buf b;
    make(FX_MD_PARTIAL, &b);
    size_t list = stream_rva(&b, ST_MEMLIST) + 4;
    fx_set_u32(&b, list + 16 * 0 + 12, 0xfffffff0u);          /* A: no bytes at all */
    fx_set_u32(&b, list + 16 * 1 + 12, (uint32_t)b.len - 0x10); /* B: 0x10 bytes left */
    md_dump *d = open_ok(&b);
    check_model(d);
    ck_assert_ptr_null(md_region_at(d, VA_A));
    const md_region *r = md_region_at(d, VA_B);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->size, 0x10);
    ck_assert(r->flags & MD_R_TRUNCATED);
    check_region_bytes(d, sorted[2]);
    ck_assert(has_warning(d, MD_W_TRUNCATED));
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* Random corruption of the metadata area: never a crash, a leak or an inconsistent model. */
START_TEST(random_corruption)
{
    static const unsigned flavours[] = { FX_MD_FULL, FX_MD_PARTIAL, FX_MD_BOTH | FX_MD_LIST_PAD };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t f = 0; f < 3; f++) {
        fx_buf clean;
        make(flavours[f], &clean);
        size_t meta = stream_rva(&clean, (flavours[f] & 3) == FX_MD_PARTIAL ? ST_MEMLIST : ST_MEM64) + 64;
        uint8_t *mut = malloc(clean.len);
        ck_assert_ptr_nonnull(mut);
        for (int iter = 0; iter < 1500; iter++) {
            memcpy(mut, clean.p, clean.len);
            for (int k = 0; k < 1 + iter % 6; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                size_t at = (size_t)(x % meta);
                mut[at] = (uint8_t)(k & 1 ? x >> 32 : 0xff);
            }
            md_dump *d = NULL;
            char err[256];
            uint64_t len = clean.len - (iter % 5 == 0 ? (x >> 40) % 0x4000 : 0);
            if (md_open_mem(mut, len, NULL, &d, err, sizeof err) == MD_OK) {
                check_model(d);
                md_close(d);
            } else {
                ck_assert_ptr_null(d);
                ck_assert_uint_gt(strlen(err), 0);
            }
        }
        free(mut);
        fx_buf_free(&clean);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("minidump");
    TCase *t = tcase_create("round_trip");
    tcase_add_test(t, full_round_trip);
    tcase_add_test(t, full_reads_across_adjacent_ranges);
    tcase_add_test(t, full_labels);
    tcase_add_test(t, modules_and_paths);
    tcase_add_test(t, threads_and_stack);
    tcase_add_test(t, partial_round_trip);
    tcase_add_test(t, both_round_trip);
    tcase_add_test(t, no_meminfo);
    tcase_add_test(t, no_modules);
    tcase_add_test(t, list_padding);
    tcase_add_test(t, arch_and_pid);
    tcase_add_test(t, open_from_file);
    suite_add_tcase(s, t);
    TCase *h = tcase_create("hostile");
    tcase_add_test(h, truncated_header);
    tcase_add_test(h, directory_past_eof);
    tcase_add_test(h, memory_stream_past_eof);
    tcase_add_test(h, other_stream_past_eof);
    tcase_add_test(h, truncated_full_dump);
    tcase_add_test(h, huge_counts);
    tcase_add_test(h, overlapping_ranges);
    tcase_add_test(h, memory64_offset_overflow);
    tcase_add_test(h, bad_strings);
    tcase_add_test(h, shared_module_names);
    tcase_add_test(h, meminfo_entry_sizes);
    tcase_add_test(h, duplicate_streams);
    tcase_add_test(h, zero_streams);
    tcase_add_test(h, memory_list_entries_past_eof);
    tcase_add_test(h, random_corruption);
    tcase_set_timeout(h, 60);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    init_data();
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
