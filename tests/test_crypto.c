/* Known-answer tests for mc_crypto against published vectors (FIPS-197, NIST SP 800-38A,
 * RFC 6229, RFC 8439, RFC 6070, RFC 4231), each cross-checked with the openssl command line. */
#include "lib/mc_crypto.h"

#include "testutil.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void assert_hex(const uint8_t *p, size_t n, const char *want)
{
    char *got = malloc(2 * n + 1);
    ck_assert_ptr_nonnull(got);
    mc_hex(p, n, got);
    ck_assert_str_eq(got, want);
    free(got);
}

/* SP 800-38A F.1-F.3 first two plaintext blocks and IV. */
static const char *SP_PT = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51";
static const char *SP_IV = "000102030405060708090a0b0c0d0e0f";
static const char *SP_K128 = "2b7e151628aed2a6abf7158809cf4f3c";
static const char *SP_K256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";

static void aes_kat(mc_aes_mode mode, const char *key_hex, const char *pt_hex, const char *ct_hex)
{
    size_t kl, pl, cl, n = 0;
    uint8_t *key = tu_unhex(key_hex, &kl), *iv = tu_unhex(SP_IV, NULL);
    uint8_t *pt = tu_unhex(pt_hex, &pl), *ct = tu_unhex(ct_hex, &cl);
    uint8_t buf[128];
    ck_assert(mc_aes_encrypt(mode, key, kl, iv, pt, pl, false, buf, &n));
    ck_assert_uint_eq(n, cl);
    assert_hex(buf, n, ct_hex);
    ck_assert(mc_aes_decrypt(mode, key, kl, iv, ct, cl, false, buf, &n));
    ck_assert_uint_eq(n, pl);
    assert_hex(buf, n, pt_hex);
    free(key); free(iv); free(pt); free(ct);
}

START_TEST(aes_sp800_38a)
{
    aes_kat(MC_AES_ECB, SP_K128, SP_PT,
            "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf");
    aes_kat(MC_AES_CBC, SP_K128, SP_PT,
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2");
    aes_kat(MC_AES_CFB128, SP_K128, SP_PT,
            "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b");
    aes_kat(MC_AES_ECB, SP_K256, SP_PT,
            "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870");
    aes_kat(MC_AES_CBC, SP_K256, SP_PT,
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
    aes_kat(MC_AES_CFB128, SP_K256, SP_PT,
            "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b");
    /* CFB8 over 18 bytes: not a block multiple, which the stream modes must accept. */
    aes_kat(MC_AES_CFB8, SP_K128, "6bc1bee22e409f96e93d7e117393172aae2d",
            "3b79424c9c0dd436bace9e0ed4586a4f32b9");
}
END_TEST

START_TEST(aes_fips197)
{
    const char *pt = "00112233445566778899aabbccddeeff";
    aes_kat(MC_AES_ECB, "000102030405060708090a0b0c0d0e0f", pt,
            "69c4e0d86a7b0430d8cdb78070b4c55a");
    aes_kat(MC_AES_ECB, "000102030405060708090a0b0c0d0e0f1011121314151617", pt,
            "dda97ca4864cdfe06eaf70a0ec0d7191");
    aes_kat(MC_AES_ECB, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", pt,
            "8ea2b7ca516745bfeafc49904b496089");
}
END_TEST

START_TEST(aes_pkcs7_roundtrip_and_bad_padding)
{
    uint8_t key[16] = {1, 2, 3}, iv[16] = {9}, pt[40], ct[64], back[64];
    for (size_t i = 0; i < sizeof pt; i++) pt[i] = (uint8_t)(i * 7);
    const mc_aes_mode modes[] = {MC_AES_CBC, MC_AES_ECB, MC_AES_CFB128, MC_AES_CFB8};
    for (size_t m = 0; m < 4; m++) {
        for (size_t len = 0; len <= 32; len += 16) {
            size_t cl = 0, bl = 0;
            ck_assert(mc_aes_encrypt(modes[m], key, 16, iv, pt, len, true, ct, &cl));
            ck_assert_uint_eq(cl, len + 16);
            ck_assert(mc_aes_decrypt(modes[m], key, 16, iv, ct, cl, true, back, &bl));
            ck_assert_uint_eq(bl, len);
            ck_assert_mem_eq(back, pt, len);
        }
    }
    size_t cl = 0, bl = 0;
    ck_assert(mc_aes_encrypt(MC_AES_CBC, key, 16, iv, pt, 20, true, ct, &cl));
    ck_assert_uint_eq(cl, 32);
    /* Corrupt the last plaintext byte through the CBC chain: the padding no longer checks. */
    ct[15] ^= 0x01;
    ck_assert(!mc_aes_decrypt(MC_AES_CBC, key, 16, iv, ct, cl, true, back, &bl));
    ct[15] ^= 0x01;
    ck_assert(mc_aes_decrypt(MC_AES_CBC, key, 16, iv, ct, cl, true, back, &bl));

    /* Hand-made plaintexts with bad padding: 0x00, > 16, inconsistent bytes. */
    uint8_t block[16];
    const uint8_t lasts[][2] = {{0x00, 0x00}, {0x11, 0x11}, {0x03, 0x02}};
    for (size_t i = 0; i < 3; i++) {
        memset(block, 0x41, sizeof block);
        block[14] = lasts[i][1];
        block[15] = lasts[i][0];
        ck_assert(mc_aes_encrypt(MC_AES_ECB, key, 16, NULL, block, 16, false, ct, &cl));
        ck_assert(!mc_aes_decrypt(MC_AES_ECB, key, 16, NULL, ct, 16, true, back, &bl));
        ck_assert(mc_aes_decrypt(MC_AES_ECB, key, 16, NULL, ct, 16, false, back, &bl));
        ck_assert_mem_eq(back, block, 16);
    }
}
END_TEST

START_TEST(aes_rejects_bad_arguments)
{
    uint8_t key[32] = {0}, iv[16] = {0}, buf[64] = {0}, out[80];
    size_t n;
    ck_assert(!mc_aes_decrypt(MC_AES_CBC, key, 20, iv, buf, 16, false, out, &n));
    ck_assert(!mc_aes_decrypt(MC_AES_CBC, key, 16, iv, buf, 15, false, out, &n));
    ck_assert(!mc_aes_decrypt(MC_AES_ECB, key, 16, NULL, buf, 17, false, out, &n));
    ck_assert(!mc_aes_decrypt(MC_AES_CBC, key, 16, NULL, buf, 16, false, out, &n));
    ck_assert(!mc_aes_decrypt(MC_AES_CBC, key, 16, iv, buf, 0, true, out, &n));
    ck_assert(!mc_aes_decrypt((mc_aes_mode)7, key, 16, iv, buf, 16, false, out, &n));
    ck_assert(!mc_aes_encrypt(MC_AES_CBC, key, 16, iv, buf, 15, false, out, &n));
    ck_assert(!mc_aes_decrypt(MC_AES_CFB8, key, 16, iv, buf, (size_t)INT_MAX + 1, false, out, &n));
}
END_TEST

START_TEST(rc4_rfc6229)
{
    uint8_t zero[32] = {0}, out[32];
    const uint8_t k5[] = {1, 2, 3, 4, 5};
    ck_assert(mc_rc4(k5, sizeof k5, zero, 32, out));
    /* Offsets 0 and 16 of the RFC 6229 40-bit key table. */
    assert_hex(out, 32, "b2396305f03dc027ccc3524a0a1118a86982944f18fc82d589c403a47a0d0919");
    uint8_t k16[16];
    for (int i = 0; i < 16; i++) k16[i] = (uint8_t)(i + 1);
    ck_assert(mc_rc4(k16, 16, zero, 32, out));
    assert_hex(out, 32, "9ac7cc9a609d1ef7b2932899cde41b975248c4959014126a6e8a84f11d1a9e1c");
    /* In place, and the classic "Key"/"Plaintext" pair. */
    uint8_t msg[] = "Plaintext";
    ck_assert(mc_rc4((const uint8_t *)"Key", 3, msg, 9, msg));
    assert_hex(msg, 9, "bbf316e8d940af0ad3");
    ck_assert(!mc_rc4(k5, 0, zero, 32, out));
    uint8_t big[257] = {0};
    ck_assert(!mc_rc4(big, sizeof big, zero, 32, out));
    ck_assert(mc_rc4(big, 256, zero, 0, out));
}
END_TEST

static const uint8_t *chacha_key(void)
{
    static uint8_t k[32];
    for (int i = 0; i < 32; i++) k[i] = (uint8_t)i;
    return k;
}

START_TEST(chacha20_rfc8439_block)
{
    const uint8_t nonce[12] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
    uint8_t zero[64] = {0}, out[64];
    ck_assert(mc_chacha20(chacha_key(), nonce, 1, zero, 64, out));
    assert_hex(out, 64,
               "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
               "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}
END_TEST

START_TEST(chacha20_rfc8439_encrypt)
{
    const uint8_t nonce[12] = {0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0};
    const char *pt = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
                     "tip for the future, sunscreen would be it.";
    size_t n = strlen(pt);
    uint8_t buf[128];
    memcpy(buf, pt, n);
    ck_assert(mc_chacha20(chacha_key(), nonce, 1, buf, n, buf));
    assert_hex(buf, n,
               "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
               "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
               "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
               "5af90bbf74a35be6b40b8eedf2785e42874d");
    /* Counter 2 on the tail must equal counter 1 on the whole, 64 bytes in. */
    uint8_t tail[128];
    memcpy(tail, pt + 64, n - 64);
    ck_assert(mc_chacha20(chacha_key(), nonce, 2, tail, n - 64, tail));
    ck_assert_mem_eq(tail, buf + 64, n - 64);
}
END_TEST

START_TEST(pbkdf2_rfc6070)
{
    uint8_t out[25];
    ck_assert(mc_pbkdf2_sha1("password", 8, (const uint8_t *)"salt", 4, 1, out, 20));
    assert_hex(out, 20, "0c60c80f961f0e71f3a9b524af6012062fe037a6");
    ck_assert(mc_pbkdf2_sha1("password", 8, (const uint8_t *)"salt", 4, 2, out, 20));
    assert_hex(out, 20, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    ck_assert(mc_pbkdf2_sha1("password", 8, (const uint8_t *)"salt", 4, 4096, out, 20));
    assert_hex(out, 20, "4b007901b765489abead49d926f721d065a429c1");
    const char *salt = "saltSALTsaltSALTsaltSALTsaltSALTsalt";
    ck_assert(mc_pbkdf2_sha1("passwordPASSWORDpassword", 24, (const uint8_t *)salt,
                             strlen(salt), 4096, out, 25));
    assert_hex(out, 25, "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038");
    ck_assert(mc_pbkdf2_sha1("pass\0word", 9, (const uint8_t *)"sa\0lt", 5, 4096, out, 16));
    assert_hex(out, 16, "56fa6aa75548099dcc37d7f03425e0c3");
    ck_assert(!mc_pbkdf2_sha1("password", 8, (const uint8_t *)"salt", 4, 0, out, 20));
    ck_assert(!mc_pbkdf2_sha1("password", 8, (const uint8_t *)"salt", 4, 1, out, 0));
    ck_assert(!mc_pbkdf2_sha1("password", (size_t)INT_MAX + 1, (const uint8_t *)"salt", 4, 1,
                              out, 20));
}
END_TEST

START_TEST(hmac_sha256_rfc4231)
{
    uint8_t key[20], mac[32];
    memset(key, 0x0b, sizeof key);
    ck_assert(mc_hmac_sha256(key, 20, (const uint8_t *)"Hi There", 8, mac));
    assert_hex(mac, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    const char *msg = "what do ya want for nothing?";
    ck_assert(mc_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)msg, strlen(msg), mac));
    assert_hex(mac, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(digests)
{
    uint8_t d[32];
    mc_md5("abc", 3, d);
    assert_hex(d, 16, "900150983cd24fb0d6963f7d28e17f72");
    mc_sha1("abc", 3, d);
    assert_hex(d, 20, "a9993e364706816aba3e25717850c26c9cd0d89d");
    mc_sha256("abc", 3, d);
    assert_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mc_sha256(NULL, 0, d);
    assert_hex(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

static void b64_ok(const char *text, const char *want)
{
    uint8_t out[64];
    long n = mc_b64_decode(text, strlen(text), out);
    ck_assert_int_eq(n, (long)strlen(want));
    ck_assert_mem_eq(out, want, (size_t)n);
    ck_assert(mc_is_b64(text, strlen(text), 0));
}

static void b64_bad(const char *text)
{
    uint8_t out[64];
    ck_assert_int_eq(mc_b64_decode(text, strlen(text), out), -1);
    ck_assert(!mc_is_b64(text, strlen(text), 0));
}

START_TEST(base64_edges)
{
    b64_ok("", "");
    b64_ok("Zg==", "f");
    b64_ok("Zg", "f");
    b64_ok("Zm8=", "fo");
    b64_ok("Zm8", "fo");
    b64_ok("Zm9v", "foo");
    b64_ok("Zm9vYg==", "foob");
    b64_ok("Zm9vYmE", "fooba");
    b64_ok("Zm9vYmFy", "foobar");
    b64_ok("+/+/", "\xfb\xff\xbf");
    b64_bad("Z");
    b64_bad("Zm9vY");
    b64_bad("Zg=");
    b64_bad("Zg===");
    b64_bad("Zm9v====");
    b64_bad("Zm9=v");
    b64_bad("Z=g=");
    b64_bad("Zm9v=");
    b64_bad("Zm 9v");
    b64_bad(" Zm9v");
    b64_bad("Zm9v\n");
    b64_bad("Zm9v\r\nYmFy");
    b64_bad("Zm9-");
    b64_bad("Zm9_");
    b64_bad("Zm9.");
    const char nul[] = {'Z', 'm', '\0', 'v'};
    uint8_t out[8];
    ck_assert_int_eq(mc_b64_decode(nul, 4, out), -1);
    ck_assert(!mc_is_b64("Zm9v", 4, 5));
    ck_assert(mc_is_b64("Zm9vYg==", 8, 8));

    char text[16];
    ck_assert_uint_eq(mc_b64_encode((const uint8_t *)"fooba", 5, text), 8);
    ck_assert_str_eq(text, "Zm9vYmE=");
    ck_assert_uint_eq(mc_b64_encode((const uint8_t *)"", 0, text), 0);
    ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(base64_roundtrip_all_lengths)
{
    uint8_t data[300], back[303];
    char text[401];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 131 + 7);
    for (size_t n = 0; n <= sizeof data; n++) {
        size_t t = mc_b64_encode(data, n, text);
        ck_assert_uint_eq(t, 4 * ((n + 2) / 3));
        ck_assert_int_eq(mc_b64_decode(text, t, back), (long)n);
        ck_assert_mem_eq(back, data, n);
        while (t && text[t - 1] == '=') t--;
        ck_assert_int_eq(mc_b64_decode(text, t, back), (long)n);
        ck_assert_mem_eq(back, data, n);
    }
}
END_TEST

START_TEST(hex_compare_xor)
{
    char h[9];
    mc_hex((const uint8_t *)"\x00\x9f\xA0\xff", 4, h);
    ck_assert_str_eq(h, "009fa0ff");
    mc_hex(NULL, 0, h);
    ck_assert_str_eq(h, "");

    ck_assert(mc_memeq_ct((const uint8_t *)"abcd", (const uint8_t *)"abcd", 4));
    ck_assert(!mc_memeq_ct((const uint8_t *)"abcd", (const uint8_t *)"abce", 4));
    ck_assert(mc_memeq_ct(NULL, NULL, 0));

    uint8_t buf[5] = {'h', 'e', 'l', 'l', 'o'}, enc[5];
    const uint8_t key[2] = {0x20, 0x01};
    mc_xor(buf, 5, key, 2, enc);
    ck_assert_mem_eq(enc, "HdLmO", 5);
    mc_xor(enc, 5, key, 2, enc);
    ck_assert_mem_eq(enc, "hello", 5);
    mc_xor(buf, 5, NULL, 0, enc);
    ck_assert_mem_eq(enc, "hello", 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("kat");
    tcase_add_test(tc, aes_sp800_38a);
    tcase_add_test(tc, aes_fips197);
    tcase_add_test(tc, aes_pkcs7_roundtrip_and_bad_padding);
    tcase_add_test(tc, aes_rejects_bad_arguments);
    tcase_add_test(tc, rc4_rfc6229);
    tcase_add_test(tc, chacha20_rfc8439_block);
    tcase_add_test(tc, chacha20_rfc8439_encrypt);
    tcase_add_test(tc, pbkdf2_rfc6070);
    tcase_add_test(tc, hmac_sha256_rfc4231);
    tcase_add_test(tc, digests);
    tcase_add_test(tc, base64_edges);
    tcase_add_test(tc, base64_roundtrip_all_lengths);
    tcase_add_test(tc, hex_compare_xor);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
