/* CLR objects on the managed heap, and the per-dump index of them (see mc_clrstr.h). */
#include "lib/mc_clrstr.h"
#include "lib/mc_shared.h"
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

#define CLR_CHUNK (1u << 20)      /* bytes passed over between deadline polls and page drops */
#define CLR_FNV_PRIME 0x100000001b3ull

unsigned mc_clr_ptr_size(const md_dump *d)
{
    return d->arch == MD_ARCH_X86 || d->arch == MD_ARCH_ARM ? 4 : 8;
}

/* Alignment of an object start, and so of its length field: the pointer size, or 4 when the dump
 * does not name its architecture (the 8-byte guess must not drop 4-aligned x86 objects). */
static unsigned clr_align(const md_dump *d)
{
    return d->arch == MD_ARCH_UNKNOWN ? 4 : mc_clr_ptr_size(d);
}

bool mc_clr_string_at(const md_dump *d, uint64_t chars_va, uint32_t nchars, uint64_t *obj_va)
{
    uint32_t len;
    uint64_t mt;
    uint16_t term;
    unsigned ps = mc_clr_ptr_size(d);
    if (chars_va < 4 + ps || !md_read_u32(d, chars_va - 4, &len) || len != nchars) return false;
    if (!md_read_ptr(d, chars_va - 4 - ps, ps, &mt) || mt == 0) return false;
    if (!md_read_u16(d, chars_va + 2ull * nchars, &term) || term != 0) return false;
    *obj_va = chars_va - 4 - ps;
    return true;
}

bool mc_clr_heap_region(const md_region *r)
{
    if (r->type == MD_MEM_IMAGE || (r->flags & MD_R_IMAGE)) return false;
    return (r->flags & MD_R_PROT_UNKNOWN) || (r->flags & MD_R_WRITE);
}

/* ---- stretches of heap regions ---- */

bool mc_heap_span_next(const md_dump *d, const md_run *run, size_t *i, mc_heap_span *sp)
{
    size_t end = (size_t)run->first_region + run->nregions;
    if (end > d->nregions) end = d->nregions;
    for (;;) {
        while (*i < end && !mc_clr_heap_region(&d->regions[*i])) (*i)++;
        if (*i >= end) return false;
        const md_region *a = &d->regions[*i];
        uint64_t last = a->va + a->size;
        for ((*i)++; *i < end && mc_clr_heap_region(&d->regions[*i]) && d->regions[*i].va == last; (*i)++)
            last += d->regions[*i].size;
        if (a->va < run->va || last > run->va + run->size) continue;
        sp->va = a->va;
        sp->len = last - a->va;
        sp->off = run->off + (a->va - run->va);
        sp->p = md_ptr(d, sp->va, sp->len);
        if (sp->p) return true;
    }
}

/* Stretches are searched a window at a time, every needle in each window while it is in cache:
 * the dump's pages are read (and faulted in) once however many needles there are. */
#define HEAP_WINDOW (256u << 10)

/* Several needles in one pass (Wu-Manber): a table of shifts over the 2-byte blocks of the
 * needles' first m bytes (m: the shortest needle's length, at most WM_MAX) skips up to m - 1
 * bytes at a time however many needles there are; a zero shift ends a candidate, and the needles
 * whose block at m - 2 it is are compared whole. One memmem per needle passes over every window
 * once per needle: for Lumma's six (three C2s, ASCII and UTF-16) the table takes about twice the
 * time of one memmem, not six times. */
#define WM_MAX 256u

typedef struct wm_table {
    size_t m, maxlen;
    uint8_t shift[65536];
    uint16_t head[65536];     /* 1 + the first needle of the block's bucket; 0 = empty */
    uint16_t next[];          /* 1 + the next needle in the same bucket; ascending order */
} wm_table;

static wm_table *wm_new(const mc_needle *nd, size_t n)
{
    size_t m = WM_MAX, maxlen = 0;
    for (size_t k = 0; k < n; k++) {
        if (nd[k].len < m) m = nd[k].len;
        if (nd[k].len > maxlen) maxlen = nd[k].len;
    }
    wm_table *w = malloc(sizeof *w + n * sizeof *w->next);
    if (!w) return NULL;
    w->m = m;
    w->maxlen = maxlen;
    memset(w->shift, (int)(m - 1), sizeof w->shift);
    memset(w->head, 0, sizeof w->head);
    for (size_t k = n; k-- > 0;) {
        const uint8_t *p = nd[k].p;
        for (size_t j = 0; j + 2 <= m; j++) {
            unsigned b = p[j] | (unsigned)p[j + 1] << 8;
            if (w->shift[b] > m - 2 - j) w->shift[b] = (uint8_t)(m - 2 - j);
        }
        unsigned b = p[m - 2] | (unsigned)p[m - 1] << 8;
        w->next[k] = w->head[b];
        w->head[b] = (uint16_t)(k + 1);
    }
    return w;
}

/* Matches in t[0, len) starting before `limit`, in order of position (needle order at one
 * position). False once cb says stop. */
static bool wm_search(const wm_table *w, const mc_needle *nd, const uint8_t *t, size_t len,
                      size_t limit, uint64_t base, const mc_heap_span *sp, mc_heap_match_fn cb,
                      void *arg)
{
    size_t m = w->m;
    for (size_t pos = m - 2; pos + 2 <= len;) {
        unsigned b = t[pos] | (unsigned)t[pos + 1] << 8;
        if (w->shift[b]) {
            pos += w->shift[b];
            continue;
        }
        size_t start = pos - (m - 2);
        if (start >= limit) break;
        for (unsigned k = w->head[b]; k; k = w->next[k - 1]) {
            const mc_needle *x = &nd[k - 1];
            if (x->len <= len - start && memcmp(t + start, x->p, x->len) == 0 &&
                !cb(arg, k - 1, sp->va + base + start, sp, (size_t)(base + start)))
                return false;
        }
        pos++;
    }
    return true;
}

/* One needle, or needles too short for a shift table: memmem, needle by needle in a window. */
static bool memmem_window(const mc_needle *nd, size_t n, const mc_heap_span *sp, uint64_t w,
                          mc_heap_match_fn cb, void *arg)
{
    for (size_t k = 0; k < n; k++) {
        if (nd[k].len == 0 || sp->len - w < nd[k].len) continue;
        /* Matches starting in [w, w + HEAP_WINDOW): the buffer ends len - 1 later. */
        uint64_t end = w + HEAP_WINDOW + nd[k].len - 1;
        if (end > sp->len) end = sp->len;
        for (uint64_t at = w; end - at >= nd[k].len;) {
            const uint8_t *m = memmem(sp->p + at, (size_t)(end - at), nd[k].p, nd[k].len);
            if (!m) break;
            size_t off = (size_t)(m - sp->p);
            if (!cb(arg, k, sp->va + off, sp, off)) return false;
            at = off + 1;
        }
    }
    return true;
}

void mc_heap_find_many(const mc_decode_ctx *ctx, const md_dump *d, const mc_needle *nd, size_t n,
                       mc_heap_match_fn cb, void *arg)
{
    bool go = n > 0;
    size_t shortest = SIZE_MAX;
    for (size_t k = 0; k < n; k++)
        if (nd[k].len < shortest) shortest = nd[k].len;
    wm_table *wm = n > 1 && n < UINT16_MAX && shortest >= 2 ? wm_new(nd, n) : NULL;
    for (size_t r = 0; r < d->nruns && go; r++) {
        const md_run *run = &d->runs[r];
        size_t ri = run->first_region;
        mc_heap_span sp;
        while (go && mc_heap_span_next(d, run, &ri, &sp)) {
            md_advise_sequential(d, sp.off, sp.len);
            for (uint64_t w = 0; go && w < sp.len; w += HEAP_WINDOW) {
                if (mc_expired(ctx)) { go = false; break; }
                if (!wm) {
                    go = memmem_window(nd, n, &sp, w, cb, arg);
                    continue;
                }
                uint64_t end = w + HEAP_WINDOW + wm->maxlen - 1;
                if (end > sp.len) end = sp.len;
                size_t limit = sp.len - w < HEAP_WINDOW ? (size_t)(sp.len - w) : HEAP_WINDOW;
                go = wm_search(wm, nd, sp.p + w, (size_t)(end - w), limit, w, &sp, cb, arg);
            }
            md_release(d, sp.off, sp.len);
        }
    }
    free(wm);
}

static bool mt_nonzero(const uint8_t *p, unsigned ps)
{
    return ps == 4 ? md_le32(p) != 0 : md_le64(p) != 0;
}

/* Offset in the span of the first length field at or after offset `from` whose object starts in
 * the span (offset >= ps) aligned. */
static uint64_t first_len_field(const mc_heap_span *sp, uint64_t from, unsigned ps, unsigned al)
{
    uint64_t o = from < ps ? ps : from;
    uint64_t mis = (sp->va + o) % al;
    return mis ? o + (al - mis) : o;
}

/* ---- the scan (no index, or what a capped index does not hold) ---- */

/* The first string object at or after VA `from` whose text is text[0:n]. */
static bool scan_find(const mc_decode_ctx *ctx, const md_dump *d, const char *text, size_t n,
                      uint64_t from, uint64_t *obj_va)
{
    unsigned ps = mc_clr_ptr_size(d), al = clr_align(d);
    /* The length field and the chars form one needle, so memmem rejects almost every position
     * without a second look. */
    uint8_t pat[4 + 2 * MC_CLR_MAX_CHARS];
    pat[0] = (uint8_t)n; pat[1] = (uint8_t)(n >> 8); pat[2] = 0; pat[3] = 0;
    for (size_t i = 0; i < n; i++) { pat[4 + 2 * i] = (uint8_t)text[i]; pat[5 + 2 * i] = 0; }
    size_t plen = 4 + 2 * n;
    for (size_t r = 0; r < d->nruns && !mc_expired(ctx); r++) {
        const md_run *run = &d->runs[r];
        if (run->va + run->size <= from) continue;
        size_t ri = run->first_region;
        mc_heap_span sp;
        while (mc_heap_span_next(d, run, &ri, &sp)) {
            if (sp.va + sp.len <= from) continue;
            uint64_t start = from > sp.va ? from - sp.va + ps : 0;
            if (start >= sp.len) continue;
            const uint8_t *cur = sp.p + start, *end = sp.p + sp.len;
            while ((size_t)(end - cur) >= plen + 2) {
                const uint8_t *m = memmem(cur, (size_t)(end - cur) - 2, pat, plen);
                if (!m) break;
                uint64_t o = (uint64_t)(m - sp.p);
                cur = m + 1;
                if ((sp.va + o) % al || o < ps || sp.va + o - ps < from) continue;
                if (m[plen] || m[plen + 1] || !mt_nonzero(m - ps, ps)) continue;
                *obj_va = sp.va + o - ps;
                return true;
            }
        }
    }
    return false;
}

/* ---- the index ---- */

struct mc_clr_index {
    const md_dump *d;
    uint64_t *sva;            /* string object VAs, VA order */
    uint32_t *sh;             /* their text hashes */
    size_t ns, cap_s, max_s;
    uint64_t seed;            /* hash key, random per index: crafted collisions cannot be planned */
    uint32_t *table;          /* open addressing, one slot per distinct hash: first entry + 1 */
    uint32_t *next;           /* entry -> next entry + 1 with the same hash, in VA order */
    size_t tmask;
    uint64_t *ava[3];         /* byte[16], byte[32], byte[64] data VAs (bit 0: paired) */
    size_t na[3], cap_a[3], max_a;
    bool complete, arrays_capped;
    uint64_t stop_va, bytes;
    double build_ms;
};

static const unsigned array_distinct[3] = {12, 25, 48};  /* random bytes miss these ~1e-4 */

void mc_clr_index_free(mc_clr_index *ix)
{
    if (!ix) return;
    free(ix->sva);
    free(ix->sh);
    free(ix->table);
    free(ix->next);
    for (int k = 0; k < 3; k++) free(ix->ava[k]);
    free(ix);
}

/* FNV-1a over the chars' low bytes from a random basis, then a 64-bit finalizer. */
static uint32_t hash_final(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static uint32_t text_hash(uint64_t seed, const char *text, size_t n)
{
    uint64_t h = seed;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)text[i]) * CLR_FNV_PRIME;
    return hash_final(h);
}

static bool grow(void **p, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 4096;
    void *q = realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

static bool add_string(mc_clr_index *ix, uint64_t obj, uint32_t h)
{
    if (ix->ns >= ix->max_s) return false;
    if (ix->ns == ix->cap_s) {
        size_t c1 = ix->cap_s, c2 = ix->cap_s;
        if (!grow((void **)&ix->sva, &c1, sizeof *ix->sva) || !grow((void **)&ix->sh, &c2, sizeof *ix->sh))
            return false;
        ix->cap_s = c1;
    }
    ix->sva[ix->ns] = obj;
    ix->sh[ix->ns++] = h;
    return true;
}

/* Derived keys are random bytes: structured data (text, small integers, tables) has far fewer
 * distinct byte values. */
static bool looks_random(const uint8_t *p, unsigned n, unsigned want)
{
    uint64_t seen[4] = {0};
    unsigned distinct = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t bit = 1ull << (p[i] & 63);
        if (!(seen[p[i] >> 6] & bit)) { seen[p[i] >> 6] |= bit; distinct++; }
    }
    return distinct >= want;
}

static void add_array(mc_clr_index *ix, int k, uint64_t data_va, bool paired)
{
    if (ix->na[k] >= ix->max_a) { ix->arrays_capped = true; return; }
    if (ix->na[k] == ix->cap_a[k] && !grow((void **)&ix->ava[k], &ix->cap_a[k], sizeof *ix->ava[k])) {
        ix->arrays_capped = true;
        return;
    }
    ix->ava[k][ix->na[k]++] = data_va | (paired ? 1 : 0);
}

typedef struct clr_pass {
    mc_clr_index *ix;
    unsigned ps, al;
    uint64_t last_key_end;    /* VA just past the last byte[16]/byte[32] indexed */
} clr_pass;

/* Length fields at offsets [lo, hi) of the span (aligned, lo >= ps). False when the string cap
 * stopped the pass (ix->stop_va set). A dry pass indexes nothing: it only brings last_key_end up
 * to date (what a chunk of a span needs to know of the bytes before it). */
static bool pass_range(clr_pass *cp, const mc_heap_span *sp, uint64_t lo, uint64_t hi, bool dry)
{
    mc_clr_index *ix = cp->ix;
    const uint8_t *p = sp->p;
    const unsigned ps = cp->ps, al = cp->al;
    const uint64_t len = sp->len;
    for (uint64_t o = lo; o < hi && o + 4 <= len; o += al) {
        uint32_t v = md_le32(p + o);
        if (v - 1u >= MC_CLR_MAX_CHARS) continue;          /* almost every position ends here */
        if (!mt_nonzero(p + o - ps, ps)) continue;
        if (v == 16 || v == 32 || v == 64) {
            uint64_t data = o + (ps == 8 ? 8 : 4);
            int k = v == 16 ? 0 : v == 32 ? 1 : 2;
            if (data + v <= len && (ps == 4 || md_le32(p + o + 4) == 0) &&
                looks_random(p + data, v, array_distinct[k])) {
                uint64_t obj = sp->va + o - ps;
                bool paired = k == 2 && cp->last_key_end && obj >= cp->last_key_end &&
                              obj - cp->last_key_end <= MC_CLR_PAIR_GAP;
                if (!dry) add_array(ix, k, sp->va + data, paired);
                if (k < 2) cp->last_key_end = sp->va + data + v;
            }
        }
        if (dry) continue;
        uint64_t term = o + 4 + 2ull * v;
        if (term + 2 > len || p[term] || p[term + 1]) continue;
        /* Chars in 1..0xFF: a NUL char stops the check, and every aligned length field inside the
         * body of a longer candidate holds one (its high half), so the char checks of all
         * candidates together read each byte about once. */
        const uint8_t *c = p + o + 4;
        uint64_t h = ix->seed;
        uint32_t i = 0;
        for (; i < v; i++) {
            if (c[2 * i + 1] || !c[2 * i]) break;
            h = (h ^ c[2 * i]) * CLR_FNV_PRIME;
        }
        if (i < v) continue;
        if (!add_string(ix, sp->va + o - ps, hash_final(h))) {
            ix->complete = false;
            ix->stop_va = sp->va + o - ps;
            return false;
        }
    }
    return true;
}

/* One slot per distinct hash heading the chain of its entries: a heap of one repeated string is
 * one slot and one chain, not a probe run as long as the heap. */
static void build_table(const mc_decode_ctx *ctx, mc_clr_index *ix)
{
    size_t slots = 16;
    while (slots < 2 * ix->ns) slots *= 2;
    ix->table = calloc(slots, sizeof *ix->table);
    ix->next = malloc((ix->ns ? ix->ns : 1) * sizeof *ix->next);
    ix->tmask = slots - 1;
    bool ok = ix->table && ix->next;
    /* From the last entry to the first, each pushed at the head of its chain: chains run in VA
     * order. */
    for (size_t e = ix->ns; e > 0 && ok; e--) {
        if ((e & 0xFFFF) == 0 && mc_expired(ctx)) ok = false;
        uint32_t h = ix->sh[e - 1];
        size_t i = h & ix->tmask;
        while (ix->table[i] && ix->sh[ix->table[i] - 1] != h) i = (i + 1) & ix->tmask;
        ix->next[e - 1] = ix->table[i];
        ix->table[i] = (uint32_t)e;
    }
    if (!ok) {
        /* Nothing answers from the index: every lookup scans. */
        free(ix->table);
        free(ix->next);
        ix->table = ix->next = NULL;
        ix->ns = 0;
        ix->complete = false;
        ix->stop_va = 0;
    }
}

uint64_t mc_clr_seed(void)
{
    return ((uint64_t)arc4random() << 32 | arc4random()) ^ 0xcbf29ce484222325ull;
}

static mc_clr_index *index_build(const mc_decode_ctx *ctx, const md_dump *d, size_t max_s,
                                 size_t max_a)
{
    double t0 = mc_now();
    mc_clr_index *ix = mc_clr_part_new(d, mc_clr_seed(), max_s, max_a);
    if (!ix) return NULL;
    clr_pass cp = {ix, mc_clr_ptr_size(d), clr_align(d), 0};
    bool go = true;
    for (size_t r = 0; r < d->nruns && go; r++) {
        const md_run *run = &d->runs[r];
        size_t ri = run->first_region;
        mc_heap_span sp;
        while (go && mc_heap_span_next(d, run, &ri, &sp)) {
            ix->bytes += sp.len;
            cp.last_key_end = 0;          /* a key pairs with a byte[64] of its own stretch */
            md_advise_sequential(d, sp.off, sp.len);
            uint64_t o = first_len_field(&sp, 0, cp.ps, cp.al);
            while (go && o + 4 <= sp.len) {
                if (mc_expired(ctx)) {
                    ix->complete = false;
                    ix->stop_va = sp.va + o - cp.ps;
                    go = false;
                    break;
                }
                uint64_t hi = o + CLR_CHUNK < sp.len ? o + CLR_CHUNK : sp.len;
                go = pass_range(&cp, &sp, o, hi, false);
                /* Done with these pages (a file mapping drops them; reread on demand). */
                md_release(d, sp.off + (o - cp.ps), hi - (o - cp.ps));
                o = hi;
            }
        }
    }
    build_table(ctx, ix);
    ix->build_ms = (mc_now() - t0) * 1e3;
    return ix;
}

/* ---- the index built a chunk at a time (by the scan's threads) ---- */

/* A key array ends at most 40 bytes after its length field and pairs with a byte[64] object at
 * most MC_CLR_PAIR_GAP bytes later, which starts at most ps bytes before its length field: what
 * decides last_key_end for a chunk lies in the bytes this far before it. */
#define CLR_PAIR_LOOKBACK (MC_CLR_PAIR_GAP + 64u)

mc_clr_index *mc_clr_part_new(const md_dump *d, uint64_t seed, size_t max_s, size_t max_a)
{
    mc_clr_index *ix = calloc(1, sizeof *ix);
    if (!ix) return NULL;
    ix->d = d;
    ix->seed = seed;
    ix->max_s = max_s;
    ix->max_a = max_a;
    ix->complete = true;
    return ix;
}

bool mc_clr_part_collect(mc_clr_index *part, const mc_heap_span *sp, uint64_t lo, uint64_t hi)
{
    clr_pass cp = {part, mc_clr_ptr_size(part->d), clr_align(part->d), 0};
    if (!part->complete || part->arrays_capped) return false;
    if (hi > sp->len) hi = sp->len;
    if (lo > 0)
        pass_range(&cp, sp, first_len_field(sp, lo > CLR_PAIR_LOOKBACK ? lo - CLR_PAIR_LOOKBACK : 0,
                                            cp.ps, cp.al), lo, true);
    part->bytes += hi > lo ? hi - lo : 0;
    return pass_range(&cp, sp, first_len_field(sp, lo, cp.ps, cp.al), hi, false) &&
           !part->arrays_capped;
}

typedef struct va_hash {
    uint64_t va;
    uint32_t h;
} va_hash;

static int cmp_va_hash(const void *a, const void *b)
{
    uint64_t x = ((const va_hash *)a)->va, y = ((const va_hash *)b)->va;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

mc_clr_index *mc_clr_merge(mc_clr_index *const *parts, size_t n, const md_dump *d, uint64_t seed,
                           size_t max_s, size_t max_a)
{
    mc_clr_index *ix = mc_clr_part_new(d, seed, max_s, max_a);
    if (!ix) return NULL;
    size_t ns = 0, na[3] = {0};
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const mc_clr_index *p = parts[i];
        if (!p) continue;
        ok &= p->complete && !p->arrays_capped && p->d == d && p->seed == seed;
        ns += p->ns;
        for (int k = 0; k < 3; k++) na[k] += p->na[k];
        ix->bytes += p->bytes;
    }
    /* Past a cap the one-pass build keeps the entries below a VA these parts cannot tell. */
    ok &= ns <= max_s && na[0] <= max_a && na[1] <= max_a && na[2] <= max_a;
    va_hash *vh = ok ? malloc((ns ? ns : 1) * sizeof *vh) : NULL;
    ix->sva = ok ? malloc((ns ? ns : 1) * sizeof *ix->sva) : NULL;
    ix->sh = ok ? malloc((ns ? ns : 1) * sizeof *ix->sh) : NULL;
    ok &= vh && ix->sva && ix->sh;
    for (int k = 0; k < 3 && ok; k++) ok &= (ix->ava[k] = malloc((na[k] ? na[k] : 1) * sizeof **ix->ava)) != NULL;
    if (!ok) {
        free(vh);
        mc_clr_index_free(ix);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const mc_clr_index *p = parts[i];
        if (!p) continue;
        for (size_t e = 0; e < p->ns; e++) vh[ix->ns++] = (va_hash){p->sva[e], p->sh[e]};
        for (int k = 0; k < 3; k++) {
            if (p->na[k]) memcpy(ix->ava[k] + ix->na[k], p->ava[k], p->na[k] * sizeof **ix->ava);
            ix->na[k] += p->na[k];
        }
    }
    /* Every object belongs to one chunk: sorted, the entries are those of the one-pass build. */
    qsort(vh, ix->ns, sizeof *vh, cmp_va_hash);
    for (size_t e = 0; e < ix->ns; e++) {
        ix->sva[e] = vh[e].va;
        ix->sh[e] = vh[e].h;
    }
    free(vh);
    for (int k = 0; k < 3; k++) qsort(ix->ava[k], ix->na[k], sizeof **ix->ava, cmp_u64);
    build_table(NULL, ix);
    return ix;
}

bool mc_clr_index_same(const mc_clr_index *a, const mc_clr_index *b)
{
    if (a->ns != b->ns || a->complete != b->complete || a->stop_va != b->stop_va ||
        a->arrays_capped != b->arrays_capped ||
        (a->ns && memcmp(a->sva, b->sva, a->ns * sizeof *a->sva)))
        return false;
    for (int k = 0; k < 3; k++)
        if (a->na[k] != b->na[k] || (a->na[k] && memcmp(a->ava[k], b->ava[k], a->na[k] * sizeof **a->ava)))
            return false;
    return true;
}

bool mc_clr_index_install(mc_dump_shared *s, mc_clr_index *ix, double build_ms)
{
    if (!s || !ix) return false;
    pthread_mutex_lock(&s->lock);
    bool fits = !s->clr_done && ix->ns <= s->max_strings && ix->na[0] <= s->max_arrays &&
                ix->na[1] <= s->max_arrays && ix->na[2] <= s->max_arrays;
    if (fits) {
        ix->build_ms = build_ms;
        s->clr = ix;
        s->clr_done = true;
    }
    pthread_mutex_unlock(&s->lock);
    return fits;
}

/* The dump's index, built on first use; NULL without shared state or for another dump. */
static const mc_clr_index *index_get(const mc_decode_ctx *ctx, const md_dump *d)
{
    mc_dump_shared *s = ctx ? ctx->shared : NULL;
    if (!s) return NULL;
    pthread_mutex_lock(&s->lock);
    if (!s->clr_done) {
        s->clr = index_build(ctx, d, s->max_strings, s->max_arrays);
        s->clr_done = true;
    }
    const mc_clr_index *ix = s->clr;
    pthread_mutex_unlock(&s->lock);
    return ix && ix->d == d ? ix : NULL;
}

static bool text_at(const md_dump *d, uint64_t obj, const char *text, size_t n)
{
    unsigned ps = mc_clr_ptr_size(d);
    const uint8_t *p = md_ptr(d, obj, ps + 4 + 2 * n + 2);
    if (!p || md_le32(p + ps) != n) return false;
    p += ps + 4;
    for (size_t i = 0; i < n; i++)
        if (p[2 * i] != (uint8_t)text[i] || p[2 * i + 1]) return false;
    return true;
}

static bool index_find(const mc_clr_index *ix, const char *text, size_t n, uint64_t *obj_va)
{
    if (!ix->table) return false;
    uint32_t h = text_hash(ix->seed, text, n);
    size_t i = h & ix->tmask;
    while (ix->table[i] && ix->sh[ix->table[i] - 1] != h) i = (i + 1) & ix->tmask;
    for (uint32_t e = ix->table[i]; e; e = ix->next[e - 1])
        if (text_at(ix->d, ix->sva[e - 1], text, n)) {
            *obj_va = ix->sva[e - 1];
            return true;
        }
    return false;
}

bool mc_clr_find(const mc_decode_ctx *ctx, const md_dump *d, const char *text, size_t min_chars,
                 uint64_t *obj_va)
{
    size_t n = strlen(text);
    if (n < min_chars || n == 0 || n > MC_CLR_MAX_CHARS) return false;
    const mc_clr_index *ix = index_get(ctx, d);
    if (!ix) return scan_find(ctx, d, text, n, 0, obj_va);
    /* Everything before stop_va is indexed, so an indexed match is the first one. */
    if (index_find(ix, text, n, obj_va)) return true;
    return !ix->complete && scan_find(ctx, d, text, n, ix->stop_va, obj_va);
}

bool mc_clr_byte_arrays(const mc_decode_ctx *ctx, const md_dump *d, unsigned len,
                        const uint64_t **va, size_t *n)
{
    int k = len == 16 ? 0 : len == 32 ? 1 : len == 64 ? 2 : -1;
    const mc_clr_index *ix = k < 0 ? NULL : index_get(ctx, d);
    if (!ix) return false;
    *va = ix->ava[k];
    *n = ix->na[k];
    return true;
}

bool mc_clr_index_stats_get(const mc_decode_ctx *ctx, const md_dump *d, mc_clr_index_stats *st)
{
    const mc_clr_index *ix = index_get(ctx, d);
    if (!ix) return false;
    st->strings = ix->ns;
    for (int k = 0; k < 3; k++) st->arrays[k] = ix->na[k];
    st->complete = ix->complete;
    st->arrays_capped = ix->arrays_capped;
    st->stop_va = ix->stop_va;
    st->bytes = ix->bytes;
    st->build_ms = ix->build_ms;
    return true;
}
