/* The libyara pass over one dump, on one or more threads, with the hits of a single scanner.
 *
 * Semantics to reproduce (the "reference" pass): one YR_SCANNER, the dump's runs as the blocks
 * (zero copy, sorted, each a stretch contiguous in VA and buffer), so every match offset is a VA,
 * no match spans two runs, and conditions see the whole dump.
 *
 * How the parallel pass reproduces it exactly:
 *  1. Matching. Runs are cut into work items of about `chunk` bytes. An item owns the VAs
 *     [lo, hi) and is scanned as [lo - R, hi + R) clamped to its run, where R (the reach) bounds
 *     how far from a match's start libyara reads to decide that match and its length (regex and
 *     hex verification stop at YR_RE_SCAN_LIMIT bytes from the atom; literals at their length;
 *     fullword one character more). So a start in [lo, hi) is decided as in the whole run, and
 *     keeping only those starts gives every match once. Long all-zero stretches inside an item
 *     are left out, keeping 2R zero bytes beside any data: a position whose reach holds only
 *     zeros (and at most a block edge) behaves like the same position in a zero probe, and the
 *     probe (scanned once per dump) shows that no string matches there; if any string matches
 *     zeros, nothing is skipped. Each thread has its own scanner; items are handed out in order
 *     from a shared counter. What each item contributes is the string matches of every string
 *     (private ones and those of rules that did not match too), read when the scan finishes.
 *  2. Conditions. One scanner scans only windows of 2R around the collected matches and then,
 *     when libyara walks the blocks again to evaluate conditions and load modules, the iterator
 *     hands it the full runs. The string matches it finds are compared with phase 1: when they
 *     are identical, every condition saw the same matches and the same bytes as the reference
 *     pass, so the matching rules and their hits are the reference's. Otherwise (a window edge
 *     made up a match, e.g. a fullword string cut free of its neighbour), the reference pass runs.
 *  Also falling back to the reference pass: chained strings (hex jumps of 200 or more link matches
 *  across blocks), and a string reaching libyara's per-scan match cap (its cut-off point depends
 *  on the blocks). `entry_point` (deprecated) is computed from the first scanned block.
 *
 * Memory: the pages of an item are dropped (MADV_DONTNEED, file mappings only) once it is
 * scanned, so resident memory stays near threads x chunk whatever the dump size.
 */
#include "mc_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_CHUNK (16ull << 20)
#define ZERO_UNIT 4096u
#define MIN_SKIP (4u * ZERO_UNIT)

/* ---------------------------------------------------------------- blocks and the iterator */

typedef struct blk {
    uint64_t va, size;
    const uint8_t *p;
} blk;

typedef struct blist {
    blk *v;
    size_t n, cap;
} blist;

static bool blist_push(blist *l, uint64_t va, uint64_t size, const uint8_t *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        blk *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (blk){va, size, p};
    return true;
}

/* The first first() starts the matching phase over `scan`; every later first() comes from
 * condition evaluation or a module, which must see `eval`. */
typedef struct blk_iter {
    const blk *scan, *eval;
    size_t nscan, neval;
    const blk *cur;
    size_t i, n;
    bool started;
    YR_MEMORY_BLOCK b;
} blk_iter;

static const uint8_t *fetch_blk(YR_MEMORY_BLOCK *b)
{
    return b->context;
}

static YR_MEMORY_BLOCK *iter_next(YR_MEMORY_BLOCK_ITERATOR *it)
{
    blk_iter *c = it->context;
    if (c->i >= c->n)
        return NULL;
    const blk *k = &c->cur[c->i++];
    c->b.base = k->va;
    c->b.size = (size_t)k->size;
    c->b.context = (void *)k->p;
    c->b.fetch_data = fetch_blk;
    return &c->b;
}

static YR_MEMORY_BLOCK *iter_first(YR_MEMORY_BLOCK_ITERATOR *it)
{
    blk_iter *c = it->context;
    c->cur = c->started ? c->eval : c->scan;
    c->n = c->started ? c->neval : c->nscan;
    c->started = true;
    c->i = 0;
    return iter_next(it);
}

/* The dump's runs as blocks; md guarantees they lie inside the buffer, re-checked anyway. */
static bool runs_blocks(const md_dump *d, blist *out)
{
    for (size_t i = 0; i < d->nruns; i++) {
        const md_run *r = &d->runs[i];
        if (r->size == 0 || r->off > d->len || r->size > d->len - r->off || r->size > SIZE_MAX)
            continue;
        if (!blist_push(out, r->va, r->size, d->buf + r->off))
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- string matches */

typedef struct smatch {
    uint64_t va;
    uint32_t idx, len;
} smatch;

typedef struct svec {
    smatch *v;
    size_t n, cap;
    bool oom;
} svec;

static void svec_push(svec *s, uint32_t idx, uint64_t va, uint32_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        smatch *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (smatch){va, idx, len};
}

static int cmp_smatch(const void *a, const void *b)
{
    const smatch *x = a, *y = b;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    if (x->va != y->va)
        return x->va < y->va ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_smatch_va(const void *a, const void *b)
{
    const smatch *x = a, *y = b;
    if (x->va != y->va)
        return x->va < y->va ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Every match of every string whose start is in [lo, hi). libyara's match notebook packs
 * YR_MATCH objects without regard to alignment, so each one is copied out before use. */
static void collect_strings(YR_SCAN_CONTEXT *yctx, uint64_t lo, uint64_t hi, svec *out)
{
    uint32_t ns = yctx->rules->num_strings;
    for (uint32_t i = 0; i < ns && !out->oom; i++) {
        const void *p = yctx->matches[i].head;
        while (p) {
            YR_MATCH mt;
            memcpy(&mt, p, sizeof mt);
            p = mt.next;
            uint64_t va = (uint64_t)mt.base + (uint64_t)mt.offset;
            if (va >= lo && va < hi)
                svec_push(out, i, va, mt.match_length > 0 ? (uint32_t)mt.match_length : 0);
        }
    }
}

/* ---------------------------------------------------------------- hits of matching rules */

typedef struct scan_ctx {
    const mc_ruledb *db;
    mc_scan *out;
    size_t cap;
    bool oom, too_many;
    svec *strings;           /* phase 2: every string match, to compare with phase 1 */
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
    if (message == CALLBACK_MSG_SCAN_FINISHED && c->strings)
        collect_strings(yctx, 0, UINT64_MAX, c->strings);
    if (message == CALLBACK_MSG_TOO_MANY_MATCHES) {
        const YR_STRING *st = data;
        scan_warn(c->out, "string %s reached libyara's match limit; later matches are lost",
                  st->identifier);
        c->out->partial = true;
        c->too_many = true;
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
    free(s->mz);
    json_decref(s->warnings);
    memset(s, 0, sizeof *s);
}

static void scan_reset(mc_scan *s)
{
    free(s->hits);
    free(s->matched);
    free(s->mz);
    s->hits = NULL;
    s->matched = NULL;
    s->mz = NULL;
    s->nmz = 0;
    s->mz_ok = s->items_ok = false;
    s->nhits = s->nmatched = 0;
    json_array_clear(s->warnings);
    s->partial = s->timed_out = false;
}

/* Seconds left as libyara's whole-scan timeout: 0 = none, -1 = already past. */
static int timeout_left(double deadline)
{
    if (deadline <= 0)
        return 0;
    double left = deadline - mc_now();
    if (left <= 0)
        return -1;
    return left >= INT32_MAX ? INT32_MAX : (int)ceil(left);
}

/* One scanner over `scan` blocks whose conditions see `eval`; hits of matching rules into out,
 * and, when strings is set, every string match. Returns a libyara error code. */
static int scan_blocks(const mc_ruledb *db, const blist *scan, const blist *eval, int timeout,
                       scan_ctx *c)
{
    YR_SCANNER *sc = NULL;
    int rc = yr_scanner_create(db->rules, &sc);
    if (rc != ERROR_SUCCESS)
        return rc;
    blk_iter bi = {.scan = scan->v, .nscan = scan->n, .eval = eval->v, .neval = eval->n};
    YR_MEMORY_BLOCK_ITERATOR it = {
        .context = &bi, .first = iter_first, .next = iter_next, .file_size = NULL,
        .last_error = ERROR_SUCCESS,
    };
    yr_scanner_set_callback(sc, scan_cb, c);
    yr_scanner_set_flags(sc, SCAN_FLAGS_REPORT_RULES_MATCHING);
    yr_scanner_set_timeout(sc, timeout);
    rc = yr_scanner_scan_mem_blocks(sc, &it);
    yr_scanner_destroy(sc);
    return rc;
}

/* ---------------------------------------------------------------- the rules' reach */

typedef struct plan {
    const mc_ruledb *db;
    const md_dump *d;
    uint64_t reach, margin, chunk;
    bool chained, skip_zero, collect_mz;
    mc_scan_helpers *helpers;
    unsigned spare;
    void (*item_fn)(void *arg, unsigned slot, const md_run *r, uint64_t lo, uint64_t hi,
                    bool matched);
    void *item_arg;
} plan;

/* Page starts holding 'M' (the image finder's candidates), a growing array. */
typedef struct vavec {
    uint64_t *v;
    size_t n, cap;
    bool oom;
} vavec;

#define MZ_MAX (1u << 22)         /* more candidates than that: the finder probes on its own */

static void vavec_push(vavec *a, uint64_t va)
{
    if (a->oom) return;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? 2 * a->cap : 256;
        uint64_t *p = ncap <= MZ_MAX ? realloc(a->v, ncap * sizeof *p) : NULL;
        if (!p) { a->oom = true; return; }
        a->v = p;
        a->cap = ncap;
    }
    a->v[a->n++] = va;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void plan_rules(plan *p)
{
    YR_RULES *rules = p->db->rules;
    uint64_t maxlen = 0;
    for (uint32_t i = 0; i < rules->num_strings; i++) {
        const YR_STRING *s = &rules->strings_table[i];
        if (s->flags & (STRING_FLAGS_CHAIN_PART | STRING_FLAGS_CHAIN_TAIL) || s->chained_to)
            p->chained = true;
        if (s->length > 0 && (uint64_t)s->length > maxlen)
            maxlen = (uint64_t)s->length;
    }
    /* regex/hex verification: YR_RE_SCAN_LIMIT each way from the atom; wide and base64 forms
     * of a literal are at most twice (and a third) its length; fullword peeks one char more. */
    p->reach = 2ull * YR_RE_SCAN_LIMIT + 3ull * maxlen + 64;
    p->margin = 2 * p->reach;
}

static int probe_cb(YR_SCAN_CONTEXT *yctx, int message, void *data, void *user)
{
    (void)data;
    if (message == CALLBACK_MSG_SCAN_FINISHED)
        collect_strings(yctx, 0, UINT64_MAX, user);
    return CALLBACK_CONTINUE;
}

/* Zero stretches may be skipped only when no string matches anywhere in zeros, block edges
 * included (a probe longer than two reaches has positions of every kind). The answer depends
 * on the rules alone: probed once per rule set (two threads may both probe at first; they agree). */
static bool zeros_match_nothing(const plan *p)
{
    int known = atomic_load(&((mc_ruledb *)p->db)->zeros);
    if (known)
        return known == 1;
    size_t n = (size_t)(2 * p->margin + ZERO_UNIT);
    uint8_t *z = calloc(1, n);
    YR_SCANNER *sc = NULL;
    svec found = {0};
    bool probed = false;
    if (z && yr_scanner_create(p->db->rules, &sc) == ERROR_SUCCESS) {
        yr_scanner_set_callback(sc, probe_cb, &found);
        yr_scanner_set_flags(sc, SCAN_FLAGS_REPORT_RULES_MATCHING);
        probed = yr_scanner_scan_mem(sc, z, n) == ERROR_SUCCESS && !found.oom;
    }
    bool none = probed && found.n == 0;
    if (sc)
        yr_scanner_destroy(sc);
    free(found.v);
    free(z);
    /* a probe cut short (out of memory) says nothing of the rules: probe again next time */
    if (probed)
        atomic_store(&((mc_ruledb *)p->db)->zeros, none ? 1 : 2);
    return none;
}

/* ---------------------------------------------------------------- phase 1: work items */

typedef struct item {
    const md_run *run;
    uint64_t lo, hi;          /* VAs whose matches this item reports */
} item;

typedef struct worker worker;

typedef struct pool {
    const plan *p;
    item *items;
    size_t nitems;
    atomic_size_t next;
    atomic_bool stop;
    atomic_bool matched;      /* some worker has found a string match */
    double deadline;
    worker *w;
    size_t nw, cap;           /* workers in w[] (the helpers' under the registry's lock), places */
    unsigned helping;         /* helpers still running (under the registry's lock) */
} pool;

/* The registry of pools that take helpers. */
#define HELP_MAX_POOLS 64

struct mc_scan_helpers {
    pthread_mutex_t mu;
    pthread_cond_t left;      /* a helper left its pool */
    pool *open[HELP_MAX_POOLS];
    size_t n;
};

struct worker {
    pool *pl;
    svec found;
    uint64_t scanned, skipped;
    double first;             /* mc_now() when its first item started, 0 if none */
    int rc;                   /* first libyara error, ERROR_SUCCESS if none */
    bool timed_out, too_many;
    blist blocks;
    vavec mz;
    pthread_t tid;
};

typedef struct item_cb {
    worker *w;
    const item *it;
} item_cb;

static int item_scan_cb(YR_SCAN_CONTEXT *yctx, int message, void *data, void *user)
{
    (void)data;
    item_cb *c = user;
    if (message == CALLBACK_MSG_SCAN_FINISHED)
        collect_strings(yctx, c->it->lo, c->it->hi, &c->w->found);
    else if (message == CALLBACK_MSG_TOO_MANY_MATCHES)
        c->w->too_many = true;
    return CALLBACK_CONTINUE;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Blocks for VAs [s, e) of run r, leaving out all-zero stretches except 2R next to data (or
 * everything up to the edge of the scanned span, whose far side is out of every reach). */
static bool item_blocks(const plan *p, const md_run *r, uint64_t s, uint64_t e, blist *out,
                        uint64_t *skipped)
{
    const uint8_t *base = p->d->buf + r->off + (s - r->va);
    out->n = 0;
    uint64_t pos = s, cur = s;    /* cur: start of the block being built */
    while (p->skip_zero && pos < e) {
        uint64_t unit = e - pos < ZERO_UNIT ? e - pos : ZERO_UNIT;
        if (!is_zero(base + (pos - s), (size_t)unit)) {
            pos += unit;
            continue;
        }
        uint64_t zs = pos;
        while (pos < e) {
            unit = e - pos < ZERO_UNIT ? e - pos : ZERO_UNIT;
            if (!is_zero(base + (pos - s), (size_t)unit))
                break;
            pos += unit;
        }
        uint64_t gs = zs == s ? s : zs + p->margin, ge = pos == e ? e : pos - p->margin;
        if (pos - zs < 2 * p->margin || ge - gs < MIN_SKIP)
            continue;
        if (gs > cur && !blist_push(out, cur, gs - cur, base + (cur - s)))
            return false;
        *skipped += ge - gs;
        cur = ge;
    }
    return cur >= e || blist_push(out, cur, e - cur, base + (cur - s));
}

static void run_item(worker *w, YR_SCANNER *sc, const item *it)
{
    const plan *p = w->pl->p;
    const md_run *r = it->run;
    uint64_t s = it->lo - r->va > p->reach ? it->lo - p->reach : r->va;
    uint64_t rend = r->va + r->size;
    uint64_t e = rend - it->hi > p->reach ? it->hi + p->reach : rend;
    md_advise_sequential(p->d, r->off + (s - r->va), e - s);
    if (!item_blocks(p, r, s, e, &w->blocks, &w->skipped)) {
        w->rc = ERROR_INSUFFICIENT_MEMORY;
        return;
    }
    int timeout = timeout_left(w->pl->deadline);
    if (timeout < 0) {
        w->timed_out = true;
        return;
    }
    for (size_t i = 0; i < w->blocks.n; i++)
        w->scanned += w->blocks.v[i].size;
    if (w->blocks.n) {
        item_cb c = {w, it};
        blk_iter bi = {.scan = w->blocks.v, .nscan = w->blocks.n, .eval = w->blocks.v,
                       .neval = w->blocks.n};
        YR_MEMORY_BLOCK_ITERATOR yit = {
            .context = &bi, .first = iter_first, .next = iter_next, .file_size = NULL,
            .last_error = ERROR_SUCCESS,
        };
        yr_scanner_set_callback(sc, item_scan_cb, &c);
        yr_scanner_set_timeout(sc, timeout);
        int rc = yr_scanner_scan_mem_blocks(sc, &yit);
        if (rc == ERROR_SCAN_TIMEOUT)
            w->timed_out = true;
        else if (rc != ERROR_SUCCESS)
            w->rc = rc;
    }
    /* The image finder's page-start probe, while the pages are mapped: every page start of the
     * item's own VAs (all-zero ones too: item_blocks read them). */
    if (p->collect_mz) {
        for (uint64_t va = (it->lo + 0xfff) & ~(uint64_t)0xfff; va < it->hi; va += 0x1000)
            if (p->d->buf[r->off + (va - r->va)] == 'M') vavec_push(&w->mz, va);
    }
    if (p->item_fn) {
        if (w->found.n)
            atomic_store(&w->pl->matched, true);
        p->item_fn(p->item_arg, (unsigned)(w - w->pl->w), r, it->lo, it->hi,
                   atomic_load(&w->pl->matched));
    }
    /* The item's pages, and what its first and last reads mapped beyond its edges. */
    md_release(p->d, r->off + (s - r->va), e - s);
    md_release_around(p->d, r->off + (s - r->va));
    md_release_around(p->d, r->off + (e - r->va));
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *pl = w->pl;
    YR_SCANNER *sc = NULL;
    w->rc = yr_scanner_create(pl->p->db->rules, &sc);
    if (w->rc == ERROR_SUCCESS)
        yr_scanner_set_flags(sc, SCAN_FLAGS_REPORT_RULES_MATCHING);
    while (w->rc == ERROR_SUCCESS && !atomic_load(&pl->stop)) {
        size_t k = atomic_fetch_add(&pl->next, 1);
        if (k >= pl->nitems)
            break;
        if (w->first == 0)
            w->first = mc_now();
        run_item(w, sc, &pl->items[k]);
        if (w->rc != ERROR_SUCCESS || w->timed_out || w->too_many || w->found.oom)
            atomic_store(&pl->stop, true);
    }
    if (sc)
        yr_scanner_destroy(sc);
    return NULL;
}

mc_scan_helpers *mc_scan_helpers_new(void)
{
    mc_scan_helpers *h = calloc(1, sizeof *h);
    if (h && (pthread_mutex_init(&h->mu, NULL) != 0 || pthread_cond_init(&h->left, NULL) != 0)) {
        free(h);
        return NULL;
    }
    return h;
}

void mc_scan_helpers_free(mc_scan_helpers *h)
{
    if (!h)
        return;
    pthread_cond_destroy(&h->left);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

bool mc_scan_help(mc_scan_helpers *h)
{
    if (!h)
        return false;
    pthread_mutex_lock(&h->mu);
    pool *pl = NULL;
    for (size_t i = 0; i < h->n && !pl; i++) {
        pool *c = h->open[i];
        if (c->nw < c->cap && !atomic_load(&c->stop) && atomic_load(&c->next) < c->nitems)
            pl = c;
    }
    size_t slot = 0;
    if (pl) {
        slot = pl->nw++;
        pl->helping++;
    }
    pthread_mutex_unlock(&h->mu);
    if (!pl)
        return false;
    worker_main(&pl->w[slot]);
    pthread_mutex_lock(&h->mu);
    pl->helping--;
    pthread_cond_broadcast(&h->left);
    pthread_mutex_unlock(&h->mu);
    return true;
}

/* Open the pool to helpers; false when the registry is full (it then runs without). */
static bool help_open(mc_scan_helpers *h, pool *pl)
{
    pthread_mutex_lock(&h->mu);
    bool ok = h->n < HELP_MAX_POOLS;
    if (ok)
        h->open[h->n++] = pl;
    pthread_mutex_unlock(&h->mu);
    return ok;
}

/* Close it and wait for the helpers inside: afterwards pl->nw is final. */
static void help_close(mc_scan_helpers *h, pool *pl)
{
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n; i++)
        if (h->open[i] == pl) {
            h->open[i] = h->open[--h->n];
            break;
        }
    while (pl->helping)
        pthread_cond_wait(&h->left, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static item *make_items(const plan *p, size_t *n)
{
    size_t cap = 0;
    for (size_t i = 0; i < p->d->nruns; i++)
        cap += (size_t)(p->d->runs[i].size / p->chunk) + 1;
    item *v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < p->d->nruns; i++) {
        const md_run *r = &p->d->runs[i];
        if (r->size == 0 || r->off > p->d->len || r->size > p->d->len - r->off)
            continue;
        for (uint64_t lo = r->va; lo - r->va < r->size && *n < cap; lo += p->chunk) {
            uint64_t left = r->size - (lo - r->va);
            v[(*n)++] = (item){r, lo, lo + (left < p->chunk ? left : p->chunk)};
        }
    }
    return v;
}

/* ---------------------------------------------------------------- the passes */

static int reference_pass(const mc_ruledb *db, const md_dump *d, int timeout, mc_scan *out,
                          mc_scan_stats *st)
{
    blist runs = {0};
    if (!runs_blocks(d, &runs)) {
        free(runs.v);
        return ERROR_INSUFFICIENT_MEMORY;
    }
    scan_ctx c = {.db = db, .out = out};
    st->t_first = mc_now();
    int rc = runs.n ? scan_blocks(db, &runs, &runs, timeout, &c) : ERROR_SUCCESS;
    for (size_t i = 0; i < runs.n; i++) {
        st->scanned += runs.v[i].size;
        md_release(d, (uint64_t)(runs.v[i].p - d->buf), runs.v[i].size);
    }
    free(runs.v);
    return c.oom ? ERROR_INSUFFICIENT_MEMORY : rc;
}

/* Phase 1 on nthreads threads (the caller is one of them). */
static int match_phase(const plan *p, unsigned nthreads, mc_scan_helpers *helpers, unsigned spare,
                       double deadline, svec *found, vavec *mz, bool *timed_out, bool *too_many,
                       mc_scan_stats *st)
{
    pool pl = {.p = p, .deadline = deadline};
    if (!helpers)
        spare = 0;
    pl.items = make_items(p, &pl.nitems);
    pl.cap = nthreads + spare;
    pl.w = calloc(pl.cap, sizeof *pl.w);
    if (!pl.items || !pl.w) {
        free(pl.items);
        free(pl.w);
        return ERROR_INSUFFICIENT_MEMORY;
    }
    atomic_init(&pl.next, 0);
    atomic_init(&pl.stop, false);
    atomic_init(&pl.matched, false);
    size_t started = 1;
    for (size_t i = 0; i < pl.cap; i++)
        pl.w[i].pl = &pl;
    for (; started < nthreads; started++)
        if (pthread_create(&pl.w[started].tid, NULL, worker_main, &pl.w[started]) != 0)
            break;
    pl.nw = started;
    /* Results do not depend on who scanned which item: they are sorted below. */
    bool open = spare && help_open(helpers, &pl);
    worker_main(&pl.w[0]);
    for (size_t i = 1; i < started; i++)
        pthread_join(pl.w[i].tid, NULL);
    if (open)
        help_close(helpers, &pl);
    st->threads = (unsigned)pl.nw;
    int rc = ERROR_SUCCESS;
    for (size_t i = 0; i < pl.nw; i++) {
        worker *w = &pl.w[i];
        if (w->rc != ERROR_SUCCESS && rc == ERROR_SUCCESS)
            rc = w->rc;
        if (w->found.oom && rc == ERROR_SUCCESS)
            rc = ERROR_INSUFFICIENT_MEMORY;
        *timed_out |= w->timed_out;
        *too_many |= w->too_many;
        st->scanned += w->scanned;
        st->zero_skipped += w->skipped;
        if (w->first > 0 && (st->t_first == 0 || w->first < st->t_first))
            st->t_first = w->first;
        for (size_t k = 0; k < w->found.n && rc == ERROR_SUCCESS; k++)
            svec_push(found, w->found.v[k].idx, w->found.v[k].va, w->found.v[k].len);
        if (found->oom && rc == ERROR_SUCCESS)
            rc = ERROR_INSUFFICIENT_MEMORY;
        for (size_t k = 0; k < w->mz.n; k++)
            vavec_push(mz, w->mz.v[k]);
        mz->oom |= w->mz.oom;
        free(w->found.v);
        free(w->blocks.v);
        free(w->mz.v);
    }
    if (mz->n > 1)
        qsort(mz->v, mz->n, sizeof *mz->v, cmp_u64);
    free(pl.items);
    free(pl.w);
    if (found->n > 1)
        qsort(found->v, found->n, sizeof *found->v, cmp_smatch);
    /* the reference scanner would have stopped a string at the cap somewhere else */
    for (size_t i = 0, run = 0; i < found->n; i++) {
        run = i && found->v[i].idx == found->v[i - 1].idx ? run + 1 : 1;
        if (run >= YR_MAX_STRING_MATCHES)
            *too_many = true;
    }
    return rc;
}

/* Windows of 2R around every match, merged, inside its run. */
static bool match_windows(const plan *p, const svec *found, blist *out)
{
    smatch *v = malloc((found->n ? found->n : 1) * sizeof *v);
    if (!v)
        return false;
    /* found->v is NULL when nothing matched: memcpy/qsort of NULL is UB even for 0 bytes
     * (fuzzing: UBSan, hostile_catalogue item 4) */
    if (found->n) {
        memcpy(v, found->v, found->n * sizeof *v);
        qsort(v, found->n, sizeof *v, cmp_smatch_va);
    }
    bool ok = true;
    for (size_t i = 0; i < found->n && ok; i++) {
        const md_run *r = md_run_at(p->d, v[i].va);
        if (!r)
            continue;
        uint64_t rend = r->va + r->size;
        uint64_t s = v[i].va - r->va > p->margin ? v[i].va - p->margin : r->va;
        uint64_t end = v[i].va + v[i].len;
        uint64_t e = end < rend && rend - end > p->margin ? end + p->margin : rend;
        blk *last = out->n ? &out->v[out->n - 1] : NULL;
        if (last && last->va <= s && s <= last->va + last->size &&
            md_run_at(p->d, last->va) == r) {
            if (e > last->va + last->size)
                last->size = e - last->va;
            continue;
        }
        ok = blist_push(out, s, e - s, p->d->buf + r->off + (s - r->va));
    }
    free(v);
    return ok;
}

static bool same_matches(const svec *a, const svec *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

/* Phase 2: conditions over the whole dump with the matches of phase 1. Sets *exact when the
 * scanner saw exactly those matches. */
static int eval_phase(const plan *p, const svec *found, int timeout, mc_scan *out, bool *exact,
                      mc_scan_stats *st)
{
    blist win = {0}, runs = {0};
    svec seen = {0};
    int rc = ERROR_INSUFFICIENT_MEMORY;
    if (!match_windows(p, found, &win) || !runs_blocks(p->d, &runs))
        goto done;
    if (runs.n == 0) {
        rc = ERROR_SUCCESS;
        *exact = found->n == 0;
        goto done;
    }
    /* libyara evaluates nothing when the first block is missing: give it an empty one */
    if (win.n == 0 && !blist_push(&win, runs.v[0].va, 0, runs.v[0].p))
        goto done;
    for (size_t i = 0; i < win.n; i++)
        st->window_bytes += win.v[i].size;
    scan_ctx c = {.db = p->db, .out = out, .strings = &seen};
    rc = scan_blocks(p->db, &win, &runs, timeout, &c);
    if (c.oom || seen.oom)
        rc = ERROR_INSUFFICIENT_MEMORY;
    if (seen.n > 1)
        qsort(seen.v, seen.n, sizeof *seen.v, cmp_smatch);
    *exact = rc == ERROR_SUCCESS && !c.too_many && same_matches(found, &seen);
done:
    free(win.v);
    free(runs.v);
    free(seen.v);
    return rc;
}

static int parallel_pass(const plan *p, unsigned nthreads, double deadline, mc_scan *out,
                         mc_scan_stats *st, bool *fallback)
{
    svec found = {0};
    vavec mz = {0};
    bool timed_out = false, too_many = false, exact = false;
    int rc = match_phase(p, nthreads, p->helpers, p->spare, deadline, &found, &mz, &timed_out,
                         &too_many, st);
    st->t_matched = mc_now();
    if (rc == ERROR_SUCCESS && timed_out)
        rc = ERROR_SCAN_TIMEOUT;
    if (rc == ERROR_SUCCESS && too_many)
        *fallback = true;
    if (rc == ERROR_SUCCESS && !too_many) {
        int timeout = timeout_left(deadline);
        rc = timeout < 0 ? ERROR_SCAN_TIMEOUT : eval_phase(p, &found, timeout, out, &exact, st);
        if (rc == ERROR_SUCCESS && !exact) {
            scan_reset(out);
            *fallback = true;
        }
    }
    free(found.v);
    /* Every item ran (no stop, no fallback): the candidates cover the dump. */
    out->items_ok = rc == ERROR_SUCCESS && !*fallback;
    if (p->collect_mz && out->items_ok && !mz.oom) {
        out->mz = mz.v;
        out->nmz = mz.n;
        out->mz_ok = true;
    } else {
        free(mz.v);
    }
    return rc;
}

int mc_scan_dump_ex(const mc_ruledb *db, const md_dump *d, double deadline,
                    const mc_scan_cfg *cfg, mc_scan *out, mc_scan_stats *stats, char *err,
                    size_t errlen)
{
    mc_scan_stats st_local;
    mc_scan_stats *st = stats ? stats : &st_local;
    memset(st, 0, sizeof *st);
    memset(out, 0, sizeof *out);
    st->t_start = mc_now();
    st->mode = "reference";
    st->threads = 1;
    st->bytes = d->bytes;
    out->warnings = json_array();
    if (!out->warnings) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int timeout = timeout_left(deadline);
    if (timeout < 0) {
        json_array_append_new(out->warnings, json_string("deadline reached before the scan"));
        out->partial = out->timed_out = true;
        return 0;
    }
    plan p = {.db = db, .d = d, .chunk = cfg && cfg->chunk ? cfg->chunk : DEFAULT_CHUNK,
              .collect_mz = cfg && cfg->collect_mz, .helpers = cfg ? cfg->helpers : NULL,
              .spare = cfg ? cfg->spare : 0, .item_fn = cfg ? cfg->item_fn : NULL,
              .item_arg = cfg ? cfg->item_arg : NULL};
    plan_rules(&p);
    st->reach = p.reach;
    unsigned nthreads = cfg && cfg->threads > 1 ? cfg->threads : 1;
    bool fallback = cfg && cfg->reference;
    if (p.chained)
        fallback = true;
    int rc = ERROR_SUCCESS;
    if (!fallback && d->nruns) {
        p.skip_zero = zeros_match_nothing(&p);
        st->mode = "parallel";
        rc = parallel_pass(&p, nthreads, deadline, out, st, &fallback);
        if (fallback) {
            st->mode = "fallback";
            timeout = timeout_left(deadline);
            if (timeout < 0)
                rc = ERROR_SCAN_TIMEOUT;
        }
    }
    if (fallback && rc == ERROR_SUCCESS && d->nruns)
        rc = reference_pass(db, d, timeout, out, st);
    st->t_end = mc_now();
    if (rc == ERROR_SCAN_TIMEOUT) {
        scan_reset(out);
        json_array_append_new(out->warnings, json_string("the YARA scan hit the deadline"));
        out->partial = out->timed_out = true;
        rc = ERROR_SUCCESS;
    }
    if (rc != ERROR_SUCCESS) {
        snprintf(err, errlen, rc == ERROR_INSUFFICIENT_MEMORY
                                  ? "out of memory while collecting matches"
                                  : "YARA scan failed (error %d)", rc);
        return -1;
    }
    if (out->nhits > 1)
        qsort(out->hits, out->nhits, sizeof *out->hits, cmp_hit);
    return 0;
}

int mc_scan_dump(const mc_ruledb *db, const md_dump *d, double deadline, mc_scan *out,
                 char *err, size_t errlen)
{
    return mc_scan_dump_ex(db, d, deadline, NULL, out, NULL, err, errlen);
}
