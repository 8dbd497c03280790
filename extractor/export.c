/* `memcfg export`: saved NDJSON records back through a writer, without scanning. The records are
 * grouped into inputs the way the scan handed them to its writer (consecutive records with the
 * same "input" block), so an export renders byte for byte what the scan would have printed. */
#include "mc_output.h"

#include <stdlib.h>
#include <string.h>

typedef struct group {
    json_t *input;        /* the shared input block (owned) */
    json_t **recs;
    size_t n, cap;
} group;

static void group_clear(group *g)
{
    for (size_t i = 0; i < g->n; i++)
        json_decref(g->recs[i]);
    json_decref(g->input);
    g->input = NULL;
    g->n = 0;
}

static bool group_add(group *g, json_t *rec)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        json_t **v = realloc(g->recs, cap * sizeof *v);
        if (!v)
            return false;
        g->recs = v;
        g->cap = cap;
    }
    g->recs[g->n++] = rec;
    return true;
}

static const json_t *error_record(const group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        const char *rt = json_string_value(json_object_get(g->recs[i], "record_type"));
        if (rt && !strcmp(rt, "error"))
            return g->recs[i];
    }
    return NULL;
}

static int group_flush(group *g, mc_writer *w)
{
    if (!g->input)
        return 0;
    mc_input_result res = {.status = MC_INPUT_OK, .input = g->input, .records = g->recs,
                           .nrecords = g->n};
    const json_t *err = error_record(g);
    if (err) {
        const json_t *e = json_object_get(err, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        res.status = code && !strcmp(code, "MC_E_TIMEOUT") ? MC_INPUT_TIMEOUT : MC_INPUT_ERROR;
        snprintf(res.error, sizeof res.error, "%s", msg ? msg : "input failed");
    }
    const char *path = json_string_value(json_object_get(g->input, "path"));
    int rc = mc_writer_input(w, path ? path : "-", &res);
    group_clear(g);
    return rc;
}

/* Why a parsed line is not a record, or NULL when it is one. */
static const char *not_a_record(const json_t *rec)
{
    if (!json_is_object(rec))
        return "not a JSON object";
    if (!json_is_string(json_object_get(rec, "record_type")))
        return "not a memcfg record (no record_type)";
    if (!json_is_object(json_object_get(rec, "input")))
        return "not a memcfg record (no input block)";
    return NULL;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

static void bad_line(void (*report)(void *, size_t, const char *), void *arg, size_t lineno,
                     const char *msg, size_t *bad)
{
    (*bad)++;
    if (report)
        report(arg, lineno, msg);
}

int mc_export_ndjson(FILE *in, mc_writer *w, void (*report)(void *arg, size_t line,
                                                            const char *msg),
                     void *arg, size_t *bad)
{
    group g = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    *bad = 0;
    while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (blank(line))
            continue;
        json_error_t jerr;
        json_t *rec = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        const char *why = rec ? not_a_record(rec) : jerr.text;
        if (why) {
            bad_line(report, arg, lineno, why, bad);
            json_decref(rec);
            continue;
        }
        json_t *input = json_object_get(rec, "input");
        if (g.input && !json_equal(g.input, input))
            rc = group_flush(&g, w);
        if (!g.input)
            g.input = json_incref(input);
        if (!group_add(&g, rec)) {
            json_decref(rec);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = group_flush(&g, w);
    group_clear(&g);
    free(g.recs);
    free(line);
    return rc;
}
