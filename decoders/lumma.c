/* Lumma Stealer (LummaC2): C2 lists from every config-storage era of families.md §5, newest
 * first, as CAPE orders them:
 *   D  key, nonce and 0x80-stride C2 array addressed by immediates in code; entry i at ChaCha20
 *      block counter 2+2i;
 *   C  the 16-byte marker, then key and nonce8; the slots read as one stream (slot i at 0x38+0x80i,
 *      counter 2i), through the table of nine slot pointers, or as the reversed 0x81-stride chunks
 *      after "true\0false";
 *   B  base64 strings whose first 32 decoded bytes are the XOR key of the rest;
 *   A  plaintext strings hidden by the "edx765" junk substring.
 * Pointers read from code or data are resolved through the PE headers when there are any, else
 * by trying rebases near the code (a hollowed payload keeps no headers, and only the real load
 * base gives the right bytes). Proof before report: every C2 must decrypt to a DNS name (era A
 * also an IP) with an optional port and path; look-alikes and wrong keys report nothing.
 */
#include "decoder.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_crypto.h"
#include "lib/mc_net.h"
#include "lib/mc_pe.h"
#include "md_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LM_SLOT 0x80u
#define LM_MAX_C2 12u
#define LM_C_SLOTS 9u
#define LM_MAX_COUNTER 32u          /* counter search for pointed-to slots: 0, 2, ..., 32 */
#define LM_HALF_WINDOW (2u << 20)   /* bytes around a hit searched when no image holds it */
#define LM_MAX_WINDOW (16u << 20)
#define LM_REBASE_SPAN (4u << 20)   /* rebases tried put the target this close to the code */
#define LM_REBASE_STEP 0x1000u
#define LM_MAX_WINDOWS 64u
#define LM_MAX_TRIES 8u             /* hits of one kind tried per window */
#define LM_MAX_ID 128u
#define LM_POLL 0x10000u            /* bytes scanned between deadline checks */
#define LM_HEAP_COPIES 4u           /* heap copies recorded per C2 and encoding */

#define LM_MARKER_LEN 16u   /* the rule's $marker: 32 1D 30 F9 48 77 82 5A 3C BF 73 7F DD 4F 15 75 */
static const uint8_t SHA1_TAIL[12] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF0, 0xE1, 0xD2, 0xC3};
static const char ALPHABET[] = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";   /* + its NUL */
static const char CENTRAL[] = "finding central directory";             /* + its NUL */
static const char JUNK[] = "edx765";

/* ---- C2 shape ---- */

typedef struct lm_url {
    char scheme[8];
    char host[MC_HOST_MAX];
    long port;
    char path[LM_SLOT + 1];
} lm_url;

static bool path_char(unsigned char c)
{
    return isalnum(c) || strchr("-._~/%?=&+:@!$'()*,;", c) != NULL;
}

/* "[http(s)://]host[:port][/path]". host must be a DNS name, or with allow_ip also an IPv4
 * literal; need_more asks for a scheme or a path (bare names are too common to trust). */
static bool c2_shape(const char *s, bool allow_ip, bool need_more, lm_url *u)
{
    memset(u, 0, sizeof *u);
    u->port = -1;
    if (strncmp(s, "https://", 8) == 0) { strcpy(u->scheme, "https"); s += 8; }
    else if (strncmp(s, "http://", 7) == 0) { strcpy(u->scheme, "http"); s += 7; }
    size_t h = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
    if (h == 0 || h >= sizeof u->host) return false;
    memcpy(u->host, s, h);
    u->host[h] = '\0';
    if (!(mc_is_domain(u->host) || (allow_ip && mc_is_ipv4(u->host)))) return false;
    s += h;
    if (*s == ':') {
        char port[8];
        size_t p = strspn(s + 1, "0123456789");
        if (p == 0 || p >= sizeof port) return false;
        memcpy(port, s + 1, p);
        port[p] = '\0';
        if (!mc_parse_port(port, &u->port) || u->port == 0) return false;
        s += 1 + p;
    }
    if (*s && *s != '/') return false;
    size_t pl = strlen(s);
    if (pl >= sizeof u->path) return false;
    for (size_t i = 0; i < pl; i++)
        if (!path_char((unsigned char)s[i])) return false;
    memcpy(u->path, s, pl + 1);
    if (need_more && !u->scheme[0] && pl <= 1) return false;
    return true;
}

/* The URL the payload contacts: https and "/api" unless the stored value says otherwise. */
static void c2_url(const lm_url *u, char *out, size_t n)
{
    const char *scheme = u->scheme[0] ? u->scheme : "https";
    long port = u->port >= 0 ? u->port : strcmp(scheme, "http") == 0 ? 80 : 443;
    snprintf(out, n, "%s://%s:%ld%s", scheme, u->host, port, u->path[0] && strcmp(u->path, "/") ? u->path : "/api");
}

/* A decrypted slot: printable text up to a NUL inside the slot, of C2 shape. */
static bool slot_text(const uint8_t *p, size_t n, char *out)
{
    const uint8_t *z = memchr(p, 0, n);
    if (!z || z == p) return false;
    size_t len = (size_t)(z - p);
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x21 || p[i] > 0x7e) return false;
    memcpy(out, p, len);
    out[len] = '\0';
    lm_url u;
    return c2_shape(out, false, false, &u);
}

/* ---- what one config holds ---- */

typedef struct lm_c2 {
    char text[LM_SLOT + 1];   /* as stored, after decryption */
    uint64_t va;
} lm_c2;

typedef struct lm_found {
    const char *layout;
    mc_form form;
    int confidence;
    uint64_t anchor;
    lm_c2 c2[LM_MAX_C2];
    size_t n;
    const char *alg;          /* NULL: no key */
    uint8_t key[32]; uint64_t key_va;
    uint8_t nonce[8]; bool has_nonce;
} lm_found;

static void found_add(lm_found *f, const char *text, uint64_t va)
{
    if (f->n >= LM_MAX_C2) return;
    strlcpy(f->c2[f->n].text, text, sizeof f->c2[f->n].text);
    f->c2[f->n].va = va;
    f->n++;
}

/* ---- state ---- */

typedef struct lm_window {
    uint64_t lo, hi;
} lm_window;

typedef struct lm_state {
    const mc_decode_ctx *ctx;
    const md_dump *d;
    const mc_hits *hits;
    mc_results *out;
    lm_window win[LM_MAX_WINDOWS]; size_t nwin;
    int rc;
} lm_state;

static bool read_exact(const lm_state *s, uint64_t va, void *dst, size_t n)
{
    return md_read(s->d, va, dst, n) == n;
}

static bool chacha_at(const uint8_t key[32], const uint8_t nonce8[8], uint32_t counter,
                      const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t nonce[12] = {0};
    memcpy(nonce + 4, nonce8, 8);
    return mc_chacha20(key, nonce, counter, in, n, out);
}

/* Decrypt the 0x80-byte slot at va with one counter; true when it holds a C2. */
static bool slot_decrypt(const lm_state *s, const uint8_t key[32], const uint8_t nonce[8], uint64_t va,
                         uint32_t counter, char *text)
{
    uint8_t ct[LM_SLOT], pt[LM_SLOT];
    return read_exact(s, va, ct, sizeof ct) && chacha_at(key, nonce, counter, ct, sizeof ct, pt) &&
           slot_text(pt, sizeof pt, text);
}

/* ---- pointer resolution ---- */

typedef struct lm_resolver {
    const mc_pe *pe;          /* through the headers, else ptr + delta */
    uint64_t delta;
} lm_resolver;

static bool resolve(const lm_resolver *r, uint64_t ptr, uint64_t *va)
{
    if (r->pe) return mc_pe_ptr_to_va(r->pe, ptr, va);
    return !__builtin_add_overflow(ptr, r->delta, va);
}

typedef bool (*lm_probe)(lm_state *s, const lm_resolver *r, void *arg);

/* Find the resolver under which probe() proves the config: the PE headers, the pointers as they
 * are, then every page-aligned rebase that puts `ptr` within reach of the code. */
static bool rebase_search(lm_state *s, uint64_t code_va, uint64_t ptr, lm_probe probe, void *arg)
{
    const md_image *img = md_image_at(s->d, code_va);
    mc_pe pe;
    lm_resolver r = {NULL, 0};
    if (img && mc_pe_open(&pe, s->d, img)) {
        r.pe = &pe;
        if (probe(s, &r, arg)) return true;
        r.pe = NULL;
    }
    if (probe(s, &r, arg)) return true;
    const md_region *rg = md_region_at(s->d, code_va);
    if (!rg) return false;
    uint64_t lo = code_va - rg->va > LM_REBASE_SPAN ? code_va - LM_REBASE_SPAN : rg->va;
    uint64_t end = rg->va + rg->size;
    uint64_t hi = end - code_va > LM_REBASE_SPAN ? code_va + LM_REBASE_SPAN : end;
    lo &= ~(uint64_t)(LM_REBASE_STEP - 1);
    /* Load bases are page aligned, so the target keeps the pointer's offset in its page. */
    for (uint64_t t = lo + (ptr & (LM_REBASE_STEP - 1)); t < hi; t += LM_REBASE_STEP) {
        if (mc_expired(s->ctx)) return false;
        r.delta = t - ptr;          /* modulo 2^64: resolve() adds it back */
        if (r.delta != 0 && probe(s, &r, arg)) return true;
    }
    return false;
}

/* Pointers into one image lie close together; random bytes almost never do. */
static bool clustered(const uint32_t *p, size_t n, uint32_t span)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0) return false;
        if (p[i] < lo) lo = p[i];
        if (p[i] > hi) hi = p[i];
    }
    return n > 0 && hi - lo < span;
}

/* ---- era D ---- */

typedef struct d_arg {
    uint32_t key_ptr, nonce_ptr, array_ptr;
    lm_found *f;
} d_arg;

static bool probe_d(lm_state *s, const lm_resolver *r, void *argp)
{
    d_arg *a = argp;
    lm_found *f = a->f;
    uint64_t kva, nva, ava;
    char text[LM_SLOT + 1];
    if (!resolve(r, a->key_ptr, &kva) || !resolve(r, a->nonce_ptr, &nva) || !resolve(r, a->array_ptr, &ava))
        return false;
    if (!read_exact(s, kva, f->key, 32) || !read_exact(s, nva, f->nonce, 8)) return false;
    if (!slot_decrypt(s, f->key, f->nonce, ava, 2, text)) return false;
    f->n = 0;
    f->key_va = kva;
    found_add(f, text, ava);
    for (uint32_t i = 1; i < LM_MAX_C2; i++) {
        uint64_t va = ava + (uint64_t)LM_SLOT * i;
        if (!slot_decrypt(s, f->key, f->nonce, va, 2 + 2 * i, text)) break;
        found_add(f, text, va);
    }
    return true;
}

static bool try_d(lm_state *s, const mc_hit *keys, const mc_hit *array, lm_found *f)
{
    d_arg a = {.f = f};
    if (keys->len < 20 || array->len < 9) return false;   /* nonce imm follows the match */
    if (!md_read_u32(s->d, keys->va + 1, &a.key_ptr) || !md_read_u32(s->d, keys->va + 20, &a.nonce_ptr) ||
        !md_read_u32(s->d, array->va + 5, &a.array_ptr))
        return false;
    uint32_t ptrs[3] = {a.key_ptr, a.nonce_ptr, a.array_ptr};
    if (!clustered(ptrs, 3, LM_MAX_WINDOW) || !rebase_search(s, keys->va, a.key_ptr, probe_d, &a)) return false;
    f->layout = "code-addressed";
    f->alg = "ChaCha20";
    f->has_nonce = true;
    f->anchor = keys->va;
    f->confidence = 100;
    f->form = MC_FORM_IMAGE_ENCRYPTED;
    return true;
}

/* ---- era C ---- */

static bool c_stream(lm_state *s, uint64_t m, lm_found *f)
{
    char text[LM_SLOT + 1];
    f->n = 0;
    for (uint32_t i = 1; i <= LM_C_SLOTS; i++) {
        uint64_t va = m + 0x38 + (uint64_t)LM_SLOT * i;
        if (slot_decrypt(s, f->key, f->nonce, va, 2 * i, text)) found_add(f, text, va);
    }
    f->layout = "chacha20-stream";
    return f->n > 0;
}

/* A pointed-to slot: the counter is not known, so search it as CAPE does. */
static bool slot_any_counter(const lm_state *s, const lm_found *f, uint64_t va, char *text)
{
    uint8_t ct[LM_SLOT], pt[LM_SLOT];
    if (!read_exact(s, va, ct, sizeof ct)) return false;
    for (uint32_t c = 0; c <= LM_MAX_COUNTER; c += 2)
        if (chacha_at(f->key, f->nonce, c, ct, sizeof ct, pt) && slot_text(pt, sizeof pt, text)) return true;
    return false;
}

typedef struct c_arg {
    uint32_t ptr[LM_C_SLOTS];
    lm_found *f;
} c_arg;

static bool probe_table(lm_state *s, const lm_resolver *r, void *argp)
{
    c_arg *a = argp;
    char text[LM_SLOT + 1];
    uint64_t va;
    if (!resolve(r, a->ptr[0], &va) || !slot_any_counter(s, a->f, va, text)) return false;
    a->f->n = 0;
    found_add(a->f, text, va);
    for (size_t i = 1; i < LM_C_SLOTS; i++)
        if (resolve(r, a->ptr[i], &va) && slot_any_counter(s, a->f, va, text)) found_add(a->f, text, va);
    return true;
}

static bool c_table(lm_state *s, uint64_t m, lm_found *f)
{
    c_arg a = {.f = f};
    uint8_t raw[4 * LM_C_SLOTS];
    if (!read_exact(s, m + 0x38, raw, sizeof raw)) return false;
    for (size_t i = 0; i < LM_C_SLOTS; i++) a.ptr[i] = md_le32(raw + 4 * i);
    if (!clustered(a.ptr, LM_C_SLOTS, 0x10000)) return false;
    f->layout = "chacha20-table";
    return rebase_search(s, m, a.ptr[0], probe_table, &a);
}

/* Chunks stored last slot first, each 0x81 apart, 0x29 bytes after "true\0false". */
static bool c_reverse(lm_state *s, const lm_window *w, const uint8_t *buf, size_t len, lm_found *f)
{
    static const char anchor[10] = {'t', 'r', 'u', 'e', 0, 'f', 'a', 'l', 's', 'e'};
    char text[LM_SLOT + 1];
    for (size_t at = 0; at + sizeof anchor <= len && !mc_expired(s->ctx);) {
        const uint8_t *p = memmem(buf + at, len - at, anchor, sizeof anchor);
        if (!p) break;
        uint64_t base = w->lo + (uint64_t)(p - buf) + sizeof anchor + 0x29;
        at = (size_t)(p - buf) + 1;
        f->n = 0;
        for (uint32_t c = LM_C_SLOTS; c-- > 0;) {
            uint64_t va = base + 0x81ull * c;
            if (slot_decrypt(s, f->key, f->nonce, va, (LM_C_SLOTS - 1 - c) * 2, text)) found_add(f, text, va);
        }
        if (f->n) { f->layout = "chacha20-reverse"; return true; }
    }
    return false;
}

static bool try_c(lm_state *s, const lm_window *w, const uint8_t *buf, size_t len, uint64_t m, lm_found *f)
{
    if (!read_exact(s, m + 16, f->key, 32) || !read_exact(s, m + 48, f->nonce, 8)) return false;
    f->key_va = m + 16;
    if (!c_stream(s, m, f) && !c_table(s, m, f) && !c_reverse(s, w, buf, len, f)) return false;
    f->alg = "ChaCha20";
    f->has_nonce = true;
    f->anchor = m;
    f->confidence = 100;
    f->form = MC_FORM_IMAGE_ENCRYPTED;
    return true;
}

/* ---- era B ---- */

static bool b64_char(uint8_t c) { return isalnum(c) || c == '+' || c == '/' || c == '='; }

/* One NUL-terminated base64 string: key = first 32 decoded bytes, C2 = the rest XOR key. */
static bool b_string(const uint8_t *p, size_t n, char *text, uint8_t key[32])
{
    uint8_t dec[LM_SLOT * 2];
    if (n < 44 || 3 * (n / 4) + 3 > sizeof dec || !mc_is_b64((const char *)p, n, 44)) return false;
    long dn = mc_b64_decode((const char *)p, n, dec);
    if (dn <= 32 || (size_t)dn - 32 > LM_SLOT) return false;
    size_t tl = (size_t)dn - 32;
    mc_xor(dec + 32, tl, dec, 32, (uint8_t *)text);
    text[tl] = '\0';
    for (size_t i = 0; i < tl; i++)
        if ((uint8_t)text[i] < 0x21 || (uint8_t)text[i] > 0x7e) return false;
    lm_url u;
    if (!c2_shape(text, false, false, &u)) return false;
    memcpy(key, dec, 32);
    return true;
}

static bool try_b(lm_state *s, const lm_window *w, const uint8_t *buf, size_t len, lm_found *f)
{
    char text[LM_SLOT + 1];
    uint8_t key[32];
    f->n = 0;
    for (size_t i = 0, poll = 0; i < len && f->n < LM_MAX_C2;) {
        if (i >= poll) {
            if (mc_expired(s->ctx)) break;
            poll = i + LM_POLL;
        }
        if (!b64_char(buf[i]) || (i > 0 && buf[i - 1] != 0)) { i++; continue; }
        size_t e = i;
        while (e < len && b64_char(buf[e]) && e - i <= 2 * LM_SLOT) e++;
        if (e < len && buf[e] == 0 && b_string(buf + i, e - i, text, key)) {
            if (f->n == 0) { memcpy(f->key, key, 32); f->key_va = w->lo + i; }
            found_add(f, text, w->lo + i);
        }
        i = e + 1;
    }
    if (!f->n) return false;
    f->layout = "base64-xor";
    f->alg = "XOR";
    f->anchor = f->c2[0].va;
    f->confidence = 90;
    f->form = MC_FORM_IMAGE_ENCRYPTED;
    return true;
}

/* ---- era A ---- */

/* Remove every junk substring; returns whether there was one. */
static bool strip_junk(char *t)
{
    bool any = false;
    char *j;
    while ((j = strstr(t, JUNK)) != NULL) {
        memmove(j, j + 6, strlen(j + 6) + 1);
        any = true;
    }
    return any;
}

typedef struct a_extra { char build[LM_MAX_ID]; uint64_t build_va; } a_extra;

static bool try_a(lm_state *s, const lm_window *w, const uint8_t *buf, size_t len, lm_found *f, a_extra *x)
{
    char t[512];
    size_t junked = 0;
    f->n = 0;
    for (size_t i = 0, poll = 0; i < len && f->n < LM_MAX_C2;) {
        if (i >= poll) {
            if (mc_expired(s->ctx)) break;
            poll = i + LM_POLL;
        }
        if (buf[i] < 0x21 || buf[i] > 0x7e || (i > 0 && buf[i - 1] != 0)) { i++; continue; }
        size_t e = i;
        while (e < len && buf[e] >= 0x20 && buf[e] <= 0x7e && e - i < sizeof t) e++;
        if (e < len && buf[e] == 0 && e - i < sizeof t) {
            memcpy(t, buf + i, e - i);
            t[e - i] = '\0';
            junked += strip_junk(t);
            lm_url u;
            const char *b = strncmp(t, "LummaC2, Build ", 15) == 0 ? t + 15 : NULL;
            if (b && !x->build[0] && strlen(b) < sizeof x->build && *b) {
                strlcpy(x->build, b, sizeof x->build);
                x->build_va = w->lo + i;
            } else if (c2_shape(t, true, true, &u)) {
                found_add(f, t, w->lo + i);
            }
        }
        i = e + 1;
    }
    if (!f->n || !junked) return false;
    f->layout = "edx765";
    f->anchor = f->c2[0].va;
    f->confidence = 50;
    f->form = MC_FORM_PLAINTEXT;
    return true;
}

/* ---- build and user IDs ---- */

typedef struct lm_ids {
    char user[LM_MAX_ID], build[LM_MAX_ID], raw[2 * LM_MAX_ID + 2];
    uint64_t va;
} lm_ids;

/* The printable string at p (NUL-terminated inside the buffer). */
static bool id_at(const uint8_t *p, size_t avail, char *out, size_t outsz)
{
    size_t n = 0;
    while (n < avail && p[n] != 0) {
        if (p[n] < 0x21 || p[n] > 0x7e || n + 1 >= outsz) return false;
        n++;
    }
    if (n == 0 || n >= avail) return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* "<user>--<build>"; a lone value is a user id in era B and a build id later. */
static bool ids_after(const lm_window *w, const uint8_t *buf, size_t len, const void *needle, size_t nlen,
                      size_t skip, bool lone_is_user, lm_ids *ids)
{
    for (size_t at = 0; at + nlen <= len;) {
        const uint8_t *p = memmem(buf + at, len - at, needle, nlen);
        if (!p) return false;
        size_t off = (size_t)(p - buf) + nlen + skip;
        at = (size_t)(p - buf) + 1;
        if (off >= len || !id_at(buf + off, len - off, ids->raw, sizeof ids->raw)) continue;
        char *sep = strstr(ids->raw, "--");
        ids->va = w->lo + off;
        if (sep) {
            size_t ul = (size_t)(sep - ids->raw);
            if (ul == 0 || ul >= sizeof ids->user || strlen(sep + 2) >= sizeof ids->build || !sep[2]) continue;
            memcpy(ids->user, ids->raw, ul);
            ids->user[ul] = '\0';
            strlcpy(ids->build, sep + 2, sizeof ids->build);
        } else if (strlen(ids->raw) < LM_MAX_ID) {
            strlcpy(lone_is_user ? ids->user : ids->build, ids->raw, LM_MAX_ID);
        } else {
            continue;
        }
        return true;
    }
    return false;
}

static void find_ids(const lm_found *f, const lm_window *w, const uint8_t *buf, size_t len, lm_ids *ids)
{
    memset(ids, 0, sizeof *ids);
    if (strcmp(f->layout, "base64-xor") == 0) ids_after(w, buf, len, CENTRAL, sizeof CENTRAL, 0, true, ids);
    else if (strcmp(f->layout, "code-addressed") == 0) ids_after(w, buf, len, ALPHABET, sizeof ALPHABET, 0, false, ids);
    else if (strncmp(f->layout, "chacha20", 8) == 0) ids_after(w, buf, len, SHA1_TAIL, sizeof SHA1_TAIL, 4, false, ids);
}

/* ---- heap copies ---- */

static bool host_char(uint8_t c) { return isalnum(c) || c == '.' || c == '-'; }

static bool in_windows(const lm_state *s, uint64_t va)
{
    for (size_t i = 0; i < s->nwin; i++)
        if (va >= s->win[i].lo && va < s->win[i].hi) return true;
    return false;
}

/* The payload's own decrypted C2 strings, ASCII or UTF-16LE, on the heap outside every image
 * copy: a string of its own (no host character before it, a NUL after it). Every C2 in both
 * encodings is looked for in one pass; needle 2i is C2 i in ASCII, 2i+1 in UTF-16LE. */
typedef struct lm_copies {
    lm_state *s;
    mc_config *c;
    mc_needle nd[2 * LM_MAX_C2];
    const char *url[LM_MAX_C2];
    uint8_t wide[LM_MAX_C2][2 * (LM_SLOT + 1)];
    size_t found[2 * LM_MAX_C2], n;
} lm_copies;

static bool heap_copy(void *arg, size_t k, uint64_t va, const mc_heap_span *sp, size_t off)
{
    lm_copies *h = arg;
    const uint8_t *m = sp->p + off;
    size_t u = k % 2 ? 2 : 1, len = h->nd[k].len;
    bool left = off < u || !host_char(m[-(ptrdiff_t)u]);
    bool right = off + len + u <= sp->len && m[len] == 0 && (u == 1 || m[len + 1] == 0);
    if (h->found[k] < LM_HEAP_COPIES && left && right && !in_windows(h->s, va) &&
        !md_image_at(h->s->d, va)) {
        mc_cfg_url(h->c, h->url[k / 2], NULL, "c2", NULL, mc_at(va, MC_FORM_HEAP_DECRYPTED));
        h->found[k]++;
    }
    return true;
}

static void heap_copy_add(lm_copies *h, const char *text, const char *url)
{
    size_t n = strlen(text), i = h->n;
    if (i >= LM_MAX_C2 || n > LM_SLOT) return;
    for (size_t j = 0; j < n; j++) { h->wide[i][2 * j] = (uint8_t)text[j]; h->wide[i][2 * j + 1] = 0; }
    h->nd[2 * i] = (mc_needle){text, n};
    h->nd[2 * i + 1] = (mc_needle){h->wide[i], 2 * n};
    h->url[i] = url;
    h->n++;
}

/* ---- report ---- */

static void report(lm_state *s, const lm_found *f, const lm_ids *ids, const char *version, uint64_t version_va)
{
    mc_config *c = mc_cfg_new(s->out, "lumma", f->anchor);
    if (!c) { s->rc = -1; return; }
    mc_cfg_category(c, "infostealer");
    json_t *raw = json_array();
    char urls[LM_MAX_C2][MC_HOST_MAX + 2 * LM_SLOT];
    lm_copies *copies = calloc(1, sizeof *copies);
    if (copies) *copies = (lm_copies){.s = s, .c = c};
    for (size_t i = 0; i < f->n && i < LM_MAX_C2; i++) {
        lm_url u;
        json_array_append_new(raw, mc_json_str(f->c2[i].text));
        if (!c2_shape(f->c2[i].text, f->form == MC_FORM_PLAINTEXT, false, &u)) continue;
        c2_url(&u, urls[i], sizeof urls[i]);
        mc_cfg_url(c, urls[i], NULL, "c2", NULL, mc_at(f->c2[i].va, f->form));
        if (copies) heap_copy_add(copies, f->c2[i].text, urls[i]);
    }
    if (copies && copies->n) {
        bool wide[2 * LM_MAX_C2];
        for (size_t k = 0; k < 2 * copies->n; k++) wide[k] = k % 2;
        /* heap_copy wants a NUL after each copy: the scan's host tokens answer that */
        if (!mc_heap_find_tokens(s->ctx, s->d, copies->nd, wide, 2 * copies->n, heap_copy, copies))
            mc_heap_find_many(s->ctx, s->d, copies->nd, 2 * copies->n, heap_copy, copies);
    }
    free(copies);
    mc_cfg_raw(c, "c2", raw);
    mc_cfg_raw_str(c, "layout", f->layout);
    mc_cfg_other(c, "config_layout", json_string(f->layout), mc_at(f->anchor, f->form));
    if (f->alg) {
        mc_crypto k = {.algorithm = f->alg, .key = f->key, .key_len = 32,
                       .nonce = f->has_nonce ? f->nonce : NULL, .nonce_len = f->has_nonce ? 8 : 0,
                       .usage = "config"};
        mc_cfg_encryption(c, &k, mc_at(f->key_va, MC_FORM_IMAGE_ENCRYPTED));
    }
    if (ids->raw[0]) mc_cfg_raw_str(c, "ids", ids->raw);
    if (ids->user[0]) mc_cfg_str(c, MC_F_CAMPAIGN_ID, ids->user, mc_at(ids->va, MC_FORM_PLAINTEXT));
    if (ids->build[0]) mc_cfg_str(c, MC_F_IDENTIFIER, ids->build, mc_at(ids->va, MC_FORM_PLAINTEXT));
    if (version && *version) {
        mc_cfg_str(c, MC_F_IDENTIFIER, version, mc_at(version_va, MC_FORM_PLAINTEXT));
        mc_cfg_raw_str(c, "build_string", version);
    }
    mc_cfg_status(c, MC_STATUS_COMPLETE, f->confidence);
}

/* ---- windows ---- */

/* The bytes attributed to the payload a hit belongs to: its image, or the region around it. */
static void window_for(const lm_state *s, uint64_t va, lm_window *w)
{
    const md_image *img = md_image_at(s->d, va);
    if (img && img->size && img->base <= va) {
        w->lo = img->base;
        w->hi = img->base + (img->size < LM_MAX_WINDOW ? img->size : LM_MAX_WINDOW);
        if (va < w->hi) return;
    }
    const md_region *rg = md_region_at(s->d, va);
    w->lo = rg && va - rg->va < LM_HALF_WINDOW ? rg->va : va - LM_HALF_WINDOW;
    uint64_t end = rg ? rg->va + rg->size : va + 1;
    w->hi = end - va > LM_HALF_WINDOW ? va + LM_HALF_WINDOW : end;
}

static void collect_windows(lm_state *s)
{
    for (size_t i = 0; i < s->hits->n && s->nwin < LM_MAX_WINDOWS; i++) {
        uint64_t va = s->hits->v[i].va;
        if (!md_region_at(s->d, va) || in_windows(s, va)) continue;
        window_for(s, va, &s->win[s->nwin++]);
    }
}

static bool window_has(const lm_state *s, const lm_window *w, const char *id)
{
    for (size_t i = 0; i < s->hits->n; i++)
        if (mc_hit_is(&s->hits->v[i], id) && s->hits->v[i].va >= w->lo && s->hits->v[i].va < w->hi) return true;
    return false;
}

static bool try_newer(lm_state *s, const lm_window *w, const uint8_t *buf, size_t len, lm_found *f)
{
    const mc_hits *h = s->hits;
    size_t tries = 0;
    for (size_t i = 0; i < h->n && tries < LM_MAX_TRIES; i++) {
        const mc_hit *k = &h->v[i];
        if (!mc_hit_is(k, "$keys") || k->va < w->lo || k->va >= w->hi) continue;
        tries++;
        size_t arrays = 0;
        for (size_t j = 0; j < h->n && arrays < LM_MAX_TRIES; j++) {
            const mc_hit *a = &h->v[j];
            if (!mc_hit_is(a, "$array") || a->va < w->lo || a->va >= w->hi) continue;
            arrays++;
            if (try_d(s, k, a, f)) return true;
        }
    }
    tries = 0;
    for (size_t i = 0; i < h->n && tries < LM_MAX_TRIES; i++) {
        const mc_hit *m = &h->v[i];
        if (!mc_hit_is(m, "$marker") || m->len != LM_MARKER_LEN || m->va < w->lo || m->va >= w->hi) continue;
        tries++;
        if (try_c(s, w, buf, len, m->va, f)) return true;
    }
    return false;
}

static void do_window(lm_state *s, lm_window *w)
{
    size_t want = (size_t)(w->hi - w->lo);
    uint8_t *buf = malloc(want ? want : 1);
    lm_found *f = calloc(1, sizeof *f);
    a_extra x = {{0}, 0};
    if (!buf || !f) { s->rc = -1; goto out; }
    size_t len = (size_t)md_read(s->d, w->lo, buf, want);
    bool ok = try_newer(s, w, buf, len, f) || try_b(s, w, buf, len, f) ||
              (window_has(s, w, "$junk") && try_a(s, w, buf, len, f, &x));
    if (ok) {
        lm_ids ids;
        find_ids(f, w, buf, len, &ids);
        report(s, f, &ids, x.build, x.build_va);
    }
out:
    free(buf);
    free(f);
}

static int lumma_decode(const mc_decode_ctx *ctx, const md_dump *dump, const mc_hits *hits, mc_results *out)
{
    lm_state *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->ctx = ctx;
    s->d = dump;
    s->hits = hits;
    s->out = out;
    collect_windows(s);
    for (size_t i = 0; i < s->nwin && !mc_expired(ctx); i++) do_window(s, &s->win[i]);
    int rc = s->rc;
    free(s);
    return rc;
}

extern const char mc_rules_lumma[];

const mc_decoder mc_decoder_lumma = {
    .family = "lumma",
    .display = "Lumma Stealer",
    .version = "1",
    .category = "infostealer",
    .rules = mc_rules_lumma,
    .decode = lumma_decode,
};
