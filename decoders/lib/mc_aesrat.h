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
/* The same, charged to ctx->kdf (decoder.h) first: false without deriving when the job's PBKDF2
 * budget cannot pay for it. Decoders derive through this or mc_aesrat_find_keys (which charges
 * each derivation and first block it asks for the same way, a refused one not confirming its
 * salt). */
bool mc_aesrat_derive_ctx(const mc_decode_ctx *ctx, const char *password, size_t password_len,
                          const uint8_t *salt, size_t salt_len, unsigned iterations,
                          uint8_t dk[MC_AESRAT_DK_LEN]);
/* The keys of one candidate password for one blob (HMAC || IV || CT), tried in order: for each
 * salt, for each key length in key_lens (32, or 16 for Quasar 1.3), the AES key dk[0:kl] and the
 * HMAC key dk[kl:kl+64] of dk = PBKDF2-HMAC-SHA1(pw, salt, iterations); accept(arg, salt index,
 * key, kl, auth key) is called for each pair whose HMAC key verifies the blob, until it returns
 * true (then true is returned).
 *
 * With ctx->shared set, the derived keys a live client keeps on its GC heap come first: a heap
 * byte[64] that verifies the blob's HMAC and a byte[kl] that decrypts it (mc_clrstr.h index) are
 * credited to (pw, salt) only when the FIRST PBKDF2 block of that pair (PKCS5_PBKDF2_HMAC asked
 * for 20 bytes: a fifth of the 96-byte cost) equals the heap key's first min(kl, 20) bytes. So
 * the reported password, salt and family stay proven. Such a pair is proof enough (the HMAC
 * key verifies the blob; a wrong AES key decrypts it to padded text about once in 10^9) that a
 * password whose first blocks do not match did not produce the blob's keys, so it costs a fifth
 * of a derivation per salt and is not derived in full. Without heap keys that open the blob
 * (none, wrong ones, an HMAC key without its AES key), the whole dk is derived per salt as
 * before. */
typedef bool (*mc_aesrat_accept_fn)(void *arg, size_t salt_idx, const uint8_t *key,
                                    size_t key_len, const uint8_t *auth);
bool mc_aesrat_find_keys(const mc_decode_ctx *ctx, const md_dump *d, const char *pw, size_t pw_len,
                         const mc_aesrat_salt *salts, size_t nsalts, unsigned iterations,
                         const size_t *key_lens, size_t nkey_lens, const uint8_t *blob, size_t n,
                         mc_aesrat_accept_fn accept, void *arg);
/* True when ctx->shared is set and heap keys (as above) open the blob: it is then a MAC'd blob of
 * this scheme, which MAC-less schemes cannot have produced. */
bool mc_aesrat_heap_opens(const mc_decode_ctx *ctx, const md_dump *d, const size_t *key_lens,
                          size_t nkey_lens, const uint8_t *blob, size_t n);

/* Process-wide counters, for tests and measurements: PBKDF2 runs actually computed (memo misses)
 * for a whole dk and for a first block only, and keys taken from the heap. */
typedef struct mc_aesrat_stats {
    unsigned long full, prefix, heap;
} mc_aesrat_stats;
void mc_aesrat_stats_get(mc_aesrat_stats *st);
/* Forget the derivation memo (tests that count derivations). */
void mc_aesrat_memo_clear(void);

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

/* How many of these Settings field names only the AsyncRAT family uses (Ports, MTX, Pastebin,
 * BSOD, Anti, HWID, Group...): other .NET decoders leave such a client to the family's own. */
size_t mc_aesrat_own_names(const char *const *names, size_t n);

/* The AsyncRAT/DcRat/VenomRAT decoder body. `family` is the calling decoder's family. */
int mc_aesrat_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                     mc_results *out, const char *family);

#endif
