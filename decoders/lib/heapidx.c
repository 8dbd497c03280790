/* The heap indexes of a dump, fed chunk by chunk by the scan's threads (decoder.h). */
#include "lib/mc_clrstr.h"
#include "lib/mc_shared.h"
#include "md_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct run_spans {
    size_t first, n;              /* the run's heap stretches: spans[first, first + n) */
} run_spans;

struct mc_heap_indexer {
    const md_dump *d;
    unsigned slots;
    mc_heap_span *spans;          /* every heap stretch, run by run, in VA order */
    run_spans *runs;              /* by run index */
    uint64_t seed;
    mc_clr_index **clr;           /* per slot */
    _Atomic uint64_t ns;          /* CPU nanoseconds in item() */
    atomic_bool failed;           /* a part hit a cap or ran out of memory */
};

mc_heap_indexer *mc_heap_indexer_new(const md_dump *d, unsigned slots)
{
    mc_heap_indexer *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->d = d;
    x->slots = slots ? slots : 1;
    x->seed = ((uint64_t)arc4random() << 32 | arc4random()) ^ 0xcbf29ce484222325ull;
    x->runs = calloc(d->nruns ? d->nruns : 1, sizeof *x->runs);
    x->clr = calloc(x->slots, sizeof *x->clr);
    size_t cap = 0, n = 0;
    bool ok = x->runs && x->clr;
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
                                          MC_CLR_INDEX_MAX_ARRAYS)) != NULL;
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
        ok = mc_clr_part_collect(x->clr[slot], sp, a, b);
    }
    if (!ok) atomic_store(&x->failed, true);
    atomic_fetch_add(&x->ns, cpu_ns() - t0);
}

bool mc_heap_indexer_finish(mc_heap_indexer *x, mc_dump_shared *s, bool complete)
{
    if (!x || !s || !complete || atomic_load(&x->failed)) return false;
    uint64_t t0 = cpu_ns();
    mc_clr_index *ix = mc_clr_merge(x->clr, x->slots, x->d, x->seed, s->max_strings, s->max_arrays);
    double ms = (double)(atomic_load(&x->ns) + (cpu_ns() - t0)) / 1e6;
    bool in = ix && mc_clr_index_install(s, ix, ms);
    if (!in) mc_clr_index_free(ix);
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
    free(x->clr);
    free(x->runs);
    free(x->spans);
    free(x);
}
