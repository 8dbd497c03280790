/* Output writers (text, json, ndjson) over the engine's records, plus defanging and the error
 * record. Writers only read records; the order they receive inputs in is the order they print. */
#include "mc_output.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef MEMCFG_VERSION
#define MEMCFG_VERSION "0"
#endif

/* ---------------------------------------------------------------- defanging and text safety */

/* Appends s[0..n) with every '.' bracketed; dst has room for 3n bytes. */
static size_t bracket_dots(char *dst, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            memcpy(dst + o, "[.]", 3);
            o += 3;
        } else {
            dst[o++] = s[i];
        }
    }
    return o;
}

char *mc_defang_host(const char *s)
{
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *r = malloc(3 * n + 1);
    if (!r)
        return NULL;
    r[bracket_dots(r, s, n)] = '\0';
    return r;
}

static const char *defanged_scheme(const char *s, size_t n)
{
    static const struct { const char *from, *to; } map[] = {
        {"http", "hxxp"}, {"https", "hxxps"}, {"ftp", "fxp"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].from) == n && strncasecmp(s, map[i].from, n) == 0)
            return map[i].to;
    return NULL;
}

char *mc_defang_url(const char *s)
{
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 8) / 3)
        return NULL;
    char *r = malloc(3 * n + 8);
    if (!r)
        return NULL;
    size_t o = 0, i = 0;
    const char *sep = strstr(s, "://");
    if (sep) {
        size_t sl = (size_t)(sep - s);
        const char *to = defanged_scheme(s, sl);
        if (to) {
            memcpy(r, to, strlen(to));
            o = strlen(to);
        } else {
            memcpy(r, s, sl);
            o = sl;
        }
        memcpy(r + o, "://", 3);
        o += 3;
        i = sl + 3;
    }
    size_t host_end = i + strcspn(s + i, "/?#");
    /* userinfo keeps its dots: only the host names a place on the network */
    const char *at = memchr(s + i, '@', host_end - i);
    size_t host_start = at ? (size_t)(at - s) + 1 : i;
    memcpy(r + o, s + i, host_start - i);
    o += host_start - i;
    o += bracket_dots(r + o, s + host_start, host_end - host_start);
    memcpy(r + o, s + host_end, n - host_end);
    o += n - host_end;
    r[o] = '\0';
    return r;
}

/* Decodes one UTF-8 sequence; returns its length, or 0 when it is malformed. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || p[0] > 0xf4)
        return 0;
    uint32_t c = p[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min_cp[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static bool unsafe_cp(uint32_t c)
{
    return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (c >= 0x202a && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f;
}

char *mc_text_safe(const char *s)
{
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 10)
        return NULL;
    char *r = malloc(10 * n + 1);
    if (!r)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, n - i, &cp);
        if (len == 0) {
            o += (size_t)sprintf(r + o, "\\x%02x", p[i]);
            i++;
        } else if (unsafe_cp(cp)) {
            o += cp < 0x80 ? (size_t)sprintf(r + o, "\\x%02x", (unsigned)cp)
                           : (size_t)sprintf(r + o, "\\u{%04x}", (unsigned)cp);
            i += len;
        } else {
            memcpy(r + o, p + i, len);
            o += len;
            i += len;
        }
    }
    r[o] = '\0';
    return r;
}

/* Host-bearing MACO fields: every connection object names its host with one of these. */
static bool host_key(const char *k)
{
    return !strcmp(k, "server_ip") || !strcmp(k, "server_domain") || !strcmp(k, "client_ip") ||
           !strcmp(k, "ip") || !strcmp(k, "hostname");
}

static void defang_object(json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!json_is_string(v))
            continue;
        bool url = !strcmp(k, "uri");
        if (!url && !host_key(k))
            continue;
        char *d = url ? mc_defang_url(json_string_value(v)) : mc_defang_host(json_string_value(v));
        if (d)
            json_string_set(v, d);
        free(d);
    }
}

json_t *mc_record_defanged(const json_t *rec)
{
    json_t *copy = json_deep_copy(rec);
    if (!copy)
        return NULL;
    json_t *config = json_object_get(copy, "config");
    const char *k;
    json_t *list;
    json_object_foreach(config, k, list) {
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
            if (json_is_object(item))
                defang_object(item);
    }
    json_object_set_new(copy, "defanged", json_true());
    return copy;
}

/* ---------------------------------------------------------------- records */

json_t *mc_tool_block(const char *ruleset_sha256)
{
    json_t *t = json_pack("{s:s, s:s, s:s}", "name", MC_TOOL_NAME, "version", MEMCFG_VERSION,
                          "maco_version", MC_MACO_VERSION);
    if (t && ruleset_sha256)
        json_object_set_new(t, "ruleset_sha256", json_string(ruleset_sha256));
    return t;
}

/* Paths and messages may hold any bytes; mc_json_str escapes what is not UTF-8. */
static json_t *string_or_null(const char *s)
{
    json_t *v = s ? mc_json_str(s) : NULL;
    return v ? v : json_null();
}

json_t *mc_error_record(const char *path, const json_t *input, const char *code,
                        const char *message, const char *ruleset_sha256)
{
    json_t *in = input ? json_deep_copy(input) : json_object();
    if (in && !json_object_get(in, "path"))
        json_object_set_new(in, "path", string_or_null(path));
    /* the same shape as the engine's own error records */
    return json_pack("{s:s, s:s, s:o*, s:o*, s:s, s:{s:s, s:o}, s:[]}", "schema_version",
                     MC_SCHEMA_VERSION, "record_type", "error", "tool",
                     mc_tool_block(ruleset_sha256), "input", in, "status", "failed", "error",
                     "code", code, "message", string_or_null(message), "warnings");
}

static const char *record_type(const json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "record_type"));
    return t ? t : "config";
}

static bool has_error_record(const mc_input_result *res)
{
    for (size_t i = 0; i < res->nrecords; i++)
        if (!strcmp(record_type(res->records[i]), "error"))
            return true;
    return false;
}

static const char *input_message(const mc_input_result *res)
{
    if (res->error[0])
        return res->error;
    return res->status == MC_INPUT_TIMEOUT ? "timeout" : "input failed";
}

static const char *status_name(mc_input_status s)
{
    return s == MC_INPUT_OK ? "ok" : s == MC_INPUT_TIMEOUT ? "timeout" : "error";
}

static size_t config_count(const mc_output_input *in)
{
    size_t n = 0;
    for (size_t i = 0; i < in->nrecords; i++)
        n += strcmp(record_type(in->records[i]), "error") != 0;
    return n;
}

/* ---------------------------------------------------------------- ndjson */

static int ndjson_input(mc_writer *w, const mc_output_input *in)
{
    for (size_t i = 0; i < in->nrecords; i++) {
        if (json_dumpf(in->records[i], w->fp, JSON_COMPACT) != 0 || fputc('\n', w->fp) == EOF ||
            fflush(w->fp) != 0)
            return -1;
    }
    return 0;
}

static const mc_writer_ops ndjson_ops = {
    .name = "ndjson",
    .help = "one record per line, written as each input finishes",
    .machine = true,
    .input = ndjson_input,
};

/* ---------------------------------------------------------------- json */

typedef struct json_state {
    json_t *inputs, *records;
} json_state;

static int json_begin(mc_writer *w)
{
    json_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->inputs = json_array();
    s->records = json_array();
    w->state = s;
    return s->inputs && s->records ? 0 : -1;
}

static json_t *json_input_entry(const mc_writer *w, const mc_output_input *in)
{
    const json_t *ib = in->res->input;
    json_t *e = json_pack("{s:o, s:O?, s:O?, s:s}", "path", string_or_null(in->path), "sha256",
                          json_object_get(ib, "sha256"), "format", json_object_get(ib, "format"),
                          "status", status_name(in->res->status));
    if (!e)
        return NULL;
    if (in->res->status != MC_INPUT_OK)
        json_object_set_new(e, "error", string_or_null(input_message(in->res)));
    if (in->res->partial)
        json_object_set_new(e, "partial", json_true());
    json_object_set_new(e, "records", json_integer((json_int_t)config_count(in)));
    if (w->opts.verbose)
        json_object_set_new(e, "elapsed_ms", json_integer((json_int_t)(in->res->elapsed * 1e3)));
    return e;
}

static int json_input(mc_writer *w, const mc_output_input *in)
{
    json_state *s = w->state;
    if (json_array_append_new(s->inputs, json_input_entry(w, in)) != 0)
        return -1;
    for (size_t i = 0; i < in->nrecords; i++)
        if (json_array_append(s->records, in->records[i]) != 0)
            return -1;
    return 0;
}

static int json_finish(mc_writer *w)
{
    json_state *s = w->state;
    const mc_output_stats *st = &w->stats;
    json_t *doc = json_pack("{s:s, s:o, s:O, s:O, s:{s:I, s:I, s:I, s:I}}", "schema_version",
                            MC_SCHEMA_VERSION, "tool", mc_tool_block(w->opts.ruleset_sha256),
                            "inputs", s->inputs, "records", s->records, "stats", "inputs",
                            (json_int_t)st->inputs, "hits", (json_int_t)st->hits, "records",
                            (json_int_t)st->configs, "errors", (json_int_t)st->errors);
    if (!doc)
        return -1;
    int rc = json_dumpf(doc, w->fp, JSON_INDENT(2)) == 0 && fputc('\n', w->fp) != EOF ? 0 : -1;
    json_decref(doc);
    return rc;
}

static void json_release(mc_writer *w)
{
    json_state *s = w->state;
    if (s) {
        json_decref(s->inputs);
        json_decref(s->records);
        free(s);
    }
}

static const mc_writer_ops json_ops = {
    .name = "json",
    .help = "one document for the run: inputs, records, stats",
    .machine = true,
    .begin = json_begin,
    .input = json_input,
    .finish = json_finish,
    .release = json_release,
};

/* ---------------------------------------------------------------- text */

enum { T_PLAIN, T_HOST, T_URL };

/* Prints a string from the dump: terminal-safe, and defanged when it names a host. */

static void put_value(const mc_writer *w, const char *v, int kind)
{
    char *d = NULL;
    if (w->defang && kind == T_HOST)
        d = mc_defang_host(v);
    else if (w->defang && kind == T_URL)
        d = mc_defang_url(v);
    char *safe = mc_text_safe(d ? d : v);
    fputs(safe ? safe : "?", w->fp);
    free(safe);
    free(d);
}

static void put_label(const mc_writer *w, const char *label)
{
    fprintf(w->fp, "    %-10s ", label);
}

/* Where a value came from: provenance["field[i]"] (or the first "field[i].sub"), a list of
 * {"va", "form"} locations; a bare object or string is accepted too. */
static const json_t *provenance_of(const json_t *rec, const char *field, size_t i)
{
    const json_t *prov = json_object_get(rec, "provenance");
    char key[96];
    snprintf(key, sizeof key, "%s[%zu]", field, i);
    size_t kl = strlen(key);
    const json_t *hit = json_object_get(prov, key);
    if (hit)
        return hit;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)prov, k, v)
        if (!strncmp(k, key, kl) && k[kl] == '.')
            return v;
    return NULL;
}

static void put_location(const mc_writer *w, const json_t *loc)
{
    const json_t *va = json_is_object(loc) ? json_object_get(loc, "va") : loc;
    if (json_is_string(va))
        put_value(w, json_string_value(va), T_PLAIN);
    else if (json_is_integer(va))
        fprintf(w->fp, "0x%" PRIx64, (uint64_t)json_integer_value(va));
    else
        fputc('?', w->fp);
    const char *form = json_string_value(json_object_get(loc, "form"));
    if (form && strcmp(form, "unknown")) {
        fputs(" (", w->fp);
        put_value(w, form, T_PLAIN);
        fputc(')', w->fp);
    }
}

/* Ends a value's line with the addresses it was found at. */
static void put_from(const mc_writer *w, const json_t *rec, const char *field, size_t i)
{
    const json_t *p = provenance_of(rec, field, i);
    if (p) {
        fputs("  @ ", w->fp);
        if (json_is_array(p)) {
            size_t k;
            json_t *loc;
            json_array_foreach(p, k, loc) {
                if (k)
                    fputs(", ", w->fp);
                put_location(w, loc);
            }
        } else {
            put_location(w, p);
        }
    }
    fputc('\n', w->fp);
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* host[:port] of a connection-like object; returns false when it names no host. */
static bool put_endpoint(const mc_writer *w, const json_t *c)
{
    const char *uri = sget(c, "uri");
    if (uri) {
        put_value(w, uri, T_URL);
        return true;
    }
    const char *host = sget(c, "server_domain");
    if (!host)
        host = sget(c, "server_ip");
    if (!host)
        host = sget(c, "hostname");
    if (!host)
        host = sget(c, "ip");
    if (!host)
        return false;
    bool v6 = strchr(host, ':') != NULL;
    json_t *port = json_object_get(c, "server_port");
    if (!port)
        port = json_object_get(c, "port");
    if (v6 && port)
        fputc('[', w->fp);
    put_value(w, host, T_HOST);
    if (v6 && port)
        fputc(']', w->fp);
    if (json_is_integer(port))
        fprintf(w->fp, ":%" JSON_INTEGER_FORMAT, json_integer_value(port));
    const char *path = sget(c, "path");
    if (path)
        put_value(w, path, T_PLAIN);
    return true;
}

static void put_c2s(const mc_writer *w, const json_t *rec, const json_t *config)
{
    static const char *const kinds[] = {"http", "tcp", "udp", "dns", "ftp", "smtp", "ssh",
                                        "proxy", "icmp"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(config, kinds[k]), i, c) {
            put_label(w, "c2");
            fprintf(w->fp, "%-5s ", kinds[k]);
            if (!put_endpoint(w, c))
                fputs("(no host)", w->fp);
            const char *usage = sget(c, "usage");
            if (usage) {
                fputs(" (", w->fp);
                put_value(w, usage, T_PLAIN);
                fputc(')', w->fp);
            }
            put_from(w, rec, kinds[k], i);
        }
    }
}

static void put_strings(const mc_writer *w, const json_t *rec, const json_t *config,
                        const char *field, const char *label)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(config, field), i, v) {
        if (!json_is_string(v))
            continue;
        put_label(w, label);
        put_value(w, json_string_value(v), T_PLAIN);
        put_from(w, rec, field, i);
    }
}

static void put_keys(const mc_writer *w, const json_t *rec, const json_t *config)
{
    static const char *const parts[] = {"algorithm", "mode", "key", "iv", "salt", "password"};
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(config, "encryption"), i, e) {
        put_label(w, "key");
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            const char *v = sget(e, parts[p]);
            if (!v)
                continue;
            if (p >= 1)
                fprintf(w->fp, "%s ", parts[p]);
            put_value(w, v, T_PLAIN);
            fputc(' ', w->fp);
        }
        const char *usage = sget(e, "usage");
        if (usage) {
            fputc('(', w->fp);
            put_value(w, usage, T_PLAIN);
            fputc(')', w->fp);
        }
        put_from(w, rec, "encryption", i);
    }
}

static void put_va_field(const mc_writer *w, const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        put_value(w, json_string_value(v), T_PLAIN);
    else if (json_is_integer(v))
        fprintf(w->fp, "0x%" PRIx64, (uint64_t)json_integer_value(v));
    else
        fputc('?', w->fp);
}

static void put_detection(const mc_writer *w, const json_t *rec)
{
    const json_t *det = json_object_get(rec, "detection");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(det, "rules"), i, r) {
        put_label(w, "rule");
        put_value(w, sget(r, "rule") ? sget(r, "rule") : "?", T_PLAIN);
        if (sget(r, "namespace")) {
            fputs(" (", w->fp);
            put_value(w, sget(r, "namespace"), T_PLAIN);
            fputc(')', w->fp);
        }
        fputc('\n', w->fp);
    }
    const json_t *reg = json_object_get(det, "region");
    if (!json_is_object(reg))
        return;
    put_label(w, "region");
    put_va_field(w, reg, "va");
    if (json_is_integer(json_object_get(reg, "size")))
        fprintf(w->fp, " size %" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(reg, "size")));
    if (sget(reg, "protect")) {
        fputc(' ', w->fp);
        put_value(w, sget(reg, "protect"), T_PLAIN);
    }
    if (sget(reg, "module")) {
        fputs(" module ", w->fp);
        put_value(w, sget(reg, "module"), T_PLAIN);
    }
    fputc('\n', w->fp);
}

static void put_record_head(const mc_writer *w, const json_t *rec, const json_t *config)
{
    const char *family = sget(config, "family");
    const mc_decoder *d = family ? mc_decoder_find(family) : NULL;
    const char *display = sget(json_object_get(rec, "decoder"), "display");
    if (!display)
        display = d ? d->display : family ? family : "(unknown family)";
    fputs("  ", w->fp);
    put_value(w, display, T_PLAIN);
    if (sget(config, "version")) {
        fputs(" version ", w->fp);
        put_value(w, sget(config, "version"), T_PLAIN);
    }
    fputs("  status ", w->fp);
    put_value(w, sget(rec, "status") ? sget(rec, "status") : "?", T_PLAIN);
    const json_t *conf = json_object_get(rec, "confidence");
    if (json_is_integer(conf))
        fprintf(w->fp, "  confidence %" JSON_INTEGER_FORMAT, json_integer_value(conf));
    fputc('\n', w->fp);
}

static void put_record(const mc_writer *w, const json_t *rec)
{
    const json_t *config = json_object_get(rec, "config");
    put_record_head(w, rec, config);
    put_detection(w, rec);
    put_c2s(w, rec, config);
    put_strings(w, rec, config, "mutex", "mutex");
    put_strings(w, rec, config, "campaign_id", "campaign");
    put_strings(w, rec, config, "identifier", "id");
    put_strings(w, rec, config, "password", "password");
    put_keys(w, rec, config);
    size_t i;
    json_t *warn;
    json_array_foreach(json_object_get(rec, "warnings"), i, warn) {
        if (!json_is_string(warn))
            continue;
        put_label(w, "warning");
        put_value(w, json_string_value(warn), T_PLAIN);
        fputc('\n', w->fp);
    }
}

static void put_input_warnings(const mc_writer *w, const json_t *ib)
{
    size_t i;
    json_t *warn;
    json_array_foreach(json_object_get(ib, "warnings"), i, warn) {
        const char *msg = json_is_string(warn) ? json_string_value(warn) : sget(warn, "message");
        if (!msg)
            continue;
        fputs("  warning: ", w->fp);
        put_value(w, msg, T_PLAIN);
        fputc('\n', w->fp);
    }
}

static void put_input_head(const mc_writer *w, const mc_output_input *in)
{
    const json_t *ib = in->res->input;
    put_value(w, in->path ? in->path : "-", T_PLAIN);
    fputc('\n', w->fp);
    if (!sget(ib, "format")) {
        put_input_warnings(w, ib);
        return;
    }
    fputs("  format ", w->fp);
    put_value(w, sget(ib, "format") ? sget(ib, "format") : "?", T_PLAIN);
    if (sget(ib, "compression")) {
        fputs(" (", w->fp);
        put_value(w, sget(ib, "compression"), T_PLAIN);
        fputc(')', w->fp);
    }
    if (sget(ib, "arch")) {
        fputs(", ", w->fp);
        put_value(w, sget(ib, "arch"), T_PLAIN);
    }
    const json_t *size = json_object_get(ib, "size");
    if (json_is_integer(size))
        fprintf(w->fp, ", %" JSON_INTEGER_FORMAT " bytes", json_integer_value(size));
    const json_t *regions = json_object_get(ib, "regions");
    if (json_is_integer(regions))
        fprintf(w->fp, ", %" JSON_INTEGER_FORMAT " regions", json_integer_value(regions));
    const json_t *proc = json_object_get(ib, "process");
    if (json_is_integer(json_object_get(proc, "pid")))
        fprintf(w->fp, ", pid %" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(proc, "pid")));
    if (sget(proc, "name")) {
        fputs(" (", w->fp);
        put_value(w, sget(proc, "name"), T_PLAIN);
        fputc(')', w->fp);
    }
    if (w->opts.verbose)
        fprintf(w->fp, ", %.0f ms", in->res->elapsed * 1e3);
    fputc('\n', w->fp);
    put_input_warnings(w, ib);
}

/* A merged record (--cape-analysis) is printed once, under its first source; the text writer
 * remembers the other sources so that their own inputs point to it instead of looking empty. */
typedef struct text_merged { char *path, *into; } text_merged;
typedef struct text_state { text_merged *v; size_t n, cap; } text_state;

static bool text_note_merged(mc_writer *w, const char *path, const char *into)
{
    text_state *st = w->state;
    if (!st && !(st = w->state = calloc(1, sizeof *st)))
        return false;
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->v[i].path, path) && !strcmp(st->v[i].into, into))
            return true;
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 8;
        text_merged *nv = ncap > SIZE_MAX / sizeof *nv ? NULL : realloc(st->v, ncap * sizeof *nv);
        if (!nv)
            return false;
        st->v = nv;
        st->cap = ncap;
    }
    text_merged m = {strdup(path), strdup(into)};
    if (!m.path || !m.into) {
        free(m.path);
        free(m.into);
        return false;
    }
    st->v[st->n++] = m;
    return true;
}

static void text_release(mc_writer *w)
{
    text_state *st = w->state;
    for (size_t i = 0; st && i < st->n; i++) {
        free(st->v[i].path);
        free(st->v[i].into);
    }
    if (st)
        free(st->v);
    free(st);
    w->state = NULL;
}

/* The inputs a merged record came from; each source other than the input it is printed under
 * is remembered for that source's own entry. */
static void put_sources(mc_writer *w, const mc_output_input *in, const json_t *rec)
{
    const json_t *srcs = json_object_get(rec, "sources");
    const char *into = sget(json_array_get(srcs, 0), "path");
    size_t i;
    json_t *src;
    json_array_foreach(srcs, i, src) {
        const char *path = sget(src, "path");
        put_label(w, "source");
        put_value(w, path ? path : "-", T_PLAIN);
        const json_t *pid = json_object_get(src, "pid");
        if (json_is_integer(pid))
            fprintf(w->fp, " pid %" JSON_INTEGER_FORMAT, json_integer_value(pid));
        if (json_object_get(src, "va")) {
            fputs(" va ", w->fp);
            put_va_field(w, src, "va");
        }
        fputc('\n', w->fp);
        if (path && into && in->path && strcmp(path, in->path) && !text_note_merged(w, path, into))
            fputs("    (out of memory: this source's own entry will not point here)\n", w->fp);
    }
}

/* Returns how many merged records this input's configurations went into. */
static size_t put_merged_into(const mc_writer *w, const mc_output_input *in)
{
    const text_state *st = w->state;
    size_t n = 0;
    for (size_t i = 0; st && in->path && i < st->n; i++) {
        if (strcmp(st->v[i].path, in->path))
            continue;
        fputs("  merged into the record of ", w->fp);
        put_value(w, st->v[i].into, T_PLAIN);
        fputc('\n', w->fp);
        n++;
    }
    return n;
}

static int text_input(mc_writer *w, const mc_output_input *in)
{
    put_input_head(w, in);
    if (in->res->status != MC_INPUT_OK) {
        fputs(in->res->status == MC_INPUT_TIMEOUT ? "  timeout: " : "  error: ", w->fp);
        put_value(w, input_message(in->res), T_PLAIN);
        fputc('\n', w->fp);
    }
    size_t shown = 0;
    for (size_t i = 0; i < in->nrecords; i++) {
        if (!strcmp(record_type(in->records[i]), "error"))
            continue;
        put_record(w, in->records[i]);
        put_sources(w, in, in->records[i]);
        shown++;
    }
    shown += put_merged_into(w, in);
    if (shown == 0 && in->res->status == MC_INPUT_OK)
        fputs("  no configuration found\n", w->fp);
    fputc('\n', w->fp);
    return ferror(w->fp) ? -1 : 0;
}

static int text_finish(mc_writer *w)
{
    const mc_output_stats *st = &w->stats;
    fprintf(w->fp, "%zu input%s, %zu configuration%s, %zu error%s\n", st->inputs,
            st->inputs == 1 ? "" : "s", st->configs, st->configs == 1 ? "" : "s", st->errors,
            st->errors == 1 ? "" : "s");
    return ferror(w->fp) ? -1 : 0;
}

static const mc_writer_ops text_ops = {
    .name = "text",
    .help = "for people: per input and per record, hosts defanged",
    .machine = false,
    .input = text_input,
    .finish = text_finish,
    .release = text_release,
};

/* ---------------------------------------------------------------- the writer */

const mc_writer_ops *const mc_writers[] = {&text_ops, &json_ops, &ndjson_ops, &mc_maco_ops,
                                           &mc_cape_ops, &mc_stix_ops, &mc_misp_ops, NULL};

const mc_writer_ops *mc_writer_lookup(const char *name)
{
    for (size_t i = 0; mc_writers[i]; i++)
        if (!strcmp(mc_writers[i]->name, name))
            return mc_writers[i];
    return NULL;
}

mc_writer *mc_writer_new(const char *format, FILE *fp, const mc_output_opts *opts)
{
    const mc_writer_ops *ops = mc_writer_lookup(format);
    if (!ops)
        return NULL;
    mc_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->ops = ops;
    w->fp = fp;
    if (opts)
        w->opts = *opts;
    else
        w->opts.defang = -1;
    w->defang = w->opts.defang < 0 ? !ops->machine : w->opts.defang != 0;
    if (!w->opts.fixed_time) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        w->opts.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    if (ops->begin && ops->begin(w) != 0) {
        mc_writer_free(w);
        return NULL;
    }
    return w;
}

static void count_input(mc_writer *w, const mc_output_input *in)
{
    w->stats.inputs++;
    w->stats.hits += in->res->nhits;
    w->stats.errors += in->res->status != MC_INPUT_OK;
    size_t configs = config_count(in);
    w->stats.configs += configs;
    w->stats.records += in->nrecords;
}

int mc_writer_input(mc_writer *w, const char *path, const mc_input_result *res)
{
    bool add_error = res->status != MC_INPUT_OK && !has_error_record(res);
    size_t n = res->nrecords + add_error;
    json_t **recs = calloc(n ? n : 1, sizeof *recs);
    if (!recs)
        return -1;
    bool copy = w->defang && w->ops->machine && !w->ops->self_defang;
    for (size_t i = 0; i < res->nrecords; i++)
        recs[i] = copy ? mc_record_defanged(res->records[i]) : json_incref(res->records[i]);
    if (add_error)
        recs[n - 1] = mc_error_record(path, res->input,
                                      res->status == MC_INPUT_TIMEOUT ? "MC_E_TIMEOUT" : "MC_E_INPUT",
                                      input_message(res), w->opts.ruleset_sha256);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (!recs[i])
            rc = -1;
    mc_output_input in = {.path = path, .res = res, .records = recs, .nrecords = n};
    if (rc == 0) {
        count_input(w, &in);
        rc = w->ops->input(w, &in);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(recs[i]);
    free(recs);
    return rc;
}

int mc_writer_finish(mc_writer *w)
{
    int rc = w->ops->finish ? w->ops->finish(w) : 0;
    if (fflush(w->fp) != 0 || ferror(w->fp))
        rc = -1;
    return rc;
}

void mc_writer_free(mc_writer *w)
{
    if (!w)
        return;
    if (w->ops->release)
        w->ops->release(w);
    free(w);
}

const mc_output_stats *mc_writer_stats(const mc_writer *w)
{
    return &w->stats;
}
