/* Real minidumps written by Breakpad (see ../shared/realdata/README.md). The expected values come
 * from the producers' documentation: rust-minidump's tests for testdata/test.dmp (module list in
 * file and address order, pid, thread ids, stack contents), and for everything else a by-hand
 * parse of the raw structures independent of this project's reader. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memdump.h"
#include "testutil.h"

static md_dump *open_shared(const char *rel)
{
    const char *path = tu_shared(rel);
    if (!path)
        return NULL;
    md_dump *d = NULL;
    char err[256] = "";
    md_err e = md_open(path, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "%s: %s (%s)", rel, md_strerror(e), err);
    ck_assert_int_eq(d->format, MD_FMT_MINIDUMP);
    return d;
}

static bool has_warning(const md_dump *d, uint32_t code)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code)
            return true;
    return false;
}

static void check_range(const md_dump *d, uint64_t va, uint64_t size)
{
    const md_region *r = md_region_at(d, va);
    ck_assert_msg(r != NULL, "no region at 0x%llx", (unsigned long long)va);
    ck_assert_uint_eq(r->va, va);
    ck_assert_uint_eq(r->size, size);
    ck_assert(!(r->flags & MD_R_TRUNCATED));
}

#define BREAKPAD "realdata/minidumps/breakpad-test.dmp"
#define LINUX "realdata/minidumps/linux-mini.dmp"

START_TEST(breakpad_modules)
{
    md_dump *d = open_shared(BREAKPAD);
    if (!d) {
        printf("skip: %s not present\n", BREAKPAD);
        return;
    }
    /* rust-minidump test_module_list: 13 modules; by address: */
    static const char *const by_addr[] = {
        "c:\\test_app.exe",
        "C:\\WINDOWS\\system32\\dbghelp.dll",
        "C:\\WINDOWS\\system32\\imm32.dll",
        "C:\\WINDOWS\\system32\\psapi.dll",
        "C:\\WINDOWS\\system32\\ole32.dll",
        "C:\\WINDOWS\\system32\\version.dll",
        "C:\\WINDOWS\\system32\\msvcrt.dll",
        "C:\\WINDOWS\\system32\\user32.dll",
        "C:\\WINDOWS\\system32\\advapi32.dll",
        "C:\\WINDOWS\\system32\\rpcrt4.dll",
        "C:\\WINDOWS\\system32\\gdi32.dll",
        "C:\\WINDOWS\\system32\\kernel32.dll",
        "C:\\WINDOWS\\system32\\ntdll.dll",
    };
    ck_assert_uint_eq(d->nmodules, 13);
    for (size_t i = 0; i < 13; i++)
        ck_assert_str_eq(d->modules[i].path, by_addr[i]);
    ck_assert_uint_eq(d->modules[0].base, 0x400000);
    ck_assert_uint_eq(d->modules[0].size, 0x2d000);
    /* psapi.dll: modules[12] in file order, base 0x76bf0000 size 0xb000 per rust-minidump. */
    ck_assert_uint_eq(d->modules[3].base, 0x76bf0000);
    ck_assert_uint_eq(d->modules[3].size, 0xb000);
    /* ntdll.dll, highest base (by-hand parse). */
    ck_assert_uint_eq(d->modules[12].base, 0x7c900000);
    ck_assert_uint_eq(d->modules[12].size, 0xb0000);
    /* TimeDateStamp of test_app.exe: the code id "45D35F6C2d000" is timestamp + size. */
    ck_assert_uint_eq(d->modules[0].timestamp, 0x45d35f6c);
    md_close(d);
}
END_TEST

START_TEST(breakpad_memory_and_threads)
{
    md_dump *d = open_shared(BREAKPAD);
    if (!d) {
        printf("skip: %s not present\n", BREAKPAD);
        return;
    }
    ck_assert_int_eq(d->arch, MD_ARCH_X86);
    ck_assert_uint_eq(d->pid, 3932);
    /* MemoryListStream: three ranges (by-hand parse): code near the fault and two stacks. */
    ck_assert_uint_eq(d->nregions, 3);
    check_range(d, 0x12f31c, 0xce4);
    check_range(d, 0x97f6e8, 0x918);
    check_range(d, 0x7c90eb14, 0x100);
    ck_assert(has_warning(d, MD_W_SMALL_DUMP));
    ck_assert(!has_warning(d, MD_W_TRUNCATED));
    /* No MemoryInfoListStream in this dump. */
    ck_assert(d->regions[0].flags & MD_R_PROT_UNKNOWN);

    /* rust-minidump test_thread_list: two threads, and the first one's stack contents. */
    ck_assert_uint_eq(d->nthreads, 2);
    ck_assert_uint_eq(d->threads[0].tid, 0xbf4);
    ck_assert_uint_eq(d->threads[1].tid, 0x11c0);
    ck_assert_uint_eq(d->threads[0].stack_va, 0x12f31c);
    uint64_t v = 1;
    ck_assert(md_read_u64(d, 0x12f31c, &v));
    ck_assert_uint_eq(v, 0x7c90e9c000000000ull);
    ck_assert(md_read_u64(d, 0x12fff8, &v));
    ck_assert_uint_eq(v, 0x405443);
    uint32_t w = 1;
    ck_assert(md_read_u32(d, 0x12fffc, &w));
    ck_assert_uint_eq(w, 0);
    /* The stack ends at 0x130000: nothing after it. */
    ck_assert(!md_read_u32(d, 0x12fffe, &w));
    ck_assert(md_region_at(d, 0x12f31c)->flags & MD_R_STACK);
    ck_assert(md_region_at(d, 0x97f6e8)->flags & MD_R_STACK);
    ck_assert(!(md_region_at(d, 0x7c90eb14)->flags & MD_R_STACK));
    /* 0x7c90eb14 lies in ntdll.dll. */
    ck_assert_int_ge(md_region_at(d, 0x7c90eb14)->module, 0);
    ck_assert_str_eq(d->modules[md_region_at(d, 0x7c90eb14)->module].path,
                     "C:\\WINDOWS\\system32\\ntdll.dll");
    md_close(d);
}
END_TEST

START_TEST(linux_minidump)
{
    md_dump *d = open_shared(LINUX);
    if (!d) {
        printf("skip: %s not present\n", LINUX);
        return;
    }
    /* Nine Breakpad/Mozilla Linux streams sit beside the standard ones; they are ignored
     * without complaint (by-hand parse for all values below). */
    ck_assert_int_eq(d->arch, MD_ARCH_AMD64);
    ck_assert_uint_eq(d->pid, 0);
    ck_assert_uint_eq(d->nmodules, 8);
    ck_assert_uint_eq(d->modules[0].base, 0x400000);
    ck_assert_uint_eq(d->modules[0].size, 0x1a000);
    ck_assert_str_eq(d->modules[0].path, "/work/linux/build/crash");
    ck_assert_uint_eq(d->modules[7].base, 0x7fff5aef1000);
    ck_assert_str_eq(d->modules[7].path, "linux-gate.so");
    ck_assert_uint_eq(d->nregions, 2);
    check_range(d, 0x401cf2, 0x100);
    check_range(d, 0x7fff5ae4a000, 0x3000);
    ck_assert_uint_eq(d->nthreads, 1);
    ck_assert_uint_eq(d->threads[0].tid, 0x518);
    ck_assert(md_region_at(d, 0x7fff5ae4a000)->flags & MD_R_STACK);
    for (size_t i = 0; i < d->nwarnings; i++)
        ck_assert_msg(d->warnings[i].code == MD_W_SMALL_DUMP, "unexpected warning: %s",
                      d->warnings[i].msg);
    md_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("realdata");
    TCase *t = tcase_create("minidumps");
    tcase_add_test(t, breakpad_modules);
    tcase_add_test(t, breakpad_memory_and_threads);
    tcase_add_test(t, linux_minidump);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
