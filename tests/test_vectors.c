/* Every vector in shared/vectors/crypto_vectors.json, recomputed with mc_crypto from its inputs
 * (password, salt, key material, layout) and compared with the published plaintext. A vector no
 * checker claims fails the run, and so does a change in the vector count. */
#include "lib/mc_crypto.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECTED_VECTORS 17
#define PBKDF2_ITER_FIELD "iterations"

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static const char *str(json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    ck_assert_msg(s != NULL, "vector field %s missing", key);
    return s;
}

static buf from_hex(const char *h)
{
    size_t len = strlen(h);
    ck_assert_msg(len % 2 == 0, "odd hex length");
    buf b = {malloc(len / 2 + 1), len / 2};
    ck_assert_ptr_nonnull(b.p);
    for (size_t i = 0; i < b.n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        b.p[i] = (uint8_t)v;
    }
    return b;
}

static buf from_b64(const char *t)
{
    size_t len = strlen(t);
    buf b = {malloc(3 * (len / 4) + 3), 0};
    ck_assert_ptr_nonnull(b.p);
    long n = mc_b64_decode(t, len, b.p);
    ck_assert_msg(n >= 0, "bad base64 in vector: %s", t);
    b.n = (size_t)n;
    return b;
}

static void assert_bytes_hex(const uint8_t *p, size_t n, const char *want_hex)
{
    char *got = malloc(2 * n + 1);
    ck_assert_ptr_nonnull(got);
    mc_hex(p, n, got);
    ck_assert_str_eq(got, want_hex);
    free(got);
}

static void assert_text(const uint8_t *p, size_t n, const char *want)
{
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_mem_eq(p, want, n);
}

/* PBKDF2-SHA1(password, salt, iterations) split into AES and HMAC keys, compared with the
 * published keys. */
static void derive_keys(json_t *v, const char *password, size_t password_len, size_t key_len,
                        uint8_t dk[96])
{
    buf salt = from_hex(str(v, "salt_hex"));
    json_int_t iter = json_integer_value(json_object_get(v, PBKDF2_ITER_FIELD));
    ck_assert_int_eq(iter, 50000);
    ck_assert(mc_pbkdf2_sha1(password, password_len, salt.p, salt.n, (unsigned)iter, dk,
                             key_len + 64));
    assert_bytes_hex(dk, key_len, str(v, "aes_key_hex"));
    assert_bytes_hex(dk + key_len, 64, str(v, "hmac_key_hex"));
    free(salt.p);
}

/* base64(HMAC-SHA256(auth, IV||CT) || IV || AES-CBC-PKCS7(CT)); the HMAC is checked first. */
static void decrypt_hmac_blob(json_t *v, const uint8_t *aes_key, size_t key_len,
                              const uint8_t *auth_key)
{
    buf blob = from_b64(str(v, "blob_b64"));
    ck_assert_uint_ge(blob.n, 32 + 16 + 16);
    uint8_t mac[32];
    ck_assert(mc_hmac_sha256(auth_key, 64, blob.p + 32, blob.n - 32, mac));
    ck_assert(mc_memeq_ct(mac, blob.p, 32));
    uint8_t *pt = malloc(blob.n);
    size_t n = 0;
    ck_assert(mc_aes_decrypt(MC_AES_CBC, aes_key, key_len, blob.p + 32, blob.p + 48,
                             blob.n - 48, true, pt, &n));
    assert_text(pt, n, str(v, "plaintext"));
    /* A one-bit change in the ciphertext must fail the HMAC oracle. */
    blob.p[blob.n - 1] ^= 1;
    ck_assert(mc_hmac_sha256(auth_key, 64, blob.p + 32, blob.n - 32, mac));
    ck_assert(!mc_memeq_ct(mac, blob.p, 32));
    free(pt);
    free(blob.p);
}

static void check_quasar(json_t *v)
{
    const char *variant = str(v, "variant");
    const char *password = str(v, "password");
    const char *layout = str(v, "layout");
    uint8_t dk[96];
    if (strcmp(variant, "1.4") == 0 || strcmp(variant, "1.3") == 0) {
        size_t key_len = strcmp(variant, "1.4") == 0 ? 32 : 16;
        ck_assert_ptr_nonnull(strstr(layout, key_len == 32 ? "AES-256-CBC" : "AES-128-CBC"));
        ck_assert_ptr_nonnull(strstr(layout, "HMAC"));
        derive_keys(v, password, strlen(password), key_len, dk);
        decrypt_hmac_blob(v, dk, key_len, dk + key_len);
        return;
    }
    /* 1.0-1.2: key = MD5(UTF-8 password), blob = IV || AES-128-CBC. */
    ck_assert_str_eq(variant, "1.2");
    ck_assert_str_eq(layout, "base64(IV || AES-128-CBC)");
    uint8_t key[16];
    mc_md5(password, strlen(password), key);
    assert_bytes_hex(key, 16, str(v, "aes_key_hex"));
    buf blob = from_b64(str(v, "blob_b64"));
    ck_assert_uint_ge(blob.n, 32);
    uint8_t *pt = malloc(blob.n);
    size_t n = 0;
    ck_assert(mc_aes_decrypt(MC_AES_CBC, key, 16, blob.p, blob.p + 16, blob.n - 16, true, pt, &n));
    assert_text(pt, n, str(v, "plaintext"));
    free(pt);
    free(blob.p);
}

/* AsyncRAT, DcRat, VenomRAT: the Key field is base64 of the password text; derive from the
 * decoded text, and show that the stored text gives a different (wrong) key. */
static void check_aes256_rat(json_t *v)
{
    buf pw = from_b64(str(v, "key_field"));
    assert_text(pw.p, pw.n, str(v, "password"));
    uint8_t dk[96];
    derive_keys(v, (const char *)pw.p, pw.n, 32, dk);
    decrypt_hmac_blob(v, dk, 32, dk + 32);

    const char *field = str(v, "key_field");
    buf salt = from_hex(str(v, "salt_hex"));
    uint8_t wrong[32];
    ck_assert(mc_pbkdf2_sha1(field, strlen(field), salt.p, salt.n, 50000, wrong, 32));
    ck_assert(!mc_memeq_ct(wrong, dk, 32));
    free(salt.p);
    free(pw.p);
}

/* XWorm: AES-256-ECB with key md5[0:15] || md5[0:16] || 00 from MD5(mutex). */
static void check_xworm(json_t *v)
{
    ck_assert_str_eq(str(v, "layout"), "base64(AES-256-ECB-PKCS7)");
    const char *mutex = str(v, "mutex");
    uint8_t md[16], key[32];
    mc_md5(mutex, strlen(mutex), md);
    memcpy(key, md, 15);
    memcpy(key + 15, md, 16);
    key[31] = 0;
    assert_bytes_hex(key, 32, str(v, "aes_key_hex"));
    buf blob = from_b64(str(v, "blob_b64"));
    uint8_t *pt = malloc(blob.n + 1);
    size_t n = 0;
    ck_assert(mc_aes_decrypt(MC_AES_ECB, key, 32, NULL, blob.p, blob.n, true, pt, &n));
    assert_text(pt, n, str(v, "plaintext"));
    free(pt);
    free(blob.p);
}

/* RedLine: UTF8(b64decode(XOR(b64decode(enc), key))). */
static void check_redline(json_t *v)
{
    ck_assert_str_eq(str(v, "scheme"), "UTF8(b64decode(XOR(b64decode(enc), key)))");
    const char *key = str(v, "key");
    buf outer = from_b64(str(v, "enc"));
    char *inner = malloc(outer.n + 1);
    mc_xor(outer.p, outer.n, (const uint8_t *)key, strlen(key), (uint8_t *)inner);
    inner[outer.n] = '\0';
    ck_assert(mc_is_b64(inner, outer.n, 4));
    buf pt = from_b64(inner);
    assert_text(pt.p, pt.n, str(v, "plaintext"));
    free(pt.p);
    free(inner);
    free(outer.p);
}

/* Remcos: blob = keylen(1) || key || RC4(config). */
static void check_remcos(json_t *v)
{
    buf blob = from_hex(str(v, "blob_hex"));
    ck_assert_uint_ge(blob.n, 2);
    size_t klen = blob.p[0];
    ck_assert_uint_lt(klen + 1, blob.n);
    assert_bytes_hex(blob.p + 1, klen, str(v, "rc4_key_hex"));
    size_t n = blob.n - 1 - klen;
    uint8_t *pt = malloc(n);
    ck_assert(mc_rc4(blob.p + 1, klen, blob.p + 1 + klen, n, pt));
    assert_bytes_hex(pt, n, str(v, "config_hex"));

    json_t *chk = json_object_get(v, "rc4_check");
    ck_assert_ptr_nonnull(chk);
    const char *k = str(chk, "key"), *p = str(chk, "plaintext");
    uint8_t ct[64];
    ck_assert_uint_le(strlen(p), sizeof ct);
    ck_assert(mc_rc4((const uint8_t *)k, strlen(k), (const uint8_t *)p, strlen(p), ct));
    assert_bytes_hex(ct, strlen(p), str(chk, "ct_hex"));
    free(pt);
    free(blob.p);
}

static void check_lumma_b(json_t *v)
{
    buf d = from_b64(str(v, "string"));
    ck_assert_uint_gt(d.n, 32);
    assert_bytes_hex(d.p, 32, str(v, "xor_key_hex"));
    uint8_t *pt = malloc(d.n - 32);
    mc_xor(d.p + 32, d.n - 32, d.p, 32, pt);
    assert_text(pt, d.n - 32, str(v, "plaintext"));
    free(pt);
    free(d.p);
}

/* Era C: 12-byte nonce = 00000000 || nonce8, explicit 32-bit block counter. */
static void check_lumma_c(json_t *v)
{
    buf key = from_hex(str(v, "key_hex")), n8 = from_hex(str(v, "nonce8_hex"));
    buf ct = from_hex(str(v, "ciphertext_hex"));
    ck_assert_uint_eq(key.n, 32);
    ck_assert_uint_eq(n8.n, 8);
    uint8_t nonce[12] = {0};
    memcpy(nonce + 4, n8.p, 8);
    json_int_t ctr = json_integer_value(json_object_get(v, "counter"));
    ck_assert_int_eq(ctr, 2);
    uint8_t *pt = malloc(ct.n);
    ck_assert(mc_chacha20(key.p, nonce, (uint32_t)ctr, ct.p, ct.n, pt));
    assert_bytes_hex(pt, ct.n, str(v, "plaintext_hex"));
    /* The slot text starts the plaintext; counter 0 must not produce it. */
    ck_assert(mc_chacha20(key.p, nonce, 0, ct.p, ct.n, pt));
    ck_assert(memcmp(pt, "gamma-relay", 11) != 0);
    free(pt);
    free(ct.p);
    free(n8.p);
    free(key.p);
}

static void check_lumma(json_t *v)
{
    const char *era = str(v, "era");
    if (strcmp(era, "B") == 0)
        check_lumma_b(v);
    else {
        ck_assert_str_eq(era, "C");
        check_lumma_c(v);
    }
}

/* Vidar era 3: each field XORed with the 16-byte key from key index 0. */
static void check_vidar(json_t *v)
{
    buf key = from_hex(str(v, "xor_key_hex")), ct = from_hex(str(v, "ct_hex"));
    ck_assert_uint_eq(key.n, 16);
    uint8_t *pt = malloc(ct.n);
    mc_xor(ct.p, ct.n, key.p, key.n, pt);
    assert_text(pt, ct.n, str(v, "plaintext"));
    free(pt);
    free(ct.p);
    free(key.p);
}

/* ROKRAT: out = (in - 0x0F) ^ 0xC8 per byte, as in the S2W decode loop. */
static void check_rokrat(json_t *v)
{
    ck_assert_str_eq(str(v, "transform"), "out = (in - 0x0F) ^ 0xC8");
    buf enc = from_hex(str(v, "encoded_hex"));
    uint8_t *pt = malloc(enc.n);
    for (size_t i = 0; i < enc.n; i++) pt[i] = (uint8_t)((uint8_t)(enc.p[i] - 0x0F) ^ 0xC8);
    assert_text(pt, enc.n, str(v, "plaintext"));
    free(pt);
    free(enc.p);
}

typedef struct checker {
    const char *family;
    void (*fn)(json_t *v);
} checker;

static const checker checkers[] = {
    {"quasar", check_quasar},     {"asyncrat", check_aes256_rat}, {"dcrat", check_aes256_rat},
    {"venomrat", check_aes256_rat}, {"xworm", check_xworm},       {"redline", check_redline},
    {"remcos", check_remcos},     {"lumma", check_lumma},         {"vidar", check_vidar},
    {"rokrat", check_rokrat},
};

START_TEST(all_vectors)
{
    const char *path = tu_shared("vectors/crypto_vectors.json");
    if (!path) {
        fprintf(stderr, "test_vectors: shared/vectors absent, skipping\n");
        return;
    }
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    ck_assert_msg(root != NULL, "%s:%d: %s", path, err.line, err.text);
    json_t *vec = json_object_get(root, "vectors");
    ck_assert(json_is_array(vec));
    size_t checked = 0;
    for (size_t i = 0; i < json_array_size(vec); i++) {
        json_t *v = json_array_get(vec, i);
        const char *family = str(v, "family");
        bool claimed = false;
        for (size_t c = 0; c < sizeof checkers / sizeof checkers[0]; c++) {
            if (strcmp(checkers[c].family, family) == 0) {
                checkers[c].fn(v);
                claimed = true;
                break;
            }
        }
        ck_assert_msg(claimed, "vector %zu: no checker for family %s", i, family);
        checked++;
    }
    ck_assert_uint_eq(checked, EXPECTED_VECTORS);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vectors");
    TCase *tc = tcase_create("shared");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, all_vectors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
