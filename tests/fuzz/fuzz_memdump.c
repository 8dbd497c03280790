/* Container readers through md_open_mem. FUZZ_FORMAT picks the reader at build time (one binary
 * per reader, so each gets its own corpus): a forced format, MD_FMT_UNKNOWN for the sniffer, or
 * FUZZ_COMPRESSED for the gzip/zlib path. A dump that opens is walked with every bounded reader;
 * one that fails must fail with a typed error and a one-line message. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FUZZ_COMPRESSED (-1)
#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT MD_FMT_UNKNOWN
#endif

/* Small caps keep each execution fast; the defaults are tested by the unit tests. Every module
 * costs a name decode of up to MD_MAX_STRING UTF-16 units (hostile lists point all their modules
 * at one long string), and those decodes were 50-70% of the minidump, sniff and compressed
 * harnesses' time with 256 modules; 32 still takes the cap path (a 32 KiB input holds ~300
 * MINIDUMP_MODULE entries) and halves the decoding on the grown corpus. */
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
    if (size & 1)   /* every other input: the check opens the dump twice */
        check_deferred_probe(data, size, o, d);
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
