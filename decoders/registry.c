/* The decoder registry (built from decoder_list.h), the deadline clock and hit lookups. */
#include "decoder.h"

#include <string.h>
#include <time.h>

#define DECODER(name) extern const mc_decoder mc_decoder_##name;
#include "decoder_list.h"
#undef DECODER

/* The terminator keeps the array valid (one element) while decoder_list.h is empty. */
const mc_decoder *const mc_decoders[] = {
#define DECODER(name) &mc_decoder_##name,
#include "decoder_list.h"
#undef DECODER
    NULL,
};

size_t mc_decoder_count(void)
{
    return sizeof mc_decoders / sizeof mc_decoders[0] - 1;
}

const mc_decoder *mc_decoder_find(const char *family)
{
    if (!family)
        return NULL;
    for (size_t i = 0; mc_decoders[i]; i++)
        if (strcmp(mc_decoders[i]->family, family) == 0)
            return mc_decoders[i];
    return NULL;
}

double mc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool mc_expired(const mc_decode_ctx *ctx)
{
    return ctx && ctx->deadline > 0 && mc_now() >= ctx->deadline;
}

bool mc_hit_is(const mc_hit *h, const char *string_id)
{
    return h && h->string_id && string_id && strcmp(h->string_id, string_id) == 0;
}

const mc_hit *mc_hits_find(const mc_hits *hits, const char *string_id)
{
    if (!hits)
        return NULL;
    for (size_t i = 0; i < hits->n; i++)
        if (mc_hit_is(&hits->v[i], string_id))
            return &hits->v[i];
    return NULL;
}
