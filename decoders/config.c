/* The config builder (mc_config.h): validated placement of recovered values into a strict MACO
 * object, with provenance for every value and a raw copy of whatever failed validation.
 *
 * Provenance keys name the MACO location of the value: "version", "sleep_delay", "mutex[0]",
 * "tcp[1]", "other.<key>". Each holds an array of {"va": "0x%016llx", "form": "..."} (va left
 * out when unknown); a duplicate value adds its location to the existing entry.
 */
#include "mc_config.h"
#include "lib/mc_net.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mc_config {
    char *family;
    uint64_t anchor;
    mc_status status;
    int confidence;
    json_t *cfg, *prov, *raw, *warnings;
    json_t *raw_multi;          /* raw keys already turned into arrays by repetition */
    bool list_capped;           /* an MC_CFG_MAX_ENTRIES cap was hit (warned once) */
};

struct mc_results {
    mc_config **v;
    size_t n, cap;
};

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when the bytes there are not one
 * (overlong forms, surrogates and code points above U+10FFFF count as invalid). */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) { len = 3; lo = 0xa0; }
    else if (c == 0xed) { len = 3; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) len = 3;
    else if (c == 0xf0) { len = 4; lo = 0x90; }
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) { len = 4; hi = 0x8f; }
    else return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* NUL is valid UTF-8 but is escaped as well: consumers that read the JSON string as a C string
 * would otherwise lose everything after it. */
static bool byte_escaped(const uint8_t *p, size_t n)
{
    return p[0] == 0 || utf8_seq(p, n) == 0;
}

/* A backslash is doubled when what follows it in the output would make it read as an escape:
 * another backslash, an escaped byte, or the literal text "xHH". */
static bool backslash_needs_doubling(const uint8_t *p, size_t n)
{
    if (n < 2)
        return false;
    if (p[1] == '\\' || byte_escaped(p + 1, n - 1))
        return true;
    return n >= 4 && p[1] == 'x' && isxdigit(p[2]) && isxdigit(p[3]);
}

json_t *mc_json_bytes(const void *ptr, size_t len)
{
    const uint8_t *p = ptr;
    if (!p && len)
        return NULL;
    if (len > (SIZE_MAX - 1) / 4)
        return NULL;
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (byte_escaped(p + i, len - i)) {
            o += (size_t)snprintf(out + o, 5, "\\x%02X", p[i]);
            i++;
            continue;
        }
        if (p[i] == '\\' && backslash_needs_doubling(p + i, len - i))
            out[o++] = '\\';
        size_t k = utf8_seq(p + i, len - i);
        memcpy(out + o, p + i, k);
        o += k;
        i += k;
    }
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

json_t *mc_json_str(const char *s)
{
    return s ? mc_json_bytes(s, strlen(s)) : NULL;
}

/* ---- results ---- */

mc_results *mc_results_new(void)
{
    return calloc(1, sizeof(mc_results));
}

static void cfg_free(mc_config *c)
{
    if (!c)
        return;
    free(c->family);
    json_decref(c->cfg);
    json_decref(c->prov);
    json_decref(c->raw);
    json_decref(c->warnings);
    json_decref(c->raw_multi);
    free(c);
}

void mc_results_free(mc_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        cfg_free(r->v[i]);
    free(r->v);
    free(r);
}

size_t mc_results_count(const mc_results *r) { return r ? r->n : 0; }

mc_config *mc_results_get(const mc_results *r, size_t i)
{
    return r && i < r->n ? r->v[i] : NULL;
}

mc_config *mc_cfg_new(mc_results *out, const char *family, uint64_t anchor_va)
{
    if (!out || !family || !*family)
        return NULL;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 4;
        mc_config **v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return NULL;
        out->v = v;
        out->cap = cap;
    }
    mc_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->family = strdup(family);
    c->cfg = json_object();
    c->prov = json_object();
    c->raw = json_object();
    c->warnings = json_array();
    c->raw_multi = json_object();
    if (!c->family || !c->cfg || !c->prov || !c->raw || !c->warnings || !c->raw_multi) {
        cfg_free(c);
        return NULL;
    }
    for (char *p = c->family; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    json_object_set_new(c->cfg, "family", json_string(c->family));
    c->anchor = anchor_va;
    c->status = MC_STATUS_COMPLETE;
    c->confidence = 50;
    out->v[out->n++] = c;
    return c;
}

void mc_cfg_discard(mc_results *out, mc_config *c)
{
    if (!out || !c)
        return;
    for (size_t i = 0; i < out->n; i++) {
        if (out->v[i] != c)
            continue;
        memmove(out->v + i, out->v + i + 1, (out->n - i - 1) * sizeof *out->v);
        out->n--;
        cfg_free(c);
        return;
    }
}

void mc_cfg_status(mc_config *c, mc_status status, int confidence)
{
    if (!c)
        return;
    c->status = status;
    c->confidence = confidence < 0 ? 0 : confidence > 100 ? 100 : confidence;
}

mc_status mc_cfg_get_status(const mc_config *c) { return c ? c->status : MC_STATUS_FAILED; }
int mc_cfg_get_confidence(const mc_config *c) { return c ? c->confidence : 0; }

void mc_cfg_warn(mc_config *c, const char *fmt, ...)
{
    if (!c)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* A decoder looping over hostile data must not grow the record without bound. */
    size_t n = json_array_size(c->warnings);
    if (n > MC_CFG_MAX_WARNINGS)
        return;
    json_array_append_new(c->warnings, mc_json_str(n == MC_CFG_MAX_WARNINGS
                                                       ? "limit: further warnings dropped" : buf));
}

/* Warn once per config that a list or raw key reached MC_CFG_MAX_ENTRIES. */
static void entries_capped(mc_config *c, const char *field)
{
    if (!c->list_capped)
        mc_cfg_warn(c, "limit: %s reached %u entries; further values dropped", field,
                    MC_CFG_MAX_ENTRIES);
    c->list_capped = true;
}

/* A string value from the dump as JSON, cut to MC_CFG_MAX_VALUE bytes (at a UTF-8 boundary, so
 * a multi-byte character is never split into escaped bytes) with a warning when cut. */
static json_t *capped_str(mc_config *c, const char *field, const char *v)
{
    size_t n = strnlen(v, MC_CFG_MAX_VALUE + 1);
    if (n <= MC_CFG_MAX_VALUE)
        return mc_json_bytes(v, n);
    n = MC_CFG_MAX_VALUE;
    while (n > MC_CFG_MAX_VALUE - 3 && ((uint8_t)v[n] & 0xc0) == 0x80)
        n--;
    mc_cfg_warn(c, "limit: a %s value longer than %u bytes was truncated", field,
                MC_CFG_MAX_VALUE);
    return mc_json_bytes(v, n);
}

/* ---- provenance and raw ---- */

static void prov_add(mc_config *c, const char *key, mc_where w)
{
    json_t *arr = json_object_get(c->prov, key);
    if (!arr) {
        arr = json_array();
        json_object_set_new(c->prov, key, arr);
    }
    json_t *loc = json_object();
    if (w.va) {
        char va[24];
        snprintf(va, sizeof va, "0x%016" PRIx64, w.va);
        json_object_set_new(loc, "va", json_string(va));
    }
    json_object_set_new(loc, "form", json_string(mc_form_name(w.form)));
    json_t *e;
    size_t i;
    json_array_foreach(arr, i, e) {
        if (json_equal(e, loc)) {
            json_decref(loc);
            return;
        }
    }
    json_array_append_new(arr, loc);
}

void mc_cfg_raw(mc_config *c, const char *key, json_t *value)
{
    if (!c || !key || !value) {
        json_decref(value);
        return;
    }
    json_t *old = json_object_get(c->raw, key);
    if (!old) {
        json_object_set_new(c->raw, key, value);
        return;
    }
    if (json_object_get(c->raw_multi, key)) {
        if (json_array_size(old) >= MC_CFG_MAX_ENTRIES) {
            json_decref(value);
            entries_capped(c, key);
            return;
        }
        json_array_append_new(old, value);
        return;
    }
    json_t *arr = json_pack("[O]", old);
    json_array_append_new(arr, value);
    json_object_set_new(c->raw, key, arr);
    json_object_set_new(c->raw_multi, key, json_true());
}

void mc_cfg_raw_str(mc_config *c, const char *key, const char *v)
{
    if (c && v)
        mc_cfg_raw(c, key, capped_str(c, key, v));
}

/* ---- placement ---- */

static json_t *field_list(mc_config *c, const char *field)
{
    json_t *arr = json_object_get(c->cfg, field);
    if (!arr) {
        arr = json_array();
        json_object_set_new(c->cfg, field, arr);
    }
    return arr;
}

/* Append item (stolen) to config.<field>[] unless an equal entry exists; either way the location
 * goes to provenance. Returns true when the item was new. */
static bool list_add(mc_config *c, const char *field, json_t *item, mc_where w)
{
    if (!item)
        return false;
    json_t *arr = field_list(c, field);
    size_t i, n = json_array_size(arr);
    if (n >= MC_CFG_MAX_ENTRIES) {
        /* also keeps the duplicate check below from going quadratic on hostile data */
        json_decref(item);
        entries_capped(c, field);
        return false;
    }
    json_t *e;
    bool fresh = true;
    json_array_foreach(arr, i, e) {
        if (json_equal(e, item)) {
            fresh = false;
            break;
        }
    }
    if (fresh) {
        json_array_append_new(arr, item);
        i = n;
    } else {
        json_decref(item);
    }
    char key[64];
    snprintf(key, sizeof key, "%s[%zu]", field, i);
    prov_add(c, key, w);
    return fresh;
}

/* A scalar field: the first value wins, an equal value only adds provenance, a conflicting one
 * goes to raw. */
static bool scalar_set(mc_config *c, const char *field, json_t *v, mc_where w)
{
    json_t *old = json_object_get(c->cfg, field);
    if (old) {
        if (json_equal(old, v)) {
            json_decref(v);
            prov_add(c, field, w);
        } else {
            mc_cfg_raw(c, field, v);
        }
        return false;
    }
    json_object_set_new(c->cfg, field, v);
    prov_add(c, field, w);
    return true;
}

static bool in_set(const char *v, const char *const *set)
{
    for (; v && *set; set++)
        if (strcmp(v, *set) == 0)
            return true;
    return false;
}

static const char *const conn_usage[] = {
    "c2", "upload", "dead_drop_resolver", "download", "propagate", "tunnel", "ransom", "decoy",
    "other", NULL,
};
static const char *const categories[] = {
    "adware", "apt", "backdoor", "banker", "bootkit", "bot", "browser_hijacker", "bruteforcer",
    "clickfraud", "cryptominer", "ddos", "downloader", "dropper", "exploitkit", "fakeav",
    "hacktool", "infostealer", "keylogger", "loader", "obfuscator", "pos", "proxy", "rat",
    "ransomware", "reverse_proxy", "rootkit", "scanner", "scareware", "spammer", "trojan",
    "virus", "wiper", "webshell", "worm", NULL,
};
static const char *const crypto_usage[] = {
    "config", "communication", "binary", "ransom", "other", NULL,
};
static const char *const path_usage[] = {
    "c2", "config", "install", "plugins", "logs", "storage", "other", NULL,
};
static const char *const registry_usage[] = {
    "persistence", "store_data", "store_payload", "read", "other", NULL,
};

static const char *const strfield_names[MC_F__COUNT] = {
    [MC_F_MUTEX] = "mutex",
    [MC_F_CAMPAIGN_ID] = "campaign_id",
    [MC_F_IDENTIFIER] = "identifier",
    [MC_F_PASSWORD] = "password",
    [MC_F_PIPE] = "pipe",
    [MC_F_INJECT_EXE] = "inject_exe",
    [MC_F_DECODED_STRINGS] = "decoded_strings",
    [MC_F_CAPABILITY_ENABLED] = "capability_enabled",
    [MC_F_CAPABILITY_DISABLED] = "capability_disabled",
    [MC_F_ATTACK] = "attack",
};

bool mc_cfg_version(mc_config *c, const char *v, mc_where w)
{
    if (!c || !v)
        return false;
    if (!*v)
        return false;
    return scalar_set(c, "version", capped_str(c, "version", v), w);
}

bool mc_cfg_category(mc_config *c, const char *category)
{
    if (!c || !category)
        return false;
    if (!in_set(category, categories)) {
        mc_cfg_raw_str(c, "category", category);
        return false;
    }
    json_t *arr = field_list(c, "category");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
        if (strcmp(json_string_value(e), category) == 0)
            return false;
    json_array_append_new(arr, json_string(category));
    return true;
}

bool mc_cfg_str(mc_config *c, mc_strfield f, const char *v, mc_where w)
{
    if (!c || !v || (unsigned)f >= MC_F__COUNT || !*v)
        return false;
    return list_add(c, strfield_names[f], capped_str(c, strfield_names[f], v), w);
}

bool mc_cfg_sleep_ms(mc_config *c, long long ms, mc_where w)
{
    if (!c)
        return false;
    if (ms < 0) {
        mc_cfg_raw(c, "sleep_delay", json_integer(ms));
        return false;
    }
    return scalar_set(c, "sleep_delay", json_integer(ms), w);
}

static void raw_hostport(mc_config *c, const char *field, const char *host, long port)
{
    char buf[MC_HOST_MAX + 32];
    if (port >= 0 || port < -1)
        snprintf(buf, sizeof buf, "%s:%ld", host ? host : "", port);
    else
        strlcpy(buf, host ? host : "", sizeof buf);
    mc_cfg_raw_str(c, field, buf);
}

bool mc_cfg_conn(mc_config *c, const char *host, long port, bool udp, const char *usage,
                 mc_where w)
{
    if (!c)
        return false;
    const char *field = udp ? "udp" : "tcp";
    if (!usage)
        usage = "other";
    bool ip = host && mc_is_ip(host);
    if (!host || (!ip && !mc_is_domain(host)) || port < -1 || port > 65535 ||
        !in_set(usage, conn_usage)) {
        raw_hostport(c, field, host, port);
        return false;
    }
    json_t *o = json_object();
    json_object_set_new(o, ip ? "server_ip" : "server_domain", json_string(host));
    if (port >= 0)
        json_object_set_new(o, "server_port", json_integer(port));
    json_object_set_new(o, "usage", json_string(usage));
    return list_add(c, field, o, w);
}

bool mc_cfg_hostport(mc_config *c, const char *hostport, long default_port, const char *usage,
                     mc_where w)
{
    if (!c || !hostport)
        return false;
    char host[MC_HOST_MAX];
    long port;
    if (!mc_split_hostport(hostport, host, sizeof host, &port)) {
        mc_cfg_raw_str(c, "tcp", hostport);
        return false;
    }
    if (port < 0)
        port = default_port;
    if (port < 0 || !mc_is_host(host)) {
        mc_cfg_raw_str(c, "tcp", hostport);
        return false;
    }
    return mc_cfg_conn(c, host, port, false, usage, w);
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, mc_json_str(v));
}

static void http_extra(json_t *o, const mc_http_extra *x)
{
    if (!x)
        return;
    set_str(o, "user_agent", x->user_agent);
    set_str(o, "method", x->method);
    set_str(o, "username", x->username);
    set_str(o, "password", x->password);
    if (x->nheaders && x->header_names && x->header_values) {
        json_t *h = json_object();
        for (size_t i = 0; i < x->nheaders; i++)
            if (x->header_names[i] && *x->header_names[i] && x->header_values[i])
                json_object_set_new(h, x->header_names[i], mc_json_str(x->header_values[i]));
        if (json_object_size(h))
            json_object_set_new(o, "headers", h);
        else
            json_decref(h);
    }
}

bool mc_cfg_url(mc_config *c, const char *url, const char *default_scheme, const char *usage,
                const mc_http_extra *x, mc_where w)
{
    if (!c || !url)
        return false;
    if (!usage)
        usage = "other";
    if (strnlen(url, MC_CFG_MAX_VALUE + 1) > MC_CFG_MAX_VALUE) {
        mc_cfg_raw_str(c, "http", url);   /* truncated there, with the warning */
        return false;
    }
    char *full = NULL;
    if (!strstr(url, "://") && default_scheme && *default_scheme &&
        asprintf(&full, "%s://%s", default_scheme, url) < 0)
        return false;
    const char *uri = full ? full : url;
    mc_url *u = malloc(sizeof *u);
    bool ok = u && mc_url_parse(uri, u) &&
              (strcmp(u->scheme, "http") == 0 || strcmp(u->scheme, "https") == 0) &&
              in_set(usage, conn_usage);
    if (!ok) {
        mc_cfg_raw_str(c, "http", url);
        free(u);
        free(full);
        return false;
    }
    json_t *o = json_object();
    json_object_set_new(o, "uri", json_string(uri));
    json_object_set_new(o, "protocol", json_string(u->scheme));
    set_str(o, "username", u->username);
    set_str(o, "password", u->password);
    json_object_set_new(o, "hostname", json_string(u->host));
    if (u->port >= 0)
        json_object_set_new(o, "port", json_integer(u->port));
    set_str(o, "path", u->path);
    set_str(o, "query", u->query);
    set_str(o, "fragment", u->fragment);
    http_extra(o, x);
    json_object_set_new(o, "usage", json_string(usage));
    free(u);
    free(full);
    return list_add(c, "http", o, w);
}

static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    if (!p || !n || n > (SIZE_MAX - 1) / 2)
        return;
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    json_object_set_new(o, key, json_string(hex));
    free(hex);
}

bool mc_cfg_encryption(mc_config *c, const mc_crypto *e, mc_where w)
{
    if (!c || !e)
        return false;
    if (e->usage && !in_set(e->usage, crypto_usage)) {
        mc_cfg_raw_str(c, "encryption", e->algorithm ? e->algorithm : e->usage);
        return false;
    }
    json_t *o = json_object();
    set_str(o, "algorithm", e->algorithm);
    set_str(o, "mode", e->mode);
    set_hex(o, "key", e->key, e->key_len);
    set_hex(o, "iv", e->iv, e->iv_len);
    set_hex(o, "salt", e->salt, e->salt_len);
    set_hex(o, "nonce", e->nonce, e->nonce_len);
    set_str(o, "password", e->password);
    if (json_object_size(o) == 0) {
        json_decref(o);
        return false;
    }
    set_str(o, "usage", e->usage);
    return list_add(c, "encryption", o, w);
}

static bool keyed_entry(mc_config *c, const char *field, const char *keyname, const char *v,
                        const char *usage, const char *const *usages, mc_where w)
{
    if (!c || !v || !*v)
        return false;
    if (usage && !in_set(usage, usages)) {
        mc_cfg_raw_str(c, field, v);
        return false;
    }
    json_t *o = json_object();
    json_object_set_new(o, keyname, capped_str(c, field, v));
    set_str(o, "usage", usage);
    return list_add(c, field, o, w);
}

bool mc_cfg_path(mc_config *c, const char *path, const char *usage, mc_where w)
{
    return keyed_entry(c, "paths", "path", path, usage, path_usage, w);
}

bool mc_cfg_registry(mc_config *c, const char *key, const char *usage, mc_where w)
{
    return keyed_entry(c, "registry", "key", key, usage, registry_usage, w);
}

void mc_cfg_other(mc_config *c, const char *key, json_t *value, mc_where w)
{
    if (!c || !key || !*key || !value) {
        json_decref(value);
        return;
    }
    json_t *other = json_object_get(c->cfg, "other");
    if (!other) {
        other = json_object();
        json_object_set_new(c->cfg, "other", other);
    }
    char pkey[128];
    snprintf(pkey, sizeof pkey, "other.%s", key);
    json_t *old = json_object_get(other, key);
    if (old && !json_equal(old, value)) {
        mc_cfg_raw(c, pkey, value);   /* no last-writer-wins: the first value stays */
        return;
    }
    if (old)
        json_decref(value);
    else
        json_object_set_new(other, key, value);
    prov_add(c, pkey, w);
}

/* ---- views ---- */

const char *mc_cfg_family(const mc_config *c) { return c ? c->family : NULL; }
uint64_t mc_cfg_anchor(const mc_config *c) { return c ? c->anchor : 0; }
json_t *mc_cfg_provenance(const mc_config *c) { return c ? c->prov : NULL; }
json_t *mc_cfg_rawjson(const mc_config *c) { return c ? c->raw : NULL; }
json_t *mc_cfg_warnings(const mc_config *c) { return c ? c->warnings : NULL; }

/* Empty lists and objects are left out of the MACO object (MACO's exclude_defaults); they can
 * only appear here when a decoder added nothing to a field it touched. */
json_t *mc_cfg_json(const mc_config *c)
{
    if (!c)
        return NULL;
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(c->cfg, tmp, k, v) {
        if ((json_is_array(v) && json_array_size(v) == 0) ||
            (json_is_object(v) && json_object_size(v) == 0))
            json_object_del(c->cfg, k);
    }
    return c->cfg;
}

const char *mc_form_name(mc_form f)
{
    switch (f) {
    case MC_FORM_IMAGE_ENCRYPTED: return "image_encrypted";
    case MC_FORM_HEAP_DECRYPTED: return "heap_decrypted";
    case MC_FORM_PLAINTEXT: return "plaintext";
    default: return "unknown";
    }
}

const char *mc_status_name(mc_status s)
{
    switch (s) {
    case MC_STATUS_COMPLETE: return "complete";
    case MC_STATUS_PARTIAL: return "partial";
    case MC_STATUS_TEMPLATE: return "template";
    default: return "failed";
    }
}
