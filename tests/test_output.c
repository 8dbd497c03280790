/* Output writers on hand-made records: ndjson lines, the json document, text with defanging,
 * terminal safety, and byte-identical output for the same inputs. */
#include "mc_output.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char rec_asyncrat[] =
    "{\"schema_version\":\"1.0\",\"record_type\":\"config\","
    "\"tool\":{\"name\":\"memcfg\",\"version\":\"0.1.0\",\"maco_version\":\"1.2.26\"},"
    "\"input\":{\"path\":\"a.dmp\",\"sha256\":\"00aa\",\"size\":4096,\"format\":\"minidump\","
    "\"process\":{\"pid\":2412,\"name\":\"RegAsm.exe\"}},"
    "\"detection\":{\"rules\":[{\"rule\":\"asyncrat_config\",\"namespace\":\"asyncrat\"}],"
    "\"region\":{\"va\":\"0x00400000\",\"size\":65536,\"protect\":\"RX\",\"module\":\"stub.exe\"}},"
    "\"decoder\":{\"name\":\"asyncrat\",\"version\":\"3\"},"
    "\"status\":\"complete\",\"confidence\":90,\"fingerprint\":\"sha256:11\","
    "\"config\":{\"family\":\"asyncrat\",\"version\":\"0.5.8\",\"mutex\":[\"AsyncMutex_6SI8\"],"
    "\"campaign_id\":[\"Default\"],"
    "\"tcp\":[{\"server_domain\":\"c2.example\",\"server_port\":6606,\"usage\":\"c2\"},"
    "{\"server_ip\":\"203.0.113.7\",\"server_port\":7707,\"usage\":\"c2\"}],"
    "\"http\":[{\"uri\":\"https://panel.example/gate.php\",\"usage\":\"c2\"}],"
    "\"encryption\":[{\"algorithm\":\"AES-256-CBC\",\"key\":\"00112233\",\"usage\":\"config\"}]},"
    "\"provenance\":{\"tcp[0]\":[{\"va\":\"0x0041a2c0\",\"form\":\"heap_decrypted\"},"
    "{\"va\":\"0x00401000\",\"form\":\"image_encrypted\"}],"
    "\"mutex[0]\":[{\"va\":\"0x0041a300\",\"form\":\"unknown\"}],"
    "\"encryption[0].key\":[{\"va\":\"0x0041a400\"}]},"
    "\"warnings\":[]}";

static const char rec_hostile[] =
    "{\"schema_version\":\"1.0\",\"record_type\":\"config\",\"status\":\"partial\","
    "\"confidence\":40,\"config\":{\"family\":\"quasar\",\"mutex\":[\"\\u001b[2Jgone\\u202e\"]}}";

typedef struct fixture {
    json_t *recs[2];
    mc_input_result ok, bad;
} fixture;

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "fixture JSON: %s", e.text);
    return j;
}

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->recs[0] = load(rec_asyncrat);
    f->recs[1] = load(rec_hostile);
    f->ok.status = MC_INPUT_OK;
    f->ok.input = json_deep_copy(json_object_get(f->recs[0], "input"));
    f->ok.records = f->recs;
    f->ok.nrecords = 2;
    f->ok.nhits = 3;
    f->ok.elapsed = 0.25;
    f->bad.status = MC_INPUT_ERROR;
    snprintf(f->bad.error, sizeof f->bad.error, "minidump stream 3 points past end of file");
}

static void fixture_free(fixture *f)
{
    json_decref(f->recs[0]);
    json_decref(f->recs[1]);
    json_decref(f->ok.input);
}

/* Runs one writer over the fixture (good input, then bad input) into a string. */
static char *render(const char *format, int defang, int verbose)
{
    fixture f;
    fixture_init(&f);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(fp);
    mc_output_opts o = {.defang = defang, .verbose = verbose, .ruleset_sha256 = "abcd"};
    mc_writer *w = mc_writer_new(format, fp, &o);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(mc_writer_input(w, "a.dmp", &f.ok), 0);
    ck_assert_int_eq(mc_writer_input(w, "missing.dmp", &f.bad), 0);
    ck_assert_int_eq(mc_writer_finish(w), 0);
    const mc_output_stats *st = mc_writer_stats(w);
    ck_assert_uint_eq(st->inputs, 2);
    ck_assert_uint_eq(st->configs, 2);
    ck_assert_uint_eq(st->errors, 1);
    ck_assert_uint_eq(st->hits, 3);
    mc_writer_free(w);
    fclose(fp);
    fixture_free(&f);
    return buf;
}

START_TEST(defang_urls_and_hosts)
{
    static const struct { const char *in, *want; bool url; } cases[] = {
        {"http://c2.example/x.php", "hxxp://c2[.]example/x.php", true},
        {"HTTPS://a.example:443/p.q?x=1.2", "hxxps://a[.]example:443/p.q?x=1.2", true},
        {"ftp://user.name@files.test/a.b", "fxp://user.name@files[.]test/a.b", true},
        {"tcp://198.51.100.4:80", "tcp://198[.]51[.]100[.]4:80", true},
        {"c2.example:8080/a.b", "c2[.]example:8080/a.b", true},
        {"203.0.113.7", "203[.]0[.]113[.]7", false},
        {"", "", false},
        {"no-dots", "no-dots", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = cases[i].url ? mc_defang_url(cases[i].in) : mc_defang_host(cases[i].in);
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got, cases[i].want);
        free(got);
    }
}
END_TEST

START_TEST(text_safe_escapes_controls)
{
    static const struct { const char *in, *want; } cases[] = {
        {"\x1b[31mred", "\\x1b[31mred"},
        {"tab\there", "tab\\x09here"},
        {"a\xe2\x80\xae" "b", "a\\u{202e}b"},
        {"\xc2\x9b" "x", "\\u{009b}x"},
        {"bad\xff" "byte", "bad\\xffbyte"},
        {"caf\xc3\xa9 C:\\Temp", "caf\xc3\xa9 C:\\Temp"},
        {"\xc0\xaf", "\\xc0\\xaf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = mc_text_safe(cases[i].in);
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got, cases[i].want);
        free(got);
    }
}
END_TEST

START_TEST(ndjson_one_line_per_record)
{
    char *out = render("ndjson", -1, 0);
    size_t lines = 0;
    char *save = NULL;
    const char *types[3] = {"config", "config", "error"};
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        ck_assert_uint_lt(lines, 3);
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        ck_assert_msg(j != NULL, "line %zu is not JSON: %s", lines, e.text);
        ck_assert_str_eq(json_string_value(json_object_get(j, "record_type")), types[lines]);
        if (lines == 0) {
            /* machine formats carry real values */
            json_t *tcp0 = json_array_get(json_object_get(json_object_get(j, "config"), "tcp"), 0);
            ck_assert_str_eq(json_string_value(json_object_get(tcp0, "server_domain")), "c2.example");
            ck_assert_ptr_null(json_object_get(j, "defanged"));
        }
        if (lines == 2) {
            json_t *err = json_object_get(j, "error");
            ck_assert_str_eq(json_string_value(json_object_get(err, "message")),
                             "minidump stream 3 points past end of file");
            ck_assert_ptr_nonnull(json_string_value(json_object_get(err, "code")));
            json_t *in = json_object_get(j, "input");
            ck_assert_str_eq(json_string_value(json_object_get(in, "path")), "missing.dmp");
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "tool"), "name")),
                             "memcfg");
        }
        json_decref(j);
        lines++;
    }
    ck_assert_uint_eq(lines, 3);
    free(out);
}
END_TEST

START_TEST(ndjson_forced_defang_is_marked)
{
    char *out = render("ndjson", 1, 0);
    char *nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    json_t *j = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_true(json_object_get(j, "defanged")));
    json_t *config = json_object_get(j, "config");
    json_t *tcp1 = json_array_get(json_object_get(config, "tcp"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(tcp1, "server_ip")), "203[.]0[.]113[.]7");
    json_t *http0 = json_array_get(json_object_get(config, "http"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(http0, "uri")),
                     "hxxps://panel[.]example/gate.php");
    json_decref(j);
    free(out);
}
END_TEST

START_TEST(json_document_shape)
{
    char *out = render("json", -1, 0);
    json_error_t e;
    json_t *doc = json_loads(out, 0, &e);
    ck_assert_msg(doc != NULL, "not JSON: %s", e.text);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "schema_version")), MC_SCHEMA_VERSION);
    json_t *tool = json_object_get(doc, "tool");
    ck_assert_str_eq(json_string_value(json_object_get(tool, "ruleset_sha256")), "abcd");
    json_t *inputs = json_object_get(doc, "inputs");
    ck_assert_uint_eq(json_array_size(inputs), 2);
    json_t *in0 = json_array_get(inputs, 0), *in1 = json_array_get(inputs, 1);
    ck_assert_str_eq(json_string_value(json_object_get(in0, "path")), "a.dmp");
    ck_assert_str_eq(json_string_value(json_object_get(in0, "sha256")), "00aa");
    ck_assert_str_eq(json_string_value(json_object_get(in0, "format")), "minidump");
    ck_assert_str_eq(json_string_value(json_object_get(in0, "status")), "ok");
    ck_assert_int_eq(json_integer_value(json_object_get(in0, "records")), 2);
    ck_assert_ptr_null(json_object_get(in0, "error"));
    ck_assert_ptr_null(json_object_get(in0, "elapsed_ms"));
    ck_assert_str_eq(json_string_value(json_object_get(in1, "status")), "error");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(in1, "error")));
    ck_assert(json_is_null(json_object_get(in1, "sha256")));
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "records")), 3);
    json_t *st = json_object_get(doc, "stats");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "inputs")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "hits")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "records")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "errors")), 1);
    json_decref(doc);
    free(out);
}
END_TEST

START_TEST(json_verbose_adds_timings)
{
    char *out = render("json", -1, 1);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_t *in0 = json_array_get(json_object_get(doc, "inputs"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(in0, "elapsed_ms")), 250);
    json_decref(doc);
    free(out);
}
END_TEST

START_TEST(text_defangs_and_shows_provenance)
{
    char *out = render("text", -1, 0);
    ck_assert_ptr_nonnull(strstr(out, "a.dmp\n"));
    ck_assert_ptr_nonnull(strstr(out, "minidump"));
    ck_assert_ptr_nonnull(strstr(out, "4096 bytes"));
    ck_assert_ptr_nonnull(strstr(out, "0.5.8"));
    ck_assert_ptr_nonnull(strstr(out, "complete"));
    ck_assert_ptr_nonnull(strstr(out, "confidence 90"));
    ck_assert_ptr_nonnull(strstr(out, "c2[.]example:6606"));
    ck_assert_ptr_nonnull(strstr(out, "203[.]0[.]113[.]7:7707"));
    ck_assert_ptr_nonnull(strstr(out, "hxxps://panel[.]example/gate.php"));
    ck_assert_ptr_null(strstr(out, "c2.example"));
    ck_assert_ptr_nonnull(
        strstr(out, "@ 0x0041a2c0 (heap_decrypted), 0x00401000 (image_encrypted)\n"));
    ck_assert_ptr_nonnull(strstr(out, "AsyncMutex_6SI8  @ 0x0041a300\n"));
    ck_assert_ptr_nonnull(strstr(out, "@ 0x0041a400"));
    ck_assert_ptr_nonnull(strstr(out, "Default"));
    ck_assert_ptr_nonnull(strstr(out, "AES-256-CBC"));
    ck_assert_ptr_nonnull(strstr(out, "asyncrat_config"));
    ck_assert_ptr_nonnull(strstr(out, "0x00400000"));
    ck_assert_ptr_nonnull(strstr(out, "stub.exe"));
    ck_assert_ptr_nonnull(strstr(out, "missing.dmp\n"));
    ck_assert_ptr_nonnull(strstr(out, "error: minidump stream 3 points past end of file"));
    /* a hostile string cannot reach the terminal raw */
    ck_assert_ptr_null(strchr(out, '\x1b'));
    ck_assert_ptr_nonnull(strstr(out, "\\x1b[2Jgone\\u{202e}"));
    ck_assert_ptr_nonnull(strstr(out, "2 inputs, 2 configurations, 1 error"));
    free(out);
}
END_TEST

START_TEST(text_no_defang_shows_real_values)
{
    char *out = render("text", 0, 0);
    ck_assert_ptr_nonnull(strstr(out, "c2.example:6606"));
    ck_assert_ptr_nonnull(strstr(out, "https://panel.example/gate.php"));
    ck_assert_ptr_null(strstr(out, "[.]"));
    free(out);
}
END_TEST

START_TEST(output_is_deterministic)
{
    static const char *const formats[] = {"text", "json", "ndjson"};
    for (size_t i = 0; i < 3; i++) {
        char *a = render(formats[i], -1, 0), *b = render(formats[i], -1, 0);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(writer_registry)
{
    ck_assert_ptr_nonnull(mc_writer_lookup("text"));
    ck_assert_ptr_nonnull(mc_writer_lookup("json"));
    ck_assert_ptr_nonnull(mc_writer_lookup("ndjson"));
    ck_assert_ptr_null(mc_writer_lookup("yaml"));
    ck_assert_ptr_null(mc_writer_new("yaml", stdout, NULL));
    ck_assert(!mc_writer_lookup("text")->machine);
    ck_assert(mc_writer_lookup("ndjson")->machine);
}
END_TEST

START_TEST(error_record_keeps_engine_input_block)
{
    json_t *in = json_pack("{s:s, s:s}", "path", "x.dmp", "sha256", "ff");
    json_t *r = mc_error_record("x.dmp", in, "MD_E_TRUNCATED", "truncated", NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(json_string_value(json_object_get(r, "record_type")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                     "MD_E_TRUNCATED");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "input"), "sha256")), "ff");
    ck_assert_ptr_null(json_object_get(json_object_get(r, "tool"), "ruleset_sha256"));
    json_decref(r);
    json_decref(in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("output");
    TCase *tc = tcase_create("writers");
    tcase_add_test(tc, defang_urls_and_hosts);
    tcase_add_test(tc, text_safe_escapes_controls);
    tcase_add_test(tc, ndjson_one_line_per_record);
    tcase_add_test(tc, ndjson_forced_defang_is_marked);
    tcase_add_test(tc, json_document_shape);
    tcase_add_test(tc, json_verbose_adds_timings);
    tcase_add_test(tc, text_defangs_and_shows_provenance);
    tcase_add_test(tc, text_no_defang_shows_real_values);
    tcase_add_test(tc, output_is_deterministic);
    tcase_add_test(tc, writer_registry);
    tcase_add_test(tc, error_record_keeps_engine_input_block);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
