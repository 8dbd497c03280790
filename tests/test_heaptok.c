/* The index of host tokens on the heap (decoders/lib/heaptok.c, mc_heaptok.h):
 * - generated stretches (seeded, deterministic) of random bytes, NULs, planted ASCII and UTF-16
 *   host runs with both terminators, at odd offsets, runs past 255 chars, with and without '.',
 *   tokens at stretch starts and ends, stretches right after other stretches or after junk host
 *   chars in the same run: the SSE2 and the scalar collector give the same entries chunk by chunk;
 *   every chunking (one chunk, random cuts, 1-byte and 63/64/65-byte chunks, chunks spread over
 *   several parts merged in any order, chunks collected backwards) merges to the same entries;
 *   mc_tok_find answers every answerable text exactly as a memmem of text + terminator over the
 *   stretches (planted texts, their suffixes, tails of runs before terminators, absent texts),
 *   with any seed, and refuses the texts it cannot answer;
 * - the cap: a collection past max_entries fails and the part stays unusable;
 * - hostile stretches: "a.bc:" repeated, all ':', UTF-16 host chars without a terminator, all
 *   NULs, one long host run. */
#include "lib/mc_heaptok.h"
#include "memdump.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x00007FFEFFFF8000ull   /* heaps cross byte boundaries of the VA (the radix sort) */

/* An assertion for hot loops: Check's ck_assert records every passing one (a write each). */
#define REQUIRE(c, ...) do { if (!(c)) ck_abort_msg(__VA_ARGS__); } while (0)

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static bool is_host(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '/';
}

static const char host_cs[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/";

/* n host chars; '.' with probability 1/dot_in (never when dot_in is 0). */
static void host_text(char *out, size_t n, unsigned dot_in)
{
    for (size_t i = 0; i < n; i++)
        out[i] = dot_in && rnd() % dot_in == 0 ? '.' : host_cs[rnd() % (sizeof host_cs - 1)];
}

/* ---- a generated heap ---- */

#define MAXSPANS 12
#define MAXPLANT 4096

typedef struct plant {
    char text[600];
    size_t n;
} plant;

typedef struct heap {
    uint8_t *buf;
    size_t len, cap;
    md_dump *d;
    mc_heap_span sp[MAXSPANS];
    size_t nsp;
    plant *pl;
    size_t npl;
} heap;

static void put(heap *h, const void *p, size_t n)
{
    REQUIRE(h->len + n <= h->cap, "heap buffer full");
    memcpy(h->buf + h->len, p, n);
    h->len += n;
}

static void put_byte(heap *h, uint8_t c)
{
    put(h, &c, 1);
}

static void put_wide(heap *h, const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_byte(h, (uint8_t)t[i]);
        put_byte(h, 0);
    }
}

static void remember(heap *h, const char *t, size_t n)
{
    if (h->npl == MAXPLANT || n >= sizeof h->pl[0].text) return;
    memcpy(h->pl[h->npl].text, t, n);
    h->pl[h->npl++].n = n;
}

/* One piece of heap content at the end of the buffer, at most about 1.3 KiB. */
static void put_piece(heap *h)
{
    char t[600];
    size_t n;
    bool wide = rnd() % 2;
    switch (rnd() % 10) {
    case 0: /* random bytes */
        n = rnd() % 300;
        for (size_t i = 0; i < n; i++) put_byte(h, (uint8_t)rnd());
        break;
    case 1: /* NULs (sometimes whole 64-byte blocks of them), now and then a ':' among them */
        n = 1 + rnd() % (rnd() % 4 == 0 ? 400 : 40);
        for (size_t i = 0; i < n; i++) put_byte(h, rnd() % 64 ? 0 : ':');
        break;
    case 2: /* an odd offset */
        put_byte(h, (uint8_t)rnd());
        break;
    case 3: case 4: case 5: { /* a host run, maybe a terminator */
        n = 1 + rnd() % (rnd() % 4 == 0 ? 300 : 40);
        host_text(t, n, rnd() % 3 == 0 ? 0 : 1 + (unsigned)(rnd() % 12));
        if (rnd() % 4 == 0) t[n - 1 - rnd() % (n < 6 ? n : 6)] = '.';
        wide ? put_wide(h, t, n) : put(h, t, n);
        remember(h, t, n);
        unsigned k = (unsigned)(rnd() % 4);
        uint8_t term = k == 0 ? ':' : k == 1 ? (uint8_t)rnd() : 0;
        put_byte(h, term);
        if (wide && rnd() % 8) put_byte(h, 0);
        break;
    }
    case 6: { /* a run longer than 255 with a '.' only far back, or just inside the last 255 */
        n = 260 + rnd() % 290;
        host_text(t, n, 0);
        size_t dot_at = rnd() % 2 ? n - 255 : n - 256 - rnd() % (n - 255);
        if (rnd() % 3 == 0) dot_at = n - 256;   /* one char too far back */
        t[dot_at] = '.';
        wide ? put_wide(h, t, n) : put(h, t, n);
        remember(h, t, n);
        put_byte(h, rnd() % 2 ? ':' : 0);
        if (wide) put_byte(h, 0);
        break;
    }
    case 7: { /* a host name preceded by host chars (the tail of a longer run) */
        char pre[40];
        size_t np = 1 + rnd() % 30;
        host_text(pre, np, 5);
        wide ? put_wide(h, pre, np) : put(h, pre, np);
        n = 4 + rnd() % 20;
        host_text(t, n, 4);
        t[rnd() % n] = '.';
        wide ? put_wide(h, t, n) : put(h, t, n);
        remember(h, t, n);
        put_byte(h, rnd() % 2 ? ':' : 0);
        if (wide) put_byte(h, 0);
        break;
    }
    case 8: { /* a dotted 4-char token and near misses (3 chars, non-host inside) */
        const char *s[] = {"a.bc", "a.b", "x.y:z", "ab.c/", "w.x-", "q.r_s"};
        const char *p = s[rnd() % 6];
        wide ? put_wide(h, p, strlen(p)) : put(h, p, strlen(p));
        remember(h, p, strlen(p));
        put_byte(h, rnd() % 2 ? ':' : 0);
        if (wide) put_byte(h, 0);
        break;
    }
    default: /* x86-code-like bytes: small values, common opcodes */
        n = rnd() % 200;
        for (size_t i = 0; i < n; i++) {
            static const uint8_t op[] = {0x48, 0x89, 0x8B, 0xE8, 0xFF, 0x00, 0x0F, 0x85, 0xC3, 0x90,
                                         0x41, 0x4C, 0x24, 0x08, 0x10, 0x74, 0x75, 0xEB};
            put_byte(h, rnd() % 3 ? op[rnd() % sizeof op] : (uint8_t)rnd());
        }
    }
}

/* Stretches of about `total` bytes over one raw dump: junk host chars (or nothing) between them,
 * so that a run crossing a stretch start is visible to a careless lookup. */
static void heap_build(heap *h, size_t total)
{
    memset(h, 0, sizeof *h);
    h->cap = total + MAXSPANS * 4096;
    h->buf = malloc(h->cap);
    h->pl = malloc(MAXPLANT * sizeof *h->pl);
    ck_assert_ptr_nonnull(h->buf);
    ck_assert_ptr_nonnull(h->pl);
    size_t start[MAXSPANS], end[MAXSPANS];
    h->nsp = 2 + rnd() % (MAXSPANS - 2);
    for (size_t s = 0; s < h->nsp; s++) {
        /* The gap before the stretch: nothing, host chars, or host chars of wide form. */
        unsigned g = (unsigned)(rnd() % 3);
        size_t ng = s == 0 ? 0 : g == 0 ? 0 : 1 + rnd() % 20;
        for (size_t i = 0; i < ng; i++) {
            if (g == 2) put_byte(h, (uint8_t)host_cs[rnd() % 26]), put_byte(h, 0);
            else put_byte(h, (uint8_t)(rnd() % 2 ? '.' : host_cs[rnd() % 62]));
        }
        start[s] = h->len;
        /* Stretches starting inside a host run (possibly wide, possibly at an odd offset). */
        if (rnd() % 2) {
            char t[8];
            size_t n = 1 + rnd() % 6;
            host_text(t, n, 3);
            rnd() % 2 ? put_wide(h, t, n) : put(h, t, n);
            put_byte(h, rnd() % 2 ? 0 : ':');
            if (rnd() % 2) put_byte(h, 0);
        }
        size_t want = total / h->nsp;
        while (h->len - start[s] < want) put_piece(h);
        /* Stretch ends: after a whole token, one byte short of it, or mid-run. */
        if (rnd() % 2) {
            char t[12];
            host_text(t, 8, 3);
            t[2] = '.';
            if (rnd() % 2) put_wide(h, t, 8), put_byte(h, ':'), put_byte(h, 0);
            else put(h, t, 8), put_byte(h, 0);
            if (rnd() % 2) h->len--;
        }
        end[s] = h->len;
    }
    /* Trailing junk so that the last stretch is not the end of the run. */
    for (int i = 0; i < 9; i++) put_byte(h, 'a');
    put_byte(h, 0);
    h->d = tu_open_raw(h->buf, h->len, BASE);
    for (size_t s = 0; s < h->nsp; s++) {
        h->sp[s].va = BASE + start[s];
        h->sp[s].len = end[s] - start[s];
        h->sp[s].off = start[s];
        h->sp[s].p = md_ptr(h->d, h->sp[s].va, h->sp[s].len);
        ck_assert_ptr_nonnull(h->sp[s].p);
    }
}

static void heap_free(heap *h)
{
    md_close(h->d);
    free(h->buf);
    free(h->pl);
}

/* ---- collection ---- */

static void same_entries(const mc_tok_entry *a, size_t na, const mc_tok_entry *b, size_t nb,
                         const char *what)
{
    REQUIRE(na == nb, "%s: %zu entries vs %zu", what, na, nb);
    for (size_t i = 0; i < na; i++)
        REQUIRE(a[i].end_va == b[i].end_va && a[i].key == b[i].key &&
                          a[i].flags == b[i].flags && a[i].runlen == b[i].runlen,
                      "%s: entry %zu differs (va %#llx/%#llx flags %u/%u run %u/%u)", what, i,
                      (unsigned long long)a[i].end_va, (unsigned long long)b[i].end_va,
                      a[i].flags, b[i].flags, a[i].runlen, b[i].runlen);
}

typedef enum cutting { CUT_ONE, CUT_RANDOM, CUT_1, CUT_63, CUT_64, CUT_65, CUT__N } cutting;

/* The chunk ends of a stretch of len bytes cut this way. */
static size_t cuts(cutting c, uint64_t len, uint64_t *end, size_t max)
{
    size_t n = 0;
    uint64_t at = 0;
    while (at < len && n < max) {
        uint64_t step = c == CUT_ONE ? len : c == CUT_1 ? 1 : c == CUT_63 ? 63 : c == CUT_64 ? 64 :
                        c == CUT_65 ? 65 : 1 + rnd() % (rnd() % 2 ? 5000 : 80);
        at = at + step < len ? at + step : len;
        end[n++] = at;
    }
    ck_assert_uint_eq(at, len);
    return n;
}

/* The index of h built with cutting c: chunks spread round-robin over nparts parts, each part
 * collected with the SSE2 collector and, in a twin part, with the scalar one (the twins must
 * agree entry by entry); parts merged in a shuffled order. */
static mc_tok_index *build(const heap *h, cutting c, size_t nparts, bool backwards, uint64_t seed)
{
    mc_tok_part *pt[4], *ps[4];
    ck_assert_uint_le(nparts, 4);
    for (size_t i = 0; i < nparts; i++) {
        pt[i] = mc_tok_part_new(1u << 22);
        ps[i] = mc_tok_part_new(1u << 22);
        ck_assert_ptr_nonnull(pt[i]);
        ck_assert_ptr_nonnull(ps[i]);
    }
    size_t cap = h->len + 16;
    uint64_t *end = malloc(cap * sizeof *end);
    size_t k = 0;
    for (size_t s = 0; s < h->nsp; s++) {
        size_t n = cuts(c, h->sp[s].len, end, cap);
        for (size_t j0 = 0; j0 < n; j0++) {
            size_t j = backwards ? n - 1 - j0 : j0;
            uint64_t lo = j ? end[j - 1] : 0;
            size_t t = k++ % nparts;
            REQUIRE(mc_tok_collect(pt[t], &h->sp[s], lo, end[j]), "collect");
            REQUIRE(mc_tok_collect_scalar(ps[t], &h->sp[s], lo, end[j]), "collect_scalar");
        }
    }
    free(end);
    for (size_t i = 0; i < nparts; i++) {
        size_t na, nb;
        const mc_tok_entry *a = mc_tok_part_entries(pt[i], &na);
        const mc_tok_entry *b = mc_tok_part_entries(ps[i], &nb);
        same_entries(a, na, b, nb, "sse2 vs scalar part");
    }
    /* Shuffle the parts. */
    for (size_t i = nparts; i > 1; i--) {
        size_t j = rnd() % i;
        mc_tok_part *x = pt[i - 1];
        pt[i - 1] = pt[j];
        pt[j] = x;
    }
    mc_tok_index *ix = mc_tok_merge(pt, nparts, seed);
    mc_tok_index *iy = mc_tok_merge(ps, nparts, seed);
    ck_assert_ptr_nonnull(ix);
    ck_assert_ptr_nonnull(iy);
    size_t na, nb;
    const mc_tok_entry *a = mc_tok_index_entries(ix, &na), *b = mc_tok_index_entries(iy, &nb);
    same_entries(a, na, b, nb, "sse2 vs scalar index");
    ck_assert_uint_eq(mc_tok_count(ix), na);
    for (size_t i = 1; i < na; i++)
        REQUIRE(a[i - 1].end_va < a[i].end_va ||
                    (a[i - 1].end_va == a[i].end_va && a[i - 1].flags < a[i].flags),
                "index not in (end_va, flags) order at %zu", i);
    mc_tok_index_free(iy);
    for (size_t i = 0; i < nparts; i++) {
        mc_tok_part_free(pt[i]);
        mc_tok_part_free(ps[i]);
    }
    return ix;
}

/* ---- lookups against memmem ---- */

typedef struct hits {
    uint64_t va[4096];
    size_t n, stop_after;
} hits;

static bool on_hit(void *arg, uint64_t va)
{
    hits *hs = arg;
    REQUIRE(hs->n < 4096, "too many hits");
    hs->va[hs->n++] = va;
    return hs->stop_after == 0 || hs->n < hs->stop_after;
}

static void brute(const heap *h, const char *text, size_t n, bool wide, char term, hits *out)
{
    uint8_t nd[1100];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        nd[len++] = (uint8_t)text[i];
        if (wide) nd[len++] = 0;
    }
    nd[len++] = (uint8_t)term;
    if (wide) nd[len++] = 0;
    out->n = 0;
    for (size_t s = 0; s < h->nsp; s++) {
        const uint8_t *p = h->sp[s].p, *q = p;
        size_t left = h->sp[s].len;
        const uint8_t *m;
        while ((m = memmem(q, left, nd, len)) != NULL) {
            REQUIRE(out->n < 4096, "too many matches");
            out->va[out->n++] = h->sp[s].va + (uint64_t)(m - p);
            left -= (size_t)(m + 1 - q);
            q = m + 1;
        }
    }
}

static bool answerable(const char *t, size_t n)
{
    if (n < 4 || n > 255) return false;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_host((uint8_t)t[i])) return false;
        dot |= t[i] == '.';
    }
    return dot;
}

static size_t queries_run, queries_hit;

/* mc_tok_find against memmem for one text in both forms and with both terminators. */
static void check_text(const mc_tok_index *ix, const heap *h, const char *t, size_t n)
{
    static hits got, want;
    bool ok = answerable(t, n);
    for (int form = 0; form < 4; form++) {
        bool wide = form & 1;
        char term = form & 2 ? ':' : 0;
        got.n = 0;
        got.stop_after = 0;
        bool r = mc_tok_find(ix, h->d, t, n, wide, term, on_hit, &got);
        REQUIRE(r == ok, "answerable(%.*s) = %d, find said %d", (int)n, t, ok, r);
        if (!ok) {
            REQUIRE(got.n == 0, "hits from a refused text");
            continue;
        }
        brute(h, t, n, wide, term, &want);
        REQUIRE(got.n == want.n, "'%.*s' wide %d term %d: %zu hits, memmem %zu", (int)n, t,
                      wide, term, got.n, want.n);
        for (size_t i = 0; i < got.n; i++)
            REQUIRE(got.va[i] == want.va[i], "'%.*s': hit %zu at %#llx, memmem %#llx", (int)n, t, i,
                    (unsigned long long)got.va[i], (unsigned long long)want.va[i]);
        queries_run++;
        queries_hit += want.n != 0;
        if (want.n > 1) {
            got.n = 0;
            got.stop_after = 1;
            REQUIRE(mc_tok_find(ix, h->d, t, n, wide, term, on_hit, &got), "find");
            REQUIRE(got.n == 1 && got.va[0] == want.va[0], "find past a false cb");
        }
    }
}

/* Texts from the heap: planted runs and their suffixes, tails of whatever precedes terminators,
 * absent texts, texts the index cannot answer. */
static void check_lookups(const mc_tok_index *ix, const heap *h, size_t nq)
{
    char t[700];
    for (size_t q = 0; q < nq; q++) {
        size_t n;
        switch (q % 6) {
        case 0: case 1: { /* a planted run or one of its suffixes (often the 254..256 last) */
            const plant *p = &h->pl[rnd() % h->npl];
            if (q % 6 == 0 || p->n < 2) n = p->n;
            else if (rnd() % 3 == 0) n = 254 + rnd() % 3;
            else n = 1 + rnd() % p->n;
            if (n > p->n) n = p->n;
            memcpy(t, p->text + p->n - n, n);
            break;
        }
        case 2: case 3: { /* the bytes before a terminator somewhere in a stretch */
            /* The first terminator after a random place (case 3: the stretch start) that ends a
             * host char (either form); the text: its last 1..run + 2 chars, reading back in the
             * dump past the stretch start (a text that crosses it is not on the heap). */
            const mc_heap_span *sp = &h->sp[rnd() % h->nsp];
            const uint8_t *b = h->buf;
            uint64_t e = sp->off + (q % 6 == 2 ? rnd() % sp->len : 0), end = sp->off + sp->len;
            for (; e < end; e++) {
                if (b[e] != 0 && b[e] != ':') continue;
                if (e >= 1 && is_host(b[e - 1])) break;
                if (e >= 2 && b[e - 1] == 0 && is_host(b[e - 2])) break;
            }
            if (e == end) e = end - 1;
            bool wide = e >= 2 && b[e - 1] == 0;
            size_t w = wide ? 2 : 1, run = 0;
            while (run * w + w <= e && is_host(b[e - run * w - w]) &&
                   (!wide || b[e - run * w - 1] == 0))
                run++;
            n = rnd() % 2 ? run : 1 + rnd() % (run + 2);
            if (n * w > e) n = e / w;
            if (n > 600) n = 600;
            for (size_t i = 0; i < n; i++) t[i] = (char)b[e - (n - i) * w];
            break;
        }
        case 4: /* absent (most likely) */
            n = 4 + rnd() % 30;
            host_text(t, n, 4);
            t[rnd() % n] = '.';
            break;
        default: /* not answerable: too short, too long, a non-host char, no '.' */
            n = (size_t[]){3, 256, 300, 10, 10}[q / 6 % 5];
            host_text(t, n, 3);
            if (q / 6 % 5 == 3) t[rnd() % n] = "/ :\x80"[rnd() % 4];
            if (q / 6 % 5 == 4) for (size_t i = 0; i < n; i++) if (t[i] == '.') t[i] = 'x';
        }
        check_text(ix, h, t, n);
    }
}

START_TEST(test_generated)
{
    static const uint64_t seeds[] = {0x1234567ull, 0xDEADBEEFCAFEull, 0x5EED5EED1ull};
    for (size_t si = 0; si < 3; si++) {
        rng_state = seeds[si];
        heap h;
        heap_build(&h, 120000 + si * 40000);
        mc_tok_index *ref = build(&h, CUT_ONE, 1, false, 7);
        size_t nref;
        const mc_tok_entry *er = mc_tok_index_entries(ref, &nref);
        ck_assert_uint_gt(nref, 200);   /* the generator plants plenty */
        size_t nwide = 0, ncolon = 0;
        for (size_t i = 0; i < nref; i++) {
            nwide += er[i].flags & MC_TOK_WIDE ? 1 : 0;
            ncolon += er[i].flags & MC_TOK_COLON ? 1 : 0;
        }
        ck_assert_uint_gt(nwide, 50);
        ck_assert_uint_gt(ncolon, 50);
        ck_assert_uint_gt(nref - nwide, 50);
        for (cutting c = CUT_ONE; c < CUT__N; c++) {
            for (size_t np = 1; np <= 3; np++) {
                mc_tok_index *ix = build(&h, c, np, np == 2, 7);
                size_t n;
                const mc_tok_entry *e = mc_tok_index_entries(ix, &n);
                same_entries(e, n, er, nref, "cutting vs one chunk");
                mc_tok_index_free(ix);
            }
        }
        queries_run = queries_hit = 0;
        check_lookups(ref, &h, 3000);
        ck_assert_uint_gt(queries_run, 3000);
        ck_assert_uint_gt(queries_hit, 500);
        /* Another seed: other buckets, the same answers. */
        mc_tok_index *other = build(&h, CUT_RANDOM, 2, false, 0xFEEDFACE12345678ull);
        check_lookups(other, &h, 600);
        mc_tok_index_free(other);
        mc_tok_index_free(ref);
        heap_free(&h);
    }
}
END_TEST

/* Hand-placed tokens: each definition edge once. */
START_TEST(test_edges)
{
    static const uint8_t img[] =
        "xab.c\0"           /* at the stretch start: ASCII token at 5 */
        "\x01" "xy.z:"      /* ':' terminator */
        "\x01" "a.b\0"      /* 3 chars: no token */
        "\x01" "abcd\0"     /* no '.': not indexed */
        "\x01" "w\0w\0.\0q\0:\0"  /* UTF-16 at an odd offset, ':' */
        "\x01" "e\0x\0.\0t\0\0\0"; /* UTF-16, NUL */
    heap h;
    memset(&h, 0, sizeof h);
    h.d = tu_open_raw(img, sizeof img, BASE);
    h.sp[0] = (mc_heap_span){.va = BASE, .len = sizeof img, .p = md_ptr(h.d, BASE, sizeof img)};
    h.nsp = 1;
    mc_tok_part *pt = mc_tok_part_new(100);
    ck_assert(mc_tok_collect(pt, &h.sp[0], 0, sizeof img));
    mc_tok_index *ix = mc_tok_merge(&pt, 1, 1);
    size_t n;
    const mc_tok_entry *e = mc_tok_index_entries(ix, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(e[0].end_va, BASE + 5);
    ck_assert_uint_eq(e[0].flags, 0);
    ck_assert_uint_eq(e[0].runlen, 5);
    ck_assert_uint_eq(e[1].end_va, BASE + 11);
    ck_assert_uint_eq(e[1].flags, MC_TOK_COLON);
    ck_assert_uint_eq(e[2].flags, MC_TOK_WIDE | MC_TOK_COLON);
    ck_assert_uint_eq(e[2].end_va, BASE + 32);
    ck_assert_uint_eq(e[3].flags, MC_TOK_WIDE);
    ck_assert_uint_eq(e[3].runlen, 4);
    check_text(ix, &h, "ab.c", 4);
    check_text(ix, &h, "xab.c", 5);
    check_text(ix, &h, "xy.z", 4);
    check_text(ix, &h, "wwxy.z", 6);
    check_text(ix, &h, "ww.q", 4);
    check_text(ix, &h, "ex.t", 4);
    /* The same bytes as a stretch starting one byte in: "ab.c" is the whole run, "xab.c" crosses
     * the stretch start (in the dump, not on the heap); one byte further "b.c" is no token. */
    mc_tok_part *p2 = mc_tok_part_new(100);
    mc_heap_span s1 = {.va = BASE + 1, .len = sizeof img - 1, .p = h.sp[0].p + 1};
    ck_assert(mc_tok_collect(p2, &s1, 0, s1.len));
    mc_tok_index *i2 = mc_tok_merge(&p2, 1, 1);
    ck_assert_uint_eq(mc_tok_count(i2), 4);
    h.sp[0] = s1;
    check_text(i2, &h, "ab.c", 4);
    check_text(i2, &h, "xab.c", 5);
    mc_tok_index_free(i2);
    mc_tok_part_free(p2);
    p2 = mc_tok_part_new(100);
    s1 = (mc_heap_span){.va = BASE + 2, .len = sizeof img - 2, .p = s1.p + 1};
    ck_assert(mc_tok_collect(p2, &s1, 0, s1.len));
    i2 = mc_tok_merge(&p2, 1, 1);
    ck_assert_uint_eq(mc_tok_count(i2), 3);
    h.sp[0] = s1;
    check_text(i2, &h, "ab.c", 4);
    mc_tok_index_free(i2);
    mc_tok_part_free(p2);
    mc_tok_index_free(ix);
    mc_tok_part_free(pt);
    md_close(h.d);
}
END_TEST

/* Stretches whose first tokens have fewer than 4 chars inside the stretch, host chars right
 * before it in memory: no token, however the stretch is chunked (chunks starting at every offset
 * below 64, where the collector fills in the bytes before the stretch itself). */
START_TEST(test_stretch_start)
{
    static const uint8_t img[] = "wxyz.a.b:wxyz\0c\0.\0d\0:\0a\0b\0c\0.\0e\0e\0\0\0";
    for (size_t skip = 1; skip <= 12; skip++) {
        const uint8_t *p = img + skip;
        size_t len = sizeof img - skip;
        size_t want = 0;   /* tokens wholly inside: scalar over one chunk, checked by hand below */
        mc_heap_span sp = {.va = BASE + skip, .len = len, .p = p};
        mc_tok_part *one = mc_tok_part_new(64);
        ck_assert(mc_tok_collect_scalar(one, &sp, 0, len));
        mc_tok_part_entries(one, &want);
        for (size_t cut = 1; cut <= 3; cut++) {
            mc_tok_part *a = mc_tok_part_new(64), *b = mc_tok_part_new(64);
            for (uint64_t lo = 0; lo < len; lo += cut) {
                ck_assert(mc_tok_collect(a, &sp, lo, lo + cut));
                ck_assert(mc_tok_collect_scalar(b, &sp, lo, lo + cut));
            }
            size_t na, nb, n1;
            const mc_tok_entry *ea = mc_tok_part_entries(a, &na), *eb = mc_tok_part_entries(b, &nb);
            const mc_tok_entry *e1 = mc_tok_part_entries(one, &n1);
            same_entries(ea, na, e1, n1, "sse2 chunks vs one chunk");
            same_entries(eb, nb, e1, n1, "scalar chunks vs one chunk");
            mc_tok_part_free(a);
            mc_tok_part_free(b);
        }
        /* The tokens by hand: "wxyz.a.b" at 8 (its run cut by the stretch start: 4 chars left
         * at skip 4, 3 at skip 5), wide "zc.d" at 20 ('z' and the NUL after it read as a wide
         * char), wide "abc.ee" at 34. */
        ck_assert_uint_eq(want, skip <= 4 ? 3 : 2);
        mc_tok_part_free(one);
    }
}
END_TEST

/* Runs past 255 chars: a '.' 255 chars back is inside the run's window, 256 back is not; a run
 * starting at the stretch start (ASCII and UTF-16, the stretch starting right at it). */
START_TEST(test_long_runs)
{
    for (int wide = 0; wide < 2; wide++) {
        for (size_t back = 254; back <= 257; back++) {
            for (size_t len = back; len <= back + 1; len++) {
                char t[300];
                host_text(t, len, 0);
                t[len - back] = '.';
                uint8_t buf[700];
                size_t w = wide ? 2 : 1, bl = 0;
                for (size_t i = 0; i < len; i++) {
                    buf[bl++] = (uint8_t)t[i];
                    if (wide) buf[bl++] = 0;
                }
                buf[bl++] = ':';
                if (wide) buf[bl++] = 0;
                heap h;
                memset(&h, 0, sizeof h);
                h.d = tu_open_raw(buf, bl, BASE);
                h.sp[0] = (mc_heap_span){.va = BASE, .len = bl, .p = md_ptr(h.d, BASE, bl)};
                h.nsp = 1;
                mc_tok_part *pt = mc_tok_part_new(10);
                ck_assert(mc_tok_collect(pt, &h.sp[0], 0, bl));
                mc_tok_index *ix = mc_tok_merge(&pt, 1, 5);
                size_t n;
                const mc_tok_entry *e = mc_tok_index_entries(ix, &n);
                ck_assert_uint_eq(n, back <= 255 ? 1 : 0);
                if (n) {
                    ck_assert_uint_eq(e[0].runlen, len < 255 ? len : 255);
                    ck_assert_uint_eq(e[0].end_va, BASE + len * w);
                }
                for (size_t q = 250; q <= 256 && q <= len; q++) check_text(ix, &h, t + len - q, q);
                mc_tok_index_free(ix);
                mc_tok_part_free(pt);
                md_close(h.d);
            }
        }
    }
}
END_TEST

START_TEST(test_cap)
{
    uint8_t buf[1000];
    size_t len = 0;
    for (int i = 0; i < 10; i++) {
        memcpy(buf + len, "\x01host.example:", 14);
        len += 14;
    }
    mc_heap_span sp = {.va = BASE, .len = len, .p = buf};
    for (int scalar = 0; scalar < 2; scalar++) {
        mc_tok_part *ok = mc_tok_part_new(10), *over = mc_tok_part_new(9);
        bool (*col)(mc_tok_part *, const mc_heap_span *, uint64_t, uint64_t) =
            scalar ? mc_tok_collect_scalar : mc_tok_collect;
        ck_assert(col(ok, &sp, 0, len));
        ck_assert(col(over, &sp, 0, 14 * 9));
        ck_assert(!col(over, &sp, 14 * 9, len));
        ck_assert(!col(over, &sp, 0, 1));    /* unusable from then on */
        mc_tok_index *ix = mc_tok_merge(&ok, 1, 3);
        ck_assert_uint_eq(mc_tok_count(ix), 10);
        ck_assert_ptr_null(mc_tok_merge(&over, 1, 3));
        mc_tok_part *both[2] = {ok, over};
        ck_assert_ptr_null(mc_tok_merge(both, 2, 3));
        mc_tok_index_free(ix);
        mc_tok_part_free(ok);
        mc_tok_part_free(over);
    }
    /* No parts: an empty index that answers (nothing). */
    mc_tok_index *ix = mc_tok_merge(NULL, 0, 3);
    ck_assert_uint_eq(mc_tok_count(ix), 0);
    hits hs = {.n = 0};
    ck_assert(mc_tok_find(ix, NULL, "host.example", 12, false, ':', on_hit, &hs));
    ck_assert_uint_eq(hs.n, 0);
    mc_tok_index_free(ix);
}
END_TEST

/* A whole-stretch heap of one pattern, collected in 4 KiB chunks over 2 parts. */
static void hostile(const uint8_t *pat, size_t plen, size_t len, size_t want_entries,
                    const char *q, size_t qn)
{
    heap h;
    memset(&h, 0, sizeof h);
    h.buf = malloc(len + 16);
    for (size_t i = 0; i < len; i++) h.buf[i] = pat[i % plen];
    h.len = len;
    h.d = tu_open_raw(h.buf, len, BASE);
    h.sp[0] = (mc_heap_span){.va = BASE, .len = len, .p = md_ptr(h.d, BASE, len)};
    h.nsp = 1;
    mc_tok_part *pt[2] = {mc_tok_part_new(len), mc_tok_part_new(len)};
    for (uint64_t lo = 0, k = 0; lo < len; lo += 4096, k++) {
        REQUIRE(mc_tok_collect(pt[k % 2], &h.sp[0], lo, lo + 4096), "collect");
        REQUIRE(mc_tok_collect_scalar(pt[(k + 1) % 2], &h.sp[0], lo, lo + 4096), "collect_scalar");
    }
    mc_tok_index *ix = mc_tok_merge(pt, 2, 99);
    ck_assert_uint_eq(mc_tok_count(ix), want_entries);
    if (q) check_text(ix, &h, q, qn);
    mc_tok_index_free(ix);
    mc_tok_part_free(pt[0]);
    mc_tok_part_free(pt[1]);
    md_close(h.d);
    free(h.buf);
}

START_TEST(test_hostile)
{
    /* "a.bc:" over 20,000 bytes: every one a token (each collected twice, merged once). */
    hostile((const uint8_t *)"a.bc:", 5, 20000, 4000, "a.bc", 4);
    hostile((const uint8_t *)"a.bc:", 5, 20000, 4000, "xa.bc", 5);
    hostile((const uint8_t *)"a.bc:", 5, 20000, 4000, "bc:a.bc", 7);   /* not answerable */
    hostile((const uint8_t *)":", 1, 300000, 0, "a.bc", 4);
    hostile((const uint8_t *)"a\0.\0b\0c\0", 8, 300000, 0, "a.bc", 4);
    hostile((const uint8_t *)"\0", 1, 300000, 0, NULL, 0);
    /* Bytes the collector's fast masks take for host chars or NULs ('/', '[', ':' as the high
     * byte of a wide char): candidates that the exact check drops. */
    hostile((const uint8_t *)"////\0", 5, 100000, 0, "a.bc", 4);
    hostile((const uint8_t *)"a.[b:", 5, 100000, 0, "a.bc", 4);
    hostile((const uint8_t *)"a:.:b:c:d:::", 12, 100000, 0, "a.bc", 4);
    hostile((const uint8_t *)"a\0.\0b\0c\0:\0", 10, 40000, 4000, "a.bc", 4);
    /* One host run of 100,000 chars with a '.' every 7th, ending in a terminator. */
    hostile((const uint8_t *)"abcdef.", 7, 100000, 0, NULL, 0);
    uint8_t *run = malloc(100001);
    for (size_t i = 0; i < 100000; i++) run[i] = "abcdef."[i % 7];
    run[100000] = 0;
    hostile(run, 100001, 100001, 1, "abcdef.abcdef", 13);
    free(run);
    /* Wide: a run of 50,000 chars and a NUL char; the same at an odd offset. */
    uint8_t *wr = malloc(100003);
    wr[0] = 0x7F;
    for (size_t i = 0; i < 50000; i++) wr[1 + 2 * i] = (uint8_t)"a.b-c_9"[i % 7], wr[2 + 2 * i] = 0;
    wr[100001] = 0;
    wr[100002] = 0;
    hostile(wr + 1, 100002, 100002, 1, "b-c_9a.b-c", 10);
    hostile(wr, 100003, 100003, 1, "9a.b-c_9a.b-c", 13);
    free(wr);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("heaptok");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_stretch_start);
    tcase_add_test(tc, test_long_runs);
    tcase_add_test(tc, test_cap);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_generated);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
