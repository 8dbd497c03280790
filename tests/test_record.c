/* Fingerprints are order-independent but content-sensitive; duplicate records merge. */
#include "mc_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static char *fp_of(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    char *fp = mc_fingerprint(j);
    json_decref(j);
    return fp;
}

static void same(const char *a, const char *b, bool eq)
{
    char *x = fp_of(a), *y = fp_of(b);
    ck_assert(strncmp(x, "sha256:", 7) == 0 && strlen(x) == 71);
    if (eq)
        ck_assert_str_eq(x, y);
    else
        ck_assert_str_ne(x, y);
    free(x);
    free(y);
}

START_TEST(order_independent)
{
    same("{\"family\":\"f\",\"mutex\":[\"a\",\"b\"]}", "{\"mutex\":[\"b\",\"a\"],\"family\":\"f\"}", true);
    same("{\"family\":\"f\",\"tcp\":[{\"server_ip\":\"192.0.2.1\",\"server_port\":1},"
         "{\"server_domain\":\"c2.example\",\"usage\":\"c2\"}]}",
         "{\"tcp\":[{\"usage\":\"c2\",\"server_domain\":\"c2.example\"},"
         "{\"server_port\":1,\"server_ip\":\"192.0.2.1\"}],\"family\":\"f\"}", true);
}
END_TEST

START_TEST(content_sensitive)
{
    same("{\"family\":\"f\",\"a\":1,\"b\":2}", "{\"family\":\"f\",\"a\":2,\"b\":1}", false);
    same("{\"family\":\"f\",\"p\":1}", "{\"family\":\"f\",\"p\":\"1\"}", false);
    same("{\"family\":\"f\",\"m\":[\"a\",\"a\"]}", "{\"family\":\"f\",\"m\":[\"a\"]}", false);
    same("{\"family\":\"f\",\"m\":[\"ab\"]}", "{\"family\":\"f\",\"m\":[\"a\",\"b\"]}", false);
    same("{\"family\":\"f\",\"x\":true}", "{\"family\":\"f\",\"x\":null}", false);
    same("{\"family\":\"f\"}", "{\"family\":\"g\"}", false);
    ck_assert_ptr_null(mc_fingerprint(NULL));
}
END_TEST

static json_t *rec(const char *family, const char *fp, const char *va, int conf)
{
    return json_pack("{s:{s:s}, s:s, s:i, s:s, s:{s:[], s:[{s:s}]}, s:{s:[{s:s}]}, s:{}, s:[]}",
                     "config", "family", family, "fingerprint", fp, "confidence", conf,
                     "status", conf > 50 ? "complete" : "partial",
                     "detection", "rules", "locations", "va", va,
                     "provenance", "tcp[0]", "va", va, "raw", "warnings");
}

START_TEST(merge_and_order)
{
    json_t *v[4];
    v[0] = rec("b", "sha256:1", "0x0000000000000300", 40);
    v[1] = rec("a", "sha256:2", "0x0000000000000500", 90);
    v[2] = rec("b", "sha256:1", "0x0000000000000100", 70);
    v[3] = rec("a", "sha256:0", "0x0000000000000500", 90);
    const char *order[] = {"a", "b"};
    size_t n = mc_records_merge_sort(v, 4, order, 2);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(json_string_value(json_object_get(v[0], "fingerprint")), "sha256:0");
    ck_assert_str_eq(json_string_value(json_object_get(v[1], "fingerprint")), "sha256:2");
    json_t *m = v[2];
    json_t *locs = json_object_get(json_object_get(m, "detection"), "locations");
    ck_assert_uint_eq(json_array_size(locs), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(locs, 0), "va")),
                     "0x0000000000000100");
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(m, "provenance"), "tcp[0]")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "confidence")), 70);
    ck_assert_str_eq(json_string_value(json_object_get(m, "status")), "complete");
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
}
END_TEST

START_TEST(va_format)
{
    json_t *v = mc_json_va(0x401000);
    ck_assert_str_eq(json_string_value(v), "0x0000000000401000");
    json_decref(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record");
    TCase *t = tcase_create("record");
    tcase_add_test(t, order_independent);
    tcase_add_test(t, content_sensitive);
    tcase_add_test(t, merge_and_order);
    tcase_add_test(t, va_format);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
