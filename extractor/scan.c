/* One libyara pass per dump: the dump's runs are the scan blocks (zero copy, sorted, one per
 * stretch contiguous in both VA and buffer), so every match offset is a VA. The callback copies
 * out what decoders need into mc_hit records whose strings belong to the rule database. */
#include "mc_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_iter {
    const md_dump *d;
    size_t i;
    YR_MEMORY_BLOCK blk;
} run_iter;

static const uint8_t *fetch_run(YR_MEMORY_BLOCK *b)
{
    return b->context;
}

static YR_MEMORY_BLOCK *iter_next(YR_MEMORY_BLOCK_ITERATOR *it)
{
    run_iter *c = it->context;
    while (c->i < c->d->nruns) {
        const md_run *r = &c->d->runs[c->i++];
        /* md guarantees runs lie inside the buffer; re-check rather than trust it blindly. */
        if (r->size == 0 || r->off > c->d->len || r->size > c->d->len - r->off ||
            r->size > SIZE_MAX)
            continue;
        c->blk.base = r->va;
        c->blk.size = (size_t)r->size;
        c->blk.context = (void *)(c->d->buf + r->off);
        c->blk.fetch_data = fetch_run;
        return &c->blk;
    }
    return NULL;
}

/* Conditions walk the blocks again through first(), so it must rewind. */
static YR_MEMORY_BLOCK *iter_first(YR_MEMORY_BLOCK_ITERATOR *it)
{
    ((run_iter *)it->context)->i = 0;
    return iter_next(it);
}

typedef struct scan_ctx {
    const mc_ruledb *db;
    mc_scan *out;
    size_t cap;
    bool oom;
} scan_ctx;

static void scan_warn(mc_scan *s, const char *fmt, const char *a)
{
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a);
    json_array_append_new(s->warnings, json_string(buf));
}

static bool push_hit(scan_ctx *c, const mc_hit *h)
{
    mc_scan *s = c->out;
    if (s->nhits == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        mc_hit *v = realloc(s->hits, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return false;
        }
        s->hits = v;
        c->cap = cap;
    }
    s->hits[s->nhits++] = *h;
    return true;
}

static int on_rule(scan_ctx *c, YR_SCAN_CONTEXT *yctx, const YR_RULE *rule)
{
    const mc_ruledb *db = c->db;
    size_t ri = (size_t)(rule - yctx->rules->rules_table);
    if (ri >= db->nrules)
        return CALLBACK_CONTINUE;
    const mc_rule_info *info = &db->rule[ri];
    uint32_t *m = realloc(c->out->matched, (c->out->nmatched + 1) * sizeof *m);
    if (!m) {
        c->oom = true;
        return CALLBACK_ERROR;
    }
    c->out->matched = m;
    m[c->out->nmatched++] = (uint32_t)ri;

    mc_hit h = {.rule = info->name, .ns = info->ns, .family = info->family};
    size_t n = 0;
    const YR_STRING *st;
    yr_rule_strings_foreach(rule, st) {
        if (st->idx >= db->nstrings)
            continue;
        /* libyara's match notebook packs YR_MATCH objects without regard to alignment, so each
         * one is copied out before use (yr_string_matches_foreach would read them in place). */
        const void *p = yctx->matches[st->idx].head;
        while (p) {
            YR_MATCH mt;
            memcpy(&mt, p, sizeof mt);
            p = mt.next;
            if (mt.is_private)
                continue;
            if (n == MC_MAX_HITS_PER_RULE) {
                scan_warn(c->out, "rule %s: more matches than the per-rule cap; the rest "
                                  "are ignored", info->name);
                c->out->partial = true;
                goto done;
            }
            h.va = (uint64_t)mt.base + (uint64_t)mt.offset;
            h.len = mt.match_length > 0 ? (uint32_t)mt.match_length : 0;
            h.string_id = db->string_id[st->idx];
            if (!push_hit(c, &h))
                return CALLBACK_ERROR;
            n++;
        }
    }
done:
    if (n == 0) {
        h.va = 0;
        h.len = 0;
        h.string_id = "";
        if (!push_hit(c, &h))
            return CALLBACK_ERROR;
    }
    return CALLBACK_CONTINUE;
}

static int scan_cb(YR_SCAN_CONTEXT *yctx, int message, void *data, void *user)
{
    scan_ctx *c = user;
    if (message == CALLBACK_MSG_RULE_MATCHING)
        return on_rule(c, yctx, data);
    if (message == CALLBACK_MSG_TOO_MANY_MATCHES) {
        const YR_STRING *st = data;
        scan_warn(c->out, "string %s reached libyara's match limit; later matches are lost",
                  st->identifier);
        c->out->partial = true;
    }
    return CALLBACK_CONTINUE;
}

static int cmp_hit(const void *a, const void *b)
{
    const mc_hit *x = a, *y = b;
    if (x->va != y->va)
        return x->va < y->va ? -1 : 1;
    int r = strcmp(x->rule, y->rule);
    if (r == 0)
        r = strcmp(x->string_id, y->string_id);
    if (r == 0)
        r = strcmp(x->ns, y->ns);
    if (r == 0 && x->len != y->len)
        r = x->len < y->len ? -1 : 1;
    return r;
}

void mc_scan_free(mc_scan *s)
{
    if (!s)
        return;
    free(s->hits);
    free(s->matched);
    json_decref(s->warnings);
    memset(s, 0, sizeof *s);
}

int mc_scan_dump(const mc_ruledb *db, const md_dump *d, double deadline, mc_scan *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->warnings = json_array();
    if (!out->warnings) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int timeout = 0;
    if (deadline > 0) {
        double left = deadline - mc_now();
        if (left <= 0) {
            json_array_append_new(out->warnings, json_string("deadline reached before the scan"));
            out->partial = out->timed_out = true;
            return 0;
        }
        timeout = left >= INT32_MAX ? INT32_MAX : (int)ceil(left);
    }
    YR_SCANNER *sc = NULL;
    if (yr_scanner_create(db->rules, &sc) != ERROR_SUCCESS) {
        snprintf(err, errlen, "cannot create a YARA scanner");
        return -1;
    }
    scan_ctx c = {.db = db, .out = out};
    run_iter ri = {.d = d};
    YR_MEMORY_BLOCK_ITERATOR it = {
        .context = &ri, .first = iter_first, .next = iter_next, .file_size = NULL,
        .last_error = ERROR_SUCCESS,
    };
    yr_scanner_set_callback(sc, scan_cb, &c);
    yr_scanner_set_flags(sc, SCAN_FLAGS_REPORT_RULES_MATCHING);
    yr_scanner_set_timeout(sc, timeout);
    int rc = d->nruns ? yr_scanner_scan_mem_blocks(sc, &it) : ERROR_SUCCESS;
    yr_scanner_destroy(sc);
    if (rc == ERROR_SCAN_TIMEOUT) {
        json_array_append_new(out->warnings, json_string("the YARA scan hit the deadline"));
        out->partial = out->timed_out = true;
        rc = ERROR_SUCCESS;
    }
    if (c.oom || rc != ERROR_SUCCESS) {
        snprintf(err, errlen, c.oom ? "out of memory while collecting matches"
                                    : "YARA scan failed (error %d)", rc);
        return -1;
    }
    if (out->nhits > 1)
        qsort(out->hits, out->nhits, sizeof *out->hits, cmp_hit);
    return 0;
}
