/* ELF core files (Linux kernel cores and gdb `gcore`), little-endian, 32 and 64 bit.
 *
 * PT_LOAD segments carry the memory: only [p_vaddr, p_vaddr + p_filesz) has bytes; the rest of
 * p_memsz was not dumped (it is not BSS). PT_NOTE holds NT_PRSTATUS / NT_PRPSINFO (pid) and NT_FILE
 * (file-backed mappings), which become modules and mark their ranges as MEM_IMAGE.
 */
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

enum {
    EC_ET_CORE = 4, EC_PT_LOAD = 1, EC_PT_NOTE = 4, EC_PN_XNUM = 0xffff,
    EC_PF_X = 1, EC_PF_W = 2, EC_PF_R = 4,
    EC_NT_PRSTATUS = 1, EC_NT_PRPSINFO = 3, EC_NT_FILE = 0x46494c45,
    EC_EM_386 = 3, EC_EM_ARM = 40, EC_EM_X86_64 = 62, EC_EM_AARCH64 = 183,
};
#define EC_EHDR32 52u
#define EC_EHDR64 64u
/* Notes walked across all PT_NOTE segments; a process with thousands of threads stays far below. */
#define EC_MAX_NOTES (1u << 20)
/* Longest NT_FILE path taken; the kernel's own limit is PATH_MAX. */
#define EC_MAX_PATH 4096u
/* The canonical upper half of a 64-bit address space is kernel memory ([vsyscall] lives there). */
#define EC_KERNEL_HALF 0xffff800000000000ull

typedef struct ec_file {
    uint64_t start, end, ofs; /* ofs in bytes, UINT64_MAX when unknown */
    const char *name;         /* inside the note, NUL-terminated there */
} ec_file;

typedef struct ec_ctx {
    md_builder *b;
    bool is64;
    unsigned w;               /* sizeof(long) in the core */
    uint64_t phoff, phnum, phentsize;
    ec_file *files; size_t nfiles;
    bool have_prpsinfo;
    uint64_t past_eof, first_past_eof_va; /* segments lost to a cut file, reported once */
} ec_ctx;

bool md_sniff_elfcore(const uint8_t *buf, uint64_t len)
{
    if (!buf || len < EC_EHDR32 || memcmp(buf, "\177ELF", 4) != 0) return false;
    if (buf[4] != 1 && buf[4] != 2) return false;
    if (buf[5] != 1) return false;
    if (buf[4] == 2 && len < EC_EHDR64) return false;
    return md_le16(buf + 16) == EC_ET_CORE;
}

static uint64_t ec_word(const ec_ctx *c, const uint8_t *p) { return c->w == 8 ? md_le64(p) : md_le32(p); }

static md_arch ec_arch(uint16_t machine)
{
    switch (machine) {
    case EC_EM_386: return MD_ARCH_X86;
    case EC_EM_X86_64: return MD_ARCH_AMD64;
    case EC_EM_ARM: return MD_ARCH_ARM;
    case EC_EM_AARCH64: return MD_ARCH_ARM64;
    default: return MD_ARCH_UNKNOWN;
    }
}

/* Windows has no write-only page, so W alone reads as READWRITE. */
static uint32_t ec_protect(uint32_t pf)
{
    bool r = pf & EC_PF_R, w = pf & EC_PF_W, x = pf & EC_PF_X;
    if (x) return w ? MD_PAGE_EXECUTE_READWRITE : r ? MD_PAGE_EXECUTE_READ : MD_PAGE_EXECUTE;
    if (w) return MD_PAGE_READWRITE;
    return r ? MD_PAGE_READONLY : MD_PAGE_NOACCESS;
}

/* Header fields and the program header count, following PN_XNUM into section header 0. */
static md_err ec_header(ec_ctx *c, char *err, size_t errlen)
{
    const uint8_t *p = c->b->buf;
    uint64_t len = c->b->len, shoff, shentsize, min_ph = c->is64 ? 56 : 32, min_sh = c->is64 ? 64 : 40;
    if (c->is64) {
        c->phoff = md_le64(p + 32);
        shoff = md_le64(p + 40);
        c->phentsize = md_le16(p + 54);
        c->phnum = md_le16(p + 56);
        shentsize = md_le16(p + 58);
    } else {
        c->phoff = md_le32(p + 28);
        shoff = md_le32(p + 32);
        c->phentsize = md_le16(p + 42);
        c->phnum = md_le16(p + 44);
        shentsize = md_le16(p + 46);
    }
    if (c->phnum == EC_PN_XNUM) {
        if (shentsize < min_sh || !md_span_ok(shoff, shentsize, len)) {
            md_setf(err, errlen, "ELF core extended program header count: section header 0 is "
                    "missing or past end of file");
            return MD_E_CORRUPT;
        }
        c->phnum = md_le32(p + shoff + (c->is64 ? 44 : 28));
    }
    if (c->phnum == 0) return MD_OK;
    if (c->phentsize < min_ph) {
        md_setf(err, errlen, "ELF core program header entry size %llu is too small",
                (unsigned long long)c->phentsize);
        return MD_E_CORRUPT;
    }
    uint64_t tab;
    if (!md_mul_ok(c->phnum, c->phentsize, &tab) || !md_span_ok(c->phoff, tab, len)) {
        md_setf(err, errlen, "ELF core program header table points past end of file");
        return MD_E_CORRUPT;
    }
    return MD_OK;
}

typedef struct ec_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
} ec_phdr;

static void ec_phdr_at(const ec_ctx *c, uint64_t i, ec_phdr *ph)
{
    const uint8_t *p = c->b->buf + c->phoff + i * c->phentsize; /* bounded by ec_header */
    ph->type = md_le32(p);
    if (c->is64) {
        ph->flags = md_le32(p + 4);
        ph->offset = md_le64(p + 8);
        ph->vaddr = md_le64(p + 16);
        ph->filesz = md_le64(p + 32);
        ph->memsz = md_le64(p + 40);
        ph->align = md_le64(p + 48);
    } else {
        ph->offset = md_le32(p + 4);
        ph->vaddr = md_le32(p + 8);
        ph->filesz = md_le32(p + 16);
        ph->memsz = md_le32(p + 20);
        ph->flags = md_le32(p + 24);
        ph->align = md_le32(p + 28);
    }
}

/* NT_FILE: long count, long page_size, {long start, end, file_ofs}[count], then count names.
 * gcore writes page_size 1 (offsets in bytes), the kernel 4096 (offsets in pages). */
static md_err ec_nt_file(ec_ctx *c, const uint8_t *desc, uint64_t dsz)
{
    md_builder *b = c->b;
    uint64_t w = c->w;
    if (c->files || dsz < 2 * w) return MD_OK; /* the kernel writes one NT_FILE; keep the first */
    uint64_t count = ec_word(c, desc), page = ec_word(c, desc + w);
    uint64_t fit = (dsz - 2 * w) / (3 * w);
    uint64_t cap = b->opts && b->opts->max_modules ? b->opts->max_modules : MD_DEFAULT_MAX_MODULES;
    if (count > fit) {
        md_err e = md_b_warn(b, MD_W_BAD_RECORD, "ELF core NT_FILE count %llu exceeds its note; "
                             "reading %llu", (unsigned long long)count, (unsigned long long)fit);
        if (e != MD_OK) return e;
        count = fit;
    }
    /* Names follow all the entries the note declares, even those past the module cap. */
    uint64_t names = 2 * w + count * 3 * w;
    if (count > cap) {
        md_err e = md_b_warn(b, MD_W_LIMIT, "ELF core NT_FILE lists %llu mappings; keeping %llu",
                             (unsigned long long)count, (unsigned long long)cap);
        if (e != MD_OK) return e;
        count = cap;
    }
    if (count == 0) return MD_OK;
    c->files = calloc(count, sizeof *c->files);
    if (!c->files) return MD_E_NOMEM;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = desc + 2 * w + i * 3 * w;
        const uint8_t *nul = names < dsz ? memchr(desc + names, 0, dsz - names) : NULL;
        if (!nul) return md_b_warn(b, MD_W_BAD_RECORD, "ELF core NT_FILE names end early");
        ec_file *f = &c->files[c->nfiles];
        f->start = ec_word(c, e);
        f->end = ec_word(c, e + w);
        if (page == 0 || !md_mul_ok(ec_word(c, e + 2 * w), page, &f->ofs)) f->ofs = UINT64_MAX;
        f->name = (const char *)desc + names;
        names += (uint64_t)(nul - (desc + names)) + 1;
        if (f->end > f->start) c->nfiles++;
    }
    return MD_OK;
}

static void ec_prstatus(ec_ctx *c, const uint8_t *desc, uint64_t dsz)
{
    /* pr_pid follows the siginfo, cursig and two sigset longs: +32 on LP64, +24 on ILP32. */
    uint64_t at = c->is64 ? 32 : 24;
    if (c->have_prpsinfo || c->b->d->pid || dsz < at + 4) return;
    c->b->d->pid = md_le32(desc + at);
}

static void ec_prpsinfo(ec_ctx *c, const uint8_t *desc, uint64_t dsz)
{
    /* x86-64 keeps 32-bit uid/gid after an 8-byte pr_flag; i386 has a 4-byte flag and 16-bit ids. */
    uint64_t at = c->is64 ? 24 : 12;
    if (dsz < at + 4 || md_le32(desc + at) == 0) return;
    c->b->d->pid = md_le32(desc + at);
    c->have_prpsinfo = true;
    /* pr_fname[16] follows pid, ppid, pgrp and sid. */
    uint64_t fn = at + 16;
    if (c->b->d->process || dsz < fn + 16 || desc[fn] == 0) return;
    c->b->d->process = strndup((const char *)desc + fn, 16);
}

/* Walk one PT_NOTE segment; returns MD_OK or MD_E_NOMEM, warnings for malformed notes. */
static md_err ec_notes(ec_ctx *c, const ec_phdr *ph, unsigned *budget)
{
    md_builder *b = c->b;
    if (!md_span_ok(ph->offset, ph->filesz, b->len))
        return md_b_warn(b, MD_W_BAD_RECORD, "ELF core note segment points past end of file");
    const uint8_t *p = b->buf + ph->offset;
    uint64_t n = ph->filesz, pos = 0, al = ph->align == 8 ? 8 : 4;
    while (n - pos >= 12) {
        if ((*budget)-- == 0) return md_b_warn(b, MD_W_LIMIT, "ELF core has too many notes");
        uint64_t namesz = md_le32(p + pos), descsz = md_le32(p + pos + 4);
        uint32_t type = md_le32(p + pos + 8);
        uint64_t name_off = pos + 12, desc_off = name_off + ((namesz + al - 1) & ~(al - 1));
        if (desc_off > n || descsz > n - desc_off)
            return md_b_warn(b, MD_W_BAD_RECORD, "ELF core note at offset %llu runs past its segment",
                             (unsigned long long)(ph->offset + pos));
        const uint8_t *desc = p + desc_off;
        if (namesz >= 4 && memcmp(p + name_off, "CORE", 4) == 0 && (namesz == 4 || p[name_off + 4] == 0)) {
            if (type == EC_NT_PRSTATUS) ec_prstatus(c, desc, descsz);
            else if (type == EC_NT_PRPSINFO) ec_prpsinfo(c, desc, descsz);
            else if (type == EC_NT_FILE) {
                md_err e = ec_nt_file(c, desc, descsz);
                if (e != MD_OK) return e;
            }
        }
        uint64_t next = desc_off + ((descsz + al - 1) & ~(al - 1));
        if (next > n) break;
        pos = next;
    }
    return MD_OK;
}

static int ec_file_cmp(const void *a, const void *b)
{
    const ec_file *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool ec_file_backed(const ec_ctx *c, uint64_t va)
{
    size_t lo = 0, hi = c->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->files[mid].start <= va) lo = mid + 1;
        else hi = mid;
    }
    return lo > 0 && va < c->files[lo - 1].end;
}

/* One module per run of consecutive mappings of the same file. Its base is where file offset 0
 * sits: the first mapping's start minus its file offset. */
static md_err ec_modules(ec_ctx *c)
{
    for (size_t i = 0; i < c->nfiles;) {
        const ec_file *f = &c->files[i];
        uint64_t base = f->ofs != UINT64_MAX && f->ofs <= f->start ? f->start - f->ofs : f->start;
        uint64_t end = f->end;
        size_t j = i + 1;
        for (; j < c->nfiles && strcmp(c->files[j].name, f->name) == 0 && c->files[j].start >= end; j++)
            end = c->files[j].end;
        if (strnlen(f->name, EC_MAX_PATH) < EC_MAX_PATH) {
            md_err e = md_b_module(c->b, base, end - base, f->name, 0, 0);
            if (e != MD_OK) return e;
        }
        i = j;
    }
    return MD_OK;
}

static md_err ec_load(ec_ctx *c, const ec_phdr *ph)
{
    md_builder *b = c->b;
    uint64_t end, size = ph->filesz < ph->memsz ? ph->filesz : ph->memsz;
    if (size == 0) return MD_OK; /* not dumped */
    if (!md_add_ok(ph->vaddr, ph->memsz, &end) || (!c->is64 && end > (1ull << 32)))
        return md_b_warn(b, MD_W_BAD_RECORD, "ELF core segment at 0x%llx wraps the address space",
                         (unsigned long long)ph->vaddr);
    if (c->is64 && ph->vaddr >= EC_KERNEL_HALF) return MD_OK;
    if (ph->offset >= b->len) {
        if (c->past_eof++ == 0) c->first_past_eof_va = ph->vaddr;
        return MD_OK;
    }
    uint32_t flags = 0;
    if (size > b->len - ph->offset) {
        md_err e = md_b_warn(b, MD_W_TRUNCATED, "ELF core truncated: segment 0x%llx keeps %llu of "
                             "%llu bytes", (unsigned long long)ph->vaddr,
                             (unsigned long long)(b->len - ph->offset), (unsigned long long)size);
        if (e != MD_OK) return e;
        size = b->len - ph->offset;
        flags = MD_R_TRUNCATED;
    }
    uint32_t type = ec_file_backed(c, ph->vaddr) ? MD_MEM_IMAGE : 0;
    return md_b_region(b, ph->vaddr, size, ph->offset, ec_protect(ph->flags), MD_MEM_COMMIT, type,
                       0, flags);
}

static md_err ec_walk(ec_ctx *c)
{
    unsigned budget = EC_MAX_NOTES;
    ec_phdr ph;
    md_err e = MD_OK;
    for (uint64_t i = 0; i < c->phnum && e == MD_OK; i++) {
        ec_phdr_at(c, i, &ph);
        if (ph.type == EC_PT_NOTE) e = ec_notes(c, &ph, &budget);
    }
    if (e != MD_OK) return e;
    if (c->nfiles) qsort(c->files, c->nfiles, sizeof *c->files, ec_file_cmp);
    for (uint64_t i = 0; i < c->phnum && e == MD_OK && !c->b->region_cap_hit; i++) {
        ec_phdr_at(c, i, &ph);
        if (ph.type == EC_PT_LOAD) e = ec_load(c, &ph);
    }
    if (e == MD_OK && c->past_eof)
        e = md_b_warn(c->b, MD_W_TRUNCATED, "ELF core truncated: %llu segments from 0x%llx on are "
                      "past end of file", (unsigned long long)c->past_eof,
                      (unsigned long long)c->first_past_eof_va);
    return e == MD_OK ? ec_modules(c) : e;
}

md_err md_build_elfcore(md_builder *b, char *err, size_t errlen)
{
    b->d->format = MD_FMT_ELFCORE;
    if (b->len < EC_EHDR32 || memcmp(b->buf, "\177ELF", 4) != 0) {
        md_setf(err, errlen, "not an ELF file");
        return MD_E_FORMAT;
    }
    const uint8_t *p = b->buf;
    if ((p[4] != 1 && p[4] != 2) || p[5] != 1) {
        md_setf(err, errlen, "ELF core is not little-endian 32 or 64 bit (class %u, data %u)", p[4], p[5]);
        return MD_E_FORMAT;
    }
    if (md_le16(p + 16) != EC_ET_CORE) {
        md_setf(err, errlen, "ELF file is not a core (e_type %u)", md_le16(p + 16));
        return MD_E_FORMAT;
    }
    ec_ctx c = { .b = b, .is64 = p[4] == 2, .w = p[4] == 2 ? 8 : 4 };
    if (c.is64 && b->len < EC_EHDR64) {
        md_setf(err, errlen, "ELF core header is truncated");
        return MD_E_TRUNCATED;
    }
    b->d->arch = ec_arch(md_le16(p + 18));
    md_err e = ec_header(&c, err, errlen);
    if (e != MD_OK) return e;
    e = ec_walk(&c);
    free(c.files);
    if (e != MD_OK) md_setf(err, errlen, "ELF core: %s", md_strerror(e));
    return e;
}
