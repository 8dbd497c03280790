/* PE reader for images in dumps: headers, sections, layout-aware address translation and the
 * resource directory. All input is hostile: every offset is checked before it is followed, the
 * resource tree is walked without recursion with depth, entry and directory caps, and directory
 * offsets already visited are never entered again. */
#include "mc_pe.h"
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { DOS_LFANEW = 0x3c, FILE_HDR = 20, SECT_HDR = 40, RES_DIR = 16, RES_ENTRY = 8, RES_DATA = 16 };

static bool machine_ok(uint16_t m)
{
    return m == 0x14c || m == 0x8664 || m == 0xaa64 || m == 0x1c4;
}

/* Flat images: the loader (and libyara) round PointerToRawData down to the file alignment,
 * capped at 0x200. */
static uint32_t raw_align_down(uint32_t off, uint32_t file_align)
{
    uint32_t a = file_align < 0x200 ? file_align : 0x200;
    if (a == 0 || (a & (a - 1)) != 0) return off;
    return off & ~(a - 1);
}

static bool parse_sections(mc_pe *pe, const uint8_t *h, uint64_t hlen, uint64_t table,
                           uint16_t nsect, uint32_t file_align)
{
    uint64_t end;
    if (nsect > MC_PE_MAX_SECTIONS) return false;
    if (!md_add_ok(table, (uint64_t)nsect * SECT_HDR, &end) || end > hlen) return false;
    for (uint16_t i = 0; i < nsect; i++) {
        const uint8_t *s = h + table + (uint64_t)i * SECT_HDR;
        mc_pe_section *o = &pe->sect[i];
        memcpy(o->name, s, 8);
        o->name[8] = '\0';
        o->vsize = md_le32(s + 8);
        o->rva = md_le32(s + 12);
        o->raw_size = md_le32(s + 16);
        o->raw_off = raw_align_down(md_le32(s + 20), file_align);
        o->characteristics = md_le32(s + 36);
    }
    pe->nsections = nsect;
    return true;
}

static bool parse_optional(mc_pe *pe, const uint8_t *opt, uint64_t optlen, uint32_t *file_align)
{
    uint16_t magic = md_le16(opt);
    uint64_t dd, nrva_off;
    if (magic == 0x10b) {
        if (optlen < 96) return false;
        pe->pe64 = false;
        pe->image_base = md_le32(opt + 28);
        nrva_off = 92;
        dd = 96;
    } else if (magic == 0x20b) {
        if (optlen < 112) return false;
        pe->pe64 = true;
        pe->image_base = md_le64(opt + 24);
        nrva_off = 108;
        dd = 112;
    } else {
        return false;
    }
    pe->entry_rva = md_le32(opt + 16);
    *file_align = md_le32(opt + 36);
    pe->size_of_image = md_le32(opt + 56);
    pe->size_of_headers = md_le32(opt + 60);
    uint32_t nrva = md_le32(opt + nrva_off);
    /* Directory 2 (resources) is 8 bytes at dd + 16. */
    if (nrva > 2 && dd + 24 <= optlen) {
        pe->rsrc_rva = md_le32(opt + dd + 16);
        pe->rsrc_size = md_le32(opt + dd + 20);
    }
    return true;
}

bool mc_pe_open_at(mc_pe *pe, const md_dump *d, uint64_t base, md_layout layout)
{
    uint8_t h[MC_PE_MAX_HEADERS];
    memset(pe, 0, sizeof *pe);
    if (!d || (layout != MD_LAYOUT_MAPPED && layout != MD_LAYOUT_FLAT)) return false;
    uint64_t hlen = md_read(d, base, h, sizeof h);
    if (hlen < 0x40 || h[0] != 'M' || h[1] != 'Z') return false;
    uint32_t lfanew = md_le32(h + DOS_LFANEW);
    uint64_t opt_off = (uint64_t)lfanew + 4 + FILE_HDR;
    if (lfanew < 0x40 || opt_off + 2 > hlen || memcmp(h + lfanew, "PE\0\0", 4) != 0) return false;
    const uint8_t *fh = h + lfanew + 4;
    pe->machine = md_le16(fh);
    if (!machine_ok(pe->machine)) return false;
    uint16_t nsect = md_le16(fh + 2), optsize = md_le16(fh + 16);
    uint64_t optlen = hlen - opt_off < optsize ? hlen - opt_off : optsize;
    uint32_t file_align = 0;
    if (!parse_optional(pe, h + opt_off, optlen, &file_align)) return false;
    if (!parse_sections(pe, h, hlen, opt_off + optsize, nsect, file_align)) return false;
    pe->dump = d;
    pe->base = base;
    pe->layout = layout;
    return true;
}

bool mc_pe_open(mc_pe *pe, const md_dump *d, const md_image *img)
{
    if (!img) return false;
    return mc_pe_open_at(pe, d, img->base, img->layout);
}

const mc_pe_section *mc_pe_section_at_rva(const mc_pe *pe, uint32_t rva)
{
    for (uint32_t i = 0; i < pe->nsections; i++) {
        const mc_pe_section *s = &pe->sect[i];
        uint32_t ext = s->vsize > s->raw_size ? s->vsize : s->raw_size;
        if (rva >= s->rva && rva - s->rva < ext) return s;
    }
    return NULL;
}

const mc_pe_section *mc_pe_section_by_name(const mc_pe *pe, const char *name)
{
    for (uint32_t i = 0; i < pe->nsections; i++)
        if (strcmp(pe->sect[i].name, name) == 0) return &pe->sect[i];
    return NULL;
}

/* An offset from the base inside the image's RVA range. SizeOfImage 0 (anti-dump code wipes it)
 * leaves the extent unknown: every 32-bit RVA. */
static bool in_image(const mc_pe *pe, uint64_t off)
{
    return off <= UINT32_MAX && (!pe->size_of_image || off < pe->size_of_image);
}

bool mc_pe_rva_to_va(const mc_pe *pe, uint32_t rva, uint64_t *va)
{
    uint64_t r;
    if (pe->layout == MD_LAYOUT_MAPPED) {
        if (!in_image(pe, rva)) return false;
        return md_add_ok(pe->base, rva, va);
    }
    const mc_pe_section *s = mc_pe_section_at_rva(pe, rva);
    if (!s) {
        if (rva >= pe->size_of_headers) return false;
        return md_add_ok(pe->base, rva, va);
    }
    uint32_t delta = rva - s->rva;
    if (delta >= s->raw_size) return false;   /* zero-fill that a file does not hold */
    return md_add_ok(pe->base, (uint64_t)s->raw_off + delta, &r) && (*va = r, true);
}

bool mc_pe_va_to_rva(const mc_pe *pe, uint64_t va, uint32_t *rva)
{
    if (va < pe->base) return false;
    uint64_t off = va - pe->base;
    if (pe->layout == MD_LAYOUT_MAPPED) {
        if (!in_image(pe, off)) return false;
        *rva = (uint32_t)off;
        return true;
    }
    for (uint32_t i = 0; i < pe->nsections; i++) {
        const mc_pe_section *s = &pe->sect[i];
        if (off >= s->raw_off && off - s->raw_off < s->raw_size) {
            uint64_t r = (uint64_t)s->rva + (off - s->raw_off);
            if (r > UINT32_MAX) return false;
            *rva = (uint32_t)r;
            return true;
        }
    }
    if (off < pe->size_of_headers) { *rva = (uint32_t)off; return true; }
    return false;
}

/* Mapped images were relocated by the loader, so a pointer is based on the real base; a flat
 * copy keeps the on-disk values, based on ImageBase. Try the likelier base first. */
bool mc_pe_ptr_to_va(const mc_pe *pe, uint64_t ptr, uint64_t *va)
{
    uint64_t bases[2] = {pe->base, pe->image_base};
    if (pe->layout == MD_LAYOUT_FLAT) { bases[0] = pe->image_base; bases[1] = pe->base; }
    for (int i = 0; i < 2; i++) {
        if (ptr < bases[i] || !in_image(pe, ptr - bases[i])) continue;
        if (mc_pe_rva_to_va(pe, (uint32_t)(ptr - bases[i]), va)) return true;
    }
    return false;
}

bool mc_pe_section_span(const mc_pe *pe, const mc_pe_section *s, uint64_t *va, uint64_t *size)
{
    if (pe->layout == MD_LAYOUT_FLAT) {
        *size = s->raw_size;
        return md_add_ok(pe->base, s->raw_off, va);
    }
    *size = s->vsize > s->raw_size ? s->vsize : s->raw_size;
    return md_add_ok(pe->base, s->rva, va);
}

/* ---- resources ---- */

/* A walk reads up to MC_PE_RES_MAX_WALK entries, and one RVA -> VA (a scan of the section
 * table) and one region lookup per read were most of a hostile walk's time. So the walk first
 * cuts the resource bytes at every section start and end, raw data end and header end: between
 * two cuts the same section (the first listed, as sections may overlap) or the headers resolve
 * every byte, so RVA -> VA is one linear map or fails throughout. Those stretches are cut again
 * where the dump's runs begin and end, into pieces that are either in one run (a read inside
 * is a copy) or hold no byte of the dump (a read starting there fails at once). A read that
 * leaves its piece, and everything past RES_MAX_PIECES, takes the exact path. The answers are
 * those of the exact path (mc_pe_res_direct = false, for the tests). */
#define RES_MAX_CUTS (3u * MC_PE_MAX_SECTIONS + 3u)
#define RES_MAX_PIECES 1024u

bool mc_pe_res_direct = true;

typedef struct res_piece {
    uint32_t off;             /* first resource offset of the piece; it ends where the next starts */
    uint32_t direct;          /* bytes from off at p */
    const uint8_t *p;
    bool none;                /* no byte of the piece can be read */
} res_piece;

typedef struct res_ctx {
    const mc_pe *pe;
    uint32_t limit;           /* bytes of the resource section reachable from rsrc_rva */
    uint32_t npieces, last;   /* last: the piece of the previous read (reads are local) */
    res_piece piece[RES_MAX_PIECES];
    mc_pe_res_stats st;
    uint32_t visited[MC_PE_RES_MAX_DIRS];   /* directory offsets entered, sorted */
} res_ctx;

static void add_cut(uint64_t *cut, uint32_t *n, uint64_t v, uint64_t lo, uint64_t hi)
{
    if (v <= lo || v >= hi) return;
    uint32_t i = *n;
    while (i > 0 && cut[i - 1] > v) { cut[i] = cut[i - 1]; i--; }
    if (i > 0 && cut[i - 1] == v) { memmove(&cut[i], &cut[i + 1], (*n - i) * sizeof *cut); return; }
    cut[i] = v;
    (*n)++;
}

/* Pieces of [off, end), whose RVAs map linearly from va (or nowhere when !mapped). False when
 * the pieces ran out; the last one then covers the rest and sends its reads the exact way. */
static bool add_pieces(res_ctx *c, uint32_t off, uint32_t end, bool mapped, uint64_t va)
{
    const md_dump *d = c->pe->dump;
    while (off < end) {
        if (c->npieces >= RES_MAX_PIECES - 1) {
            c->piece[c->npieces++] = (res_piece){.off = off};
            return false;
        }
        res_piece *p = &c->piece[c->npieces++];
        *p = (res_piece){.off = off, .none = true};
        if (!mapped) return true;
        uint64_t n = end - off;
        const md_run *r = md_run_at(d, va);
        if (r) {
            if (n > r->size - (va - r->va)) n = r->size - (va - r->va);
            *p = (res_piece){.off = off, .direct = (uint32_t)n, .p = d->buf + r->off + (va - r->va)};
        } else {
            const md_run *next = md_run_after(d, va);
            if (next && next->va - va < n) n = next->va - va;
        }
        off += (uint32_t)n;
        va += n;
    }
    return true;
}

static void rsrc_pieces(res_ctx *c)
{
    const mc_pe *pe = c->pe;
    uint64_t lo = pe->rsrc_rva, hi = lo + c->limit, cut[RES_MAX_CUTS];
    uint32_t n = 0;
    c->npieces = c->last = 0;
    if (!mc_pe_res_direct || !c->limit) return;
    cut[n++] = lo;
    if (pe->layout == MD_LAYOUT_MAPPED) {
        if (pe->size_of_image) add_cut(cut, &n, pe->size_of_image, lo, hi);
    } else {
        add_cut(cut, &n, pe->size_of_headers, lo, hi);
        for (uint32_t i = 0; i < pe->nsections; i++) {
            const mc_pe_section *s = &pe->sect[i];
            uint32_t ext = s->vsize > s->raw_size ? s->vsize : s->raw_size;
            add_cut(cut, &n, s->rva, lo, hi);
            add_cut(cut, &n, (uint64_t)s->rva + s->raw_size, lo, hi);
            add_cut(cut, &n, (uint64_t)s->rva + ext, lo, hi);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t va = 0;
        bool mapped = mc_pe_rva_to_va(pe, (uint32_t)cut[i], &va);
        uint32_t end = (uint32_t)((i + 1 < n ? cut[i + 1] : hi) - lo);
        /* A VA that wraps past 2^64 inside the stretch: its tail has no bytes, the exact path
         * says so. */
        if (mapped && end - (uint32_t)(cut[i] - lo) > UINT64_MAX - va) {
            c->piece[c->npieces++] = (res_piece){.off = (uint32_t)(cut[i] - lo)};
            if (c->npieces == RES_MAX_PIECES) return;
            continue;
        }
        if (!add_pieces(c, (uint32_t)(cut[i] - lo), end, mapped, va)) return;
    }
}

static bool rsrc_read(res_ctx *c, uint32_t off, void *dst, uint32_t len)
{
    uint64_t va;
    if (!md_span_ok(off, len, c->limit)) return false;
    if (c->npieces) {
        uint32_t k = c->last;   /* the last piece starting at or before off */
        if (!(c->piece[k].off <= off && (k + 1 == c->npieces || c->piece[k + 1].off > off))) {
            uint32_t lo = 0, hi = c->npieces;
            while (hi - lo > 1) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (c->piece[mid].off <= off) lo = mid;
                else hi = mid;
            }
            c->last = k = lo;
        }
        const res_piece *p = &c->piece[k];
        if (p->none) return false;
        if (off - p->off <= p->direct && len <= p->direct - (off - p->off)) {
            memcpy(dst, p->p + (off - p->off), len);
            return true;
        }
    }
    if (!mc_pe_rva_to_va(c->pe, c->pe->rsrc_rva + off, &va)) return false;
    return md_read(c->pe->dump, va, dst, len) == len;
}

static uint32_t rsrc_limit(const mc_pe *pe)
{
    const mc_pe_section *s = mc_pe_section_at_rva(pe, pe->rsrc_rva);
    uint64_t lim = pe->rsrc_size;
    if (s) {
        uint32_t ext = s->vsize > s->raw_size ? s->vsize : s->raw_size;
        uint64_t in_sect = (uint64_t)s->rva + ext - pe->rsrc_rva;
        if (in_sect > lim) lim = in_sect;
    }
    /* RVAs are 32 bits: the section ends at SizeOfImage, or where they run out (a resource
     * offset past that would wrap around to the headers). */
    uint64_t end = pe->size_of_image ? pe->size_of_image : (uint64_t)UINT32_MAX + 1;
    if (end <= pe->rsrc_rva) return 0;
    if (lim > end - pe->rsrc_rva) lim = end - pe->rsrc_rva;
    return (uint32_t)lim;
}

/* Mark a directory offset as entered; false when seen before (a cycle) or over the cap. Every
 * directory entry of a hostile section may point at a directory, so the lookup is a binary
 * search: a linear one made a walk cost entries x directories (1e9 compares for a 48 KB mesh
 * of overlapping directories). */
static bool enter_dir(res_ctx *c, uint32_t off)
{
    uint32_t lo = 0, hi = c->st.dirs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->visited[mid] < off) lo = mid + 1;
        else hi = mid;
    }
    if (lo < c->st.dirs && c->visited[lo] == off) { c->st.cycle = true; return false; }
    if (c->st.dirs >= MC_PE_RES_MAX_DIRS) { c->st.capped = true; return false; }
    memmove(&c->visited[lo + 1], &c->visited[lo], (c->st.dirs - lo) * sizeof c->visited[0]);
    c->visited[lo] = off;
    c->st.dirs++;
    return true;
}

static void read_key(res_ctx *c, uint32_t name_field, mc_res_key *k)
{
    memset(k, 0, sizeof *k);
    if (!(name_field & 0x80000000u)) { k->id = name_field & 0xffff; return; }
    k->named = true;
    uint32_t off = name_field & 0x7fffffffu;
    uint8_t lenb[2];
    /* At most 85 UTF-16 units, so the UTF-8 form always fits MC_PE_RES_MAX_NAME. */
    uint8_t w[2 * ((MC_PE_RES_MAX_NAME - 1) / 3)];
    if (!rsrc_read(c, off, lenb, 2)) return;
    uint32_t n = md_le16(lenb);
    if (n > sizeof w / 2) n = sizeof w / 2;
    if (!rsrc_read(c, off + 2, w, n * 2)) return;
    if (md_utf16le_to_utf8(w, n * 2, k->name, sizeof k->name) < 0) k->name[0] = '\0';
}

typedef struct res_frame {
    uint32_t dir_off, next, count;
    mc_res_key key;           /* key of the entry that led here (unused at level 0) */
} res_frame;

static bool open_frame(res_ctx *c, res_frame *f, uint32_t dir_off)
{
    uint8_t hdr[RES_DIR];
    if (!enter_dir(c, dir_off)) return false;
    if (!rsrc_read(c, dir_off, hdr, sizeof hdr)) { c->st.bad = true; return false; }
    uint32_t count = (uint32_t)md_le16(hdr + 12) + md_le16(hdr + 14);
    if (count > MC_PE_RES_MAX_ENTRIES) { count = MC_PE_RES_MAX_ENTRIES; c->st.capped = true; }
    /* Entries that run off the section are not there: keep the ones that fit. */
    uint64_t room = c->limit > dir_off + RES_DIR ? (c->limit - dir_off - RES_DIR) / RES_ENTRY : 0;
    if (count > room) { count = (uint32_t)room; c->st.bad = true; }
    f->dir_off = dir_off;
    f->next = 0;
    f->count = count;
    return true;
}

/* Emit one leaf; false when the callback asked to stop. */
static bool emit_leaf(res_ctx *c, const res_frame *fr, uint32_t data_off, uint32_t lang,
                      mc_pe_res_fn fn, void *arg)
{
    uint8_t de[RES_DATA];
    mc_pe_res r;
    if (!rsrc_read(c, data_off, de, sizeof de)) { c->st.bad = true; return true; }
    memset(&r, 0, sizeof r);
    r.type = fr[1].key;
    r.name = fr[2].key;
    r.lang = lang;
    r.data_rva = md_le32(de);
    r.size = md_le32(de + 4);
    if (!mc_pe_rva_to_va(c->pe, r.data_rva, &r.va)) { c->st.bad = true; return true; }
    c->st.leaves++;
    return fn(&r, arg);
}

bool mc_pe_res_walk(const mc_pe *pe, mc_pe_res_fn fn, void *arg, mc_pe_res_stats *stats)
{
    res_ctx c;
    res_frame fr[MC_PE_RES_MAX_DEPTH];
    memset(&c.st, 0, sizeof c.st);
    c.pe = pe;
    if (!pe->dump || pe->rsrc_rva == 0) { if (stats) *stats = c.st; return false; }
    c.limit = rsrc_limit(pe);
    rsrc_pieces(&c);
    memset(fr, 0, sizeof fr);
    if (!open_frame(&c, &fr[0], 0)) { if (stats) *stats = c.st; return false; }
    int depth = 0;
    bool go = true;
    while (go && depth >= 0) {
        res_frame *f = &fr[depth];
        if (f->next >= f->count) { depth--; continue; }
        /* Overlapping directories can make every entry reachable from every directory. */
        if (c.st.entries >= MC_PE_RES_MAX_WALK) { c.st.capped = true; break; }
        c.st.entries++;
        uint8_t e[RES_ENTRY];
        uint32_t eoff = f->dir_off + RES_DIR + f->next++ * RES_ENTRY;
        if (!rsrc_read(&c, eoff, e, sizeof e)) { c.st.bad = true; continue; }
        uint32_t name = md_le32(e), target = md_le32(e + 4);
        bool is_dir = (target & 0x80000000u) != 0;
        target &= 0x7fffffffu;
        if (depth == (int)MC_PE_RES_MAX_DEPTH - 1) {
            if (is_dir) { c.st.capped = true; continue; }
            go = emit_leaf(&c, fr, target, name & 0xffff, fn, arg);
            continue;
        }
        if (!is_dir) { c.st.bad = true; continue; }   /* a leaf above the language level */
        res_frame *child = &fr[depth + 1];
        if (!open_frame(&c, child, target)) continue;
        read_key(&c, name, &child->key);
        depth++;
    }
    if (stats) *stats = c.st;
    return true;
}

static bool key_matches(const mc_res_key *k, uint32_t id, const char *name)
{
    if (name) return k->named && strcasecmp(k->name, name) == 0;
    if (id == 0) return true;
    return !k->named && k->id == id;
}

typedef struct find_arg {
    uint32_t type_id, name_id;
    const char *type_name, *name;
    mc_pe_res *out;
    bool found;
} find_arg;

static bool find_cb(const mc_pe_res *r, void *arg)
{
    find_arg *a = arg;
    if (!key_matches(&r->type, a->type_id, a->type_name)) return true;
    if (!key_matches(&r->name, a->name_id, a->name)) return true;
    *a->out = *r;
    a->found = true;
    return false;
}

bool mc_pe_res_find(const mc_pe *pe, uint32_t type_id, const char *type_name, uint32_t name_id,
                    const char *name, mc_pe_res *out)
{
    find_arg a = {type_id, name_id, type_name, name, out, false};
    mc_pe_res_walk(pe, find_cb, &a, NULL);
    return a.found;
}

/* ---- spans ---- */

int mc_pe_span_open(const md_dump *d, uint64_t va, uint64_t max, uint64_t *done, size_t *ndone,
                    size_t cap, mc_pe_span *sp)
{
    memset(sp, 0, sizeof *sp);
    const md_image *img = md_image_at(d, va);
    if (img && mc_pe_open(&sp->pe, d, img)) {
        sp->has_pe = true;
        sp->va = img->base;
        sp->size = img->size ? img->size : sp->pe.size_of_image;
    } else {
        const md_run *r = md_run_at(d, va);
        if (!r) return 0;
        sp->va = r->va;
        sp->size = r->size;
    }
    for (size_t i = 0; i < *ndone; i++)
        if (done[i] == sp->va) return 0;
    if (*ndone >= cap) return 0;
    done[(*ndone)++] = sp->va;
    uint64_t avail = md_avail(d, sp->va);
    if (sp->size > avail) sp->size = avail;
    if (sp->size > max) sp->size = max;
    if (sp->size == 0) return 0;
    sp->p = md_ptr(d, sp->va, sp->size);
    if (!sp->p) {
        sp->owned = malloc((size_t)sp->size);
        if (!sp->owned) return -1;
        sp->size = md_read(d, sp->va, sp->owned, sp->size);
        sp->p = sp->owned;
    }
    return 1;
}

void mc_pe_span_close(mc_pe_span *sp)
{
    free(sp->owned);
    sp->owned = NULL;
    sp->p = NULL;
}
