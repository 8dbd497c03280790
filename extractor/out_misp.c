/* -f misp: one MISP event per input that yielded a decoded configuration (output.md 3.2, 7.2),
 * one {"Event": ...} per line, or a MISP feed folder with --misp-feed-dir (<uuid>.json per event,
 * manifest.json, hashes.csv) that a MISP instance can subscribe to.
 *
 * Every number is a JSON string, as MISP's core format carries them. Uuids are UUIDv5 under
 * memcfg's namespace: the event's over the input's sha256 (the same dump re-published updates its
 * event), attributes and objects over the event, type and value. Values are real unless --defang
 * is forced, and even then only attributes that are not to_ids are defanged.
 */
#include "mc_feed.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MALWARE_CONFIG_TEMPLATE "8200b79b-1d8c-49a8-9a63-7710e613c059"

typedef struct misp_state {
    json_t *manifest;     /* feed mode: event uuid -> manifest entry, for this run */
    json_t *hashes;       /* feed mode: "md5,event-uuid" lines, for this run */
} misp_state;

/* ---------------------------------------------------------------- attributes */

typedef struct attr_type {
    const char *type, *category;
    bool to_ids;
} attr_type;

static bool single_line(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool hostname_shaped(const char *v)
{
    size_t labels = 1;
    for (const char *p = v; *p; p++) {
        if (*p == '.')
            labels++;
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    }
    return labels >= 2 && v[0] != '.' && v[strlen(v) - 1] != '.' && !strstr(v, "..");
}

/* MISP's type, category and default to_ids for an IOC (describeTypes sane_defaults). A value
 * MISP would reject for its type is kept as text, never dropped. */
static attr_type type_of(const mc_ioc *ioc)
{
    static const attr_type text = {"text", "Other", false};
    if (!single_line(ioc->value))
        return text;
    switch (ioc->kind) {
    case MC_IOC_IPV4:
    case MC_IOC_IPV6:
        return ioc->port > 0 ? (attr_type){"ip-dst|port", "Network activity", true}
                             : (attr_type){"ip-dst", "Network activity", true};
    case MC_IOC_DOMAIN: {
        if (!hostname_shaped(ioc->value))
            return text;
        size_t dots = 0;
        for (const char *p = ioc->value; *p; p++)
            dots += *p == '.';
        /* a registrable name is domain; anything below it is a hostname */
        return dots == 1 ? (attr_type){"domain", "Network activity", true}
                         : (attr_type){"hostname", "Network activity", true};
    }
    case MC_IOC_URL: return (attr_type){"url", "Network activity", true};
    case MC_IOC_USER_AGENT: return (attr_type){"user-agent", "Network activity", false};
    case MC_IOC_MUTEX: return (attr_type){"mutex", "Artifacts dropped", true};
    case MC_IOC_PIPE: return (attr_type){"named pipe", "Artifacts dropped", false};
    case MC_IOC_REGKEY: return (attr_type){"regkey", "Persistence mechanism", true};
    case MC_IOC_CAMPAIGN: return (attr_type){"campaign-id", "Attribution", false};
    }
    return text;
}

typedef struct event_ctx {
    const mc_writer *w;
    const char *event_uuid;
    char ts[24];
    json_t *attrs;        /* Event.Attribute */
    json_t *seen;         /* "type|value" -> attribute, MISP refuses duplicates */
} event_ctx;

static char *attr_value(const event_ctx *e, const mc_ioc *ioc, const attr_type *t, bool to_ids)
{
    char *v;
    bool host = ioc->kind == MC_IOC_IPV4 || ioc->kind == MC_IOC_IPV6 ||
                ioc->kind == MC_IOC_DOMAIN;
    if (e->w->defang && !to_ids && host)
        v = mc_defang_host(ioc->value);
    else if (e->w->defang && !to_ids && ioc->kind == MC_IOC_URL)
        v = mc_defang_url(ioc->value);
    else
        v = strdup(ioc->value);
    if (v && !strcmp(t->type, "ip-dst|port")) {
        size_t n = strlen(v) + 8;
        char *c = malloc(n);
        if (c)
            snprintf(c, n, "%s|%ld", v, ioc->port);
        free(v);
        v = c;
    }
    return v;
}

static json_t *attribute(const event_ctx *e, const char *uuid_scope, const char *type,
                         const char *category, const char *value, bool to_ids)
{
    char *id = mc_feed_id("a", MC_FEED_NS_PROJECT, "misp-attribute", uuid_scope, type, value,
                          NULL);
    json_t *a = id ? json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:s, s:b}", "uuid", id + 3, "type",
                               type, "category", category, "value", mc_json_str(value), "to_ids",
                               to_ids, "distribution", "5", "timestamp", e->ts, "deleted", 0)
                  : NULL;
    free(id);
    return a;
}

static void add_ioc(void *arg, const mc_ioc *ioc)
{
    event_ctx *e = arg;
    attr_type t = type_of(ioc);
    bool to_ids = t.to_ids && mc_feed_usage_detects(ioc->usage);
    char *value = attr_value(e, ioc, &t, to_ids);
    if (!value)
        return;
    size_t kn = strlen(t.type) + strlen(value) + 2;
    char *key = malloc(kn);
    if (key)
        snprintf(key, kn, "%s|%s", t.type, value);
    json_t *old = key ? json_object_get(e->seen, key) : NULL;
    if (old) {
        /* the same value in two configs: detect on it if either says so */
        if (to_ids)
            json_object_set_new(old, "to_ids", json_true());
    } else if (key) {
        json_t *a = attribute(e, e->event_uuid, t.type, t.category, value, to_ids);
        if (a && ioc->usage)
            json_object_set_new(a, "comment", json_string(ioc->usage));
        if (a) {
            json_array_append_new(e->attrs, a);
            json_object_set(e->seen, key, a);
        }
    }
    free(key);
    free(value);
}

/* ---------------------------------------------------------------- objects */

static json_t *object_attribute(const event_ctx *e, const char *obj_uuid, const char *relation,
                                const char *value)
{
    json_t *a = attribute(e, obj_uuid, relation, "Other", value, false);
    if (a) {
        json_object_set_new(a, "type", json_string("text"));
        json_object_set_new(a, "object_relation", json_string(relation));
        json_object_set_new(a, "disable_correlation", json_true());
    }
    return a;
}

/* malware-config: the MACO config as JSON (template requires config or file-config). */
static json_t *config_object(const event_ctx *e, const json_t *rec)
{
    const char *fp = json_string_value(json_object_get(rec, "fingerprint"));
    char *id = mc_feed_id("o", MC_FEED_NS_PROJECT, "misp-object", e->event_uuid,
                          fp ? fp : "", NULL);
    json_t *shown = e->w->defang ? mc_record_defanged(rec) : json_incref((json_t *)rec);
    char *config = shown ? mc_feed_dumps(json_object_get(shown, "config")) : NULL;
    json_decref(shown);
    json_t *o = NULL;
    if (id && config) {
        const char *version = json_string_value(json_object_get(json_object_get(rec, "config"),
                                                                "version"));
        char desc[256];
        snprintf(desc, sizeof desc, "%s%s%s configuration extracted by memcfg (%s, confidence %d)",
                 mc_feed_display(rec), version ? " " : "", version ? version : "",
                 json_string_value(json_object_get(rec, "status")),
                 (int)json_integer_value(json_object_get(rec, "confidence")));
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:[o,o,o]}",
                      "uuid", id + 3, "name", "malware-config", "meta-category", "file",
                      "description",
                      "Malware configuration recovered or extracted from a malicious binary.",
                      "template_uuid", MALWARE_CONFIG_TEMPLATE, "template_version", "2",
                      "timestamp", e->ts, "distribution", "5", "sharing_group_id", "0",
                      "comment", mc_json_str(desc), "deleted", 0, "Attribute",
                      object_attribute(e, id + 3, "config", config),
                      object_attribute(e, id + 3, "format", "JSON"),
                      object_attribute(e, id + 3, "description", desc));
    }
    free(config);
    free(id);
    return o;
}

/* ---------------------------------------------------------------- the event */

/* estimative-language likelihood bands for a 0-100 confidence. */
static const char *likelihood(json_int_t c)
{
    return c >= 95 ? "almost-certain" : c >= 80 ? "very-likely" : c >= 55 ? "likely"
         : c >= 45 ? "roughly-even-chance" : c >= 20 ? "unlikely" : c >= 5 ? "very-unlikely"
         : "almost-no-chance";
}

static const char *distribution(const char *tlp)
{
    return !strcmp(tlp, "clear") ? "3" : !strcmp(tlp, "green") ? "1" : "0";
}

static json_t *org(const mc_writer *w)
{
    const char *name = w->opts.misp_org_name ? w->opts.misp_org_name : MC_TOOL_NAME;
    char uuid[37];
    if (w->opts.misp_org_uuid)
        snprintf(uuid, sizeof uuid, "%s", w->opts.misp_org_uuid);
    else if (!mc_feed_uuid5(MC_FEED_NS_PROJECT, name, uuid))
        return NULL;
    return json_pack("{s:o, s:s}", "name", mc_json_str(name), "uuid", uuid);
}

static json_t *tags(const mc_writer *w, json_t *const *recs, size_t n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "tlp:%s", mc_feed_tlp(w));
    json_t *t = json_pack("[{s:s}]", "name", buf);
    json_t *seen = json_object();
    json_int_t best = 0;
    for (size_t i = 0; i < n; i++) {
        const char *display = mc_feed_display(recs[i]);
        json_int_t c = json_integer_value(json_object_get(recs[i], "confidence"));
        best = c > best ? c : best;
        if (json_object_get(seen, display))
            continue;
        json_object_set_new(seen, display, json_true());
        snprintf(buf, sizeof buf, "misp-galaxy:malpedia=\"%s\"", display);
        json_array_append_new(t, json_pack("{s:o}", "name", mc_json_str(buf)));
    }
    snprintf(buf, sizeof buf, "estimative-language:likelihood-probability=\"%s\"",
             likelihood(best));
    json_array_append_new(t, json_pack("{s:s}", "name", buf));
    json_decref(seen);
    return t;
}

static json_t *event_info(json_t *const *recs, size_t n, const json_t *input)
{
    char info[256];
    size_t o = (size_t)snprintf(info, sizeof info, "memcfg: ");
    json_t *seen = json_object();
    for (size_t i = 0; i < n && o < 160; i++) {
        const char *display = mc_feed_display(recs[i]);
        if (json_object_get(seen, display))
            continue;
        json_object_set_new(seen, display, json_true());
        o += (size_t)snprintf(info + o, sizeof info - o, "%s%.40s", json_object_size(seen) > 1 ?
                              ", " : "", display);
    }
    json_decref(seen);
    const char *sha = json_string_value(json_object_get(input, "sha256"));
    if (o < sizeof info)
        snprintf(info + o, sizeof info - o, " configuration%s from a process snapshot%s%.16s%s",
                 n > 1 ? "s" : "", sha ? " (sha256 " : "", sha ? sha : "", sha ? ")" : "");
    return mc_json_str(info);
}

static json_t *event_for(const mc_writer *w, const json_t *input, json_t *const *recs, size_t n)
{
    const char *sha = json_string_value(json_object_get(input, "sha256"));
    const char *path = json_string_value(json_object_get(input, "path"));
    char *id = mc_feed_id("e", MC_FEED_NS_PROJECT, "misp-event", sha ? sha : "",
                          sha ? "" : path ? path : "", NULL);
    if (!id)
        return NULL;
    event_ctx e = {w, id + 3, "", json_array(), json_object()};
    mc_feed_epoch(w, e.ts);
    char date[16];
    mc_feed_date(w, date);
    json_t *objects = json_array();
    for (size_t i = 0; i < n; i++) {
        mc_feed_iocs(json_object_get(recs[i], "config"), add_ioc, &e);
        json_array_append_new(objects, config_object(&e, recs[i]));
    }
    const char *tlp = mc_feed_tlp(w);
    json_t *ev = json_pack("{s:{s:s, s:o, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:o*, s:o, "
                           "s:o, s:o}}", "Event", "uuid", id + 3, "info",
                           event_info(recs, n, input), "date", date, "published", 1, "timestamp",
                           e.ts, "publish_timestamp", e.ts, "distribution", distribution(tlp),
                           "sharing_group_id", "0", "threat_level_id", "2", "analysis", "2",
                           "Orgc", org(w), "Tag", tags(w, recs, n), "Attribute", e.attrs,
                           "Object", objects);
    json_decref(e.seen);
    free(id);
    return ev;
}

/* ---------------------------------------------------------------- feed folder */

static bool md5_hex(const char *s, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL) || n != 16)
        return false;
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}

/* hashes.csv: md5 of every attribute value (each half of a composite one) and the event. */
static void add_hashes(misp_state *s, const json_t *event)
{
    const char *uuid = json_string_value(json_object_get(event, "uuid"));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(event, "Attribute"), i, a) {
        const char *type = json_string_value(json_object_get(a, "type"));
        char *v = strdup(json_string_value(json_object_get(a, "value")));
        if (!v)
            continue;
        bool composite = strchr(type, '|') != NULL;
        for (char *save = NULL, *part = composite ? strtok_r(v, "|", &save) : v; part;
             part = composite ? strtok_r(NULL, "|", &save) : NULL) {
            char md5[33], line[80];
            if (md5_hex(part, md5)) {
                snprintf(line, sizeof line, "%s,%s", md5, uuid);
                json_array_append_new(s->hashes, json_string(line));
            }
        }
        free(v);
    }
}

static json_t *manifest_entry(const json_t *event)
{
    return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "Orgc",
                     json_object_get(event, "Orgc"), "Tag", json_object_get(event, "Tag"),
                     "info", json_object_get(event, "info"), "date",
                     json_object_get(event, "date"), "analysis",
                     json_object_get(event, "analysis"), "threat_level_id",
                     json_object_get(event, "threat_level_id"), "timestamp",
                     json_object_get(event, "timestamp"));
}

static char *feed_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Written beside the target and renamed over it, so a subscriber never reads half a file. */
static int write_json_file(const char *dir, const char *name, const json_t *doc)
{
    char tmpname[300];
    snprintf(tmpname, sizeof tmpname, ".%s.tmp", name);
    char *tmp = feed_path(dir, tmpname), *path = feed_path(dir, name);
    int rc = -1;
    if (tmp && path && json_dump_file(doc, tmp, JSON_COMPACT) == 0)
        rc = rename(tmp, path) == 0 ? 0 : -1;
    if (rc && tmp)
        remove(tmp);
    free(tmp);
    free(path);
    return rc;
}

static int misp_input(mc_writer *w, const mc_output_input *in)
{
    misp_state *s = w->state;
    json_t **recs = calloc(in->nrecords ? in->nrecords : 1, sizeof *recs);
    if (!recs)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < in->nrecords; i++)
        if (mc_feed_exportable(in->records[i]))
            recs[n++] = in->records[i];
    int rc = 0;
    if (n) {
        json_t *input = json_object_get(recs[0], "input");
        json_t *doc = event_for(w, input ? input : in->res->input, recs, n);
        json_t *ev = json_object_get(doc, "Event");
        if (!ev) {
            rc = -1;
        } else if (w->opts.misp_feed_dir) {
            char name[64];
            snprintf(name, sizeof name, "%s.json",
                     json_string_value(json_object_get(ev, "uuid")));
            rc = write_json_file(w->opts.misp_feed_dir, name, doc);
            json_object_set_new(s->manifest, json_string_value(json_object_get(ev, "uuid")),
                                manifest_entry(ev));
            add_hashes(s, ev);
        } else {
            rc = json_dumpf(doc, w->fp, JSON_COMPACT) == 0 && fputc('\n', w->fp) != EOF &&
                 fflush(w->fp) == 0 ? 0 : -1;
        }
        json_decref(doc);
    }
    free(recs);
    return rc;
}

/* The run's events join those already in the folder: a feed grows across runs. */
static int write_manifest(const misp_state *s, const char *dir)
{
    char *path = feed_path(dir, "manifest.json");
    json_t *m = path ? json_load_file(path, 0, NULL) : NULL;
    free(path);
    if (!json_is_object(m)) {
        json_decref(m);
        m = json_object();
    }
    json_object_update(m, s->manifest);
    int rc = write_json_file(dir, "manifest.json", m);
    json_decref(m);
    return rc;
}

static int write_hashes(const misp_state *s, const char *dir)
{
    char *path = feed_path(dir, "hashes.csv"), *tmp = feed_path(dir, ".hashes.csv.tmp");
    FILE *old = path ? fopen(path, "r") : NULL;
    FILE *out = tmp ? fopen(tmp, "w") : NULL;
    int rc = out ? 0 : -1;
    char line[256];
    while (out && old && fgets(line, sizeof line, old)) {
        const char *comma = strchr(line, ',');
        char uuid[40] = "";
        if (comma)
            snprintf(uuid, sizeof uuid, "%.36s", comma + 1);
        /* lines of events this run rewrote are replaced by the new ones */
        if (comma && !json_object_get(s->manifest, uuid))
            fputs(line, out);
    }
    size_t i;
    json_t *h;
    json_array_foreach(s->hashes, i, h)
        if (out)
            fprintf(out, "%s\n", json_string_value(h));
    if (old)
        fclose(old);
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    free(path);
    free(tmp);
    return rc;
}

static int misp_finish(mc_writer *w)
{
    misp_state *s = w->state;
    if (!w->opts.misp_feed_dir)
        return 0;
    return write_manifest(s, w->opts.misp_feed_dir) == 0 &&
           write_hashes(s, w->opts.misp_feed_dir) == 0 ? 0 : -1;
}

static int misp_begin(mc_writer *w)
{
    misp_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    w->state = s;
    s->manifest = json_object();
    s->hashes = json_array();
    if (w->opts.misp_feed_dir && mkdir(w->opts.misp_feed_dir, 0777) != 0 && errno != EEXIST)
        return -1;
    return s->manifest && s->hashes ? 0 : -1;
}

static void misp_release(mc_writer *w)
{
    misp_state *s = w->state;
    if (!s)
        return;
    json_decref(s->manifest);
    json_decref(s->hashes);
    free(s);
}

const mc_writer_ops mc_misp_ops = {
    .name = "misp",
    .help = "one MISP event per input ({\"Event\": ...}); --misp-feed-dir writes a feed folder",
    .machine = true,
    .begin = misp_begin,
    .input = misp_input,
    .finish = misp_finish,
    .release = misp_release,
    .self_defang = true,
};
