/* AsyncRAT: the Settings .cctor of the .NET client (families.md §3). The decoding is shared with
 * the other Aes256-family RATs in lib/aesrat.c; the salt that verifies the HMAC names the family
 * of each config. */
#include "decoder.h"
#include "lib/mc_aesrat.h"

extern const char mc_rules_asyncrat[];

static int asyncrat_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    return mc_aesrat_decode(ctx, d, hits, out, "asyncrat");
}

const mc_decoder mc_decoder_asyncrat = {
    .family = "asyncrat",
    .display = "AsyncRAT",
    .version = "1.0",
    .category = "rat",
    .rules = mc_rules_asyncrat,
    .decode = asyncrat_decode,
};
