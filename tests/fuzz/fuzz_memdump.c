/* Container readers through md_open_mem. FUZZ_FORMAT picks the reader at build time (one binary
 * per reader, so each gets its own corpus): a forced format, MD_FMT_UNKNOWN for the sniffer, or
 * FUZZ_COMPRESSED for the gzip/zlib path. A dump that opens is walked with every bounded reader;
 * one that fails must fail with a typed error and a one-line message. */
#include "fuzz_common.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_heaptok.h"
#include "lib/mc_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FUZZ_COMPRESSED (-1)
#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT MD_FMT_UNKNOWN
#endif
/* Inputs between heap index checks: raw dumps (bytes straight onto a heap region) and ELF cores
 * (several regions and stretches) only; the other readers' harnesses would lose most of their
 * speed to it. A C constant, not #if: the MD_FMT_* are enumerators, which the preprocessor
 * reads as 0, so an #if comparison held for every harness (fuzz_minidump, fuzz_sniff and
 * fuzz_compressed ran the check on every other input, at a tenth of their speed). */
static const unsigned heap_check_every = (int)FUZZ_FORMAT == (int)MD_FMT_RAW       ? 2
                                         : (int)FUZZ_FORMAT == (int)MD_FMT_ELFCORE ? 4
                                                                                   : 0;

/* Small caps keep each execution fast; the defaults are tested by the unit tests. A module costs
 * a name decode of up to MD_MAX_STRING UTF-16 units (the reader decodes once for a run of modules
 * naming one string, but mutated lists alternate), and those decodes were 50-70% of the
 * minidump, sniff and compressed harnesses' time with 256 modules; 32 still takes the cap path (a
 * 32 KiB input holds ~300 MINIDUMP_MODULE entries). */
static const md_open_opts base_opts = {
    .max_decompressed = 4u << 20, .max_regions = 4096, .max_modules = 32,
};

/* The engine's way to find injected images (the open leaves the page-start probe; the scan
 * collects the page starts holding 'M'; md_probe_images_at probes those) must find what a plain
 * open finds. */
static void check_deferred_probe(const uint8_t *data, size_t size, const md_open_opts *o,
                                 const md_dump *want)
{
    md_open_opts od = *o;
    od.defer_image_probe = true;
    md_dump *d = NULL;
    char err[256];
    if (md_open_mem(data, size, &od, &d, err, sizeof err) != MD_OK) {
        fprintf(stderr, "fuzz: a deferred open failed where a plain one worked: %s\n", err);
        abort();
    }
    size_t n = 0, cap = 0;
    uint64_t *va = NULL;
    for (size_t i = 0; i < d->nregions; i++) {
        const md_region *r = &d->regions[i];
        for (uint64_t v = (r->va + 0xfff) & ~0xfffull; v - r->va < r->size && v >= r->va; v += 0x1000) {
            if (d->buf[r->off + (v - r->va)] != 'M') continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                uint64_t *nv = realloc(va, cap * sizeof *nv);
                if (!nv) abort();
                va = nv;
            }
            va[n++] = v;
        }
    }
    md_err e = md_probe_images_at(d, va, n);
    if (e == MD_E_NOMEM) {   /* allocator_may_return_null: nothing to compare */
        free(va);
        md_close(d);
        return;
    }
    bool same = e == MD_OK && d->nimages == want->nimages;
    for (size_t i = 0; same && i < d->nimages; i++)
        same = d->images[i].base == want->images[i].base && d->images[i].size == want->images[i].size &&
               d->images[i].layout == want->images[i].layout && d->images[i].flags == want->images[i].flags;
    if (!same) {
        fprintf(stderr, "fuzz: deferred probe found %zu images, a plain open %zu\n", d->nimages,
                want->nimages);
        abort();
    }
    free(va);
    md_close(d);
}

/* ---- the heap indexes the scan's threads build, against the one-pass build and the search ---- */

static uint64_t rng;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz: heap index: %s\n", what);
    abort();
}

typedef struct hits_log {
    size_t n;
    uint64_t va[64];
    size_t k[64];
    const mc_needle *nd;
    bool all_token, wide, filter;
} hits_log;

static bool log_hit(void *arg, size_t k, uint64_t va, const mc_heap_span *sp, size_t off)
{
    hits_log *h = arg;
    if (h->filter && h->all_token) {   /* the token lookup reports only copies followed by NUL */
        size_t u = h->wide ? 2 : 1, len = h->nd[k].len;
        if (off + len + u > sp->len || sp->p[off + len] || (h->wide && sp->p[off + len + 1])) return true;
    }
    if (sp->va + off != va) die("a match's VA is not its offset in its stretch");
    h->va[h->n] = va;
    h->k[h->n++] = k;
    return h->n < 64;
}

/* A text the index holds (the whole run of an entry) looked up by token and searched for. */
static void check_lookup(const md_dump *d, mc_dump_shared *sh, const mc_tok_entry *e)
{
    bool wide = e->flags & MC_TOK_WIDE, colon = e->flags & MC_TOK_COLON;
    size_t u = wide ? 2 : 1, n = e->runlen;
    uint8_t nb[2 * MC_TOK_MAX_RUN + 2];
    const uint8_t *p = md_ptr(d, e->end_va - n * u, n * u);
    if (!p) die("an entry's run is not in the dump");
    memcpy(nb, p, n * u);
    size_t len = n * u;
    if (colon) {
        nb[len++] = ':';
        if (wide) nb[len++] = 0;
    }
    mc_needle nd = {nb, len};
    mc_decode_ctx ctx = {.shared = sh};
    hits_log a = {.nd = &nd, .all_token = !colon, .wide = wide, .filter = true};
    hits_log b = {.nd = &nd, .all_token = !colon, .wide = wide};
    mc_heap_find_many(&ctx, d, &nd, 1, log_hit, &a);
    if (!mc_heap_find_tokens(&ctx, d, &nd, &wide, 1, log_hit, &b)) die("an indexed text is not answered");
    if (a.n != b.n || memcmp(a.va, b.va, a.n * sizeof *a.va)) die("token lookup differs from the search");
}

/* The chunked builds (random cuts, random slots, some chunks left for finish) give the one-pass
 * managed-heap index; the SSE2 and scalar token collectors agree; lookups equal the search. */
static void check_heap_index(const uint8_t *data, size_t size, const md_dump *d)
{
    rng = 0x9e3779b97f4a7c15ull ^ size;
    for (size_t i = 0; i < size && i < 64; i++) rng = (rng ^ data[i]) * 0x100000001b3ull;
    if (!rng) rng = 1;
    mc_dump_shared *one = mc_dump_shared_new(), *chunked = mc_dump_shared_new();
    if (!one || !chunked) die("out of memory");
    mc_decode_ctx ctx = {.shared = one};
    mc_clr_index_stats st;
    mc_clr_index_stats_get(&ctx, d, &st);
    mc_heap_indexer *x = mc_heap_indexer_new(d, 2);
    if (!x) die("out of memory");
    for (size_t r = 0; r < d->nruns; r++) {
        const md_run *run = &d->runs[r];
        for (uint64_t lo = run->va; lo - run->va < run->size;) {
            uint64_t len = next_rand() % 4 ? 256 + next_rand() % 16384 : 1 + next_rand() % 64;
            uint64_t hi = run->va + run->size - lo < len ? run->va + run->size : lo + len;
            unsigned slot = (unsigned)(next_rand() % 2);
            if (next_rand() % 4) mc_heap_indexer_item(x, slot, run, lo, hi);
            else mc_heap_indexer_later(x, slot, run, lo, hi);
            lo = hi;
        }
    }
    mc_heap_indexer_finish(x, chunked, true);
    mc_heap_indexer_free(x);
    if (one->clr && chunked->clr && !mc_clr_index_same(one->clr, chunked->clr))
        die("chunked managed-heap index differs from the one-pass build");
    for (size_t r = 0; r < d->nruns; r++) {
        size_t ri = d->runs[r].first_region;
        mc_heap_span sp;
        while (mc_heap_span_next(d, &d->runs[r], &ri, &sp)) {
            mc_tok_part *a = mc_tok_part_new(1u << 20), *b = mc_tok_part_new(1u << 20);
            if (!a || !b) die("out of memory");
            bool oka = mc_tok_collect(a, &sp, 0, sp.len), okb = mc_tok_collect_scalar(b, &sp, 0, sp.len);
            size_t na, nb;
            const mc_tok_entry *ea = mc_tok_part_entries(a, &na), *eb = mc_tok_part_entries(b, &nb);
            if (oka != okb || na != nb || (na && memcmp(ea, eb, na * sizeof *ea)))
                die("SSE2 and scalar token collectors differ");
            mc_tok_part_free(a);
            mc_tok_part_free(b);
        }
    }
    if (chunked->tok) {
        size_t n;
        const mc_tok_entry *e = mc_tok_index_entries(chunked->tok, &n);
        for (size_t i = 0; i < n && i < 6; i++) check_lookup(d, chunked, &e[(i * 7919) % n]);
    }
    mc_dump_shared_free(one);
    mc_dump_shared_free(chunked);
}

static void open_one(const uint8_t *data, size_t size, const md_open_opts *o)
{
    md_dump *d = NULL;
    char err[256] = "";
    md_err e = md_open_mem(data, size, o, &d, err, sizeof err);
    if (e != MD_OK) {
        if (d || e < MD_E_IO || e > MD_E_ARG || !err[0] || strchr(err, '\n')) {
            fprintf(stderr, "fuzz: bad failure contract: %d '%s'\n", (int)e, err);
            abort();
        }
        return;
    }
    if (FZ_SAMPLE(size & 1))   /* every other input: the check opens the dump twice */
        check_deferred_probe(data, size, o, d);
    if (heap_check_every && FZ_SAMPLE(size % heap_check_every == 0))
        check_heap_index(data, size, d);
    fz_walk_dump(d);
    if (d->nregions > o->max_regions || d->nmodules > o->max_modules) {
        fprintf(stderr, "fuzz: caps not honoured\n");
        abort();
    }
    md_close(d);
}

#if FUZZ_FORMAT == FUZZ_COMPRESSED
/* Mode byte: 0 = the bytes are a gzip member, 1 = a zlib stream (both as given, so the inflater
 * sees hostile headers and streams), 2 = the bytes deflated by us (a valid stream around a
 * hostile container, reaching the inner readers). */
static void fuzz_compressed(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    md_open_opts o = base_opts;
    uint8_t mode = data[0] % 3;
    data++, size--;
    if (mode < 2) {
        static const uint8_t gz[] = {0x1f, 0x8b, 0x08, 0x00}, zl[] = {0x78, 0x9c};
        const uint8_t *h = mode == 0 ? gz : zl;
        size_t hl = mode == 0 ? sizeof gz : sizeof zl;
        uint8_t *buf = malloc(hl + size);
        if (!buf)
            return;
        memcpy(buf, h, hl);
        memcpy(buf + hl, data, size);
        open_one(buf, hl + size, &o);
        free(buf);
        return;
    }
    uLongf zlen = compressBound((uLong)size);
    uint8_t *z = malloc(zlen);
    if (z && compress2(z, &zlen, data, (uLong)size, 1) == Z_OK)
        open_one(z, zlen, &o);
    free(z);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if FUZZ_FORMAT == FUZZ_COMPRESSED
    fuzz_compressed(data, size);
#else
    md_open_opts o = base_opts;
    o.force_format = (md_format)FUZZ_FORMAT;
    if (FUZZ_FORMAT == MD_FMT_RAW || FUZZ_FORMAT == MD_FMT_PE) {
        o.raw_base = FZ_BASE;
        o.has_raw_base = size & 1;
    }
    open_one(data, size, &o);
#endif
    return 0;
}
