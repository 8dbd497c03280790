/* The PE reader for images in dumps (decoders/lib/mc_pe.h), resources included. The input is a
 * raw region at FZ_BASE opened in both layouts; every section, conversion and resource leaf is
 * visited. mc_pe_res_find is then checked against the walk: it is the same traversal stopped at
 * the first leaf its keys match, so each lookup the walk saw a match for must find exactly that
 * leaf, and a lookup the walk saw no match for must find nothing. The lookup always runs when
 * the walk found a match (it stops there); without one it runs only for walks of at most
 * FZ_FULL_FIND entries: a miss is a second complete traversal (up to MC_PE_RES_MAX_WALK = 65536
 * entries of a hostile tree) that reads nothing the walk did not; the lookups were 28% of this
 * harness's time on the grown corpus. Every sixteenth input walks once more with
 * mc_pe_res_direct = false, and the walk must be the same leaf for leaf. In the mapped layout
 * each section's RVA and the entry point that map to a VA must map back. */
#include "fuzz_common.h"
#include "lib/mc_pe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FZ_FULL_FIND 512u

/* The two lookups the decoders make (mc_pe_res_find arguments). */
typedef struct fz_find {
    uint32_t type_id;
    const char *type_name;
    const char *name;
} fz_find;
static const fz_find finds[2] = {{MC_RT_RCDATA, NULL, "SETTINGS"}, {0, "RCDATA", NULL}};

typedef struct res_walk {
    const mc_pe *pe;
    unsigned n;
    uint64_t h;               /* FNV-1a of every leaf, in order */
    bool seen[2];             /* finds[i] matched a leaf; first[i] is the first one */
    mc_pe_res first[2];
} res_walk;

/* The documented matching rule of mc_pe_res_find (ASCII case-insensitive names; id 0 with no
 * name matches anything), written out independently of the library's. */
static bool key_is(const mc_res_key *k, uint32_t id, const char *name)
{
    if (name)
        return k->named && strcasecmp(k->name, name) == 0;
    return id == 0 || (!k->named && k->id == id);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t key_hash(uint64_t h, const mc_res_key *k)
{
    return k->named ? fnv(h, k->name, strlen(k->name) + 1) : fnv(h, &k->id, sizeof k->id);
}

static bool on_res(const mc_pe_res *r, void *arg)
{
    res_walk *w = arg;
    w->h = key_hash(key_hash(w->h, &r->type), &r->name);
    w->h = fnv(fnv(fnv(fnv(w->h, &r->lang, 4), &r->data_rva, 4), &r->size, 4), &r->va, 8);
    for (int i = 0; i < 2; i++)
        if (!w->seen[i] && key_is(&r->type, finds[i].type_id, finds[i].type_name) &&
            key_is(&r->name, 0, finds[i].name)) {
            w->seen[i] = true;
            w->first[i] = *r;
        }
    fz_sink += r->size + r->va + strlen(r->type.name) + strlen(r->name.name);
    uint8_t b = 0;
    if (r->size)
        fz_sink += md_read_u8(w->pe->dump, r->va, &b) + b;
    return ++w->n < 100000;
}

static bool same_key(const mc_res_key *a, const mc_res_key *b)
{
    return a->named == b->named && (a->named ? strcmp(a->name, b->name) == 0 : a->id == b->id);
}

static void check_find(const mc_pe *pe, const res_walk *w, const mc_pe_res_stats *st)
{
    for (int i = 0; i < 2; i++) {
        if (!w->seen[i] && st->entries > FZ_FULL_FIND)
            continue;
        mc_pe_res r;
        memset(&r, 0, sizeof r);
        bool found = mc_pe_res_find(pe, finds[i].type_id, finds[i].type_name, 0, finds[i].name, &r);
        const mc_pe_res *f = &w->first[i];
        if (found != w->seen[i] ||
            (found && !(same_key(&r.type, &f->type) && same_key(&r.name, &f->name) &&
                        r.lang == f->lang && r.data_rva == f->data_rva && r.size == f->size &&
                        r.va == f->va))) {
            fprintf(stderr, "fuzz: mc_pe_res_find #%d disagrees with the walk (found %d, walk %d)\n",
                    i, found, w->seen[i]);
            abort();
        }
        fz_sink += r.size;
    }
}

static bool exact_too;   /* this input: walk once more without direct reads and compare */

/* A mapped image is one linear map: an RVA that maps must map back to itself. */
static void check_roundtrip(const mc_pe *pe, uint32_t rva)
{
    uint64_t va = 0;
    uint32_t back = 0;
    if (pe->layout != MD_LAYOUT_MAPPED || !mc_pe_rva_to_va(pe, rva, &va))
        return;
    if (!mc_pe_va_to_rva(pe, va, &back) || back != rva) {
        fprintf(stderr, "fuzz: RVA %#x maps to VA %#llx, which does not map back\n", rva,
                (unsigned long long)va);
        abort();
    }
}

static void walk_pe(const mc_pe *pe)
{
    uint64_t va = 0, size = 0;
    uint32_t rva = 0;
    for (uint32_t i = 0; i < pe->nsections; i++) {
        const mc_pe_section *s = &pe->sect[i];
        check_roundtrip(pe, s->rva);
        fz_sink += mc_pe_section_span(pe, s, &va, &size) + va + size;
        fz_sink += mc_pe_rva_to_va(pe, s->rva, &va) + va;
        fz_sink += mc_pe_va_to_rva(pe, va, &rva) + rva;
        fz_sink += mc_pe_section_at_rva(pe, s->rva) != NULL;
        fz_sink += mc_pe_section_by_name(pe, s->name) != NULL;
    }
    check_roundtrip(pe, pe->entry_rva);
    fz_sink += mc_pe_rva_to_va(pe, pe->entry_rva, &va) + va;
    fz_sink += mc_pe_ptr_to_va(pe, pe->image_base + pe->entry_rva, &va) + va;
    res_walk w = {.pe = pe, .h = 0xcbf29ce484222325ull};
    mc_pe_res_stats st = {0};
    bool ok = mc_pe_res_walk(pe, on_res, &w, &st);
    fz_sink += ok + st.dirs + st.leaves + st.cycle;
    check_find(pe, &w, &st);
    if (exact_too) {   /* the walk's direct reads against reads through mc_pe_rva_to_va */
        res_walk x = {.pe = pe, .h = 0xcbf29ce484222325ull};
        mc_pe_res_stats sx = {0};
        mc_pe_res_direct = false;
        bool okx = mc_pe_res_walk(pe, on_res, &x, &sx);
        mc_pe_res_direct = true;
        if (okx != ok || x.n != w.n || x.h != w.h || !mc_pe_res_stats_eq(&sx, &st)) {
            fprintf(stderr,
                    "fuzz: the resource walk differs with direct reads: ok %d/%d, leaves %u/%u, "
                    "hash %d, dirs %u/%u, entries %u/%u, cycle %d/%d, capped %d/%d, bad %d/%d\n",
                    ok, okx, w.n, x.n, w.h == x.h, st.dirs, sx.dirs, st.entries, sx.entries,
                    st.cycle, sx.cycle, st.capped, sx.capped, st.bad, sx.bad);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    md_dump *d = fz_raw_dump(data, size);
    exact_too = FZ_SAMPLE(size % 16 == 0);
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
