/* XWorm: config from the Settings .cctor of the .NET image (families.md §3.6).
 *
 * The settings are ldstr/stsfld items of one static constructor, each string base64 of AES-ECB
 * ciphertext. The key is not the KEY field but the Mutex, which is stored in clear: the client
 * hashes it with MD5 and copies the hash twice into a 32-byte key, the second copy starting at
 * byte 15, so key = md5[0:15] || md5[0:16] || 00. The call that does this (ldsfld Mutex; call the
 * UTF-8 helper; callvirt ComputeHash) names the Mutex field, so the rule's hit on it picks the key
 * candidate first; every plain literal of the .cctor is tried after it. Proof: every base64
 * literal whose length fits a block cipher must decrypt under the key to PKCS7-padded printable
 * text, at least two of them. Field names are kept when they are XWorm's; obfuscated ones are
 * mapped by value shape. Decrypted copies on the GC heap raise the confidence; when no image
 * gives a config, the heap alone gives a low-confidence partial (see "heap only" below).
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
#include <strings.h>

extern const char mc_rules_xworm[];

#define XW_MAX_ITEMS 96
#define XW_MAX_KEYS 16
#define XW_MAX_CCTORS 64
#define XW_MIN_STRINGS 4
#define XW_MAX_PREF 8

typedef enum xw_field {
    XF_NONE = 0, XF_HOSTS, XF_PORT, XF_KEY, XF_SPL, XF_GROUP, XF_USB, XF_INSTALLDIR,
    XF_INSTALLSTR, XF_MUTEX, XF_LOGGER, XF_TOKEN, XF_CHATID, XF__COUNT
} xw_field;

static const struct { const char *name; xw_field f; } known_names[] = {
    {"Hosts", XF_HOSTS}, {"Host", XF_HOSTS}, {"Port", XF_PORT}, {"Ports", XF_PORT},
    {"KEY", XF_KEY}, {"SPL", XF_SPL}, {"Groub", XF_GROUP}, {"Group", XF_GROUP},
    {"USBNM", XF_USB}, {"InstallDir", XF_INSTALLDIR}, {"InstallStr", XF_INSTALLSTR},
    {"Mutex", XF_MUTEX}, {"LoggerPath", XF_LOGGER}, {"Token", XF_TOKEN},
    {"TelegramToken", XF_TOKEN}, {"ChatID", XF_CHATID}, {"TelegramChatID", XF_CHATID},
};

typedef struct xw_item {
    mc_dn_item it;
    char name[128];
    char *text;               /* STR: the literal as UTF-8 */
    uint64_t va;              /* STR: VA of the #US entry */
    char *plain;              /* STR: decrypted value, NULL when the literal is not encrypted */
    xw_field field;
} xw_item;

typedef struct xw_cfg {
    xw_item items[XW_MAX_ITEMS];
    size_t n, nstr;
    uint64_t anchor;
    int key_idx;
    uint8_t key[32];
} xw_cfg;

/* ---- items of one .cctor ---- */

static void cfg_free(xw_cfg *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].text);
        free(q->items[i].plain);
    }
    q->n = q->nstr = 0;
}

static void resolve_item(const mc_dotnet *dn, xw_item *x)
{
    mc_dn_field f;
    if (mc_dn_get_field(dn, x->it.field, &f) == MC_DN_OK) strlcpy(x->name, f.name, sizeof x->name);
    x->text = mc_dn_item_text(dn, &x->it, XW_MAX_TEXT, &x->va);
}

static size_t collect(const mc_dotnet *dn, const mc_dn_body *b, xw_cfg *q)
{
    mc_dn_item raw[XW_MAX_ITEMS];
    size_t n = mc_dn_scan_items(b->code, b->len, raw, XW_MAX_ITEMS);
    memset(q, 0, sizeof *q);
    q->key_idx = -1;
    q->anchor = b->va;
    for (size_t i = 0; i < n; i++) {
        xw_item *x = &q->items[q->n];
        x->it = raw[i];
        resolve_item(dn, x);
        if (x->it.kind == MC_DN_ITEM_STR && !x->text) continue;
        if (x->it.kind == MC_DN_ITEM_STR) q->nstr++;
        q->n++;
    }
    return q->nstr;
}

/* ---- crypto ---- */

static void overlay_key(const char *mutex, uint8_t key[32])
{
    uint8_t md5[16];
    mc_md5(mutex, strlen(mutex), md5);
    memset(key, 0, 32);
    memcpy(key, md5, 16);
    memcpy(key + 15, md5, 16);
}

/* Ciphertext of a literal shaped like an ECB blob, or -1. */
static long ecb_blob(const char *text, uint8_t **out)
{
    long n = xw_b64(text, 24, out);
    if (n > 0 && n % 16 == 0) return n;
    free(*out);
    *out = NULL;
    return -1;
}

static char *decrypt_literal(const uint8_t key[32], const char *text)
{
    static const uint8_t zero_iv[16];
    uint8_t *ct;
    long n = ecb_blob(text, &ct);
    if (n < 0) return NULL;
    char *res = malloc((size_t)n + 1);
    size_t outlen = 0;
    if (res && (!mc_aes_decrypt(MC_AES_ECB, key, 32, zero_iv, ct, (size_t)n, true, (uint8_t *)res, &outlen) ||
                !xw_printable((uint8_t *)res, outlen))) {
        free(res);
        res = NULL;
    }
    if (res) res[outlen] = 0;
    free(ct);
    return res;
}

static void drop_plain(xw_cfg *q)
{
    for (size_t i = 0; i < q->n; i++) { free(q->items[i].plain); q->items[i].plain = NULL; }
}

static bool try_key(xw_cfg *q, int cand)
{
    uint8_t key[32];
    size_t ok = 0, enc = 0;
    overlay_key(q->items[cand].text, key);
    for (size_t i = 0; i < q->n; i++) {
        xw_item *x = &q->items[i];
        uint8_t *ct;
        if (x->it.kind != MC_DN_ITEM_STR || (int)i == cand || ecb_blob(x->text, &ct) < 0) continue;
        free(ct);
        enc++;
        x->plain = decrypt_literal(key, x->text);
        if (!x->plain) break;   /* one failure rules the key out */
        ok++;
    }
    if (ok >= 2 && ok == enc) {
        q->key_idx = cand;
        memcpy(q->key, key, 32);
        return true;
    }
    drop_plain(q);
    return false;
}

static bool is_pref(uint32_t field, const uint32_t *pref, size_t npref)
{
    for (size_t i = 0; i < npref; i++)
        if (pref[i] == field) return true;
    return false;
}

/* Key candidates: plain literals, the fields the MD5 call loads first. */
static bool crack(const mc_decode_ctx *ctx, xw_cfg *q, const uint32_t *pref, size_t npref)
{
    size_t tried = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < q->n && tried < XW_MAX_KEYS && !mc_expired(ctx); i++) {
            xw_item *x = &q->items[i];
            uint8_t *ct;
            if (x->it.kind != MC_DN_ITEM_STR || !x->text[0] || strlen(x->text) > 128) continue;
            if ((pass == 0) != is_pref(x->it.field, pref, npref)) continue;
            if (ecb_blob(x->text, &ct) >= 0) { free(ct); continue; }
            tried++;
            if (try_key(q, (int)i)) return true;
        }
    return false;
}

/* ---- field mapping ---- */

static xw_field by_name(const char *name)
{
    for (size_t i = 0; i < sizeof known_names / sizeof known_names[0]; i++)
        if (strcasecmp(name, known_names[i].name) == 0) return known_names[i].f;
    return XF_NONE;
}

static bool all_digits(const char *s, size_t min, size_t max, bool sign)
{
    size_t n = strlen(s), i = sign && s[0] == '-' ? 1 : 0;
    if (n - i < min || n - i > max) return false;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

static bool ports_shape(const char *s)
{
    long port;
    char one[16];
    size_t k = strcspn(s, ",;");
    if (k == 0 || k >= sizeof one) return false;
    memcpy(one, s, k);
    one[k] = 0;
    return all_digits(one, 1, 5, false) && mc_parse_port(one, &port) && mc_port_ok(port);
}

static void host_check(const char *piece, void *arg)
{
    char host[MC_HOST_MAX];
    long port;
    bool *ok = arg;
    if (!mc_is_host(piece) && !(mc_split_hostport(piece, host, sizeof host, &port) && mc_is_host(host)))
        *ok = false;
}

static bool hosts_shape(const char *s)
{
    bool ok = *s != 0;
    if (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0) return true;
    xw_split(s, ",;", host_check, &ok);
    return ok;
}

static bool token_shape(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon - s < 6 || strlen(colon + 1) < 20) return false;
    for (const char *p = s; p < colon; p++)
        if (!isdigit((unsigned char)*p)) return false;
    for (const char *p = colon + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Shape of a value whose field name says nothing (obfuscated builds), in XWorm's field order. */
static xw_field by_shape(const char *v, const bool *taken)
{
    size_t n = strlen(v);
    if (!taken[XF_HOSTS] && hosts_shape(v)) return XF_HOSTS;
    if (taken[XF_HOSTS] && !taken[XF_PORT] && ports_shape(v)) return XF_PORT;
    if (n > 2 && v[0] == '<' && v[n - 1] == '>') return !taken[XF_KEY] ? XF_KEY : !taken[XF_SPL] ? XF_SPL : XF_NONE;
    if (!taken[XF_TOKEN] && token_shape(v)) return XF_TOKEN;
    if (!taken[XF_CHATID] && all_digits(v, 5, 20, true)) return XF_CHATID;
    if (ends_with(v, ".exe")) return !taken[XF_USB] ? XF_USB : !taken[XF_INSTALLSTR] ? XF_INSTALLSTR : XF_NONE;
    if (!taken[XF_INSTALLDIR] && n > 2 && v[0] == '%' && v[n - 1] == '%') return XF_INSTALLDIR;
    if (!taken[XF_LOGGER] && ends_with(v, ".tmp")) return XF_LOGGER;
    if (!taken[XF_GROUP] && n > 0) return XF_GROUP;
    return XF_NONE;
}

static const char *value_of(const xw_item *x) { return x->plain ? x->plain : x->text; }

static void assign_fields(xw_cfg *q)
{
    bool taken[XF__COUNT] = {0};
    for (size_t i = 0; i < q->n; i++) {
        xw_item *x = &q->items[i];
        if (x->it.kind != MC_DN_ITEM_STR) continue;
        x->field = (int)i == q->key_idx ? XF_MUTEX : by_name(x->name);
        if (x->field != XF_NONE && !taken[x->field]) taken[x->field] = true;
        else x->field = XF_NONE;
    }
    for (size_t i = 0; i < q->n; i++) {
        xw_item *x = &q->items[i];
        if (x->it.kind != MC_DN_ITEM_STR || x->field != XF_NONE || !x->plain) continue;
        x->field = by_shape(x->plain, taken);
        if (x->field != XF_NONE) taken[x->field] = true;
    }
    /* the installation folder and log path are often stored in clear */
    for (size_t i = 0; i < q->n; i++) {
        xw_item *x = &q->items[i];
        if (x->it.kind != MC_DN_ITEM_STR || x->field != XF_NONE || x->plain) continue;
        size_t n = strlen(x->text);
        if (!taken[XF_INSTALLDIR] && n > 2 && x->text[0] == '%' && x->text[n - 1] == '%') x->field = XF_INSTALLDIR;
        else if (!taken[XF_LOGGER] && ends_with(x->text, ".tmp")) x->field = XF_LOGGER;
        if (x->field != XF_NONE) taken[x->field] = true;
    }
}

static const xw_item *field_item(const xw_cfg *q, xw_field f)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i].it.kind == MC_DN_ITEM_STR && q->items[i].field == f) return &q->items[i];
    return NULL;
}

/* ---- output ---- */

typedef struct conn_ctx {
    mc_config *c;
    const char *host;         /* add_port: the host the ports belong to */
    const char *ports;
    mc_where w;
    size_t n;
} conn_ctx;

static void add_port(const char *port, void *arg)
{
    conn_ctx *cc = arg;
    long p;
    if (mc_parse_port(port, &p) && mc_cfg_conn(cc->c, cc->host, p, false, "c2", cc->w)) cc->n++;
}

static void add_host(const char *host, void *arg)
{
    conn_ctx *cc = arg;
    if (strncasecmp(host, "http://", 7) == 0 || strncasecmp(host, "https://", 8) == 0) {
        if (mc_cfg_url(cc->c, host, NULL, "dead_drop_resolver", NULL, cc->w)) cc->n++;
        return;
    }
    char h[MC_HOST_MAX];
    long port;
    if (mc_split_hostport(host, h, sizeof h, &port) && port > 0) {
        if (mc_cfg_conn(cc->c, h, port, false, "c2", cc->w)) cc->n++;
        return;
    }
    if (!cc->ports) return;
    conn_ctx inner = {cc->c, host, NULL, cc->w, 0};
    xw_split(cc->ports, ",;", add_port, &inner);
    cc->n += inner.n;
}

/* Every host with every port: the client picks them independently. */
static size_t emit_conns(mc_config *c, const char *hosts, const char *ports, mc_where w)
{
    conn_ctx cc = {c, NULL, ports, w, 0};
    if (strncasecmp(hosts, "http://", 7) == 0 || strncasecmp(hosts, "https://", 8) == 0) add_host(hosts, &cc);
    else xw_split(hosts, ",;", add_host, &cc);
    return cc.n;
}

/* "XWorm V5.6" in any #US literal (the Telegram notification text) or the group value. */
static bool version_in(const char *s, char *out, size_t outsz)
{
    const char *p = strstr(s, "XWorm V");
    if (!p) p = strstr(s, "XWorm v");
    if (!p) return false;
    p += 7;
    size_t k = strspn(p, "0123456789.");
    if (k == 0 || !isdigit((unsigned char)p[0]) || k >= outsz) return false;
    memcpy(out, p, k);
    out[k] = 0;
    while (k > 0 && out[k - 1] == '.') out[--k] = 0;
    return k > 0;
}

static void emit_version(mc_config *c, const mc_dotnet *dn, const xw_cfg *q)
{
    char v[32];
    const xw_item *g = field_item(q, XF_GROUP);
    xw_us_entry *e = malloc(sizeof *e * 4096);
    if (e) {
        size_t n = xw_us_walk(dn, e, 4096);
        for (size_t i = 0; i < n; i++) {
            if (!version_in(e[i].text, v, sizeof v)) continue;
            uint64_t va = dn->md_va + dn->us.off + e[i].off;
            mc_cfg_version(c, v, mc_at(va, MC_FORM_PLAINTEXT));
            mc_cfg_raw_str(c, "version_string", e[i].text);
            xw_us_free(e, n);
            free(e);
            return;
        }
        xw_us_free(e, n);
        free(e);
    }
    if (g && g->plain && version_in(g->plain, v, sizeof v)) mc_cfg_version(c, v, mc_at(g->va, MC_FORM_IMAGE_ENCRYPTED));
}

static void emit_strings(mc_config *c, const xw_cfg *q)
{
    static const char *const other_key[XF__COUNT] = {
        [XF_KEY] = "key", [XF_SPL] = "splitter", [XF_USB] = "usb_name",
        [XF_TOKEN] = "telegram_token", [XF_CHATID] = "telegram_chat_id",
    };
    for (size_t i = 0; i < q->n; i++) {
        const xw_item *x = &q->items[i];
        if (x->it.kind != MC_DN_ITEM_STR) continue;
        const char *v = value_of(x);
        mc_where w = mc_at(x->va, x->plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT);
        mc_cfg_raw(c, x->name[0] ? x->name : "unnamed", mc_json_str(v));
        if (!*v) continue;
        if (x->field == XF_MUTEX) mc_cfg_str(c, MC_F_MUTEX, v, w);
        else if (x->field == XF_GROUP) mc_cfg_str(c, MC_F_CAMPAIGN_ID, v, w);
        else if (x->field == XF_LOGGER) mc_cfg_path(c, v, "logs", w);
        else if (other_key[x->field]) mc_cfg_other(c, other_key[x->field], mc_json_str(v), w);
    }
    for (size_t i = 0; i < q->n; i++) {
        const xw_item *x = &q->items[i];
        if (x->it.kind != MC_DN_ITEM_INT) continue;
        mc_cfg_raw(c, x->name[0] ? x->name : "unnamed", json_integer(x->it.ival));
        if (strcasecmp(x->name, "Sleep") == 0)
            mc_cfg_other(c, "sleep_seconds", json_integer(x->it.ival), mc_at(q->anchor + x->it.il_off, MC_FORM_PLAINTEXT));
    }
    const xw_item *dir = field_item(q, XF_INSTALLDIR), *file = field_item(q, XF_INSTALLSTR);
    if (file && *value_of(file)) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s%s", dir ? value_of(dir) : "", dir && *value_of(dir) ? "\\" : "", value_of(file));
        mc_cfg_path(c, path, "install", mc_at(file->va, file->plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT));
    }
}

static void emit_crypto(mc_config *c, const xw_cfg *q)
{
    const xw_item *k = &q->items[q->key_idx];
    mc_crypto e = {.algorithm = "AES-256-ECB", .mode = "ECB", .key = q->key, .key_len = 32,
                   .password = k->text, .usage = "config"};
    mc_cfg_encryption(c, &e, mc_at(k->va, MC_FORM_PLAINTEXT));
}

/* Decrypted copies as CLR strings: the client decrypts each setting in place at startup. */
static size_t corroborate(const mc_decode_ctx *ctx, const md_dump *d, mc_config *c, const xw_cfg *q)
{
    size_t hits = 0;
    const xw_item *hosts = field_item(q, XF_HOSTS), *port = field_item(q, XF_PORT);
    for (size_t i = 0; i < q->n; i++) {
        const xw_item *x = &q->items[i];
        uint64_t va;
        if (x->it.kind != MC_DN_ITEM_STR || !x->plain || !(va = xw_heap_find(ctx, d, x->plain))) continue;
        hits++;
        mc_where w = mc_at(va, MC_FORM_HEAP_DECRYPTED);
        if (x == hosts) emit_conns(c, x->plain, port ? value_of(port) : NULL, w);
        else if (x->field == XF_GROUP) mc_cfg_str(c, MC_F_CAMPAIGN_ID, x->plain, w);
    }
    return hits;
}

static bool emit_config(const mc_decode_ctx *ctx, const md_dump *d, const mc_dotnet *dn, mc_results *out,
                        xw_cfg *q)
{
    mc_config *c = mc_cfg_new(out, "xworm", q->anchor);
    if (!c) return false;
    mc_cfg_category(c, "rat");
    assign_fields(q);
    const xw_item *hosts = field_item(q, XF_HOSTS), *port = field_item(q, XF_PORT);
    size_t nconn = 0;
    if (hosts)
        nconn = emit_conns(c, value_of(hosts), port ? value_of(port) : NULL,
                           mc_at(hosts->va, hosts->plain ? MC_FORM_IMAGE_ENCRYPTED : MC_FORM_PLAINTEXT));
    emit_strings(c, q);
    emit_crypto(c, q);
    emit_version(c, dn, q);
    size_t heap = corroborate(ctx, d, c, q);
    int conf = 80 + 4 * (int)heap;
    if (!nconn) mc_cfg_warn(c, "no host/port pair among the decrypted settings");
    mc_cfg_status(c, nconn ? MC_STATUS_COMPLETE : MC_STATUS_PARTIAL, conf > 99 ? 99 : conf);
    return true;
}

/* Field rows loaded right before the MD5 call (ldsfld F; call helper; callvirt ComputeHash). */
static size_t mutex_fields(const md_dump *d, const mc_hits *hits, uint64_t lo, uint64_t hi, uint32_t *pref)
{
    size_t n = 0;
    for (size_t i = 0; i < hits->n && n < XW_MAX_PREF; i++) {
        uint8_t b[11];
        const mc_hit *h = &hits->v[i];
        if (!mc_hit_is(h, "$md5call") || h->va < lo || h->va >= hi || md_read(d, h->va, b, 11) != 11) continue;
        if (b[0] == 0x7E && b[4] == 0x04) pref[n++] = (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16;
    }
    return n;
}

static bool decode_image(const mc_decode_ctx *ctx, const md_dump *d, const md_image *img, const mc_dotnet *dn,
                         const mc_hits *hits, mc_results *out)
{
    uint32_t pref[XW_MAX_PREF];
    size_t npref = mutex_fields(d, hits, img->base, img->base + img->size, pref);
    xw_cfg *q = malloc(sizeof *q);
    if (!q) return false;
    bool done = false;
    uint32_t ntypes = mc_dn_rows(dn, MC_DN_T_TYPEDEF), tried = 0;
    for (uint32_t t = 1; t <= ntypes && !done && tried < XW_MAX_CCTORS && !mc_expired(ctx); t++) {
        uint32_t m = mc_dn_find_method(dn, t, ".cctor");
        mc_dn_body b;
        if (!m || mc_dn_get_body(dn, m, &b) != MC_DN_OK) continue;
        if (collect(dn, &b, q) >= XW_MIN_STRINGS) {
            tried++;
            if (crack(ctx, q, pref, npref)) done = emit_config(ctx, d, dn, out, q);
        }
        cfg_free(q);
        mc_dn_body_free(&b);
    }
    free(q);
    return done;
}

/* ---- heap only: the image is gone, the decrypted settings are not ----
 *
 * The client decrypts Hosts, Port, KEY, SPL, Groub and USBNM one after the other at startup, and
 * keeps each in a static field; the strings are allocated in that order, and a compacting GC
 * keeps their order. The markers are the KEY (`<digits>`), the splitter (`<Xwormmm>`) and the
 * `XWorm V<n>` text, each a whole CLR string; two kinds near each other are needed. The host
 * and port are reported only in the shape the client leaves them: a port string, and a host
 * list before it, in the few objects before the KEY/splitter pair. */

typedef enum xh_kind { XH_KEY = 0, XH_SPL, XH_VER, XH__N } xh_kind;

#define XH_SEQ 6                  /* objects searched on either side of the settings run */

static bool heap_key_shape(const char *s)
{
    size_t n = strlen(s);
    if (n < 5 || s[0] != '<' || s[n - 1] != '>') return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

static bool heap_spl_shape(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > 32 || s[0] != '<' || s[n - 1] != '>') return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!isalpha((unsigned char)s[i])) return false;
    return true;
}

static bool heap_marker_shape(xh_kind k, const char *s)
{
    char v[32];
    return k == XH_KEY ? heap_key_shape(s) : k == XH_SPL ? heap_spl_shape(s) : version_in(s, v, sizeof v) && s[0] == 'X';
}

static bool heap_port_shape(const char *s)
{
    long p;
    return all_digits(s, 1, 5, false) && mc_parse_port(s, &p) && p > 0 && mc_port_ok(p);
}

static void heap_host_check(const char *piece, void *arg)
{
    char host[MC_HOST_MAX];
    long port;
    bool *ok = arg;
    if (!mc_is_bare_host(piece) && !(mc_split_hostport(piece, host, sizeof host, &port) && mc_is_bare_host(host)))
        *ok = false;
}

static bool heap_hosts_shape(const char *s)
{
    bool ok = *s != 0;
    xw_split(s, ",;", heap_host_check, &ok);
    return ok;
}

/* Marker objects near the first KEY (else splitter) marker; true when two kinds are there. */
static bool heap_markers(const md_dump *d, const mc_hits *hits, uint64_t obj[XH__N])
{
    static const char *const ids[XH__N] = {"$heap_key", "$heap_spl", "$heap_ver"};
    uint64_t all[XH__N][8];
    size_t n[XH__N] = {0};
    for (size_t i = 0; i < hits->n; i++)
        for (int k = 0; k < XH__N; k++) {
            xw_heap_str s;
            if (!mc_hit_is(&hits->v[i], ids[k]) || n[k] == 8) continue;
            /* every heap rule string starts at the object's length field */
            if (xw_heap_str_at(d, hits->v[i].va + 4, 3, &s) && heap_marker_shape((xh_kind)k, s.text))
                all[k][n[k]++] = s.obj;
        }
    uint64_t anchor = n[XH_KEY] ? all[XH_KEY][0] : n[XH_SPL] ? all[XH_SPL][0] : 0;
    if (!anchor) return false;
    int kinds = 0;
    for (int k = 0; k < XH__N; k++) {
        obj[k] = 0;
        for (size_t i = 0; i < n[k] && !obj[k]; i++)
            if ((all[k][i] > anchor ? all[k][i] - anchor : anchor - all[k][i]) <= XW_HEAP_WINDOW) obj[k] = all[k][i];
        kinds += obj[k] != 0;
    }
    return kinds >= 2;
}

/* Nearest object before index `from` (at most XH_SEQ back) whose text passes shape, or -1. */
static long heap_before(const xw_heap *h, long from, bool (*shape)(const char *))
{
    for (long i = from - 1; i >= 0 && i >= from - XH_SEQ; i--)
        if (shape(h->v[i].text)) return i;
    return -1;
}

static bool heap_usb_shape(const char *s)
{
    return ends_with(s, ".exe") && strlen(s) > 4 && !strpbrk(s, "\\/:");
}

static void decode_heap(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    uint64_t obj[XH__N];
    if (!heap_markers(d, hits, obj)) return;
    xw_heap *h = malloc(sizeof *h);
    if (!h) return;
    uint64_t marks[XH__N];
    size_t nm = 0;
    for (int k = 0; k < XH__N; k++)
        if (obj[k]) marks[nm++] = obj[k];
    xw_heap_around(ctx, d, marks, nm, 1, h);
    long idx[XH__N];
    for (int k = 0; k < XH__N; k++) idx[k] = obj[k] ? xw_heap_index(h, obj[k]) : -1;
    /* the KEY/splitter pair: the settings before it (Hosts, Port) and after it (Groub, USBNM) */
    long first = idx[XH_KEY] < 0 || (idx[XH_SPL] >= 0 && idx[XH_SPL] < idx[XH_KEY]) ? idx[XH_SPL] : idx[XH_KEY];
    long last = idx[XH_SPL] > idx[XH_KEY] ? idx[XH_SPL] : idx[XH_KEY];
    mc_config *c = first >= 0 ? mc_cfg_new(out, "xworm", h->v[first].obj) : NULL;
    if (!c) { free(h); return; }
    mc_cfg_category(c, "rat");
    size_t nconn = 0;
    long pi = heap_before(h, first, heap_port_shape), hi = pi >= 0 ? heap_before(h, pi, heap_hosts_shape) : -1;
    if (hi >= 0) {
        nconn = emit_conns(c, h->v[hi].text, h->v[pi].text, mc_at(h->v[hi].obj, MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "heap_hosts", h->v[hi].text);
        mc_cfg_raw_str(c, "heap_port", h->v[pi].text);
    }
    if (idx[XH_KEY] >= 0) {
        mc_cfg_other(c, "key", mc_json_str(h->v[idx[XH_KEY]].text), mc_at(obj[XH_KEY], MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "heap_key", h->v[idx[XH_KEY]].text);
    }
    if (idx[XH_SPL] >= 0) {
        mc_cfg_other(c, "splitter", mc_json_str(h->v[idx[XH_SPL]].text), mc_at(obj[XH_SPL], MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "heap_splitter", h->v[idx[XH_SPL]].text);
    }
    char v[32];
    if (idx[XH_VER] >= 0 && version_in(h->v[idx[XH_VER]].text, v, sizeof v)) {
        mc_cfg_version(c, v, mc_at(obj[XH_VER], MC_FORM_HEAP_DECRYPTED));
        mc_cfg_raw_str(c, "version_string", h->v[idx[XH_VER]].text);
    }
    /* USBNM follows the splitter and the group */
    for (long i = last + 1; last >= 0 && i < (long)h->n && i <= last + XH_SEQ; i++)
        if (heap_usb_shape(h->v[i].text)) {
            mc_cfg_other(c, "usb_name", mc_json_str(h->v[i].text), mc_at(h->v[i].obj, MC_FORM_HEAP_DECRYPTED));
            break;
        }
    mc_cfg_warn(c, "no .NET image with an XWorm config found; values come from decrypted heap strings only");
    if (!nconn) mc_cfg_warn(c, "no host and port strings before the KEY/splitter on the heap; no network indicators");
    mc_cfg_status(c, MC_STATUS_PARTIAL, nconn ? 25 : 15);
    free(h);
}

typedef struct xw_job {
    const mc_decode_ctx *ctx; const md_dump *d; const mc_hits *hits; mc_results *out;
} xw_job;

static size_t on_image(void *arg, const md_image *img, mc_dotnet *dn)
{
    xw_job *j = arg;
    return decode_image(j->ctx, j->d, img, dn, j->hits, j->out);
}

static int xworm_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    xw_job j = {ctx, d, hits, out};
    if (!mc_dn_each_image(ctx, d, hits, on_image, &j)) decode_heap(ctx, d, hits, out);
    return 0;
}

const mc_decoder mc_decoder_xworm = {
    .family = "xworm",
    .display = "XWorm",
    .version = "1.1",
    .category = "rat",
    .rules = mc_rules_xworm,
    .decode = xworm_decode,
};
