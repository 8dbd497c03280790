/* Vidar Stealer (families.md §7).
 *
 * Era 2: the string table. Each string is two equal-length .rdata arrays passed to the decrypt
 * routine (the rule's `$dec_loop`); we find every call whose target is the routine, read the
 * pushed pointers and length, and XOR the arrays. The version is the .rdata string pushed by the
 * `68 VA 89 45 FC 88 06` idiom. Era 3: the XOR config blob (key16, each field restarting at key
 * index 0), located by the "first URL ciphertext XOR key = http" mask. In every era, plaintext
 * http(s) URLs in the image are C2s or, for Steam and Telegram profiles, dead-drop resolvers; when
 * a fetched profile page is still on the heap, the `<ip>[:port]|` it carries is the resolved C2.
 *
 * Proof before report: decrypted strings must be printable text; the blob must give a version of
 * the documented shape, a printable build ID and records that start with "http". Rule hits
 * alone never make a config.
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

#define VD_MAX_SPAN (64ull << 20)   /* bytes of one image or region searched */
#define VD_MAX_SPANS 32u
#define VD_MAX_STRINGS 1024u
#define VD_MAX_STR 1024u            /* longest table entry accepted */
#define VD_MAX_URLS 64u
#define VD_MAX_REC 32u              /* era 3 records (CAPE's bound) */
#define VD_ROUTINE_BACK 0x80u       /* routine start at most this far before its loop */
#define VD_ARGS_BACK 4u             /* instructions read back from a call site */
#define VD_PAGE_BACK 4096u          /* page text searched around a profile id */
#define VD_PAGE_FWD 8192u
#define VD_MAX_ID_HITS 64u

enum { HDR = 0x72, REC = 0x243 };

typedef struct vd_str { char *s; uint64_t va; } vd_str;
typedef struct vd_url { char *s; uint64_t va; mc_form form; } vd_url;

typedef struct vd_rec {
    char url[0x101], tag[0x41], ua[0x100];
    uint64_t va;
} vd_rec;

typedef struct vd_blob {
    bool ok;
    uint64_t va;
    uint8_t key[16];
    char version[16], build[0x41];
    vd_rec rec[VD_MAX_REC];
    size_t nrec;
} vd_blob;

typedef struct vd_found {
    vd_str str[VD_MAX_STRINGS]; size_t nstr;
    vd_url url[VD_MAX_URLS]; size_t nurl;
    char version[32]; uint64_t version_va;
    vd_blob blob;
} vd_found;

typedef struct vd_state {
    const mc_decode_ctx *ctx;
    const md_dump *d;
    const mc_hits *hits;
    mc_results *out;
    uint64_t done[VD_MAX_SPANS]; size_t ndone;
    int rc;
} vd_state;

/* ---- small checks ---- */

static bool printable(const uint8_t *p, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e) return false;
    return true;
}

/* ^[0-9]{1,3}(\.[0-9]{1,3}){1,3}$ */
static bool version_shape(const char *s)
{
    size_t groups = 0, i = 0;
    for (;;) {
        size_t st = i;
        while (isdigit((unsigned char)s[i]) && i - st < 4) i++;
        if (i == st || i - st > 3) return false;
        groups++;
        if (s[i] == '.' && groups < 4) { i++; continue; }
        break;
    }
    return s[i] == '\0' && groups >= 2;
}

static const char *url_usage(const char *url)
{
    mc_url *u = malloc(sizeof *u);
    const char *usage = "c2";
    if (u && mc_url_parse(url, u)) {
        size_t n = strlen(u->host);
        static const char *const dd[] = {"steamcommunity.com", "t.me", "telegram.me"};
        for (size_t i = 0; i < 3; i++) {
            size_t m = strlen(dd[i]);
            if (n >= m && strcmp(u->host + n - m, dd[i]) == 0 && (n == m || u->host[n - m - 1] == '.'))
                usage = "dead_drop_resolver";
        }
    }
    free(u);
    return usage;
}

static bool url_char(uint8_t c)
{
    return c && (isalnum(c) || strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

static void add_url(vd_found *f, const char *s, uint64_t va, mc_form form)
{
    for (size_t i = 0; i < f->nurl; i++)
        if (strcmp(f->url[i].s, s) == 0) return;
    if (f->nurl >= VD_MAX_URLS) return;
    char *dup = strdup(s);
    if (!dup) return;
    f->url[f->nurl++] = (vd_url){dup, va, form};
}

/* An absolute pointer from code: rebased through the PE when there is one; a header-less copy
 * was relocated where it lies, so the pointer is already a VA of this dump. */
static bool ptr_va(const mc_pe_span *sp, uint64_t ptr, uint64_t *va)
{
    if (sp->has_pe) return mc_pe_ptr_to_va(&sp->pe, ptr, va);
    *va = ptr;
    return true;
}

/* ---- era 2: the string table ---- */

typedef struct call_args { uint64_t ptr[2]; size_t nptr; uint32_t len; bool has_len; } call_args;

/* Walk back over `push imm32`, `push imm8` and `mov ecx, imm32` before a call: small values are
 * the length, the others the two array pointers. */
static bool read_args(const uint8_t *p, size_t call_off, call_args *a)
{
    size_t at = call_off;
    memset(a, 0, sizeof *a);
    for (unsigned k = 0; k < VD_ARGS_BACK && (a->nptr < 2 || !a->has_len); k++) {
        uint32_t v;
        if (at >= 5 && (p[at - 5] == 0x68 || p[at - 5] == 0xB9)) { v = md_le32(p + at - 4); at -= 5; }
        else if (at >= 2 && p[at - 2] == 0x6A) { v = p[at - 1]; at -= 2; }
        else break;
        if (v > 0 && v <= VD_MAX_STR) { if (a->has_len) return false; a->len = v; a->has_len = true; }
        else if (a->nptr < 2) a->ptr[a->nptr++] = v;
        else return false;
    }
    return a->nptr == 2 && a->has_len;
}

static void decode_call(vd_state *s, const mc_pe_span *sp, const call_args *a, vd_found *f)
{
    uint8_t x[VD_MAX_STR], y[VD_MAX_STR];
    uint64_t va0, va1;
    if (!ptr_va(sp, a->ptr[0], &va0) || !ptr_va(sp, a->ptr[1], &va1)) return;
    if (md_read(s->d, va0, x, a->len) != a->len || md_read(s->d, va1, y, a->len) != a->len) return;
    mc_xor(x, a->len, y, a->len, x);
    size_t n = a->len;
    while (n > 0 && x[n - 1] == 0) n--;
    if (!printable(x, n) || f->nstr >= VD_MAX_STRINGS) return;
    char *str = malloc(n + 1);
    if (!str) { s->rc = -1; return; }
    memcpy(str, x, n);
    str[n] = '\0';
    f->str[f->nstr++] = (vd_str){str, va0};
}

static bool in_routine(uint64_t target, const uint64_t *loops, size_t nloops)
{
    for (size_t i = 0; i < nloops; i++)
        if (target <= loops[i] && loops[i] - target <= VD_ROUTINE_BACK) return true;
    return false;
}

static void era2_table(vd_state *s, const mc_pe_span *sp, vd_found *f)
{
    uint64_t loops[16];
    size_t nloops = 0;
    for (size_t i = 0; i < s->hits->n && nloops < 16; i++) {
        const mc_hit *h = &s->hits->v[i];
        if (mc_hit_is(h, "$dec_loop") && h->va >= sp->va && h->va - sp->va < sp->size) loops[nloops++] = h->va;
    }
    if (!nloops) return;
    for (size_t i = 0; i + 5 <= sp->size; i++) {
        if (sp->p[i] != 0xE8) continue;
        if ((i & 0xFFFF) == 0 && mc_expired(s->ctx)) return;
        uint64_t target = sp->va + i + 5 + (uint64_t)(int64_t)(int32_t)md_le32(sp->p + i + 1);
        call_args a;
        if (in_routine(target, loops, nloops) && read_args(sp->p, i, &a)) decode_call(s, sp, &a, f);
    }
}

static void era2_version(vd_state *s, const mc_pe_span *sp, vd_found *f)
{
    static const uint8_t t1[] = {0x89, 0x45, 0xFC, 0x88, 0x06};
    static const uint8_t t2[] = {0x8B, 0xCE, 0x89, 0x45, 0xFC, 0x88, 0x06};
    for (size_t i = 0; i + 12 <= sp->size && !f->version[0]; i++) {
        if (sp->p[i] != 0x68) continue;
        if (memcmp(sp->p + i + 5, t1, sizeof t1) != 0 && memcmp(sp->p + i + 5, t2, sizeof t2) != 0) continue;
        uint64_t va;
        char v[32];
        if (!ptr_va(sp, md_le32(sp->p + i + 1), &va) || md_read_cstr(s->d, va, v, sizeof v) < 0) continue;
        if (!version_shape(v)) continue;
        memcpy(f->version, v, sizeof v);
        f->version_va = va;
    }
}

/* ---- era 3: the config blob ---- */

static bool field(const uint8_t *ct, size_t len, size_t cap, const uint8_t key[16], char *out)
{
    if (len > cap) return false;
    for (size_t i = 0; i < len; i++) out[i] = (char)(ct[i] ^ key[i % 16]);
    out[len] = '\0';
    return printable((const uint8_t *)out, len) || len == 0;
}

static bool blob_at(const uint8_t *b, size_t avail, uint64_t va, vd_blob *o)
{
    if (avail < HDR + REC) return false;
    memset(o, 0, sizeof *o);
    memcpy(o->key, b, 16);
    size_t vl = b[0x30], bl = b[0x71];
    if (vl < 3 || vl > 15 || !field(b + 0x10, vl, 0x20, o->key, o->version) || !version_shape(o->version))
        return false;
    if (!field(b + 0x31, bl, 0x40, o->key, o->build)) return false;
    for (size_t k = 0; k < VD_MAX_REC && HDR + (k + 1) * REC <= avail; k++) {
        const uint8_t *r = b + HDR + k * REC;
        vd_rec *x = &o->rec[o->nrec];
        size_t ul = r[0x100];
        if (ul < 8 || !field(r, ul, 0x100, o->key, x->url) || strncmp(x->url, "http", 4) != 0) break;
        if (!field(r + 0x101, r[0x141], 0x40, o->key, x->tag)) x->tag[0] = '\0';
        if (!field(r + 0x142, r[0x242], 0xFF, o->key, x->ua)) x->ua[0] = '\0';
        x->va = va + HDR + k * REC;
        o->nrec++;
    }
    o->ok = o->nrec > 0;
    o->va = va;
    return o->ok;
}

static void era3_blob(vd_state *s, const mc_pe_span *sp, vd_found *f)
{
    const uint8_t *p = sp->p;
    for (size_t o = 0; o + HDR + REC <= sp->size; o++) {
        if ((o & 0xFFFF) == 0 && mc_expired(s->ctx)) return;
        if ((p[o + HDR] ^ p[o]) != 'h' || (p[o + HDR + 1] ^ p[o + 1]) != 't' ||
            (p[o + HDR + 2] ^ p[o + 2]) != 't' || (p[o + HDR + 3] ^ p[o + 3]) != 'p')
            continue;
        if (blob_at(p + o, (size_t)(sp->size - o), sp->va + o, &f->blob)) return;
    }
}

/* ---- plaintext URLs ---- */

static void plain_urls(vd_state *s, const mc_pe_span *sp, vd_found *f)
{
    static const char *const pre[] = {"http://", "https://"};
    for (size_t k = 0; k < 2; k++) {
        size_t plen = strlen(pre[k]), at = 0;
        while (at < sp->size && !mc_expired(s->ctx)) {
            const uint8_t *m = memmem(sp->p + at, (size_t)sp->size - at, pre[k], plen);
            if (!m) break;
            size_t st = (size_t)(m - sp->p), e = st;
            at = st + 1;
            while (e < sp->size && e - st < 512 && url_char(sp->p[e])) e++;
            /* A C string of its own: NUL before and after. */
            if ((st > 0 && sp->p[st - 1] != 0) || e >= sp->size || sp->p[e] != 0 || e - st < plen + 4) continue;
            char u[520];
            memcpy(u, m, e - st);
            u[e - st] = '\0';
            add_url(f, u, sp->va + st, MC_FORM_PLAINTEXT);
        }
    }
}

/* ---- dead-drop pages on the heap ---- */

/* "<ipv4>[:port][/path]|" at p (p[0] a digit): returns the length before '|', or 0. */
static size_t resolved_at(const uint8_t *p, size_t n, char *out, size_t outsz)
{
    size_t i = 0;
    char ip[16];
    while (i < n && i < 15 && (isdigit(p[i]) || p[i] == '.')) i++;
    memcpy(ip, p, i);
    ip[i] = '\0';
    if (!mc_is_ipv4(ip)) return 0;
    if (i < n && p[i] == ':') {
        size_t ps = ++i;
        while (i < n && isdigit(p[i]) && i - ps < 5) i++;
        char port[8];
        long v;
        snprintf(port, sizeof port, "%.*s", (int)(i - ps), (const char *)p + ps);
        if (!mc_parse_port(port, &v) || v == 0) return 0;
    }
    if (i < n && p[i] == '/')
        while (i < n && i < 200 && url_char(p[i]) && p[i] != '|') i++;
    if (i >= n || p[i] != '|' || i >= outsz) return 0;
    memcpy(out, p, i);
    out[i] = '\0';
    return i;
}

static bool text_byte(uint8_t c) { return (c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n' || c == '\t'; }

/* The page is one block of text around the id (an HTTP response body in a heap buffer): only
 * that block is searched, so an "ip|" elsewhere in memory is never taken for the resolved C2. */
static bool page_window(vd_state *s, uint64_t lo, uint64_t hi, uint64_t occ, char *out, size_t outsz,
                        uint64_t *va)
{
    size_t n = (size_t)(hi - lo);
    uint8_t *w = malloc(n ? n : 1);
    bool ok = false;
    if (!w) { s->rc = -1; return false; }
    n = (size_t)md_read(s->d, lo, w, n);
    size_t st = (size_t)(occ - lo), e = st;
    if (st > n) st = e = n;
    while (st > 0 && text_byte(w[st - 1])) st--;
    while (e < n && text_byte(w[e])) e++;
    for (size_t i = st; i < e && !ok; i++) {
        if (!isdigit(w[i]) || (i > st && (isdigit(w[i - 1]) || w[i - 1] == '.'))) continue;
        if (resolved_at(w + i, e - i, out, outsz)) { *va = lo + i; ok = true; }
    }
    free(w);
    return ok;
}

/* The profile id is the URL's last path segment; the page that names it, fetched onto the heap,
 * carries the C2. */
typedef struct vd_pages {
    vd_state *s;
    mc_config *c;
    const char *url;
    json_t *resolved;
    size_t hits;
} vd_pages;

static bool dead_drop_page(void *arg, size_t needle, uint64_t va, const mc_heap_span *sp, size_t off)
{
    vd_pages *k = arg;
    (void)needle;
    k->hits++;
    uint64_t lo = sp->va + (off > VD_PAGE_BACK ? off - VD_PAGE_BACK : 0);
    uint64_t hi = sp->va + (sp->len - off > VD_PAGE_FWD ? off + VD_PAGE_FWD : sp->len);
    char hp[240], full[260];
    uint64_t at;
    if (page_window(k->s, lo, hi, va, hp, sizeof hp, &at)) {
        snprintf(full, sizeof full, "http://%s", hp);
        if (mc_cfg_url(k->c, full, NULL, "c2", NULL, mc_at(at, MC_FORM_PLAINTEXT))) {
            char page[24];
            snprintf(page, sizeof page, "0x%llx", (unsigned long long)at);
            json_array_append_new(k->resolved, json_pack("{s:s,s:s,s:s}", "dead_drop", k->url,
                                                          "c2", full, "page_va", page));
        }
    }
    return k->hits < VD_MAX_ID_HITS;
}

static void resolve_dead_drop(vd_state *s, mc_config *c, const char *url, json_t *resolved)
{
    const char *id = strrchr(url, '/');
    if (!id || strlen(id + 1) < 4) return;
    id++;
    vd_pages k = {s, c, url, resolved, 0};
    mc_needle nd = {id, strlen(id)};
    mc_heap_find_many(s->ctx, s->d, &nd, 1, dead_drop_page, &k);
}

/* ---- report ---- */

static void emit_urls(vd_state *s, mc_config *c, const vd_found *f, json_t *resolved)
{
    for (size_t i = 0; i < f->nurl; i++) {
        const char *usage = url_usage(f->url[i].s);
        mc_cfg_url(c, f->url[i].s, NULL, usage, NULL, mc_at(f->url[i].va, f->url[i].form));
        if (strcmp(usage, "dead_drop_resolver") == 0) resolve_dead_drop(s, c, f->url[i].s, resolved);
    }
}

static void emit_blob(mc_config *c, const vd_blob *b)
{
    mc_where w = mc_at(b->va, MC_FORM_IMAGE_ENCRYPTED);
    mc_cfg_version(c, b->version, mc_at(b->va + 0x10, MC_FORM_IMAGE_ENCRYPTED));
    if (b->build[0]) mc_cfg_str(c, MC_F_IDENTIFIER, b->build, mc_at(b->va + 0x31, MC_FORM_IMAGE_ENCRYPTED));
    mc_crypto k = {.algorithm = "XOR", .key = b->key, .key_len = 16, .usage = "config"};
    mc_cfg_encryption(c, &k, w);
    json_t *recs = json_array();
    for (size_t i = 0; i < b->nrec; i++) {
        const vd_rec *r = &b->rec[i];
        mc_http_extra x = {.user_agent = r->ua[0] ? r->ua : NULL};
        mc_cfg_url(c, r->url, NULL, url_usage(r->url), &x, mc_at(r->va, MC_FORM_IMAGE_ENCRYPTED));
        if (r->tag[0]) mc_cfg_str(c, MC_F_CAMPAIGN_ID, r->tag, mc_at(r->va + 0x101, MC_FORM_IMAGE_ENCRYPTED));
        json_array_append_new(recs, json_pack("{s:o,s:o,s:o}", "url", mc_json_str(r->url), "tag",
                                              mc_json_str(r->tag), "user_agent", mc_json_str(r->ua)));
    }
    mc_cfg_raw(c, "c2_records", recs);
    mc_cfg_raw(c, "version", mc_json_str(b->version));
    mc_cfg_raw(c, "build_id", mc_json_str(b->build));
}

static void report(vd_state *s, const mc_pe_span *sp, vd_found *f)
{
    bool table = f->nstr > 0;
    for (size_t i = 0; i < f->nstr; i++)
        if (!strncmp(f->str[i].s, "http://", 7) || !strncmp(f->str[i].s, "https://", 8))
            add_url(f, f->str[i].s, f->str[i].va, MC_FORM_IMAGE_ENCRYPTED);
    if (!f->blob.ok && !table && f->nurl == 0) return;
    mc_config *c = mc_cfg_new(s->out, "vidar", f->blob.ok ? f->blob.va : sp->va);
    if (!c) { s->rc = -1; return; }
    mc_cfg_category(c, "infostealer");
    if (f->blob.ok) emit_blob(c, &f->blob);
    if (f->version[0]) mc_cfg_version(c, f->version, mc_at(f->version_va, MC_FORM_PLAINTEXT));
    for (size_t i = 0; i < f->nstr; i++)
        mc_cfg_str(c, MC_F_DECODED_STRINGS, f->str[i].s, mc_at(f->str[i].va, MC_FORM_IMAGE_ENCRYPTED));
    json_t *resolved = json_array();
    for (size_t i = 0; f->blob.ok && i < f->blob.nrec; i++)
        if (strcmp(url_usage(f->blob.rec[i].url), "dead_drop_resolver") == 0)
            resolve_dead_drop(s, c, f->blob.rec[i].url, resolved);
    emit_urls(s, c, f, resolved);
    if (json_array_size(resolved)) mc_cfg_other(c, "resolved_c2", resolved, mc_at(0, MC_FORM_PLAINTEXT));
    else json_decref(resolved);
    if (table) mc_cfg_other(c, "string_table_entries", json_integer((json_int_t)f->nstr), mc_at(sp->va, MC_FORM_IMAGE_ENCRYPTED));
    mc_cfg_raw_str(c, "era", f->blob.ok ? "3" : table ? "2" : "plaintext");
    if (f->blob.ok) mc_cfg_status(c, MC_STATUS_COMPLETE, 100);
    else if (table) mc_cfg_status(c, MC_STATUS_COMPLETE, f->version[0] ? 90 : 80);
    else mc_cfg_status(c, MC_STATUS_PARTIAL, 60);
}

static void found_free(vd_found *f)
{
    for (size_t i = 0; i < f->nstr; i++) free(f->str[i].s);
    for (size_t i = 0; i < f->nurl; i++) free(f->url[i].s);
}

static bool code_marker(const mc_hit *h)
{
    return mc_hit_is(h, "$dec_loop") || mc_hit_is(h, "$x64_cfg");
}

static int vidar_decode(const mc_decode_ctx *ctx, const md_dump *dump, const mc_hits *hits,
                        mc_results *out)
{
    vd_state s = {.ctx = ctx, .d = dump, .hits = hits, .out = out};
    vd_found *f = malloc(sizeof *f);
    if (!f) return -1;
    for (size_t i = 0; i < hits->n && !mc_expired(ctx) && s.rc == 0; i++) {
        mc_pe_span sp;
        if (!code_marker(&hits->v[i])) continue;
        int o = mc_pe_span_open(dump, hits->v[i].va, VD_MAX_SPAN, s.done, &s.ndone, VD_MAX_SPANS, &sp);
        if (o < 0) s.rc = -1;
        if (o <= 0) continue;
        memset(f, 0, sizeof *f);
        era3_blob(&s, &sp, f);
        era2_table(&s, &sp, f);
        era2_version(&s, &sp, f);
        plain_urls(&s, &sp, f);
        report(&s, &sp, f);
        found_free(f);
        mc_pe_span_close(&sp);
    }
    free(f);
    return s.rc;
}

extern const char mc_rules_vidar[];

const mc_decoder mc_decoder_vidar = {
    .family = "vidar",
    .display = "Vidar",
    .version = "1",
    .category = "infostealer",
    .rules = mc_rules_vidar,
    .decode = vidar_decode,
};
