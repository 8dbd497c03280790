/* The Aes256 scheme (Quasar 1.3/1.4, AsyncRAT, DcRat, VenomRAT) and the Settings decoder shared
 * by AsyncRAT, DcRat and VenomRAT (families.md §1.3, §3).
 *
 * Those three builders (dnlib) rewrite the ldstr operands of one Settings .cctor: every setting is
 * a string, most of them encrypted, the Key stored as base64 of the real password. The decoder
 * walks each .cctor with enough string items, decodes the Key candidates, and lets the HMAC of an
 * encrypted literal pick (password, salt); the salt then names the family. Fields are mapped by
 * field name when the build kept the names, else by IL position around the Key (the builders'
 * placeholder order) and by value shape. Decrypted copies on the GC heap (CLR string objects)
 * raise confidence, and stand in for the image, as a low-confidence partial, when it is gone.
 */
#include "lib/mc_aesrat.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_dotnet.h"
#include "lib/mc_net.h"
#include "lib/mc_shared.h"
#include "md_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AR_MAX_ITEMS 96
#define AR_MAX_TEXT 8192          /* UTF-8 bytes kept per string item */
#define AR_MAX_KEYS 4             /* key candidates per .cctor (each costs up to nsalts PBKDF2) */
#define AR_MAX_SALTS 8            /* known + found in IL */
#define AR_MAX_CCTORS 64
#define AR_MAX_METHODS 8192
#define AR_MAX_IL_TOTAL (8u << 20)
#define AR_MIN_STRINGS 8
#define AR_HEAP_WINDOW 0x10000
#define AR_MAX_LIST 64            /* hosts or ports per list */
#define AR_BLOCK1 20              /* one PBKDF2-HMAC-SHA1 block: the key prefix a heap key is confirmed by */
#define AR_HEAP_MACS 16384        /* heap byte[64]s tried against one blob's HMAC */
#define AR_HEAP_KEYS 4096         /* heap key arrays tried per verified byte[64] */
#define AR_HEAP_PAIRS 4

const uint8_t mc_aesrat_quasar_salt[32] = {
    0xBF, 0xEB, 0x1E, 0x56, 0xFB, 0xCD, 0x97, 0x3B, 0xB2, 0x19, 0x02, 0x24, 0x30, 0xA5, 0x78, 0x43,
    0x00, 0x3D, 0x56, 0x44, 0xD2, 0x1E, 0x62, 0xB9, 0xD4, 0xF1, 0x80, 0xE7, 0xE6, 0xC3, 0x39, 0x41};

static const mc_aesrat_salt known_salts[] = {
    {"asyncrat", mc_aesrat_quasar_salt, sizeof mc_aesrat_quasar_salt},
    {"dcrat", (const uint8_t *)"DcRatByqwqdanchun", 17},
    {"venomrat", (const uint8_t *)"VenomRATByVenom", 15},
};
#define AR_NKNOWN (sizeof known_salts / sizeof known_salts[0])

const mc_aesrat_salt *mc_aesrat_salts(size_t *n)
{
    *n = AR_NKNOWN;
    return known_salts;
}

/* ---- crypto ---- */

/* PBKDF2 at 50000 rounds is the dominant cost of these decoders (~0.1 s each), and one key is
 * derived again and again: flat and mapped copies of one image, one sample in several dumps of a
 * batch, each salt tried by each of the decoders a rule reached. A small process-wide memo of
 * recent derivations (the whole dk, or only its first block when a heap key was confirmed by it),
 * under a mutex because the engine may run inputs in parallel. */
#define AR_MEMO 32
#define AR_MEMO_PW 128
typedef struct ar_memo {
    char pw[AR_MEMO_PW];
    size_t pw_len;
    uint8_t salt[64];
    size_t salt_len;
    unsigned iterations;
    uint8_t dk[MC_AESRAT_DK_LEN];
    size_t dk_len;            /* MC_AESRAT_DK_LEN, or AR_BLOCK1 */
    bool used;
} ar_memo;
static ar_memo memo[AR_MEMO];
static size_t memo_next;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long stat_full, stat_prefix, stat_heap;

static bool memo_same(const ar_memo *m, const char *pw, size_t pw_len, const uint8_t *salt,
                      size_t salt_len, unsigned iterations)
{
    return m->used && m->iterations == iterations && m->pw_len == pw_len && m->salt_len == salt_len &&
           memcmp(m->pw, pw, pw_len) == 0 && memcmp(m->salt, salt, salt_len) == 0;
}

/* The first `want` bytes of a remembered derivation. */
static bool memo_get(const char *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
                     unsigned iterations, uint8_t *dk, size_t want)
{
    bool hit = false;
    pthread_mutex_lock(&memo_lock);
    for (size_t i = 0; i < AR_MEMO && !hit; i++) {
        const ar_memo *m = &memo[i];
        if (memo_same(m, pw, pw_len, salt, salt_len, iterations) && m->dk_len >= want) {
            memcpy(dk, m->dk, want);
            hit = true;
        }
    }
    pthread_mutex_unlock(&memo_lock);
    return hit;
}

static void memo_put(const char *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
                     unsigned iterations, const uint8_t *dk, size_t dk_len)
{
    if (pw_len > AR_MEMO_PW || salt_len > sizeof memo[0].salt) return;
    pthread_mutex_lock(&memo_lock);
    ar_memo *m = NULL;
    for (size_t i = 0; i < AR_MEMO && !m; i++)   /* a full dk replaces its first block */
        if (memo_same(&memo[i], pw, pw_len, salt, salt_len, iterations)) m = &memo[i];
    if (!m) {
        m = &memo[memo_next];
        memo_next = (memo_next + 1) % AR_MEMO;
    } else if (m->dk_len >= dk_len) {
        pthread_mutex_unlock(&memo_lock);
        return;
    }
    memcpy(m->pw, pw, pw_len);
    m->pw_len = pw_len;
    memcpy(m->salt, salt, salt_len);
    m->salt_len = salt_len;
    m->iterations = iterations;
    memcpy(m->dk, dk, dk_len);
    m->dk_len = dk_len;
    m->used = true;
    pthread_mutex_unlock(&memo_lock);
}

/* Charge one PBKDF2 run of `len` bytes (iterations x its 20-byte blocks) to the job's budget
 * (decoder.h): false, and counted as skipped, when it would go past the limit. */
static bool kdf_charge(const mc_decode_ctx *ctx, unsigned iterations, size_t len)
{
    mc_kdf_budget *b = ctx ? ctx->kdf : NULL;
    if (!b) return true;
    uint64_t rounds = (uint64_t)iterations * ((len + 19) / 20);
    if (b->used > b->limit || rounds > b->limit - b->used) {
        b->skipped++;
        return false;
    }
    b->used += rounds;
    b->derived++;
    return true;
}

bool mc_aesrat_derive(const char *password, size_t password_len, const uint8_t *salt,
                      size_t salt_len, unsigned iterations, uint8_t dk[MC_AESRAT_DK_LEN])
{
    if (memo_get(password, password_len, salt, salt_len, iterations, dk, MC_AESRAT_DK_LEN)) return true;
    if (!mc_pbkdf2_sha1(password, password_len, salt, salt_len, iterations, dk, MC_AESRAT_DK_LEN))
        return false;
    __atomic_fetch_add(&stat_full, 1, __ATOMIC_RELAXED);
    memo_put(password, password_len, salt, salt_len, iterations, dk, MC_AESRAT_DK_LEN);
    return true;
}

bool mc_aesrat_derive_ctx(const mc_decode_ctx *ctx, const char *password, size_t password_len,
                          const uint8_t *salt, size_t salt_len, unsigned iterations,
                          uint8_t dk[MC_AESRAT_DK_LEN])
{
    return kdf_charge(ctx, iterations, MC_AESRAT_DK_LEN) &&
           mc_aesrat_derive(password, password_len, salt, salt_len, iterations, dk);
}

/* dk[0:20]: PKCS5_PBKDF2_HMAC asked for one block, a fifth of the work of the whole dk. */
static bool derive_block1(const char *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
                          unsigned iterations, uint8_t out[AR_BLOCK1])
{
    if (memo_get(pw, pw_len, salt, salt_len, iterations, out, AR_BLOCK1)) return true;
    if (!mc_pbkdf2_sha1(pw, pw_len, salt, salt_len, iterations, out, AR_BLOCK1)) return false;
    __atomic_fetch_add(&stat_prefix, 1, __ATOMIC_RELAXED);
    memo_put(pw, pw_len, salt, salt_len, iterations, out, AR_BLOCK1);
    return true;
}

void mc_aesrat_stats_get(mc_aesrat_stats *st)
{
    st->full = __atomic_load_n(&stat_full, __ATOMIC_RELAXED);
    st->prefix = __atomic_load_n(&stat_prefix, __ATOMIC_RELAXED);
    st->heap = __atomic_load_n(&stat_heap, __ATOMIC_RELAXED);
}

void mc_aesrat_memo_clear(void)
{
    pthread_mutex_lock(&memo_lock);
    memset(memo, 0, sizeof memo);
    memo_next = 0;
    pthread_mutex_unlock(&memo_lock);
}

bool mc_aesrat_verify(const uint8_t *auth, size_t auth_len, const uint8_t *blob, size_t n)
{
    uint8_t mac[32];
    if (n < MC_AESRAT_HDR + 16) return false;
    return mc_hmac_sha256(auth, auth_len, blob + 32, n - 32, mac) && mc_memeq_ct(mac, blob, 32);
}

bool mc_aesrat_open(const uint8_t *key, size_t key_len, const uint8_t *auth, size_t auth_len,
                    mc_aes_mode mode, const uint8_t *blob, size_t n, uint8_t *out,
                    size_t *out_len)
{
    if (n < MC_AESRAT_HDR + 16 || (n - MC_AESRAT_HDR) % 16 != 0) return false;
    if (!mc_aesrat_verify(auth, auth_len, blob, n)) return false;
    return mc_aes_decrypt(mode, key, key_len, blob + 32, blob + MC_AESRAT_HDR, n - MC_AESRAT_HDR,
                          true, out, out_len);
}

long mc_aesrat_blob(const char *text, uint8_t **out)
{
    size_t len = strlen(text);
    *out = NULL;
    if (len < 88 || !mc_is_b64(text, len, 88)) return -1;
    uint8_t *b = malloc(3 * (len / 4) + 3);
    if (!b) return -1;
    long n = mc_b64_decode(text, len, b);
    if (n < (long)MC_AESRAT_HDR + 16 || (n - (long)MC_AESRAT_HDR) % 16 != 0) {
        free(b);
        return -1;
    }
    *out = b;
    return n;
}

char *mc_aesrat_decrypt_b64(const uint8_t dk[MC_AESRAT_DK_LEN], const char *text)
{
    uint8_t *blob;
    long n = mc_aesrat_blob(text, &blob);
    if (n < 0) return NULL;
    char *res = malloc((size_t)n + 1);
    size_t len = 0;
    if (res && mc_aesrat_open(dk, 32, dk + 32, MC_AESRAT_AUTH_LEN, MC_AES_CBC, blob, (size_t)n,
                              (uint8_t *)res, &len) && !memchr(res, 0, len)) {
        res[len] = 0;
    } else {
        free(res);
        res = NULL;
    }
    free(blob);
    return res;
}

/* ---- derived keys on the GC heap ---- */

/* A live client keeps its Aes256 keys as byte[] objects: _key (32 bytes, 16 for Quasar 1.3) and
 * _authKey (64), derived one after the other. */
typedef struct ar_heap_pair {
    uint8_t key_len;
    uint8_t key[32];
    uint8_t auth[MC_AESRAT_AUTH_LEN];
} ar_heap_pair;

/* The key decrypts the blob with valid padding to text (no control bytes but tab and line ends):
 * a wrong key gets that far about once in 10^9. */
static bool heap_key_opens(const uint8_t *key, size_t kl, const uint8_t *blob, size_t n,
                           uint8_t *out)
{
    size_t len;
    if (!mc_aes_decrypt(MC_AES_CBC, key, kl, blob + n - 32, blob + n - 16, 16, true, out, &len))
        return false;
    if (!mc_aes_decrypt(MC_AES_CBC, key, kl, blob + 32, blob + MC_AESRAT_HDR, n - MC_AESRAT_HDR,
                        true, out, &len))
        return false;
    for (size_t i = 0; i < len; i++)
        if (out[i] < 0x20 && out[i] != '\t' && out[i] != '\r' && out[i] != '\n') return false;
    return true;
}

/* The heap byte[kl] nearest the byte[64] at auth_va (before it first at equal distance) that
 * opens the blob. */
static bool heap_key_near(const mc_decode_ctx *ctx, const md_dump *d, uint64_t auth_va, unsigned kl,
                          const uint8_t *blob, size_t n, uint8_t *buf, uint8_t *key)
{
    const uint64_t *v;
    size_t nv, lo = 0, hi;
    if (!mc_clr_byte_arrays(ctx, d, kl, &v, &nv) || nv == 0) return false;
    for (hi = nv; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        if ((v[mid] & ~1ull) < auth_va) lo = mid + 1;
        else hi = mid;
    }
    size_t below = lo, above = lo;
    for (unsigned tries = 0; tries < AR_HEAP_KEYS && (below > 0 || above < nv); tries++) {
        uint64_t va;
        if (below > 0 && (above >= nv || auth_va - (v[below - 1] & ~1ull) <= (v[above] & ~1ull) - auth_va))
            va = v[--below] & ~1ull;
        else
            va = v[above++] & ~1ull;
        const uint8_t *k = md_ptr(d, va, kl);
        if (k && heap_key_opens(k, kl, blob, n, buf)) {
            memcpy(key, k, kl);
            return true;
        }
    }
    return false;
}

/* Heap key pairs that open the blob: a byte[64] whose HMAC-SHA256 verifies it (paired ones, with
 * a key array just before them, first), with the nearest byte[kl] that decrypts it, for each kl.
 * Every copy of the auth key is the same bytes, so the search stops at the first one with a key.
 * Remembered per dump and blob. */
static size_t heap_pairs(const mc_decode_ctx *ctx, const md_dump *d, const uint8_t *blob, size_t n,
                         const size_t *key_lens, size_t nkl, ar_heap_pair *out)
{
    static const char tag[] = "aesrat-heap-keys";
    uint8_t mk[sizeof tag - 1 + 32 + 8 + 2];
    size_t ml = 0, vl = 0, np = 0;
    if (!ctx || !ctx->shared || nkl == 0 || nkl > 2 || n < MC_AESRAT_HDR + 16 ||
        (n - MC_AESRAT_HDR) % 16 != 0)
        return 0;
    memcpy(mk, tag, sizeof tag - 1);
    ml = sizeof tag - 1;
    memcpy(mk + ml, blob, 32);
    ml += 32;
    for (int i = 0; i < 8; i++) mk[ml++] = (uint8_t)((uint64_t)n >> (8 * i));
    for (size_t i = 0; i < nkl; i++) mk[ml++] = (uint8_t)key_lens[i];
    if (mc_shared_memo_get(ctx->shared, mk, ml, out, AR_HEAP_PAIRS * sizeof *out, &vl))
        return vl / sizeof *out;
    const uint64_t *macs;
    size_t nm, tried = 0;
    uint8_t *buf = malloc(n);
    if (buf && mc_clr_byte_arrays(ctx, d, MC_AESRAT_AUTH_LEN, &macs, &nm)) {
        for (int pass = 0; pass < 2 && np == 0; pass++)
            for (size_t i = 0; i < nm && np == 0 && tried < AR_HEAP_MACS && !mc_expired(ctx); i++) {
                if ((int)(macs[i] & 1) != (pass == 0)) continue;
                tried++;
                uint64_t va = macs[i] & ~1ull;
                const uint8_t *a = md_ptr(d, va, MC_AESRAT_AUTH_LEN);
                if (!a || !mc_aesrat_verify(a, MC_AESRAT_AUTH_LEN, blob, n)) continue;
                for (size_t k = 0; k < nkl; k++) {
                    ar_heap_pair *p = &out[np];
                    memset(p, 0, sizeof *p);
                    if ((key_lens[k] != 16 && key_lens[k] != 32) ||
                        !heap_key_near(ctx, d, va, (unsigned)key_lens[k], blob, n, buf, p->key))
                        continue;
                    p->key_len = (uint8_t)key_lens[k];
                    memcpy(p->auth, a, MC_AESRAT_AUTH_LEN);
                    np++;
                }
            }
    }
    bool searched = buf != NULL;
    free(buf);
    if (searched && !mc_expired(ctx)) mc_shared_memo_put(ctx->shared, mk, ml, out, np * sizeof *out);
    return np;
}

bool mc_aesrat_heap_opens(const mc_decode_ctx *ctx, const md_dump *d, const size_t *key_lens,
                          size_t nkey_lens, const uint8_t *blob, size_t n)
{
    ar_heap_pair pairs[AR_HEAP_PAIRS];
    return heap_pairs(ctx, d, blob, n, key_lens, nkey_lens, pairs) > 0;
}

bool mc_aesrat_find_keys(const mc_decode_ctx *ctx, const md_dump *d, const char *pw, size_t pw_len,
                         const mc_aesrat_salt *salts, size_t nsalts, unsigned iterations,
                         const size_t *key_lens, size_t nkey_lens, const uint8_t *blob, size_t n,
                         mc_aesrat_accept_fn accept, void *arg)
{
    ar_heap_pair pairs[AR_HEAP_PAIRS];
    size_t np = heap_pairs(ctx, d, blob, n, key_lens, nkey_lens, pairs);
    /* Heap keys that open this very blob: the (password, salt) whose first PBKDF2 block is the
     * key's first bytes produced them, and no other did. */
    for (size_t k = 0; k < nsalts && np && !mc_expired(ctx); k++) {
        uint8_t t1[AR_BLOCK1];
        if (!kdf_charge(ctx, iterations, AR_BLOCK1)) continue;   /* over budget: not confirmed */
        if (!derive_block1(pw, pw_len, salts[k].salt, salts[k].len, iterations, t1)) return false;
        for (size_t j = 0; j < nkey_lens; j++)
            for (size_t i = 0; i < np; i++) {
                const ar_heap_pair *p = &pairs[i];
                size_t cmp = p->key_len < AR_BLOCK1 ? p->key_len : AR_BLOCK1;
                if (p->key_len != key_lens[j] || !mc_memeq_ct(p->key, t1, cmp)) continue;
                __atomic_fetch_add(&stat_heap, 1, __ATOMIC_RELAXED);
                if (accept(arg, k, p->key, p->key_len, p->auth)) return true;
            }
    }
    /* The blob's own keys are on the heap and this password's first blocks are not theirs: no
     * salt of the list derives them from it, and the whole derivation would only confirm that. */
    if (np) return false;
    /* No heap keys: derive the whole dk for each salt. */
    uint8_t dk[MC_AESRAT_DK_LEN];
    for (size_t k = 0; k < nsalts && !mc_expired(ctx); k++) {
        if (!kdf_charge(ctx, iterations, MC_AESRAT_DK_LEN)) continue;
        if (!mc_aesrat_derive(pw, pw_len, salts[k].salt, salts[k].len, iterations, dk)) return false;
        for (size_t j = 0; j < nkey_lens; j++) {
            size_t kl = key_lens[j];
            if (kl > MC_AESRAT_DK_LEN - MC_AESRAT_AUTH_LEN ||
                !mc_aesrat_verify(dk + kl, MC_AESRAT_AUTH_LEN, blob, n))
                continue;
            if (accept(arg, k, dk, kl, dk + kl)) return true;
        }
    }
    return false;
}

/* ---- the Settings .cctor ---- */

typedef enum ar_field {
    F_NONE = -1, F_PORTS = 0, F_HOSTS, F_VERSION, F_INSTALL, F_FOLDER, F_FILE, F_KEY, F_MTX,
    F_CERT, F_SIG, F_ANTI, F_PASTEBIN, F_BSOD, F_HWID, F_DELAY, F_GROUP, F_ANTIPROC, F_COUNT
} ar_field;

typedef struct ar_item {
    mc_dn_item it;
    char name[128];           /* field name as found (obfuscated names stay as they are) */
    char *text;               /* the literal as UTF-8 */
    uint64_t va;              /* VA of the #US entry */
    char *plain;              /* decrypted value, NULL when the literal is not encrypted */
    ar_field f;
} ar_item;

typedef struct ar_cfg {
    ar_item items[AR_MAX_ITEMS];
    size_t n;
    uint64_t anchor;
    int key_idx;
    char password[160];
    uint8_t dk[MC_AESRAT_DK_LEN];
    const char *family;       /* proven by the salt */
    const uint8_t *salt;
    size_t salt_len;
    unsigned iterations;
    bool by_name;
} ar_cfg;

typedef struct ar_salts {
    mc_aesrat_salt v[AR_MAX_SALTS];
    uint8_t found[AR_MAX_SALTS][64];
    bool in_il[AR_MAX_SALTS]; /* the image's IL initialises this salt */
    size_t n;
    unsigned iterations;
} ar_salts;

static void cfg_clear(ar_cfg *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].text);
        free(q->items[i].plain);
    }
    q->n = 0;
}

static size_t collect(const mc_dotnet *dn, const mc_dn_body *b, ar_cfg *q)
{
    mc_dn_item raw[AR_MAX_ITEMS];
    size_t n = mc_dn_scan_items(b->code, b->len, raw, AR_MAX_ITEMS);
    memset(q, 0, sizeof *q);
    q->key_idx = -1;
    q->anchor = b->va;
    for (size_t i = 0; i < n; i++) {
        if (raw[i].kind != MC_DN_ITEM_STR || raw[i].via_call) continue;
        ar_item *it = &q->items[q->n];
        char *buf = malloc(AR_MAX_TEXT);
        if (!buf) continue;
        if (mc_dn_us_utf8(dn, raw[i].us_token, buf, AR_MAX_TEXT, &it->va) != MC_DN_OK) {
            free(buf);
            continue;
        }
        it->it = raw[i];
        it->text = buf;
        it->f = F_NONE;
        mc_dn_field f;
        if (mc_dn_get_field(dn, raw[i].field, &f) == MC_DN_OK) strlcpy(it->name, f.name, sizeof it->name);
        q->n++;
    }
    return q->n;
}

/* ---- salts and iteration count from the IL ---- */

static void add_salt(ar_salts *s, const uint8_t *p, size_t len)
{
    if (len < 8 || len > 64) return;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].len == len && memcmp(s->v[i].salt, p, len) == 0) {
            s->in_il[i] = true;
            return;
        }
    if (s->n >= AR_MAX_SALTS) return;
    memcpy(s->found[s->n], p, len);
    s->v[s->n] = (mc_aesrat_salt){NULL, s->found[s->n], len};
    s->in_il[s->n] = true;
    s->n++;
}

/* Salts a .cctor initialises: a byte array (ldtoken of FieldRVA data) or
 * Encoding.*.GetBytes("literal"). */
static void salts_from_cctor(const mc_dotnet *dn, const mc_dn_body *b, ar_salts *s)
{
    mc_dn_item items[32];
    size_t k = mc_dn_scan_items(b->code, b->len, items, 32);
    for (size_t i = 0; i < k; i++) {
        uint8_t buf[64];
        if (items[i].kind == MC_DN_ITEM_BYTES && items[i].ival >= 8 && items[i].ival <= 64) {
            if (mc_dn_field_data(dn, items[i].data_field, buf, (size_t)items[i].ival, NULL) == MC_DN_OK)
                add_salt(s, buf, (size_t)items[i].ival);
        } else if (items[i].kind == MC_DN_ITEM_STR && items[i].via_call &&
                   items[i].il_off + 10 <= b->len && b->code[items[i].il_off + 5] == 0x28) {
            uint32_t tok = md_le32(b->code + items[i].il_off + 6);
            char text[128];
            if ((tok >> 24) == 0x0A && strcmp(mc_dn_memberref_name(dn, tok & 0xFFFFFF), "GetBytes") == 0 &&
                mc_dn_us_utf8(dn, items[i].us_token, text, sizeof text, NULL) == MC_DN_OK)
                add_salt(s, (const uint8_t *)text, strlen(text));
        }
    }
}

/* ldsfld salt; ldc.i4 N; newobj Rfc2898DeriveBytes::.ctor */
static void iterations_from_body(const mc_dotnet *dn, const mc_dn_body *b, ar_salts *s)
{
    mc_dn_insn prev2 = {0}, prev = {0}, in;
    uint32_t pos = 0;
    while (mc_dn_next_insn(b->code, b->len, &pos, &in)) {
        if (in.op == 0x73 && prev.op == 0x20 && prev2.op == 0x7E && prev.arg >= 1000 &&
            prev.arg <= 10000000 && ((uint32_t)in.arg >> 24) == 0x0A &&
            strcmp(mc_dn_memberref_name(dn, (uint32_t)in.arg & 0xFFFFFF), ".ctor") == 0)
            s->iterations = (unsigned)prev.arg;
        prev2 = prev;
        prev = in;
    }
}

/* A known text salt whose UTF-16 text the image holds (its #US literal). */
static bool image_has_text(const md_dump *d, const md_image *img, const mc_aesrat_salt *salt)
{
    uint8_t w[128];
    const uint8_t *p = img ? md_ptr(d, img->base, img->size) : NULL;
    if (!p || salt->len > sizeof w / 2) return false;
    for (size_t i = 0; i < salt->len; i++) {
        if (salt->salt[i] < 0x20 || salt->salt[i] > 0x7E) return false;
        w[2 * i] = salt->salt[i];
        w[2 * i + 1] = 0;
    }
    return memmem(p, img->size, w, 2 * salt->len) != NULL;
}

/* The salts the image initialises or spells first (a known one, then the IL's own), the calling
 * family's own at the front of the rest: each costs a derivation (or a first block) per key
 * candidate, and the salt that verifies names the family whatever the order. */
static void gather_salts(const mc_decode_ctx *ctx, const md_dump *d, const md_image *img,
                         const mc_dotnet *dn, const char *family, ar_salts *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < AR_NKNOWN; i++)
        if (strcmp(known_salts[i].family, family) == 0) s->v[s->n++] = known_salts[i];
    for (size_t i = 0; i < AR_NKNOWN; i++)
        if (strcmp(known_salts[i].family, family) != 0) s->v[s->n++] = known_salts[i];
    uint32_t n = mc_dn_rows(dn, MC_DN_T_METHODDEF);
    uint64_t total = 0;
    if (n > AR_MAX_METHODS) n = AR_MAX_METHODS;
    for (uint32_t r = 1; r <= n && total < AR_MAX_IL_TOTAL && !mc_expired(ctx); r++) {
        mc_dn_body b;
        if (mc_dn_get_body(dn, r, &b) != MC_DN_OK) continue;
        total += b.len;
        iterations_from_body(dn, &b, s);
        mc_dn_method m;
        if (mc_dn_get_method(dn, r, &m) == MC_DN_OK && strcmp(m.name, ".cctor") == 0)
            salts_from_cctor(dn, &b, s);
        mc_dn_body_free(&b);
    }
    if (!s->iterations) s->iterations = MC_AESRAT_ITERATIONS;
    for (size_t i = 0; i < s->n; i++)
        if (!s->in_il[i] && s->v[i].family) s->in_il[i] = image_has_text(d, img, &s->v[i]);
    ar_salts o = *s;
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < o.n; i++) {
            if (o.in_il[i] != (pass == 0)) continue;
            s->in_il[k] = o.in_il[i];
            s->v[k] = o.v[i];
            /* found[] moves with its entry */
            if (!o.v[i].family) {
                memcpy(s->found[k], o.found[i], o.v[i].len);
                s->v[k].salt = s->found[k];
            }
            k++;
        }
}

/* ---- finding the key ---- */

/* The Key field: base64 of the printable password text (families.md §3.2). */
static bool key_text(const char *text, char *pw, size_t pwsz)
{
    size_t len = strlen(text);
    uint8_t buf[132];
    if (len < 12 || len > 176 || !mc_is_b64(text, len, 12)) return false;
    long n = mc_b64_decode(text, len, buf);
    if (n < 8 || (size_t)n >= pwsz) return false;
    for (long i = 0; i < n; i++)
        if (buf[i] < 0x21 || buf[i] > 0x7E) return false;
    memcpy(pw, buf, (size_t)n);
    pw[n] = 0;
    return true;
}

static const char *probe_blob(const ar_cfg *q)
{
    for (size_t i = 0; i < q->n; i++) {
        uint8_t *b;
        long n = mc_aesrat_blob(q->items[i].text, &b);
        free(b);
        if (n > 0) return q->items[i].text;
    }
    return NULL;
}

static size_t decrypt_all(ar_cfg *q)
{
    size_t ok = 0;
    for (size_t i = 0; i < q->n; i++) {
        if ((int)i == q->key_idx) continue;
        q->items[i].plain = mc_aesrat_decrypt_b64(q->dk, q->items[i].text);
        ok += q->items[i].plain != NULL;
    }
    return ok;
}

typedef struct ar_try {
    ar_cfg *q;
    const ar_salts *s;
    const char *family;       /* the calling decoder's */
    const char *pw;
    int idx;
    bool ok;
} ar_try;

static bool ar_accept(void *arg, size_t k, const uint8_t *key, size_t key_len, const uint8_t *auth)
{
    ar_try *t = arg;
    ar_cfg *q = t->q;
    memcpy(q->dk, key, key_len);
    memcpy(q->dk + key_len, auth, MC_AESRAT_AUTH_LEN);
    q->key_idx = t->idx;
    strlcpy(q->password, t->pw, sizeof q->password);
    q->family = t->s->v[k].family ? t->s->v[k].family : t->family;
    q->salt = t->s->v[k].salt;
    q->salt_len = t->s->v[k].len;
    q->iterations = t->s->iterations;
    t->ok = decrypt_all(q) > 0;
    return true;    /* the MAC proved the keys: no other (password, salt) verifies it */
}

/* Key candidates: a field named Key first (the builders' name), then the rest in IL order. */
static bool crack(const mc_decode_ctx *ctx, const md_dump *d, ar_cfg *q, const ar_salts *s,
                  const char *family)
{
    static const size_t key_lens[1] = {32};
    const char *probe = probe_blob(q);
    uint8_t *blob;
    long bn = probe ? mc_aesrat_blob(probe, &blob) : -1;
    size_t tried = 0;
    bool done = false;
    if (bn < 0) return false;
    ar_try t = {q, s, family, NULL, -1, false};
    for (int pass = 0; pass < 2 && !done; pass++)
        for (size_t i = 0; i < q->n && tried < AR_MAX_KEYS && !done && !mc_expired(ctx); i++) {
            char pw[160];
            if ((strcasecmp(q->items[i].name, "key") == 0) != (pass == 0)) continue;
            if (!key_text(q->items[i].text, pw, sizeof pw)) continue;
            tried++;
            t.pw = pw;
            t.idx = (int)i;
            done = mc_aesrat_find_keys(ctx, d, pw, strlen(pw), s->v, s->n, s->iterations, key_lens,
                                       1, blob, (size_t)bn, ar_accept, &t);
        }
    free(blob);
    return done && t.ok;
}

/* ---- field mapping ---- */

static const struct { const char *name; ar_field f; } field_names[] = {
    {"ports", F_PORTS}, {"port", F_PORTS}, {"hosts", F_HOSTS}, {"serverip", F_HOSTS},
    {"version", F_VERSION}, {"install", F_INSTALL}, {"installfolder", F_FOLDER},
    {"folder", F_FOLDER}, {"installfile", F_FILE}, {"file", F_FILE}, {"key", F_KEY},
    {"mtx", F_MTX}, {"mutex", F_MTX}, {"certificate", F_CERT}, {"serversignature", F_SIG},
    {"anti", F_ANTI}, {"pastebin", F_PASTEBIN}, {"bdos", F_BSOD}, {"bsod", F_BSOD},
    {"hwid", F_HWID}, {"delay", F_DELAY}, {"group", F_GROUP}, {"groub", F_GROUP},
    {"antiprocess", F_ANTIPROC},
};

/* Builder placeholders (families.md §3.1): an unbuilt stub still holds them. */
static const char *const placeholders[] = {
    "%Ports%", "%Hosts%", "%Version%", "%Install%", "%Folder%", "%File%", "%Key%", "%MTX%",
    "%Certificate%", "%Serversignature%", "%Anti%", "%Pastebin%", "%Paste_bin%", "%BDOS%",
    "%BSOD%", "%Delay%", "%Group%", "%AntiProcess%",
};

static ar_field field_by_name(const char *name)
{
    char norm[128];
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof norm; p++)
        if (*p != '_') norm[k++] = (char)tolower((unsigned char)*p);
    norm[k] = 0;
    for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
        if (strcmp(norm, field_names[i].name) == 0) return field_names[i].f;
    return F_NONE;
}

static const char *value_of(const ar_item *it) { return it->plain ? it->plain : it->text; }

static bool is_bool_text(const char *v) { return strcmp(v, "true") == 0 || strcmp(v, "false") == 0; }

static bool all_digits(const char *v)
{
    if (!*v) return false;
    for (; *v; v++)
        if (!isdigit((unsigned char)*v)) return false;
    return true;
}

/* Split a Hosts/Ports list on ',' or ';' (rat_king folds both) into trimmed tokens. */
static size_t split_list(const char *v, char out[][MC_HOST_MAX], size_t max)
{
    size_t n = 0;
    const char *p = v;
    while (*p && n < max) {
        size_t len = strcspn(p, ",;");
        const char *s = p, *e = p + len;
        while (s < e && isspace((unsigned char)*s)) s++;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        if (e > s && (size_t)(e - s) < MC_HOST_MAX) {
            memcpy(out[n], s, (size_t)(e - s));
            out[n][e - s] = 0;
            n++;
        }
        p += len;
        if (*p) p++;
    }
    return n;
}

static bool is_port_list(const char *v)
{
    char tok[AR_MAX_LIST][MC_HOST_MAX];
    size_t n = split_list(v, tok, AR_MAX_LIST);
    for (size_t i = 0; i < n; i++)
        if (!all_digits(tok[i]) || strlen(tok[i]) > 5 || atol(tok[i]) < 1 || atol(tok[i]) > 65535)
            return false;
    return n > 0;
}

static bool is_host_list(const char *v)
{
    char tok[AR_MAX_LIST][MC_HOST_MAX];
    size_t n = split_list(v, tok, AR_MAX_LIST);
    for (size_t i = 0; i < n; i++)
        if (!mc_is_host(tok[i])) return false;
    return n > 0;
}

size_t mc_aesrat_own_names(const char *const *names, size_t n)
{
    /* Normalized as field_by_name does; Quasar's names (HOSTS, VERSION, MUTEX, INSTALLNAME,
     * SERVERSIGNATURE, SERVERCERTIFICATESTR, RECONNECTDELAY...) are none of these. */
    static const char *const own[] = {"ports", "port", "mtx", "pastebin", "bdos", "bsod", "anti",
                                      "antiprocess", "hwid", "group", "groub", "installfolder",
                                      "installfile", "certificate", "delay"};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char norm[128];
        size_t m = 0;
        for (const char *p = names[i] ? names[i] : ""; *p && m + 1 < sizeof norm; p++)
            if (*p != '_') norm[m++] = (char)tolower((unsigned char)*p);
        norm[m] = 0;
        for (size_t j = 0; j < sizeof own / sizeof own[0]; j++)
            if (strcmp(norm, own[j]) == 0) { k++; break; }
    }
    return k;
}

static bool map_by_name(ar_cfg *q)
{
    size_t hits = 0;
    for (size_t i = 0; i < q->n; i++) {
        q->items[i].f = field_by_name(q->items[i].name);
        hits += q->items[i].f != F_NONE;
    }
    return hits >= 6 && q->items[q->key_idx].f == F_KEY;
}

/* Obfuscated names: the builders' placeholder order fixes the six settings before Key and the
 * three after it; the rest are told apart by value shape. */
static void map_by_position(ar_cfg *q)
{
    static const ar_field before[6] = {F_PORTS, F_HOSTS, F_VERSION, F_INSTALL, F_FOLDER, F_FILE};
    static const ar_field after[3] = {F_MTX, F_CERT, F_SIG};
    static const ar_field bools[3] = {F_ANTI, F_BSOD, F_ANTIPROC};
    size_t k = (size_t)q->key_idx, nb = 0;
    bool have_group = false, have_paste = false, have_delay = false;
    for (size_t i = 0; i < q->n; i++) q->items[i].f = F_NONE;
    q->items[k].f = F_KEY;
    for (size_t j = 0; j < 6 && j < k; j++) q->items[k - 1 - j].f = before[5 - j];
    for (size_t j = 0; j < 3 && k + 1 + j < q->n; j++) q->items[k + 1 + j].f = after[j];
    for (size_t i = k + 4; i < q->n; i++) {
        ar_item *it = &q->items[i];
        const char *v = value_of(it);
        if (it->plain && is_bool_text(v) && nb < 3) it->f = bools[nb++];
        else if (it->plain && !have_paste && (strcmp(v, "null") == 0 || strstr(v, "://"))) { it->f = F_PASTEBIN; have_paste = true; }
        else if (!it->plain && !have_delay && all_digits(v)) { it->f = F_DELAY; have_delay = true; }
        else if (it->plain && !have_group) { it->f = F_GROUP; have_group = true; }
    }
}

/* ---- emitting ---- */

typedef struct ar_out {
    const ar_item *f[F_COUNT];
} ar_out;

static mc_where where_of(const ar_item *it)
{
    return mc_at(it->va, it->plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT);
}

/* Every host x port pair is a C2: the client picks a host and a port independently. */
static size_t emit_conns(mc_config *c, const char *hosts, const char *ports, mc_where w)
{
    char h[AR_MAX_LIST][MC_HOST_MAX], p[AR_MAX_LIST][MC_HOST_MAX];
    size_t nh = split_list(hosts, h, AR_MAX_LIST), np = split_list(ports, p, AR_MAX_LIST), n = 0;
    if (!is_port_list(ports)) return 0;
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; j < np; j++)
            n += mc_cfg_conn(c, h[i], atol(p[j]), false, "c2", w);
    return n;
}

static void other_bool(mc_config *c, const char *key, const ar_item *it)
{
    const char *v = value_of(it);
    if (is_bool_text(v)) mc_cfg_other(c, key, json_boolean(strcmp(v, "true") == 0), where_of(it));
    else if (*v) mc_cfg_other(c, key, mc_json_str(v), where_of(it));
}

static void emit_crypto(mc_config *c, const ar_cfg *q)
{
    const ar_item *k = &q->items[q->key_idx];
    mc_where w = mc_at(k->va, MC_FORM_PLAINTEXT);
    mc_crypto e = {
        .algorithm = "AES-256-CBC", .mode = "CBC",
        .key = q->dk, .key_len = 32,
        .salt = q->salt, .salt_len = q->salt_len,
        .password = q->password,
        .usage = "config",
    };
    mc_cfg_encryption(c, &e, w);
    mc_cfg_str(c, MC_F_PASSWORD, q->password, w);
    char hk[2 * MC_AESRAT_AUTH_LEN + 1];
    mc_hex(q->dk + 32, MC_AESRAT_AUTH_LEN, hk);
    mc_cfg_other(c, "hmac_key", json_string(hk), w);
    mc_cfg_other(c, "key_derivation", json_string("PBKDF2-HMAC-SHA1"), w);
    mc_cfg_other(c, "kdf_iterations", json_integer(q->iterations), w);
    mc_cfg_other(c, "integrity", json_string("HMAC-SHA256"), w);
}

static bool is_short_alnum(const char *v)
{
    size_t n = strlen(v);
    if (n < 4 || n > 32) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && v[i] != '_' && v[i] != '-') return false;
    return true;
}

static void emit_field(mc_config *c, const ar_item *it, size_t pos, ar_out *o)
{
    const char *v = value_of(it);
    mc_where w = where_of(it);
    if (it->f != F_NONE && !o->f[it->f]) o->f[it->f] = it;
    switch (it->f) {
    case F_VERSION: if (*v) mc_cfg_version(c, v, w); break;
    case F_INSTALL: other_bool(c, "install", it); break;
    case F_MTX:
        /* An operator-left-empty mutex is a plain random string that never decrypts (§3.2). */
        if (it->plain ? *v != 0 : is_short_alnum(v)) mc_cfg_str(c, MC_F_MUTEX, v, w);
        break;
    case F_CERT: if (*v) mc_cfg_other(c, "certificate", mc_json_str(v), w); break;
    case F_SIG: if (*v) mc_cfg_other(c, "server_signature", mc_json_str(v), w); break;
    case F_ANTI: other_bool(c, "anti_analysis", it); break;
    case F_BSOD: other_bool(c, "bsod", it); break;
    case F_ANTIPROC: other_bool(c, "anti_process", it); break;
    case F_PASTEBIN:
        if (*v && strcmp(v, "null") != 0) mc_cfg_url(c, v, NULL, "dead_drop_resolver", NULL, w);
        break;
    case F_DELAY:
        if (all_digits(v) && strlen(v) < 7) {
            mc_cfg_sleep_ms(c, atol(v) * 1000L, w);
            mc_cfg_other(c, "delay_seconds", json_integer(atol(v)), w);
        }
        break;
    case F_GROUP: if (*v) mc_cfg_str(c, MC_F_CAMPAIGN_ID, v, w); break;
    case F_HWID: if (*v && strcmp(v, "null") != 0) mc_cfg_other(c, "hwid", mc_json_str(v), w); break;
    case F_NONE: {
        char key[32];
        if (!*v) break;
        snprintf(key, sizeof key, "setting_%zu", pos);
        mc_cfg_other(c, key, mc_json_str(v), w);
        break;
    }
    default: break;   /* ports, hosts, folder, file, key: emitted together below */
    }
}

static void emit_install_path(mc_config *c, const ar_out *o)
{
    const ar_item *file = o->f[F_FILE], *folder = o->f[F_FOLDER];
    char buf[1024];
    if (!file || !*value_of(file)) return;
    const char *dir = folder ? value_of(folder) : "";
    snprintf(buf, sizeof buf, "%s%s%s", dir, *dir ? "\\" : "", value_of(file));
    mc_cfg_path(c, buf, "install", where_of(file));
}

/* ---- GC heap: decrypted copies as CLR string objects ---- */

/* Each value found as a CLR string counts once; the adders keep duplicates once and add the
 * heap location to their provenance. */
static size_t corroborate(const mc_decode_ctx *ctx, const md_dump *d, mc_config *c, const ar_out *o)
{
    uint64_t va, pva;
    size_t hits = 0;
    const ar_item *h = o->f[F_HOSTS], *p = o->f[F_PORTS];
    if (h && p && h->plain && p->plain && mc_clr_find(ctx, d, h->plain, 3, &va) && mc_clr_find(ctx, d, p->plain, 3, &pva)) {
        emit_conns(c, h->plain, p->plain, mc_at(va, MC_FORM_HEAP_DECRYPTED));
        hits++;
    }
    const ar_item *m = o->f[F_MTX], *g = o->f[F_GROUP], *v = o->f[F_VERSION];
    if (m && *value_of(m) && mc_clr_find(ctx, d, value_of(m), 3, &va)) {
        mc_cfg_str(c, MC_F_MUTEX, value_of(m), mc_at(va, MC_FORM_HEAP_DECRYPTED));
        hits++;
    }
    if (g && g->plain && *g->plain && mc_clr_find(ctx, d, g->plain, 3, &va)) {
        mc_cfg_str(c, MC_F_CAMPAIGN_ID, g->plain, mc_at(va, MC_FORM_HEAP_DECRYPTED));
        hits++;
    }
    if (v && v->plain && *v->plain && mc_clr_find(ctx, d, v->plain, 3, &va)) {
        mc_cfg_version(c, v->plain, mc_at(va, MC_FORM_HEAP_DECRYPTED));
        hits++;
    }
    return hits;
}

/* ---- one .cctor ---- */

static bool is_template(const ar_cfg *q)
{
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++)
        for (size_t k = 0; k < sizeof placeholders / sizeof placeholders[0]; k++)
            if (strcmp(q->items[i].text, placeholders[k]) == 0) { n++; break; }
    return n >= 6;
}

static void emit_template(mc_results *out, const ar_cfg *q, const char *family)
{
    mc_config *c = mc_cfg_new(out, family, q->anchor);
    if (!c) return;
    mc_cfg_category(c, "rat");
    mc_cfg_status(c, MC_STATUS_TEMPLATE, 60);
    for (size_t i = 0; i < q->n; i++)
        mc_cfg_raw_str(c, q->items[i].name[0] ? q->items[i].name : "unnamed", q->items[i].text);
    mc_cfg_warn(c, "unbuilt client: the settings are still the builder's placeholders");
}

static bool emit_config(const mc_decode_ctx *ctx, const md_dump *d, mc_results *out, ar_cfg *q,
                        const char *family)
{
    mc_config *c = mc_cfg_new(out, q->family, q->anchor);
    if (!c) return false;
    mc_cfg_category(c, "rat");
    q->by_name = map_by_name(q);
    if (!q->by_name) map_by_position(q);
    ar_out o = {0};
    for (size_t i = 0; i < q->n; i++) {
        mc_cfg_raw_str(c, q->items[i].name[0] ? q->items[i].name : "unnamed", value_of(&q->items[i]));
        emit_field(c, &q->items[i], i, &o);
    }
    emit_crypto(c, q);
    emit_install_path(c, &o);
    const ar_item *h = o.f[F_HOSTS], *p = o.f[F_PORTS];
    size_t nconn = 0;
    if (h && p && h->plain && p->plain && strcmp(h->plain, "null") != 0) {
        if (!is_host_list(h->plain) || !is_port_list(p->plain))
            mc_cfg_warn(c, "hosts or ports setting is not a host/port list; kept in raw");
        nconn = emit_conns(c, h->plain, p->plain, where_of(h));
    }
    if (!q->by_name)
        mc_cfg_warn(c, "field names not recognised; settings mapped by IL position and value shape");
    if (strcmp(q->family, family) != 0)
        mc_cfg_warn(c, "matched the %s rules; the %s salt verified the settings", family, q->family);
    size_t heap = corroborate(ctx, d, c, &o);
    int conf = 85 + 3 * (int)heap;
    bool paste = json_object_get(mc_cfg_json(c), "http") != NULL;
    mc_cfg_status(c, nconn || paste ? MC_STATUS_COMPLETE : MC_STATUS_PARTIAL, conf > 99 ? 99 : conf);
    return true;
}

static size_t decode_image(const mc_decode_ctx *ctx, const md_dump *d, const md_image *img,
                           const mc_dotnet *dn, mc_results *out, const char *family)
{
    ar_salts *s = malloc(sizeof *s);
    ar_cfg *q = malloc(sizeof *q);
    size_t found = 0;
    if (!s || !q) goto done;
    gather_salts(ctx, d, img, dn, family, s);
    uint32_t ntypes = mc_dn_rows(dn, MC_DN_T_TYPEDEF), tried = 0;
    for (uint32_t t = 1; t <= ntypes && tried < AR_MAX_CCTORS && !mc_expired(ctx); t++) {
        uint32_t m = mc_dn_find_method(dn, t, ".cctor");
        mc_dn_body b;
        if (!m || mc_dn_get_body(dn, m, &b) != MC_DN_OK) continue;
        if (collect(dn, &b, q) >= AR_MIN_STRINGS) {
            tried++;
            if (is_template(q)) { emit_template(out, q, family); found++; }
            else if (crack(ctx, d, q, s, family)) found += emit_config(ctx, d, out, q, family);
        }
        cfg_clear(q);
        mc_dn_body_free(&b);
    }
done:
    free(s);
    free(q);
    return found;
}

/* ---- heap only: the image is gone, the decrypted strings are not ---- */

/* Default mutex prefixes of the builders; a heap-only partial needs one of them. */
static const struct { const char *prefix, *family; } heap_mutexes[] = {
    {"AsyncMutex_", "asyncrat"},
    {"DcRatMutex_", "dcrat"},
};

/* A CLR string object within the window around va whose text passes `shape`. */
static bool heap_list_near(const md_dump *d, uint64_t va, bool (*shape)(const char *), char *out,
                           size_t outsz, uint64_t *obj)
{
    uint64_t lo = va > AR_HEAP_WINDOW ? va - AR_HEAP_WINDOW : 0;
    for (uint64_t p = lo & ~3ull; p < va + AR_HEAP_WINDOW; p += 4) {
        uint32_t n;
        uint8_t w[2 * 512];
        if (!md_read_u32(d, p, &n) || n < 1 || n > 512) continue;
        if (md_read(d, p + 4, w, 2ull * n) != 2ull * n) continue;
        bool ascii = true;
        for (uint32_t i = 0; i < n && ascii; i++) ascii = w[2 * i + 1] == 0 && w[2 * i] >= 0x20 && w[2 * i] < 0x7F;
        if (!ascii || !mc_clr_string_at(d, p + 4, n, obj)) continue;
        if (md_utf16le_to_utf8(w, 2ull * n, out, outsz) < 0) continue;
        if (shape(out)) return true;
    }
    return false;
}

/* Heap-only host lists: no field name vouches for them, so bare hosts only (mc_net.h). */
static bool is_heap_host_list(const char *v)
{
    char tok[AR_MAX_LIST][MC_HOST_MAX];
    size_t n = split_list(v, tok, AR_MAX_LIST);
    for (size_t i = 0; i < n; i++)
        if (!mc_is_bare_host(tok[i])) return false;
    return n > 0;
}

static void decode_heap(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                        mc_results *out, const char *family)
{
    for (size_t i = 0; i < hits->n && !mc_expired(ctx); i++) {
        const mc_hit *h = &hits->v[i];
        if (!mc_hit_is(h, "$heap_mutex")) continue;
        /* The rule matches the length's high bytes, then the chars: the text starts 2 bytes in. */
        uint64_t chars = h->va + 2, obj, hobj, pobj;
        uint32_t n;
        char mutex[256], hosts[1024], ports[1024];
        if (!md_read_u32(d, chars - 4, &n) || n < 12 || n > 100) continue;
        if (md_read_wstr_utf8(d, chars, mutex, sizeof mutex) != (long)n) continue;
        if (!mc_clr_string_at(d, chars, n, &obj)) continue;
        const char *fam = NULL;
        for (size_t k = 0; k < sizeof heap_mutexes / sizeof heap_mutexes[0]; k++)
            if (strncmp(mutex, heap_mutexes[k].prefix, strlen(heap_mutexes[k].prefix)) == 0) fam = heap_mutexes[k].family;
        if (!fam || strcmp(fam, family) != 0) continue;
        if (!heap_list_near(d, obj, is_heap_host_list, hosts, sizeof hosts, &hobj) ||
            !heap_list_near(d, obj, is_port_list, ports, sizeof ports, &pobj))
            continue;
        mc_config *c = mc_cfg_new(out, fam, obj);
        if (!c) return;
        mc_cfg_category(c, "rat");
        mc_cfg_str(c, MC_F_MUTEX, mutex, mc_at(obj, MC_FORM_HEAP_DECRYPTED));
        emit_conns(c, hosts, ports, mc_at(hobj, MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "heap_mutex", mutex);
        mc_cfg_raw_str(c, "heap_hosts", hosts);
        mc_cfg_raw_str(c, "heap_ports", ports);
        mc_cfg_warn(c, "no .NET image with a %s config found; values come from decrypted heap strings only", fam);
        mc_cfg_status(c, MC_STATUS_PARTIAL, 25);
        return;
    }
}

typedef struct ar_job {
    const mc_decode_ctx *ctx; const md_dump *d; mc_results *out; const char *family;
} ar_job;

static size_t on_image(void *arg, const md_image *img, mc_dotnet *dn)
{
    ar_job *j = arg;
    return decode_image(j->ctx, j->d, img, dn, j->out, j->family);
}

int mc_aesrat_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                     mc_results *out, const char *family)
{
    ar_job j = {ctx, d, out, family};
    if (!mc_dn_each_image(ctx, d, hits, on_image, &j)) decode_heap(ctx, d, hits, out, family);
    return 0;
}
