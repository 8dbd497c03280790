/* XWorm decoder on the compiled fixtures (fixtures/dotnet/xworm5, xwormtg) through the engine:
 * flat and mapped images in every container, with and without decrypted heap copies, the
 * obfuscated build, look-alikes, and the shared crypto vectors. */
#include "lib/mc_crypto.h"
#include "xwred_dumps.h"

#define FAMILY "xworm"

static const char *const heap5[] = {"c2.example.net", "XWorm V5.6", "<Xwormmm>"};

/* The vector's mutex; the key below is its MD5 overlay (shared/vectors xworm). */
#define X5_MUTEX "Qm8Tz2Lk5Wp1Rx7c"
#define X5_KEY "523d7d2735943280114e62aa88ea0d523d7d2735943280114e62aa88ea0d0c00"

static void check_xworm5(json_t *rec)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
    ck_assert_str_eq(tu_first_str(cfg, "category"), "rat");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(tu_has_conn(cfg, "c2.example.net", 7000));
    ck_assert_str_eq(tu_first_str(cfg, "mutex"), X5_MUTEX);
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "5.6");
    ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), "XWorm V5.6");
    json_t *enc = json_array_get(json_object_get(cfg, "encryption"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(enc, "algorithm")), "AES-256-ECB");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "mode")), "ECB");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "key")), X5_KEY);
    ck_assert_str_eq(json_string_value(json_object_get(enc, "usage")), "config");
    ck_assert_str_eq(xt_other(cfg, "key"), "<123456789>");
    ck_assert_str_eq(xt_other(cfg, "splitter"), "<Xwormmm>");
    ck_assert_str_eq(xt_other(cfg, "usb_name"), "USB.exe");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(cfg, "other"), "sleep_seconds")), 3);
    ck_assert(xt_has_path(cfg, "%AppData%\\WmiPrvSE.exe", "install"));
    ck_assert(xt_has_path(cfg, "\\Log.tmp", "logs"));
    json_t *raw = json_object_get(rec, "raw");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "Hosts")), "c2.example.net");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "Port")), "7000");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "Mutex")), X5_MUTEX);
    ck_assert(xt_has_form(rec, "tcp[0]", "image_encrypted"));
    ck_assert(xt_has_form(rec, "mutex[0]", "plaintext"));
}

/* xworm5 flat and mapped, with and without heap copies, in every container. */
START_TEST(xworm5_every_container)
{
    xt_every_container(FAMILY, "xworm5.exe", heap5, 3, check_xworm5);
}
END_TEST

/* Obfuscated names, two hosts (each with the port), Telegram fields. */
START_TEST(obfuscated_telegram)
{
    static const char *const heap[] = {"203.0.113.45,relay.xworm.test", "ops-group"};
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {"xwormtg.exe", mapped, heap, 2};
        td_dump x;
        xt_build(&sp, &x);
        for (int kind = TD_MINIDUMP; kind < TD__KINDS; kind++) {
            json_t *recs[4];
            ck_assert_uint_eq(xt_scan(&x, kind, FAMILY, recs, 4), 1);
            json_t *rec = recs[0], *cfg = json_object_get(rec, "config");
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
            ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
            ck_assert(tu_has_conn(cfg, "203.0.113.45", 4444));
            ck_assert(tu_has_conn(cfg, "relay.xworm.test", 4444));
            ck_assert_str_eq(tu_first_str(cfg, "mutex"), "XwLk93PqRt7Zm2Vb");
            ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), "ops-group");
            ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "5.2");
            ck_assert_str_eq(xt_other(cfg, "telegram_token"), "5012345678:AAFixtureTokenOnly_abcdefghijklmn");
            ck_assert_str_eq(xt_other(cfg, "telegram_chat_id"), "-1001234567890");
            ck_assert_str_eq(xt_other(cfg, "key"), "<987654321>");
            ck_assert_str_eq(xt_other(cfg, "splitter"), "<Xwormmm>");
            ck_assert_str_eq(xt_other(cfg, "usb_name"), "USBupdate.exe");
            ck_assert(xt_has_path(cfg, "%Temp%\\svchost32.exe", "install"));
            ck_assert(xt_has_form(rec, "tcp[0]", "heap_decrypted"));
            /* raw keeps the obfuscated names as found */
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "raw"), "c")),
                             "203.0.113.45,relay.xworm.test");
            json_decref(rec);
        }
        td_free(&x);
    }
}
END_TEST

/* Marker-only assembly (junk base64 no mutex opens), and a dump with no image at all. */
START_TEST(lookalikes_give_nothing)
{
    static const char *const fixtures[] = {"xwredlookalike.exe", NULL};
    static const char *const heap[] = {"c2.example.net", "<Xwormmm>"};
    xt_none(FAMILY, fixtures, 2, heap, 2);
}
END_TEST

static uint8_t *unhex(const char *h, size_t *n)
{
    size_t len = strlen(h);
    uint8_t *p = malloc(len / 2 + 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        p[i] = (uint8_t)v;
    }
    *n = len / 2;
    return p;
}

/* Every xworm vector: the key is the MD5 overlay of the mutex, the blob opens to the plaintext
 * under it, and the decoder opens the same blob in the fixture built with that mutex. */
START_TEST(shared_vectors)
{
    const char *path = tu_shared("vectors/crypto_vectors.json");
    if (!path) return;   /* shared/ is not shipped with the source */
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *v;
    ck_assert_ptr_nonnull(root);
    size_t i, seen = 0, flen;
    uint8_t *fixture = td_load("xworm5.exe", &flen);
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "family")) ?: "", FAMILY) != 0) continue;
        seen++;
        const char *mutex = json_string_value(json_object_get(v, "mutex"));
        const char *pt = json_string_value(json_object_get(v, "plaintext"));
        const char *blob = json_string_value(json_object_get(v, "blob_b64"));
        size_t kl;
        uint8_t *key = unhex(json_string_value(json_object_get(v, "aes_key_hex")), &kl);
        uint8_t md5[16], want[32] = {0};
        mc_md5(mutex, strlen(mutex), md5);
        memcpy(want, md5, 15);
        memcpy(want + 15, md5, 16);
        ck_assert_uint_eq(kl, 32);
        ck_assert_mem_eq(key, want, 32);
        uint8_t ct[256], out[256];
        long cn = mc_b64_decode(blob, strlen(blob), ct);
        size_t on = 0;
        ck_assert_int_gt(cn, 0);
        ck_assert(mc_aes_decrypt(MC_AES_ECB, key, 32, want, ct, (size_t)cn, true, out, &on));
        ck_assert_uint_eq(on, strlen(pt));
        ck_assert_mem_eq(out, pt, on);
        /* the fixture's generator produced this very blob; the decoder must recover the vector */
        ck_assert_int_ge(xt_find_utf16(fixture, flen, blob), 0);
        td_spec sp = {"xworm5.exe", true, NULL, 0};
        td_dump x;
        xt_build(&sp, &x);
        json_t *recs[2];
        ck_assert_uint_eq(xt_scan(&x, TD_MINIDUMP, FAMILY, recs, 2), 1);
        json_t *cfg = json_object_get(recs[0], "config");
        ck_assert_str_eq(tu_first_str(cfg, "mutex"), mutex);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(recs[0], "raw"), "Hosts")), pt);
        char hex[65];
        mc_hex(key, 32, hex);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "encryption"), 0), "key")), hex);
        json_decref(recs[0]);
        td_free(&x);
        free(key);
    }
    ck_assert_uint_gt(seen, 0);
    free(fixture);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xworm");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, xworm5_every_container);
    tcase_add_test(tc, obfuscated_telegram);
    tcase_add_test(tc, lookalikes_give_nothing);
    tcase_add_test(tc, shared_vectors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
