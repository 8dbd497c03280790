/* An index of the "host tokens" on a process's heap: where decoders find decrypted copies of the
 * C2 host names they decoded without a pass over the heap per lookup. The scan workers feed each
 * chunk of a heap stretch to a collector while it is in cache (mc_tok_collect, one part per
 * thread); the parts are merged into a read-only index (mc_tok_merge) that answers lookups
 * (mc_tok_find) from any number of threads.
 *
 * Definitions (positions are offsets in one heap stretch, mc_heap_span):
 * - Host char: an ASCII byte in [A-Za-z0-9._/-] (host names, addresses and the paths after them:
 *   "c2.example/api"). Wide host char: the 2 bytes (c, 0x00) with c a
 *   host char (UTF-16LE).
 * - ASCII token: a position e where byte e is a terminator, NUL (0x00) or ':' (0x3A), and bytes
 *   e-1, e-2, e-3, e-4 are host chars (all inside the stretch). Its run: the maximal sequence of
 *   host chars ending at e-1 (stopping at the stretch start), of which only the last 255 chars
 *   matter. It is indexed only if a '.' is among the last min(runlen, 255) chars.
 * - UTF-16 token: a position e (any parity) where bytes (e, e+1) are (0x00, 0x00) or (':', 0x00)
 *   and the 4 wide chars before e (bytes e-8..e-1) are wide host chars. Its run: the maximal
 *   sequence of wide host chars ending at e (stepping back 2 bytes at a time from e-2, stopping
 *   at the stretch start), the last 255 chars matter; indexed only if a '.' is among them.
 * - Ownership: an ASCII token belongs to the chunk holding byte e, a UTF-16 token to the chunk
 *   holding byte e+1 (its last terminator byte). A collector for offsets [lo, hi) reads no byte
 *   at or past hi; it reads back before lo (within the stretch) up to 2 * 255 + 8 bytes.
 * - Entry: {key, end_va (VA of e), flags (wide bit, terminator NUL or ':'), runlen =
 *   min(run length in chars, 255)}. key = a seeded hash of the last 4 chars of the run (char
 *   values: the low bytes of UTF-16 chars), the same function that lookups apply to the last 4
 *   chars of the text. The hash is a bijection of the 4 chars for a given seed (equal keys mean
 *   equal chars); the seed spreads the table buckets.
 *
 * Lookups: every occurrence of a text (4..255 host chars holding a '.') immediately followed by
 * a terminator, in ASCII or UTF-16LE form, with no condition on what precedes it (the text may
 * be the tail of a longer run): exactly what a memmem of text + terminator over each stretch
 * finds. Candidates are verified against the dump's bytes, and a text longer than an entry's
 * runlen is not taken from it (it would reach past the stretch start).
 *
 * Memory: 16 bytes per entry in a part; in the index 20 per entry plus 4 per table bucket (one
 * to two buckets per entry). Collection is SSE2: 64-byte masks of terminators and of a superset
 * of the host chars, carried between blocks; runs of NUL blocks skipped; only candidate positions
 * reach scalar code, which checks them exactly. A portable scalar collector (non-SSE2 builds)
 * gives identical entries. */
#ifndef MEMCFG_MC_HEAPTOK_H
#define MEMCFG_MC_HEAPTOK_H

#include "lib/mc_clrstr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_TOK_MAX_RUN 255u    /* chars of a run that matter; longest text answered */
#define MC_TOK_MIN_TEXT 4u     /* shortest text answered */
#define MC_TOK_WIDE 0x01u      /* entry flag: UTF-16 token */
#define MC_TOK_COLON 0x02u     /* entry flag: the terminator is ':' (else NUL) */

/* A host char (see above). */
static inline bool mc_tok_host_char(uint8_t c)
{
    return (uint8_t)((c | 0x20) - 'a') < 26 || (uint8_t)(c - '0') < 10 || c == '.' || c == '-' ||
           c == '_' || c == '/';
}

typedef struct mc_tok_part mc_tok_part;    /* what one thread collected */
typedef struct mc_tok_index mc_tok_index;  /* merged, read-only, thread-safe lookups */

/* One entry as collected (key: the 4 chars, little-endian, until the merge hashes them) and as
 * merged (key: the seeded hash). */
typedef struct mc_tok_entry {
    uint64_t end_va;
    uint32_t key;
    uint8_t flags;
    uint8_t runlen;
} mc_tok_entry;

/* A part holding at most max_entries entries (collection fails past it). NULL on OOM. */
mc_tok_part *mc_tok_part_new(size_t max_entries);
void mc_tok_part_free(mc_tok_part *pt);
/* Tokens owned by offsets [lo, hi) of sp (hi is clamped to sp->len). False when the cap was hit
 * or on OOM (the part is then unusable). */
bool mc_tok_collect(mc_tok_part *pt, const mc_heap_span *sp, uint64_t lo, uint64_t hi);

/* Merge parts (any number, any order): entries sorted by (end_va, flags) (then runlen, key: one
 * VA holds two entries only when the dump maps it twice), identical entries dropped, so the result
 * never depends on how the stretches were cut or by how many threads; the lookup table built.
 * Sorted parts (collected in ascending order) are merged k ways, others sorted. NULL on OOM, when
 * a part is unusable (its cap was hit) or past 2^32 - 1 entries. Parts are left intact (the
 * caller frees them). */
mc_tok_index *mc_tok_merge(mc_tok_part *const *parts, size_t n, uint64_t seed);
void mc_tok_index_free(mc_tok_index *ix);
size_t mc_tok_count(const mc_tok_index *ix);

/* Every occurrence of `text` (n chars; searched in ASCII form, or in UTF-16LE form when wide) that
 * is immediately followed by terminator `term` (0 or ':', in the same form), in VA order of the
 * occurrence start: cb(arg, start_va) for each until cb returns false. False when the index cannot
 * answer this text (n < 4 or n > 255, a char that is not a host char, no '.' in it, term neither
 * 0 nor ':'): the caller then searches the heap itself. d: the dump the parts were collected
 * from (candidates are verified against its bytes). */
bool mc_tok_find(const mc_tok_index *ix, const md_dump *d, const char *text, size_t n, bool wide,
                 char term, bool (*cb)(void *arg, uint64_t start_va), void *arg);

/* For tests: the portable collector (the one non-SSE2 builds use), the entries a part holds (in
 * collection order), the merged entries in index order. */
bool mc_tok_collect_scalar(mc_tok_part *pt, const mc_heap_span *sp, uint64_t lo, uint64_t hi);
const mc_tok_entry *mc_tok_part_entries(const mc_tok_part *pt, size_t *n);
const mc_tok_entry *mc_tok_index_entries(const mc_tok_index *ix, size_t *n);

#endif
