/* Shared by the export writers: IOCs of a MACO config, exportability, UUIDv5 ids, the run's
 * clock and TLP. */
#include "mc_feed.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- IOCs */

typedef struct walk {
    void (*fn)(void *arg, const mc_ioc *ioc);
    void *arg;
    bool beside_uri;
} walk;

static void emit(const walk *wk, mc_ioc_kind kind, const char *value, long port,
                 const char *usage, const char *scheme)
{
    if (!value || !value[0])
        return;
    mc_ioc ioc = {kind, value, port, usage, scheme, wk->beside_uri};
    wk->fn(wk->arg, &ioc);
}

static mc_ioc_kind host_kind(const char *host)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1)
        return MC_IOC_IPV4;
    if (inet_pton(AF_INET6, host, buf) == 1)
        return MC_IOC_IPV6;
    return MC_IOC_DOMAIN;
}

static long port_of(const json_t *o, const char *key)
{
    const json_t *p = json_object_get(o, key);
    if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 65535)
        return -1;
    return (long)json_integer_value(p);
}

static void emit_host(const walk *wk, const char *host, long port, const char *usage,
                      const char *scheme)
{
    if (host && host[0])
        emit(wk, host_kind(host), host, port, usage, scheme);
}

static void connections(const walk *wk, const json_t *config, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(config, field), i, c) {
        const char *usage = json_string_value(json_object_get(c, "usage"));
        long port = port_of(c, "server_port");
        emit_host(wk, json_string_value(json_object_get(c, "server_ip")), port, usage, field);
        emit_host(wk, json_string_value(json_object_get(c, "server_domain")), port, usage, field);
    }
}

/* http, ftp, smtp, ssh, proxy, icmp, dns: hostname (+port), and http's uri and user agent. */
static void services(walk *wk, const json_t *config, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(config, field), i, c) {
        const char *usage = json_string_value(json_object_get(c, "usage"));
        const char *uri = json_string_value(json_object_get(c, "uri"));
        long port = port_of(c, "port");
        emit(wk, MC_IOC_URL, uri, port, usage, field);
        wk->beside_uri = uri && uri[0];
        emit_host(wk, json_string_value(json_object_get(c, "hostname")), port, usage, field);
        if (!strcmp(field, "dns"))
            emit_host(wk, json_string_value(json_object_get(c, "ip")), port, usage, field);
        wk->beside_uri = false;
        emit(wk, MC_IOC_USER_AGENT, json_string_value(json_object_get(c, "user_agent")), -1,
             usage, field);
    }
}

static void strings(const walk *wk, const json_t *config, const char *field, mc_ioc_kind kind)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(config, field), i, v)
        emit(wk, kind, json_string_value(v), -1, NULL, NULL);
}

void mc_feed_iocs(const json_t *config, void (*fn)(void *arg, const mc_ioc *ioc), void *arg)
{
    static const char *const svc[] = {"http", "ftp", "smtp", "ssh", "proxy", "icmp", "dns"};
    walk wk = {fn, arg, false};
    connections(&wk, config, "tcp");
    connections(&wk, config, "udp");
    for (size_t k = 0; k < sizeof svc / sizeof svc[0]; k++)
        services(&wk, config, svc[k]);
    strings(&wk, config, "mutex", MC_IOC_MUTEX);
    strings(&wk, config, "pipe", MC_IOC_PIPE);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(config, "registry"), i, r)
        emit(&wk, MC_IOC_REGKEY, json_string_value(json_object_get(r, "key")), -1,
             json_string_value(json_object_get(r, "usage")), NULL);
    strings(&wk, config, "campaign_id", MC_IOC_CAMPAIGN);
}

bool mc_feed_exportable(const json_t *rec)
{
    const char *rt = json_string_value(json_object_get(rec, "record_type"));
    const char *st = json_string_value(json_object_get(rec, "status"));
    if ((rt && strcmp(rt, "config")) || !json_is_object(json_object_get(rec, "config")))
        return false;
    return st && (!strcmp(st, "complete") || !strcmp(st, "partial"));
}

bool mc_feed_usage_detects(const char *usage)
{
    return !usage || (strcmp(usage, "decoy") && strcmp(usage, "other"));
}

const char *mc_feed_display(const json_t *rec)
{
    const char *family = json_string_value(json_object_get(json_object_get(rec, "config"),
                                                           "family"));
    const mc_decoder *d = family ? mc_decoder_find(family) : NULL;
    return d ? d->display : family ? family : "unknown";
}

/* ---------------------------------------------------------------- ids */

static bool parse_uuid(const char *s, unsigned char out[16])
{
    size_t k = 0;
    for (size_t i = 0; s[i] && k < 32; i++) {
        if (s[i] == '-')
            continue;
        char hex[3] = {s[i], s[i + 1], 0};
        if (!s[i + 1])
            return false;
        char *end;
        unsigned long v = strtoul(hex, &end, 16);
        if (*end)
            return false;
        out[k / 2] = (unsigned char)v;
        k += 2;
        i++;
    }
    return k == 32;
}

bool mc_feed_uuid5(const char *ns, const char *name, char out[37])
{
    unsigned char nsb[16], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!parse_uuid(ns, nsb))
        return false;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    bool ok = h && EVP_DigestInit_ex(h, EVP_sha1(), NULL) && EVP_DigestUpdate(h, nsb, 16) &&
              EVP_DigestUpdate(h, name, strlen(name)) && EVP_DigestFinal_ex(h, md, &mdlen);
    EVP_MD_CTX_free(h);
    if (!ok)
        return false;
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
             md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
             md[12], md[13], md[14], md[15]);
    return true;
}

char *mc_feed_id(const char *prefix, const char *ns, ...)
{
    size_t len = 1;
    va_list ap;
    va_start(ap, ns);
    for (const char *p; (p = va_arg(ap, const char *));)
        len += strlen(p) + 1;
    va_end(ap);
    char *name = malloc(len);
    if (!name)
        return NULL;
    name[0] = '\0';
    size_t o = 0;
    va_start(ap, ns);
    for (const char *p; (p = va_arg(ap, const char *));) {
        size_t n = strlen(p);
        if (o)
            name[o++] = '|';
        memcpy(name + o, p, n);
        o += n;
    }
    va_end(ap);
    name[o] = '\0';
    char uuid[37];
    char *id = NULL;
    if (mc_feed_uuid5(ns, name, uuid)) {
        size_t n = strlen(prefix) + 2 + 36 + 1;
        id = malloc(n);
        if (id)
            snprintf(id, n, "%s--%s", prefix, uuid);
    }
    free(name);
    return id;
}

/* ---------------------------------------------------------------- time, TLP */

static void utc(const mc_writer *w, struct tm *tm)
{
    time_t t = (time_t)(w->opts.time_ms / 1000);
    gmtime_r(&t, tm);
}

void mc_feed_stix_time(const mc_writer *w, char out[32])
{
    struct tm tm;
    utc(w, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(w->opts.time_ms % 1000));
}

void mc_feed_date(const mc_writer *w, char out[16])
{
    struct tm tm;
    utc(w, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

void mc_feed_epoch(const mc_writer *w, char out[24])
{
    snprintf(out, 24, "%lld", (long long)(w->opts.time_ms / 1000));
}

bool mc_tlp_valid(const char *name)
{
    static const char *const names[] = {"clear", "green", "amber", "amber+strict", "red"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name && !strcmp(name, names[i]))
            return true;
    return false;
}

const char *mc_feed_tlp(const mc_writer *w)
{
    return mc_tlp_valid(w->opts.tlp) ? w->opts.tlp : "amber";
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "Z", "z" or "+hh:mm"/"-hh:mm" to seconds east of UTC. */
static bool parse_offset(const char *s, long *off)
{
    if ((s[0] == 'Z' || s[0] == 'z') && !s[1]) {
        *off = 0;
        return true;
    }
    int hh, mm;
    if ((s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &hh) || s[3] != ':' ||
        !digits(s + 4, 2, &mm) || s[6] || hh > 23 || mm > 59)
        return false;
    *off = (s[0] == '-' ? -1 : 1) * (long)(hh * 3600 + mm * 60);
    return true;
}

bool mc_parse_rfc3339(const char *s, int64_t *ms)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
        s[7] != '-' || !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 ||
        sec > 60)
        return false;
    const char *p = s + 19;
    int frac = 0, scale = 100;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        for (; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    long off;
    if (!parse_offset(p, &off))
        return false;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h,
                    .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != D || (int64_t)t - off < 0)
        return false;
    *ms = ((int64_t)t - off) * 1000 + frac;
    return true;
}

char *mc_feed_dumps(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT);
}
