/* The memdump core: open and sniff, the builder API the format readers append to, the finishing
 * pass that turns their raw facts into the sorted region model, and the bounded VA readers. */
#include "md_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


/* ---------------------------------------------------------------- small helpers */

void md_setf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Grow an array so it holds at least need elements; false on overflow or ENOMEM. */
static bool grow(void **arr, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return false;
        ncap *= 2;
    }
    size_t bytes;
    if (__builtin_mul_overflow(ncap, elsize, &bytes)) return false;
    void *p = realloc(*arr, bytes);
    if (!p) return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static md_err vwarn(md_dump *d, uint32_t code, const char *fmt, va_list ap)
{
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = 0;
    for (size_t i = 0; i < d->nwarnings; i++)
        if (d->warnings[i].code == code && strcmp(d->warnings[i].msg, line) == 0) return MD_OK;
    if (!grow((void **)&d->warnings, &d->priv->cap_warnings, d->nwarnings + 1, sizeof *d->warnings))
        return MD_E_NOMEM;
    char *msg = strdup(line);
    if (!msg) return MD_E_NOMEM;
    d->warnings[d->nwarnings].code = code;
    d->warnings[d->nwarnings].msg = msg;
    d->nwarnings++;
    return MD_OK;
}

md_err md_dump_warn(md_dump *d, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    md_err e = vwarn(d, code, fmt, ap);
    va_end(ap);
    return e;
}

md_err md_b_warn(md_builder *b, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    md_err e = vwarn(b->d, code, fmt, ap);
    va_end(ap);
    return e;
}

static uint64_t opt_or(uint64_t v, uint64_t dflt) { return v ? v : dflt; }

/* ---------------------------------------------------------------- builder API */

md_err md_b_region(md_builder *b, uint64_t va, uint64_t size, uint64_t off, uint32_t protect,
                   uint32_t state, uint32_t type, uint64_t alloc_base, uint32_t flags)
{
    if (size == 0) return MD_OK;
    uint64_t end;
    if (!md_add_ok(va, size, &end)) {
        return md_b_warn(b, MD_W_BAD_RECORD, "range at 0x%llx wraps the address space; dropped",
                         (unsigned long long)va);
    }
    if (off >= b->len) {
        return md_b_warn(b, MD_W_BAD_RECORD, "range at 0x%llx has no bytes in the input; dropped",
                         (unsigned long long)va);
    }
    if (!md_span_ok(off, size, b->len)) {
        size = b->len - off;
        flags |= MD_R_TRUNCATED;
    }
    uint64_t cap = opt_or(b->opts->max_regions, MD_DEFAULT_MAX_REGIONS);
    if (b->nregions >= cap) {
        if (!b->region_cap_hit) {
            b->region_cap_hit = true;
            return md_b_warn(b, MD_W_LIMIT, "more than %llu regions; the rest are ignored",
                             (unsigned long long)cap);
        }
        return MD_OK;
    }
    if (!grow((void **)&b->regions, &b->capregions, b->nregions + 1, sizeof *b->regions))
        return MD_E_NOMEM;
    b->regions[b->nregions++] = (md_region){
        .va = va, .size = size, .off = off, .alloc_base = alloc_base, .protect = protect,
        .state = state, .type = type, .flags = flags & (MD_R_TRUNCATED | MD_R_STACK | MD_R_IMAGE),
        .module = -1,
    };
    return MD_OK;
}

md_err md_b_label(md_builder *b, const md_label *l)
{
    uint64_t end;
    if (l->size == 0 || !md_add_ok(l->va, l->size, &end)) return MD_OK;
    uint64_t cap = opt_or(b->opts->max_regions, MD_DEFAULT_MAX_REGIONS);
    if (b->nlabels >= cap) {
        return md_b_warn(b, MD_W_LIMIT, "more than %llu memory labels; the rest are ignored",
                         (unsigned long long)cap);
    }
    if (!grow((void **)&b->labels, &b->caplabels, b->nlabels + 1, sizeof *b->labels))
        return MD_E_NOMEM;
    b->labels[b->nlabels++] = *l;
    return MD_OK;
}

md_err md_b_module(md_builder *b, uint64_t base, uint64_t size, const char *path,
                   uint32_t timestamp, uint32_t checksum)
{
    uint64_t cap = opt_or(b->opts->max_modules, MD_DEFAULT_MAX_MODULES);
    if (b->nmodules >= cap) {
        if (!b->module_cap_hit) {
            b->module_cap_hit = true;
            return md_b_warn(b, MD_W_LIMIT, "more than %llu modules; the rest are ignored",
                             (unsigned long long)cap);
        }
        return MD_OK;
    }
    if (!grow((void **)&b->modules, &b->capmodules, b->nmodules + 1, sizeof *b->modules))
        return MD_E_NOMEM;
    char *p = strdup(path ? path : "");
    if (!p) return MD_E_NOMEM;
    b->modules[b->nmodules++] = (md_module){ .base = base, .size = size, .path = p,
                                             .timestamp = timestamp, .checksum = checksum };
    return MD_OK;
}

md_err md_b_thread(md_builder *b, uint32_t tid, uint64_t stack_va, uint64_t stack_size, uint64_t teb)
{
    uint64_t cap = opt_or(b->opts->max_regions, MD_DEFAULT_MAX_REGIONS);
    if (b->nthreads >= cap) {
        return md_b_warn(b, MD_W_LIMIT, "more than %llu threads; the rest are ignored",
                         (unsigned long long)cap);
    }
    if (!grow((void **)&b->threads, &b->capthreads, b->nthreads + 1, sizeof *b->threads))
        return MD_E_NOMEM;
    b->threads[b->nthreads++] = (md_thread){ .tid = tid, .stack_va = stack_va,
                                             .stack_size = stack_size, .teb = teb };
    return MD_OK;
}

/* ---------------------------------------------------------------- finishing: sort and trim */

static int cmp_region(const void *a, const void *b)
{
    const md_region *x = a, *y = b;
    if (x->va != y->va) return x->va < y->va ? -1 : 1;
    /* Same start: the builder's earlier range wins; module holds the insertion index here. */
    return (x->module > y->module) - (x->module < y->module);
}

static int cmp_label(const void *a, const void *b)
{
    const md_label *x = a, *y = b;
    return (x->va > y->va) - (x->va < y->va);
}

static int cmp_module(const void *a, const void *b)
{
    const md_module *x = a, *y = b;
    return (x->base > y->base) - (x->base < y->base);
}

/* Sort by VA; a range overlapping an earlier one loses its overlapping front (or all of it). */
static md_err sort_and_trim(md_builder *b)
{
    for (size_t i = 0; i < b->nregions; i++) b->regions[i].module = (int32_t)i;
    if (b->nregions) qsort(b->regions, b->nregions, sizeof *b->regions, cmp_region);
    size_t n = 0, trimmed = 0;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < b->nregions; i++) {
        md_region r = b->regions[i];
        r.module = -1;
        if (n > 0 && r.va < prev_end) {
            uint64_t cut = prev_end - r.va;
            trimmed++;
            if (cut >= r.size) continue;
            r.va += cut;
            r.off += cut;
            r.size -= cut;
        }
        b->regions[n++] = r;
        prev_end = r.va + r.size;
    }
    b->nregions = n;
    if (trimmed)
        return md_b_warn(b, MD_W_OVERLAP, "%zu overlapping memory ranges trimmed or dropped", trimmed);
    return MD_OK;
}

/* Labels are made disjoint the same way (first wins) so that each byte has at most one. */
static void normalise_labels(md_builder *b)
{
    qsort(b->labels, b->nlabels, sizeof *b->labels, cmp_label);
    size_t n = 0;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < b->nlabels; i++) {
        md_label l = b->labels[i];
        if (n > 0 && l.va < prev_end) {
            uint64_t cut = prev_end - l.va;
            if (cut >= l.size) continue;
            l.va += cut;
            l.size -= cut;
        }
        b->labels[n++] = l;
        prev_end = l.va + l.size;
    }
    b->nlabels = n;
}

/* Index of the first label ending after va. */
static size_t first_label_after(const md_builder *b, uint64_t va)
{
    size_t lo = 0, hi = b->nlabels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->labels[mid].va + b->labels[mid].size <= va) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void apply_label(md_region *r, const md_label *l)
{
    if (l->protect) r->protect = l->protect;
    if (l->state) r->state = l->state;
    if (l->type) r->type = l->type;
    if (l->alloc_base) r->alloc_base = l->alloc_base;
}

static md_err push_piece(md_region **out, size_t *n, size_t *cap, const md_region *r,
                         uint64_t va, uint64_t end, const md_label *l)
{
    if (!grow((void **)out, cap, *n + 1, sizeof **out)) return MD_E_NOMEM;
    md_region p = *r;
    p.off = r->off + (va - r->va);
    p.va = va;
    p.size = end - va;
    if (l) apply_label(&p, l);
    (*out)[(*n)++] = p;
    return MD_OK;
}

/* Split each region where the labels over it change, so every piece carries one label. */
static md_err apply_labels(md_builder *b)
{
    if (b->nlabels == 0) return MD_OK;
    normalise_labels(b);
    md_region *out = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < b->nregions; i++) {
        const md_region *r = &b->regions[i];
        uint64_t cur = r->va, end = r->va + r->size;
        for (size_t k = first_label_after(b, cur); k < b->nlabels && cur < end; k++) {
            const md_label *l = &b->labels[k];
            if (l->va >= end) break;
            if (l->va > cur) {
                if (push_piece(&out, &n, &cap, r, cur, l->va, NULL)) goto nomem;
                cur = l->va;
            }
            uint64_t lend = l->va + l->size < end ? l->va + l->size : end;
            if (push_piece(&out, &n, &cap, r, cur, lend, l)) goto nomem;
            cur = lend;
        }
        if (cur < end && push_piece(&out, &n, &cap, r, cur, end, NULL)) goto nomem;
    }
    free(b->regions);
    b->regions = out;
    b->nregions = n;
    b->capregions = cap;
    return MD_OK;
nomem:
    free(out);
    return MD_E_NOMEM;
}

/* Splitting may exceed the cap the builder honoured; keep the lowest addresses. */
static md_err enforce_region_cap(md_builder *b)
{
    uint64_t cap = opt_or(b->opts->max_regions, MD_DEFAULT_MAX_REGIONS);
    if (b->nregions <= cap) return MD_OK;
    b->nregions = (size_t)cap;
    return md_b_warn(b, MD_W_LIMIT, "more than %llu regions after labelling; the rest are ignored",
                     (unsigned long long)cap);
}

/* ---------------------------------------------------------------- finishing: flags, runs */

static bool prot_exec(uint32_t p)
{
    p &= 0xff;
    return p & (MD_PAGE_EXECUTE | MD_PAGE_EXECUTE_READ | MD_PAGE_EXECUTE_READWRITE |
                MD_PAGE_EXECUTE_WRITECOPY);
}

static bool prot_write(uint32_t p)
{
    p &= 0xff;
    return p & (MD_PAGE_READWRITE | MD_PAGE_WRITECOPY | MD_PAGE_EXECUTE_READWRITE |
                MD_PAGE_EXECUTE_WRITECOPY);
}

/* Index of the module with the highest base <= va that contains va, or -1. */
static int32_t module_for(const md_dump *d, uint64_t va)
{
    size_t lo = 0, hi = d->nmodules;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->modules[mid].base <= va) lo = mid + 1;
        else hi = mid;
    }
    /* Modules rarely nest; looking back a few covers overlapping entries without O(n). */
    for (size_t k = lo; k > 0 && lo - k < 8; k--) {
        const md_module *m = &d->modules[k - 1];
        if (va - m->base < m->size) return (int32_t)(k - 1);
    }
    return -1;
}

/* Reading one byte of a file mapping maps much more than its page (fault-around, and the page
 * cache's large folios: up to 2 MiB on this kernel generation). A pass that looks at one spot
 * per region drops the aligned stretch around it afterwards (md_release_around), or a look at
 * every region of a 1 GiB dump keeps half of it resident. */
#define MD_TOUCH_SPAN (4ull << 20)

void md_release_around(const md_dump *d, uint64_t off)
{
    uint64_t lo = off & ~(MD_TOUCH_SPAN / 2 - 1);
    md_release(d, lo, lo + MD_TOUCH_SPAN <= d->len ? MD_TOUCH_SPAN : d->len - lo);
}

static bool has_pe_header(const md_dump *d, const md_region *r)
{
    bool mz = r->size >= 0x40 && d->buf[r->off] == 'M' && d->buf[r->off + 1] == 'Z';
    md_pe_hdr h;
    bool pe = mz && md_pe_parse(d->buf + r->off, r->size, &h);
    if (r->size) md_release_around(d, r->off);
    return pe;
}

static void set_region_flags(md_dump *d, const md_thread *threads, size_t nthreads)
{
    for (size_t i = 0; i < d->nregions; i++) {
        md_region *r = &d->regions[i];
        r->module = module_for(d, r->va);
        if (r->protect == 0) r->flags |= MD_R_PROT_UNKNOWN;
        if (prot_exec(r->protect)) r->flags |= MD_R_EXEC;
        if (prot_write(r->protect)) r->flags |= MD_R_WRITE;
        if (r->type == MD_MEM_IMAGE || r->module >= 0) r->flags |= MD_R_IMAGE;
        if (has_pe_header(d, r)) r->flags |= MD_R_HAS_MZ;
    }
    for (size_t t = 0; t < nthreads; t++) {
        const md_thread *th = &threads[t];
        for (const md_region *r = md_region_at(d, th->stack_va); r; r = NULL) {
            md_region *w = &d->regions[r - d->regions];
            w->flags |= MD_R_STACK;
        }
    }
}

static md_err build_runs(md_dump *d)
{
    d->nruns = 0;
    if (d->nregions == 0) return MD_OK;
    d->runs = calloc(d->nregions, sizeof *d->runs);
    if (!d->runs) return MD_E_NOMEM;
    for (size_t i = 0; i < d->nregions; i++) {
        const md_region *r = &d->regions[i];
        md_run *last = d->nruns ? &d->runs[d->nruns - 1] : NULL;
        if (last && last->va + last->size == r->va && last->off + last->size == r->off) {
            last->size += r->size;
            last->nregions++;
            continue;
        }
        d->runs[d->nruns++] = (md_run){ .va = r->va, .size = r->size, .off = r->off,
                                        .first_region = (uint32_t)i, .nregions = 1 };
    }
    return MD_OK;
}

static int cmp_by_off(const void *a, const void *b, void *ctx)
{
    const md_region *rs = ctx;
    const md_region *x = &rs[*(const size_t *)a], *y = &rs[*(const size_t *)b];
    return (x->off > y->off) - (x->off < y->off);
}

static md_err build_off_index(md_dump *d)
{
    if (d->nregions == 0) return MD_OK;
    d->priv->by_off = malloc(d->nregions * sizeof *d->priv->by_off);
    if (!d->priv->by_off) return MD_E_NOMEM;
    for (size_t i = 0; i < d->nregions; i++) d->priv->by_off[i] = i;
    qsort_r(d->priv->by_off, d->nregions, sizeof *d->priv->by_off, cmp_by_off, d->regions);
    return MD_OK;
}

static const char *basename_any(const char *p)
{
    const char *s = p;
    for (const char *c = p; *c; c++)
        if (*c == '/' || *c == '\\') s = c + 1;
    return s;
}

static md_err set_process_name(md_dump *d, const md_module *first)
{
    if (d->process || !first || !first->path[0]) return MD_OK;
    const char *base = basename_any(first->path);
    if (!*base) return MD_OK;
    d->process = strdup(base);
    return d->process ? MD_OK : MD_E_NOMEM;
}

/* Move the builder's arrays into the dump and derive everything the readers rely on. */
static md_err finish(md_builder *b)
{
    md_dump *d = b->d;
    md_err e;
    if ((e = sort_and_trim(b)) || (e = apply_labels(b)) || (e = enforce_region_cap(b))) return e;
    if ((e = set_process_name(d, b->nmodules ? &b->modules[0] : NULL))) return e;
    if (b->nmodules) qsort(b->modules, b->nmodules, sizeof *b->modules, cmp_module);

    d->regions = b->regions; d->nregions = b->nregions; b->regions = NULL; b->nregions = 0;
    d->modules = b->modules; d->nmodules = b->nmodules; b->modules = NULL; b->nmodules = 0;
    d->threads = b->threads; d->nthreads = b->nthreads; b->threads = NULL; b->nthreads = 0;
    set_region_flags(d, d->threads, d->nthreads);
    d->bytes = 0;
    for (size_t i = 0; i < d->nregions; i++) d->bytes += d->regions[i].size;
    if ((e = build_runs(d)) || (e = build_off_index(d))) return e;
    e = md_find_images(d, b->opts->defer_image_probe);
    /* Readers and the image finder looked here and there: start the dump's users from nothing
     * resident (file mappings; see release_around). */
    md_release(d, 0, d->len);
    return e;
}

static void builder_free(md_builder *b)
{
    for (size_t i = 0; i < b->nmodules; i++) free(b->modules[i].path);
    free(b->modules);
    free(b->regions);
    free(b->labels);
    free(b->threads);
}

/* ---------------------------------------------------------------- sniff and open */

md_format md_sniff(const uint8_t *buf, uint64_t len)
{
    if (!buf || len == 0) return MD_FMT_UNKNOWN;
    if (md_sniff_minidump(buf, len)) return MD_FMT_MINIDUMP;
    if (md_sniff_elfcore(buf, len)) return MD_FMT_ELFCORE;
    md_compression c = md_sniff_compression(buf, len);
    if (c != MD_COMP_NONE) {
        /* Decide on what is inside, as md_open would; nested compression is not followed. */
        uint8_t *in = NULL;
        uint64_t inlen = 0;
        md_format f = MD_FMT_UNKNOWN;
        if (md_inflate(buf, len, c, MD_DEFAULT_MAX_DECOMPRESSED, &in, &inlen, NULL, 0) == MD_OK &&
            inlen && md_sniff_compression(in, inlen) == MD_COMP_NONE)
            f = md_sniff(in, inlen);
        md_inflate_free(in, inlen);
        return f;
    }
    if (md_sniff_cuckoo(buf, len)) return MD_FMT_CUCKOO;
    if (md_sniff_pe(buf, len)) return MD_FMT_PE;
    return MD_FMT_RAW;
}

static md_build_fn builder_for(md_format f)
{
    switch (f) {
    case MD_FMT_MINIDUMP: return md_build_minidump;
    case MD_FMT_CUCKOO: return md_build_cuckoo;
    case MD_FMT_ELFCORE: return md_build_elfcore;
    case MD_FMT_PE: return md_build_pe;
    case MD_FMT_RAW: return md_build_raw;
    default: return NULL;
    }
}

/* "1234.dmp" -> 1234: CAPE names process memory dumps after the PID. */
static uint32_t pid_from_name(const char *path)
{
    const char *s = basename_any(path);
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        v = v * 10 + (uint64_t)(s[n] - '0');
        if (v > UINT32_MAX) return 0;
    }
    return n > 0 && strcmp(s + n, ".dmp") == 0 ? (uint32_t)v : 0;
}

static void dump_free(md_dump *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->nmodules; i++) free(d->modules[i].path);
    for (size_t i = 0; i < d->nwarnings; i++) free(d->warnings[i].msg);
    free(d->modules);
    free(d->warnings);
    free(d->regions);
    free(d->runs);
    free(d->threads);
    free(d->images);
    free(d->process);
    if (d->priv) {
        if (d->priv->map) munmap(d->priv->map, d->priv->map_len);
        md_inflate_free(d->priv->inflated, d->priv->inflated_len);
        if (d->priv->fd >= 0) close(d->priv->fd);
        free(d->priv->by_off);
        free(d->priv);
    }
    free(d);
}

void md_close(md_dump *d) { dump_free(d); }

static md_dump *dump_new(void)
{
    md_dump *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->priv = calloc(1, sizeof *d->priv);
    if (!d->priv) { free(d); return NULL; }
    d->priv->fd = -1;
    return d;
}

/* Inflate a compressed input in place of the original buffer. */
static md_err unwrap(md_dump *d, const md_open_opts *o, char *err, size_t errlen)
{
    md_compression c = md_sniff_compression(d->buf, d->len);
    if (c == MD_COMP_NONE || o->force_format == MD_FMT_RAW) return MD_OK;
    uint8_t *in = NULL;
    uint64_t inlen = 0;
    md_err e = md_inflate(d->buf, d->len, c, opt_or(o->max_decompressed, MD_DEFAULT_MAX_DECOMPRESSED),
                          &in, &inlen, err, errlen);
    if (e) return e;
    d->priv->inflated = in;
    d->priv->inflated_len = inlen;
    d->compression = c;
    d->buf = in;
    d->len = inlen;
    if (inlen == 0) {
        md_setf(err, errlen, "compressed input holds no data");
        return MD_E_EMPTY;
    }
    if (md_sniff_compression(in, inlen) != MD_COMP_NONE && o->force_format == MD_FMT_UNKNOWN) {
        md_setf(err, errlen, "nested compression is not supported");
        return MD_E_FORMAT;
    }
    return MD_OK;
}

static md_err build(md_dump *d, const md_open_opts *o, const char *path, md_build_fn custom,
                    char *err, size_t errlen)
{
    md_err e = custom ? MD_OK : unwrap(d, o, err, errlen);
    if (e) return e;
    md_format f = custom ? MD_FMT_RAW : o->force_format;
    if (f == MD_FMT_UNKNOWN) {
        if (md_sniff_minidump(d->buf, d->len)) f = MD_FMT_MINIDUMP;
        else if (md_sniff_elfcore(d->buf, d->len)) f = MD_FMT_ELFCORE;
        else if (md_sniff_cuckoo(d->buf, d->len)) f = MD_FMT_CUCKOO;
        else if (md_sniff_pe(d->buf, d->len)) f = MD_FMT_PE;
        else f = MD_FMT_RAW;
    }
    md_build_fn fn = custom ? custom : builder_for(f);
    if (!fn) {
        md_setf(err, errlen, "unknown input format %d", (int)f);
        return MD_E_ARG;
    }
    d->format = f;
    md_builder b = { .buf = d->buf, .len = d->len, .opts = o, .path = path, .d = d };
    e = fn(&b, err, errlen);
    if (e == MD_OK) e = finish(&b);
    if (e == MD_E_NOMEM) md_setf(err, errlen, "out of memory");
    builder_free(&b);
    if (e == MD_OK && d->pid == 0 && f == MD_FMT_CUCKOO && path) d->pid = pid_from_name(path);
    return e;
}

static md_err open_common(md_dump *d, const md_open_opts *opts, const char *path, md_build_fn custom,
                          md_dump **out, char *err, size_t errlen)
{
    md_open_opts dflt = { 0 };
    md_err e = build(d, opts ? opts : &dflt, path, custom, err, errlen);
    if (d->priv->fd >= 0) {
        close(d->priv->fd);
        d->priv->fd = -1;
    }
    if (e) {
        dump_free(d);
        return e;
    }
    *out = d;
    return MD_OK;
}

static md_err open_mem(const uint8_t *buf, uint64_t len, const md_open_opts *opts, md_build_fn custom,
                       md_dump **out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return MD_E_ARG;
    *out = NULL;
    if (!buf && len) {
        md_setf(err, errlen, "no buffer");
        return MD_E_ARG;
    }
    if (len == 0) {
        md_setf(err, errlen, "input is empty");
        return MD_E_EMPTY;
    }
    md_dump *d = dump_new();
    if (!d) return MD_E_NOMEM;
    d->buf = buf;
    d->len = d->file_size = len;
    return open_common(d, opts, NULL, custom, out, err, errlen);
}

md_err md_open_mem(const uint8_t *buf, uint64_t len, const md_open_opts *opts, md_dump **out,
                   char *err, size_t errlen)
{
    return open_mem(buf, len, opts, NULL, out, err, errlen);
}

md_err md_open_with(md_build_fn fn, const uint8_t *buf, uint64_t len, const md_open_opts *opts,
                    md_dump **out, char *err, size_t errlen)
{
    if (!fn) return MD_E_ARG;
    return open_mem(buf, len, opts, fn, out, err, errlen);
}

static md_err map_file(md_dump *d, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        md_setf(err, errlen, "cannot open: %s", strerror(errno));
        return MD_E_IO;
    }
    d->priv->fd = fd;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        md_setf(err, errlen, "cannot stat: %s", strerror(errno));
        return MD_E_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        md_setf(err, errlen, "not a regular file");
        return MD_E_IO;
    }
    if (st.st_size == 0) {
        md_setf(err, errlen, "input is empty");
        return MD_E_EMPTY;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        md_setf(err, errlen, "file too large to map");
        return MD_E_LIMIT;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        md_setf(err, errlen, "cannot map: %s", strerror(errno));
        return MD_E_IO;
    }
    /* Readers jump between metadata and memory; read-ahead would only fault in unused pages. */
    madvise(m, (size_t)st.st_size, MADV_RANDOM);
    d->priv->map = m;
    d->priv->map_len = (uint64_t)st.st_size;
    d->buf = m;
    d->len = d->file_size = (uint64_t)st.st_size;
    return MD_OK;
}

md_err md_open(const char *path, const md_open_opts *opts, md_dump **out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return MD_E_ARG;
    *out = NULL;
    if (!path) {
        md_setf(err, errlen, "no path");
        return MD_E_ARG;
    }
    md_dump *d = dump_new();
    if (!d) return MD_E_NOMEM;
    md_err e = map_file(d, path, err, errlen);
    if (e) {
        dump_free(d);
        return e;
    }
    return open_common(d, opts, path, NULL, out, err, errlen);
}

/* ---------------------------------------------------------------- page hints for scans */

void md_data_extent(const md_dump *d, uint64_t off, uint64_t *start, uint64_t *end)
{
    *start = off;
    *end = d->len;
    if (d->priv->fd < 0 || !d->priv->map || d->buf != d->priv->map || off >= d->len) return;
    off_t s = lseek(d->priv->fd, (off_t)off, SEEK_DATA);
    if (s < 0) {
        if (errno == ENXIO) *start = d->len;
        return;
    }
    off_t e = lseek(d->priv->fd, s, SEEK_HOLE);
    *start = (uint64_t)s;
    if (e > s && (uint64_t)e < d->len) *end = (uint64_t)e;
}

void md_release(const md_dump *d, uint64_t off, uint64_t len)
{
    if (!d->priv->map || d->buf != d->priv->map || !md_span_ok(off, len, d->len)) return;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t start = (off + page - 1) / page * page, end = (off + len) / page * page;
    /* A read-only private file mapping never holds modified pages, so dropping loses nothing. */
    if (end > start) madvise((uint8_t *)d->priv->map + start, (size_t)(end - start), MADV_DONTNEED);
}

void md_advise_sequential(const md_dump *d, uint64_t off, uint64_t len)
{
    if (!d->priv->map || d->buf != d->priv->map || !md_span_ok(off, len, d->len)) return;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t start = off / page * page, end = off + len;
    if (end > start) madvise((uint8_t *)d->priv->map + start, (size_t)(end - start), MADV_SEQUENTIAL);
}

/* ---------------------------------------------------------------- names */

const char *md_strerror(md_err e)
{
    switch (e) {
    case MD_OK: return "success";
    case MD_E_IO: return "cannot read input";
    case MD_E_EMPTY: return "input is empty";
    case MD_E_FORMAT: return "format not recognised";
    case MD_E_CORRUPT: return "input is corrupt";
    case MD_E_TRUNCATED: return "input is truncated";
    case MD_E_LIMIT: return "limit exceeded";
    case MD_E_NOMEM: return "out of memory";
    case MD_E_ARG: return "invalid argument";
    }
    return "unknown error";
}

static const char *const fmt_names[] = {
    [MD_FMT_UNKNOWN] = "unknown", [MD_FMT_RAW] = "raw", [MD_FMT_PE] = "pe",
    [MD_FMT_MINIDUMP] = "minidump", [MD_FMT_CUCKOO] = "cuckoo", [MD_FMT_ELFCORE] = "elfcore",
};

const char *md_format_name(md_format f)
{
    return (unsigned)f < sizeof fmt_names / sizeof *fmt_names ? fmt_names[f] : "unknown";
}

md_format md_format_from_name(const char *name)
{
    if (!name) return MD_FMT_UNKNOWN;
    for (size_t i = 1; i < sizeof fmt_names / sizeof *fmt_names; i++)
        if (strcasecmp(name, fmt_names[i]) == 0) return (md_format)i;
    if (strcasecmp(name, "cape") == 0 || strcasecmp(name, "procmem") == 0) return MD_FMT_CUCKOO;
    if (strcasecmp(name, "mdmp") == 0) return MD_FMT_MINIDUMP;
    if (strcasecmp(name, "elf") == 0 || strcasecmp(name, "core") == 0) return MD_FMT_ELFCORE;
    return MD_FMT_UNKNOWN;
}

const char *md_arch_name(md_arch a)
{
    switch (a) {
    case MD_ARCH_X86: return "x86";
    case MD_ARCH_AMD64: return "amd64";
    case MD_ARCH_ARM: return "arm";
    case MD_ARCH_ARM64: return "arm64";
    default: return "unknown";
    }
}

const char *md_protect_str(uint32_t protect)
{
    switch (protect & 0xff) {
    case 0: return "?";
    case MD_PAGE_NOACCESS: return "NA";
    case MD_PAGE_READONLY: return "R";
    case MD_PAGE_READWRITE: case MD_PAGE_WRITECOPY: return "RW";
    case MD_PAGE_EXECUTE: return "X";
    case MD_PAGE_EXECUTE_READ: return "RX";
    case MD_PAGE_EXECUTE_READWRITE: case MD_PAGE_EXECUTE_WRITECOPY: return "RWX";
    default: return "?";
    }
}

/* ---------------------------------------------------------------- bounded readers */

const md_region *md_region_at(const md_dump *d, uint64_t va)
{
    if (!d) return NULL;
    size_t lo = 0, hi = d->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->regions[mid].va <= va) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return NULL;
    const md_region *r = &d->regions[lo - 1];
    return va - r->va < r->size ? r : NULL;
}

/* Index of the first run starting after va (nruns when none does). */
static size_t run_index_after(const md_dump *d, uint64_t va)
{
    size_t lo = 0, hi = d->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->runs[mid].va <= va) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

const md_run *md_run_at(const md_dump *d, uint64_t va)
{
    if (!d) return NULL;
    size_t i = run_index_after(d, va);
    if (i == 0) return NULL;
    const md_run *r = &d->runs[i - 1];
    return va - r->va < r->size ? r : NULL;
}

const md_run *md_run_after(const md_dump *d, uint64_t va)
{
    if (!d) return NULL;
    size_t i = run_index_after(d, va);
    return i < d->nruns ? &d->runs[i] : NULL;
}

const uint8_t *md_ptr(const md_dump *d, uint64_t va, uint64_t len)
{
    const md_run *r = md_run_at(d, va);
    if (!r) return NULL;
    uint64_t rel = va - r->va;
    if (len > r->size - rel) return NULL;
    return d->buf + r->off + rel;
}

uint64_t md_avail(const md_dump *d, uint64_t va)
{
    const md_region *r = md_region_at(d, va);
    if (!r) return 0;
    uint64_t total = r->size - (va - r->va);
    for (size_t i = (size_t)(r - d->regions) + 1; i < d->nregions; i++) {
        const md_region *p = &d->regions[i - 1], *n = &d->regions[i];
        if (p->va + p->size != n->va) break;
        total += n->size;
    }
    return total;
}

uint64_t md_read(const md_dump *d, uint64_t va, void *dst, uint64_t len)
{
    const md_region *r = md_region_at(d, va);
    uint8_t *out = dst;
    uint64_t done = 0;
    if (!r || !dst) return 0;
    size_t i = (size_t)(r - d->regions);
    while (done < len) {
        uint64_t rel = va - r->va, n = r->size - rel;
        if (n > len - done) n = len - done;
        memcpy(out + done, d->buf + r->off + rel, (size_t)n);
        done += n;
        va += n;
        if (done == len || ++i >= d->nregions) break;
        r = &d->regions[i];
        if (r->va != va) break;
    }
    return done;
}

bool md_read_u8(const md_dump *d, uint64_t va, uint8_t *out)
{
    return md_read(d, va, out, 1) == 1;
}

bool md_read_u16(const md_dump *d, uint64_t va, uint16_t *out)
{
    uint8_t b[2];
    if (md_read(d, va, b, 2) != 2) return false;
    *out = md_le16(b);
    return true;
}

bool md_read_u32(const md_dump *d, uint64_t va, uint32_t *out)
{
    uint8_t b[4];
    if (md_read(d, va, b, 4) != 4) return false;
    *out = md_le32(b);
    return true;
}

bool md_read_u64(const md_dump *d, uint64_t va, uint64_t *out)
{
    uint8_t b[8];
    if (md_read(d, va, b, 8) != 8) return false;
    *out = md_le64(b);
    return true;
}

bool md_read_ptr(const md_dump *d, uint64_t va, unsigned ptr_size, uint64_t *out)
{
    if (ptr_size == 8) return md_read_u64(d, va, out);
    if (ptr_size != 4) return false;
    uint32_t v;
    if (!md_read_u32(d, va, &v)) return false;
    *out = v;
    return true;
}

long md_read_cstr(const md_dump *d, uint64_t va, char *dst, size_t max)
{
    if (!dst || max == 0) return -1;
    size_t n = 0;
    /* Look at up to max bytes: a string of max-1 characters plus its NUL still fits. */
    while (n < max) {
        const md_region *r = md_region_at(d, va + n);
        if (!r || va + n < va) break;
        uint64_t rel = va + n - r->va, avail = r->size - rel;
        size_t want = max - n;
        if (avail < want) want = (size_t)avail;
        const uint8_t *src = d->buf + r->off + rel;
        const uint8_t *z = memchr(src, 0, want);
        size_t take = z ? (size_t)(z - src) : want;
        if (n + take > max - 1) take = max - 1 - n;
        memcpy(dst + n, src, take);
        n += take;
        if (z) {
            dst[n] = 0;
            return (long)n;
        }
        if (n == max - 1) break;
    }
    dst[n] = 0;
    return -1;
}

/* Encode one code point; false when dst has no room for it and the terminator. */
static bool put_utf8(uint32_t cp, char *dst, size_t dstsz, size_t *n)
{
    /* Bytes go straight to dst (no staging array and memcpy: this runs once per UTF-16 unit of
     * every module name, and under ASan the copy cost more than the encoding). */
    size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (*n + k >= dstsz) return false;
    uint8_t *o = (uint8_t *)dst + *n;
    switch (k) {
    case 1: o[0] = (uint8_t)cp; break;
    case 2: o[0] = (uint8_t)(0xc0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3f)); break;
    case 3:
        o[0] = (uint8_t)(0xe0 | cp >> 12); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        break;
    default:
        o[0] = (uint8_t)(0xf0 | cp >> 18); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (uint8_t)(0x80 | (cp & 0x3f));
        break;
    }
    *n += k;
    return true;
}

/* Decode one code point from units u (and next when it completes a pair); returns units used. */
static unsigned utf16_decode(uint16_t u, bool have_next, uint16_t next, uint32_t *cp)
{
    if (u >= 0xd800 && u <= 0xdbff && have_next && next >= 0xdc00 && next <= 0xdfff) {
        *cp = 0x10000 + (((uint32_t)u - 0xd800) << 10) + (next - 0xdc00);
        return 2;
    }
    *cp = (u >= 0xd800 && u <= 0xdfff) ? 0xfffd : u;
    return 1;
}

long md_utf16le_to_utf8(const uint8_t *src, size_t nbytes, char *dst, size_t dstsz)
{
    if (!dst || dstsz == 0) return -1;
    size_t units = nbytes / 2, n = 0;
    for (size_t i = 0; i < units;) {
        uint32_t cp;
        bool more = i + 1 < units;
        i += utf16_decode(md_le16(src + 2 * i), more, more ? md_le16(src + 2 * i + 2) : 0, &cp);
        if (!put_utf8(cp, dst, dstsz, &n)) {
            dst[n] = 0;
            return -1;
        }
    }
    dst[n] = 0;
    return (long)n;
}

long md_read_wstr_utf8(const md_dump *d, uint64_t va, char *dst, size_t max)
{
    if (!dst || max == 0) return -1;
    size_t n = 0;
    uint16_t u;
    dst[0] = 0;
    if (!md_read_u16(d, va, &u)) return -1;
    for (;;) {
        if (u == 0) {
            dst[n] = 0;
            return (long)n;
        }
        uint16_t next = 0;
        bool have = md_read_u16(d, va + 2, &next);
        uint32_t cp;
        unsigned used = utf16_decode(u, have, next, &cp);
        if (!put_utf8(cp, dst, max, &n)) break;
        va += 2u * used;
        if (used == 2) {
            if (!md_read_u16(d, va, &u)) break;
        } else if (!have) {
            break;
        } else {
            u = next;
        }
    }
    dst[n] = 0;
    return -1;
}

bool md_va_to_off(const md_dump *d, uint64_t va, uint64_t *off)
{
    const md_region *r = md_region_at(d, va);
    if (!r) return false;
    *off = r->off + (va - r->va);
    return true;
}

bool md_off_to_va(const md_dump *d, uint64_t off, uint64_t *va)
{
    if (!d || !d->priv->by_off) return false;
    const size_t *ix = d->priv->by_off;
    size_t lo = 0, hi = d->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->regions[ix[mid]].off <= off) lo = mid + 1;
        else hi = mid;
    }
    /* Regions may share buffer bytes (a PE header mapped twice); look back past short ones. */
    for (size_t k = lo; k > 0 && lo - k < 16; k--) {
        const md_region *r = &d->regions[ix[k - 1]];
        if (off - r->off < r->size) {
            *va = r->va + (off - r->off);
            return true;
        }
    }
    return false;
}
