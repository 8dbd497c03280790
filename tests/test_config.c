/* The config builder: every adder's placement, the escaping rule, duplicates with provenance,
 * and invalid values ending in raw only. */
#include "mc_config.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static mc_results *res;
static mc_config *cfg;

static void setup(void)
{
    res = mc_results_new();
    cfg = mc_cfg_new(res, "QuasaR", 0x401000);
    ck_assert_ptr_nonnull(cfg);
}

static void teardown(void)
{
    mc_results_free(res);
}

static json_t *field(const char *name) { return json_object_get(mc_cfg_json(cfg), name); }
static json_t *raw(const char *name) { return json_object_get(mc_cfg_rawjson(cfg), name); }
static json_t *prov(const char *key) { return json_object_get(mc_cfg_provenance(cfg), key); }

static void assert_escaped(const char *in, size_t len, const char *want)
{
    json_t *j = mc_json_bytes(in, len);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_string_length(j), strlen(want));
    ck_assert_str_eq(json_string_value(j), want);
    json_decref(j);
}

START_TEST(escaping_rule)
{
    assert_escaped("plain", 5, "plain");
    assert_escaped("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_escaped("a\xff" "b", 3, "a\\xFFb");
    assert_escaped("\xc0\xaf", 2, "\\xC0\\xAF");              /* overlong '/' */
    assert_escaped("\xed\xa0\x80", 3, "\\xED\\xA0\\x80");     /* surrogate */
    assert_escaped("\xf4\x90\x80\x80", 4, "\\xF4\\x90\\x80\\x80"); /* above U+10FFFF */
    assert_escaped("\xe2\x82", 2, "\\xE2\\x82");              /* truncated sequence */
    assert_escaped("a\0b", 3, "a\\x00b");
    assert_escaped("C:\\dir", 6, "C:\\dir");                   /* lone backslash stays */
    assert_escaped("\\x41", 4, "\\\\x41");                     /* looks like an escape */
    assert_escaped("\\\\", 2, "\\\\\\");                       /* 2 backslashes -> 3 */
    assert_escaped("\\\xff", 2, "\\\\\\xFF");                  /* backslash before escaped byte */
    assert_escaped("\\xg1", 4, "\\xg1");
    assert_escaped("end\\", 4, "end\\");
    json_t *e = mc_json_bytes("", 0);
    ck_assert_str_eq(json_string_value(e), "");
    json_decref(e);
    ck_assert_ptr_null(mc_json_str(NULL));
}
END_TEST

START_TEST(basics)
{
    ck_assert_str_eq(mc_cfg_family(cfg), "quasar");
    ck_assert_str_eq(json_string_value(field("family")), "quasar");
    ck_assert_uint_eq(mc_cfg_anchor(cfg), 0x401000);
    ck_assert_int_eq(mc_cfg_get_status(cfg), MC_STATUS_COMPLETE);
    ck_assert_int_eq(mc_cfg_get_confidence(cfg), 50);
    mc_cfg_status(cfg, MC_STATUS_PARTIAL, 140);
    ck_assert_int_eq(mc_cfg_get_confidence(cfg), 100);
    ck_assert_int_eq(mc_cfg_get_status(cfg), MC_STATUS_PARTIAL);
    mc_cfg_warn(cfg, "odd %d", 7);
    ck_assert_str_eq(json_string_value(json_array_get(mc_cfg_warnings(cfg), 0)), "odd 7");
    ck_assert_str_eq(mc_status_name(MC_STATUS_TEMPLATE), "template");
    ck_assert_str_eq(mc_form_name(MC_FORM_HEAP_DECRYPTED), "heap_decrypted");
    ck_assert_ptr_null(mc_cfg_new(res, "", 0));
    mc_config *two = mc_cfg_new(res, "other", 0);
    ck_assert_uint_eq(mc_results_count(res), 2);
    mc_cfg_discard(res, two);
    ck_assert_uint_eq(mc_results_count(res), 1);
    ck_assert_ptr_eq(mc_results_get(res, 0), cfg);
    ck_assert_ptr_null(mc_results_get(res, 1));
}
END_TEST

START_TEST(version_and_scalars)
{
    ck_assert(mc_cfg_version(cfg, "1.4.1", mc_at(0x1000, MC_FORM_PLAINTEXT)));
    ck_assert(!mc_cfg_version(cfg, "1.4.1", mc_at(0x2000, MC_FORM_HEAP_DECRYPTED)));
    ck_assert(!mc_cfg_version(cfg, "2.0", mc_at(0x3000, MC_FORM_PLAINTEXT)));
    ck_assert_str_eq(json_string_value(field("version")), "1.4.1");
    ck_assert_str_eq(json_string_value(raw("version")), "2.0");
    ck_assert_uint_eq(json_array_size(prov("version")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(prov("version"), 0), "va")),
                     "0x0000000000001000");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(prov("version"), 1), "form")),
                     "heap_decrypted");
    ck_assert(mc_cfg_sleep_ms(cfg, 3000, mc_at(0, MC_FORM_UNKNOWN)));
    ck_assert_int_eq(json_integer_value(field("sleep_delay")), 3000);
    ck_assert_ptr_null(json_object_get(json_array_get(prov("sleep_delay"), 0), "va"));
    ck_assert(!mc_cfg_sleep_ms(cfg, -5, mc_at(0, MC_FORM_UNKNOWN)));
    ck_assert_int_eq(json_integer_value(raw("sleep_delay")), -5);
}
END_TEST

START_TEST(categories)
{
    ck_assert(mc_cfg_category(cfg, "rat"));
    ck_assert(!mc_cfg_category(cfg, "rat"));
    ck_assert(mc_cfg_category(cfg, "reverse_proxy"));
    ck_assert(!mc_cfg_category(cfg, "RAT"));
    ck_assert(!mc_cfg_category(cfg, "stealer"));
    ck_assert_uint_eq(json_array_size(field("category")), 2);
    ck_assert_uint_eq(json_array_size(raw("category")), 2);
}
END_TEST

START_TEST(string_fields)
{
    mc_where w = mc_at(0x5000, MC_FORM_IMAGE_ENCRYPTED);
    ck_assert(mc_cfg_str(cfg, MC_F_MUTEX, "AsyncMutex_6SI8OkPnk", w));
    ck_assert(!mc_cfg_str(cfg, MC_F_MUTEX, "AsyncMutex_6SI8OkPnk", mc_at(0x6000, MC_FORM_PLAINTEXT)));
    ck_assert(mc_cfg_str(cfg, MC_F_MUTEX, "m\xff", w));
    ck_assert(!mc_cfg_str(cfg, MC_F_MUTEX, "", w));
    ck_assert(!mc_cfg_str(cfg, MC_F__COUNT, "x", w));
    ck_assert(mc_cfg_str(cfg, MC_F_CAMPAIGN_ID, "Default", w));
    ck_assert(mc_cfg_str(cfg, MC_F_ATTACK, "T1129", w));
    ck_assert(mc_cfg_str(cfg, MC_F_CAPABILITY_DISABLED, "detect_vm", w));
    ck_assert_uint_eq(json_array_size(field("mutex")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(field("mutex"), 1)), "m\\xFF");
    ck_assert_uint_eq(json_array_size(prov("mutex[0]")), 2);
    ck_assert_ptr_nonnull(field("campaign_id"));
    ck_assert_ptr_nonnull(field("attack"));
    ck_assert_ptr_nonnull(field("capability_disabled"));
}
END_TEST

START_TEST(connections)
{
    mc_where w = mc_at(0x7000, MC_FORM_HEAP_DECRYPTED);
    ck_assert(mc_cfg_conn(cfg, "203.0.113.7", 7707, false, "c2", w));
    ck_assert(mc_cfg_conn(cfg, "c2.example", 6606, false, "c2", w));
    ck_assert(!mc_cfg_conn(cfg, "c2.example", 6606, false, "c2", mc_at(0x8000, MC_FORM_PLAINTEXT)));
    ck_assert(mc_cfg_conn(cfg, "2001:db8::5", 53, true, NULL, w));
    ck_assert(mc_cfg_conn(cfg, "c2.test", -1, false, "decoy", w));
    ck_assert(!mc_cfg_conn(cfg, "not a host", 80, false, "c2", w));
    ck_assert(!mc_cfg_conn(cfg, "c2.example", 70000, false, "c2", w));
    ck_assert(!mc_cfg_conn(cfg, "c2.example", 80, false, "command", w));
    ck_assert(!mc_cfg_conn(cfg, "%Hosts%", 80, false, "c2", w));

    json_t *tcp = field("tcp");
    ck_assert_uint_eq(json_array_size(tcp), 3);
    json_t *t0 = json_array_get(tcp, 0), *t1 = json_array_get(tcp, 1), *t2 = json_array_get(tcp, 2);
    ck_assert_str_eq(json_string_value(json_object_get(t0, "server_ip")), "203.0.113.7");
    ck_assert(json_is_integer(json_object_get(t0, "server_port")));
    ck_assert_int_eq(json_integer_value(json_object_get(t0, "server_port")), 7707);
    ck_assert_str_eq(json_string_value(json_object_get(t1, "server_domain")), "c2.example");
    ck_assert_ptr_null(json_object_get(t1, "server_ip"));
    ck_assert_ptr_null(json_object_get(t2, "server_port"));
    ck_assert_str_eq(json_string_value(json_object_get(t2, "usage")), "decoy");
    ck_assert_uint_eq(json_array_size(prov("tcp[1]")), 2);
    json_t *udp = json_array_get(field("udp"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(udp, "server_ip")), "2001:db8::5");
    ck_assert_str_eq(json_string_value(json_object_get(udp, "usage")), "other");
    ck_assert_uint_eq(json_array_size(raw("tcp")), 4);
    ck_assert_str_eq(json_string_value(json_array_get(raw("tcp"), 0)), "not a host:80");
}
END_TEST

START_TEST(hostports)
{
    mc_where w = mc_at(0x7100, MC_FORM_PLAINTEXT);
    ck_assert(mc_cfg_hostport(cfg, "c2.example:4782", -1, "c2", w));
    ck_assert(mc_cfg_hostport(cfg, "[2001:db8::9]:443", -1, "c2", w));
    ck_assert(mc_cfg_hostport(cfg, "198.51.100.3", 8080, "c2", w));
    ck_assert(!mc_cfg_hostport(cfg, "198.51.100.4", -1, "c2", w));
    ck_assert(!mc_cfg_hostport(cfg, "c2.example:99999", -1, "c2", w));
    ck_assert(!mc_cfg_hostport(cfg, "%Host%:80", -1, "c2", w));
    json_t *tcp = field("tcp");
    ck_assert_uint_eq(json_array_size(tcp), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tcp, 1), "server_ip")),
                     "2001:db8::9");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(tcp, 2), "server_port")),
                     8080);
    ck_assert_uint_eq(json_array_size(raw("tcp")), 3);
}
END_TEST

START_TEST(urls)
{
    mc_where w = mc_at(0x9000, MC_FORM_PLAINTEXT);
    const char *hn[] = {"X-Id"}, *hv[] = {"7"};
    mc_http_extra x = {.user_agent = "Mozilla/5.0", .method = "POST", .header_names = hn,
                       .header_values = hv, .nheaders = 1};
    ck_assert(mc_cfg_url(cfg, "HTTPS://c2.example:8443/gate.php?a=1", NULL, "c2", &x, w));
    ck_assert(mc_cfg_url(cfg, "198.51.100.7/panel", "http", "c2", NULL, w));
    ck_assert(!mc_cfg_url(cfg, "c2.example/gate", NULL, "c2", NULL, w));
    ck_assert(!mc_cfg_url(cfg, "ftp://c2.example/", NULL, "c2", NULL, w));
    ck_assert(!mc_cfg_url(cfg, "http://bad_host/", NULL, "c2", NULL, w));
    ck_assert(!mc_cfg_url(cfg, "http://c2.example/", NULL, "bogus", NULL, w));
    json_t *h = field("http");
    ck_assert_uint_eq(json_array_size(h), 2);
    json_t *h0 = json_array_get(h, 0), *h1 = json_array_get(h, 1);
    ck_assert_str_eq(json_string_value(json_object_get(h0, "protocol")), "https");
    ck_assert_str_eq(json_string_value(json_object_get(h0, "hostname")), "c2.example");
    ck_assert_int_eq(json_integer_value(json_object_get(h0, "port")), 8443);
    ck_assert_str_eq(json_string_value(json_object_get(h0, "path")), "/gate.php");
    ck_assert_str_eq(json_string_value(json_object_get(h0, "query")), "a=1");
    ck_assert_str_eq(json_string_value(json_object_get(h0, "user_agent")), "Mozilla/5.0");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h0, "headers"), "X-Id")), "7");
    ck_assert_str_eq(json_string_value(json_object_get(h1, "uri")), "http://198.51.100.7/panel");
    ck_assert_ptr_null(json_object_get(h1, "port"));
    ck_assert_uint_eq(json_array_size(raw("http")), 4);
}
END_TEST

START_TEST(encryption_paths_registry)
{
    mc_where w = mc_at(0xa000, MC_FORM_IMAGE_ENCRYPTED);
    const uint8_t key[] = {0xde, 0xad, 0x01}, iv[] = {0, 1};
    mc_crypto e = {.algorithm = "AES-256-CBC", .mode = "CBC", .key = key, .key_len = 3,
                   .iv = iv, .iv_len = 2, .usage = "config"};
    ck_assert(mc_cfg_encryption(cfg, &e, w));
    ck_assert(!mc_cfg_encryption(cfg, &e, w));
    mc_crypto bad = {.algorithm = "RC4", .usage = "secret"};
    ck_assert(!mc_cfg_encryption(cfg, &bad, w));
    mc_crypto empty = {0};
    ck_assert(!mc_cfg_encryption(cfg, &empty, w));
    json_t *e0 = json_array_get(field("encryption"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e0, "key")), "dead01");
    ck_assert_str_eq(json_string_value(json_object_get(e0, "iv")), "0001");
    ck_assert_str_eq(json_string_value(json_object_get(e0, "usage")), "config");
    ck_assert_uint_eq(json_array_size(field("encryption")), 1);
    ck_assert_ptr_nonnull(raw("encryption"));

    ck_assert(mc_cfg_path(cfg, "%APPDATA%\\svc.exe", "install", w));
    ck_assert(mc_cfg_path(cfg, "C:\\logs", NULL, w));
    ck_assert(!mc_cfg_path(cfg, "C:\\x", "persist", w));
    ck_assert(mc_cfg_registry(cfg, "HKCU\\Software\\Run", "persistence", w));
    ck_assert(!mc_cfg_registry(cfg, "HKCU\\X", "write", w));
    ck_assert_uint_eq(json_array_size(field("paths")), 2);
    ck_assert_ptr_null(json_object_get(json_array_get(field("paths"), 1), "usage"));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(field("registry"), 0), "key")),
                     "HKCU\\Software\\Run");
    ck_assert_ptr_nonnull(raw("paths"));
    ck_assert_ptr_nonnull(raw("registry"));
}
END_TEST

START_TEST(other_and_raw)
{
    mc_where w = mc_at(0xb000, MC_FORM_PLAINTEXT);
    mc_cfg_other(cfg, "install", json_false(), w);
    mc_cfg_other(cfg, "install", json_false(), mc_at(0xb100, MC_FORM_PLAINTEXT));
    mc_cfg_other(cfg, "install", json_true(), w);
    ck_assert(json_is_false(json_object_get(field("other"), "install")));
    ck_assert_uint_eq(json_array_size(prov("other.install")), 2);
    ck_assert(json_is_true(raw("other.install")));

    mc_cfg_raw_str(cfg, "Hosts", "a");
    ck_assert(json_is_string(raw("Hosts")));
    mc_cfg_raw_str(cfg, "Hosts", "b");
    mc_cfg_raw(cfg, "Hosts", json_pack("[s]", "c"));
    json_t *h = raw("Hosts");
    ck_assert_uint_eq(json_array_size(h), 3);
    ck_assert(json_is_array(json_array_get(h, 2)));
    mc_cfg_raw(cfg, "List", json_pack("[i]", 1));
    mc_cfg_raw(cfg, "List", json_integer(2));
    ck_assert_uint_eq(json_array_size(raw("List")), 2);
    ck_assert(json_is_array(json_array_get(raw("List"), 0)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("config");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, escaping_rule);
    tcase_add_test(t, basics);
    tcase_add_test(t, version_and_scalars);
    tcase_add_test(t, categories);
    tcase_add_test(t, string_fields);
    tcase_add_test(t, connections);
    tcase_add_test(t, hostports);
    tcase_add_test(t, urls);
    tcase_add_test(t, encryption_paths_registry);
    tcase_add_test(t, other_and_raw);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
