/* Per-family merging of config records across the inputs of one run (output.md 7.1 "Merging").
 *
 * CAPE merges configs of a family with dict.update, so the last dump wins and values are lost
 * (CAPEv2 PR #1674). Here two configs merge only when they agree on every scalar both carry;
 * lists are unioned, objects merged key by key under the same rule, and a disagreement keeps
 * the records apart, so every value found stays in some record. Clustering is greedy in input
 * order, which keeps the result deterministic.
 *
 * A merged record is the first source's record (tool, input, decoder, detection) with the
 * union config, a recomputed fingerprint, provenance re-keyed to the merged list positions,
 * united rules and warnings, the best status and confidence, and "sources" naming each input. */
#include "mc_sandbox.h"
#include "mc_internal.h"

#include <stdlib.h>
#include <string.h>

/* Configs are built by decoders; the cap only bounds the walk whatever lands in "other". */
#define MERGE_MAX_DEPTH 16

static bool compatible(const json_t *a, const json_t *b, int depth);

static bool objects_compatible(const json_t *a, const json_t *b, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)b, k, v) {
        const json_t *w = json_object_get(a, k);
        if (w && !compatible(w, v, depth + 1))
            return false;
    }
    return true;
}

static bool compatible(const json_t *a, const json_t *b, int depth)
{
    if (json_is_array(a) && json_is_array(b))
        return true;
    if (json_is_object(a) && json_is_object(b) && depth < MERGE_MAX_DEPTH)
        return objects_compatible(a, b, depth);
    return json_equal(a, b);
}

static long array_find(const json_t *arr, const json_t *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
        if (json_equal(e, v))
            return (long)i;
    return -1;
}

static void array_union(json_t *dst, const json_t *src)
{
    size_t i;
    json_t *e;
    json_array_foreach(src, i, e)
        if (array_find(dst, e) < 0)
            json_array_append(dst, e);
}

/* Only called on compatible values: scalars are equal or absent on one side. */
static void merge_value(json_t *dst, const json_t *src, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        json_t *have = json_object_get(dst, k);
        if (!have)
            json_object_set_new(dst, k, json_deep_copy(v));
        else if (json_is_array(have) && json_is_array(v))
            array_union(have, v);
        else if (json_is_object(have) && json_is_object(v) && depth < MERGE_MAX_DEPTH)
            merge_value(have, v, depth + 1);
    }
}

/* ---- provenance ---- */

/* "tcp[2].server_port" -> field "tcp", index 2, rest ".server_port". */
static bool split_key(const char *key, char *field, size_t fsz, size_t *index, const char **rest)
{
    const char *br = strchr(key, '[');
    if (!br || br == key || (size_t)(br - key) >= fsz)
        return false;
    char *end;
    unsigned long i = strtoul(br + 1, &end, 10);
    if (end == br + 1 || *end != ']')
        return false;
    memcpy(field, key, (size_t)(br - key));
    field[br - key] = '\0';
    *index = i;
    *rest = end + 1;
    return true;
}

/* The key src_key of a record with config src_cfg takes in the merged config. */
static char *remap_key(const char *src_key, const json_t *src_cfg, const json_t *merged_cfg)
{
    char field[64];
    size_t idx;
    const char *rest;
    if (!split_key(src_key, field, sizeof field, &idx, &rest))
        return strdup(src_key);
    const json_t *elem = json_array_get(json_object_get(src_cfg, field), idx);
    long j = elem ? array_find(json_object_get(merged_cfg, field), elem) : -1;
    if (j < 0)
        return strdup(src_key);
    size_t len = strlen(field) + strlen(rest) + 24;
    char *k = malloc(len);
    if (k)
        snprintf(k, len, "%s[%ld]%s", field, j, rest);
    return k;
}

static void merge_provenance(json_t *dst, const json_t *src, const json_t *src_cfg,
                             const json_t *merged_cfg)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        char *nk = remap_key(k, src_cfg, merged_cfg);
        if (!nk)
            continue;
        json_t *have = json_object_get(dst, nk);
        if (json_is_array(have) && json_is_array(v))
            array_union(have, v);
        else if (!have)
            json_object_set_new(dst, nk, json_deep_copy(v));
        free(nk);
    }
}

/* Raw values stay as found: a key with different values becomes the list of the values. */
static void merge_raw(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        json_t *have = json_object_get(dst, k);
        if (!have)
            json_object_set_new(dst, k, json_deep_copy(v));
        else if (!json_equal(have, v))
            json_object_set_new(dst, k, json_pack("[O,O]", have, v));
    }
}

/* ---- records ---- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *rec_family(const json_t *r)
{
    const char *f = sget(json_object_get(r, "config"), "family");
    return f ? f : "";
}

static int status_rank(const json_t *rec)
{
    static const char *const order[] = {"complete", "partial", "template", "failed"};
    const char *s = sget(rec, "status");
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, order[i]))
            return i;
    return 4;
}

/* complete and partial configs describe the same thing at different depths; a template's
 * placeholders and a failed decode's empty config would only blur a real one. */
static int status_class(const json_t *rec)
{
    int r = status_rank(rec);
    return r <= 1 ? 0 : r;
}

json_t *mc_record_source(const json_t *rec)
{
    const json_t *in = json_object_get(rec, "input");
    json_t *src = json_object();
    if (!src)
        return NULL;
    const char *path = sget(in, "path");
    json_object_set_new(src, "path", mc_json_str(path ? path : "-"));
    if (sget(in, "sha256"))
        json_object_set(src, "sha256", json_object_get(in, "sha256"));
    const json_t *pid = json_object_get(json_object_get(in, "process"), "pid");
    if (json_is_integer(pid))
        json_object_set(src, "pid", (json_t *)pid);
    const json_t *locs = json_object_get(json_object_get(rec, "detection"), "locations");
    const json_t *va = json_object_get(json_array_get(locs, 0), "va");
    if (json_is_string(va))
        json_object_set(src, "va", (json_t *)va);
    return src;
}

/* A record's own sources (an earlier merge) or the one it stands for. */
static json_t *sources_of(const json_t *rec)
{
    const json_t *s = json_object_get(rec, "sources");
    if (json_is_array(s) && json_array_size(s))
        return json_deep_copy(s);
    return json_pack("[o]", mc_record_source(rec));
}

static bool cluster_accepts(const json_t *base, const json_t *rec)
{
    return !strcmp(rec_family(base), rec_family(rec)) &&
           status_class(base) == status_class(rec) &&
           objects_compatible(json_object_get(base, "config"), json_object_get(rec, "config"), 0);
}

static void merge_record(json_t *dst, const json_t *src)
{
    json_t *cfg = json_object_get(dst, "config");
    merge_value(cfg, json_object_get(src, "config"), 0);
    merge_provenance(json_object_get(dst, "provenance"), json_object_get(src, "provenance"),
                     json_object_get(src, "config"), cfg);
    merge_raw(json_object_get(dst, "raw"), json_object_get(src, "raw"));
    array_union(json_object_get(json_object_get(dst, "detection"), "rules"),
                json_object_get(json_object_get(src, "detection"), "rules"));
    array_union(json_object_get(dst, "warnings"), json_object_get(src, "warnings"));
    json_t *srcs = sources_of(src);
    array_union(json_object_get(dst, "sources"), srcs);
    json_decref(srcs);
    if (status_rank(src) < status_rank(dst))
        json_object_set(dst, "status", json_object_get(src, "status"));
    if (json_integer_value(json_object_get(src, "confidence")) >
        json_integer_value(json_object_get(dst, "confidence")))
        json_object_set(dst, "confidence", json_object_get(src, "confidence"));
}

/* A deep copy that owns every part merge_record writes to. */
static json_t *cluster_start(const json_t *rec)
{
    json_t *c = json_deep_copy(rec);
    if (!c)
        return NULL;
    static const char *const objs[] = {"config", "provenance", "raw"};
    for (size_t i = 0; i < 3; i++)
        if (!json_is_object(json_object_get(c, objs[i])))
            json_object_set_new(c, objs[i], json_object());
    if (!json_is_array(json_object_get(c, "warnings")))
        json_object_set_new(c, "warnings", json_array());
    json_object_set_new(c, "sources", sources_of(rec));
    return c;
}

static void set_fingerprint(json_t *rec)
{
    char *fp = mc_fingerprint(json_object_get(rec, "config"));
    if (fp)
        json_object_set_new(rec, "fingerprint", json_string(fp));
    free(fp);
}

size_t mc_merge_records(json_t *const *recs, size_t n, json_t ***out, size_t **first)
{
    *out = NULL;
    if (first)
        *first = NULL;
    json_t **v = calloc(n ? n : 1, sizeof *v);
    size_t *f = calloc(n ? n : 1, sizeof *f);
    size_t m = 0;
    if (!v || !f)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        size_t c;
        for (c = 0; c < m; c++)
            if (cluster_accepts(v[c], recs[i]))
                break;
        if (c < m) {
            merge_record(v[c], recs[i]);
            continue;
        }
        if (!(v[m] = cluster_start(recs[i])))
            goto oom;
        f[m++] = i;
    }
    for (size_t c = 0; c < m; c++)
        set_fingerprint(v[c]);
    *out = v;
    if (first)
        *first = f;
    else
        free(f);
    return m;
oom:
    for (size_t c = 0; c < m; c++)
        json_decref(v[c]);
    free(v);
    free(f);
    return (size_t)-1;
}
