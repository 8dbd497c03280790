/* RedLine decoder on the compiled fixtures (fixtures/dotnet/redline*) through the engine: the
 * static-.cctor build, the `Yandex\YaAddon` and `Authorization` #US-order builds, flat and
 * mapped in every container, with and without decrypted heap copies; look-alikes; the shared
 * crypto vectors. */
#include "lib/mc_crypto.h"
#include "xwred_dumps.h"

#define FAMILY "redline"

static const char *const heap_main[] = {"198.51.100.61:40411", "spring-campaign"};

static void check_main(json_t *rec)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
    ck_assert_str_eq(tu_first_str(cfg, "category"), "infostealer");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(tu_has_conn(cfg, "198.51.100.61", 40411));
    ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), "spring-campaign");
    ck_assert_str_eq(xt_other(cfg, "message"), "Installer finished");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(cfg, "other"), "config_version")), 1);
    json_t *enc = json_array_get(json_object_get(cfg, "encryption"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(enc, "algorithm")), "XOR");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "key")), "4d61726d616c616465");   /* "Marmalade" */
    ck_assert_str_eq(json_string_value(json_object_get(enc, "usage")), "config");
    json_t *raw = json_object_get(rec, "raw");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "Key")), "Marmalade");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "IP")), "198.51.100.61:40411");
    ck_assert(xt_has_form(rec, "tcp[0]", "image_encrypted"));
    ck_assert(xt_has_form(rec, "campaign_id[0]", "image_encrypted"));
}

START_TEST(cctor_every_container)
{
    xt_every_container(FAMILY, "redline.exe", heap_main, 2, check_main);
}
END_TEST

/* No IL shape: the settings are found by their #US order before `Yandex\YaAddon`; two
 * endpoints separated by `|`, plaintext ID. */
START_TEST(yandex_anchor)
{
    static const char *const heap[] = {"203.0.113.80:6677|relay.redline.test:6678"};
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {"redlineanchor.exe", mapped, heap, 1};
        td_dump x;
        xt_build(&sp, &x);
        for (int kind = 0; kind < TD__KINDS; kind++) {
            json_t *recs[4];
            ck_assert_uint_eq(xt_scan(&x, kind, FAMILY, recs, 4), 1);
            json_t *rec = recs[0], *cfg = json_object_get(rec, "config");
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
            ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
            ck_assert(tu_has_conn(cfg, "203.0.113.80", 6677));
            ck_assert(tu_has_conn(cfg, "relay.redline.test", 6678));
            ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), "plain-id-77");
            ck_assert(xt_has_form(rec, "campaign_id[0]", "plaintext"));
            ck_assert_str_eq(xt_other(cfg, "message"), "Update complete");
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "raw"), "Key")), "Kettle");
            ck_assert(xt_has_form(rec, "tcp[0]", "heap_decrypted"));
            json_decref(rec);
        }
        td_free(&x);
    }
}
END_TEST

/* No IL shape: the settings follow `Authorization`, whose 32-hex predecessor is reported. */
START_TEST(authorization_anchor)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {"redlineauth.exe", mapped, NULL, 0};
        td_dump x;
        xt_build(&sp, &x);
        for (int kind = TD_MINIDUMP; kind < TD__KINDS; kind++) {
            json_t *recs[4];
            ck_assert_uint_eq(xt_scan(&x, kind, FAMILY, recs, 4), 1);
            json_t *rec = recs[0], *cfg = json_object_get(rec, "config");
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
            ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
            ck_assert(tu_has_conn(cfg, "auth.redline.example", 9000));
            ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), "winter-7");
            ck_assert(xt_has_form(rec, "campaign_id[0]", "image_encrypted"));
            json_t *raw = json_object_get(rec, "raw");
            ck_assert_str_eq(json_string_value(json_object_get(raw, "Key")), "Lantern");
            ck_assert_str_eq(json_string_value(json_object_get(raw, "Authorization")), "a1b2c3d4e5f60718293a4b5c6d7e8f90");
            ck_assert_ptr_null(json_object_get(json_object_get(cfg, "other"), "message"));
            json_decref(rec);
        }
        td_free(&x);
    }
}
END_TEST

/* Marker-only assembly (RedLine class names, .cctor shape, anchors, junk base64), the XWorm
 * fixture (another family), and a dump with no image at all. */
START_TEST(lookalikes_give_nothing)
{
    static const char *const fixtures[] = {"xwredlookalike.exe", "xworm5.exe", NULL};
    static const char *const heap[] = {"198.51.100.61:40411", "spring-campaign"};
    xt_none(FAMILY, fixtures, 3, heap, 2);
}
END_TEST

/* UTF8(b64decode(XOR(b64decode(enc), key))) recomputed with mc_crypto. */
static char *vector_decrypt(const char *enc, const char *key)
{
    size_t n = strlen(enc);
    uint8_t *a = malloc(3 * (n / 4) + 3);
    ck_assert_ptr_nonnull(a);
    long an = mc_b64_decode(enc, n, a);
    ck_assert_int_gt(an, 0);
    mc_xor(a, (size_t)an, (const uint8_t *)key, strlen(key), a);
    uint8_t *b = malloc(3 * ((size_t)an / 4) + 4);
    ck_assert_ptr_nonnull(b);
    long bn = mc_b64_decode((const char *)a, (size_t)an, b);
    ck_assert_int_gt(bn, 0);
    b[bn] = 0;
    free(a);
    return (char *)b;
}

/* Every redline vector: recomputed from its inputs, present verbatim in the fixture built with
 * that key (the generator is deterministic), and recovered by the decoder from that fixture. */
START_TEST(shared_vectors)
{
    const char *path = tu_shared("vectors/crypto_vectors.json");
    if (!path) return;   /* shared/ is not shipped with the source */
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *v;
    ck_assert_ptr_nonnull(root);
    size_t i, seen = 0, flen;
    uint8_t *fixture = td_load("redline.exe", &flen);
    td_spec sp = {"redline.exe", false, NULL, 0};
    td_dump x;
    xt_build(&sp, &x);
    json_t *recs[2];
    ck_assert_uint_eq(xt_scan(&x, TD_CUCKOO, FAMILY, recs, 2), 1);
    json_t *cfg = json_object_get(recs[0], "config"), *raw = json_object_get(recs[0], "raw");
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "family")) ?: "", FAMILY) != 0) continue;
        seen++;
        const char *key = json_string_value(json_object_get(v, "key"));
        const char *pt = json_string_value(json_object_get(v, "plaintext"));
        const char *enc = json_string_value(json_object_get(v, "enc"));
        char *got = vector_decrypt(enc, key);
        ck_assert_str_eq(got, pt);
        free(got);
        ck_assert_int_ge(xt_find_utf16(fixture, flen, enc), 0);
        ck_assert_str_eq(json_string_value(json_object_get(raw, "Key")), key);
        /* the plaintext is the decoded IP or the decoded ID */
        const char *ip = json_string_value(json_object_get(raw, "IP"));
        const char *id = json_string_value(json_object_get(raw, "ID"));
        ck_assert_msg(strcmp(ip, pt) == 0 || strcmp(id, pt) == 0, "vector %s not decoded", pt);
        if (strcmp(id, pt) == 0) ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), pt);
    }
    ck_assert_uint_gt(seen, 0);
    json_decref(recs[0]);
    td_free(&x);
    free(fixture);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redline");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cctor_every_container);
    tcase_add_test(tc, yandex_anchor);
    tcase_add_test(tc, authorization_anchor);
    tcase_add_test(tc, lookalikes_give_nothing);
    tcase_add_test(tc, shared_vectors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
