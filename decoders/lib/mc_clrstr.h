/* CLR objects on a .NET heap: how decoders find the decrypted copies of the values they decoded
 * from an image, and the derived keys a live process keeps. A System.String is the MethodTable
 * pointer (pointer-sized, non-zero), the int32 count of UTF-16 chars, the chars and a NUL char; a
 * byte[] is the MethodTable pointer, the int32 length (padded to 8 bytes on 64-bit) and the
 * bytes. Shared by every .NET family decoder.
 *
 * Where objects are looked for: object starts aligned to the pointer size (4 when the dump does
 * not name its architecture: x86 objects then still qualify), the whole object inside one stretch
 * of regions that can hold a GC heap: regions that are not MEM_IMAGE (nor a module range) and, when
 * the dump labels protections, writable. A lookup through a per-dump index (ctx->shared) and a
 * scan of the dump (ctx->shared NULL) apply the same rules and give the same answer.
 *
 * The index (built once per dump on first use, one pass over those regions): strings whose chars
 * are all in 1..0xFF (the only ones an ASCII/Latin-1 `text` can equal), keyed by a hash of their
 * text, at most MC_CLR_INDEX_MAX_STRINGS of them (a hostile heap of fake headers stops the
 * pass there; lookups then scan the rest of the dump for what the index does not hold); and
 * byte[16], byte[32], byte[64] objects whose bytes look random (derived keys), at most
 * MC_CLR_INDEX_MAX_ARRAYS per length. Memory is 24 to 32 bytes per indexed string (96 MiB at
 * the cap) and 8 per array. The pass polls the deadline (a cut pass is completed by scanning, like the cap) and
 * drops the file pages it read (md_release).
 */
#ifndef MEMCFG_MC_CLRSTR_H
#define MEMCFG_MC_CLRSTR_H

#include "decoder.h"

#include <stdbool.h>
#include <stdint.h>

#define MC_CLR_MAX_CHARS 1024u   /* longest text searched for */
#define MC_CLR_INDEX_MAX_STRINGS (4u << 20)   /* strings indexed per dump (96 MiB at the cap) */
#define MC_CLR_INDEX_MAX_ARRAYS (1u << 20)    /* byte[] objects indexed per length */
#define MC_CLR_PAIR_GAP 256u     /* a key array ending this close before a byte[64] "pairs" it */

/* Pointer size of the process's CLR objects (4 for x86/ARM dumps, else 8). */
unsigned mc_clr_ptr_size(const md_dump *d);
/* True when nchars UTF-16 chars at chars_va are the body of a CLR string object; *obj_va gets
 * the object's address. */
bool mc_clr_string_at(const md_dump *d, uint64_t chars_va, uint32_t nchars, uint64_t *obj_va);
/* The first CLR string object (in VA order) whose text is `text` (each byte one char), from the
 * index when ctx->shared is set, else by one bounded pass over the dump that stops at the first
 * match or at the deadline. Texts shorter than min_chars (they would match by chance) or longer
 * than MC_CLR_MAX_CHARS are not searched. */
bool mc_clr_find(const mc_decode_ctx *ctx, const md_dump *d, const char *text, size_t min_chars,
                 uint64_t *obj_va);
/* True when a region can hold a GC heap (see above). */
bool mc_clr_heap_region(const md_region *r);

/* A stretch of consecutive heap-capable regions of one run, readable in place: where decoders
 * look for what a process allocated (decrypted copies, fetched pages), never in images. */
typedef struct mc_heap_span {
    uint64_t va, len, off;    /* off: in md_dump.buf */
    const uint8_t *p;
} mc_heap_span;
/* The next stretch of `run` from region *i on (start with *i = run->first_region); false when
 * none is left. */
bool mc_heap_span_next(const md_dump *d, const md_run *run, size_t *i, mc_heap_span *sp);
/* Every occurrence of each needle in the heap stretches, in one pass, in VA order (needle order
 * at one VA; when a needle is shorter than 2 bytes, needle by needle within 256 KiB windows).
 * cb gets the needle's index, the match's VA, its
 * stretch and its offset there, and returns false to stop. The pages of each stretch are released
 * once it is searched; the deadline is polled. */
typedef struct mc_needle {
    const void *p;
    size_t len;
} mc_needle;
typedef bool (*mc_heap_match_fn)(void *arg, size_t needle, uint64_t va, const mc_heap_span *sp,
                                 size_t off);
void mc_heap_find_many(const mc_decode_ctx *ctx, const md_dump *d, const mc_needle *nd, size_t n,
                       mc_heap_match_fn cb, void *arg);

/* mc_heap_find_many answered from the host tokens the scan's threads indexed (mc_heaptok.h),
 * without a pass over the heap. Needle k is in UTF-16LE form when wide[k]. Each needle starts
 * with 4 to 255 host chars holding a '.', followed either by NUL or ':' inside the needle
 * ("host:port..."), or by nothing: then only matches followed by NUL (in the needle's form) are
 * reported, so the caller must want only those. Otherwise cb sees what mc_heap_find_many would
 * give it, in the same order. False (cb not called) when the dump has no such index or a needle
 * does not qualify: search with mc_heap_find_many then. */
bool mc_heap_find_tokens(const mc_decode_ctx *ctx, const md_dump *d, const mc_needle *nd,
                         const bool *wide, size_t n, mc_heap_match_fn cb, void *arg);
#define MC_HEAP_TOKENS_MAX (4u << 20)       /* host tokens indexed per dump and thread (64 MiB) */
#define MC_HEAP_TOKEN_MATCHES (1u << 20)    /* token matches one lookup gathers */

/* The indexed byte[len] objects (len 16, 32 or 64): data VAs in VA order in *va (owned by the
 * index, valid while ctx->shared lives). Bit 0 of an entry is set when a byte[16] or byte[32]
 * ends at most MC_CLR_PAIR_GAP bytes before the object (a key allocated just before it); clear it
 * before reading. False without ctx->shared (or for another dump, or another len). */
bool mc_clr_byte_arrays(const mc_decode_ctx *ctx, const md_dump *d, unsigned len,
                        const uint64_t **va, size_t *n);

/* What the index of a dump holds (built here if it was not yet). False without ctx->shared. */
typedef struct mc_clr_index_stats {
    size_t strings;           /* strings indexed */
    size_t arrays[3];         /* byte[16], byte[32], byte[64] indexed */
    bool complete;            /* false: capped or cut by the deadline at stop_va */
    bool arrays_capped;       /* some length hit MC_CLR_INDEX_MAX_ARRAYS (or the test cap) */
    uint64_t stop_va;
    uint64_t bytes;           /* bytes of the regions passed over */
    double build_ms;
} mc_clr_index_stats;
bool mc_clr_index_stats_get(const mc_decode_ctx *ctx, const md_dump *d, mc_clr_index_stats *st);

/* The index built a chunk at a time, as the scan's threads pass over the dump (lib/heapidx.c).
 * A part collects the objects whose length field lies at span offsets [lo, hi) (reading the
 * bytes before lo that decide a byte[64]'s pairing); false once a cap was hit. Parts merged in
 * any order and cut anywhere give the index the one-pass build gives, or NULL when the caps
 * (or memory) make that impossible: the decoders then build it themselves. Install hands the
 * merged index to the dump's shared state (false: it does not fit that state's caps; the caller
 * keeps it). */
typedef struct mc_clr_index mc_clr_index;
mc_clr_index *mc_clr_part_new(const md_dump *d, uint64_t seed, size_t max_s, size_t max_a);
/* A random hash seed for an index (crafted collisions cannot be planned). */
uint64_t mc_clr_seed(void);
bool mc_clr_part_collect(mc_clr_index *part, const mc_heap_span *sp, uint64_t lo, uint64_t hi);
mc_clr_index *mc_clr_merge(mc_clr_index *const *parts, size_t n, const md_dump *d, uint64_t seed,
                           size_t max_s, size_t max_a);
bool mc_clr_index_install(mc_dump_shared *s, mc_clr_index *ix, double build_ms);
/* Same entries (string objects, byte[] objects with their pairing, caps) in both: for tests. */
bool mc_clr_index_same(const mc_clr_index *a, const mc_clr_index *b);
void mc_clr_index_free(mc_clr_index *ix);

#endif
