/* ECMA-335 metadata reader (Partition II §22, §24, §25) over images in a dump. */
#include "mc_dotnet.h"

#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

const char *mc_dn_strerror(mc_dn_err e)
{
    switch (e) {
    case MC_DN_OK: return "ok";
    case MC_DN_E_ARG: return "bad argument";
    case MC_DN_E_PE: return "no readable PE header";
    case MC_DN_E_NOCLR: return "no CLR header";
    case MC_DN_E_ROOT: return "CLI header or metadata root invalid";
    case MC_DN_E_STREAM: return "metadata stream header out of range";
    case MC_DN_E_TABLES: return "metadata tables header invalid";
    case MC_DN_E_INDEX: return "metadata index out of range";
    case MC_DN_E_BODY: return "method body invalid";
    case MC_DN_E_LIMIT: return "metadata size limit exceeded";
    case MC_DN_E_NOMEM: return "out of memory";
    }
    return "unknown error";
}

/* ---- table schema ---- */

/* Column codes: fixed widths, heap indexes, simple indexes (0x40|table), coded indexes (0x80|k). */
enum { C_END = 0, C_U16, C_U32, C_STR, C_GUID, C_BLOB };
#define C_IDX(t) (0x40 | (t))
#define C_CODED(k) (0x80 | (k))

enum {
    K_TYPEDEFORREF, K_HASCONSTANT, K_HASCUSTOMATTR, K_HASFIELDMARSHAL, K_HASDECLSECURITY,
    K_MEMBERREFPARENT, K_HASSEMANTICS, K_METHODDEFORREF, K_MEMBERFORWARDED, K_IMPLEMENTATION,
    K_CUSTOMATTRTYPE, K_RESOLUTIONSCOPE, K_TYPEORMETHODDEF, K__COUNT
};

#define NONE 0xFF
static const struct { uint8_t bits, n; uint8_t t[22]; } coded[K__COUNT] = {
    [K_TYPEDEFORREF] = {2, 3, {0x02, 0x01, 0x1B}},
    [K_HASCONSTANT] = {2, 3, {0x04, 0x08, 0x17}},
    [K_HASCUSTOMATTR] = {5, 22, {0x06, 0x04, 0x01, 0x02, 0x08, 0x09, 0x0A, 0x00, 0x0E, 0x17, 0x14,
                                 0x11, 0x1A, 0x1B, 0x20, 0x23, 0x26, 0x27, 0x28, 0x2A, 0x2C, 0x2B}},
    [K_HASFIELDMARSHAL] = {1, 2, {0x04, 0x08}},
    [K_HASDECLSECURITY] = {2, 3, {0x02, 0x06, 0x20}},
    [K_MEMBERREFPARENT] = {3, 5, {0x02, 0x01, 0x1A, 0x06, 0x1B}},
    [K_HASSEMANTICS] = {1, 2, {0x14, 0x17}},
    [K_METHODDEFORREF] = {1, 2, {0x06, 0x0A}},
    [K_MEMBERFORWARDED] = {1, 2, {0x04, 0x06}},
    [K_IMPLEMENTATION] = {2, 3, {0x26, 0x23, 0x27}},
    [K_CUSTOMATTRTYPE] = {3, 5, {NONE, NONE, 0x06, 0x0A, NONE}},
    [K_RESOLUTIONSCOPE] = {2, 4, {0x00, 0x1A, 0x23, 0x01}},
    [K_TYPEORMETHODDEF] = {1, 2, {0x02, 0x06}},
};

static const uint8_t schema[MC_DN_T_COUNT][10] = {
    [0x00] = {C_U16, C_STR, C_GUID, C_GUID, C_GUID},
    [0x01] = {C_CODED(K_RESOLUTIONSCOPE), C_STR, C_STR},
    [0x02] = {C_U32, C_STR, C_STR, C_CODED(K_TYPEDEFORREF), C_IDX(0x04), C_IDX(0x06)},
    [0x03] = {C_IDX(0x04)},
    [0x04] = {C_U16, C_STR, C_BLOB},
    [0x05] = {C_IDX(0x06)},
    [0x06] = {C_U32, C_U16, C_U16, C_STR, C_BLOB, C_IDX(0x08)},
    [0x07] = {C_IDX(0x08)},
    [0x08] = {C_U16, C_U16, C_STR},
    [0x09] = {C_IDX(0x02), C_CODED(K_TYPEDEFORREF)},
    [0x0A] = {C_CODED(K_MEMBERREFPARENT), C_STR, C_BLOB},
    [0x0B] = {C_U16, C_CODED(K_HASCONSTANT), C_BLOB},
    [0x0C] = {C_CODED(K_HASCUSTOMATTR), C_CODED(K_CUSTOMATTRTYPE), C_BLOB},
    [0x0D] = {C_CODED(K_HASFIELDMARSHAL), C_BLOB},
    [0x0E] = {C_U16, C_CODED(K_HASDECLSECURITY), C_BLOB},
    [0x0F] = {C_U16, C_U32, C_IDX(0x02)},
    [0x10] = {C_U32, C_IDX(0x04)},
    [0x11] = {C_BLOB},
    [0x12] = {C_IDX(0x02), C_IDX(0x14)},
    [0x13] = {C_IDX(0x14)},
    [0x14] = {C_U16, C_STR, C_CODED(K_TYPEDEFORREF)},
    [0x15] = {C_IDX(0x02), C_IDX(0x17)},
    [0x16] = {C_IDX(0x17)},
    [0x17] = {C_U16, C_STR, C_BLOB},
    [0x18] = {C_U16, C_IDX(0x06), C_CODED(K_HASSEMANTICS)},
    [0x19] = {C_IDX(0x02), C_CODED(K_METHODDEFORREF), C_CODED(K_METHODDEFORREF)},
    [0x1A] = {C_STR},
    [0x1B] = {C_BLOB},
    [0x1C] = {C_U16, C_CODED(K_MEMBERFORWARDED), C_STR, C_IDX(0x1A)},
    [0x1D] = {C_U32, C_IDX(0x04)},
    [0x1E] = {C_U32, C_U32},
    [0x1F] = {C_U32},
    [0x20] = {C_U32, C_U16, C_U16, C_U16, C_U16, C_U32, C_BLOB, C_STR, C_STR},
    [0x21] = {C_U32},
    [0x22] = {C_U32, C_U32, C_U32},
    [0x23] = {C_U16, C_U16, C_U16, C_U16, C_U32, C_BLOB, C_STR, C_STR, C_BLOB},
    [0x24] = {C_U32, C_IDX(0x23)},
    [0x25] = {C_U32, C_U32, C_U32, C_IDX(0x23)},
    [0x26] = {C_U32, C_STR, C_BLOB},
    [0x27] = {C_U32, C_U32, C_STR, C_STR, C_CODED(K_IMPLEMENTATION)},
    [0x28] = {C_U32, C_U32, C_STR, C_CODED(K_IMPLEMENTATION)},
    [0x29] = {C_IDX(0x02), C_IDX(0x02)},
    [0x2A] = {C_U16, C_U16, C_CODED(K_TYPEORMETHODDEF), C_STR},
    [0x2B] = {C_CODED(K_METHODDEFORREF), C_BLOB},
    [0x2C] = {C_IDX(0x2A), C_CODED(K_TYPEDEFORREF)},
};

static unsigned col_width(const mc_dotnet *dn, uint8_t c)
{
    if (c == C_U16) return 2;
    if (c == C_U32) return 4;
    if (c == C_STR) return (dn->heap_sizes & 0x01) ? 4 : 2;
    if (c == C_GUID) return (dn->heap_sizes & 0x02) ? 4 : 2;
    if (c == C_BLOB) return (dn->heap_sizes & 0x04) ? 4 : 2;
    if ((c & 0xC0) == 0x40) return dn->rows[c & 0x3F] > 0xFFFF ? 4 : 2;
    unsigned k = c & 0x3F;
    uint32_t maxrows = 0;
    for (unsigned i = 0; i < coded[k].n; i++)
        if (coded[k].t[i] != NONE && dn->rows[coded[k].t[i]] > maxrows)
            maxrows = dn->rows[coded[k].t[i]];
    return maxrows < (1u << (16 - coded[k].bits)) ? 2 : 4;
}

/* ---- PE headers and layouts ---- */

typedef struct pe_info {
    uint32_t clr_rva, clr_size, size_of_image;
} pe_info;

static mc_dn_err parse_pe(mc_dotnet *dn, pe_info *pi)
{
    uint8_t h[0x1000];
    uint64_t got = md_read(dn->d, dn->base, h, sizeof h);
    if (got < 0x40 || h[0] != 'M' || h[1] != 'Z') return MC_DN_E_PE;
    uint32_t lfanew = md_le32(h + 0x3C);
    if (lfanew < 0x40 || !md_span_ok(lfanew, 24, got) || memcmp(h + lfanew, "PE\0\0", 4) != 0)
        return MC_DN_E_PE;
    uint16_t nsect = md_le16(h + lfanew + 6), optsz = md_le16(h + lfanew + 20);
    uint32_t opt = lfanew + 24;
    if (nsect > 96 || !md_span_ok(opt, optsz, got) || optsz < 96) return MC_DN_E_PE;
    uint16_t magic = md_le16(h + opt);
    uint32_t ndir_off = magic == 0x20b ? 108 : magic == 0x10b ? 92 : 0;
    if (!ndir_off || optsz < ndir_off + 4) return MC_DN_E_PE;
    uint32_t ndirs = md_le32(h + opt + ndir_off);
    uint32_t dir14 = ndir_off + 4 + 14 * 8;
    pi->size_of_image = md_le32(h + opt + 56);
    dn->size_of_headers = md_le32(h + opt + 60);
    if (ndirs < 15 || optsz < dir14 + 8) return MC_DN_E_NOCLR;
    pi->clr_rva = md_le32(h + opt + dir14);
    pi->clr_size = md_le32(h + opt + dir14 + 4);
    if (!pi->clr_rva || pi->clr_size < 72) return MC_DN_E_NOCLR;
    uint64_t st = (uint64_t)opt + optsz;
    if (!md_span_ok(st, (uint64_t)nsect * 40, got)) return MC_DN_E_PE;
    dn->nsections = nsect;
    for (unsigned i = 0; i < nsect; i++) {
        const uint8_t *s = h + st + i * 40;
        dn->sect[i] = (mc_dn_section){md_le32(s + 12), md_le32(s + 8), md_le32(s + 20), md_le32(s + 16)};
    }
    return MC_DN_OK;
}

/* Bytes available from rva to the end of its piece in the current layout (0 = unmapped). */
static uint64_t rva_extent(const mc_dotnet *dn, uint32_t rva, uint64_t *va)
{
    if (dn->layout == MD_LAYOUT_MAPPED) {
        *va = dn->base + rva;
        return UINT32_MAX - (uint64_t)rva + 1;
    }
    if (rva < dn->size_of_headers) {
        *va = dn->base + rva;
        return dn->size_of_headers - rva;
    }
    for (unsigned i = 0; i < dn->nsections; i++) {
        const mc_dn_section *s = &dn->sect[i];
        uint64_t span = s->vsize > s->raw_size ? s->vsize : s->raw_size;
        if (rva >= s->va && rva - s->va < span) {
            uint32_t delta = rva - s->va;
            if (delta >= s->raw_size) return 0;
            *va = dn->base + s->raw_off + delta;
            return s->raw_size - delta;
        }
    }
    return 0;
}

bool mc_dn_rva_to_va(const mc_dotnet *dn, uint32_t rva, uint64_t *va)
{
    return dn && rva_extent(dn, rva, va) > 0;
}

/* Read exactly n bytes at rva, contiguous in the current layout. */
static bool read_rva(const mc_dotnet *dn, uint32_t rva, void *dst, uint64_t n, uint64_t *va_out)
{
    uint64_t va = 0;
    if (rva_extent(dn, rva, &va) < n) return false;
    if (md_read(dn->d, va, dst, n) != n) return false;
    if (va_out) *va_out = va;
    return true;
}

/* ---- metadata root and streams ---- */

static mc_dn_err parse_root(mc_dotnet *dn)
{
    const uint8_t *m = dn->md;
    uint32_t n = dn->md_len;
    if (n < 20 || md_le32(m) != 0x424A5342) return MC_DN_E_ROOT;
    uint32_t vlen = md_le32(m + 12);
    if (vlen > 255 || !md_span_ok(16, (uint64_t)vlen + 4, n)) return MC_DN_E_ROOT;
    size_t cp = vlen < sizeof dn->runtime - 1 ? vlen : sizeof dn->runtime - 1;
    memcpy(dn->runtime, m + 16, cp);
    dn->runtime[cp] = 0;
    uint32_t p = 16 + ((vlen + 3) & ~3u);
    if (!md_span_ok(p, 4, n)) return MC_DN_E_ROOT;
    uint16_t nstreams = md_le16(m + p + 2);
    p += 4;
    if (nstreams == 0 || nstreams > 16) return MC_DN_E_STREAM;
    bool have_tables = false;
    for (unsigned i = 0; i < nstreams; i++) {
        if (!md_span_ok(p, 9, n)) return MC_DN_E_STREAM;
        uint32_t off = md_le32(m + p), size = md_le32(m + p + 4);
        const uint8_t *name = m + p + 8;
        size_t maxname = n - p - 8 < 32 ? n - p - 8 : 32;
        const uint8_t *nul = memchr(name, 0, maxname);
        if (!nul) return MC_DN_E_STREAM;
        if (!md_span_ok(off, size, n)) return MC_DN_E_STREAM;
        size_t nl = (size_t)(nul - name);
        mc_dn_heap h = {off, size};
        if (nl == 2 && (memcmp(name, "#~", 2) == 0 || memcmp(name, "#-", 2) == 0)) {
            dn->tables = h; dn->uncompressed = name[1] == '-'; have_tables = true;
        } else if (nl == 8 && memcmp(name, "#Strings", 8) == 0) dn->strings = h;
        else if (nl == 3 && memcmp(name, "#US", 3) == 0) dn->us = h;
        else if (nl == 5 && memcmp(name, "#Blob", 5) == 0) dn->blob = h;
        else if (nl == 5 && memcmp(name, "#GUID", 5) == 0) dn->guid = h;
        p += 8 + (uint32_t)((nl + 1 + 3) & ~(size_t)3);
    }
    return have_tables ? MC_DN_OK : MC_DN_E_STREAM;
}

static mc_dn_err parse_tables(mc_dotnet *dn)
{
    const uint8_t *t = dn->md + dn->tables.off;
    uint32_t n = dn->tables.size;
    if (n < 24) return MC_DN_E_TABLES;
    dn->heap_sizes = t[6];
    uint64_t valid = md_le64(t + 8);
    uint64_t p = 24;
    for (unsigned i = 0; i < 64; i++) {
        if (!(valid >> i & 1)) continue;
        if (!md_span_ok(p, 4, n)) return MC_DN_E_TABLES;
        dn->rows[i] = md_le32(t + p);
        if (dn->rows[i] > MC_DN_MAX_ROWS) return MC_DN_E_TABLES;
        p += 4;
    }
    if (dn->heap_sizes & 0x40) p += 4;  /* extra data word of #- streams */
    for (unsigned i = 0; i < MC_DN_T_COUNT; i++) {
        /* Column widths depend on the row counts alone: worked out once here, not per cell. */
        uint32_t rs = 0;
        for (unsigned c = 0; c < 10; c++) {
            dn->col_off[i][c] = (uint8_t)rs;
            if (schema[i][c] != C_END) rs += col_width(dn, schema[i][c]);
        }
        dn->col_off[i][10] = (uint8_t)rs;
        dn->row_size[i] = rs;
        uint64_t bytes = (uint64_t)rs * dn->rows[i];
        if (!md_span_ok(p, bytes, n)) return MC_DN_E_TABLES;
        dn->table_off[i] = dn->tables.off + (uint32_t)p;
        p += bytes;
    }
    return MC_DN_OK;
}

static void reset_streams(mc_dotnet *dn)
{
    free(dn->md);
    dn->md = NULL;
    dn->md_len = 0;
    memset(&dn->strings, 0, sizeof dn->strings);
    dn->us = dn->blob = dn->guid = dn->tables = dn->strings;
    memset(dn->rows, 0, sizeof dn->rows);
}

/* *root_seen tells whether this layout reached a BSJB signature: its error is then the one
 * worth reporting. */
static mc_dn_err try_layout(mc_dotnet *dn, const pe_info *pi, md_layout layout, bool *root_seen)
{
    *root_seen = false;
    dn->layout = layout;
    uint8_t cli[72];
    if (!read_rva(dn, pi->clr_rva, cli, sizeof cli, NULL)) return MC_DN_E_ROOT;
    uint32_t cb = md_le32(cli), md_rva = md_le32(cli + 8), md_size = md_le32(cli + 12);
    if (cb < 72 || md_rva == 0 || md_size < 20) return MC_DN_E_ROOT;
    if (md_size > MC_DN_MAX_METADATA) return MC_DN_E_LIMIT;
    /* A hostile header may claim up to the cap: allocate only what the dump can fill. */
    uint64_t md_va = 0;
    if (rva_extent(dn, md_rva, &md_va) < md_size || md_avail(dn->d, md_va) < md_size)
        return MC_DN_E_ROOT;
    dn->md = malloc(md_size);
    if (!dn->md) return MC_DN_E_NOMEM;
    dn->md_len = md_size;
    if (!read_rva(dn, md_rva, dn->md, md_size, &dn->md_va)) return MC_DN_E_ROOT;
    *root_seen = md_le32(dn->md) == 0x424A5342;
    mc_dn_err e = parse_root(dn);
    if (e == MC_DN_OK) e = parse_tables(dn);
    return e;
}

mc_dn_err mc_dn_open_at(const md_dump *d, uint64_t base, md_layout hint, mc_dotnet **out)
{
    if (!d || !out) return MC_DN_E_ARG;
    *out = NULL;
    mc_dotnet *dn = calloc(1, sizeof *dn);
    if (!dn) return MC_DN_E_NOMEM;
    dn->d = d;
    dn->base = base;
    pe_info pi = {0};
    mc_dn_err e = parse_pe(dn, &pi);
    if (e == MC_DN_OK) {
        md_layout first = hint == MD_LAYOUT_FLAT ? MD_LAYOUT_FLAT : MD_LAYOUT_MAPPED;
        md_layout second = first == MD_LAYOUT_FLAT ? MD_LAYOUT_MAPPED : MD_LAYOUT_FLAT;
        bool seen1, seen2;
        e = try_layout(dn, &pi, first, &seen1);
        if (e != MC_DN_OK && e != MC_DN_E_NOMEM) {
            reset_streams(dn);
            mc_dn_err e2 = try_layout(dn, &pi, second, &seen2);
            if (e2 == MC_DN_OK || e2 == MC_DN_E_NOMEM || (seen2 && !seen1)) e = e2;
        }
    }
    if (e != MC_DN_OK) {
        mc_dn_close(dn);
        return e;
    }
    *out = dn;
    return MC_DN_OK;
}

mc_dn_err mc_dn_open(const md_dump *d, const md_image *img, mc_dotnet **out)
{
    if (!img) return MC_DN_E_ARG;
    return mc_dn_open_at(d, img->base, img->layout, out);
}

void mc_dn_close(mc_dotnet *dn)
{
    if (!dn) return;
    free(dn->md);
    free(dn);
}

/* ---- cells and heaps ---- */

uint32_t mc_dn_rows(const mc_dotnet *dn, unsigned table)
{
    return dn && table < 64 ? dn->rows[table] : 0;
}

mc_dn_err mc_dn_cell(const mc_dotnet *dn, unsigned table, uint32_t row, unsigned col, uint32_t *val)
{
    if (!dn || table >= MC_DN_T_COUNT || col >= 10 || schema[table][col] == C_END) return MC_DN_E_ARG;
    if (row == 0 || row > dn->rows[table]) return MC_DN_E_INDEX;
    uint64_t off = dn->table_off[table] + (uint64_t)(row - 1) * dn->row_size[table] +
                   dn->col_off[table][col];
    unsigned w = (unsigned)(dn->col_off[table][col + 1] - dn->col_off[table][col]);
    if (!md_span_ok(off, w, dn->md_len)) return MC_DN_E_INDEX;
    *val = w == 2 ? md_le16(dn->md + off) : md_le32(dn->md + off);
    return MC_DN_OK;
}

const char *mc_dn_string(const mc_dotnet *dn, uint32_t idx)
{
    if (!dn || idx >= dn->strings.size) return NULL;
    const uint8_t *p = dn->md + dn->strings.off + idx;
    if (!memchr(p, 0, dn->strings.size - idx)) return NULL;
    return (const char *)p;
}

/* Compressed length (II.23.2) at heap[idx]; sets *hdr to the prefix size. */
static bool heap_entry(const mc_dotnet *dn, const mc_dn_heap *h, uint32_t idx, uint32_t *hdr,
                       uint32_t *len)
{
    if (idx >= h->size) return false;
    const uint8_t *p = dn->md + h->off + idx;
    uint32_t left = h->size - idx;
    if ((p[0] & 0x80) == 0) { *hdr = 1; *len = p[0]; }
    else if ((p[0] & 0xC0) == 0x80) {
        if (left < 2) return false;
        *hdr = 2; *len = ((uint32_t)(p[0] & 0x3F) << 8) | p[1];
    } else if ((p[0] & 0xE0) == 0xC0) {
        if (left < 4) return false;
        *hdr = 4; *len = ((uint32_t)(p[0] & 0x1F) << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    } else return false;
    return md_span_ok(*hdr, *len, left);
}

mc_dn_err mc_dn_blob(const mc_dotnet *dn, uint32_t idx, const uint8_t **p, uint32_t *len)
{
    uint32_t hdr;
    if (!dn || !heap_entry(dn, &dn->blob, idx, &hdr, len)) return MC_DN_E_INDEX;
    *p = dn->md + dn->blob.off + idx + hdr;
    return MC_DN_OK;
}

mc_dn_err mc_dn_us(const mc_dotnet *dn, uint32_t token, const uint8_t **utf16, uint32_t *nbytes,
                   uint64_t *va)
{
    if (!dn) return MC_DN_E_ARG;
    if ((token >> 24) != 0x70 && (token >> 24) != 0) return MC_DN_E_ARG;
    uint32_t idx = token & 0xFFFFFF, hdr, len;
    if (idx == 0 || !heap_entry(dn, &dn->us, idx, &hdr, &len)) return MC_DN_E_INDEX;
    *utf16 = dn->md + dn->us.off + idx + hdr;
    *nbytes = len & ~1u;  /* drop the terminal flag byte */
    if (va) *va = dn->md_va + dn->us.off + idx;
    return MC_DN_OK;
}

mc_dn_err mc_dn_us_utf8(const mc_dotnet *dn, uint32_t token, char *dst, size_t dstsz, uint64_t *va)
{
    const uint8_t *w;
    uint32_t nb;
    if (!dst || dstsz == 0) return MC_DN_E_ARG;
    mc_dn_err e = mc_dn_us(dn, token, &w, &nb, va);
    if (e != MC_DN_OK) return e;
    if (md_utf16le_to_utf8(w, nb, dst, dstsz) < 0) return MC_DN_E_LIMIT;
    return MC_DN_OK;
}

static const char *str_or_empty(const mc_dotnet *dn, uint32_t idx)
{
    const char *s = mc_dn_string(dn, idx);
    return s ? s : "";
}

/* ---- rows ---- */

static uint32_t list_rows(const mc_dotnet *dn, unsigned ptr_table, unsigned table)
{
    return dn->rows[ptr_table] ? dn->rows[ptr_table] : dn->rows[table];
}

mc_dn_err mc_dn_get_typedef(const mc_dotnet *dn, uint32_t row, mc_dn_typedef *out)
{
    uint32_t v[6];
    for (unsigned c = 0; c < 6; c++) {
        mc_dn_err e = mc_dn_cell(dn, MC_DN_T_TYPEDEF, row, c, &v[c]);
        if (e != MC_DN_OK) return e;
    }
    uint32_t fend = list_rows(dn, MC_DN_T_FIELDPTR, MC_DN_T_FIELD) + 1;
    uint32_t mend = list_rows(dn, MC_DN_T_METHODPTR, MC_DN_T_METHODDEF) + 1;
    uint32_t nf = fend, nm = mend;
    if (row < dn->rows[MC_DN_T_TYPEDEF]) {
        mc_dn_cell(dn, MC_DN_T_TYPEDEF, row + 1, 4, &nf);
        mc_dn_cell(dn, MC_DN_T_TYPEDEF, row + 1, 5, &nm);
    }
    out->flags = v[0];
    out->name = str_or_empty(dn, v[1]);
    out->ns = str_or_empty(dn, v[2]);
    /* A lying list start or end is clamped to the table, giving an empty or shorter range. */
    out->field_end = nf < fend ? nf : fend;
    out->field_first = v[4] < out->field_end ? v[4] : out->field_end;
    out->method_end = nm < mend ? nm : mend;
    out->method_first = v[5] < out->method_end ? v[5] : out->method_end;
    if (out->field_first == 0) out->field_first = 1 < out->field_end ? 1 : out->field_end;
    if (out->method_first == 0) out->method_first = 1 < out->method_end ? 1 : out->method_end;
    return MC_DN_OK;
}

mc_dn_err mc_dn_get_field(const mc_dotnet *dn, uint32_t row, mc_dn_field *out)
{
    uint32_t v[3];
    for (unsigned c = 0; c < 3; c++) {
        mc_dn_err e = mc_dn_cell(dn, MC_DN_T_FIELD, row, c, &v[c]);
        if (e != MC_DN_OK) return e;
    }
    out->flags = (uint16_t)v[0];
    out->name = str_or_empty(dn, v[1]);
    out->sig = v[2];
    return MC_DN_OK;
}

mc_dn_err mc_dn_get_method(const mc_dotnet *dn, uint32_t row, mc_dn_method *out)
{
    uint32_t v[5];
    for (unsigned c = 0; c < 5; c++) {
        mc_dn_err e = mc_dn_cell(dn, MC_DN_T_METHODDEF, row, c, &v[c]);
        if (e != MC_DN_OK) return e;
    }
    out->rva = v[0];
    out->impl_flags = (uint16_t)v[1];
    out->flags = (uint16_t)v[2];
    out->name = str_or_empty(dn, v[3]);
    out->sig = v[4];
    return MC_DN_OK;
}

static uint32_t via_ptr(const mc_dotnet *dn, unsigned ptr_table, uint32_t pos)
{
    if (!dn) return 0;
    if (!dn->rows[ptr_table]) return pos;
    uint32_t v = 0;
    return mc_dn_cell(dn, ptr_table, pos, 0, &v) == MC_DN_OK ? v : 0;
}

uint32_t mc_dn_field_at(const mc_dotnet *dn, uint32_t pos) { return via_ptr(dn, MC_DN_T_FIELDPTR, pos); }
uint32_t mc_dn_method_at(const mc_dotnet *dn, uint32_t pos) { return via_ptr(dn, MC_DN_T_METHODPTR, pos); }

const char *mc_dn_memberref_name(const mc_dotnet *dn, uint32_t row)
{
    uint32_t v;
    if (mc_dn_cell(dn, MC_DN_T_MEMBERREF, row, 1, &v) != MC_DN_OK) return "";
    return str_or_empty(dn, v);
}

uint32_t mc_dn_find_method(const mc_dotnet *dn, uint32_t type_row, const char *name)
{
    mc_dn_typedef td;
    if (!name || mc_dn_get_typedef(dn, type_row, &td) != MC_DN_OK) return 0;
    for (uint32_t pos = td.method_first; pos < td.method_end; pos++) {
        mc_dn_method m;
        uint32_t row = mc_dn_method_at(dn, pos);
        if (mc_dn_get_method(dn, row, &m) == MC_DN_OK && strcmp(m.name, name) == 0) return row;
    }
    return 0;
}

/* The first TypeDef (in row order) whose field list holds field_row. A list is the range of
 * list positions [field_first, field_end); a position names a field through the FieldPtr table
 * when there is one, else it is the field's row. Each range is tested whole, not walked position
 * by position: lying list starts make ranges overlap, and the walk cost TypeDefs x Fields (a
 * 64 KB image held a million steps per call). Through FieldPtr, one pass over it marks the
 * positions naming field_row in a bitmap with a running count per 64 positions, so a range
 * holds one of them when the counts at its ends differ (3 MiB at MC_DN_MAX_ROWS). */
typedef struct dn_marks {
    uint64_t *bits;
    uint32_t *below;          /* below[w]: marks in words [0, w) */
} dn_marks;

static uint32_t marks_below(const dn_marks *m, uint32_t pos)
{
    uint64_t low = m->bits[pos / 64] & ((1ull << (pos % 64)) - 1);
    return m->below[pos / 64] + (uint32_t)__builtin_popcountll(low);
}

uint32_t mc_dn_field_owner(const mc_dotnet *dn, uint32_t field_row)
{
    if (!dn) return 0;
    uint32_t nptr = dn->rows[MC_DN_T_FIELDPTR], owner = 0;
    dn_marks m = {NULL, NULL};
    if (nptr) {
        size_t words = (size_t)(nptr + 1) / 64 + 1;   /* positions 0 .. nptr + 1 */
        m.bits = calloc(words, sizeof *m.bits);
        m.below = malloc(words * sizeof *m.below);
        if (!m.bits || !m.below) goto out;
        for (uint32_t pos = 1; pos <= nptr; pos++)
            if (mc_dn_field_at(dn, pos) == field_row) m.bits[pos / 64] |= 1ull << (pos % 64);
        uint32_t run = 0;
        for (size_t w = 0; w < words; w++) {
            m.below[w] = run;
            run += (uint32_t)__builtin_popcountll(m.bits[w]);
        }
    }
    uint32_t n = mc_dn_rows(dn, MC_DN_T_TYPEDEF);
    for (uint32_t r = 1; r <= n && !owner; r++) {
        mc_dn_typedef td;
        if (mc_dn_get_typedef(dn, r, &td) != MC_DN_OK) break;
        if (td.field_first >= td.field_end) continue;
        if (nptr ? marks_below(&m, td.field_end) != marks_below(&m, td.field_first)
                 : field_row >= td.field_first && field_row < td.field_end)
            owner = r;
    }
out:
    free(m.bits);
    free(m.below);
    return owner;
}

/* ---- signatures and field data ---- */

static bool sig_uint(const uint8_t *p, uint32_t n, uint32_t *pos, uint32_t *v)
{
    if (*pos >= n) return false;
    uint8_t b = p[*pos];
    if ((b & 0x80) == 0) { *v = b; *pos += 1; return true; }
    if ((b & 0xC0) == 0x80 && n - *pos >= 2) {
        *v = ((uint32_t)(b & 0x3F) << 8) | p[*pos + 1]; *pos += 2; return true;
    }
    if ((b & 0xE0) == 0xC0 && n - *pos >= 4) {
        *v = ((uint32_t)(b & 0x1F) << 24) | ((uint32_t)p[*pos + 1] << 16) |
             ((uint32_t)p[*pos + 2] << 8) | p[*pos + 3];
        *pos += 4;
        return true;
    }
    return false;
}

mc_dn_err mc_dn_field_type(const mc_dotnet *dn, uint32_t field_row, uint8_t *elem,
                           const char **type_name)
{
    mc_dn_field f;
    const uint8_t *s;
    uint32_t n, pos = 1, v;
    mc_dn_err e = mc_dn_get_field(dn, field_row, &f);
    if (e == MC_DN_OK) e = mc_dn_blob(dn, f.sig, &s, &n);
    if (e != MC_DN_OK) return e;
    if (n < 2 || s[0] != 0x06) return MC_DN_E_INDEX;
    /* Custom modifiers (cmod_reqd/opt) precede the type; their count is bounded by the blob. */
    while (pos < n && (s[pos] == 0x1F || s[pos] == 0x20)) {
        pos++;
        if (!sig_uint(s, n, &pos, &v)) return MC_DN_E_INDEX;
    }
    if (pos >= n) return MC_DN_E_INDEX;
    *elem = s[pos++];
    if (type_name) *type_name = "";
    if ((*elem == 0x11 || *elem == 0x12) && type_name) {
        if (!sig_uint(s, n, &pos, &v)) return MC_DN_E_INDEX;
        uint32_t name;
        unsigned table = (v & 3) == 0 ? MC_DN_T_TYPEDEF : (v & 3) == 1 ? MC_DN_T_TYPEREF : 0xFF;
        if (table != 0xFF && mc_dn_cell(dn, table, v >> 2, 1, &name) == MC_DN_OK)
            *type_name = str_or_empty(dn, name);
    }
    return MC_DN_OK;
}

static const char *type_row_name(const mc_dotnet *dn, unsigned table, uint32_t row, const char **ns)
{
    uint32_t name, space;
    if (ns) *ns = "";
    if (mc_dn_cell(dn, table, row, 1, &name) != MC_DN_OK) return "";
    if (ns && mc_dn_cell(dn, table, row, 2, &space) == MC_DN_OK) *ns = str_or_empty(dn, space);
    return str_or_empty(dn, name);
}

const char *mc_dn_memberref_class(const mc_dotnet *dn, uint32_t row, const char **ns)
{
    uint32_t cls, blob, len, pos = 2, v;
    const uint8_t *p;
    if (ns) *ns = "";
    if (mc_dn_cell(dn, MC_DN_T_MEMBERREF, row, 0, &cls) != MC_DN_OK) return "";
    /* MemberRefParent: 0 TypeDef, 1 TypeRef, 2 ModuleRef, 3 MethodDef, 4 TypeSpec */
    if ((cls & 7) == 0) return type_row_name(dn, MC_DN_T_TYPEDEF, cls >> 3, ns);
    if ((cls & 7) == 1) return type_row_name(dn, MC_DN_T_TYPEREF, cls >> 3, ns);
    if ((cls & 7) != 4) return "";
    /* TypeSpec blob GENERICINST (CLASS|VALUETYPE) TypeDefOrRef ...: one level, no recursion. */
    if (mc_dn_cell(dn, MC_DN_T_TYPESPEC, cls >> 3, 0, &blob) != MC_DN_OK ||
        mc_dn_blob(dn, blob, &p, &len) != MC_DN_OK)
        return "";
    if (len < 3 || p[0] != 0x15 || (p[1] != 0x11 && p[1] != 0x12) || !sig_uint(p, len, &pos, &v))
        return "";
    if ((v & 3) == 0) return type_row_name(dn, MC_DN_T_TYPEDEF, v >> 2, ns);
    if ((v & 3) == 1) return type_row_name(dn, MC_DN_T_TYPEREF, v >> 2, ns);
    return "";
}

mc_dn_err mc_dn_field_data(const mc_dotnet *dn, uint32_t field_row, uint8_t *dst, size_t n, uint64_t *va)
{
    if (!dn || !dst) return MC_DN_E_ARG;
    if (n > MC_DN_MAX_BODY) return MC_DN_E_LIMIT;
    uint32_t rows = dn->rows[MC_DN_T_FIELDRVA];
    for (uint32_t r = 1; r <= rows; r++) {
        uint32_t rva, f;
        if (mc_dn_cell(dn, MC_DN_T_FIELDRVA, r, 1, &f) != MC_DN_OK) return MC_DN_E_INDEX;
        if (f != field_row) continue;
        if (mc_dn_cell(dn, MC_DN_T_FIELDRVA, r, 0, &rva) != MC_DN_OK) return MC_DN_E_INDEX;
        return read_rva(dn, rva, dst, n, va) ? MC_DN_OK : MC_DN_E_INDEX;
    }
    return MC_DN_E_INDEX;
}

/* ---- method bodies ---- */

mc_dn_err mc_dn_get_body(const mc_dotnet *dn, uint32_t method_row, mc_dn_body *out)
{
    mc_dn_method m;
    memset(out, 0, sizeof *out);
    mc_dn_err e = mc_dn_get_method(dn, method_row, &m);
    if (e != MC_DN_OK) return e;
    uint8_t h[12];
    uint64_t va;
    if (m.rva == 0 || !read_rva(dn, m.rva, h, 1, &va)) return MC_DN_E_BODY;
    uint32_t hdr, len;
    if ((h[0] & 3) == 2) {
        hdr = 1;
        len = h[0] >> 2;
    } else if ((h[0] & 3) == 3) {
        if (!read_rva(dn, m.rva, h, 12, NULL)) return MC_DN_E_BODY;
        hdr = (uint32_t)(md_le16(h) >> 12) * 4;
        len = md_le32(h + 4);
        if (hdr < 12) return MC_DN_E_BODY;
        out->fat = true;
    } else return MC_DN_E_BODY;
    if (len > MC_DN_MAX_BODY) return MC_DN_E_LIMIT;
    if (m.rva > UINT32_MAX - hdr) return MC_DN_E_BODY;
    uint64_t code_va = 0;   /* as for the metadata: allocate only what the dump can fill */
    if (rva_extent(dn, m.rva + hdr, &code_va) < len || md_avail(dn->d, code_va) < len)
        return MC_DN_E_BODY;
    out->code = malloc(len ? len : 1);
    if (!out->code) return MC_DN_E_NOMEM;
    if (!read_rva(dn, m.rva + hdr, out->code, len, &out->va)) {
        mc_dn_body_free(out);
        return MC_DN_E_BODY;
    }
    out->len = len;
    return MC_DN_OK;
}

void mc_dn_body_free(mc_dn_body *b)
{
    if (!b) return;
    free(b->code);
    b->code = NULL;
    b->len = 0;
}

/* ---- IL ---- */

/* Operand size of a one-byte opcode (II and III of ECMA-335); -1 for switch. */
static int operand1(uint8_t op)
{
    if (op == 0x0E || op == 0x0F || op == 0x10 || op == 0x11 || op == 0x12 || op == 0x13) return 1;
    if (op == 0x1F || op == 0xDE || (op >= 0x2B && op <= 0x37)) return 1;
    if (op == 0x20 || op == 0x22 || op == 0xDD || (op >= 0x38 && op <= 0x44)) return 4;
    if (op == 0x21 || op == 0x23) return 8;
    if (op == 0x45) return -1;
    if (op == 0x27 || op == 0x28 || op == 0x29 || op == 0x6F || (op >= 0x70 && op <= 0x75) ||
        op == 0x79 || (op >= 0x7B && op <= 0x81) || op == 0x8C || op == 0x8D || op == 0x8F ||
        op == 0xA3 || op == 0xA4 || op == 0xA5 || op == 0xC2 || op == 0xC6 || op == 0xD0)
        return 4;
    return 0;
}

static int operand2(uint8_t op)
{
    if (op == 0x06 || op == 0x07 || op == 0x15 || op == 0x16 || op == 0x1C) return 4;
    if (op >= 0x09 && op <= 0x0E) return 2;
    if (op == 0x12 || op == 0x19) return 1;
    return 0;
}

bool mc_dn_next_insn(const uint8_t *il, uint32_t len, uint32_t *pos, mc_dn_insn *out)
{
    uint32_t p = *pos;
    if (p >= len) return false;
    int osz;
    out->off = p;
    out->arg = 0;
    if (il[p] == 0xFE && p + 1 < len) {
        out->op = (uint16_t)(0xFE00 | il[p + 1]);
        osz = operand2(il[p + 1]);
        p += 2;
    } else {
        out->op = il[p];
        osz = operand1(il[p]);
        p += 1;
    }
    if (osz < 0) {
        /* switch: u32 count then count i32 targets; the targets are skipped, not decoded. */
        if (len - p < 4) return false;
        uint64_t n = md_le32(il + p);
        if (n > (len - p - 4) / 4) return false;
        out->arg = (int64_t)n;
        p += 4 + (uint32_t)n * 4;
        out->len = 5;
    } else {
        if ((uint32_t)osz > len - p) return false;
        if (osz == 1) out->arg = (out->op == 0x1F || (out->op >= 0x2B && out->op <= 0x37) || out->op == 0xDE)
                                     ? (int8_t)il[p] : il[p];
        else if (osz == 2) out->arg = md_le16(il + p);
        else if (osz == 4) out->arg = (out->op == 0x20) ? (int32_t)md_le32(il + p) : (int64_t)md_le32(il + p);
        else if (osz == 8) out->arg = (int64_t)md_le64(il + p);
        p += (uint32_t)osz;
        out->len = (uint8_t)(p - *pos);
    }
    *pos = p;
    return true;
}

static bool is_ldc_i4(const mc_dn_insn *i, int32_t *v, uint8_t *form)
{
    if (i->op >= 0x15 && i->op <= 0x1E) { *v = (int32_t)i->op - 0x16; *form = 0; return true; }
    if (i->op == 0x1F) { *v = (int32_t)i->arg; *form = 1; return true; }
    if (i->op == 0x20) { *v = (int32_t)i->arg; *form = 2; return true; }
    return false;
}

#define RING 6
/* The k-th instruction before the current one (k = 1 is the previous), or NULL. */
static const mc_dn_insn *back(const mc_dn_insn *ring, size_t count, size_t k)
{
    return k <= count && k < RING ? &ring[(count - k) % RING] : NULL;
}

static bool match_item(const mc_dn_insn *ring, size_t cnt, mc_dn_item *it)
{
    const mc_dn_insn *a = back(ring, cnt, 1), *b = back(ring, cnt, 2), *c = back(ring, cnt, 3);
    if (!a) return false;
    int32_t v;
    uint8_t form;
    if (a->op == 0x72 || (a->op == 0x28 && b && b->op == 0x72)) {
        const mc_dn_insn *ld = a->op == 0x72 ? a : b, *before = a->op == 0x72 ? b : c;
        if (before && before->op == 0x72) return false;  /* a concatenation, not one literal */
        it->kind = MC_DN_ITEM_STR;
        it->us_token = (uint32_t)ld->arg;
        it->via_call = a->op == 0x28;
        it->il_off = ld->off;
        return ((uint32_t)ld->arg >> 24) == 0x70;
    }
    if (a->op == 0x14) { it->kind = MC_DN_ITEM_NULL; it->il_off = a->off; return true; }
    if (a->op == 0x7E) {
        it->kind = MC_DN_ITEM_COPY; it->src_token = (uint32_t)a->arg; it->il_off = a->off;
        return true;
    }
    if (is_ldc_i4(a, &v, &form)) {
        it->kind = MC_DN_ITEM_INT; it->ival = v; it->int_form = form; it->il_off = a->off;
        return true;
    }
    const mc_dn_insn *d = back(ring, cnt, 4), *e = back(ring, cnt, 5);
    if (a->op == 0x28 && b && b->op == 0xD0 && c && c->op == 0x25 && d && d->op == 0x8D && e &&
        is_ldc_i4(e, &v, &form) && ((uint32_t)b->arg >> 24) == 0x04 && v >= 0) {
        it->kind = MC_DN_ITEM_BYTES; it->ival = v; it->il_off = e->off;
        it->data_field = (uint32_t)b->arg & 0xFFFFFF;
        return true;
    }
    return false;
}

size_t mc_dn_scan_items(const uint8_t *il, uint32_t len, mc_dn_item *out, size_t max)
{
    mc_dn_insn ring[RING];
    size_t cnt = 0, n = 0;
    uint32_t pos = 0;
    mc_dn_insn in;
    if (!il || !out) return 0;
    while (n < max && mc_dn_next_insn(il, len, &pos, &in)) {
        if (in.op == 0x80 && ((uint32_t)in.arg >> 24) == 0x04) {
            mc_dn_item it;
            memset(&it, 0, sizeof it);
            if (match_item(ring, cnt, &it)) {
                it.field = (uint32_t)in.arg & 0xFFFFFF;
                out[n++] = it;
            }
        }
        ring[cnt % RING] = in;
        cnt++;
    }
    return n;
}

size_t mc_dn_each_image(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                        mc_dn_image_fn fn, void *arg)
{
    uint64_t done[MC_DN_MAX_IMAGES];
    size_t ndone = 0, total = 0;
    for (size_t i = 0; i < hits->n && ndone < MC_DN_MAX_IMAGES && !mc_expired(ctx); i++) {
        const md_image *img = md_image_at(d, hits->v[i].va);
        if (!img) continue;
        bool seen = false;
        for (size_t k = 0; k < ndone && !seen; k++) seen = done[k] == img->base;
        if (seen) continue;
        done[ndone++] = img->base;
        mc_dotnet *dn;
        if (mc_dn_open(d, img, &dn) != MC_DN_OK) continue;
        total += fn(arg, img, dn);
        mc_dn_close(dn);
    }
    return total;
}

char *mc_dn_item_text(const mc_dotnet *dn, mc_dn_item *it, size_t max, uint64_t *va)
{
    uint8_t elem = 0;
    const char *tname = "";
    *va = 0;
    if (it->kind == MC_DN_ITEM_COPY && (it->src_token >> 24) == 0x0A &&
        mc_dn_field_type(dn, it->field, &elem, &tname) == MC_DN_OK && elem == 0x0E &&
        strcmp(mc_dn_memberref_name(dn, it->src_token & 0xFFFFFF), "Empty") == 0) {
        it->kind = MC_DN_ITEM_STR;
        return strdup("");
    }
    if (it->kind != MC_DN_ITEM_STR || max == 0) return NULL;
    char *buf = malloc(max);
    if (buf && mc_dn_us_utf8(dn, it->us_token, buf, max, va) == MC_DN_OK) return buf;
    free(buf);
    return NULL;
}
