/* PE images inside a dump: bounded header parsing, the finder (module list, MEM_IMAGE regions,
 * and a header scan for injected or manually mapped images), RVA translation, and rebuilding an
 * image into one buffer for consumers that need it whole. */
#include "md_core.h"

#include <stdlib.h>
#include <string.h>

enum {
    HDR_READ = 0x2000,        /* enough for e_lfanew < 0x1000 plus 96 section headers */
    MAX_IMAGES = 4096,
    PAGE = 0x1000,
    SCAN_WINDOW = 16u << 20,  /* release scanned pages of file mappings this often */
    DEFAULT_REBUILD_CAP = 512u << 20,
};

static bool machine_ok(uint16_t m)
{
    return m == 0x14c || m == 0x8664 || m == 0xaa64 || m == 0x1c0 || m == 0x1c4;
}

static bool parse_sections(const uint8_t *buf, uint64_t len, md_pe_hdr *h, uint32_t salign)
{
    uint64_t table = h->section_table_off;
    if (!md_span_ok(table, (uint64_t)h->nsections * 40, len)) return false;
    /* The loader rounds SizeOfImage up to the section alignment; so do we. */
    uint64_t a = salign < 0x10000 ? salign : 0x10000;
    uint64_t limit = (h->size_of_image + a - 1) / a * a;
    for (unsigned i = 0; i < h->nsections; i++) {
        const uint8_t *s = buf + table + 40u * i;
        md_pe_section *o = &h->sect[i];
        o->vsize = md_le32(s + 8);
        o->va = md_le32(s + 12);
        o->raw_size = md_le32(s + 16);
        o->raw_off = md_le32(s + 20);
        o->characteristics = md_le32(s + 36);
        uint64_t vext = o->vsize > o->raw_size ? o->vsize : o->raw_size;
        /* A section past SizeOfImage or before the headers end is a lie the loader rejects too. */
        if (o->va < h->size_of_headers || o->va >= h->size_of_image || (uint64_t)o->va + vext > limit)
            return false;
        if ((uint64_t)o->raw_off + o->raw_size > UINT32_MAX) return false;
    }
    return true;
}

bool md_pe_parse(const uint8_t *buf, uint64_t len, md_pe_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (!buf || len < 0x40 || buf[0] != 'M' || buf[1] != 'Z') return false;
    uint32_t lfa = md_le32(buf + 0x3c);
    if (lfa < 0x40 || lfa >= PAGE || !md_span_ok(lfa, 24, len)) return false;
    if (memcmp(buf + lfa, "PE\0\0", 4) != 0) return false;
    const uint8_t *fh = buf + lfa + 4;
    h->e_lfanew = lfa;
    h->machine = md_le16(fh);
    h->nsections = md_le16(fh + 2);
    uint16_t optsz = md_le16(fh + 16), chars = md_le16(fh + 18);
    if (!machine_ok(h->machine) || h->nsections > 96) return false;
    uint64_t opt = (uint64_t)lfa + 24;
    if (optsz < 96 || !md_span_ok(opt, optsz, len)) return false;
    const uint8_t *o = buf + opt;
    uint16_t magic = md_le16(o);
    if (magic != 0x10b && magic != 0x20b) return false;
    h->pe64 = magic == 0x20b;
    h->dll = chars & 0x2000;
    h->image_base = h->pe64 ? md_le64(o + 24) : md_le32(o + 28);
    uint32_t salign = md_le32(o + 32), falign = md_le32(o + 36);
    h->size_of_image = md_le32(o + 56);
    h->size_of_headers = md_le32(o + 60);
    if (salign == 0 || falign == 0 || h->size_of_image == 0 || h->size_of_headers == 0 ||
        h->size_of_headers > h->size_of_image)
        return false;
    uint32_t dir_off = h->pe64 ? 112 : 96;
    if (optsz < dir_off) return false;
    uint32_t ndirs = md_le32(o + dir_off - 4);
    if (ndirs > 14 && (uint64_t)dir_off + 15 * 8 <= optsz)
        h->dotnet = md_le32(o + dir_off + 14 * 8) != 0 && md_le32(o + dir_off + 14 * 8 + 4) != 0;
    h->section_table_off = (uint32_t)(opt + optsz);
    return parse_sections(buf, len, h, salign);
}

/* Section data tends to start right after zero padding: the previous dword is 0, the first is
 * not. True when that pattern holds at offset at. */
static bool looks_like_boundary(const uint8_t *buf, uint64_t len, uint64_t at)
{
    if (at < 4 || !md_span_ok(at, 4, len)) return false;
    return md_le32(buf + at - 4) == 0 && md_le32(buf + at) != 0;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

md_layout md_pe_guess_layout(const uint8_t *buf, uint64_t len, const md_pe_hdr *h, md_layout dflt)
{
    int mapped = 0, flat = 0;
    for (unsigned i = 0; i < h->nsections; i++) {
        const md_pe_section *s = &h->sect[i];
        if (s->raw_size == 0 || s->raw_off == s->va) continue;
        bool at_va = looks_like_boundary(buf, len, s->va);
        bool at_raw = looks_like_boundary(buf, len, s->raw_off);
        mapped += at_va && !at_raw;
        flat += at_raw && !at_va;
        /* Where the file layout puts data, the loaded layout of an early section has padding. */
        uint64_t probe = s->raw_size < 64 ? s->raw_size : 64;
        if (s->raw_off < s->va && md_span_ok(s->raw_off, probe, len) && md_span_ok(s->va, probe, len)) {
            bool raw_zero = all_zero(buf + s->raw_off, probe), va_zero = all_zero(buf + s->va, probe);
            mapped += raw_zero && !va_zero;
            flat += va_zero && !raw_zero;
        }
    }
    if (mapped != flat) return mapped > flat ? MD_LAYOUT_MAPPED : MD_LAYOUT_FLAT;
    return dflt;
}

/* ---------------------------------------------------------------- finder */

typedef struct finder {
    md_dump *d;
    md_image *imgs;
    size_t n, cap;
    bool capped;
} finder;

static uint64_t flat_extent(const md_pe_hdr *h)
{
    uint64_t end = h->size_of_headers;
    for (unsigned i = 0; i < h->nsections; i++) {
        uint64_t e = (uint64_t)h->sect[i].raw_off + h->sect[i].raw_size;
        if (h->sect[i].raw_size && e > end) end = e;
    }
    return end;
}

static bool known(const finder *f, uint64_t va)
{
    for (size_t i = 0; i < f->n; i++)
        if (va - f->imgs[i].base < f->imgs[i].size || va == f->imgs[i].base) return true;
    return false;
}

/* Read the headers at va (as much of HDR_READ as is present) and parse them. */
static bool read_hdr(const md_dump *d, uint64_t va, md_pe_hdr *h, uint8_t *tmp, uint64_t *got)
{
    uint16_t mz;
    if (!md_read_u16(d, va, &mz) || mz != 0x5a4d) return false;
    *got = md_read(d, va, tmp, HDR_READ);
    return md_pe_parse(tmp, *got, h);
}

static md_err add_image(finder *f, uint64_t va, const md_pe_hdr *h, md_layout layout, int32_t module)
{
    if (f->n >= MAX_IMAGES) {
        if (!f->capped) {
            f->capped = true;
            return md_dump_warn(f->d, MD_W_LIMIT, "more than %d PE images; the rest are ignored",
                                MAX_IMAGES);
        }
        return MD_OK;
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        md_image *p = realloc(f->imgs, ncap * sizeof *p);
        if (!p) return MD_E_NOMEM;
        f->imgs = p;
        f->cap = ncap;
    }
    md_image *im = &f->imgs[f->n++];
    *im = (md_image){ .base = va, .image_base = h ? h->image_base : 0, .layout = layout,
                      .module = module };
    if (h) {
        im->size = layout == MD_LAYOUT_MAPPED ? h->size_of_image : flat_extent(h);
        im->machine = h->machine;
        im->flags = (h->dotnet ? MD_IMG_DOTNET : 0) | (h->dll ? MD_IMG_DLL : 0) |
                    (h->pe64 ? MD_IMG_PE64 : 0);
    } else {
        im->size = f->d->modules[module].size;
        im->flags = MD_IMG_NO_HEADER;
    }
    return MD_OK;
}

static md_err from_modules(finder *f, uint8_t *tmp)
{
    for (size_t i = 0; i < f->d->nmodules; i++) {
        const md_module *m = &f->d->modules[i];
        md_pe_hdr h;
        uint64_t got;
        if (known(f, m->base)) continue;
        md_err e = MD_OK;
        if (read_hdr(f->d, m->base, &h, tmp, &got))
            e = add_image(f, m->base, &h, MD_LAYOUT_MAPPED, (int32_t)i);
        else if (m->size && md_region_at(f->d, m->base))
            e = add_image(f, m->base, NULL, MD_LAYOUT_MAPPED, (int32_t)i);
        if (e) return e;
    }
    return MD_OK;
}

static md_err from_image_regions(finder *f, uint8_t *tmp)
{
    for (size_t i = 0; i < f->d->nregions; i++) {
        const md_region *r = &f->d->regions[i];
        if (r->type != MD_MEM_IMAGE) continue;
        uint64_t base = r->alloc_base ? r->alloc_base : r->va;
        md_pe_hdr h;
        uint64_t got;
        bool hdr = !known(f, base) && read_hdr(f->d, base, &h, tmp, &got);
        md_release_around(f->d, r->off);
        if (!hdr) continue;
        md_err e = add_image(f, base, &h, MD_LAYOUT_MAPPED, -1);
        if (e) return e;
    }
    return MD_OK;
}

static md_err probe(finder *f, uint64_t va, uint8_t *tmp)
{
    md_pe_hdr h;
    uint64_t got;
    if (known(f, va) || !read_hdr(f->d, va, &h, tmp, &got)) return MD_OK;
    /* Without loader evidence the bytes decide; an image read from a dump is loaded by default. */
    md_layout layout = md_pe_guess_layout(tmp, got, &h, MD_LAYOUT_MAPPED);
    if (layout == MD_LAYOUT_MAPPED) {
        /* The finder read only the headers; look at the section starts in the dump itself. */
        uint64_t avail = md_avail(f->d, va);
        const uint8_t *p = md_ptr(f->d, va, avail);
        if (p) layout = md_pe_guess_layout(p, avail, &h, MD_LAYOUT_MAPPED);
    }
    return add_image(f, va, &h, layout, -1);
}

/* Header scan at every page start of regions no image claims: injected and manually mapped PEs
 * are not in any module list. */
static md_err scan_region(finder *f, const md_region *r, uint8_t *tmp)
{
    md_dump *d = f->d;
    md_err e = probe(f, r->va, tmp);
    uint64_t released = r->off, data = 0, data_end = 0;
    for (uint64_t rel = (PAGE - (r->va & (PAGE - 1))) & (PAGE - 1); e == MD_OK && rel < r->size;
         rel += PAGE) {
        uint64_t off = r->off + rel;
        if (off >= data_end) {
            md_data_extent(d, off, &data, &data_end);
            if (data >= r->off + r->size) break;
        }
        if (off < data) {
            /* In a hole of a sparse file: go on at the first page start holding data (the loop
             * adds PAGE back; unsigned wrap-around is intended). */
            uint64_t t = data - r->off;
            rel = t + ((PAGE - ((r->va + t) & (PAGE - 1))) & (PAGE - 1)) - PAGE;
            continue;
        }
        if (rel != 0 && d->buf[off] == 'M') e = probe(f, r->va + rel, tmp);
        if (off - released >= SCAN_WINDOW) {
            md_release(d, released, off - released);
            released = off;
        }
    }
    /* The tail too: most regions are smaller than one window. */
    if (r->off + r->size > released) md_release(d, released, r->off + r->size - released);
    return e;
}

/* from_scan with the page starts holding 'M' given (ascending), as a pass that read every page
 * collected them: the same probes in the same order, without reading every page again. */
static md_err from_list(finder *f, const uint64_t *va, size_t n, uint8_t *tmp)
{
    size_t k = 0;
    for (size_t i = 0; i < f->d->nregions; i++) {
        const md_region *r = &f->d->regions[i];
        if (r->type == MD_MEM_IMAGE && known(f, r->va)) continue;
        md_err e = probe(f, r->va, tmp);
        md_release_around(f->d, r->off);
        while (k < n && va[k] <= r->va) k++;
        for (; e == MD_OK && k < n && va[k] - r->va < r->size; k++) {
            uint64_t off = r->off + (va[k] - r->va);
            e = probe(f, va[k], tmp);
            md_release_around(f->d, off);
        }
        if (e) return e;
    }
    return MD_OK;
}

static md_err from_scan(finder *f, uint8_t *tmp)
{
    for (size_t i = 0; i < f->d->nregions; i++) {
        const md_region *r = &f->d->regions[i];
        if (r->type == MD_MEM_IMAGE && known(f, r->va)) continue;
        md_err e = scan_region(f, r, tmp);
        if (e) return e;
    }
    return MD_OK;
}

static int cmp_image(const void *a, const void *b)
{
    const md_image *x = a, *y = b;
    return (x->base > y->base) - (x->base < y->base);
}

/* The finder starts from the images already found (none, or those of an open that left the
 * probe for later): the probe's "known" checks then see exactly what a one-pass find sees. */
static md_err find(md_dump *d, bool loader, bool probe, const uint64_t *list, size_t nlist)
{
    finder f = { .d = d };
    uint8_t *tmp = malloc(HDR_READ);
    if (!tmp) return MD_E_NOMEM;
    md_err e = MD_OK;
    if (d->nimages) {
        f.imgs = malloc(d->nimages * sizeof *f.imgs);
        if (!f.imgs) e = MD_E_NOMEM;
        else memcpy(f.imgs, d->images, d->nimages * sizeof *f.imgs);
        f.n = f.cap = d->nimages;
    }
    if (!e && loader) e = from_modules(&f, tmp);
    if (!e && loader) e = from_image_regions(&f, tmp);
    if (!e && probe) e = list ? from_list(&f, list, nlist, tmp) : from_scan(&f, tmp);
    free(tmp);
    if (e) {
        free(f.imgs);
        return e;
    }
    if (f.n) qsort(f.imgs, f.n, sizeof *f.imgs, cmp_image);
    free(d->images);
    d->images = f.imgs;
    d->nimages = f.n;
    return MD_OK;
}

md_err md_find_images(md_dump *d, bool defer_probe)
{
    d->priv->probe_pending = defer_probe;
    return find(d, true, !defer_probe, NULL, 0);
}

md_err md_probe_images(md_dump *d)
{
    if (!d || !d->priv->probe_pending) return MD_OK;
    d->priv->probe_pending = false;
    md_err e = find(d, false, true, NULL, 0);
    md_release(d, 0, d->len);
    return e;
}

md_err md_probe_images_at(md_dump *d, const uint64_t *page_va, size_t n)
{
    if (!d || !d->priv->probe_pending) return MD_OK;
    if (n && !page_va) return MD_E_ARG;
    d->priv->probe_pending = false;
    static const uint64_t none[1];
    return find(d, false, true, page_va ? page_va : none, n);
}

const md_image *md_image_at(const md_dump *d, uint64_t va)
{
    if (!d) return NULL;
    size_t lo = 0, hi = d->nimages;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->images[mid].base <= va) lo = mid + 1;
        else hi = mid;
    }
    for (size_t k = lo; k > 0 && lo - k < 8; k--) {
        const md_image *im = &d->images[k - 1];
        if (va - im->base < im->size) return im;
    }
    return NULL;
}

/* ---------------------------------------------------------------- RVA and rebuild */

static bool image_hdr(const md_dump *d, const md_image *img, md_pe_hdr *h)
{
    uint8_t *tmp = malloc(HDR_READ);
    uint64_t got;
    bool ok = tmp && read_hdr(d, img->base, h, tmp, &got);
    free(tmp);
    return ok;
}

/* File offset of an RVA through the section table; false outside the headers and raw data. */
static bool rva_to_file(const md_pe_hdr *h, uint32_t rva, uint64_t *off)
{
    if (rva < h->size_of_headers) {
        *off = rva;
        return true;
    }
    for (unsigned i = 0; i < h->nsections; i++) {
        const md_pe_section *s = &h->sect[i];
        if (rva >= s->va && rva - s->va < s->raw_size) {
            *off = (uint64_t)s->raw_off + (rva - s->va);
            return true;
        }
    }
    return false;
}

bool md_image_rva_to_va(const md_dump *d, const md_image *img, uint32_t rva, uint64_t *va)
{
    if (!d || !img || !va) return false;
    uint64_t rel = rva;
    if (img->layout == MD_LAYOUT_FLAT) {
        md_pe_hdr h;
        if (!image_hdr(d, img, &h) || !rva_to_file(&h, rva, &rel)) return false;
    }
    if (rel >= img->size) return false;
    return md_add_ok(img->base, rel, va);
}

/* Copy [va, va+n) into dst, zero-filling what the dump does not hold. */
static void copy_filled(const md_dump *d, uint64_t va, uint8_t *dst, uint64_t n)
{
    uint64_t done = 0;
    memset(dst, 0, (size_t)n);
    while (done < n) {
        uint64_t got = md_read(d, va + done, dst + done, n - done);
        done += got;
        if (done >= n) break;
        /* Skip the hole to the next region that starts inside the range. */
        uint64_t at = va + done;
        size_t lo = 0, hi = d->nregions;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (d->regions[mid].va <= at) lo = mid + 1;
            else hi = mid;
        }
        if (lo >= d->nregions || d->regions[lo].va - va >= n) break;
        done = d->regions[lo].va - va;
    }
}

static void patch_sections(uint8_t *out, uint64_t outlen, const md_pe_hdr *h)
{
    for (unsigned i = 0; i < h->nsections; i++) {
        uint64_t at = (uint64_t)h->section_table_off + 40u * i;
        if (!md_span_ok(at, 40, outlen)) return;
        const md_pe_section *s = &h->sect[i];
        if (s->va >= h->size_of_image) continue;
        uint64_t ext = s->vsize > s->raw_size ? s->vsize : s->raw_size;
        if (ext > h->size_of_image - s->va) ext = h->size_of_image - s->va;
        uint8_t *p = out + at;
        uint32_t v[2] = { (uint32_t)ext, s->va };
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 4; j++) p[16 + 4 * k + j] = (uint8_t)(v[k] >> (8 * j));
    }
}

static void mapped_to_file(const md_dump *d, const md_image *img, const md_pe_hdr *h, uint8_t *out)
{
    copy_filled(d, img->base, out, h->size_of_headers);
    for (unsigned i = 0; i < h->nsections; i++) {
        const md_pe_section *s = &h->sect[i];
        uint64_t n = s->raw_size;
        if (s->vsize && s->vsize < n) n = s->vsize;
        copy_filled(d, img->base + s->va, out + s->raw_off, n);
    }
}

static void file_to_mapped(const md_dump *d, const md_image *img, const md_pe_hdr *h, uint8_t *out)
{
    copy_filled(d, img->base, out, h->size_of_headers);
    for (unsigned i = 0; i < h->nsections; i++) {
        const md_pe_section *s = &h->sect[i];
        uint64_t n = s->raw_size;
        if (s->va >= h->size_of_image) continue;
        if (n > h->size_of_image - s->va) n = h->size_of_image - s->va;
        if (s->vsize && s->vsize < n) n = s->vsize;
        copy_filled(d, img->base + s->raw_off, out + s->va, n);
    }
    patch_sections(out, h->size_of_image, h);
}

md_err md_image_rebuild(const md_dump *d, const md_image *img, int mode, uint64_t cap,
                        uint8_t **out, size_t *outlen)
{
    if (!d || !img || !out || !outlen) return MD_E_ARG;
    *out = NULL;
    *outlen = 0;
    md_pe_hdr h;
    if (!image_hdr(d, img, &h)) return MD_E_FORMAT;
    if (cap == 0) cap = DEFAULT_REBUILD_CAP;
    bool virt = mode == MD_REBUILD_RAW_IS_VIRTUAL;
    uint64_t size = virt ? h.size_of_image : flat_extent(&h);
    if (size > cap) return MD_E_LIMIT;
    uint8_t *buf = calloc(1, (size_t)size);
    if (!buf) return MD_E_NOMEM;
    if (img->layout == MD_LAYOUT_MAPPED && virt) {
        copy_filled(d, img->base, buf, size);
        patch_sections(buf, size, &h);
    } else if (img->layout == MD_LAYOUT_MAPPED) {
        mapped_to_file(d, img, &h, buf);
    } else if (virt) {
        file_to_mapped(d, img, &h, buf);
    } else {
        copy_filled(d, img->base, buf, size);
    }
    *out = buf;
    *outlen = (size_t)size;
    return MD_OK;
}
