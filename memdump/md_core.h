/* Private helpers shared by the memdump core files (memdump.c, image.c, pefile.c) and not by the
 * per-format readers: warnings on a finished dump, page hints for the image scan, PE layout
 * guessing. */
#ifndef MEMCFG_MD_CORE_H
#define MEMCFG_MD_CORE_H

#include "md_internal.h"

/* A dump's private part, shared by the core files. */
struct md_private {
    void *map;            /* file mapping, or NULL */
    uint64_t map_len;
    uint8_t *inflated;    /* decompressed buffer, or NULL */
    uint64_t inflated_len;
    int fd;               /* open while the dump is being built, -1 afterwards */
    size_t *by_off;       /* region indexes sorted by buffer offset, for md_off_to_va */
    size_t cap_warnings;
    bool probe_pending;   /* md_probe_images has the page-start image probe to do */
};

/* Record a warning on an opened dump (the builder is gone by the time images are found). */
md_err md_dump_warn(md_dump *d, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* md_open_mem with a given builder instead of sniffing (tests and fuzzers drive the finishing
 * pass with hand-made facts). No decompression; the format is raw unless the builder sets it. */
md_err md_open_with(md_build_fn fn, const uint8_t *buf, uint64_t len, const md_open_opts *opts,
                    md_dump **out, char *err, size_t errlen);

/* The next stretch [*start, *end) at or after off that may hold data. For a sparse file the holes
 * read as zeros and can hold no header, so scans skip them; other buffers are one stretch up to
 * the end of the buffer. */
void md_data_extent(const md_dump *d, uint64_t off, uint64_t *start, uint64_t *end);
/* Tell the kernel a scanned stretch of a file mapping is not needed any more, so a scan over a
 * large dump does not keep it resident. No effect on memory buffers. */
void md_release(const md_dump *d, uint64_t off, uint64_t len);
void md_release_around(const md_dump *d, uint64_t off);   /* see memdump.h */

/* Guess whether the PE whose headers h were parsed from buf[0, len) is laid out as loaded
 * (sections at VirtualAddress) or as on disk (sections at PointerToRawData). dflt is returned
 * when the bytes give no evidence either way. */
md_layout md_pe_guess_layout(const uint8_t *buf, uint64_t len, const md_pe_hdr *h, md_layout dflt);

/* Page protection a loader gives a section with these characteristics. */
uint32_t md_pe_section_protect(uint32_t characteristics);
md_arch md_pe_arch(uint16_t machine);

#endif
