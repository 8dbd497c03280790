/* RedLine Stealer: config of the .NET image (families.md §6).
 *
 * Four strings, in this order: IP (one or more `host:port`), ID (campaign), Message, Key. IP and
 * usually ID are "StringDecrypt"-encoded: base64, XOR with the Key text, base64 again. They sit in
 * a run of ldstr + store instructions (static fields in a .cctor, instance fields in a ctor, or
 * locals), which is the first place looked. When no IL run opens, the #US heap order gives them
 * away: they are compiled next to the `Yandex\YaAddon` literal (before it in newer builds, after
 * it in older ones) or after the `Authorization` literal. Either way the candidates form an
 * ordered sequence; each literal is tried as the Key against the others, and the proof is a
 * decrypted IP of the `host:port(|host:port)*` shape with valid hosts and ports. Decrypted copies
 * on the GC heap raise the confidence; when no image gives a config, the heap alone gives a
 * low-confidence partial (see "heap only" below).
 */
#include "decoder.h"
#include "lib/mc_crypto.h"
#include "lib/mc_dotnet.h"
#include "lib/mc_net.h"
#include "md_internal.h"
#include "xwred_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char mc_rules_redline[];

#define RL_MAX_SEQ 8              /* literals in one candidate sequence */
#define RL_WINDOW 5               /* #US entries taken on each side of an anchor */
#define RL_MAX_METHODS 8192
#define RL_MAX_IL_TOTAL (8u << 20)
#define RL_MAX_US 65536
#define RL_MAX_KEY 64

typedef enum rl_origin { RL_IL = 0, RL_ANCHOR } rl_origin;

typedef struct rl_lit {
    char *text;               /* UTF-8, owned */
    uint64_t va;              /* VA of the #US entry */
} rl_lit;

typedef struct rl_seq {
    rl_lit v[RL_MAX_SEQ];
    size_t n;
    rl_origin origin;
    uint64_t anchor;          /* IL run or anchor entry VA */
    int version;              /* ldc.i4 stored right after an IL run, -1 none */
} rl_seq;

typedef struct rl_found {
    int c2, id, msg, key;     /* indices into the sequence, -1 when absent */
    char *c2_plain, *id_plain;
} rl_found;

static void seq_free(rl_seq *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i].text);
    s->n = 0;
}

/* ---- crypto and value shapes ---- */

/* UTF8(b64decode(XOR(b64decode(enc), key))), NULL unless every step holds and the text prints. */
static char *string_decrypt(const char *enc, const char *key)
{
    size_t kl = strlen(key);
    uint8_t *mixed, *inner = NULL;
    long n = xw_b64(enc, 4, &mixed);
    if (n < 4 || kl == 0) { free(mixed); return NULL; }
    mc_xor(mixed, (size_t)n, (const uint8_t *)key, kl, mixed);
    char *text = malloc((size_t)n + 1), *res = NULL;
    if (text) {
        memcpy(text, mixed, (size_t)n);
        text[n] = 0;
        long m = strlen(text) == (size_t)n ? xw_b64(text, 4, &inner) : -1;
        if (m > 0 && xw_printable(inner, (size_t)m) && (res = malloc((size_t)m + 1)) != NULL) {
            memcpy(res, inner, (size_t)m);
            res[m] = 0;
        }
    }
    free(text);
    free(inner);
    free(mixed);
    return res;
}

typedef struct ep_check { size_t bad; bool (*host_ok)(const char *); } ep_check;

static void endpoint_check(const char *piece, void *arg)
{
    char host[MC_HOST_MAX];
    long port;
    ep_check *c = arg;
    if (!mc_split_hostport(piece, host, sizeof host, &port) || port <= 0 || !c->host_ok(host)) c->bad++;
}

/* `host:port`, possibly several separated by `|` (or `;`, `,`), every host passing host_ok. */
static bool endpoints_shape_of(const char *s, bool (*host_ok)(const char *))
{
    ep_check c = {0, host_ok};
    if (!*s || strlen(s) > 1024 || !strchr(s, ':')) return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:|;,[]", *p)) return false;
    xw_split(s, "|;,", endpoint_check, &c);
    return c.bad == 0;
}

static bool endpoints_shape(const char *s) { return endpoints_shape_of(s, mc_is_host); }

static bool key_shape(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RL_MAX_KEY) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20) return false;
    return true;
}

/* ---- cracking one sequence ---- */

static bool find_encrypted(const rl_seq *s, rl_found *f)
{
    for (size_t k = 0; k < s->n; k++) {
        if (!key_shape(s->v[k].text)) continue;
        for (size_t i = 0; i < s->n; i++) {
            if (i == k) continue;
            char *p = string_decrypt(s->v[i].text, s->v[k].text);
            if (p && endpoints_shape(p)) {
                f->c2 = (int)i;
                f->key = (int)k;
                f->c2_plain = p;
                return true;
            }
            free(p);
        }
    }
    return false;
}

/* Plaintext builds: in an IL run the IP is the first literal; next to an anchor, any. */
static bool find_plain(const rl_seq *s, rl_found *f)
{
    size_t lim = s->origin == RL_IL ? 1 : s->n;
    for (size_t i = 0; i < lim && i + 1 < s->n; i++)
        if (endpoints_shape(s->v[i].text)) {
            f->c2 = (int)i;
            return true;
        }
    return false;
}

/* ID follows the IP; Message sits between the ID and the Key. */
static void find_rest(const rl_seq *s, rl_found *f)
{
    int next = f->c2 + 1;
    if (next == f->key) next++;
    if (next < (int)s->n) {
        const char *t = s->v[next].text;
        f->id_plain = f->key >= 0 ? string_decrypt(t, s->v[f->key].text) : NULL;
        if (f->id_plain || (*t && strlen(t) <= 128 && xw_printable((const uint8_t *)t, strlen(t)) && !endpoints_shape(t)))
            f->id = next;
    }
    if (f->id >= 0 && f->key > f->id + 1) f->msg = f->id + 1;
}

static bool crack(const rl_seq *s, rl_found *f)
{
    *f = (rl_found){-1, -1, -1, -1, NULL, NULL};
    if (!find_encrypted(s, f) && !find_plain(s, f)) return false;
    find_rest(s, f);
    return true;
}

/* ---- candidate sequences from IL runs ---- */

static bool is_store(const mc_dn_insn *in)
{
    return in->op == 0x80 || in->op == 0x7D || (in->op >= 0x0A && in->op <= 0x0D) || in->op == 0x13;
}

static int ldc_value(const mc_dn_insn *in)
{
    if (in->op >= 0x16 && in->op <= 0x1E) return in->op - 0x16;
    if (in->op == 0x1F || in->op == 0x20) return (int)in->arg;
    return -1;
}

static void seq_add(const mc_dotnet *dn, rl_seq *s, uint32_t token)
{
    char *t = malloc(XW_MAX_TEXT);
    uint64_t va;
    if (t && s->n < RL_MAX_SEQ && mc_dn_us_utf8(dn, token, t, XW_MAX_TEXT, &va) == MC_DN_OK) {
        s->v[s->n].text = t;
        s->v[s->n].va = va;
        s->n++;
        return;
    }
    free(t);
}

typedef bool (*rl_try_fn)(const rl_seq *s, void *arg);

/* Runs of `[ldarg.0] ldstr; store` in one body; calls fn for each run of two or more. */
static bool runs_in_body(const mc_dotnet *dn, const mc_dn_body *b, rl_try_fn fn, void *arg)
{
    rl_seq s = {.origin = RL_IL, .version = -1};
    mc_dn_insn in, nx;
    uint32_t pos = 0;
    bool done = false;
    while (!done && mc_dn_next_insn(b->code, b->len, &pos, &in)) {
        uint32_t save = pos;
        if (in.op == 0x02 && mc_dn_next_insn(b->code, b->len, &save, &nx) && nx.op == 0x72) continue;
        if (in.op == 0x72 && ((uint32_t)in.arg >> 24) == 0x70 && mc_dn_next_insn(b->code, b->len, &save, &nx) &&
            is_store(&nx)) {
            if (s.n == 0) s.anchor = b->va + in.off;
            seq_add(dn, &s, (uint32_t)in.arg);
            pos = save;
            continue;
        }
        if (s.n >= 2) {
            /* `ldc.i4 n; stsfld Version` closes the static form */
            if (ldc_value(&in) >= 0 && mc_dn_next_insn(b->code, b->len, &save, &nx) && nx.op == 0x80)
                s.version = ldc_value(&in);
            done = fn(&s, arg);
        }
        seq_free(&s);
        s.version = -1;
    }
    if (!done && s.n >= 2) done = fn(&s, arg);
    seq_free(&s);
    return done;
}

static bool scan_il(const mc_decode_ctx *ctx, const mc_dotnet *dn, rl_try_fn fn, void *arg)
{
    uint32_t n = mc_dn_rows(dn, MC_DN_T_METHODDEF);
    uint64_t total = 0;
    if (n > RL_MAX_METHODS) n = RL_MAX_METHODS;
    for (uint32_t r = 1; r <= n && total < RL_MAX_IL_TOTAL && !mc_expired(ctx); r++) {
        mc_dn_body b;
        if (mc_dn_get_body(dn, r, &b) != MC_DN_OK) continue;
        total += b.len;
        bool done = runs_in_body(dn, &b, fn, arg);
        mc_dn_body_free(&b);
        if (done) return true;
    }
    return false;
}

/* ---- candidate sequences from #US anchors ---- */

static uint64_t us_va(const mc_dotnet *dn, const xw_us_entry *e)
{
    return dn->md_va + dn->us.off + e->off;
}

static bool window(const mc_dotnet *dn, const xw_us_entry *e, size_t n, size_t lo, size_t hi, uint64_t anchor,
                   rl_try_fn fn, void *arg)
{
    rl_seq s = {.origin = RL_ANCHOR, .anchor = anchor, .version = -1};
    for (size_t i = lo; i < hi && i < n && s.n < RL_MAX_SEQ; i++) {
        s.v[s.n].text = strdup(e[i].text);
        s.v[s.n].va = us_va(dn, &e[i]);
        if (s.v[s.n].text) s.n++;
    }
    bool done = s.n >= 2 && fn(&s, arg);
    seq_free(&s);
    return done;
}

static bool is_hex32(const char *s)
{
    if (strlen(s) != 32) return false;
    for (size_t i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

typedef struct rl_anchor_info {
    const char *authorization;   /* the 32-hex value before `Authorization`, or NULL */
    uint64_t authorization_va;
} rl_anchor_info;

static bool scan_anchors(const mc_dotnet *dn, rl_anchor_info *ai, rl_try_fn fn, void *arg)
{
    xw_us_entry *e = malloc(sizeof *e * RL_MAX_US);
    if (!e) return false;
    size_t n = xw_us_walk(dn, e, RL_MAX_US);
    bool done = false;
    char *auth = NULL;
    for (size_t i = 0; i < n && !done; i++) {
        uint64_t va = us_va(dn, &e[i]);
        if (strcmp(e[i].text, "Yandex\\YaAddon") == 0) {
            done = window(dn, e, n, i >= RL_WINDOW ? i - RL_WINDOW : 0, i, va, fn, arg) ||
                   window(dn, e, n, i + 1, i + 1 + RL_WINDOW, va, fn, arg);
        } else if (strcmp(e[i].text, "Authorization") == 0) {
            if (i > 0 && is_hex32(e[i - 1].text)) {
                free(auth);
                auth = strdup(e[i - 1].text);
                ai->authorization_va = us_va(dn, &e[i - 1]);
            }
            ai->authorization = auth;
            done = window(dn, e, n, i + 1, i + 1 + RL_WINDOW + 1, va, fn, arg);
        }
    }
    if (!done) { free(auth); ai->authorization = NULL; }
    xw_us_free(e, n);
    free(e);
    return done;
}

/* ---- output ---- */

typedef struct rl_job {
    const mc_decode_ctx *ctx;
    const md_dump *d;
    mc_results *out;
    rl_anchor_info ai;
} rl_job;

typedef struct ep_ctx {
    mc_config *c;
    mc_where w;
    size_t n;
} ep_ctx;

static void add_endpoint(const char *piece, void *arg)
{
    ep_ctx *ep = arg;
    if (mc_cfg_hostport(ep->c, piece, -1, "c2", ep->w)) ep->n++;
}

static size_t emit_endpoints(mc_config *c, const char *list, mc_where w)
{
    ep_ctx ep = {c, w, 0};
    xw_split(list, "|;,", add_endpoint, &ep);
    return ep.n;
}

static void emit_fields(mc_config *c, const rl_seq *s, const rl_found *f, const char *c2)
{
    mc_cfg_raw_str(c, "IP", c2);
    if (f->id >= 0) {
        const char *id = f->id_plain ? f->id_plain : s->v[f->id].text;
        mc_cfg_str(c, MC_F_CAMPAIGN_ID, id, mc_at(s->v[f->id].va, f->id_plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT));
        mc_cfg_raw_str(c, "ID", id);
    }
    if (f->msg >= 0) {
        mc_cfg_other(c, "message", mc_json_str(s->v[f->msg].text), mc_at(s->v[f->msg].va, MC_FORM_PLAINTEXT));
        mc_cfg_raw_str(c, "Message", s->v[f->msg].text);
    }
    if (f->key >= 0) {
        const char *k = s->v[f->key].text;
        mc_crypto e = {.algorithm = "XOR", .key = (const uint8_t *)k, .key_len = strlen(k), .password = k,
                       .usage = "config"};
        mc_cfg_encryption(c, &e, mc_at(s->v[f->key].va, MC_FORM_PLAINTEXT));
        mc_cfg_raw_str(c, "Key", k);
    }
    if (s->version >= 0) {
        mc_cfg_other(c, "config_version", json_integer(s->version), mc_at(s->anchor, MC_FORM_PLAINTEXT));
        mc_cfg_raw(c, "Version", json_integer(s->version));
    }
}

static bool emit(const rl_seq *s, void *arg)
{
    rl_job *j = arg;
    rl_found f;
    if (!crack(s, &f)) return false;
    const char *c2 = f.c2_plain ? f.c2_plain : s->v[f.c2].text;
    mc_config *c = mc_cfg_new(j->out, "redline", s->anchor);
    if (!c) { free(f.c2_plain); free(f.id_plain); return true; }
    mc_cfg_category(c, "infostealer");
    size_t n = emit_endpoints(c, c2, mc_at(s->v[f.c2].va, f.c2_plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT));
    emit_fields(c, s, &f, c2);
    if (j->ai.authorization) {
        mc_cfg_other(c, "authorization", mc_json_str(j->ai.authorization), mc_at(j->ai.authorization_va, MC_FORM_PLAINTEXT));
        mc_cfg_raw_str(c, "Authorization", j->ai.authorization);
    }
    /* decrypted copies on the GC heap */
    size_t heap = 0;
    uint64_t va;
    if (f.c2_plain && (va = xw_heap_find(j->ctx, j->d, c2)) != 0) { emit_endpoints(c, c2, mc_at(va, MC_FORM_HEAP_DECRYPTED)); heap++; }
    if (f.id_plain && (va = xw_heap_find(j->ctx, j->d, f.id_plain)) != 0) {
        mc_cfg_str(c, MC_F_CAMPAIGN_ID, f.id_plain, mc_at(va, MC_FORM_HEAP_DECRYPTED));
        heap++;
    }
    int conf = f.key < 0 ? 55 : s->origin == RL_IL ? 85 : 75;
    conf += 5 * (int)heap;
    if (f.key < 0) mc_cfg_warn(c, "settings stored in clear: no key needed, shape match only");
    if (s->origin == RL_ANCHOR) mc_cfg_warn(c, "settings located by #US order next to an anchor literal, not by IL");
    mc_cfg_status(c, n ? MC_STATUS_COMPLETE : MC_STATUS_PARTIAL, conf > 99 ? 99 : conf);
    free(f.c2_plain);
    free(f.id_plain);
    return true;
}

static size_t on_image(void *arg, const md_image *img, mc_dotnet *dn)
{
    const rl_job *base = arg;
    rl_job j = {base->ctx, base->d, base->out, {NULL, 0}};
    (void)img;
    bool done = scan_il(j.ctx, dn, emit, &j) || scan_anchors(dn, &j.ai, emit, &j);
    free((char *)j.ai.authorization);
    return done;
}

/* ---- heap only: the image is gone, the decrypted strings are not ----
 *
 * Markers, each a whole CLR string: the `Yandex\YaAddon` literal the browser scan interns, the
 * `Authorization` address-header name, and the `net.tcp://host:port/` URI of the WCF channel to
 * the panel. `Yandex\YaAddon` and one of the others near it are needed. Around them:
 * - the URI's endpoint;
 * - StringDecrypt's own trace: Read() builds the inner base64 text and then, a few objects later,
 *   the plaintext it decodes to, so a base64 string followed by its exact decoding is a value
 *   the client decrypted: the first such endpoint is the IP, the next value the ID;
 * - `host:port` strings (the IP setting is held in a static field for the life of the process).
 */

typedef enum rh_kind { RH_YANDEX = 0, RH_AUTH, RH_NETTCP, RH__N } rh_kind;

#define RH_PAIR_GAP 4             /* objects between StringDecrypt's inner text and its plaintext */
#define RH_MAX_ID 128

static bool heap_marker_shape(rh_kind k, const char *s)
{
    return k == RH_YANDEX ? strcmp(s, "Yandex\\YaAddon") == 0 :
           k == RH_AUTH ? strcmp(s, "Authorization") == 0 : strncmp(s, "net.tcp://", 10) == 0;
}

/* Endpoints on the heap, with no field name to vouch for them: bare hosts only (mc_net.h). */
static bool heap_endpoints_shape(const char *s) { return endpoints_shape_of(s, mc_is_bare_host); }

static bool nettcp_endpoint(const char *s, char *out, size_t outsz)
{
    if (strncmp(s, "net.tcp://", 10) != 0) return false;
    size_t k = strcspn(s + 10, "/");
    if (k == 0 || k >= outsz) return false;
    memcpy(out, s + 10, k);
    out[k] = 0;
    return heap_endpoints_shape(out);
}

/* Index of the plaintext that h->v[i] (base64) decodes to, within RH_PAIR_GAP objects, or -1. */
static long decrypt_pair(const xw_heap *h, size_t i)
{
    uint8_t *dec;
    long n = xw_b64(h->v[i].text, 8, &dec), found = -1;
    if (n <= 0) return -1;
    for (size_t j = i + 1; j < h->n && j <= i + RH_PAIR_GAP && found < 0; j++)
        if (strlen(h->v[j].text) == (size_t)n && memcmp(h->v[j].text, dec, (size_t)n) == 0) found = (long)j;
    free(dec);
    return found;
}

/* Marker objects near the first `Yandex\YaAddon`; true with it and one other kind. */
static bool heap_markers(const md_dump *d, const mc_hits *hits, uint64_t obj[RH__N])
{
    static const char *const ids[RH__N] = {"$heap_yandex", "$heap_auth", "$heap_nettcp"};
    uint64_t all[RH__N][8];
    size_t n[RH__N] = {0};
    for (size_t i = 0; i < hits->n; i++)
        for (int k = 0; k < RH__N; k++) {
            xw_heap_str s;
            if (!mc_hit_is(&hits->v[i], ids[k]) || n[k] == 8) continue;
            /* every heap rule string starts at the object's length field */
            if (xw_heap_str_at(d, hits->v[i].va + 4, 10, &s) && heap_marker_shape((rh_kind)k, s.text))
                all[k][n[k]++] = s.obj;
        }
    if (!n[RH_YANDEX]) return false;
    uint64_t anchor = all[RH_YANDEX][0];
    int kinds = 0;
    for (int k = 0; k < RH__N; k++) {
        obj[k] = 0;
        for (size_t i = 0; i < n[k] && !obj[k]; i++)
            if ((all[k][i] > anchor ? all[k][i] - anchor : anchor - all[k][i]) <= XW_HEAP_WINDOW) obj[k] = all[k][i];
        kinds += obj[k] != 0;
    }
    return kinds >= 2;
}

typedef struct rh_found {
    long ip, id;              /* StringDecrypt plaintexts, -1 none */
    size_t nuri, nbare;       /* net.tcp URIs and host:port strings with endpoints */
} rh_found;

static void heap_scan(const xw_heap *h, rh_found *f)
{
    char ep[MC_HOST_MAX + 16];
    *f = (rh_found){-1, -1, 0, 0};
    for (size_t i = 0; i < h->n; i++) {
        const char *t = h->v[i].text;
        if (nettcp_endpoint(t, ep, sizeof ep)) f->nuri++;
        if (heap_endpoints_shape(t)) f->nbare++;
        long j = decrypt_pair(h, i);
        if (j < 0) continue;
        const char *p = h->v[j].text;
        if (f->ip < 0 && heap_endpoints_shape(p)) f->ip = j;
        else if (f->ip >= 0 && f->id < 0 && j > f->ip && !heap_endpoints_shape(p) && strlen(p) <= RH_MAX_ID) f->id = j;
    }
}

/* Endpoints traced to the client's own use (a StringDecrypt plaintext, the channel URI) are the
 * only ones reported when there are any. */
static void heap_emit(mc_config *c, const xw_heap *h, const rh_found *f, size_t *nconn)
{
    char ep[MC_HOST_MAX + 16];
    bool traced = f->ip >= 0 || f->nuri;
    if (f->ip >= 0) {
        *nconn += emit_endpoints(c, h->v[f->ip].text, mc_at(h->v[f->ip].obj, MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "IP", h->v[f->ip].text);
    }
    for (size_t i = 0; i < h->n; i++) {
        const char *t = h->v[i].text;
        mc_where w = mc_at(h->v[i].obj, MC_FORM_HEAP_DECRYPTED);
        if (nettcp_endpoint(t, ep, sizeof ep)) {
            *nconn += emit_endpoints(c, ep, w);
            mc_cfg_raw_str(c, "heap_endpoint_uri", t);
        } else if (!traced && heap_endpoints_shape(t)) {
            /* no trace of the client's own use: every host:port string beside the markers */
            *nconn += emit_endpoints(c, t, w);
            mc_cfg_raw_str(c, "heap_endpoint", t);
        }
    }
    if (f->id >= 0) {
        mc_cfg_str(c, MC_F_CAMPAIGN_ID, h->v[f->id].text, mc_at(h->v[f->id].obj, MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "ID", h->v[f->id].text);
    }
}

static void decode_heap(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    uint64_t obj[RH__N], marks[RH__N];
    size_t nm = 0;
    if (!heap_markers(d, hits, obj)) return;
    for (int k = 0; k < RH__N; k++)
        if (obj[k]) marks[nm++] = obj[k];
    xw_heap *h = malloc(sizeof *h);
    if (!h) return;
    xw_heap_around(ctx, d, marks, nm, 1, h);
    rh_found f;
    heap_scan(h, &f);
    /* an ID is only taken after a traced IP */
    mc_config *c = f.ip >= 0 || f.nuri || f.nbare ? mc_cfg_new(out, "redline", obj[RH_YANDEX]) : NULL;
    if (!c) { free(h); return; }
    mc_cfg_category(c, "infostealer");
    size_t nconn = 0;
    heap_emit(c, h, &f, &nconn);
    free(h);
    if (!nconn && f.id < 0) {   /* endpoint shapes the config builder refused: nothing to report */
        mc_cfg_discard(out, c);
        return;
    }
    bool traced = f.ip >= 0 || f.nuri;
    mc_cfg_warn(c, "no .NET image with a RedLine config found; values come from decrypted heap strings only");
    if (nconn && !traced)
        mc_cfg_warn(c, "endpoints are host:port strings near the markers, not tied to StringDecrypt or the channel URI");
    mc_cfg_status(c, MC_STATUS_PARTIAL, !nconn ? 15 : traced ? 25 : 20);
}

static int redline_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    rl_job base = {ctx, d, out, {NULL, 0}};
    if (!mc_dn_each_image(ctx, d, hits, on_image, &base)) decode_heap(ctx, d, hits, out);
    return 0;
}

const mc_decoder mc_decoder_redline = {
    .family = "redline",
    .display = "RedLine",
    .version = "1.1",
    .category = "infostealer",
    .rules = mc_rules_redline,
    .decode = redline_decode,
};
