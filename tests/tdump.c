#include "tdump.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *td_load(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/dotnet/%s", name);
    uint8_t *p = tu_read_file(tu_src(rel), len);
    ck_assert_msg(p != NULL, "missing fixture %s", rel);
    return p;
}

void td_put_strings(fx_buf *out, unsigned ptr_size, uint64_t mt, const char *filler,
                    const char *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (filler) fx_put_clr_string(out, ptr_size, mt, filler);
        fx_put_clr_string(out, ptr_size, mt, s[i]);
    }
}

static void native_dll(uint64_t image_base, fx_buf *out)
{
    static const char text[] = "KERNELBASE.dll\0GetProcAddress\0This program cannot be run";
    fx_section s = {.name = ".text", .rva = 0x1000, .data = (const uint8_t *)text,
                    .data_len = sizeof text, .characteristics = 0x60000020u};
    fx_pe pe = {.pe64 = true, .dll = true, .image_base = image_base, .entry_rva = 0x1000,
                .sections = &s, .nsections = 1};
    fx_pe_build(&pe, true, out);
}

void td_build(const td_layout *lay, const td_spec *sp, td_dump *d)
{
    td_build_ex(lay, sp, NULL, d);
}

void td_build_ex(const td_layout *lay, const td_spec *sp, const td_extra *ex, td_dump *d)
{
    static const td_extra none;
    fx_buf *out = &d->raw;
    unsigned ps = lay->ptr_size ? lay->ptr_size : 8;
    uint64_t mt = lay->mt ? lay->mt : TD_MT;
    size_t before = lay->dll ? TD_DLL_OFF : TD_IMG_OFF;
    if (!ex) ex = &none;
    d->lay = lay;
    d->mapped = sp->mapped;
    fx_buf_init(out);

    /* before the sample: noise, prose and UTF-16 words, the DLL */
    fx_put_zeros(out, TD_IMG_OFF);
    ck_assert_uint_le(lay->noise_len, before);
    fx_fill_noise(out->p, lay->noise_len, lay->noise_seed);
    if (lay->prose && !lay->prose_gap) {
        size_t at = lay->noise_len, n = strlen(lay->prose) + 1;
        ck_assert_uint_le(at + n, before);
        memcpy(out->p + at, lay->prose, n);
        if (lay->utf16) {
            at += n + 16;
            ck_assert_uint_le(at + 2 * strlen(lay->utf16), before);
            for (const char *p = lay->utf16; *p; p++, at += 2) {
                out->p[at] = (uint8_t)*p;
                out->p[at + 1] = 0;
            }
        }
    }
    if (lay->dll) {
        fx_buf dll;
        fx_buf_init(&dll);
        native_dll(lay->base + TD_DLL_OFF, &dll);
        ck_assert_uint_le(dll.len, TD_IMG_OFF - TD_DLL_OFF);
        memcpy(out->p + TD_DLL_OFF, dll.p, dll.len);
        fx_buf_free(&dll);
    }

    /* the sample */
    const uint8_t *img = ex->img;
    size_t img_len = ex->img_len;
    uint8_t *loaded = NULL;
    if (!img && sp->fixture) img = loaded = td_load(sp->fixture, &img_len);
    if (!img) fx_put_zeros(out, 0x4000);
    else if (sp->mapped) fx_pe_map(img, img_len, out);
    else fx_put(out, img, img_len);
    free(loaded);
    fx_align(out, 0x1000);

    /* the heap */
    d->heap_off = out->len;
    if (lay->heap_noise) {
        fx_put_zeros(out, lay->heap_noise);
        fx_fill_noise(out->p + d->heap_off, lay->heap_noise, lay->heap_noise_seed);
    }
    td_put_strings(out, ps, mt, lay->filler, sp->heap, sp->nheap);
    if (ex->heap_more) ex->heap_more(out, lay, ex->arg);
    fx_put_zeros(out, lay->heap_tail);
    if (lay->prose && lay->prose_gap) {
        fx_put_zeros(out, lay->prose_gap);
        fx_put(out, lay->prose, strlen(lay->prose) + 1);
    }
    fx_align(out, 0x1000);
}

void td_free(td_dump *d)
{
    fx_buf_free(&d->raw);
}

const char *const td_kind_names[TD__KINDS] = {"raw", "minidump", "cuckoo", "elfcore", "gzip"};

void td_process(const td_dump *d, td_proc *p)
{
    const uint8_t *raw = d->raw.p;
    uint64_t base = d->lay->base;
    size_t heap = d->heap_off;
    ck_assert(d->lay->dll);
    memset(p, 0, sizeof *p);
    p->regs[0] = (fx_region){.va = base, .data = raw, .size = TD_DLL_OFF};
    p->regs[1] = (fx_region){.va = base + TD_DLL_OFF, .data = raw + TD_DLL_OFF, .size = TD_IMG_OFF - TD_DLL_OFF,
                             .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE};
    p->regs[2] = (fx_region){.va = base + TD_IMG_OFF, .data = raw + TD_IMG_OFF, .size = heap - TD_IMG_OFF,
                             .protect = d->mapped ? MD_PAGE_EXECUTE_READ : MD_PAGE_READWRITE,
                             .type = d->mapped ? MD_MEM_IMAGE : MD_MEM_PRIVATE};
    p->regs[3] = (fx_region){.va = base + heap, .data = raw + heap, .size = d->raw.len - heap};
    p->mods[0] = (fx_module){base + TD_DLL_OFF, TD_IMG_OFF - TD_DLL_OFF, "C:\\Windows\\System32\\sysdll.dll"};
    p->mods[1] = (fx_module){base + TD_IMG_OFF, (uint32_t)(heap - TD_IMG_OFF), d->lay->module_path};
    p->proc = (fx_process){.pid = d->lay->pid, .arch = MD_ARCH_AMD64, .regions = p->regs, .nregions = 4,
                           .modules = p->mods, .nmodules = d->mapped ? 2 : 1};
}

void td_container(const td_dump *d, int kind, fx_buf *out)
{
    if (kind == TD_RAW) {
        fx_buf_init(out);
        fx_put(out, d->raw.p, d->raw.len);
        return;
    }
    static const tu_container tu_kind[TD__KINDS] = {
        [TD_MINIDUMP] = TU_MINIDUMP, [TD_CUCKOO] = TU_CUCKOO, [TD_ELFCORE] = TU_ELFCORE, [TD_GZIP] = TU_GZIP};
    td_proc p;
    td_process(d, &p);
    tu_write_container(&p.proc, tu_kind[kind], out);
}

void td_scan(const td_dump *d, int kind, const char *const *families, size_t nfamilies, tu_run *r)
{
    if (kind == TD_RAW) {
        md_open_opts o = tu_raw_opts(d->lay->base);
        tu_engine_run_families(families, nfamilies, &d->raw, &o, r);
        return;
    }
    fx_buf b;
    td_container(d, kind, &b);
    tu_engine_run_families(families, nfamilies, &b, NULL, r);
    fx_buf_free(&b);
}

size_t td_mark_hits(const td_mark *marks, size_t nmarks, const uint8_t *p, size_t len, uint64_t va,
                    const char *rule, const char *ns, const char *family, mc_hit *hits, size_t n,
                    size_t max)
{
    for (size_t k = 0; k < nmarks; k++) {
        const uint8_t *at = p, *end = p + len;
        while (n < max && (at = memmem(at, (size_t)(end - at), marks[k].pat, marks[k].len)) != NULL) {
            hits[n++] = (mc_hit){.va = va + (uint64_t)(at - p), .len = (uint32_t)marks[k].len, .rule = rule,
                                 .ns = ns, .string_id = marks[k].id, .family = family};
            at++;
        }
    }
    return n;
}

mc_dump_shared *td_heap_index(const md_dump *d)
{
    mc_heap_indexer *x = mc_heap_indexer_new(d, 1);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < d->nruns; i++)
        mc_heap_indexer_item(x, 0, &d->runs[i], d->runs[i].va, d->runs[i].va + d->runs[i].size);
    mc_dump_shared *sh = mc_dump_shared_new();
    ck_assert_ptr_nonnull(sh);
    mc_heap_indexer_finish(x, sh, true);
    mc_heap_indexer_free(x);
    return sh;
}

char *td_results_text(const mc_results *r)
{
    json_t *all = json_array();
    for (size_t i = 0; i < mc_results_count(r); i++) {
        mc_config *c = mc_results_get(r, i);
        json_array_append_new(all, json_pack("{sOsOsisi}", "config", mc_cfg_json(c), "provenance",
                                             mc_cfg_provenance(c), "status", (int)mc_cfg_get_status(c),
                                             "confidence", mc_cfg_get_confidence(c)));
    }
    char *t = json_dumps(all, JSON_SORT_KEYS);
    json_decref(all);
    ck_assert_ptr_nonnull(t);
    return t;
}
