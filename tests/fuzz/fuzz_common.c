/* Helpers shared by the harnesses (see fuzz_common.h). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>

volatile uint64_t fz_sink;

static void fz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz: dump model invariant broken: %s\n", what);
        abort();
    }
}

static void walk_regions(const md_dump *d)
{
    uint64_t total = 0;
    for (size_t i = 0; i < d->nregions; i++) {
        const md_region *r = &d->regions[i];
        fz_check(r->off <= d->len && r->size <= d->len - r->off, "region inside the buffer");
        fz_check(r->size == 0 || r->va + (r->size - 1) >= r->va, "region does not wrap");
        if (i)
            fz_check(d->regions[i - 1].va + d->regions[i - 1].size <= r->va ||
                         d->regions[i - 1].size == 0, "regions sorted and disjoint");
        fz_check(r->module < 0 || (size_t)r->module < d->nmodules, "region module index");
        total += r->size;
        /* Touch the first and last byte through the public readers. */
        uint8_t b = 0;
        if (r->size) {
            fz_check(md_read_u8(d, r->va, &b), "first byte of a region readable");
            fz_sink += b;
            fz_check(md_read_u8(d, r->va + r->size - 1, &b), "last byte of a region readable");
            fz_sink += b;
            fz_sink += md_avail(d, r->va);
            const md_region *at = md_region_at(d, r->va);
            fz_check(at == r, "md_region_at finds the region");
        }
        char s[64];
        fz_sink += (uint64_t)md_read_cstr(d, r->va, s, sizeof s);
        fz_sink += (uint64_t)md_read_wstr_utf8(d, r->va, s, sizeof s);
        uint64_t v = 0;
        fz_sink += md_read_u64(d, r->va + r->size - 4, &v) + v;
        fz_sink += md_read_ptr(d, r->va, 4, &v) + v;
    }
    fz_check(total == d->bytes, "bytes is the sum of region sizes");
}

static void walk_runs(const md_dump *d)
{
    for (size_t i = 0; i < d->nruns; i++) {
        const md_run *r = &d->runs[i];
        fz_check(r->off <= d->len && r->size <= d->len - r->off, "run inside the buffer");
        fz_check(r->first_region <= d->nregions &&
                     r->nregions <= d->nregions - r->first_region, "run region span");
        const uint8_t *p = md_ptr(d, r->va, r->size);
        fz_check(!r->size || p == d->buf + r->off, "md_ptr of a whole run");
        fz_sink += md_run_at(d, r->va) != NULL;
    }
}

static void walk_images(const md_dump *d)
{
    for (size_t i = 0; i < d->nmodules; i++)
        fz_check(d->modules[i].path != NULL, "module path never NULL");
    for (size_t i = 0; i < d->nimages; i++) {
        const md_image *img = &d->images[i];
        fz_check(img->module < 0 || (size_t)img->module < d->nmodules, "image module index");
        uint64_t va = 0;
        for (uint32_t rva = 0; rva < 0x3000; rva += 0x800)
            fz_sink += md_image_rva_to_va(d, img, rva, &va) + va;
        fz_sink += md_image_at(d, img->base) != NULL;
        for (int mode = 0; mode < 2; mode++) {
            uint8_t *out = NULL;
            size_t outlen = 0;
            if (md_image_rebuild(d, img, mode, 1u << 20, &out, &outlen) == MD_OK) {
                fz_check(outlen <= (1u << 20), "rebuild honours its cap");
                if (outlen)
                    fz_sink += out[outlen - 1];
            }
            free(out);
        }
    }
    for (size_t i = 0; i < d->nwarnings; i++)
        fz_check(d->warnings[i].msg != NULL, "warning message");
}

void fz_walk_dump(const md_dump *d)
{
    walk_regions(d);
    walk_runs(d);
    walk_images(d);
    uint64_t off = 0, va = 0;
    if (d->nregions) {
        fz_sink += md_va_to_off(d, d->regions[0].va, &off) + off;
        fz_sink += md_off_to_va(d, off, &va) + va;
    }
}

md_dump *fz_raw_dump(const uint8_t *data, size_t size)
{
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = FZ_BASE, .has_raw_base = true};
    md_dump *d = NULL;
    char err[256];
    if (md_open_mem(data, size, &o, &d, err, sizeof err) != MD_OK) {
        fprintf(stderr, "fuzz: raw open failed: %s\n", err);
        abort();
    }
    return d;
}
