/* AsyncRAT, DcRat and VenomRAT decoders (decoders/lib/aesrat.c) on the compiled fixtures
 * (fixtures/dotnet) placed in synthetic dumps: flat and mapped images among noise, prose and a
 * native DLL, decrypted CLR string copies on a heap, the image-wiped heap-only case, templates and
 * look-alikes; every container (tests/testutil's writers) through the engine with the four
 * families' rules; the crypto vectors through the library. */
#include "decoder.h"
#include "fixtures/fx.h"
#include "lib/mc_aesrat.h"
#include "md_internal.h"
#include "memcfg.h"
#include "tdump.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x30000000ull

extern const mc_decoder mc_decoder_asyncrat, mc_decoder_dcrat, mc_decoder_venomrat;

/* ---- the samples ---- */

typedef struct sample {
    const char *fixture, *family;
    const char *hosts[4], *ports[4];
    const char *version, *mutex, *group, *password, *aes_key, *salt, *install_path;
    long sleep_ms;
    const char *heap[5];      /* decrypted values the client holds on its heap */
} sample;

/* Keys: the crypto vectors' passwords, so aes_key is shared/vectors' aes_key_hex. */
static const sample async_s = {
    "asyncrat.exe", "asyncrat",
    {"203.0.113.17", "198.51.100.23", "async.c2.example"}, {"6606", "7707", "8808"},
    "0.5.8", "AsyncMutex_6SI8OkPnk", "Default", "pQ4zR8tY2uW6vX0aB3cD5eF7gH9iJ1kL",
    "242e1bce10d5a82fab36a4e5dbdd2fd30b1408dc0a8105f5f7534ec4cc3862e9",
    "bfeb1e56fbcd973bb219022430a57843003d5644d21e62b9d4f180e7e6c33941",
    "%AppData%\\WinUpdate.exe", 3000,
    {"203.0.113.17,198.51.100.23,async.c2.example", "6606,7707,8808", "AsyncMutex_6SI8OkPnk",
     "Default", "0.5.8"},
};
static const sample dcrat_s = {
    "dcrat.exe", "dcrat",
    {"192.0.2.80", "dc.c2.test"}, {"8848", "9949"},
    "1.0.7", "DcRatMutex_qwqdanchun", "dc-group", "mN2bV4cX6zL8kJ0hG1fD3sA5qW7eR9tY",
    "2bfa7d0394f5ef356d756e13afaf5b89969e9bf71d31404f4d742fc092d537e3",
    "4463526174427971777164616e6368756e",
    "%Temp%\\dllhost.exe", 1000,
    {"192.0.2.80,dc.c2.test", "8848,9949", "DcRatMutex_qwqdanchun", "dc-group", "1.0.7"},
};
static const sample venom_s = {
    "venomrat.exe", "venomrat",
    {"198.51.100.77", "venom.c2.example", "203.0.113.200"}, {"4449", "5559"},
    "Venom RAT + HVNC + Stealer + Grabber  v6.0.3", "Venom_RAT_HVNC_Mutex_Venom RAT",
    "Venom Clients", "Zx8Cv6Bn4Ma2Sd0Fg9Hj7Kl5Qw3Er1Ty",
    "bbc5ed102738851de6aa467b1a5a40c336e5898d3296ec94eeda9ed233abce77",
    "56656e6f6d524154427956656e6f6d",
    "%AppData%\\svchost.exe", 3000,
    {"198.51.100.77,venom.c2.example,203.0.113.200", "4449,5559",
     "Venom_RAT_HVNC_Mutex_Venom RAT", "Venom Clients", "Venom RAT + HVNC + Stealer + Grabber  v6.0.3"},
};

static size_t count(const char *const *v, size_t max)
{
    size_t n = 0;
    while (n < max && v[n]) n++;
    return n;
}

/* ---- building dumps ---- */

/* Raw dump: noise, a system-DLL-like image, the assembly at TD_IMG_OFF, a heap, then other heap
 * text, far from the image as unrelated data usually is (beyond the rules' exclusion window
 * around the client IL): prose naming the families and their salts, base64 junk. */
static const td_layout lay = {
    .base = BASE, .noise_seed = 11, .noise_len = 0x8000,
    .prose = "Report: AsyncRAT, DcRat (qwqdanchun) and VenomRAT keep Hosts, Ports, MTX and Key in "
             "Settings; the salt DcRatByqwqdanchun or VenomRATByVenom. AsyncMutex_ DcRatMutex_ "
             "b64: cFE0elI4dFkydVc2dlgwYUIzY0Q1ZUY3Z0g5aUoxa0w= "
             "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFla",
    .prose_gap = 0x90000, .dll = true, .filler = "System.Collections.Generic", .heap_tail = 0x100,
    .pid = 5151, .module_path = "C:\\Users\\u\\AppData\\client.exe"};

/* Run a decoder with one hit per occurrence of each marker, as the rules would report them. */
static mc_results *decode_direct(const mc_decoder *dec, const md_dump *d, const fx_buf *b)
{
    static const td_mark marks[] = {
        {"$salt", "\xBF\xEB\x1E\x56\xFB\xCD\x97\x3B", 8},
        {"$s1", "D\0c\0R\0a\0t\0B\0y\0", 14},
        {"$s1", "V\0e\0n\0o\0m\0R\0A\0T\0B\0y\0", 20},
        {"$n2", "InstallFolder", 13},
        {"$n1", "Por_ts", 6},
        {"$heap_mutex", "\0\0A\0s\0y\0n\0c\0M\0u\0t\0e\0x\0_\0", 24},
        {"$heap_mutex", "\0\0D\0c\0R\0a\0t\0M\0u\0t\0e\0x\0_\0", 24},
    };
    mc_hit hits[64];
    size_t n = td_mark_hits(marks, sizeof marks / sizeof marks[0], b->p, b->len, BASE, dec->family,
                            dec->family, dec->family, hits, 0, 64);
    mc_hits h = {hits, n};
    mc_decode_ctx ctx = {.deadline = mc_now() + 60};
    mc_results *r = mc_results_new();
    ck_assert_int_eq(dec->decode(&ctx, d, &h, r), 0);
    return r;
}

typedef struct run_t {
    td_dump x;
    md_dump *d;
    mc_results *r;
} run_t;

static void run(const mc_decoder *dec, const td_spec *sp, run_t *t)
{
    td_build(&lay, sp, &t->x);
    t->d = tu_open_raw(t->x.raw.p, t->x.raw.len, BASE);
    t->r = decode_direct(dec, t->d, &t->x.raw);
}

static void finish(run_t *t)
{
    mc_results_free(t->r);
    md_close(t->d);
    td_free(&t->x);
}

/* ---- assertions on the MACO object ---- */

/* Every host x port pair, and nothing else. */
static void check_conns(json_t *cfg, const sample *s)
{
    size_t nh = count(s->hosts, 4), np = count(s->ports, 4);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), nh * np);
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; j < np; j++)
            ck_assert_msg(tu_has_conn(cfg, s->hosts[i], atol(s->ports[j])), "%s:%s", s->hosts[i], s->ports[j]);
}

static void check_sample(mc_config *c, const sample *s)
{
    json_t *cfg = mc_cfg_json(c);
    ck_assert_str_eq(mc_cfg_family(c), s->family);
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), s->family);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    check_conns(cfg, s);
    ck_assert_ptr_null(json_object_get(cfg, "http"));   /* Pastebin is "null" */
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), s->version);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "mutex")), 1);
    ck_assert_str_eq(tu_first_str(cfg, "mutex"), s->mutex);
    ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), s->group);
    ck_assert_str_eq(tu_first_str(cfg, "password"), s->password);
    json_t *e = json_array_get(json_object_get(cfg, "encryption"), 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "algorithm")), "AES-256-CBC");
    ck_assert_str_eq(json_string_value(json_object_get(e, "mode")), "CBC");
    ck_assert_str_eq(json_string_value(json_object_get(e, "usage")), "config");
    ck_assert_str_eq(json_string_value(json_object_get(e, "key")), s->aes_key);
    ck_assert_str_eq(json_string_value(json_object_get(e, "salt")), s->salt);
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), s->sleep_ms);
    json_t *path = json_array_get(json_object_get(cfg, "paths"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(path, "path")), s->install_path);
    ck_assert_str_eq(json_string_value(json_object_get(path, "usage")), "install");
    json_t *other = json_object_get(cfg, "other");
    ck_assert_str_eq(json_string_value(json_object_get(other, "certificate")), "Y2VydGlmaWNhdGUtZm9yLXRlc3RzLW9ubHk=");
    ck_assert_str_eq(json_string_value(json_object_get(other, "server_signature")), "c2lnbmF0dXJlLWZvci10ZXN0cy1vbmx5");
    ck_assert(json_is_false(json_object_get(other, "anti_analysis")));
    ck_assert(json_is_false(json_object_get(other, "bsod")));
    ck_assert_int_eq(json_integer_value(json_object_get(other, "kdf_iterations")), 50000);
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "version", "image_encrypted"));
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "image_encrypted"));
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "password[0]", "plaintext"));
}

/* With and without heap copies, flat and mapped: same values; heap copies add provenance and
 * confidence. */
static void family_case(const mc_decoder *dec, const sample *s)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {s->fixture, mapped, s->heap, count(s->heap, 5)};
        run_t t;
        run(dec, &sp, &t);
        ck_assert_uint_eq(mc_results_count(t.r), 1);
        mc_config *c = mc_results_get(t.r, 0);
        check_sample(c, s);
        ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "heap_decrypted"));
        ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "tcp[0]", "heap_decrypted"));
        ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "campaign_id[0]", "heap_decrypted"));
        int with_heap = mc_cfg_get_confidence(c);
        finish(&t);

        td_spec bare = {s->fixture, mapped, NULL, 0};
        run(dec, &bare, &t);
        ck_assert_uint_eq(mc_results_count(t.r), 1);
        c = mc_results_get(t.r, 0);
        check_sample(c, s);
        ck_assert(!tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "heap_decrypted"));
        ck_assert_int_gt(with_heap, mc_cfg_get_confidence(c));
        finish(&t);
    }
}

START_TEST(asyncrat_decode)
{
    family_case(&mc_decoder_asyncrat, &async_s);
    /* raw names as found, Key as stored (base64 of the password) */
    td_spec sp = {"asyncrat.exe", true, NULL, 0};
    run_t t;
    run(&mc_decoder_asyncrat, &sp, &t);
    json_t *raw = mc_cfg_rawjson(mc_results_get(t.r, 0));
    ck_assert_str_eq(json_string_value(json_object_get(raw, "Key")), "cFE0elI4dFkydVc2dlgwYUIzY0Q1ZUY3Z0g5aUoxa0w=");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "Hosts")), "203.0.113.17,198.51.100.23,async.c2.example");
    ck_assert(json_is_true(json_object_get(json_object_get(mc_cfg_json(mc_results_get(t.r, 0)), "other"), "install")));
    finish(&t);
}
END_TEST

START_TEST(dcrat_decode)
{
    family_case(&mc_decoder_dcrat, &dcrat_s);
    td_spec sp = {"dcrat.exe", false, NULL, 0};
    run_t t;
    run(&mc_decoder_dcrat, &sp, &t);
    mc_config *c = mc_results_get(t.r, 0);
    ck_assert(json_is_false(json_object_get(json_object_get(mc_cfg_json(c), "other"), "anti_process")));
    ck_assert_str_eq(json_string_value(json_object_get(mc_cfg_rawjson(c), "Hos_ts")), "192.0.2.80,dc.c2.test");
    finish(&t);
}
END_TEST

START_TEST(venomrat_decode)
{
    family_case(&mc_decoder_venomrat, &venom_s);
}
END_TEST

/* The salt that verifies settles the family, whichever decoder the hit reached. */
START_TEST(salt_settles_family)
{
    struct { const mc_decoder *dec; const sample *s; } cases[] = {
        {&mc_decoder_dcrat, &async_s}, {&mc_decoder_venomrat, &async_s},
        {&mc_decoder_asyncrat, &dcrat_s}, {&mc_decoder_venomrat, &dcrat_s},
        {&mc_decoder_asyncrat, &venom_s}, {&mc_decoder_dcrat, &venom_s},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        td_spec sp = {cases[k].s->fixture, true, NULL, 0};
        run_t t;
        run(cases[k].dec, &sp, &t);
        ck_assert_uint_eq(mc_results_count(t.r), 1);
        mc_config *c = mc_results_get(t.r, 0);
        ck_assert_str_eq(mc_cfg_family(c), cases[k].s->family);
        check_sample(c, cases[k].s);
        ck_assert_uint_ge(json_array_size(mc_cfg_warnings(c)), 1);
        finish(&t);
    }
}
END_TEST

/* Pastebin mode (Hosts/Ports are the encrypted "null") and the builder's plain-mutex quirk. */
START_TEST(asyncrat_pastebin_plain_mutex)
{
    td_spec sp = {"asyncrat_paste.exe", false, NULL, 0};
    run_t t;
    run(&mc_decoder_asyncrat, &sp, &t);
    ck_assert_uint_eq(mc_results_count(t.r), 1);
    mc_config *c = mc_results_get(t.r, 0);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    ck_assert_str_eq(mc_cfg_family(c), "asyncrat");
    ck_assert_ptr_null(json_object_get(cfg, "tcp"));
    json_t *http = json_object_get(cfg, "http");
    ck_assert_uint_eq(json_array_size(http), 1);
    json_t *h = json_array_get(http, 0);
    ck_assert_str_eq(json_string_value(json_object_get(h, "uri")), "https://paste.example/raw/aB3dE5fG");
    ck_assert_str_eq(json_string_value(json_object_get(h, "hostname")), "paste.example");
    ck_assert_str_eq(json_string_value(json_object_get(h, "usage")), "dead_drop_resolver");
    ck_assert_str_eq(tu_first_str(cfg, "mutex"), "Q7mZ2xK9pL4w");
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "plaintext"));
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "0.5.7B");
    ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), "paste-group");
    ck_assert_str_eq(tu_first_str(cfg, "password"), "Hs3Jd5Kf7Lg9Ma1Nb2Vc4Xz6Qw8Er0Ty");
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), 10000);
    ck_assert(json_is_false(json_object_get(json_object_get(cfg, "other"), "install")));
    finish(&t);
}
END_TEST

/* Each family's unbuilt stub through its own decoder, flat and mapped. */
START_TEST(template_stubs)
{
    struct { const mc_decoder *dec; const char *fixture, *hosts_field; } cases[] = {
        {&mc_decoder_asyncrat, "asyncrat_template.exe", "Hosts"},
        {&mc_decoder_dcrat, "dcrat_template.exe", "Hos_ts"},
        {&mc_decoder_venomrat, "venomrat_template.exe", "Hos_ts"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int mapped = 0; mapped < 2; mapped++) {
            td_spec sp = {cases[k].fixture, mapped, NULL, 0};
            run_t t;
            run(cases[k].dec, &sp, &t);
            ck_assert_uint_eq(mc_results_count(t.r), 1);
            mc_config *c = mc_results_get(t.r, 0);
            ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_TEMPLATE);
            ck_assert_str_eq(mc_cfg_family(c), cases[k].dec->family);
            json_t *cfg = mc_cfg_json(c);
            ck_assert_ptr_null(json_object_get(cfg, "tcp"));
            ck_assert_ptr_null(json_object_get(cfg, "http"));
            ck_assert_ptr_null(json_object_get(cfg, "mutex"));
            ck_assert_ptr_null(json_object_get(cfg, "encryption"));
            ck_assert_str_eq(json_string_value(json_object_get(mc_cfg_rawjson(c), cases[k].hosts_field)), "%Hosts%");
            finish(&t);
        }
}
END_TEST

/* Marker strings with base64 that no key opens; then no image at all (prose naming the
 * families, base64 junk, a native DLL and noise). Every decoder, both layouts. */
START_TEST(lookalikes_give_nothing)
{
    const mc_decoder *decs[] = {&mc_decoder_asyncrat, &mc_decoder_dcrat, &mc_decoder_venomrat};
    const char *fixtures[] = {"aesrat_lookalike.exe", NULL};
    for (int k = 0; k < 2; k++)
        for (size_t di = 0; di < 3; di++)
            for (int mapped = 0; mapped < 2; mapped++) {
                if (!fixtures[k] && mapped) continue;
                td_spec sp = {fixtures[k], mapped, NULL, 0};
                run_t t;
                run(decs[di], &sp, &t);
                ck_assert_msg(mc_results_count(t.r) == 0, "%s on %s", decs[di]->family,
                              fixtures[k] ? fixtures[k] : "no image");
                finish(&t);
            }
}
END_TEST

/* Image wiped: the decrypted heap strings alone give a low-confidence partial for the families
 * whose builder mutex names them; a mutex without host and port lists beside it gives nothing;
 * VenomRAT has no documented default mutex, so its heap alone gives nothing. */
static void heap_only_case(const mc_decoder *dec, const sample *s)
{
    const char *heap[3] = {s->mutex, s->heap[0], s->heap[1]};
    td_spec sp = {NULL, false, heap, 3};
    run_t t;
    run(dec, &sp, &t);
    ck_assert_uint_eq(mc_results_count(t.r), 1);
    mc_config *c = mc_results_get(t.r, 0);
    ck_assert_str_eq(mc_cfg_family(c), s->family);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_PARTIAL);
    ck_assert_int_le(mc_cfg_get_confidence(c), 30);
    check_conns(mc_cfg_json(c), s);
    ck_assert_str_eq(tu_first_str(mc_cfg_json(c), "mutex"), s->mutex);
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "heap_decrypted"));
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "tcp[0]", "heap_decrypted"));
    finish(&t);

    const char *lone[2] = {s->mutex, "not a host list"};
    td_spec sp2 = {NULL, false, lone, 2};
    run(dec, &sp2, &t);
    ck_assert_uint_eq(mc_results_count(t.r), 0);
    finish(&t);
}

START_TEST(asyncrat_heap_only) { heap_only_case(&mc_decoder_asyncrat, &async_s); }
END_TEST

START_TEST(dcrat_heap_only) { heap_only_case(&mc_decoder_dcrat, &dcrat_s); }
END_TEST

START_TEST(venomrat_heap_only_gives_nothing)
{
    td_spec sp = {NULL, false, venom_s.heap, 5};
    run_t t;
    run(&mc_decoder_venomrat, &sp, &t);
    ck_assert_uint_eq(mc_results_count(t.r), 0);
    finish(&t);
}
END_TEST

/* ---- the shared library against shared/vectors ---- */

static json_t *load_vectors(void)
{
    const char *p = tu_shared("vectors/crypto_vectors.json");
    ck_assert_msg(p != NULL, "shared/vectors missing");
    json_error_t err;
    json_t *v = json_load_file(p, 0, &err);
    ck_assert_msg(v != NULL, "%s", err.text);
    return v;
}

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = strlen(h) / 2;
    ck_assert_uint_le(n, max);
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &b), 1);
        out[i] = (uint8_t)b;
    }
    return n;
}

START_TEST(lib_vectors)
{
    json_t *root = load_vectors(), *v;
    size_t i, seen = 0, nknown;
    const mc_aesrat_salt *known = mc_aesrat_salts(&nknown);
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        const char *fam = json_string_value(json_object_get(v, "family"));
        if (!fam || (strcmp(fam, "asyncrat") && strcmp(fam, "dcrat") && strcmp(fam, "venomrat"))) continue;
        seen++;
        const char *key_field = json_string_value(json_object_get(v, "key_field"));
        const char *pw = json_string_value(json_object_get(v, "password"));
        uint8_t salt[64], want_key[32], want_auth[64], dk[MC_AESRAT_DK_LEN], dec[64];
        char hex[2 * MC_AESRAT_DK_LEN + 1];
        size_t salt_len = unhex(json_string_value(json_object_get(v, "salt_hex")), salt, sizeof salt);
        unhex(json_string_value(json_object_get(v, "aes_key_hex")), want_key, 32);
        unhex(json_string_value(json_object_get(v, "hmac_key_hex")), want_auth, 64);
        /* the Key field is base64 of the password */
        long n = mc_b64_decode(key_field, strlen(key_field), dec);
        ck_assert_int_eq(n, (long)strlen(pw));
        ck_assert(memcmp(dec, pw, (size_t)n) == 0);
        /* the library's salt table holds this family's salt */
        bool listed = false;
        for (size_t k = 0; k < nknown; k++)
            listed |= strcmp(known[k].family, fam) == 0 && known[k].len == salt_len &&
                      memcmp(known[k].salt, salt, salt_len) == 0;
        ck_assert_msg(listed, "%s salt not in the table", fam);
        ck_assert(mc_aesrat_derive(pw, strlen(pw), salt, salt_len,
                                   (unsigned)json_integer_value(json_object_get(v, "iterations")), dk));
        mc_hex(dk, 32, hex);
        ck_assert_str_eq(hex, json_string_value(json_object_get(v, "aes_key_hex")));
        ck_assert(memcmp(dk + 32, want_auth, 64) == 0);
        char *pt = mc_aesrat_decrypt_b64(dk, json_string_value(json_object_get(v, "blob_b64")));
        ck_assert_ptr_nonnull(pt);
        ck_assert_str_eq(pt, json_string_value(json_object_get(v, "plaintext")));
        free(pt);
        /* the plausible wrong keys: the stored field text, and another family's salt */
        ck_assert(mc_aesrat_derive(key_field, strlen(key_field), salt, salt_len, 50000, dk));
        ck_assert_ptr_null(mc_aesrat_decrypt_b64(dk, json_string_value(json_object_get(v, "blob_b64"))));
        const mc_aesrat_salt *other = &known[(strcmp(fam, "asyncrat") == 0) ? 1 : 0];
        ck_assert(mc_aesrat_derive(pw, strlen(pw), other->salt, other->len, 50000, dk));
        ck_assert_ptr_null(mc_aesrat_decrypt_b64(dk, json_string_value(json_object_get(v, "blob_b64"))));
    }
    ck_assert_uint_eq(seen, 3);
    json_decref(root);
}
END_TEST

START_TEST(lib_tampered_blob)
{
    /* A flipped bit anywhere (MAC, IV, ciphertext) fails the HMAC. */
    json_t *root = load_vectors(), *v;
    size_t i;
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "family")), "dcrat") != 0) continue;
        uint8_t salt[64], dk[MC_AESRAT_DK_LEN], *blob;
        size_t salt_len = unhex(json_string_value(json_object_get(v, "salt_hex")), salt, sizeof salt);
        const char *pw = json_string_value(json_object_get(v, "password"));
        ck_assert(mc_aesrat_derive(pw, strlen(pw), salt, salt_len, 50000, dk));
        long n = mc_aesrat_blob(json_string_value(json_object_get(v, "blob_b64")), &blob);
        ck_assert_int_gt(n, 64);
        uint8_t *out = malloc((size_t)n);
        size_t olen;
        ck_assert(mc_aesrat_open(dk, 32, dk + 32, 64, MC_AES_CBC, blob, (size_t)n, out, &olen));
        size_t spots[3] = {0, 40, (size_t)n - 1};
        for (int k = 0; k < 3; k++) {
            blob[spots[k]] ^= 1;
            ck_assert(!mc_aesrat_open(dk, 32, dk + 32, 64, MC_AES_CBC, blob, (size_t)n, out, &olen));
            blob[spots[k]] ^= 1;
        }
        ck_assert(!mc_aesrat_open(dk, 32, dk + 32, 64, MC_AES_CBC, blob, 63, out, &olen));
        free(out);
        free(blob);
    }
    static const uint8_t zero[MC_AESRAT_DK_LEN];
    ck_assert_ptr_null(mc_aesrat_decrypt_b64(zero, "not base64 at all"));
    json_decref(root);
}
END_TEST

/* ---- through the engine: libyara rules, dispatch, records, every container ---- */

/* The Quasar, AsyncRAT, DcRat and VenomRAT rules and decoders together. */
static const char *const engine_fams[] = {"quasar", "asyncrat", "dcrat", "venomrat"};

static void containers_case(const sample *s)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {s->fixture, mapped, s->heap, count(s->heap, 5)};
        td_dump x;
        td_build(&lay, &sp, &x);
        for (int kind = 0; kind < TD__KINDS; kind++) {
            tu_run r;
            td_scan(&x, kind, engine_fams, 4, &r);
            ck_assert_msg(r.nconfigs == 1, "%s mapped=%d %s: %zu records", s->family, mapped, td_kind_names[kind], r.nconfigs);
            json_t *rec = r.rec[0], *cfg = r.cfg[0];
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "decoder"), "name")), s->family);
            ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), s->family);
            ck_assert_str_eq(json_string_value(json_array_get(json_object_get(cfg, "category"), 0)), "rat");
            check_conns(cfg, s);
            ck_assert_str_eq(tu_first_str(cfg, "mutex"), s->mutex);
            ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), s->group);
            ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), s->version);
            ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "encryption"), 0), "key")),
                             s->aes_key);
            ck_assert_int_ge(json_integer_value(json_object_get(rec, "confidence")), 88);
            mc_input_result_clear(&r.res);
        }
        td_free(&x);
    }
}

START_TEST(asyncrat_containers) { containers_case(&async_s); }
END_TEST

START_TEST(dcrat_containers) { containers_case(&dcrat_s); }
END_TEST

START_TEST(venomrat_containers) { containers_case(&venom_s); }
END_TEST

/* Templates, look-alikes, the heap-only partial and the look-alike-only dump through the rules. */
START_TEST(engine_edge_cases)
{
    const char *heap_async[3] = {async_s.mutex, async_s.heap[0], async_s.heap[1]};
    struct { const char *fx; const char *const *heap; size_t nheap; size_t want; const char *status, *family; } cases[] = {
        {"asyncrat_template.exe", NULL, 0, 1, "template", "asyncrat"},
        {"dcrat_template.exe", NULL, 0, 1, "template", "dcrat"},
        {"venomrat_template.exe", NULL, 0, 1, "template", "venomrat"},
        {"asyncrat_paste.exe", NULL, 0, 1, "complete", "asyncrat"},
        {"aesrat_lookalike.exe", NULL, 0, 0, NULL, NULL},
        {NULL, heap_async, 3, 1, "partial", "asyncrat"},
        {NULL, NULL, 0, 0, NULL, NULL},
        {"quasar14.exe", NULL, 0, 1, "complete", "quasar"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        td_spec sp = {cases[k].fx, true, cases[k].heap, cases[k].nheap};
        td_dump x;
        td_build(&lay, &sp, &x);
        tu_run r;
        td_scan(&x, TD_RAW, engine_fams, 4, &r);
        ck_assert_msg(r.nconfigs == cases[k].want, "case %zu: %zu records", k, r.nconfigs);
        if (r.nconfigs) {
            ck_assert_str_eq(json_string_value(json_object_get(r.rec[0], "status")), cases[k].status);
            ck_assert_str_eq(json_string_value(json_object_get(r.cfg[0], "family")), cases[k].family);
        }
        mc_input_result_clear(&r.res);
        td_free(&x);
    }
}
END_TEST

/* Three samples in one process. The DcRat and VenomRAT images' strings switch the AsyncRAT and
 * DcRat rules off (their conditions exclude them), so the VenomRAT rule's decoder decodes all
 * three images (each salt names its family), while the AsyncRAT decoder, handed only heap hits,
 * builds a heap-only stand-in from the AsyncRAT heap strings. The engine drops the stand-in: the
 * image config of that family is there. */
START_TEST(standin_dropped_beside_image)
{
    static const char *const images[] = {"asyncrat.exe", "dcrat.exe", "venomrat.exe"};
    fx_buf b;
    fx_buf_init(&b);
    fx_put_zeros(&b, TD_IMG_OFF);
    for (size_t i = 0; i < 3; i++) {
        size_t flen;
        uint8_t *f = td_load(images[i], &flen);
        fx_align(&b, 0x10000);
        fx_pe_map(f, flen, &b);
        free(f);
    }
    fx_align(&b, 0x1000);
    const char *heap[3] = {async_s.mutex, async_s.heap[0], async_s.heap[1]};
    td_put_strings(&b, 8, TD_MT, "System.Collections.Generic", heap, 3);
    fx_put_zeros(&b, 0x100);
    md_open_opts raw = tu_raw_opts(BASE);
    tu_run r;
    tu_engine_run_families(engine_fams, 4, &b, &raw, &r);
    ck_assert_uint_eq(r.nconfigs, 3);
    static const char *const fams[] = {"asyncrat", "dcrat", "venomrat"};
    for (size_t i = 0; i < r.nconfigs; i++) {
        ck_assert_str_eq(json_string_value(json_object_get(r.rec[i], "status")), "complete");
        ck_assert_str_eq(json_string_value(json_object_get(r.cfg[i], "family")), fams[i]);
    }
    mc_input_result_clear(&r.res);
    fx_buf_free(&b);
}
END_TEST

/* The unbuilt stubs of the three families, flat and mapped, in every container with all four
 * families' rules: one record, status template, the family its rules name, the placeholders in
 * raw, and nothing that would export as an indicator. */
static void template_containers(const char *fixture, const char *family, const char *hosts_field)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {fixture, mapped, NULL, 0};
        td_dump x;
        td_build(&lay, &sp, &x);
        for (int kind = 0; kind < TD__KINDS; kind++) {
            tu_run r;
            td_scan(&x, kind, engine_fams, 4, &r);
            ck_assert_msg(r.nconfigs == 1, "%s mapped=%d %s: %zu records", fixture, mapped, td_kind_names[kind], r.nconfigs);
            json_t *rec = r.rec[0], *cfg = r.cfg[0], *raw_fields = json_object_get(rec, "raw");
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "template");
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "decoder"), "name")), family);
            ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), family);
            ck_assert_str_eq(json_string_value(json_array_get(json_object_get(cfg, "category"), 0)), "rat");
            static const char *const absent[] = {"tcp", "udp", "http", "mutex", "campaign_id", "encryption",
                                                 "password", "version", "paths"};
            for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
                ck_assert_msg(json_object_get(cfg, absent[i]) == NULL, "%s %s: %s present", fixture, td_kind_names[kind], absent[i]);
            ck_assert_str_eq(json_string_value(json_object_get(raw_fields, hosts_field)), "%Hosts%");
            ck_assert_str_eq(json_string_value(json_object_get(raw_fields, "Key")), "%Key%");
            ck_assert_str_eq(json_string_value(json_object_get(raw_fields, "MTX")), "%MTX%");
            mc_input_result_clear(&r.res);
        }
        td_free(&x);
    }
}

START_TEST(templates_every_container)
{
    template_containers("asyncrat_template.exe", "asyncrat", "Hosts");
    template_containers("dcrat_template.exe", "dcrat", "Hos_ts");
    template_containers("venomrat_template.exe", "venomrat", "Hos_ts");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("asyncrat");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, lib_vectors);
    tcase_add_test(tc, lib_tampered_blob);
    tcase_add_test(tc, asyncrat_decode);
    tcase_add_test(tc, dcrat_decode);
    tcase_add_test(tc, venomrat_decode);
    tcase_add_test(tc, salt_settles_family);
    tcase_add_test(tc, asyncrat_pastebin_plain_mutex);
    tcase_add_test(tc, template_stubs);
    tcase_add_test(tc, lookalikes_give_nothing);
    tcase_add_test(tc, asyncrat_heap_only);
    tcase_add_test(tc, dcrat_heap_only);
    tcase_add_test(tc, venomrat_heap_only_gives_nothing);
    tcase_add_test(tc, standin_dropped_beside_image);
    tcase_add_test(tc, asyncrat_containers);
    tcase_add_test(tc, dcrat_containers);
    tcase_add_test(tc, venomrat_containers);
    tcase_add_test(tc, engine_edge_cases);
    tcase_add_test(tc, templates_every_container);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
