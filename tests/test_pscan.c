/* The parallel scan gives exactly the hits of the reference pass (one scanner over whole runs):
 * markers on work-item boundaries, at the edges of skipped zero stretches, conditions that
 * combine strings from different runs, counts, private strings, data reads, strings that match
 * zeros, a window edge that makes up a fullword match, chained strings, and seeded random
 * layouts, for 1, 2 and 4 threads and several item sizes. */
#include "fixtures/fx.h"
#include "mc_internal.h"
#include "testutil.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VA_HEAP 0x10000000ull
#define VA_SPARSE 0x20000000ull
#define VA_PAIR 0x30000000ull
#define HEAP_SIZE (3u << 20)
#define SPARSE_SIZE (2u << 20)
#define PAIR_SIZE 0x3000u
#define CHUNK (64u << 10)

static const char rules[] =
    "rule t_lit { strings: $a = \"PSCAN-LITERAL\" condition: $a }\n"
    "rule t_full { strings: $w = \"KEYWORD\" fullword condition: #w >= 1 }\n"
    "rule t_wide { strings: $u = \"WideMark\" wide condition: $u }\n"
    "rule t_hex { strings: $h = { 50 53 43 ?? 4E [2-6] 45 4E 44 } condition: $h }\n"
    "rule t_re { strings: $r = /B64:[A-Za-z0-9+\\/]{8,64}=*/ condition: #r > 2 }\n"
    "rule t_pair { strings: $x = \"PAIR-LEFT\" $y = \"PAIR-RIGHT\" "
    "  condition: $x and $y and @y[1] > @x[1] }\n"
    "rule t_count { strings: $c = \"TICK\" condition: #c == 7 }\n"
    "rule t_uint { condition: uint32(0x10000000) == 0x12345678 }\n"
    "rule t_size { condition: not defined filesize }\n"
    "private rule t_priv { strings: $p = \"PRIVMARK\" condition: $p }\n"
    "rule t_uses_priv { condition: t_priv }\n"
    "rule t_pstr { strings: $q = \"QMARK\" private $s = \"SMARK\" condition: $q and $s }\n"
    "rule t_zedge { strings: $z = { 5A 45 52 4F 00 00 00 00 00 00 00 00 } "
    "  $zz = /ZERO\\x00{300}/ condition: $z and $zz }\n"
    "rule t_edgez { strings: $e = { 00 00 00 00 00 00 00 00 45 44 47 45 } "
    "  $ee = /\\x00{300}EDGE/ condition: $e and $ee }\n";

static const char zero_rules[] =
    "rule z_lit { strings: $a = \"PSCAN-LITERAL\" condition: $a }\n"
    "rule z_zero { strings: $z = { 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 } "
    "  condition: #z > 100 }\n";

static const char chain_rules[] =
    "rule c_chain { strings: $c = { 50 53 43 41 4E [300-400] 45 4E 44 21 } condition: $c }\n"
    "rule c_lit { strings: $a = \"PSCAN-LITERAL\" condition: $a }\n";

static uint8_t *heap, *sparse, *pair;

static void compile(const char *src, mc_ruledb *db)
{
    mc_rule_srcs s = {0};
    ck_assert_int_eq(mc_rule_srcs_add(&s, "t", "t.yar", src, strlen(src)), 0);
    char err[512];
    ck_assert_msg(mc_ruledb_compile(&s, false, NULL, NULL, db, err, sizeof err) == 0, "%s", err);
    mc_rule_srcs_free(&s);
}

static void put(uint8_t *base, size_t off, const void *s, size_t n)
{
    memcpy(base + off, s, n);
}

static void put_wide(uint8_t *base, size_t off, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        base[off + 2 * i] = (uint8_t)s[i];
        base[off + 2 * i + 1] = 0;
    }
}

/* Noise is overwritten with spaces around markers so that fullword decisions are local. */
static void put_word(uint8_t *base, size_t off, const char *s)
{
    base[off - 1] = ' ';
    put(base, off, s, strlen(s));
    base[off + strlen(s)] = ' ';
}

/* Markers at and across the item boundaries (multiples of CHUNK from the run start), TICKs
 * spread over items, a region that is mostly zeros with data and markers at its edges. */
static void layout(uint64_t seed)
{
    fx_fill_noise(heap, HEAP_SIZE, seed);
    memcpy(heap, "\x78\x56\x34\x12", 4);
    for (unsigned k = 1; k < 6; k++) {
        size_t b = (size_t)k * CHUNK;
        put_word(heap, b - 5, "PSCAN-LITERAL");           /* straddles the boundary */
        put_word(heap, b + 3 * k + 100, "KEYWORD");
        put_wide(heap, b - 2 * k - 3, "WideMark");
        put(heap, b + 0x800 - k, "PSC\x01N\x7f\x7f\x7f" "END", 11);
        put(heap, b + 0x1000 - 20, "B64:QUJDREVGR0hJSktMTU5PUA==", 28);
    }
    for (unsigned k = 0; k < 7; k++)
        put(heap, (size_t)k * (HEAP_SIZE / 7) + 17, "TICK", 4);
    put(heap, HEAP_SIZE - 5, "QMARK", 5);                  /* ends with the run */
    put(heap, 9 * CHUNK + 1, "SMARK", 5);
    put(heap, 11 * CHUNK - 4, "PRIVMARK", 8);

    memset(sparse, 0, SPARSE_SIZE);
    fx_fill_noise(sparse + 0x40000, 0x1000, seed + 1);
    put(sparse, 0x40000 + 0x1000 - 4, "ZERO", 4);          /* data ends: zeros follow */
    put(sparse, 0x100000, "EDGE", 4);                      /* zeros before it */
    put(sparse, 0x180000, "PSCAN-LITERAL", 13);            /* an island in zeros */
    put(sparse, SPARSE_SIZE - 13, "PSCAN-LITERAL", 13);

    fx_fill_noise(pair, PAIR_SIZE, seed + 2);
    put(pair, 0x100, "PAIR-LEFT", 9);
    put(heap, 7 * CHUNK - 3, "PAIR-RIGHT", 10);   /* below PAIR-LEFT: t_pair must fail */
}

static void build(fx_buf *out)
{
    fx_region regions[] = {
        {.va = VA_HEAP, .data = heap, .size = HEAP_SIZE},
        {.va = VA_SPARSE, .data = sparse, .size = SPARSE_SIZE},
        {.va = VA_PAIR, .data = pair, .size = PAIR_SIZE},
    };
    fx_process p = {.pid = 42, .arch = MD_ARCH_AMD64, .regions = regions, .nregions = 3};
    fx_buf_init(out);
    fx_minidump(&p, FX_MD_FULL, out);
}

/* A test's rules and its dump. */
typedef struct world {
    mc_ruledb db;
    fx_buf b;
    md_dump *d;
    char err[256];
} world;

/* The rules compiled and the regions laid out with this seed (a test may change them, then
 * build_open). */
static void world_begin(world *w, const char *src, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    compile(src, &w->db);
    layout(seed);
}

/* w->b opened as the dump. */
static void open_dump(world *w)
{
    ck_assert_int_eq(md_open_mem(w->b.p, w->b.len, NULL, &w->d, w->err, sizeof w->err), MD_OK);
}

/* The regions written as the dump (build) and opened. */
static void build_open(world *w)
{
    build(&w->b);
    open_dump(w);
}

static void close_dump(world *w)
{
    md_close(w->d);
    w->d = NULL;
    fx_buf_free(&w->b);
}

static void world_end(world *w)
{
    close_dump(w);
    mc_ruledb_free(&w->db);
}

static void setup(void)
{
    ck_assert_int_eq(mc_yara_acquire(), 0);
    heap = malloc(HEAP_SIZE);
    sparse = malloc(SPARSE_SIZE);
    pair = malloc(PAIR_SIZE);
    ck_assert(heap && sparse && pair);
}

static void teardown(void)
{
    free(heap);
    free(sparse);
    free(pair);
    mc_yara_release();
}

static void same_scan(const mc_scan *a, const mc_scan *b)
{
    ck_assert_uint_eq(a->nmatched, b->nmatched);
    for (size_t i = 0; i < a->nmatched; i++)
        ck_assert_uint_eq(a->matched[i], b->matched[i]);
    ck_assert_uint_eq(a->nhits, b->nhits);
    for (size_t i = 0; i < a->nhits; i++) {
        const mc_hit *x = &a->hits[i], *y = &b->hits[i];
        ck_assert_msg(x->va == y->va && x->len == y->len && strcmp(x->rule, y->rule) == 0 &&
                          strcmp(x->string_id, y->string_id) == 0 && strcmp(x->ns, y->ns) == 0,
                      "hit %zu: %s%s@%llx+%u vs %s%s@%llx+%u", i, x->rule, x->string_id,
                      (unsigned long long)x->va, x->len, y->rule, y->string_id,
                      (unsigned long long)y->va, y->len);
    }
    ck_assert_int_eq(a->partial, b->partial);
}

/* Scan d with the reference pass and with every (threads, chunk) pair; all must agree. Returns
 * the reference (caller frees) and the stats of the last parallel run. */
static void check_all(const mc_ruledb *db, const md_dump *d, const char *mode, mc_scan *ref,
                      mc_scan_stats *last)
{
    char err[256];
    mc_scan_cfg rc = {.reference = true};
    ck_assert_int_eq(mc_scan_dump_ex(db, d, 0, &rc, ref, NULL, err, sizeof err), 0);
    static const unsigned threads[] = {1, 2, 4};
    static const uint64_t chunks[] = {CHUNK, CHUNK + 4097, 0};
    for (size_t t = 0; t < 3; t++)
        for (size_t c = 0; c < 3; c++) {
            mc_scan_cfg cfg = {.threads = threads[t], .chunk = chunks[c]};
            mc_scan s;
            ck_assert_int_eq(mc_scan_dump_ex(db, d, 0, &cfg, &s, last, err, sizeof err), 0);
            same_scan(ref, &s);
            /* a fallback would hide a wrong phase 1 behind the reference pass */
            if (mode)
                ck_assert_str_eq(last->mode, mode);
            mc_scan_free(&s);
        }
}

static bool matched(const mc_ruledb *db, const mc_scan *s, const char *rule)
{
    for (size_t i = 0; i < s->nmatched; i++)
        if (strcmp(db->rule[s->matched[i]].name, rule) == 0)
            return true;
    return false;
}

START_TEST(boundaries_and_zero_edges)
{
    world w;
    world_begin(&w, rules, 7);
    build_open(&w);
    mc_scan ref;
    mc_scan_stats st;
    check_all(&w.db, w.d, "parallel", &ref, &st);
    static const char *const want[] = {"t_lit", "t_full", "t_wide", "t_hex", "t_re", "t_count",
                                       "t_uint", "t_size", "t_uses_priv", "t_pstr", "t_zedge",
                                       "t_edgez"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(matched(&w.db, &ref, want[i]), "%s did not match", want[i]);
    ck_assert(!matched(&w.db, &ref, "t_pair"));   /* PAIR-RIGHT is below PAIR-LEFT */
    ck_assert_str_eq(st.mode, "parallel");
    ck_assert_uint_gt(st.zero_skipped, SPARSE_SIZE / 2);
    ck_assert_uint_lt(st.scanned, w.d->bytes);
    mc_scan_free(&ref);
    world_end(&w);
}
END_TEST

START_TEST(condition_across_runs)
{
    world w;
    world_begin(&w, rules, 8);
    put(pair, 0x100, "PAIR-RIGHT", 10);     /* now right above left: heap < pair */
    put(heap, 7 * CHUNK - 3, "PAIR-LEFT!", 10);
    build_open(&w);
    mc_scan ref;
    mc_scan_stats st;
    check_all(&w.db, w.d, "parallel", &ref, &st);
    ck_assert(matched(&w.db, &ref, "t_pair"));
    mc_scan_free(&ref);
    world_end(&w);
}
END_TEST

START_TEST(random_layouts)
{
    world w;
    world_begin(&w, rules, 31);   /* laid out again for each seed below */
    static const char *const marks[] = {"PSCAN-LITERAL", "KEYWORD", "TICK", "QMARK", "SMARK",
                                        "PRIVMARK", "PAIR-LEFT", "PAIR-RIGHT", "ZERO", "EDGE"};
    for (uint64_t seed = 1; seed <= 6; seed++) {
        layout(seed * 31);
        uint64_t x = seed * 0x9e3779b97f4a7c15ull;
        for (int k = 0; k < 200; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const char *m = marks[x % 10];
            size_t len = strlen(m);
            uint8_t *base = (x >> 8) & 1 ? heap : sparse;
            size_t size = base == heap ? HEAP_SIZE : SPARSE_SIZE;
            size_t off = (size_t)((x >> 16) % (size - len));
            if ((x >> 9) & 1)   /* near a boundary of some item size */
                off = (size_t)(((x >> 16) % (size / CHUNK - 1) + 1) * CHUNK - (x >> 40) % 24);
            if (off + len <= size)
                put(base, off, m, len);
        }
        build_open(&w);
        mc_scan ref;
        mc_scan_stats st;
        check_all(&w.db, w.d, NULL, &ref, &st);
        mc_scan_free(&ref);
        close_dump(&w);
    }
    world_end(&w);
}
END_TEST

/* A string that matches zeros turns skipping off; the hits stay the reference's. */
START_TEST(zero_matching_string)
{
    world w;
    world_begin(&w, zero_rules, 9);
    fx_region regions[] = {{.va = VA_SPARSE, .data = sparse, .size = 0x60000}};
    fx_process p = {.arch = MD_ARCH_AMD64, .regions = regions, .nregions = 1};
    fx_minidump(&p, FX_MD_FULL, &w.b);
    open_dump(&w);
    mc_scan ref;
    mc_scan_stats st;
    check_all(&w.db, w.d, "parallel", &ref, &st);
    ck_assert(matched(&w.db, &ref, "z_zero"));
    ck_assert_uint_eq(st.zero_skipped, 0);
    mc_scan_free(&ref);
    world_end(&w);
}
END_TEST

/* A fullword string cut free of its neighbour by the left edge of a condition window would be
 * a match the reference never saw: the scan notices and falls back to the reference pass. */
START_TEST(window_edge_falls_back)
{
    world w;
    world_begin(&w, rules, 10);
    build_open(&w);
    mc_scan s;
    mc_scan_stats st;
    ck_assert_int_eq(mc_scan_dump_ex(&w.db, w.d, 0, NULL, &s, &st, w.err, sizeof w.err), 0);
    mc_scan_free(&s);
    close_dump(&w);

    size_t at = 20 * CHUNK + 0x100, edge = at - 2 * st.reach;   /* the window's first byte */
    memset(heap + edge - 0x40, ' ', at - edge + 0x80);
    put_word(heap, at, "KEYWORD");
    put(heap, edge - 1, "aKEYWORD", 8);
    build_open(&w);
    mc_scan ref;
    check_all(&w.db, w.d, "fallback", &ref, &st);
    ck_assert_str_eq(st.mode, "fallback");
    mc_scan_free(&ref);
    world_end(&w);
}
END_TEST

START_TEST(chained_strings_use_reference)
{
    world w;
    world_begin(&w, chain_rules, 11);
    put(heap, 5 * CHUNK - 150, "PSCAN", 5);
    put(heap, 5 * CHUNK - 150 + 5 + 350, "END!", 4);
    build_open(&w);
    mc_scan ref;
    mc_scan_stats st;
    check_all(&w.db, w.d, "reference", &ref, &st);
    ck_assert(matched(&w.db, &ref, "c_chain"));
    ck_assert_str_eq(st.mode, "reference");
    mc_scan_free(&ref);
    world_end(&w);
}
END_TEST

/* A deadline already past is reported the same way in both passes. */
START_TEST(deadline_past)
{
    world w;
    world_begin(&w, rules, 12);
    build_open(&w);
    mc_scan s;
    mc_scan_cfg cfg = {.threads = 2};
    ck_assert_int_eq(mc_scan_dump_ex(&w.db, w.d, mc_now() - 1, &cfg, &s, NULL, w.err, sizeof w.err), 0);
    ck_assert(s.partial && s.timed_out);
    ck_assert_uint_eq(s.nhits, 0);
    mc_scan_free(&s);
    world_end(&w);
}
END_TEST

/* Helpers joining a running scan (a batch's idle threads, mc_scan_help) change who scans which
 * item, never the hits: a thread keeps offering help while one-thread scans with one spare place
 * run; each equals the reference pass, and the helper got in at least once. */
typedef struct helper_arg {
    mc_scan_helpers *h;
    atomic_bool done;
    atomic_size_t joined;
} helper_arg;

static void *helper_main(void *arg)
{
    helper_arg *a = arg;
    while (!atomic_load(&a->done))
        if (mc_scan_help(a->h))
            atomic_fetch_add(&a->joined, 1);
    return NULL;
}

START_TEST(helpers_join_running_scans)
{
    world w;
    world_begin(&w, rules, 7);
    build_open(&w);
    mc_scan ref;
    mc_scan_cfg rc = {.reference = true};
    ck_assert_int_eq(mc_scan_dump_ex(&w.db, w.d, 0, &rc, &ref, NULL, w.err, sizeof w.err), 0);
    helper_arg a = {.h = mc_scan_helpers_new()};
    ck_assert_ptr_nonnull(a.h);
    ck_assert(!mc_scan_help(a.h));   /* nothing running */
    pthread_t tid;
    ck_assert_int_eq(pthread_create(&tid, NULL, helper_main, &a), 0);
    unsigned most = 0;
    for (int i = 0; i < 40; i++) {
        mc_scan_cfg cfg = {.threads = 1, .chunk = CHUNK, .collect_mz = true, .helpers = a.h,
                           .spare = 1};
        mc_scan s;
        mc_scan_stats st;
        ck_assert_int_eq(mc_scan_dump_ex(&w.db, w.d, 0, &cfg, &s, &st, w.err, sizeof w.err), 0);
        same_scan(&ref, &s);
        ck_assert(s.mz_ok);
        ck_assert_uint_le(st.threads, 2);
        if (st.threads > most)
            most = st.threads;
        mc_scan_free(&s);
    }
    atomic_store(&a.done, true);
    pthread_join(tid, NULL);
    ck_assert_uint_eq(most, 2);
    ck_assert_uint_gt(atomic_load(&a.joined), 0);
    mc_scan_helpers_free(a.h);
    mc_scan_free(&ref);
    world_end(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pscan");
    TCase *tc = tcase_create("pscan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, boundaries_and_zero_edges);
    tcase_add_test(tc, condition_across_runs);
    tcase_add_test(tc, random_layouts);
    tcase_add_test(tc, zero_matching_string);
    tcase_add_test(tc, window_edge_falls_back);
    tcase_add_test(tc, chained_strings_use_reference);
    tcase_add_test(tc, deadline_past);
    tcase_add_test(tc, helpers_join_running_scans);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
