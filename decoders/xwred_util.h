/* Helpers shared by the XWorm and RedLine decoders (both .NET, both corroborated by the decrypted
 * strings the client leaves on the GC heap). Header-only so that each decoder stays one .c file.
 */
#ifndef MEMCFG_XWRED_UTIL_H
#define MEMCFG_XWRED_UTIL_H

#include "decoder.h"
#include "lib/mc_clrstr.h"
#include "lib/mc_crypto.h"
#include "lib/mc_dotnet.h"
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
