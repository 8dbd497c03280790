/* Per-dump state shared by the decoders of one dump (decoder.h: mc_dump_shared). Internal to the
 * decoder library.
 *
 * It holds the managed-heap index (mc_clrstr.h), built once on first use under `lock`, and a
 * small memo of results derived from it (e.g. which heap keys open one encrypted blob), under
 * `memo_lock`. Decoders of one dump may run concurrently in threads.
 */
#ifndef MEMCFG_MC_SHARED_H
#define MEMCFG_MC_SHARED_H

#include "decoder.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_SHARED_MEMO 32          /* entries kept (oldest replaced first) */
#define MC_SHARED_MEMO_KEY 64      /* longest key */
#define MC_SHARED_MEMO_VAL 512     /* longest value */

typedef struct mc_clr_index mc_clr_index;

typedef struct mc_shared_memo {
    uint8_t key[MC_SHARED_MEMO_KEY];
    size_t key_len;
    uint8_t val[MC_SHARED_MEMO_VAL];
    size_t val_len;
    bool used;
} mc_shared_memo;

struct mc_dump_shared {
    pthread_mutex_t lock;          /* guards the lazy build of clr */
    bool clr_done;                 /* the build ran (clr may still be NULL: out of memory) */
    mc_clr_index *clr;
    size_t max_strings, max_arrays;  /* index caps (mc_clrstr.h defaults; tests lower them) */
    /* The host tokens of the heap (mc_heaptok.h), when the scan's threads collected them (never
     * built later: without it, decoders search the heap); under lock. */
    struct mc_tok_index *tok;
    const md_dump *tok_dump;

    pthread_mutex_t memo_lock;
    mc_shared_memo memo[MC_SHARED_MEMO];
    size_t memo_next;
};

/* Lower (or restore, with 0) the index caps before first use: max_strings CLR strings, and
 * max_arrays byte[] objects per indexed length. For tests of the caps. */
void mc_dump_shared_limit(mc_dump_shared *s, size_t max_strings, size_t max_arrays);

/* The memo: a copy of the value stored under key (at most cap bytes; *val_len gets its length).
 * Keys start with a caller tag so that users do not collide. */
bool mc_shared_memo_get(mc_dump_shared *s, const void *key, size_t key_len, void *val,
                        size_t cap, size_t *val_len);
void mc_shared_memo_put(mc_dump_shared *s, const void *key, size_t key_len, const void *val,
                        size_t val_len);

/* Defined in clrstr.c. */
void mc_clr_index_free(mc_clr_index *ix);

#endif
