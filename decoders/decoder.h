/* The decoder contract: what the engine hands a family decoder and what the decoder returns.
 *
 * A decoder gets the dump, the rule hits for its family (keyed by VA), and a context carrying the
 * deadline. It reads bytes through the memdump API only, and adds configs to `out` through the
 * builder in mc_config.h. It must return within the deadline (poll mc_expired()).
 */
#ifndef MEMCFG_DECODER_H
#define MEMCFG_DECODER_H

#include "memdump.h"
#include "mc_config.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One string match of one rule, copied out of libyara (no libyara pointers survive the scan). */
typedef struct mc_hit {
    uint64_t va;              /* virtual address of the match */
    uint32_t len;             /* match length in bytes */
    const char *rule;         /* rule identifier */
    const char *ns;           /* rule namespace */
    const char *string_id;    /* "$key"; "" for a rule that matched by condition only */
    const char *family;       /* meta family, "" for user rules without one */
} mc_hit;

/* Hits sorted by (va, rule, string_id). Strings are owned by the engine and live until the
 * decoder returns. */
typedef struct mc_hits {
    const mc_hit *v;
    size_t n;
} mc_hits;

/* Per-dump state shared by the decoders of one dump: indexes built lazily on first use (the
 * managed-heap index of mc_clrstr.h). The engine creates it before the decoders of a dump run and
 * frees it after; decoders of one dump may run concurrently, so it is built under its own lock. */
typedef struct mc_dump_shared mc_dump_shared;
mc_dump_shared *mc_dump_shared_new(void);
void mc_dump_shared_free(mc_dump_shared *s);

/* The heap indexes of one dump, built by the scan's threads while each chunk of the dump is in
 * their hands (instead of one more pass over the heap when a decoder first asks). `slots`:
 * threads that may feed it at once, each with its own slot number below it. item() takes VAs
 * [lo, hi) of run r (chunks partition the runs; any cut, any order, any thread). finish()
 * installs the indexes into s when every chunk was fed (complete) and no cap stood in the way;
 * otherwise the decoders build what they need themselves, with the same result. True when the
 * managed-heap index was installed. */
typedef struct mc_heap_indexer mc_heap_indexer;
mc_heap_indexer *mc_heap_indexer_new(const md_dump *d, unsigned slots);
void mc_heap_indexer_item(mc_heap_indexer *x, unsigned slot, const md_run *r, uint64_t lo,
                          uint64_t hi);
/* The same chunk, to be indexed by finish() only if the indexes are installed at all (a dump
 * without hits gets no decoders, and so no index). */
void mc_heap_indexer_later(mc_heap_indexer *x, unsigned slot, const md_run *r, uint64_t lo,
                           uint64_t hi);
bool mc_heap_indexer_finish(mc_heap_indexer *x, mc_dump_shared *s, bool complete);
void mc_heap_indexer_free(mc_heap_indexer *x);
/* CPU time the chunks took, in ms (for -v). */
double mc_heap_indexer_ms(const mc_heap_indexer *x);

/* The PBKDF2 budget of one decoder job (one decoder on one dump), counted in PBKDF2 rounds:
 * iterations x 20-byte blocks asked for (a whole 96-byte Aes256 dk at 50,000 iterations costs
 * 250,000; a first-block confirmation 50,000). A hostile .NET image can hand the Aes256
 * decoders key candidates x salts x iteration counts (up to 10^7 from the IL) derivations; past
 * the limit further ones are refused (the candidate counts as not confirmed) and counted.
 * Every derivation asked for is charged, whether or not lib/aesrat.c's process-wide memo held
 * it: what that memo holds depends on the timing of other jobs, the charge must not. Owned and
 * touched by one job only (no lock), so which derivation is refused never depends on threads. */
typedef struct mc_kdf_budget {
    uint64_t limit;           /* rounds; a derivation that would take `used` past it is refused */
    uint64_t used;            /* rounds charged */
    unsigned long derived;    /* derivations charged */
    unsigned long skipped;    /* derivations refused */
} mc_kdf_budget;

typedef struct mc_decode_ctx {
    double deadline;          /* CLOCK_MONOTONIC seconds; 0 = none */
    int verbose;
    uint64_t max_output;      /* cap on bytes a decoder may allocate for one decrypted blob */
    mc_dump_shared *shared;   /* per-dump shared state; NULL: each lookup scans the dump */
    mc_kdf_budget *kdf;       /* this job's PBKDF2 budget; NULL: unlimited, not counted */
} mc_decode_ctx;

/* True once the deadline has passed. Cheap enough to call in inner loops every few KiB. */
bool mc_expired(const mc_decode_ctx *ctx);
double mc_now(void);          /* CLOCK_MONOTONIC seconds */

/* Rule and string-id helpers for decoders. */
bool mc_hit_is(const mc_hit *h, const char *string_id);
/* First hit with this string id, or NULL. */
const mc_hit *mc_hits_find(const mc_hits *hits, const char *string_id);

typedef int (*mc_decode_fn)(const mc_decode_ctx *ctx, const md_dump *dump, const mc_hits *hits,
                            mc_results *out);

typedef struct mc_decoder {
    const char *family;       /* canonical lowercase MACO family: "quasar" */
    const char *display;      /* "QuasarRAT" */
    const char *version;      /* bumped when the decoder's output changes */
    const char *category;     /* MACO category: "rat", "infostealer", ... */
    const char *rules;        /* YARA source, embedded from <family>.yar at build time */
    mc_decode_fn decode;      /* returns 0, or -1 on an internal error (out may hold warnings) */
} mc_decoder;

/* The registry: NULL-terminated, in decoder_list.h order. */
extern const mc_decoder *const mc_decoders[];
size_t mc_decoder_count(void);
const mc_decoder *mc_decoder_find(const char *family);

#ifdef __cplusplus
}
#endif
#endif
