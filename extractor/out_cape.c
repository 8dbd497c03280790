/* -f cape: CAPE's config dictionary, {"<Family>": {"CNCs": [...], normalized keys, "raw": {...}}},
 * one per decoded record and line, so that a CAPE processing module can append each line to
 * results["CAPE"]["configs"] (CAPE-parsers' normalized keys; output.md 2.2). */
#include "mc_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CAPE wants every CNC URL-shaped: scheme://host:port[/path]. */
static void add_cnc(json_t *cncs, const mc_ioc *ioc)
{
    if (ioc->kind == MC_IOC_URL) {
        json_array_append_new(cncs, json_string(ioc->value));
        return;
    }
    bool v6 = ioc->kind == MC_IOC_IPV6;
    size_t n = strlen(ioc->value) + strlen(ioc->scheme) + 32;
    char *s = malloc(n);
    if (!s)
        return;
    int o = snprintf(s, n, "%s://%s%s%s", ioc->scheme, v6 ? "[" : "", ioc->value, v6 ? "]" : "");
    if (ioc->port >= 0)
        snprintf(s + o, n - (size_t)o, ":%ld", ioc->port);
    json_array_append_new(cncs, json_string(s));
    free(s);
}

typedef struct cape_acc {
    json_t *cncs, *decoys, *user_agents;
} cape_acc;

static bool contains(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (!strcmp(json_string_value(v), s))
            return true;
    return false;
}

static void collect(void *arg, const mc_ioc *ioc)
{
    cape_acc *a = arg;
    if (ioc->kind == MC_IOC_USER_AGENT) {
        if (!contains(a->user_agents, ioc->value))
            json_array_append_new(a->user_agents, json_string(ioc->value));
        return;
    }
    if (!ioc->scheme || ioc->kind == MC_IOC_MUTEX || ioc->kind == MC_IOC_PIPE ||
        ioc->kind == MC_IOC_REGKEY || ioc->kind == MC_IOC_CAMPAIGN)
        return;
    /* an http entry gives uri and hostname; the uri is the CNC */
    if (ioc->beside_uri)
        return;
    json_t *tmp = json_array();
    add_cnc(tmp, ioc);
    json_t *target = mc_feed_usage_detects(ioc->usage) ? a->cncs : a->decoys;
    const char *s = json_string_value(json_array_get(tmp, 0));
    if (s && !contains(target, s))
        json_array_append(target, json_array_get(tmp, 0));
    json_decref(tmp);
}

static void set_first(json_t *out, const char *key, const json_t *arr)
{
    const json_t *v = json_array_get(arr, 0);
    if (json_is_string(v))
        json_object_set_new(out, key, json_string(json_string_value(v)));
}

static void set_key(json_t *out, const json_t *config)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(config, "encryption"), i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        if (!key)
            continue;
        json_object_set_new(out, "cryptokey", json_string(key));
        const char *alg = json_string_value(json_object_get(e, "algorithm"));
        if (alg)
            json_object_set_new(out, "cryptokey_type", json_string(alg));
        return;
    }
}

/* raw: the wrapper's raw strings when the decoder kept them, else MACO's free-form "other". */
static json_t *raw_of(const json_t *rec, const cape_acc *a)
{
    const json_t *raw = json_object_get(rec, "raw");
    if (!json_is_object(raw))
        raw = json_object_get(json_object_get(rec, "config"), "other");
    json_t *r = json_is_object(raw) ? json_deep_copy(raw) : json_object();
    if (r && json_array_size(a->decoys))
        json_object_set(r, "decoy_hosts", a->decoys);
    return r;
}

static json_t *cape_config(const json_t *rec)
{
    const json_t *config = json_object_get(rec, "config");
    cape_acc a = {json_array(), json_array(), json_array()};
    mc_feed_iocs(config, collect, &a);
    json_t *c = json_object();
    json_object_set(c, "CNCs", a.cncs);
    set_first(c, "botnet", json_object_get(config, "identifier"));
    set_first(c, "campaign", json_object_get(config, "campaign_id"));
    const char *version = json_string_value(json_object_get(config, "version"));
    if (version)
        json_object_set_new(c, "version", json_string(version));
    set_first(c, "mutex", json_object_get(config, "mutex"));
    set_first(c, "user_agent", a.user_agents);
    set_key(c, config);
    json_object_set_new(c, "raw", raw_of(rec, &a));
    json_decref(a.cncs);
    json_decref(a.decoys);
    json_decref(a.user_agents);
    return json_pack("{s:o}", mc_feed_display(rec), c);
}

static int cape_input(mc_writer *w, const mc_output_input *in)
{
    for (size_t i = 0; i < in->nrecords; i++) {
        if (!mc_feed_exportable(in->records[i]))
            continue;
        json_t *doc = cape_config(in->records[i]);
        int rc = doc && json_dumpf(doc, w->fp, JSON_COMPACT) == 0 &&
                 fputc('\n', w->fp) != EOF && fflush(w->fp) == 0 ? 0 : -1;
        json_decref(doc);
        if (rc)
            return -1;
    }
    return 0;
}

const mc_writer_ops mc_cape_ops = {
    .name = "cape",
    .help = "CAPE config dictionaries {\"Family\": {\"CNCs\": ...}}, one per line",
    .machine = true,
    .input = cape_input,
};
