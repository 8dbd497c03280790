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
    ck_assert_str_eq(xt_first(cfg, "category"), "infostealer");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(xt_has_conn(cfg, "198.51.100.61", 40411));
    ck_assert_str_eq(xt_first(cfg, "campaign_id"), "spring-campaign");
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
    for (int mapped = 0; mapped < 2; mapped++) {
        int conf[2] = {0, 0};
        for (int heap = 0; heap < 2; heap++) {
            xt_spec sp = {"redline.exe", mapped, heap ? heap_main : NULL, heap ? 2 : 0};
            xt_dump x;
            xt_build(&sp, &x);
            for (int kind = 0; kind < XT__NCONTAINERS; kind++) {
                fx_buf b;
                xt_container(&x, kind, &b);
                json_t *recs[4];
                size_t n = xt_scan(&b, kind, FAMILY, recs, 4);
                ck_assert_msg(n == 1, "mapped=%d heap=%d %s: %zu records", mapped, heap,
                              xt_container_names[kind], n);
                check_main(recs[0]);
                ck_assert(xt_has_form(recs[0], "tcp[0]", "heap_decrypted") == (heap == 1));
                ck_assert(xt_has_form(recs[0], "campaign_id[0]", "heap_decrypted") == (heap == 1));
                conf[heap] = (int)json_integer_value(json_object_get(recs[0], "confidence"));
                json_decref(recs[0]);
                fx_buf_free(&b);
            }
            fx_buf_free(&x.raw);
        }
        ck_assert_int_gt(conf[1], conf[0]);
    }
}
END_TEST

/* No IL shape: the settings are found by their #US order before `Yandex\YaAddon`; two
 * endpoints separated by `|`, plaintext ID. */
START_TEST(yandex_anchor)
{
    static const char *const heap[] = {"203.0.113.80:6677|relay.redline.test:6678"};
    for (int mapped = 0; mapped < 2; mapped++) {
        xt_spec sp = {"redlineanchor.exe", mapped, heap, 1};
        xt_dump x;
        xt_build(&sp, &x);
        for (int kind = 0; kind < XT__NCONTAINERS; kind++) {
            fx_buf b;
            xt_container(&x, kind, &b);
            json_t *recs[4];
            ck_assert_uint_eq(xt_scan(&b, kind, FAMILY, recs, 4), 1);
            json_t *rec = recs[0], *cfg = json_object_get(rec, "config");
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
            ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
            ck_assert(xt_has_conn(cfg, "203.0.113.80", 6677));
            ck_assert(xt_has_conn(cfg, "relay.redline.test", 6678));
            ck_assert_str_eq(xt_first(cfg, "campaign_id"), "plain-id-77");
            ck_assert(xt_has_form(rec, "campaign_id[0]", "plaintext"));
            ck_assert_str_eq(xt_other(cfg, "message"), "Update complete");
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "raw"), "Key")), "Kettle");
            ck_assert(xt_has_form(rec, "tcp[0]", "heap_decrypted"));
            json_decref(rec);
            fx_buf_free(&b);
        }
        fx_buf_free(&x.raw);
    }
}
END_TEST

/* No IL shape: the settings follow `Authorization`, whose 32-hex predecessor is reported. */
START_TEST(authorization_anchor)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        xt_spec sp = {"redlineauth.exe", mapped, NULL, 0};
        xt_dump x;
        xt_build(&sp, &x);
        for (int kind = XT_MINIDUMP; kind < XT__NCONTAINERS; kind++) {
            fx_buf b;
            xt_container(&x, kind, &b);
            json_t *recs[4];
            ck_assert_uint_eq(xt_scan(&b, kind, FAMILY, recs, 4), 1);
            json_t *rec = recs[0], *cfg = json_object_get(rec, "config");
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
            ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
            ck_assert(xt_has_conn(cfg, "auth.redline.example", 9000));
            ck_assert_str_eq(xt_first(cfg, "campaign_id"), "winter-7");
            ck_assert(xt_has_form(rec, "campaign_id[0]", "image_encrypted"));
            json_t *raw = json_object_get(rec, "raw");
            ck_assert_str_eq(json_string_value(json_object_get(raw, "Key")), "Lantern");
            ck_assert_str_eq(json_string_value(json_object_get(raw, "Authorization")), "a1b2c3d4e5f60718293a4b5c6d7e8f90");
            ck_assert_ptr_null(json_object_get(json_object_get(cfg, "other"), "message"));
            json_decref(rec);
            fx_buf_free(&b);
        }
        fx_buf_free(&x.raw);
    }
}
END_TEST

/* Marker-only assembly (RedLine class names, .cctor shape, anchors, junk base64), the XWorm
 * fixture (another family), and a dump with no image at all. */
START_TEST(lookalikes_give_nothing)
{
    const char *fixtures[] = {"xwredlookalike.exe", "xworm5.exe", NULL};
    static const char *const heap[] = {"198.51.100.61:40411", "spring-campaign"};
    for (int k = 0; k < 3; k++)
        for (int mapped = 0; mapped < 2; mapped++) {
            xt_spec sp = {fixtures[k], mapped, heap, 2};
            xt_dump x;
            xt_build(&sp, &x);
            for (int kind = 0; kind < XT__NCONTAINERS; kind++) {
                fx_buf b;
                xt_container(&x, kind, &b);
                json_t *recs[1];
                ck_assert_msg(xt_scan(&b, kind, FAMILY, recs, 1) == 0,
                              "%s mapped=%d %s", fixtures[k] ? fixtures[k] : "(none)", mapped, xt_container_names[kind]);
                fx_buf_free(&b);
            }
            fx_buf_free(&x.raw);
        }
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
    uint8_t *fixture = xt_load("redline.exe", &flen);
    xt_spec sp = {"redline.exe", false, NULL, 0};
    xt_dump x;
    xt_build(&sp, &x);
    fx_buf b;
    xt_container(&x, XT_CUCKOO, &b);
    json_t *recs[2];
    ck_assert_uint_eq(xt_scan(&b, XT_CUCKOO, FAMILY, recs, 2), 1);
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
        if (strcmp(id, pt) == 0) ck_assert_str_eq(xt_first(cfg, "campaign_id"), pt);
    }
    ck_assert_uint_gt(seen, 0);
    json_decref(recs[0]);
    fx_buf_free(&b);
    fx_buf_free(&x.raw);
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
