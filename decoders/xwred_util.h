/* Helpers shared by the XWorm and RedLine decoders (both .NET, both corroborated by the decrypted
 * strings the client leaves on the GC heap). Header-only so that each decoder stays one .c file.
 */
#ifndef MEMCFG_XWRED_UTIL_H
#define MEMCFG_XWRED_UTIL_H

#include "decoder.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_crypto.h"
#include "lib/mc_dotnet.h"
#include "lib/mc_net.h"
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

#define XW_MAX_TEXT 4096          /* UTF-8 bytes kept per string literal */

/* VA of the first CLR string object whose text is `text`, 0 when none. */
static inline uint64_t xw_heap_find(const mc_decode_ctx *ctx, const md_dump *d, const char *text)
{
    uint64_t obj;
    return mc_clr_find(ctx, d, text, 4, &obj) ? obj : 0;
}

/* ---- heap-only decoding: CLR string objects around a marker ---- */

#define XW_HEAP_WINDOW 0x10000u   /* bytes on each side of a marker object searched */
#define XW_HEAP_MAX_CHARS 256u    /* longest heap text kept (settings values are short) */
#define XW_HEAP_MAX_STRS 1024u    /* objects kept per heap-only decode */

/* One CLR string object with printable ASCII text. */
typedef struct xw_heap_str {
    uint64_t obj;             /* object VA (its MethodTable pointer) */
    uint64_t end;             /* VA just past the NUL char */
    char text[XW_HEAP_MAX_CHARS + 1];
} xw_heap_str;

/* The objects of one window, in VA order. */
typedef struct xw_heap {
    xw_heap_str v[XW_HEAP_MAX_STRS];
    size_t n;
} xw_heap;

/* The CLR string object whose chars start at `chars` (a heap rule's hit on the length field plus
 * 4): its VA, end and text. False unless it is a whole object (non-zero MethodTable, aligned start,
 * NUL char) of min_chars..XW_HEAP_MAX_CHARS printable ASCII chars. */
static inline bool xw_heap_str_at(const md_dump *d, uint64_t chars, size_t min_chars, xw_heap_str *s)
{
    uint32_t n;
    uint8_t w[2 * XW_HEAP_MAX_CHARS];
    if (!md_read_u32(d, chars - 4, &n) || n < min_chars || n == 0 || n > XW_HEAP_MAX_CHARS) return false;
    if (md_read(d, chars, w, 2ull * n) != 2ull * n) return false;
    for (uint32_t i = 0; i < n; i++) {
        if (w[2 * i + 1] != 0 || w[2 * i] < 0x20 || w[2 * i] >= 0x7F) return false;
        s->text[i] = (char)w[2 * i];
    }
    s->text[n] = 0;
    s->end = chars + 2ull * n + 2;
    /* objects start at the pointer size's alignment */
    return mc_clr_string_at(d, chars, n, &s->obj) && s->obj % mc_clr_ptr_size(d) == 0;
}

/* Append the CLR string objects of printable ASCII text (min_chars..XW_HEAP_MAX_CHARS) whose
 * length field lies in [lo, hi) to h, in VA order, skipping objects h already ends past. Length
 * fields are 4-aligned for both pointer sizes; a match is skipped whole, so the chars of one
 * object are never read as another. Bounded by XW_HEAP_MAX_STRS and the deadline. */
static inline void xw_heap_collect(const mc_decode_ctx *ctx, const md_dump *d, uint64_t lo, uint64_t hi,
                                   size_t min_chars, xw_heap *h)
{
    if (h->n && lo < h->v[h->n - 1].end) lo = h->v[h->n - 1].end;
    for (size_t r = 0; r < d->nruns && h->n < XW_HEAP_MAX_STRS && !mc_expired(ctx); r++) {
        const md_run *run = &d->runs[r];
        uint64_t a = run->va > lo ? run->va : lo, b = run->va + run->size < hi ? run->va + run->size : hi;
        if (a >= b) continue;
        const uint8_t *p = md_ptr(d, run->va, run->size);
        if (!p) continue;
        for (uint64_t va = (a + 3) & ~3ull; va + 4 <= b && h->n < XW_HEAP_MAX_STRS; va += 4) {
            const uint8_t *q = p + (va - run->va);
            uint32_t n = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
            /* cheap rejections before the bounded read: a plausible length, an ASCII first char */
            if (n < min_chars || n == 0 || n > XW_HEAP_MAX_CHARS || va + 6 > run->va + run->size || q[5] != 0 ||
                q[4] < 0x20 || q[4] >= 0x7F)
                continue;
            xw_heap_str *s = &h->v[h->n];
            if (!xw_heap_str_at(d, va + 4, min_chars, s)) continue;
            h->n++;
            va = ((s->end + 3) & ~3ull) - 4;
        }
    }
}

static inline uint64_t xw_heap_upto(uint64_t va)
{
    return va > UINT64_MAX - XW_HEAP_WINDOW ? UINT64_MAX : va + XW_HEAP_WINDOW;
}

/* h filled from the windows around each VA of marks[] (merged when they overlap). */
static inline void xw_heap_around(const mc_decode_ctx *ctx, const md_dump *d, const uint64_t *marks, size_t nmarks,
                                  size_t min_chars, xw_heap *h)
{
    uint64_t sorted[16];
    size_t n = 0;
    for (size_t i = 0; i < nmarks && n < 16; i++) {
        size_t k = n++;
        while (k > 0 && sorted[k - 1] > marks[i]) { sorted[k] = sorted[k - 1]; k--; }
        sorted[k] = marks[i];
    }
    h->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = sorted[i] > XW_HEAP_WINDOW ? sorted[i] - XW_HEAP_WINDOW : 0;
        uint64_t hi = xw_heap_upto(sorted[i]);
        while (i + 1 < n && sorted[i + 1] - lo <= hi - lo + XW_HEAP_WINDOW) hi = xw_heap_upto(sorted[++i]);
        xw_heap_collect(ctx, d, lo, hi, min_chars, h);
    }
}

/* Index of the object at VA obj in h, or -1. */
static inline long xw_heap_index(const xw_heap *h, uint64_t obj)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].obj == obj) return (long)i;
    return -1;
}


/* Printable text: no control characters besides tab/CR/LF, no NUL. */
static inline bool xw_printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') return false;
    return true;
}

/* Base64-decode text into a fresh buffer; -1 (and *out NULL) when it is not base64 of at least
 * min_chars characters. */
static inline long xw_b64(const char *text, size_t min_chars, uint8_t **out)
{
    size_t len = strlen(text);
    *out = NULL;
    if (len < min_chars || len % 4 != 0 || !mc_is_b64(text, len, min_chars)) return -1;
    uint8_t *b = malloc(3 * (len / 4) + 3);
    if (!b) return -1;
    long n = mc_b64_decode(text, len, b);
    if (n <= 0) { free(b); return -1; }
    *out = b;
    return n;
}

/* One #US entry, walked in heap order. */
typedef struct xw_us_entry {
    uint32_t off;             /* offset in #US (the ldstr token's low 24 bits) */
    char *text;               /* UTF-8, owned */
} xw_us_entry;

/* Walk the #US heap from its start: compressed length, UTF-16 chars, flag byte (ECMA-335
 * II.24.2.4). Stops at the first malformed entry. Returns the entries read (at most max). */
static inline size_t xw_us_walk(const mc_dotnet *dn, xw_us_entry *out, size_t max)
{
    size_t n = 0;
    uint32_t off = 1, size = dn->us.size;
    const uint8_t *h = dn->md + dn->us.off;
    while (off < size && n < max) {
        uint32_t len, hdr;
        if (h[off] < 0x80) { len = h[off]; hdr = 1; }
        else if ((h[off] & 0xC0) == 0x80 && size - off >= 2) { len = ((h[off] & 0x3Fu) << 8) | h[off + 1]; hdr = 2; }
        else if ((h[off] & 0xE0) == 0xC0 && size - off >= 4) {
            len = ((h[off] & 0x1Fu) << 24) | ((uint32_t)h[off + 1] << 16) | ((uint32_t)h[off + 2] << 8) | h[off + 3];
            hdr = 4;
        } else break;
        if (len == 0) { off += hdr; continue; }   /* zero padding at the end of the heap */
        if (len > size - off - hdr || len % 2 == 0) break;
        char *t = malloc(XW_MAX_TEXT);
        if (!t) break;
        if (md_utf16le_to_utf8(h + off + hdr, len - 1, t, XW_MAX_TEXT) < 0) t[0] = 0;
        out[n].off = off;
        out[n].text = t;
        n++;
        off += hdr + len;
    }
    return n;
}

static inline void xw_us_free(xw_us_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) free(e[i].text);
}

/* Split a list on any of `seps`, calling fn for each non-empty trimmed piece. */
static inline void xw_split(const char *list, const char *seps, void (*fn)(const char *, void *), void *arg)
{
    char piece[512];
    const char *p = list;
    while (*p) {
        size_t k = strcspn(p, seps);
        size_t a = 0, b = k;
        while (a < b && (p[a] == ' ' || p[a] == '\t')) a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t')) b--;
        if (b > a && b - a < sizeof piece) {
            memcpy(piece, p + a, b - a);
            piece[b - a] = 0;
            fn(piece, arg);
        }
        p += k;
        if (*p) p++;
    }
}

#endif
