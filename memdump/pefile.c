/* PE payload files (CAPE/procdump) mapped virtually without copying, and the raw builder.
 *
 * A file-layout PE becomes one region for its headers at ImageBase and one per section at
 * ImageBase + VirtualAddress backed by the section's raw bytes, so decoders read it by VA exactly
 * as they would read the loaded image in a process dump. */
#include "md_core.h"

#include <string.h>

enum {
    SCN_MEM_EXECUTE = 0x20000000u,
    SCN_MEM_READ = 0x40000000u,
    SCN_MEM_WRITE = 0x80000000u,
};

uint32_t md_pe_section_protect(uint32_t c)
{
    bool x = c & SCN_MEM_EXECUTE, w = c & SCN_MEM_WRITE, r = c & SCN_MEM_READ;
    if (x) return w ? MD_PAGE_EXECUTE_READWRITE : (r ? MD_PAGE_EXECUTE_READ : MD_PAGE_EXECUTE);
    if (w) return MD_PAGE_READWRITE;
    return r ? MD_PAGE_READONLY : MD_PAGE_NOACCESS;
}

md_arch md_pe_arch(uint16_t machine)
{
    switch (machine) {
    case 0x14c: return MD_ARCH_X86;
    case 0x8664: return MD_ARCH_AMD64;
    case 0x1c0: case 0x1c4: return MD_ARCH_ARM;
    case 0xaa64: return MD_ARCH_ARM64;
    default: return MD_ARCH_UNKNOWN;
    }
}

bool md_sniff_pe(const uint8_t *buf, uint64_t len)
{
    md_pe_hdr h;
    if (!buf || len < 0x40 || buf[0] != 'M' || buf[1] != 'Z' || !md_pe_parse(buf, len, &h))
        return false;
    /* A dumped image in loaded layout is better served as raw memory at ImageBase. */
    return md_pe_guess_layout(buf, len, &h, MD_LAYOUT_FLAT) == MD_LAYOUT_FLAT;
}

static md_err add_section(md_builder *b, uint64_t base, const md_pe_section *s, unsigned idx)
{
    uint64_t size = s->raw_size;
    if (s->vsize && s->vsize < size) size = s->vsize;
    if (size == 0) return MD_OK;
    if (s->raw_off >= b->len) {
        return md_b_warn(b, MD_W_TRUNCATED, "PE section %u lies past the end of the file", idx);
    }
    uint32_t flags = MD_R_IMAGE;
    if (!md_span_ok(s->raw_off, size, b->len)) {
        size = b->len - s->raw_off;
        flags |= MD_R_TRUNCATED;
        md_err e = md_b_warn(b, MD_W_TRUNCATED, "PE section %u is cut short by the end of the file", idx);
        if (e) return e;
    }
    uint64_t va;
    if (!md_add_ok(base, s->va, &va)) {
        return md_b_warn(b, MD_W_BAD_RECORD, "PE section %u wraps the address space", idx);
    }
    return md_b_region(b, va, size, s->raw_off, md_pe_section_protect(s->characteristics),
                       MD_MEM_COMMIT, MD_MEM_IMAGE, base, flags);
}

static const char *file_basename(const char *path)
{
    const char *s = path;
    for (const char *c = path; *c; c++)
        if (*c == '/' || *c == '\\') s = c + 1;
    return s;
}

md_err md_build_pe(md_builder *b, char *err, size_t errlen)
{
    md_pe_hdr h;
    if (!md_pe_parse(b->buf, b->len, &h)) {
        md_setf(err, errlen, "not a valid PE file");
        return MD_E_FORMAT;
    }
    uint64_t base = b->opts->has_raw_base ? b->opts->raw_base : h.image_base;
    uint64_t hsize = h.size_of_headers < b->len ? h.size_of_headers : b->len;
    uint64_t end;
    if (!md_add_ok(base, h.size_of_image, &end)) {
        md_setf(err, errlen, "PE image at 0x%llx wraps the address space", (unsigned long long)base);
        return MD_E_CORRUPT;
    }
    b->d->arch = md_pe_arch(h.machine);
    md_err e = md_b_region(b, base, hsize, 0, MD_PAGE_READONLY, MD_MEM_COMMIT, MD_MEM_IMAGE, base,
                           MD_R_IMAGE);
    for (unsigned i = 0; e == MD_OK && i < h.nsections; i++) e = add_section(b, base, &h.sect[i], i);
    if (e) return e;
    const char *name = b->path ? file_basename(b->path) : "";
    uint32_t stamp = md_le32(b->buf + h.e_lfanew + 8);
    return md_b_module(b, base, h.size_of_image, name, stamp, 0);
}

md_err md_build_raw(md_builder *b, char *err, size_t errlen)
{
    uint64_t base = b->opts->raw_base;
    md_pe_hdr h;
    /* A loaded image dumped as-is carries its own base; take it when the caller gave none. */
    if (!b->opts->has_raw_base && b->opts->raw_base == 0 && b->len >= 0x40 && b->buf[0] == 'M' &&
        b->buf[1] == 'Z' && md_pe_parse(b->buf, b->len, &h)) {
        base = h.image_base;
        b->d->arch = md_pe_arch(h.machine);
    }
    uint64_t end;
    if (!md_add_ok(base, b->len, &end)) {
        md_setf(err, errlen, "raw base 0x%llx leaves no room for %llu bytes",
                (unsigned long long)base, (unsigned long long)b->len);
        return MD_E_ARG;
    }
    return md_b_region(b, base, b->len, 0, 0, 0, 0, 0, 0);
}
