/* Crypto and encoding helpers for decoders: thin wrappers over OpenSSL, so that decoders state
 * intent ("decrypt this AES-CBC blob") instead of repeating EVP plumbing. Nothing here is
 * hand-rolled except XOR. All functions are bounded by their length arguments and never read
 * outside them; all return false (or -1) on any error, including bad padding.
 */
#ifndef MEMCFG_MC_CRYPTO_H
#define MEMCFG_MC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mc_aes_mode { MC_AES_CBC = 0, MC_AES_CFB128, MC_AES_CFB8, MC_AES_ECB } mc_aes_mode;

/* AES decrypt with key_len 16, 24 or 32. iv is 16 bytes (ignored for ECB). With pkcs7 the
 * padding is checked and removed; *out_len receives the plaintext length. out must hold in_len
 * bytes. */
bool mc_aes_decrypt(mc_aes_mode mode, const uint8_t *key, size_t key_len, const uint8_t *iv,
                    const uint8_t *in, size_t in_len, bool pkcs7, uint8_t *out, size_t *out_len);
/* Same, encrypting (for fixture generators and tests); out must hold in_len + 16. */
bool mc_aes_encrypt(mc_aes_mode mode, const uint8_t *key, size_t key_len, const uint8_t *iv,
                    const uint8_t *in, size_t in_len, bool pkcs7, uint8_t *out, size_t *out_len);

/* RC4 (OpenSSL legacy provider, loaded once). out may equal in. */
bool mc_rc4(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len, uint8_t *out);

/* ChaCha20 (RFC 8439 block function) with an explicit 32-bit initial block counter and a
 * 12-byte nonce. out may equal in. */
bool mc_chacha20(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter,
                 const uint8_t *in, size_t len, uint8_t *out);

bool mc_pbkdf2_sha1(const char *password, size_t password_len, const uint8_t *salt,
                    size_t salt_len, unsigned iterations, uint8_t *out, size_t out_len);
bool mc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                    uint8_t out[32]);
void mc_md5(const void *p, size_t n, uint8_t out[16]);
void mc_sha1(const void *p, size_t n, uint8_t out[20]);
void mc_sha256(const void *p, size_t n, uint8_t out[32]);
/* Lowercase hex of n bytes into dst (2n+1 bytes). */
void mc_hex(const uint8_t *p, size_t n, char *dst);
/* Constant-time comparison. */
bool mc_memeq_ct(const uint8_t *a, const uint8_t *b, size_t n);

/* Standard base64 (with or without trailing '=' padding, no whitespace). Returns decoded length
 * or -1 when the text is not valid base64. out must hold 3*(len/4)+3 bytes. */
long mc_b64_decode(const char *in, size_t len, uint8_t *out);
/* True when the text is well-formed base64 of at least min_len characters. */
bool mc_is_b64(const char *in, size_t len, size_t min_len);
/* Encode; out must hold 4*((len+2)/3)+1 bytes. Returns the text length. */
size_t mc_b64_encode(const uint8_t *in, size_t len, char *out);

/* out[i] = in[i] ^ key[i % key_len]. out may equal in. */
void mc_xor(const uint8_t *in, size_t len, const uint8_t *key, size_t key_len, uint8_t *out);

#endif
