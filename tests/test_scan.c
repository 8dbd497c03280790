/* The libyara pass: hits land at exact VAs in every container, hits are sorted, a marker that
 * crosses two VA-adjacent regions of one run is found, and a deadline already past is reported
 * as partial instead of scanning. */
#include "fixtures/fx.h"
#include "mc_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define VA_TEXT 0x400000ull
#define VA_DATA 0x402000ull      /* directly after .text: one run where the container allows */
#define VA_HEAP 0x10000000ull
#define OFF_ONE 0x123u
#define OFF_TWO 0x10u
#define SPAN_VA (VA_DATA - 5)    /* "SPANMARKER" is split 5 + 5 across the two regions */

static const char rules[] =
    "rule fx_one { meta: family = \"fxtest\" strings: $one = \"MCFGMARK-ONE\" condition: $one }\n"
    "rule fx_two { meta: family = \"fxtest\" strings: $two = \"MCFGMARK-TWO\" condition: $two }\n"
    "rule fx_span { meta: family = \"fxtest\" strings: $span = \"SPANMARKER\" condition: $span }\n"
    "rule fx_cond { condition: uint32(0x400000) == 0x00905a4d }\n";

static uint8_t text[0x2000], data[0x1000], heap[0x1000];
static mc_ruledb db;

static void setup(void)
{
    ck_assert_int_eq(mc_yara_acquire(), 0);
    mc_rule_srcs s = {0};
    ck_assert_int_eq(mc_rule_srcs_add(&s, "fxtest", "fxtest.yar", rules, strlen(rules)), 0);
    char err[512];
    ck_assert_msg(mc_ruledb_compile(&s, true, NULL, NULL, &db, err, sizeof err) == 0, "%s", err);
    mc_rule_srcs_free(&s);

    fx_fill_noise(text, sizeof text, 11);
    fx_fill_noise(data, sizeof data, 12);
    fx_fill_noise(heap, sizeof heap, 13);
    memcpy(text, "MZ\x90\x00", 4);
    memcpy(text + OFF_ONE, "MCFGMARK-ONE", 12);
    memcpy(text + sizeof text - 5, "SPANM", 5);
    memcpy(data, "ARKER", 5);
    memcpy(heap + OFF_TWO, "MCFGMARK-TWO", 12);
}

static void teardown(void)
{
    mc_ruledb_free(&db);
    mc_yara_release();
}

static const fx_region regions[] = {
    {.va = VA_HEAP, .data = heap, .size = sizeof heap},
    {.va = VA_TEXT, .data = text, .size = sizeof text, .protect = MD_PAGE_EXECUTE_READ,
     .type = MD_MEM_IMAGE},
    {.va = VA_DATA, .data = data, .size = sizeof data, .type = MD_MEM_IMAGE,
     .alloc_base = VA_TEXT},
};

static const mc_hit *find(const mc_scan *s, const char *sid)
{
    for (size_t i = 0; i < s->nhits; i++)
        if (strcmp(s->hits[i].string_id, sid) == 0)
            return &s->hits[i];
    return NULL;
}

static void check_sorted(const mc_scan *s)
{
    for (size_t i = 1; i < s->nhits; i++) {
        const mc_hit *a = &s->hits[i - 1], *b = &s->hits[i];
        ck_assert(a->va < b->va || (a->va == b->va && strcmp(a->rule, b->rule) <= 0));
    }
}

/* Scan buf in the given container and check the hits; span says whether the marker crossing
 * the region boundary must be found (it can only be when both regions are one run). */
static void scan_and_check(const fx_buf *b, md_format force, bool span)
{
    md_open_opts o = {.force_format = force, .raw_base = VA_TEXT, .has_raw_base = true};
    md_dump *d = NULL;
    char err[256] = "";
    ck_assert_msg(md_open_mem(b->p, b->len, &o, &d, err, sizeof err) == MD_OK, "%s", err);
    mc_scan s;
    ck_assert_int_eq(mc_scan_dump(&db, d, 0, &s, err, sizeof err), 0);
    const mc_hit *one = find(&s, "$one");
    ck_assert_ptr_nonnull(one);
    ck_assert_uint_eq(one->va, VA_TEXT + OFF_ONE);
    ck_assert_uint_eq(one->len, 12);
    ck_assert_str_eq(one->rule, "fx_one");
    ck_assert_str_eq(one->ns, "fxtest");
    ck_assert_str_eq(one->family, "fxtest");
    if (force != MD_FMT_RAW) {
        const mc_hit *two = find(&s, "$two");
        ck_assert_ptr_nonnull(two);
        ck_assert_uint_eq(two->va, VA_HEAP + OFF_TWO);
    }
    const mc_hit *sp = find(&s, "$span");
    if (span) {
        ck_assert_ptr_nonnull(sp);
        ck_assert_uint_eq(sp->va, SPAN_VA);
    }
    /* the condition-only rule reads through the VA-addressed blocks */
    const mc_hit *cond = find(&s, "");
    ck_assert_ptr_nonnull(cond);
    ck_assert_str_eq(cond->rule, "fx_cond");
    ck_assert_str_eq(cond->family, "");
    ck_assert(!s.partial);
    check_sorted(&s);
    mc_scan_free(&s);
    md_close(d);
}

START_TEST(raw_blob)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_put(&b, text, sizeof text);
    fx_put(&b, data, sizeof data);
    scan_and_check(&b, MD_FMT_RAW, true);
    fx_buf_free(&b);
}
END_TEST

static const fx_process proc = {.pid = 4242, .arch = MD_ARCH_AMD64, .regions = regions,
                                .nregions = 3};

START_TEST(minidump_full)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_minidump(&proc, FX_MD_FULL, &b);
    scan_and_check(&b, MD_FMT_UNKNOWN, true);
    fx_buf_free(&b);
}
END_TEST

START_TEST(cuckoo_records)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_cuckoo(&proc, &b);
    scan_and_check(&b, MD_FMT_UNKNOWN, false);
    fx_buf_free(&b);
}
END_TEST

START_TEST(elfcore_segments)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_elfcore(&proc, 64, 0, &b);
    scan_and_check(&b, MD_FMT_UNKNOWN, false);
    fx_buf_free(&b);
}
END_TEST

START_TEST(deadline_past)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_put(&b, text, sizeof text);
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = VA_TEXT, .has_raw_base = true};
    md_dump *d = NULL;
    char err[256];
    ck_assert_int_eq(md_open_mem(b.p, b.len, &o, &d, err, sizeof err), MD_OK);
    mc_scan s;
    ck_assert_int_eq(mc_scan_dump(&db, d, mc_now() - 1, &s, err, sizeof err), 0);
    ck_assert(s.partial && s.timed_out);
    ck_assert_uint_eq(s.nhits, 0);
    ck_assert_uint_eq(json_array_size(s.warnings), 1);
    mc_scan_free(&s);
    md_close(d);
    fx_buf_free(&b);
}
END_TEST

START_TEST(per_rule_cap)
{
    /* 64 KiB of one repeated byte: every position matches */
    static const char many[] =
        "rule fx_many { meta: family = \"fxtest\" strings: $z = { 41 41 41 41 } condition: $z }\n";
    mc_rule_srcs s = {0};
    ck_assert_int_eq(mc_rule_srcs_add(&s, "fxtest", "many.yar", many, strlen(many)), 0);
    mc_ruledb mdb;
    char err[256];
    ck_assert_int_eq(mc_ruledb_compile(&s, false, NULL, NULL, &mdb, err, sizeof err), 0);
    mc_rule_srcs_free(&s);
    size_t n = 64 * 1024;
    uint8_t *buf = malloc(n);
    memset(buf, 'A', n);
    md_open_opts o = {.force_format = MD_FMT_RAW};
    md_dump *d = NULL;
    ck_assert_int_eq(md_open_mem(buf, n, &o, &d, err, sizeof err), MD_OK);
    mc_scan sc;
    ck_assert_int_eq(mc_scan_dump(&mdb, d, 0, &sc, err, sizeof err), 0);
    ck_assert_uint_eq(sc.nhits, MC_MAX_HITS_PER_RULE);
    ck_assert(sc.partial && !sc.timed_out);
    ck_assert_uint_eq(json_array_size(sc.warnings), 1);
    mc_scan_free(&sc);
    md_close(d);
    free(buf);
    mc_ruledb_free(&mdb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scan");
    TCase *t = tcase_create("scan");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, raw_blob);
    tcase_add_test(t, minidump_full);
    tcase_add_test(t, cuckoo_records);
    tcase_add_test(t, elfcore_segments);
    tcase_add_test(t, deadline_past);
    tcase_add_test(t, per_rule_cap);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
