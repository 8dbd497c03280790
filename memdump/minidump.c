/* Windows minidump (MDMP) region builder.
 *
 * Hands the core raw facts only: data ranges from Memory64ListStream and MemoryListStream (and
 * thread stacks no list covers), labels from MemoryInfoListStream, modules, threads, arch and pid.
 * Every count and offset comes from the file, so each is bounded by the stream that holds it and
 * every Location is checked against the file in 64-bit arithmetic before it is read.
 */
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

#define MDMP_SIGNATURE 0x504D444Du
#define MDMP_HEADER_SIZE 32u
#define MDMP_DIRENT_SIZE 12u

enum {
    ST_THREAD_LIST = 3,
    ST_MODULE_LIST = 4,
    ST_MEMORY_LIST = 5,
    ST_SYSTEM_INFO = 7,
    ST_MEMORY64_LIST = 9,
    ST_MISC_INFO = 15,
    ST_MEMORY_INFO_LIST = 16,
    ST_TRACKED = 17, /* stream types below this are looked up through md_streams.loc */
};

enum {
    MODULE_SIZE = 108,
    THREAD_SIZE = 48,
    MEMDESC_SIZE = 16,
    MEMINFO_SIZE = 48,
    MEMINFO_HDR_SIZE = 16,
    MISC_PID_FLAG = 1,
};

typedef struct md_loc {
    bool present;
    uint64_t rva, size;
} md_loc;

typedef struct md_streams {
    md_loc loc[ST_TRACKED];
    /* First memory-list stream that pointed outside the file (fatal only if no memory remains). */
    bool mem_stream_bad;
    uint32_t bad_index;
    bool bad_starts_inside;
} md_streams;

/* One candidate data range before overlap resolution. */
typedef struct md_range {
    uint64_t va, size, off;
    uint32_t flags;
} md_range;

typedef struct md_rangevec {
    md_range *v;
    size_t n, cap;
} md_rangevec;

typedef struct md_ctx {
    md_builder *b;
    md_streams s;
    bool mask32;            /* x86 dump: some writers sign-extend 32-bit addresses */
    md_rangevec m64, ml, stacks;
    md_rangevec cover;      /* merged VA coverage, rebuilt as needed */
    /* Per-entry problems are reported once in detail and then counted, so that a hostile list
     * cannot flood the warnings. */
    uint64_t nwrapped, nbadstrings;
} md_ctx;

bool md_sniff_minidump(const uint8_t *buf, uint64_t len)
{
    return buf && len >= 4 && md_le32(buf) == MDMP_SIGNATURE;
}

static uint64_t fix_va(const md_ctx *c, uint64_t va)
{
    if (c->mask32 && (va >> 32) == 0xffffffffu)
        return va & 0xffffffffu;
    return va;
}

static md_err rv_push(md_rangevec *r, uint64_t va, uint64_t size, uint64_t off, uint32_t flags)
{
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        md_range *nv = realloc(r->v, ncap * sizeof *nv);
        if (!nv)
            return MD_E_NOMEM;
        r->v = nv;
        r->cap = ncap;
    }
    r->v[r->n++] = (md_range){ va, size, off, flags };
    return MD_OK;
}

static void rv_free(md_rangevec *r)
{
    free(r->v);
    *r = (md_rangevec){ 0 };
}

/* A range never reaches past the top of the address space: end = va + size stays representable. */
static uint64_t clamp_to_top(md_ctx *c, uint64_t va, uint64_t size, unsigned stream)
{
    if (size > UINT64_MAX - va) {
        if (c->nwrapped++ == 0)
            md_b_warn(c->b, MD_W_BAD_RECORD,
                      "minidump stream type %u: memory range at 0x%llx wraps the address space; cut",
                      stream, (unsigned long long)va);
        return UINT64_MAX - va;
    }
    return size;
}

/* ---- directory ---- */

static md_err read_directory(md_ctx *c, char *err, size_t errlen)
{
    md_builder *b = c->b;
    uint32_t nstreams = md_le32(b->buf + 8);
    uint32_t dir_rva = md_le32(b->buf + 12);
    uint64_t dir_size = (uint64_t)nstreams * MDMP_DIRENT_SIZE;
    if (!md_span_ok(dir_rva, dir_size, b->len)) {
        md_setf(err, errlen, "minidump stream directory points past end of file");
        return MD_E_CORRUPT;
    }
    uint32_t nbad = 0, first_bad = 0;
    for (uint32_t i = 0; i < nstreams; i++) {
        const uint8_t *e = b->buf + dir_rva + (uint64_t)i * MDMP_DIRENT_SIZE;
        uint32_t type = md_le32(e);
        uint64_t size = md_le32(e + 4), rva = md_le32(e + 8);
        if (type >= ST_TRACKED)
            continue;
        bool is_mem = type == ST_MEMORY_LIST || type == ST_MEMORY64_LIST;
        bool tracked = is_mem || type == ST_THREAD_LIST || type == ST_MODULE_LIST ||
                       type == ST_SYSTEM_INFO || type == ST_MISC_INFO ||
                       type == ST_MEMORY_INFO_LIST;
        if (!tracked)
            continue;
        if (!md_span_ok(rva, size, b->len)) {
            if (is_mem && !c->s.mem_stream_bad) {
                c->s.mem_stream_bad = true;
                c->s.bad_index = i;
                c->s.bad_starts_inside = rva < b->len;
            }
            /* One warning for all of them: the directory may hold millions of entries. */
            if (nbad++ == 0)
                first_bad = i;
            continue;
        }
        md_loc *l = &c->s.loc[type];
        if (l->present) {
            md_b_warn(b, MD_W_DUPLICATE_STREAM,
                      "minidump has more than one stream of type %u; the first is used", type);
            continue;
        }
        *l = (md_loc){ true, rva, size };
    }
    if (nbad)
        md_b_warn(b, MD_W_BAD_RECORD,
                  "minidump stream %u points past end of file; ignored (%u such streams)",
                  first_bad, nbad);
    return MD_OK;
}

/* Lists of fixed-size entries after a u32 count: the entries start at +4, or at +8 when the
 * writer padded the count to 8 bytes. The count is bounded by what the stream holds. */
static uint64_t list_entries(md_ctx *c, const md_loc *l, unsigned type, uint64_t entsize,
                             uint64_t *first)
{
    if (l->size < 4) {
        md_b_warn(c->b, MD_W_BAD_RECORD, "minidump stream type %u too small for its count", type);
        return 0;
    }
    uint64_t count = md_le32(c->b->buf + l->rva);
    *first = l->rva + (l->size == 8 + count * entsize ? 8 : 4);
    uint64_t room = (l->rva + l->size - *first) / entsize;
    if (count > room) {
        md_b_warn(c->b, MD_W_BAD_RECORD,
                  "minidump stream type %u claims %llu entries but holds %llu", type,
                  (unsigned long long)count, (unsigned long long)room);
        count = room;
    }
    return count;
}

/* ---- small streams ---- */

static md_arch arch_from_windows(uint16_t a)
{
    switch (a) {
    case 0: return MD_ARCH_X86;
    case 5: return MD_ARCH_ARM;
    case 9: return MD_ARCH_AMD64;
    case 12: case 0x8003: return MD_ARCH_ARM64;   /* 0x8003: Breakpad's pre-standard ARM64 */
    default: return MD_ARCH_UNKNOWN;
    }
}

static void read_system_info(md_ctx *c)
{
    const md_loc *l = &c->s.loc[ST_SYSTEM_INFO];
    if (!l->present)
        return;
    if (l->size < 2) {
        md_b_warn(c->b, MD_W_BAD_RECORD, "minidump SystemInfoStream too small");
        return;
    }
    c->b->d->arch = arch_from_windows(md_le16(c->b->buf + l->rva));
    c->mask32 = c->b->d->arch == MD_ARCH_X86;
}

static void read_misc_info(md_ctx *c)
{
    const md_loc *l = &c->s.loc[ST_MISC_INFO];
    if (!l->present)
        return;
    if (l->size < 12) {
        md_b_warn(c->b, MD_W_BAD_RECORD, "minidump MiscInfoStream too small");
        return;
    }
    const uint8_t *p = c->b->buf + l->rva;
    if (md_le32(p + 4) & MISC_PID_FLAG)
        c->b->d->pid = md_le32(p + 8);
}

/* ---- modules ---- */

/* MINIDUMP_STRING at rva into out (UTF-8). A malformed string yields what can be salvaged and a
 * warning; the module is still worth keeping for its base and size. Returns whether it was
 * malformed. */
static bool read_string(md_ctx *c, uint64_t rva, char *out, size_t outsz)
{
    md_builder *b = c->b;
    out[0] = 0;
    const char *why = NULL;
    uint64_t nbytes = 0;
    if (!md_span_ok(rva, 4, b->len)) {
        why = "lies past end of file";
    } else {
        nbytes = md_le32(b->buf + rva);
        uint64_t room = b->len - rva - 4;
        if (nbytes & 1)
            why = "has an odd length";
        else if (nbytes > 2ull * MD_MAX_STRING)
            why = "is too long";
        else if (nbytes > room)
            why = "runs past end of file";
        nbytes &= ~1ull;
        if (nbytes > 2ull * MD_MAX_STRING)
            nbytes = 2ull * MD_MAX_STRING;
        if (nbytes > room)
            nbytes = room & ~1ull;
        if (md_utf16le_to_utf8(b->buf + rva + 4, (size_t)nbytes, out, outsz) < 0)
            out[0] = 0;
    }
    if (why && c->nbadstrings++ == 0)
        md_b_warn(b, MD_W_BAD_STRING, "minidump string at 0x%llx %s; kept what is readable",
                  (unsigned long long)rva, why);
    return why != NULL;
}

static md_err read_modules(md_ctx *c)
{
    const md_loc *l = &c->s.loc[ST_MODULE_LIST];
    if (!l->present)
        return MD_OK;
    uint64_t first = 0;
    uint64_t n = list_entries(c, l, ST_MODULE_LIST, MODULE_SIZE, &first);
    /* Worst case 3 UTF-8 bytes per UTF-16 unit, plus the terminator. */
    size_t namesz = 3u * MD_MAX_STRING + 1;
    char *name = malloc(namesz);
    if (!name)
        return MD_E_NOMEM;
    md_err rc = MD_OK;
    /* Modules that name the string the one before named reuse its decoding (a hostile list
     * points thousands of modules at one string of MD_MAX_STRING units); a malformed one still
     * counts once per module. */
    uint64_t prev_rva = UINT64_MAX;
    bool prev_bad = false;
    for (uint64_t i = 0; i < n && rc == MD_OK && !c->b->module_cap_hit; i++) {
        const uint8_t *m = c->b->buf + first + i * MODULE_SIZE;
        uint64_t rva = md_le32(m + 20);
        if (rva != prev_rva)
            prev_bad = read_string(c, rva, name, namesz);
        else if (prev_bad)
            c->nbadstrings++;
        prev_rva = rva;
        rc = md_b_module(c->b, fix_va(c, md_le64(m)), md_le32(m + 8), name, md_le32(m + 16),
                         md_le32(m + 12));
    }
    free(name);
    return rc;
}

/* ---- memory info (labels) ---- */

static uint64_t label_cap(const md_builder *b)
{
    return b->opts && b->opts->max_regions ? b->opts->max_regions : MD_DEFAULT_MAX_REGIONS;
}

static md_err read_memory_info(md_ctx *c)
{
    md_builder *b = c->b;
    const md_loc *l = &c->s.loc[ST_MEMORY_INFO_LIST];
    if (!l->present)
        return MD_OK;
    const uint8_t *p = b->buf + l->rva;
    if (l->size < MEMINFO_HDR_SIZE) {
        md_b_warn(b, MD_W_BAD_RECORD, "minidump MemoryInfoListStream too small; ignored");
        return MD_OK;
    }
    uint64_t hdr = md_le32(p), ent = md_le32(p + 4), count = md_le64(p + 8);
    if (hdr < MEMINFO_HDR_SIZE || hdr > l->size || ent < MEMINFO_SIZE) {
        md_b_warn(b, MD_W_BAD_RECORD,
                  "minidump MemoryInfoListStream header %llu / entry size %llu unusable; ignored",
                  (unsigned long long)hdr, (unsigned long long)ent);
        return MD_OK;
    }
    uint64_t room = (l->size - hdr) / ent;
    if (count > room) {
        md_b_warn(b, MD_W_BAD_RECORD, "minidump MemoryInfoListStream claims %llu entries but holds %llu",
                  (unsigned long long)count, (unsigned long long)room);
        count = room;
    }
    if (count > label_cap(b)) {
        md_b_warn(b, MD_W_LIMIT, "minidump MemoryInfoListStream: only the first %llu of %llu entries used",
                  (unsigned long long)label_cap(b), (unsigned long long)count);
        count = label_cap(b);
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = p + hdr + i * ent;
        md_label lab = {
            .va = fix_va(c, md_le64(e)),
            .alloc_base = fix_va(c, md_le64(e + 8)),
            .size = md_le64(e + 24),
            .state = md_le32(e + 32),
            .protect = md_le32(e + 36),
            .type = md_le32(e + 40),
        };
        if (lab.size == 0)
            continue;
        lab.size = clamp_to_top(c, lab.va, lab.size, ST_MEMORY_INFO_LIST);
        md_err rc = md_b_label(b, &lab);
        if (rc != MD_OK)
            return rc;
    }
    return MD_OK;
}

/* ---- memory lists ---- */

/* Memory64: data for all ranges lies back to back from BaseRva, usually up to EOF. A full dump cut
 * short keeps every range before the cut, clamps the one crossing it and loses the rest. */
static md_err read_memory64(md_ctx *c)
{
    md_builder *b = c->b;
    const md_loc *l = &c->s.loc[ST_MEMORY64_LIST];
    if (!l->present)
        return MD_OK;
    if (l->size < 16) {
        md_b_warn(b, MD_W_BAD_RECORD, "minidump Memory64ListStream too small; ignored");
        return MD_OK;
    }
    const uint8_t *p = b->buf + l->rva;
    uint64_t n = md_le64(p), off = md_le64(p + 8);
    uint64_t room = (l->size - 16) / MEMDESC_SIZE;
    if (n > room) {
        md_b_warn(b, MD_W_BAD_RECORD, "minidump Memory64ListStream claims %llu ranges but holds %llu",
                  (unsigned long long)n, (unsigned long long)room);
        n = room;
    }
    bool past_end = false, wrapped = false;
    uint64_t lost = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = p + 16 + i * MEMDESC_SIZE;
        uint64_t va = fix_va(c, md_le64(e)), size = md_le64(e + 8);
        if (size == 0)
            continue;
        if (past_end || off >= b->len) {
            past_end = true;
            lost++;
            continue;
        }
        uint64_t have = size, flags = 0;
        if (have > b->len - off) {
            have = b->len - off;
            flags = MD_R_TRUNCATED;
            md_b_warn(b, MD_W_TRUNCATED,
                      "minidump memory at 0x%llx cut by end of file (%llu of %llu bytes)",
                      (unsigned long long)va, (unsigned long long)have, (unsigned long long)size);
        }
        have = clamp_to_top(c, va, have, ST_MEMORY64_LIST);
        md_err rc = rv_push(&c->m64, va, have, off, (uint32_t)flags);
        if (rc != MD_OK)
            return rc;
        /* The running offset advances by the declared size; overflow means the rest is gone. */
        if (!md_add_ok(off, size, &off))
            past_end = wrapped = true;
    }
    if (wrapped)
        md_b_warn(b, MD_W_BAD_RECORD, "minidump Memory64ListStream offsets overflow 64 bits");
    if (lost)
        md_b_warn(b, MD_W_TRUNCATED, "minidump ends before %llu of %llu memory ranges",
                  (unsigned long long)lost, (unsigned long long)n);
    return MD_OK;
}

/* MemoryList: every range has its own 32-bit RVA; bad ones are dropped one by one. */
static md_err read_memory_list(md_ctx *c)
{
    md_builder *b = c->b;
    const md_loc *l = &c->s.loc[ST_MEMORY_LIST];
    if (!l->present)
        return MD_OK;
    uint64_t first = 0, dropped = 0, cut = 0;
    uint64_t n = list_entries(c, l, ST_MEMORY_LIST, MEMDESC_SIZE, &first);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = b->buf + first + i * MEMDESC_SIZE;
        uint64_t va = fix_va(c, md_le64(e)), size = md_le32(e + 8), off = md_le32(e + 12);
        if (size == 0)
            continue;
        if (off >= b->len) {
            dropped++;
            continue;
        }
        uint32_t flags = 0;
        if (size > b->len - off) {
            size = b->len - off;
            flags = MD_R_TRUNCATED;
            cut++;
        }
        size = clamp_to_top(c, va, size, ST_MEMORY_LIST);
        md_err rc = rv_push(&c->ml, va, size, off, flags);
        if (rc != MD_OK)
            return rc;
    }
    if (dropped || cut)
        md_b_warn(b, MD_W_TRUNCATED,
                  "minidump MemoryListStream: %llu ranges past end of file dropped, %llu cut",
                  (unsigned long long)dropped, (unsigned long long)cut);
    return MD_OK;
}

/* ---- threads ---- */

static md_err read_threads(md_ctx *c)
{
    md_builder *b = c->b;
    const md_loc *l = &c->s.loc[ST_THREAD_LIST];
    if (!l->present)
        return MD_OK;
    uint64_t first = 0;
    uint64_t n = list_entries(c, l, ST_THREAD_LIST, THREAD_SIZE, &first);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *t = b->buf + first + i * THREAD_SIZE;
        uint64_t va = fix_va(c, md_le64(t + 24));
        uint64_t size = md_le32(t + 32), off = md_le32(t + 36);
        size = size ? clamp_to_top(c, va, size, ST_THREAD_LIST) : 0;
        md_err rc = md_b_thread(b, md_le32(t), va, size, fix_va(c, md_le64(t + 16)));
        if (rc == MD_OK && size)
            rc = rv_push(&c->stacks, va, size, off, MD_R_STACK);
        if (rc != MD_OK)
            return rc;
    }
    return MD_OK;
}

/* ---- overlap resolution between the sources ---- */

static int cmp_range(const void *a, const void *b)
{
    const md_range *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

/* Merge the VA spans of a (and b2) into cover: sorted, disjoint, non-adjacent. */
static md_err build_cover(md_rangevec *cover, const md_rangevec *a, const md_rangevec *b2)
{
    cover->n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (rv_push(cover, a->v[i].va, a->v[i].size, 0, 0) != MD_OK)
            return MD_E_NOMEM;
    for (size_t i = 0; b2 && i < b2->n; i++)
        if (rv_push(cover, b2->v[i].va, b2->v[i].size, 0, 0) != MD_OK)
            return MD_E_NOMEM;
    if (cover->n == 0)
        return MD_OK;
    qsort(cover->v, cover->n, sizeof *cover->v, cmp_range);
    size_t w = 0;
    for (size_t i = 1; i < cover->n; i++) {
        md_range *last = &cover->v[w];
        uint64_t end = last->va + last->size;
        if (cover->v[i].va <= end) {
            uint64_t e2 = cover->v[i].va + cover->v[i].size;
            if (e2 > end)
                last->size = e2 - last->va;
        } else {
            cover->v[++w] = cover->v[i];
        }
    }
    cover->n = w + 1;
    return MD_OK;
}

/* Index of the first cover span ending after va. */
static size_t cover_find(const md_rangevec *cover, uint64_t va)
{
    size_t lo = 0, hi = cover->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cover->v[mid].va + cover->v[mid].size <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool cover_overlaps(const md_rangevec *cover, uint64_t va, uint64_t size)
{
    size_t i = cover_find(cover, va);
    return i < cover->n && cover->v[i].va < va + size;
}

static md_err emit(md_ctx *c, const md_rangevec *stackcover, uint64_t va, uint64_t size,
                   uint64_t off, uint32_t flags)
{
    if (cover_overlaps(stackcover, va, size))
        flags |= MD_R_STACK;
    return md_b_region(c->b, va, size, off, 0, 0, 0, 0, flags);
}

/* MemoryList bytes not already described by Memory64 (full dumps win), then thread stacks that
 * no list holds. Pieces between Memory64 spans are kept so nothing present is lost. */
static md_err emit_regions(md_ctx *c)
{
    md_rangevec stackcover = { 0 };
    md_err rc = build_cover(&stackcover, &c->stacks, NULL);
    for (size_t i = 0; rc == MD_OK && i < c->m64.n; i++) {
        const md_range *r = &c->m64.v[i];
        rc = emit(c, &stackcover, r->va, r->size, r->off, r->flags);
    }
    if (rc == MD_OK)
        rc = build_cover(&c->cover, &c->m64, NULL);
    bool trimmed = false;
    for (size_t i = 0; rc == MD_OK && i < c->ml.n && !c->b->region_cap_hit; i++) {
        const md_range *r = &c->ml.v[i];
        uint64_t va = r->va, end = r->va + r->size;
        for (size_t k = cover_find(&c->cover, va); rc == MD_OK && va < end && !c->b->region_cap_hit;
             k++) {
            uint64_t stop = k < c->cover.n && c->cover.v[k].va < end ? c->cover.v[k].va : end;
            if (stop > va)
                rc = emit(c, &stackcover, va, stop - va, r->off + (va - r->va), r->flags);
            if (stop == end)
                break;
            trimmed = true;
            va = c->cover.v[k].va + c->cover.v[k].size;
        }
    }
    if (trimmed)
        md_b_warn(c->b, MD_W_OVERLAP,
                  "minidump MemoryListStream overlaps Memory64ListStream; Memory64 data kept");
    if (rc == MD_OK)
        rc = build_cover(&c->cover, &c->m64, &c->ml);
    for (size_t i = 0; rc == MD_OK && i < c->stacks.n; i++) {
        const md_range *r = &c->stacks.v[i];
        /* Offsets inside the header are the "no data" zero some writers leave in full dumps. */
        if (cover_overlaps(&c->cover, r->va, r->size) || r->off < MDMP_HEADER_SIZE ||
            !md_span_ok(r->off, r->size, c->b->len))
            continue;
        rc = emit(c, &stackcover, r->va, r->size, r->off, MD_R_STACK);
    }
    rv_free(&stackcover);
    return rc;
}

static md_err fatal_stream(const md_ctx *c, char *err, size_t errlen)
{
    md_setf(err, errlen, "minidump stream %u points past end of file", c->s.bad_index);
    return c->s.bad_starts_inside ? MD_E_TRUNCATED : MD_E_CORRUPT;
}

static md_err build(md_ctx *c, char *err, size_t errlen)
{
    md_builder *b = c->b;
    md_err rc = read_directory(c, err, errlen);
    if (rc != MD_OK)
        return rc;
    bool have_m64 = c->s.loc[ST_MEMORY64_LIST].present, have_ml = c->s.loc[ST_MEMORY_LIST].present;
    if (!have_m64 && !have_ml && c->s.mem_stream_bad)
        return fatal_stream(c, err, errlen);
    read_system_info(c);
    read_misc_info(c);
    if ((rc = read_modules(c)) != MD_OK || (rc = read_memory_info(c)) != MD_OK ||
        (rc = read_threads(c)) != MD_OK || (rc = read_memory64(c)) != MD_OK ||
        (rc = read_memory_list(c)) != MD_OK || (rc = emit_regions(c)) != MD_OK)
        return rc;
    if (c->nwrapped > 1)
        md_b_warn(b, MD_W_BAD_RECORD, "minidump: %llu ranges wrapped the address space",
                  (unsigned long long)c->nwrapped);
    if (c->nbadstrings > 1)
        md_b_warn(b, MD_W_BAD_STRING, "minidump: %llu malformed strings",
                  (unsigned long long)c->nbadstrings);
    if (!have_m64 && !have_ml)
        md_b_warn(b, MD_W_SMALL_DUMP, "minidump holds no memory list: nothing to scan");
    else if (!have_m64)
        md_b_warn(b, MD_W_SMALL_DUMP,
                  "minidump holds only MemoryListStream (small dump): stacks and referenced memory only");
    return MD_OK;
}

md_err md_build_minidump(md_builder *b, char *err, size_t errlen)
{
    if (b->len < MDMP_HEADER_SIZE) {
        md_setf(err, errlen, "minidump header truncated (%llu of %u bytes)",
                (unsigned long long)b->len, MDMP_HEADER_SIZE);
        return MD_E_TRUNCATED;
    }
    if (!md_sniff_minidump(b->buf, b->len)) {
        md_setf(err, errlen, "not a minidump (signature 0x%08x)", md_le32(b->buf));
        return MD_E_FORMAT;
    }
    md_ctx c = { .b = b };
    md_err rc = build(&c, err, errlen);
    rv_free(&c.m64);
    rv_free(&c.ml);
    rv_free(&c.stacks);
    rv_free(&c.cover);
    if (rc == MD_E_NOMEM)
        md_setf(err, errlen, "out of memory reading minidump");
    return rc;
}
