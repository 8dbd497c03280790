/* PE reader for images found inside a dump.
 *
 * An image in a snapshot is either mapped (sections at base + RVA, as the loader placed them) or
 * flat (file layout, sections at base + PointerToRawData, e.g. a buffer handed to a loader).
 * `base` is always where the image really is in this dump; ImageBase from the optional header is
 * kept only to rebase absolute pointers that were never relocated. Every byte is read through
 * md_read, so a reader works on every container and never leaves the dump's regions.
 */
#ifndef MEMCFG_MC_PE_H
#define MEMCFG_MC_PE_H

#include "memdump.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_PE_MAX_SECTIONS 96u
#define MC_PE_MAX_HEADERS 0x1000u      /* bytes of headers we parse (DOS + NT + section table) */
#define MC_PE_RES_MAX_DEPTH 3u         /* type / name / language */
#define MC_PE_RES_MAX_ENTRIES 4096u    /* entries read per directory; the rest are ignored */
#define MC_PE_RES_MAX_DIRS 1024u       /* directories visited per walk */
#define MC_PE_RES_MAX_WALK 65536u      /* directory entries read per walk (all directories) */
#define MC_PE_RES_MAX_NAME 256u        /* bytes of a UTF-8 resource name we keep */

enum { MC_RT_ICON = 3, MC_RT_RCDATA = 10, MC_RT_GROUP_ICON = 14, MC_RT_VERSION = 16 };

typedef struct mc_pe_section {
    char name[9];             /* NUL-terminated, may be empty */
    uint32_t rva, vsize, raw_off, raw_size, characteristics;
} mc_pe_section;

typedef struct mc_pe {
    const md_dump *dump;
    uint64_t base;            /* where the image is in this dump */
    uint64_t image_base;      /* ImageBase from the optional header */
    md_layout layout;
    bool pe64;
    uint16_t machine;
    uint32_t size_of_image, size_of_headers, entry_rva;
    uint32_t nsections;
    mc_pe_section sect[MC_PE_MAX_SECTIONS];
    uint32_t rsrc_rva, rsrc_size;   /* data directory 2; 0 when absent */
} mc_pe;

/* Parse the headers of an image the memdump finder reported. False when the headers are not
 * readable or not a PE (the caller falls back to a header-less path). */
bool mc_pe_open(mc_pe *pe, const md_dump *d, const md_image *img);
/* Same at an explicit base and layout. */
bool mc_pe_open_at(mc_pe *pe, const md_dump *d, uint64_t base, md_layout layout);

/* RVA -> VA in this dump, honouring the layout. False when the RVA is in no section and not in
 * the headers, or (flat) past a section's raw data. */
bool mc_pe_rva_to_va(const mc_pe *pe, uint32_t rva, uint64_t *va);
/* VA in this dump -> RVA. False when the VA is outside the image. */
bool mc_pe_va_to_rva(const mc_pe *pe, uint64_t va, uint32_t *rva);
/* An absolute pointer as read from code or data: relocated to the real base (mapped images the
 * loader fixed up) or still based on ImageBase (flat copies, images loaded at their preferred
 * base). Returns the VA in this dump where the target bytes are. */
bool mc_pe_ptr_to_va(const mc_pe *pe, uint64_t ptr, uint64_t *va);

const mc_pe_section *mc_pe_section_by_name(const mc_pe *pe, const char *name);
const mc_pe_section *mc_pe_section_at_rva(const mc_pe *pe, uint32_t rva);
/* VA and size of a section's bytes as present in this layout (flat: raw size; mapped: virtual
 * size, at least raw size). */
bool mc_pe_section_span(const mc_pe *pe, const mc_pe_section *s, uint64_t *va, uint64_t *size);

/* ---- resources ---- */

/* A resource directory key: a numeric id or a UTF-16 name (converted to UTF-8). */
typedef struct mc_res_key {
    bool named;
    uint32_t id;                       /* when !named */
    char name[MC_PE_RES_MAX_NAME];     /* when named */
} mc_res_key;

typedef struct mc_pe_res {
    mc_res_key type, name;
    uint32_t lang;
    uint32_t data_rva, size;
    uint64_t va;              /* where the data is in this dump */
} mc_pe_res;

typedef struct mc_pe_res_stats {
    uint32_t dirs, leaves;
    uint32_t entries;         /* directory entries read (at most MC_PE_RES_MAX_WALK) */
    bool cycle;               /* a directory offset was reached twice */
    bool capped;              /* an entry, directory, walk or depth cap was hit */
    bool bad;                 /* an entry pointed outside the resource section */
} mc_pe_res_stats;

/* Two walks' stats agree field by field (the tests compare walks over the direct and exact
 * read paths). */
static inline bool mc_pe_res_stats_eq(const mc_pe_res_stats *a, const mc_pe_res_stats *b)
{
    return a->dirs == b->dirs && a->leaves == b->leaves && a->entries == b->entries &&
           a->cycle == b->cycle && a->capped == b->capped && a->bad == b->bad;
}

/* Visit every leaf (type/name/language) in directory order. The callback returns false to stop.
 * Returns false when the image has no readable resource directory. stats may be NULL. */
typedef bool (*mc_pe_res_fn)(const mc_pe_res *res, void *arg);
bool mc_pe_res_walk(const mc_pe *pe, mc_pe_res_fn fn, void *arg, mc_pe_res_stats *stats);
/* Walks copy from the dump's buffer where the RVA map allows it (default); false makes every
 * read go through mc_pe_rva_to_va and md_read, so tests can check both give the same walk. */
extern bool mc_pe_res_direct;

/* First leaf whose type and name match. type_name/name may be NULL to match by id only
 * (name_id 0 with name NULL matches any name). Names compare ASCII case-insensitively, as
 * FindResource does. */
bool mc_pe_res_find(const mc_pe *pe, uint32_t type_id, const char *type_name, uint32_t name_id,
                    const char *name, mc_pe_res *out);

/* ---- spans: the bytes a code decoder searches around a hit ---- */

/* The PE image holding a VA (the whole image, headers parsed) or, where no image is, the dump run
 * holding it. p is the dump's own bytes where they lie in one run, else a copy (owned). */
typedef struct mc_pe_span {
    uint64_t va, size;
    const uint8_t *p;
    uint8_t *owned;
    bool has_pe;
    mc_pe pe;
} mc_pe_span;

/* Open the span holding va, at most max bytes of it and none past a hole. A decode searches each
 * span once: done[0..*ndone) lists the spans opened so far (by start VA, at most cap), and an
 * opened span joins it. Returns 1 when opened (close it), 0 when there is nothing to open (va in
 * no run, the span done already or the list full), -1 when out of memory. */
int mc_pe_span_open(const md_dump *d, uint64_t va, uint64_t max, uint64_t *done, size_t *ndone,
                    size_t cap, mc_pe_span *sp);
void mc_pe_span_close(mc_pe_span *sp);

#endif
