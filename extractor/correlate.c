/* memcfg correlate: samples grouped by the infrastructure their configs share.
 *
 * A sample is an input a record came from (each of a merged record's sources), known by its
 * sha256, or by its path when the record has none. Indicators are C2 hosts and IPs (every
 * connection object except decoys), mutexes and encryption keys. Two samples are in one group
 * when a chain of shared indicators links them (union-find over the samples).
 *
 * Everything is sorted before rendering (samples by id, indicators by type then value, groups by
 * their first sample), so the output depends only on the set of records, not on their order.
 */
#include "mc_sandbox.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct corr_sample {
    char *id, *path, *sha256;
    json_t *families;   /* sorted distinct strings */
    json_t *pids;       /* sorted distinct integers */
    size_t group;       /* union-find parent, then the group number (0 = none) */
} corr_sample;

typedef struct corr_link {
    size_t sample;
    char *usage;        /* the smallest usage seen for this pair */
} corr_link;

typedef struct corr_ind {
    char *type, *value;
    corr_link *links;
    size_t nlinks, cap;
} corr_ind;

struct mc_corr {
    corr_sample *s;
    size_t ns, scap;
    corr_ind *ind;
    size_t ni, icap;
    json_t *sindex, *iindex;   /* id -> position, "type\x1fvalue" -> position */
    bool sorted;
    size_t ngroups;
};

mc_corr *mc_corr_new(void)
{
    mc_corr *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sindex = json_object();
    c->iindex = json_object();
    if (!c->sindex || !c->iindex) {
        mc_corr_free(c);
        return NULL;
    }
    return c;
}

void mc_corr_free(mc_corr *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ns; i++) {
        free(c->s[i].id);
        free(c->s[i].path);
        free(c->s[i].sha256);
        json_decref(c->s[i].families);
        json_decref(c->s[i].pids);
    }
    for (size_t i = 0; i < c->ni; i++) {
        free(c->ind[i].type);
        free(c->ind[i].value);
        for (size_t k = 0; k < c->ind[i].nlinks; k++)
            free(c->ind[i].links[k].usage);
        free(c->ind[i].links);
    }
    free(c->s);
    free(c->ind);
    json_decref(c->sindex);
    json_decref(c->iindex);
    free(c);
}

/* ---------------------------------------------------------------- building */

static bool grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = reallocarray(*v, nc, elem);
    if (!nv)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

static void set_add(json_t *arr, json_t *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
        if (json_equal(e, v)) {
            json_decref(v);
            return;
        }
    json_array_append_new(arr, v);
}

/* The sample a source stands for; -1 when memory runs out. */
static long sample_of(mc_corr *c, const json_t *src, const char *family)
{
    const char *path = json_string_value(json_object_get(src, "path"));
    const char *sha = json_string_value(json_object_get(src, "sha256"));
    if (!path)
        path = "-";
    char *id = NULL;
    if (sha ? asprintf(&id, "%s", sha) < 0 : asprintf(&id, "path:%s", path) < 0)
        return -1;
    json_t *have = json_object_get(c->sindex, id);
    size_t k;
    if (have) {
        free(id);
        k = (size_t)json_integer_value(have);
    } else {
        if (!grow((void **)&c->s, &c->scap, c->ns, sizeof *c->s)) {
            free(id);
            return -1;
        }
        k = c->ns;
        corr_sample *s = &c->s[k];
        *s = (corr_sample){.id = id, .path = strdup(path), .sha256 = sha ? strdup(sha) : NULL,
                           .families = json_array(), .pids = json_array()};
        if (!s->path || !s->families || !s->pids ||
            json_object_set_new(c->sindex, id, json_integer((json_int_t)k)) != 0) {
            free(s->path);
            free(s->sha256);
            json_decref(s->families);
            json_decref(s->pids);
            free(id);
            return -1;
        }
        c->ns++;
    }
    set_add(c->s[k].families, json_string(family));
    const json_t *pid = json_object_get(src, "pid");
    if (json_is_integer(pid))
        set_add(c->s[k].pids, json_incref((json_t *)pid));
    c->sorted = false;
    return (long)k;
}

static int link_to(mc_corr *c, const char *type, const char *value, const char *usage,
                   size_t sample)
{
    char *key = NULL;
    if (asprintf(&key, "%s\x1f%s", type, value) < 0)
        return -1;
    json_t *have = json_object_get(c->iindex, key);
    size_t k;
    if (have) {
        k = (size_t)json_integer_value(have);
    } else {
        if (!grow((void **)&c->ind, &c->icap, c->ni, sizeof *c->ind)) {
            free(key);
            return -1;
        }
        k = c->ni;
        c->ind[k] = (corr_ind){.type = strdup(type), .value = strdup(value)};
        if (!c->ind[k].type || !c->ind[k].value ||
            json_object_set_new(c->iindex, key, json_integer((json_int_t)k)) != 0) {
            free(c->ind[k].type);
            free(c->ind[k].value);
            free(key);
            return -1;
        }
        c->ni++;
    }
    free(key);
    corr_ind *in = &c->ind[k];
    for (size_t i = 0; i < in->nlinks; i++)
        if (in->links[i].sample == sample) {
            if (strcmp(usage, in->links[i].usage) < 0) {
                char *u = strdup(usage);
                if (!u)
                    return -1;
                free(in->links[i].usage);
                in->links[i].usage = u;
            }
            return 0;
        }
    if (!grow((void **)&in->links, &in->cap, in->nlinks, sizeof *in->links))
        return -1;
    in->links[in->nlinks] = (corr_link){.sample = sample, .usage = strdup(usage)};
    if (!in->links[in->nlinks].usage)
        return -1;
    in->nlinks++;
    c->sorted = false;
    return 0;
}

/* ---------------------------------------------------------------- indicators of a config */

typedef struct found {
    mc_corr *c;
    const size_t *samples;
    size_t nsamples;
    int rc;
} found;

static void emit(found *f, const char *type, const char *value, const char *usage)
{
    for (size_t i = 0; f->rc == 0 && i < f->nsamples; i++)
        f->rc = link_to(f->c, type, value, usage, f->samples[i]);
}

/* Hosts are compared lowercased and without a trailing dot; IP literals are typed "ip". */
static void emit_host(found *f, const char *host, size_t n, const char *usage)
{
    while (n && host[n - 1] == '.')
        n--;
    if (n == 0 || n > 255)
        return;
    char buf[256];
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)host[i]);
    buf[n] = '\0';
    unsigned char addr[16];
    bool ip = inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
    emit(f, ip ? "ip" : "host", buf, usage);
}

/* The host of "scheme://user@host:port/path". */
static void emit_url_host(found *f, const char *uri, const char *usage)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (close)
            emit_host(f, p + 1, (size_t)(close - p - 1), usage);
        return;
    }
    const char *colon = memchr(p, ':', n);
    emit_host(f, p, colon ? (size_t)(colon - p) : n, usage);
}

static void connection_hosts(found *f, const json_t *conn)
{
    static const char *const keys[] = {"server_domain", "server_ip", "hostname", "ip"};
    const char *usage = json_string_value(json_object_get(conn, "usage"));
    if (usage && !strcmp(usage, "decoy"))
        return;
    if (!usage)
        usage = "other";
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *h = json_string_value(json_object_get(conn, keys[k]));
        if (h)
            emit_host(f, h, strlen(h), usage);
    }
    const char *uri = json_string_value(json_object_get(conn, "uri"));
    if (uri)
        emit_url_host(f, uri, usage);
}

static void config_indicators(found *f, const json_t *cfg)
{
    static const char *const conns[] = {"tcp", "udp", "http", "dns", "ftp", "smtp", "ssh",
                                        "proxy", "icmp"};
    size_t i;
    json_t *e;
    for (size_t k = 0; k < sizeof conns / sizeof conns[0]; k++)
        json_array_foreach(json_object_get(cfg, conns[k]), i, e)
            if (json_is_object(e))
                connection_hosts(f, e);
    json_array_foreach(json_object_get(cfg, "mutex"), i, e)
        if (json_is_string(e) && json_string_length(e))
            emit(f, "mutex", json_string_value(e), "mutex");
    json_array_foreach(json_object_get(cfg, "encryption"), i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        if (key && *key)
            emit(f, "key", key, "key");
    }
}

int mc_corr_add_record(mc_corr *c, const json_t *rec)
{
    const char *type = json_string_value(json_object_get(rec, "record_type"));
    const json_t *cfg = json_object_get(rec, "config");
    const char *family = json_string_value(json_object_get(cfg, "family"));
    if ((type && strcmp(type, "config")) || !json_is_object(cfg) || !family)
        return 0;
    const json_t *srcs = json_object_get(rec, "sources");
    json_t *own = NULL;
    if (!json_is_array(srcs) || json_array_size(srcs) == 0)
        srcs = own = json_pack("[o]", mc_record_source(rec));
    size_t n = json_array_size(srcs);
    size_t *samples = calloc(n ? n : 1, sizeof *samples);
    int rc = samples && srcs ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        long s = sample_of(c, json_array_get(srcs, i), family);
        if (s < 0)
            rc = -1;
        else
            samples[i] = (size_t)s;
    }
    if (rc == 0) {
        found f = {.c = c, .samples = samples, .nsamples = n};
        config_indicators(&f, cfg);
        rc = f.rc;
    }
    free(samples);
    json_decref(own);
    return rc;
}

static long add_value(mc_corr *c, json_t *v)
{
    json_t *recs = json_object_get(v, "records");
    if (json_is_object(v) && !json_is_array(recs))
        return mc_corr_add_record(c, v) == 0 ? 1 : -1;
    if (!json_is_array(recs))
        recs = v;
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
        if (mc_corr_add_record(c, r) != 0)
            return -1;
    return (long)json_array_size(recs);
}

long mc_corr_add_buffer(mc_corr *c, const char *buf, size_t len, char *err, size_t errlen)
{
    size_t off = 0;
    long total = 0;
    for (;;) {
        while (off < len && isspace((unsigned char)buf[off]))
            off++;
        if (off >= len)
            return total;
        json_error_t je;
        json_t *v = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK, &je);
        if (!v) {
            snprintf(err, errlen, "line %d: %s", je.line, je.text);
            return -1;
        }
        long n = add_value(c, v);
        json_decref(v);
        if (n < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        total += n;
        off += (size_t)je.position;
    }
}

#define MAX_RESULTS_FILE (1ull << 30)

long mc_corr_add_stream(mc_corr *c, FILE *fp, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 1 << 16;
            char *nb = nc <= MAX_RESULTS_FILE ? realloc(buf, nc) : NULL;
            if (!nb) {
                free(buf);
                snprintf(err, errlen, nc > MAX_RESULTS_FILE ? "larger than 1 GiB" : "out of memory");
                return -1;
            }
            buf = nb;
            cap = nc;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    long rc = -1;
    if (ferror(fp))
        snprintf(err, errlen, "read error");
    else
        rc = mc_corr_add_buffer(c, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- grouping */

static int cmp_sample(const void *a, const void *b)
{
    return strcmp(((const corr_sample *)a)->id, ((const corr_sample *)b)->id);
}

static int cmp_ind(const void *a, const void *b)
{
    const corr_ind *x = a, *y = b;
    int r = strcmp(x->type, y->type);
    return r ? r : strcmp(x->value, y->value);
}

static int cmp_link(const void *a, const void *b)
{
    size_t x = ((const corr_link *)a)->sample, y = ((const corr_link *)b)->sample;
    return x < y ? -1 : x > y;
}

static int cmp_json_str(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    if (json_is_integer(x) && json_is_integer(y))
        return json_integer_value(x) < json_integer_value(y) ? -1
               : json_integer_value(x) > json_integer_value(y);
    return strcmp(json_string_value(x) ? json_string_value(x) : "",
                  json_string_value(y) ? json_string_value(y) : "");
}

static void sort_array(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = n > 1 ? malloc(n * sizeof *v) : NULL;
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, cmp_json_str);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

static size_t find_root(corr_sample *s, size_t i)
{
    while (s[i].group != i) {
        s[i].group = s[s[i].group].group;
        i = s[i].group;
    }
    return i;
}

/* Sort everything, renumber links to the sorted samples, and number the groups of two or more
 * samples 1.. in the order of their first sample (0 = in no group). */
static int finish(mc_corr *c)
{
    if (c->sorted)
        return 0;
    size_t *pos = calloc(c->ns ? c->ns : 1, sizeof *pos);
    size_t *size = calloc(c->ns ? c->ns : 1, sizeof *size);
    size_t *num = calloc(c->ns ? c->ns : 1, sizeof *num);
    if (!pos || !size || !num) {
        free(pos);
        free(size);
        free(num);
        return -1;
    }
    for (size_t i = 0; i < c->ns; i++)
        c->s[i].group = i;   /* the old position, to map links */
    if (c->ns > 1)
        qsort(c->s, c->ns, sizeof *c->s, cmp_sample);
    for (size_t i = 0; i < c->ns; i++) {
        pos[c->s[i].group] = i;
        json_object_set_new(c->sindex, c->s[i].id, json_integer((json_int_t)i));
        sort_array(c->s[i].families);
        sort_array(c->s[i].pids);
    }
    if (c->ni > 1)
        qsort(c->ind, c->ni, sizeof *c->ind, cmp_ind);
    for (size_t i = 0; i < c->ns; i++)
        c->s[i].group = i;
    for (size_t i = 0; i < c->ni; i++) {
        corr_ind *in = &c->ind[i];
        char *key = NULL;
        if (asprintf(&key, "%s\x1f%s", in->type, in->value) >= 0)
            json_object_set_new(c->iindex, key, json_integer((json_int_t)i));
        free(key);
        for (size_t k = 0; k < in->nlinks; k++)
            in->links[k].sample = pos[in->links[k].sample];
        if (in->nlinks > 1)
            qsort(in->links, in->nlinks, sizeof *in->links, cmp_link);
        for (size_t k = 1; k < in->nlinks; k++) {
            size_t a = find_root(c->s, in->links[0].sample), b = find_root(c->s, in->links[k].sample);
            if (a != b)
                c->s[a > b ? a : b].group = a < b ? a : b;   /* the smaller index is the root */
        }
    }
    for (size_t i = 0; i < c->ns; i++)
        size[find_root(c->s, i)]++;
    c->ngroups = 0;
    for (size_t i = 0; i < c->ns; i++)
        if (find_root(c->s, i) == i && size[i] > 1)
            num[i] = ++c->ngroups;
    for (size_t i = 0; i < c->ns; i++)
        pos[i] = num[find_root(c->s, i)];
    for (size_t i = 0; i < c->ns; i++)
        c->s[i].group = pos[i];
    free(pos);
    free(size);
    free(num);
    c->sorted = true;
    return 0;
}

static bool shared(const corr_ind *in)
{
    return in->nlinks > 1;
}

/* ---------------------------------------------------------------- json */

static json_t *sample_json(const corr_sample *s)
{
    json_t *o = json_pack("{s:s, s:o}", "id", s->id, "path", mc_json_str(s->path));
    if (!o)
        return NULL;
    if (s->sha256)
        json_object_set_new(o, "sha256", json_string(s->sha256));
    if (json_array_size(s->pids))
        json_object_set(o, "pids", s->pids);
    json_object_set(o, "families", s->families);
    if (s->group)
        json_object_set_new(o, "group", json_integer((json_int_t)s->group));
    return o;
}

static json_t *indicator_json(const mc_corr *c, const corr_ind *in)
{
    json_t *samples = json_array();
    for (size_t k = 0; k < in->nlinks; k++)
        json_array_append_new(samples, json_pack("{s:s, s:s}", "id", c->s[in->links[k].sample].id,
                                                 "usage", in->links[k].usage));
    return json_pack("{s:s, s:o, s:o}", "type", in->type, "value", mc_json_str(in->value),
                     "samples", samples);
}

static json_t *groups_json(const mc_corr *c)
{
    json_t *groups = json_array();
    for (size_t g = 1; g <= c->ngroups; g++) {
        json_t *samples = json_array(), *inds = json_array();
        for (size_t i = 0; i < c->ns; i++)
            if (c->s[i].group == g)
                json_array_append_new(samples, json_string(c->s[i].id));
        for (size_t i = 0; i < c->ni; i++)
            if (shared(&c->ind[i]) && c->s[c->ind[i].links[0].sample].group == g)
                json_array_append_new(inds, json_pack("{s:s, s:o}", "type", c->ind[i].type,
                                                      "value", mc_json_str(c->ind[i].value)));
        json_array_append_new(groups, json_pack("{s:I, s:o, s:o}", "group", (json_int_t)g,
                                                "samples", samples, "shared", inds));
    }
    return groups;
}

json_t *mc_corr_json(mc_corr *c)
{
    if (finish(c) != 0)
        return NULL;
    json_t *samples = json_array(), *inds = json_array();
    for (size_t i = 0; i < c->ns; i++)
        json_array_append_new(samples, sample_json(&c->s[i]));
    for (size_t i = 0; i < c->ni; i++)
        json_array_append_new(inds, indicator_json(c, &c->ind[i]));
    return json_pack("{s:o, s:o, s:o}", "samples", samples, "indicators", inds, "groups",
                     groups_json(c));
}

/* ---------------------------------------------------------------- text */

static void put_safe(FILE *fp, const char *s, bool host, bool defang, int width)
{
    char *d = host && defang ? mc_defang_host(s) : NULL;
    char *t = mc_text_safe(d ? d : s);
    fprintf(fp, "%-*s", width, t ? t : "?");
    free(t);
    free(d);
}

static void families_text(FILE *fp, const corr_sample *s)
{
    size_t i;
    json_t *f;
    char buf[128] = "";
    json_array_foreach(s->families, i, f) {
        if (i)
            strlcat(buf, ",", sizeof buf);
        strlcat(buf, json_string_value(f), sizeof buf);
    }
    put_safe(fp, buf, false, false, 12);
}

static void sample_text(FILE *fp, const corr_sample *s)
{
    fprintf(fp, "    %-16.16s ", s->sha256 ? s->sha256 : "-");
    families_text(fp, s);
    if (json_array_size(s->pids))
        fprintf(fp, " %-7" JSON_INTEGER_FORMAT, json_integer_value(json_array_get(s->pids, 0)));
    else
        fprintf(fp, " %-7s", "-");
    fputc(' ', fp);
    put_safe(fp, s->path, false, false, 0);
    fputc('\n', fp);
}

static void group_text(const mc_corr *c, size_t g, bool defang, FILE *fp)
{
    size_t ns = 0, ni = 0;
    for (size_t i = 0; i < c->ns; i++)
        ns += c->s[i].group == g;
    for (size_t i = 0; i < c->ni; i++)
        ni += shared(&c->ind[i]) && c->s[c->ind[i].links[0].sample].group == g;
    fprintf(fp, "group %zu: %zu samples, %zu shared indicator%s\n", g, ns, ni, ni == 1 ? "" : "s");
    fprintf(fp, "    %-16s %-12s %-7s %s\n", "SHA256", "FAMILY", "PID", "PATH");
    for (size_t i = 0; i < c->ns; i++)
        if (c->s[i].group == g)
            sample_text(fp, &c->s[i]);
    fprintf(fp, "    %-6s %-40s %s\n", "TYPE", "VALUE", "SAMPLES");
    for (size_t i = 0; i < c->ni; i++) {
        const corr_ind *in = &c->ind[i];
        if (!shared(in) || c->s[in->links[0].sample].group != g)
            continue;
        fprintf(fp, "    %-6s ", in->type);
        bool host = !strcmp(in->type, "host") || !strcmp(in->type, "ip");
        put_safe(fp, in->value, host, defang, 40);
        fprintf(fp, " %zu\n", in->nlinks);
    }
    fputc('\n', fp);
}

static int write_text(mc_corr *c, bool defang, FILE *fp)
{
    size_t nshared = 0;
    for (size_t i = 0; i < c->ni; i++)
        nshared += shared(&c->ind[i]);
    for (size_t g = 1; g <= c->ngroups; g++)
        group_text(c, g, defang, fp);
    if (c->ngroups == 0)
        fputs("no shared infrastructure\n", fp);
    fprintf(fp, "%zu sample%s, %zu indicator%s (%zu shared), %zu group%s\n", c->ns,
            c->ns == 1 ? "" : "s", c->ni, c->ni == 1 ? "" : "s", nshared, c->ngroups,
            c->ngroups == 1 ? "" : "s");
    return ferror(fp) ? -1 : 0;
}

/* ---------------------------------------------------------------- dot */

/* A DOT quoted string: quotes and backslashes escaped, newlines as line breaks, other control
 * characters dropped (the text comes from a dump), cut after max bytes at a UTF-8 boundary. */
static void dot_str(FILE *fp, const char *s, size_t max)
{
    fputc('"', fp);
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++, n++) {
        if (n >= max && (*p & 0xc0) != 0x80)
            break;
        if (*p == '\n')
            fputs("\\n", fp);
        else if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p >= 0x20 && *p != 0x7f)
            fputc(*p, fp);
    }
    if (*p)
        fputs("...", fp);
    fputc('"', fp);
}

static int write_dot(mc_corr *c, FILE *fp)
{
    fputs("digraph memcfg {\n  graph [rankdir=LR, fontname=\"Helvetica\"];\n"
          "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontsize=9];\n", fp);
    for (size_t i = 0; i < c->ns; i++) {
        const corr_sample *s = &c->s[i];
        char *fam = NULL;
        size_t k;
        json_t *f;
        char buf[256] = "";
        json_array_foreach(s->families, k, f) {
            if (k)
                strlcat(buf, ",", sizeof buf);
            strlcat(buf, json_string_value(f), sizeof buf);
        }
        const char *base = strrchr(s->path, '/');
        if (asprintf(&fam, "%s\n%s\n%.16s", buf, base ? base + 1 : s->path,
                     s->sha256 ? s->sha256 : "") < 0)
            return -1;
        fprintf(fp, "  s%zu [shape=box, label=", i);
        dot_str(fp, fam, 400);
        fputs("];\n", fp);
        free(fam);
    }
    for (size_t i = 0; i < c->ni; i++) {
        const corr_ind *in = &c->ind[i];
        if (!shared(in))
            continue;
        char *label = NULL;
        if (asprintf(&label, "%s\n%s", in->type, in->value) < 0)
            return -1;
        fprintf(fp, "  i%zu [shape=ellipse, label=", i);
        dot_str(fp, label, 200);
        fputs("];\n", fp);
        free(label);
        for (size_t k = 0; k < in->nlinks; k++) {
            fprintf(fp, "  s%zu -> i%zu [label=", in->links[k].sample, i);
            dot_str(fp, in->links[k].usage, 64);
            fputs("];\n", fp);
        }
    }
    fputs("}\n", fp);
    return ferror(fp) ? -1 : 0;
}

int mc_corr_write(mc_corr *c, mc_corr_format f, bool defang, FILE *fp)
{
    if (finish(c) != 0)
        return -1;
    if (f == MC_CORR_DOT)
        return write_dot(c, fp);
    if (f == MC_CORR_TEXT)
        return write_text(c, defang, fp);
    json_t *doc = mc_corr_json(c);
    int rc = doc && json_dumpf(doc, fp, JSON_INDENT(2)) == 0 && fputc('\n', fp) != EOF ? 0 : -1;
    json_decref(doc);
    return rc;
}
