/* QuasarRAT (and xRAT lineage, forks): config from the Settings .cctor of the .NET image.
 *
 * The builder rewrites the ldstr operands of one static constructor, so the config is a run of
 * ldstr/stsfld items in IL order (families.md §2.1). The key string is stored in clear among
 * them. Three crypto generations exist (§2.2); the HMAC of the 1.3/1.4 blobs proves a key, and
 * for 1.0-1.2 (MD5 key, no MAC) every encrypted item must decrypt to padded, printable UTF-8.
 * A fork (§2.5) keeps a password and a salt array in Settings and derives both the AES-256 key
 * and a fixed IV with PBKDF2; its literals are bare ciphertext, so it gets the same no-MAC proof
 * plus a hosts list that parses.
 * The "1.0.00.rN" banker fork keeps its settings in clear and hardcodes its C2s in a method that
 * picks one at random; its extra strings are a table of "hexA:hexB" literals XORed with a key
 * from a .cctor. Its proof is the Settings shape (version, GUID mutex, key) plus hardcoded hosts
 * or a string table that one key decodes entirely to printable UTF-8.
 * Decrypted copies on the GC heap (CLR string objects) corroborate the static decode, and stand
 * in for it, at low confidence, when the image is gone.
 */
#include "decoder.h"
#include "lib/mc_aesrat.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_crypto.h"
#include "lib/mc_dotnet.h"
#include "lib/mc_net.h"
#include "md_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char mc_rules_quasar[];

#define QS_MAX_ITEMS 96
#define QS_MAX_TEXT 4096          /* UTF-8 bytes kept per string item */
#define QS_MAX_KEYS 8             /* key candidates tried per .cctor (each costs one PBKDF2) */
#define QS_MAX_SALTS 4
#define QS_MAX_CCTORS 64          /* .cctors with enough string items to be tried */
#define QS_MAX_METHODS 8192       /* methods scanned for AES setup hints */
#define QS_MAX_IL_TOTAL (8u << 20)
#define QS_HEAP_WINDOW 0x10000    /* bytes around a heap mutex searched for the hosts string */
#define QS_MIN_STRINGS 5
#define QS_FIXIV_ITERATIONS 1000u /* Rfc2898DeriveBytes' default count, which the fork keeps */
#define QS_BK_MAX_HOSTS 64        /* banker fork: hardcoded hosts kept per image */
#define QS_BK_MAX_RD 4            /* random-domain methods kept per image */
#define QS_BK_MAX_XOR 256         /* string-table entries kept */
#define QS_BK_MIN_CASES 8         /* `ldstr; call decode; ret` returns that make a string table */
#define QS_BK_MIN_XOR 4           /* decoded entries needed before a key counts as proven */
#define QS_BK_MAX_HALF 4096       /* hex digits per half of a hexA:hexB entry */
#define QS_BK_MAX_KEY 1024        /* bytes of a string-table key */
#define QS_BK_MAX_KEYS 8          /* key candidates tried */

/* The Quasar salt and the Aes256 derivation/verification live in lib/aesrat.c (shared with
 * AsyncRAT, DcRat, VenomRAT). */

typedef enum qs_gen { QS_GEN_NONE = 0, QS_GEN_12, QS_GEN_13, QS_GEN_14, QS_GEN_FIXIV } qs_gen;

typedef struct qs_item {
    mc_dn_item it;
    char name[256];           /* field name as found (obfuscated names stay as they are) */
    uint8_t elem;             /* field type (ELEMENT_TYPE_*), 0 when unknown */
    bool special_folder;      /* field type is Environment.SpecialFolder */
    char *text;               /* STR: the literal as UTF-8 */
    uint64_t va;              /* STR: VA of the #US entry */
    char *plain;              /* STR: decrypted value, NULL when the literal is not encrypted */
} qs_item;

typedef struct qs_hints {
    int key_bits;             /* from `ldc.i4 N; callvirt set_KeySize`, 0 when absent */
    mc_aes_mode mode;         /* from set_Mode (+ set_FeedbackSize) */
    bool have_mode;
    unsigned iterations;      /* from `ldsfld salt; ldc.i4 N; newobj`, 0 when absent */
    uint8_t salts[QS_MAX_SALTS][64];
    size_t salt_len[QS_MAX_SALTS], nsalts;
    /* banker fork (§2.5): ldstr tokens of the hosts of the random-domain methods, and the
     * string-table method (its row, decode routine and entries) */
    uint32_t rd_host[QS_BK_MAX_HOSTS];
    size_t nrd_host, nrd;
    uint32_t xd_row, xd_callee, xd_tok[QS_BK_MAX_XOR];
    size_t nxd;
} qs_hints;

typedef struct qs_cfg {
    qs_item items[QS_MAX_ITEMS];
    size_t n, nstr;
    uint64_t anchor;
    int key_idx;              /* item index of the key string, -1 none */
    qs_gen gen;
    mc_aes_mode mode;
    uint8_t key[32];
    size_t key_len;
    uint8_t iv[16];           /* QS_GEN_FIXIV: the IV derived with the key */
    const uint8_t *salt;
    size_t salt_len;
    unsigned iterations;
} qs_cfg;

/* ---- small helpers ---- */

static void cfg_free_items(qs_cfg *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].text);
        free(q->items[i].plain);
    }
    q->n = q->nstr = 0;
}

static bool is_printable_utf8(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') return false;
    return true;
}

static bool all_match(const char *s, int (*pred)(int), size_t want)
{
    size_t n = strlen(s);
    if (want && n != want) return false;
    for (size_t i = 0; i < n; i++)
        if (!pred((unsigned char)s[i])) return false;
    return n > 0;
}

static int is_upper_hex(int c) { return isdigit(c) || (c >= 'A' && c <= 'F'); }

/* Decoded blob of a base64 literal of at least min bytes, or -1 when the literal is not one. */
static long b64_blob_min(const char *text, long min, uint8_t **out)
{
    size_t len = strlen(text);
    *out = NULL;
    if (len < 24 || !mc_is_b64(text, len, 24)) return -1;
    uint8_t *b = malloc(3 * (len / 4) + 3);
    if (!b) return -1;
    long n = mc_b64_decode(text, len, b);
    if (n < min) { free(b); return -1; }
    *out = b;
    return n;
}

/* Every generation but the fixed-IV fork puts a 16- or 48-byte header before the ciphertext. */
static long b64_blob(const char *text, uint8_t **out) { return b64_blob_min(text, 32, out); }

/* Decoded blob of a literal shaped like an encrypted item of q's generation, or -1. */
static long gen_blob(const qs_cfg *q, const char *text, uint8_t **out)
{
    if (q->gen != QS_GEN_FIXIV) return b64_blob(text, out);
    long n = b64_blob_min(text, 16, out);
    if (n >= 0 && n % 16 != 0) { free(*out); *out = NULL; return -1; }
    return n;
}

static bool is_hosts_shape(const char *s)
{
    return strchr(s, ':') && s[strlen(s) - 1] == ';';
}

/* A `host:port;...` list whose first entry is a valid host and port. */
static bool hosts_parse(const char *s)
{
    if (!is_hosts_shape(s)) return false;
    char host[MC_HOST_MAX], first[512];
    long port;
    size_t fl = (size_t)(strchr(s, ';') - s);
    if (fl >= sizeof first) return false;
    memcpy(first, s, fl);
    first[fl] = 0;
    return mc_split_hostport(first, host, sizeof host, &port) && port > 0 && mc_is_host(host);
}

/* ---- AES setup hints from the IL of every method ---- */

static void hint_from_call(qs_hints *h, const char *callee, const mc_dn_insn *prev)
{
    int32_t v;
    if (prev->op >= 0x15 && prev->op <= 0x1E) v = (int32_t)prev->op - 0x16;
    else if (prev->op == 0x1F || prev->op == 0x20) v = (int32_t)prev->arg;
    else return;
    if (strcmp(callee, "set_KeySize") == 0 && (v == 128 || v == 192 || v == 256)) h->key_bits = v;
    else if (strcmp(callee, "set_Mode") == 0) {
        /* CipherMode: 1 CBC, 2 ECB, 4 CFB (8-bit feedback unless set_FeedbackSize says 128). */
        if (v == 1) { h->mode = MC_AES_CBC; h->have_mode = true; }
        else if (v == 4) { h->mode = MC_AES_CFB8; h->have_mode = true; }
    } else if (strcmp(callee, "set_FeedbackSize") == 0 && v == 128 && h->mode == MC_AES_CFB8)
        h->mode = MC_AES_CFB128;
}

static void hints_from_body(const mc_dotnet *dn, const mc_dn_body *b, qs_hints *h)
{
    mc_dn_insn prev2 = {0}, prev = {0}, in;
    uint32_t pos = 0;
    while (mc_dn_next_insn(b->code, b->len, &pos, &in)) {
        if ((in.op == 0x6F || in.op == 0x28) && ((uint32_t)in.arg >> 24) == 0x0A)
            hint_from_call(h, mc_dn_memberref_name(dn, (uint32_t)in.arg & 0xFFFFFF), &prev);
        /* ldsfld salt; ldc.i4 N; newobj Rfc2898DeriveBytes */
        if (in.op == 0x73 && prev.op == 0x20 && prev2.op == 0x7E && prev.arg >= 1000 &&
            prev.arg <= 10000000 &&
            strcmp(mc_dn_memberref_name(dn, (uint32_t)in.arg & 0xFFFFFF), ".ctor") == 0)
            h->iterations = (unsigned)prev.arg;
        prev2 = prev;
        prev = in;
    }
}

static void hint_salts(const mc_dotnet *dn, const mc_dn_item *items, size_t n, qs_hints *h)
{
    for (size_t i = 0; i < n && h->nsalts < QS_MAX_SALTS; i++) {
        if (items[i].kind != MC_DN_ITEM_BYTES || items[i].ival < 8 || items[i].ival > 64) continue;
        size_t len = (size_t)items[i].ival;
        uint8_t *dst = h->salts[h->nsalts];
        if (mc_dn_field_data(dn, items[i].data_field, dst, len, NULL) != MC_DN_OK) continue;
        if (len == sizeof mc_aesrat_quasar_salt && memcmp(dst, mc_aesrat_quasar_salt, len) == 0) continue;
        h->salt_len[h->nsalts++] = len;
    }
}

/* ---- banker fork ("1.0.00.rN", families.md §2.5): code shapes ---- */

static bool is_stloc(uint16_t op) { return (op >= 0x0A && op <= 0x0D) || op == 0x13 || op == 0xFE0E; }

static bool is_mref(const mc_dn_insn *in) { return ((uint32_t)in->arg >> 24) == 0x0A; }

static bool mref_is(const mc_dotnet *dn, const mc_dn_insn *in, const char *cls, const char *name)
{
    if (!is_mref(in)) return false;
    uint32_t row = (uint32_t)in->arg & 0xFFFFFF;
    const char *ns;
    if (strcmp(mc_dn_memberref_name(dn, row), name) != 0) return false;
    return !cls || (strcmp(mc_dn_memberref_class(dn, row, &ns), cls) == 0 && strcmp(ns, "System") == 0);
}

/* The random-domain method: `new Random()`, host literals added to a list (`ldstr; callvirt
 * Add`), then `list.Count` into `random.Next` stored to a local. Roslyn gives newobj, newobj, dup,
 * (ldstr, callvirt Add)*, stloc.0, ldloc.0, callvirt, callvirt, stloc.1 (the byte pattern of
 * §2.5); mcs keeps the list in a temporary, so the instructions, not the bytes, are matched. The
 * ldstr tokens added before the pick go to h->rd_host. */
static void random_domain(const mc_dotnet *dn, const mc_dn_body *b, qs_hints *h)
{
    mc_dn_insn prev2 = {0}, prev = {0}, in;
    uint32_t pos = 0, tok[QS_BK_MAX_HOSTS];
    size_t n = 0;
    bool rnd = false;
    while (mc_dn_next_insn(b->code, b->len, &pos, &in)) {
        if (in.op == 0x73 && mref_is(dn, &in, "Random", ".ctor")) rnd = true;
        else if ((in.op == 0x6F || in.op == 0x28) && prev.op == 0x72 && n < QS_BK_MAX_HOSTS &&
                 mref_is(dn, &in, NULL, "Add"))
            tok[n++] = (uint32_t)prev.arg;
        else if (is_stloc(in.op) && prev.op == 0x6F && prev2.op == 0x6F &&
                 mref_is(dn, &prev, "Random", "Next") && mref_is(dn, &prev2, NULL, "get_Count")) {
            if (!rnd || n == 0) return;
            for (size_t i = 0; i < n && h->nrd_host < QS_BK_MAX_HOSTS; i++) h->rd_host[h->nrd_host++] = tok[i];
            h->nrd++;
            return;
        }
        prev2 = prev;
        prev = in;
    }
}

/* The string table: a method returning `Decode("hexA:hexB")` for each id, i.e. at least
 * QS_BK_MIN_CASES `ldstr; call <MethodDef>; ret` with one callee (Roslyn's if-chain, mcs's long
 * branches and a switch all give this). */
static void string_table(const mc_dn_body *b, uint32_t row, qs_hints *h)
{
    uint32_t callee[4] = {0}, count[4] = {0}, best = 0;
    for (int pass = 0; pass < 2; pass++) {
        mc_dn_insn p2 = {0}, p1 = {0}, in;
        uint32_t pos = 0;
        while (mc_dn_next_insn(b->code, b->len, &pos, &in)) {
            if (in.op == 0x2A && p1.op == 0x28 && p2.op == 0x72 && ((uint32_t)p1.arg >> 24) == 0x06) {
                uint32_t c = (uint32_t)p1.arg;
                if (pass == 1) {
                    if (c == best && h->nxd < QS_BK_MAX_XOR) h->xd_tok[h->nxd++] = (uint32_t)p2.arg;
                } else {
                    for (int k = 0; k < 4; k++)
                        if (callee[k] == c || callee[k] == 0) { callee[k] = c; count[k]++; break; }
                }
            }
            p2 = p1;
            p1 = in;
        }
        if (pass == 0) {
            uint32_t most = 0;
            for (int k = 0; k < 4; k++)
                if (count[k] > most) { most = count[k]; best = callee[k]; }
            if (most < QS_BK_MIN_CASES) return;
            h->xd_row = row;
            h->xd_callee = best;
            h->nxd = 0;
        }
    }
}

static void gather_hints(const mc_decode_ctx *ctx, const mc_dotnet *dn, qs_hints *h)
{
    uint32_t n = mc_dn_rows(dn, MC_DN_T_METHODDEF);
    uint64_t total = 0;
    if (n > QS_MAX_METHODS) n = QS_MAX_METHODS;
    for (uint32_t r = 1; r <= n && total < QS_MAX_IL_TOTAL && !mc_expired(ctx); r++) {
        mc_dn_body b;
        if (mc_dn_get_body(dn, r, &b) != MC_DN_OK) continue;
        total += b.len;
        hints_from_body(dn, &b, h);
        if (h->nrd < QS_BK_MAX_RD) random_domain(dn, &b, h);
        if (!h->xd_row) string_table(&b, r, h);
        mc_dn_method m;
        if (mc_dn_get_method(dn, r, &m) == MC_DN_OK && strcmp(m.name, ".cctor") == 0) {
            mc_dn_item items[32];
            size_t k = mc_dn_scan_items(b.code, b.len, items, 32);
            hint_salts(dn, items, k, h);
        }
        mc_dn_body_free(&b);
    }
}

/* ---- collecting the items of one .cctor ---- */

static void resolve_item(const mc_dotnet *dn, qs_item *q)
{
    mc_dn_field f;
    const char *tname = "";
    if (mc_dn_get_field(dn, q->it.field, &f) == MC_DN_OK) strlcpy(q->name, f.name, sizeof q->name);
    if (mc_dn_field_type(dn, q->it.field, &q->elem, &tname) == MC_DN_OK)
        q->special_folder = q->elem == 0x11 && strcmp(tname, "SpecialFolder") == 0;
    q->text = mc_dn_item_text(dn, &q->it, QS_MAX_TEXT, &q->va);
}

static size_t collect(const mc_dotnet *dn, const mc_dn_body *b, qs_cfg *q)
{
    mc_dn_item raw[QS_MAX_ITEMS];
    size_t n = mc_dn_scan_items(b->code, b->len, raw, QS_MAX_ITEMS);
    memset(q, 0, sizeof *q);
    q->key_idx = -1;
    q->anchor = b->va;
    for (size_t i = 0; i < n; i++) {
        qs_item *it = &q->items[q->n];
        it->it = raw[i];
        resolve_item(dn, it);
        if (it->it.kind == MC_DN_ITEM_STR && !it->text) continue;  /* bad #US token: skip */
        if (it->it.kind == MC_DN_ITEM_STR) q->nstr++;
        q->n++;
    }
    return q->nstr;
}

/* ---- crypto ---- */

/* Decrypt one literal under the chosen generation; returns a NUL-terminated string or NULL. */
static char *decrypt_item(const qs_cfg *q, const char *text, const uint8_t *hmac_key, size_t hk_len,
                          mc_aes_mode mode)
{
    uint8_t *blob;
    long n = gen_blob(q, text, &blob);
    if (n < 0) return NULL;
    char *res = malloc((size_t)n + 1);
    size_t outlen = 0;
    bool ok = false;
    if (res && q->gen == QS_GEN_FIXIV)
        ok = mc_aes_decrypt(mode, q->key, q->key_len, q->iv, blob, (size_t)n, true, (uint8_t *)res,
                            &outlen);
    else if (res && q->gen == QS_GEN_12)
        ok = (size_t)n > 16 && ((size_t)n - 16) % 16 == 0 &&
             mc_aes_decrypt(mode, q->key, q->key_len, blob, blob + 16, (size_t)n - 16, true,
                            (uint8_t *)res, &outlen);
    else if (res)
        ok = mc_aesrat_open(q->key, q->key_len, hmac_key, hk_len, mode, blob, (size_t)n,
                            (uint8_t *)res, &outlen);
    if (ok && (!is_printable_utf8((uint8_t *)res, outlen) || memchr(res, 0, outlen))) ok = false;
    if (ok) res[outlen] = 0;
    else { free(res); res = NULL; }
    free(blob);
    return res;
}

static const mc_aes_mode mode_order[3] = {MC_AES_CBC, MC_AES_CFB8, MC_AES_CFB128};

static bool has_mac(const qs_cfg *q) { return q->gen == QS_GEN_13 || q->gen == QS_GEN_14; }

/* Decrypt every encrypted literal; for the MAC-less generations all of them must decrypt. */
static size_t decrypt_all(qs_cfg *q, const uint8_t *hk, size_t hk_len, const qs_hints *h)
{
    size_t best = 0;
    for (int t = -1; t < 3; t++) {
        mc_aes_mode mode;
        if (t < 0) { if (!h->have_mode) continue; mode = h->mode; }
        else mode = mode_order[t];
        size_t ok = 0, enc = 0;
        for (size_t i = 0; i < q->n; i++) {
            qs_item *it = &q->items[i];
            if (it->it.kind != MC_DN_ITEM_STR || (int)i == q->key_idx) continue;
            uint8_t *blob;
            long bn = gen_blob(q, it->text, &blob);
            free(blob);
            if (bn < 0) continue;
            enc++;
            free(it->plain);
            it->plain = decrypt_item(q, it->text, hk, hk_len, mode);
            if (it->plain) ok++;
        }
        if (ok > 0 && (has_mac(q) || ok == enc)) { q->mode = mode; return ok; }
        if (ok > best) best = ok;
    }
    for (size_t i = 0; i < q->n; i++) { free(q->items[i].plain); q->items[i].plain = NULL; }
    return 0;
}

/* The first literal shaped like an encrypted blob of the generation, or NULL. */
static const char *probe_blob(const qs_cfg *q, size_t hdr)
{
    for (size_t i = 0; i < q->n; i++) {
        const qs_item *it = &q->items[i];
        uint8_t *b;
        if (it->it.kind != MC_DN_ITEM_STR) continue;
        long n = b64_blob(it->text, &b);
        free(b);
        if (n > (long)hdr && (n - (long)hdr) % 16 == 0) return it->text;
    }
    return NULL;
}

typedef struct qs_try { qs_cfg *q; const qs_hints *h; const mc_aesrat_salt *salts; unsigned iters; } qs_try;

static bool qs_accept(void *arg, size_t s, const uint8_t *key, size_t kl, const uint8_t *auth)
{
    qs_try *t = arg;
    qs_cfg *q = t->q;
    q->gen = kl == 32 ? QS_GEN_14 : QS_GEN_13;
    memcpy(q->key, key, kl);
    q->key_len = kl;
    q->salt = t->salts[s].salt;
    q->salt_len = t->salts[s].len;
    q->iterations = t->iters;
    return decrypt_all(q, auth, 64, t->h) > 0;
}

/* Keys from the heap when a live client holds them, else PBKDF2 (lib/aesrat.c). pw NULL: only
 * whether heap keys open the probe (then it is a MAC'd 1.3/1.4 blob). */
static bool try_pbkdf(const mc_decode_ctx *ctx, const md_dump *d, qs_cfg *q, const char *pw,
                      const qs_hints *h, const char *probe)
{
    mc_aesrat_salt salts[1 + QS_MAX_SALTS] = {{NULL, mc_aesrat_quasar_salt, sizeof mc_aesrat_quasar_salt}};
    for (size_t s = 0; s < h->nsalts; s++) salts[1 + s] = (mc_aesrat_salt){NULL, h->salts[s], h->salt_len[s]};
    /* PBKDF2 output is a prefix-stable stream: 1.4 reads 32+64 bytes, 1.3 reads 16+64. */
    size_t kl[2] = {32, 16};
    if (h->key_bits == 128) { kl[0] = 16; kl[1] = 32; }
    uint8_t *blob;
    long n = b64_blob(probe, &blob);
    qs_try t = {q, h, salts, h->iterations ? h->iterations : MC_AESRAT_ITERATIONS};
    bool ok = n >= 64 && (pw ? mc_aesrat_find_keys(ctx, d, pw, strlen(pw), salts, 1 + h->nsalts, t.iters,
                                                   kl, 2, blob, (size_t)n, qs_accept, &t)
                             : mc_aesrat_heap_opens(ctx, d, kl, 2, blob, (size_t)n));
    free(blob);
    return ok;
}

static bool try_md5(qs_cfg *q, const char *pw, const qs_hints *h)
{
    q->gen = QS_GEN_12;
    mc_md5(pw, strlen(pw), q->key);
    q->key_len = 16;
    q->salt = NULL;
    q->salt_len = 0;
    q->iterations = 0;
    /* Without a MAC, demand at least three encrypted literals that all decrypt. */
    size_t ok = decrypt_all(q, NULL, 0, h);
    if (ok >= 3) return true;
    for (size_t i = 0; i < q->n; i++) { free(q->items[i].plain); q->items[i].plain = NULL; }
    q->gen = QS_GEN_NONE;
    return false;
}

static void drop_plains(qs_cfg *q)
{
    for (size_t i = 0; i < q->n; i++) { free(q->items[i].plain); q->items[i].plain = NULL; }
}

static bool plain_hosts(const qs_cfg *q)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i].plain && hosts_parse(q->items[i].plain)) return true;
    return false;
}

/* The fixed-IV fork: dk = PBKDF2-SHA1(password, salt, 48); key dk[0:32], IV dk[32:48]. The salt
 * comes from the IL (the Quasar salt too, for a fork that kept it); the count is the .NET
 * default unless the IL passes one. */
static bool try_fixed_iv(const mc_decode_ctx *ctx, qs_cfg *q, const char *pw, const qs_hints *h)
{
    uint8_t dk[MC_AESRAT_DK_LEN];
    unsigned iters[2] = {QS_FIXIV_ITERATIONS, h->iterations};
    q->gen = QS_GEN_FIXIV;
    q->key_len = 32;
    for (size_t s = 0; s <= h->nsalts; s++) {
        const uint8_t *salt = s == 0 ? mc_aesrat_quasar_salt : h->salts[s - 1];
        size_t salt_len = s == 0 ? sizeof mc_aesrat_quasar_salt : h->salt_len[s - 1];
        for (int k = 0; k < 2; k++) {
            if (!iters[k] || (k == 1 && iters[1] == iters[0])) continue;
            if (!mc_aesrat_derive_ctx(ctx, pw, strlen(pw), salt, salt_len, iters[k], dk)) continue;
            memcpy(q->key, dk, 32);
            memcpy(q->iv, dk + 32, 16);
            q->salt = salt;
            q->salt_len = salt_len;
            q->iterations = iters[k];
            /* No MAC: at least three literals, all decrypting, and a hosts list that parses. */
            if (decrypt_all(q, NULL, 0, h) >= 3 && plain_hosts(q)) return true;
            drop_plains(q);
        }
    }
    q->gen = QS_GEN_NONE;
    return false;
}

/* Key candidates: plain literals, the field named ENCRYPTIONKEY first, then the thumbprint shape,
 * then 20-char alphanumerics. */
static size_t key_candidates(const qs_cfg *q, int *idx)
{
    size_t n = 0;
    for (int pass = -1; pass < 3; pass++)
        for (size_t i = 0; i < q->n && n < QS_MAX_KEYS; i++) {
            const qs_item *it = &q->items[i];
            if (it->it.kind != MC_DN_ITEM_STR || !it->text[0] || strlen(it->text) > 128) continue;
            bool hex40 = all_match(it->text, is_upper_hex, 40);
            bool alnum20 = all_match(it->text, isalnum, 20);
            uint8_t *b;
            long bn = b64_blob_min(it->text, 16, &b);
            free(b);
            bool blobby = bn >= 16 && bn % 16 == 0;
            bool named = strcmp(it->name, "ENCRYPTIONKEY") == 0 && !blobby;
            if ((pass == -1 && named) || (!named && ((pass == 0 && hex40) || (pass == 1 && alnum20 && !hex40) ||
                (pass == 2 && !hex40 && !alnum20 && !blobby))))
                idx[n++] = (int)i;
        }
    return n;
}

static bool crack(const mc_decode_ctx *ctx, const md_dump *d, qs_cfg *q, const qs_hints *h)
{
    int cand[QS_MAX_KEYS];
    size_t nc = key_candidates(q, cand);
    const char *probe48 = probe_blob(q, 48), *probe16 = probe_blob(q, 16);
    /* A probe that heap keys open is a MAC'd 1.3/1.4 blob: the MAC-less schemes are not tried. */
    bool mac = probe48 && try_pbkdf(ctx, d, q, NULL, h, probe48);
    for (size_t i = 0; i < nc && !mc_expired(ctx); i++) {
        const char *pw = q->items[cand[i]].text;
        q->key_idx = cand[i];
        if (probe48 && try_pbkdf(ctx, d, q, pw, h, probe48)) return true;
        if (!mac && probe16 && try_md5(q, pw, h)) return true;
        if (!mac && try_fixed_iv(ctx, q, pw, h)) return true;
    }
    q->key_idx = -1;
    q->gen = QS_GEN_NONE;
    return false;
}

/* ---- field schema (families.md §2.3) ---- */

static const char *const schema14[] = {"VERSION", "HOSTS", "SUBDIRECTORY", "INSTALLNAME", "MUTEX",
    "STARTUPKEY", "ENCRYPTIONKEY", "TAG", "LOGDIRECTORYNAME", "SERVERSIGNATURE",
    "SERVERCERTIFICATESTR"};
static const char *const schema13[] = {"VERSION", "HOSTS", "KEY", "AUTHKEY", "SUBDIRECTORY",
    "INSTALLNAME", "MUTEX", "STARTUPKEY", "ENCRYPTIONKEY", "TAG", "LOGDIRECTORYNAME"};
static const char *const schema12[] = {"VERSION", "HOSTS", "PASSWORD", "SUBDIRECTORY", "INSTALLNAME",
    "MUTEX", "STARTUPKEY", "ENCRYPTIONKEY", "TAG", "LOGDIRECTORYNAME"};
static const char *const bools14[] = {"install", "startup", "hide_file", "enable_logger",
    "hide_log_directory", "hide_install_subdirectory", "unattended_mode"};

/* Canonical name of a string item by its position among the string items. */
static const char *canon_name(const qs_cfg *q, size_t pos, bool aligned)
{
    if (!aligned) return NULL;
    if (q->gen == QS_GEN_14 || q->gen == QS_GEN_FIXIV) return pos < 11 ? schema14[pos] : NULL;
    if (q->gen == QS_GEN_13) return pos < 11 ? schema13[pos] : NULL;
    return pos < 10 ? schema12[pos] : NULL;
}

static bool schema_aligned(const qs_cfg *q)
{
    size_t key_pos = q->gen == QS_GEN_14 || q->gen == QS_GEN_FIXIV ? 6 : q->gen == QS_GEN_13 ? 8 : 7;
    size_t pos = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (q->items[i].it.kind != MC_DN_ITEM_STR) continue;
        if ((int)i == q->key_idx) return pos == key_pos;
        pos++;
    }
    return false;
}

static bool is_guid(const char *s)
{
    if (strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return true;
}

static bool is_version(const char *s)
{
    return isdigit((unsigned char)s[0]) && strchr(s, '.') && strlen(s) < 32;
}

static const char *folder_env(int id)
{
    switch (id) {
    case 26: return "%APPDATA%";
    case 28: return "%LOCALAPPDATA%";
    case 35: return "%PROGRAMDATA%";
    case 37: return "%WINDIR%\\System32";
    case 38: return "%PROGRAMFILES%";
    case 40: return "%USERPROFILE%";
    default: return NULL;
    }
}

/* ---- emitting ---- */

typedef struct qs_out {
    const char *hosts, *mutex, *tag, *version, *subdir, *install, *startup;
    uint64_t hosts_va, mutex_va, tag_va, version_va, subdir_va, install_va, startup_va;
    int folder;
    bool plain;               /* the settings are stored in clear (banker fork) */
} qs_out;

static void emit_hosts(mc_config *c, const char *hosts, mc_where w)
{
    char one[512];
    const char *p = hosts;
    while (*p) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (len > 0 && len < sizeof one) {
            memcpy(one, p, len);
            one[len] = 0;
            mc_cfg_hostport(c, one, -1, "c2", w);
        }
        if (!semi) break;
        p = semi + 1;
    }
}

static void emit_crypto(mc_config *c, const qs_cfg *q)
{
    const qs_item *k = &q->items[q->key_idx];
    static const char *const algs[2][3] = {{"AES-128-CBC", "AES-128-CFB8", "AES-128-CFB"},
                                           {"AES-256-CBC", "AES-256-CFB8", "AES-256-CFB"}};
    int m = q->mode == MC_AES_CBC ? 0 : q->mode == MC_AES_CFB8 ? 1 : 2;
    mc_crypto e = {
        .algorithm = algs[q->key_len == 32][m],
        .mode = m == 0 ? "CBC" : "CFB",
        .key = q->key, .key_len = q->key_len,
        .iv = q->gen == QS_GEN_FIXIV ? q->iv : NULL, .iv_len = q->gen == QS_GEN_FIXIV ? 16 : 0,
        .salt = q->salt, .salt_len = q->salt_len,
        .password = k->text,
        .usage = "config",
    };
    mc_cfg_encryption(c, &e, mc_at(k->va, MC_FORM_PLAINTEXT));
    mc_cfg_str(c, MC_F_PASSWORD, k->text, mc_at(k->va, MC_FORM_PLAINTEXT));
    mc_cfg_other(c, "key_derivation", json_string(q->gen == QS_GEN_12 ? "MD5" : "PBKDF2-HMAC-SHA1"),
                 mc_at(k->va, MC_FORM_PLAINTEXT));
    if (q->iterations) mc_cfg_other(c, "kdf_iterations", json_integer(q->iterations), mc_at(0, MC_FORM_PLAINTEXT));
    mc_cfg_other(c, "integrity", json_string(has_mac(q) ? "HMAC-SHA256" : "none"),
                 mc_at(0, MC_FORM_PLAINTEXT));
}

static void emit_string(mc_config *c, const qs_item *it, const char *canon,
                        size_t pos, qs_out *o)
{
    const char *v = it->plain ? it->plain : it->text;
    mc_where w = mc_at(it->va, it->plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT);
    mc_cfg_raw_str(c, it->name[0] ? it->name : "unnamed", v);
    if (!canon) {
        /* Unaligned build: fall back to value shapes for the fields that matter. */
        if (it->plain && !o->hosts && is_hosts_shape(v)) canon = "HOSTS";
        else if (it->plain && !o->mutex && (strncmp(v, "QSR_MUTEX_", 10) == 0 || is_guid(v))) canon = "MUTEX";
        else if (it->plain && !o->version && is_version(v)) canon = "VERSION";
    }
    if (!canon) {
        char key[32];
        if (!*v) return;
        snprintf(key, sizeof key, "string_%zu", pos);
        mc_cfg_other(c, key, mc_json_str(v), w);
        return;
    }
#define SET(f) do { o->f = v; o->f##_va = it->va; } while (0)
    if (strcmp(canon, "VERSION") == 0) { SET(version); if (*v) mc_cfg_version(c, v, w); }
    else if (strcmp(canon, "HOSTS") == 0) { SET(hosts); emit_hosts(c, v, w); }
    else if (strcmp(canon, "MUTEX") == 0) { SET(mutex); if (*v) mc_cfg_str(c, MC_F_MUTEX, v, w); }
    else if (strcmp(canon, "TAG") == 0) { SET(tag); if (*v) mc_cfg_str(c, MC_F_CAMPAIGN_ID, v, w); }
    else if (strcmp(canon, "SUBDIRECTORY") == 0) SET(subdir);
    else if (strcmp(canon, "INSTALLNAME") == 0) SET(install);
    else if (strcmp(canon, "STARTUPKEY") == 0) SET(startup);
    else if (strcmp(canon, "PASSWORD") == 0) { if (*v) mc_cfg_str(c, MC_F_PASSWORD, v, w); }
    else if (strcmp(canon, "ENCRYPTIONKEY") == 0) return;
    else if (strcmp(canon, "KEY") == 0 && *v) {
        uint8_t k[64];
        long kn = strlen(v) < 80 ? mc_b64_decode(v, strlen(v), k) : -1;
        if (kn == 16 || kn == 32) {
            mc_crypto e = {.algorithm = kn == 16 ? "AES-128-CBC" : "AES-256-CBC", .mode = "CBC",
                           .key = k, .key_len = (size_t)kn, .usage = "communication"};
            mc_cfg_encryption(c, &e, w);
        } else mc_cfg_other(c, "key", mc_json_str(v), w);
    } else if (strcmp(canon, "AUTHKEY") == 0) { if (*v) mc_cfg_other(c, "auth_key", mc_json_str(v), w); }
    else if (strcmp(canon, "LOGDIRECTORYNAME") == 0) { if (*v) mc_cfg_other(c, "log_directory_name", mc_json_str(v), w); }
    else if (strcmp(canon, "SERVERSIGNATURE") == 0) { if (*v) mc_cfg_other(c, "server_signature", mc_json_str(v), w); }
    else if (strcmp(canon, "SERVERCERTIFICATESTR") == 0) { if (*v) mc_cfg_other(c, "server_certificate", mc_json_str(v), w); }
#undef SET
}

static void emit_scalars(mc_config *c, const qs_cfg *q, qs_out *o)
{
    size_t nb = 0;
    bool have_delay = false;
    for (size_t i = 0; i < q->n; i++) {
        const qs_item *it = &q->items[i];
        if (it->it.kind != MC_DN_ITEM_INT) continue;
        const char *name = it->name[0] ? it->name : "unnamed";
        mc_where w = mc_at(q->anchor + it->it.il_off, MC_FORM_PLAINTEXT);
        bool is_bool = it->elem == 0x02 || (it->elem == 0 && it->it.int_form == 0 && (it->it.ival == 0 || it->it.ival == 1));
        if (it->special_folder || (it->elem == 0 && it->it.int_form == 1 && folder_env(it->it.ival))) {
            o->folder = it->it.ival;
            mc_cfg_other(c, "special_folder", json_integer(it->it.ival), w);
            mc_cfg_raw(c, name, json_integer(it->it.ival));
        } else if (is_bool) {
            if (nb < sizeof bools14 / sizeof bools14[0])
                mc_cfg_other(c, bools14[nb], json_boolean(it->it.ival != 0), w);
            nb++;
            mc_cfg_raw(c, name, json_boolean(it->it.ival != 0));
        } else if ((it->elem == 0x08 || it->elem == 0) && !have_delay && it->it.ival > 0) {
            have_delay = true;
            mc_cfg_sleep_ms(c, it->it.ival, w);
            mc_cfg_raw(c, name, json_integer(it->it.ival));
        }
    }
}

static void emit_paths(mc_config *c, const qs_out *o)
{
    char buf[1024];
    const char *root = folder_env(o->folder);
    mc_form form = o->plain ? MC_FORM_PLAINTEXT : MC_FORM_IMAGE_ENCRYPTED;
    if (o->install && *o->install) {
        snprintf(buf, sizeof buf, "%s%s%s%s%s", root ? root : "", root ? "\\" : "",
                 o->subdir && *o->subdir ? o->subdir : "", o->subdir && *o->subdir ? "\\" : "",
                 o->install);
        mc_cfg_path(c, buf, "install", mc_at(o->install_va, form));
    }
    if (o->startup && *o->startup) {
        snprintf(buf, sizeof buf, "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\%s", o->startup);
        mc_cfg_registry(c, buf, "persistence", mc_at(o->startup_va, form));
    }
}

/* ---- GC heap: decrypted copies as CLR string objects ---- */

static size_t corroborate(const mc_decode_ctx *ctx, const md_dump *d, mc_config *c, const qs_out *o)
{
    uint64_t va;
    size_t hits = 0;
    if (o->hosts && mc_clr_find(ctx, d, o->hosts, 4, &va)) { emit_hosts(c, o->hosts, mc_at(va, MC_FORM_HEAP_DECRYPTED)); hits++; }
    if (o->mutex && mc_clr_find(ctx, d, o->mutex, 4, &va)) { mc_cfg_str(c, MC_F_MUTEX, o->mutex, mc_at(va, MC_FORM_HEAP_DECRYPTED)); hits++; }
    if (o->tag && mc_clr_find(ctx, d, o->tag, 4, &va)) { mc_cfg_str(c, MC_F_CAMPAIGN_ID, o->tag, mc_at(va, MC_FORM_HEAP_DECRYPTED)); hits++; }
    if (o->version && mc_clr_find(ctx, d, o->version, 4, &va)) { mc_cfg_version(c, o->version, mc_at(va, MC_FORM_HEAP_DECRYPTED)); hits++; }
    return hits;
}

/* ---- banker fork ("1.0.00.rN"): settings in clear, hardcoded C2s, a XOR string table ---- */

/* The Quasar 1.0 string settings without HOSTS, in IL order (used when the names are gone). */
static const char *const schema_bk[] = {"VERSION", "PASSWORD", "SUBFOLDER", "INSTALLNAME", "MUTEX",
    "STARTUPKEY", "ENCRYPTIONKEY", "TAG"};
#define QS_BK_FIELDS (sizeof schema_bk / sizeof schema_bk[0])
enum { BK_VERSION = 0, BK_MUTEX = 4, BK_KEY = 6, BK_TAG = 7 };

static bool is_template(const qs_cfg *q);

typedef struct qs_bk_str {
    char *text;
    uint64_t va;              /* #US entry */
    size_t idx;               /* position in the string table */
} qs_bk_str;

typedef struct qs_banker {
    qs_bk_str host[QS_BK_MAX_HOSTS];
    size_t nhost;
    qs_bk_str xs[QS_BK_MAX_XOR];
    size_t nxs, nbad;         /* decoded entries; entries that are not a hexA:hexB pair */
    char *key;                /* the string-table key that decoded every pair */
    uint64_t key_va;
    int canon[QS_MAX_ITEMS];  /* schema_bk index of each Settings item, -1 none */
} qs_banker;

static void bk_free(qs_banker *bk)
{
    for (size_t i = 0; i < bk->nhost; i++) free(bk->host[i].text);
    for (size_t i = 0; i < bk->nxs; i++) free(bk->xs[i].text);
    free(bk->key);
    free(bk);
}

/* The hardcoded hosts that parse as host:port (the method's other literals, such as ".", not). */
static void bk_hosts(const mc_dotnet *dn, const qs_hints *h, qs_banker *bk)
{
    for (size_t i = 0; i < h->nrd_host && bk->nhost < QS_BK_MAX_HOSTS; i++) {
        char t[512], host[MC_HOST_MAX];
        long port;
        uint64_t va;
        if (mc_dn_us_utf8(dn, h->rd_host[i], t, sizeof t, &va) != MC_DN_OK) continue;
        if (!mc_split_hostport(t, host, sizeof host, &port) || port <= 0 || !mc_is_host(host)) continue;
        bool dup = false;
        for (size_t k = 0; k < bk->nhost && !dup; k++) dup = strcmp(bk->host[k].text, t) == 0;
        char *copy = dup ? NULL : strdup(t);
        if (copy) bk->host[bk->nhost++] = (qs_bk_str){copy, va, i};
    }
}

/* Half length of a "hexA:hexB" entry (equal, even, non-zero hex lengths), 0 when not one. */
static size_t pair_half(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon) return 0;
    size_t a = (size_t)(colon - s), b = strlen(colon + 1);
    if (a == 0 || a != b || a % 2 || a > QS_BK_MAX_HALF) return 0;
    for (size_t i = 0; i < a; i++)
        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)colon[1 + i])) return 0;
    return a;
}

static uint8_t hexval(char c) { return (uint8_t)(isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10)); }

/* out[i] = B[i] ^ A[i] ^ key[i % kl], kept only when it is printable UTF-8 (malloc'd). */
static char *xor_pair(const char *s, size_t half, const uint8_t *key, size_t kl)
{
    const char *a = s, *b = s + half + 1;
    size_t n = half / 2;
    char *o = malloc(n + 1);
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++)
        o[i] = (char)(((hexval(b[2 * i]) << 4) | hexval(b[2 * i + 1])) ^
                      ((hexval(a[2 * i]) << 4) | hexval(a[2 * i + 1])) ^ key[i % kl]);
    o[n] = 0;
    json_t *utf8 = is_printable_utf8((const uint8_t *)o, n) && !memchr(o, 0, n) ? json_stringn(o, n) : NULL;
    if (!utf8) { free(o); return NULL; }
    json_decref(utf8);
    return o;
}

static bool add_key(char **keys, uint64_t *vas, size_t *n, char *text, uint64_t va)
{
    if (!text) return false;
    size_t len = strlen(text);
    bool dup = false;
    for (size_t k = 0; k < *n && !dup; k++) dup = strcmp(keys[k], text) == 0;
    if (len == 0 || len > QS_BK_MAX_KEY || dup || *n >= QS_BK_MAX_KEYS) { free(text); return false; }
    keys[*n] = text;
    vas[(*n)++] = va;
    return true;
}

/* String literals a .cctor stores (into `field`, or any field when 0). */
static void cctor_keys(const mc_dotnet *dn, uint32_t row, uint32_t field, char **keys, uint64_t *vas, size_t *n)
{
    mc_dn_method m;
    mc_dn_body b;
    if (!row || mc_dn_get_method(dn, row, &m) != MC_DN_OK || strcmp(m.name, ".cctor") != 0) return;
    if (mc_dn_get_body(dn, row, &b) != MC_DN_OK) return;
    mc_dn_item items[32];
    size_t k = mc_dn_scan_items(b.code, b.len, items, 32);
    for (size_t i = 0; i < k; i++) {
        if (items[i].kind != MC_DN_ITEM_STR || (field && items[i].field != field)) continue;
        uint64_t va;
        char *t = mc_dn_item_text(dn, &items[i], QS_BK_MAX_KEY + 2, &va);
        add_key(keys, vas, n, t, va);
    }
    mc_dn_body_free(&b);
}

/* Key candidates: the literals of the .cctor right after the string table (by token, §2.5), then
 * those stored into a static field that the decode routine reads, by the .cctor of its type. */
static size_t bk_keys(const mc_dotnet *dn, const qs_hints *h, char **keys, uint64_t *vas)
{
    size_t n = 0;
    if (h->xd_row < mc_dn_rows(dn, MC_DN_T_METHODDEF)) cctor_keys(dn, h->xd_row + 1, 0, keys, vas, &n);
    mc_dn_body b;
    if ((h->xd_callee >> 24) != 0x06 || mc_dn_get_body(dn, h->xd_callee & 0xFFFFFF, &b) != MC_DN_OK) return n;
    mc_dn_insn in;
    uint32_t pos = 0, fields = 0;
    while (fields < 8 && mc_dn_next_insn(b.code, b.len, &pos, &in)) {
        if (in.op != 0x7E || ((uint32_t)in.arg >> 24) != 0x04) continue;
        uint32_t f = (uint32_t)in.arg & 0xFFFFFF, owner = mc_dn_field_owner(dn, f);
        fields++;
        if (owner) cctor_keys(dn, mc_dn_find_method(dn, owner, ".cctor"), f, keys, vas, &n);
    }
    mc_dn_body_free(&b);
    return n;
}

/* Decode the string table with the first key under which every hexA:hexB entry gives printable
 * UTF-8 (at least QS_BK_MIN_XOR of them): a wrong key fails that almost surely. */
static void bk_strings(const mc_decode_ctx *ctx, const mc_dotnet *dn, const qs_hints *h, qs_banker *bk)
{
    char *keys[QS_BK_MAX_KEYS], *text[QS_BK_MAX_XOR] = {0};
    uint64_t kva[QS_BK_MAX_KEYS], tva[QS_BK_MAX_XOR] = {0};
    size_t half[QS_BK_MAX_XOR] = {0}, npairs = 0, nk = bk_keys(dn, h, keys, kva);
    for (size_t i = 0; i < h->nxd; i++) {
        text[i] = malloc(2 * QS_BK_MAX_HALF + 2);
        if (text[i] && mc_dn_us_utf8(dn, h->xd_tok[i], text[i], 2 * QS_BK_MAX_HALF + 2, &tva[i]) == MC_DN_OK)
            half[i] = pair_half(text[i]);
        if (half[i]) npairs++;
        else bk->nbad++;
    }
    for (size_t k = 0; k < nk && npairs >= QS_BK_MIN_XOR && !bk->key && !mc_expired(ctx); k++) {
        size_t kl = strlen(keys[k]);
        for (size_t i = 0; i < h->nxd; i++) {
            if (!half[i]) continue;
            char *o = xor_pair(text[i], half[i], (const uint8_t *)keys[k], kl);
            if (!o) break;
            bk->xs[bk->nxs++] = (qs_bk_str){o, tva[i], i};
        }
        if (bk->nxs == npairs) { bk->key = keys[k]; bk->key_va = kva[k]; keys[k] = NULL; break; }
        for (size_t i = 0; i < bk->nxs; i++) free(bk->xs[i].text);
        bk->nxs = 0;
    }
    for (size_t k = 0; k < nk; k++) free(keys[k]);
    for (size_t i = 0; i < h->nxd; i++) free(text[i]);
}

/* The Settings of the fork: string items mapped by name, or by position when every name is
 * obfuscated; a version, a GUID mutex and a key string prove the shape. */
static bool bk_settings(const qs_cfg *q, int *canon)
{
    size_t named = 0, pos = 0;
    int at[QS_BK_FIELDS];
    for (size_t k = 0; k < QS_BK_FIELDS; k++) at[k] = -1;
    for (size_t i = 0; i < q->n; i++) {
        canon[i] = -1;
        if (q->items[i].it.kind != MC_DN_ITEM_STR) continue;
        for (size_t k = 0; k < QS_BK_FIELDS; k++)
            if (strcmp(q->items[i].name, schema_bk[k]) == 0 && at[k] < 0) { canon[i] = (int)k; at[k] = (int)i; named++; }
    }
    if (named == 0 && q->nstr == QS_BK_FIELDS)
        for (size_t i = 0; i < q->n; i++)
            if (q->items[i].it.kind == MC_DN_ITEM_STR) { canon[i] = (int)pos; at[pos++] = (int)i; }
    if (at[BK_VERSION] < 0 || at[BK_MUTEX] < 0 || at[BK_KEY] < 0 || at[BK_TAG] < 0) return false;
    return is_version(q->items[at[BK_VERSION]].text) && is_guid(q->items[at[BK_MUTEX]].text) &&
           q->items[at[BK_KEY]].text[0];
}

static bool emit_banker(const mc_decode_ctx *ctx, const md_dump *d, mc_results *out, const qs_cfg *q,
                        const qs_banker *bk)
{
    mc_config *c = mc_cfg_new(out, "quasar", q->anchor);
    if (!c) return false;
    mc_cfg_category(c, "rat");
    qs_out o = {0};
    o.folder = -1;
    o.plain = true;
    size_t pos = 0;
    for (size_t i = 0; i < q->n; i++) {
        const qs_item *it = &q->items[i];
        if (it->it.kind != MC_DN_ITEM_STR) continue;
        const char *canon = bk->canon[i] >= 0 ? schema_bk[bk->canon[i]] : NULL;
        if (canon && strcmp(canon, "SUBFOLDER") == 0) canon = "SUBDIRECTORY";
        emit_string(c, it, canon, pos++, &o);
        if (bk->canon[i] == BK_KEY) {
            /* mapped as in the other generations, though this build's settings need no key */
            mc_crypto e = {.password = it->text, .usage = "config"};
            mc_cfg_encryption(c, &e, mc_at(it->va, MC_FORM_PLAINTEXT));
            mc_cfg_str(c, MC_F_PASSWORD, it->text, mc_at(it->va, MC_FORM_PLAINTEXT));
        }
    }
    emit_scalars(c, q, &o);
    emit_paths(c, &o);
    for (size_t i = 0; i < bk->nhost; i++) {
        mc_cfg_hostport(c, bk->host[i].text, -1, "c2", mc_at(bk->host[i].va, MC_FORM_PLAINTEXT));
        mc_cfg_raw(c, "hardcoded_hosts", mc_json_str(bk->host[i].text));
    }
    if (bk->key) {
        mc_crypto x = {.algorithm = "XOR", .key = (const uint8_t *)bk->key, .key_len = strlen(bk->key),
                       .password = bk->key, .usage = "other"};
        mc_cfg_encryption(c, &x, mc_at(bk->key_va, MC_FORM_PLAINTEXT));
        for (size_t i = 0; i < bk->nxs; i++) {
            char k[32];
            snprintf(k, sizeof k, "xor_string_%03zu", bk->xs[i].idx);
            mc_cfg_other(c, k, mc_json_str(bk->xs[i].text), mc_at(bk->xs[i].va, MC_FORM_IMAGE_ENCRYPTED));
        }
        if (bk->nbad)
            mc_cfg_warn(c, "string table: %zu of %zu entries are not hexA:hexB pairs of equal hex lengths; left out",
                        bk->nbad, bk->nbad + bk->nxs);
    }
    mc_cfg_other(c, "generation", json_string("1.0.00.rN-banker"), mc_at(q->anchor, MC_FORM_PLAINTEXT));
    mc_cfg_other(c, "integrity", json_string("none"), mc_at(0, MC_FORM_PLAINTEXT));
    if (!bk->nhost) mc_cfg_warn(c, "no hardcoded C2 list (random-domain method) found");
    size_t heap = corroborate(ctx, d, c, &o);
    int conf = (bk->nhost ? 75 : 55) + (bk->nxs ? 5 : 0) + (int)heap * 3;
    mc_cfg_status(c, bk->nhost ? MC_STATUS_COMPLETE : MC_STATUS_PARTIAL, conf > 99 ? 99 : conf);
    return true;
}

/* Runs when no .cctor cracked: needs the fork's Settings and hardcoded hosts or a string table
 * that a key decodes. */
static bool decode_banker(const mc_decode_ctx *ctx, const md_dump *d, const mc_dotnet *dn, const qs_hints *h,
                          qs_cfg *q, mc_results *out)
{
    if (!h->nrd_host && !h->xd_row) return false;
    qs_banker *bk = calloc(1, sizeof *bk);
    if (!bk) return false;
    bk_hosts(dn, h, bk);
    if (h->xd_row) bk_strings(ctx, dn, h, bk);
    bool done = false;
    uint32_t ntypes = mc_dn_rows(dn, MC_DN_T_TYPEDEF), tried = 0;
    for (uint32_t t = 1; t <= ntypes && (bk->nhost || bk->nxs) && !done && tried < QS_MAX_CCTORS &&
                         !mc_expired(ctx); t++) {
        uint32_t m = mc_dn_find_method(dn, t, ".cctor");
        mc_dn_body b;
        if (!m || mc_dn_get_body(dn, m, &b) != MC_DN_OK) continue;
        if (collect(dn, &b, q) >= QS_MIN_STRINGS) {
            tried++;
            if (!is_template(q) && bk_settings(q, bk->canon)) done = emit_banker(ctx, d, out, q, bk);
        }
        cfg_free_items(q);
        mc_dn_body_free(&b);
    }
    bk_free(bk);
    return done;
}

/* ---- one image ---- */

static bool is_template(const qs_cfg *q)
{
    size_t nbool = 0;
    for (size_t i = 0; i < q->n; i++) {
        const qs_item *it = &q->items[i];
        if (it->it.kind == MC_DN_ITEM_INT && (it->elem == 0x02 || (it->elem == 0 && it->it.int_form == 0))) nbool++;
        if (it->it.kind != MC_DN_ITEM_STR) continue;
        size_t n = strlen(it->text);
        bool placeholder = n >= 2 && it->text[0] == '%' && it->text[n - 1] == '%';
        if (n && !placeholder) return false;
    }
    return q->nstr >= 9 && nbool >= 5;
}

static void emit_template(mc_results *out, const qs_cfg *q)
{
    mc_config *c = mc_cfg_new(out, "quasar", q->anchor);
    if (!c) return;
    mc_cfg_category(c, "rat");
    mc_cfg_status(c, MC_STATUS_TEMPLATE, 60);
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i].it.kind == MC_DN_ITEM_STR)
            mc_cfg_raw_str(c, q->items[i].name[0] ? q->items[i].name : "unnamed", q->items[i].text);
    mc_cfg_warn(c, "unbuilt client: every string setting is empty or a placeholder");
}

static const char *gen_name(qs_gen g)
{
    switch (g) {
    case QS_GEN_14: return "1.4";
    case QS_GEN_13: return "1.3";
    case QS_GEN_FIXIV: return "1.4-fork-fixed-iv";
    default: return "1.0-1.2";
    }
}

static bool emit_config(const mc_decode_ctx *ctx, const md_dump *d, mc_results *out, qs_cfg *q)
{
    mc_config *c = mc_cfg_new(out, "quasar", q->anchor);
    if (!c) return false;
    mc_cfg_category(c, "rat");
    qs_out o = {0};
    o.folder = -1;
    bool aligned = schema_aligned(q);
    size_t pos = 0;
    for (size_t i = 0; i < q->n; i++) {
        const qs_item *it = &q->items[i];
        if (it->it.kind != MC_DN_ITEM_STR) continue;
        emit_string(c, it, (int)i == q->key_idx ? "ENCRYPTIONKEY" : canon_name(q, pos, aligned), pos, &o);
        pos++;
    }
    emit_crypto(c, q);
    emit_scalars(c, q, &o);
    emit_paths(c, &o);
    mc_cfg_other(c, "generation", json_string(gen_name(q->gen)), mc_at(q->anchor, MC_FORM_PLAINTEXT));
    if (!aligned) mc_cfg_warn(c, "string items do not follow a known Quasar field order; fields mapped by value shape");
    size_t heap = corroborate(ctx, d, c, &o);
    int conf = has_mac(q) ? 85 : 70;
    conf += (int)heap * 3;
    mc_cfg_status(c, o.hosts ? MC_STATUS_COMPLETE : MC_STATUS_PARTIAL, conf > 99 ? 99 : conf);
    return true;
}

/* An AsyncRAT/DcRat/VenomRAT Settings class (their Aes256 and salt are Quasar's, so Quasar's
 * rule fires on them): three or more of the names only that family uses. */
static bool aesrat_client(const qs_cfg *q)
{
    const char *names[QS_MAX_ITEMS];
    for (size_t i = 0; i < q->n; i++) names[i] = q->items[i].name;
    return mc_aesrat_own_names(names, q->n) >= 3;
}

static bool decode_image(const mc_decode_ctx *ctx, const md_dump *d, const mc_dotnet *dn, mc_results *out)
{
    qs_hints h = {0};
    gather_hints(ctx, dn, &h);
    qs_cfg *q = malloc(sizeof *q);
    if (!q) return false;
    bool done = false;
    uint32_t ntypes = mc_dn_rows(dn, MC_DN_T_TYPEDEF), tried = 0;
    for (uint32_t t = 1; t <= ntypes && !done && tried < QS_MAX_CCTORS && !mc_expired(ctx); t++) {
        uint32_t m = mc_dn_find_method(dn, t, ".cctor");
        mc_dn_body b;
        if (!m || mc_dn_get_body(dn, m, &b) != MC_DN_OK) continue;
        if (collect(dn, &b, q) >= QS_MIN_STRINGS) {
            tried++;
            if (aesrat_client(q)) { /* the AsyncRAT-family decoders own it: same crypto, no Quasar config */ }
            else if (is_template(q)) { emit_template(out, q); done = true; }
            else if (crack(ctx, d, q, &h)) done = emit_config(ctx, d, out, q);
        }
        cfg_free_items(q);
        mc_dn_body_free(&b);
    }
    if (!done) done = decode_banker(ctx, d, dn, &h, q, out);
    free(q);
    return done;
}

/* ---- heap only: the image is gone, the decrypted strings are not ---- */

/* A CLR string object near va whose text has the `host:port;` list shape. */
static bool heap_hosts_near(const md_dump *d, uint64_t va, char *out, size_t outsz, uint64_t *obj)
{
    uint64_t lo = va > QS_HEAP_WINDOW ? va - QS_HEAP_WINDOW : 0;
    for (uint64_t p = lo & ~3ull; p < va + QS_HEAP_WINDOW; p += 4) {
        uint32_t n;
        uint8_t w[2 * 512];
        if (!md_read_u32(d, p, &n) || n < 8 || n > 512) continue;
        if (md_read(d, p + 4, w, 2ull * n) != 2ull * n) continue;
        bool ascii = true;
        for (uint32_t i = 0; i < n && ascii; i++) ascii = w[2 * i + 1] == 0 && w[2 * i] >= 0x20 && w[2 * i] < 0x7F;
        if (!ascii || w[2 * (n - 1)] != ';') continue;
        if (!mc_clr_string_at(d, p + 4, n, obj)) continue;
        if (md_utf16le_to_utf8(w, 2ull * n, out, outsz) >= 0 && hosts_parse(out)) return true;
    }
    return false;
}

static void decode_heap(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    for (size_t i = 0; i < hits->n && !mc_expired(ctx); i++) {
        const mc_hit *h = &hits->v[i];
        if (!mc_hit_is(h, "$heap_mutex")) continue;
        /* The rule matches the length's high bytes and the chars: the text starts 2 bytes in. */
        uint64_t chars = h->va + 2, obj, hobj;
        uint32_t n;
        char mutex[256], hosts[1024];
        if (!md_read_u32(d, chars - 4, &n) || n < 10 || n > 100) continue;
        if (md_read_wstr_utf8(d, chars, mutex, sizeof mutex) != (long)n) continue;
        if (!mc_clr_string_at(d, chars, n, &obj)) continue;
        if (!heap_hosts_near(d, obj, hosts, sizeof hosts, &hobj)) continue;
        mc_config *c = mc_cfg_new(out, "quasar", obj);
        if (!c) return;
        mc_cfg_category(c, "rat");
        mc_cfg_str(c, MC_F_MUTEX, mutex, mc_at(obj, MC_FORM_HEAP_DECRYPTED));
        emit_hosts(c, hosts, mc_at(hobj, MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "heap_mutex", mutex);
        mc_cfg_raw_str(c, "heap_hosts", hosts);
        mc_cfg_warn(c, "no .NET image with a Quasar config found; values come from decrypted heap strings only");
        mc_cfg_status(c, MC_STATUS_PARTIAL, 25);
        return;
    }
}

typedef struct qs_job { const mc_decode_ctx *ctx; const md_dump *d; mc_results *out; } qs_job;

static size_t on_image(void *arg, const md_image *img, mc_dotnet *dn)
{
    qs_job *j = arg;
    (void)img;
    return decode_image(j->ctx, j->d, dn, j->out);
}

static int quasar_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    qs_job j = {ctx, d, out};
    if (!mc_dn_each_image(ctx, d, hits, on_image, &j)) decode_heap(ctx, d, hits, out);
    return 0;
}

const mc_decoder mc_decoder_quasar = {
    .family = "quasar",
    .display = "QuasarRAT",
    .version = "1.0",
    .category = "rat",
    .rules = mc_rules_quasar,
    .decode = quasar_decode,
};
