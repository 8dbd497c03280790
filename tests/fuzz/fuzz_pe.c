/* The PE reader for images in dumps (decoders/lib/mc_pe.h), resources included. The input is a
 * raw region at FZ_BASE opened in both layouts; every section, conversion and resource leaf is
 * visited, then mc_pe_res_find runs for each lookup the walk showed a candidate leaf for. (A
 * lookup without one is a second identical traversal that cannot match: hostile resource trees
 * reach tens of thousands of entries, and those repeats were 60% of this harness's time.) */
#include "fuzz_common.h"
#include "lib/mc_pe.h"

#include <stdlib.h>
#include <string.h>

typedef struct res_walk {
    const mc_pe *pe;
    unsigned n;
    bool rcdata_named;        /* a leaf of type id RT_RCDATA with a named name */
    bool named_type;          /* a leaf with a named type */
} res_walk;

static bool on_res(const mc_pe_res *r, void *arg)
{
    res_walk *w = arg;
    w->rcdata_named |= !r->type.named && r->type.id == MC_RT_RCDATA && r->name.named;
    w->named_type |= r->type.named;
    fz_sink += r->size + r->va + strlen(r->type.name) + strlen(r->name.name);
    uint8_t b = 0;
    if (r->size)
        fz_sink += md_read_u8(w->pe->dump, r->va, &b) + b;
    return ++w->n < 100000;
}

static void walk_pe(const mc_pe *pe)
{
    uint64_t va = 0, size = 0;
    uint32_t rva = 0;
    for (uint32_t i = 0; i < pe->nsections; i++) {
        const mc_pe_section *s = &pe->sect[i];
        fz_sink += mc_pe_section_span(pe, s, &va, &size) + va + size;
        fz_sink += mc_pe_rva_to_va(pe, s->rva, &va) + va;
        fz_sink += mc_pe_va_to_rva(pe, va, &rva) + rva;
        fz_sink += mc_pe_section_at_rva(pe, s->rva) != NULL;
        fz_sink += mc_pe_section_by_name(pe, s->name) != NULL;
    }
    fz_sink += mc_pe_rva_to_va(pe, pe->entry_rva, &va) + va;
    fz_sink += mc_pe_ptr_to_va(pe, pe->image_base + pe->entry_rva, &va) + va;
    res_walk w = {.pe = pe};
    mc_pe_res_stats st = {0};
    fz_sink += mc_pe_res_walk(pe, on_res, &w, &st) + st.dirs + st.leaves + st.cycle;
    mc_pe_res r;
    if (w.rcdata_named)
        fz_sink += mc_pe_res_find(pe, MC_RT_RCDATA, NULL, 0, "SETTINGS", &r);
    if (w.named_type)
        fz_sink += mc_pe_res_find(pe, 0, "RCDATA", 0, NULL, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    md_dump *d = fz_raw_dump(data, size);
    for (int layout = MD_LAYOUT_MAPPED; layout <= MD_LAYOUT_FLAT; layout++) {
        mc_pe pe;
        if (mc_pe_open_at(&pe, d, FZ_BASE, (md_layout)layout))
            walk_pe(&pe);
    }
    /* mc_pe_open(img) is mc_pe_open_at(img->base, img->layout): an image at FZ_BASE was walked
     * above in both layouts. */
    for (size_t i = 0; i < d->nimages; i++) {
        mc_pe pe;
        if (d->images[i].base != FZ_BASE && mc_pe_open(&pe, d, &d->images[i]))
            walk_pe(&pe);
    }
    md_close(d);
    return 0;
}
