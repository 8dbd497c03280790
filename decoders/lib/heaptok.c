/* The index of host tokens on the heap (see mc_heaptok.h). */
#include "lib/mc_heaptok.h"
#include "memdump.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct mc_tok_part {
    mc_tok_entry *e;
    size_t n, cap, max;
    bool bad;
};

/* The merged entries in (end_va, flags) order; the table: bucket b (key & mask) holds
 * idx[off[b] .. off[b + 1]), entry numbers in VA order. */
struct mc_tok_index {
    mc_tok_entry *e;
    size_t n;
    uint32_t *idx, *off;
    uint32_t mask;
    uint64_t seed;
};


/* ---- parts ---- */

mc_tok_part *mc_tok_part_new(size_t max_entries)
{
    mc_tok_part *pt = calloc(1, sizeof *pt);
    if (pt) pt->max = max_entries;
    return pt;
}

void mc_tok_part_free(mc_tok_part *pt)
{
    if (!pt) return;
    free(pt->e);
    free(pt);
}

const mc_tok_entry *mc_tok_part_entries(const mc_tok_part *pt, size_t *n)
{
    *n = pt->n;
    return pt->e;
}

static bool push(mc_tok_part *pt, uint64_t end_va, uint32_t chars, uint8_t flags, unsigned runlen)
{
    if (pt->n == pt->cap) {
        if (pt->n >= pt->max) {
            pt->bad = true;
            return false;
        }
        size_t nc = pt->cap ? pt->cap * 2 : 256;
        if (nc > pt->max) nc = pt->max;
        mc_tok_entry *ne = realloc(pt->e, nc * sizeof *ne);
        if (!ne) {
            pt->bad = true;
            return false;
        }
        pt->e = ne;
        pt->cap = nc;
    }
    mc_tok_entry *x = &pt->e[pt->n++];
    memset(x, 0, sizeof *x);
    x->end_va = end_va;
    x->key = chars;
    x->flags = flags;
    x->runlen = (uint8_t)runlen;
    return true;
}

/* The ASCII token at e (bytes e-4..e-1 are host chars, byte e a terminator): walk its run back
 * (at most 255 chars, not past the stretch start) and record it when a '.' is among them. */
static bool emit_ascii(mc_tok_part *pt, const mc_heap_span *sp, uint64_t e)
{
    const uint8_t *p = sp->p;
    uint64_t stop = e > MC_TOK_MAX_RUN ? e - MC_TOK_MAX_RUN : 0, i = e - 4;
    bool dot = p[i] == '.' || p[i + 1] == '.' || p[i + 2] == '.' || p[i + 3] == '.';
    while (i > stop && mc_tok_host_char(p[i - 1])) {
        i--;
        dot |= p[i] == '.';
    }
    if (!dot) return true;
    uint32_t chars = (uint32_t)p[e - 4] | (uint32_t)p[e - 3] << 8 | (uint32_t)p[e - 2] << 16 |
                     (uint32_t)p[e - 1] << 24;
    return push(pt, sp->va + e, chars, p[e] == ':' ? MC_TOK_COLON : 0, (unsigned)(e - i));
}

/* The UTF-16 token at e (wide host chars at e-8..e-1, (term, 0) at e). */
static bool emit_wide(mc_tok_part *pt, const mc_heap_span *sp, uint64_t e)
{
    const uint8_t *p = sp->p;
    uint64_t i = e - 8;
    unsigned cnt = 4;
    bool dot = p[e - 8] == '.' || p[e - 6] == '.' || p[e - 4] == '.' || p[e - 2] == '.';
    while (cnt < MC_TOK_MAX_RUN && i >= 2 && p[i - 1] == 0 && mc_tok_host_char(p[i - 2])) {
        i -= 2;
        cnt++;
        dot |= p[i] == '.';
    }
    if (!dot) return true;
    uint32_t chars = (uint32_t)p[e - 8] | (uint32_t)p[e - 6] << 8 | (uint32_t)p[e - 4] << 16 |
                     (uint32_t)p[e - 2] << 24;
    return push(pt, sp->va + e, chars, MC_TOK_WIDE | (p[e] == ':' ? MC_TOK_COLON : 0), cnt);
}

static inline bool ascii_at(const uint8_t *p, uint64_t e)
{
    return (p[e] == 0 || p[e] == ':') && mc_tok_host_char(p[e - 1]) && mc_tok_host_char(p[e - 2]) &&
           mc_tok_host_char(p[e - 3]) && mc_tok_host_char(p[e - 4]);
}

static inline bool wide_at(const uint8_t *p, uint64_t e)
{
    if ((p[e] != 0 && p[e] != ':') || p[e + 1] != 0) return false;
    for (unsigned k = 2; k <= 8; k += 2)
        if (!mc_tok_host_char(p[e - k]) || p[e - k + 1] != 0) return false;
    return true;
}

/* Clamp [lo, hi) to the stretch; false when nothing is left. */
static bool clamp(const mc_heap_span *sp, uint64_t lo, uint64_t *hi)
{
    if (*hi > sp->len) *hi = sp->len;
    return lo < *hi;
}

bool mc_tok_collect_scalar(mc_tok_part *pt, const mc_heap_span *sp, uint64_t lo, uint64_t hi)
{
    if (pt->bad) return false;
    if (!clamp(sp, lo, &hi)) return true;
    const uint8_t *p = sp->p;
    /* Positions e in order: the ASCII token at e when lo <= e, the UTF-16 one when e + 1 < hi
     * (never both: byte e-1 is a host char for one, 0 for the other). */
    for (uint64_t e = lo ? lo - 1 : 0; e < hi; e++) {
        if (e >= lo && e >= 4 && ascii_at(p, e)) {
            if (!emit_ascii(pt, sp, e)) return false;
        } else if (e + 1 < hi && e >= 8 && wide_at(p, e)) {
            if (!emit_wide(pt, sp, e)) return false;
        }
    }
    return true;
}

#ifdef __SSE2__

#if defined(__GNUC__)
#define TOK_INLINE static inline __attribute__((always_inline))
#else
#define TOK_INLINE static inline
#endif

/* Bit i of a block mask is byte i of the block. shl: the mask shifted k bits toward later bytes,
 * its first k bits taken from the end of the previous block's mask. */
TOK_INLINE uint64_t shl(uint64_t cur, uint64_t prev, unsigned k)
{
    return cur << k | prev >> (64 - k);
}

TOK_INLINE uint64_t movemask64(__m128i a, __m128i b, __m128i c, __m128i d)
{
    uint32_t lo = (uint32_t)_mm_movemask_epi8(a) | (uint32_t)_mm_movemask_epi8(b) << 16;
    uint32_t hi = (uint32_t)_mm_movemask_epi8(c) | (uint32_t)_mm_movemask_epi8(d) << 16;
    return (uint64_t)hi << 32 | lo;
}

/* Bytes in 0x2D..0x7A: with ':' taken out (by the terminator mask), a superset of the host chars
 * (it also holds '/', ';'..'@', '['..'^' and '`') at a fraction of the cost of the exact test;
 * candidates found with it are checked exactly (ascii_at, wide_at) before they count. The range
 * by a signed compare after moving its start to -128. */
TOK_INLINE __m128i hostish16(__m128i x)
{
    return _mm_cmpgt_epi8(_mm_set1_epi8(-128 + (0x7A - 0x2D + 1)),
                          _mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - 0x2D))));
}

TOK_INLINE __m128i term16(__m128i x)
{
    return _mm_or_si128(_mm_cmpeq_epi8(x, _mm_setzero_si128()),
                        _mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
}

/* The masks of the 64 bytes at q: h host char (superset), t terminator (NUL or ':'). */
TOK_INLINE void masks(const uint8_t *q, uint64_t *h, uint64_t *t)
{
    const __m128i *v = (const __m128i *)q;
    __m128i x0 = _mm_loadu_si128(v), x1 = _mm_loadu_si128(v + 1);
    __m128i x2 = _mm_loadu_si128(v + 2), x3 = _mm_loadu_si128(v + 3);
    *t = movemask64(term16(x0), term16(x1), term16(x2), term16(x3));
    *h = movemask64(hostish16(x0), hostish16(x1), hostish16(x2), hostish16(x3)) & ~*t;
}

/* True when the 64 bytes at q are all NUL. */
TOK_INLINE bool zero64(const uint8_t *q)
{
    __m128i x = _mm_or_si128(_mm_or_si128(_mm_loadu_si128((const __m128i *)q),
                                          _mm_loadu_si128((const __m128i *)(q + 16))),
                             _mm_or_si128(_mm_loadu_si128((const __m128i *)(q + 32)),
                                          _mm_loadu_si128((const __m128i *)(q + 48))));
    return _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) == 0xFFFF;
}

/* The carried state: the previous block's masks that later ones look back into (at most 9
 * bytes): h; hh host at i and i-1; h4 host at i..i-3; t; w wide host char ending at i (host at
 * i-1, terminator at i: a superset of NUL); w2 at i and i-2; w4 at i, i-2, i-4, i-6. */
typedef struct carry {
    uint64_t h, hh, h4, t, w, w2, w4;
} carry;

/* One block at q: the candidate masks (supersets of the tokens, by the superset of host chars
 * and a terminator where a NUL must be), ASCII tokens at e = i (terminator at i, host chars at
 * i-4..i-1) and UTF-16 tokens whose last byte is i (NUL at i, terminator at i-1, wide host chars
 * ending at i-2, i-4, i-6, i-8); the carry moves on. */
TOK_INLINE void step(const uint8_t *q, carry *c, uint64_t *ca, uint64_t *cw)
{
    uint64_t h, t;
    masks(q, &h, &t);
    uint64_t h1 = shl(h, c->h, 1);
    uint64_t hh = h & h1;
    uint64_t h4 = hh & shl(hh, c->hh, 2);
    uint64_t w = t & h1;
    uint64_t w2 = w & shl(w, c->w, 2);
    uint64_t w4 = w2 & shl(w2, c->w2, 4);
    *ca = t & shl(h4, c->h4, 1);
    *cw = t & shl(t, c->t, 1) & shl(w4, c->w4, 2);
    c->h = h;
    c->hh = hh;
    c->h4 = h4;
    c->t = t;
    c->w = w;
    c->w2 = w2;
    c->w4 = w4;
}

bool mc_tok_collect(mc_tok_part *pt, const mc_heap_span *sp, uint64_t lo, uint64_t hi)
{
    if (pt->bad) return false;
    if (!clamp(sp, lo, &hi)) return true;
    const uint8_t *p = sp->p;
    uint8_t tmp[64];
    carry c = {0};
    uint64_t a, w;
    /* Prime the carry with the 64 bytes before lo (bytes before the stretch start count as
     * neither host chars nor terminators: 0xFF). */
    if (lo >= 64) {
        step(p + lo - 64, &c, &a, &w);
    } else if (lo > 0) {
        memset(tmp, 0xFF, 64);
        memcpy(tmp + 64 - lo, p, lo);
        step(tmp, &c, &a, &w);
    }
    for (uint64_t at = lo; at < hi; at += 64) {
        /* Runs of NUL blocks (common on heaps) after a block of terminators only: no candidates,
         * and the carry stays what it is (hh and h4 are in h, w is in t & h1 whose bits past
         * bit 0 come from h, w2 and w4 are in w; only the top 4 bits of each are looked at). */
        if (c.t == ~0ull && c.h == 0) {
            while (hi - at >= 64 && zero64(p + at)) at += 64;
            if (at >= hi) break;
        }
        if (hi - at >= 64) {
            step(p + at, &c, &a, &w);
            if (!(a | w)) continue;
        } else {
            /* The last block: bytes past hi are not read (the masks only look back). */
            uint64_t left = hi - at, valid = (1ull << left) - 1;
            memcpy(tmp, p + at, left);
            memset(tmp + left, 0xFF, 64 - left);
            step(tmp, &c, &a, &w);
            a &= valid;
            w &= valid;
            if (!(a | w)) continue;
        }
        /* In order of e: the UTF-16 token ending at bit 0 has e = at - 1, then bit by bit (an
         * ASCII token and a UTF-16 one never share e). */
        if ((w & 1) && wide_at(p, at - 1)) {
            if (!emit_wide(pt, sp, at - 1)) return false;
        }
        uint64_t m = a | w >> 1;
        while (m) {
            unsigned i = (unsigned)__builtin_ctzll(m);
            m &= m - 1;
            uint64_t e = at + i;
            bool ok = true;
            if (a >> i & 1) {
                if (ascii_at(p, e)) ok = emit_ascii(pt, sp, e);
            } else if (wide_at(p, e)) {
                ok = emit_wide(pt, sp, e);
            }
            if (!ok) return false;
        }
    }
    return true;
}

#else

bool mc_tok_collect(mc_tok_part *pt, const mc_heap_span *sp, uint64_t lo, uint64_t hi)
{
    return mc_tok_collect_scalar(pt, sp, lo, hi);
}

#endif

/* ---- the merge ---- */

/* A bijection of the 4 chars for each seed. */
static uint32_t tok_hash(uint32_t chars, uint64_t seed)
{
    uint32_t x = chars ^ (uint32_t)seed;
    x *= 0x9E3779B1u;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x ^= (uint32_t)(seed >> 32);
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

/* The order of the index: by end_va, then the other fields (entries at one VA differ only when
 * the dump maps one VA twice, or the same bytes were collected twice: identical entries). */
static inline bool entry_less(const mc_tok_entry *a, const mc_tok_entry *b)
{
    if (a->end_va != b->end_va) return a->end_va < b->end_va;
    if (a->flags != b->flags) return a->flags < b->flags;
    if (a->runlen != b->runlen) return a->runlen < b->runlen;
    return a->key < b->key;
}

static inline bool entry_same(const mc_tok_entry *a, const mc_tok_entry *b)
{
    return a->end_va == b->end_va && a->flags == b->flags && a->runlen == b->runlen &&
           a->key == b->key;
}

/* LSD radix sort by end_va (skipping the bytes all entries share), then entries at one VA in
 * entry_less order. */
static bool radix_sort(mc_tok_entry *e, size_t n)
{
    mc_tok_entry *t = malloc((n ? n : 1) * sizeof *t);
    size_t (*cnt)[256] = calloc(8, sizeof *cnt);
    if (!t || !cnt) {
        free(t);
        free(cnt);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        for (unsigned d = 0; d < 8; d++) cnt[d][(e[i].end_va >> (8 * d)) & 0xFF]++;
    mc_tok_entry *src = e, *dst = t;
    for (unsigned d = 0; d < 8 && n; d++) {
        if (cnt[d][(e[0].end_va >> (8 * d)) & 0xFF] == n) continue;
        size_t sum = 0;
        for (unsigned v = 0; v < 256; v++) {
            size_t c = cnt[d][v];
            cnt[d][v] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[cnt[d][(src[i].end_va >> (8 * d)) & 0xFF]++] = src[i];
        mc_tok_entry *x = src;
        src = dst;
        dst = x;
    }
    if (src != e) memcpy(e, src, n * sizeof *e);
    free(t);
    free(cnt);
    for (size_t i = 1; i < n; i++) {
        /* Insertion sort within runs of one end_va (short: usually one entry). */
        for (size_t j = i; j > 0 && e[j].end_va == e[j - 1].end_va && entry_less(&e[j], &e[j - 1]);
             j--) {
            mc_tok_entry x = e[j];
            e[j] = e[j - 1];
            e[j - 1] = x;
        }
    }
    return true;
}

static bool part_sorted(const mc_tok_part *pt)
{
    for (size_t i = 1; i < pt->n; i++)
        if (entry_less(&pt->e[i], &pt->e[i - 1])) return false;
    return true;
}

/* A k-way merge of sorted parts: hp is a binary heap of the parts not yet spent, by their next
 * entry (pos). */
typedef struct kmerge {
    mc_tok_part *const *parts;
    size_t *pos, *hp, k;
} kmerge;

static const mc_tok_entry *km_head(const kmerge *km, size_t j)
{
    return &km->parts[km->hp[j]]->e[km->pos[km->hp[j]]];
}

static void km_sift(kmerge *km, size_t j)
{
    for (;;) {
        size_t l = 2 * j + 1, m = j;
        if (l < km->k && entry_less(km_head(km, l), km_head(km, m))) m = l;
        if (l + 1 < km->k && entry_less(km_head(km, l + 1), km_head(km, m))) m = l + 1;
        if (m == j) return;
        size_t x = km->hp[j];
        km->hp[j] = km->hp[m];
        km->hp[m] = x;
        j = m;
    }
}

static bool merge_sorted(mc_tok_part *const *parts, size_t n, mc_tok_entry *out)
{
    kmerge km = {.parts = parts, .pos = calloc(n ? n : 1, sizeof(size_t)),
                 .hp = malloc((n ? n : 1) * sizeof(size_t))};
    if (!km.pos || !km.hp) {
        free(km.pos);
        free(km.hp);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (parts[i]->n) km.hp[km.k++] = i;
    for (size_t r = km.k / 2; r-- > 0;) km_sift(&km, r);
    for (size_t o = 0; km.k; o++) {
        size_t i = km.hp[0];
        out[o] = parts[i]->e[km.pos[i]];
        if (++km.pos[i] == parts[i]->n) km.hp[0] = km.hp[--km.k];
        km_sift(&km, 0);
    }
    free(km.pos);
    free(km.hp);
    return true;
}

mc_tok_index *mc_tok_merge(mc_tok_part *const *parts, size_t n, uint64_t seed)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i] || parts[i]->bad) return NULL;
        total += parts[i]->n;
    }
    if (total >= UINT32_MAX) return NULL;
    mc_tok_index *ix = calloc(1, sizeof *ix);
    if (!ix) return NULL;
    ix->seed = seed;
    ix->e = malloc((total ? total : 1) * sizeof *ix->e);
    if (!ix->e) goto fail;
    /* Parts collected in ascending order (a thread's chunks) are each sorted: merged k ways;
     * else concatenated and sorted. */
    bool sorted = true;
    for (size_t i = 0; i < n && sorted; i++) sorted = part_sorted(parts[i]);
    if (sorted) {
        if (!merge_sorted(parts, n, ix->e)) goto fail;
        ix->n = total;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (parts[i]->n) memcpy(ix->e + ix->n, parts[i]->e, parts[i]->n * sizeof *ix->e);
            ix->n += parts[i]->n;
        }
        if (!radix_sort(ix->e, ix->n)) goto fail;
    }
    /* Drop duplicates (the same bytes collected twice), hash the keys. */
    size_t m = 0;
    mc_tok_entry prev = {0};
    for (size_t i = 0; i < ix->n; i++) {
        mc_tok_entry x = ix->e[i];
        if (i && entry_same(&prev, &x)) continue;
        prev = x;
        x.key = tok_hash(x.key, seed);
        ix->e[m++] = x;
    }
    ix->n = m;
    uint32_t nb = 1;
    while (nb < m && nb < (1u << 31)) nb <<= 1;
    ix->mask = nb - 1;
    ix->off = calloc((size_t)nb + 1, sizeof *ix->off);
    ix->idx = malloc((m ? m : 1) * sizeof *ix->idx);
    if (!ix->off || !ix->idx) goto fail;
    for (size_t i = 0; i < m; i++) ix->off[(ix->e[i].key & ix->mask) + 1]++;
    for (uint32_t b = 0; b < nb; b++) ix->off[b + 1] += ix->off[b];
    /* Fill in VA order; off[b] moves to the end of bucket b, then back to its start. */
    for (size_t i = 0; i < m; i++) ix->idx[ix->off[ix->e[i].key & ix->mask]++] = (uint32_t)i;
    for (uint32_t b = nb; b > 0; b--) ix->off[b] = ix->off[b - 1];
    ix->off[0] = 0;
    return ix;
fail:
    mc_tok_index_free(ix);
    return NULL;
}

void mc_tok_index_free(mc_tok_index *ix)
{
    if (!ix) return;
    free(ix->e);
    free(ix->idx);
    free(ix->off);
    free(ix);
}

size_t mc_tok_count(const mc_tok_index *ix)
{
    return ix ? ix->n : 0;
}

const mc_tok_entry *mc_tok_index_entries(const mc_tok_index *ix, size_t *n)
{
    *n = ix->n;
    return ix->e;
}

/* ---- lookups ---- */

bool mc_tok_find(const mc_tok_index *ix, const md_dump *d, const char *text, size_t n, bool wide,
                 char term, bool (*cb)(void *arg, uint64_t start_va), void *arg)
{
    if (!ix || !text || n < MC_TOK_MIN_TEXT || n > MC_TOK_MAX_RUN) return false;
    if (term != 0 && term != ':') return false;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        if (!mc_tok_host_char((uint8_t)text[i])) return false;
        dot |= text[i] == '.';
    }
    if (!dot) return false;
    const uint8_t *t = (const uint8_t *)text;
    uint32_t chars = (uint32_t)t[n - 4] | (uint32_t)t[n - 3] << 8 | (uint32_t)t[n - 2] << 16 |
                     (uint32_t)t[n - 1] << 24;
    uint32_t key = tok_hash(chars, ix->seed);
    uint8_t flags = (uint8_t)((wide ? MC_TOK_WIDE : 0) | (term == ':' ? MC_TOK_COLON : 0));
    uint64_t w = wide ? 2 : 1, len = n * w;
    uint32_t b = key & ix->mask;
    for (uint32_t k = ix->off[b]; k < ix->off[b + 1]; k++) {
        const mc_tok_entry *x = &ix->e[ix->idx[k]];
        if (x->key != key || x->flags != flags || x->runlen < n || x->end_va < len) continue;
        uint64_t start = x->end_va - len;
        const uint8_t *p = md_ptr(d, start, len + w);
        if (!p) continue;
        bool eq = true;
        if (wide) {
            for (size_t i = 0; i < n && eq; i++) eq = p[2 * i] == t[i] && p[2 * i + 1] == 0;
            eq = eq && p[len] == (uint8_t)term && p[len + 1] == 0;
        } else {
            eq = memcmp(p, t, n) == 0 && p[n] == (uint8_t)term;
        }
        if (eq && !cb(arg, start)) break;
    }
    return true;
}
