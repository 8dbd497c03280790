/* The "Aes256" config scheme shared by QuasarRAT 1.3/1.4, AsyncRAT, DcRat and VenomRAT
 * (families.md §1.3, §3), and the Settings decoder the last three share.
 *
 * Crypto: dk = PBKDF2-HMAC-SHA1(password, salt, 50000, 96); AES key = dk[0:key_len] (32, or 16
 * for Quasar 1.3), HMAC key = the next 64 bytes. A literal is base64 of
 * HMAC-SHA256(auth, IV||CT) (32) || IV (16) || CT (AES-CBC, PKCS7). The HMAC is the proof that a
 * (password, salt) pair is right; it never accepts a wrong key, unlike a padding check.
 *
 * The salt names the family: the Quasar salt (also AsyncRAT's), "DcRatByqwqdanchun",
 * "VenomRATByVenom". mc_aesrat_decode() reports a config under the family whose salt verified,
 * whichever of the three decoders was handed the hit, so a config is never labelled with the
 * family of a rule that merely matched; a salt found only in the image's IL (a fork) is credited
 * to the calling decoder's family.
 */
#ifndef MEMCFG_MC_AESRAT_H
#define MEMCFG_MC_AESRAT_H

#include "decoder.h"
#include "lib/mc_crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_AESRAT_ITERATIONS 50000u
#define MC_AESRAT_DK_LEN 96u      /* the longest key + HMAC key pair read from the stream */
#define MC_AESRAT_AUTH_LEN 64u
#define MC_AESRAT_HDR 48u         /* HMAC(32) || IV(16) before the ciphertext */

extern const uint8_t mc_aesrat_quasar_salt[32];

/* A family's salt. */
typedef struct mc_aesrat_salt {
    const char *family;       /* "asyncrat", "dcrat", "venomrat" */
    const uint8_t *salt;
    size_t len;
} mc_aesrat_salt;
/* The known salts (asyncrat = the Quasar salt, dcrat, venomrat); *n receives the count. */
const mc_aesrat_salt *mc_aesrat_salts(size_t *n);

/* dk = PBKDF2-HMAC-SHA1(password, salt, iterations, 96). */
bool mc_aesrat_derive(const char *password, size_t password_len, const uint8_t *salt,
                      size_t salt_len, unsigned iterations, uint8_t dk[MC_AESRAT_DK_LEN]);
/* HMAC-SHA256(auth, blob[32:]) == blob[0:32], in constant time. False for a blob shorter than
 * the header plus one block. */
bool mc_aesrat_verify(const uint8_t *auth, size_t auth_len, const uint8_t *blob, size_t n);
/* Verify, then decrypt blob[48:] with IV blob[32:48]. out must hold n bytes; *out_len gets the
 * plaintext length. False on a bad MAC, a bad length or bad padding. */
bool mc_aesrat_open(const uint8_t *key, size_t key_len, const uint8_t *auth, size_t auth_len,
                    mc_aes_mode mode, const uint8_t *blob, size_t n, uint8_t *out,
                    size_t *out_len);
/* A base64 literal shaped like a blob (header + whole blocks): decoded bytes in *out (caller
 * frees), length returned; -1 otherwise. */
long mc_aesrat_blob(const char *text, uint8_t **out);
/* Decrypt one base64 literal under dk (AES-256, CBC) into a NUL-terminated malloc'd string;
 * NULL unless the MAC verifies and the plaintext is NUL-free text. */
char *mc_aesrat_decrypt_b64(const uint8_t dk[MC_AESRAT_DK_LEN], const char *text);

/* The AsyncRAT/DcRat/VenomRAT decoder body. `family` is the calling decoder's family. */
int mc_aesrat_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                     mc_results *out, const char *family);

#endif
