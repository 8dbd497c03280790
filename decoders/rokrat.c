/* ROKRAT (families.md §8). Public sources give markers, not a config layout, so this decoder
 * defines what it reports:
 *   - cloud API endpoints (Yandex Disk, pCloud, Dropbox, Box) the payload holds as ASCII or UTF-16
 *     strings, builds as `(c ^ C8h) + 0Fh` stack strings, or decodes with its `(b - 0Fh) ^ C8h`
 *     URL loop (the buffer the loop's rip-relative lea addresses, for the length its `mov edx`
 *     gives) -> http[] usage c2;
 *   - access tokens from `Authorization: OAuth|Bearer` headers and `access_token=` queries of
 *     requests to those services left in memory -> headers (and password) of that service's http[];
 *   - the stack-built AES IV and key -> encryption[]; with nothing else, a low-confidence partial.
 * Identification never rests on a cloud host name: the hits must show two independent ROKRAT
 * markers (code patterns, payload strings, the sandbox-DLL pair), as the rule does.
 */
#include "decoder.h"
#include "lib/mc_net.h"
#include "lib/mc_pe.h"
#include "lib/mc_stackstr.h"
#include "md_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RK_MAX_SPAN (64ull << 20)
#define RK_MAX_SPANS 16u
#define RK_MAX_EP 64u
#define RK_MAX_TOK 32u
#define RK_MAX_URL 512u
#define RK_LOOP_BACK 32u        /* bytes before the URL loop searched for its lea and length */
#define RK_DEC_MAX 512u         /* encoded buffer bytes decoded when no length is found */
#define RK_REQ_WINDOW 2048u     /* request text searched around a token */
#define RK_MAX_STACKSTR 256u

typedef struct svc_host { const char *host, *service; } svc_host;

static const svc_host HOSTS[] = {
    {"cloud-api.yandex.net", "yandex"}, {"api.pcloud.com", "pcloud"},
    {"api.dropboxapi.com", "dropbox"},  {"content.dropboxapi.com", "dropbox"},
    {"api.box.com", "box"},             {"upload.box.com", "box"},
    {"account.box.com", "box"},
};
#define NHOSTS (sizeof HOSTS / sizeof HOSTS[0])

typedef struct rk_ep { char url[RK_MAX_URL]; const char *service; uint64_t va; mc_form form; } rk_ep;

typedef struct rk_tok {
    const char *service, *host;
    char scheme[8];             /* "OAuth", "Bearer", "" for a query token */
    char token[RK_MAX_URL];
    char method[12], path[RK_MAX_URL];
    uint64_t va;
} rk_tok;

typedef struct rk_aes { bool iv_ok, key_ok; uint8_t iv[16], key[16]; uint64_t iv_va, key_va; } rk_aes;

typedef struct rk_found {
    rk_ep ep[RK_MAX_EP]; size_t nep;
    rk_tok tok[RK_MAX_TOK]; size_t ntok;
    rk_aes aes;
    bool decoded;               /* an endpoint came out of an encoded form */
    uint64_t anchor;
} rk_found;

typedef struct rk_state {
    const mc_decode_ctx *ctx;
    const md_dump *d;
    const mc_hits *hits;
    mc_results *out;
    int rc;
} rk_state;

/* ---- identification ---- */

/* Independent marker classes among the hits: the AES pair counts once, each payload string once,
 * the sandbox-DLL pair once. Cloud hosts are not hits of this family at all. */
static unsigned marker_classes(const mc_hits *hits)
{
    static const char *const single[] = {"$code_url_dec", "$code_mt", "$s_pho", "$s_def", "$s_login",
                                         "$s_cookie", "$s_charset", "$s_mac", "$s_aboard"};
    unsigned n = 0;
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) n += mc_hits_find(hits, single[i]) != NULL;
    n += mc_hits_find(hits, "$code_aes_iv") && mc_hits_find(hits, "$code_aes_key");
    n += mc_hits_find(hits, "$dll_log") && mc_hits_find(hits, "$dll_watch");
    return n;
}

/* ---- helpers ---- */

static bool url_char(uint8_t c) { return c && (isalnum(c) || strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL); }
static bool tok_char(uint8_t c) { return c && (isalnum(c) || strchr("-._~+/=", c) != NULL); }

static const svc_host *host_of(const char *url)
{
    mc_url *u = malloc(sizeof *u);
    const svc_host *h = NULL;
    if (u && mc_url_parse(url, u))
        for (size_t i = 0; i < NHOSTS && !h; i++)
            if (strcmp(u->host, HOSTS[i].host) == 0) h = &HOSTS[i];
    free(u);
    return h;
}

static void add_ep(rk_found *f, const char *url, uint64_t va, mc_form form)
{
    char full[RK_MAX_URL];
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        if (snprintf(full, sizeof full, "https://%s", url) >= (int)sizeof full) return;
    } else if (snprintf(full, sizeof full, "%s", url) >= (int)sizeof full) {
        return;
    }
    for (size_t i = 0; i < f->nep; i++)
        if (strcmp(f->ep[i].url, full) == 0) return;
    if (f->nep >= RK_MAX_EP) return;
    const svc_host *h = host_of(full);
    rk_ep *e = &f->ep[f->nep++];
    memcpy(e->url, full, sizeof full);
    e->service = h ? h->service : NULL;
    e->va = va;
    e->form = form;
}

/* Decoded text is a URL we report when it is printable and names http(s) or a cloud host. */
static bool decoded_url(const uint8_t *p, size_t n, void *ud)
{
    (void)ud;
    if (n < 8 || n >= RK_MAX_URL) return false;
    for (size_t i = 0; i < n; i++)
        if (!url_char(p[i])) return false;
    if (!memcmp(p, "http://", 7) || !memcmp(p, "https://", 8)) return true;
    for (size_t i = 0; i < NHOSTS; i++)
        if (memmem(p, n, HOSTS[i].host, strlen(HOSTS[i].host))) return true;
    return false;
}

/* ---- endpoints in clear ---- */

static void ascii_endpoints(const mc_pe_span *sp, rk_found *f)
{
    for (size_t h = 0; h < NHOSTS; h++) {
        size_t hl = strlen(HOSTS[h].host), at = 0;
        while (at < sp->size) {
            const uint8_t *m = memmem(sp->p + at, (size_t)sp->size - at, HOSTS[h].host, hl);
            if (!m) break;
            size_t st = (size_t)(m - sp->p), e = st + hl;
            at = st + 1;
            if (st > 0 && (isalnum(sp->p[st - 1]) || sp->p[st - 1] == '.' || sp->p[st - 1] == '-')) continue;
            if (st >= 8 && !memcmp(sp->p + st - 8, "https://", 8)) st -= 8;
            else if (st >= 7 && !memcmp(sp->p + st - 7, "http://", 7)) st -= 7;
            while (e < sp->size && e - st < RK_MAX_URL - 1 && url_char(sp->p[e])) e++;
            /* A string of its own (NUL on both sides), not a host inside request or page text. */
            if ((st > 0 && sp->p[st - 1] != 0) || e >= sp->size || sp->p[e] != 0) continue;
            char u[RK_MAX_URL];
            memcpy(u, sp->p + st, e - st);
            u[e - st] = '\0';
            add_ep(f, u, sp->va + st, MC_FORM_PLAINTEXT);
        }
    }
}

static bool wide_at(const uint8_t *p, size_t n, size_t i, uint8_t *c)
{
    if (i + 1 >= n || p[i + 1] != 0) return false;
    *c = p[i];
    return true;
}

static void wide_endpoints(const mc_pe_span *sp, rk_found *f)
{
    for (size_t h = 0; h < NHOSTS; h++) {
        uint8_t needle[64];
        size_t hl = strlen(HOSTS[h].host), at = 0;
        for (size_t i = 0; i < hl; i++) { needle[2 * i] = (uint8_t)HOSTS[h].host[i]; needle[2 * i + 1] = 0; }
        while (at < sp->size) {
            const uint8_t *m = memmem(sp->p + at, (size_t)sp->size - at, needle, 2 * hl);
            if (!m) break;
            size_t st = (size_t)(m - sp->p), e = st + 2 * hl;
            at = st + 2;
            uint8_t c;
            if (st >= 2 && wide_at(sp->p, sp->size, st - 2, &c) && (isalnum(c) || c == '.' || c == '-')) continue;
            static const uint8_t https16[16] = {'h', 0, 't', 0, 't', 0, 'p', 0, 's', 0, ':', 0, '/', 0, '/', 0};
            if (st >= 16 && !memcmp(sp->p + st - 16, https16, 16)) st -= 16;
            else if (st >= 14 && !memcmp(sp->p + st - 14, https16, 8) && !memcmp(sp->p + st - 6, https16 + 10, 6)) st -= 14;
            char u[RK_MAX_URL];
            size_t n = 0;
            while (e < sp->size && n + 2 * hl < RK_MAX_URL / 2 && wide_at(sp->p, sp->size, e, &c) && url_char(c)) { e += 2; n++; }
            if ((st >= 2 && (!wide_at(sp->p, sp->size, st - 2, &c) || c != 0)) || !wide_at(sp->p, sp->size, e, &c) || c != 0)
                continue;
            size_t k = 0;
            for (size_t i = st; i < e && k < sizeof u - 1; i += 2) u[k++] = (char)sp->p[i];
            u[k] = '\0';
            add_ep(f, u, sp->va + st, MC_FORM_PLAINTEXT);
        }
    }
}

/* ---- encoded forms ---- */

static void stack_scan(rk_state *s, const uint8_t *code, size_t len, uint64_t va, unsigned bits,
                       mc_stackstr *ss, uint8_t *out, rk_found *f)
{
    size_t n = mc_stackstr_scan(code, len, bits, ss, RK_MAX_STACKSTR);
    for (size_t i = 0; i < n && !mc_expired(s->ctx); i++) {
        size_t dl;
        if (!ss[i].has_key || ss[i].wide) continue;
        if (!mc_stackstr_decode(&ss[i], decoded_url, NULL, out, MC_STACKSTR_MAX, &dl, NULL)) continue;
        char u[RK_MAX_URL];
        memcpy(u, out, dl);
        u[dl] = '\0';
        add_ep(f, u, va + ss[i].offset, MC_FORM_IMAGE_ENCRYPTED);
        f->decoded = true;
    }
}

/* Stack strings live in code: the executable sections of an image, or all of a header-less copy. */
static void stack_endpoints(rk_state *s, const mc_pe_span *sp, rk_found *f)
{
    unsigned bits = sp->has_pe ? (sp->pe.pe64 ? 64 : 32) : (s->d->arch == MD_ARCH_AMD64 ? 64 : 32);
    mc_stackstr *ss = malloc(RK_MAX_STACKSTR * sizeof *ss);
    uint8_t *out = malloc(MC_STACKSTR_MAX);
    if (!ss || !out) { s->rc = -1; goto done; }
    if (!sp->has_pe) {
        stack_scan(s, sp->p, (size_t)sp->size, sp->va, bits, ss, out, f);
        goto done;
    }
    for (uint32_t i = 0; i < sp->pe.nsections; i++) {
        const mc_pe_section *sec = &sp->pe.sect[i];
        uint64_t va, size;
        if (!(sec->characteristics & 0x20000020u) || !mc_pe_section_span(&sp->pe, sec, &va, &size)) continue;
        if (va < sp->va || va - sp->va >= sp->size) continue;
        if (size > sp->size - (va - sp->va)) size = sp->size - (va - sp->va);
        stack_scan(s, sp->p + (va - sp->va), (size_t)size, va, bits, ss, out, f);
    }
done:
    free(ss);
    free(out);
}

/* rip-relative lea target, honouring a flat layout (file offsets are not RVAs there). */
static bool rip_target(const mc_pe_span *sp, size_t lea_off, int32_t disp, uint64_t *va)
{
    uint64_t ip = sp->va + lea_off + 7;
    if (!sp->has_pe) { *va = ip + (uint64_t)(int64_t)disp; return true; }
    uint32_t rva;
    if (!mc_pe_va_to_rva(&sp->pe, ip, &rva)) return false;
    return mc_pe_rva_to_va(&sp->pe, (uint32_t)(rva + (uint32_t)disp), va);
}

static void loop_buffer(rk_state *s, const mc_pe_span *sp, uint64_t loop_va, rk_found *f)
{
    size_t loop = (size_t)(loop_va - sp->va), lo = loop > RK_LOOP_BACK ? loop - RK_LOOP_BACK : 0;
    int64_t lea = -1;
    uint32_t len = 0;
    for (size_t i = lo; i + 7 <= loop; i++) {
        if ((sp->p[i] & 0xFB) == 0x48 && sp->p[i + 1] == 0x8D && (sp->p[i + 2] & 0xC7) == 0x05) lea = (int64_t)i;
        if (sp->p[i] == 0xBA && i + 5 <= loop && md_le32(sp->p + i + 1) > 0 && md_le32(sp->p + i + 1) < RK_MAX_URL)
            len = md_le32(sp->p + i + 1);
    }
    uint64_t va;
    if (lea < 0 || !rip_target(sp, (size_t)lea, (int32_t)md_le32(sp->p + lea + 3), &va)) return;
    uint8_t buf[RK_DEC_MAX];
    size_t n = (size_t)md_read(s->d, va, buf, len ? len : RK_DEC_MAX);
    if (len && n != len) return;
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)((uint8_t)(buf[i] - 0x0F) ^ 0xC8);
        if (!len && buf[i] == 0) { n = i; break; }
    }
    if (!decoded_url(buf, n, NULL)) return;
    char u[RK_MAX_URL];
    memcpy(u, buf, n);
    u[n] = '\0';
    add_ep(f, u, va, MC_FORM_IMAGE_ENCRYPTED);
    f->decoded = true;
}

/* The eight mov dword immediates around an AES marker: the 16 bytes stored from the marker's
 * slot on, read back in displacement order. */
static bool aes_block(const mc_pe_span *sp, uint64_t hit_va, uint8_t out[16])
{
    size_t at = (size_t)(hit_va - sp->va);
    if (at + 8 > sp->size || sp->p[at] != 0xC7) return false;
    bool sib = sp->p[at + 1] == 0x44;
    size_t step = sib ? 8 : 7, dpos = sib ? 3 : 2;
    uint8_t disp0 = sp->p[at + dpos];
    for (unsigned k = 0; k < 4; k++) {
        size_t o = at + k * step;
        if (o + step > sp->size || sp->p[o] != 0xC7 || sp->p[o + 1] != sp->p[at + 1] ||
            (sib && sp->p[o + 2] != 0x24) || sp->p[o + dpos] != (uint8_t)(disp0 + 4 * k))
            return false;
        memcpy(out + 4 * k, sp->p + o + dpos + 1, 4);
    }
    return true;
}

static void aes_consts(rk_state *s, const mc_pe_span *sp, rk_found *f)
{
    for (size_t i = 0; i < s->hits->n; i++) {
        const mc_hit *h = &s->hits->v[i];
        if (h->va < sp->va || h->va - sp->va >= sp->size) continue;
        if (mc_hit_is(h, "$code_aes_iv") && !f->aes.iv_ok && aes_block(sp, h->va, f->aes.iv)) {
            f->aes.iv_ok = true;
            f->aes.iv_va = h->va;
        }
        if (mc_hit_is(h, "$code_aes_key") && !f->aes.key_ok && aes_block(sp, h->va, f->aes.key)) {
            f->aes.key_ok = true;
            f->aes.key_va = h->va;
        }
        if (mc_hit_is(h, "$code_url_dec")) loop_buffer(s, sp, h->va, f);
    }
}

/* ---- tokens in request buffers ---- */

/* The cloud host a request names in its Host header (nearest before or after the token). */
static const svc_host *request_host(const uint8_t *w, size_t n, size_t tok)
{
    const svc_host *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t h = 0; h < NHOSTS; h++) {
        char needle[64];
        int nl = snprintf(needle, sizeof needle, "Host: %s\r\n", HOSTS[h].host);
        for (size_t at = 0; at < n;) {
            const uint8_t *m = memmem(w + at, n - at, needle, (size_t)nl);
            if (!m) break;
            size_t o = (size_t)(m - w), d = o > tok ? o - tok : tok - o;
            if (d < bestd) { bestd = d; best = &HOSTS[h]; }
            at = o + 1;
        }
    }
    return best;
}

/* "METHOD /path HTTP/1.x" of the request that holds the token: the nearest request line at or
 * before the token's line, within the same NUL-delimited buffer. */
static void request_line(const uint8_t *w, size_t n, size_t tok, rk_tok *t)
{
    size_t line = tok;
    while (line < n && w[line] != '\n' && w[line] != 0) line++;
    while (line > 0 && w[line - 1] != 0) {
        size_t st = line - 1;
        while (st > 0 && w[st - 1] != '\n' && w[st - 1] != 0) st--;
        const uint8_t *sp1 = memchr(w + st, ' ', line - st);
        if (sp1 && memmem(w + st, line - st, " HTTP/1.", 8)) {
            size_t ml = (size_t)(sp1 - (w + st));
            const uint8_t *pe = memchr(sp1 + 1, ' ', (size_t)(w + line - (sp1 + 1)));
            if (ml > 0 && ml < sizeof t->method && pe && pe[-1] != ' ' && sp1[1] == '/') {
                size_t pl = (size_t)(pe - sp1 - 1);
                if (pl >= sizeof t->path) return;
                memcpy(t->method, w + st, ml);
                t->method[ml] = '\0';
                memcpy(t->path, sp1 + 1, pl);
                t->path[pl] = '\0';
                /* A query token stays out of the path: it is reported as the credential. */
                char *q = strstr(t->path, "access_token=");
                if (q && q > t->path && (q[-1] == '?' || q[-1] == '&')) q[-1] = '\0';
                return;
            }
        }
        line = st;
    }
}

static void add_token(rk_state *s, rk_found *f, uint64_t va, size_t vlen, const char *scheme)
{
    uint64_t lo = va > RK_REQ_WINDOW ? va - RK_REQ_WINDOW : 0;
    const md_region *rg = md_region_at(s->d, va);
    if (!rg) return;
    if (lo < rg->va) lo = rg->va;
    uint64_t hi = va + RK_REQ_WINDOW, end = rg->va + rg->size;
    if (hi > end) hi = end;
    size_t n = (size_t)(hi - lo), tok = (size_t)(va - lo), e = tok + vlen;
    uint8_t *w = malloc(n ? n : 1);
    if (!w) { s->rc = -1; return; }
    n = (size_t)md_read(s->d, lo, w, n);
    size_t ts = e;
    while (e < n && e - ts < RK_MAX_URL - 1 && tok_char(w[e])) e++;
    const svc_host *h = request_host(w, n, tok);
    if (e - ts >= 16 && h && f->ntok < RK_MAX_TOK) {
        rk_tok *t = &f->tok[f->ntok];
        memset(t, 0, sizeof *t);
        t->service = h->service;
        t->host = h->host;
        snprintf(t->scheme, sizeof t->scheme, "%s", scheme);
        memcpy(t->token, w + ts, e - ts);
        t->va = lo + ts;
        request_line(w, n, tok, t);
        bool dup = false;
        for (size_t i = 0; i < f->ntok; i++)
            dup |= strcmp(f->tok[i].token, t->token) == 0 && strcmp(f->tok[i].host, t->host) == 0;
        if (!dup) f->ntok++;
    }
    free(w);
}

/* Tokens in request text: the scan located every candidate ($tok_* strings of the rule). */
static void tokens(rk_state *s, rk_found *f)
{
    static const struct { const char *id, *pat, *scheme; } P[] = {
        {"$tok_oauth", "Authorization: OAuth ", "OAuth"},
        {"$tok_bearer", "Authorization: Bearer ", "Bearer"},
        {"$tok_query", "access_token=", ""}};
    for (size_t i = 0; i < s->hits->n && f->ntok < RK_MAX_TOK && !mc_expired(s->ctx); i++)
        for (size_t k = 0; k < sizeof P / sizeof P[0]; k++)
            if (mc_hit_is(&s->hits->v[i], P[k].id))
                add_token(s, f, s->hits->v[i].va, strlen(P[k].pat), P[k].scheme);
}

/* ---- report ---- */

static void emit_http(mc_config *c, const char *url, const rk_tok *t, const char *method, mc_where w)
{
    char auth[RK_MAX_URL + 16];
    const char *hn[1] = {"Authorization"}, *hv[1] = {auth};
    mc_http_extra x = {.method = method};
    if (t) {
        x.password = t->token;
        if (t->scheme[0]) {
            snprintf(auth, sizeof auth, "%s %s", t->scheme, t->token);
            x.header_names = hn;
            x.header_values = hv;
            x.nheaders = 1;
        }
    }
    mc_cfg_url(c, url, NULL, "c2", t || method ? &x : NULL, w);
}

static const rk_tok *service_token(const rk_found *f, const char *service)
{
    for (size_t i = 0; service && i < f->ntok; i++)
        if (strcmp(f->tok[i].service, service) == 0) return &f->tok[i];
    return NULL;
}

static void report(rk_state *s, rk_found *f)
{
    bool aes = f->aes.iv_ok && f->aes.key_ok;
    if (!f->nep && !f->ntok && !aes) return;
    mc_config *c = mc_cfg_new(s->out, "rokrat", f->anchor);
    if (!c) { s->rc = -1; return; }
    mc_cfg_category(c, "rat");
    for (size_t i = 0; i < f->nep; i++)
        emit_http(c, f->ep[i].url, service_token(f, f->ep[i].service), NULL, mc_at(f->ep[i].va, f->ep[i].form));
    json_t *toks = json_array();
    for (size_t i = 0; i < f->ntok; i++) {
        const rk_tok *t = &f->tok[i];
        char url[RK_MAX_URL + 64];
        snprintf(url, sizeof url, "https://%s%s", t->host, t->path[0] ? t->path : "/");
        /* A request to an endpoint already reported adds its credential there, not a new entry. */
        bool known = false;
        for (size_t k = 0; k < f->nep && !known; k++) known = strcmp(f->ep[k].url, url) == 0;
        if (!known) emit_http(c, url, t, t->method[0] ? t->method : NULL, mc_at(t->va, MC_FORM_HEAP_DECRYPTED));
        mc_cfg_str(c, MC_F_PASSWORD, t->token, mc_at(t->va, MC_FORM_HEAP_DECRYPTED));
        json_array_append_new(toks, json_pack("{s:s,s:s,s:s}", "service", t->service, "host", t->host,
                                              "scheme", t->scheme[0] ? t->scheme : "access_token"));
    }
    if (json_array_size(toks)) mc_cfg_other(c, "tokens", toks, mc_at(f->tok[0].va, MC_FORM_HEAP_DECRYPTED));
    else json_decref(toks);
    if (aes) {
        mc_crypto k = {.algorithm = "AES-128", .mode = "CBC", .key = f->aes.key, .key_len = 16,
                       .iv = f->aes.iv, .iv_len = 16, .usage = "other"};
        mc_cfg_encryption(c, &k, mc_at(f->aes.key_va, MC_FORM_PLAINTEXT));
    }
    if (f->nep || f->ntok) mc_cfg_status(c, MC_STATUS_COMPLETE, f->decoded || f->ntok ? 90 : 75);
    else mc_cfg_status(c, MC_STATUS_PARTIAL, 30);
}

static bool span_worthy(const mc_hit *h)
{
    return !strncmp(h->string_id, "$code_", 6) || !strncmp(h->string_id, "$s_", 3);
}

static int rokrat_decode(const mc_decode_ctx *ctx, const md_dump *dump, const mc_hits *hits,
                         mc_results *out)
{
    rk_state s = {.ctx = ctx, .d = dump, .hits = hits, .out = out};
    if (marker_classes(hits) < 2) return 0;
    rk_found *f = calloc(1, sizeof *f);
    if (!f) return -1;
    uint64_t done[RK_MAX_SPANS];
    size_t ndone = 0;
    for (size_t i = 0; i < hits->n && !mc_expired(ctx) && s.rc == 0; i++) {
        mc_pe_span sp;
        if (!span_worthy(&hits->v[i])) continue;
        int o = mc_pe_span_open(dump, hits->v[i].va, RK_MAX_SPAN, done, &ndone, RK_MAX_SPANS, &sp);
        if (o < 0) s.rc = -1;
        if (o <= 0) continue;
        if (!f->anchor) f->anchor = sp.va;
        ascii_endpoints(&sp, f);
        wide_endpoints(&sp, f);
        stack_endpoints(&s, &sp, f);
        aes_consts(&s, &sp, f);
        mc_pe_span_close(&sp);
    }
    if (f->anchor && s.rc == 0) {
        tokens(&s, f);
        report(&s, f);
    }
    free(f);
    return s.rc;
}

extern const char mc_rules_rokrat[];

const mc_decoder mc_decoder_rokrat = {
    .family = "rokrat",
    .display = "ROKRAT",
    .version = "1",
    .category = "rat",
    .rules = mc_rules_rokrat,
    .decode = rokrat_decode,
};
