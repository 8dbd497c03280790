/* OpenSSL 3 wrappers behind mc_crypto.h.
 *
 * OpenSSL takes int lengths; every size_t is checked against INT_MAX before it crosses over, so a
 * huge length is an error and never a silent truncation.
 *
 * PKCS7 is handled here rather than by EVP so that it works the same for the block modes (CBC,
 * ECB) and the stream-like CFB modes (EVP never pads those), and so that the decrypt output never
 * needs EVP's extra block of slack.
 *
 * RC4 lives in OpenSSL's legacy provider. It is loaded once (pthread_once) into a private library
 * context together with the default provider, so the process-wide default context is left as the
 * rest of the program expects it. When the legacy module cannot be loaded (a minimal OpenSSL
 * install), mc_rc4 returns false on every call; callers then treat the blob as undecodable.
 */
#include "mc_crypto.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

#define AES_BLOCK 16
#define RC4_MAX_KEY 256

static bool fits_int(size_t n) { return n <= (size_t)INT_MAX; }

static const EVP_CIPHER *aes_cipher(mc_aes_mode mode, size_t key_len)
{
    static const EVP_CIPHER *(*const table[4][3])(void) = {
        [MC_AES_CBC] = {EVP_aes_128_cbc, EVP_aes_192_cbc, EVP_aes_256_cbc},
        [MC_AES_CFB128] = {EVP_aes_128_cfb128, EVP_aes_192_cfb128, EVP_aes_256_cfb128},
        [MC_AES_CFB8] = {EVP_aes_128_cfb8, EVP_aes_192_cfb8, EVP_aes_256_cfb8},
        [MC_AES_ECB] = {EVP_aes_128_ecb, EVP_aes_192_ecb, EVP_aes_256_ecb},
    };
    if ((unsigned)mode > MC_AES_ECB) return NULL;
    switch (key_len) {
    case 16: return table[mode][0]();
    case 24: return table[mode][1]();
    case 32: return table[mode][2]();
    default: return NULL;
    }
}

static bool is_block_mode(mc_aes_mode mode) { return mode == MC_AES_CBC || mode == MC_AES_ECB; }

/* Runs the cipher over up to two input pieces (data, then padding) with EVP padding off. */
static bool aes_run(mc_aes_mode mode, const uint8_t *key, size_t key_len, const uint8_t *iv,
                    int enc, const uint8_t *in, size_t in_len, const uint8_t *tail,
                    size_t tail_len, uint8_t *out, size_t *out_len)
{
    const EVP_CIPHER *c = aes_cipher(mode, key_len);
    if (!c || !key || (mode != MC_AES_ECB && !iv) || (in_len && !in) || !out) return false;
    if (!fits_int(in_len) || (size_t)INT_MAX - in_len < tail_len) return false;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return false;
    size_t total = 0;
    int n = 0;
    bool ok = EVP_CipherInit_ex(ctx, c, NULL, key, mode == MC_AES_ECB ? NULL : iv, enc) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
    if (ok && in_len) {
        ok = EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1;
        total += (size_t)n;
    }
    if (ok && tail_len) {
        ok = EVP_CipherUpdate(ctx, out + total, &n, tail, (int)tail_len) == 1;
        total += (size_t)n;
    }
    if (ok) {
        ok = EVP_CipherFinal_ex(ctx, out + total, &n) == 1;
        total += (size_t)n;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (ok) *out_len = total;
    return ok;
}

/* Length of valid PKCS7 padding at the end of p, or 0 when it is malformed. */
static size_t pkcs7_pad_len(const uint8_t *p, size_t n)
{
    if (n == 0) return 0;
    size_t pad = p[n - 1];
    if (pad == 0 || pad > AES_BLOCK || pad > n) return 0;
    for (size_t i = n - pad; i < n; i++)
        if (p[i] != pad) return 0;
    return pad;
}

bool mc_aes_decrypt(mc_aes_mode mode, const uint8_t *key, size_t key_len, const uint8_t *iv,
                    const uint8_t *in, size_t in_len, bool pkcs7, uint8_t *out, size_t *out_len)
{
    if (!out_len) return false;
    if (is_block_mode(mode) && in_len % AES_BLOCK) return false;
    if (pkcs7 && in_len == 0) return false;
    size_t n = 0;
    if (!aes_run(mode, key, key_len, iv, 0, in, in_len, NULL, 0, out, &n)) return false;
    if (pkcs7) {
        size_t pad = pkcs7_pad_len(out, n);
        if (!pad) return false;
        n -= pad;
    }
    *out_len = n;
    return true;
}

bool mc_aes_encrypt(mc_aes_mode mode, const uint8_t *key, size_t key_len, const uint8_t *iv,
                    const uint8_t *in, size_t in_len, bool pkcs7, uint8_t *out, size_t *out_len)
{
    if (!out_len) return false;
    uint8_t pad[AES_BLOCK];
    size_t pad_len = 0;
    if (pkcs7) {
        pad_len = AES_BLOCK - in_len % AES_BLOCK;
        memset(pad, (int)pad_len, pad_len);
    } else if (is_block_mode(mode) && in_len % AES_BLOCK) {
        return false;
    }
    return aes_run(mode, key, key_len, iv, 1, in, in_len, pad, pad_len, out, out_len);
}

static pthread_once_t rc4_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *rc4_cipher;

static void rc4_load(void)
{
    /* The library context and providers stay loaded for the life of the process: RC4 may be
     * needed again at any time, and reloading providers is far slower than one decrypt. */
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    if (!lib) return;
    OSSL_PROVIDER *legacy = OSSL_PROVIDER_load(lib, "legacy");
    OSSL_PROVIDER *deflt = OSSL_PROVIDER_load(lib, "default");
    EVP_CIPHER *c = legacy && deflt ? EVP_CIPHER_fetch(lib, "RC4", NULL) : NULL;
    if (!c) {
        if (deflt) OSSL_PROVIDER_unload(deflt);
        if (legacy) OSSL_PROVIDER_unload(legacy);
        OSSL_LIB_CTX_free(lib);
        return;
    }
    rc4_cipher = c;
}

bool mc_rc4(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len, uint8_t *out)
{
    if (!key || key_len == 0 || key_len > RC4_MAX_KEY || !fits_int(len)) return false;
    if (len && (!in || !out)) return false;
    if (pthread_once(&rc4_once, rc4_load) != 0 || !rc4_cipher) return false;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return false;
    int n = 0, fin = 0;
    uint8_t dummy;
    bool ok = EVP_CipherInit_ex(ctx, rc4_cipher, NULL, NULL, NULL, 1) == 1 &&
              EVP_CIPHER_CTX_set_key_length(ctx, (int)key_len) == 1 &&
              EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, 1) == 1 &&
              (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
              EVP_CipherFinal_ex(ctx, len ? out + n : &dummy, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok && (size_t)n + (size_t)fin == len;
}

bool mc_chacha20(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter,
                 const uint8_t *in, size_t len, uint8_t *out)
{
    if (!key || !nonce || !fits_int(len)) return false;
    if (len && (!in || !out)) return false;
    /* EVP's 16-byte ChaCha20 IV is the RFC 8439 state words 12..15: LE32 counter || nonce. */
    uint8_t iv[16] = {(uint8_t)counter, (uint8_t)(counter >> 8), (uint8_t)(counter >> 16),
                      (uint8_t)(counter >> 24)};
    memcpy(iv + 4, nonce, 12);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return false;
    int n = 0, fin = 0;
    uint8_t dummy;
    bool ok = EVP_CipherInit_ex(ctx, EVP_chacha20(), NULL, key, iv, 1) == 1 &&
              (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
              EVP_CipherFinal_ex(ctx, len ? out + n : &dummy, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok && (size_t)n + (size_t)fin == len;
}

bool mc_pbkdf2_sha1(const char *password, size_t password_len, const uint8_t *salt,
                    size_t salt_len, unsigned iterations, uint8_t *out, size_t out_len)
{
    if (iterations == 0 || iterations > (unsigned)INT_MAX || out_len == 0 || !out) return false;
    if (!fits_int(password_len) || !fits_int(salt_len) || !fits_int(out_len)) return false;
    if ((password_len && !password) || (salt_len && !salt)) return false;
    return PKCS5_PBKDF2_HMAC(password_len ? password : "", (int)password_len,
                             salt_len ? salt : (const uint8_t *)"", (int)salt_len,
                             (int)iterations, EVP_sha1(), (int)out_len, out) == 1;
}

bool mc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                    uint8_t out[32])
{
    static const uint8_t empty[1];
    if (!out || !fits_int(key_len) || (key_len && !key) || (msg_len && !msg)) return false;
    unsigned int n = 0;
    return HMAC(EVP_sha256(), key_len ? key : empty, (int)key_len, msg_len ? msg : empty,
                msg_len, out, &n) != NULL &&
           n == 32;
}

static void digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out, size_t out_len)
{
    static const uint8_t empty[1];
    if (EVP_Digest(n ? p : empty, n, out, NULL, md, NULL) != 1) memset(out, 0, out_len);
}

void mc_md5(const void *p, size_t n, uint8_t out[16]) { digest(EVP_md5(), p, n, out, 16); }
void mc_sha1(const void *p, size_t n, uint8_t out[20]) { digest(EVP_sha1(), p, n, out, 20); }
void mc_sha256(const void *p, size_t n, uint8_t out[32]) { digest(EVP_sha256(), p, n, out, 32); }

void mc_hex(const uint8_t *p, size_t n, char *dst)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[p[i] >> 4];
        dst[2 * i + 1] = digits[p[i] & 15];
    }
    dst[2 * n] = '\0';
}

bool mc_memeq_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

static bool b64_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Number of payload characters (without '=') when the text is strict base64, else -1. Padding
 * is optional, but when present it must complete the last quantum exactly. */
static long b64_payload_len(const char *in, size_t len)
{
    if (len && !in) return -1;
    if (len > (size_t)INT_MAX) return -1;
    size_t body = len;
    while (body > 0 && in[body - 1] == '=' && len - body < 2) body--;
    size_t pads = len - body;
    for (size_t i = 0; i < body; i++)
        if (!b64_alpha((unsigned char)in[i])) return -1;
    if (body % 4 == 1) return -1;
    if (pads && (len % 4 != 0 || (4 - body % 4) % 4 != pads)) return -1;
    return (long)body;
}

long mc_b64_decode(const char *in, size_t len, uint8_t *out)
{
    long body = b64_payload_len(in, len);
    if (body < 0) return -1;
    size_t full = (size_t)body / 4 * 4, rest = (size_t)body % 4;
    long n = 0;
    if (full) {
        /* No '=' inside these quanta, so EVP_DecodeBlock's count is exact. */
        if (EVP_DecodeBlock(out, (const unsigned char *)in, (int)full) != (int)(full / 4 * 3))
            return -1;
        n = (long)(full / 4 * 3);
    }
    if (rest) {
        /* EVP_DecodeBlock wants whole quanta and counts pad bytes as output: pad, then drop
         * the bytes the padding stands for. */
        unsigned char quad[4] = {'=', '=', '=', '='}, tri[3];
        memcpy(quad, in + full, rest);
        if (EVP_DecodeBlock(tri, quad, 4) != 3) return -1;
        memcpy(out + n, tri, rest - 1);
        n += (long)(rest - 1);
    }
    return n;
}

bool mc_is_b64(const char *in, size_t len, size_t min_len)
{
    return len >= min_len && b64_payload_len(in, len) >= 0;
}

size_t mc_b64_encode(const uint8_t *in, size_t len, char *out)
{
    /* Chunks of whole 3-byte groups keep every call well inside int range. */
    const size_t chunk = (size_t)3 << 20;
    size_t w = 0;
    out[0] = '\0';
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        w += (size_t)EVP_EncodeBlock((unsigned char *)out + w, in + off, (int)n);
        off += n;
    }
    return w;
}

void mc_xor(const uint8_t *in, size_t len, const uint8_t *key, size_t key_len, uint8_t *out)
{
    if (key_len == 0 || !key) {
        if (out != in && len) memmove(out, in, len);
        return;
    }
    for (size_t i = 0, k = 0; i < len; i++) {
        out[i] = in[i] ^ key[k];
        if (++k == key_len) k = 0;
    }
}
