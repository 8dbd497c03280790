/* Remcos RAT: RC4-encrypted settings in the RCDATA resource "SETTINGS" (keylen || key || RC4),
 * or, when the headers are gone, the same blob found right after the icon mask bytes that precede
 * it in .rsrc; plus the decrypted settings the running process keeps on its heap.
 *
 * Proof before report: the plaintext must split on one of the four separator generations and its
 * field 0 must be a list of host:port[:x] entries. Anything else (look-alikes, wrong keys, random
 * blobs) reports nothing. See families.md §4 for the field table this follows.
 */
#include "decoder.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_crypto.h"
#include "lib/mc_pe.h"
#include "md_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RC_MAX_FIELDS 128u
#define RC_MAX_C2 64u
#define RC_DEFAULT_MAX_BLOB (1u << 20)
#define RC_ANCHOR_WINDOW 0x10000u       /* bytes read after an anchor */
#define RC_ANCHOR_CANDIDATES 16u        /* "00 00" end candidates tried after an anchor */
#define RC_HEAP_WINDOW 0x10000u
#define RC_HEAP_BACK 1024u              /* how far back from a separator field 0 may start */
#define RC_HEAP_GAP 4096u               /* separators further apart end a heap copy */
#define RC_MAX_RCDATA 16u               /* RCDATA leaves tried when SETTINGS is absent */
#define RC_MAX_HEAP_COPIES 8u
#define RC_TRACK 64u

#define RC_ANCHOR_LEN 12u   /* the rule's $anchor: E0 00 00 07 E0 00 00 07 FF FF FF FF */

typedef enum rc_gen { GEN_NEW = 0, GEN_ATAT, GEN_1E, GEN_PIPE, GEN__COUNT } rc_gen;

static const struct {
    const char *sep; size_t seplen; const char *label; size_t min_fields;
} GENS[GEN__COUNT] = {
    /* The 5-byte separator never occurs by chance, so two fields are proof enough (the shared
     * vector has three); one-byte separators need a config-sized field count. */
    {"|\x1e\x1e\x1f|", 5, "|\\x1e\\x1e\\x1f|", 2},
    {"@@", 2, "@@", 3},
    {"\x1e", 1, "\\x1e", 10},
    {"|", 1, "|", 10},
};

typedef struct span { size_t off, len; } span;

typedef struct rc_c2 {
    span entry, hostport, third;
    bool has_third;
} rc_c2;

typedef struct rc_parsed {
    rc_gen gen;
    size_t nfields;
    span f[RC_MAX_FIELDS];    /* logical fields; f[0] is the whole C2 list */
    size_t nc2;
    rc_c2 c2[RC_MAX_C2];
} rc_parsed;

/* ---- parsing ---- */

static const uint8_t *find_bytes(const uint8_t *p, size_t len, const char *needle, size_t nlen)
{
    return nlen <= len ? memmem(p, len, needle, nlen) : NULL;
}

static size_t split(const uint8_t *p, size_t len, const char *sep, size_t seplen, span *out,
                    size_t max)
{
    size_t n = 0, at = 0;
    while (n < max) {
        const uint8_t *s = find_bytes(p + at, len - at, sep, seplen);
        size_t end = s ? (size_t)(s - p) : len;
        out[n].off = at;
        out[n].len = end - at;
        n++;
        if (!s) break;
        at = end + seplen;
    }
    return n;
}

static bool host_char(uint8_t c) { return isalnum(c) || c == '.' || c == '-' || c == '_'; }

/* host:port[:third], host a name or IPv4 literal (or [v6]), port 1..65535, third without ':'. */
static bool parse_c2(const uint8_t *pt, span e, rc_c2 *c)
{
    const uint8_t *p = pt + e.off;
    size_t i = 0, hl;
    if (e.len == 0) return false;
    if (p[0] == '[') {
        while (i < e.len && p[i] != ']') {
            if (i > 0 && !isxdigit(p[i]) && p[i] != ':' && p[i] != '.') return false;
            i++;
        }
        if (i >= e.len) return false;
        i++;
    } else {
        while (i < e.len && host_char(p[i])) i++;
    }
    hl = i;
    if (hl == 0 || hl > 253 || i >= e.len || p[i] != ':') return false;
    size_t ps = ++i;
    unsigned long port = 0;
    while (i < e.len && isdigit(p[i]) && i - ps < 5) port = port * 10 + (unsigned long)(p[i++] - '0');
    if (i == ps || port == 0 || port > 65535) return false;
    memset(c, 0, sizeof *c);
    c->entry = e;
    c->hostport = (span){e.off, i};
    if (i == e.len) return true;
    if (p[i] != ':') return false;
    size_t ts = ++i;
    for (; i < e.len; i++)
        if (p[i] == ':' || p[i] < 0x20 || p[i] > 0x7e || i - ts >= 64) return false;
    c->has_third = true;
    c->third = (span){e.off + ts, e.len - ts};
    return true;
}

/* The separator used between C2 entries in field 0 of the newest layout: the first present. */
static void c2_separator(const uint8_t *pt, span f0, const char **sep, size_t *seplen)
{
    static const struct { const char *s; size_t n; } c[] = {{"|", 1}, {"\x1e", 1}, {"\xff\xff\xff\xff", 4}};
    for (size_t i = 0; i < 3; i++)
        if (find_bytes(pt + f0.off, f0.len, c[i].s, c[i].n)) { *sep = c[i].s; *seplen = c[i].n; return; }
    *sep = NULL;
    *seplen = 0;
}

/* Every non-empty entry of field 0 must be a C2; at least one must be there. */
static bool parse_c2_list(const uint8_t *pt, span f0, const char *sep, size_t seplen, rc_parsed *r)
{
    span e[RC_MAX_C2];
    size_t n = 1;
    if (sep) n = split(pt + f0.off, f0.len, sep, seplen, e, RC_MAX_C2);
    else e[0] = (span){0, f0.len};
    r->nc2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].len == 0) continue;
        span abs = {f0.off + e[i].off, e[i].len};
        if (!parse_c2(pt, abs, &r->c2[r->nc2])) return false;
        r->nc2++;
    }
    return r->nc2 > 0;
}

/* The oldest layout has no C2 list field: the leading "|" fields that are C2 entries are it. */
static bool parse_pipe(const uint8_t *pt, const span *raw, size_t n, rc_parsed *r)
{
    size_t k = 0;
    r->nc2 = 0;
    while (k < n && r->nc2 < RC_MAX_C2 && parse_c2(pt, raw[k], &r->c2[r->nc2])) { r->nc2++; k++; }
    if (k == 0) return false;
    r->f[0] = (span){raw[0].off, raw[k - 1].off + raw[k - 1].len - raw[0].off};
    r->nfields = 1;
    for (size_t i = k; i < n; i++) r->f[r->nfields++] = raw[i];
    return true;
}

static bool parse_gen(const uint8_t *pt, size_t len, rc_gen g, rc_parsed *r)
{
    memset(r, 0, offsetof(rc_parsed, f));
    r->gen = g;
    if (!find_bytes(pt, len, GENS[g].sep, GENS[g].seplen)) return false;
    if (g == GEN_PIPE) {
        span raw[RC_MAX_FIELDS];
        size_t n = split(pt, len, "|", 1, raw, RC_MAX_FIELDS);
        if (!parse_pipe(pt, raw, n, r)) return false;
    } else {
        r->nfields = split(pt, len, GENS[g].sep, GENS[g].seplen, r->f, RC_MAX_FIELDS);
        const char *sep = "|";
        size_t seplen = 1;
        if (g == GEN_NEW) c2_separator(pt, r->f[0], &sep, &seplen);
        if (!parse_c2_list(pt, r->f[0], sep, seplen, r)) return false;
    }
    return r->nfields >= GENS[g].min_fields;
}

static bool rc_parse(const uint8_t *pt, size_t len, rc_parsed *r)
{
    for (int g = 0; g < GEN__COUNT; g++)
        if (parse_gen(pt, len, (rc_gen)g, r)) return true;
    return false;
}

/* ---- field values ---- */

static const uint8_t *fptr(const uint8_t *pt, const rc_parsed *r, size_t i, size_t *len)
{
    if (i >= r->nfields) { *len = 0; return NULL; }
    *len = r->f[i].len;
    return pt + r->f[i].off;
}

/* ASCII text of a field up to its first NUL; false when empty. */
static bool ftext(const uint8_t *pt, const rc_parsed *r, size_t i, char *dst, size_t dstsz)
{
    size_t n;
    const uint8_t *p = fptr(pt, r, i, &n);
    if (!p) return false;
    const uint8_t *z = memchr(p, 0, n);
    if (z) n = (size_t)(z - p);
    if (n == 0 || n >= dstsz) return false;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

/* Newer builds store some fields as UTF-16LE; accept either form. Text below U+2000 (Latin,
 * Greek, Cyrillic, ...) has every high byte under 0x20, which printable ASCII never has. */
static bool fwide(const uint8_t *pt, const rc_parsed *r, size_t i, char *dst, size_t dstsz)
{
    size_t n, high = 0;
    const uint8_t *p = fptr(pt, r, i, &n);
    if (!p || n == 0) return false;
    for (size_t k = 1; k < n; k += 2) high += p[k] < 0x20;
    if (n % 2 == 0 && high == n / 2) {
        while (n >= 2 && p[n - 1] == 0 && p[n - 2] == 0) n -= 2;
        if (n == 0) return false;
        return md_utf16le_to_utf8(p, n, dst, dstsz) > 0;
    }
    return ftext(pt, r, i, dst, dstsz);
}

/* A flag: raw 00/01 or an ASCII digit. */
static bool fflag(const uint8_t *pt, const rc_parsed *r, size_t i)
{
    size_t n;
    const uint8_t *p = fptr(pt, r, i, &n);
    return p && n == 1 && (p[0] == 1 || p[0] == '1');
}

static const char *dir_name(const rc_parsed *r, const uint8_t *pt, size_t i)
{
    /* families.md §4.4: CAPE's table for the newest layout, JPCERT's for older ones. "%ExeDir%"
     * stands for the directory the payload runs from. */
    static const char *const newer[] = {"%Temp%", "%ExeDir%", "%SystemDrive%", "%WinDir%",
                                        "%WinDir%\\SysWOW64", "%ProgramFiles%", "%AppData%",
                                        "%UserProfile%", "%ProgramData%"};
    static const char *const older[] = {"%Temp%", NULL, "%SystemDrive%", "%WinDir%",
                                        "%WinDir%\\System32", "%ProgramFiles%", "%AppData%",
                                        "%UserProfile%", "%ExeDir%"};
    size_t n;
    const uint8_t *p = fptr(pt, r, i, &n);
    if (!p || n != 1) return NULL;
    unsigned v = p[0] > 8 ? (unsigned)p[0] - '0' : p[0];
    if (v > 8) return NULL;
    return r->gen == GEN_NEW ? newer[v] : older[v];
}

/* ---- emission ---- */

typedef struct rc_emit {
    const uint8_t *pt;
    size_t len;
    const rc_parsed *r;
    uint64_t va;              /* VA of plaintext byte 0 (or of the ciphertext byte it came from) */
    mc_form form;
    bool first;               /* first time this config is filled: also write raw and other */
} rc_emit;

static mc_where at_field(const rc_emit *e, size_t i)
{
    return mc_at(e->va + (i < e->r->nfields ? e->r->f[i].off : 0), e->form);
}

static void emit_c2(mc_config *c, const rc_emit *e)
{
    json_t *tls = json_array();
    for (size_t i = 0; i < e->r->nc2; i++) {
        const rc_c2 *x = &e->r->c2[i];
        char hp[300], third[80];
        mc_where w = mc_at(e->va + x->entry.off, e->form);
        snprintf(hp, sizeof hp, "%.*s", (int)x->hostport.len, (const char *)e->pt + x->hostport.off);
        mc_cfg_hostport(c, hp, -1, "c2", w);
        if (!x->has_third || x->third.len == 0) continue;
        snprintf(third, sizeof third, "%.*s", (int)x->third.len, (const char *)e->pt + x->third.off);
        /* The third sub-field was a password in old builds and a 0/1 TLS switch in new ones. */
        if (e->r->gen == GEN_NEW && x->third.len == 1 && (third[0] == '0' || third[0] == '1')) {
            json_array_append_new(tls, json_pack("{s:s,s:b}", "c2", hp, "tls", third[0] == '1'));
        } else {
            mc_cfg_str(c, MC_F_PASSWORD, third, mc_at(e->va + x->third.off, e->form));
        }
    }
    if (e->first && json_array_size(tls) > 0) mc_cfg_other(c, "c2_tls", tls, mc_at(e->va, e->form));
    else json_decref(tls);
}

static void emit_path(mc_config *c, const rc_emit *e, size_t dir_i, size_t sub_i, size_t name_i,
                      const char *usage)
{
    char sub[256] = "", name[256] = "", path[800];
    const char *dir = dir_name(e->r, e->pt, dir_i);
    bool has_sub = sub_i && fwide(e->pt, e->r, sub_i, sub, sizeof sub);
    bool has_name = fwide(e->pt, e->r, name_i, name, sizeof name);
    if (!has_name && !has_sub) return;
    if (!dir) {
        size_t n;
        const uint8_t *p = fptr(e->pt, e->r, dir_i, &n);
        if (p && n && e->first) mc_cfg_raw(c, usage[0] == 'i' ? "install_dir_enum" : "keylog_dir_enum",
                                           mc_json_bytes(p, n));
        dir = "";
    }
    snprintf(path, sizeof path, "%s%s%s%s%s", dir, *dir && has_sub ? "\\" : "", sub,
             (*dir || has_sub) && has_name ? "\\" : "", name);
    mc_cfg_path(c, path, usage, at_field(e, name_i));
}

static void emit_registry(mc_config *c, const rc_emit *e, const char *mutex)
{
    static const char *const run[] = {
        "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run",
    };
    char key[540];
    if (mutex) {
        /* Remcos keeps its state under a key named like its mutex. */
        snprintf(key, sizeof key, "HKCU\\Software\\%s", mutex);
        mc_cfg_registry(c, key, "store_data", at_field(e, 14));
    }
    if (e->r->gen != GEN_NEW) return;
    for (size_t i = 0; i < 3; i++)
        if (fflag(e->pt, e->r, 4 + i)) mc_cfg_registry(c, run[i], "persistence", at_field(e, 4 + i));
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
    char *s = malloc(4 * ((n + 2) / 3) + 1);
    if (!s) return NULL;
    mc_b64_encode(p, n, s);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* Fields 54-58 hold the TLS certificates and keys of builds that speak TLS. */
static void emit_tls(mc_config *c, const rc_emit *e)
{
    static const char *const names[] = {"raw_certificate", "key", "peer_certificate",
                                        "client_private_key", "server_certificate"};
    json_t *o = json_object();
    for (size_t i = 0; i < 5; i++) {
        size_t n;
        const uint8_t *p = fptr(e->pt, e->r, 54 + i, &n);
        if (!p || n < 2) continue;
        json_t *j = b64_json(p, n);
        if (j) json_object_set_new(o, names[i], j);
        if (i == 1) {
            mc_crypto k = {.algorithm = "TLS", .key = p, .key_len = n, .usage = "communication"};
            mc_cfg_encryption(c, &k, at_field(e, 55));
        }
    }
    if (json_object_size(o) && e->first) mc_cfg_other(c, "tls", o, at_field(e, 54));
    else json_decref(o);
}

static void emit_raw(mc_config *c, const rc_emit *e)
{
    json_t *a = json_array();
    for (size_t i = 0; i < e->r->nfields; i++)
        json_array_append_new(a, mc_json_bytes(e->pt + e->r->f[i].off,
                                               e->r->f[i].len < 1024 ? e->r->f[i].len : 1024));
    mc_cfg_raw(c, "fields", a);
    mc_cfg_raw_str(c, "separator", GENS[e->r->gen].label);
}

static void emit_fields(mc_config *c, const rc_emit *e)
{
    char v[512], mutex[512];
    bool has_mutex;
    emit_c2(c, e);
    if (ftext(e->pt, e->r, 1, v, sizeof v)) mc_cfg_str(c, MC_F_CAMPAIGN_ID, v, at_field(e, 1));
    if (ftext(e->pt, e->r, 2, v, sizeof v) && strspn(v, "0123456789") == strlen(v) && strlen(v) < 9)
        mc_cfg_sleep_ms(c, atoll(v) * 1000, at_field(e, 2));
    has_mutex = ftext(e->pt, e->r, 14, mutex, sizeof mutex);
    if (has_mutex) mc_cfg_str(c, MC_F_MUTEX, mutex, at_field(e, 14));
    emit_registry(c, e, has_mutex ? mutex : NULL);
    bool newer = e->r->gen == GEN_NEW;
    emit_path(c, e, 9, newer ? 48 : 0, 10, "install");
    emit_path(c, e, 16, newer ? 49 : 0, 17, "logs");
    if (!newer) return;
    if (e->first && fwide(e->pt, e->r, 11, v, sizeof v))
        mc_cfg_other(c, "startup_value", json_string(v), at_field(e, 11));
    if (e->first && ftext(e->pt, e->r, 52, v, sizeof v))
        mc_cfg_other(c, "license", mc_json_str(v), at_field(e, 52));
    emit_tls(c, e);
}

/* ---- state ---- */

typedef struct rc_state {
    const mc_decode_ctx *ctx;
    const md_dump *d;
    mc_results *out;
    size_t max_blob;
    uint64_t blobs[RC_TRACK]; size_t nblobs;               /* blob VAs already decoded */
    struct { uint64_t lo, hi; } plain[RC_TRACK]; size_t nplain;   /* plaintext copies handled */
    uint64_t images[RC_TRACK]; size_t nimages;
    int rc;
} rc_state;

static bool seen(uint64_t *v, size_t *n, uint64_t x, bool add)
{
    for (size_t i = 0; i < *n; i++) if (v[i] == x) return true;
    if (add && *n < RC_TRACK) v[(*n)++] = x;
    return false;
}

static bool plain_handled(const rc_state *s, uint64_t va)
{
    for (size_t i = 0; i < s->nplain; i++)
        if (va >= s->plain[i].lo && va < s->plain[i].hi) return true;
    return false;
}

static void plain_add(rc_state *s, uint64_t lo, uint64_t hi)
{
    if (s->nplain < RC_TRACK) { s->plain[s->nplain].lo = lo; s->plain[s->nplain].hi = hi; s->nplain++; }
}

/* ---- version string ---- */

/* "4.9.3 Pro", "1.7 Free": NUL, d{1,2}.d{1,2}[.d{1,2}], space, letters, NUL. */
static size_t version_at(const uint8_t *p, size_t avail)
{
    size_t i = 0, groups = 0;
    for (;;) {
        size_t ds = i;
        while (i < avail && isdigit(p[i]) && i - ds < 3) i++;
        if (i == ds || i - ds > 2) return 0;
        groups++;
        if (i < avail && p[i] == '.' && groups < 3) { i++; continue; }
        break;
    }
    if (groups < 2 || i >= avail || p[i] != ' ') return 0;
    size_t ws = ++i;
    while (i < avail && isalpha(p[i]) && i - ws < 16) i++;
    if (i == ws || i >= avail || p[i] != 0) return 0;
    return i;
}

/* Start of the first region above va, or 0 when none. */
static uint64_t next_region_va(const md_dump *d, uint64_t va)
{
    size_t lo = 0, hi = d->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->regions[mid].va <= va) lo = mid + 1;
        else hi = mid;
    }
    return lo < d->nregions ? d->regions[lo].va : 0;
}

/* An image opened from its file has holes between headers and sections (each section sits at
 * its RVA), so a short read means "skip to the next region", not "the image ends here". */
static bool find_version(rc_state *s, uint64_t lo, uint64_t hi, char *out, size_t outsz, uint64_t *va)
{
    enum { CHUNK = 0x10000, OVER = 32 };
    bool found = false;
    uint8_t *buf = malloc(CHUNK + OVER);
    if (!buf) return false;
    if (hi - lo > (16u << 20)) hi = lo + (16u << 20);
    for (uint64_t at = lo, next; at < hi && !found; at = next) {
        if (mc_expired(s->ctx)) break;
        uint64_t want = hi - at < CHUNK + OVER ? hi - at : CHUNK + OVER;
        size_t got = (size_t)md_read(s->d, at, buf, want);
        next = at + CHUNK;
        if (got < want && got <= CHUNK) {
            uint64_t nr = next_region_va(s->d, at + got);
            next = nr > at ? nr : hi;
        }
        for (size_t i = 1; i + 4 < got && i < CHUNK + 1; i++) {
            if (buf[i - 1] != 0 || !isdigit(buf[i])) continue;
            size_t n = version_at(buf + i, got - i);
            if (n && n < outsz) {
                memcpy(out, buf + i, n);
                out[n] = '\0';
                *va = at + i;
                found = true;
                break;
            }
        }
    }
    free(buf);
    return found;
}

/* ---- decoding one plaintext ---- */

typedef struct rc_src {
    uint64_t anchor;          /* VA the config was located at */
    uint64_t ver_lo, ver_hi;  /* where to look for the version string; 0/0 = nowhere */
    const uint8_t *key; size_t keylen; uint64_t key_va;
    int confidence;
} rc_src;

static void find_heap_copies(rc_state *s, mc_config *c, const uint8_t *pt, size_t len,
                             const rc_parsed *r);

static mc_config *report(rc_state *s, const uint8_t *pt, size_t len, const rc_parsed *r,
                         uint64_t va, mc_form form, const rc_src *src)
{
    mc_config *c = mc_cfg_new(s->out, "remcos", src->anchor);
    if (!c) { s->rc = -1; return NULL; }
    mc_cfg_category(c, "rat");
    rc_emit e = {pt, len, r, va, form, true};
    emit_fields(c, &e);
    emit_raw(c, &e);
    if (src->key) {
        mc_crypto k = {.algorithm = "RC4", .key = src->key, .key_len = src->keylen, .usage = "config"};
        mc_cfg_encryption(c, &k, mc_at(src->key_va, MC_FORM_IMAGE_ENCRYPTED));
    }
    char ver[64];
    uint64_t ver_va;
    if (src->ver_hi > src->ver_lo && find_version(s, src->ver_lo, src->ver_hi, ver, sizeof ver, &ver_va))
        mc_cfg_version(c, ver, mc_at(ver_va, MC_FORM_PLAINTEXT));
    mc_cfg_status(c, MC_STATUS_COMPLETE, src->confidence);
    if (form == MC_FORM_IMAGE_ENCRYPTED) find_heap_copies(s, c, pt, len, r);
    return c;
}

/* ---- heap copies ---- */

static bool heap_parse_into(rc_state *s, mc_config *c, uint64_t va, size_t want, rc_gen g)
{
    uint8_t *buf = malloc(want ? want : 1);
    rc_parsed *r = malloc(sizeof *r);
    bool ok = false;
    if (buf && r) {
        size_t got = (size_t)md_read(s->d, va, buf, want);
        if (got && parse_gen(buf, got, g, r)) {
            rc_emit e = {buf, got, r, va, MC_FORM_HEAP_DECRYPTED, false};
            emit_fields(c, &e);
            plain_add(s, va, va + got);
            ok = true;
        }
    }
    free(buf);
    free(r);
    return ok;
}

/* The process keeps the decrypted settings: find byte-identical copies of the start on the heap. */
typedef struct rc_copies {
    rc_state *s;
    mc_config *c;
    size_t len, found;
    rc_gen gen;
} rc_copies;

static bool heap_copy(void *arg, size_t needle, uint64_t va, const mc_heap_span *sp, size_t off)
{
    rc_copies *k = arg;
    (void)needle; (void)sp; (void)off;
    if (!plain_handled(k->s, va) && heap_parse_into(k->s, k->c, va, k->len, k->gen)) k->found++;
    return k->found < RC_MAX_HEAP_COPIES;
}

static void find_heap_copies(rc_state *s, mc_config *c, const uint8_t *pt, size_t len,
                             const rc_parsed *r)
{
    size_t nlen = len < 64 ? len : 64;
    if (nlen < 12) return;
    rc_copies k = {s, c, len, 0, r->gen};
    mc_needle nd = {pt, nlen};
    if (!mc_heap_find_tokens(s->ctx, s->d, &nd, &(bool){false}, 1, heap_copy, &k))
        mc_heap_find_many(s->ctx, s->d, &nd, 1, heap_copy, &k);
}

/* Field 0 starts after the last byte before the separator that cannot be part of a C2 list. */
static uint64_t heap_start(rc_state *s, uint64_t sep_va)
{
    uint8_t back[RC_HEAP_BACK];
    const md_region *rg = md_region_at(s->d, sep_va);
    if (!rg) return sep_va;
    uint64_t lo = sep_va - rg->va < RC_HEAP_BACK ? rg->va : sep_va - RC_HEAP_BACK;
    size_t n = (size_t)(sep_va - lo);
    if (md_read(s->d, lo, back, n) != n) return sep_va;
    size_t i = n;
    while (i > 0) {
        uint8_t b = back[i - 1];
        if (!(host_char(b) || b == ':' || b == '|' || b == 0x1e || b == 0xff || b == '[' || b == ']'))
            break;
        i--;
    }
    return lo + i;
}

/* End of a heap copy: the last separator in a run of them, plus the field after it. */
static size_t heap_extent(const uint8_t *p, size_t len)
{
    const char *sep = GENS[GEN_NEW].sep;
    size_t last = 0, at = 0;
    for (;;) {
        const uint8_t *m = find_bytes(p + at, len - at, sep, 5);
        if (!m || (last && (size_t)(m - p) - last > RC_HEAP_GAP)) break;
        last = (size_t)(m - p) + 5;
        at = last;
    }
    if (!last) return 0;
    size_t end = last;
    while (end < len && end - last < 256 && p[end] != 0) end++;
    return end;
}

static void try_heap(rc_state *s, uint64_t sep_va)
{
    uint64_t start = heap_start(s, sep_va);
    if (plain_handled(s, start) || start == sep_va) return;
    uint64_t avail = md_avail(s->d, start);
    size_t want = avail < RC_HEAP_WINDOW ? (size_t)avail : RC_HEAP_WINDOW;
    uint8_t *buf = malloc(want ? want : 1);
    rc_parsed *r = malloc(sizeof *r);
    if (!buf || !r) { s->rc = -1; goto out; }
    size_t got = (size_t)md_read(s->d, start, buf, want);
    size_t end = heap_extent(buf, got);
    if (end && parse_gen(buf, end, GEN_NEW, r)) {
        plain_add(s, start, start + end);
        rc_src src = {.anchor = start, .confidence = 80};
        report(s, buf, end, r, start, MC_FORM_HEAP_DECRYPTED, &src);
    } else {
        plain_add(s, sep_va, sep_va + 5);
    }
out:
    free(buf);
    free(r);
}

/* ---- encrypted blobs ---- */

typedef struct rc_blob {
    uint64_t va;              /* keylen byte */
    uint8_t keylen;
    uint8_t key[255];
    uint64_t ct_va;
    uint8_t *ct;              /* decrypted in place */
    size_t len;
} rc_blob;

static bool blob_open(rc_state *s, rc_blob *b, uint64_t va, uint64_t max_len)
{
    memset(b, 0, sizeof *b);
    b->va = va;
    if (!md_read_u8(s->d, va, &b->keylen) || b->keylen == 0) return false;
    if (md_read(s->d, va + 1, b->key, b->keylen) != b->keylen) return false;
    b->ct_va = va + 1 + b->keylen;
    uint64_t avail = md_avail(s->d, b->ct_va);
    uint64_t want = max_len < avail ? max_len : avail;
    if (want > s->max_blob) want = s->max_blob;
    if (want == 0) return false;
    b->ct = malloc((size_t)want);
    if (!b->ct) { s->rc = -1; return false; }
    b->len = (size_t)md_read(s->d, b->ct_va, b->ct, want);
    return b->len > 0;
}

static void blob_close(rc_blob *b) { free(b->ct); b->ct = NULL; }

static void report_blob(rc_state *s, const rc_blob *b, size_t len, const rc_parsed *r,
                        uint64_t ver_lo, uint64_t ver_hi, int confidence)
{
    rc_src src = {b->va, ver_lo, ver_hi, b->key, b->keylen, b->va + 1, confidence};
    report(s, b->ct, len, r, b->ct_va, MC_FORM_IMAGE_ENCRYPTED, &src);
}

/* A blob of known size (from the resource directory). */
static bool try_resource(rc_state *s, uint64_t va, uint32_t size, uint64_t ver_lo, uint64_t ver_hi)
{
    rc_blob b;
    rc_parsed *r;
    bool ok = false;
    if (size < 3 || seen(s->blobs, &s->nblobs, va, false)) return false;
    if (!blob_open(s, &b, va, size - 1u)) return false;
    if ((size_t)b.keylen + 1 < size) {
        if (b.len > size - 1u - b.keylen) b.len = size - 1u - b.keylen;
        r = malloc(sizeof *r);
        if (!r) s->rc = -1;
        else if (mc_rc4(b.key, b.keylen, b.ct, b.len, b.ct) && rc_parse(b.ct, b.len, r)) {
            seen(s->blobs, &s->nblobs, va, true);
            report_blob(s, &b, b.len, r, ver_lo, ver_hi, 100);
            ok = true;
        }
        free(r);
    }
    blob_close(&b);
    return ok;
}

/* After the anchor the blob runs to the next "00 00" (MalConfScan); RC4 is a stream cipher, so
 * decrypt the window once and try each zero run as the end. The 5-byte separator cannot appear
 * in the garbage past the end, so with it the split with most fields wins; with one-byte
 * separators the first end giving a config-sized field count does. */
static size_t pick_anchor_end(const rc_blob *b, const uint8_t *ct, rc_parsed *r, rc_parsed *best)
{
    size_t best_len = 0, best_fields = 0, tried = 0;
    for (size_t i = 0; i + 1 < b->len && tried < RC_ANCHOR_CANDIDATES; i++) {
        if (ct[i] != 0 || ct[i + 1] != 0 || (i > 0 && ct[i - 1] == 0)) continue;
        tried++;
        if (!rc_parse(b->ct, i, r)) continue;
        bool strong = r->gen == GEN_NEW;
        if ((strong && r->nfields > best_fields) || (!strong && !best_len)) {
            *best = *r;
            best_len = i;
            best_fields = r->nfields;
        }
        if (!strong && r->nfields >= 15) { *best = *r; return i; }
    }
    return best_len;
}

static void try_anchor(rc_state *s, uint64_t blob_va)
{
    rc_blob b;
    if (seen(s->blobs, &s->nblobs, blob_va, false)) return;
    if (!blob_open(s, &b, blob_va, RC_ANCHOR_WINDOW)) return;
    uint8_t *ct = malloc(b.len);
    rc_parsed *r = malloc(sizeof *r), *best = malloc(sizeof *best);
    if (!ct || !r || !best) { s->rc = -1; goto out; }
    memcpy(ct, b.ct, b.len);
    if (!mc_rc4(b.key, b.keylen, b.ct, b.len, b.ct)) goto out;
    size_t end = pick_anchor_end(&b, ct, r, best);
    if (end) {
        seen(s->blobs, &s->nblobs, blob_va, true);
        const md_region *rg = md_region_at(s->d, blob_va);
        uint64_t lo = rg ? rg->va : 0, hi = rg ? rg->va + rg->size : 0;
        report_blob(s, &b, end, best, lo, hi, 90);
    }
out:
    free(ct);
    free(r);
    free(best);
    blob_close(&b);
}

/* ---- images ---- */

typedef struct rcdata_list { mc_pe_res v[RC_MAX_RCDATA]; size_t n; } rcdata_list;

static bool collect_rcdata(const mc_pe_res *res, void *arg)
{
    rcdata_list *l = arg;
    if (res->type.named || res->type.id != MC_RT_RCDATA) return true;
    l->v[l->n++] = *res;
    return l->n < RC_MAX_RCDATA;
}

static void try_image(rc_state *s, const md_image *img)
{
    mc_pe pe;
    mc_pe_res res;
    if (seen(s->images, &s->nimages, img->base, true)) return;
    if (!mc_pe_open(&pe, s->d, img)) return;
    uint64_t hi = img->base + (img->size ? img->size : pe.size_of_image);
    if (mc_pe_res_find(&pe, MC_RT_RCDATA, NULL, 0, "SETTINGS", &res) &&
        try_resource(s, res.va, res.size, img->base, hi))
        return;
    /* CAPE falls back to the other RCDATA blobs; the structural proof keeps that safe. */
    rcdata_list l = {.n = 0};
    mc_pe_res_walk(&pe, collect_rcdata, &l, NULL);
    for (size_t i = 0; i < l.n && !mc_expired(s->ctx); i++)
        if (try_resource(s, l.v[i].va, l.v[i].size, img->base, hi)) return;
}

static int remcos_decode(const mc_decode_ctx *ctx, const md_dump *dump, const mc_hits *hits,
                         mc_results *out)
{
    rc_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.d = dump;
    s.out = out;
    s.max_blob = ctx && ctx->max_output ? (size_t)ctx->max_output : RC_DEFAULT_MAX_BLOB;
    if (s.max_blob > RC_DEFAULT_MAX_BLOB * 16) s.max_blob = RC_DEFAULT_MAX_BLOB * 16;
    for (size_t i = 0; i < hits->n && !mc_expired(ctx); i++) {
        const md_image *img = md_image_at(dump, hits->v[i].va);
        if (img) try_image(&s, img);
    }
    for (size_t i = 0; i < hits->n && !mc_expired(ctx); i++) {
        const mc_hit *h = &hits->v[i];
        if (mc_hit_is(h, "$anchor") && h->len == RC_ANCHOR_LEN) try_anchor(&s, h->va + h->len);
    }
    for (size_t i = 0; i < hits->n && !mc_expired(ctx); i++) {
        const mc_hit *h = &hits->v[i];
        if (mc_hit_is(h, "$sep") && !plain_handled(&s, h->va)) try_heap(&s, h->va);
    }
    return s.rc;
}

extern const char mc_rules_remcos[];

const mc_decoder mc_decoder_remcos = {
    .family = "remcos",
    .display = "Remcos",
    .version = "1",
    .category = "rat",
    .rules = mc_rules_remcos,
    .decode = remcos_decode,
};
