/* Stack-string recovery on hand-assembled x86/x64 code. Every byte array is written instruction
 * by instruction with its mnemonic; encoded immediates were computed from the plaintext shown. */
#include "lib/mc_stackstr.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MAXS 8

static mc_stackstr *scan(const uint8_t *code, size_t len, unsigned bits, size_t *n)
{
    mc_stackstr *out = calloc(MAXS, sizeof *out);
    ck_assert_ptr_nonnull(out);
    *n = mc_stackstr_scan(code, len, bits, out, MAXS);
    return out;
}

static void assert_raw(const mc_stackstr *s, const void *want, size_t n)
{
    ck_assert_uint_eq(s->len, n);
    ck_assert_mem_eq(s->raw, want, n);
}

/* x86 plain string, stores out of order, unrelated instructions in between. */
static const uint8_t x86_plain[] = {
    0x55,                                     /* push ebp */
    0x8B, 0xEC,                               /* mov ebp, esp */
    0x83, 0xEC, 0x20,                         /* sub esp, 20h */
    0xC7, 0x45, 0xE8, 0x2E, 0x64, 0x6C, 0x6C, /* mov dword [ebp-18h], '.dll' */
    0x33, 0xC0,                               /* xor eax, eax */
    0xC7, 0x45, 0xE0, 0x6B, 0x65, 0x72, 0x6E, /* mov dword [ebp-20h], 'kern' */
    0x8D, 0x4D, 0xE0,                         /* lea ecx, [ebp-20h] */
    0xC7, 0x45, 0xE4, 0x65, 0x6C, 0x33, 0x32, /* mov dword [ebp-1Ch], 'el32' */
    0xC6, 0x45, 0xEC, 0x00,                   /* mov byte [ebp-14h], 0 */
    0x51,                                     /* push ecx */
    0xFF, 0x15, 0x00, 0x20, 0x40, 0x00,       /* call [LoadLibraryA] */
    0x8B, 0xE5,                               /* mov esp, ebp */
    0x5D,                                     /* pop ebp */
    0xC3,                                     /* ret */
};

START_TEST(x86_plain_string)
{
    size_t n;
    mc_stackstr *s = scan(x86_plain, sizeof x86_plain, 32, &n);
    ck_assert_uint_eq(n, 1);
    assert_raw(&s[0], "kernel32.dll", 12);
    ck_assert_uint_eq(s[0].offset, 6);
    ck_assert_int_eq(s[0].disp, -0x20);
    ck_assert_int_eq(s[0].base, MC_SS_FRAME);
    ck_assert(!s[0].wide);
    ck_assert(!s[0].has_key);
    uint8_t out[MC_STACKSTR_MAX];
    size_t len;
    ck_assert(mc_stackstr_decode(&s[0], NULL, NULL, out, sizeof out, &len, NULL));
    ck_assert_mem_eq(out, "kernel32.dll", len);
    free(s);
}
END_TEST

/* x64: qword/dword/word/byte stores through rsp+SIB, overlapping qword slot. */
static const uint8_t x64_rsp[] = {
    0x48, 0x83, 0xEC, 0x48,                         /* sub rsp, 48h */
    0x48, 0xC7, 0x44, 0x24, 0x20, 0x68, 0x74, 0x74, 0x70, /* mov qword [rsp+20h], 'http' */
    0xC7, 0x44, 0x24, 0x24, 0x3A, 0x2F, 0x2F, 0x63, /* mov dword [rsp+24h], '://c' */
    0xC7, 0x44, 0x24, 0x28, 0x32, 0x2E, 0x74, 0x65, /* mov dword [rsp+28h], '2.te' */
    0x66, 0xC7, 0x44, 0x24, 0x2C, 0x73, 0x74,       /* mov word [rsp+2Ch], 'st' */
    0xC6, 0x44, 0x24, 0x2E, 0x00,                   /* mov byte [rsp+2Eh], 0 */
    0x48, 0x8D, 0x4C, 0x24, 0x20,                   /* lea rcx, [rsp+20h] */
    0xE8, 0x00, 0x00, 0x00, 0x00,                   /* call connect */
    0xC3,                                           /* ret */
    0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, /* int3 x 16: alignment */
    0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,
    /* the next function: [rsp] without displacement, then rbp with disp32 */
    0xC7, 0x04, 0x24, 0x61, 0x62, 0x63, 0x64,       /* mov dword [rsp], 'abcd' */
    0xC7, 0x44, 0x24, 0x04, 0x65, 0x66, 0x67, 0x00, /* mov dword [rsp+4], 'efg\0' */
    0xC7, 0x85, 0xF0, 0xFE, 0xFF, 0xFF, 0x6E, 0x74, 0x64, 0x6C, /* mov dword [rbp-110h], 'ntdl' */
    0x66, 0xC7, 0x85, 0xF4, 0xFE, 0xFF, 0xFF, 0x6C, 0x00,       /* mov word [rbp-10Ch], 'l\0' */
    0xC3,                                           /* ret */
};

START_TEST(x64_mixed_widths)
{
    size_t n;
    mc_stackstr *s = scan(x64_rsp, sizeof x64_rsp, 64, &n);
    ck_assert_uint_eq(n, 3);
    assert_raw(&s[0], "http://c2.test", 14);
    ck_assert_int_eq(s[0].disp, 0x20);
    ck_assert_int_eq(s[0].base, MC_SS_STACK);
    ck_assert_uint_eq(s[0].offset, 4);
    assert_raw(&s[1], "abcdefg", 7);
    ck_assert_int_eq(s[1].disp, 0);
    assert_raw(&s[2], "ntdll", 5);
    ck_assert_int_eq(s[2].disp, -0x110);
    ck_assert_int_eq(s[2].base, MC_SS_FRAME);
    /* The caller's limit is honoured. */
    mc_stackstr one[1];
    ck_assert_uint_eq(mc_stackstr_scan(x64_rsp, sizeof x64_rsp, 64, one, 1), 1);
    assert_raw(&one[0], "http://c2.test", 14);
    free(s);
}
END_TEST

/* x86: "cmd.exe\0" XOR 5Ah, decoded by a loop with the key as immediate. */
static const uint8_t x86_xor_loop[] = {
    0xC7, 0x45, 0xF0, 0x39, 0x37, 0x3E, 0x74, /* mov dword [ebp-10h], 'cmd.'^5A */
    0x66, 0xC7, 0x45, 0xF4, 0x3F, 0x22,       /* mov word [ebp-0Ch], 'ex'^5A */
    0xC6, 0x45, 0xF6, 0x3F,                   /* mov byte [ebp-0Ah], 'e'^5A */
    0xC6, 0x45, 0xF7, 0x5A,                   /* mov byte [ebp-9], 0^5A */
    0x33, 0xC0,                               /* xor eax, eax */
    0x80, 0x74, 0x05, 0xF0, 0x5A,             /* loop: xor byte [ebp+eax-10h], 5Ah */
    0x40,                                     /* inc eax */
    0x83, 0xF8, 0x08,                         /* cmp eax, 8 */
    0x72, 0xF5,                               /* jb loop */
};

START_TEST(x86_xor_immediate_loop)
{
    size_t n;
    mc_stackstr *s = scan(x86_xor_loop, sizeof x86_xor_loop, 32, &n);
    ck_assert_uint_eq(n, 1);
    assert_raw(&s[0], "\x39\x37\x3E\x74\x3F\x22\x3F\x5A", 8);
    ck_assert(s[0].has_key);
    ck_assert_uint_eq(s[0].key.n, 1);
    ck_assert_int_eq(s[0].key.step[0].op, MC_SS_XOR);
    ck_assert_uint_eq(s[0].key.step[0].imm, 0x5A);
    ck_assert_uint_eq(s[0].key_offset, 23);
    uint8_t out[MC_STACKSTR_MAX];
    size_t len;
    ck_assert(mc_stackstr_decode(&s[0], NULL, NULL, out, sizeof out, &len, NULL));
    ck_assert_uint_eq(len, 8);
    ck_assert_mem_eq(out, "cmd.exe\0", 8);
    /* Too small an output buffer is refused. */
    ck_assert(!mc_stackstr_decode(&s[0], NULL, NULL, out, 7, &len, NULL));
    free(s);
}
END_TEST

/* x64 ROKRAT-style: "api.test" stored as (c ^ C8h) + 0Fh, decoded by sub/xor chain. */
static const uint8_t x64_rokrat[] = {
    0xC7, 0x45, 0xE0, 0xB8, 0xC7, 0xB0, 0xF5, /* mov dword [rbp-20h], enc('api.') */
    0xC7, 0x45, 0xE4, 0xCB, 0xBC, 0xCA, 0xCB, /* mov dword [rbp-1Ch], enc('test') */
    0x48, 0x8D, 0x45, 0xE0,                   /* lea rax, [rbp-20h] */
    0xBA, 0x08, 0x00, 0x00, 0x00,             /* mov edx, 8 */
    0x0F, 0xB6, 0x08,                         /* loop: movzx ecx, byte [rax] */
    0x80, 0xE9, 0x0F,                         /* sub cl, 0Fh */
    0x80, 0xF1, 0xC8,                         /* xor cl, 0C8h */
    0x88, 0x08,                               /* mov [rax], cl */
    0x48, 0xFF, 0xC0,                         /* inc rax */
    0x48, 0x83, 0xEA, 0x01,                   /* sub rdx, 1 */
    0x75, 0xEC,                               /* jne loop */
};

START_TEST(x64_arithmetic_chain)
{
    size_t n;
    mc_stackstr *s = scan(x64_rokrat, sizeof x64_rokrat, 64, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert(s[0].has_key);
    ck_assert_uint_eq(s[0].key.n, 2);
    ck_assert_int_eq(s[0].key.step[0].op, MC_SS_SUB);
    ck_assert_uint_eq(s[0].key.step[0].imm, 0x0F);
    ck_assert_int_eq(s[0].key.step[1].op, MC_SS_XOR);
    ck_assert_uint_eq(s[0].key.step[1].imm, 0xC8);
    ck_assert_uint_eq(s[0].key_offset, 26);
    uint8_t out[MC_STACKSTR_MAX];
    size_t len;
    ck_assert(mc_stackstr_decode(&s[0], NULL, NULL, out, sizeof out, &len, NULL));
    ck_assert_uint_eq(len, 8);
    ck_assert_mem_eq(out, "api.test", 8);
    free(s);
}
END_TEST

/* x86: "advapi32.dll\0" XOR 37h, decoded by a called routine, so no key in the code. */
static const uint8_t x86_no_key[] = {
    0xC7, 0x45, 0xD0, 0x56, 0x53, 0x41, 0x56, /* mov dword [ebp-30h], 'adva'^37 */
    0xC7, 0x45, 0xD4, 0x47, 0x5E, 0x04, 0x05, /* mov dword [ebp-2Ch], 'pi32'^37 */
    0xC7, 0x45, 0xD8, 0x19, 0x53, 0x5B, 0x5B, /* mov dword [ebp-28h], '.dll'^37 */
    0xC6, 0x45, 0xDC, 0x37,                   /* mov byte [ebp-24h], 0^37 */
    0x8D, 0x45, 0xD0,                         /* lea eax, [ebp-30h] */
    0x50,                                     /* push eax */
    0xE8, 0x00, 0x00, 0x00, 0x00,             /* call decode */
    0xC9,                                     /* leave */
    0xC3,                                     /* ret */
};

/* Printable text ending in the suffix passed as ud, optionally NUL-terminated. */
static bool text_with_suffix(const uint8_t *p, size_t n, void *ud)
{
    const char *suffix = ud;
    while (n > 0 && p[n - 1] == 0) n--;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7E) return false;
    size_t sl = strlen(suffix);
    return n >= sl && memcmp(p + n - sl, suffix, sl) == 0;
}

START_TEST(x86_bruteforce_with_validator)
{
    size_t n;
    mc_stackstr *s = scan(x86_no_key, sizeof x86_no_key, 32, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert(!s[0].has_key);
    ck_assert_uint_eq(s[0].len, 13);
    uint8_t out[MC_STACKSTR_MAX];
    size_t len;
    mc_ss_key used;
    ck_assert(mc_stackstr_decode(&s[0], text_with_suffix, ".dll", out, sizeof out, &len, &used));
    ck_assert_uint_eq(len, 13);
    ck_assert_mem_eq(out, "advapi32.dll\0", 13);
    ck_assert_uint_eq(used.n, 1);
    ck_assert_int_eq(used.step[0].op, MC_SS_XOR);
    ck_assert_uint_eq(used.step[0].imm, 0x37);
    /* No key makes the validator accept a different suffix. */
    ck_assert(!mc_stackstr_decode(&s[0], text_with_suffix, ".exe", out, sizeof out, &len, NULL));
    /* A plain string validates with the identity transform. */
    mc_stackstr *p = scan(x86_plain, sizeof x86_plain, 32, &n);
    ck_assert(mc_stackstr_decode(&p[0], text_with_suffix, ".dll", out, sizeof out, &len, &used));
    ck_assert_uint_eq(used.n, 0);
    free(p);
    free(s);
}
END_TEST

/* x86 UTF-16LE L"Log.tmp" built with dword stores. */
static const uint8_t x86_wide[] = {
    0xC7, 0x45, 0xE0, 0x4C, 0x00, 0x6F, 0x00, /* mov dword [ebp-20h], L"Lo" */
    0xC7, 0x45, 0xE4, 0x67, 0x00, 0x2E, 0x00, /* mov dword [ebp-1Ch], L"g." */
    0xC7, 0x45, 0xE8, 0x74, 0x00, 0x6D, 0x00, /* mov dword [ebp-18h], L"tm" */
    0xC7, 0x45, 0xEC, 0x70, 0x00, 0x00, 0x00, /* mov dword [ebp-14h], L"p\0" */
    0xC3,                                     /* ret */
};

START_TEST(utf16_stack_string)
{
    size_t n;
    mc_stackstr *s = scan(x86_wide, sizeof x86_wide, 32, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert(s[0].wide);
    assert_raw(&s[0], "L\0o\0g\0.\0t\0m\0p\0", 14);
    free(s);
}
END_TEST

/* Every prefix of every sample scans without reading past its end (checked by ASan on an exact
 * heap copy); cuts inside the last store or the key instruction lose exactly that piece. */
START_TEST(truncated_code)
{
    const struct { const uint8_t *p; size_t n; unsigned bits; } all[] = {
        {x86_plain, sizeof x86_plain, 32}, {x64_rsp, sizeof x64_rsp, 64},
        {x86_xor_loop, sizeof x86_xor_loop, 32}, {x64_rokrat, sizeof x64_rokrat, 64},
        {x86_no_key, sizeof x86_no_key, 32}, {x86_wide, sizeof x86_wide, 32},
    };
    mc_stackstr *out = calloc(MAXS, sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) {
        for (size_t cut = 0; cut <= all[a].n; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, all[a].p, cut);
            size_t n = mc_stackstr_scan(copy, cut, all[a].bits, out, MAXS);
            ck_assert_uint_le(n, MAXS);
            for (size_t i = 0; i < n; i++) ck_assert_uint_le(out[i].len, MC_STACKSTR_MAX);
            free(copy);
        }
    }
    /* Cut inside the terminator store: the 7 encoded bytes remain, the loop is gone. */
    ck_assert_uint_eq(mc_stackstr_scan(x86_xor_loop, 20, 32, out, MAXS), 1);
    assert_raw(&out[0], "\x39\x37\x3E\x74\x3F\x22\x3F", 7);
    ck_assert(!out[0].has_key);
    /* Cut inside the key instruction: all stores, no key. */
    ck_assert_uint_eq(mc_stackstr_scan(x86_xor_loop, 27, 32, out, MAXS), 1);
    ck_assert_uint_eq(out[0].len, 8);
    ck_assert(!out[0].has_key);
    ck_assert_uint_eq(mc_stackstr_scan(x86_xor_loop, 28, 32, out, MAXS), 1);
    ck_assert(out[0].has_key);
    free(out);
}
END_TEST

/* Stores that are not stack strings. */
static const uint8_t lookalike[] = {
    0xC7, 0x40, 0x04, 0x41, 0x42, 0x43, 0x44,             /* mov dword [eax+4], 'ABCD' */
    0xC7, 0x40, 0x08, 0x45, 0x46, 0x47, 0x48,             /* mov dword [eax+8], 'EFGH' */
    0xC7, 0x05, 0x00, 0x30, 0x40, 0x00, 0x41, 0x42, 0x43, 0x44, /* mov dword [403000h], 'ABCD' */
    0xC6, 0x00, 0x41,                                     /* mov byte [eax], 'A' */
    0xC7, 0xC0, 0x41, 0x42, 0x43, 0x44,                   /* mov eax, 'ABCD' */
    0xC7, 0x45, 0xF0, 0x41, 0x42, 0x43, 0x44,             /* mov dword [ebp-10h], 'ABCD' (alone) */
    0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,       /* nop x 25: ends the run */
    0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
    0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
    0xC7, 0x45, 0xE0, 0x41, 0x42, 0x43, 0x44,             /* mov dword [ebp-20h], 'ABCD' */
    0xC7, 0x45, 0xE8, 0x45, 0x46, 0x47, 0x48,             /* mov dword [ebp-18h] (not adjacent) */
    0xC7, 0x45, 0xF8, 0x00, 0x00, 0x00, 0x00,             /* mov dword [ebp-8], 0 */
    0xC7, 0x45, 0xFC, 0x00, 0x00, 0x00, 0x00,             /* mov dword [ebp-4], 0 */
    0xC7, 0x45, 0xD0, 0x41, 0x42,                         /* truncated store at the end */
};

/* x64 only: REX.B makes the base r13/r12, REX.X makes the index r12. */
static const uint8_t lookalike64[] = {
    0x41, 0xC7, 0x45, 0xF0, 0x41, 0x42, 0x43, 0x44,       /* mov dword [r13-10h], 'ABCD' */
    0x41, 0xC7, 0x45, 0xF4, 0x45, 0x46, 0x47, 0x48,       /* mov dword [r13-0Ch], 'EFGH' */
    0x42, 0xC7, 0x44, 0x24, 0x20, 0x41, 0x42, 0x43, 0x44, /* mov dword [rsp+r12+20h], 'ABCD' */
    0x42, 0xC7, 0x44, 0x24, 0x24, 0x45, 0x46, 0x47, 0x48, /* mov dword [rsp+r12+24h], 'EFGH' */
};

START_TEST(lookalikes_yield_nothing)
{
    size_t n;
    mc_stackstr *s = scan(lookalike, sizeof lookalike, 32, &n);
    ck_assert_uint_eq(n, 0);
    free(s);
    s = scan(lookalike64, sizeof lookalike64, 64, &n);
    ck_assert_uint_eq(n, 0);
    free(s);
    /* Deterministic pseudo-random bytes (64-bit LCG). */
    size_t len = 1 << 18;
    uint8_t *rnd = malloc(len);
    uint64_t x = 0x243F6A8885A308D3ull;
    for (size_t i = 0; i < len; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (uint8_t)(x >> 56);
    }
    s = scan(rnd, len, 32, &n);
    ck_assert_uint_eq(n, 0);
    free(s);
    s = scan(rnd, len, 64, &n);
    ck_assert_uint_eq(n, 0);
    free(s);
    free(rnd);
    mc_stackstr one;
    ck_assert_uint_eq(mc_stackstr_scan(x86_plain, sizeof x86_plain, 16, &one, 1), 0);
    ck_assert_uint_eq(mc_stackstr_scan(NULL, 0, 32, &one, 1), 0);
}
END_TEST

START_TEST(apply_transforms)
{
    mc_ss_key k = {.n = 3};
    k.step[0].op = MC_SS_ADD;
    k.step[0].imm = 0xF0;
    k.step[1].op = MC_SS_XOR;
    k.step[1].imm = 0x0F;
    k.step[2].op = MC_SS_SUB;
    k.step[2].imm = 0x02;
    uint8_t b[3] = {0x20, 0x00, 0xFF};
    mc_stackstr_apply(&k, b, 3, b);
    /* ((0x20+0xF0)&FF ^ 0x0F) - 2 = 0x1D, (0xF0^0x0F)-2 = 0xFD, (0xEF^0x0F)-2 = 0xDE */
    ck_assert_uint_eq(b[0], 0x1D);
    ck_assert_uint_eq(b[1], 0xFD);
    ck_assert_uint_eq(b[2], 0xDE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stackstr");
    TCase *tc = tcase_create("scan");
    tcase_add_test(tc, x86_plain_string);
    tcase_add_test(tc, x64_mixed_widths);
    tcase_add_test(tc, x86_xor_immediate_loop);
    tcase_add_test(tc, x64_arithmetic_chain);
    tcase_add_test(tc, x86_bruteforce_with_validator);
    tcase_add_test(tc, utf16_stack_string);
    tcase_add_test(tc, truncated_code);
    tcase_add_test(tc, lookalikes_yield_nothing);
    tcase_add_test(tc, apply_transforms);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
