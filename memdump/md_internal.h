/* Internal interface between the memdump core (memdump.c) and the per-format region builders.
 *
 * A builder receives the whole (decompressed) input and appends raw facts: data ranges, labels,
 * modules, threads and warnings. The core then sorts, trims overlaps, applies labels and caps,
 * builds runs and finds images. Builders never sort and never touch runs.
 */
#ifndef MEMCFG_MD_INTERNAL_H
#define MEMCFG_MD_INTERNAL_H

#include "memdump.h"

#include <stdarg.h>

/* Little-endian loads from a byte pointer the caller has bounds-checked. */
static inline uint16_t md_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t md_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t md_le64(const uint8_t *p) { return md_le32(p) | ((uint64_t)md_le32(p + 4) << 32); }

/* Overflow-checked helpers: return false on overflow. */
static inline bool md_add_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline bool md_mul_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }
/* True when [off, off+len) lies inside a buffer of size total. */
static inline bool md_span_ok(uint64_t off, uint64_t len, uint64_t total)
{
    return off <= total && len <= total - off;
}

/* A label from a memory-info list (minidump MemoryInfoListStream, cuckoo record header, ELF
 * PT_LOAD flags): applies to every region byte in [va, va+size). */
typedef struct md_label {
    uint64_t va, size, alloc_base;
    uint32_t protect, state, type;
} md_label;

typedef struct md_builder {
    const uint8_t *buf;
    uint64_t len;
    const md_open_opts *opts;
    const char *path;         /* may be NULL (md_open_mem) */
    md_dump *d;               /* format, arch, pid, process may be set directly */

    md_region *regions; size_t nregions, capregions;
    md_label *labels;   size_t nlabels, caplabels;
    md_module *modules; size_t nmodules, capmodules;
    md_thread *threads; size_t nthreads, capthreads;
    bool region_cap_hit, module_cap_hit;
} md_builder;

/* Append a data range [va, va+size) backed by buf[off, off+size). The core clamps nothing here:
 * builders clamp against b->len themselves and set MD_R_TRUNCATED. Fields protect/state/type/
 * alloc_base/flags may be 0. Returns MD_E_NOMEM, or MD_OK (also when the region cap is hit: the
 * region is dropped and one MD_W_LIMIT warning is recorded). Zero-size ranges are ignored. */
md_err md_b_region(md_builder *b, uint64_t va, uint64_t size, uint64_t off, uint32_t protect,
                   uint32_t state, uint32_t type, uint64_t alloc_base, uint32_t flags);
md_err md_b_label(md_builder *b, const md_label *l);
/* path is copied; NULL means "". */
md_err md_b_module(md_builder *b, uint64_t base, uint64_t size, const char *path,
                   uint32_t timestamp, uint32_t checksum);
md_err md_b_thread(md_builder *b, uint32_t tid, uint64_t stack_va, uint64_t stack_size, uint64_t teb);
/* Record a warning (printf-style, one line). Duplicate messages are kept once. */
md_err md_b_warn(md_builder *b, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Builder entry points, one per container. Each returns MD_OK with at least zero regions, or an
 * error with a one-line message in err. */
typedef md_err (*md_build_fn)(md_builder *b, char *err, size_t errlen);
md_err md_build_minidump(md_builder *b, char *err, size_t errlen);
md_err md_build_cuckoo(md_builder *b, char *err, size_t errlen);
md_err md_build_elfcore(md_builder *b, char *err, size_t errlen);
md_err md_build_pe(md_builder *b, char *err, size_t errlen);
md_err md_build_raw(md_builder *b, char *err, size_t errlen);

/* Per-format sniffers: true when the buffer looks like the format. */
bool md_sniff_minidump(const uint8_t *buf, uint64_t len);
bool md_sniff_cuckoo(const uint8_t *buf, uint64_t len);
bool md_sniff_elfcore(const uint8_t *buf, uint64_t len);
bool md_sniff_pe(const uint8_t *buf, uint64_t len);

/* Decompression (compress.c): detect a gzip or zlib wrapper and inflate it into an anonymous
 * mapping of at most cap bytes. */
md_compression md_sniff_compression(const uint8_t *buf, uint64_t len);
md_err md_inflate(const uint8_t *buf, uint64_t len, md_compression kind, uint64_t cap,
                  uint8_t **out, uint64_t *outlen, char *err, size_t errlen);
void md_inflate_free(uint8_t *p, uint64_t len);

/* Image finder (image.c): fills d->images from modules, MEM_IMAGE regions and an MZ scan of
 * every page start (left to md_probe_images when defer_probe). */
md_err md_find_images(md_dump *d, bool defer_probe);
/* Parse PE headers at buf[0, len) as found at va; used by the finder and by md_build_pe. */
typedef struct md_pe_section {
    uint32_t va, vsize, raw_off, raw_size, characteristics;
} md_pe_section;
typedef struct md_pe_hdr {
    uint16_t machine, nsections;
    uint32_t size_of_image, size_of_headers, e_lfanew, section_table_off;
    uint64_t image_base;
    bool pe64, dll, dotnet;
    md_pe_section sect[96];   /* PE allows up to 96 sections */
} md_pe_hdr;
bool md_pe_parse(const uint8_t *buf, uint64_t len, md_pe_hdr *h);

void md_setf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
