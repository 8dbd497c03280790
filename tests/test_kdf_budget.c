/* The per-job PBKDF2 budget (issue 7; decoder.h mc_kdf_budget, mc_engine_opts.kdf_budget): the
 * charge of each derivation in lib/aesrat.c, and through the engine on the compiled .NET fixtures
 * (fixtures/dotnet) mapped into one minidump: a budget that bites leaves out what it could not
 * pay for, says so in every record of the input (a failed record when the decoder is left with
 * nothing), marks the input partial; 0 (the default) and unlimited give the whole configs; the
 * output with a biting budget is the same on one thread and two, with a cold or a warm memo. */
#include "decoder.h"
#include "fixtures/fx.h"
#include "lib/mc_aesrat.h"
#include "memcfg.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG_VA 0x10000000ull
#define IMG_STEP 0x100000ull
#define FULL 250000u              /* rounds of one 96-byte dk at 50,000 iterations */

/* ---- the library: what one derivation costs ---- */

START_TEST(charge_per_derivation)
{
    static const uint8_t salt[] = "saltsaltsalt";
    uint8_t dk[MC_AESRAT_DK_LEN], ref[MC_AESRAT_DK_LEN];
    mc_kdf_budget b = {.limit = 10000};
    mc_decode_ctx ctx = {.kdf = &b};
    /* 96 bytes = 5 blocks of 20: 1000 iterations cost 5000 rounds */
    ck_assert(mc_aesrat_derive(" pw-one", 7, salt, 12, 1000, ref));
    ck_assert(mc_aesrat_derive_ctx(&ctx, " pw-one", 7, salt, 12, 1000, dk));
    ck_assert_mem_eq(dk, ref, sizeof dk);
    ck_assert_uint_eq(b.used, 5000);
    ck_assert_uint_eq(b.derived, 1);
    /* a memo hit (the same derivation again) is charged all the same */
    ck_assert(mc_aesrat_derive_ctx(&ctx, " pw-one", 7, salt, 12, 1000, dk));
    ck_assert_uint_eq(b.used, 10000);
    ck_assert_uint_eq(b.derived, 2);
    /* the limit is reached: refused, dk untouched, counted */
    memset(dk, 0xA5, sizeof dk);
    ck_assert(!mc_aesrat_derive_ctx(&ctx, " pw-one", 7, salt, 12, 1000, dk));
    ck_assert_uint_eq(dk[0], 0xA5);
    ck_assert_uint_eq(b.used, 10000);
    ck_assert_uint_eq(b.skipped, 1);
    /* one that does not fit is refused even when a cheaper one would */
    mc_kdf_budget c = {.limit = 4999};
    ctx.kdf = &c;
    ck_assert(!mc_aesrat_derive_ctx(&ctx, " pw-one", 7, salt, 12, 1000, dk));
    ck_assert_uint_eq(c.used, 0);
    ck_assert_uint_eq(c.skipped, 1);
    /* no budget: unlimited, nothing counted */
    ctx.kdf = NULL;
    ck_assert(mc_aesrat_derive_ctx(&ctx, " pw-one", 7, salt, 12, 1000, dk));
    ck_assert_mem_eq(dk, ref, sizeof dk);
    ck_assert(mc_aesrat_derive_ctx(NULL, " pw-one", 7, salt, 12, 1000, dk));
}
END_TEST

/* ---- the engine on the fixtures ---- */

#define HEAP_VA 0x2a000000ull
#define MT_BYTES 0x7ffb1a2b3d80ull

/* The named fixtures mapped as the loader maps them, 1 MiB apart, in one full minidump; with a
 * heap when given (a live client's CLR objects). */
static void build_heap(const char *const *exes, size_t n, const fx_buf *heap, fx_buf *out)
{
    fx_region reg[9];
    fx_buf img[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        char rel[256];
        size_t len;
        snprintf(rel, sizeof rel, "fixtures/dotnet/%s", exes[i]);
        uint8_t *pe = tu_read_file(tu_src(rel), &len);
        ck_assert_msg(pe != NULL, "%s", rel);
        fx_buf_init(&img[i]);
        fx_pe_map(pe, len, &img[i]);
        free(pe);
        reg[i] = (fx_region){.va = IMG_VA + i * IMG_STEP, .data = img[i].p, .size = img[i].len,
                             .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE};
    }
    if (heap)
        reg[n] = (fx_region){.va = HEAP_VA, .data = heap->p, .size = heap->len,
                             .protect = MD_PAGE_READWRITE, .type = MD_MEM_PRIVATE};
    fx_process p = {.pid = 7007, .arch = MD_ARCH_AMD64, .regions = reg, .nregions = n + (heap != NULL)};
    fx_buf_init(out);
    fx_minidump(&p, FX_MD_FULL, out);
    for (size_t i = 0; i < n; i++) fx_buf_free(&img[i]);
}

static void build(const char *const *exes, size_t n, fx_buf *out)
{
    build_heap(exes, n, NULL, out);
}

static void scan(const fx_buf *dump, const char *const *fams, size_t nfams, uint64_t budget,
                 unsigned threads, mc_input_result *res)
{
    mc_engine_opts o = {.families = fams, .nfamilies = nfams, .kdf_budget = budget};
    mc_engine *e = NULL;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "engine: %s", err);
    mc_engine_set_threads(e, threads);
    mc_input in = {.path = "kdf.dmp", .mem = dump->p, .memlen = dump->len};
    mc_engine_scan(e, &in, res);
    ck_assert_msg(res->status == MC_INPUT_OK, "scan: %s", res->error);
    mc_engine_free(e);
    if (getenv("KDF_TEST_DUMP"))
        for (size_t i = 0; i < res->nrecords; i++) {
            char *s = json_dumps(res->records[i], JSON_COMPACT);
            fprintf(stderr, "budget %llu: %s\n", (unsigned long long)budget, s);
            free(s);
        }
}

static const char *rec_str(const json_t *rec, const char *a, const char *b)
{
    const json_t *v = json_object_get(rec, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

/* Config records of the family with this status. */
static size_t count_status(const mc_input_result *r, const char *family, const char *status)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nrecords; i++) {
        const char *f = rec_str(r->records[i], "config", "family"), *s = rec_str(r->records[i], "status", NULL);
        n += f && s && strcmp(f, family) == 0 && strcmp(s, status) == 0;
    }
    return n;
}

/* The budget warning of the decoder in the record: the count of derivations it skipped, 0 when
 * the record has none. */
static unsigned long budget_warning(const json_t *rec, const char *decoder, uint64_t budget)
{
    char head[160];
    snprintf(head, sizeof head, "decoder %s used up its PBKDF2 budget (%llu rounds): ", decoder,
             (unsigned long long)budget);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(rec, "warnings"), i, w) {
        const char *s = json_string_value(w);
        unsigned long n = 0;
        char tail[64];
        if (s && strncmp(s, head, strlen(head)) == 0 &&
            sscanf(s + strlen(head), "%lu key derivations skipped; %63[^\n]", &n, tail) == 2)
            return n;
    }
    return 0;
}

static bool any_budget_warning(const mc_input_result *r)
{
    for (size_t i = 0; i < r->nrecords; i++) {
        size_t k;
        json_t *w;
        json_array_foreach(json_object_get(r->records[i], "warnings"), k, w)
            if (json_string_value(w) && strstr(json_string_value(w), "PBKDF2 budget")) return true;
    }
    return false;
}

static const char *const three[] = {"asyncrat.exe", "dcrat.exe", "venomrat.exe"};
static const char *const fam_async[] = {"asyncrat"};

/* Unset (the default) and unlimited: the three configs, nothing said. */
START_TEST(default_and_unlimited_full)
{
    fx_buf d;
    build(three, 3, &d);
    mc_input_result def, unl;
    scan(&d, fam_async, 1, 0, 1, &def);
    scan(&d, fam_async, 1, MC_KDF_UNLIMITED, 1, &unl);
    const char *fams[] = {"asyncrat", "dcrat", "venomrat"};
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(count_status(&def, fams[k], "complete"), 1);
        ck_assert_uint_eq(count_status(&unl, fams[k], "complete"), 1);
    }
    ck_assert_uint_eq(def.nrecords, 3);
    ck_assert(!any_budget_warning(&def));
    ck_assert(!def.partial);
    ck_assert_uint_eq(unl.nrecords, 3);
    for (size_t i = 0; i < 3; i++) ck_assert(json_equal(def.records[i], unl.records[i]));
    mc_input_result_clear(&def);
    mc_input_result_clear(&unl);
    fx_buf_free(&d);
}
END_TEST

/* Two derivations' worth: the images are decoded in dump order (asyncrat, dcrat, venomrat), one
 * derivation each with the image's own salt first; the third image's key is never confirmed. */
START_TEST(biting_budget_drops_the_rest)
{
    fx_buf d;
    build(three, 3, &d);
    mc_input_result r;
    scan(&d, fam_async, 1, 2 * FULL, 1, &r);
    ck_assert_uint_eq(count_status(&r, "asyncrat", "complete"), 1);
    ck_assert_uint_eq(count_status(&r, "dcrat", "complete"), 1);
    ck_assert_uint_eq(count_status(&r, "venomrat", "complete"), 0);
    ck_assert_uint_eq(r.nrecords, 2);
    for (size_t i = 0; i < r.nrecords; i++)
        ck_assert_uint_ge(budget_warning(r.records[i], "asyncrat", 2 * FULL), 1);
    ck_assert(r.partial);
    mc_input_result_clear(&r);
    /* one round more than is needed for all three: still whole */
    scan(&d, fam_async, 1, 3 * FULL, 1, &r);
    ck_assert_uint_eq(r.nrecords, 3);
    ck_assert(!any_budget_warning(&r));
    ck_assert(!r.partial);
    mc_input_result_clear(&r);
    fx_buf_free(&d);
}
END_TEST

/* Less than one derivation: the decoder has nothing, and its failed record carries the warning
 * so that the input's output still says why. */
START_TEST(nothing_left_gives_failed_record)
{
    static const char *const one[] = {"asyncrat.exe"};
    fx_buf d;
    build(one, 1, &d);
    mc_input_result r;
    scan(&d, fam_async, 1, FULL - 1, 1, &r);
    ck_assert_uint_eq(r.nrecords, 1);
    ck_assert_uint_eq(count_status(&r, "asyncrat", "failed"), 1);
    ck_assert_uint_ge(budget_warning(r.records[0], "asyncrat", FULL - 1), 1);
    ck_assert(r.partial);
    mc_input_result_clear(&r);
    scan(&d, fam_async, 1, FULL, 1, &r);
    ck_assert_uint_eq(r.nrecords, 1);
    ck_assert_uint_eq(count_status(&r, "asyncrat", "complete"), 1);
    ck_assert(!any_budget_warning(&r));
    mc_input_result_clear(&r);
    fx_buf_free(&d);
}
END_TEST

/* A live AsyncRAT client keeps its derived keys on the heap: a key there is credited to the
 * password by the first PBKDF2 block only, which costs 50,000 rounds, not 250,000. */
START_TEST(heap_key_confirmation_costs_one_block)
{
    static const char *const one[] = {"asyncrat.exe"};
    static const char pw[] = "pQ4zR8tY2uW6vX0aB3cD5eF7gH9iJ1kL";   /* test_asyncrat.c's sample */
    uint8_t dk[MC_AESRAT_DK_LEN];
    ck_assert(mc_aesrat_derive(pw, strlen(pw), mc_aesrat_quasar_salt, sizeof mc_aesrat_quasar_salt,
                               50000, dk));
    fx_buf heap, d;
    fx_buf_init(&heap);
    fx_put_zeros(&heap, 0x100);
    fx_put_clr_bytes(&heap, 8, MT_BYTES, dk, 32);
    fx_put_clr_bytes(&heap, 8, MT_BYTES, dk + 32, 64);
    fx_put_zeros(&heap, 0x1000 - heap.len % 0x1000);
    build_heap(one, 1, &heap, &d);
    mc_input_result r;
    scan(&d, fam_async, 1, 50000, 1, &r);
    ck_assert_uint_eq(count_status(&r, "asyncrat", "complete"), 1);
    ck_assert(!any_budget_warning(&r));
    mc_input_result_clear(&r);
    scan(&d, fam_async, 1, 49999, 1, &r);
    ck_assert_uint_eq(count_status(&r, "asyncrat", "complete"), 0);
    ck_assert_uint_eq(count_status(&r, "asyncrat", "failed"), 1);
    ck_assert_uint_ge(budget_warning(r.records[0], "asyncrat", 49999), 1);
    mc_input_result_clear(&r);
    fx_buf_free(&d);
    fx_buf_free(&heap);
}
END_TEST

/* Quasar: the PBKDF2 generations and the fixed-IV fork (1,000 iterations, 5,000 rounds a
 * derivation) are both charged. */
START_TEST(quasar_charged)
{
    static const char *const q[] = {"quasar14.exe", "quasar13.exe", "quasarfixediv.exe"};
    static const char *const fam[] = {"quasar"};
    fx_buf d;
    build(q, 3, &d);
    mc_input_result full, r;
    scan(&d, fam, 1, 0, 1, &full);
    ck_assert_uint_eq(count_status(&full, "quasar", "complete"), 3);
    ck_assert(!any_budget_warning(&full));
    /* enough for the 1.4 and 1.3 keys, not for the fork's */
    scan(&d, fam, 1, 2 * FULL, 1, &r);
    ck_assert_uint_eq(count_status(&r, "quasar", "complete"), 2);
    for (size_t i = 0; i < r.nrecords; i++)
        ck_assert_uint_ge(budget_warning(r.records[i], "quasar", 2 * FULL), 1);
    mc_input_result_clear(&r);
    mc_input_result_clear(&full);
    fx_buf_free(&d);
}
END_TEST

static char *records_text(const mc_input_result *r)
{
    size_t len = 0;
    char *all = NULL;
    for (size_t i = 0; i < r->nrecords; i++) {
        char *s = json_dumps(r->records[i], JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_ptr_nonnull(s);
        size_t n = strlen(s);
        all = realloc(all, len + n + 2);
        memcpy(all + len, s, n);
        all[len + n] = '\n';
        all[len + n + 1] = 0;
        len += n + 1;
        free(s);
    }
    return all ? all : strdup("");
}

/* Every Aes256 decoder of one dump on one thread, then on two, with a cold memo and a warm one:
 * the same records, since each job's refusals depend on its own derivations only. */
START_TEST(biting_budget_deterministic)
{
    static const char *const imgs[] = {"quasar14.exe", "asyncrat.exe", "quasar13.exe", "dcrat.exe",
                                       "venomrat.exe", "lookalike.exe"};
    static const char *const fams[] = {"quasar", "asyncrat", "dcrat", "venomrat"};
    fx_buf d;
    build(imgs, 6, &d);
    mc_input_result r;
    mc_aesrat_memo_clear();
    scan(&d, fams, 4, 2 * FULL, 1, &r);
    ck_assert(r.partial);
    ck_assert(any_budget_warning(&r));
    char *ref = records_text(&r);
    mc_input_result_clear(&r);
    for (int k = 0; k < 3; k++) {
        if (k == 1) mc_aesrat_memo_clear();
        scan(&d, fams, 4, 2 * FULL, 2, &r);
        char *got = records_text(&r);
        ck_assert_msg(strcmp(ref, got) == 0, "run %d on two threads differs", k);
        free(got);
        mc_input_result_clear(&r);
    }
    free(ref);
    fx_buf_free(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kdf_budget");
    TCase *t = tcase_create("budget");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, charge_per_derivation);
    tcase_add_test(t, default_and_unlimited_full);
    tcase_add_test(t, biting_budget_drops_the_rest);
    tcase_add_test(t, nothing_left_gives_failed_record);
    tcase_add_test(t, heap_key_confirmation_costs_one_block);
    tcase_add_test(t, quasar_charged);
    tcase_add_test(t, biting_budget_deterministic);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
