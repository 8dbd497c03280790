/* The per-dump managed-heap index (decoders/lib/clrstr.c, mc_dump_shared) and the derived keys
 * taken from the heap (decoders/lib/aesrat.c mc_aesrat_find_keys):
 * - the index answers every mc_clr_find exactly as the scan does (generated heaps with noise,
 *   duplicates, Latin-1 chars, unaligned and NUL-bearing look-alikes, image and read-only regions,
 *   objects across region edges; x86, x64 and a dump that names no architecture), also from
 *   several threads at once;
 * - hostile heaps: lengths past run ends, huge counts, odd alignment, a heap full of fake string
 *   headers or fake byte[] objects (the caps hold, lookups past the cap still answer), an expired
 *   deadline;
 * - AsyncRAT, DcRat (through the AsyncRAT decoder), Quasar 1.4 and 1.3 with their derived keys as
 *   byte[] objects on the heap: the same config as without them, and no whole PBKDF2 derivation
 *   (one first-block confirmation per salt tried); wrong or half heap keys: the whole derivation
 *   and the same config; Quasar's decoder leaves AsyncRAT-family clients alone, deriving nothing. */
#include "decoder.h"
#include "fixtures/fx.h"
#include "lib/mc_aesrat.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_crypto.h"
#include "lib/mc_shared.h"
#include "md_internal.h"
#include "memcfg.h"
#include "tdump.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MT32 0x71A2B3C4ull
#define MT64 0x00007FF812345678ull

extern const mc_decoder mc_decoder_asyncrat, mc_decoder_quasar;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static md_dump *open_buf(const fx_buf *b, bool raw, uint64_t base)
{
    md_open_opts o = {0};
    if (raw) {
        o.force_format = MD_FMT_RAW;
        o.raw_base = base;
        o.has_raw_base = true;
    }
    md_dump *d = NULL;
    char err[256];
    ck_assert_msg(md_open_mem(b->p, b->len, &o, &d, err, sizeof err) == MD_OK, "%s", err);
    return d;
}

/* ---- generated heaps: the index against the scan ---- */

#define POOL 300
#define NQ (POOL + 90)    /* pool, look-alikes, absent texts, a few extra */

typedef struct heapgen {
    char pool[POOL][1100];
    uint64_t first[POOL];     /* expected object VA of the first aligned heap copy, 0 none */
    char only_odd[40][64];    /* texts placed only unaligned, only in skipped regions, only with a NUL */
    size_t nodd;
} heapgen;

static void rand_text(char *out, size_t n)
{
    static const char cs[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .:;_-/\\%";
    for (size_t i = 0; i < n; i++) out[i] = cs[rnd() % (sizeof cs - 1)];
    out[n] = 0;
}

/* A string object written by hand at the current end of b (no alignment): MT, length, chars. */
static void put_raw_string(fx_buf *b, unsigned ps, const char *ascii, bool nul_inside)
{
    if (ps == 4) fx_put_u32(b, (uint32_t)MT32);
    else fx_put_u64(b, MT64);
    size_t n = strlen(ascii);
    fx_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) fx_put_u16(b, nul_inside && i == n / 2 ? 0 : (uint8_t)ascii[i]);
    fx_put_u16(b, 0);
}

/* Pool texts as placed: UTF-8 for the Latin-1 one. */
static const char *placed(const heapgen *g, size_t i)
{
    return i == 6 ? "caf\xC3\xA9 cr\xC3\xA8me" : g->pool[i];
}

/* The heap bytes: pool strings (with repeats), noise, byte[] objects, look-alikes. Records the
 * buffer offset of the first aligned copy of each pool text in off[]. */
static void gen_heap(heapgen *g, fx_buf *b, unsigned ps, size_t nobj, size_t *off)
{
    uint64_t mt = ps == 4 ? MT32 : MT64;
    for (size_t k = 0; k < nobj; k++) {
        unsigned kind = (unsigned)(rnd() % 10);
        if (kind < 5) {
            size_t t = rnd() % POOL;
            fx_align(b, ps);
            if (off[t] == SIZE_MAX) off[t] = b->len;
            fx_put_clr_string(b, ps, mt, placed(g, t));
        } else if (kind == 5) {
            uint8_t noise[300];
            size_t n = 1 + rnd() % sizeof noise;
            fx_fill_noise(noise, n, rnd());
            fx_put(b, noise, n);
        } else if (kind == 6) {
            uint8_t data[64];
            unsigned n = (unsigned[]){16, 32, 64, 20}[rnd() % 4];
            fx_fill_noise(data, n, rnd());
            fx_put_clr_bytes(b, ps, mt, data, n);
        } else if (kind == 7) {
            /* unaligned: 2 bytes past an aligned start */
            fx_align(b, ps);
            fx_put_u16(b, 0x4141);
            put_raw_string(b, ps, g->only_odd[rnd() % 10], false);
        } else if (kind == 8) {
            fx_align(b, ps);
            put_raw_string(b, ps, g->only_odd[10 + rnd() % 10], true);   /* NUL char inside */
        } else {
            /* a length that lies: no terminator where it says */
            fx_align(b, ps);
            if (ps == 4) fx_put_u32(b, (uint32_t)mt);
            else fx_put_u64(b, mt);
            fx_put_u32(b, 1000);
            fx_put_utf16(b, "short");
            fx_put_u16(b, 0x4242);
        }
    }
    fx_align(b, 0x1000);
}

static void init_pool(heapgen *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    rng_state = seed;
    for (size_t i = 0; i < POOL; i++) {
        size_t n = i < 6 ? 1000 + rnd() % 24 : i < 20 ? 1 + rnd() % 3 : 4 + rnd() % 60;
        rand_text(g->pool[i], n);
    }
    strcpy(g->pool[6], "caf\xE9 cr\xE8me");      /* Latin-1 chars, placed through UTF-8 */
    for (size_t i = 0; i < 40; i++) snprintf(g->only_odd[i], sizeof g->only_odd[i], "odd-only-%02zu-text", i);
    g->nodd = 40;
}

typedef struct query_set {
    const char *q[NQ];
    size_t n;
} query_set;

static void queries(const heapgen *g, query_set *qs)
{
    qs->n = 0;
    for (size_t i = 0; i < POOL; i++) qs->q[qs->n++] = g->pool[i];
    for (size_t i = 0; i < 30; i++) qs->q[qs->n++] = g->only_odd[i];
    static char absent[50][32];
    for (size_t i = 0; i < 50 && qs->n < NQ; i++) {
        snprintf(absent[i], sizeof absent[i], "absent text %zu", i);
        qs->q[qs->n++] = absent[i];
    }
}

/* Every query through the index and through the scan: the same answer. Returns the number found. */
static size_t compare_all(const md_dump *d, mc_dump_shared *sh, const query_set *qs, uint64_t *va_out)
{
    mc_decode_ctx plain = {.deadline = mc_now() + 120};
    mc_decode_ctx idx = {.deadline = mc_now() + 120, .shared = sh};
    size_t found = 0;
    for (size_t i = 0; i < qs->n; i++) {
        uint64_t a = 0, b = 0;
        bool fa = mc_clr_find(&plain, d, qs->q[i], 1, &a);
        bool fb = mc_clr_find(&idx, d, qs->q[i], 1, &b);
        ck_assert_msg(fa == fb, "query %zu \"%.40s\": scan %d index %d", i, qs->q[i], fa, fb);
        if (fa) ck_assert_msg(a == b, "query %zu: scan 0x%llx index 0x%llx", i, (unsigned long long)a,
                              (unsigned long long)b);
        if (va_out) va_out[i] = fa ? a : 0;
        found += fa;
    }
    return found;
}

/* A minidump: heap regions (two adjacent, one string across their edge), an image region and a
 * read-only region right after them holding pool copies (skipped), a detached heap region. */
static void heap_dump_case(int arch, unsigned ps)
{
    static heapgen g;
    init_pool(&g, 0x9e3779b97f4a7c15ull ^ (uint64_t)arch);
    size_t off1[POOL], offb[POOL], off2[POOL];
    for (size_t i = 0; i < POOL; i++) off1[i] = offb[i] = off2[i] = SIZE_MAX;
    fx_buf h1, img, ro, h2;
    fx_buf_init(&h1); fx_buf_init(&img); fx_buf_init(&ro); fx_buf_init(&h2);
    gen_heap(&g, &h1, ps, 2500, off1);
    /* a string across the edge of h1 and the next heap region, then the rest of that region */
    fx_buf h1b;
    fx_buf_init(&h1b);
    size_t cut = h1.len;
    fx_put_zeros(&h1, 0x1000 - 2 * ps);       /* ends the page minus room for the header */
    fx_put_clr_string(&h1, ps, ps == 4 ? MT32 : MT64, "across-the-region-edge");
    size_t split = cut + 0x1000;
    fx_put(&h1b, h1.p + split, h1.len - split);
    h1.len = split;
    gen_heap(&g, &h1b, ps, 300, offb);
    /* image and read-only regions right after h1b: pool copies there are not GC objects */
    for (size_t i = 0; i < 40; i++) fx_put_clr_string(&img, ps, MT64, g.only_odd[30 + i % 10]);
    fx_put_clr_string(&img, ps, MT64, "image-only-text");
    fx_align(&img, 0x1000);
    for (size_t i = 0; i < 40; i++) fx_put_clr_string(&ro, ps, MT64, "read-only-text");
    fx_align(&ro, 0x1000);
    gen_heap(&g, &h2, ps, 1500, off2);

    uint64_t va1 = 0x02000000, va1b = va1 + h1.len, vimg = va1b + h1b.len, vro = vimg + img.len,
             va2 = 0x40000000;
    fx_region regs[] = {
        {.va = va1, .data = h1.p, .size = h1.len, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = va1b, .data = h1b.p, .size = h1b.len, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = vimg, .data = img.p, .size = img.len, .protect = MD_PAGE_READONLY, .type = MD_MEM_IMAGE},
        {.va = vro, .data = ro.p, .size = ro.len, .protect = MD_PAGE_READONLY, .type = MD_MEM_PRIVATE},
        {.va = va2, .data = h2.p, .size = h2.len, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
    };
    fx_process proc = {.pid = 77, .arch = arch, .regions = regs, .nregions = 5};
    fx_buf file;
    fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
    md_dump *d = open_buf(&file, false, 0);
    ck_assert_int_eq(d->arch, arch);

    query_set qs;
    queries(&g, &qs);
    static const char *extra[] = {"across-the-region-edge", "image-only-text", "read-only-text"};
    for (size_t i = 0; i < 3; i++) qs.q[qs.n++] = extra[i];
    uint64_t va[NQ + 3];
    mc_dump_shared *sh = mc_dump_shared_new();
    size_t found = compare_all(d, sh, &qs, va);
    /* and what was expected, independently of both */
    size_t expect = 0;
    for (size_t i = 0; i < POOL; i++) {
        /* regions in VA order: h1, h1b, h2 */
        uint64_t want = off1[i] != SIZE_MAX ? va1 + off1[i]
                      : offb[i] != SIZE_MAX ? va1b + offb[i]
                      : off2[i] != SIZE_MAX ? va2 + off2[i] : 0;
        if (want) expect++;
        ck_assert_msg(va[i] == want, "pool %zu: found 0x%llx want 0x%llx", i, (unsigned long long)va[i],
                      (unsigned long long)want);
    }
    for (size_t i = POOL; i < POOL + 30; i++) ck_assert_msg(va[i] == 0, "look-alike %s found", qs.q[i]);
    ck_assert_uint_ne(va[qs.n - 3], 0);       /* across two heap regions of one run */
    ck_assert_uint_eq(va[qs.n - 2], 0);       /* MEM_IMAGE */
    ck_assert_uint_eq(va[qs.n - 1], 0);       /* read-only */
    ck_assert_uint_eq(found, expect + 1);
    ck_assert_uint_gt(expect, 250);

    mc_clr_index_stats st;
    mc_decode_ctx ictx = {.shared = sh};
    ck_assert(mc_clr_index_stats_get(&ictx, d, &st));
    ck_assert(st.complete);
    ck_assert_uint_ge(st.strings, 2000);
    ck_assert_uint_gt(st.arrays[0] + st.arrays[1] + st.arrays[2], 100);
    ck_assert_uint_eq(st.bytes, h1.len + h1b.len + h2.len);   /* image and read-only skipped */
    /* byte[] entries point at random-looking data of the right length */
    for (unsigned k = 0; k < 3; k++) {
        const uint64_t *v;
        size_t n;
        unsigned len = (unsigned[]){16, 32, 64}[k];
        ck_assert(mc_clr_byte_arrays(&ictx, d, len, &v, &n));
        for (size_t i = 0; i < n; i++) {
            uint32_t l;
            ck_assert(md_read_u32(d, (v[i] & ~1ull) - (ps == 8 ? 8 : 4), &l));
            ck_assert_uint_eq(l, len);
            ck_assert_uint_eq((v[i] & ~1ull) % ps, 0);
        }
    }
    ck_assert(!mc_clr_byte_arrays(&ictx, d, 20, &(const uint64_t *){NULL}, &(size_t){0}));
    mc_dump_shared_free(sh);
    md_close(d);
    fx_buf_free(&file); fx_buf_free(&h1); fx_buf_free(&h1b); fx_buf_free(&img); fx_buf_free(&ro);
    fx_buf_free(&h2);
}

START_TEST(index_equals_scan_x64) { heap_dump_case(MD_ARCH_AMD64, 8); }
END_TEST

START_TEST(index_equals_scan_x86) { heap_dump_case(MD_ARCH_X86, 4); }
END_TEST

/* A raw dump (no architecture, no region labels): x86 and x64 objects both qualify. */
START_TEST(index_equals_scan_raw)
{
    static heapgen g;
    init_pool(&g, 12345);
    size_t off[POOL];
    for (size_t i = 0; i < POOL; i++) off[i] = SIZE_MAX;
    fx_buf b;
    fx_buf_init(&b);
    fx_put_zeros(&b, 0x2000);
    fx_fill_noise(b.p, 0x2000, 5);
    gen_heap(&g, &b, 4, 1500, off);
    gen_heap(&g, &b, 8, 1500, off);
    md_dump *d = open_buf(&b, true, 0x10000000);
    query_set qs;
    queries(&g, &qs);
    mc_dump_shared *sh = mc_dump_shared_new();
    ck_assert_uint_gt(compare_all(d, sh, &qs, NULL), 250);
    mc_dump_shared_free(sh);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* Several decoders' threads asking at once: one build, the same answers. */
typedef struct thr_arg {
    const md_dump *d;
    mc_dump_shared *sh;
    const query_set *qs;
    const uint64_t *want;
    size_t bad;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    mc_decode_ctx ctx = {.deadline = mc_now() + 120, .shared = a->sh};
    for (size_t i = 0; i < a->qs->n; i++) {
        uint64_t va = 0;
        bool f = mc_clr_find(&ctx, a->d, a->qs->q[i], 1, &va);
        if ((f ? va : 0) != a->want[i]) a->bad++;
    }
    return NULL;
}

START_TEST(index_threads)
{
    static heapgen g;
    init_pool(&g, 777);
    size_t off[POOL];
    for (size_t i = 0; i < POOL; i++) off[i] = SIZE_MAX;
    fx_buf b;
    fx_buf_init(&b);
    gen_heap(&g, &b, 8, 4000, off);
    fx_region r = {.va = 0x5000000, .data = b.p, .size = b.len};
    fx_process proc = {.pid = 1, .arch = MD_ARCH_AMD64, .regions = &r, .nregions = 1};
    fx_buf file;
    fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
    md_dump *d = open_buf(&file, false, 0);
    query_set qs;
    queries(&g, &qs);
    uint64_t want[NQ];
    ck_assert_uint_gt(compare_all(d, NULL, &qs, want), 0);   /* shared NULL both ways: the scan */
    mc_dump_shared *sh = mc_dump_shared_new();
    pthread_t th[4];
    thr_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_arg){d, sh, &qs, want, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_uint_eq(a[i].bad, 0);
    }
    mc_dump_shared_free(sh);
    md_close(d);
    fx_buf_free(&file);
    fx_buf_free(&b);
}
END_TEST

/* ---- hostile heaps ---- */

/* Headers at the very end of regions claiming more than is there, huge and negative counts,
 * headers at every odd offset: no read past a region, nothing found. */
START_TEST(hostile_lengths_and_alignment)
{
    fx_buf a, c;
    fx_buf_init(&a);
    fx_buf_init(&c);
    /* a: ends with MT + a length of 1024 and two chars */
    fx_put_zeros(&a, 0x1000 - 16);
    fx_put_u64(&a, MT64);
    fx_put_u32(&a, 1024);
    fx_put_u16(&a, 'A');
    fx_put_u16(&a, 'B');
    /* c: huge counts, then odd-aligned copies of one string, then a length of 1 at the end */
    uint32_t lens[] = {0xFFFFFFFFu, 0x80000000u, 1025, 0x00010001u, 0};
    for (size_t i = 0; i < 5; i++) {
        fx_put_u64(&c, MT64);
        fx_put_u32(&c, lens[i]);
        fx_put_utf16(&c, "hostile");
        fx_put_u16(&c, 0);
        fx_align(&c, 8);
    }
    for (unsigned s = 1; s < 8; s++) {
        if (s == 4) continue;                 /* 4-aligned: a real x86 object */
        fx_align(&c, 8);
        fx_put_zeros(&c, s);
        fx_put_u64(&c, MT64);
        fx_put_u32(&c, 7);
        fx_put_utf16(&c, "hostile");
        fx_put_u16(&c, 0);
    }
    fx_align(&c, 0x1000);
    fx_put_zeros(&c, 0x1000 - 12);
    fx_put_u64(&c, MT64);
    fx_put_u32(&c, 1);
    /* separate allocations, so the sanitizer sees a read past either region */
    fx_region regs[] = {
        {.va = 0x100000, .data = a.p, .size = a.len},
        {.va = 0x300000, .data = c.p, .size = c.len},
    };
    for (int arch = 0; arch < 2; arch++) {
        fx_process proc = {.pid = 1, .arch = arch ? MD_ARCH_X86 : MD_ARCH_AMD64, .regions = regs, .nregions = 2};
        fx_buf file;
        fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
        md_dump *d = open_buf(&file, false, 0);
        mc_dump_shared *sh = mc_dump_shared_new();
        static const char *q[] = {"hostile", "AB", "A", "hostil"};
        query_set qs = {.n = 4};
        for (int i = 0; i < 4; i++) qs.q[i] = q[i];
        ck_assert_uint_eq(compare_all(d, sh, &qs, NULL), 0);
        mc_dump_shared_free(sh);
        md_close(d);
        fx_buf_free(&file);
    }
    fx_buf_free(&a);
    fx_buf_free(&c);
}
END_TEST

/* A heap of nothing but fake string headers (and one of fake byte[64]s): the caps stop the
 * index, lookups past the cap are answered by the scan, memory stays bounded. */
START_TEST(hostile_fake_headers)
{
    fx_buf b;
    fx_buf_init(&b);
    size_t nfake = 0;
    while (b.len < (4u << 20)) {              /* 4 MiB of 1-char strings: 262144 objects */
        fx_put_clr_string(&b, 8, MT64, "x");
        nfake++;
    }
    fx_put_clr_string(&b, 8, MT64, "real string after the fakes");
    uint8_t data[64];
    for (int i = 0; i < 20000; i++) {
        fx_fill_noise(data, 64, 0x9E3779B97F4A7C15ull * ((uint64_t)i + 1));
        fx_put_clr_bytes(&b, 8, MT64, data, 64);
    }
    fx_put_clr_string(&b, 8, MT64, "after the fake arrays");
    fx_align(&b, 0x1000);
    fx_region r = {.va = 0x10000000, .data = b.p, .size = b.len};
    fx_process proc = {.pid = 1, .arch = MD_ARCH_AMD64, .regions = &r, .nregions = 1};
    fx_buf file;
    fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
    md_dump *d = open_buf(&file, false, 0);
    static const char *q[] = {"x", "real string after the fakes", "after the fake arrays", "y"};
    query_set qs = {.n = 4};
    for (int i = 0; i < 4; i++) qs.q[i] = q[i];
    uint64_t va[4];

    /* uncapped: everything indexed */
    mc_dump_shared *sh = mc_dump_shared_new();
    ck_assert_uint_eq(compare_all(d, sh, &qs, va), 3);
    ck_assert_uint_eq(va[0], 0x10000000);
    mc_decode_ctx ctx = {.shared = sh};
    mc_clr_index_stats st;
    ck_assert(mc_clr_index_stats_get(&ctx, d, &st));
    ck_assert(st.complete);
    ck_assert_uint_eq(st.strings, nfake + 2);
    ck_assert_uint_ge(st.arrays[2], 19950);   /* random bytes fail the distinct-bytes test ~1e-4 */
    ck_assert_uint_le(st.arrays[2], 20000);
    mc_dump_shared_free(sh);

    /* capped: 1000 strings, 500 arrays per length */
    sh = mc_dump_shared_new();
    mc_dump_shared_limit(sh, 1000, 500);
    ck_assert_uint_eq(compare_all(d, sh, &qs, va), 3);
    ctx.shared = sh;
    ck_assert(mc_clr_index_stats_get(&ctx, d, &st));
    ck_assert(!st.complete);
    ck_assert_uint_eq(st.strings, 1000);
    ck_assert_uint_eq(st.stop_va, 0x10000000 + 1000 * 16);
    ck_assert_uint_eq(st.arrays[2], 0);       /* the pass stopped before them */
    mc_dump_shared_free(sh);

    /* arrays capped alone */
    sh = mc_dump_shared_new();
    mc_dump_shared_limit(sh, 0, 500);
    ck_assert_uint_eq(compare_all(d, sh, &qs, va), 3);
    ctx.shared = sh;
    ck_assert(mc_clr_index_stats_get(&ctx, d, &st));
    ck_assert(st.complete);
    ck_assert(st.arrays_capped);
    ck_assert_uint_eq(st.arrays[2], 500);
    mc_dump_shared_free(sh);

    /* an expired deadline: the pass stops at once; no answer either way, no crash */
    sh = mc_dump_shared_new();
    mc_decode_ctx late = {.deadline = mc_now() - 1, .shared = sh};
    uint64_t x;
    ck_assert(!mc_clr_find(&late, d, "real string after the fakes", 1, &x));
    ck_assert(mc_clr_index_stats_get(&late, d, &st));
    ck_assert(!st.complete);
    ck_assert_uint_eq(st.strings, 0);
    /* a later lookup with time left completes from the scan */
    mc_decode_ctx ok = {.deadline = mc_now() + 60, .shared = sh};
    ck_assert(mc_clr_find(&ok, d, "real string after the fakes", 1, &x));
    ck_assert_uint_eq(x, 0x10000000 + nfake * 16);
    mc_dump_shared_free(sh);

    /* another dump through the same shared state: scanned, not answered from the wrong index */
    sh = mc_dump_shared_new();
    ctx.shared = sh;
    ctx.deadline = mc_now() + 60;
    ck_assert(mc_clr_find(&ctx, d, "x", 1, &x));
    fx_buf other;
    fx_buf_init(&other);
    fx_put_clr_string(&other, 8, MT64, "only in the other dump");
    fx_align(&other, 0x1000);
    md_dump *d2 = open_buf(&other, true, 0x20000000);
    ck_assert(mc_clr_find(&ctx, d2, "only in the other dump", 1, &x));
    ck_assert_uint_eq(x, 0x20000000);
    ck_assert(!mc_clr_find(&ctx, d2, "x", 1, &x));
    md_close(d2);
    fx_buf_free(&other);
    mc_dump_shared_free(sh);

    md_close(d);
    fx_buf_free(&file);
    fx_buf_free(&b);
}
END_TEST

/* ---- the index fed chunk by chunk (the scan's threads) equals the one-pass build ---- */

/* The one-pass index of d under the caps (0 = default), built lazily as the decoders do. */
static mc_dump_shared *one_pass(const md_dump *d, size_t max_s, size_t max_a)
{
    mc_dump_shared *sh = mc_dump_shared_new();
    mc_dump_shared_limit(sh, max_s, max_a);
    mc_decode_ctx ctx = {.shared = sh};
    mc_clr_index_stats st;
    ck_assert(mc_clr_index_stats_get(&ctx, d, &st));
    return sh;
}

typedef struct cut { const md_run *r; uint64_t lo, hi; } cut;

/* The runs of d cut into chunks: mode 0 random sizes (1 byte to 64 KiB), 1 one chunk per run,
 * 2 every `step` bytes from `from` on (a sweep of edges through one spot). */
static size_t cut_runs(const md_dump *d, int mode, uint64_t from, uint64_t step, cut *v, size_t cap)
{
    size_t n = 0;
    for (size_t r = 0; r < d->nruns; r++) {
        const md_run *run = &d->runs[r];
        uint64_t lo = run->va, end = run->va + run->size;
        while (lo < end) {
            ck_assert_uint_lt(n, cap);
            uint64_t len = mode == 1 ? end - lo
                         : mode == 2 ? (lo < from ? from - lo : step)
                         : (rnd() % 4 == 0 ? 1 + rnd() % 64 : 1 + rnd() % 65536);
            uint64_t hi = end - lo < len ? end : lo + len;
            v[n++] = (cut){run, lo, hi};
            lo = hi;
        }
    }
    return n;
}

/* Fed in a shuffled order to three slots, the chunks give the one-pass index (or, past a cap,
 * nothing: the decoders then build it). */
static void feed_and_compare(const md_dump *d, const mc_dump_shared *ref, cut *v, size_t n,
                             size_t max_s, size_t max_a, bool fits)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd() % i;
        cut t = v[i - 1]; v[i - 1] = v[j]; v[j] = t;
    }
    mc_heap_indexer *x = mc_heap_indexer_new(d, 3);
    ck_assert_ptr_nonnull(x);
    /* a third of them left for finish(), as the engine does before the first string match */
    for (size_t i = 0; i < n; i++) {
        unsigned slot = (unsigned)(rnd() % 3);
        if (rnd() % 3) mc_heap_indexer_item(x, slot, v[i].r, v[i].lo, v[i].hi);
        else mc_heap_indexer_later(x, slot, v[i].r, v[i].lo, v[i].hi);
    }
    mc_dump_shared *sh = mc_dump_shared_new();
    mc_dump_shared_limit(sh, max_s, max_a);
    mc_heap_indexer_finish(x, sh, true);
    mc_heap_indexer_free(x);
    ck_assert(sh->clr_done == fits);
    if (fits) ck_assert_msg(mc_clr_index_same(ref->clr, sh->clr), "chunked index differs (%zu chunks)", n);
    mc_dump_shared_free(sh);
}

static void chunked_equals_one_pass(const md_dump *d, size_t max_s, size_t max_a, bool fits, int rounds)
{
    mc_dump_shared *ref = one_pass(d, max_s, max_a);
    size_t cap = 1u << 20;
    cut *v = malloc(cap * sizeof *v);
    ck_assert_ptr_nonnull(v);
    feed_and_compare(d, ref, v, cut_runs(d, 1, 0, 0, v, cap), max_s, max_a, fits);
    for (int i = 0; i < rounds; i++)
        feed_and_compare(d, ref, v, cut_runs(d, 0, 0, 0, v, cap), max_s, max_a, fits);
    /* without the last chunk the index is not complete: the engine says so */
    size_t n = cut_runs(d, 1, 0, 0, v, cap);
    mc_heap_indexer *x = mc_heap_indexer_new(d, 1);
    for (size_t i = 0; i < n; i++) mc_heap_indexer_item(x, 0, v[i].r, v[i].lo, v[i].hi);
    mc_dump_shared *sh = mc_dump_shared_new();
    mc_heap_indexer_finish(x, sh, false);
    mc_heap_indexer_free(x);
    ck_assert(!sh->clr_done);
    mc_dump_shared_free(sh);
    free(v);
    mc_dump_shared_free(ref);
}

START_TEST(chunked_index_generated_heaps)
{
    static heapgen g;
    init_pool(&g, 777);
    for (unsigned ps = 4; ps <= 8; ps += 4) {
        size_t off[POOL];
        for (size_t i = 0; i < POOL; i++) off[i] = SIZE_MAX;
        fx_buf h, h2;
        fx_buf_init(&h); fx_buf_init(&h2);
        gen_heap(&g, &h, ps, 3000, off);
        gen_heap(&g, &h2, ps, 500, off);
        fx_region regs[] = {
            {.va = 0x02000000, .data = h.p, .size = h.len, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
            {.va = 0x02000000 + h.len, .data = h2.p, .size = h2.len, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
            {.va = 0x50000000, .data = h2.p, .size = h2.len, .protect = MD_PAGE_READONLY, .type = MD_MEM_PRIVATE},
        };
        fx_process proc = {.pid = 5, .arch = ps == 4 ? MD_ARCH_X86 : MD_ARCH_AMD64, .regions = regs, .nregions = 3};
        fx_buf file;
        fx_buf_init(&file);
        fx_minidump(&proc, FX_MD_FULL, &file);
        md_dump *d = open_buf(&file, false, 0);
        chunked_equals_one_pass(d, 0, 0, true, 12);
        md_close(d);
        /* raw: no architecture, objects 4-aligned */
        d = open_buf(&h, true, 0x7000000);
        chunked_equals_one_pass(d, 0, 0, true, 6);
        md_close(d);
        fx_buf_free(&file); fx_buf_free(&h); fx_buf_free(&h2);
    }
}
END_TEST

/* Key arrays and byte[64] objects at every gap around MC_CLR_PAIR_GAP, the chunk edge swept
 * through one pair 4 bytes at a time. */
START_TEST(chunked_index_key_pairs)
{
    fx_buf b;
    fx_buf_init(&b);
    uint8_t data[64];
    uint64_t sweep = 0;
    for (unsigned gap = 0; gap <= MC_CLR_PAIR_GAP + 48; gap += 8) {
        fx_fill_noise(data, 64, 1000 + gap);
        fx_put_clr_bytes(&b, 8, MT64, data, gap % 16 ? 16 : 32);
        if (gap == 200) sweep = b.len;
        fx_put_zeros(&b, gap);
        fx_fill_noise(data, 64, 5000 + gap);
        fx_put_clr_bytes(&b, 8, MT64, data, 64);
        fx_put_clr_string(&b, 8, MT64, "between the pairs");
    }
    fx_align(&b, 0x1000);
    md_dump *d = open_buf(&b, true, 0x10000000);
    mc_dump_shared *ref = one_pass(d, 0, 0);
    const uint64_t *va;
    size_t n, paired = 0;
    mc_decode_ctx ctx = {.shared = ref};
    ck_assert(mc_clr_byte_arrays(&ctx, d, 64, &va, &n));
    for (size_t i = 0; i < n; i++) paired += va[i] & 1;
    ck_assert_uint_gt(paired, 10);            /* some pair, some do not */
    ck_assert_uint_lt(paired, n);
    static cut v[8192];
    for (uint64_t at = sweep - 96; at < sweep + 400; at += 4)
        feed_and_compare(d, ref, v, cut_runs(d, 2, 0x10000000 + at, 64 + rnd() % 700, v, 8192), 0, 0, true);
    mc_dump_shared_free(ref);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* Past a cap the chunks cannot tell which entries the one-pass build keeps: nothing is installed
 * and the decoders build the capped index themselves. */
START_TEST(chunked_index_caps)
{
    fx_buf b;
    fx_buf_init(&b);
    uint8_t data[64];
    for (int i = 0; i < 3000; i++) {
        fx_put_clr_string(&b, 8, MT64, "s");
        fx_fill_noise(data, 64, 77 + (uint64_t)i);
        fx_put_clr_bytes(&b, 8, MT64, data, 32);
    }
    fx_align(&b, 0x1000);
    md_dump *d = open_buf(&b, true, 0x10000000);
    chunked_equals_one_pass(d, 0, 0, true, 2);
    chunked_equals_one_pass(d, 1000, 0, false, 2);   /* strings capped */
    chunked_equals_one_pass(d, 0, 500, false, 2);    /* arrays capped */
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

/* ---- derived keys from the heap ---- */

#define BASE 0x30000000ull

static const td_mark aesrat_marks[] = {
    {"$salt", "\xBF\xEB\x1E\x56\xFB\xCD\x97\x3B", 8},
    {"$s1", "D\0c\0R\0a\0t\0B\0y\0", 14},
    {"$s1", "V\0e\0n\0o\0m\0R\0A\0T\0B\0y\0", 20},
    {"$n2", "InstallFolder", 13},
    {"$n1", "Por_ts", 6},
};
static const td_mark quasar_marks[] = {
    {"$n1", "ENCRYPTIONKEY", 13},
    {"$salt", "\xBF\xEB\x1E\x56\xFB\xCD\x97\x3B", 8},
};

typedef struct key_case {
    const char *fixture;
    const mc_decoder *dec;
    const td_mark *marks;
    size_t nmarks;
    const char *password;
    const uint8_t *salt;
    size_t salt_len;
    size_t key_len;           /* 32, or 16 for Quasar 1.3 */
    const char *key_hex;      /* the config's encryption key: the tests of the family pin it */
    const char *family;
    unsigned salts_before;    /* salts the decoder tries before the right one */
    const char *heap[5];      /* decrypted values the client holds on its heap */
    const char *unspell;      /* salt text whose #US copy is altered (the image no longer spells it) */
} key_case;

typedef enum heap_keys { HK_NONE, HK_RIGHT, HK_WRONG, HK_AUTH_ONLY, HK_KEY_ONLY } heap_keys;

/* After the client's decrypted strings: per `hk`, its derived keys among other arrays. */
typedef struct key_heap { const key_case *kc; heap_keys hk; const uint8_t *dk; } key_heap;

static void key_arrays(fx_buf *heap, const td_layout *lay, const void *arg)
{
    const key_heap *k = arg;
    const key_case *kc = k->kc;
    heap_keys hk = k->hk;
    unsigned ps = lay->ptr_size;
    uint64_t mt = lay->mt;
    uint8_t junk[64];
    fx_put_clr_string(heap, ps, mt, "System.Security.Cryptography.Rfc2898DeriveBytes");
    for (int i = 0; i < 30; i++) {            /* other random arrays, before and between */
        fx_fill_noise(junk, 64, 100 + (uint64_t)i);
        fx_put_clr_bytes(heap, ps, mt, junk, (size_t[]){16, 32, 64, 20}[i % 4]);
    }
    if (hk == HK_RIGHT || hk == HK_KEY_ONLY) fx_put_clr_bytes(heap, ps, mt, k->dk, kc->key_len);
    for (int i = 0; i < 3; i++) {             /* the last blocks of the derivation, garbage */
        fx_fill_noise(junk, 20, 200 + (uint64_t)i);
        fx_put_clr_bytes(heap, ps, mt, junk, 20);
    }
    if (hk == HK_RIGHT || hk == HK_AUTH_ONLY) fx_put_clr_bytes(heap, ps, mt, k->dk + kc->key_len, 64);
    if (hk == HK_WRONG) {
        for (int i = 0; i < 50; i++) {
            fx_fill_noise(junk, 64, 300 + (uint64_t)i);
            fx_put_clr_bytes(heap, ps, mt, junk, kc->key_len);
            fx_put_clr_bytes(heap, ps, mt, junk, 64);
        }
    }
    for (int i = 0; i < 30; i++) {
        fx_fill_noise(junk, 64, 400 + (uint64_t)i);
        fx_put_clr_bytes(heap, ps, mt, junk, (size_t[]){64, 32, 16}[i % 3]);
    }
    fx_put_clr_string(heap, ps, mt, "System.Collections.Generic");
}

/* Noise, the mapped assembly, then a heap with 0x100 noise bytes, the client's decrypted strings
 * (at the same place in every variant) and key_arrays; ptr_size 8 (raw) or 4 (x86). */
static const td_layout key_layouts[2] = {
    {.base = BASE, .noise_seed = 11, .noise_len = TD_IMG_OFF, .ptr_size = 8, .mt = MT64, .heap_noise = 0x100,
     .heap_noise_seed = 3, .filler = "System.Collections.Generic"},
    {.base = BASE, .noise_seed = 11, .noise_len = TD_IMG_OFF, .ptr_size = 4, .mt = MT32, .heap_noise = 0x100,
     .heap_noise_seed = 3, .filler = "System.Collections.Generic"},
};

/* The dump as a raw image at BASE, or (x86) its image and heap at other VAs in a minidump. */
typedef struct key_dump {
    td_dump x;
    fx_buf mini;
    const fx_buf *file;       /* x.raw or mini */
    const uint8_t *img, *heap;
    size_t img_len, heap_len;
    uint64_t img_va, heap_va;
} key_dump;

static void key_dump_build(const key_case *kc, heap_keys hk, bool x86, key_dump *k)
{
    uint8_t dk[MC_AESRAT_DK_LEN];
    ck_assert(mc_pbkdf2_sha1(kc->password, strlen(kc->password), kc->salt, kc->salt_len, 50000, dk,
                             sizeof dk));
    char hex[65];
    mc_hex(dk, kc->key_len, hex);
    ck_assert_str_eq(hex, kc->key_hex);
    size_t nheap = 0;
    while (nheap < 5 && kc->heap[nheap]) nheap++;
    key_heap arg = {kc, hk, dk};
    td_spec sp = {kc->fixture, true, kc->heap, nheap};
    td_extra ex = {NULL, 0, key_arrays, &arg};
    td_build_ex(&key_layouts[x86], &sp, &ex, &k->x);
    k->img = k->x.raw.p + TD_IMG_OFF;
    k->img_len = k->x.heap_off - TD_IMG_OFF;
    k->heap = k->x.raw.p + k->x.heap_off;
    k->heap_len = k->x.raw.len - k->x.heap_off;
    if (kc->unspell) {
        fx_buf w;
        fx_buf_init(&w);
        fx_put_utf16(&w, kc->unspell);
        uint8_t *at = memmem(k->img, k->img_len, w.p, w.len);
        ck_assert_ptr_nonnull(at);
        at[w.len - 2] ^= 0x20;
        fx_buf_free(&w);
    }
    fx_buf_init(&k->mini);
    if (!x86) {
        k->file = &k->x.raw;
        k->img_va = BASE + TD_IMG_OFF;
        k->heap_va = BASE + k->x.heap_off;
        return;
    }
    k->file = &k->mini;
    k->img_va = 0x00400000;
    k->heap_va = 0x02A00000;
    fx_region regs[] = {
        {.va = k->img_va, .data = k->img, .size = k->img_len, .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE},
        {.va = k->heap_va, .data = k->heap, .size = k->heap_len, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
    };
    fx_module mod = {.base = k->img_va, .size = (uint32_t)k->img_len, .path = "C:\\Users\\u\\client.exe"};
    fx_process proc = {.pid = 9, .arch = MD_ARCH_X86, .regions = regs, .nregions = 2,
                       .modules = &mod, .nmodules = 1};
    fx_minidump(&proc, FX_MD_FULL, &k->mini);
}

static void key_dump_free(key_dump *k)
{
    td_free(&k->x);
    fx_buf_free(&k->mini);
}

/* The marks in the image, then (heap) in the heap; hits[64]. */
static mc_hits key_hits(const key_case *kc, const key_dump *k, bool heap, mc_hit *hits)
{
    const char *fam = kc->dec->family;
    size_t n = td_mark_hits(kc->marks, kc->nmarks, k->img, k->img_len, k->img_va, fam, fam, fam, hits, 0, 64);
    if (heap)
        n = td_mark_hits(kc->marks, kc->nmarks, k->heap, k->heap_len, k->heap_va, fam, fam, fam, hits, n, 64);
    return (mc_hits){hits, n};
}

/* The config as text (MACO object, provenance, status, confidence, family) and the derivation
 * counts of one decode, from a cold memo. */
static char *decode_keys(const key_case *kc, heap_keys hk, bool x86, bool shared, mc_aesrat_stats *cost)
{
    key_dump k;
    key_dump_build(kc, hk, x86, &k);
    md_dump *d = open_buf(k.file, !x86, BASE);
    mc_hit hits[64];
    mc_hits h = key_hits(kc, &k, true, hits);
    mc_dump_shared *sh = shared ? mc_dump_shared_new() : NULL;
    mc_decode_ctx ctx = {.deadline = mc_now() + 120, .shared = sh};
    mc_results *r = mc_results_new();
    mc_aesrat_stats s0, s1;
    mc_aesrat_memo_clear();
    mc_aesrat_stats_get(&s0);
    ck_assert_int_eq(kc->dec->decode(&ctx, d, &h, r), 0);
    mc_aesrat_stats_get(&s1);
    cost->full = s1.full - s0.full;
    cost->prefix = s1.prefix - s0.prefix;
    cost->heap = s1.heap - s0.heap;
    ck_assert_uint_eq(mc_results_count(r), 1);
    mc_config *c = mc_results_get(r, 0);
    ck_assert_str_eq(mc_cfg_family(c), kc->family);
    json_t *e = NULL, *x;
    size_t i;
    json_array_foreach(json_object_get(mc_cfg_json(c), "encryption"), i, x)
        if (strcmp(json_string_value(json_object_get(x, "usage")), "config") == 0) e = x;
    ck_assert_str_eq(json_string_value(json_object_get(e, "key")), kc->key_hex);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(mc_cfg_json(c), "password"), 0)),
                     kc->password);
    json_t *all = json_pack("{s:O, s:O, s:i, s:i, s:s}", "config", mc_cfg_json(c), "prov",
                            mc_cfg_provenance(c), "status", (int)mc_cfg_get_status(c), "conf",
                            mc_cfg_get_confidence(c), "family", mc_cfg_family(c));
    char *text = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(all);
    mc_results_free(r);
    mc_dump_shared_free(sh);
    md_close(d);
    key_dump_free(&k);
    return text;
}

static void key_case_run(const key_case *kc, bool x86)
{
    mc_aesrat_stats base, c;
    /* reference: no shared state, no heap keys on the heap */
    char *ref = decode_keys(kc, HK_NONE, x86, false, &base);
    ck_assert_uint_ge(base.full, 1);
    ck_assert_ptr_nonnull(strstr(ref, "heap_decrypted"));
    ck_assert_uint_eq(base.heap, 0);

    /* heap keys present, no index (engine without shared state): the old path, same config */
    char *t = decode_keys(kc, HK_RIGHT, x86, false, &c);
    ck_assert_uint_eq(c.full, base.full);
    ck_assert_uint_eq(c.heap, 0);
    free(t);

    /* heap keys through the index: no whole derivation, one first block per salt tried */
    t = decode_keys(kc, HK_RIGHT, x86, true, &c);
    ck_assert_str_eq(t, ref);
    ck_assert_uint_eq(c.full, 0);
    ck_assert_uint_eq(c.prefix, kc->salts_before + 1);
    ck_assert_uint_eq(c.heap, 1);
    free(t);

    /* wrong keys (random byte[64]s that verify nothing), a lone auth key, a lone key: the whole
     * derivation, the same config */
    heap_keys bad[] = {HK_WRONG, HK_AUTH_ONLY, HK_KEY_ONLY};
    for (int i = 0; i < 3; i++) {
        t = decode_keys(kc, bad[i], x86, true, &c);
        ck_assert_str_eq(t, ref);
        ck_assert_uint_eq(c.heap, 0);
        ck_assert_uint_eq(c.full, base.full);
        ck_assert_uint_eq(c.prefix, 0);
        free(t);
    }
    free(ref);
}

static const uint8_t dcrat_salt[] = "DcRatByqwqdanchun";

static const key_case async_kc = {
    "asyncrat.exe", &mc_decoder_asyncrat, aesrat_marks, 5, "pQ4zR8tY2uW6vX0aB3cD5eF7gH9iJ1kL",
    mc_aesrat_quasar_salt, 32, 32, "242e1bce10d5a82fab36a4e5dbdd2fd30b1408dc0a8105f5f7534ec4cc3862e9",
    "asyncrat", 0,
    {"203.0.113.17,198.51.100.23,async.c2.example", "6606,7707,8808", "AsyncMutex_6SI8OkPnk",
     "Default", "0.5.8"}, NULL};
/* DcRat through the AsyncRAT decoder: the image spells the DcRat salt, so it is tried first. */
static const key_case dcrat_kc = {
    "dcrat.exe", &mc_decoder_asyncrat, aesrat_marks, 5, "mN2bV4cX6zL8kJ0hG1fD3sA5qW7eR9tY",
    dcrat_salt, 17, 32, "2bfa7d0394f5ef356d756e13afaf5b89969e9bf71d31404f4d742fc092d537e3",
    "dcrat", 0, {"192.0.2.80,dc.c2.test", "8848,9949", "DcRatMutex_qwqdanchun", "dc-group", "1.0.7"},
    NULL};
static const key_case q14_kc = {
    "quasar14.exe", &mc_decoder_quasar, quasar_marks, 2, "0C3F9A7D21B4E58C6A0F1D2E3B4C5D6E7F801234",
    mc_aesrat_quasar_salt, 32, 32, "8dfb1827616a055483b9322fa433855db5587b37f58c855774eb4cfaa319737b",
    "quasar", 0, {"192.0.2.44:4782;198.51.100.9:443;c2.quasar.example:4782;",
                  "5b1d0c9e-3f7a-4e2b-8c6d-1a2b3c4d5e6f", "Office04"}, NULL};
static const key_case q13_kc = {
    "quasar13.exe", &mc_decoder_quasar, quasar_marks, 2, "Vq7TnB2xKc9LmZ4pRw1s",
    mc_aesrat_quasar_salt, 32, 16, "b009b53636368f079bfc591964609bc7", "quasar", 0,
    {"198.51.100.23:4782;backup.quasar.test:4783;", "QSR_MUTEX_h3Xk29LmQpZa", "campaign-13"}, NULL};

/* Quasar's decoder on an AsyncRAT client, its keys on the heap or not: the config it gives and
 * the key derivations it costs. */
static size_t quasar_on_async(heap_keys hk, bool shared, mc_aesrat_stats *cost)
{
    key_case kc = async_kc;
    kc.dec = &mc_decoder_quasar;
    kc.marks = quasar_marks;
    kc.nmarks = 2;
    key_dump k;
    key_dump_build(&kc, hk, false, &k);
    md_dump *d = open_buf(k.file, true, BASE);
    mc_hit hits[64];
    mc_hits h = key_hits(&kc, &k, false, hits);
    ck_assert_uint_gt(h.n, 0);
    mc_dump_shared *sh = shared ? mc_dump_shared_new() : NULL;
    mc_decode_ctx ctx = {.deadline = mc_now() + 120, .shared = sh};
    mc_results *r = mc_results_new();
    mc_aesrat_stats s0, s1;
    mc_aesrat_memo_clear();
    mc_aesrat_stats_get(&s0);
    ck_assert_int_eq(mc_decoder_quasar.decode(&ctx, d, &h, r), 0);
    mc_aesrat_stats_get(&s1);
    cost->full = s1.full - s0.full;
    cost->prefix = s1.prefix - s0.prefix;
    cost->heap = s1.heap - s0.heap;
    size_t nc = mc_results_count(r);
    mc_results_free(r);
    mc_dump_shared_free(sh);
    md_close(d);
    key_dump_free(&k);
    return nc;
}

/* Quasar's rule fires on AsyncRAT-family clients (their Aes256 and salt are Quasar's). The
 * Quasar decoder leaves such a Settings class to that family's decoders: no config and not one
 * key derivation, with no, right or wrong keys on the heap. */
START_TEST(quasar_leaves_aesrat_clients)
{
    static const heap_keys kinds[] = {HK_NONE, HK_RIGHT, HK_WRONG};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        mc_aesrat_stats cost;
        ck_assert_uint_eq(quasar_on_async(kinds[i], true, &cost), 0);
        ck_assert_uint_eq(cost.full, 0);
        ck_assert_uint_eq(cost.prefix, 0);
        ck_assert_uint_eq(cost.heap, 0);
    }
}
END_TEST

START_TEST(heap_keys_asyncrat) { key_case_run(&async_kc, false); key_case_run(&async_kc, true); }
END_TEST

/* The same with the salt text altered in the image: the AsyncRAT salt's first block is tried and
 * refuted, the DcRat salt's confirms the heap key and names the family. */
START_TEST(heap_keys_dcrat_attribution)
{
    key_case_run(&dcrat_kc, false);
    key_case kc = dcrat_kc;
    kc.unspell = "DcRatByqwqdanchun";
    kc.salts_before = 1;
    key_case_run(&kc, false);
}
END_TEST

START_TEST(heap_keys_quasar14) { key_case_run(&q14_kc, false); key_case_run(&q14_kc, true); }
END_TEST

START_TEST(heap_keys_quasar13) { key_case_run(&q13_kc, false); }
END_TEST

/* ---- mc_heap_find_many: every match in heap stretches, one pass ---- */

typedef struct found_set { size_t n; size_t needle[32]; uint64_t va[32]; size_t stop_after; } found_set;

static bool on_found(void *arg, size_t needle, uint64_t va, const mc_heap_span *sp, size_t off)
{
    found_set *f = arg;
    ck_assert_uint_eq(sp->va + off, va);
    ck_assert_uint_lt(f->n, 32);
    f->needle[f->n] = needle;
    f->va[f->n++] = va;
    return f->n != f->stop_after;
}

/* Needles across the 256 KiB search windows and across two adjacent heap regions are found; the
 * same bytes in an image or read-only region are not; matches come in VA order; the callback
 * stops the pass. */
START_TEST(heap_find_many)
{
    enum { IMG = 0x10000, HEAP_A = 0x60000, HEAP_B = 0x40000, RO = 0x10000 };
    static const char n0[] = "c2-one.example/api", n1[] = "second.test";
    uint8_t *img = calloc(1, IMG), *ha = calloc(1, HEAP_A), *hb = calloc(1, HEAP_B), *ro = calloc(1, RO);
    memcpy(img + 0x100, n0, sizeof n0 - 1);
    memcpy(ro + 0x100, n1, sizeof n1 - 1);
    memcpy(ha + 0x3fff8, n0, sizeof n0 - 1);                 /* across the first window edge */
    memcpy(ha + 0x50000, n1, sizeof n1 - 1);
    memcpy(ha + HEAP_A - 5, n0, 5);                          /* across the region edge... */
    memcpy(hb, n0 + 5, sizeof n0 - 1 - 5);                   /* ...into the next region */
    memcpy(hb + 0x20000, n1, sizeof n1 - 1);
    fx_region regs[4] = {
        {.va = 0x400000, .data = img, .size = IMG, .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE},
        {.va = 0x1000000, .data = ha, .size = HEAP_A, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = 0x1000000 + HEAP_A, .data = hb, .size = HEAP_B, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = 0x2000000, .data = ro, .size = RO, .protect = MD_PAGE_READONLY, .type = MD_MEM_PRIVATE},
    };
    fx_process proc = {.pid = 9, .arch = MD_ARCH_AMD64, .regions = regs, .nregions = 4};
    fx_buf file;
    fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
    md_dump *d = open_buf(&file, false, 0);
    mc_decode_ctx ctx = {.deadline = 0};
    mc_needle nd[2] = {{n0, sizeof n0 - 1}, {n1, sizeof n1 - 1}};
    found_set f = {0};
    mc_heap_find_many(&ctx, d, nd, 2, on_found, &f);
    /* One stretch (the two heap regions are adjacent), in VA order. */
    const size_t want_n[4] = {0, 1, 0, 1};
    const uint64_t want_va[4] = {0x1000000 + 0x3fff8, 0x1000000 + 0x50000, 0x1000000 + HEAP_A - 5,
                                 0x1000000 + HEAP_A + 0x20000};
    ck_assert_uint_eq(f.n, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(f.needle[i], want_n[i]);
        ck_assert_uint_eq(f.va[i], want_va[i]);
    }
    found_set g = {.stop_after = 2};
    mc_heap_find_many(&ctx, d, nd, 2, on_found, &g);
    ck_assert_uint_eq(g.n, 2);
    md_close(d);
    fx_buf_free(&file);
    free(img); free(ha); free(hb); free(ro);
}
END_TEST

/* The one-pass search of many needles equals a search of each needle on its own: random heap
 * bytes from a 4-letter alphabet (so needles recur by chance and overlap), needles that are
 * prefixes and suffixes of one another, ASCII and UTF-16LE forms, planted across window and region
 * edges; every (VA, needle) pair, in VA order, needle order at one VA. */
typedef struct match_log { size_t n, cap; uint64_t *va; size_t *needle; } match_log;

static bool on_log(void *arg, size_t needle, uint64_t va, const mc_heap_span *sp, size_t off)
{
    match_log *l = arg;
    (void)sp; (void)off;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->va = realloc(l->va, l->cap * sizeof *l->va);
        l->needle = realloc(l->needle, l->cap * sizeof *l->needle);
        ck_assert(l->va && l->needle);
    }
    l->va[l->n] = va;
    l->needle[l->n++] = needle;
    return true;
}

START_TEST(heap_find_many_equals_one_by_one)
{
    enum { HA = 0xa0000, HB = 0x30000, NN = 9 };
    uint8_t *ha = malloc(HA), *hb = malloc(HB);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < HA + HB; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        uint8_t c = (uint8_t)"abc\0"[x % 4];
        if (i < HA) ha[i] = c; else hb[i - HA] = c;
    }
    static const uint8_t w_abca[] = {'a', 0, 'b', 0, 'c', 0, 'a', 0};
    const mc_needle nd[NN] = {
        {"abca", 4}, {"abcab", 5}, {"bcab", 4}, {"cab\0ab", 7}, {"aaaa", 4},
        {w_abca, sizeof w_abca}, {"abcabcabcabcabca", 16}, {"ccccc", 5}, {"ab", 2},
    };
    /* Long needles planted across the first window edge and across the two regions. */
    memcpy(ha + 0x3fff9, "abcabcabcabcabca", 16);
    memcpy(ha + HA - 7, "abcabca", 7);
    memcpy(hb, "bcabcabca", 9);
    fx_region regs[2] = {
        {.va = 0x1000000, .data = ha, .size = HA, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = 0x1000000 + HA, .data = hb, .size = HB, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
    };
    fx_process proc = {.pid = 9, .arch = MD_ARCH_AMD64, .regions = regs, .nregions = 2};
    fx_buf file;
    fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
    md_dump *d = open_buf(&file, false, 0);
    mc_decode_ctx ctx = {.deadline = 0};
    for (size_t sub = 2; sub <= NN; sub++) {  /* the first 2, 3, ... needles; 9 brings "ab" in */
        match_log all = {0}, one[NN] = {{0}};
        mc_heap_find_many(&ctx, d, nd, sub, on_log, &all);
        size_t total = 0;
        for (size_t k = 0; k < sub; k++) {
            mc_heap_find_many(&ctx, d, &nd[k], 1, on_log, &one[k]);
            total += one[k].n;
        }
        ck_assert_uint_gt(total, 100);
        ck_assert_uint_eq(all.n, total);
        size_t next[NN] = {0};
        for (size_t i = 0; i < all.n; i++) {
            size_t k = all.needle[i];
            ck_assert_uint_lt(k, sub);
            ck_assert_uint_lt(next[k], one[k].n);
            ck_assert_uint_eq(all.va[i], one[k].va[next[k]++]);
            if (i) ck_assert(all.va[i - 1] < all.va[i] ||
                             (all.va[i - 1] == all.va[i] && all.needle[i - 1] < k));
        }
        free(all.va); free(all.needle);
        for (size_t k = 0; k < sub; k++) { free(one[k].va); free(one[k].needle); }
    }
    md_close(d);
    fx_buf_free(&file);
    free(ha); free(hb);
}
END_TEST

/* mc_heap_find_tokens (the scan's host tokens) gives what mc_heap_find_many gives, for needles
 * that are a token followed by NUL (only those matches) or by ':' and more: random heap bytes over
 * an alphabet of host chars, '.', '/', ':', NUL and others (tokens everywhere, of every length,
 * ASCII and UTF-16), two adjacent heap regions, an image and a read-only region holding the same
 * bytes, the index fed in random chunks. */
typedef struct tok_case { const char *text; bool wide; } tok_case;

static bool followed_by_nul(const mc_heap_span *sp, size_t off, size_t len, bool wide)
{
    size_t u = wide ? 2 : 1;
    if (off + len + u > sp->len) return false;
    return sp->p[off + len] == 0 && (!wide || sp->p[off + len + 1] == 0);
}

typedef struct filt_log { match_log log; const mc_needle *nd; const bool *wide; const bool *all_token; } filt_log;

static bool on_filtered(void *arg, size_t needle, uint64_t va, const mc_heap_span *sp, size_t off)
{
    filt_log *f = arg;
    if (f->all_token[needle] && !followed_by_nul(sp, off, f->nd[needle].len, f->wide[needle])) return true;
    return on_log(&f->log, needle, va, sp, off);
}

START_TEST(heap_find_tokens_equals_find_many)
{
    enum { HA = 0x50000, HB = 0x20000, NN = 12 };
    static const char alpha[] = "ab.c:/\0\0x-1\x80 ";   /* NUL twice: strings end often */
    uint8_t *ha = malloc(HA), *hb = malloc(HB), *img = malloc(0x10000);
    rng_state = 0x51ed270b27ull;
    for (size_t i = 0; i < HA + HB; i++) {
        uint8_t c = (uint8_t)alpha[rnd() % (sizeof alpha - 1)];
        if (i < HA) ha[i] = c; else hb[i - HA] = c;
    }
    /* UTF-16 stretches: the same alphabet, every other byte 0 */
    for (size_t at = 0x1000; at + 0x800 < HA; at += 0x4000)
        for (size_t i = 0; i < 0x400; i++) { ha[at + 2 * i] = (uint8_t)alpha[rnd() % (sizeof alpha - 1)]; ha[at + 2 * i + 1] = 0; }
    memcpy(ha + HA - 6, "ab.cab.c", 6);                /* a token across the two regions */
    memcpy(hb, "b.c\0", 3);
    static const tok_case tc[NN] = {
        {"ab.c", false}, {"b.ca", false}, {"a.bc", false}, {"ab.cab.c", false}, {"abab.c", false},
        {"ab.c", true}, {"a.bc", true}, {"c.ab", true},
        {"ab.c:", false}, {"ab.b:c", false}, {"ab.c:a", true}, {"b.b.:", false},
    };
    mc_needle nd[NN];
    bool wide[NN], all_token[NN];
    uint8_t wbuf[NN][32];
    for (size_t k = 0; k < NN; k++) {
        size_t n = strlen(tc[k].text);
        wide[k] = tc[k].wide;
        all_token[k] = !strchr(tc[k].text, ':');
        if (!wide[k]) { nd[k] = (mc_needle){tc[k].text, n}; continue; }
        for (size_t i = 0; i < n; i++) { wbuf[k][2 * i] = (uint8_t)tc[k].text[i]; wbuf[k][2 * i + 1] = 0; }
        nd[k] = (mc_needle){wbuf[k], 2 * n};
    }
    /* planted copies, half of them followed by NUL (in their form) */
    for (int i = 0; i < 600; i++) {
        size_t k = rnd() % NN, at = rnd() % (HA + HB - 64);
        uint8_t *p = at < HA - 64 ? ha + at : hb + (at % (HB - 64));
        memcpy(p, nd[k].p, nd[k].len);
        if (rnd() % 2) memset(p + nd[k].len, 0, 2);
    }
    memcpy(img, ha, 0x10000);
    fx_region regs[4] = {
        {.va = 0x400000, .data = img, .size = 0x10000, .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE},
        {.va = 0x1000000, .data = ha, .size = HA, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = 0x1000000 + HA, .data = hb, .size = HB, .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE},
        {.va = 0x3000000, .data = img, .size = 0x10000, .protect = MD_PAGE_READONLY, .type = MD_MEM_PRIVATE},
    };
    fx_process proc = {.pid = 9, .arch = MD_ARCH_AMD64, .regions = regs, .nregions = 4};
    fx_buf file;
    fx_buf_init(&file);
    fx_minidump(&proc, FX_MD_FULL, &file);
    md_dump *d = open_buf(&file, false, 0);
    mc_decode_ctx ctx = {.deadline = 0};
    /* no index: not answered */
    match_log none = {0};
    ck_assert(!mc_heap_find_tokens(&ctx, d, nd, wide, NN, on_log, &none));
    static cut v[1u << 16];
    for (int round = 0; round < 4; round++) {
        size_t n = cut_runs(d, round ? 0 : 1, 0, 0, v, 1u << 16);
        mc_heap_indexer *x = mc_heap_indexer_new(d, 2);
        for (size_t i = 0; i < n; i++) mc_heap_indexer_item(x, (unsigned)(rnd() % 2), v[i].r, v[i].lo, v[i].hi);
        mc_dump_shared *sh = mc_dump_shared_new();
        mc_heap_indexer_finish(x, sh, true);
        mc_heap_indexer_free(x);
        ctx.shared = sh;
        for (size_t sub = 1; sub <= NN; sub++) {
            size_t first = sub == NN ? 0 : sub - 1, cnt = sub == NN ? NN : 1;   /* each alone, then all */
            filt_log ref = {.nd = nd + first, .wide = wide + first, .all_token = all_token + first};
            match_log got = {0};
            mc_heap_find_many(&ctx, d, nd + first, cnt, on_filtered, &ref);
            ck_assert(mc_heap_find_tokens(&ctx, d, nd + first, wide + first, cnt, on_log, &got));
            ck_assert_msg(got.n == ref.log.n, "needle set %zu: %zu token matches, %zu by search", sub, got.n, ref.log.n);
            for (size_t i = 0; i < got.n; i++) {
                ck_assert_uint_eq(got.va[i], ref.log.va[i]);
                ck_assert_uint_eq(got.needle[i], ref.log.needle[i]);
            }
            if (sub == NN) ck_assert_uint_gt(got.n, 150);
            free(got.va); free(got.needle); free(ref.log.va); free(ref.log.needle);
        }
        /* a needle the tokens cannot answer: no dot, too short */
        mc_needle bad[2] = {{"abab", 4}, {"a.b", 3}};
        ck_assert(!mc_heap_find_tokens(&ctx, d, bad, (bool[]){false, false}, 1, on_log, &none));
        ck_assert(!mc_heap_find_tokens(&ctx, d, bad + 1, (bool[]){false}, 1, on_log, &none));
        ck_assert_uint_eq(none.n, 0);
        mc_dump_shared_free(sh);
        ctx.shared = NULL;
    }
    md_close(d);
    fx_buf_free(&file);
    free(ha); free(hb); free(img);
}
END_TEST

Suite *clridx_suite(void)
{
    Suite *s = suite_create("clridx");
    /* one case per test, so that CK_RUN_CASE picks one */
    const struct { const char *name; const TTest *t; } tests[] = {
        {"index_equals_scan_x64", index_equals_scan_x64},
        {"index_equals_scan_x86", index_equals_scan_x86},
        {"index_equals_scan_raw", index_equals_scan_raw},
        {"index_threads", index_threads},
        {"hostile_lengths_and_alignment", hostile_lengths_and_alignment},
        {"hostile_fake_headers", hostile_fake_headers},
        {"heap_keys_asyncrat", heap_keys_asyncrat},
        {"heap_keys_dcrat_attribution", heap_keys_dcrat_attribution},
        {"heap_keys_quasar14", heap_keys_quasar14},
        {"heap_keys_quasar13", heap_keys_quasar13},
        {"quasar_leaves_aesrat_clients", quasar_leaves_aesrat_clients},
        {"chunked_index_generated_heaps", chunked_index_generated_heaps},
        {"chunked_index_key_pairs", chunked_index_key_pairs},
        {"chunked_index_caps", chunked_index_caps},
        {"heap_find_many", heap_find_many},
        {"heap_find_many_equals_one_by_one", heap_find_many_equals_one_by_one},
        {"heap_find_tokens_equals_find_many", heap_find_tokens_equals_find_many},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, tests[i].t);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return tu_run_suite(clridx_suite());
}
