/* The heap indexes of a dump, fed chunk by chunk by the scan's threads (decoder.h). */
#include "lib/mc_clrstr.h"
#include "lib/mc_heaptok.h"
#include "lib/mc_shared.h"
#include "md_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct run_spans {
    size_t first, n;              /* the run's heap stretches: spans[first, first + n) */
} run_spans;

typedef struct pending {
    struct { const md_run *r; uint64_t lo, hi; } *v;
    size_t n, cap;
} pending;

struct mc_heap_indexer {
    const md_dump *d;
    unsigned slots;
    mc_heap_span *spans;          /* every heap stretch, run by run, in VA order */
    run_spans *runs;              /* by run index */
    uint64_t seed;
    mc_clr_index **clr;           /* per slot */
    mc_tok_part **tok;            /* per slot */
    _Atomic uint64_t ns;          /* CPU nanoseconds in item() */
    pending *later;               /* per slot: chunks left for finish() */
    atomic_bool failed;           /* a part hit a cap or ran out of memory */
};

mc_heap_indexer *mc_heap_indexer_new(const md_dump *d, unsigned slots)
{
    mc_heap_indexer *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->d = d;
    x->slots = slots ? slots : 1;
    x->seed = mc_clr_seed();
    x->runs = calloc(d->nruns ? d->nruns : 1, sizeof *x->runs);
    x->clr = calloc(x->slots, sizeof *x->clr);
    x->tok = calloc(x->slots, sizeof *x->tok);
    x->later = calloc(x->slots, sizeof *x->later);
    size_t cap = 0, n = 0;
    bool ok = x->runs && x->clr && x->tok && x->later;
    for (size_t r = 0; r < d->nruns && ok; r++) {
        size_t ri = d->runs[r].first_region;
        mc_heap_span sp;
        x->runs[r].first = n;
        while (ok && mc_heap_span_next(d, &d->runs[r], &ri, &sp)) {
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 64;
                mc_heap_span *v = realloc(x->spans, nc * sizeof *v);
                if (!v) { ok = false; break; }
                x->spans = v;
                cap = nc;
            }
            x->spans[n++] = sp;
        }
        x->runs[r].n = n - x->runs[r].first;
    }
    for (unsigned i = 0; i < x->slots && ok; i++)
        ok = (x->clr[i] = mc_clr_part_new(d, x->seed, MC_CLR_INDEX_MAX_STRINGS,
                                          MC_CLR_INDEX_MAX_ARRAYS)) != NULL &&
             (x->tok[i] = mc_tok_part_new(MC_HEAP_TOKENS_MAX)) != NULL;
    if (!ok) {
        mc_heap_indexer_free(x);
        return NULL;
    }
    atomic_init(&x->ns, 0);
    atomic_init(&x->failed, false);
    return x;
}

static uint64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void mc_heap_indexer_item(mc_heap_indexer *x, unsigned slot, const md_run *r, uint64_t lo,
                          uint64_t hi)
{
    if (!x || slot >= x->slots || atomic_load(&x->failed)) {
        if (x) atomic_store(&x->failed, true);
        return;
    }
    size_t ri = (size_t)(r - x->d->runs);
    if (ri >= x->d->nruns) return;
    uint64_t t0 = cpu_ns();
    const run_spans *rs = &x->runs[ri];
    bool ok = true;
    for (size_t i = rs->first; i < rs->first + rs->n && ok; i++) {
        const mc_heap_span *sp = &x->spans[i];
        if (sp->va >= hi || sp->va + sp->len <= lo) continue;
        uint64_t a = lo > sp->va ? lo - sp->va : 0;
        uint64_t b = hi - sp->va < sp->len ? hi - sp->va : sp->len;
        ok = mc_clr_part_collect(x->clr[slot], sp, a, b) && mc_tok_collect(x->tok[slot], sp, a, b);
    }
    if (!ok) atomic_store(&x->failed, true);
    atomic_fetch_add(&x->ns, cpu_ns() - t0);
}

void mc_heap_indexer_later(mc_heap_indexer *x, unsigned slot, const md_run *r, uint64_t lo,
                           uint64_t hi)
{
    if (!x || slot >= x->slots) {
        if (x) atomic_store(&x->failed, true);
        return;
    }
    pending *p = &x->later[slot];
    if (p->n == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 64;
        void *v = realloc(p->v, nc * sizeof *p->v);
        if (!v) {
            atomic_store(&x->failed, true);
            return;
        }
        p->v = v;
        p->cap = nc;
    }
    p->v[p->n].r = r;
    p->v[p->n].lo = lo;
    p->v[p->n++].hi = hi;
}

bool mc_heap_indexer_finish(mc_heap_indexer *x, mc_dump_shared *s, bool complete)
{
    if (!x || !s || !complete || atomic_load(&x->failed)) return false;
    for (unsigned i = 0; i < x->slots; i++) {
        const pending *p = &x->later[i];
        for (size_t k = 0; k < p->n && !atomic_load(&x->failed); k++) {
            const md_run *r = p->v[k].r;
            md_advise_sequential(x->d, r->off + (p->v[k].lo - r->va), p->v[k].hi - p->v[k].lo);
            mc_heap_indexer_item(x, i, r, p->v[k].lo, p->v[k].hi);
            md_release(x->d, r->off + (p->v[k].lo - r->va), p->v[k].hi - p->v[k].lo);
        }
    }
    if (atomic_load(&x->failed)) return false;
    uint64_t t0 = cpu_ns();
    mc_clr_index *ix = mc_clr_merge(x->clr, x->slots, x->d, x->seed, s->max_strings, s->max_arrays);
    mc_tok_index *tk = mc_tok_merge(x->tok, x->slots, x->seed);
    double ms = (double)(atomic_load(&x->ns) + (cpu_ns() - t0)) / 1e6;
    bool in = ix && mc_clr_index_install(s, ix, ms);
    if (!in) mc_clr_index_free(ix);
    pthread_mutex_lock(&s->lock);
    if (!s->tok) {
        s->tok = tk;
        s->tok_dump = x->d;
        tk = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    mc_tok_index_free(tk);
    return in;
}

double mc_heap_indexer_ms(const mc_heap_indexer *x)
{
    return x ? (double)atomic_load(&x->ns) / 1e6 : 0;
}

void mc_heap_indexer_free(mc_heap_indexer *x)
{
    if (!x) return;
    for (unsigned i = 0; x->clr && i < x->slots; i++) mc_clr_index_free(x->clr[i]);
    for (unsigned i = 0; x->tok && i < x->slots; i++) mc_tok_part_free(x->tok[i]);
    for (unsigned i = 0; x->later && i < x->slots; i++) free(x->later[i].v);
    free(x->later);
    free(x->clr);
    free(x->tok);
    free(x->runs);
    free(x->spans);
    free(x);
}

/* ---- lookups of host tokens (mc_heaptok.h) in place of a pass over the heap ---- */

/* Where the previous match's stretch was found: matches come in VA order, so the walk over a
 * run's stretches goes on from there (each region passed once, however many matches). */
typedef struct span_cursor {
    const md_run *run;
    size_t ri;
    mc_heap_span sp;
    bool have;
} span_cursor;

/* The heap stretch holding va (at or after the previous one asked for), or false. */
static bool span_at(const md_dump *d, span_cursor *c, uint64_t va)
{
    if (c->have && va >= c->sp.va && va - c->sp.va < c->sp.len) return true;
    const md_run *run = md_run_at(d, va);
    if (!run) return false;
    if (run != c->run || (c->have && va < c->sp.va)) {
        c->run = run;
        c->ri = run->first_region;
        c->have = false;
    }
    while (!(c->have && va - c->sp.va < c->sp.len && va >= c->sp.va)) {
        if (c->have && va < c->sp.va) return false;
        if (!mc_heap_span_next(d, run, &c->ri, &c->sp)) {
            c->run = NULL;
            c->have = false;
            return false;
        }
        c->have = true;
    }
    return true;
}

typedef struct tok_match {
    uint64_t va;
    size_t k;
} tok_match;

typedef struct tok_found {
    tok_match *v;
    size_t n, cap;
    size_t k;
    bool oom;
} tok_found;

static bool tok_add(void *arg, uint64_t va)
{
    tok_found *f = arg;
    if (f->n == f->cap) {
        size_t nc = f->cap ? 2 * f->cap : 64;
        tok_match *v = nc <= MC_HEAP_TOKEN_MATCHES ? realloc(f->v, nc * sizeof *v) : NULL;
        if (!v) { f->oom = true; return false; }
        f->v = v;
        f->cap = nc;
    }
    f->v[f->n++] = (tok_match){va, f->k};
    return true;
}

static int cmp_tok_match(const void *a, const void *b)
{
    const tok_match *x = a, *y = b;
    if (x->va != y->va) return x->va < y->va ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* The token a needle starts with: its chars in text[], their count, and the terminator after
 * them (0 when the needle is all token). False when the needle cannot be looked up. */
static bool needle_token(const mc_needle *nd, bool wide, char *text, size_t *n, char *term)
{
    const uint8_t *p = nd->p;
    size_t u = wide ? 2 : 1, chars = nd->len / u, i = 0;
    if (nd->len % u) return false;
    for (; i < chars && i < MC_TOK_MAX_RUN; i++) {
        uint8_t c = p[i * u];
        if ((wide && p[i * u + 1]) || !mc_tok_host_char(c)) break;
        text[i] = (char)c;
    }
    *n = i;
    if (i == chars) { *term = 0; return true; }
    uint8_t c = p[i * u];
    *term = (char)c;
    return (c == 0 || c == ':') && (!wide || p[i * u + 1] == 0);
}

bool mc_heap_find_tokens(const mc_decode_ctx *ctx, const md_dump *d, const mc_needle *nd,
                         const bool *wide, size_t n, mc_heap_match_fn cb, void *arg)
{
    mc_dump_shared *s = ctx ? ctx->shared : NULL;
    if (!s || n == 0) return false;
    pthread_mutex_lock(&s->lock);
    const mc_tok_index *ix = s->tok_dump == d ? s->tok : NULL;
    pthread_mutex_unlock(&s->lock);
    if (!ix) return false;
    tok_found f = {0};
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        char text[MC_TOK_MAX_RUN], term;
        size_t tn;
        f.k = k;
        ok = needle_token(&nd[k], wide[k], text, &tn, &term) &&
             mc_tok_find(ix, d, text, tn, wide[k], term, tok_add, &f) && !f.oom;
    }
    if (!ok) {
        free(f.v);
        return false;
    }
    /* mc_heap_find_many's order: by VA, needle order at one VA */
    if (f.n > 1) qsort(f.v, f.n, sizeof *f.v, cmp_tok_match);
    span_cursor cur = {0};
    for (size_t i = 0; i < f.n; i++) {
        const mc_needle *x = &nd[f.v[i].k];
        if (!span_at(d, &cur, f.v[i].va)) continue;
        const mc_heap_span *sp = &cur.sp;
        size_t off = (size_t)(f.v[i].va - sp->va);
        if (x->len > sp->len - off || memcmp(sp->p + off, x->p, x->len) != 0) continue;
        if (!cb(arg, f.v[i].k, f.v[i].va, sp, off)) break;
    }
    free(f.v);
    return true;
}
