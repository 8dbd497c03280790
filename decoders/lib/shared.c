/* Per-dump shared state (mc_shared.h). */
#include "lib/mc_heaptok.h"
#include "lib/mc_shared.h"
#include "lib/mc_clrstr.h"

#include <stdlib.h>
#include <string.h>

mc_dump_shared *mc_dump_shared_new(void)
{
    mc_dump_shared *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    if (pthread_mutex_init(&s->memo_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    s->max_strings = MC_CLR_INDEX_MAX_STRINGS;
    s->max_arrays = MC_CLR_INDEX_MAX_ARRAYS;
    return s;
}

void mc_dump_shared_free(mc_dump_shared *s)
{
    if (!s) return;
    mc_clr_index_free(s->clr);
    mc_tok_index_free(s->tok);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->memo_lock);
    free(s);
}

void mc_dump_shared_limit(mc_dump_shared *s, size_t max_strings, size_t max_arrays)
{
    pthread_mutex_lock(&s->lock);
    s->max_strings = max_strings && max_strings < MC_CLR_INDEX_MAX_STRINGS ? max_strings : MC_CLR_INDEX_MAX_STRINGS;
    s->max_arrays = max_arrays && max_arrays < MC_CLR_INDEX_MAX_ARRAYS ? max_arrays : MC_CLR_INDEX_MAX_ARRAYS;
    pthread_mutex_unlock(&s->lock);
}

bool mc_shared_memo_get(mc_dump_shared *s, const void *key, size_t key_len, void *val,
                        size_t cap, size_t *val_len)
{
    bool hit = false;
    if (!s || key_len > MC_SHARED_MEMO_KEY) return false;
    pthread_mutex_lock(&s->memo_lock);
    for (size_t i = 0; i < MC_SHARED_MEMO && !hit; i++) {
        const mc_shared_memo *m = &s->memo[i];
        if (!m->used || m->key_len != key_len || memcmp(m->key, key, key_len) != 0) continue;
        if (m->val_len > cap) break;
        memcpy(val, m->val, m->val_len);
        *val_len = m->val_len;
        hit = true;
    }
    pthread_mutex_unlock(&s->memo_lock);
    return hit;
}

void mc_shared_memo_put(mc_dump_shared *s, const void *key, size_t key_len, const void *val,
                        size_t val_len)
{
    if (!s || key_len > MC_SHARED_MEMO_KEY || val_len > MC_SHARED_MEMO_VAL) return;
    pthread_mutex_lock(&s->memo_lock);
    mc_shared_memo *m = NULL;
    for (size_t i = 0; i < MC_SHARED_MEMO && !m; i++)
        if (s->memo[i].used && s->memo[i].key_len == key_len && memcmp(s->memo[i].key, key, key_len) == 0)
            m = &s->memo[i];
    if (!m) {
        m = &s->memo[s->memo_next];
        s->memo_next = (s->memo_next + 1) % MC_SHARED_MEMO;
    }
    memcpy(m->key, key, key_len);
    m->key_len = key_len;
    memcpy(m->val, val, val_len);
    m->val_len = val_len;
    m->used = true;
    pthread_mutex_unlock(&s->memo_lock);
}
