/* Replays every file in tests/data/regress/<harness>/ through the entry point of the fuzz harness of the same
 * name (tests/fuzz): md_open_mem with the harness's format, the PE and .NET readers on a raw
 * region, stack-string recovery, mc_engine_scan, and the config builder plus writers. Every file
 * there is an input that once crashed, leaked, hung or tripped UBSan (or a small input kept to pin
 * a cap); each must now give a typed outcome, and run clean under ASan+UBSan. */
#include "lib/mc_dotnet.h"
#include "lib/mc_pe.h"
#include "lib/mc_stackstr.h"
#include "mc_output.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x400000ull

static md_dump *raw_dump(const uint8_t *p, size_t n)
{
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = BASE, .has_raw_base = true};
    md_dump *d = NULL;
    char err[256];
    ck_assert_int_eq(md_open_mem(p, n, &o, &d, err, sizeof err), MD_OK);
    return d;
}

static void replay_open(md_format fmt, const uint8_t *p, size_t n)
{
    md_open_opts o = {.force_format = fmt, .max_decompressed = 4u << 20, .max_regions = 4096,
                      .max_modules = 256};
    md_dump *d = NULL;
    char err[256] = "";
    md_err e = md_open_mem(p, n, &o, &d, err, sizeof err);
    if (e != MD_OK) {
        ck_assert_ptr_null(d);
        ck_assert_msg(err[0] && !strchr(err, '\n'), "error %d without a one-line message", e);
        return;
    }
    for (size_t i = 0; i < d->nregions; i++) {
        ck_assert(d->regions[i].off <= d->len && d->regions[i].size <= d->len - d->regions[i].off);
        uint8_t b;
        if (d->regions[i].size)
            ck_assert(md_read_u8(d, d->regions[i].va, &b));
    }
    md_close(d);
}

typedef struct res_seen {
    unsigned n;
    uint64_t h;               /* FNV-1a over each leaf's fields */
} res_seen;

static bool res_count(const mc_pe_res *r, void *arg)
{
    res_seen *s = arg;
    const uint64_t v[5] = {r->type.id, r->name.id, r->data_rva, r->size, r->va};
    for (int i = 0; i < 5; i++)
        s->h = (s->h ^ v[i]) * 0x100000001b3ull;
    return ++s->n < 100000;
}

/* Each walk, with the direct reads and then through mc_pe_rva_to_va, must be the same. */
static void replay_pe(const uint8_t *p, size_t n)
{
    md_dump *d = raw_dump(p, n);
    for (int l = MD_LAYOUT_MAPPED; l <= MD_LAYOUT_FLAT; l++) {
        mc_pe pe;
        if (!mc_pe_open_at(&pe, d, BASE, (md_layout)l))
            continue;
        res_seen a = {0, 0}, b = {0, 0};
        mc_pe_res_stats sa, sb;
        bool oka = mc_pe_res_walk(&pe, res_count, &a, &sa);
        mc_pe_res_direct = false;
        bool okb = mc_pe_res_walk(&pe, res_count, &b, &sb);
        mc_pe_res_direct = true;
        ck_assert(oka == okb && a.n == b.n && a.h == b.h && mc_pe_res_stats_eq(&sa, &sb));
    }
    md_close(d);
}

static void replay_dotnet(const uint8_t *p, size_t n)
{
    md_dump *d = raw_dump(p, n);
    for (int l = MD_LAYOUT_MAPPED; l <= MD_LAYOUT_FLAT; l++) {
        mc_dotnet *dn = NULL;
        if (mc_dn_open_at(d, BASE, (md_layout)l, &dn) != MC_DN_OK)
            continue;
        uint32_t nm = mc_dn_rows(dn, MC_DN_T_METHODDEF);
        for (uint32_t m = 1; m <= nm && m <= 256; m++) {
            mc_dn_body b;
            if (mc_dn_get_body(dn, m, &b) != MC_DN_OK)
                continue;
            mc_dn_item items[64];
            mc_dn_scan_items(b.code, b.len, items, 64);
            mc_dn_body_free(&b);
        }
        mc_dn_close(dn);
    }
    md_close(d);
}

static void replay_stackstr(const uint8_t *p, size_t n)
{
    static mc_stackstr out[64];
    static uint8_t dec[MC_STACKSTR_MAX];
    for (unsigned bits = 32; bits <= 64; bits += 32) {
        size_t k = mc_stackstr_scan(p, n, bits, out, 64);
        ck_assert_uint_le(k, 64);
        for (size_t i = 0; i < k; i++) {
            size_t len = 0;
            mc_stackstr_decode(&out[i], NULL, NULL, dec, sizeof dec, &len, NULL);
            ck_assert_uint_le(len, out[i].len);
        }
    }
}

/* fuzz_decoders input: mode byte, selector byte, then the region (mode 0 only is replayed
 * exactly; the marker modes are rebuilt by the harness and stored here already expanded). */
static void replay_decoders(const uint8_t *p, size_t n)
{
    if (n < 3)
        return;
    mc_engine_opts o = {.timeout = 60, .open = {.force_format = MD_FMT_RAW, .raw_base = BASE,
                                                .has_raw_base = true}};
    mc_engine *e = NULL;
    char err[256];
    ck_assert_int_eq(mc_engine_new(&o, &e, err, sizeof err), 0);
    mc_input in = {.path = "regress", .mem = p + 2, .memlen = n - 2};
    mc_input_result res;
    mc_input_status st = mc_engine_scan(e, &in, &res);
    ck_assert(st == MC_INPUT_OK || res.error[0]);
    mc_input_result_clear(&res);
    mc_engine_free(e);
}

static void replay_json(const uint8_t *p, size_t n)
{
    json_t *j = mc_json_bytes(p, n);
    ck_assert_ptr_nonnull(j);
    mc_results *r = mc_results_new();
    mc_config *c = mc_cfg_new(r, mc_decoders[0]->family, BASE);
    char *s = strndup((const char *)p, n);
    mc_cfg_str(c, MC_F_MUTEX, s, mc_at(BASE, MC_FORM_PLAINTEXT));
    mc_cfg_hostport(c, s, 80, "c2", mc_at(BASE, MC_FORM_PLAINTEXT));
    mc_cfg_url(c, s, "http", "c2", NULL, mc_at(BASE, MC_FORM_PLAINTEXT));
    char *d = mc_defang_url(s), *t = mc_text_safe(s);
    free(d), free(t), free(s);
    char *out = json_dumps(mc_cfg_json(c), 0);
    ck_assert_ptr_nonnull(out);
    free(out);
    mc_results_free(r);
    json_decref(j);
}

static const struct {
    const char *dir;
    md_format fmt;
    void (*fn)(const uint8_t *, size_t);
} harness[] = {
    {"fuzz_minidump", MD_FMT_MINIDUMP, NULL}, {"fuzz_cuckoo", MD_FMT_CUCKOO, NULL},
    {"fuzz_elfcore", MD_FMT_ELFCORE, NULL},   {"fuzz_pefile", MD_FMT_PE, NULL},
    {"fuzz_raw", MD_FMT_RAW, NULL},           {"fuzz_sniff", MD_FMT_UNKNOWN, NULL},
    {"fuzz_compressed", MD_FMT_UNKNOWN, NULL},
    {"fuzz_pe", 0, replay_pe},                {"fuzz_dotnet", 0, replay_dotnet},
    {"fuzz_stackstr", 0, replay_stackstr},    {"fuzz_decoders", 0, replay_decoders},
    {"fuzz_json", 0, replay_json},
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static size_t replayed;

START_TEST(replay_dir)
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/data/regress/%s", harness[_i].dir);
    const char *dir = tu_src(rel);
    char path[4096];
    strlcpy(path, dir, sizeof path);
    struct dirent **ents = NULL;
    int n = scandir(path, &ents, NULL, by_name);
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.' && strcmp(ents[i]->d_name, "README.md") != 0) {
            char f[4096 + 256 + 2];
            snprintf(f, sizeof f, "%s/%s", path, ents[i]->d_name);
            size_t len = 0;
            uint8_t *p = tu_read_file(f, &len);
            ck_assert_msg(p != NULL, "cannot read %s", f);
            if (harness[_i].fn)
                harness[_i].fn(p, len);
            else
                replay_open(harness[_i].fmt, p, len);
            free(p);
            replayed++;
        }
        free(ents[i]);
    }
    free(ents);
}
END_TEST

/* The replay must have found the committed inputs (a wrong path would make it pass empty). */
START_TEST(regressions_present)
{
    size_t total = 0;
    for (size_t h = 0; h < sizeof harness / sizeof harness[0]; h++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/data/regress/%s", harness[h].dir);
        DIR *d = opendir(tu_src(rel));
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)))
            total += e->d_name[0] != '.' && strcmp(e->d_name, "README.md") != 0;
        closedir(d);
    }
    ck_assert_uint_gt(total, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regress");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, regressions_present);
    tcase_add_loop_test(tc, replay_dir, 0, (int)(sizeof harness / sizeof harness[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
