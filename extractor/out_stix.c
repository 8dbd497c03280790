/* -f stix: one STIX 2.1 bundle for the run (output.md 3.1, 7.2).
 *
 * memcfg's identity, the TLP marking definition, a malware SDO per family, and for every
 * detecting network value or mutex of a decoded record an indicator with a single-comparison
 * pattern (what OpenCTI turns into an observable), the matching SCO, `indicates` (indicator ->
 * malware) and `based-on` (indicator -> SCO) relationships, and a note with the whole record.
 *
 * Ids are UUIDv5: SCOs under STIX's namespace over their id-contributing property, everything
 * else under memcfg's namespace over its identifying content (family, pattern, fingerprint), so
 * that publishing the same configuration again updates objects instead of duplicating them.
 * An object two records share (an indicator, a malware) is emitted once: a bundle must not hold
 * two different objects with the same id and modified time.
 */
#include "mc_feed.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TLP2_EXTENSION "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

typedef struct tlp_def {
    const char *name, *id;
    bool v2;            /* TLP 2.0 only: defined through the OASIS TLP 2.0 extension */
} tlp_def;

/* TLP 1.0 ids are the four STIX 2.1 predefines; CLEAR and AMBER+STRICT exist only in TLP 2.0. */
static const tlp_def tlps[] = {
    {"clear", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", true},
    {"green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", false},
    {"amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", false},
    {"amber+strict", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", true},
    {"red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", false},
};

static const tlp_def *tlp_of(const mc_writer *w)
{
    const char *name = mc_feed_tlp(w);
    for (size_t i = 0; i < sizeof tlps / sizeof tlps[0]; i++)
        if (!strcmp(tlps[i].name, name))
            return &tlps[i];
    return &tlps[2];
}

static json_t *marking_object(const tlp_def *t)
{
    char upper[32];
    size_t i = 0;
    for (; t->name[i] && i + 1 < sizeof upper; i++)
        upper[i] = (char)(t->name[i] >= 'a' && t->name[i] <= 'z' ? t->name[i] - 32 : t->name[i]);
    upper[i] = '\0';
    char name[40];
    snprintf(name, sizeof name, "TLP:%s", upper);
    if (t->v2)
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "type",
                         "marking-definition", "spec_version", "2.1", "id", t->id, "created",
                         "2022-10-01T00:00:00.000Z", "name", name, "extensions", TLP2_EXTENSION,
                         "extension_type", "property-extension", "tlp_2_0", t->name);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "type", "marking-definition",
                     "spec_version", "2.1", "id", t->id, "created", "2017-01-20T00:00:00.000Z",
                     "name", name, "definition_type", "tlp", "definition", "tlp", t->name);
}

/* MACO category -> malware-type-ov (output.md 3.1). */
static const char *malware_type(const char *category)
{
    static const struct { const char *from, *to; } map[] = {
        {"rat", "remote-access-trojan"}, {"backdoor", "backdoor"}, {"bot", "bot"},
        {"bootkit", "bootkit"}, {"ddos", "ddos"}, {"downloader", "downloader"},
        {"loader", "downloader"}, {"dropper", "dropper"}, {"exploitkit", "exploit-kit"},
        {"keylogger", "keylogger"}, {"ransomware", "ransomware"}, {"rootkit", "rootkit"},
        {"trojan", "trojan"}, {"virus", "virus"}, {"webshell", "webshell"}, {"wiper", "wiper"},
        {"worm", "worm"}, {"adware", "adware"}, {"cryptominer", "resource-exploitation"},
        {"fakeav", "rogue-security-software"}, {"scareware", "rogue-security-software"},
        {"infostealer", "spyware"}, {"banker", "spyware"}, {"pos", "spyware"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].from, category))
            return map[i].to;
    return "unknown";
}

typedef struct stix_state {
    json_t *malware;      /* family -> malware object, in order of first appearance */
    json_t *versions;     /* family -> array of versions seen */
    json_t *objects;      /* everything after identity, markings and malware */
    json_t *seen;         /* id -> object (borrowed from objects), for de-duplication */
    char now[32];
    const tlp_def *tlp;
    char *identity;
} stix_state;

static bool add_unique_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (!strcmp(json_string_value(v), s))
            return false;
    return json_array_append_new(arr, json_string(s)) == 0;
}

/* type, spec_version, id, created_by_ref, created, modified: the common head of an SDO/SRO. */
static json_t *sdo(const stix_state *s, const char *type, const char *id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "spec_version", "2.1", "id",
                     id, "created_by_ref", s->identity, "created", s->now, "modified", s->now);
}

static void mark(const stix_state *s, json_t *o)
{
    json_object_set_new(o, "object_marking_refs", json_pack("[s]", s->tlp->id));
}

/* Adds o under its id unless that id is already in the bundle; returns the object kept. */
static json_t *keep(stix_state *s, json_t *o)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    json_t *old = id ? json_object_get(s->seen, id) : NULL;
    if (old || !id) {
        json_decref(o);
        return old;
    }
    json_array_append_new(s->objects, o);
    json_object_set(s->seen, id, o);
    return o;
}

static const char *malware_for(stix_state *s, const json_t *rec)
{
    const json_t *config = json_object_get(rec, "config");
    const char *family = json_string_value(json_object_get(config, "family"));
    if (!family)
        return NULL;
    json_t *m = json_object_get(s->malware, family);
    if (!m) {
        char *id = mc_feed_id("malware", MC_FEED_NS_PROJECT, "malware", family, NULL);
        if (!id)
            return NULL;
        const char *display = mc_feed_display(rec);
        m = sdo(s, "malware", id);
        free(id);
        json_object_set_new(m, "name", json_string(display));
        json_object_set_new(m, "is_family", json_true());
        json_object_set_new(m, "malware_types", json_array());
        if (strcasecmp(display, family))
            json_object_set_new(m, "aliases", json_pack("[s]", family));
        mark(s, m);
        json_object_set_new(s->malware, family, m);
        json_object_set_new(s->versions, family, json_array());
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(config, "category"), i, c)
        if (json_is_string(c))
            add_unique_string(json_object_get(m, "malware_types"),
                              malware_type(json_string_value(c)));
    const char *version = json_string_value(json_object_get(config, "version"));
    if (version && mc_feed_exportable(rec))
        add_unique_string(json_object_get(s->versions, family), version);
    return json_string_value(json_object_get(m, "id"));
}

/* ---------------------------------------------------------------- indicators */

static const char *sco_type(mc_ioc_kind k)
{
    switch (k) {
    case MC_IOC_IPV4: return "ipv4-addr";
    case MC_IOC_IPV6: return "ipv6-addr";
    case MC_IOC_DOMAIN: return "domain-name";
    case MC_IOC_URL: return "url";
    case MC_IOC_MUTEX: return "mutex";
    default: return NULL;
    }
}

/* A STIX pattern string literal: quote and backslash escaped. */
static char *quoted(const char *v)
{
    size_t n = strlen(v);
    char *q = malloc(2 * n + 3);
    if (!q)
        return NULL;
    size_t o = 0;
    q[o++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\'' || v[i] == '\\')
            q[o++] = '\\';
        q[o++] = v[i];
    }
    q[o++] = '\'';
    q[o] = '\0';
    return q;
}

static char *pattern_of(const mc_ioc *ioc)
{
    const char *type = sco_type(ioc->kind);
    char *lit = quoted(ioc->value);
    if (!lit)
        return NULL;
    const char *prop = ioc->kind == MC_IOC_MUTEX ? "name" : "value";
    size_t n = strlen(type) + strlen(lit) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "[%s:%s = %s]", type, prop, lit);
    free(lit);
    return p;
}

/* Values a consumer's URI / hostname check accepts as SCO values; others (and defanged names,
 * which no longer parse as either) stay pattern-only. */
static bool sco_value_ok(mc_ioc_kind kind, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    if (kind == MC_IOC_DOMAIN) {
        for (; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
                return false;
        return value[0] != '.' && !strstr(value, "..");
    }
    if (kind == MC_IOC_URL) {
        for (; *p; p++)
            if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}[]", *p))
                return false;
        return strstr(value, "://") != NULL;
    }
    return true;
}

typedef struct rec_ctx {
    stix_state *s;
    const mc_writer *w;
    const char *malware_id;
    json_int_t confidence;
    const char *display;
} rec_ctx;

/* The SCO of an indicator's value; returns its id (owned by the bundle) or NULL. */
static const char *sco_for(rec_ctx *c, const mc_ioc *ioc)
{
    /* The SCO schemas pin IPs, names and URLs to their real syntax, so a forced --defang leaves
     * those values to the (always real) patterns and the note's defanged record. */
    if (c->w->defang && ioc->kind != MC_IOC_MUTEX)
        return NULL;
    const char *type = sco_type(ioc->kind);
    const char *prop = ioc->kind == MC_IOC_MUTEX ? "name" : "value";
    char *value = strdup(ioc->value);
    json_t *contrib = value && sco_value_ok(ioc->kind, value) ? json_pack("{s:s}", prop, value)
                                                              : NULL;
    char *canon = contrib ? mc_feed_dumps(contrib) : NULL;
    char uuid[37], id[80];
    json_t *o = NULL;
    if (canon && mc_feed_uuid5(MC_FEED_NS_STIX_SCO, canon, uuid)) {
        snprintf(id, sizeof id, "%s--%s", type, uuid);
        o = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "spec_version", "2.1", "id", id,
                      prop, value);
    }
    free(canon);
    json_decref(contrib);
    free(value);
    json_t *kept = o ? keep(c->s, o) : NULL;
    return kept ? json_string_value(json_object_get(kept, "id")) : NULL;
}

static void relate(stix_state *s, const char *type, const char *src, const char *dst)
{
    char *id = mc_feed_id("relationship", MC_FEED_NS_PROJECT, "relationship", type, src, dst,
                          NULL);
    if (!id)
        return;
    json_t *r = sdo(s, "relationship", id);
    free(id);
    json_object_set_new(r, "relationship_type", json_string(type));
    json_object_set_new(r, "source_ref", json_string(src));
    json_object_set_new(r, "target_ref", json_string(dst));
    mark(s, r);
    keep(s, r);
}

static json_t *new_indicator(const rec_ctx *c, const mc_ioc *ioc, const char *id,
                             const char *pattern)
{
    json_t *o = sdo(c->s, "indicator", id);
    json_object_set_new(o, "name", json_string(ioc->value));
    char desc[160];
    snprintf(desc, sizeof desc, "%s %s in a %s configuration", ioc->usage ? ioc->usage : "configured",
             sco_type(ioc->kind), c->display);
    json_object_set_new(o, "description", mc_json_str(desc));
    json_object_set_new(o, "indicator_types", json_pack("[s]", "malicious-activity"));
    json_object_set_new(o, "pattern", json_string(pattern));
    json_object_set_new(o, "pattern_type", json_string("stix"));
    json_object_set_new(o, "pattern_version", json_string("2.1"));
    json_object_set_new(o, "valid_from", json_string(c->s->now));
    json_object_set_new(o, "confidence", json_integer(c->confidence));
    mark(c->s, o);
    return o;
}

static void indicator(void *arg, const mc_ioc *ioc)
{
    rec_ctx *c = arg;
    if (!sco_type(ioc->kind) || !mc_feed_usage_detects(ioc->usage))
        return;
    char *pattern = pattern_of(ioc);
    char *id = pattern ? mc_feed_id("indicator", MC_FEED_NS_PROJECT, "indicator", pattern, NULL)
                       : NULL;
    json_t *o = id ? json_object_get(c->s->seen, id) : NULL;
    if (o) {
        /* a value several configs share: the strongest record's confidence */
        if (json_integer_value(json_object_get(o, "confidence")) < c->confidence)
            json_object_set_new(o, "confidence", json_integer(c->confidence));
    } else if (id) {
        o = keep(c->s, new_indicator(c, ioc, id, pattern));
    }
    if (o) {
        relate(c->s, "indicates", id, c->malware_id);
        const char *sco = sco_for(c, ioc);
        if (sco)
            relate(c->s, "based-on", id, sco);
    }
    free(id);
    free(pattern);
}

/* ---------------------------------------------------------------- records */

static void note_for(stix_state *s, const mc_writer *w, const json_t *rec, const char *malware_id)
{
    const char *family = json_string_value(json_object_get(json_object_get(rec, "config"),
                                                           "family"));
    const char *fp = json_string_value(json_object_get(rec, "fingerprint"));
    char *id = mc_feed_id("note", MC_FEED_NS_PROJECT, "note", family, fp ? fp : "", NULL);
    if (!id || json_object_get(s->seen, id)) {
        free(id);
        return;
    }
    json_t *shown = w->defang ? mc_record_defanged(rec) : json_incref((json_t *)rec);
    char *content = shown ? mc_feed_dumps(shown) : NULL;
    json_decref(shown);
    if (content) {
        json_t *n = sdo(s, "note", id);
        char abstract[256];
        snprintf(abstract, sizeof abstract, "%s configuration (%s, %s)", mc_feed_display(rec),
                 json_string_value(json_object_get(rec, "status")), fp ? fp : "no fingerprint");
        json_object_set_new(n, "abstract", mc_json_str(abstract));
        json_object_set_new(n, "content", mc_json_str(content));
        json_object_set_new(n, "object_refs", json_pack("[s]", malware_id));
        mark(s, n);
        keep(s, n);
    }
    free(content);
    free(id);
}

static void add_record(stix_state *s, const mc_writer *w, const json_t *rec)
{
    const char *rt = json_string_value(json_object_get(rec, "record_type"));
    if ((rt && strcmp(rt, "config")) || !json_is_object(json_object_get(rec, "config")))
        return;
    const char *malware_id = malware_for(s, rec);
    if (!malware_id)
        return;
    if (mc_feed_exportable(rec)) {
        json_int_t conf = json_integer_value(json_object_get(rec, "confidence"));
        rec_ctx c = {s, w, malware_id, conf < 0 ? 0 : conf > 100 ? 100 : conf,
                     mc_feed_display(rec)};
        mc_feed_iocs(json_object_get(rec, "config"), indicator, &c);
    }
    note_for(s, w, rec, malware_id);
}

static int stix_input(mc_writer *w, const mc_output_input *in)
{
    for (size_t i = 0; i < in->nrecords; i++)
        add_record(w->state, w, in->records[i]);
    return 0;
}

static int stix_begin(mc_writer *w)
{
    stix_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    w->state = s;
    s->malware = json_object();
    s->versions = json_object();
    s->objects = json_array();
    s->seen = json_object();
    s->tlp = tlp_of(w);
    s->identity = mc_feed_id("identity", MC_FEED_NS_PROJECT, "identity", MC_TOOL_NAME, NULL);
    mc_feed_stix_time(w, s->now);
    return s->malware && s->versions && s->objects && s->seen && s->identity ? 0 : -1;
}

static void describe_malware(stix_state *s)
{
    const char *family;
    json_t *m;
    json_object_foreach(s->malware, family, m) {
        if (!json_array_size(json_object_get(m, "malware_types")))
            json_array_append_new(json_object_get(m, "malware_types"), json_string("unknown"));
        json_t *versions = json_object_get(s->versions, family);
        if (!json_array_size(versions))
            continue;
        size_t len = 64, i;
        json_t *v;
        json_array_foreach(versions, i, v)
            len += strlen(json_string_value(v)) + 2;
        char *d = malloc(len);
        if (!d)
            continue;
        size_t o = (size_t)snprintf(d, len, "Configuration versions seen: ");
        json_array_foreach(versions, i, v)
            o += (size_t)snprintf(d + o, len - o, "%s%s", i ? ", " : "", json_string_value(v));
        json_object_set_new(m, "description", mc_json_str(d));
        free(d);
    }
}

static json_t *all_objects(stix_state *s)
{
    json_t *objs = json_array();
    json_array_append_new(objs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type",
        "identity", "spec_version", "2.1", "id", s->identity, "created", s->now, "modified",
        s->now, "name", MC_TOOL_NAME, "description",
        "memcfg: malware configurations extracted from process memory", "identity_class",
        "system"));
    json_array_append_new(objs, marking_object(s->tlp));
    const char *family;
    json_t *m;
    json_object_foreach(s->malware, family, m)
        json_array_append(objs, m);
    json_array_extend(objs, s->objects);
    return objs;
}

/* The bundle's id names exactly this content at this time. */
static char *bundle_id(const stix_state *s, const json_t *objs)
{
    size_t len = strlen(s->now) + 1, i;
    json_t *o;
    json_array_foreach(objs, i, o)
        len += strlen(json_string_value(json_object_get(o, "id"))) + 1;
    char *name = malloc(len);
    if (!name)
        return NULL;
    size_t n = (size_t)snprintf(name, len, "%s", s->now);
    json_array_foreach(objs, i, o)
        n += (size_t)snprintf(name + n, len - n, ",%s", json_string_value(json_object_get(o, "id")));
    char *id = mc_feed_id("bundle", MC_FEED_NS_PROJECT, "bundle", name, NULL);
    free(name);
    return id;
}

static int stix_finish(mc_writer *w)
{
    stix_state *s = w->state;
    describe_malware(s);
    json_t *objs = all_objects(s);
    char *id = objs ? bundle_id(s, objs) : NULL;
    json_t *bundle = id ? json_pack("{s:s, s:s, s:O}", "type", "bundle", "id", id, "objects", objs)
                        : NULL;
    int rc = bundle && json_dumpf(bundle, w->fp, JSON_COMPACT) == 0 && fputc('\n', w->fp) != EOF
             ? 0 : -1;
    json_decref(bundle);
    json_decref(objs);
    free(id);
    return rc;
}

static void stix_release(mc_writer *w)
{
    stix_state *s = w->state;
    if (!s)
        return;
    json_decref(s->malware);
    json_decref(s->versions);
    json_decref(s->objects);
    json_decref(s->seen);
    free(s->identity);
    free(s);
}

const mc_writer_ops mc_stix_ops = {
    .name = "stix",
    .help = "one STIX 2.1 bundle for the run: malware, indicators, notes, TLP marking",
    .machine = true,
    .begin = stix_begin,
    .input = stix_input,
    .finish = stix_finish,
    .release = stix_release,
    .self_defang = true,
};
